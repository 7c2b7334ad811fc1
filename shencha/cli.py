"""The `shencha` command line (contract.md "Install and commands")."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from . import __version__

# Command groups that live in modules of their own, imported when named:
# `shencha ocr` or `shencha review` then need not import the rules catalogue,
# the registry client, the signing stack and the API (~0.7 s of every start).
# name -> (module, attribute, help); the attribute is a Typer app or a command function.
_LAZY_COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "registry": ("registry_sync.cli", "app", "登记库：同步与查询证书、企业登记数据"),
    "rules": ("checks.cli", "app", "规则目录与规则编写工具"),
    "signing-key": ("shencha.cli_sign", "signing_key_app", "签名密钥：生成演示用的签发机关证书与密钥"),
    "verify-signature": ("shencha.cli_sign", "verify_signature", None),
    "api": ("shencha.cli_api", "api", None),
    "api-keys": ("shencha.cli_api", "api_keys_app", "API 密钥：为对接系统新增、列出、吊销密钥"),
    "share": ("shencha.cli_api", "share_app", "跨部门数据共享：按共享目录导出脱敏数据"),
    "batch": ("shencha.cli_batch", "batch_app", "批量审查与规则变更后的案卷复查（本机或 Ray 集群）"),
}


def _lazy_command(name: str) -> TyperCommand | TyperGroup:
    import importlib

    module, attribute, help_text = _LAZY_COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    holder = typer.Typer()
    holder.callback()(lambda: None)  # a group, even around one command
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name, help=help_text)
    else:
        holder.command(name)(target)
    return typer.main.get_group(holder).commands[name]


class _LazyGroup(TyperGroup):
    """The top-level group: commands of _LAZY_COMMANDS are imported when named (click's
    "lazily loading subcommands" pattern); `--help` lists them all, in their order."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        # As typer lists them: single commands first, then groups (a lazy entry
        # without help of its own is a command function).
        own = [name for name in super().list_commands(ctx) if name not in _LAZY_COMMANDS]
        lazy_commands = [name for name, (_, _, help_text) in _LAZY_COMMANDS.items() if help_text is None]
        lazy_groups = [name for name in _LAZY_COMMANDS if name not in lazy_commands]
        own_groups = [name for name in own if isinstance(self.commands[name], TyperGroup)]
        own_commands = [name for name in own if name not in own_groups]
        return [*lazy_commands, *own_commands, *lazy_groups, *own_groups]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> TyperCommand | TyperGroup | None:
        if cmd_name in _LAZY_COMMANDS and cmd_name not in self.commands:
            self.add_command(_lazy_command(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    name="shencha",
    cls=_LazyGroup,
    help="审查 — 安全生产许可证申请材料智能审查助手",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


class Format(StrEnum):
    json = "json"
    text = "text"
    html = "html"


class ExtractFormat(StrEnum):
    json = "json"
    text = "text"


DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="SHENCHA_DB", help="SQLAlchemy URL of the store (default: embedded SQLite)"),
]
EngineOption = Annotated[str, typer.Option("--ocr-engine", help="OCR engine: rapidocr (default) or paddleocr")]
WorkersOption = Annotated[int | None, typer.Option("--workers", min=1, help="parallel OCR budget (default: all cores)")]


def _ingest_options(engine: str, workers: int | None, progress: bool):
    from extractor.ingest import IngestOptions
    from extractor.ocr import OcrOptions

    return IngestOptions(ocr=OcrOptions(engine=engine, workers=workers), progress=progress)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"shencha {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="show the version")
    ] = False,
) -> None:
    """审查 — 安全生产许可证申请材料智能审查助手."""
    # The composition root decides where the store lives; the registry and
    # rules sub-commands read SHENCHA_DB, so every command shares one store.
    from .store import default_url, ensure_sqlite_folder

    os.environ.setdefault("SHENCHA_DB", default_url())
    ensure_sqlite_folder(os.environ["SHENCHA_DB"])




class NerFormat(StrEnum):
    json = "json"


@app.command()
def ner(
    format: Annotated[NerFormat, typer.Option("--format", "-f", help="output format (JSON lines)")] = NerFormat.json,
) -> None:
    """从标准输入逐行读取文本，输出人名（PERSON）和机构名（ORG），每行一个 JSON。"""
    from extractor.ner import ner_jsonl

    ner_jsonl(sys.stdin, sys.stdout)


