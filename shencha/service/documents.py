"""The written licence decision (准予/不予行政许可决定书), as .docx and PDF.

Pure functions: the caller (the service layer) gathers the case, assigns
the 文号 and passes a `DecisionDocument`; nothing here reads the store.

A refusal must state its reasons and tell the applicant of the right to
administrative reconsideration or litigation (行政许可法 第三十八条第二款);
a refusal without that notice is a procedural defect, so the notice is
always printed and cannot be switched off.

Every value may come from the applicant's documents, so each one is made
visible (`textsafe.visible`: control and bidi characters become escapes),
has resident ID numbers masked, and is escaped for reportlab's paragraph
markup; python-docx escapes XML itself.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Literal
from xml.sax.saxutils import escape

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import Field as PydField

from registry_sync.normalize import mask_ids_in_text

from ..textsafe import visible
from .typeset import date_cn as _date_cn
from .typeset import pdf_font as _font

DecisionKind = Literal["grant", "refuse"]

TITLES: dict[str, str] = {"grant": "准予行政许可决定书", "refuse": "不予行政许可决定书"}

# The usual citations when the caller gives none. 条例 第六条 lists the
# conditions, 第七条 the 45-day decision; 行政许可法 第三十八条 is the duty to
# decide in writing (and, for a refusal, to give reasons and remedies).
DEFAULT_LEGAL_BASIS: dict[str, list[str]] = {
    "grant": ["《安全生产许可证条例》第六条、第七条",
              "《中华人民共和国行政许可法》第三十八条第一款"],
    "refuse": ["《安全生产许可证条例》第六条、第七条",
               "《中华人民共和国行政许可法》第三十八条第二款"],
}

# 行政复议法（2023 年修订）第二十条: sixty days; 行政诉讼法 第四十六条: six months.
RECONSIDERATION_DAYS = 60
LITIGATION_MONTHS = 6


class DecisionFinding(BaseModel):
    """One review finding the decision rests on."""

    model_config = ConfigDict(extra="forbid")

    category: str = PydField(description="Chinese category label, e.g. 登记库中查无此证/企业")
    message: str
    evidence: str = PydField("", description="where it was found / what the document says")
    source: str = PydField("", description="the standard, clause or registry record relied on")


class LicenceDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = PydField(description="安全生产许可证编号")
    scope: str = PydField(description="许可范围")
    valid_from: date
    valid_until: date

    @model_validator(mode="after")
    def _period(self) -> LicenceDetails:
        if self.valid_until < self.valid_from:
            raise ValueError("许可证有效期的截止日期早于起始日期")
        return self


class DecisionDocument(BaseModel):
    """Everything printed on the decision; the caller fills it from the case."""

    model_config = ConfigDict(extra="forbid")

    number: str = PydField(description="决定书文号, assigned by the caller")
    authority: str = PydField(description="issuing authority (作出决定的行政机关)")
    kind: DecisionKind
    company_name: str
    uscc: str = PydField(description="统一社会信用代码")
    address: str | None = None
    legal_representative: str | None = None
    application_no: str = PydField(description="申请编号/受理编号")
    application_item: str = PydField("安全生产许可证核发", description="申请事项")
    received_on: date
    accepted_on: date
    decided_on: date
    licence: LicenceDetails | None = PydField(None, description="required for a grant, absent for a refusal")
    findings: list[DecisionFinding] = PydField(default_factory=list)
    legal_basis: list[str] = PydField(default_factory=list, description="empty: DEFAULT_LEGAL_BASIS[kind]")
    reasons: list[str] = PydField(default_factory=list, description="for a refusal: why (at least one)")
    reconsideration_body: str | None = PydField(
        None, description="where 行政复议 is applied for; absent: the notice says 依法 without naming it")
    court: str | None = PydField(None, description="the competent people's court; absent: 人民法院")
    case_officer: str | None = PydField(None, description="承办人")
    reviewer: str | None = PydField(None, description="复核人")

    @model_validator(mode="after")
    def _consistent(self) -> DecisionDocument:
        if self.kind == "grant" and self.licence is None:
            raise ValueError("准予行政许可决定书须载明许可证编号、许可范围和有效期")
        if self.kind == "refuse":
            if self.licence is not None:
                raise ValueError("不予行政许可决定书不应载明许可证信息")
            if not [r for r in self.reasons if r.strip()]:
                raise ValueError("不予行政许可决定书须说明理由（行政许可法 第三十八条第二款）")
        if self.accepted_on < self.received_on:
            raise ValueError("受理日期早于收到申请的日期")
        if self.decided_on < self.accepted_on:
            raise ValueError("决定日期早于受理日期")
        if not self.legal_basis:
            self.legal_basis = list(DEFAULT_LEGAL_BASIS[self.kind])
        return self

    @property
    def title(self) -> str:
        return TITLES[self.kind]


# --- the text, shared by both renderers -------------------------------------------------

Block = tuple[str, str]  # (style, text); styles: title, number, addressee, heading, body, item, sign


def _safe(text: str | None) -> str:
    """Applicant-derived text as it may be printed: hidden characters shown, ID numbers masked."""
    return visible(mask_ids_in_text(text or ""), keep_newlines=True).strip()


def _one_line(text: str | None) -> str:
    return _safe(text).replace("\n", " ")


def _basis(doc: DecisionDocument) -> str:
    # Items already use 、 between articles ("第六条、第七条"); 和 before the last keeps the laws apart.
    items = [_one_line(b) for b in doc.legal_basis if b.strip()]
    return "、".join(items[:-1]) + "和" + items[-1] if len(items) > 1 else "".join(items)


def _remedies(doc: DecisionDocument) -> str:
    where = f"向{_one_line(doc.reconsideration_body)}" if doc.reconsideration_body else ""
    court = _one_line(doc.court) if doc.court else "人民法院"
    return (f"如对本决定不服，可以自收到本决定书之日起{RECONSIDERATION_DAYS}日内依法{where}申请行政复议"
            f"（《中华人民共和国行政复议法》第二十条），也可以自收到本决定书之日起{LITIGATION_MONTHS}个月内"
            f"依法向{court}提起行政诉讼（《中华人民共和国行政诉讼法》第四十六条）。")


def _finding_text(n: int, f: DecisionFinding) -> str:
    parts = [f"（{n}）{_one_line(f.category)}：{_safe(f.message)}"]
    if f.evidence.strip():
        parts.append(f"证据：{_safe(f.evidence)}")
    if f.source.strip():
        parts.append(f"依据：{_safe(f.source)}")
    return "\n".join(parts)


def decision_blocks(doc: DecisionDocument) -> list[Block]:
    """The document as styled blocks, in reading order; both renderers print exactly these."""
    company = _one_line(doc.company_name)
    blocks: list[Block] = [
        ("authority", _one_line(doc.authority)),
        ("title", doc.title),
        ("number", _one_line(doc.number)),
        ("addressee", f"{company}："),
    ]
    facts = [f"统一社会信用代码：{_one_line(doc.uscc)}"]
    if doc.legal_representative:
        facts.append(f"法定代表人：{_one_line(doc.legal_representative)}")
    if doc.address:
        facts.append(f"住所：{_one_line(doc.address)}")
    blocks.append(("body", "；".join(facts) + "。"))

    blocks.append(("heading", "一、申请事项"))
    blocks.append(("body", (f"你单位于{_date_cn(doc.received_on)}向本机关提出{_one_line(doc.application_item)}申请"
                            f"（申请编号：{_one_line(doc.application_no)}），本机关于{_date_cn(doc.accepted_on)}"
                            f"依法受理。")))

    blocks.append(("heading", "二、审查情况"))
    if doc.findings:
        lead = ("经审查，你单位提交的申请材料符合安全生产许可条件，审查中核实的主要情况如下："
                if doc.kind == "grant" else "经审查，你单位的申请存在下列问题：")
        blocks.append(("body", lead))
        blocks += [("item", _finding_text(n, f)) for n, f in enumerate(doc.findings, start=1)]
    else:
        blocks.append(("body", "经审查，你单位提交的申请材料齐全，符合法定形式，具备安全生产许可条件。"
                               if doc.kind == "grant" else "经审查，你单位的申请不符合法定条件。"))

    blocks.append(("heading", "三、决定"))
    basis = _basis(doc)
    if doc.kind == "grant":
        lic = doc.licence
        assert lic is not None  # the validator guarantees it
        blocks.append(("body", f"根据{basis}的规定，本机关决定准予你单位{_one_line(doc.application_item)}的行政许可。"))
        blocks.append(("item", f"安全生产许可证编号：{_one_line(lic.number)}"))
        blocks.append(("item", f"许可范围：{_safe(lic.scope)}"))
        blocks.append(("item", f"有效期：自{_date_cn(lic.valid_from)}至{_date_cn(lic.valid_until)}"))
        blocks.append(("body", "请你单位凭本决定书领取安全生产许可证，并在有效期内持续保持安全生产条件。"))
    else:
        blocks.append(("body", (f"根据{basis}的规定，本机关决定对你单位的{_one_line(doc.application_item)}"
                                f"申请不予行政许可。理由如下：")))
        reasons = [r for r in doc.reasons if r.strip()]
        blocks += [("item", f"{n}. {_safe(r)}") for n, r in enumerate(reasons, start=1)]
        blocks.append(("heading", "四、权利告知"))
        blocks.append(("body", _remedies(doc)))

    officers = []
    if doc.case_officer:
        officers.append(f"承办人：{_one_line(doc.case_officer)}")
    if doc.reviewer:
        officers.append(f"复核人：{_one_line(doc.reviewer)}")
    if officers:
        blocks.append(("officers", "　　".join(officers)))
    blocks.append(("sign", _one_line(doc.authority)))
    blocks.append(("sign", _date_cn(doc.decided_on)))
    return blocks


# --- .docx ------------------------------------------------------------------------------


def render_docx(doc: DecisionDocument) -> bytes:
    """The decision as a Word document (A4, 仿宋 body, 小标宋-style title)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    out = Document()
    section = out.sections[0]
    # GB/T 9704 page: A4 with 37 mm top, 28 mm left, 26 mm right, 35 mm bottom margins.
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = out.styles["Normal"]
    normal.font.name = "FangSong"
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "仿宋")  # without this Word falls back to a Latin font
    normal.font.size = Pt(16)  # 三号

    def para(text: str, *, align=None, size: float | None = None, bold: bool = False,
             indent: bool = False, east_asia: str | None = None):
        p = out.add_paragraph()
        if align is not None:
            p.alignment = align
        if indent:
            p.paragraph_format.first_line_indent = Pt(32)  # two characters
        for i, line in enumerate(text.split("\n")):
            if i:
                p.add_run().add_break()
            run = p.add_run(line)
            run.bold = bold
            if size:
                run.font.size = Pt(size)
            if east_asia:
                run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asia)
        return p

    center, right = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT
    looks = {
        "authority": {"align": center, "size": 22, "bold": True, "east_asia": "黑体"},
        "title": {"align": center, "size": 22, "bold": True, "east_asia": "黑体"},
        "number": {"align": center},
        "addressee": {},
        "heading": {"indent": True, "east_asia": "黑体"},
        "body": {"indent": True},
        "item": {"indent": True},
        "officers": {},
        "sign": {"align": right},
    }
    previous = None
    for style, text in decision_blocks(doc):
        if style == "sign" and previous != "sign":
            out.add_paragraph()  # room for the seal above the authority's name
        para(text, **looks[style])
        previous = style
    out.core_properties.title = doc.title
    out.core_properties.subject = _one_line(doc.number)
    out.core_properties.author = _one_line(doc.authority)
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


