"""The catalogue's own discipline: every rule documented, cited, exemplified; a snapshot of ids.

The snapshot (docs/rules/catalogue.json) is regenerated only on purpose:
``SHENCHA_UPDATE_GOLDEN=1 pytest tests/test_rules_catalogue.py``. A missing
golden file fails; it is never written silently.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from checks import load_registry, load_ruleset
from checks.builtin import BUILTIN_RULES
from checks.engine import CATEGORY_RE, CONTRACT_CATEGORIES
from checks.tables import load_table
from tests.conftest import shared_file

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "rules"
GOLDEN = DOCS / "catalogue.json"

IDS = [s.id for s in BUILTIN_RULES]


def _docs_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")))


@pytest.mark.parametrize("spec", BUILTIN_RULES, ids=IDS)
def test_rule_has_citation_docstring_facts_and_examples_of_each_outcome(spec):
    assert spec.citation.standard and spec.citation.edition and spec.citation.clause, "citation incomplete"
    assert spec.doc and re.search(r"[\u4e00-\u9fff]", spec.doc), "docstring missing or not in Chinese"
    assert spec.facts and all(f.source and f.confidence in "HML" for f in spec.facts)
    outcomes = {ex.outcome for ex in spec.examples}
    assert outcomes >= {"fail", "pass", "uncertain"}, f"missing examples: {sorted({'fail', 'pass', 'uncertain'} - outcomes)}"
    for c in spec.categories:
        assert CATEGORY_RE.match(c)
    assert all(c in CONTRACT_CATEGORIES for c in spec.categories), "built-in rules stay within the contract's categories"
    for p, fi in spec.params.model_fields.items():
        assert fi.description, f"parameter {p} has no description"


@pytest.mark.parametrize("spec", BUILTIN_RULES, ids=IDS)
def test_rule_has_a_docs_entry(spec):
    text = _docs_text()
    assert re.search(rf"^##+ `?{re.escape(spec.id)}`?\s*$", text, flags=re.MULTILINE), f"no heading for {spec.id} in docs/rules/"


def test_guide_exists_and_walks_through_rules_new():
    guide = (DOCS / "write-a-rule.md").read_text(encoding="utf-8")
    assert "shencha rules new" in guide and "shencha rules test" in guide and "checks.run" in guide


@pytest.mark.parametrize("spec", [s for s in BUILTIN_RULES if s.tables], ids=[s.id for s in BUILTIN_RULES if s.tables])
def test_tables_exist_with_source_and_confidence(spec):
    for t in spec.tables:
        if t.with_suffix(".csv").exists():
            table = load_table(t)
            assert table.meta.source and table.meta.confidence in "HML"
            assert "domain_sources.md" in table.meta.source
            assert table.rows and all(v is None or 0 < v < 200 for r in table.rows.values() for v in r.values())
        else:
            assert t.exists(), t


def test_table_5_2_2_matches_domain_sources():
    """The civil table as data equals the table in domain_sources.md §4.1 (bold markers removed)."""
    text = shared_file("domain_sources.md").read_text(encoding="utf-8")
    section = text.split("### 4.1")[1].split("Footnotes")[0]
    rows = [[c.strip().strip("*") for c in line.strip().strip("|").split("|")] for line in section.splitlines()
            if line.startswith("| ") and any(ch.isdigit() for ch in line) and "---" not in line]
    table = load_table("gb50016_5_2_2")
    keys = ["高层", "一二级", "三级", "四级"]
    assert len(rows) == 4
    for key, row in zip(keys, rows):
        assert [float(x) for x in row[1:]] == [table.get(key, k) for k in keys]


def test_default_ruleset_covers_every_builtin_and_nothing_else():
    rs = load_ruleset()
    assert sorted(rs.entries) == sorted(IDS)
    for industry in ("construction", "hazardous_chemicals", "non_coal_mine"):
        active = [e for e in rs.entries.values() if industry in e.industries]
        assert {c for e in active for c in e.spec.categories} >= {
            "identifier.invalid", "consistency.conflict", "completeness.missing_document", "completeness.missing_field",
            "standard.fire_separation", "standard.evacuation_width", "registry.not_found"}, industry
    assert "construction" in rs.entries["jgj130.scaffold_special_plan.v2"].industries
    for rid in ("jgj130.scaffold_special_plan.v2", "jgj80.fall_protection.v1", "jzb31.expert_review.v1"):
        assert rs.entries[rid].industries == ("construction",)


def _catalogue() -> list[dict]:
    return [{"id": s.id, "version": s.version, "categories": list(s.categories)}
            for s in load_registry(entry_points_group=None)]


def test_catalogue_snapshot():
    current = _catalogue()
    if os.environ.get("SHENCHA_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(current, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert GOLDEN.exists(), "golden catalogue missing: run with SHENCHA_UPDATE_GOLDEN=1 to create it on purpose"
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert current == golden, ("the rule catalogue changed; a changed rule needs a new version (.vN+1). "
                               "If intended, regenerate with SHENCHA_UPDATE_GOLDEN=1")


def _md_rows(section_start: str, section_end: str) -> list[list[str]]:
    text = shared_file("domain_sources.md").read_text(encoding="utf-8")
    section = text.split(section_start, 1)[1].split(section_end, 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| ") or "---" in line:
            continue
        cells = [c.strip().replace("*", "") for c in line.strip().strip("|").split("|")]
        if all(re.fullmatch(r"\d+(\.\d+)?", c) for c in cells[1:]) and len(cells) > 2:
            rows.append(cells)
    return rows


@pytest.mark.parametrize("table, start, end", [
    ("gb50016_5_2_2", "### 4.1 Table 5.2.2", "Footnotes and related clauses"),
    ("gb50016_3_4_1", "### 4.2 Table 3.4.1", "Outdoor transformer"),
    ("gb50016_3_5_2", "### 4.4 Table 3.5.2", "Notes [M]"),
])
def test_factory_and_warehouse_tables_match_domain_sources(table, start, end):
    """Every cell, row by row in the same order as the source's markdown table."""
    md = _md_rows(start, end)
    t = load_table(table)
    assert len(md) == len(t.rows)
    for cells, (key, row) in zip(md, t.rows.items()):
        assert [float(c) for c in cells[1:]] == [row[c] for c in t.columns], key


