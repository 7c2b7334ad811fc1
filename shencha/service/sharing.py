"""Sharing review results with other departments, desensitised (跨部门数据共享, 共享时脱敏).

The catalogue (`sharing.yaml` beside this module, or `SHENCHA_SHARING`) is
data, not code: per consuming department (应急, 消防, 市场监管) which
fields of which record types it may receive and how each is
desensitised. This module builds the full records from the store and
then keeps, for each record, exactly the catalogue's fields, each
through its transform; nothing else leaves. A client reads an entry
with the `share:<entry>` scope (`GET /api/v1/shared/{entry}`); an
operator exports it offline (`shencha share export`, actor None).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from registry_sync.normalize import mask_ids_in_text

from ..report import Report
from ..schema import ApplicationRow, CaseDecisionRow, FindingDecisionRow, LicenceRow, ReportRow
from ..store import Store
from .audit import append
from .clients import Client, require_scope
from .dates import application_dates
from .permissions import User
from .records import current, load_records

ENV = "SHENCHA_SHARING"
DEFAULT_FILE = Path(__file__).with_name("sharing.yaml")
RecordType = Literal["applications", "findings", "persons", "licences"]

SOURCE_FIELDS: dict[str, tuple[str, ...]] = {
    "applications": ("application_id", "application_no", "company_name", "uscc", "industry", "state",
                     "legal_representative", "legal_representative_id", "received_on", "reviewed_on",
                     "decided_on", "report_version", "n_documents", "n_findings", "n_fail", "n_high",
                     "n_special_operators", "licence_no", "licence_valid_until"),
    "findings": ("application_id", "finding_id", "rule_id", "category", "severity", "verdict", "citation",
                 "message", "decision"),
    "persons": ("application_id", "name", "role", "resident_id", "cert_no", "cert_type", "cert_valid_until",
                "document"),
    "licences": ("licence_no", "application_id", "company_name", "uscc", "industry", "scope", "valid_from",
                 "valid_until"),
}
ENVELOPE = ("entry", "department", "catalogue_version", "since", "generated_at", "records")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ratio(_Strict):
    ratio_of: str


Transform = Literal["keep", "mask_id", "surname", "month"] | Ratio


class RecordRule(_Strict):
    fields: dict[str, Transform]
    where: dict[str, list[str]] = Field(default_factory=dict)


class Entry(_Strict):
    department: str
    description: str = ""
    records: dict[RecordType, RecordRule]


class Catalogue(_Strict):
    version: int
    entries: dict[str, Entry]

    def entry(self, name: str) -> Entry:
        if name not in self.entries:
            raise KeyError(name)
        return self.entries[name]


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and validate the catalogue: an unknown record type or field is an error, never a silent leak."""
    path = path or Path(os.environ.get(ENV) or DEFAULT_FILE)
    cat = Catalogue.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    for name, entry in cat.entries.items():
        for kind, rule in entry.records.items():
            known = SOURCE_FIELDS[kind]
            for field, transform in rule.fields.items():
                if field not in known:
                    raise ValueError(f"共享目录 {name}.{kind}：未知字段 {field}")
                if isinstance(transform, Ratio) and transform.ratio_of not in known:
                    raise ValueError(f"共享目录 {name}.{kind}.{field}：ratio_of 未知字段 {transform.ratio_of}")
            for field in rule.where:
                if field not in known:
                    raise ValueError(f"共享目录 {name}.{kind}：where 未知字段 {field}")
    return cat


@lru_cache(maxsize=4)
def _cached(path: str) -> Catalogue:
    return load_catalogue(Path(path))


def catalogue() -> Catalogue:
    return _cached(os.environ.get(ENV) or str(DEFAULT_FILE))


# -- desensitising -----------------------------------------------------------------------------

