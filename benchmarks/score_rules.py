"""Score the rule pack on the sample packages' ground truth (no extraction).

For each ``fixtures/truth/<name>.json`` an ``ApplicationView`` is built from the
TRUTH fields (document id = file name), the registry exports in
``fixtures/registry/`` are synced into a throw-away store, and ``checks.run``
is called. Then:

- recall: a planted defect is found when a finding of the same category cites
  the defect's file in its evidence (a missing document: same category);
- precision: of all ``fail`` findings, the share that name a planted defect: same
  category and file, or evidence on the defect's file holding the defect's offending
  value (one planted error seen by two rules); clean packages' fails all count against it.

    .venv/bin/python benchmarks/score_rules.py [--verbose] [--no-registry] [--json OUT] [--extract]

``--extract`` scores the whole pipeline instead: the package files are read
and extracted (OCR included, minutes per package) and the rules run on those
fields; the acceptance figures are the truth-field ones.

Acceptance: recall 1.0, precision >= 0.95. Exit 1 when either is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import checks
from checks.model import Finding
from checks.view import ApplicationInfo, ApplicationView, DocumentInfo
from extractor.model import Field, Source
from fixtures.truth import PACKAGES_DIR, TRUTH_DIR, PackageTruth, TruthDefect, load_truth

REGISTRY_DIR = ROOT / "fixtures" / "registry"


def view_from_truth(truth: PackageTruth) -> ApplicationView:
    app_json = PACKAGES_DIR / truth.package / "application.json"
    declared: dict[str, Any] = json.loads(app_json.read_text(encoding="utf-8")) if app_json.exists() else {}
    info = ApplicationInfo(
        company_name=declared.get("company_name"), uscc=declared.get("uscc"),
        industry=declared.get("industry", truth.industry),
        application_type=declared.get("application_type", truth.application_type),
        as_of=date.fromisoformat(declared.get("application_date", truth.application_date)),
    )
    scanned = {d.file: d.scanned for d in truth.documents}
    docs = [DocumentInfo(id=d.file, path=d.file, doc_type=d.doc_type, pages=d.pages) for d in truth.documents]
    fields = []
    for tf in truth.fields:
        attrs = dict(tf.attributes)
        if tf.text:
            attrs.setdefault("text", tf.text)
        fields.append(Field(type=tf.type, value=tf.value, normalized=tf.value, role=tf.role, document=tf.file,
                            page=tf.page, bbox=None, confidence=1.0,
                            source=Source.OCR if scanned.get(tf.file) else Source.TEXT, attributes=attrs))
    return ApplicationView(application=info, documents=docs, fields=fields)


def registry_lookup(tmp: Path) -> Any:
    """A RegistryLookup over the fixtures' registry exports (None when there are none)."""
    if not REGISTRY_DIR.exists():
        return None
    import csv

    import yaml

    from registry_sync.lookup import RegistryLookup
    from registry_sync.rows import CERT_COLUMNS
    from registry_sync.sources import open_source
    from registry_sync.store import make_engine
    from registry_sync.sync import sync

    engine = make_engine(f"sqlite:///{tmp / 'registry.db'}")
    # Two certificate exports (canonical columns; 应急管理部 with Chinese headers and a mapping)
    # make one snapshot: a sync replaces the snapshot in force, so they are merged first.
    rows: list[dict[str, str]] = []
    canonical = REGISTRY_DIR / "certificates.csv"
    if canonical.exists():
        with canonical.open(encoding="utf-8", newline="") as fh:
            rows += list(csv.DictReader(fh))
    chinese, mapping = REGISTRY_DIR / "certificates_cn.csv", REGISTRY_DIR / "mapping_cn.yaml"
    if chinese.exists() and mapping.exists():
        cols = yaml.safe_load(mapping.read_text(encoding="utf-8"))
        with chinese.open(encoding="utf-8", newline="") as fh:
            rows += [{k: r.get(cols.get(k, k), "") for k in CERT_COLUMNS} for r in csv.DictReader(fh)]
    if rows:
        merged = tmp / "certificates_all.csv"
        with merged.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(CERT_COLUMNS))
            w.writeheader()
            w.writerows({k: r.get(k, "") for k in CERT_COLUMNS} for r in rows)
        sync(engine, open_source(str(merged)), kind="certificates")
    if (REGISTRY_DIR / "companies.csv").exists():
        sync(engine, open_source(str(REGISTRY_DIR / "companies.csv")), kind="companies")
    return RegistryLookup(engine)


