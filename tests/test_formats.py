"""The formats applicants send (issue 21): one roster in every format reads the same.

The fixture package ``fixtures/formats/package`` is made by
``fixtures/formats/generate.py`` with real tools (LibreOffice, openpyxl,
py7zr); these tests read it with the real readers and the real LibreOffice.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from extractor.fields.run import extract_fields
from extractor.ingest import ingest_path
from extractor.model import DocumentKind, Source
from extractor.package import open_package
from fixtures.formats.generate import HIDDEN, ROSTER, rar4_stored

FORMATS = Path(__file__).resolve().parent.parent / "fixtures" / "formats"
PACKAGE = FORMATS / "package"
SAMPLES = FORMATS / "rar_samples"

ROSTERS = ["名册.docx", "名册.xlsx", "名册.xls", "名册.et", "名册.csv", "名册.doc", "名册.wps", "名册.odt",
           "名册docx.7z/名册.docx", "名册docx.rar/roster.docx"]
EXPECTED = [(p.name, p.id_no, p.cert_no) for p in ROSTER]

needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice: scripts/setup-system.sh")


@pytest.fixture(scope="module")
def documents():
    if shutil.which("soffice") is None:
        pytest.fail("LibreOffice (soffice) is not installed: run scripts/setup-system.sh")
    result = ingest_path(PACKAGE)
    return {d.path: d for d in result.documents}


def _people(document) -> list[tuple[str, str, str]]:
    """(name, resident ID, certificate number) per roster record, in order."""
    records: dict[str, dict[str, str]] = {}
    for f in extract_fields(document).fields:
        record = f.attributes.get("record")
        if f.type in ("person_name", "resident_id", "cert_no") and record:
            records.setdefault(record, {})[f.type] = str(f.value)
    return [(r.get("person_name", ""), r.get("resident_id", ""), r.get("cert_no", "")) for r in records.values()]


def test_every_document_of_the_package_reads_ok(documents):
    assert sorted(documents) == sorted(ROSTERS + ["考核合格证书.ofd"])
    bad = {path: d.error for path, d in documents.items() if d.status != "ok"}
    assert bad == {}
    assert all(d.pages and d.pages[0].lines for d in documents.values())


@pytest.mark.parametrize("path", ROSTERS)
def test_roster_gives_the_same_people_from_every_format(documents, path):
    assert _people(documents[path]) == EXPECTED


def test_ofd_certificate_gives_its_holder_with_boxes(documents):
    document = documents["考核合格证书.ofd"]
    assert document.kind == DocumentKind.OFD
    fields = {f.type: f for f in extract_fields(document).fields}
    assert (fields["person_name"].value, fields["resident_id"].value, fields["cert_no"].value) == EXPECTED[0]
    page = document.pages[0]
    # A 210 × 148 mm page in points, like a PDF text layer.
    assert (round(page.width), round(page.height), page.unit) == (595, 420, "pt")
    [line] = [ln for ln in page.lines if EXPECTED[0][1] in ln.text]
    x0, top, x1, bottom = line.bbox
    # The label sits at x = 20 mm, the row's baseline near y = 75 + 4.2 mm.
    assert abs(x0 - 20 * 72 / 25.4) < 1 and 0 < top < bottom < 80 * 72 / 25.4 + 2 and x1 > 300
    assert fields["resident_id"].page == 1 and fields["resident_id"].bbox is not None
    # Labels come from the template page, values from the page itself: both read.
    assert "有效期至：" in document.text and "2027年03月31日" in document.text


def test_spreadsheet_cells_keep_their_address_formulas_and_dates(documents):
    document = documents["名册.xlsx"]
    [page] = document.pages
    assert page.name == "管理人员" and page.source == Source.SHEET
    by_ref = {ln.ref: ln.text for ln in page.lines}
    assert by_ref["管理人员!A1"] == "安全生产管理人员名册"
    assert by_ref["管理人员!B4"] == "王建国"
    assert by_ref["管理人员!F4"] == "2027-03-31", "a date cell becomes an ISO date"
    # 序号 are SUBTOTAL formulas: their cached values skip the hidden row 5.
    assert [by_ref[f"管理人员!A{r}"] for r in (4, 6, 7)] == ["1", "2", "3"]
    assert "管理人员!B5" not in by_ref, "the hidden row is not read"
    [table] = page.tables
    cell = next(c for c in table.cells if c.text == "李秀英")
    assert cell.ref == "管理人员!B6"
    # the title and the company line are text lines above the table
    assert [ln.table for ln in page.lines[:2]] == [None, None]


def test_fields_read_from_a_spreadsheet_carry_their_cell_address(documents):
    fields = extract_fields(documents["名册.xlsx"]).fields
    cells = {f.value: f.attributes.get("cell") for f in fields if f.type in ("person_name", "cert_no")}
    assert cells["王建国"] == "管理人员!B4" and cells["苏建安A(2019)0012345"] == "管理人员!E4"


@pytest.mark.parametrize("path", ["名册.xlsx", "名册.xls", "名册.et"])
def test_hidden_rows_and_sheets_are_skipped_and_noted(documents, path):
    document = documents[path]
    assert HIDDEN.name not in document.text and "内部备注" not in document.text
    [warning] = [w for w in document.warnings if w.code == "W205"]
    assert "备注" in warning.message and "隐藏行 5" in warning.message


def test_csv_in_gbk_is_one_sheet_named_after_the_file(documents):
    document = documents["名册.csv"]
    assert (PACKAGE / "名册.csv").read_bytes().decode("gb18030").startswith("序号,姓名")
    assert document.pages[0].name == "名册"
    assert any(ln.ref == "名册!B2" and ln.text == "王建国" for ln in document.pages[0].lines)


@pytest.mark.parametrize(("path", "fmt"), [("名册.doc", "doc"), ("名册.wps", "doc"), ("名册.odt", "odt")])
def test_conversion_is_recorded_and_the_original_kept(documents, path, fmt):
    document = documents[path]
    original = (PACKAGE / path).read_bytes()
    assert document.sha256 == hashlib.sha256(original).hexdigest()
    assert document.size == len(original)
    conversion = document.conversion
    assert conversion is not None
    assert (conversion.from_format, conversion.to_format) == (fmt, "docx")
    assert conversion.tool.startswith("LibreOffice ")
    assert len(conversion.sha256) == 64 and conversion.sha256 != document.sha256
    assert "LibreOffice" in document.pages[0].decision
    assert not any(w.code == "W201" for w in document.warnings), ".wps holding Word 97 is what WPS writes"


def test_native_formats_record_no_conversion(documents):
    assert all(documents[p].conversion is None for p in ("名册.docx", "名册.xlsx", "名册.xls", "考核合格证书.ofd"))


def test_archive_members_are_named_under_their_archive():
    package = open_package(PACKAGE)
    paths = [f.path for f in package.files]
    assert "名册docx.7z/名册.docx" in paths and "名册docx.rar/roster.docx" in paths
    assert "名册docx.7z" not in paths
    docx = (PACKAGE / "名册.docx").read_bytes()
    by_path = {f.path: f for f in package.files}
    assert by_path["名册docx.7z/名册.docx"].read() == docx
    assert by_path["名册docx.rar/roster.docx"].read() == docx


@pytest.mark.parametrize("tool", ["unar", "bsdtar"])
def test_hand_made_rar_is_a_real_rar(tmp_path, tool):
    """The fixture's RAR is written by our generator: the Debian unpackers must agree it is RAR."""
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed: run scripts/setup-system.sh")
    archive = tmp_path / "t.rar"
    archive.write_bytes(rar4_stored("a.txt", "安全生产".encode() * 100))
    if tool == "unar":
        subprocess.run(["unar", "-q", "-o", str(tmp_path / "out"), str(archive)], check=True)
        assert (tmp_path / "out" / "a.txt").read_bytes() == "安全生产".encode() * 100
    else:
        out = subprocess.run(["bsdtar", "-x", "-O", "-f", str(archive)], check=True, capture_output=True).stdout
        assert out == "安全生产".encode() * 100


