"""Issue 16's acceptance figures, in one run.

1. ``shencha ocr`` on a multi-page TIFF of the rendered ../shared/data/pdfs
   pages (the 11 pages of bench_ocr.PDF_PAGES at 200 dpi) against raw
   RapidOCR with its default settings on the same frames: both as fresh
   processes (start-up and model loading included), run alternately; time
   ratio and CER each. Target: ratio <= 0.67, CER <= raw + 0.002.
2. The 30-page scanned package (benchmarks/scanned_package.py: rosters,
   certificates, plans at 200 dpi) reviewed from a fresh store: target < 60 s.
3. The same package reviewed again (OCR cache): target < 3 s.

    python -m benchmarks.bench_speed [--skip-ocr] [--skip-review] [--rounds 1]

The data is read from ../shared/data, never copied into the project; the
TIFF and the package are written to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from benchmarks.bench_ocr import PDF_PAGES, _render, normalise
from benchmarks.common import REPO

RAW_SCRIPT = """
import json, sys, numpy as np
from PIL import Image, ImageSequence
from rapidocr import RapidOCR
ocr = RapidOCR(params={"Global.log_level": "error"})
out = []
with Image.open(sys.argv[1]) as tif:
    for frame in ImageSequence.Iterator(tif):
        rgb = np.asarray(frame.convert("RGB"))
        res = ocr(rgb[:, :, ::-1].copy())
        out.append("".join(res.txts or ()))
json.dump(out, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
"""


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def make_tiff(path: Path, dpi: float = 200.0) -> list[str]:
    frames, truths = [], []
    for pdf, page_no in PDF_PAGES:
        image, truth = _render(pdf, page_no, dpi)
        frames.append(image)
        truths.append(truth)
    frames[0].save(path, format="TIFF", save_all=True, append_images=frames[1:], compression="tiff_deflate",
                   dpi=(dpi, dpi))
    return truths


def _cer(texts: list[str], truths: list[str]) -> float:
    errors = chars = 0
    for text, truth in zip(texts, truths, strict=True):
        t = normalise(truth)
        errors += Levenshtein.distance(normalise(text), t)
        chars += len(t)
    return errors / max(chars, 1)


def run_raw(tiff: Path, tmp: Path) -> tuple[float, list[str]]:
    out = tmp / "raw.json"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", RAW_SCRIPT, str(tiff), str(out)], check=True)
    seconds = time.perf_counter() - started
    return seconds, json.loads(out.read_text(encoding="utf-8"))


def run_shencha(tiff: Path, tmp: Path, run: int) -> tuple[float, list[str], list[str]]:
    db = tmp / f"ocr-{run}.db"  # a fresh store: no page comes from the cache
    shencha = Path(sys.executable).with_name("shencha")
    started = time.perf_counter()
    done = subprocess.run([str(shencha), "ocr", str(tiff), "--db", f"sqlite:///{db}", "--format", "json"],
                          check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    pages = json.loads(done.stdout)
    return seconds, [_engine_order(page) for page in pages], [
        "".join(line["text"] for line in page["lines"]) for page in pages
    ]


def _engine_order(page: dict) -> str:
    """The page's lines in RapidOCR's own order (top to bottom, then left to right).

    `shencha ocr` prints lines in the layout's reading order (a ruled table
    cell by cell, columns one after the other), which is not the order of the
    PDF's text layer; recognition is compared in the order raw RapidOCR uses.
    """
    from extractor.model import Line
    from extractor.ocr.page import reading_order

    lines = [Line.model_validate(line) for line in page["lines"]]
    tolerance = 10.0 * max(1.0, max(page["width"], page["height"]) / 2000.0)
    return "".join(line.text for line in reading_order(lines, tolerance=tolerance))


def bench_ocr(tmp: Path, rounds: int) -> None:
    tiff = tmp / "pdf_pages.tif"
    truths = make_tiff(tiff)
    print(f"## 1. shencha ocr vs raw RapidOCR: {len(truths)} pages, multi-page TIFF at 200 dpi "
          f"({tiff.stat().st_size / 2**20:.1f} MB)")
    print(f"{'run':>4s} {'raw s':>8s} {'shencha s':>10s} {'ratio':>6s} {'CER raw':>8s} {'CER shencha':>12s} "
          f"{'(layout order)':>15s}  load")
    for r in range(rounds):
        # Alternate which goes first, so drifting load favours neither.
        if r % 2 == 0:
            t_raw, raw = run_raw(tiff, tmp)
            t_sh, sh, printed = run_shencha(tiff, tmp, r)
        else:
            t_sh, sh, printed = run_shencha(tiff, tmp, r)
            t_raw, raw = run_raw(tiff, tmp)
        print(f"{r + 1:>4d} {t_raw:8.1f} {t_sh:10.1f} {t_sh / t_raw:6.2f} {_cer(raw, truths):8.4f} "
              f"{_cer(sh, truths):12.4f} {_cer(printed, truths):15.4f}  {_load()}", flush=True)


def bench_review(tmp: Path) -> None:
    from benchmarks.scanned_package import build
    from extractor.ingest import IngestOptions
    from shencha.profile import format_profile, profile_review
    from shencha.review import ReviewOptions
    from shencha.store import Store

    package = build(tmp / "scanned30")
    store = Store(f"sqlite:///{tmp / 'review.db'}")
    options = ReviewOptions(ingest=IngestOptions())
    print("\n## 2-3. the 30-page scanned package, fresh store, then again")
    columns = []
    for title in ("first review", "second review"):
        _, profile = profile_review(package, store, options, application_id="bench-speed")
        columns.append((title, profile))
        target = 60.0 if title == "first review" else 3.0
        verdict = "met" if profile.wall < target else "NOT met"
        print(f"{title}: {profile.wall:.1f} s (target < {target:.0f} s: {verdict}); "
              f"{profile.cached_pages}/{profile.ocr_pages} OCR pages from the cache; load {_load()}", flush=True)
    print(format_profile(*columns))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-ocr", action="store_true")
    parser.add_argument("--skip-review", action="store_true")
    parser.add_argument("--rounds", type=int, default=1, help="raw/shencha pairs for figure 1")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, load average {_load()} at start; repo {REPO}")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_review:
            bench_review(Path(tmp))
        if not args.skip_ocr:
            bench_ocr(Path(tmp), args.rounds)
    print(f"load average at the end: {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