@app.command()
def review(
    paths: Annotated[list[Path], typer.Argument(help="application packages: folders, .zip files or single files")],
    formats: Annotated[
        list[Format] | None,
        typer.Option("--format", "-f", help="report format; repeat with --out to write several"),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="write reports into this folder")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="review date YYYY-MM-DD (default: the application date)")
    ] = None,
    db: DbOption = None,
    ocr_engine: EngineOption = "rapidocr",
    workers: WorkersOption = None,
    application_ids: Annotated[
        list[str] | None,
        typer.Option("--application-id", help="the application number of each PATH, in order (repeat the "
                     "option once per PATH); the same number again adds a new version of that case. "
                     "Without it each PATH is a new application"),
    ] = None,
    profile: Annotated[
        bool, typer.Option("--profile", help="after each package, print where the time went (per stage) to stderr"),
    ] = False,
    ray: Annotated[
        str | None,
        typer.Option("--ray", envvar="SHENCHA_RAY_ADDRESS",
                     help="review on this Ray cluster (auto: the one running here); default: this machine"),
    ] = None,
) -> None:
    """审查申请材料：识别、比对、规则检查，存入案卷并输出报告。"""
    from .render import render
    from .review import ReviewOptions, check_application_ids
    from .service.audit import append as append_audit
    from .store import Store, write_private

    as_of_date = _parse_date(as_of)
    formats = formats or [Format.json]
    if len(formats) > 1 and out is None:
        raise typer.BadParameter("多种格式需要配合 --out 写入文件", param_hint="--format")
    try:
        check_application_ids(application_ids, len(paths))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--application-id") from None
    ids = dict(zip(range(len(paths)), application_ids or []))
    store = Store(db)
    options = ReviewOptions(
        ingest=_ingest_options(ocr_engine, workers, progress=sys.stderr.isatty()), as_of=as_of_date
    )
    failed = 0
    outputs: list[str] = []
    for path in paths:
        if not path.exists():
            err.print(f"[red]找不到申请材料：{path}[/red]")
            failed += 1
    present = [(n, path) for n, path in enumerate(paths) if path.exists()]
    on_cluster = bool(ray) and ray != "local"
    if on_cluster and (profile or ocr_engine != "rapidocr"):
        raise typer.BadParameter("Ray 集群上只用默认识别引擎审查，且不支持 --profile", param_hint="--ray")
    if on_cluster:
        results = _reviews_on_cluster(present, ids, store.url, ray, as_of_date)
    else:
        results = _reviews_here(present, ids, store, options, profile)
    for path, report in results:
        if isinstance(report, str):
            # Documents and rules contain their own failures; this is the
            # last frame, for a defect in the pipeline itself. No message
            # text: it may quote a document.
            err.print(f"[red]✗ {path.name}：审查出错（{report}），未生成报告；其余材料继续审查[/red]")
            logging.getLogger(__name__).warning("review of a package failed: %s", report)
            failed += 1
            continue
        append_audit(store, "cli", "run_review", report.report_id,
                     {"findings": len(report.findings), "path": str(path)})
        fails = sum(f.verdict == "fail" for f in report.findings)
        uncertain = sum(f.verdict == "uncertain" for f in report.findings)
        err.print(
            f"[green]✓[/green] {path.name}：{len(report.documents)} 份文件，"
            f"{fails} 项不符合，{uncertain} 项待人工判断，{len(report.errors)} 份文件无法读取"
            f"（申请编号 {report.application.application_no}，案卷 {report.report_id}）"
        )
        for fmt in formats:
            rendered = render(report, fmt.value, store)
            if out is not None:
                # Reports hold full ID numbers: 0600 files in 0700 folders.
                target = out / f"{Path(path).stem}-v{report.version}.{fmt.value}"
                write_private(target, rendered)
                err.print(f"  报告已写入 {target}")
            else:
                outputs.append(rendered)
    if outputs:
        if formats[0] == Format.json and len(outputs) > 1:
            typer.echo("[" + ",\n".join(outputs) + "]")
        else:
            typer.echo("\n".join(outputs))
    if failed:
        raise typer.Exit(1)


def _reviews_here(present, ids, store, options, profile: bool):
    """(path, report, or the error's type name) for each package, reviewed in this process
    with its OCR on all cores: the local executor's one-package path (review_one)."""
    from .review import review_path

    for n, path in present:
        # A plain line, not a spinner: OCR draws its own progress bar, and
        # two live displays on one terminal overwrite each other.
        err.print(f"正在审查 {path} …")
        numbered = {"application_id": ids[n]} if n in ids else {}
        try:
            if profile:
                from .profile import format_profile, profile_review

                report, timed = profile_review(path, store, options, **numbered)
                err.print(format_profile((path.name, timed)), markup=False, highlight=False)
            else:
                report = review_path(path, store, options, **numbered)
        except Exception as exc:  # noqa: BLE001 - one package's defect must not stop the batch
            yield path, type(exc).__name__
            continue
        yield path, report


