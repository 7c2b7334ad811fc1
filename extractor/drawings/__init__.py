"""Drawing analysis: measure site and floor plans, not only read them.

    from extractor.drawings import analyse
    result = analyse(document, data)      # document: extractor.model.Document of the file's bytes
    document.fields.extend(result.fields) # the caller decides; analyse changes nothing

For vector PDFs (PDFium path and text objects), DXF files (ezdxf) and scans
(OpenCV outlines + OCR text) it recovers building outlines and their labels,
the drawing scale, distance annotations, and the shortest distance between
each pair of neighbouring outlines (STRtree), and returns them as a
``DrawingAnalysis`` with ``building``, ``fire_separation_distance`` (what the
drawing states: ``qualifier: annotated``), ``measured_separation`` (what was
measured: ``qualifier: measured``) and ``drawing_scale`` fields.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField

from ..model import Document, DocumentKind, Page, Source
from ..ocr import OcrCache, OcrOptions
from .fields import to_fields
from .geometry import label_buildings, name_buildings, neighbours, pair_annotations
from .model import Annotation, Building, DrawingAnalysis, DrawingPage, Measurement, Scale, TextItem
from .scale import INCH_M, bar_rows, find_scale
from .schedule import expand_codes, find_schedules, find_text_schedules
from .schedule import inside as in_schedule

__all__ = [
    "Annotation",
    "Building",
    "DrawingAnalysis",
    "DrawingOptions",
    "DrawingPage",
    "Measurement",
    "Scale",
    "TextItem",
    "analyse",
]


class DrawingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_gap_m: float = PydField(
        50.0, gt=0, description="pairs farther apart are not neighbours (GB 50016's largest separation is 50 m)")
    unscaled_gap_fraction: float = PydField(
        0.25, gt=0, description="without a scale: neighbours within this share of the page diagonal")
    raster_dpi: int = PydField(200, ge=72, description="render DPI for scanned PDF pages")
    ocr: OcrOptions = PydField(default_factory=lambda: OcrOptions(deskew=False, detect_rotation=False),
                               description="used only when a scanned page carries no OCR lines yet")


DRAWING_DOC_TYPES = ("site_plan", "evacuation_plan")


def is_drawing(document: Document) -> bool:
    """Whether the review pipeline should analyse the document as a drawing: any DXF, or a
    document classified as a site plan or an evacuation (floor) plan."""
    return document.status == "ok" and (document.kind == DocumentKind.DXF or document.doc_type in DRAWING_DOC_TYPES)


def analyse(document: Document, data: bytes, options: DrawingOptions | None = None,
            cache: OcrCache | None = None, page_images: Mapping[str, bytes] | None = None) -> DrawingAnalysis:
    """Analyse one drawing document (its ``Document`` from ingestion and the file's bytes).

    Pure: returns the analysis and the fields; neither ``document`` nor
    anything else is modified. ``page_images`` (ingestion's blobs, by
    sha256) hold the page images ingestion made of scans: a scan it turned or
    straightened is measured on that image, in the frame of its OCR lines and
    of the evidence a reviewer sees. Without them such a page is rendered
    again and read again by OCR in the file's own frame; ``cache`` (the
    store's OCR cache) then serves that reading on a second review.
    """
    options = options or DrawingOptions()
    t0 = time.perf_counter()
    if document.status == "error":
        return DrawingAnalysis(document=document.id, method="none", notes=["文件无法读取，未分析图纸"])
    if document.kind == DocumentKind.DXF:
        result = _analyse_dxf(document, data, options)
    elif document.kind == DocumentKind.PDF:
        result = _analyse_pdf(document, data, options, cache, page_images or {})
    elif document.kind == DocumentKind.IMAGE:
        result = _analyse_image(document, data, options, cache, page_images or {})
    else:
        result = DrawingAnalysis(document=document.id, method="none", notes=["非图纸格式"])
    result.fields = to_fields(document.id, result)
    result.seconds = round(time.perf_counter() - t0, 4)
    return result


def _finish(number: int, unit: str, scale: Scale, buildings: list[Building], annotations: list[Annotation],
            page_diag: float, options: DrawingOptions, notes: list[str] | None = None) -> DrawingPage:
    if scale.metres_per_unit:
        gap = options.max_gap_m / scale.metres_per_unit
    else:
        gap = options.unscaled_gap_fraction * page_diag
    measurements = neighbours(buildings, gap, scale.metres_per_unit)
    factor = _consistent_scale_error(annotations, _annotated_distances(buildings, annotations, scale.metres_per_unit))
    if factor is not None and scale.metres_per_unit:
        # Every dimension disagrees with the stated scale by the same factor: the
        # sheet was drawn (or printed) at another scale than it says, and the
        # dimensions are the applicant's statement. Measure with the scale they
        # imply, and say so; one dimension off alone would be a wrong dimension.
        scale = scale.model_copy(update={
            "metres_per_unit": scale.metres_per_unit / factor, "method": "annotations",
            "note": f"图上标注比例（{scale.text or scale.method}）与尺寸标注不符：各尺寸标注与按该比例量得的距离一致相差"
                    f" {factor:.2f} 倍，已按尺寸标注推算比例测量",
        })
        gap = options.max_gap_m / scale.metres_per_unit
        measurements = neighbours(buildings, gap, scale.metres_per_unit)
    notes = list(notes or [])
    if not scale.metres_per_unit and len(buildings) >= 2:
        notes.append(scale.note or "比例未知，无法测量距离")
    unread = [b.name for b in buildings if not b.label_complete]
    if unread:
        notes.append("以下建筑的标注未能完整读取（名称、类别、耐火等级或层数）：" + "、".join(str(n) for n in unread))
    return DrawingPage(page=number, unit=unit, scale=scale, buildings=buildings, annotations=annotations,
                       measurements=measurements, notes=notes)


def _annotated_distances(buildings: list[Building], annotations: list[Annotation],
                         metres_per_unit: float | None) -> dict[frozenset, float]:
    """The drawn distance (at the stated scale) of every dimensioned pair, near or far."""
    from shapely.geometry import Polygon

    if not metres_per_unit:
        return {}
    polys = {b.name: Polygon(b.polygon) for b in buildings if b.name}
    out: dict[frozenset, float] = {}
    for a in annotations:
        if a.between and len(a.between) == 2 and all(n in polys for n in a.between):
            out[frozenset(a.between)] = polys[a.between[0]].distance(polys[a.between[1]]) * metres_per_unit
    return out


def _consistent_scale_error(annotations: list[Annotation], measured: dict[frozenset, float]) -> float | None:
    """measured / annotated when at least two dimensioned pairs agree on it within 2 %
    and it is more than 5 % from 1; else None."""
    ratios = [measured[frozenset(a.between)] / a.value_m for a in annotations
              if a.between and a.paired_by in ("dimension_line", "dimension_entity") and a.value_m > 0
              and frozenset(a.between) in measured]
    if len(ratios) < 2:
        return None
    lo, hi = min(ratios), max(ratios)
    mid = sorted(ratios)[len(ratios) // 2]
    if hi / lo > 1.02 or abs(mid - 1) <= 0.05:
        return None
    return mid


def _in_table(bounds: tuple[float, float, float, float], meta: Page) -> bool:
    """Whether an outline is a cell of a table the reader found (a schedule listing
    "1#办公楼 | 民用 | 二级"), not a building drawn on the plan.

    An outline is a cell when it coincides with one of a table's cells. Lying
    inside a table is not enough: a drawing's border and title block often
    read as one big "table" whose frame encloses every building on the sheet.
    """
    x0, y0, x1, y1 = bounds
    tol = 2.0
    for t in meta.tables:
        if t.n_rows * t.n_cols < 4:
            continue
        for cell in t.cells:
            if cell.bbox is None:
                continue
            cx0, cy0, cx1, cy1 = cell.bbox
            if abs(x0 - cx0) <= tol and abs(y0 - cy0) <= tol and abs(x1 - cx1) <= tol and abs(y1 - cy1) <= tol:
                return True
    return False


def _floor_plan(dp: DrawingPage, edges, texts: list[TextItem]) -> None:
    """Corridor and door widths where the page is a floor plan (best effort, vector and DXF only)."""
    from .floorplan import corridor_widths, door_widths, plan_building

    mpu = dp.scale.metres_per_unit
    dp.widths = corridor_widths(edges, texts, mpu) + door_widths(texts, edges, mpu)
    if dp.widths:
        dp.plan_of = plan_building(texts)
        if any(w.element == "corridor" and w.width_m is None for w in dp.widths):
            dp.notes.append(dp.scale.note or "比例未知，走道宽度未能换算为米")


# -- vector PDF and scanned PDF pages -----------------------------------------------------

def _page_image_gray(meta: Page | None, page_images: Mapping[str, bytes]):
    """The gray pixels of the page image ingestion made of a scan it turned or straightened, or None.

    Such a page's OCR lines and its evidence are in that image's frame; the
    drawing is measured there too, with no second OCR pass.
    """
    if meta is None or meta.source != Source.OCR or not meta.lines or _lines_in_frame(meta):
        return None
    blob = page_images.get(meta.image_sha256 or "")
    if blob is None:
        return None
    from .raster import load_gray

    return load_gray(blob)[0]


def _analyse_pdf(document: Document, data: bytes, options: DrawingOptions,
                 cache: OcrCache | None = None, page_images: Mapping[str, bytes] | None = None) -> DrawingAnalysis:
    import pypdfium2 as pdfium

    from .vector import read_vector_page

    pages: list[DrawingPage] = []
    methods: set[str] = set()
    pdf = pdfium.PdfDocument(data)
    try:
        for index in range(len(pdf)):
            meta = document.pages[index] if index < len(document.pages) else None
            page = pdf[index]
            try:
                if meta is not None and meta.source == Source.OCR:
                    framed = _page_image_gray(meta, page_images or {})
                    if framed is not None:
                        dp = _raster_page(index + 1, "pt", framed, 1.0 / meta.image_scale, INCH_M / 72.0, meta,
                                          None, options, cache, framed=True)
                    else:
                        dp = _raster_page(index + 1, "pt", _render_gray(page, options), 72.0 / options.raster_dpi,
                                          INCH_M / 72.0, meta, None, options, cache)
                    methods.add("raster")
                else:
                    vp = read_vector_page(page)
                    if not vp.edges:
                        continue
                    texts = vp.texts
                    schedules = find_schedules(meta.tables) if meta is not None and meta.tables else []
                    schedules += find_text_schedules(texts, schedules)
                    if meta is not None and meta.tables:
                        # A ruled table listing "1#办公楼 | 民用 | 二级" is not a drawing: its cells
                        # hold building names but are not outlines (the reader found the tables).
                        vp.candidates = [c for c in vp.candidates if not _in_table(c.polygon.bounds, meta)]
                    if schedules:
                        # A building schedule's rows go too, and a code on the plan stands for its row.
                        vp.candidates = [c for c in vp.candidates if not in_schedule(c.polygon.bounds, schedules)]
                        texts = expand_codes(texts, schedules)
                    buildings = label_buildings(vp.candidates, texts, vp.width * vp.height, leaders=vp.segments)
                    name_buildings(buildings)
                    scale = find_scale(bar_rows(vp.rects), vp.texts, INCH_M / 72.0, "pt")
                    annotations = pair_annotations(texts, buildings, vp.segments, near_tol=1.5) if buildings else []
                    dp = _finish(index + 1, "pt", scale, buildings, annotations,
                                 (vp.width ** 2 + vp.height ** 2) ** 0.5, options)
                    _floor_plan(dp, vp.edges, texts)
                    if not (dp.buildings or dp.widths):
                        continue
                    methods.add("vector_pdf")
            finally:
                page.close()
            if dp.buildings or dp.widths:
                pages.append(dp)
    finally:
        pdf.close()
    method = "raster" if methods == {"raster"} else "vector_pdf" if methods else "none"
    notes = [] if pages else ["未在图纸中识别到带标注的建筑轮廓"]
    return DrawingAnalysis(document=document.id, method=method, pages=pages, notes=notes)


# -- images ----------------------------------------------------------------------------------

def _analyse_image(document: Document, data: bytes, options: DrawingOptions,
                   cache: OcrCache | None = None, page_images: Mapping[str, bytes] | None = None) -> DrawingAnalysis:
    from .raster import load_gray

    gray, dpi = load_gray(data)
    meta = document.pages[0] if document.pages else None
    # Page units of an image are pixels of the OCR-normalised image (downscaled if it was large).
    downscale = meta.ocr.downscale if meta is not None and meta.ocr is not None else 1.0
    unit_m = INCH_M / dpi / downscale if dpi else None
    framed = _page_image_gray(meta, page_images or {})
    if framed is not None:
        dp = _raster_page(1, "px", framed, 1.0, unit_m, meta, dpi, options, cache, framed=True)
    else:
        dp = _raster_page(1, "px", gray, downscale, unit_m, meta, dpi, options, cache)
    pages = [dp] if dp.buildings else []
    return DrawingAnalysis(document=document.id, method="raster", pages=pages,
                           notes=[] if pages else ["未在图纸中识别到带标注的建筑轮廓"])


def _raster_page(number: int, unit: str, gray, unit_per_px: float, unit_m: float | None, meta: Page | None,
                 dpi: float | None, options: DrawingOptions, cache: OcrCache | None = None,
                 framed: bool = False) -> DrawingPage:
    """Measure a scanned page; ``framed``: ``gray`` is ingestion's page image, in its OCR lines' frame."""
    from .raster import read_raster

    rp = read_raster(gray, unit_per_px)
    texts, note = _ocr_texts(meta, gray, unit_per_px, options, cache, framed)
    if meta is not None and meta.source == Source.OCR and texts is not None and not note:
        # Same frame as the OCR lines (see _ocr_texts): schedules read from the scan apply.
        schedules = find_schedules(meta.tables) if meta.tables else []
        schedules += find_text_schedules(texts, schedules)
        if schedules:
            rp.candidates = [c for c in rp.candidates if not in_schedule(c.polygon.bounds, schedules)]
            texts = expand_codes(texts, schedules)
    buildings = label_buildings(rp.candidates, texts, rp.width * rp.height)
    name_buildings(buildings)
    scale = find_scale(rp.bars, texts, unit_m, unit if unit == "pt" else "px")
    if scale.method == "ratio" and unit == "pt":
        # A scan's points are only as true as the scanner's declared page size.
        scale = scale.model_copy(update={"method": "ratio_dpi"})
    annotations = pair_annotations(texts, buildings, [], near_tol=3 * unit_per_px, plain_by_position=True)
    notes = [note] if note else []
    return _finish(number, unit, scale, buildings, annotations, (rp.width ** 2 + rp.height ** 2) ** 0.5,
                   options, notes)


def _lines_in_frame(meta: Page | None) -> bool:
    """Whether ingestion's OCR lines of the page are in the drawing's frame (not turned, not straightened)."""
    if meta is None or not meta.lines or meta.source != Source.OCR:
        return False
    run = meta.ocr
    return run is None or (run.rotation == 0 and abs(run.skew) < 0.05)


def _ocr_job(gray, options: DrawingOptions, cache: OcrCache | None):
    """The OCR job of a page in the drawing's frame; its PNG is encoded only when the cache lacks it."""
    import hashlib
    import io

    import numpy as np
    from PIL import Image

    from ..ocr import PageImage, cache_key

    # Keyed by the pixels, so a cached page is never encoded: a PNG of a 200-dpi
    # page costs ~0.15 s, most of a cached review's drawing time.
    pixels = hashlib.sha256(f"gray {gray.shape[1]}x{gray.shape[0]} ".encode())
    pixels.update(np.ascontiguousarray(gray))
    page = PageImage(key=pixels.hexdigest(), image=b"")
    if cache is None or cache.get(cache_key(page, options.ocr)) is None:
        buf = io.BytesIO()
        Image.fromarray(gray).save(buf, format="PNG", compress_level=1)
        page = page.model_copy(update={"image": buf.getvalue()})
    return page


def _ocr_texts(meta: Page | None, gray, unit_per_px: float, options: DrawingOptions,
               cache: OcrCache | None = None, framed: bool = False) -> tuple[list[TextItem], str]:
    """The page's OCR lines when ingestion made them in the same frame; else OCR here."""
    if meta is not None and (framed or _lines_in_frame(meta)):
        return [TextItem(text=ln.text, bbox=ln.bbox, confidence=ln.confidence) for ln in meta.lines], ""
    from ..ocr import recognise_pages

    result = recognise_pages([_ocr_job(gray, options, cache)], options.ocr, cache=cache)[0]
    if isinstance(result, Exception):
        return [], f"文字识别失败：{result}"
    k = unit_per_px / (result.run.downscale or 1.0)
    note = ""
    if meta is not None and meta.ocr is not None and (meta.ocr.rotation or abs(meta.ocr.skew) >= 0.05):
        note = "页面经旋转或纠偏识别，图纸分析按原图重新识别，证据框以原图为准"
    return [TextItem(text=ln.text, bbox=(ln.bbox[0] * k, ln.bbox[1] * k, ln.bbox[2] * k, ln.bbox[3] * k),
                     confidence=ln.confidence) for ln in result.lines], note


def _render_gray(page, options: DrawingOptions):
    bitmap = page.render(scale=options.raster_dpi / 72, grayscale=True)
    gray = bitmap.to_numpy()
    return gray[..., 0] if gray.ndim == 3 else gray


# -- DXF ---------------------------------------------------------------------------------------

def _analyse_dxf(document: Document, data: bytes, options: DrawingOptions) -> DrawingAnalysis:
    from shapely.geometry import Point as ShPoint
    from shapely.geometry import Polygon
    from shapely.strtree import STRtree

    from .cad import INSUNITS_NAME, dimension_annotation, read_cad

    cp = read_cad(data)
    buildings = label_buildings(cp.candidates, cp.texts, float("inf"))
    name_buildings(buildings)
    if cp.metres_per_unit:
        scale = Scale(method="insunits", metres_per_unit=cp.metres_per_unit,
                      note=f"DXF 图形单位：{INSUNITS_NAME.get(cp.insunits, cp.insunits)}（$INSUNITS={cp.insunits}）")
    else:
        scale = Scale(method="none", note=f"DXF 未设定图形单位（$INSUNITS={cp.insunits}），无法换算为米")
    tol = 0.05 / cp.metres_per_unit if cp.metres_per_unit else 1e-3 * max(cp.width, cp.height)
    annotations = pair_annotations(cp.texts, buildings, cp.segments, near_tol=tol)
    polys = [Polygon(b.polygon) for b in buildings]
    tree = STRtree(polys) if polys else None
    for p, q, text, measured, box in cp.dimensions:
        ann = dimension_annotation(text, measured, cp.metres_per_unit, box)
        if ann is None:
            continue
        if tree is not None:
            ends = []
            for pt in (p, q):
                idx = tree.query_nearest(ShPoint(pt), max_distance=tol)
                ends.append(int(idx[0]) if len(idx) else None)
            if None not in ends and ends[0] != ends[1]:
                ann.between = [buildings[ends[0]].name, buildings[ends[1]].name]
            else:
                ann.paired_by = "none"
        annotations.append(ann)
    dp = _finish(1, "dxf", scale, buildings, annotations, (cp.width ** 2 + cp.height ** 2) ** 0.5, options)
    _floor_plan(dp, cp.edges, cp.texts)
    pages = [dp] if buildings or dp.widths else []
    return DrawingAnalysis(document=document.id, method="dxf", pages=pages,
                           notes=[] if pages else ["未在图纸中识别到带标注的建筑轮廓"])
