"""Batch OCR: cache look-ups, a pool of worker processes, one result or error per page."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ..errors import ErrorCode, InputError
from ..processes import spawn_context
from . import timing
from .api import OcrCache, OcrOptions, OcrPageResult, PageImage
from .engines import EngineInfo, OcrEngine, RapidSettings, engine_info, make_engine
from .page import recognise_page

DEFAULT_OPTIONS = OcrOptions()



def _pipeline_version() -> str:
    """A digest of the code that turns a page into lines: preprocessing (decode, orientation,
    deskew), the engines' calls and line assembly.

    Part of every cache key, so a cached page is never one read by other code: a hand-bumped
    number was forgotten once (a changed deskew kept answering from results cached before it).
    Comment edits invalidate the cache too; that costs one OCR pass, a stale result costs a
    wrong field.
    """
    from . import engines, page, preprocess, rulings

    digest = hashlib.sha256()
    for module in (page, preprocess, engines, rulings):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


PIPELINE_VERSION = _pipeline_version()

# One engine per (engine, model dir, settings, threads) per process: loading
# the ONNX sessions costs ~0.3 s, recognising a page ~1-3 s.
_ENGINES: dict[tuple[str, str | None, RapidSettings, int], OcrEngine] = {}


def rapid_settings(options: OcrOptions) -> RapidSettings:
    return RapidSettings(
        det_max_side=options.det_max_side,
        rec_int8=options.rec_int8,
        rec_batch=options.rec_batch,
        runtime=options.runtime,
        rec_min_width=options.rec_min_width,
    )


def options_info(options: OcrOptions) -> EngineInfo:
    """The engine `options` name, its models and settings (no model loaded)."""
    return engine_info(options.engine, options.paddle_model_dir, rapid_settings(options))


def get_engine(options: OcrOptions = DEFAULT_OPTIONS, threads: int | None = None) -> OcrEngine:
    """The engine `options` name, loaded once per process.

    Raises :class:`InputError` E113 when the engine or its models are missing.
    """
    n = threads if threads is not None else (options.workers or os.cpu_count() or 1)
    settings = rapid_settings(options)
    key = (options.engine, options.paddle_model_dir, settings, n)
    engine = _ENGINES.get(key)
    if engine is None:
        engine = make_engine(options.engine, options.paddle_model_dir, threads=n, settings=settings)
        _ENGINES[key] = engine
    return engine


def _key(page: PageImage, options: OcrOptions, info: EngineInfo) -> str:
    material = {
        "image": page.key,
        "dpi": page.dpi,
        "engine": info.name,
        "engine_version": info.version,
        # For rapidocr this holds the det/rec/cls files (the int8 recogniser
        # under its own digest), the runtime and the settings string.
        "models": info.models,
        "max_side": options.max_side,
        "deskew": options.deskew,
        "detect_rotation": options.detect_rotation,
        "pipeline": PIPELINE_VERSION,
    }
    if info.name == "rapidocr":
        material["rapid_settings"] = rapid_settings(options).describe()
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def cache_key(page: PageImage, options: OcrOptions) -> str:
    """Everything that decides a page's OCR result: image, engine, models, settings, options.

    `workers` is left out: it changes speed, not output.
    """
    return _key(page, options, options_info(options))


# --------------------------------------------------------------------------- workers

_ErrorPayload = tuple[str, str]  # (ErrorCode value, detail): InputError does not pickle


def _failure(exc: BaseException) -> _ErrorPayload:
    if isinstance(exc, InputError):
        return exc.code.value, exc.detail
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return ErrorCode.OCR_FAILED.value, f"{type(exc).__name__}: {text}"[:300]


def _run_one(page: PageImage, options: OcrOptions, threads: int) -> OcrPageResult | _ErrorPayload:
    try:
        return recognise_page(page, options, get_engine(options, threads))
    except Exception as exc:  # noqa: BLE001 - one bad page must not stop the batch
        return _failure(exc)


_WORKER: dict[str, object] = {}


def _init_worker(options: OcrOptions, threads: int) -> None:
    _WORKER["options"] = options
    _WORKER["threads"] = threads
    try:
        get_engine(options, threads)  # load the models once, before the first page
    except Exception:  # noqa: BLE001, S110 - _run_one reports it for every page
        pass


def _work(page: PageImage) -> OcrPageResult | _ErrorPayload:
    options = _WORKER["options"]
    threads = _WORKER["threads"]
    assert isinstance(options, OcrOptions) and isinstance(threads, int)
    return _run_one(page, options, threads)


def plan_parallelism(n_pages: int, workers: int | None) -> tuple[int, int]:
    """(processes, engine threads per process) for a batch.

    Measured on the 2-core machine (``bench_ocr.py --parallel --dpi 120``,
    11 PDF pages, machine shared and loaded): 2 processes x 1 onnxruntime
    thread took 73.7 s, 1 process x 2 threads 134.5 s, start-up and model
    loading included. onnxruntime's second intra-op thread buys little
    (a page's decode, box post-processing, crops and CTC decoding run in one
    thread anyway) while its spinning costs CPU: one page alone used 26.5 s
    of CPU with 1 thread against 35.2 s with 2. A worker takes a few seconds
    to start and load the models, so one or two pages stay in-process.
    """
    budget = max(1, workers or os.cpu_count() or 1)
    if n_pages <= 2 or budget == 1:
        return 1, budget
    processes = min(budget, n_pages)
    return processes, max(1, budget // processes)


# A page mapper runs the OCR of a batch of cache misses somewhere else (the
# executor's actor pool on a Ray cluster): it takes the pages and the options
# and returns one OcrPageResult or (error code, detail) per page, in order.
PageMapper = Callable[[Sequence[PageImage], OcrOptions], Sequence["OcrPageResult | _ErrorPayload"]]

_DEFAULT_MAPPER: list[PageMapper] = []


def set_default_mapper(mapper: PageMapper | None) -> None:
    """Route every `recognise_pages` of this process through `mapper` (None: back to the local pool).

    Set by an executor's worker (a Ray task) so that a review running in it
    sends its pages to the executor's OCR actors without being told.
    """
    _DEFAULT_MAPPER.clear()
    if mapper is not None:
        _DEFAULT_MAPPER.append(mapper)


def run_one(page: PageImage, options: OcrOptions, threads: int) -> OcrPageResult | _ErrorPayload:
    """One page on this process's engine: the result, or (error code, detail) (picklable)."""
    return _run_one(page, options, threads)


