"""Text-layer PDF ingestion speed: the 22-page issue-67 report, no OCR.

Measures shencha's PDF reader (text layer, duplicate removal, words, lines
with boxes, ruled tables, reading order) in pages per second, best of
several runs, and pdfplumber's own character extraction on the same file
for comparison. Target: at least 20 pages/s on a 2-core machine.

    python -m benchmarks.bench_text_pdf [--runs 5]
"""

from __future__ import annotations

import argparse
import time

from benchmarks.common import SHARED_DATA
from extractor.limits import Limits
from extractor.readers.pdf import read_pdf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--file", default=str(SHARED_DATA / "pdfs" / "pdfplumber" / "issue-67-example.pdf"))
    args = parser.parse_args()
    data = open(args.file, "rb").read()

    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        out = read_pdf(data, Limits())
        times.append(time.perf_counter() - start)
    pages = len(out.pages)
    assert not out.ocr_jobs, "a text-layer PDF went to OCR"
    lines = sum(len(p.lines) for p in out.pages)
    words = sum(len(line.words) for p in out.pages for line in p.lines)
    tables = sum(len(p.tables) for p in out.pages)

    import pdfplumber

    start = time.perf_counter()
    with pdfplumber.open(args.file) as pdf:
        for page in pdf.pages:
            page.dedupe_chars().extract_words()
    plumber = time.perf_counter() - start

    best, median = min(times), sorted(times)[len(times) // 2]
    print(f"file: {args.file}")
    print(f"pages: {pages}  lines: {lines}  words: {words}  ruled tables: {tables}  OCR pages: 0")
    print(f"shencha reader: best {best:.3f} s = {pages / best:.1f} pages/s; median {median:.3f} s = {pages / median:.1f} pages/s")
    print(f"pdfplumber chars+words (reference): {plumber:.3f} s = {pages / plumber:.1f} pages/s")
    print(f"target >= 20 pages/s: {'met' if pages / median >= 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
