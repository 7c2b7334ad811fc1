"""The finding: what a check reports (contract.md FINDING)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field as PydField

from extractor.model import Evidence

Severity = Literal["high", "medium", "low"]
Verdict = Literal["fail", "uncertain"]


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    rule_id: str
    category: str
    severity: Severity
    verdict: Verdict
    message: str = PydField(description="Chinese explanation for the reviewer")
    citation: str = PydField(description="standard, edition, clause/table or registry record")
    expected: str | None = None
    actual: str | None = None
    suggestion: str = PydField("", description="the correction the applicant must make (Chinese)")
    evidence: list[Evidence] = PydField(default_factory=list)
    reason: str | None = PydField(None, description="for `uncertain`: why shencha cannot decide")
