"""The licence register: what was granted, until when, and which licence a renewal continues.

A grant that takes effect creates the licence (3 years by default,
安全生产许可证条例 第九条); the supervisor page lists those expiring within
three months, when renewals are due. A new grant to a company that
already holds a licence links to it as its predecessor.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry_sync.normalize import normalize_uscc

from ..schema import ApplicationRow, LicenceRow
from ..store import Store
from .audit import record
from .permissions import P, User, require
from .policy import policy

INDUSTRY_CODE = {"construction": "JZ", "hazardous_chemicals": "WH", "non_coal_mine": "FM",
                 "fireworks": "YH", "metallurgy": "YJ"}


class Licence(BaseModel):
    id: int
    number: str
    application_id: int
    company_name: str
    uscc: str | None
    industry: str | None
    scope: str
    valid_from: date
    valid_until: date
    previous_number: str | None = None
    days_left: int = 0


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def grant(session: Session, actor: str, application_id: int, on: date, scope: str = "") -> LicenceRow:
    """Create the licence of a grant that took effect (inside the caller's transaction)."""
    existing = session.scalar(select(LicenceRow).where(LicenceRow.application_id == application_id))
    if existing is not None:
        return existing
    app = session.get(ApplicationRow, application_id)
    rules = policy()
    seq = (session.scalar(select(func.count()).select_from(LicenceRow).where(
        func.extract("year", LicenceRow.valid_from) == on.year)) or 0) + 1
    number = rules.numbers.licence.format(province=rules.numbers.province, year=on.year, seq=seq,
                                          code=INDUSTRY_CODE.get(app.industry or "", "AQ"))
    uscc = normalize_uscc(app.uscc) if app.uscc else None
    previous = session.scalars(select(LicenceRow).where(LicenceRow.uscc == uscc).order_by(
        LicenceRow.valid_until.desc()).limit(1)).first() if uscc else None
    valid_until = _add_years(on, rules.licence_years) - timedelta(days=1)
    entry = record(session, actor, "licence_grant", f"application:{application_id}",
                   {"number": number, "valid_from": on.isoformat(), "valid_until": valid_until.isoformat(),
                    "previous": previous.number if previous else None}, "")
    row = LicenceRow(number=number, application_id=application_id, company_name=app.company_name or app.name,
                     uscc=uscc, industry=app.industry, scope=scope or _default_scope(app.industry),
                     valid_from=on, valid_until=valid_until, previous_id=previous.id if previous else None,
                     audit_seq=entry.seq)
    session.add(row)
    session.flush()
    return row


def _default_scope(industry: str | None) -> str:
    return {"construction": "建筑施工", "hazardous_chemicals": "危险化学品生产",
            "non_coal_mine": "非煤矿矿山开采", "fireworks": "烟花爆竹生产"}.get(industry or "", "安全生产")


def licences(store: Store, user: User, expiring_within_days: int | None = None,
             today: date | None = None) -> list[Licence]:
    """The register (newest first); with `expiring_within_days`, only those expiring by then."""
    require(store, user, P.view_licences)
    today = today or date.today()
    with store.session() as session:
        rows = list(session.scalars(select(LicenceRow).order_by(LicenceRow.valid_until)))
        numbers = {r.id: r.number for r in rows}
    out = [Licence(id=r.id, number=r.number, application_id=r.application_id, company_name=r.company_name,
                   uscc=r.uscc, industry=r.industry, scope=r.scope, valid_from=r.valid_from,
                   valid_until=r.valid_until, previous_number=numbers.get(r.previous_id),
                   days_left=(r.valid_until - today).days) for r in rows]
    if expiring_within_days is not None:
        out = [lic for lic in out if 0 <= lic.days_left <= expiring_within_days]
    return out


def expiring(store: Store, user: User, today: date | None = None) -> list[Licence]:
    """Licences expiring within the policy's window (3 months): renewals are due."""
    return licences(store, user, policy().expiring_within_days, today)
