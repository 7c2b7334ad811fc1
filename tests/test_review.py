"""`shencha review` end to end on a bundled sample package: real OCR, real store."""

from __future__ import annotations

import json
import re
import shutil
import traceback
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shencha.cli import app
from shencha.report import Report

from .conftest import FIXTURES

runner = CliRunner()
SAMPLE = FIXTURES / "packages" / "jz_jiangsu_defects"


def _review(tmp_path: Path, package: Path, fmt: str, db: str, application_id: str | None = None) -> Path:
    out = tmp_path / "out"
    extra = ["--application-id", application_id] if application_id else []
    result = runner.invoke(app, ["review", str(package), "--format", fmt, "--out", str(out), "--db", db, *extra])
    assert result.exit_code == 0, result.output
    [written] = sorted(out.glob(f"*.{fmt}"))[-1:]
    return written


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """One review of the sample, shared by the tests below (OCR takes a while)."""
    tmp = tmp_path_factory.mktemp("review")
    db = f"sqlite:///{tmp / 'shencha.db'}"
    json_report = _review(tmp, SAMPLE, "json", db)
    html_report = _review(tmp, SAMPLE, "html", db)
    return json_report, html_report


@pytest.mark.slow
def test_json_report_is_valid_against_the_contract(reviewed):
    json_path, _ = reviewed
    report = Report.model_validate_json(json_path.read_text(encoding="utf-8"))
    raw = json.loads(json_path.read_text(encoding="utf-8"))
    assert set(raw) >= {"application", "documents", "findings", "errors", "versions"}
    assert len(report.documents) == len([p for p in SAMPLE.iterdir() if p.name != "application.json"])
    assert all(d.status == "ok" for d in report.documents)
    assert {d.pages for d in report.documents} and all(d.pages >= 1 for d in report.documents)
    assert report.versions.ocr["engine"].startswith("rapidocr")
    for finding in report.findings:
        assert finding.message and finding.citation
    # scans were OCR'd, text PDFs were not
    sources = {d.path: {p.source.value for p in d.page_details} for d in report.documents}
    assert sources["02_营业执照副本.jpg"] == {"ocr"}
    assert sources["03_安全生产责任制.pdf"] == {"text"}


@pytest.mark.slow
def test_html_report_is_self_contained_and_readable(reviewed):
    _, html_path = reviewed
    html = html_path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "发现的问题" in html and "材料与识别结果" in html
    assert html.index("发现的问题") < html.index("材料与识别结果")  # findings first
    assert "data:image/jpeg;base64," in html  # evidence crops embedded
    assert "http://" not in html and "https://" not in html  # nothing fetched when opened


@pytest.mark.slow
def test_second_review_of_unchanged_scans_does_no_ocr(tmp_path):
    package = tmp_path / "scans"
    package.mkdir()
    for name in ("02_营业执照副本.jpg", "07_特种作业人员名册（扫描件）.jpg"):
        shutil.copy(SAMPLE / name, package / name)
    db = f"sqlite:///{tmp_path / 'shencha.db'}"
    # the same application submitted twice (its number from the platform): the second is version 2
    first = Report.model_validate_json(_review(tmp_path, package, "json", db, "JS-2026-0042").read_text(encoding="utf-8"))
    second = Report.model_validate_json(_review(tmp_path, package, "json", db, "JS-2026-0042").read_text(encoding="utf-8"))
    first_runs = [p.ocr for d in first.documents for p in d.page_details]
    second_runs = [p.ocr for d in second.documents for p in d.page_details]
    assert all(run is not None and not run.cached for run in first_runs)
    assert all(run is not None and run.cached for run in second_runs)
    assert (first.version, second.version) == (1, 2)
    # the same lines and fields either way
    assert [d.fields for d in first.documents] == [d.fields for d in second.documents]


