"""登录."""

from __future__ import annotations

import streamlit as st

from shencha.service.accounts import LoginThrottled, authenticate
from ui import common


def render() -> None:
    st.title("审查 · 安全生产许可审查助手")
    st.subheader("登录")
    with st.form("login"):
        username = st.text_input("用户名", key="login_username")
        password = st.text_input("密码", type="password", key="login_password")
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        try:
            user = authenticate(common.store(), username.strip(), password, common.client_address())
        except LoginThrottled as exc:
            st.error(str(exc))
            return
        if user is None:
            st.error("用户名或密码错误，或账户已停用。")
            return
        common.login(user)
        st.rerun()
