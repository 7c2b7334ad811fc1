"""案卷办理: one case, finding by finding, with evidence, decisions and the re-review comparison."""

from __future__ import annotations

import time

import streamlit as st

from checks.model import Finding
from shencha.labels import CATEGORY, DOC_TYPE, SEVERITY, VERDICT, label
from shencha.service.cases import CaseView, FindingState, PanelView, open_case, report_pk
from shencha.service.corrections import (
    FIELD_TYPE_LABEL,
    CorrectionConflict,
    CorrectionRecord,
    case_corrections,
    correct_field,
    page_lines,
    second_review_correction,
)
from shencha.service.decisions import (
    CASE_DECISION_LABEL,
    FINDING_DECISION_LABEL,
    DecisionConflict,
    decide_case,
    decide_finding,
    second_review,
)
from shencha.service.issuance import document_file, documents
from shencha.service.panels import vote
from shencha.service.permissions import P, PermissionDenied, Recused, User
from shencha.service.records import SECOND_REVIEW_LABEL, DecisionRecord
from shencha.service.recusal import recuse
from shencha.service.signing import SigningError
from ui import common
from ui.views.queue import clock_text

FINDING_SHORTCUTS = {"confirm": "Alt+1", "dismiss": "Alt+2", "correction": "Alt+3"}
CASE_SHORTCUTS = {"approve": "Alt+7", "reject": "Alt+8", "correction": "Alt+9"}
SEVERITY_BADGE = {"high": "【高】", "medium": "【中】", "low": "【低】"}
DOCUMENT_KIND = {"grant": "准予行政许可决定书", "refuse": "不予行政许可决定书"}
CLOSED_TO_YOU = "此案卷已对您关闭：不再列入您的待办案卷，也不能打开、办理或复核。"


# -- callbacks: run before the next script run, with the version the user saw --------

def _flash(kind: str, text: str) -> None:
    st.session_state["case_flash"] = (kind, text)


def _decide_finding(report_id: int, finding_id: str, decision: str, seen_version: int, reason_key: str) -> None:
    user = common.current_user()
    try:
        record = decide_finding(common.store(), user, report_id, finding_id, decision,
                                st.session_state.get(reason_key, ""), seen_version)
    except DecisionConflict as exc:
        _flash("conflict", str(exc))
        return
    except (PermissionDenied, ValueError) as exc:
        _flash("error", str(exc))
        return
    _flash("success", f"已记录：{record.label}（第 {record.version} 次决定）")
    st.session_state[reason_key] = ""
    # A practised officer goes straight on to the next finding.
    st.session_state["finding_idx"] = st.session_state.get("finding_idx", 0) + 1


def _decide_case(report_id: int, decision: str, seen_version: int) -> None:
    user = common.current_user()
    try:
        record = decide_case(common.store(), user, report_id, decision,
                             st.session_state.get("case_reason", ""), seen_version)
    except DecisionConflict as exc:
        _flash("conflict", str(exc))
        return
    except (PermissionDenied, ValueError) as exc:
        _flash("error", str(exc))
        return
    if record.state == "pending_second_review":
        _flash("success", f"案卷审查决定已记录：{record.label}（待另一名审批人员复核后生效）")
    else:
        _flash("success", f"案卷审查决定已记录：{record.label}")


def _second_review(decision_key: str, action: str, reason_key: str) -> None:
    user = common.current_user()
    try:
        record = second_review(common.store(), user, decision_key, action, st.session_state.get(reason_key, ""))
    except DecisionConflict as exc:
        _flash("conflict", str(exc))
        return
    except (PermissionDenied, ValueError, KeyError, SigningError) as exc:
        _flash("error", str(exc) if not isinstance(exc, KeyError) else "找不到该决定。")
        return
    st.session_state[reason_key] = ""
    done = "复核确认，已生效" if action == "confirm" else "已退回，该决定不生效"
    _flash("success", f"{record.label}：{done}。")


