"""The working-day calendar: package data (holidays 0.109), admin overrides, unknown years.

Expected dates are those of the State Council notices as encoded in the
installed package (holidays/countries/china.py, ChinaStaticHolidays):
2026 Spring Festival (FEB 20 from FEB 14, FEB 23 from FEB 28): days off
15-23 February, Saturdays 14 and 28 February are working days; 2025 National
Day (OCT 7 from SEP 28, OCT 8 from OCT 11): days off 1-8 October, Sunday 28
September and Saturday 11 October are working days.
"""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shencha.service.calendar import (
    CalendarCsvError,
    CalendarOverride,
    WorkCalendar,
    parse_calendar_csv,
)

CAL = WorkCalendar()


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# -- package data --------------------------------------------------------------------


def test_spring_festival_2026_days_off():
    for d in _days(date(2026, 2, 15), date(2026, 2, 23)):
        assert not CAL.is_working_day(d), d
    assert CAL.is_working_day(date(2026, 2, 13))
    assert CAL.is_working_day(date(2026, 2, 24))
    assert CAL.holiday_name(date(2026, 2, 17)) == "春节"


def test_spring_festival_2026_makeup_saturdays_are_working_days():
    assert date(2026, 2, 14).weekday() == 5 and date(2026, 2, 28).weekday() == 5
    assert CAL.is_working_day(date(2026, 2, 14))
    assert CAL.is_working_day(date(2026, 2, 28))
    # An ordinary Saturday stays a day off.
    assert not CAL.is_working_day(date(2026, 2, 7))


def test_national_day_2025():
    for d in _days(date(2025, 10, 1), date(2025, 10, 8)):
        assert not CAL.is_working_day(d), d
    assert CAL.is_working_day(date(2025, 9, 28))  # Sunday, 调休上班
    assert CAL.is_working_day(date(2025, 10, 11))  # Saturday, 调休上班
    assert CAL.is_working_day(date(2025, 10, 9))


def test_fresh_calendar_knows_makeup_day_without_loading_the_year_first():
    # The package fills its make-up days per year on demand; a first question
    # about a weekend day must already see them.
    assert WorkCalendar().is_working_day(date(2026, 2, 28))


# -- deadlines -----------------------------------------------------------------------


def test_start_day_not_counted():
    monday = date(2026, 3, 9)
    assert CAL.add_working_days(monday, 1) == date(2026, 3, 10)
    assert CAL.add_working_days(monday, 5) == date(2026, 3, 16)
    assert CAL.add_working_days(monday, 0) == monday
    with pytest.raises(ValueError):
        CAL.add_working_days(monday, -1)


def test_deadline_over_spring_festival_2026():
    # Thu 12 Feb + 3: Fri 13, Sat 14 (班), then nine days off, Tue 24.
    assert CAL.add_working_days(date(2026, 2, 12), 3) == date(2026, 2, 24)
    assert CAL.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    # 5-day notice window for an application received Tue 10 Feb.
    assert CAL.add_working_days(date(2026, 2, 10), 5) == date(2026, 2, 24)


def test_deadline_over_national_day_2025():
    assert CAL.add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)  # Fri -> Sun (班)
    assert CAL.add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert CAL.add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)  # Sat (班)


def test_working_days_between():
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2
    assert CAL.working_days_between(date(2026, 2, 24), date(2026, 2, 13)) == -2
    assert CAL.working_days_between(date(2025, 9, 30), date(2025, 10, 8)) == 0
    assert CAL.working_days_between(date(2026, 3, 9), date(2026, 3, 9)) == 0


# -- overrides -----------------------------------------------------------------------


