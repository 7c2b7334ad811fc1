"""Submissions through the API and the review jobs that run them, off the request thread.

`submit` checks the caller (a person with `run_review`, or a client with
the `submit` scope) and the upload (known file types, a readable zip with
safe member names, an `application_json` object, an `as_of` date), stores
the files as blobs and adds a `queued` row to the jobs table, all in one
transaction. An `Idempotency-Key` is unique per owner: the same key again
returns the first job (a different request under the same key is a
conflict), so a retried submission never runs twice.

`JobRunner` (started by the API) claims queued jobs one at a time with a
conditional UPDATE (only one runner wins a job, however many API
processes share the store) and runs each through the review executor
(`shencha.executor`): a local process pool (`SHENCHA_API_WORKERS`,
default 1), or tasks on a Ray cluster when `SHENCHA_RAY_ADDRESS` is set
(then the store must be PostgreSQL, reached by every worker). The child process records its own pid
on the job, reviews the package (`review.review_path`, as the application
number the submission got) and marks the job `done` with the report id or
`failed` with an error code; then, if the submission named a
`callback_url`, it POSTs the job's answer there, signed with HMAC-SHA256
over the body (`SHENCHA_CALLBACK_KEY`, header `X-Shencha-Signature:
sha256=<hex>`). A callback that fails is recorded on the job and does not
fail it.

Restarts: the state is in the store. On start the runner puts back to
`queued` every `running` job whose holder is gone: its process on this
host no longer exists, or (another host) its heartbeat is older than
`SHENCHA_JOB_STALE_SECONDS`. A job whose review was stored just before its
process died is not reviewed again: the report carries the job id in its
source name, and the runner finds it and marks the job done.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..report import Report
from ..review import (
    ReviewOptions,
    application_key,
    check_application_id,
    new_application_id,
    review_path,
)
from ..schema import ApplicationRow, AuditRow, JobRow, ReportRow
from ..store import Store
from .audit import append, record
from .clients import Actor, Client, require_scope
from .permissions import P, PermissionDenied, User, fresh_user, require
from .reviews import record_review_run

JobStatus = Literal["queued", "running", "done", "failed"]
CALLBACK_KEY_ENV = "SHENCHA_CALLBACK_KEY"
SIGNATURE_HEADER = "X-Shencha-Signature"
WORKERS_ENV = "SHENCHA_API_WORKERS"
STALE_ENV = "SHENCHA_JOB_STALE_SECONDS"
HOST = socket.gethostname()[:60]

# What the readers read (docs/ingestion.md); anything else is refused at the door (E105).
ACCEPTED_SUFFIXES = frozenset({
    ".zip", ".7z", ".rar", ".pdf", ".ofd", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".docx", ".doc", ".wps",
    ".rtf", ".odt", ".xlsx", ".xlsm", ".xls", ".et", ".ods", ".csv", ".dxf", ".json",
})
MAX_FILES = 200


class SubmissionError(ValueError):
    """A submission refused before it is queued; `code` is an ingestion error code or an API code."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_zh)
        self.code, self.message_zh, self.message_en = code, message_zh, message_en


class IdempotencyMismatch(Exception):
    """The Idempotency-Key was used before for a different submission."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"该幂等键已用于另一份不同的提交（任务 {job_id}），请换用新的幂等键。")
        self.job_id = job_id


@dataclass
class Upload:
    name: str
    data: bytes
    sha256: str | None = None  # what the client says the file's sha256 is (checked)


class Submitted(BaseModel):
    application_id: str
    job_id: str
    created: bool  # False: an earlier submission with the same Idempotency-Key


class JobView(BaseModel):
    job_id: str
    status: JobStatus
    application_id: str
    report_id: str | None = None
    error: str | None = None
    error_code: str | None = None
    attempts: int = 0
    created_at: datetime
    finished_at: datetime | None = None
    callback_status: str | None = None


def _owner(store: Store, actor: Actor, scope_or_perm: str) -> tuple[str, int | None]:
    if isinstance(actor, Client):
        client = require_scope(store, actor, scope_or_perm)
        return client.actor, None
    user = require(store, actor, P.run_review)
    return f"user:{user.username}", user.id


def _safe_name(name: str) -> str:
    """The file's own name (no folders, no control characters), never empty."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip()
    return base[:150] if base not in ("", ".", "..") else "upload.bin"


