"""What a rule sees: one application, its documents and every extracted field.

The view is read-only for rules and indexed once (by field type, by document,
by record) so a rule pack of twenty rules over a few thousand fields stays
well inside a second. It is built from extraction output
(``ApplicationView.from_documents``) or by hand in tests (``checks.testing``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, PrivateAttr
from pydantic import Field as PydField

from extractor.model import Coverage, Document, Field

Industry = Literal[
    "construction", "hazardous_chemicals", "non_coal_mine", "coal_mine", "fireworks", "civil_explosives"
]


class ApplicationInfo(BaseModel):
    """The applicant as declared (application.json) or inferred."""

    model_config = ConfigDict(extra="forbid")

    company_name: str | None = None
    uscc: str | None = None
    industry: Industry | None = None
    as_of: date = PydField(description="the date the package is judged on (application date)")
    application_type: Literal["new", "extension"] | None = None


class DocumentInfo(BaseModel):
    """A document as the rules need it: identity, type and whether it could be read."""

    model_config = ConfigDict(extra="forbid")

    id: str
    path: str = ""
    doc_type: str = "other"
    status: Literal["ok", "error"] = "ok"
    pages: int = 0
    error: str | None = None
    doc_type_confidence: float = PydField(1.0, ge=0, le=1, description="how sure extraction is of doc_type")
    covers: list[Coverage] = PydField(default_factory=list, description="checklist items it covers besides doc_type")

    def covering(self, doc_type: str, strong: bool = True) -> Coverage | None:
        """How the document covers `doc_type` besides its own type (title, heading, statement;
        with `strong=False` also a mention in passing)."""
        return next((c for c in self.covers if c.doc_type == doc_type and (c.how != "mention" or not strong)), None)


class Record:
    """Fields of one record (a roster row, one certificate) inside one document.

    Linked by ``attributes.record`` (docs/fields.md). Fields without a record
    are not grouped: a lone field is not a record.
    """

    __slots__ = ("document", "fields", "key")

    def __init__(self, document: str, key: Any, fields: list[Field]):
        self.document = document
        self.key = key
        self.fields = fields

    def all(self, type_: str, role: str | None = None) -> list[Field]:
        return [f for f in self.fields if f.type == type_ and (role is None or f.role == role)]

    def first(self, type_: str, role: str | None = None) -> Field | None:
        for f in self.fields:
            if f.type == type_ and (role is None or f.role == role):
                return f
        return None

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Record({self.document!r}, {self.key!r}, {len(self.fields)} fields)"


class UndeclaredFieldError(LookupError):
    """A rule read a field type it did not declare (only raised on a ``restricted`` view)."""


def value_of(field: Field) -> Any:
    """The normalised value when extraction gave one, else the value as read."""
    return field.normalized if field.normalized is not None else field.value


class ApplicationView(BaseModel):
    """Application info, documents and all fields; the single input of every rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    application: ApplicationInfo
    documents: list[DocumentInfo] = PydField(default_factory=list)
    fields: list[Field] = PydField(default_factory=list)

    _allowed: frozenset[str] | None = PrivateAttr(default=None)
    _by_type: dict[str, list[Field]] = PrivateAttr(default_factory=dict)
    _by_doc: dict[str, DocumentInfo] = PrivateAttr(default_factory=dict)
    _records: dict[tuple[str, Any], Record] = PrivateAttr(default_factory=dict)

    def model_post_init(self, __context: Any) -> None:
        by_type: dict[str, list[Field]] = defaultdict(list)
        grouped: dict[tuple[str, Any], list[Field]] = defaultdict(list)
        for f in self.fields:
            by_type[f.type].append(f)
            rec = f.attributes.get("record")
            if rec is not None:
                grouped[(f.document, rec)].append(f)
        self._by_type = dict(by_type)
        self._by_doc = {d.id: d for d in self.documents}
        self._records = {k: Record(k[0], k[1], v) for k, v in grouped.items()}

    # -- convenience accessors -------------------------------------------------
    @property
    def as_of(self) -> date:
        return self.application.as_of

    @property
    def industry(self) -> str | None:
        return self.application.industry

    def fields_of(self, *types: str, role: str | None = None) -> list[Field]:
        out: list[Field] = []
        for t in types:
            if self._allowed is not None and t not in self._allowed:
                raise UndeclaredFieldError(f"reads field type {t!r} not declared in requires={sorted(self._allowed)}")
            out.extend(self._by_type.get(t, ()))
        if role is not None:
            out = [f for f in out if f.role == role]
        return out

    def document(self, doc_id: str) -> DocumentInfo | None:
        return self._by_doc.get(doc_id)

    def doc_type_of(self, field: Field) -> str | None:
        d = self._by_doc.get(field.document)
        return d.doc_type if d else None

    def documents_of(self, *doc_types: str) -> list[DocumentInfo]:
        return [d for d in self.documents if d.doc_type in doc_types]

    def unreadable_documents(self) -> list[DocumentInfo]:
        return [d for d in self.documents if d.status == "error"]

    def fields_in(self, doc_id: str, *types: str) -> list[Field]:
        return [f for f in self.fields_of(*types) if f.document == doc_id]

    def records(self, *doc_types: str) -> list[Record]:
        recs = list(self._records.values())
        if doc_types:
            recs = [r for r in recs if (d := self._by_doc.get(r.document)) is not None and d.doc_type in doc_types]
        return recs

    def record_of(self, field: Field) -> Record | None:
        rec = field.attributes.get("record")
        if rec is None:
            return None
        return self._records.get((field.document, rec))

    def restricted(self, types: Iterable[str]) -> ApplicationView:
        """The same view, but ``fields_of``/``fields_in`` refuse field types outside ``types``.

        Rule examples run on it, so a rule that reads a type it did not declare in
        ``requires`` fails its own test (as spaCy checks a component's ``requires``).
        """
        v = self.model_copy()
        v._allowed = frozenset(types)
        return v

    # -- construction ------------------------------------------------------------
    @classmethod
    def from_documents(
        cls,
        application: ApplicationInfo,
        documents: Iterable[Document],
    ) -> ApplicationView:
        """Build the view from extraction output (``extractor.model.Document``)."""
        docs: list[DocumentInfo] = []
        fields: list[Field] = []
        for d in documents:
            docs.append(
                DocumentInfo(
                    id=d.id,
                    path=d.path,
                    doc_type=d.doc_type,
                    status=d.status,
                    pages=len(d.pages),
                    error=d.error.message if d.error else None,
                    doc_type_confidence=max(0.0, min(1.0, d.doc_type_confidence)),
                    covers=d.covers,
                )
            )
            fields.extend(d.fields)
        return cls(application=application, documents=docs, fields=fields)
