"""The formats beyond ``extractor.sniff``: spreadsheets, old and WPS word files, OFD, archives.

``sniff_format`` first asks ``extractor.sniff`` (PDF, images, .docx, DXF),
then looks inside the containers that sniff leaves unknown:

- a zip holding ``xl/workbook.xml`` is .xlsx/.xlsm; one whose ``mimetype``
  names an OpenDocument spreadsheet or text is .ods/.odt; one holding
  ``OFD.xml`` is OFD (GB/T 33190);
- an OLE2 compound file (``D0 CF 11 E0``) holding a ``Workbook``/``Book``
  stream is BIFF (.xls; WPS's .et is the same inside), one holding
  ``WordDocument`` is Word 97–2003 (.doc; WPS's .wps is the same inside),
  one holding ``EncryptedPackage`` is a password-protected .docx/.xlsx;
- ``{\\rtf`` is RTF; 7z and RAR are recognised by their signatures (the
  package opens them; ingestion never reads one as a document);
- a .csv is text: recognised by its extension once it decodes as text.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from ..model import DocumentKind
from ..sniff import FORMATS as _BASE_FORMATS
from ..sniff import MEDIA_TYPES as _BASE_MEDIA
from ..sniff import sniff

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
RAR_MAGICS = (b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00")

# extension -> format name (what the content should sniff as)
FORMATS: dict[str, str] = {
    **_BASE_FORMATS,
    ".xlsx": "xlsx",
    ".xlsm": "xlsm",
    ".xls": "xls",
    ".et": "xls",  # WPS spreadsheet: BIFF8 inside, like .xls
    ".ods": "ods",
    ".csv": "csv",
    ".doc": "doc",
    ".wps": "doc",  # WPS writer: Word 97 inside
    ".rtf": "rtf",
    ".odt": "odt",
    ".ofd": "ofd",
    ".zip": "zip",
    ".7z": "7z",
    ".rar": "rar",
}

KINDS: dict[str, DocumentKind] = {
    "pdf": DocumentKind.PDF,
    "png": DocumentKind.IMAGE,
    "jpeg": DocumentKind.IMAGE,
    "tiff": DocumentKind.IMAGE,
    "docx": DocumentKind.DOCX,
    "doc": DocumentKind.DOCX,
    "rtf": DocumentKind.DOCX,
    "odt": DocumentKind.DOCX,
    "dxf": DocumentKind.DXF,
    "xlsx": DocumentKind.SPREADSHEET,
    "xlsm": DocumentKind.SPREADSHEET,
    "xls": DocumentKind.SPREADSHEET,
    "ods": DocumentKind.SPREADSHEET,
    "csv": DocumentKind.SPREADSHEET,
    "ofd": DocumentKind.OFD,
}

MEDIA_TYPES: dict[str, str] = {
    **_BASE_MEDIA,
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    "xls": "application/vnd.ms-excel",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "csv": "text/csv",
    "doc": "application/msword",
    "rtf": "application/rtf",
    "odt": "application/vnd.oasis.opendocument.text",
    "ofd": "application/ofd",
    "zip": "application/zip",
    "7z": "application/x-7z-compressed",
    "rar": "application/vnd.rar",
}

ARCHIVE_FORMATS = ("zip", "7z", "rar")


def format_from_extension(path: str) -> str:
    return FORMATS.get(PurePosixPath(path).suffix.lower(), "")


def kind_from_extension(path: str) -> DocumentKind:
    fmt = format_from_extension(path)
    return KINDS.get(fmt, DocumentKind.UNKNOWN)


def archive_format(data: bytes) -> str:
    """"zip", "7z", "rar" or "" from the first bytes."""
    if data.startswith(SEVEN_ZIP_MAGIC):
        return "7z"
    if data.startswith(RAR_MAGICS):
        return "rar"
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return "zip"
    return ""


def sniff_format(data: bytes, path: str = "") -> tuple[DocumentKind, str]:
    """The kind and format of ``data``; ``(UNKNOWN, "encrypted")`` for a
    password-protected Office file, ``(UNKNOWN, "")`` for anything unknown."""
    kind, fmt = sniff(data)
    if kind != DocumentKind.UNKNOWN:
        return kind, fmt
    if fmt == "zip":
        return _zip_format(data)
    if data.startswith(CFB_MAGIC):
        return _cfb_format(data)
    if data.startswith(SEVEN_ZIP_MAGIC):
        return DocumentKind.UNKNOWN, "7z"
    if data.startswith(RAR_MAGICS):
        return DocumentKind.UNKNOWN, "rar"
    if data[:6].lower() == b"{\\rtf1" or data[:5] == b"{\\rtf":
        return DocumentKind.DOCX, "rtf"
    if format_from_extension(path) == "csv" and _is_text(data):
        return DocumentKind.SPREADSHEET, "csv"
    return DocumentKind.UNKNOWN, ""


def _zip_format(data: bytes) -> tuple[DocumentKind, str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" in names:
                types = zf.read("[Content_Types].xml") if "[Content_Types].xml" in names else b""
                return DocumentKind.SPREADSHEET, "xlsm" if b"macroEnabled" in types else "xlsx"
            if "mimetype" in names:
                mime = zf.read("mimetype")[:100]
                if mime.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
                    return DocumentKind.SPREADSHEET, "ods"
                if mime.startswith(b"application/vnd.oasis.opendocument.text"):
                    return DocumentKind.DOCX, "odt"
            if "OFD.xml" in names or any(n.lower() == "ofd.xml" for n in names):
                return DocumentKind.OFD, "ofd"
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError):
        pass
    return DocumentKind.UNKNOWN, "zip"


def _cfb_format(data: bytes) -> tuple[DocumentKind, str]:
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            streams = {"/".join(entry).lower() for entry in ole.listdir(streams=True, storages=False)}
    except Exception:  # noqa: BLE001 - olefile raises OSError and others on broken files
        return DocumentKind.UNKNOWN, "ole"
    if "encryptedpackage" in streams:
        return DocumentKind.UNKNOWN, "encrypted"
    if "workbook" in streams or "book" in streams:
        return DocumentKind.SPREADSHEET, "xls"
    if "worddocument" in streams:
        return DocumentKind.DOCX, "doc"
    return DocumentKind.UNKNOWN, "ole"


def _is_text(data: bytes) -> bool:
    sample = data[:65536]
    if b"\x00" in sample:
        return False
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            sample.decode(encoding)
            return True
        except UnicodeDecodeError as exc:
            if exc.start > len(sample) - 4:  # a character cut at the sample's end
                return True
    return False
