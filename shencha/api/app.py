"""The REST API (contract.md "The REST API (v1)"): FastAPI routes over the service layer.

No logic lives here: every route authenticates the bearer token
(`clients.identify`), calls one service function with the acting person
or client, and maps the service's exceptions to the contract's error body
`{"code", "message_zh", "message_en"}`: 401 no or bad credentials, 403
not allowed (recusal, second review of one's own decision, a missing
scope), 404 unknown, 409 conflict, 413 too large, 422 bad input. Every
call is written to the audit trail (`clients.record_call`).
"""

from __future__ import annotations

import base64
import hashlib
import os
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, Header, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..service import applications as app_service
from ..service import clients, corrections, jobs, sharing
from ..service.accounts import LoginThrottled
from ..service.applications import ApplicationView
from ..service.decisions import DecisionConflict, second_review
from ..service.permissions import NotAllowed, PermissionDenied, Recused
from ..store import Store

UPLOAD_ENV = "SHENCHA_UPLOAD_MAX_MB"
RUNNER_ENV = "SHENCHA_API_RUNNER"
PREFIX = "/api/v1"


def upload_limit_bytes() -> int:
    try:
        return max(1, int(os.environ.get(UPLOAD_ENV, "200"))) * 2**20
    except ValueError:
        return 200 * 2**20


# -- errors -----------------------------------------------------------------------------------

class ErrorBody(BaseModel):
    code: str
    message_zh: str
    message_en: str


class ApiError(Exception):
    def __init__(self, status: int, code: str, message_zh: str, message_en: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message_en)
        self.status, self.code, self.message_zh, self.message_en = status, code, message_zh, message_en
        self.headers = headers


class BodyTooLarge(Exception):
    pass


def _error(status: int, code: str, zh: str, en: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": code, "message_zh": zh, "message_en": en},
                        headers=headers)


def _too_large() -> JSONResponse:
    mb = upload_limit_bytes() // 2**20
    return _error(413, "too_large", f"上传内容超过上限（{mb} MB）。", f"The upload exceeds the limit ({mb} MB).")


def _service_error(exc: Exception) -> JSONResponse | None:
    """The contract's answer to an exception the service layer raised (None: not one of those)."""
    if isinstance(exc, jobs.SubmissionError):
        return _error(422, exc.code, exc.message_zh, exc.message_en)
    if isinstance(exc, Recused):
        return _error(403, "recused", str(exc), "You are recused from this application.")
    if isinstance(exc, clients.ScopeDenied):
        return _error(403, "missing_scope", str(exc), f"The API key lacks the scope '{exc.scope}'.")
    if isinstance(exc, clients.PersonOnly):
        return _error(403, "person_only", str(exc), "Only a person's session may take this step.")
    if isinstance(exc, NotAllowed):
        return _error(403, "not_allowed", str(exc), "This step is not allowed here.")
    if isinstance(exc, PermissionDenied):
        return _error(403, "forbidden", str(exc), f"Not allowed: {exc.permission.value}.")
    if isinstance(exc, DecisionConflict):
        return _error(409, "conflict", str(exc), "The item was decided by someone else in the meantime.")
    if isinstance(exc, jobs.IdempotencyMismatch):
        return _error(409, "idempotency_key_reused", str(exc),
                      f"The Idempotency-Key was used for a different submission ({exc.job_id}).")
    if isinstance(exc, LoginThrottled):
        return _error(429, "login_throttled", str(exc), f"Too many failed logins; retry in {exc.wait_seconds} s.",
                      {"Retry-After": str(exc.wait_seconds)})
    if isinstance(exc, KeyError):
        return _error(404, "not_found", "未找到所请求的对象。", "Not found.")
    if isinstance(exc, ValueError):
        return _error(422, "invalid", str(exc) or "输入无效。", "Invalid input.")
    return None


