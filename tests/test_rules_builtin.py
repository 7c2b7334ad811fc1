"""Every built-in rule on its own examples, plus cases the examples do not spell out."""

from __future__ import annotations

import sys
import types
from datetime import date

import pytest

import checks
from checks.builtin import BUILTIN_RULES
from checks.model import Finding
from checks.testing import build, f, run_examples

EXAMPLES = [(spec, i) for spec in BUILTIN_RULES for i in range(len(spec.examples))]


@pytest.mark.parametrize("spec, i", EXAMPLES, ids=[f"{s.id}-{s.examples[i].outcome}-{i}" for s, i in EXAMPLES])
def test_builtin_rule_examples(spec, i):
    result = run_examples(spec)[i]
    assert result.ok, f"{spec.id}: {result.example.description}: expected {result.example.outcome}, got {result.got} ({result.detail})"


def _by_rule(view, rule_id, lookup=None) -> list[Finding]:
    return [x for x in checks.run(view, lookup=lookup).findings if x.rule_id == rule_id]


# -- identifiers ---------------------------------------------------------------------------

@pytest.mark.parametrize("number", ["360426199101010071", "44011320141005001x", "412723199010050012", "110102199101010078"])
def test_valid_public_id_vectors_pass(number):
    assert _by_rule(build([f("resident_id", number)]), "gb11643.resident_id.v2") == []


@pytest.mark.parametrize("number, verdict", [
    ("360426199113010079", "fail"),   # month 13
    ("36042619910102009X", "fail"),   # wrong check character
    ("110102910101007", "uncertain"),  # 15-digit legacy number
])
def test_id_failures_and_legacy_warnings(number, verdict):
    (x,) = _by_rule(build([f("resident_id", number)]), "gb11643.resident_id.v2")
    assert x.verdict == verdict
    if verdict == "uncertain":
        assert x.severity == "low" and x.reason


@pytest.mark.parametrize("number", [
    "110224198001010029",  # real 大兴县 code stdnum rejects for 1980 (the card was issued later)
    "990426199112010074",  # a code stdnum does not list
    "320219198001011230",  # a county stdnum's table lacks (its KeyError)
])
def test_region_questions_are_field_warnings_not_findings(number):
    """An officer cannot answer "is this region code real?": no finding, the field carries it."""
    assert _by_rule(build([f("resident_id", number)]), "gb11643.resident_id.v2") == []


def test_birth_date_after_application_date_fails():
    from registry_sync.testing import id_number

    future = id_number("110101", date(2027, 1, 1), 1)
    (x,) = _by_rule(build([f("resident_id", future)]), "gb11643.resident_id.v2")
    assert x.verdict == "fail" and "晚于申请日期" in x.message


def test_uscc_with_letter_prefix_is_checked_not_rejected():
    # Y1110000MA0000000U is checksum-correct (domain_sources §1.2) though stdnum.validate rejects it.
    out = _by_rule(build([f("uscc", "Y1110000MA0000000U")], uscc=None), "gb32100.uscc.v2")
    assert all(x.verdict != "fail" for x in out)


def test_special_operation_number_with_invalid_embedded_id_fails():
    (x,) = _by_rule(build([f("cert_no", "T36042619910102009X", cert_type="special_operation")]), "cert.number_format.v1")
    assert x.verdict == "fail" and "内嵌身份证号无效" in x.message


def test_special_operation_holder_id_from_attribute():
    view = build([f("cert_no", "T360426199101010071", cert_type="special_operation", holder_id="412723199010050012")])
    (x,) = _by_rule(view, "cert.number_format.v1")
    assert x.verdict == "fail" and x.expected == "T412723199010050012"


# -- consistency ---------------------------------------------------------------------------

def test_application_json_uscc_differing_from_business_licence_is_a_conflict():
    view = build([f("uscc", "9144030071526726XG", role="applicant", doc="bl")], docs={"bl": "business_licence"},
                 uscc="91110000600037341L")
    (x,) = _by_rule(view, "consistency.company_identity.v1")
    assert x.verdict == "fail" and "申请信息" in x.message


