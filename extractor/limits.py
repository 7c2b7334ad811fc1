"""Input limits: what shencha refuses before it spends memory or time on it."""

from __future__ import annotations

from pydantic import BaseModel


class Limits(BaseModel):
    max_file_bytes: int = 200 * 2**20
    max_image_pixels: int = 80_000_000  # ~ a 10000 x 8000 photo; more is a bomb
    max_pdf_pages: int = 1000
    max_archive_members: int = 2000
    max_archive_bytes: int = 2 * 2**30
    ocr_dpi: int = 200  # render DPI for scanned PDF pages
