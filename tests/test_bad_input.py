"""Bad input: every kind of broken file becomes an error document with a code,
and never stops the rest of the package."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from extractor.ingest import IngestOptions, ingest_path
from extractor.limits import Limits
from extractor.package import open_package

from .conftest import shared


def _pdf_bytes(pages: int = 1, text: str | None = None) -> bytes:
    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(595, 842)
    buffer = io.BytesIO()
    pdf.save(buffer)
    pdf.close()
    return buffer.getvalue()


def _png_bytes(size: tuple[int, int] = (64, 32), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "white").save(buffer, format="PNG")
    return buffer.getvalue()


def _encrypted_pdf() -> bytes:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    enc = pdfencrypt.StandardEncryption("user-secret", ownerPassword="owner-secret", strength=128)
    c = canvas.Canvas(buffer, encrypt=enc)
    c.drawString(100, 700, "secret")
    c.save()
    return buffer.getvalue()


def _bomb_png() -> bytes:
    # 30000 x 30000 one-bit pixels compress to a few hundred kB but would
    # decode to 900 megapixels.
    buffer = io.BytesIO()
    Image.new("1", (30000, 30000), 1).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _review_one(tmp_path: Path, name: str, data: bytes, limits: Limits | None = None):
    folder = tmp_path / "pkg"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    result = ingest_path(folder, IngestOptions(limits=limits))
    [document] = [d for d in result.documents if d.path == name]
    return document


CASES = [
    ("zero-byte", "empty.pdf", lambda: b"", "E101"),
    ("corrupt pdf", "broken.pdf", lambda: b"%PDF-1.7\n" + b"\x00garbage" * 200 + b"\n%%EOF\n", "E102"),
    ("truncated pdf", "cut.pdf", lambda: _pdf_bytes(3)[: len(_pdf_bytes(3)) // 2], "E103"),
    ("encrypted pdf", "locked.pdf", _encrypted_pdf, "E104"),
    ("unsupported type", "notes.txt", lambda: "会议纪要\n".encode(), "E105"),
    ("corrupt spreadsheet", "sheet.xlsx", lambda: b"PK\x03\x04" + b"\x00" * 100, "E102"),
    ("wrong extension", "scan.pdf", lambda: "这不是PDF".encode(), "E106"),
    ("truncated jpeg", "photo.jpg", lambda: _jpeg_bytes()[:600], "E103"),
    ("corrupt docx", "plan.docx", lambda: _corrupt_docx(), "E102"),
    ("decompression bomb", "bomb.png", _bomb_png, "E108"),
    ("thousands of pages", "huge.pdf", lambda: _pdf_bytes(1200), "E109"),
]


def _jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((400, 300), 60).convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _corrupt_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document><not-closed>")
    return buffer.getvalue()


@pytest.mark.parametrize(("case", "name", "make", "code"), CASES, ids=[c[0] for c in CASES])
def test_bad_file_becomes_error_document(tmp_path, case, name, make, code):
    document = _review_one(tmp_path, name, make())
    assert document.status == "error", case
    assert document.error is not None
    assert document.error.code == code
    # Chinese for users, English for developers.
    assert any("\u4e00" <= ch <= "\u9fff" for ch in document.error.message)
    assert document.error.message_en.isascii(), document.error.message_en


def test_oversized_file_refused_before_reading(tmp_path):
    document = _review_one(tmp_path, "big.pdf", _pdf_bytes(2), limits=Limits(max_file_bytes=200))
    assert document.status == "error"
    assert document.error.code == "E107"


def test_unreadable_file(tmp_path, monkeypatch):
    """A permission error while reading. Tests run as root, which reads every
    file, so the fault is injected: the one place a mock is the only way."""
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "secret.pdf").write_bytes(_pdf_bytes())
    (folder / "fine.png").write_bytes(_png_bytes())
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.pdf":
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    by_name = {d.path: d for d in ingest_path(folder).documents}
    assert by_name["secret.pdf"].error.code == "E110"
    assert by_name["fine.png"].status == "ok"


def test_extension_mismatch_with_known_content_is_read_with_warning(tmp_path):
    document = _review_one(tmp_path, "licence.jpg", _png_bytes())
    assert document.status == "ok"
    assert [w.code for w in document.warnings] == ["W201"]
    assert document.kind == "image"


def test_bad_files_do_not_stop_the_package(tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    for _, name, make, _ in CASES:
        if name in ("huge.pdf", "bomb.png"):
            continue  # covered above; keep this test quick
        (folder / name).write_bytes(make())
    good = shared("pdfs", "pdfplumber", "issue-336-example.pdf")
    (folder / "tables.pdf").write_bytes(good.read_bytes())
    result = ingest_path(folder)
    by_name = {d.path: d for d in result.documents}
    assert by_name["tables.pdf"].status == "ok"
    assert by_name["tables.pdf"].pages[0].lines, "the good file was still read"
    assert sum(d.status == "error" for d in result.documents) == len(CASES) - 2


def test_zip_with_path_traversal_is_refused_member_by_member(tmp_path):
    archive = tmp_path / "package.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../etc/evil.pdf", _pdf_bytes())
        zf.writestr("good.png", _png_bytes())
    package = open_package(archive)
    errors = {f.path: f.error for f in package.files if f.error}
    assert errors["../../etc/evil.pdf"].code.value == "E111"
    assert any(f.path == "good.png" and f.error is None for f in package.files)


def test_zip_bomb_is_refused(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.pdf", b"\x00" * (5 * 2**20))
    package = open_package(archive, Limits(max_archive_bytes=2**20))
    assert [f.error.code.value for f in package.files] == ["E111"]


def test_corrupt_zip_package(tmp_path):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04 not really a zip")
    result = ingest_path(archive)
    assert [d.error.code for d in result.documents] == ["E111"]


def test_gbk_zip_names_are_decoded(tmp_path):
    # Python's zipfile always writes UTF-8 names; a zip made on Chinese
    # Windows holds raw GBK bytes without the UTF-8 flag. Write a same-length
    # ASCII placeholder, then put the GBK bytes in its place.
    gbk = "营业执照.png".encode("gbk")
    placeholder = b"X" * (len(gbk) - 4) + b".png"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(placeholder.decode(), _png_bytes())
    archive = tmp_path / "pkg.zip"
    archive.write_bytes(buffer.getvalue().replace(placeholder, gbk))
    package = open_package(archive)
    assert [f.path for f in package.files] == ["营业执照.png"]
