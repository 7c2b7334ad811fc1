"""One executor for review work, two backends.

    from shencha.executor import make_executor
    with make_executor(db_url, ray_address=None) as ex:     # local process pool (default)
        for outcome in ex.review([ReviewJob(path="fixtures/packages/x")]):
            ...

`local` runs on this machine: in-process with one worker (what `shencha
review` always did, OCR on its own process pool), a spawn process pool
with more. `ray` (`--ray ADDRESS`, `SHENCHA_RAY_ADDRESS`, `auto` for the
cluster running on this machine) runs OCR on a pool of actors (each loads
its engine once, ONNX Runtime threads = its CPUs) and reviews and
re-reviews as tasks with retries; every worker reaches the store (use
PostgreSQL) and packages travel through it, not through the driver.
Ray is an optional dependency (`pip install -e '.[ray]'`), imported only
when the `ray` backend is chosen.

Every write is idempotent per (application, run key): a retried task
returns the version its first attempt stored instead of storing another.
"""

from __future__ import annotations

from .base import (
    RAY_ADDRESS_ENV,
    Event,
    EventCallback,
    Executor,
    RereviewOutcome,
    ReviewJob,
    ReviewOutcome,
    make_executor,
    new_run_id,
)
from .work import iter_application_keys

__all__ = [
    "RAY_ADDRESS_ENV",
    "Event",
    "EventCallback",
    "Executor",
    "RereviewOutcome",
    "ReviewJob",
    "ReviewOutcome",
    "iter_application_keys",
    "make_executor",
    "new_run_id",
]
