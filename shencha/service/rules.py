"""The rule author's page: how rules fire and are decided, their examples, change requests."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import func, select

from ..schema import FindingDecisionRow, FindingRow, ReportRow
from ..store import Store
from .audit import append
from .permissions import P, User, mask_ids, require
from .records import load_records


class RuleStat(BaseModel):
    rule_id: str
    fired: int = 0
    decided: int = 0
    dismissed: int = 0
    confirmed: int = 0

    @property
    def dismiss_rate(self) -> float | None:
        return self.dismissed / self.decided if self.decided else None


def rule_stats(store: Store, user: User) -> dict[str, RuleStat]:
    """How often each rule fired (in the latest report of each case) and how officers decided it."""
    user = require(store, user, P.view_rules)
    stats: dict[str, RuleStat] = {}
    with store.session() as session:
        latest = (select(ReportRow.application_id, func.max(ReportRow.version).label("v"))
                  .group_by(ReportRow.application_id).subquery())
        fired = session.execute(
            select(FindingRow.rule_id, func.count()).join(ReportRow, FindingRow.report_id == ReportRow.id)
            .join(latest, (ReportRow.application_id == latest.c.application_id) & (ReportRow.version == latest.c.v))
            .group_by(FindingRow.rule_id)).all()
        for rule_id, n in fired:
            stats.setdefault(rule_id, RuleStat(rule_id=rule_id)).fired = n
        rule_of = dict(session.execute(select(FindingDecisionRow.id, FindingDecisionRow.rule_id)).all())
        # The effective decision of each finding (pending and returned steps do not count yet).
        newest: dict = {}
        for d in load_records(session, list(session.scalars(select(FindingDecisionRow)
                                                            .order_by(FindingDecisionRow.version)))):
            if d.state == "effective":
                newest[(d.report_id, d.finding_id)] = (d, rule_of[d.id])
        for d, rule_id in newest.values():
            s = stats.setdefault(rule_id, RuleStat(rule_id=rule_id))
            s.decided += 1
            s.dismissed += d.decision == "dismiss"
            s.confirmed += d.decision in ("confirm", "correction")
    return stats


class ExampleOutcome(BaseModel):
    description: str
    expected: str
    got: str
    ok: bool
    detail: str


def run_rule_examples(store: Store, user: User, rule_id: str) -> list[ExampleOutcome]:
    """Run one rule's examples (checks.testing), for the rule author page."""
    from checks.catalogue import load_registry
    from checks.testing import run_examples

    user = require(store, user, P.view_rules)
    spec = load_registry().get(rule_id)
    if spec is None:
        raise KeyError(rule_id)
    results = [ExampleOutcome(description=r.example.description, expected=r.example.outcome, got=r.got, ok=r.ok,
                              detail=r.detail) for r in run_examples(spec)]
    append(store, user.username, "run_rule_examples", f"rule:{rule_id}",
           {"examples": len(results), "failed": sum(not r.ok for r in results)}, "")
    return results


def record_rule_change(store: Store, user: User, rule_id: str, change: str, reason: str) -> None:
    """A rule author's change request or note (the change itself is made in the rule pack, in review)."""
    user = require(store, user, P.edit_rules)
    # Free text, masked on the way in: the trail is read by roles without view_personal_data.
    append(store, user.username, "rule_change", f"rule:{rule_id}", {"change": mask_ids(change or "")},
           mask_ids(_reason(reason)))


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("请填写理由。")
    return reason
