"""What changed between two reports of one application: fixed, new and remaining findings.

Pure functions over reports, used by the case page (shencha.service.cases)
and by the re-review of stored cases (shencha.executor), which sits below
the service layer.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel

from checks.model import Finding

from .report import Report


class ChangedFinding(BaseModel):
    """The same rule on the same place in both versions, but saying something else (a value changed)."""

    old: Finding
    new: Finding


class Comparison(BaseModel):
    previous_report_id: int
    previous_version: int
    fixed: list[Finding]
    new: list[Finding]
    remaining: list[Finding]
    changed: list[ChangedFinding] = []


def finding_identity(finding: Finding) -> str:
    """The same problem across review runs: the rule and the evidence values, not boxes or ids."""
    values = sorted((e.text or "").strip() for e in finding.evidence)
    # Without evidence (a missing document) only the message says which problem it is.
    blob = json.dumps([finding.rule_id, finding.category, values or [finding.message]], ensure_ascii=False)
    return hashlib.sha1(blob.encode("utf-8")).hexdigest()


def finding_place(finding: Finding) -> str:
    """Where a finding points: the rule, its category and the places on pages of its evidence (not values)."""
    places = sorted((e.document, e.page or 0, list(e.bbox) if e.bbox else []) for e in finding.evidence
                    if e.page or e.bbox)
    return json.dumps([finding.rule_id, finding.category, places], ensure_ascii=False)


def compare(old: Report, new: Report, old_report_id: int = 0, old_version: int = 0) -> Comparison:
    """Fixed (only in the old report), new (only in the new one), remaining (in both), by identity;
    a fixed and a new finding of one rule on the same place are one changed finding."""
    old_ids = {finding_identity(f): f for f in old.findings}
    new_ids = {finding_identity(f): f for f in new.findings}
    fixed = [f for k, f in old_ids.items() if k not in new_ids]
    added = [f for k, f in new_ids.items() if k not in old_ids]
    changed: list[ChangedFinding] = []
    if fixed and added:
        by_place: dict[str, list[Finding]] = {}
        for f in added:
            by_place.setdefault(finding_place(f), []).append(f)
        still_fixed = []
        for f in fixed:
            twins = by_place.get(finding_place(f)) if any(e.page or e.bbox for e in f.evidence) else None
            if twins:
                changed.append(ChangedFinding(old=f, new=twins.pop(0)))
            else:
                still_fixed.append(f)
        paired = {id(c.new) for c in changed}
        fixed, added = still_fixed, [f for f in added if id(f) not in paired]
    return Comparison(
        previous_report_id=old_report_id, previous_version=old_version,
        fixed=fixed, new=added, remaining=[f for k, f in new_ids.items() if k in old_ids], changed=changed,
    )
