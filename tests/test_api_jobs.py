"""Review jobs over real HTTP: restarts, a killed server, claims, signed callbacks and TLS."""

from __future__ import annotations

import datetime as dt
import json
import signal
import ssl
import threading
import time
import typing
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from sqlalchemy import func, select

from shencha.schema import ApplicationRow, JobRow, ReportRow
from shencha.service import jobs
from shencha.service.clients import create_client
from shencha.store import Store
from tests.api_support import Server, bearer, free_port, package_zip, seed, wait_job

ZIP = package_zip()


def _submit(client: httpx.Client, key: str, **form) -> dict:
    r = client.post("/api/v1/applications", headers={"Idempotency-Key": key},
                    files=[("file", ("package.zip", ZIP, "application/zip"))], data=form)
    assert r.status_code == 202, r.text
    return r.json()


def _versions(store_url: str, application_no: str) -> int:
    with Store(store_url).session() as session:
        return session.scalar(select(func.count()).select_from(ReportRow).join(ApplicationRow)
                              .where(ApplicationRow.name == application_no))


def test_jobs_survive_restarts_and_a_killed_server(store_url):
    keys = seed(store_url)
    headers = bearer(keys["platform"])

    # 1. Accepted while no runner is up: the job waits in the store.
    server = Server(store_url, env={"SHENCHA_API_RUNNER": "0"}).start()
    try:
        with httpx.Client(base_url=server.base, headers=headers, timeout=30) as client:
            queued = _submit(client, "restart-1")
            assert client.get(f"/api/v1/jobs/{queued['job_id']}").json()["status"] == "queued"
    finally:
        server.stop()

    # 2. Restarted with its runner: the queued job completes; the retry is the same job.
    server = Server(store_url).start()
    try:
        with httpx.Client(base_url=server.base, headers=headers, timeout=30) as client:
            assert _submit(client, "restart-1") == queued
            done = wait_job(client.get, queued["job_id"], {})
            assert done["status"] == "done", done
            # 3. A job in the middle of its review when the server is killed (with its pool).
            running = _submit(client, "restart-2")
            deadline = time.monotonic() + 60
            while client.get(f"/api/v1/jobs/{running['job_id']}").json()["status"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        server.stop(signal.SIGKILL)
    with Store(store_url).session() as session:
        assert session.get(JobRow, running["job_id"]).status == "running"  # left behind by a dead process

    server = Server(store_url).start()
    try:
        with httpx.Client(base_url=server.base, headers=headers, timeout=30) as client:
            after = wait_job(client.get, running["job_id"], {})
            assert after["status"] == "done", after
            assert after["attempts"] >= 1
            assert _submit(client, "restart-2") == running
            report = client.get(f"/api/v1/reports/{after['report_id']}")
            assert report.status_code == 200 and report.headers["content-digest"].startswith("sha-256=:")
    finally:
        server.stop()
    # Never run twice: one stored review per submission.
    assert _versions(store_url, queued["application_id"]) == 1
    assert _versions(store_url, running["application_id"]) == 1


def test_a_claim_is_taken_once_and_orphans_are_requeued(store_url):
    seed(store_url)
    store = Store(store_url)
    platform = create_client(store, None, "claims", ["submit"])[0]
    sub = jobs.submit(store, platform, [jobs.Upload("package.zip", ZIP)], idempotency_key="c-1")
    assert jobs.claim_next(store, "host-a:1") == sub.job_id
    assert jobs.claim_next(store, "host-b:2") is None
    # Held by a process of this host that no longer exists → back in the queue.
    with store.session() as session:
        session.get(JobRow, sub.job_id).worker = f"{jobs.HOST}:999999"
    assert jobs.requeue_orphans(store) == [sub.job_id]
    # Held on another host with a fresh heartbeat → left alone; stale → requeued.
    assert jobs.claim_next(store, "elsewhere:5") == sub.job_id
    assert jobs.requeue_orphans(store, stale_after=300) == []
    with store.session() as session:
        session.get(JobRow, sub.job_id).heartbeat_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    assert jobs.requeue_orphans(store, stale_after=300) == [sub.job_id]
    # A job whose review was stored before its process died is not reviewed again.
    assert jobs.claim_next(store, "host-a:1") == sub.job_id
    assert jobs.run_job(store_url, sub.job_id) == "done"
    with store.session() as session:
        row = session.get(JobRow, sub.job_id)
        row.status, first_report = "running", row.report_key
    assert jobs.run_job(store_url, sub.job_id) == "done"
    assert jobs.job(store, platform, sub.job_id).report_id == first_report
    assert _versions(store_url, sub.application_id) == 1


def test_a_review_whose_record_failed_is_kept_and_recorded_on_the_next_claim(store_url, monkeypatch):
    # The report is stored, then writing its run record fails (a locked or lost database: a
    # fault the test cannot cause on demand, so the record step raises once). Nothing is lost:
    # the job goes back to the queue, the next claim reviews nothing again and records the run,
    # and the window clerk who submitted can open the case.
    from shencha.service import applications
    from shencha.service.accounts import authenticate
    from shencha.service.permissions import PermissionDenied

    seed(store_url)
    store = Store(store_url)
    window = authenticate(store, "window", "window-demo-2026")
    sub = jobs.submit(store, window, [jobs.Upload("package.zip", ZIP)], idempotency_key="rec-1")
    record_run = jobs._record_run
    failures = []

    def flaky(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise RuntimeError("database is locked")
        return record_run(*args, **kwargs)

    monkeypatch.setattr(jobs, "_record_run", flaky)
    assert jobs.claim_next(store, "host-a:1") == sub.job_id
    assert jobs.run_job(store_url, sub.job_id) == "queued"
    stored = jobs._stored_already(store, sub.application_id, "api/" + sub.job_id + "/package.zip")
    assert stored is not None
    with pytest.raises(PermissionDenied):  # not recorded yet: not hers to open
        applications.report_json(store, window, stored)

    assert jobs.claim_next(store, "host-a:1") == sub.job_id
    assert jobs.run_job(store_url, sub.job_id) == "done"
    view = jobs.job(store, window, sub.job_id)
    assert (view.status, view.report_id, view.attempts) == ("done", stored, 2)
    assert _versions(store_url, sub.application_id) == 1
    assert json.loads(applications.report_json(store, window, stored))["report_id"] == stored

    # Recording never fails twice over: past the attempts the job fails, its report kept.
    monkeypatch.setattr(jobs, "_record_run", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk full")))
    again = jobs.submit(store, window, [jobs.Upload("package.zip", ZIP)], idempotency_key="rec-2")
    for _ in range(jobs.RECORD_ATTEMPTS - 1):
        assert jobs.claim_next(store, "host-a:1") == again.job_id
        assert jobs.run_job(store_url, again.job_id) == "queued"
    assert jobs.claim_next(store, "host-a:1") == again.job_id
    assert jobs.run_job(store_url, again.job_id) == "failed"
    view = jobs.job(store, window, again.job_id)
    assert view.report_id is not None and view.error.startswith("审查记录未能写入")
    assert _versions(store_url, again.application_id) == 1


class _Receiver(BaseHTTPRequestHandler):
    received: typing.ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append((body, self.headers.get(jobs.SIGNATURE_HEADER)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_callback_is_signed_and_may_fail_without_failing_the_job(store_url, monkeypatch):
    seed(store_url)
    store = Store(store_url)
    client = create_client(store, None, "cb", ["submit"])[0]
    key = b"callback-secret-for-tests"
    monkeypatch.setenv(jobs.CALLBACK_KEY_ENV, key.decode())
    _Receiver.received.clear()  # one list for the class: the other store's run filled it too
    receiver = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        ok = jobs.submit(store, client, [jobs.Upload("package.zip", ZIP)], callback_url=url)
        dead = jobs.submit(store, client, [jobs.Upload("package.zip", ZIP)],
                           callback_url=f"http://127.0.0.1:{free_port()}/nobody-listens")
        for job_id in (ok.job_id, dead.job_id):
            assert jobs.claim_next(store, "test:1") == job_id
            assert jobs.run_job(store_url, job_id) == "done"
    finally:
        receiver.shutdown()
    assert len(_Receiver.received) == 1
    body, signature = _Receiver.received[0]
    assert jobs.verify_signature(body, signature, key)
    assert not jobs.verify_signature(body + b" ", signature, key)
    assert not jobs.verify_signature(body, signature, b"another key")
    payload = json.loads(body)
    assert payload["job_id"] == ok.job_id and payload["status"] == "done" and payload["report_id"].startswith("app-")
    assert jobs.job(store, client, ok.job_id).callback_status == "http 204"
    failed_cb = jobs.job(store, client, dead.job_id)
    assert failed_cb.status == "done" and failed_cb.callback_status.startswith("error")


def test_tls_when_configured(store_url, tmp_path):
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    keys = seed(store_url)
    server = Server(store_url, env={"SHENCHA_API_RUNNER": "0"}, tls=(cert_file, key_file)).start()
    try:
        pinned = ssl.create_default_context(cafile=str(cert_file))  # only the generated certificate
        r = httpx.get(server.base + "/api/v1/jobs/job-none", headers=bearer(keys["platform"]), verify=pinned)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        plain = server.base.replace("https://", "http://")
        try:
            answer = httpx.get(plain + "/api/v1/openapi.json", timeout=5)
            assert answer.status_code >= 400  # never served in clear
        except httpx.HTTPError:
            pass
    finally:
        server.stop()
