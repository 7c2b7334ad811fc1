"""Floor plans (best effort): corridor clear widths measured between wall faces, door widths from door codes.

A corridor is found by its label (走道, 走廊, 内廊, 疏散走道). Its clear width
is measured by casting rays from the label across the corridor to the first
wall line on each side, at several points along it; the median span per
direction rejects a ray that escapes through a door opening, and the
narrower direction is the width (a corridor is long one way and narrow the
other). Door widths come from the door codes Chinese drawings write beside
each opening: M1021 is a door 10 dm wide and 21 dm high; FM甲1221 a class-A
fire door 1.2 m wide.
"""

from __future__ import annotations

import re
import statistics

import numpy as np
import shapely
from shapely.geometry import LineString
from shapely.strtree import STRtree

from .labels import building_name, norm
from .model import Point, TextItem, Width

_CORRIDOR = re.compile(r"疏散走道|走道|走廊|内廊|外廊|过道")
_DOOR = re.compile(r"(?<![A-Za-z])(?P<code>(?:FM|GFM)\s*[甲乙丙]?|M|LM|TLM)\s*(?P<w>\d{2})(?P<h>\d{2})(?!\d)")


def plan_building(texts: list[TextItem]) -> str | None:
    """The building a floor plan belongs to, from its title ("1#办公楼一层平面图")."""
    for t in texts:
        s = norm(t.text).replace(" ", "")
        if "平面图" in s and "总平面" not in s:
            name = building_name(s.split("平面图")[0])
            if name:
                return name
    return None


def corridor_widths(segments: list[tuple[Point, Point]], texts: list[TextItem], metres_per_unit: float | None,
                    max_width_m: float = 6.0) -> list[Width]:
    labels = [t for t in texts if _CORRIDOR.search(norm(t.text))]
    if not segments or not labels:
        return []
    lines = shapely.linestrings([[p, q] for p, q in segments])
    tree = STRtree(lines)
    out: list[Width] = []
    # Without a scale, rays reach a tenth of the page extent.
    xs = [c for p, q in segments for c in (p[0], q[0])]
    ys = [c for p, q in segments for c in (p[1], q[1])]
    page = max(max(xs) - min(xs), max(ys) - min(ys))
    reach = max_width_m / metres_per_unit if metres_per_unit else 0.1 * page
    step = 0.6 / metres_per_unit if metres_per_unit else reach / 10
    for t in labels:
        cx, cy = t.centre
        best: tuple[float, tuple[Point, Point]] | None = None
        for axis, normal in (((1.0, 0.0), (0.0, 1.0)), ((0.0, 1.0), (1.0, 0.0))):
            spans = []
            for k in range(-3, 4):
                ox, oy = cx + axis[0] * k * step, cy + axis[1] * k * step
                ends = []
                for sgn in (1, -1):
                    ray = LineString([(ox, oy), (ox + sgn * normal[0] * reach, oy + sgn * normal[1] * reach)])
                    hits = tree.query(ray, predicate="intersects")
                    if not len(hits):
                        break
                    pts = shapely.intersection(lines[hits], ray)
                    d = shapely.distance(shapely.points(ox, oy), pts)
                    d = d[np.isfinite(d)]
                    if not len(d):
                        break
                    dmin = float(d.min())
                    ends.append((ox + sgn * normal[0] * dmin, oy + sgn * normal[1] * dmin))
                if len(ends) == 2:
                    spans.append((abs(ends[0][0] - ends[1][0]) + abs(ends[0][1] - ends[1][1]), (ends[1], ends[0])))
            if len(spans) >= 4:  # most rays closed on both sides: the corridor runs across this axis
                med = statistics.median(s for s, _ in spans)
                seg = min(spans, key=lambda s: abs(s[0] - med))[1]
                if best is None or med < best[0]:
                    best = (med, seg)
        if best is None:
            continue
        w_units, seg = best
        out.append(Width(element="corridor", text=norm(t.text), bbox=t.bbox, width_units=w_units,
                         width_m=None if metres_per_unit is None else round(w_units * metres_per_unit, 3),
                         qualifier="measured", segment=seg, confidence=t.confidence))
    return out


def door_widths(texts: list[TextItem]) -> list[Width]:
    out: list[Width] = []
    for t in texts:
        s = norm(t.text).replace(" ", "")
        for m in _DOOR.finditer(s):
            w = int(m["w"]) / 10.0
            if not 0.6 <= w <= 6.0:
                continue
            code = m.group(0)
            out.append(Width(element="door", text=code, bbox=t.bbox, width_units=None, width_m=w,
                             qualifier="annotated", segment=None, confidence=t.confidence,
                             fire_door=code.startswith(("FM", "GFM"))))
    return out
