"""What the REST API reads and does on a case, for a person or a client system.

The API has no logic of its own; these functions are the service-layer
side of its routes. A person gets exactly what the role and the case
allow (`cases.check_access`: recusal first, window staff only the cases
they submitted; ID numbers masked for a role without
`view_personal_data`); a client system needs the `read_reports` scope.
Decisions, second reviews and recusals are a person's only
(`clients.PersonOnly` for a client) and go through `decisions` and
`recusal` unchanged.

Application ids: the API accepts the store's "app-<n>" and the
application number the submission got (e.g. "N20261120-…" or the
platform's own number). Finding ids are content hashes and may repeat
across applications: a decision names its report, or the finding must
be in exactly one application the person may see.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry_sync.normalize import has_resident_id

from ..review import application_key
from ..schema import (
    ApplicationRow,
    CaseDecisionRow,
    FindingDecisionRow,
    FindingRow,
    JobRow,
    ReportRow,
)
from ..store import Store, _parse_report_id
from .audit import record
from .cases import check_access
from .clients import Actor, Client, PersonOnly, require_scope
from .clocks import ClockState
from .dates import clock, events
from .decisions import _current, decide_case, decide_finding
from .permissions import P, PermissionDenied, User, mask_ids, require
from .records import DecisionRecord, current, load_records, pending
from .recusal import recuse

ApiFindingDecision = Literal["confirm", "dismiss", "request_correction"]
ApiCaseDecision = Literal["approve", "reject", "request_correction"]
_CASE_DECISION = {"approve": "approve", "reject": "reject", "request_correction": "correction"}
_DECISION = {"confirm": "confirm", "dismiss": "dismiss", "request_correction": "correction"}
_CASE_STATE = {"approve": "approved", "reject": "rejected", "correction": "correction_requested"}


class ReportRef(BaseModel):
    report_id: str
    version: int
    created_at: str
    n_fail: int
    n_uncertain: int
    n_high: int


class ApplicationView(BaseModel):
    application_id: str
    application_no: str
    state: str
    latest_report_id: str | None = None
    company_name: str | None = None
    uscc: str | None = None
    industry: str | None = None
    reports: list[ReportRef] = []
    case_decision: DecisionRecord | None = None
    pending_case_decision: DecisionRecord | None = None
    clock: ClockState | None = None
    dates: list[dict] = []
    jobs: list[dict] = []


def _application_pk(session: Session, application_id: str) -> int | None:
    text = (application_id or "").strip()
    if text.startswith("app-") and text[4:].isdigit():
        return int(text[4:]) if session.get(ApplicationRow, int(text[4:])) is not None else None
    return session.scalar(select(ApplicationRow.id).where(ApplicationRow.key == application_key(text)))


def _reader(store: Store, actor: Actor) -> Actor:
    if isinstance(actor, Client):
        return require_scope(store, actor, "read_reports")
    return require(store, actor, P.view_cases)


def application(store: Store, actor: Actor, application_id: str, today: date | None = None) -> ApplicationView:
    """State, clocks, decisions and reports of one application."""
    actor = _reader(store, actor)
    with store.session() as session:
        pk = _application_pk(session, application_id)
        owner = actor.actor if isinstance(actor, Client) else f"user:{actor.username}"
        if pk is None:
            return _submitted_only(session, actor, owner, application_id)
        app = session.get(ApplicationRow, pk)
        rows = list(session.scalars(select(ReportRow).where(ReportRow.application_id == pk)
                                    .order_by(ReportRow.version)))
        if not rows:
            raise KeyError(application_id)
        if isinstance(actor, User):
            check_access(session, actor, rows[-1])
        latest = rows[-1]
        case_recs = load_records(session, list(session.scalars(
            select(CaseDecisionRow).where(CaseDecisionRow.report_id == latest.id).order_by(CaseDecisionRow.version))))
        decided, waiting = current(case_recs), pending(case_recs)
        state = (_CASE_STATE.get(decided.decision, decided.decision) if decided
                 else "pending_second_review" if waiting else "under_review")
        jobs = [{"job_id": j.id, "status": j.status, "report_id": j.report_key}
                for j in session.scalars(select(JobRow).where(JobRow.application_no == app.name)
                                         .order_by(JobRow.created_at))
                if not isinstance(actor, Client) or j.owner == owner]
        if any(j["status"] in ("queued", "running") for j in jobs) and state == "under_review":
            state = "reviewing"
        view = ApplicationView(
            application_id=f"app-{pk}", application_no=app.name, state=state,
            latest_report_id=f"app-{pk}-v{latest.version}", company_name=app.company_name, uscc=app.uscc,
            industry=app.industry,
            reports=[ReportRef(report_id=f"app-{pk}-v{r.version}", version=r.version,
                               created_at=r.created_at.isoformat(), n_fail=r.n_fail, n_uncertain=r.n_uncertain,
                               n_high=r.n_high) for r in rows],
            case_decision=decided, pending_case_decision=waiting, clock=clock(session, pk, today),
            dates=[{"kind": e.kind, "on": e.on.isoformat(), "note": e.note} for e in events(session, pk)],
            jobs=jobs)
    if isinstance(actor, User) and not actor.can(P.view_personal_data):
        view = ApplicationView.model_validate_json(mask_ids(view.model_dump_json()))
    return view


def _submitted_only(session: Session, actor: Actor, owner: str, application_id: str) -> ApplicationView:
    """An application whose first review has not finished: only its submitter sees the job."""
    jobs = list(session.scalars(select(JobRow).where(JobRow.application_no == application_id.strip())
                                .order_by(JobRow.created_at)))
    see_all = isinstance(actor, User) and actor.can(P.view_all_cases)
    jobs = [j for j in jobs if j.owner == owner or see_all]
    if not jobs:
        raise KeyError(application_id)
    state = "failed" if all(j.status == "failed" for j in jobs) else "submitted"
    return ApplicationView(application_id=application_id, application_no=application_id, state=state,
                           jobs=[{"job_id": j.id, "status": j.status, "report_id": j.report_key} for j in jobs])


def report_json(store: Store, actor: Actor, report_id: str) -> str:
    """The stored report (the contract's JSON) as text; ID numbers masked for a role that may not see them."""
    actor = _reader(store, actor)
    try:
        app_pk, version = _parse_report_id(report_id)
    except ValueError:
        raise KeyError(report_id) from None
    with store.session() as session:
        row = session.scalar(select(ReportRow).where(ReportRow.application_id == app_pk, ReportRow.version == version))
        if row is None:
            raise KeyError(report_id)
        text = row.report_json
        if isinstance(actor, Client):
            return text
        check_access(session, actor, row)
        if not actor.can(P.view_personal_data):
            return mask_ids(text)
        if has_resident_id(text):
            record(session, actor.username, "view_personal_data", f"report:{row.id}", {"report": report_id},
                   "API 读取审查报告")
        return text


def _person(store: Store, actor: Actor, what: str) -> User:
    if isinstance(actor, Client):
        raise PersonOnly(what)
    return require(store, actor, P.decide)


def _report_for_finding(store: Store, user: User, finding_id: str, report_id: str | None) -> int:
    """ReportRow.id the decision applies to (see the module docstring)."""
    with store.session() as session:
        if report_id:
            try:
                app_pk, version = _parse_report_id(report_id)
            except ValueError:
                raise KeyError(report_id) from None
            row = session.scalar(select(ReportRow).where(ReportRow.application_id == app_pk,
                                                         ReportRow.version == version))
            if row is None:
                raise KeyError(report_id)
            check_access(session, user, row)
            if session.scalar(select(FindingRow.id).where(FindingRow.report_id == row.id,
                                                          FindingRow.finding_id == finding_id)) is None:
                raise KeyError(finding_id)
            return row.id
        found = session.execute(
            select(ReportRow).join(FindingRow, FindingRow.report_id == ReportRow.id)
            .where(FindingRow.finding_id == finding_id).order_by(ReportRow.version.desc())).scalars().all()
        newest: dict[int, ReportRow] = {}
        for row in found:
            newest.setdefault(row.application_id, row)
        if not newest:
            raise KeyError(finding_id)
        visible, refused = [], None
        for row in newest.values():
            try:
                check_access(session, user, row)
                visible.append(row)
            except PermissionDenied as exc:
                refused = refused or exc
        if not visible:
            raise refused
        if len(visible) > 1:
            apps = "、".join(f"app-{r.application_id}" for r in visible)
            raise ValueError(f"问题编号 {finding_id} 出现在多个申请中（{apps}），请在请求中注明 report_id。")
        return visible[0].id


def decide(store: Store, actor: Actor, finding_id: str, decision: ApiFindingDecision, reason: str,
           report_id: str | None = None, expected_version: int | None = None) -> DecisionRecord:
    """A decision on a finding; `state` says whether it waits for a second officer."""
    user = _person(store, actor, "问题处理决定")
    if decision not in _DECISION:
        raise ValueError(f"未知的决定：{decision}")
    pk = _report_for_finding(store, user, finding_id, report_id)
    if expected_version is None:
        with store.session() as session:
            now = _current(session, FindingDecisionRow, pk, finding_id)
            expected_version = now.version if now is not None else 0
    return decide_finding(store, user, pk, finding_id, _DECISION[decision], reason, expected_version)


def decide_application(store: Store, actor: Actor, application_id: str, decision: ApiCaseDecision, reason: str,
                       report_id: str | None = None, expected_version: int | None = None) -> DecisionRecord:
    """The case decision (准予 / 不予 / 补正) on the application's latest report, or on `report_id`.

    `decisions.decide_case` applies the workflow unchanged: a grant with a
    failure waits for a second officer, a high-risk case is the panel's.
    """
    user = _person(store, actor, "审批决定")
    if decision not in _CASE_DECISION:
        raise ValueError(f"未知的决定：{decision}")
    with store.session() as session:
        app_pk = _application_pk(session, application_id)
        if app_pk is None:
            raise KeyError(application_id)
        query = select(ReportRow).where(ReportRow.application_id == app_pk)
        if report_id:
            try:
                named_app, version = _parse_report_id(report_id)
            except ValueError:
                raise KeyError(report_id) from None
            if named_app != app_pk:
                raise ValueError(f"报告 {report_id} 不属于申请 {application_id}。")
            query = query.where(ReportRow.version == version)
        row = session.scalars(query.order_by(ReportRow.version.desc()).limit(1)).first()
        if row is None:
            raise KeyError(report_id or application_id)
        check_access(session, user, row)
        if expected_version is None:
            now = _current(session, CaseDecisionRow, row.id, None)
            expected_version = now.version if now is not None else 0
        pk = row.id
    return decide_case(store, user, pk, _CASE_DECISION[decision], reason, expected_version)


def recuse_from(store: Store, actor: Actor, application_id: str, reason: str) -> None:
    user = _person(store, actor, "申请回避")
    with store.session() as session:
        pk = _application_pk(session, application_id)
    if pk is None:
        raise KeyError(application_id)
    recuse(store, user, pk, reason)
