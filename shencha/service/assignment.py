"""Who handles a case: a supervisor assigns it, or round-robin among officers free to take it.

Round-robin gives the case to the active officer, not recused from it,
with the fewest open assigned cases (ties: the one assigned longest ago,
then by name), so the load evens out whatever order cases arrive in.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..schema import ApplicationRow, AssignmentRow, CaseDecisionRow, UserRow
from ..store import Store
from .audit import record
from .permissions import NotAllowed, P, Role, User, _user, require
from .recusal import parties, recusal_reason


def current_assignments(session: Session) -> dict[int, str]:
    """application id → officer in charge now."""
    out: dict[int, tuple[int, str]] = {}
    for row in session.scalars(select(AssignmentRow).order_by(AssignmentRow.id)):
        out[row.application_id] = (row.id, row.officer)
    return {app: officer for app, (_, officer) in out.items()}


def _eligible(session: Session, application_id: int) -> list[str]:
    case_parties = parties(session, application_id)
    officers = session.scalars(select(UserRow.username).where(UserRow.role == Role.officer.value,
                                                              UserRow.active.is_(True)).order_by(UserRow.username))
    return [o for o in officers if recusal_reason(session, o, application_id, case_parties) is None]


def _open_load(session: Session) -> dict[str, int]:
    decided = set(session.scalars(select(CaseDecisionRow.application_id).where(
        CaseDecisionRow.decision.in_(("approve", "reject")))))
    load: dict[str, int] = {}
    for app, officer in current_assignments(session).items():
        if app not in decided:
            load[officer] = load.get(officer, 0) + 1
    return load


def officers(store: Store, user: User, application_id: int | None = None) -> list[User]:
    """Active officers a supervisor may pick (to assign, for a panel, for a conflict entry).

    With `application_id`: only those not recused from that application.
    """
    require(store, user, P.assign_cases)
    with store.session() as session:
        rows = list(session.scalars(select(UserRow).where(UserRow.role == Role.officer.value,
                                                          UserRow.active.is_(True)).order_by(UserRow.username)))
        if application_id is not None:
            if session.get(ApplicationRow, application_id) is None:
                raise KeyError(application_id)
            free = set(_eligible(session, application_id))
            rows = [r for r in rows if r.username in free]
        return [_user(r) for r in rows]


def assign(store: Store, user: User, application_id: int, officer: str | None = None, reason: str = "") -> str:
    """Assign the case to `officer`, or round-robin when None; returns who got it."""
    user = require(store, user, P.assign_cases)
    with store.session() as session:
        if session.get(ApplicationRow, application_id) is None:
            raise KeyError(application_id)
        eligible = _eligible(session, application_id)
        if officer is None:
            if not eligible:
                raise NotAllowed(user, "没有可分配的审批人员（均须回避或未启用）。", P.assign_cases)
            load = _open_load(session)
            last = {r.officer: r.id for r in session.scalars(select(AssignmentRow).order_by(AssignmentRow.id))}
            officer = min(eligible, key=lambda o: (load.get(o, 0), last.get(o, 0), o))
            how = "round_robin"
        else:
            if officer not in eligible:
                raise NotAllowed(user, f"不能分配给 {officer}：该账户不是在岗审批人员，或须回避此案。",
                                 P.assign_cases)
            how = "supervisor"
        entry = record(session, user.username, "assign", f"application:{application_id}",
                       {"officer": officer, "how": how}, reason or "")
        session.add(AssignmentRow(application_id=application_id, officer=officer, assigned_by=user.username,
                                  how=how, audit_seq=entry.seq))
    return officer
