"""Cross-checks of extracted fields against the certificate and company registries.

Each finding carries both sides as evidence: the words on the page (the
field's document, page, bbox and text) and the registry record (document
``registry:<snapshot id>``, text = the record with the snapshot's as-of
date). What shencha cannot decide (an unreadable digit, two candidates, a
one-character OCR difference) is ``verdict: uncertain`` with a reason, never
a guess. Resident ID numbers are masked in every text written here.
"""

from __future__ import annotations

import re

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from rapidfuzz.distance import Levenshtein

from extractor.fields.lexicon import CERT_CLASS
from extractor.model import Evidence, Field, Source
from registry_sync.lookup import (
    CertificateHit,
    RegistryLookup,
    compare_company_names,
    compare_names,
)
from registry_sync.normalize import (
    company_core,
    fold_company_name,
    fold_name,
    mask_ids_in_text,
    normalize_category,
    normalize_cert_no,
    normalize_id_no,
    normalize_uscc,
)
from registry_sync.records import CertificateRecord, CertType, CompanyRecord, RecordStatus, Snapshot

from .doubt import char_doubtful, substituted
from .model import Finding

if TYPE_CHECKING:
    from .engine import RuleContext

CERT_REGISTRY_NAMES = {
    CertType.SPECIAL_OPERATION: "特种作业操作证登记库",
    CertType.CONSTRUCTION_SPECIAL_OPERATION: "建筑施工特种作业操作资格证书登记库",
    CertType.SAFETY_ASSESSMENT_A: "建筑施工企业安全生产管理人员考核合格证书登记库",
    CertType.SAFETY_ASSESSMENT_B: "建筑施工企业安全生产管理人员考核合格证书登记库",
    CertType.SAFETY_ASSESSMENT_C: "建筑施工企业安全生产管理人员考核合格证书登记库",
    CertType.PRINCIPAL_ASSESSMENT: "主要负责人和安全生产管理人员考核合格证登记库",
    CertType.REGISTERED_SAFETY_ENGINEER: "注册安全工程师登记库",
}
CERT_TYPE_NAMES = {
    CertType.SPECIAL_OPERATION: "特种作业操作证",
    CertType.CONSTRUCTION_SPECIAL_OPERATION: "建筑施工特种作业操作资格证书",
    CertType.SAFETY_ASSESSMENT_A: "安全生产考核合格证书（A类）",
    CertType.SAFETY_ASSESSMENT_B: "安全生产考核合格证书（B类）",
    CertType.SAFETY_ASSESSMENT_C: "安全生产考核合格证书（C类）",
    CertType.PRINCIPAL_ASSESSMENT: "安全生产知识和管理能力考核合格证",
    CertType.REGISTERED_SAFETY_ENGINEER: "注册安全工程师注册证书",
}
COMPANY_REGISTRY_NAME = "企业及安全生产许可证登记库"
STATUS_NAMES = {
    RecordStatus.VALID: "有效", RecordStatus.EXPIRED: "过期",
    RecordStatus.REVOKED: "注销", RecordStatus.SUSPENDED: "暂扣",
}

# Operation categories: a roster may name the parent category or a
# sub-category (《特种作业目录》, 安监总局令第30号附件); construction rosters use
# trade names for the same work.
CATEGORY_PARENT = {
    "高压电工": "电工", "低压电工": "电工", "防爆电气": "电工",
    "熔化焊接与热切割": "焊接与热切割", "压力焊": "焊接与热切割", "钎焊": "焊接与热切割",
    "登高架设": "高处", "高处安装维护拆除": "高处",
    "制冷与空调设备运行操作": "制冷与空调", "制冷与空调设备安装修理": "制冷与空调",
}
CATEGORY_ALIASES = {
    "架子工": "登高架设", "普通脚手架架子工": "登高架设", "附着升降脚手架架子工": "登高架设",
    "焊工": "焊接与热切割", "电焊工": "焊接与热切割", "电焊": "焊接与热切割",
    "电工": "电工",
}

_ID_TYPES = ("resident_id",)
_OCR_DOUBT = 0.95  # below this an OCR-read name one character off may be a misreading


# ----------------------------------------------------------------- helpers


def _masked(text: str | None) -> str | None:
    return None if text is None else mask_ids_in_text(text)


def _distinct(fields: Iterable[Field]) -> list[Field]:
    """Each (document, page, box, value) once: the same words seen by two steps are one piece of evidence."""
    out, seen = [], set()
    for f in fields:
        key = (f.document, f.page, f.bbox, str(f.value))
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _registry_evidence(snapshot: Snapshot, text: str) -> Evidence:
    return Evidence(document=f"registry:{snapshot.id}", text=mask_ids_in_text(text))


