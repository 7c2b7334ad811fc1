"""Officers' corrections of what extraction read, and the checks re-run on the corrected values.

Three kinds, each with a reason (数据溯源: who, when, why): a value corrected
(`old_value` → `new_value`), a value the machine missed added (`old_value`
None; document, page and optionally the box or the record it belongs to),
and a value marked as not a field (`new_value` None). A correction is a new
row and an audit entry in the same transaction; nothing is updated: the
stored extraction and every earlier report version stay as they were.

When a correction takes effect the rules run again on the application's
latest stored version with the correction applied (no OCR, no extraction:
`review.rerun_checks` over the stored fields), and the result is stored as
the next report version (`Store.save_derived`), whose corrected field keeps
the machine's value (`attributes.corrected_from`) and names the correction
(`attributes.correction_id`). The case page's comparison then lists what the
correction fixed, changed or raised (`cases.compare`, `cases.correction_notes`).

A correction after which a `fail` finding would disappear is a key step
(policy `second_review.correction_removes_fail`): like the dismissal of a
failure it waits for a second officer, who must be someone else and not
recused; until confirmed it has no effect, a return ends it. So correcting a
value cannot be used to get around a dismissal's second review. Other
corrections take effect at once. Officers may correct any case they may
open; window staff the cases they reviewed (`access.check_access`), in the
pre-review.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from checks.model import Finding
from extractor.model import Field, Source

from ..report import Report
from ..review import rerun_checks
from ..schema import (
    ApplicationRow,
    CorrectionRow,
    CorrectionRunRow,
    PageRow,
    DocumentRow,
    ReportRow,
    SecondReviewRow,
)
from ..store import IDENTITY_RULE_ID, Store
from .access import check_access
from .audit import maybe_checkpoint, record, sha256_text
from .cases import Comparison, compare, latest_report, report_pk
from .decisions import DecisionConflict
from .permissions import NotAllowed, P, PermissionDenied, User, mask_ids, require
from .policy import policy
from .records import SecondReview, StepState

CorrectionKind = Literal["correct", "add", "not_a_field"]
KIND_LABEL = {"correct": "更正识别值", "add": "补录漏识别的值", "not_a_field": "标记为非字段"}
NUMERIC_TYPES = {"fire_separation_distance", "evacuation_width", "building_height", "scaffold_height",
                 "guard_rail_height", "toe_board_height"}
FIELD_TYPE_LABEL = {
    "person_name": "姓名", "resident_id": "身份证号", "uscc": "统一社会信用代码", "company_name": "企业名称",
    "safety_licence_no": "安全生产许可证编号", "cert_no": "证书编号", "date": "日期",
    "fire_separation_distance": "防火间距", "evacuation_width": "疏散宽度", "building_height": "建筑高度",
    "scaffold_height": "脚手架高度", "guard_rail_height": "防护栏杆高度", "toe_board_height": "挡脚板高度",
}


class CorrectionConflict(DecisionConflict):
    """The case moved on (a newer version) or the corrected value is no longer there."""

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)
        self.current = None


class CorrectionRecord(BaseModel):
    id: int
    key: str  # "K<id>": the API's correction_id
    report_id: int
    report_key: str
    application_id: int
    kind: CorrectionKind
    label: str
    field_type: str
    role: str | None = None
    document: str
    doc_type: str = ""
    page: int | None = None
    bbox: list[float] | None = None
    old_value: str | None = None
    new_value: str | None = None
    machine_value: str | None = None
    reason: str
    actor: str
    created_at: datetime
    state: StepState = "effective"
    second_review_needed: str = ""
    second_review: SecondReview | None = None
    result_report_id: int | None = None  # the version it produced, once effective
    result_report_key: str | None = None
    effect: dict = {}

    @property
    def state_label(self) -> str:
        from .records import STATE_LABEL

        return STATE_LABEL[self.state]


# -- applying a correction to a report ------------------------------------------------------

def _text(value) -> str:
    return "" if value is None else "".join(str(value).split())


def _normalized(field_type: str, value: str):
    text = value.strip()
    if field_type in NUMERIC_TYPES:
        try:
            return float(text.lower().removesuffix("m").removesuffix("米"))
        except ValueError:
            return None
    return "".join(text.split())


def _matches(f: Field, field_type: str, page: int | None, old_value: str | None) -> bool:
    if f.type != field_type or (page is not None and f.page is not None and f.page != page):
        return False
    want = _text(old_value)
    return want in (_text(f.value), _text(f.normalized))


def locate(report: Report, field_type: str, document: str, page: int | None, old_value: str | None,
           field_index: int | None = None, bbox: list[float] | None = None) -> tuple[int, int] | None:
    """(document index, field index) of the field a correction names, or None."""
    for di, doc in enumerate(report.documents):
        if doc.id != document:
            continue
        if field_index is not None and 0 <= field_index < len(doc.fields) \
                and _matches(doc.fields[field_index], field_type, page, old_value):
            return di, field_index
        hits = [i for i, f in enumerate(doc.fields) if _matches(f, field_type, page, old_value)]
        if not hits:
            return None
        if bbox:
            def distance(i: int) -> float:
                b = doc.fields[i].bbox
                return sum(abs(x - y) for x, y in zip(b, bbox)) if b else float("inf")
            hits.sort(key=distance)
        return di, hits[0]
    return None


def apply(report: Report, c: CorrectionRow, key: str) -> Report:
    """A copy of `report` with the correction applied (raises CorrectionConflict when it no longer fits)."""
    out = report.model_copy(deep=True)
    if c.kind == "add":
        doc = next((d for d in out.documents if d.id == c.document), None)
        if doc is None:
            raise CorrectionConflict(f"材料 {c.document} 不在该版本报告中。")
        attrs = {**copy.deepcopy(c.attributes or {}), "correction_id": key, "added_by_correction": True}
        attrs.pop("machine_value", None)
        doc.fields.append(Field(type=c.field_type, value=c.new_value, normalized=_normalized(c.field_type, c.new_value),
                                role=c.role, document=c.document, page=c.page,
                                bbox=tuple(c.bbox) if c.bbox else None, confidence=1.0, source=Source.TEXT,
                                attributes=attrs))
        return out
    found = locate(out, c.field_type, c.document, c.page, c.old_value, c.field_index, c.bbox)
    if found is None:
        raise CorrectionConflict(f"该版本中已找不到要更正的值“{mask_ids(c.old_value or '')}”（可能已被更正）。")
    di, fi = found
    fields = out.documents[di].fields
    if c.kind == "not_a_field":
        del fields[fi]
        return out
    f = fields[fi]
    attrs = dict(f.attributes)
    attrs.setdefault("corrected_from", f.value)  # the machine's value, kept across later corrections
    attrs["correction_id"] = key
    if isinstance(attrs.get("text"), str) and c.old_value:
        attrs["text"] = attrs["text"].replace(c.old_value, c.new_value)
    fields[fi] = f.model_copy(update={"value": c.new_value, "normalized": _normalized(c.field_type, c.new_value),
                                      "role": c.role or f.role, "attributes": attrs})
    return out


def rerun(base: Report, store: Store) -> Report:
    """The rules again on `base`'s stored fields; the application-identity finding is carried over."""
    report = base.model_copy(deep=True)
    kept = [f for f in report.findings if f.rule_id == IDENTITY_RULE_ID]
    rerun_checks(report, store)
    report.findings = [*report.findings, *kept]
    report.created_at = datetime.now(UTC)
    return report