def _caused_by(exc: BaseException, kind: type) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, kind):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        return _error(exc.status, exc.code, exc.message_zh, exc.message_en, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError):
        where = "; ".join(".".join(str(p) for p in e.get("loc", ()) if p != "body") + f": {e.get('msg', '')}"
                          for e in exc.errors()[:5])
        return _error(422, "validation_error", f"请求内容不符合要求：{where}", f"Invalid request: {where}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        if _caused_by(exc, BodyTooLarge):
            return _too_large()
        if exc.status_code == 404:
            return _error(404, "not_found", "未找到所请求的地址。", "Not found.")
        if exc.status_code == 405:
            return _error(405, "method_not_allowed", "不支持该请求方法。", "Method not allowed.")
        if exc.status_code == 400:  # a malformed multipart or JSON body
            return _error(422, "malformed_body", "请求体无法解析。", f"The request body could not be parsed: {exc.detail}")
        return _error(exc.status_code, "http_error", str(exc.detail), str(exc.detail))

    async def _mapped(_request: Request, exc: Exception):
        return _service_error(exc) or _error(500, "internal_error", "服务内部错误，请联系管理员。", "Internal error.")

    # Each its own handler: Starlette's catch-all `Exception` handler answers but re-raises.
    for kind in (jobs.SubmissionError, PermissionDenied, DecisionConflict, jobs.IdempotencyMismatch, LoginThrottled,
                 KeyError, ValueError):
        app.add_exception_handler(kind, _mapped)

    @app.exception_handler(Exception)
    async def _other(_request: Request, exc: Exception):
        mapped = _service_error(exc)
        if mapped is not None:
            return mapped
        if _caused_by(exc, BodyTooLarge):
            return _too_large()
        return _error(500, "internal_error", "服务内部错误，请联系管理员。", "Internal error.")


ERRORS = {s: {"model": ErrorBody} for s in (401, 403, 404, 409, 413, 422)}


# -- the request's actor, size limit and audit entry ------------------------------------------------

bearer = HTTPBearer(auto_error=False, description="a person's session token (shs_…) or a client's API key (shk_…)")


class _LimitBody:
    """ASGI middleware: refuse a body past the upload limit while it streams in (413)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        limit = upload_limit_bytes()
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = _too_large()
            await self._drain(receive, limit)
            return await response(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
            return message

        return await self.app(scope, limited, send)

    @staticmethod
    async def _drain(receive, limit: int) -> None:
        """Read (and drop) a little of what the client sends, so it sees the answer rather than a reset."""
        read = 0
        while read < min(limit, 1 << 20):
            message = await receive()
            if message["type"] != "http.request":
                return
            read += len(message.get("body", b""))
            if not message.get("more_body"):
                return


def _store(request: Request) -> Store:
    return request.app.state.store


def actor(request: Request,
          creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> clients.Actor:
    found = clients.identify(_store(request), creds.credentials if creds else None)
    if found is None:
        raise ApiError(401, "unauthenticated", "未提供有效的凭据（会话令牌或 API 密钥），或凭据已失效。",
                       "Missing, unknown, expired or revoked credentials.", {"WWW-Authenticate": "Bearer"})
    request.state.actor = found
    return found


Actor = Annotated[clients.Actor, Depends(actor)]
StoreDep = Annotated[Store, Depends(_store)]


def _digest_response(body: bytes) -> Response:
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
    return Response(content=body, media_type="application/json", headers={"Content-Digest": f"sha-256=:{digest}:"})


# -- bodies -----------------------------------------------------------------------------------------

class _Body(BaseModel):
    """A request body: no text in it may hold a NUL character (PostgreSQL cannot store one,
    and no name, reason or value needs it)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value):
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("不能包含空字符（NUL） / must not contain a NUL character")
        return value


class SessionIn(_Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1000)


class SessionOut(BaseModel):
    token: str
    expires_at: datetime


class SubmittedOut(BaseModel):
    application_id: str
    job_id: str


class DecisionIn(_Body):
    decision: Literal["confirm", "dismiss", "request_correction"]
    reason: str = Field(min_length=1, max_length=5000)
    report_id: str | None = Field(None, max_length=80, description="the report the finding is in (optional)")
    expected_version: int | None = Field(None, ge=0, le=10**6, description="409 when the latest decision moved on")


