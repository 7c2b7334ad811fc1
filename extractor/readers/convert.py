"""Old and WPS office files converted by LibreOffice headless, then read as .docx/.xlsx.

``soffice --headless --convert-to docx`` runs in a private temporary folder
with its own user profile (``-env:UserInstallation``), so it never touches
a real user's profile, never meets another conversion's lock, and leaves
nothing behind. It gets ``Limits.conversion_seconds``; past that its whole
process group is killed. The original bytes stay the document's identity
(sha256, size, blob); the conversion is recorded in ``Document.conversion``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from functools import lru_cache
from pathlib import Path

from ..errors import ErrorCode, InputError
from ..limits import Limits
from ..model import Conversion
from .base import sha256_hex

_SUFFIX = {"doc": ".doc", "rtf": ".rtf", "odt": ".odt", "xls": ".xls", "ole": ".et"}


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@lru_cache(maxsize=1)
def soffice_version() -> str:
    path = soffice_path()
    if path is None:
        return "LibreOffice"
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60,
                             env=_env(tempfile.gettempdir())).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "LibreOffice"
    # "LibreOffice 7.4.7.2 40(Build:2)" -> "LibreOffice 7.4.7.2"
    return " ".join(out.split()[:2]) if out else "LibreOffice"


def convert(data: bytes, from_format: str, to_format: str, limits: Limits) -> tuple[bytes, Conversion]:
    """Convert ``data`` (``from_format``: doc, rtf, odt, xls, ole) to ``to_format`` (docx, xlsx)."""
    soffice = soffice_path()
    if soffice is None:
        raise InputError(
            ErrorCode.COMPONENT_MISSING,
            f"LibreOffice（soffice），用于读取 .{from_format} 文件",
            f"LibreOffice (soffice) is needed to read .{from_format} files",
        )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="shencha-soffice-") as tmp:
        work = Path(tmp)
        source = work / f"input{_SUFFIX.get(from_format, '.' + from_format)}"
        source.write_bytes(data)
        out_dir = work / "out"
        profile = (work / "profile").as_uri()
        command = [
            soffice, f"-env:UserInstallation={profile}", "--headless", "--invisible", "--norestore",
            "--nologo", "--nodefault", "--nolockcheck", "--convert-to", to_format,
            "--outdir", str(out_dir), str(source),
        ]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=_env(tmp), cwd=tmp, start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=limits.conversion_seconds)
        except subprocess.TimeoutExpired as exc:
            _kill_group(process)
            raise InputError(
                ErrorCode.CONVERSION_FAILED, f"LibreOffice 超过 {limits.conversion_seconds:.0f} 秒未完成",
                f"LibreOffice timed out after {limits.conversion_seconds:.0f} s",
            ) from exc
        produced = out_dir / f"input.{to_format}"
        if not produced.is_file() or produced.stat().st_size == 0:
            message = (stderr or stdout or b"").decode("utf-8", "replace").strip().splitlines()
            detail = message[-1][:160] if message else f"exit {process.returncode}"
            # "source file could not be loaded": LibreOffice cannot parse it.
            raise InputError(ErrorCode.CORRUPT_FILE, f"LibreOffice 无法打开此文件（{detail}）", detail)
        converted = produced.read_bytes()
    return converted, Conversion(
        from_format=from_format, to_format=to_format, tool=soffice_version(),
        seconds=round(time.monotonic() - started, 2), sha256=sha256_hex(converted),
    )


def _env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
    env["HOME"] = home  # LibreOffice writes caches under $HOME
    env.setdefault("LANG", "C.UTF-8")
    return env


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.communicate()
