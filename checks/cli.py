"""``shencha rules``: the rule catalogue and the rule author's tools.

Mounted by the main CLI as a sub-app (``app``). Every user-facing text is
Simplified Chinese; exit code 1 when ``test`` finds a failing example or a
command cannot do its work, 2 for usage errors (Typer's own).
"""

from __future__ import annotations

import importlib
import json
import keyword
import os
import re
import sys
import textwrap
from pathlib import Path

import typer
import yaml

from checks.catalogue import Registry, load_registry
from checks.engine import RULE_ID_RE, RuleSpec
from checks.ruleset import RulesetError, load_ruleset
from checks.tables import load_table

app = typer.Typer(help="规则目录与规则编写工具：列出、查看、测试、新建审查规则。", no_args_is_help=True,
                  add_completion=False)

PACK_HELP = "额外加载未安装的规则包，格式“模块:属性”（如 myrules:RULES），可多次使用；从当前目录导入"
OUTCOME_CN = {"fail": "应不通过", "pass": "应通过", "uncertain": "应待核实", "error": "运行出错"}
SEVERITY_CN = {"high": "高", "medium": "中", "low": "低"}
INDUSTRY_CN = {"construction": "建筑施工", "hazardous_chemicals": "危险化学品", "non_coal_mine": "非煤矿山",
               "coal_mine": "煤矿", "fireworks": "烟花爆竹", "civil_explosives": "民用爆炸物品"}


def _registry(packs: list[str] | None) -> Registry:
    extra: list[RuleSpec] = []
    if packs:
        # The current directory is on the import path only while the packs are imported.
        cwd = os.getcwd()
        added = cwd not in sys.path
        if added:
            sys.path.insert(0, cwd)
        try:
            for p in packs:
                mod, _, attr = p.partition(":")
                try:
                    obj = getattr(importlib.import_module(mod), attr or "RULES")
                except Exception as exc:
                    typer.echo(f"无法加载规则包 {p}：{type(exc).__name__}: {exc}", err=True)
                    raise typer.Exit(1) from None
                extra.extend([obj] if isinstance(obj, RuleSpec) else list(obj() if callable(obj) else obj))
        finally:
            if added and cwd in sys.path:
                sys.path.remove(cwd)
    reg = load_registry(extra=extra)
    for e in reg.load_errors:
        typer.echo(f"警告：规则包 {e.pack} 加载失败：{e.message}", err=True)
    return reg


@app.command("list")
def list_rules(
    ruleset: Path | None = typer.Option(None, "--ruleset", help="规则集文件（默认使用内置规则集）"),
    pack: list[str] | None = typer.Option(None, "--pack", help=PACK_HELP),
    fmt: str = typer.Option("text", "--format", help="输出格式：text 或 json"),
) -> None:
    """列出所有规则：编号、类别、默认严重程度、适用行业、依据、置信度，以及是否在规则集中启用。"""
    if fmt not in ("text", "json"):
        typer.echo("--format 只能是 text 或 json", err=True)
        raise typer.Exit(2)
    reg = _registry(pack)
    try:
        rs = load_ruleset(ruleset, reg)
    except RulesetError as exc:
        typer.echo(f"规则集错误：{exc}", err=True)
        raise typer.Exit(1)
    if fmt == "json":
        rows = []
        for spec in reg:
            entry = rs.entries.get(spec.id)
            rows.append({
                "id": spec.id, "version": spec.version, "title": spec.title, "categories": list(spec.categories),
                "citation": spec.citation.text, "confidence": spec.confidence,
                "severity": entry.severity if entry else spec.severity,
                "industries": list(entry.industries if entry else spec.industries),
                "enabled": bool(entry and entry.enabled), "selected": entry is not None,
                "effective_from": str(entry.effective_from) if entry and entry.effective_from else None,
                "effective_until": str(entry.effective_until) if entry and entry.effective_until else None,
                "origin": reg.origins.get(spec.id, ""),
            })
        typer.echo(json.dumps({"ruleset": rs.rules_version, "rules": rows}, ensure_ascii=False, indent=2))
        return
    typer.echo(f"规则集：{rs.name}@{rs.version}（{rs.rules_version}），共 {len(reg)} 条规则\n")
    for spec in reg:
        entry = rs.entries.get(spec.id)
        state = "启用" if entry and entry.enabled else ("停用" if entry else "未选用")
        sev = SEVERITY_CN[entry.severity if entry else spec.severity]
        inds = entry.industries if entry else spec.industries
        typer.echo(f"{spec.id}  [{state}]  {spec.title}")
        typer.echo(f"    类别：{'、'.join(spec.categories)}  严重程度：{sev}  置信度：{spec.confidence}  "
                   f"行业：{'、'.join(INDUSTRY_CN.get(i, i) for i in inds)}")
        typer.echo(f"    依据：{spec.citation.text}   来源：{reg.origins.get(spec.id, '')}")


