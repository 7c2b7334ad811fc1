"""Every table of the store, in one module; `Store` creates them all.

Review data (applications, report versions, documents, pages, lines,
fields, findings, blobs, the OCR cache) and the authority's workflow
(accounts, the audit chain, decisions and their second reviews, recusals,
assignments, panels, statutory dates, decision documents, licences).
Workflow rows are append-only: a later state is a new row, never an
UPDATE, so the audit chain and the rows can be compared (`audit.verify`).
The registry (`registry_sync.store`) keeps its own tables: it is synced
data, not case data, and is usable without the rest.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


# -- review data ---------------------------------------------------------------------

class BlobRow(Base):
    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(100), default="")
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ApplicationRow(Base):
    __tablename__ = "applications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    company_name: Mapped[str | None] = mapped_column(String(300))
    uscc: Mapped[str | None] = mapped_column(String(32))
    industry: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ReportRow(Base):
    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("application_id", "version"),
        # A retried task stores its report once: (application, run key) is unique (NULLs repeat).
        Index("uq_reports_run_key", "application_id", "run_key", unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    source_path: Mapped[str] = mapped_column(Text)
    as_of: Mapped[str] = mapped_column(String(10))
    n_fail: Mapped[int] = mapped_column(Integer, default=0)
    n_uncertain: Mapped[int] = mapped_column(Integer, default=0)
    n_high: Mapped[int] = mapped_column(Integer, default=0)
    n_errors: Mapped[int] = mapped_column(Integer, default=0)
    report_json: Mapped[str] = mapped_column(Text)
    # The run that stored this version (a batch or re-review run and its case); None for a single review.
    run_key: Mapped[str | None] = mapped_column(String(120), nullable=True, default=None)


class DocumentRow(Base):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    doc_key: Mapped[str] = mapped_column(String(40))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    media_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(8))
    error_code: Mapped[str | None] = mapped_column(String(8))
    error_message: Mapped[str | None] = mapped_column(Text)
    doc_type: Mapped[str] = mapped_column(String(40))
    n_pages: Mapped[int] = mapped_column(Integer)


class PageRow(Base):
    __tablename__ = "pages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    width: Mapped[float] = mapped_column(Float)
    height: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(4))
    source: Mapped[str] = mapped_column(String(8))
    decision: Mapped[str] = mapped_column(Text)
    image_sha256: Mapped[str | None] = mapped_column(String(64))
    image_scale: Mapped[float] = mapped_column(Float)
    ocr: Mapped[dict | None] = mapped_column(JSON)


class LineRow(Base):
    __tablename__ = "lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    x0: Mapped[float] = mapped_column(Float)
    y0: Mapped[float] = mapped_column(Float)
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(8))
    block: Mapped[int] = mapped_column(Integer)
    table_index: Mapped[int | None] = mapped_column(Integer)
    cell_row: Mapped[int | None] = mapped_column(Integer)
    cell_col: Mapped[int | None] = mapped_column(Integer)


class FieldRow(Base):
    __tablename__ = "fields"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    role: Mapped[str | None] = mapped_column(String(40))
    page: Mapped[int | None] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(8))
    data: Mapped[dict] = mapped_column(JSON)  # the whole Field, as in the report


class FindingRow(Base):
    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    finding_id: Mapped[str] = mapped_column(String(80))
    rule_id: Mapped[str] = mapped_column(String(120), index=True)
    category: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(8))
    verdict: Mapped[str] = mapped_column(String(10))
    data: Mapped[dict] = mapped_column(JSON)


class OcrCacheRow(Base):
    __tablename__ = "ocr_cache"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    image_sha256: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict] = mapped_column(JSON)  # OcrPageResult without the image bytes
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


# -- accounts and the audit chain ---------------------------------------------------

class UserRow(Base):
    __tablename__ = "ui_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))


class AccountRequestRow(Base):
    """A privileged role granted by an admin, waiting for a supervisor (append-only states)."""

    __tablename__ = "account_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(20))
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending | approved | rejected
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text, default="")


class LoginThrottleRow(Base):
    """Recent failed logins per account ("user:NAME") and per address ("addr:IP")."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed: Mapped[float] = mapped_column(Float, default=0.0)


class AuditRow(Base):
    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))  # ISO text: hashed exactly as stored, on every database
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON
    reason: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row: the newest entry's number and hash, so deleting the tail is detected too."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# -- decisions -----------------------------------------------------------------------

