"""Why a value cannot carry a ``fail``: the "fail means sure" gate.

A ``fail`` tells an officer the applicant must correct something. It may
rest only on values that pass their own checks: a person's name that is a
plausible name, a certificate number of a known format, a date that is a
date, an ID number that is valid, a reading the OCR was confident of. When
a finding's evidence holds a value that does not, the finding becomes
``uncertain`` and its reason names what could not be read — the officer's
one concrete question — instead of a ``fail`` nobody can stand behind.

Used by :class:`checks.engine.RuleContext` for every rule, and by the
registry comparison. Rules that judge a value's own validity
(``identifier.invalid``) are exempt: the doubt is their subject.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from extractor import identifiers as ids
from extractor.fields.people import name_doubt
from extractor.model import Field

# Below this, an OCR reading is too unsure to found a fail on (rules keep
# their own, stricter thresholds where they have one).
MIN_CONFIDENCE = 0.6

# Categories whose rules judge the evidence value itself.
EXEMPT_CATEGORIES = {"identifier.invalid"}

# The openings of the certificate formats of domain.md §2 (T + ID number; 省 + letter +
# trade digits; 省建安 A/B/C): a number that opens so and fits none is incomplete.
_KNOWN_FAMILY = re.compile(r"^(?:T\d|[" + ids.PROVINCES + r"][A-Z]\d|[" + ids.PROVINCES + r"]建安)")
_DATE_SHAPE = re.compile(r"(?:19|20)\d{2}\s*(?:年|[.\-/])\s*\d{1,2}\s*(?:月|[.\-/])\s*\d{1,2}")
_CERT_CHECKS = {
    "special_operation": ids.check_special_operation,
    "construction_special_operation": ids.check_construction_special_operation,
    "safety_assessment_a": ids.check_safety_assessment,
    "safety_assessment_b": ids.check_safety_assessment,
    "safety_assessment_c": ids.check_safety_assessment,
}


def _text(f: Field) -> str:
    value = f.normalized if f.normalized not in (None, "") else f.value
    return "" if value is None else str(value)


def value_doubt(f: Field) -> str | None:
    """Why this field's value may be misread (Chinese), or None when it passes its own checks."""
    text = _text(f)
    if f.source == "ocr" and f.confidence < MIN_CONFIDENCE:
        return f"“{text}”的识别置信度仅 {f.confidence:.2f}"
    if f.type == "person_name":
        return name_doubt(text)
    if f.type == "cert_no":
        if _DATE_SHAPE.search(text) or re.fullmatch(r"\d{8}", text):
            return f"证书编号“{text}”像是日期，可能取错了栏目"
        check = _CERT_CHECKS.get(str(f.attributes.get("cert_type")))
        result = check(text) if check is not None else ids.classify_cert_no(text)
        if result is not None and not result.valid:
            return f"证书编号“{text}”不符合该类证书的编号格式，可能识别不全"
        if result is None and (_KNOWN_FAMILY.match(re.sub(r"\s", "", text)) or len(re.sub(r"\D", "", text)) < 6):
            # It starts like a format we know but is none: cut off or split
            # (a scanned roster's 浙A012026000207 read as 浙A0120260002).
            return f"证书编号“{text}”不完整，可能识别不全"
        return None
    if f.type == "resident_id" and f.source == "ocr":
        # Typed into a text layer or a Word file, an invalid number is the
        # applicant's own error and a conflict built on it is real; read by
        # OCR it is more likely a misread digit.
        result = ids.check_resident_id(text)
        return None if result.valid else f"身份证号“{text}”（文字识别）本身未通过校验，可能有数字识别错误"
    if f.type == "date" and isinstance(f.normalized if f.normalized is not None else f.value, str):
        # Extraction writes dates as ISO text; a number here is a rule
        # author's own example data, not a misread page.
        try:
            date.fromisoformat(text)
        except ValueError:
            return f"日期“{text}”不是有效日期"
    return None


def doubts(evidence: Iterable[object]) -> list[str]:
    """The doubts of the fields among ``evidence`` (other evidence items are skipped), each once.

    A value read with doubt in one place but surely in another piece of the
    same evidence is established: the shaky reading (a signature line's
    欧阳剑华 beside the form's typed-size 欧阳剑华) adds no doubt.
    """
    fields = [item for item in evidence if isinstance(item, Field)]
    sure = {(f.type, _text(f)) for f in fields if value_doubt(f) is None}
    out: list[str] = []
    for f in fields:
        why = value_doubt(f)
        if why and (f.type, _text(f)) not in sure and why not in out:
            out.append(why)
    return out


def char_doubtful(f: Field, char: str, threshold: float) -> bool:
    """Whether ``char`` in an OCR-read field may be a misreading: its own
    recognition score is below ``threshold``. Without per-character scores
    the field's confidence stands in. Text-layer and Word values are never
    misread."""
    if f.source != "ocr":
        return False
    scores = [x for c, x in f.attributes.get("char_confidence") or () if c == char]
    if scores:
        return min(scores) < threshold
    return f.confidence < threshold


def substituted(a: str, b: str) -> list[str] | None:
    """The characters of ``a`` where the equally long ``b`` differs, else None."""
    if len(a) != len(b):
        return None
    return [x for x, y in zip(a, b) if x != y]


def reason_for(found: list[str]) -> str:
    return "不能确认据以判断的内容：" + "；".join(found) + "。请核对原件后判断。"