def _show_version(rec: CorrectionRecord) -> None:
    """After a correction took effect the page shows the version it produced."""
    if rec.result_report_id is not None:
        st.session_state["case_report_id"] = rec.result_report_id
        st.session_state["case_report_key"] = rec.result_report_key
        st.query_params["case"] = rec.result_report_key


def _correct(report_id: int, document: str, field_type: str, page: int | None, old_value: str | None,
             value_key: str | None, reason_key: str, bbox: list[float] | None = None,
             field_index: int | None = None) -> None:
    user = common.current_user()
    new_value = st.session_state.get(value_key, "") if value_key else None
    try:
        rec = correct_field(common.store(), user, report_id, field_type=field_type, document=document, page=page,
                            old_value=old_value, new_value=new_value, reason=st.session_state.get(reason_key, ""),
                            bbox=bbox, field_index=field_index)
    except CorrectionConflict as exc:
        _flash("conflict", str(exc))
        return
    except (PermissionDenied, ValueError) as exc:
        _flash("error", str(exc))
        return
    except KeyError:
        _flash("error", "找不到要更正的值（可能已被更正）。")
        return
    st.session_state[reason_key] = ""
    if rec.state == "pending_second_review":
        _flash("success", f"已记录更正 {rec.key}：{rec.label}。此更正会使不符合项消失，须另一名审批人员复核确认后生效。")
    else:
        _flash("success", f"已记录更正 {rec.key}：{rec.label}，已按更正后的值重新核查（第 "
                          f"{rec.result_report_key.rsplit('-v', 1)[-1]} 版）。")
        _show_version(rec)


def _review_correction(key: str, action: str, reason_key: str) -> None:
    user = common.current_user()
    try:
        rec = second_review_correction(common.store(), user, key, action, st.session_state.get(reason_key, ""))
    except CorrectionConflict as exc:
        _flash("conflict", str(exc))
        return
    except (PermissionDenied, ValueError, KeyError) as exc:
        _flash("error", str(exc) if not isinstance(exc, KeyError) else "找不到该更正。")
        return
    st.session_state[reason_key] = ""
    if action == "confirm":
        _flash("success", f"更正 {rec.key} 复核确认，已生效：已按更正后的值重新核查。")
        _show_version(rec)
    else:
        _flash("success", f"更正 {rec.key} 已退回，不生效。")


def _recuse(application_id: int) -> None:
    user = common.current_user()
    try:
        recuse(common.store(), user, application_id, st.session_state.get("recuse_reason", ""))
    except (PermissionDenied, ValueError, KeyError) as exc:
        _flash("error", str(exc) if not isinstance(exc, KeyError) else "找不到该申请。")


def _vote(panel_id: int, choice_key: str, reason_key: str) -> None:
    user = common.current_user()
    try:
        vote(common.store(), user, panel_id, st.session_state.get(choice_key), st.session_state.get(reason_key, ""))
    except (PermissionDenied, ValueError, KeyError) as exc:
        _flash("error", str(exc) if not isinstance(exc, KeyError) else "找不到该集体审议。")
        return
    _flash("success", "表决意见已记录。")


def _move(delta: int, count: int) -> None:
    st.session_state["finding_idx"] = max(0, min(count - 1, st.session_state.get("finding_idx", 0) + delta))


# -- rendering -----------------------------------------------------------------------

def _selected_report() -> int | None:
    key = st.query_params.get("case")
    if key and st.session_state.get("case_report_key") != key:
        try:
            st.session_state["case_report_id"] = report_pk(common.store(), common.current_user(), key)
            st.session_state["case_report_key"] = key
        except (KeyError, ValueError):
            st.error(f"找不到案卷：{common.md(key)}")
        except Recused as exc:
            _closed(exc)
        except PermissionDenied as exc:
            common.denied(exc)
    return st.session_state.get("case_report_id")


def _closed(exc: Recused) -> None:
    """A recused officer: the reason, and that the case is closed to them (by every route)."""
    st.title("案卷办理")
    st.error(common.md(str(exc)))
    st.info(CLOSED_TO_YOU)
    st.stop()


