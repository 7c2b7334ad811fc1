"""Issue 20, security hardening: one test (or a few) per item, each failing on the code before the fix.

Real parts throughout: SQLite stores in tmp_path, the real review pipeline
on small text-layer packages (no OCR), the pages under Streamlit's AppTest,
the command line through Typer's runner.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest
from google.protobuf.json_format import MessageToDict
from sqlalchemy import select, text
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from extractor.model import Document, DocumentError, DocumentKind, Line, Page, Source
from shencha.service import audit
from shencha import service as svc
from shencha.cli import app
from shencha.render import render
from shencha.report import Report, ReportApplication, ReportDocument, Versions
from shencha.review import ReviewOptions, review_path
from shencha.service.accounts import NewUser, authenticate, create_user, set_active
from shencha.service.notice import build_notice, issue_notice
from shencha.service.permissions import PermissionDenied, Role, User
from shencha.store import ApplicationRow, ReportRow, Store

from .conftest import FIXTURES, REPO
from .e2e.support import RESIDENT_ID, finding, login, synthetic_case

# Names the fix added are imported inside the tests that use them, so that
# on the code before the fix each test fails on its own (not the module).

runner = CliRunner()
TIMEOUT = 90
TEXT_PDF = FIXTURES / "packages" / "jz_jiangsu_defects" / "03_安全生产责任制.pdf"


@pytest.fixture
def store(tmp_path, monkeypatch) -> Store:
    url = f"sqlite:///{tmp_path / 'db' / 'shencha.db'}"
    monkeypatch.setenv("SHENCHA_DB", url)
    monkeypatch.delenv("SHENCHA_AUDIT_KEY", raising=False)
    monkeypatch.delenv("SHENCHA_AUDIT_CHECKPOINTS", raising=False)
    return Store(url)


def _page(name: str) -> None:
    import importlib

    importlib.import_module(f"ui.views.{name}").render()


def run_page(name: str, user_id: int, **state) -> AppTest:
    at = AppTest.from_function(_page, args=(name,), default_timeout=TIMEOUT)
    at.session_state["user_id"] = user_id
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def all_strings(at: AppTest) -> list[str]:
    """Every string the page sent to the browser: bodies, labels, options, captions, help."""
    out: list[str] = []

    def walk(value) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for node in at._tree:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "DESCRIPTOR"):
            walk(MessageToDict(proto))
    assert out, "the page rendered nothing"
    return out


def page_text(at: AppTest) -> str:
    return "\n".join(all_strings(at))


def _package(folder: Path, company: str, uscc: str) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(TEXT_PDF, folder / TEXT_PDF.name)
    (folder / "application.json").write_text(json.dumps(
        {"company_name": company, "uscc": uscc, "industry": "construction", "application_type": "new",
         "application_date": "2026-11-20"}, ensure_ascii=False), encoding="utf-8")
    return folder


# -- 1. zip bomb: no bytes of failed files; a capped, streamed window upload ----------------------

def _doc(doc_id: str, sha: str, status: str) -> Document:
    pages = [] if status == "error" else [
        Page(number=1, width=595, height=842, unit="pt", source=Source.TEXT,
             lines=[Line(text="安全生产责任制", bbox=(10, 10, 100, 20), source=Source.TEXT)])]
    error = DocumentError(code="E107", message="文件过大", message_en="too large") if status == "error" else None
    return Document(id=doc_id, path=f"{doc_id}.pdf", sha256=sha, size=10, kind=DocumentKind.PDF, pages=pages,
                    status=status, error=error)


def test_item1_bytes_of_a_file_that_failed_are_not_stored(store):
    bad, good = _doc("d001", "aa" * 32, "error"), _doc("d002", "bb" * 32, "ok")
    report = Report(application=ReportApplication(path="pkg", as_of=date(2026, 11, 20)),
                    documents=[ReportDocument.from_document(d) for d in (bad, good)], versions=Versions(shencha="t"))
    store.save_review("application:t1", "t1", report, [bad, good],
                      {"aa" * 32: b"\0" * 100_000, "bb" * 32: b"%PDF-1.7 good"})
    assert store.get_blob("aa" * 32) is None  # the refused file's bytes
    assert store.get_blob("bb" * 32) == b"%PDF-1.7 good"
    with store.session() as session:  # its record (hash, error) is still there
        assert session.scalar(text("SELECT error_code FROM documents WHERE doc_key = 'd001'")) == "E107"


def test_item1_window_upload_over_the_cap_is_refused_before_anything_is_written(store, monkeypatch, tmp_path):
    monkeypatch.setenv("SHENCHA_UPLOAD_MAX_MB", "1")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    window = login(store, "window")
    at = run_page("prereview", window.id)
    at.file_uploader(key="window_files").upload("big.pdf", b"%PDF-1.7\n" + b"0" * (2 * 2**20), "application/pdf").run()
    at.button(key="window_run").click().run()
    shown = page_text(at)
    assert "超过预审窗口的上限 1 MB" in shown
    assert "预审完成" not in shown and not store.reports()
    assert not list((tmp_path / "tmp").iterdir())  # nothing written, nothing left


# -- 2. case identity comes from the submission ---------------------------------------------------

def test_item2_a_package_claiming_another_companys_uscc_does_not_take_over_its_case(store, tmp_path):
    victim = review_path(_package(tmp_path / "a", "甲建筑有限公司", "91320106217527938X"), store, ReviewOptions())
    attacker = review_path(_package(tmp_path / "b", "乙冒名公司", "91320106217527938X"), store, ReviewOptions())
    assert attacker.application.id != victim.application.id and attacker.version == 1
    with store.session() as session:
        apps = {a.id: a for a in session.scalars(select(ApplicationRow))}
        assert len(apps) == 2
        victims = int(victim.application.id.removeprefix("app-"))
        assert apps[victims].company_name == "甲建筑有限公司"
        assert session.scalar(select(ReportRow.version).where(ReportRow.application_id == victims)) == 1


def test_item2_a_resubmission_for_an_application_claiming_another_company_is_flagged_not_merged(store, tmp_path):
    first = review_path(_package(tmp_path / "a", "甲建筑有限公司", "91320106217527938X"), store, ReviewOptions(),
                        application_id="JS-2026-0001")
    again = review_path(_package(tmp_path / "b", "甲建筑有限公司", "91320106217527938X"), store, ReviewOptions(),
                        application_id="JS-2026-0001")
    other = review_path(_package(tmp_path / "c", "乙冒名公司", "91110000600037341L"), store, ReviewOptions(),
                        application_id="JS-2026-0001")
    from shencha.store import IDENTITY_RULE_ID

    assert (first.version, again.version, other.version) == (1, 2, 3)
    assert first.application.id == again.application.id == other.application.id
    assert not [f for f in again.findings if f.rule_id == IDENTITY_RULE_ID]
    [flag] = [f for f in other.findings if f.rule_id == IDENTITY_RULE_ID]
    assert flag.severity == "high" and "乙冒名公司" in flag.message and "甲建筑有限公司" in flag.message
    officer = login(store, "officer")
    [case] = svc.queue(store, officer)
    assert case.company_name == "甲建筑有限公司" and case.version == 3 and case.n_high >= 1


def test_item2_cli_application_id_makes_versions_and_without_it_each_run_is_new(store, tmp_path):
    pkg = _package(tmp_path / "pkg", "甲建筑有限公司", "91320106217527938X")
    db = os.environ["SHENCHA_DB"]

    def review(*extra: str) -> Report:
        result = runner.invoke(app, ["review", str(pkg), "--format", "json", "--db", db, *extra])
        assert result.exit_code == 0, result.output
        return Report.model_validate_json(result.stdout)

    a, b = review(), review()
    assert (a.version, b.version) == (1, 1) and a.application.id != b.application.id
    c, d = review("--application-id", "JS-7"), review("--application-id", "JS-7")
    assert (c.version, d.version) == (1, 2) and c.application.application_no == "JS-7"
    two = runner.invoke(app, ["review", str(pkg), str(pkg), "--application-id", "JS-7", "--db", db])
    assert two.exit_code == 2


def test_item2_the_window_passes_the_application_number_so_a_resubmission_is_the_next_version(store):
    window = login(store, "window")
    keys = []
    for number in ("YS-2026-0007", "YS-2026-0007", ""):
        at = run_page("prereview", window.id)
        at.text_input(key="window_application_id").input(number)
        at.file_uploader(key="window_files").upload("a.pdf", TEXT_PDF.read_bytes(), "application/pdf").run()
        at.button(key="window_run").click().run(timeout=180)
        assert "预审完成" in page_text(at)
        keys.append(at.session_state["window_report"])
    assert keys[0].endswith("-v1") and keys[1] == keys[0][:-1] + "2"  # same application, next version
    assert keys[2].endswith("-v1") and keys[2].split("-v")[0] != keys[0].split("-v")[0]  # blank: a new one
    at = run_page("prereview", window.id)
    at.text_input(key="window_application_id").input("../../etc")
    at.file_uploader(key="window_files").upload("a.pdf", TEXT_PDF.read_bytes(), "application/pdf").run()
    at.button(key="window_run").click().run()
    assert "申请编号只能包含" in page_text(at) and len(store.reports()) == 3


# -- 3. Markdown injection: every page, a hostile package ----------------------------------------

HOSTILE_COMPANY = "![pwn](https://evil.example/company.png)恶意公司"
HOSTILE_FILE = "[点此领取](https://evil.example/file)名册.pdf"
HOSTILE_TEXT = ("见 ![x](https://evil.example/msg.png) 与 <img src=https://evil.example/h.png> :red[假警告] "
                "https://evil.example/bare")


def _hostile_case(store: Store, window: User) -> Report:
    docs = [ReportDocument(id="d001", path=HOSTILE_FILE, sha256="0" * 64, doc_type="managers_roster", pages=1,
                           status="ok")]
    hostile = finding(1, text=HOSTILE_TEXT).model_copy(update={"message": HOSTILE_TEXT, "suggestion": HOSTILE_TEXT})
    report = synthetic_case(store, company=HOSTILE_COMPANY, findings=[hostile], ran_by=window, documents=docs)
    report.errors = []
    return report


def _unescaped_markup(strings: list[str]) -> list[str]:
    import re

    # An image or link opener, an HTML tag or a Streamlit directive not preceded by a backslash,
    # or a bare URL that GFM would turn into a link (not broken by a word joiner).
    pattern = re.compile(r"(?<!\\)!(?<!\\)\[|(?<!\\)\]\((?=https?)|(?<!\\)<img|(?<!\\):red(?<!\\)\["
                         r"|https?\\?:(?!\u2060)")
    return [s for s in strings if "evil.example" in s and pattern.search(s)]


def test_item3_hostile_names_and_texts_are_escaped_on_every_page(store):
    window = login(store, "window")
    report = _hostile_case(store, window)
    rid = store.report_row_id(report.report_id)
    officer = login(store, "officer")
    svc.decide_finding(store, officer, rid, report.findings[0].id, "confirm", f"理由 {HOSTILE_TEXT}", 0)
    svc.decide_case(store, officer, rid, "correction", f"整案 {HOSTILE_TEXT}", 0)
    supervisor = login(store, "supervisor")
    pages = [
        ("queue", officer, {}), ("case", officer, {"case_report_id": rid}),
        ("case", supervisor, {"case_report_id": rid}), ("prereview", window, {"window_report": report.report_id}),
        ("supervisor", supervisor, {}),
    ]
    for name, user, state in pages:
        at = run_page(name, user.id, **state)
        strings = all_strings(at)
        if name != "supervisor":  # there the reasons are in tables (plain text, not Markdown)
            assert any("evil" in s for s in strings), f"{name}: the hostile text is not shown at all"
        assert _unescaped_markup(strings) == [], name


# -- 4. separation of duties ----------------------------------------------------------------------

def test_item4_an_admin_cannot_grant_itself_officer_powers(store):
    from shencha.service.accounts import decide_request, pending_requests

    admin, supervisor = login(store, "admin"), login(store, "supervisor")
    made = create_user(store, NewUser(username="mole", display_name="内鬼", role=Role.officer,
                                      password="mole-password-1"), admin)
    assert not made.active
    assert authenticate(store, "mole", "mole-password-1") is None  # cannot log in as it
    with pytest.raises(ValueError, match="批准"):
        set_active(store, admin, "mole", True, "启用")  # nor switch it on itself
    [request] = pending_requests(store, supervisor)
    with pytest.raises(PermissionDenied):
        decide_request(store, admin, request.id, True)  # nor approve its own request
    with pytest.raises(PermissionDenied):
        audit.entries(store, admin)  # the system admin does not audit (itself)
    decide_request(store, supervisor, request.id, True, "核实为新入职审批人员")
    assert authenticate(store, "mole", "mole-password-1") is not None
    actions = [(e.actor, e.action) for e in audit.entries(store, supervisor, newest_first=False)]
    assert ("admin", "user_request") in actions and ("supervisor", "user_approve") in actions
    # a role that neither decides nor sees personal data is granted at once
    assert create_user(store, NewUser(username="author2", display_name="规则", role=Role.rule_author,
                                      password="author2-password"), admin).active


def test_item4_nobody_approves_a_grant_to_themselves(store):
    from shencha.service.accounts import decide_request, pending_requests

    admin, supervisor = login(store, "admin"), login(store, "supervisor")
    create_user(store, NewUser(username="sup2", display_name="监督二", role=Role.supervisor,
                               password="sup2-password-1"), admin)
    [request] = pending_requests(store, supervisor)
    with store.engine.begin() as conn:  # as if the supervisor had requested it
        conn.execute(text("UPDATE account_requests SET requested_by = 'supervisor'"))
    with pytest.raises(PermissionDenied):
        decide_request(store, supervisor, request.id, True)


# -- 5. audit anchoring ---------------------------------------------------------------------------

@pytest.fixture
def anchored(store, monkeypatch):
    monkeypatch.setenv("SHENCHA_AUDIT_KEY", "test-key-not-in-the-database-0123456789")
    report = synthetic_case(store)
    rid = store.report_row_id(report.report_id)
    officer = login(store, "officer")
    svc.decide_finding(store, officer, rid, report.findings[0].id, "confirm", "证书过期", 0)
    for n in range(4):
        audit.append(store, "cli", "audit_verify", "audit", {"n": n})
    result = audit.verify(store, None)  # a clean verification writes a checkpoint
    assert result.ok and result.checkpoint is not None and result.checkpoint.seq == result.entries
    return store


def _rechain(store: Store, keep_up_to: int | None = None, edit: tuple[int, str] | None = None) -> None:
    """What an attacker with database access does: cut or edit, recompute every hash, move the head."""
    with store.engine.begin() as conn:
        if keep_up_to is not None:
            conn.execute(text("DELETE FROM audit_log WHERE seq > :n"), {"n": keep_up_to})
        if edit is not None:
            conn.execute(text("UPDATE audit_log SET reason = :r WHERE seq = :n"), {"r": edit[1], "n": edit[0]})
        prev = audit.GENESIS
        rows = conn.execute(text("SELECT seq, at, actor, action, target, detail, reason FROM audit_log ORDER BY seq"))
        for r in list(rows):
            digest = audit.entry_hash(r.seq, r.at, r.actor, r.action, r.target, r.detail, r.reason, prev)
            conn.execute(text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"p": prev, "h": digest, "s": r.seq})
            prev, last = digest, r.seq
        conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": last, "h": prev})


def test_item5_a_truncated_chain_with_a_moved_head_fails_against_the_checkpoint(anchored):
    _rechain(anchored, keep_up_to=3)
    result = audit.verify(anchored, None)
    assert not result.ok and "截断" in result.summary()
    cli = runner.invoke(app, ["audit", "verify", "--db", os.environ["SHENCHA_DB"]])
    assert cli.exit_code == 1 and "截断" in cli.output


def test_item5_an_edited_and_rechained_trail_is_reported_as_rebuilt(anchored):
    _rechain(anchored, edit=(2, "改过的理由"))
    result = audit.verify(anchored, None)
    assert not result.ok and any("重建" in p for p in result.problems)


def test_item5_emptied_tables_fail_and_a_forged_checkpoint_is_refused(anchored):
    with anchored.engine.begin() as conn:
        conn.execute(text("DELETE FROM finding_decisions"))
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text("DELETE FROM audit_head"))
    assert not audit.verify(anchored, None).ok
    path = audit.checkpoint_path(anchored)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    forged = audit.Checkpoint(seq=0, hash=audit.GENESIS, at="2030-01-01T00:00:00+00:00", mac="0" * 64)
    with path.open("a", encoding="utf-8") as out:
        out.write(forged.model_dump_json() + "\n")
    assert any("签名不符" in p for p in audit.verify(anchored, None).problems)


# -- 6. login back-off and user-name timing -------------------------------------------------------

def test_item6_fifteen_wrong_passwords_then_the_right_one_is_not_let_in(store):
    from shencha.service.accounts import LoginThrottled

    login(store, "officer")
    for _ in range(15):
        try:
            assert authenticate(store, "officer", "wrong-password", "10.0.0.7") is None
        except LoginThrottled:
            pass
    with pytest.raises(LoginThrottled) as waited:
        authenticate(store, "officer", "officer-demo-2026", "10.0.0.7")
    assert waited.value.wait_seconds > 0 and "秒后再试" in str(waited.value)
    assert "login_blocked" in {e.action for e in audit.entries(store, None)}


def test_item6_one_address_guessing_across_many_names_is_slowed_too(store):
    from shencha.service.accounts import LoginThrottled

    login(store, "window")
    for n in range(25):
        try:
            authenticate(store, f"guess{n}", "whatever-password", "10.0.0.9")
        except LoginThrottled:
            pass
    with pytest.raises(LoginThrottled):
        authenticate(store, "window", "window-demo-2026", "10.0.0.9")
    assert authenticate(store, "window", "window-demo-2026", "10.0.0.10") is not None  # another address


def test_item6_an_unknown_user_name_costs_as_much_as_a_known_one(store):
    login(store, "officer")

    def timed(name: str) -> float:
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            authenticate(store, name, "wrong-password")
            runs.append(time.perf_counter() - start)
        return statistics.median(runs)

    known, unknown = timed("officer"), timed("no-such-user")
    assert unknown > 0.4 * known, (known, unknown)


# -- 7. personal data masked on the way in and by role on the way out ------------------------------

def test_item7_free_text_is_masked_on_the_way_in(store):
    author, admin = login(store, "author"), login(store, "admin")
    login(store, "officer")
    svc.record_rule_change(store, author, "registry.certificates.v1", f"例外：{RESIDENT_ID}", f"持证人 {RESIDENT_ID}")
    set_active(store, admin, "officer", False, f"离岗（身份证 {RESIDENT_ID}）")
    with store.engine.begin() as conn:
        raw = " ".join(str(v) for row in conn.execute(text("SELECT detail, reason FROM audit_log")) for v in row)
    assert RESIDENT_ID not in raw and "110101********4514" in raw


def test_item7_decision_reasons_reach_window_staff_masked(store):
    window, officer = login(store, "window"), login(store, "officer")
    report = synthetic_case(store, ran_by=window)
    rid = store.report_row_id(report.report_id)
    svc.decide_finding(store, officer, rid, report.findings[0].id, "confirm", f"核对 {RESIDENT_ID} 证书过期", 0)
    svc.decide_case(store, officer, rid, "correction", f"{RESIDENT_ID} 须补正", 0)
    view = svc.open_case(store, window, rid)
    dumped = view.model_dump_json()
    assert RESIDENT_ID not in dumped and "110101********4514" in dumped
    assert RESIDENT_ID in svc.open_case(store, officer, rid).model_dump_json()  # the officer sees it


# -- 8. the service layer checks every call --------------------------------------------------------

def test_item8_audit_and_report_lookups_need_a_permission(store):
    report = synthetic_case(store)
    for name in ("window", "author", "officer"):
        user = login(store, name)
        with pytest.raises(PermissionDenied):
            audit.entries(store, user)
        with pytest.raises(PermissionDenied):
            audit.verify(store, user)
    author = login(store, "author")
    with pytest.raises(PermissionDenied):
        svc.report_pk(store, author, report.report_id)
    assert svc.report_pk(store, login(store, "officer"), report.report_id) == store.report_row_id(report.report_id)


def test_item8_window_staff_open_and_notify_only_the_cases_they_reviewed(store):
    window = login(store, "window")
    theirs = synthetic_case(store, ran_by=window, key="application:mine")
    other = synthetic_case(store, company="别家公司", uscc="91110000600037341L")
    other_id = store.report_row_id(other.report_id)
    for call in (lambda: svc.open_case(store, window, other_id), lambda: svc.report_pk(store, window, other.report_id),
                 lambda: issue_notice(store, window, other_id, [other.findings[0].id])):
        with pytest.raises(PermissionDenied):
            call()
    assert svc.open_case(store, window, store.report_row_id(theirs.report_id)).masked
    with pytest.raises(PermissionDenied):
        svc.queue(store, window)


def test_item8_a_forged_or_stale_user_object_carries_no_power(store):
    report = synthetic_case(store)
    rid = store.report_row_id(report.report_id)
    window, admin = login(store, "window"), login(store, "admin")
    forged = window.model_copy(update={"role": Role.officer})  # the window's id, an officer's role
    with pytest.raises(PermissionDenied):
        svc.decide_case(store, forged, rid, "approve", "伪造", 0)
    officer = login(store, "officer")
    set_active(store, admin, "officer", False, "离岗")
    assert officer.active  # the page's stale copy still says active
    with pytest.raises(PermissionDenied):
        svc.decide_case(store, officer, rid, "approve", "理由", 0)
    with pytest.raises(PermissionDenied):
        svc.open_case(store, User(id=9999, username="ghost", display_name="x", role=Role.supervisor), rid)


# -- 9. no paths or tracebacks for users -----------------------------------------------------------

def test_item9_a_300_character_file_name_is_reviewed_and_no_server_path_is_shown(store, monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    window = login(store, "window")
    at = run_page("prereview", window.id)
    long_name = "安" * 300 + ".pdf"
    at.file_uploader(key="window_files").upload(long_name, TEXT_PDF.read_bytes(), "application/pdf").run()
    at.button(key="window_run").click().run(timeout=180)
    shown = page_text(at)
    assert "预审完成" in shown, shown[:2000]
    assert "Traceback" not in shown and "OSError" not in shown and str(tmp_path) not in shown
    assert "/tmp" not in shown and "shencha-window-" not in shown
    [row] = store.reports()
    assert "shencha-window-" not in row.source_path and "/" not in row.source_path


def test_item9_a_failing_review_shows_a_code_not_the_exception(store, monkeypatch, tmp_path):
    # A fault the test cannot cause through an upload: the pipeline itself raising with a path in it.
    from ui.views import prereview

    def broken(*_args, **_kwargs):
        raise OSError(36, "File name too long", str(tmp_path / "secret" / "x.pdf"))

    monkeypatch.setattr(prereview, "run_review", broken)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    window = login(store, "window")
    at = run_page("prereview", window.id)
    at.file_uploader(key="window_files").upload("a.pdf", TEXT_PDF.read_bytes(), "application/pdf").run()
    at.button(key="window_run").click().run()
    shown = page_text(at)
    assert "E900" in shown and "secret" not in shown and "File name too long" not in shown
    assert not at.exception


# -- 10. private files, uploads deleted -----------------------------------------------------------

def test_item10_store_and_reports_are_owner_only(tmp_path):
    old = os.umask(0o022)  # the usual umask, under which files were 0644 and folders 0755
    try:
        url = f"sqlite:///{tmp_path / 'home' / 'data' / 'shencha.db'}"
        store = Store(url)
        store.save_review("application:x", "x", Report(application=ReportApplication(path="p", as_of=date(2026, 1, 1)),
                                                        documents=[], versions=Versions(shencha="t")), [], {})
        for folder in (tmp_path / "home", tmp_path / "home" / "data"):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        for f in (tmp_path / "home" / "data").iterdir():
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        pkg = _package(tmp_path / "pkg", "甲建筑有限公司", "91320106217527938X")
        out = tmp_path / "reports" / "new"
        result = runner.invoke(app, ["review", str(pkg), "--format", "json", "--format", "html", "--out", str(out),
                                     "--db", url])
        assert result.exit_code == 0, result.output
        assert stat.S_IMODE(out.stat().st_mode) == 0o700
        written = list(out.iterdir())
        assert len(written) == 2 and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in written)
    finally:
        os.umask(old)


def test_item10_window_uploads_are_deleted_after_review(store, monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    window = login(store, "window")
    at = run_page("prereview", window.id)
    at.file_uploader(key="window_files").upload("a.pdf", TEXT_PDF.read_bytes(), "application/pdf").run()
    at.button(key="window_run").click().run(timeout=180)
    assert "预审完成" in page_text(at)
    assert list((tmp_path / "tmp").iterdir()) == []


# -- 11. control characters and RTL overrides in file names ----------------------------------------

RTL_NAME = "名册\u202efdp.exe"


def test_item11_hidden_characters_in_file_names_are_shown_escaped(store):
    window = login(store, "window")
    docs = [ReportDocument(id="d001", path=RTL_NAME + "\x07", sha256="0" * 64, doc_type="managers_roster", pages=1,
                           status="ok")]
    report = synthetic_case(store, ran_by=window, documents=docs,
                            findings=[finding(1, text="证书\u202e号")])
    for fmt in ("text", "html"):
        out = render(report, fmt, None)
        assert "\u202e" not in out and "\x07" not in out and "\\u202e" in out, fmt
    notice = build_notice(report, report.findings, window)
    assert "\u202e" not in notice.model_dump_json() and "\\u202e" in notice.items[0].concerns
    at = run_page("prereview", window.id, window_report=report.report_id)
    strings = all_strings(at)
    assert not [s for s in strings if "\u202e" in s or "\x07" in s]
    assert any("u202e" in s for s in strings)


# -- 12. anti-framing headers at the reverse proxy ------------------------------------------------

def test_item12_the_reverse_proxy_example_forbids_framing_and_is_documented():
    conf = REPO / "deploy" / "nginx" / "shencha.conf"
    body = conf.read_text(encoding="utf-8")
    assert 'add_header X-Frame-Options "DENY" always;' in body
    assert "frame-ancestors 'none'" in body and "Content-Security-Policy" in body
    assert "proxy_set_header Upgrade" in body  # Streamlit's websocket gets through
    assert "127.0.0.1:8501" in body and "X-Real-IP" in body
    doc = (REPO / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert "deploy/nginx/shencha.conf" in doc and "frame-ancestors" in doc and "SHENCHA_AUDIT_KEY" in doc
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx:  # the example parses as a real configuration
        import subprocess

        wrapper = f"events {{}}\nhttp {{\n{body.replace('ssl_certificate', '# ssl_certificate')}\n}}\n"
        tmp = Path(tempfile.mkdtemp())
        (tmp / "nginx.conf").write_text(wrapper.replace("listen 443 ssl", "listen 8443"), encoding="utf-8")
        check = subprocess.run([nginx, "-t", "-c", str(tmp / "nginx.conf"), "-p", str(tmp)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