class FindingDecisionRow(Base):
    __tablename__ = "finding_decisions"
    __table_args__ = (UniqueConstraint("report_id", "finding_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    finding_id: Mapped[str] = mapped_column(String(80))
    identity: Mapped[str] = mapped_column(String(40), index=True)  # same finding across re-reviews
    rule_id: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    audit_seq: Mapped[int] = mapped_column(Integer)
    # Why a second officer must confirm it ("" when none must): fixed when it is made.
    second_review: Mapped[str] = mapped_column(String(40), default="")


class CaseDecisionRow(Base):
    __tablename__ = "case_decisions"
    __table_args__ = (UniqueConstraint("report_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    audit_seq: Mapped[int] = mapped_column(Integer)
    second_review: Mapped[str] = mapped_column(String(40), default="")
    panel_id: Mapped[int | None] = mapped_column(Integer)  # the collective decision it records


class SecondReviewRow(Base):
    """The second officer's answer to a key step (a decision that waits for 双人复核)."""

    __tablename__ = "second_reviews"
    __table_args__ = (UniqueConstraint("step_kind", "step_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step_kind: Mapped[str] = mapped_column(String(12))  # finding | case
    step_id: Mapped[int] = mapped_column(Integer)  # FindingDecisionRow.id / CaseDecisionRow.id
    action: Mapped[str] = mapped_column(String(8))  # confirm | return
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    audit_seq: Mapped[int] = mapped_column(Integer)


# -- recusal, assignment, panels -------------------------------------------------------

class ConflictRow(Base):
    """A conflict of interest an officer declared (or a supervisor entered for them).

    `value` is the normalised USCC, company name or resident ID number;
    a withdrawal is a later row with `withdraws` naming the declaration.
    """

    __tablename__ = "conflicts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    officer: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # company | person
    value: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(64))
    withdraws: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    audit_seq: Mapped[int] = mapped_column(Integer)


class RecusalRow(Base):
    """An officer stepped aside from one application (回避), with the reason."""

    __tablename__ = "recusals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    officer: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    audit_seq: Mapped[int] = mapped_column(Integer)


class AssignmentRow(Base):
    """Who handles an application; the newest row is in force."""

    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    officer: Mapped[str] = mapped_column(String(64), index=True)
    assigned_by: Mapped[str] = mapped_column(String(64))
    how: Mapped[str] = mapped_column(String(12))  # supervisor | round_robin
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    audit_seq: Mapped[int] = mapped_column(Integer)


class PanelRow(Base):
    """A collective decision (集体审议) on a high-risk case; closed once, with its minutes."""

    __tablename__ = "panels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    convened_by: Mapped[str] = mapped_column(String(64))
    members: Mapped[list] = mapped_column(JSON)  # usernames
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    audit_seq: Mapped[int] = mapped_column(Integer)


class PanelVoteRow(Base):
    __tablename__ = "panel_votes"
    __table_args__ = (UniqueConstraint("panel_id", "member"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"), index=True)
    member: Mapped[str] = mapped_column(String(64))
    vote: Mapped[str] = mapped_column(String(12))  # approve | reject | correction
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    audit_seq: Mapped[int] = mapped_column(Integer)


class PanelCloseRow(Base):
    """The minutes and the outcome; one per panel (the unique key makes closing happen once)."""

    __tablename__ = "panel_closes"
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"), primary_key=True)
    closed_by: Mapped[str] = mapped_column(String(64))
    minutes: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(12))
    tally: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    audit_seq: Mapped[int] = mapped_column(Integer)


# -- statutory dates, calendar, decision documents, licences ----------------------------

class ApplicationDateRow(Base):
    """One dated event of an application's statutory clock (received, accepted, correction …)."""

    __tablename__ = "application_dates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # received|accepted|correction_requested|correction_received|decided
    on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    audit_seq: Mapped[int] = mapped_column(Integer)


class CalendarOverrideRow(Base):
    """A day from the official yearly holiday notice, as an admin loaded it (newest load wins)."""

    __tablename__ = "calendar_overrides"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(8))  # holiday | workday
    name: Mapped[str] = mapped_column(String(100), default="")
    loaded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class DecisionDocumentRow(Base):
    """An issued 行政许可决定书; its number is unique and never given out again."""

    __tablename__ = "decision_documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(100), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    case_decision_id: Mapped[int] = mapped_column(ForeignKey("case_decisions.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # grant | refuse
    docx_sha256: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    signed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    audit_seq: Mapped[int] = mapped_column(Integer)


class LicenceRow(Base):
    """A licence the authority granted (安全生产许可证), linked to the one it renews."""

    __tablename__ = "licences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(100), unique=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    company_name: Mapped[str] = mapped_column(String(300))
    uscc: Mapped[str | None] = mapped_column(String(32), index=True)
    industry: Mapped[str | None] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(Text, default="")
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("licences.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    audit_seq: Mapped[int] = mapped_column(Integer)


# -- API clients, sessions, jobs ---------------------------------------------------------

class ApiClientRow(Base):
    """A client system's API key (`shencha api-keys add`): only the key's sha256 is kept.

    Revocation sets `revoked_at` once; a revoked key is never valid again.
    """

    __tablename__ = "api_clients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise a key in logs
    scopes: Mapped[list] = mapped_column(JSON)  # submit | read_reports | share:<entry>
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class ApiSessionRow(Base):
    """A person's short-lived bearer token (`POST /api/v1/sessions`): only its sha256 is kept."""

    __tablename__ = "api_sessions"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ui_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class JobRow(Base):
    """A submitted package waiting for, in, or done with its review run.

    `status`: queued | running | done | failed. An idempotency key is unique
    per owner, so a retried submission finds the first job instead of a
    new one; `request_sha256` tells a retry from another request reusing the key.
    """

    __tablename__ = "api_jobs"
    __table_args__ = (UniqueConstraint("owner", "idempotency_key"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)  # "client:<name>" | "user:<username>"
    user_id: Mapped[int | None] = mapped_column(Integer)  # the submitting person, when a person submitted
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    application_no: Mapped[str] = mapped_column(String(120))
    as_of: Mapped[str | None] = mapped_column(String(10))
    application_json: Mapped[str | None] = mapped_column(Text)
    files: Mapped[list] = mapped_column(JSON)  # [{"name", "sha256", "size"}], contents in blobs
    callback_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), index=True, default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(120))  # "host:pid:boot" of the runner holding it
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    report_key: Mapped[str | None] = mapped_column(String(80))  # "app-<id>-v<version>"
    error_code: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    callback_status: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# -- corrections of extracted values (service.corrections) -------------------------------------

class CorrectionRow(Base):
    """An officer's correction of what extraction read: a value corrected, a value added, or a
    value marked as not a field. Append-only; the stored extraction is never touched.

    A correction that would make a `fail` finding disappear waits for a second officer
    (`second_review`, answered by a `SecondReviewRow` with step_kind "correction").
    """

    __tablename__ = "field_corrections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)  # the version corrected on
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # correct | add | not_a_field
    field_type: Mapped[str] = mapped_column(String(40), index=True)
    role: Mapped[str | None] = mapped_column(String(40))
    document: Mapped[str] = mapped_column(String(40))  # the document's id in the report ("d003")
    doc_type: Mapped[str] = mapped_column(String(40), default="")
    page: Mapped[int | None] = mapped_column(Integer)
    bbox: Mapped[list | None] = mapped_column(JSON)
    field_index: Mapped[int | None] = mapped_column(Integer)  # position among the document's fields
    old_value: Mapped[str | None] = mapped_column(Text)  # None: a value the machine missed
    new_value: Mapped[str | None] = mapped_column(Text)  # None: not a field
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)  # e.g. the record an added value belongs to
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    audit_seq: Mapped[int] = mapped_column(Integer)
    second_review: Mapped[str] = mapped_column(String(40), default="")  # "removes_fail" or ""
    effect: Mapped[dict] = mapped_column(JSON, default=dict)  # what the rules said it would fix / change / raise


class CorrectionRunRow(Base):
    """The report version the rules produced when a correction took effect (one per correction)."""

    __tablename__ = "correction_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    correction_id: Mapped[int] = mapped_column(ForeignKey("field_corrections.id"), unique=True)
    base_report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)  # the new version
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    audit_seq: Mapped[int] = mapped_column(Integer)
    effect: Mapped[dict] = mapped_column(JSON, default=dict)  # fixed / changed / raised, by the new run
