"""Word reader: paragraphs and tables in body order, via python-docx.

A .docx has no fixed page geometry (pages depend on the renderer), so its
text is laid out on one page in "flow coordinates": each paragraph or table
row is one line 20 units tall, x from 0 to its length in characters × 12.
Evidence for a Word file therefore names the paragraph, not a crop.
"""

from __future__ import annotations

import io
import zipfile

from docx import Document as load_docx
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph

from ..errors import ErrorCode, InputError
from ..model import Line, Page, Source, Table, TableCell, Word
from .base import ReadOutput

_LINE = 20.0
_CHAR = 12.0


def read_docx(data: bytes) -> ReadOutput:
    try:
        document = load_docx(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputError(ErrorCode.CORRUPT_FILE, f"Word 文件无法打开: {exc}", str(exc)) from exc
    except Exception as exc:  # lxml raises many kinds of error on broken XML
        raise InputError(
            ErrorCode.CORRUPT_FILE, f"Word 文件无法打开: {type(exc).__name__}", type(exc).__name__
        ) from exc

    lines: list[Line] = []
    tables: list[Table] = []
    y = 0.0

    def add_line(text: str, block: int, table: int | None = None,
                 cell: tuple[int, int] | None = None, x: float = 0.0) -> None:
        nonlocal y
        bbox = (x, y, x + max(len(text), 1) * _CHAR, y + _LINE)
        lines.append(Line(text=text, bbox=bbox, source=Source.DOCX, block=block, table=table,
                          cell=cell, words=[Word(text=text, bbox=bbox)]))

    block = 0
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = item.text.strip()
            if text:
                add_line(text, block)
                y += _LINE
                block += 1
        elif isinstance(item, DocxTable):
            table = _read_table(item, len(tables), y)
            tables.append(table)
            for cell in table.cells:
                if cell.text:
                    assert cell.bbox is not None
                    y_saved = y
                    y = cell.bbox[1]
                    add_line(cell.text, block, table.index, (cell.row, cell.col), x=cell.bbox[0])
                    y = y_saved
            y = (table.bbox[3] if table.bbox else y) + _LINE
            block += 1
    width = max((ln.bbox[2] for ln in lines), default=595.0)
    page = Page(
        number=1, width=max(width, 595.0), height=max(y, _LINE), unit="pt", source=Source.DOCX,
        decision="Word 文档：读取段落与表格（无版面坐标，按段落顺序定位）", lines=lines, tables=tables,
    )
    return ReadOutput(pages=[page])


def _read_table(table: DocxTable, index: int, top: float) -> Table:
    cells: list[TableCell] = []
    # Keyed by the XML element itself: python-docx hands out new proxies for
    # each access, and ids of dropped proxies get reused.
    seen: set[object] = set()
    n_cols = 0
    rows = table.rows
    col_x: list[float] = []
    for r, row in enumerate(rows):
        x = 0.0
        for c, cell in enumerate(row.cells):
            width = max(len(cell.text.strip()), 4) * _CHAR
            if len(col_x) <= c:
                col_x.append(x)
            x += width
            n_cols = max(n_cols, c + 1)
            # python-docx repeats a merged cell in every grid position it spans.
            if cell._tc in seen:
                continue
            seen.add(cell._tc)
            text = " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
            y = top + r * _LINE
            cells.append(TableCell(row=r, col=c, text=text,
                                   bbox=(col_x[c], y, col_x[c] + width, y + _LINE)))
    return Table(index=index, bbox=(0.0, top, max(col_x, default=0.0) + 100.0, top + len(rows) * _LINE),
                 n_rows=len(rows), n_cols=n_cols, cells=cells, source=Source.DOCX)
