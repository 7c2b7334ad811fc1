"""``shencha rules`` (checks.cli.app): list, show, test, and new → edit → the rule runs in checks.run."""

from __future__ import annotations

import importlib
import re
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import checks
from checks.cli import app
from checks.testing import build, f

runner = CliRunner()
GUIDE = Path(__file__).resolve().parent.parent / "docs" / "rules" / "write-a-rule.md"


def test_list_shows_every_rule_with_state_and_citation():
    res = runner.invoke(app, ["list"])
    assert res.exit_code == 0, res.output
    assert "gb50016.civil_separation.v2  [启用]" in res.output
    assert "GB 50016-2014(2018年版) 表5.2.2" in res.output
    assert res.output.count("[启用]") == len(checks.load_ruleset().entries)


def test_list_json_is_machine_readable():
    import json

    res = runner.invoke(app, ["list", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    by_id = {r["id"]: r for r in data["rules"]}
    assert by_id["jgj80.fall_protection.v1"]["industries"] == ["construction"]
    assert by_id["gb50016.civil_separation.v2"]["effective_from"] == "2018-10-01"
    assert all(r["enabled"] for r in data["rules"])


def test_show_prints_citation_params_examples_and_table():
    res = runner.invoke(app, ["show", "gb50016.civil_separation.v2"])
    assert res.exit_code == 0, res.output
    for needle in ("表5.2.2", "notes_unstated", "应不通过", "应待核实", "数据表", "高层", "13", "domain_sources.md"):
        assert needle in res.output, needle


def test_show_unknown_rule_exits_1():
    res = runner.invoke(app, ["show", "no.such.v1"])
    assert res.exit_code == 1 and "未知的规则编号" in res.output


def test_test_runs_every_builtin_example():
    res = runner.invoke(app, ["test"])
    assert res.exit_code == 0, res.output
    assert "0 项失败" in res.output
    assert "[失败]" not in res.output


def test_test_one_rule():
    res = runner.invoke(app, ["test", "jgj80.fall_protection.v1"])
    assert res.exit_code == 0 and res.output.count("[通过]") == 3


def test_new_rejects_bad_id(tmp_path):
    res = runner.invoke(app, ["new", "--id", "NoVersion", "--dir", str(tmp_path)])
    assert res.exit_code == 2


def _guide_rule() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    block = text.split("<!-- guide-final-rule -->", 1)[1]
    return re.search(r"```python\n(.*?)```", block, flags=re.DOTALL).group(1)


def test_new_then_edit_then_the_rule_runs(tmp_path, monkeypatch):
    """Exactly the guide: scaffold, replace the rule with the guide's code, fix the ruleset, install, run."""
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["new", "--id", "demo.licence_validity.v1", "--dir", ".", "--category", "consistency.conflict",
                              "--field", "date", "--title", "安全生产许可证有效期应为3年"])
    assert res.exit_code == 0, res.output
    module = tmp_path / "demo_rules" / "licence_validity_v1.py"
    assert module.exists() and (tmp_path / "ruleset.yaml").exists() and (tmp_path / "docs" / "demo.licence_validity.v1.md").exists()

    # The untouched scaffold already passes its own examples.
    res = runner.invoke(app, ["test", "demo.licence_validity.v1", "--pack", "demo_rules:RULES"])
    assert res.exit_code == 0, res.output
    for name in [m for m in sys.modules if m == "demo_rules" or m.startswith("demo_rules.")]:
        monkeypatch.delitem(sys.modules, name)

    # Edit: the guide's rule, and the ruleset's parameters.
    module.write_text(_guide_rule(), encoding="utf-8")
    rs_path = tmp_path / "ruleset.yaml"
    text = rs_path.read_text(encoding="utf-8")
    rs_path.write_text(re.sub(r"params: \{minimum: [0-9.]+\}", "params: {years: 3}", text), encoding="utf-8")

    # "pip install -e .": a dist-info carrying the entry point the scaffold declared in pyproject.toml.
    project = tomllib.loads((tmp_path / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    eps = project["entry-points"]["shencha.rules"]
    dist = tmp_path / "demo_rules-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: 0.1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[shencha.rules]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()),
                                           encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()

    res = runner.invoke(app, ["test", "demo.licence_validity.v1"])  # found through the entry point now
    assert res.exit_code == 0, res.output
    assert res.output.count("[通过]") == 3

    ruleset = checks.load_ruleset(rs_path)
    assert "demo.licence_validity.v1" in ruleset.entries and "gb50016.civil_separation.v2" in ruleset.entries
    view = build([
        f("safety_licence_no", "（京）JZ安许证字〔2023〕012345", doc="lic", record=1),
        f("date", "2023-03-01", role="valid_from", doc="lic", record=1),
        f("date", "2028-02-29", role="valid_until", doc="lic", record=1),
    ], docs={"lic": "certificate"})
    result = checks.run(view, ruleset)
    mine = [x for x in result.findings if x.rule_id == "demo.licence_validity.v1"]
    assert [x.verdict for x in mine] == ["fail"]
    assert mine[0].citation == "《安全生产许可证条例》（国务院令第397号（2014年修订））第九条"
    assert not result.errors

    # What `shencha review` calls (checks.run without a ruleset) runs the installed rule too,
    # with the pack ruleset when $SHENCHA_RULESET names it.
    assert "demo.licence_validity.v1" in {x.rule_id for x in checks.run(view).findings}
    monkeypatch.setenv("SHENCHA_RULESET", str(rs_path))
    assert checks.run(view).rules_version.startswith("demo_rules@1+")


def test_ruleset_with_scaffold_params_after_edit_fails_with_line(tmp_path, monkeypatch):
    """Forgetting step 3 of the guide gives the file:line error the guide shows."""
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["new", "--id", "demo2.licence_validity.v1", "--dir", ".", "--category", "consistency.conflict"])
    assert res.exit_code == 0, res.output
    code = _guide_rule().replace("demo.licence_validity.v1", "demo2.licence_validity.v1")
    (tmp_path / "demo2_rules" / "licence_validity_v1.py").write_text(code, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    mod = importlib.import_module("demo2_rules")
    try:
        reg = checks.load_registry(extra=mod.RULES)
        with pytest.raises(checks.RulesetError) as err:
            checks.load_ruleset(tmp_path / "ruleset.yaml", reg)
        assert err.value.line == 8 and "没有参数 minimum" in str(err.value)
    finally:
        for name in [m for m in sys.modules if m.startswith("demo2_rules")]:
            del sys.modules[name]


def test_test_checks_a_ruleset_file_with_line_numbers(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text('name: x\nversion: "1"\nrules:\n  jgj80.fall_protection.v1:\n    params: {toe_board_min_m: "18厘米"}\n',
                   encoding="utf-8")
    res = runner.invoke(app, ["test", "jgj80.fall_protection.v1", "--ruleset", str(bad)])
    assert res.exit_code == 1 and "bad.yaml:5" in res.output
    good = tmp_path / "good.yaml"
    good.write_text('name: x\nversion: "1"\nextends: default\n', encoding="utf-8")
    res = runner.invoke(app, ["test", "jgj80.fall_protection.v1", "--ruleset", str(good)])
    assert res.exit_code == 0 and "[通过] 规则集" in res.output
