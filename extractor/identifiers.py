"""Validators and parsers for the identifiers a licence application carries.

Each ``check_*`` function takes the identifier as written (after text
normalisation) and returns an :class:`IdCheck`: the canonical form, whether
it is valid, and if not, why. Check characters are computed by python-stdnum
(``stdnum.cn.ric``, ``stdnum.cn.uscc``). Where stdnum is stricter than the
law, the difference is a warning, never a rejection:

- a resident ID whose region code stdnum does not know (or did not know in
  the birth year) is valid with the warning ``region_unknown``: stdnum's
  region table misses real numbers;
- a USCC whose registration authority is A, N or Y (letters stdnum refuses
  in the first position) is valid with the warning ``authority_letter`` when
  its check character is right.

``stdnum_error`` always says what stdnum itself concluded (``InvalidFormat``,
``InvalidChecksum``, ``InvalidComponent``, ``InvalidLength``), so the
behaviour can be compared with stdnum's own test vectors.

:func:`repair_ocr` fixes OCR confusions (O/0, I/1/l, Z/2, S/5, B/8) only in
positions where the pattern demands a digit and only when the repaired
number's check character then holds.
"""

from __future__ import annotations

import datetime as _dt
import re
from functools import lru_cache
from itertools import product
from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField
from stdnum.cn import ric as _ric
from stdnum.cn import uscc as _uscc
from stdnum.exceptions import ValidationError

from .normalize import fold_char

IdKind = Literal[
    "resident_id",
    "uscc",
    "safety_licence_no",
    "special_operation",
    "safety_assessment",
    "construction_special_operation",
    "registered_safety_engineer",
]

Reason = Literal[
    "length",
    "format",
    "checksum",
    "birth_date",
    "region_unknown",
    "region_incomplete",
    "region_dated",
    "authority_letter",
    "authority_pair",
    "org_code_check",
    "province",
    "year",
    "embedded_id",
    "format_unverified",
    "industry_code",
]

PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵黔云滇藏陕甘青宁新"
"""Province abbreviations (贵/黔 and 云/滇 are both in use)."""

LICENCE_INDUSTRIES = {
    "JZ": "construction",
    "FM": "non_coal_mine",
    "WH": "hazardous_chemicals",
    "MK": "coal_mine",
    "YH": "fireworks",
    "MB": "civil_explosives",
}


class IdCheck(BaseModel):
    """The result of validating one identifier."""

    model_config = ConfigDict(extra="forbid")

    kind: IdKind
    value: str = PydField(description="canonical form (normalised, repaired if a repair was confirmed)")
    raw: str = PydField(description="as given")
    valid: bool
    reason: Reason | None = PydField(None, description="why it is invalid; None when valid")
    warnings: list[Reason] = PydField(default_factory=list)
    stdnum_error: str | None = PydField(
        None, description="the exception stdnum raises for this number (for comparison with its vectors)"
    )
    repaired_from: str | None = PydField(None, description="the text before an OCR repair")
    details: dict[str, str | int | bool | None] = PydField(default_factory=dict)

    @property
    def strict(self) -> bool:
        """Valid with nothing to warn about."""
        return self.valid and not self.warnings


def _compact(text: str) -> str:
    folded = "".join(fold_char(c) for c in text)
    return re.sub(r"[\s\-]", "", folded).upper()


# --------------------------------------------------------------------------- resident ID