def test_missing_package_exits_1_and_other_packages_still_run(tmp_path):
    good = tmp_path / "pkg"
    good.mkdir()
    (good / "empty.pdf").write_bytes(b"")
    result = runner.invoke(
        app, ["review", str(tmp_path / "nope"), str(good), "--format", "json", "--db", f"sqlite:///{tmp_path / 'db.sqlite'}"]
    )
    assert result.exit_code == 1
    assert '"E101"' in result.stdout


def test_bad_as_of_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["review", str(tmp_path), "--as-of", "2026/11/20"])
    assert result.exit_code == 2


def test_registry_sync_on_a_fresh_home_creates_the_store(tmp_path, monkeypatch):
    """`make demo` starts with a registry sync into a SHENCHA_HOME that does not exist yet."""
    home = tmp_path / "new" / "home"
    monkeypatch.setenv("SHENCHA_HOME", str(home))
    monkeypatch.delenv("SHENCHA_DB", raising=False)
    result = runner.invoke(
        app,
        ["registry", "sync", str(FIXTURES / "registry" / "companies.csv"), "--kind", "companies", "--as-of", "2026-11-01"],
    )
    assert result.exit_code == 0, result.output
    assert (home / "shencha.db").exists()


@pytest.mark.slow
def test_second_review_of_a_slanted_site_plan_does_no_ocr(tmp_path, monkeypatch):
    # A scan straightened at ingestion is read again in the drawing's own frame
    # (extractor.drawings._ocr_texts): that pass goes through the OCR cache too,
    # and a cache hit encodes no page image (a PNG of a 200-dpi page costs ~0.15 s).
    from PIL import Image, PngImagePlugin

    from extractor.ocr import timing
    from shencha.review import review_path
    from shencha.store import Store

    package = tmp_path / "plan"
    package.mkdir()
    scan = Image.open(FIXTURES / "drawings" / "site_ok_scan.jpg").convert("RGB")
    scan.rotate(3.0, expand=True, fillcolor="white", resample=Image.BICUBIC).save(package / "总平面布置图.jpg", quality=90)
    store = Store(f"sqlite:///{tmp_path / 'shencha.db'}")
    first = review_path(package, store, application_id="JS-2026-0043")
    encoded: list[str] = []  # where each PNG was written from
    png_save = PngImagePlugin._save

    def spy(*args, **kwargs):
        encoded.append("".join(traceback.format_stack(limit=5)[:-1]))
        return png_save(*args, **kwargs)

    monkeypatch.setattr(PngImagePlugin, "_save", spy)
    monkeypatch.setitem(Image.SAVE, "PNG", PngImagePlugin._save)
    with timing.collect() as seconds:
        second = review_path(package, store, application_id="JS-2026-0043")
    assert not encoded, f"{len(encoded)} page images encoded on a cached review:\n" + "\n".join(encoded)
    [page] = first.documents[0].page_details
    assert page.ocr is not None and abs(page.ocr.skew) >= 0.5  # straightened: the drawing re-reads it
    assert any(f.type == "measured_separation" for f in second.documents[0].fields)
    assert not {"detection", "recognition", "classification"} & set(seconds), seconds
    assert [d.fields for d in first.documents] == [d.fields for d in second.documents]


@pytest.mark.slow
def test_review_profile_prints_where_the_time_went(tmp_path):
    package = tmp_path / "scan"
    package.mkdir()
    shutil.copy(SAMPLE / "02_营业执照副本.jpg", package / "02_营业执照副本.jpg")
    db = f"sqlite:///{tmp_path / 'shencha.db'}"
    result = runner.invoke(app, ["review", str(package), "--db", db, "--profile"])
    assert result.exit_code == 0, result.output
    table = result.stderr
    for stage in ("文字检测 detection", "文字识别 recognition", "字段抽取 fields", "规则检查 checks", "总墙钟 total wall"):
        assert stage in table, stage
    recognition = re.search(r"文字识别 recognition \*\s+([\d.]+)", table)
    assert recognition and float(recognition.group(1)) > 0
    assert json.loads(result.stdout)["documents"]  # the report is still written to stdout
