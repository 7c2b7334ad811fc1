"""预审窗口: upload an applicant's files, review them on the spot, produce the correction notice."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import streamlit as st

from shencha.accounts import P, PermissionDenied
from shencha.decisions import open_case, report_pk, run_review
from shencha.labels import CATEGORY, SEVERITY, VERDICT, label
from shencha.notice import issue_notice, to_docx, to_pdf
from ui import common

ACCEPTED = ["pdf", "jpg", "jpeg", "png", "tif", "tiff", "docx", "dxf", "zip", "json"]


def _safe_name(name: str) -> str:
    # Browsers send bare names, but never trust them with a path.
    name = Path(name).name
    return re.sub(r"[\\/:*?\"<>|\x00-\x1f]", "_", name) or "file"


def _review(files: list) -> None:
    user = common.current_user()
    workdir = Path(tempfile.mkdtemp(prefix="shencha-window-"))
    if len(files) == 1 and files[0].name.lower().endswith(".zip"):
        target = workdir / _safe_name(files[0].name)
        target.write_bytes(files[0].getvalue())
    else:
        target = workdir / "package"
        target.mkdir()
        for f in files:
            (target / _safe_name(f.name)).write_bytes(f.getvalue())
    report = run_review(common.store(), user, target)
    st.session_state["window_report"] = report.report_id
    st.session_state.pop("window_notice", None)


def render() -> None:
    user = common.require_login()
    st.title("预审窗口")
    if not user.can(P.run_review):
        common.denied(PermissionDenied(user, P.run_review))
        return
    st.write("上传申请人的材料（可多选文件，或一个 .zip 压缩包），当场审查，并出具一次性告知补正通知书。")
    files = st.file_uploader("申请材料", type=ACCEPTED, accept_multiple_files=True, key="window_files")
    if st.button("开始预审", type="primary", disabled=not files, key="window_run"):
        with st.spinner("正在识别和审查材料，请稍候……"):
            try:
                _review(files)
            except PermissionDenied as exc:
                common.denied(exc)
    report_key = st.session_state.get("window_report")
    if not report_key:
        return
    store = common.store()
    rid = report_pk(store, report_key)
    view = open_case(store, user, rid, log_view=False)
    report = view.report
    st.success(f"预审完成：{report.application.company_name or report.application.path}，"
               f"{len(report.documents)} 份材料，{len(report.findings)} 项问题（案卷 {report_key}）")
    for e in report.errors:
        st.warning(f"无法读取：{e.path}（{e.code}）{e.message}")
    docs = {d.id: d for d in report.documents}
    st.subheader("逐项核对（勾选的问题将写入补正通知书）")
    chosen: list[str] = []
    for n, state in enumerate(view.findings, start=1):
        f = state.finding
        where = "；".join(sorted({f"《{docs[e.document].path}》第 {e.page} 页" for e in f.evidence
                                  if e.document in docs})) or "申请材料"
        with st.container(border=True):
            include = st.checkbox(f"{n}. {label(CATEGORY, f.category)}（{label(SEVERITY, f.severity)} · "
                                  f"{label(VERDICT, f.verdict)}）", value=True, key=f"notice_{report_key}_{f.id}")
            st.markdown(common.md(f.message))
            st.caption(common.md(f"涉及：{where}　依据：{f.citation}"))
            if f.suggestion:
                st.caption(common.md(f"补正要求：{f.suggestion}"))
        if include:
            chosen.append(f.id)
    if not user.can(P.issue_notice):
        return
    if st.button(f"生成一次性告知补正通知书（{len(chosen)} 项）", type="primary", key="window_notice_btn"):
        try:
            notice = issue_notice(store, user, rid, chosen)
        except PermissionDenied as exc:
            common.denied(exc)
            return
        st.session_state["window_notice"] = (notice.notice_no, to_docx(notice), to_pdf(notice))
    made = st.session_state.get("window_notice")
    if made:
        notice_no, docx_bytes, pdf_bytes = made
        st.success(f"通知书已生成：{notice_no}")
        cols = st.columns(2)
        stem = f"一次性告知补正通知书-{report_key}"
        cols[0].download_button("下载 Word（.docx）", docx_bytes, file_name=f"{stem}.docx", key="dl_docx",
                                mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        cols[1].download_button("下载 PDF", pdf_bytes, file_name=f"{stem}.pdf", mime="application/pdf", key="dl_pdf")