@app.command("show")
def show(
    rule_id: str = typer.Argument(..., help="规则编号，如 gb50016.civil_separation.v1"),
    pack: list[str] | None = typer.Option(None, "--pack", help=PACK_HELP),
) -> None:
    """查看一条规则：说明、依据、参数、事实来源与置信度、示例，以及规则背后的数据表。"""
    reg = _registry(pack)
    spec = reg.get(rule_id)
    if spec is None:
        typer.echo(f"未知的规则编号：{rule_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{spec.id}（版本 {spec.version}）")
    typer.echo(f"说明：\n{textwrap.indent(spec.doc, '  ')}")
    typer.echo(f"类别：{'、'.join(spec.categories)}")
    typer.echo(f"依据：{spec.citation.text}")
    typer.echo(f"默认严重程度：{SEVERITY_CN[spec.severity]}   适用行业：{'、'.join(INDUSTRY_CN.get(i, i) for i in spec.industries)}")
    typer.echo(f"读取的字段：{'、'.join(spec.requires) or '（仅文件清单）'}")
    typer.echo("参数：")
    fields = spec.params.model_fields
    if not fields:
        typer.echo("  （无）")
    for name, fi in fields.items():
        ann = fi.annotation.__name__ if isinstance(fi.annotation, type) else str(fi.annotation).replace("typing.", "")
        typer.echo(f"  {name}: {ann} = {fi.default!r}  {fi.description or ''}")
    typer.echo("事实与来源：")
    for fact in spec.facts:
        typer.echo(f"  [{fact.confidence}] {fact.statement}（{fact.source}）")
    typer.echo("示例：")
    for ex in spec.examples:
        typer.echo(f"  {OUTCOME_CN[ex.outcome]}：{ex.description}")
        if ex.params:
            typer.echo(f"      参数：{ex.params}")
        for fld in ex.view.fields[:8]:
            attrs = {k: v for k, v in fld.attributes.items() if k != "record"}
            role = f" 角色={fld.role}" if fld.role else ""
            typer.echo(f"      {fld.type} = {fld.value!r}{role}  [{ex.view.doc_type_of(fld)}]" + (f" {attrs}" if attrs else ""))
        if len(ex.view.fields) > 8:
            typer.echo(f"      …共 {len(ex.view.fields)} 个字段")
    for t in spec.tables:
        typer.echo(f"数据表：{t}")
        if t.with_suffix(".csv").exists():
            table = load_table(t)
            typer.echo(f"  {table.meta.title}（{table.meta.standard} {table.meta.clause}，单位 {table.meta.unit}，置信度 {table.meta.confidence}）")
            typer.echo(f"  来源：{table.meta.source}")
            typer.echo(textwrap.indent(table.as_text(), "  "))
            for n in table.meta.notes:
                typer.echo(f"  {n}")
        elif t.exists():
            typer.echo(textwrap.indent(t.read_text(encoding="utf-8"), "  "))


@app.command("test")
def test(
    rule_id: str | None = typer.Argument(None, help="只测试这一条规则（默认全部）"),
    pack: list[str] | None = typer.Option(None, "--pack", help=PACK_HELP),
    ruleset: Path | None = typer.Option(None, "--ruleset", help="同时检查这个规则集文件（未知规则、参数、类型错误给出文件和行号）"),
) -> None:
    """运行每条规则自带的示例（应不通过、应通过、应待核实），任何示例结果不符则退出码为 1。"""
    from checks.testing import run_examples

    reg = _registry(pack)
    if ruleset is not None:
        try:
            rs = load_ruleset(ruleset, reg)
        except RulesetError as exc:
            typer.echo(f"[失败] 规则集 {exc}")
            raise typer.Exit(1)
        typer.echo(f"[通过] 规则集 {ruleset}：{len(rs.entries)} 条规则（{rs.rules_version}）")
    specs = [reg.get(rule_id)] if rule_id else list(reg)
    if rule_id and specs[0] is None:
        typer.echo(f"未知的规则编号：{rule_id}", err=True)
        raise typer.Exit(1)
    total = bad = 0
    for spec in specs:
        assert spec is not None
        results = run_examples(spec)
        missing = {"fail", "pass", "uncertain"} - {ex.outcome for ex in spec.examples}
        for r in results:
            total += 1
            mark = "通过" if r.ok else "失败"
            typer.echo(f"[{mark}] {spec.id}：{r.example.description}（{OUTCOME_CN[r.example.outcome]}）")
            if not r.ok:
                bad += 1
                typer.echo(f"       实际结果：{OUTCOME_CN.get(r.got, r.got)}  {r.detail}")
        if missing:
            bad += 1
            typer.echo(f"[失败] {spec.id}：缺少以下结果的示例：{'、'.join(OUTCOME_CN[m] for m in sorted(missing))}")
    typer.echo(f"\n共 {total} 个示例，{bad} 项失败。")
    if bad:
        raise typer.Exit(1)


