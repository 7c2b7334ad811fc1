"""Rulesets: which rules run, with which parameters, severities and dates.

A ruleset is YAML with no expressions::

    name: default
    version: "2026.11"
    extends: default            # optional: "default" or a path relative to this file
    rules:
      gb50016.civil_separation.v1:
        severity: high          # optional; the rule's default otherwise
        industries: [construction]
        effective_from: 2018-10-01
        effective_until: null   # the day a superseded edition stops applying
        enabled: true
        params: {notes_unstated: uncertain}

Everything is checked when the file loads: an unknown key, rule id or
parameter, or a value of the wrong type raises ``RulesetError`` naming the
file and line (from yaml's node marks).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic import Field as PydField

from checks.catalogue import Registry, load_registry
from checks.engine import INDUSTRIES, RuleSpec, Severity

RULESETS_DIR = Path(__file__).resolve().parent / "rulesets"
DEFAULT_RULESET = RULESETS_DIR / "default.yaml"


class RulesetError(ValueError):
    """A ruleset that cannot be used, with the file and line that says so."""

    def __init__(self, path: Path | str, line: int | None, message: str):
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


class _RuleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    severity: Severity | None = None
    industries: list[str] | None = None
    # Dates: YAML dates or quoted ISO strings alike (lax only here).
    effective_from: date | None = PydField(None, strict=False)
    effective_until: date | None = PydField(None, strict=False)
    enabled: bool = True
    params: dict[str, Any] = PydField(default_factory=dict)
    note: str | None = None


class _RulesetFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str
    version: str
    description: str | None = None
    extends: str | None = None
    packs: Literal["all", "none"] | None = None
    rules: dict[str, _RuleConfig | None] = PydField(default_factory=dict)


@dataclass(frozen=True)
class RuleEntry:
    """One selected rule, resolved against its spec (params already validated)."""

    spec: RuleSpec
    params: BaseModel
    severity: Severity
    industries: tuple[str, ...]
    effective_from: date | None = None
    effective_until: date | None = None
    enabled: bool = True

    def effective_on(self, day: date) -> bool:
        if self.effective_from and day < self.effective_from:
            return False
        if self.effective_until and day >= self.effective_until:
            return False
        return True


# -- YAML with line numbers -------------------------------------------------------

_constructor = yaml.constructor.SafeConstructor()


def _to_python(node: yaml.Node, path: tuple, marks: dict[tuple, int], file: Path) -> Any:
    marks[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _constructor.construct_object(key_node, deep=True)
            if isinstance(key, date):  # keys are names, never dates
                key = key_node.value
            if key in out:
                raise RulesetError(file, key_node.start_mark.line + 1, f"重复的键：{key}")
            marks[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _to_python(value_node, path + (key,), marks, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(n, path + (i,), marks, file) for i, n in enumerate(node.value)]
    return _constructor.construct_object(node, deep=True)


def _read_yaml(path: Path) -> tuple[Any, dict[tuple, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesetError(path, None, f"无法读取规则集文件：{exc}") from exc
    try:
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RulesetError(path, mark.line + 1 if mark else None, f"YAML 语法错误：{exc}") from exc
    marks: dict[tuple, int] = {}
    if node is None:
        raise RulesetError(path, 1, "规则集文件为空")
    return _to_python(node, (), marks, path), marks


def _line(marks: dict[tuple, int], path: tuple) -> int | None:
    while path:
        if path in marks:
            return marks[path]
        path = path[:-1]
    return marks.get(())


def _first_error(exc: ValidationError) -> tuple[tuple, str]:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    return loc, f"{'.'.join(str(p) for p in loc) or '(根)'}: {err['msg']}"


# -- the ruleset ------------------------------------------------------------------

class Ruleset:
    """A resolved ruleset: entries bound to rule specs of one registry."""

    def __init__(self, name: str, version: str, entries: dict[str, RuleEntry], registry: Registry,
                 source: Path | None = None):
        self.name = name
        self.version = version
        self.entries = entries
        self.registry = registry
        self.source = source
        self.packs: str = "none"
        self.pack_defaults: frozenset[str] = frozenset()  # pack rules selected by "packs: all", not listed

    def __repr__(self) -> str:
        return f"<Ruleset {self.name}@{self.version} ({len(self.entries)} rules)>"

    @property
    def rules_version(self) -> str:
        """Name, version and a digest of everything that decides outcomes (params, tables)."""
        h = hashlib.sha256()
        for rid in sorted(self.entries):
            e = self.entries[rid]
            h.update(json.dumps([rid, e.params.model_dump(mode="json"), e.severity, e.industries,
                                 str(e.effective_from), str(e.effective_until), e.enabled],
                                ensure_ascii=False, sort_keys=True).encode())
            for t in e.spec.tables:
                for p in (t.with_suffix(".csv"), t.with_suffix(".yaml")):
                    if p.exists():
                        h.update(p.read_bytes())
        return f"{self.name}@{self.version}+{h.hexdigest()[:10]}"

    @classmethod
    def all_rules(cls, registry: Registry | None = None, *, name: str = "all", version: str = "0") -> Ruleset:
        """Every rule of the registry with its declared defaults (for rule tests and tools)."""
        registry = registry if registry is not None else load_registry()
        entries = {s.id: RuleEntry(spec=s, params=s.params(), severity=s.severity, industries=s.industries)
                   for s in registry}
        return cls(name, version, entries, registry)

    @classmethod
    def load(cls, path: str | Path, registry: Registry | None = None) -> Ruleset:
        registry = registry if registry is not None else load_registry()
        return cls._load(Path(path).resolve(), registry, ())

    @classmethod
    def _load(cls, path: Path, registry: Registry, chain: tuple[Path, ...]) -> Ruleset:
        if path in chain:
            raise RulesetError(path, None, "extends 形成循环引用")
        data, marks = _read_yaml(path)
        if not isinstance(data, dict):
            raise RulesetError(path, 1, "规则集应为映射（name, version, rules …）")
        try:
            doc = _RulesetFile.model_validate(data)
        except ValidationError as exc:
            loc, msg = _first_error(exc)
            raise RulesetError(path, _line(marks, loc), f"规则集格式错误：{msg}") from None

        entries: dict[str, RuleEntry] = {}
        packs = doc.packs
        if doc.extends:
            parent_path = DEFAULT_RULESET if doc.extends == "default" else (path.parent / doc.extends).resolve()
            parent = cls._load(parent_path, registry, chain + (path,))
            entries.update({k: v for k, v in parent.entries.items() if k not in parent.pack_defaults})
            packs = packs or parent.packs

        for rid, maybe_cfg in doc.rules.items():
            cfg = maybe_cfg if maybe_cfg is not None else _RuleConfig()  # "id:" alone selects with defaults
            line = _line(marks, ("rules", rid))
            spec = registry.get(rid)
            if spec is None:
                hint = _closest(rid, registry.ids)
                raise RulesetError(path, line, f"未知的规则编号：{rid}" + (f"（是否为 {hint}？）" if hint else ""))
            base = entries.get(rid)
            # A child overrides only what it states; parameters merge key by key.
            params_in = dict(base.params.model_dump()) if base else {}
            params_in.update(cfg.params)
            for pname in cfg.params:
                if pname not in spec.params.model_fields:
                    raise RulesetError(path, _line(marks, ("rules", rid, "params", pname)),
                                       f"规则 {rid} 没有参数 {pname}（可用参数：{', '.join(spec.params.model_fields) or '无'}）")
            try:
                params = spec.params.model_validate(params_in, strict=True)
            except ValidationError as exc:
                loc, msg = _first_error(exc)
                raise RulesetError(path, _line(marks, ("rules", rid, "params") + loc),
                                   f"规则 {rid} 的参数类型错误：{msg}") from None
            industries = tuple(cfg.industries) if cfg.industries is not None else (base.industries if base else spec.industries)
            for i, ind in enumerate(industries):
                if ind not in INDUSTRIES:
                    raise RulesetError(path, _line(marks, ("rules", rid, "industries", i)), f"未知的行业：{ind}")
            eff_from = cfg.effective_from if "effective_from" in cfg.model_fields_set else (base.effective_from if base else None)
            eff_until = cfg.effective_until if "effective_until" in cfg.model_fields_set else (base.effective_until if base else None)
            if eff_from and eff_until and eff_until <= eff_from:
                raise RulesetError(path, _line(marks, ("rules", rid, "effective_until")), "effective_until 必须晚于 effective_from")
            entries[rid] = RuleEntry(
                spec=spec,
                params=params,
                severity=cfg.severity or (base.severity if base else spec.severity),
                industries=industries,
                effective_from=eff_from,
                effective_until=eff_until,
                enabled=cfg.enabled if "enabled" in cfg.model_fields_set or not base else base.enabled,
            )
        # "packs: all": rules of installed packs that this file does not list run with their own
        # defaults, so installing a pack is enough for the next review to run it.
        added: set[str] = set()
        if packs == "all":
            for spec in registry:
                if spec.id not in entries and registry.origins.get(spec.id, "").startswith("entry point"):
                    entries[spec.id] = RuleEntry(spec=spec, params=spec.params(), severity=spec.severity,
                                                 industries=spec.industries)
                    added.add(spec.id)
        rs = cls(doc.name, doc.version, entries, registry, path)
        rs.packs = packs or "none"
        rs.pack_defaults = frozenset(added)
        return rs


def _closest(name: str, candidates: list[str]) -> str | None:
    import difflib

    m = difflib.get_close_matches(name, candidates, n=1, cutoff=0.7)
    return m[0] if m else None


RULESET_ENV = "SHENCHA_RULESET"


def load_ruleset(path: str | Path | None = None, registry: Registry | None = None) -> Ruleset:
    """Load a ruleset file. Without ``path``: the file named by ``$SHENCHA_RULESET``, else the bundled default."""
    return Ruleset.load(path or os.environ.get(RULESET_ENV) or DEFAULT_RULESET, registry)
