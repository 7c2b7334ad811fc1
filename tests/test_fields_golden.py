"""Golden files: key–value pairs and table rows read from real PDFs.

The PDFs are pdfplumber's own test files (shared/data/pdfs/pdfplumber). The
expected output lives in tests/golden/<name>.json and was checked by eye
against the pages once. It is rewritten only with SHENCHA_REGEN_GOLDEN=1; a
missing golden file is a failure, never a silent pass.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from extractor.fields import extract_fields, find_pairs_and_tables
from tests.conftest import shared

GOLDEN = Path(__file__).resolve().parent / "golden"
REGEN = os.environ.get("SHENCHA_REGEN_GOLDEN") == "1"

CASES = ["issue-461-example.pdf", "issue-336-example.pdf"]


def _read(name: str):
    from extractor.ingest import ingest_path

    path = shared("pdfs", "pdfplumber", name)
    docs = ingest_path(path).documents
    assert len(docs) == 1 and docs[0].status == "ok"
    return docs[0]


def _snapshot(name: str) -> dict:
    doc = _read(name)
    read = find_pairs_and_tables(doc)
    out = extract_fields(doc, use_ner=False)
    return {
        "file": name,
        "doc_type": out.doc_type,
        "pairs": read["pairs"],
        "tables": read["tables"],
        "fields": [
            {"type": f.type, "value": f.value, "role": f.role, "page": f.page,
             "bbox": [round(v, 1) for v in f.bbox] if f.bbox else None}
            for f in out.fields
        ],
    }


@pytest.mark.parametrize("name", CASES)
def test_golden(name):
    got = _snapshot(name)
    path = GOLDEN / (Path(name).stem + ".json")
    if REGEN:
        path.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with SHENCHA_REGEN_GOLDEN=1 and check it by eye"
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert got == expected


def test_issue_461_form_pairs():
    # What the page shows (the 姓名 label is drawn outside the page and is not shown).
    pairs = {(p["label"], p["value"]) for p in _snapshot("issue-461-example.pdf")["pairs"]}
    assert {("性别", "男"), ("年龄", "50岁"), ("采样时间", "2021-06-04 09:00"), ("送检时间", "2021-06-04 19:38"),
            ("样本类型", "EDTA抗凝血"), ("样本状态", "正常")} <= pairs


def test_issue_336_tables_have_the_upstream_row_counts():
    # pdfplumber's own test asserts 8, 11 and 2 rows (tests/test_table.py::test_order).
    tables = [t for t in _snapshot("issue-336-example.pdf")["tables"] if t["origin"] == "ruled"]
    assert [len(t["rows"]) for t in tables] == [8, 11, 2]
    assert tables[2]["rows"] == [["路段监控通信分中心", "路段监控通信站", "桥隧监控通信站"], ["1.7333", "0.8667", "0.5333"]]
