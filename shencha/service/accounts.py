"""Local accounts: adding, approving, disabling and logging in.

Passwords are stored as argon2id hashes (argon2-cffi). Granting a role
that decides or sees personal data is a request that a supervisor
approves, and nobody approves their own request. Logins back off per account and per address after repeated
failures, and an unknown user name costs the same hash as a known one.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel
from pydantic import Field as PydField
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..schema import AccountRequestRow, LoginThrottleRow, UserRow
from ..store import Store
from .audit import record
from .permissions import (
    PRIVILEGED_ROLES,
    P,
    PermissionDenied,
    Role,
    User,
    _user,
    fresh_user,
    mask_ids,
    require,
)


class AccountRequest(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    requested_by: str
    requested_at: datetime
    state: str


class NewUser(BaseModel):
    username: str = PydField(pattern=r"^[A-Za-z0-9_.-]{2,64}$")
    display_name: str = PydField(min_length=1, max_length=100)
    role: Role
    password: str = PydField(min_length=8, description="at least 8 characters")


_hasher = PasswordHasher()


def create_user(store: Store, new: NewUser, actor: User | None = None) -> User:
    """Add an account. `actor` None means the command line (an operator with shell access).

    An admin granting a role in PRIVILEGED_ROLES creates the account
    disabled, with a request a supervisor must approve (`decide_request`).
    """
    if actor is not None:
        actor = require(store, actor, P.manage_accounts)
    needs_approval = actor is not None and new.role in PRIVILEGED_ROLES
    with store.session() as session:
        if session.scalar(select(UserRow).where(UserRow.username == new.username)) is not None:
            raise ValueError(f"用户名已存在：{new.username}")
        row = UserRow(username=new.username, display_name=new.display_name, role=new.role.value,
                      password_hash=_hasher.hash(new.password), active=not needs_approval)
        session.add(row)
        session.flush()
        record(session, actor.username if actor else "cli", "user_add", f"user:{new.username}",
               {"role": new.role.value, "pending_approval": needs_approval}, "")
        if needs_approval:
            session.add(AccountRequestRow(username=new.username, role=new.role.value, requested_by=actor.username,
                                          requested_at=datetime.now(UTC), state="pending"))
            record(session, actor.username, "user_request", f"user:{new.username}", {"role": new.role.value}, "")
        return _user(row)


def pending_requests(store: Store, actor: User) -> list[AccountRequest]:
    """Role grants waiting for approval (supervisors decide them; admins see their own requests)."""
    fresh = fresh_user(store, actor.id) if actor is not None else None
    if fresh is None or not (fresh.can(P.approve_accounts) or fresh.can(P.manage_accounts)):
        raise PermissionDenied(fresh or actor, P.approve_accounts)
    with store.session() as session:
        rows = session.execute(
            select(AccountRequestRow, UserRow).join(UserRow, UserRow.username == AccountRequestRow.username)
            .where(AccountRequestRow.state == "pending").order_by(AccountRequestRow.id)).all()
        return [AccountRequest(id=r.id, username=r.username, display_name=u.display_name, role=Role(r.role),
                               requested_by=r.requested_by, requested_at=r.requested_at, state=r.state)
                for r, u in rows]


def decide_request(store: Store, approver: User, request_id: int, approve: bool, reason: str = "") -> None:
    """A supervisor approves (the account is enabled) or rejects a role grant; never their own."""
    approver = require(store, approver, P.approve_accounts)
    with store.session() as session:
        req = session.get(AccountRequestRow, request_id, with_for_update=True)
        if req is None or req.state != "pending":
            raise KeyError(request_id)
        if approver.username in (req.requested_by, req.username):
            raise PermissionDenied(approver, P.approve_accounts)
        row = session.scalar(select(UserRow).where(UserRow.username == req.username))
        if row is None:
            raise KeyError(req.username)
        req.state = "approved" if approve else "rejected"
        req.decided_by, req.decided_at, req.reason = approver.username, datetime.now(UTC), mask_ids(reason or "")
        row.active = approve
        record(session, approver.username, "user_approve" if approve else "user_reject", f"user:{req.username}",
               {"role": req.role, "requested_by": req.requested_by}, mask_ids(reason or ""))


def set_active(store: Store, actor: User, username: str, active: bool, reason: str) -> None:
    actor = require(store, actor, P.manage_accounts)
    reason = mask_ids(reason or "")  # free text: no full ID number is stored, or shown to the admin
    with store.session() as session:
        row = session.scalar(select(UserRow).where(UserRow.username == username))
        if row is None:
            raise KeyError(username)
        if active:
            unapproved = session.scalar(
                select(AccountRequestRow.state).where(AccountRequestRow.username == username)
                .order_by(AccountRequestRow.id.desc()).limit(1))
            if unapproved in ("pending", "rejected"):
                raise ValueError(f"账户 {username} 的角色授予尚未经监督人员批准，不能启用。")
        row.active = active
        record(session, actor.username, "user_active" if active else "user_disable", f"user:{username}", {}, reason)


def list_users(store: Store, actor: User | None = None) -> list[User]:
    if actor is not None:
        require(store, actor, P.manage_accounts)
    with store.session() as session:
        return [_user(r) for r in session.scalars(select(UserRow).order_by(UserRow.id))]


# Back-off after repeated failures: the first few are free, then each one doubles the wait.
FREE_FAILURES = {"user": 5, "addr": 20}  # an address may be shared (a NAT): more slack
BASE_DELAY_S = 30.0
MAX_DELAY_S = 15 * 60.0
FORGET_AFTER_S = 60 * 60.0  # a failure older than this no longer counts


class LoginThrottled(Exception):
    """Too many failed logins for this account or address: wait (message in Chinese)."""

    def __init__(self, wait_seconds: float) -> None:
        self.wait_seconds = max(1, int(wait_seconds + 0.999))
        super().__init__(f"登录失败次数过多，请 {self.wait_seconds} 秒后再试。")


def _delay(kind: str, failures: int) -> float:
    over = failures - FREE_FAILURES[kind]
    return 0.0 if over < 0 else min(MAX_DELAY_S, BASE_DELAY_S * 2 ** over)


_dummy_hash: str | None = None


def _dummy() -> str:
    # Unknown and disabled accounts are verified against this, so the answer
    # takes as long as for a real account and does not tell which names exist.
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("no such account: dummy password")
    return _dummy_hash


def _throttle_keys(username: str, address: str | None) -> list[tuple[str, str]]:
    keys = [("user", f"user:{username.lower()}")]
    if address:
        keys.append(("addr", f"addr:{address}"))
    return keys


def _wait(store: Store, keys: list[tuple[str, str]], now: float) -> float:
    with store.session() as session:
        wait = 0.0
        for kind, key in keys:
            row = session.get(LoginThrottleRow, key)
            if row is not None and now - row.last_failed < FORGET_AFTER_S:
                wait = max(wait, row.last_failed + _delay(kind, row.failures) - now)
        return wait


def _count_failure(store: Store, keys: list[tuple[str, str]], now: float) -> None:
    for _kind, key in keys:
        for _attempt in range(3):
            try:
                with store.session() as session:
                    row = session.get(LoginThrottleRow, key, with_for_update=True)
                    if row is None:
                        session.add(LoginThrottleRow(key=key, failures=1, last_failed=now))
                    else:
                        stale = now - row.last_failed >= FORGET_AFTER_S
                        row.failures = 1 if stale else row.failures + 1
                        row.last_failed = now
                break
            except IntegrityError:
                continue  # another failed attempt created the row first: count again on it


def authenticate(store: Store, username: str, password: str, address: str | None = None) -> User | None:
    """The user, or None; every attempt is in the audit trail (never the password).

    Raises `LoginThrottled` while the account or the address (the client's
    IP, when the caller knows it) is backing off; the password is not even
    checked then, so guessing on goes nowhere.
    """
    # No account name holds a NUL, and PostgreSQL cannot even look one up: the
    # attempt is judged (and logged) under its visible escape.
    username = username.replace("\x00", "\\x00")
    keys = _throttle_keys(username, address)
    now = time.time()
    wait = _wait(store, keys, now)
    if wait > 0:
        with store.session() as session:
            exists = session.scalar(select(UserRow.id).where(UserRow.username == username)) is not None
            record(session, username if exists else "?", "login_blocked",
                   f"user:{username}" if exists else "user:?", {"wait_s": int(wait)}, "")
        raise LoginThrottled(wait)
    with store.session() as session:
        row = session.scalar(select(UserRow).where(UserRow.username == username))
        known = row is not None and row.active
        try:
            ok = _hasher.verify(row.password_hash if known else _dummy(), password) and known
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
        record(session, username if row is not None else "?", "login" if ok else "login_failed",
               f"user:{username}" if row is not None else "user:?", {}, "")
        if ok:
            reset = session.get(LoginThrottleRow, keys[0][1])
            if reset is not None:
                session.delete(reset)
        user = _user(row) if ok else None
    if user is None:
        _count_failure(store, keys, now)
    return user


DEMO_ACCOUNTS: list[tuple[str, str, Role]] = [
    ("officer", "审批员 李明", Role.officer),
    ("officer2", "审批员 王芳", Role.officer),
    ("officer3", "审批员 张华", Role.officer),  # a collective-decision panel needs three
    ("window", "窗口 赵倩", Role.window),
    ("author", "规则维护 陈刚", Role.rule_author),
    ("supervisor", "监督员 周敏", Role.supervisor),
    ("admin", "管理员 孙伟", Role.admin),
]
DEMO_PASSWORD_SUFFIX = "-demo-2026"  # demo password = username + suffix (docs/ui.md)


def seed_demo_accounts(store: Store, only: list[str] | None = None) -> list[str]:
    """Create the demo accounts (or the `only` ones) that do not exist yet; return the names created."""
    existing = {u.username for u in list_users(store)}
    created = []
    for username, name, role in DEMO_ACCOUNTS:
        if username not in existing and (only is None or username in only):
            create_user(store, NewUser(username=username, display_name=name, role=role,
                                       password=username + DEMO_PASSWORD_SUFFIX))
            created.append(username)
    return created


