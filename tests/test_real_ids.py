"""Real resident IDs never crash a review (issue: KeyError 'county' from stdnum).

python-stdnum lists some region codes only down to their prefecture (e.g.
Jiangsu's 320219): its ``get_birth_place`` then raises ``KeyError('county')``
and ``ric.is_valid`` with it. An ID keeps its region code for life, so such
numbers are common in real rosters. These tests hold:

- the issue's sentence, as .docx, text PDF and scanned image, reviews with
  exit 0 and the ID extracted with a ``region_incomplete`` warning;
- no identifier check raises, for every region code in stdnum's table and
  random six-digit codes (property tests), nor for USCCs and certificate numbers;
- a step or a rule that raises is contained: the document (or the rule)
  reports it and the package review goes on.
"""

from __future__ import annotations

import io
import json
import random
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont
from stdnum import numdb
from typer.testing import CliRunner

from checks.rules import identifiers as id_rules
from extractor import identifiers as ids
from extractor.fields import steps
from shencha.cli import app

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
SENTENCE = "安全生产管理人员：张三，身份证号码：320219198001011230。"
REAL_ID = "320219198001011230"
runner = CliRunner()


def _stdnum_region_codes() -> list[str]:
    """Every six-digit code in stdnum's cn/loc table (prefixes concatenated)."""
    codes: list[str] = []

    def walk(parts, prefix: str) -> None:
        for _length, low, high, _props, children in parts:
            if low != high:  # ranges do not occur in this table; take both ends if they did
                for code in (low, high):
                    if len(prefix + code) == 6:
                        codes.append(prefix + code)
                continue
            if len(prefix + low) == 6:
                codes.append(prefix + low)
            walk(children, prefix + low)

    walk(numdb.get("cn/loc").prefixes, "")
    return sorted(set(codes))


REGION_CODES = _stdnum_region_codes()


def _with_check_digit(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]


# ------------------------------------------------------------------ the crash itself


def test_stdnum_still_raises_keyerror_for_prefecture_only_codes():
    """The upstream defect this works around (docs/ingestion.md). When stdnum
    fixes it, this test fails: then drop the KeyError branch in
    extractor.identifiers._birth_place."""
    from stdnum.cn import ric

    with pytest.raises(KeyError):
        ric.is_valid(REAL_ID)


def test_prefecture_only_region_is_valid_with_a_warning():
    result = ids.check_resident_id(REAL_ID)
    assert result.valid and result.warnings == ["region_incomplete"]
    assert result.details["province"] == "江苏省"
    assert id_rules.check_resident_id(REAL_ID, date(2026, 11, 20)) is None
    assert ids.repair_ocr("resident_id", "32O219198001011230").value == REAL_ID
    assert ids.check_special_operation("T" + REAL_ID).valid


def test_the_crashing_codes_are_unlisted_counties_of_listed_provinces():
    """What triggers the defect: the province is in the table, the county is not."""
    assert "320219" not in REGION_CODES and any(c.startswith("32") for c in REGION_CODES)
    for code in ("320219", "320819", "320919", "321019", "321119"):
        number = _with_check_digit(code + "19800101123")
        assert ids.check_resident_id(number).warnings == ["region_incomplete"], code


# ------------------------------------------------------------------ property tests

_birth = st.dates(date(1930, 1, 1), date(2008, 12, 31))


PROVINCE_CODES = sorted({c[:2] for c in REGION_CODES})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(region=st.one_of(st.sampled_from(REGION_CODES), st.from_regex(r"\A[0-9]{6}\Z"),
                        # a listed province with an unlisted county: the KeyError case
                        st.builds(lambda p, n: f"{p}{n:04d}", st.sampled_from(PROVINCE_CODES), st.integers(0, 9999))),
       born=_birth, seq=st.integers(0, 999))
def test_no_resident_id_check_raises(region, born, seq):
    number = _with_check_digit(f"{region}{born:%Y%m%d}{seq:03d}")
    result = ids.check_resident_id(number)
    assert result.valid, (number, result.reason)
    assert set(result.warnings) <= {"region_unknown", "region_incomplete", "region_dated"}
    id_rules.check_resident_id(number, date(2026, 11, 20))
    ids.repair_ocr("resident_id", number.replace("0", "O", 1))
    ids.check_special_operation("T" + number, holder_id=number)
    ids.classify_cert_no("T" + number)


def test_every_region_code_in_stdnums_table_checks_without_raising():
    """Not a sample: all ~3,500 codes, one ID each (the crash hid in a few dozen)."""
    rng = random.Random(7)
    for region in REGION_CODES:
        number = _with_check_digit(f"{region}{rng.randint(1950, 2000)}0615{rng.randint(0, 999):03d}")
        assert ids.check_resident_id(number).valid


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXYIOZSV -", min_size=0, max_size=22))
def test_no_uscc_check_raises(text):
    result = ids.check_uscc(text)
    assert result.valid in (True, False)
    id_rules.check_uscc(ids._compact(text))
    ids.repair_ocr("uscc", text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="京苏沪建安特ABCT0123456789()（）〔〕[]【】第号字JZWHFM", min_size=0, max_size=30))
