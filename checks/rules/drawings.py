"""Drawing rules: fire separations measured on site plans, side by side with what is written.

``extractor.drawings.analyse`` puts three kinds of fields on a drawing
document (all with ``attributes.origin = "drawing"``): ``building`` (label
read inside an outline: use class, fire grade, 高层/多层), ``drawing_scale``
(metres per page unit, or None when no scale could be established) and
``fire_separation_distance`` with ``qualifier`` ``measured`` (shortest
distance between two neighbouring outlines) or ``annotated`` (a "防火间距
8.0m" text or a dimension, paired with the two buildings it spans).

The rules put three numbers side by side for each pair — measured,
annotated, required (GB 50016 Tables 5.2.2, 3.4.1, 3.5.2 via
``checks.tables``) — and judge:

* ``drawings.separation.v3`` (standard.fire_separation): the smaller of the
  measured and annotated distances below the minimum; uncertain when the
  minimum cannot be known (a label not read) or nothing can be measured (no
  scale).
* ``drawings.annotation_consistency.v1`` (consistency.conflict): annotated
  and measured differ by more than a tolerance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField

from checks.engine import Citation, Fact, RuleContext, rule
from checks.model import Finding
from checks.tables import TABLES_DIR, load_table
from checks.testing import example, f
from checks.view import ApplicationView, value_of
from extractor.model import Field, Source

ORIGIN = "drawing"
DOMAIN = "shared/domain_sources.md"
_GRADE_KEY = {1: "一二级", 2: "一二级", 3: "三级", 4: "四级"}
_HAZARD = {"甲": 0, "乙": 1, "丙": 2, "丁": 3, "戊": 4, "民用": 5}


def _key(name: Any) -> str:
    return "".join(str(name).split())


def _pair(between: Any) -> tuple[str, str] | None:
    if not isinstance(between, (list, tuple)) or len(between) != 2:
        return None
    a, b = sorted((_key(between[0]), _key(between[1])))
    return (a, b) if a != b else None


def _num(fld: Field) -> float | None:
    try:
        return float(value_of(fld))
    except (TypeError, ValueError):
        return None


class DrawingSheet:
    """One drawing document's fields, indexed by building pair."""

    def __init__(self, doc: str) -> None:
        self.doc = doc
        self.scales: list[Field] = []
        self.buildings: dict[str, Field] = {}
        self.measured: dict[tuple[str, str], Field] = {}
        self.annotated: dict[tuple[str, str], list[Field]] = defaultdict(list)
        self.unpaired: list[Field] = []

    @property
    def scale_known(self) -> bool:
        return any(s.value is not None for s in self.scales)


def sheets(view: ApplicationView) -> list[DrawingSheet]:
    out: dict[str, DrawingSheet] = {}

    def sheet(doc: str) -> DrawingSheet:
        return out.setdefault(doc, DrawingSheet(doc))

    for s in view.fields_of("drawing_scale"):
        if s.attributes.get("origin") == ORIGIN:
            sheet(s.document).scales.append(s)
    for b in view.fields_of("building"):
        if b.attributes.get("origin") == ORIGIN:
            sheet(b.document).buildings.setdefault(_key(value_of(b)), b)
    for d in view.fields_of("fire_separation_distance", "measured_separation"):
        if d.attributes.get("origin") != ORIGIN:
            continue
        pair = _pair(d.attributes.get("between"))
        q = d.attributes.get("qualifier")
        if q == "measured" and pair:
            sheet(d.document).measured[pair] = d
        elif q == "annotated":
            if pair:
                sheet(d.document).annotated[pair].append(d)
            else:
                sheet(d.document).unpaired.append(d)
    return list(out.values())


# -- the required minimum, from the standard's tables ------------------------------------------------

