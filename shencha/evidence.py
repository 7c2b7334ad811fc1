"""Evidence crops: the part of a page image a finding or field points at."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw

from extractor.model import BBox

from .store import Store

_PDF_SCALE = 2.0  # pixels per point when a text-layer PDF page is rendered for a crop


class EvidenceImages:
    """Crops page regions of a stored report, rendering text-layer PDF pages on demand."""

    def __init__(self, store: Store, report_id: str) -> None:
        self.store = store
        self.report_id = report_id
        self._page_image = lru_cache(maxsize=16)(self._load_page_image)

    def crop(self, document: str, page: int, bbox: BBox, margin: float = 12.0, max_width: int = 640) -> bytes | None:
        """A JPEG of the box with some context around it, the box outlined in red."""
        loaded = self._page_image(document, page)
        if loaded is None:
            return None
        image, scale = loaded
        x0, y0, x1, y1 = (v * scale for v in bbox)
        pad = margin * scale
        box = (
            max(int(x0 - pad), 0),
            max(int(y0 - pad), 0),
            min(int(x1 + pad), image.width),
            min(int(y1 + pad), image.height),
        )
        if box[2] <= box[0] or box[3] <= box[1]:
            return None
        crop = image.crop(box).convert("RGB")
        draw = ImageDraw.Draw(crop)
        draw.rectangle((x0 - box[0], y0 - box[1], x1 - box[0], y1 - box[1]), outline=(220, 30, 30), width=3)
        if crop.width > max_width:
            crop = crop.resize((max_width, max(1, int(crop.height * max_width / crop.width))))
        buffer = io.BytesIO()
        crop.save(buffer, format="JPEG", quality=80)
        return buffer.getvalue()

    def page_image(self, document: str, page: int) -> tuple[Image.Image, float] | None:
        return self._page_image(document, page)

    def _load_page_image(self, document: str, page: int) -> tuple[Image.Image, float] | None:
        try:
            image_sha, scale, file_sha = self.store.page_image_ref(self.report_id, document, page)
        except KeyError:
            return None
        if image_sha:
            data = self.store.get_blob(image_sha)
            return (Image.open(io.BytesIO(data)), scale) if data else None
        original = self.store.get_blob(file_sha)
        if not original or not original.lstrip()[:5].startswith(b"%PDF-"):
            return None  # Word and DXF pages have no image
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(original)
        try:
            rendered = pdf[page - 1].render(scale=_PDF_SCALE).to_pil()
        finally:
            pdf.close()
        return rendered, _PDF_SCALE
