"""监督与审计: every decision, the audit trail, and its verification."""

from __future__ import annotations

import streamlit as st

from shencha.accounts import P, PermissionDenied
from shencha.audit import append, entries, verify
from shencha.decisions import all_decisions
from ui import common


def render() -> None:
    user = common.require_login()
    st.title("监督与审计")
    store = common.store()
    if not user.can(P.view_audit):
        common.denied(PermissionDenied(user, P.view_audit))
        return
    result = verify(store)
    if result.ok:
        st.success(result.summary())
    else:
        st.error(result.summary())
        for text in result.problems:
            st.write(f"· {text}")
    if st.button("重新校验并留痕", key="verify_again"):
        append(store, user.username, "audit_verify", "audit", {"ok": result.ok, "entries": result.entries})
        st.rerun()
    if user.can(P.view_decisions):
        st.subheader("全部决定")
        decisions = all_decisions(store, user)
        st.dataframe([{"时间": f"{d.created_at:%Y-%m-%d %H:%M:%S}", "人员": d.actor,
                       "对象": f"案卷 #{d.report_id}" + (f" / {d.finding_id}" if d.finding_id else "（整案）"),
                       "第几次": d.version, "决定": d.label, "理由": d.reason} for d in decisions],
                     hide_index=True, width="stretch")
    st.subheader("审计记录（最新 300 条）")
    st.dataframe([{"序号": e.seq, "时间": e.at[:19].replace("T", " "), "人员": e.actor, "操作": e.label,
                   "对象": e.target, "理由": e.reason, "哈希": e.hash[:12]} for e in entries(store, limit=300)],
                 hide_index=True, width="stretch")
