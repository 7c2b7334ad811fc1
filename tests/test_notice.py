"""The one-time correction notice: every chosen correction, numbered, with document, page, reason, citation."""

from __future__ import annotations

import io
from datetime import date

import pytest

from shencha.service.audit import entries
from shencha.service.cases import report_pk
from shencha.service.notice import TITLE, build_notice, issue_notice, to_docx, to_pdf
from shencha.service.permissions import PermissionDenied
from shencha.store import Store

from .e2e.support import RESIDENT_ID, finding, login, synthetic_case


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('notice') / 'shencha.db'}")
    findings = [finding(1), finding(2, "medium", "uncertain", page=2),
                finding(3, rule_id="completeness.documents.v3", category="completeness.missing_document")]
    findings[2].evidence = []  # a missing document has no page to point at
    window = login(store, "window")
    report = synthetic_case(store, findings=findings, ran_by=window)  # window staff notify on their own reviews
    return store, report, window


def docx_text(data: bytes) -> str:
    from docx import Document

    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


def pdf_first_page(data: bytes):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    page = pdf[0]
    text = page.get_textpage().get_text_range()
    image = page.render(scale=1).to_pil()
    return text, image, len(pdf)


def test_notice_lists_every_chosen_correction_once_numbered(setup):
    _store, report, window = setup
    notice = build_notice(report, report.findings, window, issued_on=date(2026, 11, 20))
    assert [i.number for i in notice.items] == [1, 2, 3]
    assert notice.items[0].concerns == "《06_三类人员名册.pdf》第 1 页"  # the registry record is not a document
    assert notice.items[1].concerns == "《06_三类人员名册.pdf》第 2 页"
    assert notice.items[2].concerns == "申请材料（缺少必需材料）"
    assert all(i.citation and i.reason and i.requirement for i in notice.items)
    assert RESIDENT_ID not in notice.model_dump_json() and "110101********4514" in notice.items[0].reason


def test_docx_holds_applicant_date_and_each_item(setup):
    _store, report, window = setup
    text = docx_text(to_docx(build_notice(report, report.findings, window, issued_on=date(2026, 11, 20))))
    assert TITLE in text and "江苏华建安装工程有限公司" in text and "2026年11月20日" in text
    for n in (1, 2, 3):
        assert f"{n}. " in text and f"第 {n} 号问题" in text
    assert "《06_三类人员名册.pdf》第 2 页" in text
    assert text.count("依据：建筑施工特种作业人员管理规定 第十条") == 3
    assert "共 3 项" in text and "窗口 赵倩" in text


def test_pdf_renders_in_chinese(setup):
    _store, report, window = setup
    data = to_pdf(build_notice(report, report.findings, window, issued_on=date(2026, 11, 20)))
    text, image, pages = pdf_first_page(data)
    assert TITLE in text and "江苏华建安装工程有限公司" in text and "第 1 号问题" in text
    # the CJK font is embedded: the page has real ink, not empty boxes
    dark = sum(image.convert("L").histogram()[:128])
    assert dark > 2000 and pages >= 1


def test_issuing_is_recorded_and_only_window_staff_may(setup):
    store, report, window = setup
    rid = report_pk(store, window, report.report_id)
    notice = issue_notice(store, window, rid, [report.findings[1].id])
    assert [i.reason[:6] for i in notice.items] == ["第 2 号问题"[:6]]
    [issued] = [e for e in entries(store, None) if e.action == "issue_notice"]
    assert issued.actor == "window" and issued.detail["findings"] == [report.findings[1].id]
    officer = login(store, "officer")
    with pytest.raises(PermissionDenied):
        issue_notice(store, officer, rid, [report.findings[1].id])
