"""The one service layer: every action a person or a client system can take.

The web app (`ui/`), the CLI's account and audit commands and the REST API
call these functions and nothing else. Each function takes the acting
`User`, re-reads it from the store and checks the permission (and, for a
case, recusal) itself, so no caller can skip a check by not asking.
Modules are layered; a module imports only those below it (the
import-linter contract in pyproject.toml holds CI to that).
"""

from .accounts import (
    authenticate,
    create_user,
    decide_request,
    list_users,
    pending_requests,
    set_active,
)
from .assignment import assign, officers
from .audit import entries, verify
from .cases import (
    CaseSummary,
    CaseView,
    check_case_access,
    compare,
    deadlines,
    finding_identity,
    open_case,
    queue,
    report_pk,
)
from .dates import load_calendar, record_date
from .decisions import (
    DecisionConflict,
    all_decisions,
    awaiting_second_review,
    decide_case,
    decide_finding,
    second_review,
)
from .issuance import document_file, documents
from .licences import expiring, licences
from .notice import issue_notice
from .panels import close_panel, convene_panel, vote
from .permissions import NotAllowed, P, PermissionDenied, Recused, Role, User
from .records import CASE_DECISION_LABEL, FINDING_DECISION_LABEL, DecisionRecord
from .recusal import conflicts, declare_conflict, recuse, withdraw_conflict
from .reviews import record_review_run, run_review
from .rules import record_rule_change, rule_stats, run_rule_examples

__all__ = [
    "CASE_DECISION_LABEL", "FINDING_DECISION_LABEL", "CaseSummary", "CaseView", "DecisionConflict",
    "DecisionRecord", "NotAllowed", "P", "PermissionDenied", "Recused", "Role", "User", "all_decisions",
    "assign", "authenticate", "awaiting_second_review", "check_case_access", "close_panel", "compare",
    "conflicts", "convene_panel", "create_user", "deadlines", "decide_case", "decide_finding", "decide_request",
    "declare_conflict", "document_file", "documents", "entries", "expiring", "finding_identity", "issue_notice",
    "licences", "list_users", "load_calendar", "officers", "open_case", "pending_requests", "queue", "record_date",
    "record_review_run", "record_rule_change", "recuse", "report_pk", "rule_stats", "run_review",
    "run_rule_examples", "second_review", "set_active", "verify", "vote", "withdraw_conflict",
]
