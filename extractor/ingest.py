"""Ingestion: from a package's files to Documents with pages and lines.

Each file is sniffed, checked against the limits and read by its reader.
Pages that need OCR are collected across the whole package and recognised
in one parallel batch (cache first), then merged back. A file that cannot
be read becomes a Document with ``status: error``; it never stops the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import ErrorCode, InputError, describe
from .layout import reading_order
from .limits import Limits
from .model import Document, DocumentKind, Line, Page, Word
from .ocr import OcrCache, OcrOptions, OcrPageResult, PageImage, recognise_pages, timing
from .package import InputFile, Package, open_package
from .readers.base import OcrJob, ReadOutput, sha256_hex
from .readers.formats import MEDIA_TYPES, format_from_extension, kind_from_extension, sniff_format


class IngestOptions:
    def __init__(
        self,
        limits: Limits | None = None,
        ocr: OcrOptions | None = None,
        progress: bool = False,
        ocr_mapper=None,
    ) -> None:
        self.limits = limits or Limits()
        self.ocr = ocr or OcrOptions()
        self.progress = progress
        # Where cache misses are recognised (extractor.ocr.runner.PageMapper); None: a local pool.
        self.ocr_mapper = ocr_mapper


@dataclass
class IngestResult:
    documents: list[Document]
    blobs: dict[str, bytes] = field(default_factory=dict)  # sha256 -> original files, page images


@dataclass
class _Pending:
    document: Document
    jobs: list[OcrJob]


def ingest_package(
    package: Package,
    options: IngestOptions | None = None,
    cache: OcrCache | None = None,
) -> IngestResult:
    options = options or IngestOptions()
    result = IngestResult(documents=[])
    pending: list[_Pending] = []
    for index, item in enumerate(package.files):
        document, jobs, data = _read_one(item, index, options.limits)
        result.documents.append(document)
        if data is not None:
            result.blobs[document.sha256] = data
        if jobs:
            pending.append(_Pending(document, jobs))
    _run_ocr(pending, options, cache, result.blobs)
    return result


def ingest_path(path: Path, options: IngestOptions | None = None, cache: OcrCache | None = None) -> IngestResult:
    return ingest_package(open_package(path, (options or IngestOptions()).limits), options, cache)


def _read_one(item: InputFile, index: int, limits: Limits) -> tuple[Document, list[OcrJob], bytes | None]:
    """Read one file; every failure becomes an error Document."""
    base = dict(id=f"d{index + 1:03d}", path=item.path, sha256="", size=item.size, kind=DocumentKind.UNKNOWN)
    if item.error is not None:
        return Document(**base, status="error", error=item.error.error), [], None
    try:
        if item.size > limits.max_file_bytes:
            raise InputError(
                ErrorCode.FILE_TOO_LARGE,
                f"{item.size / 2**20:.1f} MB，上限 {limits.max_file_bytes / 2**20:.0f} MB",
                f"{item.size / 2**20:.1f} MB, limit {limits.max_file_bytes / 2**20:.0f} MB",
            )
        data = item.read()
    except InputError as exc:
        return Document(**base, status="error", error=exc.error), [], None
    except Exception as exc:  # noqa: BLE001 - an archive backend's surprise must not stop the batch
        error = describe(ErrorCode.CORRUPT_FILE, f"{type(exc).__name__}", type(exc).__name__)
        return Document(**base, status="error", error=error), [], None
    base["sha256"] = sha256_hex(data)
    base["size"] = len(data)
    base["id"] = f"d{index + 1:03d}-{base['sha256'][:8]}"
    if not data:
        return Document(**base, status="error", error=describe(ErrorCode.EMPTY_FILE)), [], data

    kind, fmt = sniff_format(data, item.path)
    expected = kind_from_extension(item.path)
    expected_fmt = format_from_extension(item.path)
    if fmt == "zip" and expected_fmt in ("docx", "xlsx", "xlsm", "ods", "ofd"):
        # A zip-based document whose zip structure is broken (truncated
        # upload): let its reader report it as corrupt, not as a foreign type.
        kind, fmt = expected, expected_fmt
    if fmt == "ole" and expected == DocumentKind.SPREADSHEET and expected_fmt == "xls" \
            and PurePosixPath(item.path).suffix.lower() == ".et":
        # A WPS .et that is not BIFF inside: LibreOffice converts it.
        kind = DocumentKind.SPREADSHEET
    base["kind"] = kind
    base["media_type"] = MEDIA_TYPES.get(fmt, "")
    suffix = PurePosixPath(item.path).suffix.lower() or "（无扩展名）"
    warnings = []
    try:
        if fmt == "ole" and expected_fmt in ("xls", "doc") and kind == DocumentKind.UNKNOWN:
            # An OLE2 container that olefile cannot parse, or without the
            # Word/Excel stream: a damaged .doc/.xls, not a foreign type.
            raise InputError(ErrorCode.CORRUPT_FILE, "OLE 复合文档已损坏或缺少正文", "broken OLE2 container")
        if fmt == "encrypted":
            raise InputError(ErrorCode.ENCRYPTED_FILE, "Office 文件设有打开密码", "password-protected Office file")
        if kind == DocumentKind.UNKNOWN:
            if expected != DocumentKind.UNKNOWN:
                raise InputError(ErrorCode.TYPE_MISMATCH, suffix)
            raise InputError(ErrorCode.UNSUPPORTED_TYPE, suffix, suffix.replace("（无扩展名）", "no extension"))
        if expected_fmt != fmt and {expected_fmt, fmt} not in _SAME_FORMATS:
            warnings.append(
                describe(ErrorCode.EXTENSION_MISMATCH, f"扩展名 {suffix}，实际为 {fmt}", f"{suffix} is {fmt}")
            )
        output = _dispatch(kind, fmt, data, limits, PurePosixPath(item.path).stem)
    except InputError as exc:
        return Document(**base, status="error",
                        error=exc.error, warnings=warnings), [], data
    except Exception as exc:  # noqa: BLE001 - a reader bug must not stop the batch
        error = describe(ErrorCode.CORRUPT_FILE, f"{type(exc).__name__}: {exc}")
        return Document(**base, status="error",
                        error=error, warnings=warnings), [], data
    if output.failed_pages:
        pages = "、".join(str(n) for n, _ in output.failed_pages)
        warnings.append(describe(ErrorCode.PAGES_SKIPPED, f"第 {pages} 页"))
    document = Document(**base, pages=output.pages,
                        warnings=warnings + output.warnings, conversion=output.conversion)
    return document, output.ocr_jobs, data


# Extension and content that differ only in name: no W201 warning.
_SAME_FORMATS = [{"xlsx", "xlsm"}, {"xls", "ole"}]


def _dispatch(kind: DocumentKind, fmt: str, data: bytes, limits: Limits, stem: str = "Sheet1") -> ReadOutput:
    # Readers are imported on use: a package of PDFs never loads python-docx.
    if kind == DocumentKind.PDF:
        from .readers.pdf import read_pdf

        return read_pdf(data, limits)
    if kind == DocumentKind.IMAGE:
        from .readers.image import read_image

        return read_image(data, fmt, limits)
    if kind == DocumentKind.DOCX and fmt in ("doc", "rtf", "odt"):
        from .readers.legacy import read_legacy_word

        return read_legacy_word(data, fmt, limits)
    if kind == DocumentKind.DOCX:
        from .readers.docx import read_docx

        return read_docx(data)
    if kind == DocumentKind.SPREADSHEET and fmt == "ole":
        from .readers.legacy import read_converted_sheet

        return read_converted_sheet(data, fmt, limits, stem)
    if kind == DocumentKind.SPREADSHEET:
        from .readers.spreadsheet import read_spreadsheet

        return read_spreadsheet(data, fmt, limits, name=stem)
    if kind == DocumentKind.OFD:
        from .readers.ofd import read_ofd

        return read_ofd(data, limits)
    if kind == DocumentKind.DXF:
        from .readers.dxf import read_dxf

        return read_dxf(data)
    raise InputError(ErrorCode.UNSUPPORTED_TYPE, fmt)


def _run_ocr(
    pending: list[_Pending], options: IngestOptions, cache: OcrCache | None, blobs: dict[str, bytes]
) -> None:
    if not pending:
        return
    flat = [(p.document, job) for p in pending for job in p.jobs]
    images = [PageImage(key=job.key, image=job.image, dpi=job.dpi, pdf=job.pdf, page_index=job.page_index)
              for _, job in flat]
    results = recognise_pages(images, options.ocr, cache=cache, progress=options.progress,
                              mapper=options.ocr_mapper)
    failed: dict[str, list[int]] = {}
    for (document, job), result in zip(flat, results, strict=True):
        page = document.pages[job.page_index]
        if isinstance(result, InputError):
            failed.setdefault(document.id, []).append(page.number)
            page.decision += f"；识别失败：{result.error.message}"
            if result.code == ErrorCode.OCR_MODELS_MISSING:
                document.status, document.error = "error", result.error
            continue
        with timing.stage("layout/tables"):
            blobs[_image_sha(result)] = result.image
            apply_ocr(page, result)
    for document in (p.document for p in pending):
        pages = failed.get(document.id)
        if not pages:
            continue
        if len(pages) == len(document.pages) and document.status != "error":
            document.status = "error"
            document.error = describe(ErrorCode.OCR_FAILED, f"全部 {len(pages)} 页")
        elif document.status != "error":
            document.warnings.append(
                describe(ErrorCode.PAGES_SKIPPED, "第 " + "、".join(map(str, pages)) + " 页识别失败")
            )


def _image_sha(result: OcrPageResult) -> str:
    return sha256_hex(result.image)


def apply_ocr(page: Page, result: OcrPageResult) -> None:
    """Put OCR lines on the page, in the page's unit.

    OCR boxes are in pixels of the normalised (rotated, deskewed,
    downscaled) image, which becomes the page image. For a rendered PDF
    page the unit stays points: divide by the image's pixels-per-point.
    """
    scale = 1.0
    if page.unit == "pt":
        dpi = result.run.dpi or 72.0
        scale = dpi / 72.0 * result.run.downscale
    page.width = result.width / scale
    page.height = result.height / scale
    page.image_scale = scale
    page.image_sha256 = _image_sha(result)
    page.ocr = result.run
    lines = [_scale_line(line, scale) for line in result.lines] if scale != 1.0 else list(result.lines)
    page.lines = reading_order(lines)


def _scale_line(line: Line, scale: float) -> Line:
    def s(b: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        return (b[0] / scale, b[1] / scale, b[2] / scale, b[3] / scale)

    return line.model_copy(
        update={"bbox": s(line.bbox), "words": [Word(text=w.text, bbox=s(w.bbox), confidence=w.confidence) for w in line.words]}
    )
