"""Format-independent geometry: outlines → labelled buildings, neighbours, scale bars, annotations.

Every reader (vector PDF, DXF, raster) reduces a page to candidate outlines
(closed polygons), free segments (dimension lines) and text items in page
units; this module does the rest with shapely.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon
from shapely.geometry import Point as ShPoint
from shapely.strtree import STRtree

from .labels import (
    NUMBER,
    building_name,
    is_attribute_line,
    is_keyword_annotation,
    looks_like_label,
    norm,
    parse_label,
    separation_value,
)
from .model import Annotation, Building, Measurement, Point, TextItem


@dataclass
class Candidate:
    polygon: Polygon
    style: tuple = ()  # stroke width, fill: outlines drawn alike are alike
    confidence: float = 1.0


def bbox_of(poly: Polygon) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = poly.bounds
    return (x0, y0, x1, y1)


def clean_polygon(points: Sequence[Point], min_area: float) -> Polygon | None:
    pts = [p for i, p in enumerate(points) if i == 0 or math.dist(p, points[i - 1]) > 1e-6]
    if len(pts) > 1 and math.dist(pts[0], pts[-1]) <= 1e-6:
        pts = pts[:-1]
    if len(pts) < 3:
        return None
    poly = Polygon(pts)
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
        if poly.geom_type != "Polygon":
            return None
    poly = poly.simplify(0)  # drop collinear vertices: an outline is its corners
    if poly.area < min_area:
        return None
    return poly


def _is_marker(shape: Polygon, text: TextItem) -> bool:
    """A closed shape no bigger than a few heights of the text inside it: the text's frame."""
    x0, y0, x1, y1 = shape.bounds
    return max(x1 - x0, y1 - y0) <= 3.0 * max(text.height, 1e-6)