@pytest.mark.parametrize("name", ["rar5-crc.rar", "rar3-solid.rar"])
def test_compressed_rar_made_by_winrar_is_read(name):
    """Compressed RAR (RAR 5, and RAR 3 solid) from rarfile's own test files."""
    package = open_package(SAMPLES / name)
    assert [f.error for f in package.files] == [None, None]
    for item in package.files:
        data = item.read()
        assert len(data) == item.size == 2048
        assert data.startswith(b"000\n001\n")


@pytest.mark.parametrize("name", ["rar3-comment-psw.rar", "rar5-hpsw.rar"])
def test_encrypted_rar_is_refused(name):
    result = ingest_path(SAMPLES / name)
    assert result.documents, "an encrypted archive is reported, not silently empty"
    assert {d.error.code for d in result.documents} == {"E119"}


@needs_soffice
def test_generator_writes_what_is_committed(tmp_path, monkeypatch):
    """The generated files are committed: the same generator still yields the same
    roster text for the files made without LibreOffice (byte-stable ones)."""
    from fixtures.formats import generate

    assert generate.rar4_stored("roster.docx", (PACKAGE / "名册.docx").read_bytes()) == \
        (PACKAGE / "名册docx.rar").read_bytes()
    assert generate._ofd(ROSTER[0]) == (PACKAGE / "考核合格证书.ofd").read_bytes()
    assert generate._csv().encode("gb18030") == (PACKAGE / "名册.csv").read_bytes()
