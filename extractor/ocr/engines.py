"""OCR engines behind one small interface.

An engine takes a BGR image (numpy, as OpenCV reads it) and returns raw lines:
text, score and the detector's quadrilateral in that image's pixels. Page
normalisation (rotation, deskew, downscale), sorting and the document model
live in :mod:`extractor.ocr.page`; engines know nothing of them.

The default engine is RapidOCR: PaddleOCR's PP-OCR det/rec models (and a mobile
line-orientation classifier) as ONNX files inside the ``rapidocr`` wheel, run on
onnxruntime. PaddleOCR itself is optional (extra ``[paddle]``); its model
directories come from configuration. Neither engine ever downloads weights:
a missing model is :data:`ErrorCode.OCR_MODELS_MISSING`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import ErrorCode, InputError
from . import timing
from .rulings import split_at_rulings

PADDLE_MODEL_DIR_ENV = "SHENCHA_PADDLE_MODEL_DIR"


@dataclass(frozen=True)
class WordBox:
    text: str
    score: float
    quad: np.ndarray  # (4, 2) float32, clockwise from top-left


@dataclass(frozen=True)
class RawLine:
    """One recognised line as the engine reports it, before normalisation."""

    text: str
    score: float
    quad: np.ndarray  # (4, 2) float32, clockwise from top-left, image pixels
    flipped: bool = False  # the line classifier turned this crop by 180 degrees
    words: tuple[WordBox, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class EngineInfo:
    """What identifies an engine's output: enough for a cache key, no model loaded."""

    name: str
    version: str
    models: dict[str, str]


@runtime_checkable
class OcrEngine(Protocol):
    name: str
    version: str
    models: dict[str, str]

    def recognise(self, image: np.ndarray) -> list[RawLine]:
        """Recognise the text lines of a BGR uint8 image."""
        ...

    def recognise_line(self, image: np.ndarray) -> RawLine | None:
        """Recognise the whole image as one line, without detection; None if unsupported."""
        ...


def _dist_version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=16)
def _file_digest(path: str, size: int, mtime: float) -> str:
    # size and mtime are part of the lru key so a replaced file is re-hashed.
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def _model_id(path: Path) -> str:
    stat = path.stat()
    return f"{path.name}@sha256:{_file_digest(str(path), stat.st_size, stat.st_mtime)}"


# --------------------------------------------------------------------------- RapidOCR


def _rapidocr_model_files() -> dict[str, Path]:
    """The det/rec/cls ONNX files shipped in the rapidocr wheel.

    Passing explicit ``model_path``s to RapidOCR is what keeps it from ever
    reaching for its download code path.
    """
    try:
        import rapidocr
    except ImportError as exc:  # a broken install, not a user error
        raise InputError(ErrorCode.OCR_MODELS_MISSING, f"rapidocr ({exc})") from exc
    models_dir = Path(rapidocr.__file__).parent / "models"
    found: dict[str, Path] = {}
    for task in ("det", "rec", "cls"):
        candidates = sorted(models_dir.glob(f"*_{task}_*.onnx")) or sorted(
            models_dir.glob(f"*{task}*.onnx")
        )
        if not candidates:
            raise InputError(ErrorCode.OCR_MODELS_MISSING, f"rapidocr ({task} in {models_dir})")
        # Newest PP-OCR version first when several are bundled.
        found[task] = max(candidates, key=lambda p: p.name)
    return found


