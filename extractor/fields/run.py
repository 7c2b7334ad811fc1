"""Running the pipeline over one Document."""

from __future__ import annotations

from ..model import Document
from .pipeline import get_nlp
from .steps import Context
from .view import build_view

# spaCy tokenises every character; the text it sees only carries the
# pipeline's bookkeeping, so long documents are cut to keep that cheap.
_MAX_DOC_CHARS = 20000


def _run(doc: Document, *, use_ner: bool = True) -> Context:
    nlp = get_nlp()
    view = build_view(doc)
    ctx = Context(view=view, use_ner=use_ner)
    sdoc = nlp.make_doc(doc.text[:_MAX_DOC_CHARS])
    sdoc._.shencha = ctx
    sdoc = nlp(sdoc)
    ctx.fields = sdoc._.fields  # type: ignore[attr-defined]
    return ctx


def extract_fields(doc: Document, *, use_ner: bool = True) -> Document:
    """Return ``doc`` with ``doc_type``, ``doc_type_confidence`` and ``fields`` set.

    A document that could not be read (``status: error``) is returned as it is.
    """
    if doc.status == "error" or not doc.pages:
        return doc.model_copy(update={"fields": [], "doc_type": doc.doc_type or "other"})
    ctx = _run(doc, use_ner=use_ner)
    return doc.model_copy(
        update={"doc_type": ctx.doc_type, "doc_type_confidence": ctx.doc_type_confidence,
                "fields": ctx.fields}  # type: ignore[attr-defined]
    )


def find_pairs_and_tables(doc: Document) -> dict[str, list[dict[str, object]]]:
    """The key–value pairs and table rows the extraction read (for golden files and debugging)."""
    ctx = _run(doc, use_ner=False)
    return {
        "pairs": [p.as_json() for p in ctx.pairs],
        "tables": [g.as_json() for g in ctx.grids],
    }