COMPOUND_SURNAMES = frozenset(
    ["欧阳", "太史", "端木", "上官", "司马", "东方", "独孤", "南宫", "万俟", "闻人", "夏侯", "诸葛", "尉迟", "公羊", "赫连", "澹台", "皇甫", "宗政", "濮阳", "公冶", "太叔", "申屠", "公孙", "慕容", "仲孙", "钟离", "长孙", "宇文", "司徒", "鲜于", "司空", "闾丘", "子车", "亓官", "司寇", "巫马", "公西", "颛孙", "壤驷", "公良", "漆雕", "乐正", "宰父", "谷梁", "拓跋", "夹谷", "轩辕", "令狐", "段干", "百里", "呼延", "东郭", "南门", "羊舌", "微生", "梁丘", "左丘", "西门", "第五", "即墨", "达奚"])


def surname(name: Any) -> str | None:
    text = "".join(str(name or "").split())
    if not text:
        return None
    family = text[:2] if len(text) >= 3 and text[:2] in COMPOUND_SURNAMES else text[:1]
    return family + "某"


def month(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime | date):
        return f"{value.year:04d}-{value.month:02d}"
    text = str(value)
    return text[:7] if len(text) >= 7 and text[4] == "-" else None


def _ratio(value: Any, base: Any) -> float | None:
    try:
        v, b = float(value), float(base)
    except (TypeError, ValueError):
        return None
    return round(v / b, 3) if b else None


def desensitise(record: dict[str, Any], rule: RecordRule) -> dict[str, Any]:
    """Exactly the rule's fields, each transformed; the record's other fields are dropped."""
    out: dict[str, Any] = {}
    for field, transform in rule.fields.items():
        value = record.get(field)
        if isinstance(transform, Ratio):
            out[field] = _ratio(value, record.get(transform.ratio_of))
        elif transform == "mask_id":
            out[field] = mask_ids_in_text(str(value)) if value is not None else None
        elif transform == "surname":
            out[field] = surname(value)
        elif transform == "month":
            out[field] = month(value)
        else:
            out[field] = value
    return out


def _selected(record: dict[str, Any], rule: RecordRule) -> bool:
    return all(str(record.get(field)) in values for field, values in rule.where.items())


# -- the full records ----------------------------------------------------------------------------

def parse_since(text: str | None) -> datetime | None:
    """An ISO date or date-time; a date means its midnight (UTC)."""
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), UTC)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"since 应为 YYYY-MM-DD 或 ISO 日期时间：{text[:40]}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _persons(app_id: str, report: Report) -> list[dict]:
    """People named in the package: a name with the ID, certificate and validity of its record (row)."""
    out: dict[tuple, dict] = {}
    for doc in report.documents:
        groups: dict[str, list] = {}
        for f in doc.fields:
            rec = (f.attributes or {}).get("record")
            if rec:
                groups.setdefault(str(rec), []).append(f)
        for fields in groups.values():
            names = [f for f in fields if f.type == "person_name"]
            if not names:
                continue
            name = names[0]
            rid = next((f for f in fields if f.type == "resident_id"), None)
            cert = next((f for f in fields if f.type == "cert_no"), None)
            until = next((f for f in fields if f.type == "date" and f.role == "valid_until"), None)
            key = (str(name.normalized or name.value), str(rid.normalized or rid.value) if rid else None)
            if key in out:
                continue
            out[key] = {
                "application_id": app_id, "name": key[0], "role": name.role,
                "resident_id": key[1], "cert_no": str(cert.normalized or cert.value) if cert else None,
                "cert_type": (cert.attributes or {}).get("cert_type") if cert else None,
                "cert_valid_until": str(until.normalized or until.value) if until else None,
                "document": doc.path,
            }
    return list(out.values())