def _citation(registry: str, snapshot: Snapshot | None) -> str:
    if snapshot is None:
        return f"{registry}（未同步）"
    return f"{registry}（截至 {snapshot.as_of.isoformat()} 的快照 #{snapshot.id}）"


@dataclass(frozen=True)
class RegistryVerdict:
    """What one registry comparison concluded, before it is a finding.

    The comparison knows the registry; the rule (``checks.rules.registry_rules``)
    turns each verdict into a finding through its :class:`~checks.engine.RuleContext`
    (:meth:`emit`), so every registry finding is built once, by the engine, with
    the rule's id, its deterministic finding id and the "fail means sure" gate.
    ``check`` names the comparison (``cert_not_found``, ``cert_expired`` ...).
    """

    check: str
    category: str
    severity: str
    verdict: str
    key: str
    message: str
    citation: str
    fields: list[Field]
    registry: Evidence | None = None
    expected: str | None = None
    actual: str | None = None
    suggestion: str = ""
    reason: str | None = None

    def emit(self, ctx: RuleContext) -> Finding:
        evidence: list[Field | Evidence] = list(_distinct(self.fields))
        if self.registry is not None:
            evidence.append(self.registry)
        kw: dict[str, Any] = dict(category=self.category, severity=self.severity, key=f"{self.check}|{self.key}",
                                  evidence=evidence, expected=_masked(self.expected), actual=_masked(self.actual),
                                  citation=self.citation)
        if self.verdict == "fail":
            return ctx.fail(self.message, suggestion=self.suggestion, **kw)
        return ctx.uncertain(self.message, reason=self.reason or "登记库比对结果不确定", suggestion=self.suggestion, **kw)


def _make(
    *, rule_id: str, category: str, severity: str, verdict: str, key: str, message: str,
    citation: str, fields: list[Field], registry: Evidence | None = None, expected: str | None = None,
    actual: str | None = None, suggestion: str = "", reason: str | None = None,
) -> RegistryVerdict:
    # ``rule_id`` names the comparison ("registry.cert_expired.v1" -> check "cert_expired").
    check = rule_id.removeprefix("registry.").rsplit(".v", 1)[0]
    return RegistryVerdict(check=check, category=category, severity=severity, verdict=verdict, key=key,
                           message=message, citation=citation, fields=list(fields), registry=registry,
                           expected=expected, actual=actual, suggestion=suggestion, reason=reason)


def _text(f: Field) -> str:
    value = f.normalized if f.normalized not in (None, "") else f.value
    return "" if value is None else str(value)


def cert_summary(rec: CertificateRecord, snapshot: Snapshot) -> str:
    """One line describing a certificate record and the snapshot it came from."""
    parts = [f"{CERT_TYPE_NAMES.get(CertType(rec.cert_type), rec.cert_type)} {rec.cert_no}",
             f"持证人 {rec.holder_name}" + (f"（身份证 {rec.holder_id_no}）" if rec.holder_id_no else "")]
    if rec.category:
        parts.append(f"作业类别 {rec.category}")
    if rec.valid_from or rec.valid_until:
        parts.append(f"有效期 {rec.valid_from or '?'} 至 {rec.valid_until or '?'}")
    parts.append(f"状态 {STATUS_NAMES.get(RecordStatus(rec.status), rec.status)}")
    if rec.employer_name or rec.employer_uscc:
        parts.append(f"聘用单位 {rec.employer_name or ''}" + (f"（{rec.employer_uscc}）" if rec.employer_uscc else ""))
    if rec.issuing_authority:
        parts.append(f"发证机关 {rec.issuing_authority}")
    parts.append(f"登记库快照 #{snapshot.id}，截至 {snapshot.as_of.isoformat()}")
    return mask_ids_in_text("｜".join(parts))


def company_summary(rec: CompanyRecord, snapshot: Snapshot) -> str:
    parts = [f"{rec.name}（{rec.uscc}）"]
    if rec.legal_representative:
        parts.append(f"法定代表人 {rec.legal_representative}")
    if rec.licence_no:
        parts.append(f"安全生产许可证 {rec.licence_no}")
    if rec.licence_valid_from or rec.licence_valid_until:
        parts.append(f"有效期 {rec.licence_valid_from or '?'} 至 {rec.licence_valid_until or '?'}")
    if rec.licence_status:
        parts.append(f"许可证状态 {STATUS_NAMES.get(RecordStatus(rec.licence_status), rec.licence_status)}")
    parts.append(f"登记库快照 #{snapshot.id}，截至 {snapshot.as_of.isoformat()}")
    return "｜".join(parts)


