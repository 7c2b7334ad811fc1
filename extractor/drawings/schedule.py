"""Building schedules on site plans (建（构）筑物一览表): code → name and attributes.

A common drafting style labels each outline with a short code only ("1#",
"A") and lists what each code is in a ruled schedule beside the plan:

    编号 | 名称       | 结构 | 耐火等级 | 类别
    1#   | 综合办公楼 | 框架 | 二级     | 多层民用

The schedule's rows are not buildings (their cells are closed shapes too),
and a code inside an outline stands for the whole row. This module finds
schedules among the page's tables and turns a row into the label text the
building grammar (`labels.parse_label`) already reads, giving bare numbers
their column's meaning ("3" under 层数 is "3层").
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from ..model import Table
from .labels import norm
from .model import TextItem

# Header words: a schedule names its buildings and says at least one thing a rule needs.
_CODE_HEADER = re.compile(r"^(?:编号|代号|序号|栋号|楼号)$")
_NAME_HEADER = re.compile(r"名称|建筑物|构筑物")
_ATTR_HEADER = re.compile(r"耐火|类别|火灾危险|层数|高度|结构|用途|性质")
_STOREYS_HEADER = re.compile(r"层数")
_HEIGHT_HEADER = re.compile(r"高度")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


class ScheduleRow(BaseModel):
    code: str | None
    name: str
    label: str  # the row as label text: "1# 综合办公楼 框架 二级 多层民用"


class Schedule(BaseModel):
    bbox: tuple[float, float, float, float]
    rows: list[ScheduleRow]

    def row_for(self, text: str) -> ScheduleRow | None:
        """The row a code written on the plan ("1#", "A") stands for."""
        key = _code(text)
        if not key:
            return None
        return next((r for r in self.rows if r.code and _code(r.code) == key), None)


def _code(text: str) -> str:
    return norm(text).replace(" ", "").upper()


def find_schedules(tables: list[Table]) -> list[Schedule]:
    """Schedules among the page's ruled tables."""
    out = []
    for table in tables:
        if table.bbox is None or table.n_rows < 2 or table.n_cols < 2:
            continue
        grid = table.grid()
        schedule = _schedule([norm(c).replace(" ", "") for c in grid[0]], [[[c] for c in row] for row in grid[1:]],
                             table.bbox)
        if schedule is not None:
            out.append(schedule)
    return out


def _schedule(header: list[str], grid: list[list[list[str]]], bbox) -> Schedule | None:
    """A schedule from its header words and its rows' cells (each cell one or more texts)."""
    name_col = next((i for i, h in enumerate(header) if _NAME_HEADER.search(h)), None)
    if name_col is None or not any(_ATTR_HEADER.search(h) for h in header):
        return None
    code_col = next((i for i, h in enumerate(header) if _CODE_HEADER.match(h)), None)
    rows = []
    for cells in grid:
        name = "".join(norm(v).strip() for v in cells[name_col])
        if not name:
            continue
        parts = []
        for i, (h, values) in enumerate(zip(header, cells, strict=True)):
            for v in values:
                v = norm(v).strip()
                if not v or v in "—-－/" or i == code_col or i == name_col:
                    continue
                parts.append(_with_unit(h, v))
        code = "".join(norm(v).strip() for v in cells[code_col]) if code_col is not None else None
        # "1#" belongs to the building's name (1#办公楼); a bare row number does not.
        shown = [code] if code and not code.isdigit() else []
        rows.append(ScheduleRow(code=code or None, name=name, label=" ".join(shown + [name] + parts)))
    return Schedule(bbox=bbox, rows=rows) if rows else None


def _with_unit(header: str, value: str) -> str:
    """A bare number takes its column's meaning ("3" under 层数 is "3层")."""
    if _NUMBER.match(value) and _STOREYS_HEADER.search(header):
        return f"{value}层"
    if _HEIGHT_HEADER.search(header) and (m := re.fullmatch(r"(\d+(?:\.\d+)?)\s*(?:m|米)?", value)):
        return f"H={m.group(1)}m"
    if header.startswith("耐火") and not value.endswith("级"):
        return f"{value}级"
    return value