@lru_cache(maxsize=8192)
def _birth_place(region: str, birth: str) -> dict[str, str] | None:
    """The region code's entry in stdnum's table (``province``, ``prefecture``, ``county``).

    Returns the entry, an entry without ``county`` when stdnum knows the
    province but not the rest of the code, or None when it does not know the
    code at all. ``birth`` is unused on purpose: stdnum also asks whether the
    county existed in the birth year, but an ID takes the code of the place
    where it was first issued (often years after birth, 1985 for the first
    cards), so a code created after the birth year is normal.

    Upstream defect (python-stdnum, ``stdnum/cn/ric.py``): ``get_birth_place``
    reads ``info['county']`` unguarded, so a code whose province the table
    lists but whose county it does not (e.g. Jiangsu's 320219, 320819) raises
    ``KeyError('county')`` instead of ``InvalidComponent``; ``ric.is_valid``
    and ``ric.validate`` raise it too. We read stdnum's table (``numdb``)
    ourselves. See docs/ingestion.md "Identifiers and python-stdnum".
    """
    from stdnum import numdb

    results = numdb.get("cn/loc").info(region)
    info = {k: v for _part, props in results for k, v in props.items()}
    if not info:
        return None
    if "county" in info:
        # "[1983-2015]崇安区,[2016-]梁溪区": the names the code has had, with their
        # years. stdnum rejects a code not in use in the birth year; we only note it.
        year = int(birth[:4])
        entries = info["county"].split(",")
        in_use = False
        for entry in entries:
            m = re.match(r"^\[(\d*)-(\d*)\]", entry)
            if not m or ((not m[1] or year >= int(m[1])) and (not m[2] or year <= int(m[2]))):
                in_use = True
        info["county"] = re.sub(r"\[[^\]]*\]", "", entries[-1])
        if not in_use:
            info["dated"] = "1"
    return info


# What stdnum.cn.ric raises for each of our reasons (its checks run in the same order).
_RIC_STDNUM = {"length": "InvalidLength", "format": "InvalidFormat", "checksum": "InvalidChecksum",
               "birth_date": "InvalidComponent", "region_unknown": "InvalidComponent"}


def _legacy_date(number15: str) -> _dt.date | None:
    try:
        return _dt.date(1900 + int(number15[6:8]), int(number15[8:10]), int(number15[10:12]))
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def check_resident_id(text: str, as_of: _dt.date | None = None) -> IdCheck:
    """A resident ID: 18 characters (ISO 7064 MOD 11-2) or the 15-digit legacy form.

    A birth date after ``as_of`` (the application date; today when not
    given) makes the number invalid (``birth_date``).

    Results are cached (rosters repeat numbers across documents); treat them
    as read-only.
    """
    number = _compact(text)
    base = {"kind": "resident_id", "raw": text}
    if len(number) == 15:
        # Legacy IDs (before 1999) have no check digit and a two-digit year.
        if not number.isdigit():
            return IdCheck(**base, value=number, valid=False, reason="format",
                           stdnum_error="InvalidLength", details={"legacy": True})
        birth = _legacy_date(number)
        if birth is None:
            return IdCheck(**base, value=number, valid=False, reason="birth_date",
                           stdnum_error="InvalidLength", details={"legacy": True})
        return IdCheck(**base, value=number, valid=True, stdnum_error="InvalidLength",
                       details={"legacy": True, "birth_date": birth.isoformat()})
    if len(number) != 18:
        return IdCheck(**base, value=number, valid=False, reason="length", stdnum_error="InvalidLength")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return IdCheck(**base, value=number, valid=False, reason="format", stdnum_error="InvalidFormat")
    if number[17] != _ric.calc_check_digit(number):
        return IdCheck(**base, value=number, valid=False, reason="checksum", stdnum_error="InvalidChecksum")
    try:
        birth = _ric.get_birth_date(number)
    except ValidationError:
        return IdCheck(**base, value=number, valid=False, reason="birth_date", stdnum_error="InvalidComponent")
    if birth > (as_of or _dt.date.today()) or birth.year < 1880:
        return IdCheck(**base, value=number, valid=False, reason="birth_date", stdnum_error=None)
    warnings: list[Reason] = []
    details: dict[str, str | int | bool | None] = {"legacy": False, "birth_date": birth.isoformat()}
    place = _birth_place(number[:6], number[6:14])
    if place is not None:
        details["province"] = place.get("province")
        details["region_known"] = True
        if place.get("dated"):
            # The code existed, but not in the birth year: normal for a card
            # first issued years after birth (stdnum calls it InvalidComponent).
            warnings.append("region_dated")
        if "county" not in place:
            # The province is known, the county code is not in stdnum's
            # table: the number may well be valid (retired codes stay in
            # use for life), but the county cannot be confirmed.
            warnings.append("region_incomplete")
    else:
        warnings.append("region_unknown")
        details["region_known"] = False
    details["sex"] = "男" if int(number[16]) % 2 else "女"
    return IdCheck(**base, value=number, valid=True, warnings=warnings,
                   stdnum_error=_RIC_STDNUM["region_unknown"] if {"region_unknown", "region_dated"} & set(warnings)
                   else ("KeyError" if "region_incomplete" in warnings else None),
                   details=details)


