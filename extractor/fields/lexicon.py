"""The words extraction keys on: labels, table headers, titles, surnames.

Data only. Each label variant maps to one canonical key; what a key means
(which field, which role) is decided by the steps that read it.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

import yaml

# Canonical label key -> the ways applicants write it. Longer variants first
# within a key does not matter: matching tries all and keeps the longest.
LABELS: dict[str, tuple[str, ...]] = {
    # "名": what is left of a letter-spaced "姓      名：" when OCR loses the lone "姓".
    "name": ("姓名", "名字", "持证人姓名", "持证人", "人员姓名", "姓名(签字)", "姓名(签名)", "名"),
    "legal_representative": ("法定代表人", "法人代表", "法定代表人姓名", "法定代表人(负责人)", "法人"),
    "principal": ("主要负责人", "企业负责人", "企业主要负责人", "单位负责人"),
    "other_person": ("技术负责人", "设备管理负责人", "设备负责人", "总工程师", "技术总监",
                     # who filled in, wrote, checked, taught or signed: forms, reports, title blocks
                     "联系人", "填报人", "填报", "填表人", "编制人", "编写人", "审核人", "报告审核人", "复核人",
                     "批准人", "审批人", "审定人", "审定", "校对", "校核", "设计人", "设计", "绘制", "绘图",
                     "制图", "制表人", "经办人", "记录人", "授课人", "主讲人", "授课教师", "讲师",
                     "评价人员", "项目组长", "财务负责人"),
    # Not a person or a company: known so that a value glued to it ends there ("郑咏琪电话：…").
    "phone": ("电话", "联系电话", "手机", "手机号码", "传真"),
    "safety_manager": ("安全负责人", "安全生产管理人员", "专职安全生产管理人员", "专职安全员",
                       "安全管理人员", "分管安全负责人", "安全总监"),
    "project_manager": ("项目经理", "项目负责人"),
    "resident_id": ("身份证号", "身份证号码", "公民身份号码", "身份证件号码", "身份证", "证件号码",
                    "居民身份证号码", "身份证号码/证件号"),
    "cert_no": ("证书编号", "证号", "操作证号", "证书号码", "证书号", "操作证编号", "资格证书编号",
                "考核合格证书编号", "考核合格证编号", "安全考核证号", "安全生产考核合格证编号",
                "证书编码", "操作资格证号", "特种作业操作证号", "注册证书编号", "注册号", "编号"),
    "safety_licence_no": ("安全生产许可证编号", "许可证编号", "安全生产许可证号", "许可证号"),
    "uscc": ("统一社会信用代码", "社会信用代码", "信用代码", "统一代码"),
    "company_name": ("名称", "企业名称", "单位名称", "公司名称", "申请单位", "申请企业", "施工单位", "编制单位", "单位"),
    "other_company": ("评价机构", "建设单位", "总承包单位", "监理单位", "设计单位", "检测机构"),
    "employer": ("工作单位", "用人单位", "聘用单位", "所在单位", "受聘单位", "聘用企业"),
    "valid_until": ("有效期至", "有效期限至", "有效截止日期", "有效期截止", "证书有效期至", "有效截止期",
                    "截止日期", "到期日期", "有效期限", "有效期", "证书有效期", "有效日期"),
    "valid_from": ("有效起始日期", "起始日期", "生效日期"),
    "issued": ("发证日期", "签发日期", "发证时间", "颁发日期", "初领日期", "领证日期", "核发日期",
               "发证时间", "取证日期", "初次领证日期", "批准日期"),
    "signed": ("签订日期", "签字日期", "签署日期", "申请日期", "编制日期", "日期", "填报日期", "培训时间", "培训日期",
               "发布日期", "报告日期", "出图日期", "制图日期"),
    "category": ("作业类别", "操作类别", "准操项目", "操作项目", "作业项目", "工种", "作业类型",
                 "类别"),
    "title": ("职务", "岗位", "职位", "担任职务", "职务/岗位", "现任职务", "岗位/职务"),
    "sex": ("性别",),
    "established": ("成立日期", "注册日期"),
    "issuer": ("发证机关", "发证机构", "登记机关", "签发机关"),
}

# Table header variants -> column key, from headers.yaml (data rule authors
# extend; see load_headers).
HEADERS_FILE = Path(__file__).with_name("headers.yaml")
HEADERS_ENV = "SHENCHA_HEADER_SYNONYMS"


class HeaderSynonymsError(ValueError):
    """A header-synonym file that cannot be used (the message is Chinese, for the rule author)."""


def _read_headers(path: Path, known: set[str] | None) -> dict[str, tuple[str, ...]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise HeaderSynonymsError(f"表头同义词文件 {path} 无法读取：{type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise HeaderSynonymsError(f"表头同义词文件 {path} 应为“栏目键: [表头写法, ...]”的映射")
    out: dict[str, tuple[str, ...]] = {}
    for key, variants in data.items():
        if known is not None and key not in known:
            raise HeaderSynonymsError(f"表头同义词文件 {path}：未知的栏目键 {key!r}（可用：{'、'.join(sorted(known))}）")
        if not isinstance(variants, list) or not all(isinstance(v, str) and v.strip() for v in variants):
            raise HeaderSynonymsError(f"表头同义词文件 {path}：栏目 {key} 的写法应为非空字符串列表（含数字或 No 时请加引号）")
        out[str(key)] = tuple(v.strip() for v in variants)
    return out


def load_headers(extra: str | None = None) -> dict[str, tuple[str, ...]]:
    """The built-in header synonyms plus those of the files in ``extra``
    (default: ``$SHENCHA_HEADER_SYNONYMS``, paths separated by ``os.pathsep``)."""
    headers = _read_headers(HEADERS_FILE, None)
    extra = os.environ.get(HEADERS_ENV, "") if extra is None else extra
    for part in filter(None, extra.split(os.pathsep)):
        for key, variants in _read_headers(Path(part), set(headers)).items():
            headers[key] = headers[key] + tuple(v for v in variants if v not in headers[key])
    return headers


HEADERS: dict[str, tuple[str, ...]] = load_headers()

# Title words -> role. Order matters: the first match wins, so the specific
# ("安全生产管理人员", "项目经理") precede the general ("经理", "负责人").
TITLE_ROLES: list[tuple[str, str]] = [
    ("法定代表人", "legal_representative"),
    ("法人代表", "legal_representative"),
    ("安全生产第一责任人", "principal"),
    ("第一责任人", "principal"),
    ("项目经理", "project_manager"),
    ("项目负责人", "project_manager"),
    ("技术负责人", "other"),
    ("总工程师", "other"),
    ("技术总监", "other"),
    ("总工", "other"),
    ("安全副", "safety_manager"),
    ("安全科", "safety_manager"),
    ("安全部", "safety_manager"),
    ("安环部", "safety_manager"),
    ("安全环保部", "safety_manager"),
    ("注册安全工程师", "safety_manager"),
    ("安全总监", "safety_manager"),
    ("专职安全", "safety_manager"),
    ("安全生产管理人员", "safety_manager"),
    ("安全管理人员", "safety_manager"),
    ("安全员", "safety_manager"),
    ("安全负责人", "safety_manager"),
    ("安全主任", "safety_manager"),
    ("安全科长", "safety_manager"),
    ("安全部长", "safety_manager"),
    ("安全部部长", "safety_manager"),
    ("安全环保部部长", "safety_manager"),
    ("安全经理", "safety_manager"),
    ("安全工程师", "safety_manager"),
    ("安全生产管理机构负责人", "safety_manager"),
    ("分管安全", "safety_manager"),
    ("副总经理", "other"),
    ("副经理", "other"),
    ("副厂长", "other"),
    ("副矿长", "other"),
    ("董事长", "principal"),
    ("总经理", "principal"),
    ("主要负责人", "principal"),
    ("企业负责人", "principal"),
    ("执行董事", "principal"),
    ("厂长", "principal"),
    ("矿长", "principal"),
    ("特种作业", "special_operator"),
    ("电工", "special_operator"),
    ("焊工", "special_operator"),
    ("架子工", "special_operator"),
    ("起重", "special_operator"),
    ("司机", "special_operator"),
    ("信号工", "special_operator"),
    ("司索", "special_operator"),
    ("登高架设", "special_operator"),
    ("高处作业", "special_operator"),
    ("焊接", "special_operator"),
    ("爆破", "special_operator"),
    ("安装拆卸工", "special_operator"),
    ("作业人员", "special_operator"),
    ("操作工", "special_operator"),
    ("消防安全责任人", "principal"),
    ("消防安全管理人", "safety_manager"),
]

# Titles that precede a name in prose ("总经理王建国"), longest first.
PROSE_TITLES: tuple[str, ...] = tuple(
    sorted(
        {
            "法定代表人", "法人代表", "董事长", "总经理", "副总经理", "经理", "执行董事", "主要负责人",
            "企业负责人", "项目经理", "项目负责人", "技术负责人", "安全总监", "安全部长", "安全部部长",
            "安全科长", "安全主任", "安全员", "专职安全员", "专职安全生产管理人员", "安全生产管理人员",
            "安全负责人", "安全经理", "厂长", "矿长", "副厂长", "副矿长", "总工程师", "总工", "书记",
            "工会主席", "部长", "主任", "科长", "队长", "班组长", "安全环保部部长", "分管安全副总经理",
            "生产副总经理", "副总", "电工", "焊工", "架子工", "同志", "安全副总经理", "安全副矿长", "安全科科长",
            "安全部经理", "安环部经理", "技术总监", "注册安全工程师", "安全环保部经理",
        },
        key=len,
        reverse=True,
    )
)

# The hundred-odd most common surnames plus the compound ones; enough for
# rules to bound a name that follows a title. The statistical recogniser
# covers the rest.
SURNAMES_SINGLE = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单"
    "季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚"
    "娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘"
    "池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠"
    "豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰"
    "赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富"
    "尧闭由"
    # The rest of the single surnames of the 百家姓 (Song dynasty list, still the reference).
    "褚水窦昌凤酆廉傅萧贝伏茅钮滑荀羊家羿汲邴糜松弓牧隗山宓蓬郗仰秋暴钭韶蓟怀鄂咸籍赖鬱能苍双莘"
    "贡逄扶堵宰郦郤璩濮寿通郏别阎充习宦鱼慎庾终暨步弘广禄东殳沃蔚越夔厍融訾空毋乜养须巢蒯后红竺益桓"
)
# Characters that are surnames but far more often function words here.
SURNAMES_SINGLE -= set("由和时向都来相信公原能但干於是")

SURNAMES_DOUBLE = {
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "令狐", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "钟离", "万俟", "澹台", "申屠", "呼延",
}

# Characters that end a name in prose: what follows a name in these documents.
NAME_STOP_BIGRAMS = {"协助", "负责", "担任", "主持", "分管", "全面", "兼任", "作为", "同志", "主管", "具体", "直接",
                     "统一", "组织", "协调", "牵头", "对所", "对本", "对公", "对安", "任组", "任副", "任主"}
NAME_STOPS = set("为是任担负同(,、，。;；:：和与及等兼对在从主分全作的任领牵组在被由\u3000 ")

# Words that look like "surname + characters" but are not names here.
NOT_NAMES = {
    "安全", "全面", "全体", "全员", "管理", "生产", "负责", "单位", "公司", "项目", "经理", "主任",
    "部门", "施工", "工程", "建设", "安全员", "高度", "宽度", "方案", "计划", "任务", "于是", "同时",
    "安排", "万元", "包括", "程序", "金额", "明确", "常务", "成员", "文件", "周边", "周期", "周围",
    "严格", "严禁", "应急", "华东", "时间", "时候", "何时", "和谐", "平台", "计算", "高处", "车间",
    "向下", "关于", "通知", "公告", "国家", "田间", "林业", "路面", "江苏", "上海", "北京", "广东",
    "交通", "单项", "单体", "简易", "宣传", "师傅", "班组", "余额", "支付", "支出", "万一", "安装",
    "严重", "成立", "成本", "成果", "成型", "成品", "段落", "段长", "石材", "金属", "水平", "平面",
    "毛石", "明显", "相关", "相应", "相互", "连接", "连墙", "全部", "全国", "全长", "常规", "常用",
    "强度", "左右", "向上", "上下", "管道", "管径", "钢管", "扣件", "立杆", "横杆", "支撑", "防护",
    "杨木", "柏油", "卫生", "雷雨", "雷电", "龙门", "高空", "应当", "汉族", "全日制", "全职", "兼职",
    "正常", "合格", "有效", "长期", "无", "作业人员", "安全部", "安全科", "安全环保部", "高级", "中级",
}

# A certificate class (A, B, C1-C3; "C2类", "B证"), not a work category. OCR reads the
# letter in either case (blind_f01's roster: "c2类" at the 1280 px detector).
CERT_CLASS = re.compile(r"[ABC][123]?(?:类|证)?", re.IGNORECASE)

UNITS_TO_M = {"m": 1.0, "米": 1.0, "mm": 0.001, "毫米": 0.001, "cm": 0.01, "厘米": 0.01}

NUMBER = r"\d+(?:\.\d+)?"

DATE_CN_DIGIT = "〇零○O一二三四五六七八九十"


def compile_alternatives(words: tuple[str, ...] | list[str]) -> str:
    """A regex alternation, longest first, of literal words."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def role_of_title(title: str) -> str | None:
    """The role a title implies (None when it implies none)."""
    for word, role in TITLE_ROLES:
        if word in title:
            return role
    return None


