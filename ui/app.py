"""The reviewer web app (streamlit run ui/app.py, or `shencha ui`).

Which pages a user gets depends on the role; what a user may do is checked
again on the server side by `shencha.service` whatever page calls it.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run ui/app.py` puts ui/ on sys.path, not the repository root.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st

from shencha.service.permissions import Role
from ui import common
from ui.views import admin, case, login, prereview, profile, queue, rules, supervisor


def main() -> None:
    st.set_page_config(page_title="审查 · 安全生产许可审查助手", layout="wide")
    user = common.current_user()
    if user is None:
        nav = st.navigation([st.Page(login.render, title="登录", url_path="login", default=True)],
                           position="hidden")
        nav.run()
        return
    pages = {
        "queue": st.Page(queue.render, title="待办案卷", url_path="queue"),
        "case": st.Page(case.render, title="案卷办理", url_path="case"),
        "prereview": st.Page(prereview.render, title="预审窗口", url_path="prereview"),
        "rules": st.Page(rules.render, title="规则维护", url_path="rules"),
        "profile": st.Page(profile.render, title="我的回避", url_path="conflicts"),
        "oversight": st.Page(supervisor.oversight, title="案件督办", url_path="oversight"),
        "supervisor": st.Page(supervisor.render, title="监督与审计", url_path="supervisor"),
        "admin": st.Page(admin.render, title="账户管理", url_path="admin"),
    }
    by_role = {
        Role.officer: ["queue", "case", "profile", "rules"],
        Role.window: ["prereview"],
        Role.rule_author: ["rules"],
        Role.supervisor: ["oversight", "supervisor", "queue", "case"],
        Role.admin: ["admin"],  # the system admin does not audit itself: the supervisor does
    }
    names = by_role[user.role]
    st.session_state["_pages"] = {n: pages[n] for n in names}
    nav = st.navigation([pages[n] for n in names])
    with st.sidebar:
        st.markdown(f"**{common.md(user.display_name)}**  \n{common.role_label(user)}")
        if st.button("退出登录", key="logout"):
            common.logout()
            st.rerun()
    nav.run()


main()
