"""The service layer the web app calls: queue, cases, decisions, reviews, rules.

Every function takes the acting user and checks the permission itself
(`PermissionDenied`), so the pages only decide what to show. Decisions are
append-only: a new decision on the same finding or case gets the next
version number and supersedes the previous one; nothing is updated or
deleted. Each decision names the version it supersedes; if someone else
decided in the meantime the unique (report, finding, version) key rejects
it and the caller gets `DecisionConflict` with the current decision, so
no decision is silently overwritten.
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic import Field as PydField
from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from checks.model import Finding
from registry_sync.normalize import has_resident_id

from .accounts import P, PermissionDenied, User, mask_ids, require
from .report import Report
from .store import ApplicationRow, Base, ReportRow, Store

FindingDecision = Literal["confirm", "dismiss", "correction"]
CaseDecision = Literal["approve", "reject", "correction"]
FINDING_DECISION_LABEL = {"confirm": "确认问题", "dismiss": "排除", "correction": "要求补正"}
CASE_DECISION_LABEL = {"approve": "准予", "reject": "不予", "correction": "补正"}


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


# Weak, so a new engine that happens to reuse a collected one's id() is not taken as done.
_ensured: weakref.WeakSet = weakref.WeakSet()
_ensure_lock = threading.Lock()


def ensure_tables(store: Store) -> None:
    """Create the web app's tables (accounts, audit trail, decisions) on first use of a store."""
    if store.engine in _ensured:
        return
    from . import accounts, audit  # noqa: F401 - registers their tables on Base

    with _ensure_lock:
        tables = [Base.metadata.tables[n] for n in
                  ("ui_users", "audit_log", "audit_head", "finding_decisions", "case_decisions",
                   "account_requests", "login_throttle")]
        Base.metadata.create_all(store.engine, tables=tables)
        _ensured.add(store.engine)


# -- models returned to the pages ----------------------------------------------------

class DecisionRecord(BaseModel):
    id: int
    report_id: int
    finding_id: str | None = None  # None for a case decision
    version: int
    decision: str
    label: str
    reason: str
    actor: str
    created_at: datetime


class DecisionConflict(Exception):
    """Someone decided the same finding or case since the user loaded it."""

    def __init__(self, current: DecisionRecord | None) -> None:
        who = f"{current.actor} 已于 {current.created_at:%H:%M:%S} 作出“{current.label}”" if current else "他人已修改"
        super().__init__(f"该项已被他人处理：{who}。请查看最新决定后重新决定。")
        self.current = current


class CaseSummary(BaseModel):
    report_id: int
    report_key: str
    application_id: int
    name: str
    company_name: str | None
    version: int
    n_high: int
    n_fail: int
    n_uncertain: int
    n_findings: int
    received_at: datetime
    reviewed_at: datetime
    decision: DecisionRecord | None = None
    n_decided: int = 0


class FindingState(BaseModel):
    finding: Finding
    identity: str
    decision: DecisionRecord | None = None
    history: list[DecisionRecord] = PydField(default_factory=list)
    previous_decision: DecisionRecord | None = None  # on the same finding in the last report
    change: Literal["new", "remaining", "first"] = "first"


class Comparison(BaseModel):
    previous_report_id: int
    previous_version: int
    fixed: list[Finding]
    new: list[Finding]
    remaining: list[Finding]


class CaseView(BaseModel):
    summary: CaseSummary
    report: Report
    masked: bool
    findings: list[FindingState]
    case_history: list[DecisionRecord]
    comparison: Comparison | None = None
    redactions: dict[str, list[list[float]]] = PydField(
        default_factory=dict, description="'doc|page' → boxes to black out on page images for masked roles")


# -- helpers -------------------------------------------------------------------------

def finding_identity(finding: Finding) -> str:
    """The same problem across review runs: the rule and the evidence values, not boxes or ids."""
    values = sorted((e.text or "").strip() for e in finding.evidence)
    # Without evidence (a missing document) only the message says which problem it is.
    blob = json.dumps([finding.rule_id, finding.category, values or [finding.message]], ensure_ascii=False)
    return hashlib.sha1(blob.encode("utf-8")).hexdigest()


def _record(row: FindingDecisionRow | CaseDecisionRow) -> DecisionRecord:
    finding_id = getattr(row, "finding_id", None)
    labels = FINDING_DECISION_LABEL if finding_id is not None else CASE_DECISION_LABEL
    return DecisionRecord(id=row.id, report_id=row.report_id, finding_id=finding_id, version=row.version,
                          decision=row.decision, label=labels.get(row.decision, row.decision),
                          reason=row.reason, actor=row.actor, created_at=row.created_at)


