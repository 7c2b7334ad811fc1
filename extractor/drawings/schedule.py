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
    out = []
    for table in tables:
        if table.bbox is None or table.n_rows < 2 or table.n_cols < 2:
            continue
        grid = table.grid()
        header = [norm(c).replace(" ", "") for c in grid[0]]
        name_col = next((i for i, h in enumerate(header) if _NAME_HEADER.search(h)), None)
        if name_col is None or not any(_ATTR_HEADER.search(h) for h in header):
            continue
        code_col = next((i for i, h in enumerate(header) if _CODE_HEADER.match(h)), None)
        rows = []
        for cells in grid[1:]:
            name = norm(cells[name_col]).strip()
            if not name:
                continue
            parts = []
            for i, (h, v) in enumerate(zip(header, cells)):
                v = norm(v).strip()
                if not v or v in "—-－/" or i == code_col:
                    continue
                if _NUMBER.match(v) and _STOREYS_HEADER.search(h):
                    v = f"{v}层"
                elif _NUMBER.match(v) and _HEIGHT_HEADER.search(h):
                    v = f"H={v}m"
                elif h.startswith("耐火") and not v.endswith("级"):
                    v = f"{v}级"
                parts.append(v)
            code = norm(cells[code_col]).strip() if code_col is not None else None
            rows.append(ScheduleRow(code=code or None, name=name, label=" ".join(([code] if code else []) + parts)))
        if rows:
            out.append(Schedule(bbox=table.bbox, rows=rows))
    return out


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
