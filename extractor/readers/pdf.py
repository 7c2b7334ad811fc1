"""PDF reader: the text layer where it is good, a rendered image for OCR where not.

The text layer's characters and boxes come from PDFium (pypdfium2): it
reads a content stream ~20x faster than pdfminer (measured: the 22-page
issue-67 report in 0.17 s against 3.6 s), which is what lets a text package
of hundreds of pages pass in seconds. Ruled tables use pdfplumber's table
algorithm on PDFium's path geometry (``tables.py``).

Per page we decide text layer vs OCR and record why (``Page.decision``):

* no text at all → OCR;
* mostly unmapped glyphs (``(cid:..)``, U+FFFD, private-use code points) → OCR;
* only an invisible text layer (render mode 3, the layer a scanner's OCR
  leaves over the page image) → OCR, since that layer's quality cannot be
  vouched for (pdfplumber's pr-136 scan reads "ZOq5年" for "2015年").
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ..errors import ErrorCode, InputError
from ..layout import Glyph, dedupe_glyphs, glyphs_to_cell_lines, reading_order
from ..limits import Limits
from ..model import Page, Source
from ..ocr import timing
from .base import OcrJob, ReadOutput, sha256_hex
from .tables import find_tables, page_edges

INVISIBLE = 3  # PDF text render mode "neither fill nor stroke"
# Up to this size a PDF travels whole to the OCR worker that renders its page.
SHIP_PDF_BYTES = 16 * 2**20
# Part of a rendered page's cache key: another PDFium may draw other pixels.
RENDERER = f"pypdfium2 {pdfium.PYPDFIUM_INFO} / pdfium {pdfium.PDFIUM_INFO}"


@dataclass
class _PageText:
    glyphs: list[Glyph]
    visible: int
    invisible: int
    unmapped: int
    from_pdfminer: bool = False

    @property
    def rare_han(self) -> float:
        """Share of Han characters outside GB 2312 (the 6,763 common ones)."""
        han = [g.text for g in self.glyphs if _is_han(g.text)]
        if not han:
            return 0.0
        return sum(1 for c in han if not _in_gb2312(c)) / len(han)


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _suspicious(text: _PageText) -> bool:
    total = max(text.visible + text.invisible, 1)
    # Chinese forms use common characters; a page where a fifth of the Han
    # characters are rare ones was most likely decoded through a wrong map.
    return text.unmapped / total > 0.1 or text.rare_han > 0.2


def _better(candidate: _PageText, current: _PageText) -> bool:
    cand_total = max(candidate.visible + candidate.invisible, 1)
    cur_total = max(current.visible + current.invisible, 1)
    cand_bad = candidate.unmapped / cand_total + candidate.rare_han
    cur_bad = current.unmapped / cur_total + current.rare_han
    return candidate.visible + candidate.invisible > 0 and cand_bad < cur_bad


def page_ocr_job(data: bytes, sha256: str, page: pdfium.PdfPage, index: int, dpi: int) -> OcrJob:
    """The OCR job for page `index` of the PDF `data` (whose digest is `sha256`), read at `dpi`.

    The OCR worker renders the page (rendering is cheap; a PNG of a 200-dpi
    scan took ~0.6 s to write and ~0.2 s to read back), and a cached page is
    never rendered at all: the key names the page. A PDF over SHIP_PDF_BYTES
    would travel whole to the worker with each page: its page's image is
    sent instead.
    """
    if len(data) <= SHIP_PDF_BYTES:
        key = sha256_hex(f"pdf-page|{sha256}|{index}|{dpi}|{RENDERER}".encode())
        return OcrJob(page_index=index, key=key, image=b"", dpi=float(dpi), pdf=data)
    with timing.stage("render"):
        image = page.render(scale=dpi / 72, grayscale=False).to_pil()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=False, compress_level=1)
        encoded = buffer.getvalue()
    return OcrJob(page_index=index, key=sha256_hex(encoded), image=encoded, dpi=float(dpi))


class _PlumberFallback:
    """pdfplumber opened only if a page needs it (it parses ~20x slower)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pdf = None

    @property
    def sha256(self) -> str:
        if not hasattr(self, "_sha256"):
            self._sha256 = sha256_hex(self.data)
        return self._sha256

    def glyphs(self, index: int, to_display: Transform) -> _PageText | None:
        import pdfplumber

        try:
            if self.pdf is None:
                self.pdf = pdfplumber.open(io.BytesIO(self.data))
            chars = self.pdf.pages[index].chars
        except Exception:  # noqa: BLE001 - the fallback is best effort; PDFium's text stays
            return None
        glyphs = []
        for c in chars:
            if len(c["text"]) != 1:
                continue
            # pdfminer's y0/y1 are user space; map them like PDFium's boxes.
            ax, ay = to_display(c["x0"], c["y1"])
            bx, by = to_display(c["x1"], c["y0"])
            glyphs.append(Glyph(text=c["text"], x0=min(ax, bx), top=min(ay, by), x1=max(ax, bx),
                                bottom=max(ay, by), size=c["size"]))
        unmapped = sum(1 for g in glyphs if _is_unmapped(g.text) or g.text.startswith("(cid"))
        visible = sum(1 for g in glyphs if g.text.strip())
        return _PageText(glyphs, visible, 0, unmapped, from_pdfminer=True)

    def close(self) -> None:
        if self.pdf is not None:
            self.pdf.close()


