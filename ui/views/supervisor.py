"""监督与审计 (every decision, the audit trail and its verification, role grants to approve) and
案件督办 (deadlines, assignment, officers' conflicts, collective decisions, expiring licences)."""

from __future__ import annotations

import streamlit as st

from shencha.service.accounts import decide_request, pending_requests
from shencha.service.assignment import assign, officers
from shencha.service.audit import append, entries, verify
from shencha.service.cases import CaseSummary, PanelView, deadlines, open_case, queue
from shencha.service.corrections import correction_rates
from shencha.service.decisions import all_decisions
from shencha.service.licences import expiring
from shencha.service.panels import close_panel, convene_panel
from shencha.service.permissions import ROLE_LABEL, P, PermissionDenied
from shencha.service.records import CASE_DECISION_LABEL
from shencha.service.recusal import conflicts, declare_conflict, withdraw_conflict
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
    if user.can(P.view_decisions):
        _correction_rates(store, user)
    st.subheader("审计记录（最新 300 条）")
    st.dataframe([{"序号": e.seq, "时间": e.at[:19].replace("T", " "), "人员": e.actor, "操作": e.label,
                   "对象": common.plain(e.target), "理由": common.plain(e.reason), "哈希": e.hash[:12]}
                  for e in entries(store, user, limit=300)],
                 hide_index=True, width="stretch")


def _correction_rates(store, user) -> None:
    """Where the machine is wrong most often: effective corrections per field it read."""
    by_type, by_doc = correction_rates(store, user)
    st.subheader("识别结果更正率")
    if not by_type:
        st.caption("尚无生效的更正记录。")
        return
    st.caption("更正率 = 已生效的更正数 ÷ 被更正案卷首版报告中机器识别出的同类字段数；更正率高处是识别最常出错的地方。")
    cols = st.columns(2)
    for col, title, rows in ((cols[0], "按字段类型", by_type), (cols[1], "按材料类型", by_doc)):
        col.markdown(f"**{title}**")
        col.dataframe([{"类型": r.label, "更正数": r.corrections, "识别字段数": r.fields, "更正率": f"{r.rate:.1%}"}
                       for r in rows], hide_index=True, width="stretch", key=f"corr_rates_{title}")


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


# -- 案件督办: deadlines, assignment, conflicts, collective decisions, expiring licences ------------

ROUND_ROBIN = "（轮流分配）"
CONFLICT_KIND = {"company": "企业（统一社会信用代码或名称）", "person": "人员（身份证号）"}


def oversight() -> None:
    user = common.require_login()
    st.title("案件督办")
    store = common.store()
    try:
        officers(store, user)  # the supervisor's page: assign_cases, as every section below needs
        cases = queue(store, user)
        due = deadlines(store, user)
    except PermissionDenied as exc:
        common.denied(exc)
        return
    flash = st.session_state.pop("oversight_flash", None)
    if flash:
        kind, text = flash
        (st.success if kind == "success" else st.error)(common.md(text))
    _deadlines(due)
    open_cases = [c for c in cases if c.decision is None or c.decision.decision == "correction"]
    _assign(store, user, open_cases)
    _conflicts(store, user)
    _panels(store, user, open_cases)
    _expiring(store, user)


def _say(kind: str, text: str) -> None:
    st.session_state["oversight_flash"] = (kind, text)


def _case_label(c: CaseSummary) -> str:
    who = c.assigned_to or "未分配"
    clock = c.clock.label_zh if c.clock else ""
    return common.plain(f"{c.company_name or c.name} · {c.report_key} · {who} · {clock}")


def _deadlines(due: list[CaseSummary]) -> None:
    overdue = [c for c in due if c.clock.overdue]
    soon = [c for c in due if not c.clock.overdue]
    st.subheader(f"时限预警（已超期 {len(overdue)} 件，即将到期 {len(soon)} 件）")
    if not due:
        st.caption("没有已超期或 5 个工作日内到期的案卷。")
        return
    st.dataframe([{"状态": "已超期" if c.clock.overdue else "即将到期", "申请单位": common.plain(c.company_name or c.name),
                   "案卷": c.report_key, "法定时限": c.clock.label_zh,
                   "期限": str(c.clock.decision_due or c.clock.notice_due), "承办人": c.assigned_to or "未分配",
                   "高风险": "是" if c.high_risk else ""} for c in overdue + soon],
                 hide_index=True, width="stretch")


def _assign(store, user, cases: list[CaseSummary]) -> None:
    st.subheader("分配案卷")
    if not cases:
        st.caption("没有待办的案卷。")
        return
    by_id = {c.application_id: c for c in cases}
    app_id = st.selectbox("案卷", list(by_id), format_func=lambda a: _case_label(by_id[a]), key="assign_case")
    try:
        free = [o.username for o in officers(store, user, app_id)]
    except (PermissionDenied, KeyError):
        free = []
    # One picker per case: choosing another case starts again from round-robin.
    officer = st.selectbox("承办人（已排除须回避者）", [ROUND_ROBIN, *free], key=f"assign_officer_{app_id}")
    reason = st.text_input("说明", key="assign_reason")
    if st.button("分配", key="assign_btn", type="primary"):
        try:
            who = assign(store, user, app_id, None if officer == ROUND_ROBIN else officer, reason)
        except (PermissionDenied, KeyError) as exc:
            st.error(common.md(str(exc)) if isinstance(exc, PermissionDenied) else "找不到该申请。")
            return
        _say("success", f"已分配给 {who}：{by_id[app_id].company_name or by_id[app_id].name}")
        st.rerun()


