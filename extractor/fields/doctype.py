"""Document type from content: weighted cue words, titles weigh most.

The title (the first lines of the first page) says what a document is far
more reliably than words in the body, which mention other documents freely
("见特种作业人员名册"). Confidence is the winner's share of the evidence,
scaled down when there is little of it.
"""

from __future__ import annotations

import re

DOC_TYPES = (
    "business_licence", "responsibility_system", "managers_roster", "special_operations_roster",
    "certificate", "scaffold_plan", "site_plan", "evacuation_plan", "emergency_plan", "training_record",
    "insurance", "application_form", "safety_investment", "safety_organisation",
    "machinery_inspection", "occupational_health", "safety_assessment", "major_hazards", "major_works_measures",
    "other",
)

# type -> (title cues, body cues); each cue is a regex.
CUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "business_licence": (("营业执照",), ("统一社会信用代码", "注册资本", "经营范围", "成立日期", "登记机关", "营业期限", "住所")),
    "responsibility_system": (("安全生产责任制", "责任制"), ("第一责任人", "岗位职责", "安全生产职责", "责任人", "职责")),
    "managers_roster": (
        ("三类人员", "管理人员(?:名册|花名册|一览表|名单|登记表)", "安全生产管理人员", "项目负责人.{0,6}名册"),
        ("建安[ABC]", "考核合格证", "项目负责人", "专职安全", "安全员", "项目经理"),
    ),
    "special_operations_roster": (
        ("特种作业人员", "特种作业.{0,6}(?:名册|花名册|一览表|名单|登记表)"),
        ("作业类别", "操作证", "准操项目", "电工作业", "焊接与热切割", "高处作业", "架子工", "登高架设"),
    ),
    "certificate": (
        ("操作证$", "合格证书?$", "资格证书?$", "^特种作业操作证", "考核合格证书", "注册证书", "操作资格证"),
        ("持证人", "发证机关", "初领日期", "准操项目", "有效期", "证书编号", "签发"),
    ),
    "scaffold_plan": (("脚手架.{0,12}方案", "专项施工方案"), ("脚手架", "立杆", "连墙件", "扣件", "剪刀撑", "搭设", "挡脚板")),
    "site_plan": (
        ("总平面(?:布置)?图", "施工现场平面", "总平面"),
        ("总平面布置图", "总平面", "平面布置", "图名", "比例", "1:500", "用地红线", "场内道路", "施工坐标", "H=", "指北"),
    ),
    "evacuation_plan": (
        ("消防(?:平面|设计|疏散)", "疏散(?:平面|示意)图", "防火设计", "消防设计说明"),
        ("疏散", "安全出口", "防火间距", "耐火等级", "疏散宽度", "消防车道", "防火分区"),
    ),
    "emergency_plan": (("应急(?:救援)?预案", "应急救援"), ("应急", "救援", "演练", "事故", "预警", "响应")),
    "training_record": (("培训记录", "教育培训", "培训(?:签到|台账|档案)", "安全教育"), ("培训", "学时", "考试", "授课", "签到")),
    "insurance": (("工伤保险", "保险单", "参保", "社会保险"), ("参保", "保险", "缴费", "保费", "被保险人")),
    "application_form": (("申请(?:书|表)", "许可证申请"), ("申请单位", "申请类型", "申请日期", "申请人", "延期", "首次申请")),
    "safety_investment": (("安全(?:生产)?投入", "安全(?:生产)?费用", "安全措施费"), ("提取", "使用计划", "费用", "万元", "投入")),
    "safety_organisation": (
        ("安全生产管理机构", "安全管理机构", "机构设置", "成立.{0,10}安全", "(?:任命|聘任|调整).{0,12}(?:管理人员|机构|负责人)"),
        ("机构", "专职安全生产管理人员", "配备", "设立", "安全科", "安全部"),
    ),
}

