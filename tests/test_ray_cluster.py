"""The Ray backend on a real cluster: the same findings as the local executor, no loss and no
duplicate when workers die mid-batch, re-review diffs after a ruleset change.

Needs a running cluster in SHENCHA_TEST_RAY_ADDRESS (`ray start --head --num-cpus 2`; .ci/run starts
one). Without it these tests are skipped, unless SHENCHA_REQUIRE_RAY=1 (CI), where they fail.
The store is the throwaway PostgreSQL when SHENCHA_TEST_PG_URL is set (CI), else SQLite.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from shencha.executor import Event, ReviewJob, iter_application_keys, make_executor
from shencha.review import application_key
from shencha.store import Store

from .conftest import FIXTURES, _fresh_pg_database

pytestmark = [pytest.mark.ray, pytest.mark.slow]

PACKAGES = [FIXTURES / "packages" / n for n in ("fm_guangxi_defects", "wh_hubei_missing_plan", "jz_shanxi_defects")]


@pytest.fixture(scope="module")
def ray_address() -> str:
    address = os.environ.get("SHENCHA_TEST_RAY_ADDRESS")
    if not address:
        if os.environ.get("SHENCHA_REQUIRE_RAY") == "1":
            pytest.fail("SHENCHA_REQUIRE_RAY=1 but no cluster in SHENCHA_TEST_RAY_ADDRESS", pytrace=False)
        pytest.skip("no Ray cluster (set SHENCHA_TEST_RAY_ADDRESS)")
    pytest.importorskip("ray")
    return address


def _fresh_store(tmp_path: Path) -> str:
    pg = os.environ.get("SHENCHA_TEST_PG_URL")
    return _fresh_pg_database(pg) if pg else f"sqlite:///{tmp_path / 'shencha.db'}"


def _jobs(prefix: str, packages=PACKAGES) -> list[ReviewJob]:
    return [ReviewJob(path=str(p), application_id=f"{prefix}-{i}", run_key=f"{prefix}:{i}")
            for i, p in enumerate(packages)]


def _findings(url: str, prefix: str, n: int) -> dict[int, list[list[str]]]:
    """Finding ids of every stored version of each application."""
    store = Store(url)
    out = {}
    for i in range(n):
        out[i] = [sorted(f.id for f in store.load_report(r.id).findings)
                  for r in store.reports(application_key(f"{prefix}-{i}"))]
    return out


@pytest.fixture(scope="module")
def local_findings(tmp_path_factory) -> dict[int, list[str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('local') / 'shencha.db'}"
    with make_executor(url, ray_address="") as ex:
        outcomes = list(ex.review(_jobs("L")))
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    return {o.index: sorted(f.id for f in o.report.findings) for o in outcomes}


def test_ray_reviews_give_the_local_findings(ray_address, local_findings, tmp_path):
    url = _fresh_store(tmp_path)
    events: list[Event] = []
    with make_executor(url, ray_address=ray_address, workers=2) as ex:
        assert ex.name == "ray"
        # each actor runs one engine with ONNX Runtime threads = its CPUs (1 here)
        assert [i["threads"] for i in ex.actor_info()] == [1, 1]
        outcomes = list(ex.review(_jobs("R"), on_event=events.append))
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert {o.index: sorted(f.id for f in o.report.findings) for o in outcomes} == local_findings
    assert sum(e.n for e in events if e.kind == "package_done") == len(PACKAGES)
    assert sum(e.n for e in events if e.kind == "ocr_pages") == sum(o.ocr_pages for o in outcomes) > 0


def test_killing_workers_mid_batch_loses_nothing_and_duplicates_nothing(ray_address, local_findings, tmp_path):
    url = _fresh_store(tmp_path)
    fault_dir = tmp_path / "faults"
    fault_dir.mkdir()
    killed: list[int] = []
    with make_executor(url, ray_address=ray_address, workers=2, fault_dir=str(fault_dir)) as ex:
        pids = [i["pid"] for i in ex.actor_info()]
        lock = threading.Lock()

        def on_event(event: Event) -> None:
            # The first recognised page: kill an OCR actor while the batch runs.
            with lock:
                if event.kind == "ocr_pages" and not killed:
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])

        # Besides, every review task dies once right after storing its report (fault_dir):
        # Ray retries it and the run key keeps the retry from storing a second version.
        outcomes = list(ex.review(_jobs("K"), on_event=on_event))
        restarted = [i["pid"] for i in ex.actor_info()]
    assert killed and killed[0] not in restarted
    assert len(list(fault_dir.iterdir())) == len(PACKAGES)  # every task did die once
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    stored = _findings(url, "K", len(PACKAGES))
    assert {i: versions for i, versions in stored.items()} == {i: [ids] for i, ids in local_findings.items()}


def test_rereview_on_ray_after_a_ruleset_change(ray_address, local_findings, tmp_path):
    url = _fresh_store(tmp_path)
    packages = PACKAGES[:2]
    with make_executor(url, ray_address=ray_address, workers=2) as ex:
        first = {o.index: o.report for o in ex.review(_jobs("W", packages))}
    # Disable the rule of the first package's first finding.
    gone = first[0].findings[0].rule_id
    ruleset = tmp_path / "province.yaml"
    ruleset.write_text(f"name: province\nversion: \"2026.12\"\nextends: default\nrules:\n  {gone}:\n"
                       f"    enabled: false\n", encoding="utf-8")
    fault_dir = tmp_path / "faults"
    fault_dir.mkdir()
    store = Store(url)
    with make_executor(url, ray_address=ray_address, fault_dir=str(fault_dir)) as ex:
        # the re-review task dies once after writing its chunk, and is retried
        diffs = {o.application_no: o for o in ex.rereview(iter_application_keys(store), str(ruleset), "rr-1")}
    assert len(list(fault_dir.iterdir())) == 1
    for i, report in first.items():
        diff = diffs[f"W-{i}"]
        assert diff.ok and diff.version == 2
        assert sorted(f["id"] for f in diff.fixed) == sorted(f.id for f in report.findings if f.rule_id == gone)
        assert not diff.new
        assert sorted(f["id"] for f in diff.remaining) == sorted(f.id for f in report.findings if f.rule_id != gone)
        assert [r.version for r in store.reports(application_key(f"W-{i}"))] == [1, 2]


def test_shencha_review_with_ray_runs_on_the_cluster(ray_address, local_findings, tmp_path):
    # `shencha review --ray` goes through the same executor: the local findings, one version.
    import json

    from typer.testing import CliRunner

    from shencha.cli import app

    url = _fresh_store(tmp_path)
    result = CliRunner().invoke(app, ["review", str(PACKAGES[0]), "--ray", ray_address, "--db", url,
                                      "--application-id", "C-0"])
    assert result.exit_code == 0, result.output
    assert "Ray 集群" in result.stderr
    report = json.loads(result.stdout)
    assert sorted(f["id"] for f in report["findings"]) == local_findings[0]
    assert [r.version for r in Store(url).reports(application_key("C-0"))] == [1]