def full_records(store: Store, since: datetime | None) -> dict[str, list[dict]]:
    """Every record type in full (never sent as such: `shared` keeps the catalogue's fields)."""
    out: dict[str, list[dict]] = {k: [] for k in SOURCE_FIELDS}
    with store.session() as session:
        latest = (select(ReportRow.application_id, func.max(ReportRow.version).label("v"))
                  .group_by(ReportRow.application_id).subquery())
        rows = session.execute(
            select(ReportRow, ApplicationRow)
            .join(latest, (ReportRow.application_id == latest.c.application_id) & (ReportRow.version == latest.c.v))
            .join(ApplicationRow, ApplicationRow.id == ReportRow.application_id).order_by(ApplicationRow.id)).all()
        licences = {r.application_id: r for r in session.scalars(select(LicenceRow))}
        for row, app in rows:
            case_recs = load_records(session, list(session.scalars(
                select(CaseDecisionRow).where(CaseDecisionRow.report_id == row.id))))
            decided = current(case_recs)
            changed = max(t for t in (_aware(app.updated_at), _aware(row.created_at),
                                      *(_aware(r.created_at) for r in case_recs)) if t is not None)
            if since is not None and changed < since:
                continue
            report = Report.model_validate_json(row.report_json)
            app_id = f"app-{app.id}"
            dates = application_dates(session, app.id)
            legal = next((f for d in report.documents for f in d.fields
                          if f.type == "person_name" and f.role == "legal_representative"), None)
            persons = _persons(app_id, report)
            legal_id = next((p["resident_id"] for p in persons if legal is not None
                             and p["name"] == str(legal.normalized or legal.value) and p["resident_id"]), None)
            licence = licences.get(app.id)
            state = {"approve": "approved", "reject": "rejected", "correction": "correction_requested"}.get(
                decided.decision, decided.decision) if decided else "under_review"
            out["applications"].append({
                "application_id": app_id, "application_no": app.name, "company_name": app.company_name,
                "uscc": app.uscc, "industry": app.industry, "state": state,
                "legal_representative": str(legal.normalized or legal.value) if legal else None,
                "legal_representative_id": legal_id, "received_on": dates.received.isoformat(),
                "reviewed_on": row.created_at.date().isoformat(),
                "decided_on": dates.decided.isoformat() if dates.decided else None,
                "report_version": row.version, "n_documents": len(report.documents),
                "n_findings": len(report.findings), "n_fail": row.n_fail, "n_high": row.n_high,
                "n_special_operators": sum(p["role"] == "special_operator" for p in persons),
                "licence_no": licence.number if licence else None,
                "licence_valid_until": licence.valid_until.isoformat() if licence else None,
            })
            finding_recs = load_records(session, list(session.scalars(
                select(FindingDecisionRow).where(FindingDecisionRow.report_id == row.id))))
            for f in report.findings:
                now = current([r for r in finding_recs if r.finding_id == f.id])
                out["findings"].append({
                    "application_id": app_id, "finding_id": f.id, "rule_id": f.rule_id, "category": f.category,
                    "severity": f.severity, "verdict": f.verdict, "citation": f.citation, "message": f.message,
                    "decision": now.decision if now else None})
            out["persons"].extend(persons)
        for lic in session.scalars(select(LicenceRow).order_by(LicenceRow.id)):
            if since is not None and _aware(lic.created_at) < since:
                continue
            out["licences"].append({
                "licence_no": lic.number, "application_id": f"app-{lic.application_id}",
                "company_name": lic.company_name, "uscc": lic.uscc, "industry": lic.industry, "scope": lic.scope,
                "valid_from": lic.valid_from.isoformat(), "valid_until": lic.valid_until.isoformat()})
    return out


def shared(store: Store, actor: Client | User | None, entry: str, since: str | None = None,
           cat: Catalogue | None = None) -> dict[str, Any]:
    """What the department of `entry` receives: only the catalogue's fields, desensitised.

    `actor` is a client with the `share:<entry>` scope, or None for the
    operator's offline export. A person's account has no share scope.
    """
    who = "cli"
    if actor is not None:
        client = require_scope(store, actor if isinstance(actor, Client) else None, f"share:{entry}")
        who = client.actor
    cat = cat or catalogue()
    rules = cat.entry(entry)
    when = parse_since(since)
    full = full_records(store, when)
    records = {kind: [desensitise(r, rule) for r in full[kind] if _selected(r, rule)]
               for kind, rule in rules.records.items()}
    append(store, who, "share_export", f"share:{entry}",
           {"since": when.isoformat() if when else None, "records": {k: len(v) for k, v in records.items()}})
    return {"entry": entry, "department": rules.department, "catalogue_version": cat.version,
            "since": when.isoformat() if when else None,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "records": records}


def dumps(payload: dict[str, Any]) -> bytes:
    """The one serialisation of a shared payload (the API's body and the export file)."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