def _check_upload(up: Upload) -> None:
    name = _safe_name(up.name)
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        raise SubmissionError("E105", f"不支持的文件类型（{suffix or '无扩展名'}）：{name}",
                              f"Unsupported file type ({suffix or 'no extension'}): {name}")
    if not up.data:
        raise SubmissionError("E101", f"文件为空（0字节）：{name}", f"The file is empty: {name}")
    if up.sha256 is not None and hashlib.sha256(up.data).hexdigest() != up.sha256.strip().lower():
        raise SubmissionError("digest_mismatch", f"文件内容与所附 sha256 摘要不符：{name}",
                              f"The file does not match the sha256 digest sent with it: {name}")
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(io.BytesIO(up.data)) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
            raise SubmissionError("E102", f"压缩包已损坏，无法打开：{name}",
                                  f"The zip archive is corrupt: {name} ({type(exc).__name__})") from None
        for member in names:
            parts = PurePosixPath(member.replace("\\", "/")).parts
            if member.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", member):
                raise SubmissionError("E111", f"压缩包不安全（含越界路径 {member[:80]}），已拒绝：{name}",
                                      f"Unsafe archive member path in {name}")
    if suffix == ".json" and name != "application.json":
        raise SubmissionError("E105", f"不支持的文件类型（.json）：{name}（仅接受 application.json）",
                              f"Unsupported file type (.json): {name}")


