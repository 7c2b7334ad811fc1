"""监督与审计: every decision, the audit trail and its verification, role grants to approve."""

from __future__ import annotations

import streamlit as st

from shencha.service.accounts import decide_request, pending_requests
from shencha.service.audit import append, entries, verify
from shencha.service.decisions import all_decisions
from shencha.service.permissions import ROLE_LABEL, P, PermissionDenied
from ui import common


def render() -> None:
    user = common.require_login()
    st.title("监督与审计")
    store = common.store()
    try:
        result = verify(store, user)
    except PermissionDenied as exc:
        common.denied(exc)
        return
    if result.ok:
        st.success(common.md(result.summary()))
    else:
        st.error(common.md(result.summary()))
        for text in result.problems:
            st.write(f"· {common.md(text)}")
    if result.checkpoint is not None:
        cp = result.checkpoint
        st.caption(common.md(f"最新外部校验点：{cp.at[:19].replace('T', ' ')}，第 {cp.seq} 条，"
                             f"哈希 {cp.hash[:16]}…（HMAC 签名有效）"))
    elif not result.anchored:
        st.caption("未配置审计校验点密钥（SHENCHA\\_AUDIT\\_KEY）：无法发现整表重建或删除最新记录，见部署文档。")
    if st.button("重新校验并留痕", key="verify_again"):
        append(store, user.username, "audit_verify", "audit", {"ok": result.ok, "entries": result.entries})
        st.rerun()
    if user.can(P.approve_accounts):
        _approvals(store, user)
    if user.can(P.view_decisions):
        st.subheader("全部决定")
        decisions = all_decisions(store, user)
        st.dataframe([{"时间": f"{d.created_at:%Y-%m-%d %H:%M:%S}", "人员": d.actor,
                       "对象": f"案卷 #{d.report_id}" + (f" / {d.finding_id}" if d.finding_id else "（整案）"),
                       "第几次": d.version, "决定": d.label, "理由": common.plain(d.reason)} for d in decisions],
                     hide_index=True, width="stretch")
    st.subheader("审计记录（最新 300 条）")
    st.dataframe([{"序号": e.seq, "时间": e.at[:19].replace("T", " "), "人员": e.actor, "操作": e.label,
                   "对象": common.plain(e.target), "理由": common.plain(e.reason), "哈希": e.hash[:12]}
                  for e in entries(store, user, limit=300)],
                 hide_index=True, width="stretch")


def _approvals(store, user) -> None:
    requests = pending_requests(store, user)
    st.subheader(f"待批准的角色授予（{len(requests)}）")
    if not requests:
        st.caption("没有待批准的申请。授予审批人员、监督人员等可作出决定或查看完整身份证号的角色，须经监督人员批准。")
        return
    for r in requests:
        with st.container(border=True):
            st.markdown(common.md(f"{r.username}（{r.display_name}）：{ROLE_LABEL[r.role]}，"
                                  f"由 {r.requested_by} 于 {r.requested_at:%Y-%m-%d %H:%M} 申请"))
            reason = st.text_input("意见", key=f"approve_reason_{r.id}")
            cols = st.columns(2)
            if cols[0].button("批准", key=f"approve_{r.id}", type="primary"):
                _decide(store, user, r.id, True, reason)
            if cols[1].button("驳回", key=f"reject_{r.id}"):
                _decide(store, user, r.id, False, reason)


def _decide(store, user, request_id: int, approve: bool, reason: str) -> None:
    try:
        decide_request(store, user, request_id, approve, reason)
    except PermissionDenied:
        st.error("不能批准本人提出或涉及本人的角色授予申请。")
        return
    except KeyError:
        st.error("该申请已处理。")
        return
    st.rerun()
