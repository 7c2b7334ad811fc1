"""Cross-checks on hand-built fields against a real (SQLite) registry snapshot."""

from __future__ import annotations

from datetime import date

import pytest

from checks import registry_checks
from checks.engine import NoParams, RuleContext
from checks.registry_checks import categories_compatible
from checks.rules.registry_rules import certificates as certificates_rule
from checks.rules.registry_rules import companies as companies_rule
from extractor.model import Field
from registry_sync.lookup import RegistryLookup
from registry_sync.rows import CERT_COLUMNS, COMPANY_COLUMNS
from registry_sync.sync import sync
from registry_sync.testing import fresh_engine, uscc_for, write_csv

AS_OF = date(2026, 11, 20)
APPLICANT_USCC = uscc_for(1)
APPLICANT = "北京宏远建设工程有限公司"
OTHER_USCC = uscc_for(2)

IDS = {
    "王建国": "110101198001014513", "李娜": "110101198001010037", "王芳": "110101198001010045",
    "刘洋": "110101198001010053", "陈静": "110105198503151230", "张伟": "110101198001010010",
}


def _cert(name, *, category="电工作业", status="有效", valid_from="2021-01-01", valid_until="2027-01-01",
          employer_uscc=APPLICANT_USCC, employer_name=APPLICANT):
    return dict(cert_no="T" + IDS[name], cert_type="special_operation", holder_name=name,
                holder_id_no=IDS[name], category=category, employer_uscc=employer_uscc,
                employer_name=employer_name, issued_on=valid_from, valid_from=valid_from,
                valid_until=valid_until, status=status, issuing_authority="北京市应急管理局")


REGISTRY = [
    _cert("王建国"),
    _cert("李娜", valid_until="2026-06-30"),
    _cert("王芳", status="注销"),
    _cert("刘洋", status="暂扣"),
    _cert("陈静", category="焊接与热切割作业", employer_uscc=OTHER_USCC, employer_name="天津安泰建设有限公司"),
    _cert("张伟", valid_from="2026-12-01", valid_until="2032-12-01"),
    dict(cert_no="京A012020000001", cert_type="construction_special_operation", holder_name="赵磊",
         category="建筑电工", status="有效"),
    dict(cert_no="京A012020000007", cert_type="construction_special_operation", holder_name="赵雷",
         category="建筑电工", status="有效"),
    # Two numbers that differ only by a letter OCR confuses with a digit.
    dict(cert_no="京A01202000000O", cert_type="construction_special_operation", holder_name="孙强",
         category="建筑架子工", status="有效"),
    dict(cert_no="京A012020000000", cert_type="construction_special_operation", holder_name="孙刚",
         category="建筑架子工", status="有效"),
]
COMPANIES = [
    dict(uscc=APPLICANT_USCC, name=APPLICANT, legal_representative="周建华", licence_no="(京)JZ安许证字〔2023〕000123",
         licence_valid_from="2023-01-01", licence_valid_until="2026-01-01", licence_status="有效"),
    dict(uscc=OTHER_USCC, name="天津安泰建设有限公司", licence_no="(津)JZ安许证字〔2024〕000009",
         licence_valid_from="2024-01-01", licence_valid_until="2027-01-01", licence_status="暂扣"),
    dict(uscc=uscc_for(3), name="上海振兴安装工程有限公司", licence_valid_until="2028-01-01", licence_status="有效"),
]


@pytest.fixture(scope="module")
def lookup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("registry")
    engine = fresh_engine("sqlite", tmp)
    rows = [{c: r.get(c, "") for c in CERT_COLUMNS} for r in REGISTRY]
    sync(engine, str(write_csv(tmp / "certs.csv", rows)), as_of=date(2026, 11, 1))
    rows = [{c: r.get(c, "") for c in COMPANY_COLUMNS} for r in COMPANIES]
    sync(engine, str(write_csv(tmp / "co.csv", rows, COMPANY_COLUMNS)), kind="companies", as_of=date(2026, 11, 1))
    yield RegistryLookup(engine)
    engine.dispose()