def test_same_value_in_one_document_only_is_not_a_cross_document_conflict():
    view = build([
        f("person_name", "王伟", record=1, doc="r"), f("resident_id", "360426199101010071", record=1, doc="r"),
        f("person_name", "王伟", record=2, doc="r"), f("resident_id", "360426199101010081", record=2, doc="r"),
    ], docs={"r": "special_operations_roster"})
    assert _by_rule(view, "consistency.person_identity.v1") == []


# -- completeness --------------------------------------------------------------------------

def test_checklist_is_per_industry():
    docs = {"a": "application_form", "b": "business_licence", "c": "responsibility_system", "d": "safety_investment",
            "e": "safety_organisation", "f": "managers_roster", "g": "special_operations_roster",
            "h": "training_record", "i": "insurance", "j": "emergency_plan", "k": "occupational_health"}
    construction = _by_rule(build(docs=docs | {"l": "machinery_inspection", "m": "scaffold_plan"},
                                  industry="construction"), "completeness.documents.v3")
    assert construction == []
    chem = _by_rule(build(docs=docs, industry="hazardous_chemicals"), "completeness.documents.v3")
    # The safety assessment is required of every non-construction applicant; major hazards only of some.
    assert [(x.verdict, "安全评价报告" in x.message) for x in chem if x.verdict == "fail"] == [("fail", True)]
    assert [x.verdict for x in chem if "重大危险源" in x.message] == ["uncertain"]
    docs.pop("g")
    out = _by_rule(build(docs=docs, industry="non_coal_mine"), "completeness.documents.v3")
    assert any(x.verdict == "fail" and "特种作业" in x.message and "第六条" in x.citation for x in out)


# -- standards -----------------------------------------------------------------------------

@pytest.mark.parametrize("grade_a, grade_b, minimum", [(1, 1, 6), (2, 3, 7), (3, 3, 8), (4, 4, 12), (1, 4, 9)])
def test_civil_table_values_drive_the_minimum(grade_a, grade_b, minimum):
    def view(d):
        return build([
            f("building", "A", doc="s", kind="civil", fire_grade=grade_a, height_m=10),
            f("building", "B", doc="s", kind="civil", fire_grade=grade_b, height_m=10),
            f("fire_separation_distance", d, doc="s", between=["A", "B"], notes_apply=False),
        ], docs={"s": "site_plan"})

    assert _by_rule(view(minimum), "gb50016.civil_separation.v2") == []
    (x,) = _by_rule(view(minimum - 0.5), "gb50016.civil_separation.v2")
    assert x.verdict == "fail" and x.expected == f"≥ {minimum} m"


def test_factory_e_class_two_metre_reduction():
    fields = [
        f("building", "戊1", doc="s", kind="factory", use_class="戊", fire_grade=2, height_m=8),
        f("building", "戊2", doc="s", kind="factory", use_class="戊", fire_grade=2, height_m=8),
        f("fire_separation_distance", 8.0, doc="s", between=["戊1", "戊2"], notes_apply=False),
    ]
    assert _by_rule(build(fields, industry="non_coal_mine"), "gb50016.factory_separation.v2") == []


def test_high_rise_other_public_corridor_double_loaded():
    fields = [
        f("building", "综合楼", doc="s", kind="civil", use="办公", height_m=50, fire_grade=1),
        f("evacuation_width", 1.35, doc="e", element="corridor", building="综合楼", loaded="double"),
    ]
    (x,) = _by_rule(build(fields), "gb50016.evacuation_width_civil.v1")
    assert x.verdict == "fail" and "1.40" in x.expected


def test_toe_board_left_in_millimetres_is_read_as_millimetres():
    fields = [f("safety_measure", m, doc="p") for m in ("guard_rail", "dense_mesh_net", "edge_protection")]
    fields.append(f("toe_board_height", 150, doc="p"))
    out = _by_rule(build(fields, docs={"p": "scaffold_plan"}), "jgj80.fall_protection.v1")
    assert [x.actual for x in out] == ["150 mm"]


# -- registry ------------------------------------------------------------------------------

