"""The queue and the case page: what an officer, window clerk or supervisor may see of a case.

Access is decided here for every caller: window staff open only the cases
they reviewed; anyone recused from an application (a declared conflict or
a recusal) neither sees it in the queue nor opens it, by any route. The
queue orders by the statutory clock (fewest days left first) and can be
narrowed to "mine", "unassigned" and "awaiting my second review".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel
from pydantic import Field as PydField
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checks.model import Finding
from registry_sync.normalize import has_resident_id

from ..diff import ChangedFinding, finding_identity  # noqa: F401 - ChangedFinding: re-exported
from ..diff import Comparison as _Comparison
from ..diff import compare as _compare
from ..report import Report
from ..schema import (
    ApplicationRow,
    CaseDecisionRow,
    CorrectionRow,
    CorrectionRunRow,
    FindingDecisionRow,
    PanelCloseRow,
    PanelRow,
    PanelVoteRow,
    ReportRow,
    SecondReviewRow,
)
from ..store import Store, _parse_report_id
from .access import check_access
from .assignment import current_assignments
from .audit import record
from .clocks import ClockState
from .dates import calendar, clock
from .permissions import P, User, mask_ids, require
from .policy import policy
from .records import DecisionRecord, current, load_records, pending
from .recusal import recusal_reason
from .risk import high_risk_reasons

QueueView = Literal["all", "mine", "unassigned", "second_review"]
QUEUE_VIEW_LABEL = {"all": "全部", "mine": "分配给我的", "unassigned": "未分配", "second_review": "待我复核"}


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
    decision: DecisionRecord | None = None  # the effective case decision
    pending_decision: DecisionRecord | None = None  # a case decision waiting for a second officer
    n_decided: int = 0
    assigned_to: str | None = None
    clock: ClockState | None = None
    high_risk: list[str] = PydField(default_factory=list)
    n_pending_second: int = 0  # steps on this case that wait for a second officer
    awaiting_me: int = 0  # of those, steps the acting officer may confirm (made by someone else)


class FindingState(BaseModel):
    finding: Finding
    identity: str
    decision: DecisionRecord | None = None  # the effective one
    pending: DecisionRecord | None = None  # the newest, while it waits for a second officer
    history: list[DecisionRecord] = PydField(default_factory=list)
    previous_decision: DecisionRecord | None = None  # on the same finding in the last report
    change: Literal["new", "remaining", "first"] = "first"


class CorrectionNote(BaseModel):
    """A correction of an extracted value that produced this version (service.corrections)."""

    key: str
    kind: str
    field_type: str
    document: str
    page: int | None = None
    old_value: str | None = None
    new_value: str | None = None
    reason: str
    actor: str
    confirmed_by: str | None = None


class Comparison(_Comparison):
    """What changed since the previous version (shencha.diff), and the corrections that made it."""

    corrections: list[CorrectionNote] = PydField(default_factory=list)


def compare(old: Report, new: Report, old_report_id: int = 0, old_version: int = 0) -> Comparison:
    """shencha.diff.compare, as the case page's comparison (corrections are added by open_case)."""
    return Comparison(**dict(_compare(old, new, old_report_id, old_version)))


class PanelVote(BaseModel):
    member: str
    vote: str
    reason: str
    created_at: datetime


class PanelView(BaseModel):
    id: int
    report_id: int
    convened_by: str
    members: list[str]
    votes: list[PanelVote]
    created_at: datetime
    closed: bool = False
    outcome: str | None = None
    minutes: str | None = None
    tally: dict[str, int] = PydField(default_factory=dict)


class CaseView(BaseModel):
    summary: CaseSummary
    report: Report
    masked: bool
    findings: list[FindingState]
    case_history: list[DecisionRecord]
    comparison: Comparison | None = None
    panels: list[PanelView] = PydField(default_factory=list)
    redactions: dict[str, list[list[float]]] = PydField(
        default_factory=dict, description="'doc|page' → boxes to black out on page images for masked roles")


# -- access ------------------------------------------------------------------------------

def check_case_access(store: Store, user: User, report_id: int) -> User:
    """For other services (the notice): the fresh user, if it may open this report."""
    user = require(store, user, P.view_cases)
    with store.session() as session:
        row = session.get(ReportRow, report_id)
        if row is None:
            raise KeyError(report_id)
        check_access(session, user, row)
    return user


def check_application_access(session: Session, user: User, application_id: int) -> ReportRow:
    """The latest report of an application, if `user` may open it."""
    row = latest_report(session, application_id)
    if row is None:
        raise KeyError(application_id)
    check_access(session, user, row)
    return row


