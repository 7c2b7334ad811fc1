"""Officers' corrections of extracted values (issue 17): append-only, audited, the rules re-run on
the corrected values as a new report version, a second officer for a correction that removes a `fail`,
and the two REST routes."""

from __future__ import annotations

import json
from datetime import date

import pytest

from checks.model import Finding
from extractor.model import Field
from registry_sync.sync import sync
from registry_sync.testing import write_csv
from shencha import service as svc
from shencha.report import ReportDocument
from shencha.schema import DocumentRow, FieldRow, ReportRow
from shencha.service import corrections
from shencha.service.cases import compare
from shencha.service.permissions import NotAllowed, PermissionDenied, Recused
from shencha.store import Store

from .e2e.support import login, synthetic_case

CERT_NO = "T360426199101010071"
HOLDER_ID = "360426199101010071"
REGISTRY_ROW = dict(cert_no=CERT_NO, cert_type="special_operation", holder_name="张三",
                    holder_id_no=HOLDER_ID, category="电工作业", employer_uscc="91320106217527938X",
                    employer_name="江苏华建安装工程有限公司", issued_on="2022-01-01", valid_from="2022-01-01",
                    valid_until="2029-01-01", status="有效", issuing_authority="江苏省应急管理厅")


def roster(name: str = "张三丰") -> ReportDocument:
    """A special-operations roster row whose name the machine misread (the next column's character glued on)."""
    def f(type_, value, x, **attrs):
        return Field(type=type_, value=value, normalized=value, document="d001", page=1, bbox=(x, 100, x + 80, 114),
                     source="text", role="special_operator" if type_ == "person_name" else None,
                     attributes={"record": 1, **attrs})
    return ReportDocument(id="d001", path="特种作业人员名册.pdf", sha256="1" * 64, doc_type="special_operations_roster",
                          pages=1, status="ok",
                          fields=[f("person_name", name, 60), f("resident_id", HOLDER_ID, 160),
                                  f("operation_category", "电工作业", 300),
                                  f("cert_no", CERT_NO, 400, cert_type="special_operation")])


def registry(store: Store, tmp_path) -> None:
    sync(store.engine, str(write_csv(tmp_path / "certs.csv", [REGISTRY_ROW])), kind="certificates",
         as_of=date(2026, 11, 1))


def misread_case(store: Store, tmp_path, key: str = "corr-case", ran_by=None):
    """A case reviewed with the rules: its only registry finding is the name mismatch the misread caused."""
    registry(store, tmp_path)
    saved = synthetic_case(store, findings=[], documents=[roster()], key=key, ran_by=ran_by)
    # The synthetic case has no findings: run the rules once, as a review run would, into the first version.
    report = corrections.rerun(saved, store)
    with store.session() as session:
        row = session.get(ReportRow, store.report_row_id(saved.report_id))
        row.report_json = report.model_dump_json()
        row.n_fail = sum(f.verdict == "fail" for f in report.findings)
    return store.report_row_id(saved.report_id), report


def _mismatch(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.category == "registry.name_mismatch"]


@pytest.fixture
def store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'shencha.db'}")


def test_correction_removing_a_fail_waits_for_a_second_officer_then_rechecks(store, tmp_path):
    officer, officer2 = login(store, "officer"), login(store, "officer2")
    rid, first = misread_case(store, tmp_path)
    assert [f.verdict for f in _mismatch(first.findings)] == ["fail"]

    rec = corrections.correct_field(store, officer, rid, field_type="person_name", document="d001", page=1,
                                    old_value="张三丰", new_value="张三", reason="名册原件为“张三”，“丰”系下一栏的字")
    assert rec.state == "pending_second_review" and rec.second_review_needed == "removes_fail"
    assert rec.result_report_id is None and rec.machine_value == "张三丰"
    assert [f["category"] for f in rec.effect["fixed"]] == ["registry.name_mismatch"]
    # until confirmed it has no effect: no new version
    assert len(store.reports("corr-case")) == 1

    with pytest.raises(NotAllowed):
        corrections.second_review_correction(store, officer, rec.key, "confirm", "本人确认")
    done = corrections.second_review_correction(store, officer2, rec.key, "confirm", "核对原件，姓名为张三")
    assert done.state == "effective" and done.result_report_key.endswith("-v2")

    new_id = done.result_report_id
    view = svc.open_case(store, officer2, new_id)
    assert not _mismatch(view.report.findings)
    assert [f.category for f in view.comparison.fixed] == ["registry.name_mismatch"]
    assert [n.key for n in view.comparison.corrections] == [rec.key]
    name = next(f for d in view.report.documents for f in d.fields if f.type == "person_name")
    assert (name.value, name.attributes["corrected_from"], name.attributes["correction_id"]) == ("张三", "张三丰", rec.key)
    assert svc.verify(store, None).ok


