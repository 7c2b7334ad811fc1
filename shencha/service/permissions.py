"""Roles, what each may do, and the acting user as the store holds it now.

Permissions are checked on the server, by the service functions every
page and API call goes through, so a hidden button is never the only
guard; the acting account is re-read from the store on every check, so a
forged or stale `User` object carries no power of its own.

Duties are separated (GB/T 22239 level 3: 系统管理员 / 安全管理员 / 审计管理员):
the admin manages accounts and the working-day calendar but neither
decides, sees personal data nor reads the audit trail.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from registry_sync.normalize import mask_ids_in_text

from ..schema import UserRow
from ..store import Store


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
    view_cases = "view_cases"            # open a case (window staff: only those they reviewed)
    view_all_cases = "view_all_cases"    # the queue: every application's case
    decide = "decide"                    # decide findings and cases
    run_review = "run_review"            # upload a package and review it
    issue_notice = "issue_notice"        # the one-time correction notice
    view_personal_data = "view_personal_data"  # unmasked resident ID numbers
    view_rules = "view_rules"
    edit_rules = "edit_rules"
    view_decisions = "view_decisions"    # every decision, by everyone
    view_audit = "view_audit"
    manage_accounts = "manage_accounts"
    approve_accounts = "approve_accounts"  # the second person for a privileged role grant
    manage_conflicts = "manage_conflicts"  # enter or withdraw another officer's declared conflicts
    assign_cases = "assign_cases"          # assign cases to officers
    convene_panel = "convene_panel"        # convene and close a collective decision
    record_dates = "record_dates"          # received / accepted / correction dates of an application
    manage_calendar = "manage_calendar"    # load the official working-day calendar
    view_licences = "view_licences"        # the licence register
    correct_fields = "correct_fields"      # correct, add or strike out a value extraction read


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Officers verify identities against the registry, so they see full ID numbers.
    Role.officer: frozenset({P.view_cases, P.view_all_cases, P.decide, P.run_review, P.view_personal_data,
                             P.view_rules, P.record_dates, P.view_licences, P.correct_fields}),
    # The window hands the notice to the applicant; it needs the findings, not full ID numbers.
    # ... and corrects what the machine misread in the pre-review of the cases it reviewed.
    Role.window: frozenset({P.view_cases, P.run_review, P.issue_notice, P.record_dates, P.correct_fields}),
    Role.rule_author: frozenset({P.view_rules, P.edit_rules}),
    Role.supervisor: frozenset(
        {P.view_cases, P.view_all_cases, P.view_personal_data, P.view_rules, P.view_decisions, P.view_audit,
         P.approve_accounts, P.manage_conflicts, P.assign_cases, P.convene_panel, P.view_licences}
    ),
    # The system admin manages accounts and the calendar only; the supervisor audits its actions.
    Role.admin: frozenset({P.manage_accounts, P.manage_calendar}),
}

# Roles that decide cases or see full ID numbers: granting one needs a supervisor's approval.
PRIVILEGED_ROLES = frozenset(r for r, perms in ROLE_PERMISSIONS.items()
                             if perms & {P.decide, P.view_personal_data})


class PermissionDenied(Exception):
    """The acting user's role does not allow the action (message in Chinese, for the user)."""

    def __init__(self, user: User | None, permission: Permission) -> None:
        who = f"{user.display_name}（{ROLE_LABEL[user.role]}）" if user else "未登录用户"
        super().__init__(f"{who}无权执行此操作：{PERMISSION_LABEL[permission]}")
        self.permission = permission


PERMISSION_LABEL = {
    P.view_cases: "查看案卷",
    P.view_all_cases: "查看全部案卷",
    P.decide: "作出审查决定",
    P.run_review: "上传材料并审查",
    P.issue_notice: "出具一次性告知补正通知书",
    P.view_personal_data: "查看完整身份证号",
    P.view_rules: "查看规则目录",
    P.edit_rules: "修改规则",
    P.view_decisions: "查看全部决定",
    P.view_audit: "查看审计记录",
    P.manage_accounts: "管理账户",
    P.approve_accounts: "批准角色授予",
    P.manage_conflicts: "登记他人的回避事项",
    P.assign_cases: "分配案卷",
    P.convene_panel: "组织集体审议",
    P.record_dates: "登记受理、补正日期",
    P.manage_calendar: "导入工作日历",
    P.view_licences: "查看许可证登记簿",
    P.correct_fields: "更正识别结果",
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


def require(store: Store, user: User | None, permission: Permission) -> User:
    """The acting account as the store holds it now, if it may do `permission`.

    The role and state come from the store, not from the object passed in:
    a page's stale copy of a since-disabled account, or a `User` built by
    hand with another role, is refused.
    """
    fresh = fresh_user(store, user.id) if user is not None else None
    if fresh is None or fresh.username != user.username or not fresh.can(permission):
        raise PermissionDenied(fresh or user, permission)
    return fresh


def fresh_user(store: Store, user_id: int) -> User | None:
    """The account with this id as stored now (None when it does not exist)."""
    with store.session() as session:
        row = session.get(UserRow, user_id)
        return _user(row) if row is not None else None


def _user(row: UserRow) -> User:
    return User(id=row.id, username=row.username, display_name=row.display_name, role=Role(row.role),
                active=row.active)


# -- personal data ------------------------------------------------------------------

# One masking rule for every screen, notice and finding: registry_sync.normalize.
mask_ids = mask_ids_in_text


class Recused(PermissionDenied):
    """The officer is recused from this application (a declared conflict or a recusal)."""

    def __init__(self, user: User, why: str) -> None:
        Exception.__init__(self, f"{user.display_name}须回避此案：{why}")
        self.permission = Permission.view_cases
        self.why = why


class NotAllowed(PermissionDenied):
    """A step the role may take in general but not here (e.g. confirming one's own decision)."""

    def __init__(self, user: User, message_zh: str, permission: Permission = Permission.decide) -> None:
        Exception.__init__(self, message_zh)
        self.permission = permission