@lru_cache(maxsize=16384)
def header_key(text: str) -> str | None:
    """The column key of a table header cell, or None."""
    t = re.sub(r"\s+", "", text)
    t = t.replace("（", "(").replace("）", ")")
    if not t or len(t) > 16 or ":" in t or "：" in t:
        return None  # "性别:男" is a label with its value, not a column header
    for key, variants in HEADERS.items():
        if t in variants:
            return key
    # "身份证号码(18位)", "证书编号/有效期": match by prefix of a known variant.
    best: tuple[int, str] | None = None
    for key, variants in HEADERS.items():
        for v in variants:
            rest = t[len(v):]
            # Only a qualifier may follow: a unit, a note in brackets, "号码".
            if len(v) >= 2 and t.startswith(v) and re.match(r"^(?:\(.*|/.*|号码?|\d+位?|\*)$", rest) and (
                    best is None or len(v) > best[0]):
                best = (len(v), key)
    if best:
        return best[1]
    # "应急职务", "本单位职务", "持证人员姓名": a qualifier before a person's column.
    for key in _SUFFIX_KEYS:
        for v in HEADERS[key]:
            rest = t[:len(t) - len(v)]
            if len(v) >= 2 and t.endswith(v) and 1 <= len(rest) <= 4 and re.fullmatch(r"[\u4e00-\u9fff]+", rest):
                return key
    return None


# Columns a qualifier may precede; not the generic ones ("名称", "单位") that
# other words end in ("企业名称" is no building).
_SUFFIX_KEYS = ("name", "title", "resident_id", "cert_no", "category", "sex")
