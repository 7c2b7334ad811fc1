"""Per-stage profile of a review: where the time goes.

Reviews a package into a fresh SQLite store with every stage timed
(shencha.profile) and prints the table; by default the 30-page scanned
package of benchmarks/scanned_package.py. ``--compare`` reviews it once with
RapidOCR's own settings (RAPIDOCR_DEFAULTS: detector up to 2000 px, float
recogniser) and once with shencha's defaults, each from a fresh store,
and prints both columns.

    python -m benchmarks.bench_review_profile [--package DIR] [--compare] [--again]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from extractor.ingest import IngestOptions
from extractor.ocr import OcrOptions
from shencha.profile import Profile, format_profile, profile_review
from shencha.review import ReviewOptions
from shencha.store import Store

# OcrOptions that reproduce the engine as it was before issue 16.
BEFORE = {"det_max_side": None, "rec_int8": False, "rec_batch": 6, "runtime": "onnxruntime", "rec_min_width": 320}


def review_once(package: Path, ocr: OcrOptions, again: bool = False) -> list[tuple[str, Profile]]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'shencha.db'}")
        options = ReviewOptions(ingest=IngestOptions(ocr=ocr))
        out = []
        for run in range(2 if again else 1):
            _, profile = profile_review(package, store, options, application_id="bench-profile")
            out.append(("first" if run == 0 else "again (cache)", profile))
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", help="a package folder (default: the generated 30-page scan)")
    parser.add_argument("--compare", action="store_true", help="before (RapidOCR's settings) and after")
    parser.add_argument("--again", action="store_true", help="review a second time (the OCR cache)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.package:
            package = Path(args.package)
        else:
            from benchmarks.scanned_package import build

            package = build(Path(tmp) / "scanned30")
        columns: list[tuple[str, Profile]] = []
        if args.compare:
            for title, profile in review_once(package, OcrOptions(**BEFORE)):
                columns.append((f"before {title}", profile))
        for title, profile in review_once(package, OcrOptions(), again=args.again):
            columns.append((f"after {title}" if args.compare else title, profile))
    print(format_profile(*columns))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
