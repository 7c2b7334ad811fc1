"""What a reader hands back to ingestion."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..model import Conversion, DocumentError, Page


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class OcrJob:
    """A page image that still needs OCR."""

    page_index: int
    key: str  # sha256 of `image`; for a PDF page, of the PDF's sha256, page, DPI and renderer
    image: bytes  # encoded PNG/JPEG; empty for a PDF page, which the OCR worker renders from `pdf`
    dpi: float | None = None  # set for rendered PDF pages
    pdf: bytes | None = None  # the whole PDF, for a page rendered where it is recognised


@dataclass
class ReadOutput:
    pages: list[Page] = field(default_factory=list)
    ocr_jobs: list[OcrJob] = field(default_factory=list)
    failed_pages: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[DocumentError] = field(default_factory=list)
    conversion: Conversion | None = None  # set when the file was converted before reading
