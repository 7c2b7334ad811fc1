"""What drawing analysis returns: buildings, scale, annotations and measured distances per page.

Coordinates are in the page's unit with the origin top-left, as everywhere in
``extractor.model``: PDF points, image pixels, or DXF drawing units with y
flipped the way ``extractor.readers.dxf`` flips it. Metres appear only where a
scale was established (``Scale.metres_per_unit``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField

from ..model import BBox, Field

Point = tuple[float, float]
ScaleMethod = Literal["scale_bar", "ratio", "ratio_dpi", "insunits", "annotations", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextItem(_Model):
    """One piece of drawing text (a PDF text object, a DXF TEXT, an OCR line)."""

    text: str
    bbox: BBox
    confidence: float = 1.0

    @property
    def centre(self) -> Point:
        return ((self.bbox[0] + self.bbox[2]) / 2, (self.bbox[1] + self.bbox[3]) / 2)

    @property
    def height(self) -> float:
        return max(self.bbox[3] - self.bbox[1], 1e-6)


class Scale(_Model):
    method: ScaleMethod
    metres_per_unit: float | None = PydField(None, description="metres on the ground per page unit")
    ratio: int | None = PydField(None, description="N of 1:N when a ratio is written")
    bbox: BBox | None = PydField(None, description="the scale bar or the ratio text")
    text: str = ""
    note: str = PydField("", description="Chinese: how the scale was found, or why not")


class Building(_Model):
    name: str | None = PydField(description="None when the label could not be read")
    label: str = PydField("", description="all label text inside the outline, top to bottom")
    polygon: list[Point] = PydField(description="outline in page units (outer wall line)")
    bbox: BBox
    use_class: str | None = None  # 民用 | 甲 | 乙 | 丙 | 丁 | 戊
    kind: str | None = None  # civil | factory | warehouse
    fire_grade: int | None = None
    storeys: int | None = None
    height_m: float | None = None
    high_rise: bool | None = None
    high_rise_class: int | None = PydField(None, description="civil high-rise 一类 (1) / 二类 (2)")
    fire_wall_marked: bool = PydField(False, description="防火墙 written in or at the outline")
    label_complete: bool = PydField(False, description="name, use class and fire grade all read")
    confidence: float = 1.0


class Annotation(_Model):
    """A distance written on the drawing: '防火间距 8.0m', a dimension's value, a DXF DIMENSION."""

    text: str
    value_m: float
    bbox: BBox
    between: list[str] | None = None
    paired_by: Literal["dimension_line", "dimension_entity", "nearest", "none"] = "none"
    confidence: float = 1.0


class Measurement(_Model):
    """The shortest distance between two neighbouring outlines (GB 50016: nearest outer walls)."""

    between: tuple[str, str]
    distance_units: float
    distance_m: float | None = PydField(None, description="None when the scale is unknown")
    segment: tuple[Point, Point] = PydField(description="the two nearest points, page units")


class Width(_Model):
    """An evacuation width on a floor plan: a corridor measured wall face to wall face, a door by its code."""

    element: Literal["corridor", "door"]
    text: str
    bbox: BBox
    width_units: float | None = None
    width_m: float | None = None
    qualifier: Literal["measured", "annotated"]
    segment: tuple[Point, Point] | None = None
    fire_door: bool = False
    confidence: float = 1.0


class DrawingPage(_Model):
    page: int
    unit: Literal["pt", "px", "dxf"]
    scale: Scale
    buildings: list[Building] = PydField(default_factory=list)
    annotations: list[Annotation] = PydField(default_factory=list)
    measurements: list[Measurement] = PydField(default_factory=list)
    widths: list[Width] = PydField(default_factory=list, description="floor plans: corridor and door widths")
    plan_of: str | None = PydField(None, description="the building a floor plan belongs to (its title)")
    notes: list[str] = PydField(default_factory=list, description="Chinese: what could not be done and why")


class DrawingAnalysis(_Model):
    document: str
    method: Literal["vector_pdf", "dxf", "raster", "none"]
    pages: list[DrawingPage] = PydField(default_factory=list)
    fields: list[Field] = PydField(default_factory=list, description="building, fire_separation_distance (annotated), measured_separation, drawing_scale")
    seconds: float = 0.0
    notes: list[str] = PydField(default_factory=list)