# "危险化学品安全作业—加氢工艺作业": a category and its operation item, joined by a
# dash of any width (OCR reads a long dash as 一 after 作业).
_CATEGORY_JOIN = re.compile(r"(?<=作业)\s*[—–\-―一－~～:：/]\s*|\s*[—–―－]\s*")




def _category_parts(category: str) -> list[str]:
    return [p for p in _CATEGORY_JOIN.split(category) if p.strip()]


def categories_compatible(declared: str, registered: str) -> bool:
    """Same work: equal, one names the other's parent category, or one contains the other.

    Both sides may be written "category—item" with any dash, or only the item;
    the most specific parts are compared, and a part cut short by OCR
    ("化工自动" for 化工自动化控制仪表作业) still counts as the same work.
    """

    def norm(c: str) -> str:
        n = normalize_category(c).removeprefix("建筑")
        return CATEGORY_ALIASES.get(n, n)

    def same(a: str, b: str) -> bool:
        if not a or not b:
            return True
        if a == b or a in b or b in a:
            return True
        # "金属非金属矿山安全(作业)" names the category; an item of it starts with its prefix.
        for x, y in ((a, b), (b, a)):
            if x.endswith("安全") and len(x) > 4 and y.startswith(x[:-2]):
                return True
        return CATEGORY_PARENT.get(a) == b or CATEGORY_PARENT.get(b) == a

    if CERT_CLASS.fullmatch(declared.strip()):
        return True  # "A", "C2": a certificate class, which the number itself carries
    a_parts = [norm(p) for p in _category_parts(declared)] or [norm(declared)]
    b_parts = [norm(p) for p in _category_parts(registered)] or [norm(registered)]
    # The item (last part) decides when both name one; else any part naming the same work.
    if len(a_parts) > 1 and len(b_parts) > 1:
        return same(a_parts[-1], b_parts[-1])
    return any(same(x, y) for x in a_parts for y in b_parts)


def _records(fields: list[Field]) -> dict[tuple[str, Any], list[Field]]:
    """Fields grouped by (document, attributes.record): one roster row, one certificate."""
    groups: dict[tuple[str, Any], list[Field]] = defaultdict(list)
    for f in fields:
        rec = f.attributes.get("record")
        if rec is not None:
            groups[(f.document, rec)].append(f)
    return groups


def _one_char_ocr(name_field: Field | None, comparison) -> bool:
    if name_field is None or name_field.source != Source.OCR:
        return False
    a, b = fold_name(comparison.page), fold_name(comparison.registry)
    diff = substituted(a, b)
    # A misreading only if the recogniser was unsure of the very character that differs.
    return diff is not None and len(diff) == 1 and char_doubtful(name_field, diff[0], _OCR_DOUBT)


# ------------------------------------------------------------ certificates


def check_certificates(
    fields: list[Field],
    lookup: RegistryLookup,
    *,
    as_of: date,
    applicant_uscc: str | None = None,
    applicant_name: str | None = None,
) -> list[RegistryVerdict]:
    """Every certificate number in the package, checked against its registry.

    ``as_of`` is the application date: expiry is judged on it. The applicant's
    USCC (else name) is what each holder's registered employer must match.
    """
    snapshot = lookup.snapshot("certificates")
    records = _records(fields)
    by_number: dict[str, list[Field]] = defaultdict(list)
    for f in fields:
        if f.type == "cert_no" and _text(f):
            by_number[normalize_cert_no(_text(f))].append(f)
    if not by_number:
        return []
    if snapshot is None:
        all_certs = [f for fs in by_number.values() for f in fs]
        return [_make(
            rule_id="registry.cert_registry_missing.v1", category="registry.not_found",
            severity="medium", verdict="uncertain", key="no-snapshot",
            message=f"证书登记库尚未同步，{len(by_number)} 个证书编号无法核验。",
            citation="证书登记库（未同步）", fields=all_certs,
            suggestion="", reason="没有可用的证书登记库快照，请先执行 shencha registry sync。",
        )]
    findings: list[RegistryVerdict] = []
    for number, cert_fields in by_number.items():
        findings.extend(_check_one_certificate(
            number, cert_fields, records, lookup, snapshot, as_of=as_of,
            applicant_uscc=applicant_uscc, applicant_name=applicant_name,
        ))
    return findings


