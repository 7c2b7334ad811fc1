"""Input limits: what shencha refuses before it spends memory or time on it."""

from __future__ import annotations

from pydantic import BaseModel


class Limits(BaseModel):
    max_file_bytes: int = 200 * 2**20
    max_image_pixels: int = 80_000_000  # ~ a 10000 x 8000 photo; more is a bomb
    max_pdf_pages: int = 1000
    max_archive_members: int = 2000
    max_archive_bytes: int = 2 * 2**30  # one archive's members, uncompressed
    # All files of a package together, uncompressed (folder files, archive
    # members, members of nested archives): the files past the cap are not read.
    max_package_bytes: int = 1 * 2**30
    max_archive_depth: int = 1  # archives inside the package are opened; archives inside those are not
    # A zip-based document (.xlsx, .ods, .ofd) unpacked in memory: more is a bomb.
    max_unpacked_document_bytes: int = 512 * 2**20
    max_sheet_cells: int = 1_000_000  # one worksheet's used range
    conversion_seconds: float = 120.0  # LibreOffice's time for one file
    ocr_dpi: int = 200  # render DPI for scanned PDF pages