def latest_report(session: Session, application_id: int) -> ReportRow | None:
    return session.scalars(select(ReportRow).where(ReportRow.application_id == application_id)
                           .order_by(ReportRow.version.desc()).limit(1)).first()


def report_pk(store: Store, user: User, report_key: str, permission: P = P.view_cases) -> int:
    """ReportRow.id of "app-<id>-v<version>", if the user may open it (and has `permission`)."""
    user = require(store, user, permission)
    try:
        app_id, version = _parse_report_id(report_key)
    except ValueError:
        raise KeyError(report_key) from None
    with store.session() as session:
        found = session.scalar(select(ReportRow).where(ReportRow.application_id == app_id,
                                                        ReportRow.version == version))
        if found is None:
            raise KeyError(report_key)
        check_access(session, user, found)
        return found.id


# -- the queue ---------------------------------------------------------------------------

def _decisions_by_report(session: Session, table, report_ids: list[int]) -> dict[int, list[DecisionRecord]]:
    rows = list(session.scalars(select(table).where(table.report_id.in_(report_ids)).order_by(table.version)))
    out: dict[int, list[DecisionRecord]] = {}
    for rec in load_records(session, rows):
        out.setdefault(rec.report_id, []).append(rec)
    return out


def _pending_steps(records: list[DecisionRecord]) -> list[DecisionRecord]:
    """Newest record of each finding (or of the case) when it waits for a second officer."""
    newest: dict[str | None, DecisionRecord] = {}
    for r in records:
        if r.finding_id not in newest or r.version > newest[r.finding_id].version:
            newest[r.finding_id] = r
    return [r for r in newest.values() if r.state == "pending_second_review"]


def _pending_corrections(session: Session) -> dict[int, list[str]]:
    """Application id → who made each correction still waiting for a second officer."""
    answered = set(session.scalars(select(SecondReviewRow.step_id).where(SecondReviewRow.step_kind == "correction")))
    out: dict[int, list[str]] = {}
    for c in session.scalars(select(CorrectionRow).where(CorrectionRow.second_review != "")):
        if c.id not in answered:
            out.setdefault(c.application_id, []).append(c.actor)
    return out


def queue(store: Store, user: User, view: QueueView = "all", today: date | None = None) -> list[CaseSummary]:
    """Latest report of every application the user may see, most urgent statutory clock first."""
    user = require(store, user, P.view_all_cases)
    if view not in QUEUE_VIEW_LABEL:
        raise ValueError(f"未知的队列：{view}")
    rules = policy().high_risk
    with store.session() as session:
        latest = (select(ReportRow.application_id, func.max(ReportRow.version).label("v"))
                  .group_by(ReportRow.application_id).subquery())
        rows = session.execute(
            select(ReportRow, ApplicationRow)
            .join(latest, (ReportRow.application_id == latest.c.application_id) & (ReportRow.version == latest.c.v))
            .join(ApplicationRow, ApplicationRow.id == ReportRow.application_id)
        ).all()
        rows = [(r, a) for r, a in rows if recusal_reason(session, user.username, a.id) is None]
        report_ids = [r.id for r, _ in rows]
        case_recs = _decisions_by_report(session, CaseDecisionRow, report_ids)
        finding_recs = _decisions_by_report(session, FindingDecisionRow, report_ids)
        assigned = current_assignments(session)
        corrections = _pending_corrections(session)
        cal = calendar(session)
        out = []
        for row, app in rows:
            cases, findings = case_recs.get(row.id, []), finding_recs.get(row.id, [])
            steps = _pending_steps(cases) + _pending_steps(findings)
            waiting = corrections.get(app.id, [])
            decided = {r.finding_id for r in findings if r.state == "effective"}
            report = Report.model_validate_json(row.report_json)
            summary = CaseSummary(
                report_id=row.id, report_key=f"app-{app.id}-v{row.version}", application_id=app.id, name=app.name,
                company_name=app.company_name, version=row.version, n_high=row.n_high, n_fail=row.n_fail,
                n_uncertain=row.n_uncertain, n_findings=row.n_fail + row.n_uncertain, received_at=app.created_at,
                reviewed_at=row.created_at, decision=current(cases), pending_decision=pending(cases),
                n_decided=len(decided), assigned_to=assigned.get(app.id),
                clock=clock(session, app.id, today, cal), high_risk=high_risk_reasons(report, rules),
                n_pending_second=len(steps) + len(waiting),
                awaiting_me=sum(s.actor != user.username for s in steps) + sum(a != user.username for a in waiting))
            out.append(summary)
    if view == "mine":
        out = [c for c in out if c.assigned_to == user.username]
    elif view == "unassigned":
        out = [c for c in out if c.assigned_to is None]
    elif view == "second_review":
        out = [c for c in out if c.awaiting_me and user.can(P.decide)]
    out.sort(key=lambda c: (c.decision is not None and c.decision.decision != "correction",
                            c.clock.sort_key if c.clock else (9,), -c.n_high, -c.n_fail, c.received_at))
    return out


