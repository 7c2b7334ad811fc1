"""DXF drawings (ezdxf): closed polylines, TEXT/MTEXT, LINE and DIMENSION entities of model space.

Page units are drawing units with y flipped exactly as ``extractor.readers.dxf``
flips them (origin at the top of the text extent), so bboxes here line up with
the reader's lines. ``$INSUNITS`` gives metres per unit; 0 (unitless) leaves
the scale unknown.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import ezdxf
from ezdxf import recover

from .geometry import Candidate, clean_polygon
from .labels import separation_value
from .model import Annotation, Point, TextItem

# $INSUNITS codes (AutoCAD DXF reference, HEADER section) → metres
INSUNITS_M = {1: 0.0254, 2: 0.3048, 4: 0.001, 5: 0.01, 6: 1.0, 7: 1000.0, 14: 0.1}
INSUNITS_NAME = {0: "无单位", 1: "英寸", 2: "英尺", 4: "毫米", 5: "厘米", 6: "米", 7: "千米", 14: "分米"}


@dataclass
class CadPage:
    width: float
    height: float
    insunits: int
    metres_per_unit: float | None
    candidates: list[Candidate] = field(default_factory=list)
    segments: list[tuple[Point, Point]] = field(default_factory=list)
    edges: list[tuple[Point, Point]] = field(default_factory=list)  # every straight piece drawn
    texts: list[TextItem] = field(default_factory=list)
    dimensions: list[tuple[Point, Point, str, float, tuple[float, float, float, float]]] = field(default_factory=list)


def _parts(entity) -> list[tuple[str, float, float, float]]:
    kind = entity.dxftype()
    if kind == "TEXT":
        text, height = entity.dxf.text, entity.dxf.height
    else:
        text, height = entity.plain_text(), entity.dxf.char_height
    insert = entity.dxf.insert
    return [(part.strip(), insert.x, insert.y - i * height * 1.5, float(height or 1.0))
            for i, part in enumerate(t for t in str(text).splitlines() if t.strip())]


def _text_box(entity, text: str, y_offset: float) -> tuple[float, float, float, float]:
    """Approximate extents in DXF coordinates (y up): CJK glyphs are about as wide as high."""
    h = float(entity.dxf.height if entity.dxftype() == "TEXT" else entity.dxf.char_height) or 1.0
    w = sum(h if ord(c) > 0x2E80 else 0.6 * h for c in text)
    if entity.dxftype() == "TEXT":
        halign, valign = entity.dxf.get("halign", 0), entity.dxf.get("valign", 0)
        p = entity.dxf.align_point if (halign or valign) and entity.dxf.hasattr("align_point") else entity.dxf.insert
        x, y = p.x, p.y
        x0 = x - w / 2 if halign in (1, 4) else x - w if halign == 2 else x
        y0 = y - h / 2 if valign == 2 else y - h if valign == 3 else y
    else:
        ap = entity.dxf.get("attachment_point", 1)
        x, y = entity.dxf.insert.x, entity.dxf.insert.y - y_offset
        col, row = (ap - 1) % 3, (ap - 1) // 3
        x0 = x - w * col / 2
        y0 = y - h if row == 0 else y - h / 2 if row == 1 else y
    return (x0, y0, x0 + w, y0 + h)


def _read(data: bytes):
    """ezdxf's strict loader when the file is clean UTF-8 (R2007+): several times faster than
    ``recover``, which rebuilds every section; ``recover`` for older code pages and damage."""
    try:
        return ezdxf.read(io.StringIO(data.decode("utf-8")))
    except (UnicodeDecodeError, ezdxf.DXFError, ValueError, EOFError):
        drawing, _auditor = recover.read(io.BytesIO(data))
        return drawing


def _flatten(entities, depth: int = 0):
    """Model-space entities with block references (INSERT) expanded into world coordinates:
    CAD users draw a standard building or a title block once as a block and insert it."""
    for e in entities:
        if e.dxftype() == "INSERT" and depth < 4:
            try:
                yield from _flatten(e.virtual_entities(), depth + 1)
            except Exception:  # noqa: BLE001 - a broken block is skipped, the rest is read
                continue
        else:
            yield e


def read_cad(data: bytes, min_area: float = 1e-6) -> CadPage:
    drawing = _read(data)
    msp = drawing.modelspace()
    insunits = int(drawing.header.get("$INSUNITS", 0) or 0)
    # The reader's frame: top of the text extent (see extractor.readers.dxf).
    parts = [p for e in msp if e.dxftype() in ("TEXT", "MTEXT") for p in _parts(e)]  # the reader's own rule
    top = max((y + h for _, _, y, h in parts), default=0.0)

    def T(x: float, y: float) -> Point:
        return (x, top - y)

    page = CadPage(width=1.0, height=1.0, insunits=insunits, metres_per_unit=INSUNITS_M.get(insunits))
    for e in _flatten(msp):
        kind = e.dxftype()
        if kind in ("LWPOLYLINE", "POLYLINE"):
            if kind == "LWPOLYLINE":
                pts = [(p[0], p[1]) for p in e.get_points("xy")]
                closed = e.closed
            else:
                if e.is_3d_polyline or e.is_polygon_mesh or e.is_poly_face_mesh:
                    continue
                pts = [(v.dxf.location.x, v.dxf.location.y) for v in e.vertices]
                closed = e.is_closed
            tp = [T(*q) for q in pts]
            ring = tp + [tp[0]] if closed else tp
            page.edges.extend((a, b) for a, b in zip(ring, ring[1:]) if a != b)
            if closed or (len(pts) > 3 and math.dist(pts[0], pts[-1]) < 1e-9):
                poly = clean_polygon([T(*p) for p in pts], min_area)
                if poly is not None:
                    page.candidates.append(Candidate(poly, ("layer", e.dxf.layer)))
            elif len(pts) == 2:
                page.segments.append((T(*pts[0]), T(*pts[1])))
        elif kind == "LINE":
            s, t = e.dxf.start, e.dxf.end
            page.segments.append((T(s.x, s.y), T(t.x, t.y)))
            page.edges.append((T(s.x, s.y), T(t.x, t.y)))
        elif kind in ("TEXT", "MTEXT"):
            for i, (text, _x, _y, h) in enumerate(_parts(e)):
                x0, y0, x1, y1 = _text_box(e, text, i * h * 1.5)
                (ax, ay), (bx, by) = T(x0, y1), T(x1, y0)
                page.texts.append(TextItem(text=text, bbox=(ax, ay, bx, by)))
        elif kind == "DIMENSION" and e.dimtype in (0, 1):  # linear and aligned
            p, q = e.dxf.defpoint2, e.dxf.defpoint3
            text = str(e.dxf.get("text", "") or "")
            try:
                measured = float(e.get_measurement())
            except Exception:  # noqa: BLE001 - a malformed dimension is skipped, not fatal
                continue
            mid = e.dxf.get("text_midpoint", None)
            if mid is not None:
                h = 2.0
                c = T(mid.x, mid.y)
                box = (c[0] - 3 * h, c[1] - h / 2, c[0] + 3 * h, c[1] + h / 2)
            else:
                a, b = T(p.x, p.y), T(q.x, q.y)
                box = (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
            page.dimensions.append((T(p.x, p.y), T(q.x, q.y), text, measured, box))
    xs = [c for cand in page.candidates for c in cand.polygon.bounds[::2]] + [t.bbox[2] for t in page.texts]
    ys = [c for cand in page.candidates for c in cand.polygon.bounds[1::2]] + [t.bbox[3] for t in page.texts]
    page.width, page.height = max(xs, default=1.0), max(ys, default=1.0)
    return page


def dimension_annotation(text: str, measured: float, metres_per_unit: float | None,
                         box: tuple[float, float, float, float]) -> Annotation | None:
    """A DIMENSION's value as shown: its override text when it holds a number, else the measurement."""
    shown = text.replace("<>", "").strip()
    value = separation_value(shown) if shown else None
    if value is None and shown and shown.replace(".", "", 1).isdigit():
        value = float(shown) * metres_per_unit if metres_per_unit else None
    if value is None:
        if text and "<>" not in text and text.strip():
            return None  # an override without a number ("见详图")
        if metres_per_unit is None:
            return None
        value = measured * metres_per_unit
        shown = f"{value:g}"
    return Annotation(text=text if text and text != "<>" else shown, value_m=round(value, 4), bbox=box,
                      paired_by="dimension_entity")


__all__ = ["INSUNITS_M", "INSUNITS_NAME", "CadPage", "dimension_annotation", "ezdxf", "read_cad"]
