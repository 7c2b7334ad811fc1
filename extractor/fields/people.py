"""People: what a name looks like, name lists, names in prose and their roles.

Labelled names ("法定代表人:王建国") and roster names come from the
key–value and table steps; this module checks that a value is a name and
finds names in running text: by rules where a title stands before the name
("总经理王建国为安全生产第一责任人") and, when it is installed, by the
statistical recogniser ``extractor.ner.find_entities``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..identifiers import PROVINCES
from ..normalize import compact_name, is_han
from .lexicon import (
    HEADERS,
    NAME_STOP_BIGRAMS,
    NAME_STOPS,
    NOT_NAMES,
    PROSE_TITLES,
    SURNAMES_DOUBLE,
    SURNAMES_SINGLE,
    TITLE_ROLES,
    compile_alternatives,
    role_of_title,
)

_NAME_RE = re.compile(r"^[\u4e00-\u9fff]{2,4}$|^[\u4e00-\u9fff]{1,6}·[\u4e00-\u9fff]{1,8}$")


def has_surname(name: str) -> bool:
    return name[:2] in SURNAMES_DOUBLE or name[:1] in SURNAMES_SINGLE


def looks_like_name(text: str, *, labelled: bool = False) -> bool:
    """A person's name: 2–4 Han characters (or a minority name with ·).

    Where a label says it is a name, any such string is accepted; in prose
    the first character must be a known surname.
    """
    name = compact_name(text)
    if not _NAME_RE.match(name) or name in NOT_NAMES:
        return False
    if any(w in name for w in ("公司", "单位", "部门", "项目", "负责", "安全", "管理", "签字", "盖章", "姓名", "股份",
                               "机构", "银行", "集团", "有限", "中心", "政府", "委员", "协会",
                               # trades: a seal's "…盛建筑工程" cut short is no person
                               "建筑", "工程", "施工")):
        return False
    if "·" in name:
        return True
    if len(name) >= 3 and any(w in name[1:] for w in _TITLE_WORDS):
        return False  # "任组长", "王经理": a surname and a title, not a name
    if _VERB_TAIL.search(name) and len(name) >= 3:
        return False  # "应落实", "孟负责": a word after a title or surname, not a given name
    if _PLACE_TAIL.search(name) and len(name) >= 3:
        return False  # "楼梯间", "卫生间", "配电房": rooms on a floor plan, not people
    if labelled:
        # A label vouches for rare surnames, but a two-character word under 姓名
        # (a header row "姓名 分工") is no name without a surname.
        return len(name) > 2 or has_surname(name)
    return has_surname(name)


_TITLE_WORDS = ("组长", "队长", "班长", "经理", "主任", "部长", "科长", "书记", "主席", "厂长", "矿长", "总监", "局长")


# Verbs of duty that follow a title in these documents ("项目负责人应落实…"):
# a "name" ending in one is a title's sentence, not a person.
_VERB_TAIL = re.compile("(?:落实|负责|组织|督促|检查|制定|执行|实施|监督|管理|参加|开展|建立|保证|确保|做好|贯彻|协助|"
                        "审批|签订|编制|审核|批准|履行|承担|配合|参与|主持|分管|领导)$")


# Rooms and places a plan labels ("楼梯间", "值班室", "配电房", "危险品库"): a three-
# or four-character "name" ending in one is a place.
_PLACE_TAIL = re.compile("(?:间|室|房|库|厅|梯|廊|棚|站|池|井|区|场|所|厂|仓)$")


# Words that are roles, column headers or form words, never part of a name.
_NOT_IN_NAMES = tuple(sorted(
    {w for w, _role in TITLE_ROLES if len(w) >= 2}
    | {w for variants in HEADERS.values() for w in variants if len(w) >= 2 and is_han(w[0])}
    | {"班组长", "组长", "队长", "序号", "签字", "签名", "盖章", "日期", "单位", "人员", "负责", "主任", "部长",
       "科长", "经理", "书记", "主席", "编号", "证号", "名册", "花名册", "合计", "备注"},
    key=len, reverse=True))


def name_doubt(text: str) -> str | None:
    """Why ``text`` may not be a person's name as written (Chinese), or None.

    The test a value must pass before a ``fail`` can rest on it: 2–4 Han
    characters (a minority name with ·), a known surname (compound ones
    included), no role, header or form word inside, and no trailing 男/女
    that an adjacent 性别 column may have glued on (李娜女). A doubt is not a
    verdict that the text is no name: rare surnames and given names ending in
    男 (胜男) exist, so a doubt makes a finding ``uncertain``, never drops it.
    """
    name = compact_name(text)
    if "·" in name:
        return None if _NAME_RE.match(name) else f"“{name}”不是规范的姓名写法"
    if not re.fullmatch(r"[\u4e00-\u9fff]{2,4}", name):
        return f"“{name}”不是2至4个汉字，可能混入了其他栏目的内容"
    word = next((w for w in _NOT_IN_NAMES if w in name), None)
    if word is not None or name in NOT_NAMES:
        return f"“{name}”含有职务、表头或表格用字（{word or name}），可能不是姓名"
    if not has_surname(name):
        return f"“{name}”的首字不是常见姓氏，可能识别有误"
    if len(name) == 3 and name[1:] == "建安" and name[0] in PROVINCES:
        return f"“{name}”可能是证书编号的省份前缀（如{name}A…），不是姓名"
    if len(name) >= 3 and name[-1] in "男女" and not (len(name) == 3 and name[:2] in SURNAMES_DOUBLE):
        return f"“{name}”末字“{name[-1]}”可能是相邻性别栏的内容"
    return None


def split_names(value: str) -> list[tuple[int, int, str]]:
    """Names in a labelled value: "张三、李四", "张三 李四", "张三(签字)"."""
    out = []
    for m in re.finditer(r"[^\s、,，/;；。和及]+", value):
        token = re.sub(r"\((?:签字|签名|盖章|手签)\)$", "", m.group())
        # "龙婷0799-3621078": a telephone number or a date written straight after the name.
        token = re.sub(r"\d[\d\-—年月日./]*$", "", token)
        if looks_like_name(token, labelled=True):
            out.append((m.start(), m.start() + len(token), token))
    return out


@dataclass(slots=True)
class ProseName:
    start: int
    end: int
    name: str
    role: str | None
    title: str | None
    score: float
    how: str  # "title" | "ner" | "ner+title"
    stated: bool = False  # the text states the responsibility ("为安全生产第一责任人"), not just a title


_TITLE_RX = re.compile("(?P<title>" + compile_alternatives(PROSE_TITLES) + ")")
_TITLE_LIST_RX = re.compile(
    "(?P<title>" + compile_alternatives(PROSE_TITLES) + r")(?:\d+|[一二三四五六七八九十]+)?[名人位]?:"
)
_RESPONSIBLE_AFTER = re.compile(
    r"^(?:同志)?(?:为|是|任|担任|作为|系)(?:本?公司|本单位|本项目|企业|项目部)?的?(?P<what>[^,，。;；]{0,20})"
)


def _bound_name(text: str, start: int) -> str | None:
    """The name starting at ``start``: surname plus one or two characters, cut
    where the text goes on with a word that ends names here."""
    two = text[start:start + 2]
    sur_len = 2 if two in SURNAMES_DOUBLE else 1
    if sur_len == 1 and text[start:start + 1] not in SURNAMES_SINGLE:
        return None
    # A two-character word that follows names ("协助", "担任") is the surest
    # end; a single stop character next.
    for test in (lambda e: text[e:e + 2] in NAME_STOP_BIGRAMS, lambda e: e == len(text) or text[e] in NAME_STOPS):
        for given in (2, 1):
            end = start + sur_len + given
            if end > len(text):
                continue
            cand = text[start:end]
            if all(is_han(c) for c in cand) and test(end):
                return cand
    # No stop word after: the common three-character name.
    cand = text[start:start + sur_len + 2]
    if len(cand) == sur_len + 2 and all(is_han(c) for c in cand):
        return cand
    return None


def role_from_context(title: str | None, after: str) -> str | None:
    role = role_of_title(title) if title else None
    m = _RESPONSIBLE_AFTER.match(after)
    if m:
        what_role = role_of_title(m["what"])
        if what_role and (role is None or role == "other" or what_role == "principal"):
            # "总经理王建国为安全生产第一责任人": the responsibility named decides.
            role = what_role if role in (None, "other") else role
    return role


def rule_names(text: str) -> list[ProseName]:
    """Names that follow a title in prose."""
    out = []
    for m in _TITLE_RX.finditer(text):
        start = m.end()
        # "总经理:王建国" and "总经理 王建国" read the same.
        while start < len(text) and text[start] in " :":
            start += 1
        name = _bound_name(text, start)
        if not name or name in NOT_NAMES or not looks_like_name(name):
            continue
        if m["title"] == "同志":
            continue
        title = m["title"]
        role = role_from_context(title, text[start + len(name):])
        # "法定代表人、董事长王建国": the first title of a chain names the role.
        before = text[max(0, m.start() - 8):m.start()]
        resp = _RESPONSIBLE_AFTER.match(text[start + len(name):])
        stated = bool(resp and role_of_title(resp["what"]))
        if re.search(r"(?:法定代表人|法人代表)[、,和及兼]?$", before):
            role, stated = "legal_representative", True
        if title in ("法定代表人", "法人代表", "主要负责人", "项目负责人"):
            stated = True
        out.append(ProseName(start, start + len(name), name, role, title, 0.85, "title", stated))
    # "配备专职安全生产管理人员3名：张三、李四、王五": a list after a title.
    for m in _TITLE_LIST_RX.finditer(text):
        role = role_of_title(m["title"])
        pos = m.end()
        for part in re.finditer(r"[^、,，;；。\s]+", text[pos:]):
            if part.start() > 0 and text[pos + part.start() - 1] not in "、,，":
                break
            name = part.group()
            if not looks_like_name(name, labelled=True) or len(name) > 4:
                break
            s0 = pos + part.start()
            if not any(p.start <= s0 < p.end for p in out):
                out.append(ProseName(s0, s0 + len(name), name, role, m["title"], 0.85, "title"))
    # "王建国同志为…", "王建国为安全生产第一责任人": a name before a responsibility.
    for m in re.finditer(r"(?:^|(?<=[,，。;；、\s:]))(?P<name>[\u4e00-\u9fff]{2,4}?)(?:同志)?(?:为|担任|任)(?:本?公司|本单位|本项目|企业|项目部)?的?(?P<what>安全生产第一责任人|第一责任人|项目负责人|项目经理|专职安全生产管理人员|安全生产管理人员|安全员|主要负责人|安全负责人|法定代表人)", text):
        name = m["name"]
        # Trim a leading function word the lazy match picked up ("由王建国").
        for k in range(len(name) - 1):
            if has_surname(name[k:]) and looks_like_name(name[k:]):
                name = name[k:]
                break
        else:
            continue
        s = m.start("name") + (len(m["name"]) - len(name))
        if any(p.start <= s < p.end for p in out):
            continue
        out.append(ProseName(s, s + len(name), name, role_of_title(m["what"]), None, 0.8, "title", True))
    return out


# --------------------------------------------------------------------------- statistical recogniser

FindEntities = Callable[[str], list[Any]]


@lru_cache(maxsize=1)
def ner_backend() -> FindEntities | None:
    """``extractor.ner.find_entities`` when it is installed and loads, else None.

    Imported lazily: the recogniser is another package's work and may be
    absent (or lack its model); extraction then runs on rules alone.
    """
    try:
        module = importlib.import_module("extractor.ner")
        fn = getattr(module, "find_entities", None)
        if fn is None:
            return None
        fn("王建国")  # load once here, so a broken model fails now, not per line
        return fn
    except Exception:  # noqa: BLE001 - any failure means "no recogniser"
        return None


@lru_cache(maxsize=1)
def ner_batch_backend() -> Callable[[list[str]], list[list[Any]]] | None:
    """The recogniser's batch entry point (one model call for many texts)."""
    if ner_backend() is None:
        return None
    try:
        module = importlib.import_module("extractor.ner")
        fn = getattr(module, "find_entities_batch", None)
        if fn is not None:
            fn(["王建国"])
        return fn
    except Exception:  # noqa: BLE001
        return None


