"""From positioned glyphs to lines in reading order.

Every reader ends here: the PDF reader hands in characters with boxes, the
OCR stage hands in recognised lines. This module

* removes characters drawn more than once (fake bold: the same glyph painted
  2–4 times at nearly the same place),
* groups characters into words and lines,
* orders lines for reading: tables stay together as one block, columns are
  read one after the other (recursive XY-cut), and within a block lines go
  top to bottom, left to right.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .model import BBox, Line, Source, Table, Word


@dataclass(slots=True)
class Glyph:
    """One character with its box (page unit, origin top-left)."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    confidence: float = 1.0

    @property
    def height(self) -> float:
        return self.bottom - self.top


def dedupe_glyphs(glyphs: Sequence[Glyph], tolerance: float = 0.25) -> list[Glyph]:
    """Drop a glyph when the same character already sits at (nearly) the same place.

    The tolerance is a fraction of the font size: fake-bold duplicates in
    real PDFs are offset by up to ~1.5 pt on 26 pt text (pdfplumber issue
    842), more than pdfplumber's fixed 1 pt tolerance catches. Sorting by
    (text, top) puts every duplicate right after its original, so the scan
    only looks back a few places.
    """
    order = sorted(range(len(glyphs)), key=lambda i: (glyphs[i].text, glyphs[i].top))
    drop: set[int] = set()
    for pos, i in enumerate(order):
        g = glyphs[i]
        if not g.text.strip():
            continue
        tol = tolerance * max(g.size, 1.0)
        back = pos - 1
        while back >= 0:
            j = order[back]
            other = glyphs[j]
            if other.text != g.text or g.top - other.top > tol:
                break
            if j not in drop and abs(other.x0 - g.x0) <= tol:
                # Keep the glyph drawn first; drop the later copy.
                drop.add(max(i, j))
                if max(i, j) == j:
                    continue
                break
            back -= 1
    return [g for k, g in enumerate(glyphs) if k not in drop]


def _union(boxes: Iterable[BBox]) -> BBox:
    xs0, ys0, xs1, ys1 = zip(*boxes, strict=True)
    return (min(xs0), min(ys0), max(xs1), max(ys1))


def glyphs_to_lines(glyphs: Sequence[Glyph], source: Source) -> list[Line]:
    """Group glyphs into lines and words.

    A row is a run of glyphs whose vertical centres lie within half a glyph
    height of each other; a row splits into separate lines at wide gaps
    (more than ~2.5 characters), which keeps side-by-side columns and
    key/value cells apart. Words split at spaces and at gaps wider than a
    third of the font size.
    """
    visible = [g for g in glyphs if g.x1 >= g.x0 and g.bottom >= g.top and g.text]
    if not visible:
        return []
    visible.sort(key=lambda g: ((g.top + g.bottom) / 2, g.x0))

    rows: list[list[Glyph]] = []
    row_centre = 0.0
    row_height = 0.0
    for g in visible:
        centre = (g.top + g.bottom) / 2
        if rows and abs(centre - row_centre) <= 0.5 * max(row_height, g.height):
            rows[-1].append(g)
            n = len(rows[-1])
            row_centre += (centre - row_centre) / n
            row_height = max(row_height, g.height)
        else:
            rows.append([g])
            row_centre, row_height = centre, g.height
    rows = [part for row in rows for part in _split_overprinted(row)]

    lines: list[Line | None] = []
    for row in rows:
        row.sort(key=lambda g: g.x0)
        segment: list[Glyph] = []
        for g in row:
            if segment:
                gap = g.x0 - segment[-1].x1
                size = max(segment[-1].size, g.size, 1.0)
                if gap > 2.5 * size:
                    lines.append(_make_line(segment, source))
                    segment = []
            segment.append(g)
        if segment:
            lines.append(_make_line(segment, source))
    return [line for line in lines if line is not None]