def deadlines(store: Store, user: User, today: date | None = None) -> list[CaseSummary]:
    """Undecided cases that are overdue or due within the policy's warning window (supervisor page)."""
    return [c for c in queue(store, user, "all", today)
            if c.clock is not None and (c.clock.overdue or c.clock.due_soon)]


# -- a case ------------------------------------------------------------------------------

def panels(session: Session, application_id: int) -> list[PanelView]:
    out = []
    for p in session.scalars(select(PanelRow).where(PanelRow.application_id == application_id).order_by(PanelRow.id)):
        votes = [PanelVote(member=v.member, vote=v.vote, reason=v.reason, created_at=v.created_at)
                 for v in session.scalars(select(PanelVoteRow).where(PanelVoteRow.panel_id == p.id)
                                          .order_by(PanelVoteRow.id))]
        close = session.get(PanelCloseRow, p.id)
        out.append(PanelView(id=p.id, report_id=p.report_id, convened_by=p.convened_by, members=list(p.members),
                             votes=votes, created_at=p.created_at, closed=close is not None,
                             outcome=close.outcome if close else None, minutes=close.minutes if close else None,
                             tally=dict(close.tally) if close else {}))
    return out


def correction_notes(session: Session, report_id: int) -> list[CorrectionNote]:
    """The corrections whose taking effect produced this report version."""
    out = []
    for run, c in session.execute(select(CorrectionRunRow, CorrectionRow)
                                  .join(CorrectionRow, CorrectionRow.id == CorrectionRunRow.correction_id)
                                  .where(CorrectionRunRow.report_id == report_id)):
        review = session.scalar(select(SecondReviewRow).where(SecondReviewRow.step_kind == "correction",
                                                              SecondReviewRow.step_id == c.id))
        out.append(CorrectionNote(key=f"K{c.id}", kind=c.kind, field_type=c.field_type, document=c.document,
                                  page=c.page, old_value=c.old_value, new_value=c.new_value, reason=c.reason,
                                  actor=c.actor, confirmed_by=review.actor if review is not None else None))
    return out


