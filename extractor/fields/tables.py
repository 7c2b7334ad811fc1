"""Tables as rows of cells: from ruled tables, and from words laid out in columns.

Ruled PDF tables and Word tables arrive as ``page.tables`` (their cells are
synthetic lines in the view). Unruled tables, and scanned tables whose OCR
boxes come one per cell, are rebuilt here: text segments (runs separated by
spaces, or whole OCR boxes) are clustered into rows by vertical overlap and
into columns by the x-ranges of a header row that names at least two known
columns (``lexicon.HEADERS``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .lexicon import header_key
from .view import DocView, Span, TextLine, union


@dataclass(slots=True)
class Cell:
    text: str
    spans: list[Span]


@dataclass(slots=True)
class Grid:
    page: int
    index: int
    origin: str  # "ruled" | "layout"
    rows: list[list[Cell | None]]
    header_rows: int = 0
    keys: list[str | None] = field(default_factory=list)

    @property
    def is_roster(self) -> bool:
        return sum(k is not None for k in self.keys) >= 2

    def data_rows(self) -> list[tuple[int, list[Cell | None]]]:
        return [(i, r) for i, r in enumerate(self.rows) if i >= self.header_rows]

    def as_json(self) -> dict[str, object]:
        return {
            "page": self.page,
            "index": self.index,
            "origin": self.origin,
            "keys": self.keys,
            "header_rows": self.header_rows,
            "rows": [[c.text if c else None for c in r] for r in self.rows],
        }


def _find_header(rows: list[list[Cell | None]], n_cols: int) -> tuple[int, list[str | None]]:
    """The header: the first of the top rows naming two known columns; a
    second header row fills columns the first leaves unnamed (merged cells)."""
    for r in range(min(3, len(rows))):
        keys = [header_key(c.text) if c else None for c in rows[r]]
        if sum(k is not None for k in keys) >= 2:
            used = r + 1
            if r + 1 < len(rows):
                sub = [header_key(c.text) if c else None for c in rows[r + 1]]
                if any(sub[i] and not keys[i] for i in range(n_cols)) and not any(
                    c and re.search(r"\d{4}", c.text) for c in rows[r + 1]
                ):
                    keys = [keys[i] or sub[i] for i in range(n_cols)]
                    used = r + 2
            return used, keys
    return 0, [None] * n_cols


# What a column's value looks like, for splitting a cell that took its
# neighbour's value: OCR boxes and text runs merge adjacent columns when they
# sit close ("张建国男" under 姓名 with 性别 empty).
_DATE = r"(?:19|20)\d{2}\s*[年.\-/]\s*\d{1,2}\s*[月.\-/]\s*\d{1,2}\s*日?"
_VALUE_SHAPES: dict[str, str] = {
    "sex": r"[男女]",
    "resident_id": r"\d{17}[\dXx]",
    "valid_until": _DATE + r"(?:\s*(?:至|到|-|—|－|~|～)\s*" + _DATE + r")?",
    "issued": _DATE,
    "valid_from": _DATE,
    "age": r"\d{2}",
}


def _split_cell(cell: Cell, shape: str, *, tail: bool) -> tuple[Cell, Cell] | None:
    """(rest, value) when ``cell`` ends (``tail``) or starts with a value of ``shape``
    and something else is left; only one-span cells (their offsets map back)."""
    if len(cell.spans) != 1:
        return None
    sp = cell.spans[0]
    if sp.end - sp.start != len(cell.text):
        return None
    m = re.fullmatch(rf"(?P<rest>.+?)\s*(?P<value>{shape})" if tail else rf"(?P<value>{shape})\s*(?P<rest>.+?)",
                     cell.text)
    if not m or not m["rest"].strip():
        return None
    rest = Cell(m["rest"], [Span(sp.line, sp.start + m.start("rest"), sp.start + m.end("rest"))])
    value = Cell(m["value"], [Span(sp.line, sp.start + m.start("value"), sp.start + m.end("value"))])
    return rest, value


def split_merged_cells(grid: Grid) -> None:
    """Give back to an empty column the value its neighbour swallowed.

    In a data row where column ``i+1`` is empty and column ``i`` ends with a
    value shaped like column ``i+1``'s (or column ``i`` is empty and ``i+1``
    starts with one shaped like column ``i``'s), the cell is split at that
    boundary. Shapes are strict (a sex, an ID number, a date), so a name is
    never cut on a guess.
    """
    keys = grid.keys
    for _r, row in grid.data_rows():
        for i in range(min(len(keys), len(row)) - 1):
            left, right = row[i], row[i + 1]
            if left and left.text and not (right and right.text) and keys[i + 1] in _VALUE_SHAPES \
                    and keys[i] != keys[i + 1]:
                parts = _split_cell(left, _VALUE_SHAPES[keys[i + 1]], tail=True)
                if parts:
                    row[i], row[i + 1] = parts
            elif right and right.text and not (left and left.text) and keys[i] in _VALUE_SHAPES \
                    and keys[i] != keys[i + 1]:
                parts = _split_cell(right, _VALUE_SHAPES[keys[i]], tail=False)
                if parts:
                    row[i + 1], row[i] = parts


def ruled_grids(view: DocView) -> list[Grid]:
    grids = []
    for page in view.doc.pages:
        cells = {(ln.table, ln.cell): ln for ln in view.by_page.get(page.number, []) if ln.table is not None}
        for table in page.tables:
            if not any(key[0] == table.index for key in cells):
                continue  # read as text (a frame, not a grid)
            rows: list[list[Cell | None]] = []
            for r in range(table.n_rows):
                row: list[Cell | None] = []
                for c in range(table.n_cols):
                    ln = cells.get((table.index, (r, c)))
                    row.append(Cell(ln.text, [Span(ln.id, 0, len(ln.text))]) if ln is not None else None)
                rows.append(row)
            hdr, keys = _find_header(rows, table.n_cols)
            grid = Grid(page.number, table.index, "ruled", rows, hdr, keys)
            split_merged_cells(grid)
            grids.append(grid)
    return grids


# --------------------------------------------------------------------------- unruled tables


@dataclass(slots=True)
class _Seg:
    line: TextLine
    start: int
    end: int
    text: str
    x0: float
    x1: float
    top: float
    bottom: float


def _segments(ln: TextLine, view: DocView) -> list[_Seg]:
    out = []
    for m in re.finditer(r"\S+", ln.text):
        _, bbox, _, _ = view.evidence([Span(ln.id, m.start(), m.end())])
        if bbox is None:
            continue
        out.append(_Seg(ln, m.start(), m.end(), m.group(), bbox[0], bbox[2], bbox[1], bbox[3]))
    return out


def _rows_by_y(segs: list[_Seg]) -> list[list[_Seg]]:
    """Group segments whose vertical centres fall inside one another's extent."""
    rows: list[list[_Seg]] = []
    spans: list[tuple[float, float]] = []
    for s in sorted(segs, key=lambda s: (s.top + s.bottom) / 2):
        cy = (s.top + s.bottom) / 2
        if rows and spans[-1][0] <= cy <= spans[-1][1]:
            rows[-1].append(s)
            continue
        rows.append([s])
        spans.append((s.top, s.bottom))
    return [sorted(r, key=lambda s: s.x0) for r in rows]


