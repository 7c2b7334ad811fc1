"""Floor plans (best effort): corridor clear widths measured between wall faces, door widths from door codes.

A corridor is found by its label (走道, 走廊, 内廊, 疏散走道). Its clear width
is measured by casting rays from the label across the corridor to the first
wall line on each side, at several points along it; the median span per
direction rejects a ray that escapes through a door opening, and the
narrower direction is the width (a corridor is long one way and narrow the
other). Door widths come from the door codes Chinese drawings write beside
each opening: M1021 is a door 10 dm wide and 21 dm high; FM甲1221 a class-A
fire door 1.2 m wide. Where the opening is drawn (two jambs closing the wall
either side of a gap), its width is also measured: the opening nearest the
code, jamb to jamb.
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


def _jambs(segments: list[tuple[Point, Point]], metres_per_unit: float) -> list[tuple[Point, Point]]:
    """Short wall-closing strokes: as long as a wall is thick (8-50 cm)."""
    lo, hi = 0.08 / metres_per_unit, 0.5 / metres_per_unit
    out = []
    for p, q in segments:
        d = ((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2) ** 0.5
        if lo <= d <= hi:
            out.append((p, q))
    return out


def _opening_near(t: TextItem, jambs: list[tuple[Point, Point]], metres_per_unit: float):
    """The jamb pair (parallel, facing, 0.6-3.0 m apart) nearest the door code."""
    cx, cy = t.centre
    best = None
    for i, (p1, q1) in enumerate(jambs):
        d1 = (q1[0] - p1[0], q1[1] - p1[1])
        m1 = ((p1[0] + q1[0]) / 2, (p1[1] + q1[1]) / 2)
        n1 = (d1[0] ** 2 + d1[1] ** 2) ** 0.5
        for p2, q2 in jambs[i + 1:]:
            d2 = (q2[0] - p2[0], q2[1] - p2[1])
            n2 = (d2[0] ** 2 + d2[1] ** 2) ** 0.5
            if abs(d1[0] * d2[1] - d1[1] * d2[0]) > 0.05 * n1 * n2:
                continue  # not parallel
            m2 = ((p2[0] + q2[0]) / 2, (p2[1] + q2[1]) / 2)
            gap = (m2[0] - m1[0], m2[1] - m1[1])
            g = (gap[0] ** 2 + gap[1] ** 2) ** 0.5
            if not 0.6 <= g * metres_per_unit <= 3.0:
                continue
            if abs(gap[0] * d1[0] + gap[1] * d1[1]) > 0.1 * g * n1:
                continue  # side by side across the wall line, not one behind the other
            mid = ((m1[0] + m2[0]) / 2, (m1[1] + m2[1]) / 2)
            dist = ((mid[0] - cx) ** 2 + (mid[1] - cy) ** 2) ** 0.5
            if dist * metres_per_unit > 2.5:
                continue
            if best is None or dist < best[0]:
                best = (dist, g, (m1, m2))
    return best


def door_widths(texts: list[TextItem], segments: list[tuple[Point, Point]] | None = None,
                metres_per_unit: float | None = None) -> list[Width]:
    out: list[Width] = []
    jambs = _jambs(segments, metres_per_unit) if segments and metres_per_unit else []
    for t in texts:
        s = norm(t.text).replace(" ", "")
        for m in _DOOR.finditer(s):
            w = int(m["w"]) / 10.0
            if not 0.6 <= w <= 6.0:
                continue
            code = m.group(0)
            fire = code.startswith(("FM", "GFM"))
            out.append(Width(element="door", text=code, bbox=t.bbox, width_units=None, width_m=w,
                             qualifier="annotated", segment=None, confidence=t.confidence, fire_door=fire))
            opening = _opening_near(t, jambs, metres_per_unit) if jambs and metres_per_unit else None
            if opening is not None:
                _, g, seg = opening
                out.append(Width(element="door", text=code, bbox=t.bbox, width_units=g,
                                 width_m=round(g * metres_per_unit, 3), qualifier="measured", segment=seg,
                                 confidence=t.confidence, fire_door=fire))
    return out
