"""Decisions on findings and cases, and the second officer's confirmation of key steps (双人复核).

Decisions are append-only: a new decision on the same finding or case gets
the next version number and supersedes the previous one; nothing is
updated or deleted. Each decision names the version it supersedes; if
someone else decided in the meantime the unique (report, finding,
version) key rejects it and the caller gets `DecisionConflict` with the
current decision, so no decision is silently overwritten.

Key steps (the policy's `second_review`) wait for a second officer, who
must be someone else and not recused: until confirmed they have no
effect; a return ends them. A grant or refusal that takes effect records
the decision date, creates the licence (grant) and issues the signed
decision document. A high-risk case is decided only by a panel (`panels`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from checks.model import Finding

from ..report import Report
from ..schema import CaseDecisionRow, FindingDecisionRow, ReportRow, SecondReviewRow
from ..store import Store
from .audit import record, sha256_text
from .cases import check_access, finding_identity
from .dates import add_date, application_dates
from .issuance import issue
from .licences import grant
from .permissions import NotAllowed, P, PermissionDenied, User, mask_ids, require
from .policy import policy
from .records import (
    CASE_DECISION_LABEL,
    FINDING_DECISION_LABEL,
    CaseDecision,
    DecisionRecord,
    FindingDecision,
    load_records,
    to_record,
)
from .risk import high_risk_reasons


class DecisionConflict(Exception):
    """Someone decided the same finding or case since the user loaded it."""

    def __init__(self, current: DecisionRecord | None) -> None:
        who = f"{current.actor} 已于 {current.created_at:%H:%M:%S} 作出“{current.label}”" if current else "他人已修改"
        super().__init__(f"该项已被他人处理：{who}。请查看最新决定后重新决定。")
        self.current = current


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("请填写理由。")
    return reason


def _finding(report: Report, finding_id: str) -> Finding:
    for f in report.findings:
        if f.id == finding_id:
            return f
    raise KeyError(finding_id)


def _record(session: Session, row) -> DecisionRecord:
    return load_records(session, [row])[0]


def decide_finding(store: Store, user: User, report_id: int, finding_id: str, decision: FindingDecision,
                   reason: str, expected_version: int) -> DecisionRecord:
    """Record a decision on one finding.

    `expected_version` is the version of the latest decision the user saw
    (0 for none); if it is no longer the latest, `DecisionConflict`. The
    record's `state` says whether it took effect or waits for a second officer.
    """
    user = require(store, user, P.decide)
    if decision not in FINDING_DECISION_LABEL:
        raise ValueError(f"未知的决定：{decision}")
    reason = _reason(reason)
    rules = policy()

    def build(session: Session, row: ReportRow, version: int) -> FindingDecisionRow:
        report = Report.model_validate_json(row.report_json)
        finding = _finding(report, finding_id)
        second = ""
        if rules.second_review.high_risk_any and high_risk_reasons(report, rules.high_risk):
            second = "high_risk"
        elif rules.second_review.dismiss_fail and decision == "dismiss" and finding.verdict == "fail":
            second = "dismiss_fail"
        entry = record(session, user.username, "decide_finding", f"report:{report_id}/{finding_id}",
                       {"decision": decision, "version": version, "rule_id": finding.rule_id,
                        "reason_sha256": sha256_text(reason), "second_review": second}, mask_ids(reason))
        return FindingDecisionRow(
            report_id=report_id, application_id=row.application_id, finding_id=finding_id,
            identity=finding_identity(finding), rule_id=finding.rule_id, version=version,
            decision=decision, reason=reason, actor=user.username, created_at=datetime.now(UTC),
            audit_seq=entry.seq, second_review=second)

    return _append_decision(store, user, FindingDecisionRow, report_id, finding_id, expected_version, build)


def decide_case(store: Store, user: User, report_id: int, decision: CaseDecision, reason: str,
                expected_version: int, *, _panel_id: int | None = None,
                _also: Callable[[Session], None] | None = None) -> DecisionRecord:
    """Decide the case (准予 / 不予 / 补正); same append-only versioning as findings.

    On a high-risk case a grant or refusal is refused here: it is the
    panel's (`panels.close_panel` calls this with its id).
    """
    # A panel's outcome is recorded by the supervisor who closes it, in the panel's name.
    user = require(store, user, P.decide if _panel_id is None else P.convene_panel)
    if decision not in CASE_DECISION_LABEL:
        raise ValueError(f"未知的决定：{decision}")
    reason = _reason(reason)
    rules = policy()

    def build(session: Session, row: ReportRow, version: int) -> CaseDecisionRow:
        report = Report.model_validate_json(row.report_json)
        risky = high_risk_reasons(report, rules.high_risk)
        second = ""
        if risky and _panel_id is None:
            if decision in ("approve", "reject"):
                raise NotAllowed(user, "该案卷为高风险案卷（" + "；".join(risky) + "），须经集体审议作出准予或不予决定。")
            if rules.second_review.high_risk_any:
                second = "high_risk"
        elif (_panel_id is None and decision == "approve" and rules.second_review.grant_with_fail
              and any(f.verdict == "fail" for f in report.findings)):
            second = "grant_with_fail"
        entry = record(session, user.username if _panel_id is None else f"panel:{_panel_id}", "decide_case",
                       f"report:{report_id}",
                       {"decision": decision, "version": version, "reason_sha256": sha256_text(reason),
                        "second_review": second, "panel": _panel_id}, mask_ids(reason))
        new = CaseDecisionRow(report_id=report_id, application_id=row.application_id, version=version,
                              decision=decision, reason=reason,
                              actor=user.username if _panel_id is None else f"panel:{_panel_id}",
                              created_at=datetime.now(UTC), audit_seq=entry.seq, second_review=second,
                              panel_id=_panel_id)
        if _also is not None:
            _also(session)
        return new

    return _append_decision(store, user, CaseDecisionRow, report_id, None, expected_version, build)


def _take_effect(session: Session, row: CaseDecisionRow, actor: str, reviewer: str | None) -> None:
    """What an effective grant or refusal sets off: the decision date, the licence, the document."""
    if row.decision not in ("approve", "reject"):
        return
    today = date.today()
    if application_dates(session, row.application_id).decided is None:
        add_date(session, actor, row.application_id, "decided", today)
    if row.decision == "approve":
        grant(session, actor, row.application_id, today)
    issue(session, actor, row, today, reviewer)


def _append_decision(store: Store, user: User, table: type, report_id: int, finding_id: str | None,
                     expected_version: int, build: Callable[[Session, ReportRow, int], Any]) -> DecisionRecord:
    """Append the next version of a decision (on a finding, or on the case when
    `finding_id` is None), or raise `DecisionConflict` when it moved on.

    `expected_version` is the version of the latest decision the user saw (0 for
    none). `build` makes the new row and its audit entry in the same transaction.
    """
    for attempt in range(5):
        try:
            with store.session() as session:
                row = session.get(ReportRow, report_id)
                if row is None:
                    raise KeyError(report_id)
                check_access(session, user, row)
                current = _current(session, table, report_id, finding_id)
                if (current.version if current else 0) != expected_version:
                    raise DecisionConflict(_record(session, current) if current else None)
                new = build(session, row, expected_version + 1)
                session.add(new)
                session.flush()
                if table is CaseDecisionRow and not new.second_review:
                    _take_effect(session, new, new.actor, None)
                return _record(session, new)
        except (IntegrityError, OperationalError):
            # Either another decision took this version (a conflict) or the audit number (retry).
            with store.session() as session:
                current = _current(session, table, report_id, finding_id)
                if current is not None and current.version > expected_version:
                    raise DecisionConflict(_record(session, current)) from None
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _current(session: Session, table, report_id: int, finding_id: str | None):
    query = select(table).where(table.report_id == report_id)
    if finding_id is not None:
        query = query.where(table.finding_id == finding_id)
    return session.scalars(query.order_by(table.version.desc()).limit(1)).first()


def _parse_key(key: str) -> tuple[type, str]:
    key = (key or "").strip().upper()
    if len(key) > 1 and key[0] in "FC" and key[1:].isdigit():
        return (FindingDecisionRow, "finding") if key[0] == "F" else (CaseDecisionRow, "case"), int(key[1:])
    raise KeyError(key)


def second_review(store: Store, user: User, decision_key: str, action: Literal["confirm", "return"],
                  reason: str) -> DecisionRecord:
    """A second officer confirms (it takes effect) or returns (it lapses) a step waiting for 双人复核.

    Refused for the officer who made the step, for anyone recused from the
    case, and for a step that is no longer the newest of its finding or case.
    """
    user = require(store, user, P.decide)
    if action not in ("confirm", "return"):
        raise ValueError(f"未知的复核操作：{action}")
    reason = _reason(reason)
    (table, kind), step_id = _parse_key(decision_key)
    for attempt in range(5):
        try:
            with store.session() as session:
                step = session.get(table, step_id)
                if step is None:
                    raise KeyError(decision_key)
                check_access(session, user, session.get(ReportRow, step.report_id))
                rec = _record(session, step)
                if rec.state != "pending_second_review":
                    raise DecisionConflict(rec)
                if step.actor == user.username:
                    raise NotAllowed(user, "复核须由另一名审批人员进行，不能复核本人作出的决定。")
                newest = _current(session, table, step.report_id, getattr(step, "finding_id", None))
                if newest.id != step.id:
                    raise DecisionConflict(_record(session, newest))
                entry = record(session, user.username, "second_review", f"decision:{decision_key.upper()}",
                               {"action": action, "step_actor": step.actor, "reason_sha256": sha256_text(reason)},
                               mask_ids(reason))
                review = SecondReviewRow(step_kind=kind, step_id=step.id, action=action, reason=reason,
                                         actor=user.username, audit_seq=entry.seq)
                session.add(review)
                session.flush()
                if action == "confirm" and table is CaseDecisionRow:
                    _take_effect(session, step, step.actor, user.username)
                return to_record(step, review)
        except (IntegrityError, OperationalError):
            with store.session() as session:
                done = session.scalar(select(SecondReviewRow).where(SecondReviewRow.step_kind == kind,
                                                                    SecondReviewRow.step_id == step_id))
                if done is not None:
                    raise DecisionConflict(to_record(session.get(table, step_id), done)) from None
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def awaiting_second_review(store: Store, user: User) -> list[DecisionRecord]:
    """Steps the acting officer may confirm: pending, newest, made by someone else, not recused."""
    user = require(store, user, P.decide)
    out: list[DecisionRecord] = []
    with store.session() as session:
        for table in (FindingDecisionRow, CaseDecisionRow):
            rows = [r for r in session.scalars(select(table).where(table.second_review != "").order_by(table.id))]
            for rec in load_records(session, rows):
                if rec.state != "pending_second_review" or rec.actor == user.username:
                    continue
                newest = _current(session, table, rec.report_id, rec.finding_id)
                if newest.id != rec.id:
                    continue
                try:
                    check_access(session, user, session.get(ReportRow, rec.report_id))
                except PermissionDenied:
                    continue
                out.append(rec)
    return out


def all_decisions(store: Store, user: User, limit: int = 500) -> list[DecisionRecord]:
    user = require(store, user, P.view_decisions)
    with store.session() as session:
        rows = list(session.scalars(select(FindingDecisionRow).order_by(FindingDecisionRow.id.desc()).limit(limit)))
        out = load_records(session, rows)
        rows = list(session.scalars(select(CaseDecisionRow).order_by(CaseDecisionRow.id.desc()).limit(limit)))
        out += load_records(session, rows)
    out.sort(key=lambda d: d.created_at, reverse=True)
    return out