def _assign(seg: _Seg, header: list[_Seg]) -> int:
    """The column whose header the segment lines up with: left edges
    (left-aligned text) or centres (centred cells, OCR tables), whichever
    agrees best. Overlap alone fails when a cell is
    wider than its header and reaches under the next one."""

    def misalignment(h: _Seg) -> float:
        return min(abs(seg.x0 - h.x0), abs((seg.x0 + seg.x1) / 2 - (h.x0 + h.x1) / 2))

    return min(range(len(header)), key=lambda i: misalignment(header[i]))


def _join(segs: list[_Seg]) -> Cell:
    text = ""
    for s in segs:
        if text and (text[-1].isascii() and s.text[0].isascii()):
            text += " "
        text += s.text
    return Cell(text, [Span(s.line.id, s.start, s.end) for s in segs])


# Columns whose text may wrap onto a second line inside its cell. Not names:
# a row holding only a name is a person whose other cells are blank.
_WRAPPING = {"cert_no", "resident_id", "employer", "category", "title", "valid_until", "issued", "cert_class",
             "issuer"}


# Of those, the ones holding words rather than a number: several of them wrapping at once
# ("建筑起重机械司机（塔式起 / 重机)" beside "江苏省住房和城乡建 / 设厅") continue one row,
# while numbers on a line of their own (an ID and a certificate number) start the next.
_WORDS = {"employer", "category", "title", "cert_class", "issuer", None}