def _profile(b: Field | None, assume_hr: bool | None = None,
             assume_grade: int | None = None) -> tuple[dict | None, list[str]]:
    if b is None:
        return None, ["建筑未识别"]
    a = b.attributes
    missing = []
    kind = a.get("kind") or ("civil" if a.get("use_class") == "民用" else None)
    if not kind or not a.get("use_class"):
        missing.append("使用性质/火灾危险性类别")
    grade = a.get("fire_grade") if a.get("fire_grade") in (1, 2, 3, 4) else assume_grade
    if grade is None:
        missing.append("耐火等级")
    hr = a.get("high_rise") if a.get("high_rise") is not None else assume_hr
    if hr is None:
        missing.append("高层/多层")
    if missing:
        return None, missing
    hc = a.get("high_rise_class")
    return {"kind": kind, "cls": a["use_class"], "grade": int(grade), "hr": bool(hr),
            "hr_class": int(hc) if hc in (1, 2, "1", "2") else None}, []


def _profiles(b: Field | None) -> tuple[list[dict] | None, list[str], bool]:
    """The building's table profile; when only 高层/多层 is unstated, both
    readings (the finding is sure when the distance fails or passes under
    both). Third value: whether 高层/多层 was assumed."""
    prof, missing = _profile(b)
    if prof is not None:
        return [prof], [], False
    if missing and set(missing) <= {"高层/多层", "耐火等级"}:
        # Every reading of what the label leaves open: the finding is sure when the
        # distance fails (or passes) under all of them; else the label is the question.
        grades = (1, 2, 3, 4) if "耐火等级" in missing else (None,)
        hrs = (False, True) if "高层/多层" in missing else (None,)
        every = [_profile(b, assume_hr=hr, assume_grade=g)[0] for g in grades for hr in hrs]
        return [x for x in every if x is not None], missing, "高层/多层" in missing
    return None, missing, False


def _factory_key(p: dict) -> str | None:
    cls = "丁戊" if p["cls"] in ("丁", "戊") else p["cls"]
    if cls == "甲":
        return "甲"
    if cls not in ("乙", "丙", "丁戊"):
        return None
    return f"{cls}/高层" if p["hr"] else f"{cls}/单多层/{_GRADE_KEY[p['grade']]}"


def _column(p: dict) -> list[str]:
    """Table 3.4.1 / 3.5.2 column(s) for the other building; a civil high-rise of unknown 一类/二类 gives both."""
    if p["kind"] == "civil":
        if p["hr"]:
            return [f"民用/高层/{'一类' if p['hr_class'] == 1 else '二类'}"] if p["hr_class"] else ["民用/高层/一类", "民用/高层/二类"]
        return [f"民用/单多层/{_GRADE_KEY[p['grade']]}"]
    if p["cls"] == "甲":
        return ["甲"] if p["kind"] == "factory" else []
    cls = "乙" if p["cls"] == "乙" else "丙丁戊"
    return [f"{cls}/高层" if p["hr"] else f"{cls}/单多层/{_GRADE_KEY[p['grade']]}"]


def required(a: dict, b: dict) -> tuple[list[float], str, bool]:
    """(candidate minima, table, whether a 25 % reduction note could apply) — empty minima: not covered."""
    kinds = {a["kind"], b["kind"]}
    if kinds == {"civil"}:
        t = load_table(TABLES_DIR / "gb50016_5_2_2")
        ka = "高层" if a["hr"] else _GRADE_KEY[a["grade"]]
        kb = "高层" if b["hr"] else _GRADE_KEY[b["grade"]]
        m = t.get(ka, kb)
        return ([m] if m is not None else []), "表5.2.2", not (a["hr"] or b["hr"])
    if "factory" in kinds:
        if b["kind"] == "factory" and (a["kind"] != "factory" or _HAZARD[b["cls"]] < _HAZARD[a["cls"]]):
            a, b = b, a
        if b["kind"] == "civil" and a["cls"] == "戊" and not a["hr"]:
            # 表3.4.1 注: a single- or multi-storey 戊类 factory counts as a civil building (Table 5.2.2).
            m = load_table(TABLES_DIR / "gb50016_5_2_2").get(_GRADE_KEY[a["grade"]], "高层" if b["hr"] else _GRADE_KEY[b["grade"]])
            return ([m] if m is not None else []), "表5.2.2（表3.4.1注：戊类厂房）", not b["hr"]
        t = load_table(TABLES_DIR / "gb50016_3_4_1")
        row = _factory_key(a)
        vals = [t.get(row, c) for c in _column(b)] if row else []
        vals = [v for v in vals if v is not None]
        if a["cls"] == "戊" and b["cls"] == "戊" and not a["hr"] and not b["hr"] and b["kind"] != "civil":
            vals = [v - 2 for v in vals]  # 表3.4.1 注: 单、多层戊类厂房之间及与戊类仓库 −2 m
        both_cdw = a["cls"] in ("丙", "丁", "戊") and b["cls"] in ("丙", "丁", "戊") and b["kind"] == "factory"
        return vals, "表3.4.1", both_cdw
    if kinds == {"warehouse", "civil"}:
        if a["kind"] != "warehouse":
            a, b = b, a
        if a["cls"] == "甲":
            return [], "表3.5.1", False
        t = load_table(TABLES_DIR / "gb50016_3_5_2")
        cls = "丁戊" if a["cls"] in ("丁", "戊") else a["cls"]
        row = "乙" if cls == "乙" else (f"{cls}/高层" if a["hr"] else f"{cls}/单多层/{_GRADE_KEY[a['grade']]}")
        vals = [v for v in (t.get(row, c) for c in _column(b)) if v is not None]
        return vals, "表3.5.2", False
    return [], "表3.5.1/3.5.2", False


