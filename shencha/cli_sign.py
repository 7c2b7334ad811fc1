"""Signature commands: `verify-signature` and `signing-key create`.

Registered by the main CLI (shencha/cli.py); `app` here bundles both so
they can also be run and tested on their own.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

err = Console(stderr=True)

signing_key_app = typer.Typer(help="签名密钥：生成演示用的签发机关证书与密钥", no_args_is_help=True,
                              add_completion=False)


def verify_signature(
    file: Annotated[Path, typer.Argument(help="签名后的 PDF 文件")],
    trust: Annotated[
        list[Path] | None,
        typer.Option("--trust", help="受信任的根证书（PEM/DER），可重复；签名证书须链接到其中之一"),
    ] = None,
) -> None:
    """校验 PDF 的电子签名：有效时退出码 0；未签名、被改动或证书不可信时说明原因并以退出码 1 结束。"""
    from .service.signing import SigningError, verify_pdf

    # pyHanko reports an untrusted certificate as a logged warning; the verdict below says it in Chinese.
    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    try:
        data = file.read_bytes()
    except OSError as exc:
        err.print(f"[red]无法读取文件 {escape(str(file))}：{escape(exc.strerror or str(exc))}[/red]")
        raise typer.Exit(1) from None
    try:
        check = verify_pdf(data, list(trust or []))
    except SigningError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    typer.echo(check.message_zh)
    if not check.ok:
        raise typer.Exit(1)


@signing_key_app.command("create")
def signing_key_create(
    out: Annotated[Path, typer.Option("--out", help="写入密钥与证书的目录")],
    authority: Annotated[str, typer.Option("--authority", help="签发机关名称（写入证书）")],
    days: Annotated[int, typer.Option("--days", min=1, help="证书有效天数")] = 3 * 365,
) -> None:
    """生成自签名的签发机关证书和密钥（仅供测试与演示；正式部署使用 CA 签发给本机关的证书）。

    口令取自环境变量 SHENCHA_SIGNING_PASSPHRASE，未设置时提示输入。
    """
    from .service.signing import PASSPHRASE_ENV, SigningError, create_signing_key

    passphrase = os.environ.get(PASSPHRASE_ENV)
    if not passphrase:
        passphrase = typer.prompt("密钥口令", hide_input=True, confirmation_prompt=True)
    try:
        p12, cert = create_signing_key(out, authority, days, passphrase=passphrase)
    except SigningError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    typer.echo(f"已生成签名密钥：{p12}")
    typer.echo(f"证书（校验时用作 --trust 根证书）：{cert}")
    typer.echo(f"签名时从环境变量 {PASSPHRASE_ENV} 读取口令。此为自签名证书，仅供测试与演示。")


app = typer.Typer(name="shencha-sign", help="电子签名", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
app.command("verify-signature")(verify_signature)
app.add_typer(signing_key_app, name="signing-key")


__all__ = ["app", "signing_key_app", "verify_signature"]
