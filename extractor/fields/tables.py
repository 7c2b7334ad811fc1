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
from itertools import pairwise

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


def _compound(text: str) -> tuple[str, str] | None:
    """Two column names in one header cell ("姓名 / 身份证件号码"): their keys,
    when the second names a value of a strict shape that can be cut off."""
    from .lexicon import HEADERS

    t = re.sub(r"\s+", "", text).replace("（", "(").replace("）", ")").replace("/", "")
    for first, variants in HEADERS.items():
        for v in variants:
            if len(v) >= 2 and t.startswith(v) and len(t) > len(v):
                second = header_key(t[len(v):])
                if second and second != first and second in _VALUE_SHAPES:
                    return first, second
    return None


def _split_last_line(cell: Cell, shape: str) -> tuple[Cell, Cell] | None:
    """(rest, value) when a cell of several lines ends with a line that is wholly a value
    of ``shape`` (the ID number on the line under a name)."""
    if len(cell.spans) < 2:
        return None
    m = re.fullmatch(rf"(?P<rest>.+?)\s*(?P<value>{shape})", cell.text)
    last = cell.spans[-1]
    if not m or last.end - last.start != len(m["value"]):
        return None
    return Cell(m["rest"], cell.spans[:-1]), Cell(m["value"], [last])


def split_compound_columns(grid: Grid) -> None:
    """A column whose header names two fields (a name above its holder's ID number
    in one cell) becomes two columns; each data cell is cut where the second
    field's value (a strict shape) ends it."""
    if not grid.header_rows:
        return
    header = grid.rows[grid.header_rows - 1]
    for i in reversed(range(len(header))):
        cell = header[i]
        pair = _compound(cell.text) if cell else None
        if pair is None:
            continue
        grid.keys[i:i + 1] = list(pair)
        for r, row in enumerate(grid.rows):
            if i >= len(row):
                continue
            parts = _split_cell(row[i], _VALUE_SHAPES[pair[1]], tail=True) if (
                r >= grid.header_rows and row[i] is not None) else None
            if parts is None and r >= grid.header_rows and row[i] is not None:
                parts = _split_last_line(row[i], _VALUE_SHAPES[pair[1]])
            row[i:i + 1] = list(parts) if parts else [row[i], None]


def side_by_side(grid: Grid) -> list[Grid]:
    """A list set in several columns of the same fields (姓名 岗位 成绩 | 姓名 岗位 成绩):
    one grid per column group, so each row of each group is a record. The group
    index is kept in the grid's index (the first group keeps the grid's own)."""
    starts = [i for i, k in enumerate(grid.keys) if k == "name"]
    if len(starts) < 2:
        return [grid]
    first = grid.keys[starts[0]:starts[1]]
    bounds = [0] + starts[1:] + [len(grid.keys)]
    groups = list(pairwise(bounds))
    if any(grid.keys[a:b][:len(first)] != first[:b - a] for a, b in groups[1:]):
        return [grid]  # not the same fields again: one wide table
    out = []
    for g, (a, b) in enumerate(groups):
        rows = [row[a:b] for row in grid.rows]
        out.append(Grid(grid.page, grid.index + 1000 * g, grid.origin, rows, grid.header_rows, grid.keys[a:b]))
    return out


def split_ids_under_names(grid: Grid) -> None:
    """A 姓名 (持证人) column whose cells hold the ID number on a line under the name,
    in a table with no ID column: the numbers become that column."""
    if "resident_id" in grid.keys or grid.keys.count("name") != 1:
        return
    i = grid.keys.index("name")
    parts = {r: _split_last_line(row[i], _VALUE_SHAPES["resident_id"])
             for r, row in grid.data_rows() if i < len(row) and row[i] is not None}
    if not any(parts.values()):
        return
    grid.keys[i:i + 1] = ["name", "resident_id"]
    for r, row in enumerate(grid.rows):
        if i < len(row):
            split = parts.get(r)
            row[i:i + 1] = list(split) if split else [row[i], None]