def test_a_correction_that_removes_no_fail_takes_effect_at_once(store, tmp_path):
    officer = login(store, "officer")
    rid, _first = misread_case(store, tmp_path)
    rec = corrections.correct_field(store, officer, rid, field_type="operation_category", document="d001",
                                    page=1, old_value="电工作业", new_value="电工作业（低压）", reason="原件写法")
    assert rec.state == "effective" and rec.result_report_key.endswith("-v2")
    added = corrections.correct_field(store, officer, rec.result_report_id, field_type="date", document="d001",
                                      page=1, old_value=None, new_value="2026-01-05", reason="漏识别的填表日期",
                                      bbox=[10, 10, 60, 20])
    assert added.kind == "add" and added.state == "effective"
    report = store.load_report(added.result_report_id)
    [date_field] = [f for d in report.documents for f in d.fields if f.type == "date"]
    assert date_field.attributes["added_by_correction"] and date_field.bbox == (10, 10, 60, 20)
    struck = corrections.correct_field(store, officer, added.result_report_id, field_type="date", document="d001",
                                       page=1, old_value="2026-01-05", new_value=None, reason="不是字段")
    assert struck.kind == "not_a_field"
    assert not [f for d in store.load_report(struck.result_report_id).documents for f in d.fields if f.type == "date"]
    assert svc.verify(store, None).ok


def test_a_correction_never_changes_the_original_extraction_or_an_earlier_version(store, tmp_path):
    officer, officer2 = login(store, "officer"), login(store, "officer2")
    rid, _first = misread_case(store, tmp_path)

    def snapshot():
        with store.session() as session:
            rows = {r.id: (r.version, r.report_json) for r in session.query(ReportRow)}
            fields = sorted(json.dumps(f.data, sort_keys=True, ensure_ascii=False) + str(f.document_id)
                            for f in session.query(FieldRow))
            docs = [(d.id, d.report_id, d.doc_key) for d in session.query(DocumentRow)]
        return rows, fields, docs

    before_rows, before_fields, before_docs = snapshot()
    rec = corrections.correct_field(store, officer, rid, field_type="person_name", document="d001", page=1,
                                    old_value="张三丰", new_value="张三", reason="核对原件")
    corrections.second_review_correction(store, officer2, rec.key, "confirm", "同意")
    after_rows, after_fields, after_docs = snapshot()
    for pk, kept in before_rows.items():
        assert after_rows[pk] == kept  # the earlier version's JSON, byte for byte
    assert set(before_fields) <= set(after_fields) and set(before_docs) <= set(after_docs)
    assert len(after_rows) == len(before_rows) + 1
    original = store.load_report(rid)
    assert [f.value for d in original.documents for f in d.fields if f.type == "person_name"] == ["张三丰"]


def test_return_ends_a_pending_correction_and_window_staff_correct_their_own_cases(store, tmp_path):
    officer, officer2, window = login(store, "officer"), login(store, "officer2"), login(store, "window")
    rid, _ = misread_case(store, tmp_path, ran_by=window)
    rec = corrections.correct_field(store, window, rid, field_type="person_name", document="d001", page=1,
                                    old_value="张三丰", new_value="张三", reason="预审核对身份证复印件")
    assert rec.state == "pending_second_review"
    with pytest.raises(PermissionDenied):  # window staff never confirm
        corrections.second_review_correction(store, window, rec.key, "confirm", "x")
    assert [r.key for r in corrections.awaiting_second_review(store, officer)] == [rec.key]
    back = corrections.second_review_correction(store, officer2, rec.key, "return", "原件模糊，请申请人补正")
    assert back.state == "returned" and len(store.reports("corr-case")) == 1
    with pytest.raises(corrections.CorrectionConflict):
        corrections.second_review_correction(store, officer, rec.key, "confirm", "再次确认")
    # a correction that takes effect at once: the window keeps the version it produced
    ok = corrections.correct_field(store, window, rid, field_type="operation_category", document="d001", page=1,
                                   old_value="电工作业", new_value="低压电工作业", reason="原件写法")
    assert svc.open_case(store, window, ok.result_report_id).summary.version == 2


