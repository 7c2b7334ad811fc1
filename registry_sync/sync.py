"""One sync = one atomic snapshot.

The whole load (new snapshot row, new row versions, end marks on replaced
and removed rows, quarantined rows, the log's final counts) is one database
transaction: a failure anywhere rolls it back and the snapshot in force stays
in force. Only the "running" and "failed" log entries are written outside it,
so a crashed or failed sync is still on the record.

Rows are compared by a content hash of their canonical columns, so loading
the same data again adds, changes and removes nothing; loading the very same
file (same sha256) with no new as-of date is recognised before parsing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, bindparam, func, insert, select, text, update

from . import store
from .mapping import ColumnMapping, HeaderResolver, MappingError, load_mapping
from .normalize import (
    cert_keys,
    company_grams,
    fold_company_name,
    fold_names,
    mask_ids_in_text,
)
from .records import CertificateRecord, CompanyRecord, Snapshot
from .rows import COLUMNS, LABELS, validate_batch
from .sources import BrokenRow, CsvSource, JsonLinesSource, Source, SourceError, open_source

log = logging.getLogger(__name__)

Kind = Literal["certificates", "companies"]
KINDS: tuple[str, ...] = ("certificates", "companies")


class QuarantinedRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    row_no: int
    reason: str


class SyncResult(BaseModel):
    """What a sync did; also what the sync log holds."""

    model_config = ConfigDict(extra="forbid")

    sync_id: int
    kind: str
    source: str
    mode: Literal["full", "incremental"]
    status: Literal["ok", "unchanged", "failed"]
    snapshot: Snapshot | None = None
    rows_read: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    quarantined: int = 0
    duration_s: float = 0.0
    cursor: str | None = None
    quarantine_sample: list[QuarantinedRow] = Field(default_factory=list)
    error: str | None = None


class SyncError(RuntimeError):
    """The sync failed and was rolled back; ``result`` is its log entry."""

    def __init__(self, message: str, result: SyncResult):
        super().__init__(message)
        self.result = result


class _Unchanged(Exception):
    """Raised inside the transaction to roll back a sync that changed nothing."""


class _KindSpec:
    """Per-kind tables, stored column order and derived columns."""

    def __init__(self, kind: str, *, iso_dates: bool = False):
        self.kind = kind
        self.columns = COLUMNS[kind]
        self.iso_dates = iso_dates
        if kind == "certificates":
            self.table, self.keys_table = store.certificates, store.cert_name_keys
            self.key_col, self.keys_fk, self.keys_col = "cert_no", "cert_id", "key"
            self.derived = ["cert_key", "holder_name_folded"]
        elif kind == "companies":
            self.table, self.keys_table = store.companies, store.company_grams
            self.key_col, self.keys_fk, self.keys_col = "uscc", "company_id", "gram"
            self.derived = ["name_folded"]
        else:
            raise ValueError(f"未知的登记库类型：{kind}（应为 certificates 或 companies）")
        self.stored = ["id", *self.columns, *self.derived, "row_hash", "added_in", "removed_in"]
        record = CertificateRecord if kind == "certificates" else CompanyRecord
        self.date_positions = [i for i, c in enumerate(self.columns)
                               if record.model_fields[c].annotation in (date, date | None)]
        self.keys_columns = [self.keys_col, self.keys_fk]
        # Certificate name keys are derived by the database from the stored
        # folded names (see _insert_name_keys): a million rows give three
        # million keys, too many to build and send row by row from Python.
        self.keys_in_sql = kind == "certificates"

    def derive(self, columns: dict[str, list[Any]]) -> tuple[list[tuple], list[int], list[tuple[str, ...]] | None]:
        """Stored rows (without id/added_in/removed_in), content hashes and
        blocking keys of validated rows, computed column by column."""
        cells = [columns[c] for c in self.columns]
        iso = list(cells)
        for i in self.date_positions:
            iso[i] = [None if d is None else d.isoformat() for d in cells[i]]
        # Hash text, not repr(): the same content gives the same hash on every dialect.
        text = [col if None not in col else ["\x00" if v is None else v for v in col] for col in iso]
        hashes = [_row_hash(row) for row in map("\x1f".join, zip(*text))]
        stored = iso if self.iso_dates else cells
        keys: list[tuple[str, ...]] | None = None
        if self.kind == "certificates":
            derived = [cert_keys(columns["cert_no"]), fold_names(columns["holder_name"])]
        else:
            folded = [fold_company_name(name) for name in columns["name"]]
            derived = [folded]
            keys = [tuple(company_grams(name)) for name in folded]
        return list(zip(*stored, *derived)), hashes, keys


def _row_hash(text: str) -> int:
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)  # fits a signed BIGINT


# The symmetric-delete keys of normalize.name_keys, computed by the database
# for the certificates just stored (ids lo..hi): the name minus the
# character at each position i, for names of three or more characters.
# Deleting either of two equal neighbours gives the same key, so only the
# last position of each run of equal characters is kept (the SQL twin of
# name_keys' set). Plain SQL that SQLite and PostgreSQL both run.
_NAME_KEYS_SQL = text(f"""
INSERT INTO {store.cert_name_keys.name} (key, cert_id, name)
WITH RECURSIVE pos(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM pos WHERE i < :longest)
SELECT substr(c.holder_name_folded, 1, pos.i - 1) || substr(c.holder_name_folded, pos.i + 1),
       c.id, c.holder_name_folded