# --------------------------------------------------------------------------- USCC

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _uscc_stdnum_error(number: str) -> str | None:
    try:
        _uscc.validate(number)
    except ValidationError as exc:
        return type(exc).__name__
    return None


# GB 32100 Table 1: registration authority -> its entity-type codes
# (domain_sources.md §1.2 and §7.1: 61/62, 71/72 and 81 are in the standard's
# own table). Pairs outside it (54, 55, G1, J1 are seen in validators) are
# warned about, never rejected.
USCC_AUTHORITY_TYPES = {
    "1": "1239", "2": "19", "3": "123459", "4": "19", "5": "1239", "6": "129",
    "7": "129", "8": "19", "9": "123", "A": "19", "N": "1239", "Y": "1",
}


def gb11714_check_char(body: str) -> str:
    """Check character of the GB 11714 organisation code (USCC positions 9–16 -> 17)."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum((int(ch) if ch.isdigit() else ord(ch) - 55) * w for ch, w in zip(body[:8], weights))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


@lru_cache(maxsize=65536)
def check_uscc(text: str) -> IdCheck:
    """A unified social credit code (GB 32100, MOD 31-3 check character).

    Warnings (the code stays valid): ``authority_letter`` (A/N/Y, which
    stdnum refuses), ``authority_pair`` (an authority/entity-type pair outside
    GB 32100's table), ``org_code_check`` (positions 9–17 fail their own
    GB 11714 check, as some early pilot codes do).
    """
    number = _compact(text)
    base = {"kind": "uscc", "raw": text}
    err = _uscc_stdnum_error(number)
    if len(number) != 18:
        return IdCheck(**base, value=number, valid=False, reason="length", stdnum_error=err)
    if any(c not in _USCC_ALPHABET for c in number):
        return IdCheck(**base, value=number, valid=False, reason="format", stdnum_error=err)
    # Six-digit region of the registration authority.
    if not number[2:8].isdigit():
        return IdCheck(**base, value=number, valid=False, reason="format", stdnum_error=err)
    if number[17] != _uscc.calc_check_digit(number):
        # A letter authority with a wrong check character is what stdnum calls
        # a format error; keep its reason so both agree.
        reason: Reason = "format" if err == "InvalidFormat" else "checksum"
        return IdCheck(**base, value=number, valid=False, reason=reason, stdnum_error=err)
    warnings: list[Reason] = []
    if number[0] in "ANY":
        warnings.append("authority_letter")
    if number[1] not in USCC_AUTHORITY_TYPES.get(number[0], ""):
        warnings.append("authority_pair")
    if gb11714_check_char(number[8:16]) != number[16]:
        warnings.append("org_code_check")
    return IdCheck(**base, value=number, valid=True, warnings=warnings, stdnum_error=err,
                   details={"region": number[2:8], "authority": number[:2]})


# --------------------------------------------------------------------------- licences and certificates

# The general form (domain_sources.md §2.1): （省简称）+ 2-letter industry code + 安许证字 + 〔YYYY〕 +
# sequence. Only JZ is well attested [M]; FM and WH numbers vary (4–6 characters, letters seen:
# （闽）FM安许证字（2024）E01号) and MK, YH, MB have no example at all [L]. §7.1: the bracket may
# hold something other than a year. So a JZ number that breaks the form is invalid, while any
# other unfamiliar shape is valid with a warning (``format_unverified``, ``industry_code``,
# ``year``): a person looks at it, nobody rejects it.
LICENCE_PROVINCES = PROVINCES + "蜀兵"
_LIC_HEAD = r"^\(?(?P<prov>[" + LICENCE_PROVINCES + r"])\)?(?P<ind>[A-Z]{2})安许证字第?"
_LIC_TAIL = r"第?(?P<seq>[0-9A-Z]{1,10})号?(?P<ext>延)?$"
# Year in brackets (or, as OCR sometimes leaves it, with one or both brackets lost).
_LICENCE_YEAR = re.compile(_LIC_HEAD + r"(?P<open>\()?(?P<year>(?:19|20)\d{2})\)?" + _LIC_TAIL)
# Anything short in brackets, or no bracket at all.
_LICENCE_ANY = re.compile(_LIC_HEAD + r"(?:\((?P<br>[^()]{1,8})\))?" + _LIC_TAIL)
_LICENCE_CODE = re.compile(r"(?:^\(?[" + LICENCE_PROVINCES + r"]\)?)?(?P<ind>[A-Z]{2})(?=安许证字|\d|$)")
WELL_ATTESTED_LICENCE_CODES = frozenset({"JZ"})


def _licence_text(text: str) -> str:
    number = _compact(text)
    number = number.replace("(", "(").replace(")", ")")
    for a, b in (("[", "("), ("]", ")")):
        number = number.replace(a, b)
    return number


def check_safety_licence_no(text: str) -> IdCheck:
    """安全生产许可证编号: （京）JZ安许证字〔2020〕001234 (brackets and 第…号 vary).

    Invalid only where the form is certain: a JZ number without the form
    (``format``) or with a year before the licence regime (2004) or after
    next year (``year``). Anything else unfamiliar is valid with a warning;
    ``details["industry_code"]`` says which code was read (None if none).
    """
    number = _licence_text(text)
    base = {"kind": "safety_licence_no", "raw": text}
    m = _LICENCE_YEAR.match(number)
    if m and not m["open"] and len(m["seq"]) < 4:
        m = None  # "JZ安许证字200012": a bare run of digits is not read as year + sequence
    if m:
        ind, year, seq = m["ind"], int(m["year"]), m["seq"]
        canonical = f"（{m['prov']}）{ind}安许证字〔{m['year']}〕{seq}"
        details: dict[str, str | int | bool | None] = {
            "province": m["prov"], "industry": LICENCE_INDUSTRIES.get(ind), "industry_code": ind,
            "year": year, "sequence": seq, "extended": bool(m["ext"])}
        warnings: list[Reason] = []
        if not 2004 <= year <= _dt.date.today().year + 1:
            # The licence regime began in 2004.
            if ind in WELL_ATTESTED_LICENCE_CODES:
                return IdCheck(**base, value=canonical, valid=False, reason="year", details=details)
            warnings.append("year")
        if ind not in LICENCE_INDUSTRIES:
            warnings.append("industry_code")
        elif ind in WELL_ATTESTED_LICENCE_CODES and not seq.isdigit():
            warnings.append("format_unverified")  # JZ sequences are digits; letters are unfamiliar, not wrong
        return IdCheck(**base, value=canonical, valid=True, warnings=warnings, details=details)
    m = _LICENCE_ANY.match(number)
    if m:
        # A bracket that holds no year, or no bracket: a shape nobody has verified.
        ind = m["ind"]
        br = f"〔{m['br']}〕" if m["br"] is not None else ""
        canonical = f"（{m['prov']}）{ind}安许证字{br}{m['seq']}"
        warnings = ["format_unverified"] + (["industry_code"] if ind not in LICENCE_INDUSTRIES else [])
        return IdCheck(**base, value=canonical, valid=True, warnings=warnings,
                       details={"province": m["prov"], "industry": LICENCE_INDUSTRIES.get(ind), "industry_code": ind,
                                "bracket": m["br"], "sequence": m["seq"], "extended": bool(m["ext"])})
    code = _LICENCE_CODE.search(number)
    return IdCheck(**base, value=number, valid=False, reason="format",
                   details={"industry_code": code["ind"] if code else None})


def check_special_operation(text: str, holder_id: str | None = None) -> IdCheck:
    """特种作业操作证: "T" followed by the holder's resident ID."""
    number = _compact(text)
    base = {"kind": "special_operation", "raw": text}
    if not number.startswith("T"):
        return IdCheck(**base, value=number, valid=False, reason="format")
    embedded = check_resident_id(number[1:])
    details: dict[str, str | int | bool | None] = {"embedded_id": embedded.value}
    if not embedded.valid:
        return IdCheck(**base, value="T" + embedded.value, valid=False, reason="embedded_id",
                       details=details | {"embedded_reason": embedded.reason})
    if holder_id is not None and _compact(holder_id) != embedded.value:
        return IdCheck(**base, value="T" + embedded.value, valid=False, reason="embedded_id",
                       details=details | {"embedded_reason": "holder_mismatch"})
    return IdCheck(**base, value="T" + embedded.value, valid=True, warnings=list(embedded.warnings),
                   details=details)


