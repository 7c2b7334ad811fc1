"""`shencha batch review` and `shencha batch rereview` (local executor): files, summaries, diffs, queue."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from shencha.cli import app
from shencha.review import application_key
from shencha.store import Store

from .conftest import FIXTURES

pytestmark = pytest.mark.slow

PACKAGE = FIXTURES / "packages" / "wh_hubei_missing_plan"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    db, out = f"sqlite:///{tmp / 'shencha.db'}", tmp / "reports"
    result = CliRunner().invoke(app, ["batch", "review", str(PACKAGE), str(tmp / "missing"), "--db", db,
                                      "--out", str(out), "--format", "json", "--format", "html",
                                      "--application-id", "B-1", "--application-id", "B-2"],
                                env={"SHENCHA_RAY_ADDRESS": "", "SHENCHA_HOME": str(tmp)})
    return tmp, db, out, result


def test_batch_review_writes_reports_and_a_json_summary(batch):
    _tmp, db, out, result = batch
    assert result.exit_code == 1  # the missing package is a failure; the other one is reviewed
    summary = json.loads(result.stdout)
    assert summary["backend"] == "local" and summary["reviewed"] == 1 and summary["failed"] == 1
    [row] = summary["results"]
    assert row["application_id"] == "B-1" and row["report_id"] == "app-1-v1" and row["pages"] > 0
    assert sorted(p.name for p in out.glob("wh_hubei_missing_plan-v1.*")) == [
        "wh_hubei_missing_plan-v1.html", "wh_hubei_missing_plan-v1.json"]
    assert json.loads((out / "wh_hubei_missing_plan-v1.json").read_text())["findings"]
    assert (out / f"{summary['run_id']}-summary.json").exists()
    assert "找不到申请材料" in result.stderr and "批量审查" in result.stderr


def test_batch_rereview_stores_new_versions_writes_diffs_and_the_queue_shows_them(batch, tmp_path):
    from shencha.service.accounts import NewUser, create_user
    from shencha.service.cases import open_case, queue
    from shencha.service.permissions import Role

    tmp, db, _out, _result = batch
    store = Store(db)
    [row] = store.reports(application_key("B-1"))
    before = store.load_report(row.id)
    gone = before.findings[0].rule_id
    ruleset = tmp_path / "province.yaml"
    ruleset.write_text(f"name: province\nversion: \"2026.12\"\nextends: default\nrules:\n  {gone}:\n"
                       f"    enabled: false\n", encoding="utf-8")
    diffs = tmp_path / "diffs"
    result = CliRunner().invoke(app, ["batch", "rereview", "--ruleset", str(ruleset), "--open-only", "--db", db,
                                      "--out", str(diffs)], env={"SHENCHA_RAY_ADDRESS": "", "SHENCHA_HOME": str(tmp)})
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    fixed = sorted(f.id for f in before.findings if f.rule_id == gone)
    assert summary["cases"] == 1 and summary["fixed"] == len(fixed) and summary["new"] == 0
    [diff_file] = (diffs / summary["run_id"]).glob("*.json")
    diff = json.loads(diff_file.read_text())
    assert diff_file.name == "B-1.json" and sorted(f["id"] for f in diff["fixed"]) == fixed
    assert diff["previous_report"] == "app-1-v1" and diff["report"] == "app-1-v2"
    # The officers' queue shows the new version, and its case page the comparison.
    officer = create_user(store, NewUser(username="officer1", display_name="审批员", role=Role.officer,
                                         password="officer-pass-1"))
    [case] = [c for c in queue(store, officer) if c.name == "B-1"]
    assert case.version == 2
    view = open_case(store, officer, case.report_id, log_view=False)
    assert sorted(f.id for f in view.comparison.fixed) == fixed and not view.comparison.new