def F(type_, value, *, record="r1", doc="roster", page=2, role=None, source="text", confidence=0.98, **attrs):
    if record is not None:
        attrs["record"] = record
    return Field(type=type_, value=value, normalized=value, role=role, document=doc, page=page,
                 bbox=(10.0, 20.0, 110.0, 34.0), confidence=confidence, source=source, attributes=attrs)


def row(name, *, cert_no=None, id_no=None, category="电工作业", record="r1", name_source="text",
        name_confidence=0.98, page_name=None):
    """One roster row: name, ID number, declared work, certificate number."""
    cert_no = cert_no or "T" + IDS[name]
    fields = [F("person_name", page_name or name, record=record, role="special_operator",
                source=name_source, confidence=name_confidence),
              F("cert_no", cert_no, record=record, cert_type="special_operation", holder=page_name or name)]
    if id_no is not False:
        fields.append(F("resident_id", id_no or IDS.get(name, ""), record=record))
    if category:
        fields.append(F("operation_category", category, record=record))
    return fields


def _emit(spec, verdicts, as_of):
    """Findings as the registry rule builds them: through its own RuleContext."""
    ctx = RuleContext(spec, NoParams(), spec.severity, as_of)
    return [v.emit(ctx) for v in verdicts]


def check_certificates(fields, lookup, *, as_of, **kw):
    return _emit(certificates_rule, registry_checks.check_certificates(fields, lookup, as_of=as_of, **kw), as_of)


def check_companies(fields, lookup, *, as_of):
    return _emit(companies_rule, registry_checks.check_companies(fields, lookup, as_of=as_of), as_of)


def check(fields, **kw):
    kw.setdefault("applicant_uscc", APPLICANT_USCC)
    kw.setdefault("applicant_name", APPLICANT)
    return check_certificates(fields, kw.pop("lookup"), as_of=AS_OF, **kw)


def _only(findings, category):
    hits = [f for f in findings if f.category == category]
    assert len(hits) == 1, [(f.category, f.message) for f in findings]
    return hits[0]


def _assert_two_sided(finding, snapshot_id):
    docs = [e.document for e in finding.evidence]
    assert "roster" in docs, docs
    assert f"registry:{snapshot_id}" in docs, docs
    page = next(e for e in finding.evidence if e.document == "roster")
    assert page.page == 2 and page.bbox is not None and page.text
    registry = next(e for e in finding.evidence if e.document.startswith("registry:"))
    assert "截至 2026-11-01" in registry.text
    assert "快照" in finding.citation and "2026-11-01" in finding.citation
    assert finding.suggestion


def test_clean_row_gives_no_findings(lookup):
    assert check(row("王建国"), lookup=lookup) == []


def test_traditional_script_name_is_the_same_person(lookup):
    assert check(row("王建国", page_name="王建國"), lookup=lookup) == []


def test_not_found(lookup):
    fields = row("王建国", cert_no="T110101198001019998", id_no=False)  # a well-formed number nobody holds
    f = _only(check(fields, lookup=lookup), "registry.not_found")
    assert f.verdict == "fail" and f.rule_id == "registry.certificates.v1"
    assert "查无记录" in f.message
    assert "T110101********4513" in f.suggestion  # the holder's real number, masked
    _assert_two_sided(f, lookup.snapshot("certificates").id)
    assert f.citation == "特种作业操作证登记库（截至 2026-11-01 的快照 #1）"


def test_not_found_on_a_malformed_number_is_uncertain_and_says_why(lookup):
    """Fail means sure: a number that fails its own format (a cut-off or
    misread one) not being in the registry is a question, not a defect."""
    fields = row("王建国", cert_no="T110101198001019999", id_no=False)  # embedded ID's check digit is wrong
    f = _only(check(fields, lookup=lookup), "registry.not_found")
    assert f.verdict == "uncertain" and "不符合该类证书的编号格式" in f.reason