def _context(cert_fields: list[Field], records: dict[tuple[str, Any], list[Field]]) -> dict[str, Any]:
    """Holder name, ID number and declared category stated alongside the certificate."""
    ctx: dict[str, Any] = {"name": None, "name_field": None, "id_no": None, "id_field": None,
                           "category": None, "category_field": None, "cert_type": None}
    for f in cert_fields:
        ctx["cert_type"] = ctx["cert_type"] or f.attributes.get("cert_type")
        siblings = records.get((f.document, f.attributes.get("record")), []) if f.attributes.get("record") is not None else []
        for s in siblings:
            if s.type == "person_name" and ctx["name_field"] is None:
                ctx["name"], ctx["name_field"] = _text(s), s
            elif s.type in _ID_TYPES and ctx["id_field"] is None:
                ctx["id_no"], ctx["id_field"] = normalize_id_no(_text(s)), s
            elif s.type == "operation_category" and ctx["category_field"] is None:
                ctx["category"], ctx["category_field"] = _text(s), s
        if ctx["name"] is None and f.attributes.get("holder"):
            ctx["name"] = str(f.attributes["holder"])
        if ctx["category"] is None and f.attributes.get("category"):
            ctx["category"] = str(f.attributes["category"])
    return ctx


def _registry_name(cert_type: Any) -> str:
    try:
        return CERT_REGISTRY_NAMES[CertType(cert_type)]
    except (ValueError, KeyError):
        return "证书登记库"


