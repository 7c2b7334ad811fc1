"""The authority's workflow in the service layer: recusal, assignment, second-officer review,
collective decisions, statutory clocks, decision documents and the licence register.

Every call goes through `shencha.service` on a real store (SQLite, and PostgreSQL when
SHENCHA_TEST_PG_URL is set), as the web app and the API make it.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from shencha import service as svc
from shencha.cli import app as cli_app
from shencha.service.accounts import NewUser
from shencha.service.permissions import ROLE_PERMISSIONS, NotAllowed, P, PermissionDenied, Recused, Role
from shencha.service.signing import create_signing_key, verify_pdf
from shencha.store import Store

from .e2e.support import RESIDENT_ID, finding, login, synthetic_case

CLEAN = [finding(2, "medium", "uncertain")]  # no `fail`: a grant takes effect at once
RISKY = [finding(1, category="registry.revoked"), finding(3, "medium", "uncertain")]  # a revoked certificate


@pytest.fixture
def store(store_url) -> Store:
    return Store(store_url)


@pytest.fixture
def people(store):
    return {name: login(store, name) for name in
            ("officer", "officer2", "officer3", "window", "author", "supervisor", "admin")}


def _case(store, company="江苏华建安装工程有限公司", uscc="91320106217527938X", findings=None, ran_by=None):
    report = synthetic_case(store, company=company, uscc=uscc, findings=findings, ran_by=ran_by)
    rid = store.report_row_id(report.report_id)
    return rid, report, int(report.report_id.split("-")[1])


# -- every role, every new action ------------------------------------------------------------

def _actions(store, rid, report, app_id, panel_id):
    fid = report.findings[0].id
    return {
        # action → (permission it needs, the call)
        "decide_finding": (P.decide, lambda u: svc.decide_finding(store, u, rid, fid, "confirm", "理由", 0)),
        "second_review": (P.decide, lambda u: svc.second_review(store, u, "F999", "confirm", "理由")),
        "awaiting_second_review": (P.decide, lambda u: svc.awaiting_second_review(store, u)),
        "declare_conflict_for_other": (P.manage_conflicts, lambda u: svc.declare_conflict(
            store, u, "company", "91310000MA1FL4XX2C", "亲属任职", officer="officer3")),
        "withdraw_conflict": (P.manage_conflicts, lambda u: svc.withdraw_conflict(store, u, 999, "理由")),
        "assign": (P.assign_cases, lambda u: svc.assign(store, u, app_id)),
        "convene_panel": (P.convene_panel, lambda u: svc.convene_panel(
            store, u, app_id, ["officer", "officer2", "officer3"], "高风险")),
        "close_panel": (P.convene_panel, lambda u: svc.close_panel(store, u, panel_id, "纪要")),
        "vote": (P.decide, lambda u: svc.vote(store, u, panel_id, "reject", "理由")),
        "record_date": (P.record_dates, lambda u: svc.record_date(store, u, app_id, "accepted", date.today())),
        "load_calendar": (P.manage_calendar, lambda u: svc.load_calendar(store, u, "date,kind,name\n2031-01-01,holiday,元旦\n")),
        "licences": (P.view_licences, lambda u: svc.licences(store, u)),
        "deadlines": (P.view_all_cases, lambda u: svc.deadlines(store, u)),
        "queue_second_review": (P.view_all_cases, lambda u: svc.queue(store, u, "second_review")),
    }


def test_every_role_is_refused_every_new_action_it_lacks(store, people):
    rid, report, app_id = _case(store, findings=RISKY, ran_by=people["window"])
    panel = svc.convene_panel(store, people["supervisor"], app_id, ["officer", "officer2", "officer3"], "高风险案卷")
    refused = 0
    for role_name in ("officer", "window", "author", "supervisor", "admin"):
        user = people[role_name]
        for action, (needed, call) in _actions(store, rid, report, app_id, panel.id).items():
            if needed in ROLE_PERMISSIONS[user.role]:
                continue
            with pytest.raises(PermissionDenied):
                call(user)
            refused += 1
    # officer 5 (conflicts ×2, assign, panels ×2, calendar), window 10, author 13, supervisor 4, admin 13:
    # the table is the role matrix, so this counts that each refusal was tried, not a guess.
    expected = sum(needed not in ROLE_PERMISSIONS[people[r].role]
                   for r in ("officer", "window", "author", "supervisor", "admin")
                   for needed, _ in _actions(store, rid, report, app_id, panel.id).values())
    assert refused == expected and refused >= 40


def test_a_disabled_account_is_refused_the_new_actions_too(store, people):
    _, _, app_id = _case(store)
    svc.set_active(store, people["admin"], "supervisor", False, "离岗")
    with pytest.raises(PermissionDenied):
        svc.assign(store, people["supervisor"], app_id)


# -- recusal ---------------------------------------------------------------------------------

def test_a_declared_company_conflict_closes_the_case_everywhere(store, people):
    officer, officer2 = people["officer"], people["officer2"]
    rid, report, app_id = _case(store)
    other_rid, _, _ = _case(store, company="浙江远恒建设工程有限公司", uscc="91330100MA27XK5U3L")
    svc.declare_conflict(store, officer, "company", "91320106217527938X", "配偶在该企业任职")
    assert [c.report_id for c in svc.queue(store, officer)] == [other_rid]
    assert rid in [c.report_id for c in svc.queue(store, officer2)]
    with pytest.raises(Recused, match="回避"):
        svc.open_case(store, officer, rid)
    with pytest.raises(Recused):
        svc.decide_finding(store, officer, rid, report.findings[0].id, "confirm", "理由", 0)
    with pytest.raises(Recused):
        svc.record_date(store, officer, app_id, "accepted", date.today())
    with pytest.raises(NotAllowed):
        svc.assign(store, people["supervisor"], app_id, "officer")
    # round-robin never picks the recused officer
    assert {svc.assign(store, people["supervisor"], app_id) for _ in range(4)} <= {"officer2", "officer3"}
    actions = [e.action for e in svc.entries(store, people["supervisor"])]
    assert "conflict_declare" in actions and "assign" in actions


def test_a_person_conflict_matches_anyone_listed_in_the_case(store, people):
    rid, _, _ = _case(store)  # its roster lists RESIDENT_ID
    svc.declare_conflict(store, people["supervisor"], "person", RESIDENT_ID, "近亲属", officer="officer2")
    with pytest.raises(Recused):
        svc.open_case(store, people["officer2"], rid)
    conflict = svc.conflicts(store, people["supervisor"], "officer2")[0]
    assert RESIDENT_ID not in conflict.value and conflict.value.endswith("4514")
    with pytest.raises(PermissionDenied):  # an officer cannot lift their own recusal
        svc.withdraw_conflict(store, people["officer2"], conflict.id, "已离婚")
    svc.withdraw_conflict(store, people["supervisor"], conflict.id, "关系已解除")
    assert svc.open_case(store, people["officer2"], rid).summary.report_id == rid


def test_an_officer_recuses_from_an_open_case(store, people):
    rid, _, app_id = _case(store)
    svc.recuse(store, people["officer"], app_id, "曾为该企业提供咨询")
    with pytest.raises(Recused, match="本人已申请回避"):
        svc.open_case(store, people["officer"], rid)
    assert rid not in [c.report_id for c in svc.queue(store, people["officer"])]


# -- assignment ------------------------------------------------------------------------------

def test_round_robin_evens_the_load_and_the_queue_views_follow(store, people):
    sup = people["supervisor"]
    apps = [_case(store, company=f"测试建设工程有限公司{i}", uscc=f"9132010621752{i:04d}X")[2] for i in range(6)]
    got = [svc.assign(store, sup, a) for a in apps]
    assert sorted(got) == ["officer", "officer", "officer2", "officer2", "officer3", "officer3"]
    mine = svc.queue(store, people["officer"], "mine")
    assert len(mine) == 2 and all(c.assigned_to == "officer" for c in mine)
    assert svc.queue(store, people["officer"], "unassigned") == []


# -- second-officer review -------------------------------------------------------------------

def test_dismissing_a_fail_waits_for_a_different_officer(store, people):
    a, b = people["officer"], people["officer2"]
    rid, report, _ = _case(store)
    fid = report.findings[0].id
    step = svc.decide_finding(store, a, rid, fid, "dismiss", "已核实换证", 0)
    assert step.state == "pending_second_review" and step.second_review_needed == "dismiss_fail"
    state = next(s for s in svc.open_case(store, a, rid).findings if s.finding.id == fid)
    assert state.decision is None and state.pending.key == step.key  # no effect yet
    with pytest.raises(NotAllowed, match="不能复核本人"):
        svc.second_review(store, a, step.key, "confirm", "我确认")
    assert [r.key for r in svc.awaiting_second_review(store, b)] == [step.key]
    assert svc.awaiting_second_review(store, a) == []
    assert [c.report_id for c in svc.queue(store, b, "second_review")] == [rid]
    done = svc.second_review(store, b, step.key, "confirm", "复核同意")
    assert done.state == "effective" and done.second_review.actor == "officer2"
    state = next(s for s in svc.open_case(store, a, rid).findings if s.finding.id == fid)
    assert state.decision.decision == "dismiss" and state.pending is None
    with pytest.raises(svc.DecisionConflict):  # confirmed once, never twice
        svc.second_review(store, people["officer3"], step.key, "return", "再看看")


def test_a_returned_step_lapses_and_an_uncertain_dismissal_needs_nobody(store, people):
    a, b = people["officer"], people["officer2"]
    rid, report, _ = _case(store)
    step = svc.decide_finding(store, a, rid, report.findings[0].id, "dismiss", "误报", 0)
    back = svc.second_review(store, b, step.key, "return", "证书确已过期")
    assert back.state == "returned"
    state = next(s for s in svc.open_case(store, a, rid).findings if s.finding.id == report.findings[0].id)
    assert state.decision is None and state.pending is None
    uncertain = report.findings[1]
    assert svc.decide_finding(store, a, rid, uncertain.id, "dismiss", "已核对原件", 0).state == "effective"


def test_granting_with_a_fail_waits_and_then_issues_licence_and_document(store, people):
    a, b = people["officer"], people["officer2"]
    rid, report, app_id = _case(store)
    step = svc.decide_case(store, a, rid, "approve", "已整改", 0)
    assert step.state == "pending_second_review" and step.second_review_needed == "grant_with_fail"
    assert svc.documents(store, a, app_id) == [] and svc.licences(store, a) == []
    svc.second_review(store, b, step.key, "confirm", "同意准予")
    docs = svc.documents(store, a, app_id)
    assert [d.kind for d in docs] == ["grant"]
    lic = svc.licences(store, a)
    assert len(lic) == 1 and lic[0].valid_until == lic[0].valid_from.replace(year=lic[0].valid_from.year + 3) - timedelta(days=1)
    name, docx = svc.document_file(store, a, docs[0].id, "docx")
    assert name.endswith(".docx") and docx[:2] == b"PK"


# -- collective decisions --------------------------------------------------------------------

def test_a_high_risk_case_is_decided_only_by_a_panel_of_three(store, people):
    sup = people["supervisor"]
    rid, report, app_id = _case(store, findings=RISKY)
    view = svc.open_case(store, people["officer"], rid)
    assert view.summary.high_risk == ["存在被撤销或暂扣的证书"]
    with pytest.raises(NotAllowed, match="集体审议"):
        svc.decide_case(store, people["officer"], rid, "reject", "证书被撤销", 0)
    # any finding decision on it waits for a second officer
    assert svc.decide_finding(store, people["officer"], rid, report.findings[0].id, "confirm", "撤销属实",
                              0).second_review_needed == "high_risk"
    with pytest.raises(ValueError, match="至少需要 3"):
        svc.convene_panel(store, sup, app_id, ["officer", "officer2"], "")
    svc.recuse(store, people["officer3"], app_id, "同乡")
    with pytest.raises(NotAllowed, match="回避"):
        svc.convene_panel(store, sup, app_id, ["officer", "officer2", "officer3"], "")
    for name in ("officer4", "officer5"):
        svc.create_user(store, NewUser(username=name, display_name=f"审批员 {name}", role=Role.officer,
                                       password=f"{name}-demo-2026"))
    officer4, officer5 = (svc.authenticate(store, n, f"{n}-demo-2026") for n in ("officer4", "officer5"))
    panel = svc.convene_panel(store, sup, app_id, ["officer", "officer2", "officer4"], "证书被撤销")
    svc.vote(store, people["officer"], panel.id, "reject", "主要负责人证书被撤销")
    with pytest.raises(NotAllowed, match="尚有成员未表决"):
        svc.close_panel(store, sup, panel.id, "纪要")
    with pytest.raises(NotAllowed, match="重复表决"):
        svc.vote(store, people["officer"], panel.id, "approve", "改主意")
    with pytest.raises(NotAllowed, match="不是本次"):
        svc.vote(store, officer5, panel.id, "approve", "我也投")
    svc.vote(store, people["officer2"], panel.id, "reject", "同意不予")
    svc.vote(store, officer4, panel.id, "approve", "已换证")
    closed = svc.close_panel(store, sup, panel.id, "三人到会，二比一不予许可。")
    assert closed.closed and closed.outcome == "reject" and closed.tally == {"reject": 2, "approve": 1}
    view = svc.open_case(store, people["officer"], rid)
    decision = view.summary.decision
    assert decision.decision == "reject" and decision.panel_id == panel.id and decision.actor == f"panel:{panel.id}"
    assert all(v in decision.reason for v in ("主要负责人证书被撤销", "同意不予", "已换证"))
    assert [d.kind for d in svc.documents(store, people["officer"], app_id)] == ["refuse"]
    with pytest.raises(NotAllowed, match="已结束"):
        svc.close_panel(store, sup, panel.id, "再开一次")


def test_a_panel_without_a_majority_cannot_close(store, people):
    sup = people["supervisor"]
    login(store, "officer3")
    _, _, app_id = _case(store, findings=RISKY)
    panel = svc.convene_panel(store, sup, app_id, ["officer", "officer2", "officer3"], "")
    for name, choice in (("officer", "reject"), ("officer2", "approve"), ("officer3", "correction")):
        svc.vote(store, people[name], panel.id, choice, "意见")
    with pytest.raises(NotAllowed, match="未形成多数意见"):
        svc.close_panel(store, sup, panel.id, "纪要")


# -- statutory clocks ------------------------------------------------------------------------

def test_an_overdue_case_is_first_in_the_queue_and_on_the_deadline_list(store, people):
    officer, window = people["officer"], people["window"]
    _case(store, company="新近受理建设有限公司", uscc="91320106217520001X")
    late_rid, _, late_app = _case(store, company="逾期未决建设有限公司", uscc="91320106217520002X", ran_by=window)
    long_ago = date.today() - timedelta(days=120)
    svc.record_date(store, window, late_app, "received", long_ago)
    clock = svc.record_date(store, window, late_app, "accepted", long_ago + timedelta(days=1))
    assert clock.overdue and clock.days_left < 0 and "已超期" in clock.label_zh
    ranked = svc.queue(store, officer)
    assert ranked[0].report_id == late_rid and ranked[0].clock.overdue
    assert [c.report_id for c in svc.deadlines(store, people["supervisor"])] == [late_rid]


def test_the_correction_notice_stops_the_clock(store, people):
    window = people["window"]
    rid, report, app_id = _case(store, ran_by=window)
    svc.record_date(store, window, app_id, "accepted", date.today())
    svc.issue_notice(store, window, rid, [report.findings[0].id])
    clock = svc.open_case(store, window, rid).summary.clock
    assert clock.paused and "补正" in clock.stage
    with pytest.raises(NotAllowed):
        svc.record_date(store, window, app_id, "decided", date.today())


def test_the_official_calendar_csv_moves_a_deadline(store, people):
    from shencha.service.calendar import CalendarCsvError

    with pytest.raises(CalendarCsvError, match="第2行"):
        svc.load_calendar(store, people["admin"], "date,kind,name\n2031-13-01,holiday,错\n")
    officer = people["officer"]
    rid, _, app_id = _case(store)
    svc.record_date(store, officer, app_id, "accepted", date.today())
    before = svc.open_case(store, officer, rid).summary.clock.decision_due
    # Declare the ten working days before the deadline days off: the deadline moves later.
    days, d = [], before
    while len(days) < 10:
        d -= timedelta(days=1)
        if d.weekday() < 5:
            days.append(d)
    csv = "date,kind,name\n" + "".join(f"{x.isoformat()},holiday,测试假日\n" for x in days)
    assert svc.load_calendar(store, people["admin"], csv) == 10
    after = svc.open_case(store, officer, rid).summary.clock.decision_due
    assert after > before


# -- the signed decision document ------------------------------------------------------------

def test_the_issued_pdf_is_signed_and_a_changed_byte_fails_verification(store, people, tmp_path, monkeypatch):
    p12, cert = create_signing_key(tmp_path / "key", "某省应急管理厅", passphrase="测试口令-2026")
    workflow = tmp_path / "workflow.yaml"
    workflow.write_text(f"signing:\n  pkcs12: {p12}\n  passphrase_env: TEST_SIGNING_PASS\n", encoding="utf-8")
    monkeypatch.setenv("SHENCHA_WORKFLOW", str(workflow))
    monkeypatch.setenv("TEST_SIGNING_PASS", "测试口令-2026")
    rid, _, app_id = _case(store, findings=CLEAN)
    svc.decide_case(store, people["officer"], rid, "approve", "材料齐全，条件具备", 0)
    doc = svc.documents(store, people["officer"], app_id)[0]
    assert doc.signed
    _, pdf = svc.document_file(store, people["officer"], doc.id, "pdf")
    check = verify_pdf(pdf, [cert])
    assert check.ok and check.trusted
    issued, tampered = tmp_path / "issued.pdf", tmp_path / "tampered.pdf"
    issued.write_bytes(pdf)
    changed = bytearray(pdf)
    at = pdf.index(b"/Type /Page") if b"/Type /Page" in pdf else len(pdf) // 3
    changed[at + 1] ^= 0x01
    tampered.write_bytes(bytes(changed))
    runner = CliRunner()
    assert runner.invoke(cli_app, ["verify-signature", str(issued), "--trust", str(cert)]).exit_code == 0
    assert runner.invoke(cli_app, ["verify-signature", str(tampered), "--trust", str(cert)]).exit_code == 1


def test_decision_numbers_are_never_reused(store, people):
    numbers = []
    for i in range(3):
        rid, _, app_id = _case(store, company=f"号码测试建设有限公司{i}", uscc=f"9132010621753{i:04d}X", findings=CLEAN)
        svc.decide_case(store, people["officer"], rid, "reject" if i == 1 else "approve", "理由", 0)
        numbers += [d.number for d in svc.documents(store, people["officer"], app_id)]
    year = date.today().year
    assert numbers == [f"安许决字〔{year}〕{n:04d}号" for n in (1, 2, 3)]


def test_licences_expiring_within_three_months_are_listed(store, people):
    rid, _, app_id = _case(store, findings=CLEAN)
    svc.decide_case(store, people["officer"], rid, "approve", "条件具备", 0)
    lic = svc.licences(store, people["supervisor"])[0]
    assert svc.expiring(store, people["supervisor"]) == []
    near_end = lic.valid_until - timedelta(days=60)
    assert [x.number for x in svc.expiring(store, people["supervisor"], today=near_end)] == [lic.number]
    # The renewal is a new application of the same company: its licence continues the first one.
    renewal = synthetic_case(store, findings=CLEAN, key="延续申请-2029")
    svc.decide_case(store, people["officer"], store.report_row_id(renewal.report_id), "approve", "延续", 0)
    newest = max(svc.licences(store, people["supervisor"]), key=lambda x: x.id)
    assert newest.number != lic.number and newest.previous_number == lic.number


# -- a scripted day of work ------------------------------------------------------------------

def test_a_day_of_work_leaves_a_trail_that_verifies_and_names_an_edited_entry(store, people):
    """50 cases, 3 officers, 1 supervisor: assignments, decisions, second reviews, a panel, dates."""
    rng = random.Random(7)
    officers = [people["officer"], people["officer2"], people["officer3"]]
    sup, window = people["supervisor"], people["window"]
    cases = []
    for i in range(50):
        findings = RISKY if i % 10 == 0 else CLEAN if i % 3 == 0 else None
        rid, report, app_id = _case(store, company=f"日常测试建设有限公司{i:02d}", uscc=f"9132010621760{i:04d}X",
                                    findings=findings)
        received = date.today() - timedelta(days=rng.randint(1, 60))
        svc.record_date(store, people["officer"], app_id, "received", received)
        svc.record_date(store, people["officer"], app_id, "accepted", received + timedelta(days=1))
        cases.append((rid, report, app_id, findings is RISKY))
    by_name = {o.username: o for o in officers}
    for rid, report, app_id, risky in cases:
        who = by_name[svc.assign(store, sup, app_id)]
        other = next(o for o in officers if o.username != who.username)
        if risky:
            panel = svc.convene_panel(store, sup, app_id, [o.username for o in officers], "高风险")
            for o in officers:
                svc.vote(store, o, panel.id, "reject", "证书被撤销")
            svc.close_panel(store, sup, panel.id, "一致不予许可")
            continue
        for f in report.findings:
            step = svc.decide_finding(store, who, rid, f.id, rng.choice(["confirm", "dismiss", "correction"]),
                                      "核对原件", 0)
            if step.state == "pending_second_review":
                svc.second_review(store, other, step.key, rng.choice(["confirm", "return"]), "复核")
        case_step = svc.decide_case(store, who, rid, rng.choice(["approve", "correction"]), "审查完毕", 0)
        if case_step.state == "pending_second_review":
            svc.second_review(store, other, case_step.key, "confirm", "同意")
    result = svc.verify(store, sup)
    assert result.ok, result.problems
    assert result.entries >= 300
    # Someone turns a returned second review into a confirmation, in the database, behind the app's back.
    with store.engine.begin() as conn:
        row = conn.execute(text("SELECT id, audit_seq FROM second_reviews WHERE action = 'return' LIMIT 1")).first()
        assert row is not None
        conn.execute(text("UPDATE second_reviews SET action = 'confirm' WHERE id = :id"), {"id": row.id})
    broken = svc.verify(store, sup)
    assert not broken.ok
    assert any(f"复核记录 #{row.id}" in p and f"第 {row.audit_seq} 条" in p for p in broken.problems)


def test_window_staff_record_dates_only_for_the_applications_they_reviewed(store, people):
    window = people["window"]
    _, _, theirs = _case(store, company="窗口受理建设有限公司", uscc="91320106217520011X", ran_by=window)
    _, _, other = _case(store, company="他人受理建设有限公司", uscc="91320106217520012X")
    assert svc.record_date(store, window, theirs, "accepted", date.today()).stage
    with pytest.raises(PermissionDenied):
        svc.record_date(store, window, other, "accepted", date.today())
