"""The executor interface, its job and outcome types, and the backend choice."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol

RAY_ADDRESS_ENV = "SHENCHA_RAY_ADDRESS"


@dataclass(frozen=True)
class ReviewJob:
    """One package to review as a version of `application_id` (None: a new application)."""

    path: str
    application_id: str | None = None
    as_of: date | None = None
    run_key: str | None = None  # makes the stored version idempotent under retries
    source_name: str | None = None


@dataclass
class ReviewOutcome:
    index: int
    job: ReviewJob
    report: Any = None  # shencha.report.Report when ok
    error: str | None = None
    seconds: float = 0.0
    pages: int = 0
    ocr_pages: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class RereviewOutcome:
    application_key: str
    application_no: str | None = None
    previous_report: str | None = None
    report: str | None = None
    version: int = 0
    fixed: list[dict] = field(default_factory=list)
    new: list[dict] = field(default_factory=list)
    remaining: list[dict] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_json(self) -> dict:
        return {"application_key": self.application_key, "application_no": self.application_no,
                "previous_report": self.previous_report, "report": self.report, "version": self.version,
                "fixed": self.fixed, "new": self.new, "remaining": self.remaining, "error": self.error}


@dataclass(frozen=True)
class Event:
    """Progress: `package_done` / `case_done` (n items finished), `pages` (n pages read or recognised)."""

    kind: Literal["package_done", "case_done", "pages", "ocr_pages"]
    n: int = 1
    detail: str = ""


EventCallback = Callable[[Event], None]


class Executor(Protocol):
    name: str

    def review(self, jobs: Sequence[ReviewJob], on_event: EventCallback | None = None,
               ruleset_path: str | None = None) -> Iterator[ReviewOutcome]:
        """Review packages; outcomes in the order they finish (`index` says which job)."""
        ...

    def rereview(self, keys: Iterable[str], ruleset_path: str | None, run_id: str,
                 on_event: EventCallback | None = None) -> Iterator[RereviewOutcome]:
        """Check the stored cases `keys` again (no OCR), storing a new version of each."""
        ...

    def map_pages(self, pages: Sequence, options: Any = None, on_event: EventCallback | None = None) -> list:
        """OCR page images (extractor.ocr.PageImage): one OcrPageResult or InputError each, in order."""
        ...

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run `fn(*args)` (a module-level function) as review work; OCR inside it uses the backend."""
        ...

    def shutdown(self, kill: bool = False) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


def new_run_id(prefix: str) -> str:
    return f"{prefix}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def make_executor(db_url: str, ray_address: str | None = None, workers: int | None = None,
                  ocr_workers: int | None = None, **ray_options: Any) -> Executor:
    """The Ray executor when `ray_address` (or, when it is None, $SHENCHA_RAY_ADDRESS) is set, else the local one.

    `workers`: review processes (local) or OCR actors and reviews in flight
    (Ray); `ocr_workers`: the OCR budget of one local review (default: all cores).
    """
    # None: $SHENCHA_RAY_ADDRESS decides; "" or "local": this machine.
    address = os.environ.get(RAY_ADDRESS_ENV) if ray_address is None else ray_address
    if address in ("", "local"):
        address = None
    if address:
        from .ray_backend import RayExecutor  # imports ray: only here

        return RayExecutor(db_url, address, workers=workers, **ray_options)
    from .local import LocalExecutor

    return LocalExecutor(db_url, processes=workers or 1, ocr_workers=ocr_workers)