def _check_one_certificate(
    number: str, cert_fields: list[Field], records, lookup: RegistryLookup, snapshot: Snapshot,
    *, as_of: date, applicant_uscc: str | None, applicant_name: str | None,
) -> list[RegistryVerdict]:
    ctx = _context(cert_fields, records)
    shown = _text(cert_fields[0])
    res = lookup.certificate(number)
    with_name = [f for f in (ctx["name_field"],) if f is not None]

    if res.unreadable or len(res.hits) > 1:
        return [_ambiguous(number, shown, cert_fields + with_name, res.hits, ctx, snapshot, res.note)]

    if not res.hits:
        return [_not_found(number, shown, cert_fields + with_name, ctx, lookup, snapshot)]

    hit = res.hits[0]
    rec = hit.record
    citation = _citation(_registry_name(rec.cert_type), snapshot)
    reg_ev = _registry_evidence(snapshot, cert_summary(rec, snapshot))
    ocr_note = (f"（页面编号“{shown}”按OCR易混字符/括号折算后与登记库“{rec.cert_no}”一致）"
                if hit.how == "ocr" else
                f"（页面编号“{shown}”与登记库“{rec.cert_no}”为同一特种作业操作证，仅“T”字头写法不同）"
                if hit.how == "id_form" else "")
    out: list[RegistryVerdict] = []

    # Holder: the name and the ID number stated with the certificate.
    if ctx["name"]:
        cmp = compare_names(ctx["name"], rec.holder_name)
        if not cmp.equal:
            doubtful = _one_char_ocr(ctx["name_field"], cmp)
            out.append(_make(
                rule_id="registry.cert_holder_mismatch.v1", category="registry.name_mismatch",
                severity="high", verdict="uncertain" if doubtful else "fail", key=number,
                message=f"证书 {rec.cert_no} 在登记库中的持证人为“{rec.holder_name}”，"
                        f"页面填写为“{ctx['name']}”（{cmp.explanation}）{ocr_note}。",
                citation=citation, fields=cert_fields + with_name, registry=reg_ev,
                expected=rec.holder_name, actual=ctx["name"],
                suggestion=f"请核实证书 {rec.cert_no} 的持证人：如证书确属“{ctx['name']}”，请提交其本人的有效证书；"
                           f"否则请将姓名更正为“{rec.holder_name}”并附证书复印件。",
                reason="姓名仅一字之差且为OCR识别结果，可能是识别错误，请人工核对原件。" if doubtful else None,
            ))
    if ctx["id_no"] and rec.holder_id_no and ctx["id_no"] != rec.holder_id_no:
        out.append(_make(
            rule_id="registry.cert_holder_id_mismatch.v1", category="registry.name_mismatch",
            severity="high", verdict="fail", key=number + "|id",
            message=f"证书 {rec.cert_no} 持证人在登记库中的身份证号为 {rec.holder_id_no}，"
                    f"页面填写为 {ctx['id_no']}，不是同一人。",
            citation=citation, fields=cert_fields + [ctx["id_field"]], registry=reg_ev,
            expected=rec.holder_id_no, actual=ctx["id_no"],
            suggestion="请核对持证人身份证号与证书是否对应，更正名册中的身份证号或提交持证人本人的证书。",
        ))

    status = RecordStatus(rec.status)
    if status in (RecordStatus.REVOKED, RecordStatus.SUSPENDED):
        word = STATUS_NAMES[status]
        out.append(_make(
            rule_id="registry.cert_revoked.v1", category="registry.revoked", severity="high",
            verdict="fail", key=number,
            message=f"证书 {rec.cert_no}（持证人 {rec.holder_name}）在登记库中的状态为“{word}”，不能作为有效证书使用。",
            citation=citation, fields=cert_fields, registry=reg_ev, expected="有效", actual=word,
            suggestion=f"该证书已{word}，请更换为持有有效证书的人员，或待证书恢复后重新提交。",
        ))
    elif status == RecordStatus.EXPIRED or (rec.valid_until and rec.valid_until < as_of):
        until = rec.valid_until.isoformat() if rec.valid_until else "（未登记）"
        out.append(_make(
            rule_id="registry.cert_expired.v1", category="registry.expired", severity="high",
            verdict="fail", key=number,
            message=f"证书 {rec.cert_no}（持证人 {rec.holder_name}）有效期至 {until}，"
                    f"在申请日 {as_of.isoformat()} 已过期" + ("（登记库状态为过期）" if status == RecordStatus.EXPIRED else "") + "。",
            citation=citation, fields=cert_fields, registry=reg_ev,
            expected=f"有效期覆盖 {as_of.isoformat()}", actual=f"有效期至 {until}",
            suggestion=f"请提交持证人 {rec.holder_name} 复审或延期后的有效证书，或更换持有有效证书的人员。",
        ))
    elif rec.valid_from and rec.valid_from > as_of:
        out.append(_make(
            rule_id="registry.cert_not_yet_valid.v1", category="registry.expired", severity="high",
            verdict="fail", key=number,
            message=f"证书 {rec.cert_no} 自 {rec.valid_from.isoformat()} 起有效，在申请日 {as_of.isoformat()} 尚未生效。",
            citation=citation, fields=cert_fields, registry=reg_ev,
            expected=f"有效期覆盖 {as_of.isoformat()}", actual=f"自 {rec.valid_from.isoformat()} 起有效",
            suggestion="请提交申请日已生效的证书，或在证书生效后再提交申请。",
        ))

    if ctx["category"] and rec.category and not categories_compatible(ctx["category"], rec.category):
        cat_fields = cert_fields + [f for f in (ctx["category_field"],) if f is not None]
        out.append(_make(
            rule_id="registry.cert_category_mismatch.v1", category="registry.category_mismatch",
            severity="medium", verdict="fail", key=number,
            message=f"证书 {rec.cert_no} 准许的作业类别为“{rec.category}”，名册申报的作业为“{ctx['category']}”，两者不符。",
            citation=citation, fields=cat_fields, registry=reg_ev,
            expected=rec.category, actual=ctx["category"],
            suggestion=f"请为“{ctx['category']}”岗位配备持有相应类别特种作业操作证的人员，或更正名册中的作业类别。",
        ))

    employer = _employer_finding(number, rec, cert_fields, reg_ev, citation, applicant_uscc, applicant_name)
    if employer is not None:
        out.append(employer)
    return out


def _employer_finding(number, rec, cert_fields, reg_ev, citation, applicant_uscc, applicant_name):
    if applicant_uscc and rec.employer_uscc:
        if normalize_uscc(applicant_uscc) == rec.employer_uscc:
            return None
        verdict, reason = "fail", None
        detail = f"登记的聘用单位为“{rec.employer_name or ''}”（{rec.employer_uscc}），申请单位信用代码为 {normalize_uscc(applicant_uscc)}"
    elif applicant_name and rec.employer_name:
        cmp = compare_company_names(applicant_name, rec.employer_name)
        if cmp.equal:
            return None
        close = company_core(fold_company_name(applicant_name)) == company_core(fold_company_name(rec.employer_name)) or cmp.score >= 90
        verdict = "uncertain" if close else "fail"
        reason = f"登记库未登记聘用单位信用代码，仅能比对名称，{cmp.explanation}。" if close else None
        detail = f"登记的聘用单位为“{rec.employer_name}”，申请单位为“{applicant_name}”（{cmp.explanation}）"
    else:
        return None
    return _make(
        rule_id="registry.cert_employer_mismatch.v1", category="registry.employer_mismatch",
        severity="medium", verdict=verdict, key=number,
        message=f"证书 {rec.cert_no}（持证人 {rec.holder_name}）{detail}，持证人不是申请单位登记的从业人员。",
        citation=citation, fields=cert_fields, registry=reg_ev,
        expected=applicant_name or applicant_uscc, actual=rec.employer_name or rec.employer_uscc,
        suggestion=f"请办理持证人 {rec.holder_name} 的证书聘用单位变更手续，或提交其与申请单位的劳动合同及社保证明。",
        reason=reason,
    )


