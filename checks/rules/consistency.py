"""consistency.conflict: the same person, company or number stated differently."""

from __future__ import annotations

import datetime as _dt
import re
from collections import defaultdict
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField

from checks.engine import Citation, Fact, RuleContext, rule
from checks.doubt import char_doubtful, substituted
from checks.model import Finding
from checks.rules._common import DOMAIN, ident, is_legal_form, name_key, partial_readings
from checks.testing import example, f
from checks.view import ApplicationView, value_of
from extractor.model import Field, Source

DOC_NAMES = {
    "business_licence": "营业执照", "application_form": "申请表", "responsibility_system": "安全生产责任制",
    "managers_roster": "管理人员名册", "special_operations_roster": "特种作业人员名册", "certificate": "证书",
    "safety_organisation": "安全机构设置文件", "training_record": "培训记录", "insurance": "工伤保险证明",
    "emergency_plan": "应急预案", "scaffold_plan": "脚手架专项方案", "site_plan": "总平面图",
    "evacuation_plan": "疏散图", "safety_investment": "安全投入证明", "machinery_inspection": "起重机械检验证明",
    "occupational_health": "职业危害防治措施", "safety_assessment": "安全评价报告", "major_hazards": "重大危险源材料",
    "major_works_measures": "危大工程监控措施", "other": "其他材料",
}


def _where(view: ApplicationView, fld: Field) -> str:
    d = view.document(fld.document)
    label = DOC_NAMES.get(d.doc_type, d.doc_type) if d else fld.document
    return f"{label}（{d.path if d and d.path else fld.document}）"


def _describe(view: ApplicationView, values: dict[str, list[Field]]) -> str:
    parts = []
    for v, fl in values.items():
        places = "、".join(sorted({_where(view, x) for x in fl}))
        parts.append(f"{v}（见{places}）")
    return "；".join(parts)


class PersonParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ocr_min_confidence: float = PydField(
        0.90, ge=0, le=1, description="不同的号码都出自低于此置信度的识别结果时，判为待核实（可能是识别误差）")
    typo_max_diff: int = PydField(
        2, ge=0, le=18,
        description="同名人员的两个身份证号相差不超过此位数时判为不一致（笔误）；相差更多可能是同名的不同人员，判为待核实")


def _diff(a: str, b: str) -> int:
    """Digits that differ between two ID numbers of one length. An 18-digit number's
    last character is computed from the rest: a slip in the body changes it as
    well, so it is not counted (two digits swapped in the birth date are a slip
    of two, not three)."""
    if len(a) != len(b):
        return max(len(a), len(b))
    if len(a) == 18:
        a, b = a[:17], b[:17]
    return sum(x != y for x, y in zip(a, b))


