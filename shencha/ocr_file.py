"""`shencha ocr`: OCR every page of one image or PDF, text layer or not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from extractor.errors import InputError
from extractor.ingest import IngestOptions, apply_ocr
from extractor.model import DocumentKind, Page, Source
from extractor.ocr import PageImage, recognise_pages
from extractor.readers.base import OcrJob, sha256_hex
from extractor.readers.image import ImageFrames
from extractor.sniff import sniff

from .store import Store


def ocr_file(path: Path, store: Store, options: IngestOptions, dpi: int = 200) -> list[Page]:
    """Every page of `path` read by OCR, in order; a page that fails says why in its decision.

    The pages are read one by one as the OCR pool asks for them: a TIFF's
    later frames are decoded, and a PDF's pages rendered by the OCR workers,
    while the first ones are being recognised.
    """
    data = path.read_bytes()
    kind, fmt = sniff(data)
    pages: list[Page] = []
    if kind == DocumentKind.IMAGE:
        frames = ImageFrames(data, fmt, options.limits)
        total, jobs = len(frames), _collect(iter(frames), pages)
    elif kind == DocumentKind.PDF:
        total, jobs = _pdf_pages(data, dpi, pages)
    else:
        raise SystemExit(f"不是图片或 PDF：{path}")
    results = recognise_pages(jobs, options.ocr, cache=store.ocr_cache(), progress=options.progress, total=total)
    for page, result in zip(pages, results, strict=True):
        if isinstance(result, InputError):
            page.decision = result.error.message
            continue
        apply_ocr(page, result)
    return pages


def _collect(read: Iterator[tuple[Page, OcrJob]], pages: list[Page]) -> Iterator[PageImage]:
    """The OCR jobs of `read`, keeping each page in `pages` as it comes."""
    for page, job in read:
        pages.append(page)
        yield PageImage(key=job.key, image=job.image, dpi=job.dpi, pdf=job.pdf, page_index=job.page_index)


def _pdf_pages(data: bytes, dpi: int, pages: list[Page]) -> tuple[int, Iterator[PageImage]]:
    import pypdfium2 as pdfium

    from extractor.readers.pdf import page_ocr_job

    sha = sha256_hex(data)
    shells: list[tuple[Page, OcrJob]] = []
    pdf = pdfium.PdfDocument(data)
    try:
        for index in range(len(pdf)):
            page = pdf[index]
            width, height = page.get_size()
            shell = Page(number=index + 1, width=width, height=height, unit="pt", source=Source.OCR,
                         decision="按要求重新识别", image_scale=dpi / 72)
            shells.append((shell, page_ocr_job(data, sha, page, index, dpi)))
            page.close()
    finally:
        pdf.close()
    return len(shells), _collect(iter(shells), pages)
