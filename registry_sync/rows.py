"""Validation of incoming registry rows (pydantic), before anything is stored.

A row either becomes a whole canonical record or is quarantined with a
Chinese reason; nothing in between is written. Reasons never quote a
resident ID (personal data must not reach logs or screens).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .normalize import (
    clean_text,
    id_no_problem,
    normalize_cert_no,
    normalize_id_no,
    normalize_uscc,
    uscc_problem,
)
from .records import CertificateRecord, CertType, CompanyRecord, RecordStatus

Kind = Literal["certificates", "companies"]

CERT_COLUMNS = (
    "cert_no", "cert_type", "holder_name", "holder_id_no", "category", "employer_uscc",
    "employer_name", "issued_on", "valid_from", "valid_until", "status", "issuing_authority",
)
COMPANY_COLUMNS = (
    "uscc", "name", "legal_representative", "address", "industry", "licence_no",
    "licence_valid_from", "licence_valid_until", "licence_status",
)
COLUMNS: dict[str, tuple[str, ...]] = {"certificates": CERT_COLUMNS, "companies": COMPANY_COLUMNS}

# Chinese column labels, for reasons and CLI output.
LABELS = {
    "cert_no": "证书编号", "cert_type": "证书类型", "holder_name": "持证人姓名",
    "holder_id_no": "身份证号", "category": "作业类别", "employer_uscc": "聘用单位信用代码",
    "employer_name": "聘用单位名称", "issued_on": "发证日期", "valid_from": "有效期起",
    "valid_until": "有效期止", "status": "状态", "issuing_authority": "发证机关",
    "uscc": "统一社会信用代码", "name": "单位名称", "legal_representative": "法定代表人",
    "address": "地址", "industry": "行业", "licence_no": "许可证编号",
    "licence_valid_from": "许可证有效期起", "licence_valid_until": "许可证有效期止",
    "licence_status": "许可证状态",
}

STATUS_VALUES: dict[str, RecordStatus] = {
    "有效": RecordStatus.VALID, "正常": RecordStatus.VALID, "在册": RecordStatus.VALID,
    "在用": RecordStatus.VALID, "过期": RecordStatus.EXPIRED, "已过期": RecordStatus.EXPIRED,
    "失效": RecordStatus.EXPIRED, "超期": RecordStatus.EXPIRED, "注销": RecordStatus.REVOKED,
    "已注销": RecordStatus.REVOKED, "吊销": RecordStatus.REVOKED, "撤销": RecordStatus.REVOKED,
    "已吊销": RecordStatus.REVOKED, "暂扣": RecordStatus.SUSPENDED, "暂停": RecordStatus.SUSPENDED,
    "冻结": RecordStatus.SUSPENDED, "已暂扣": RecordStatus.SUSPENDED,
}

CERT_TYPE_VALUES: dict[str, CertType] = {
    "特种作业操作证": CertType.SPECIAL_OPERATION,
    "建筑施工特种作业操作资格证": CertType.CONSTRUCTION_SPECIAL_OPERATION,
    "建筑施工特种作业操作资格证书": CertType.CONSTRUCTION_SPECIAL_OPERATION,
    "A证": CertType.SAFETY_ASSESSMENT_A, "三类人员A": CertType.SAFETY_ASSESSMENT_A,
    "B证": CertType.SAFETY_ASSESSMENT_B, "三类人员B": CertType.SAFETY_ASSESSMENT_B,
    "C证": CertType.SAFETY_ASSESSMENT_C, "三类人员C": CertType.SAFETY_ASSESSMENT_C,
    "C1证": CertType.SAFETY_ASSESSMENT_C, "C2证": CertType.SAFETY_ASSESSMENT_C,
    "C3证": CertType.SAFETY_ASSESSMENT_C,
    "主要负责人": CertType.PRINCIPAL_ASSESSMENT,
    "安全生产知识和管理能力考核合格证": CertType.PRINCIPAL_ASSESSMENT,
    "注册安全工程师": CertType.REGISTERED_SAFETY_ENGINEER,
}

_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?: .*)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)

_WHITESPACE = re.compile(r"\s")
_ABC_RE = re.compile(r"建安([ABC])\d?\(")
_CONSTRUCTION_SPECIAL_RE = re.compile(r"^[\u4e00-\u9fff][A-Z]\d{12}$")


def parse_date(value: Any) -> date | None:
    """ISO dates, plus the shapes real exports use (2026/11/01, 2026年11月1日, 20261101)."""
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)  # the contract's format: the fast path
        except ValueError:
            pass
    text = clean_text(value)
    if not text:
        return None
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                break
    raise ValueError(f"日期无法识别：{text!r}（应为 YYYY-MM-DD）")


def infer_cert_type(cert_no: str) -> CertType | None:
    """Guess the certificate type from its number when the export has no type column."""
    if cert_no.startswith("T") and len(cert_no) in (16, 19):
        return CertType.SPECIAL_OPERATION
    m = _ABC_RE.search(cert_no)
    if m:
        return {"A": CertType.SAFETY_ASSESSMENT_A, "B": CertType.SAFETY_ASSESSMENT_B,
                "C": CertType.SAFETY_ASSESSMENT_C}[m.group(1)]
    if _CONSTRUCTION_SPECIAL_RE.match(cert_no):
        return CertType.CONSTRUCTION_SPECIAL_OPERATION
    return None


def _status(value: Any) -> Any:
    if value is None:
        return None
    text = clean_text(value)
    if not text:
        return None
    low = text.lower()
    if low in RecordStatus._value2member_map_:
        return low
    if text in STATUS_VALUES:
        return STATUS_VALUES[text]
    raise ValueError(f"状态取值无法识别：{text!r}（应为 有效/过期/注销/暂扣）")


def _blank(value: Any) -> Any:
    if value is None:
        return None
    if type(value) is str:
        text = value.strip()
        if not text:
            return None
        # ASCII is already NFKC with single spaces in practice: skip the slow path.
        return text if text.isascii() and "  " not in text else (clean_text(text) or None)
    if isinstance(value, float) and value.is_integer():
        # Excel keeps long numbers as floats; the int form is what was typed.
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _all_clean(cells: list[Any]) -> bool:
    """True when every cell is text already as :func:`clean_text` leaves it.

    One check on the joined row instead of one per cell: text with no
    whitespace at all that is already NFKC needs no stripping, collapsing or
    normalising (a NUL separator cannot combine with its neighbours).
    Exports are nearly always like this, so it is the million-row fast path.
    """
    try:
        joined = "\x00".join(cells)
    except TypeError:  # a missing cell (None) or a number or date from XLSX/JSON
        return False
    return _WHITESPACE.search(joined) is None and unicodedata.is_normalized("NFKC", joined)


def _date(value: Any, column: str, problems: list[str]) -> Any:
    if type(value) is str and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)  # the contract's format: the fast path
        except ValueError:
            problems.append(f"{LABELS[column]}：日期无效：{value!r}")
            return None
    try:
        return parse_date(value)
    except ValueError as exc:
        problems.append(f"{LABELS[column]}：{exc}")
        return None


def _prepare(data: Any, kind: str) -> Any:
    """One pass over a row before pydantic checks its types.

    Per-field validators would cost a Python call each; on a million rows
    that is most of the sync. Every problem is collected, so a quarantined
    row gives all its reasons at once.
    """
    if not isinstance(data, dict):
        return data
    columns = COLUMNS[kind]
    cells = [data.get(k) for k in columns]
    if _all_clean(cells):
        row: dict[str, Any] = dict(zip(columns, cells))
        if "" in cells:
            for k, v in row.items():
                if not v:
                    row[k] = None
    else:
        row = {k: _blank(v) for k, v in zip(columns, cells)}
    problems: list[str] = []
    if kind == "certificates":
        dates = ("issued_on", "valid_from", "valid_until")
        status_col, key = "status", "cert_no"
        if row["cert_no"] is not None:
            row["cert_no"] = normalize_cert_no(str(row["cert_no"])) or None
        if row["holder_name"] is None:
            problems.append("缺少持证人姓名")
        cert_type = row["cert_type"]
        if cert_type is not None:
            low = str(cert_type).lower()
            if low in CertType._value2member_map_:
                row["cert_type"] = low
            elif cert_type in CERT_TYPE_VALUES:
                row["cert_type"] = CERT_TYPE_VALUES[cert_type].value
            else:
                problems.append(f"证书类型无法识别：{cert_type!r}")
        elif row["cert_no"] is not None:
            inferred = infer_cert_type(row["cert_no"])
            if inferred is None:
                problems.append("缺少证书类型，且无法从证书编号推断")
            else:
                row["cert_type"] = inferred.value
        id_no = row["holder_id_no"]
        if id_no is not None:
            id_no = normalize_id_no(str(id_no))
            problem = id_no_problem(id_no)
            if problem:
                problems.append(problem)  # never the number itself: personal data
            row["holder_id_no"] = id_no
        uscc_col = "employer_uscc"
        window = ("valid_from", "valid_until", "有效期起始日期晚于截止日期")
    else:
        dates = ("licence_valid_from", "licence_valid_until")
        status_col, key, uscc_col = "licence_status", "uscc", "uscc"
        if row["name"] is None:
            problems.append("缺少单位名称")
        if row["licence_no"] is not None:
            row["licence_no"] = normalize_cert_no(str(row["licence_no"]))
        window = ("licence_valid_from", "licence_valid_until", "许可证有效期起始日期晚于截止日期")
    if row[key] is None:
        problems.append(f"缺少{LABELS[key]}")
    uscc = row[uscc_col]
    if uscc is not None:
        uscc = normalize_uscc(str(uscc))
        problem = uscc_problem(uscc)
        if problem:
            problems.append(f"{LABELS[uscc_col]}：{problem}")
        row[uscc_col] = uscc
    for column in dates:
        if row[column] is not None:
            row[column] = _date(row[column], column, problems)
    status = row[status_col]
    if status in STATUS_VALUES:  # the export's Chinese word, as is: the common case
        row[status_col] = STATUS_VALUES[status]
    elif status is not None and status not in RecordStatus._value2member_map_:
        try:
            row[status_col] = _status(status)
        except ValueError as exc:
            problems.append(str(exc))
    elif status is None and kind == "certificates":
        row[status_col] = "valid"
    start, end, message = window
    first, last = row[start], row[end]
    if first is not None and last is not None and (
        first > last if first.__class__ is last.__class__ else str(first) > str(last)
    ):
        problems.append(message)  # ISO strings and dates both order correctly as text
    if problems:
        raise ValueError("；".join(problems))
    return row


class CertificateRow(CertificateRecord):
    """One export row's canonical columns (those of the record), checked by pydantic
    after :func:`_prepare` has cleaned them."""

    # Enum values as plain str: drivers (psycopg) would otherwise dump enum names.
    model_config = ConfigDict(use_enum_values=True)

    def values(self) -> dict[str, Any]:
        """The canonical columns, validated (the sync stores these without a second pass)."""
        return self.__dict__.copy()

    def record(self) -> CertificateRecord:
        return CertificateRecord.model_construct(**self.values())


class CompanyRow(CompanyRecord):
    """One export row's canonical columns, checked after :func:`_prepare`."""

    model_config = ConfigDict(use_enum_values=True)

    def values(self) -> dict[str, Any]:
        return self.__dict__.copy()

    def record(self) -> CompanyRecord:
        return CompanyRecord.model_construct(**self.values())