def open_case(store: Store, user: User, report_id: int, log_view: bool = True) -> CaseView:
    """The report with each finding's decisions and the comparison with the previous report.

    Roles without `view_personal_data` get resident ID numbers masked in
    every text and boxes to black out on the page images; a role that sees
    them in full leaves a `view_personal_data` entry in the audit trail
    (`log_view=False` when the same session merely re-renders the case).
    """
    user = require(store, user, P.view_cases)
    with store.session() as session:
        row = session.get(ReportRow, report_id)
        if row is None:
            raise KeyError(report_id)
        check_access(session, user, row)
        app = session.get(ApplicationRow, row.application_id)
        raw_json = row.report_json
        previous = session.scalars(
            select(ReportRow).where(ReportRow.application_id == row.application_id, ReportRow.version < row.version)
            .order_by(ReportRow.version.desc()).limit(1)
        ).first()
        prev_json = previous.report_json if previous else None
        decisions = load_records(session, list(session.scalars(
            select(FindingDecisionRow).where(FindingDecisionRow.report_id == report_id)
            .order_by(FindingDecisionRow.version))))
        prev_decisions = load_records(session, list(session.scalars(
            select(FindingDecisionRow).where(FindingDecisionRow.report_id == previous.id)))) if previous else []
        prev_identity = {r.id: r.identity for r in session.scalars(
            select(FindingDecisionRow).where(FindingDecisionRow.report_id == previous.id))} if previous else {}
        case_recs = load_records(session, list(session.scalars(
            select(CaseDecisionRow).where(CaseDecisionRow.report_id == report_id).order_by(CaseDecisionRow.version))))
        full = user.can(P.view_personal_data)
        if full and has_resident_id(raw_json) and log_view:
            record(session, user.username, "view_personal_data", f"report:{report_id}",
                   {"report": f"app-{app.id}-v{row.version}"}, "打开案卷")
        report = Report.model_validate_json(raw_json if full else mask_ids(raw_json))
        raw_report = Report.model_validate_json(raw_json)
        assigned = current_assignments(session).get(app.id)
        app_clock = clock(session, app.id)
        panel_views = panels(session, app.id)
        notes = correction_notes(session, report_id)

    def shown(r: DecisionRecord) -> DecisionRecord:
        # An officer's reason may quote an ID number; a masked role reads it masked.
        if full:
            return r
        review = r.second_review.model_copy(update={"reason": mask_ids(r.second_review.reason)}) \
            if r.second_review else None
        return r.model_copy(update={"reason": mask_ids(r.reason), "second_review": review})

    decisions = [shown(d) for d in decisions]
    case_recs = [shown(c) for c in case_recs]

    by_finding: dict[str, list[DecisionRecord]] = {}
    for d in decisions:
        by_finding.setdefault(d.finding_id, []).append(d)
    prev_by_identity: dict[str, DecisionRecord] = {}
    for d in prev_decisions:
        if d.state == "effective":
            prev_by_identity[prev_identity[d.id]] = shown(d)
    steps = _pending_steps(decisions) + _pending_steps(case_recs)
    summary = CaseSummary(
        report_id=row.id, report_key=f"app-{app.id}-v{row.version}", application_id=app.id, name=app.name,
        company_name=app.company_name, version=row.version, n_high=row.n_high, n_fail=row.n_fail,
        n_uncertain=row.n_uncertain, n_findings=len(report.findings), received_at=app.created_at,
        reviewed_at=row.created_at, decision=current(case_recs), pending_decision=pending(case_recs),
        n_decided=sum(1 for recs in by_finding.values() if current(recs)), assigned_to=assigned, clock=app_clock,
        high_risk=high_risk_reasons(raw_report, policy().high_risk), n_pending_second=len(steps),
        awaiting_me=sum(s.actor != user.username for s in steps))
    comparison = None
    prev_identities: set[str] = set()
    if prev_json is not None:
        prev_report = Report.model_validate_json(prev_json if full else mask_ids(prev_json))
        comparison = compare(prev_report, report, previous.id, previous.version)
        comparison.corrections = [n if full else n.model_copy(update={
            k: mask_ids(getattr(n, k)) if getattr(n, k) else getattr(n, k) for k in ("old_value", "new_value", "reason")})
            for n in notes]
        prev_identities = {finding_identity(f) for f in prev_report.findings}
    states = []
    # Fails before uncertain ones, high severity first, those with evidence on a page first.
    severity_rank = {"high": 0, "medium": 1, "low": 2}
    ordered = sorted(report.findings, key=lambda f: (f.verdict != "fail", severity_rank[f.severity],
                                                     not any(e.page for e in f.evidence)))
    for f in ordered:
        ident = finding_identity(f)
        history = by_finding.get(f.id, [])
        states.append(FindingState(
            finding=f, identity=ident, decision=current(history), pending=pending(history), history=history,
            previous_decision=prev_by_identity.get(ident),
            change="first" if prev_json is None else ("remaining" if ident in prev_identities else "new"),
        ))
    redactions: dict[str, list[list[float]]] = {}
    if not full:
        for doc in raw_report.documents:
            for fld in doc.fields:
                if fld.bbox and fld.page and (fld.type == "resident_id" or has_resident_id(str(fld.value))):
                    redactions.setdefault(f"{doc.id}|{fld.page}", []).append(list(fld.bbox))
    return CaseView(summary=summary, report=report, masked=not full, findings=states,
                    case_history=list(reversed(case_recs)), comparison=comparison,
                    panels=panel_views, redactions=redactions)


def closed_application_ids(store: Store) -> set[int]:
    """Applications whose case is decided (an effective 准予 or 不予 on any version): not open.

    For the re-review of open cases (`shencha batch rereview --open-only`);
    a case waiting for 补正 stays open.
    """
    with store.session() as session:
        records = load_records(session, list(session.scalars(
            select(CaseDecisionRow).order_by(CaseDecisionRow.report_id, CaseDecisionRow.version))))
    by_report: dict[int, list[DecisionRecord]] = {}
    for rec in records:
        by_report.setdefault(rec.report_id, []).append(rec)
    closed = set()
    for recs in by_report.values():
        decided = current(recs)
        if decided is not None and decided.decision in ("approve", "reject"):
            closed.add(decided.application_id)
    return closed