def _candidate_line(hit_or_rec) -> str:
    rec = hit_or_rec.record if isinstance(hit_or_rec, CertificateHit) else hit_or_rec
    return f"{rec.cert_no}（{rec.holder_name}，{rec.category or '类别未登记'}）"


def _ambiguous(number, shown, fields, hits: list[CertificateHit], ctx, snapshot, note) -> RegistryVerdict:
    ranked = list(hits)
    if ctx["name"]:
        # The holder's name narrows the candidates without deciding for the reviewer.
        ranked.sort(key=lambda h: -compare_names(ctx["name"], h.record.holder_name).score)
    shown_hits = ranked[:5]
    cands = "；".join(_candidate_line(h) for h in shown_hits) or "无"
    more = f" 等 {len(hits)} 个" if len(hits) > 5 else ""
    unreadable = any(h.how == "wildcard" for h in hits) or not hits
    if unreadable:
        reason = note or "证书编号中有无法辨认的字符，系统不能确定是哪一本证书。"
    else:
        reason = "证书编号按OCR易混字符折算后对应多本证书，系统不能确定是哪一本。"
    registry = None
    if shown_hits:
        registry = _registry_evidence(snapshot, "候选：" + "；".join(cert_summary(h.record, snapshot) for h in shown_hits))
    return _make(
        rule_id="registry.cert_ambiguous.v1", category="registry.not_found", severity="medium",
        verdict="uncertain", key=number,
        message=f"证书编号“{shown}”无法唯一对应登记库中的证书，候选{more}：{cands}。",
        citation=_citation(_registry_name(ctx["cert_type"] or (hits[0].record.cert_type if hits else None)), snapshot),
        fields=fields, registry=registry, expected="唯一对应的证书", actual=cands,
        suggestion="请提供清晰的证书复印件或原件，以确认证书编号。", reason=reason,
    )


def _not_found(number, shown, fields, ctx, lookup: RegistryLookup, snapshot) -> RegistryVerdict:
    registry_name = _registry_name(ctx["cert_type"])
    alternatives: list[CertificateRecord] = []
    if ctx["id_no"]:
        alternatives = lookup.holders_by_id_no(ctx["id_no"])
    elif ctx["name"]:
        alternatives = [m.record for m in lookup.holders_by_name(ctx["name"], limit=5, min_score=100)]
    if ctx["cert_type"]:
        alternatives = [a for a in alternatives if a.cert_type == ctx["cert_type"]] or alternatives
    hint = ""
    if alternatives:
        hint = "登记库中该持证人名下的证书：" + "；".join(_candidate_line(a) for a in alternatives[:3]) + "。"
    low_ocr = any(f.source == Source.OCR and f.confidence < 0.8 for f in fields if f.type == "cert_no")
    return _make(
        rule_id="registry.cert_not_found.v1", category="registry.not_found", severity="high",
        verdict="uncertain" if low_ocr else "fail", key=number,
        message=f"证书编号“{shown}”在{registry_name}中查无记录" + (f"（持证人：{ctx['name']}）" if ctx["name"] else "") + "。" + hint,
        citation=_citation(registry_name, snapshot), fields=fields,
        registry=_registry_evidence(snapshot, f"查无此证书编号｜{registry_name}快照 #{snapshot.id}，截至 {snapshot.as_of.isoformat()}"
                                    + (f"｜{hint}" if hint else "")),
        expected="登记库中存在的证书编号", actual=shown,
        suggestion=(f"请核对证书编号，登记库中该持证人的证书编号为 {alternatives[0].cert_no}，请更正。"
                    if alternatives else "请核对证书编号是否填写正确，并提交证书复印件；伪造或无效证书不能作为申请材料。"),
        reason="证书编号为低置信度OCR识别结果，可能识别有误，请人工核对原件。" if low_ocr else None,
    )


# ---------------------------------------------------------------- companies


