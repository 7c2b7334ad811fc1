"""Who may open a case: recusal first, then the window's own-cases rule.

One function every service asks before it shows or changes anything of a
case, so the rule is the same on every page, API route and command.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..schema import AuditRow, ReportRow
from .permissions import P, PermissionDenied, User
from .recusal import ensure_not_recused


def check_access(session: Session, user: User, row: ReportRow) -> None:
    """Raise unless `user` may open this report: recused officers never; window staff
    only the cases whose review they ran themselves (or whose version their correction
    produced); the queue's roles any."""
    ensure_not_recused(session, user, row.application_id)
    if user.can(P.view_all_cases):
        return
    key = f"app-{row.application_id}-v{row.version}"
    # A version a correction of theirs produced (service.corrections) is theirs as well.
    ran = session.scalar(select(AuditRow.seq).where(AuditRow.action.in_(("run_review", "correction_rerun")),
                                                     AuditRow.actor == user.username,
                                                     AuditRow.target == key).limit(1))
    if ran is None:
        raise PermissionDenied(user, P.view_all_cases)


def check_application(session: Session, user: User, application_id: int) -> ReportRow:
    """The latest report of an application, if `user` may open it (KeyError when none)."""
    row = session.scalars(select(ReportRow).where(ReportRow.application_id == application_id)
                          .order_by(ReportRow.version.desc()).limit(1)).first()
    if row is None:
        raise KeyError(application_id)
    check_access(session, user, row)
    return row