def _to_error(payload: _ErrorPayload) -> InputError:
    code, detail = payload
    return InputError(ErrorCode(code), detail)


def recognise_pages(
    pages: Iterable[PageImage],
    options: OcrOptions = DEFAULT_OPTIONS,
    cache: OcrCache | None = None,
    progress: bool = False,
    mapper: PageMapper | None = None,
    total: int | None = None,
) -> list[OcrPageResult | InputError]:
    """OCR a batch of page images; one result or :class:`InputError` per page, in order.

    Cache misses run on `mapper` when one is given (or set for the process
    with :func:`set_default_mapper`), else on a local pool of processes.

    `pages` may be an iterator that reads pages one by one (frames of a TIFF
    decoded as they are asked for): the pool then starts at the first page
    that is not cached, and its workers load their models and read the first
    pages while the rest are still being decoded. `total` says how many pages
    the iterator will give (the progress bar and the pool's size; without it
    the pool is sized for the machine). A list is looked up in the cache
    first, so its pool is sized by its misses exactly.
    """
    mapper = mapper or (_DEFAULT_MAPPER[0] if _DEFAULT_MAPPER else None)
    try:
        info = options_info(options)
    except InputError as exc:
        return [InputError(exc.code, exc.detail) for _ in pages]

    results: list[OcrPageResult | InputError | None] = []
    keys: list[str] = []

    def looked_up(stream: Iterable[PageImage]) -> Iterator[tuple[int, PageImage]]:
        """The pages that are not cached, with their index; cached ones go straight to `results`."""
        for page in stream:
            i = len(results)
            keys.append(_key(page, options, info))
            with timing.stage("cache look-up"):
                hit = cache.get(keys[i]) if cache is not None else None
            results.append(None if hit is None else
                           hit.model_copy(update={"run": hit.run.model_copy(update={"cached": True})}))
            if hit is None:
                yield i, page
            else:
                bar.advance(1)

    if isinstance(pages, Sequence):
        total = len(pages)
    bar = _Progress(total or 0, enabled=progress and (total or 0) > 1)

    def store(i: int, outcome: OcrPageResult | _ErrorPayload) -> None:
        if isinstance(outcome, OcrPageResult):
            results[i] = outcome
            timing.merge(outcome.timings)
            if cache is not None:
                with timing.stage("store writes"):
                    cache.put(keys[i], outcome)
        else:
            results[i] = _to_error(outcome)
        bar.advance(1)

    try:
        if isinstance(pages, Sequence):
            misses: Iterable[tuple[int, PageImage]] = list(looked_up(pages))
            expected = len(misses)
        else:
            misses = looked_up(pages)
            expected = total if total is not None else max(options.workers or os.cpu_count() or 1, 3)
        if mapper is not None:
            batch = list(misses)
            outcomes = mapper([page for _, page in batch], options) if batch else []
            for (i, _), outcome in zip(batch, outcomes, strict=True):
                store(i, outcome)
        else:
            _run_local(misses, expected, options, store)
    finally:
        bar.close()
    return [r if r is not None else InputError(ErrorCode.OCR_FAILED, "no result") for r in results]


def _run_local(
    misses: Iterable[tuple[int, PageImage]],
    expected: int,
    options: OcrOptions,
    store: Callable[[int, OcrPageResult | _ErrorPayload], None],
) -> None:
    """Read `misses` on this machine: in this process for one or two pages, else on a pool
    started when the first page arrives, each page submitted as soon as it is read."""
    processes, threads = plan_parallelism(expected, options.workers)
    if processes == 1:
        for i, page in misses:
            store(i, _run_one(page, options, threads))
        return
    pool: ProcessPoolExecutor | None = None
    futures: list[tuple[int, Future[OcrPageResult | _ErrorPayload] | None]] = []
    try:
        for i, page in misses:
            if pool is None:
                pool = ProcessPoolExecutor(
                    max_workers=processes,
                    mp_context=spawn_context(),
                    initializer=_init_worker,
                    initargs=(options, threads),
                )
            try:
                futures.append((i, pool.submit(_work, page)))
            except BrokenProcessPool:
                futures.append((i, None))
        # A worker that died (out of memory on a huge page, a crash in native
        # code) fails its page and those submitted after it; the batch reports them.
        died = (ErrorCode.OCR_FAILED.value, "the OCR worker process died")
        for i, future in futures:
            try:
                store(i, future.result() if future is not None else died)
            except BrokenProcessPool:
                store(i, died)
    finally:
        if pool is not None:
            # On an error while reading the pages (a corrupt frame), pages not
            # yet started are dropped rather than read for nothing.
            pool.shutdown(wait=True, cancel_futures=True)


class _Progress:
    """A rich progress bar, or nothing."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._progress = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("OCR"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=True,
                console=Console(stderr=True),  # stdout may carry JSON output
            )
            self._progress.start()
            self._task = self._progress.add_task("ocr", total=total)

    def advance(self, n: int) -> None:
        if self._progress is not None and n:
            self._progress.advance(self._task, n)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