def entities_for(texts: list[str], *, use_ner: bool = True) -> list[list[Any]] | None:
    """Recogniser entities for each text, or None when there is no recogniser."""
    if not use_ner or not texts:
        return None
    backend = ner_backend()
    if backend is None:
        return None
    batch = ner_batch_backend()
    try:
        return batch(texts) if batch is not None else [backend(t) for t in texts]
    except Exception:  # noqa: BLE001 - a failing model must not stop extraction
        return None


def prose_names(text: str, *, use_ner: bool = True, entities: list[Any] | None = None,
                known: set[str] | frozenset[str] = frozenset()) -> list[ProseName]:
    """Rules first; recogniser hits add names the rules did not see, and
    confirm (raise the score of) those they did. ``entities`` are the
    recogniser's for ``text`` when the caller ran it in a batch; ``known``
    are names the document states elsewhere (a roster, a label), which
    complete a name the recogniser cut short ("慕容德" of "慕容德胜")."""
    found = rule_names(text)
    if entities is None:
        got = entities_for([text], use_ner=use_ner)
        if got is None:
            return found
        entities = got[0]
    for e in entities:
        if getattr(e, "label", None) != "PERSON":
            continue
        s, t = int(e.start), int(e.end)
        for k in sorted(known, key=len, reverse=True):
            if len(k) > t - s and k.startswith(text[s:t]) and text[s:s + len(k)] == k:
                t = s + len(k)
                break
        name = text[s:t]
        # The recogniser's names must still start with a surname: "技术" and
        # "操作" before "负责人" are not people.
        if not looks_like_name(name) or name in SURNAMES_DOUBLE:
            continue
        hit = next((p for p in found if not (t <= p.start or s >= p.end)), None)
        if hit is not None:
            hit.score = max(hit.score, 0.95)
            hit.how = "ner+title"
            continue
        # The title, if one stands right before the name, still gives the role.
        before = text[max(0, s - 12):s]
        tm = None
        for tm in _TITLE_RX.finditer(before):
            pass
        title = tm["title"] if tm is not None and tm.end() == len(before) and tm["title"] != "同志" else None
        # No title: the role is left open for the package step to fill in
        # from what other documents say about this person.
        role = role_from_context(title, text[t:])
        score = getattr(e, "score", None)
        found.append(ProseName(s, t, name, role, title, min(0.9, float(score if score is not None else 0.85)), "ner"))
    return found


