"""OCR cache: a second review of an unchanged scanned package, against the first.

Copies the scanned documents (images) of a bundled sample into a temporary
package, reviews it twice into a fresh SQLite store and prints both times
and their ratio. Target: the second review at least 10x faster.

    python -m benchmarks.bench_review_cache [--package fixtures/packages/NAME]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.common import FIXTURES
from shencha.review import ReviewOptions, review_path
from shencha.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default=str(FIXTURES / "packages" / "jz_jiangsu_defects"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "scans"
        package.mkdir()
        for source in sorted(Path(args.package).iterdir()):
            if source.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif", ".tiff"):
                shutil.copy(source, package / source.name)
        store = Store(f"sqlite:///{Path(tmp) / 'shencha.db'}")
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            # the same application twice: the second run is its next version
            report = review_path(package, store, ReviewOptions(), application_id="bench-cache")
            timings.append(time.perf_counter() - start)
        pages = sum(d.pages for d in report.documents)
        cached = sum(1 for d in report.documents for p in d.page_details if p.ocr and p.ocr.cached)
    first, second = timings
    print(f"package: {args.package} (scanned documents only: {len(report.documents)} files, {pages} pages)")
    print(f"first review:  {first:.2f} s")
    print(f"second review: {second:.2f} s  ({cached}/{pages} pages from the OCR cache)")
    print(f"speed-up: {first / second:.1f}x  (target >= 10x: {'met' if first / second >= 10 else 'NOT met'})")


if __name__ == "__main__":
    main()