def check_companies(fields: list[Field], lookup: RegistryLookup, *, as_of: date) -> list[RegistryVerdict]:
    """USCCs (and, without any USCC, the applicant's name) against the company registry."""
    snapshot = lookup.snapshot("companies")
    by_uscc: dict[str, list[Field]] = defaultdict(list)
    for f in fields:
        if f.type == "uscc" and _text(f) and f.attributes.get("valid") is not False:
            by_uscc[normalize_uscc(_text(f))].append(f)
    names = [f for f in fields if f.type == "company_name" and _text(f)]
    legal_reps = [f for f in fields if f.type == "person_name" and f.role == "legal_representative" and _text(f)]
    if not by_uscc and not names:
        return []
    if snapshot is None:
        return [_make(
            rule_id="registry.company_registry_missing.v1", category="registry.not_found",
            severity="medium", verdict="uncertain", key="no-snapshot",
            message="企业登记库尚未同步，申请单位无法核验。", citation=f"{COMPANY_REGISTRY_NAME}（未同步）",
            fields=[f for fs in by_uscc.values() for f in fs] or names[:1],
            reason="没有可用的企业登记库快照，请先执行 shencha registry sync --kind companies。",
        )]
    citation = _citation(COMPANY_REGISTRY_NAME, snapshot)
    out: list[RegistryVerdict] = []
    for uscc, ufields in by_uscc.items():
        related = _related_names(ufields, names)
        rec = lookup.company_by_uscc(uscc)
        if rec is None:
            candidates = []
            for n in {_text(f) for f in related}:
                candidates += lookup.companies_by_name(n, limit=3)
            hint = ("按名称在登记库中找到：" + "；".join(f"{c.record.name}（{c.record.uscc}）" for c in candidates[:3]) + "。"
                    if candidates else "")
            out.append(_make(
                rule_id="registry.company_not_found.v1", category="registry.not_found", severity="high",
                verdict="fail", key=uscc,
                message=f"统一社会信用代码 {uscc} 在{COMPANY_REGISTRY_NAME}中查无记录。{hint}",
                citation=citation, fields=ufields + related[:2],
                registry=_registry_evidence(snapshot, f"查无此统一社会信用代码｜快照 #{snapshot.id}，截至 {snapshot.as_of.isoformat()}"),
                expected="登记库中存在的统一社会信用代码", actual=uscc,
                suggestion=(f"请核对统一社会信用代码，登记库中“{candidates[0].record.name}”的代码为 {candidates[0].record.uscc}。"
                            if candidates else "请核对统一社会信用代码并提交营业执照副本复印件。"),
            ))
            continue
        out.extend(_company_findings(rec, uscc, ufields, related, snapshot, citation, as_of, legal_reps))
    if not by_uscc:
        out.extend(_company_by_name(names, lookup, snapshot, citation, as_of))
    return out


def _related_names(ufields: list[Field], names: list[Field]) -> list[Field]:
    """company_name fields that state the name belonging to these USCC fields."""
    related: list[Field] = []
    for u in ufields:
        for n in names:
            same_record = (u.attributes.get("record") is not None and n.document == u.document
                           and n.attributes.get("record") == u.attributes.get("record"))
            same_role = n.document == u.document and (n.role or "applicant") == (u.role or "applicant")
            if (same_record or same_role) and n not in related:
                related.append(n)
    return related


def _legal_rep_findings(rec: CompanyRecord, uscc, ufields, legal_reps: list[Field], reg_ev, citation) -> list[RegistryVerdict]:
    """The legal representative named beside the USCC (same document) against the registry's."""
    if not rec.legal_representative:
        return []
    docs = {u.document for u in ufields}
    for person in legal_reps:
        if person.document not in docs:
            continue
        cmp = compare_names(_text(person), rec.legal_representative)
        if cmp.equal:
            continue
        doubtful = _one_char_ocr(person, cmp)
        return [_make(
            rule_id="registry.company_legal_rep_mismatch.v1", category="registry.name_mismatch",
            severity="medium", verdict="uncertain" if doubtful else "fail", key=uscc + "|legal",
            message=f"“{rec.name}”在登记库中的法定代表人为“{rec.legal_representative}”，"
                    f"页面填写为“{_text(person)}”（{cmp.explanation}）。",
            citation=citation, fields=ufields + [person], registry=reg_ev,
            expected=rec.legal_representative, actual=_text(person),
            suggestion="请核实法定代表人：如已变更，请提交变更登记后的营业执照；否则请更正申请材料中的法定代表人姓名。",
            reason="姓名仅一字之差且为OCR识别结果，可能是识别错误，请人工核对原件。" if doubtful else None,
        )]
    return []


