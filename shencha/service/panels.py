"""Collective decisions (集体审议) on high-risk cases.

A supervisor convenes a panel of at least `panel.min_members` officers,
none recused from the case and none the supervisor; each member votes
once with a reason; the supervisor closes it with the minutes when every
member has voted. The outcome is the strict majority, recorded as the
case decision in the panel's name with every vote; no majority means the
panel cannot close (the supervisor convenes a new, larger one).
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..schema import CaseDecisionRow, PanelCloseRow, PanelRow, PanelVoteRow, ReportRow, UserRow
from ..store import Store
from .audit import record, sha256_text
from .cases import PanelView, check_access, latest_report, panels
from .decisions import decide_case
from .permissions import NotAllowed, P, Role, User, mask_ids, require
from .policy import policy
from .records import CASE_DECISION_LABEL
from .recusal import recusal_reason

Vote = Literal["approve", "reject", "correction"]


def convene_panel(store: Store, user: User, application_id: int, members: list[str], reason: str = "") -> PanelView:
    user = require(store, user, P.convene_panel)
    members = sorted(set(members))
    need = policy().panel.min_members
    if len(members) < need:
        raise ValueError(f"集体审议至少需要 {need} 名审批人员，现为 {len(members)} 名。")
    with store.session() as session:
        row = latest_report(session, application_id)
        if row is None:
            raise KeyError(application_id)
        check_access(session, user, row)
        if any(not p.closed for p in panels(session, application_id)):
            raise NotAllowed(user, "该案卷已有未结束的集体审议。", P.convene_panel)
        for m in members:
            account = session.scalar(select(UserRow).where(UserRow.username == m))
            if account is None or not account.active or account.role != Role.officer.value:
                raise NotAllowed(user, f"{m} 不是在岗审批人员，不能参加集体审议。", P.convene_panel)
            why = recusal_reason(session, m, application_id)
            if why is not None:
                raise NotAllowed(user, f"{m} 须回避此案（{why}），不能参加集体审议。", P.convene_panel)
        entry = record(session, user.username, "panel_convene", f"application:{application_id}",
                       {"members": members, "report_id": row.id}, mask_ids(reason or ""))
        session.add(PanelRow(application_id=application_id, report_id=row.id, convened_by=user.username,
                             members=members, audit_seq=entry.seq))
        session.flush()
        return panels(session, application_id)[-1]


def vote(store: Store, user: User, panel_id: int, choice: Vote, reason: str) -> PanelView:
    """A member's vote (once; a member cannot change it after casting)."""
    user = require(store, user, P.decide)
    if choice not in CASE_DECISION_LABEL:
        raise ValueError(f"未知的表决意见：{choice}")
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("请填写表决理由。")
    with store.session() as session:
        panel = session.get(PanelRow, panel_id)
        if panel is None:
            raise KeyError(panel_id)
        check_access(session, user, session.get(ReportRow, panel.report_id))
        if user.username not in panel.members:
            raise NotAllowed(user, "您不是本次集体审议的成员。")
        if session.get(PanelCloseRow, panel_id) is not None:
            raise NotAllowed(user, "集体审议已结束。")
        if session.scalar(select(PanelVoteRow.id).where(PanelVoteRow.panel_id == panel_id,
                                                        PanelVoteRow.member == user.username)) is not None:
            raise NotAllowed(user, "您已表决，不能重复表决。")
        entry = record(session, user.username, "panel_vote", f"panel:{panel_id}",
                       {"vote": choice, "reason_sha256": sha256_text(reason)}, mask_ids(reason))
        session.add(PanelVoteRow(panel_id=panel_id, member=user.username, vote=choice, reason=reason,
                                 audit_seq=entry.seq))
        try:
            session.flush()
        except IntegrityError:
            raise NotAllowed(user, "您已表决，不能重复表决。") from None
        return next(p for p in panels(session, panel.application_id) if p.id == panel_id)


def close_panel(store: Store, user: User, panel_id: int, minutes: str) -> PanelView:
    """Close with the minutes: the majority becomes the case decision, with every vote kept."""
    user = require(store, user, P.convene_panel)
    minutes = (minutes or "").strip()
    if not minutes:
        raise ValueError("请填写会议纪要。")
    with store.session() as session:
        panel = session.get(PanelRow, panel_id)
        if panel is None:
            raise KeyError(panel_id)
        if session.get(PanelCloseRow, panel_id) is not None:
            raise NotAllowed(user, "集体审议已结束。", P.convene_panel)
        votes = list(session.scalars(select(PanelVoteRow).where(PanelVoteRow.panel_id == panel_id)))
        missing = sorted(set(panel.members) - {v.member for v in votes})
        if missing:
            raise NotAllowed(user, "尚有成员未表决：" + "、".join(missing), P.convene_panel)
        tally = Counter(v.vote for v in votes)
        outcome, n = tally.most_common(1)[0]
        if n * 2 <= len(votes):
            raise NotAllowed(user, "表决未形成多数意见（" + "，".join(
                f"{CASE_DECISION_LABEL[k]} {c} 票" for k, c in tally.items()) + "），请重新组织审议。", P.convene_panel)
        report_id, application_id = panel.report_id, panel.application_id
        newest = session.scalars(select(CaseDecisionRow).where(CaseDecisionRow.report_id == report_id)
                                 .order_by(CaseDecisionRow.version.desc()).limit(1)).first()
    lines = [f"{v.member}：{CASE_DECISION_LABEL[v.vote]}（{v.reason}）" for v in votes]
    reason = f"集体审议（第 {panel_id} 号）多数意见：{CASE_DECISION_LABEL[outcome]}，{n}/{len(votes)} 票。" + "；".join(lines)

    def close_row(session: Session) -> None:
        # In the decision's transaction: the panel closes exactly when its decision is recorded.
        entry = record(session, user.username, "panel_close", f"panel:{panel_id}",
                       {"outcome": outcome, "tally": dict(tally), "minutes_sha256": sha256_text(minutes)},
                       mask_ids(minutes))
        session.add(PanelCloseRow(panel_id=panel_id, closed_by=user.username, minutes=minutes, outcome=outcome,
                                  tally=dict(tally), audit_seq=entry.seq))

    decide_case(store, user, report_id, outcome, reason, newest.version if newest else 0, _panel_id=panel_id,
                _also=close_row)
    with store.session() as session:
        return next(p for p in panels(session, application_id) if p.id == panel_id)