# -- rules new ----------------------------------------------------------------------

RULE_TEMPLATE = '''"""{title}

Generated by `shencha rules new`; edit the rule below, then run
`shencha rules test {rule_id} --pack {package}:RULES`.
"""

from __future__ import annotations

from typing import Iterator

from pydantic import BaseModel, ConfigDict, Field as PydField

from checks import ApplicationView, Citation, Fact, RuleContext, rule
from checks.model import Finding
from checks.testing import example, f


class Params(BaseModel):
    """Parameters a ruleset may set (every one needs a default)."""

    model_config = ConfigDict(extra="forbid")

    minimum: float = PydField({minimum}, description="最小值（单位与字段一致）")


@rule(
    "{rule_id}",
    category="{category}",
    requires=["{field}"],
    citation=Citation(standard="{standard}", edition="{edition}", clause="{clause}"),
    severity="medium",
    params=Params,
    industries={industries},
    facts=[Fact(statement="{title}", source="待填写：标准原文或 domain_sources.md 章节", confidence="L")],
    examples=[
        example("fail", "低于最小值", [f("{field}", {below})]),
        example("pass", "不低于最小值", [f("{field}", {above})]),
        example("uncertain", "数值无法识别", [f("{field}", "无法识别")]),
    ],
)
def {func}(view: ApplicationView, ctx: RuleContext) -> Iterator[Finding]:
    """{title}

    字段“{field}”的数值低于参数 minimum 时判为不通过；数值无法识别时判为待核实。
    """
    for fld in view.fields_of("{field}"):
        try:
            value = float(fld.normalized if fld.normalized is not None else fld.value)
        except (TypeError, ValueError):
            yield ctx.uncertain(f"“{field}”的数值“{{fld.value}}”无法识别", reason="数值无法识别",
                                evidence=[fld], suggestion="请核对并写明数值。")
            continue
        if value < ctx.params.minimum:
            yield ctx.fail(f"“{field}”为 {{value:g}}，低于最小值 {{ctx.params.minimum:g}}", evidence=[fld],
                           expected=f"≥ {{ctx.params.minimum:g}}", actual=f"{{value:g}}",
                           suggestion=f"请调整设计或方案，使其不低于 {{ctx.params.minimum:g}}。")
'''

PYPROJECT_TEMPLATE = '''[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "shencha 审查规则包"
requires-python = ">=3.11"
dependencies = ["shencha"]

[project.entry-points."shencha.rules"]
{package} = "{package}:RULES"

[tool.setuptools]
packages = ["{package}"]
'''

DOC_TEMPLATE = '''# {rule_id}

{title}

- 类别：`{category}`
- 依据：{standard} {edition} {clause}
- 读取的字段：`{field}`
- 参数：`minimum`（默认 {minimum}）

## 判定

- 不通过：数值低于 `minimum`。
- 待核实：数值无法识别。
- 通过：其余情况。

## 来源与置信度

待填写：标准原文出处，置信度 [H]/[M]/[L]。
'''