def _summary(row: ReportRow, app: ApplicationRow, n_findings: int, decision: DecisionRecord | None,
             n_decided: int) -> CaseSummary:
    return CaseSummary(report_id=row.id, report_key=f"app-{app.id}-v{row.version}", application_id=app.id,
                       name=app.name, company_name=app.company_name, version=row.version, n_high=row.n_high,
                       n_fail=row.n_fail, n_uncertain=row.n_uncertain, n_findings=n_findings,
                       received_at=app.created_at, reviewed_at=row.created_at, decision=decision,
                       n_decided=n_decided)


def _latest(rows: list) -> dict:
    latest: dict = {}
    for r in rows:
        key = getattr(r, "finding_id", None)
        if key not in latest or r.version > latest[key].version:
            latest[key] = r
    return latest


def _retrying(store: Store) -> Iterator[Session]:
    """Sessions for up to five attempts; an IntegrityError on the audit chain means try again."""
    for _ in range(5):
        yield store.session()


# -- the queue -----------------------------------------------------------------------

def queue(store: Store, user: User) -> list[CaseSummary]:
    """Latest report of every application: undecided first, then by risk (high fails), then oldest."""
    user = require(store, user, P.view_all_cases)
    ensure_tables(store)
    with store.session() as session:
        latest = (select(ReportRow.application_id, func.max(ReportRow.version).label("v"))
                  .group_by(ReportRow.application_id).subquery())
        rows = session.execute(
            select(ReportRow, ApplicationRow)
            .join(latest, (ReportRow.application_id == latest.c.application_id) & (ReportRow.version == latest.c.v))
            .join(ApplicationRow, ApplicationRow.id == ReportRow.application_id)
        ).all()
        report_ids = [r.id for r, _ in rows]
        case_rows = _latest_by_report(session, CaseDecisionRow, report_ids)
        decided = dict(session.execute(
            select(FindingDecisionRow.report_id, func.count(func.distinct(FindingDecisionRow.finding_id)))
            .where(FindingDecisionRow.report_id.in_(report_ids)).group_by(FindingDecisionRow.report_id)
        ).all())
        out = []
        for row, app in rows:
            n_findings = row.n_fail + row.n_uncertain
            decision = _record(case_rows[row.id]) if row.id in case_rows else None
            out.append(_summary(row, app, n_findings, decision, decided.get(row.id, 0)))
    out.sort(key=lambda c: (c.decision is not None, -c.n_high, -c.n_fail, -c.n_uncertain, c.received_at))
    return out


def _latest_by_report(session: Session, table, report_ids: list[int]) -> dict:
    out: dict = {}
    for r in session.scalars(select(table).where(table.report_id.in_(report_ids))):
        if r.report_id not in out or r.version > out[r.report_id].version:
            out[r.report_id] = r
    return out


# -- a case --------------------------------------------------------------------------

