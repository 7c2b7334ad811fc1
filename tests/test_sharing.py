"""The sharing catalogue: each department receives exactly its fields, desensitised, and nothing else."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from registry_sync.normalize import has_resident_id
from shencha.api import create_app
from shencha.cli import app as cli_app
from shencha.review import ReviewOptions, review_path
from shencha.service import sharing
from shencha.service.accounts import seed_demo_accounts
from shencha.service.cases import report_pk
from shencha.service.decisions import decide_case, second_review
from shencha.service.permissions import Role, User
from shencha.store import Store
from tests.api_support import bearer, package_dir, seed

NAMES = ["谭桂兰", "令狐玉成", "邱玉成", "方晓东", "赵金龙", "江超"]  # people named in the package


def _user(store: Store, username: str) -> User:
    from shencha.service.accounts import list_users

    return next(u for u in list_users(store) if u.username == username)


@pytest.fixture
def shared_store(store_url, tmp_path):
    """One reviewed application, granted (a licence), plus the API keys of every entry."""
    keys = seed(store_url)
    store = Store(store_url)
    seed_demo_accounts(store)
    report = review_path(package_dir(tmp_path), store, ReviewOptions(), application_id="HB-2026-0001")
    officer, officer2 = _user(store, "officer"), _user(store, "officer2")
    assert officer.role is Role.officer
    pk = report_pk(store, officer, report.report_id)
    step = decide_case(store, officer, pk, "approve", "材料齐全，准予许可", 0)
    assert step.state == "pending_second_review"  # a grant on a report with failures
    assert second_review(store, officer2, step.key, "confirm", "复核同意").state == "effective"
    return store_url, keys, report


def _walk(value, path=""):
    """Every (path, key) of a JSON value: list items share their list's path."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield path, k
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, path + "[]")


def _allowed(entry: sharing.Entry) -> dict[str, set[str]]:
    allowed = {"": set(sharing.ENVELOPE), ".records": set(entry.records)}
    for kind, rule in entry.records.items():
        allowed[f".records.{kind}[]"] = set(rule.fields)
    return allowed


