"""The API load client (benchmarks/bench_api_load.py) at a tiny scale, so its code path stays alive.

Three clients send six submissions of the small real package (one deliberate
retry of an earlier key), the API is killed with SIGKILL after three are
accepted and restarted on the same store and port; every job must end
`done` with exactly one report, and the retry must answer the same job.
"""

from __future__ import annotations

import asyncio

from benchmarks.bench_api_load import LoadConfig, run_load
from tests.api_support import package_zip


def test_load_client_survives_a_killed_api(store_url):
    cfg = LoadConfig(submissions=6, clients=3, retry_rate=0.2, zips=[("wh_hubei_text", package_zip())],
                     kill_at=0.5, workers=1, poll_interval=0.3, db=store_url, timeout=600)
    result = asyncio.run(run_load(cfg))
    print(result.report())
    assert result.problems() == []
    assert (result.submissions, result.done, result.failed, result.not_finished) == (6, 6, 0, 0)
    assert (result.store_jobs, result.store_jobs_done) == (6, 6)
    assert (result.apps_with_one_report, result.apps_with_more_reports, result.apps_with_no_report) == (6, 0, 0)
    assert result.reports_not_from_their_job == 0 and result.reports_fetched == 6
    assert result.retries == 1 and result.retries_same_job == 1
    assert result.restarts == 1 and result.kill_t is not None and result.ready_t > result.kill_t
    assert result.at_kill["accepted"] >= 3
    assert result.latencies("poll", window=True) and result.latencies("submit", window=False)
