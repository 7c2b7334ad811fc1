"""The statutory clocks of one licence application, computed from its dates.

Pure computation: the service layer reads the dates from the store, passes a
:class:`~shencha.service.calendar.WorkCalendar` and ``today``, and shows or
persists the :class:`ClockState` it gets back.

The two clocks and how they are defined here
--------------------------------------------

Counting: the day of an event is not counted; counting starts the next day
(民法典 第二百零一条). Periods are in working days (行政许可法 第八十二条: 期限以
工作日计算，不含法定节假日) unless the policy says calendar days.

Notice clock (一次性告知补正, 行政许可法 第三十二条): after the application is
received the authority must, within ``notice_working_days``, either accept it
or tell the applicant everything to correct. A correction request in that
window meets it. The corrected materials are a fresh submission: acceptance
or a new correction request is due within the same window after their
receipt. A missed window means the application counts as accepted on the day
of that submission (第三十二条: 逾期不告知的，自收到申请材料之日起即为受理), and
the decision clock starts from that day.

Decision clock (安全生产许可证条例 第七条, 建筑施工企业安全生产许可证管理规定
第七条: decision within 45 days of acceptance; provincial service guides say
45 个工作日): runs from the day after acceptance. While a correction requested
after acceptance is pending the clock is paused: the days after the request
up to and including the day the corrected materials arrive do not count (the
request day counts, the authority worked it; the receipt day is the new
starting day). Afterwards the clock resumes with the days that were left.
With calendar days, a deadline on a day off moves to the next working day
(民法典 第二百零三条).

State "as of": events dated after ``today`` are ignored, so the state of any
past day can be recomputed and a mistyped future date does not break the queue.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .calendar import WorkCalendar

Stage = Literal["待受理", "审查中", "补正中", "已决定"]
DayUnit = Literal["working", "calendar"]

# Queue ranks, most urgent first.
_RANK_ATTENTION = 0  # decision overdue, or the notice window missed and still not accepted
_RANK_RUNNING = 1
_RANK_PAUSED = 2
_RANK_DECIDED = 3
_NO_DAYS = 10**6  # sorts a state without a running deadline after every real one


class ClockPolicy(BaseModel):
    """The periods in force; a province with other rules configures its own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # 行政许可法 第三十二条: 当场或者在五日内一次告知申请人需要补正的全部内容.
    notice_working_days: int = Field(5, ge=1)
    # 安全生产许可证条例 第七条 / 建筑施工企业安全生产许可证管理规定 第七条: 45 日.
    decision_days: int = Field(45, ge=1)
    # Working by default: 行政许可法 第八十二条 and the provincial service guides.
    decision_unit: DayUnit = "working"
    due_soon_working_days: int = Field(5, ge=0)


class CorrectionPeriod(BaseModel):
    """One request to correct (补正) and the day the corrected materials arrived (None: pending)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requested: date
    received: date | None = None

    @model_validator(mode="after")
    def _order(self) -> CorrectionPeriod:
        if self.received is not None and self.received < self.requested:
            raise ValueError(f"补正材料收到日期 {self.received} 早于补正告知日期 {self.requested}")
        return self


class ApplicationDates(BaseModel):
    """The dates of an application that drive its clocks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    received: date
    accepted: date | None = None
    corrections: list[CorrectionPeriod] = Field(default_factory=list)
    decided: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ApplicationDates:
        if self.accepted is not None and self.accepted < self.received:
            raise ValueError(f"受理日期 {self.accepted} 早于收件日期 {self.received}")
        if self.decided is not None and self.decided < self.received:
            raise ValueError(f"决定日期 {self.decided} 早于收件日期 {self.received}")
        if self.decided is not None and self.accepted is not None and self.decided < self.accepted:
            raise ValueError(f"决定日期 {self.decided} 早于受理日期 {self.accepted}")
        previous: CorrectionPeriod | None = None
        for c in sorted(self.corrections, key=lambda c: c.requested):
            if c.requested < self.received:
                raise ValueError(f"补正告知日期 {c.requested} 早于收件日期 {self.received}")
            if previous is not None:
                if previous.received is None:
                    raise ValueError(
                        f"{previous.requested} 的补正尚未收到材料，不能再于 {c.requested} 告知补正"
                    )
                if c.requested < previous.received:
                    raise ValueError(
                        f"{c.requested} 的补正告知早于上一次补正材料收到日期 {previous.received}"
                    )
            previous = c
        return self