def _brief(f: Finding) -> dict:
    return {"id": f.id, "rule_id": f.rule_id, "category": f.category, "severity": f.severity,
            "verdict": f.verdict, "message": f.message}


def effect(comparison: Comparison) -> dict:
    """What a correction fixed, changed and raised, and whether a `fail` disappears with it."""
    removes_fail = any(f.verdict == "fail" for f in comparison.fixed) or any(
        c.old.verdict == "fail" and c.new.verdict != "fail" for c in comparison.changed)
    return {"fixed": [_brief(f) for f in comparison.fixed],
            "changed": [{"old": _brief(c.old), "new": _brief(c.new)} for c in comparison.changed],
            "raised": [_brief(f) for f in comparison.new],
            "removes_fail": removes_fail}


# -- records -------------------------------------------------------------------------------

def _to_record(session: Session, c: CorrectionRow) -> CorrectionRecord:
    review = session.scalar(select(SecondReviewRow).where(SecondReviewRow.step_kind == "correction",
                                                          SecondReviewRow.step_id == c.id))
    run = session.scalar(select(CorrectionRunRow).where(CorrectionRunRow.correction_id == c.id))
    state: StepState = "effective"
    if c.second_review:
        state = "pending_second_review" if review is None else (
            "effective" if review.action == "confirm" else "returned")
    result = session.get(ReportRow, run.report_id) if run is not None else None
    base = session.get(ReportRow, c.report_id)
    return CorrectionRecord(
        id=c.id, key=f"K{c.id}", report_id=c.report_id, report_key=f"app-{base.application_id}-v{base.version}",
        application_id=c.application_id, kind=c.kind, label=KIND_LABEL.get(c.kind, c.kind),
        field_type=c.field_type, role=c.role, document=c.document, doc_type=c.doc_type, page=c.page,
        bbox=list(c.bbox) if c.bbox else None, old_value=c.old_value, new_value=c.new_value,
        machine_value=(c.attributes or {}).get("machine_value", c.old_value), reason=c.reason, actor=c.actor,
        created_at=c.created_at, state=state, second_review_needed=c.second_review,
        second_review=SecondReview(action=review.action, actor=review.actor, reason=review.reason,
                                   created_at=review.created_at) if review is not None else None,
        result_report_id=result.id if result is not None else None,
        result_report_key=f"app-{result.application_id}-v{result.version}" if result is not None else None,
        effect=dict(run.effect) if run is not None else dict(c.effect or {}))


