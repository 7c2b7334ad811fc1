"""OCR benchmark: shencha's OCR layer against raw RapidOCR, side by side.

    .venv/bin/python benchmarks/bench_ocr.py [--sets cnocr,pdf,turned] [--dpi 200] [--json]
    .venv/bin/python benchmarks/bench_ocr.py --parallel   # processes vs onnxruntime threads

Sets (read from ../shared/data, never copied into the project):

* ``cnocr``: the 18 labelled images of cnocr's test data (printed paragraphs,
  synthetic lines, rare characters, mixed Chinese/English). One label writes
  '--' where the image shows '——'; the truth is corrected here.
* ``pdf``: pages of the shared PDFs rendered with pypdfium2, truth = the PDF's
  own text layer (pdfplumber, doubled characters de-duplicated). Only pages
  with a trustworthy layer; see ``PDF_PAGES`` for what is skipped and why.
* ``turned``: two of those pages turned 90/180/270 degrees and slanted by
  +6/-8 degrees (photographed or scanned crooked): what preprocessing is for.

CER = Levenshtein distance / len(truth), summed over the set, after NFKC and
removing all whitespace. Raw RapidOCR is ``RapidOCR()(image)`` with its
defaults, lines joined in its own order; shencha is ``recognise_pages`` with
default options, one page per call (so both run in one process with the
same onnxruntime threads, interleaved image by image to share the machine's
noise). Overhead = shencha time / raw time - 1 over the set, in wall time and
in this process's CPU time (steadier on a shared machine).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import re
import sys
import time
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from PIL import Image
from rapidfuzz.distance import Levenshtein

from extractor.ocr import OcrOptions, PageImage, recognise_pages
from extractor.ocr.runner import _run_one

# (pdf, 1-based page): pages whose text layer is a faithful transcript.
# Skipped: pdfplumber/pr-136 (its layer is itself noisy OCR), issue-842
# (characters overprinted four times; de-duplication leaves them doubled),
# pdfjs/issue12823 ('(cid:0)' glyphs), issue19182 (a private-use character),
# issue4061 (layer does not match the drawn vertical glyphs),
# cidfont_cmap_overflow (a CMap test font, not real text).
PDF_PAGES: list[tuple[str, int]] = [
    ("pdfplumber/issue-336-example.pdf", 1),
    ("pdfplumber/issue-461-example.pdf", 1),
    ("pdfplumber/issue-67-example.pdf", 2),
    ("pdfplumber/issue-67-example.pdf", 3),
    ("pdfplumber/issue-71-duplicate-chars.pdf", 1),
    ("pdfminer.six/issue_566_test_1.pdf", 1),
    ("pdfminer.six/issue_566_test_2.pdf", 1),
    ("pdfjs/issue2128r.pdf", 1),
    ("pdfjs/issue3521.pdf", 1),
    ("pdfjs/issue19360.pdf", 1),
    ("pdfjs/issue13316_reduced.pdf", 1),
]
TURNED_SOURCES: list[tuple[str, int]] = [
    ("pdfplumber/issue-67-example.pdf", 2),
    ("pdfplumber/issue-71-duplicate-chars.pdf", 1),
]
TURNS: list[tuple[str, float]] = [("rot90", 90), ("rot180", 180), ("rot270", 270), ("skew+6", 6), ("skew-8", -8)]


def normalise(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@dataclass
class Sample:
    name: str
    image: bytes
    truth: str
    dpi: float | None = None
    path: Path | None = None  # raw RapidOCR reads files by path (it honours EXIF then)


@dataclass
class Score:
    chars: int = 0
    shencha_errors: int = 0
    raw_errors: int = 0
    shencha_seconds: float = 0.0
    raw_seconds: float = 0.0
    shencha_cpu: float = 0.0
    raw_cpu: float = 0.0
    samples: list[dict[str, object]] = field(default_factory=list)

    def row(self) -> dict[str, object]:
        return {
            "images": len(self.samples),
            "chars": self.chars,
            "cer_shencha": round(self.shencha_errors / max(self.chars, 1), 4),
            "cer_raw": round(self.raw_errors / max(self.chars, 1), 4),
            "seconds_shencha": round(self.shencha_seconds, 2),
            "seconds_raw": round(self.raw_seconds, 2),
            "overhead_pct": round(100 * (self.shencha_seconds / max(self.raw_seconds, 1e-9) - 1), 1),
            # CPU seconds of this process (both engines run in it): less
            # sensitive than wall time to other jobs on a shared machine.
            "cpu_shencha": round(self.shencha_cpu, 2),
            "cpu_raw": round(self.raw_cpu, 2),
            "cpu_overhead_pct": round(100 * (self.shencha_cpu / max(self.raw_cpu, 1e-9) - 1), 1),
        }


def cnocr_samples() -> list[Sample]:
    base = DATA / "ocr" / "cnocr_2020"
    out = []
    for raw in (base / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(raw)
        truth = "".join(item["lines"])
        if item["image"].endswith("multi-line_cn1.png"):
            truth = truth.replace("--", "——")  # the label's typo; the image shows a dash
        path = base / item["image"]
        out.append(Sample(name=path.name, image=path.read_bytes(), truth=truth, path=path))
    return out


def _render(pdf: str, page_no: int, dpi: float) -> tuple[Image.Image, str]:
    import pdfplumber
    import pypdfium2 as pdfium

    path = DATA / "pdfs" / pdf
    doc = pdfium.PdfDocument(str(path))
    try:
        image = doc[page_no - 1].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        doc.close()
    with warnings.catch_warnings(), pdfplumber.open(str(path)) as plumber:
        warnings.simplefilter("ignore")
        truth = plumber.pages[page_no - 1].dedupe_chars().extract_text() or ""
    return image, truth


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def pdf_samples(dpi: float) -> list[Sample]:
    out = []
    for pdf, page_no in PDF_PAGES:
        image, truth = _render(pdf, page_no, dpi)
        out.append(Sample(name=f"{Path(pdf).stem} p{page_no}", image=_png(image), truth=truth, dpi=dpi))
    return out


def turned_samples(dpi: float) -> list[Sample]:
    out = []
    for pdf, page_no in TURNED_SOURCES:
        image, truth = _render(pdf, page_no, dpi)
        for label, degrees in TURNS:
            if degrees in (90, 180, 270):
                turned = image.rotate(-degrees, expand=True)  # PIL turns counter-clockwise
            else:
                turned = image.rotate(degrees, expand=True, fillcolor="white", resample=Image.BICUBIC)
            out.append(Sample(name=f"{Path(pdf).stem} p{page_no} {label}", image=_png(turned), truth=truth, dpi=dpi))
    return out


def run_set(samples: list[Sample], raw_ocr: object, options: OcrOptions, verbose: bool) -> Score:
    score = Score()
    for s in samples:
        truth = normalise(s.truth)
        page = PageImage(key=hashlib.sha256(s.image).hexdigest(), image=s.image, dpi=s.dpi)

        def run_raw(s: Sample = s) -> tuple[str, float]:
            started, cpu = time.perf_counter(), time.process_time()
            raw = raw_ocr(str(s.path) if s.path else s.image)  # type: ignore[operator]
            score.raw_cpu += time.process_time() - cpu
            return normalise("".join(raw.txts or ())), time.perf_counter() - started

        def run_shencha(page: PageImage = page) -> tuple[str, float, dict[str, object]]:
            started, cpu = time.perf_counter(), time.process_time()
            [result] = recognise_pages([page], options)
            seconds = time.perf_counter() - started
            score.shencha_cpu += time.process_time() - cpu
            if isinstance(result, Exception):
                return "", seconds, {"error": str(result)}
            text = normalise("".join(line.text for line in result.lines))
            return text, seconds, {"rotation": result.run.rotation, "skew": result.run.skew, "downscale": result.run.downscale}

        # Alternate which runs first, so drifting machine load favours neither.
        if len(score.samples) % 2:
            shencha_text, shencha_seconds, run = run_shencha()
            raw_text, raw_seconds = run_raw()
        else:
            raw_text, raw_seconds = run_raw()
            shencha_text, shencha_seconds, run = run_shencha()

        e_sh = Levenshtein.distance(shencha_text, truth)
        e_raw = Levenshtein.distance(raw_text, truth)
        score.chars += len(truth)
        score.shencha_errors += e_sh
        score.raw_errors += e_raw
        score.shencha_seconds += shencha_seconds
        score.raw_seconds += raw_seconds
        score.samples.append(
            {
                "name": s.name,
                "chars": len(truth),
                "errors_shencha": e_sh,
                "errors_raw": e_raw,
                "seconds_shencha": round(shencha_seconds, 3),
                "seconds_raw": round(raw_seconds, 3),
                **run,
            }
        )
        if verbose:
            print(
                f"  {s.name:40s} chars={len(truth):5d} err shencha={e_sh:4d} raw={e_raw:4d} "
                f"t={shencha_seconds:6.2f}s/{raw_seconds:6.2f}s {run}",
                file=sys.stderr,
            )
    return score


def bench_parallel(samples: list[Sample]) -> dict[str, float]:
    """Wall time of one batch: one process with 2 onnxruntime threads vs 2 processes x 1 thread."""
    pages = [PageImage(key=hashlib.sha256(s.image).hexdigest(), image=s.image, dpi=s.dpi) for s in samples]
    options = OcrOptions(workers=2)
    _run_one(pages[0], options, 2)  # load the in-process engine outside the timing
    timings: dict[str, float] = {}
    started = time.perf_counter()
    for page in pages:
        _run_one(page, options, 2)
    timings["1 process x 2 threads"] = time.perf_counter() - started
    started = time.perf_counter()
    recognise_pages(pages, options)  # plan: 2 processes x 1 thread, start-up included
    timings["2 processes x 1 thread"] = time.perf_counter() - started
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="cnocr,pdf,turned", help="comma-separated: cnocr, pdf, turned")
    parser.add_argument("--dpi", type=float, default=200.0, help="render DPI for PDF pages")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--verbose", "-v", action="store_true", help="per-image lines on stderr")
    parser.add_argument("--parallel", action="store_true", help="measure processes vs threads on the pdf set")
    args = parser.parse_args(argv)

    if args.parallel:
        timings = bench_parallel(pdf_samples(args.dpi))
        for name, seconds in timings.items():
            print(f"{name:24s} {seconds:7.2f} s")
        return 0

    from rapidocr import RapidOCR

    raw_ocr = RapidOCR(params={"Global.log_level": "error"})
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    options = OcrOptions()
    loaders = {
        "cnocr": cnocr_samples,
        "pdf": lambda: pdf_samples(args.dpi),
        "turned": lambda: turned_samples(args.dpi),
    }
    # Warm both engines up so model loading is not charged to the first image.
    warm = cnocr_samples()[0]
    raw_ocr(str(warm.path))
    recognise_pages([PageImage(key="warm-up", image=warm.image)], options)

    report: dict[str, dict[str, object]] = {}
    details: dict[str, list[dict[str, object]]] = {}
    for name in [s.strip() for s in args.sets.split(",") if s.strip()]:
        if name not in loaders:
            parser.error(f"unknown set {name!r}")
        score = run_set(loaders[name](), raw_ocr, options, args.verbose)
        report[name] = score.row()
        details[name] = score.samples

    if args.json:
        print(json.dumps({"sets": report, "samples": details, "dpi": args.dpi}, ensure_ascii=False, indent=2))
        return 0
    header = (
        f"{'set':8s} {'images':>6s} {'chars':>6s} {'CER shencha':>11s} {'CER raw':>8s} "
        f"{'t shencha':>10s} {'t raw':>8s} {'overhead':>9s} {'cpu shencha':>12s} {'cpu raw':>8s} {'cpu ovh':>8s}"
    )
    print(header)
    print("-" * len(header))
    for name, row in report.items():
        print(
            f"{name:8s} {row['images']:>6} {row['chars']:>6} {row['cer_shencha']:>11.4f} {row['cer_raw']:>8.4f} "
            f"{row['seconds_shencha']:>9.2f}s {row['seconds_raw']:>7.2f}s {row['overhead_pct']:>8.1f}% "
            f"{row['cpu_shencha']:>11.2f}s {row['cpu_raw']:>7.2f}s {row['cpu_overhead_pct']:>7.1f}%"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
