"""shencha.executor, local backend: idempotent writes, re-review from stored fields, Ray stays optional."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import pytest

from shencha.executor import ReviewJob, iter_application_keys, make_executor
from shencha.report import Report, ReportApplication, Versions
from shencha.review import application_key, rereview_application
from shencha.store import Store

from .conftest import FIXTURES

PACKAGE = FIXTURES / "packages" / "fm_guangxi_defects"


def _report(path: str = "p") -> Report:
    return Report(application=ReportApplication(path=path, as_of=date(2026, 11, 1)), documents=[],
                  versions=Versions(shencha="t"))


def test_a_retried_write_stores_one_version(store_url):
    store = Store(store_url)
    first = store.save_review(application_key("R-1"), "R-1", _report(), [], {}, run_key="run-a:0")
    again = store.save_review(application_key("R-1"), "R-1", _report(), [], {}, run_key="run-a:0")
    other = store.save_review(application_key("R-1"), "R-1", _report(), [], {}, run_key="run-b:0")
    assert (first.report_id, again.report_id) == ("app-1-v1", "app-1-v1")
    assert other.version == 2
    assert [r.version for r in store.reports(application_key("R-1"))] == [1, 2]


def test_concurrent_writers_get_distinct_versions_and_one_per_run_key(store_url):
    store = Store(store_url)
    store.save_review(application_key("R-2"), "R-2", _report(), [], {})
    errors: list[BaseException] = []

    def save(n: int) -> None:
        try:
            # every run key twice, as a task and its retry would
            Store(store_url).save_review(application_key("R-2"), "R-2", _report(), [], {}, run_key=f"k{n % 4}")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = store.reports(application_key("R-2"))
    assert sorted(r.version for r in rows) == [1, 2, 3, 4, 5]
    assert sorted(r.run_key for r in rows if r.run_key) == ["k0", "k1", "k2", "k3"]


def test_the_default_cli_never_imports_ray():
    code = ("import sys, shencha.cli, shencha.executor, shencha.service.jobs; "
            "from shencha.executor import make_executor; make_executor('sqlite://'); "
            "sys.exit(1 if 'ray' in sys.modules else 0)")
    env = {k: v for k, v in os.environ.items() if k != "SHENCHA_RAY_ADDRESS"}
    assert subprocess.run([sys.executable, "-c", code], check=False, env=env).returncode == 0


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory) -> tuple[str, Report]:
    """One fixture package reviewed through the local executor into a fresh store."""
    url = f"sqlite:///{tmp_path_factory.mktemp('executor') / 'shencha.db'}"
    with make_executor(url, ray_address="") as ex:
        [outcome] = list(ex.review([ReviewJob(path=str(PACKAGE), application_id="E-1", run_key="t:0")]))
    assert outcome.ok, outcome.error
    return url, outcome.report


@pytest.mark.slow
def test_local_executor_stores_what_review_path_stores(reviewed):
    url, report = reviewed
    assert report.report_id == "app-1-v1" and report.findings
    assert Store(url).report_for_run(application_key("E-1"), "t:0").report_id == "app-1-v1"


def _disabling(tmp_path: Path, rule_id: str) -> Path:
    path = tmp_path / "province.yaml"
    path.write_text(f"name: province\nversion: \"2026.12\"\nextends: default\nrules:\n"
                    f"  {rule_id}:\n    enabled: false\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_rereview_from_stored_fields_gives_the_same_findings_then_the_expected_diff(reviewed, tmp_path):
    url, report = reviewed
    store = Store(url)
    key = application_key("E-1")
    # The same rules on the stored fields: nothing fixed, nothing new.
    same = rereview_application(store, key, run_key="rr:same")
    assert sorted(f.id for f in same.report.findings) == sorted(f.id for f in report.findings)
    # A ruleset that disables the rule of one finding: that finding is fixed, the others remain.
    gone = report.findings[0]
    ruleset = _disabling(tmp_path, gone.rule_id)
    with make_executor(url, ray_address="") as ex:
        [outcome] = list(ex.rereview(iter_application_keys(store), str(ruleset), "rr-off"))
        [again] = list(ex.rereview(iter_application_keys(store), str(ruleset), "rr-off"))  # a retried run
    expected_fixed = sorted(f.id for f in report.findings if f.rule_id == gone.rule_id)
    assert sorted(f["id"] for f in outcome.fixed) == expected_fixed
    assert not outcome.new
    assert sorted(f["id"] for f in outcome.remaining) == sorted(
        f.id for f in report.findings if f.rule_id != gone.rule_id)
    assert outcome.version == 3 and again.report == outcome.report  # no fourth version
    assert [r.version for r in store.reports(key)] == [1, 2, 3]
    # the new version keeps the page images of the one it was checked from
    assert store.page_image_ref(outcome.report, *_an_ocr_page(report))[0] is not None
    # ... and its documents, pages and fields, copied inside the store (not rebuilt row by row)
    assert _stored_counts(store, outcome.report) == _stored_counts(store, report.report_id)


def _stored_counts(store: Store, report_key: str) -> tuple[int, int, int]:
    from sqlalchemy import func, select

    from shencha.schema import DocumentRow, FieldRow, PageRow

    row_id = store.report_row_id(report_key)
    with store.session() as session:
        docs = select(DocumentRow.id).where(DocumentRow.report_id == row_id)
        return (session.scalar(select(func.count()).select_from(docs.subquery())),
                session.scalar(select(func.count(PageRow.id)).where(PageRow.document_id.in_(docs))),
                session.scalar(select(func.count(FieldRow.id)).where(FieldRow.document_id.in_(docs))))


@pytest.mark.slow
def test_a_rereview_flags_a_company_the_application_was_not_submitted_for_once(reviewed):
    from shencha.store import IDENTITY_RULE_ID

    url, report = reviewed
    store = Store(url)
    base = store.report_row_id(report.report_id)
    other = report.model_copy(deep=True)
    other.application.company_name, other.application.uscc = "另一家建设有限公司", "91450000MA5L000000"
    first = store.save_rereview(base, other, run_key="rr:identity")
    assert [f.rule_id for f in first.findings].count(IDENTITY_RULE_ID) == 1
    # derived again from that version (its findings already hold the flag): still once
    second = store.save_rereview(store.report_row_id(first.report_id), first.model_copy(deep=True))
    assert [f.rule_id for f in second.findings].count(IDENTITY_RULE_ID) == 1
    assert len(second.application.notes) == len(set(second.application.notes))
    assert store.save_rereview(base, other, run_key="rr:identity").report_id == first.report_id  # retried


def _an_ocr_page(report: Report) -> tuple[str, int]:
    return next((d.id, p.number) for d in report.documents for p in d.page_details if p.ocr is not None)
