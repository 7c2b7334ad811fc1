"""Benchmark: the full rule pack over the fields of a generated 50-document package.

Extraction is excluded: the fields are generated directly (rosters, certificates,
site plans, evacuation plans, scaffold plans), about 2,000 of them. Target:
one ``checks.run`` under 1 second.

    .venv/bin/python benchmarks/bench_rules.py [--repeat 5] [--with-registry]

``--with-registry`` also runs the registry rules against an in-memory store
holding every certificate of the package (the look-ups are then included).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import checks
from checks.testing import build, f
from registry_sync.testing import id_number

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
CATEGORIES = ("电工作业", "焊接与热切割作业", "登高架设作业", "高处作业")


def package(seed: int = 5) -> tuple[checks.ApplicationView, list[dict[str, str]]]:
    rng = random.Random(seed)
    fields = []
    docs: dict[str, str] = {}
    cert_rows: list[dict[str, str]] = []
    for d, t in (("app", "application_form"), ("bl", "business_licence"), ("rs", "responsibility_system"),
                 ("si", "safety_investment"), ("so", "safety_organisation"), ("tr", "training_record"),
                 ("in", "insurance"), ("ep", "emergency_plan")):
        docs[d] = t
    for d in ("app", "bl", "rs"):
        fields += [f("company_name", "某某建设集团有限公司", role="applicant", doc=d),
                   f("uscc", "91110000600037341L", role="applicant", doc=d),
                   f("person_name", "赵六", role="legal_representative", doc=d)]
    fields.append(f("person_name", "周九", role="principal", doc="rs", title="总经理"))
    fields.append(f("safety_licence_no", "（京）JZ安许证字〔2023〕012345", doc="app"))

    person = 0

    def someone(doc: str, record: int, role: str, cert_type: str) -> None:
        nonlocal person
        person += 1
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        rid = id_number("110101", date(1970, 1, 1) + timedelta(days=person * 37), person % 1000)
        no = ("T" + rid) if cert_type == "special_operation" else f"京建安{ {'safety_assessment_a': 'A', 'safety_assessment_b': 'B'}.get(cert_type, 'C2')}(2022){person:07d}"
        cat = rng.choice(CATEGORIES)
        fields.extend([
            f("person_name", name, role=role, doc=doc, record=record),
            f("resident_id", rid, doc=doc, record=record, holder=name),
            f("operation_category", cat, doc=doc, record=record),
            f("cert_no", no, doc=doc, record=record, cert_type=cert_type, holder=name),
            f("date", "2027-06-30", role="valid_until", doc=doc, record=record, of="cert_no"),
        ])
        cert_rows.append(dict(cert_no=no, cert_type=cert_type, holder_name=name, holder_id_no=rid, category=cat,
                              employer_uscc="91110000600037341L", employer_name="某某建设集团有限公司",
                              issued_on="2024-07-01", valid_from="2024-07-01", valid_until="2027-06-30",
                              status="有效", issuing_authority="北京市"))

    for i in range(2):
        d = f"mr{i}"
        docs[d] = "managers_roster"
        for r in range(20):
            someone(d, r, "safety_manager", ("safety_assessment_a", "safety_assessment_b", "safety_assessment_c")[r % 3])
    for i in range(3):
        d = f"sr{i}"
        docs[d] = "special_operations_roster"
        for r in range(40):
            someone(d, r, "special_operator", "special_operation")
    # 31 certificate copies repeating roster rows (cross-document consistency has work to do)
    roster_people = [x for x in fields if x.type == "cert_no" and x.document.startswith("sr")]
    for i in range(31):
        d = f"cert{i}"
        docs[d] = "certificate"
        c = roster_people[i]
        rec = [x for x in fields if x.document == c.document and x.attributes.get("record") == c.attributes["record"]]
        for x in rec:
            fields.append(x.model_copy(update={"document": d, "bbox": None, "attributes": {**x.attributes, "record": 0}}))
        fields.append(f("date", "2024-07-01", role="issued", doc=d, record=0))
    for i in range(2):
        d = f"site{i}"
        docs[d] = "site_plan"
        names = [f"{i}-{k}#楼" for k in range(10)]
        for k, n in enumerate(names):
            fields.append(f("building", n, doc=d, kind="civil", use_class="民用", fire_grade=1 + k % 3, height_m=10 + 3 * k))
        for k in range(20):
            a, b = rng.sample(names, 2)
            fields.append(f("fire_separation_distance", rng.choice([5.0, 6.0, 9.0, 13.0, 15.0]), doc=d, between=[a, b]))
    for i in range(2):
        d = f"evac{i}"
        docs[d] = "evacuation_plan"
        for k in range(30):
            el = ("door", "corridor", "stair", "exit")[k % 4]
            fields.append(f("evacuation_width", rng.choice([0.9, 1.1, 1.2, 1.5]), doc=d, element=el, building=f"{i}-{k % 10}#楼"))
    for i in range(2):
        d = f"plan{i}"
        docs[d] = "scaffold_plan"
        fields.append(f("scaffold_height", 30.0 + 25 * i, doc=d, scaffold_type="落地式"))
        for s in ("overview", "basis", "schedule", "process", "safety_measures", "staffing", "acceptance", "emergency", "calculations"):
            fields.append(f("plan_section", s, doc=d))
        for m in ("guard_rail", "toe_board", "dense_mesh_net", "edge_protection"):
            fields.append(f("safety_measure", m, doc=d))
        fields += [f("guard_rail_height", 1.2, doc=d), f("toe_board_height", 0.18, doc=d)]
    view = build(fields, docs=docs, company_name="某某建设集团有限公司", uscc="91110000600037341L")
    return view, cert_rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--with-registry", action="store_true")
    args = ap.parse_args()

    view, cert_rows = package()
    lookup = None
    if args.with_registry:
        from checks.rules.registry_rules import example_lookup

        lookup = example_lookup(cert_rows)()
    t0 = time.perf_counter()
    ruleset = checks.load_ruleset()
    t_load = time.perf_counter() - t0
    checks.run(view, ruleset, lookup)  # warm-up: first-use imports and table loads
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        result = checks.run(view, ruleset, lookup)
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    checks.run(view, None, lookup)
    cold_ruleset = time.perf_counter() - t
    by_verdict = {v: sum(1 for x in result.findings if x.verdict == v) for v in ("fail", "uncertain")}
    print(f"package: {len(view.documents)} documents, {len(view.fields)} fields; "
          f"{len(result.rules_run)} rules run, {len(result.findings)} findings {by_verdict}, {len(result.errors)} rule errors"
          + ("; registry look-ups included" if lookup is not None else ""))
    print(f"ruleset load: {t_load * 1000:.1f} ms; run with default ruleset loaded per call: {cold_ruleset * 1000:.1f} ms")
    print(f"checks.run: median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms over {args.repeat} runs "
          f"(target < 1000 ms) -> {'OK' if max(times) < 1.0 else 'TOO SLOW'}")
    return 0 if max(times) < 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
