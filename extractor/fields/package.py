"""Linking across the documents of one application."""

from __future__ import annotations

from ..model import Document, Field
from .run import extract_fields


def _variant_of(name: str, applicant: str) -> bool:
    """The applicant's name written differently (one or two characters), not another company."""
    from rapidfuzz.distance import Levenshtein

    if abs(len(name) - len(applicant)) > 2:
        return False
    return 0 < Levenshtein.distance(name, applicant) <= 2 and name[:2] == applicant[:2]


def _applicant(docs: list[Document]) -> tuple[str | None, str | None]:
    """The applicant's name and USCC: the business licence says it best,
    then the application form (each found on its own: a seal may hide one)."""
    name = uscc = None
    for kind in ("business_licence", "application_form"):
        for d in docs:
            if d.doc_type != kind:
                continue
            name = name or next((f.normalized for f in d.fields
                                 if f.type == "company_name" and f.role == "applicant"), None)
            uscc = uscc or next((f.normalized for f in d.fields if f.type == "uscc"), None)
    return name, uscc


# When one person holds several roles, the one a review cares most about.
_ROLE_ORDER = ["principal", "legal_representative", "safety_manager", "project_manager", "special_operator"]


def _identities(docs: list[Document]) -> tuple[dict[str, str], dict[str, set[str]]]:
    """Each person's role in the company, from where a document says it:
    labels and responsibilities first, titles after."""
    strong: dict[str, set[str]] = {}
    weak: dict[str, set[str]] = {}
    for d in docs:
        for f in d.fields:
            if f.type != "person_name" or f.role in (None, "other"):
                continue
            src = f.attributes.get("role_source")
            bucket = strong if src == "label" else weak if src == "title" else None
            if bucket is not None:
                bucket.setdefault(str(f.normalized), set()).add(f.role)
    out: dict[str, str] = {}
    for name in set(strong) | set(weak):
        roles = strong.get(name) or weak.get(name) or set()
        for r in _ROLE_ORDER:
            if r in roles:
                out[name] = r
                break
    return out, strong


def extract_package(docs: list[Document], *, use_ner: bool = True) -> list[Document]:
    """Extract every document, then link across them: the applicant's name
    and USCC wherever they appear, and the role of a person named without
    one (a signature, a sign-in sheet) from what the other documents say."""
    done = [extract_fields(d, use_ner=use_ner) if not d.fields else d for d in docs]
    name, uscc = _applicant(done)
    identity, stated = _identities(done)
    out = []
    for d in done:
        fields: list[Field] = []
        for f in d.fields:
            if f.type == "company_name" and name and f.normalized == name and f.role != "applicant":
                f = f.model_copy(update={"role": "applicant"})
            elif f.type == "company_name" and name and f.role == "applicant" and f.normalized != name \
                    and d.doc_type not in ("business_licence", "application_form") \
                    and not _variant_of(str(f.normalized), str(name)):
                # Another company named where the applicant usually is (an inspection
                # body, a client); a near-identical name is the applicant's own name
                # written differently, which the consistency check must see.
                f = f.model_copy(update={"role": "other"})
            if f.type == "person_name" and f.attributes.get("role_source") == "title" and f.role == "principal" \
                    and stated.get(str(f.normalized)) == {"legal_representative"}:
                # A chairman (董事长) is the legal representative; the principal
                # is whoever the documents make responsible, if anyone else.
                f = f.model_copy(update={"role": "legal_representative",
                                         "attributes": f.attributes | {"role_source": "package"}})
            if f.type == "person_name" and f.attributes.get("role_source") == "default" \
                    and str(f.normalized) in identity:
                f = f.model_copy(update={"role": identity[str(f.normalized)],
                                         "attributes": f.attributes | {"role_source": "package"}})
            if f.type == "uscc" and uscc and f.normalized == uscc and f.role != "applicant":
                f = f.model_copy(update={"role": "applicant"})
            fields.append(f)
        out.append(d.model_copy(update={"fields": fields}))
    return out
