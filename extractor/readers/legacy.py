"""Word 97–2003 (.doc), WPS writer (.wps), RTF and OpenDocument text (.odt):
converted to .docx by LibreOffice, then read by the Word reader.

Spreadsheets that calamine cannot read (a WPS .et that is not BIFF inside)
are converted to .xlsx the same way. The page decision says the text was
read from a conversion, and the document records it (``Document.conversion``).
"""

from __future__ import annotations

import io

from ..errors import ErrorCode, InputError
from ..limits import Limits
from .base import ReadOutput
from .convert import convert


def read_legacy_word(data: bytes, fmt: str, limits: Limits) -> ReadOutput:
    if fmt == "doc":
        _refuse_encrypted_doc(data)
    converted, conversion = convert(data, fmt, "docx", limits)
    from .docx import read_docx

    output = read_docx(converted)
    for page in output.pages:
        page.decision = f"由 {conversion.tool} 将 .{fmt} 转换为 .docx 后读取；" + page.decision
    output.conversion = conversion
    return output


def read_converted_sheet(data: bytes, fmt: str, limits: Limits, name: str) -> ReadOutput:
    converted, conversion = convert(data, fmt, "xlsx", limits)
    from .spreadsheet import read_spreadsheet

    output = read_spreadsheet(converted, "xlsx", limits, name)
    for page in output.pages:
        page.decision = f"由 {conversion.tool} 转换为 .xlsx 后读取；" + page.decision
    output.conversion = conversion
    return output


def _refuse_encrypted_doc(data: bytes) -> None:
    """A password-protected .doc sets fEncrypted in its FIB (MS-DOC 2.5.2):
    refuse it before LibreOffice would wait for a password."""
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            if not ole.exists("WordDocument"):
                raise InputError(ErrorCode.CORRUPT_FILE, "Word 文件缺少正文流", "no WordDocument stream")
            with ole.openstream("WordDocument") as stream:
                fib = stream.read(12)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - olefile raises OSError and others on broken files
        raise InputError(ErrorCode.CORRUPT_FILE, f"Word 文件无法打开: {type(exc).__name__}", str(exc)) from exc
    if len(fib) < 12:
        raise InputError(ErrorCode.CORRUPT_FILE, "Word 文件头不完整", "short FIB")
    flags = int.from_bytes(fib[10:12], "little")
    if flags & 0x0100:  # fEncrypted
        raise InputError(ErrorCode.ENCRYPTED_FILE, "Word 文件设有打开密码", "password-protected .doc")