# --------------------------------------------------------------------------- organisations

_ORG_SUFFIX = re.compile(r"(?:有限责任公司|股份有限公司|集团有限公司|有限公司|集团公司|总公司|分公司)")
_ORG_LEAD = re.compile(r"^(?:兹证明|证明|兹有|我公司|本公司|我单位|本单位|经|由|为|是|对|向|与|和|及|在|据|根据|关于|致|"
                       r"委托|受|被|将|给|同意|批准|公司)+")


_ORG_BREAK = set("与和及为向对在由将把从被给、")
_PROVINCE_NAMES = ("北京|天津|上海|重庆|河北|山西|内蒙古|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|"
                   "广东|广西|海南|四川|贵州|云南|西藏|陕西|甘肃|青海|宁夏|新疆")
_PLACE_AFTER_WORD = re.compile(r"[经由后并在对向与和及的]"
                               rf"(?P<place>(?:{_PROVINCE_NAMES})(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区))")
# A branch written straight after its parent's name: "中国平安财产保险股份有限公司佛山分公司".
_BRANCH = re.compile(r"[\u4e00-\u9fff]{2,10}?(?:分公司|支公司|分行|支行|营业部)")
# A place name before 和/与/及 makes it part of the name ("云南和信安全…"), not a conjunction.
_PLACE_END = re.compile(rf"(?:{_PROVINCE_NAMES}|[省市县区州旗])$")
_ORG_TYPE_WORDS = re.compile(r"^(?:其他|一人|国有独资|自然人独资|自然人投资|法人独资|外商独资|中外合资|港澳台)")


