"""Issue 19 (corrections from the verification of the domain facts) and issue 12 class 7
(table notes nobody claimed): the behaviours the rule examples do not spell out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import checks
from checks.builtin import BUILTIN_RULES
from checks.testing import build, f
from extractor import identifiers as ids

ROOT = Path(__file__).resolve().parent.parent


def _by_rule(view, rule_id):
    return [x for x in checks.run(view).findings if x.rule_id == rule_id]


def _sep(view):
    return [x for x in checks.run(view).findings if x.category == "standard.fire_separation"]


# -- licence numbers: unfamiliar shapes warn, only a broken JZ number is invalid -------------------

UNFAMILIAR = [
    "（闽）FM安许证字（2024）E01号",   # domain_sources.md §2.1 example: alphanumeric sequence
    "（湘）YH安许证字〔湘〕0012号",     # the bracket holds no year (§7.1)
    "（晋）MK安许证字〔2023〕A-0012号",
    "（黔）MB安许证字〔2021〕01",
    "（川）WH安许证字2023000123",      # brackets lost
    "(闽)FM2024E01",                  # no 安许证字 at all, non-JZ: cannot be sure
    "（京）AB安许证字〔2022〕1234",     # unknown industry code
    "（晋）FM安许证字〔1998〕0012",     # a year before 2004, but FM's numbering is unverified
]


@pytest.mark.parametrize("number", UNFAMILIAR)
def test_unfamiliar_licence_numbers_are_never_an_identifier_fail(number):
    out = _by_rule(build([f("safety_licence_no", number)], industry=None), "aqscxkz.licence_no.v2")
    assert all(x.verdict != "fail" for x in out), [(x.verdict, x.message) for x in out]
    for x in out:
        assert x.reason and x.evidence and x.citation


def test_licence_checker_is_the_one_home_and_warns_rather_than_rejects():
    e01 = ids.check_safety_licence_no("（闽）FM安许证字（2024）E01号")
    assert e01.valid and e01.value == "（闽）FM安许证字〔2024〕E01" and e01.details["industry"] == "non_coal_mine"
    odd = ids.check_safety_licence_no("（湘）YH安许证字〔湘〕0012号")
    assert odd.valid and odd.warnings == ["format_unverified"] and odd.value == "（湘）YH安许证字〔湘〕0012"
    assert ids.check_safety_licence_no("（京）AB安许证字〔2022〕1234").warnings == ["industry_code"]
    # JZ is well attested: a JZ number without the form, or before 2004, stays invalid.
    assert ids.check_safety_licence_no("(京)JZ2022123456").reason == "format"
    assert ids.check_safety_licence_no("（京）JZ安许证字〔1999〕000123").reason == "year"
    # The rule keeps no regex of its own.
    import checks.rules.identifiers as rules_ids

    assert not hasattr(rules_ids, "LICENCE_RE")


def test_broken_jz_number_still_fails_with_evidence_and_citation():
    (x,) = _by_rule(build([f("safety_licence_no", "(京)JZ2022123456")]), "aqscxkz.licence_no.v2")
    assert x.verdict == "fail" and x.evidence and "安监管司办字" in x.citation


@pytest.mark.parametrize("line", ["许可证编号：（闽）FM安许证字（2024）E01号",
                                  "本企业持有（闽）FM安许证字（2024）E01号安全生产许可证。",
                                  "安全生产许可证编号 （湘）YH安许证字〔湘〕0012号"])
def test_extractor_still_reads_unfamiliar_licence_numbers(line):
    from extractor.fields import extract_fields
    from extractor.fields.testing import DocBuilder

    doc = DocBuilder().page().line("安全生产许可证").line(line).build()
    found = [x for x in extract_fields(doc, use_ner=False).fields if x.type == "safety_licence_no"]
    assert len(found) == 1, [(x.type, x.value) for x in extract_fields(doc, use_ner=False).fields]
    assert found[0].value in ("（闽）FM安许证字〔2024〕E01", "（湘）YH安许证字〔湘〕0012")


# -- USCC registration-authority codes ----------------------------------------------------------------

@pytest.mark.parametrize("code", ["61110000MA01AB23XC", "62110000MA01AB23X9", "71110000MA01AB23XB",
                                  "72110000MA01AB23X8", "81110000MA01AB23XA"])
def test_uscc_standard_authority_codes_are_not_warned_about(code):
    r = ids.check_uscc(code)
    assert r.valid and r.warnings == []
    assert _by_rule(build([f("uscc", code, role="other")]), "gb32100.uscc.v2") == []


@pytest.mark.parametrize("code", ["54110000MA01AB23X4", "55110000MA01AB23X1", "G1110000MA01AB23X2", "J1110000MA01AB23X0"])
def test_uscc_unverified_authority_codes_warn_never_fail(code):
    (x,) = _by_rule(build([f("uscc", code, role="other")]), "gb32100.uscc.v2")
    assert x.verdict == "uncertain" and x.severity == "low" and "GB 32100" in x.reason


# -- 主要负责人 certificates: the number is not the holder's ID -----------------------------------------

def test_principal_certificate_number_differing_from_the_id_is_no_finding():
    fields = [f("person_name", "王五", role="principal", record=1, doc="r"),
              f("resident_id", "110102199101010078", record=1, doc="r"),
              f("cert_no", "2023110100001234", cert_type="principal_assessment", record=1, doc="r")]
    out = checks.run(build(fields, docs={"r": "managers_roster"}, industry="hazardous_chemicals")).findings
    assert not [x for x in out if x.category in ("identifier.invalid", "consistency.conflict")], \
        [(x.rule_id, x.message) for x in out]


def test_no_rule_builds_a_principal_certificate_number_from_an_id():
    """Only the special-operation number embeds the ID (T + ID); nothing in checks/ derives one from the other."""
    src = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "checks").rglob("*.py"))
    assert "principal_assessment" not in src or not re.search(r"principal_assessment.*resident_id|resident_id.*principal_assessment", src)


# -- certificate validity: expiry from the certificate's own dates, never computed from issue dates ---

def test_a_renewed_certificate_with_an_old_issue_date_is_not_expired():
    # 建筑施工特种作业: 2 years, +2 after review; 应急 special operations: 6 years, review every 3 (§7.1).
    # An old first-issue date with a later valid_until is a renewal, not an expiry.
    fields = [f("cert_no", "晋A012008000001", cert_type="construction_special_operation", record=1, doc="c"),
              f("date", "2008-05-01", role="issued", record=1, doc="c"),
              f("date", "2027-04-30", role="valid_until", record=1, doc="c"),
              f("cert_no", "T360426199101010071", cert_type="special_operation", record=2, doc="c"),
              f("date", "2016-03-01", role="issued", record=2, doc="c"),
              f("date", "2028-02-29", role="valid_until", record=2, doc="c")]
    out = [x for x in checks.run(build(fields, docs={"c": "certificate"})).findings
           if x.category.startswith(("consistency.", "registry.", "identifier."))]
    assert not [x for x in out if x.verdict == "fail"], [(x.rule_id, x.message) for x in out]
    # And an issue date after valid_until is still caught (the dates are compared, not computed).
    bad = [f("cert_no", "晋A012008000001", cert_type="construction_special_operation", record=1, doc="c"),
           f("date", "2024-05-01", role="issued", record=1, doc="c"),
           f("date", "2023-04-30", role="valid_until", record=1, doc="c")]
    assert [x.verdict for x in _by_rule(build(bad, docs={"c": "certificate"}), "consistency.cert_dates.v1")] == ["fail"]


# -- doubtful JGJ 80 / GB 55037 numbers are not hard-coded ---------------------------------------------

def test_doubtful_platform_ratio_and_handrail_are_not_rule_thresholds():
    """domain_sources.md §7.1: the JGJ 80 mobile platform ratio (3:1 vs 2:1) and GB 55037 7.1.4 are
    doubtful; no rule may fail on them (if one is added, it must be uncertain with the reason)."""
    for spec in BUILTIN_RULES:
        text = " ".join([spec.citation.clause, spec.doc or ""] + [x.statement for x in spec.facts]
                        + [e.description for e in spec.examples])
        assert not re.search(r"高宽比|7\.1\.4|中间扶手|移动式操作平台", text), spec.id


# -- fire separation: 丁/戊, the [L] cell, notes claimed or not ----------------------------------------

def _pair(dist_kw=None, a_kw=None, b_kw=None, d=8.0):
    a = dict(kind="factory", use_class="丁", fire_grade=2, height_m=10) | (a_kw or {})
    b = dict(kind="civil", use_class="民用", fire_grade=2, height_m=12) | (b_kw or {})
    return build([f("building", "A", doc="s", **a), f("building", "B", doc="s", **b),
                  f("fire_separation_distance", d, doc="s", between=["A", "B"], **(dist_kw or {}))],
                 docs={"s": "site_plan"})


def test_d_factory_fails_and_e_factory_passes_at_8_m_from_a_grade_2_dormitory():
    (x,) = _sep(_pair())
    assert x.rule_id == "gb50016.factory_separation.v2" and x.verdict == "fail" and x.expected == "≥ 10 m"
    assert "表3.4.1注" in x.suggestion and x.evidence and "表3.4.1" in x.citation
    assert _sep(_pair(a_kw={"use_class": "戊"})) == []
    (y,) = _sep(_pair(a_kw={"use_class": "戊"}, d=5.0))  # 戊 via Table 5.2.2: ≥ 6 m
    assert y.verdict == "fail" and y.expected == "≥ 6 m" and "表5.2.2" in y.message


def test_high_rise_e_factory_keeps_table_3_4_1():
    (x,) = _sep(_pair(a_kw={"use_class": "戊", "height_m": 30, "storeys": 8}, d=12.0))
    assert x.verdict == "fail" and x.expected == "≥ 13 m"


@pytest.mark.parametrize("claim", [
    {"dist_kw": {"text": "A与B相邻外墙为防火墙"}},
    {"a_kw": {"note": "东侧外墙开口设甲级防火门窗"}},
    {"a_kw": {"fire_wall_marked": True}},
    {"b_kw": {"fire_wall": True}},
    {"dist_kw": {"notes_apply": True}},
])
def test_a_claimed_note_makes_the_shortfall_uncertain_with_the_note_as_reason(claim):
    (x,) = _sep(_pair(d=6.0, **claim))
    assert x.verdict == "uncertain" and "表3.4.1注" in x.reason and x.evidence


def test_a_note_ruled_out_beats_a_word_in_the_text():
    (x,) = _sep(_pair(d=6.0, dist_kw={"text": "相邻外墙为防火墙", "fire_wall": False, "openings_protected": False}))
    assert x.verdict == "fail"


def test_claimed_note_below_its_own_floor_still_fails():
    (x,) = _sep(_pair(d=3.0, a_kw={"fire_grade": 3}, dist_kw={"text": "设防火墙"}))  # 三级: no fire-wall note vs civil
    assert x.verdict == "fail"
    civil = build([f("building", "A", doc="s", kind="civil", fire_grade=2, height_m=10),
                   f("building", "B", doc="s", kind="civil", fire_grade=2, height_m=10),
                   f("fire_separation_distance", 3.0, doc="s", between=["A", "B"], openings_protected=True)],
                  docs={"s": "site_plan"})
    (y,) = _sep(civil)  # 注4/注5 allow 3.5 m at the least
    assert y.verdict == "fail"


def test_unclaimed_civil_shortfall_names_note_2_in_the_suggestion():
    view = build([f("building", "A", doc="s", kind="civil", fire_grade=2, height_m=10),
                  f("building", "B", doc="s", kind="civil", fire_grade=2, height_m=10),
                  f("fire_separation_distance", 5.0, doc="s", between=["A", "B"])], docs={"s": "site_plan"})
    (x,) = _sep(view)
    assert x.verdict == "fail" and "表5.2.2注2" in x.suggestion and "表5.2.2注1" in x.suggestion
    assert "未主张" in x.reason


def test_the_old_reading_is_a_parameter():
    from checks import load_ruleset

    rs = load_ruleset()
    entry = rs.entries["gb50016.civil_separation.v2"]
    rs.entries["gb50016.civil_separation.v2"] = type(entry)(
        spec=entry.spec, params=entry.spec.params(notes_unstated="uncertain"), severity=entry.severity,
        industries=entry.industries)
    view = build([f("building", "A", doc="s", kind="civil", fire_grade=2, height_m=10),
                  f("building", "B", doc="s", kind="civil", fire_grade=2, height_m=10),
                  f("fire_separation_distance", 5.0, doc="s", between=["A", "B"])], docs={"s": "site_plan"})
    out = [x for x in checks.run(view, rs).findings if x.rule_id == "gb50016.civil_separation.v2"]
    assert [x.verdict for x in out] == ["uncertain"]


def test_d_warehouse_uses_the_stricter_value_and_says_the_cell_is_low_confidence():
    def view(cls, d):
        return build([f("building", "W", doc="s", kind="warehouse", use_class=cls, fire_grade=2, height_m=8),
                      f("building", "C", doc="s", kind="civil", use_class="民用", fire_grade=2, height_m=6),
                      f("fire_separation_distance", d, doc="s", between=["W", "C"])], docs={"s": "site_plan"})

    (x,) = _sep(view("丁", 8.0))
    assert x.rule_id == "gb50016.warehouse_separation.v2" and x.verdict == "fail" and x.expected == "≥ 10 m"
    assert "[L]" in x.reason
    assert _sep(view("丁", 10.0)) == []
    assert _sep(view("戊", 8.0)) == []


def test_drawing_rule_applies_the_e_factory_note_too():
    def view(cls):
        return build([
            f("building", "F", doc="p", origin="drawing", kind="factory", use_class=cls, fire_grade=2, high_rise=False),
            f("building", "C", doc="p", origin="drawing", kind="civil", use_class="民用", fire_grade=2, high_rise=False),
            f("drawing_scale", 1.0, doc="p", origin="drawing", method="insunits"),
            f("fire_separation_distance", 8.0, doc="p", origin="drawing", qualifier="measured", between=["F", "C"]),
        ], docs={"p": "site_plan"})

    assert [x.verdict for x in _sep(view("戊"))] == []
    assert [x.verdict for x in _sep(view("丁"))] == ["fail"]
