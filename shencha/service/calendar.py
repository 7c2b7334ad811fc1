"""China's working-day calendar: which days count towards a statutory period.

行政许可法 第八十二条: 本法规定的行政机关实施行政许可的期限以工作日计算，不含法定
节假日。So a deadline in working days skips weekends and public holidays, but
counts the weekend days the State Council turns into working days (调休上班).

Sources, in order of precedence:

1. overrides an administrator loads from the yearly notice of the General
   Office of the State Council (国务院办公厅关于部分节假日安排的通知), as CSV;
2. the maintained ``holidays`` package: China's public holidays and, for the
   years whose notice it has, the substituted days off and make-up working
   days (its ``weekend_workdays``; China has no WORKDAY category there);
3. weekends only, for years the package cannot compute at all.

No holiday date is written in this module: a new year's notice is either a
package upgrade or an override CSV.

Counting convention (used everywhere here): the day of the starting event is
not counted, counting starts the next day (民法典 第二百零一条: 开始的当日不计入，
自下一日开始计算). The deadline of "n working days from ``start``" is the n-th
working day after ``start``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

OverrideKind = Literal["holiday", "workday"]

# How a year's working days are known; only the first two are the official
# arrangement, the other two are estimates the report must disclose.
YearBasis = Literal["package_notice", "override_notice", "package_estimate", "weekends_only"]

# Bounds a search for the next working day: a year of days off in a row
# can only be a broken override file, and looping forever would hang the queue.
_MAX_GAP_DAYS = 366


class CalendarOverride(BaseModel):
    """One day of the official notice: a day off (休) or a working day (班)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: date
    kind: OverrideKind
    name: str = ""


class CalendarCsvError(ValueError):
    """An override CSV that cannot be used; ``message_zh`` lists every bad line for the admin."""

    def __init__(self, problems: list[tuple[int, str]]):
        self.problems = problems
        self.message_zh = "；".join(
            f"第{line}行：{text}" if line else text for line, text in problems
        )
        super().__init__(self.message_zh)


_KINDS: dict[str, OverrideKind] = {
    "holiday": "holiday",
    "休": "holiday",
    "workday": "workday",
    "班": "workday",
}
_HEADERS = {
    "date": "date",
    "日期": "date",
    "kind": "kind",
    "类型": "kind",
    "name": "name",
    "名称": "name",
}
# ISO dates, and the 2027/2/6 form spreadsheet programs write when they re-save a CSV.
_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")


def _parse_date(text: str) -> date | None:
    m = _DATE.match(text)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def parse_calendar_csv(text: str) -> list[CalendarOverride]:
    """Read an override CSV (``date,kind,name``; kind ``holiday``/``休`` or ``workday``/``班``).

    Every problem is collected, so the admin fixes the file in one pass.
    Raises :class:`CalendarCsvError` when any line is bad or the file is empty.
    """
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    numbered = [(i, row) for i, row in enumerate(rows, start=1) if any(c.strip() for c in row)]
    if not numbered:
        raise CalendarCsvError([(0, "文件为空，应有表头 date,kind,name 及至少一行")])
    header_line, header = numbered[0]
    columns = [_HEADERS.get(c.strip().lower()) for c in header]
    if "date" not in columns or "kind" not in columns:
        raise CalendarCsvError(
            [
                (
                    header_line,
                    f"表头应为 date,kind,name（或 日期,类型,名称），实为“{','.join(header)}”",
                )
            ]
        )
    at = {key: columns.index(key) for key in ("date", "kind", "name") if key in columns}

    problems: list[tuple[int, str]] = []
    seen: dict[date, int] = {}
    out: list[CalendarOverride] = []
    for line, row in numbered[1:]:
        cells = [c.strip() for c in row]
        if len(cells) <= max(at["date"], at["kind"]):
            problems.append((line, f"列数不足（应为 date,kind,name），实为“{','.join(row)}”"))
            continue
        raw_date, raw_kind = cells[at["date"]], cells[at["kind"]]
        name = cells[at["name"]] if "name" in at and at["name"] < len(cells) else ""
        day = _parse_date(raw_date)
        kind = _KINDS.get(raw_kind.lower())
        bad = False
        if day is None:
            problems.append((line, f"日期“{raw_date}”无效，应为 YYYY-MM-DD 格式的真实日期"))
            bad = True
        if kind is None:
            problems.append((line, f"类型“{raw_kind}”无效，应为 holiday（休）或 workday（班）"))
            bad = True
        if bad:
            continue
        assert day is not None and kind is not None
        if day in seen:
            problems.append((line, f"日期 {day.isoformat()} 与第{seen[day]}行重复"))
            continue
        seen[day] = line
        out.append(CalendarOverride(date=day, kind=kind, name=name))
    if problems:
        raise CalendarCsvError(problems)
    return sorted(out, key=lambda o: o.date)


def _package():
    """The ``holidays`` module, imported late: a broken install fails the calendar, not the app."""
    import holidays

    return holidays


