"""Score field extraction against the fixture packages' ground truth.

    .venv/bin/python benchmarks/eval_fields.py [--fixtures DIR] [--package NAME] [--no-ocr] [--show-errors]

Each package under ``DIR/packages/`` is ingested with the project's reader
(``extractor.ingest``; scanned pages go through OCR unless ``--no-ocr``),
extracted with :func:`extractor.fields.extract_package`, and compared with
``DIR/truth/<package>.json``. A field counts as found when a predicted field
has the same file, page, type, normalised value and (for the types whose
role matters) role; duplicates on both sides count once. Precision, recall
and F1 are printed per field type, for text-layer and scanned documents
separately, with the micro average of each.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from extractor import identifiers as ids
from extractor.fields import extract_package
from extractor.model import Document
from extractor.normalize import compact_name

ROLE_TYPES = {"person_name", "date", "company_name", "uscc"}
NUMERIC = {"fire_separation_distance", "evacuation_width", "building_height", "scaffold_height",
           "guard_rail_height", "toe_board_height"}

Key = tuple[str, int, str, str, str]


def norm_value(ftype: str, value: object) -> str:
    if ftype in NUMERIC:
        try:
            return f"{float(value):.2f}"  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value)
    text = compact_name(str(value))
    if ftype in ("resident_id", "uscc", "cert_no"):
        text = text.upper()
    if ftype == "safety_licence_no":
        text = ids.check_safety_licence_no(text).value
    if ftype == "cert_no":
        cls = ids.classify_cert_no(text)
        if cls is not None:
            text = cls.value
    return text


def key_of(file: str, page: int | None, ftype: str, value: object, role: str | None) -> Key:
    return (file, int(page or 1), ftype, norm_value(ftype, value), (role or "") if ftype in ROLE_TYPES else "")


class DirCache:
    """OCR results on disk, keyed by page-image hash: a rerun skips OCR."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    # Pickle, not JSON: the result carries the processed page image as bytes.
    # The cache is this script's own scratch data, never read from elsewhere.
    def get(self, key: str):
        path = self.root / f"{key}.pkl"
        if not path.exists():
            return None
        return pickle.loads(path.read_bytes())

    def put(self, key: str, result) -> None:
        (self.root / f"{key}.pkl").write_bytes(pickle.dumps(result))


def load_documents(package_dir: Path, *, ocr: bool, cache_dir: Path | None = None) -> list[Document]:
    from extractor.ingest import IngestOptions, ingest_path

    if not ocr:
        # Scanned pages are left without lines: their fields are then not scored.
        from extractor import ingest

        ingest._run_ocr = lambda *a, **k: None  # type: ignore[attr-defined]
    cache = DirCache(cache_dir) if cache_dir else None
    return ingest_path(package_dir, IngestOptions(), cache).documents


class Score:
    def __init__(self) -> None:
        self.tp: Counter[str] = Counter()
        self.fp: Counter[str] = Counter()
        self.fn: Counter[str] = Counter()
        self.errors: list[str] = []

    def add(self, truth: set[Key], pred: set[Key]) -> None:
        for k in truth & pred:
            self.tp[k[2]] += 1
        for k in pred - truth:
            self.fp[k[2]] += 1
            self.errors.append(f"FP {k}")
        for k in truth - pred:
            self.fn[k[2]] += 1
            self.errors.append(f"FN {k}")

    @staticmethod
    def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f

    def micro(self) -> tuple[float, float, float]:
        return self.prf(sum(self.tp.values()), sum(self.fp.values()), sum(self.fn.values()))

    def table(self, title: str) -> str:
        types = sorted(set(self.tp) | set(self.fp) | set(self.fn))
        lines = [f"== {title}", f"{'field type':28s} {'tp':>5s} {'fp':>5s} {'fn':>5s} {'P':>6s} {'R':>6s} {'F1':>6s}"]
        for t in types:
            p, r, f = self.prf(self.tp[t], self.fp[t], self.fn[t])
            lines.append(f"{t:28s} {self.tp[t]:5d} {self.fp[t]:5d} {self.fn[t]:5d} {p:6.3f} {r:6.3f} {f:6.3f}")
        p, r, f = self.micro()
        tp, fp, fn = sum(self.tp.values()), sum(self.fp.values()), sum(self.fn.values())
        lines.append(f"{'MICRO':28s} {tp:5d} {fp:5d} {fn:5d} {p:6.3f} {r:6.3f} {f:6.3f}")
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", type=Path, default=ROOT / "fixtures")
    ap.add_argument("--package", action="append", help="only this package (repeatable)")
    ap.add_argument("--no-ocr", action="store_true", help="skip OCR: score text-layer documents only")
    ap.add_argument("--show-errors", action="store_true", help="list every missed and spurious field")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--ocr-cache", type=Path, default=Path("/tmp/shencha-eval-ocr-cache"),
                    help="directory for OCR results, so reruns skip OCR")
    args = ap.parse_args(argv)

    truth_dir = args.fixtures / "truth"
    pkg_dir = args.fixtures / "packages"
    truths = sorted(truth_dir.glob("*.json"))
    if args.package:
        truths = [t for t in truths if t.stem in set(args.package)]
    if not truths:
        print(f"no truth files under {truth_dir}", file=sys.stderr)
        return 1
    scores = {"text": Score(), "scanned": Score()}
    doc_types: Counter[str] = Counter()
    t0 = time.perf_counter()
    for tpath in truths:
        truth = json.loads(tpath.read_text(encoding="utf-8"))
        docs = load_documents(pkg_dir / truth["package"], ocr=not args.no_ocr, cache_dir=args.ocr_cache)
        docs = extract_package(docs)
        by_file = {d.path: d for d in docs}
        for tdoc in truth["documents"]:
            split = "scanned" if tdoc["scanned"] else "text"
            if split == "scanned" and args.no_ocr:
                continue
            doc = by_file.get(tdoc["file"])
            t_keys = {key_of(f["file"], f["page"], f["type"], f["value"], f.get("role"))
                      for f in truth["fields"] if f["file"] == tdoc["file"]}
            p_keys: set[Key] = set()
            if doc is not None:
                doc_types["right" if doc.doc_type == tdoc["doc_type"] else "wrong"] += 1
                if doc.doc_type != tdoc["doc_type"]:
                    scores[split].errors.append(f"DOCTYPE {tdoc['file']}: {doc.doc_type} != {tdoc['doc_type']}")
                p_keys = {key_of(tdoc["file"], f.page, f.type, f.normalized if f.normalized is not None else f.value,
                                 f.role) for f in doc.fields}
            scores[split].add(t_keys, p_keys)
    elapsed = time.perf_counter() - t0
    out: dict[str, object] = {}
    for split, sc in scores.items():
        if not (sc.tp or sc.fp or sc.fn):
            continue
        print(sc.table(f"{split} documents ({len(truths)} packages)"))
        print()
        out[split] = {"micro_f1": round(sc.micro()[2], 4),
                      "per_type": {t: round(Score.prf(sc.tp[t], sc.fp[t], sc.fn[t])[2], 4)
                                   for t in sorted(set(sc.tp) | set(sc.fp) | set(sc.fn))}}
        if args.show_errors:
            for e in sorted(sc.errors):
                print("  ", e)
            print()
    print(f"document types: {doc_types['right']} right, {doc_types['wrong']} wrong; {elapsed:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
