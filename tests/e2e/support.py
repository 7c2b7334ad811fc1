"""Shared by the web app's tests: stores with cases in them, without OCR.

`synthetic_case` writes a hand-built report through the real `Store.save_review`
(no pages, so no images): enough for permissions, decisions, the audit trail
and the notice. The browser tests review real sample files instead.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from checks.model import Finding
from extractor.model import Evidence, Field
from shencha.report import Report, ReportApplication, ReportDocument, Versions
from shencha.service.accounts import DEMO_PASSWORD_SUFFIX, authenticate, seed_demo_accounts
from shencha.service.permissions import User
from shencha.store import Store

RESIDENT_ID = "110101199003074514"  # a valid check character; masked: 110101********4514


def finding(n: int, severity: str = "high", verdict: str = "fail", doc: str = "d001", page: int = 1,
            text: str | None = None, rule_id: str = "registry.certificates.v1",
            category: str = "registry.expired") -> Finding:
    return Finding(
        id=f"F-{n:016d}", rule_id=rule_id, category=category, severity=severity, verdict=verdict,
        message=f"第 {n} 号问题：持证人 张三（身份证 {RESIDENT_ID}）的证书已过期。",
        citation="建筑施工特种作业人员管理规定 第十条", expected="有效期至申请日之后", actual="2026-05-19",
        suggestion=f"请提交第 {n} 号证书的有效证书。",
        evidence=[Evidence(document=doc, page=page, bbox=(100, 100 + n * 20, 300, 115 + n * 20),
                           text=text or f"苏建安C2(2019)00{n:05d}"),
                  Evidence(document="registry:1", text=f"登记库：证书 00{n:05d} 状态 过期")],
    )


def synthetic_case(store: Store, company: str = "江苏华建安装工程有限公司", uscc: str = "91320106217527938X",
                   findings: list[Finding] | None = None, ran_by: User | None = None,
                   documents: list[ReportDocument] | None = None, key: str | None = None) -> Report:
    """A stored case keyed `key` (default: the USCC, so a second call is the next version).

    `ran_by`: the window staff member whose review run it was (recorded as
    `run_review` does it), so that they may open it.
    """
    docs = documents or [ReportDocument(
        id="d001", path="06_三类人员名册.pdf", sha256="0" * 64, doc_type="managers_roster", pages=2, status="ok",
        fields=[Field(type="resident_id", value=RESIDENT_ID, document="d001", page=1, bbox=(50, 50, 200, 62),
                      source="text")],
    )]
    report = Report(
        application=ReportApplication(path=f"/tmp/{company}", company_name=company, uscc=uscc,
                                      industry="construction", as_of=date(2026, 11, 18)),
        documents=docs,
        findings=findings if findings is not None else [finding(1), finding(2, "medium", "uncertain")],
        versions=Versions(shencha="test"),
    )
    saved = store.save_review(key or uscc, company, report, [], {})
    if ran_by is not None:
        from shencha.service.reviews import record_review_run

        record_review_run(store, ran_by, saved)
    return saved


def login(store: Store, username: str) -> User:
    seed_demo_accounts(store, only=[username])  # argon2 is slow on purpose: hash only what the test needs
    user = authenticate(store, username, username + DEMO_PASSWORD_SUFFIX)
    assert user is not None
    return user


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(db_url: str, log: Path, repo: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """The real web app (ui/app.py under Streamlit) on a free loopback port, on
    ``db_url``; yields its base URL once healthy, and stops it afterwards.

    ``env``: more environment variables for the server (SHENCHA_WORKFLOW, a signing passphrase).
    """
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(repo / "ui" / "app.py"), "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal"],
        env={**os.environ, **(env or {}), "SHENCHA_DB": db_url}, cwd=repo, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail(f"streamlit did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.5)
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
