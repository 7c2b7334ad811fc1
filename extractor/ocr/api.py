"""The OCR layer's boundary: options, input page images, results and the cache protocol."""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from ..model import Line, OcrRun


class OcrOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: str = Field("rapidocr", description="'rapidocr' (default, bundled) or 'paddleocr'")
    max_side: int = Field(
        3500,
        ge=64,
        description="images whose longer side exceeds this are shrunk to it before OCR "
        "(an A4 page at 300 dpi is 3508 px tall and stays as it is)",
    )
    deskew: bool = Field(True, description="straighten slanted pages (up to ~20 degrees)")
    detect_rotation: bool = Field(True, description="turn pages lying sideways or upside down")
    det_max_side: int | None = Field(
        1280,
        ge=320,
        description="rapidocr: the detector sees a large page shrunk to this longer side "
        "(None: RapidOCR's own policy, up to 2000 px); see engines.RapidSettings. 1280 detects a "
        "200-dpi A4 page ~2.5x faster; a box the smaller scale draws over two table cells is cut "
        "at their ruling (ocr/rulings.py), and the slant is measured on the image (preprocess.refine_skew)",
    )
    rec_int8: bool = Field(
        False,
        description="rapidocr: the recogniser with int8 MatMul weights (derived once, cached on disk); "
        "off: no measurable gain once rec_min_width is 96, one more error on cnocr",
    )
    rec_batch: int = Field(6, ge=1, le=64, description="rapidocr: line crops per recogniser call")
    rec_min_width: int = Field(
        96, ge=48, le=320,
        description="rapidocr: recogniser batches are padded to at least this width (RapidOCR: 320)",
    )
    runtime: Literal["onnxruntime", "openvino"] = Field(
        "onnxruntime", description="rapidocr: inference runtime of the detector and line classifier"
    )
    workers: int | None = Field(
        None, ge=1, description="CPU budget: worker processes x engine threads; None = os.cpu_count()"
    )
    paddle_model_dir: str | None = Field(
        None,
        description="PaddleOCR model root holding det/, rec/ and optional cls/ "
        "(else env SHENCHA_PADDLE_MODEL_DIR)",
    )


class PageImage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(description="sha256 of the source image bytes")
    image: bytes = Field(description="an encoded image: PNG, JPEG or one TIFF frame", repr=False)
    dpi: float | None = Field(None, description="set for rendered PDF pages")
    pdf: bytes | None = Field(
        None,
        repr=False,
        description="a PDF whose page `page_index` is rendered at `dpi` where it is recognised "
        "(then `image` is empty and `key` names the PDF, page, DPI and renderer): "
        "rendered once, never encoded and decoded again",
    )
    page_index: int = Field(0, ge=0, description="0-based page of `pdf`")


class OcrPageResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[Line] = Field(
        description="source=ocr; bbox (x0, top, x1, bottom) in pixels of `image`; "
        "sorted top-to-bottom, then left-to-right"
    )
    run: OcrRun
    width: int = Field(description="of the normalised image (after rotation, deskew, downscale)")
    height: int
    image: bytes = Field(description="the normalised page image the bboxes refer to", repr=False)
    timings: dict[str, float] = Field(
        default_factory=dict,
        exclude=True,
        repr=False,
        description="seconds per stage of this page's OCR (extractor.ocr.timing); never stored or cached",
    )


@runtime_checkable
class OcrCache(Protocol):
    def get(self, key: str) -> OcrPageResult | None: ...

    def put(self, key: str, result: OcrPageResult) -> None: ...
