"""Finders for the things that have a shape: identifiers, dates, measures.

Each finder takes one normalised string and returns matches with offsets in
it; which field a match becomes, and with which role, is the steps' choice.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

from .. import identifiers as ids
from ..normalize import chinese_numeral
from .lexicon import UNITS_TO_M

P = ids.PROVINCES


@dataclass(slots=True)
class IdMatch:
    start: int
    end: int
    field_type: str  # resident_id | uscc | safety_licence_no | cert_no
    check: ids.IdCheck
    cert_type: str | None = None


# The bracket usually holds the year; it may hold something else and the sequence may carry
# letters (（闽）FM安许证字（2024）E01号, domain_sources.md §2.1, §7.1): ids decides what is valid.
_LICENCE_RE = re.compile(r"\(?[" + ids.LICENCE_PROVINCES + r"]\)?\s?[A-Z]{2}\s?安许证?字\s?第?\s?"
                         r"(?:[(\[]?\s?\d{4}\s?[)\]]?|\([^()\s]{1,4}\))\s?第?\s?[0-9A-Z](?:[0-9A-Z-]{0,9}[0-9A-Z])?\s?号?")
_ABC_RE = re.compile(r"[" + P + r"]建安\s?(?:A|B|C[123]?)\s?\(?\s?\d{4}\s?\)?\s?\d{7}(?!\d)")
_CSO_RE = re.compile(r"(?<![A-Za-z0-9])[" + P + r"][A-Z]\d{12}(?!\d)")
_T_RE = re.compile(r"(?<![A-Za-z0-9])T[0-9OIlZSB]{17}[0-9Xx](?![0-9A-Za-z])")
# 18 characters of ID or USCC shape, tolerant of OCR letters in digit places.
_ID18_RE = re.compile(r"(?<![A-Za-z0-9])[0-9A-Za-z]{17}[0-9A-Za-z](?![0-9A-Za-z])")
_ID15_RE = re.compile(r"(?<![A-Za-z0-9])\d{15}(?![0-9A-Za-z])")


def _plausible_id_shape(s: str) -> bool:
    """An 18-char run that could be a resident ID read with a few OCR slips."""
    digitish = sum(c.isdigit() for c in s[:17])
    return digitish >= 14 and s[6:8] in ("19", "20", "I9", "l9", "2O", "Z0")


def _birth_shape(s: str) -> bool:
    """Digits with a real birth date at positions 7–14: an ID's layout, which a USCC
    (registration authority, entity type, region, organisation code) rarely shows."""
    if not s[:17].isdigit():
        return False
    y, mo, d = int(s[6:10]), int(s[10:12]), int(s[12:14])
    return 1900 <= y <= 2030 and 1 <= mo <= 12 and 1 <= d <= 31


def find_identifiers(text: str, *, hint: str | None = None) -> list[IdMatch]:
    """Identifiers in ``text``. ``hint`` (a label key: resident_id, uscc, cert_no,
    safety_licence_no) decides between shapes that more than one kind shares."""
    out: list[IdMatch] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in taken)

    for m in _LICENCE_RE.finditer(text):
        chk = ids.check_safety_licence_no(m.group())
        out.append(IdMatch(m.start(), m.end(), "safety_licence_no", chk))
        taken.append(m.span())
    for m in _ABC_RE.finditer(text):
        if free(*m.span()):
            chk = ids.check_safety_assessment(m.group())
            out.append(IdMatch(m.start(), m.end(), "cert_no", chk, ids.cert_type_of(chk)))
            taken.append(m.span())
    for m in _T_RE.finditer(text):
        if free(*m.span()):
            chk = ids.repair_ocr("special_operation", m.group())
            out.append(IdMatch(m.start(), m.end(), "cert_no", chk, "special_operation"))
            taken.append(m.span())
    for m in _CSO_RE.finditer(text):
        if free(*m.span()):
            chk = ids.check_construction_special_operation(m.group())
            out.append(IdMatch(m.start(), m.end(), "cert_no", chk, "construction_special_operation"))
            taken.append(m.span())
    for m in _ID18_RE.finditer(text):
        if not free(*m.span()):
            continue
        s = m.group()
        as_id = ids.repair_ocr("resident_id", s)
        # A valid ID needs no second reading unless the label says USCC.
        as_uscc = ids.repair_ocr("uscc", s) if (hint == "uscc" or not as_id.valid) else as_id
        if hint == "uscc" and (as_uscc.valid or not as_id.valid):
            out.append(IdMatch(m.start(), m.end(), "uscc", as_uscc))
        elif as_id.valid:
            out.append(IdMatch(m.start(), m.end(), "resident_id", as_id))
        elif hint == "resident_id" and _plausible_id_shape(s):
            # An ID column's number with a wrong check digit is an invalid ID, even when
            # its 18th character happens to fit a USCC's check (1 in 31).
            out.append(IdMatch(m.start(), m.end(), "resident_id", as_id))
        elif as_uscc.valid and not (hint is None and as_uscc.warnings and _birth_shape(s)):
            out.append(IdMatch(m.start(), m.end(), "uscc", as_uscc))
        elif hint == "resident_id" or (hint is None and _plausible_id_shape(s)):
            out.append(IdMatch(m.start(), m.end(), "resident_id", as_id))
        elif hint in (None, "uscc") and sum(c.isalpha() for c in s) >= 1 and s[:8].isdigit():
            out.append(IdMatch(m.start(), m.end(), "uscc", as_uscc))
        else:
            continue
        taken.append(m.span())
    for m in _ID15_RE.finditer(text):
        if free(*m.span()) and hint in (None, "resident_id"):
            chk = ids.check_resident_id(m.group())
            if chk.valid:
                out.append(IdMatch(m.start(), m.end(), "resident_id", chk))
                taken.append(m.span())
    out.sort(key=lambda x: x.start)
    return out


# --------------------------------------------------------------------------- dates

_CN = "〇零○O一二三四五六七八九十"
_DATE_RES = [
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?"),
    re.compile(r"(?<![\d.])(?P<y>(?:19|20)\d{2})\s*[-./]\s*(?P<m>\d{1,2})\s*[-./]\s*(?P<d>\d{1,2})(?![\d.])"),
    re.compile(r"(?P<y>[" + _CN + r"]{4})\s*年\s*(?P<m>[" + _CN + r"]{1,3})\s*月\s*(?P<d>[" + _CN + r"]{1,3})\s*日"),
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?!\d)"),
]
_RANGE_SEP = re.compile(r"^\s*(?:至|到|~|-|—|止)\s*$")


@dataclass(slots=True)
class DateMatch:
    start: int
    end: int
    iso: str


def find_dates(text: str) -> list[DateMatch]:
    out: list[DateMatch] = []
    for rx in _DATE_RES:
        for m in rx.finditer(text):
            if any(not (m.end() <= d.start or m.start() >= d.end) for d in out):
                continue
            y, mo, d = (chinese_numeral(m[g]) for g in ("y", "m", "d"))
            if y is None or mo is None or d is None:
                continue
            try:
                iso = _dt.date(y, mo, d).isoformat()
            except ValueError:
                continue
            out.append(DateMatch(m.start(), m.end(), iso))
    out.sort(key=lambda x: x.start)
    return out


def date_ranges(text: str, dates: list[DateMatch]) -> list[tuple[DateMatch, DateMatch]]:
    """Pairs of dates written as a range: "2023年1月1日至2026年1月1日"."""
    pairs = []
    for a, b in zip(dates, dates[1:]):
        if _RANGE_SEP.match(text[a.end:b.start]) or text[a.end:b.start].strip() in ("起至", "起", "起-"):
            pairs.append((a, b))
    return pairs


# --------------------------------------------------------------------------- measures

_QUAL = r"(?P<q>不小于|不少于|不低于|不应小于|不应低于|不得小于|不得低于|不宜小于|大于等于|至少|最小|≥|>=|>)?"
MEASURE_RE = re.compile(
    _QUAL + r"\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<u>毫米|mm|厘米|cm|米|m)(?![A-Za-z0-9²³])"
)
STOREYS_RE = re.compile(r"(?:地上|共|总)?\s*(?P<n>\d+|[一二三四五六七八九十]{1,3})\s*层")


@dataclass(slots=True)
class Measure:
    start: int
    end: int
    metres: float
    unit: str
    qualifier: str  # "min" when the text states a lower bound, else "stated"


def find_measures(text: str) -> list[Measure]:
    out = []
    for m in MEASURE_RE.finditer(text):
        value = float(m["n"]) * UNITS_TO_M[m["u"]]
        out.append(Measure(m.start(), m.end(), round(value, 4), m["u"], "min" if m["q"] else "stated"))
    return out