def render() -> None:
    started = time.perf_counter()
    user = common.require_login()
    report_id = _selected_report()
    if report_id is None:
        st.title("案卷办理")
        st.info("请先在“待办案卷”中选择一个案卷。")
        return
    viewed = st.session_state.setdefault("viewed_reports", set())
    try:
        view = open_case(common.store(), user, report_id, log_view=report_id not in viewed)
    except Recused as exc:
        _closed(exc)
        return
    except PermissionDenied as exc:
        common.denied(exc)
        return
    except KeyError:
        st.error("找不到该案卷。")
        return
    viewed.add(report_id)
    report = view.report
    # The application's company (from the submission), not whatever the documents claim.
    st.title(common.md(view.summary.company_name or report.application.company_name or view.summary.name))
    st.caption(f"案卷 {common.md(view.summary.report_key)} · 第 {view.summary.version} 版 · 审查基准日 {report.application.as_of} · "
               f"{len(report.documents)} 份材料，共 {sum(d.pages for d in report.documents)} 页")
    if view.masked:
        st.info("按您的权限，身份证号已脱敏显示（如 110101********4514），页面图像中的身份证号已遮盖。")
    flash = st.session_state.pop("case_flash", None)
    if flash:
        kind, text = flash
        {"success": st.success, "error": st.error, "conflict": st.warning}[kind](common.md(text))
    _status(view, user)
    _comparison(view)
    _recusal(view, user)
    if not view.findings:
        st.success("本次审查未发现问题。")
    else:
        _findings(view, user)
    _corrections(view, user)
    _case_decision(view, user)
    _panels(view, user)
    _documents(view, user)
    st.caption(f"页面生成用时 {time.perf_counter() - started:.2f} 秒")


def _status(view: CaseView, user: User) -> None:
    """The statutory clock, who handles the case, why it is high risk; the officer's 申请回避."""
    s = view.summary
    cols = st.columns([3, 2, 2])
    cols[0].markdown(f"**法定时限：** {clock_text(s)}")
    if s.clock is not None:
        due = f"决定期限 {s.clock.decision_due}" if s.clock.decision_due else f"受理或告知补正期限 {s.clock.notice_due}"
        cols[0].caption(f"{s.clock.stage} · {due}")
        for note in s.clock.notes_zh:
            cols[0].caption(common.md(note))
    cols[1].markdown(f"**承办人：** {common.md(s.assigned_to) if s.assigned_to else '未分配'}")
    if s.n_pending_second:
        cols[2].markdown(f"**待复核：** {s.n_pending_second} 项")
    if s.high_risk:
        st.warning("高风险案卷：" + common.md("；".join(s.high_risk))
                   + "。准予或不予须经集体审议作出（由监督人员组织）。")


def _recusal(view: CaseView, user: User) -> None:
    if not user.can(P.decide):
        return
    with st.expander("申请回避", expanded=False):
        st.caption("与申请企业或案卷所列人员存在利害关系时，应当申请回避。回避后此案卷对您关闭，"
                   "由监督人员另行分配。")
        st.text_input("回避理由（必填）", key="recuse_reason")
        st.button("申请回避", key="recuse_btn", on_click=_recuse, args=(view.summary.application_id,))


def _review_controls(rec: DecisionRecord, user: User, what: str) -> None:
    """A step waiting for a second officer: who made it and why; confirm / return for someone else."""
    why = SECOND_REVIEW_LABEL.get(rec.second_review_needed, rec.second_review_needed)
    with st.container(border=True, key=f"pending_{rec.key}"):
        st.markdown(f"**待复核**（{why}）：{what}“{rec.label}”，由 {common.md(rec.actor)} 于 "
                    f"{rec.created_at:%Y-%m-%d %H:%M} 作出，理由：{common.md(rec.reason)}")
        _second_review_controls(user, rec.actor, rec.key, "sr", _second_review, "决定")


