"""Image reader: PNG, JPEG and (multi-page) TIFF, each frame a page for OCR."""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import ExifTags, Image, ImageOps, ImageSequence, UnidentifiedImageError

from ..errors import ErrorCode, InputError
from ..limits import Limits
from ..model import Page, Source
from ..ocr import timing
from .base import OcrJob, ReadOutput, sha256_hex


def read_image(data: bytes, fmt: str, limits: Limits) -> ReadOutput:
    out = ReadOutput()
    for page, job in ImageFrames(data, fmt, limits):
        out.pages.append(page)
        out.ocr_jobs.append(job)
    return out


class ImageFrames:
    """An image file's pages, each decoded when it is asked for.

    ``len()`` is known from the header; iterating yields (page, OCR job) per
    frame, so a multi-page TIFF's first frames can be recognised while later
    ones are still being decoded. Raises :class:`InputError` (too many
    frames, too many pixels, corrupt or truncated data) when it meets it.
    """

    def __init__(self, data: bytes, fmt: str, limits: Limits) -> None:
        self.data, self.fmt, self.limits = data, fmt, limits
        with _errors_as_input_errors(), _bomb_guard(limits), Image.open(io.BytesIO(data)) as image:
            self.count = getattr(image, "n_frames", 1) if fmt == "tiff" else 1
        if self.count > limits.max_pdf_pages:
            raise InputError(ErrorCode.TOO_MANY_PAGES, f"{self.count} 页", f"{self.count} frames")

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[tuple[Page, OcrJob]]:
        with _errors_as_input_errors():
            with _bomb_guard(self.limits):
                image = Image.open(io.BytesIO(self.data))
            with image:
                frames = ImageSequence.Iterator(image) if self.fmt == "tiff" else [image]
                for index, frame in enumerate(frames):
                    # The guard is not held across the yield: the caller runs
                    # other code (OCR) between frames.
                    with timing.stage("decode"), _bomb_guard(self.limits):
                        page_and_job = self._frame(frame, index)
                    yield page_and_job

    def _frame(self, frame: Image.Image, index: int) -> tuple[Page, OcrJob]:
        _check_pixels(frame, self.limits)
        frame.load()  # decode now: truncation and bombs show up here
        # exif_transpose returns a copy even when nothing turns, so ask the tag:
        # an upright photo keeps its own bytes (a stable cache key, no PNG
        # encoding, and the OCR worker can draft-decode a large JPEG).
        turned = frame.getexif().get(ExifTags.Base.Orientation, 1) not in (None, 0, 1)
        upright = ImageOps.exif_transpose(frame) if turned else frame
        if self.fmt in ("png", "jpeg") and not turned and self.count == 1:
            encoded = self.data  # keep the original bytes: a stable cache key
        else:
            encoded = _encode_png(upright)
        page = Page(
            number=index + 1, width=upright.width, height=upright.height, unit="px",
            source=Source.OCR, decision="图片，进行文字识别",
        )
        return page, OcrJob(page_index=index, key=sha256_hex(encoded), image=encoded)


@contextmanager
def _errors_as_input_errors() -> Iterator[None]:
    """Pillow's errors as shencha's: a bomb, unreadable, truncated or corrupt data."""
    try:
        yield
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputError(ErrorCode.IMAGE_TOO_LARGE, str(exc).split(" could")[0]) from exc
    except UnidentifiedImageError as exc:
        raise InputError(ErrorCode.CORRUPT_FILE, "无法识别的图片数据", "unidentified image data") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        message = str(exc)
        if "truncated" in message.lower() or "premature" in message.lower():
            raise InputError(ErrorCode.TRUNCATED_FILE, message) from exc
        raise InputError(ErrorCode.CORRUPT_FILE, message) from exc
    except (EOFError, TypeError, struct.error) as exc:
        # A TIFF cut short or damaged inside its frame directory: Pillow walks
        # it to count the frames and fails with these ("Missing dimensions").
        raise InputError(
            ErrorCode.CORRUPT_FILE, "图片帧目录不完整或已损坏", f"unreadable frame directory: {exc}"
        ) from exc


def _check_pixels(frame: Image.Image, limits: Limits) -> None:
    pixels = frame.width * frame.height
    if pixels > limits.max_image_pixels:
        raise InputError(
            ErrorCode.IMAGE_TOO_LARGE,
            f"{frame.width}×{frame.height} 像素，上限 {limits.max_image_pixels:,} 像素",
            f"{frame.width}x{frame.height} pixels, limit {limits.max_image_pixels:,}",
        )


def _encode_png(image: Image.Image) -> bytes:
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


class _bomb_guard:
    """Make Pillow refuse oversized images with an error, not a warning.

    Pillow only warns between MAX_IMAGE_PIXELS and twice that; shencha's
    limit is a hard one, and the header is checked before decoding.
    """

    def __init__(self, limits: Limits) -> None:
        self.limit = limits.max_image_pixels

    def __enter__(self) -> None:
        self.saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = self.limit
        self.catcher = warnings.catch_warnings()
        self.catcher.__enter__()
        warnings.simplefilter("error", Image.DecompressionBombWarning)

    def __exit__(self, *exc: object) -> None:
        self.catcher.__exit__(*exc)
        Image.MAX_IMAGE_PIXELS = self.saved