def test_reason_and_values_are_required_and_recusal_is_enforced(store, tmp_path):
    officer, officer2 = login(store, "officer"), login(store, "officer2")
    rid, _ = misread_case(store, tmp_path)
    with pytest.raises(ValueError):
        corrections.correct_field(store, officer, rid, field_type="person_name", document="d001", page=1,
                                  old_value="张三丰", new_value="张三", reason="  ")
    with pytest.raises(ValueError):
        corrections.correct_field(store, officer, rid, field_type="person_name", document="d001", page=1,
                                  old_value=None, new_value=None, reason="x")
    with pytest.raises(KeyError):
        corrections.correct_field(store, officer, rid, field_type="person_name", document="d001", page=1,
                                  old_value="李四", new_value="张三", reason="x")
    rec = corrections.correct_field(store, officer, rid, field_type="person_name", document="d001", page=1,
                                    old_value="张三丰", new_value="张三", reason="核对原件")
    app_id = store.load_report(rid).application.id.removeprefix("app-")
    svc.recuse(store, officer2, int(app_id), "近亲属")
    with pytest.raises(Recused):
        corrections.second_review_correction(store, officer2, rec.key, "confirm", "同意")


def test_compare_pairs_a_changed_finding():
    from .e2e.support import finding
    from shencha.report import Report, ReportApplication, Versions

    old, new = finding(1), finding(1).model_copy(update={"id": "F-x", "message": "另一说法", "evidence": [
        finding(1).evidence[0].model_copy(update={"text": "改后的值"})]})
    app = ReportApplication(path="p", as_of=date(2026, 1, 1))
    c = compare(Report(application=app, documents=[], findings=[old], versions=Versions(shencha="t")),
                Report(application=app, documents=[], findings=[new], versions=Versions(shencha="t")))
    assert not c.fixed and not c.new and [(x.old.id, x.new.id) for x in c.changed] == [(old.id, "F-x")]


# -- the REST API ------------------------------------------------------------------------------

@pytest.fixture
def api(store):
    from fastapi.testclient import TestClient

    from shencha.api.app import create_app

    app = create_app(store.url, run_jobs=False)
    with TestClient(app) as client:
        yield client


