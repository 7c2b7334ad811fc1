"""Fail means sure (checks/doubt.py): a fail rests only on values that pass their own checks."""

from __future__ import annotations

import pytest

from checks.doubt import doubts, value_doubt
from extractor.fields.people import name_doubt
from extractor.model import Field, Source


def _f(ftype: str, value: str, **kw) -> Field:
    return Field(type=ftype, value=value, normalized=value, document="d", page=1,
                 source=kw.pop("source", Source.TEXT), confidence=kw.pop("confidence", 0.95), attributes=kw)


@pytest.mark.parametrize("name", ["张建国", "欧阳志强", "司马浩然", "李娜", "阿依古丽·买买提"])
def test_plausible_names_carry_a_fail(name):
    assert name_doubt(name) is None


@pytest.mark.parametrize("name,why", [
    ("张建国男", "性别"), ("李娜女", "性别"),          # 姓名 and 性别 columns glued
    ("班组长", "职务"), ("序号", "表头"), ("项目经理", "职务"),  # headers and roles read as names
    ("苏建安", "省份前缀"),                             # a certificate number's prefix
    ("张建国（签字）", "汉字"), ("王", "汉字"),
])
def test_implausible_names_are_doubted_with_a_reason(name, why):
    assert why in name_doubt(name)


def test_a_date_read_as_a_certificate_number_is_doubted():
    assert "日期" in value_doubt(_f("cert_no", "2023年03月15日至2026年03月14日"))
    assert "日期" in value_doubt(_f("cert_no", "20250902"))


def test_a_certificate_number_cut_from_its_prefix_is_doubted():
    assert value_doubt(_f("cert_no", "(2024)1234567", cert_type="safety_assessment_a")) is not None
    assert value_doubt(_f("cert_no", "苏建安A(2024)1234567", cert_type="safety_assessment_a")) is None


def test_an_invalid_id_is_doubted_only_when_ocr_may_have_misread_it():
    bad = "360426199101010081"
    assert value_doubt(_f("resident_id", bad, source=Source.OCR)) is not None
    assert value_doubt(_f("resident_id", bad, source=Source.DOCX)) is None


def test_low_confidence_ocr_is_doubted_and_each_doubt_is_listed_once():
    weak = _f("person_name", "张建国", source=Source.OCR, confidence=0.4)
    assert "置信度" in value_doubt(weak)
    assert len(doubts([weak, weak, "not a field"])) == 1


def test_engine_turns_a_fail_on_a_doubtful_value_into_uncertain_with_the_question():
    from checks.testing import f
    from checks.runner import run
    from checks.view import ApplicationInfo, ApplicationView, DocumentInfo
    from datetime import date

    def view(roster_name: str) -> ApplicationView:
        fields = [f("person_name", "张建国", role="legal_representative", doc="bl"),
                  f("person_name", roster_name, role="legal_representative", doc="form")]
        docs = [DocumentInfo(id="bl", path="bl.pdf", doc_type="business_licence", pages=1),
                DocumentInfo(id="form", path="form.docx", doc_type="application_form", pages=1)]
        return ApplicationView(application=ApplicationInfo(company_name="甲公司", uscc=None,
                                                           industry="construction", as_of=date(2026, 11, 20)),
                               documents=docs, fields=fields)

    sure = [x for x in run(view("张建华")).findings if x.category == "consistency.conflict"]
    glued = [x for x in run(view("张建华男")).findings if x.category == "consistency.conflict"]
    assert [x.verdict for x in sure] == ["fail"]
    assert [x.verdict for x in glued] == ["uncertain"] and "性别" in glued[0].reason


# ------------------------------------------------------------------ the table model: merged columns


def test_a_cell_that_swallowed_its_neighbours_value_is_split_back():
    from extractor.fields.tables import Cell, Grid, split_merged_cells
    from extractor.fields.view import Span

    def cell(text, line):
        return Cell(text, [Span(line, 0, len(text))])

    rows = [[cell("姓名", 0), cell("性别", 1), cell("身份证号", 2), cell("有效期", 3)],
            [cell("张建国男", 4), None, cell("320219198001011230", 5), cell("2023年03月15日至2026年03月14日", 6)],
            [cell("李娜", 7), None, cell("女 320219198001011230", 8), None],
            [cell("王胜利", 9), None, cell("110101198001019998", 10), None]]
    grid = Grid(1, 0, "ruled", rows, 1, ["name", "sex", "resident_id", "valid_until"])
    split_merged_cells(grid)
    texts = [[c.text if c else None for c in r] for r in grid.rows[1:]]
    assert texts[0][:2] == ["张建国", "男"]
    assert texts[1][:3] == ["李娜", "女", "320219198001011230"]
    assert texts[2][:2] == ["王胜利", None]  # nothing shaped like a sex to give back
    assert grid.rows[2][2].spans[0].start == 2  # offsets still point at the page text


def test_header_synonyms_are_data_a_rule_author_extends(tmp_path):
    from extractor.fields.lexicon import HeaderSynonymsError, load_headers

    extra = tmp_path / "site.yaml"
    extra.write_text("cert_no: [上岗证号]\nname: [持证人员]\n", encoding="utf-8")
    headers = load_headers(str(extra))
    assert "上岗证号" in headers["cert_no"] and "证书编号" in headers["cert_no"]
    assert "上岗证号" not in load_headers("")["cert_no"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("certificate: [证]\n", encoding="utf-8")
    with pytest.raises(HeaderSynonymsError, match="未知的栏目键"):
        load_headers(str(bad))
