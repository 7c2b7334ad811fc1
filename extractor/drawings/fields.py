"""DrawingAnalysis → Fields (docs/fields.md vocabulary; docs/drawings.md for the attributes)."""

from __future__ import annotations

from ..model import Field, Source
from .model import DrawingAnalysis

ORIGIN = "drawing"
_SOURCE = {"vector_pdf": Source.TEXT, "dxf": Source.DXF, "raster": Source.OCR, "none": Source.TEXT}
_MEASURE_CONFIDENCE = {"vector_pdf": 0.99, "dxf": 0.99, "raster": 0.9, "none": 0.5}


def _box(points, pad: float) -> tuple[float, float, float, float]:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return (min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)


def to_fields(document_id: str, result: DrawingAnalysis) -> list[Field]:
    out: list[Field] = []
    for page in result.pages:
        method = "raster" if page.unit == "px" or (result.method == "raster") else result.method
        source = _SOURCE[method]
        s = page.scale
        out.append(Field(
            type="drawing_scale", value=s.metres_per_unit, normalized=s.metres_per_unit, document=document_id,
            page=page.page, bbox=s.bbox, confidence=1.0 if s.metres_per_unit else 0.0, source=source,
            attributes={"origin": ORIGIN, "method": s.method, "ratio": s.ratio, "unit": page.unit,
                        "text": s.text, "note": s.note, "buildings": len(page.buildings)},
        ))
        for b in page.buildings:
            out.append(Field(
                type="building", value=b.name, normalized=b.name, document=document_id, page=page.page,
                bbox=b.bbox, confidence=b.confidence, source=source,
                attributes={k: v for k, v in {
                    "origin": ORIGIN, "text": b.label, "polygon": [list(p) for p in b.polygon],
                    "use_class": b.use_class, "kind": b.kind, "fire_grade": b.fire_grade, "storeys": b.storeys,
                    "height_m": b.height_m, "high_rise": b.high_rise, "high_rise_class": b.high_rise_class, "label_complete": b.label_complete,
                    "fire_wall_marked": b.fire_wall_marked,
                }.items() if v is not None},
            ))
        pad = 1.0 if page.unit == "pt" else 2.0 if page.unit == "px" else 0.2
        for m in page.measurements:
            if m.distance_m is None:
                continue  # scale unknown: the drawing_scale field says so; no number to report
            out.append(Field(
                # What shencha measured, apart from what the drawing states
                # (``fire_separation_distance``, annotated): a measurement
                # is evidence for the checks, not a design parameter.
                type="measured_separation", value=round(m.distance_m, 2), normalized=round(m.distance_m, 2),
                document=document_id, page=page.page, bbox=_box(m.segment, pad),
                confidence=_MEASURE_CONFIDENCE[method], source=source,
                attributes={"origin": ORIGIN, "qualifier": "measured", "between": list(m.between),
                            "segment": [list(m.segment[0]), list(m.segment[1])],
                            "distance_units": round(m.distance_units, 4), "unit": page.unit,
                            "scale_method": s.method, "text": f"实测 {m.distance_m:.2f} m"},
            ))
        for w in page.widths:
            if w.width_m is None:
                continue
            attrs = {"origin": ORIGIN, "element": w.element, "qualifier": w.qualifier, "text": w.text}
            if page.plan_of:
                attrs["building"] = page.plan_of
            if w.segment is not None:
                attrs["segment"] = [list(w.segment[0]), list(w.segment[1])]
                attrs["width_units"] = round(w.width_units or 0.0, 4)
            if w.fire_door:
                attrs["fire_door"] = True
            box = _box(w.segment, pad) if w.segment is not None else w.bbox
            out.append(Field(
                type="evacuation_width", value=round(w.width_m, 2), normalized=round(w.width_m, 2),
                document=document_id, page=page.page, bbox=box,
                confidence=min(w.confidence, _MEASURE_CONFIDENCE[method]) if w.qualifier == "measured" else w.confidence,
                source=source, attributes=attrs,
            ))
        for a in page.annotations:
            attrs = {"origin": ORIGIN, "qualifier": "annotated", "text": a.text, "paired_by": a.paired_by}
            if a.between:
                attrs["between"] = list(a.between)
            out.append(Field(
                type="fire_separation_distance", value=a.value_m, normalized=a.value_m, document=document_id,
                page=page.page, bbox=a.bbox, confidence=a.confidence, source=source, attributes=attrs,
            ))
    return out