class ClockState(BaseModel):
    """Where an application stands against its statutory periods on ``as_of``."""

    model_config = ConfigDict(frozen=True)

    as_of: date
    stage: Stage
    # The notice window in force: from receipt, or from the last corrected
    # materials received before acceptance.
    notice_due: date
    notice_late: bool
    # Set when the window was missed: the day the application counts as accepted.
    deemed_accepted: date | None = None
    # The effective acceptance day; the decision clock counts from the next day.
    clock_start: date | None = None
    # None while unknown: not yet accepted, or paused before the deadline was reached.
    decision_due: date | None = None
    days_unit: DayUnit
    # Days left on the running deadline (the decision clock once started, else
    # the notice window) in ``days_unit`` (the notice window: working days);
    # negative when overdue; frozen while paused; at the decision for 已决定.
    days_left: int | None = None
    paused: bool
    # Days (in ``days_unit``) the correction pauses have taken off the decision clock so far.
    paused_days: int = 0
    overdue: bool
    due_soon: bool
    label_zh: str
    # Sort ascending for the queue: most urgent first.
    sort_key: tuple[int, int, int]
    # Some day the clocks counted lies in a year without an official holiday arrangement.
    calendar_estimated: bool
    notes_zh: list[str] = Field(default_factory=list)


def _on_or_before(d: date | None, as_of: date) -> date | None:
    return d if d is not None and d <= as_of else None


def _visible_corrections(dates: ApplicationDates, as_of: date) -> list[CorrectionPeriod]:
    """The corrections as known on ``as_of`` (a receipt after it is still pending)."""
    out = []
    for c in sorted(dates.corrections, key=lambda c: c.requested):
        if c.requested > as_of:
            break
        out.append(
            CorrectionPeriod(requested=c.requested, received=_on_or_before(c.received, as_of))
        )
    return out


class _Notice(BaseModel):
    due: date
    late: bool
    start: date | None  # effective acceptance (real or deemed)
    deemed: date | None
    pending_correction: bool  # a correction before acceptance is with the applicant


def _notice(
    dates: ApplicationDates,
    corrections: list[CorrectionPeriod],
    as_of: date,
    calendar: WorkCalendar,
    policy: ClockPolicy,
) -> _Notice:
    """Walk the submissions before acceptance and check each notice window."""
    accepted = _on_or_before(dates.accepted, as_of)
    submission = dates.received
    pending = iter(corrections)
    correction = next(pending, None)
    while True:
        due = calendar.add_working_days(submission, policy.notice_working_days)
        # A correction requested on the acceptance day is read as one during review.
        before_acceptance = correction is not None and (
            accepted is None or correction.requested < accepted
        )
        action = correction.requested if before_acceptance else accepted
        if action is None:
            if as_of > due:
                return _Notice(
                    due=due,
                    late=True,
                    start=submission,
                    deemed=submission,
                    pending_correction=False,
                )
            return _Notice(due=due, late=False, start=None, deemed=None, pending_correction=False)
        if action > due:
            return _Notice(
                due=due, late=True, start=submission, deemed=submission, pending_correction=False
            )
        if not before_acceptance:
            return _Notice(
                due=due, late=False, start=accepted, deemed=None, pending_correction=False
            )
        assert correction is not None
        if correction.received is None:
            return _Notice(due=due, late=False, start=None, deemed=None, pending_correction=True)
        submission = correction.received
        correction = next(pending, None)


class _Clock:
    """The decision clock: counted days after ``start``, minus the correction pauses."""

    def __init__(
        self,
        start: date,
        corrections: list[CorrectionPeriod],
        as_of: date,
        calendar: WorkCalendar,
        unit: DayUnit,
    ):
        self.start = start
        self.as_of = as_of
        self.calendar = calendar
        self.unit = unit
        # (requested, received]; open-ended while pending (as of ``as_of``).
        self.pauses = [
            (c.requested, c.received) for c in corrections if (c.received or as_of) > start
        ]

    def paused_on(self, d: date) -> bool:
        return any(req < d and (rec is None or d <= rec) for req, rec in self.pauses)

    def is_unit_day(self, d: date) -> bool:
        return self.unit == "calendar" or self.calendar.is_working_day(d)

    def counts(self, d: date) -> bool:
        return d > self.start and self.is_unit_day(d) and not self.paused_on(d)

    def counted_between(self, a: date, b: date) -> int:
        """Counted days in ``(a, b]``; negative when ``b < a``."""
        if b < a:
            return -self.counted_between(b, a)
        return sum(self.counts(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))

    def paused_days(self, until: date) -> int:
        return sum(
            self.is_unit_day(d) and self.paused_on(d)
            for d in (
                self.start + timedelta(days=i) for i in range(1, (until - self.start).days + 1)
            )
        )

    def due(self, total: int) -> date | None:
        """The day the clock reaches ``total``; None if a pending correction stops it first."""
        d, elapsed = self.start, 0
        # Bounded: every pause but a pending one ends, and the calendar guarantees working days.
        while elapsed < total:
            d += timedelta(days=1)
            if any(req < d and rec is None for req, rec in self.pauses):
                return None
            if self.counts(d):
                elapsed += 1
        if self.unit == "calendar" and not self.calendar.is_working_day(d):
            d = self.calendar.next_working_day(d)  # 民法典 第二百零三条
        return d


