"""The rule API: the ``@rule`` decorator, rule metadata, the context a rule runs in.

Built-in rules and outside rule packs use exactly this module. The decorator
only attaches metadata and returns a ``RuleSpec``; it registers nothing. A
``Registry`` (``checks.catalogue``) is built from an explicit list of specs
plus the ``shencha.rules`` entry points, so importing a rule module never
changes global state and tests need no tear-down.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField

from checks.doubt import EXEMPT_CATEGORIES, doubts, reason_for
from checks.model import Finding, Severity, Verdict
from extractor.model import Evidence, Field
from registry_sync.normalize import mask_ids_in_text

if TYPE_CHECKING:  # pragma: no cover
    from checks.view import ApplicationView

Confidence = Literal["H", "M", "L"]
Outcome = Literal["fail", "pass", "uncertain"]

RULE_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\.v(\d+)$")

# contract.md categories; rule authors may add more, namespaced like these.
CONTRACT_CATEGORIES = (
    "identifier.invalid",
    "registry.not_found",
    "registry.name_mismatch",
    "registry.expired",
    "registry.revoked",
    "registry.category_mismatch",
    "registry.employer_mismatch",
    "consistency.conflict",
    "standard.fire_separation",
    "standard.evacuation_width",
    "plan.missing_measure",
    "completeness.missing_document",
    "completeness.missing_field",
)
CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")

INDUSTRIES = ("construction", "hazardous_chemicals", "non_coal_mine", "coal_mine", "fireworks", "civil_explosives")


class RuleDefinitionError(ValueError):
    """A rule declared with missing or malformed metadata (raised at decoration time)."""


class Citation(BaseModel):
    """Where the requirement comes from: standard or regulation, edition, clause or table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    standard: str = PydField(description="e.g. GB 50016, 《安全生产许可证条例》")
    edition: str = PydField(description="e.g. 2014(2018年版), 国务院令第397号(2014年修订)")
    clause: str = PydField(description="e.g. 表5.2.2, 第六条")

    @property
    def text(self) -> str:
        if self.edition[:1].isdigit():
            return f"{self.standard}-{self.edition} {self.clause}".strip()
        return f"{self.standard}（{self.edition}）{self.clause}".strip()

    def __str__(self) -> str:
        return self.text


class Fact(BaseModel):
    """One fact a rule relies on, traceable to domain_sources.md (or a better source)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    statement: str
    source: str = PydField(description="e.g. 'domain_sources.md §4.1' plus the primary source")
    confidence: Confidence


class NoParams(BaseModel):
    """Parameters of a rule that takes none."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Example:
    """A hand-built case a rule must decide a given way; ``shencha rules test`` runs them.

    ``view`` is built with ``checks.testing`` (no OCR). ``params`` override the
    rule's defaults for this case; ``lookup`` (or ``lookup_factory``, called
    lazily) stands in for the registry.
    """

    outcome: Outcome
    description: str
    view: ApplicationView
    params: dict[str, Any] = dc_field(default_factory=dict)
    lookup: Any = None
    lookup_factory: Callable[[], Any] | None = None  # built only when the example runs (e.g. a registry store)

    def make_lookup(self) -> Any:
        return self.lookup_factory() if self.lookup_factory is not None else self.lookup


RuleFunc = Callable[["ApplicationView", "RuleContext"], Iterable[Finding] | None]


@dataclass(frozen=True, eq=False)
class RuleSpec:
    """A rule: its function and everything the catalogue, the ruleset and the docs need."""

    id: str
    func: RuleFunc
    categories: tuple[str, ...]
    requires: tuple[str, ...]
    citation: Citation
    severity: Severity
    industries: tuple[str, ...]
    params: type[BaseModel]
    facts: tuple[Fact, ...]
    examples: tuple[Example, ...]
    tables: tuple[Path, ...]
    title: str
    doc: str

    @property
    def version(self) -> int:
        m = RULE_ID_RE.match(self.id)
        assert m  # checked by the decorator
        return int(m.group(2))

    @property
    def category(self) -> str:
        return self.categories[0]

    @property
    def confidence(self) -> Confidence:
        """The weakest confidence among the facts the rule relies on."""
        order = {"H": 2, "M": 1, "L": 0}
        return min((f.confidence for f in self.facts), key=order.__getitem__, default="H")

    def __call__(self, view: ApplicationView, ctx: RuleContext) -> Iterable[Finding] | None:
        return self.func(view, ctx)

    def __repr__(self) -> str:
        return f"<rule {self.id}>"