# Checklist documents whose titles must outweigh the body words they share
# with the others ("职业病" and "应急" appear in every responsibility system).
CUES["machinery_inspection"] = (
    ("起重机械.{0,12}(?:合格|检验|检测)", "检验.{0,4}汇总表", "检验检测合格", "设备.{0,6}检验", "(?:检验|检测)合格证明"),
    ("塔式起重机", "施工升降机", "起重机械", "检验合格", "检测合格", "使用登记", "检验检测机构"),
)
CUES["occupational_health"] = (
    ("职业病", "职业危害", "职业健康", "劳动防护用品"),
    ("职业病危害", "劳动防护用品", "职业健康检查", "危害因素", "防尘", "防噪"),
)
CUES["safety_assessment"] = (
    ("评价报告", "安全现状评价", "安全评价", "验收评价"),
    ("评价机构", "评价结论", "评价组", "评价报告", "评价依据"),
)
CUES["major_hazards"] = (
    ("重大危险源", "危险源辨识"),
    ("重大危险源", "临界量", "辨识", "监控措施", "危险化学品重大危险源"),
)
CUES["major_works_measures"] = (
    ("危险性较大", "危大工程", "事故易发部位"),
    ("危险性较大", "危大工程", "监控措施", "专项施工方案"),
)
# Documents a package holds that none of the types above describe.
CUES["other"] = (
    ("检测报告", "许可证副本", "许可证\\(副本\\)", "^安全生产许可证$", "会议纪要$", "会议记录$"),
    (),
)

# Types whose title alone decides: their bodies share words with everything.
_STRONG_TITLES = {"other", "machinery_inspection", "occupational_health", "safety_assessment", "major_hazards",
                  "major_works_measures"}

_COMPILED = {
    t: ([re.compile(c) for c in title], [re.compile(c) for c in body]) for t, (title, body) in CUES.items()
}


# Sentence punctuation: a line holding it is running text, not a title ("…》、《职业病危").
_NOT_A_TITLE = re.compile(r"[、，,。；;]|》.*《")


def classify(lines: list[str], titles: list[str] | None = None) -> tuple[str, float, dict[str, float]]:
    """(doc_type, confidence, scores) from the document's normalised lines.

    ``titles``: lines set larger than the text (the caller knows the layout);
    they count as the first lines of the head.
    """
    head = [ln.strip() for ln in list(titles or []) + lines[:6] if ln.strip() and not _NOT_A_TITLE.search(ln)]
    head = list(dict.fromkeys(head))[:8]
    body = "\n".join(lines[:400])
    scores: dict[str, float] = {}
    for t, (title_rx, body_rx) in _COMPILED.items():
        s = 0.0
        for rank, ln in enumerate(head):
            # A title is short; a cue in a long first line is body text.
            if len(ln) > 40:
                continue
            for rx in title_rx:
                if rx.search(ln):
                    s += (12.0 if t in _STRONG_TITLES else 6.0) / (1 + 0.3 * rank)
        for rx in body_rx:
            n = len(rx.findall(body))
            if n:
                s += min(n, 6) ** 0.5
        scores[t] = s
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    best, top = ranked[0]
    second = ranked[1][1]
    if top < 2.0:
        return "other", round(max(0.3, 1 - top / 4), 3), scores
    share = top / (top + second) if top + second else 0.0
    strength = min(1.0, top / 8.0)
    return best, round(min(0.99, share * (0.5 + 0.5 * strength) + 0.1), 3), scores


# -- what else a document covers ------------------------------------------------------------