def _panels(view: CaseView, user: User) -> None:
    """集体审议: each panel's members and votes; a member who has not voted votes here."""
    if not view.panels and not view.summary.high_risk:
        return
    st.divider()
    st.subheader("集体审议")
    if not view.panels:
        st.info("尚未组织集体审议。监督人员在“案件督办”页面组织审议（至少 3 名审批人员）。")
        return
    for p in reversed(view.panels):
        _panel(p, user)


def _panel(p: PanelView, user: User) -> None:
    voted = {v.member: v for v in p.votes}
    state = "已结束" if p.closed else f"进行中（已表决 {len(voted)}/{len(p.members)}）"
    with st.container(border=True, key=f"panel_{p.id}"):
        st.markdown(f"**第 {p.id} 号集体审议** · {state} · 由 {common.md(p.convened_by)} 于 "
                    f"{p.created_at:%Y-%m-%d %H:%M} 组织")
        st.dataframe([{"成员": m, "表决意见": CASE_DECISION_LABEL.get(voted[m].vote, voted[m].vote) if m in voted
                       else "未表决", "理由": common.plain(voted[m].reason) if m in voted else "",
                       "时间": f"{voted[m].created_at:%Y-%m-%d %H:%M}" if m in voted else ""} for m in p.members],
                     hide_index=True, width="stretch")
        if p.closed:
            tally = "，".join(f"{CASE_DECISION_LABEL.get(k, k)} {n} 票" for k, n in p.tally.items())
            st.success(f"审议结果：{CASE_DECISION_LABEL.get(p.outcome or '', p.outcome)}（{tally}）")
            st.markdown(f"**会议纪要：** {common.md(p.minutes)}")
            return
        if user.username in p.members and user.username not in voted and user.can(P.decide):
            choice_key, reason_key = f"vote_choice_{p.id}", f"vote_reason_{p.id}"
            st.radio("您的表决意见", list(CASE_DECISION_LABEL), format_func=lambda k: CASE_DECISION_LABEL[k],
                     horizontal=True, key=choice_key)
            st.text_input("表决理由（必填）", key=reason_key)
            st.button("提交表决", key=f"vote_btn_{p.id}", type="primary", on_click=_vote,
                      args=(p.id, choice_key, reason_key))
        elif user.username in voted:
            st.caption("您已表决；表决后不能更改。")


