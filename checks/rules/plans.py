"""plan.missing_measure: scaffold special plans, fall protection, expert review."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField

from checks.engine import Citation, Fact, RuleContext, rule
from checks.model import Finding
from checks.rules._common import DOMAIN, number
from checks.testing import example, f
from checks.view import ApplicationView, DocumentInfo, value_of
from extractor.model import Evidence, Field

SECTIONS = {
    "overview": "工程概况", "basis": "编制依据", "schedule": "施工计划", "process": "施工工艺技术",
    "safety_measures": "施工安全保证措施", "staffing": "施工管理及作业人员配备和分工", "acceptance": "验收要求",
    "emergency": "应急处置措施", "calculations": "计算书及相关施工图纸",
}


class ScaffoldParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    special_plan_height_m: float = PydField(24.0, gt=0, description="落地式钢管脚手架达到此高度须编制专项施工方案（危大工程）")
    expert_review_height_m: float = PydField(50.0, gt=0, description="落地式钢管脚手架达到此高度须组织专家论证（超过一定规模）")
    cantilever_expert_review_height_m: float = PydField(20.0, gt=0, description="悬挑式脚手架分段架体达到此高度须专家论证")


def _type(fld: Field) -> str:
    return str(fld.attributes.get("scaffold_type") or "")


def _needs_plan(fld: Field, h: float, p: ScaffoldParams) -> bool:
    t = _type(fld)
    # Cantilevered, attached-lifting and suspended scaffolds are 危大 at any height.
    return h >= p.special_plan_height_m or any(k in t for k in ("悬挑", "附着", "吊篮"))


def _needs_review(fld: Field, h: float, p: ScaffoldParams) -> bool:
    t = _type(fld)
    if "悬挑" in t:
        return h >= p.cantilever_expert_review_height_m
    if "附着" in t:
        return h >= 150.0
    return h >= p.expert_review_height_m


def _plan_docs(view: ApplicationView) -> list[DocumentInfo]:
    return view.documents_of("scaffold_plan")


_PLAN = {"plan": "scaffold_plan"}
_ALL_SECTIONS = [f("plan_section", k, doc="plan", heading=v) for k, v in SECTIONS.items()]


@rule(
    "jgj130.scaffold_special_plan.v2",
    category="plan.missing_measure",
    requires=["scaffold_height", "plan_section"],
    citation=Citation(standard="住房城乡建设部办公厅关于实施《危险性较大的分部分项工程安全管理规定》有关问题的通知",
                      edition="建办质〔2018〕31号", clause="附件一、三：专项施工方案内容"),
    severity="high",
    params=ScaffoldParams,
    industries=["construction"],
    facts=[
        Fact(statement="搭设高度24 m及以上的落地式钢管脚手架属危大工程，须编制专项施工方案；悬挑、附着升降、吊篮不论高度",
             source=f"{DOMAIN} §5.1 (jianshe99.com, yufuyq.com)", confidence="M"),
        Fact(statement="专项施工方案九项内容：工程概况…计算书及相关施工图纸", source=f"{DOMAIN} §5.1 (建办质〔2018〕31号 三)", confidence="M"),
    ],
    examples=[
        example("fail", "30 m 落地式脚手架方案缺少计算书和应急处置措施", [
            f("scaffold_height", 30.0, doc="plan", scaffold_type="落地式"),
            *[s for s in _ALL_SECTIONS if value_of(s) not in ("calculations", "emergency")],
        ], docs=_PLAN),
        example("fail", "36 m 脚手架但未提交专项施工方案", [f("scaffold_height", 36.0, doc="org")],
                docs={"org": "other"}),
        example("pass", "30 m 脚手架方案九项内容齐全", [f("scaffold_height", 30.0, doc="plan"), *_ALL_SECTIONS], docs=_PLAN),
        example("pass", "18 m 落地式脚手架无需专项方案", [f("scaffold_height", 18.0, doc="org", scaffold_type="落地式")],
                docs={"org": "other"}),
        example("uncertain", "脚手架方案未载明搭设高度", [*_ALL_SECTIONS[:3]], docs=_PLAN),
    ],
)
def scaffold_special_plan(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """危大脚手架须有专项施工方案，且方案须包含九项内容。

    高度达到阈值（或悬挑、附着升降、吊篮）而无脚手架方案判为不通过；方案缺少章节判为不通过；
    方案未载明搭设高度、或方案文件无法读取判为待核实。
    """
    p: ScaffoldParams = ctx.params
    heights = [(x, number(x)) for x in view.fields_of("scaffold_height")]
    needing = [(x, h) for x, h in heights if h is not None and _needs_plan(x, h, p)]
    plans = _plan_docs(view)
    readable = [d for d in plans if d.status == "ok"]
    # A plan bound into another document ("危大工程清单及落地式脚手架专项施工方案") is submitted;
    # its contents are checked only where it is a document of its own.
    bound = [d for d in view.documents if d.covering("scaffold_plan") and d.covering("scaffold_plan").how == "title"]
    if needing and not plans and not bound:
        x, h = max(needing, key=lambda t: t[1])
        yield ctx.fail(f"脚手架搭设高度 {h:g} m（{_type(x) or '落地式'}），属危险性较大的分部分项工程，但未提交脚手架专项施工方案",
                       evidence=[x for x, _ in needing], key="no-plan", expected="脚手架专项施工方案", actual="未提交",
                       suggestion="请编制并提交脚手架专项施工方案（含九项内容），经施工单位技术负责人审核签字。")
        return
    for d in plans:
        if d.status == "error":
            yield ctx.uncertain(f"脚手架方案 {d.path or d.id} 无法读取，无法核对方案内容", reason="文件读取失败",
                                key=f"unreadable:{d.id}", suggestion="请提供清晰可读的脚手架专项施工方案。")
    for d in readable:
        doc_heights = [(x, h) for x, h in heights if x.document == d.id and h is not None]
        relevant = [(x, h) for x, h in doc_heights if _needs_plan(x, h, p)] or ([] if doc_heights else needing)
        if not doc_heights and not needing:
            yield ctx.uncertain(f"脚手架方案 {d.path or d.id} 未载明搭设高度，无法判断是否须按专项施工方案编制",
                                reason="缺少脚手架搭设高度", key=f"no-height:{d.id}",
                                suggestion="请在方案中写明脚手架类型和搭设高度。")
            continue
        if not relevant:
            continue
        present = {str(value_of(s)) for s in view.fields_in(d.id, "plan_section")}
        missing = [v for k, v in SECTIONS.items() if k not in present]
        if missing:
            yield ctx.fail(f"脚手架专项施工方案 {d.path or d.id} 缺少以下内容：{'、'.join(missing)}",
                           evidence=[x for x, _ in relevant], key=f"sections:{d.id}",
                           expected="九项内容：" + "、".join(SECTIONS.values()), actual="缺少" + "、".join(missing),
                           suggestion=f"请在专项施工方案中补充：{'、'.join(missing)}。")


class FallParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    guard_rail_top_m: float = PydField(1.2, gt=0, description="防护栏杆上杆高度（m）")
    toe_board_min_m: float = PydField(0.18, gt=0, description="挡脚板最小高度（m）")


MEASURES = {
    "guard_rail": ("防护栏杆（上杆高1.2 m）", "guard_rail_height"),
    "toe_board": ("挡脚板（高度≥180 mm）", "toe_board_height"),
    "dense_mesh_net": ("密目式安全立网全封闭", None),
    "edge_protection": ("坠落高度2 m以上临边防护", None),
}


def _height_m(fld: Field) -> float | None:
    v = number(fld)
    if v is None:
        return None
    # Extraction converts mm to m; a value above 10 can only be millimetres left unconverted.
    return v / 1000 if v > 10 else v


@rule(
    "jgj80.fall_protection.v1",
    category="plan.missing_measure",
    requires=["safety_measure", "guard_rail_height", "toe_board_height", "scaffold_height", "plan_section"],
    citation=Citation(standard="JGJ 80", edition="2016", clause="高处作业安全技术规范 第4章临边作业；JGJ 130-2011 防护栏杆与挡脚板"),
    severity="high",
    params=FallParams,
    industries=["construction"],
    facts=[
        Fact(statement="临边防护：坠落高度≥2 m 须设防护栏杆并用密目式安全立网封闭", source=f"{DOMAIN} §5.3", confidence="M"),
        Fact(statement="防护栏杆上杆1.2 m，挡脚板≥180 mm", source=f"{DOMAIN} §5.2-5.3 (JGJ 130-2011, JGJ 80-2016)", confidence="M"),
    ],
    examples=[
        example("fail", "方案未写密目网，挡脚板仅150 mm", [
            f("safety_measure", "guard_rail", doc="plan"), f("guard_rail_height", 1.2, doc="plan"),
            f("safety_measure", "toe_board", doc="plan"), f("toe_board_height", 0.15, doc="plan"),
            f("safety_measure", "edge_protection", doc="plan"),
        ], docs=_PLAN),
        example("pass", "四项防护措施齐全、尺寸合规", [
            f("safety_measure", "guard_rail", doc="plan"), f("guard_rail_height", 1.2, doc="plan"),
            f("toe_board_height", 180, doc="plan"), f("safety_measure", "dense_mesh_net", doc="plan"),
            f("safety_measure", "edge_protection", doc="plan"),
        ], docs=_PLAN),
        example("uncertain", "脚手架方案无法读取", docs=_PLAN, errors=["plan"]),
    ],
)
def fall_protection(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """脚手架方案须写明防坠落措施：防护栏杆（上杆1.2 m）、挡脚板（≥180 mm）、密目式安全立网、临边防护。

    缺项或尺寸不足判为不通过；方案无法读取判为待核实。
    """
    p: FallParams = ctx.params
    for d in _plan_docs(view):
        if d.status == "error":
            yield ctx.uncertain(f"脚手架方案 {d.path or d.id} 无法读取，无法核对防坠落措施", reason="文件读取失败",
                                key=f"unreadable:{d.id}", suggestion="请提供清晰可读的脚手架专项施工方案。")
            continue
        stated = {str(value_of(m)) for m in view.fields_in(d.id, "safety_measure")}
        missing = []
        for key, (label, dim_type) in MEASURES.items():
            if key in stated or (dim_type and view.fields_in(d.id, dim_type)):
                continue
            missing.append(label)
        if missing:
            cite = view.fields_in(d.id, "scaffold_height", "plan_section")[:1] or [Evidence(document=d.id, text=d.path or d.id)]
            yield ctx.fail(f"脚手架方案 {d.path or d.id} 未写明以下防坠落措施：{'、'.join(missing)}", key=f"missing:{d.id}",
                           evidence=cite,
                           expected="、".join(v[0] for v in MEASURES.values()), actual="缺少" + "、".join(missing),
                           suggestion=f"请在方案的安全保证措施中补充：{'、'.join(missing)}。")
        for rail in view.fields_in(d.id, "guard_rail_height"):
            h = _height_m(rail)
            if h is not None and h < p.guard_rail_top_m:
                yield ctx.fail(f"防护栏杆上杆高度 {h:g} m 低于 {p.guard_rail_top_m:g} m", evidence=[rail], key=f"rail:{h}",
                               expected=f"{p.guard_rail_top_m:g} m", actual=f"{h:g} m",
                               suggestion=f"请将防护栏杆上杆高度调整为 {p.guard_rail_top_m:g} m。")
        for toe in view.fields_in(d.id, "toe_board_height"):
            h = _height_m(toe)
            if h is not None and h < p.toe_board_min_m - 1e-9:
                yield ctx.fail(f"挡脚板高度 {h * 1000:g} mm 低于 {p.toe_board_min_m * 1000:g} mm", evidence=[toe], key=f"toe:{h}",
                               expected=f"≥ {p.toe_board_min_m * 1000:g} mm", actual=f"{h * 1000:g} mm",
                               suggestion=f"请将挡脚板高度调整为不小于 {p.toe_board_min_m * 1000:g} mm。")


@rule(
    "jzb31.expert_review.v1",
    category="plan.missing_measure",
    requires=["scaffold_height", "safety_measure"],
    citation=Citation(standard="住房城乡建设部办公厅关于实施《危险性较大的分部分项工程安全管理规定》有关问题的通知",
                      edition="建办质〔2018〕31号", clause="附件二：超过一定规模的危大工程（专家论证）"),
    severity="high",
    params=ScaffoldParams,
    industries=["construction"],
    facts=[Fact(statement="落地式钢管脚手架≥50 m、悬挑式分段架体≥20 m、附着升降提升高度≥150 m 须专家论证",
                source=f"{DOMAIN} §5.1", confidence="M")],
    examples=[
        example("fail", "55 m 落地式脚手架未见专家论证", [f("scaffold_height", 55.0, doc="plan", scaffold_type="落地式")], docs=_PLAN),
        example("pass", "55 m 脚手架方案已组织专家论证", [
            f("scaffold_height", 55.0, doc="plan"), f("safety_measure", "expert_review", doc="plan")], docs=_PLAN),
        example("uncertain", "超规模脚手架的方案文件无法读取", [f("scaffold_height", 60.0, doc="org")],
                docs={"org": "other", "plan": "scaffold_plan"}, errors=["plan"]),
    ],
)
def expert_review(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """超过一定规模的脚手架工程须组织专家论证。

    方案中未见专家论证判为不通过；方案无法读取判为待核实。
    """
    p: ScaffoldParams = ctx.params
    big = [(x, h) for x in view.fields_of("scaffold_height") if (h := number(x)) is not None and _needs_review(x, h, p)]
    if not big:
        return
    reviewed = any(str(value_of(m)) == "expert_review" for m in view.fields_of("safety_measure"))
    if reviewed:
        return
    x, h = max(big, key=lambda t: t[1])
    if any(d.status == "error" for d in _plan_docs(view)):
        yield ctx.uncertain(f"脚手架搭设高度 {h:g} m 须专家论证，方案文件无法读取，无法核对", evidence=[x],
                            reason="方案文件读取失败", key="review", suggestion="请提供清晰可读的专项施工方案及专家论证报告。")
        return
    yield ctx.fail(f"脚手架搭设高度 {h:g} m（{_type(x) or '落地式'}），属超过一定规模的危大工程，未见专家论证",
                   evidence=[y for y, _ in big], key="review", expected="专项施工方案经专家论证", actual="未见专家论证",
                   suggestion="请组织专家对专项施工方案进行论证，并提交专家论证报告及修改后的方案。")
