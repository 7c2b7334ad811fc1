"""completeness.*: documents the checklist requires, items required inside documents."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField

from checks.engine import Citation, Confidence, Fact, RuleContext, rule
from checks.model import Finding
from checks.rules._common import DOMAIN
from checks.testing import example, f
from checks.view import ApplicationView, value_of
from extractor.model import Evidence

CHECKLISTS = Path(__file__).resolve().parent.parent / "tables" / "checklists.yaml"

_ALL_CONSTRUCTION = {
    "app": "application_form", "bl": "business_licence", "rs": "responsibility_system", "si": "safety_investment",
    "so": "safety_organisation", "mr": "managers_roster", "sr": "special_operations_roster", "tr": "training_record",
    "in": "insurance", "ep": "emergency_plan", "mi": "machinery_inspection", "oh": "occupational_health",
    "sp": "scaffold_plan",
}
_ALL_HAZCHEM = {k: v for k, v in _ALL_CONSTRUCTION.items() if k not in ("mi", "sp")} | {"sa": "safety_assessment"}


class ChecklistItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    title: str
    doc_types: list[str]
    basis: str
    confidence: Confidence
    recognised: bool = True
    when: str | None = None  # the condition under which the item is required ("有重大危险源的"), Chinese
    # Measures or arrangements a package may describe inside another document (职业危害防治措施,
    # 安全管理机构): a passing mention asks a person. A document that must itself be submitted
    # (a plan, a proof of insurance) is missing however often other documents name it.
    embeddable: bool = False


class Checklist(BaseModel):
    model_config = ConfigDict(extra="forbid")

    basis: str
    items: list[ChecklistItem]


class ChecklistFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    source: str
    confidence: Confidence
    checklists: dict[str, Checklist]


@lru_cache(maxsize=1)
def load_checklists() -> ChecklistFile:
    return ChecklistFile.model_validate(yaml.safe_load(CHECKLISTS.read_text(encoding="utf-8")))


class DocumentsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ask_unrecognised: bool = PydField(
        True, description="对系统尚不能自动识别的清单项，提示人工核对（待核实）")
    min_doc_type_confidence: float = PydField(
        0.5, ge=0, le=1,
        description="类型为“其他”且分类置信度低于此值的文件，可能就是缺少的材料：此时缺少判为待核实而非不通过")


@rule(
    "completeness.documents.v3",
    category="completeness.missing_document",
    requires=[],
    citation=Citation(standard="《安全生产许可证条例》", edition="国务院令第397号（2014年修订）",
                      clause="第六条；建筑施工企业另依建设部令第128号第四条、第六条"),
    severity="high",
    params=DocumentsParams,
    tables=["../tables/checklists.yaml"],
    facts=[
        Fact(statement="条例第六条列出13项安全生产条件", source=f"{DOMAIN} §3.1", confidence="H"),
        Fact(statement="建设部令128号第四条12项条件，第六条申请材料", source=f"{DOMAIN} §3.2", confidence="H"),
        Fact(statement="建筑施工企业申请材料目录（建质〔2004〕148号）", source=f"{DOMAIN} §3.2 (jianzhugj.cn)", confidence="M"),
    ],
    examples=[
        example("fail", "缺少工伤保险证明", docs={k: v for k, v in _ALL_CONSTRUCTION.items() if k != "in"},
                params={"ask_unrecognised": False}),
        example("pass", "材料齐全", docs=_ALL_CONSTRUCTION, params={"ask_unrecognised": False}),
        example("uncertain", "缺少的材料可能在无法读取的文件中",
                docs={**{k: v for k, v in _ALL_CONSTRUCTION.items() if k != "in"}, "bad": "other"},
                errors=["bad"], params={"ask_unrecognised": False}),
        example("uncertain", "危险化学品企业未见重大危险源材料：仅有重大危险源的须提交，须说明是否适用",
                docs=_ALL_HAZCHEM, industry="hazardous_chemicals"),
        example("pass", "危险化学品企业材料齐全（含重大危险源辨识与监控措施）",
                docs=_ALL_HAZCHEM | {"mh": "major_hazards"}, industry="hazardous_chemicals"),
        example("uncertain", "缺少的材料可能是一份未能确定类型的文件",
                docs={k: v for k, v in _ALL_CONSTRUCTION.items() if k != "in"}, params={"ask_unrecognised": False},
                low_confidence_docs=["x"]),
    ],
)
def documents(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """按行业的申请材料清单核对材料是否齐全。

    清单为数据（checks/tables/checklists.yaml）。一份材料的标题（含文件名）、章节标题或明确表述涵盖的清单项目
    （如“安全投入及工伤保险情况”、“第四章 职业危害防治”、“设立安全生产管理科”）视为已提交；仅顺带提及的判为待核实。
    缺少的材料若可能在无法读取的文件中，判为待核实；
    仅在一定条件下须提交的材料（如有重大危险源的）缺少时判为待核实（低），请申请人说明是否适用；
    系统尚不能识别的材料类别合并为一条待核实提示。
    """
    lists = load_checklists().checklists
    checklist = lists.get(view.industry or "", lists["default"])
    # A combined document ("安全投入及工伤保险情况") covers more than its own type.
    present = {d.doc_type for d in view.documents} | {c.doc_type for d in view.documents for c in d.covers
                                                       if c.how != "mention"}
    # Files that could be the missing one: unreadable, or read but not confidently classified.
    unreadable = [d for d in view.documents if d.doc_type == "other"
                  and (d.status == "error" or d.doc_type_confidence < ctx.params.min_doc_type_confidence)]
    unrecognised = []
    for item in checklist.items:
        if not item.recognised:
            unrecognised.append(item)
            continue
        if present.intersection(item.doc_types):
            continue
        cite = f"{checklist.basis} {item.basis}"
        if item.when:
            # Required only for some applicants: its absence is a question.
            yield ctx.uncertain(f"未见“{item.title}”（{item.when}须提交）",
                                reason=f"该项仅{item.when}须提交，材料中未说明是否适用", key=item.key, citation=cite,
                                severity="low", expected=item.title, actual="未识别到",
                                suggestion=f"如{item.when.removesuffix('的')}，请补充提交“{item.title}”；否则请书面说明不适用。")
            continue
        mentioned = [(d, c) for d in view.documents for t in item.doc_types
                     if item.embeddable and (c := d.covering(t, strong=False)) is not None]
        if mentioned:
            # Named in passing ("…劳动防护用品、职业健康…等共19项制度"): maybe covered inside a
            # document, maybe not submitted; a person can tell at a glance.
            d, c = mentioned[0]
            yield ctx.uncertain(f"未见单独的“{item.title}”，仅在 {d.path or d.id} 中提及",
                                reason=f"{d.path or d.id} 第 {c.page or 1} 页提到“{c.text}”，未能确定是否即为该项材料",
                                key=item.key, citation=cite, expected=item.title, actual="仅有提及",
                                evidence=[Evidence(document=d.id, page=c.page, text=c.text)],
                                suggestion=f"如该文件已包含“{item.title}”，请在审查中确认；否则请补充提交。")
            continue
        if unreadable:
            paths = "、".join(d.path or d.id for d in unreadable)
            yield ctx.uncertain(f"未识别到“{item.title}”",
                                reason=f"有 {len(unreadable)} 份文件无法读取或未能确定类型（{paths}），可能包含该材料",
                                key=item.key, citation=cite, expected=item.title, actual="未识别到",
                                suggestion=f"请重新提供清晰可读的文件，或补充提交“{item.title}”。")
        else:
            yield ctx.fail(f"申请材料中缺少“{item.title}”", key=item.key, citation=cite,
                           expected=item.title, actual="未提交",
                           suggestion=f"请补充提交“{item.title}”。")
    if unrecognised and ctx.params.ask_unrecognised:
        titles = "；".join(i.title for i in unrecognised)
        yield ctx.uncertain(f"以下清单材料本系统尚不能自动识别，请人工核对是否已提交：{titles}",
                            reason="系统尚不能区分此类文件", key="unrecognised", severity="low",
                            citation=checklist.basis, expected=titles,
                            suggestion="如未提交，请补充上述材料。")


def _is_row(r) -> bool:
    """A roster row names a person and states their ID, certificate or its validity. A signature or
    heading block (a name, a signing date, perhaps a stray category) is not a row; a name with only
    an operation category is a row when the person is listed as an operator."""
    name = r.first("person_name")
    if name is None:
        return False
    if any(x.type in ("resident_id", "cert_no") or (x.type == "date" and x.role in ("valid_until", "valid_from", "issued"))
           for x in r.fields):
        return True
    return r.first("operation_category") is not None and name.role in (None, "special_operator")


def _belongs(cert, name, rid) -> bool:
    """An unattached certificate number that names this person (holder) or embeds their ID (T + ID)."""
    holder = cert.attributes.get("holder")
    if holder and name is not None and str(holder).replace(" ", "") == str(value_of(name)).replace(" ", ""):
        return True
    number = str(value_of(cert)).strip().upper()
    return rid is not None and number == "T" + str(value_of(rid)).strip().upper()


@rule(
    "completeness.roster_cert_no.v1",
    category="completeness.missing_field",
    requires=["person_name", "cert_no"],
    citation=Citation(standard="《安全生产许可证条例》", edition="国务院令第397号（2014年修订）",
                      clause="第六条（四）（五）：管理人员考核合格、特种作业人员持证上岗"),
    severity="high",
    facts=[Fact(statement="名册须逐人列明证书编号（特种作业人员名册：姓名、性别、身份证号、作业类别、证书编号、有效期）",
                source="shared/domain.md 'What a package holds'; " + f"{DOMAIN} §3.2 材料目录第6、7项", confidence="M")],
    examples=[
        example("fail", "名册中一行没有证书编号", [
            f("person_name", "钱七", role="special_operator", record=1, doc="r"),
            f("resident_id", "360426199101010071", record=1, doc="r"),
        ], docs={"r": "special_operations_roster"}),
        example("pass", "每行都有证书编号；名册末尾的签字人不是人员行", [
            f("person_name", "周九", role="principal", record="sign", doc="r"),
            f("date", "2026-11-01", role="signed", record="sign", doc="r"),
            f("operation_category", "建筑电工", record="sign", doc="r"),
            f("person_name", "钱七", role="special_operator", record=1, doc="r"),
            f("cert_no", "T360426199101010071", cert_type="special_operation", record=1, doc="r"),
        ], docs={"r": "special_operations_roster"}),
        example("uncertain", "名册中未识别到任何人员记录", docs={"r": "special_operations_roster"}),
        example("uncertain", "行被拆开：姓名行无证书号，另有未关联人员的证书号", [
            f("person_name", "钱七", role="special_operator", record=1, doc="r"),
            f("resident_id", "360426199101010071", record=1, doc="r"),
            f("cert_no", "晋A012008000001", cert_type="construction_special_operation", record=2, doc="r"),
        ], docs={"r": "special_operations_roster"}),
    ],
)
def roster_cert_no(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """人员名册（管理人员、特种作业人员）中每一行都须有证书编号。

    名册可读但未识别到任何人员记录时判为待核实（可能是表格识别失败）。
    """
    for d in view.documents_of("managers_roster", "special_operations_roster"):
        if d.status == "error":
            continue  # an unreadable document is reported by extraction and by the checklist rule
        # A roster row names a person and states something else about them; a name alone in
        # its own record is a signature or a heading, not a row.
        recs = [r for r in view.records() if r.document == d.id and _is_row(r)]
        if not recs:
            yield ctx.uncertain(f"名册 {d.path or d.id} 中未识别到人员记录，无法核对证书编号",
                                reason="表格内容未能识别", key=f"empty:{d.id}",
                                suggestion="请提供清晰的名册（建议提交可复制文字的电子版）。")
            continue
        yield from _rows_without(
            view, ctx, d, recs, "cert_no", "证书编号", belongs=_belongs,
            demand=lambda who: f"请补填 {who} 的证书编号并附证书复印件；无证人员不得从事相应岗位。",
            message=lambda who: f"名册 {d.path or d.id} 中人员 {who} 未填写证书编号",
            split="（表格行识别不完整）")


def _rows_without(view: ApplicationView, ctx: RuleContext, d, recs: list, ftype: str, what: str, *,
                  demand, message, belongs=None, split: str = "") -> Iterator[Finding]:
    """A roster row lacking ``ftype``: a fail, or uncertain when a value of that type
    on the roster is attached to nobody (the table reader may have split the row)."""
    orphans = [x for x in view.fields_in(d.id, ftype)
               if str(value_of(x)).strip() and ((rec := view.record_of(x)) is None or rec.first("person_name") is None)]
    for r in recs:
        if any(str(value_of(x)).strip() for x in r.all(ftype)):
            continue
        name = r.first("person_name")
        if belongs is not None and any(belongs(x, name, r.first("resident_id")) for x in orphans):
            continue
        who = value_of(name)
        if orphans:
            yield ctx.uncertain(f"名册 {d.path or d.id} 中人员 {who} 的行内未识别到{what}",
                                reason=f"名册中另有 {len(orphans)} 个{what}未能关联到人员，可能属于该行{split}",
                                evidence=r.fields + orphans[:3], key=f"{d.id}:{r.key}",
                                suggestion=f"请核对 {who} 的{what}是否已填写。")
            continue
        yield ctx.fail(message(who), evidence=r.fields, key=f"{d.id}:{r.key}", expected=what, actual="空",
                       suggestion=demand(who))


@rule(
    "completeness.roster_id_no.v1",
    category="completeness.missing_field",
    requires=["person_name", "resident_id"],
    citation=Citation(standard="《特种作业人员安全技术培训考核管理规定》", edition="原安监总局令第30号",
                      clause="特种作业人员名册须列明身份证号（持证上岗核验以身份证号为准）"),
    severity="medium",
    facts=[Fact(statement="特种作业人员名册：姓名、性别、身份证号、作业类别、证书编号、有效期",
                source="shared/domain.md 'What a package holds'", confidence="M")],
    examples=[
        example("fail", "名册中其他行都有身份证号，一行没有", [
            f("person_name", "钱七", role="special_operator", record=1, doc="r"),
            f("resident_id", "360426199101010071", record=1, doc="r"),
            f("cert_no", "T360426199101010071", cert_type="special_operation", record=1, doc="r"),
            f("person_name", "孙八", role="special_operator", record=2, doc="r"),
            f("cert_no", "晋A012008000001", cert_type="construction_special_operation", record=2, doc="r"),
        ], docs={"r": "special_operations_roster"}),
        example("pass", "每行都有身份证号", [
            f("person_name", "钱七", role="special_operator", record=1, doc="r"),
            f("resident_id", "360426199101010071", record=1, doc="r"),
            f("cert_no", "T360426199101010071", cert_type="special_operation", record=1, doc="r"),
        ], docs={"r": "special_operations_roster"}),
        example("uncertain", "行内无身份证号，但名册中另有未关联到人员的身份证号", [
            f("person_name", "钱七", role="special_operator", record=1, doc="r"),
            f("resident_id", "360426199101010071", record=1, doc="r"),
            f("person_name", "孙八", role="special_operator", record=2, doc="r"),
            f("cert_no", "晋A012008000001", cert_type="construction_special_operation", record=2, doc="r"),
            f("resident_id", "110101198001014513", record=9, doc="r"),
        ], docs={"r": "special_operations_roster"}),
    ],
)
def roster_id_no(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """特种作业人员名册中每一行都须有身份证号。

    只在名册多数行载有身份证号时逐行核对（整张名册无身份证号栏另由人工判断）；名册中另有未关联到
    人员的身份证号时判为待核实（表格行识别不完整）。
    """
    for d in view.documents_of("special_operations_roster"):
        if d.status == "error":
            continue
        recs = [r for r in view.records() if r.document == d.id and _is_row(r)]
        with_id = [r for r in recs if r.first("resident_id") is not None]
        if len(recs) < 2 or len(with_id) * 2 < len(recs):
            continue  # no ID column to speak of: not a row's omission
        yield from _rows_without(
            view, ctx, d, recs, "resident_id", "身份证号",
            demand=lambda who: f"请补填 {who} 的身份证号并附身份证复印件。",
            message=lambda who: f"特种作业人员名册 {d.path or d.id} 中人员 {who} 未填写身份证号")


@rule(
    "completeness.responsibility_principal.v2",
    category="completeness.missing_field",
    requires=["person_name", "duty_statement"],
    citation=Citation(standard="《安全生产许可证条例》", edition="国务院令第397号（2014年修订）",
                      clause="第六条（一）：建立、健全安全生产责任制"),
    severity="high",
    facts=[
        Fact(statement="安全生产责任制须明确主要负责人（第一责任人）的安全生产职责", source=f"{DOMAIN} §3.1 第六条（一）", confidence="H"),
        Fact(statement="责任制文件须以企业文件形式发布并由法定代表人签署（福建）", source=f"{DOMAIN} §3.2", confidence="M"),
    ],
    examples=[
        example("fail", "责任制未写明主要负责人", [f("person_name", "孙八", role="safety_manager", doc="rs")],
                docs={"rs": "responsibility_system"}),
        example("pass", "责任制写明主要负责人", [f("person_name", "周九", role="principal", doc="rs", title="总经理")],
                docs={"rs": "responsibility_system"}),
        example("pass", "责任制未写姓名，但规定董事长为第一责任人、对安全生产全面负责",
                [f("duty_statement", "principal", role="principal", doc="rs", text="董事长兼总经理是本单位安全生产第一责任人")],
                docs={"rs": "responsibility_system"}),
        example("uncertain", "责任制文件无法读取", docs={"rs": "responsibility_system"}, errors=["rs"]),
    ],
)
def responsibility_principal(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """安全生产责任制须明确主要负责人（第一责任人）及其安全生产职责。

    写明主要负责人姓名，或写明“主要负责人/董事长/总经理……为第一责任人、全面负责”等职责条款（未写姓名），
    均视为已明确；两者皆无时判为不通过。
    """
    for d in view.documents_of("responsibility_system"):
        if d.status == "error":
            yield ctx.uncertain(f"安全生产责任制 {d.path or d.id} 无法读取，无法核对是否明确主要负责人",
                                reason="文件读取失败", key=f"unreadable:{d.id}",
                                suggestion="请提供清晰可读的安全生产责任制文件。")
            continue
        named = [x for x in view.fields_in(d.id, "person_name") if x.role in ("principal", "legal_representative")]
        # The law asks for the principal's duties, not a name: "董事长兼总经理是本单位
        # 安全生产第一责任人，对…全面负责" establishes them as well.
        stated = [x for x in view.fields_in(d.id, "duty_statement") if x.role == "principal"]
        if not named and not stated:
            yield ctx.fail(f"安全生产责任制 {d.path or d.id} 未明确主要负责人（第一责任人）", key=d.id,
                           evidence=[Evidence(document=d.id, text=d.path or d.id)],
                           expected="写明主要负责人姓名及其安全生产职责", actual="未载明",
                           suggestion="请在安全生产责任制中明确主要负责人（第一责任人）及其职责，并以企业文件形式发布。")
