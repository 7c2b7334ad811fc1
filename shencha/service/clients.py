"""Who calls the REST API: client systems with API keys, and people with short-lived sessions.

A client system (the provincial government service platform, another
department) holds an API key an operator created with `shencha api-keys
add NAME --scopes ...`. The key is shown once; the store keeps only its
sha256 (the key is 256 random bits, so a plain hash cannot be guessed
backwards; argon2 is for the low-entropy passwords of people). A key has
scopes: `submit` (post applications, read its own jobs), `read_reports`
(reports and applications), `share:<entry>` (one entry of the sharing
catalogue). A revoked key is refused from then on.

A person logs in with the account's password (`accounts.authenticate`,
with its throttling) and gets a bearer token valid for
`SHENCHA_API_SESSION_MINUTES` (default 30); the store keeps its sha256 and
expiry. A person then has exactly the role's permissions: every service
function re-reads the account and checks them itself.

Every API call is written to the audit trail with the client
("client:<name>") or the user as the actor (`record_call`).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..schema import ApiClientRow, ApiSessionRow
from ..store import Store
from .accounts import authenticate
from .audit import append
from .permissions import P, PermissionDenied, User, fresh_user, require

KEY_PREFIX = "shk_"  # client API keys
SESSION_PREFIX = "shs_"  # person session tokens
BASE_SCOPES = ("submit", "read_reports")
SCOPE_PATTERN = re.compile(r"^(submit|read_reports|share:[a-z][a-z0-9_-]{0,39})$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{2,40}$")
SESSION_ENV = "SHENCHA_API_SESSION_MINUTES"

SCOPE_LABEL = {"submit": "提交申请材料", "read_reports": "读取审查报告"}


class Client(BaseModel):
    """A client system as the service layer sees it (never carries the key)."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    scopes: tuple[str, ...]
    key_prefix: str = ""
    created_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def actor(self) -> str:
        """The name the audit trail and the jobs table use."""
        return f"client:{self.name}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


Actor = User | Client


class ScopeDenied(PermissionDenied):
    """The client's key lacks the scope the call needs."""

    def __init__(self, client: Client | None, scope: str) -> None:
        Exception.__init__(self, f"客户端{client.name if client else ''}无此权限范围：{scope_label(scope)}")
        self.permission = P.view_cases
        self.scope = scope


class PersonOnly(PermissionDenied):
    """A step only a person (an officer's account) may take, not a client system."""

    def __init__(self, what: str) -> None:
        Exception.__init__(self, f"客户端系统不能执行此操作：{what}（须由审批人员以本人账户登录后操作）")
        self.permission = P.decide


def scope_label(scope: str) -> str:
    if scope.startswith("share:"):
        return f"共享数据（{scope.removeprefix('share:')}）"
    return SCOPE_LABEL.get(scope, scope)


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _client(row: ApiClientRow) -> Client:
    return Client(id=row.id, name=row.name, scopes=tuple(row.scopes), key_prefix=row.key_prefix,
                  created_at=row.created_at, revoked_at=row.revoked_at)


def _operator(store: Store, actor: User | None) -> str:
    """`actor` None is the command line (an operator with shell access); a person needs manage_accounts."""
    if actor is None:
        return "cli"
    return require(store, actor, P.manage_accounts).username


def parse_scopes(text: str | list[str]) -> list[str]:
    items = text.split(",") if isinstance(text, str) else list(text)
    scopes = sorted({s.strip() for s in items if s.strip()})
    bad = [s for s in scopes if not SCOPE_PATTERN.match(s)]
    if bad or not scopes:
        raise ValueError(f"无效的权限范围：{'、'.join(bad) or '（空）'}；可用：submit、read_reports、share:<共享目录条目>")
    return scopes


def create_client(store: Store, actor: User | None, name: str, scopes: str | list[str]) -> tuple[Client, str]:
    """A new client and its key; the key is returned here once and never stored in clear."""
    who = _operator(store, actor)
    if not NAME_PATTERN.match(name or ""):
        raise ValueError("客户端名称只能包含字母、数字和 ._-，长度 2 至 40。")
    scopes = parse_scopes(scopes)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    try:
        with store.session() as session:
            if session.scalar(select(ApiClientRow.id).where(ApiClientRow.name == name)) is not None:
                raise ValueError(f"客户端名称已存在：{name}")
            row = ApiClientRow(name=name, key_sha256=_sha(key), key_prefix=key[:10], scopes=scopes, created_by=who)
            session.add(row)
            session.flush()
            client = _client(row)
    except IntegrityError:
        raise ValueError(f"客户端名称已存在：{name}") from None
    append(store, who, "api_key_add", client.actor, {"scopes": scopes, "key_prefix": client.key_prefix})
    return client, key