# -- rule 1: measured / annotated vs required ---------------------------------------------------------

class SeparationParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reduction_unstated: str = PydField(
        "fail", pattern="^(uncertain|fail)$",
        description="间距低于最小值但不低于减少25%后的数值（表注：开口≤5%且不正对）而材料未主张该表注时："
                    "fail=不通过（默认：表中数值适用，除非材料主张例外）；uncertain=待核实")
    max_considered_m: float = PydField(
        50.0, gt=0, description="标签未读全时，只对小于此距离（表中最大要求50m）的建筑对报告待核实")


def _names(pair: tuple[str, str], sheet: DrawingSheet) -> str:
    return f"{pair[0]} 与 {pair[1]}"


def _evidence(sheet: DrawingSheet, pair: tuple[str, str], *fields: Field | None) -> list[Field]:
    ev = [x for x in fields if x is not None]
    ev += [sheet.buildings[n] for n in pair if n in sheet.buildings]
    return ev


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{round(x, 2):g} m"


def _side_by_side(measured: float | None, annotated: list[float], req: str) -> str:
    ann = "、".join(f"{a:g} m" for a in annotated) if annotated else "未标注"
    return f"实测 {_fmt(measured) if measured is not None else '无法测量'}；标注 {ann}；规范要求 {req}"


