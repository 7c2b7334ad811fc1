"""Score shencha's NER (and jieba's POS tags as a baseline) on the public dev sets.

    .venv/bin/python benchmarks/eval_ner.py [--model PATH] [--no-jieba] [--json OUT]

Reads ``../shared/data/ner/resumener_dev.jsonl`` (ResumeNER, NAME/ORG) and
``cluener_dev_person_org.jsonl`` (CLUENER2020, name/organization/company/
government), prints exact-match precision, recall and F1 per type for each
system side by side, and throughput in sentences per second.

jieba baseline: words tagged ``nr``/``nrfg``/``nrt`` are PERSON, ``nt`` ORG;
it has no separate government tag, so its ``nt`` counts for both ORG and GOV.
jieba is a bench-only dependency (``pip install jieba``); without it the
column is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from extractor.ner import load, raw_spans_batch  # noqa: E402
from extractor.ner.corpus import GoldSentence, read_cluener, read_resumener  # noqa: E402
from extractor.ner.scoring import CLUENER_TYPES, PRF, RESUME_TYPES, Span, score  # noqa: E402

DATA = Path(os.environ.get("SHENCHA_SHARED_DATA", REPO.parent / "shared" / "data")) / "ner"
DEV_SETS = {
    "resumener_dev": (DATA / "resumener_dev.jsonl", read_resumener, RESUME_TYPES),
    "cluener_dev": (DATA / "cluener_dev_person_org.jsonl", read_cluener, CLUENER_TYPES),
}

Predictor = Callable[[list[str]], list[list[Span]]]


def shencha_predictor(model: str | None) -> Predictor:
    load(model)  # load outside the timed region

    def predict(texts: list[str]) -> list[list[Span]]:
        return list(raw_spans_batch(texts, model=model))

    return predict


def jieba_predictor() -> Predictor | None:
    try:
        import jieba
        import jieba.posseg as pseg
    except ImportError:
        return None
    jieba.setLogLevel(60)
    jieba.initialize()

    def predict(texts: list[str]) -> list[list[Span]]:
        out = []
        for text in texts:
            spans, pos = [], 0
            for pair in pseg.cut(text):
                word, flag = pair.word, pair.flag
                start = text.index(word, pos)
                pos = start + len(word)
                if flag in ("nr", "nrfg", "nrt"):
                    spans.append((start, pos, "PERSON"))
                elif flag == "nt":
                    spans.append((start, pos, "ORG"))
                    spans.append((start, pos, "GOV"))
            out.append(spans)
        return out

    return predict


def run(
    systems: dict[str, Predictor], sets: Iterable[str]
) -> tuple[dict[str, dict[str, dict[str, PRF]]], dict[str, float]]:
    results: dict[str, dict[str, dict[str, PRF]]] = {}
    speed: dict[str, float] = {}
    total: dict[str, tuple[int, float]] = {}
    for set_name in sets:
        path, reader, types = DEV_SETS[set_name]
        gold: Sequence[GoldSentence] = list(reader(path))
        texts = [g.text for g in gold]
        results[set_name] = {}
        for sys_name, predict in systems.items():
            t0 = time.perf_counter()
            pred = predict(texts)
            dt = time.perf_counter() - t0
            n, t = total.get(sys_name, (0, 0.0))
            total[sys_name] = (n + len(texts), t + dt)
            results[set_name][sys_name] = score(gold, pred, types)
    for sys_name, (n, t) in total.items():
        speed[sys_name] = n / t if t else 0.0
    return results, speed


def print_table(results: dict[str, dict[str, dict[str, PRF]]], speed: dict[str, float]) -> None:
    systems = list(speed)
    for set_name, by_system in results.items():
        print(f"\n== {set_name} ==")
        header = f"{'type':<9}" + "".join(f"| {s:^26} " for s in systems)
        print(header)
        print(f"{'':<9}" + "".join(f"| {'P':>7} {'R':>7} {'F1':>8} " for _ in systems))
        print("-" * len(header))
        for typ in next(iter(by_system.values())):
            row = f"{typ:<9}"
            for s in systems:
                prf = by_system[s][typ]
                row += f"| {prf.precision:7.4f} {prf.recall:7.4f} {prf.f1:8.4f} "
            print(row)
    print("\nthroughput (sentences/s, both dev sets, one process):")
    for s, v in speed.items():
        print(f"  {s:<10} {v:9.1f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", help="spaCy pipeline directory (default: the shipped model)")
    ap.add_argument("--no-jieba", action="store_true", help="skip the jieba baseline")
    ap.add_argument("--set", choices=list(DEV_SETS), action="append", help="only this dev set")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args(argv)

    systems: dict[str, Predictor] = {"shencha": shencha_predictor(args.model)}
    if not args.no_jieba:
        jb = jieba_predictor()
        if jb is None:
            print("jieba not installed: baseline skipped", file=sys.stderr)
        else:
            systems["jieba"] = jb
    results, speed = run(systems, args.set or list(DEV_SETS))
    print_table(results, speed)
    if args.json:
        payload = {
            "results": {
                ds: {
                    s: {t: {"p": v.precision, "r": v.recall, "f1": v.f1} for t, v in by_t.items()}
                    for s, by_t in by_s.items()
                }
                for ds, by_s in results.items()
            },
            "sentences_per_second": speed,
        }
        args.json.write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