class CaseDecisionIn(_Body):
    decision: Literal["approve", "reject", "request_correction"] = Field(
        description="准予 / 不予 / 补正 (a correction request to the applicant)")
    reason: str = Field(min_length=1, max_length=5000)
    report_id: str | None = Field(None, max_length=80, description="the report decided on (default: the latest)")
    expected_version: int | None = Field(None, ge=0, le=10**6, description="409 when the latest decision moved on")


class DecisionOut(BaseModel):
    decision_id: str
    state: Literal["effective", "pending_second_review", "returned"]
    finding_id: str | None = None
    version: int


class SecondReviewIn(_Body):
    action: Literal["confirm", "return"]
    reason: str = Field(min_length=1, max_length=5000)


class CorrectionIn(_Body):
    field_type: str = Field(min_length=1, max_length=40, description="contract field type, e.g. person_name")
    document: str = Field(min_length=1, max_length=40, description="the document's id in the report")
    page: int | None = Field(None, ge=1, le=100000)
    old_value: str | None = Field(None, max_length=2000, description="null: add a value the machine missed")
    new_value: str | None = Field(None, max_length=2000, description="null: the value is not a field")
    reason: str = Field(min_length=1, max_length=5000)
    bbox: list[float] | None = Field(None, min_length=4, max_length=4, description="where on the page (optional)")
    role: str | None = Field(None, max_length=40)


class CorrectionOut(BaseModel):
    correction_id: str
    state: Literal["effective", "pending_second_review", "returned"]
    report_id: str | None = Field(None, description="the new report version, once effective")


class CorrectionReviewOut(BaseModel):
    correction_id: str
    state: Literal["effective", "pending_second_review", "returned"]


class RecusalIn(_Body):
    reason: str = Field(min_length=1, max_length=5000)


class RecusalOut(BaseModel):
    application_id: str
    state: Literal["recused"] = "recused"


OBJECT = {"application/json": {"schema": {"type": "object"}}}


# -- the app ------------------------------------------------------------------------------------------

