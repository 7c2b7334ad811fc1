"""Local accounts, roles and what each role may do.

Passwords are stored as argon2id hashes (argon2-cffi). Permissions are
checked here, on the server, by the service functions every page calls
(`shencha.decisions`), so a hidden button is never the only guard.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField
from sqlalchemy import Boolean, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from registry_sync.normalize import mask_ids_in_text

from .store import Base, Store


class Role(StrEnum):
    officer = "officer"
    window = "window"
    rule_author = "rule_author"
    supervisor = "supervisor"
    admin = "admin"


ROLE_LABEL = {
    Role.officer: "审批人员",
    Role.window: "预审窗口",
    Role.rule_author: "规则维护",
    Role.supervisor: "监督人员",
    Role.admin: "系统管理员",
}


class Permission(StrEnum):
    view_cases = "view_cases"
    decide = "decide"                    # decide findings and cases
    run_review = "run_review"            # upload a package and review it
    issue_notice = "issue_notice"        # the one-time correction notice
    view_personal_data = "view_personal_data"  # unmasked resident ID numbers
    view_rules = "view_rules"
    edit_rules = "edit_rules"
    view_decisions = "view_decisions"    # every decision, by everyone
    view_audit = "view_audit"
    manage_accounts = "manage_accounts"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Officers verify identities against the registry, so they see full ID numbers.
    Role.officer: frozenset({P.view_cases, P.decide, P.run_review, P.view_personal_data, P.view_rules}),
    # The window hands the notice to the applicant; it needs the findings, not full ID numbers.
    Role.window: frozenset({P.view_cases, P.run_review, P.issue_notice}),
    Role.rule_author: frozenset({P.view_rules, P.edit_rules}),
    Role.supervisor: frozenset(
        {P.view_cases, P.view_personal_data, P.view_rules, P.view_decisions, P.view_audit}
    ),
    Role.admin: frozenset({P.manage_accounts, P.view_audit}),
}


class PermissionDenied(Exception):
    """The acting user's role does not allow the action (message in Chinese, for the user)."""

    def __init__(self, user: User | None, permission: Permission) -> None:
        who = f"{user.display_name}（{ROLE_LABEL[user.role]}）" if user else "未登录用户"
        super().__init__(f"{who}无权执行此操作：{PERMISSION_LABEL[permission]}")
        self.permission = permission


PERMISSION_LABEL = {
    P.view_cases: "查看案卷",
    P.decide: "作出审查决定",
    P.run_review: "上传材料并审查",
    P.issue_notice: "出具一次性告知补正通知书",
    P.view_personal_data: "查看完整身份证号",
    P.view_rules: "查看规则目录",
    P.edit_rules: "修改规则",
    P.view_decisions: "查看全部决定",
    P.view_audit: "查看审计记录",
    P.manage_accounts: "管理账户",
}


class User(BaseModel):
    """The acting user, as the service layer sees it (never carries the password hash)."""

    model_config = ConfigDict(frozen=True)

    id: int
    username: str
    display_name: str
    role: Role
    active: bool = True

    def can(self, permission: Permission) -> bool:
        return self.active and permission in ROLE_PERMISSIONS[self.role]


def require(user: User | None, permission: Permission) -> User:
    if user is None or not user.can(permission):
        raise PermissionDenied(user, permission)
    return user


class UserRow(Base):
    __tablename__ = "ui_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))


class NewUser(BaseModel):
    username: str = PydField(pattern=r"^[A-Za-z0-9_.-]{2,64}$")
    display_name: str = PydField(min_length=1, max_length=100)
    role: Role
    password: str = PydField(min_length=8, description="at least 8 characters")


_hasher = PasswordHasher()


def _user(row: UserRow) -> User:
    return User(id=row.id, username=row.username, display_name=row.display_name, role=Role(row.role),
                active=row.active)


def create_user(store: Store, new: NewUser, actor: User | None = None) -> User:
    """Add an account. `actor` None means the command line (an operator with shell access)."""
    from .audit import record
    from .decisions import ensure_tables

    ensure_tables(store)
    if actor is not None:
        require(actor, P.manage_accounts)
    with store.session() as session:
        if session.scalar(select(UserRow).where(UserRow.username == new.username)) is not None:
            raise ValueError(f"用户名已存在：{new.username}")
        row = UserRow(username=new.username, display_name=new.display_name, role=new.role.value,
                      password_hash=_hasher.hash(new.password), active=True)
        session.add(row)
        session.flush()
        record(session, actor.username if actor else "cli", "user_add", f"user:{new.username}",
               {"role": new.role.value}, "")
        return _user(row)


def set_active(store: Store, actor: User, username: str, active: bool, reason: str) -> None:
    from .audit import record
    from .decisions import ensure_tables

    ensure_tables(store)
    require(actor, P.manage_accounts)
    with store.session() as session:
        row = session.scalar(select(UserRow).where(UserRow.username == username))
        if row is None:
            raise KeyError(username)
        row.active = active
        record(session, actor.username, "user_active" if active else "user_disable", f"user:{username}", {}, reason)


def list_users(store: Store, actor: User | None = None) -> list[User]:
    from .decisions import ensure_tables

    ensure_tables(store)
    if actor is not None:
        require(actor, P.manage_accounts)
    with store.session() as session:
        return [_user(r) for r in session.scalars(select(UserRow).order_by(UserRow.id))]


def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user, or None; every attempt is in the audit trail (never the password)."""
    from .audit import record
    from .decisions import ensure_tables

    ensure_tables(store)
    with store.session() as session:
        row = session.scalar(select(UserRow).where(UserRow.username == username))
        ok = False
        if row is not None and row.active:
            try:
                ok = _hasher.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                ok = False
            if ok and _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = _hasher.hash(password)
        record(session, username if row is not None else "?", "login" if ok else "login_failed",
               f"user:{username}" if row is not None else "user:?", {}, "")
        return _user(row) if ok and row is not None else None


DEMO_ACCOUNTS: list[tuple[str, str, Role]] = [
    ("officer", "审批员 李明", Role.officer),
    ("officer2", "审批员 王芳", Role.officer),
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


# -- personal data ------------------------------------------------------------------

# One masking rule for every screen, notice and finding: registry_sync.normalize.
mask_ids = mask_ids_in_text
