"""Each page's logic under Streamlit's AppTest, against a real store (no browser)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from checks.catalogue import load_registry
from shencha import service as svc
from shencha.service.audit import entries
from shencha.store import Store

from .e2e.support import RESIDENT_ID, finding, login, synthetic_case

TIMEOUT = 60  # the machine is shared; a first run imports the rule pack


def page(name: str) -> None:
    import importlib

    importlib.import_module(f"ui.views.{name}").render()


@pytest.fixture
def store(tmp_path, monkeypatch) -> Store:
    url = f"sqlite:///{tmp_path / 'shencha.db'}"
    monkeypatch.setenv("SHENCHA_DB", url)
    return Store(url)


def run_page(name: str, user_id: int | None, **state) -> AppTest:
    at = AppTest.from_function(page, args=(name,), default_timeout=TIMEOUT)
    if user_id is not None:
        at.session_state["user_id"] = user_id
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def texts(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.title]
    parts += [e.value for e in at.subheader] + [str(e.value) for e in at.info] + [str(e.value) for e in at.warning]
    parts += [str(e.value) for e in at.error] + [str(e.value) for e in at.success]
    return "\n".join(parts)


def test_login_page_rejects_a_wrong_password_and_lets_the_right_one_in(store):
    login(store, "officer")
    at = AppTest.from_file("../ui/app.py", default_timeout=TIMEOUT).run()
    at.text_input(key="login_username").input("officer")
    at.text_input(key="login_password").input("not-the-password")
    at.button[0].click().run()
    assert "用户名或密码错误" in texts(at)
    at.text_input(key="login_password").input("officer-demo-2026")
    at.button[0].click().run()
    assert at.session_state["user_id"] is not None
    assert "待办案卷" in texts(at)  # the officer lands on the queue


def test_queue_puts_high_risk_first_then_the_oldest(store):
    synthetic_case(store, company="甲公司（一项高风险）", uscc="91110000000000001A", findings=[finding(1)])
    synthetic_case(store, company="乙公司（三项高风险）", uscc="91110000000000002B",
                   findings=[finding(1), finding(2), finding(3)])
    synthetic_case(store, company="丙公司（一项高风险，较晚）", uscc="91110000000000003C", findings=[finding(1)])
    officer = login(store, "officer")
    at = run_page("queue", officer.id)
    shown = [m.value for m in at.markdown if "公司" in m.value]
    assert shown == ["乙公司（三项高风险）", "甲公司（一项高风险）", "丙公司（一项高风险，较晚）"]


def test_queue_is_refused_to_a_rule_author(store):
    author = login(store, "author")
    at = run_page("queue", author.id)
    assert "无权执行此操作" in texts(at)


def _case(store):
    report = synthetic_case(store)
    return store.report_row_id(report.report_id), report


def test_case_page_shows_evidence_and_records_finding_and_case_decisions(store):
    rid, report = _case(store)
    officer = login(store, "officer")
    at = run_page("case", officer.id, case_report_id=rid)
    body = texts(at)
    assert "问题清单（已处理 0/2）" in body and "登记库" in body and "建筑施工特种作业人员管理规定" in body
    assert RESIDENT_ID in body.replace("\\", "")  # the officer needs the full number
    reason_key = f"reason_{rid}_{report.findings[0].id}"
    at.button(key="fd_confirm").click().run()
    assert "请填写理由" in texts(at)  # no reason, no decision
    at.text_input(key=reason_key).input("证书已过期")
    at.button(key="fd_confirm").click().run()
    assert "已记录：确认问题" in texts(at)
    assert at.radio(key="finding_idx").value == 1  # moved on to the next finding
    at.text_area(key="case_reason").input("证书过期，要求补正")
    at.button(key="cd_correction").click().run()
    assert "案卷审查决定已记录：补正" in texts(at)
    view = svc.open_case(store, officer, rid)
    assert view.findings[0].decision.reason == "证书已过期" and view.case_history[0].decision == "correction"


def test_case_page_tells_the_second_officer_it_changed(store):
    rid, report = _case(store)
    a, b = login(store, "officer"), login(store, "officer2")
    at = run_page("case", b.id, case_report_id=rid)  # officer2 has the finding open (undecided) ...
    svc.decide_finding(store, a, rid, report.findings[0].id, "dismiss", "已核实", 0)  # ... officer decides first
    at.text_input(key=f"reason_{rid}_{report.findings[0].id}").input("我的理由")
    at.button(key="fd_confirm").click().run()
    assert "已被他人处理" in texts(at) and "排除" in texts(at)
    assert at.radio(key="finding_idx").value == 0
    # the page now shows officer's decision; deciding again supersedes it, nothing is lost
    at.text_input(key=f"reason_{rid}_{report.findings[0].id}").input("看过排除理由，仍确认")
    at.button(key="fd_confirm").click().run()
    history = svc.open_case(store, a, rid).findings[0].history
    assert [(d.actor, d.decision) for d in history] == [("officer", "dismiss"), ("officer2", "confirm")]


def test_case_page_compares_a_re_review_with_the_last_report(store):
    synthetic_case(store, findings=[finding(1), finding(2)])
    report = synthetic_case(store, findings=[finding(2), finding(3)])
    officer = login(store, "officer")
    at = run_page("case", officer.id, case_report_id=store.report_row_id(report.report_id))
    assert "复审对比（与第 1 版相比）：已整改 1 项，新出现 1 项，仍存在 1 项" in at.expander[0].label
    labels = [str(o) for o in at.radio(key="finding_idx").options]
    assert any("（新）" in x for x in labels) and any("（仍存在）" in x for x in labels)


def test_supervisor_reads_cases_but_has_no_decision_buttons(store):
    rid, _ = _case(store)
    supervisor = login(store, "supervisor")
    at = run_page("case", supervisor.id, case_report_id=rid)
    assert "问题清单" in texts(at)
    assert not [b for b in at.button if b.key and b.key.startswith(("fd_", "cd_"))]


def test_prereview_page_walks_findings_and_issues_the_notice(store):
    window = login(store, "window")
    report = synthetic_case(store, ran_by=window)
    at = run_page("prereview", window.id, window_report=report.report_id)
    assert "预审完成" in texts(at) and RESIDENT_ID not in texts(at).replace("\\", "")
    at.checkbox(key=f"notice_{report.report_id}_{report.findings[1].id}").uncheck().run()
    at.button(key="window_notice_btn").click().run()
    assert "通知书已生成" in texts(at)
    [issued] = [e for e in entries(store, None) if e.action == "issue_notice"]
    assert issued.detail["findings"] == [report.findings[0].id]
    assert _download_keys(at) == {"dl_docx", "dl_pdf"}


def _download_keys(at: AppTest) -> set[str]:
    keys = set()
    for e in at.get("download_button"):
        ident = getattr(e.proto, "id", "")
        keys |= {k for k in ("dl_docx", "dl_pdf") if k in ident}
    return keys


def test_prereview_page_is_refused_to_a_rule_author(store):
    author = login(store, "author")
    at = run_page("prereview", author.id)
    assert "无权执行此操作" in texts(at)


def test_rules_page_lists_the_catalogue_with_dismissal_counts_and_runs_examples(store):
    rid, report = _case(store)
    officer = login(store, "officer")
    step = svc.decide_finding(store, officer, rid, report.findings[0].id, "dismiss", "误报", 0)
    # Dismissing a `fail` counts once a second officer confirmed it (双人复核).
    svc.second_review(store, login(store, "officer2"), step.key, "confirm", "复核同意")
    author = login(store, "author")
    at = run_page("rules", author.id)
    table = at.dataframe[0].value
    row = table[table["规则编号"] == "registry.certificates.v1"].iloc[0]
    assert row["触发次数"] == 2 and row["被排除"] == 1 and row["排除率"] == "100%"
    tabled = next(spec.id for spec in load_registry() if spec.tables)
    at.selectbox(key="rule_pick").set_value(tabled).run()
    assert "数据表" in texts(at)  # the standard's table beside the rule
    at.selectbox(key="rule_pick").set_value("registry.certificates.v1").run()
    at.button(key="run_examples").click().run(timeout=120)
    assert "个示例" in texts(at)
    at.text_input(key="rule_change_text").input("严重程度改为中")
    at.text_area(key="rule_change_reason").input("多数被排除")
    at.button[-1].click().run()
    assert "已登记" in texts(at)
    assert [e.actor for e in entries(store, None) if e.action == "rule_change"] == ["author"]


def test_supervisor_page_shows_decisions_and_the_verification_result(store):
    rid, report = _case(store)
    officer = login(store, "officer")
    svc.decide_finding(store, officer, rid, report.findings[0].id, "confirm", "证书过期", 0)
    supervisor = login(store, "supervisor")
    at = run_page("supervisor", supervisor.id)
    assert "哈希链校验通过" in texts(at)
    assert list(at.dataframe[0].value["理由"]) == ["证书过期"]
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'intruder' WHERE seq = 2"))
    at = run_page("supervisor", supervisor.id)
    assert "审计记录被改动" in texts(at) and "第 2 条" in texts(at)


def test_admin_page_adds_an_account(store):
    admin = login(store, "admin")
    at = run_page("admin", admin.id)
    at.text_input[0].input("officer9")
    at.text_input[1].input("审批员 新人")
    at.selectbox[0].set_value("officer")
    at.text_input[2].input("a-long-password")
    at.button[0].click().run()
    from shencha.service.accounts import list_users

    assert "officer9" in {u.username for u in list_users(store)}


def test_admin_page_is_refused_to_an_officer(store):
    officer = login(store, "officer")
    assert "无权执行此操作" in texts(run_page("admin", officer.id))