def read_pdf(data: bytes, limits: Limits) -> ReadOutput:
    if b"%%EOF" not in data[-4096:]:
        # The trailer is missing: the upload was cut short. PDFium would
        # often still "repair" it, silently losing pages; say so instead.
        raise InputError(ErrorCode.TRUNCATED_FILE, "缺少 PDF 文件结尾标记 %%EOF", "no %%EOF marker")
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise InputError(ErrorCode.ENCRYPTED_PDF) from exc
        raise InputError(ErrorCode.CORRUPT_FILE, str(exc)) from exc
    try:
        n_pages = len(pdf)
        if n_pages == 0:
            raise InputError(ErrorCode.CORRUPT_FILE, "PDF 没有页面", "no pages")
        if n_pages > limits.max_pdf_pages:
            raise InputError(
                ErrorCode.TOO_MANY_PAGES,
                f"{n_pages} 页，上限 {limits.max_pdf_pages} 页",
                f"{n_pages} pages, limit {limits.max_pdf_pages}",
            )
        out = ReadOutput()
        fallback = _PlumberFallback(data)
        for index in range(n_pages):
            page = pdf[index]
            try:
                out.pages.append(_read_page(page, index, limits, out, fallback))
            except pdfium.PdfiumError as exc:
                out.failed_pages.append((index + 1, str(exc)))
                out.pages.append(_empty_page(page, index))
            finally:
                page.close()
        fallback.close()
    finally:
        pdf.close()
    return out


def _empty_page(page: pdfium.PdfPage, index: int) -> Page:
    width, height = page.get_size()
    return Page(
        number=index + 1, width=width, height=height, unit="pt", source=Source.TEXT,
        decision="页面无法解析，已跳过",
    )


def _read_page(
    page: pdfium.PdfPage, index: int, limits: Limits, out: ReadOutput, fallback: _PlumberFallback
) -> Page:
    width, height = page.get_size()
    to_display = display_transform(page)
    with timing.stage("text layer"):
        text = _page_glyphs(page, to_display)
    total = text.visible + text.invisible
    decision = ""
    if total and _suspicious(text):
        # PDFium guesses some CID fonts' code-to-Unicode mapping wrong where
        # pdfminer follows the font's CMap (pdfminer issue 566: 黎荣 read as
        # 哾㦓). Re-read such a page with pdfminer and keep the better text.
        other = fallback.glyphs(index, to_display)
        if other is not None and _better(other, text):
            text = other
            total = text.visible + text.invisible
            decision = "PDFium 解码可疑，改用 pdfminer 解码的文本层；"
    use_ocr = False
    if total == 0:
        use_ocr, decision = True, "无文本层，进行文字识别"
    elif text.unmapped / total > 0.3:
        use_ocr = True
        decision += f"文本层乱码（{text.unmapped}/{total} 字符无法映射），进行文字识别"
    elif text.invisible / total > 0.8:
        # A scanner's OCR layer of unknown engine and quality. Its errors
        # (2015 read as "ZOq5", 明 as 阴) look plausible character by
        # character, so a plausibility score cannot vouch for it: re-read
        # the page with our own OCR and keep the score in the record.
        quality = text_quality("".join(g.text for g in text.glyphs))
        use_ocr = True
        decision = f"仅有不可见的扫描识别文字层（可信度评分 {quality:.2f}），重新识别"
    else:
        decision += "使用 PDF 文本层"

    if use_ocr:
        scale = limits.ocr_dpi / 72
        out.ocr_jobs.append(page_ocr_job(fallback.data, fallback.sha256, page, index, limits.ocr_dpi))
        return Page(
            number=index + 1, width=width, height=height, unit="pt", source=Source.OCR,
            decision=decision, image_scale=scale,
        )
    # Glyphs outside the visible page (clipped by the crop box) are not
    # part of what the applicant shows; drop them with the unmapped ones.
    glyphs = dedupe_glyphs(
        [
            g
            for g in text.glyphs
            if not _is_unmapped(g.text) and g.x1 > 0 and g.x0 < width and g.bottom > 0 and g.top < height
        ]
    )
    with timing.stage("layout/tables"):
        tables = find_tables(page_edges(page, to_display)) if not text.from_pdfminer else []
        result = Page(
            number=index + 1, width=width, height=height, unit="pt", source=Source.TEXT,
            decision=decision, tables=tables,
            lines=reading_order(glyphs_to_cell_lines(glyphs, tables, Source.TEXT)),
        )
        if tables:
            _fill_cell_text(result)
    return result


