"""The extraction steps. Each reads the shared :class:`Context` and adds to it;
:mod:`extractor.fields.pipeline` registers each as a spaCy component that
declares what it requires and assigns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .. import identifiers as ids
from ..normalize import compact_name
from . import design, doctype, plans
from .keyvalue import Pair, find_pairs, label_key
from .lexicon import CERT_CLASS, PROSE_TITLES, UNITS_TO_M, compile_alternatives, role_of_title
from .patterns import date_ranges, find_dates, find_identifiers
from .people import ProseName, entities_for, looks_like_name, org_names, prose_names, split_names
from .tables import Cell, Grid, layout_grids, ruled_grids
from .view import DocView, Mention, Paragraph, Span, TextLine, paragraphs


@dataclass
class Context:
    view: DocView
    doc_type: str = "other"
    doc_type_confidence: float = 0.0
    doc_type_scores: dict[str, float] = field(default_factory=dict)
    pairs: list[Pair] = field(default_factory=list)
    grids: list[Grid] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    use_ner: bool = True
    fields: list = field(default_factory=list)
    # (step name, exception class) of the steps that raised; the others ran.
    failed_steps: list[tuple[str, str]] = field(default_factory=list)

    def add(self, m: Mention) -> Mention:
        self.mentions.append(m)
        return m


APPLICANT_DOCS = {"business_licence", "application_form", "safety_organisation", "responsibility_system",
                  "safety_investment", "insurance", "emergency_plan", "other"}


# --------------------------------------------------------------------------- document type


def step_doctype(ctx: Context) -> None:
    reading = ctx.view.reading()
    lines = [ln.text for ln in reading if ln.page == reading[0].page] if reading else []
    rest = [ln.text for ln in reading[len(lines):]]
    t, conf, scores = doctype.classify(lines + rest, titles=_title_lines(reading))
    ctx.doc_type, ctx.doc_type_confidence, ctx.doc_type_scores = t, conf, scores


def _title_lines(reading: list[TextLine], limit: int = 3) -> list[str]:
    """The first page's largest short lines, top first: a title is set bigger than
    the text, wherever reading order puts it (a scanned table read column by
    column, a two-column page whose columns ran together)."""
    if not reading:
        return []
    first = reading[0].page
    boxed = [ln for ln in reading if ln.page == first and ln.table is None and ln.bbox is not None and ln.text]
    if len(boxed) < 3:
        return []
    heights = sorted(ln.bbox[3] - ln.bbox[1] for ln in boxed)  # type: ignore[index]
    median = heights[len(heights) // 2]
    big = [ln for ln in boxed if ln.bbox[3] - ln.bbox[1] >= 1.25 * median and len(ln.text) <= 30]  # type: ignore[index]
    big.sort(key=lambda ln: (-(ln.bbox[3] - ln.bbox[1]), ln.bbox[1]))  # type: ignore[index]
    return [ln.text for ln in big[:limit]]


# --------------------------------------------------------------------------- identifiers


def _id_mention(match, span: Span, *, certainty: float, hint: str | None = None) -> Mention:
    chk: ids.IdCheck = match.check
    attrs: dict[str, object] = {"valid": chk.valid}
    if chk.reason:
        attrs["reason"] = chk.reason
        if chk.reason == "embedded_id" and chk.details.get("embedded_reason"):
            attrs["reason"] = f"embedded_id_{chk.details['embedded_reason']}"
    if chk.warnings:
        attrs["warnings"] = list(chk.warnings)
    if chk.repaired_from:
        attrs["repaired_from"] = chk.repaired_from
        attrs["repaired"] = True
    if match.field_type == "resident_id":
        attrs["legacy"] = bool(chk.details.get("legacy"))
        attrs["region_known"] = bool(chk.details.get("region_known", False)) if chk.valid else False
    if match.field_type == "cert_no":
        attrs["cert_type"] = match.cert_type
        if chk.kind == "resident_id":
            attrs["id_form"] = True  # the number is an ID number (see _id_shaped_cert_no)
        if "embedded_id" in chk.details:
            attrs["embedded_id"] = chk.details["embedded_id"]
    return Mention(match.field_type, chk.value, [span], certainty, normalized=chk.value, attributes=attrs,
                   step="identifiers")


def _id_shaped_cert_no(match) -> None:
    """An ID-shaped number where a certificate number belongs.

    Most often a 特种作业操作证 printed without its T (the number is the
    holder's ID); some provinces also number 主要负责人/安全生产管理人员
    certificates so. The type is left open (the registry record, found under
    either form, says it): calling it one or the other would be a guess.
    """
    match.field_type, match.cert_type = "cert_no", None


def _as_special_operation(mention: Mention) -> None:
    """An ID-shaped number in a special-operation context (a work-category
    column, an 操作证 header, a special-operations roster) is a 特种作业操作证:
    the value stays as printed, the normalised form is the canonical T + ID."""
    mention.normalized = "T" + str(mention.value)
    mention.attributes["cert_type"] = "special_operation"


_COMPANY_END = re.compile(r".*(?:有限责任公司|股份有限公司|有限公司|公司|集团|厂)")
# Documents whose 编号 is the document's own number (a report, a plan), never a person's certificate.
_IMPERSONAL_DOCS = {"safety_assessment", "occupational_health", "machinery_inspection", "major_hazards",
                    "major_works_measures", "emergency_plan", "scaffold_plan", "site_plan", "evacuation_plan",
                    "insurance", "safety_investment", "business_licence"}


def _is_date_text(text: str) -> bool:
    """Whether ``text`` is mostly dates ("2023年03月15日至2026年03月14日",
    "2025.9.2"): a validity period in a number's column is no number."""
    compact = re.sub(r"\s+", "", text)
    dates = find_dates(compact)
    covered = sum(d.end - d.start for d in dates)
    return bool(dates) and covered >= 0.6 * len(compact)


_NOT_ID_KEYS = {"cert_no", "safety_licence_no", "uscc"}


def step_identifiers(ctx: Context) -> None:
    """Every identifier in the text, labelled or not. An invalid 18-digit run
    inside the value of a label that names another number ("证照编号") is
    that number, not a mistyped ID."""
    other_values: dict[int, list[tuple[int, int]]] = {}
    for p in ctx.pairs:
        if p.key in _NOT_ID_KEYS or (p.key is None and re.search(r"编号|代码|证号|号码", p.label)
                                     and "身份" not in p.label):
            for sp in p.value_spans:
                other_values.setdefault(sp.line, []).append((sp.start, sp.end))
    for ln in ctx.view.reading():
        if not ln.text:
            continue
        for m in find_identifiers(ln.text):
            if m.field_type == "resident_id" and any(
                    a <= m.start and m.end <= b for a, b in other_values.get(ln.id, [])):
                continue
            ctx.add(_id_mention(m, Span(ln.id, m.start, m.end), certainty=0.9))


# --------------------------------------------------------------------------- key–value


# Keys a record holds once: when one comes again, the next record has begun
# (certificate cards repeated down a page, whatever line each card starts with).
_ONCE_PER_RECORD = {"cert_no", "resident_id", "sex"}


def _records_by_page(pairs: list[Pair]) -> dict[int, str]:
    """Pair index -> record id.

    A record opens at a person's name when the current one already names
    someone, and at a key it already holds (a second 证号, 身份证号 or 性别:
    the next card of a page of cards, even when each card puts its number
    above its name). Pairs before the first name join that name's record. Pages
    without a name have no records.
    """
    out: dict[int, str] = {}
    by_page: dict[int, list[int]] = {}
    for i, p in enumerate(pairs):
        by_page.setdefault(p.page, []).append(i)
    for page, idx in by_page.items():
        if not any(pairs[i].key in _PERSON_KEYS and pairs[i].value for i in idx):
            continue
        n, held, named = 0, set(), False
        for i in idx:
            key = pairs[i].key
            is_name = key in _PERSON_KEYS and bool(pairs[i].value)
            if held and ((is_name and named) or (key in _ONCE_PER_RECORD and key in held)):
                n, held, named = n + 1, set(), False
            if key:
                held.add(key)
            named = named or is_name
            out[i] = f"kv{page}.{n}"
    return out


_PERSON_KEYS = {"name": None, "legal_representative": "legal_representative", "principal": "principal",
                "safety_manager": "safety_manager", "project_manager": "project_manager", "other_person": "other"}
_DATE_KEYS = {"valid_until", "valid_from", "issued", "signed", "established"}


def step_keyvalue(ctx: Context) -> None:
    roster = {(g.page, g.index) for g in ctx.grids if g.is_roster and g.origin == "ruled"}
    # A roster without rulings read as label/value pairs would take its header
    # over the first row ("姓名" above "万永强") for labels and values, and put
    # half that row in a record of its own: its lines are the table step's.
    roster_lines = {sp.line for g in ctx.grids if g.is_roster and g.origin == "layout"
                    for row in g.rows for cell in row if cell for sp in cell.spans}
    ctx.pairs = find_pairs(ctx.view, roster_tables=roster, roster_lines=roster_lines)
    records = _records_by_page(ctx.pairs)
    # Records that describe a company (its USCC, its legal representative): a
    # number there of no personal certificate's format is the company's own
    # certificate (资质证书, 采矿许可证), not one a person holds.
    company_records = {records[i] for i, p in enumerate(ctx.pairs)
                       if i in records and p.key in ("uscc", "legal_representative")}
    applicant_doc = ctx.doc_type in APPLICANT_DOCS
    for i, p in enumerate(ctx.pairs):
        if not p.key and p.value and p.value_spans:
            _generic_name(ctx, p)
            continue
        if not p.key or not p.value or not p.value_spans:
            continue
        vs = p.value_spans[0]
        rec = records.get(i)
        base_attrs: dict[str, object] = {"record": rec} if rec else {}
        base_attrs["label"] = p.label
        if p.key in _PERSON_KEYS:
            for s, e, name in split_names(p.value):
                role = _PERSON_KEYS[p.key]
                attrs = dict(base_attrs, role_source="label" if role else "default")
                ctx.add(Mention("person_name", name, [Span(vs.line, vs.start + s, vs.start + e)], 0.95,
                                normalized=compact_name(name), role=role, attributes=attrs, step="keyvalue"))
        elif p.key in ("resident_id", "uscc", "cert_no", "safety_licence_no"):
            hint = p.key if p.key != "cert_no" else None
            found = find_identifiers(p.value, hint=hint)
            for m in found:
                if p.key == "cert_no" and m.field_type == "resident_id":
                    _id_shaped_cert_no(m)
                mm = _id_mention(m, Span(vs.line, vs.start + m.start, vs.start + m.end), certainty=0.97)
                mm.step = "keyvalue"
                mm.attributes.update(base_attrs)
                if mm.attributes.get("id_form") and (
                        re.search(r"操作|特种", p.label) or ctx.doc_type == "special_operations_roster"):
                    _as_special_operation(mm)
                if m.field_type == "uscc":
                    mm.role = "applicant" if applicant_doc else "other"
                ctx.add(mm)
            if not found and p.key in ("cert_no", "safety_licence_no"):
                if p.key == "cert_no" and (rec is None or rec in company_records or ctx.doc_type in _IMPERSONAL_DOCS):
                    # No person on the page, or a company's record: a number of no
                    # personal certificate's format is the company's own licence.
                    continue
                value = re.sub(r"\s+", "", p.value)
                if 5 <= len(value) <= 30 and re.search(r"\d{4}", value) and not _is_date_text(value):
                    kind = "registered_safety_engineer" if "注册" in p.label else None
                    chk = ids.check_registered_safety_engineer(value) if kind else None
                    attrs = dict(base_attrs)
                    ftype = p.key
                    if ftype == "cert_no":
                        attrs["cert_type"] = "registered_safety_engineer" if kind else None
                    if chk is not None:
                        attrs["valid"] = chk.valid
                    else:
                        attrs["valid"] = False
                        attrs["reason"] = "format"
                    ctx.add(Mention(ftype, value, [vs], 0.85, normalized=value, attributes=attrs, step="keyvalue"))
        elif p.key in ("company_name", "employer", "other_company"):
            value = compact_name(p.value)
            value = re.sub(r"\((?:盖章|公章|签章)\)$", "", value)
            # The next column's words glued on ("…有限公司金额", "…有限公司版本号:2025版"):
            # a name ends at its last company suffix.
            end = _COMPANY_END.search(value)
            rest = value[end.end():] if end else ""
            # What follows the suffix is the next column's words, or an unclosed "(资质…"
            # cut by the next label; a closed "(筹)" stays.
            if rest and (not re.match(r"[(（]", rest) or not re.search(r"[)）]", rest)):
                value = value[:end.end()]
            if len(value) < 4 or not re.search(r"公司|集团|厂|院|局|中心|站|所|社|部|矿", value):
                continue
            # The package step turns "applicant" into "other" for a company
            # that is not the applicant.
            role = "employer" if p.key == "employer" or ctx.doc_type in ("certificate",) else (
                "other" if p.key == "other_company" else "applicant")
            ctx.add(Mention("company_name", value, [vs], 0.93, normalized=value, role=role,
                            attributes=dict(base_attrs), step="keyvalue"))
        elif p.key in _DATE_KEYS:
            dates = find_dates(p.value)
            rng = date_ranges(p.value, dates)
            if rng:
                a, b = rng[0]
                for d, role in ((a, "valid_from"), (b, "valid_until")):
                    ctx.add(Mention("date", d.iso, [Span(vs.line, vs.start + d.start, vs.start + d.end)], 0.95,
                                    normalized=d.iso, role=role, attributes=dict(base_attrs), step="keyvalue"))
            elif dates:
                d = dates[-1] if p.key == "valid_until" else dates[0]
                # 成立日期 starts the business term a licence states.
                role = "valid_from" if p.key == "established" else p.key
                attrs = dict(base_attrs, of="licence") if p.key == "established" else dict(base_attrs)
                ctx.add(Mention("date", d.iso, [Span(vs.line, vs.start + d.start, vs.start + d.end)], 0.95,
                                normalized=d.iso, role=role, attributes=attrs, step="keyvalue"))
        elif p.key == "category":
            value = compact_name(p.value)
            if 2 <= len(value) <= 30 and not re.search(r"\d{4}", value):
                ctx.add(Mention("operation_category", value, [vs], 0.9, normalized=value,
                                attributes=dict(base_attrs), step="keyvalue"))
        elif p.key == "title":
            ctx.add(Mention("_title", compact_name(p.value), [vs], 0.9, attributes=dict(base_attrs), step="keyvalue"))


_NOT_PERSON_LABELS = re.compile(r"性别|民族|类型|学历|籍贯|地点|住所|地址|名称|项目|内容|结果|单位|职务|岗位|部门|"
                                r"机构|范围|方式|状态|电话|类别|等级|用途|科室|诊断")


def _generic_name(ctx: Context, p: Pair) -> None:
    """"编制：张三", "批准：李四", "记录人：王五": a name under a label we do
    not know. The value must look like a name on its own (known surname)."""
    label = re.sub(r"\s+", "", p.label)
    if len(label) > 10 or _NOT_PERSON_LABELS.search(label):
        return
    value = re.sub(r"\((?:签字|签名|盖章)\)$", "", p.value.strip().rstrip("。.;；,，"))
    if not looks_like_name(value):
        return
    vs = p.value_spans[0]
    role = role_of_title(label)
    ctx.add(Mention("person_name", value, [Span(vs.line, vs.start, vs.start + len(value))], 0.85,
                    normalized=compact_name(value), role=role,
                    attributes={"label": p.label, "title": label, "role_source": "title" if role else "default"},
                    step="keyvalue"))


# --------------------------------------------------------------------------- tables


def step_tables(ctx: Context) -> None:
    ctx.grids = ruled_grids(ctx.view)
    ctx.grids += layout_grids(ctx.view)
    for g in ctx.grids:
        if g.is_roster:
            _roster_mentions(ctx, g)


def _cell_span(cell) -> list[Span]:
    return list(cell.spans)


def _number_in(text: str, header: str) -> tuple[float, str] | None:
    m = re.search(r"(\d+(?:\.\d+)?)\s*(毫米|mm|厘米|cm|米|m)?", text)
    if not m:
        return None
    unit = m.group(2) or ("mm" if re.search(r"mm|毫米", header) else "m")
    return float(m.group(1)) * UNITS_TO_M[unit], unit


def _roster_mentions(ctx: Context, g: Grid) -> None:
    keys = g.keys
    header_texts = [(g.rows[g.header_rows - 1][i].text if g.header_rows and g.rows[g.header_rows - 1][i] else "")
                    for i in range(len(keys))]
    for r, row in g.data_rows():
        rec = f"t{g.page}.{g.index}.{r}"
        cells: dict[str, Cell] = {}
        for i in range(min(len(keys), len(row))):
            if not (keys[i] and row[i] and row[i].text):
                continue
            if keys[i] == "category" and "category" in cells:
                # 作业类别 and 准操项目 side by side: the category and its item, "危险化学品安全作业—氯化工艺作业".
                first = cells["category"]
                cells["category"] = Cell(f"{first.text}—{row[i].text}", first.spans + row[i].spans)
            else:
                cells[keys[i]] = row[i]
        if not cells:
            continue
        attrs = {"record": rec}
        holder = None
        titles = [compact_name(row[i].text) for i in range(min(len(keys), len(row)))
                  if keys[i] == "title" and row[i] and row[i].text]
        if "category" in cells and CERT_CLASS.fullmatch(compact_name(cells["category"].text)) and "cert_class" not in cells:
            # "类别: A / B / C1" on a managers roster is the certificate's class, not a work category.
            cells["cert_class"] = cells.pop("category")
        cert_class = compact_name(cells["cert_class"].text) if "cert_class" in cells else None
        if "name" in cells and looks_like_name(cells["name"].text, labelled=True):
            holder = compact_name(cells["name"].text)
            role = next((r for r in (role_of_title(t) for t in titles) if r), None)
            a = dict(attrs, role_source="title" if role else "default")
            if titles:
                a["title"] = titles[-1] if role is None else next(t for t in titles if role_of_title(t))
            if role is None and titles:
                role = "other"  # a title we know no role for (总工程师): not a role by certificate
                a["role_source"] = "title"
            if role is None and cert_class:
                role = {"A": "principal", "B": "project_manager", "C": "safety_manager"}.get(cert_class[:1])
                if role:
                    a["role_source"] = "title"
            ctx.add(Mention("person_name", cells["name"].text.strip(), _cell_span(cells["name"]), 0.95,
                            normalized=holder, role=role, attributes=a, step="tables"))
        for key in ("resident_id", "cert_no"):
            if key in cells:
                c = cells[key]
                found = find_identifiers(c.text, hint=key if key == "resident_id" else None)
                for m in found:
                    if key == "cert_no" and m.field_type == "resident_id":
                        _id_shaped_cert_no(m)
                    sp = c.spans[0]
                    # Positions inside a joined cell map back only for one-span cells.
                    span = Span(sp.line, sp.start + m.start, sp.start + m.end) if len(c.spans) == 1 else sp
                    mm = _id_mention(m, span, certainty=0.97)
                    mm.step = "tables"
                    mm.attributes.update(attrs)
                    if holder:
                        mm.attributes["holder"] = holder
                    if key == "cert_no" and "category" in cells:
                        mm.attributes["category"] = compact_name(cells["category"].text)
                    if mm.attributes.get("id_form") and (
                            "category" in cells or ctx.doc_type == "special_operations_roster"
                            or re.search(r"操作|特种", header_texts[keys.index("cert_no")])):
                        _as_special_operation(mm)
                    ctx.add(mm)
                if not found and key == "cert_no" and len(c.text.strip()) >= 5 and not _is_date_text(c.text):
                    v = re.sub(r"\s+", "", c.text)
                    a = dict(attrs, cert_type=None, valid=False, reason="format")
                    if holder:
                        a["holder"] = holder
                    ctx.add(Mention("cert_no", v, _cell_span(c), 0.85, normalized=v, attributes=a, step="tables"))
        if "category" in cells:
            v = compact_name(cells["category"].text)
            ctx.add(Mention("operation_category", v, _cell_span(cells["category"]), 0.93, normalized=v,
                            attributes=dict(attrs), step="tables"))
        for key in ("valid_until", "issued", "valid_from"):
            if key in cells:
                c = cells[key]
                dates = find_dates(c.text)
                rng = date_ranges(c.text, dates)
                picks = [(rng[0][0], "valid_from"), (rng[0][1], "valid_until")] if rng and key == "valid_until" else (
                    [(dates[-1] if key == "valid_until" else dates[0], key)] if dates else [])
                of = "cert_no" if ("cert_no" in cells or "name" in cells) else "document"
                for d, role in picks:
                    sp = c.spans[0]
                    span = Span(sp.line, sp.start + d.start, sp.start + d.end) if len(c.spans) == 1 else sp
                    ctx.add(Mention("date", d.iso, [span], 0.95, normalized=d.iso, role=role,
                                    attributes=dict(attrs, of=of), step="tables"))
        if "employer" in cells:
            v = compact_name(cells["employer"].text)
            if len(v) >= 4:
                ctx.add(Mention("company_name", v, _cell_span(cells["employer"]), 0.9, normalized=v, role="employer",
                                attributes=dict(attrs), step="tables"))
        # Design tables: separations between two buildings, buildings, widths.
        if "distance" in cells and "building_a" in cells and "building_b" in cells:
            hdr = header_texts[keys.index("distance")]
            num = _number_in(cells["distance"].text, hdr)
            if num:
                between = [compact_name(cells["building_a"].text), compact_name(cells["building_b"].text)]
                ctx.add(Mention("fire_separation_distance", round(num[0], 4), _cell_span(cells["distance"]), 0.93,
                                normalized=round(num[0], 4), attributes={"between": between, "qualifier": "stated",
                                                                          "record": rec}, step="tables"))
        # A door schedule (门窗表: 编号 | 名称 | 净宽) names its element under 名称.
        naming = cells.get("element") or cells.get("building")
        if "width" in cells and naming is not None:
            hdr = header_texts[keys.index("width")]
            num = _number_in(cells["width"].text, hdr)
            el = naming.text
            element = ("door" if "门" in el else "corridor" if re.search("走道|走廊", el) else
                       "stair" if "梯" in el else "exit" if "出口" in el else None)
            if num and element:
                a = {"element": element, "qualifier": "stated", "record": rec}
                if "building" in cells and naming is not cells["building"]:
                    a["building"] = compact_name(cells["building"].text)
                ctx.add(Mention("evacuation_width", round(num[0], 4), _cell_span(cells["width"]), 0.93,
                                normalized=round(num[0], 4), attributes=a, step="tables"))
        if "building" in cells and ("height" in cells or "fire_grade" in cells or "storeys" in cells):
            name = compact_name(cells["building"].text)
            a: dict[str, object] = {"record": rec}
            if "height" in cells:
                num = _number_in(cells["height"].text, header_texts[keys.index("height")])
                if num:
                    a["height_m"] = round(num[0], 4)
                    ctx.add(Mention("building_height", round(num[0], 4), _cell_span(cells["height"]), 0.93,
                                    normalized=round(num[0], 4), attributes={"building": name, "record": rec},
                                    step="tables"))
            if "storeys" in cells:
                m = re.search(r"\d+", cells["storeys"].text)
                if m:
                    a["storeys"] = int(m.group())
            if "fire_grade" in cells:
                m = re.search(r"[一二三四1234]", cells["fire_grade"].text)
                if m:
                    a["fire_grade"] = "一二三四".index(m.group()) + 1 if m.group() in "一二三四" else int(m.group())
            if "use_class" in cells:
                t = cells["use_class"].text
                m = re.search(r"[甲乙丙丁戊]", t)
                a["use_class"] = m.group() if m else "民用"
                a["kind"] = "warehouse" if re.search("仓库|库房|储存", t) else "factory" if m else "civil"
            ctx.add(Mention("building", name, _cell_span(cells["building"]), 0.9, normalized=name, attributes=a,
                            step="tables"))


# --------------------------------------------------------------------------- dates without labels

_ISSUE_AFTER = re.compile(r"^\s*(?:发证|颁发|签发|核发|批准)")
_SIGN_CONTEXT = re.compile(r"盖章|签字|签名|签章|公章|日期|负责人|法定代表人|编制人|审核人|单位|机关|中心|局|厅")


_ISSUED_DOCS = {"business_licence", "insurance", "certificate"}
_ISSUER_CONTEXT = re.compile(r"发证机关|登记机关|颁发机关|发证单位|签发机关")


def step_dates(ctx: Context) -> None:
    claimed = {(sp.line, sp.start) for m in ctx.mentions if m.type == "date" for sp in m.spans}
    flow_by_page = {p: [ln for ln in lines if ln.table is None and ln.text] for p, lines in ctx.view.by_page.items()}
    last_page = max(flow_by_page) if flow_by_page else None
    for page, flow in flow_by_page.items():
        for idx, ln in enumerate(flow):
            dates = [d for d in find_dates(ln.text) if not any(
                c[0] == ln.id and d.start <= c[1] < d.end for c in claimed)]
            if not dates:
                continue
            rng = date_ranges(ln.text, dates)
            if rng and re.search(r"有效期|有效|期限|自", ln.text):
                for d, role in ((rng[0][0], "valid_from"), (rng[0][1], "valid_until")):
                    ctx.add(Mention("date", d.iso, [Span(ln.id, d.start, d.end)], 0.9, normalized=d.iso, role=role,
                                    step="dates"))
                continue
            for d in dates:
                if _ISSUE_AFTER.match(ln.text[d.end:]):
                    ctx.add(Mention("date", d.iso, [Span(ln.id, d.start, d.end)], 0.85, normalized=d.iso,
                                    role="issued", step="dates"))
                    continue
                # A date standing alone near the end of the last page, under a
                # signature or seal, is the signing date.
                # Labelled dates are the key–value step's ("填报日期:" is no signature).
                alone = len(ln.text) - (d.end - d.start) <= 6 and ":" not in ln.text
                near_end = page == last_page and idx >= len(flow) - 6
                context = " ".join(x.text for x in flow[max(0, idx - 3):idx + 1])
                if alone and near_end and (_SIGN_CONTEXT.search(context) or idx >= len(flow) - 2):
                    # An authority's document is issued; the applicant's is signed.
                    role = "issued" if ctx.doc_type in _ISSUED_DOCS or _ISSUER_CONTEXT.search(context) else "signed"
                    ctx.add(Mention("date", d.iso, [Span(ln.id, d.start, d.end)], 0.8, normalized=d.iso,
                                    role=role, attributes={"of": "licence" if ctx.doc_type == "business_licence"
                                                           else "document"}, step="dates"))
                    continue
                # Any other date (a training session, a filing, a meeting) is a fact with a
                # place on the page too; no rule reads role "other" as a validity date.
                ctx.add(Mention("date", d.iso, [Span(ln.id, d.start, d.end)], 0.7, normalized=d.iso,
                                role="other", step="dates"))
    # Dates in table cells that no roster or form step claimed (培训日期 columns, ledgers).
    for ln in ctx.view.lines:
        if ln.table is None or not ln.text:
            continue
        for d in find_dates(ln.text):
            if not any(c[0] == ln.id and d.start <= c[1] < d.end for c in claimed):
                ctx.add(Mention("date", d.iso, [Span(ln.id, d.start, d.end)], 0.7, normalized=d.iso,
                                role="other", step="dates"))


# --------------------------------------------------------------------------- names in prose

# Where names stand in prose: a title, a responsibility, a signature. The
# recogniser costs ~10 ms a clause on this machine, so it reads only the
# clauses with such a cue that the rules left without a name.
_PERSON_CUE = re.compile(
    "同志|由|担任|负责|主持|签字|签名|组长|组员|成员|联系人|指挥|授课|记录|编制|审核|批准|主任|委员|经理|"
    "厂长|矿长|董事|总监|总工|队长|班长|主管|人员|责任人|代表|" + compile_alternatives(PROSE_TITLES)
)
_CLAUSE = re.compile(r"[^,，。;；:：!！?？]+")
# Documents whose names are labelled or tabled: the rules read them all.
_NO_NER_DOCS = {"business_licence", "certificate", "managers_roster", "special_operations_roster", "site_plan",
                "insurance", "application_form"}


def step_prose_names(ctx: Context) -> None:
    """Names in running text (rules, and the recogniser when installed), and
    company names standing in titles and prose."""
    taken = {(sp.line, sp.start) for m in ctx.mentions if m.type == "person_name" for sp in m.spans}
    paras = [p for p in paragraphs(ctx.view) if len(p.text) >= 4]
    known = frozenset(str(m.normalized) for m in ctx.mentions if m.type == "person_name")
    found: list[tuple[Paragraph, ProseName]] = []
    to_read: list[tuple[Paragraph, int, str]] = []
    for para in paras:
        rule_hits = prose_names(para.text, use_ner=False)
        found.extend((para, pn) for pn in rule_hits)
        if not ctx.use_ner or ctx.doc_type in _NO_NER_DOCS:
            continue
        for cm in _CLAUSE.finditer(para.text):
            clause = cm.group()
            if len(clause) < 4 or not _PERSON_CUE.search(clause):
                continue
            if any(cm.start() <= pn.start < cm.end() for pn in rule_hits):
                continue
            to_read.append((para, cm.start(), clause))
    ents = entities_for([c for _, _, c in to_read], use_ner=ctx.use_ner) if to_read else None
    if ents is not None:
        for (para, off, clause), clause_ents in zip(to_read, ents):
            for pn in prose_names(clause, entities=clause_ents, known=known):
                if pn.how == "title":
                    continue  # the rules ran on the whole paragraph already
                pn.start += off
                pn.end += off
                found.append((para, pn))
    for para, pn in found:
        spans = para.spans(pn.start, pn.end)
        if not spans or (spans[0].line, spans[0].start) in taken:
            continue
        attrs: dict[str, object] = {"role_source": ("label" if pn.stated else "title") if pn.role else "default"}
        if pn.title:
            attrs["title"] = pn.title
        ctx.add(Mention("person_name", pn.name, spans, pn.score, normalized=compact_name(pn.name),
                        role=pn.role, attributes=attrs, step=f"prose:{pn.how}"))
    for para in paras:
        for s, e, name in org_names(para.text):
            # Presumed the applicant; the package step corrects it once the
            # business licence or the application form names the applicant.
            ctx.add(Mention("company_name", name, para.spans(s, e), 0.85, normalized=name,
                            role="employer" if ctx.doc_type == "certificate" else "applicant", step="prose:org"))


# --------------------------------------------------------------------------- roles


_CERT_ROLE = {"safety_assessment_a": "principal", "safety_assessment_b": "project_manager",
              "safety_assessment_c": "safety_manager", "special_operation": "special_operator",
              "construction_special_operation": "special_operator"}


def step_roles(ctx: Context) -> None:
    """Roles for names that their label did not give: the record's title,
    the class of the record's certificate, then the kind of document."""
    by_record: dict[str, list[Mention]] = {}
    for m in ctx.mentions:
        rec = m.attributes.get("record")
        if rec:
            by_record.setdefault(str(rec), []).append(m)
    default = {"special_operations_roster": "special_operator"}.get(ctx.doc_type)
    for m in ctx.mentions:
        if m.type == "uscc" and m.role is None:
            m.role = "applicant" if ctx.doc_type in APPLICANT_DOCS else "other"
        if m.type != "person_name" or m.role is not None:
            continue
        rec = m.attributes.get("record")
        group = by_record.get(str(rec), []) if rec else []
        title = m.attributes.get("title") or next((x.value for x in group if x.type == "_title"), None)
        role = role_of_title(str(title)) if title else None
        if title:
            m.attributes["title"] = title
        if role is None:
            for x in group:
                if x.type == "cert_no" and _CERT_ROLE.get(str(x.attributes.get("cert_type"))):
                    role = _CERT_ROLE[str(x.attributes["cert_type"])]
                    break
        if role is None:
            for x in group:
                if x.type == "operation_category":
                    role = "special_operator" if ctx.doc_type != "managers_roster" else None
                    break
        if role is None and default and m.step == "tables":
            role = default
        m.attributes["role_source"] = "title" if role else "default"
        m.role = role or "other"
    # A USCC names its company: the one in its record, else the applicant.
    applicant = next((m.normalized for m in ctx.mentions if m.type == "company_name" and m.role == "applicant"), None)
    for m in ctx.mentions:
        if m.type == "uscc" and "company" not in m.attributes:
            rec = m.attributes.get("record")
            company = next((x.normalized for x in by_record.get(str(rec), []) if x.type == "company_name"), None)
            if company or (applicant and m.role == "applicant"):
                m.attributes["company"] = company or applicant
    # A special-operation number embeds its holder's ID: it must be the ID on the same row.
    for group in by_record.values():
        rid = next((x for x in group if x.type == "resident_id"), None)
        for x in group:
            if rid is not None and x.type == "cert_no" and x.attributes.get("cert_type") == "special_operation" \
                    and x.attributes.get("valid") and x.attributes.get("embedded_id") != rid.value:
                x.attributes["valid"] = False
                x.attributes["reason"] = "embedded_id_holder_mismatch"
    # Link identifiers and certificates to their holder within a record.
    for rec, group in by_record.items():
        names = [x for x in group if x.type == "person_name"]
        if len(names) != 1:
            continue
        holder = names[0].normalized
        for x in group:
            if x.type in ("resident_id", "cert_no") and "holder" not in x.attributes:
                x.attributes["holder"] = holder
            if x.type == "cert_no":
                cat = next((y.value for y in group if y.type == "operation_category"), None)
                if cat and "category" not in x.attributes:
                    x.attributes["category"] = cat
            if x.type == "date" and "of" not in x.attributes and any(y.type == "cert_no" for y in group):
                x.attributes["of"] = "cert_no"
    for m in ctx.mentions:
        if m.type == "date" and "of" not in m.attributes:
            if ctx.doc_type in ("certificate",) or any(
                    x.type == "cert_no" for x in by_record.get(str(m.attributes.get("record")), [])):
                m.attributes["of"] = "cert_no"
            elif m.role == "signed":
                m.attributes["of"] = "document"
            elif ctx.doc_type == "business_licence" or "许可" in str(m.attributes.get("label", "")):
                m.attributes["of"] = "licence"


# --------------------------------------------------------------------------- design parameters


def _row_paragraphs(ctx: Context) -> list[Paragraph]:
    """Each row of a non-roster table as one text ("搭设高度 36m 自室外地坪起算")."""
    out = []
    for g in ctx.grids:
        if g.is_roster:
            continue
        for row in g.rows:
            text, pieces = "", []
            for c in row:
                if c is None or not c.text or len(c.spans) != 1:
                    continue
                if text:
                    text += " "
                sp = c.spans[0]
                pieces.append((sp.line, len(text) - sp.start, sp.start + len(c.text)))
                text += c.text
            if text:
                out.append(Paragraph(text, [(ln, off, length) for ln, off, length in pieces]))
    return out


def _nearest_buildings(ctx: Context, span: Span, names: dict[str, Span]) -> list[str]:
    """The two building labels nearest a dimension on a drawing."""
    page, box, _, _ = ctx.view.evidence([span])
    if box is None:
        return []
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    scored = []
    for name, sp in names.items():
        p2, b2, _, _ = ctx.view.evidence([sp])
        if p2 != page or b2 is None:
            continue
        # Distance to the label's box, not its centre: labels are long.
        dx = max(b2[0] - cx, 0.0, cx - b2[2])
        dy = max(b2[1] - cy, 0.0, cy - b2[3])
        scored.append(((dx * dx + dy * dy) ** 0.5, name))
    scored.sort()
    return [n for _, n in scored[:2]] if len(scored) >= 2 else []


# Buildings are described where fire safety is designed; elsewhere "2号楼"
# is part of an address.
_BUILDING_DOCS = {"site_plan", "evacuation_plan", "scaffold_plan", "other"}


def step_design(ctx: Context) -> None:
    scaffold = ctx.doc_type == "scaffold_plan"
    labels: dict[str, Span] = {}
    pending_sep: list[Mention] = []
    for para in paragraphs(ctx.view) + _row_paragraphs(ctx):
        text = para.text
        if not re.search(r"\d", text) and "级" not in text:
            continue
        for b in (design.building_hits(text) if ctx.doc_type in _BUILDING_DOCS else []):
            if ctx.doc_type == "other" and not ({"fire_grade", "use_class", "height_m"} & set(b.attributes)):
                continue  # "2号楼12层" in an address
            spans = para.spans(b.start, b.end)
            ctx.add(Mention("building", b.name, spans, 0.85, normalized=b.name,
                            attributes=dict(b.attributes), step="design"))
            if spans and b.start == 0:
                labels.setdefault(b.name, spans[0])
        for h in design.design_hits(text, scaffold_doc=scaffold):
            m = ctx.add(Mention(h.type, h.value, para.spans(h.start, h.end), h.certainty, normalized=h.value,
                                attributes=dict(h.attributes), step="design"))
            if h.type == "fire_separation_distance" and "between" not in m.attributes:
                pending_sep.append(m)
    for m in pending_sep:
        between = _nearest_buildings(ctx, m.spans[0], labels) if m.spans else []
        if between:
            m.attributes["between"] = between
            m.certainty = 0.8
        else:
            m.certainty = 0.6


# --------------------------------------------------------------------------- plans


# A responsibility system states the principal's duties in words like these,
# with or without naming the person (the law asks for the duties).
_PRINCIPAL_DUTY = re.compile(r"(?<!副)(?:主要负责人|第一责任人|法定代表人|董事长|总经理|厂长|矿长)[^。；;]{0,30}?"
                             r"(?:第一责任人|全面负责|负全面责任|负总责|安全生产职责|安全生产责任[:：])")


def step_duties(ctx: Context) -> None:
    """``duty_statement`` fields: where a responsibility system states the
    principal's responsibility for safety (主要负责人…全面负责, 董事长为第一责任人)."""
    if ctx.doc_type != "responsibility_system":
        return
    for para in paragraphs(ctx.view):  # the words may wrap onto the next line
        m = _PRINCIPAL_DUTY.search(para.text)
        if m:
            ctx.add(Mention("duty_statement", "principal", para.spans(m.start(), m.end()), 0.9,
                            normalized="principal", role="principal", attributes={"text": m.group()},
                            step="duties"))
            return


_WRAP = 24  # characters on each side of a line break searched for a broken measure (a clause may wrap mid-way)


def step_plans(ctx: Context) -> None:
    if ctx.doc_type != "scaffold_plan":
        return
    seen_sections: set[str] = set()
    seen_measures: set[str] = set()
    section = None
    prose = None  # the last line of running text, for words broken over a line end
    for ln in ctx.view.flow():
        if not ln.text:
            continue
        h = plans.section_heading(ln.text)
        if h:
            section = h.key
        elif section == "schedule":
            # The plan's own schedule: dates with no role of the contract's,
            # kept because a reviewer compares them with the works.
            for d in find_dates(ln.text):
                ctx.add(Mention("date", d.iso, [Span(ln.id, d.start, d.end)], 0.85, normalized=d.iso,
                                attributes={"of": "document", "section": "schedule"}, step="plans"))
        if h and h.key not in seen_sections:
            seen_sections.add(h.key)
            ctx.add(Mention("plan_section", h.key, [Span(ln.id, 0, len(ln.text))], 0.9, normalized=h.key,
                            attributes={"heading": h.heading}, step="plans"))
            continue
        for key, s, e in plans.measures_in(ln.text):
            if key not in seen_measures:
                seen_measures.add(key)
                ctx.add(Mention("safety_measure", key, [Span(ln.id, s, e)], 0.9, normalized=key,
                                attributes={"text": ln.text[:120]}, step="plans"))
        if prose is not None:
            # A measure's words broken over two lines ("…满挂密" / "目式安全立网…"),
            # perhaps with a running header read in between: look across the break.
            tail = prose.text[-_WRAP:]
            for key, s, e in plans.measures_in(tail + ln.text[:_WRAP]):
                if key not in seen_measures and s < len(tail) < e:
                    seen_measures.add(key)
                    spans = [Span(prose.id, len(prose.text) - len(tail) + s, len(prose.text)),
                             Span(ln.id, 0, e - len(tail))]
                    ctx.add(Mention("safety_measure", key, spans, 0.85, normalized=key,
                                    attributes={"text": (tail + ln.text)[:120]}, step="plans"))
        if len(ln.text) >= 12:
            prose = ln


__all__ = [
    "Context",
    "label_key",
    "step_dates",
    "step_design",
    "step_doctype",
    "step_identifiers",
    "step_keyvalue",
    "step_duties",
    "step_plans",
    "step_prose_names",
    "step_roles",
    "step_tables",
]
