"""Batch review throughput, local vs Ray (1 and 2 OCR workers), Ray's per-page costs, and the
re-review of 10,000 stored cases.

    python -m benchmarks.bench_batch --ray 127.0.0.1:6379 [--packages N] [--cases 10000]

1. Reviews the bundled sample packages (each in a fresh store, so nothing
   comes from the OCR cache) with the local executor (in-process, OCR on a
   pool of all cores), then on the Ray cluster with 1 and 2 OCR actors:
   packages/hour and pages/s (all pages read) and OCR pages/s.
2. On Ray: the scheduling overhead per page (an actor call that does
   nothing, round trip), the object-transfer cost per page (the same call
   carrying a page image, minus the empty call) and both against the
   measured OCR time of one page.
3. Generates `--cases` applications from the reviewed packages' stored
   reports (their extracted fields) into a fresh store and re-reviews them
   all (the sample registry synced into the store, so the registry rules
   look every case up) with a ruleset that disables one rule: time, cases/s, and peak
   memory of the driver and of the workers (the selection is streamed in
   pages of 1000 keys, work goes out in chunks, diffs come back one by one).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import FIXTURES


def _review(url: str, packages: list[Path], ray: str | None, workers: int | None) -> dict:
    from shencha.executor import ReviewJob, make_executor

    start = time.perf_counter()
    with make_executor(url, ray_address=ray or "", workers=workers) as ex:
        started = time.perf_counter()  # after the actors loaded their engines
        outcomes = list(ex.review([ReviewJob(path=str(p), application_id=f"B-{i}", run_key=f"bench:{i}")
                                   for i, p in enumerate(packages)]))
        done = time.perf_counter()
    failed = [o.error for o in outcomes if not o.ok]
    pages = sum(o.pages for o in outcomes)
    ocr = sum(o.ocr_pages for o in outcomes)
    seconds = done - started
    return {"seconds": round(seconds, 1), "startup_s": round(started - start, 1), "packages": len(packages),
            "failed": failed, "pages": pages, "ocr_pages": ocr,
            "packages_per_hour": round(len(packages) / seconds * 3600, 1),
            "pages_per_s": round(pages / seconds, 2), "ocr_pages_per_s": round(ocr / seconds, 3)}


def _page_images(packages: list[Path], n: int = 4):
    """A few page images as the readers hand them to OCR (scans and photos of the samples)."""
    from extractor.ingest import IngestOptions, _read_one
    from extractor.package import open_package
    from extractor.ocr import PageImage

    out = []
    for package in packages:
        for index, item in enumerate(open_package(package, IngestOptions().limits).files):
            _doc, jobs, _data = _read_one(item, index, IngestOptions().limits)
            out += [PageImage(key=j.key, image=j.image, dpi=j.dpi) for j in jobs]
            if len(out) >= n:
                return out[:n]
    return out


def _ocr_seconds_per_page(pages) -> float:
    from extractor.ocr import OcrOptions
    from extractor.ocr.runner import get_engine, run_one

    options = OcrOptions()
    get_engine(options, 1)
    times = []
    for page in pages:
        t = time.perf_counter()
        run_one(page, options, 1)
        times.append(time.perf_counter() - t)
    return statistics.mean(times)


def _ray_costs(url: str, ray: str, pages, calls: int = 200) -> dict:
    import ray as ray_mod

    from shencha.executor import make_executor

    with make_executor(url, ray_address=ray, workers=1) as ex:
        [actor] = ex.actors()
        ray_mod.get(actor.echo.remote(None))

        def timed(payload) -> float:
            samples = []
            for _ in range(calls):
                t = time.perf_counter()
                ray_mod.get(actor.echo.remote(payload))
                samples.append(time.perf_counter() - t)
            return statistics.median(samples)

        empty = timed(None)
        image_bytes = statistics.mean(len(p.image) for p in pages)
        carried = statistics.median([timed(p) for p in pages])
    return {"scheduling_ms_per_page": round(empty * 1000, 2),
            "transfer_ms_per_page": round(max(0.0, carried - empty) * 1000, 2),
            "page_image_kb": round(image_bytes / 1024, 1)}


def _generate_cases(source_url: str, url: str, n: int) -> int:
    """`n` applications whose latest report is a copy of one of the sample reports (fields included)."""
    from sqlalchemy import insert, select

    from shencha.schema import ApplicationRow, ReportRow
    from shencha.store import Store

    source = Store(source_url)
    with source.session() as session:
        reports = [(r.report_json, r.as_of, r.n_fail, r.n_uncertain, r.n_high, r.n_errors)
                   for r in session.scalars(select(ReportRow).order_by(ReportRow.id))]
    store = Store(url)
    batch = 1000
    for start in range(0, n, batch):
        with store.session() as session:
            ids = []
            for i in range(start, min(n, start + batch)):
                app = ApplicationRow(key=f"application:G-{i:06d}", name=f"G-{i:06d}")
                session.add(app)
                ids.append((i, app))
            session.flush()
            rows = []
            for i, app in ids:
                data, as_of, n_fail, n_unc, n_high, n_err = reports[i % len(reports)]
                doc = json.loads(data)
                doc["application"].update(id=f"app-{app.id}", application_no=f"G-{i:06d}")
                doc.update(report_id=f"app-{app.id}-v1", version=1)
                rows.append({"application_id": app.id, "version": 1, "source_path": "bench", "as_of": as_of,
                             "n_fail": n_fail, "n_uncertain": n_unc, "n_high": n_high, "n_errors": n_err,
                             "report_json": json.dumps(doc, ensure_ascii=False)})
            session.execute(insert(ReportRow), rows)
    return n


def _rereview(url: str, ray: str | None, workers: int, ruleset: Path) -> dict:
    from shencha.executor import iter_application_keys, make_executor
    from shencha.store import Store

    store = Store(url)
    counts = {"cases": 0, "fixed": 0, "new": 0, "remaining": 0, "failed": 0}
    rss = []
    start = time.perf_counter()
    with make_executor(url, ray_address=ray or "", workers=workers) as ex:
        for outcome in ex.rereview(iter_application_keys(store), str(ruleset), "bench-rr"):
            counts["cases"] += 1
            counts["failed"] += not outcome.ok
            for k in ("fixed", "new", "remaining"):
                counts[k] += len(getattr(outcome, k))
            if counts["cases"] % 1000 == 0:
                rss.append(_rss_mb())
    seconds = time.perf_counter() - start
    return {**counts, "seconds": round(seconds, 1), "cases_per_s": round(counts["cases"] / seconds, 1),
            "driver_rss_mb_every_1000": rss,
            "driver_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "local_workers_peak_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ray", default=os.environ.get("SHENCHA_RAY_ADDRESS"), help="cluster address")
    parser.add_argument("--packages", type=int, default=6, help="how many sample packages")
    parser.add_argument("--cases", type=int, default=10000, help="cases to generate and re-review (0: skip)")
    parser.add_argument("--rereview-workers", type=int, default=2)
    parser.add_argument("--skip-review", action="store_true", help="only the per-page costs and the re-review")
    parser.add_argument("--source-db", help="a store with reviewed samples to generate the cases from "
                        "(default: the local run's)")
    args = parser.parse_args()
    packages = sorted(p for p in (FIXTURES / "packages").iterdir() if p.is_dir())[: args.packages]
    results: dict = {"machine": {"cpus": os.cpu_count()}, "packages": [p.name for p in packages]}
    with tempfile.TemporaryDirectory() as tmp:
        def url(name: str) -> str:
            return f"sqlite:///{Path(tmp) / name}.db"

        configs = [("local", None, None)]
        if args.ray:
            configs += [("ray-1-worker", args.ray, 1), ("ray-2-workers", args.ray, 2)]
        if not args.skip_review:
            for name, ray, workers in configs:
                results[name] = _review(url(name), packages, ray, workers)
                print(name, json.dumps(results[name], ensure_ascii=False), flush=True)
        pages = _page_images(packages)
        ocr = _ocr_seconds_per_page(pages)
        results["ocr_s_per_page_1_thread"] = round(ocr, 3)
        if args.ray and not args.skip_review:
            costs = _ray_costs(url("costs"), args.ray, pages)
            overhead = (costs["scheduling_ms_per_page"] + costs["transfer_ms_per_page"]) / 1000
            costs["overhead_share_of_ocr"] = f"{overhead / ocr:.2%}"
            results["ray_per_page"] = costs
            print("ray per page", json.dumps(costs), flush=True)
        if args.cases:
            source = args.source_db or url("local")
            if args.skip_review and not args.source_db:
                results["local"] = _review(source, packages, None, None)
            t = time.perf_counter()
            _generate_cases(source, url("cases"), args.cases)
            results["generate_s"] = round(time.perf_counter() - t, 1)
            from registry_sync.sync import sync
            from shencha.store import Store

            # The sample registry, so the registry rules look every certificate and company up
            # as they do in a review (without a snapshot they would stop at "no registry").
            for kind in ("certificates", "companies"):
                sync(Store(url("cases")).engine, str(FIXTURES / "registry" / f"{kind}.csv"), kind=kind)

            first_rule = next(json.loads(r.report_json)["findings"][0]["rule_id"]
                              for r in Store(source).reports() if json.loads(r.report_json)["findings"])
            ruleset = Path(tmp) / "province.yaml"
            ruleset.write_text(f"name: province\nversion: \"bench\"\nextends: default\nrules:\n"
                               f"  {first_rule}:\n    enabled: false\n", encoding="utf-8")
            results["rereview"] = _rereview(url("cases"), None, args.rereview_workers, ruleset)
            print("rereview", json.dumps(results["rereview"]), flush=True)
    print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
