"""The authority's workflow in a real browser: Playwright drives Debian's Chromium against
`streamlit run ui/app.py` on a temporary SQLite store, one flow per test.

- a recused officer cannot see the case (queue, page state, direct URL, service);
- a dismissal of a `fail` finding waits for a second officer;
- a high-risk case is decided only by a collective panel (集体审议) whose votes are recorded;
- an overdue case is flagged in the queue;
- the decision document downloads as .docx and as a PDF signed with the authority's key.

The server runs with a workflow file (SHENCHA_WORKFLOW) naming a signing key created for the
test, and its passphrase in the environment. Screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
import yaml

from shencha import service as svc
from shencha.service.permissions import NotAllowed, Recused
from shencha.service.signing import SignatureCheck, create_signing_key, verify_pdf
from shencha.store import Store

from ..conftest import REPO
from .support import finding, login, streamlit_server, synthetic_case
from .test_browser import ARTIFACTS, _login, browser  # noqa: F401 - the Chromium fixture

pytestmark = pytest.mark.slow

PASSPHRASE_ENV = "SHENCHA_E2E_SIGNING_PASSPHRASE"
AUTHORITY = "某省应急管理厅"
WAIT = 60_000


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    """Store, accounts, a signing key and the server that uses them."""
    tmp = tmp_path_factory.mktemp("workflow")
    url = f"sqlite:///{tmp / 'shencha.db'}"
    store = Store(url)
    people = {n: login(store, n) for n in ("officer", "officer2", "officer3", "supervisor", "window")}
    passphrase = "e2e-签名口令-2026"
    p12, cert = create_signing_key(tmp / "key", AUTHORITY, passphrase=passphrase)
    config = tmp / "workflow.yaml"
    config.write_text(yaml.safe_dump({"authority": AUTHORITY,
                                      "signing": {"pkcs12": str(p12), "passphrase_env": PASSPHRASE_ENV}},
                                     allow_unicode=True), encoding="utf-8")
    env = {"SHENCHA_WORKFLOW": str(config), PASSPHRASE_ENV: passphrase}
    with streamlit_server(url, ARTIFACTS / "streamlit-workflow.log", REPO, env=env) as base:
        yield {"base": base, "store": store, "people": people, "cert": cert}


def _case(store: Store, company: str, uscc: str, findings) -> tuple[int, str, int]:
    report = synthetic_case(store, company=company, uscc=uscc, findings=findings)
    return store.report_row_id(report.report_id), report.report_id, int(report.report_id.split("-")[1])


def _page(browser, base: str, username: str):  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
    _login(page, base, username)
    return page


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"workflow-{name}.png"), full_page=True)


def _nav(page, title: str) -> None:
    page.locator("[data-testid=stSidebarNav]").get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title).first.wait_for(timeout=WAIT)


def _queue(page) -> None:
    _nav(page, "待办案卷")
    page.get_by_text("法定时限").first.wait_for(timeout=WAIT)


def _open(page, rid: int) -> None:
    _queue(page)
    page.locator(f".st-key-open_{rid} button").click()
    page.get_by_text("案卷审查决定").first.wait_for(timeout=WAIT)


def _type(page, key: str, text: str) -> None:
    """Fill a text input or area (by widget key) and commit it, as a user's Tab does."""
    box = page.locator(f".st-key-{key} input, .st-key-{key} textarea").first
    box.fill(text)
    box.press("Tab")
    page.wait_for_timeout(300)


def _click(page, key: str) -> None:
    page.locator(f".st-key-{key} button").first.click()


