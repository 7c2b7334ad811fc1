"""From mentions to Fields: merge what several steps found at the same place,
attach evidence (page, bbox, source) and a confidence.

Several steps see the same thing (the identifier scan and the roster step
both read an ID in a table cell); they are merged, the structured reading
(key–value, table) deciding value and role, every step adding attributes.
Confidence is the finder's certainty times the OCR confidence of the
characters read, so a clean parse of a blurred scan is still uncertain.
"""

from __future__ import annotations

from ..model import Field, Source
from .view import DocView, Mention

# Field types whose checks compare values character by character (names):
# their OCR readings keep each character's confidence as evidence.
CHAR_CONFIDENCE_TYPES = frozenset({"person_name", "company_name"})

_PRIORITY = {"tables": 3, "keyvalue": 3, "design": 2, "plans": 2, "prose:ner+title": 1, "prose:title": 1,
             "prose:ner": 1, "dates": 1, "identifiers": 0}


def _overlaps(a: Mention, b: Mention) -> bool:
    for x in a.spans:
        for y in b.spans:
            if x.line == y.line and not (x.end <= y.start or y.end <= x.start):
                return True
    return False


def _merge(group: list[Mention]) -> Mention:
    group = sorted(group, key=lambda m: _PRIORITY.get(m.step, 1))
    primary = group[-1]
    attrs: dict[str, object] = {}
    for m in group:
        for k, v in m.attributes.items():
            if v is not None:
                attrs[k] = v
    attrs.update({k: v for k, v in primary.attributes.items() if v is not None})
    role = primary.role
    if role in (None, "other"):
        role = next((m.role for m in reversed(group) if m.role not in (None, "other")), role)
    return Mention(primary.type, primary.value, primary.spans, max(m.certainty for m in group),
                   normalized=primary.normalized, role=role, attributes=attrs, step=primary.step)


def merge_mentions(mentions: list[Mention]) -> list[Mention]:
    out: list[Mention] = []
    buckets: dict[tuple[str, int], list[list[Mention]]] = {}
    for m in mentions:
        if m.type.startswith("_") or not m.spans:
            continue
        key = (m.type, m.spans[0].line)
        groups = buckets.setdefault(key, [])
        for g in groups:
            if any(_overlaps(m, x) for x in g):
                g.append(m)
                break
        else:
            groups.append([m])
    structured_certs = [m for m in mentions if m.type == "cert_no" and m.step in ("tables", "keyvalue")]
    for (mtype, _line), groups in buckets.items():
        for g in groups:
            if mtype == "resident_id" and all(m.step == "identifiers" for m in g) and any(
                    _overlaps(g[0], c) for c in structured_certs):
                continue  # an ID-shaped certificate number, read as such by its label
            out.append(_merge(g) if len(g) > 1 else g[0])
    # One building field per building: properties gathered from every sentence.
    buildings: dict[str, Mention] = {}
    rest: list[Mention] = []
    for m in out:
        if m.type == "building":
            if m.normalized in buildings:
                first = buildings[m.normalized]
                for k, v in m.attributes.items():
                    first.attributes.setdefault(k, v)
            else:
                buildings[m.normalized] = m
        else:
            rest.append(m)
    out = rest + list(buildings.values())
    out.sort(key=lambda m: (m.spans[0].line, m.spans[0].start))
    return out


def to_fields(view: DocView, mentions: list[Mention]) -> list[Field]:
    fields = []
    for m in merge_mentions(mentions):
        if m.type == "date" and m.role is None and "section" not in m.attributes:
            continue  # a date whose meaning we could not tell
        page, bbox, ocr_conf, source = view.evidence(m.spans)
        refs = [view.lines[sp.line].ref for sp in m.spans if view.lines[sp.line].ref]
        cell = {"cell": refs[0]} if refs else {}  # a spreadsheet cell's address, beside page and bbox
        chars = view.char_confidences(m.spans) if source == Source.OCR else None
        if chars and m.type in CHAR_CONFIDENCE_TYPES:
            # Kept for checks that turn on one character (a name one character off the registry's).
            cell["char_confidence"] = [[c, round(x, 3)] for c, x in chars]
        fields.append(
            Field(
                type=m.type, value=m.value, normalized=m.normalized if m.normalized is not None else m.value,
                role=m.role, document=view.doc.id, page=page, bbox=bbox,
                confidence=round(max(0.0, min(1.0, m.certainty * ocr_conf)), 3), source=source,
                attributes=dict(m.attributes) | cell | {"step": m.step},
            )
        )
    return fields
