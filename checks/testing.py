"""Build an ``ApplicationView`` from a few hand-written fields: no files, no OCR.

    from checks.testing import build, f

    view = build(
        industry="construction",
        docs={"plan": "scaffold_plan"},
        fields=[f("scaffold_height", 30.0, doc="plan", scaffold_type="落地式")],
    )

``f`` makes a field (keyword arguments other than the named ones become
``attributes``); ``build`` adds a document for every document id the fields
use, typed by ``docs`` (``other`` when not given), and gives every field a
distinct, stable bounding box so evidence and finding ids are realistic.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from checks.engine import Example, Outcome
from checks.view import ApplicationInfo, ApplicationView, DocumentInfo
from extractor.model import Field, Source

DEFAULT_AS_OF = date(2026, 11, 20)


def f(type_: str, value: Any, *, doc: str = "d1", page: int = 1, role: str | None = None,
      record: Any = None, confidence: float = 0.99, normalized: Any = None, **attributes: Any) -> Field:
    """One field. ``record`` links fields of one roster row or certificate."""
    attrs = dict(attributes)
    if record is not None:
        attrs["record"] = record
    return Field(type=type_, value=value, normalized=normalized, role=role, document=doc, page=page,
                 bbox=None, confidence=confidence, source=Source.TEXT, attributes=attrs)


def build(fields: Iterable[Field] = (), *, docs: dict[str, str] | None = None, industry: str | None = "construction",
          as_of: date = DEFAULT_AS_OF, company_name: str | None = "某某建设集团有限公司",
          uscc: str | None = "91110000600037341L", application_type: str | None = "new",
          errors: Iterable[str] = (), low_confidence_docs: Iterable[str] = ()) -> ApplicationView:
    """The view. ``docs`` maps document id → doc_type (a document may have no fields);
    ``errors`` lists document ids that could not be read (status ``error``);
    ``low_confidence_docs`` lists readable documents extraction could not classify
    (doc_type ``other``, confidence 0.2)."""
    docs = dict(docs or {})
    err = set(errors)
    low = set(low_confidence_docs)
    for d in low:
        docs.setdefault(d, "other")
    placed: list[Field] = []
    line_on_page: dict[tuple[str, int], int] = {}
    for fld in fields:
        docs.setdefault(fld.document, "other")
        if fld.bbox is None:
            k = (fld.document, fld.page or 1)
            n = line_on_page.get(k, 0)
            line_on_page[k] = n + 1
            fld = fld.model_copy(update={"bbox": (72.0, 72.0 + 18 * n, 400.0, 86.0 + 18 * n)})
        placed.append(fld)
    for d in err:
        docs.setdefault(d, "other")
    documents = [
        DocumentInfo(id=d, path=f"{d}.pdf", doc_type=t, status="error" if d in err else "ok",
                     pages=0 if d in err else 1, error="无法读取" if d in err else None,
                     doc_type_confidence=0.2 if d in low else 1.0)
        for d, t in docs.items()
    ]
    info = ApplicationInfo(company_name=company_name, uscc=uscc, industry=industry, as_of=as_of,
                           application_type=application_type)
    return ApplicationView(application=info, documents=documents, fields=placed)


def example(outcome: Outcome, description: str, fields: Iterable[Field] = (), *, params: dict[str, Any] | None = None,
            lookup: Any = None, lookup_factory: Any = None, **build_kw: Any) -> Example:
    """An ``Example`` whose view is ``build(fields, **build_kw)``."""
    return Example(outcome=outcome, description=description, view=build(fields, **build_kw),
                   params=dict(params or {}), lookup=lookup, lookup_factory=lookup_factory)


class ExampleResult:
    __slots__ = ("detail", "example", "got", "ok", "rule_id")

    def __init__(self, rule_id: str, example: Example, ok: bool, got: str, detail: str):
        self.rule_id, self.example, self.ok, self.got, self.detail = rule_id, example, ok, got, detail


def outcome_of(findings: list, error: Any) -> str:
    if error is not None:
        return "error"
    if any(x.verdict == "fail" for x in findings):
        return "fail"
    if findings:
        return "uncertain"
    return "pass"


def run_examples(spec: Any) -> list[ExampleResult]:
    """Run each example of a rule on the rule's defaults plus the example's params."""
    from checks.ruleset import RuleEntry
    from checks.runner import run_entry

    results: list[ExampleResult] = []
    for ex in spec.examples:
        try:
            params = spec.params.model_validate({**spec.params().model_dump(), **ex.params})
        except Exception as exc:  # a broken example is a failed example, not a crash
            results.append(ExampleResult(spec.id, ex, False, "error", f"示例参数无效：{exc}"))
            continue
        entry = RuleEntry(spec=spec, params=params, severity=spec.severity, industries=spec.industries)
        try:
            lookup = ex.make_lookup()
        except Exception as exc:
            results.append(ExampleResult(spec.id, ex, False, "error", f"示例的登记库无法构建：{type(exc).__name__}: {exc}"))
            continue
        findings, err = run_entry(entry, ex.view.restricted(spec.requires), lookup)
        got = outcome_of(findings, err)
        detail = err.message if err else "; ".join(f"[{x.verdict}] {x.message}" for x in findings)
        results.append(ExampleResult(spec.id, ex, got == ex.outcome, got, detail))
    return results