Transform = Callable[[float, float], tuple[float, float]]


def display_transform(page: pdfium.PdfPage) -> Transform:
    """Map PDF user space (origin bottom-left, unrotated) to the page as
    displayed: origin top-left, after the page's /Rotate.

    PDFium reports text and path positions unrotated; a form scanned
    sideways and saved with /Rotate 90 (pdfplumber issue 461) must be read
    in the frame a person sees, which is also the frame of the rendered
    image that evidence crops come from.
    """
    left, bottom, right, top = page.get_cropbox()
    width, height = right - left, top - bottom
    rotation = page.get_rotation() % 360
    if rotation == 90:
        return lambda x, y: (y - bottom, x - left)
    if rotation == 180:
        return lambda x, y: (width - (x - left), y - bottom)
    if rotation == 270:
        return lambda x, y: (height - (y - bottom), width - (x - left))
    return lambda x, y: (x - left, height - (y - bottom))


def _page_glyphs(page: pdfium.PdfPage, to_display: Transform) -> _PageText:
    textpage = page.get_textpage()
    try:
        raw = textpage.raw
        count = pdfium_c.FPDFText_CountChars(raw)
        glyphs: list[Glyph] = []
        visible = invisible = unmapped = 0
        # Loose boxes span the font's ascent to descent, so glyphs of one
        # line share top and bottom (tight boxes make 自 or 一 jump rows);
        # their height is also the real size when a PDF sets font size 1
        # and scales with the text matrix.
        box = pdfium_c.FS_RECTF()
        for i in range(count):
            if pdfium_c.FPDFText_IsGenerated(raw, i):
                continue  # spaces/newlines PDFium invents between runs
            code = pdfium_c.FPDFText_GetUnicode(raw, i)
            ch = chr(code) if code else "\ufffd"
            if ch in "\r\n":
                continue
            pdfium_c.FPDFText_GetLooseCharBox(raw, i, box)
            obj = pdfium_c.FPDFText_GetTextObject(raw, i)
            mode = pdfium_c.FPDFTextObj_GetTextRenderMode(obj) if obj else 0
            if ch.strip():
                if mode == INVISIBLE:
                    invisible += 1
                else:
                    visible += 1
                if _is_unmapped(ch) or pdfium_c.FPDFText_HasUnicodeMapError(raw, i) == 1:
                    unmapped += 1
            ax, ay = to_display(box.left, box.top)
            bx, by = to_display(box.right, box.bottom)
            glyphs.append(
                Glyph(
                    text=ch,
                    x0=min(ax, bx),
                    top=min(ay, by),
                    x1=max(ax, bx),
                    bottom=max(ay, by),
                    size=abs(box.top - box.bottom),
                )
            )
        return _PageText(glyphs, visible, invisible, unmapped)
    finally:
        textpage.close()


def _is_unmapped(ch: str) -> bool:
    if ch == "\ufffd":
        return True
    cp = ord(ch)
    return 0xE000 <= cp <= 0xF8FF or (cp < 32 and ch not in "\t")


_COMMON_PUNCT = set("，。、；：？！“”‘’（）《》【】〔〕—…·-—,.;:?!()[]%/+-=_#@&*'\"<>　 ")


def text_quality(text: str) -> float:
    """A cheap plausibility score of OCR-layer text in [0, 1].

    Penalises what poor OCR leaves behind: unmapped glyphs, symbols outside
    CJK/Latin/digits/common punctuation, and Latin letters glued inside Han
    runs (``ZOq5年`` for ``2015年``).
    """
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    bad = 0
    for i, c in enumerate(chars):
        cat = unicodedata.category(c)
        if _is_unmapped(c):
            bad += 1
        elif c.isascii() and c.isalpha():
            prev_han = i > 0 and _is_han(chars[i - 1])
            next_han = i + 1 < len(chars) and _is_han(chars[i + 1])
            if prev_han or next_han:
                bad += 1
        elif not (_is_han(c) or c.isdigit() or c in _COMMON_PUNCT or cat.startswith(("L", "N"))):
            bad += 1
    return 1.0 - bad / len(chars)


def _is_han(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf"


def _fill_cell_text(page: Page) -> None:
    by_cell: dict[tuple[int, int, int], list[str]] = {}
    for line in page.lines:
        if line.table is not None and line.cell is not None:
            by_cell.setdefault((line.table, *line.cell), []).append(line.text)
    for table in page.tables:
        for cell in table.cells:
            cell.text = "".join(by_cell.get((table.index, cell.row, cell.col), []))
