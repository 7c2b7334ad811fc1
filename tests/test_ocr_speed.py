"""Issue 16's OCR settings: recorded, part of the cache key, as accurate as RapidOCR's own, offline.

The A4 test page is drawn here with the WenQuanYi Zen Hei font at 200 dpi
(1654 x 2339 px, larger than the detector limit, so the size policy applies).
"""

from __future__ import annotations

import hashlib
import io
import re
import socket
import unicodedata
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from rapidfuzz.distance import Levenshtein

from extractor.ocr import OcrOptions, OcrPageResult, PageImage, cache_key, recognise_pages, timing
from extractor.ocr.engines import _rapidocr_model_files, int8_rec_model, rapidocr_info

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
needs_font = pytest.mark.skipif(not FONT.exists(), reason="fonts-wqy-zenhei is not installed")

# RapidOCR's own settings, as shencha ran before issue 16.
BASE = OcrOptions(det_max_side=None, rec_int8=False, rec_batch=6, runtime="onnxruntime", rec_min_width=320)

LINES = [
    "建筑施工企业安全生产许可证申请材料",
    "一、企业名称：江苏华建建设工程有限公司",
    "统一社会信用代码：91320100MA1N2X3Y4Z",
    "二、主要负责人：王建国，安全生产考核合格证书编号：苏建安A(2021)0012345",
    "三、专职安全生产管理人员：李晓明、张伟、陈静，证书有效期至2027年6月30日",
    "四、特种作业人员48人，均持有效特种作业操作证上岗作业",
    "五、脚手架搭设高度不超过24米，立杆纵距1.5米，横距1.05米，步距1.8米",
    "六、防护栏杆高度1.2米，挡脚板高度不小于180毫米，密目式安全网全封闭",
    "七、安全生产费用按工程造价的2.0%提取，专款专用，建立使用台账",
    "八、应急救援预案每年至少演练一次，演练记录存档备查",
    "申请日期：2026年11月20日",
]


