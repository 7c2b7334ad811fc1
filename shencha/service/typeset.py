"""What the documents shencha prints share: the CJK font for PDFs and the Chinese date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
_FONT_REGISTERED = False


def date_cn(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def pdf_font() -> str:
    """The registered reportlab name of the CJK font (registered once per process)."""
    global _FONT_REGISTERED
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if not _FONT_REGISTERED:
        pdfmetrics.registerFont(TTFont("WQYZenHei", str(CJK_FONT), subfontIndex=0))
        _FONT_REGISTERED = True
    return "WQYZenHei"
