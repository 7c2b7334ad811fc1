"""预审窗口: upload an applicant's files, review them on the spot, produce the correction notice.

Uploads are capped (`SHENCHA_UPLOAD_MAX_MB`, checked before anything is
written), copied to a private temporary folder in chunks, reviewed, and
the folder is deleted whatever happens. A user sees codes and messages,
never a server path or a traceback.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

import streamlit as st

from extractor.readers.formats import FORMATS
from shencha.labels import CATEGORY, SEVERITY, VERDICT, label
from shencha.review import check_application_id
from shencha.service.cases import CaseView, open_case, report_pk
from shencha.service.dates import DATE_LABEL, record_date
from shencha.service.notice import issue_notice, to_docx, to_pdf
from shencha.service.permissions import P, PermissionDenied
from shencha.service.reviews import run_review
from ui import common

# Every format the readers take (extractor/readers/formats.py), plus application.json.
ACCEPTED = sorted({ext.lstrip(".") for ext in FORMATS} | {"jpg", "jpeg", "png", "tif", "tiff", "json"})
UPLOAD_ENV = "SHENCHA_UPLOAD_MAX_MB"
DEFAULT_UPLOAD_MB = 200
NAME_BYTES = 200  # well under the file systems' 255-byte limit on one name
CHUNK = 1 << 20

log = logging.getLogger(__name__)


class UploadRefused(Exception):
    """An upload the window does not accept (message in Chinese, for the user)."""


def upload_limit_mb() -> int:
    try:
        value = int(os.environ.get(UPLOAD_ENV, DEFAULT_UPLOAD_MB))
    except ValueError:
        value = DEFAULT_UPLOAD_MB
    return max(1, value)


def _safe_name(name: str) -> str:
    """A bare, harmless file name of at most NAME_BYTES bytes, keeping the extension."""
    # Browsers send bare names, but never trust them with a path.
    name = Path(name.replace("\\", "/")).name
    name = re.sub(r"[\\/:*?\"<>|\x00-\x1f\x7f]", "_", name).strip(" .") or "file"
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext.encode("utf-8")) > 16:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    budget = NAME_BYTES - len(suffix.encode("utf-8"))
    stem_bytes = stem.encode("utf-8")
    if len(stem_bytes) > budget:
        stem = stem_bytes[:budget].decode("utf-8", errors="ignore")
    return (stem or "file") + suffix


def _size(f) -> int:
    size = getattr(f, "size", None)
    if size is None:
        f.seek(0, os.SEEK_END)
        size = f.tell()
    return int(size)


def save_uploads(files: list, workdir: Path) -> tuple[Path, str]:
    """Write the uploads under `workdir` (in chunks); return the package path and its display name.

    Raises `UploadRefused` before writing anything when the files together
    exceed the cap.
    """
    limit = upload_limit_mb()
    total = sum(_size(f) for f in files)
    if total > limit * 2**20:
        raise UploadRefused(f"上传的材料共 {total / 2**20:.1f} MB，超过预审窗口的上限 {limit} MB。"
                            f"请拆分后分批提交，或联系管理员调整上限（{UPLOAD_ENV}）。")
    if len(files) == 1 and files[0].name.lower().endswith(".zip"):
        target = workdir / _safe_name(files[0].name)
        _copy(files[0], target)
        return target, _safe_name(files[0].name)
    target = workdir / "package"
    target.mkdir(mode=0o700)
    used: set[str] = set()
    for f in files:
        name = _safe_name(f.name)
        while name.lower() in used:  # two names that differed only in what was cut or replaced
            name = f"{uuid.uuid4().hex[:6]}_{name}"
        used.add(name.lower())
        _copy(f, target / name)
    names = [_safe_name(f.name) for f in files]
    shown = names[0] if len(names) == 1 else f"{names[0]} 等 {len(names)} 份文件"
    return target, shown


def _copy(upload, target: Path) -> None:
    upload.seek(0)
    fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(upload, out, CHUNK)


def review_uploads(files: list, application_id: str | None) -> str:
    """Review the uploaded files as one submission; return the report key. The uploads are deleted after."""
    user = common.current_user()
    workdir = Path(tempfile.mkdtemp(prefix="shencha-window-"))  # 0700
    try:
        target, shown = save_uploads(files, workdir)
        report = run_review(common.store(), user, target, application_id=application_id or None,
                            source_name=shown)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report.report_id


def _run(files: list, application_id: str) -> None:
    application_id = application_id.strip()
    if application_id:
        try:
            check_application_id(application_id)
        except ValueError as exc:
            st.error(common.md(str(exc)))
            return
    try:
        report_key = review_uploads(files, application_id)
    except PermissionDenied as exc:
        common.denied(exc)
        return
    except UploadRefused as exc:
        st.error(common.md(str(exc)))
        return
    except Exception as exc:  # noqa: BLE001 - the user gets a code, the log the type; never a path or a traceback
        ref = uuid.uuid4().hex[:8]
        log.warning("window review failed (ref %s): %s", ref, type(exc).__name__)
        st.error(f"预审未能完成（错误编号 E900，参考号 {ref}）。请检查材料后重试；如仍失败，请将参考号告知管理员。")
        return
    st.session_state["window_report"] = report_key
    st.session_state.pop("window_notice", None)


def render() -> None:
    user = common.require_login()
    st.title("预审窗口")
    if not user.can(P.run_review):
        common.denied(PermissionDenied(user, P.run_review))
        return
    limit = upload_limit_mb()
    st.write(f"上传申请人的材料（可多选文件，或一个 .zip 压缩包，合计不超过 {limit} MB），当场审查，"
             "并出具一次性告知补正通知书。")
    application_id = st.text_input("申请编号（补正后重新提交时填写原申请编号；新申请留空，将自动编号）",
                                   key="window_application_id", max_chars=100)
    files = st.file_uploader("申请材料", type=ACCEPTED, accept_multiple_files=True, key="window_files",
                             max_upload_size=limit)
    if st.button("开始预审", type="primary", disabled=not files, key="window_run"):
        with st.spinner("正在识别和审查材料，请稍候……"):
            _run(files, application_id)
    report_key = st.session_state.get("window_report")
    if not report_key:
        return
    store = common.store()
    try:
        rid = report_pk(store, user, report_key)
        view = open_case(store, user, rid, log_view=False)
    except PermissionDenied as exc:
        common.denied(exc)
        return
    except (KeyError, ValueError):
        st.error("找不到该预审案卷。")
        return
    report = view.report
    number = report.application.application_no
    st.success(common.md(f"预审完成：{view.summary.company_name or report.application.company_name or report.application.path}，"
                         f"{len(report.documents)} 份材料，{len(report.findings)} 项问题"
                         f"（{'申请编号 ' + number + '，' if number else ''}案卷 {report_key}）"))
    for e in report.errors:
        st.warning(common.md(f"无法读取：{e.path}（{e.code}）{e.message}"))
    _dates(view)
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
        st.success(common.md(f"通知书已生成：{notice_no}"))
        cols = st.columns(2)
        stem = f"一次性告知补正通知书-{report_key}"
        cols[0].download_button("下载 Word（.docx）", docx_bytes, file_name=f"{stem}.docx", key="dl_docx",
                                mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        cols[1].download_button("下载 PDF", pdf_bytes, file_name=f"{stem}.pdf", mime="application/pdf", key="dl_pdf")


DATE_KINDS = ["received", "accepted", "correction_received"]


def _dates(view: CaseView) -> None:
    """收件 / 受理 / 补正材料收到 dates of the application just reviewed: they start its statutory clocks."""
    user = common.current_user()
    app_id = view.summary.application_id
    with st.container(border=True, key="window_dates"):
        st.markdown("**登记收件、受理日期**（法定时限自此计算）")
        clock = view.summary.clock
        if clock is not None:
            st.caption(common.md(f"当前法定时限：{clock.label_zh}（{clock.stage}）"))
        cols = st.columns([2, 2, 3, 1])
        kind = cols[0].selectbox("日期类型", DATE_KINDS, format_func=lambda k: DATE_LABEL[k], key="window_date_kind")
        on = cols[1].date_input("日期", key="window_date_on", format="YYYY-MM-DD")
        note = cols[2].text_input("备注", key="window_date_note", max_chars=200)
        if cols[3].button("登记", key="window_date_btn", width="stretch"):
            try:
                state = record_date(common.store(), user, app_id, kind, on, note)
            except (PermissionDenied, ValueError) as exc:
                st.error(common.md(str(exc)))
                return
            except KeyError:
                st.error("找不到该申请。")
                return
            st.success(common.md(f"已登记{DATE_LABEL[kind]}日期 {on}。法定时限：{state.label_zh}"))