_ABC = re.compile(
    r"^(?P<prov>[" + PROVINCES + r"])建安(?P<cls>A|B|C[123]?)\(?(?P<year>\d{4})\)?(?P<seq>\d{7})$"
)


def check_safety_assessment(text: str) -> IdCheck:
    """建筑施工企业三类人员考核合格证书: 京建安A(2020)0012345 (A, B, C1, C2, C3)."""
    number = _compact(text)
    base = {"kind": "safety_assessment", "raw": text}
    m = _ABC.match(number)
    if not m:
        return IdCheck(**base, value=number, valid=False, reason="format")
    canonical = f"{m['prov']}建安{m['cls']}({m['year']}){m['seq']}"
    year = int(m["year"])
    if not 2000 <= year <= _dt.date.today().year + 1:
        return IdCheck(**base, value=canonical, valid=False, reason="year")
    return IdCheck(**base, value=canonical, valid=True,
                   details={"province": m["prov"], "class": m["cls"], "year": year})


_CSO = re.compile(r"^(?P<prov>[" + PROVINCES + r"])(?P<city>[A-Z])(?P<trade>\d{2})(?P<year>\d{4})(?P<seq>\d{6})$")


def check_construction_special_operation(text: str) -> IdCheck:
    """建筑施工特种作业操作资格证书: 14 characters, e.g. 晋A012008000001."""
    number = _compact(text)
    base = {"kind": "construction_special_operation", "raw": text}
    m = _CSO.match(number)
    if not m:
        return IdCheck(**base, value=number, valid=False,
                       reason="length" if len(number) != 14 else "format")
    year = int(m["year"])
    if not 1990 <= year <= _dt.date.today().year + 1:
        return IdCheck(**base, value=number, valid=False, reason="year")
    return IdCheck(**base, value=number, valid=True,
                   details={"province": m["prov"], "city": m["city"], "trade": m["trade"], "year": year})