def test_not_found_on_a_number_cut_short_is_uncertain(lookup):
    """A number that opens like a known format but fits none (a scanned roster's
    浙A012026000207 read as 浙A0120260002, its format unknown to extraction) is a
    misreading to check, not a certificate nobody holds."""
    fields = [F("person_name", "赵磊", role="special_operator"),
              F("cert_no", "京A0120200000", holder="赵磊")]  # 京A012020000001 without its last two digits
    f = _only(check(fields, lookup=lookup), "registry.not_found")
    assert f.verdict == "uncertain" and "不完整" in f.reason


def test_name_mismatch(lookup):
    fields = row("王建国", page_name="李四")
    f = _only(check(fields, lookup=lookup), "registry.name_mismatch")
    assert f.verdict == "fail" and f.expected == "王建国" and f.actual == "李四"
    assert "相似度" in f.message
    _assert_two_sided(f, lookup.snapshot("certificates").id)


def test_one_character_ocr_name_difference_is_uncertain(lookup):
    fields = row("王建国", page_name="王建图", name_source="ocr", name_confidence=0.7)
    f = _only(check(fields, lookup=lookup), "registry.name_mismatch")
    assert f.verdict == "uncertain" and f.reason
    assert "第3字" in f.message


@pytest.mark.parametrize("score_of_differing_char, verdict", [(0.99, "fail"), (0.62, "uncertain")])
def test_a_one_character_difference_turns_on_the_ocr_score_of_that_character(lookup, score_of_differing_char,
                                                                              verdict):
    """The line's weakest character is elsewhere (王 at 0.70): what counts is how sure the
    recogniser was of the character that differs from the registry."""
    fields = row("王建国", page_name="王建图", name_source="ocr", name_confidence=0.7)
    fields[0].attributes["char_confidence"] = [["王", 0.70], ["建", 1.0], ["图", score_of_differing_char]]
    f = _only(check(fields, lookup=lookup), "registry.name_mismatch")
    assert f.verdict == verdict


def test_id_number_of_another_person(lookup):
    fields = row("王建国", id_no=IDS["李娜"])
    f = _only(check(fields, lookup=lookup), "registry.name_mismatch")
    assert f.rule_id == "registry.certificates.v1"
    assert "110101********0037" in f.message and IDS["李娜"] not in f.message
    assert IDS["王建国"] not in (f.expected or "")


def test_expired(lookup):
    f = _only(check(row("李娜"), lookup=lookup), "registry.expired")
    assert f.rule_id == "registry.certificates.v1" and "2026-06-30" in f.message and "已过期" in f.message
    _assert_two_sided(f, lookup.snapshot("certificates").id)
    # Relative to as_of: before expiry it is fine.
    assert check_certificates(row("李娜"), lookup, as_of=date(2026, 1, 1),
                              applicant_uscc=APPLICANT_USCC, applicant_name=APPLICANT) == []


def test_not_yet_valid(lookup):
    f = _only(check(row("张伟"), lookup=lookup), "registry.expired")
    assert f.rule_id == "registry.certificates.v1" and "尚未生效" in f.message


@pytest.mark.parametrize("name,word", [("王芳", "注销"), ("刘洋", "暂扣")])
def test_revoked_and_suspended(lookup, name, word):
    f = _only(check(row(name), lookup=lookup), "registry.revoked")
    assert f.verdict == "fail" and f.actual == word and word in f.message
    _assert_two_sided(f, lookup.snapshot("certificates").id)


def test_category_mismatch(lookup):
    findings = check(row("王建国", category="焊接与热切割作业"), lookup=lookup)
    f = _only(findings, "registry.category_mismatch")
    assert f.expected == "电工作业" and f.actual == "焊接与热切割作业"
    assert any(e.text == "焊接与热切割作业" for e in f.evidence)  # the declared work is evidence too
    _assert_two_sided(f, lookup.snapshot("certificates").id)