def _masked(user: User, rec: CorrectionRecord) -> CorrectionRecord:
    if user.can(P.view_personal_data):
        return rec
    review = rec.second_review.model_copy(update={"reason": mask_ids(rec.second_review.reason)}) \
        if rec.second_review else None
    return rec.model_copy(update={k: mask_ids(getattr(rec, k)) if getattr(rec, k) else getattr(rec, k)
                                  for k in ("old_value", "new_value", "machine_value", "reason")}
                          | {"second_review": review})


def _audit_detail(c: CorrectionRow) -> dict:
    """What the audit entry binds of a correction: codes and hashes, never the values in clear."""
    return {"kind": c.kind, "field_type": c.field_type, "document": c.document, "page": c.page,
            "old_sha256": sha256_text(c.old_value or ""), "new_sha256": sha256_text(c.new_value or ""),
            "reason_sha256": sha256_text(c.reason), "second_review": c.second_review or ""}


# -- actions -------------------------------------------------------------------------------

def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("请填写更正理由。")
    return reason


def _kind(old_value: str | None, new_value: str | None) -> CorrectionKind:
    old = None if old_value is None or not str(old_value).strip() else str(old_value).strip()
    new = None if new_value is None or not str(new_value).strip() else str(new_value).strip()
    if old is None and new is None:
        raise ValueError("请填写原识别值或更正后的值。")
    if old is None:
        return "add"
    if new is None:
        return "not_a_field"
    if _text(old) == _text(new):
        raise ValueError("更正后的值与原识别值相同。")
    return "correct"


def _load(session: Session, report_id: int) -> tuple[ReportRow, Report]:
    row = session.get(ReportRow, report_id)
    if row is None:
        raise KeyError(report_id)
    return row, Report.model_validate_json(row.report_json)


