"""Each role's forbidden actions fail in the service layer (server side), whatever the page shows."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from shencha import service as svc
from shencha.schema import UserRow
from shencha.service.accounts import NewUser, authenticate, create_user, list_users, set_active
from shencha.service.audit import entries
from shencha.service.notice import issue_notice
from shencha.service.permissions import PermissionDenied, Role, mask_ids
from shencha.store import Store

from .e2e.support import RESIDENT_ID, login, synthetic_case


@pytest.fixture
def store(store_url) -> Store:
    return Store(store_url)


@pytest.fixture
def case(store):
    report = synthetic_case(store)
    return store.report_row_id(report.report_id), report


def _forbidden(call) -> None:
    with pytest.raises(PermissionDenied):
        call()


def test_window_staff_cannot_decide(store, case):
    rid, report = case
    window = login(store, "window")
    _forbidden(lambda: svc.decide_finding(store, window, rid, report.findings[0].id, "confirm", "理由", 0))
    _forbidden(lambda: svc.decide_case(store, window, rid, "approve", "理由", 0))
    _forbidden(lambda: svc.all_decisions(store, window))
    _forbidden(lambda: svc.record_rule_change(store, window, "registry.certificates.v1", "停用", "理由"))


def test_officer_cannot_edit_rules_accounts_or_issue_notices(store, case):
    rid, report = case
    officer = login(store, "officer")
    _forbidden(lambda: svc.record_rule_change(store, officer, "registry.certificates.v1", "停用", "误报多"))
    _forbidden(lambda: create_user(store, NewUser(username="x1", display_name="x", role=Role.admin,
                                                  password="12345678"), officer))
    _forbidden(lambda: list_users(store, officer))
    _forbidden(lambda: issue_notice(store, officer, rid, [report.findings[0].id]))
    _forbidden(lambda: svc.all_decisions(store, officer))


def test_rule_author_supervisor_admin_cannot_decide(store, case):
    rid, report = case
    author, supervisor, admin = (login(store, n) for n in ("author", "supervisor", "admin"))
    for user in (author, supervisor, admin):
        _forbidden(lambda u=user: svc.decide_finding(store, u, rid, report.findings[0].id, "dismiss", "理由", 0))
        _forbidden(lambda u=user: svc.decide_case(store, u, rid, "reject", "理由", 0))
    _forbidden(lambda: svc.queue(store, author))
    _forbidden(lambda: svc.open_case(store, author, rid))
    _forbidden(lambda: svc.open_case(store, admin, rid))
    _forbidden(lambda: svc.run_review(store, supervisor, Path("/nonexistent")))
    _forbidden(lambda: svc.rule_stats(store, admin))
    _forbidden(lambda: set_active(store, supervisor, "officer", False, "测试"))
    # what they may do still works
    svc.record_rule_change(store, author, "registry.certificates.v1", "严重程度改为中", "多数被排除")
    assert svc.all_decisions(store, supervisor) == []
    assert {u.username for u in list_users(store, admin)} == {"author", "supervisor", "admin"}


def test_a_disabled_account_can_do_nothing(store, case):
    rid, _report = case
    officer = login(store, "officer")
    admin = login(store, "admin")
    set_active(store, admin, "officer", False, "离岗")
    assert authenticate(store, "officer", "officer-demo-2026") is None
    stale = officer.model_copy(update={"active": False})
    _forbidden(lambda: svc.decide_case(store, stale, rid, "approve", "理由", 0))


def test_passwords_are_argon2_hashes_and_wrong_ones_fail(store):
    login(store, "officer")
    with store.session() as session:
        stored = session.scalar(select(UserRow.password_hash).where(UserRow.username == "officer"))
    assert stored.startswith("$argon2id$") and "officer-demo-2026" not in stored
    assert authenticate(store, "officer", "wrong-password") is None
    assert authenticate(store, "nobody", "whatever-password") is None
    assert {e.action for e in entries(store, None)} >= {"login", "login_failed"}


def test_resident_ids_are_masked_for_roles_that_do_not_need_them(store, case):
    rid, report = case
    masked_id = "110101********4514"
    window = login(store, "window")
    svc.record_review_run(store, window, report)  # window staff open the cases they reviewed
    view = svc.open_case(store, window, rid)
    assert view.masked
    text = view.report.model_dump_json()
    assert RESIDENT_ID not in text and masked_id in text
    assert view.redactions == {"d001|1": [[50.0, 50.0, 200.0, 62.0]]}  # the scan is blacked out too
    assert not [e for e in entries(store, None) if e.action == "view_personal_data"]

    officer = login(store, "officer")
    full = svc.open_case(store, officer, rid)
    assert not full.masked and RESIDENT_ID in full.report.model_dump_json() and not full.redactions
    [viewed] = [e for e in entries(store, None) if e.action == "view_personal_data"]
    assert viewed.actor == "officer" and RESIDENT_ID not in viewed.model_dump_json()


def test_mask_ids_keeps_first_six_and_last_four_and_leaves_uscc_alone():
    assert mask_ids("身份证 110101199003074514。") == "身份证 110101********4514。"
    assert mask_ids("T11010119900307451X") == "T110101********451X"
    assert mask_ids("91320106217527938X") == "91320106217527938X"


def test_recorded_decisions_cannot_be_edited_or_deleted_only_superseded(store, case):
    rid, report = case
    officer = login(store, "officer")
    fid = report.findings[0].id
    first = svc.decide_finding(store, officer, rid, fid, "confirm", "证书过期", 0)
    second = svc.decide_finding(store, officer, rid, fid, "correction", "核实已换证，补交新证", first.version)
    state = next(s for s in svc.open_case(store, officer, rid).findings if s.finding.id == fid)
    assert state.decision.id == second.id and [d.id for d in state.history] == [first.id, second.id]
    assert state.history[0].decision == "confirm" and state.history[0].reason == "证书过期"
    # the service layer offers no way to change or remove a decision
    assert not [n for n in dir(svc) if any(w in n.lower() for w in ("edit", "delete", "update", "remove"))]


def test_second_officer_sees_the_change_and_decides_again(store, case):
    rid, report = case
    a, b = login(store, "officer"), login(store, "officer2")
    fid = report.findings[0].id
    # both opened the case when it was undecided (version 0)
    svc.decide_finding(store, a, rid, fid, "confirm", "证书过期", 0)
    with pytest.raises(svc.DecisionConflict) as conflict:
        svc.decide_finding(store, b, rid, fid, "dismiss", "已换证", 0)
    assert conflict.value.current.actor == "officer" and conflict.value.current.decision == "confirm"
    assert "已被他人处理" in str(conflict.value)
    svc.decide_finding(store, b, rid, fid, "correction", "看过 officer 的决定，要求补正", conflict.value.current.version)
    history = next(s for s in svc.open_case(store, a, rid).findings if s.finding.id == fid).history
    assert [(d.actor, d.decision) for d in history] == [("officer", "confirm"), ("officer2", "correction")]
    # and the same for the case decision
    svc.decide_case(store, a, rid, "correction", "要求补正", 0)
    with pytest.raises(svc.DecisionConflict):
        svc.decide_case(store, b, rid, "approve", "准予", 0)


def test_simultaneous_decisions_one_wins_one_conflicts(store, case):
    rid, report = case
    users = [login(store, "officer"), login(store, "officer2")]
    fid = report.findings[1].id
    barrier = threading.Barrier(2)
    outcome: list[str] = []

    def decide(user):
        barrier.wait()
        try:
            svc.decide_finding(store, user, rid, fid, "confirm", f"{user.username} 的理由", 0)
            outcome.append("ok")
        except svc.DecisionConflict:
            outcome.append("conflict")

    threads = [threading.Thread(target=decide, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcome) == ["conflict", "ok"]
    history = next(s for s in svc.open_case(store, users[0], rid).findings if s.finding.id == fid).history
    assert len(history) == 1


def test_a_decision_needs_a_reason(store, case):
    rid, report = case
    officer = login(store, "officer")
    with pytest.raises(ValueError, match="理由"):
        svc.decide_finding(store, officer, rid, report.findings[0].id, "confirm", "  ", 0)


def test_mask_ids_masks_invalid_ids_too_but_not_company_codes():
    # A mistyped ID (month 13, wrong check digit) is still someone's number.
    assert mask_ids("身份证 110101199013324519") == "身份证 110101********4519"
    assert mask_ids("11010119900307451X") == "110101********451X"  # check digit wrong
    assert mask_ids("身份证：１１０１０１１９９００３０７４５１４") == "身份证：１１０１０１********４５１４"  # full width
    # An all-digit USCC (its check character holds, the ID check fails) stays whole.
    assert mask_ids("代码 911100000000000074") == "代码 911100000000000074"
