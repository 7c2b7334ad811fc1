"""The runner: every applicable rule, every finding, every rule error.

Nothing stops at the first problem: a rule that raises, or returns something
that is not a finding of its declared categories, becomes a ``RuleError`` and
the other rules still run.
"""

from __future__ import annotations

import traceback
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField

from checks.engine import RuleContext, RuleDefinitionError
from checks.model import Finding
from checks.ruleset import RuleEntry, Ruleset, load_ruleset
from checks.view import ApplicationView

_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
_VERDICT_ORDER = {"fail": 0, "uncertain": 1}


class RuleError(BaseModel):
    """A rule that could not run to the end; its findings (if any) are discarded."""

    model_config = ConfigDict(extra="forbid")

    rule_id: str
    code: Literal["rule_raised", "bad_output", "pack_load_failed"]
    message: str = PydField(description="Chinese message for users")
    detail: str = PydField("", description="exception type, text and the last frames, for developers")


class SkippedRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule_id: str
    reason: Literal["disabled", "not_effective", "industry"]


class RunResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    findings: list[Finding] = PydField(default_factory=list)
    errors: list[RuleError] = PydField(default_factory=list)
    rules_version: str
    rules_run: list[str] = PydField(default_factory=list)
    skipped: list[SkippedRule] = PydField(default_factory=list)

    def by_rule(self, rule_id: str) -> list[Finding]:
        return [f for f in self.findings if f.rule_id == rule_id]


def _skip_reason(entry: RuleEntry, view: ApplicationView) -> str | None:
    if not entry.enabled:
        return "disabled"
    if not entry.effective_on(view.as_of):
        return "not_effective"
    # An unknown industry runs every rule: better a flag too many than a silent skip.
    if view.industry is not None and view.industry not in entry.industries:
        return "industry"
    return None


def run_entry(entry: RuleEntry, view: ApplicationView, lookup: Any = None) -> tuple[list[Finding], RuleError | None]:
    """Run one rule; return its findings or the error it ended with."""
    spec = entry.spec
    ctx = RuleContext(spec, entry.params, entry.severity, view.as_of, lookup)
    try:
        out = spec.func(view, ctx)
        produced = list(out) if out is not None else []
    except RuleDefinitionError as exc:
        return [], RuleError(rule_id=spec.id, code="bad_output", message=f"规则 {spec.id} 输出不符合其声明：{exc}",
                             detail=traceback.format_exc(limit=-3))
    except Exception as exc:  # noqa: BLE001 - a broken rule must not stop the others
        return [], RuleError(rule_id=spec.id, code="rule_raised",
                             message=f"规则 {spec.id} 运行出错，未能完成检查：{type(exc).__name__}: {exc}",
                             detail=traceback.format_exc(limit=-3))
    for f in produced:
        if not isinstance(f, Finding):
            return [], RuleError(rule_id=spec.id, code="bad_output",
                                 message=f"规则 {spec.id} 返回了非 Finding 对象：{type(f).__name__}")
        if f.category not in spec.categories or f.rule_id != spec.id:
            return [], RuleError(rule_id=spec.id, code="bad_output",
                                 message=f"规则 {spec.id} 返回了未声明的类别 {f.category} 或他人的规则编号 {f.rule_id}")
    return produced, None


def run(view: ApplicationView, ruleset: Ruleset | None = None, lookup: Any = None) -> RunResult:
    """Run the ruleset over one application.

    Without ``ruleset``: the file named by ``$SHENCHA_RULESET``, else the bundled
    default (which also runs the rules of installed packs, ``packs: all``).

    ``lookup`` is the registry lookup (``registry_sync.lookup.RegistryLookup``
    or anything with the same methods); without it the ``registry.*`` rules
    say the registry could not be consulted.
    """
    ruleset = ruleset if ruleset is not None else load_ruleset()
    findings: list[Finding] = []
    errors: list[RuleError] = [
        RuleError(rule_id=f"pack:{e.pack}", code="pack_load_failed", message=f"规则包加载失败：{e.message}")
        for e in ruleset.registry.load_errors
    ]
    ran: list[str] = []
    skipped: list[SkippedRule] = []
    for rid in sorted(ruleset.entries):
        entry = ruleset.entries[rid]
        reason = _skip_reason(entry, view)
        if reason:
            skipped.append(SkippedRule(rule_id=rid, reason=reason))  # type: ignore[arg-type]
            continue
        ran.append(rid)
        produced, err = run_entry(entry, view, lookup)
        if err:
            errors.append(err)
        findings.extend(produced)
    # Same rule + same evidence gives the same id: report it once.
    unique: dict[str, Finding] = {}
    for f in findings:
        unique.setdefault(f.id, f)
    ordered = sorted(unique.values(), key=lambda f: (_VERDICT_ORDER[f.verdict], _SEVERITY_ORDER[f.severity], f.rule_id, f.id))
    return RunResult(findings=ordered, errors=errors, rules_version=ruleset.rules_version, rules_run=ran, skipped=skipped)
