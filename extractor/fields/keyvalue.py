"""Key–value pairs: a label and its value on the same line, in the next cell,
or on the line below.

:func:`find_pairs` reads every "label: value" (and "label value" for known
labels) off the document, whatever the label. :func:`label_key` says which
known label (``LABELS``) a label is, if any; the field steps turn known
pairs into fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .lexicon import HEADERS, LABELS
from .view import DocView, Span, TextLine

_LABEL_INDEX: dict[str, str] = {}
for _key, _variants in LABELS.items():
    for _v in _variants:
        _LABEL_INDEX.setdefault(_v, _key)

# A label is a short run with at least one Han character right before a colon.
_COLON_LABEL = re.compile(r"(?P<label>[\u4e00-\u9fffA-Za-z0-9/()#、·]{1,16}?)\s*:")
_HAS_HAN = re.compile(r"[\u4e00-\u9fff]")
_BLANK_VALUE = re.compile(r"^[\s_\-—:./]*$")


def label_key(label: str) -> str | None:
    """The canonical key of a label as written, or None for an unknown label."""
    t = re.sub(r"\s+", "", label).strip(":")
    # "法定代表人(签字)", "企业名称(盖章)": the parenthetical says how, not what.
    t = re.sub(r"\((?:签字|签名|盖章|公章|签章|手签|签字/盖章|[^)]{0,4}签[^)]{0,2})\)$", "", t)
    if t in _LABEL_INDEX:
        return _LABEL_INDEX[t]
    # "持证人姓名", "企业法定代表人": a known label at the end of a longer one.
    best: tuple[int, str] | None = None
    for v, key in _LABEL_INDEX.items():
        if len(v) >= 3 and t.endswith(v) and len(t) - len(v) <= 6:
            if best is None or len(v) > best[0]:
                best = (len(v), key)
    return best[1] if best else None


@dataclass(slots=True)
class Pair:
    label: str
    value: str
    key: str | None
    label_span: Span
    value_spans: list[Span] = field(default_factory=list)
    page: int = 1
    how: str = "same_line"  # same_line | next_cell | below

    def as_json(self) -> dict[str, object]:
        return {"page": self.page, "label": self.label, "value": self.value, "key": self.key, "how": self.how}


_HEADER_WORDS = {v for variants in HEADERS.values() for v in variants}


def _is_label_only(text: str) -> str | None:
    t = text.strip().rstrip(":").strip()
    if t and (t in _LABEL_INDEX or t in _HEADER_WORDS):
        return t
    return None


def _colon_pairs(ln: TextLine) -> list[Pair]:
    text = ln.text
    starts = []
    for m in _COLON_LABEL.finditer(text):
        label = m["label"]
        # The label runs back to the previous space; drop a leading value tail.
        if not _HAS_HAN.search(label):
            continue
        if m.start() > 0 and text[m.start() - 1] not in " ;,。、)":
            # "有效期至:...": a label glued to the previous value needs a known key.
            key_tail = None
            for k in range(len(label)):
                if label_key(label[k:]) and label[k:] in _LABEL_INDEX:
                    key_tail = k
                    break
            if key_tail is None and starts:
                continue
            if key_tail:
                starts.append((m.start() + key_tail, m.end(), label[key_tail:]))
                continue
        starts.append((m.start(), m.end(), label))
    pairs = []
    for i, (ls, le, label) in enumerate(starts):
        vend = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        raw_value = text[le:vend]
        lead = len(raw_value) - len(raw_value.lstrip())
        value = raw_value.strip()
        vs = le + lead
        pairs.append(
            Pair(
                label=label, value=value, key=label_key(label), page=ln.page,
                label_span=Span(ln.id, ls, le - 1),
                value_spans=[Span(ln.id, vs, vs + len(value))] if value else [],
            )
        )
    return pairs


def _space_pairs(ln: TextLine) -> list[Pair]:
    """"姓名 王建国 性别 男": known labels followed by their value, no colon."""
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", ln.text)]
    # "名 称 XX有限公司": single characters of a spaced label, joined back.
    if len(tokens) >= 3 and all(len(t[2]) == 1 for t in tokens[:2]):
        for n in (4, 3, 2):
            if len(tokens) > n and all(len(t[2]) == 1 for t in tokens[:n]):
                joined = "".join(t[2] for t in tokens[:n])
                if joined in _LABEL_INDEX:
                    tokens = [(tokens[0][0], tokens[n - 1][1], joined)] + tokens[n:]
                    break
    pairs = []
    i = 0
    while i < len(tokens) - 1:
        s, e, tok = tokens[i]
        key = _LABEL_INDEX.get(tok)
        nxt = tokens[i + 1]
        if key and nxt[2] not in _LABEL_INDEX:
            pairs.append(Pair(label=tok, value=nxt[2], key=key, page=ln.page, label_span=Span(ln.id, s, e),
                              value_spans=[Span(ln.id, nxt[0], nxt[1])]))
            i += 2
            continue
        i += 1
    return pairs


_SHORT_LABEL = re.compile(r"^[\u4e00-\u9fff]{2,6}:?$")


def _same_row_value(ln: TextLine, flow: list[TextLine]) -> TextLine | None:
    """A label standing alone with its value in a separate box to its right
    on the same row (OCR boxes, drawing title blocks, forms)."""
    if len(ln.text) > 17:
        return None
    lab = ln.text.rstrip(":").strip()
    known = _is_label_only(ln.text) is not None and label_key(lab) is not None
    if not known and not _SHORT_LABEL.match(ln.text):
        return None
    x0, top, x1, bottom = ln.bbox  # type: ignore[misc]
    h = max(bottom - top, 1.0)
    best: tuple[float, TextLine] | None = None
    for other in flow:
        if other is ln or other.bbox is None or not other.text:
            continue
        ox0, otop, ox1, obottom = other.bbox
        cy = (otop + obottom) / 2
        if not (top - 0.3 * h <= cy <= bottom + 0.3 * h) or ox0 < x1 - 1:
            continue
        gap = ox0 - x1
        if gap > 12 * h:
            continue
        if best is None or gap < best[0]:
            best = (gap, other)
    if best is None:
        return None
    value = best[1]
    if _is_label_only(value.text) or ":" in value.text:
        return None
    key = label_key(lab) if known else None
    return value if _value_fits(key, value.text, generic_ok=False) else None


def _value_fits(key: str | None, v: str, *, generic_ok: bool = True) -> bool:
    """Whether ``v`` looks like what label ``key`` asks for: a label and a
    value found apart (next box, line below) must agree, or a row of column
    headers ("单位 参考范围") would read as one."""
    from .people import looks_like_name

    if key in ("name", "legal_representative", "principal", "safety_manager", "project_manager") or (
            key is None and not generic_ok):
        return looks_like_name(v, labelled=key is not None)
    if key in ("company_name", "employer"):
        return bool(re.search(r"公司|集团|厂|院|局|中心|站|所|社|矿", v))
    if key in ("valid_until", "valid_from", "issued", "signed", "established", "resident_id", "uscc", "cert_no",
               "safety_licence_no"):
        return bool(re.search(r"\d", v))
    return len(v) <= 30


def _below(ln: TextLine, nxt: TextLine | None, key: str | None) -> bool:
    """``nxt`` is the value of label line ``ln``: right under it, overlapping it."""
    if nxt is None or not nxt.text or ":" in nxt.text or _is_label_only(nxt.text) or len(nxt.text) > 40:
        return False
    if ln.bbox is not None and nxt.bbox is not None:
        h = max(ln.bbox[3] - ln.bbox[1], 1.0)
        if not (0 <= nxt.bbox[1] - ln.bbox[1] <= 3 * h):
            return False
        if nxt.bbox[0] > ln.bbox[2] + h or nxt.bbox[2] < ln.bbox[0] - h:
            return False
    return _value_fits(key, nxt.text)


def find_pairs(view: DocView, *, roster_tables: set[tuple[int, int]] | None = None,
               roster_lines: set[int] | None = None) -> list[Pair]:
    """Every label–value pair of the document, in reading order.

    ``roster_tables`` ((page, table index)) are read by the table step and
    skipped here; other tables (two-column forms) are read cell by cell.
    ``roster_lines`` (line ids) are the lines of rosters without rulings,
    which the table step finds by alignment: skipped too.
    """
    roster_tables = roster_tables or set()
    roster_lines = roster_lines or set()
    pairs: list[Pair] = []
    for page, lines in view.by_page.items():
        flow = [ln for ln in lines if ln.table is None and ln.id not in roster_lines]
        cells = {(ln.table, ln.cell): ln for ln in lines if ln.table is not None}
        for idx, ln in enumerate(flow):
            if not ln.text:
                continue
            found = _colon_pairs(ln) if ":" in ln.text else _space_pairs(ln)
            for p in found:
                if not p.value and p is found[-1]:
                    # The value is on the line below, if that line is not a label itself.
                    nxt = flow[idx + 1] if idx + 1 < len(flow) else None
                    if nxt is not None and _below(ln, nxt, p.key):
                        p.value = nxt.text
                        p.value_spans = [Span(nxt.id, 0, len(nxt.text))]
                        p.how = "below"
            pairs.extend(found)
            if not found and ln.bbox is not None:
                right = _same_row_value(ln, flow)
                if right is not None:
                    lab = ln.text.rstrip(":").strip()
                    pairs.append(Pair(label=lab, value=right.text, key=label_key(lab), page=page,
                                      label_span=Span(ln.id, 0, len(ln.text)),
                                      value_spans=[Span(right.id, 0, len(right.text))], how="same_row"))
                    continue
            if not found:
                lab = _is_label_only(ln.text)
                if lab and label_key(lab) and idx + 1 < len(flow):
                    nxt = flow[idx + 1]
                    if _below(ln, nxt, label_key(lab)):
                        pairs.append(Pair(label=lab, value=nxt.text, key=label_key(lab), page=page,
                                          label_span=Span(ln.id, 0, len(ln.text)),
                                          value_spans=[Span(nxt.id, 0, len(nxt.text))], how="below"))
        # Form tables: a label cell and its value in the next cell to the right.
        for (tindex, cell), ln in cells.items():
            if (page, tindex) in roster_tables or cell is None or not ln.text:
                continue
            if ":" in ln.text and not ln.text.rstrip().endswith(":"):
                pairs.extend(p for p in _colon_pairs(ln) if p.value)
                continue
            lab = ln.text.rstrip(":").strip()
            key = label_key(lab)
            if not key or len(lab) > 16:
                continue
            r, c = cell
            nxt = None
            for cc in range(c + 1, c + 4):
                cand = cells.get((tindex, (r, cc)))
                if cand is not None and cand.text and cand.text != ln.text:
                    nxt = cand
                    break
            if nxt is None or label_key(nxt.text.rstrip(":")) in (key,) or _is_label_only(nxt.text):
                continue
            pairs.append(Pair(label=lab, value=nxt.text, key=key, page=page,
                              label_span=Span(ln.id, 0, len(ln.text)),
                              value_spans=[Span(nxt.id, 0, len(nxt.text))], how="next_cell"))
    return pairs
