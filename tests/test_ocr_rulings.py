"""A detected box over two table cells is cut at the ruling between them, and only there;
a doubtful line is read again the other way up.

The first page is drawn here (WenQuanYi Zen Hei, 200 dpi); the box is the
one a detector draws over a row's name and sex cells when they are a few
pixels apart at its scale. The others are documents of the blind families,
read with the default settings (detector at 1280 px). Recognition runs on
the real bundled models.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from extractor.ingest import ingest_package
from extractor.ocr.engines import RapidOcrEngine
from extractor.ocr.rulings import split_at_rulings
from extractor.package import open_package

from .conftest import FIXTURES

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
pytestmark = pytest.mark.skipif(not FONT.exists(), reason="fonts-wqy-zenhei is not installed")

ROW_TOP, ROW_BOTTOM = 200, 250


def _page(draw_between) -> np.ndarray:
    """Two cells, 江龙辉 | 男, text 4 px from the line between them; ``draw_between`` draws that line."""
    font = ImageFont.truetype(str(FONT), 29)
    img = Image.new("RGB", (800, 500), (235, 235, 235))
    draw = ImageDraw.Draw(img)
    draw.rectangle((100, 60, 420, 440), outline=(40, 40, 40), width=2)  # the table's frame
    draw.line((100, ROW_TOP - 5, 420, ROW_TOP - 5), fill=(40, 40, 40), width=2)
    draw.line((100, ROW_BOTTOM + 5, 420, ROW_BOTTOM + 5), fill=(40, 40, 40), width=2)
    right = 110 + draw.textlength("江龙辉", font=font)
    draw.text((110, ROW_TOP + 8), "江龙辉", font=font, fill=(20, 20, 20))
    draw_between(draw, int(right) + 4)
    draw.text((int(right) + 10, ROW_TOP + 8), "男", font=font, fill=(20, 20, 20))
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


def _ruling(draw, x):
    draw.line((x, 60, x, 440), fill=(40, 40, 40), width=2)


def _star(draw, x):
    # A seal's filled star: dark over the whole row, but wide and not a line.
    draw.polygon([(x, ROW_TOP - 30), (x + 14, ROW_BOTTOM + 30), (x - 14, ROW_BOTTOM + 30)], fill=(60, 60, 60))


def _nothing(draw, x):
    return None


def _box_and_crop(page: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    from rapidocr.utils.process_img import get_rotate_crop_image

    quad = np.array([[104, ROW_TOP], [300, ROW_TOP + 1], [300, ROW_BOTTOM + 1], [104, ROW_BOTTOM]], np.float32)
    return quad[None], [get_rotate_crop_image(page, quad.copy())]


@pytest.fixture(scope="module")
def engine() -> RapidOcrEngine:
    return RapidOcrEngine(threads=1)


def _read(engine: RapidOcrEngine, crops: list[np.ndarray]) -> list[str]:
    return [line.text if line else "" for line in (engine.recognise_line(c) for c in crops)]


def test_a_box_over_two_cells_is_cut_at_their_ruling(engine: RapidOcrEngine) -> None:
    page = _page(_ruling)
    boxes, crops = _box_and_crop(page)
    assert _read(engine, crops) == ["江龙辉男"]  # read whole, the cells run together
    cut_boxes, cut_crops = split_at_rulings(page, boxes, crops)
    assert _read(engine, cut_crops) == ["江龙辉", "男"]
    # The pieces' boxes lie on the page where their text is, either side of the line.
    assert cut_boxes.shape == (2, 4, 2)
    assert cut_boxes[0][:, 0].max() < cut_boxes[1][:, 0].min()
    assert cut_boxes[0][0, 0] >= 104 and cut_boxes[1][1, 0] <= 300


@pytest.mark.parametrize("between", [_star, _nothing], ids=["seal star", "no ruling"])
def test_a_box_without_a_ruling_through_it_stays_whole(between) -> None:
    page = _page(between)
    boxes, crops = _box_and_crop(page)
    cut_boxes, cut_crops = split_at_rulings(page, boxes, crops)
    assert len(cut_crops) == 1 and cut_crops[0] is crops[0]
    assert np.array_equal(cut_boxes, boxes)


def test_the_padding_above_a_short_image_is_taken_into_account() -> None:
    page = _page(_ruling)
    boxes, crops = _box_and_crop(page)
    # RapidOCR pads a short, wide image above before detection: boxes come in that frame.
    padded = boxes + np.array([0.0, 40.0], np.float32)
    assert len(split_at_rulings(page, padded, crops, top=40.0)[1]) == 2


def _lines(path: Path) -> list[str]:
    [document] = ingest_package(open_package(path)).documents
    return [line.text for page in document.pages for line in page.lines]


def test_a_seals_ring_across_a_line_is_no_ruling() -> None:
    # blind_e05's application: the grey seal's ring crosses 申请单位…浏阳市|金辉… where
    # it is nearly upright; within half a line's height of the box it looked straight.
    lines = _lines(FIXTURES / "blind_e" / "packages_out" / "blind_e05" / "申请书.pdf")
    [signed] = [t for t in lines if t.startswith("申请单位")]
    assert "浏阳市金辉烟花" in signed


def test_a_number_the_line_classifier_turned_upside_down_is_read_the_right_way_up() -> None:
    # blind_f03's photographed certificate cards: at the 1280 px detector two card numbers'
    # crops were turned by 180 degrees (classifier sure at 0.98-0.99) and read as digit soup.
    lines = _lines(FIXTURES / "blind_f" / "packages_out" / "blind_f03" / "08_特种作业操作证复印件.jpg")
    assert {"T530111199306250950", "T530111198910300534"} <= set(lines)