def normalise(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def cer(predicted: str, truth: str) -> float:
    t = normalise(truth)
    return Levenshtein.distance(normalise(predicted), t) / max(len(t), 1)


def a4_page() -> PageImage:
    """An A4 page at 200 dpi, 10.5 pt text (29 px), as a scan of a typed form."""
    font = ImageFont.truetype(str(FONT), 29)
    img = Image.new("RGB", (1654, 2339), "white")
    draw = ImageDraw.Draw(img)
    for i, text in enumerate(LINES):
        draw.text((150, 200 + i * 70), text, font=font, fill=(20, 20, 20))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    data = buf.getvalue()
    return PageImage(key=hashlib.sha256(data).hexdigest(), image=data, dpi=200.0)


class DictCache:
    def __init__(self) -> None:
        self.store: dict[str, OcrPageResult] = {}

    def get(self, key: str) -> OcrPageResult | None:
        return self.store.get(key)

    def put(self, key: str, result: OcrPageResult) -> None:
        self.store[key] = result


def _text(result: OcrPageResult | Exception) -> str:
    assert isinstance(result, OcrPageResult), result
    return "".join(line.text for line in result.lines)


def test_every_setting_is_in_the_cache_key() -> None:
    page = PageImage(key="0" * 64, image=b"not decoded for a key")
    default = OcrOptions()
    keys = {
        cache_key(page, default),
        cache_key(page, BASE),
        cache_key(page, default.model_copy(update={"det_max_side": 960})),
        cache_key(page, default.model_copy(update={"rec_int8": True})),
        cache_key(page, default.model_copy(update={"rec_batch": 16})),
        cache_key(page, default.model_copy(update={"runtime": "openvino"})),
    }
    assert len(keys) == 6
    # Speed-only settings do not split the cache.
    assert cache_key(page, default) == cache_key(page, default.model_copy(update={"workers": 1}))


def test_settings_are_recorded_with_the_models(tmp_path, monkeypatch) -> None:
    # An empty model cache: an int8 file derived earlier on this machine (a benchmark, a
    # test with onnx) would otherwise be used even where onnx is not installed.
    monkeypatch.setenv("SHENCHA_CACHE_DIR", str(tmp_path))
    info = rapidocr_info()
    assert info.models["settings"] == (
        "det_max_side=1280;rec_int8=0;rec_batch=6;runtime=onnxruntime;rec_min_width=96"
    )
    assert ".int8" not in info.models["rec"]
    from extractor.ocr.engines import RapidSettings

    quantised = rapidocr_info(RapidSettings(rec_int8=True))
    try:
        import onnx  # noqa: F401
    except ImportError:  # without the quantiser the float model is used, and named
        assert ".int8" not in quantised.models["rec"]
    else:
        assert ".int8-matmul." in quantised.models["rec"]
    from extractor.ocr.engines import RAPIDOCR_DEFAULTS

    plain = rapidocr_info(RAPIDOCR_DEFAULTS)
    assert plain.models["rec"].startswith("PP-OCR") and ".int8" not in plain.models["rec"]
    assert plain.models["settings"] == "det_max_side=rapidocr;rec_int8=0;rec_batch=6;runtime=onnxruntime"


@pytest.mark.slow
@needs_font
def test_a_different_setting_misses_the_cache() -> None:
    page = a4_page()
    cache = DictCache()
    [first] = recognise_pages([page], OcrOptions(), cache=cache)
    assert isinstance(first, OcrPageResult) and not first.run.cached
    assert first.run.models["settings"].startswith("det_max_side=1280;rec_int8=0")
    [again] = recognise_pages([page], OcrOptions(), cache=cache)
    assert isinstance(again, OcrPageResult) and again.run.cached
    [other] = recognise_pages([page], BASE, cache=cache)
    assert isinstance(other, OcrPageResult) and not other.run.cached
    assert other.run.models["settings"].startswith("det_max_side=rapidocr;rec_int8=0")
    assert len(cache.store) == 2


@pytest.mark.slow
@needs_font
def test_fast_path_reads_as_well_as_rapidocr_defaults() -> None:
    page = a4_page()
    truth = "".join(LINES)
    with timing.collect() as seconds:
        [fast] = recognise_pages([page], OcrOptions())
    [quantised] = recognise_pages([page], OcrOptions(rec_int8=True))
    [plain] = recognise_pages([page], BASE)
    plain_cer = cer(_text(plain), truth)
    assert plain_cer <= 0.02
    for result in (fast, quantised):
        assert cer(_text(result), truth) <= plain_cer + 0.002, (_text(result), plain_cer)
    assert {"detection", "classification", "recognition"} <= set(seconds)


@pytest.mark.slow
def test_int8_recogniser_is_derived_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnx", reason="the int8 recogniser is derived with the onnx package")
    monkeypatch.setenv("SHENCHA_CACHE_DIR", str(tmp_path))

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    source = _rapidocr_model_files()["rec"]
    derived = int8_rec_model(source)
    assert derived is not None and derived.parent == tmp_path / "models"
    assert derived.stat().st_size < source.stat().st_size
    assert int8_rec_model(source) == derived  # cached: derived once


@pytest.mark.slow
@needs_font
def test_scanned_pdf_page_is_rendered_once_and_not_at_all_from_the_cache(tmp_path: Path) -> None:
    from extractor.ingest import IngestOptions, ingest_package
    from extractor.package import open_package
    from fixtures.render import image_pdf

    page = a4_page()
    package = tmp_path / "pkg"
    package.mkdir()
    image_pdf([Image.open(io.BytesIO(page.image))], package / "scan.pdf", dpi=200)
    cache = DictCache()
    runs = []
    for _ in range(2):
        with timing.collect() as seconds:
            result = ingest_package(open_package(package), IngestOptions(), cache=cache)
        [document] = result.documents
        runs.append((document.pages[0], seconds))
    (first, first_seconds), (again, again_seconds) = runs
    assert "render" in first_seconds and "render" not in again_seconds
    assert first.ocr is not None and not first.ocr.cached
    assert again.ocr is not None and again.ocr.cached
    assert cer("".join(line.text for line in first.lines), "".join(LINES)) <= 0.02
    assert [line.text for line in again.lines] == [line.text for line in first.lines]


def test_the_cache_key_follows_the_page_code(tmp_path, monkeypatch) -> None:
    # A cached page must never be one read by other preprocessing code (a changed deskew
    # once kept answering from results cached before it): the key carries a digest of it.
    from extractor.ocr import page as page_module
    from extractor.ocr import runner

    before = runner._pipeline_version()
    assert before == runner.PIPELINE_VERSION
    edited = tmp_path / "page.py"
    edited.write_bytes(Path(page_module.__file__).read_bytes() + b"\nMIN_SKEW_DEG = 0.4\n")
    monkeypatch.setattr(page_module, "__file__", str(edited))
    assert runner._pipeline_version() != before
    page = a4_page()
    key = cache_key(page, OcrOptions())
    monkeypatch.setattr(runner, "PIPELINE_VERSION", runner._pipeline_version())
    assert cache_key(page, OcrOptions()) != key


@pytest.mark.slow
def test_a_straightened_scanned_plan_is_measured_on_its_page_image_without_a_second_ocr(tmp_path: Path) -> None:
    # A site plan scanned at a slant: ingestion straightens it. Before, the drawing pass
    # rendered the PDF again and read it again by OCR in the slanted frame (~3 s a page,
    # one page after another); now it measures ingestion's straightened page image, in
    # the frame of its OCR lines, and reads nothing again.
    import pypdfium2 as pdfium

    from extractor.drawings import analyse
    from extractor.fields import extract_package
    from extractor.ingest import IngestOptions, ingest_package
    from extractor.package import open_package
    from fixtures.render import image_pdf, scan_effect

    from .conftest import FIXTURES

    source = FIXTURES / "packages" / "wh_zhejiang_defects" / "厂区总平面布置图.pdf"
    pdf = pdfium.PdfDocument(str(source))
    try:
        pages = [pdf[i].render(scale=200 / 72).to_pil().convert("RGB") for i in range(len(pdf))]
    finally:
        pdf.close()
    package = tmp_path / "pkg"
    package.mkdir()
    image_pdf([scan_effect(p, seed=7) for p in pages], package / "总平面布置图.pdf", dpi=200, quality=70)
    ingested = ingest_package(open_package(package), IngestOptions())
    [document] = extract_package(ingested.documents)
    assert document.pages[0].ocr is not None and abs(document.pages[0].ocr.skew) >= 0.5  # it was straightened

    def separations(fields) -> dict[frozenset, float]:
        return {frozenset(f.attributes["between"]): float(f.value) for f in fields
                if f.type == "fire_separation_distance"}

    with timing.collect() as seconds:
        framed = analyse(document, ingested.blobs[document.sha256], page_images=ingested.blobs)
    assert "detection" not in seconds and "recognition" not in seconds
    reread = analyse(document, ingested.blobs[document.sha256])  # the old way: the PDF's own frame
    assert separations(framed.fields) and separations(framed.fields) == separations(reread.fields)
    # The evidence lies on the page image a reviewer sees, in the OCR lines' frame.
    width, height = document.pages[0].width, document.pages[0].height
    boxes = [f.bbox for f in framed.fields if f.type == "fire_separation_distance"]
    assert boxes and all(b is not None and 0 <= b[0] < b[2] <= width and 0 <= b[1] < b[3] <= height for b in boxes)


def _line_image(text: str, size: tuple[int, int], font_px: int) -> PageImage:
    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).text((20, (size[1] - font_px) // 2), text, font=ImageFont.truetype(str(FONT), font_px),
                             fill=(20, 20, 20))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    data = buf.getvalue()
    return PageImage(key=hashlib.sha256(data).hexdigest(), image=data)


@pytest.mark.slow
@needs_font
def test_a_wide_slip_is_not_enlarged_past_the_detector_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # RapidOCR enlarges a small image until its short side is 736 px: a 556x139
    # slip of one line went to the detector at 2944x736 (1.1 s for one line).
    import numpy as np
    from rapidocr.ch_ppocr_det import utils as det_utils

    from extractor.ocr.runner import get_engine

    seen: list[tuple[int, ...]] = []
    resize = det_utils.DetPreProcess.resize

    def recording(self, img):  # the real resize, its output's shape noted
        out = resize(self, img)
        seen.append(out.shape[:2])
        return out

    monkeypatch.setattr(det_utils.DetPreProcess, "resize", recording)
    [result] = recognise_pages([_line_image("开票通知单", (556, 139), 48)], OcrOptions())
    assert _text(result) == "开票通知单"
    assert seen and max(max(shape) for shape in seen) <= 1280

    # A strip of one line (read whole first; detected only when that failed)
    # keeps RapidOCR's enlargement: cnocr's 280x32 crops read worse smaller.
    engine = get_engine(OcrOptions(), 1)
    det = engine._ocr._load_det_model()
    for strip in ((32, 280), (600, 100)):  # across and down
        engine._det_policy(np.zeros((*strip, 3), dtype=np.uint8))
        assert (det.limit_side_len, det.limit_type) == (736, "min")
    engine._det_policy(np.zeros((139, 556, 3), dtype=np.uint8))
    assert det.limit_type == "min" and det.limit_side_len == 320  # 556x139 to 1280x320


@pytest.mark.slow
@needs_font
def test_pages_given_one_by_one_are_recognised_while_later_ones_are_read() -> None:
    import multiprocessing

    texts = ["安全生产许可证", "特种作业操作证", "脚手架搭设方案"]
    workers_while_reading: list[int] = []

    def read_slowly():
        for i, text in enumerate(texts):
            if i == len(texts) - 1:  # the pool is up before the last page is even read
                workers_while_reading.append(len(multiprocessing.active_children()))
            yield _line_image(text, (700, 240), 40)

    results = recognise_pages(read_slowly(), OcrOptions(workers=2), total=len(texts))
    assert [_text(r) for r in results] == texts
    assert workers_while_reading == [2]


@pytest.mark.slow
@needs_font
def test_a_page_that_cannot_be_read_mid_stream_stops_the_batch_and_its_workers() -> None:
    import multiprocessing

    from extractor.errors import ErrorCode, InputError

    def broken_after_two():
        yield _line_image("安全生产许可证", (700, 240), 40)
        yield _line_image("特种作业操作证", (700, 240), 40)
        raise InputError(ErrorCode.TRUNCATED_FILE, "第 3 帧")

    with pytest.raises(InputError) as caught:
        recognise_pages(broken_after_two(), OcrOptions(workers=2), total=3)
    assert caught.value.code == ErrorCode.TRUNCATED_FILE
    assert multiprocessing.active_children() == []


@pytest.mark.slow
@needs_font
def test_shencha_ocr_reads_every_frame_of_a_tiff_and_every_page_of_a_pdf(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from fixtures.render import image_pdf
    from shencha.cli import app

    texts = ["安全生产许可证", "特种作业操作证", "脚手架搭设方案"]
    frames = [Image.open(io.BytesIO(_line_image(t, (700, 240), 40).image)).convert("RGB") for t in texts]
    tiff, pdf = tmp_path / "scan.tif", tmp_path / "scan.pdf"
    frames[0].save(tiff, format="TIFF", save_all=True, append_images=frames[1:], compression="tiff_deflate")
    image_pdf(frames, pdf, dpi=200)
    for path, unit in ((tiff, "px"), (pdf, "pt")):
        done = CliRunner().invoke(app, ["ocr", str(path), "--db", f"sqlite:///{tmp_path / 'ocr.db'}"])
        assert done.exit_code == 0, done.output
        pages = json.loads(done.stdout)
        assert [p["number"] for p in pages] == [1, 2, 3]
        assert ["".join(line["text"] for line in p["lines"]) for p in pages] == texts
        assert {p["unit"] for p in pages} == {unit}


@pytest.mark.slow
@needs_font
def test_a_worker_killed_mid_batch_fails_its_pages_and_the_batch_still_answers() -> None:
    # The OOM killer's work, done by hand: a real SIGKILL of a pool worker.
    import multiprocessing
    import os
    import signal
    import time

    from extractor.errors import ErrorCode, InputError

    def pages():
        yield _line_image("安全生产许可证", (700, 240), 40)
        yield _line_image("特种作业操作证", (700, 240), 40)
        victim = multiprocessing.active_children()[0]
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(timeout=10)
        time.sleep(0.5)
        yield _line_image("脚手架搭设方案", (700, 240), 40)
        yield _line_image("应急救援预案", (700, 240), 40)

    results = recognise_pages(pages(), OcrOptions(workers=2), total=4)
    assert len(results) == 4
    failed = [r for r in results if isinstance(r, InputError)]
    assert failed and all(r.code == ErrorCode.OCR_FAILED for r in failed)
    assert all(isinstance(r, (OcrPageResult, InputError)) for r in results)
    assert multiprocessing.active_children() == []
