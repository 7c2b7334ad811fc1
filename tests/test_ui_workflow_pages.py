"""The workflow pages under Streamlit's AppTest, against a real store: the queue's views and
clocks, recusal, second-officer review, collective decisions, decision documents, the
supervisor's oversight page, an officer's own conflicts, the calendar upload and the window's
dates. The same flows run in a real browser in tests/e2e/test_workflow_browser.py.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from shencha import service as svc
from shencha.service.permissions import NotAllowed, Recused
from shencha.store import Store

from .e2e.support import finding, login, synthetic_case
from .test_ui_pages import TIMEOUT, run_page, texts

HIGH_RISK = [finding(1), finding(2), finding(3)]  # three high-severity fails: 集体审议


@pytest.fixture
def store(tmp_path, monkeypatch) -> Store:
    url = f"sqlite:///{tmp_path / 'shencha.db'}"
    monkeypatch.setenv("SHENCHA_DB", url)
    monkeypatch.delenv("SHENCHA_WORKFLOW", raising=False)  # the shipped workflow.yaml: no signing key
    return Store(url)


def _case(store, company="江苏华建安装工程有限公司", uscc="91320106217527938X", findings=None, ran_by=None):
    report = synthetic_case(store, company=company, uscc=uscc, findings=findings, ran_by=ran_by)
    return store.report_row_id(report.report_id), report, int(report.report_id.split("-")[1])


def _overdue(store, app_id: int, who) -> None:
    old = date.today() - timedelta(days=150)
    svc.record_date(store, who, app_id, "received", old)
    svc.record_date(store, who, app_id, "accepted", old + timedelta(days=1))


def _oversight_page() -> None:
    from ui.views import supervisor

    supervisor.oversight()


def run_oversight(user_id: int):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_oversight_page, default_timeout=TIMEOUT)
    at.session_state["user_id"] = user_id
    return at.run()


def _buttons(at) -> set[str]:
    return {b.key for b in at.button if b.key}


# -- 待办案卷 --------------------------------------------------------------------------------

def test_queue_shows_clock_high_risk_assignee_and_pending_count_and_filters_by_view(store):
    officer, officer2, supervisor = login(store, "officer"), login(store, "officer2"), login(store, "supervisor")
    late_rid, _late, late_app = _case(store, company="甲公司（超期）", uscc="91110000000000001A", findings=[finding(1)])
    _overdue(store, late_app, officer)
    risky_rid, _risky, risky_app = _case(store, company="乙公司（高风险）", uscc="91110000000000002B",
                                         findings=HIGH_RISK)
    quiet_rid, quiet, _quiet_app = _case(store, company="丙公司", uscc="91110000000000003C", findings=[finding(1)])
    svc.assign(store, supervisor, risky_app, "officer")
    step = svc.decide_finding(store, officer2, quiet_rid, quiet.findings[0].id, "dismiss", "误报", 0)
    assert step.state == "pending_second_review"

    at = run_page("queue", officer.id)
    body = texts(at)
    assert at.segmented_control(key="queue_view").options == ["全部", "分配给我的", "未分配", "待我复核"]
    companies = [m.value for m in at.markdown if "公司" in m.value]
    assert companies[0] == "甲公司（超期）"  # the overdue clock first
    assert ":red[已超期" in body
    assert "高风险" in body and "高严重程度的不符合项达 3 项" in body
    assert "officer" in [m.value for m in at.markdown]  # 乙's assignee
    assert "**:orange[1]**（待我 1）" in body  # 丙: officer2's dismissal waits for another officer

    at.segmented_control(key="queue_view").set_value("mine").run()
    assert [m.value for m in at.markdown if "公司" in m.value] == ["乙公司（高风险）"]
    at.segmented_control(key="queue_view").set_value("second_review").run()
    assert [m.value for m in at.markdown if "公司" in m.value] == ["丙公司"]
    at.segmented_control(key="queue_view").set_value("unassigned").run()
    assert "乙公司（高风险）" not in [m.value for m in at.markdown]
    # officer2 made the step: nothing waits for *their* review
    at2 = run_page("queue", officer2.id)
    at2.segmented_control(key="queue_view").set_value("second_review").run()
    assert "暂无案卷" in texts(at2)
    # the supervisor neither is assigned nor reviews
    assert run_page("queue", supervisor.id).segmented_control(key="queue_view").options == ["全部", "未分配"]
    assert {late_rid, risky_rid, quiet_rid}


# -- 案卷办理 --------------------------------------------------------------------------------

def test_case_page_recusal_closes_the_case_to_the_officer(store):
    rid, _report, app_id = _case(store)
    officer = login(store, "officer")
    at = run_page("case", officer.id, case_report_id=rid)
    at.button(key="recuse_btn").click().run()
    assert "请填写理由" in texts(at)  # no reason, no recusal
    at.text_input(key="recuse_reason").input("申请企业法定代表人系本人近亲属")
    at.button(key="recuse_btn").click().run()
    body = texts(at)
    assert "须回避此案" in body and "本人已申请回避" in body and "此案卷已对您关闭" in body
    assert "问题清单" not in body
    with pytest.raises(Recused):
        svc.open_case(store, officer, rid)
    assert rid not in [c.report_id for c in svc.queue(store, officer)]
    # opening it by its key (the URL) is refused the same way
    at = run_page("case", officer.id)
    at.query_params["case"] = f"app-{app_id}-v1"
    at.run()
    assert "此案卷已对您关闭" in texts(at)


def test_case_page_dismissal_waits_for_a_second_officer(store):
    rid, report, _ = _case(store, findings=[finding(1)])
    fid = report.findings[0].id
    a, b = login(store, "officer"), login(store, "officer2")
    at = run_page("case", a.id, case_report_id=rid)
    at.text_input(key=f"reason_{rid}_{fid}").input("登记库已更新，证书有效")
    at.button(key="fd_dismiss").click().run()
    body = texts(at)
    assert "待复核" in body and "登记库已更新，证书有效" in body and "本人作出的决定" in body
    assert not [k for k in _buttons(at) if k.startswith("sr_")]  # A cannot confirm their own step
    step = svc.open_case(store, a, rid).findings[0].pending
    with pytest.raises(NotAllowed):
        svc.second_review(store, a, step.key, "confirm", "自己确认")

    at = run_page("case", b.id, case_report_id=rid)
    assert f"sr_confirm_{step.key}" in _buttons(at) and f"sr_return_{step.key}" in _buttons(at)
    at.button(key=f"sr_confirm_{step.key}").click().run()
    assert "请填写理由" in texts(at)
    at.text_input(key=f"sr_reason_{step.key}").input("已核对登记库，同意排除")
    at.button(key=f"sr_confirm_{step.key}").click().run()
    assert "复核确认，已生效" in texts(at)
    state = svc.open_case(store, a, rid).findings[0]
    assert state.decision.decision == "dismiss" and state.pending is None
    assert state.decision.second_review.actor == "officer2"


def test_case_page_returned_case_decision_does_not_take_effect(store):
    rid, _report, _ = _case(store, findings=[finding(1)])
    a, b = login(store, "officer"), login(store, "officer2")
    at = run_page("case", a.id, case_report_id=rid)
    at.text_area(key="case_reason").input("问题轻微，准予")
    at.button(key="cd_approve").click().run()
    assert "待另一名审批人员复核后生效" in texts(at)
    key = svc.open_case(store, a, rid).summary.pending_decision.key
    at = run_page("case", b.id, case_report_id=rid)
    at.text_input(key=f"sr_reason_{key}").input("存在不符合项，不宜准予")
    at.button(key=f"sr_return_{key}").click().run()
    assert "已退回" in texts(at)
    summary = svc.open_case(store, a, rid).summary
    assert summary.decision is None and summary.pending_decision is None
    assert svc.documents(store, a, summary.application_id) == []


def test_case_page_high_risk_refuses_grant_and_members_vote_in_the_panel(store):
    rid, _report, app_id = _case(store, findings=HIGH_RISK)
    officers = [login(store, n) for n in ("officer", "officer2", "officer3")]
    supervisor = login(store, "supervisor")
    at = run_page("case", officers[0].id, case_report_id=rid)
    assert "高风险案卷" in texts(at) and "尚未组织集体审议" in texts(at)
    at.text_area(key="case_reason").input("材料齐全")
    at.button(key="cd_approve").click().run()
    assert "须经集体审议作出准予或不予决定" in texts(at)
    assert svc.open_case(store, officers[0], rid).summary.decision is None

    panel = svc.convene_panel(store, supervisor, app_id, [o.username for o in officers], "高风险")
    for n, o in enumerate(officers):
        at = run_page("case", o.id, case_report_id=rid)
        assert f"vote_btn_{panel.id}" in _buttons(at)
        at.radio(key=f"vote_choice_{panel.id}").set_value("reject" if n == 2 else "approve")
        at.text_input(key=f"vote_reason_{panel.id}").input(f"第 {n + 1} 位成员的理由")
        at.button(key=f"vote_btn_{panel.id}").click().run()
        assert "表决意见已记录" in texts(at) and f"vote_btn_{panel.id}" not in _buttons(at)
    svc.close_panel(store, supervisor, panel.id, "三人表决，二比一准予")
    at = run_page("case", officers[0].id, case_report_id=rid)
    body = texts(at)
    assert "审议结果：准予（准予 2 票，不予 1 票）" in body and "三人表决，二比一准予" in body
    assert "行政许可决定书" in body  # the grant was issued


def test_case_page_offers_the_decision_document_as_docx_and_pdf(store):
    rid, _report, app_id = _case(store, findings=[])
    officer = login(store, "officer")
    at = run_page("case", officer.id, case_report_id=rid)
    at.text_area(key="case_reason").input("材料齐全，符合条件")
    at.button(key="cd_approve").click().run()
    body = texts(at)
    [doc] = svc.documents(store, officer, app_id)
    assert "案卷审查决定已记录：准予" in body and "准予行政许可决定书" in body and doc.number in body.replace("\\", "")
    assert "PDF 未签名" in body  # no signing key in the default workflow.yaml
    ids = {getattr(e.proto, "id", "") for e in at.get("download_button")}
    assert any(f"dl_decision_docx_{doc.id}" in i for i in ids) and any(f"dl_decision_pdf_{doc.id}" in i for i in ids)


# -- 案件督办 (supervisor) --------------------------------------------------------------------

def test_oversight_page_deadlines_assignment_conflicts_panel_and_expiring_licences(store):
    officers = [login(store, n) for n in ("officer", "officer2", "officer3")]
    supervisor = login(store, "supervisor")
    _late_rid, _, late_app = _case(store, company="甲公司（超期）", uscc="91110000000000001A", findings=[finding(1)])
    _overdue(store, late_app, officers[0])
    risky_rid, _, risky_app = _case(store, company="乙公司（高风险）", uscc="91110000000000002B",
                                    findings=HIGH_RISK)
    clean_rid, _, clean_app = _case(store, company="丙公司", uscc="91110000000000003C", findings=[])
    svc.decide_case(store, officers[0], clean_rid, "approve", "符合条件", 0)

    at = run_oversight(supervisor.id)
    body = texts(at)
    assert "时限预警（已超期 1 件" in body
    assert list(at.dataframe[0].value["申请单位"]) == ["甲公司（超期）"]
    assert list(at.dataframe[0].value["状态"]) == ["已超期"]

    # assignment: a named officer, then round-robin
    at.selectbox(key="assign_case").set_value(late_app).run()
    at.selectbox(key=f"assign_officer_{late_app}").set_value("officer2").run()
    at.button(key="assign_btn").click().run()
    assert "已分配给 officer2" in texts(at)
    assert {c.application_id: c.assigned_to for c in svc.queue(store, supervisor)}[late_app] == "officer2"
    at.selectbox(key="assign_case").set_value(risky_app).run()
    at.button(key="assign_btn").click().run()  # （轮流分配）: the least loaded officer
    assert {c.application_id: c.assigned_to for c in svc.queue(store, supervisor)}[risky_app] == "officer"

    # a conflict entered for officer3 closes 乙 to them: not offered for the panel
    at.selectbox(key="conflict_officer").set_value("officer3").run()
    at.text_input(key="conflict_value").input("91110000000000002B")
    at.button(key="conflict_btn").click().run()
    assert "请填写理由" in texts(at)
    at.text_input(key="conflict_reason").input("其配偶在该企业任职")
    at.button(key="conflict_btn").click().run()
    assert "已为 officer3 登记回避事项" in texts(at)
    with pytest.raises(Recused):
        svc.open_case(store, officers[2], risky_rid)
    assert at.multiselect(key="panel_members").options == ["officer", "officer2"]
    at.selectbox(key="withdraw_id").set_value(svc.conflicts(store, supervisor, "officer3")[0].id)
    at.text_input(key="withdraw_reason").input("登记有误")
    at.button(key="withdraw_btn").click().run()
    assert "已撤销" in texts(at)
    assert at.multiselect(key="panel_members").options == ["officer", "officer2", "officer3"]

    # convening needs three; then the members vote; closing records the majority
    at.multiselect(key="panel_members").set_value(["officer", "officer2"]).run()
    at.button(key="panel_convene").click().run()
    assert "至少需要 3 名" in texts(at)
    at.multiselect(key="panel_members").set_value(["officer", "officer2", "officer3"]).run()
    at.text_input(key="panel_reason").input("高风险案卷")
    at.button(key="panel_convene").click().run()
    [panel] = svc.open_case(store, supervisor, risky_rid, log_view=False).panels
    assert f"已组织第 {panel.id} 号集体审议" in texts(at)
    at.text_area(key=f"minutes_{panel.id}").input("会议纪要")
    at.button(key=f"panel_close_{panel.id}").click().run()
    assert "尚有成员未表决" in texts(at)
    for o, choice in zip(officers, ["reject", "reject", "approve"]):
        svc.vote(store, o, panel.id, choice, "表决理由")
    at.run()
    at.text_area(key=f"minutes_{panel.id}").input("二比一不予许可")
    at.button(key=f"panel_close_{panel.id}").click().run()
    assert "案卷审查决定：不予" in texts(at)
    decision = svc.open_case(store, supervisor, risky_rid, log_view=False).summary.decision
    assert decision.decision == "reject" and decision.actor == f"panel:{panel.id}"

    # the licence granted to 丙 today expires in 3 years: listed when the page's window reaches it
    assert "3 个月内到期的许可证（0）" in texts(at)
    [lic] = svc.licences(store, supervisor)
    assert lic.application_id == clean_app
    assert [x.number for x in svc.expiring(store, supervisor, today=lic.valid_until - timedelta(days=30))] == [lic.number]


def test_oversight_page_is_refused_to_an_officer(store):
    officer = login(store, "officer")
    assert "无权执行此操作" in texts(run_oversight(officer.id))


# -- 我的回避 ---------------------------------------------------------------------------------

def test_profile_page_declares_a_company_conflict_and_the_case_leaves_the_queue(store):
    rid, _report, _ = _case(store)
    officer = login(store, "officer")
    at = run_page("profile", officer.id)
    assert "您尚未登记回避事项" in texts(at)
    at.text_input(key="my_conflict_value").input("91320106217527938X")
    at.text_input(key="my_conflict_reason").input("本人曾在该企业任职")
    at.button(key="my_conflict_btn").click().run()
    assert "已登记" in texts(at)
    assert list(at.dataframe[0].value["企业或人员"]) == ["91320106217527938X"]
    assert rid not in [c.report_id for c in svc.queue(store, officer)]
    with pytest.raises(Recused):
        svc.open_case(store, officer, rid)
    # a person by ID number: shown masked
    at.radio(key="my_conflict_kind").set_value("person").run()
    at.text_input(key="my_conflict_value").input("11010519491231002X")
    at.text_input(key="my_conflict_reason").input("近亲属")
    at.button(key="my_conflict_btn").click().run()
    assert "110105********002X" in list(at.dataframe[0].value["企业或人员"])
    at.text_input(key="my_conflict_value").input("12345")
    at.text_input(key="my_conflict_reason").input("近亲属")
    at.button(key="my_conflict_btn").click().run()
    assert "身份证号码无效" in texts(at)


# -- 账户管理: 工作日历 -------------------------------------------------------------------------

def test_admin_page_loads_the_calendar_and_lists_every_bad_line(store):
    admin = login(store, "admin")
    at = run_page("admin", admin.id)
    at.text_area(key="calendar_text").input("日期,类型,名称\n2027-02-30,休,春节\n2027-02-06,上班,春节调休\n")
    at.button(key="calendar_btn").click().run()
    errors = [str(e.value) for e in at.error]
    assert "工作日历未导入，请改正以下问题后重新导入：" in errors
    assert any("第 2 行" in e and "2027\\-02\\-30" in e for e in errors)
    assert any("第 3 行" in e and "上班" in e for e in errors)
    at.text_area(key="calendar_text").input("日期,类型,名称\n2027-02-06,班,春节调休\n2027-02-11,休,春节\n")
    at.button(key="calendar_btn").click().run()
    assert "已导入 2 天" in texts(at)
    officer = login(store, "officer")
    assert "无权执行此操作" in texts(run_page("admin", officer.id))


# -- 预审窗口: dates ---------------------------------------------------------------------------

def test_prereview_page_records_received_and_accepted_dates(store):
    window = login(store, "window")
    report = synthetic_case(store, ran_by=window)
    app_id = int(report.report_id.split("-")[1])
    at = run_page("prereview", window.id, window_report=report.report_id)
    assert "当前法定时限：待受理" in texts(at)
    received = date.today() - timedelta(days=3)
    at.selectbox(key="window_date_kind").set_value("received")
    at.date_input(key="window_date_on").set_value(received)
    at.button(key="window_date_btn").click().run()
    assert f"已登记收件日期 {received}" in texts(at).replace("\\", "")
    at.selectbox(key="window_date_kind").set_value("accepted")
    at.date_input(key="window_date_on").set_value(received - timedelta(days=5))
    at.button(key="window_date_btn").click().run()
    assert "早于收件日期" in texts(at)  # refused by the service, in Chinese
    at.date_input(key="window_date_on").set_value(received + timedelta(days=1))
    at.button(key="window_date_btn").click().run()
    assert "已登记受理日期" in texts(at) and "剩余" in texts(at)
    officer = login(store, "officer")
    summary = next(c for c in svc.queue(store, officer) if c.application_id == app_id)
    assert summary.clock.stage == "审查中" and summary.clock.clock_start == received + timedelta(days=1)