def open_case(store: Store, user: User, report_id: int, log_view: bool = True) -> CaseView:
    """The report with each finding's decisions and the comparison with the previous report.

    Roles without `view_personal_data` get resident ID numbers masked in
    every text and boxes to black out on the page images; a role that sees
    them in full leaves a `view_personal_data` entry in the audit trail
    (`log_view=False` when the same session merely re-renders the case).
    """
    user = require(store, user, P.view_cases)
    ensure_tables(store)
    with store.session() as session:
        row = session.get(ReportRow, report_id)
        if row is None:
            raise KeyError(report_id)
        _check_case_access(session, user, row)
        app = session.get(ApplicationRow, row.application_id)
        raw_json = row.report_json
        previous = session.scalars(
            select(ReportRow).where(ReportRow.application_id == row.application_id, ReportRow.version < row.version)
            .order_by(ReportRow.version.desc()).limit(1)
        ).first()
        prev_json = previous.report_json if previous else None
        decisions = list(session.scalars(select(FindingDecisionRow).where(FindingDecisionRow.report_id == report_id)
                                         .order_by(FindingDecisionRow.version)))
        prev_decisions = _latest(list(session.scalars(
            select(FindingDecisionRow).where(FindingDecisionRow.report_id == previous.id)))) if previous else {}
        case_rows = list(session.scalars(select(CaseDecisionRow).where(CaseDecisionRow.report_id == report_id)
                                         .order_by(CaseDecisionRow.version.desc())))
        full = user.can(P.view_personal_data)
        personal = has_resident_id(raw_json)
        if full and personal and log_view:
            from .audit import record

            record(session, user.username, "view_personal_data", f"report:{report_id}",
                   {"report": f"app-{app.id}-v{row.version}"}, "打开案卷")
        report = Report.model_validate_json(raw_json if full else mask_ids(raw_json))
        latest = _latest(decisions)

        def rec(r) -> DecisionRecord:
            # An officer's reason may quote an ID number; a masked role reads it masked.
            out = _record(r)
            return out if full else out.model_copy(update={"reason": mask_ids(out.reason)})

        by_finding: dict[str, list[DecisionRecord]] = {}
        for d in decisions:
            by_finding.setdefault(d.finding_id, []).append(rec(d))
        prev_by_identity = {d.identity: rec(d) for d in prev_decisions.values()}
        summary = _summary(row, app, len(report.findings), rec(case_rows[0]) if case_rows else None,
                           len(latest))
    comparison = None
    prev_identities: set[str] = set()
    if prev_json is not None:
        prev_report = Report.model_validate_json(prev_json if full else mask_ids(prev_json))
        comparison = compare(prev_report, report, previous.id, previous.version)
        prev_identities = {finding_identity(f) for f in prev_report.findings}
    states = []
    # Fails before uncertain ones, high severity first, those with evidence on a page first.
    severity_rank = {"high": 0, "medium": 1, "low": 2}
    ordered = sorted(report.findings, key=lambda f: (f.verdict != "fail", severity_rank[f.severity],
                                                     not any(e.page for e in f.evidence)))
    for f in ordered:
        ident = finding_identity(f)
        states.append(FindingState(
            finding=f, identity=ident,
            decision=rec(latest[f.id]) if f.id in latest else None,
            history=by_finding.get(f.id, []),
            previous_decision=prev_by_identity.get(ident),
            change="first" if prev_json is None else ("remaining" if ident in prev_identities else "new"),
        ))
    redactions: dict[str, list[list[float]]] = {}
    if not full:
        raw = Report.model_validate_json(raw_json)
        for doc in raw.documents:
            for fld in doc.fields:
                if fld.bbox and fld.page and (fld.type == "resident_id" or has_resident_id(str(fld.value))):
                    redactions.setdefault(f"{doc.id}|{fld.page}", []).append(list(fld.bbox))
    return CaseView(summary=summary, report=report, masked=not full, findings=states,
                    case_history=[rec(c) for c in case_rows], comparison=comparison, redactions=redactions)


def _check_case_access(session: Session, user: User, row: ReportRow) -> None:
    """Window staff open only the cases they reviewed themselves; the queue's roles open any."""
    if user.can(P.view_all_cases):
        return
    from .audit import AuditRow

    key = f"app-{row.application_id}-v{row.version}"
    ran = session.scalar(select(AuditRow.seq).where(AuditRow.action == "run_review", AuditRow.actor == user.username,
                                                     AuditRow.target == key).limit(1))
    if ran is None:
        raise PermissionDenied(user, P.view_all_cases)


def check_case_access(store: Store, user: User, report_id: int) -> User:
    """For other services (the notice): the fresh user, if it may open this report."""
    user = require(store, user, P.view_cases)
    with store.session() as session:
        row = session.get(ReportRow, report_id)
        if row is None:
            raise KeyError(report_id)
        _check_case_access(session, user, row)
    return user


def compare(old: Report, new: Report, old_report_id: int = 0, old_version: int = 0) -> Comparison:
    """Fixed (only in the old report), new (only in the new one), remaining (in both), by identity."""
    old_ids = {finding_identity(f): f for f in old.findings}
    new_ids = {finding_identity(f): f for f in new.findings}
    return Comparison(
        previous_report_id=old_report_id, previous_version=old_version,
        fixed=[f for k, f in old_ids.items() if k not in new_ids],
        new=[f for k, f in new_ids.items() if k not in old_ids],
        remaining=[f for k, f in new_ids.items() if k in old_ids],
    )


# -- decisions -----------------------------------------------------------------------

def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("请填写理由。")
    return reason


def decide_finding(store: Store, user: User, report_id: int, finding_id: str, decision: FindingDecision,
                   reason: str, expected_version: int) -> DecisionRecord:
    """Record a decision on one finding.

    `expected_version` is the version of the latest decision the user saw
    (0 for none); if it is no longer the latest, `DecisionConflict`.
    """
    user = require(store, user, P.decide)
    ensure_tables(store)
    if decision not in FINDING_DECISION_LABEL:
        raise ValueError(f"未知的决定：{decision}")
    reason = _reason(reason)
    from .audit import record

    def build(session: Session, row: ReportRow, version: int) -> FindingDecisionRow:
        finding = _finding(row, finding_id)
        entry = record(session, user.username, "decide_finding", f"report:{report_id}/{finding_id}",
                       {"decision": decision, "version": version, "rule_id": finding.rule_id,
                        "reason_sha256": _sha(reason)}, mask_ids(reason))
        return FindingDecisionRow(
            report_id=report_id, application_id=row.application_id, finding_id=finding_id,
            identity=finding_identity(finding), rule_id=finding.rule_id, version=version,
            decision=decision, reason=reason, actor=user.username, created_at=datetime.now(UTC),
            audit_seq=entry.seq)

    return _append_decision(store, FindingDecisionRow, report_id, finding_id, expected_version, build)


