"""Column-wise row validation (registry_sync.rows) against the cell-by-cell reference.

A sync validates rows a batch at a time and takes whole-column shortcuts
(one regular expression over a joined column, check digits as arrays). These
tests hold the shortcuts to what handling each cell alone gives: a batch must
decide every row exactly as a batch of that row alone, where a different
mix of cells sends the column down the other path.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry_sync.normalize import (
    cert_key,
    cert_keys,
    fold_name,
    fold_names,
    id_check_char,
    id_no_problem,
    id_no_problems,
)
from registry_sync.records import CertificateRecord, CompanyRecord
from registry_sync.rows import validate_batch, validate_row
from registry_sync.testing import certificate_rows, company_rows, id_number
from tests.conftest import shared


VALID_ID = id_number("110101", date(1980, 1, 1), 1)


def _outcomes(kind: str, rows: list) -> list[tuple]:
    """Per row: (values, None) or (None, reason), from one batch."""
    batch = validate_batch(kind, rows)
    out: list[tuple] = [(None, reason) for reason in batch.reasons]
    for k, i in enumerate(batch.valid):
        out[i] = (batch.row(k), None)
    return out


# ------------------------------------------------------------ ID numbers


def test_id_check_digits_as_arrays_find_each_bad_number_among_good_ones():
    good = [id_number("110101", date(1980, 1, 1), k) for k in range(40)]
    bad_check = good[3][:17] + ("0" if good[3][17] != "0" else "1")
    bad_birth = "11010119800230001" + id_check_char("11010119800230001")  # 30 February, right check digit
    ids = good[:3] + [bad_check] + good[4:10] + [bad_birth] + good[10:]
    problems = id_no_problems(ids)
    assert problems[3] == "身份证号校验位错误"
    assert problems[10] == "身份证号中的出生日期无效"
    assert [p for i, p in enumerate(problems) if i not in (3, 10)] == [None] * (len(ids) - 2)


def test_id_check_digits_as_arrays_agree_with_the_shared_vectors():
    valid = shared("ids", "cn_ric_valid.txt").read_text().split()
    assert valid
    assert id_no_problems(valid) == [id_no_problem(v) for v in valid] == [None] * len(valid)


_ID_SHAPES = st.one_of(
    st.builds(lambda d, k: id_number("110101", d, k),
              st.dates(date(1900, 1, 1), date(2020, 12, 31)), st.integers(0, 999)),
    st.text(alphabet="0123456789X", min_size=18, max_size=18),  # mostly bad check digits
    # Right check digits on random digits: mostly impossible birth dates.
    st.text(alphabet="0123456789", min_size=17, max_size=17).map(lambda s: s + id_check_char(s)),
    st.text(alphabet="0123456789Xx ", min_size=14, max_size=20),
    st.text(min_size=0, max_size=19),  # anything, NUL included
)


@given(st.lists(_ID_SHAPES, max_size=30))
def test_id_no_problems_equals_id_no_problem_per_number(ids):
    assert id_no_problems(ids) == [id_no_problem(i) for i in ids]


_NAMES = st.text(alphabet="王李張偉华華·•．. 　\u0301\x00Ａa", max_size=6)


@given(st.lists(_NAMES, max_size=20))
def test_column_folds_equal_cell_folds(names):
    assert fold_names(names) == [fold_name(n) for n in names]
    numbers = [n.upper() for n in names]
    assert cert_keys(numbers) == [cert_key(n, normalized=True) for n in numbers]


# ------------------------------------------------------------------- rows

# Per column: clean values (the fast paths) and dirty ones (the slow paths).
_CELLS = {
    "cert_no": ["T110101198001010018", " t110101198001010018 ", "Ｔ１１０１０１", "第京A012019000123号",
                "建安A(2020)0001234", "[2020]12", "×1", "", None, 12345, "A\x00B"],
    "cert_type": ["special_operation", "A证", " B证 ", "SPECIAL_OPERATION", "未知", "", None, 3],
    "holder_name": ["张三", " 张 三 ", "張偉", "阿卜杜·热合曼", "李•明", "x\u0301", "", None, 5, ["a"]],
    "holder_id_no": [VALID_ID, VALID_ID.lower(), VALID_ID[:17] + "0", "11010119800230001X",
                     "１１０１０１１９８００１０１００１８", "110101800101001", "123", "", None,
                     float(VALID_ID[:15]), "\x00" * 18],
    "category": ["电工作业", " 高处 作业 ", "", None, 7],
    "employer_uscc": ["91110000000013672B", "91110000000013672b", "9111000000001367", "91110000000013672I",
                      " 91110000000013672B ", "", None],
    "employer_name": ["某某（北京）有限公司", " a  b ", "", None],
    "issued_on": ["2020-10-19", "2020/10/19", "2020年10月19日", "20201019", "2020-02-30", "2020-1-5",
                  "bad", "٢٠٢٠-١٠-١٩", date(2020, 1, 1), 20201019, "", None],
    "valid_from": ["2020-10-19", "2030-01-01", "2020-13-01", "", None],
    "valid_until": ["2026-10-19", "2019-01-01", "2026-02-29", "2028-02-29", "", None],
    "status": ["有效", "valid", "VALID", " 注销 ", "暂扣", "what", "", None, 1],
    "issuing_authority": ["应急管理局", " x ", "", None],
}
_COMPANY_CELLS = {
    "uscc": ["91110000000013672B", "91110000000013672b", "911100", " 91110000000013672B ", "", None],
    "name": ["某公司", " 某某（北京） 有限公司 ", "", None, 5],
    "licence_no": ["(京)JZ安许证字[2020]000123", "（京）JZ安许证字〔2020〕000123", "第号", "", None, 12],
    "licence_valid_from": ["2020-01-01", "2031-01-01", "2020/1/1", "x", "", None],
    "licence_valid_until": ["2030-01-01", "2019-02-29", "2024-02-29", "", None],
    "licence_status": ["有效", "valid", "x", "注销", "", None],
}


def _row_strategy(base: list[dict], cells: dict[str, list]):
    def mutate(row: dict, changes: dict) -> dict:
        return {**row, **changes}

    changes = st.dictionaries(st.sampled_from(sorted(cells)), st.integers(0, 99), max_size=3).map(
        lambda d: {k: cells[k][v % len(cells[k])] for k, v in d.items()})
    return st.builds(mutate, st.sampled_from(base), changes)


_CERT_BASE = list(certificate_rows(50))
_COMPANY_BASE = list(company_rows(20))


@settings(max_examples=200, deadline=None)
@given(st.lists(_row_strategy(_CERT_BASE, _CELLS), min_size=1, max_size=40))
def test_a_batch_of_certificates_decides_each_row_as_that_row_alone(rows):
    assert _outcomes("certificates", rows) == [validate_row("certificates", r) for r in rows]


@settings(max_examples=100, deadline=None)
@given(st.lists(_row_strategy(_COMPANY_BASE, _COMPANY_CELLS), min_size=1, max_size=40))
def test_a_batch_of_companies_decides_each_row_as_that_row_alone(rows):
    assert _outcomes("companies", rows) == [validate_row("companies", r) for r in rows]


@settings(max_examples=100, deadline=None)
@given(st.lists(_row_strategy(_CERT_BASE, _CELLS), min_size=1, max_size=20),
       st.lists(_row_strategy(_COMPANY_BASE, _COMPANY_CELLS), min_size=1, max_size=20))
def test_accepted_rows_are_valid_records(cert_rows, company_rows_):
    # The column model is built from the records' fields: what it accepts,
    # the record models accept unchanged.
    for kind, record, rows in (("certificates", CertificateRecord, cert_rows),
                               ("companies", CompanyRecord, company_rows_)):
        for values, _ in _outcomes(kind, rows):
            if values is not None:
                assert record.model_validate(values).model_dump(mode="json") == {
                    k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def test_rows_are_cleaned_and_problems_listed_in_column_order():
    good = dict(_CERT_BASE[0])
    messy = {**good, "cert_no": " ｔ１１０１０１１９８００１０１００１８ ", "holder_name": " 張 偉 ",
             "holder_id_no": VALID_ID.lower(), "employer_uscc": " 91110000000013672b ",
             "issued_on": "2020年1月2日", "status": "注销", "cert_type": "A证"}
    bad = {**good, "holder_name": "", "holder_id_no": VALID_ID[:17] + ("0" if VALID_ID[17] != "0" else "1"),
           "valid_from": "2030-01-01", "valid_until": "2026-02-29", "status": "what"}
    [(clean, _), (tidied, _), (none, reason)] = _outcomes("certificates", [good, messy, bad])
    assert (clean["cert_no"], clean["holder_name"]) == (good["cert_no"], good["holder_name"])
    assert clean["valid_until"] == date.fromisoformat(good["valid_until"])
    assert tidied["cert_no"] == "T110101198001010018"
    assert tidied["holder_name"] == "張 偉"  # stored as written (collapsed); folded only for search
    assert tidied["holder_id_no"] == VALID_ID.upper()
    assert tidied["employer_uscc"] == "91110000000013672B"
    assert tidied["issued_on"] == date(2020, 1, 2)
    assert tidied["status"] == "revoked" and tidied["cert_type"] == "safety_assessment_a"
    assert none is None
    assert reason == ("缺少持证人姓名；身份证号校验位错误；有效期止：日期无效：'2026-02-29'；"
                      "状态取值无法识别：'what'（应为 有效/过期/注销/暂扣）")
    assert VALID_ID[:17] not in reason  # never the number itself


def test_a_row_that_is_not_a_mapping_is_quarantined_not_raised():
    outcomes = _outcomes("certificates", [["not", "a", "row"], dict(_CERT_BASE[0])])
    assert outcomes[0][0] is None and "不是一行数据" in outcomes[0][1]
    assert outcomes[1][0] is not None


@pytest.mark.parametrize("kind,base", [("certificates", _CERT_BASE[0]), ("companies", _COMPANY_BASE[0])])
def test_a_nested_json_value_in_any_column_quarantines_the_row(kind, base):
    # JSON sources can put a list or an object in any cell: a reason, never a crash.
    for column in base:
        for odd in (["x"], {"a": 1}):
            values, reason = validate_row(kind, {**base, column: odd})
            assert values is None and reason, (column, odd)