CIVIL_COLS = ["民用/单多层/一二级", "民用/单多层/三级", "民用/单多层/四级"]


def test_table_3_4_1_d_e_rows_against_civil_buildings_follow_the_correction():
    """§4.2 "Corrected 2026-12-06": 丁戊 rows vs single/multi-storey civil buildings are
    10/12/14, 12/14/16, 14/16/18 m (A + B + C), not the Table 5.2.2 values."""
    text = shared_file("domain_sources.md").read_text(encoding="utf-8")
    section = text.split("### 4.2 Table 3.4.1", 1)[1].split("### 4.3", 1)[0]
    m = re.search(r"Corrected 2026-12-06.*?are (\d+)/(\d+)/(\d+), (\d+)/(\d+)/(\d+) and (\d+)/(\d+)/(\d+) m", section)
    assert m, "the correction paragraph of §4.2 changed its wording: re-read it and update this test"
    corrected = [float(x) for x in m.groups()]
    t = load_table("gb50016_3_4_1")
    rows = ["丁戊/单多层/一二级", "丁戊/单多层/三级", "丁戊/单多层/四级"]
    assert [t.get(r, c) for r in rows for c in CIVIL_COLS] == corrected
    # The same cells follow S = A + B + C (A = 10, +2 for 三级, +4 for 四级 on each side).
    extra = {"一二级": 0, "三级": 2, "四级": 4}
    for r in rows:
        for c in CIVIL_COLS:
            assert t.get(r, c) == 10 + extra[r.rsplit("/", 1)[1]] + extra[c.rsplit("/", 1)[1]], (r, c)
    # Every 丁戊 cell, single/multi-storey and high-rise, matches the markdown table row.
    md = {cells[0]: [float(x) for x in cells[1:]] for cells in _md_rows("### 4.2 Table 3.4.1", "Outdoor transformer")}
    d_e = {k: v for k, v in md.items() if k.startswith("丁戊类")}
    assert len(d_e) == 4
    for (label, vals), key in zip(d_e.items(), [k for k in t.rows if k.startswith("丁戊")]):
        assert vals == [t.get(key, c) for c in t.columns], (label, key)
    # And none of the single/multi-storey civil cells is the Table 5.2.2 value (the old error).
    civil = load_table("gb50016_5_2_2")
    for r in rows:
        g = r.rsplit("/", 1)[1]
        assert [t.get(r, c) for c in CIVIL_COLS] != [civil.get(g, k) for k in ("一二级", "三级", "四级")], r


