"""Validation of incoming registry rows (pydantic), before anything is stored.

A row either becomes a whole canonical record or is quarantined with a
Chinese reason; nothing in between is written. Reasons never quote a
resident ID (personal data must not reach logs or screens).

Rows are validated a batch at a time, column by column (:func:`validate_batch`):
a million-row sync cannot afford Python calls per cell, so each column is
checked whole first and cleaned cell by cell only when that check fails.
Pydantic then checks every cell's type in one call per batch, against the
record models' own field types.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from .normalize import (
    clean_text,
    id_no_problems,
    is_clean,
    joined,
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


# ------------------------------------------------------ column by column
#
# Each step below takes one column of a batch and gives the column back
# cleaned, adding problems to the rows they belong to. Each first checks the
# whole column at once (a regular expression over its joined cells, a set or
# dict look-up, an array of check digits); only a column that fails that is
# handled cell by cell, by the same code a single row would go through.

# Shapes the normalisers return unchanged: a column that matches keeps its cells.
# (\x00 is normalize.SEP, which joins a column's cells.)
_CANONICAL_NUMBERS = re.compile(r"[0-9A-Z()\-\x00]*")  # normalize_cert_no
_CANONICAL_CODES = re.compile(r"[0-9A-Z\x00]*")  # normalize_id_no, normalize_uscc
_VALID_USCCS = re.compile(r"(?:[0-9A-HJ-NPQRTUWXY]{18}\x00)*[0-9A-HJ-NPQRTUWXY]{18}")  # uscc_problem
_ISO_DATES = re.compile(r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}\x00)*[0-9]{4}-[0-9]{2}-[0-9]{2}")

_CERT_TYPE_TEXT = {**{t.value: t.value for t in CertType},
                   **{word: t.value for word, t in CERT_TYPE_VALUES.items()}}
_STATUS_TEXT = {**{s.value: s.value for s in RecordStatus},
                **{word: s.value for word, s in STATUS_VALUES.items()}}


def _all_match(cells: list[Any], pattern: re.Pattern[str]) -> bool:
    """Whether every present cell is text and the joined column matches ``pattern``."""
    text = joined(cells if None not in cells else [c for c in cells if c is not None])
    return text is not None and pattern.fullmatch(text) is not None


def _clean(cells: list[Any]) -> list[Any]:
    """Cells as :func:`_blank` leaves them: stripped, NFKC, inner spaces collapsed, '' as None."""
    text = joined(cells)
    if text is not None and is_clean(text):
        return [c or None for c in cells]
    return [_blank(c) for c in cells]


def _normalized(cells: list[Any], normalize: Callable[[str], Any], canonical: re.Pattern[str]) -> list[Any]:
    """``normalize(cell)`` for each text cell; the cells as they are when all
    already have a shape ``normalize`` leaves unchanged. Anything else (a list
    or object from JSON, a date from Excel) is left for pydantic to reject."""
    if _all_match(cells, canonical):
        return cells
    return [normalize(c) if isinstance(c, str) else c for c in cells]


def _id_nos(cells: list[Any], problems: list[list[str]]) -> list[Any]:
    cells = _normalized(cells, normalize_id_no, _CANONICAL_CODES)
    where = [i for i, c in enumerate(cells) if isinstance(c, str)]  # others: pydantic's to reject
    for i, problem in zip(where, id_no_problems([cells[i] for i in where])):
        if problem:
            problems[i].append(problem)  # never the number itself: personal data
    return cells


def _usccs(cells: list[Any], column: str, problems: list[list[str]]) -> list[Any]:
    cells = _normalized(cells, normalize_uscc, _CANONICAL_CODES)
    if _all_match(cells, _VALID_USCCS):
        return cells
    for i, uscc in enumerate(cells):
        if isinstance(uscc, str) and (problem := uscc_problem(uscc)):
            problems[i].append(f"{LABELS[column]}：{problem}")
    return cells


def _dates(cells: list[Any], column: str, problems: list[list[str]]) -> list[Any]:
    if _all_match(cells, _ISO_DATES):
        try:
            return [None if c is None else date.fromisoformat(c) for c in cells]
        except ValueError:
            pass  # a date that does not exist (2026-02-30): the cell-by-cell reasons
    return [None if c is None else _date(c, column, problems[i]) for i, c in enumerate(cells)]


def _statuses(cells: list[Any], default: str | None, problems: list[list[str]]) -> list[Any]:
    try:
        return [default if c is None else _STATUS_TEXT[c] for c in cells]
    except (KeyError, TypeError):
        pass
    out: list[Any] = []
    for i, c in enumerate(cells):
        if c is None:
            out.append(default)
            continue
        try:
            out.append(_status(c))
        except ValueError as exc:
            problems[i].append(str(exc))
            out.append(None)
    return out


def _cert_types(cells: list[Any], cert_nos: list[Any], problems: list[list[str]]) -> list[Any]:
    try:
        return [_CERT_TYPE_TEXT[c] for c in cells]
    except (KeyError, TypeError):
        pass
    out: list[Any] = []
    for i, (cert_type, cert_no) in enumerate(zip(cells, cert_nos)):
        value = None
        if cert_type is not None:
            low = str(cert_type).lower()
            if low in CertType._value2member_map_:
                value = low
            elif isinstance(cert_type, str) and cert_type in CERT_TYPE_VALUES:
                value = CERT_TYPE_VALUES[cert_type].value
            else:
                problems[i].append(f"证书类型无法识别：{cert_type!r}")
        elif cert_no is not None:
            inferred = infer_cert_type(cert_no)
            if inferred is None:
                problems[i].append("缺少证书类型，且无法从证书编号推断")
            else:
                value = inferred.value
        out.append(value)
    return out


def _required(cells: list[Any], message: str, problems: list[list[str]]) -> None:
    if None in cells:
        for i, c in enumerate(cells):
            if c is None:
                problems[i].append(message)


def _window(first: list[Any], last: list[Any], message: str, problems: list[list[str]]) -> None:
    for i, (a, b) in enumerate(zip(first, last)):
        # ISO strings and dates both order correctly as text.
        if a is not None and b is not None and (a > b if a.__class__ is b.__class__ else str(a) > str(b)):
            problems[i].append(message)


def _prepare(kind: str, columns: dict[str, list[Any]], problems: list[list[str]]) -> None:
    """Clean every column of a batch in place, before pydantic checks its types.

    The columns are taken in one fixed order, so a quarantined row lists all
    its problems at once and always in the same order.
    """
    for name, cells in columns.items():
        columns[name] = _clean(cells)
    if kind == "certificates":
        columns["cert_no"] = _normalized(columns["cert_no"], lambda s: normalize_cert_no(s) or None,
                                         _CANONICAL_NUMBERS)
        _required(columns["holder_name"], "缺少持证人姓名", problems)
        columns["cert_type"] = _cert_types(columns["cert_type"], columns["cert_no"], problems)
        columns["holder_id_no"] = _id_nos(columns["holder_id_no"], problems)
        key, uscc, status_default = "cert_no", "employer_uscc", "valid"
        dates = ("issued_on", "valid_from", "valid_until")
        window = ("valid_from", "valid_until", "有效期起始日期晚于截止日期")
    else:
        _required(columns["name"], "缺少单位名称", problems)
        columns["licence_no"] = _normalized(columns["licence_no"], normalize_cert_no, _CANONICAL_NUMBERS)
        key, uscc, status_default = "uscc", "uscc", None
        dates = ("licence_valid_from", "licence_valid_until")
        window = ("licence_valid_from", "licence_valid_until", "许可证有效期起始日期晚于截止日期")
    _required(columns[key], f"缺少{LABELS[key]}", problems)
    columns[uscc] = _usccs(columns[uscc], uscc, problems)
    for column in dates:
        columns[column] = _dates(columns[column], column, problems)
    status = "status" if kind == "certificates" else "licence_status"
    columns[status] = _statuses(columns[status], status_default, problems)
    start, end, message = window
    _window(columns[start], columns[end], message, problems)


def _columns_model(record: type[BaseModel]) -> type[BaseModel]:
    """The record's fields as columns (``list[T]`` for a field of type ``T``),
    so that one pydantic call checks a whole batch against the record's own types."""
    fields: dict[str, Any] = {}
    for name, info in record.model_fields.items():
        cell = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        fields[name] = (list[cell], ...)  # type: ignore[valid-type]
    # Enum values as plain str: drivers (psycopg) would otherwise dump enum names.
    return create_model(f"{record.__name__}Columns", __config__=ConfigDict(use_enum_values=True),
                        **fields)


