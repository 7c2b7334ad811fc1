"""The rule engine: decorator, registry and entry points, rulesets, runner."""

from __future__ import annotations

import importlib
import textwrap
from datetime import date
from pathlib import Path

import pytest

import checks
from checks import (
    Citation,
    Fact,
    RuleContext,
    Ruleset,
    RulesetError,
    load_registry,
    load_ruleset,
    rule,
)
from checks.catalogue import DuplicateRuleError, Registry
from checks.engine import RuleDefinitionError, RuleSpec
from checks.testing import build, f
from checks.view import ApplicationInfo, ApplicationView
from extractor.model import Document, DocumentKind, Field, Source

CITE = Citation(standard="GB 0", edition="2020", clause="1.1")
FACT = [Fact(statement="测试", source="test", confidence="H")]


def make_rule(rule_id: str = "test.minimum.v1", *, raises: bool = False, category: str = "plan.missing_measure"):
    @rule(rule_id, category="plan.missing_measure", requires=["guard_rail_height"], citation=CITE,
          severity="medium", facts=FACT)
    def minimum(view: ApplicationView, ctx: RuleContext):
        """测试规则。"""
        if raises:
            raise ZeroDivisionError("boom")
        for fld in view.fields_of("guard_rail_height"):
            if float(fld.value) < 1.2:
                yield ctx.fail("栏杆过低", suggestion="加高", evidence=[fld], category=category)

    return minimum


# -- decorator -------------------------------------------------------------------------

def test_decorator_returns_spec_and_registers_nothing():
    spec = make_rule()
    assert isinstance(spec, RuleSpec)
    assert spec.id == "test.minimum.v1" and spec.version == 1
    assert spec.doc == "测试规则。"
    # Decorating did not add the rule anywhere: a fresh built-in registry does not know it.
    assert "test.minimum.v1" not in load_registry(entry_points_group=None)


@pytest.mark.parametrize("bad_id", ["minimum", "test.minimum", "Test.min.v1", "test.minimum.v", "test..x.v1"])
def test_decorator_rejects_unversioned_or_unnamespaced_ids(bad_id):
    with pytest.raises(RuleDefinitionError):
        make_rule(bad_id)


def test_decorator_requires_facts_and_param_defaults():
    from pydantic import BaseModel

    with pytest.raises(RuleDefinitionError):
        rule("a.b.v1", category="plan.missing_measure", requires=[], citation=CITE, severity="low", facts=[])

    class NoDefault(BaseModel):
        x: float

    with pytest.raises(RuleDefinitionError):
        rule("a.b.v1", category="plan.missing_measure", requires=[], citation=CITE, severity="low", facts=FACT,
             params=NoDefault)


def test_registry_rejects_duplicate_ids():
    with pytest.raises(DuplicateRuleError):
        Registry([make_rule(), make_rule()])


# -- entry points ------------------------------------------------------------------------

def _install_pack(tmp_path: Path, monkeypatch, pkg: str, body: str, ep_value: str | None = None) -> None:
    """A real (temporary) distribution: a package plus a dist-info with entry_points.txt."""
    (tmp_path / pkg).mkdir()
    (tmp_path / pkg / "__init__.py").write_text(textwrap.dedent(body), encoding="utf-8")
    dist = tmp_path / f"{pkg}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {pkg}\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(f"[shencha.rules]\n{pkg} = {ep_value or pkg + ':RULES'}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()


PACK_BODY = '''
    from checks import Citation, Fact, rule

    @rule("outside.rail.v2", category="plan.missing_measure", requires=["guard_rail_height"],
          citation=Citation(standard="JGJ 80", edition="2016", clause="4.1"), severity="low",
          facts=[Fact(statement="x", source="y", confidence="M")])
    def rail(view, ctx):
        """外部规则。"""
        for fld in view.fields_of("guard_rail_height"):
            yield ctx.fail("外部规则发现", suggestion="改", evidence=[fld])

    RULES = [rail]
'''


