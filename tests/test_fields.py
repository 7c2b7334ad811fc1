"""Field extraction components on hand-built documents (no OCR, no files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractor.fields import extract_fields, extract_package, find_pairs_and_tables, people
from extractor.fields.pipeline import PIPE_NAMES, get_nlp
from extractor.fields.testing import DocBuilder, doc_from_lines
from extractor.model import Source


def fields(doc, type_=None):
    out = extract_fields(doc, use_ner=False).fields
    return [f for f in out if type_ is None or f.type == type_]


def one(doc, type_, **match):
    found = [f for f in fields(doc, type_) if all(f.model_dump().get(k, f.attributes.get(k)) == v
                                                    for k, v in match.items())]
    assert len(found) == 1, (type_, match, [(f.value, f.role, f.attributes) for f in fields(doc, type_)])
    return found[0]


# --------------------------------------------------------------------------- pipeline


def test_pipeline_is_spacy_blank_zh_with_declared_components():
    nlp = get_nlp()
    assert nlp.lang == "zh"
    assert nlp.pipe_names == PIPE_NAMES
    for name in PIPE_NAMES:
        meta = nlp.get_pipe_meta(name)
        assert meta.assigns, name
    assert get_nlp() is nlp  # built once


def test_error_documents_pass_through():
    doc = doc_from_lines("x").model_copy(update={"status": "error", "pages": []})
    assert extract_fields(doc).fields == []


# --------------------------------------------------------------------------- document type


@pytest.mark.parametrize("lines,expected", [
    (["营业执照", "统一社会信用代码", "91110000600037341L", "名称 北京中恒建设工程有限公司", "注册资本 1000万元"],
     "business_licence"),
    (["安全生产责任制", "公司总经理王建国为安全生产第一责任人，对本单位安全生产工作全面负责。"], "responsibility_system"),
    (["特种作业人员名册", "序号 姓名 性别 身份证号 作业类别 证书编号"], "special_operations_roster"),
    (["外脚手架搭设专项施工方案", "一、工程概况", "脚手架搭设高度36m，立杆纵距1.5m。"], "scaffold_plan"),
    (["生产安全事故综合应急预案", "1 总则", "应急响应分为三级。"], "emergency_plan"),
    (["社会保险参保缴费证明（单位）", "已在我中心参加工伤保险。"], "insurance"),
    (["会议纪要", "今天天气很好。"], "other"),
])
def test_document_type_from_content(lines, expected):
    doc = extract_fields(doc_from_lines(*lines))
    assert doc.doc_type == expected
    assert 0 < doc.doc_type_confidence <= 1


# --------------------------------------------------------------------------- key–value


def test_label_variants_same_line():
    doc = doc_from_lines("特种作业操作证", "姓 名：王建国", "公民身份号码：110102199101010078",
                         "操作证号：T110102199101010078", "作业类别：电工作业", "有效期限：2023年1月1日至2029年1月1日")
    name = one(doc, "person_name")
    assert name.value == "王建国" and name.role == "special_operator"
    rid = one(doc, "resident_id")
    assert rid.value == "110102199101010078" and rid.attributes["valid"] and rid.attributes["holder"] == "王建国"
    cert = one(doc, "cert_no")
    assert cert.attributes["cert_type"] == "special_operation" and cert.attributes["category"] == "电工作业"
    assert cert.attributes["embedded_id"] == "110102199101010078"
    assert one(doc, "date", role="valid_from").value == "2023-01-01"
    assert one(doc, "date", role="valid_until").value == "2029-01-01"
    records = {f.attributes.get("record") for f in fields(doc) if f.type in ("person_name", "resident_id", "cert_no")}
    assert len(records) == 1 and None not in records


def test_value_on_the_line_below():
    doc = doc_from_lines("营业执照", "统一社会信用代码", "91110000600037341L", "法定代表人", "王建国")
    assert one(doc, "uscc").role == "applicant"
    assert one(doc, "person_name").role == "legal_representative"


def test_value_in_the_next_cell_of_a_form_table():
    b = DocBuilder().page().line("建筑施工企业安全生产许可证申请表")
    b.table([["企业名称", "北京中恒建设工程有限公司"], ["统一社会信用代码", "91110000600037341L"],
             ["法定代表人", "王建国"], ["法定代表人身份证号", "110102199101010078"],
             ["主要负责人", "李明"], ["原安全生产许可证编号", "（京）JZ安许证字【2023】第000123号"],
             ["原许可证有效期", "2023年12月18日至2026年12月17日"]])
    doc = b.build()
    assert one(doc, "company_name").value == "北京中恒建设工程有限公司"
    assert one(doc, "person_name", role="legal_representative").value == "王建国"
    assert one(doc, "person_name", role="principal").value == "李明"
    assert one(doc, "resident_id").attributes["holder"] == "王建国"
    assert one(doc, "safety_licence_no").value == "（京）JZ安许证字〔2023〕000123"
    assert one(doc, "date", role="valid_until").value == "2026-12-17"


def test_value_in_a_separate_box_on_the_same_row():
    b = DocBuilder(source=Source.OCR).page()
    b.row(["设计", "司徒大勇"], [50, 200])
    b.row(["日期", "2026年08月17日"], [50, 200])
    doc = b.build()
    assert one(doc, "person_name").value == "司徒大勇"


def test_pairs_for_any_label():
    doc = doc_from_lines("性别: 男 年龄:50岁 送检科室:", "采样时间:2021-06-04 09:00 送检时间:2021-06-04 19:38")
    pairs = [(p["label"], p["value"]) for p in find_pairs_and_tables(doc)["pairs"]]
    assert pairs == [("性别", "男"), ("年龄", "50岁"), ("送检科室", ""), ("采样时间", "2021-06-04 09:00"),
                     ("送检时间", "2021-06-04 19:38")]


# --------------------------------------------------------------------------- tables

ROSTER = [["序号", "姓名", "性别", "身份证号", "作业类别", "证书编号", "有效期至"],
          ["1", "王建国", "男", "110102199101010078", "建筑电工", "京A012020000001", "2027-03-01"],
          ["2", "李 四", "女", "120110199212010072", "焊接与热切割作业", "T120110199212010072", "2026.11.20"]]


def test_ruled_roster_rows_become_linked_fields():
    doc = DocBuilder().page().line("特种作业人员名册").table(ROSTER).build()
    names = fields(doc, "person_name")
    assert [(f.normalized, f.role) for f in names] == [("王建国", "special_operator"), ("李四", "special_operator")]
    by_record = {}
    for f in fields(doc):
        by_record.setdefault(f.attributes.get("record"), []).append(f.type)
    rows = [v for k, v in by_record.items() if k]
    assert len(rows) == 2
    for types in rows:
        assert sorted(types) == ["cert_no", "date", "operation_category", "person_name", "resident_id"]
    cert = one(doc, "cert_no", holder="李四")
    assert cert.attributes["cert_type"] == "special_operation" and cert.attributes["category"] == "焊接与热切割作业"
    assert one(doc, "date", record=cert.attributes["record"]).value == "2026-11-20"


def test_unruled_roster_from_ocr_boxes():
    b = DocBuilder(source=Source.OCR, confidence=0.9).page().line("项目管理人员名册")
    xs = [50, 120, 220, 400]
    b.row(["姓名", "职务", "证书编号", "身份证号"], xs)
    b.row(["张三", "项目经理", "京建安B(2021)0012345", "110102199101010078"], xs)
    b.row(["赵六", "专职安全员", "京建安C2（2022）0000123", "120110198012010073"], xs)
    b.line("以上人员均在岗，证书真实有效，特此说明。")
    doc = b.build()
    zs = one(doc, "person_name", normalized="张三")
    assert zs.role == "project_manager" and zs.source == "ocr" and zs.confidence <= 0.9
    assert one(doc, "person_name", normalized="赵六").role == "safety_manager"
    cert = one(doc, "cert_no", holder="赵六")
    assert cert.value == "京建安C2(2022)0000123" and cert.attributes["cert_type"] == "safety_assessment_c"
    tables = find_pairs_and_tables(doc)["tables"]
    assert tables[0]["origin"] == "layout" and len(tables[0]["rows"]) == 3


def test_roster_role_from_certificate_class_without_title():
    rows = [["姓名", "证书编号"], ["王五", "京建安A(2020)0012345"], ["赵六", "京建安B(2021)0000001"]]
    doc = DocBuilder().page().line("三类人员名册").table(rows).build()
    assert one(doc, "person_name", normalized="王五").role == "principal"
    assert one(doc, "person_name", normalized="赵六").role == "project_manager"


def test_an_id_shaped_certificate_number_is_a_certificate_of_open_type():
    """domain_sources.md §7.1: a 主要负责人 certificate's number is not the ID
    number by rule; an ID-shaped number in the certificate column is most often
    a special-operation card without its T. The registry record decides."""
    rows = [["姓名", "职务", "身份证号", "证书编号"], ["王五", "总经理", "110102199101010078", "110102199101010078"]]
    doc = DocBuilder().page().line("主要负责人及安全管理人员名册").table(rows).build()
    cert = one(doc, "cert_no")
    assert cert.attributes["cert_type"] is None and cert.attributes["id_form"] is True
    assert len(fields(doc, "resident_id")) == 1


def test_an_id_shaped_number_beside_a_work_category_is_a_special_operation_certificate():
    rows = [["姓名", "作业类别", "身份证号", "操作证号"],
            ["王五", "低压电工作业", "110102199101010078", "110102199101010078"]]
    doc = DocBuilder().page().line("特种作业人员名册").table(rows).build()
    cert = one(doc, "cert_no")
    assert cert.value == "110102199101010078"  # as printed
    assert cert.normalized == "T110102199101010078" and cert.attributes["cert_type"] == "special_operation"


# --------------------------------------------------------------------------- names in prose and roles


@pytest.mark.parametrize("sentence,name,role", [
    ("公司总经理王建国为安全生产第一责任人，对本单位安全生产工作全面负责。", "王建国", "principal"),
    ("分管安全副总经理郑涛协助主要负责人分管安全生产工作。", "郑涛", "safety_manager"),
    ("技术负责人司徒大勇对安全技术工作负责。", "司徒大勇", "other"),
    ("项目经理金永强对所承建项目的安全生产负全面责任。", "金永强", "project_manager"),
    ("公司法定代表人、董事长欧阳志强对公司安全生产工作负领导责任。", "欧阳志强", "legal_representative"),
    ("专职安全生产管理人员唐伟负责现场安全生产监督检查。", "唐伟", "safety_manager"),
])
def test_names_in_prose_with_roles(sentence, name, role):
    doc = doc_from_lines("安全生产责任制", sentence)
    found = one(doc, "person_name", normalized=name)
    assert found.role == role


def test_name_list_after_a_title_and_a_wrapped_line():
    b = DocBuilder().page()
    b.line("二、安全生产管理部为公司安全生产管理机构，配备专职安全生产管理人员3名：唐伟、钟")  # wraps
    b.line("敏、康宏伟。")
    b.line("一、安全生产委员会主任由董事长兼总经理王建国担任，副主任由分管安全副总经理郑涛担")
    b.line("任。")
    doc = b.build()
    names = {(f.normalized, f.role) for f in fields(doc, "person_name")}
    assert {("唐伟", "safety_manager"), ("钟敏", "safety_manager"), ("康宏伟", "safety_manager"),
            ("王建国", "principal"), ("郑涛", "safety_manager")} <= names
    zm = one(doc, "person_name", normalized="钟敏")
    assert zm.bbox is not None  # evidence spans the two lines
    assert zm.bbox[3] - zm.bbox[1] > 14


def test_statistical_recogniser_is_used_when_present(monkeypatch):
    class Ent:
        def __init__(self, start, end, label, text, score=0.9):
            self.start, self.end, self.label, self.text, self.score = start, end, label, text, score

    def fake(text):
        i = text.find("马小云")
        return [Ent(i, i + 3, "PERSON", "马小云")] if i >= 0 else []

    monkeypatch.setattr(people, "ner_backend", lambda: fake)
    monkeypatch.setattr(people, "ner_batch_backend", lambda: lambda texts: [fake(t) for t in texts])
    doc = doc_from_lines("会议由马小云主持召开。")
    out = extract_fields(doc, use_ner=True).fields
    assert [f.value for f in out if f.type == "person_name"] == ["马小云"]
    # Rules alone do not see a name without a title.
    assert all(f.type != "person_name" for f in extract_fields(doc, use_ner=False).fields)


def test_package_gives_signatures_the_role_stated_elsewhere():
    a = doc_from_lines("安全生产责任制", "公司总经理王建国为安全生产第一责任人，对本单位安全生产工作全面负责。",
                       doc_id="d1")
    b = doc_from_lines("生产安全事故综合应急预案", "批准：王建国", "编制：郑涛", doc_id="d2")
    out = extract_package([a, b], use_ner=False)
    d2 = {f.normalized: f.role for f in out[1].fields if f.type == "person_name"}
    assert d2["王建国"] == "principal"
    assert d2["郑涛"] == "other"


# --------------------------------------------------------------------------- identifiers and dates


def test_identifiers_in_text_with_ocr_repair_recorded():
    doc = doc_from_lines("身份证号：11O1O2l99101010078", "统一社会信用代码：911100006OOO37341L", source=Source.OCR)
    rid = one(doc, "resident_id")
    assert rid.value == "110102199101010078" and rid.attributes["repaired"] is True
    assert rid.attributes["repaired_from"] == "11O1O2l99101010078"
    assert one(doc, "uscc").value == "91110000600037341L"


def test_special_operation_number_must_embed_the_rows_id():
    rows = [["姓名", "身份证号", "证书编号"], ["王五", "110102199101010078", "T120110199212010072"],
            ["赵六", "110102199101010079", "T110102199101010079"]]
    doc = DocBuilder().page().line("特种作业人员名册").table(rows).build()
    wang = one(doc, "cert_no", holder="王五")
    assert wang.attributes["valid"] is False and wang.attributes["reason"] == "embedded_id_holder_mismatch"
    zhao = one(doc, "cert_no", holder="赵六")
    assert zhao.attributes["valid"] is False and zhao.attributes["reason"] == "embedded_id_checksum"
    assert one(doc, "resident_id", holder="赵六").attributes["reason"] == "checksum"


def test_uscc_names_its_company():
    doc = doc_from_lines("营业执照", "统一社会信用代码", "91110000600037341L", "名称 北京中恒建设工程有限公司")
    assert one(doc, "uscc").attributes["company"] == "北京中恒建设工程有限公司"


def test_invalid_ids_are_reported_not_repaired_by_guess():
    doc = doc_from_lines("身份证号：110102199101010079")
    rid = one(doc, "resident_id")
    assert rid.attributes["valid"] is False and rid.attributes["reason"] == "checksum"


def test_number_under_another_label_is_not_an_id():
    # 证照编号 on a business licence has the shape of an ID number.
    doc = doc_from_lines("营业执照", "证照编号：110105202306121101")
    assert fields(doc, "resident_id") == []


@pytest.mark.parametrize("text,iso", [
    ("发证日期：2026年11月20日", "2026-11-20"), ("发证日期：2026-11-20", "2026-11-20"),
    ("发证日期：2026.11.20", "2026-11-20"), ("发证日期：二〇二六年十一月二十日", "2026-11-20"),
    ("发证日期：２０２６年１１月２０日", "2026-11-20"), ("发证日期：2026 年 11 月 20 日", "2026-11-20"),
])
def test_date_forms(text, iso):
    assert one(doc_from_lines(text), "date").value == iso


def test_signature_date_at_the_end():
    doc = doc_from_lines("安全生产费用提取和使用计划", "按规定提取。", "主要负责人：王建国", "2026年10月01日")
    d = one(doc, "date")
    assert d.role == "signed" and d.attributes["of"] == "document"


def test_issue_date_at_the_end_of_an_authority_document():
    doc = doc_from_lines("社会保险参保缴费证明（单位）", "已参加工伤保险。", "北京市社会保险事业管理中心", "2026年10月31日")
    assert one(doc, "date").role == "issued"


# --------------------------------------------------------------------------- design parameters


def test_design_parameters_bound_to_what_they_measure():
    doc = doc_from_lines(
        "消防安全管理及疏散预案",
        "1#办公楼：民用建筑，耐火等级二级，地上5层，建筑高度18m。",
        "2#仓库：丙类仓库，耐火等级二级，地上1层，建筑高度6m。",
        "1#办公楼与2#仓库之间的防火间距为１０．０米。",
        "1#办公楼每层设置不少于两个安全出口，疏散门净宽 1.0m，疏散走道净宽不小于1.40m，疏散楼梯净宽 1.2m。",
        "3#宿舍楼走道净宽 1400mm。",
    )
    sep = one(doc, "fire_separation_distance")
    assert sep.value == 10.0 and sep.attributes["between"] == ["1#办公楼", "2#仓库"]
    widths = {(f.attributes["element"], f.value, f.attributes["qualifier"]) for f in fields(doc, "evacuation_width")}
    assert widths == {("door", 1.0, "stated"), ("corridor", 1.4, "min"), ("stair", 1.2, "stated"),
                      ("corridor", 1.4, "stated")}
    office = one(doc, "building", normalized="1#办公楼")
    assert office.attributes["fire_grade"] == 2 and office.attributes["storeys"] == 5
    assert office.attributes["use_class"] == "民用" and office.attributes["height_m"] == 18.0
    store = one(doc, "building", normalized="2#仓库")
    assert store.attributes["use_class"] == "丙" and store.attributes["kind"] == "warehouse"
    assert {f.value for f in fields(doc, "building_height")} == {18.0, 6.0}


def test_scaffold_plan_parameters_sections_and_measures():
    doc = doc_from_lines(
        "外脚手架搭设专项施工方案",
        "一、工程概况",
        "外脚手架采用落地式双排扣件式钢管脚手架，搭设高度 36m，立杆基础为300mm厚C20混凝土硬化地面。",
        "二、编制依据",
        "四、施工工艺技术",
        "搭设高度36m≥24m，外立面全高全长连续设置剪刀撑。",
        "五、施工安全保证措施",
        "3. 作业层外侧设置1.2m高防护栏杆（中间设0.6m高中栏杆）和180mm高挡脚板，脚手架外立面满挂密目式安全立网全封闭；"
        "作业层下方及临边坠落高度超过2m处设置防护。",
        "6. 本方案属超过一定规模的危险性较大的分部分项工程，已组织专家论证。",
        "九、计算书及相关施工图纸",
    )
    assert {f.value for f in fields(doc, "scaffold_height")} == {36.0}
    assert fields(doc, "scaffold_height")[0].attributes["scaffold_type"] == "落地式"
    assert [f.value for f in fields(doc, "guard_rail_height")] == [1.2]
    assert [f.value for f in fields(doc, "toe_board_height")] == [0.18]
    assert {f.value for f in fields(doc, "plan_section")} == {"overview", "basis", "process", "safety_measures",
                                                              "calculations"}
    assert {f.value for f in fields(doc, "safety_measure")} == {"guard_rail", "toe_board", "dense_mesh_net",
                                                                "edge_protection", "expert_review"}


def test_drawing_labels_and_separation_without_names():
    b = DocBuilder().page()
    b.line("1#办公楼 民用 二级 多层 H=18m", x=50, y=100)
    b.line("防火间距 6.0m", x=200, y=100)
    b.line("3#宿舍楼 民用 二级 多层 H=12m", x=300, y=100)
    b.line("总平面布置图", x=400, y=700)
    doc = b.build()
    sep = one(doc, "fire_separation_distance")
    assert sep.value == 6.0 and sorted(sep.attributes["between"]) == ["1#办公楼", "3#宿舍楼"]
    assert {f.value for f in fields(doc, "building_height")} == {18.0, 12.0}


# --------------------------------------------------------------------------- evidence and confidence


def test_evidence_is_the_box_of_the_words_read():
    b = DocBuilder(char_width=10).page()
    b.line("身份证号：110102199101010078", x=100, y=200)
    f = one(b.build(), "resident_id")
    assert f.page == 1 and f.document == "doc-1"
    x0, top, x1, bottom = f.bbox
    # "身份证号：" is 5 characters of 10 pt; the ID takes the next 18.
    assert x0 == pytest.approx(150) and x1 == pytest.approx(330)
    assert top == 200 and bottom == 212


def test_confidence_combines_ocr_and_extraction():
    sure = one(doc_from_lines("身份证号：110102199101010078"), "resident_id")
    b = DocBuilder(source=Source.OCR).page().line("身份证号：110102199101010078", confidence=0.6)
    blurred = one(b.build(), "resident_id")
    assert blurred.source == "ocr" and blurred.confidence < sure.confidence
    assert blurred.confidence <= 0.6


def test_personal_data_never_logged(caplog):
    caplog.set_level("DEBUG")
    extract_fields(doc_from_lines("姓名：王建国", "身份证号：110102199101010078"))
    assert "王建国" not in caplog.text and "110102199101010078" not in caplog.text


# --------------------------------------------------------------------------- layout edge cases


def test_unruled_roster_from_text_lines_with_column_gaps():
    # Left-aligned columns, as a text layer lays out a roster typed with spaces.
    widths = [6, 8, 6, 20, 10, 20]

    def row(*cells):
        return "".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    b = DocBuilder().page().line("特种作业人员名册")
    b.line(row("序号", "姓名", "性别", "身份证号码", "作业类别", "证书编号"))
    b.line(row("1", "王建国", "男", "110102199101010078", "电工作业", "T110102199101010078"))
    b.line(row("2", "李明", "男", "120110199212010072", "高处作业", "T120110199212010072"))
    b.line("说明：以上人员均持证上岗，证书在有效期内，特此说明。")
    doc = b.build()
    assert [f.normalized for f in fields(doc, "person_name")] == ["王建国", "李明"]
    assert {f.attributes["holder"] for f in fields(doc, "cert_no")} == {"王建国", "李明"}
    assert {f.value for f in fields(doc, "operation_category")} == {"电工作业", "高处作业"}


def test_vertical_text_on_a_drawing_is_read_whole():
    b = DocBuilder(char_width=8, line_height=8).page()
    b.line("1#办公楼 民用 二级 多层 H=18m", x=50, y=100)
    b.line("2#仓库 丙类 二级 H=6m", x=50, y=300)
    for k, ch in enumerate("防火间距12.0m"):
        b.line(ch, x=70, y=150 + k * 8)
    doc = b.build()
    sep = one(doc, "fire_separation_distance")
    assert sep.value == 12.0 and sorted(sep.attributes["between"]) == ["1#办公楼", "2#仓库"]


def test_a_one_cell_frame_is_not_a_table():
    b = DocBuilder().page()
    b.table([["总平面布置图 1#办公楼 民用 二级 多层 H=18m"]])
    doc = b.build()
    assert [f.value for f in fields(doc, "building_height")] == [18.0]


def test_phone_numbers_and_codes_are_not_identifiers():
    doc = doc_from_lines("联系电话：13912345678", "验证码：000008718819", "传真：010-65871234")
    assert [f for f in fields(doc) if f.type in ("resident_id", "uscc", "cert_no")] == []


def test_header_synonyms():
    from extractor.fields.lexicon import header_key

    assert header_key("身份证号码") == "resident_id"
    assert header_key("公民身份号码") == "resident_id"
    assert header_key("操作证号") == "cert_no"
    assert header_key("有效期至") == "valid_until"
    assert header_key("岗位") == "title"
    assert header_key("建筑电工") is None  # a value, not a header
    assert header_key("性别:男") is None  # a label with its value


def test_labels_with_their_own_roles_and_unknown_labels():
    doc = doc_from_lines("危险化学品重大危险源辨识、评估及监控措施",
                         "重大危险源主要负责人：尉迟亚平；技术负责人：丁春生；操作负责人：侯军。")
    roles = {f.normalized: f.role for f in fields(doc, "person_name")}
    assert roles == {"尉迟亚平": "principal", "丁春生": "other", "侯军": "other"}
    # 侯军's role is for the package step to fill from the other documents.
    assert one(doc, "person_name", normalized="侯军").attributes["role_source"] == "default"


def test_plan_schedule_dates_are_kept_without_a_role():
    doc = doc_from_lines("外脚手架搭设专项施工方案", "三、施工计划",
                         "脚手架随主体结构施工分段搭设，计划2026年09月01日开始搭设，2026年12月30日主体结构封顶后完成。",
                         "四、施工工艺技术", "工艺流程：定位放线→铺设垫板。")
    dates = fields(doc, "date")
    assert [(f.value, f.role, f.attributes["section"]) for f in dates] == [
        ("2026-09-01", None, "schedule"), ("2026-12-30", None, "schedule")]


def test_company_types_are_not_companies():
    doc = doc_from_lines("营业执照", "类型 其他有限责任公司", "名称 北京中恒建设工程有限公司")
    assert [f.value for f in fields(doc, "company_name")] == ["北京中恒建设工程有限公司"]


def test_date_columns_of_an_inspection_table():
    rows = [["序号", "设备名称", "检验结论", "检验日期", "下次检验日期"], ["1", "塔式起重机", "合格", "2026-07-08", "2027-07-07"]]
    doc = DocBuilder().page().line("施工起重机械设备检验检测合格汇总表").table(rows).build()
    assert {(f.value, f.role, f.attributes["of"]) for f in fields(doc, "date")} == {
        ("2026-07-08", "issued", "document"), ("2027-07-07", "valid_until", "document")}


@pytest.mark.parametrize("text,names", [
    ("2006年浙江菲达环保科技股份有限公司召开股东大会", ["浙江菲达环保科技股份有限公司"]),
    ("菲达环保公司为浙江神鹰集团有限公司提供担保", ["浙江神鹰集团有限公司"]),
    ("兹证明北京中恒建设工程有限公司（统一社会信用代码：91110000600037341L）", ["北京中恒建设工程有限公司"]),
])
def test_company_names_in_prose(text, names):
    assert [n for _, _, n in people.org_names(text)] == names


def test_words_that_are_not_names():
    for word in ("安利股份", "金融机构", "技术", "安全员", "盛建筑工", "宏远工程"):
        assert not people.looks_like_name(word), word



def test_first_row_of_an_unruled_roster_is_one_record_with_its_certificate():
    # A roster without rulings whose text layer runs column by column: each
    # header sits right above the first row's value. Read as label/value
    # pairs, "姓名" over "万永强" put half of the first row in a record of its
    # own, its certificate number in another, and the rule then could not
    # tell that 吕军's row (planted: no number) lacks one.
    from extractor.ingest import ingest_path

    roster = Path(__file__).resolve().parents[1] / "fixtures/packages/jz_shanxi_defects/附件7.pdf"
    [doc] = ingest_path(roster).documents
    doc = extract_fields(doc, use_ner=False)
    records: dict[str, set[str]] = {}
    for f in fields(doc):
        if f.type in ("resident_id", "operation_category", "cert_no") or f.role == "special_operator":
            records.setdefault(f.attributes.get("record"), set()).add(f.type)
    assert len(records) == 8  # one per row, the signature below the table aside
    assert all("person_name" in types for types in records.values())  # nothing left without its person
    assert sum("cert_no" in types for types in records.values()) == 7  # 吕军's row has none
    assert one(doc, "cert_no", holder="万永强").attributes["record"] == one(
        doc, "person_name", normalized="万永强").attributes["record"]


# Character boxes of one OCR line as RapidOCR spread them over its frames (blind family D's
# scanned roster, 200 dpi): gaps of 1-2 px between some digits, none meant as a space.
_OCR_CERT = [("浙", 422, 426), ("A", 428, 432), ("0", 432, 437), ("1", 437, 441), ("2", 441, 445),
             ("0", 445, 450), ("2", 450, 454), ("6", 454, 458), ("0", 458, 463), ("0", 463, 467),
             ("0", 469, 472), ("2", 472, 476), ("0", 478, 481), ("7", 481, 484)]


def _cert_line_doc(source: Source):
    from extractor.model import Word

    doc = doc_from_lines("浙A012026000207", source=source)
    line = doc.pages[0].lines[0]
    words = [Word(text=t, bbox=(x0, 212.0, x1, 225.0)) for t, x0, x1 in _OCR_CERT]
    doc.pages[0].lines[0] = line.model_copy(update={"words": words, "bbox": (422.0, 212.0, 484.0, 224.0)})
    return doc


def test_ocr_character_gaps_do_not_split_a_number():
    from extractor.fields.view import build_view

    [ocr_line] = build_view(_cert_line_doc(Source.OCR)).lines
    assert ocr_line.raw == "浙A012026000207"
    # A text layer's boxes are exact: the same narrow gaps there are word spaces.
    [text_line] = build_view(_cert_line_doc(Source.TEXT)).lines
    assert text_line.raw == "浙A01202600 02 07"
