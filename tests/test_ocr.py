"""The OCR layer on real images with the real engine.

Test pages are rendered here with Pillow and the WenQuanYi Zen Hei font
(Debian's fonts-wqy-zenhei), so their exact text is known; public images
come from ../shared/data/ocr.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from rapidfuzz.distance import Levenshtein

from extractor.errors import ErrorCode, InputError
from extractor.model import Line, Source
from extractor.ocr import (
    OcrCache,
    OcrEngine,
    OcrOptions,
    OcrPageResult,
    PageImage,
    cache_key,
    get_engine,
    recognise_pages,
    runner,
)
from extractor.ocr import preprocess as pp
from extractor.ocr.engines import RawLine
from extractor.ocr.page import orientation_signals, reading_order
from tests.conftest import have_shared, shared_data_path

DATA = shared_data_path()
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")

PAGE_LINES = [
    "安全生产许可证申请书",
    "申请单位：江苏华建建设工程有限公司",
    "统一社会信用代码：91320100MA1N2X3Y4Z",
    "法定代表人：王建国　主要负责人：李晓明",
    "一、本公司成立于2008年，注册资本5000万元，现有职工326人。",
    "二、专职安全生产管理人员12人，特种作业人员48人均持证上岗。",
    "三、脚手架搭设高度不超过24米，防护栏杆高度1.2米。",
    "申请日期：2026年11月20日",
]

needs_font = pytest.mark.skipif(not FONT.exists(), reason="fonts-wqy-zenhei is not installed")
needs_data = pytest.mark.skipif(not have_shared("ocr"), reason="the shared OCR data is not present")


def normalise(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def cer(predicted: str, truth: str) -> float:
    t = normalise(truth)
    return Levenshtein.distance(normalise(predicted), t) / max(len(t), 1)


def page_text(result: OcrPageResult) -> str:
    return "".join(line.text for line in result.lines)


def render_page(lines: list[str] = PAGE_LINES, size: int = 30, width: int = 1200) -> Image.Image:
    font = ImageFont.truetype(str(FONT), size)
    margin, step = 50, int(size * 1.9)
    img = Image.new("RGB", (width, margin * 2 + step * len(lines)), "white")
    draw = ImageDraw.Draw(img)
    for i, text in enumerate(lines):
        draw.text((margin, margin + i * step), text, font=font, fill=(25, 25, 25))
    return img


def as_page(img: Image.Image, fmt: str = "PNG", **save: object) -> PageImage:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **save)
    data = buf.getvalue()
    return PageImage(key=hashlib.sha256(data).hexdigest(), image=data)


def only(results: list[OcrPageResult | InputError]) -> OcrPageResult:
    [result] = results
    assert isinstance(result, OcrPageResult), result
    return result


class DictCache:
    """The simplest real OcrCache: a dict in memory."""

    def __init__(self) -> None:
        self.store: dict[str, OcrPageResult] = {}
        self.puts = 0

    def get(self, key: str) -> OcrPageResult | None:
        return self.store.get(key)

    def put(self, key: str, result: OcrPageResult) -> None:
        self.puts += 1
        self.store[key] = result


@pytest.fixture(scope="module")
def upright() -> Image.Image:
    return render_page()


@pytest.fixture(scope="module")
def upright_result(upright: Image.Image) -> OcrPageResult:
    return only(recognise_pages([as_page(upright)]))


# --------------------------------------------------------------------------- real OCR


@pytest.mark.slow
@needs_data
def test_known_image_is_recognised() -> None:
    labels = [
        json.loads(line)
        for line in (DATA / "ocr/rapidocr_tests/labels.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    truth = next(item for item in labels if item["image"].endswith("text_rec.jpg"))["lines"][0]
    data = (DATA / "ocr/rapidocr_tests/images/text_rec.jpg").read_bytes()
    result = only(recognise_pages([PageImage(key=hashlib.sha256(data).hexdigest(), image=data)]))
    assert truth == "韩国小馆"
    assert truth in page_text(result)
    assert result.run.engine == "rapidocr" and result.run.cached is False
    assert result.run.models["det"].startswith("PP-OCR")
    assert 0.5 < (result.run.mean_confidence or 0) <= 1


@pytest.mark.slow
@needs_font
def test_page_result_is_well_formed(upright_result: OcrPageResult, upright: Image.Image) -> None:
    r = upright_result
    assert cer(page_text(r), "".join(PAGE_LINES)) <= 0.02
    assert r.lines[0].text == PAGE_LINES[0]  # reading order
    assert (r.width, r.height) == upright.size
    assert (r.run.rotation, r.run.skew, r.run.downscale) == (0, 0.0, 1.0)
    tops = [line.bbox[1] for line in r.lines]
    assert tops == sorted(tops)
    for line in r.lines:
        x0, top, x1, bottom = line.bbox
        assert 0 <= x0 < x1 <= r.width and 0 <= top < bottom <= r.height
        assert line.source is Source.OCR and 0 < line.confidence <= 1
        assert line.words, "word boxes come with every line"
        assert "".join(w.text for w in line.words).replace(" ", "") == line.text.replace(" ", "")
        for word in line.words:  # each word inside its line, give or take a pixel
            assert word.bbox[0] >= x0 - 2 and word.bbox[2] <= x1 + 2
    # Nothing was changed, so the stored image is the page image as given.
    assert Image.open(io.BytesIO(r.image)).size == (r.width, r.height)


@pytest.mark.slow
@needs_font
@pytest.mark.parametrize("turned_cw", [90, 180, 270])
def test_turned_page_is_turned_back(turned_cw: int, upright: Image.Image, upright_result: OcrPageResult) -> None:
    turned = upright.rotate(-turned_cw, expand=True)  # PIL's positive angle is counter-clockwise
    result = only(recognise_pages([as_page(turned)]))
    assert result.run.rotation == (360 - turned_cw) % 360
    assert (result.width, result.height) == upright.size
    assert cer(page_text(result), "".join(PAGE_LINES)) <= cer(page_text(upright_result), "".join(PAGE_LINES)) + 0.01
    assert result.lines[0].text == PAGE_LINES[0]
    # Boxes refer to the turned-back image: they match the upright page's boxes.
    first = np.array(result.lines[1].bbox)
    assert np.abs(first - np.array(upright_result.lines[1].bbox)).max() <= 4


@pytest.mark.slow
@needs_font
@needs_data
def test_upside_down_crop_reads_upright() -> None:
    # rapidocr's own test image: one line photographed upside down.
    data = (DATA / "ocr/rapidocr_tests/images/text_cls.jpg").read_bytes()
    result = only(recognise_pages([PageImage(key=hashlib.sha256(data).hexdigest(), image=data)]))
    assert "怪我咯" in page_text(result)


@pytest.mark.slow
@needs_font
@pytest.mark.parametrize("slant", [6.0, -7.5])
def test_slanted_page_is_deskewed(slant: float, upright: Image.Image, upright_result: OcrPageResult) -> None:
    slanted = upright.rotate(slant, expand=True, fillcolor="white", resample=Image.BICUBIC)
    result = only(recognise_pages([as_page(slanted)]))
    # Turning a counter-clockwise slant back is a clockwise deskew.
    assert result.run.skew == pytest.approx(slant, abs=0.6)
    truth = "".join(PAGE_LINES)
    assert cer(page_text(result), truth) <= cer(page_text(upright_result), truth) + 0.01
    # Straightened: line boxes are as flat as on the upright page, not slanted bands.
    upright_h = max(line.bbox[3] - line.bbox[1] for line in upright_result.lines)
    assert max(line.bbox[3] - line.bbox[1] for line in result.lines) <= upright_h * 1.3
    assert result.lines[0].text == PAGE_LINES[0]
    assert Image.open(io.BytesIO(result.image)).size == (result.width, result.height)


@pytest.mark.slow
@needs_font
def test_deskew_can_be_switched_off(upright: Image.Image) -> None:
    slanted = upright.rotate(6, expand=True, fillcolor="white", resample=Image.BICUBIC)
    result = only(recognise_pages([as_page(slanted)], OcrOptions(deskew=False, detect_rotation=False)))
    assert result.run.skew == 0.0 and (result.width, result.height) == slanted.size


@pytest.mark.slow
@needs_font
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_huge_image_is_downscaled(fmt: str, upright: Image.Image) -> None:
    # A phone photo of the page: 7200 px on its long side (JPEG takes the
    # fast draft-decoding path, PNG the full decode and resize).
    huge = upright.resize((7200, round(7200 * upright.height / upright.width)), Image.LANCZOS)
    options = OcrOptions(max_side=3000)
    result = only(recognise_pages([as_page(huge, fmt, **({"quality": 90} if fmt == "JPEG" else {}))], options))
    assert max(result.width, result.height) == 3000
    assert result.run.downscale == pytest.approx(3000 / 7200, rel=1e-3)
    assert cer(page_text(result), "".join(PAGE_LINES)) <= 0.03
    assert all(line.bbox[2] <= result.width and line.bbox[3] <= result.height for line in result.lines)
    assert Image.open(io.BytesIO(result.image)).size == (result.width, result.height)


@pytest.mark.slow
@needs_font
def test_cache_hit_does_not_run_the_engine(upright: Image.Image, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = DictCache()
    assert isinstance(cache, OcrCache)
    page = as_page(upright.crop((0, 0, upright.width, 300)))
    first = only(recognise_pages([page], cache=cache))
    assert first.run.cached is False and cache.puts == 1

    def no_ocr(*args: object, **kwargs: object) -> object:
        raise AssertionError("the engine ran on a cache hit")

    monkeypatch.setattr(runner, "_run_one", no_ocr)
    second = only(recognise_pages([page], cache=cache))
    assert second.run.cached is True and cache.puts == 1
    assert second.lines == first.lines and second.image == first.image
    # What changes the output changes the key; what changes only speed does not.
    assert cache_key(page, OcrOptions()) == cache_key(page, OcrOptions(workers=1))
    assert cache_key(page, OcrOptions()) != cache_key(page, OcrOptions(deskew=False))
    assert cache_key(page, OcrOptions()) != cache_key(page.model_copy(update={"key": "0" * 64}), OcrOptions())


@pytest.mark.slow
@needs_font
def test_bad_page_fails_alone_in_a_parallel_batch(upright: Image.Image) -> None:
    good = as_page(upright.crop((0, 0, upright.width, 220)))
    other = as_page(upright.crop((0, 200, upright.width, 420)))
    garbage = PageImage(key="garbage", image=b"\x89PNG\r\n\x1a\n this is not an image at all")
    empty = PageImage(key="empty", image=b"")
    # Four pages and two workers: the process pool path.
    results = recognise_pages([good, garbage, other, empty], OcrOptions(workers=2), progress=True)
    assert isinstance(results[0], OcrPageResult) and isinstance(results[2], OcrPageResult)
    assert PAGE_LINES[0] in page_text(results[0])
    assert PAGE_LINES[3].split("　")[0] in page_text(results[2])
    for bad in (results[1], results[3]):
        assert isinstance(bad, InputError) and bad.code is ErrorCode.OCR_FAILED
        assert bad.error.code == "E112" and bad.detail


def test_paddle_without_models_is_e113(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHENCHA_PADDLE_MODEL_DIR", raising=False)
    for options in (
        OcrOptions(engine="paddleocr"),
        OcrOptions(engine="paddleocr", paddle_model_dir=str(tmp_path)),  # exists, but no det/ rec/
    ):
        with pytest.raises(InputError) as err:
            get_engine(options)
        assert err.value.code is ErrorCode.OCR_MODELS_MISSING and err.value.error.code == "E113"
        results = recognise_pages([PageImage(key="k", image=b"x"), PageImage(key="k2", image=b"y")], options)
        assert [r.code for r in results if isinstance(r, InputError)] == [ErrorCode.OCR_MODELS_MISSING] * 2
    assert not any(tmp_path.iterdir()), "nothing may be fetched into the model directory"


@pytest.mark.slow
def test_default_engine_is_offline_rapidocr() -> None:
    engine = get_engine(OcrOptions())
    assert isinstance(engine, OcrEngine)
    assert engine.name == "rapidocr" and engine.version
    assert {"det", "rec", "cls"} <= set(engine.models)
    assert engine.recognise(np.full((64, 256, 3), 255, dtype=np.uint8)) == []  # blank: no lines


@pytest.mark.slow
@needs_data
def test_cer_not_worse_than_raw_rapidocr_on_cnocr() -> None:
    from rapidocr import RapidOCR

    raw_ocr = RapidOCR(params={"Global.log_level": "error"})
    base = DATA / "ocr/cnocr_2020"
    items = [json.loads(line) for line in (base / "labels.jsonl").read_text(encoding="utf-8").splitlines()]
    pages, truths, raw_errors = [], [], 0
    for item in items:
        truth = "".join(item["lines"])
        if item["image"].endswith("multi-line_cn1.png"):
            truth = truth.replace("--", "——")  # the label's typo: the image shows a dash
        truths.append(normalise(truth))
        raw = raw_ocr(str(base / item["image"]))
        raw_errors += Levenshtein.distance(normalise("".join(raw.txts or ())), truths[-1])
        data = (base / item["image"]).read_bytes()
        pages.append(PageImage(key=hashlib.sha256(data).hexdigest(), image=data))
    results = recognise_pages(pages)
    ours = 0
    for result, truth in zip(results, truths):
        assert isinstance(result, OcrPageResult)
        ours += Levenshtein.distance(normalise(page_text(result)), truth)
    total = sum(len(t) for t in truths)
    assert ours / total <= raw_errors / total + 0.002


# --------------------------------------------------------------------------- geometry, no OCR


def _quad(x0: float, y0: float, w: float, h: float, angle_deg: float = 0.0) -> np.ndarray:
    a = np.radians(angle_deg)
    d = np.array([np.cos(a), np.sin(a)])
    n = np.array([-np.sin(a), np.cos(a)])
    p0 = np.array([x0, y0])
    return np.array([p0, p0 + w * d, p0 + w * d + h * n, p0 + h * n], dtype=np.float32)


def test_skew_estimate_from_line_boxes() -> None:
    quads = [_quad(50, 100 + 60 * i, 800, 30, -4.0) for i in range(6)]
    assert pp.estimate_skew(quads, 20) == pytest.approx(-4.0, abs=0.05)
    # Short boxes carry no slope; too few long lines give no estimate.
    assert pp.estimate_skew([_quad(0, 0, 40, 30, 10)] * 10, 20) is None
    assert pp.estimate_skew(quads[:2], 20) is None
    # Lines that disagree (a table with rotated stamps, say) give no estimate.
    mixed = [_quad(0, 60 * i, 800, 30, a) for i, a in enumerate([-8, 5, 0, -3, 9, 2])]
    assert pp.estimate_skew(mixed, 20) is None


def test_rotation_matrix_keeps_every_corner() -> None:
    matrix, (w, h) = pp.rotation_matrix(1000, 600, 7)
    corners = np.array([[0, 0], [1000, 0], [1000, 600], [0, 600]], dtype=np.float32)
    moved = pp.transform_quad(corners, matrix)
    assert moved.min() >= -1e-3 and moved[:, 0].max() <= w + 1e-3 and moved[:, 1].max() <= h + 1e-3


def test_orientation_signals() -> None:
    wide = RawLine(text="安全生产许可证", score=0.99, quad=_quad(0, 0, 300, 30))
    tall = RawLine(text="安全生产许可证", score=0.99, quad=_quad(0, 0, 30, 300))
    flipped = RawLine(text="安全生产许可证", score=0.99, quad=_quad(0, 0, 300, 30), flipped=True)
    assert orientation_signals([wide, wide]) == (0.0, 0.0, 0.0)
    assert orientation_signals([tall, tall, wide])[0] == pytest.approx(2 / 3)
    assert orientation_signals([flipped, flipped, wide])[1] == pytest.approx(2 / 3)
    assert orientation_signals([]) == (0.0, 0.0, 0.0)


def test_reading_order_keeps_a_row_together() -> None:
    def line(text: str, x0: float, top: float, bottom: float) -> Line:
        return Line(text=text, bbox=(x0, top, x0 + 100, bottom), source=Source.OCR)

    # Right cell's box starts 4 px higher than the label's: same row.
    lines = [line("B2", 400, 96, 126), line("A1", 0, 40, 70), line("B1", 0, 100, 128), line("A2", 400, 42, 69)]
    assert [ln.text for ln in reading_order(lines)] == ["A1", "A2", "B1", "B2"]


def test_exif_orientation_is_applied_and_recorded() -> None:
    img = Image.new("RGB", (300, 100), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to display"
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif.tobytes())
    decoded = pp.decode(buf.getvalue(), 3500)
    assert decoded.bgr.shape[:2] == (300, 100) and decoded.exif_rotation == 90 and decoded.exif_changed


def test_transparent_png_keeps_white_text_readable() -> None:
    rgba = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).rectangle((10, 5, 30, 15), fill=(255, 255, 255, 255))
    buf = io.BytesIO()
    rgba.save(buf, format="PNG")
    bgr = pp.decode(buf.getvalue(), 3500).bgr
    assert bgr[0, 0].tolist() == [0, 0, 0] and bgr[10, 20].tolist() == [255, 255, 255]


def test_decompression_bomb_is_e108() -> None:
    # 195 MP of bilevel pixels compress to a few kB: Pillow refuses to decode it.
    buf = io.BytesIO()
    Image.new("1", (15000, 13000)).save(buf, format="PNG")
    with pytest.raises(InputError) as err:
        pp.decode(buf.getvalue(), 3500)
    assert err.value.code is ErrorCode.IMAGE_TOO_LARGE and "195,000,000" in err.value.detail


@pytest.mark.slow
def test_a_slight_slant_is_measured_with_a_shrunk_detector() -> None:
    # A 200-dpi scanned roster (blind family D) leaning ~0.8 degrees. With the detector's
    # input shrunk to 1280 px half its cell boxes came out flat and the boxes' median said
    # 0.3 degrees: the page was not straightened and its table rows mixed (6 of 8 names lost).
    pdf = (Path(__file__).parents[1] / "fixtures/blind_d/packages_out/blind_d04/06_特种作业人员台账.pdf").read_bytes()
    page = PageImage(key="roster-1280", image=b"", pdf=pdf, page_index=0, dpi=200.0)
    full = only(recognise_pages([page.model_copy(update={"key": "roster-full"})], OcrOptions()))
    shrunk = only(recognise_pages([page], OcrOptions(det_max_side=1280)))
    assert abs(full.run.skew) >= 0.5
    assert shrunk.run.skew == pytest.approx(full.run.skew, abs=0.2)
