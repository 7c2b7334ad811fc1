"""Design parameters: numbers with units bound to what they measure.

A measure ("不小于1.20m", "180mm", "１３米") is bound to the nearest
keyword before it in its sentence: 防火间距 (between the two buildings the
sentence names), the element of an evacuation width (门/走道/楼梯/出口),
建筑高度, 脚手架搭设高度, 防护栏杆, 挡脚板. Buildings collect their fire
resistance grade, use class, height and storeys from the sentences that
name them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..normalize import chinese_numeral
from .patterns import STOREYS_RE, find_measures

_BUILDING = re.compile(
    r"(?P<b>(?:[0-9A-Za-z]+(?:#|号|-\d+#?)?)?[\u4e00-\u9fff]{0,6}?"
    r"(?:办公楼|宿舍楼|住宅楼|综合楼|教学楼|生产楼|研发楼|实验楼|厂房|仓库|库房|车间|食堂|配电房|配电室|锅炉房|"
    r"泵房|门卫室|门卫|罐区|商业楼|酒店|宿舍|建筑物|号楼|#楼|楼|栋|幢|材料库|机房|加工棚|棚|库|站房|变电所|车库|"
    r"用房|活动房|板房|值班室|控制室|中控室|化验室|调度室|办公室|变配电室|体育馆|图书馆|展览馆|场馆|礼堂)"
    # "3#活动中心": a coded name ending in 中心 is a building; uncoded, 中心 is too often an office's name.
    r"|[0-9A-Za-z]+#[\u4e00-\u9fff]{1,4}中心)"
)
_BAD_BUILDING_PREFIX = ("该", "本", "此", "各", "每", "两", "其", "与", "和", "及", "至", "的", "在", "为", "距", "层")


def buildings_in(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _BUILDING.finditer(text):
        name = m["b"]
        s = m.start("b")
        while name and (name[0] in _BAD_BUILDING_PREFIX or name[0] in "之间"):
            name, s = name[1:], s + 1
        # A bare "楼" or "栋" names nothing.
        if len(name) < 2 or name in ("楼层", "建筑物", "楼梯") or re.match(r"^[甲乙丙丁戊]类", name):
            continue
        if re.match(r"^(?:高层|多层|单层|民用|工业|公共|相邻|其他|一类|二类)", name):
            continue
        if text[m.end():m.end() + 2] in ("工程", "项目") or re.search(r"[与和及]", name):
            continue  # a project's name, or two buildings read as one
        if name.endswith("建筑物") and not re.match(r"^[0-9A-Za-z]", name):
            continue
        if name.endswith("楼") and text[m.end():m.end() + 1] in ("梯", "层", "板", "面"):
            continue
        out.append((s, s + len(name), name))
    return out


_KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("toe_board_height", re.compile(r"挡脚板")),
    ("guard_rail_height", re.compile(r"防护栏杆|栏杆|护栏|上杆|横杆离地")),
    ("scaffold_height", re.compile(r"脚手架.{0,12}(?:搭设)?高度|搭设高度|架体高度|脚手架高")),
    ("fire_separation_distance", re.compile(r"防火间距|间距|相距|距离")),
    ("evacuation_width:door", re.compile(r"疏散门|房间门|户门|门(?:的)?(?:净)?宽")),
    ("evacuation_width:corridor", re.compile(r"疏散走道|走道|走廊|内廊|外廊")),
    ("evacuation_width:stair", re.compile(r"疏散楼梯|楼梯|梯段|楼梯间")),
    ("evacuation_width:exit", re.compile(r"安全出口|疏散出口|出口")),
    ("building_height", re.compile(r"建筑高度|檐口高度|房屋高度|楼高|H=")),
]
# A measure written before what it measures: "1.2m高防护栏杆", "180mm高挡脚板".
_AFTER = re.compile(r"^\s*(?:高|宽|的)?\s*(?P<kw>防护栏杆|护身栏杆|挡脚板|疏散门|疏散走道|疏散楼梯|安全出口)")
# Words that make a height after them a regime's threshold ("搭设高度未超过50m，不需组织专家论证").
# Commitments the plan makes ("不低于1.2m" for a rail) are values, so comparisons are not listed.
_THRESHOLD_BEFORE = re.compile(r"(?:未超过|超过|未达到|达到)\s*$")
_SUBORDINATE = re.compile(r"中栏杆|中杆|下杆|下栏杆|中间设|扫地杆")
_WIDTH_WORD = re.compile(r"宽|净宽|宽度")

SCAFFOLD_TYPES = ("落地式", "悬挑式", "附着式升降", "满堂", "门式", "碗扣式", "盘扣式", "扣件式", "吊篮", "双排", "单排")


@dataclass(slots=True)
class DesignHit:
    type: str
    start: int
    end: int
    value: float
    attributes: dict[str, object] = field(default_factory=dict)
    certainty: float = 0.9


def _kind_for(left: str) -> tuple[str | None, int]:
    """The keyword closest to the measure wins; -1 when none."""
    best: tuple[str | None, int, int] = (None, -1, 0)
    for kind, rx in _KINDS:
        for m in rx.finditer(left):
            key = (m.end(), len(m.group()))
            if key > (best[1], best[2]):
                best = (kind, m.end(), len(m.group()))
    return best[0], best[1]


def sentences(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for m in re.finditer(r"[。;；!！?？]", text):
        out.append((start, m.end()))
        start = m.end()
    if start < len(text):
        out.append((start, len(text)))
    return out


def design_hits(text: str, *, scaffold_doc: bool = False) -> list[DesignHit]:
    """Measures bound to what they measure, in one normalised text."""
    hits: list[DesignHit] = []
    for s0, s1 in sentences(text):
        sent = text[s0:s1]
        measures = find_measures(sent)
        prev_end = 0
        for ms in measures:
            left = sent[prev_end:ms.start]
            after = _AFTER.match(sent[ms.end:])
            between = left.strip()
            prev_end_was = prev_end
            prev_end = ms.end
            if prev_end_was and (between in ("≥", ">=", "≤", "<=", ">", "<", "大于", "小于", "超过") or (
                    not between and sent[ms.start] in "≥>≤<")):
                continue  # "45m≥24m": a threshold quoted after the value
            if after and _kind_for(left)[0] is not None and re.search(r"(?:净宽|宽度|宽|高度|高|为|[:：=])\s*$", left):
                # "房间疏散门净宽1.00m疏散走道净宽1.80m": the keyword before the
                # value, with its 净宽, claims it; the next keyword opens the next pair.
                after = None
            if after:
                kind, _ = _kind_for(after["kw"])
                if _SUBORDINATE.search(sent[ms.end:ms.end + 6]):
                    continue
            else:
                kind, _ = _kind_for(left)
                if kind is None and not re.search(r"[,，]", left):
                    # Same clause as an earlier measure: "疏散门、走道净宽分别为1.0m、1.4m".
                    clause = re.split(r"[,，]", sent[:ms.start])[-1]
                    kind, _ = _kind_for(clause)
            if sent[ms.end:ms.end + 1] in ("厚", "长", "深") or sent[ms.end:ms.end + 2] in ("以上", "以下"):
                continue  # a thickness or a threshold, not the height asked for
            if kind in ("scaffold_height", "building_height") and _THRESHOLD_BEFORE.search(sent[max(0, ms.start - 4):ms.start]):
                continue  # "搭设高度未超过50m": a regime's threshold quoted, not the design value
            if kind is None:
                continue
            if kind in ("guard_rail_height", "toe_board_height") and not after and _SUBORDINATE.search(left):
                continue
            if kind.startswith("evacuation_width") and not (after or _WIDTH_WORD.search(sent[:ms.start])):
                continue
            if kind == "scaffold_height" and not (scaffold_doc or "脚手架" in sent):
                continue
            attrs: dict[str, object] = {"qualifier": ms.qualifier}
            typ = kind
            if kind.startswith("evacuation_width"):
                typ, element = kind.split(":")
                attrs["element"] = element
                bs = buildings_in(sent[:ms.start])
                if bs:
                    attrs["building"] = bs[-1][2]
            elif kind == "fire_separation_distance":
                names = []
                for b in buildings_in(sent[:ms.start]):
                    if b[2] not in names:
                        names.append(b[2])
                if len(names) >= 2:
                    attrs["between"] = names[-2:]
                elif not re.search(r"防火间距", sent):
                    continue  # a distance between unnamed things is not a separation
            elif kind == "building_height":
                bs = buildings_in(sent[:ms.start]) or buildings_in(sent)
                if bs:
                    attrs["building"] = bs[-1][2]
            elif kind == "scaffold_height":
                for t in SCAFFOLD_TYPES:
                    if t in sent:
                        attrs["scaffold_type"] = t
                        break
            elif kind in ("guard_rail_height", "toe_board_height"):
                if kind == "guard_rail_height" and ms.metres > 3:
                    continue
                if kind == "toe_board_height" and ms.metres > 1:
                    continue
            hits.append(DesignHit(typ, s0 + ms.start, s0 + ms.end, ms.metres, attrs))
    return hits


_GRADE = re.compile(r"耐火等级(?:为|:)?\s*(?P<g>[一二三四1234])\s*级")
_USE = re.compile(r"(?P<c>[甲乙丙丁戊])类(?P<k>厂房|仓库|库房|车间|生产|储存)?")
_CIVIL = re.compile(r"民用建筑|办公楼|住宅|宿舍|综合楼|公共建筑|教学楼|商业")


@dataclass(slots=True)
class BuildingHit:
    name: str
    start: int
    end: int
    attributes: dict[str, object]


_LABEL = re.compile(
    r"^(?P<name>\S+?)\s*(?:(?P<civil>民用)|(?P<cls>[甲乙丙丁戊])类)\s*(?P<g>[一二三四])级\s*(?P<tall>高层|多层|单层)?\s*"
    r"(?:H=(?P<h>\d+(?:\.\d+)?)m)?"
)


def building_hits(text: str) -> list[BuildingHit]:
    """Buildings named in a sentence with a property of their own, and
    drawing labels such as "1#办公楼 民用 二级 多层 H=18m"."""
    out: list[BuildingHit] = []
    lm = _LABEL.match(text)
    if lm and buildings_in(lm["name"]):
        attrs: dict[str, object] = {"fire_grade": "一二三四".index(lm["g"]) + 1}
        if lm["civil"]:
            attrs.update(use_class="民用", kind="civil")
        else:
            attrs.update(use_class=lm["cls"], kind="warehouse" if re.search("仓库|库房", lm["name"]) else "factory")
        if lm["h"]:
            attrs["height_m"] = float(lm["h"])
        if lm["tall"]:
            attrs["high_rise"] = lm["tall"] == "高层"
        return [BuildingHit(lm["name"], 0, len(lm["name"]), attrs)]
    for s0, s1 in sentences(text):
        sent = text[s0:s1]
        bs = buildings_in(sent)
        if not bs:
            continue
        attrs: dict[str, object] = {}
        g = _GRADE.search(sent)
        if g:
            attrs["fire_grade"] = int(chinese_numeral(g["g"]) or 0) or None
        u = _USE.search(sent)
        if u:
            attrs["use_class"] = u["c"]
            kind = u["k"] or bs[0][2]
            attrs["kind"] = "warehouse" if any(w in kind for w in ("仓库", "库房", "储存")) else "factory"
        elif _CIVIL.search(sent):
            attrs["use_class"] = "民用"
            attrs["kind"] = "civil"
        st = STOREYS_RE.search(sent)
        if st:
            n = chinese_numeral(st["n"])
            if n:
                attrs["storeys"] = n
        for h in design_hits(sent):
            if h.type == "building_height":
                attrs["height_m"] = h.value
        if "高层" in sent:
            attrs["high_rise"] = True
        elif "多层" in sent or "单层" in sent:
            attrs["high_rise"] = False
        if not attrs or len({b[2] for b in bs}) > 1 and not ("height_m" in attrs or "fire_grade" in attrs):
            # A sentence about two buildings and no property of one: a separation sentence.
            continue
        s, e, name = bs[0]
        out.append(BuildingHit(name, s0 + s, s0 + e, attrs))
    return out
