"""One page through OCR: decode, normalise, recognise, and build the document model.

Cost model (measured on rendered pages and the cnocr set): the OCR pass is
~99% of the time, so preprocessing must not add passes to ordinary pages.

* Downscale happens before OCR (it saves OCR time).
* Rotation: RapidOCR's confidences stay high (~0.99) on pages turned by 90
  or 180 degrees, because it turns tall crops and its line classifier flips
  upside-down crops; what goes wrong is reading order and boxes. So the
  signals are geometric and free: most text in tall boxes (sideways) or most
  text flipped by the classifier (upside down). Only then is the page turned
  and recognised again, and the new pass must confirm it.
* Deskew: the detector already fits a rotated rectangle to each line and
  recognises a perspective-corrected crop, so a slanted page reads as well
  as a straight one (measured: CER 0 at 3/7/12 degrees on a rendered page).
  The slant is estimated from those rectangles, refined on the image's ink
  (row-profile sharpness, tens of milliseconds), and the image and boxes are
  turned by it geometrically: straight boxes and reading order at no extra
  OCR pass.
* A short, wide image (a crop of one line) is first read whole, without
  detection; the detector scales such crops up to 736 px and is then slow
  and often finds nothing.
"""

from __future__ import annotations

import time

import numpy as np

from ..model import Line, OcrRun, Source, Word
from . import preprocess as pp
from . import timing
from .api import OcrOptions, OcrPageResult, PageImage
from .engines import STRIP_HEIGHT, OcrEngine, RawLine

# Below this the boxes are already straight to within a pixel or two per
# 100 px of line; turning the image would only cost a re-encode.
MIN_SKEW_DEG = 0.5
MAX_SKEW_DEG = 20.0
# Share of recognised characters that must look sideways / upside down
# before another rotation is tried.
ROTATION_TRIGGER = 0.5
# A box this much taller than wide, holding two or more characters, is a
# vertical line of text.
TALL_RATIO = 1.5
# A short, wide image is a crop of one line (a field cut out of a form, a
# label): it is read whole, without detection, when the recogniser is sure.
# Measured on cnocr's 15 line crops: 13 errors instead of raw RapidOCR's 48
# (its detector finds nothing on some tight crops) in ~0.2 s instead of 1-12 s.
STRIP_MAX_HEIGHT = STRIP_HEIGHT  # 120 px
STRIP_MIN_ASPECT = 2.5
STRIP_MIN_CONFIDENCE = 0.85


def _text_len(line: RawLine) -> int:
    return len(line.text.replace(" ", ""))


def orientation_signals(lines: list[RawLine]) -> tuple[float, float, float]:
    """(share of characters in tall boxes, share flipped by the line classifier,
    share of tall-box characters flipped) — each 0..1."""
    total = tall = flipped = tall_flipped = 0
    for line in lines:
        n = _text_len(line)
        total += n
        w, h = _axis_size(line.quad)
        is_tall = n >= 2 and h >= TALL_RATIO * w
        if is_tall:
            tall += n
            tall_flipped += n if line.flipped else 0
        if line.flipped:
            flipped += n
    if total == 0:
        return 0.0, 0.0, 0.0
    return tall / total, flipped / total, (tall_flipped / tall if tall else 0.0)


def _axis_size(quad: np.ndarray) -> tuple[float, float]:
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    return float(x1 - x0), float(y1 - y0)


def _quality(lines: list[RawLine]) -> float:
    return sum(line.score * _text_len(line) for line in lines)


def _looks_upright(lines: list[RawLine]) -> bool:
    tall, flipped, _ = orientation_signals(lines)
    return tall < ROTATION_TRIGGER and flipped < ROTATION_TRIGGER


def orient(
    bgr: np.ndarray, lines: list[RawLine], engine: OcrEngine
) -> tuple[int, np.ndarray, list[RawLine]]:
    """Turn a sideways or upside-down page upright; returns (degrees clockwise applied, image, lines)."""
    tall, flipped, tall_flipped = orientation_signals(lines)
    if tall >= ROTATION_TRIGGER:
        # RapidOCR turns a tall crop counter-clockwise; if the classifier then
        # had to flip it, the page was turned counter-clockwise, so it needs 90
        # clockwise, else 270. Try the likelier one first.
        candidates = [90, 270] if tall_flipped >= 0.5 else [270, 90]
    elif flipped >= ROTATION_TRIGGER:
        candidates = [180]
    else:
        return 0, bgr, lines
    baseline = _quality(lines)
    for degrees in candidates:
        turned = pp.rotate_right_angle(bgr, degrees)
        turned_lines = engine.recognise(turned)
        # Accept only when the new pass looks upright and read at least about
        # as much text as confidently: vertical writing or a page of narrow
        # table cells must not be turned on a hunch.
        if _looks_upright(turned_lines) and _quality(turned_lines) >= 0.8 * baseline:
            return degrees, turned, turned_lines
    return 0, bgr, lines


def _bbox(quad: np.ndarray, width: int, height: int) -> tuple[float, float, float, float]:
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    return (
        round(float(max(0.0, x0)), 1),
        round(float(max(0.0, y0)), 1),
        round(float(min(float(width), x1)), 1),
        round(float(min(float(height), y1)), 1),
    )