def view_from_extraction(truth: PackageTruth) -> ApplicationView:
    """The real pipeline's fields (OCR and all), with document ids replaced by paths for matching."""
    from extractor.ingest import IngestOptions
    from shencha.review import read_package

    package, documents, _ = read_package(PACKAGES_DIR / truth.package, None, IngestOptions())
    app = package.application
    info = ApplicationInfo(company_name=app.company_name if app else None, uscc=app.uscc if app else None,
                           industry=(app.industry if app else None) or truth.industry,
                           application_type=(app.application_type if app else None) or truth.application_type,
                           as_of=date.fromisoformat(truth.application_date))
    view = ApplicationView.from_documents(info, documents)
    path = {d.id: d.path for d in view.documents}
    fields = [x.model_copy(update={"document": path.get(x.document, x.document)}) for x in view.fields]
    docs = [d.model_copy(update={"id": d.path}) for d in view.documents]
    return ApplicationView(application=info, documents=docs, fields=fields)


def matches(f: Finding, d: TruthDefect) -> bool:
    """Recall: the defect is reported with its category, citing its file."""
    if f.category != d.category:
        return False
    return d.file is None or any(e.document == d.file for e in f.evidence)


def names(f: Finding, d: TruthDefect) -> bool:
    """Precision: the fail is about a planted defect, under its category or as another rule's view of
    the same offending value in the same file (one wrong ID number seen by the consistency and the
    registry rules alike)."""
    if matches(f, d):
        return True
    if d.file is None or d.value is None:
        return False
    value = str(d.value)
    return any(e.document == d.file and value in e.text for e in f.evidence)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--no-registry", action="store_true")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--extract", action="store_true",
                    help="score on the real extraction of the package files (slow: OCR) instead of the truth fields")
    args = ap.parse_args()

    truths = [load_truth(p) for p in sorted(TRUTH_DIR.glob("*.json"))]
    if not truths:
        print("no ground truth in fixtures/truth/")
        return 1
    ruleset = checks.load_ruleset()
    planted = found = fails = true_fails = strict_fails = 0
    report = []
    with tempfile.TemporaryDirectory() as tmp:
        lookup = None if args.no_registry else registry_lookup(Path(tmp))
        for truth in truths:
            view = view_from_extraction(truth) if args.extract else view_from_truth(truth)
            result = checks.run(view, ruleset, lookup)
            missed = [d for d in truth.defects if not any(matches(x, d) for x in result.findings)]
            bad = [x for x in result.findings if x.verdict == "fail" and not any(names(x, d) for d in truth.defects)]
            n_fail = sum(1 for x in result.findings if x.verdict == "fail")
            planted += len(truth.defects)
            found += len(truth.defects) - len(missed)
            fails += n_fail
            true_fails += n_fail - len(bad)
            strict_fails += sum(1 for x in result.findings if x.verdict == "fail" and any(matches(x, d) for d in truth.defects))
            print(f"{truth.package:28s} defects {len(truth.defects) - len(missed)}/{len(truth.defects)} found; "
                  f"fail findings {n_fail} ({len(bad)} unplanted); uncertain "
                  f"{sum(1 for x in result.findings if x.verdict == 'uncertain')}; rule errors {len(result.errors)}")
            for d in missed:
                print(f"    MISSED  [{d.category}] {d.file}: {d.description}")
            for x in bad:
                print(f"    UNPLANTED FAIL [{x.category}] {x.rule_id}: {x.message}")
            for e in result.errors:
                print(f"    RULE ERROR {e.rule_id}: {e.message}")
            if args.verbose:
                for x in result.findings:
                    print(f"      {x.verdict:9s} {x.severity:6s} {x.category:28s} {x.rule_id}: {x.message[:90]}")
            report.append({"package": truth.package, "defects": len(truth.defects), "missed": [d.model_dump() for d in missed],
                           "fail_findings": n_fail, "unplanted_fails": [x.model_dump(mode="json") for x in bad]})
    recall = found / planted if planted else 1.0
    precision = true_fails / fails if fails else 1.0
    print(f"\nrecall {recall:.3f} ({found}/{planted} planted defects found with the right category)")
    print(f"precision {precision:.3f} ({true_fails}/{fails} fail findings match a planted defect)"
          + ("" if lookup is not None or args.no_registry else "  [no registry exports found]"))
    print(f"  (strict: {strict_fails}/{fails} fail findings carry the planted defect's own category and file)")
    print(f"rules: {ruleset.rules_version}")
    if args.json:
        args.json.write_text(json.dumps({"recall": recall, "precision": precision,
                                         "precision_strict": strict_fails / fails if fails else 1.0, "packages": report},
                                        ensure_ascii=False, indent=2), encoding="utf-8")
    return 0 if recall == 1.0 and precision >= 0.95 else 1


if __name__ == "__main__":
    raise SystemExit(main())
