"""`shencha audit verify`: passes on an honest trail, fails naming the entry after edits or deletions."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from shencha import service as svc
from shencha.cli import app
from shencha.service.audit import append, verify
from shencha.store import Store

from .e2e.support import login, synthetic_case

runner = CliRunner()


@pytest.fixture
def trail(store_url):
    """A store with an honest trail: a login, a view, two decisions, a review run and a rule change."""
    store = Store(store_url)
    report = synthetic_case(store)
    rid = store.report_row_id(report.report_id)
    officer = login(store, "officer")
    svc.open_case(store, officer, rid)
    svc.decide_finding(store, officer, rid, report.findings[0].id, "confirm", "证书过期", 0)
    svc.decide_case(store, officer, rid, "correction", "要求补正证书", 0)
    append(store, "window", "run_review", report.report_id, {"findings": 2})
    append(store, "author", "rule_change", "rule:registry.certificates.v1", {"change": "严重程度改为中"}, "多数被排除")
    return store_url, store


def _verify(url: str):
    return runner.invoke(app, ["audit", "verify", "--db", url])


def _sql(store: Store, statement: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement))


def test_an_honest_trail_verifies(trail):
    url, store = trail
    result = _verify(url)
    assert result.exit_code == 0, result.output
    assert "审计记录完整" in result.output and "共 7 条" in result.output
    assert verify(store, None).ok


def test_an_edited_entry_is_named(trail):
    url, store = trail
    _sql(store, "UPDATE audit_log SET reason = '改过的理由' WHERE seq = 4")
    result = _verify(url)
    assert result.exit_code == 1
    assert "第 4 条" in result.output and "内容已被改动" in result.output
    assert verify(store, None).bad_seq == 4


def test_an_edited_entry_with_a_recomputed_hash_is_still_caught(trail):
    """Recomputing the edited entry's own hash breaks the link from the next one."""
    from shencha.service.audit import entry_hash

    url, store = trail
    with store.engine.begin() as conn:
        row = conn.execute(text("SELECT seq, at, actor, action, target, detail, reason, prev_hash "
                                "FROM audit_log WHERE seq = 3")).one()
        forged = entry_hash(row.seq, row.at, "someone-else", row.action, row.target, row.detail, row.reason,
                            row.prev_hash)
        conn.execute(text("UPDATE audit_log SET actor = 'someone-else', hash = :h WHERE seq = 3"), {"h": forged})
    result = _verify(url)
    assert result.exit_code == 1
    assert "第 4 条" in result.output and "前序哈希不符" in result.output


def test_a_deleted_entry_is_named(trail):
    url, store = trail
    _sql(store, "DELETE FROM audit_log WHERE seq = 5")
    result = _verify(url)
    assert result.exit_code == 1
    assert "第 5 条已被删除" in result.output
    assert verify(store, None).bad_seq == 5


def test_deleting_the_newest_entry_is_caught(trail):
    url, store = trail
    _sql(store, "DELETE FROM audit_log WHERE seq = 7")
    result = _verify(url)
    assert result.exit_code == 1 and "第 7–7 条（最新的记录）已被删除" in result.output


def test_an_edited_decision_is_caught_against_its_entry(trail):
    url, store = trail
    _sql(store, "UPDATE finding_decisions SET decision = 'dismiss'")
    result = _verify(url)
    assert result.exit_code == 1 and "决定记录 #1" in result.output and "已被改动" in result.output


def test_a_deleted_decision_entry_is_caught(trail):
    url, store = trail
    _sql(store, "DELETE FROM audit_log WHERE action = 'decide_case'")
    result = _verify(url)
    assert result.exit_code == 1 and "已被删除" in result.output


def test_appending_after_verification_keeps_the_chain(trail):
    _url, store = trail
    for n in range(3):
        append(store, "supervisor", "audit_verify", "audit", {"n": n})
    assert verify(store, None).ok and verify(store, None).entries == 10


def test_no_other_writer_slips_between_reading_the_head_and_appending(tmp_path):
    """SQLite: the head is read under the write lock, so two processes never take the same number.

    Without it, the API's per-call entries and its review jobs' entries
    (other processes) read the same head and collided on audit_log.seq:
    under load a job failed and GET /reports answered 500.
    """
    import sqlite3

    from sqlalchemy import event

    url = f"sqlite:///{tmp_path / 'trail.db'}"
    store = Store(url)
    append(store, "platform", "api_call", "/api/v1/jobs/1", {"status": 200})
    interloper: list[str] = []

    @event.listens_for(store.engine, "after_cursor_execute")
    def _another_process_appends(conn, cursor, statement, *args):
        # Right after this writer read the head: may another process write now?
        if statement.lstrip().startswith("SELECT") and "FROM audit_head" in statement and not interloper:
            other = sqlite3.connect(tmp_path / "trail.db", timeout=0.2, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")  # what another process's append needs
                other.execute("ROLLBACK")
                interloper.append("took the write lock between the head read and the append")
            except sqlite3.OperationalError:
                interloper.append("locked out")
            finally:
                other.close()

    append(store, "job", "run_review", "app-1-v1", {"findings": 2})
    assert interloper == ["locked out"]
    assert verify(store, None).ok
