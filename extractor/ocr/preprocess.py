"""Image normalisation before and around OCR: decode, downscale, rotate, deskew.

Everything here is geometry on numpy arrays, no OCR. Quadrilaterals are (4, 2)
float arrays in pixel coordinates, origin top-left, y down.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps

from ..errors import ErrorCode, InputError

# EXIF orientation tag -> degrees clockwise that exif_transpose turns the pixels.
_EXIF_ROTATION = {3: 180, 6: 90, 8: 270}
_EXIF_ORIENTATION_TAG = 0x0112
MIN_SKEW_LINES = 3


@dataclass(frozen=True)
class Decoded:
    bgr: np.ndarray
    format: str  # "JPEG", "PNG", "TIFF", ...
    exif_rotation: int  # degrees clockwise applied from the EXIF orientation tag
    exif_changed: bool  # the pixels differ from the stored ones (EXIF rotate/flip)
    downscale: float  # already applied while decoding (JPEG draft mode)
    original_size: tuple[int, int]  # (width, height) as stored


def decode(data: bytes, max_side: int) -> Decoded:
    """Decode one image (first frame) to BGR uint8, honouring EXIF orientation.

    Huge JPEGs are decoded straight at a reduced scale (libjpeg's DCT scaling,
    Pillow's ``draft``), which is several times faster than decoding in full.
    """
    if not data:
        raise ValueError("empty image data")
    with warnings.catch_warnings():
        # Pillow warns from ~89 MP (a 108 MP phone photo is a real page) and
        # refuses from ~179 MP: only the refusal is an error, E108.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            pixels = re.search(r"\((\d+) pixels\)", str(exc))
            detail = f"{int(pixels.group(1)):,} px" if pixels else "over Pillow's limit"
            raise InputError(ErrorCode.IMAGE_TOO_LARGE, detail) from exc
        fmt = img.format or "UNKNOWN"
        original_size = img.size
        if fmt == "JPEG" and max(img.size) > 2 * max_side:
            scale = max_side / max(img.size)
            img.draft("RGB", (max(1, int(img.size[0] * scale)), max(1, int(img.size[1] * scale))))
        img.load()
    drafted = img.size[0] / original_size[0] if original_size[0] else 1.0
    orientation = img.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    transposed = ImageOps.exif_transpose(img)
    exif_changed = orientation not in (None, 1)
    if transposed is not None:
        img = transposed
    return Decoded(
        bgr=to_bgr(img),
        format=fmt,
        exif_rotation=_EXIF_ROTATION.get(int(orientation or 1), 0),
        exif_changed=exif_changed,
        downscale=drafted,
        original_size=original_size,
    )


def render_pdf_page(data: bytes, index: int, dpi: float, max_side: int) -> Decoded:
    """Render one PDF page straight to BGR (no PNG between renderer and OCR)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[index]
        try:
            bitmap = page.render(scale=dpi / 72, grayscale=False)
            arr = bitmap.to_numpy()
            mode = bitmap.mode
        finally:
            page.close()
    finally:
        pdf.close()
    if mode in ("BGRA", "BGRX"):
        bgr = np.ascontiguousarray(arr[:, :, :3])
    elif mode == "L":
        bgr = cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    elif mode in ("RGB", "RGBA", "RGBX"):
        bgr = cv2.cvtColor(np.ascontiguousarray(arr[:, :, :3]), cv2.COLOR_RGB2BGR)
    else:
        bgr = arr
    h, w = bgr.shape[:2]
    return Decoded(bgr=bgr, format="PDF", exif_rotation=0, exif_changed=False, downscale=1.0,
                   original_size=(w, h))


def to_bgr(img: Image.Image) -> np.ndarray:
    """Any Pillow mode to 3-channel BGR, transparent areas on a contrasting background."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"))
        rgb, alpha = rgba[..., :3].astype(np.float32), rgba[..., 3:].astype(np.float32) / 255.0
        visible = rgba[..., 3] > 0
        # As rapidocr does: dark ink on a light background and vice versa, so
        # white text on a transparent background stays readable.
        if visible.any():
            lum = (rgb[visible] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).mean()
        else:
            lum = 0.0
        bg = 255.0 if lum < 128 else 0.0
        out = (rgb * alpha + bg * (1.0 - alpha)).clip(0, 255).astype(np.uint8)
        return cv2.cvtColor(out, cv2.COLOR_RGB2BGR)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max() or 1.0
        gray = (arr * (255.0 / top)).astype(np.uint8)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    if img.mode in ("1", "L"):
        return cv2.cvtColor(np.asarray(img.convert("L")), cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(np.asarray(img.convert("RGB")), cv2.COLOR_RGB2BGR)


def downscale(bgr: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Shrink so the longer side is at most ``max_side``; returns (image, factor)."""
    h, w = bgr.shape[:2]
    longest = max(h, w)
    if longest <= max_side:
        return bgr, 1.0
    factor = max_side / longest
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    # INTER_AREA averages: no aliasing on thin strokes when shrinking a lot.
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), factor


# --------------------------------------------------------------------------- right angles

