"""DXF reader: accept and record a CAD drawing, with its text entities.

Measuring drawings comes later (the drawings issue); for now a DXF is
recognised, its TEXT/MTEXT labels read as lines in drawing units (y flipped
so the origin is top-left like every other page), and its units recorded.
"""

from __future__ import annotations

import io

import ezdxf
from ezdxf import recover

from ..errors import ErrorCode, InputError
from ..model import Line, Page, Source, Word
from .base import ReadOutput


def read_dxf(data: bytes) -> ReadOutput:
    try:
        drawing, _auditor = recover.read(io.BytesIO(data))
    except (ezdxf.DXFStructureError, ezdxf.DXFError, ValueError, EOFError) as exc:
        raise InputError(ErrorCode.CORRUPT_FILE, f"DXF 图纸无法解析: {exc}", str(exc)) from exc
    texts: list[tuple[str, float, float, float]] = []
    for entity in drawing.modelspace():
        kind = entity.dxftype()
        if kind == "TEXT":
            text, height = entity.dxf.text, entity.dxf.height
        elif kind == "MTEXT":
            text, height = entity.plain_text(), entity.dxf.char_height
        else:
            continue
        insert = entity.dxf.insert
        for offset, part in enumerate(t for t in str(text).splitlines() if t.strip()):
            texts.append((part.strip(), insert.x, insert.y - offset * height * 1.5, float(height or 1.0)))
    if not texts:
        top = 0.0
        lines: list[Line] = []
    else:
        top = max(y + h for _, _, y, h in texts)
        lines = []
        for text, x, y, h in sorted(texts, key=lambda t: (-t[2], t[1])):
            bbox = (x, top - (y + h), x + len(text) * h, top - y)
            lines.append(Line(text=text, bbox=bbox, source=Source.DXF, words=[Word(text=text, bbox=bbox)]))
    units = drawing.header.get("$INSUNITS", 0)
    width = max((ln.bbox[2] for ln in lines), default=1.0)
    height = max((ln.bbox[3] for ln in lines), default=1.0)
    page = Page(
        number=1, width=width, height=height, unit="dxf", source=Source.DXF,
        decision=f"DXF 图纸（$INSUNITS={units}），已记录文字标注，图形测量待后续版本", lines=lines,
    )
    return ReadOutput(pages=[page])
