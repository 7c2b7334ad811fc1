"""Learning from corrections (issue 17): the export as data, header synonyms proposed to rule
authors and written to the file the extractor reads, corrected names as NER training sentences,
correction rates on the supervisor page. The measured figures: benchmarks/bench_corrections.py."""

from __future__ import annotations

import json

import pytest
import yaml

from extractor.fields.lexicon import load_headers
from extractor.ner.train import correction_sentences
from shencha.cli import app as cli_app
from shencha.service import corrections
from shencha.service.permissions import PermissionDenied
from shencha.store import Store

from .e2e.support import login
from .test_corrections import misread_case
from .test_ui_pages import run_page, texts


@pytest.fixture
def store(tmp_path, monkeypatch) -> Store:
    url = f"sqlite:///{tmp_path / 'shencha.db'}"
    monkeypatch.setenv("SHENCHA_DB", url)
    monkeypatch.setenv("SHENCHA_HEADER_SYNONYMS", str(tmp_path / "synonyms.yaml"))
    return Store(url)


ROWS = [
    {"kind": "add", "field_type": "cert_no", "corrected_value": "3707002025101882", "application_id": "A",
     "header": "安全管理人员证书编号", "line": {"text": "3707002025101882"}},
    {"kind": "add", "field_type": "cert_no", "corrected_value": "3707002025102212", "application_id": "B",
     "header": "安全管理人员 证书编号", "line": {"text": "3707002025102212"}},
    {"kind": "add", "field_type": "person_name", "corrected_value": "郭龙", "application_id": "A",
     "header": "现场监督人", "line": {"text": "郭龙"}},
    {"kind": "add", "field_type": "person_name", "corrected_value": "邵文斌", "application_id": "A",
     "header": "姓名", "line": {"text": "邵文斌"}},  # a known header: not the table model's fault
    {"kind": "not_a_field", "field_type": "person_name", "machine_value": "全过程", "corrected_value": None,
     "application_id": "A", "header": None, "line": {"text": "专职安全员全过程旁站监督。"}},
    {"kind": "add", "field_type": "person_name", "corrected_value": "黎波凯", "application_id": "A", "header": None,
     "line": {"text": "第4条分管安全副总经理（黎波凯）：协助总经理抓好安全生产工作"}},
]


def test_unknown_headers_are_proposed_and_accepted_into_the_synonyms_file(store, tmp_path):
    proposals = corrections.propose_headers(ROWS)
    assert [(p.key, p.header, p.corrections, p.applications) for p in proposals] == [
        ("cert_no", "安全管理人员证书编号", 2, 2), ("name", "现场监督人", 1, 1)]
    author, officer = login(store, "author"), login(store, "officer")
    with pytest.raises(PermissionDenied):
        corrections.accept_headers(store, officer, proposals)
    path = corrections.accept_headers(store, author, proposals[:1])
    assert path == tmp_path / "synonyms.yaml"
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == {"cert_no": ["安全管理人员证书编号"]}
    # the extractor's loader reads it (the same file, through SHENCHA_HEADER_SYNONYMS)
    assert "安全管理人员证书编号" in load_headers(str(path))["cert_no"]
    corrections.accept_headers(store, author, proposals)  # merging again keeps one of each
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == {"cert_no": ["安全管理人员证书编号"],
                                                              "name": ["现场监督人"]}


def test_corrected_names_become_ner_training_sentences(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), encoding="utf-8")
    sentences = {s.text: [(x.start, x.end, x.label) for x in s.spans] for s in correction_sentences(path)}
    text = "第4条分管安全副总经理（黎波凯）：协助总经理抓好安全生产工作"
    assert sentences[text] == [(12, 15, "PERSON")]
    assert sentences["专职安全员全过程旁站监督。"] == []  # "not a name" stays unmarked: a negative example
    assert "3707002025101882" not in sentences  # certificate numbers are not names


def test_export_command_writes_jsonl_with_the_crop_and_both_values(store, tmp_path):
    from typer.testing import CliRunner

    officer = login(store, "officer")
    rid, _ = misread_case(store, tmp_path)
    corrections.correct_field(store, officer, rid, field_type="operation_category", document="d001", page=1,
                              old_value="电工作业", new_value="低压电工作业", reason="原件写法")
    out = tmp_path / "export.jsonl"
    result = CliRunner().invoke(cli_app, ["corrections", "export", "--format", "jsonl", "--out", str(out),
                                          "--db", store.url])
    assert result.exit_code == 0, result.output
    [row] = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert {k: row[k] for k in ("kind", "machine_value", "corrected_value", "field_type", "doc_type")} == {
        "kind": "correct", "machine_value": "电工作业", "corrected_value": "低压电工作业",
        "field_type": "operation_category", "doc_type": "special_operations_roster"}
    assert row["crop"]["report_id"].endswith("-v1") and row["crop"]["page"] == 1 and row["application_id"]
    assert CliRunner().invoke(cli_app, ["corrections", "export", "--format", "csv", "--db", store.url]).exit_code == 2


def test_rates_on_the_supervisor_page_and_proposals_on_the_rule_author_page(store, tmp_path, monkeypatch):
    officer, supervisor, author = login(store, "officer"), login(store, "supervisor"), login(store, "author")
    rid, _ = misread_case(store, tmp_path)
    corrections.correct_field(store, officer, rid, field_type="operation_category", document="d001", page=1,
                              old_value="电工作业", new_value="低压电工作业", reason="原件写法")
    monkeypatch.setattr(corrections, "export_rows", lambda _store: iter(ROWS))
    at = run_page("supervisor", supervisor.id)
    assert not at.exception
    assert "识别结果更正率" in texts(at)
    frames = [df.value for df in at.dataframe]
    assert any("operation_category" in str(f.to_dict()) and "100.0%" in str(f.to_dict()) for f in frames)
    at = run_page("rules", author.id)
    assert not at.exception
    assert "待采纳的表头写法（2）" in texts(at)
