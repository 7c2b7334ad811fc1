"""Scanned drawings: outlines from the page image (OpenCV), text from OCR.

A building's outline on a scan is the hole its wall stroke encloses; the hole
is pushed out by half the stroke so the outline is the wall's centre line, as
in the vector drawing (else every gap reads one stroke width too wide).
Holes are used, not outer contours, because a dimension line touching two
walls joins both buildings into one ink component but leaves their holes apart.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image
from shapely.geometry import Polygon

from .geometry import Candidate
from .model import TextItem


@dataclass
class RasterPage:
    width: float
    height: float
    candidates: list[Candidate] = field(default_factory=list)
    bars: list[tuple[float, float, float, float]] = field(default_factory=list)
    texts: list[TextItem] = field(default_factory=list)


def load_gray(data: bytes) -> tuple[np.ndarray, float | None]:
    """Greyscale pixels and the DPI the file declares (None when it declares none)."""
    image = Image.open(io.BytesIO(data))
    image.seek(0)
    dpi = image.info.get("dpi")
    gray = np.asarray(image.convert("L"))
    d = float(dpi[0]) if dpi and dpi[0] and float(dpi[0]) > 1 else None
    return gray, d


def read_raster(gray: np.ndarray, unit_per_px: float, min_area_px: float = 400.0) -> RasterPage:
    """Candidates and scale-bar extents in page units (``unit_per_px`` page units per pixel)."""
    h, w = gray.shape
    blur = cv2.GaussianBlur(gray, (3, 3), 0)
    ink = (blur < 150).astype(np.uint8) * 255
    contours, hierarchy = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    page = RasterPage(width=w * unit_per_px, height=h * unit_per_px)
    if hierarchy is None:
        return page
    hier = hierarchy[0]
    holes_of: dict[int, int] = {}
    for i, (_nxt, _prv, _child, parent) in enumerate(hier):
        if parent >= 0:
            holes_of[parent] = holes_of.get(parent, 0) + 1
    for i, contour in enumerate(contours):
        parent = hier[i][3]
        if parent < 0:
            x, y, cw, chh = cv2.boundingRect(contour)
            # a scale bar: a long thin ink shape with white cells inside
            if cw >= 8 * chh and 4 <= chh <= 0.05 * h and holes_of.get(i, 0) >= 1:
                page.bars.append((x * unit_per_px, y * unit_per_px, (x + cw - 1) * unit_per_px,
                                  (y + chh - 1) * unit_per_px))
            continue
        area = cv2.contourArea(contour)
        if area < min_area_px:
            continue
        stroke = _stroke_width(ink, contour)
        approx = cv2.approxPolyDP(contour, 1.0, True).reshape(-1, 2).astype(float)
        if len(approx) < 3:
            continue
        poly = Polygon(approx)
        if not poly.is_valid:
            poly = poly.buffer(0)
            if poly.geom_type != "Polygon":
                continue
        # The traced hole border is the innermost ink pixel row: the wall's centre
        # lies (stroke - 1) / 2 pixels further out.
        poly = poly.buffer(max(stroke - 1.0, 0.0) / 2, join_style="mitre")
        poly = Polygon([(x * unit_per_px, y * unit_per_px) for x, y in poly.exterior.coords])
        page.candidates.append(Candidate(poly, (), confidence=0.95))
    return page


def _stroke_width(ink: np.ndarray, contour: np.ndarray, max_w: int = 12) -> float:
    """Ink rings around the hole, counted outwards until a ring is mostly paper."""
    x, y, cw, ch = cv2.boundingRect(contour)
    pad = max_w + 2
    x0, y0 = max(x - pad, 0), max(y - pad, 0)
    x1, y1 = min(x + cw + pad, ink.shape[1]), min(y + ch + pad, ink.shape[0])
    roi = ink[y0:y1, x0:x1] > 0
    mask = np.zeros(roi.shape, np.uint8)
    cv2.drawContours(mask, [contour - np.array([x0, y0])], -1, 1, thickness=-1)
    kernel = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    prev = mask
    for k in range(1, max_w):
        grown = cv2.dilate(prev, kernel)
        ring = (grown > 0) & ~(prev > 0)
        n = int(ring.sum())
        if n == 0 or roi[ring].mean() < 0.5:
            return float(k)
        prev = grown
    return float(max_w)
