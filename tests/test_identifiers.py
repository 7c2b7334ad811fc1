"""Identifier validation: agrees with python-stdnum's own vectors (shared/data/ids), and OCR repair."""

from __future__ import annotations

import csv

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from extractor import identifiers as ids
from tests.conftest import shared


def _tsv(name: str) -> list[tuple[str, str]]:
    path = shared("ids", name)
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    return [(r[0], r[1].split("#")[0].strip()) for r in rows[1:] if r]


def _lines(name: str) -> list[str]:
    return [ln.strip() for ln in shared("ids", name).read_text(encoding="utf-8").splitlines() if ln.strip()]


# --------------------------------------------------------------------------- the shared vectors


def test_every_valid_resident_id_is_accepted():
    numbers = _lines("cn_ric_valid.txt")
    assert numbers
    for n in numbers:
        r = ids.check_resident_id(n)
        assert r.valid and r.strict, (n, r)


def test_birthplace_vectors():
    for n, expected in _tsv("cn_ric_birthplace.tsv"):
        r = ids.check_resident_id(n)
        if expected.startswith("OK"):
            assert r.valid and r.details["region_known"], n
        else:
            # stdnum's region table rejects these: a warning here, never a rejection.
            assert r.valid and {"region_unknown", "region_dated"} & set(r.warnings) and r.stdnum_error == expected, n


@pytest.mark.parametrize("number,expected", [pytest.param(n, e, id=n) for n, e in [
    ("990426199112010074", "InvalidComponent"), ("110111198012010078", "InvalidComponent"),
    ("110201199312010077", "InvalidComponent"), ("T60426199101010078", "InvalidFormat"),
    ("360426199113010079", "InvalidComponent"), ("36042619910102009X", "InvalidChecksum")]])
def test_invalid_resident_id_vectors_literal(number, expected):
    # The same vectors as the shared file, so a test still fails if that file goes missing.
    r = ids.check_resident_id(number)
    assert r.stdnum_error == expected
    assert not r.strict


def test_every_invalid_resident_id_is_rejected_for_the_stated_reason():
    vectors = _tsv("cn_ric_invalid.tsv")
    assert vectors
    reasons = {"InvalidFormat": {"format", "length"}, "InvalidChecksum": {"checksum"},
               "InvalidComponent": {"birth_date", "region_unknown", "region_dated"}, "InvalidLength": {"length"}}
    for n, expected in vectors:
        r = ids.check_resident_id(n)
        assert r.stdnum_error == expected, n
        assert not r.strict, n
        got = r.reason if not r.valid else r.warnings[0]
        assert got in reasons[expected], (n, got)
        if got in ("region_unknown", "region_dated"):
            assert r.valid  # domain rule: region failures are warnings


def test_every_valid_uscc_is_accepted():
    numbers = _lines("cn_uscc_valid.txt")
    assert len(numbers) > 100
    for n in numbers:
        assert ids.check_uscc(n).strict, n


def test_every_invalid_uscc_is_rejected_for_the_stated_reason():
    reasons = {"InvalidLength": "length", "InvalidFormat": "format", "InvalidChecksum": "checksum"}
    vectors = _tsv("cn_uscc_invalid.tsv")
    assert vectors
    for n, expected in vectors:
        r = ids.check_uscc(n)
        assert not r.valid and r.reason == reasons[expected] and r.stdnum_error == expected, n


def test_letter_authority_with_good_check_character_is_only_a_warning():
    body = "A1110000600037341"
    number = body + stdnum_uscc.calc_check_digit(body + "0")
    r = ids.check_uscc(number)
    assert r.valid and r.warnings == ["authority_letter"]


# --------------------------------------------------------------------------- the other formats


def test_legacy_15_digit_id():
    r = ids.check_resident_id("110102910101007")
    assert r.valid and r.details["legacy"] and r.details["birth_date"] == "1991-01-01"
    assert not ids.check_resident_id("110102911301007").valid


@pytest.mark.parametrize("text,canonical", [
    ("（京）JZ安许证字〔2023〕000123", "（京）JZ安许证字〔2023〕000123"),
    ("（晋）JZ安许证字【2023】000456", "（晋）JZ安许证字〔2023〕000456"),
    ("（浙）WH安许证字(2023)0789号", "（浙）WH安许证字〔2023〕0789"),
    ("(鄂)WH安许证字[2023]第002345号", "（鄂）WH安许证字〔2023〕002345"),
])
def test_safety_licence_numbers_normalise(text, canonical):
    r = ids.check_safety_licence_no(text)
    assert r.valid and r.value == canonical


def test_safety_licence_rejects_other_shapes():
    assert ids.check_safety_licence_no("京JZ2020001").reason == "format"
    assert ids.check_safety_licence_no("（京）JZ安许证字〔1999〕000123").reason == "year"