def label_buildings(candidates: list[Candidate], texts: list[TextItem], page_area: float,
                    leaders: list[tuple[Point, Point]] | None = None) -> list[Building]:
    """A building is the smallest candidate outline around a text that names a building.

    Frames, title blocks and scale bars are closed shapes too, but they either
    hold no building name or are not the smallest shape around it. An outline
    that holds two or more other outlines (a site boundary, a fence) is a
    container, not a building. A label set outside its building (a callout,
    often with a leader line) is given to the outline its leader reaches, or
    else to the one outline right beside it.
    """
    cands = [c for c in candidates if c.polygon.area < 0.5 * page_area]
    if not cands:
        return []
    cands = _without_containers(cands)
    tree = STRtree([c.polygon for c in cands])
    inside: dict[int, list[TextItem]] = {}
    if texts:
        points = shapely.points([t.centre for t in texts])
        ti, ci = tree.query(points, predicate="within")
        around: dict[int, list[int]] = {}
        for t_i, c_i in zip(ti.tolist(), ci.tolist(), strict=True):
            around.setdefault(t_i, []).append(c_i)
        smallest: dict[int, int] = {}
        for t_i, shapes in around.items():
            shapes.sort(key=lambda c_i: cands[c_i].polygon.area)
            # A code in a small circle or box drawn inside the outline ("①", "1" in a
            # marker): the marker is the label's frame; the building is the shape around it.
            while len(shapes) > 1 and _is_marker(cands[shapes[0]].polygon, texts[t_i]):
                shapes.pop(0)
            smallest[t_i] = shapes[0]
        for t_i in sorted(smallest):
            inside.setdefault(smallest[t_i], []).append(texts[t_i])
        labelled = {i for i, items in inside.items()
                    if any(building_name(t.text) or looks_like_label(t.text) for t in items)}
        for t_i, t in enumerate(texts):
            if t_i in smallest or not (building_name(t.text) or looks_like_label(t.text)):
                continue
            target = _callout_target(t, cands, tree, leaders or [], labelled)
            if target is not None:
                inside.setdefault(target, []).append(t)
                labelled.add(target)
        # "五层 H=19.80m" under a building's name outside its outline: storeys and height
        # belong to the one outline right beside them, labelled or not.
        for t_i, t in enumerate(texts):
            if t_i in smallest or building_name(t.text) or not is_attribute_line(t.text):
                continue
            box = shapely.box(*t.bbox)
            near = sorted((cands[i].polygon.distance(box), i) for i in tree.query(box.buffer(3 * t.height)).tolist())
            if near and (len(near) == 1 or near[1][0] > 2 * max(near[0][0], 0.5 * t.height)):
                inside.setdefault(near[0][1], []).append(t)
                continue
            # Else it continues a name set apart from the outline (a callout on a leader):
            # it belongs where that name's building is.
            for t2 in texts:
                name = building_name(t2.text)
                if name and t2 is not t and shapely.box(*t2.bbox).distance(box) <= 1.5 * t.height:
                    owners = [i for i, items in inside.items() if any(name in norm(x.text) for x in items)]
                    if len(owners) == 1:
                        inside[owners[0]].append(t)
                    break
    buildings: list[Building] = []
    named_styles: set[tuple] = set()
    unnamed: list[tuple[int, list[TextItem]]] = []
    for i, items in inside.items():
        items.sort(key=lambda t: (round(t.bbox[1], 1), t.bbox[0]))
        lines = [t.text for t in items]
        if any(building_name(t) for t in lines):
            buildings.append(_building(cands[i], items))
            named_styles.add(cands[i].style)
        elif any(looks_like_label(t) for t in lines):
            unnamed.append((i, items))  # a label whose name was not read
    for i, items in unnamed:
        buildings.append(_building(cands[i], items))
    # Outlines drawn exactly like the labelled buildings but holding no readable text:
    # buildings whose label is missing or unreadable (vector drawings only carry styles).
    if named_styles and () not in named_styles and buildings:
        found = [cands[i].polygon for i in inside]
        lo = min(p.area for p in found) / 4
        found_tree = STRtree(found)
        for i, c in enumerate(cands):
            if i in inside or c.style not in named_styles or c.polygon.area < lo:
                continue
            if len(found_tree.query(c.polygon.representative_point(), predicate="within")):
                continue  # a part drawn inside a labelled building (a courtyard, a wing)
            buildings.append(_building(c, []))
    return buildings


def _without_containers(cands: list[Candidate]) -> list[Candidate]:
    """Drop outlines that enclose two or more other outlines (site boundaries, fences)."""
    tree = STRtree([c.polygon for c in cands])
    points = [c.polygon.representative_point() for c in cands]
    inner, outer = tree.query(points, predicate="within")
    held: dict[int, int] = {}
    for i, o in zip(inner.tolist(), outer.tolist()):
        if i != o and cands[i].polygon.area < cands[o].polygon.area:
            held[o] = held.get(o, 0) + 1
    return [c for k, c in enumerate(cands) if held.get(k, 0) < 2]


def _callout_target(t: TextItem, cands: list[Candidate], tree: STRtree, leaders: list[tuple[Point, Point]],
                    labelled: set[int]) -> int | None:
    """The outline a label outside every outline belongs to: the one a leader line
    from the label reaches; else the single unlabelled outline right beside it."""
    h = t.height
    box = shapely.box(*t.bbox)
    for p, q in leaders:
        for near, far in ((p, q), (q, p)):
            if box.distance(ShPoint(near)) > 1.5 * h:
                continue
            hits = tree.query(ShPoint(far).buffer(1.5))
            hits = [i for i in hits.tolist() if i not in labelled]
            if len(hits) == 1:
                return hits[0]
    nearby = sorted((cands[i].polygon.distance(box), i) for i in tree.query(box.buffer(2 * h)).tolist()
                    if i not in labelled)
    if len(nearby) == 1 or (len(nearby) > 1 and nearby[1][0] > 3 * max(nearby[0][0], 0.5 * h)):
        return nearby[0][1] if nearby else None
    return None


