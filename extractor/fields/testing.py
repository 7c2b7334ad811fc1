"""Building Documents by hand, for tests of extraction and of checks (no OCR).

>>> doc = DocBuilder("d1").page().line("姓名:王建国").line("身份证号:110102199101010078").build()

Lines are laid out top to bottom; each line's words are its space-separated
runs with boxes in proportion to their length, which is what a text-layer
reader produces, so evidence and column clustering behave as on real pages.
"""

from __future__ import annotations

import hashlib

from ..model import Document, DocumentKind, Line, Page, Source, Table, TableCell, Word


class DocBuilder:
    def __init__(self, doc_id: str = "doc-1", path: str | None = None, *, source: Source = Source.TEXT,
                 char_width: float = 10.0, line_height: float = 14.0, confidence: float = 1.0) -> None:
        self.doc_id = doc_id
        self.path = path or f"{doc_id}.pdf"
        self.source = source
        self.cw = char_width
        self.lh = line_height
        self.conf = confidence
        self.pages: list[Page] = []
        self._y = 0.0

    # ------------------------------------------------------------------ pages and lines

    def page(self, width: float = 595.0, height: float = 842.0) -> DocBuilder:
        self.pages.append(Page(number=len(self.pages) + 1, width=width, height=height,
                               unit="px" if self.source == Source.OCR else "pt", source=self.source))
        self._y = 50.0
        return self

    def _cur(self) -> Page:
        if not self.pages:
            self.page()
        return self.pages[-1]

    def line(self, text: str, *, x: float = 50.0, confidence: float | None = None, block: int = 0,
             y: float | None = None) -> DocBuilder:
        page = self._cur()
        conf = self.conf if confidence is None else confidence
        top = self._y if y is None else y
        words = []
        pos = 0
        for run in text.split(" "):
            if run:
                x0 = x + pos * self.cw
                words.append(Word(text=run, bbox=(x0, top, x0 + len(run) * self.cw, top + self.lh - 2),
                                  confidence=conf))
            pos += len(run) + 1
        bbox = (x, top, x + max(len(text), 1) * self.cw, top + self.lh - 2)
        page.lines.append(Line(text=text, bbox=bbox, confidence=conf, source=self.source, words=words, block=block))
        if y is None:
            self._y += self.lh
        return self

    def lines(self, *texts: str) -> DocBuilder:
        for t in texts:
            self.line(t)
        return self

    def row(self, cells: list[str], xs: list[float], *, confidence: float | None = None) -> DocBuilder:
        """One row of an unruled table: each cell a separate line (as OCR gives
        boxes) at the given x positions, all on the same baseline."""
        top = self._y
        for text, x in zip(cells, xs):
            if text:
                self.line(text, x=x, y=top, confidence=confidence)
        self._y += self.lh
        return self

    def table(self, rows: list[list[str]], *, col_width: float = 90.0, row_height: float = 20.0,
              x: float = 40.0, source: Source | None = None) -> DocBuilder:
        """A ruled table (as pdfplumber or a Word reader gives it), with tagged lines."""
        page = self._cur()
        index = len(page.tables)
        top0 = self._y
        cells = []
        n_cols = max(len(r) for r in rows)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                bbox = (x + c * col_width, top0 + r * row_height, x + (c + 1) * col_width, top0 + (r + 1) * row_height)
                cells.append(TableCell(row=r, col=c, text=text, bbox=bbox))
                if text:
                    page.lines.append(Line(text=text, bbox=(bbox[0] + 2, bbox[1] + 2, bbox[2] - 2, bbox[3] - 2),
                                           confidence=self.conf, source=source or self.source,
                                           words=[Word(text=text, bbox=(bbox[0] + 2, bbox[1] + 2, bbox[2] - 2,
                                                                        bbox[3] - 2), confidence=self.conf)],
                                           table=index, cell=(r, c), block=1000 + index))
        page.tables.append(Table(index=index, bbox=(x, top0, x + n_cols * col_width, top0 + len(rows) * row_height),
                                 n_rows=len(rows), n_cols=n_cols, cells=cells, source=source or self.source))
        self._y = top0 + len(rows) * row_height + self.lh
        return self

    def build(self) -> Document:
        if not self.pages:
            self.page()
        text = "\n".join(ln.text for p in self.pages for ln in p.lines)
        return Document(
            id=self.doc_id, path=self.path, sha256=hashlib.sha256(text.encode()).hexdigest(), size=len(text),
            kind=DocumentKind.IMAGE if self.source == Source.OCR else DocumentKind.PDF, pages=list(self.pages),
        )


def doc_from_lines(*texts: str, doc_id: str = "doc-1", source: Source = Source.TEXT) -> Document:
    return DocBuilder(doc_id, source=source).page().lines(*texts).build()
