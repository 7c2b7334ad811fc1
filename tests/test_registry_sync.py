"""Registry sync on a real store (SQLite always, PostgreSQL when SHENCHA_TEST_PG_URL is set)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from registry_sync import store
from registry_sync.lookup import RegistryLookup
from registry_sync.normalize import fold_name, name_keys
from registry_sync.rows import CERT_COLUMNS
from registry_sync.sync import SyncError, sync
from registry_sync.testing import (
    certificate_rows,
    company_rows,
    fresh_engine,
    store_params,
    write_company_csv,
    write_csv,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(params=store_params())
def engine(request, tmp_path):
    eng = fresh_engine(request.param, tmp_path)
    yield eng
    eng.dispose()


def _count(engine, table, **where):
    with engine.connect() as conn:
        q = select(func.count()).select_from(table)
        for col, value in where.items():
            q = q.where(table.c[col].is_(None) if value is None else table.c[col] == value)
        return conn.execute(q).scalar_one()


def _in_force(engine):
    return _count(engine, store.certificates, removed_in=None)


def test_csv_sync_creates_one_snapshot_with_log(engine, tmp_path):
    path = write_csv(tmp_path / "certs.csv", certificate_rows(300))
    result = sync(engine, str(path), as_of=date(2026, 11, 1))
    assert result.status == "ok"
    assert (result.added, result.changed, result.removed, result.quarantined) == (300, 0, 0, 0)
    assert result.snapshot is not None and result.snapshot.as_of == date(2026, 11, 1)
    assert result.snapshot.rows == 300
    assert _in_force(engine) == 300
    with engine.connect() as conn:
        log = conn.execute(select(store.sync_log)).mappings().one()
    assert log["status"] == "ok" and log["added"] == 300 and log["snapshot_id"] == result.snapshot.id
    assert log["duration_s"] is not None and log["source_sha256"]
    assert RegistryLookup(engine).snapshot("certificates").id == result.snapshot.id


def test_same_file_again_changes_nothing(engine, tmp_path):
    path = write_csv(tmp_path / "certs.csv", certificate_rows(200))
    first = sync(engine, str(path), as_of=date(2026, 11, 1))
    again = sync(engine, str(path))
    assert again.status == "unchanged"
    assert again.snapshot.id == first.snapshot.id
    assert _count(engine, store.certificates) == 200
    assert _count(engine, store.snapshots) == 1


def test_same_rows_in_another_order_add_change_remove_nothing(engine, tmp_path):
    rows = list(certificate_rows(200))
    sync(engine, str(write_csv(tmp_path / "a.csv", rows)), as_of=date(2026, 11, 1))
    result = sync(engine, str(write_csv(tmp_path / "b.csv", rows[::-1])), as_of=date(2026, 11, 1))
    assert result.status == "unchanged"
    assert (result.added, result.changed, result.removed, result.unchanged) == (0, 0, 0, 200)
    assert _count(engine, store.certificates) == 200
    assert _count(engine, store.snapshots) == 1


def test_diff_counts_added_changed_removed_and_history_kept(engine, tmp_path):
    rows = list(certificate_rows(100))
    first = sync(engine, str(write_csv(tmp_path / "a.csv", rows)), as_of=date(2026, 10, 1))
    changed = [dict(r) for r in rows]
    changed[0]["status"] = "注销"
    revoked_no = changed[0]["cert_no"]
    removed_no = changed.pop(1)["cert_no"]
    extra = list(certificate_rows(101))[100]
    changed.append(extra)
    second = sync(engine, str(write_csv(tmp_path / "b.csv", changed)), as_of=date(2026, 11, 1))
    assert (second.added, second.changed, second.removed, second.unchanged) == (1, 1, 1, 98)
    assert second.snapshot.rows == 100 and _in_force(engine) == 100
    lookup = RegistryLookup(engine)
    assert lookup.snapshot("certificates").as_of == date(2026, 11, 1)
    assert lookup.certificate(revoked_no).unique.record.status == "revoked"
    assert lookup.certificate(removed_no).hits == []
    # The old version is still there for a report that used the first snapshot.
    old = [r for r in rows if r["cert_no"] == removed_no][0]
    with engine.connect() as conn:
        versions = conn.execute(select(store.certificates.c.added_in, store.certificates.c.removed_in)
                                .where(store.certificates.c.cert_no == removed_no)).all()
    assert versions == [(first.snapshot.id, second.snapshot.id)]
    # Blocking keys follow the versions in force only.
    with engine.connect() as conn:
        k, c = store.cert_name_keys, store.certificates
        stale = conn.execute(select(func.count()).select_from(k.join(c, k.c.cert_id == c.c.id))
                             .where(c.c.removed_in.is_not(None))).scalar_one()
        live = conn.execute(select(func.count()).select_from(k)).scalar_one()
    assert stale == 0
    assert live == sum(len(set(n[:i] + n[i + 1:] for i in range(len(n)))) for n in
                       (r["holder_name"] for r in changed) if len(n) >= 3)
    matches = lookup.holders_by_name(old["holder_name"])
    assert all(m.record.cert_no != removed_no for m in matches)


def test_ten_percent_bad_rows_are_quarantined_with_reasons(engine, tmp_path):
    rows = list(certificate_rows(200))
    bad_kinds = ["missing_no", "bad_date", "bad_id", "bad_status"]
    for i in range(0, 200, 10):  # every tenth row broken, 20 in all
        kind = bad_kinds[(i // 10) % 4]
        if kind == "missing_no":
            rows[i]["cert_no"] = ""
        elif kind == "bad_date":
            rows[i]["valid_until"] = "2026-02-30"
        elif kind == "bad_id":
            rows[i]["holder_id_no"] = rows[i]["holder_id_no"][:-1] + ("0" if rows[i]["holder_id_no"][-1] != "0" else "1")
        else:
            rows[i]["status"] = "待定"
    result = sync(engine, str(write_csv(tmp_path / "bad.csv", rows)), as_of=date(2026, 11, 1))
    assert result.status == "ok"
    assert result.added == 180 and result.quarantined == 20
    assert _in_force(engine) == 180
    with engine.connect() as conn:
        quarantined = conn.execute(select(store.quarantine).where(store.quarantine.c.sync_id == result.sync_id)
                                   .order_by(store.quarantine.c.row_no)).mappings().all()
    assert len(quarantined) == 20
    reasons = [q["reason"] for q in quarantined]
    assert sum("缺少证书编号" in r for r in reasons) == 5
    assert sum("有效期止" in r and "日期无效" in r for r in reasons) == 5
    assert sum("身份证号校验位错误" in r for r in reasons) == 5
    assert sum("状态取值无法识别" in r for r in reasons) == 5
    # CSV line 2 is data row 0; the raw row is kept for correction.
    assert quarantined[0]["row_no"] == 2
    assert json.loads(quarantined[0]["raw"])["cert_no"] == ""
    # Reasons never quote an ID number.
    assert not any(r["holder_id_no"] in q for r in rows for q in reasons)
    # Nothing half-loaded: no quarantined certificate number is in the store.
    lookup = RegistryLookup(engine)
    for i in range(10, 200, 40):  # the bad_date rows
        assert lookup.certificate(rows[i]["cert_no"]).hits == []


def test_duplicate_numbers_in_one_file_are_quarantined(engine, tmp_path):
    rows = list(certificate_rows(20))
    rows.append(dict(rows[3], holder_name="冒名"))
    result = sync(engine, str(write_csv(tmp_path / "dup.csv", rows)))
    assert result.added == 20 and result.quarantined == 1
    assert "与第 5 行重复" in result.quarantine_sample[0].reason


def test_fault_midway_leaves_previous_snapshot_in_force(engine, tmp_path):
    rows = list(certificate_rows(120))
    first = sync(engine, str(write_csv(tmp_path / "a.csv", rows)), as_of=date(2026, 10, 1))
    changed = [dict(r, status="暂扣") for r in rows]

    def explode(rows_read: int) -> None:
        if rows_read >= 50:
            raise RuntimeError("disk full (injected)")

    with pytest.raises(SyncError) as info:
        sync(engine, str(write_csv(tmp_path / "b.csv", changed)), as_of=date(2026, 11, 1),
             batch_size=20, on_batch=explode)
    assert info.value.result.status == "failed"
    assert "原有快照保持有效" in str(info.value)
    lookup = RegistryLookup(engine)
    assert lookup.snapshot("certificates").id == first.snapshot.id
    assert _count(engine, store.snapshots) == 1
    assert _count(engine, store.certificates) == 120
    english = {"有效": "valid", "过期": "expired", "注销": "revoked", "暂扣": "suspended"}
    assert [lookup.certificate(r["cert_no"]).unique.record.status for r in rows[:60]] == \
        [english[r["status"]] for r in rows[:60]]
    with engine.connect() as conn:
        statuses = [r[0] for r in conn.execute(select(store.sync_log.c.status).order_by(store.sync_log.c.id))]
    assert statuses == ["ok", "failed"]


def test_killed_process_leaves_previous_snapshot_in_force(engine, tmp_path):
    rows = list(certificate_rows(60))
    first = sync(engine, str(write_csv(tmp_path / "a.csv", rows)), as_of=date(2026, 10, 1))
    big = write_csv(tmp_path / "big.csv", certificate_rows(3000, seed=99))
    flag = tmp_path / "started"
    script = textwrap.dedent(f"""
        import time, pathlib
        from registry_sync import store
        from registry_sync.sync import sync
        engine = store.make_engine({str(engine.url.render_as_string(hide_password=False))!r})
        def slow(n):
            pathlib.Path({str(flag)!r}).write_text(str(n))
            time.sleep(0.2)
        sync(engine, {str(big)!r}, batch_size=100, on_batch=slow)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.time() + 60
    while not flag.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert flag.exists(), "the child never started loading"
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    engine.dispose()
    lookup = RegistryLookup(engine)
    assert lookup.snapshot("certificates").id == first.snapshot.id
    assert _count(engine, store.certificates) == 60
    with engine.connect() as conn:
        statuses = [r[0] for r in conn.execute(select(store.sync_log.c.status).order_by(store.sync_log.c.id))]
    assert statuses == ["ok", "running"]  # the crash is on the record, unfinished
    # And the next sync still works.
    after = sync(engine, str(big))
    assert after.status == "ok" and after.snapshot.rows == 3000