@rule(
    "consistency.person_identity.v1",
    category="consistency.conflict",
    requires=["person_name", "resident_id", "cert_no"],
    citation=Citation(standard="《安全生产许可证条例》", edition="国务院令第397号（2014年修订）",
                      clause="第六条（四）（五）：人员须考核合格、持证上岗；申请材料须真实一致"),
    severity="high",
    params=PersonParams,
    facts=[
        Fact(statement="公民身份号码终身不变、一人一号", source=f"{DOMAIN} §1.1 (GB 11643)", confidence="H"),
        Fact(statement="特种作业操作证号 = T + 身份证号，同一人同类证书号应一致", source=f"{DOMAIN} §2.3", confidence="M"),
    ],
    examples=[
        example("fail", "同一人在名册与证书中身份证号相差一位", [
            f("person_name", "李四", record=1, doc="roster"), f("resident_id", "360426199101010071", record=1, doc="roster"),
            f("person_name", "李四", record=1, doc="cert"), f("resident_id", "360426199101010081", record=1, doc="cert"),
        ], docs={"roster": "special_operations_roster", "cert": "certificate"}),
        example("fail", "同一证书号在两份材料中的持证人不同", [
            f("cert_no", "京建安A(2020)0012345", cert_type="safety_assessment_a", holder="王五", doc="roster"),
            f("cert_no", "京建安A(2020)0012345", cert_type="safety_assessment_a", holder="王武", doc="cert"),
        ], docs={"roster": "managers_roster", "cert": "certificate"}),
        example("pass", "各材料中同一人信息一致", [
            f("person_name", "李四", record=1, doc="roster"), f("resident_id", "360426199101010071", record=1, doc="roster"),
            f("cert_no", "T360426199101010071", cert_type="special_operation", record=1, doc="roster"),
            f("person_name", "李 四", record=7, doc="cert"), f("resident_id", "360426199101010071", record=7, doc="cert"),
            f("cert_no", "T360426199101010071", cert_type="special_operation", record=7, doc="cert"),
        ], docs={"roster": "special_operations_roster", "cert": "certificate"}),
        example("uncertain", "同名但身份证号完全不同（可能为两人）", [
            f("person_name", "王伟", record=1, doc="a"), f("resident_id", "360426199101010071", record=1, doc="a"),
            f("person_name", "王伟", record=2, doc="b"), f("resident_id", "412723199010050012", record=2, doc="b"),
        ], docs={"a": "managers_roster", "b": "special_operations_roster"}),
    ],
)
def person_identity(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """同一人员在不同材料中的身份证号、证书编号是否一致；同一证书号的持证人是否一致。

    只比较来自不同文件的记载。同名而身份证号差异很大的，可能是同名的不同人员，判为待核实。
    """
    ids_by_name: dict[str, dict[str, list[Field]]] = defaultdict(lambda: defaultdict(list))
    names_by_id: dict[str, dict[str, list[Field]]] = defaultdict(lambda: defaultdict(list))
    certs_by_person: dict[tuple, dict[str, list[Field]]] = defaultdict(lambda: defaultdict(list))
    holders_by_cert: dict[str, dict[str, list[Field]]] = defaultdict(lambda: defaultdict(list))

    for rec in view.records():
        name_f = rec.first("person_name")
        name = name_key(value_of(name_f)) if name_f else None
        rid = rec.first("resident_id")
        if name and rid:
            ids_by_name[name][ident(rid)].extend([name_f, rid])
            names_by_id[ident(rid)][name].extend([rid, name_f])
        for c in rec.all("cert_no"):
            holder = name or (name_key(c.attributes["holder"]) if c.attributes.get("holder") else None)
            if holder:
                key = (holder, c.attributes.get("cert_type"), c.attributes.get("category"))
                certs_by_person[key][ident(c)].append(c)
                holders_by_cert[ident(c)][holder].append(c)
    for c in view.fields_of("cert_no"):
        if view.record_of(c) is None and c.attributes.get("holder"):
            holder = name_key(c.attributes["holder"])
            certs_by_person[(holder, c.attributes.get("cert_type"), c.attributes.get("category"))][ident(c)].append(c)
            holders_by_cert[ident(c)][holder].append(c)

    def across_docs(values: dict[str, list[Field]]) -> bool:
        return len(values) > 1 and len({x.document for fl in values.values() for x in fl}) > 1

    for name, values in ids_by_name.items():
        if not across_docs(values):
            continue
        ids = sorted(values)
        ev = [x for fl in values.values() for x in fl]
        close = all(_diff(a, b) <= ctx.params.typo_max_diff for a in ids for b in ids)
        msg = f"人员 {name} 在不同材料中的身份证号不一致：{_describe(view, {k: [x for x in v if x.type == 'resident_id'] for k, v in values.items()})}"
        doubtful = all(x.source == "ocr" and x.confidence < ctx.params.ocr_min_confidence
                       for v in ids if v != max(ids, key=lambda k: len(values[k]))
                       for x in values[v] if x.type == "resident_id")
        if close and doubtful:
            yield ctx.uncertain(msg, evidence=ev, actual="、".join(ids), key=f"id:{name}",
                                reason="不同的号码出自低置信度的识别结果，可能是识别误差",
                                suggestion=f"请核对 {name} 的身份证号。")
        elif close:
            yield ctx.fail(msg, evidence=ev, expected="同一人员各材料中身份证号一致", actual="、".join(ids),
                           key=f"id:{name}", suggestion=f"请核对 {name} 的身份证，统一更正各材料中的身份证号。")
        else:
            yield ctx.uncertain(msg, evidence=ev, actual="、".join(ids), key=f"id:{name}",
                                reason="两个号码差异较大，可能是同名的不同人员",
                                suggestion=f"请说明名为 {name} 的是否为同一人，并核对身份证号。")
    for rid, values in names_by_id.items():
        if across_docs(values):
            ev = [x for fl in values.values() for x in fl]
            names_only = {k: [x for x in v if x.type == "person_name"] for k, v in values.items()}
            if _ocr_variants(names_only, ctx.params.ocr_min_confidence):
                yield ctx.uncertain(f"身份证号 {rid} 在不同材料中对应的姓名写法不同：{'、'.join(sorted(values))}",
                                    evidence=ev, actual="、".join(sorted(values)), key=f"name:{rid}",
                                    reason="姓名仅一字之差，且出自低置信度的识别结果，可能是识别误差",
                                    suggestion="请核对该人员的姓名。")
                continue
            yield ctx.fail(f"身份证号 {rid} 在不同材料中对应不同姓名：{'、'.join(sorted(values))}", evidence=ev,
                           expected="一个身份证号只对应一人", actual="、".join(sorted(values)), key=f"name:{rid}",
                           suggestion="请核对该人员的姓名与身份证号，更正错误的材料。")
    for (holder, ctype, _cat), values in certs_by_person.items():
        if across_docs(values):
            ev = [x for fl in values.values() for x in fl]
            # The holders' ID numbers, where the rows state them, tell namesakes from one person.
            ids = sorted({ident(r) for x in ev if (rec := view.record_of(x)) and (r := rec.first("resident_id"))})
            if len(ids) > 1 and not all(_diff(a, b) <= ctx.params.typo_max_diff for a in ids for b in ids):
                yield ctx.uncertain(f"名为 {holder} 的人员在不同材料中的同类证书编号不同：{_describe(view, values)}",
                                    evidence=ev, actual="、".join(sorted(values)), key=f"cert:{holder}:{ctype}",
                                    reason="身份证号也不同，可能是同名的不同人员",
                                    suggestion=f"请说明名为 {holder} 的是否为同一人，并核对证书编号。")
                continue
            yield ctx.fail(f"人员 {holder} 的同类证书在不同材料中编号不一致：{_describe(view, values)}", evidence=ev,
                           expected="同一证书各材料编号一致", actual="、".join(sorted(values)), key=f"cert:{holder}:{ctype}",
                           suggestion=f"请核对 {holder} 的证书原件，统一更正证书编号。")
    for no, values in holders_by_cert.items():
        if across_docs(values):
            ev = [x for fl in values.values() for x in fl]
            yield ctx.fail(f"证书编号 {no} 在不同材料中的持证人不同：{'、'.join(sorted(values))}", evidence=ev,
                           expected="同一证书号只对应一名持证人", actual="、".join(sorted(values)), key=f"holder:{no}",
                           suggestion="请核对证书原件，更正持证人姓名或证书编号。")


APPLICANT_ROLES = ("applicant",)


class CompanyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ocr_min_confidence: float = PydField(
        0.90, ge=0, le=1,
        description="不一致的写法仅差一字、且都出自低于此置信度的识别结果时，判为待核实（可能是识别误差）")


def _ocr_variants(values: dict[str, list[Field]], threshold: float) -> bool:
    """True when the odd values are one character from the most attested one and were read with doubt."""
    from rapidfuzz.distance import Levenshtein

    main = max(values, key=lambda v: len(values[v]))
    others = [v for v in values if v != main]

    def misread(v: str, x: Field) -> bool:
        diff = substituted(v, main)
        if diff:  # the recogniser's score on the character that differs
            return all(char_doubtful(x, c, threshold) for c in diff)
        return x.source == "ocr" and x.confidence < threshold

    return all(
        values[v] and Levenshtein.distance(v, main) <= 1 and all(misread(v, x) for x in values[v])
        for v in others
    )


def _company_values(view: ApplicationView, type_: str, role: str | None) -> dict[str, list[Field]]:
    out: dict[str, list[Field]] = defaultdict(list)
    for fld in view.fields_of(type_):
        if role == "legal_representative":
            if fld.role != "legal_representative":
                continue
        elif fld.role not in APPLICANT_ROLES:
            continue
        if type_ == "company_name" and is_legal_form(value_of(fld)):
            continue  # the licence's 类型 line, not a name
        key = ident(fld) if type_ == "uscc" else name_key(value_of(fld))
        out[key].append(fld)
    return out


@rule(
    "consistency.company_identity.v1",
    category="consistency.conflict",
    requires=["company_name", "uscc", "person_name"],
    citation=Citation(standard="《建筑施工企业安全生产许可证管理规定》", edition="建设部令第128号（2015年修订）",
                      clause="第六条：申请材料（申请表、营业执照等）须与企业登记一致"),
    severity="high",
    params=CompanyParams,
    facts=[
        Fact(statement="营业执照载明企业名称、统一社会信用代码、法定代表人；其他材料须与之一致",
             source=f"{DOMAIN} §3.2; shared/domain.md 'What a package holds'", confidence="H"),
    ],
    examples=[
        example("fail", "责任制中的企业名称与营业执照不同", [
            f("company_name", "华建工程有限公司", role="applicant", doc="bl"),
            f("company_name", "华建建设工程有限公司", role="applicant", doc="rs"),
        ], docs={"bl": "business_licence", "rs": "responsibility_system"}, company_name=None),
        example("fail", "法定代表人姓名不同", [
            f("person_name", "赵六", role="legal_representative", doc="bl"),
            f("person_name", "赵陆", role="legal_representative", doc="af"),
        ], docs={"bl": "business_licence", "af": "application_form"}),
        example("pass", "名称仅括号全半角不同", [
            f("company_name", "华建（北京）工程有限公司", role="applicant", doc="bl"),
            f("company_name", "华建(北京)工程有限公司", role="applicant", doc="af"),
            f("uscc", "91110000600037341L", role="applicant", doc="bl"),
        ], docs={"bl": "business_licence", "af": "application_form"}, company_name="华建(北京)工程有限公司"),
        example("uncertain", "扫描件识别的名称差一字（低置信度），可能是识别误差", [
            f("company_name", "华建工程有限公司", role="applicant", doc="af"),
            f("company_name", "华建工程有限公司", role="applicant", doc="rs"),
            Field(type="company_name", value="华健工程有限公司", role="applicant", document="bl", page=1,
                  confidence=0.72, source=Source.OCR),
        ], docs={"af": "application_form", "rs": "responsibility_system", "bl": "business_licence"}, company_name=None),
        example("uncertain", "营业执照无法读取，无法比对", [
            f("company_name", "华建工程有限公司", role="applicant", doc="af"),
        ], docs={"af": "application_form", "bl": "business_licence"}, errors=["bl"], company_name=None),
    ],
)
def company_identity(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """企业名称、统一社会信用代码、法定代表人在营业执照、申请表、责任制等材料中是否一致。

    申请信息（application.json）中的名称与代码也参与比对。营业执照无法读取时判为待核实。
    """
    app = view.application
    checks = (
        ("company_name", None, "企业名称", app.company_name and name_key(app.company_name)),
        ("uscc", None, "统一社会信用代码", app.uscc and app.uscc.strip().upper()),
        ("person_name", "legal_representative", "法定代表人", None),
    )
    for type_, role, label, declared in checks:
        values = _company_values(view, type_, role)
        if declared and values and declared not in values:
            values = dict(values)
            values[declared] = []
        if len(values) > 1:
            ev = [x for fl in values.values() for x in fl]
            desc = "；".join(
                f"{v}（见{'、'.join(sorted({_where(view, x) for x in fl})) or '申请信息'}）" for v, fl in values.items())
            msg = f"{label}在不同材料中不一致：{desc}"
            docs = {x.document for x in ev}
            if len(docs) == 1 and not (declared and declared in values and not values[declared]):
                # Two spellings inside one document and nowhere else: more likely a misread than a conflict.
                yield ctx.uncertain(f"{label}在同一文件中出现不同写法：{desc}", evidence=ev, key=f"company:{type_}",
                                    actual="、".join(sorted(values)), reason="不同写法出自同一文件，可能是识别错误",
                                    suggestion=f"请核对该文件中的{label}。")
                continue
            partial = partial_readings(values)
            if partial and len(values) - len(partial) == 1:
                yield ctx.uncertain(msg, evidence=ev, key=f"company:{type_}", actual="、".join(sorted(values)),
                                    reason=f"“{'、'.join(sorted(partial))}”是另一写法的一部分，可能只识别出了部分文字",
                                    suggestion=f"请核对各材料中的{label}是否完整、一致。")
                continue
            if _ocr_variants(values, ctx.params.ocr_min_confidence):
                yield ctx.uncertain(msg, evidence=ev, key=f"company:{type_}", actual="、".join(sorted(values)),
                                    reason="不同之处仅一字之差，且出自低置信度的识别结果，可能是识别误差",
                                    suggestion=f"请核对各材料中的{label}是否与营业执照一致。")
                continue
            yield ctx.fail(msg, evidence=ev, key=f"company:{type_}",
                           expected=f"各材料{label}与营业执照一致", actual="、".join(sorted(values)),
                           suggestion=f"请以营业执照为准，统一更正各材料中的{label}。")
    licences = view.documents_of("business_licence")
    if licences and all(d.status == "error" for d in licences):
        yield ctx.uncertain("营业执照无法读取，无法核对企业名称、统一社会信用代码和法定代表人的一致性",
                            reason="营业执照文件读取失败", key="company:unreadable",
                            suggestion="请提供清晰的营业执照副本扫描件。")


_DATE_LIKE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


@rule(
    "consistency.cert_dates.v1",
    category="consistency.conflict",
    requires=["cert_no", "safety_licence_no", "date"],
    citation=Citation(standard="《安全生产许可证条例》", edition="国务院令第397号（2014年修订）",
                      clause="第六条（四）（五）：证书须在有效期内；发证日期不应晚于有效期截止日期"),
    severity="medium",
    facts=[Fact(statement="证书发证（有效期起始）日期必然早于有效期截止日期", source="逻辑约束（无需外部来源）", confidence="H")],
    examples=[
        example("fail", "发证日期晚于有效期截止日期", [
            f("cert_no", "京建安A(2020)0012345", cert_type="safety_assessment_a", record=1, doc="c"),
            f("date", "2024-05-01", role="issued", record=1, doc="c"),
            f("date", "2023-04-30", role="valid_until", record=1, doc="c"),
        ], docs={"c": "certificate"}),
        example("pass", "日期先后正确", [
            f("cert_no", "京建安A(2020)0012345", cert_type="safety_assessment_a", record=1, doc="c"),
            f("date", "2023-05-01", role="issued", record=1, doc="c"),
            f("date", "2026-04-30", role="valid_until", record=1, doc="c"),
        ], docs={"c": "certificate"}),
        example("pass", "营业期限为“长期”，不是可比较的日期", [
            f("date", "2005-08-22", role="valid_from", doc="bl", of="licence"),
            f("date", "长期", role="valid_until", doc="bl", of="licence"),
        ], docs={"bl": "business_licence"}),
        example("uncertain", "日期无法解析", [
            f("cert_no", "京建安A(2020)0012345", cert_type="safety_assessment_a", record=1, doc="c"),
            f("date", "2023-13-45", role="issued", record=1, doc="c"),
            f("date", "2026-04-30", role="valid_until", record=1, doc="c"),
        ], docs={"c": "certificate"}),
    ],
)
def cert_dates(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """同一证书（或许可证）的发证日期、有效期起始日期不得晚于有效期截止日期。"""
    groups: list[tuple[str, list[Field]]] = []
    for rec in view.records():
        dates = rec.all("date")
        if dates:
            label = rec.first("cert_no") or rec.first("safety_licence_no")
            groups.append((ident(label) if label else "证书", dates))
    for d in view.documents_of("certificate", "business_licence"):
        loose = [x for x in view.fields_in(d.id, "date") if view.record_of(x) is None]
        if loose:
            nos = [x for x in view.fields_in(d.id, "cert_no", "safety_licence_no") if view.record_of(x) is None]
            groups.append((ident(nos[0]) if nos else (d.path or d.id), loose))
    for label, dates in groups:
        parsed: dict[str, tuple[_dt.date, Field]] = {}
        for x in dates:
            if x.role not in ("issued", "valid_from", "valid_until"):
                continue
            raw = str(value_of(x)).strip()
            if not _DATE_LIKE.match(raw):
                continue  # "长期" (no end date) and other words are not dates to compare
            try:
                parsed[x.role] = (_dt.date.fromisoformat(raw), x)
            except ValueError:
                yield ctx.uncertain(f"{label} 的日期“{value_of(x)}”无法识别为有效日期", evidence=[x],
                                    reason="日期格式无法解析", key=f"unparsed:{label}:{x.role}",
                                    suggestion="请核对证书上的日期。")
        until = parsed.get("valid_until")
        if not until:
            continue
        for role, word in (("issued", "发证日期"), ("valid_from", "有效期起始日期")):
            start = parsed.get(role)
            if start and start[0] > until[0]:
                yield ctx.fail(f"{label} 的{word} {start[0].isoformat()} 晚于有效期截止日期 {until[0].isoformat()}",
                               evidence=[start[1], until[1]], key=f"{label}:{role}",
                               expected=f"{word}早于有效期截止日期", actual=f"{start[0]} > {until[0]}",
                               suggestion="请核对证书原件上的日期并更正，或提供有效证书。")
