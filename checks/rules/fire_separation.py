"""standard.fire_separation: GB 50016-2014(2018) Tables 5.2.2, 3.4.1 and 3.5.2.

Each distance (field ``fire_separation_distance``, ``attributes.between`` =
the two buildings' names) is judged against every classification the
package leaves possible: a building whose fire-resistance grade or height is
not stated is tried in each grade or height class. All possibilities pass →
nothing; all fail → ``fail``; otherwise ``uncertain`` saying what is missing.

The tables' notes (fire walls, protected openings, the 25 % reduction) lower
the minimum under conditions the applicant must show. The table value
applies unless the package claims a note (issue 12, class 7): a distance
below the table value is ``fail``, and the suggestion names the notes that
would allow it, so the applicant can show one instead. A note is claimed by
``fire_wall: true``, ``openings_protected: true``, ``openings_le_5pct: true``
or ``notes_apply: true`` on the distance or on either building, by a building
the drawing analysis saw marked 防火墙 (``fire_wall_marked``), or by words
such as 防火墙 / 甲级防火门窗 / 防火卷帘 / 水幕 / 开口面积≤5% in the text
the extractor kept beside the distance or a building (``text``, ``note``).
A claimed note that would allow the distance makes the finding ``uncertain``
with the note as the reason: a person checks the drawing. ``false`` on any
of those attributes rules a note out. Parameter ``notes_unstated: uncertain``
restores the older reading (any note that could apply → ``uncertain``).

Single- or multi-storey 戊类 factories are judged against civil buildings by
Table 5.2.2 (Table 3.4.1's note); 丁类 factories by Table 3.4.1 itself
(domain_sources.md §4.2, corrected 2026-12-06). A 丁类 warehouse is judged
by the stricter of Table 3.5.2's 丙 and 丁戊 rows, the 丁 cell being [L]
(§7.1), and the finding's reason says so.

Distances that the drawing analysis measured or paired on the drawing
(``attributes.origin == "drawing"``) are left to ``drawings.separation.v3``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField

from checks.engine import Citation, Fact, RuleContext, rule
from checks.model import Finding
from checks.rules._common import DOMAIN, name_key, number
from checks.tables import TABLES_DIR, load_table
from checks.testing import example, f
from checks.view import ApplicationView, value_of
from extractor.model import Field

GRADES = {1: "一二级", 2: "一二级", 3: "三级", 4: "四级"}
MAX_TABLE_M = 50.0  # the largest minimum in Tables 3.4.1, 3.5.1, 3.5.2 and 5.2.2 (to important/high-rise civil buildings)
_CN_GRADE = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}


class SeparationParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notes_unstated: Literal["uncertain", "fail"] = PydField(
        "fail",
        description="间距低于表值、表注（防火墙、防火门窗、开口≤5%等）可降低最小间距但材料未主张时："
                    "fail=按表值判为不通过，并在整改意见中写明可提供的表注条件；uncertain=判为待核实")


@dataclass(frozen=True)
class Profile:
    """One possible classification of a building."""

    kind: str  # civil | factory | warehouse
    cls: str  # 民用 | 甲 | 乙 | 丙 | 丁 | 戊
    grade: int  # 1..4
    high_rise: bool
    hr_class: int | None  # civil high-rise 一类(1)/二类(2)
    height: float | None


@dataclass
class Building:
    name: str
    field: Field | None
    attrs: dict[str, Any]
    profiles: list[Profile]
    missing: list[str]


def _grade(v: Any) -> int | None:
    if v is None:
        return None
    s = str(v).strip()
    return _CN_GRADE.get(s[:1])


def _building(view: ApplicationView, name: str, heights: dict[str, float]) -> Building:
    key = name_key(name)
    fld = next((b for b in view.fields_of("building") if name_key(value_of(b)) == key), None)
    attrs = dict(fld.attributes) if fld else {}
    missing: list[str] = []
    if fld is None:
        missing.append(f"未找到建筑“{name}”的类别、耐火等级和高度")
    use_class = attrs.get("use_class")
    kind = attrs.get("kind") or ("civil" if use_class == "民用" else None)
    kinds = [kind] if kind else ["civil", "factory", "warehouse"]
    if fld is not None and not kind:
        missing.append(f"“{name}”的建筑类别（民用/厂房/仓库）")
    grade = _grade(attrs.get("fire_grade"))
    if fld is not None and grade is None:
        missing.append(f"“{name}”的耐火等级")
    height = attrs.get("height_m") if attrs.get("height_m") is not None else heights.get(key)
    hr = attrs.get("high_rise")
    storeys = attrs.get("storeys")
    profiles: list[Profile] = []
    for k in kinds:
        classes = ["民用"] if k == "civil" else ([use_class] if use_class in ("甲", "乙", "丙", "丁", "戊") else ["甲", "乙", "丙", "丁", "戊"])
        if hr is not None:
            hr_opts = [bool(hr)]
        elif height is not None:
            h = float(height)
            if k == "civil":
                # residential > 27 m, public > 24 m (GB 50016 5.1.1): 24–27 m depends on the use
                use = str(attrs.get("use") or "")
                if h > 27 or (h > 24 and use and "住宅" not in use):
                    hr_opts = [True]
                elif h <= 24 or "住宅" in use:
                    hr_opts = [False]
                else:
                    hr_opts = [False, True]
            else:
                hr_opts = [h > 24 and (storeys is None or int(storeys) >= 2)]
        else:
            hr_opts = [False, True]
            if fld is not None and f"“{name}”的建筑高度" not in missing:
                missing.append(f"“{name}”的建筑高度")
        for c in classes:
            for is_hr in hr_opts:
                grades = [grade] if grade else [1, 3, 4]
                for g in grades:
                    if is_hr and g > 2:
                        continue  # a high-rise building is at least 二级
                    hcs: list[int | None] = [None]
                    if k == "civil" and is_hr:
                        hcs = [int(attrs["high_rise_class"])] if attrs.get("high_rise_class") in (1, 2, "1", "2") else [1, 2]
                    for hc in hcs:
                        profiles.append(Profile(k, c, g, is_hr, hc, float(height) if height is not None else None))
    return Building(name, fld, attrs, profiles, missing)


# -- table notes: which the package claims, which it rules out -----------------------------

_FIRE_WALL_WORDS = ("防火墙",)
_OPENING_WORDS = ("甲级防火门", "甲级防火窗", "防火门窗", "防火卷帘", "水幕")
_LE5_WORDS = ("5%", "5％", "百分之五", "不正对")


@dataclass(frozen=True)
class Relief:
    """A table note that lowers the minimum when the applicant shows its condition."""

    floor: float  # the lowest minimum the note allows
    note: str  # the note and its condition, as findings name it
    claims: tuple[str, ...]  # attributes that claim it (true) or rule it out (false)
    words: tuple[str, ...]  # words in a field's text that claim it


@dataclass(frozen=True)
class Minimum:
    """What a table asks of one pair of classifications."""

    m: float | None  # None: not covered by this rule
    reliefs: tuple[Relief, ...] = ()
    why: str = ""  # words for the message, or why the pair is not covered
    doubt: str = ""  # the low-confidence cell the minimum rests on, for the finding's reason


def _texts(src: dict[str, Any]) -> str:
    out = []
    for k in ("text", "note", "notes"):
        v = src.get(k)
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, list | tuple):
            out.extend(str(x) for x in v)
    return " ".join(out)


def _ruled_out(r: Relief, sources: list[dict[str, Any]]) -> bool:
    if any(s.get("notes_apply") is False for s in sources):
        return True
    return all(any(s.get(a) is False for s in sources) for a in r.claims)


def _claim(r: Relief, sources: list[dict[str, Any]]) -> str | None:
    """How the package claims note ``r``, in words for the finding, or None."""
    for s in sources:
        if s.get("notes_apply") is True:
            return "材料载明表注适用"
        for a in r.claims:
            if s.get(a) is True:
                return {"fire_wall": "材料载明相邻外墙为防火墙", "openings_protected": "材料载明开口设防火门窗、水幕或卷帘",
                        "openings_le_5pct": "材料载明开口面积≤5%且不正对"}.get(a, f"材料载明 {a}")
        if "fire_wall" in r.claims and s.get("fire_wall_marked"):
            return "图上标注防火墙"
        text = _texts(s)
        for w in r.words:
            if w in text:
                return f"材料写有“{w}”"
    return None


def _civil_col(p: Profile) -> str:
    if p.high_rise:
        return f"民用/高层/{'一类' if p.hr_class == 1 else '二类'}"
    return f"民用/单多层/{GRADES[p.grade]}"


def _size(p: Profile) -> str:
    return "高层" if p.high_rise else "单多层"


# -- per-table minimum and the notes that could lower it --------------------------------

def _civil(a: Profile, b: Profile) -> Minimum:
    t = load_table("gb50016_5_2_2")
    ka = "高层" if a.high_rise else GRADES[a.grade]
    kb = "高层" if b.high_rise else GRADES[b.grade]
    m = t.get(ka, kb)
    if any(p.height is not None and p.height > 100 for p in (a, b)):
        return Minimum(m, (), "5.2.6：建筑高度大于100m，不得减小间距")
    reliefs = [Relief(0.0, "表5.2.2注2/注3：相邻较高一面外墙（或任一侧外墙，等高时）为防火墙时间距不限",
                      ("fire_wall",), _FIRE_WALL_WORDS)]
    if min(a.grade, b.grade) <= 2:
        reliefs.append(Relief(4.0 if (a.high_rise or b.high_rise) else 3.5,
                              "表5.2.2注4/注5：较低建筑相邻外墙为防火墙且屋顶无天窗，或较高建筑开口设甲级防火门窗、"
                              "水幕、防火卷帘时不小于3.5m（高层4m）",
                              ("fire_wall", "openings_protected"), _FIRE_WALL_WORDS + _OPENING_WORDS))
    if not a.high_rise and not b.high_rise and m is not None:
        reliefs.append(Relief(0.75 * m, "表5.2.2注1：相邻外墙为不燃性墙体、开口面积≤5%且不正对时可减少25%",
                              ("openings_le_5pct",), _LE5_WORDS))
    return Minimum(m, tuple(reliefs))


def _factory_row(p: Profile) -> str:
    if p.cls == "甲":
        return "甲"
    cls = "丁戊" if p.cls in ("丁", "戊") else p.cls
    return f"{cls}/高层" if p.high_rise else f"{cls}/单多层/{GRADES[p.grade]}"


def _factory_col(p: Profile) -> str | None:
    if p.kind == "civil":
        return _civil_col(p)
    if p.cls == "甲":
        return "甲" if p.kind == "factory" else None  # 甲类仓库: Table 3.5.1, not covered
    cls = "乙" if p.cls == "乙" else "丙丁戊"
    if p.high_rise:
        return f"{cls}/高层"
    return f"{cls}/单多层/{GRADES[p.grade]}"


_HAZARD = {"甲": 0, "乙": 1, "丙": 2, "丁": 3, "戊": 4, "民用": 5}


def _factory(a: Profile, b: Profile) -> Minimum:
    t = load_table("gb50016_3_4_1")
    # Row: a factory, the more hazardous one when both are.
    if b.kind == "factory" and (a.kind != "factory" or _HAZARD[b.cls] < _HAZARD[a.cls]):
        a, b = b, a
    if b.kind == "civil" and a.kind == "factory" and a.cls == "戊" and not a.high_rise:
        # Table 3.4.1 note: a single- or multi-storey 戊类 factory counts as a civil building (Table 5.2.2).
        # Only 戊: a 丁类 factory keeps the table's 10/12/14 m (domain_sources.md §4.2, corrected 2026-12-06).
        civ = _civil(Profile("civil", "民用", a.grade, False, None, a.height), b)
        why = "表3.4.1注：单、多层戊类厂房与民用建筑按表5.2.2执行" + (f"；{civ.why}" if civ.why else "")
        return Minimum(civ.m, civ.reliefs, why)
    col = _factory_col(b)
    if col is None:
        return Minimum(None, (), "甲类仓库适用表3.5.1（需储量），本规则未涵盖")
    m = t.get(_factory_row(a), col)
    if m is None:
        return Minimum(None, (), "表3.4.1中无此组合")
    if a.cls == "戊" and not a.high_rise and b.cls == "戊" and not b.high_rise and b.kind in ("factory", "warehouse"):
        m -= 2  # note: single/multi-storey 戊类 factories to each other or to 戊类 warehouses
    if b.kind == "civil":
        # Against civil buildings only 丙、丁、戊类 factories of 一、二级 may come closer (fire walls,
        # protected openings); 甲、乙类 keep the table value (25 m / 50 m).
        if a.cls in ("丙", "丁", "戊") and a.grade <= 2 and b.grade <= 2:
            return Minimum(m, (
                Relief(0.0, "表3.4.1注：丙丁戊类厂房与一二级民用建筑，较高一面外墙为无门窗洞口的防火墙时间距不限",
                       ("fire_wall",), _FIRE_WALL_WORDS),
                Relief(4.0, "表3.4.1注：较低一面外墙为防火墙且屋顶无天窗，或较高一面开口设甲级防火门窗、水幕、卷帘时不小于4m",
                       ("fire_wall", "openings_protected"), _FIRE_WALL_WORDS + _OPENING_WORDS)))
        return Minimum(m)
    reliefs = [Relief(4.0 if (a.cls == "甲" and b.cls == "甲") else 0.0,
                      "表3.4.1注：两座厂房相邻较高一面外墙为防火墙等条件下间距不限（甲类厂房之间不小于4m）",
                      ("fire_wall",), _FIRE_WALL_WORDS)]
    if a.grade <= 2 and b.grade <= 2:
        reliefs.append(Relief(6.0 if a.cls in ("甲", "乙") or b.cls in ("甲", "乙") else 4.0,
                              "表3.4.1注：较低一面外墙为防火墙且屋顶无天窗，或较高一面开口设甲级防火门窗、水幕、卷帘时，"
                              "甲乙类不小于6m、丙丁戊类不小于4m",
                              ("fire_wall", "openings_protected"), _FIRE_WALL_WORDS + _OPENING_WORDS))
    if a.cls in ("丙", "丁", "戊") and b.cls in ("丙", "丁", "戊") and b.kind == "factory":
        reliefs.append(Relief(0.75 * m, "表3.4.1注：两座丙丁戊类厂房相邻外墙为不燃性墙体、开口面积各≤5%且不正对时可减少25%",
                              ("openings_le_5pct",), _LE5_WORDS))
    return Minimum(m, tuple(reliefs))


def _warehouse_row(cls: str, p: Profile) -> str:
    return "乙" if cls == "乙" else (f"{cls}/高层" if p.high_rise else f"{cls}/单多层/{GRADES[p.grade]}")


def _warehouse(a: Profile, b: Profile) -> Minimum:
    t = load_table("gb50016_3_5_2")
    if a.kind != "warehouse":
        a, b = b, a
    if b.kind != "civil":
        return Minimum(None, (), "仓库之间的间距（表3.5.2其余各列）本规则未涵盖")
    if a.cls == "甲":
        return Minimum(None, (), "甲类仓库适用表3.5.1（需储量），本规则未涵盖")
    cls = "丁戊" if a.cls in ("丁", "戊") else a.cls
    col = _civil_col(b)
    m = t.get(_warehouse_row(cls, a), col)
    if m is None:
        return Minimum(None, (), "表3.5.2中无此组合")
    doubt = ""
    if a.cls == "丁":
        # domain_sources.md §7.1: the 丁 cells are doubtful [L] (the 2006 table grouped 丁 with 乙丙);
        # until checked against the standard's text, the stricter 丙 row applies.
        strict = t.get(_warehouse_row("丙", a), col)
        if strict is not None and strict > m:
            doubt = (f"表3.5.2 丁类仓库与民用建筑的数值为低置信度[L]（丁戊类一行为 {m:g} m，2006年版将丁类与乙、丙类并列），"
                     f"在以标准原文核对前按较严格的丙类数值 {strict:g} m 判断")
            m = strict
    reliefs: list[Relief] = []
    if cls == "丙":
        reliefs.append(Relief(6.0, "表3.5.2注：相邻外墙均为防火墙时可减小，但丙类仓库不小于6m", ("fire_wall",), _FIRE_WALL_WORDS))
    elif cls == "丁戊":
        reliefs.append(Relief(4.0, "表3.5.2注：相邻外墙均为防火墙时可减小，但丁、戊类仓库不小于4m", ("fire_wall",), _FIRE_WALL_WORDS))
    return Minimum(m, tuple(reliefs), "", doubt)


TABLE_FN = {"civil": _civil, "factory": _factory, "warehouse": _warehouse}


def _which(a: Profile, b: Profile) -> str:
    kinds = {a.kind, b.kind}
    if "factory" in kinds:
        return "factory"
    if "warehouse" in kinds:
        return "warehouse"
    return "civil"


def _claims(bs: list[Building]) -> str:
    """Which rule owns a distance: by the stated kinds (unknown kinds do not claim)."""
    known = {b.attrs.get("kind") or ("civil" if b.attrs.get("use_class") == "民用" else None) for b in bs}
    if "factory" in known:
        return "factory"
    if "warehouse" in known:
        return "warehouse"
    return "civil"


def judge(view: ApplicationView, ctx: RuleContext, table: str) -> Iterator[Finding]:
    heights = {name_key(h.attributes.get("building")): number(h) for h in view.fields_of("building_height")
               if h.attributes.get("building") and number(h) is not None}
    for dist in view.fields_of("fire_separation_distance"):
        if dist.attributes.get("origin") == "drawing":
            continue  # measured or paired on the drawing itself: drawings.separation.v3 judges it
        between = dist.attributes.get("between") or []
        d = number(dist)
        if len(between) != 2 or d is None:
            if table == "civil":
                yield ctx.uncertain("防火间距未注明是哪两座建筑之间，或数值无法识别", evidence=[dist],
                                    reason="缺少间距两端建筑或数值", key="unparsed",
                                    suggestion="请在总平面图中标明防火间距及对应的建筑。")
            continue
        bs = [_building(view, str(n), heights) for n in between]
        if _claims(bs) != table:
            continue
        sources = [dist.attributes, bs[0].attrs, bs[1].attrs]
        outcomes: list[Outcome] = []
        for pa in bs[0].profiles:
            for pb in bs[1].profiles:
                # Kinds unknown: another table might apply; judge with it (same logic) to bound the minimum.
                mn = TABLE_FN[_which(pa, pb) if _which(pa, pb) != table else table](pa, pb)
                outcomes.append(_outcome(d, mn, sources, ctx.params.notes_unstated))
        names = f"{bs[0].name} 与 {bs[1].name}"
        verdicts = {o.verdict for o in outcomes}
        mins = sorted({o.m for o in outcomes if o.m is not None})
        expected = (f"≥ {mins[0]:g} m" if len(mins) == 1 else f"≥ {mins[0]:g}–{mins[-1]:g} m（视建筑分类）") if mins else None
        if verdicts == {"pass"}:
            continue
        evidence = [dist] + [b.field for b in bs if b.field is not None]
        doubts = sorted({o.doubt for o in outcomes if o.doubt})
        missing = sorted({m for b in bs for m in b.missing})
        if verdicts == {"fail"} and dist.attributes.get("qualifier") == "min":
            # "≥ d m" on the drawing bounds the real distance from below: it may still be enough.
            yield ctx.uncertain(f"{names}的防火间距图中仅标注“不小于 {d:g} m”，小于规范最小值 {expected}",
                                reason="；".join(["图中标注的是下限而非实际间距", *doubts]), evidence=evidence,
                                key=f"{names}:{d}", expected=expected, actual=f"≥ {d:g} m",
                                suggestion=f"请在总平面图中标注{names}的实际防火间距。")
            continue
        if verdicts == {"fail"}:
            extra = next((o.why for o in outcomes if o.why), "")
            notes = list(dict.fromkeys(n for o in outcomes for n in o.unclaimed))
            if notes:
                reason = "材料未主张可减小间距的表注条件（" + "；".join(notes) + "），按表值判断"
                suggestion = (f"请调整总平面布置使{names}的防火间距不小于 {mins[0] if len(mins) == 1 else mins[-1]:g} m；"
                              f"或提供满足以下表注条件的设计说明及图纸：{'；'.join(notes)}。")
            else:
                reason = "按表值判断：可减小间距的表注已由材料排除，或现有间距低于表注允许的最小值"
                suggestion = f"请调整总平面布置使{names}的防火间距满足要求（{expected}）。"
            yield ctx.fail(f"{names}的防火间距 {d:g} m 小于规范最小值 {expected}" + (f"（{extra}）" if extra else ""),
                           evidence=evidence, key=f"{names}:{d}", expected=expected, actual=f"{d:g} m",
                           reason="；".join([reason, *doubts]), suggestion=suggestion)
            continue
        reasons = sorted({o.reason for o in outcomes if o.verdict == "uncertain" and o.reason})
        if len(verdicts) > 1 and missing:
            reasons.insert(0, "材料未载明：" + "、".join(missing))
        yield ctx.uncertain(f"{names}的防火间距 {d:g} m 无法确定是否满足规范（最小值 {expected or '未知'}）",
                            reason="；".join(reasons + doubts) or "建筑分类信息不足",
                            evidence=evidence, key=f"{names}:{d}", expected=expected, actual=f"{d:g} m",
                            suggestion=f"请补充{names}的耐火等级、建筑高度及相邻外墙（防火墙、门窗洞口）做法说明，"
                                       "并在总平面图中标明所依据的表注条件。")


@dataclass(frozen=True)
class Outcome:
    verdict: str  # pass | uncertain | fail
    m: float | None
    reason: str = ""  # why uncertain
    why: str = ""  # extra words for a fail's message
    unclaimed: tuple[str, ...] = ()  # notes that would allow the distance but that the package does not claim
    doubt: str = ""


def _outcome(d: float, mn: Minimum, sources: list[dict[str, Any]], notes_unstated: str) -> Outcome:
    """One classification pair: the distance against the table value and the notes."""
    if mn.m is None:
        # Not covered here (e.g. 甲类仓库, Table 3.5.1); no table in GB 50016 asks more than 50 m.
        return Outcome("pass", None) if d >= MAX_TABLE_M else Outcome("uncertain", None, mn.why)
    if d >= mn.m:
        return Outcome("pass", mn.m, doubt=mn.doubt)
    fitting = [r for r in mn.reliefs if d >= r.floor and not _ruled_out(r, sources)]
    claimed = [(r, c) for r in fitting if (c := _claim(r, sources))]
    if claimed:
        return Outcome("uncertain", mn.m, "；".join(f"{c}，{r.note}，须核对材料是否满足该条件" for r, c in claimed),
                       doubt=mn.doubt)
    if fitting and notes_unstated == "uncertain":
        return Outcome("uncertain", mn.m, "；".join(r.note for r in fitting) + "，材料未说明是否满足", doubt=mn.doubt)
    return Outcome("fail", mn.m, why=mn.why, unclaimed=tuple(r.note for r in fitting), doubt=mn.doubt)


_FACTS_5_2_2 = [
    Fact(statement="表5.2.2 民用建筑防火间距 13/9/11/14、6/7/9、8/10、12 m", source=f"{DOMAIN} §4.1", confidence="M"),
    Fact(statement="表注（防火墙、防火门窗、减少25%）及5.2.6（>100 m 不得减小）", source=f"{DOMAIN} §4.1 footnotes", confidence="M"),
]
# The reading of the notes (issue 12, class 7): a reduction is the applicant's to show.
_FACT_CLAIM = Fact(statement="表注的减小条件（防火墙、防火门窗、开口≤5%等）由申请人在材料中说明；未说明时按表值判断",
                   source="审查口径：GB 50016 表注为“可”减小的条件，须有设计依据（issue 12 第7类）", confidence="M")


def _b(name: str, **kw: Any) -> Field:
    return f("building", name, doc="site", **kw)


def _d(dist: float, a: str, b: str, **kw: Any) -> Field:
    return f("fire_separation_distance", dist, doc="site", between=[a, b], **kw)


@rule(
    "gb50016.civil_separation.v2",
    category="standard.fire_separation",
    requires=["fire_separation_distance", "building", "building_height"],
    citation=Citation(standard="GB 50016", edition="2014(2018年版)", clause="表5.2.2"),
    severity="high",
    params=SeparationParams,
    tables=[TABLES_DIR / "gb50016_5_2_2"],
    facts=[*_FACTS_5_2_2, _FACT_CLAIM],
    examples=[
        example("fail", "两座多层一二级民用建筑间距4 m，材料载明无防火墙、开口未保护（应≥6 m，减少25%后亦应≥4.5 m）", [
            _b("1#办公楼", kind="civil", use_class="民用", fire_grade=2, height_m=18),
            _b("2#宿舍楼", kind="civil", use_class="民用", fire_grade=2, height_m=15),
            _d(4.0, "1#办公楼", "2#宿舍楼", fire_wall=False, openings_protected=False),
        ], docs={"site": "site_plan"}),
        example("fail", "高度超过100 m 的建筑不得减小间距", [
            _b("A塔", kind="civil", use_class="民用", fire_grade=1, height_m=120),
            _b("B楼", kind="civil", use_class="民用", fire_grade=2, height_m=20),
            _d(8.0, "A塔", "B楼"),
        ], docs={"site": "site_plan"}),
        example("pass", "间距6 m 满足一二级多层之间的要求", [
            _b("1#办公楼", kind="civil", use_class="民用", fire_grade=2, height_m=18),
            _b("2#宿舍楼", kind="civil", use_class="民用", fire_grade=1, height_m=15),
            _d(6.0, "1#办公楼", "2#宿舍楼"),
        ], docs={"site": "site_plan"}),
        example("pass", "耐火等级未注明，但间距14 m 已满足任何情况", [
            _b("1#楼", kind="civil", use_class="民用", height_m=18), _b("2#楼", kind="civil", use_class="民用", height_m=18),
            _d(14.0, "1#楼", "2#楼"),
        ], docs={"site": "site_plan"}),
        example("fail", "间距5 m 小于6 m，材料未主张任何表注（整改意见写明可提供表5.2.2注1等条件）", [
            _b("1#办公楼", kind="civil", use_class="民用", fire_grade=2, height_m=18),
            _b("2#宿舍楼", kind="civil", use_class="民用", fire_grade=2, height_m=15),
            _d(5.0, "1#办公楼", "2#宿舍楼"),
        ], docs={"site": "site_plan"}),
        example("uncertain", "间距5 m 小于6 m，但材料写明相邻外墙为防火墙（表5.2.2注2），须人工核对", [
            _b("1#办公楼", kind="civil", use_class="民用", fire_grade=2, height_m=18),
            _b("2#宿舍楼", kind="civil", use_class="民用", fire_grade=2, height_m=15),
            _d(5.0, "1#办公楼", "2#宿舍楼", text="1#办公楼与2#宿舍楼相邻外墙为防火墙，间距5.0m"),
        ], docs={"site": "site_plan"}),
        example("uncertain", "间距4 m，材料载明开口设甲级防火门窗（表5.2.2注5，不小于3.5 m），须人工核对", [
            _b("1#办公楼", kind="civil", use_class="民用", fire_grade=2, height_m=18),
            _b("2#宿舍楼", kind="civil", use_class="民用", fire_grade=2, height_m=15, openings_protected=True),
            _d(4.0, "1#办公楼", "2#宿舍楼"),
        ], docs={"site": "site_plan"}),
        example("uncertain", "耐火等级未注明，间距7 m 是否满足取决于耐火等级", [
            _b("1#楼", kind="civil", use_class="民用", height_m=18), _b("2#楼", kind="civil", use_class="民用", height_m=18),
            _d(7.0, "1#楼", "2#楼"),
        ], docs={"site": "site_plan"}),
    ],
)
def civil_separation(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """民用建筑之间的防火间距（GB 50016 表5.2.2，含表注与5.2.6）。

    读取总平面图中的防火间距及两端建筑的类别、耐火等级、高度；信息不全时按所有可能的分类判断，
    结论不一致则判为待核实并说明缺什么。低于表值而材料未主张表注条件的判为不通过，整改意见写明
    可提供的表注条件（如表5.2.2注2防火墙）；材料写明防火墙、甲级防火门窗等表注条件的判为待核实。
    """
    yield from judge(view, ctx, "civil")


@rule(
    "gb50016.factory_separation.v2",
    category="standard.fire_separation",
    requires=["fire_separation_distance", "building", "building_height"],
    citation=Citation(standard="GB 50016", edition="2014(2018年版)", clause="表3.4.1"),
    severity="high",
    params=SeparationParams,
    tables=[TABLES_DIR / "gb50016_3_4_1"],
    facts=[
        Fact(statement="表3.4.1 厂房防火间距（S = A + B + C 规律及明确单元格）；丁戊类单多层厂房与单多层民用建筑 10/12/14、12/14/16、14/16/18 m",
             source=f"{DOMAIN} §4.2（2026-12-06 更正）、§7.1", confidence="M"),
        Fact(statement="表3.4.1注：单、多层戊类厂房与民用建筑的间距按表5.2.2（戊类厂房等同民用建筑）；丁类厂房不适用",
             source=f"{DOMAIN} §4.2 footnotes、§7.1", confidence="M"),
        Fact(statement="戊类单多层厂房之间减2m；防火墙、开口保护、减少25%等表注", source=f"{DOMAIN} §4.2 footnotes", confidence="M"),
        Fact(statement="防火墙、开口保护等减小间距的表注适用于两座厂房之间；与民用建筑之间仅丙丁戊类一二级厂房可减小（不限/≥4m），甲乙类不减小",
             source="GB 50016-2014(2018年版) 表3.4.1 注（据标准原文回忆，domain_sources.md §4.2 未区分，需核对）", confidence="M"),
        _FACT_CLAIM,
    ],
    examples=[
        example("fail", "丙类多层厂房与多层民用建筑间距8 m，材料载明无防火墙、开口未采取防火措施（应≥10 m）", [
            _b("3#车间", kind="factory", use_class="丙", fire_grade=2, height_m=12),
            _b("办公楼", kind="civil", use_class="民用", fire_grade=2, height_m=15),
            _d(8.0, "3#车间", "办公楼", fire_wall=False, openings_protected=False),
        ], docs={"site": "site_plan"}, industry="hazardous_chemicals"),
        example("fail", "甲类厂房与多层民用建筑间距18 m（应≥25 m，表注不适用于甲乙类厂房与民用建筑）", [
            _b("甲类车间", kind="factory", use_class="甲", fire_grade=2, height_m=8),
            _b("宿舍", kind="civil", use_class="民用", fire_grade=2, height_m=12),
            _d(18.0, "甲类车间", "宿舍"),
        ], docs={"site": "site_plan"}, industry="hazardous_chemicals"),
        example("pass", "甲类厂房与多层民用建筑间距30 m（应≥25 m）", [
            _b("甲类车间", kind="factory", use_class="甲", fire_grade=2, height_m=8),
            _b("宿舍", kind="civil", use_class="民用", fire_grade=2, height_m=12),
            _d(30.0, "甲类车间", "宿舍"),
        ], docs={"site": "site_plan"}, industry="hazardous_chemicals"),
        example("fail", "丁类多层厂房与二级多层宿舍间距8 m（应≥10 m；丁类不适用表5.2.2的数值），材料未主张表注", [
            _b("丁类车间", kind="factory", use_class="丁", fire_grade=2, height_m=10),
            _b("宿舍", kind="civil", use_class="民用", fire_grade=2, height_m=12),
            _d(8.0, "丁类车间", "宿舍"),
        ], docs={"site": "site_plan"}, industry="non_coal_mine"),
        example("pass", "戊类多层厂房与二级多层宿舍间距8 m（表3.4.1注：戊类厂房按表5.2.2，应≥6 m）", [
            _b("戊类车间", kind="factory", use_class="戊", fire_grade=2, height_m=10),
            _b("宿舍", kind="civil", use_class="民用", fire_grade=2, height_m=12),
            _d(8.0, "戊类车间", "宿舍"),
        ], docs={"site": "site_plan"}, industry="non_coal_mine"),
        example("fail", "两座丙类厂房间距9 m（应≥10 m），材料未主张减少25%等表注", [
            _b("1#厂房", kind="factory", use_class="丙", fire_grade=2, height_m=10),
            _b("2#厂房", kind="factory", use_class="丙", fire_grade=2, height_m=10),
            _d(9.0, "1#厂房", "2#厂房"),
        ], docs={"site": "site_plan"}, industry="hazardous_chemicals"),
        example("uncertain", "两座丙类厂房间距9 m（应≥10 m），材料写明开口面积≤5%且不正对（表注可减少25%），须人工核对", [
            _b("1#厂房", kind="factory", use_class="丙", fire_grade=2, height_m=10),
            _b("2#厂房", kind="factory", use_class="丙", fire_grade=2, height_m=10),
            _d(9.0, "1#厂房", "2#厂房", text="两厂房相邻外墙为不燃性墙体，门窗洞口面积不大于外墙面积的5%且不正对"),
        ], docs={"site": "site_plan"}, industry="hazardous_chemicals"),
        example("uncertain", "丁类厂房与宿舍间距6 m，图上标注防火墙（表注：不小于4 m 或不限），须人工核对", [
            _b("丁类车间", kind="factory", use_class="丁", fire_grade=2, height_m=10, fire_wall_marked=True),
            _b("宿舍", kind="civil", use_class="民用", fire_grade=2, height_m=12),
            _d(6.0, "丁类车间", "宿舍"),
        ], docs={"site": "site_plan"}, industry="non_coal_mine"),
    ],
)
def factory_separation(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """厂房与厂房、乙丙丁戊类仓库、民用建筑之间的防火间距（GB 50016 表3.4.1）。

    至少一端为厂房的间距由本规则判断；甲类仓库（表3.5.1，需储量）判为待核实。
    丁类厂房与民用建筑按本表（10/12/14 m 等）；单、多层戊类厂房与民用建筑按表注执行表5.2.2。
    低于表值而材料未主张表注条件的判为不通过；材料写明防火墙等表注条件的判为待核实。
    """
    yield from judge(view, ctx, "factory")


@rule(
    "gb50016.warehouse_separation.v2",
    category="standard.fire_separation",
    requires=["fire_separation_distance", "building", "building_height"],
    citation=Citation(standard="GB 50016", edition="2014(2018年版)", clause="表3.5.2"),
    severity="medium",
    params=SeparationParams,
    tables=[TABLES_DIR / "gb50016_3_5_2"],
    facts=[
        Fact(statement="表3.5.2 乙丙丁戊类仓库与民用建筑的防火间距", source=f"{DOMAIN} §4.4（来源标注 [L/M]，需以标准原文核对）", confidence="L"),
        Fact(statement="丁类仓库一行存疑（2006年版将丁类与乙、丙类并列）：按较严格的丙类数值判断，结论理由中说明",
             source=f"{DOMAIN} §7.1", confidence="L"),
        _FACT_CLAIM,
    ],
    examples=[
        example("fail", "乙类仓库与民用建筑间距20 m（应≥25 m，无减小条款）", [
            _b("乙类库", kind="warehouse", use_class="乙", fire_grade=2, height_m=8),
            _b("食堂", kind="civil", use_class="民用", fire_grade=2, height_m=6),
            _d(20.0, "乙类库", "食堂"),
        ], docs={"site": "site_plan"}, industry="hazardous_chemicals"),
        example("fail", "丁类仓库与二级多层民用建筑间距8 m：丁类一行存疑[L]，按较严格的丙类数值（应≥10 m）判断，理由中说明", [
            _b("丁类库", kind="warehouse", use_class="丁", fire_grade=2, height_m=8),
            _b("食堂", kind="civil", use_class="民用", fire_grade=2, height_m=6),
            _d(8.0, "丁类库", "食堂"),
        ], docs={"site": "site_plan"}, industry="hazardous_chemicals"),
        example("pass", "戊类仓库与二级多层民用建筑间距8 m（应≥6 m）", [
            _b("戊类库", kind="warehouse", use_class="戊", fire_grade=2, height_m=8),
            _b("食堂", kind="civil", use_class="民用", fire_grade=2, height_m=6),
            _d(8.0, "戊类库", "食堂"),
        ], docs={"site": "site_plan"}, industry="hazardous_chemicals"),
        example("pass", "丙类仓库与民用建筑间距12 m（应≥10 m）", [
            _b("丙类库", kind="warehouse", use_class="丙", fire_grade=2, height_m=8),
            _b("食堂", kind="civil", use_class="民用", fire_grade=2, height_m=6),
            _d(12.0, "丙类库", "食堂"),
        ], docs={"site": "site_plan"}, industry="hazardous_chemicals"),
        example("uncertain", "两座仓库之间的间距，本规则未涵盖", [
            _b("丙类库", kind="warehouse", use_class="丙", fire_grade=2, height_m=8),
            _b("丁类库", kind="warehouse", use_class="丁", fire_grade=2, height_m=8),
            _d(5.0, "丙类库", "丁类库"),
        ], docs={"site": "site_plan"}, industry="hazardous_chemicals"),
    ],
)
def warehouse_separation(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """乙、丙、丁、戊类仓库与民用建筑之间的防火间距（GB 50016 表3.5.2 民用建筑各列）。

    仓库之间、甲类仓库（表3.5.1）的间距未纳入本规则，判为待核实，由人工核对。
    丁类仓库一行存疑（[L]），按较严格的丙类数值判断，并在结论理由中说明。
    """
    yield from judge(view, ctx, "warehouse")