def find_text_schedules(texts: list[TextItem], ruled: list[Schedule] = ()) -> list[Schedule]:
    """Schedules set out without ruling lines: a row of header words (a code column, a name
    column and one that says what a rule needs), then rows whose texts sit under them.
    Each text goes to the header it lines up with (its centre within the header's span, else
    the nearest); the schedule ends at a gap taller than two rows or a row with one text."""
    items = [t for t in texts if not inside(t.bbox, list(ruled))]
    rows = _rows(items)
    out = []
    r = 0
    while r < len(rows):
        header = rows[r]
        words = [norm(t.text).replace(" ", "") for t in header]
        if (len(header) < 3 or not any(_CODE_HEADER.match(w) for w in words)
                or not any(_NAME_HEADER.search(w) for w in words) or not any(_ATTR_HEADER.search(w) for w in words)
                or any(len(w) > 10 for w in words)):
            r += 1
            continue
        pitch = max(t.bbox[3] - t.bbox[1] for t in header)
        grid: list[list[list[str]]] = []
        used = list(header)
        last = max(t.bbox[3] for t in header)
        k = r + 1
        while k < len(rows) and len(rows[k]) >= 2 and min(t.bbox[1] for t in rows[k]) - last <= 2.5 * pitch:
            cells: list[list[str]] = [[] for _ in header]
            for t in rows[k]:
                cells[_column(t, header)].append(t.text)
            grid.append(cells)
            used.extend(rows[k])
            last = max(t.bbox[3] for t in rows[k])
            k += 1
        bbox = (min(t.bbox[0] for t in used), min(t.bbox[1] for t in used),
                max(t.bbox[2] for t in used), max(t.bbox[3] for t in used))
        schedule = _schedule(words, grid, bbox) if grid else None
        if schedule is not None:
            out.append(schedule)
        r = k
    return out


def _rows(items: list[TextItem]) -> list[list[TextItem]]:
    """Texts grouped into rows by their vertical centres, each row left to right."""
    rows: list[list[TextItem]] = []
    for t in sorted(items, key=lambda t: (t.bbox[1] + t.bbox[3]) / 2):
        cy = (t.bbox[1] + t.bbox[3]) / 2
        if rows:
            top, bottom = rows[-1][0].bbox[1], rows[-1][0].bbox[3]
            if top <= cy <= bottom:
                rows[-1].append(t)
                continue
        rows.append([t])
    return [sorted(row, key=lambda t: t.bbox[0]) for row in rows]


def _column(text: TextItem, header: list[TextItem]) -> int:
    cx = (text.bbox[0] + text.bbox[2]) / 2
    for i, h in enumerate(header):
        if h.bbox[0] - 2 <= cx <= h.bbox[2] + 2:
            return i
    return min(range(len(header)), key=lambda i: abs(cx - (header[i].bbox[0] + header[i].bbox[2]) / 2))


def inside(bounds: tuple[float, float, float, float], schedules: list[Schedule], tol: float = 2.0) -> bool:
    x0, y0, x1, y1 = bounds
    return any(x0 >= s.bbox[0] - tol and y0 >= s.bbox[1] - tol and x1 <= s.bbox[2] + tol and y1 <= s.bbox[3] + tol
               for s in schedules)


def expand_codes(texts: list[TextItem], schedules: list[Schedule]) -> list[TextItem]:
    """The page's texts without the schedules' own, each bare code replaced by its row's label."""
    out = []
    for t in texts:
        if inside(t.bbox, schedules):
            continue
        row = next((r for s in schedules if (r := s.row_for(t.text))), None)
        out.append(t.model_copy(update={"text": row.label}) if row else t)
    return out
