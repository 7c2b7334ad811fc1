"""Read side of the registry: what the checks and ``registry lookup`` ask.

A :class:`RegistryLookup` pins the snapshot in force when it is created, so
every answer during one review comes from the same data even if a sync
commits meanwhile; ``snapshot(kind)`` says which one that is.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein
from sqlalchemy import Engine, Table, and_, func, or_, select

from . import store
from .normalize import (
    UNREADABLE_CHARS,
    cert_key,
    company_core,
    company_grams,
    fold_company_name,
    fold_name,
    has_unreadable,
    name_keys,
    normalize_cert_no,
    normalize_id_no,
    normalize_uscc,
)
from .records import CertificateRecord, CompanyRecord, Snapshot
from .rows import CERT_COLUMNS, COMPANY_COLUMNS

_MAX_CANDIDATES = 5000  # rows scored per fuzzy query, at most
_MIN_PREFIX = 4  # an unreadable character earlier than this cannot use the index


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


_ID_FORM = re.compile(r"T?\d{17}[\dX]")


def _other_id_form(norm: str) -> str | None:
    """T+ID for a bare ID-shaped number, the bare ID for T+ID; None otherwise."""
    if not _ID_FORM.fullmatch(norm):
        return None
    return norm[1:] if norm.startswith("T") else "T" + norm


class CertificateHit(_M):
    record: CertificateRecord
    how: Literal["exact", "ocr", "wildcard", "id_form"] = Field(
        description="exact number; OCR-confusion/bracket folding; unreadable characters as wildcards; "
                    "a special-operation number written with or without its leading T"
    )


class CertificateLookup(_M):
    query: str
    normalized: str
    unreadable: bool = Field(description="the query has characters marked unreadable (?, □, *)")
    snapshot: Snapshot | None
    hits: list[CertificateHit] = Field(default_factory=list)
    note: str | None = Field(None, description="why the search was limited (Chinese)")

    @property
    def unique(self) -> CertificateHit | None:
        """The one certificate meant, when that is certain."""
        if len(self.hits) == 1 and not self.unreadable:
            return self.hits[0]
        return None

    @property
    def ambiguous(self) -> bool:
        return len(self.hits) > 1 or (self.unreadable and bool(self.hits))


class NameComparison(_M):
    equal: bool = Field(description="the same name once script, width and spaces are folded")
    score: float = Field(description="rapidfuzz ratio of the folded names, 0-100")
    page: str
    registry: str
    explanation: str = Field(description="what differed, in Chinese")


class NameMatch(_M):
    record: CertificateRecord
    comparison: NameComparison


class CompanyHit(_M):
    record: CompanyRecord
    how: Literal["uscc", "name", "name_fuzzy"]
    score: float = 100.0


def compare_names(page: str, registry: str) -> NameComparison:
    """Compare a name read on a page with the registry's, explaining the difference."""
    a, b = fold_name(page), fold_name(registry)
    if a == b:
        if page.strip() == registry.strip():
            why = "姓名一致"
        else:
            why = f"折算繁简体、全半角和空格后一致（“{page.strip()}”与“{registry.strip()}”）"
        return NameComparison(equal=True, score=100.0, page=page, registry=registry, explanation=why)
    score = round(fuzz.ratio(a, b), 1)
    parts: list[str] = []
    for op in Levenshtein.editops(a, b):
        if op.tag == "replace":
            parts.append(f"第{op.src_pos + 1}字页面为“{a[op.src_pos]}”、登记库为“{b[op.dest_pos]}”")
        elif op.tag == "delete":
            parts.append(f"页面多出“{a[op.src_pos]}”")
        else:
            parts.append(f"页面缺少“{b[op.dest_pos]}”")
    detail = "；".join(parts[:4]) if len(parts) <= 4 else f"{len(parts)}处不同"
    why = f"相似度 {score:g}：{detail}"
    return NameComparison(equal=False, score=score, page=page, registry=registry, explanation=why)


def compare_company_names(page: str, registry: str) -> NameComparison:
    a, b = fold_company_name(page), fold_company_name(registry)
    if a == b:
        why = "单位名称一致" if page.strip() == registry.strip() else "折算全半角、括号和空格后一致"
        return NameComparison(equal=True, score=100.0, page=page, registry=registry, explanation=why)
    score = round(fuzz.ratio(a, b), 1)
    if company_core(a) == company_core(b):
        why = f"相似度 {score:g}：仅组织形式后缀不同（“{a}”与“{b}”）"
    else:
        why = f"相似度 {score:g}：页面为“{a}”，登记库为“{b}”"
    return NameComparison(equal=False, score=score, page=page, registry=registry, explanation=why)