def _columns_apart(grid: Grid) -> list[Grid]:
    """Every table's cells, however read: two fields under one header, an ID under a
    name, a value run into its neighbour, lists set side by side, taken apart."""
    split_compound_columns(grid)
    split_ids_under_names(grid)
    split_merged_cells(grid)
    return side_by_side(grid)


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
            grids.extend(_columns_apart(Grid(page.number, table.index, "ruled", rows, hdr, keys)))
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
            # The row's extent is its members' together: one box a little higher
            # than the rest ("2025.06.30-" above a cell's centre) does not split it.
            spans[-1] = (min(spans[-1][0], s.top), max(spans[-1][1], s.bottom))
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
    """One cell from its pieces: lines top to bottom, pieces of a line left to right
    (a wrapped "建筑起重机械司机(施工升降 / 机)" starts at the same x on both lines)."""
    ordered: list[tuple[int, float, _Seg]] = []
    line, last_top = 0, None
    for s in sorted(segs, key=lambda s: s.top):
        if last_top is not None and s.top - last_top > 0.5 * max(s.bottom - s.top, 1.0):
            line += 1
            last_top = s.top
        elif last_top is None:
            last_top = s.top
        ordered.append((line, s.x0, s))
    segs = [s for _, _, s in sorted(ordered, key=lambda t: (t[0], t[1]))]
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

    texts = [seg.text.strip() for seg in row]
    for seg, key in zip(row, keys, strict=True):
        if key is not None:
            continue
        text = seg.text.strip()
        if texts.count(text) > 1:
            continue  # a column name repeated over side-by-side groups (成绩 … 成绩), not a value
        if re.search(r"\d{3,}", text) or (len(text) <= 3 and looks_like_name(text)):
            return True
    return False


def _header_words(row: list[_Seg]) -> bool:
    """Whether a row can be the second line of a table header: short words
    only, no digits and no personal name."""
    from .people import looks_like_name

    return all(len(s.text) <= 6 and not re.search(r"\d", s.text) and not looks_like_name(s.text) for s in row)


@dataclass
class _Open:
    """A layout table that ran to the end of its page: the next page may go on with its rows."""

    header: list[_Seg]
    header_cells: list[Cell | None]
    keys: list[str | None]
    row_h: float


# Columns that say whose row it is: a page that goes on with a table shows one of them.
_IDENTIFYING = {"name", "resident_id", "cert_no"}


