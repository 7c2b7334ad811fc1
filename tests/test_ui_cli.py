"""`shencha users` and `shencha ui` on the command line."""

from __future__ import annotations

from typer.testing import CliRunner

from shencha.cli import app
from shencha.service.accounts import authenticate
from shencha.service.audit import entries, verify
from shencha.store import Store

runner = CliRunner()


def test_users_add_list_and_seed_demo(tmp_path):
    url = f"sqlite:///{tmp_path / 'shencha.db'}"
    added = runner.invoke(app, ["users", "add", "li.ming", "--role", "officer", "--name", "李明",
                                "--password", "a-good-password", "--db", url])
    assert added.exit_code == 0, added.output
    again = runner.invoke(app, ["users", "add", "li.ming", "--role", "officer", "--password", "a-good-password",
                                "--db", url])
    assert again.exit_code == 1 and "已存在" in again.output
    short = runner.invoke(app, ["users", "add", "x2", "--role", "officer", "--password", "short", "--db", url])
    assert short.exit_code == 2
    bad_role = runner.invoke(app, ["users", "add", "x3", "--role", "boss", "--password", "a-good-password",
                                   "--db", url])
    assert bad_role.exit_code == 2
    listed = runner.invoke(app, ["users", "list", "--db", url])
    assert "li.ming\tofficer\t审批人员\t李明\t启用" in listed.output
    assert "a-good-password" not in listed.output
    store = Store(url)
    assert authenticate(store, "li.ming", "a-good-password") is not None
    assert [e.action for e in entries(store, None, newest_first=False)] == ["user_add", "login"]
    assert verify(store, None).ok


def test_ui_command_is_there():
    result = runner.invoke(app, ["ui", "--help"])
    assert result.exit_code == 0 and "--port" in result.output and "127.0.0.1" in result.output
