"""Recusal (回避): declared conflicts of interest and officers stepping aside.

An officer declares a company (by USCC or name) or a person (by resident
ID number); a supervisor may enter one for them. A case whose applicant,
or any company or person in its latest report, matches an active
declaration of an officer is closed to that officer: not listed,
assigned, opened nor decided (every service function asks `recusal_reason`).
An officer may also step aside from one application with a reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry_sync.normalize import (
    fold_company_name,
    id_no_problem,
    mask_id_no,
    normalize_id_no,
    normalize_uscc,
    uscc_problem,
)

from ..report import Report
from ..schema import ApplicationRow, ConflictRow, RecusalRow, ReportRow, UserRow
from ..store import Store
from .audit import record, sha256_text
from .permissions import NotAllowed, P, Recused, User, mask_ids, require

ConflictKind = Literal["company", "person"]


class Conflict(BaseModel):
    id: int
    officer: str
    kind: ConflictKind
    value: str  # masked for a person (the ID number is never shown back in full)
    reason: str
    entered_by: str
    created_at: datetime


def _normalise(kind: ConflictKind, value: str) -> str:
    value = (value or "").strip()
    if kind == "person":
        id_no = normalize_id_no(value)
        problem = id_no_problem(id_no)
        if problem:
            raise ValueError(f"身份证号码无效：{problem}")
        return id_no
    uscc = normalize_uscc(value)
    if len(uscc) == 18 and uscc_problem(uscc) is None:
        return uscc
    folded = fold_company_name(value)
    if len(folded) < 4:
        raise ValueError("请填写企业的统一社会信用代码或完整名称。")
    return folded


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("请填写理由。")
    return mask_ids(reason)


def declare_conflict(store: Store, user: User, kind: ConflictKind, value: str, reason: str,
                     officer: str | None = None) -> Conflict:
    """Declare a conflict for yourself (officers) or, with `manage_conflicts`, for `officer`."""
    if officer is None or officer == user.username:
        user = require(store, user, P.decide)
        officer = user.username
    else:
        user = require(store, user, P.manage_conflicts)
    if kind not in ("company", "person"):
        raise ValueError(f"未知的回避类型：{kind}")
    normal = _normalise(kind, value)
    reason = _reason(reason)
    with store.session() as session:
        if session.scalar(select(UserRow.id).where(UserRow.username == officer)) is None:
            raise KeyError(officer)
        entry = record(session, user.username, "conflict_declare", f"user:{officer}",
                       {"kind": kind, "value_sha256": sha256_text(normal)}, reason)
        row = ConflictRow(officer=officer, kind=kind, value=normal, reason=reason, entered_by=user.username,
                          audit_seq=entry.seq)
        session.add(row)
        session.flush()
        return _conflict(row)


def withdraw_conflict(store: Store, user: User, conflict_id: int, reason: str) -> None:
    """Withdraw a declaration (a supervisor only: an officer cannot un-recuse themselves)."""
    user = require(store, user, P.manage_conflicts)
    reason = _reason(reason)
    with store.session() as session:
        row = session.get(ConflictRow, conflict_id)
        if row is None or row.withdraws is not None or conflict_id in _withdrawn(session):
            raise KeyError(conflict_id)
        entry = record(session, user.username, "conflict_withdraw", f"user:{row.officer}",
                       {"conflict": conflict_id}, reason)
        session.add(ConflictRow(officer=row.officer, kind=row.kind, value="", reason=reason,
                                entered_by=user.username, withdraws=conflict_id, audit_seq=entry.seq))


def conflicts(store: Store, user: User, officer: str | None = None) -> list[Conflict]:
    """Active declarations of `officer` (yourself by default; others need `manage_conflicts`)."""
    if officer is None or officer == user.username:
        user = require(store, user, P.view_cases)
        officer = user.username
    else:
        user = require(store, user, P.manage_conflicts)
    with store.session() as session:
        return [_conflict(r) for r in _active(session, officer)]


def _conflict(row: ConflictRow) -> Conflict:
    shown = mask_id_no(row.value) if row.kind == "person" else row.value
    return Conflict(id=row.id, officer=row.officer, kind=row.kind, value=shown, reason=row.reason,
                    entered_by=row.entered_by, created_at=row.created_at)


def _withdrawn(session: Session) -> set[int]:
    return set(session.scalars(select(ConflictRow.withdraws).where(ConflictRow.withdraws.is_not(None))))


def _active(session: Session, officer: str) -> list[ConflictRow]:
    gone = _withdrawn(session)
    rows = session.scalars(select(ConflictRow).where(ConflictRow.officer == officer,
                                                     ConflictRow.withdraws.is_(None)).order_by(ConflictRow.id))
    return [r for r in rows if r.id not in gone]


# -- who is party to a case -------------------------------------------------------------

class Parties(BaseModel):
    """What a case names: companies (USCC and folded names) and people (resident ID numbers)."""

    companies: set[str] = set()
    people: set[str] = set()


def parties(session: Session, application_id: int) -> Parties:
    app = session.get(ApplicationRow, application_id)
    out = Parties()
    if app is None:
        return out
    for v in (app.uscc, app.company_name):
        if v:
            out.companies.add(normalize_uscc(v) if v == app.uscc else fold_company_name(v))
    latest = session.scalars(select(ReportRow).where(ReportRow.application_id == application_id)
                             .order_by(ReportRow.version.desc()).limit(1)).first()
    if latest is None:
        return out
    report = Report.model_validate_json(latest.report_json)
    if report.application.company_name:
        out.companies.add(fold_company_name(report.application.company_name))
    if report.application.uscc:
        out.companies.add(normalize_uscc(report.application.uscc))
    for doc in report.documents:
        for f in doc.fields:
            value = str(f.normalized or f.value or "")
            if f.type == "resident_id":
                out.people.add(normalize_id_no(value))
            elif f.type == "uscc":
                out.companies.add(normalize_uscc(value))
            elif f.type == "company_name":
                out.companies.add(fold_company_name(value))
    return out


def recusal_reason(session: Session, officer: str, application_id: int,
                   case_parties: Parties | None = None) -> str | None:
    """Why `officer` must stay out of this application, or None."""
    own = session.scalar(select(RecusalRow.reason).where(RecusalRow.application_id == application_id,
                                                         RecusalRow.officer == officer).limit(1))
    if own is not None:
        return f"本人已申请回避（{own}）"
    declared = _active(session, officer)
    if not declared:
        return None
    case_parties = case_parties or parties(session, application_id)
    for c in declared:
        if c.kind == "company" and c.value in case_parties.companies:
            return "已登记与申请企业存在利害关系"
        if c.kind == "person" and c.value in case_parties.people:
            return "已登记与案卷所列人员存在利害关系"
    return None


def ensure_not_recused(session: Session, user: User, application_id: int) -> None:
    why = recusal_reason(session, user.username, application_id)
    if why is not None:
        raise Recused(user, why)


def recuse(store: Store, user: User, application_id: int, reason: str) -> None:
    """Step aside from an application (回避): from now on it is closed to you."""
    user = require(store, user, P.view_cases)
    if not (user.can(P.decide)):
        raise NotAllowed(user, "只有审批人员可以申请回避。")
    reason = _reason(reason)
    with store.session() as session:
        if session.get(ApplicationRow, application_id) is None:
            raise KeyError(application_id)
        if session.scalar(select(func.count()).select_from(RecusalRow).where(
                RecusalRow.application_id == application_id, RecusalRow.officer == user.username)):
            return
        entry = record(session, user.username, "recuse", f"application:{application_id}", {}, reason)
        session.add(RecusalRow(application_id=application_id, officer=user.username, reason=reason,
                               audit_seq=entry.seq))