def test_registry_rules_build_each_finding_once_through_their_context(monkeypatch):
    """The comparison returns verdicts; the rule alone makes findings of them (its id, citation, gate)."""
    from checks.registry_checks import RegistryVerdict

    calls = {}

    def check_certificates(fields, lookup, *, as_of, applicant_uscc, applicant_name):
        calls["certs"] = (len(fields), lookup, as_of, applicant_uscc, applicant_name)
        cert = next(x for x in fields if x.type == "cert_no")
        return [RegistryVerdict(check="cert_revoked", category="registry.revoked", severity="high", verdict="fail",
                                key=str(cert.value), message="证书已注销", citation="登记库 2026-11-01",
                                fields=[cert], suggestion="请更换持证人员")]

    def check_companies(fields, lookup, *, as_of):
        calls["companies"] = as_of
        return []

    fake = types.ModuleType("checks.registry_checks")
    fake.check_certificates, fake.check_companies = check_certificates, check_companies
    monkeypatch.setitem(sys.modules, "checks.registry_checks", fake)
    lookup = object()
    view = build([f("cert_no", "T360426199101010071", cert_type="special_operation"), f("uscc", "91110000600037341L", role="applicant")])
    result = checks.run(view, lookup=lookup)
    (x,) = [x for x in result.findings if x.rule_id == "registry.certificates.v1"]
    assert x.category == "registry.revoked" and x.verdict == "fail" and x.citation == "登记库 2026-11-01"
    assert x.id.startswith("F-") and x.evidence[0].text == "T360426199101010071"
    assert calls["certs"][1] is lookup and calls["certs"][3] == "91110000600037341L"
    assert calls["companies"] == view.as_of
    assert not [e for e in result.errors if e.rule_id.startswith("registry.")]


# -- property-based: the check characters ----------------------------------------------------

from hypothesis import given, settings
from hypothesis import strategies as st

from checks.rules.identifiers import USCC_ALPHABET, check_resident_id, check_uscc


@settings(max_examples=200, deadline=None)
@given(born=st.dates(min_value=date(1930, 1, 1), max_value=date(2008, 12, 31)), order=st.integers(0, 999),
       pos=st.integers(0, 16), delta=st.integers(1, 9))
def test_resident_id_check_character_catches_every_single_digit_change(born, order, pos, delta):
    from registry_sync.testing import id_number

    good = id_number("110101", born, order)
    assert check_resident_id(good, date(2026, 11, 20)) is None
    bad = good[:pos] + str((int(good[pos]) + delta) % 10) + good[pos + 1:]
    problem = check_resident_id(bad, date(2026, 11, 20))
    # MOD 11-2 detects every single substitution; a changed region digit may instead be "unknown region".
    assert problem is not None


@settings(max_examples=200, deadline=None)
@given(body=st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9), region=st.sampled_from(["110000", "320106", "440300"]),
       pos=st.integers(0, 16), shift=st.integers(1, 30))
def test_uscc_check_character_catches_every_single_substitution(body, region, pos, shift):
    from stdnum.cn import uscc as stdnum_uscc

    first17 = "91" + region + body
    good = first17 + stdnum_uscc.calc_check_digit(first17)
    assert check_uscc(good) is None or check_uscc(good)[0] == "warning"  # the GB 11714 part may not hold
    ch = good[pos]
    repl = USCC_ALPHABET[(USCC_ALPHABET.index(ch) + shift) % 31]
    if pos in range(2, 8) and not repl.isdigit():
        return  # positions 3-8 are digits: a letter there is a format error, tested elsewhere
    bad = good[:pos] + repl + good[pos + 1:]
    problem = check_uscc(bad)
    assert problem is not None and problem[0] == "error"


def test_one_digit_id_difference_read_by_doubtful_ocr_is_uncertain():
    from extractor.model import Field, Source

    ocr_id = Field(type="resident_id", value="360426199101010081", document="cert", page=1, confidence=0.7,
                   source=Source.OCR, attributes={"record": 1})
    fields = [f("person_name", "李四", record=1, doc="roster"), f("resident_id", "360426199101010071", record=1, doc="roster"),
              f("person_name", "李四", record=2, doc="roster2"), f("resident_id", "360426199101010071", record=2, doc="roster2"),
              f("person_name", "李四", record=1, doc="cert"), ocr_id]
    (x,) = _by_rule(build(fields), "consistency.person_identity.v1")
    assert x.verdict == "uncertain" and "识别" in x.reason