def _check_application_json(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise SubmissionError("invalid_application_json", f"application_json 不是有效的 JSON：{exc}",
                              f"application_json is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise SubmissionError("invalid_application_json", "application_json 应为 JSON 对象。",
                              "application_json must be a JSON object.")
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _check_as_of(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise SubmissionError("invalid_as_of", f"as_of 日期格式应为 YYYY-MM-DD：{text[:40]}",
                              "as_of must be a date YYYY-MM-DD") from None


def _check_callback(url: str | None) -> str | None:
    if url is None or not url.strip():
        return None
    url = url.strip()
    if len(url) > 2000 or not re.match(r"^https?://[^\s/]+(/\S*)?$", url):
        raise SubmissionError("invalid_callback_url", "callback_url 应为 http:// 或 https:// 地址。",
                              "callback_url must be an http:// or https:// URL")
    return url


def submit(store: Store, actor: Actor, uploads: list[Upload], *, application_json: str | None = None,
           as_of: str | None = None, idempotency_key: str | None = None, callback_url: str | None = None,
           application_no: str | None = None) -> Submitted:
    """Queue a package for review; the same `idempotency_key` again returns the first answer."""
    owner, user_id = _owner(store, actor, "submit")
    if idempotency_key is not None:
        idempotency_key = idempotency_key.strip()
        if not idempotency_key or len(idempotency_key) > 200 or not idempotency_key.isprintable():
            raise SubmissionError("invalid_idempotency_key", "Idempotency-Key 应为 1 至 200 个可打印字符。",
                                  "Idempotency-Key must be 1 to 200 printable characters")
    if not uploads:
        raise SubmissionError("no_file", "未收到任何文件（表单字段 file）。", "No file was uploaded (form field 'file').")
    if len(uploads) > MAX_FILES:
        raise SubmissionError("too_many_files", f"文件过多（{len(uploads)} 个，上限 {MAX_FILES} 个）。",
                              f"Too many files ({len(uploads)} > {MAX_FILES})")
    for up in uploads:
        _check_upload(up)
    app_json = _check_application_json(application_json)
    as_of = _check_as_of(as_of)
    callback_url = _check_callback(callback_url)
    if application_no:
        try:
            application_no = check_application_id(application_no)
        except ValueError as exc:
            raise SubmissionError("invalid_application_id", str(exc), "Invalid application number") from None
    files = []
    names: set[str] = set()
    for up in uploads:
        name = _safe_name(up.name)
        stem, suffix, n = PurePosixPath(name).stem, PurePosixPath(name).suffix, 1
        while name in names:  # two uploads with one name both keep their bytes
            n += 1
            name = f"{stem}_{n}{suffix}"
        names.add(name)
        files.append({"name": name, "sha256": hashlib.sha256(up.data).hexdigest(), "size": len(up.data)})
    fingerprint = hashlib.sha256(json.dumps(
        [sorted((f["name"], f["sha256"]) for f in files), app_json, as_of, callback_url, application_no],
        ensure_ascii=False).encode("utf-8")).hexdigest()

    if idempotency_key is not None:
        earlier = _by_key(store, owner, idempotency_key, fingerprint)
        if earlier is not None:
            return earlier
    job_id = "job-" + uuid.uuid4().hex
    number = application_no or new_application_id()
    blobs = {f["sha256"]: up.data for f, up in zip(files, uploads, strict=True)}
    try:
        with store.session() as session:
            store.put_blobs(blobs, session)
            session.add(JobRow(id=job_id, owner=owner, user_id=user_id, idempotency_key=idempotency_key,
                               request_sha256=fingerprint, application_no=number, as_of=as_of,
                               application_json=app_json, files=files, callback_url=callback_url, status="queued"))
            session.flush()
            record(session, owner if len(owner) <= 64 else owner[:64], "api_submit", f"job:{job_id}",
                   {"application": number, "files": len(files), "bytes": sum(f["size"] for f in files),
                    "idempotency_key_sha256": hashlib.sha256(idempotency_key.encode()).hexdigest()
                    if idempotency_key else None}, "")
    except IntegrityError:
        # Another request with the same key won the race: its job is the answer.
        if idempotency_key is not None:
            earlier = _by_key(store, owner, idempotency_key, fingerprint)
            if earlier is not None:
                return earlier
        raise
    return Submitted(application_id=number, job_id=job_id, created=True)


def _by_key(store: Store, owner: str, key: str, fingerprint: str) -> Submitted | None:
    with store.session() as session:
        row = session.scalar(select(JobRow).where(JobRow.owner == owner, JobRow.idempotency_key == key))
        if row is None:
            return None
        if row.request_sha256 != fingerprint:
            raise IdempotencyMismatch(row.id)
        return Submitted(application_id=row.application_no, job_id=row.id, created=False)


def _view(row: JobRow) -> JobView:
    return JobView(job_id=row.id, status=row.status, application_id=row.application_no, report_id=row.report_key,
                   error=row.error, error_code=row.error_code, attempts=row.attempts, created_at=row.created_at,
                   finished_at=row.finished_at, callback_status=row.callback_status)


def job(store: Store, actor: Actor, job_id: str) -> JobView:
    """A job, for the client or person who submitted it (supervisors and officers: any job)."""
    if isinstance(actor, Client):
        client = require_scope(store, actor, "submit")
        owner, see_all = client.actor, False
    else:
        user = require(store, actor, P.view_cases)
        owner, see_all = f"user:{user.username}", user.can(P.view_all_cases)
    with store.session() as session:
        row = session.get(JobRow, job_id)
        if row is None:
            raise KeyError(job_id)
        if row.owner != owner and not see_all:
            raise PermissionDenied(actor if isinstance(actor, User) else None, P.view_cases)
        return _view(row)


# -- the runner -------------------------------------------------------------------------------

def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder_gone(worker: str | None, heartbeat: datetime | None, stale_after: float) -> bool:
    if not worker:
        return True
    host, _, rest = worker.partition(":")
    pid = rest.split(":", 1)[0]
    if host == HOST and pid.isdigit():
        return not _pid_alive(int(pid)) or int(pid) == os.getpid()
    if heartbeat is None:
        return True
    beat = heartbeat if heartbeat.tzinfo else heartbeat.replace(tzinfo=UTC)
    return (datetime.now(UTC) - beat).total_seconds() > stale_after


def requeue_orphans(store: Store, stale_after: float | None = None) -> list[str]:
    """Put back to `queued` the running jobs whose process is gone (called when the API starts)."""
    stale_after = stale_after if stale_after is not None else float(os.environ.get(STALE_ENV, "300"))
    back = []
    with store.session() as session:
        for row in session.scalars(select(JobRow).where(JobRow.status == "running")):
            if _holder_gone(row.worker, row.heartbeat_at, stale_after):
                row.status, row.worker = "queued", None
                back.append(row.id)
    for job_id in back:
        append(store, "api", "api_job_requeue", f"job:{job_id}", {"reason": "holder_gone"})
    return back


def claim_next(store: Store, worker: str) -> str | None:
    """Atomically take the oldest queued job for `worker`; None when there is none."""
    for _ in range(5):
        with store.session() as session:
            job_id = session.scalar(select(JobRow.id).where(JobRow.status == "queued")
                                    .order_by(JobRow.created_at, JobRow.id).limit(1))
            if job_id is None:
                return None
            now = datetime.now(UTC)
            done = session.execute(
                update(JobRow).where(JobRow.id == job_id, JobRow.status == "queued")
                .values(status="running", worker=worker, attempts=JobRow.attempts + 1, started_at=now,
                        heartbeat_at=now))
            if done.rowcount == 1:
                return job_id
    return None


# Claims of a job whose report is stored but whose run record could not be written.
RECORD_ATTEMPTS = 3


def _source_name(row: JobRow) -> str:
    first = row.files[0]["name"] if len(row.files) == 1 else f"{len(row.files)} 个文件"
    return f"api/{row.id}/{first}"


def _finish(store: Store, job_id: str, status: JobStatus, report_key: str | None = None,
            error_code: str | None = None, error: str | None = None) -> None:
    with store.session() as session:
        row = session.get(JobRow, job_id)
        row.status, row.report_key, row.error_code, row.error = status, report_key, error_code, error
        row.finished_at, row.heartbeat_at = datetime.now(UTC), datetime.now(UTC)


def _requeue(store: Store, job_id: str, error: str) -> None:
    with store.session() as session:
        row = session.get(JobRow, job_id)
        row.status, row.worker, row.error = "queued", None, error


def run_job(db_url: str, job_id: str) -> str:
    """Review one claimed job (in a pool process); returns its final status."""
    store = Store(db_url)
    with store.session() as session:
        row = session.get(JobRow, job_id)
        if row is None or row.status != "running":
            return row.status if row is not None else "missing"
        row.worker = f"{HOST}:{os.getpid()}"
        row.heartbeat_at = datetime.now(UTC)
        files, owner, user_id, attempts = list(row.files), row.owner, row.user_id, row.attempts
        number, as_of, app_json, source = row.application_no, row.as_of, row.application_json, _source_name(row)
    report_key = None
    try:
        report_key = _stored_already(store, number, source)
        if report_key is None:
            report_key = _review(store, files, number, as_of, app_json, source)
        # Also after a restart that found the report stored: a process killed between
        # storing and recording would otherwise leave the submitter unable to open it.
        _record_run(store, owner, user_id, report_key)
        _finish(store, job_id, "done", report_key)
        status = "done"
    except Exception as exc:  # noqa: BLE001 - a job that cannot run is failed, with its reason
        code = getattr(exc, "code", None) or "review_failed"
        report_key = report_key or _stored_already(store, number, source)
        if report_key and attempts < RECORD_ATTEMPTS:
            # The review is stored and only its record failed (a locked or lost database): back
            # to the queue; the next claim finds the report, reviews nothing again, and records.
            _requeue(store, job_id, f"{type(exc).__name__}: {exc}"[:2000])
            append(store, "api", "api_job_requeue", f"job:{job_id}", {"reason": "record_failed"})
            return "queued"
        what = "审查记录未能写入" if report_key else "审查未能完成"
        # A report that was stored stays the job's: the caller can read it, and nothing is lost.
        _finish(store, job_id, "failed", report_key, str(code)[:40], f"{what}：{type(exc).__name__}: {exc}"[:2000])
        status = "failed"
    append(store, owner[:64], "api_job_" + status, f"job:{job_id}", {"application": number})
    send_callback(store, job_id)
    return status


def _stored_already(store: Store, number: str, source: str) -> str | None:
    """The report this job stored before its process died, if it did."""
    with store.session() as session:
        found = session.execute(
            select(ReportRow.application_id, ReportRow.version).join(ApplicationRow)
            .where(ApplicationRow.key == application_key(number), ReportRow.source_path == source)
            .order_by(ReportRow.version).limit(1)).first()
    return f"app-{found[0]}-v{found[1]}" if found else None


def _record_run(store: Store, owner: str, user_id: int | None, report_key: str) -> None:
    """The run_review audit entry of the job's report, once (it is what lets window staff open it)."""
    user = fresh_user(store, user_id) if user_id is not None else None
    actor = user.username if user is not None and owner == f"user:{user.username}" else owner[:64]
    with store.session() as session:
        if session.scalar(select(AuditRow.seq).where(AuditRow.action == "run_review", AuditRow.actor == actor,
                                                     AuditRow.target == report_key).limit(1)) is not None:
            return
    report = store.load_report(store.report_row_id(report_key))
    if actor != owner[:64]:
        record_review_run(store, user, report)
    else:
        append(store, actor, "run_review", report.report_id,
               {"findings": len(report.findings), "documents": len(report.documents)}, "")


def _review(store: Store, files: list[dict], number: str, as_of: str | None, app_json: str | None,
            source: str) -> str:
    folder = Path(tempfile.mkdtemp(prefix="shencha-job-"))
    try:
        os.chmod(folder, 0o700)
        for f in files:
            data = store.get_blob(f["sha256"])
            if data is None:
                raise SubmissionError("blob_missing", f"提交的文件已不在库中：{f['name']}", "Uploaded file missing")
            (folder / f["name"]).write_bytes(data)
        if app_json is not None:
            (folder / "application.json").write_text(app_json, encoding="utf-8")
        # One archive is the package itself (its application.json counts); else the folder of files.
        single = folder / files[0]["name"]
        package = single if len(files) == 1 and app_json is None and single.suffix.lower() in (
            ".zip", ".7z", ".rar") else folder
        options = ReviewOptions(as_of=date.fromisoformat(as_of) if as_of else None)
        report: Report = review_path(package, store, options, application_id=number, source_name=source)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return report.report_id


# -- callbacks --------------------------------------------------------------------------------

def sign(body: bytes, key: bytes) -> str:
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str, key: bytes) -> bool:
    return hmac.compare_digest(sign(body, key), (header or "").strip())


def callback_body(view: JobView) -> bytes:
    payload = {"job_id": view.job_id, "status": view.status, "application_id": view.application_id,
               "report_id": view.report_id, "error": view.error}
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def send_callback(store: Store, job_id: str, timeout: float = 10.0) -> str | None:
    """POST the job's answer to its callback_url, signed; the outcome is kept on the job, never raised."""
    import httpx

    with store.session() as session:
        row = session.get(JobRow, job_id)
        url, view = row.callback_url, _view(row)
    if not url:
        return None
    key = os.environ.get(CALLBACK_KEY_ENV, "").encode("utf-8")
    if not key:
        outcome = "skipped: no key"
    else:
        body = callback_body(view)
        try:
            resp = httpx.post(url, content=body, timeout=timeout, follow_redirects=False,
                              headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, key)})
            outcome = f"http {resp.status_code}"
        except httpx.HTTPError as exc:
            outcome = f"error: {type(exc).__name__}"
    with store.session() as session:
        session.get(JobRow, job_id).callback_status = outcome[:60]
    return outcome