def _pick(page, key: str, option: str, exact: bool = True) -> None:
    """Choose an option of a selectbox or multiselect (by widget key): its text, or containing it.

    A rerun of the page can close the open list under the click (CI saw the
    option detached from the DOM for 30 s once): the list is opened again, up
    to three times.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(3):
        try:
            page.locator(f".st-key-{key} [role=combobox]").first.click()
            if page.get_by_role("listbox").count() == 0:
                page.locator(f".st-key-{key} button[aria-haspopup=listbox]").first.click()
            page.get_by_role("listbox").first.wait_for(timeout=WAIT)
            options = page.get_by_role("option")
            (options.filter(has_text=option) if not exact else page.get_by_role("option", name=option, exact=True)
             ).first.click(timeout=15_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            page.wait_for_timeout(1000)
    page.keyboard.press("Escape")  # a multiselect stays open
    page.wait_for_timeout(500)


def _body(page) -> str:
    return page.locator("[data-testid=stMain]").inner_text()


def test_recused_officer_cannot_see_the_case(workflow, browser):  # noqa: F811
    base, store, people = workflow["base"], workflow["store"], workflow["people"]
    company, uscc = "回避测试甲建设有限公司", "91330106MA2H0P0B5X"
    rid, key, _app = _case(store, company, uscc, [finding(1)])
    other_rid, _other_key, _ = _case(store, "回避测试乙建设有限公司", "91330106MA2H0P0D1Y", [finding(1)])
    page = _page(browser, base, "officer")
    _open(page, rid)  # the officer has the case open ...
    page.get_by_role("heading", name=company).wait_for(timeout=WAIT)

    # ... and declares a conflict with its applicant on 我的回避
    _nav(page, "我的回避")
    _type(page, "my_conflict_value", uscc)
    _type(page, "my_conflict_reason", "本人配偶在该企业任职")
    _click(page, "my_conflict_btn")
    page.get_by_text("已登记。").wait_for(timeout=WAIT)
    [declared] = svc.conflicts(store, people["officer"])
    assert (declared.kind, declared.value) == ("company", uscc)
    _shot(page, "01-conflict-declared")

    _queue(page)
    page.locator(f".st-key-open_{other_rid}").wait_for(timeout=WAIT)
    assert page.locator(f".st-key-open_{rid}").count() == 0 and company not in _body(page)
    _shot(page, "02-queue-without-the-case")

    # the page's state still names the case: opening it is refused, in Chinese
    _nav(page, "案卷办理")
    page.get_by_text("此案卷已对您关闭").wait_for(timeout=WAIT)
    body = _body(page)
    assert "须回避此案：已登记与申请企业存在利害关系" in body and "问题清单" not in body and company not in body
    _shot(page, "03-case-state-refused")
    page.close()

    # the service refuses every route, whatever the page shows
    officer = people["officer"]
    with pytest.raises(Recused):
        svc.open_case(store, officer, rid)
    with pytest.raises(Recused):
        svc.report_pk(store, officer, key)
    with pytest.raises(Recused):
        svc.decide_finding(store, officer, rid, "F-0000000000000001", "confirm", "理由", 0)
    assert rid not in [c.report_id for c in svc.queue(store, officer)]

    # recusing from the case page (officer2, the other case): the page says it is closed to them
    page = _page(browser, base, "officer2")
    _open(page, other_rid)
    page.get_by_text("申请回避", exact=True).first.click()  # the expander
    _type(page, "recuse_reason", "申请企业法定代表人系本人近亲属")
    _click(page, "recuse_btn")
    page.get_by_text("此案卷已对您关闭").wait_for(timeout=WAIT)
    assert "本人已申请回避" in _body(page)
    _shot(page, "04-recused-from-the-case-page")
    _queue(page)
    assert page.locator(f".st-key-open_{other_rid}").count() == 0
    page.close()
    with pytest.raises(Recused):
        svc.open_case(store, people["officer2"], other_rid)


def test_direct_url_to_a_case_is_refused_to_a_recused_officer(workflow, browser):  # noqa: F811
    base, store, people = workflow["base"], workflow["store"], workflow["people"]
    _rid, key, app_id = _case(store, "回避测试丙建设有限公司", "91330106MA2H0P0F8K", [finding(1)])
    svc.recuse(store, people["officer3"], app_id, "曾为该企业提供咨询")
    page = _page(browser, base, "officer3")
    # the URL the queue's 办理 button leads to, typed into the same session's address bar
    page.evaluate("u => { history.pushState({}, '', u); dispatchEvent(new PopStateEvent('popstate')); }",
                  f"/case?case={key}")
    page.get_by_text("此案卷已对您关闭").wait_for(timeout=WAIT)
    assert "须回避此案" in _body(page) and "问题清单" not in _body(page)
    _shot(page, "05-direct-url-refused")
    page.close()
    with pytest.raises(Recused):
        svc.report_pk(store, people["officer3"], key)


def test_dismissal_waits_for_a_second_officer(workflow, browser):  # noqa: F811
    base, store, people = workflow["base"], workflow["store"], workflow["people"]
    rid, _key, _app = _case(store, "复核测试建设有限公司", "91330106MA2H0P0H4N", [finding(7)])
    fid = finding(7).id
    a = _page(browser, base, "officer")
    _open(a, rid)
    _type(a, f"reason_{rid}_{fid}", "登记库数据已更新，证书有效")
    _click(a, "fd_dismiss")
    # the finding's 待复核 box: who dismissed it and why, and that another officer must confirm
    pending = a.locator("[class*=st-key-pending_F]").first
    pending.get_by_text("这是您本人作出的决定，须另一名审批人员复核确认后生效").wait_for(timeout=WAIT)
    assert "待复核" in pending.inner_text() and "登记库数据已更新，证书有效" in pending.inner_text()
    step = svc.open_case(store, people["officer"], rid).findings[0].pending
    assert step is not None and step.state == "pending_second_review"
    assert a.locator(f".st-key-sr_confirm_{step.key}").count() == 0  # no button for A ...
    _shot(a, "06-dismissal-pending")
    a.close()
    with pytest.raises(NotAllowed):  # ... and the service refuses A too
        svc.second_review(store, people["officer"], step.key, "confirm", "自己复核")
    assert svc.open_case(store, people["officer"], rid).findings[0].decision is None

    b = _page(browser, base, "officer2")
    _queue(b)
    b.locator(f".st-key-row_{rid}").get_by_text("待我 1").wait_for(timeout=WAIT)
    _open(b, rid)
    b.locator(f".st-key-sr_confirm_{step.key}").wait_for(timeout=WAIT)
    _type(b, f"sr_reason_{step.key}", "已核对登记库，同意排除")
    _click(b, f"sr_confirm_{step.key}")
    b.get_by_text("复核确认，已生效").wait_for(timeout=WAIT)
    b.get_by_text("当前决定： 排除").or_(b.get_by_text("当前决定：排除")).first.wait_for(timeout=WAIT)
    _shot(b, "07-dismissal-confirmed")
    b.close()
    state = svc.open_case(store, people["officer"], rid).findings[0]
    assert state.decision.decision == "dismiss" and state.decision.actor == "officer"
    assert state.decision.second_review.actor == "officer2" and state.pending is None


def test_high_risk_case_is_decided_only_by_a_panel(workflow, browser):  # noqa: F811
    base, store, people = workflow["base"], workflow["store"], workflow["people"]
    company = "集体审议测试建设有限公司"
    rid, _key, app_id = _case(store, company, "91330106MA2H0P0K9R", [finding(1), finding(2), finding(3)])
    page = _page(browser, base, "officer")
    _open(page, rid)
    page.get_by_text("高风险案卷：").first.wait_for(timeout=WAIT)
    _type(page, "case_reason", "材料齐全，拟准予")
    _click(page, "cd_approve")
    page.get_by_text("须经集体审议作出准予或不予决定").wait_for(timeout=WAIT)
    _shot(page, "08-high-risk-grant-refused")
    page.close()
    assert svc.open_case(store, people["officer"], rid).summary.decision is None

    sup = _page(browser, base, "supervisor")
    sup.get_by_role("heading", name="案件督办").wait_for(timeout=WAIT)
    _pick(sup, "panel_case", company, exact=False)
    for member in ("officer", "officer2", "officer3"):
        _pick(sup, "panel_members", member)
    _type(sup, "panel_reason", "高风险案卷，集体审议")
    _click(sup, "panel_convene")
    sup.get_by_text("号集体审议：officer、officer2、officer3").wait_for(timeout=WAIT)
    [panel] = svc.open_case(store, people["supervisor"], rid, log_view=False).panels
    _shot(sup, "09-panel-convened")

    votes = {"officer": ("准予", "证书问题已补正，风险可控"), "officer2": ("准予", "同意准予"),
             "officer3": ("不予", "撤销证书涉及主要负责人")}
    for member, (choice, reason) in votes.items():
        page = _page(browser, base, member)
        _open(page, rid)
        box = page.locator(f".st-key-vote_choice_{panel.id}")
        box.wait_for(timeout=WAIT)
        box.get_by_text(choice, exact=True).click()
        _type(page, f"vote_reason_{panel.id}", reason)
        _click(page, f"vote_btn_{panel.id}")
        page.get_by_text("表决意见已记录").wait_for(timeout=WAIT)
        # The message shows before Streamlit's rerun has redrawn the panel: wait for the
        # button to go (one vote each) instead of counting it at once (CI caught it mid-rerun).
        page.locator(f".st-key-vote_btn_{panel.id}").wait_for(state="detached", timeout=WAIT)
        assert page.locator(f".st-key-vote_btn_{panel.id}").count() == 0
        _shot(page, f"10-vote-{member}")
        page.close()

    _login(sup, base, "supervisor")  # a fresh session: the panel's votes are read anew
    sup.locator(f".st-key-minutes_{panel.id}").wait_for(timeout=WAIT)
    _type(sup, f"minutes_{panel.id}", "三名审批人员表决，二比一准予许可")
    _click(sup, f"panel_close_{panel.id}")
    sup.get_by_text("案卷审查决定：准予").wait_for(timeout=WAIT)
    _shot(sup, "11-panel-closed")
    sup.close()

    view = svc.open_case(store, people["officer"], rid)
    decision = view.summary.decision
    assert decision.decision == "approve" and decision.actor == f"panel:{panel.id}" and decision.panel_id == panel.id
    for member, (choice, reason) in votes.items():
        assert f"{member}：{choice}（{reason}）" in decision.reason  # every vote, with its reason
    [closed] = view.panels
    assert closed.closed and closed.outcome == "approve" and closed.tally == {"approve": 2, "reject": 1}
    assert closed.minutes == "三名审批人员表决，二比一准予许可"
    assert [d.kind for d in svc.documents(store, people["officer"], app_id)] == ["grant"]


def test_overdue_case_is_flagged_in_the_queue(workflow, browser):  # noqa: F811
    base, store, people = workflow["base"], workflow["store"], workflow["people"]
    rid, _key, app_id = _case(store, "超期测试建设有限公司", "91330106MA2H0P0M5U", [finding(1)])
    old = date.today() - timedelta(days=120)
    svc.record_date(store, people["officer"], app_id, "received", old)
    svc.record_date(store, people["officer"], app_id, "accepted", old + timedelta(days=2))
    fresh_rid, _k, _a = _case(store, "未超期测试建设有限公司", "91330106MA2H0P0P1W", [finding(1)])
    page = _page(browser, base, "officer")
    _queue(page)
    row = page.locator(f".st-key-row_{rid}")
    row.get_by_text(re.compile(r"已超期 \d+ 个工作日")).wait_for(timeout=WAIT)
    red = row.locator("[data-testid=stMarkdownContainer] span").filter(has_text="已超期").first
    color = red.evaluate("e => getComputedStyle(e).color")
    assert _is_red(color), color
    assert "已超期" not in page.locator(f".st-key-row_{fresh_rid}").inner_text()
    # the overdue case comes before every case with time left
    rows = page.locator("[class*=st-key-row_]")
    assert rows.first.get_attribute("class").split("st-key-row_")[1].split()[0] == str(rid)
    _shot(page, "12-overdue-in-queue")
    page.close()
    clock = next(c for c in svc.queue(store, people["officer"]) if c.report_id == rid).clock
    assert clock.overdue and clock.label_zh.startswith("已超期")


def _is_red(css: str) -> bool:
    r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
    return r > 150 and g < 110 and b < 110


def _verify(pdf: bytes, roots) -> SignatureCheck:
    """verify_pdf off the main thread: pyHanko runs its own asyncio loop, and Playwright's sync
    API keeps one running on this thread while the browser is open."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(verify_pdf, pdf, roots).result()


