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
        ("安全生产管理机构", "安全管理机构", "机构设置", "成立.{0,10}安全"),
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
    ("检测报告", "许可证副本", "许可证\\(副本\\)", "^安全生产许可证$"),
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