# --- PDF --------------------------------------------------------------------------------


def render_pdf(doc: DecisionDocument) -> bytes:
    """The decision as PDF/A4; long lists wrap and flow onto further pages, each page numbered."""
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=12, leading=20, wordWrap="CJK",
                          firstLineIndent=24)
    styles = {
        "authority": ParagraphStyle("authority", parent=body, fontSize=20, leading=30, alignment=TA_CENTER,
                                    firstLineIndent=0),
        "title": ParagraphStyle("title", parent=body, fontSize=20, leading=30, alignment=TA_CENTER,
                                firstLineIndent=0, spaceAfter=4),
        "number": ParagraphStyle("number", parent=body, alignment=TA_CENTER, firstLineIndent=0, spaceAfter=14),
        "addressee": ParagraphStyle("addressee", parent=body, firstLineIndent=0),
        "heading": ParagraphStyle("heading", parent=body, fontSize=12.5, spaceBefore=8),
        "body": body,
        "item": ParagraphStyle("item", parent=body, leftIndent=24, firstLineIndent=0, spaceBefore=3),
        "officers": ParagraphStyle("officers", parent=body, firstLineIndent=0, spaceBefore=14),
        "sign": ParagraphStyle("sign", parent=body, alignment=TA_RIGHT, firstLineIndent=0),
    }

    flow = []
    for style, text in decision_blocks(doc):
        if style == "sign" and (not flow or not isinstance(flow[-1], Paragraph)
                                or flow[-1].style.name != "sign"):
            flow.append(Spacer(1, 12 * mm))
        # escape() first, then the line breaks: the breaks are the only markup we add.
        flow.append(Paragraph(escape(text).replace("\n", "<br/>"), styles[style]))

    def page_number(canvas, _template) -> None:
        canvas.saveState()
        canvas.setFont(font, 10)
        canvas.drawCentredString(A4[0] / 2, 12 * mm, f"— {canvas.getPageNumber()} —")
        canvas.restoreState()

    buffer = io.BytesIO()
    template = SimpleDocTemplate(buffer, pagesize=A4, title=doc.title, subject=_one_line(doc.number),
                                 author=_one_line(doc.authority), leftMargin=28 * mm, rightMargin=26 * mm,
                                 topMargin=30 * mm, bottomMargin=25 * mm)
    template.build(flow, onFirstPage=page_number, onLaterPages=page_number)
    return buffer.getvalue()


__all__ = ["DEFAULT_LEGAL_BASIS", "TITLES", "DecisionDocument", "DecisionFinding", "DecisionKind",
           "LicenceDetails", "decision_blocks", "render_docx", "render_pdf"]
