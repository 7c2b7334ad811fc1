"""Whether a case is high risk (its decision then goes to a collective panel).

The conditions are the policy's (`workflow.yaml` high_risk), read from the
report alone, so the same report is high risk for every officer and on
every page.
"""

from __future__ import annotations

from ..report import Report
from .policy import HighRiskPolicy

PRINCIPAL_ROLES = {"principal", "legal_representative"}


def high_risk_reasons(report: Report, rules: HighRiskPolicy) -> list[str]:
    """Why the case is high risk (Chinese, one line per condition met); empty when it is not."""
    fails = [f for f in report.findings if f.verdict == "fail"]
    reasons: list[str] = []
    if rules.revoked_certificate and any(f.category == "registry.revoked" for f in fails):
        reasons.append("存在被撤销或暂扣的证书")
    if rules.principal_not_found:
        principal_values = {str(fld.value) for doc in report.documents for fld in doc.fields
                            if fld.role in PRINCIPAL_ROLES}
        for f in fails:
            if f.category == "registry.not_found" and any(e.text in principal_values for e in f.evidence if e.text):
                reasons.append("主要负责人的证书在登记库中查无记录")
                break
    n_high = sum(f.severity == "high" for f in fails)
    if rules.high_fails_at_least and n_high >= rules.high_fails_at_least:
        reasons.append(f"高严重程度的不符合项达 {n_high} 项（阈值 {rules.high_fails_at_least}）")
    return reasons