FROM {store.certificates.name} AS c JOIN pos ON pos.i <= length(c.holder_name_folded)
WHERE c.id BETWEEN :lo AND :hi AND length(c.holder_name_folded) >= 3
  AND (pos.i = length(c.holder_name_folded)
       OR substr(c.holder_name_folded, pos.i, 1) <> substr(c.holder_name_folded, pos.i + 1, 1))
""")


def _insert_name_keys(conn, rows: list[tuple], name_pos: int) -> None:
    """Name keys for certificate rows just inserted (``rows`` as stored, id first)."""
    if not rows:
        return
    # Positions only up to the longest name: each row is joined to every position.
    longest = max(len(r[name_pos]) for r in rows)
    if longest >= 3:
        conn.execute(_NAME_KEYS_SQL, {"lo": rows[0][0], "hi": rows[-1][0], "longest": longest})


# ------------------------------------------------------- row processing
#
# Reading, validating and deriving a row costs several times more than
# storing it, so for large files the work runs in worker processes: each
# worker reads the whole file (parsing is cheap) but validates only its own
# batches; the loader takes batches back in file order, so the outcome
# (which duplicate is first, which row number is quarantined) is the same
# as in one process.

_BATCH = 2000
Item = tuple  # ("ok", row_no, key, data, row_hash, keys) | ("bad", row_no, reason, raw_json)


def _ALL(index: int) -> bool:
    return True


def _items(spec: _KindSpec, pending: list[tuple[int, Any]], resolver: HeaderResolver | None) -> list[Item]:
    """One batch of source rows, ``(row_no, row)``, validated together and in their order."""
    out: list[Item | None] = [None] * len(pending)
    where: list[int] = []  # positions in ``pending`` of the rows validated
    mapped: list[Any] = []
    for j, (row_no, raw) in enumerate(pending):
        if isinstance(raw, BrokenRow):
            out[j] = ("bad", row_no, raw.reason, raw.raw)
        else:
            # Validation reads only canonical keys, so canonical rows skip the copy.
            mapped.append(raw if resolver is None or resolver.identity else resolver(raw))
            where.append(j)
    checked = validate_batch(spec.kind, mapped)
    for k, reason in enumerate(checked.reasons):
        if reason is not None:
            row_no, raw = pending[where[k]]
            out[where[k]] = ("bad", row_no, reason, _raw_json(raw))
    data, hashes, keys = spec.derive(checked.columns)
    key_values = checked.columns[spec.key_col]
    for m, k in enumerate(checked.valid):
        j = where[k]
        out[j] = ("ok", pending[j][0], key_values[m], data[m], hashes[m], keys[m] if keys else ())
    return out  # type: ignore[return-value]  # every position is filled above


def _batches(spec: _KindSpec, source: Source, mapping: ColumnMapping | None,
             mine: Callable[[int], bool] = _ALL) -> Iterator[tuple[int, list[Item], tuple[int, int | None]]]:
    """(batch index, items, source progress) for each batch this process handles."""
    headers = source.headers()
    resolver = HeaderResolver(spec.kind, headers, mapping) if headers is not None else None
    pending: list[tuple[int, Any]] = []  # (row_no, source row) of this batch
    index = count = 0
    everything = mine is _ALL
    for row_no, raw in source.rows(None if everything else (lambda ordinal: mine(ordinal // _BATCH))):
        count += 1
        if raw is not None and mine(index):
            if resolver is None and not isinstance(raw, BrokenRow):
                # No header row (JSON lines): the first object's keys are the headers.
                resolver = HeaderResolver(spec.kind, list(raw) + list(spec.columns), mapping)
            pending.append((row_no, raw))
        if count == _BATCH:
            if mine(index):
                yield index, _items(spec, pending, resolver), source.progress()
            pending, count, index = [], 0, index + 1
    if count and mine(index):
        yield index, _items(spec, pending, resolver), source.progress()


def _worker(spec, source, mapping, k, n, queue) -> None:  # pragma: no cover - runs in a child
    try:
        for index, batch, pos in _batches(spec, source, mapping, lambda i: i % n == k):
            queue.put(("batch", index, batch, pos))
        queue.put(("done", None, None, None))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the sync
        queue.put(("error", type(exc).__name__, str(exc), None))


def _parallel_batches(spec, source, mapping, workers: int) -> Iterator[tuple[int, list[Item], tuple[int, int | None]]]:
    ctx = mp.get_context("fork")
    queues = [ctx.Queue(maxsize=4) for _ in range(workers)]
    procs = [ctx.Process(target=_worker, args=(spec, source, mapping, k, workers, queues[k]), daemon=True)
             for k in range(workers)]
    for proc in procs:
        proc.start()
    try:
        index = 0
        while True:
            kind, a, b, c = queues[index % workers].get()
            if kind == "done":
                return  # batch `index` does not exist, so none after it does
            if kind == "error":
                if a == "SourceError":
                    raise SourceError(b)
                if a == "MappingError":
                    raise MappingError(b)
                raise RuntimeError(f"{a}: {b}")
            yield a, b, c
            index += 1
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=5)
        for q in queues:
            q.cancel_join_thread()
            q.close()


def _default_workers(source: Source) -> int:
    """Worker processes for this source: none for small files, HTTP or one CPU."""
    if not isinstance(source, (CsvSource, JsonLinesSource)) or sys.platform == "win32":
        return 0
    done, size = source.progress()
    if not size or size < 8 << 20:  # below ~50k rows the start-up costs more than it saves
        return 0
    return min(2, os.cpu_count() or 1) if (os.cpu_count() or 1) > 1 else 0


def _now() -> datetime:
    return datetime.now(timezone.utc)


def snapshot_in_force(conn, kind: str) -> Snapshot | None:
    row = conn.execute(
        select(store.snapshots).where(store.snapshots.c.kind == kind)
        .order_by(store.snapshots.c.id.desc()).limit(1)
    ).mappings().first()
    if row is None:
        return None
    return Snapshot(id=row["id"], kind=row["kind"], as_of=row["as_of"], source=row["source"],
                    created_at=row["created_at"], rows=row["rows"])


def last_cursor(engine: Engine, kind: str, source_name: str) -> str | None:
    """The ``updated_since`` cursor the last successful sync of this source ended at."""
    with engine.connect() as conn:
        return conn.execute(
            select(store.sync_log.c.cursor)
            .where(store.sync_log.c.kind == kind, store.sync_log.c.source == source_name,
                   store.sync_log.c.status.in_(("ok", "unchanged")),
                   store.sync_log.c.cursor.is_not(None))
            .order_by(store.sync_log.c.id.desc()).limit(1)
        ).scalar()


def _raw_json(raw: Any) -> str:
    if isinstance(raw, BrokenRow):
        return raw.raw
    return json.dumps(raw, ensure_ascii=False, default=str)


def sync(
    engine: Engine,
    source: Source | str,
    *,
    kind: str = "certificates",
    mapping: ColumnMapping | str | Path | None = None,
    as_of: date | None = None,
    batch_size: int = 5000,
    progress: Callable[[int, tuple[int, int | None]], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> SyncResult:
    """Load ``source`` as the new snapshot of ``kind``.

    ``progress(rows_read, (done, total))`` is called after each batch;
    ``on_batch(rows_read)`` too, inside the transaction (tests inject faults
    there). ``workers``: validation processes (None: chosen by file size).
    Raises :class:`SyncError` when the sync fails; the previous snapshot is
    then still the one in force.
    """
    spec = _KindSpec(kind, iso_dates=engine.dialect.name == "sqlite")
    if isinstance(source, str):
        source = open_source(source)
    if mapping is not None and not isinstance(mapping, ColumnMapping):
        mapping = load_mapping(mapping)
    store.create_tables(engine)

    started = _now()
    t0 = time.perf_counter()
    mode: Literal["full", "incremental"] = "incremental" if source.incremental else "full"
    with engine.begin() as conn:
        sync_id = conn.execute(
            insert(store.sync_log).values(kind=kind, source=source.name, mode=mode, status="running",
                                          started_at=started).returning(store.sync_log.c.id)
        ).scalar_one()
    result = SyncResult(sync_id=sync_id, kind=kind, source=source.name, mode=mode, status="ok")
    log.info("registry sync %d started: kind=%s source=%s mode=%s", sync_id, kind, source.name, mode)

    try:
        fingerprint = source.fingerprint()
        with engine.connect() as conn:
            current_snap = snapshot_in_force(conn, kind)
            prev_sha = None
            if current_snap is not None:
                prev_sha = conn.execute(
                    select(store.snapshots.c.source_sha256).where(store.snapshots.c.id == current_snap.id)
                ).scalar()
        if (fingerprint and current_snap is not None and fingerprint == prev_sha
                and (as_of is None or as_of == current_snap.as_of)):
            result.status = "unchanged"
            result.snapshot = current_snap
        else:
            try:
                _load(engine, spec, source, mapping, as_of or date.today(), fingerprint, result,
                      current_snap, batch_size, progress, on_batch, t0, workers)
            except _Unchanged:
                result.status = "unchanged"
                result.snapshot = current_snap
    except Exception as exc:  # noqa: BLE001 - every failure is logged, then re-raised
        result.status = "failed"
        result.snapshot = None
        # SQL errors can quote row values: never let an ID number reach the log.
        result.error = mask_ids_in_text(str(exc))[:2000]
        result.duration_s = round(time.perf_counter() - t0, 3)
        _finish_log(engine, result, fingerprint=None)
        log.warning("registry sync %d failed after %.1fs: %s", sync_id, result.duration_s, result.error)
        raise SyncError(f"同步失败，已回滚，原有快照保持有效：{result.error}", result) from exc

    result.duration_s = round(time.perf_counter() - t0, 3)
    if result.status == "unchanged":
        _finish_log(engine, result, fingerprint=fingerprint)
    log.info(
        "registry sync %d %s: read=%d added=%d changed=%d removed=%d quarantined=%d in %.1fs",
        sync_id, result.status, result.rows_read, result.added, result.changed, result.removed,
        result.quarantined, result.duration_s,
    )
    return result


def _log_values(result: SyncResult) -> dict[str, Any]:
    return dict(
        status=result.status, finished_at=_now(), duration_s=result.duration_s,
        rows_read=result.rows_read, added=result.added, changed=result.changed,
        removed=result.removed, unchanged=result.unchanged, quarantined=result.quarantined,
        snapshot_id=result.snapshot.id if result.snapshot else None,
        as_of=result.snapshot.as_of if result.snapshot else None,
        cursor=result.cursor, error=result.error,
    )


def _finish_log(engine: Engine, result: SyncResult, fingerprint: str | None) -> None:
    values = _log_values(result)
    if fingerprint:
        values["source_sha256"] = fingerprint
    with engine.begin() as conn:
        conn.execute(update(store.sync_log).where(store.sync_log.c.id == result.sync_id).values(**values))


def _load(
    engine: Engine,
    spec: _KindSpec,
    source: Source,
    mapping: ColumnMapping | None,
    as_of: date,
    fingerprint: str | None,
    result: SyncResult,
    current_snap: Snapshot | None,
    batch_size: int,
    progress: Callable[[int, tuple[int, int | None]], None] | None,
    on_batch: Callable[[int], None] | None,
    t0: float,
    workers: int | None,
) -> None:
    table, keys_table = spec.table, spec.keys_table
    key_c = table.c[spec.key_col]
    if workers is None:
        workers = _default_workers(source)
    if workers > 0:
        batches = _parallel_batches(spec, source, mapping, workers)
    else:
        headers = source.headers()  # a bad mapping fails here, before any write
        if headers is not None:
            HeaderResolver(spec.kind, headers, mapping)
        batches = _batches(spec, source, mapping)

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # One sync at a time: ids are assigned here, not by a sequence.
            conn.execute(text("LOCK TABLE registry_snapshots IN SHARE ROW EXCLUSIVE MODE"))
        snap_id = (conn.execute(select(func.max(store.snapshots.c.id))).scalar() or 0) + 1
        conn.execute(insert(store.snapshots).values(
            id=snap_id, kind=spec.kind, as_of=as_of, source=source.name, source_sha256=fingerprint,
            sync_id=result.sync_id, rows=0, created_at=_now(),
        ))
        next_id = (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
        # First load into an empty table: build the secondary indexes once at
        # the end (a sort) instead of row by row (random B-tree inserts). The
        # DDL is part of the transaction, so a failure restores them too.
        bulk = next_id == 1
        if bulk:
            for index in (*table.indexes, *keys_table.indexes):
                index.drop(conn)

        # The versions in force, by key: content hash only, to keep memory small.
        current: dict[str, int] = {}
        for key, row_hash in conn.execute(
            select(key_c, table.c.row_hash).where(table.c.removed_in.is_(None))
        ).yield_per(50_000):
            current[key] = row_hash

        seen: dict[str, int] = {}  # key -> source row number (duplicates are quarantined)
        ended: list[str] = []  # keys whose version in force is replaced
        rows_buf: list[tuple] = []
        keys_buf: list[tuple] = []
        quar_buf: list[dict[str, Any]] = []
        sample: list[QuarantinedRow] = []
        label = LABELS[spec.key_col]
        name_pos = spec.stored.index("holder_name_folded") if spec.keys_in_sql else -1

        def quarantine(row_no: int, reason: str, raw: str) -> None:
            result.quarantined += 1
            quar_buf.append(dict(sync_id=result.sync_id, kind=spec.kind, row_no=row_no, reason=reason, raw=raw))
            if len(sample) < 50:
                sample.append(QuarantinedRow(row_no=row_no, reason=reason))

        def flush(pos: tuple[int, int | None]) -> None:
            store.bulk_insert(conn, table, spec.stored, rows_buf)
            if spec.keys_in_sql:
                _insert_name_keys(conn, rows_buf, name_pos)
            rows_buf.clear()
            store.bulk_insert(conn, keys_table, spec.keys_columns, keys_buf)
            keys_buf.clear()
            if quar_buf:
                conn.execute(insert(store.quarantine), quar_buf)
                quar_buf.clear()
            if progress:
                progress(result.rows_read, pos)
            if on_batch:
                on_batch(result.rows_read)

        pos: tuple[int, int | None] = (0, None)
        # Plain local counters in the hot loop: setting a pydantic model's
        # attribute costs a validation call, millions of times.
        read = unchanged = added = changed = 0
        for _index, items, pos in batches:
            read += len(items)
            for item in items:
                if item[0] == "bad":
                    quarantine(item[1], item[2], item[3])
                    continue
                _, row_no, key, data, row_hash, blocking = item
                first = seen.get(key)
                if first is not None:
                    quarantine(row_no, f"{label}与第 {first} 行重复", json.dumps(
                        dict(zip(spec.columns, data)), ensure_ascii=False, default=str))
                    continue
                seen[key] = row_no
                old = current.get(key)
                if old is None:
                    added += 1
                elif old == row_hash:
                    unchanged += 1
                    continue
                else:
                    changed += 1
                    ended.append(key)
                rows_buf.append((next_id, *data, row_hash, snap_id, None))
                if blocking:
                    keys_buf.extend([(k, next_id) for k in blocking])
                next_id += 1
            result.rows_read = read
            if len(rows_buf) >= batch_size or len(quar_buf) >= batch_size:
                flush(pos)
        flush(pos)
        result.added, result.changed, result.unchanged = added, changed, unchanged
        if bulk:
            for index in (*table.indexes, *keys_table.indexes):
                index.create(conn)

        if source.incremental:
            removed: list[str] = []  # an incremental pull only brings what changed
        else:
            removed = [k for k in current if k not in seen]
        result.removed = len(removed)
        del seen, current

        to_end = ended + removed
        if to_end:
            params = [{"k": k} for k in to_end]
            conn.execute(
                update(table).where(key_c == bindparam("k"), table.c.removed_in.is_(None),
                                    table.c.added_in < snap_id)
                .values(removed_in=snap_id),
                params,
            )
            # Blocking keys serve the snapshot in force only.
            conn.execute(
                keys_table.delete().where(keys_table.c[spec.keys_fk].in_(
                    select(table.c.id).where(key_c == bindparam("k"), table.c.removed_in == snap_id)
                )),
                params,
            )

        result.quarantine_sample = sample
        result.cursor = source.cursor  # kept even when nothing changed: the next pull starts there
        if (current_snap is not None and result.added == result.changed == result.removed == 0
                and as_of == current_snap.as_of):
            raise _Unchanged()

        in_force = ((current_snap.rows or 0) if current_snap else 0) + result.added - result.removed
        result.cursor = source.cursor
        conn.execute(update(store.snapshots).where(store.snapshots.c.id == snap_id)
                     .values(rows=in_force, cursor=source.cursor))
        result.snapshot = Snapshot(id=snap_id, kind=spec.kind, as_of=as_of, source=source.name,
                                   created_at=_now(), rows=in_force)
        result.duration_s = round(time.perf_counter() - t0, 3)
        values = _log_values(result)
        values["source_sha256"] = fingerprint
        conn.execute(update(store.sync_log).where(store.sync_log.c.id == result.sync_id).values(**values))
