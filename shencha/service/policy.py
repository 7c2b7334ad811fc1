"""The authority's workflow settings: `workflow.yaml` beside this module, or SHENCHA_WORKFLOW.

Data, not code: which steps need a second officer, what makes a case high
risk, the panel size, the statutory clock lengths, the number patterns
and the signing key. Loaded once per process and validated, so a typo in
the file is an error at start-up, not a silent default.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from .clocks import ClockPolicy

ENV = "SHENCHA_WORKFLOW"
DEFAULT_FILE = Path(__file__).with_name("workflow.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SecondReviewPolicy(_Strict):
    dismiss_fail: bool = True
    grant_with_fail: bool = True
    high_risk_any: bool = True
    correction_removes_fail: bool = True


class HighRiskPolicy(_Strict):
    revoked_certificate: bool = True
    principal_not_found: bool = True
    high_fails_at_least: int = Field(3, ge=0)


class PanelPolicy(_Strict):
    min_members: int = Field(3, ge=3)


class NumberPolicy(_Strict):
    decision: str = "安许决字〔{year}〕{seq:04d}号"
    licence: str = "（{province}）{code}安许证字〔{year}〕{seq:06d}"
    province: str = "某"


class SigningPolicy(_Strict):
    pkcs12: str = ""
    passphrase_env: str = "SHENCHA_SIGNING_PASSPHRASE"


class WorkflowPolicy(_Strict):
    authority: str = "某省应急管理厅"
    second_review: SecondReviewPolicy = SecondReviewPolicy()
    high_risk: HighRiskPolicy = HighRiskPolicy()
    panel: PanelPolicy = PanelPolicy()
    clocks: ClockPolicy = ClockPolicy()
    numbers: NumberPolicy = NumberPolicy()
    licence_years: int = Field(3, ge=1)
    expiring_within_days: int = Field(92, ge=1)
    signing: SigningPolicy = SigningPolicy()


def load_policy(path: Path | None = None) -> WorkflowPolicy:
    path = path or Path(os.environ.get(ENV) or DEFAULT_FILE)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return WorkflowPolicy.model_validate(data)


@lru_cache(maxsize=1)
def _cached(path: str) -> WorkflowPolicy:
    return load_policy(Path(path))


def policy() -> WorkflowPolicy:
    """The policy in force (re-read when SHENCHA_WORKFLOW points elsewhere)."""
    return _cached(os.environ.get(ENV) or str(DEFAULT_FILE))
