"""identifier.invalid: resident IDs, USCCs, licence and certificate numbers."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc

from extractor import identifiers as ids
from checks.engine import Citation, Fact, RuleContext, rule
from checks.model import Finding
from checks.rules._common import DOMAIN, PROVINCES, ident, nfkc
from checks.testing import example, f
from checks.view import ApplicationView


class IdentifierParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_confidence: float = PydField(
        0.80, ge=0, le=1,
        description="低于此识别置信度的号码若校验失败，判为“待核实”而非“不通过”（可能是识别错误）")


# -- resident ID ------------------------------------------------------------------
#
# Validity is decided once, in extractor.identifiers (the extractor, these rules
# and the registry all ask it); this module only words the answer in Chinese.

_RID_ERRORS = {
    "format": "格式错误：前17位应为数字，末位为数字或X",
    "checksum": "校验位错误（按 GB 11643 计算应为 {check}）",
    "birth_date": "出生日期 {birth} 不是有效日期",
}


def check_resident_id(number: str, as_of: _dt.date) -> tuple[str, str] | None:
    """(kind, Chinese reason) of the first problem, or None. kind is 'error' or 'warning'.

    Region codes raise no problem: stdnum's region table rejects some real
    numbers (codes issued before a county existed in the table, 81/82/83
    residence permits), per domain_sources.md §1.1; the field carries the
    warning instead.
    """
    result = ids.check_resident_id(number, as_of)
    if result.details.get("legacy"):
        if result.valid:
            return "warning", "15位旧式身份证号码（无校验位），应使用18位号码"
        return "error", f"15位旧式身份证号码中的出生日期 {number[6:12]} 无效"
    if not result.valid:
        if result.reason == "length":
            return "error", f"长度为{len(result.value)}位，应为18位"
        if result.reason == "birth_date":
            born = result.value[6:14]
            return "error", (f"出生日期 {born} 不是有效日期" if not _is_date(born)
                             else f"出生日期 {_dt.date(int(born[:4]), int(born[4:6]), int(born[6:])).isoformat()} 晚于申请日期")
        template = _RID_ERRORS.get(result.reason or "format", _RID_ERRORS["format"])
        return "error", template.format(check=ric.calc_check_digit(result.value) if len(result.value) == 18 else "?",
                                        birth=result.value[6:14])
    # Region codes are not judged: stdnum's table misses real codes, and an ID
    # keeps the code of the place it was first issued. The field carries the
    # warning (region_unknown / region_dated / region_incomplete), no finding.
    return None


def _is_date(yyyymmdd: str) -> bool:
    try:
        _dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return True


@rule(
    "gb11643.resident_id.v2",
    category="identifier.invalid",
    requires=["resident_id"],
    citation=Citation(standard="GB 11643", edition="1999", clause="公民身份号码 第4、5章（校验码 ISO 7064 MOD 11-2）"),
    severity="high",
    params=IdentifierParams,
    facts=[
        Fact(statement="18位：6位地址码+8位出生日期+3位顺序码+1位校验码；MOD 11-2", source=f"{DOMAIN} §1.1; python-stdnum stdnum.cn.ric", confidence="H"),
        Fact(statement="stdnum 的地址码表会拒绝部分真实号码，地址码不符只作提示", source=f"{DOMAIN} §1.1 caveats", confidence="H"),
    ],
    examples=[
        example("fail", "校验位错误", [f("resident_id", "36042619910102009X")]),
        example("pass", "有效号码（含全角数字与空格）", [f("resident_id", "３６０４２６ 199101010071")]),
        example("pass", "地址码未收录（港澳台居住证等）：字段带提示，不单独报告", [f("resident_id", "990426199112010074")]),
        example("uncertain", "15位旧式身份证号码", [f("resident_id", "110102910101007")]),
        example("uncertain", "低置信度识别的号码校验失败", [f("resident_id", "36042619910102009X", confidence=0.5)]),
    ],
)
def resident_id(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """居民身份证号码格式、出生日期与校验位核验。

    校验位或出生日期错误判为不通过；15位旧号码判为“待核实”；地址码未收录只在字段上提示，
    不单独报告（身份证号沿用首次签发地的代码，行政区划表并不完整）；低置信度识别结果校验失败时判为“待核实”。
    """
    for fld in view.fields_of("resident_id"):
        number = ident(fld)
        problem = check_resident_id(number, view.as_of)
        if problem is None:
            continue
        kind, why = problem
        holder = fld.attributes.get("holder")
        who = f"（持有人：{holder}）" if holder else ""
        if kind == "warning":
            yield ctx.uncertain(f"身份证号码 {number}{who}：{why}", reason=why, evidence=[fld], severity="low",
                                expected="有效的18位公民身份号码", actual=number,
                                suggestion="请核对身份证号码，必要时提供身份证复印件。")
        elif fld.confidence < ctx.params.min_confidence:
            yield ctx.uncertain(f"身份证号码 {number}{who} 校验未通过：{why}",
                                reason=f"识别置信度 {fld.confidence:.2f} 较低，可能是识别错误", evidence=[fld],
                                expected="有效的18位公民身份号码", actual=number,
                                suggestion="请人工核对原件上的身份证号码。")
        else:
            yield ctx.fail(f"身份证号码 {number}{who} 无效：{why}", evidence=[fld],
                           expected="符合 GB 11643 的18位公民身份号码", actual=number,
                           suggestion=f"请核对并更正{holder or '相关人员'}的身份证号码，并提供身份证复印件。")


# -- USCC -------------------------------------------------------------------------

USCC_ALPHABET = ids._USCC_ALPHABET


def check_uscc(code: str) -> tuple[str, str] | None:
    """(kind, Chinese reason) of the first problem, or None (see extractor.identifiers.check_uscc)."""
    result = ids.check_uscc(code)
    if not result.valid:
        if result.reason == "length":
            return "error", f"长度为{len(result.value)}位，应为18位"
        bad = [ch for ch in result.value if ch not in USCC_ALPHABET]
        if bad:
            return "error", f"含有不允许的字符 {''.join(sorted(set(bad)))}（不使用 I、O、Z、S、V）"
        if not result.value[2:8].isdigit():
            return "error", "第3–8位（登记管理机关行政区划码）应为数字"
        return "error", f"校验位错误（按 GB 32100 计算应为 {stdnum_uscc.calc_check_digit(result.value[:17])}）"
    if "org_code_check" in result.warnings:
        return "warning", "主体标识码（第9–17位）的 GB 11714 校验位不符（部分早期试点代码如此），请人工核对"
    if "authority_pair" in result.warnings:
        return "warning", (f"登记管理部门码与机构类别码 {result.value[:2]} 不在 GB 32100 代码表中"
                           "（部分校验工具收录此类代码），请人工核对")
    return None


@rule(
    "gb32100.uscc.v2",
    category="identifier.invalid",
    requires=["uscc"],
    citation=Citation(standard="GB 32100", edition="2015", clause="统一社会信用代码 第4、5章（校验码 ISO 7064 MOD 31-3）"),
    severity="high",
    params=IdentifierParams,
    facts=[
        Fact(statement="18位，字符集 0-9A-HJ-NPQRTUWXY，第18位 MOD 31-3 校验", source=f"{DOMAIN} §1.2; python-stdnum stdnum.cn.uscc", confidence="H"),
        Fact(statement="第9–17位满足 GB 11714 校验（203/203 公开样例验证）", source=f"{DOMAIN} §1.2-1.3", confidence="H"),
        Fact(statement="A/N/Y 开头代码合法，stdnum 误拒，故自行校验", source=f"{DOMAIN} §1.2", confidence="H"),
    ],
    examples=[
        example("fail", "校验位错误", [f("uscc", "91110000600037341N", role="applicant")]),
        example("pass", "有效代码", [f("uscc", "91110000600037341L", role="applicant"), f("uscc", "9144030071526726XG", role="other")]),
        example("uncertain", "低置信度识别且校验失败", [f("uscc", "91110000600037341N", confidence=0.4)]),
        example("pass", "登记管理部门码 61/62（旅游）、71/72（宗教）、81（工会）在 GB 32100 代码表中", [
            f("uscc", c, role="other") for c in ("61110000MA01AB23XC", "62110000MA01AB23X9", "71110000MA01AB23XB",
                                                 "72110000MA01AB23X8", "81110000MA01AB23XA")]),
        example("uncertain", "代码 54 不在 GB 32100 代码表中（未核实，只作提示，不判不通过）",
                [f("uscc", "54110000MA01AB23X4", role="other")]),
    ],
)
def uscc(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """统一社会信用代码格式与校验位核验。

    长度、字符集或第18位校验位错误判为不通过；主体标识码校验不符只作提示。
    """
    for fld in view.fields_of("uscc"):
        code = ident(fld)
        problem = check_uscc(code)
        if problem is None:
            continue
        kind, why = problem
        if kind == "warning" or fld.confidence < ctx.params.min_confidence:
            reason = why if kind == "warning" else f"识别置信度 {fld.confidence:.2f} 较低，可能是识别错误"
            yield ctx.uncertain(f"统一社会信用代码 {code}：{why}", reason=reason, evidence=[fld],
                                severity="low" if kind == "warning" else None,
                                expected="有效的统一社会信用代码", actual=code,
                                suggestion="请核对营业执照上的统一社会信用代码。")
        else:
            yield ctx.fail(f"统一社会信用代码 {code} 无效：{why}", evidence=[fld],
                           expected="符合 GB 32100 的18位统一社会信用代码", actual=code,
                           suggestion="请核对营业执照，更正申请材料中的统一社会信用代码。")


# -- safety licence number ----------------------------------------------------------
#
# Validity is decided in extractor.identifiers.check_safety_licence_no: only a JZ number
# that breaks the (well-attested) form is invalid; other unfamiliar shapes are valid with
# a warning (domain_sources.md §2.1, §7.1), which this rule reports as `uncertain`.

_LICENCE_WARNINGS = {
    "format_unverified": "编号形式（括号内不是年份、缺少年份，或序号含字母等）未见于已核实的编号规则；"
                         "MK/YH/MB/FM/WH 等行业的编号规则尚未核实，不据此判为不通过",
    "industry_code": "行业代码 {code} 不在已知代码（JZ、FM、WH、MK、YH、MB）之中",
    "year": "编号中的年份 {year} 早于安全生产许可制度施行（2004年）或晚于明年，该行业的编号规则尚未核实",
}


@rule(
    "aqscxkz.licence_no.v2",
    category="identifier.invalid",
    requires=["safety_licence_no"],
    citation=Citation(standard="安全生产许可证编号规则", edition="安监管司办字〔2004〕91号", clause="（省简称）+行业代码+安许证字+〔年份〕+序号"),
    severity="medium",
    params=IdentifierParams,
    facts=[
        Fact(statement="编号格式：（省简称）JZ 安许证字〔YYYY〕序号（JZ 有大量实例）", source=f"{DOMAIN} §2.1（多个真实样例）", confidence="M"),
        Fact(statement="FM/WH 序号长度不一、可含字母；MK/YH/MB 未见实例；括号内可能不是年份，如（闽）FM安许证字（2024）E01号",
             source=f"{DOMAIN} §2.1、§7.1", confidence="L"),
    ],
    examples=[
        example("fail", "建筑施工（JZ）许可证编号缺少“安许证字”与年份", [f("safety_licence_no", "(京)JZ2022123456")]),
        example("pass", "混用括号的合法编号", [f("safety_licence_no", "（京）JZ安许证字〔2022〕123456号")]),
        example("pass", "非煤矿山编号：年份用圆括号、序号含字母", [f("safety_licence_no", "（闽）FM安许证字（2024）E01号")],
                industry="non_coal_mine"),
        example("uncertain", "行业代码与申请行业不一致", [f("safety_licence_no", "(苏)WH安许证字[2023]000123")]),
        example("uncertain", "括号内不是年份（编号规则未核实，只作提示）", [f("safety_licence_no", "（湘）YH安许证字〔湘〕0012号")],
                industry="fireworks"),
        example("uncertain", "非煤矿山编号缺少“安许证字”（该行业编号规则未核实，不判不通过）",
                [f("safety_licence_no", "(闽)FM2024E01")], industry="non_coal_mine"),
    ],
)
def licence_no(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """安全生产许可证编号格式核验（括号与“第…号”先统一）。

    建筑施工（JZ）编号结构不符判为不通过；其他行业（MK/YH/MB/FM/WH）编号规则未经核实，
    形式陌生的编号只作“待核实”提示，不判为不通过；行业代码与申请行业不一致、年份晚于申请日期判为待核实。
    """
    for fld in view.fields_of("safety_licence_no"):
        no = ident(fld)
        chk = ids.check_safety_licence_no(no)
        code = chk.details.get("industry_code")
        if not chk.valid:
            why = ("编号年份早于2004年（安全生产许可制度施行）或晚于明年" if chk.reason == "year"
                   else "缺少“安许证字”、年份或序号等结构")
            if code not in ids.WELL_ATTESTED_LICENCE_CODES:
                yield ctx.uncertain(f"安全生产许可证编号 {no} 的形式无法识别：{why}", evidence=[fld], actual=no,
                                    reason=(f"行业代码 {code} 的编号规则尚未核实" if code else "未能识别出行业代码")
                                    + "，也可能是识别错误，不据此判为不通过",
                                    severity="low", suggestion="请人工核对许可证原件上的编号。")
            elif fld.confidence < ctx.params.min_confidence:
                yield ctx.uncertain(f"安全生产许可证编号 {no} 格式不符：{why}", evidence=[fld], actual=no,
                                    reason=f"识别置信度 {fld.confidence:.2f} 较低，可能是识别错误",
                                    suggestion="请人工核对许可证原件上的编号。")
            else:
                yield ctx.fail(f"安全生产许可证编号 {no} 格式不符：{why}", evidence=[fld], actual=no,
                               expected="（省简称）+行业代码+安许证字+〔年份〕+序号，如（京）JZ安许证字〔2022〕123456",
                               suggestion="请核对安全生产许可证原件，更正许可证编号。")
            continue
        if chk.warnings:
            why = "；".join(_LICENCE_WARNINGS[w].format(code=code, year=chk.details.get("year"))
                           for w in chk.warnings if w in _LICENCE_WARNINGS)
            yield ctx.uncertain(f"安全生产许可证编号 {no} 的形式未经核实", evidence=[fld], actual=no,
                                reason=why or "编号形式未经核实", severity="low",
                                suggestion="请人工核对许可证原件上的编号；如编号无误，无需补正。")
            continue
        year = chk.details.get("year")
        if isinstance(year, int) and year > view.as_of.year:
            yield ctx.uncertain(f"安全生产许可证编号 {no} 中的年份 {year} 晚于申请日期", evidence=[fld], actual=no,
                                reason="编号年份不应晚于发证年份", suggestion="请核对许可证编号中的年份。")
        ind = chk.details.get("industry")
        if view.industry and ind and ind != view.industry:
            yield ctx.uncertain(f"安全生产许可证编号 {no} 的行业代码 {code} 与申请行业不一致", evidence=[fld], actual=code,
                                reason="行业代码对应关系为中等置信度，且可能为其他企业或历史许可证",
                                suggestion="请说明该许可证与本次申请的关系，或更正编号。")


# -- certificate numbers --------------------------------------------------------------

ABC_RE = re.compile(rf"^([{PROVINCES}])建安(A|B|C[123]?)\(?((?:19|20)\d{{2}})\)?(\d{{7}})$")
CONSTR_SPECIAL_RE = re.compile(rf"^([{PROVINCES}])([A-Z])(\d{{2}})((?:19|20)\d{{2}})(\d{{6}})$")
ABC_CLASS = {"safety_assessment_a": "A", "safety_assessment_b": "B", "safety_assessment_c": "C"}


def _holder_id(view: ApplicationView, fld) -> tuple[str | None, object | None]:
    """The holder's resident ID from the certificate's record (roster row), if stated."""
    rec = view.record_of(fld)
    if rec is not None:
        rid = rec.first("resident_id")
        if rid is not None:
            return ident(rid), rid
    hid = fld.attributes.get("holder_id")
    return (nfkc(hid).upper(), None) if hid else (None, None)


@rule(
    "cert.number_format.v1",
    category="identifier.invalid",
    requires=["cert_no", "resident_id"],
    citation=Citation(standard="特种作业人员安全技术培训考核管理规定", edition="原安监总局令第30号",
                      clause="特种作业操作证编号（T+身份证号）；建安A/B/C证书与建筑施工特种作业证编号规则"),
    severity="high",
    params=IdentifierParams,
    facts=[
        Fact(statement="特种作业操作证编号 = T + 持证人18位身份证号", source=f"{DOMAIN} §2.3 (hcdyhr.cn)", confidence="M"),
        Fact(statement="三类人员证书：省简称+建安+A/B/C1/C2/C3+(年份)+7位序号", source=f"{DOMAIN} §2.2 (daowen.com)", confidence="M"),
        Fact(statement="建筑施工特种作业操作资格证书：14位 省简称+地市字母+2位工种+4位年份+6位序号", source=f"{DOMAIN} §2.3 (苏建管质〔2009〕5号)", confidence="M"),
    ],
    examples=[
        example("fail", "T号内嵌身份证号与持证人不一致", [
            f("person_name", "张三", role="special_operator", record=1, doc="r"),
            f("resident_id", "360426199101010071", record=1, doc="r"),
            f("cert_no", "T412723199010050012", cert_type="special_operation", record=1, doc="r"),
        ], docs={"r": "special_operations_roster"}),
        example("fail", "三类人员证书格式错误", [f("cert_no", "京建安A(2020)00123", cert_type="safety_assessment_a")]),
        example("pass", "T号与持证人一致；格式正确的A证与建筑特种作业证", [
            f("resident_id", "360426199101010071", record=1, doc="r"),
            f("cert_no", "T360426199101010071", cert_type="special_operation", record=1, doc="r"),
            f("cert_no", "京建安A(2020)0012345", cert_type="safety_assessment_a"),
            f("cert_no", "晋A012008000001", cert_type="construction_special_operation"),
        ], docs={"r": "special_operations_roster"}),
        example("uncertain", "低置信度识别的证书号格式不符", [
            f("cert_no", "京建安B(2O20)0012345", cert_type="safety_assessment_b", confidence=0.6)]),
    ],
)
def cert_number(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """证书编号格式核验，以及特种作业操作证号内嵌身份证号与持证人身份证号的一致性。

    未知编号规则的证书类型（主要负责人考核证、注册安全工程师）不做格式检查，由登记库核验。
    """
    for fld in view.fields_of("cert_no"):
        no = ident(fld)
        ctype = fld.attributes.get("cert_type")
        holder = fld.attributes.get("holder")
        who = f"（持证人：{holder}）" if holder else ""
        problem: str | None = None
        expected = ""
        if ctype == "special_operation":
            expected = "T + 持证人18位身份证号"
            if not (len(no) == 19 and no[0] == "T"):
                problem = "格式应为 T + 18位身份证号"
            else:
                bad = check_resident_id(no[1:], view.as_of)
                if bad and bad[0] == "error":
                    problem = f"内嵌身份证号无效：{bad[1]}"
                else:
                    hid, hfield = _holder_id(view, fld)
                    if hid and len(hid) == 18 and hid != no[1:]:
                        ev = [fld] + ([hfield] if hfield is not None else [])
                        yield ctx.fail(f"特种作业操作证 {no}{who} 内嵌的身份证号与持证人身份证号 {hid} 不一致",
                                       evidence=ev, expected=f"T{hid}", actual=no, key=f"embedded:{no}",
                                       suggestion="请核对持证人身份信息与特种作业操作证，提供证书复印件并更正名册。")
                    continue
        elif ctype in ABC_CLASS:
            expected = "省简称+建安+A/B/C1/C2/C3+(年份)+7位序号，如 京建安A(2020)0012345"
            m = ABC_RE.match(no)
            if not m:
                problem = "三类人员安全生产考核合格证书编号格式不符"
            elif m.group(2)[0] != ABC_CLASS[ctype]:
                problem = f"编号类别 {m.group(2)} 与证书类型（{ABC_CLASS[ctype]}类）不一致"
        elif ctype == "construction_special_operation":
            expected = "14位：省简称+地市字母+2位工种代码+4位年份+6位序号，如 晋A012008000001"
            if not CONSTR_SPECIAL_RE.match(no):
                problem = "建筑施工特种作业操作资格证书编号格式不符"
        else:
            continue
        if problem is None:
            continue
        if fld.confidence < ctx.params.min_confidence:
            yield ctx.uncertain(f"证书编号 {no}{who}：{problem}", evidence=[fld], actual=no, expected=expected,
                                reason=f"识别置信度 {fld.confidence:.2f} 较低，可能是识别错误",
                                suggestion="请人工核对证书原件上的编号。")
        else:
            yield ctx.fail(f"证书编号 {no}{who}：{problem}", evidence=[fld], actual=no, expected=expected,
                           suggestion=f"请核对{holder or '持证人'}的证书原件，更正证书编号并提供证书复印件。")