@dataclass(frozen=True)
class RapidSettings:
    """What shencha changes in RapidOCR's defaults; every field can change the output.

    Measured side by side in ``benchmarks/bench_ocr_levers.py`` (figures in
    docs/ingestion.md, "OCR speed"):

    * ``det_max_side``: the detector sees a large page shrunk so its longer
      side is at most this many pixels (RapidOCR's own policy keeps up to
      2000 px: a 200-dpi A4 page is detected at 1408x1984). Text lines of a
      page stay several pixels tall at 1280, and detection is ~3x cheaper.
      Smaller images keep RapidOCR's policy (short side enlarged to 736 px),
      except that a wide one is enlarged only until its long side reaches
      this limit (a 556x139 slip went to the detector at 2944x736).
      ``None``: RapidOCR's policy for every image.
    * ``rec_int8``: the recogniser with its MatMul weights quantised to int8
      (dynamic quantisation, derived once from the bundled model and kept
      in the user's cache directory, see :func:`int8_rec_model`).
    * ``rec_batch``: line crops per recogniser call (RapidOCR: 6).
    * ``rec_min_width``: the recogniser pads every batch to at least this
      width (RapidOCR: 320 px at 48 px height); short cells of a roster
      need far less.
    * ``runtime``: ``onnxruntime`` (default) or ``openvino`` for the
      detector and the line classifier (the recogniser stays on onnxruntime,
      whose ONNX file carries the character list).
    """

    det_max_side: int | None = 1280
    rec_int8: bool = False
    rec_batch: int = 6
    runtime: str = "onnxruntime"
    rec_min_width: int = 96

    def describe(self) -> str:
        text = (
            f"det_max_side={self.det_max_side or 'rapidocr'};rec_int8={int(self.rec_int8)};"
            f"rec_batch={self.rec_batch};runtime={self.runtime}"
        )
        if self.rec_min_width != 320:
            text += f";rec_min_width={self.rec_min_width}"
        return text


# A line read with less confidence than this is read again the other way up;
# a new read at REREAD_ACCEPT or more, and surer by REREAD_GAIN, replaces it
# (RapidOCR drops lines under 0.5 anyway).
REREAD_BELOW = 0.9
REREAD_ACCEPT = 0.95
REREAD_GAIN = 0.1


# An image at most this tall (or wide) may be a strip of one line
# (extractor.ocr.page reads a wide one whole first).
STRIP_HEIGHT = 120


RAPIDOCR_DEFAULTS = RapidSettings(
    det_max_side=None, rec_int8=False, rec_batch=6, runtime="onnxruntime", rec_min_width=320
)


def _rec_file(settings: RapidSettings, files: dict[str, Path]) -> Path:
    if settings.rec_int8:
        quantised = int8_rec_model(files["rec"])
        if quantised is not None:
            return quantised
    return files["rec"]


def rapidocr_info(settings: RapidSettings | None = None) -> EngineInfo:
    settings = settings or RapidSettings()
    files = _rapidocr_model_files()
    files["rec"] = _rec_file(settings, files)
    models = {task: _model_id(path) for task, path in files.items()}
    runtime = f"onnxruntime {_dist_version('onnxruntime')}"
    if settings.runtime == "openvino":
        runtime += f"; openvino {_dist_version('openvino')} (det, cls)"
    models["runtime"] = runtime
    # The settings ride along in the page's OcrRun.models: a report says how
    # each page was read, and the cache key (built from these) never hands
    # one configuration's result to another.
    models["settings"] = settings.describe()
    return EngineInfo(name="rapidocr", version=_dist_version("rapidocr"), models=models)


# --------------------------------------------------------------------------- int8 recogniser

CACHE_DIR_ENV = "SHENCHA_CACHE_DIR"