def decide_case(store: Store, user: User, report_id: int, decision: CaseDecision, reason: str,
                expected_version: int) -> DecisionRecord:
    """Decide the case (准予 / 不予 / 补正); same append-only versioning as findings."""
    user = require(store, user, P.decide)
    ensure_tables(store)
    if decision not in CASE_DECISION_LABEL:
        raise ValueError(f"未知的决定：{decision}")
    reason = _reason(reason)
    from .audit import record

    def build(session: Session, row: ReportRow, version: int) -> CaseDecisionRow:
        entry = record(session, user.username, "decide_case", f"report:{report_id}",
                       {"decision": decision, "version": version, "reason_sha256": _sha(reason)},
                       mask_ids(reason))
        return CaseDecisionRow(report_id=report_id, application_id=row.application_id, version=version,
                               decision=decision, reason=reason, actor=user.username,
                               created_at=datetime.now(UTC), audit_seq=entry.seq)

    return _append_decision(store, CaseDecisionRow, report_id, None, expected_version, build)


def _append_decision(store: Store, table: type, report_id: int, finding_id: str | None,
                     expected_version: int, build: Callable[[Session, ReportRow, int], Any]) -> DecisionRecord:
    """Append the next version of a decision (on a finding, or on the case when
    `finding_id` is None), or raise `DecisionConflict` when it moved on.

    `expected_version` is the version of the latest decision the user saw (0 for
    none). `build` makes the new row and its audit entry in the same transaction.
    """
    for attempt, session_cm in enumerate(_retrying(store)):
        try:
            with session_cm as session:
                row = session.get(ReportRow, report_id)
                if row is None:
                    raise KeyError(report_id)
                current = _current(session, table, report_id, finding_id)
                if (current.version if current else 0) != expected_version:
                    raise DecisionConflict(_record(current) if current else None)
                new = build(session, row, expected_version + 1)
                session.add(new)
                session.flush()
                return _record(new)
        except (IntegrityError, OperationalError):
            # Either another decision took this version (a conflict) or the audit number (retry).
            with store.session() as session:
                current = _current(session, table, report_id, finding_id)
            if current is not None and current.version > expected_version:
                raise DecisionConflict(_record(current)) from None
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _finding(row: ReportRow, finding_id: str) -> Finding:
    for f in Report.model_validate_json(row.report_json).findings:
        if f.id == finding_id:
            return f
    raise KeyError(finding_id)


def _current(session: Session, table, report_id: int, finding_id: str | None):
    query = select(table).where(table.report_id == report_id)
    if finding_id is not None:
        query = query.where(table.finding_id == finding_id)
    return session.scalars(query.order_by(table.version.desc()).limit(1)).first()


def all_decisions(store: Store, user: User, limit: int = 500) -> list[DecisionRecord]:
    user = require(store, user, P.view_decisions)
    ensure_tables(store)
    with store.session() as session:
        rows = list(session.scalars(select(FindingDecisionRow).order_by(FindingDecisionRow.id.desc()).limit(limit)))
        rows += list(session.scalars(select(CaseDecisionRow).order_by(CaseDecisionRow.id.desc()).limit(limit)))
    out = [_record(r) for r in rows]
    out.sort(key=lambda d: d.created_at, reverse=True)
    return out


def verify_decisions(session: Session, audit_rows: dict) -> Iterator[tuple[int, str]]:
    """Each decision must match the audit entry written with it (an edited decision row does not)."""
    for table, action in ((FindingDecisionRow, "decide_finding"), (CaseDecisionRow, "decide_case")):
        for row in session.scalars(select(table)):
            entry = audit_rows.get(row.audit_seq)
            where = f"决定记录 #{row.id}（{row.actor}，{row.created_at:%Y-%m-%d %H:%M}）"
            if entry is None:
                yield row.audit_seq, f"{where}对应的审计记录第 {row.audit_seq} 条不存在"
                continue
            detail = json.loads(entry.detail) if entry.detail.startswith("{") else {}
            target = f"report:{row.report_id}" + (f"/{row.finding_id}" if action == "decide_finding" else "")
            if (entry.action != action or entry.actor != row.actor or entry.target != target
                    or detail.get("decision") != row.decision or detail.get("version") != row.version
                    or detail.get("reason_sha256") != _sha(row.reason)):
                yield row.audit_seq, f"{where}已被改动，与审计记录第 {row.audit_seq} 条不符"