def test_entry_point_pack_is_loaded(tmp_path, monkeypatch):
    _install_pack(tmp_path, monkeypatch, "shencha_pack_ok", PACK_BODY)
    reg = load_registry()
    assert "outside.rail.v2" in reg
    assert "entry point" in reg.origins["outside.rail.v2"]
    assert "gb50016.civil_separation.v2" in reg  # built-ins still there
    rs = Ruleset.all_rules(reg)
    result = checks.run(build([f("guard_rail_height", 1.0)]), rs)
    assert [x.rule_id for x in result.findings if x.rule_id == "outside.rail.v2"] == ["outside.rail.v2"]


def test_installed_pack_runs_in_the_default_review_and_can_be_pinned_out(tmp_path, monkeypatch):
    _install_pack(tmp_path, monkeypatch, "shencha_pack_default", PACK_BODY.replace("outside.rail.v2", "outside.rail2.v1"))
    view = build([f("guard_rail_height", 1.0)])
    # No ruleset given: the bundled default has "packs: all", so installing the pack is enough.
    assert "outside.rail2.v1" in {x.rule_id for x in checks.run(view).findings}
    pinned = _write(tmp_path, """
        name: pinned
        version: "1"
        extends: default
        packs: none
        """)
    rs = load_ruleset(pinned)
    assert "outside.rail2.v1" not in rs.entries and "gb50016.civil_separation.v2" in rs.entries
    # $SHENCHA_RULESET names the ruleset a review uses when none is passed.
    monkeypatch.setenv("SHENCHA_RULESET", str(pinned))
    assert "outside.rail2.v1" not in {x.rule_id for x in checks.run(view).findings}
    assert checks.run(view).rules_version.startswith("pinned@1+")


def test_broken_pack_is_an_error_entry_and_others_run(tmp_path, monkeypatch):
    _install_pack(tmp_path, monkeypatch, "shencha_pack_broken", "raise RuntimeError('坏包')\n")
    reg = load_registry()
    assert [e.pack.split(" ")[0] for e in reg.load_errors] == ["shencha_pack_broken"]
    result = checks.run(build([f("resident_id", "36042619910102009X")]), Ruleset.all_rules(reg))
    assert any(e.code == "pack_load_failed" and "坏包" in e.message for e in result.errors)
    assert any(x.rule_id == "gb11643.resident_id.v2" for x in result.findings)


# -- rulesets ------------------------------------------------------------------------------

def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "rs.yaml"
    p.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return p


def test_default_ruleset_loads_and_selects_every_builtin():
    rs = load_ruleset()
    from checks.builtin import BUILTIN_RULES

    assert set(rs.entries) == {s.id for s in BUILTIN_RULES}
    assert rs.rules_version.startswith("default@")


@pytest.mark.parametrize(
    "body, line, needle",
    [
        ("""
         name: x
         version: "1"
         rules:
           gb50016.civil_separation.v2: {}
           gb50016.civil_separaton.v1: {}
         """, 5, "未知的规则编号"),
        ("""
         name: x
         version: "1"
         rules:
           gb50016.civil_separation.v2:
             params:
               notes_unstated: uncertain
               fire_wall_default: true
         """, 7, "没有参数 fire_wall_default"),
        ("""
         name: x
         version: "1"
         rules:
           jgj80.fall_protection.v1:
             params:
               guard_rail_top_m: "1.2米"
         """, 6, "参数类型错误"),
        ("""
         name: x
         version: "1"
         rules:
           jgj80.fall_protection.v1:
             severity: critical
         """, 5, "severity"),
        ("""
         name: x
         version: "1"
         expressions: "a > b"
         """, 3, "expressions"),
        ("""
         name: x
         version: "1"
         rules:
           jgj80.fall_protection.v1:
             industries: [construction, shipping]
         """, 5, "未知的行业"),
        ("""
         name: x
         version: "1"
         rules:
           jgj80.fall_protection.v1: {}
           jgj80.fall_protection.v1: {}
         """, 5, "重复的键"),
    ],
)
def test_ruleset_errors_name_file_and_line(tmp_path, body, line, needle):
    path = _write(tmp_path, body)
    with pytest.raises(RulesetError) as err:
        load_ruleset(path)
    assert err.value.path == str(path.resolve())
    assert err.value.line == line, str(err.value)
    assert needle in str(err.value)
    assert f"rs.yaml:{line}:" in str(err.value)


