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

The chain alone has no secret: someone who can write the whole database
could edit an entry and recompute every hash, or cut the newest entries
and move the head. So the head is anchored outside the database:
checkpoints (sequence number, hash, time) signed with an HMAC key the
database never holds (`SHENCHA_AUDIT_KEY`) are appended to a file
(`SHENCHA_AUDIT_CHECKPOINTS`, by default beside the SQLite file), every
`CHECKPOINT_EVERY` entries, after each clean verification and on
`shencha audit checkpoint`. `verify` checks the chain against every
checkpoint: a shorter chain is a truncation, another hash at a
checkpointed number is a rebuild.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ..schema import (
    AuditHead,
    AuditRow,
    CaseDecisionRow,
    CorrectionRow,
    CorrectionRunRow,
    FindingDecisionRow,
    SecondReviewRow,
)
from ..store import Store, default_home, private_dirs
from .permissions import P, User, require

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
    "audit_checkpoint": "写入审计校验点",
    "login_blocked": "登录受限（失败过多）",
    "user_request": "申请授予角色",
    "user_approve": "批准授予角色",
    "user_reject": "驳回授予角色",
    "second_review": "双人复核",
    "conflict_declare": "登记回避事项",
    "conflict_withdraw": "撤销回避事项",
    "recuse": "申请回避",
    "assign": "分配案卷",
    "panel_convene": "组织集体审议",
    "panel_vote": "集体审议表决",
    "panel_close": "集体审议结论",
    "application_date": "登记受理/补正日期",
    "calendar_load": "导入工作日历",
    "issue_decision": "出具行政许可决定书",
    "licence_grant": "登记许可证",
    "correct_field": "更正识别结果",
    "correction_rerun": "按更正值重新核查",
}

KEY_ENV = "SHENCHA_AUDIT_KEY"
FILE_ENV = "SHENCHA_AUDIT_CHECKPOINTS"
CHECKPOINT_EVERY = int(os.environ.get("SHENCHA_AUDIT_CHECKPOINT_EVERY", "20"))


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

    On SQLite, FOR UPDATE is ignored and the driver opens the transaction
    only at its first write, so the head would be read outside it: several
    processes appending at once (the API's calls and its review jobs) read
    the same head and all but one failed, five times over. A no-op UPDATE
    of the head first takes the database's write lock (waiting for it, up to
    the store's timeout), so the head read after it is the latest one.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
    head = session.get(AuditHead, 1, with_for_update=True, populate_existing=True)
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
    for attempt in range(5):
        try:
            with store.session() as session:
                entry = record(session, actor, action, target, detail, reason)
            break
        except (IntegrityError, OperationalError):
            if attempt == 4:
                raise
    maybe_checkpoint(store)
    return entry


def entries(store: Store, actor: User | None, limit: int | None = None, newest_first: bool = True) -> list[AuditEntry]:
    """The trail, for a user with `view_audit` (`actor` None: the command line, an operator with shell access)."""
    if actor is not None:
        require(store, actor, P.view_audit)
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


class Checkpoint(BaseModel):
    seq: int
    hash: str
    at: str
    mac: str = ""

    def payload(self) -> bytes:
        return json.dumps([self.seq, self.hash, self.at], separators=(",", ":")).encode("utf-8")

    def describe(self) -> str:
        return f"{self.at[:19].replace('T', ' ')} 的校验点（第 {self.seq} 条，{self.hash[:12]}…）"


def _key() -> bytes | None:
    key = os.environ.get(KEY_ENV, "")
    return key.encode("utf-8") if key else None


def _mac(key: bytes, cp: Checkpoint) -> str:
    return hmac.new(key, cp.payload(), hashlib.sha256).hexdigest()


def checkpoint_path(store: Store) -> Path:
    """Where this store's checkpoints go: SHENCHA_AUDIT_CHECKPOINTS, else beside the SQLite file."""
    if os.environ.get(FILE_ENV):
        return Path(os.environ[FILE_ENV]).expanduser()
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).expanduser().with_suffix(".audit-checkpoints")
    ident = hashlib.sha256(url.render_as_string(hide_password=True).encode("utf-8")).hexdigest()[:12]
    return default_home() / f"audit-checkpoints-{ident}"