def test_a_lower_bound_on_the_drawing_is_not_a_measured_shortfall():
    fields = [
        f("building", "A", doc="s", kind="civil", fire_grade=2, height_m=10),
        f("building", "B", doc="s", kind="civil", fire_grade=2, height_m=10),
        f("fire_separation_distance", 4.0, doc="s", between=["A", "B"], qualifier="min", notes_apply=False),
        f("evacuation_width", 0.8, doc="e", element="door", qualifier="min"),
    ]
    out = [x for x in checks.run(build(fields)).findings if x.category.startswith("standard.")]
    assert sorted(x.verdict for x in out) == ["uncertain", "uncertain"]
    assert all(x.actual.startswith("≥") for x in out)


def test_name_read_one_character_off_by_doubtful_ocr_is_uncertain():
    from extractor.model import Field, Source

    ocr_name = Field(type="person_name", value="李囚", document="cert", page=1, confidence=0.6, source=Source.OCR,
                     attributes={"record": 1})
    fields = [f("person_name", "李四", record=1, doc="roster"), f("resident_id", "360426199101010071", record=1, doc="roster"),
              ocr_name, f("resident_id", "360426199101010071", record=1, doc="cert")]
    (x,) = _by_rule(build(fields), "consistency.person_identity.v1")
    assert x.verdict == "uncertain"


def test_distance_to_an_unknown_building_is_uncertain_unless_beyond_every_table():
    def out(d):
        fields = [f("building", "A", doc="s", kind="civil", fire_grade=2, height_m=10),
                  f("fire_separation_distance", d, doc="s", between=["A", "无名建筑"])]
        return [x.verdict for x in checks.run(build(fields)).findings if x.category == "standard.fire_separation"]

    assert out(20.0) == ["uncertain"]
    assert out(60.0) == []


def test_enterprise_type_read_as_a_name_is_not_a_conflict():
    fields = [f("company_name", "太原宏盛建筑工程有限公司", role="applicant", doc="bl"),
              f("company_name", "其他有限责任公司", role="applicant", doc="bl"),
              f("company_name", "太原宏盛建筑工程有限公司", role="applicant", doc="af")]
    view = build(fields, docs={"bl": "business_licence", "af": "application_form"}, company_name=None)
    assert _by_rule(view, "consistency.company_identity.v1") == []


def test_two_spellings_inside_one_document_only_are_uncertain():
    fields = [f("company_name", "太原宏盛建筑工程有限公司", role="applicant", doc="bl"),
              f("company_name", "太原宏昌建筑工程有限公司", role="applicant", doc="bl")]
    (x,) = _by_rule(build(fields, docs={"bl": "business_licence"}, company_name=None), "consistency.company_identity.v1")
    assert x.verdict == "uncertain"


def test_a_name_read_only_in_part_is_uncertain():
    fields = [f("company_name", "江苏华建安装工程有限公司", role="applicant", doc="af"),
              f("company_name", "工程有限公司", role="applicant", doc="bl")]
    (x,) = _by_rule(build(fields, docs={"af": "application_form", "bl": "business_licence"}, company_name=None),
                    "consistency.company_identity.v1")
    assert x.verdict == "uncertain" and "部分" in x.reason


def test_distances_measured_on_the_drawing_are_left_to_the_drawing_rules():
    fields = [
        f("building", "A", doc="s", kind="civil", use_class="民用", fire_grade=2, height_m=10, high_rise=False),
        f("building", "B", doc="s", kind="civil", use_class="民用", fire_grade=2, height_m=10, high_rise=False),
        f("fire_separation_distance", 3.0, doc="s", between=["A", "B"], origin="drawing", qualifier="measured"),
    ]
    out = [x for x in checks.run(build(fields, docs={"s": "site_plan"})).findings if x.category == "standard.fire_separation"]
    assert out and {x.rule_id for x in out} <= {"drawings.separation.v3"}


@pytest.mark.parametrize("number", ["（鲁）JZ安许证字[2023]087974", "（鄂）JZ安许证字【2005】000115", "（闽）FM安许证字（2024）E01号",
                                    "(鄂)WH安许证字[2025]002345号", "（京）JZ安许证字〔2019〕第123456号", "（粤）JZ安许证字〔2014〕010385延"])
def test_real_licence_number_shapes_pass(number):
    view = build([f("safety_licence_no", number)], industry=None)
    assert _by_rule(view, "aqscxkz.licence_no.v2") == []
