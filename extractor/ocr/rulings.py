"""Cut detected text boxes where a table's vertical ruling runs through them.

The detector sometimes draws one box over two table cells: a name and the
sex beside it (江龙辉 | 男) become one line, "江龙辉男", and the name no
longer matches the registry. It happens when cells are a few pixels apart at
the detector's scale, most often on a page shrunk for detection, but also
where a scanned cell's text touches its ruling. A printed ruling is easy to
tell from a character's stroke: it is dark over the box's whole height *and*
goes on above or below the box, which no glyph of the line does. The box is
cut there before recognition, so each cell is read on its own and no table
reader has to guess where one cell's text ends.

Works on the rectified crops RapidOCR cuts out of the page (see
``rapidocr.utils.process_img.get_rotate_crop_image``) and the boxes they come
from, in the detector's image frame.
"""

from __future__ import annotations

import cv2
import numpy as np

# A column of the crop is a ruling when this share of its pixels is ink...
COLUMN_INK = 0.9
# ...and the line goes on, straight, outside the box over this share of the
# ink for EXTENSION box heights, above or below (a table's first or last row
# has it on one side only). A seal's ring is as dark and as thin where it
# crosses a line of text, but it curves away: a 4 cm seal at 200 dpi strays
# ~2 px from its tangent within half a line's height and ~10 px within 1.5.
EXTENSION_INK = 0.75
EXTENSION = 1.5
# A ruling is thin (1-4 px at 200 dpi): a dark band wider than this share of the box height is
# something else (a filled block, reverse print).
MAX_RULING_WIDTH = 0.12
# A ruling is printed black or grey; ink this colourful (spread of the colour
# channels, 0-255) is a seal's red ring crossing the line, not a ruling.
MAX_RULING_CHROMA = 60
# Beside a ruling is paper: columns a few pixels off either side are inked
# over at most this share of the box height (a seal's filled star is dark
# there too).
MAX_FLANK_INK = 0.6
FLANK = (2, 5)
# Cuts this close to a box's end leave it as it is (nothing to separate).
END_MARGIN = 0.25
# A piece keeps at least this much inked width (share of the box height) and
# this much ink (share of the height squared; a "1" has ~0.07): smaller scraps
# beside a ruling are specks or a neighbour's edge.
MIN_PIECE_WIDTH = 0.25
MIN_PIECE_INK = 0.04


def _gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        return image.mean(axis=2)
    return image.astype(np.float32)


def _chroma(pixels: np.ndarray, mask: np.ndarray) -> float:
    inked = pixels[mask].astype(np.int16)
    if len(inked) == 0:
        return 0.0
    return float((inked.max(axis=1) - inked.min(axis=1)).mean())


def _ink_threshold(gray: np.ndarray) -> float:
    # Paper is the bright end of the crop; ink is well below it. A fixed share
    # of the paper's brightness survives grey scans and uneven lighting.
    return float(np.percentile(gray, 90)) * 0.6


def _bands(columns: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive True columns as [start, end)."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], columns.astype(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _extends(page: np.ndarray, top: np.ndarray, bottom: np.ndarray, threshold: float) -> bool:
    """Whether the ink line through ``top``→``bottom`` goes on beyond either end."""
    height, width = page.shape[:2]
    span = bottom - top
    n = max(4, int(np.linalg.norm(span) * EXTENSION))
    for start, step in ((top, -span), (bottom, span)):
        dark = 0
        for k in range(1, n + 1):
            x, y = start + step * (EXTENSION * k / n)
            xi, yi = int(round(float(x))), int(round(float(y)))
            if not (0 <= yi < height and 0 <= xi < width):
                continue
            # A couple of pixels either way: the page may lean a little.
            if page[yi, max(0, xi - 2): xi + 3].min() < threshold:
                dark += 1
        if dark >= EXTENSION_INK * n:
            return True
    return False


def _cuts(page: np.ndarray, quad: np.ndarray, crop: np.ndarray) -> list[tuple[int, int]] | None:
    """The inked pieces [a, b) of the crop between rulings, or None to keep it whole."""
    height, width = crop.shape[:2]
    # A crop RapidOCR turned (tall boxes) or a short one: no cells to separate.
    if height < 8 or width < 2 * height:
        return None
    gray = _gray(crop)
    threshold = _ink_threshold(gray)
    ink = gray < threshold
    share = ink.mean(axis=0)
    tl, tr, br, bl = (quad[i].astype(np.float64) for i in range(4))
    rulings: list[tuple[int, int]] = []
    for a, b in _bands(share >= COLUMN_INK):
        if b - a > MAX_RULING_WIDTH * height:
            continue
        if a < END_MARGIN * height or b > width - END_MARGIN * height:
            continue
        left = share[max(0, a - FLANK[1]): max(0, a - FLANK[0])]
        right = share[b + FLANK[0]: b + FLANK[1]]
        if len(left) == 0 or len(right) == 0 or left.mean() > MAX_FLANK_INK or right.mean() > MAX_FLANK_INK:
            continue
        if crop.ndim == 3 and _chroma(crop[:, a:b], ink[:, a:b]) > MAX_RULING_CHROMA:
            continue
        t = (a + b) / 2 / width
        if _extends(page, tl + t * (tr - tl), bl + t * (br - bl), threshold):
            rulings.append((a, b))
    if not rulings:
        return None
    inked = share > 0.02
    pieces: list[tuple[int, int]] = []
    edges = [0] + [x for band in rulings for x in band] + [width]
    for a, b in zip(edges[::2], edges[1::2]):
        xs = np.flatnonzero(inked[a:b])
        if len(xs) == 0 or xs[-1] - xs[0] + 1 < MIN_PIECE_WIDTH * height:
            continue
        if ink[:, a:b].sum() < MIN_PIECE_INK * height * height:
            continue
        margin = int(0.15 * height)
        pieces.append((max(a, a + int(xs[0]) - margin), min(b, a + int(xs[-1]) + 1 + margin)))
    # Nothing left worth reading: keep the box whole rather than lose its text.
    return pieces or None


def split_at_rulings(
    page: np.ndarray, boxes: np.ndarray, crops: list[np.ndarray], top: float = 0.0
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Boxes and crops with every box cut at the vertical rulings running through it.

    ``page`` is the image the detector saw (BGR or gray), ``boxes`` its
    quads (N, 4, 2) clockwise from top-left, ``crops`` the rectified crops;
    ``top`` is the padding RapidOCR added above a short image before
    detection (the boxes are in the padded frame).
    A box without a ruling inside comes back as it was, in the same order.
    """
    page_gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY) if page.ndim == 3 else page
    out_boxes: list[np.ndarray] = []
    out_crops: list[np.ndarray] = []
    for quad, crop in zip(boxes, crops):
        pieces = _cuts(page_gray, np.asarray(quad) - np.array([0.0, top]), crop)
        if pieces is None:
            out_boxes.append(np.asarray(quad, dtype=np.float32))
            out_crops.append(crop)
            continue
        width = crop.shape[1]
        tl, tr, br, bl = (np.asarray(quad[i], dtype=np.float32) for i in range(4))
        for a, b in pieces:
            ta, tb = a / width, b / width
            out_boxes.append(np.array([tl + ta * (tr - tl), tl + tb * (tr - tl),
                                       bl + tb * (br - bl), bl + ta * (br - bl)], dtype=np.float32))
            out_crops.append(np.ascontiguousarray(crop[:, a:b]))
    if not out_boxes:
        return np.zeros((0, 4, 2), dtype=np.float32), []
    return np.stack(out_boxes), out_crops
