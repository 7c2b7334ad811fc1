"""Decisions as the pages and the API read them, and the state a key step is in.

A decision row is effective unless a second officer must confirm it
(`second_review` names why); then it is pending until confirmed, or
returned. Only effective decisions count; the newest effective one is
the current decision of its finding or case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..schema import CaseDecisionRow, FindingDecisionRow, SecondReviewRow

FindingDecision = Literal["confirm", "dismiss", "correction"]
CaseDecision = Literal["approve", "reject", "correction"]
FINDING_DECISION_LABEL = {"confirm": "确认问题", "dismiss": "排除", "correction": "要求补正"}
CASE_DECISION_LABEL = {"approve": "准予", "reject": "不予", "correction": "补正"}
StepState = Literal["effective", "pending_second_review", "returned"]
STATE_LABEL = {"effective": "已生效", "pending_second_review": "待复核", "returned": "已退回"}
SECOND_REVIEW_LABEL = {
    "dismiss_fail": "排除不符合项",
    "grant_with_fail": "存在不符合项的准予",
    "high_risk": "高风险案卷",
    "removes_fail": "更正使不符合项消失",
}


class SecondReview(BaseModel):
    action: Literal["confirm", "return"]
    actor: str
    reason: str
    created_at: datetime


class DecisionRecord(BaseModel):
    id: int
    key: str  # "F<id>" for a finding decision, "C<id>" for a case decision: one namespace for the API
    report_id: int
    application_id: int
    finding_id: str | None = None  # None for a case decision
    version: int
    decision: str
    label: str
    reason: str
    actor: str
    created_at: datetime
    state: StepState = "effective"
    second_review_needed: str = ""  # why a second officer must confirm ("" when none must)
    second_review: SecondReview | None = None
    panel_id: int | None = None

    @property
    def state_label(self) -> str:
        return STATE_LABEL[self.state]


def step_kind(row: FindingDecisionRow | CaseDecisionRow) -> str:
    return "finding" if isinstance(row, FindingDecisionRow) else "case"


def to_record(row: FindingDecisionRow | CaseDecisionRow, review: SecondReviewRow | None) -> DecisionRecord:
    finding_id = getattr(row, "finding_id", None)
    labels = FINDING_DECISION_LABEL if finding_id is not None else CASE_DECISION_LABEL
    state: StepState = "effective"
    if row.second_review:
        state = "pending_second_review" if review is None else (
            "effective" if review.action == "confirm" else "returned")
    return DecisionRecord(
        id=row.id, key=("F" if finding_id is not None else "C") + str(row.id), report_id=row.report_id,
        application_id=row.application_id, finding_id=finding_id, version=row.version, decision=row.decision,
        label=labels.get(row.decision, row.decision), reason=row.reason, actor=row.actor,
        created_at=row.created_at, state=state, second_review_needed=row.second_review,
        second_review=SecondReview(action=review.action, actor=review.actor, reason=review.reason,
                                   created_at=review.created_at) if review is not None else None,
        panel_id=getattr(row, "panel_id", None))


def load_records(session: Session, rows: list) -> list[DecisionRecord]:
    """Records for decision rows of one table, with their second reviews, in the rows' order."""
    if not rows:
        return []
    kind = step_kind(rows[0])
    ids = [r.id for r in rows if r.second_review]
    reviews = {r.step_id: r for r in session.scalars(
        select(SecondReviewRow).where(SecondReviewRow.step_kind == kind, SecondReviewRow.step_id.in_(ids)))} if ids else {}
    return [to_record(r, reviews.get(r.id)) for r in rows]


def current(records: list[DecisionRecord]) -> DecisionRecord | None:
    """The newest effective decision among one finding's (or one case's) records."""
    effective = [r for r in records if r.state == "effective"]
    return max(effective, key=lambda r: r.version) if effective else None


def pending(records: list[DecisionRecord]) -> DecisionRecord | None:
    """The newest record when it waits for a second officer (an older pending one is superseded)."""
    newest = max(records, key=lambda r: r.version) if records else None
    return newest if newest is not None and newest.state == "pending_second_review" else None
