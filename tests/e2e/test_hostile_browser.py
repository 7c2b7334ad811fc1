"""Issue 20, item 3 in a real browser: a hostile package's names fetch nothing and link nowhere.

A case whose company name, file name, finding text and decision reasons
carry Markdown images and links, raw HTML and a right-to-left override is
opened by an officer in Chromium; every request the page makes is watched.
"""

from __future__ import annotations

import time

import pytest

from shencha import service as svc
from shencha.report import ReportDocument
from shencha.store import Store

from ..conftest import REPO
from .support import finding, login, streamlit_server, synthetic_case
from .test_browser import ARTIFACTS, _login, browser  # noqa: F401 - the Chromium fixture

pytestmark = pytest.mark.slow

EVIL = "evil.example"
COMPANY = f"![logo](https://{EVIL}/company.png)恶意公司"
FILE = f"[点此下载](https://{EVIL}/file)名册\u202efdp.exe"
TEXT = f"见 ![x](https://{EVIL}/msg.png) <img src=https://{EVIL}/h.png> https://{EVIL}/bare 与 www.{EVIL}"


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    url = f"sqlite:///{tmp / 'shencha.db'}"
    store = Store(url)
    docs = [ReportDocument(id="d001", path=FILE, sha256="0" * 64, doc_type="managers_roster", pages=1, status="ok")]
    bad = finding(1, text=TEXT).model_copy(update={"message": TEXT, "suggestion": TEXT})
    report = synthetic_case(store, company=COMPANY, findings=[bad], documents=docs)
    officer = login(store, "officer")
    rid = store.report_row_id(report.report_id)
    svc.decide_finding(store, officer, rid, bad.id, "confirm", f"理由 {TEXT}", 0)
    svc.decide_case(store, officer, rid, "correction", f"整案 {TEXT}", 0)
    with streamlit_server(url, ARTIFACTS / "streamlit-hostile.log", REPO) as base:
        yield base, rid


def test_item3_hostile_names_fetch_nothing_and_link_nowhere_in_the_browser(hostile_server, browser):  # noqa: F811
    base, rid = hostile_server
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    # Nothing may leave the machine; a request to the hostile host is recorded, then refused.
    page.route(f"**/*{EVIL}*", lambda route: route.abort())
    _login(page, base, "officer")
    page.get_by_role("heading", name="待办案卷").wait_for(timeout=60_000)
    page.get_by_text("恶意公司").first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "hostile-01-queue.png"), full_page=True)
    page.locator(f".st-key-open_{rid} button").click()
    page.get_by_text("问题清单").first.wait_for(timeout=60_000)
    page.get_by_text("evil", exact=False).first.wait_for(timeout=30_000)
    time.sleep(1.0)  # let images that would load start loading
    page.screenshot(path=str(ARTIFACTS / "hostile-02-case.png"), full_page=True)
    body = page.locator("body").inner_text()
    assert "恶意公司" in body and "点此下载" in body  # the names are shown, as text
    assert "\u202e" not in body and "\\u202e" in body
    links = page.locator(f"a[href*='{EVIL}']")
    found = [(links.nth(i).get_attribute("href"), links.nth(i).inner_text()) for i in range(links.count())]
    assert found == []
    assert page.locator(f"img[src*='{EVIL}']").count() == 0
    assert [u for u in requested if EVIL in u] == []
