"""Reading drawing text: building labels, the scale ratio, distance annotations."""

from __future__ import annotations

import re
import unicodedata

from ..fields.design import buildings_in

_GRADE = re.compile(r"(?:耐火等级\s*(?:为|:)?\s*)?(?P<g>[一二三四1234])\s*级(?!防火)")
_CLASS = re.compile(r"(?P<c>[甲乙丙丁戊])\s*类")
_CIVIL = re.compile(r"民用|住宅|公共建筑")
# Building names that are civil buildings whatever else the label says (no 甲..戊 class given).
_CIVIL_NAME = re.compile(r"宿舍|办公|住宅|商住|食堂|综合楼|教学|门卫|商业|酒店|公寓|会议|值班|用房|活动房|医院|学校|宾馆|餐厅|活动中心|服务中心|培训中心")
# A use stated as a word of its own in the label ("2#研发楼 办公 耐火等级二级"): a civil building.
_CIVIL_USE = re.compile(r"(?:^|\s)(?:高层|多层)?(?:办公|宿舍|住宅|商业|教学|公寓|酒店|医院|学校|食堂)(?:楼|用房)?(?=\s|$)")
_STOREYS = re.compile(r"(?P<n>\d{1,3}|[一二三四五六七八九十]{1,3})\s*(?:层|F(?![A-Za-z]))")
_HEIGHT = re.compile(r"(?:H|h|高度?)\s*[=＝:：]?\s*(?P<h>\d+(?:\.\d+)?)\s*(?:m|米)")
_RATIO = re.compile(r"(?:比\s*例\s*[:：]?\s*)?1\s*[:：∶/]\s*(?P<n>[1-9]\d{1,5})(?!\d)")
_SEPARATION = re.compile(r"(?:防火)?间距\s*[:：=]?\s*(?P<v>\d+(?:\.\d+)?)\s*(?P<u>mm|m|米)?")
_PLAIN = re.compile(r"^\s*(?P<v>\d+(?:\.\d+)?)\s*(?P<u>m|米)\s*$")
_CN_NUM = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


# A storey lower than any building these rules meet (housing is built at 2.8 m and more).
_MIN_STOREY_M = 2.5


def norm(text: str) -> str:
    """Half-width digits and punctuation: OCR and CAD fonts mix both."""
    return unicodedata.normalize("NFKC", text).replace("＃", "#")