def test_decision_document_downloads_as_docx_and_signed_pdf(workflow, browser, tmp_path):  # noqa: F811
    from docx import Document

    base, store, people = workflow["base"], workflow["store"], workflow["people"]
    company = "发证测试建设有限公司"
    rid, _key, app_id = _case(store, company, "91330106MA2H0P0R7Y", [])
    page = _page(browser, base, "officer")
    _open(page, rid)
    _type(page, "case_reason", "材料齐全，符合安全生产条件")
    _click(page, "cd_approve")
    page.get_by_text("案卷审查决定已记录：准予").wait_for(timeout=WAIT)
    page.get_by_text("准予行政许可决定书").first.wait_for(timeout=WAIT)
    [doc] = svc.documents(store, people["officer"], app_id)
    assert doc.signed and doc.kind == "grant"
    assert "PDF 已由发证机关的签名密钥电子签名" in _body(page)
    _shot(page, "13-decision-document")

    files = {}
    for fmt in ("docx", "pdf"):
        with page.expect_download(timeout=WAIT) as info:
            _click(page, f"dl_decision_{fmt}_{doc.id}")
        download = info.value
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        files[fmt] = target
    page.close()
    assert files["pdf"].name == f"{doc.number}.pdf" and files["docx"].name == f"{doc.number}.docx"
    (ARTIFACTS / "decision.pdf").write_bytes(files["pdf"].read_bytes())

    # the browser got exactly the issued bytes
    for fmt, path in files.items():
        assert path.read_bytes() == svc.document_file(store, people["officer"], doc.id, fmt)[1], fmt
    check = _verify(files["pdf"].read_bytes(), [workflow["cert"]])
    assert check.ok and check.trusted and check.intact and check.covers_whole_file, check.message_zh
    assert AUTHORITY in (check.signer_subject or "")
    text = "\n".join(p.text for p in Document(io.BytesIO(files["docx"].read_bytes())).paragraphs)
    tables = Document(files["docx"]).tables
    text += "\n".join(c.text for t in tables for row in t.rows for c in row.cells)
    assert doc.number in text and company in text
    # a different root does not vouch for the signer
    other = tmp_path / "other"
    _p12, other_cert = create_signing_key(other, "另一机关", passphrase="x-passphrase")
    assert not _verify(files["pdf"].read_bytes(), [other_cert]).ok
    [lic] = [lic for lic in svc.licences(store, people["officer"]) if lic.application_id == app_id]
    assert lic.valid_from == date.today()
