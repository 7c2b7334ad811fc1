"""Issuing the written decision (准予 / 不予 行政许可决定书) when a case decision takes effect.

The number comes from the policy's pattern and a per-year counter; the
unique key on the number means a number is never given out twice, even
by two officers at once (the loser's transaction retries). The .docx and
the PDF are stored as blobs; the PDF is signed (PAdES, pyHanko) with the
key the policy names, or issued unsigned when none is configured, which
the case page says.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..labels import CATEGORY, label
from ..report import Report
from ..schema import (
    ApplicationRow,
    BlobRow,
    CaseDecisionRow,
    DecisionDocumentRow,
    LicenceRow,
    ReportRow,
)
from ..store import Store
from .audit import record
from .cases import check_application_access
from .dates import application_dates
from .documents import DecisionDocument, DecisionFinding, LicenceDetails, render_docx, render_pdf
from .permissions import P, User, require
from .policy import policy
from .signing import SigningKey, sign_pdf


class IssuedDocument(BaseModel):
    id: int
    number: str
    application_id: int
    kind: str
    signed: bool
    docx_sha256: str
    pdf_sha256: str


def _key() -> SigningKey | None:
    cfg = policy().signing
    if not cfg.pkcs12:
        return None
    return SigningKey(p12_path=Path(cfg.pkcs12).expanduser(), passphrase_env=cfg.passphrase_env or None)


def _put_blob(session: Session, data: bytes, media_type: str) -> str:
    sha = hashlib.sha256(data).hexdigest()
    if session.get(BlobRow, sha) is None:
        session.add(BlobRow(sha256=sha, size=len(data), media_type=media_type, data=data))
    return sha


def issue(session: Session, actor: str, case_row: CaseDecisionRow, decided_on: date, reviewer: str | None) -> DecisionDocumentRow:
    """Number, render, sign and store the decision document of an effective grant or refusal."""
    existing = session.scalar(select(DecisionDocumentRow).where(DecisionDocumentRow.case_decision_id == case_row.id))
    if existing is not None:
        return existing
    rules = policy()
    app = session.get(ApplicationRow, case_row.application_id)
    report = Report.model_validate_json(session.get(ReportRow, case_row.report_id).report_json)
    kind = "grant" if case_row.decision == "approve" else "refuse"
    year = decided_on.year
    seq = (session.scalar(select(func.max(DecisionDocumentRow.seq)).where(DecisionDocumentRow.year == year)) or 0) + 1
    number = rules.numbers.decision.format(year=year, seq=seq)
    dates = application_dates(session, app.id)
    licence = None
    if kind == "grant":
        lic = session.scalar(select(LicenceRow).where(LicenceRow.application_id == app.id))
        if lic is not None:
            licence = LicenceDetails(number=lic.number, scope=lic.scope, valid_from=lic.valid_from,
                                     valid_until=lic.valid_until)
    fails = [f for f in report.findings if f.verdict == "fail"]
    doc = DecisionDocument(
        number=number, authority=rules.authority, kind=kind, company_name=app.company_name or app.name,
        uscc=app.uscc or "（未载明）", application_no=report.application.application_no or app.key,
        received_on=dates.received, accepted_on=dates.accepted or dates.received, decided_on=decided_on,
        licence=licence,
        findings=[DecisionFinding(category=label(CATEGORY, f.category), message=f.message,
                                  evidence="；".join(e.text for e in f.evidence if e.text)[:200], source=f.citation)
                  for f in fails] if kind == "refuse" else [],
        reasons=[case_row.reason] if kind == "refuse" else [],
        case_officer=case_row.actor, reviewer=reviewer)
    docx = render_docx(doc)
    pdf = render_pdf(doc)
    key = _key()
    signed = key is not None
    if key is not None:
        # A configured key that cannot be used stops the decision (SigningError, in Chinese):
        # a document the authority meant to sign is never issued unsigned behind its back.
        pdf = sign_pdf(pdf, key, location=rules.authority)
    docx_sha, pdf_sha = _put_blob(session, docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"), \
        _put_blob(session, pdf, "application/pdf")
    entry = record(session, actor, "issue_decision", f"application:{app.id}",
                   {"number": number, "kind": kind, "pdf_sha256": pdf_sha, "docx_sha256": docx_sha, "signed": signed},
                   "")
    row = DecisionDocumentRow(number=number, year=year, seq=seq, application_id=app.id, report_id=case_row.report_id,
                              case_decision_id=case_row.id, kind=kind, docx_sha256=docx_sha, pdf_sha256=pdf_sha,
                              signed=signed, audit_seq=entry.seq)
    session.add(row)
    session.flush()
    return row


def documents(store: Store, user: User, application_id: int) -> list[IssuedDocument]:
    """The decision documents issued for an application (for users who may open the case)."""
    user = require(store, user, P.view_cases)
    with store.session() as session:
        check_application_access(session, user, application_id)
        rows = session.scalars(select(DecisionDocumentRow).where(DecisionDocumentRow.application_id == application_id)
                               .order_by(DecisionDocumentRow.id))
        return [IssuedDocument(id=r.id, number=r.number, application_id=r.application_id, kind=r.kind,
                               signed=r.signed, docx_sha256=r.docx_sha256, pdf_sha256=r.pdf_sha256) for r in rows]


def document_file(store: Store, user: User, document_id: int, fmt: str) -> tuple[str, bytes]:
    """(file name, bytes) of an issued document as .docx or .pdf."""
    user = require(store, user, P.view_cases)
    if fmt not in ("docx", "pdf"):
        raise ValueError(f"未知的格式：{fmt}")
    with store.session() as session:
        row = session.get(DecisionDocumentRow, document_id)
        if row is None:
            raise KeyError(document_id)
        check_application_access(session, user, row.application_id)
        sha = row.pdf_sha256 if fmt == "pdf" else row.docx_sha256
        data = session.scalar(select(BlobRow.data).where(BlobRow.sha256 == sha))
        return f"{row.number}.{fmt}", data
