"""Shared helpers of the API tests: the small real package, accounts and keys, a real server."""

from __future__ import annotations

import io
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
# The fastest real package: the text PDFs of a bundled sample (no scans, no OCR, no drawing).
PACKAGE = REPO / "fixtures" / "packages" / "wh_hubei_missing_plan"
SKIP = {"厂区总平面布置图.pdf"}


def package_files() -> list[Path]:
    return sorted(p for p in PACKAGE.iterdir()
                  if (p.suffix == ".pdf" and p.name not in SKIP) or p.name == "application.json")


def package_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in package_files():
            zf.write(path, path.name)
    return buf.getvalue()


def package_dir(tmp: Path) -> Path:
    folder = tmp / "pkg"
    folder.mkdir(exist_ok=True)
    for path in package_files():
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


def seed(store_url: str) -> dict[str, str]:
    """Demo accounts and one API key per scope set; returns name -> key."""
    from shencha.service.accounts import seed_demo_accounts
    from shencha.service.clients import create_client
    from shencha.store import Store

    store = Store(store_url)
    seed_demo_accounts(store)
    keys = {}
    for name, scopes in {"platform": ["submit", "read_reports"], "submitter": ["submit"],
                         "reader": ["read_reports"], "yingji": ["share:yingji"], "xiaofang": ["share:xiaofang"],
                         "shichang": ["share:shichang"]}.items():
        keys[name] = create_client(store, None, name, scopes)[1]
    return keys


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client, username: str) -> dict[str, str]:
    r = client.post("/api/v1/sessions", json={"username": username, "password": username + "-demo-2026"})
    assert r.status_code == 200, r.text
    return bearer(r.json()["token"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`shencha api` in its own process group, on a free port."""

    def __init__(self, store_url: str, env: dict[str, str] | None = None, tls: tuple[Path, Path] | None = None):
        self.port = free_port()
        self.store_url = store_url
        self.env = {**os.environ, "SHENCHA_DB": store_url, **(env or {})}
        self.tls = tls
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Server:
        cmd = [sys.executable, "-m", "shencha.cli", "api", "--port", str(self.port), "--db", self.store_url]
        if self.tls:
            cmd += ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]
        self.proc = subprocess.Popen(cmd, env=self.env, start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        verify = ssl.create_default_context(cafile=str(self.tls[0])) if self.tls else True
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read().decode("utf-8", "replace"))
            try:
                if httpx.get(self.base + "/api/v1/openapi.json", timeout=2, verify=verify).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.3)
        raise TimeoutError("the API did not start")

    def stop(self, sig: int = signal.SIGTERM, group: bool = True) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if group:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def wait_job(get, job_id: str, headers: dict[str, str], timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = get(f"/api/v1/jobs/{job_id}", headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        if body["status"] in ("done", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.4)
