"""OCR speed levers, side by side: CER and time of each configuration on the same pages.

    python -m benchmarks.bench_ocr_levers [--sets cnocr,pdf] [--levers base,det1280,...] [--json]

Every configuration runs in this one process on one onnxruntime thread (as
each OCR worker does), image by image in rotating order, so the machine's
load drifts over all of them alike. Time is this process's CPU seconds
(steadier than wall time on a shared machine; onnxruntime's and OpenVINO's
threads are counted too) and wall seconds. Sets and CER as in
benchmarks/bench_ocr.py (cnocr's labelled images; pages of ../shared/data/pdfs
rendered at 200 dpi with their text layer as truth).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time

from rapidfuzz.distance import Levenshtein

from benchmarks.bench_ocr import cnocr_samples, normalise, pdf_samples
from extractor.ocr import OcrOptions, OcrPageResult, PageImage
from extractor.ocr.runner import _run_one

# RapidOCR's own settings: what shencha ran before issue 16.
BASE = {"det_max_side": None, "rec_int8": False, "rec_batch": 6, "runtime": "onnxruntime", "rec_min_width": 320}
LEVERS: dict[str, dict[str, object]] = {
    "base": BASE,
    "det1600": {**BASE, "det_max_side": 1600},
    "det1280": {**BASE, "det_max_side": 1280},
    "det960": {**BASE, "det_max_side": 960},
    "int8": {**BASE, "rec_int8": True},
    "batch16": {**BASE, "rec_batch": 16},
    "recw160": {**BASE, "rec_min_width": 160},
    "recw96": {**BASE, "rec_min_width": 96},
    "fast": {**BASE, "det_max_side": 1280, "rec_int8": True, "rec_min_width": 96},
    "det1280w96": {**BASE, "det_max_side": 1280, "rec_min_width": 96},
    "det1600w96": {**BASE, "det_max_side": 1600, "rec_min_width": 96},
    "openvino": {**BASE, "det_max_side": 1280, "runtime": "openvino"},
    "default": {},  # OcrOptions() as shipped: det1280w96
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="cnocr,pdf")
    parser.add_argument("--levers", default="base,det1280,det960,int8,openvino,default")
    parser.add_argument("--dpi", type=float, default=200.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.levers.split(",") if n.strip()]
    options = {n: OcrOptions(**LEVERS[n]) for n in names}
    loaders = {"cnocr": cnocr_samples, "pdf": lambda: pdf_samples(args.dpi)}
    warm = cnocr_samples()[0]
    for opt in options.values():  # load every engine before timing
        _run_one(PageImage(key="warm", image=warm.image), opt, 1)

    load_before = os.getloadavg()
    report: dict[str, dict[str, dict[str, float]]] = {}
    for set_name in [s.strip() for s in args.sets.split(",") if s.strip()]:
        samples = loaders[set_name]()
        acc = {n: {"errors": 0, "cpu": 0.0, "wall": 0.0} for n in names}
        chars = 0
        for k, s in enumerate(samples):
            truth = normalise(s.truth)
            chars += len(truth)
            page = PageImage(key=hashlib.sha256(s.image).hexdigest(), image=s.image, dpi=s.dpi)
            order = names[k % len(names):] + names[: k % len(names)]
            for n in order:
                cpu, wall = time.process_time(), time.perf_counter()
                result = _run_one(page, options[n], 1)
                acc[n]["cpu"] += time.process_time() - cpu
                acc[n]["wall"] += time.perf_counter() - wall
                text = normalise("".join(ln.text for ln in result.lines)) if isinstance(result, OcrPageResult) else ""
                acc[n]["errors"] += Levenshtein.distance(text, truth)
        report[set_name] = {
            n: {
                "cer": round(a["errors"] / max(chars, 1), 4),
                "cpu": round(a["cpu"], 2),
                "wall": round(a["wall"], 2),
            }
            for n, a in acc.items()
        }
        report[set_name]["_chars"] = {"chars": chars, "images": len(samples)}  # type: ignore[dict-item]
    load_after = os.getloadavg()
    if args.json:
        print(json.dumps({"report": report, "load": [load_before, load_after]}, indent=1))
        return 0
    for set_name, rows in report.items():
        meta = rows.pop("_chars")
        base = rows.get("base")
        print(f"\n{set_name}: {meta['images']} images, {meta['chars']} chars")
        print(f"{'lever':10s} {'CER':>7s} {'dCER':>7s} {'cpu s':>8s} {'cpu/base':>9s} {'wall s':>8s}")
        for n, r in rows.items():
            d = r["cer"] - base["cer"] if base else 0.0
            ratio = r["cpu"] / base["cpu"] if base and base["cpu"] else float("nan")
            print(f"{n:10s} {r['cer']:7.4f} {d:+7.4f} {r['cpu']:8.2f} {ratio:9.2f} {r['wall']:8.2f}")
    print(f"\nload average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min) on {os.cpu_count()} cores")
    for n, opt in options.items():
        print(f"  {n}: {LEVERS[n] or 'OcrOptions()'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
