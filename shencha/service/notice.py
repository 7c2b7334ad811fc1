"""The one-time correction notice (一次性告知补正通知书), as .docx and PDF.

"One-time" is the legal point: every correction the applicant must make
is listed once, numbered, each with the document and page it concerns,
the reason and the citation, so the applicant never comes back to learn
of another one.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from pydantic import BaseModel
from pydantic import Field as PydField

from checks.model import Finding

from ..labels import CATEGORY, label
from ..report import Report
from ..schema import ReportRow
from ..textsafe import visible
from .audit import record
from .cases import check_case_access
from .dates import add_date
from .permissions import P, PermissionDenied, User, mask_ids, require
from .typeset import date_cn, pdf_font

TITLE = "一次性告知补正通知书"


class NoticeItem(BaseModel):
    number: int
    concerns: str = PydField(description="document(s) and page(s), Chinese")
    reason: str
    requirement: str
    citation: str


class Notice(BaseModel):
    applicant: str
    uscc: str | None = None
    notice_no: str
    issued_on: date
    issuer: str = PydField(description="the window staff member's display name")
    items: list[NoticeItem]

    @property
    def intro(self) -> str:
        return (f"{self.applicant}：\n贵单位提交的安全生产许可证申请材料经预审，存在下列需要补正的事项。"
                f"现一次性告知如下，请按要求全部补正后重新提交。")


def _concerns(finding: Finding, report: Report) -> str:
    docs = {d.id: d for d in report.documents}
    parts: list[str] = []
    for e in finding.evidence:
        doc = docs.get(e.document)
        if doc is None:
            continue  # registry records are not the applicant's documents
        where = f"《{visible(doc.path)}》" + (f"第 {e.page} 页" if e.page else "")
        if where not in parts:
            parts.append(where)
    if parts:
        return "；".join(parts)
    return f"申请材料（{label(CATEGORY, finding.category)}）"


def build_notice(report: Report, findings: list[Finding], user: User, issued_on: date | None = None,
                 notice_no: str | None = None) -> Notice:
    """The notice for the chosen findings, in report order; resident ID numbers masked.

    Builds text only (no store): `issue_notice` is the permission-checked entry point.
    """
    if not user.can(P.issue_notice):
        raise PermissionDenied(user, P.issue_notice)
    items = []
    for n, f in enumerate(findings, start=1):
        requirement = f.suggestion or "请核实并补正。"
        items.append(NoticeItem(number=n, concerns=mask_ids(_concerns(f, report)), reason=visible(mask_ids(f.message)),
                                requirement=visible(mask_ids(requirement)), citation=visible(f.citation)))
    issued = issued_on or date.today()
    return Notice(
        applicant=visible(report.application.company_name or Path(report.application.path).name),
        uscc=report.application.uscc,
        notice_no=notice_no or f"预审补正〔{issued.year}〕{report.report_id}",
        issued_on=issued,
        issuer=user.display_name,
        items=items,
    )


def to_docx(notice: Notice) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")  # without this Word falls back to a Latin font
    style.font.size = Pt(12)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(TITLE)
    run.bold = True
    run.font.size = Pt(18)
    doc.add_paragraph(notice.notice_no).alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(f"申请单位：{notice.applicant}")
    if notice.uscc:
        doc.add_paragraph(f"统一社会信用代码：{notice.uscc}")
    for line in notice.intro.split("\n"):
        doc.add_paragraph(line)
    if not notice.items:
        doc.add_paragraph("经预审，申请材料未发现需要补正的事项。")
    for item in notice.items:
        p = doc.add_paragraph()
        p.add_run(f"{item.number}. {item.concerns}").bold = True
        doc.add_paragraph(f"问题：{item.reason}")
        doc.add_paragraph(f"补正要求：{item.requirement}")
        doc.add_paragraph(f"依据：{item.citation}")
    doc.add_paragraph(f"共 {len(notice.items)} 项。以上事项已一次性告知。")
    doc.add_paragraph(f"经办人：{notice.issuer}")
    doc.add_paragraph(f"日期：{date_cn(notice.issued_on)}").alignment = WD_ALIGN_PARAGRAPH.RIGHT
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def to_pdf(notice: Notice) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    font = pdf_font()
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=17, wordWrap="CJK")
    bold = ParagraphStyle("item", parent=body, fontSize=11.5, spaceBefore=6)
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=TA_CENTER)
    center = ParagraphStyle("center", parent=body, alignment=TA_CENTER)
    right = ParagraphStyle("right", parent=body, alignment=TA_RIGHT)

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text), style)

    flow = [para(TITLE, title), para(notice.notice_no, center), Spacer(1, 6 * mm),
            para(f"申请单位：{notice.applicant}")]
    if notice.uscc:
        flow.append(para(f"统一社会信用代码：{notice.uscc}"))
    flow += [para(line) for line in notice.intro.split("\n")]
    if not notice.items:
        flow.append(para("经预审，申请材料未发现需要补正的事项。"))
    for item in notice.items:
        flow += [para(f"{item.number}. {item.concerns}", bold), para(f"问题：{item.reason}"),
                 para(f"补正要求：{item.requirement}"), para(f"依据：{item.citation}")]
    flow += [Spacer(1, 4 * mm), para(f"共 {len(notice.items)} 项。以上事项已一次性告知。"),
             para(f"经办人：{notice.issuer}"), para(f"日期：{date_cn(notice.issued_on)}", right)]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=TITLE, leftMargin=22 * mm, rightMargin=22 * mm,
                      topMargin=20 * mm, bottomMargin=20 * mm).build(flow)
    return buffer.getvalue()


def issue_notice(store, user: User, report_id: int, finding_ids: list[str],
                 issued_on: date | None = None) -> Notice:
    """Build the notice for a stored report and record that it was issued.

    Issuing it is the correction request of the statutory clock: the
    decision clock stops until the applicant's corrections are received.
    """
    user = require(store, user, P.issue_notice)
    check_case_access(store, user, report_id)
    with store.session() as session:
        row = session.get(ReportRow, report_id)
        if row is None:
            raise KeyError(report_id)
        report = Report.model_validate_json(row.report_json)
    wanted = set(finding_ids)
    chosen = [f for f in report.findings if f.id in wanted]
    notice = build_notice(report, chosen, user, issued_on)
    with store.session() as session:
        record(session, user.username, "issue_notice", f"report:{report_id}",
               {"notice_no": notice.notice_no, "findings": [f.id for f in chosen]}, "")
        add_date(session, user.username, row.application_id, "correction_requested", notice.issued_on,
                 notice.notice_no)
    return notice


__all__ = ["Notice", "NoticeItem", "build_notice", "issue_notice", "to_docx", "to_pdf"]
