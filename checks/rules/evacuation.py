"""standard.evacuation_width: GB 50016-2014(2018) 5.5.18 / 5.5.30 (civil) and 3.7.5 (factories).

Each width (``evacuation_width``, ``attributes.element`` door | corridor |
stair | exit, ``attributes.building``) is judged against every building
classification the package leaves possible, as the fire-separation rules do:
all pass → nothing, all fail → ``fail``, otherwise ``uncertain`` naming what
is missing (high-rise or not, medical or not, corridor single- or
double-loaded). ``exit`` means a ground-floor exit door (首层疏散外门).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product
from typing import Any

from checks.engine import Citation, Fact, RuleContext, rule
from checks.model import Finding
from checks.rules._common import DOMAIN, name_key, number
from checks.tables import TABLES_DIR, load_table
from checks.testing import example, f
from checks.view import ApplicationView, value_of

ELEMENT_CN = {"door": "疏散门", "corridor": "疏散走道", "stair": "疏散楼梯", "exit": "首层疏散外门"}

WIDTHS = "gb50016_evacuation_widths"  # checks/tables/gb50016_evacuation_widths.csv (+ .yaml header)


def _width(category: str, column: str) -> float:
    value = load_table(WIDTHS).get(category, column)
    if value is None:
        raise KeyError(f"{WIDTHS}: no value for {category}/{column}")
    return value


def _col(element: str, loaded: str | None = None) -> str:
    return f"corridor_{loaded}" if element == "corridor" else element


def _building_attrs(view: ApplicationView, name: str | None) -> dict[str, Any] | None:
    if not name:
        return None
    key = name_key(name)
    buildings = view.fields_of("building")
    for b in buildings:
        if name_key(value_of(b)) == key:
            return b.attributes
    # A note says "宿舍楼", the plan "2#职工宿舍楼": the one building whose name holds it.
    holding = [b for b in buildings if key and key in name_key(value_of(b))]
    if len({name_key(value_of(b)) for b in holding}) == 1:
        return holding[0].attributes
    return None


# The building's name often says its use when no attribute does (1#综合楼, 住院楼, 3#住宅楼).
_USE_WORDS = (("医疗", ("医院", "住院", "门诊", "医疗", "病房", "急诊")), ("住宅", ("住宅",)),
              ("其他公共建筑", ("办公", "综合楼", "宿舍", "食堂", "商业", "商场", "酒店", "宾馆", "学校", "教学")))


def infer_use(name: str | None) -> str:
    for use, words in _USE_WORDS:
        if name and any(w in name for w in words):
            return use
    return ""


def _minimums(element: str, attrs: dict[str, Any] | None, wattrs: dict[str, Any],
              name: str | None = None) -> list[tuple[float, str, str]]:
    """Every (minimum, basis, kind) the stated facts leave possible."""
    a = attrs or {}
    kind = a.get("kind") or ("civil" if a.get("use_class") == "民用" else None)
    kinds = [kind] if kind in ("civil", "factory", "warehouse") else ["civil", "factory"]
    use = str(a.get("use") or infer_use(name))
    hr = a.get("high_rise")
    if hr is None and a.get("height_m") is not None:
        h = float(a["height_m"])
        hr = True if h > 27 else (False if h <= 24 else (None if not use else ("住宅" not in use)))
    out: list[tuple[float, str, str]] = []
    loaded = wattrs.get("loaded") or a.get("corridor")
    loadings = [loaded] if loaded in ("single", "double") else (["single", "double"] if element == "corridor" else [None])
    for k in kinds:
        if k in ("factory", "warehouse"):
            out.extend((_width("厂房", _col(element, ld)), "3.7.5", k) for ld in loadings)
            continue
        residential = [("住宅" in use)] if use else [False, True]
        for res, is_hr in product(residential, [hr] if hr is not None else [False, True]):
            if res:
                if element == "stair" and not is_hr and (a.get("height_m") is None or float(a["height_m"]) <= 18):
                    out.append((1.0, "5.5.30（建筑高度≤18m、一边设栏杆的住宅楼梯≥1.0m）", "civil"))
                    continue
                out.extend((_width("住宅", _col(element, ld)), "5.5.30", "civil") for ld in loadings)
            elif not is_hr:
                out.extend((_width("公共建筑", _col(element, ld)), "5.5.18", "civil") for ld in loadings)
            else:
                meds = [("医疗" in use)] if use else [False, True]
                for med in meds:
                    cat = "高层医疗建筑" if med else "高层其他公共建筑"
                    out.extend((_width(cat, _col(element, ld)), "表5.5.18", "civil") for ld in loadings)
    return out


def judge(view: ApplicationView, ctx: RuleContext, scope: str) -> Iterator[Finding]:
    for w in view.fields_of("evacuation_width"):
        element = w.attributes.get("element")
        width = number(w)
        bname = w.attributes.get("building")
        attrs = _building_attrs(view, bname)
        kind = (attrs or {}).get("kind")
        owner = "factory" if kind in ("factory", "warehouse") else "civil"
        if owner != scope:
            continue
        label = ELEMENT_CN.get(str(element), "疏散宽度")
        where = f"{bname}的" if bname else ""
        if element not in ELEMENT_CN or width is None:
            yield ctx.uncertain(f"{where}疏散宽度无法判断：未注明构件类型（门/走道/楼梯/首层外门）或数值无法识别",
                                reason="缺少构件类型或数值", evidence=[w], key="unparsed",
                                suggestion="请在疏散图中注明各疏散门、走道、楼梯的净宽度。")
            continue
        mins = _minimums(element, attrs, w.attributes, bname)
        verdicts = {width >= m for m, _, _ in mins}
        if verdicts == {True}:
            continue
        lo, hi = min(m for m, _, _ in mins), max(m for m, _, _ in mins)
        bases = "、".join(sorted({b for _, b, _ in mins}))
        expected = f"≥ {lo:.2f} m" if lo == hi else f"≥ {lo:.2f}–{hi:.2f} m（视建筑类别）"
        cite = f"GB 50016-2014(2018年版) {bases}"
        if verdicts == {False} and w.attributes.get("qualifier") == "min":
            yield ctx.uncertain(f"{where}{label}净宽仅标注“不小于 {width:.2f} m”，小于规范最小值 {expected}", evidence=[w],
                                reason="标注的是下限而非实际净宽", key=f"{bname}:{element}:{width}", expected=expected,
                                actual=f"≥ {width:.2f} m", citation=cite, suggestion="请注明实际净宽度。")
        elif verdicts == {False}:
            yield ctx.fail(f"{where}{label}净宽 {width:.2f} m 小于规范最小值 {expected}", evidence=[w], key=f"{bname}:{element}:{width}",
                           expected=expected, actual=f"{width:.2f} m", citation=cite,
                           suggestion=f"请调整设计，使{where}{label}净宽不小于 {hi:.2f} m，并提交修改后的疏散图。")
        else:
            missing = []
            if attrs is None:
                missing.append("所在建筑及其类别")
            else:
                if not attrs.get("kind"):
                    missing.append("建筑类别（民用/厂房）")
                if attrs.get("high_rise") is None and attrs.get("height_m") is None:
                    missing.append("是否为高层建筑（建筑高度）")
                if not attrs.get("use") and not infer_use(bname):
                    missing.append("建筑用途（住宅/医疗/其他公共建筑）")
                if element == "corridor" and not w.attributes.get("loaded"):
                    missing.append("走道为单面布房还是双面布房")
            yield ctx.uncertain(f"{where}{label}净宽 {width:.2f} m 是否满足要求取决于建筑类别（最小值 {expected}）",
                                reason="材料未载明：" + ("、".join(missing) or "适用条款所需的建筑信息"),
                                evidence=[w], key=f"{bname}:{element}:{width}", expected=expected,
                                actual=f"{width:.2f} m", citation=cite,
                                suggestion="请补充说明建筑高度、用途及走道布置，或按较严格的要求调整宽度。")


def _w(width: float, element: str, building: str | None = None, **kw: Any):
    extra = {"building": building} if building else {}
    return f("evacuation_width", width, doc="evac", element=element, **extra, **kw)


@rule(
    "gb50016.evacuation_width_civil.v1",
    category="standard.evacuation_width",
    requires=["evacuation_width", "building"],
    citation=Citation(standard="GB 50016", edition="2014(2018年版)", clause="5.5.18、表5.5.18、5.5.30"),
    severity="high",
    tables=[TABLES_DIR / WIDTHS],
    facts=[
        Fact(statement="建筑用途未载明时按名称推断（含“医院/住院/门诊”为医疗，含“住宅”为住宅，含“办公/综合楼/宿舍”等为其他公共建筑）",
             source="推断规则（本项目），名称不含这些词时按所有可能用途判断", confidence="M"),
        Fact(statement="公共建筑疏散门、安全出口≥0.90 m，走道、楼梯≥1.10 m（5.5.18）", source=f"{DOMAIN} §4.5", confidence="M"),
        Fact(statement="高层公共建筑表5.5.18：其他 1.20/1.30/1.40/1.20，医疗 1.30/1.40/1.50/1.30", source=f"{DOMAIN} §4.5 (baikemu.com, qdew.cn)", confidence="M"),
        Fact(statement="住宅户门、安全出口≥0.90 m，走道、楼梯、首层外门≥1.10 m；≤18 m 一边栏杆楼梯≥1.0 m（5.5.30）", source=f"{DOMAIN} §4.5", confidence="M"),
    ],
    examples=[
        example("fail", "多层办公楼疏散楼梯净宽1.00 m（应≥1.10 m）", [
            f("building", "办公楼", doc="site", kind="civil", use_class="民用", use="办公", height_m=18, fire_grade=2),
            _w(1.0, "stair", "办公楼"),
        ], docs={"evac": "evacuation_plan", "site": "site_plan"}),
        example("pass", "高层医院双面布房走道1.60 m", [
            f("building", "住院楼", doc="site", kind="civil", use_class="民用", use="医疗", height_m=40, fire_grade=1),
            _w(1.6, "corridor", "住院楼", loaded="double"),
        ], docs={"evac": "evacuation_plan", "site": "site_plan"}),
        example("uncertain", "首层外门1.00 m，未注明所在建筑是否高层", [_w(1.0, "exit")], docs={"evac": "evacuation_plan"}),
    ],
)
def evacuation_width_civil(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """民用建筑（公共建筑、住宅）疏散门、走道、楼梯、首层外门的最小净宽度。

    所在建筑为厂房或仓库的，由 3.7.5 规则判断；建筑信息不全时按所有可能的类别判断。
    """
    yield from judge(view, ctx, "civil")


@rule(
    "gb50016.evacuation_width_factory.v1",
    category="standard.evacuation_width",
    requires=["evacuation_width", "building"],
    citation=Citation(standard="GB 50016", edition="2014(2018年版)", clause="3.7.5"),
    severity="high",
    tables=[TABLES_DIR / WIDTHS],
    facts=[Fact(statement="厂房疏散楼梯≥1.10 m，走道≥1.40 m，门≥0.90 m，首层外门≥1.20 m", source=f"{DOMAIN} §4.5 (wxdog.cc, baikemu.com)", confidence="M")],
    examples=[
        example("fail", "厂房疏散走道1.20 m（应≥1.40 m）", [
            f("building", "2#车间", doc="site", kind="factory", use_class="丙", height_m=12, fire_grade=2),
            _w(1.2, "corridor", "2#车间"),
        ], docs={"evac": "evacuation_plan", "site": "site_plan"}, industry="hazardous_chemicals"),
        example("pass", "厂房首层外门1.50 m", [
            f("building", "2#车间", doc="site", kind="factory", use_class="丙", height_m=12, fire_grade=2),
            _w(1.5, "exit", "2#车间"),
        ], docs={"evac": "evacuation_plan", "site": "site_plan"}, industry="hazardous_chemicals"),
        example("uncertain", "厂房宽度数值无法识别", [
            f("building", "2#车间", doc="site", kind="factory", use_class="丙", height_m=12, fire_grade=2),
            _w("一米二", "stair", "2#车间"),
        ], docs={"evac": "evacuation_plan", "site": "site_plan"}, industry="hazardous_chemicals"),
    ],
)
def evacuation_width_factory(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """厂房（及仓库）疏散楼梯、走道、门和首层外门的最小净宽度（GB 50016 3.7.5）。"""
    yield from judge(view, ctx, "factory")