def _continues(previous: list[Cell | None], column: int, keys: list[str | None]) -> bool:
    """Whether text in `column` can be the second line of the previous row's cell: a column
    that wraps, or one the header table does not know (发证机关, 备注), already started above."""
    return column < len(keys) and (keys[column] in _WRAPPING or keys[column] is None) and previous[column] is not None


def _holds_values(row: list[_Seg], keys: list[str | None]) -> bool:
    """Whether a row naming columns also holds what a form fills in beside its labels: a
    person's name (2–3 characters, a known surname) or a number. A table's header holds
    only column names, known or not (出生年月, 文化程度)."""
    from .people import looks_like_name

    for seg, key in zip(row, keys, strict=True):
        if key is not None:
            continue
        text = seg.text.strip()
        if re.search(r"\d{3,}", text) or (len(text) <= 3 and looks_like_name(text)):
            return True
    return False


def layout_grids(view: DocView, start_index: int = 100) -> list[Grid]:
    """Tables rebuilt from the positions of text outside ruled tables."""
    grids: list[Grid] = []
    index = start_index
    for page_no, lines in view.by_page.items():
        flow = [ln for ln in lines if ln.table is None and ln.text]
        if not any(sum(header_key(t) is not None for t in ln.text.split()) >= 1 for ln in flow):
            continue
        segs = [s for ln in flow for s in _segments(ln, view)]
        rows = _rows_by_y(segs)
        r = 0
        while r < len(rows):
            keys = [header_key(s.text) for s in rows[r]]
            # A roster has at least three columns; two boxes on a row are a
            # label and its value, and so is a form's row that holds a value
            # among its labels ("主要负责人 覃峰 职务 总经理").
            if sum(k is not None for k in keys) < 2 or len(rows[r]) < 3 or _holds_values(rows[r], keys):
                r += 1
                continue
            header = rows[r]
            heights = [s.bottom - s.top for s in header]
            row_h = max(sorted(heights)[len(heights) // 2], 1.0)
            table_rows: list[list[Cell | None]] = [[Cell(s.text, [Span(s.line.id, s.start, s.end)]) for s in header]]
            last_bottom = max(s.bottom for s in header)
            k = r + 1
            while k < len(rows):
                row = rows[k]
                top = min(s.top for s in row)
                if top - last_bottom > 3.5 * row_h:
                    break
                if sum(header_key(s.text) is not None for s in row) >= 2:
                    break  # another table's header
                if len(row) == 1 and len(row[0].text) > 24:
                    break  # prose again
                if any(":" in s.text for s in row):
                    break  # "制表:…  负责人:…" under the table
                buckets: list[list[_Seg]] = [[] for _ in header]
                for s in row:
                    buckets[_assign(s, header)].append(s)
                filled = [i for i, b in enumerate(buckets) if b]
                if filled and len(table_rows) >= 2 and top - last_bottom <= row_h and all(
                        _continues(table_rows[-1], i, keys) for i in filled) and (
                        len(filled) == 1 or all(keys[i] in _WORDS for i in filled)):
                    # The second lines of cells (a long certificate number, an
                    # employer, "江苏省住房和城乡建 / 设厅" wrapped in their
                    # columns): they belong to the row above, not to a row of
                    # their own, and they do not end the table.
                    for i in filled:
                        prev = table_rows[-1][i]
                        more = _join(buckets[i])
                        table_rows[-1][i] = Cell(prev.text + more.text, prev.spans + more.spans)
                    last_bottom = max(s.bottom for s in row)
                    k += 1
                    continue
                if len(filled) < min(2, len(header)):
                    break
                table_rows.append([_join(b) if b else None for b in buckets])
                last_bottom = max(s.bottom for s in row)
                k += 1
            if len(table_rows) >= 2:
                grid = Grid(page_no, index, "layout", table_rows, 1, keys)
                split_merged_cells(grid)
                grids.append(grid)
                index += 1
            r = k
    return grids


def grid_bbox(view: DocView, grid: Grid) -> tuple[float, float, float, float] | None:
    boxes = []
    for row in grid.rows:
        for c in row:
            if c:
                _, bb, _, _ = view.evidence(c.spans)
                if bb:
                    boxes.append(bb)
    return union(boxes)
