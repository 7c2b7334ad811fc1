"""``shencha registry``: sync registry data and look records up.

The main CLI mounts :data:`app`; it also runs alone
(``python -m registry_sync.cli``). Messages are Chinese; resident ID
numbers are masked in everything printed.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from .mapping import MappingError, load_mapping
from .normalize import mask_id_no, mask_ids_in_text
from .records import CertificateRecord, CompanyRecord
from .sources import HttpSource, SourceError, open_source
from .store import db_url, make_engine
from .sync import SyncError, last_cursor, sync

app = typer.Typer(help="登记库：同步证书和企业登记数据，查询证书、持证人和企业。", no_args_is_help=True)
console = Console(stderr=True)
out = Console(soft_wrap=True)


class KindOpt(str, Enum):
    certificates = "certificates"
    companies = "companies"


class Fmt(str, Enum):
    text = "text"
    json = "json"


DbOpt = Annotated[Optional[str], typer.Option("--db", help="数据库 URL（默认取环境变量 SHENCHA_DB，否则 sqlite:///shencha.db）")]


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD：{value}") from None


@app.command("sync")
def sync_cmd(
    source: Annotated[str, typer.Argument(help="CSV、XLSX、JSON Lines 文件路径，或 HTTP(S) 接口地址")],
    kind: Annotated[KindOpt, typer.Option("--kind", help="登记库类型")] = KindOpt.certificates,
    mapping: Annotated[Optional[Path], typer.Option("--mapping", help="列映射 YAML（标准列: 源列名）")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="数据截至日期 YYYY-MM-DD（默认今天）")] = None,
    db: DbOpt = None,
    full: Annotated[bool, typer.Option("--full", help="HTTP 接口：忽略上次的增量游标，全量同步")] = False,
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="XLSX 工作表名（默认第一个）")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="不显示进度条")] = False,
) -> None:
    """同步登记库数据：每次同步生成一个带截至日期的快照，失败时原有快照保持有效。"""
    as_of_d = _date(as_of)
    engine = make_engine(db_url(db), hide_parameters=True)
    try:
        mapping_obj = load_mapping(mapping) if mapping else None
        src = open_source(source, sheet=sheet)
        if isinstance(src, HttpSource) and not full:
            cursor = last_cursor(engine, kind.value, src.name)
            if cursor:
                src = HttpSource(source, updated_since=cursor)
                console.print(f"增量同步：只取 {cursor} 之后更新的记录（--full 可全量同步）")
    except (MappingError, SourceError) as exc:
        console.print(f"[red]错误：[/red]{exc}")
        raise typer.Exit(1) from None

    progress = None
    bar: Progress | None = None
    if not quiet and sys.stderr.isatty():
        bar = Progress(TextColumn("同步中"), BarColumn(), TextColumn("{task.fields[rows]} 行"),
                       TimeElapsedColumn(), console=console, transient=True)
        task = bar.add_task("sync", total=None, rows=0)

        def progress(rows: int, pos: tuple[int, int | None]) -> None:
            done, total = pos
            bar.update(task, completed=done, total=total, rows=rows)

    try:
        if bar is not None:
            with bar:
                result = sync(engine, src, kind=kind.value, mapping=mapping_obj, as_of=as_of_d, progress=progress)
        else:
            result = sync(engine, src, kind=kind.value, mapping=mapping_obj, as_of=as_of_d)
    except (MappingError, SourceError) as exc:
        console.print(f"[red]同步失败：[/red]{exc}（原有快照保持有效）")
        raise typer.Exit(1) from None
    except SyncError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None

    if result.status == "unchanged":
        snap = result.snapshot
        out.print(f"数据未变化：与当前快照 #{snap.id}（截至 {snap.as_of}）相同，未生成新快照。" if snap else "数据未变化。")
    else:
        snap = result.snapshot
        out.print(f"同步完成：快照 #{snap.id}，截至 {snap.as_of}，在册 {snap.rows} 条。")
    out.print(
        f"读取 {result.rows_read} 行：新增 {result.added}，变更 {result.changed}，删除 {result.removed}，"
        f"未变 {result.unchanged}，隔离 {result.quarantined}；用时 {result.duration_s:.1f} 秒。"
    )
    if result.quarantine_sample:
        out.print("隔离的行（前 10 条，全部见 registry_quarantine 表，同步编号 "
                  f"{result.sync_id}）：")
        for q in result.quarantine_sample[:10]:
            out.print(f"  第 {q.row_no} 行：{mask_ids_in_text(q.reason)}")


def _cert_dict(rec: CertificateRecord) -> dict:
    d = rec.model_dump(mode="json")
    if d.get("holder_id_no"):
        d["holder_id_no"] = mask_id_no(d["holder_id_no"])
    d["cert_no"] = mask_ids_in_text(d["cert_no"])
    return d


@app.command("lookup")
def lookup_cmd(
    cert: Annotated[Optional[str], typer.Option("--cert", help="证书编号（容忍OCR易混字符、括号和全角）")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="持证人姓名（模糊匹配，繁简通用）")] = None,
    id_no: Annotated[Optional[str], typer.Option("--id-no", help="持证人身份证号")] = None,
    uscc: Annotated[Optional[str], typer.Option("--uscc", help="统一社会信用代码")] = None,
    company: Annotated[Optional[str], typer.Option("--company", help="单位名称（模糊匹配）")] = None,
    limit: Annotated[int, typer.Option("--limit", help="最多显示条数")] = 10,
    fmt: Annotated[Fmt, typer.Option("--format", help="输出格式")] = Fmt.text,
    db: DbOpt = None,
) -> None:
    """查询证书、持证人或企业（身份证号在输出中打码）。"""
    from .lookup import RegistryLookup

    if not any((cert, name, id_no, uscc, company)):
        console.print("请至少给出 --cert、--name、--id-no、--uscc 或 --company 之一。")
        raise typer.Exit(2)
    lookup = RegistryLookup(make_engine(db_url(db), hide_parameters=True))
    result: dict = {"snapshots": {}}
    for kind in ("certificates", "companies"):
        snap = lookup.snapshot(kind)
        result["snapshots"][kind] = snap.model_dump(mode="json") if snap else None
    lines: list[str] = []

    def cert_line(rec: CertificateRecord, note: str = "") -> str:
        d = _cert_dict(rec)
        return (f"{d['cert_no']}｜{d['holder_name']}｜身份证 {d.get('holder_id_no') or '-'}｜{d.get('category') or '-'}｜"
                f"{d.get('valid_from') or '?'} 至 {d.get('valid_until') or '?'}｜{d['status']}｜"
                f"{d.get('employer_name') or '-'}{note}")

    if cert:
        res = lookup.certificate(cert)
        result["certificate"] = {
            "normalized": mask_ids_in_text(res.normalized), "unreadable": res.unreadable,
            "ambiguous": res.ambiguous, "note": res.note,
            "hits": [{"how": h.how, "record": _cert_dict(h.record)} for h in res.hits[:limit]],
        }
        how = {"exact": "", "ocr": "（按易混字符折算后匹配）", "wildcard": "（无法辨认字符按通配匹配）"}
        lines.append(f"证书编号 {mask_ids_in_text(res.normalized)}：" + (
            "查无记录" if not res.hits else ("候选不唯一，请人工确认" if res.ambiguous else "找到")))
        if res.note:
            lines.append(f"  {res.note}")
        lines += ["  " + cert_line(h.record, how[h.how]) for h in res.hits[:limit]]
    if name:
        matches = lookup.holders_by_name(name, limit=limit)
        result["holders_by_name"] = [
            {"score": m.comparison.score, "explanation": m.comparison.explanation, "record": _cert_dict(m.record)}
            for m in matches
        ]
        lines.append(f"姓名“{name}”：{len(matches)} 条")
        lines += [f"  [{m.comparison.score:g}] " + cert_line(m.record) for m in matches]
    if id_no:
        recs = lookup.holders_by_id_no(id_no)[:limit]
        result["holders_by_id_no"] = [_cert_dict(r) for r in recs]
        lines.append(f"身份证号 {mask_id_no(id_no.strip())}：{len(recs)} 条")
        lines += ["  " + cert_line(r) for r in recs]
    if uscc or company:
        hits = lookup.company(uscc=uscc, name=company)[:limit]
        result["companies"] = [{"how": h.how, "score": h.score, "record": h.record.model_dump(mode="json")} for h in hits]
        lines.append(f"企业（{uscc or company}）：{len(hits)} 条")
        for h in hits:
            r: CompanyRecord = h.record
            lines.append(f"  [{h.score:g}] {r.name}｜{r.uscc}｜许可证 {r.licence_no or '-'}｜"
                         f"{r.licence_valid_from or '?'} 至 {r.licence_valid_until or '?'}｜{r.licence_status or '-'}")
    if fmt == Fmt.json:
        out.print_json(json.dumps(result, ensure_ascii=False))
        return
    for kind, label in (("certificates", "证书登记库"), ("companies", "企业登记库")):
        snap = lookup.snapshot(kind)
        lines.insert(0, f"{label}：" + (f"快照 #{snap.id}，截至 {snap.as_of}" if snap else "尚未同步"))
    for line in lines:
        out.print(line, markup=False, highlight=False)


@app.command("log")
def log_cmd(
    limit: Annotated[int, typer.Option("--limit")] = 10,
    db: DbOpt = None,
) -> None:
    """显示最近的同步记录（来源、新增/变更/删除/隔离条数、用时）。"""
    from sqlalchemy import select

    from . import store

    engine = make_engine(db_url(db), hide_parameters=True)
    store.create_tables(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(store.sync_log).order_by(store.sync_log.c.id.desc()).limit(limit)).mappings().all()
    status = {"ok": "成功", "unchanged": "无变化", "failed": "失败", "running": "未完成"}
    for r in rows:
        out.print(
            f"#{r['id']} {r['started_at']:%Y-%m-%d %H:%M} {r['kind']} {status.get(r['status'], r['status'])} "
            f"快照 {r['snapshot_id'] or '-'}：读 {r['rows_read'] or 0}，增 {r['added'] or 0}，改 {r['changed'] or 0}，"
            f"删 {r['removed'] or 0}，隔离 {r['quarantined'] or 0}，{(r['duration_s'] or 0):.1f} 秒｜{r['source']}"
            + (f"｜{r['error']}" if r["error"] else ""),
            markup=False, highlight=False,
        )


@app.command("quarantine")
def quarantine_cmd(
    sync_id: Annotated[Optional[int], typer.Option("--sync", help="同步编号（默认最近一次有隔离行的同步）")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    db: DbOpt = None,
) -> None:
    """列出被隔离的行及原因（需更正后重新同步）。"""
    from sqlalchemy import func, select

    from . import store

    engine = make_engine(db_url(db), hide_parameters=True)
    store.create_tables(engine)
    q = store.quarantine
    with engine.connect() as conn:
        if sync_id is None:
            sync_id = conn.execute(select(func.max(q.c.sync_id))).scalar()
        if sync_id is None:
            out.print("没有隔离的行。")
            return
        total = conn.execute(select(func.count()).select_from(q).where(q.c.sync_id == sync_id)).scalar_one()
        rows = conn.execute(select(q.c.row_no, q.c.reason).where(q.c.sync_id == sync_id)
                            .order_by(q.c.row_no).limit(limit)).all()
    out.print(f"同步 #{sync_id} 隔离 {total} 行" + (f"（显示前 {limit} 行）" if total > limit else "") + "：")
    for row_no, reason in rows:
        out.print(f"  第 {row_no} 行：{mask_ids_in_text(reason)}", markup=False, highlight=False)


def main() -> None:  # pragma: no cover - thin entry point
    logging.basicConfig(level=logging.WARNING)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