def _cn_int(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    if s == "十":
        return 10
    if len(s) == 2 and s[0] == "十":
        return 10 + _CN_NUM.get(s[1], 0)
    if len(s) >= 2 and s[1] == "十":
        return _CN_NUM.get(s[0], 0) * 10 + (_CN_NUM.get(s[2], 0) if len(s) == 3 else 0)
    return _CN_NUM.get(s)


def building_name(text: str) -> str | None:
    """The building named in a label line (reuses the field extractor's building grammar)."""
    hits = buildings_in(norm(text).replace(" ", ""))
    if hits:
        return hits[0][2]
    # On a drawing a class and a kind name the building ("甲类车间 单层 二级");
    # in prose the same words are a category (the field grammar skips them).
    first = norm(text).split()[0] if norm(text).split() else ""
    m = _CLASS_NAMED.match(first)
    return m.group(0) if m else None


_CODED = re.compile(r"^[0-9A-Za-z]{1,3}#?\s+(?P<name>[\u4e00-\u9fff（）()]{2,14})(?:\s|$)")
_CLASS_NAMED = re.compile(r"^(?:[0-9A-Za-z]+#?)?[甲乙丙丁戊]类[\u4e00-\u9fff]{0,4}?(?:车间|厂房|仓库|库房|库|罐区|装置)$")


def parse_label(lines: list[str]) -> dict:
    """Name, use class, kind, fire grade, storeys, height and 高层/多层 from a building's label lines."""
    text = norm(" ".join(lines))
    out: dict = {"name": None}
    for ln in lines:
        name = building_name(ln)
        if name:
            out["name"] = name
            break
    else:
        # "4 原料及成品仓库 丙类 二级": a code and a name the grammar does not know (a schedule row).
        for ln in lines:
            m = _CODED.match(norm(ln))
            if m:
                out["name"] = m["name"]
                break
    m = _CLASS.search(text)
    if m:
        out["use_class"] = m["c"]
        name = out["name"] or ""
        out["kind"] = "warehouse" if re.search("仓库|库房|储罐|库$", name) else "factory"
    elif _CIVIL.search(text) or _CIVIL_NAME.search(out["name"] or "") or _CIVIL_USE.search(text):
        # No 甲..戊 class: a dormitory, an office, a canteen is a civil building.
        out["use_class"], out["kind"] = "民用", "civil"
    g = _GRADE.search(text)
    if g:
        out["fire_grade"] = "一二三四".index(g["g"]) + 1 if g["g"] in "一二三四" else int(g["g"])
    s = _STOREYS.search(text.replace("高层", "").replace("多层", "").replace("单层", ""))
    if s:
        out["storeys"] = _cn_int(s["n"])
    h = _HEIGHT.search(text)
    if h:
        out["height_m"] = float(h["h"])
    if "高层" in text:
        out["high_rise"] = True
        hc = re.search(r"(?P<c>[一二])类高层|高层[(（]?(?P<d>[一二])类", text)
        if hc:
            out["high_rise_class"] = 1 if (hc["c"] or hc["d"]) == "一" else 2
    elif "多层" in text or "单层" in text:
        out["high_rise"] = False
    elif out.get("storeys") is not None and out["storeys"] <= (6 if out.get("kind") == "civil" else 2):
        # Too few floors to pass 24 m (GB 50016 2.1.1) at any usual storey height.
        out["high_rise"] = False
    elif out.get("height_m") is not None:
        # GB 50016 2.1.1: above 24 m is high-rise (27 m for housing)
        limit = 27.0 if "住宅" in text else 24.0
        out["high_rise"] = out["height_m"] > limit and (out.get("storeys") or 2) >= 2
    elif out.get("storeys") is not None and out["storeys"] * _MIN_STOREY_M > (27.0 if "住宅" in text else 24.0):
        # So many floors that even a low 2.5 m storey passes the limit ("住宅 18层").
        out["high_rise"] = True
    out["fire_wall_marked"] = "防火墙" in text
    out["label_complete"] = bool(out["name"] and out.get("use_class") and out.get("fire_grade")
                                 and out.get("high_rise") is not None)
    return out


def is_attribute_line(text: str) -> bool:
    """A line that only gives storeys and/or height ("五层 H=19.80m", "单层"), no name."""
    t = norm(text).replace(" ", "")
    storeys = r"(?:(?:\d{1,3}|[一二三四五六七八九十]{1,3}|[单多高])层|\d{1,3}F)"
    height = r"(?:[Hh]|高度?)[=＝:：]?\d+(?:\.\d+)?(?:m|米)"
    grade = r"(?:耐火等级)?[一二三四1234]级"
    use = r"(?:[甲乙丙丁戊]类|民用)"
    return bool(re.fullmatch(rf"(?:{storeys}|{height}|{grade}|{use}|[,，;；、])+", t))


def looks_like_label(text: str) -> bool:
    """Text that describes a building even if its name was not read."""
    t = norm(text)
    return bool(_CLASS.search(t) or _CIVIL.search(t)) and bool(_GRADE.search(t))


def scale_ratio(text: str) -> int | None:
    t = norm(text).replace(" ", "")
    m = _RATIO.search(t)
    if not m:
        return None
    # "1:500" alone is a ratio only on a drawing's title block; keep plausible map scales.
    n = int(m["n"])
    return n if 10 <= n <= 50000 else None


def separation_value(text: str) -> float | None:
    """'防火间距 8.0m' → 8.0; a bare '12.0m' → 12.0 (for dimension lines); None otherwise."""
    t = norm(text).replace(" ", "")
    m = _SEPARATION.search(t)
    if m:
        v = float(m["v"])
        # CAD dimensions are in millimetres unless a unit is written: "间距 6000" is 6 m.
        return v / 1000 if m["u"] == "mm" or (m["u"] is None and v >= 100) else v
    m = _PLAIN.match(t)
    return float(m["v"]) if m else None


def is_keyword_annotation(text: str) -> bool:
    return "间距" in norm(text)


NUMBER = re.compile(r"\d+(?:\.\d+)?")