# 注册安全工程师: the current registration numbers are a province abbreviation
# (or ministry prefix) then digits; older ones are 10–14 digits. Both appear.
_RSE = re.compile(r"^(?:(?P<prov>[" + PROVINCES + r"])?|ZA)(?P<digits>\d{8,14})$")


def check_registered_safety_engineer(text: str) -> IdCheck:
    """注册安全工程师注册证书编号 (format only)."""
    number = _compact(text)
    base = {"kind": "registered_safety_engineer", "raw": text}
    m = _RSE.match(number)
    if not m:
        return IdCheck(**base, value=number, valid=False, reason="format")
    return IdCheck(**base, value=number, valid=True)


CHECKERS = {
    "resident_id": check_resident_id,
    "uscc": check_uscc,
    "safety_licence_no": check_safety_licence_no,
    "special_operation": check_special_operation,
    "safety_assessment": check_safety_assessment,
    "construction_special_operation": check_construction_special_operation,
    "registered_safety_engineer": check_registered_safety_engineer,
}


def check(kind: IdKind, text: str) -> IdCheck:
    return CHECKERS[kind](text)


CERT_TYPES = {
    "special_operation": "special_operation",
    "safety_assessment": None,  # a/b/c from the class letter
    "construction_special_operation": "construction_special_operation",
    "registered_safety_engineer": "registered_safety_engineer",
}


