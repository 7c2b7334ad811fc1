"""Running the pipeline over one Document."""

from __future__ import annotations

import logging

from ..errors import ErrorCode, describe
from ..model import Document
from . import doctype
from .pipeline import get_nlp
from .steps import Context

# spaCy tokenises every character, and the steps read the layout view, not
# the tokens: the Doc carries the document's opening text (enough to see
# what it is when inspecting a run) and the extraction context.
_MAX_DOC_CHARS = 500

log = logging.getLogger(__name__)


def _run(doc: Document, *, use_ner: bool = True) -> Context:
    nlp = get_nlp()
    sdoc = nlp.make_doc(doc.text[:_MAX_DOC_CHARS])
    sdoc._.document = doc
    sdoc._.use_ner = use_ner
    sdoc = nlp(sdoc)
    ctx: Context = sdoc._.shencha
    ctx.fields = sdoc._.fields
    return ctx


def extract_fields(doc: Document, *, use_ner: bool = True) -> Document:
    """Return ``doc`` with ``doc_type``, ``doc_type_confidence`` and ``fields`` set.

    A document that could not be read (``status: error``) is returned as it is.
    """
    if doc.status == "error" or not doc.pages:
        return doc.model_copy(update={"fields": [], "doc_type": doc.doc_type or "other"})
    try:
        ctx = _run(doc, use_ner=use_ner)
    except Exception as exc:  # noqa: BLE001 - contained: the rest of the package is still reviewed
        # A step's own failure is caught inside the pipeline (W204); this is
        # the frame around them (the normalised view, the assembly). The
        # pages stay, so the document can still be read by a person.
        log.warning("field extraction failed for a document: %s", type(exc).__name__)
        return doc.model_copy(update={
            "fields": [], "doc_type": doc.doc_type or "other", "status": "error",
            "error": describe(ErrorCode.EXTRACTION_FAILED, type(exc).__name__),
        })
    warnings = list(doc.warnings)
    if ctx.failed_steps:
        steps_zh = "、".join(f"{name}（{exc}）" for name, exc in ctx.failed_steps)
        steps_en = ", ".join(f"{name} ({exc})" for name, exc in ctx.failed_steps)
        warnings.append(describe(ErrorCode.STEP_FAILED, steps_zh, steps_en))
    reading = ctx.view.reading()
    covers = doctype.coverage(doc.path, [(ln.page, ln.text) for ln in reading if ln.text], ctx.doc_type)
    return doc.model_copy(
        update={"doc_type": ctx.doc_type, "doc_type_confidence": ctx.doc_type_confidence, "covers": covers,
                "fields": ctx.fields, "warnings": warnings}  # type: ignore[attr-defined]
    )


def find_pairs_and_tables(doc: Document) -> dict[str, list[dict[str, object]]]:
    """The key–value pairs and table rows the extraction read (for golden files and debugging)."""
    ctx = _run(doc, use_ner=False)
    return {
        "pairs": [p.as_json() for p in ctx.pairs],
        "tables": [g.as_json() for g in ctx.grids],
    }
