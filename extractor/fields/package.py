"""Linking across the documents of one application."""

from __future__ import annotations

from ..model import Document, Field
from .run import extract_fields


def _applicant(docs: list[Document]) -> tuple[str | None, str | None]:
    """The applicant's name and USCC: the business licence says it best,
    then the application form."""
    for kind in ("business_licence", "application_form"):
        for d in docs:
            if d.doc_type != kind:
                continue
            name = next((f.normalized for f in d.fields if f.type == "company_name" and f.role == "applicant"), None)
            uscc = next((f.normalized for f in d.fields if f.type == "uscc"), None)
            if name or uscc:
                return name, uscc
    return None, None


def extract_package(docs: list[Document], *, use_ner: bool = True) -> list[Document]:
    """Extract every document, then mark the applicant's name and USCC wherever they appear."""
    done = [extract_fields(d, use_ner=use_ner) if not d.fields else d for d in docs]
    name, uscc = _applicant(done)
    out = []
    for d in done:
        fields: list[Field] = []
        for f in d.fields:
            if f.type == "company_name" and name and f.normalized == name and f.role != "applicant":
                f = f.model_copy(update={"role": "applicant"})
            elif f.type == "company_name" and name and f.role == "applicant" and f.normalized != name \
                    and d.doc_type not in ("business_licence", "application_form"):
                f = f.model_copy(update={"role": "other"})
            if f.type == "uscc" and uscc and f.normalized == uscc and f.role != "applicant":
                f = f.model_copy(update={"role": "applicant"})
            fields.append(f)
        out.append(d.model_copy(update={"fields": fields}))
    return out