def _take_effect(store: Store, session: Session, c: CorrectionRow, base_row: ReportRow, after: Report,
                 comparison: Comparison, confirmed_by: str | None) -> ReportRow:
    key = f"K{c.id}"
    for doc in after.documents:
        for f in doc.fields:
            if f.attributes.get("correction_id") == "K?":
                f.attributes["correction_id"] = key
    new_row = store.save_derived(session, base_row.id, after)
    eff = effect(comparison)
    # The new version's audit entry: its actor is the correction's author, so window staff
    # keep the case they corrected (access.check_access).
    entry = record(session, c.actor, "correction_rerun", f"app-{new_row.application_id}-v{new_row.version}",
                   {"correction": key, "base": f"app-{base_row.application_id}-v{base_row.version}",
                    "confirmed_by": confirmed_by, "fixed": len(eff["fixed"]), "changed": len(eff["changed"]),
                    "raised": len(eff["raised"])}, "")
    session.add(CorrectionRunRow(correction_id=c.id, base_report_id=base_row.id, report_id=new_row.id,
                                 actor=c.actor, audit_seq=entry.seq, effect=eff))
    session.flush()
    return new_row


def _prepare(store: Store, report_id: int, c: CorrectionRow) -> tuple[int, Report, Report, Comparison]:
    """Outside any write: the application's latest version, it with the correction applied and
    the rules re-run, and the comparison (the rules read the registry on their own connections)."""
    with store.session() as session:
        row = session.get(ReportRow, report_id)
        latest = latest_report(session, row.application_id)
        base = Report.model_validate_json(latest.report_json)
        latest_id = latest.id
    after = rerun(apply(base, c, "K?"), store)
    return latest_id, base, after, compare(base, after)


def correct_field(store: Store, user: User, report_id: int, *, field_type: str, document: str,
                  page: int | None, old_value: str | None, new_value: str | None, reason: str,
                  bbox: list[float] | None = None, field_index: int | None = None, role: str | None = None,
                  record_key: str | int | None = None) -> CorrectionRecord:
    """Record a correction on the stored report `report_id` (the application's latest version).

    `old_value` None adds a missed value, `new_value` None marks `old_value` as not a
    field. The record's `state` says whether it took effect (a new report version,
    `result_report_key`) or waits for a second officer (it would remove a `fail`).
    """
    user = require(store, user, P.correct_fields)
    reason = _reason(reason)
    kind = _kind(old_value, new_value)
    field_type = (field_type or "").strip()
    if not field_type:
        raise ValueError("请选择字段类型。")
    old_value = old_value.strip() if old_value is not None and kind != "add" else None
    new_value = new_value.strip() if new_value is not None and kind != "not_a_field" else None
    if bbox is not None and (len(bbox) != 4 or any(not isinstance(x, (int, float)) for x in bbox)):
        raise ValueError("框选位置应为 4 个数字（x0, y0, x1, y1）。")
    for attempt in range(5):
        with store.session() as session:
            row, report = _load(session, report_id)
            check_access(session, user, row)
            latest = latest_report(session, row.application_id)
            if latest.id != row.id:
                raise CorrectionConflict(f"该案卷已有更新的版本（第 {latest.version} 版），请在最新版本上更正。")
            doc = next((d for d in report.documents if d.id == document), None)
            if doc is None:
                raise KeyError(document)
            if page is not None and not (1 <= page <= max(doc.pages, 1)):
                raise ValueError(f"页码应在 1–{doc.pages} 之间。")
            attrs: dict = {}
            if kind != "add":
                found = locate(report, field_type, document, page, old_value, field_index, bbox)
                if found is None:
                    raise KeyError(f"{document}/{field_type}")
                di, field_index = found
                f = report.documents[di].fields[field_index]
                page = f.page if page is None else page
                bbox = list(f.bbox) if bbox is None and f.bbox else bbox
                role = role or f.role
                attrs["machine_value"] = str(f.attributes.get("corrected_from", f.value))
            elif record_key is not None:
                attrs["record"] = record_key
            draft = CorrectionRow(report_id=row.id, application_id=row.application_id, kind=kind,
                                  field_type=field_type, role=role, document=document, doc_type=doc.doc_type,
                                  page=page, bbox=bbox, field_index=field_index, old_value=old_value,
                                  new_value=new_value, attributes=attrs, reason=reason, actor=user.username,
                                  created_at=datetime.now(UTC), audit_seq=0)
        latest_id, base, after, comparison = _prepare(store, report_id, draft)
        eff = effect(comparison)
        second = "removes_fail" if eff["removes_fail"] and policy().second_review.correction_removes_fail else ""
        try:
            with store.session() as session:
                base_row = latest_report(session, draft.application_id)
                if base_row.id != latest_id:
                    continue  # another correction or review landed meanwhile: prepare again
                draft.second_review = second
                draft.effect = eff
                entry = record(session, user.username, "correct_field", f"report:{report_id}", _audit_detail(draft),
                               mask_ids(reason))
                draft.audit_seq = entry.seq
                session.add(draft)
                session.flush()
                if not second:
                    _take_effect(store, session, draft, base_row, after, comparison, None)
                out = _to_record(session, draft)
            maybe_checkpoint(store)
            return _masked(user, out)
        except (IntegrityError, OperationalError):
            if attempt == 4:
                raise
    raise CorrectionConflict("该案卷正被他人同时更正，请稍后重试。")


