"""待办案卷: the officer's queue, most urgent statutory clock first, narrowed to a view."""

from __future__ import annotations

import streamlit as st

from shencha.service.cases import QUEUE_VIEW_LABEL, CaseSummary, queue
from shencha.service.permissions import P, PermissionDenied, User
from ui import common

COLUMNS = [4, 1, 3, 1.5, 1, 1.5, 2, 1.4]
HEADER = ["申请单位", "版本", "法定时限", "承办人", "待复核", "不符合", "状态", ""]


def open_case(report_id: int) -> None:
    st.session_state["case_report_id"] = report_id
    st.session_state.pop("finding_idx", None)


def views_for(user: User) -> list[str]:
    """The queue views that mean something for this role (a supervisor is neither assigned nor reviews)."""
    if user.can(P.decide):
        return ["all", "mine", "unassigned", "second_review"]
    return ["all", "unassigned"]


def clock_text(c: CaseSummary) -> str:
    """The statutory clock, red when overdue, orange when due within the warning window."""
    if c.clock is None:
        return "—"
    shown = common.md(c.clock.label_zh)
    if c.clock.overdue:
        return f"**:red[{shown}]**"
    if c.clock.due_soon:
        return f"**:orange[{shown}]**"
    return shown


def render() -> None:
    user = common.require_login()
    st.title("待办案卷")
    options = views_for(user)
    view = st.segmented_control("队列", options, format_func=lambda v: QUEUE_VIEW_LABEL[v], default="all",
                                key="queue_view", label_visibility="collapsed") or "all"
    try:
        cases = queue(common.store(), user, view)
    except PermissionDenied as exc:
        common.denied(exc)
        return
    if not cases:
        st.info("暂无案卷。" if view == "all" else f"“{QUEUE_VIEW_LABEL[view]}”中暂无案卷。")
        return
    st.caption("排序：未办结在前；法定时限剩余少者在前（已超期最前）；同等时限时高风险者、收件早者在前。"
               "红色为已超期，橙色为 5 个工作日内到期。")
    header = st.columns(COLUMNS)
    for col, text in zip(header, HEADER):
        col.markdown(f"**{text}**")
    for n, c in enumerate(cases):
        with st.container(key=f"row_{c.report_id}"):
            _row(n, c)


def _row(n: int, c: CaseSummary) -> None:
    cols = st.columns(COLUMNS)
    cols[0].markdown(common.md(c.company_name or c.name))
    if c.high_risk:
        cols[0].badge("高风险", icon=":material/warning:", color="red")
        cols[0].caption(common.md("；".join(c.high_risk)))
    cols[1].write(f"第 {c.version} 版")
    cols[2].markdown(clock_text(c))
    cols[3].write(common.md(c.assigned_to) if c.assigned_to else "未分配")
    if c.n_pending_second:
        cols[4].markdown(f"**:orange[{c.n_pending_second}]**" + (f"（待我 {c.awaiting_me}）" if c.awaiting_me else ""))
    else:
        cols[4].write("0")
    cols[5].write(f"{c.n_fail}（高 {c.n_high}）" if c.n_high else str(c.n_fail))
    if c.decision:
        cols[6].write(f"已决定：{c.decision.label}")
    elif c.pending_decision:
        cols[6].write(f"待复核：{c.pending_decision.label}")
    else:
        cols[6].write(f"已处理 {c.n_decided}/{c.n_findings} 项")
    if cols[7].button("办理", key=f"open_{c.report_id}", type="primary" if n == 0 else "secondary"):
        open_case(c.report_id)
        common.go("case", {"case": c.report_key})