def test_ruleset_extends_overrides_and_merges_params(tmp_path):
    path = _write(tmp_path, """
        name: province
        version: "2"
        extends: default
        rules:
          jgj80.fall_protection.v1:
            severity: low
            params: {toe_board_min_m: 0.2}
          gb11643.resident_id.v2:
            enabled: false
        """)
    rs = load_ruleset(path)
    e = rs.entries["jgj80.fall_protection.v1"]
    assert e.severity == "low"
    assert e.params.toe_board_min_m == 0.2 and e.params.guard_rail_top_m == 1.2
    assert e.industries == ("construction",)  # inherited from default.yaml
    assert not rs.entries["gb11643.resident_id.v2"].enabled
    assert rs.rules_version != load_ruleset().rules_version


def test_bare_rule_id_selects_with_defaults_and_quoted_dates_are_read(tmp_path):
    path = _write(tmp_path, """
        name: small
        version: "1"
        rules:
          gb11643.resident_id.v2:
          gb32100.uscc.v2:
            effective_from: "2020-01-01"
        """)
    rs = load_ruleset(path)
    assert set(rs.entries) == {"gb11643.resident_id.v2", "gb32100.uscc.v2"}
    assert rs.entries["gb11643.resident_id.v2"].severity == "high"
    assert rs.entries["gb32100.uscc.v2"].effective_from == date(2020, 1, 1)


def test_effective_dates_switch_rules_on_and_off(tmp_path):
    path = _write(tmp_path, """
        name: dated
        version: "1"
        rules:
          gb11643.resident_id.v2:
            effective_until: 2026-01-01
          gb32100.uscc.v2:
            effective_from: 2026-01-01
        """)
    rs = load_ruleset(path)
    fields = [f("resident_id", "36042619910102009X"), f("uscc", "91110000600037341N")]
    before = checks.run(build(fields, as_of=date(2025, 12, 31)), rs)
    after = checks.run(build(fields, as_of=date(2026, 1, 1)), rs)
    assert {x.rule_id for x in before.findings} == {"gb11643.resident_id.v2"}
    assert {x.rule_id for x in after.findings} == {"gb32100.uscc.v2"}
    assert {(s.rule_id, s.reason) for s in after.skipped} == {("gb11643.resident_id.v2", "not_effective")}


# -- runner ----------------------------------------------------------------------------------

def test_raising_rule_becomes_error_and_others_still_run():
    good, bad = make_rule("test.good.v1"), make_rule("test.bad.v1", raises=True)
    rs = Ruleset.all_rules(Registry([good, bad]))
    result = checks.run(build([f("guard_rail_height", 1.0)]), rs)
    assert [x.rule_id for x in result.findings] == ["test.good.v1"]
    assert len(result.errors) == 1
    err = result.errors[0]
    assert err.rule_id == "test.bad.v1" and err.code == "rule_raised" and "ZeroDivisionError" in err.message


def test_undeclared_category_is_a_bad_output_error():
    wrong = make_rule("test.wrong.v1", category="standard.fire_separation")
    result = checks.run(build([f("guard_rail_height", 1.0)]), Ruleset.all_rules(Registry([wrong])))
    assert result.findings == []
    assert result.errors[0].code == "bad_output"


def test_industry_filter_skips_rules_for_other_industries():
    fields = [f("scaffold_height", 60.0, doc="p")]
    rs = load_ruleset()
    construction = checks.run(build(fields, docs={"p": "scaffold_plan"}), rs)
    chemicals = checks.run(build(fields, docs={"p": "scaffold_plan"}, industry="hazardous_chemicals"), rs)
    assert any(x.rule_id == "jzb31.expert_review.v1" for x in construction.findings)
    assert not any(x.rule_id == "jzb31.expert_review.v1" for x in chemicals.findings)
    assert ("jzb31.expert_review.v1", "industry") in {(s.rule_id, s.reason) for s in chemicals.skipped}