def test_overrides_win_over_package():
    cal = WorkCalendar(
        [
            CalendarOverride(date=date(2026, 2, 14), kind="holiday", name="春节"),
            CalendarOverride(date=date(2026, 2, 17), kind="workday", name="调整"),
        ]
    )
    assert not cal.is_working_day(date(2026, 2, 14))
    assert cal.is_working_day(date(2026, 2, 17))
    assert cal.holiday_name(date(2026, 2, 14)) == "春节"
    # Days the overrides leave alone keep the package's answer.
    assert cal.is_working_day(date(2026, 2, 28))
    assert not cal.is_working_day(date(2026, 2, 18))
    assert cal.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 17)


def test_csv_overrides_loaded_into_calendar():
    text = "date,kind,name\n2026-02-24,holiday,延长假期\n2026-02-21,workday,补班\n"
    cal = WorkCalendar(parse_calendar_csv(text))
    assert not cal.is_working_day(date(2026, 2, 24))
    assert cal.is_working_day(date(2026, 2, 21))


def _first_year_without_notice() -> int:
    notice_years = holidays.country_holidays("CN").special_public_holidays
    return max(notice_years) + 1


def test_year_without_package_notice_is_estimated_until_admin_loads_notice():
    year = _first_year_without_notice()
    assert CAL.year_basis(year) == "package_estimate"
    assert CAL.is_estimated(year)
    # The package's guess for that year: a weekday it calls a holiday.
    guessed = sorted(d for d in holidays.country_holidays("CN", years=year) if d.weekday() < 5)
    assert guessed
    assert not CAL.is_working_day(guessed[-1])
    # The admin's notice for the year is the whole arrangement: days it does not
    # list as 休 are ordinary days, the package's guess no longer applies.
    notice = [CalendarOverride(date=guessed[0], kind="holiday", name="元旦")]
    cal = WorkCalendar(notice)
    assert cal.year_basis(year) == "override_notice"
    assert not cal.is_estimated(year)
    assert not cal.is_working_day(guessed[0])
    if guessed[-1] != guessed[0]:
        assert cal.is_working_day(guessed[-1])


def test_package_notice_year_is_not_estimated():
    assert CAL.year_basis(2026) == "package_notice"
    assert not CAL.is_estimated(2025)


def test_far_future_year_uses_weekends_only_and_says_so():
    assert CAL.year_basis(2200) == "weekends_only"
    assert CAL.is_estimated(2200)
    assert CAL.is_working_day(date(2200, 1, 1))  # a Wednesday; no holiday data
    assert not CAL.is_working_day(date(2200, 1, 4))  # Saturday
    assert CAL.add_working_days(date(2200, 1, 2), 1) == date(2200, 1, 3)
    assert CAL.add_working_days(date(2200, 1, 3), 1) == date(2200, 1, 6)
    assert "2200 年无节假日数据，仅按周末推算" in CAL.source_note([2200])


def test_source_note_names_package_version_and_overrides():
    note = WorkCalendar(parse_calendar_csv("date,kind,name\n2026-02-24,休,延长\n")).source_note()
    assert f"holidays {holidays.__version__}" in note
    assert "导入调整 1 条（2026 年）" in note
    assert "导入" not in CAL.source_note()


def test_without_package_weekends_only():
    cal = WorkCalendar(use_package=False)
    assert cal.is_working_day(date(2026, 2, 17))
    assert not cal.is_working_day(date(2026, 2, 14))
    assert cal.year_basis(2026) == "weekends_only"


# -- CSV -----------------------------------------------------------------------------


def test_parse_csv_accepts_bom_chinese_kinds_slash_dates_and_blank_lines():
    text = "\ufeffdate,kind,name\n\n2027/2/6,休,春节\n2027-02-20, 班 ,\n2027-10-01,HOLIDAY,国庆节\n"
    got = parse_calendar_csv(text)
    assert got == [
        CalendarOverride(date=date(2027, 2, 6), kind="holiday", name="春节"),
        CalendarOverride(date=date(2027, 2, 20), kind="workday", name=""),
        CalendarOverride(date=date(2027, 10, 1), kind="holiday", name="国庆节"),
    ]


