"""Score every family of test packages with the shared scorers, one table per family.

    .venv/bin/python -m benchmarks.families [--family a|b|c|d|e|f ...] [--only extract|review] [--json OUT]

Families:

- ``a``: ``fixtures/packages`` (written with the extractors in view; the
  tuning family). Its truth (``fixtures/truth``) is exported to the shared
  scorers' ``_expected`` format first.
- ``b`` to ``f``: blind families, written by people who had not
  read ``extractor/`` or ``checks/`` (``fixtures/blind_<x>``), already in the
  scorers' format. They are the check, never the tuning set; each was scored
  once on first contact before anything was changed for it.

Both scorers (``../shared/scoring/eval_extract.py`` and ``eval_review.py``)
drive ``shencha`` through its command line only, on a fresh SQLite store per
run. Each prints per-type / per-category tables; this script keeps their
output and adds a per-family summary at the end: field micro F1 and
person-name recall, ``fail`` recall and precision, fails and uncertain
findings on clean packages.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCORING = ROOT.parent / "shared" / "scoring"
SHENCHA = ROOT / ".venv" / "bin" / "shencha"

FAMILIES = {
    "a": ROOT / "fixtures",
    "b": ROOT / "fixtures" / "blind_b" / "packages_out",
    "c": ROOT / "fixtures" / "blind_c" / "packages_out",
    "d": ROOT / "fixtures" / "blind_d" / "packages_out",
    "e": ROOT / "fixtures" / "blind_e" / "packages_out",
    "f": ROOT / "fixtures" / "blind_f" / "packages_out",
}

# Family A's defects without an offending value: the words a correct finding names.
_A_KEYS = {
    ("wh_hubei_missing_plan", "completeness.missing_document"): ["应急救援预案", "应急预案"],
    ("jz_shanxi_defects", "completeness.missing_document"): ["工伤保险"],
    ("jz_jiangsu_defects", "plan.missing_measure"): ["防护栏杆", "挡脚板", "安全立网", "脚手架"],
}


def export_family_a(out: Path) -> Path:
    """fixtures/ as a scorer folder: packages linked, registry copied, truth converted."""
    src = FAMILIES["a"]
    (out / "_expected").mkdir(parents=True, exist_ok=True)
    (out / "registry").mkdir(exist_ok=True)
    for name in ("certificates.csv", "companies.csv"):
        shutil.copy(src / "registry" / name, out / "registry" / name)
    for truth_file in sorted((src / "truth").glob("*.json")):
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
        package = truth["package"]
        link = out / package
        if not link.exists():
            link.symlink_to(src / "packages" / package)
        fields = [{"type": f["type"], "value": f["value"], "role": f.get("role"), "documents": [f["file"]]}
                  for f in truth["fields"]]
        findings = []
        for d in truth["defects"]:
            keys = [str(d["value"])] if d.get("value") not in (None, "") else []
            if not keys:
                holder = re.search(r"（(.{2,4})）", d["description"])
                keys = _A_KEYS.get((package, d["category"])) or ([holder.group(1)] if holder else [])
            findings.append({"category": d["category"], "key": keys[0], "alt_keys": keys[1:]})
        expected = {"case": package, "package": package, "industry": truth["industry"],
                    "as_of": truth["application_date"], "fields": fields, "fields_ignore": [],
                    "findings": findings, "acceptable": []}
        (out / "_expected" / f"{package}.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1),
                                                         encoding="utf-8")
    return out


def _run(script: str, pkg_dir: Path, details: Path, shencha: str = str(SHENCHA)) -> tuple[str, float]:
    start = time.perf_counter()
    # A store of its own (the review scorer makes one; the extract scorer would use the
    # user's default store, whose OCR cache may hold pages another checkout read).
    env = {**os.environ, "SHENCHA_DB": f"sqlite:///{details.with_suffix('.db')}"}
    proc = subprocess.run([sys.executable, str(SCORING / script), str(pkg_dir), "--shencha", shencha,
                           "--details", str(details)], capture_output=True, text=True, env=env)
    return proc.stdout + proc.stderr, time.perf_counter() - start


def _figure(text: str, pattern: str) -> float | None:
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", action="append", choices=sorted(FAMILIES), help="default: every family present")
    ap.add_argument("--only", choices=["extract", "review"])
    ap.add_argument("--json", type=Path, help="write the summary and the scorers' details here")
    ap.add_argument("--quiet", action="store_true", help="print the summary only")
    ap.add_argument("--shencha", default=str(SHENCHA),
                    help="the command to score (e.g. a wrapper running another checkout)")
    args = ap.parse_args(argv)
    if not SCORING.is_dir():
        print(f"the shared scorers are not present: {SCORING}", file=sys.stderr)
        return 1
    families = args.family or [f for f, p in FAMILIES.items() if p.exists()]
    summary: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="shencha-families-") as tmp:
        for fam in families:
            pkg_dir = export_family_a(Path(tmp) / "a") if fam == "a" else FAMILIES[fam]
            if not (pkg_dir / "_expected").is_dir():
                print(f"family {fam}: no packages at {pkg_dir}", file=sys.stderr)
                continue
            row: dict[str, object] = {"packages": len(list((pkg_dir / "_expected").glob("*.json")))}
            for kind in ("extract", "review"):
                if args.only and args.only != kind:
                    continue
                details = Path(tmp) / f"{fam}-{kind}.json"
                out, secs = _run(f"eval_{kind}.py", pkg_dir, details, args.shencha)
                if not args.quiet:
                    print(f"\n===== family {fam}: eval_{kind} ({secs:.0f} s) =====\n{out}")
                row[f"{kind}_seconds"] = round(secs, 1)
                row[f"{kind}_output"] = out
                if details.exists():
                    row[f"{kind}_details"] = json.loads(details.read_text(encoding="utf-8"))
            summary[fam] = row
    print("\n===== summary per family =====")
    for fam, row in summary.items():
        ext, rev = str(row.get("extract_output", "")), str(row.get("review_output", ""))
        person = re.search(r"^person_name\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)", ext, re.M)
        figures = {
            "field micro F1": _figure(ext, r"extract_micro_f1=([\d.]+)"),
            "person_name recall": float(person.group(6)) if person else None,
            "fail recall": _figure(rev, r"recall \(fail findings\)\s+([\d.]+)"),
            "fail precision": _figure(rev, r"precision \(fail findings\)\s+([\d.]+)"),
            "uncertain": _figure(rev, r"uncertain findings\s+(\d+)"),
            "fails on clean packages": _figure(rev, r"false positives on clean packages\s+(\d+)"),
        }
        shown = ", ".join(f"{k} {v:g}" if v == int(v) else f"{k} {v:.3f}" for k, v in figures.items()
                          if v is not None)
        print(f"family {fam} ({row['packages']} packages): {shown}")
    if args.json:
        args.json.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