def _parse_key(key: str) -> int:
    key = (key or "").strip().upper()
    if len(key) > 1 and key[0] == "K" and key[1:].isdigit():
        return int(key[1:])
    raise KeyError(key)


def second_review_correction(store: Store, user: User, correction_key: str, action: Literal["confirm", "return"],
                             reason: str) -> CorrectionRecord:
    """A second officer confirms (the correction takes effect: a new report version) or returns it.

    Refused for the officer who made it, for anyone recused from the case and for a
    correction that does not wait for a second officer.
    """
    user = require(store, user, P.decide)
    if action not in ("confirm", "return"):
        raise ValueError(f"未知的复核操作：{action}")
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("请填写复核意见。")
    cid = _parse_key(correction_key)
    for attempt in range(5):
        with store.session() as session:
            c = session.get(CorrectionRow, cid)
            if c is None:
                raise KeyError(correction_key)
            check_access(session, user, session.get(ReportRow, c.report_id))
            rec = _to_record(session, c)
            if rec.state != "pending_second_review":
                raise CorrectionConflict(f"该更正{'已复核' if rec.second_review else '无需复核'}，当前状态：{rec.state_label}。")
            if c.actor == user.username:
                raise NotAllowed(user, "复核须由另一名审批人员进行，不能复核本人作出的更正。")
            session.expunge(c)
        prepared = _prepare(store, c.report_id, c) if action == "confirm" else None
        try:
            with store.session() as session:
                if prepared is not None and latest_report(session, c.application_id).id != prepared[0]:
                    continue
                entry = record(session, user.username, "second_review", f"correction:K{cid}",
                               {"action": action, "step_actor": c.actor, "reason_sha256": sha256_text(reason)},
                               mask_ids(reason))
                session.add(SecondReviewRow(step_kind="correction", step_id=cid, action=action, reason=reason,
                                            actor=user.username, audit_seq=entry.seq))
                session.flush()
                c = session.get(CorrectionRow, cid)
                if prepared is not None:
                    latest_id, _base, after, comparison = prepared
                    _take_effect(store, session, c, session.get(ReportRow, latest_id), after, comparison,
                                 user.username)
                out = _to_record(session, c)
            maybe_checkpoint(store)
            return _masked(user, out)
        except (IntegrityError, OperationalError):
            with store.session() as session:
                done = session.scalar(select(SecondReviewRow).where(SecondReviewRow.step_kind == "correction",
                                                                    SecondReviewRow.step_id == cid))
                if done is not None:
                    raise CorrectionConflict("该更正已由他人复核。") from None
            if attempt == 4:
                raise
    raise CorrectionConflict("该案卷正被他人同时更正，请稍后重试。")


# -- reading -------------------------------------------------------------------------------

def case_corrections(store: Store, user: User, report_id: int) -> list[CorrectionRecord]:
    """Every correction of the report's application, oldest first (for the case page)."""
    user = require(store, user, P.view_cases)
    with store.session() as session:
        row = session.get(ReportRow, report_id)
        if row is None:
            raise KeyError(report_id)
        check_access(session, user, row)
        rows = list(session.scalars(select(CorrectionRow).where(CorrectionRow.application_id == row.application_id)
                                    .order_by(CorrectionRow.id)))
        return [_masked(user, _to_record(session, c)) for c in rows]


