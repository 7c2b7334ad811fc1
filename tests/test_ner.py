"""The shipped NER model: loads offline, finds names in domain prose, scores on the dev sets."""

from __future__ import annotations

import functools
import io
import json
import socket
from pathlib import Path

import pytest

from extractor import ner
from extractor.ner.corpus import read_cluener, read_resumener
from extractor.ner.scoring import CLUENER_TYPES, RESUME_TYPES, score
from tests.conftest import shared

REPO = Path(__file__).resolve().parent.parent

DOMAIN = [
    ("公司总经理王建国为安全生产第一责任人", [("PERSON", "王建国")]),
    ("安全总监欧阳明负责安全生产监督检查工作。", [("PERSON", "欧阳明")]),
    ("项目经理司马浩然、技术负责人李娜均持证上岗。", [("PERSON", "司马浩然"), ("PERSON", "李娜")]),
    (
        "江苏恒安建筑工程有限公司法定代表人张伟对本单位安全生产全面负责。",
        [("ORG", "江苏恒安建筑工程有限公司"), ("PERSON", "张伟")],
    ),
]


def _text(param: object) -> str:
    return param.values[0] if hasattr(param, "values") else param[0]  # type: ignore[index]


def test_model_ships_in_repo_and_loads_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the NER model tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.delenv(ner.MODEL_ENV, raising=False)
    assert (ner.DEFAULT_MODEL / "config.cfg").is_file()
    ner._load.cache_clear()
    info = ner.model_info()
    assert Path(info.path) == ner.DEFAULT_MODEL.resolve()
    assert {"PERSON", "ORG"} <= set(info.labels)
    assert any("ResumeNER" in src for src in info.trained_on)
    assert any("CLUENER" in src for src in info.trained_on)
    assert info.size_bytes < 30 * 1024 * 1024


def test_model_is_loaded_once() -> None:
    assert ner.load() is ner.load()


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no NER model"):
        ner.find_entities("王建国", model=tmp_path)


@pytest.mark.parametrize(("text", "expected"), DOMAIN)
def test_domain_sentences(text: str, expected: list[tuple[str, str]]) -> None:
    got = [(e.label, e.text) for e in ner.find_entities(text)]
    for item in expected:
        assert item in got, f"{item} not found in {got}"
    # No stray PERSON: the role titles around the names are not names.
    persons = {t for lbl, t in expected if lbl == "PERSON"}
    assert {t for lbl, t in got if lbl == "PERSON"} == persons


def test_offsets_index_the_given_text() -> None:
    texts = [_text(p) for p in DOMAIN] + ["  前导空格：总经理 王建国 ，全角（括号）里的欧阳明。", ""]
    for text, ents in zip(texts, ner.find_entities_batch(texts), strict=True):
        for e in ents:
            assert text[e.start : e.end] == e.text
            assert e.text == e.text.strip() and e.text
            assert e.label in ("PERSON", "ORG")
        assert [e.start for e in ents] == sorted(e.start for e in ents)


def test_entities_carry_a_probability() -> None:
    """The CRF's marginals give each name a confidence; the fields use it."""
    ents = ner.find_entities("公司总经理王建国为安全生产第一责任人。")
    person = [e for e in ents if e.text == "王建国"]
    assert person, ents
    for e in ents:
        assert e.score is not None and 0.0 <= e.score <= 1.0
    assert person[0].score > 0.5


def test_batch_equals_single() -> None:
    texts = [_text(p) for p in DOMAIN]
    assert ner.find_entities_batch(texts) == [ner.find_entities(t) for t in texts]


def test_ner_jsonl_round_trips() -> None:
    lines = [_text(p) for p in DOMAIN] + ["", "没有人名的一句话。"]
    stdin = io.StringIO("".join(line + "\n" for line in lines))
    stdout = io.StringIO()
    assert ner.ner_jsonl(stdin, stdout) == len(lines)
    records = [json.loads(row) for row in stdout.getvalue().splitlines()]
    assert [r["text"] for r in records] == lines
    for record, ents in zip(records, ner.find_entities_batch(lines), strict=True):
        assert record["entities"] == [[e.start, e.end, e.label, e.text] for e in ents]
        for start, end, label, surface in record["entities"]:
            assert record["text"][start:end] == surface
    assert records[-2]["entities"] == []
    assert ["PERSON", "欧阳明"] in [[e[2], e[3]] for e in records[1]["entities"]]


@functools.lru_cache(maxsize=None)
def _dev_scores(name: str) -> dict[str, float]:
    """PERSON/ORG F1 of the shipped model on one dev set, computed once per session."""
    file, reader, types = {
        "resumener": ("resumener_dev.jsonl", read_resumener, RESUME_TYPES),
        "cluener": ("cluener_dev_person_org.jsonl", read_cluener, CLUENER_TYPES),
    }[name]
    path = shared("ner", file)  # skips without ../shared; fails in CI, where it must be there
    gold = list(reader(path))
    pred = list(ner.raw_spans_batch([g.text for g in gold]))
    return {typ: prf.f1 for typ, prf in score(gold, pred, types).items()}


def _dev_f1(name: str, typ: str = "PERSON") -> float:
    return _dev_scores(name)[typ]


# Acceptance (issue 3, criterion 2): PERSON F1 >= 0.95 on ResumeNER dev
# and >= 0.80 on CLUENER dev. The shipped CRF scores 0.959 and 0.804, so the
# CLUENER margin is thin: retrain with care (docs/ner.md).
@pytest.mark.slow
def test_person_f1_resumener_dev_acceptance() -> None:
    f1 = _dev_f1("resumener")
    assert f1 >= 0.95, f"PERSON F1 {f1:.4f} on ResumeNER dev"


@pytest.mark.slow
def test_person_f1_cluener_dev_acceptance() -> None:
    f1 = _dev_f1("cluener")
    assert f1 >= 0.80, f"PERSON F1 {f1:.4f} on CLUENER dev"


@pytest.mark.slow
def test_beats_lac_reference_on_both_dev_sets() -> None:
    """Baidu LAC scores about 0.88 and 0.71 here (issue 3's figures)."""
    assert _dev_f1("resumener") > 0.88 and _dev_f1("cluener") > 0.71


@pytest.mark.slow
def test_beats_jieba_baseline_on_both_dev_sets() -> None:
    """jieba's nr tag scores about 0.43 and 0.42 here (benchmarks/eval_ner.py)."""
    r = _dev_f1("resumener")
    c = _dev_f1("cluener")
    assert r > 0.44 and c > 0.42
