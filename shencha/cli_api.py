"""The API's commands: `shencha api`, `shencha api-keys add|list|revoke`, `shencha share export`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

err = Console(stderr=True)
DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="SHENCHA_DB", help="SQLAlchemy URL of the store (default: embedded SQLite)"),
]

api_keys_app = typer.Typer(help="API 密钥：为对接系统新增、列出、吊销密钥", no_args_is_help=True, add_completion=False)
share_app = typer.Typer(help="跨部门数据共享：按共享目录导出脱敏数据", no_args_is_help=True, add_completion=False)


def api(
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port")] = 8600,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="TLS certificate (PEM)")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="TLS private key (PEM)")] = None,
    db: DbOption = None,
) -> None:
    """启动 REST API 服务（OpenAPI 文档：/api/v1/openapi.json，交互文档：/api/docs）。"""
    import uvicorn

    from .api import create_app
    from .store import default_url

    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("--tls-cert 与 --tls-key 须同时提供。", param_hint="--tls-cert/--tls-key")
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            err.print(f"[red]找不到文件：{path}[/red]")
            raise typer.Exit(1)
    url = db or default_url()
    os.environ["SHENCHA_DB"] = url
    scheme = "https" if tls_cert else "http"
    err.print(f"审查 API：{scheme}://{host}:{port}/api/docs")
    uvicorn.run(create_app(url), host=host, port=port, log_level="warning",
                ssl_certfile=str(tls_cert) if tls_cert else None, ssl_keyfile=str(tls_key) if tls_key else None)


@api_keys_app.command("add")
def api_keys_add(
    name: Annotated[str, typer.Argument(help="the client system's name")],
    scopes: Annotated[str, typer.Option("--scopes", help="comma-separated: submit,read_reports,share:<entry>")],
    db: DbOption = None,
) -> None:
    """新增 API 密钥（只显示这一次，库中仅存其 sha256）。"""
    from .service.clients import create_client, parse_scopes
    from .service.sharing import catalogue
    from .store import Store

    try:
        wanted = parse_scopes(scopes)
        unknown = [s for s in wanted if s.startswith("share:") and s.removeprefix("share:") not in catalogue().entries]
        if unknown:
            raise ValueError(f"共享目录中没有该条目：{'、'.join(unknown)}")
        client, key = create_client(Store(db), None, name, wanted)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    typer.echo(key)
    err.print(f"已新增客户端 {client.name}（{'、'.join(client.scopes)}）。以上密钥只显示这一次，请妥善保存。")


@api_keys_app.command("list")
def api_keys_list(db: DbOption = None) -> None:
    """列出客户端及其权限范围（不显示密钥）。"""
    from .service.clients import list_clients
    from .store import Store

    for c in list_clients(Store(db), None):
        state = f"已吊销 {c.revoked_at:%Y-%m-%d}" if c.revoked_at else "有效"
        typer.echo(f"{c.name}\t{','.join(c.scopes)}\t{c.key_prefix}…\t{state}")


@api_keys_app.command("revoke")
def api_keys_revoke(name: Annotated[str, typer.Argument(help="the client's name")], db: DbOption = None) -> None:
    """吊销客户端的 API 密钥（立即失效）。"""
    from .service.clients import revoke_client
    from .store import Store

    try:
        revoke_client(Store(db), None, name)
    except KeyError:
        err.print(f"[red]没有该客户端：{name}[/red]")
        raise typer.Exit(1) from None
    typer.echo(f"已吊销 {name} 的 API 密钥。")


@share_app.command("export")
def share_export(
    entry: Annotated[str, typer.Argument(help="a sharing-catalogue entry (shencha/service/sharing.yaml)")],
    out: Annotated[Path, typer.Option("--out", help="the JSON file to write")],
    since: Annotated[str | None, typer.Option("--since", help="YYYY-MM-DD or ISO date-time")] = None,
    db: DbOption = None,
) -> None:
    """按共享目录导出一个部门可接收的脱敏数据（与 GET /api/v1/shared/{entry} 相同）。"""
    from .service.sharing import catalogue, dumps, shared
    from .store import Store, write_private

    if entry not in catalogue().entries:
        err.print(f"[red]共享目录中没有该条目：{entry}（可用：{'、'.join(catalogue().entries)}）[/red]")
        raise typer.Exit(2)
    try:
        payload = shared(Store(db), None, entry, since)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    write_private(out, dumps(payload))
    counts = "，".join(f"{k} {len(v)} 条" for k, v in payload["records"].items())
    typer.echo(f"已导出 {entry}（{payload['department']}）：{counts} → {out}")