def awaiting_second_review(store: Store, user: User) -> list[CorrectionRecord]:
    """Corrections the acting officer may confirm: pending, made by someone else, not recused."""
    user = require(store, user, P.decide)
    out = []
    with store.session() as session:
        for c in session.scalars(select(CorrectionRow).where(CorrectionRow.second_review != "")
                                 .order_by(CorrectionRow.id)):
            rec = _to_record(session, c)
            if rec.state != "pending_second_review" or c.actor == user.username:
                continue
            try:
                check_access(session, user, session.get(ReportRow, c.report_id))
            except PermissionDenied:
                continue
            out.append(_masked(user, rec))
    return out


def report_pk_of(store: Store, user: User, report_key: str) -> int:
    """ReportRow.id of "app-<id>-v<version>" if the user may correct on it (the API's report ids)."""
    return report_pk(store, user, report_key, P.correct_fields)


# -- learning: export and rates --------------------------------------------------------------

def export_rows(store: Store) -> Iterator[dict]:
    """Effective corrections as training data (`shencha corrections export`; an operator's command).

    One dict per correction: the page crop reference (report, document, page, box, page image),
    the machine value, the corrected value, the field type, the document type, the application.
    """
    with store.session() as session:
        for c in session.scalars(select(CorrectionRow).order_by(CorrectionRow.id)):
            rec = _to_record(session, c)
            if rec.state != "effective":
                continue
            app = session.get(ApplicationRow, c.application_id)
            image = session.scalar(
                select(PageRow.image_sha256).join(DocumentRow, PageRow.document_id == DocumentRow.id)
                .where(DocumentRow.report_id == c.report_id, DocumentRow.doc_key == c.document,
                       PageRow.number == (c.page or 0)).limit(1))
            line, header = _line_of(session, c)
            yield {
                "correction_id": rec.key, "kind": c.kind, "application_id": app.name,
                "line": line, "header": header,
                "crop": {"report_id": rec.report_key, "document": c.document, "page": c.page,
                         "bbox": rec.bbox, "image_sha256": image},
                "machine_value": rec.machine_value if c.kind != "add" else None,
                "corrected_value": c.new_value, "field_type": c.field_type, "role": c.role,
                "doc_type": c.doc_type, "attributes": {k: v for k, v in (c.attributes or {}).items()
                                                       if k != "machine_value"},
                "created_at": c.created_at.isoformat(),
            }


def _line_of(session: Session, c: CorrectionRow) -> tuple[dict | None, str | None]:
    """The stored line the corrected value was read from (or should have been), and, for a
    table cell, the text of its column's header cell: what the learning uses."""
    from ..schema import LineRow

    page_id = session.scalar(
        select(PageRow.id).join(DocumentRow, PageRow.document_id == DocumentRow.id)
        .where(DocumentRow.report_id == c.report_id, DocumentRow.doc_key == c.document,
               PageRow.number == (c.page or 0)).limit(1))
    if page_id is None:
        return None, None
    lines = list(session.scalars(select(LineRow).where(LineRow.page_id == page_id).order_by(LineRow.seq)))
    wanted = [_text(v) for v in (c.new_value, c.old_value) if v]

    def score(ln) -> tuple:
        text = _text(ln.text)
        has = any(w and w in text for w in wanted)
        if c.bbox:
            cx, cy = (c.bbox[0] + c.bbox[2]) / 2, (c.bbox[1] + c.bbox[3]) / 2
            inside = ln.x0 - 2 <= cx <= ln.x1 + 2 and ln.y0 - 2 <= cy <= ln.y1 + 2
        else:
            inside = False
        return (not has, not inside, len(text))

    if not lines:
        return None, None
    best = min(lines, key=score)
    if score(best)[:2] == (True, True):
        return None, None
    header = None
    if best.table_index is not None and best.cell_col is not None and best.cell_row:
        header = " ".join(ln.text for ln in lines if ln.table_index == best.table_index and ln.cell_row == 0
                          and ln.cell_col == best.cell_col) or None
    return ({"text": best.text, "bbox": [best.x0, best.y0, best.x1, best.y1], "table": best.table_index,
             "cell": [best.cell_row, best.cell_col] if best.cell_row is not None else None}, header)