def _collect(rows: list[list[_Seg]], k: int, header: list[_Seg], keys: list[str | None], row_h: float,
             last_bottom: float, table_rows: list[list[Cell | None]]) -> int:
    """Add the rows from ``rows[k]`` on to ``table_rows`` (its first row the header);
    the index of the first row not taken."""
    carry: list[_Seg] = []  # first lines of a row's two-line cells, set above its other cells
    while k < len(rows):
        row = carry + rows[k]
        carry = []
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
        # A line of wrapping cells alone that touches the next row more closely
        # than the row above: the first line of a two-line cell of the next row.
        opens_next = (bool(filled) and k + 1 < len(rows)
                      and all(keys[i] in _WRAPPING or keys[i] is None for i in filled)
                      and min(s.top for s in rows[k + 1]) - max(s.bottom for s in row)
                      <= min(0.25 * row_h, top - last_bottom))
        if len(table_rows) == 1 and top - last_bottom <= 0.5 * row_h and _header_words(row):
            # A header cell wrapped onto a second line ("序 / 号", "身份证 / 号码"):
            # its words join the header, and the column's key is read again.
            for i in filled:
                prev = table_rows[0][i]
                more = _join(buckets[i])
                table_rows[0][i] = Cell(prev.text + more.text, prev.spans + more.spans) if prev else more
                keys[i] = header_key(table_rows[0][i].text)
            last_bottom = max(last_bottom, max(s.bottom for s in row))
            k += 1
            continue
        if filled and not opens_next and len(table_rows) >= 2 and top - last_bottom <= row_h and all(
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
        if opens_next:
            # A cell of two lines ("2024.07.10- / 2027.07.09") centred in a row
            # whose other cells hold one: its first line sits above them (with
            # any one-line cell the OCR put at its height). It starts the next
            # row rather than being a row or ending the table.
            carry = row
            k += 1
            continue
        if len(filled) < min(2, len(header)):
            break
        table_rows.append([_join(b) if b else None for b in buckets])
        last_bottom = max(s.bottom for s in row)
        k += 1
    return k


def _stacked(row: list[_Seg]) -> tuple[list[_Seg], list[Cell | None]]:
    """A header row's columns: words set one above the other in one column ("序 / 号")
    are one header cell, read top to bottom."""
    columns: list[list[_Seg]] = []
    for s in sorted(row, key=lambda s: s.x0):
        last = columns[-1] if columns else None
        if last and min(s.x1, last[-1].x1) - max(s.x0, last[-1].x0) >= 0.5 * min(s.x1 - s.x0, last[-1].x1 - last[-1].x0):
            last.append(s)
        else:
            columns.append([s])
    segs, cells = [], []
    for col in columns:
        col.sort(key=lambda s: s.top)
        first = col[0]
        segs.append(_Seg(first.line, first.start, first.end, "".join(s.text for s in col),
                         min(s.x0 for s in col), max(s.x1 for s in col), first.top, max(s.bottom for s in col)))
        cells.append(Cell("".join(s.text for s in col), [Span(s.line.id, s.start, s.end) for s in col]))
    return segs, cells


def layout_grids(view: DocView, start_index: int = 100) -> list[Grid]:
    """Tables rebuilt from the positions of text outside ruled tables.

    A table that runs to the end of its page may go on at the top of the
    next one without its header (a roster scanned page by page): rows there
    that line up with its columns, and name whose row it is, are read under
    the first page's header.
    """
    grids: list[Grid] = []
    index = start_index
    open_table: _Open | None = None
    for page_no, lines in view.by_page.items():
        flow = [ln for ln in lines if ln.table is None and ln.text]
        carried, open_table = open_table, None
        if not carried and not any(sum(header_key(t) is not None for t in ln.text.split()) >= 1 for ln in flow):
            continue
        segs = [s for ln in flow for s in _segments(ln, view)]
        rows = _rows_by_y(segs)
        r = 0
        if carried is not None and rows:
            table_rows: list[list[Cell | None]] = [list(carried.header_cells)]
            keys = list(carried.keys)
            k = _collect(rows, 0, carried.header, keys, carried.row_h, min(s.top for s in rows[0]), table_rows)
            if len(table_rows) >= 2 and all(
                    any(c is not None and keys[i] in _IDENTIFYING for i, c in enumerate(row)) for row in table_rows[1:]):
                grids.extend(_columns_apart(Grid(page_no, index, "layout", table_rows, 1, keys)))
                index += 1
                r = k
        while r < len(rows):
            keys = [header_key(s.text) for s in rows[r]]
            # A roster has at least three columns; two boxes on a row are a
            # label and its value, and so is a form's row that holds a value
            # among its labels ("主要负责人 覃峰 职务 总经理").
            if sum(k is not None for k in keys) < 2 or len(rows[r]) < 3 or _holds_values(rows[r], keys):
                r += 1
                continue
            header, header_cells = _stacked(rows[r])
            keys = [header_key(c.text) for c in header_cells]
            heights = [s.bottom - s.top for s in rows[r]]
            row_h = max(sorted(heights)[len(heights) // 2], 1.0)
            table_rows = [list(header_cells)]
            k = _collect(rows, r + 1, header, keys, row_h, max(s.bottom for s in header), table_rows)
            if len(table_rows) >= 2:
                # As laid out on the page, before the grid splits its columns: for a next page.
                laid_out = _Open(header, list(table_rows[0]), list(keys), row_h)
                grids.extend(_columns_apart(Grid(page_no, index, "layout", table_rows, 1, keys)))
                index += 1
                # Nothing but a signature or a page number after it: it may go on overleaf.
                rest = rows[k:]
                if len(rest) <= 2 and not any(re.search(r"\d{6,}", s.text) for row in rest for s in row):
                    open_table = laid_out
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