def test_special_operation_certificate_embeds_the_holders_id():
    assert ids.check_special_operation("T110102199101010078").valid
    r = ids.check_special_operation("T110102199101010079")
    assert not r.valid and r.reason == "embedded_id"
    r = ids.check_special_operation("T110102199101010078", holder_id="120110199212010072")
    assert not r.valid and r.details["embedded_reason"] == "holder_mismatch"


@pytest.mark.parametrize("text,cert_type", [
    ("京建安A(2020)0012345", "safety_assessment_a"),
    ("苏建安B（2019）0000456", "safety_assessment_b"),
    ("晋建安C2(2021)0001234", "safety_assessment_c"),
])
def test_abc_certificates(text, cert_type):
    r = ids.check_safety_assessment(text)
    assert r.valid and ids.cert_type_of(r) == cert_type
    assert "(" in r.value and "（" not in r.value


def test_abc_certificate_format_errors():
    assert not ids.check_safety_assessment("京建安D(2020)0012345").valid
    assert not ids.check_safety_assessment("京建安A(2020)001234").valid


def test_construction_special_operation():
    assert ids.check_construction_special_operation("晋A012008000001").valid
    assert ids.check_construction_special_operation("晋A01200800001").reason == "length"
    assert ids.check_construction_special_operation("晋A01X008000001").reason in ("format", "length")


def test_registered_safety_engineer():
    assert ids.check_registered_safety_engineer("京0123456789").valid
    assert not ids.check_registered_safety_engineer("ABC").valid


# --------------------------------------------------------------------------- OCR repair


def test_repair_accepts_only_what_the_check_character_confirms():
    r = ids.repair_ocr("resident_id", "11O1O2l99101010078")
    assert r.valid and r.value == "110102199101010078" and r.repaired_from == "11O1O2l99101010078"
    # Same confusions, but the check digit then fails: no repair.
    r = ids.repair_ocr("resident_id", "11O1O2l99101010079")
    assert not r.valid and r.repaired_from is None


def test_uscc_repair():
    r = ids.repair_ocr("uscc", "911100006OOO37341L")
    assert r.valid and r.value == "91110000600037341L"
    assert not ids.repair_ocr("uscc", "9111000060003IOZSV").valid


def test_a_valid_number_is_never_changed():
    r = ids.repair_ocr("resident_id", "110102199101010078")
    assert r.valid and r.repaired_from is None


# --------------------------------------------------------------------------- properties

REGIONS = ["110102", "120110", "360426", "412723", "440113"]


@st.composite
def resident_ids(draw):
    region = draw(st.sampled_from(REGIONS))
    y = draw(st.integers(1950, 2005))
    m = draw(st.integers(1, 12))
    d = draw(st.integers(1, 28))
    seq = draw(st.integers(0, 999))
    body = f"{region}{y:04d}{m:02d}{d:02d}{seq:03d}"
    return body + stdnum_ric.calc_check_digit(body + "0")


@settings(max_examples=200, deadline=None)
@given(resident_ids())
def test_generated_ids_agree_with_stdnum(number):
    assert ids.check_resident_id(number).valid == stdnum_ric.is_valid(number) or \
        {"region_unknown", "region_dated"} & set(ids.check_resident_id(number).warnings)


@settings(max_examples=200, deadline=None)
@given(resident_ids(), st.integers(0, 16), st.integers(1, 9))
def test_one_changed_digit_breaks_the_check(number, pos, delta):
    changed = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1:]
    r = ids.check_resident_id(changed)
    assert not r.valid
    assert r.reason in ("checksum", "birth_date")


CONFUSE = {"0": "O", "1": "l", "2": "Z", "5": "S", "8": "B"}


@settings(max_examples=200, deadline=None)
@given(resident_ids(), st.data())
def test_one_ocr_confusion_is_repaired_back(number, data):
    positions = [i for i, c in enumerate(number[:17]) if c in CONFUSE]
    assume(positions)
    pos = data.draw(st.sampled_from(positions))
    garbled = number[:pos] + CONFUSE[number[pos]] + number[pos + 1:]
    r = ids.repair_ocr("resident_id", garbled)
    assert r.valid and r.value == number and r.repaired_from == garbled


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=8, max_size=8),
       st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9))
def test_uscc_with_computed_check_character_is_valid(head, org):
    body = head + org
    number = body + stdnum_uscc.calc_check_digit(body + "0")
    assert ids.check_uscc(number).valid
    assert ids.check_uscc(number).valid == stdnum_uscc.is_valid(number)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=25))
def test_checkers_never_raise(s):
    for kind in ids.CHECKERS:
        r = ids.check(kind, s)
        assert r.valid or r.reason is not None