def test_finding_ids_are_deterministic_and_evidence_sensitive():
    v1 = build([f("resident_id", "36042619910102009X")])
    a, b = checks.run(v1), checks.run(v1)
    assert [x.id for x in a.findings] == [x.id for x in b.findings]
    v2 = build([f("resident_id", "36042619910102009X", page=2)])
    ids2 = {x.id for x in checks.run(v2).findings if x.rule_id == "gb11643.resident_id.v2"}
    ids1 = {x.id for x in a.findings if x.rule_id == "gb11643.resident_id.v2"}
    assert ids1 and ids2 and ids1 != ids2


def test_findings_carry_evidence_boxes_citation_and_chinese_text():
    fld = Field(type="resident_id", value="36042619910102009X", document="roster", page=3,
                bbox=(10.0, 20.0, 200.0, 34.0), confidence=0.97, source=Source.OCR)
    result = checks.run(build([fld]))
    (x,) = [x for x in result.findings if x.rule_id == "gb11643.resident_id.v2"]
    assert x.verdict == "fail" and x.severity == "high" and x.category == "identifier.invalid"
    assert x.evidence[0].document == "roster" and x.evidence[0].page == 3 and x.evidence[0].bbox == (10.0, 20.0, 200.0, 34.0)
    assert x.citation.startswith("GB 11643-1999")
    assert "校验位" in x.message and x.suggestion.startswith("请")
    assert x.actual == "36042619910102009X"


def test_missing_inputs_never_pass_silently():
    """A scaffold plan that cannot be read: the plan rules say uncertain, not nothing."""
    view = build([f("scaffold_height", 60.0, doc="org")], docs={"org": "other", "plan": "scaffold_plan"}, errors=["plan"])
    result = checks.run(view)
    verdicts = {(x.rule_id, x.verdict) for x in result.findings}
    assert ("jgj80.fall_protection.v1", "uncertain") in verdicts
    assert ("jzb31.expert_review.v1", "uncertain") in verdicts
    assert ("jgj130.scaffold_special_plan.v2", "uncertain") in verdicts


def test_view_from_extractor_documents():
    doc = Document(id="d1", path="a.pdf", sha256="0" * 64, size=1, kind=DocumentKind.PDF, doc_type="business_licence",
                   fields=[Field(type="uscc", value="91110000600037341N", role="applicant", document="d1", page=1,
                                 bbox=(0, 0, 1, 1), source=Source.TEXT)])
    view = ApplicationView.from_documents(ApplicationInfo(as_of=date(2026, 11, 20), industry="construction"), [doc])
    assert view.documents[0].doc_type == "business_licence" and view.documents[0].pages == 0
    assert any(x.rule_id == "gb32100.uscc.v2" and x.verdict == "fail" for x in checks.run(view).findings)


def test_examples_catch_a_rule_reading_undeclared_field_types():
    from checks.testing import example, run_examples

    @rule("test.sneaky.v1", category="plan.missing_measure", requires=["guard_rail_height"], citation=CITE,
          severity="low", facts=FACT, examples=[example("pass", "无", [f("guard_rail_height", 1.5)])])
    def sneaky(view, ctx):
        """读取了未声明的字段。"""
        view.fields_of("toe_board_height")
        return []

    (res,) = run_examples(sneaky)
    assert not res.ok and res.got == "error" and "toe_board_height" in res.detail
    # Production runs are not restricted: the same rule runs without error in checks.run.
    assert checks.run(build([]), Ruleset.all_rules(Registry([sneaky]))).errors == []


def test_finding_summaries_mask_resident_ids_and_keep_the_page_words():
    # The ID's check digit is wrong, so the rule quotes it: the message must
    # not, while ``actual`` and the evidence keep what the page says.
    bad_id = "36042619910102009X"
    result = checks.run(build([f("resident_id", bad_id)]))
    [finding] = [x for x in result.findings if x.rule_id == "gb11643.resident_id.v2"]
    assert bad_id not in finding.message and "360426********009X" in finding.message
    assert bad_id not in finding.suggestion
    assert finding.actual == bad_id or bad_id in (finding.evidence[0].text or "")
