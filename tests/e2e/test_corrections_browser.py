"""Correcting a misread value in a real browser (issue 17): Playwright drives Debian's Chromium
against `streamlit run ui/app.py` on a temporary SQLite store.

An officer corrects a misread holder name (“张三丰” for the registry's “张三”) beside the evidence
of the `registry.name_mismatch` finding it caused; since the correction would make a `fail`
disappear it waits for a second officer; once officer2 confirms, the rules run again on the
corrected value, the new report version no longer has the finding, the comparison says the
correction fixed it, and the audit trail verifies (service and `shencha audit verify`).
Screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from shencha import service as svc
from shencha.service import corrections
from shencha.store import Store

from ..conftest import REPO
from ..test_corrections import misread_case
from .support import login, streamlit_server
from .test_browser import ARTIFACTS, _login, browser  # noqa: F401 - the Chromium fixture

pytestmark = pytest.mark.slow
WAIT = 60_000


@pytest.fixture(scope="module")
def corrected(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corrections")
    url = f"sqlite:///{tmp / 'shencha.db'}"
    store = Store(url)
    people = {n: login(store, n) for n in ("officer", "officer2")}
    rid, report = misread_case(store, tmp, key="browser-corr")
    with streamlit_server(url, ARTIFACTS / "streamlit-corrections.log", REPO) as base:
        yield {"base": base, "store": store, "people": people, "rid": rid, "report": report, "url": url}


def _page(browser, base: str, username: str):  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    _login(page, base, username)
    return page


def _open(page, rid: int) -> None:
    page.locator("[data-testid=stSidebarNav]").get_by_role("link", name="待办案卷").click()
    page.get_by_text("法定时限").first.wait_for(timeout=WAIT)
    page.locator(f".st-key-open_{rid} button").click()
    page.get_by_text("案卷审查决定").first.wait_for(timeout=WAIT)


def _type(page, key: str, text: str) -> None:
    box = page.locator(f".st-key-{key} input, .st-key-{key} textarea").first
    box.fill(text)
    box.press("Tab")
    page.wait_for_timeout(300)


def _body(page) -> str:
    return page.locator("[data-testid=stMain]").inner_text()


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"corrections-{name}.png"), full_page=True)


def test_officer_corrects_a_misread_name_and_a_second_officer_confirms(corrected, browser):  # noqa: F811
    base, store, people, rid = corrected["base"], corrected["store"], corrected["people"], corrected["rid"]
    [mismatch] = [f for f in corrected["report"].findings if f.category == "registry.name_mismatch"]
    fid = mismatch.id

    a = _page(browser, base, "officer")
    _open(a, rid)
    a.get_by_text("登记库中姓名/名称不符").first.wait_for(timeout=WAIT)  # the first finding: evidence on a page
    a.get_by_text("更正识别结果（识别有误时）").first.click()
    a.locator(f".st-key-corr_new_{fid}").wait_for(timeout=WAIT)
    _type(a, f"corr_new_{fid}", "张三")
    _type(a, f"corr_reason_{fid}", "名册原件姓名为张三，“丰”系相邻栏目的字")
    a.locator(f".st-key-corr_btn_{fid} button").click()
    a.get_by_text("须另一名审批人员复核确认后生效").first.wait_for(timeout=WAIT)
    _shot(a, "01-correction-pending")
    [rec] = corrections.case_corrections(store, people["officer"], rid)
    assert rec.state == "pending_second_review" and rec.second_review_needed == "removes_fail"
    assert (rec.field_type, rec.old_value, rec.new_value) == ("person_name", "张三丰", "张三")  # preselected value
    assert len(store.reports("browser-corr")) == 1  # no effect until confirmed
    assert "这是您本人作出的更正" in _body(a)
    a.close()

    b = _page(browser, base, "officer2")
    _open(b, rid)
    b.locator(f".st-key-correction_{rec.key}").wait_for(timeout=WAIT)
    _type(b, f"csr_reason_{rec.key}", "已核对名册原件，姓名为张三")
    b.locator(f".st-key-csr_confirm_{rec.key} button").click()
    b.get_by_text("复核确认，已生效").first.wait_for(timeout=WAIT)
    b.get_by_text(f"本版本由更正 {rec.key} 生成").first.wait_for(timeout=WAIT)
    body = _body(b)
    assert "第 2 版" in body and "已整改 1 项" in body
    comparison = b.locator(".st-key-comparison_box").inner_text()
    assert "已整改（1）" in comparison and "登记库中姓名/名称不符" in comparison
    _shot(b, "02-confirmed-new-version")
    b.close()

    done = corrections.case_corrections(store, people["officer2"], rid)[0]
    assert done.state == "effective" and done.second_review.actor == "officer2"
    view = svc.open_case(store, people["officer2"], done.result_report_id)
    assert view.summary.version == 2
    assert not [f for f in view.report.findings if f.category == "registry.name_mismatch"]
    assert [f.category for f in view.comparison.fixed] == ["registry.name_mismatch"]
    assert [n.key for n in view.comparison.corrections] == [rec.key]
    assert svc.verify(store, None).ok
    cli = subprocess.run([sys.executable, "-m", "shencha.cli", "audit", "verify", "--db", corrected["url"]],
                         capture_output=True, text=True, cwd=REPO)
    assert cli.returncode == 0 and "哈希链校验通过" in cli.stdout, cli.stdout + cli.stderr
