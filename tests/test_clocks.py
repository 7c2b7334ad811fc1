"""The statutory clocks of an application on real 2025/2026 calendars (holidays 0.109 data).

Hand counts used below (working days, start day not counted):
* received Tue 2026-02-10: Feb 11, 12, 13, Sat 14 (班), [15-23 off], Tue 24 -> notice due Feb 24.
* accepted Thu 2026-02-12 + 45: Feb 13, 14 (2); Feb 24-28 incl. Sat 28 (班) (7);
  March 22 (29); Apr 1-3 (32); Apr 6 off (清明 observed); Apr 7-10 (36); Apr 13-17 (41);
  Apr 20-23 (45) -> decision due 2026-04-23.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shencha.service.calendar import WorkCalendar
from shencha.service.clocks import (
    ApplicationDates,
    ClockPolicy,
    CorrectionPeriod,
    clock_state,
)

CAL = WorkCalendar()
RECEIVED = date(2026, 2, 10)
ACCEPTED = date(2026, 2, 12)
DUE = date(2026, 4, 23)


def state(today: date, policy: ClockPolicy | None = None, **dates):
    dates.setdefault("received", RECEIVED)
    return clock_state(ApplicationDates(**dates), today, CAL, policy)


# -- notice clock --------------------------------------------------------------------


def test_new_application_waits_for_notice():
    s = state(date(2026, 2, 11))
    assert s.stage == "待受理"
    assert s.notice_due == date(2026, 2, 24)
    assert not s.notice_late
    assert s.days_left == 4  # Feb 12, 13, 14 (班), 24
    assert s.decision_due is None and s.clock_start is None
    assert s.label_zh == "待受理（4 个工作日内受理或告知补正）"
    assert not s.overdue and not s.paused


def test_notice_due_today_label():
    s = state(date(2026, 2, 24))
    assert s.days_left == 0
    assert s.label_zh == "待受理（今日须受理或告知补正）"


def test_correction_on_last_day_of_window_meets_notice():
    s = state(date(2026, 2, 25), corrections=[CorrectionPeriod(requested=date(2026, 2, 24))])
    assert s.stage == "补正中"
    assert not s.notice_late and s.deemed_accepted is None
    assert s.paused
    assert s.label_zh == "补正中（计时暂停）"
    assert s.decision_due is None


def test_correction_after_window_is_late_and_deemed_accepted_from_receipt():
    s = state(
        date(2026, 3, 2),
        corrections=[CorrectionPeriod(requested=date(2026, 2, 25), received=date(2026, 2, 27))],
        accepted=date(2026, 3, 2),
    )
    assert s.notice_late
    assert s.deemed_accepted == RECEIVED
    assert s.clock_start == RECEIVED
    assert any("视为受理" in n for n in s.notes_zh)


def test_late_acceptance_counts_from_receipt():
    on_time = state(date(2026, 3, 2), accepted=date(2026, 2, 24))
    late = state(date(2026, 3, 2), accepted=date(2026, 2, 25))
    assert not on_time.notice_late and on_time.clock_start == date(2026, 2, 24)
    assert late.notice_late and late.clock_start == RECEIVED
    # From Feb 10 instead of Feb 12: two working days (Feb 11, 12) earlier.
    assert late.decision_due == date(2026, 4, 21)


def test_nothing_done_after_window_is_deemed_accepted_and_needs_attention():
    s = state(date(2026, 3, 2))
    assert s.stage == "待受理"
    assert s.notice_late and s.deemed_accepted == RECEIVED
    assert s.decision_due == date(2026, 4, 21)
    assert s.label_zh.startswith("逾期未受理（视为已受理），剩余 ")
    assert s.sort_key[0] == 0


def test_corrected_materials_open_a_new_notice_window():
    correction = CorrectionPeriod(requested=date(2026, 2, 12), received=date(2026, 3, 2))
    # Mon 2 Mar + 5 working days = Mon 9 Mar.
    waiting = state(date(2026, 3, 3), corrections=[correction])
    assert waiting.stage == "待受理" and waiting.notice_due == date(2026, 3, 9)
    assert not waiting.notice_late
    ok = state(date(2026, 3, 10), corrections=[correction], accepted=date(2026, 3, 9))
    assert not ok.notice_late and ok.clock_start == date(2026, 3, 9)
    # The pre-acceptance correction does not pause the decision clock.
    assert ok.paused_days == 0
    late = state(date(2026, 3, 11), corrections=[correction], accepted=date(2026, 3, 10))
    assert late.notice_late and late.deemed_accepted == date(2026, 3, 2)


# -- decision clock ------------------------------------------------------------------


def test_decision_due_over_spring_festival_and_qingming():
    s = state(date(2026, 2, 24), accepted=ACCEPTED)
    assert s.stage == "审查中"
    assert s.decision_due == DUE
    assert s.days_left == 42  # Feb 13, 14, 24 counted
    assert s.label_zh == "剩余 42 个工作日"
    assert not s.overdue and not s.due_soon


def test_days_left_on_the_due_day_and_after():
    assert state(DUE, accepted=ACCEPTED).label_zh == "今日到期"
    assert state(DUE, accepted=ACCEPTED).days_left == 0
    s = state(date(2026, 5, 1), accepted=ACCEPTED)  # Apr 24, 27-30 late; May 1 off
    assert s.overdue
    assert s.days_left == -5
    assert s.label_zh == "已超期 5 个工作日"
    assert s.sort_key[0] == 0


def test_overdue_on_a_day_off_right_after_the_deadline():
    # Due Thu 2026-04-23 with acceptance Feb 12; take a deadline on a Friday instead.
    s = state(date(2026, 4, 25), accepted=date(2026, 2, 13))  # due Fri Apr 24
    assert s.decision_due == date(2026, 4, 24)
    assert s.overdue and s.days_left == 0
    assert s.label_zh == "已超期（2026-04-24 到期）"


def test_due_soon_flag():
    # 5 working days before Apr 23: Apr 16.
    assert state(date(2026, 4, 16), accepted=ACCEPTED).due_soon
    assert state(date(2026, 4, 16), accepted=ACCEPTED).days_left == 5
    assert not state(date(2026, 4, 15), accepted=ACCEPTED).due_soon
    assert state(DUE, accepted=ACCEPTED).due_soon
    assert not state(date(2026, 4, 24), accepted=ACCEPTED).due_soon  # overdue, not "soon"
    tighter = ClockPolicy(due_soon_working_days=2)
    assert not state(date(2026, 4, 16), tighter, accepted=ACCEPTED).due_soon


def test_pending_correction_pauses_the_clock():
    correction = CorrectionPeriod(requested=date(2026, 3, 2))
    a = state(date(2026, 3, 5), accepted=ACCEPTED, corrections=[correction])
    b = state(date(2026, 3, 20), accepted=ACCEPTED, corrections=[correction])
    for s in (a, b):
        assert s.stage == "补正中" and s.paused
        assert s.decision_due is None
        # Counted before the pause: Feb 13, 14, 24-28, Mar 2 = 8.
        assert s.days_left == 37
        assert s.label_zh == "补正中（计时暂停）"
        assert not s.due_soon and not s.overdue
    assert b.paused_days == 14  # working days Mar 3-20
    assert b.sort_key[0] == 2


def test_clock_resumes_with_remaining_days_after_correction():
    correction = CorrectionPeriod(requested=date(2026, 3, 2), received=date(2026, 3, 20))
    s = state(date(2026, 3, 23), accepted=ACCEPTED, corrections=[correction])
    assert s.stage == "审查中" and not s.paused
    assert s.paused_days == 14
    # Apr 23 + 14 working days over Labour Day (May 1-5 off, Sat May 9 班) = May 15.
    assert s.decision_due == date(2026, 5, 15)
    assert s.days_left == 36


def test_request_day_counts_and_receipt_day_does_not():
    # Requested Mon Mar 2, received Wed Mar 4: Mar 3 and 4 do not count.
    correction = CorrectionPeriod(requested=date(2026, 3, 2), received=date(2026, 3, 4))
    s = state(date(2026, 3, 4), accepted=ACCEPTED, corrections=[correction])
    assert s.paused_days == 2
    assert s.days_left == 37
    assert s.decision_due == CAL.add_working_days(DUE, 2)


def test_correction_after_deadline_keeps_overdue():
    correction = CorrectionPeriod(requested=date(2026, 4, 28))
    s = state(date(2026, 5, 20), accepted=ACCEPTED, corrections=[correction])
    assert s.paused and s.overdue
    assert s.decision_due == DUE
    assert s.days_left == -3  # Apr 24, 27, 28 counted before the pause
    assert s.label_zh == "补正中（计时暂停，已超期）"
    assert s.sort_key[0] == 0


def test_calendar_unit_and_deadline_moved_off_a_holiday():
    policy = ClockPolicy(decision_unit="calendar")
    # 2025-08-20 + 45 calendar days = Sat 2025-10-04, inside National Day: next working day Oct 9.
    s = state(date(2025, 8, 25), policy, received=date(2025, 8, 20), accepted=date(2025, 8, 20))
    assert s.days_unit == "calendar"
    assert s.decision_due == date(2025, 10, 9)
    assert s.days_left == (date(2025, 10, 9) - date(2025, 8, 25)).days
    assert s.label_zh == f"剩余 {s.days_left} 天"
    working = state(date(2025, 8, 25), received=date(2025, 8, 20), accepted=date(2025, 8, 20))
    assert working.decision_due == CAL.add_working_days(date(2025, 8, 20), 45)
    assert working.decision_due > s.decision_due


def test_calendar_unit_pause_counts_calendar_days():
    policy = ClockPolicy(decision_unit="calendar", decision_days=30)
    correction = CorrectionPeriod(requested=date(2026, 3, 2), received=date(2026, 3, 12))
    s = state(
        date(2026, 3, 13),
        policy,
        received=date(2026, 3, 1),
        accepted=date(2026, 3, 1),
        corrections=[correction],
    )
    assert s.paused_days == 10
    # Mar 1 + 30 + 10 = Apr 10 (Friday, a working day).
    assert s.decision_due == date(2026, 4, 10)


def test_decided_stage_and_late_decision():
    s = state(date(2026, 6, 1), accepted=ACCEPTED, decided=date(2026, 4, 20))
    assert s.stage == "已决定" and s.label_zh == "已决定"
    assert not s.overdue and s.days_left == 3
    late = state(date(2026, 6, 1), accepted=ACCEPTED, decided=date(2026, 4, 27))
    assert late.overdue and late.label_zh == "已决定（超期 2 个工作日）"
    assert late.sort_key[0] == 3


def test_events_after_today_are_ignored():
    s = state(date(2026, 2, 11), accepted=date(2026, 2, 12), decided=date(2026, 3, 1))
    assert s.stage == "待受理" and s.as_of == date(2026, 2, 11)


def test_queue_order_most_urgent_first():
    today = date(2026, 4, 20)
    overdue = state(today, received=date(2026, 1, 5), accepted=date(2026, 1, 6))
    soon = state(today, accepted=ACCEPTED)  # 3 working days left
    notice = state(today, received=date(2026, 4, 14))  # notice due Apr 21: 1 day left
    running = state(today, received=date(2026, 3, 2), accepted=date(2026, 3, 3))
    paused = state(
        today, accepted=ACCEPTED, corrections=[CorrectionPeriod(requested=date(2026, 3, 2))]
    )
    decided = state(today, accepted=ACCEPTED, decided=date(2026, 4, 1))
    assert overdue.overdue and soon.due_soon and soon.days_left == 3
    shuffled = [decided, running, paused, notice, soon, overdue]
    ordered = sorted(shuffled, key=lambda s: s.sort_key)
    assert ordered == [overdue, notice, soon, running, paused, decided]


def test_far_future_dates_flag_the_calendar_estimate():
    s = state(date(2200, 1, 5), received=date(2200, 1, 2), accepted=date(2200, 1, 3))
    assert s.calendar_estimated
    assert any("仅按周末推算" in n for n in s.notes_zh)
    # Weekends only: Jan 3 (Fri) + 45 weekdays = 9 full weeks -> Fri Mar 7.
    assert s.decision_due == date(2200, 3, 7)
    known = state(date(2026, 2, 24), accepted=ACCEPTED)
    assert not known.calendar_estimated and known.notes_zh == []


@pytest.mark.parametrize(
    "dates",
    [
        {"received": RECEIVED, "accepted": date(2026, 2, 9)},
        {"received": RECEIVED, "decided": date(2026, 2, 1)},
        {"received": RECEIVED, "accepted": date(2026, 2, 12), "decided": date(2026, 2, 11)},
        {"received": RECEIVED, "corrections": [{"requested": date(2026, 2, 1)}]},
        {
            "received": RECEIVED,
            "corrections": [{"requested": date(2026, 3, 2), "received": date(2026, 3, 1)}],
        },
        {
            "received": RECEIVED,
            "corrections": [{"requested": date(2026, 3, 2)}, {"requested": date(2026, 3, 9)}],
        },
        {
            "received": RECEIVED,
            "corrections": [
                {"requested": date(2026, 3, 2), "received": date(2026, 3, 10)},
                {"requested": date(2026, 3, 5), "received": date(2026, 3, 12)},
            ],
        },
    ],
)
def test_inconsistent_dates_rejected(dates):
    with pytest.raises(ValidationError):
        ApplicationDates(**dates)


def test_policy_validated():
    with pytest.raises(ValidationError):
        ClockPolicy(decision_days=0)
    with pytest.raises(ValidationError):
        ClockPolicy(decision_unit="weeks")


# -- properties ----------------------------------------------------------------------

_accepted = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 10, 31))


@settings(max_examples=60, deadline=None)
@given(accepted=_accepted, after=st.integers(min_value=0, max_value=120))
def test_property_days_left_matches_calendar(accepted, after):
    today = accepted + timedelta(days=after)
    s = clock_state(ApplicationDates(received=accepted, accepted=accepted), today, CAL)
    assert s.decision_due == CAL.add_working_days(accepted, 45)
    assert s.days_left == CAL.working_days_between(today, s.decision_due)
    assert s.overdue == (today > s.decision_due)


@settings(max_examples=60, deadline=None)
@given(
    accepted=_accepted,
    start=st.integers(min_value=0, max_value=60),
    length=st.integers(min_value=0, max_value=40),
)
def test_property_closed_pause_pushes_deadline_by_its_working_days(accepted, start, length):
    requested = accepted + timedelta(days=start)
    received = requested + timedelta(days=length)
    plain_due = CAL.add_working_days(accepted, 45)
    assume(requested < plain_due)
    dates = ApplicationDates(
        received=accepted,
        accepted=accepted,
        corrections=[CorrectionPeriod(requested=requested, received=received)],
    )
    s = clock_state(dates, received, CAL)
    pause = CAL.working_days_between(requested, received)
    assert s.paused_days == pause
    assert s.decision_due == CAL.add_working_days(accepted, 45 + pause)
    # While pending, the days left do not move.
    pending = ApplicationDates(
        received=accepted, accepted=accepted, corrections=[CorrectionPeriod(requested=requested)]
    )
    frozen = {
        clock_state(pending, requested + timedelta(days=k), CAL).days_left for k in (1, 10, 30)
    }
    assert frozen == {45 - CAL.working_days_between(accepted, requested)}


def test_inconsistent_dates_message_is_chinese():
    with pytest.raises(ValidationError) as err:
        ApplicationDates(received=RECEIVED, accepted=date(2026, 2, 9))
    assert "受理日期 2026-02-09 早于收件日期 2026-02-10" in str(err.value)
