"""Drawing analysis parts on hand-built inputs: labels, scale bars, neighbours, annotation pairing, rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from checks.rules.drawings import RULES, required
from checks.testing import run_examples
from extractor.drawings.geometry import (
    Candidate,
    bar_scale,
    label_buildings,
    name_buildings,
    neighbours,
    pair_annotations,
)
from extractor.drawings.labels import parse_label, scale_ratio, separation_value
from extractor.drawings.model import Building, TextItem
from extractor.drawings.scale import bar_rows, find_scale


@pytest.mark.parametrize("lines,expected", [
    (["1#办公楼", "民用 二级 多层 5层 H=18m"],
     dict(name="1#办公楼", use_class="民用", kind="civil", fire_grade=2, storeys=5, height_m=18.0, high_rise=False)),
    (["3#厂房 丙类 二级 2层 H=12m"], dict(name="3#厂房", use_class="丙", kind="factory", fire_grade=2, storeys=2,
                                        high_rise=False)),
    (["2#仓库", "丁类", "耐火等级：一级", "单层"], dict(name="2#仓库", use_class="丁", kind="warehouse", fire_grade=1,
                                                high_rise=False)),
    (["5#综合楼", "民用一级二类高层10层H=36m"], dict(name="5#综合楼", fire_grade=1, high_rise=True, high_rise_class=2,
                                              storeys=10, height_m=36.0)),
    (["６＃宿舍楼　民用　三级　Ｈ＝９ｍ"], dict(name="6#宿舍楼", fire_grade=3, height_m=9.0, high_rise=False)),
    (["7#研发楼 民用 二级 H=30m"], dict(high_rise=True)),  # > 24 m without 高层 written
])
def test_labels(lines, expected):
    got = parse_label(lines)
    for k, v in expected.items():
        assert got.get(k) == v, (k, got)


def test_label_without_grade_is_incomplete():
    got = parse_label(["1#办公楼", "民用 多层"])
    assert got["name"] == "1#办公楼" and not got["label_complete"]


@pytest.mark.parametrize("text,n", [("比例 1:500", 500), ("比例：1∶1000", 1000), ("1/200", 200), ("H=1:2", None),
                                    ("日期 2026年", None)])
def test_scale_ratio(text, n):
    assert scale_ratio(text) == n


@pytest.mark.parametrize("text,v", [("防火间距 8.0m", 8.0), ("防火间距：12米", 12.0), ("间距6000mm", 6.0), ("13.5m", 13.5),
                                    ("H=18m", None), ("道路宽6.0m（兼消防车道）", None)])
def test_separation_values(text, v):
    assert separation_value(text) == v


def _t(text: str, x0: float, y0: float, x1: float, y1: float) -> TextItem:
    return TextItem(text=text, bbox=(x0, y0, x1, y1))


def test_scale_bar_numbers_fit_even_when_one_is_missed():
    extent = (100.0, 500.0, 400.0, 506.0)  # 50 m over 300 units: 6 units per metre
    nums = [_t(str(v), 100 + v * 6 - 4, 510, 100 + v * 6 + 4, 518) for v in (10, 20, 30, 40, 50)]  # "0" not read
    upm, span = bar_scale(extent, nums + [_t("比例 1:500", 100, 490, 140, 498)])
    assert abs(upm - 6.0) < 1e-9 and span == "0–50m"


def test_scale_bar_from_a_merged_ocr_line():
    extent = (100.0, 500.0, 400.0, 506.0)
    upm, _ = bar_scale(extent, [_t("0 10 20 30 40 50m", 90, 510, 420, 520)])
    assert abs(upm - 6.0) < 1e-9


def test_numbers_out_of_order_are_not_a_scale_bar():
    extent = (100.0, 500.0, 400.0, 506.0)
    assert bar_scale(extent, [_t("30", 100, 510, 110, 518), _t("10", 390, 510, 400, 518)]) is None


def test_bar_rows_need_touching_equal_cells():
    cells = [(10 + 20 * i, 50, 30 + 20 * i, 55) for i in range(5)]
    assert bar_rows(cells) == [(10, 50, 110, 55)]
    assert bar_rows([(10, 50, 30, 55), (60, 50, 80, 55)]) == []


def test_ratio_and_bar_disagreeing_is_noted():
    cells = [(10 + 20 * i, 50, 30 + 20 * i, 55) for i in range(5)]
    texts = [_t(str(v), 10 + 2 * v - 3, 58, 10 + 2 * v + 3, 64) for v in range(0, 51, 10)] + [_t("比例 1:500", 0, 0, 40, 8)]
    s = find_scale(bar_rows(cells), texts, 0.0254 / 72, "pt")
    assert s.method == "scale_bar" and abs(s.metres_per_unit - 0.5) < 1e-9 and "不符" in s.note


def _b(name: str, poly: list[tuple[float, float]]) -> Building:
    p = Polygon(poly)
    return Building(name=name, polygon=poly, bbox=p.bounds, label_complete=True)


def _rect(x: float, y: float, w: float, h: float) -> list[tuple[float, float]]:
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def test_l_shape_nearest_walls_and_blocked_pairs():
    a = _b("A", [(0, 0), (40, 0), (40, 10), (10, 10), (10, 40), (0, 40)])  # L
    b = _b("B", _rect(20, 20, 10, 10))  # in the L's notch: 10 from both arms
    c = _b("C", _rect(60, 0, 10, 10))
    d = _b("D", _rect(90, 0, 10, 10))  # behind C as seen from A
    ms = {frozenset(m.between): m for m in neighbours([a, b, c, d], 100, 0.5)}
    assert ms[frozenset("AB")].distance_units == pytest.approx(10.0)
    assert ms[frozenset("AB")].distance_m == pytest.approx(5.0)
    assert ms[frozenset("AC")].distance_units == pytest.approx(20.0)
    assert frozenset("AD") not in ms  # C stands between
    assert frozenset("CD") in ms


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=2, max_size=25, unique=True))
def test_neighbour_distances_match_a_plain_all_pairs_reference(cells):
    bs = [_b(f"B{i}", _rect(x * 20, y * 20, 12, 12)) for i, (x, y) in enumerate(cells)]
    got = {frozenset(m.between): m.distance_units for m in neighbours(bs, 60, 1.0)}
    polys = {b.name: Polygon(b.polygon) for b in bs}
    for pair, d in got.items():
        x, y = sorted(pair)
        assert d == pytest.approx(polys[x].distance(polys[y]))
        assert d <= 60
    # every pair within the gap with nothing in between is found
    for i, x in enumerate(bs):
        for y in bs[i + 1:]:
            d = polys[x.name].distance(polys[y.name])
            if 0 < d <= 60:
                from shapely import shortest_line
                line = shortest_line(polys[x.name], polys[y.name])
                free = all(p.intersection(line).length <= 1e-9 for n, p in polys.items() if n not in (x.name, y.name))
                assert (frozenset((x.name, y.name)) in got) == free


def test_unlabelled_outline_drawn_like_buildings_is_reported_as_unread():
    style = (1.2, True, (237, 237, 224))
    cands = [Candidate(Polygon(_rect(0, 0, 40, 20)), style), Candidate(Polygon(_rect(60, 0, 40, 20)), style),
             Candidate(Polygon(_rect(0, 100, 10, 3)), (0.6, True, None))]  # a title-block cell
    texts = [_t("1#办公楼", 10, 5, 30, 9), _t("民用 二级 多层", 10, 10, 30, 14)]
    bs = label_buildings(cands, texts, 1e6)
    name_buildings(bs)
    assert [b.name for b in bs] == ["1#办公楼", "未识别建筑1"]
    assert bs[0].label_complete and not bs[1].label_complete


def test_annotation_pairs_with_the_dimension_line_it_labels():
    bs = [_b("A", _rect(0, 0, 40, 20)), _b("B", _rect(50, 0, 40, 20)), _b("C", _rect(0, 40, 40, 20))]
    dims = [((40, 10), (50, 10)), ((20, 20), (20, 40))]
    anns = pair_annotations([_t("防火间距 10.0m", 41, 4, 49, 8), _t("20.0m", 22, 28, 30, 32), _t("H=18m", 5, 5, 9, 9)],
                            bs, dims, near_tol=0.5)
    got = {a.value_m: (sorted(a.between), a.paired_by) for a in anns}
    assert got == {10.0: (["A", "B"], "dimension_line"), 20.0: (["A", "C"], "dimension_line")}


def test_keyword_annotation_without_a_line_takes_the_pair_it_sits_between():
    bs = [_b("A", _rect(0, 0, 40, 20)), _b("B", _rect(50, 0, 40, 20)), _b("C", _rect(100, 0, 40, 20))]
    anns = pair_annotations([_t("防火间距 10.0m", 41, 8, 49, 12)], bs, [], near_tol=0.5)
    assert sorted(anns[0].between) == ["A", "B"] and anns[0].paired_by == "nearest" and anns[0].confidence <= 0.8


def test_required_minimum_from_the_engine_tables():
    civil = {"kind": "civil", "cls": "民用", "grade": 2, "hr": False, "hr_class": None}
    tall = {"kind": "civil", "cls": "民用", "grade": 1, "hr": True, "hr_class": None}
    c_factory = {"kind": "factory", "cls": "丙", "grade": 2, "hr": False, "hr_class": None}
    w_dw = {"kind": "warehouse", "cls": "丁", "grade": 2, "hr": False, "hr_class": None}
    assert required(civil, civil) == ([6.0], "表5.2.2", True)
    assert required(civil, tall)[0] == [9.0]
    assert required(c_factory, w_dw) == ([10.0], "表3.4.1", False)
    assert sorted(required(c_factory, tall)[0]) == [15.0, 20.0]  # 一类/二类 unknown: both
    assert required(w_dw, w_dw)[0] == []  # warehouses to each other: not covered


@pytest.mark.parametrize("spec", RULES, ids=[s.id for s in RULES])
def test_rule_examples(spec):
    results = run_examples(spec)
    assert {r.example.outcome for r in results} >= {"fail", "pass", "uncertain"}
    bad = [(r.example.description, r.got, r.detail) for r in results if not r.ok]
    assert not bad
    assert spec.citation.clause and spec.doc and spec.facts


def test_rules_only_read_drawing_fields():
    """Text-extracted distances (no origin) are the other rules' business, not these."""
    from checks.ruleset import RuleEntry
    from checks.runner import run_entry
    from checks.testing import build, f

    view = build([f("fire_separation_distance", 2.0, doc="p", between=["1#楼", "2#楼"]),
                  f("building", "1#楼", doc="p", kind="civil", use_class="民用", fire_grade=2, high_rise=False),
                  f("building", "2#楼", doc="p", kind="civil", use_class="民用", fire_grade=2, high_rise=False)])
    for spec in RULES:
        found, err = run_entry(RuleEntry(spec=spec, params=spec.params(), severity=spec.severity,
                                         industries=spec.industries), view)
        assert err is None and found == []