def org_names(text: str) -> list[tuple[int, int, str]]:
    """Company names ending in a company suffix: the Han run before the
    suffix, less the words that lead into a name in prose ("兹证明…")."""
    out = []
    taken = 0
    for m in _ORG_SUFFIX.finditer(text):
        if m.start() < taken:
            continue  # the branch suffix of a name already read ("…股份有限公司佛山分公司")
        end = m.end()
        branch = _BRANCH.match(text, end)
        if branch:
            end = branch.end()
        start = m.start()
        depth = 0  # brackets closed inside the name ("(集团)") and not yet opened
        while start > 0 and (is_han(text[start - 1]) or text[start - 1] in "()"):
            ch = text[start - 1]
            if ch == ")":
                depth += 1
            elif ch == "(":
                if depth == 0:
                    break  # "何卫平(萍乡市…有限公司)", "复印件(天柱化工(安徽)有限公司)": the name starts inside
                depth -= 1
            if ch in _ORG_BREAK and not (ch in "和与及" and _PLACE_END.search(text, 0, start - 1)):
                break  # "…与浙江神鹰集团有限公司": the name starts after ("云南和信…" is one name)
            if ch in "年月日" and start > 1 and text[start - 2].isdigit():
                break  # "2006年浙江…"
            start -= 1
        # Two names in one run ("菲达环保公司为浙江神鹰集团有限公司"): keep the last.
        prev = max(text.rfind("公司", start, m.start()), text.rfind("集团", start, m.start()))
        if prev >= 0 and text[prev + 2:prev + 3] != ")":  # "浙江恒川(集团)建设有限公司" is one name
            start = prev + 2
        lead = _ORG_LEAD.match(text[start:m.start()])
        if lead:
            start += lead.end()
        # "安装后经山东省特种设备检验研究院…": a clause runs into the name; a
        # province after a function word is where the name begins.
        place = _PLACE_AFTER_WORD.search(text, start, m.start())
        if place:
            start = place.start("place")
        name = text[start:end]
        if m.start() - start < 2 or len(name) > 40 or name.startswith("("):
            continue
        if _ORG_TYPE_WORDS.match(name) or re.search(r"类型|性质|形式", text[max(0, start - 6):start]):
            continue  # "其他有限责任公司" is a kind of company, not a company
        out.append((start, end, name))
        taken = end
    return out
