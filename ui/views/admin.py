"""账户管理: local accounts and their roles; the official working-day calendar."""

from __future__ import annotations

import streamlit as st
from pydantic import ValidationError

from shencha.service.accounts import NewUser, create_user, list_users, pending_requests, set_active
from shencha.service.calendar import CalendarCsvError
from shencha.service.dates import load_calendar
from shencha.service.permissions import PRIVILEGED_ROLES, ROLE_LABEL, PermissionDenied, Role
from ui import common


def render() -> None:
    user = common.require_login()
    st.title("账户管理")
    store = common.store()
    try:
        users = list_users(store, user)
    except PermissionDenied as exc:
        common.denied(exc)
        return
    pending = {r.username for r in pending_requests(store, user)}
    st.dataframe([{"用户名": u.username, "姓名": common.plain(u.display_name), "角色": ROLE_LABEL[u.role],
                   "状态": "待监督人员批准" if u.username in pending else ("启用" if u.active else "停用")}
                  for u in users], hide_index=True, width="stretch")
    st.caption("授予" + "、".join(ROLE_LABEL[r] for r in Role if r in PRIVILEGED_ROLES)
               + "角色（可作出审查决定或查看完整身份证号）须经监督人员批准后账户才会启用。")
    with st.form("add_user", clear_on_submit=True):
        st.markdown("**新增账户**")
        username = st.text_input("用户名（字母、数字、._-）")
        name = st.text_input("姓名")
        role = st.selectbox("角色", list(Role), format_func=lambda r: ROLE_LABEL[r])
        password = st.text_input("初始密码（至少 8 位）", type="password")
        if st.form_submit_button("新增"):
            try:
                created = create_user(store, NewUser(username=username, display_name=name, role=role,
                                                     password=password), user)
                if created.active:
                    st.success(common.md(f"已新增账户 {username}。"))
                else:
                    st.info(common.md(f"已提交账户 {username} 的角色授予申请，待监督人员批准后启用。"))
            except ValidationError:
                st.error("用户名、姓名或密码不符合要求。")
            except (PermissionDenied, ValueError) as exc:
                st.error(common.md(str(exc)))
    with st.form("toggle_user"):
        st.markdown("**停用 / 启用账户**")
        target = st.selectbox("账户", [u.username for u in users if u.username != user.username])
        active = st.radio("操作", ["停用", "启用"], horizontal=True) == "启用"
        reason = st.text_input("理由")
        if st.form_submit_button("执行") and target:
            try:
                set_active(store, user, target, active, reason)
                st.success("已完成。")
                st.rerun()
            except (PermissionDenied, ValueError) as exc:
                st.error(common.md(str(exc)))
            except KeyError:
                st.error("找不到该账户。")
    _calendar(store, user)


def _calendar(store, user) -> None:
    """The official working-day arrangement (国务院办公厅 holiday notice) as a CSV: date,kind,name."""
    st.subheader("工作日历")
    st.caption("每年国务院办公厅公布节假日安排后，导入当年的放假日与调休上班日（CSV：日期,类型,名称；"
               "类型为“休”或“班”，如 2027-02-06,班,春节调休）。法定时限按导入后的工作日计算，后导入的覆盖先导入的。")
    upload = st.file_uploader("工作日历 CSV 文件", type=["csv"], key="calendar_file")
    pasted = st.text_area("或粘贴 CSV 内容", key="calendar_text", height=120)
    if st.button("导入工作日历", key="calendar_btn"):
        if upload is not None:
            raw = upload.getvalue()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                try:
                    text = raw.decode("gb18030")
                except UnicodeDecodeError:
                    st.error("无法识别文件编码，请另存为 UTF-8 编码的 CSV 后重试。")
                    return
        else:
            text = pasted
        if not text.strip():
            st.error("请上传或粘贴工作日历 CSV。")
            return
        try:
            n = load_calendar(store, user, text)
        except CalendarCsvError as exc:
            st.error("工作日历未导入，请改正以下问题后重新导入：")
            for line, problem in exc.problems:
                st.error(common.md(f"第 {line} 行：{problem}" if line else problem))
            return
        except PermissionDenied as exc:
            st.error(common.md(str(exc)))
            return
        st.success(f"已导入 {n} 天的节假日与调休安排。")
