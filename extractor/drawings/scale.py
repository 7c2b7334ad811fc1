"""The drawing scale: a scale bar (preferred: it survives re-plotting at another paper size),
else a written ratio with a known page unit (PDF points, a scan's DPI), else unknown."""

from __future__ import annotations

from .geometry import bar_scale
from .labels import norm, scale_ratio
from .model import Scale, TextItem

INCH_M = 0.0254


def bar_rows(rects: list[tuple[float, float, float, float]]) -> list[tuple[float, float, float, float]]:
    """Extents of rows of ≥ 2 equal, touching, axis-aligned cells (a scale bar's segments)."""
    cells = sorted({(round(r[0], 1), round(r[1], 1), round(r[2], 1), round(r[3], 1)) for r in rects
                    if (r[2] - r[0]) > 2 * (r[3] - r[1]) > 0})
    rows: list[list[tuple[float, float, float, float]]] = []
    for c in sorted(cells, key=lambda c: (c[1], c[0])):
        for row in rows:
            last = row[-1]
            h = last[3] - last[1]
            if abs(c[1] - last[1]) < 0.1 * h + 0.2 and abs(c[3] - last[3]) < 0.1 * h + 0.2 \
                    and abs(c[0] - last[2]) < 0.05 * (last[2] - last[0]) + 0.2:
                row.append(c)
                break
        else:
            rows.append([c])
    return [(r[0][0], min(c[1] for c in r), r[-1][2], max(c[3] for c in r)) for r in rows if len(r) >= 2]


def find_scale(
    bars: list[tuple[float, float, float, float]], texts: list[TextItem], unit_m: float | None,
    unit_name: str,
) -> Scale:
    """``unit_m``: metres of paper per page unit (PDF point, pixel at a known DPI), None if unknown."""
    ratio, ratio_item = None, None
    for t in texts:
        n = scale_ratio(t.text)
        if n is not None and ("比例" in norm(t.text) or ratio is None):
            ratio, ratio_item = n, t
    bar = None
    for extent in bars:
        got = bar_scale(extent, texts)
        if got is not None:
            bar = (extent, got)
            break
    if bar is not None:
        extent, (upm, span) = bar
        note = f"比例尺 {span}，图上每米 {upm:.4g} {unit_name}"
        if ratio is not None and unit_m is not None:
            from_ratio = 1.0 / (ratio * unit_m)
            if abs(from_ratio - upm) / upm > 0.03:
                note += f"；标注比例 1:{ratio} 与比例尺不符（相差 {abs(from_ratio - upm) / upm:.0%}），以比例尺为准"
        return Scale(method="scale_bar", metres_per_unit=1.0 / upm, ratio=ratio, bbox=extent, text=span, note=note)
    if ratio is not None and unit_m is not None:
        method = "ratio" if unit_name == "pt" else "ratio_dpi"
        return Scale(method=method, metres_per_unit=ratio * unit_m, ratio=ratio,
                     bbox=ratio_item.bbox if ratio_item else None, text=ratio_item.text if ratio_item else "",
                     note=f"按标注比例 1:{ratio} 换算")
    if ratio is not None:
        return Scale(method="none", ratio=ratio, bbox=ratio_item.bbox if ratio_item else None,
                     text=ratio_item.text if ratio_item else "",
                     note=f"标注比例 1:{ratio}，但扫描分辨率未知且未找到比例尺，无法换算图上距离")
    return Scale(method="none", note="图纸未标注比例，也未找到比例尺，无法测量距离")