class CorrectionRate(BaseModel):
    key: str
    label: str
    corrections: int
    fields: int  # fields of that kind the machine read in the corrected applications' latest originals
    rate: float


def correction_rates(store: Store, user: User) -> tuple[list[CorrectionRate], list[CorrectionRate]]:
    """Per field type and per document type: effective corrections per machine-read field (supervisor page).

    The denominator counts the fields in each application's first report version (what
    the machine read), so the rate says where the machine is wrong most often.
    """
    require(store, user, P.view_decisions)
    from ..labels import DOC_TYPE, label

    by_type: dict[str, list[int]] = {}
    by_doc: dict[str, list[int]] = {}
    with store.session() as session:
        rows = [c for c in session.scalars(select(CorrectionRow)) if _to_record(session, c).state == "effective"]
        apps = {c.application_id for c in rows}
        for app_id in apps:
            first = session.scalars(select(ReportRow).where(ReportRow.application_id == app_id)
                                    .order_by(ReportRow.version).limit(1)).first()
            for doc in Report.model_validate_json(first.report_json).documents:
                for f in doc.fields:
                    by_type.setdefault(f.type, [0, 0])[1] += 1
                    by_doc.setdefault(doc.doc_type, [0, 0])[1] += 1
        for c in rows:
            by_type.setdefault(c.field_type, [0, 0])[0] += 1
            by_doc.setdefault(c.doc_type or "other", [0, 0])[0] += 1

    def rates(table: dict[str, list[int]], labels) -> list[CorrectionRate]:
        out = [CorrectionRate(key=k, label=labels(k), corrections=n, fields=m, rate=n / max(m, n, 1))
               for k, (n, m) in table.items() if n]
        return sorted(out, key=lambda r: (-r.rate, -r.corrections))

    return rates(by_type, lambda k: FIELD_TYPE_LABEL.get(k, k)), rates(by_doc, lambda k: label(DOC_TYPE, k))


# -- learning: header synonyms for the table model ---------------------------------------------

# The table model's column key for a field type read from a table cell.
HEADER_KEY = {"person_name": "name", "resident_id": "resident_id", "cert_no": "cert_no",
              "company_name": "employer", "date": "valid_until"}
SYNONYMS_ENV = "SHENCHA_HEADER_SYNONYMS"


class HeaderProposal(BaseModel):
    key: str  # the column key (extractor/fields/headers.yaml)
    header: str  # the header as written in the package
    corrections: int  # corrections it would have spared
    applications: int
    examples: list[str] = []


def propose_headers(rows: list[dict]) -> list[HeaderProposal]:
    """Column headers the table model did not know, under cells officers had to correct or add.

    A row counts when its value sat in a table cell whose column header `header_key` does
    not recognise; the proposal maps that header to the field type's column key.
    """
    import re

    from extractor.fields.lexicon import header_key

    found: dict[tuple[str, str], tuple[int, set[str], list[str]]] = {}
    for row in rows:
        header, key = row.get("header"), HEADER_KEY.get(row.get("field_type") or "")
        if not header or not key or row.get("kind") == "not_a_field":
            continue
        header = re.sub(r"\s+", "", header)
        if header_key(header) is not None:
            continue
        n, apps, examples = found.get((key, header), (0, set(), []))
        apps.add(row.get("application_id") or "")
        if len(examples) < 3:
            examples.append(str(row.get("corrected_value")))
        found[(key, header)] = (n + 1, apps, examples)
    out = [HeaderProposal(key=k, header=h, corrections=n, applications=len(a), examples=e)
           for (k, h), (n, a, e) in found.items()]
    return sorted(out, key=lambda p: (-p.applications, -p.corrections, p.header))