def _company_findings(rec: CompanyRecord, uscc, ufields, related, snapshot, citation, as_of,
                      legal_reps: list[Field] | None = None) -> list[RegistryVerdict]:
    reg_ev = _registry_evidence(snapshot, company_summary(rec, snapshot))
    out: list[RegistryVerdict] = []
    stated = {}
    for u in ufields:
        if u.attributes.get("company"):
            stated.setdefault(str(u.attributes["company"]), [u])
    for n in related:
        stated.setdefault(_text(n), []).append(n)
    wrong = [(name, fs, compare_company_names(name, rec.name)) for name, fs in stated.items()]
    wrong = [w for w in wrong if not w[2].equal]
    if wrong:
        name, fs, cmp = wrong[0]
        diff = substituted(name, rec.name)
        doubtful = cmp.score >= 85 and all(
            all(char_doubtful(f, c, _OCR_DOUBT) for c in diff) if diff else
            f.source == Source.OCR and f.confidence < _OCR_DOUBT for f in fs)
        out.append(_make(
            rule_id="registry.company_name_mismatch.v1", category="registry.name_mismatch",
            severity="high", verdict="uncertain" if doubtful else "fail", key=uscc,
            message=f"统一社会信用代码 {uscc} 在登记库中的单位名称为“{rec.name}”，页面填写为“{name}”（{cmp.explanation}）。",
            citation=citation, fields=ufields + [f for _, fs2, _ in wrong for f in fs2], registry=reg_ev,
            expected=rec.name, actual=name,
            suggestion=f"请将单位名称更正为与营业执照一致的“{rec.name}”；如单位已更名，请提交名称变更证明。",
            reason="名称差异可能来自OCR识别，请人工核对原件。" if doubtful else None,
        ))
    out.extend(_legal_rep_findings(rec, uscc, ufields, legal_reps or [], reg_ev, citation))
    status = RecordStatus(rec.licence_status) if rec.licence_status else None
    if status in (RecordStatus.REVOKED, RecordStatus.SUSPENDED):
        word = STATUS_NAMES[status]
        out.append(_make(
            rule_id="registry.company_licence_revoked.v1", category="registry.revoked", severity="high",
            verdict="fail", key=uscc,
            message=f"“{rec.name}”的安全生产许可证 {rec.licence_no or ''} 在登记库中的状态为“{word}”。",
            citation=citation, fields=ufields, registry=reg_ev, expected="有效", actual=word,
            suggestion=f"安全生产许可证已{word}，请先办结整改或重新申领，不能按延续办理。",
        ))
    elif status == RecordStatus.EXPIRED or (rec.licence_valid_until and rec.licence_valid_until < as_of):
        until = rec.licence_valid_until.isoformat() if rec.licence_valid_until else "（未登记）"
        out.append(_make(
            rule_id="registry.company_licence_expired.v1", category="registry.expired", severity="high",
            verdict="fail", key=uscc,
            message=f"“{rec.name}”的安全生产许可证 {rec.licence_no or ''} 有效期至 {until}，在申请日 {as_of.isoformat()} 已过期。",
            citation=citation, fields=ufields, registry=reg_ev,
            expected=f"有效期覆盖 {as_of.isoformat()}", actual=f"有效期至 {until}",
            suggestion="许可证已过期，应按新申请办理，并补充新申请所需材料。",
        ))
    return out


def _company_by_name(names: list[Field], lookup: RegistryLookup, snapshot, citation, as_of) -> list[RegistryVerdict]:
    applicant = [f for f in names if (f.role or "applicant") == "applicant"]
    if not applicant:
        return []
    name = _text(applicant[0])
    hits = lookup.companies_by_name(name, limit=5)
    exact = [h for h in hits if h.how == "name"]
    if len(exact) == 1:
        return _company_findings(exact[0].record, exact[0].record.uscc, applicant[:1], [], snapshot, citation, as_of)
    cands = "；".join(f"{h.record.name}（{h.record.uscc}，相似度 {h.score:g}）" for h in hits) or "无"
    return [_make(
        rule_id="registry.company_ambiguous.v1", category="registry.not_found", severity="medium",
        verdict="uncertain", key=name,
        message=f"材料中没有统一社会信用代码，按单位名称“{name}”在登记库中" + ("未找到唯一对应的单位，候选：" + cands if hits else "查无记录") + "。",
        citation=citation, fields=applicant[:3],
        registry=_registry_evidence(snapshot, ("候选：" + cands) if hits else f"查无此单位名称｜快照 #{snapshot.id}，截至 {snapshot.as_of.isoformat()}"),
        expected="唯一对应的登记单位", actual=cands,
        suggestion="请在申请材料中提供营业执照副本及统一社会信用代码。",
        reason="仅凭单位名称无法唯一确定登记单位，请人工核对。",
    )]