def _reviews_on_cluster(present, ids, url: str, address: str, as_of):
    """The same on a Ray cluster (shencha.executor): pages spread over its OCR actors."""
    from .executor import ReviewJob, make_executor, new_run_id

    if url.startswith("sqlite"):
        err.print("[yellow]提示：Ray 集群的各节点须能访问同一案卷库，多节点部署请使用 PostgreSQL（--db）。[/yellow]")
    run_id = new_run_id("review")
    jobs = [ReviewJob(path=str(path), application_id=ids.get(n), as_of=as_of, run_key=f"{run_id}:{n}")
            for n, path in present]
    try:
        executor = make_executor(url, ray_address=address)
    except ImportError:
        err.print("[red]未安装 Ray：pip install -e '.[ray]'[/red]")
        raise typer.Exit(1) from None
    err.print(f"正在 Ray 集群（{address}）上审查 {len(jobs)} 份材料 …")
    with executor:
        for outcome in executor.review(jobs):
            yield Path(outcome.job.path), outcome.report if outcome.ok else outcome.error


@app.command()
def extract(
    path: Annotated[Path, typer.Argument(help="a package, folder, .zip or single file")],
    format: Annotated[ExtractFormat, typer.Option("--format", "-f")] = ExtractFormat.json,
    db: DbOption = None,
    ocr_engine: EngineOption = "rapidocr",
    workers: WorkersOption = None,
) -> None:
    """抽取文件、页面、文字行和字段（不做检查）。"""
    from .review import read_package
    from .store import Store

    _require(path)
    _package, documents, _blobs = read_package(
        path, Store(db), _ingest_options(ocr_engine, workers, progress=sys.stderr.isatty())
    )
    if format == ExtractFormat.json:
        typer.echo(json.dumps([d.model_dump(mode="json") for d in documents], ensure_ascii=False, indent=1))
        return
    for document in documents:
        typer.echo(f"== {document.path} [{document.doc_type}] {document.status}")
        if document.error:
            typer.echo(f"   错误 {document.error.code}：{document.error.message}")
        for page in document.pages:
            typer.echo(f"-- 第 {page.number} 页（{page.source.value}：{page.decision}）")
            for line in page.lines:
                typer.echo(f"   {line.text}")
        for f in document.fields:
            role = f"/{f.role}" if f.role else ""
            typer.echo(f"   [{f.type}{role}] {f.normalized or f.value}  (第{f.page}页, 置信度 {f.confidence:.2f})")


@app.command()
def ocr(
    file: Annotated[Path, typer.Argument(help="an image or a PDF")],
    format: Annotated[ExtractFormat, typer.Option("--format", "-f")] = ExtractFormat.json,
    dpi: Annotated[int, typer.Option("--dpi", help="render DPI for PDF pages")] = 200,
    db: DbOption = None,
    ocr_engine: EngineOption = "rapidocr",
    workers: WorkersOption = None,
) -> None:
    """对图片或 PDF 的每一页做文字识别（PDF 即使有文本层也重新识别）。"""
    from .ocr_file import ocr_file
    from .store import Store

    _require(file)
    pages = ocr_file(file, Store(db), _ingest_options(ocr_engine, workers, sys.stderr.isatty()), dpi=dpi)
    if format == ExtractFormat.json:
        typer.echo(json.dumps([p.model_dump(mode="json") for p in pages], ensure_ascii=False, indent=1))
        return
    for page in pages:
        typer.echo(f"-- 第 {page.number} 页")
        for line in page.lines:
            typer.echo(f"{line.text}\t{line.confidence:.2f}")


def _require(path: Path) -> None:
    if not path.exists():
        err.print(f"[red]找不到文件：{path}[/red]")
        raise typer.Exit(1)


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD：{value}", param_hint="--as-of") from None


# -- the web app, its accounts and the audit trail (ui/, shencha.service) ----

audit_app = typer.Typer(help="审计记录：校验哈希链", no_args_is_help=True, add_completion=False)
users_app = typer.Typer(help="本地账户：新增、列出、创建演示账户", no_args_is_help=True, add_completion=False)
corrections_app = typer.Typer(help="更正记录：导出为训练数据", no_args_is_help=True, add_completion=False)
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.add_typer(corrections_app, name="corrections")


@corrections_app.command("export")
def corrections_export(
    fmt: Annotated[str, typer.Option("--format", help="jsonl")] = "jsonl",
    out: Annotated[Path | None, typer.Option("--out", help="file to write (default: standard output)")] = None,
    db: DbOption = None,
) -> None:
    """导出已生效的更正记录（JSON Lines）：页面截取位置、机器识别值、更正值、字段类型、材料类型、申请编号。

    输出含个人信息（姓名、证件号），仅供在本机训练模型使用。
    """
    import json

    from .service.corrections import export_rows
    from .store import Store, write_private

    if fmt != "jsonl":
        err.print("[red]--format 目前只支持 jsonl[/red]")
        raise typer.Exit(2)
    lines = [json.dumps(row, ensure_ascii=False) for row in export_rows(Store(db))]
    text = "".join(line + "\n" for line in lines)
    if out is None:
        sys.stdout.write(text)
    else:
        write_private(out, text)
        err.print(f"已导出 {len(lines)} 条更正记录：{out}")