def _documents(view: CaseView, user: User) -> None:
    """The issued 行政许可决定书: .docx and .pdf, and whether the PDF carries the authority's signature."""
    store = common.store()
    try:
        issued = documents(store, user, view.summary.application_id)
    except PermissionDenied:
        return
    if not issued:
        return
    st.divider()
    st.subheader("行政许可决定书")
    for d in issued:
        with st.container(border=True, key=f"decision_doc_{d.id}"):
            st.markdown(f"**{DOCUMENT_KIND.get(d.kind, d.kind)}** {common.md(d.number)}")
            if d.signed:
                st.caption("PDF 已由发证机关的签名密钥电子签名（PAdES），可用 shencha verify-signature 或 PDF 阅读器验证。")
            else:
                st.caption("PDF 未签名：未配置签名密钥（workflow.yaml 的 signing.pkcs12）。")
            cols = st.columns(2)
            name, data = document_file(store, user, d.id, "docx")
            cols[0].download_button("下载决定书 Word（.docx）", data, file_name=name, key=f"dl_decision_docx_{d.id}",
                                    mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
            name, data = document_file(store, user, d.id, "pdf")
            cols[1].download_button("下载决定书 PDF" + ("（已签名）" if d.signed else "（未签名）"), data,
                                    file_name=name, mime="application/pdf", key=f"dl_decision_pdf_{d.id}")


def _comparison(view: CaseView) -> None:
    c = view.comparison
    if c is None:
        return
    changed = getattr(c, "changed", [])
    notes = getattr(c, "corrections", [])
    moved = f"内容变化 {len(changed)} 项，" if changed else ""  # said only when a finding changed
    with st.expander(f"复审对比（与第 {c.previous_version} 版相比）：已整改 {len(c.fixed)} 项，"
                     f"新出现 {len(c.new)} 项，{moved}仍存在 {len(c.remaining)} 项",
                     expanded=bool(notes), key="comparison_box"):
        for n in notes:
            st.info(f"本版本由更正 {n.key} 生成（按更正后的值重新核查，未重新识别）："
                    f"{FIELD_TYPE_LABEL.get(n.field_type, n.field_type)} "
                    f"{common.md(n.old_value) if n.old_value is not None else '（补录）'} → "
                    f"{common.md(n.new_value) if n.new_value is not None else '（非字段）'}，"
                    f"{common.md(n.actor)}更正" + (f"，{common.md(n.confirmed_by)}复核确认" if n.confirmed_by else "")
                    + f"；理由：{common.md(n.reason)}")
        for ch in changed:
            st.markdown(f"· 内容变化：{label(CATEGORY, ch.new.category)}：{common.md(ch.old.message[:60])} → "
                        f"{common.md(ch.new.message[:60])}")
        cols = st.columns(3)
        for col, title, items in zip(cols, ["已整改", "新出现", "仍存在"], [c.fixed, c.new, c.remaining]):
            col.markdown(f"**{title}（{len(items)}）**")
            for f in items:
                col.markdown(f"· {label(CATEGORY, f.category)}：{common.md(f.message[:80])}")


def _title(n: int, state: FindingState) -> str:
    f = state.finding
    done = f" — {state.decision.label}" if state.decision else ""
    change = {"new": "（新）", "remaining": "（仍存在）", "first": ""}[state.change]
    return f"{n + 1}. {SEVERITY_BADGE[f.severity]} {label(CATEGORY, f.category)}{change}{done}"


def _findings(view: CaseView, user: User) -> None:
    states = view.findings
    count = len(states)
    if st.session_state.get("finding_report") != view.summary.report_id:
        st.session_state["finding_report"] = view.summary.report_id
        st.session_state["finding_idx"] = 0
    idx = max(0, min(count - 1, st.session_state.get("finding_idx", 0)))
    st.session_state["finding_idx"] = idx
    decided = sum(s.decision is not None for s in states)
    st.subheader(f"问题清单（已处理 {decided}/{count}）")
    left, right = st.columns([2, 5])
    with left:
        st.radio("问题", list(range(count)), format_func=lambda i: _title(i, states[i]), key="finding_idx",
                 label_visibility="collapsed")
        nav = st.columns(2)
        nav[0].button("上一项", on_click=_move, args=(-1, count), shortcut="Alt+K", key="prev_finding",
                      width="stretch")
        nav[1].button("下一项", on_click=_move, args=(1, count), shortcut="Alt+J", key="next_finding",
                      width="stretch")
        st.caption("快捷键：Alt+1 确认问题 · Alt+2 排除 · Alt+3 要求补正 · Alt+J 下一项 · Alt+K 上一项 · "
                   "Alt+7/8/9 准予/不予/补正（先在理由框中按回车确认理由）")
    with right:
        _finding_detail(view, states[idx], user)


def _finding_detail(view: CaseView, state: FindingState, user: User) -> None:
    f = state.finding
    st.markdown(f"#### {SEVERITY_BADGE[f.severity]} {label(CATEGORY, f.category)}"
                f"　<small>严重程度：{label(SEVERITY, f.severity)} · {label(VERDICT, f.verdict)} · 规则 `{f.rule_id}`</small>",
                unsafe_allow_html=True)
    st.markdown(common.md(f.message))
    docs = {d.id: d for d in view.report.documents}
    applicant_ev = [e for e in f.evidence if e.document in docs]
    registry_ev = [e for e in f.evidence if e.document not in docs]
    cols = st.columns(2)
    with cols[0]:
        st.markdown("**申请材料中的值**")
        if f.actual:
            st.code(common.plain(f.actual), language=None)
        for e in applicant_ev[:6]:
            d = docs[e.document]
            st.markdown(common.md(f"《{d.path}》第 {e.page} 页：{e.text}"))
        if not f.actual and not applicant_ev:
            st.write("—")
    with cols[1]:
        st.markdown("**登记库记录 / 规范要求**")
        if f.expected:
            st.code(common.plain(f.expected), language=None)
        for e in registry_ev:
            st.markdown(common.md(f"登记库：{e.text}"))
        if not f.expected and not registry_ev:
            st.write("—")
    st.markdown(f"**依据：** {common.md(f.citation)}")
    if f.suggestion:
        st.markdown(f"**补正要求：** {common.md(f.suggestion)}")
    if f.reason:
        st.markdown(f"**待人工判断的原因：** {common.md(f.reason)}")
    _evidence_image(view, f)
    _correction_form(view, f, user)
    _finding_decision(view, state, user)


def _evidence_image(view: CaseView, f: Finding) -> None:
    docs = {d.id: d for d in view.report.documents}
    pages: dict[tuple[str, int], list[list[float]]] = {}
    for e in f.evidence:
        if e.document in docs and e.page:
            boxes = pages.setdefault((e.document, e.page), [])
            if e.bbox:
                boxes.append(list(e.bbox))
    if not pages:
        return
    keys = list(pages)
    choice = 0
    if len(keys) > 1:
        choice = st.selectbox("证据页面", list(range(len(keys))), key=f"evpage_{f.id}",
                              format_func=lambda i: f"《{common.plain(docs[keys[i][0]].path)}》第 {keys[i][1]} 页"
                                                    f"（{len(pages[keys[i]])} 处）")
    doc_id, page = keys[choice]
    data = common.page_jpeg(view.summary.report_key, doc_id, page, pages[(doc_id, page)],
                            view.redactions.get(f"{doc_id}|{page}"))
    d = docs[doc_id]
    caption = common.md(f"《{d.path}》（{label(DOC_TYPE, d.doc_type)}）第 {page} 页 — 红框为证据位置")
    if data is None:
        st.caption(caption + "（此文件无页面图像）")
    else:
        st.image(data, caption=caption, width="stretch")


def _evidence_fields(view: CaseView, f: Finding) -> list[tuple[str, int, object]]:
    """(document id, index, field) of the extracted values the finding's evidence points at."""
    out = []
    for e in f.evidence:
        doc = next((d for d in view.report.documents if d.id == e.document), None)
        if doc is None:
            continue
        for i, fld in enumerate(doc.fields):
            same_box = e.bbox and fld.bbox and tuple(fld.bbox) == tuple(e.bbox)
            if fld.page == e.page and (same_box or str(fld.value) == e.text) and (doc.id, i, fld) not in out:
                out.append((doc.id, i, fld))
    return out


def _correction_form(view: CaseView, f: Finding, user: User) -> None:
    """Beside the evidence: correct a misread value, mark it as not a field, or add a missed one."""
    if not user.can(P.correct_fields):
        return
    rid = view.summary.report_id
    fields = _evidence_fields(view, f)
    docs = {d.id: d for d in view.report.documents}
    with st.expander("更正识别结果（识别有误时）", expanded=False, key=f"corr_box_{f.id}"):
        st.caption("更正不会改动原始识别结果和此前的报告版本：系统按更正后的值重新核查并生成新版本，"
                   "原值、更正值、更正人、时间和理由均留痕。更正如使不符合项消失，须另一名审批人员复核确认。")
        if fields:
            default = next((n for n, (_d, _i, fld) in enumerate(fields) if str(fld.value) == (f.actual or "")), 0)
            choice = st.selectbox(
                "证据中的识别值", list(range(len(fields))), index=default, key=f"corr_field_{f.id}",
                format_func=lambda n: f"{FIELD_TYPE_LABEL.get(fields[n][2].type, fields[n][2].type)}："
                                      f"{common.plain(str(fields[n][2].value))}（《{common.plain(docs[fields[n][0]].path)}》"
                                      f"第 {fields[n][2].page} 页）")
            doc_id, index, fld = fields[choice]
            st.text_input("更正后的值", key=f"corr_new_{f.id}", placeholder="按原件填写正确的值")
            st.text_input("更正理由（必填）", key=f"corr_reason_{f.id}", placeholder="例如：原件姓名为张三，“丰”系相邻栏目的字")
            cols = st.columns(2)
            cols[0].button("更正此值", key=f"corr_btn_{f.id}", type="primary", width="stretch", on_click=_correct,
                           args=(rid, doc_id, fld.type, fld.page, str(fld.value), f"corr_new_{f.id}",
                                 f"corr_reason_{f.id}", list(fld.bbox) if fld.bbox else None, index))
            cols[1].button("标记为非字段", key=f"corr_strike_{f.id}", width="stretch", on_click=_correct,
                           args=(rid, doc_id, fld.type, fld.page, str(fld.value), None, f"corr_reason_{f.id}",
                                 list(fld.bbox) if fld.bbox else None, index))
        page_docs = [e for e in f.evidence if e.document in docs and e.page]
        if page_docs:
            st.markdown("**补录漏识别的值**")
            e = page_docs[0]
            cols = st.columns(2)
            cols[0].selectbox("字段类型", list(FIELD_TYPE_LABEL), key=f"corr_add_type_{f.id}",
                              format_func=lambda k: FIELD_TYPE_LABEL[k])
            cols[1].text_input("漏识别的值", key=f"corr_add_value_{f.id}")
            try:
                lines = page_lines(common.store(), user, rid, e.document, e.page)
            except (PermissionDenied, KeyError):
                lines = []
            # The value's place on the page: the line it stands on (its box is the evidence), else the finding's.
            picked = st.selectbox("所在文字行", [None, *range(len(lines))], key=f"corr_add_line_{f.id}",
                                  format_func=lambda n: "（按问题的证据位置）" if n is None else common.plain(lines[n].text)[:60])
            box = lines[picked].bbox if picked is not None else (list(e.bbox) if e.bbox else None)
            st.text_input("补录理由（必填）", key=f"corr_add_reason_{f.id}")
            st.button(f"补录到《{common.md(docs[e.document].path)}》第 {e.page} 页", key=f"corr_add_btn_{f.id}",
                      on_click=lambda: _correct(rid, e.document, st.session_state.get(f"corr_add_type_{f.id}"),
                                                e.page, None, f"corr_add_value_{f.id}", f"corr_add_reason_{f.id}",
                                                box))


def _corrections(view: CaseView, user: User) -> None:
    """The case's corrections: what was corrected by whom and why; a second officer confirms or returns."""
    try:
        recs = case_corrections(common.store(), user, view.summary.report_id)
    except PermissionDenied:
        return
    if not recs:
        return
    st.divider()
    st.subheader(f"识别结果更正记录（{len(recs)}）")
    for rec in reversed(recs):
        shown = "（无）" if rec.old_value is None else common.md(rec.old_value)
        new = "（非字段）" if rec.new_value is None else common.md(rec.new_value)
        label = FIELD_TYPE_LABEL.get(rec.field_type, rec.field_type)
        with st.container(border=True, key=f"correction_{rec.key}"):
            st.markdown(f"**{rec.key} · {rec.label} · {rec.state_label}**：{label} {shown} → {new} · "
                        f"{common.md(rec.actor)} {rec.created_at:%Y-%m-%d %H:%M} · 理由：{common.md(rec.reason)}")
            if rec.second_review:
                st.caption(f"复核：{common.md(rec.second_review.actor)} "
                           f"{'确认' if rec.second_review.action == 'confirm' else '退回'}（{common.md(rec.second_review.reason)}）")
            if rec.result_report_key:
                fixed = "、".join(common.md(x["message"][:40]) for x in rec.effect.get("fixed", []))
                st.caption(f"已按更正值重新核查，生成 {rec.result_report_key}"
                           + (f"；已消除：{fixed}" if fixed else ""))
            if rec.state != "pending_second_review":
                continue
            fixed = "；".join(common.md(x["message"][:60]) for x in rec.effect.get("fixed", []))
            st.warning(f"待复核（更正使不符合项消失）：{fixed}")
            _second_review_controls(user, rec.actor, rec.key, "csr", _review_correction, "更正")


def _second_review_controls(user: User, actor: str, key: str, prefix: str, on_review, what: str) -> None:
    """A step waiting for 双人复核: confirm / return with a reason, for an officer who did not make it."""
    if not user.can(P.decide):
        st.caption("须另一名审批人员复核确认后生效。")
        return
    if actor == user.username:
        st.caption(f"这是您本人作出的{what}，须另一名审批人员复核确认后生效。")
        return
    reason_key = f"{prefix}_reason_{key}"
    st.text_input("复核意见（必填）", key=reason_key)
    cols = st.columns(2)
    cols[0].button("复核确认", key=f"{prefix}_confirm_{key}", type="primary", width="stretch",
                   on_click=on_review, args=(key, "confirm", reason_key))
    cols[1].button("退回", key=f"{prefix}_return_{key}", width="stretch",
                   on_click=on_review, args=(key, "return", reason_key))


def _finding_decision(view: CaseView, state: FindingState, user: User) -> None:
    can_decide = user.can(P.decide)
    f = state.finding
    if state.previous_decision:
        p = state.previous_decision
        st.info(f"上一版中此问题的决定：{p.label}（{common.md(p.actor)}，理由：{common.md(p.reason)}）")
    if state.history:
        with st.expander(f"处理记录（{len(state.history)}）", expanded=False):
            for d in reversed(state.history):
                st.write(f"第 {d.version} 次 · {d.created_at:%Y-%m-%d %H:%M:%S} · {common.md(d.actor)} · **{d.label}** · {common.md(d.reason)}")
    current = state.decision
    st.markdown(f"**当前决定：** {current.label if current else '未处理'}"
                + (f"（{common.md(current.actor)}：{common.md(current.reason)}）" if current else ""))
    if state.pending:
        _review_controls(state.pending, user, "对此问题的决定")
    if not can_decide:
        return
    # The newest version, pending ones included: a new decision supersedes it.
    seen = max((d.version for d in state.history), default=0)
    reason_key = f"reason_{view.summary.report_id}_{f.id}"
    st.text_input("理由（必填）", key=reason_key, placeholder="例如：证书已过期，登记库状态为过期")
    cols = st.columns(3)
    for col, (code, text) in zip(cols, FINDING_DECISION_LABEL.items()):
        col.button(f"{text}", key=f"fd_{code}", on_click=_decide_finding,
                   args=(view.summary.report_id, f.id, code, seen, reason_key),
                   shortcut=FINDING_SHORTCUTS[code], width="stretch",
                   type="primary" if code == "confirm" else "secondary")


def _case_decision(view: CaseView, user: User) -> None:
    can_decide = user.can(P.decide)
    st.divider()
    st.subheader("案卷审查决定")
    undecided = sum(s.decision is None for s in view.findings)
    current = view.summary.decision
    if view.summary.pending_decision:
        _review_controls(view.summary.pending_decision, user, "案卷审查决定")
    if current:
        st.markdown(f"**当前决定：{current.label}**（{common.md(current.actor)}，{current.created_at:%Y-%m-%d %H:%M}，理由：{common.md(current.reason)}）")
        if len(view.case_history) > 1:
            st.caption("此前的决定：" + "；".join(f"{d.label}（{common.md(d.actor)}）" for d in view.case_history[1:]))
    if not can_decide:
        return
    if undecided:
        st.warning(f"尚有 {undecided} 项问题未处理。")
    if view.summary.high_risk:
        st.caption("高风险案卷：准予或不予由集体审议作出；审批人员可作出补正决定。")
    seen = view.case_history[0].version if view.case_history else 0
    st.text_area("审查决定理由（必填）", key="case_reason")
    cols = st.columns(3)
    for col, (code, text) in zip(cols, CASE_DECISION_LABEL.items()):
        col.button(f"{text}", key=f"cd_{code}", on_click=_decide_case, args=(view.summary.report_id, code, seen),
                   shortcut=CASE_SHORTCUTS[code], width="stretch")
