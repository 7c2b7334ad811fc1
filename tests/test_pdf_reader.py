"""The PDF reader on real PDFs from PDF libraries' test suites."""

from __future__ import annotations

import json

import pytest

from extractor.limits import Limits
from extractor.model import Source
from extractor.readers.pdf import read_pdf

from .conftest import shared


def _read(*parts: str):
    return read_pdf(shared("pdfs", *parts).read_bytes(), Limits())


def _expected(file: str, check_prefix: str):
    data = json.loads(shared("pdfs", "expected_assertions.json").read_text(encoding="utf-8"))
    for a in data["assertions"]:
        if a["file"] == file and a["check"].startswith(check_prefix):
            return a["expected"]
    raise LookupError(file)


def test_ruled_tables_match_pdfplumbers_own_test():
    out = _read("pdfplumber", "issue-336-example.pdf")
    expected = _expected("pdfplumber/issue-336-example.pdf", "[len(t)")
    assert [t.n_rows for t in out.pages[0].tables] == expected  # [8, 11, 2]
    grid = out.pages[0].tables[0].grid()
    assert grid[0][:4] == ["公路技术等级", "车道数", "用地指标基准值", "编制条件"]
    assert grid[2] == ["高速公路", "八", "2.5000", "60000≤Q＜80000", "20＜μ≤30"]


def test_table_lines_are_kept_together_in_reading_order():
    page = _read("pdfplumber", "issue-336-example.pdf").pages[0]
    blocks = [line.block for line in page.lines if line.table == 0]
    assert blocks and len(set(blocks)) == 1
    texts = [line.text for line in page.lines]
    assert texts.index("表7.5 停车区用地指标基准值（公顷/处）") < texts.index("公路技术")


def test_twice_drawn_characters_are_removed():
    out = _read("pdfplumber", "issue-71-duplicate-chars.pdf")
    expected = _expected("pdfplumber/issue-71-duplicate-chars.pdf", "pdf.pages[0].dedupe_chars().extract_text()")
    joined = "".join(line.text.replace(" ", "") for line in out.pages[0].lines)
    assert expected.replace(" ", "") in joined
    assert "微微软软" not in joined


def test_four_times_drawn_characters_are_removed():
    out = _read("pdfplumber", "issue-842-example.pdf")
    texts = [line.text for line in out.pages[0].lines]
    assert texts[0] == "安徽安利合成革股份有限公司"
    assert "ANHUI ANLI ARTIFICIAL LEATHER CO.,LTD." in texts


def test_rotated_page_is_read_in_the_displayed_frame():
    page = _read("pdfplumber", "issue-461-example.pdf").pages[0]
    assert (page.width, page.height) == (595, 842)
    for line in page.lines:
        x0, y0, x1, y1 = line.bbox
        assert 0 <= x0 <= x1 <= page.width and 0 <= y0 <= y1 <= page.height
    texts = [line.text for line in page.lines]
    assert "性别: 男" in texts
    assert any(t.startswith("白细胞计数") for t in texts)


@pytest.mark.parametrize(
    ("file", "prefix"),
    [("pdfminer.six/issue_566_test_1.pdf", "pdfminer"), ("pdfminer.six/issue_566_test_2.pdf", "pdfminer")],
)
def test_cid_fonts_decode_like_pdfminers_own_tests(file, prefix):
    out = _read(*file.split("/"))
    expected = _expected(file, prefix)
    assert " ".join(line.text for line in out.pages[0].lines) == expected
    assert out.pages[0].source == Source.TEXT


def test_invisible_ocr_layer_of_a_scan_is_ocr_d_again():
    out = _read("pdfplumber", "pr-136-example.pdf")
    assert all(page.source == Source.OCR for page in out.pages)
    assert "不可见" in out.pages[0].decision
    assert len(out.ocr_jobs) == 6
    assert all(job.dpi == Limits().ocr_dpi for job in out.ocr_jobs)


def test_text_layer_pages_do_not_go_to_ocr():
    out = _read("pdfplumber", "issue-67-example.pdf")
    assert len(out.pages) == 22
    assert not out.ocr_jobs
    assert all(page.source == Source.TEXT for page in out.pages)
    assert out.pages[0].lines[0].text == "东北电气发展股份有限公司2018年第一季度报告全文"
    # every line and word has a box inside its page
    for page in out.pages:
        for line in page.lines:
            assert line.words
            assert 0 <= line.bbox[0] <= line.bbox[2] <= page.width + 1