def _in_force(table: Table, snap_id: int | None):
    if snap_id is None:
        return table.c.removed_in.is_(None)
    # A pinned snapshot: rows added by then and not yet ended then.
    return and_(table.c.added_in <= snap_id,
                or_(table.c.removed_in.is_(None), table.c.removed_in > snap_id))


def _cert_record(row) -> CertificateRecord:
    return CertificateRecord.model_validate({c: row[c] for c in CERT_COLUMNS})


def _company_record(row) -> CompanyRecord:
    return CompanyRecord.model_validate({c: row[c] for c in COMPANY_COLUMNS})


class RegistryLookup:
    """Certificate, holder and company look-ups against the snapshot in force."""

    def __init__(self, engine: Engine):
        self.engine = engine
        store.create_tables(engine)
        self._snapshots: dict[str, Snapshot | None] = {}
        with engine.connect() as conn:
            for kind in ("certificates", "companies"):
                row = conn.execute(
                    select(store.snapshots).where(store.snapshots.c.kind == kind)
                    .order_by(store.snapshots.c.id.desc()).limit(1)
                ).mappings().first()
                self._snapshots[kind] = None if row is None else Snapshot(
                    id=row["id"], kind=kind, as_of=row["as_of"], source=row["source"],
                    created_at=row["created_at"], rows=row["rows"],
                )

    def _connect(self):
        """A connection for read-only look-ups.

        On PostgreSQL in autocommit mode: each look-up is one statement, and
        the pool's rollback on check-in would otherwise cost a second round
        trip per look-up.
        """
        conn = self.engine.connect()
        if self.engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn

    def snapshot(self, kind: str) -> Snapshot | None:
        """The snapshot every answer of ``kind`` comes from (None: nothing synced yet)."""
        return self._snapshots.get(kind)

    def _snap_id(self, kind: str) -> int | None:
        snap = self._snapshots.get(kind)
        return snap.id if snap else None

    # ------------------------------------------------------------ certificates

    def certificate(self, cert_no: str) -> CertificateLookup:
        """By number: exact, then OCR-folded; unreadable characters become wildcards."""
        t = store.certificates
        snap = self._snapshots.get("certificates")
        norm = normalize_cert_no(cert_no)
        result = CertificateLookup(query=cert_no, normalized=norm, unreadable=has_unreadable(norm),
                                   snapshot=snap)
        if snap is None or not norm:
            return result
        cond = _in_force(t, snap.id)
        with self._connect() as conn:
            if result.unreadable:
                key = "".join("?" if ch in UNREADABLE_CHARS else cert_key(ch, normalized=True)
                              for ch in norm)
                prefix = key.split("?", 1)[0]
                if len(prefix) < _MIN_PREFIX:
                    result.note = f"无法辨认的字符位于第{len(prefix) + 1}位，过于靠前，无法检索候选证书"
                    return result
                pattern = re.compile(re.escape(key).replace(r"\?", "."))
                rows = conn.execute(
                    select(t).where(t.c.cert_key >= prefix, t.c.cert_key < prefix + "\U0010ffff", cond)
                    .limit(_MAX_CANDIDATES)
                ).mappings().all()
                result.hits = [CertificateHit(record=_cert_record(r), how="wildcard")
                               for r in rows if pattern.fullmatch(r["cert_key"])]
                return result
            # One round trip: the exact number has the same OCR key as its variants.
            rows = conn.execute(
                select(t).where(t.c.cert_key == cert_key(norm, normalized=True), cond)
            ).mappings().all()
            other = _other_id_form(norm)
            if not rows and other is not None:
                # 特种作业操作证: the number is the holder's ID number, printed
                # with a leading T on some cards and without it on others;
                # registries store one form. The same certificate either way.
                rows = conn.execute(
                    select(t).where(t.c.cert_no == other, t.c.cert_type == "special_operation", cond)
                ).mappings().all()
                result.hits = [CertificateHit(record=_cert_record(r), how="id_form") for r in rows]
                return result
        exact = [r for r in rows if r["cert_no"] == norm]
        how: Literal["exact", "ocr"] = "exact" if exact else "ocr"
        result.hits = [CertificateHit(record=_cert_record(r), how=how) for r in (exact or rows)]
        return result

    def holders_by_id_no(self, id_no: str) -> list[CertificateRecord]:
        t = store.certificates
        snap_id = self._snap_id("certificates")
        if snap_id is None:
            return []
        with self._connect() as conn:
            rows = conn.execute(
                select(t).where(t.c.holder_id_no == normalize_id_no(id_no), _in_force(t, snap_id))
            ).mappings().all()
        return [_cert_record(r) for r in rows]

    def holders_by_name(self, name: str, *, limit: int = 10, min_score: float = 60.0) -> list[NameMatch]:
        """Certificates whose holder's name is close to ``name``, best first.

        Only rows sharing a symmetric-delete key with the query are read (one
        character substituted, missing or added), never the whole table.
        """
        t, k = store.certificates, store.cert_name_keys
        snap_id = self._snap_id("certificates")
        q = fold_name(name)
        if snap_id is None or not q:
            return []
        dels = name_keys(q)
        probes = dels | {q}
        with self._connect() as conn:
            # Phase 1, index only: (id, folded name) of every row whose name is
            # the query or one edit from it. Keys exist for versions in force.
            cands: dict[int, str] = {}
            for cid, folded in conn.execute(
                select(t.c.id, t.c.holder_name_folded)
                .where(t.c.holder_name_folded.in_(probes), _in_force(t, snap_id)).limit(_MAX_CANDIDATES)
            ):
                cands[cid] = folded
            for cid, folded in conn.execute(
                select(k.c.cert_id, k.c.name).where(k.c.key.in_(probes)).limit(_MAX_CANDIDATES)
            ):
                cands.setdefault(cid, folded)
            scored = sorted(
                ((fuzz.ratio(q, folded), folded, cid) for cid, folded in cands.items()),
                key=lambda x: (-x[0], x[1], x[2]),
            )
            scored = [x for x in scored if x[0] >= min_score][: limit * 2]
            # Phase 2: whole rows for the best few only (the pinned snapshot filters again).
            rows = {r["id"]: r for r in conn.execute(
                select(t).where(t.c.id.in_([cid for _, _, cid in scored]), _in_force(t, snap_id))
            ).mappings()} if scored else {}
        out = []
        for _, _, cid in scored:
            r = rows.get(cid)
            if r is not None:
                out.append(NameMatch(record=_cert_record(r), comparison=compare_names(name, r["holder_name"])))
        return out[:limit]

    # --------------------------------------------------------------- companies

    def company_by_uscc(self, uscc: str) -> CompanyRecord | None:
        t = store.companies
        snap_id = self._snap_id("companies")
        if snap_id is None:
            return None
        with self._connect() as conn:
            row = conn.execute(
                select(t).where(t.c.uscc == normalize_uscc(uscc), _in_force(t, snap_id))
            ).mappings().first()
        return None if row is None else _company_record(row)

    def companies_by_name(self, name: str, *, limit: int = 10, min_score: float = 70.0) -> list[CompanyHit]:
        """Exact (folded) name first; otherwise bigram-blocked fuzzy matches, best first."""
        t, g = store.companies, store.company_grams
        snap_id = self._snap_id("companies")
        q = fold_company_name(name)
        if snap_id is None or not q:
            return []
        cond = _in_force(t, snap_id)
        with self._connect() as conn:
            rows = conn.execute(select(t).where(t.c.name_folded == q, cond)).mappings().all()
            if rows:
                return [CompanyHit(record=_company_record(r), how="name") for r in rows[:limit]]
            grams = company_grams(q)
            if not grams:
                return []
            shared = func.count().label("shared")
            top = (
                select(g.c.company_id, shared).where(g.c.gram.in_(grams))
                .group_by(g.c.company_id).order_by(shared.desc()).limit(200).subquery()
            )
            rows = conn.execute(select(t).join(top, top.c.company_id == t.c.id).where(cond)).mappings().all()
        qcore = company_core(q)
        scored = sorted(
            ((fuzz.ratio(qcore, company_core(r["name_folded"])), r) for r in rows),
            key=lambda sr: (-sr[0], sr[1]["uscc"]),
        )
        return [CompanyHit(record=_company_record(r), how="name_fuzzy", score=round(s, 1))
                for s, r in scored[:limit] if s >= min_score]

    def company(self, *, uscc: str | None = None, name: str | None = None) -> list[CompanyHit]:
        """By USCC, then by name."""
        if uscc:
            rec = self.company_by_uscc(uscc)
            if rec is not None:
                return [CompanyHit(record=rec, how="uscc")]
        if name:
            return self.companies_by_name(name)
        return []