_ROTATE_CODES = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def rotate_right_angle(bgr: np.ndarray, degrees_cw: int) -> np.ndarray:
    degrees_cw %= 360
    if degrees_cw == 0:
        return bgr
    return cv2.rotate(bgr, _ROTATE_CODES[degrees_cw])


# --------------------------------------------------------------------------- skew


def quad_angle(quad: np.ndarray) -> float:
    """Slope of a text line's box in degrees; negative when the line rises to the right."""
    top = quad[1] - quad[0]
    bottom = quad[2] - quad[3]
    dx, dy = float(top[0] + bottom[0]), float(top[1] + bottom[1])
    return math.degrees(math.atan2(dy, dx))


def quad_size(quad: np.ndarray) -> tuple[float, float]:
    """(length along the line, thickness across it)."""
    width = (np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
    height = (np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2
    return float(width), float(height)


def estimate_skew(quads: list[np.ndarray], max_angle: float) -> float | None:
    """Page skew in degrees from the detector's line boxes (free: no extra pass).

    The detector fits a rotated rectangle to every text line, so the slope of
    long, flat boxes is the page's slant. Returns the length-weighted median
    slope, or ``None`` when too little long text agrees on one.
    """
    angles: list[float] = []
    weights: list[float] = []
    for quad in quads:
        width, height = quad_size(quad)
        if height <= 0 or width < 3 * height:  # short boxes give noisy slopes
            continue
        angle = quad_angle(quad)
        if abs(angle) > max_angle:
            continue
        angles.append(angle)
        weights.append(width)
    # One or two boxes (a cropped single line, a stamp) are too few to tell
    # the page's slant from the box fit's own noise.
    if len(angles) < MIN_SKEW_LINES:
        return None
    order = np.argsort(angles)
    a = np.asarray(angles)[order]
    w = np.asarray(weights)[order]
    cumulative = np.cumsum(w)
    median = float(a[np.searchsorted(cumulative, cumulative[-1] / 2)])
    # The lines must agree: most of the text within 1.5 degrees of the median.
    agreeing = w[np.abs(a - median) <= 1.5].sum()
    if agreeing < 0.6 * cumulative[-1]:
        return None
    return median


def refine_skew(bgr: np.ndarray, rough: float, span: float = 2.0, width: int = 800) -> float:
    """The page's slant to ~0.05 degrees near ``rough``, from the image's ink.

    The detector's boxes say roughly how a page leans, but their slopes are
    quantised by the detector's input scale: on a 200-dpi roster shrunk to
    1280 px, half the cell boxes of a 1-degree scan came out at exactly 0 and
    the median said 0.3 (measured), so the table was not straightened and its
    rows mixed. Text lines and rules are sharpest in a row profile when they lie
    flat, so the angle whose turned image has the sharpest row profile (sum of
    squared differences of ink per row) is the slant. Coarse to fine around
    ``rough`` on an Otsu-binarised copy ``width`` px wide: ~25 turns of a small
    image, tens of milliseconds.
    """
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr
    scale = min(1.0, width / gray.shape[1])
    if scale < 1.0:
        gray = cv2.resize(gray, (width, max(1, round(gray.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    ink = ink.astype(np.float32)
    h, w = ink.shape

    def sharpness(angle: float) -> float:
        turned = cv2.warpAffine(ink, cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0), (w, h),
                                flags=cv2.INTER_NEAREST, borderValue=0)
        return float(np.square(np.diff(turned.sum(axis=1))).sum())

    best, low, high = rough, rough - span, rough + span
    for step in (0.5, 0.1, 0.05):
        grid = np.arange(low, high + step / 2, step)
        best = float(grid[int(np.argmax([sharpness(a) for a in grid]))])
        low, high = best - step, best + step
    return round(best, 2)


def rotation_matrix(width: int, height: int, angle: float) -> tuple[np.ndarray, tuple[int, int]]:
    """Affine matrix rotating an image by ``angle`` degrees (OpenCV sense:
    counter-clockwise positive) about its centre, on a canvas grown to keep every
    corner; returns (matrix, (new_width, new_height))."""
    m = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    new_w = math.ceil(height * sin + width * cos)
    new_h = math.ceil(height * cos + width * sin)
    m[0, 2] += new_w / 2.0 - width / 2.0
    m[1, 2] += new_h / 2.0 - height / 2.0
    return m, (new_w, new_h)


def background_colour(bgr: np.ndarray) -> tuple[int, int, int]:
    """Median colour of the image's border: the paper, to fill uncovered corners."""
    edges = np.concatenate([bgr[0], bgr[-1], bgr[:, 0], bgr[:, -1]])
    b, g, r = np.median(edges, axis=0)
    return int(b), int(g), int(r)


def warp(bgr: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.warpAffine(
        bgr,
        matrix,
        size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=background_colour(bgr),
    )


def transform_quad(quad: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    ones = np.ones((quad.shape[0], 1), dtype=np.float32)
    return (np.hstack([quad.astype(np.float32), ones]) @ matrix.T.astype(np.float32)).astype(np.float32)


def encode(bgr: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode the normalised page image")
    return buf.tobytes()
