"""``shencha registry`` sub-commands, run through Typer's runner on a real SQLite file."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from registry_sync.cli import app
from registry_sync.testing import certificate_rows, write_csv

runner = CliRunner()


def test_sync_then_lookup(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SHENCHA_DB", db)  # the default store comes from the environment
    rows = list(certificate_rows(50))
    rows[4]["valid_until"] = "not a date"
    path = write_csv(tmp_path / "certs.csv", rows)

    res = runner.invoke(app, ["sync", str(path), "--as-of", "2026-11-01", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "同步完成：快照 #1，截至 2026-11-01，在册 49 条" in res.output
    assert "隔离 1" in res.output and "第 6 行" in res.output

    res = runner.invoke(app, ["sync", str(path), "--quiet"])
    assert res.exit_code == 0 and "数据未变化" in res.output

    target = rows[7]
    res = runner.invoke(app, ["lookup", "--cert", target["cert_no"].replace("0", "O")])
    assert res.exit_code == 0, res.output
    assert target["holder_name"] in res.output and "按易混字符折算后匹配" in res.output
    assert target["holder_id_no"] not in res.output  # masked
    assert target["holder_id_no"][:6] + "********" + target["holder_id_no"][-4:] in res.output

    res = runner.invoke(app, ["lookup", "--name", target["holder_name"], "--format", "json", "--db", db])
    data = json.loads(res.output)
    assert data["holders_by_name"][0]["record"]["holder_name"] == target["holder_name"]
    assert data["snapshots"]["certificates"]["as_of"] == "2026-11-01"

    res = runner.invoke(app, ["lookup", "--id-no", target["holder_id_no"]])
    assert res.exit_code == 0 and target["holder_name"] in res.output

    res = runner.invoke(app, ["log"])
    assert "成功" in res.output and "无变化" in res.output

    res = runner.invoke(app, ["quarantine"])
    assert res.exit_code == 0 and "隔离 1 行" in res.output and "第 6 行" in res.output and "日期" in res.output


def test_usage_and_input_errors(tmp_path):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert runner.invoke(app, ["lookup", "--db", db]).exit_code == 2
    res = runner.invoke(app, ["sync", str(tmp_path / "missing.csv"), "--db", db])
    assert res.exit_code == 1 and "找不到文件" in res.output
    res = runner.invoke(app, ["sync", str(tmp_path / "x.csv"), "--as-of", "11/01/2026", "--db", db])
    assert res.exit_code == 2
    path = write_csv(tmp_path / "c.csv", certificate_rows(3))
    res = runner.invoke(app, ["sync", str(path), "--kind", "people", "--db", db])
    assert res.exit_code == 2
