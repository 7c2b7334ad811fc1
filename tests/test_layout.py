"""Lines and reading order on hand-built pages (no PDF, no OCR)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from extractor.layout import Glyph, dedupe_glyphs, glyphs_to_lines, reading_order
from extractor.model import Source


def _text(x: float, y: float, s: str, size: float = 10.0) -> list[Glyph]:
    return [Glyph(ch, x + i * size, y, x + (i + 1) * size, y + size, size) for i, ch in enumerate(s)]


def test_two_columns_are_read_one_after_the_other():
    glyphs = []
    left = ["第一栏第一行", "第一栏第二行", "第一栏第三行"]
    right = ["第二栏第一行", "第二栏第二行", "第二栏第三行"]
    for i, (a, b) in enumerate(zip(left, right, strict=True)):
        glyphs += _text(50, 100 + i * 15, a)
        glyphs += _text(300, 100 + i * 15, b)
    lines = reading_order(glyphs_to_lines(glyphs, Source.TEXT))
    assert [line.text for line in lines] == left + right


def test_title_spanning_columns_comes_first():
    glyphs = _text(50, 50, "关于安全生产责任制的通知说明文字很长很长很长很长很长")
    glyphs += _text(50, 100, "左栏内容一") + _text(50, 115, "左栏内容二")
    glyphs += _text(300, 100, "右栏内容一") + _text(300, 115, "右栏内容二")
    texts = [line.text for line in reading_order(glyphs_to_lines(glyphs, Source.TEXT))]
    assert texts[0].startswith("关于")
    assert texts[1:] == ["左栏内容一", "左栏内容二", "右栏内容一", "右栏内容二"]


def test_words_split_at_spaces_and_latin_is_spaced():
    glyphs = _text(10, 10, "ISSUE") + [Glyph(" ", 60, 10, 65, 20, 10)] + _text(65, 10, "Date")
    [line] = glyphs_to_lines(glyphs, Source.TEXT)
    assert line.text == "ISSUE Date"
    assert [w.text for w in line.words] == ["ISSUE", "Date"]


def test_duplicates_with_small_offsets_are_dropped():
    original = _text(10, 10, "安全生产", size=26)
    copies = [Glyph(g.text, g.x0 + 1.2, g.top + 0.4, g.x1 + 1.2, g.bottom + 0.4, g.size) for g in original]
    kept = dedupe_glyphs(original + copies + copies)
    assert [g.text for g in kept] == list("安全生产")


def test_repeated_characters_far_apart_are_kept():
    glyphs = _text(10, 10, "安安全全")
    assert len(dedupe_glyphs(glyphs)) == 4


@given(st.lists(st.sampled_from("安全生产许可证ABC123"), min_size=1, max_size=30))
def test_dedupe_is_idempotent_and_never_adds(chars):
    glyphs = [Glyph(c, i * 10.0, 0, i * 10.0 + 10, 10, 10) for i, c in enumerate(chars)]
    once = dedupe_glyphs(glyphs + glyphs)
    assert len(once) == len(glyphs)
    assert dedupe_glyphs(once) == once