def model_cache_dir() -> Path:
    """Where derived models live: $SHENCHA_CACHE_DIR, else $XDG_CACHE_HOME/shencha, else ~/.cache/shencha."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured) / "models"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "shencha" / "models"


def int8_rec_model(source: Path) -> Path | None:
    """The recogniser with int8 MatMul weights, derived from ``source`` once and cached on disk.

    Offline: onnxruntime's dynamic quantisation of the bundled file (needs
    the ``onnx`` package). Only MatMul is quantised: the recogniser's large
    output projection is most of its weights, and quantised convolutions
    (ConvInteger) were slower on onnxruntime's CPU kernels and changed 3% of
    the per-frame argmaxes against 0.05% here. Returns None when the
    quantiser is unavailable or fails: the caller then uses ``source`` (and
    its cache key says so).
    """
    stat = source.stat()
    digest = _file_digest(str(source), stat.st_size, stat.st_mtime)
    target = model_cache_dir() / f"{source.stem}.int8-matmul.{digest}.onnx"
    if target.is_file():
        return target
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    logger = logging.getLogger("root")  # the quantiser warns about pre-processing through the root logger
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(partial), op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)
        os.replace(partial, target)  # atomic: two workers may derive it at once
    except Exception:
        logging.getLogger(__name__).warning("int8 recogniser could not be derived", exc_info=True)
        partial.unlink(missing_ok=True)
        return None
    finally:
        logger.setLevel(previous)
    return target


class RapidOcrEngine:
    """RapidOCR on onnxruntime with the models bundled in its wheel."""

    name = "rapidocr"

    def __init__(self, threads: int | None = None, settings: RapidSettings | None = None) -> None:
        from rapidocr import RapidOCR

        self.settings = settings = settings or RapidSettings()
        info = rapidocr_info(settings)
        self.version = info.version
        self.models = info.models
        files = _rapidocr_model_files()
        params: dict[str, object] = {
            # rapidocr logs every model path at INFO and warns on every blank page.
            "Global.log_level": "error",
            "Global.return_word_box": True,
            "Det.model_path": str(files["det"]),
            "Rec.model_path": str(_rec_file(settings, files)),
            "Cls.model_path": str(files["cls"]),
            "Rec.rec_batch_num": int(settings.rec_batch),
            # A batch is padded to its widest crop, and to at least this width.
            "Rec.rec_img_shape": [3, 48, int(settings.rec_min_width)],
            # RapidOCR turns onnxruntime's memory arena off (less memory). Every
            # recogniser batch has another shape, and allocating its buffers
            # afresh cost 7% of the OCR's CPU (4 scanned pages x 4 rounds,
            # alternating: 12.7 s vs 13.7 s; same output); ~100 MB more a worker.
            "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
        }
        if settings.runtime == "openvino":
            params["Det.engine_type"] = "openvino"
            params["Cls.engine_type"] = "openvino"
        if threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = int(threads)
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
            params["EngineConfig.openvino.inference_num_threads"] = int(threads)
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        self._ocr = RapidOCR(params=params)
        self._det_default = (self._ocr.cfg.Det.limit_side_len, str(self._ocr.cfg.Det.limit_type))

    def _det_policy(self, img: np.ndarray) -> None:
        """Shrink large pages for the detector only (see RapidSettings.det_max_side)."""
        det = self._ocr._load_det_model()
        limit = self.settings.det_max_side
        side, kind = self._det_default
        if limit:
            height, width = self._det_input_shape(img)
            short, long = min(height, width), max(height, width)
            if long > limit:
                side, kind = limit, "max"
            elif kind == "min" and short < side and long * side / short > limit and min(img.shape[:2]) > STRIP_HEIGHT:
                # RapidOCR enlarges a small image until its short side is 736 px;
                # for a wide slip that takes the long side far past the limit (a
                # 556x139 slip was detected at 2944x736, 1.1 s for one line).
                # Enlarge it only until the long side reaches the limit. Not a
                # strip of one line, across or down (a crop of one field, reached
                # here when reading it whole failed): cnocr's 280x32 crops lost
                # 3 characters detected smaller.
                side = max(1, round(short * limit / long))
        det.limit_side_len, det.limit_type = side, kind

    def _det_input_shape(self, img: np.ndarray) -> tuple[int, int]:
        """The image's shape as the detector gets it: RapidOCR pads a low or very wide
        image above and below first (``apply_vertical_padding``)."""
        from rapidocr.utils.process_img import get_padding_h

        ocr = self._ocr
        height, width = img.shape[:2]
        ratio = ocr.width_height_ratio
        if ocr.cfg.Global.use_vertical_padding and (
            height <= ocr.min_height or (ratio != -1 and width / height > ratio)
        ):
            height += 2 * get_padding_h(height, width, ratio, ocr.min_height)
        return height, width

    def recognise(self, image: np.ndarray) -> list[RawLine]:
        # Same steps as RapidOCR.__call__/run_ocr_steps, assembled here so each
        # line keeps its classifier verdict (needed to tell a page upside
        # down), its word boxes stay aligned with it, and each step is timed.
        from rapidocr.main import RapidOCRError
        from rapidocr.utils.process_img import map_boxes_to_original

        ocr = self._ocr
        height, width = image.shape[:2]
        img, op_record = ocr.preprocess_img(image)
        self._det_policy(img)
        try:
            with timing.stage("detection"):
                crops, det = ocr.detect_and_crop(img, op_record)
            with timing.stage("rulings"):
                det_boxes, crops = split_at_rulings(
                    img, np.asarray(det.boxes, dtype=np.float32), crops, op_record["padding_1"]["top"])
            with timing.stage("classification"):
                cls_crops, cls = ocr.cls_and_rotate(crops)
            with timing.stage("recognition"):
                rec = ocr.recognize_txt(cls_crops)
                if rec.txts:
                    self._reread_doubtful(crops, cls.cls_res, rec)
        except RapidOCRError:  # nothing detected, classified or read: a blank page
            return []
        if rec.txts is None or len(rec.txts) == 0:
            return []
        boxes = map_boxes_to_original(det_boxes, op_record, height, width)
        ratio = op_record["preprocess"]
        return self._assemble(boxes, cls.cls_res, rec, crops, (ratio["ratio_h"], ratio["ratio_w"]))

    def _reread_doubtful(self, crops: list[np.ndarray], cls_res: list[tuple[str, float]] | None,
                         rec: object) -> None:
        """Read a doubtful line again the other way up; keep the new read when it is sure.

        The line classifier sometimes turns a sound crop upside down, sure of
        itself: on a photographed certificate card (blind family F) it turned
        T530111199306250950 at 0.99, and the recogniser read the upside-down
        digits as "1530121110950" at 0.61. The same crop the right way up
        reads whole at 1.00. Which crops it turns depends on a pixel or two
        of the box, so the detector's input size changes which lines are hit.
        Only a read at REREAD_ACCEPT or more, and surer than the first by
        REREAD_GAIN, replaces it. Changes ``rec``, ``crops`` and ``cls_res`` in place.
        """
        scores = list(rec.scores)  # type: ignore[attr-defined]
        labels = cls_res if cls_res is not None else []
        doubtful = [i for i, score in enumerate(scores) if score < REREAD_BELOW and i < len(labels)]
        if not doubtful:
            return
        # The first read saw the crop turned when the classifier said 180.
        variants = [crops[i] if self._turned(labels[i]) else np.rot90(crops[i], 2) for i in doubtful]
        again = self._ocr.recognize_txt(variants)
        txts, words = list(rec.txts), list(rec.word_results)  # type: ignore[attr-defined]
        changed = False
        for j, i in enumerate(doubtful):
            score = float(again.scores[j])
            if score >= REREAD_ACCEPT and score >= scores[i] + REREAD_GAIN:
                txts[i], scores[i], words[i] = again.txts[j], score, again.word_results[j]
                labels[i] = ("0", 1.0) if self._turned(labels[i]) else ("180", 1.0)
                changed = True
        if changed:
            rec.txts, rec.scores, rec.word_results = tuple(txts), scores, tuple(words)  # type: ignore[attr-defined]

    def _turned(self, label: tuple[str, float]) -> bool:
        """Whether the line classifier turned a crop by 180 degrees."""
        return "180" in str(label[0]) and float(label[1]) > self._ocr.cfg.Cls.cls_thresh

    def recognise_line(self, image: np.ndarray) -> RawLine | None:
        """The whole image as one line: recognition without detection.

        For tight crops of a single line the detector, which scales the short
        side up to 736 px, is slow and often finds nothing at all.
        """
        ocr = self._ocr
        height, width = image.shape[:2]
        with timing.stage("classification"):
            crops, cls = ocr.cls_and_rotate([image])
        from rapidocr.ch_ppocr_rec import TextRecInput

        rec = ocr.text_rec or ocr._load_rec_model()
        with timing.stage("recognition"):
            result = rec(TextRecInput(img=crops, return_word_box=True))
        if result.txts is None or not result.txts:
            return None
        box = np.array([[[0, 0], [width, 0], [width, height], [0, height]]], dtype=np.float32)
        lines = self._assemble(box, cls.cls_res, result, [image], (1.0, 1.0))
        return lines[0] if lines else None

    def _assemble(
        self,
        boxes: np.ndarray,
        cls_res: list[tuple[str, float]] | None,
        rec: object,
        crops: list[np.ndarray],
        ratio: tuple[float, float],
    ) -> list[RawLine]:
        from rapidocr.utils.process_img import map_img_to_original

        ocr = self._ocr
        txts = list(rec.txts)  # type: ignore[attr-defined]
        scores = list(rec.scores)  # type: ignore[attr-defined]
        labels = list(cls_res) if cls_res is not None else []
        words_per_line: list[tuple[WordBox, ...]] = [()] * len(txts)
        started = time.perf_counter()
        try:
            crops = map_img_to_original(crops, ratio[0], ratio[1])
            rec = ocr.cal_rec_boxes(crops, boxes, rec, False)
            word_results = rec.word_results  # type: ignore[attr-defined]
            if len(word_results) == len(txts):
                words_per_line = [
                    tuple(
                        WordBox(str(t), float(s), np.asarray(q, dtype=np.float32))
                        for t, s, q in line
                        if q is not None and str(t).strip()
                    )
                    for line in word_results
                ]
        except Exception:
            logging.getLogger(__name__).debug("word boxes failed", exc_info=True)
        timing.add("word boxes", time.perf_counter() - started)
        lines: list[RawLine] = []
        for i, (text, score) in enumerate(zip(txts, scores)):
            if not text.strip() or score < ocr.text_score:
                continue
            label, label_score = labels[i] if i < len(labels) else ("", 0.0)
            flipped = self._turned((label, label_score))
            lines.append(
                RawLine(
                    text=text,
                    score=float(score),
                    quad=np.asarray(boxes[i], dtype=np.float32),
                    flipped=flipped,
                    words=words_per_line[i],
                )
            )
        return lines


# --------------------------------------------------------------------------- PaddleOCR


def _paddle_dirs(model_dir: str | None) -> dict[str, Path]:
    """Resolve the PaddleOCR model directories: ``det/``, ``rec/`` and optional ``cls/``.

    Raises E113 when paddleocr is not importable or a required directory is
    absent; PaddleOCR would otherwise try to download its defaults.
    """
    root = model_dir or os.environ.get(PADDLE_MODEL_DIR_ENV)
    try:
        import paddleocr  # noqa: F401
    except ImportError as exc:
        raise InputError(
            ErrorCode.OCR_MODELS_MISSING, "paddleocr (not installed: pip install 'shencha[paddle]')"
        ) from exc
    if not root:
        raise InputError(
            ErrorCode.OCR_MODELS_MISSING,
            f"paddleocr (no model directory: set OcrOptions.paddle_model_dir or {PADDLE_MODEL_DIR_ENV})",
        )
    base = Path(root)
    dirs = {task: base / task for task in ("det", "rec", "cls")}
    for task in ("det", "rec"):
        d = dirs[task]
        if not d.is_dir() or not any(d.iterdir()):
            raise InputError(ErrorCode.OCR_MODELS_MISSING, f"paddleocr ({task}: {d})")
    if not dirs["cls"].is_dir():
        del dirs["cls"]
    return dirs


def _paddle_model_name(d: Path) -> str:
    # PaddleX inference directories name their model in inference.yml.
    cfg = d / "inference.yml"
    if cfg.is_file():
        for raw in cfg.read_text(encoding="utf-8", errors="replace").splitlines():
            line = raw.strip()
            if line.startswith("model_name:"):
                return line.split(":", 1)[1].strip().strip("'\"")
    return d.name


def _paddle_model_id(d: Path) -> str:
    params = sorted(d.glob("*.pdiparams"))
    if params:
        return f"{_paddle_model_name(d)}@{_model_id(params[0]).split('@', 1)[1]}"
    return _paddle_model_name(d)


def paddle_info(model_dir: str | None) -> EngineInfo:
    dirs = _paddle_dirs(model_dir)
    models = {task: _paddle_model_id(d) for task, d in dirs.items()}
    models["runtime"] = f"paddlepaddle {_dist_version('paddlepaddle')}"
    return EngineInfo(name="paddleocr", version=_dist_version("paddleocr"), models=models)


class PaddleOcrEngine:
    """PaddleOCR (3.x pipeline API) with locally configured model directories."""

    name = "paddleocr"

    def __init__(self, model_dir: str | None = None, threads: int | None = None) -> None:
        dirs = _paddle_dirs(model_dir)
        info = paddle_info(model_dir)
        self.version = info.version
        self.models = info.models
        # Keep PaddleX from probing model hosters at start-up.
        os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
        from paddleocr import PaddleOCR

        kwargs: dict[str, object] = {
            "text_detection_model_dir": str(dirs["det"]),
            "text_detection_model_name": _paddle_model_name(dirs["det"]),
            "text_recognition_model_dir": str(dirs["rec"]),
            "text_recognition_model_name": _paddle_model_name(dirs["rec"]),
            # Page orientation and unwarping are done by shencha (and would
            # need more models); line orientation only if its model is there.
            "use_doc_orientation_classify": False,
            "use_doc_unwarping": False,
            "use_textline_orientation": "cls" in dirs,
        }
        if "cls" in dirs:
            kwargs["textline_orientation_model_dir"] = str(dirs["cls"])
            kwargs["textline_orientation_model_name"] = _paddle_model_name(dirs["cls"])
        if threads:
            kwargs["cpu_threads"] = int(threads)
        try:
            self._ocr = PaddleOCR(**kwargs)
        except Exception as exc:
            raise InputError(ErrorCode.OCR_MODELS_MISSING, f"paddleocr ({exc})") from exc

    def recognise_line(self, image: np.ndarray) -> RawLine | None:
        return None  # the pipeline API always detects; callers fall back to recognise()

    def recognise(self, image: np.ndarray) -> list[RawLine]:
        lines: list[RawLine] = []
        for res in self._ocr.predict(image):
            data = res.json.get("res", res.json) if hasattr(res, "json") else dict(res)
            texts = data.get("rec_texts") or []
            scores = data.get("rec_scores") or []
            polys = data.get("rec_polys") or data.get("dt_polys") or []
            angles = data.get("textline_orientation_angles") or [0] * len(texts)
            for text, score, poly, angle in zip(texts, scores, polys, angles):
                if not str(text).strip():
                    continue
                quad = np.asarray(poly, dtype=np.float32).reshape(-1, 2)
                if quad.shape[0] != 4:  # polygons from curved text: keep their bounds
                    x0, y0 = quad.min(axis=0)
                    x1, y1 = quad.max(axis=0)
                    quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
                lines.append(
                    RawLine(text=str(text), score=float(score), quad=quad, flipped=int(angle) == 180)
                )
        return lines


# --------------------------------------------------------------------------- selection

ENGINES = ("rapidocr", "paddleocr")


def engine_info(
    engine: str, paddle_model_dir: str | None = None, settings: RapidSettings | None = None
) -> EngineInfo:
    """Identify an engine, its models and settings without loading them."""
    if engine == "rapidocr":
        return rapidocr_info(settings)
    if engine in ("paddleocr", "paddle"):
        return paddle_info(paddle_model_dir)
    raise ValueError(f"unknown OCR engine {engine!r}; known: {', '.join(ENGINES)}")


def make_engine(
    engine: str,
    paddle_model_dir: str | None = None,
    threads: int | None = None,
    settings: RapidSettings | None = None,
) -> OcrEngine:
    if engine == "rapidocr":
        return RapidOcrEngine(threads=threads, settings=settings)
    if engine in ("paddleocr", "paddle"):
        return PaddleOcrEngine(model_dir=paddle_model_dir, threads=threads)
    raise ValueError(f"unknown OCR engine {engine!r}; known: {', '.join(ENGINES)}")
