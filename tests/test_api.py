"""The REST API against the real app and a real store: submission, jobs, reports, permissions, decisions.

Reviews are real (the text PDFs of a bundled sample package). The first
test runs them through the API's own job runner (a process pool); the
others drive queued jobs in this process (`claim_next` + `run_job`, the
same code the pool runs) to keep the suite short.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shencha.api import create_app
from shencha.report import Report
from shencha.schema import ReportRow
from shencha.service import jobs
from shencha.store import Store
from tests.api_support import bearer, login, package_zip, seed, wait_job

REPO = Path(__file__).resolve().parents[1]
ZIP = ("file", ("package.zip", package_zip(), "application/zip"))


def _error_body(r) -> dict:
    body = r.json()
    assert set(body) == {"code", "message_zh", "message_en"}, body
    assert body["message_zh"] and body["message_en"]
    return body


def run_queued(store_url: str) -> list[str]:
    """Run every queued job here, as the pool process would; returns their ids."""
    store = Store(store_url)
    done = []
    while (job_id := jobs.claim_next(store, "test:1")) is not None:
        jobs.run_job(store_url, job_id)
        done.append(job_id)
    return done


@pytest.fixture
def api(store_url):
    keys = seed(store_url)
    with TestClient(create_app(store_url, run_jobs=False)) as client:
        yield client, keys, store_url


def _submit(client, headers, key: str | None = None, files=None, **form) -> dict:
    extra = {"Idempotency-Key": key} if key else {}
    r = client.post("/api/v1/applications", headers={**headers, **extra}, files=[files or ZIP], data=form)
    assert r.status_code == 202, r.text
    return r.json()


def _reviewed(client, headers, store_url) -> tuple[str, dict]:
    """Submit and review the package; (report id, report JSON)."""
    sub = _submit(client, headers)
    run_queued(store_url)
    job = client.get(f"/api/v1/jobs/{sub['job_id']}", headers=headers).json()
    assert job["status"] == "done", job
    r = client.get(f"/api/v1/reports/{job['report_id']}", headers=headers)
    assert r.status_code == 200, r.text
    return job["report_id"], r.json()


# -- end to end through the runner ------------------------------------------------------------

def test_submit_job_report_digest_and_idempotency(store_url):
    keys = seed(store_url)
    platform = bearer(keys["platform"])
    with TestClient(create_app(store_url, run_jobs=True)) as client:
        first = _submit(client, platform, key="platform-0001", as_of="2026-11-10")
        again = _submit(client, platform, key="platform-0001", as_of="2026-11-10")
        assert again == first
        # The same key for another submission is a conflict, never a second job.
        r = client.post("/api/v1/applications", headers={**platform, "Idempotency-Key": "platform-0001"},
                        files=[ZIP], data={"as_of": "2026-11-11"})
        assert r.status_code == 409 and _error_body(r)["code"] == "idempotency_key_reused"

        job = wait_job(client.get, first["job_id"], platform)
        assert job["status"] == "done", job
        assert job["application_id"] == first["application_id"] and job["report_id"]

        r = client.get(f"/api/v1/reports/{job['report_id']}", headers=platform)
        assert r.status_code == 200
        digest = base64.b64encode(hashlib.sha256(r.content).digest()).decode()
        assert r.headers["content-digest"] == f"sha-256=:{digest}:"
        body = r.json()
        for key in ("application", "documents", "findings", "errors", "versions"):
            assert key in body
        assert body["application"]["as_of"] == "2026-11-10"
        assert body["application"]["company_name"] == "湖北楚天精细化工有限公司"
        assert len(body["documents"]) == 12 and all(d["status"] == "ok" for d in body["documents"])
        for f in body["findings"]:
            assert {"id", "rule_id", "category", "severity", "verdict", "message", "evidence"} <= set(f)
        Report.model_validate(body)

        app_view = client.get(f"/api/v1/applications/{first['application_id']}", headers=platform)
        assert app_view.status_code == 200, app_view.text
        view = app_view.json()
        assert view["latest_report_id"] == job["report_id"] and view["state"] == "under_review"
        assert view["clock"]["stage"] and view["application_no"] == first["application_id"]
        # by the store's id too
        assert client.get(f"/api/v1/applications/{view['application_id']}", headers=platform).status_code == 200

        # A retry after completion still answers with the first job.
        assert _submit(client, platform, key="platform-0001", as_of="2026-11-10") == first
    with Store(store_url).session() as session:
        assert session.scalar(select(func.count()).select_from(ReportRow)) == 1  # one review run


# -- who may do what ------------------------------------------------------------------------------

def test_scopes_and_roles(api):
    client, keys, store_url = api
    nobody = client.get("/api/v1/jobs/job-x")
    assert nobody.status_code == 401 and _error_body(nobody)["code"] == "unauthenticated"
    assert client.get("/api/v1/jobs/job-x", headers=bearer("shk_not-a-key")).status_code == 401
    assert client.get("/api/v1/jobs/job-x", headers=bearer("shs_not-a-session")).status_code == 401

    # Scopes: submit may submit and read its jobs; read_reports may read; share only shares.
    sub = _submit(client, bearer(keys["submitter"]))
    for name in ("reader", "yingji"):
        r = client.post("/api/v1/applications", headers=bearer(keys[name]), files=[ZIP])
        assert r.status_code == 403 and _error_body(r)["code"] == "missing_scope"
    assert client.get(f"/api/v1/jobs/{sub['job_id']}", headers=bearer(keys["platform"])).status_code == 403
    run_queued(store_url)
    job = client.get(f"/api/v1/jobs/{sub['job_id']}", headers=bearer(keys["submitter"])).json()
    report = f"/api/v1/reports/{job['report_id']}"
    assert client.get(report, headers=bearer(keys["submitter"])).status_code == 403
    assert client.get(report, headers=bearer(keys["yingji"])).status_code == 403
    assert client.get(report, headers=bearer(keys["reader"])).status_code == 200
    assert client.get("/api/v1/shared/yingji", headers=bearer(keys["reader"])).status_code == 403

    # People: exactly their role's permissions.
    officer, window, author, admin, supervisor = (login(client, u) for u in
                                                  ("officer", "window", "author", "admin", "supervisor"))
    assert client.get(report, headers=officer).status_code == 200
    assert client.get(report, headers=supervisor).status_code == 200
    for who in (author, admin):
        assert client.get(report, headers=who).status_code == 403
        r = client.post("/api/v1/applications", headers=who, files=[ZIP])
        assert r.status_code == 403 and _error_body(r)["code"] == "forbidden"
    # Window staff open only the cases they submitted, with ID numbers masked.
    assert client.get(report, headers=window).status_code == 403
    own = _submit(client, window)
    assert client.get(f"/api/v1/jobs/{own['job_id']}", headers=author).status_code == 403
    run_queued(store_url)
    own_job = client.get(f"/api/v1/jobs/{own['job_id']}", headers=window).json()
    masked = client.get(f"/api/v1/reports/{own_job['report_id']}", headers=window)
    assert masked.status_code == 200 and "********" in masked.text
    assert "422825197101102624" not in masked.text
    full = client.get(f"/api/v1/reports/{own_job['report_id']}", headers=officer)
    assert "422825197101102624" in full.text
    # A client system cannot take an officer's steps.
    finding = full.json()["findings"][0]["id"]
    r = client.post(f"/api/v1/findings/{finding}/decisions", headers=bearer(keys["platform"]),
                    json={"decision": "confirm", "reason": "x", "report_id": own_job["report_id"]})
    assert r.status_code == 403 and _error_body(r)["code"] == "person_only"
    r = client.post(f"/api/v1/findings/{finding}/decisions", headers=window,
                    json={"decision": "confirm", "reason": "x", "report_id": own_job["report_id"]})
    assert r.status_code == 403

    # A revoked key is refused from then on.
    from shencha.service.clients import revoke_client

    revoke_client(Store(store_url), None, "reader")
    r = client.get(report, headers=bearer(keys["reader"]))
    assert r.status_code == 401

    # Every call is in the audit trail with the client or the user.
    from shencha.service.audit import entries

    calls = [e for e in entries(Store(store_url), None) if e.action == "api_call"]
    actors = {e.actor for e in calls}
    assert {"client:submitter", "client:reader", "officer", "window", "author", "?"} <= actors
    assert any(e.detail["status"] == 403 and e.actor == "author" for e in calls)


def test_recusal_via_api_closes_the_case(api):
    client, keys, store_url = api
    officer = login(client, "officer")
    report_id, report = _reviewed(client, bearer(keys["platform"]), store_url)
    application = report["application"]["id"]
    finding = report["findings"][0]["id"]
    assert client.get(f"/api/v1/applications/{application}", headers=officer).status_code == 200

    r = client.post(f"/api/v1/applications/{application}/recusals", headers=officer,
                    json={"reason": "申请企业法定代表人系本人亲属"})
    assert r.status_code == 201, r.text
    for r in (client.get(f"/api/v1/applications/{application}", headers=officer),
              client.get(f"/api/v1/reports/{report_id}", headers=officer),
              client.post(f"/api/v1/findings/{finding}/decisions", headers=officer,
                          json={"decision": "confirm", "reason": "属实"}),
              client.post(f"/api/v1/findings/{finding}/decisions", headers=officer,
                          json={"decision": "confirm", "reason": "属实", "report_id": report_id})):
        assert r.status_code == 403, r.text
        assert _error_body(r)["code"] == "recused"
    # Another officer is unaffected.
    assert client.get(f"/api/v1/reports/{report_id}", headers=login(client, "officer2")).status_code == 200


def test_dismissal_waits_for_a_second_officer(api):
    client, keys, store_url = api
    officer, officer2 = login(client, "officer"), login(client, "officer2")
    _report_id, report = _reviewed(client, bearer(keys["platform"]), store_url)
    fail = next(f for f in report["findings"] if f["verdict"] == "fail")
    uncertain = next(f for f in report["findings"] if f["verdict"] == "uncertain")

    r = client.post(f"/api/v1/findings/{fail['id']}/decisions", headers=officer,
                    json={"decision": "dismiss", "reason": "材料已在附件中提供"})
    assert r.status_code == 201, r.text
    step = r.json()
    assert step["state"] == "pending_second_review" and step["decision_id"].startswith("F")

    own = client.post(f"/api/v1/decisions/{step['decision_id']}/second-review", headers=officer,
                      json={"action": "confirm", "reason": "同意"})
    assert own.status_code == 403 and _error_body(own)["code"] == "not_allowed"
    r = client.post(f"/api/v1/decisions/{step['decision_id']}/second-review", headers=officer2,
                    json={"action": "confirm", "reason": "核实无误"})
    assert r.status_code == 200, r.text
    assert r.json() == {"decision_id": step["decision_id"], "state": "effective", "finding_id": fail["id"],
                        "version": 1}
    again = client.post(f"/api/v1/decisions/{step['decision_id']}/second-review", headers=officer2,
                        json={"action": "confirm", "reason": "再次"})
    assert again.status_code == 409

    # Other decisions take effect at once; a stale expected_version is a conflict.
    r = client.post(f"/api/v1/findings/{uncertain['id']}/decisions", headers=officer,
                    json={"decision": "request_correction", "reason": "请补充证书复印件"})
    assert r.status_code == 201 and r.json()["state"] == "effective"
    r = client.post(f"/api/v1/findings/{uncertain['id']}/decisions", headers=officer2,
                    json={"decision": "confirm", "reason": "x", "expected_version": 0})
    assert r.status_code == 409 and _error_body(r)["code"] == "conflict"
    assert client.post("/api/v1/decisions/F999999/second-review", headers=officer2,
                       json={"action": "confirm", "reason": "x"}).status_code == 404
    assert client.post("/api/v1/findings/F-nope/decisions", headers=officer,
                       json={"decision": "confirm", "reason": "x"}).status_code == 404


def test_case_decisions_through_the_api_follow_the_workflow(api):
    # Issue 14: a platform with its own front end drives the case decision too, under the same rules.
    client, keys, store_url = api
    officer, officer2 = login(client, "officer"), login(client, "officer2")
    report_id, report = _reviewed(client, bearer(keys["platform"]), store_url)
    application = report["application"]["id"]
    assert any(f["verdict"] == "fail" for f in report["findings"])
    route = f"/api/v1/applications/{application}/decisions"

    r = client.post(route, headers=bearer(keys["platform"]), json={"decision": "approve", "reason": "同意"})
    assert r.status_code == 403 and _error_body(r)["code"] == "person_only"
    r = client.post(route, headers=officer, json={"decision": "approve", "reason": "问题已当场说明"})
    assert r.status_code == 201, r.text
    step = r.json()
    # Granting a case that has a failure is a key step: no effect until a second officer confirms.
    assert step["state"] == "pending_second_review" and step["decision_id"].startswith("C")
    view = client.get(f"/api/v1/applications/{application}", headers=officer).json()
    assert view["case_decision"] is None and view["pending_case_decision"]["key"] == step["decision_id"]
    assert view["latest_report_id"] == report_id  # decided on the latest report when none is named

    own = client.post(f"/api/v1/decisions/{step['decision_id']}/second-review", headers=officer,
                      json={"action": "confirm", "reason": "同意"})
    assert own.status_code == 403 and _error_body(own)["code"] == "not_allowed"
    r = client.post(f"/api/v1/decisions/{step['decision_id']}/second-review", headers=officer2,
                    json={"action": "confirm", "reason": "复核同意"})
    assert r.status_code == 200 and r.json()["state"] == "effective", r.text
    view = client.get(f"/api/v1/applications/{application}", headers=officer).json()
    assert view["state"] == "approved" and view["case_decision"]["key"] == step["decision_id"]
    assert any(d["kind"] == "decided" for d in view["dates"]), view["dates"]

    # The next decision names the version it supersedes; a stale one is a conflict.
    r = client.post(route, headers=officer2, json={"decision": "reject", "reason": "x", "expected_version": 0})
    assert r.status_code == 409 and _error_body(r)["code"] == "conflict"
    r = client.post(route, headers=officer2, json={"decision": "request_correction", "reason": "请补正证书复印件"})
    assert r.status_code == 201 and r.json()["state"] == "effective" and r.json()["version"] == 2
    assert client.get(f"/api/v1/applications/{application}", headers=officer).json()["state"] == \
        "correction_requested"

    other_report, _ = _reviewed(client, bearer(keys["platform"]), store_url)
    r = client.post(route, headers=officer, json={"decision": "reject", "reason": "x", "report_id": other_report})
    assert r.status_code == 422, r.text
    assert client.post("/api/v1/applications/app-99999/decisions", headers=officer,
                       json={"decision": "reject", "reason": "x"}).status_code == 404
    r = client.post(f"/api/v1/applications/{application}/recusals", headers=officer, json={"reason": "亲属关系"})
    assert r.status_code == 201
    r = client.post(route, headers=officer, json={"decision": "reject", "reason": "x"})
    assert r.status_code == 403 and _error_body(r)["code"] == "recused"


def test_a_finding_in_two_applications_needs_its_report(api):
    client, keys, store_url = api
    officer = login(client, "officer")
    _first_id, first = _reviewed(client, bearer(keys["platform"]), store_url)
    second_id, _ = _reviewed(client, bearer(keys["platform"]), store_url)
    finding = first["findings"][0]["id"]
    r = client.post(f"/api/v1/findings/{finding}/decisions", headers=officer,
                    json={"decision": "confirm", "reason": "属实"})
    assert r.status_code == 422
    message = _error_body(r)["message_zh"]
    assert first["application"]["id"] in message and second_id.rsplit("-v", 1)[0] in message
    r = client.post(f"/api/v1/findings/{finding}/decisions", headers=officer,
                    json={"decision": "confirm", "reason": "属实", "report_id": second_id})
    assert r.status_code == 201 and r.json()["state"] == "effective"


def test_hostile_input_gets_the_contract_errors(api, monkeypatch, tmp_path):
    client, keys, _ = api
    platform = bearer(keys["platform"])

    def post(files, data=None, headers=None):
        return client.post("/api/v1/applications", headers={**platform, **(headers or {})}, files=files,
                           data=data or {})

    cases = [
        (post([("file", ("package.zip", b"PK\x03\x04 not really a zip", "application/zip"))]), 422, "E102"),
        (post([("file", ("tool.exe", b"MZ...", "application/octet-stream"))]), 422, "E105"),
        (post([("file", ("empty.pdf", b"", "application/pdf"))]), 422, "E101"),
        (post([ZIP], {"application_json": "{not json"}), 422, "invalid_application_json"),
        (post([ZIP], {"application_json": "[1, 2]"}), 422, "invalid_application_json"),
        (post([ZIP], {"as_of": "2026-13-45"}), 422, "invalid_as_of"),
        (post([ZIP], {"callback_url": "file:///etc/passwd"}), 422, "invalid_callback_url"),
        (post([ZIP], {"file_sha256": "0" * 64}), 422, "digest_mismatch"),
        (post([ZIP], {"application_id": "../../etc"}), 422, "invalid_application_id"),
        (post([]), 422, "validation_error"),
        (client.post("/api/v1/applications", headers=platform, content=b"--x\r\ngarbage",
                     ), 422, None),
        (client.post("/api/v1/sessions", content=b"{bad json", headers={"Content-Type": "application/json"}),
         422, "validation_error"),
        (client.post("/api/v1/sessions", json={"username": "officer", "password": "wrong-password"}),
         401, "bad_credentials"),
        (client.post("/api/v1/findings/F-x/decisions", headers=login(client, "officer"),
                     json={"decision": "maybe", "reason": "x"}), 422, "validation_error"),
        (client.get("/api/v1/nothing-here", headers=platform), 404, "not_found"),
        (client.get("/api/v1/reports/app-x-vy", headers=platform), 404, "not_found"),
        (client.get("/api/v1/applications/N-unknown", headers=platform), 404, "not_found"),
        (client.get("/api/v1/shared/nobody", headers=bearer(keys["yingji"])), 403, "missing_scope"),
        (client.get("/api/v1/shared/yingji?since=yesterday", headers=bearer(keys["yingji"])), 422, "invalid"),
    ]
    for r, status, code in cases:
        assert r.status_code == status, (r.status_code, r.text)
        body = _error_body(r)
        if code:
            assert body["code"] == code, body

    # An unsafe zip member path.
    unsafe = tmp_path / "unsafe.zip"
    with zipfile.ZipFile(unsafe, "w") as zf:
        zf.writestr("../evil.pdf", b"%PDF-1.4")
    r = post([("file", ("unsafe.zip", unsafe.read_bytes(), "application/zip"))])
    assert r.status_code == 422 and _error_body(r)["code"] == "E111"

    # Too large: refused while streaming (413), by the declared length or the bytes counted.
    monkeypatch.setenv("SHENCHA_UPLOAD_MAX_MB", "1")
    big = ("file", ("big.pdf", b"%PDF-1.4\n" + b"0" * (2 * 2**20), "application/pdf"))
    r = post([big])
    assert r.status_code == 413 and _error_body(r)["code"] == "too_large"

    def chunks():
        for _ in range(40):
            yield b"x" * 65536

    r = client.post("/api/v1/applications", headers={**platform, "Content-Type": "multipart/form-data; boundary=b"},
                    content=chunks())
    assert r.status_code == 413 and _error_body(r)["code"] == "too_large"


def test_sessions_expire_and_throttle(api, monkeypatch):
    client, _keys, store_url = api
    from datetime import UTC, datetime, timedelta

    from shencha.schema import ApiSessionRow

    headers = login(client, "officer")
    assert client.get("/api/v1/jobs/job-none", headers=headers).status_code == 404
    with Store(store_url).session() as session:
        for row in session.scalars(select(ApiSessionRow)):
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert client.get("/api/v1/jobs/job-none", headers=headers).status_code == 401
    # Repeated failures back off (the accounts throttle), answered as 429 with Retry-After.
    statuses = [client.post("/api/v1/sessions", json={"username": "officer2", "password": f"wrong-{i}"}).status_code
                for i in range(8)]
    assert statuses[0] == 401 and 429 in statuses


def test_openapi_document_is_committed_and_served(api):
    client, _keys, _ = api
    served = client.get("/api/v1/openapi.json").json()
    committed = json.loads((REPO / "docs" / "api.openapi.json").read_text(encoding="utf-8"))
    served["info"].pop("version", None)
    committed["info"].pop("version", None)
    assert served == committed, "regenerate docs/api.openapi.json (docs/api.md says how)"
    paths = set(served["paths"])
    assert {"/api/v1/sessions", "/api/v1/applications", "/api/v1/jobs/{job_id}", "/api/v1/reports/{report_id}",
            "/api/v1/applications/{application_id}", "/api/v1/findings/{finding_id}/decisions",
            "/api/v1/decisions/{decision_id}/second-review", "/api/v1/applications/{application_id}/recusals",
            "/api/v1/shared/{entry}"} <= paths
    assert client.get("/api/docs").status_code == 200


def test_nul_characters_are_refused_before_the_store_sees_them(api):
    # PostgreSQL cannot hold a NUL: a user name, reason or path with one answered 500
    # there (schemathesis found the user name). Now a 422 with the contract's error body.
    client, keys, store_url = api
    from shencha.service.accounts import authenticate

    assert authenticate(Store(store_url), "officer\x00", "officer-demo-2026") is None  # the web app's login
    platform = bearer(keys["platform"])
    r = client.post("/api/v1/sessions", json={"username": "\x00", "password": "x"})
    assert r.status_code == 422 and _error_body(r)["code"] == "validation_error"
    officer = login(client, "officer")
    r = client.post("/api/v1/findings/f-1/decisions", headers=officer,
                    json={"decision": "confirm", "reason": "理由\x00"})
    assert r.status_code == 422 and _error_body(r)["code"] == "validation_error"
    for url in ("/api/v1/jobs/job-%00", "/api/v1/reports/app-1-v1%00", "/api/v1/shared/yingji?since=2026%00"):
        r = client.get(url, headers=platform)
        assert r.status_code == 422 and _error_body(r)["code"] == "validation_error", (url, r.text)