class WorkCalendar:
    """Working days in mainland China: package data, admin overrides on top, else weekends."""

    def __init__(self, overrides: Iterable[CalendarOverride] = (), *, use_package: bool = True):
        self._overrides: dict[date, CalendarOverride] = {}
        for o in overrides:
            if o.date in self._overrides:
                raise ValueError(f"日期 {o.date.isoformat()} 的调整重复")
            self._overrides[o.date] = o
        self._override_years = {d.year for d in self._overrides}
        self._cn = None
        self._package_version: str | None = None
        self._notice_years: frozenset[int] = frozenset()
        self._package_range = (1, 0)  # empty: no year is computed by the package
        if use_package:
            holidays = _package()
            self._cn = holidays.country_holidays("CN", language="zh_CN")
            self._package_version = holidays.__version__
            # The package's own table of substituted days, one entry per year whose
            # official notice it has encoded; a year outside it is the package's
            # guess (holidays moved off weekends by rule, no 调休 make-up days).
            self._notice_years = frozenset(getattr(self._cn, "special_public_holidays", {}))
            self._package_range = (self._cn.start_year, self._cn.end_year)

    # -- what is known about a year ------------------------------------------------

    def year_basis(self, year: int) -> YearBasis:
        """Where the year's working days come from (overrides count as the notice itself)."""
        if year in self._override_years:
            return "override_notice"
        if year in self._notice_years:
            return "package_notice"
        lo, hi = self._package_range
        if lo <= year <= hi:
            return "package_estimate"
        return "weekends_only"

    def is_estimated(self, year: int) -> bool:
        """True when no official arrangement is loaded for ``year`` (deadlines there may move)."""
        return self.year_basis(year) in ("package_estimate", "weekends_only")

    def _package_knows(self, year: int) -> bool:
        """Whether the package's days are the base for ``year``.

        A year whose notice the package lacks but the admin loaded is weekends
        plus the notice: the notice lists every day off and make-up day, and the
        package's guess (holidays moved off weekends by rule) would add days the
        State Council did not grant.
        """
        if self._cn is None:
            return False
        if year in self._notice_years:
            return True
        lo, hi = self._package_range
        return year not in self._override_years and lo <= year <= hi

    # -- days ------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """A working day: not a weekend unless made one (调休上班), not a public holiday."""
        override = self._overrides.get(d)
        if override is not None:
            return override.kind == "workday"
        if not self._package_knows(d.year):
            return d.weekday() < 5
        # The package's own rule: a weekend day works only if listed as a make-up
        # day, a weekday works unless it is a holiday (it loads the year on demand).
        return bool(self._cn.is_working_day(d))

    def holiday_name(self, d: date) -> str | None:
        """The day's name from the override or the package (e.g. 春节), to explain a deadline."""
        override = self._overrides.get(d)
        if override is not None:
            return override.name or ("休" if override.kind == "holiday" else "班")
        if not self._package_knows(d.year):
            return None
        return self._cn.get(d)

    def add_working_days(self, start: date, n: int) -> date:
        """The deadline of a period of ``n`` working days starting on ``start``.

        The n-th working day after ``start``; ``start`` itself is not counted
        (民法典 第二百零一条) and non-working days are skipped (行政许可法 第八十二条:
        期限以工作日计算，不含法定节假日). ``n == 0`` returns ``start`` unchanged.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        d = start
        for _ in range(n):
            d = self.next_working_day(d)
        return d

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        for _ in range(_MAX_GAP_DAYS):
            d += timedelta(days=1)
            if self.is_working_day(d):
                return d
        raise ValueError(f"{d.isoformat()} 之前一年内没有工作日，请检查节假日调整文件")

    def working_days_between(self, a: date, b: date) -> int:
        """Working days ``d`` with ``a < d <= b``; negative (``-count(b < d <= a)``) when ``b < a``.

        The inverse of :meth:`add_working_days`:
        ``working_days_between(d, add_working_days(d, n)) == n``.
        """
        if b < a:
            return -self.working_days_between(b, a)
        return sum(self.is_working_day(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))

    # -- for the report --------------------------------------------------------------

    def source_note(self, years: Iterable[int] | None = None) -> str:
        """Which calendar data is in force (Chinese, for the report); names estimated ``years``."""
        parts: list[str] = []
        if self._package_version is not None:
            if self._notice_years:
                parts.append(
                    f"节假日及调休依据 holidays {self._package_version} 软件包"
                    f"（收录国务院办公厅通知 {min(self._notice_years)}–"
                    f"{max(self._notice_years)} 年）"
                )
            else:
                parts.append(f"节假日依据 holidays {self._package_version} 软件包")
        else:
            parts.append("未使用节假日软件包")
        if self._overrides:
            years_text = "、".join(str(y) for y in sorted(self._override_years))
            parts.append(
                f"管理员按国务院办公厅通知导入调整 {len(self._overrides)} 条"
                f"（{years_text} 年），优先适用"
            )
        for year in sorted(set(years or ())):
            basis = self.year_basis(year)
            if basis == "package_estimate":
                parts.append(f"{year} 年尚无官方放假安排，按法定节日推算、未含调休，期限可能变动")
            elif basis == "weekends_only":
                parts.append(f"{year} 年无节假日数据，仅按周末推算，期限可能变动")
        return "；".join(parts) + "。"