def _building(c: Candidate, items: list[TextItem]) -> Building:
    info = parse_label([t.text for t in items]) if items else {"name": None, "label_complete": False}
    conf = min([t.confidence for t in items] + [c.confidence])
    coords = [(round(x, 3), round(y, 3)) for x, y in list(c.polygon.exterior.coords)[:-1]]
    return Building(
        name=info.get("name"), label=" ".join(norm(t.text) for t in items), polygon=coords,
        bbox=(min(x for x, _ in coords), min(y for _, y in coords), max(x for x, _ in coords), max(y for _, y in coords)),
        use_class=info.get("use_class"), kind=info.get("kind"),
        fire_grade=info.get("fire_grade"), storeys=info.get("storeys"), height_m=info.get("height_m"),
        high_rise=info.get("high_rise"), high_rise_class=info.get("high_rise_class"), fire_wall_marked=bool(info.get("fire_wall_marked")),
        label_complete=bool(info.get("label_complete")), confidence=round(conf, 3),
    )


def name_buildings(buildings: list[Building]) -> None:
    """Unread names become 未识别建筑1, 2, … so pairs can still be reported; duplicates get a suffix."""
    seen: dict[str, int] = {}
    k = 0
    for b in buildings:
        if b.name is None:
            k += 1
            b.name = f"未识别建筑{k}"
            b.label_complete = False
        n = seen.get(b.name, 0)
        seen[b.name] = n + 1
        if n:
            b.name = f"{b.name}({n + 1})"


def neighbours(buildings: list[Building], max_gap_units: float, metres_per_unit: float | None) -> list[Measurement]:
    """Shortest distance between each pair of neighbouring outlines.

    Neighbours: within ``max_gap_units`` (STRtree ``dwithin`` query, not all
    pairs) and with no third outline across the shortest segment — a building
    behind another is not the one whose wall faces it.
    """
    polys = [Polygon(b.polygon) for b in buildings]
    if len(polys) < 2:
        return []
    tree = STRtree(polys)
    left, right = tree.query(polys, predicate="dwithin", distance=max_gap_units)
    keep = right > left
    left, right = left[keep], right[keep]
    arr = np.asarray(polys, dtype=object)
    dist = shapely.distance(arr[left], arr[right])
    touching = dist <= 1e-9  # touching or overlapping outlines: one building drawn in parts
    left, right, dist = left[~touching], right[~touching], dist[~touching]
    lines = shapely.shortest_line(arr[left], arr[right])
    # A third outline across the shortest segment hides the pair from each other.
    li, pk = tree.query(lines, predicate="intersects")
    third = (pk != left[li]) & (pk != right[li])
    li, pk = li[third], pk[third]
    blocked = np.zeros(len(lines), dtype=bool)
    if len(li):
        crossing = shapely.length(shapely.intersection(arr[pk], lines[li]))
        hit = crossing > 1e-6 * np.maximum(dist[li], 1.0)
        blocked[li[hit]] = True
    out: list[Measurement] = []
    for n in np.flatnonzero(~blocked).tolist():
        i, j, d = int(left[n]), int(right[n]), float(dist[n])
        (ax, ay), (bx, by) = shapely.get_coordinates(lines[n]).tolist()
        out.append(Measurement(
            between=(buildings[i].name or "", buildings[j].name or ""), distance_units=d,
            distance_m=None if metres_per_unit is None else d * metres_per_unit,
            segment=((ax, ay), (bx, by)),
        ))
    return out


_BAR_TEXT = re.compile(r"^[\d\s.,]*(?:\d\s*(?:m|M|米|km|KM|千米)?)[\d\s.,mM米]*$")


