"""An application's statutory dates and its clocks (受理, 补正, 决定 deadlines).

Dates are append-only events (`ApplicationDateRow`); the clock itself is
computed by `clocks.clock_state` on the working-day calendar: the
`holidays` package plus the days an admin loaded from the official
yearly notice (newest load wins).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..schema import ApplicationDateRow, ApplicationRow, CalendarOverrideRow
from ..store import Store
from .access import check_application
from .audit import record
from .calendar import CalendarOverride, WorkCalendar, parse_calendar_csv
from .clocks import ApplicationDates, ClockState, CorrectionPeriod, clock_state
from .permissions import NotAllowed, P, User, require

DateKind = Literal["received", "accepted", "correction_requested", "correction_received", "decided"]
DATE_LABEL = {"received": "收件", "accepted": "受理", "correction_requested": "通知补正",
              "correction_received": "补正材料收到", "decided": "作出决定"}


def calendar(session: Session) -> WorkCalendar:
    """The calendar in force: the package, with the newest admin-loaded day for each date on top."""
    newest: dict[date, CalendarOverrideRow] = {}
    for row in session.scalars(select(CalendarOverrideRow).order_by(CalendarOverrideRow.id)):
        newest[row.day] = row
    return WorkCalendar([CalendarOverride(date=r.day, kind=r.kind, name=r.name) for r in newest.values()])


def load_calendar(store: Store, user: User | None, csv_text: str) -> int:
    """Load the official notice's days (CSV: date,kind,name); returns how many. `user` None: the CLI."""
    actor = require(store, user, P.manage_calendar).username if user is not None else "cli"
    days = parse_calendar_csv(csv_text)  # raises with the line numbers of bad rows
    with store.session() as session:
        for d in days:
            session.add(CalendarOverrideRow(day=d.date, kind=d.kind, name=d.name, loaded_by=actor))
        record(session, actor, "calendar_load", "calendar",
               {"days": len(days), "years": sorted({d.date.year for d in days})}, "")
    return len(days)


def events(session: Session, application_id: int) -> list[ApplicationDateRow]:
    return list(session.scalars(select(ApplicationDateRow).where(ApplicationDateRow.application_id == application_id)
                                .order_by(ApplicationDateRow.id)))


def application_dates(session: Session, application_id: int) -> ApplicationDates:
    """The dates as the clock reads them; received defaults to the day the package came in."""
    app = session.get(ApplicationRow, application_id)
    received = app.created_at.date() if app is not None else date.today()
    accepted = decided = None
    corrections: list[CorrectionPeriod] = []
    for e in events(session, application_id):
        if e.kind == "received":
            received = e.on
        elif e.kind == "accepted":
            accepted = e.on
        elif e.kind == "correction_requested":
            corrections.append(CorrectionPeriod(requested=e.on))
        elif e.kind == "correction_received" and corrections and corrections[-1].received is None:
            corrections[-1] = CorrectionPeriod(requested=corrections[-1].requested, received=e.on)
        elif e.kind == "decided":
            decided = e.on
    return ApplicationDates(received=received, accepted=accepted, corrections=corrections, decided=decided)


def clock(session: Session, application_id: int, today: date | None = None,
          cal: WorkCalendar | None = None) -> ClockState:
    from .policy import policy

    return clock_state(application_dates(session, application_id), today or date.today(),
                       cal or calendar(session), policy().clocks)


def add_date(session: Session, actor: str, application_id: int, kind: DateKind, on: date, note: str = "") -> None:
    """Record one dated event inside the caller's transaction (checked for order)."""
    if kind not in DATE_LABEL:
        raise ValueError(f"未知的日期类型：{kind}")
    current = application_dates(session, application_id)
    if on < current.received and kind != "received":
        raise ValueError(f"{DATE_LABEL[kind]}日期 {on} 早于收件日期 {current.received}。")
    open_correction = bool(current.corrections) and current.corrections[-1].received is None
    if kind == "correction_received" and not open_correction:
        raise ValueError("没有待补正的通知，不能登记补正材料收到。")
    if kind == "correction_requested" and open_correction:
        return  # one open notice at a time: the one-time notice lists every correction
    entry = record(session, actor, "application_date", f"application:{application_id}",
                   {"kind": kind, "on": on.isoformat()}, note)
    session.add(ApplicationDateRow(application_id=application_id, kind=kind, on=on, note=note, actor=actor,
                                   audit_seq=entry.seq))


def record_date(store: Store, user: User, application_id: int, kind: DateKind, on: date, note: str = "") -> ClockState:
    """Record received / accepted / correction dates (window staff and officers); returns the new clock."""
    user = require(store, user, P.record_dates)
    if kind == "decided":
        raise NotAllowed(user, "决定日期由案卷决定生效时自动登记。", P.record_dates)
    with store.session() as session:
        if session.get(ApplicationRow, application_id) is None:
            raise KeyError(application_id)
        # Recused officers never; window staff only for the applications they reviewed.
        check_application(session, user, application_id)
        add_date(session, user.username, application_id, kind, on, note)
    with store.session() as session:
        return clock(session, application_id)
