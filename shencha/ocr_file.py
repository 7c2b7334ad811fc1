"""`shencha ocr`: OCR every page of one image or PDF, text layer or not."""

from __future__ import annotations

import io
from pathlib import Path

from extractor.errors import InputError
from extractor.ingest import IngestOptions, apply_ocr
from extractor.model import DocumentKind, Page, Source
from extractor.ocr import PageImage, recognise_pages
from extractor.readers.base import sha256_hex
from extractor.readers.image import read_image
from extractor.sniff import sniff

from .store import Store


def ocr_file(path: Path, store: Store, options: IngestOptions, dpi: int = 200) -> list[Page]:
    data = path.read_bytes()
    kind, fmt = sniff(data)
    if kind == DocumentKind.IMAGE:
        output = read_image(data, fmt, options.limits)
        pages, jobs = output.pages, [(p, PageImage(key=j.key, image=j.image)) for p, j in zip(output.pages, output.ocr_jobs, strict=True)]
    elif kind == DocumentKind.PDF:
        import pypdfium2 as pdfium

        pages, jobs = [], []
        pdf = pdfium.PdfDocument(data)
        try:
            for index in range(len(pdf)):
                page = pdf[index]
                width, height = page.get_size()
                buffer = io.BytesIO()
                page.render(scale=dpi / 72).to_pil().save(buffer, format="PNG", compress_level=1)
                image = buffer.getvalue()
                shell = Page(number=index + 1, width=width, height=height, unit="pt", source=Source.OCR,
                             decision="按要求重新识别")
                pages.append(shell)
                jobs.append((shell, PageImage(key=sha256_hex(image), image=image, dpi=float(dpi))))
                page.close()
        finally:
            pdf.close()
    else:
        raise SystemExit(f"不是图片或 PDF：{path}")
    results = recognise_pages([j for _, j in jobs], options.ocr, cache=store.ocr_cache(), progress=options.progress)
    for (page, _), result in zip(jobs, results, strict=True):
        if isinstance(result, InputError):
            page.decision = result.error.message
            continue
        apply_ocr(page, result)
    return pages
