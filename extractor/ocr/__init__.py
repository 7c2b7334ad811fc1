"""OCR of page images: engines, page normalisation, batch runner and cache protocol.

    from extractor.ocr import OcrOptions, PageImage, recognise_pages
    results = recognise_pages([PageImage(key=sha, image=png_bytes)], OcrOptions())
"""

from .api import OcrCache, OcrOptions, OcrPageResult, PageImage
from .engines import EngineInfo, OcrEngine, PaddleOcrEngine, RapidOcrEngine, RawLine, WordBox
from .runner import cache_key, get_engine, recognise_pages

__all__ = [
    "EngineInfo",
    "OcrCache",
    "OcrEngine",
    "OcrOptions",
    "OcrPageResult",
    "PaddleOcrEngine",
    "PageImage",
    "RapidOcrEngine",
    "RawLine",
    "WordBox",
    "cache_key",
    "get_engine",
    "recognise_pages",
]