def test_each_scope_gets_only_its_catalogue_fields(shared_store):
    store_url, keys, _report = shared_store
    cat = sharing.catalogue()
    assert set(cat.entries) == {"yingji", "xiaofang", "shichang"}
    full = sharing.full_records(Store(store_url), None)
    assert full["applications"] and full["persons"] and full["findings"] and full["licences"]
    with TestClient(create_app(store_url, run_jobs=False)) as client:
        for name, entry in cat.entries.items():
            r = client.get(f"/api/v1/shared/{name}", headers=bearer(keys[name]))
            assert r.status_code == 200, r.text
            digest = base64.b64encode(hashlib.sha256(r.content).digest()).decode()
            assert r.headers["content-digest"] == f"sha-256=:{digest}:"
            body = r.json()
            allowed = _allowed(entry)
            # Every key of every object sits where the catalogue allows it; nothing else is there.
            for path, key in _walk(body):
                if path.startswith(".records.") and path.count(".") > 2:
                    pytest.fail(f"{name}: nested value under {path}")
                assert path in allowed and key in allowed[path], f"{name}: {path}.{key} is not in the catalogue"
            for kind, rows in body["records"].items():
                # (a filtered record type may be empty: this package has no fire-safety finding)
                assert rows or entry.records[kind].where, f"{name}.{kind} is empty: the test would prove nothing"
                for row in rows:
                    assert set(row) == set(entry.records[kind].fields)
            text = r.text
            assert not has_resident_id(text), f"{name}: a full resident ID number left"
            for person in NAMES:
                assert person not in text, f"{name}: a full name left ({person})"
            # Values are the catalogue's transforms of the full records.
            for kind, rule in entry.records.items():
                expected = [sharing.desensitise(rec, rule) for rec in full[kind] if sharing._selected(rec, rule)]
                assert json.loads(json.dumps(expected, ensure_ascii=False)) == body["records"][kind]
                for field, transform in rule.fields.items():
                    for row in body["records"][kind]:
                        value = row[field]
                        if value is None:
                            continue
                        if transform == "month":
                            assert re.fullmatch(r"\d{4}-\d{2}", value), (field, value)
                        elif transform == "surname":
                            assert value.endswith("某") and len(value) in (2, 3), value
                        elif transform == "mask_id":
                            assert "*" in value or not re.search(r"\d{17}", value), value
                        elif isinstance(transform, sharing.Ratio):
                            assert isinstance(value, float) and 0 <= value <= 1, value
            # Another entry's scope, or a reading scope, gets nothing.
            for other in cat.entries:
                if other != name:
                    assert client.get(f"/api/v1/shared/{other}", headers=bearer(keys[name])).status_code == 403
        assert client.get("/api/v1/shared/yingji", headers=bearer(keys["platform"])).status_code == 403

        yingji = client.get("/api/v1/shared/yingji", headers=bearer(keys["yingji"])).json()["records"]
        persons = {p["name"] for p in yingji["persons"]}
        assert "令狐某" in persons and "谭某" in persons  # a compound surname is kept whole
        masked = [p["resident_id"] for p in yingji["persons"] if p["resident_id"]]
        assert masked and all(re.fullmatch(r"\d{6}\*{8}[\dX]{4}", v) for v in masked)
        app_row = yingji["applications"][0]
        assert app_row["legal_representative"] == "谭某" and app_row["licence_no"]
        assert re.fullmatch(r"\d{4}-\d{2}", app_row["licence_valid_until"])
        assert app_row["n_fail"] == round(full["applications"][0]["n_fail"] / full["applications"][0]["n_findings"], 3)
        xiaofang = client.get("/api/v1/shared/xiaofang", headers=bearer(keys["xiaofang"])).json()["records"]
        assert {f["category"] for f in xiaofang["findings"]} <= {"standard.fire_separation",
                                                                 "standard.evacuation_width"}
        # since: later than every change → nothing; earlier → everything.
        later = client.get("/api/v1/shared/yingji?since=2999-01-01", headers=bearer(keys["yingji"])).json()
        assert all(rows == [] for rows in later["records"].values())
        earlier = client.get("/api/v1/shared/yingji?since=2000-01-01T00:00:00", headers=bearer(keys["yingji"]))
        assert earlier.json()["records"] == yingji


def test_share_export_writes_the_same(shared_store, tmp_path):
    store_url, keys, _ = shared_store
    out = tmp_path / "yingji.json"
    result = CliRunner().invoke(cli_app, ["share", "export", "yingji", "--since", "2000-01-01", "--out", str(out),
                                          "--db", store_url])
    assert result.exit_code == 0, result.output
    exported = json.loads(out.read_text(encoding="utf-8"))
    with TestClient(create_app(store_url, run_jobs=False)) as client:
        served = client.get("/api/v1/shared/yingji?since=2000-01-01", headers=bearer(keys["yingji"])).json()
    exported.pop("generated_at"), served.pop("generated_at")
    assert exported == served
    assert (out.stat().st_mode & 0o777) == 0o600
    bad = CliRunner().invoke(cli_app, ["share", "export", "nobody", "--out", str(out), "--db", store_url])
    assert bad.exit_code == 2


def test_the_catalogue_refuses_unknown_fields(tmp_path):
    path = tmp_path / "sharing.yaml"
    path.write_text("version: 1\nentries:\n  x:\n    department: 某部门\n    records:\n"
                    "      persons:\n        fields:\n          password_hash: keep\n", encoding="utf-8")
    with pytest.raises(ValueError, match="password_hash"):
        sharing.load_catalogue(path)
    path.write_text("version: 1\nentries:\n  x:\n    department: 某部门\n    records:\n"
                    "      persons:\n        fields:\n          name: rot13\n", encoding="utf-8")
    with pytest.raises(ValueError):
        sharing.load_catalogue(path)
    assert sharing.surname("欧阳娜娜") == "欧阳某" and sharing.surname("王芳") == "王某"
    assert sharing.month("2026-11-20") == "2026-11"
