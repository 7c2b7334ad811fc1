"""The review report (contract.md "The review report"), as pydantic models.

The contract's keys are kept exactly; shencha's additions (report id and
version, page decisions, warnings, rule errors, OCR versions) are extra
keys, which the contract allows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField

from checks.model import Finding
from extractor.model import Coverage, Document, DocumentError, Field, OcrRun, Source


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportApplication(_Model):
    id: str = ""
    application_no: str | None = PydField(
        None, description="the application number of the submission (platform, window, or a new one)")
    path: str
    company_name: str | None = None
    uscc: str | None = None
    industry: str | None = None
    application_type: str | None = None
    as_of: date
    inferred: list[str] = PydField(default_factory=list, description="keys shencha inferred from the documents")
    notes: list[str] = PydField(default_factory=list, description="what was inferred from where (Chinese)")


class PageSummary(_Model):
    number: int
    source: Source
    decision: str
    width: float
    height: float
    unit: str
    lines: int
    ocr: OcrRun | None = None


class ReportDocument(_Model):
    id: str
    path: str
    sha256: str
    doc_type: str
    doc_type_confidence: float = 0.0
    covers: list[Coverage] = PydField(default_factory=list, description="checklist items covered besides doc_type")
    pages: int
    status: Literal["ok", "error"]
    error: DocumentError | None = None
    fields: list[Field] = PydField(default_factory=list)
    kind: str = ""
    size: int = 0
    warnings: list[DocumentError] = PydField(default_factory=list)
    page_details: list[PageSummary] = PydField(default_factory=list)

    @classmethod
    def from_document(cls, document: Document) -> ReportDocument:
        return cls(
            id=document.id,
            path=document.path,
            sha256=document.sha256,
            doc_type=document.doc_type,
            doc_type_confidence=document.doc_type_confidence,
            covers=document.covers,
            pages=len(document.pages),
            status=document.status,
            error=document.error,
            fields=document.fields,
            kind=document.kind.value,
            size=document.size,
            warnings=document.warnings,
            page_details=[
                PageSummary(
                    number=p.number, source=p.source, decision=p.decision, width=p.width,
                    height=p.height, unit=p.unit, lines=len(p.lines), ocr=p.ocr,
                )
                for p in document.pages
            ],
        )


class ReportError(_Model):
    path: str
    code: str
    message: str
    message_en: str = ""


class RuleErrorEntry(_Model):
    rule_id: str
    message: str


class Versions(_Model):
    shencha: str
    rules: str = ""
    registry_as_of: str | None = None
    ocr: dict[str, str] = PydField(default_factory=dict, description="engine and model versions used")


class Report(_Model):
    application: ReportApplication
    documents: list[ReportDocument]
    findings: list[Finding] = PydField(default_factory=list)
    errors: list[ReportError] = PydField(default_factory=list)
    versions: Versions
    report_id: str = ""
    version: int = 0
    created_at: datetime | None = None
    rule_errors: list[RuleErrorEntry] = PydField(default_factory=list)