def bar_scale(extent: tuple[float, float, float, float], texts: list[TextItem]) -> tuple[float, str] | None:
    """Page units per metre from a scale bar's extent and the numbers printed along it.

    The bar's ends are crisp; the numbers say what they are worth. Numbers are
    taken from text within a few bar heights above or below, inside the bar's
    horizontal span (OCR may merge '0 10 20 30 40 50' into one line).
    """
    x0, y0, x1, y1 = extent
    h = max(y1 - y0, 1e-6)
    width = x1 - x0
    values: list[tuple[float, float]] = []  # (value, x centre)
    unit_km = False
    for t in texts:
        cx, cy = t.centre
        if not (y0 - 6 * h - t.height <= cy <= y1 + 6 * h + t.height):
            continue
        if t.bbox[2] < x0 - 0.1 * width or t.bbox[0] > x1 + 0.2 * width:
            continue
        s = norm(t.text)
        if s.strip().lower() in ("km", "千米"):
            unit_km = True
        if not _BAR_TEXT.match(s):
            continue  # "比例 1:500" beside the bar is not one of its numbers
        if "km" in s.lower() or "千米" in s:
            unit_km = True
        nums = [float(n) for n in NUMBER.findall(s)]
        if len(nums) == 1:
            values.append((nums[0], cx))
        elif len(nums) > 1:
            # a merged line: spread its numbers evenly over the line's box
            for k, v in enumerate(nums):
                values.append((v, t.bbox[0] + (k + 0.5) * (t.bbox[2] - t.bbox[0]) / len(nums)))
    if len(values) < 2:
        return None
    factor = 1000.0 if unit_km else 1.0
    vals = sorted(values)
    if len({v for v, _ in vals}) < 2:
        return None
    # The numbers must sit along the bar in order, else this is not a scale bar.
    if any(b[1] < a[1] - 0.02 * width for a, b in zip(vals, vals[1:])):
        return None
    # Least squares x = x_0 + upv * value: robust to a number OCR missed ("0") or merged.
    n = len(vals)
    mv = sum(v for v, _ in vals) / n
    mx = sum(x for _, x in vals) / n
    var = sum((v - mv) ** 2 for v, _ in vals)
    upv = sum((v - mv) * (x - mx) for v, x in vals) / var
    if upv <= 0:
        return None
    # Then snap the bar's crisp ends to the round values the fit puts there.
    diffs = sorted(b[0] - a[0] for a, b in zip(vals, vals[1:]) if b[0] > a[0])
    step = diffs[len(diffs) // 2]
    v0 = round((mv + (x0 - mx) / upv) / step) * step
    v1 = round((mv + (x1 - mx) / upv) / step) * step
    if v1 > v0 and abs((x1 - x0) / (v1 - v0) - upv) / upv < 0.1:
        upv = (x1 - x0) / (v1 - v0)
        span = f"{v0:g}–{v1:g}"
    else:
        span = f"{vals[0][0]:g}–{vals[-1][0]:g}"
    return upv / factor, span + ("km" if unit_km else "m")


_BARE_NUMBER = re.compile(r"^(\d{1,3}(?:\.\d{1,2})|\d{3,6})$")


def _by_leader(box, h: float, segments: list[tuple[Point, Point]],
               dim_pairs: list[tuple[LineString, tuple[str, str]]], tol: float):
    """The dimension line a text set away from it points at: a leader (a shelf
    under the text, then a line to the dimension) from the text to it. Up to
    three segments, each starting where the last ended."""
    joint = max(tol, 0.3 * h)
    frontier = [far for p, q in segments for near, far in ((p, q), (q, p)) if box.distance(ShPoint(near)) <= 0.8 * h]
    seen: set[Point] = set()
    for _hop in range(3):
        for pt in frontier:
            g = ShPoint(pt)
            hits = sorted((line.distance(g), pair) for line, pair in dim_pairs if line.distance(g) <= joint)
            if hits:
                return 0.0, hits[0][1]
        seen.update(frontier)
        frontier = [far for pt in frontier for p, q in segments for near, far in ((p, q), (q, p))
                    if far not in seen and ShPoint(near).distance(ShPoint(pt)) <= joint]
    return None


def pair_annotations(
    texts: list[TextItem], buildings: list[Building], dims: list[tuple[Point, Point]],
    near_tol: float, plain_by_position: bool = False,
) -> list[Annotation]:
    """Distance annotations and the two buildings each is between.

    A dimension line whose two ends touch two outlines names the pair; the
    text belongs to the dimension line nearest it. Without a line (scans, or
    a free note), the pair nearest the text on both sides is taken, with a
    lower confidence. A bare value ("14.0m") is taken that way only when
    ``plain_by_position`` (scans, where dimension lines are not recovered)
    and only when it sits squarely in the gap.
    """
    polys = [Polygon(b.polygon) for b in buildings]
    names = [b.name or "" for b in buildings]
    tree = STRtree(polys) if polys else None
    dim_pairs: list[tuple[LineString, tuple[str, str]]] = []
    if tree is not None:
        for p, q in dims:
            ends = []
            for pt in (p, q):
                g = ShPoint(pt)
                idx = tree.query_nearest(g, max_distance=near_tol)
                ends.append(int(idx[0]) if len(idx) else None)
            if ends[0] is not None and ends[1] is not None and ends[0] != ends[1]:
                dim_pairs.append((LineString([p, q]), (names[ends[0]], names[ends[1]])))
    out: list[Annotation] = []
    for t in texts:
        v = separation_value(t.text)
        bare = v is None and _BARE_NUMBER.match(t.text.strip())
        if v is None and not bare:
            continue
        if bare:
            # "10.00" with no unit: a dimension's value only when a dimension line
            # carries it (checked below); drawings give site sizes in metres, and
            # CAD dimensions of 100 and more are millimetres.
            v = float(bare.group(1))
            v = v / 1000 if v >= 100 else v
        keyword = is_keyword_annotation(t.text)
        c = ShPoint(*t.centre)
        ann = Annotation(text=norm(t.text), value_m=v, bbox=t.bbox, confidence=t.confidence)
        best = None
        box = shapely.box(*t.bbox)
        for line, pair in dim_pairs:
            d = line.distance(box)
            if d <= 2.0 * t.height and (best is None or d < best[0]):
                best = (d, pair)
        if best is None and dim_pairs:
            best = _by_leader(box, t.height, dims, dim_pairs, near_tol)
        if best is not None:
            ann.between, ann.paired_by = list(best[1]), "dimension_line"
        elif bare:
            continue  # a bare number away from any dimension line is no distance
        elif (keyword or plain_by_position) and tree is not None and len(polys) >= 2:
            idx = tree.query(c.buffer(max(near_tol * 40, 30 * t.height)))
            cand = sorted((polys[i].distance(c), i) for i in idx.tolist())[:6]
            best2 = None
            for a in range(len(cand)):
                for b in range(a + 1, len(cand)):
                    ia, ib = cand[a][1], cand[b][1]
                    # the text lies in the gap: its distances to both add up to about the gap
                    gap = polys[ia].distance(polys[ib])
                    excess = cand[a][0] + cand[b][0] - gap
                    # Collinear buildings tie on the excess (A | text | B | C): the nearer pair wins.
                    score = excess + 0.1 * gap
                    if best2 is None or score < best2[0]:
                        best2 = (score, ia, ib, excess)
            limit = 4 * t.height if keyword else 1.5 * t.height
            if best2 is not None and best2[3] <= limit:
                ann.between, ann.paired_by = [names[best2[1]], names[best2[2]]], "nearest"
                ann.confidence = round(min(ann.confidence, 0.8 if keyword else 0.7), 3)
            elif not keyword:
                continue
        if not keyword and ann.between is None:
            continue  # a bare "12.0m" away from any dimension line is not a separation
        out.append(ann)
    return out
