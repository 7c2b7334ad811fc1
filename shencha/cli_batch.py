"""`shencha batch`: review many packages, re-review stored cases, on this machine or a Ray cluster."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

batch_app = typer.Typer(help="批量审查：多份申请材料审查、规则变更后的案卷复查（本机或 Ray 集群）",
                        no_args_is_help=True, add_completion=False)
err = Console(stderr=True)

RayOption = Annotated[
    str | None,
    typer.Option("--ray", envvar="SHENCHA_RAY_ADDRESS",
                 help="Ray cluster address (auto: the cluster running on this machine); default: this machine"),
]
DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="SHENCHA_DB", help="SQLAlchemy URL of the store (a Ray cluster needs PostgreSQL)"),
]
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", min=1, help="local: packages reviewed at once; Ray: OCR actors (default: one per CPU)"),
]


def _progress(total: int, unit: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err, disable=not sys.stderr.isatty(), transient=False)
    return progress


def _executor(db: str | None, ray: str | None, workers: int | None):
    from .executor import make_executor
    from .store import default_url

    url = db or default_url()
    if ray and url.startswith("sqlite"):
        err.print("[yellow]提示：Ray 集群的各节点须能访问同一案卷库，多节点部署请使用 PostgreSQL（--db）。[/yellow]")
    try:
        return url, make_executor(url, ray_address=ray, workers=workers)
    except ImportError:
        err.print("[red]未安装 Ray：pip install -e '.[ray]'[/red]")
        raise typer.Exit(1) from None


@batch_app.command("review")
def batch_review(
    paths: Annotated[list[Path], typer.Argument(help="application packages: folders or archives")],
    ray: RayOption = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="review date YYYY-MM-DD")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="write each report into this folder")] = None,
    formats: Annotated[list[str] | None, typer.Option("--format", "-f", help="json | html (repeat for both)")] = None,
    application_ids: Annotated[
        list[str] | None, typer.Option("--application-id", help="the application number of each PATH, in order")
    ] = None,
    workers: WorkersOption = None,
    db: DbOption = None,
) -> None:
    """批量审查多份申请材料：进度条（材料与页）、汇总表，标准输出为 JSON 汇总。"""
    from .cli import _parse_date
    from .executor import Event, ReviewJob, new_run_id
    from .render import render
    from .review import check_application_ids
    from .service.audit import append as append_audit
    from .store import Store, write_private

    formats = formats or ["json"]
    for fmt in formats:
        if fmt not in ("json", "html"):
            raise typer.BadParameter(f"不支持的格式：{fmt}（json 或 html）", param_hint="--format")
    try:
        check_application_ids(application_ids, len(paths))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--application-id") from None
    missing = [p for p in paths if not p.exists()]
    for p in missing:
        err.print(f"[red]找不到申请材料：{p}[/red]")
    as_of_date = _parse_date(as_of)
    run_id = new_run_id("batch")
    jobs = [ReviewJob(path=str(p), application_id=(application_ids or [None] * len(paths))[i], as_of=as_of_date,
                      run_key=f"{run_id}:{i}") for i, p in enumerate(paths) if p.exists()]
    url, executor = _executor(db, ray, workers)
    store = Store(url)
    rows, started = [], time.perf_counter()
    with executor, _progress(len(jobs), "packages") as progress:
        packages = progress.add_task("申请材料", total=len(jobs))
        pages = progress.add_task("页（已读）", total=None)
        ocr = progress.add_task("页（识别）", total=None)

        def on_event(event: Event) -> None:
            task = {"package_done": packages, "pages": pages, "ocr_pages": ocr}.get(event.kind)
            if task is not None:
                progress.advance(task, event.n)

        for outcome in executor.review(jobs, on_event):
            row = {"path": outcome.job.path, "ok": outcome.ok, "seconds": round(outcome.seconds, 2),
                   "pages": outcome.pages, "ocr_pages": outcome.ocr_pages}
            if not outcome.ok:
                row["error"] = outcome.error
                progress.console.print(f"[red]✗ {Path(outcome.job.path).name}：审查出错（{outcome.error}），未生成报告[/red]")
                rows.append(row)
                continue
            report = outcome.report
            row.update(application_id=report.application.application_no, report_id=report.report_id,
                       version=report.version, documents=len(report.documents),
                       fail=sum(f.verdict == "fail" for f in report.findings),
                       uncertain=sum(f.verdict == "uncertain" for f in report.findings),
                       unreadable=len(report.errors), findings=[f.id for f in report.findings])
            append_audit(store, "cli", "run_review", report.report_id,
                         {"findings": len(report.findings), "path": outcome.job.path, "batch": run_id})
            if out is not None:
                for fmt in formats:
                    target = out / f"{Path(outcome.job.path).stem}-v{report.version}.{fmt}"
                    write_private(target, render(report, fmt, store))
                    row.setdefault("files", []).append(str(target))
            rows.append(row)
    rows.sort(key=lambda r: r["path"])
    summary = {"run_id": run_id, "backend": executor.name, "packages": len(paths),
               "reviewed": sum(r["ok"] for r in rows), "failed": sum(not r["ok"] for r in rows) + len(missing),
               "pages": sum(r["pages"] for r in rows), "seconds": round(time.perf_counter() - started, 2),
               "results": rows}
    _table(["材料", "申请编号", "案卷", "页数", "不符合", "待判断", "无法读取", "用时(秒)"],
           [[Path(r["path"]).name, r.get("application_id", "—"), r.get("report_id", r.get("error", "")),
             r["pages"], r.get("fail", "—"), r.get("uncertain", "—"), r.get("unreadable", "—"), r["seconds"]]
            for r in rows], f"批量审查：{summary['reviewed']} 份完成，{summary['failed']} 份失败，共 {summary['pages']} 页，"
                            f"用时 {summary['seconds']} 秒（{executor.name}）")
    text = json.dumps(summary, ensure_ascii=False, indent=1)
    if out is not None:
        write_private(out / f"{run_id}-summary.json", text)
    typer.echo(text)
    if summary["failed"]:
        raise typer.Exit(1)


@batch_app.command("rereview")
def batch_rereview(
    ruleset: Annotated[Path, typer.Option("--ruleset", help="the ruleset YAML to check the cases against")],
    open_only: Annotated[bool, typer.Option("--open-only", help="only cases not yet decided (准予/不予)")] = False,
    ray: RayOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="write each case's diff (JSON) into this folder")] = None,
    workers: WorkersOption = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="resume an interrupted run (same id)")] = None,
    db: DbOption = None,
) -> None:
    """规则变更后复查已存案卷：不重新识别，按新规则集重新检查，存为新版本并输出每案差异（已整改/新增/仍存在）。"""
    from checks.ruleset import RulesetError, load_ruleset

    from .executor import Event, iter_application_keys, new_run_id
    from .service.audit import append as append_audit
    from .service.cases import closed_application_ids
    from .store import Store, write_private

    if not ruleset.is_file():
        err.print(f"[red]找不到规则集：{ruleset}[/red]")
        raise typer.Exit(1)
    try:
        load_ruleset(ruleset)
    except RulesetError as exc:
        err.print(f"[red]规则集有误：{exc}[/red]")
        raise typer.Exit(1) from None
    run_id = run_id or new_run_id("rereview")
    url, executor = _executor(db, ray, workers)
    store = Store(url)
    exclude = closed_application_ids(store) if open_only else set()
    totals = {"cases": 0, "failed": 0, "changed": 0, "fixed": 0, "new": 0, "remaining": 0}
    started = time.perf_counter()
    with executor, _progress(0, "cases") as progress:
        cases = progress.add_task("案卷", total=None)

        def on_event(event: Event) -> None:
            if event.kind == "case_done":
                progress.advance(cases, event.n)

        keys = iter_application_keys(store, exclude)
        for outcome in executor.rereview(keys, str(ruleset), run_id, on_event):
            totals["cases"] += 1
            if not outcome.ok:
                totals["failed"] += 1
                continue
            for k in ("fixed", "new", "remaining"):
                totals[k] += len(getattr(outcome, k))
            totals["changed"] += bool(outcome.fixed or outcome.new)
            if out is not None:
                name = re.sub(r"[^0-9A-Za-z\u4e00-\u9fff_.-]", "_", outcome.application_no or outcome.application_key)
                write_private(out / run_id / f"{name}.json", json.dumps(outcome.as_json(), ensure_ascii=False, indent=1))
    summary = {"run_id": run_id, "backend": executor.name, "ruleset": str(ruleset), "open_only": open_only,
               **totals, "seconds": round(time.perf_counter() - started, 2)}
    append_audit(store, "cli", "batch_rereview", f"ruleset:{ruleset.name}", summary)
    _table(["复查案卷", "有变化", "已整改", "新增问题", "仍存在", "失败", "用时(秒)"],
           [[totals["cases"], totals["changed"], totals["fixed"], totals["new"], totals["remaining"],
             totals["failed"], summary["seconds"]]], f"规则集 {ruleset.name} 复查完成（{executor.name}）")
    text = json.dumps(summary, ensure_ascii=False, indent=1)
    if out is not None:
        write_private(out / f"{run_id}-summary.json", text)
    typer.echo(text)
    if totals["failed"]:
        raise typer.Exit(1)


def _table(headers: list[str], rows: list[list], title: str) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for h in headers:
        table.add_column(h)
    for r in rows:
        table.add_row(*[str(c) for c in r])
    err.print(table)