def _days_text(n: int, unit: DayUnit) -> str:
    return f"{n} 个工作日" if unit == "working" else f"{n} 天"


def clock_state(
    dates: ApplicationDates,
    today: date,
    calendar: WorkCalendar,
    policy: ClockPolicy | None = None,
) -> ClockState:
    """The application's clocks as of ``today`` (see the module docstring for the rules)."""
    policy = policy or ClockPolicy()
    unit = policy.decision_unit
    decided = _on_or_before(dates.decided, today)
    as_of = decided or today
    corrections = _visible_corrections(dates, as_of)
    notice = _notice(dates, corrections, as_of, calendar, policy)
    notes: list[str] = []
    if notice.deemed is not None:
        notes.append(
            f"未在 {notice.due.isoformat()} 前受理或一次性告知补正，"
            f"依行政许可法第三十二条自 {notice.deemed.isoformat()} 起视为受理"
        )

    open_correction = bool(corrections) and corrections[-1].received is None and decided is None
    accepted = _on_or_before(dates.accepted, as_of)
    if decided is not None:
        stage: Stage = "已决定"
    elif open_correction:
        stage = "补正中"
    elif accepted is not None:
        stage = "审查中"
    else:
        stage = "待受理"

    decision_due: date | None = None
    days_left: int | None = None
    paused_days = 0
    overdue = False
    latest = max(today, notice.due)
    if notice.start is not None:
        clock = _Clock(notice.start, corrections, as_of, calendar, unit)
        decision_due = clock.due(policy.decision_days)
        paused_days = clock.paused_days(as_of)
        if decision_due is not None:
            days_left = clock.counted_between(as_of, decision_due)
            overdue = as_of > decision_due
            latest = max(latest, decision_due)
        else:  # paused before reaching the deadline: the days left are frozen
            days_left = policy.decision_days - clock.counted_between(notice.start, as_of)
    elif stage == "待受理":
        days_left = calendar.working_days_between(as_of, notice.due)

    paused = open_correction
    running = decided is None and not paused
    due_soon = (
        running
        and decision_due is not None
        and not overdue
        and calendar.working_days_between(as_of, decision_due) <= policy.due_soon_working_days
    )

    label = _label(stage, notice, decision_due, days_left, overdue, paused, unit, as_of)

    if decided is not None:
        rank = _RANK_DECIDED
    elif paused:
        rank = _RANK_ATTENTION if overdue else _RANK_PAUSED
    elif overdue or (stage == "待受理" and notice.late):
        rank = _RANK_ATTENTION
    else:
        rank = _RANK_RUNNING
    sort_key = (rank, _NO_DAYS if days_left is None else days_left, dates.received.toordinal())

    years = range(dates.received.year, latest.year + 1)
    estimated = [y for y in years if calendar.is_estimated(y)]
    if estimated:
        notes.append(calendar.source_note(estimated))

    return ClockState(
        as_of=as_of,
        stage=stage,
        notice_due=notice.due,
        notice_late=notice.late,
        deemed_accepted=notice.deemed,
        clock_start=notice.start,
        decision_due=decision_due,
        days_unit=unit,
        days_left=days_left,
        paused=paused,
        paused_days=paused_days,
        overdue=overdue,
        due_soon=due_soon,
        label_zh=label,
        sort_key=sort_key,
        calendar_estimated=bool(estimated),
        notes_zh=notes,
    )


def _label(
    stage: Stage,
    notice: _Notice,
    decision_due: date | None,
    days_left: int | None,
    overdue: bool,
    paused: bool,
    unit: DayUnit,
    as_of: date,
) -> str:
    if stage == "已决定":
        if overdue and days_left is not None:
            late = -days_left
            return f"已决定（超期 {_days_text(late, unit)}）" if late else "已决定（超期）"
        return "已决定"
    if paused:
        if overdue:
            return "补正中（计时暂停，已超期）"
        return "补正中（计时暂停）"
    if decision_due is None:  # not yet accepted, notice window running
        assert days_left is not None
        if days_left == 0:
            return "待受理（今日须受理或告知补正）"
        return f"待受理（{days_left} 个工作日内受理或告知补正）"
    assert days_left is not None
    prefix = "逾期未受理（视为已受理），" if stage == "待受理" else ""
    if overdue:
        late = -days_left
        # Only days off since the deadline: overdue, with no counted day yet.
        text = (
            f"已超期 {_days_text(late, unit)}"
            if late
            else f"已超期（{decision_due.isoformat()} 到期）"
        )
        return prefix + text
    if as_of == decision_due:
        return prefix + "今日到期"
    return prefix + f"剩余 {_days_text(days_left, unit)}"
