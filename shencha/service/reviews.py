"""Review runs started by a person (the pre-review window, the case page's re-review)."""

from __future__ import annotations

from pathlib import Path

from ..report import Report
from ..review import ReviewOptions, review_path
from ..store import Store
from .audit import append
from .permissions import P, User, require


def run_review(store: Store, user: User, path: Path, options=None, application_id: str | None = None,
               source_name: str | None = None) -> Report:
    """Review a package on the spot (the pre-review window) and record that it ran.

    `application_id` is the application the submission belongs to (a new
    one when None); `source_name` is what the report calls the package.
    """
    user = require(store, user, P.run_review)
    report = review_path(path, store, options or ReviewOptions(), application_id=application_id,
                         source_name=source_name)
    record_review_run(store, user, report)
    return report


def record_review_run(store: Store, user: User, report: Report) -> None:
    """The audit entry of a review run; it is also what lets window staff open that case."""
    append(store, user.username, "run_review", report.report_id,
           {"findings": len(report.findings), "documents": len(report.documents)}, "")