def reading_order(lines: list[Line], tolerance: float = 10.0) -> list[Line]:
    """Top-to-bottom, left-to-right, by the same rule as PaddleOCR/RapidOCR.

    Sort by top edge; a line whose top is within ``tolerance`` pixels of the
    previous one's and lies left of it moves before it. Kept identical to the
    engines' own rule on purpose: measured on a ruled-table page (issue-336),
    a row-band grouping read multi-line cells in an order farther from the
    PDF's text layer (CER 0.033 vs 0.002).
    """
    ordered = sorted(lines, key=lambda ln: (ln.bbox[1], ln.bbox[0]))
    for i in range(len(ordered) - 1):
        for j in range(i, -1, -1):
            a, b = ordered[j], ordered[j + 1]
            if abs(b.bbox[1] - a.bbox[1]) < tolerance and b.bbox[0] < a.bbox[0]:
                ordered[j], ordered[j + 1] = b, a
            else:
                break
    return ordered


def to_lines(raw: list[RawLine], width: int, height: int, matrix: np.ndarray | None) -> list[Line]:
    """Document-model lines; re-sorted only when ``matrix`` moved them (deskew):
    otherwise the engine's order is already the reading order."""
    out: list[Line] = []
    for r in raw:
        quad = pp.transform_quad(r.quad, matrix) if matrix is not None else r.quad
        words = [
            Word(
                text=w.text,
                bbox=_bbox(pp.transform_quad(w.quad, matrix) if matrix is not None else w.quad, width, height),
                confidence=round(min(max(w.score, 0.0), 1.0), 5),
            )
            for w in r.words
        ]
        out.append(
            Line(
                text=r.text,
                bbox=_bbox(quad, width, height),
                confidence=round(min(max(r.score, 0.0), 1.0), 5),
                source=Source.OCR,
                words=words,
            )
        )
    if matrix is None:
        return out
    # The engine sorts on its working image, at most 2000 px on a side; its
    # 10 px tolerance scales with our larger image.
    return reading_order(out, tolerance=10.0 * max(1.0, max(width, height) / 2000.0))


def _read_strip(bgr: np.ndarray, engine: OcrEngine) -> RawLine | None:
    height, width = bgr.shape[:2]
    if height > STRIP_MAX_HEIGHT or width < STRIP_MIN_ASPECT * height:
        return None
    try:
        line = engine.recognise_line(bgr)
    except Exception:  # noqa: BLE001 - the full detection pass will have its say
        return None
    if line is None or line.score < STRIP_MIN_CONFIDENCE:
        return None
    return line


def recognise_page(page: PageImage, options: OcrOptions, engine: OcrEngine) -> OcrPageResult:
    # The page's stage times travel with its result (a worker process's
    # collector is not the caller's); the runner merges them.
    with timing.collect() as seconds:
        result = _recognise_page(page, options, engine)
    result.timings = seconds
    return result


def _recognise_page(page: PageImage, options: OcrOptions, engine: OcrEngine) -> OcrPageResult:
    started = time.perf_counter()
    if page.pdf is not None:
        with timing.stage("render"):
            decoded = pp.render_pdf_page(page.pdf, page.page_index, page.dpi or 200.0, options.max_side)
    else:
        with timing.stage("preprocess"):
            decoded = pp.decode(page.image, options.max_side)
    with timing.stage("preprocess"):
        bgr, factor = pp.downscale(decoded.bgr, options.max_side)
    factor *= decoded.downscale

    rotation = 0
    raw: list[RawLine] = []
    strip = _read_strip(bgr, engine)
    if strip is not None:
        raw = [strip]
        if strip.flipped and options.detect_rotation:
            # The classifier read it upside down: store the crop upright too.
            rotation, bgr = 180, pp.rotate_right_angle(bgr, 180)
            raw = [RawLine(strip.text, strip.score, strip.quad, False, ())]
    else:
        raw = engine.recognise(bgr)
        if options.detect_rotation and raw:
            # A turned page is recognised again: its detection, classification
            # and recognition count under "orientation", not twice.
            turn_started = time.perf_counter()
            with timing.collect():
                rotation, bgr, raw = orient(bgr, raw, engine)
            timing.add("orientation", time.perf_counter() - turn_started)

    skew = 0.0
    matrix: np.ndarray | None = None
    deskew_started = time.perf_counter()
    if options.deskew and raw and strip is None:
        angle = pp.estimate_skew([r.quad for r in raw], MAX_SKEW_DEG)
        if angle is not None:
            # The boxes say the page leans (enough long lines agree); the ink says by how much.
            angle = pp.refine_skew(bgr, angle)
        if angle is not None and abs(angle) >= MIN_SKEW_DEG:
            h, w = bgr.shape[:2]
            matrix, size = pp.rotation_matrix(w, h, angle)
            bgr = pp.warp(bgr, matrix, size)
            # OpenCV's positive angle turns counter-clockwise; a line rising
            # to the right has a negative slope and is turned clockwise.
            skew = round(-angle, 2)

    height, width = bgr.shape[:2]
    lines = to_lines(raw, width, height, matrix)
    timing.add("deskew", time.perf_counter() - deskew_started)

    unchanged = (
        factor == 1.0 and rotation == 0 and matrix is None and not decoded.exif_changed
    )
    if unchanged and decoded.format in ("JPEG", "PNG"):
        image = page.image  # the bboxes refer to the stored pixels: no re-encode
    else:
        with timing.stage("preprocess"):
            image = pp.encode(bgr)

    confidences = [line.confidence for line in lines]
    run = OcrRun(
        engine=engine.name,
        engine_version=engine.version,
        models=dict(engine.models),
        rotation=(rotation + decoded.exif_rotation) % 360,
        skew=skew,
        downscale=round(factor, 6),
        dpi=page.dpi,
        seconds=round(time.perf_counter() - started, 4),
        cached=False,
        mean_confidence=round(float(np.mean(confidences)), 5) if confidences else None,
    )
    return OcrPageResult(lines=lines, run=run, width=width, height=height, image=image)