def test_no_certificate_or_licence_check_raises(text):
    for kind in ("safety_licence_no", "special_operation", "safety_assessment",
                 "construction_special_operation", "registered_safety_engineer"):
        ids.check(kind, text)
    ids.classify_cert_no(text)


# ------------------------------------------------------------------ the issue's sentence, three ways


def _docx(path: Path) -> None:
    from docx import Document

    d = Document()
    d.add_paragraph(SENTENCE)
    d.save(path)


def _text_pdf(path: Path) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("wqy", str(FONT)))
    c = canvas.Canvas(str(path))
    c.setFont("wqy", 12)
    c.drawString(60, 760, SENTENCE)
    c.save()


def _scan(path: Path) -> None:
    img = Image.new("L", (1400, 200), 255)
    draw = ImageDraw.Draw(img)
    draw.text((40, 70), SENTENCE, font=ImageFont.truetype(str(FONT), 36), fill=0)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    path.write_bytes(buf.getvalue())


@pytest.mark.slow
@pytest.mark.skipif(not FONT.exists(), reason="fonts-wqy-zenhei is not installed")
@pytest.mark.parametrize("make,name", [(_docx, "名册.docx"), (_text_pdf, "名册.pdf"), (_scan, "名册.png")],
                         ids=["docx", "text-pdf", "scan"])
def test_the_issues_sentence_reviews_with_exit_0_and_the_id_extracted(tmp_path, make, name):
    package = tmp_path / "pkg"
    package.mkdir()
    make(package / name)
    db = f"sqlite:///{tmp_path / 'shencha.db'}"
    result = runner.invoke(app, ["review", str(package), "--format", "json", "--db", db, "--as-of", "2026-11-20"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{"):])
    [document] = report["documents"]
    assert document["status"] == "ok"
    id_fields = [f for f in document["fields"] if f["type"] == "resident_id"]
    assert [f["normalized"] for f in id_fields] == [REAL_ID]
    assert "region_incomplete" in id_fields[0]["attributes"].get("warnings", [])
    assert not [f for f in report["findings"] if f["rule_id"].startswith("gb11643")]


# ------------------------------------------------------------------ contained failures


def _boom(*args, **kwargs):
    raise RuntimeError("a defect in a step, quoting 张三 320219198001011230")


def test_a_step_that_raises_is_a_document_warning_and_the_other_steps_still_run(monkeypatch, tmp_path):
    from extractor.fields import extract_fields
    from extractor.ingest import ingest_package
    from extractor.package import open_package

    package = tmp_path / "pkg"
    package.mkdir()
    _docx(package / "a.docx")
    docs = ingest_package(open_package(package)).documents
    # The key/value step's first call raises, as the stdnum KeyError once did.
    monkeypatch.setattr(steps, "find_pairs", _boom)
    out = extract_fields(docs[0])
    assert out.status == "ok"
    [warning] = [w for w in out.warnings if w.code == "W204"]
    assert "shencha_keyvalue" in warning.message and "RuntimeError" in warning.message
    assert "320219198001011230" not in warning.message
    # The identifier step ran after the failed one: the ID is still there.
    assert REAL_ID in [f.normalized for f in out.fields if f.type == "resident_id"]


def test_a_document_whose_extraction_raises_is_an_error_and_the_package_goes_on(monkeypatch, tmp_path):
    from extractor.fields import extract_package, run
    from extractor.ingest import ingest_package
    from extractor.package import open_package

    package = tmp_path / "pkg"
    package.mkdir()
    _docx(package / "a.docx")
    _docx(package / "b.docx")
    docs = ingest_package(open_package(package)).documents
    real_run = run._run

    def fail_on_a(doc, **kw):
        if doc.path == "a.docx":
            raise ValueError("broken view")
        return real_run(doc, **kw)

    monkeypatch.setattr(run, "_run", fail_on_a)
    out = {d.path: d for d in extract_package(docs)}
    assert out["a.docx"].status == "error" and out["a.docx"].error.code == "E115"
    assert out["b.docx"].status == "ok"
    assert REAL_ID in [f.normalized for f in out["b.docx"].fields if f.type == "resident_id"]


def test_a_package_whose_review_raises_does_not_stop_the_batch(monkeypatch, tmp_path):
    from shencha import review as review_module

    good, bad = tmp_path / "good", tmp_path / "bad"
    for p in (good, bad):
        p.mkdir()
        _docx(p / "a.docx")
    real = review_module.review_path

    def flaky(path, store, options=None, log=None):
        if Path(path).name == "bad":
            raise RuntimeError("pipeline defect")
        return real(path, store, options, log)

    monkeypatch.setattr(review_module, "review_path", flaky)
    db = f"sqlite:///{tmp_path / 'shencha.db'}"
    result = runner.invoke(app, ["review", str(bad), str(good), "--format", "json", "--db", db])
    assert result.exit_code == 1  # one package could not be reviewed ...
    assert "RuntimeError" in result.output and "pipeline defect" not in result.output
    assert json.loads(result.stdout[result.stdout.index("{"):])["documents"][0]["path"] == "a.docx"  # ... the other was
