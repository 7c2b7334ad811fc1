"""The written licence decision: what the applicant must read in it, in .docx and PDF alike."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from pydantic import ValidationError

from shencha.service.documents import (
    DEFAULT_LEGAL_BASIS,
    DecisionDocument,
    DecisionFinding,
    LicenceDetails,
    render_docx,
    render_pdf,
)

COMPANY = "江苏华建安装工程有限公司"
RESIDENT_ID = "110101199003074514"


def pdf_pages(data: bytes) -> list[str]:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def docx_text(data: bytes) -> str:
    from docx import Document

    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


def flat(text: str) -> str:
    """Wrapping breaks lines anywhere in CJK text; compare without whitespace."""
    return re.sub(r"\s+", "", text)


def findings(n: int = 2) -> list[DecisionFinding]:
    return [DecisionFinding(category="登记库中查无此证/企业",
                            message=f"专职安全生产管理人员证书 苏建安C（2024）{1000 + i:07d} 在登记库中查无此证",
                            evidence=f"《06_三类人员名册.pdf》第 {i + 1} 页",
                            source="《建筑施工企业主要负责人、项目负责人和专职安全生产管理人员安全生产管理规定》第十一条")
            for i in range(n)]


def refusal(**changes) -> DecisionDocument:
    values = {
        "number": "苏应急安许不〔2026〕第15号", "authority": "江苏省应急管理厅", "kind": "refuse",
        "company_name": COMPANY, "uscc": "91320100MA1MXXXX0L", "legal_representative": "王建国",
        "address": "南京市鼓楼区中山路1号", "application_no": "SQ-2026-000123",
        "received_on": date(2026, 10, 8), "accepted_on": date(2026, 10, 10), "decided_on": date(2026, 11, 20),
        "findings": findings(), "reasons": ["专职安全生产管理人员配备不符合《安全生产许可证条例》第六条第（五）项的要求"],
        "reconsideration_body": "江苏省人民政府", "case_officer": "张三", "reviewer": "李四",
    }
    values.update(changes)
    return DecisionDocument(**values)


def grant(**changes) -> DecisionDocument:
    values = {
        "number": "苏应急安许准〔2026〕第16号", "authority": "江苏省应急管理厅", "kind": "grant",
        "company_name": COMPANY, "uscc": "91320100MA1MXXXX0L", "application_no": "SQ-2026-000124",
        "received_on": date(2026, 10, 8), "accepted_on": date(2026, 10, 10), "decided_on": date(2026, 11, 20),
        "licence": LicenceDetails(number="（苏）JZ安许证字〔2026〕000321", scope="建筑施工",
                                  valid_from=date(2026, 11, 20), valid_until=date(2029, 11, 19)),
        "findings": findings(1),
        "legal_basis": ["《安全生产许可证条例》第六条、第七条", "《中华人民共和国行政许可法》第三十八条第一款"],
    }
    values.update(changes)
    return DecisionDocument(**values)


REMEDY_PHRASES = ["60日内", "江苏省人民政府申请行政复议", "6个月内", "人民法院提起行政诉讼",
                  "《中华人民共和国行政复议法》第二十条", "《中华人民共和国行政诉讼法》第四十六条"]


@pytest.fixture(scope="module", params=["pdf", "docx"])
def as_text(request):
    if request.param == "pdf":
        return lambda doc: "\n".join(pdf_pages(render_pdf(doc)))
    return lambda doc: docx_text(render_docx(doc))


def test_refusal_states_number_company_findings_basis_reasons_and_remedies(as_text):
    doc = refusal()
    text = flat(as_text(doc))
    for expected in ["不予行政许可决定书", doc.number, COMPANY, "91320100MA1MXXXX0L", "SQ-2026-000123",
                     "2026年10月8日", "2026年10月10日", "2026年11月20日", "江苏省应急管理厅",
                     "承办人：张三", "复核人：李四", *doc.reasons, *REMEDY_PHRASES,
                     "《安全生产许可证条例》第六条、第七条", "《中华人民共和国行政许可法》第三十八条第二款"]:
        assert flat(expected) in text, expected
    for f in doc.findings:
        assert flat(f.message) in text and flat(f.evidence) in text and flat(f.source) in text
        assert flat(f.category) in text
    assert "准予行政许可决定书" not in text and "许可证编号" not in text


def test_remedies_come_after_the_reasons_and_the_authority_signs_last(as_text):
    text = flat(as_text(refusal()))
    reason = text.index(flat(refusal().reasons[0]))
    remedy = text.index("申请行政复议")
    assert reason < remedy < text.rindex("江苏省应急管理厅") < text.rindex("2026年11月20日")


def test_remedies_without_a_named_reconsideration_body_still_give_both_time_limits(as_text):
    text = flat(as_text(refusal(reconsideration_body=None, court=None)))
    assert "60日内依法申请行政复议" in text and "6个月内依法向人民法院提起行政诉讼" in text


def test_grant_states_the_licence_and_no_remedy_notice(as_text):
    doc = grant()
    text = flat(as_text(doc))
    for expected in ["准予行政许可决定书", doc.number, COMPANY, "（苏）JZ安许证字〔2026〕000321", "许可范围：建筑施工",
                     "自2026年11月20日至2029年11月19日", doc.findings[0].message, *doc.legal_basis]:
        assert flat(expected) in text, expected
    assert "不予行政许可" not in text and "行政复议" not in text


def test_hostile_values_print_literally(as_text):
    hostile = "<b>华建</b> & <font size=40>x</font> &amp; ]]> 公司"
    doc = refusal(company_name=hostile, number="苏〔2026〕<i>15</i>号&",
                  reasons=["<br/><para>理由 & 说明"], findings=[DecisionFinding(
                      category="<u>类</u>", message="值 '<script>alert(1)</script>' & \"引号\"",
                      evidence="<img src=x/>", source="&lt;依据&gt;")])
    text = as_text(doc)
    for value in [hostile, "苏〔2026〕<i>15</i>号&", "<br/><para>理由 & 说明", "<u>类</u>",
                  "值 '<script>alert(1)</script>' & \"引号\"", "<img src=x/>", "&lt;依据&gt;"]:
        assert flat(value) in flat(text), value


def test_control_and_direction_characters_are_shown_not_obeyed(as_text):
    text = as_text(refusal(company_name="华建\u202efdp.exe公司", reasons=["理由\x00\x0b结束"]))
    assert "华建\\u202efdp.exe公司" in text and "\u202e" not in text
    assert "理由\\x00\\x0b结束" in flat(text)


def test_resident_id_numbers_are_masked(as_text):
    doc = refusal(findings=[DecisionFinding(category="登记库中姓名/名称不符", message=f"持证人身份证号 {RESIDENT_ID} 与名册不符")])
    text = as_text(doc)
    assert RESIDENT_ID not in flat(text) and "110101********4514" in text
    assert "91320100MA1MXXXX0L" in text  # the company's code is not a person's number


def test_long_lists_flow_onto_further_pages():
    many = findings(60)
    long_reason = "超长理由" + "Ａ" * 30 + "x" * 1500  # one unbroken run must wrap, not overflow
    data = render_pdf(refusal(findings=many, reasons=[long_reason, "第二条理由"]))
    pages = pdf_pages(data)
    assert len(pages) >= 4
    everything = flat("".join(pages))
    assert all(flat(f.message) in everything for f in many)
    assert flat(long_reason) in everything and "第二条理由" in everything
    assert "申请行政复议" in flat(pages[-1]) and "2026年11月20日" in flat(pages[-1])
    assert "（60）" in everything and flat(many[-1].message) not in flat(pages[0])
    for n, page in enumerate(pages, start=1):
        assert f"— {n} —" in page  # every page is numbered


def test_long_pages_stay_inside_the_margins():
    import pdfplumber

    data = render_pdf(refusal(reasons=["x" * 3000, "长" * 800]))
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            assert all(0 <= c["x0"] and c["x1"] <= page.width for c in page.chars)


def test_default_legal_basis_by_kind():
    assert refusal(legal_basis=[]).legal_basis == DEFAULT_LEGAL_BASIS["refuse"]
    assert grant(legal_basis=[]).legal_basis == DEFAULT_LEGAL_BASIS["grant"]
    assert "第三十八条第二款" in flat(docx_text(render_docx(refusal(legal_basis=[]))))


@pytest.mark.parametrize("changes", [
    {"reasons": []},
    {"reasons": ["   "]},
    {"licence": LicenceDetails(number="X", scope="建筑施工", valid_from=date(2026, 1, 1),
                               valid_until=date(2029, 1, 1))},
    {"accepted_on": date(2026, 10, 1)},
    {"decided_on": date(2026, 10, 9)},
])
def test_an_incomplete_refusal_is_rejected(changes):
    with pytest.raises(ValidationError):
        refusal(**changes)


def test_a_grant_needs_its_licence_and_a_sane_period():
    with pytest.raises(ValidationError):
        grant(licence=None)
    with pytest.raises(ValidationError):
        LicenceDetails(number="X", scope="建筑施工", valid_from=date(2029, 1, 1), valid_until=date(2026, 1, 1))


def test_pdf_has_the_title_as_metadata():
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(render_pdf(refusal()))
    assert pdf.get_metadata_dict()["Title"] == "不予行政许可决定书"
