"""Typed registry records: the contract's canonical columns (contract.md).

Shared by the sync (which validates rows into these) and by the checks
(which read them through ``checks``' lookup interface).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class CertType(StrEnum):
    SPECIAL_OPERATION = "special_operation"
    CONSTRUCTION_SPECIAL_OPERATION = "construction_special_operation"
    SAFETY_ASSESSMENT_A = "safety_assessment_a"
    SAFETY_ASSESSMENT_B = "safety_assessment_b"
    SAFETY_ASSESSMENT_C = "safety_assessment_c"
    PRINCIPAL_ASSESSMENT = "principal_assessment"
    REGISTERED_SAFETY_ENGINEER = "registered_safety_engineer"


class RecordStatus(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUSPENDED = "suspended"


class CertificateRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cert_no: str
    cert_type: CertType
    holder_name: str
    holder_id_no: str | None = None
    category: str | None = None
    employer_uscc: str | None = None
    employer_name: str | None = None
    issued_on: date | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    status: RecordStatus = RecordStatus.VALID
    issuing_authority: str | None = None


class CompanyRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uscc: str
    name: str
    legal_representative: str | None = None
    address: str | None = None
    industry: str | None = None
    licence_no: str | None = None
    licence_valid_from: date | None = None
    licence_valid_until: date | None = None
    licence_status: RecordStatus | None = None


class Snapshot(BaseModel):
    """Which registry data a lookup answered from."""

    model_config = ConfigDict(extra="forbid")

    id: int
    kind: str  # "certificates" | "companies"
    as_of: date
    source: str
    created_at: datetime | None = None
    rows: int | None = None  # records in force in this snapshot

    def label(self) -> str:
        """How a citation names this snapshot, e.g. ``截至 2026-11-01 的快照 #3``."""
        return f"截至 {self.as_of.isoformat()} 的快照 #{self.id}"
