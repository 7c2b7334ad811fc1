"""The rule catalogue: a ``Registry`` object built by a loader, never a global.

Built-in rules come from one explicit list (``checks.builtin.BUILTIN_RULES``);
outside rule packs from the ``shencha.rules`` entry-point group. An entry
point names a ``RuleSpec``, a list of them, or a function returning a list.
A pack that fails to load is recorded in ``load_errors`` and the others load.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib.metadata import EntryPoint, entry_points

from pydantic import BaseModel, ConfigDict

from checks.engine import RuleSpec

ENTRY_POINT_GROUP = "shencha.rules"


class PackLoadError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pack: str
    message: str


class DuplicateRuleError(ValueError):
    pass


class Registry:
    """An immutable mapping of rule id to ``RuleSpec``."""

    def __init__(self, rules: Iterable[RuleSpec], load_errors: Iterable[PackLoadError] = (), origins: dict[str, str] | None = None):
        by_id: dict[str, RuleSpec] = {}
        for spec in rules:
            if not isinstance(spec, RuleSpec):
                raise TypeError(f"not a rule: {spec!r} (decorate it with @checks.rule)")
            if spec.id in by_id and by_id[spec.id] is not spec:
                raise DuplicateRuleError(f"rule id {spec.id} is defined twice")
            by_id[spec.id] = spec
        self._rules = by_id
        self.load_errors: tuple[PackLoadError, ...] = tuple(load_errors)
        self.origins: dict[str, str] = dict(origins or {})

    def __getitem__(self, rule_id: str) -> RuleSpec:
        return self._rules[rule_id]

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def __iter__(self) -> Iterator[RuleSpec]:
        return iter(sorted(self._rules.values(), key=lambda s: s.id))

    def __len__(self) -> int:
        return len(self._rules)

    def get(self, rule_id: str) -> RuleSpec | None:
        return self._rules.get(rule_id)

    @property
    def ids(self) -> list[str]:
        return sorted(self._rules)


def _specs_from(obj: object) -> list[RuleSpec]:
    if isinstance(obj, RuleSpec):
        return [obj]
    if callable(obj) and not isinstance(obj, (list, tuple)):
        obj = obj()
    specs = list(obj)  # type: ignore[call-overload]
    for s in specs:
        if not isinstance(s, RuleSpec):
            raise TypeError(f"{s!r} is not a rule (decorate it with @checks.rule)")
    return specs


def load_registry(*, builtins: bool = True, entry_points_group: str | None = ENTRY_POINT_GROUP,
                  extra: Iterable[RuleSpec] = ()) -> Registry:
    """Build a registry from the built-in list, the installed packs and ``extra`` rules."""
    rules: list[RuleSpec] = []
    origins: dict[str, str] = {}
    errors: list[PackLoadError] = []
    if builtins:
        from checks.builtin import BUILTIN_RULES

        for s in BUILTIN_RULES:
            rules.append(s)
            origins[s.id] = "builtin"
    if entry_points_group:
        eps: Iterable[EntryPoint] = entry_points(group=entry_points_group)
        seen = {s.id for s in rules}
        for ep in sorted(eps, key=lambda e: e.name):
            try:
                specs = _specs_from(ep.load())
            except Exception as exc:  # one broken pack must not stop the others
                errors.append(PackLoadError(pack=f"{ep.name} = {ep.value}", message=f"{type(exc).__name__}: {exc}"))
                continue
            for s in specs:
                if s.id in seen:
                    errors.append(PackLoadError(pack=f"{ep.name} = {ep.value}", message=f"规则编号重复：{s.id}，已忽略该包中的定义"))
                    continue
                seen.add(s.id)
                rules.append(s)
                origins[s.id] = f"entry point {ep.name} ({ep.value})"
    for s in extra:
        rules.append(s)
        origins[s.id] = "extra"
    return Registry(rules, errors, origins)
