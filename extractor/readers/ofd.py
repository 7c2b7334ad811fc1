"""OFD reader (GB/T 33190-2016): the text layer of each page, with boxes.

An OFD is a zip of XML: ``OFD.xml`` names the document root
(``Doc_0/Document.xml``), which lists the pages (``Pages/Page_N/Content.xml``)
and the template pages they draw on (``Tpls/Tpl_N/Content.xml``: certificate
forms often keep their printed labels there). Text is ``TextObject``s, each
with a ``Boundary`` (x y w h, millimetres, origin top-left), an optional
``CTM`` and ``TextCode`` runs whose ``X``/``Y`` (baseline) and ``DeltaX``
(advance per character, ``g n d`` repeating ``d`` n times) place each
character. Characters become glyphs in PDF points and go through the same
line grouping and reading order as a PDF's text layer, so OFD licences and
certificates give lines with page and bbox like a PDF.

Why a reader of our own: the PyPI packages either pull PyMuPDF (AGPL) and a
renderer stack for a text layer that is plain XML, or are too new to rely
on. This reader uses only the standard library.

Not read: page images (an OFD whose pages are only scans gives a W203
warning per page instead of OCR), path-drawn table rulings, annotations,
and signatures (``Signs/``: their presence is noted in the page decision,
they are not verified).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import xml.etree.ElementTree as ET

from ..errors import ErrorCode, InputError
from ..layout import Glyph, glyphs_to_lines, reading_order
from ..limits import Limits
from ..model import Page, Source
from .base import ReadOutput

MM_TO_PT = 72.0 / 25.4
_A4 = (0.0, 0.0, 210.0, 297.0)


def read_ofd(data: bytes, limits: Limits) -> ReadOutput:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(ErrorCode.CORRUPT_FILE, f"OFD 文件无法打开: {exc}", str(exc)) from exc
    total = sum(i.file_size for i in infos)
    if total > limits.max_unpacked_document_bytes:
        raise InputError(
            ErrorCode.FILE_TOO_LARGE,
            f"OFD 解压后 {total / 2**20:.0f} MB，上限 {limits.max_unpacked_document_bytes / 2**20:.0f} MB",
            f"{total / 2**20:.0f} MB unpacked",
        )
    names = {i.filename.lstrip("/"): i for i in infos}
    if any(i.flag_bits & 0x1 for i in infos) or any(
        posixpath.basename(n).lower() == "encryptions.xml" for n in names
    ):
        raise InputError(ErrorCode.ENCRYPTED_FILE, "OFD 已加密", "encrypted OFD")

    def xml(path: str) -> ET.Element:
        key = path.lstrip("/")
        if key not in names:
            raise InputError(ErrorCode.CORRUPT_FILE, f"OFD 缺少 {key}", f"missing {key}")
        try:
            return ET.fromstring(zf.read(names[key]))
        except (ET.ParseError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise InputError(ErrorCode.CORRUPT_FILE, f"OFD 的 {key} 无法解析: {exc}", f"{key}: {exc}") from exc

    root = xml(_find_name(names, "OFD.xml"))
    doc_root = _text_of(root, "DocRoot")
    if not doc_root:
        raise InputError(ErrorCode.CORRUPT_FILE, "OFD.xml 未指明文档根（DocRoot）", "no DocRoot")
    signed = _first(root, "Signatures") is not None
    document = xml(doc_root)
    base = posixpath.dirname(doc_root.lstrip("/"))

    common = _first(document, "CommonData")
    default_box = _box(_text_of(common, "PhysicalBox") if common is not None else "") or _A4
    templates = {}
    if common is not None:
        for tpl in _all(common, "TemplatePage"):
            if tpl.get("ID") and tpl.get("BaseLoc"):
                templates[tpl.get("ID")] = _resolve(base, tpl.get("BaseLoc", ""))
    page_refs = [p for p in _all(_first(document, "Pages"), "Page")] if _first(document, "Pages") is not None else []
    if not page_refs:
        raise InputError(ErrorCode.CORRUPT_FILE, "OFD 没有页面", "no pages")
    if len(page_refs) > limits.max_pdf_pages:
        raise InputError(ErrorCode.TOO_MANY_PAGES, f"{len(page_refs)} 页，上限 {limits.max_pdf_pages} 页",
                         f"{len(page_refs)} pages, limit {limits.max_pdf_pages}")

    out = ReadOutput()
    for number, ref in enumerate(page_refs, 1):
        page_path = _resolve(base, ref.get("BaseLoc", ""))
        try:
            content = xml(page_path)
            box = _box(_text_of(_first(content, "Area"), "PhysicalBox")) if _first(content, "Area") is not None else None
            box = box or default_box
            glyphs: list[Glyph] = []
            for tpl_ref in _all(content, "Template"):
                tpl_path = templates.get(tpl_ref.get("TemplateID", ""))
                if tpl_path:
                    glyphs.extend(_glyphs(xml(tpl_path)))
            glyphs.extend(_glyphs(content))
        except InputError as exc:
            out.failed_pages.append((number, exc.error.message))
            out.pages.append(_page(number, default_box, [], "OFD 页面无法解析"))
            continue
        lines = reading_order(glyphs_to_lines(glyphs, Source.TEXT))
        if lines:
            decision = "OFD 文字层：按 TextObject 的字符位置读取"
        else:
            decision = "OFD 页面无文字层（可能为扫描图像），未识别"
            out.failed_pages.append((number, "无文字层"))
        if signed:
            decision += "；含电子签章（未验证）"
        out.pages.append(_page(number, box, lines, decision))
    return out


def _page(number: int, box: tuple[float, float, float, float], lines: list, decision: str) -> Page:
    return Page(number=number, width=box[2] * MM_TO_PT, height=box[3] * MM_TO_PT, unit="pt",
                source=Source.TEXT, decision=decision, lines=lines)


def _glyphs(content: ET.Element) -> list[Glyph]:
    glyphs: list[Glyph] = []
    for obj in content.iter():
        if _local(obj.tag) != "TextObject":
            continue
        boundary = _box(obj.get("Boundary", ""))
        if boundary is None:
            continue
        bx, by = boundary[0], boundary[1]
        size = _float(obj.get("Size")) or 3.5
        ctm = _numbers(obj.get("CTM", "")) if obj.get("CTM") else [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
        if len(ctm) != 6:
            ctm = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
        a, b, c, d, e, f = ctm
        scale = abs(a * d - b * c) ** 0.5 or 1.0

        def place(x: float, y: float) -> tuple[float, float]:
            return bx + a * x + c * y + e, by + b * x + d * y + f

        x = y = 0.0
        for code in obj:
            if _local(code.tag) != "TextCode":
                continue
            text = code.text or ""
            if code.get("X") is not None:
                x = _float(code.get("X")) or 0.0
            if code.get("Y") is not None:
                y = _float(code.get("Y")) or 0.0
            deltas = _deltas(code.get("DeltaX", ""), len(text))
            for i, ch in enumerate(text):
                advance = deltas[i] if i < len(deltas) else size
                px, py = place(x, y)
                width = (advance if i < len(text) - 1 else size) * abs(a or 1.0)
                height = size * scale
                if ch.strip():
                    glyphs.append(Glyph(
                        text=ch,
                        x0=px * MM_TO_PT, top=(py - 0.88 * height) * MM_TO_PT,
                        x1=(px + min(width, height * 1.05)) * MM_TO_PT, bottom=(py + 0.12 * height) * MM_TO_PT,
                        size=height * MM_TO_PT,
                    ))
                if i < len(text) - 1:
                    x += advance
            if text:
                x += size  # a following TextCode without X continues after this one
    return glyphs


def _deltas(spec: str, n: int) -> list[float]:
    """``DeltaX="g 3 5.2 4"`` → [5.2, 5.2, 5.2, 4.0]."""
    tokens = spec.split()
    out: list[float] = []
    i = 0
    while i < len(tokens) and len(out) < n:
        if tokens[i] == "g" and i + 2 < len(tokens):
            count = int(_float(tokens[i + 1]) or 0)
            value = _float(tokens[i + 2]) or 0.0
            out.extend([value] * min(count, n))
            i += 3
        else:
            value = _float(tokens[i])
            if value is not None:
                out.append(value)
            i += 1
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _first(element: ET.Element | None, name: str) -> ET.Element | None:
    if element is None:
        return None
    for child in element.iter():
        if _local(child.tag) == name:
            return child
    return None


def _all(element: ET.Element | None, name: str) -> list[ET.Element]:
    if element is None:
        return []
    return [child for child in element.iter() if _local(child.tag) == name]


def _text_of(element: ET.Element | None, name: str) -> str:
    found = _first(element, name)
    return (found.text or "").strip() if found is not None else ""


def _find_name(names: dict[str, zipfile.ZipInfo], wanted: str) -> str:
    for name in names:
        if name.lower() == wanted.lower():
            return name
    return wanted


def _resolve(base: str, loc: str) -> str:
    loc = loc.strip()
    if loc.startswith("/"):
        return posixpath.normpath(loc.lstrip("/"))
    return posixpath.normpath(posixpath.join(base, loc))


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _numbers(text: str) -> list[float]:
    return [float(m) for m in _NUMBER.findall(text or "")]


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _box(text: str) -> tuple[float, float, float, float] | None:
    values = _numbers(text)
    if len(values) != 4 or values[2] <= 0 or values[3] <= 0:
        return None
    return values[0], values[1], values[2], values[3]