# -- reviews, rules, notices ---------------------------------------------------------

def run_review(store: Store, user: User, path: Path, options=None, application_id: str | None = None,
               source_name: str | None = None) -> Report:
    """Review a package on the spot (the pre-review window) and record that it ran.

    `application_id` is the application the submission belongs to (a new
    one when None); `source_name` is what the report calls the package.
    """
    from .review import ReviewOptions, review_path

    user = require(store, user, P.run_review)
    report = review_path(path, store, options or ReviewOptions(), application_id=application_id,
                         source_name=source_name)
    record_review_run(store, user, report)
    return report


def record_review_run(store: Store, user: User, report: Report) -> None:
    """The audit entry of a review run; it is also what lets window staff open that case."""
    from .audit import append

    append(store, user.username, "run_review", report.report_id,
           {"findings": len(report.findings), "documents": len(report.documents)}, "")


def report_pk(store: Store, user: User, report_key: str) -> int:
    """ReportRow.id of "app-<id>-v<version>", if the user may open it."""
    from .store import _parse_report_id

    user = require(store, user, P.view_cases)
    app_id, version = _parse_report_id(report_key)
    with store.session() as session:
        found = session.scalar(select(ReportRow).where(ReportRow.application_id == app_id,
                                                        ReportRow.version == version))
        if found is None:
            raise KeyError(report_key)
        _check_case_access(session, user, found)
        return found.id


class RuleStat(BaseModel):
    rule_id: str
    fired: int = 0
    decided: int = 0
    dismissed: int = 0
    confirmed: int = 0

    @property
    def dismiss_rate(self) -> float | None:
        return self.dismissed / self.decided if self.decided else None


def rule_stats(store: Store, user: User) -> dict[str, RuleStat]:
    """How often each rule fired (in the latest report of each case) and how officers decided it."""
    from .store import FindingRow

    user = require(store, user, P.view_rules)
    ensure_tables(store)
    stats: dict[str, RuleStat] = {}
    with store.session() as session:
        latest = (select(ReportRow.application_id, func.max(ReportRow.version).label("v"))
                  .group_by(ReportRow.application_id).subquery())
        fired = session.execute(
            select(FindingRow.rule_id, func.count()).join(ReportRow, FindingRow.report_id == ReportRow.id)
            .join(latest, (ReportRow.application_id == latest.c.application_id) & (ReportRow.version == latest.c.v))
            .group_by(FindingRow.rule_id)).all()
        for rule_id, n in fired:
            stats.setdefault(rule_id, RuleStat(rule_id=rule_id)).fired = n
        for d in _latest(list(session.scalars(select(FindingDecisionRow)))).values():
            s = stats.setdefault(d.rule_id, RuleStat(rule_id=d.rule_id))
            s.decided += 1
            s.dismissed += d.decision == "dismiss"
            s.confirmed += d.decision in ("confirm", "correction")
    return stats


class ExampleOutcome(BaseModel):
    description: str
    expected: str
    got: str
    ok: bool
    detail: str


def run_rule_examples(store: Store, user: User, rule_id: str) -> list[ExampleOutcome]:
    """Run one rule's examples (checks.testing), for the rule author page."""
    from checks.catalogue import load_registry
    from checks.testing import run_examples

    from .audit import append

    user = require(store, user, P.view_rules)
    spec = load_registry().get(rule_id)
    if spec is None:
        raise KeyError(rule_id)
    results = [ExampleOutcome(description=r.example.description, expected=r.example.outcome, got=r.got, ok=r.ok,
                              detail=r.detail) for r in run_examples(spec)]
    append(store, user.username, "run_rule_examples", f"rule:{rule_id}",
           {"examples": len(results), "failed": sum(not r.ok for r in results)}, "")
    return results


def record_rule_change(store: Store, user: User, rule_id: str, change: str, reason: str) -> None:
    """A rule author's change request or note (the change itself is made in the rule pack, in review)."""
    from .audit import append

    user = require(store, user, P.edit_rules)
    # Free text, masked on the way in: the trail is read by roles without view_personal_data.
    append(store, user.username, "rule_change", f"rule:{rule_id}", {"change": mask_ids(change or "")},
           mask_ids(_reason(reason)))