@pytest.mark.parametrize("declared,registered,ok", [
    ("电工作业", "电工作业", True), ("低压电工作业", "电工作业", True), ("电工", "低压电工作业", True),
    ("高压电工作业", "低压电工作业", False), ("架子工", "登高架设作业", True), ("建筑电工", "电工作业", True),
    ("焊接与热切割作业", "电工作业", False), ("高处作业", "登高架设作业", True),
])
def test_category_compatibility(declared, registered, ok):
    assert categories_compatible(declared, registered) is ok


def test_employer_mismatch(lookup):
    findings = check(row("陈静", category="焊接与热切割作业"), lookup=lookup)
    f = _only(findings, "registry.employer_mismatch")
    assert f.verdict == "fail" and "天津安泰建设有限公司" in f.message
    _assert_two_sided(f, lookup.snapshot("certificates").id)


def test_employer_by_name_when_no_uscc(lookup):
    findings = check(row("王建国"), lookup=lookup, applicant_uscc=None, applicant_name="北京宏远建设工程有限责任公司")
    f = _only(findings, "registry.employer_mismatch")
    assert f.verdict == "uncertain" and f.reason  # same core name, different legal form
    assert check(row("王建国"), lookup=lookup, applicant_uscc=None, applicant_name=APPLICANT) == []


def test_unreadable_digit_is_uncertain_with_candidates(lookup):
    fields = [F("person_name", "赵磊", role="special_operator"),
              F("cert_no", "京A01202000000?", cert_type="construction_special_operation", holder="赵磊")]
    f = _only(check(fields, lookup=lookup), "registry.not_found")
    assert f.verdict == "uncertain" and f.rule_id == "registry.certificates.v1"
    assert "京A012020000001" in f.message and "京A012020000007" in f.message
    assert f.message.index("赵磊") < f.message.index("赵雷")  # the stated holder ranks first
    assert "无法辨认" in f.reason
    assert any(e.document.startswith("registry:") for e in f.evidence)


def test_two_candidates_under_ocr_folding_are_uncertain(lookup):
    fields = [F("person_name", "孙刚", role="special_operator"),
              F("cert_no", "京A012020O00000", cert_type="construction_special_operation", holder="孙刚")]
    f = _only(check(fields, lookup=lookup), "registry.not_found")
    assert f.verdict == "uncertain" and "多本证书" in f.reason
    assert "京A01202000000O" in f.message and "京A012020000000" in f.message
    # Printed exactly, the number is not ambiguous.
    exact = [F("person_name", "孙刚", role="special_operator"),
             F("cert_no", "京A012020000000", cert_type="construction_special_operation", holder="孙刚")]
    assert check(exact, lookup=lookup, applicant_uscc=None, applicant_name=None) == []


def test_same_certificate_twice_gives_one_finding(lookup):
    fields = row("王芳") + [F("cert_no", "T" + IDS["王芳"], doc="cert-copy", page=1, record="c1")]
    findings = check(fields, lookup=lookup)
    f = _only(findings, "registry.revoked")
    assert {e.document for e in f.evidence} == {"roster", "cert-copy", "registry:1"}


def test_messages_never_show_a_whole_id_number(lookup):
    fields = row("王芳") + row("李娜", record="r2") + row("王建国", record="r3", cert_no="T110101198001019999")
    for f in check(fields, lookup=lookup):
        for text in (f.message, f.suggestion, f.expected or "", f.actual or "", f.reason or ""):
            assert not any(id_no in text for id_no in IDS.values()), text
        for e in f.evidence:
            if e.document.startswith("registry:"):
                assert not any(id_no in e.text for id_no in IDS.values())


def test_without_a_registry_every_certificate_is_uncertain(tmp_path):
    engine = fresh_engine("sqlite", tmp_path)
    findings = check_certificates(row("王建国"), RegistryLookup(engine), as_of=AS_OF,
                                  applicant_uscc=None, applicant_name=None)
    assert [f.verdict for f in findings] == ["uncertain"] and "尚未同步" in findings[0].message