def synonyms_path() -> "Path":
    """The synonyms file accepted proposals go to: the first of $SHENCHA_HEADER_SYNONYMS, else
    `$SHENCHA_HOME/header_synonyms.yaml` (the extractor reads it once the variable names it)."""
    import os
    from pathlib import Path

    from ..store import default_home

    named = [p for p in os.environ.get(SYNONYMS_ENV, "").split(os.pathsep) if p]
    return Path(named[0]) if named else default_home() / "header_synonyms.yaml"


def write_synonyms(path: "Path", accepted: list[HeaderProposal]) -> dict[str, list[str]]:
    """Merge `accepted` into the YAML synonyms file at `path` (the shape of headers.yaml)."""
    import yaml

    from ..store import write_private

    data: dict[str, list[str]] = {}
    if path.exists():
        data = {str(k): list(v) for k, v in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items()}
    for p in accepted:
        if p.header not in data.setdefault(p.key, []):
            data[p.key].append(p.header)
    text = ("# Header synonyms accepted from officers' corrections (shencha corrections, issue 17).\n"
            "# Read by the extractor through SHENCHA_HEADER_SYNONYMS; same shape as extractor/fields/headers.yaml.\n"
            + yaml.safe_dump(data, allow_unicode=True, sort_keys=True))
    write_private(path, text)
    return data


def header_proposals(store: Store, user: User) -> list[HeaderProposal]:
    """Proposals from every effective correction in the store, minus those already accepted (rule-author page)."""
    require(store, user, P.view_rules)
    import yaml

    path = synonyms_path()
    accepted = yaml.safe_load(path.read_text(encoding="utf-8")) or {} if path.exists() else {}
    return [p for p in propose_headers(list(export_rows(store))) if p.header not in (accepted.get(p.key) or [])]


def accept_headers(store: Store, user: User, accepted: list[HeaderProposal]) -> "Path":
    """A rule author accepts proposals: written to the synonyms file, recorded in the audit trail."""
    from .audit import append

    user = require(store, user, P.edit_rules)
    if not accepted:
        raise ValueError("请至少选择一条表头写法。")
    path = synonyms_path()
    write_synonyms(path, accepted)
    append(store, user.username, "rule_change", "header_synonyms",
           {"accepted": [[p.key, p.header] for p in accepted], "file": str(path)}, "采纳更正记录中的表头写法")
    return path


class PageLine(BaseModel):
    text: str
    bbox: list[float]


def page_lines(store: Store, user: User, report_id: int, document: str, page: int) -> list[PageLine]:
    """The text lines read on one page, for choosing the line a missed value stands on.

    Versions made by re-checking (corrections, re-reviews) keep fields, not lines: the lines
    come from the version of the application that read the same file (same document key and
    sha256). Resident ID numbers are masked for roles that do not see them in full.
    """
    from ..schema import LineRow

    user = require(store, user, P.correct_fields)
    with store.session() as session:
        row = session.get(ReportRow, report_id)
        if row is None:
            raise KeyError(report_id)
        check_access(session, user, row)
        doc = session.scalar(select(DocumentRow).where(DocumentRow.report_id == report_id,
                                                       DocumentRow.doc_key == document))
        if doc is None:
            raise KeyError(document)
        same_file = select(DocumentRow.id).join(ReportRow, ReportRow.id == DocumentRow.report_id).where(
            ReportRow.application_id == row.application_id, DocumentRow.doc_key == document,
            DocumentRow.sha256 == doc.sha256)
        for doc_id in session.scalars(same_file.order_by(ReportRow.version)):
            page_row = session.scalar(select(PageRow).where(PageRow.document_id == doc_id, PageRow.number == page))
            if page_row is None:
                continue
            lines = list(session.scalars(select(LineRow).where(LineRow.page_id == page_row.id).order_by(LineRow.seq)))
            if lines:
                full = user.can(P.view_personal_data)
                return [PageLine(text=ln.text if full else mask_ids(ln.text), bbox=[ln.x0, ln.y0, ln.x1, ln.y1])
                        for ln in lines if ln.text.strip()]
    return []
