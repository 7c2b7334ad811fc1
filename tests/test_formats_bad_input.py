"""Bad files of each new kind (issue 21): corrupt, encrypted, empty, huge.

Each becomes a document with an error code from the catalogue, and the rest
of the package is still read. Real readers and the real LibreOffice only.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import py7zr
import pytest

from extractor.ingest import IngestOptions, ingest_path
from extractor.limits import Limits
from extractor.package import open_package
from fixtures.formats.generate import rar4_stored

PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "formats" / "package"


def _fixture(name: str) -> bytes:
    return (PACKAGE / name).read_bytes()


def _read_one(tmp_path: Path, name: str, data: bytes, limits: Limits | None = None):
    folder = tmp_path / "pkg"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    (folder / "good.csv").write_bytes("姓名,身份证号\n王建国,110101199003070014\n".encode())
    result = ingest_path(folder, IngestOptions(limits=limits))
    by_path = {d.path: d for d in result.documents}
    assert by_path["good.csv"].status == "ok", "a bad file never stops the rest of the package"
    return [d for path, d in by_path.items() if path != "good.csv"]


def _seven_zip(members: dict[str, bytes], **kwargs) -> bytes:
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w", **kwargs) as archive:
        for name, data in members.items():
            archive.writestr(data, name)
    return buffer.getvalue()


def _encrypted_doc() -> bytes:
    """The fixture .doc with fEncrypted set in its FIB, as Word writes a protected file."""
    import olefile

    data = bytearray(_fixture("名册.doc"))
    with olefile.OleFileIO(bytes(data)) as ole:
        stream = bytearray(ole.openstream("WordDocument").read())
    stream[11] |= 0x01  # flags high byte: fEncrypted (0x0100)
    buffer = io.BytesIO(bytes(data))
    with olefile.OleFileIO(buffer, write_mode=True) as ole:
        ole.write_stream("WordDocument", bytes(stream))
    return buffer.getvalue()


def _big_sheet_xlsx(rows: int) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for r in range(rows):
        ws.append([r, "王建国", "110101199003070014"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _ofd_without(name: str) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(_fixture("考核合格证书.ofd")))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for info in source.infolist():
            if info.filename != name:
                zf.writestr(info.filename, source.read(info))
    return buffer.getvalue()


def _ofd_with(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO(_fixture("考核合格证书.ofd"))
    with zipfile.ZipFile(buffer, "a") as zf:
        zf.writestr(name, data)
    return buffer.getvalue()


def _ofd_pages(n: int) -> bytes:
    pages = "".join(f'<ofd:Page ID="{i}" BaseLoc="Pages/Page_0/Content.xml"/>' for i in range(n))
    source = zipfile.ZipFile(io.BytesIO(_fixture("考核合格证书.ofd")))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "Doc_0/Document.xml":
                text = data.decode()
                start, end = text.index("<ofd:Pages>") + len("<ofd:Pages>"), text.index("</ofd:Pages>")
                data = (text[:start] + pages + text[end:]).encode()
            zf.writestr(info.filename, data)
    return buffer.getvalue()


CASES = [
    # spreadsheets
    ("empty xlsx", "a.xlsx", lambda: b"", None, "E101"),
    ("truncated xlsx", "a.xlsx", lambda: _fixture("名册.xlsx")[:3000], None, "E102"),
    ("xlsx not a workbook", "a.xlsx", lambda: b"PK\x03\x04" + b"\x00" * 100, None, "E102"),
    ("corrupt xls", "a.xls", lambda: _fixture("名册.xls")[:512] + b"\x00" * 2048, None, "E102"),
    ("huge sheet", "a.xlsx", lambda: _big_sheet_xlsx(50), Limits(max_sheet_cells=100), "E107"),
    ("xlsx bomb", "a.xlsx", lambda: _big_sheet_xlsx(50), Limits(max_unpacked_document_bytes=4096), "E107"),
    ("csv not text", "a.csv", lambda: b"\x00\x01\x02binary" * 50, None, "E106"),
    ("huge csv", "a.csv", lambda: ("a,b\n" * 200).encode(), Limits(max_sheet_cells=100), "E107"),
    # word processor files through LibreOffice
    ("empty doc", "a.doc", lambda: b"", None, "E101"),
    ("corrupt doc", "a.doc", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 4000, None, "E102"),
    ("truncated doc", "a.doc", lambda: _fixture("名册.doc")[:5000], None, "E102"),
    ("encrypted doc", "a.doc", _encrypted_doc, None, "E119"),
    ("encrypted wps", "a.wps", _encrypted_doc, None, "E119"),
    ("rtf LibreOffice cannot finish in time", "a.rtf", lambda: b"{\\rtf1\\ansi " + b"x" * 200 + b"}",
     Limits(conversion_seconds=0.05), "E117"),
    # OFD
    ("empty ofd", "a.ofd", lambda: b"", None, "E101"),
    ("truncated ofd", "a.ofd", lambda: _fixture("考核合格证书.ofd")[:700], None, "E102"),
    ("ofd without its document", "a.ofd", lambda: _ofd_without("Doc_0/Document.xml"), None, "E102"),
    ("ofd with broken xml", "a.ofd", lambda: _ofd_broken_root(), None, "E102"),
    ("encrypted ofd", "a.ofd", lambda: _ofd_with("Doc_0/Encryptions.xml", b"<Encryptions/>"), None, "E119"),
    ("ofd with thousands of pages", "a.ofd", lambda: _ofd_pages(1200), None, "E109"),
    ("ofd bomb", "a.ofd", lambda: _fixture("考核合格证书.ofd"), Limits(max_unpacked_document_bytes=1000), "E107"),
]


def _ofd_broken_root() -> bytes:
    source = zipfile.ZipFile(io.BytesIO(_fixture("考核合格证书.ofd")))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for info in source.infolist():
            data = source.read(info)
            zf.writestr(info.filename, data[: len(data) // 2] if info.filename == "OFD.xml" else data)
    return buffer.getvalue()


@pytest.mark.parametrize(("case", "name", "make", "limits", "code"), CASES, ids=[c[0] for c in CASES])
def test_bad_document_of_a_new_kind(tmp_path, case, name, make, limits, code):
    [document] = _read_one(tmp_path, name, make(), limits)
    assert document.status == "error", case
    assert document.error is not None and document.error.code == code, document.error
    assert document.error.message and not document.error.message.startswith("{")


def test_libreoffice_missing_is_a_clear_error(tmp_path, monkeypatch):
    # Not a mock: a PATH where no soffice exists is what a machine without LibreOffice has.
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    [document] = _read_one(tmp_path, "名册.doc", _fixture("名册.doc"))
    assert (document.status, document.error.code) == ("error", "E116")
    assert "LibreOffice" in document.error.message


def test_precision_lost_numbers_are_flagged(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "名册"
    ws.append(["姓名", "身份证号"])
    ws.append(["王建国", 320102197803124010])  # typed as a number: Excel keeps 15 digits
    buffer = io.BytesIO()
    wb.save(buffer)
    [document] = _read_one(tmp_path, "a.xlsx", buffer.getvalue())
    assert document.status == "ok"
    [warning] = [w for w in document.warnings if w.code == "W206"]
    assert "名册!B2" in warning.message


# -- archives ---------------------------------------------------------------


def _codes(package) -> dict[str, str | None]:
    return {f.path: (f.error.code.value if f.error else None) for f in package.files}


def test_empty_archives(tmp_path):
    for name in ("a.7z", "a.rar", "a.zip"):
        (tmp_path / name).write_bytes(b"")
    codes = _codes(open_package(tmp_path))
    assert codes == {"a.7z": "E101", "a.rar": "E101", "a.zip": "E101"}


def test_corrupt_archives(tmp_path):
    (tmp_path / "a.7z").write_bytes(b"7z\xbc\xaf\x27\x1c" + b"\x00" * 64)
    (tmp_path / "b.rar").write_bytes(b"Rar!\x1a\x07\x00" + b"\xff" * 64)
    (tmp_path / "c.7z").write_bytes(_fixture("名册docx.7z")[:4000])
    codes = _codes(open_package(tmp_path))
    assert codes["a.7z"] == "E111" and codes["b.rar"] == "E111"
    # a 7z cut short: its header (at the end) is gone
    assert codes["c.7z"] == "E111"


def test_encrypted_7z_members_and_headers(tmp_path):
    (tmp_path / "a.7z").write_bytes(_seven_zip({"a.pdf": b"%PDF-1.4"}, password="secret"))
    (tmp_path / "b.7z").write_bytes(_seven_zip({"b.pdf": b"%PDF-1.4"}, password="secret", header_encryption=True))
    result = ingest_path(tmp_path)
    assert sorted(d.error.code for d in result.documents) == ["E119", "E119"]


def test_encrypted_zip_member_is_refused_not_crashed(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("ok.csv", "姓名\n王建国\n".encode())
        zf.writestr("secret.pdf", b"\x00" * 64)
    # zipfile cannot encrypt: set the encryption bit a password-protected zip
    # has, in the member's local header and its central directory entry.
    data = bytearray(buffer.getvalue())
    local = data.index(b"PK\x03\x04" + bytes(data[4:6]), data.index(b"secret.pdf") - 40)
    data[local + 6] |= 0x1
    central = data.rindex(b"PK\x01\x02")
    data[central + 8] |= 0x1
    (tmp_path / "p.zip").write_bytes(bytes(data))
    result = ingest_path(tmp_path / "p.zip")
    by_path = {d.path: d for d in result.documents}
    assert by_path["secret.pdf"].error.code == "E119"
    assert by_path["ok.csv"].status == "ok"


def test_rar_path_traversal_and_links_are_refused(tmp_path):
    (tmp_path / "evil.rar").write_bytes(rar4_stored("../../etc/evil.pdf", b"%PDF-1.4"))
    codes = _codes(open_package(tmp_path / "evil.rar"))
    assert codes == {"../../etc/evil.pdf": "E111"}


@pytest.mark.parametrize("fmt", ["7z", "rar", "zip"])
def test_archive_bombs_are_refused(tmp_path, fmt):
    zeros = b"\x00" * (3 * 2**20)
    if fmt == "7z":
        data = _seven_zip({"zeros.pdf": zeros})
    elif fmt == "rar":
        data = rar4_stored("zeros.pdf", zeros)
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("zeros.pdf", zeros)
        data = buffer.getvalue()
    (tmp_path / f"bomb.{fmt}").write_bytes(data)
    package = open_package(tmp_path / f"bomb.{fmt}", Limits(max_archive_bytes=2**20))
    assert _codes(package) == {f"bomb.{fmt}": "E111"}


def test_too_many_members(tmp_path):
    (tmp_path / "many.7z").write_bytes(_seven_zip({f"{i}.csv": b"a\n" for i in range(30)}))
    assert _codes(open_package(tmp_path / "many.7z", Limits(max_archive_members=10))) == {"many.7z": "E111"}


def test_nested_archives_open_one_level_deep(tmp_path):
    inner_zip = io.BytesIO()
    with zipfile.ZipFile(inner_zip, "w") as zf:
        zf.writestr("deep.csv", "a\n")
    level1 = _seven_zip({"名册.docx": _fixture("名册.docx"), "deeper.zip": inner_zip.getvalue()})
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as zf:
        zf.writestr("申请/材料.7z", level1)
        zf.writestr("申请/application.json", '{"company_name": "江苏华建安装工程有限公司"}')
    (tmp_path / "pkg.zip").write_bytes(outer.getvalue())
    package = open_package(tmp_path / "pkg.zip")
    assert package.application is not None
    assert _codes(package) == {"材料.7z/名册.docx": None, "材料.7z/deeper.zip": "E111"}
    result = ingest_path(tmp_path / "pkg.zip")
    assert {d.path: d.status for d in result.documents} == {"材料.7z/名册.docx": "ok", "材料.7z/deeper.zip": "error"}


def test_package_total_size_cap(tmp_path):
    """Issue 20 item 1: a package may unpack to Limits.max_package_bytes in total;
    the files past the cap are E118 and never read (so never stored)."""
    for i in range(4):
        (tmp_path / f"{i}.csv").write_bytes(b"a,%d\n" % i * 300)  # 1200 bytes each
    (tmp_path / "more.7z").write_bytes(_seven_zip({"x.csv": b"a,b\n" * 300}))
    result = ingest_path(tmp_path, IngestOptions(limits=Limits(max_package_bytes=3000)))
    codes = {d.path: (d.error.code if d.error else None) for d in result.documents}
    assert codes == {"0.csv": None, "1.csv": None, "2.csv": "E118", "3.csv": "E118", "more.7z/x.csv": "E118"}
    assert all(not d.sha256 for d in result.documents if d.status == "error")
    assert len(result.blobs) == 2


def test_rar_unpacker_missing_is_a_clear_error(tmp_path, monkeypatch):
    samples = Path(__file__).resolve().parent.parent / "fixtures" / "formats" / "rar_samples"
    if shutil.which("unar") is None and shutil.which("bsdtar") is None:
        pytest.fail("unar/bsdtar not installed: run scripts/setup-system.sh")
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = ingest_path(samples / "rar5-crc.rar")
    # stest1.txt is compressed (needs the unpacker); stest2.txt is stored (read in Python)
    codes = {d.path: d.error.code for d in result.documents}
    assert codes["stest1.txt"] == "E116"
