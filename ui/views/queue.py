"""待办案卷: the officer's queue, riskiest and oldest first."""

from __future__ import annotations

import streamlit as st

from shencha.service.cases import queue
from shencha.service.permissions import PermissionDenied
from ui import common


def open_case(report_id: int) -> None:
    st.session_state["case_report_id"] = report_id
    st.session_state.pop("finding_idx", None)


def render() -> None:
    user = common.require_login()
    st.title("待办案卷")
    try:
        cases = queue(common.store(), user)
    except PermissionDenied as exc:
        common.denied(exc)
        return
    if not cases:
        st.info("暂无案卷。")
        return
    st.caption("排序：未办结在前；高风险（严重程度“高”的不符合项）多者在前；同等风险时收件早者在前。")
    header = st.columns([4, 1, 1, 1, 1, 2, 2, 1])
    for col, text in zip(header, ["申请单位", "版本", "高风险", "不符合", "待判断", "收件时间", "状态", ""]):
        col.markdown(f"**{text}**")
    for n, c in enumerate(cases):
        cols = st.columns([4, 1, 1, 1, 1, 2, 2, 1])
        cols[0].markdown(common.md(c.company_name or c.name))
        cols[1].write(f"第 {c.version} 版")
        cols[2].write(f"**:red[{c.n_high}]**" if c.n_high else "0")
        cols[3].write(str(c.n_fail))
        cols[4].write(str(c.n_uncertain))
        cols[5].write(f"{c.received_at:%Y-%m-%d %H:%M}")
        if c.decision:
            cols[6].write(f"已决定：{c.decision.label}")
        else:
            cols[6].write(f"已处理 {c.n_decided}/{c.n_findings} 项")
        if cols[7].button("办理", key=f"open_{c.report_id}", type="primary" if n == 0 else "secondary"):
            open_case(c.report_id)
            common.go("case", {"case": c.report_key})