# Topic words per checklist type, matched against a title part, a section heading
# or a file name: broader than the classifier's title cues, because here the
# document already has a type and the words only say what else it holds.
COVER_CUES: dict[str, str] = {
    "application_form": r"申请(?:书|表)",
    "business_licence": r"营业执照",
    "responsibility_system": r"责任制",
    "safety_investment": r"安全(?:生产)?(?:投入|费用)|安全措施费",
    "safety_organisation": r"管理机构|机构设置|机构及|(?:任命|聘任|配备).{0,8}(?:安全|管理)(?:生产)?管理人员|管理人员配备",
    "managers_roster": r"三类人员|(?:主要负责人|管理人员).{0,8}(?:名册|名单|花名册|一览表|登记表|考核合格)|考核合格证|[ABC]类人员",
    "special_operations_roster": r"特种作业",
    "training_record": r"培训|安全教育",
    "insurance": r"工伤保险|参保",
    "emergency_plan": r"应急(?:救援)?预案|应急救援",
    "machinery_inspection": r"起重机械|机械设备|设备.{0,4}检验|检验检测",
    "occupational_health": r"职业病|职业危害|职业健康|劳动防护",
    "safety_assessment": r"安全(?:现状)?评价|评价报告|验收评价",
    "major_hazards": r"重大危险源",
    "major_works_measures": r"危险性较大|危大工程",
    "scaffold_plan": r"脚手架.{0,12}方案",
    "site_plan": r"总平面",
}
_COVER_RX = {t: re.compile(rx) for t, rx in COVER_CUES.items()}
# A title or file name joins topics with 及 / 和 / 与 / 暨 / 、 ("安全投入及工伤保险情况").
_JOINERS = re.compile(r"[及和与暨、/＆&]")
# "第四章 职业危害防治", "六、职业危害防治：…", "（三）安全培训", "2. 安全投入", "职业病防治措施：…"
_HEADING = re.compile(
    r"^\s*(?:第[一二三四五六七八九十百\d]+[章节条部分]|[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[)）]|"
    r"\d{1,2}(?:\.\d{1,2})*[、.．](?!\d))\s*(?P<label>[^：:，,。；;]{2,20})")
_LABEL = re.compile(r"^\s*(?P<label>[\u4e00-\u9fff（）()]{2,14})[：:]")
# Statements that set up the safety organisation or staff it.
_STATEMENTS = {
    "safety_organisation": re.compile(
        r"(?:设立|设置|成立|组建).{0,20}(?:安全生产管理机构|安全管理机构|安全(?:生产|环保|质量)?(?:管理)?(?:科|部|处|办公室))"
        r"|配备.{0,24}专职安全(?:生产)?管理人员|专职安全(?:生产)?管理人员\s*\d+\s*名"),
}
# Words that only show a topic is touched on (a duty, a list of rules): never coverage.
_MENTIONS = {
    "safety_organisation": re.compile(r"专职安全(?:生产)?(?:管理人员|员)|安全(?:管理)?(?:科|部)"),
}


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return re.sub(r"^[\d\s_.\-—]+", "", stem)


def coverage(path: str, lines: list[tuple[int, str]], primary: str):
    """What the document covers besides `primary`: from its title and file name, its
    section headings and statements; topics only mentioned in passing are kept as
    `mention` so the checklist rule can ask instead of deciding."""
    from ..model import Coverage

    found: dict[str, Coverage] = {}
    strength = {"title": 3, "heading": 2, "statement": 2, "mention": 0}

    def add(t: str, how: str, text: str, page: int | None) -> None:
        if t == primary:
            return
        old = found.get(t)
        if old is None or strength[how] > strength[old.how]:
            found[t] = Coverage(doc_type=t, how=how, text=text[:60], page=page)

    head = [(pg, ln) for pg, ln in lines[:8] if len(ln) <= 40 and not _NOT_A_TITLE.search(ln)
            and not re.search(r"[：:]", ln)]  # "工伤保险：已参保" is a form's field, not a title
    form = primary == "application_form"
    for page, text in [(None, _stem(path))] + ([] if form else head[:3]):
        for part in _JOINERS.split(text):
            for t, rx in _COVER_RX.items():
                if rx.search(part):
                    add(t, "title", text, page)
    # A form's fields name every checklist item ("工伤保险参保情况：已参保"): they claim, not cover;
    # on a form they are mentions at most.
    for page, text in lines:
        m = None if form else (_HEADING.match(text) or _LABEL.match(text))
        if m:
            for t, rx in _COVER_RX.items():
                if rx.search(m["label"]):
                    add(t, "heading", text, page)
        for t, rx in ({} if form else _STATEMENTS).items():
            if rx.search(text):
                add(t, "statement", text, page)
        for t, rx in list(_COVER_RX.items()) + list(_MENTIONS.items()):
            if t not in found and rx.search(text):
                add(t, "mention", text, page)
    return sorted(found.values(), key=lambda c: c.doc_type)