COLUMN_MODELS: dict[str, type[BaseModel]] = {
    "certificates": _columns_model(CertificateRecord),
    "companies": _columns_model(CompanyRecord),
}

_PRIVATE = {"holder_id_no"}


def _explain(errors: list[Any]) -> str:
    """A Chinese reason from pydantic errors located by column, without personal data."""
    parts = []
    for err in errors:
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


@dataclass
class ValidatedBatch:
    """What :func:`validate_batch` made of a batch of rows."""

    reasons: list[str | None]
    """Per input row: why it is quarantined, or ``None`` when it is valid."""
    valid: list[int]
    """Positions of the valid rows in the input, in order."""
    columns: dict[str, list[Any]]
    """The valid rows' canonical values, column by column, as pydantic returned them."""

    def row(self, k: int) -> dict[str, Any]:
        """The ``k``-th valid row as a dict of canonical columns."""
        return {name: cells[k] for name, cells in self.columns.items()}


def _take(columns: dict[str, list[Any]], rows: list[int]) -> dict[str, list[Any]]:
    return {name: [cells[i] for i in rows] for name, cells in columns.items()}


def validate_batch(kind: str, raws: list[Mapping[str, Any]]) -> ValidatedBatch:
    """Validate mapped rows (canonical keys) together: each either valid or quarantined with its reasons."""
    n = len(raws)
    problems: list[list[str]] = [[] for _ in range(n)]
    rows = list(raws)
    for i, raw in enumerate(rows):
        if not isinstance(raw, Mapping):
            problems[i].append("不是一行数据（应为列名到取值的对象）")
            rows[i] = {}
    columns = {name: [raw.get(name) for raw in rows] for name in COLUMNS[kind]}
    _prepare(kind, columns, problems)
    valid = [i for i in range(n) if not problems[i]]
    reasons: list[str | None] = ["；".join(p) if p else None for p in problems]
    model = COLUMN_MODELS[kind]
    checked = columns if len(valid) == n else _take(columns, valid)
    try:
        result = model.model_validate(checked)
    except ValidationError as exc:
        # Cells are independent: the rows pydantic rejects are quarantined
        # with its reasons, and the others are checked again without them.
        failed: dict[int, list[Any]] = {}
        for err in exc.errors():
            loc = err["loc"]
            failed.setdefault(valid[loc[1]], []).append({**err, "loc": loc[:1] + loc[2:]})
        for i, errors in failed.items():
            reasons[i] = _explain(errors)
        valid = [i for i in valid if i not in failed]
        result = model.model_validate(_take(columns, valid))
    return ValidatedBatch(reasons=reasons, valid=valid, columns=dict(result.__dict__))


def validate_row(kind: str, raw: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """Validate one mapped row: (canonical values, None) or (None, reason)."""
    batch = validate_batch(kind, [raw])
    if batch.reasons[0] is not None:
        return None, batch.reasons[0]
    return batch.row(0), None
