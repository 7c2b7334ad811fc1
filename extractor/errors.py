"""One catalogue of the errors a reader can report about an input file.

Like spaCy's ``errors.py``: every code is listed here once, with the Chinese
message users read and the English one developers read. Readers raise
:class:`InputError`; the ingestion loop turns it into a ``Document`` with
``status: error`` and goes on with the rest of the package.
"""

from __future__ import annotations

from enum import StrEnum

from .model import DocumentError


class ErrorCode(StrEnum):
    EMPTY_FILE = "E101"
    CORRUPT_FILE = "E102"
    TRUNCATED_FILE = "E103"
    ENCRYPTED_PDF = "E104"
    UNSUPPORTED_TYPE = "E105"
    TYPE_MISMATCH = "E106"
    FILE_TOO_LARGE = "E107"
    IMAGE_TOO_LARGE = "E108"
    TOO_MANY_PAGES = "E109"
    UNREADABLE_FILE = "E110"
    UNSAFE_ARCHIVE = "E111"
    OCR_FAILED = "E112"
    OCR_MODELS_MISSING = "E113"
    PAGE_FAILED = "E114"
    EXTRACTION_FAILED = "E115"
    COMPONENT_MISSING = "E116"
    CONVERSION_FAILED = "E117"
    PACKAGE_TOO_LARGE = "E118"
    ENCRYPTED_FILE = "E119"
    # Warnings: the document is still reviewed.
    EXTENSION_MISMATCH = "W201"
    REGION_UNKNOWN = "W202"
    PAGES_SKIPPED = "W203"
    STEP_FAILED = "W204"
    HIDDEN_CONTENT = "W205"
    NUMBER_PRECISION = "W206"


_MESSAGES: dict[ErrorCode, tuple[str, str]] = {
    ErrorCode.EMPTY_FILE: ("文件为空（0字节），无法审查。", "The file is empty (0 bytes)."),
    ErrorCode.CORRUPT_FILE: ("文件已损坏，无法打开：{detail}", "The file is corrupt: {detail}"),
    ErrorCode.TRUNCATED_FILE: (
        "文件不完整（可能上传中断），无法打开：{detail}",
        "The file is truncated: {detail}",
    ),
    ErrorCode.ENCRYPTED_PDF: (
        "PDF 已加密，需要密码才能打开，请提交未加密的文件。",
        "The PDF is encrypted and needs a password.",
    ),
    ErrorCode.UNSUPPORTED_TYPE: (
        "不支持的文件类型（{detail}），请提交 PDF、OFD、图片（PNG/JPEG/TIFF）、Word/WPS 文字（.docx/.doc/.wps/.rtf/.odt）、"
        "表格（.xlsx/.xlsm/.xls/.et/.ods/.csv）、DXF 图纸或压缩包（.zip/.7z/.rar）。",
        "Unsupported file type ({detail}).",
    ),
    ErrorCode.TYPE_MISMATCH: (
        "文件扩展名为 {detail}，但文件内容不是该类型，无法打开。",
        "The file's extension says {detail} but its content is not of that type.",
    ),
    ErrorCode.FILE_TOO_LARGE: (
        "文件过大（{detail}），超过单个文件上限。",
        "The file is too large ({detail}).",
    ),
    ErrorCode.IMAGE_TOO_LARGE: (
        "图片像素过多（{detail}），可能是压缩炸弹，已拒绝处理。",
        "The image has too many pixels ({detail}); possible decompression bomb.",
    ),
    ErrorCode.TOO_MANY_PAGES: (
        "文件页数过多（{detail}），超过单个文件上限。",
        "The document has too many pages ({detail}).",
    ),
    ErrorCode.UNREADABLE_FILE: ("文件无法读取：{detail}", "The file cannot be read: {detail}"),
    ErrorCode.UNSAFE_ARCHIVE: (
        "压缩包不安全或已损坏（{detail}），已拒绝解压。",
        "The archive is unsafe or corrupt ({detail}).",
    ),
    ErrorCode.OCR_FAILED: ("文字识别失败：{detail}", "OCR failed: {detail}"),
    ErrorCode.OCR_MODELS_MISSING: (
        "文字识别引擎 {detail} 的模型不存在，请检查配置的模型目录。",
        "The models of OCR engine {detail} are missing.",
    ),
    ErrorCode.PAGE_FAILED: ("第 {detail} 页无法处理，已跳过。", "Page {detail} could not be processed."),
    ErrorCode.EXTRACTION_FAILED: (
        "文件已读取，但字段抽取出错（{detail}），请人工审阅此文件。",
        "The file was read but field extraction failed ({detail}).",
    ),
    ErrorCode.STEP_FAILED: (
        "部分字段抽取步骤出错（{detail}），此文件的字段可能不全，请人工核对。",
        "Some extraction steps failed ({detail}); the document's fields may be incomplete.",
    ),
    ErrorCode.EXTENSION_MISMATCH: (
        "文件扩展名与内容不符（{detail}），已按实际内容处理。",
        "The extension does not match the content ({detail}); read by content.",
    ),
    ErrorCode.REGION_UNKNOWN: (
        "身份证号的地区码不在已知列表中（{detail}）。",
        "Unknown region code ({detail}).",
    ),
    ErrorCode.PAGES_SKIPPED: ("部分页面无法处理：{detail}", "Some pages could not be processed: {detail}"),
    ErrorCode.COMPONENT_MISSING: (
        "服务器缺少读取此类文件所需的组件（{detail}），请联系系统管理员安装，或提交 PDF/.docx 文件。",
        "A component needed to read this file is not installed ({detail}).",
    ),
    ErrorCode.CONVERSION_FAILED: (
        "文件格式转换失败（{detail}），请另存为 .docx 或 PDF 后重新提交。",
        "Converting the file failed ({detail}).",
    ),
    ErrorCode.PACKAGE_TOO_LARGE: (
        "申请材料总量过大（{detail}），超过单个申请包上限，此文件未读取。",
        "The package's total uncompressed size exceeds the limit ({detail}); this file was not read.",
    ),
    ErrorCode.ENCRYPTED_FILE: (
        "文件已加密（{detail}），需要密码才能打开，请提交未加密的文件。",
        "The file is encrypted ({detail}) and needs a password.",
    ),
    ErrorCode.HIDDEN_CONTENT: (
        "表格中有隐藏内容（{detail}），未参与审查，请确认是否应当提交。",
        "Hidden content was ignored ({detail}).",
    ),
    ErrorCode.NUMBER_PRECISION: (
        "单元格数值超过 15 位有效数字（{detail}），身份证号等长号码可能已被表格软件改写，请以文本格式填写。",
        "Numbers longer than 15 significant digits ({detail}); long identifiers may have been altered.",
    ),
}


def describe(code: ErrorCode, detail: str = "", detail_en: str | None = None) -> DocumentError:
    zh, en = _MESSAGES[code]
    return DocumentError(
        code=code.value,
        message=zh.format(detail=detail),
        message_en=en.format(detail=detail if detail_en is None else detail_en),
    )


class InputError(Exception):
    """A file that cannot be reviewed; becomes a document with ``status: error``."""

    def __init__(self, code: ErrorCode, detail: str = "", detail_en: str | None = None) -> None:
        self.code = code
        self.detail = detail
        self.error = describe(code, detail, detail_en)
        super().__init__(f"{code.value}: {self.error.message_en}")
