"""Small helpers shared by the built-in rules (normalisation, provinces, sources)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from checks.view import value_of
from extractor.model import Field

PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川蜀黔贵滇云藏陕甘青宁新兵"

DOMAIN = "shared/domain_sources.md"

_BRACKETS = str.maketrans({"〔": "[", "〕": "]", "【": "[", "】": "]", "［": "[", "］": "]", "（": "(", "）": ")"})


def nfkc(text: Any) -> str:
    """Half-width digits and letters, unified brackets, no spaces."""
    s = unicodedata.normalize("NFKC", str(text)).translate(_BRACKETS)
    return re.sub(r"\s+", "", s)


def ident(field: Field) -> str:
    """An identifier as one string: half-width, upper case, no spaces."""
    return nfkc(value_of(field)).upper()


def name_key(value: Any) -> str:
    """A person's or company's name for comparison: width, spaces and bracket style do not count."""
    return nfkc(value).replace("(", "").replace(")", "").replace("[", "").replace("]", "")


def number(field: Field) -> float | None:
    v = value_of(field)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


# 企业类型 (the "类型" line of a business licence), which a reader may mistake for the name.
_LEGAL_FORM = re.compile(
    r"^(其他)?(有限责任公司|股份有限公司|有限公司|个人独资企业|合伙企业|普通合伙企业|有限合伙企业|全民所有制|集体所有制|"
    r"股份合作制|个体工商户|农民专业合作社)(\(.*\))?(分公司)?$"
)


def is_legal_form(value: Any) -> bool:
    """True for a bare enterprise type such as 其他有限责任公司 or 有限责任公司(自然人投资或控股)."""
    return bool(_LEGAL_FORM.match(nfkc(value)))


def partial_readings(values: Iterable[str]) -> set[str]:
    """Values that are a proper part of another value: a name read only in part (a seal over the
    first characters, a line cut by the scan), not a different name."""
    vals = {v for v in values if v}
    return {v for v in vals if any(v != w and v in w for w in vals)}