def cert_type_of(result: IdCheck) -> str | None:
    """The contract's ``cert_type`` for a certificate number's check result."""
    if result.kind == "safety_assessment":
        cls = str(result.details.get("class") or (result.value[3:4] if len(result.value) > 3 else ""))
        return {"A": "safety_assessment_a", "B": "safety_assessment_b"}.get(cls[:1], "safety_assessment_c")
    return CERT_TYPES.get(result.kind)


def classify_cert_no(text: str) -> IdCheck | None:
    """Which certificate format ``text`` has, or None if it has none we know."""
    number = _compact(text)
    if number.startswith("T") and len(number) == 19:
        return check_special_operation(number)
    if "建安" in number:
        return check_safety_assessment(number)
    if len(number) == 14 and number[:1] in PROVINCES and number[1:2].isalpha():
        return check_construction_special_operation(number)
    return None


# --------------------------------------------------------------------------- OCR repair

# Letters OCR reads where a digit was printed, and the digit they stand for.
_TO_DIGIT = {"O": "0", "o": "0", "Q": "0", "D": "0", "I": "1", "l": "1", "i": "1", "|": "1",
             "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8", "G": "6", "b": "6"}
# Letters the USCC alphabet lacks, and the digit OCR most likely misread.
_USCC_TO_DIGIT = {"I": "1", "O": "0", "Z": "2", "S": "5", "V": "U"}

_MAX_REPAIRS = 3


def _candidates(number: str, allowed_digit_positions: range, table: dict[str, str]) -> list[str]:
    positions = [i for i in allowed_digit_positions if i < len(number) and number[i] in table]
    if not positions or len(positions) > _MAX_REPAIRS:
        return []
    out = []
    for choice in product([False, True], repeat=len(positions)):
        if not any(choice):
            continue
        chars = list(number)
        for use, pos in zip(choice, positions):
            if use:
                chars[pos] = table[chars[pos]]
        out.append("".join(chars))
    return out


@lru_cache(maxsize=65536)
def repair_ocr(kind: IdKind, text: str) -> IdCheck:
    """Validate ``text``; if invalid, try OCR confusions where a digit must stand.

    A repair is kept only when exactly one repaired reading passes the check
    character: an identifier without a check character (licence and
    certificate numbers other than "T"+ID) is never repaired, because nothing
    would confirm the guess.
    """
    first = check(kind, text)
    if first.valid:
        return first
    number = "".join(fold_char(c) for c in text)
    number = re.sub(r"[\s\-]", "", number)
    if kind == "resident_id" and len(number) == 18:
        # x as the check character is the same as X; not a repair.
        cands = _candidates(number, range(17), _TO_DIGIT)
    elif kind == "special_operation" and len(number) == 19:
        cands = _candidates(number, range(1, 18), _TO_DIGIT)
    elif kind == "uscc" and len(number) == 18:
        upper = number.upper()
        cands = _candidates(upper, range(1, 8), _TO_DIGIT) + _candidates(upper, range(8, 17), _USCC_TO_DIGIT)
    else:
        return first
    passing = []
    for cand in cands:
        result = check(kind, cand)
        if result.valid:
            passing.append(result)
    if len({r.value for r in passing}) != 1:
        return first
    fixed = passing[0]
    return fixed.model_copy(update={"raw": text, "repaired_from": text})