def create_app(store_url: str | None = None, run_jobs: bool | None = None) -> FastAPI:
    """The API over the store at `store_url` (default: SHENCHA_DB / the embedded SQLite file).

    `run_jobs` (default: SHENCHA_API_RUNNER != "0") starts the job runner with the app.
    """
    store = Store(store_url)
    if run_jobs is None:
        run_jobs = os.environ.get(RUNNER_ENV, "1") != "0"

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        runner = jobs.JobRunner(store) if run_jobs else None
        if runner is not None:
            await run_in_threadpool(runner.start)
        app.state.runner = runner
        try:
            yield
        finally:
            if runner is not None:
                await run_in_threadpool(runner.stop)

    app = FastAPI(title="shencha 审查 API", version=__version__, lifespan=lifespan,
                  openapi_url=f"{PREFIX}/openapi.json", docs_url="/api/docs", redoc_url=None,
                  description="安全生产许可证申请材料审查：提交、任务、报告、决定、共享（contract.md, docs/api.md）")
    app.state.store = store
    app.state.runner = None
    _install_errors(app)

    @app.middleware("http")
    async def audit(request: Request, call_next):
        if "\x00" in request.url.path or any("\x00" in k + v for k, v in request.query_params.multi_items()):
            # PostgreSQL cannot hold a NUL character: refused before any lookup or audit write.
            response = _error(422, "validation_error", "请求地址或参数中含有空字符（NUL）。",
                              "The request path or query contains a NUL character.")
        else:
            response = await call_next(request)
        who = getattr(request.state, "actor", None)
        path = request.url.path.replace("\x00", "\\x00")
        if path.startswith("/api/v1/") and path != f"{PREFIX}/openapi.json":
            await run_in_threadpool(clients.record_call, store, who, request.method, path, response.status_code)
        return response

    app.add_middleware(_LimitBody)

    @app.post(f"{PREFIX}/sessions", response_model=SessionOut, tags=["sessions"],
              responses={**ERRORS, 429: {"model": ErrorBody, "description": "too many failed logins (Retry-After)"}})
    def open_session(body: SessionIn, request: Request) -> SessionOut:
        """A person logs in: a short-lived bearer token."""
        address = request.client.host if request.client else None
        opened = clients.open_session(store, body.username, body.password, address)
        if opened is None:
            raise ApiError(401, "bad_credentials", "用户名或密码错误，或账户已停用。", "Wrong user name or password.",
                           {"WWW-Authenticate": "Bearer"})
        request.state.actor = opened.user
        return SessionOut(token=opened.token, expires_at=opened.expires_at)

    @app.post(f"{PREFIX}/applications", status_code=202, response_model=SubmittedOut, responses=ERRORS,
              tags=["applications"])
    def submit(who: Actor,
               file: Annotated[list[UploadFile], File(description="a .zip package or the documents")],
               application_json: Annotated[str | None, Form(description="application.json fields, as JSON")] = None,
               as_of: Annotated[str | None, Form(description="review date YYYY-MM-DD")] = None,
               callback_url: Annotated[str | None, Form(description="POSTed (HMAC-signed) when the job ends")] = None,
               application_id: Annotated[str | None, Form(description="an existing application number: "
                                                                     "the review becomes its next version")] = None,
               file_sha256: Annotated[list[str] | None, Form(description="sha256 of each file, in order")] = None,
               idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> SubmittedOut:
        """Submit a package for review (202: a job; the same Idempotency-Key again → the same answer)."""
        digests = list(file_sha256 or [])
        if digests and len(digests) != len(file):
            raise jobs.SubmissionError("digest_count", "file_sha256 的个数应与文件个数相同。",
                                       "Send one file_sha256 per file, or none.")
        uploads = [jobs.Upload(name=f.filename or "upload.bin", data=f.file.read(),
                               sha256=digests[i] if digests else None) for i, f in enumerate(file)]
        done = jobs.submit(store, who, uploads, application_json=application_json, as_of=as_of,
                           idempotency_key=idempotency_key, callback_url=callback_url,
                           application_no=application_id)
        return SubmittedOut(application_id=done.application_id, job_id=done.job_id)

    @app.get(f"{PREFIX}/jobs/{{job_id}}", response_model=jobs.JobView, responses=ERRORS, tags=["applications"])
    def get_job(job_id: str, who: Actor) -> jobs.JobView:
        """A submission's review job: queued | running | done | failed."""
        return jobs.job(store, who, job_id)

    @app.get(f"{PREFIX}/reports/{{report_id}}", responses={200: {"content": OBJECT}, **ERRORS}, tags=["reports"])
    def get_report(report_id: str, who: Actor) -> Response:
        """The review report (contract.md), with a Content-Digest header (RFC 9530)."""
        return _digest_response(app_service.report_json(store, who, report_id).encode("utf-8"))

    @app.get(f"{PREFIX}/applications/{{application_id}}", response_model=ApplicationView, responses=ERRORS,
             tags=["applications"])
    def get_application(application_id: str, who: Actor) -> ApplicationView:
        """State, statutory clocks, decisions and the latest report of an application."""
        return app_service.application(store, who, application_id)

    @app.post(f"{PREFIX}/findings/{{finding_id}}/decisions", status_code=201, response_model=DecisionOut,
              responses=ERRORS, tags=["decisions"])
    def decide(finding_id: str, body: DecisionIn, who: Actor) -> DecisionOut:
        """An officer's decision on a finding (a dismissal of a failure waits for a second officer)."""
        rec = app_service.decide(store, who, finding_id, body.decision, body.reason, body.report_id,
                                 body.expected_version)
        return DecisionOut(decision_id=rec.key, state=rec.state, finding_id=rec.finding_id, version=rec.version)

    @app.post(f"{PREFIX}/applications/{{application_id}}/decisions", status_code=201, response_model=DecisionOut,
              responses=ERRORS, tags=["decisions"])
    def decide_application(application_id: str, body: CaseDecisionIn, who: Actor) -> DecisionOut:
        """The case decision (准予 / 不予 / 补正). A grant on a case with a failure waits for a second officer;
        on a high-risk case a grant or refusal is the panel's (403 not_allowed)."""
        rec = app_service.decide_application(store, who, application_id, body.decision, body.reason,
                                             body.report_id, body.expected_version)
        return DecisionOut(decision_id=rec.key, state=rec.state, finding_id=None, version=rec.version)

    @app.post(f"{PREFIX}/decisions/{{decision_id}}/second-review", response_model=DecisionOut, responses=ERRORS,
              tags=["decisions"])
    def review(decision_id: str, body: SecondReviewIn, who: Actor) -> DecisionOut:
        """A second officer confirms or returns a step; 403 for the officer who made it."""
        if isinstance(who, clients.Client):
            raise clients.PersonOnly("双人复核")
        rec = second_review(store, who, decision_id, body.action, body.reason)
        return DecisionOut(decision_id=rec.key, state=rec.state, finding_id=rec.finding_id, version=rec.version)

    @app.post(f"{PREFIX}/reports/{{report_id}}/corrections", status_code=201, response_model=CorrectionOut,
              responses=ERRORS, tags=["corrections"])
    def correct(report_id: str, body: CorrectionIn, who: Actor) -> CorrectionOut:
        """Correct an extracted value, add a missed one, or mark one as not a field; the rules run again
        on the corrected values (a new report version). One that removes a failure waits for a second officer."""
        if isinstance(who, clients.Client):
            raise clients.PersonOnly("更正识别结果")
        pk = corrections.report_pk_of(store, who, report_id)
        rec = corrections.correct_field(store, who, pk, field_type=body.field_type, document=body.document,
                                        page=body.page, old_value=body.old_value, new_value=body.new_value,
                                        reason=body.reason, bbox=body.bbox, role=body.role)
        return CorrectionOut(correction_id=rec.key, state=rec.state, report_id=rec.result_report_key)

    @app.post(f"{PREFIX}/corrections/{{correction_id}}/second-review", response_model=CorrectionReviewOut,
              responses=ERRORS, tags=["corrections"])
    def review_correction(correction_id: str, body: SecondReviewIn, who: Actor) -> CorrectionReviewOut:
        """A second officer confirms or returns a correction; 403 for the officer who made it."""
        if isinstance(who, clients.Client):
            raise clients.PersonOnly("双人复核")
        rec = corrections.second_review_correction(store, who, correction_id, body.action, body.reason)
        return CorrectionReviewOut(correction_id=rec.key, state=rec.state)

    @app.post(f"{PREFIX}/applications/{{application_id}}/recusals", status_code=201, response_model=RecusalOut,
              responses=ERRORS, tags=["decisions"])
    def recuse(application_id: str, body: RecusalIn, who: Actor) -> RecusalOut:
        """The officer steps aside from the application (回避): 403 on it from then on."""
        app_service.recuse_from(store, who, application_id, body.reason)
        return RecusalOut(application_id=application_id)

    @app.get(f"{PREFIX}/shared/{{entry}}", responses={200: {"content": OBJECT}, **ERRORS}, tags=["sharing"])
    def shared(entry: str, who: Actor,
               since: Annotated[str | None, Query(description="YYYY-MM-DD or ISO date-time")] = None) -> Response:
        """One sharing-catalogue entry: only its fields, desensitised; Content-Digest header."""
        return _digest_response(sharing.dumps(sharing.shared(store, who, entry, since)))

    return app


def openapi_document(app: FastAPI | None = None) -> dict[str, Any]:
    """The OpenAPI document as served (docs/api.openapi.json is this, committed)."""
    return (app or create_app("sqlite:///:memory:", run_jobs=False)).openapi()