def test_chinese_headers_with_mapping_file_and_status_values(engine, tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(
        "证书编号,持证人姓名,身份证号,操作类别,有效期至,证书状态,备注\n"
        "T110101198001010010,张伟,110101198001010010,电工作业,2027/06/30,有效,\n"
        "T110101198001010037,李娜,110101198001010037,焊接与热切割作业,2025年1月1日,过期,\n"
        "T110101198001010045,王芳,110101198001010045,高处作业,2028-01-01,注销,\n"
        "T110101198001010053,刘洋,110101198001010053,高处作业,2028-01-01,暂扣,\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "cert_no: 证书编号\nholder_name: [姓名, 持证人姓名]\nholder_id_no: 身份证号\n"
        "category: 操作类别\nvalid_until: 有效期至\nstatus: 证书状态\n",
        encoding="utf-8",
    )
    result = sync(engine, str(path), mapping=mapping)
    assert result.quarantined == 0, result.quarantine_sample
    lookup = RegistryLookup(engine)
    statuses = {r: lookup.certificate(r).unique.record.status for r in
                ("T110101198001010010", "T110101198001010037", "T110101198001010045", "T110101198001010053")}
    assert list(statuses.values()) == ["valid", "expired", "revoked", "suspended"]
    rec = lookup.certificate("T110101198001010010").unique.record
    assert rec.cert_type == "special_operation"  # inferred from the T + ID number
    assert rec.valid_until == date(2027, 6, 30)


def test_mapping_to_missing_column_is_a_clear_error(engine, tmp_path):
    path = write_csv(tmp_path / "certs.csv", certificate_rows(5))
    mapping = tmp_path / "map.yaml"
    mapping.write_text("cert_no: 证书号码\n", encoding="utf-8")
    with pytest.raises(SyncError, match="证书号码"):
        sync(engine, str(path), mapping=mapping)
    bad = tmp_path / "bad.yaml"
    bad.write_text("certificate: 证书编号\n", encoding="utf-8")
    with pytest.raises(SyncError, match="未知的标准列"):
        sync(engine, str(path), mapping=bad)
    assert RegistryLookup(engine).snapshot("certificates") is None


def test_jsonl_source_with_a_broken_line(engine, tmp_path):
    rows = list(certificate_rows(10))
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines.insert(4, "{not json")
    path = tmp_path / "certs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = sync(engine, str(path))
    assert result.added == 10 and result.quarantined == 1
    assert result.quarantine_sample[0].row_no == 5
    assert "JSON" in result.quarantine_sample[0].reason


def test_jsonl_nested_values_are_quarantined_not_a_failed_sync(engine, tmp_path):
    rows = list(certificate_rows(10))
    rows[2]["cert_type"] = ["special_operation"]  # used to raise TypeError and fail the whole sync
    rows[6]["cert_no"] = {"no": rows[6]["cert_no"]}  # used to be stored as the text "{'NO': ...}"
    path = tmp_path / "certs.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result = sync(engine, str(path))
    assert result.status == "ok" and result.added == 8 and result.quarantined == 2
    assert [q.row_no for q in result.quarantine_sample] == [3, 7]
    assert "证书类型" in result.quarantine_sample[0].reason
    assert result.quarantine_sample[1].reason == "证书编号：应为文本"


def test_xlsx_source_with_chinese_headers_dates_and_numbers(engine, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["证书编号", "姓名", "身份证号", "作业类别", "有效期至", "状态"])
    ws.append(["T110101198001010010", "张伟", "110101198001010010", "电工作业", date(2027, 6, 30), "有效"])
    # Excel stored this ID as a number and lost its last digits: quarantined.
    ws.append(["T110101198001010037", "李娜", 110101198001010037.0, "电工作业", date(2027, 6, 30), "有效"])
    path = tmp_path / "certs.xlsx"
    wb.save(path)
    result = sync(engine, str(path))
    assert result.added == 1 and result.quarantined == 1
    assert "身份证号" in result.quarantine_sample[0].reason
    rec = RegistryLookup(engine).certificate("T110101198001010010").unique.record
    assert rec.valid_until == date(2027, 6, 30) and rec.holder_name == "张伟"


def test_gb18030_csv_is_read(engine, tmp_path):
    path = tmp_path / "gbk.csv"
    text = ",".join(CERT_COLUMNS) + "\n" + \
        "T110101198001010010,special_operation,张伟,110101198001010010,电工作业,,,,,2027-01-01,有效,\n"
    path.write_bytes(text.encode("gb18030"))
    assert sync(engine, str(path)).added == 1


def test_company_sync_and_lookup(engine, tmp_path):
    rows = list(company_rows(50))
    result = sync(engine, str(write_company_csv(tmp_path / "co.csv", rows)), kind="companies",
                  as_of=date(2026, 11, 1))
    assert result.added == 50
    lookup = RegistryLookup(engine)
    rec = lookup.company_by_uscc(rows[7]["uscc"])
    assert rec is not None and rec.name == rows[7]["name"]
    hits = lookup.companies_by_name(rows[7]["name"].replace("有限公司", "有限责任公司"))
    assert hits and hits[0].record.uscc == rows[7]["uscc"]
    assert lookup.company(uscc="91110000999999999X", name=rows[9]["name"])[0].record.uscc == rows[9]["uscc"]
    # Certificates and companies keep separate snapshots.
    assert lookup.snapshot("certificates") is None


def test_unsupported_file_types_are_clear_errors(engine, tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(Exception, match="xls"):
        sync(engine, str(path))
    with pytest.raises(Exception, match="找不到文件"):
        sync(engine, str(tmp_path / "missing.csv"))


def test_name_keys_built_by_the_database_equal_name_keys(engine, tmp_path):
    """The store derives fuzzy-search keys in SQL; they must be the Python ones, exactly."""
    names = ["王王明", "李丽丽", "欧阳明明", "张三", "艾力·买买提", "陳國華", "王小小明", "赵赵赵"]
    rows = list(certificate_rows(len(names)))
    for row, name in zip(rows, names):
        row["holder_name"] = name
    sync(engine, str(write_csv(tmp_path / "names.csv", rows)), as_of=date(2026, 11, 1))
    with engine.connect() as conn:
        k, c = store.cert_name_keys, store.certificates
        stored = conn.execute(select(c.c.holder_name_folded, k.c.key, k.c.name)
                              .select_from(k.join(c, k.c.cert_id == c.c.id))).all()
    got: dict[str, list[str]] = {}
    for folded, key, name in stored:
        assert name == folded
        got.setdefault(folded, []).append(key)
    expected = {fold_name(n): sorted(name_keys(fold_name(n))) for n in names if name_keys(fold_name(n))}
    assert {n: sorted(keys) for n, keys in got.items()} == expected
    assert "陈国华" in expected  # folded to simplified before the keys are taken


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_worker_processes_give_the_same_result_as_one_process(tmp_path, quoted):
    # Without quotes the workers count lines instead of parsing rows they do
    # not validate; with them every worker parses the whole file.
    rows = list(certificate_rows(9000))
    for i in range(0, 9000, 97):
        rows[i]["valid_until"] = "31/12/2026"
    rows.insert(5000, dict(rows[4100]))  # a duplicate across batch boundaries
    if quoted:
        rows[3000]["employer_name"] = "华安建设,有限公司\n第二行"  # a comma and a line break in one cell
    path = write_csv(tmp_path / "certs.csv", rows)
    path.write_text(path.read_text(encoding="utf-8") + "\n,,,\n", encoding="utf-8")  # blank rows at the end
    assert ('"' in path.read_text(encoding="utf-8")) == quoted
    results = []
    for workers in (0, 2):
        (tmp_path / f"w{workers}").mkdir()
        engine = fresh_engine("sqlite", tmp_path / f"w{workers}")
        r = sync(engine, str(path), workers=workers, as_of=date(2026, 11, 1))
        with engine.connect() as conn:
            quarantined = conn.execute(select(store.quarantine.c.row_no, store.quarantine.c.reason)
                                       .order_by(store.quarantine.c.row_no)).all()
            stored = conn.execute(select(store.certificates.c.id, store.certificates.c.cert_no,
                                         store.certificates.c.row_hash).order_by(store.certificates.c.id)).all()
        results.append((r.added, r.quarantined, quarantined, stored))
        engine.dispose()
    assert results[0][0] == 9000 - 93 and results[0][1] == 93 + 1
    assert results[0] == results[1]


def test_worker_failure_fails_the_sync(tmp_path):
    engine = fresh_engine("sqlite", tmp_path)
    path = tmp_path / "bad.csv"
    path.write_bytes(b"cert_no,holder_name\n" + "T1,张\n".encode("utf-8") * 3000 + b"\xff\xfe broken\n")
    with pytest.raises(SyncError):
        sync(engine, str(path), workers=2)
    assert RegistryLookup(engine).snapshot("certificates") is None


def test_counting_lines_gives_the_rows_csv_parsing_gives(tmp_path):
    """The workers' line-counting path (files without quotes) sees exactly csv's rows."""
    from registry_sync.sources import CsvSource

    path = tmp_path / "edge.csv"
    path.write_text("a,b,c\n1,2,3\n,,\n\n  \n4,5\n,,,\n7,8,9\n", encoding="utf-8")
    source = CsvSource(path)
    parsed = list(source.rows())
    assert list(source.rows(lambda ordinal: True)) == parsed
    assert [row_no for row_no, _ in parsed] == [2, 3, 6, 8]  # the empty-celled row 3 is a row
    skipped = list(source.rows(lambda ordinal: ordinal % 2 == 1))
    assert [row_no for row_no, _ in skipped] == [2, 3, 6, 8]
    assert [raw for _, raw in skipped][0::2] == [None, None]
