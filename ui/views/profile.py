"""我的回避: an officer's own declared conflicts of interest (利害关系), and declaring a new one."""

from __future__ import annotations

import streamlit as st

from shencha.service.permissions import P, PermissionDenied
from shencha.service.recusal import conflicts, declare_conflict
from ui import common

KIND = {"company": "企业", "person": "人员"}
VALUE_LABEL = {"company": "企业的统一社会信用代码或完整名称", "person": "人员的身份证号"}


def _declare() -> None:
    user = common.current_user()
    kind = st.session_state.get("my_conflict_kind", "company")
    try:
        declare_conflict(common.store(), user, kind, st.session_state.get("my_conflict_value", ""),
                         st.session_state.get("my_conflict_reason", ""))
    except (PermissionDenied, ValueError) as exc:
        st.session_state["profile_flash"] = ("error", str(exc))
        return
    st.session_state["profile_flash"] = ("success", "已登记。与此有关的案卷不再列入您的待办案卷，您也不能打开或办理。")
    st.session_state["my_conflict_value"] = ""
    st.session_state["my_conflict_reason"] = ""


def render() -> None:
    user = common.require_login()
    st.title("我的回避")
    store = common.store()
    try:
        mine = conflicts(store, user)
    except PermissionDenied as exc:
        common.denied(exc)
        return
    flash = st.session_state.pop("profile_flash", None)
    if flash:
        kind, text = flash
        (st.success if kind == "success" else st.error)(common.md(text))
    st.caption("与申请企业或其人员存在利害关系（亲属、任职、持股、近期业务往来等）时，应当在此登记；"
               "登记后涉及该企业或人员的案卷自动对您关闭。撤销登记须由监督人员办理。")
    if mine:
        st.dataframe([{"类型": KIND[c.kind], "企业或人员": common.plain(c.value), "理由": common.plain(c.reason),
                       "登记人": c.entered_by, "时间": f"{c.created_at:%Y-%m-%d %H:%M}"} for c in mine],
                     hide_index=True, width="stretch")
    else:
        st.info("您尚未登记回避事项。")
    if not user.can(P.decide):
        return
    st.subheader("登记回避事项")
    kind = st.radio("类型", list(KIND), format_func=lambda k: KIND[k], horizontal=True, key="my_conflict_kind")
    st.text_input(VALUE_LABEL[kind], key="my_conflict_value")
    st.text_input("理由（必填）", key="my_conflict_reason")
    st.button("登记", key="my_conflict_btn", type="primary", on_click=_declare)
