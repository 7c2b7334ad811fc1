"""Readers for Word, images (incl. multi-page TIFF) and DXF, on files built here."""

from __future__ import annotations

import io

import ezdxf
import pytest
from docx import Document as new_docx
from PIL import Image

from extractor.limits import Limits
from extractor.model import Source
from extractor.readers.docx import read_docx
from extractor.readers.dxf import read_dxf
from extractor.readers.image import read_image


def test_docx_paragraphs_and_tables_in_body_order():
    doc = new_docx()
    doc.add_paragraph("特种作业人员名册")
    table = doc.add_table(rows=3, cols=3)
    for r, row in enumerate([["姓名", "作业类别", "证书编号"], ["司马国华", "电工作业", "T320102198001010011"], ["", "", ""]]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    merged = table.cell(2, 0).merge(table.cell(2, 2))
    merged.text = "以下空白"
    doc.add_paragraph("填表日期：2026年11月20日")
    buffer = io.BytesIO()
    doc.save(buffer)

    out = read_docx(buffer.getvalue())
    [page] = out.pages
    assert page.source == Source.DOCX
    texts = [line.text for line in page.lines]
    assert texts[0] == "特种作业人员名册"
    assert texts[-1] == "填表日期：2026年11月20日"
    [t] = page.tables
    assert t.grid()[1] == ["司马国华", "电工作业", "T320102198001010011"]
    # a merged cell appears once, not once per grid position
    assert sum(cell.text == "以下空白" for cell in t.cells) == 1
    assert [line.cell for line in page.lines if line.text == "电工作业"] == [(1, 1)]


def test_multi_page_tiff_gives_one_page_per_frame():
    frames = [Image.new("RGB", (300, 200), color) for color in ("white", "gray", "white")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    out = read_image(buffer.getvalue(), "tiff", Limits())
    assert [p.number for p in out.pages] == [1, 2, 3]
    assert len(out.ocr_jobs) == 3
    assert len({job.key for job in out.ocr_jobs}) == 2  # identical frames share a cache key
    assert all(p.unit == "px" and (p.width, p.height) == (300, 200) for p in out.pages)


def test_exif_rotated_photo_is_turned_upright():
    image = Image.new("RGB", (400, 100), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    out = read_image(buffer.getvalue(), "jpeg", Limits())
    assert (out.pages[0].width, out.pages[0].height) == (100, 400)
    decoded = Image.open(io.BytesIO(out.ocr_jobs[0].image))
    assert decoded.size == (100, 400)


def test_dxf_is_accepted_with_its_labels():
    drawing = ezdxf.new()
    drawing.header["$INSUNITS"] = 6  # metres
    msp = drawing.modelspace()
    msp.add_lwpolyline([(0, 0), (30, 0), (30, 20), (0, 20)], close=True)
    msp.add_text("1#办公楼 民用 二级", dxfattribs={"height": 2.5, "insert": (2, 22)})
    msp.add_mtext("防火间距 8.0m\\P比例 1:500", dxfattribs={"char_height": 2.0, "insert": (40, 10)})
    stream = io.StringIO()
    drawing.write(stream)
    out = read_dxf(stream.getvalue().encode("utf-8"))
    [page] = out.pages
    assert page.source == Source.DXF and page.unit == "dxf"
    texts = {line.text for line in page.lines}
    assert {"1#办公楼 民用 二级", "防火间距 8.0m", "比例 1:500"} <= texts
    assert "$INSUNITS=6" in page.decision


def test_a_multi_page_tiff_cut_short_is_a_clear_error_at_any_length():
    from extractor.errors import ErrorCode, InputError

    frames = [Image.new("RGB", (300, 200), color) for color in ("white", "gray", "white")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    data = buffer.getvalue()
    codes = set()
    for cut in (400, len(data) // 3, len(data) // 2, len(data) - 10):
        with pytest.raises(InputError) as caught:  # never Pillow's TypeError("Missing dimensions")
            read_image(data[:cut], "tiff", Limits())
        codes.add(caught.value.code)
    assert codes <= {ErrorCode.CORRUPT_FILE, ErrorCode.TRUNCATED_FILE}


def test_a_tiff_with_more_frames_than_allowed_is_refused_before_decoding():
    from extractor.errors import ErrorCode, InputError
    from extractor.readers.image import ImageFrames

    frames = [Image.new("L", (50, 50), 255) for _ in range(4)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    with pytest.raises(InputError) as caught:
        ImageFrames(buffer.getvalue(), "tiff", Limits(max_pdf_pages=3))
    assert caught.value.code == ErrorCode.TOO_MANY_PAGES
    assert len(ImageFrames(buffer.getvalue(), "tiff", Limits(max_pdf_pages=4))) == 4
