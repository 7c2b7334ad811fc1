"""Registry tables (SQLAlchemy 2 Core, own ``MetaData``): SQLite and PostgreSQL.

Rows are versioned by snapshot: a row is in force in snapshot ``S`` when
``added_in <= S`` and (``removed_in`` is null or ``removed_in > S``). A sync
writes its new snapshot, its new row versions and the end marks of the old
ones in one transaction, so readers see either the old snapshot whole or the
new one whole, and an earlier snapshot can still be read for a report that
used it.
"""

from __future__ import annotations

import os

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)

metadata = MetaData()

DEFAULT_DB_URL = "sqlite:///shencha.db"

# Prefix range scans (an unreadable digit) need byte order, which PostgreSQL
# only guarantees under the "C" collation; SQLite compares bytes already.
KeyString = String(64).with_variant(String(64, collation="C"), "postgresql")
# SQLite makes only "INTEGER PRIMARY KEY" the rowid; BIGINT would add a second
# unique index to every insert and every look-up by id.
RowId = BigInteger().with_variant(Integer, "sqlite")

snapshots = Table(
    "registry_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("source", Text, nullable=False),
    Column("source_sha256", String(64)),
    Column("cursor", String(64)),
    Column("sync_id", Integer),
    Column("rows", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_registry_snapshots_kind", "kind", "id"),
)

sync_log = Table(
    "registry_sync_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("source", Text, nullable=False),
    Column("source_sha256", String(64)),
    Column("mode", String(16), nullable=False),  # full | incremental
    Column("status", String(16), nullable=False),  # running | ok | unchanged | failed
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("duration_s", Float),
    Column("rows_read", Integer, default=0),
    Column("added", Integer, default=0),
    Column("changed", Integer, default=0),
    Column("removed", Integer, default=0),
    Column("unchanged", Integer, default=0),
    Column("quarantined", Integer, default=0),
    Column("snapshot_id", Integer),
    Column("as_of", Date),
    Column("cursor", String(64)),
    Column("error", Text),
)

quarantine = Table(
    "registry_quarantine",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sync_id", Integer, nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("row_no", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),  # the source row as JSON, kept for correction
)

certificates = Table(
    "registry_certificates",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=False),
    Column("cert_no", String(64), nullable=False),
    Column("cert_type", String(40), nullable=False),
    Column("holder_name", String(100), nullable=False),
    Column("holder_id_no", String(18)),
    Column("category", String(100)),
    Column("employer_uscc", String(18)),
    Column("employer_name", String(200)),
    Column("issued_on", Date),
    Column("valid_from", Date),
    Column("valid_until", Date),
    Column("status", String(16), nullable=False),
    Column("issuing_authority", String(200)),
    # Derived keys: see registry_sync.normalize.
    Column("cert_key", KeyString, nullable=False),
    Column("holder_name_folded", String(100), nullable=False),
    Column("row_hash", BigInteger, nullable=False),
    Column("added_in", Integer, nullable=False),
    Column("removed_in", Integer),
    Index("ix_registry_cert_no", "cert_no"),
    Index("ix_registry_cert_key", "cert_key"),
    Index("ix_registry_cert_holder", "holder_name_folded"),
    Index("ix_registry_cert_id_no", "holder_id_no"),
)

# Blocking keys: a plain (rowid) table with separate indexes, so a first load
# appends and builds both indexes by sorting at the end, and ending a row's
# version finds its keys through the cert_id index. The folded name rides
# along in the covering key index: a fuzzy search scores candidates from the
# index alone and reads whole rows only for the few it returns.
cert_name_keys = Table(
    "registry_cert_name_keys",
    metadata,
    Column("key", String(100), nullable=False),
    Column("cert_id", BigInteger, nullable=False),
    Column("name", String(100), nullable=False),
    Index("ix_registry_cert_name_keys_key", "key", "name", "cert_id"),
    Index("ix_registry_cert_name_keys_cert", "cert_id"),
)

companies = Table(
    "registry_companies",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=False),
    Column("uscc", String(18), nullable=False),
    Column("name", String(200), nullable=False),
    Column("legal_representative", String(100)),
    Column("address", String(300)),
    Column("industry", String(60)),
    Column("licence_no", String(80)),
    Column("licence_valid_from", Date),
    Column("licence_valid_until", Date),
    Column("licence_status", String(16)),
    Column("name_folded", String(200), nullable=False),
    Column("row_hash", BigInteger, nullable=False),
    Column("added_in", Integer, nullable=False),
    Column("removed_in", Integer),
    Index("ix_registry_company_uscc", "uscc"),
    Index("ix_registry_company_name", "name_folded"),
)

company_grams = Table(
    "registry_company_grams",
    metadata,
    Column("gram", String(8), nullable=False),
    Column("company_id", BigInteger, nullable=False),
    Index("ix_registry_company_grams_gram", "gram"),
    Index("ix_registry_company_grams_company", "company_id"),
)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets lookups read the snapshot in force while a sync writes the next.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-131072")  # 128 MiB: index builds of a 1M-row sync
    cur.execute("PRAGMA temp_store=MEMORY")
    # Helper threads for large sorts (CREATE INDEX after a bulk load).
    cur.execute(f"PRAGMA threads={min(4, os.cpu_count() or 1)}")
    cur.close()


def db_url(url: str | None = None) -> str:
    """``--db``, else ``SHENCHA_DB``, else an SQLite file in the working directory."""
    return url or os.environ.get("SHENCHA_DB") or DEFAULT_DB_URL


def make_engine(url: str | None = None, **kwargs) -> Engine:
    url = db_url(url)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_tables(engine: Engine) -> None:
    """Create the registry tables if missing (idempotent)."""
    metadata.create_all(engine)


def drop_tables(engine: Engine) -> None:
    metadata.drop_all(engine)


def bulk_insert(conn, table: Table, columns: list[str], rows: list[tuple]) -> None:
    """Insert many rows through the driver's own ``executemany``.

    SQLAlchemy's per-row parameter processing costs more than the insert
    itself on a million-row sync. The raw cursor shares the connection, so
    the rows stay in the caller's transaction. SQLite receives dates as ISO
    text (what SQLAlchemy's ``Date`` stores there); psycopg takes ``date``.
    """
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()