@app.command("new")
def new(
    rule_id: str = typer.Option(..., "--id", help="规则编号：命名空间.名称.v版本，如 jiangsu.scaffold_net.v1"),
    directory: Path = typer.Option(Path("."), "--dir", help="规则包所在目录（不存在则创建）"),
    package: str | None = typer.Option(None, "--package", help="Python 包名（默认取编号的第一段加 _rules）"),
    category: str = typer.Option("plan.missing_measure", "--category", help="发现类别，如 standard.evacuation_width"),
    field: str = typer.Option("guard_rail_height", "--field", help="规则读取的字段类型（见 docs/fields.md）"),
    title: str = typer.Option("新规则：字段数值不得低于最小值", "--title", help="规则的中文标题"),
    minimum: float = typer.Option(1.2, "--minimum", help="生成示例使用的最小值参数"),
    standard: str = typer.Option("待填写：标准编号", "--standard", help="依据的标准或法规，如 JGJ 80"),
    edition: str = typer.Option("待填写：版本", "--edition", help="版本，如 2016"),
    clause: str = typer.Option("待填写：条款", "--clause", help="条款或表号，如 4.1.1"),
    industry: list[str] | None = typer.Option(None, "--industry", help="适用行业，可多次使用（默认全部）"),
    ruleset: Path | None = typer.Option(None, "--ruleset", help="要加入的规则集文件（默认 <目录>/ruleset.yaml，继承内置规则集）"),
) -> None:
    """生成一个规则模块（含三类示例）、包入口、pyproject 入口点、文档和规则集条目。"""
    if not RULE_ID_RE.match(rule_id):
        typer.echo(f"规则编号 {rule_id} 不合规：应为“命名空间.名称.v版本”，如 jiangsu.scaffold_net.v1", err=True)
        raise typer.Exit(2)
    if rule_id in load_registry(entry_points_group=None):
        typer.echo(f"规则编号 {rule_id} 已被内置规则使用", err=True)
        raise typer.Exit(1)
    parts = rule_id.split(".")
    package = package or f"{parts[0]}_rules"
    if not package.isidentifier() or keyword.iskeyword(package):
        typer.echo(f"包名 {package} 不是合法的 Python 标识符", err=True)
        raise typer.Exit(2)
    func = re.sub(r"\W", "_", "_".join(parts[1:-1])) or "new_rule"
    module = f"{func}_{parts[-1]}"
    pkg_dir = directory / package
    mod_path = pkg_dir / f"{module}.py"
    if mod_path.exists():
        typer.echo(f"文件已存在：{mod_path}", err=True)
        raise typer.Exit(1)
    pkg_dir.mkdir(parents=True, exist_ok=True)
    values = dict(rule_id=rule_id, title=title, category=category, field=field, func=func, package=package,
                  minimum=minimum, below=round(minimum * 0.8, 3), above=round(minimum * 1.2, 3),
                  standard=standard, edition=edition, clause=clause,
                  industries=repr(list(industry)) if industry else "None")
    mod_path.write_text(RULE_TEMPLATE.format(**values), encoding="utf-8")

    init = pkg_dir / "__init__.py"
    if not init.exists():
        init.write_text(f'"""shencha 规则包 {package}：RULES 由入口点 shencha.rules 加载。"""\n\nRULES: list = []\n',
                        encoding="utf-8")
    with init.open("a", encoding="utf-8") as fh:
        fh.write(f"\nfrom .{module} import {func} as _{module}  # noqa: E402\n\nRULES.append(_{module})\n")

    pyproject = directory / "pyproject.toml"
    if not pyproject.exists():
        pyproject.write_text(PYPROJECT_TEMPLATE.format(package=package, dist=package.replace("_", "-")), encoding="utf-8")

    docs = directory / "docs"
    docs.mkdir(exist_ok=True)
    (docs / f"{rule_id}.md").write_text(DOC_TEMPLATE.format(**values), encoding="utf-8")

    rs_path = ruleset or directory / "ruleset.yaml"
    if not rs_path.exists():
        rs_path.write_text(f"# 规则包 {package} 的规则集：继承内置规则集，再加入本包的规则\n"
                           f"name: {package}\nversion: \"1\"\nextends: default\nrules:\n", encoding="utf-8")
    text = rs_path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    if re.search(r"^rules:\s*\{\}\s*$", text, flags=re.MULTILINE):
        text = re.sub(r"^rules:\s*\{\}\s*$", "rules:", text, flags=re.MULTILINE)
    if not re.search(r"^rules:\s*$", text, flags=re.MULTILINE):
        text += "rules:\n"
    entry = f"  {rule_id}:\n    severity: medium\n    params: {{minimum: {minimum}}}\n"
    try:
        parsed = yaml.safe_load(text + entry)
        ok = rule_id in (parsed.get("rules") or {})
    except yaml.YAMLError:
        ok = False
    if ok:
        rs_path.write_text(text + entry, encoding="utf-8")
    else:  # "rules:" is not the last key: do not guess, say what to add
        typer.echo(f"未能自动写入规则集 {rs_path}，请在其 rules: 下手工加入：\n{entry}", err=True)

    typer.echo(f"已生成规则 {rule_id}：")
    typer.echo(f"  规则模块：{mod_path}")
    typer.echo(f"  包入口：  {init}")
    typer.echo(f"  入口点：  {pyproject}（shencha.rules → {package}:RULES）")
    typer.echo(f"  文档：    {docs / (rule_id + '.md')}")
    typer.echo(f"  规则集：  {rs_path}")
    typer.echo("下一步：")
    typer.echo(f"  1. 编辑 {mod_path}：填写依据、事实来源，修改判定逻辑和示例；")
    typer.echo(f"  2. 在 {directory} 目录下运行 shencha rules test {rule_id} --pack {package}:RULES；")
    typer.echo(f"  3. 安装规则包（pip install -e {directory}）：下一次审查即按默认参数运行；"
               f"要使用 {rs_path} 中的参数，设置环境变量 SHENCHA_RULESET={rs_path}。")


if __name__ == "__main__":  # pragma: no cover
    app()
