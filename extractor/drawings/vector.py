"""Vector PDF pages: PDFium's path and text objects → outlines, free segments, text items.

PDFium's raw API, as in ``extractor.readers.tables``: on a site plan with a
few thousand path objects it costs milliseconds where pdfplumber (pdfminer)
needs a second to parse the page (measured in ``benchmarks/bench_drawings.py``).
Form XObjects (how CAD plot drivers group a drawing) are walked with their
matrices composed.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from shapely.geometry import LineString, MultiLineString, Polygon
from shapely.ops import polygonize, unary_union

from ..readers.pdf import display_transform
from .geometry import Candidate, clean_polygon
from .model import Point, TextItem

Matrix = tuple[float, float, float, float, float, float]


@dataclass
class VectorPage:
    width: float
    height: float
    candidates: list[Candidate] = field(default_factory=list)
    segments: list[tuple[Point, Point]] = field(default_factory=list)  # open two-point lines
    edges: list[tuple[Point, Point]] = field(default_factory=list)  # every straight piece drawn (walls on plans)
    rects: list[tuple[float, float, float, float]] = field(default_factory=list)  # axis-aligned closed quads
    texts: list[TextItem] = field(default_factory=list)
    n_paths: int = 0


def _mul(m: Matrix, n: Matrix) -> Matrix:
    """m then n (PDF row-vector convention)."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def read_vector_page(page: pdfium.PdfPage, min_area: float = 20.0) -> VectorPage:
    to_display = display_transform(page)
    width, height = page.get_size()
    out = VectorPage(width=width, height=height)
    loose: list[LineString] = []
    x, y = ctypes.c_float(), ctypes.c_float()
    matrix = pdfium_c.FS_MATRIX()
    sw = ctypes.c_float()
    fillmode, stroke = ctypes.c_int(), ctypes.c_int()
    r, g, b, a = (ctypes.c_uint() for _ in range(4))

    def walk(get_count, get_obj, parent: Matrix) -> None:
        for index in range(get_count()):
            raw = get_obj(index)
            kind = pdfium_c.FPDFPageObj_GetType(raw)
            if not pdfium_c.FPDFPageObj_GetMatrix(raw, matrix):
                continue
            m = _mul((matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f), parent)
            if kind == pdfium_c.FPDF_PAGEOBJ_FORM:
                walk(lambda r_=raw: pdfium_c.FPDFFormObj_CountObjects(r_),
                     lambda i, r_=raw: pdfium_c.FPDFFormObj_GetObject(r_, i), m)
                continue
            if kind != pdfium_c.FPDF_PAGEOBJ_PATH:
                continue
            out.n_paths += 1
            pdfium_c.FPDFPath_GetDrawMode(raw, fillmode, stroke)
            pdfium_c.FPDFPageObj_GetStrokeWidth(raw, sw)
            filled = fillmode.value != 0
            fill = None
            if filled and pdfium_c.FPDFPageObj_GetFillColor(raw, r, g, b, a):
                fill = (r.value, g.value, b.value)
            scale = (abs(m[0] * m[3] - m[1] * m[2])) ** 0.5 or 1.0
            style = (round(sw.value * scale, 2), bool(stroke.value), fill)
            subpaths: list[tuple[list[Point], bool]] = []
            pts: list[Point] = []
            closed = False
            for i in range(pdfium_c.FPDFPath_CountSegments(raw)):
                seg = pdfium_c.FPDFPath_GetPathSegment(raw, i)
                pdfium_c.FPDFPathSegment_GetPoint(seg, x, y)
                px, py = to_display(m[0] * x.value + m[2] * y.value + m[4], m[1] * x.value + m[3] * y.value + m[5])
                if pdfium_c.FPDFPathSegment_GetType(seg) == pdfium_c.FPDF_SEGMENT_MOVETO:
                    if pts:
                        subpaths.append((pts, closed))
                    pts, closed = [(px, py)], False
                    continue
                pts.append((px, py))
                if pdfium_c.FPDFPathSegment_GetClose(seg):
                    closed = True
            if pts:
                subpaths.append((pts, closed))
            for pts, closed in subpaths:
                ring = pts + [pts[0]] if closed else pts
                out.edges.extend((p, q) for p, q in zip(ring, ring[1:]) if p != q)
                if closed or (len(pts) > 3 and abs(pts[0][0] - pts[-1][0]) + abs(pts[0][1] - pts[-1][1]) < 1e-3):
                    poly = clean_polygon(pts, min_area)
                    if poly is not None:
                        out.candidates.append(Candidate(poly, style))
                        if len(poly.exterior.coords) == 5 and _axis_aligned(poly):
                            out.rects.append(poly.bounds)
                    continue
                if len(pts) == 2:
                    out.segments.append((pts[0], pts[1]))
                if len(pts) >= 2:
                    loose.append(LineString(pts))

    walk(lambda: pdfium_c.FPDFPage_CountObjects(page.raw),
         lambda i: pdfium_c.FPDFPage_GetObject(page.raw, i), (1, 0, 0, 1, 0, 0))
    # Outlines drawn as separate lines (some CAD plot drivers) close only once noded together.
    long_lines = [ln for ln in loose if ln.length > 6.0]
    if 3 <= len(long_lines) <= 20000:
        for poly in polygonize(unary_union(MultiLineString(long_lines))):
            p = clean_polygon(list(poly.exterior.coords), min_area)
            if p is not None:
                out.candidates.append(Candidate(p, ("lines",)))
    out.texts = _text_items(page, to_display)
    return out


def _axis_aligned(poly: Polygon) -> bool:
    xs = {round(x, 1) for x, _ in poly.exterior.coords}
    ys = {round(y, 1) for _, y in poly.exterior.coords}
    return len(xs) == 2 and len(ys) == 2


def _text_items(page: pdfium.PdfPage, to_display) -> list[TextItem]:
    """One item per PDF text object: CAD drivers and reportlab write one TEXT as one object."""
    textpage = page.get_textpage()
    items: list[TextItem] = []
    try:
        raw = textpage.raw
        box = pdfium_c.FS_RECTF()
        cur_obj = None
        chars: list[str] = []
        bounds: list[float] = []

        def flush() -> None:
            text = "".join(chars).strip()
            if text:
                items.append(TextItem(text=text, bbox=(bounds[0], bounds[1], bounds[2], bounds[3])))

        for i in range(pdfium_c.FPDFText_CountChars(raw)):
            if pdfium_c.FPDFText_IsGenerated(raw, i):
                continue
            code = pdfium_c.FPDFText_GetUnicode(raw, i)
            ch = chr(code) if code else ""
            if ch in ("\r", "\n", ""):
                continue
            obj = pdfium_c.FPDFText_GetTextObject(raw, i)
            key = ctypes.cast(obj, ctypes.c_void_p).value if obj else None
            pdfium_c.FPDFText_GetLooseCharBox(raw, i, box)
            ax, ay = to_display(box.left, box.top)
            bx, by = to_display(box.right, box.bottom)
            x0, y0, x1, y1 = min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)
            if key != cur_obj or key is None:
                if chars:
                    flush()
                cur_obj, chars, bounds = key, [], [x0, y0, x1, y1]
            chars.append(ch)
            bounds[0], bounds[1] = min(bounds[0], x0), min(bounds[1], y0)
            bounds[2], bounds[3] = max(bounds[2], x1), max(bounds[3], y1)
        if chars:
            flush()
    finally:
        textpage.close()
    return items
