"""Registry benchmark: a generated certificate registry, synced and queried.

    .venv/bin/python benchmarks/bench_registry.py            # 1,000,000 rows
    .venv/bin/python benchmarks/bench_registry.py --rows 100000 --db postgresql+psycopg://...
    .venv/bin/python benchmarks/bench_registry.py --dirty-every 10   # every tenth row faulty

Reports sync time from CSV (target <= 60 s for 1M rows on a 2-core
machine), exact look-up p50/p95 (target p95 <= 5 ms), fuzzy name search
p50/p95 (target p95 <= 50 ms) and peak memory (target <= 1 GB, resident set
of this process and of its worker processes). The CSV is deterministic
(seeded) and is written once per row count and reused.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from registry_sync import store  # noqa: E402
from registry_sync.lookup import RegistryLookup  # noqa: E402
from registry_sync.sync import sync  # noqa: E402
from registry_sync.testing import GIVEN, certificate_rows, write_csv  # noqa: E402

_TRADITIONAL = str.maketrans("国华东伟刚丽红兰凤龙强涛飞云杰鹏亮俊",
                             "國華東偉剛麗紅蘭鳳龍強濤飛雲傑鵬亮俊")


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _dirty(rows: Iterator[dict[str, str]], every: int) -> Iterator[dict[str, str]]:
    """Every ``every``-th row altered, five faults in turn; four are quarantined, a spaced name is cleaned."""
    for i, row in enumerate(rows):
        if every and i % every == 0:
            fault = (i // every) % 5
            if fault == 0:
                row["cert_no"] = ""
            elif fault == 1:
                row["valid_until"] = "2026-02-30"
            elif fault == 2:
                row["holder_id_no"] = row["holder_id_no"][:-1] + ("0" if row["holder_id_no"][-1] != "0" else "1")
            elif fault == 3:
                row["status"] = "待定"
            else:
                row["holder_name"] = f" {row['holder_name'][0]} {row['holder_name'][1:]} "
        yield row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", default="/tmp/shencha_bench_registry", help="where the CSV and SQLite file go")
    parser.add_argument("--db", default=None, help="SQLAlchemy URL (default: a fresh SQLite file in --dir)")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=None, help="validation processes (default: by file size)")
    parser.add_argument("--dirty-every", type=int, default=0, metavar="N",
                        help="alter every Nth row (missing number, impossible date, wrong ID check digit, "
                             "unknown status, spaced name) to measure dirty data")
    args = parser.parse_args()

    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    suffix = f"_dirty{args.dirty_every}" if args.dirty_every else ""
    csv_path = work / f"certificates_{args.rows}{suffix}.csv"
    if not csv_path.exists():
        t = time.perf_counter()
        write_csv(csv_path, _dirty(certificate_rows(args.rows), args.dirty_every))
        print(f"generated {args.rows:,} rows -> {csv_path} ({csv_path.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - t:.1f} s")

    if args.db:
        url = args.db
        engine = store.make_engine(url)
        store.drop_tables(engine)
    else:
        db_file = work / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(db_file) + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{db_file}"
        engine = store.make_engine(url)
    store.create_tables(engine)

    load = os.getloadavg()
    cpu0 = os.times()
    t = time.perf_counter()
    result = sync(engine, str(csv_path), as_of=date(2026, 11, 1), workers=args.workers)
    sync_s = time.perf_counter() - t
    cpu1 = os.times()
    main_cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    kids_cpu = (cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system)
    print(f"sync: {result.rows_read:,} rows read, {result.added:,} added, {result.quarantined:,} quarantined "
          f"in {sync_s:.1f} s wall ({result.rows_read / sync_s:,.0f} rows/s); CPU {main_cpu + kids_cpu:.1f} s "
          f"(loader {main_cpu:.1f} s, validation workers {kids_cpu:.1f} s); "
          f"load average {load[0]:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs")
    t = time.perf_counter()
    again = sync(engine, str(csv_path), as_of=date(2026, 11, 1))
    print(f"re-sync of the same file: {again.status} in {time.perf_counter() - t:.2f} s")

    lookup = RegistryLookup(engine)
    rng = random.Random(7)
    # Sample rows from the store by id (ids are 1..N on a fresh load): cheaper
    # than regenerating the CSV rows in Python.
    ids = sorted(rng.sample(range(1, result.snapshot.rows + 1), min(args.queries, result.snapshot.rows)))
    with engine.connect() as conn:
        t_ = store.certificates
        sample = [dict(r) for r in conn.execute(
            select(t_.c.cert_no, t_.c.holder_name).where(t_.c.id.in_(ids))).mappings()]
    rng.shuffle(sample)

    # Exact look-ups: half as printed, half with OCR confusions / full width.
    # Wall time is what a user waits; CPU time (thread_time) is the work done,
    # which stays meaningful when the machine is shared and the wall is not.
    exact: list[float] = []
    exact_cpu: list[float] = []
    found = 0
    for k, row in enumerate(sample):
        number = row["cert_no"]
        if k % 2:
            number = number.replace("0", "O", 2).replace("1", "l", 1)
        t, c = time.perf_counter(), time.thread_time()
        res = lookup.certificate(number)
        exact.append(time.perf_counter() - t)
        exact_cpu.append(time.thread_time() - c)
        found += res.unique is not None and res.unique.record.cert_no == row["cert_no"]
    print(f"certificate look-up ({len(exact)}): p50 {_ms(_pct(exact, .5))}, p95 {_ms(_pct(exact, .95))} wall; "
          f"CPU p50 {_ms(_pct(exact_cpu, .5))}, p95 {_ms(_pct(exact_cpu, .95))}; found {found}/{len(exact)}")

    # Fuzzy: exact name, traditional script, one character replaced.
    fuzzy: list[float] = []
    fuzzy_cpu: list[float] = []
    hit = candidates = 0
    for k, row in enumerate(sample[: max(1, len(sample) // 2)]):
        name = row["holder_name"]
        if k % 3 == 1:
            name = name.translate(_TRADITIONAL)
        elif k % 3 == 2 and len(name) >= 3:
            name = name[:-1] + GIVEN[(GIVEN.index(name[-1]) + 1) % len(GIVEN)] if name[-1] in GIVEN else name
        t, c = time.perf_counter(), time.thread_time()
        matches = lookup.holders_by_name(name, limit=10)
        fuzzy.append(time.perf_counter() - t)
        fuzzy_cpu.append(time.thread_time() - c)
        candidates += len(matches)
        hit += any(m.record.holder_name == row["holder_name"] for m in matches)
    print(f"fuzzy name search ({len(fuzzy)}): p50 {_ms(_pct(fuzzy, .5))}, p95 {_ms(_pct(fuzzy, .95))} wall "
          f"(mean {_ms(statistics.fmean(fuzzy))}); CPU p50 {_ms(_pct(fuzzy_cpu, .5))}, "
          f"p95 {_ms(_pct(fuzzy_cpu, .95))}; true holder's name among the top 10 in {hit}/{len(fuzzy)}")

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: {own:.0f} MB (this process), {kids:.0f} MB (largest worker)")
    print(f"store: {url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