def list_clients(store: Store, actor: User | None) -> list[Client]:
    _operator(store, actor)
    with store.session() as session:
        return [_client(r) for r in session.scalars(select(ApiClientRow).order_by(ApiClientRow.name))]


def revoke_client(store: Store, actor: User | None, name: str) -> Client:
    who = _operator(store, actor)
    with store.session() as session:
        row = session.scalar(select(ApiClientRow).where(ApiClientRow.name == name))
        if row is None:
            raise KeyError(name)
        if row.revoked_at is None:
            row.revoked_at, row.revoked_by = datetime.now(UTC), who
        client = _client(row)
    append(store, who, "api_key_revoke", client.actor, {"key_prefix": client.key_prefix})
    return client


def client_for_key(store: Store, key: str) -> Client | None:
    """The active client holding this key, or None (unknown or revoked)."""
    if not key.startswith(KEY_PREFIX):
        return None
    with store.session() as session:
        row = session.scalar(select(ApiClientRow).where(ApiClientRow.key_sha256 == _sha(key)))
        if row is None or row.revoked_at is not None:
            return None
        return _client(row)


def require_scope(store: Store, client: Client | None, scope: str) -> Client:
    """The client as stored now, if its key is active and has `scope` (else ScopeDenied)."""
    if client is None:
        raise ScopeDenied(None, scope)
    with store.session() as session:
        row = session.get(ApiClientRow, client.id)
        fresh = _client(row) if row is not None else None
    if fresh is None or fresh.name != client.name or not fresh.active or scope not in fresh.scopes:
        raise ScopeDenied(fresh or client, scope)
    return fresh


# -- person sessions -----------------------------------------------------------------------

class SessionToken(BaseModel):
    token: str
    expires_at: datetime
    user: User


def session_minutes() -> int:
    try:
        return max(1, min(24 * 60, int(os.environ.get(SESSION_ENV, "30"))))
    except ValueError:
        return 30


def open_session(store: Store, username: str, password: str, address: str | None = None) -> SessionToken | None:
    """A bearer token for this account, or None for a wrong name or password.

    `accounts.authenticate` logs the attempt and raises `LoginThrottled`
    while the account or the address backs off.
    """
    user = authenticate(store, username, password, address)
    if user is None:
        return None
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(minutes=session_minutes())
    with store.session() as session:
        session.add(ApiSessionRow(token_sha256=_sha(token), user_id=user.id, expires_at=expires))
    return SessionToken(token=token, expires_at=expires, user=user)


def session_user(store: Store, token: str) -> User | None:
    """The account behind a live session token, as stored now (None: unknown, expired, disabled)."""
    if not token.startswith(SESSION_PREFIX):
        return None
    with store.session() as session:
        row = session.get(ApiSessionRow, _sha(token))
        if row is None or row.revoked_at is not None:
            return None
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
        if expires <= datetime.now(UTC):
            return None
        user_id = row.user_id
    user = fresh_user(store, user_id)
    return user if user is not None and user.active else None


def close_session(store: Store, token: str) -> None:
    with store.session() as session:
        row = session.get(ApiSessionRow, _sha(token))
        if row is not None and row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)


def identify(store: Store, token: str | None) -> Actor | None:
    """The person or client system a bearer token stands for, or None."""
    token = (token or "").strip()
    if not token or len(token) > 200:
        return None
    if token.startswith(SESSION_PREFIX):
        return session_user(store, token)
    return client_for_key(store, token)


def actor_name(actor: Actor | None) -> str:
    if actor is None:
        return "?"
    return actor.actor if isinstance(actor, Client) else actor.username


def record_call(store: Store, actor: Actor | None, method: str, path: str, status: int) -> None:
    """One audit entry per API call: who, which route, the answer's status."""
    append(store, actor_name(actor), "api_call", path[:200], {"method": method, "status": status,
                                                             "kind": "client" if isinstance(actor, Client)
                                                             else ("user" if actor else "anonymous")})
