"""Drawing analysis: speed on a 200-building site plan, accuracy on the generated fixtures.

    python -m benchmarks.bench_drawings [--runs 3] [--scans [--ocr-cache DIR]]

Speed (target: 200 buildings in < 5 s): ``extractor.drawings.analyse`` on a
generated 1:1000 A0 site plan with 200 labelled outlines, as a vector PDF and
as a DXF; geometry extraction with PDFium's raw path API against pdfplumber's
lines/rects/curves/chars on the same page (why PDFium); the STRtree
neighbour search against an all-pairs baseline.

Accuracy: for every generated drawing (fixtures/drawings, truth/*.json), the
largest relative error of a measured distance against the true shortest
distance, labels read, annotations paired; ``--scans`` adds the scanned
renders (runs OCR, about 30 s a page on a shared 2-core machine).
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

from benchmarks.common import FIXTURES
from extractor.drawings import analyse
from extractor.drawings.geometry import neighbours
from extractor.model import Document, DocumentKind, Page, Source
from fixtures.drawings import generate as gen

DRAWINGS = FIXTURES / "drawings"


def _doc(kind: DocumentKind, unit: str = "pt") -> Document:
    src = Source.DXF if kind == DocumentKind.DXF else Source.TEXT
    return Document(id="bench", path="bench", sha256="x", size=1, kind=kind,
                    pages=[Page(number=1, width=1.0, height=1.0, unit=unit, source=src)])


def best(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def speed(runs: int) -> None:
    import pdfplumber
    import pypdfium2 as pdfium
    from shapely.geometry import Polygon

    from extractor.drawings.vector import read_vector_page

    layout = gen.layout_grid(200)
    pdf, dxf = gen.write_pdf(layout), gen.write_dxf(layout)
    pdf_doc, dxf_doc = _doc(DocumentKind.PDF), _doc(DocumentKind.DXF, "dxf")
    analyse(pdf_doc, pdf)  # imports and first-call costs out of the timing
    r = analyse(pdf_doc, pdf)
    page = r.pages[0]
    t_pdf = best(lambda: analyse(pdf_doc, pdf), runs)
    t_dxf = best(lambda: analyse(dxf_doc, dxf), runs)
    print(f"200-building site plan ({len(page.buildings)} outlines, {sum(b.label_complete for b in page.buildings)} labels read, "
          f"{len(page.measurements)} neighbour pairs measured)")
    print(f"  analyse, vector PDF : {t_pdf:6.3f} s   (target < 5 s)")
    print(f"  analyse, DXF        : {t_dxf:6.3f} s")

    def pdfium_geometry() -> None:
        d = pdfium.PdfDocument(pdf)
        read_vector_page(d[0])
        d.close()

    def plumber_geometry() -> None:
        with pdfplumber.open(io.BytesIO(pdf)) as d:
            p = d.pages[0]
            _ = (p.lines, p.rects, p.curves, p.chars)

    print(f"  geometry + text, PDFium raw API : {best(pdfium_geometry, runs):6.3f} s")
    print(f"  geometry + text, pdfplumber     : {best(plumber_geometry, max(1, runs - 1)):6.3f} s")

    buildings = page.buildings
    scale = page.scale.metres_per_unit
    t_tree = best(lambda: neighbours(buildings, 50 / scale, scale), runs)
    polys = [Polygon(b.polygon) for b in buildings]
    gap = 50 / scale

    def all_pairs() -> int:
        """The same neighbour definition without a spatial index: every pair, every third outline."""
        import numpy as np
        import shapely

        arr = np.asarray(polys, dtype=object)
        found = 0
        for i in range(len(polys)):
            for j in range(i + 1, len(polys)):
                d = polys[i].distance(polys[j])
                if d > gap or d <= 0:
                    continue
                line = shapely.shortest_line(polys[i], polys[j])
                hits = shapely.intersects(arr, line)
                hits[[i, j]] = False
                if not any(shapely.intersection(p, line).length > 1e-6 for p in arr[hits]):
                    found += 1
        return found

    t_all = best(all_pairs, 1)
    print(f"  neighbours, STRtree (dwithin + unobstructed) : {t_tree:6.3f} s ({len(page.measurements)} pairs)")
    print(f"  neighbours, all {len(polys) * (len(polys) - 1) // 2} pairs, no index     : {t_all:6.3f} s ({all_pairs()} pairs)")


def accuracy(scans: bool, ocr_cache: Path | None) -> None:
    from extractor.ingest import ingest_path

    cache = None
    if ocr_cache is not None:
        from benchmarks.eval_fields import DirCache

        cache = DirCache(ocr_cache)

    print("\naccuracy on fixtures/drawings (relative error of measured vs true shortest distance)")
    print(f"  {'file':28s} {'method':10s} {'scale':10s} {'pairs':>5s} {'max err':>8s} {'labels':>7s} {'annot.':>7s}")
    suffixes = [".pdf", ".dxf"] + (["_scan.jpg"] if scans else [])
    for name in gen.LAYOUTS:
        t = json.loads((DRAWINGS / "truth" / f"{name}.json").read_text(encoding="utf-8"))
        true = {frozenset(p["between"]): p["distance_m"] for p in t["all_pairs"]}
        for suffix in suffixes:
            path = DRAWINGS / f"{name}{suffix}"
            doc = ingest_path(path, cache=cache).documents[0]
            r = analyse(doc, path.read_bytes())
            pages = r.pages
            ms = [m for p in pages for m in p.measurements if m.distance_m is not None]
            errs = [abs(m.distance_m - true[frozenset(m.between)]) / true[frozenset(m.between)]
                    for m in ms if frozenset(m.between) in true]
            blds = {b.name: b for p in pages for b in p.buildings}
            ok = sum(1 for b in t["buildings"] if (g := blds.get(b["name"])) is not None
                     and (g.use_class, g.fire_grade, g.high_rise) == (b["use_class"], b["fire_grade"], b["high_rise"]))
            anns = {(frozenset(a.between or []), a.value_m) for p in pages for a in p.annotations}
            paired = sum(1 for p in t["pairs"] if (frozenset(p["between"]), p["annotated_m"]) in anns)
            scale = pages[0].scale.method if pages else "-"
            err = f"{max(errs):.3%}" if errs else "—"
            print(f"  {path.name:28s} {r.method:10s} {scale:10s} {len(ms):5d} {err:>8s} "
                  f"{ok:>3d}/{len(t['buildings']):<3d} {paired:>3d}/{len(t['pairs']):<3d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scans", action="store_true", help="include the scanned renders (runs OCR)")
    parser.add_argument("--ocr-cache", type=Path, default=None, help="directory for OCR results (rerun without OCR)")
    args = parser.parse_args()
    speed(args.runs)
    accuracy(args.scans, args.ocr_cache)


if __name__ == "__main__":
    main()