def test_a_ruled_table_of_buildings_is_not_a_drawing(tmp_path):
    """A site-plan description with a table of buildings: cells hold names but are not outlines."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from extractor.drawings import analyse
    from extractor.ingest import ingest_path
    from fixtures.render import register_fonts

    register_fonts()
    path = tmp_path / "buildings_table.pdf"
    cv = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    cv.setFont("MicroHei", 10)
    rows = [("建筑", "类别", "耐火等级"), ("1#办公楼", "民用", "二级"), ("2#宿舍楼", "民用", "二级"), ("3#厂房", "丙类", "二级")]
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            x, y = 72 + c * 120, 700 - r * 24
            cv.rect(x, y, 120, 24)
            cv.drawString(x + 6, y + 8, text)
    cv.drawString(72, 760, "比例 1:500")
    cv.showPage()
    cv.save()
    doc = ingest_path(path).documents[0]
    assert doc.pages[0].tables  # the reader saw the table
    result = analyse(doc, path.read_bytes())
    assert result.pages == [] and result.fields == []


def test_dxf_buildings_inside_block_references(tmp_path):
    """A building drawn once as a block and inserted twice is two outlines at their insert points."""
    import io

    import ezdxf

    from extractor.drawings import analyse
    from extractor.model import Document, DocumentKind, Page, Source

    doc = ezdxf.new("R2010")
    doc.header["$INSUNITS"] = 6
    blk = doc.blocks.new("BLD")
    blk.add_lwpolyline([(0, 0), (30, 0), (30, 12), (0, 12)], close=True)
    msp = doc.modelspace()
    msp.add_blockref("BLD", (0, 0))
    msp.add_blockref("BLD", (38, 0))
    for name, x in (("1#厂房", 15), ("2#厂房", 53)):
        msp.add_text(name, height=1.5).set_placement((x, 7), align=ezdxf.enums.TextEntityAlignment.MIDDLE_CENTER)
        msp.add_text("丙类 二级 单层", height=1.0).set_placement((x, 4), align=ezdxf.enums.TextEntityAlignment.MIDDLE_CENTER)
    stream = io.StringIO()
    doc.write(stream)
    data = stream.getvalue().encode("utf-8")
    document = Document(id="d", path="x.dxf", sha256="x", size=len(data), kind=DocumentKind.DXF,
                        pages=[Page(number=1, width=1.0, height=1.0, unit="dxf", source=Source.DXF)])
    page = analyse(document, data).pages[0]
    assert sorted(b.name for b in page.buildings) == ["1#厂房", "2#厂房"]
    assert [round(m.distance_m, 6) for m in page.measurements] == [8.0]


def test_bare_values_are_paired_by_position_only_on_scans_and_only_in_the_gap():
    bs = [_b("A", _rect(0, 0, 40, 20)), _b("B", _rect(50, 0, 40, 20))]
    in_gap = _t("10.0m", 42, 8, 48, 12)
    aside = _t("10.0m", 10, 30, 16, 34)  # below A, not between the two
    assert pair_annotations([in_gap], bs, [], near_tol=0.5) == []
    anns = pair_annotations([in_gap, aside], bs, [], near_tol=0.5, plain_by_position=True)
    assert [(sorted(a.between), a.confidence) for a in anns] == [(["A", "B"], 0.7)]


def test_is_drawing():
    from extractor.drawings import is_drawing
    from extractor.model import Document, DocumentKind

    def doc(kind, doc_type="other", status="ok"):
        return Document(id="d", path="p", sha256="x", size=1, kind=kind, doc_type=doc_type, status=status)

    assert is_drawing(doc(DocumentKind.DXF))
    assert is_drawing(doc(DocumentKind.PDF, "site_plan")) and is_drawing(doc(DocumentKind.IMAGE, "evacuation_plan"))
    assert not is_drawing(doc(DocumentKind.PDF, "scaffold_plan"))
    assert not is_drawing(doc(DocumentKind.DXF, status="error"))