def _token(client, username: str) -> dict[str, str]:
    from shencha.service.accounts import DEMO_PASSWORD_SUFFIX

    r = client.post("/api/v1/sessions", json={"username": username, "password": username + DEMO_PASSWORD_SUFFIX})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_api_correction_routes(store, tmp_path, api):
    officer, officer2, officer3 = (login(store, n) for n in ("officer", "officer2", "officer3"))
    rid, first = misread_case(store, tmp_path)
    key = first.report_id
    a, b, c = _token(api, "officer"), _token(api, "officer2"), _token(api, "officer3")
    body = {"field_type": "person_name", "document": "d001", "page": 1, "old_value": "张三丰", "new_value": "张三",
            "reason": "名册原件为张三"}
    assert api.post(f"/api/v1/reports/{key}/corrections", json={**body, "reason": ""}).status_code == 401
    assert api.post(f"/api/v1/reports/{key}/corrections", json={**body, "reason": ""}, headers=a).status_code == 422
    assert api.post("/api/v1/reports/app-999-v1/corrections", json=body, headers=a).status_code == 404
    r = api.post(f"/api/v1/reports/{key}/corrections", json=body, headers=a)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["state"] == "pending_second_review" and out["correction_id"].startswith("K")
    cid = out["correction_id"]
    review = {"action": "confirm", "reason": "核对原件"}
    r = api.post(f"/api/v1/corrections/{cid}/second-review", json=review, headers=a)
    assert r.status_code == 403 and r.json()["code"] == "not_allowed"
    assert api.post(f"/api/v1/applications/{first.application.id}/recusals", json={"reason": "近亲属"},
                    headers=c).status_code == 201
    r = api.post(f"/api/v1/corrections/{cid}/second-review", json=review, headers=c)
    assert r.status_code == 403 and r.json()["code"] == "recused"
    assert api.post("/api/v1/corrections/K999/second-review", json=review, headers=b).status_code == 404
    r = api.post(f"/api/v1/corrections/{cid}/second-review", json=review, headers=b)
    assert r.status_code == 200 and r.json() == {"correction_id": cid, "state": "effective"}
    assert api.post(f"/api/v1/corrections/{cid}/second-review", json=review, headers=b).status_code == 409
    app = api.get(f"/api/v1/applications/{first.application.id}", headers=b).json()
    assert app["latest_report_id"].endswith("-v2")
    latest = api.get(f"/api/v1/reports/{app['latest_report_id']}", headers=b).json()
    names = [f for d in latest["documents"] for f in d["fields"] if f["type"] == "person_name"]
    assert names[0]["value"] == "张三" and names[0]["attributes"]["corrected_from"] == "张三丰"
    assert not [f for f in latest["findings"] if f["category"] == "registry.name_mismatch"]
    # correcting an old version is a conflict
    r = api.post(f"/api/v1/reports/{key}/corrections", json={**body, "old_value": "电工作业",
                                                                "field_type": "operation_category",
                                                                "new_value": "低压电工作业"}, headers=b)
    assert r.status_code == 409
    assert svc.verify(store, None).ok


def test_export_and_rates(store, tmp_path, capsys):
    officer, supervisor = login(store, "officer"), login(store, "supervisor")
    rid, _ = misread_case(store, tmp_path)
    corrections.correct_field(store, officer, rid, field_type="operation_category", document="d001", page=1,
                              old_value="电工作业", new_value="低压电工作业", reason="原件写法")
    [row] = list(corrections.export_rows(store))
    assert (row["machine_value"], row["corrected_value"], row["field_type"], row["doc_type"]) == (
        "电工作业", "低压电工作业", "operation_category", "special_operations_roster")
    assert row["crop"]["document"] == "d001" and row["crop"]["page"] == 1 and row["application_id"]
    by_type, by_doc = corrections.correction_rates(store, supervisor)
    assert by_type[0].key == "operation_category" and by_type[0].corrections == 1 and by_type[0].fields == 1
    assert by_doc[0].key == "special_operations_roster" and by_doc[0].fields == 4
    with pytest.raises(PermissionDenied):
        corrections.correction_rates(store, officer)


def test_a_pending_correction_is_in_the_second_officers_queue(store, tmp_path):
    officer, officer2 = login(store, "officer"), login(store, "officer2")
    rid, _ = misread_case(store, tmp_path)
    corrections.correct_field(store, officer, rid, field_type="person_name", document="d001", page=1,
                              old_value="张三丰", new_value="张三", reason="名册原件为“张三”")
    waiting = svc.queue(store, officer2, "second_review")
    assert [c.report_id for c in waiting] == [rid] and waiting[0].awaiting_me == 1
    assert svc.queue(store, officer, "second_review") == []  # not the officer who made it


def test_a_missed_value_is_placed_on_a_line_chosen_from_the_page(store, tmp_path):
    """Adding a value the machine missed: the officer picks the page line it stands on."""
    from pathlib import Path

    from shencha.review import review_path

    officer = login(store, "officer")
    package = Path(__file__).resolve().parents[1] / "fixtures" / "packages" / "wh_hubei_missing_plan"
    report = review_path(package, store, application_id="line-pick")
    rid = store.report_row_id(report.report_id)
    doc = next(d for d in report.documents if d.status == "ok" and d.pages)
    lines = corrections.page_lines(store, officer, rid, doc.id, 1)
    assert lines and all(len(ln.bbox) == 4 for ln in lines)
    with pytest.raises(PermissionDenied):
        corrections.page_lines(store, login(store, "author"), rid, doc.id, 1)