def test_parse_csv_chinese_header_and_no_name_column():
    got = parse_calendar_csv("日期,类型\n2027-01-01,holiday\n")
    assert got == [CalendarOverride(date=date(2027, 1, 1), kind="holiday")]


def test_bad_date_names_the_line():
    with pytest.raises(CalendarCsvError) as err:
        parse_calendar_csv("date,kind,name\n2027-01-01,holiday,元旦\n2027-02-30,holiday,春节\n")
    assert isinstance(err.value, ValueError)
    assert err.value.problems == [(3, err.value.problems[0][1])]
    assert "第3行" in err.value.message_zh and "2027-02-30" in err.value.message_zh


def test_bad_kind_names_the_line():
    with pytest.raises(CalendarCsvError) as err:
        parse_calendar_csv("date,kind,name\n2027-01-01,rest,元旦\n")
    assert "第2行" in err.value.message_zh
    assert "类型“rest”无效" in err.value.message_zh


def test_duplicate_date_names_both_lines():
    with pytest.raises(CalendarCsvError) as err:
        parse_calendar_csv("date,kind,name\n2027-01-01,holiday,元旦\n2027/1/1,workday,\n")
    assert "第3行：日期 2027-01-01 与第2行重复" in err.value.message_zh


def test_all_problems_reported_at_once():
    text = "date,kind,name\nyesterday,holiday,x\n2027-01-02,maybe,y\n2027-01-03\n"
    with pytest.raises(CalendarCsvError) as err:
        parse_calendar_csv(text)
    assert [line for line, _ in err.value.problems] == [2, 3, 4]


def test_missing_header_and_empty_file():
    with pytest.raises(CalendarCsvError) as err:
        parse_calendar_csv("2027-01-01,holiday,元旦\n")
    assert "第1行" in err.value.message_zh and "表头" in err.value.message_zh
    with pytest.raises(CalendarCsvError) as err:
        parse_calendar_csv("\n \n")
    assert "文件为空" in err.value.message_zh


def test_duplicate_override_objects_rejected():
    o = CalendarOverride(date=date(2027, 1, 1), kind="holiday")
    with pytest.raises(ValueError):
        WorkCalendar([o, o])


# -- properties ----------------------------------------------------------------------

# Years with the package's notice, its estimate, and weekends only.
_dates = st.one_of(
    st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),
    st.dates(min_value=date(2199, 1, 1), max_value=date(2200, 12, 31)),
)


@settings(max_examples=150, deadline=None)
@given(d=_dates, n=st.integers(min_value=1, max_value=60))
def test_property_deadline_is_working_day_and_inverse(d, n):
    due = CAL.add_working_days(d, n)
    assert due > d
    assert CAL.is_working_day(due)
    assert CAL.working_days_between(d, due) == n
    assert CAL.working_days_between(due, d) == -n
    # The day before the deadline leaves one working day to go.
    assert CAL.working_days_between(d, due - timedelta(days=1)) == n - 1


@settings(max_examples=100, deadline=None)
@given(d=_dates, n=st.integers(min_value=0, max_value=40))
def test_property_deadlines_are_increasing(d, n):
    assert CAL.add_working_days(d, n + 1) == CAL.next_working_day(CAL.add_working_days(d, n))


@settings(max_examples=80, deadline=None)
@given(
    d=st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31)),
    n=st.integers(min_value=1, max_value=30),
    flips=st.lists(
        st.tuples(
            st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31)),
            st.sampled_from(["holiday", "workday"]),
        ),
        max_size=20,
        unique_by=lambda t: t[0],
    ),
)
def test_property_holds_with_random_overrides(d, n, flips):
    cal = WorkCalendar([CalendarOverride(date=day, kind=kind) for day, kind in flips])
    for day, kind in flips:
        assert cal.is_working_day(day) == (kind == "workday")
    due = cal.add_working_days(d, n)
    assert cal.is_working_day(due)
    assert cal.working_days_between(d, due) == n