def _split_overprinted(row: list[Glyph], depth: int = 0) -> list[list[Glyph]]:
    """A row where glyphs share their place (a signature block or a stamp's text
    printed over the body) holds two lines: split it at the widest gap between
    glyph centres, so neither line's text is interleaved with the other's."""
    ordered = sorted(row, key=lambda g: g.x0)
    if depth >= 2 or not any(_overprints(a, b) for a, b in zip(ordered, ordered[1:])):
        return [row]
    by_centre = sorted(row, key=lambda g: (g.top + g.bottom) / 2)
    gaps = [((b.top + b.bottom) - (a.top + a.bottom)) / 2 for a, b in zip(by_centre, by_centre[1:])]
    cut = max(range(len(gaps)), key=lambda i: gaps[i])
    if gaps[cut] <= 0.05 * max(g.height for g in row):
        return [row]  # the same line printed twice (bold by overprinting): dedupe_glyphs' business
    upper, lower = by_centre[:cut + 1], by_centre[cut + 1:]
    return _split_overprinted(upper, depth + 1) + _split_overprinted(lower, depth + 1)


def _overprints(a: Glyph, b: Glyph) -> bool:
    """Two letters or characters sharing most of their width (one printed over
    the other). Punctuation is kerned into its neighbours and never counts."""
    if not (a.text.isalnum() and b.text.isalnum()) or a.text == b.text:
        return False
    overlap = min(a.x1, b.x1) - max(a.x0, b.x0)
    return overlap > 0.5 * max(min(a.x1 - a.x0, b.x1 - b.x0), 0.1)


def _make_line(glyphs: list[Glyph], source: Source) -> Line | None:
    words: list[Word] = []
    current: list[Glyph] = []

    def flush() -> None:
        if current:
            words.append(
                Word(
                    text="".join(g.text for g in current),
                    bbox=_union((g.x0, g.top, g.x1, g.bottom) for g in current),
                    confidence=min(g.confidence for g in current),
                )
            )
            current.clear()

    for g in glyphs:
        if not g.text.strip():
            flush()
            continue
        if current and g.x0 - current[-1].x1 > max(current[-1].size, g.size, 1.0) / 3:
            flush()
        current.append(g)
    flush()
    if not words:
        return None  # only spaces
    text = _join_words(words)
    confidence = min((w.confidence for w in words), default=1.0)
    return Line(
        text=text,
        bbox=_union(w.bbox for w in words),
        confidence=confidence,
        source=source,
        words=words,
    )