@pytest.mark.parametrize("cls, grade_f, grade_c", [(c, gf, gc) for c in ("丁", "戊") for gf in (2, 3, 4) for gc in (2, 3, 4)])
def test_factory_rule_uses_3_4_1_for_d_and_5_2_2_for_e_against_civil_buildings(cls, grade_f, grade_c):
    """The rule's minimum for a single/multi-storey factory vs a single/multi-storey civil building:
    丁 from Table 3.4.1's 丁戊 row, 戊 from Table 5.2.2 (the table's note); both tables as in §4.1/§4.2."""
    import checks
    from checks.testing import build, f

    gk = {2: "一二级", 3: "三级", 4: "四级"}
    if cls == "丁":
        minimum = load_table("gb50016_3_4_1").get(f"丁戊/单多层/{gk[grade_f]}", f"民用/单多层/{gk[grade_c]}")
    else:
        minimum = load_table("gb50016_5_2_2").get(gk[grade_f], gk[grade_c])
    fields = [f("building", "F", doc="s", kind="factory", use_class=cls, fire_grade=grade_f, height_m=10),
              f("building", "C", doc="s", kind="civil", use_class="民用", fire_grade=grade_c, height_m=12),
              f("fire_separation_distance", minimum - 0.5, doc="s", between=["F", "C"], notes_apply=False)]
    out = [x for x in checks.run(build(fields, docs={"s": "site_plan"})).findings if x.category == "standard.fire_separation"]
    assert [(x.rule_id, x.verdict, x.expected) for x in out] == [
        ("gb50016.factory_separation.v2", "fail", f"≥ {minimum:g} m")]


def test_evacuation_widths_match_domain_sources():
    text = shared_file("domain_sources.md").read_text(encoding="utf-8")
    t = load_table("gb50016_evacuation_widths")
    hr = _md_rows("**Table 5.5.18", "**Clause 5.5.19")
    assert [float(x) for x in hr[0][1:]] == [t.get("高层医疗建筑", c) for c in ("exit", "corridor_single", "corridor_double", "stair")]
    assert [float(x) for x in hr[1][1:]] == [t.get("高层其他公共建筑", c) for c in ("exit", "corridor_single", "corridor_double", "stair")]
    assert "doors and exits ≥ **0.90 m**; corridors and stairs ≥ **1.10 m**" in text
    assert (t.get("公共建筑", "door"), t.get("公共建筑", "corridor_single"), t.get("公共建筑", "stair")) == (0.9, 1.1, 1.1)
    assert "stairs **≥ 1.10 m**, corridors **≥ 1.40 m**, doors **≥ 0.90 m**" in text and "**≥ 1.20 m**" in text
    assert (t.get("厂房", "stair"), t.get("厂房", "corridor_single"), t.get("厂房", "door"), t.get("厂房", "exit")) == (1.1, 1.4, 0.9, 1.2)
