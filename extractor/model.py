"""The document model: what every reader produces and every later stage reads.

Document → Page → Line → Word, each carrying its provenance (page, bbox,
confidence, source). Coordinates are in the page's own unit with the origin
at the top left: PDF points for PDF pages, pixels for images. A page that was
rendered (for OCR or for evidence) records the image's scale, so a bbox maps
onto its image by multiplying with ``Page.image_scale``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field as PydField

BBox = tuple[float, float, float, float]
"""(x0, top, x1, bottom) in the page's unit, origin top-left."""


class Source(StrEnum):
    """Where a piece of text came from."""

    TEXT = "text"  # a PDF's own text layer
    OCR = "ocr"  # recognised from a page image
    DOCX = "docx"  # a Word file's paragraphs and tables
    DXF = "dxf"  # a CAD drawing's TEXT/MTEXT entities
    SHEET = "sheet"  # a spreadsheet's cells (.xlsx, .xls, .et, .ods, .csv)


class DocumentKind(StrEnum):
    PDF = "pdf"
    IMAGE = "image"
    DOCX = "docx"
    DXF = "dxf"
    SPREADSHEET = "spreadsheet"
    OFD = "ofd"
    UNKNOWN = "unknown"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Word(_Model):
    text: str
    bbox: BBox
    confidence: float = 1.0


class Line(_Model):
    """One line of text in reading order.

    ``block`` groups lines that read together (a column, a table cell, a
    paragraph); ``cell`` is set when the line lies in a table cell.
    """

    text: str
    bbox: BBox
    confidence: float = 1.0
    source: Source
    words: list[Word] = PydField(default_factory=list)
    block: int = 0
    table: int | None = None
    cell: tuple[int, int] | None = PydField(default=None, description="(row, column) in `table`")
    ref: str | None = PydField(
        default=None, description="the cell's address in its workbook (`名册!C7`), for spreadsheet lines"
    )


class TableCell(_Model):
    row: int
    col: int
    text: str
    bbox: BBox | None = None
    ref: str | None = PydField(default=None, description="the cell's address in its workbook (`名册!C7`)")


class Table(_Model):
    """A table recovered from ruling lines (PDF), a Word table, or OCR boxes."""

    index: int
    bbox: BBox | None = None
    n_rows: int
    n_cols: int
    cells: list[TableCell] = PydField(default_factory=list)
    source: Source

    def grid(self) -> list[list[str]]:
        rows = [["" for _ in range(self.n_cols)] for _ in range(self.n_rows)]
        for cell in self.cells:
            rows[cell.row][cell.col] = cell.text
        return rows


class OcrRun(_Model):
    """How a page was recognised: engine, models and what was done to the image."""

    engine: str
    engine_version: str
    models: dict[str, str] = PydField(default_factory=dict)
    rotation: int = PydField(0, description="degrees clockwise applied before OCR (0/90/180/270)")
    skew: float = PydField(0.0, description="degrees of deskew applied before OCR")
    downscale: float = PydField(1.0, description="factor applied to oversized images")
    dpi: float | None = PydField(None, description="render DPI for PDF pages")
    seconds: float = 0.0
    cached: bool = False
    mean_confidence: float | None = None


class Page(_Model):
    number: int = PydField(description="1-based page number")
    width: float
    height: float
    unit: Literal["pt", "px", "dxf"] = PydField(
        description="pt: PDF points (and Word flow layout); px: image pixels; dxf: drawing units"
    )
    source: Source = PydField(description="text layer or OCR: the decision made for this page")
    decision: str = PydField("", description="why `source` was chosen")
    image_sha256: str | None = PydField(None, description="blob of the page image the bboxes refer to")
    image_scale: float = PydField(1.0, description="image pixels per page unit")
    lines: list[Line] = PydField(default_factory=list)
    tables: list[Table] = PydField(default_factory=list)
    ocr: OcrRun | None = None
    name: str | None = PydField(None, description="the worksheet's name, for a spreadsheet page")

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class DocumentError(_Model):
    code: str
    message: str = PydField(description="Chinese message for users")
    message_en: str


class Coverage(_Model):
    """A checklist item a document covers besides its own type (a combined document).

    "应急救援预案及职业病防治措施" is an emergency plan that also covers the
    occupational-hazard measures; a responsibility system with a chapter
    "第四章 职业危害防治" covers them too. `how` says what showed it:
    the title (or file name), a section heading, a statement in the text
    ("设立安全生产管理科"), or only a mention in passing (which proves nothing:
    the checklist rule asks a person instead of failing or passing).
    """

    doc_type: str
    how: Literal["title", "heading", "statement", "mention"]
    text: str
    page: int | None = None


class Conversion(_Model):
    """How a file was converted before it was read (e.g. .doc → .docx by LibreOffice).

    The document's ``sha256``/``size`` stay those of the original file; the
    converted bytes are only an intermediate and are identified here.
    """

    from_format: str = PydField(description="format of the original file (doc, wps, rtf, odt, et)")
    to_format: str = PydField(description="format that was read (docx, xlsx)")
    tool: str = PydField(description="converter and version, e.g. 'LibreOffice 7.4.7.2'")
    seconds: float = 0.0
    sha256: str = PydField("", description="sha256 of the converted bytes")


class Evidence(_Model):
    document: str
    page: int | None = None
    bbox: BBox | None = None
    text: str = ""


class Field(_Model):
    """One extracted fact, with where it was read (see contract.md FIELD)."""

    type: str
    value: Any
    normalized: Any = None
    role: str | None = None
    document: str
    page: int | None = None
    bbox: BBox | None = None
    confidence: float = 1.0
    source: Source
    attributes: dict[str, Any] = PydField(default_factory=dict)


class Document(_Model):
    id: str
    path: str = PydField(description="path inside the package")
    sha256: str
    size: int
    kind: DocumentKind
    media_type: str = ""
    status: Literal["ok", "error"] = "ok"
    error: DocumentError | None = None
    warnings: list[DocumentError] = PydField(default_factory=list)
    doc_type: str = "other"
    doc_type_confidence: float = 0.0
    covers: list[Coverage] = PydField(default_factory=list, description="checklist items covered besides doc_type")
    pages: list[Page] = PydField(default_factory=list)
    fields: list[Field] = PydField(default_factory=list)
    conversion: Conversion | None = PydField(
        None, description="set when the file was converted before reading (provenance)"
    )

    @property
    def text(self) -> str:
        return "\n\n".join(page.text for page in self.pages)