def read_checkpoints(store: Store) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints whose signature holds, and a problem (Chinese) for each line that does not."""
    path, key = checkpoint_path(store), _key()
    if key is None or not path.exists():
        return [], []
    good: list[Checkpoint] = []
    problems: list[str] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cp = Checkpoint.model_validate_json(line)
        except ValueError:
            problems.append(f"校验点文件第 {n} 行无法解析：校验点文件已被改动")
            continue
        if not hmac.compare_digest(cp.mac, _mac(key, cp)):
            problems.append(f"校验点文件第 {n} 行签名不符：校验点已被伪造或改动（或密钥已更换）")
            continue
        good.append(cp)
    return good, problems


def write_checkpoint(store: Store, force: bool = False) -> Checkpoint | None:
    """Append the current head, signed, to the checkpoint file (append-only, 0600).

    None when no key is configured or the trail is empty; unless `force`,
    also when the newest checkpoint already holds this head.
    """
    key = _key()
    if key is None:
        return None
    with store.session() as session:
        head = session.get(AuditHead, 1)
        if head is None:
            return None
        seq, digest = head.seq, head.hash
    done, _ = read_checkpoints(store)
    if not force and done and (done[-1].seq, done[-1].hash) == (seq, digest):
        return done[-1]
    cp = Checkpoint(seq=seq, hash=digest, at=datetime.now(UTC).isoformat(timespec="seconds"))
    cp.mac = _mac(key, cp)
    path = checkpoint_path(store)
    private_dirs(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (cp.model_dump_json() + "\n").encode("utf-8"))
    finally:
        os.close(fd)
    return cp


def maybe_checkpoint(store: Store) -> None:
    """A checkpoint every CHECKPOINT_EVERY entries (nothing when no key is configured)."""
    if _key() is None:
        return
    with store.session() as session:
        head = session.get(AuditHead, 1)
    if head is None:
        return
    done, _ = read_checkpoints(store)
    if not done or head.seq - done[-1].seq >= CHECKPOINT_EVERY:
        write_checkpoint(store)


class VerifyResult(BaseModel):
    ok: bool
    entries: int
    problems: list[str]  # Chinese, one per broken entry; the first names where the trail was altered
    bad_seq: int | None = None
    anchored: bool = False  # a checkpoint key is configured
    checkpoint: Checkpoint | None = None  # the newest valid checkpoint compared

    def summary(self) -> str:
        if self.ok:
            if not self.anchored:
                anchor = f"（未配置 {KEY_ENV}，未对照外部校验点）"
            elif self.checkpoint is None:
                anchor = "（尚无外部校验点）"
            else:
                anchor = f"，与{self.checkpoint.describe()}一致"
            return f"审计记录完整：共 {self.entries} 条，哈希链校验通过{anchor}。"
        return f"审计记录被改动：{self.problems[0]}" + (
            f"（另有 {len(self.problems) - 1} 处问题）" if len(self.problems) > 1 else ""
        )


def verify(store: Store, actor: User | None) -> VerifyResult:
    """Walk the chain from the first entry and compare it with every signed checkpoint.

    `actor` needs `view_audit` (None: the command line). A clean result
    is anchored at once with a new checkpoint.
    """
    if actor is not None:
        require(store, actor, P.view_audit)
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
    checkpoints, cp_problems = read_checkpoints(store)
    for text in cp_problems:
        problem(0, text)
    by_seq = {r.seq: r for r in rows}
    for cp in checkpoints:
        row = by_seq.get(cp.seq)
        if row is None and cp.seq > last_seq:
            problem(last_seq + 1, f"审计记录被截断：{cp.describe()}记载至少有 {cp.seq} 条，现只有 {last_seq} 条")
        elif row is None:
            problem(cp.seq, f"{cp.describe()}所记的第 {cp.seq} 条已不存在：审计记录已被删改")
        elif row.hash != cp.hash:
            problem(cp.seq, f"审计记录已被重建：第 {cp.seq} 条的哈希与{cp.describe()}不符")
    result = VerifyResult(ok=not problems, entries=len(rows), problems=problems, bad_seq=bad,
                          anchored=_key() is not None, checkpoint=checkpoints[-1] if checkpoints else None)
    if result.ok and result.anchored and rows:
        result.checkpoint = write_checkpoint(store) or result.checkpoint
    return result


def sha256_text(text: str) -> str:
    """What an audit entry keeps of a free-text reason besides its masked copy."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_decisions(session: Session, audit_rows: dict) -> Iterator[tuple[int, str]]:
    """Each decision must match the audit entry written with it (an edited decision row does not)."""
    for table, action in ((FindingDecisionRow, "decide_finding"), (CaseDecisionRow, "decide_case")):
        for row in session.scalars(select(table)):
            entry = audit_rows.get(row.audit_seq)
            where = f"决定记录 #{row.id}（{row.actor}，{row.created_at:%Y-%m-%d %H:%M}）"
            if entry is None:
                yield row.audit_seq, f"{where}对应的审计记录第 {row.audit_seq} 条不存在"
                continue
            detail = json.loads(entry.detail) if entry.detail.startswith("{") else {}
            target = f"report:{row.report_id}" + (f"/{row.finding_id}" if action == "decide_finding" else "")
            if (entry.action != action or entry.actor != row.actor or entry.target != target
                    or detail.get("decision") != row.decision or detail.get("version") != row.version
                    or detail.get("reason_sha256") != sha256_text(row.reason)
                    or detail.get("second_review", "") != (row.second_review or "")):
                yield row.audit_seq, f"{where}已被改动，与审计记录第 {row.audit_seq} 条不符"
    # A second officer's confirmation or return must match its entry too (an edited
    # "return" turned into "confirm" would otherwise make a step effective unseen).
    for row in session.scalars(select(SecondReviewRow)):
        entry = audit_rows.get(row.audit_seq)
        where = f"复核记录 #{row.id}（{row.actor}，{row.created_at:%Y-%m-%d %H:%M}）"
        if entry is None:
            yield row.audit_seq, f"{where}对应的审计记录第 {row.audit_seq} 条不存在"
            continue
        detail = json.loads(entry.detail) if entry.detail.startswith("{") else {}
        target = (f"correction:K{row.step_id}" if row.step_kind == "correction"
                  else f"decision:{'F' if row.step_kind == 'finding' else 'C'}{row.step_id}")
        if (entry.action != "second_review" or entry.actor != row.actor or entry.target != target
                or detail.get("action") != row.action or detail.get("reason_sha256") != sha256_text(row.reason)):
            yield row.audit_seq, f"{where}已被改动，与审计记录第 {row.audit_seq} 条不符"
    # A correction of an extracted value, and the report version it produced.
    for row in session.scalars(select(CorrectionRow)):
        entry = audit_rows.get(row.audit_seq)
        where = f"更正记录 K{row.id}（{row.actor}，{row.created_at:%Y-%m-%d %H:%M}）"
        if entry is None:
            yield row.audit_seq, f"{where}对应的审计记录第 {row.audit_seq} 条不存在"
            continue
        detail = json.loads(entry.detail) if entry.detail.startswith("{") else {}
        expected = {"kind": row.kind, "field_type": row.field_type, "document": row.document, "page": row.page,
                    "old_sha256": sha256_text(row.old_value or ""), "new_sha256": sha256_text(row.new_value or ""),
                    "reason_sha256": sha256_text(row.reason), "second_review": row.second_review or ""}
        if (entry.action != "correct_field" or entry.actor != row.actor or entry.target != f"report:{row.report_id}"
                or any(detail.get(k) != v for k, v in expected.items())):
            yield row.audit_seq, f"{where}已被改动，与审计记录第 {row.audit_seq} 条不符"
    for row in session.scalars(select(CorrectionRunRow)):
        entry = audit_rows.get(row.audit_seq)
        if entry is None or entry.action != "correction_rerun" or entry.actor != row.actor \
                or (json.loads(entry.detail) if entry.detail.startswith("{") else {}).get("correction") != f"K{row.correction_id}":
            yield row.audit_seq, f"更正 K{row.correction_id} 的重新核查记录与审计记录第 {row.audit_seq} 条不符"
