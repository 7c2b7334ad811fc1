"""The append-only audit trail: who did what, when and why, as a hash chain.

Every entry stores the hash of the entry before it and its own hash over
its content and that link. Editing an entry breaks its own hash; deleting
one leaves a gap in the sequence and breaks the next entry's link;
deleting the newest entries is caught by the head record, which holds the
sequence number and hash of the last entry. `verify` names the first entry
that does not check out.

Entries never hold personal data in clear: the detail carries ids and
codes, and the web app masks resident ID numbers before anything is
written here.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .store import Base, Store

GENESIS = "0" * 64

ACTION_LABEL = {
    "login": "登录",
    "login_failed": "登录失败",
    "user_add": "新增账户",
    "user_disable": "停用账户",
    "user_active": "启用账户",
    "view_personal_data": "查看个人信息",
    "decide_finding": "问题处理决定",
    "decide_case": "案卷审查决定",
    "run_review": "运行审查",
    "rule_change": "规则变更",
    "run_rule_examples": "运行规则示例",
    "issue_notice": "出具补正通知书",
    "audit_verify": "校验审计记录",
}


class AuditRow(Base):
    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))  # ISO text: hashed exactly as stored, on every database
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON
    reason: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row: the newest entry's number and hash, so deleting the tail is detected too."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    target: str
    detail: dict
    reason: str
    prev_hash: str
    hash: str

    @property
    def label(self) -> str:
        return ACTION_LABEL.get(self.action, self.action)

    def describe(self) -> str:
        return f"第 {self.seq} 条（{self.at}，{self.actor}，{self.label}，{self.target}）"


def entry_hash(seq: int, at: str, actor: str, action: str, target: str, detail: str, reason: str,
               prev_hash: str) -> str:
    payload = json.dumps([seq, at, actor, action, target, detail, reason, prev_hash], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def canonical(detail: dict) -> str:
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def record(session: Session, actor: str, action: str, target: str, detail: dict, reason: str) -> AuditEntry:
    """Append an entry inside the caller's transaction, so the action and its record commit together.

    Two writers racing for the same sequence number collide on the primary
    key (or on the head row); the loser's transaction fails and the service
    layer retries it, so the chain never forks.
    """
    head = session.get(AuditHead, 1, with_for_update=True)
    if head is None:
        last = session.scalars(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).first()
        prev_seq, prev_hash = (last.seq, last.hash) if last else (0, GENESIS)
    else:
        prev_seq, prev_hash = head.seq, head.hash
    seq = prev_seq + 1
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    detail_text = canonical(detail)
    digest = entry_hash(seq, at, actor, action, target, detail_text, reason, prev_hash)
    session.add(AuditRow(seq=seq, at=at, actor=actor, action=action, target=target, detail=detail_text,
                         reason=reason, prev_hash=prev_hash, hash=digest))
    if head is None:
        session.add(AuditHead(id=1, seq=seq, hash=digest, updated_at=datetime.now(UTC)))
    else:
        head.seq, head.hash, head.updated_at = seq, digest, datetime.now(UTC)
    session.flush()
    return AuditEntry(seq=seq, at=at, actor=actor, action=action, target=target, detail=detail,
                      reason=reason, prev_hash=prev_hash, hash=digest)


def append(store: Store, actor: str, action: str, target: str, detail: dict, reason: str = "") -> AuditEntry:
    """Append in a transaction of its own (retrying when another writer took the number)."""
    from .decisions import ensure_tables

    ensure_tables(store)
    for attempt in range(5):
        try:
            with store.session() as session:
                return record(session, actor, action, target, detail, reason)
        except (IntegrityError, OperationalError):
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def entries(store: Store, limit: int | None = None, newest_first: bool = True) -> list[AuditEntry]:
    from .decisions import ensure_tables

    ensure_tables(store)
    with store.session() as session:
        query = select(AuditRow).order_by(AuditRow.seq.desc() if newest_first else AuditRow.seq)
        if limit:
            query = query.limit(limit)
        return [_entry(r) for r in session.scalars(query)]


def _entry(row: AuditRow) -> AuditEntry:
    try:
        detail = json.loads(row.detail)
    except ValueError:
        detail = {"_unparsable": row.detail}
    return AuditEntry(seq=row.seq, at=row.at, actor=row.actor, action=row.action, target=row.target,
                      detail=detail if isinstance(detail, dict) else {"_value": detail}, reason=row.reason,
                      prev_hash=row.prev_hash, hash=row.hash)


class VerifyResult(BaseModel):
    ok: bool
    entries: int
    problems: list[str]  # Chinese, one per broken entry; the first names where the trail was altered
    bad_seq: int | None = None

    def summary(self) -> str:
        if self.ok:
            return f"审计记录完整：共 {self.entries} 条，哈希链校验通过。"
        return f"审计记录被改动：{self.problems[0]}" + (
            f"（另有 {len(self.problems) - 1} 处问题）" if len(self.problems) > 1 else ""
        )


def verify(store: Store) -> VerifyResult:
    """Walk the chain from the first entry; report every entry that does not check out."""
    from .decisions import ensure_tables, verify_decisions

    ensure_tables(store)
    problems: list[str] = []
    bad: int | None = None

    def problem(seq: int, text: str) -> None:
        nonlocal bad
        problems.append(text)
        if bad is None:
            bad = seq

    with store.session() as session:
        rows = list(session.scalars(select(AuditRow).order_by(AuditRow.seq)))
        head = session.get(AuditHead, 1)
        expected_seq, prev_hash = 1, GENESIS
        prev_entry: AuditEntry | None = None
        for row in rows:
            entry = _entry(row)
            if row.seq != expected_seq:
                missing = f"第 {expected_seq} 条" if row.seq == expected_seq + 1 else f"第 {expected_seq}–{row.seq - 1} 条"
                problem(expected_seq, f"{missing}已被删除（缺失于{prev_entry.describe() if prev_entry else '开头'}之后、{entry.describe()}之前）")
            elif row.prev_hash != prev_hash:
                problem(row.seq, f"{entry.describe()}的前序哈希不符：前一条记录已被改动或替换")
            digest = entry_hash(row.seq, row.at, row.actor, row.action, row.target, row.detail, row.reason,
                                row.prev_hash)
            if digest != row.hash:
                problem(row.seq, f"{entry.describe()}的内容已被改动（哈希不符）")
            expected_seq, prev_hash, prev_entry = row.seq + 1, row.hash, entry
        last_seq = rows[-1].seq if rows else 0
        if head is not None and (head.seq != last_seq or head.hash != (rows[-1].hash if rows else GENESIS)):
            if head.seq > last_seq:
                problem(last_seq + 1, f"第 {last_seq + 1}–{head.seq} 条（最新的记录）已被删除")
            else:
                problem(head.seq, f"最新记录标记（第 {head.seq} 条）与记录不符：记录已被改动")
        elif head is None and rows:
            problem(last_seq, "最新记录标记缺失：记录表已被改动")
        for seq, text in verify_decisions(session, {r.seq: r for r in rows}):
            problem(seq, text)
    return VerifyResult(ok=not problems, entries=len(rows), problems=problems, bad_seq=bad)
