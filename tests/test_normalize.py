"""Normalisation: full-width forms, brackets, spurious spaces, and the map back to the source."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from extractor.normalize import (
    chinese_numeral,
    compact_name,
    fold_char,
    normalize_text,
    normalize_with_map,
)


def test_fullwidth_digits_and_latin_become_halfwidth():
    assert normalize_text("ＪＺ安许证字２０２０") == "JZ安许证字2020"
    assert normalize_text("宽度１．２０ｍ") == "宽度1.20m"


def test_all_bracket_variants_become_one_form():
    assert normalize_text("〔2020〕[1]【2】（3）(4)") == "(2020)(1)(2)(3)(4)"


def test_spaces_between_single_han_characters_are_removed():
    assert normalize_text("安 全 生 产 许 可 证") == "安全生产许可证"
    assert normalize_text("姓 名：王建国") == "姓名:王建国"
    assert normalize_text("姓　名 : 王 建 国") == "姓名:王建国"


def test_a_column_gap_survives():
    # Two columns of a roster: the name and the sex must stay apart.
    assert normalize_text("王建国 男 110102199101010078") == "王建国 男 110102199101010078"


def test_map_points_at_the_source_characters():
    src = "姓　名：　王 建 国"
    n = normalize_with_map(src)
    assert n.text == "姓名:王建国"
    assert [src[i] for i in n.index] == ["姓", "名", "：", "王", "建", "国"]
    start = n.text.index("王")
    assert n.source_span(start, start + 3) == (src.index("王"), len(src))


def test_chinese_numerals():
    assert chinese_numeral("二〇二六") == 2026
    assert chinese_numeral("十一") == 11
    assert chinese_numeral("二十") == 20
    assert chinese_numeral("三十一") == 31
    assert chinese_numeral("abc") is None


def test_compact_name_drops_every_space():
    assert compact_name("王 建 国") == "王建国"
    assert compact_name("欧阳　志强") == "欧阳志强"


text = st.text(
    alphabet=st.sampled_from(list("王建国安全生产０１２３ＡＢ〔〕【】（）()[] 　:：-—0123456789abcXm米")),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(text)
def test_map_has_one_source_index_per_character_in_order(s):
    n = normalize_with_map(s)
    assert len(n.index) == len(n.text)
    assert list(n.index) == sorted(n.index)
    assert all(0 <= i < len(s) for i in n.index)


@settings(max_examples=300, deadline=None)
@given(text)
def test_normalisation_is_idempotent(s):
    once = normalize_text(s)
    assert normalize_text(once) == once


@settings(max_examples=300, deadline=None)
@given(text)
def test_no_fullwidth_forms_or_odd_brackets_remain(s):
    out = normalize_text(s)
    assert not any(0xFF01 <= ord(c) <= 0xFF5E for c in out)
    assert not set(out) & set("〔〕【】[]（）")
    assert "  " not in out and out == out.strip()


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**12))
def test_fullwidth_numbers_read_as_the_same_number(n):
    wide = "".join(chr(ord(c) + 0xFEE0) for c in str(n))
    assert normalize_text(wide) == str(n)
    assert all(unicodedata.normalize("NFKC", fold_char(c)) == fold_char(c) for c in wide)