def rule(
    id: str,
    *,
    category: str | Sequence[str],
    requires: Sequence[str],
    citation: Citation,
    severity: Severity,
    facts: Sequence[Fact],
    industries: Sequence[str] | None = None,
    params: type[BaseModel] = NoParams,
    examples: Sequence[Example] = (),
    tables: Sequence[str | Path] = (),
    title: str | None = None,
) -> Callable[[RuleFunc], RuleSpec]:
    """Declare a rule. Returns a ``RuleSpec``; nothing is registered anywhere.

    ``tables`` are paths (absolute, or relative to the rule's module) of the
    data files behind a table-driven rule, shown by ``shencha rules show``.
    """

    if not RULE_ID_RE.match(id):
        raise RuleDefinitionError(f"rule id {id!r} must be namespaced and versioned, e.g. 'gb50016.civil_separation.v1'")
    cats = (category,) if isinstance(category, str) else tuple(category)
    if not cats:
        raise RuleDefinitionError(f"{id}: at least one category is required")
    for c in cats:
        if not CATEGORY_RE.match(c):
            raise RuleDefinitionError(f"{id}: category {c!r} must look like 'family.name'")
    if not isinstance(citation, Citation):
        raise RuleDefinitionError(f"{id}: citation must be a checks.Citation")
    if not facts:
        raise RuleDefinitionError(f"{id}: declare the facts the rule relies on, with source and confidence")
    inds = tuple(industries) if industries is not None else INDUSTRIES
    for i in inds:
        if i not in INDUSTRIES:
            raise RuleDefinitionError(f"{id}: unknown industry {i!r}")
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise RuleDefinitionError(f"{id}: params must be a pydantic model class")
    try:
        params()
    except Exception as exc:  # every parameter needs a default so a ruleset may omit it
        raise RuleDefinitionError(f"{id}: every parameter needs a default ({exc})") from exc

    def decorate(func: RuleFunc) -> RuleSpec:
        doc = inspect.cleandoc(func.__doc__ or "")
        base = Path(func.__code__.co_filename).resolve().parent
        table_paths = tuple((Path(t) if Path(t).is_absolute() else base / t) for t in tables)
        return RuleSpec(
            id=id,
            func=func,
            categories=cats,
            requires=tuple(requires),
            citation=citation,
            severity=severity,
            industries=inds,
            params=params,
            facts=tuple(facts),
            examples=tuple(examples),
            tables=table_paths,
            title=title or (doc.splitlines()[0] if doc else id),
            doc=doc,
        )

    return decorate


# -- findings ---------------------------------------------------------------------

def _evidence(items: Iterable[Field | Evidence]) -> list[Evidence]:
    out: list[Evidence] = []
    for it in items:
        if isinstance(it, Evidence):
            out.append(it)
        else:
            text = it.attributes.get("text") if isinstance(it.attributes.get("text"), str) else None
            out.append(Evidence(document=it.document, page=it.page, bbox=it.bbox, text=text or str(it.value)))
    return out


def finding_id(rule_id: str, category: str, key: str, evidence: Sequence[Evidence]) -> str:
    """Deterministic: the same rule on the same evidence gives the same id across runs."""
    ev = sorted((e.document, e.page or 0, list(e.bbox) if e.bbox else [], e.text) for e in evidence)
    blob = json.dumps([rule_id, category, key, ev], ensure_ascii=False, sort_keys=True)
    return "F-" + hashlib.sha1(blob.encode("utf-8")).hexdigest()[:16]


class RuleContext:
    """What a running rule gets besides the view: its parameters, severity, the lookup.

    ``fail`` and ``uncertain`` build findings that carry the rule's id,
    citation and severity, with a deterministic id.
    """

    def __init__(
        self,
        spec: RuleSpec,
        params: BaseModel,
        severity: Severity,
        as_of: date,
        lookup: Any = None,
    ):
        self.spec = spec
        self.params = params
        self.severity = severity
        self.as_of = as_of
        self.lookup = lookup

    @property
    def citation(self) -> str:
        return self.spec.citation.text

    def _finding(
        self,
        verdict: Verdict,
        message: str,
        *,
        suggestion: str,
        expected: Any = None,
        actual: Any = None,
        evidence: Iterable[Field | Evidence] = (),
        key: str = "",
        category: str | None = None,
        severity: Severity | None = None,
        reason: str | None = None,
        citation: str | None = None,
    ) -> Finding:
        cat = category or self.spec.category
        if cat not in self.spec.categories:
            raise RuleDefinitionError(f"{self.spec.id}: category {cat!r} not declared by the rule")
        evidence = list(evidence)
        if verdict == "fail" and cat not in EXEMPT_CATEGORIES:
            # Fail means sure: a fail resting on a value that fails its own
            # checks (a glued name, a date read as a certificate number) is
            # the officer's question, not the applicant's correction.
            found = doubts(evidence)
            if found:
                verdict, reason = "uncertain", reason_for(found)
        ev = _evidence(evidence)
        return Finding(
            id=finding_id(self.spec.id, cat, key or message, ev),
            rule_id=self.spec.id,
            category=cat,
            severity=severity or self.severity,
            verdict=verdict,
            # The summaries travel furthest (lists, notices, logs): resident
            # IDs in them are masked. ``actual`` and the evidence keep the
            # words on the page; screens mask those by role.
            message=mask_ids_in_text(message),
            citation=citation or self.citation,
            expected=None if expected is None else str(expected),
            actual=None if actual is None else str(actual),
            suggestion=mask_ids_in_text(suggestion),
            evidence=ev,
            reason=None if reason is None else mask_ids_in_text(reason),
        )

    def fail(self, message: str, *, suggestion: str, **kw: Any) -> Finding:
        """The package breaks the requirement; ``suggestion`` is the correction to ask for."""
        return self._finding("fail", message, suggestion=suggestion, **kw)

    def uncertain(self, message: str, *, reason: str, suggestion: str = "", **kw: Any) -> Finding:
        """Cannot decide from the package; ``reason`` says why, a person decides."""
        return self._finding("uncertain", message, suggestion=suggestion, reason=reason, **kw)