# ---------------------------------------------------------------- companies


def licence_fields(uscc, name, *, doc="licence"):
    return [F("uscc", uscc, record=None, doc=doc, role="applicant", valid=True),
            F("company_name", name, record=None, doc=doc, role="applicant")]


def test_company_clean_and_expired_licence(lookup):
    findings = check_companies(licence_fields(APPLICANT_USCC, APPLICANT), lookup, as_of=AS_OF)
    f = _only(findings, "registry.expired")  # the applicant's licence ran out 2026-01-01
    assert f.rule_id == "registry.companies.v1" and "2026-01-01" in f.message
    assert "企业及安全生产许可证登记库（截至 2026-11-01 的快照 #2）" == f.citation
    assert {e.document for e in f.evidence} == {"licence", "registry:2"}
    assert check_companies(licence_fields(APPLICANT_USCC, APPLICANT), lookup, as_of=date(2025, 6, 1)) == []


def test_company_unknown_uscc(lookup):
    findings = check_companies(licence_fields(uscc_for(99), "上海振兴安装工程有限公司"), lookup, as_of=AS_OF)
    f = _only(findings, "registry.not_found")
    assert f.verdict == "fail" and uscc_for(3) in f.suggestion  # found by name instead


def test_company_name_differs(lookup):
    findings = check_companies(licence_fields(uscc_for(3), "上海振兴机电安装有限公司"), lookup, as_of=AS_OF)
    f = _only(findings, "registry.name_mismatch")
    assert f.expected == "上海振兴安装工程有限公司" and f.actual == "上海振兴机电安装有限公司"
    assert "相似度" in f.message


def test_company_licence_suspended(lookup):
    findings = check_companies(licence_fields(OTHER_USCC, "天津安泰建设有限公司"), lookup, as_of=AS_OF)
    assert _only(findings, "registry.revoked").actual == "暂扣"


def test_company_by_name_only(lookup):
    fields = [F("company_name", "上海振兴安装工程有限公司", record=None, role="applicant")]
    assert check_companies(fields, lookup, as_of=AS_OF) == []
    fields = [F("company_name", "上海振兴", record=None, role="applicant")]
    f = _only(check_companies(fields, lookup, as_of=AS_OF), "registry.not_found")
    assert f.verdict == "uncertain"


def test_company_legal_representative_differs(lookup):
    fields = licence_fields(APPLICANT_USCC, APPLICANT) + [
        F("person_name", "周建平", record=None, doc="licence", role="legal_representative")]
    findings = check_companies(fields, lookup, as_of=date(2025, 6, 1))
    f = _only(findings, "registry.name_mismatch")
    assert f.rule_id == "registry.companies.v1"
    assert f.expected == "周建华" and f.actual == "周建平"
    ok = licence_fields(APPLICANT_USCC, APPLICANT) + [
        F("person_name", "周建華", record=None, doc="licence", role="legal_representative")]
    assert check_companies(ok, lookup, as_of=date(2025, 6, 1)) == []


@pytest.mark.parametrize("declared,registered,same", [
    ("危险化学品安全作业-加氢工艺作业", "危险化学品安全作业—加氢工艺作业", True),   # dash widths
    ("危险化学品安全作业一化工自动", "危险化学品安全作业—化工自动化控制仪表作业", True),  # OCR: — as 一, cut short
    ("低压电工作业", "电工作业—低压电工作业", True),                                 # the item alone
    ("危险化学品安全作业—加氢工艺作业", "危险化学品安全作业—氯化工艺作业", False),    # same category, other item
    ("金属非金属矿山提升机操作作业", "电工作业—低压电工作业", False),
])
def test_category_and_item_written_with_any_dash_compare_by_the_item(declared, registered, same):
    assert categories_compatible(declared, registered) is same
