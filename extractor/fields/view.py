"""The view every extraction step reads: normalised lines with their evidence.

A :class:`TextLine` is one line of a page (or one table cell) with its
normalised text and a map back to the original characters, so that any
normalised span resolves to the bounding box of the words it came from
(:meth:`DocView.evidence`). Steps never touch the Document's geometry
themselves.

A :class:`Mention` is what a step found: a field in the making, pointing at
spans of lines. :mod:`extractor.fields.assemble` turns mentions into Fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..model import BBox, Document, Line, Source
from ..normalize import Normalized, is_han, normalize_with_map


def union(boxes: list[BBox]) -> BBox | None:
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


@dataclass(slots=True)
class TextLine:
    """A line (or a table cell) in reading order, normalised."""

    id: int
    page: int  # 1-based
    raw: str
    norm: Normalized
    bbox: BBox | None
    confidence: float
    source: Source
    block: int = 0
    table: int | None = None
    cell: tuple[int, int] | None = None
    # Per original character, the bbox of the word it belongs to (None: unknown).
    char_boxes: list[BBox | None] | None = None
    # Per original character, the recogniser's own confidence in it (its
    # word's score); a field's confidence is also capped by its line's.
    char_conf: list[float] | None = None
    page_line: int | None = None  # index into page.lines, None for synthetic cell lines
    ref: str | None = None  # a spreadsheet cell's address (名册!C7), carried into the field as evidence

    @property
    def text(self) -> str:
        return self.norm.text


def _char_geometry(line: Line) -> tuple[list[BBox | None], list[float]]:
    """Spread word boxes over the line's characters.

    Words are located in the line text in order; characters of a word get
    the word's box. Characters no word covers get a proportional slice of
    the line box, which is still better evidence than the whole line.
    """
    n = len(line.text)
    boxes: list[BBox | None] = [None] * n
    conf = [line.confidence] * n
    cursor = 0
    for word in line.words:
        if not word.text:
            continue
        pos = line.text.find(word.text, cursor)
        if pos < 0:
            stripped = word.text.strip()
            pos = line.text.find(stripped, cursor) if stripped else -1
            length = len(stripped)
        else:
            length = len(word.text)
        if pos < 0:
            continue
        wlen = max(length, 1)
        x0, top, x1, bottom = word.bbox
        for k in range(pos, min(pos + length, n)):
            # A per-character slice of the word: evidence for a part of a
            # word (an ID inside "身份证号:110...") stays tight.
            frac0 = (k - pos) / wlen
            frac1 = (k - pos + 1) / wlen
            boxes[k] = (x0 + (x1 - x0) * frac0, top, x0 + (x1 - x0) * frac1, bottom)
            conf[k] = word.confidence
        cursor = pos + length
    x0, top, x1, bottom = line.bbox
    for k in range(n):
        if boxes[k] is None:
            boxes[k] = (x0 + (x1 - x0) * k / max(n, 1), top, x0 + (x1 - x0) * (k + 1) / max(n, 1), bottom)
    return boxes, conf


def _respace(line: Line) -> Line:
    """Put back the spaces a reader dropped between words that stand apart.

    "年龄: 50岁送检科室:" is two fields whose words are 16 pt apart; the gap
    is what separates a value from the next label, so it must show in the
    text. Only done when the words spell the line exactly.
    """
    words = [w for w in line.words if w.text]
    if len(words) < 2 or "".join(w.text for w in words) != line.text.replace(" ", ""):
        return line
    height = max(line.bbox[3] - line.bbox[1], 1.0)
    # A text layer's glyph boxes are exact, and a narrow gap between Latin
    # letters or digits is a word space. OCR character boxes are spread over
    # the recogniser's frames, a few pixels off either way, and the recogniser
    # writes the spaces it sees: there a narrow gap inside a certificate number
    # (浙A01202600 02 07, a blind family's scanned roster) is noise, and the
    # split number fell into two columns.
    ascii_gap = 0.35 if line.source == Source.OCR else 0.15
    text = words[0].text
    for prev, w in zip(words, words[1:]):
        gap = w.bbox[0] - prev.bbox[2]
        ascii_pair = prev.text[-1:].isascii() and w.text[:1].isascii()
        text += (" " if gap > 0.35 * height or ascii_pair and gap > ascii_gap * height else "") + w.text
    if text == line.text:
        return line
    return line.model_copy(update={"text": text})


@dataclass(slots=True)
class Span:
    line: int  # TextLine.id
    start: int  # normalised offsets, end exclusive
    end: int


@dataclass(slots=True)
class Mention:
    """A field in the making: what was found, where, and how sure the finder is."""

    type: str
    value: Any
    spans: list[Span]
    certainty: float = 0.9
    normalized: Any = None
    role: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    step: str = ""


@dataclass(slots=True)
class DocView:
    doc: Document
    lines: list[TextLine]
    by_page: dict[int, list[TextLine]]

    def line(self, line_id: int) -> TextLine:
        return self.lines[line_id]

    def reading(self) -> list[TextLine]:
        """The lines on the pages, page by page in reading order. ``lines`` also
        keeps the pieces that were joined into others (evidence still points at
        them by id); reading them again would read their text twice."""
        return [ln for page in sorted(self.by_page) for ln in self.by_page[page]]

    def flow(self) -> list[TextLine]:
        """Lines outside tables, in reading order (prose and key–value text)."""
        return [ln for ln in self.reading() if ln.table is None]

    def evidence(self, spans: list[Span]) -> tuple[int | None, BBox | None, float, Source]:
        """Page, bbox, OCR confidence and source of the characters in ``spans``."""
        boxes: list[BBox] = []
        confs: list[float] = []
        page = None
        source = Source.TEXT
        for sp in spans:
            ln = self.lines[sp.line]
            if page is None:
                page = ln.page
                source = ln.source
            if ln.page != page:
                continue  # evidence stays on the first page the field was read on
            a, b = ln.norm.source_span(sp.start, sp.end)
            if ln.char_boxes and b > a:
                boxes.extend(bx for bx in ln.char_boxes[a:b] if bx is not None)
                if ln.table is not None:
                    # A cell counts as its lines read whole (the recogniser's score of
                    # a line); its characters' own scores serve char_confidences only.
                    confs.append(ln.confidence)
                elif ln.char_conf:
                    # Brackets and stops are what the recogniser is least sure of and
                    # what matters least: a value's weakest letter, digit or Han decides.
                    own = [x for c, x in zip(ln.raw[a:b], ln.char_conf[a:b]) if c.isalnum()]
                    confs.extend(own or ln.char_conf[a:b])
                else:
                    confs.append(ln.confidence)
                if ln.source == Source.OCR:
                    confs.append(ln.confidence)  # a shaky line weakens every reading on it
            elif ln.bbox is not None:
                boxes.append(ln.bbox)
                confs.append(ln.confidence)
        bbox = union(boxes)
        conf = min(confs) if confs else 1.0
        return page, (tuple(round(v, 2) for v in bbox) if bbox else None), conf, source

    def char_confidences(self, spans: list[Span]) -> list[tuple[str, float]] | None:
        """Each character the recogniser read in ``spans`` with its own confidence
        (spaces skipped), on the evidence page; None when the text was not read
        by OCR or the recogniser gave no per-character scores.

        A check that turns on one character (黄振东 against 黄振栋) asks how sure
        the reading of that character was, not of the weakest one in the line.
        """
        out: list[tuple[str, float]] = []
        page = None
        for sp in spans:
            ln = self.lines[sp.line]
            if ln.source != Source.OCR or not ln.char_conf:
                return None
            if page is None:
                page = ln.page
            if ln.page != page:
                continue
            a, b = ln.norm.source_span(sp.start, sp.end)
            out.extend((c, x) for c, x in zip(ln.raw[a:b], ln.char_conf[a:b]) if not c.isspace())
        return out or None


def _cell_char_conf(raw: str, tagged: list[Line]) -> list[float] | None:
    """The recogniser's per-character confidences of a cell's text, when the
    cell is exactly its OCR lines joined (else None: the cell's text came
    from elsewhere and characters cannot be matched to readings)."""
    if not tagged or any(ln.source != Source.OCR for ln in tagged) or "".join(ln.text for ln in tagged) != raw:
        return None
    out: list[float] = []
    for ln in tagged:
        out.extend(_char_geometry(ln)[1])
    return out


def _degenerate(table, lines: list[Line]) -> bool:
    """A frame mistaken for a table: one cell, or a cell holding a whole
    page of text (a drawing's border, a boxed notice). Its lines are read
    as ordinary text."""
    if table.n_rows * table.n_cols <= 1 or table.n_cols == 1:
        return True  # one column: a frame around lines of text, not a grid
    per_cell: dict[tuple[int, int], int] = {}
    for ln in lines:
        if ln.table == table.index and ln.cell is not None:
            per_cell[ln.cell] = per_cell.get(ln.cell, 0) + 1
    return max(per_cell.values(), default=0) > 8


def _join_spaced_labels(page_lines: list[TextLine], lines: list[TextLine]) -> list[TextLine]:
    """Labels set with wide letter-spacing ("姓      名：钱国栋", "性    别：男") reach
    us from OCR as two boxes, "姓" and "名：钱国栋", which no label matches; a
    column of such first characters may even come as one tall box ("证姓").
    Join each first character with the box to its right on the same row when
    together they start with a known label and a colon; the joined line takes
    the place of the first of the two, so records keep their order."""
    from .lexicon import LABELS  # a data table; imported here to keep view free of the steps' vocabulary

    labels = {v for variants in LABELS.values() for v in variants}
    # (character, its box, the line it comes from)
    heads: list[tuple[str, tuple[float, float, float, float], TextLine]] = []
    for ln in page_lines:
        raw = ln.raw.strip()
        if ln.bbox is None or ln.table is not None or not raw or not all(is_han(c) for c in raw):
            continue
        x0, y0, x1, y1 = ln.bbox
        if len(raw) == 1:
            heads.append((raw, ln.bbox, ln))
        elif len(raw) in (2, 3) and (y1 - y0) >= 1.5 * (x1 - x0):
            # Characters stacked in one tall box: give each its slice of the box.
            step = (y1 - y0) / len(raw)
            heads += [(c, (x0, y0 + k * step, x1, y0 + (k + 1) * step), ln) for k, c in enumerate(raw)]
    if not heads:
        return page_lines
    joins: list[tuple[tuple[str, tuple[float, float, float, float], TextLine], TextLine]] = []
    taken: set[int] = set()
    for head in heads:
        ch, (sx0, sy0, sx1, sy1), src = head
        h = max(sy1 - sy0, 1.0)
        best: TextLine | None = None
        for ln in page_lines:
            if ln is src or ln.id in taken or ln.bbox is None or ln.table is not None:
                continue
            x0, y0, x1, y1 = ln.bbox
            overlap = min(sy1, y1) - max(sy0, y0)
            m = re.match(r"^\s*([\u4e00-\u9fff]{1,3})\s*[:：]", ln.raw)
            if overlap < 0.5 * min(h, y1 - y0) or not (0 <= x0 - sx1 <= 8 * h) or not m:
                continue
            if ch + m.group(1) in labels and (best is None or x0 < best.bbox[0]):  # type: ignore[index]
                best = ln
        if best is not None:
            joins.append((head, best))
            taken.add(best.id)
    # A tall box is replaced only when every character in it found its label.
    whole = {id(src) for _c, _b, src in heads if sum(1 for (_, _, s), _r in joins if s is src) ==
             len(src.raw.strip())}
    out = list(page_lines)
    for (ch, box, src), right in joins:
        if id(src) not in whole:
            continue
        raw = ch + right.raw.lstrip()
        cut = len(right.raw) - len(right.raw.lstrip())
        right_boxes = right.char_boxes[cut:] if right.char_boxes else [right.bbox] * len(right.raw.lstrip())
        right_conf = right.char_conf[cut:] if right.char_conf else [right.confidence] * len(right.raw.lstrip())
        tl = TextLine(id=len(lines), page=right.page, raw=raw, norm=normalize_with_map(raw),
                      bbox=union([box, right.bbox]), confidence=min(src.confidence, right.confidence),
                      source=right.source, block=right.block, char_boxes=[box] + list(right_boxes),
                      char_conf=[src.confidence] + list(right_conf))
        lines.append(tl)
        at = out.index(right)
        out[at] = tl
    gone = {id(src) for _c, _b, src in heads if id(src) in whole}
    return [x for x in out if id(x) not in gone]


def _join_vertical(page_lines: list[TextLine], lines: list[TextLine]) -> list[TextLine]:
    """Text written top to bottom on drawings ("防/火/间/距/1/2/./0/m") comes
    as one-character lines stacked at the same x: join each stack into one
    line (a new TextLine appended to ``lines``; the pieces leave the page)."""
    # One character, or two narrow ones ("5." of "15.0m") set as one glyph run; two Han
    # characters ("性别") are a word written across, the header of a column below it.
    singles = [ln for ln in page_lines if ln.bbox is not None and ln.table is None and (
        len(ln.raw.strip()) == 1 or (len(ln.raw.strip()) == 2 and not any(is_han(c) for c in ln.raw)
                                     and ln.bbox[2] - ln.bbox[0] <= 1.6 * max(ln.bbox[3] - ln.bbox[1], 1.0)))]
    if len(singles) < 3:
        return page_lines
    singles.sort(key=lambda ln: (round((ln.bbox[0] + ln.bbox[2]) / 2), ln.bbox[1]))  # type: ignore[index]
    stacks: list[list[TextLine]] = []
    for ln in sorted(singles, key=lambda ln: ln.bbox[1]):  # type: ignore[index]
        cx = (ln.bbox[0] + ln.bbox[2]) / 2  # type: ignore[index]
        for st in stacks:
            last = st[-1]
            lcx = (last.bbox[0] + last.bbox[2]) / 2  # type: ignore[index]
            h = max(last.bbox[3] - last.bbox[1], 1.0)  # type: ignore[index]
            if abs(lcx - cx) <= 3 and -1 <= ln.bbox[1] - last.bbox[3] <= 0.35 * h:  # type: ignore[index]
                st.append(ln)
                break
        else:
            stacks.append([ln])
    drop: set[int] = set()
    joined: list[TextLine] = []
    for st in stacks:
        if len(st) < 3:
            continue
        raw = "".join(ln.raw.strip() for ln in st)
        if set(raw) <= {"男", "女"}:
            continue  # a roster's 性别 column, one cell per row: not a word written downwards
        boxes = [ln.bbox for ln in st for _ in ln.raw.strip()]
        confs = [ln.confidence for ln in st for _ in ln.raw.strip()]
        tl = TextLine(id=len(lines), page=st[0].page, raw=raw, norm=normalize_with_map(raw),
                      bbox=union([ln.bbox for ln in st]), confidence=min(ln.confidence for ln in st),
                      source=st[0].source, block=st[0].block, char_boxes=boxes, char_conf=confs)
        lines.append(tl)
        joined.append(tl)
        drop.update(ln.id for ln in st)
    if not joined:
        return page_lines
    return [ln for ln in page_lines if ln.id not in drop] + joined


def build_view(doc: Document) -> DocView:
    """Normalise every line of ``doc``; add one synthetic line per table cell.

    Cells come from ``page.tables``; a cell's box is the Table's own (or the
    union of the page lines the reader tagged with that cell). Page lines
    tagged with a cell are kept out of the flow, so a table's text is read
    once, as a table.
    """
    lines: list[TextLine] = []
    by_page: dict[int, list[TextLine]] = {}
    for page in doc.pages:
        page_lines: list[TextLine] = []
        cell_lines: dict[tuple[int, int, int], list[Line]] = {}
        real_tables = {t.index for t in page.tables if not _degenerate(t, page.lines)}
        for i, line in enumerate(page.lines):
            if line.table is not None and line.cell is not None and line.table in real_tables:
                cell_lines.setdefault((line.table, *line.cell), []).append(line)
                continue  # read through the table
            line = _respace(line)
            boxes, conf = _char_geometry(line)
            tl = TextLine(
                id=len(lines), page=page.number, raw=line.text, norm=normalize_with_map(line.text),
                bbox=line.bbox, confidence=line.confidence, source=line.source, block=line.block,
                table=None, cell=None, char_boxes=boxes, char_conf=conf, page_line=i, ref=line.ref,
            )
            lines.append(tl)
            page_lines.append(tl)
        page_lines = _join_spaced_labels(page_lines, lines)
        page_lines = _join_vertical(page_lines, lines)
        for table in page.tables:
            if table.index not in real_tables:
                continue
            for cell in table.cells:
                tagged = cell_lines.get((table.index, cell.row, cell.col), [])
                raw = cell.text.replace("\n", "") if cell.text else ""
                if not raw and tagged:
                    raw = "".join(ln.text for ln in tagged)
                bbox = cell.bbox or union([ln.bbox for ln in tagged])
                conf = min([ln.confidence for ln in tagged], default=1.0)
                src = tagged[0].source if tagged else table.source
                tl = TextLine(
                    id=len(lines), page=page.number, raw=raw, norm=normalize_with_map(raw), bbox=bbox,
                    confidence=conf, source=src, block=-1, table=table.index, cell=(cell.row, cell.col),
                    ref=cell.ref,
                )
                if bbox is not None and raw:
                    # Characters share the cell box: a cell is small enough as evidence.
                    tl.char_boxes = [bbox] * len(raw)
                    tl.char_conf = _cell_char_conf(raw, tagged) or [conf] * len(raw)
                lines.append(tl)
                page_lines.append(tl)
        by_page[page.number] = page_lines
    return DocView(doc=doc, lines=lines, by_page=by_page)


_SENTENCE_END = tuple("。;；:!！?？")


@dataclass(slots=True)
class Paragraph:
    """Flow lines joined where a paragraph wraps, so a name or a measure
    broken across two lines is read whole."""

    text: str
    pieces: list[tuple[int, int, int]]  # (line id, offset in text, length)

    def spans(self, start: int, end: int) -> list[Span]:
        out = []
        for line_id, off, length in self.pieces:
            a, b = max(start, off), min(end, off + length)
            if a < b:
                out.append(Span(line_id, a - off, b - off))
        return out


def paragraphs(view: DocView) -> list[Paragraph]:
    """Join a flow line to the next when it runs to the right margin without
    ending a sentence (a wrapped line), on the same page and block."""
    out: list[Paragraph] = []
    for page, lines in view.by_page.items():
        flow = [ln for ln in lines if ln.table is None and ln.text]
        if not flow:
            continue
        right = max((ln.bbox[2] for ln in flow if ln.bbox), default=0.0)
        left = min((ln.bbox[0] for ln in flow if ln.bbox), default=0.0)
        width = max(right - left, 1.0)
        cur: Paragraph | None = None
        prev: TextLine | None = None
        for ln in flow:
            wraps = (
                cur is not None and prev is not None and prev.bbox and ln.bbox
                and not prev.text.endswith(_SENTENCE_END)
                and prev.bbox[2] >= right - 0.06 * width
                and len(prev.text) >= 12
                and ln.bbox[0] <= left + 0.08 * width
                and prev.bbox[0] <= left + 0.12 * width
                and ln.bbox[1] - prev.bbox[3] < 1.5 * max(prev.bbox[3] - prev.bbox[1], 1.0)
            )
            if wraps and cur is not None:
                cur.pieces.append((ln.id, len(cur.text), len(ln.text)))
                cur.text += ln.text
            else:
                cur = Paragraph(ln.text, [(ln.id, 0, len(ln.text))])
                out.append(cur)
            prev = ln
    return out