def _is_cjk(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"


def _join_words(words: Sequence[Word]) -> str:
    """Join words with a space, except between two CJK characters."""
    out = ""
    for word in words:
        if out and not (_is_cjk(out[-1]) and _is_cjk(word.text[0])):
            out += " "
        out += word.text
    return out


def glyphs_to_cell_lines(
    glyphs: Sequence[Glyph], tables: Sequence[Table], source: Source
) -> list[Line]:
    """Like :func:`glyphs_to_lines`, but never joins text across table cells.

    Two cells on one row are often closer than the column-gap threshold
    (``车道数`` and ``用地指标基准值`` in pdfplumber issue 336), so glyphs are
    first partitioned by the cell they sit in.
    """
    if not tables:
        return glyphs_to_lines(glyphs, source)
    # Index cells by 20 pt row bands, so each glyph tests only nearby cells.
    band = 20.0
    index: dict[int, list[tuple[int, int, int, BBox]]] = {}
    for table in tables:
        for cell in table.cells:
            if cell.bbox is None:
                continue
            for b in range(int(cell.bbox[1] // band), int(cell.bbox[3] // band) + 1):
                index.setdefault(b, []).append((table.index, cell.row, cell.col, cell.bbox))
    groups: dict[tuple[int, int, int] | None, list[Glyph]] = {}
    for g in glyphs:
        cx, cy = (g.x0 + g.x1) / 2, (g.top + g.bottom) / 2
        key = None
        for t, r, c, (x0, y0, x1, y1) in index.get(int(cy // band), ()):
            if x0 <= cx <= x1 and y0 <= cy <= y1:
                key = (t, r, c)
                break
        groups.setdefault(key, []).append(g)
    lines: list[Line] = []
    for key, members in groups.items():
        for line in glyphs_to_lines(members, source):
            if key is not None:
                line.table, line.cell = key[0], (key[1], key[2])
            lines.append(line)
    return lines


# --------------------------------------------------------------------------
# Reading order


def assign_table_cells(lines: list[Line], tables: Sequence[Table]) -> None:
    """Mark lines whose centre falls inside a table cell (in place)."""
    for table in tables:
        for cell in table.cells:
            if cell.bbox is None:
                continue
            x0, y0, x1, y1 = cell.bbox
            for line in lines:
                cx = (line.bbox[0] + line.bbox[2]) / 2
                cy = (line.bbox[1] + line.bbox[3]) / 2
                if x0 <= cx <= x1 and y0 <= cy <= y1 and line.table is None:
                    line.table = table.index
                    line.cell = (cell.row, cell.col)


def reading_order(lines: list[Line]) -> list[Line]:
    """Return the lines in reading order, with ``block`` numbers set.

    Lines inside a table (``line.table`` set, see :func:`assign_table_cells`
    and :func:`glyphs_to_cell_lines`) form one unit, row by row and cell by
    cell, placed where the table stands; the rest is split by recursive
    XY-cut at the widest gaps (bands top to bottom, columns left to right).
    """
    units: list[list[Line]] = []
    by_table: dict[int, list[Line]] = {}
    for line in lines:
        if line.table is not None:
            by_table.setdefault(line.table, []).append(line)
        else:
            units.append([line])
    for table_lines in by_table.values():
        table_lines.sort(key=lambda ln: (ln.cell or (0, 0), ln.bbox[1], ln.bbox[0]))
        units.append(table_lines)

    boxes = [_union(ln.bbox for ln in unit) for unit in units]
    order = _xy_cut(list(range(len(units))), boxes)
    ordered: list[Line] = []
    for block, index in enumerate(order):
        for line in units[index]:
            line.block = block
            ordered.append(line)
    return ordered


def _xy_cut(indices: list[int], boxes: Sequence[BBox], depth: int = 0) -> list[int]:
    """Recursive XY-cut: split at the widest clear gap, bands or columns.

    Choosing the widest gap (rather than always bands first) is what keeps
    two columns apart: the gutter between columns is wider than the
    spacing between lines, so the page splits into columns first.
    """
    if len(indices) <= 1 or depth > 200:
        return sorted(indices, key=lambda i: (boxes[i][1], boxes[i][0]))
    best: tuple[float, list[list[int]]] | None = None
    for axis in (1, 0):  # 1: bands (gaps along y), 0: columns (gaps along x)
        gap, groups = _split(indices, boxes, axis)
        if len(groups) > 1 and (best is None or gap > best[0]):
            best = (gap, groups)
    if best is None:
        return sorted(indices, key=lambda i: (boxes[i][1], boxes[i][0]))
    return [i for group in best[1] for i in _xy_cut(group, boxes, depth + 1)]


def _split(indices: list[int], boxes: Sequence[BBox], axis: int) -> tuple[float, list[list[int]]]:
    """Split at gaps along ``axis`` that no box crosses; return the widest gap too."""
    lo, hi = (0, 2) if axis == 0 else (1, 3)
    spans = sorted(indices, key=lambda i: boxes[i][lo])
    heights = sorted(boxes[i][3] - boxes[i][1] for i in indices)
    line_height = max(heights[len(heights) // 2], 1.0)
    # A column gutter must be wider than a typical character, or two words
    # on one line would count as columns.
    min_gap = line_height if axis == 0 else 0.0
    gaps: list[float] = []
    reach = boxes[spans[0]][hi]
    for i in spans[1:]:
        gaps.append(boxes[i][lo] - reach)
        reach = max(reach, boxes[i][hi])
    widest = max(gaps, default=0.0)
    if widest <= min_gap:
        return 0.0, [indices]
    # Cut only at the widest gaps (within 10%): the rest is cut in the
    # recursion, so a title's gap is decided before the rows' gaps.
    groups: list[list[int]] = [[spans[0]]]
    for i, gap in zip(spans[1:], gaps, strict=True):
        if gap >= 0.9 * widest:
            groups.append([i])
        else:
            groups[-1].append(i)
    if axis == 0 and len(groups) > 1 and any(len(g) < 2 for g in groups):
        # A key and its value side by side on one row are not two columns.
        return 0.0, [indices]
    # Normalise by line height so bands and columns compare fairly.
    return widest / line_height, groups
