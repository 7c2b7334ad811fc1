"""Learning from officers' corrections (issue 17), measured on held-out corrections split by application.

    .venv/bin/python benchmarks/bench_corrections.py [--work DIR] [--ner] [--iterations N]

1. The corrections set: every blind_c package (fixtures/blind_c/packages_out, written blind) is
   reviewed into a throw-away store (OCR from the default store's cache), its fields are diffed
   per document against `_expected/*.json` (matched as ../shared/scoring/eval_extract.py
   matches), and every miss, misread and false value is replayed through
   `service.corrections.correct_field` as an officer's correction (a second officer confirms
   those that remove a `fail`). `shencha corrections export` writes them out.
2. Split by application: sorted ids, the 1st, 3rd, 5th … train, the others held out.
3. Header synonyms proposed from the training corrections; measured by extracting the
   held-out packages again with them (SHENCHA_HEADER_SYNONYMS): held-out corrections no
   longer needed, new false values, eval_extract micro F1 before and after.
4. (--ner) The person-name recogniser retrained with and without the training corrections at
   the same (small) CRF setting; F1 on the held-out corrections' lines (gold: every expected
   name of that application in the line) and on the two NER dev sets.
5. Correction rates per field type and per document type (what the supervisor page shows).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SCORING = Path(os.environ.get("SHENCHA_SCORING", REPO.parent / "shared" / "scoring"))
sys.path.insert(0, str(SCORING))

from eval_extract import NUMERIC, collect_fields, key_of, score_package  # noqa: E402

from shencha.service import corrections  # noqa: E402
from shencha.service.accounts import DEMO_PASSWORD_SUFFIX, authenticate, seed_demo_accounts  # noqa: E402
from shencha.store import Store  # noqa: E402

FAMILY = REPO / "fixtures" / "blind_c" / "packages_out"
SCORED = ("person_name", "resident_id", "uscc", "company_name", "cert_no", "safety_licence_no")
PY = str(REPO / ".venv" / "bin" / "python")
SHENCHA = str(REPO / ".venv" / "bin" / "shencha")


def _review(path: Path, store: Store, cache: Store, application_id: str):
    """review.review_path, with the OCR cache of `cache` (the default store: no OCR twice)."""
    from shencha import __version__
    from shencha.report import Report, ReportDocument, Versions
    from shencha.review import (
        ReviewOptions,
        _application,
        _errors,
        _ocr_versions,
        _run_checks,
        application_key,
        read_package,
    )

    options = ReviewOptions()
    package, documents, blobs = read_package(path, cache, options.ingest)
    application = _application(package, documents, None)
    application.application_no = application_id
    report = Report(application=application, documents=[ReportDocument.from_document(d) for d in documents],
                    errors=_errors(package, documents),
                    versions=Versions(shencha=__version__, ocr=_ocr_versions(documents)), created_at=datetime.now(UTC))
    _run_checks(report, documents, store)
    return store.save_review(application_key(application_id), application_id, report, documents, blobs)


def _similar(a: str, b: str) -> bool:
    """A misread rather than another value: one contains the other, or at most two characters differ."""
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    if abs(len(a) - len(b)) > 2:
        return False
    from difflib import SequenceMatcher

    return SequenceMatcher(None, a, b).ratio() >= 0.75


def _keys(ftype: str, f: dict) -> set[str]:
    return {key_of(ftype, f.get(k)) for k in ("value", "normalized") if f.get(k) not in (None, "")}


def plan_corrections(report, expected: dict, store: Store) -> list[dict]:
    """What an officer would correct on this report, per document: misses, misreads, false values."""
    from shencha.schema import DocumentRow, LineRow, PageRow, ReportRow

    by_path = {d.path: d for d in report.documents}
    truth = {t: {key_of(t, f["value"]) for f in expected["fields"] if f["type"] == t} for t in SCORED}
    ignore = {t: {key_of(t, f["value"]) for f in expected.get("fields_ignore", []) if f["type"] == t} for t in SCORED}
    with store.session() as session:
        rid = store.report_row_id(report.report_id)
        lines: dict[tuple[str, int], list] = {}
        for doc_key, page, text, x0, y0, x1, y1 in session.execute(
                session.query(DocumentRow.doc_key, PageRow.number, LineRow.text, LineRow.x0, LineRow.y0, LineRow.x1,
                              LineRow.y1).join(PageRow, PageRow.document_id == DocumentRow.id)
                .join(LineRow, LineRow.page_id == PageRow.id).filter(DocumentRow.report_id == rid).statement):
            lines.setdefault((doc_key, page), []).append((text, [x0, y0, x1, y1]))
        assert session.get(ReportRow, rid) is not None
    plan: list[dict] = []
    seen: set[tuple] = set()
    for f in expected["fields"]:
        t = f["type"]
        if t not in SCORED:
            continue
        want = key_of(t, f["value"])
        for path in f.get("documents", []):
            doc = by_path.get(path)
            if doc is None or doc.status != "ok":
                continue
            preds = [g.model_dump(mode="json") for g in doc.fields if g.type == t]
            if any(want in _keys(t, g) for g in preds):
                continue
            # a misread: a value of this type here that is no expected value and looks like this one
            wrong = [g for g in preds if not (_keys(t, g) & (truth[t] | ignore[t]))
                     and _similar(key_of(t, g["value"]), want)]
            if wrong:
                g = wrong[0]
                item = dict(kind="correct", field_type=t, document=doc.id, doc_type=doc.doc_type, page=g["page"],
                            old_value=str(g["value"]), new_value=f["value"], role=g.get("role"))
            else:
                where = [(page, box) for (dk, page), ls in lines.items() if dk == doc.id
                         for text, box in ls if f["value"] in re.sub(r"\s", "", text)]
                if not where:
                    continue  # nowhere on the pages: an officer could not point at it
                page, box = min(where)
                item = dict(kind="add", field_type=t, document=doc.id, doc_type=doc.doc_type, page=page, bbox=box,
                            old_value=None, new_value=f["value"], role=f.get("role"))
            key = (item["kind"], t, doc.id, item["old_value"], item["new_value"])
            if key not in seen:
                seen.add(key)
                plan.append(item)
    corrected_old = {(p["document"], p["field_type"], p["old_value"]) for p in plan if p["kind"] == "correct"}
    for doc in report.documents:
        for g in doc.fields:
            if g.type not in SCORED:
                continue
            gd = g.model_dump(mode="json")
            if _keys(g.type, gd) & (truth[g.type] | ignore[g.type]):
                continue
            if (doc.id, g.type, str(g.value)) in corrected_old:
                continue
            key = ("not_a_field", g.type, doc.id, str(g.value), None)
            if key not in seen:
                seen.add(key)
                plan.append(dict(kind="not_a_field", field_type=g.type, document=doc.id, doc_type=doc.doc_type,
                                 page=g.page, old_value=str(g.value), new_value=None, role=g.role))
    return plan


def build_set(work: Path) -> tuple[list[dict], dict[str, dict], Store]:
    store = Store(f"sqlite:///{work / 'corrections.db'}")
    cache = Store()  # the default store: its OCR cache
    seed_demo_accounts(store, only=["officer", "officer2"])
    officer = authenticate(store, "officer", "officer" + DEMO_PASSWORD_SUFFIX)
    officer2 = authenticate(store, "officer2", "officer2" + DEMO_PASSWORD_SUFFIX)
    expected_by_app: dict[str, dict] = {}
    stats = {"effective_at_once": 0, "second_officer": 0, "skipped": 0}
    for exp_file in sorted((FAMILY / "_expected").glob("*.json")):
        expected = json.loads(exp_file.read_text(encoding="utf-8"))
        app_id = expected["case"]
        expected_by_app[app_id] = expected
        t0 = time.time()
        report = _review(FAMILY / expected["package"], store, cache, app_id)
        plan = plan_corrections(report, expected, store)
        rid = store.report_row_id(report.report_id)
        for item in plan:
            try:
                rec = corrections.correct_field(
                    store, officer, rid, field_type=item["field_type"], document=item["document"], page=item["page"],
                    old_value=item["old_value"], new_value=item["new_value"], bbox=item.get("bbox"),
                    role=item.get("role"), reason="按原件核对（回放盲测样本的识别错误）")
            except (KeyError, ValueError, corrections.CorrectionConflict) as exc:
                stats["skipped"] += 1
                print(f"  skipped {item['kind']} {item['field_type']} {item['new_value'] or item['old_value']}: {exc!r}")
                continue
            if rec.state == "pending_second_review":
                rec = corrections.second_review_correction(store, officer2, rec.key, "confirm", "核对原件无误")
                stats["second_officer"] += 1
            else:
                stats["effective_at_once"] += 1
            rid = rec.result_report_id
        print(f"{app_id}: {len(plan)} corrections replayed in {time.time() - t0:.0f}s")
    rows = list(corrections.export_rows(store))
    (work / "corrections.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                            encoding="utf-8")
    print(f"corrections set: {len(rows)} effective ({stats['effective_at_once']} at once, "
          f"{stats['second_officer']} after a second officer), {stats['skipped']} not replayable")
    return rows, expected_by_app, store


def split(apps: list[str]) -> tuple[list[str], list[str]]:
    ordered = sorted(apps)
    return ordered[0::2], ordered[1::2]


def _extract(package: Path, env: dict[str, str]) -> list[dict]:
    out = subprocess.run([SHENCHA, "extract", str(package), "--format", "json"], capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=1800, check=True).stdout
    return json.loads(out)


def _still_needed(row: dict, docs: list[dict], expected: dict) -> bool:
    """Whether the held-out correction is still needed on a new extraction of its package."""
    t = row["field_type"]
    doc = next((d for d in docs if d["id"] == row["crop"]["document"]), None)
    if doc is None:
        return True
    keys = [k for g in doc["fields"] if g["type"] == t for k in _keys(t, g)]
    if row["kind"] == "not_a_field":
        return key_of(t, row["machine_value"]) in keys
    return key_of(t, row["corrected_value"]) not in keys


def _micro_f1(expected: dict, docs: list[dict]) -> tuple[int, int, int]:
    res, _, _ = score_package(expected, collect_fields(docs))
    return (sum(v["tp"] for v in res.values()), sum(v["fp"] for v in res.values()), sum(v["fn"] for v in res.values()))


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / max(1, 2 * tp + fp + fn)


def headers(rows: list[dict], expected_by_app: dict, train: list[str], held: list[str], work: Path) -> None:
    proposals = corrections.propose_headers([r for r in rows if r["application_id"] in train])
    print("\n== 1. header synonyms proposed from the training corrections ==")
    for p in proposals:
        print(f"  {p.key:<12} ← “{p.header}”  ({p.corrections} corrections in {p.applications} applications; "
              f"e.g. {', '.join(p.examples)})")
    path = work / "header_synonyms.yaml"
    if path.exists():
        path.unlink()
    corrections.write_synonyms(path, proposals)
    held_rows = [r for r in rows if r["application_id"] in held]
    totals = {"before": [0, 0, 0], "after": [0, 0, 0]}
    needed = {"before": 0, "after": 0}
    new_false = 0
    for app in held:
        exp = expected_by_app[app]
        pkg = FAMILY / exp["package"]
        for label, env in (("before", {"SHENCHA_HEADER_SYNONYMS": ""}), ("after", {"SHENCHA_HEADER_SYNONYMS": str(path)})):
            docs = _extract(pkg, env)
            for i, x in enumerate(_micro_f1(exp, docs)):
                totals[label][i] += x
            needed[label] += sum(_still_needed(r, docs, exp) for r in held_rows if r["application_id"] == app)
            if label == "after":
                base = _extract(pkg, {"SHENCHA_HEADER_SYNONYMS": ""})
                truth = {(f["type"], key_of(f["type"], f["value"])) for f in exp["fields"] + exp.get("fields_ignore", [])}
                old = {(g["type"], key_of(g["type"], g["value"])) for d in base for g in d["fields"] if g["type"] in SCORED}
                new = {(g["type"], key_of(g["type"], g["value"])) for d in docs for g in d["fields"] if g["type"] in SCORED}
                new_false += len({x for x in new - old if x not in truth})
    n = len(held_rows)
    print(f"  held-out applications {', '.join(held)}: {n} corrections")
    print(f"  held-out corrections still needed: before {needed['before']}/{n}, "
          f"with the proposed synonyms {needed['after']}/{n}  (spared: {needed['before'] - needed['after']})")
    print(f"  new false values from the synonyms on the held-out packages: {new_false}")
    for label in ("before", "after"):
        tp, fp, fn = totals[label]
        print(f"  eval_extract on the held-out packages, {label:<6}: tp {tp} fp {fp} fn {fn}  micro F1 {_f1(tp, fp, fn):.4f}")


def ner(rows: list[dict], expected_by_app: dict, train: list[str], held: list[str], work: Path, iterations: int) -> None:
    from extractor.ner.corpus import GoldSentence, GoldSpan
    from extractor.ner.scoring import PRF

    print(f"\n== 2. person-name recogniser retrained with the training corrections (CRF, {iterations} iterations) ==")
    train_file = work / "ner_train_corrections.jsonl"
    train_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows
                                  if r["application_id"] in train), encoding="utf-8")
    from extractor.ner.train import correction_sentences

    print(f"  training sentences from corrections: {len(correction_sentences(train_file))}")
    # Held-out gold: each held-out name correction's line, with every expected name of its application marked.
    gold: list[GoldSentence] = []
    seen = set()
    for r in rows:
        if r["application_id"] not in held or r["field_type"] != "person_name" or r["kind"] == "not_a_field":
            continue
        text = (r.get("line") or {}).get("text")
        if not text or text in seen:
            continue
        seen.add(text)
        names = {f["value"] for f in expected_by_app[r["application_id"]]["fields"] if f["type"] == "person_name"}
        spans = []
        for name in sorted(names, key=len, reverse=True):
            s = text.find(name)
            while s >= 0:
                if not any(a < s + len(name) and s < b for a, b in spans):
                    spans.append((s, s + len(name)))
                s = text.find(name, s + 1)
        gold.append(GoldSentence(text=text, spans=[GoldSpan(start=a, end=b, label="PERSON") for a, b in sorted(spans)],
                                 source="held-out corrections"))
    print(f"  held-out sentences: {len(gold)} with {sum(len(g.spans) for g in gold)} names")
    models = {"shipped": None}
    for name, extra in (("retrained", []), ("retrained+corrections", ["--corrections", str(train_file)])):
        run_dir = work / f"ner_{name.replace('+', '_')}"
        env = {**os.environ, "SHENCHA_NER_WORK": str(run_dir), "OMP_NUM_THREADS": "1"}
        t0 = time.time()
        subprocess.run([PY, "-m", "extractor.ner.train", "prepare", *extra], env=env, check=True, cwd=REPO)
        subprocess.run([PY, "-m", "extractor.ner.train", "crf", "--out", str(run_dir / "crf"), "--c1", "0.03",
                        "--c2", "0.005", "--iterations", str(iterations)], env=env, check=True, cwd=REPO)
        print(f"  {name}: trained in {time.time() - t0:.0f}s")
        models[name] = str(run_dir / "crf" / "model")
    from extractor.ner import raw_spans_batch

    def person_prf(model: str | None, sentences: list[GoldSentence]) -> PRF:
        pred = list(raw_spans_batch([s.text for s in sentences], model=model))
        tp = fp = fn = 0
        for s, spans in zip(sentences, pred):
            g = {(x.start, x.end) for x in s.spans if x.label == "PERSON"}
            p = {(x[0], x[1]) for x in spans if x[2] == "PERSON"}
            tp += len(g & p)
            fp += len(p - g)
            fn += len(g - p)
        return PRF(tp=tp, fp=fp, fn=fn)

    from extractor.ner.corpus import read_cluener, read_resumener

    data = Path(os.environ.get("SHENCHA_SHARED_DATA", REPO.parent / "shared" / "data")) / "ner"
    sets = {"held-out corrections": gold,
            "ResumeNER dev": list(read_resumener(data / "resumener_dev.jsonl")),
            "CLUENER dev": list(read_cluener(data / "cluener_dev_person_org.jsonl"))}
    print(f"  {'PERSON F1':<24}" + "".join(f"{k:>24}" for k in models))
    for set_name, sentences in sets.items():
        cells = []
        for model in models.values():
            prf = person_prf(model, sentences)
            cells.append(f"{prf.f1:.3f} (P {prf.precision:.3f} R {prf.recall:.3f})")
        print(f"  {set_name:<24}" + "".join(f"{c:>24}" for c in cells))


def rates(store: Store) -> None:
    from shencha.service.accounts import seed_demo_accounts as seed

    seed(store, only=["supervisor"])
    sup = authenticate(store, "supervisor", "supervisor" + DEMO_PASSWORD_SUFFIX)
    by_type, by_doc = corrections.correction_rates(store, sup)
    print("\n== 3. correction rates (corrections per field the machine read; the supervisor page) ==")
    for title, table in (("field type", by_type), ("document type", by_doc)):
        print(f"  by {title}:")
        for r in table:
            print(f"    {r.label:<16} {r.corrections:>3} / {r.fields:<4} = {r.rate:.1%}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/shencha_bench_corrections"))
    ap.add_argument("--ner", action="store_true", help="also retrain the NER model twice (minutes per run)")
    ap.add_argument("--iterations", type=int, default=60, help="CRF iterations for both retrained models")
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    db = a.work / "corrections.db"
    for stale in (db, db.with_suffix(".db-wal"), db.with_suffix(".db-shm"), db.with_suffix(".audit-checkpoints")):
        stale.unlink(missing_ok=True)
    rows, expected_by_app, store = build_set(a.work)
    train, held = split(list(expected_by_app))
    kinds = {k: sum(r["kind"] == k for r in rows) for k in ("correct", "add", "not_a_field")}
    print(f"split by application: train {', '.join(train)} ({sum(r['application_id'] in train for r in rows)} corrections), "
          f"held out {', '.join(held)} ({sum(r['application_id'] in held for r in rows)}); kinds {kinds}")
    from shencha.service.audit import verify

    print(f"audit trail: {verify(store, None).summary()}")
    headers(rows, expected_by_app, train, held, a.work)
    if a.ner:
        ner(rows, expected_by_app, train, held, a.work, a.iterations)
    rates(store)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