@rule(
    "drawings.separation.v3",
    category="standard.fire_separation",
    requires=["fire_separation_distance", "measured_separation", "building", "drawing_scale"],
    citation=Citation(standard="GB 50016", edition="2014(2018年版)", clause="表5.2.2、表3.4.1、表3.5.2"),
    severity="high",
    params=SeparationParams,
    tables=[TABLES_DIR / "gb50016_5_2_2", TABLES_DIR / "gb50016_3_4_1", TABLES_DIR / "gb50016_3_5_2"],
    facts=[
        Fact(statement="表5.2.2 民用建筑之间、表3.4.1 厂房、表3.5.2 仓库与民用建筑的防火间距", source=f"{DOMAIN} §4.1, §4.2, §4.4",
             confidence="M"),
        Fact(statement="防火间距按相邻建筑外墙的最近水平距离计算", source=f"{DOMAIN} §4.2 (footnotes: 'measured between the nearest outer walls')",
             confidence="M"),
        Fact(statement="表注：单多层建筑开口≤5%且不正对时可减少25%；防火墙等条件下可不限或≥3.5/4m", source=f"{DOMAIN} §4.1, §4.2 footnotes",
             confidence="M"),
    ],
    examples=[
        example("fail", "图上实测两座二级多层民用建筑相距4.0 m（应≥6 m，减少25%后亦应≥4.5 m），标注也是4.0 m", [
            f("building", "1#办公楼", doc="plan", origin=ORIGIN, kind="civil", use_class="民用", fire_grade=2, high_rise=False),
            f("building", "2#宿舍楼", doc="plan", origin=ORIGIN, kind="civil", use_class="民用", fire_grade=2, high_rise=False),
            f("drawing_scale", 0.176, doc="plan", origin=ORIGIN, method="scale_bar"),
            f("measured_separation", 4.0, doc="plan", origin=ORIGIN, qualifier="measured", between=["1#办公楼", "2#宿舍楼"]),
            f("fire_separation_distance", 4.0, doc="plan", origin=ORIGIN, qualifier="annotated", between=["1#办公楼", "2#宿舍楼"]),
        ], docs={"plan": "site_plan"}),
        example("fail", "标注9.0 m 满足，但图上实测仅3.5 m（丙类厂房与丁类仓库应≥10 m）", [
            f("building", "3#厂房", doc="plan", origin=ORIGIN, kind="factory", use_class="丙", fire_grade=2, high_rise=False),
            f("building", "4#仓库", doc="plan", origin=ORIGIN, kind="warehouse", use_class="丁", fire_grade=2, high_rise=False),
            f("drawing_scale", 1.0, doc="plan", origin=ORIGIN, method="insunits"),
            f("measured_separation", 3.5, doc="plan", origin=ORIGIN, qualifier="measured", between=["3#厂房", "4#仓库"]),
            f("fire_separation_distance", 10.0, doc="plan", origin=ORIGIN, qualifier="annotated", between=["3#厂房", "4#仓库"]),
        ], docs={"plan": "site_plan"}),
        example("pass", "实测9.0 m，标注9.0 m，两座二级多层民用建筑应≥6 m", [
            f("building", "1#办公楼", doc="plan", origin=ORIGIN, kind="civil", use_class="民用", fire_grade=2, high_rise=False),
            f("building", "2#宿舍楼", doc="plan", origin=ORIGIN, kind="civil", use_class="民用", fire_grade=2, high_rise=False),
            f("drawing_scale", 0.176, doc="plan", origin=ORIGIN, method="ratio"),
            f("measured_separation", 9.0, doc="plan", origin=ORIGIN, qualifier="measured", between=["1#办公楼", "2#宿舍楼"]),
            f("fire_separation_distance", 9.0, doc="plan", origin=ORIGIN, qualifier="annotated", between=["2#宿舍楼", "1#办公楼"]),
        ], docs={"plan": "site_plan"}),
        example("uncertain", "图纸无比例、无比例尺，无法测量建筑间距", [
            f("building", "1#办公楼", doc="plan", origin=ORIGIN, kind="civil", use_class="民用", fire_grade=2, high_rise=False),
            f("building", "2#宿舍楼", doc="plan", origin=ORIGIN, kind="civil", use_class="民用", fire_grade=2, high_rise=False),
            f("drawing_scale", None, doc="plan", origin=ORIGIN, method="none", note="图纸未标注比例，也未找到比例尺，无法测量距离"),
        ], docs={"plan": "site_plan"}),
        example("uncertain", "一座建筑的标注未能读出耐火等级，实测7.0 m 是否满足无法判断", [
            f("building", "1#办公楼", doc="plan", origin=ORIGIN, kind="civil", use_class="民用", fire_grade=2, high_rise=False),
            f("building", "未识别建筑1", doc="plan", origin=ORIGIN, label_complete=False),
            f("drawing_scale", 0.176, doc="plan", origin=ORIGIN, method="scale_bar"),
            f("measured_separation", 7.0, doc="plan", origin=ORIGIN, qualifier="measured", between=["1#办公楼", "未识别建筑1"]),
        ], docs={"plan": "site_plan"}),
        example("fail", "实测5.0 m，低于6 m；表注（开口≤5%且不正对可减少25%）材料未主张，表中数值适用", [
            f("building", "1#办公楼", doc="plan", origin=ORIGIN, kind="civil", use_class="民用", fire_grade=2, high_rise=False),
            f("building", "2#宿舍楼", doc="plan", origin=ORIGIN, kind="civil", use_class="民用", fire_grade=2, high_rise=False),
            f("drawing_scale", 0.176, doc="plan", origin=ORIGIN, method="scale_bar"),
            f("measured_separation", 5.0, doc="plan", origin=ORIGIN, qualifier="measured", between=["1#办公楼", "2#宿舍楼"]),
        ], docs={"plan": "site_plan"}),
        example("fail", "丙类仓库未注明层数：实测10.0 m，无论单多层（≥12 m）还是高层（≥15 m）都不足", [
            f("building", "1#仓库", doc="plan", origin=ORIGIN, kind="warehouse", use_class="丙", fire_grade=1),
            f("building", "2#宿舍楼", doc="plan", origin=ORIGIN, kind="civil", use_class="民用", fire_grade=3, high_rise=False),
            f("drawing_scale", 0.176, doc="plan", origin=ORIGIN, method="scale_bar"),
            f("measured_separation", 10.0, doc="plan", origin=ORIGIN, qualifier="measured", between=["1#仓库", "2#宿舍楼"]),
        ], docs={"plan": "site_plan"}),
        example("uncertain", "丙类仓库未注明层数：实测13.0 m，按单多层满足（≥12 m），按高层不足（≥15 m）", [
            f("building", "1#仓库", doc="plan", origin=ORIGIN, kind="warehouse", use_class="丙", fire_grade=1),
            f("building", "2#宿舍楼", doc="plan", origin=ORIGIN, kind="civil", use_class="民用", fire_grade=3, high_rise=False),
            f("drawing_scale", 0.176, doc="plan", origin=ORIGIN, method="scale_bar"),
            f("measured_separation", 13.0, doc="plan", origin=ORIGIN, qualifier="measured", between=["1#仓库", "2#宿舍楼"]),
        ], docs={"plan": "site_plan"}),
        example("uncertain", "实测5.0 m，低于6 m，但图上标有防火墙，表注可能允许减小间距", [
            f("building", "1#办公楼", doc="plan", origin=ORIGIN, kind="civil", use_class="民用", fire_grade=2, high_rise=False,
              fire_wall_marked=True),
            f("building", "2#宿舍楼", doc="plan", origin=ORIGIN, kind="civil", use_class="民用", fire_grade=2, high_rise=False),
            f("drawing_scale", 0.176, doc="plan", origin=ORIGIN, method="scale_bar"),
            f("measured_separation", 5.0, doc="plan", origin=ORIGIN, qualifier="measured", between=["1#办公楼", "2#宿舍楼"]),
        ], docs={"plan": "site_plan"}),
    ],
)
def separation(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """图纸实测与标注的防火间距不得小于规范最小值（GB 50016 表5.2.2、3.4.1、3.5.2）。

    对图纸上每对相邻建筑并列给出三个数：图上实测、图纸标注、规范要求。实测或标注中较小者低于表中
    最小值判为不通过（表注的例外——开口≤5%且不正对、防火墙——只有材料主张时才适用，建议中列明可主张的表注）；
    图上标有防火墙，或因建筑标注未读全而无法确定最小值时判为待核实；图纸无法确定比例（无比例、无比例尺、
    DXF 无单位）时只能核对标注值，并对整张图判为待核实。
    """
    p = ctx.params
    for sheet in sheets(view):
        floor_plan = view.doc_type_of(sheet.scales[0]) == "evacuation_plan" if sheet.scales else False
        if sheet.scales and not sheet.scale_known and len(sheet.buildings) >= 2 and not (
                floor_plan and not sheet.annotated and not sheet.unpaired):
            # A floor plan's rooms are not buildings to keep apart: with no separation
            # stated on it, its missing scale asks nothing about separations.
            s = sheet.scales[0]
            yield ctx.uncertain(
                "总平面图无法确定比例，未能在图上测量建筑之间的防火间距，仅核对了图上的标注值",
                reason=str(s.attributes.get("note") or "图纸比例未知"), evidence=[s], key=f"{sheet.doc}:scale",
                suggestion="请在总平面图上标注比例或绘制比例尺（DXF 图纸请设定图形单位），以便核对建筑间距。")
        for pair in sorted(set(sheet.measured) | set(sheet.annotated)):
            m_fld = sheet.measured.get(pair)
            measured = _num(m_fld) if m_fld else None
            anns = [(a, v) for a in sheet.annotated.get(pair, []) if (v := _num(a)) is not None]
            values = ([measured] if measured is not None else []) + [v for _, v in anns]
            if not values:
                continue
            d = min(values)
            pas, miss_a, hr_a = _profiles(sheet.buildings.get(pair[0]))
            pbs, miss_b, hr_b = _profiles(sheet.buildings.get(pair[1]))
            ev = _evidence(sheet, pair, m_fld, *[a for a, _ in anns])
            names = _names(pair, sheet)
            if pas is None or pbs is None:
                if d >= p.max_considered_m:
                    continue
                missing = [f"{pair[0]}：{'、'.join(miss_a)}"] if miss_a else []
                missing += [f"{pair[1]}：{'、'.join(miss_b)}"] if miss_b else []
                yield ctx.uncertain(
                    f"{names}：{_side_by_side(measured, [v for _, v in anns], '未知')}，建筑标注未能读全，无法确定规范最小值",
                    reason="建筑标注未读全（" + "；".join(missing) + "）", evidence=ev, key=f"{sheet.doc}:{pair}:label",
                    actual=_fmt(d), suggestion=f"请在总平面图上清楚标注{names}的名称、使用性质（火灾危险性类别）、耐火等级和层数/高度。")
                continue
            options = [required(x, y) for x in pas for y in pbs]
            mins = [m for r in options for m in r[0]]
            table = options[0][1]
            reducible = all(r[2] for r in options)
            hr_unstated = [n for n, flag in ((pair[0], hr_a), (pair[1], hr_b)) if flag]
            if not mins:
                yield ctx.uncertain(f"{names}：{_side_by_side(measured, [v for _, v in anns], '未涵盖')}",
                                    reason=f"该建筑组合的间距要求（{table}）本规则未涵盖", evidence=ev,
                                    key=f"{sheet.doc}:{pair}:table", actual=_fmt(d),
                                    suggestion="请人工核对该建筑组合的防火间距要求。")
                continue
            lo, hi = min(mins), max(mins)
            req = f"≥ {lo:g} m" if lo == hi else (
                f"≥ {lo:g}–{hi:g} m（视{'、'.join(hr_unstated)}是否为高层建筑）" if hr_unstated
                else f"≥ {lo:g}–{hi:g} m（视高层民用建筑类别）")
            if d >= hi:
                continue
            floor = lo * 0.75 if (reducible and p.reduction_unstated == "uncertain") else lo
            fire_wall = any(sheet.buildings[n].attributes.get("fire_wall_marked") for n in pair if n in sheet.buildings)
            which = "实测" if measured is not None and d == measured else "标注"
            text = _side_by_side(measured, [v for _, v in anns], req)
            if d < floor and not fire_wall:
                yield ctx.fail(
                    f"{names}的防火间距不足：{text}（GB 50016 {table}）",
                    evidence=ev, key=f"{sheet.doc}:{pair}", expected=req, actual=f"{which} {_fmt(d)}",
                    reason=None if d < lo * 0.75 or not reducible else
                    f"材料未主张表注（{table}注：外墙开口面积≤5%且不正对时可减少25%），按表中数值判定",
                    suggestion=f"请调整总平面布置，使{names}的防火间距不小于 {lo:g} m；如相邻外墙为防火墙或开口面积不大于5%且不正对"
                               f"（GB 50016 {table}注），请在图中标明并提供说明，可按表注减小间距。")
            else:
                open_ = [f"{n}的{'、'.join(m)}" for n, m in ((pair[0], miss_a), (pair[1], miss_b)) if m]
                if fire_wall:
                    why, ask = "图上标有防火墙，表注可能允许减小间距", f"请说明{names}相邻外墙的防火墙、门窗洞口做法，或调整间距不小于 {hi:g} m。"
                elif d >= lo and open_ and any("耐火等级" in m for m in (miss_a, miss_b)):
                    why = f"图纸未载明{'；'.join(open_)}：按最宽松的读法须≥{lo:g} m（已满足），按最严格的读法须≥{hi:g} m"
                    ask = f"请在总平面图上标注{'；'.join(open_)}。"
                elif d >= lo and hr_unstated:
                    why = (f"图纸未载明{'、'.join(hr_unstated)}是否为高层建筑（建筑高度>24 m）：按单、多层须≥{lo:g} m（已满足），"
                           f"按高层须≥{hi:g} m")
                    ask = f"请在总平面图上标注{'、'.join(hr_unstated)}的层数或建筑高度。"
                elif d >= lo:
                    why = "高层民用建筑的类别（一类/二类）未载明，最小值取决于类别"
                    ask = f"请标注{names}中高层建筑的类别（一类/二类）及建筑高度。"
                else:
                    why = "表注（开口面积≤5%且不正对）可能允许减少25%，图纸未说明"
                    ask = f"请说明{names}相邻外墙的防火墙、门窗洞口做法，或调整间距不小于 {lo:g} m。"
                yield ctx.uncertain(f"{names}的防火间距可能不足：{text}（GB 50016 {table}）", reason=why, evidence=ev,
                                    key=f"{sheet.doc}:{pair}", expected=req, actual=f"{which} {_fmt(d)}",
                                    suggestion=ask)


# -- rule 2: annotated vs measured --------------------------------------------------------------------

class ConsistencyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rel_tolerance: float = PydField(0.05, ge=0, description="标注与实测允许的相对差（相对实测值）")
    abs_tolerance_m: float = PydField(0.5, ge=0, description="标注与实测允许的绝对差（米）；取两者中较宽者")
    min_annotation_confidence: float = PydField(0.8, ge=0, le=1, description="识别置信度低于此值的标注判为待核实")


def _pair_fields(doc: str, a: float | None, m: float | None, *, ann_text: str | None = None,
                 scale: float | None = 0.176, source: Source = Source.TEXT, **ann_attrs: Any) -> list[Field]:
    out = [
        f("building", "3#厂房", doc=doc, origin=ORIGIN, kind="factory", use_class="丙", fire_grade=2, high_rise=False),
        f("building", "4#仓库", doc=doc, origin=ORIGIN, kind="warehouse", use_class="丁", fire_grade=2, high_rise=False),
        f("drawing_scale", scale, doc=doc, origin=ORIGIN, method="scale_bar" if scale else "none"),
    ]
    if m is not None:
        out.append(f("fire_separation_distance", m, doc=doc, origin=ORIGIN, qualifier="measured", between=["3#厂房", "4#仓库"]))
    if a is not None:
        attrs = {"between": ["3#厂房", "4#仓库"], **ann_attrs}
        out.append(f("fire_separation_distance", a, doc=doc, origin=ORIGIN, qualifier="annotated",
                     text=ann_text or f"防火间距 {a:g}m", **attrs).model_copy(update={"source": source}))
    return out


@rule(
    "drawings.annotation_consistency.v1",
    category="consistency.conflict",
    requires=["fire_separation_distance", "measured_separation", "drawing_scale", "building"],
    citation=Citation(standard="GB 50016", edition="2014(2018年版)", clause="表3.4.1 注（防火间距按相邻外墙的最近水平距离计算）"),
    severity="high",
    params=ConsistencyParams,
    facts=[Fact(statement="防火间距按相邻建筑外墙的最近水平距离计算，图上标注应与按比例量得的距离一致",
                source=f"{DOMAIN} §4.2 footnotes", confidence="M")],
    examples=[
        example("fail", "标注10.0 m，图上按比例尺实测7.0 m", _pair_fields("plan", 10.0, 7.0), docs={"plan": "site_plan"}),
        example("pass", "标注14.0 m，实测13.9 m（差0.1 m，在0.5 m 以内）", _pair_fields("plan", 14.0, 13.9),
                docs={"plan": "site_plan"}),
        example("uncertain", "有标注，但图纸比例未知，无法实测核对", _pair_fields("plan", 10.0, None, scale=None),
                docs={"plan": "site_plan"}),
        example("uncertain", "标注无法对应到两座建筑", [
            f("drawing_scale", 0.176, doc="plan", origin=ORIGIN, method="scale_bar"),
            f("fire_separation_distance", 12.0, doc="plan", origin=ORIGIN, qualifier="annotated", text="防火间距 12.0m"),
        ], docs={"plan": "site_plan"}),
        example("uncertain", "扫描图识别为“40m”而实测4.0 m：可能漏识小数点", _pair_fields("plan", 40.0, 4.0, ann_text="防火间距40m",
                                                                                  source=Source.OCR),
                docs={"plan": "site_plan"}),
    ],
)
def annotation_consistency(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """图纸标注的防火间距应与按比例在图上量得的距离一致。

    标注值与实测值之差超过容差（默认相对5%或0.5 m，取较宽者）判为不通过（标注与图形矛盾）；
    图纸比例未知、标注无法对应到两座建筑、识别置信度低，或扫描件可能漏识小数点时判为待核实。
    """
    p = ctx.params
    for sheet in sheets(view):
        for fld in sheet.unpaired:
            yield ctx.uncertain(f"图纸标注“{fld.attributes.get('text') or value_of(fld)}”无法对应到两座建筑",
                                reason="标注附近未找到尺寸线或两侧的建筑轮廓", evidence=[fld], key=f"{sheet.doc}:unpaired",
                                suggestion="请在总平面图中用尺寸线标明防火间距所指的两座建筑。")
        for pair, anns in sorted(sheet.annotated.items()):
            m_fld = sheet.measured.get(pair)
            names = _names(pair, sheet)
            for a_fld in anns:
                a = _num(a_fld)
                if a is None:
                    continue
                text = str(a_fld.attributes.get("text") or f"{a:g} m")
                if m_fld is None:
                    if not sheet.scale_known:
                        yield ctx.uncertain(f"{names}标注防火间距 {a:g} m，图纸比例未知，无法与图形核对",
                                            reason="图纸无比例或比例尺", evidence=_evidence(sheet, pair, a_fld),
                                            key=f"{sheet.doc}:{pair}:{a}",
                                            suggestion="请在图上标注比例或比例尺。")
                    continue
                m = _num(m_fld)
                if m is None:
                    continue
                tol = max(p.rel_tolerance * m, p.abs_tolerance_m)
                diff = abs(a - m)
                if diff <= tol:
                    continue
                ev = _evidence(sheet, pair, a_fld, m_fld)
                # OCR drops decimal points ("4.0m" → "40m"): a value ten times the measurement is not proof.
                if a_fld.source == "ocr" and "." not in text and abs(a / 10 - m) <= tol:
                    yield ctx.uncertain(f"{names}：标注识别为“{text}”，图上实测 {_fmt(m)}，可能漏识小数点",
                                        reason="扫描件识别结果可能缺少小数点", evidence=ev, key=f"{sheet.doc}:{pair}:{a}",
                                        expected=f"约 {_fmt(m)}", actual=f"标注 {a:g} m")
                    continue
                if a_fld.confidence < p.min_annotation_confidence:
                    yield ctx.uncertain(f"{names}：标注 {a:g} m 与实测 {_fmt(m)} 不符，但标注识别置信度低",
                                        reason=f"识别置信度 {a_fld.confidence:.2f}", evidence=ev,
                                        key=f"{sheet.doc}:{pair}:{a}", expected=f"约 {_fmt(m)}", actual=f"标注 {a:g} m")
                    continue
                yield ctx.fail(
                    f"{names}的防火间距标注与图形不符：标注 {a:g} m，按比例实测 {_fmt(m)}（相差 {diff:.2f} m）",
                    evidence=ev, key=f"{sheet.doc}:{pair}:{a}", expected=f"约 {_fmt(m)}（容差 {tol:.2f} m）",
                    actual=f"标注 {a:g} m",
                    suggestion=f"请核对{names}的实际间距，修正总平面图中的标注或建筑位置，使标注与图形一致。")


RULES = [separation, annotation_consistency]