class JobRunner:
    """Claims queued jobs and runs them on the review executor, one thread, off every request."""

    def __init__(self, store: Store, workers: int | None = None, poll_seconds: float = 0.5,
                 on_done: Callable[[str, str], None] | None = None, ray_address: str | None = None) -> None:
        self.store = store
        self.workers = workers or max(1, int(os.environ.get(WORKERS_ENV, "1") or 1))
        self.poll_seconds = poll_seconds
        self.on_done = on_done
        self.worker_id = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ray_address = ray_address
        self._pool = None
        self._running: dict[str, object] = {}

    def start(self) -> list[str]:
        from ..executor import make_executor

        requeued = requeue_orphans(self.store)
        # Local: a spawn pool (the API process has threads); Ray: tasks with the OCR actors.
        self._pool = make_executor(self.store.url, ray_address=self.ray_address, workers=self.workers)
        self._thread = threading.Thread(target=self._loop, name="shencha-jobs", daemon=True)
        self._thread.start()
        return requeued

    def _loop(self) -> None:
        last_beat = 0.0
        while not self._stop.is_set():
            try:
                self._reap()
                if len(self._running) < self.workers:
                    job_id = claim_next(self.store, self.worker_id)
                    if job_id is not None:
                        self._running[job_id] = self._pool.submit(run_job, self.store.url, job_id)
                        continue
                if time.monotonic() - last_beat > 10:
                    self._heartbeat()
                    last_beat = time.monotonic()
            except Exception:  # noqa: BLE001 - a store hiccup must not end the runner
                time.sleep(self.poll_seconds)
            self._stop.wait(self.poll_seconds)

    def _heartbeat(self) -> None:
        if self._running:
            with self.store.session() as session:
                session.execute(update(JobRow).where(JobRow.id.in_(list(self._running)), JobRow.status == "running")
                                .values(heartbeat_at=datetime.now(UTC)))

    def _reap(self) -> None:
        for job_id, future in list(self._running.items()):
            if not future.done():
                continue
            del self._running[job_id]
            try:
                status = future.result()
            except Exception as exc:  # noqa: BLE001 - the pool process died (killed, out of memory)
                _finish(self.store, job_id, "failed", None, "worker_died", f"审查进程异常退出：{type(exc).__name__}")
                status = "failed"
                send_callback(self.store, job_id)
            if self.on_done is not None:
                self.on_done(job_id, status)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming; pool processes are ended, and their jobs are re-queued on the next start."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(kill=True)


def wait_for(store: Store, job_id: str, timeout: float = 120.0) -> JobView:
    """Poll a job until it is done or failed (for the CLI and tests; no permission check)."""
    deadline = time.monotonic() + timeout
    while True:
        with store.session() as session:
            view = _view(session.get(JobRow, job_id))
        if view.status in ("done", "failed") or time.monotonic() > deadline:
            return view
        time.sleep(0.2)