@app.command()
def ui(
    port: Annotated[int, typer.Option("--port", help="port on 127.0.0.1")] = 8501,
    db: DbOption = None,
    demo_accounts: Annotated[
        bool, typer.Option("--demo-accounts", help="create the demo accounts first (docs/ui.md)")
    ] = False,
) -> None:
    """启动审查 Web 应用（仅监听 127.0.0.1）。"""
    import subprocess

    from .store import Store, default_url

    url = db or default_url()
    store = Store(url)

    if demo_accounts:
        from .service.accounts import seed_demo_accounts

        seed_demo_accounts(store)
    script = Path(__file__).resolve().parents[1] / "ui" / "app.py"
    env = {**os.environ, "SHENCHA_DB": url}
    err.print(f"审查 Web 应用：http://127.0.0.1:{port}/")
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.address", "127.0.0.1",
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal",
               # the window's upload cap (ui/views/prereview.py), enforced by the server too
               "--server.maxUploadSize", str(_upload_limit_mb())]
    raise typer.Exit(subprocess.call(command, env=env))


def _upload_limit_mb() -> int:
    try:
        return max(1, int(os.environ.get("SHENCHA_UPLOAD_MAX_MB", "200")))
    except ValueError:
        return 200


@audit_app.command("verify")
def audit_verify(db: DbOption = None) -> None:
    """校验审计记录的哈希链：完整时退出码 0；发现改动或删除时指出记录并以退出码 1 结束。"""
    from .service.audit import verify
    from .store import Store

    result = verify(Store(db), None)
    if result.ok:
        typer.echo(result.summary())
        return
    for problem in result.problems:
        err.print(f"[red]{problem}[/red]")
    typer.echo(result.summary())
    raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(db: DbOption = None) -> None:
    """把审计记录的最新位置签名写入校验点文件（需设置 SHENCHA_AUDIT_KEY；可由 cron 定时执行）。"""
    from .service.audit import KEY_ENV, append, checkpoint_path, write_checkpoint
    from .store import Store

    store = Store(db)
    if not os.environ.get(KEY_ENV):
        err.print(f"[red]未设置环境变量 {KEY_ENV}（校验点签名密钥），无法写入校验点。[/red]")
        raise typer.Exit(1)
    append(store, "cli", "audit_checkpoint", "audit", {})
    cp = write_checkpoint(store)
    typer.echo(f"已写入校验点：第 {cp.seq} 条，{cp.hash[:16]}…（{checkpoint_path(store)}）")


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[str, typer.Option("--role", help="officer | window | rule_author | supervisor | admin")],
    name: Annotated[str, typer.Option("--name", help="显示的姓名")] = "",
    password: Annotated[
        str | None, typer.Option("--password", help="password (prompted when omitted; at least 8 characters)")
    ] = None,
    db: DbOption = None,
) -> None:
    """新增本地账户（密码以 argon2 散列保存）。"""
    from pydantic import ValidationError

    from .service.accounts import NewUser, create_user
    from .service.permissions import Role
    from .store import Store

    if role not in Role.__members__:
        raise typer.BadParameter(f"未知角色：{role}", param_hint="--role")
    if password is None:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    try:
        new = NewUser(username=username, display_name=name or username, role=Role(role), password=password)
        user = create_user(Store(db), new)
    except ValidationError:
        err.print("[red]用户名只能包含字母、数字和 ._-，密码至少 8 位。[/red]")
        raise typer.Exit(2) from None
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    typer.echo(f"已新增账户 {user.username}（{user.role.value}）")


@users_app.command("list")
def users_list(db: DbOption = None) -> None:
    """列出本地账户。"""
    from .service.accounts import list_users
    from .service.permissions import ROLE_LABEL
    from .store import Store

    for u in list_users(Store(db)):
        typer.echo(f"{u.username}\t{u.role.value}\t{ROLE_LABEL[u.role]}\t{u.display_name}\t{'启用' if u.active else '停用'}")


@users_app.command("seed-demo")
def users_seed_demo(db: DbOption = None) -> None:
    """创建演示账户（已存在的不变；密码见 docs/ui.md）。"""
    from .service.accounts import seed_demo_accounts
    from .store import Store

    created = seed_demo_accounts(Store(db))
    typer.echo(f"已创建演示账户：{'、'.join(created)}" if created else "演示账户均已存在。")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