def _conflicts(store, user) -> None:
    st.subheader("回避登记")
    st.caption("为审批人员登记利害关系：与其有关的案卷不再出现在其待办案卷中，其也不能打开、办理或参加集体审议。")
    names = [o.username for o in officers(store, user)]
    if not names:
        st.caption("没有在岗的审批人员。")
        return
    officer = st.selectbox("审批人员", names, key="conflict_officer")
    kind = st.radio("类型", list(CONFLICT_KIND), format_func=lambda k: CONFLICT_KIND[k], horizontal=True,
                    key="conflict_kind")
    value = st.text_input("统一社会信用代码、企业名称或身份证号", key="conflict_value")
    reason = st.text_input("理由（必填）", key="conflict_reason")
    if st.button("登记回避", key="conflict_btn"):
        try:
            declare_conflict(store, user, kind, value, reason, officer=officer)
        except (PermissionDenied, ValueError) as exc:
            st.error(common.md(str(exc)))
        else:
            _say("success", f"已为 {officer} 登记回避事项。")
            st.session_state.pop("conflict_value", None)
            st.rerun()
    active = conflicts(store, user, officer)
    if active:
        st.dataframe([{"编号": c.id, "类型": "企业" if c.kind == "company" else "人员", "内容": common.plain(c.value),
                       "理由": common.plain(c.reason), "登记人": c.entered_by, "时间": f"{c.created_at:%Y-%m-%d %H:%M}"}
                      for c in active], hide_index=True, width="stretch")
        cols = st.columns([1, 3, 1])
        conflict_id = cols[0].selectbox("撤销编号", [c.id for c in active], key="withdraw_id")
        why = cols[1].text_input("撤销理由", key="withdraw_reason")
        if cols[2].button("撤销", key="withdraw_btn"):
            try:
                withdraw_conflict(store, user, conflict_id, why)
            except (PermissionDenied, ValueError) as exc:
                st.error(common.md(str(exc)))
            except KeyError:
                st.error("该回避事项已撤销。")
            else:
                _say("success", f"已撤销第 {conflict_id} 号回避事项。")
                st.rerun()


def _panels(store, user, cases: list[CaseSummary]) -> None:
    st.subheader("集体审议")
    risky = [c for c in cases if c.high_risk]
    if not risky:
        st.caption("没有待决定的高风险案卷。")
        return
    views = {}
    for c in risky:
        try:
            views[c.application_id] = open_case(store, user, c.report_id, log_view=False)
        except PermissionDenied:
            continue
    running = [(c, p) for c in risky if c.application_id in views
               for p in views[c.application_id].panels if not p.closed]
    waiting = {c.application_id: c for c in risky if c.application_id in views
               and not any(not p.closed for p in views[c.application_id].panels)}
    for c, p in running:
        _running_panel(store, user, c, p)
    if not waiting:
        return
    with st.container(border=True, key="convene"):
        st.markdown("**组织集体审议**（高风险案卷的准予或不予由集体审议作出）")
        app_id = st.selectbox("高风险案卷", list(waiting), format_func=lambda a: _case_label(waiting[a]),
                              key="panel_case")
        st.caption(common.md("高风险原因：" + "；".join(waiting[app_id].high_risk)))
        free = [o.username for o in officers(store, user, app_id)]
        members = st.multiselect("参加审议的审批人员（至少 3 名，已排除须回避者）", free, key="panel_members")
        reason = st.text_input("组织说明", key="panel_reason")
        if st.button("组织集体审议", key="panel_convene", type="primary"):
            try:
                panel = convene_panel(store, user, app_id, members, reason)
            except (PermissionDenied, ValueError) as exc:
                st.error(common.md(str(exc)))
            else:
                _say("success", f"已组织第 {panel.id} 号集体审议：{'、'.join(panel.members)}")
                st.session_state.pop("panel_members", None)
                st.rerun()


def _running_panel(store, user, c: CaseSummary, p: PanelView) -> None:
    voted = {v.member: v for v in p.votes}
    with st.container(border=True, key=f"running_panel_{p.id}"):
        st.markdown(common.md(f"第 {p.id} 号集体审议：{c.company_name or c.name}（{c.report_key}），"
                              f"已表决 {len(voted)}/{len(p.members)}"))
        st.dataframe([{"成员": m, "表决意见": CASE_DECISION_LABEL.get(voted[m].vote, "") if m in voted else "未表决",
                       "理由": common.plain(voted[m].reason) if m in voted else ""} for m in p.members],
                     hide_index=True, width="stretch")
        minutes = st.text_area("会议纪要（必填）", key=f"minutes_{p.id}")
        if st.button("结束审议并记录决定", key=f"panel_close_{p.id}", type="primary"):
            try:
                closed = close_panel(store, user, p.id, minutes)
            except (PermissionDenied, ValueError) as exc:
                st.error(common.md(str(exc)))
            else:
                _say("success", f"第 {p.id} 号集体审议已结束，案卷审查决定：{CASE_DECISION_LABEL.get(closed.outcome, '')}")
                st.rerun()


def _expiring(store, user) -> None:
    soon = expiring(store, user)
    st.subheader(f"3 个月内到期的许可证（{len(soon)}）")
    if not soon:
        st.caption("没有 3 个月内到期的许可证。")
        return
    st.dataframe([{"许可证编号": lic.number, "企业": common.plain(lic.company_name), "统一社会信用代码": lic.uscc or "",
                   "许可范围": lic.scope, "有效期至": str(lic.valid_until), "剩余天数": lic.days_left}
                  for lic in soon], hide_index=True, width="stretch")
