"""Column mapping: which source column feeds which canonical column.

A mapping file is YAML, canonical -> source column (contract.md)::

    cert_no: 证书编号
    holder_name: [姓名, 持证人姓名]     # first header present wins
    cert_type: 证书类型

Optionally under ``columns:``, with ``defaults:`` (a constant for a column the
export lacks, e.g. ``cert_type: special_operation``). Without a mapping file,
canonical headers are used as they are and the common Chinese headers below
are recognised.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .rows import COLUMNS, LABELS


class MappingError(ValueError):
    """A mapping file that cannot be used; the message is for users (Chinese)."""


# Headers seen in real exports; used when no mapping file is given.
CHINESE_HEADERS: dict[str, tuple[str, ...]] = {
    "cert_no": ("证书编号", "证书号", "证号", "操作证号", "证书号码"),
    "cert_type": ("证书类型", "证书种类", "证件类型"),
    "holder_name": ("姓名", "持证人", "持证人姓名"),
    "holder_id_no": ("身份证号", "身份证号码", "公民身份号码", "证件号码"),
    "category": ("作业类别", "操作类别", "准操项目", "工种", "操作项目"),
    "employer_uscc": ("单位统一社会信用代码", "聘用单位统一社会信用代码", "用人单位信用代码"),
    "employer_name": ("单位名称", "聘用单位", "工作单位", "用人单位"),
    "issued_on": ("发证日期", "初领日期", "签发日期"),
    "valid_from": ("有效期起", "有效期开始", "有效起始日期"),
    "valid_until": ("有效期止", "有效期至", "有效期截止", "有效截止日期"),
    "status": ("状态", "证书状态"),
    "issuing_authority": ("发证机关", "发证单位", "签发机关"),
    "uscc": ("统一社会信用代码", "信用代码"),
    "name": ("企业名称", "单位名称", "名称"),
    "legal_representative": ("法定代表人", "法人代表"),
    "address": ("地址", "住所", "注册地址"),
    "industry": ("行业", "行业类别"),
    "licence_no": ("许可证编号", "安全生产许可证编号"),
    "licence_valid_from": ("许可证有效期起", "有效期起"),
    "licence_valid_until": ("许可证有效期止", "有效期止", "有效期至"),
    "licence_status": ("许可证状态", "状态"),
}


class ColumnMapping(BaseModel):
    """canonical column -> candidate source headers, plus constant defaults."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, list[str]] = Field(default_factory=dict)
    defaults: dict[str, Any] = Field(default_factory=dict)

    @field_validator("columns", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ([v] if isinstance(v, str) else v) for k, v in value.items()}
        return value

    def check_kind(self, kind: str) -> None:
        allowed = set(COLUMNS[kind])
        unknown = sorted((set(self.columns) | set(self.defaults)) - allowed)
        if unknown:
            raise MappingError(
                f"映射文件中有未知的标准列：{', '.join(unknown)}；"
                f"{kind} 的标准列为：{', '.join(COLUMNS[kind])}"
            )


def load_mapping(path: str | Path) -> ColumnMapping:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"映射文件无法读取：{exc}") from exc
    if not isinstance(data, dict):
        raise MappingError("映射文件应为 YAML 字典：标准列: 源列名")
    if "columns" not in data:
        data = {"columns": data}
    try:
        return ColumnMapping.model_validate(data)
    except ValidationError as exc:
        raise MappingError(f"映射文件格式错误：{exc.errors()[0]['msg']}") from exc


class HeaderResolver:
    """Turns a source row (dict keyed by source headers) into a canonical-keyed dict."""

    def __init__(self, kind: str, headers: list[str], mapping: ColumnMapping | None):
        self.kind = kind
        present = {h.strip(): h for h in headers if h is not None}
        self.pairs: list[tuple[str, str]] = []  # (canonical, source header)
        self.defaults = dict(mapping.defaults) if mapping else {}
        canon = COLUMNS[kind]
        if mapping is not None:
            mapping.check_kind(kind)
            for column, candidates in mapping.columns.items():
                found = next((present[c] for c in candidates if c in present), None)
                if found is None:
                    raise MappingError(
                        f"源文件中找不到映射的列 {LABELS.get(column, column)}（{column}）："
                        f"{'/'.join(candidates)}"
                    )
                self.pairs.append((column, found))
        mapped = {c for c, _ in self.pairs}
        used = {s for _, s in self.pairs}
        for column in canon:
            if column in mapped:
                continue
            if column in present and column not in used:
                self.pairs.append((column, present[column]))
                used.add(column)
                continue
            if mapping is None:
                for alias in CHINESE_HEADERS.get(column, ()):
                    if alias in present and present[alias] not in used:
                        self.pairs.append((column, present[alias]))
                        used.add(present[alias])
                        break
        key = "cert_no" if kind == "certificates" else "uscc"
        if key not in {c for c, _ in self.pairs} and key not in self.defaults:
            raise MappingError(
                f"源文件中找不到 {LABELS[key]} 列（{key}）。现有列：{', '.join(present)}。"
                "请用 --mapping 指定映射文件。"
            )

    @cached_property
    def identity(self) -> bool:
        """Source headers are the canonical names: rows can be read as they are."""
        return not self.defaults and all(c == s for c, s in self.pairs)

    @property
    def columns(self) -> list[str]:
        return [c for c, _ in self.pairs]

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        out = dict(self.defaults)
        for column, source in self.pairs:
            out[column] = row.get(source)
        return out