ROW_MODELS: dict[str, type[BaseModel]] = {"certificates": CertificateRow, "companies": CompanyRow}

_PRIVATE = {"holder_id_no"}


def explain(error: ValidationError) -> str:
    """A Chinese reason for a quarantined row, without personal data."""
    parts = []
    for err in error.errors():
        loc = err.get("loc") or ()
        column = str(loc[0]) if loc else ""
        label = LABELS.get(column, column)
        etype = err.get("type", "")
        if etype == "missing" or (etype.startswith("string_type") and err.get("input") is None):
            parts.append(f"缺少{label}")
            continue
        msg = str(err.get("msg", ""))
        if etype == "value_error":
            msg = msg.removeprefix("Value error, ")
        elif etype == "enum":
            msg = "取值无法识别" + ("" if column in _PRIVATE else f"：{err.get('input')!r}")
        elif etype.startswith("string_type"):
            msg = "应为文本"
        parts.append(f"{label}：{msg}" if label else msg)
    return "；".join(parts)


def validate_row(kind: str, raw: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """Validate one mapped row: (canonical values, None) or (None, reason)."""
    # _prepare is called here rather than as a model validator: on a million
    # rows the wrapper alone cost as much as pydantic's own checks.
    try:
        prepared = _prepare(raw, kind)
    except ValueError as exc:
        return None, str(exc)
    try:
        row = ROW_MODELS[kind].model_validate(prepared)
    except ValidationError as exc:
        return None, explain(exc)
    return row.values(), None  # type: ignore[attr-defined]
