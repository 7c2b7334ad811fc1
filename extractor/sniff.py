"""Recognise a file's type from its content, and compare with its extension."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from .model import DocumentKind

EXTENSIONS: dict[str, DocumentKind] = {
    ".pdf": DocumentKind.PDF,
    ".png": DocumentKind.IMAGE,
    ".jpg": DocumentKind.IMAGE,
    ".jpeg": DocumentKind.IMAGE,
    ".tif": DocumentKind.IMAGE,
    ".tiff": DocumentKind.IMAGE,
    ".docx": DocumentKind.DOCX,
    ".dxf": DocumentKind.DXF,
}

MEDIA_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "tiff": "image/tiff",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "dxf": "image/vnd.dxf",
}


def sniff(data: bytes) -> tuple[DocumentKind, str]:
    """Return the kind and a short format name ("pdf", "png", ...) of ``data``.

    Unknown content gives ``(UNKNOWN, "")``. Only the first bytes are read,
    except for .docx, which is a zip that must hold ``word/document.xml``.
    """
    head = data[:1024]
    if head.lstrip(b"\x00\t\r\n ").startswith(b"%PDF-") or b"%PDF-" in head:
        return DocumentKind.PDF, "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return DocumentKind.IMAGE, "png"
    if head.startswith(b"\xff\xd8\xff"):
        return DocumentKind.IMAGE, "jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return DocumentKind.IMAGE, "tiff"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                if "word/document.xml" in zf.namelist():
                    return DocumentKind.DOCX, "docx"
        except zipfile.BadZipFile:
            pass  # a truncated zip: ingestion decides by the extension
        return DocumentKind.UNKNOWN, "zip"
    if head.startswith(b"AutoCAD Binary DXF"):
        return DocumentKind.DXF, "dxf"
    text = head.decode("latin-1").upper()
    if "SECTION" in text and ("HEADER" in text or "ENTITIES" in text or "TABLES" in text):
        return DocumentKind.DXF, "dxf"
    return DocumentKind.UNKNOWN, ""


FORMATS = {".pdf": "pdf", ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".tif": "tiff",
           ".tiff": "tiff", ".docx": "docx", ".dxf": "dxf"}


def kind_from_extension(path: str) -> DocumentKind:
    return EXTENSIONS.get(PurePosixPath(path).suffix.lower(), DocumentKind.UNKNOWN)


def format_from_extension(path: str) -> str:
    return FORMATS.get(PurePosixPath(path).suffix.lower(), "")
