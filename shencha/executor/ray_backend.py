"""The Ray backend: OCR on an actor pool, reviews and re-reviews as tasks with retries.

Imported only when the Ray backend is chosen (`ray` is the optional extra).

- OCR actors (`OcrActor`): each holds one engine, loaded once, never used
  from two threads (one call at a time), ONNX Runtime intra-op threads =
  the CPUs Ray gave the actor. Pages of one package go round-robin over
  all actors. A dead actor is restarted and its calls retried.
- A review is a task (`num_cpus=0`: it waits on the actors most of the
  time; the driver bounds how many run at once). It fetches the staged
  package from the store, reads it, sends its pages to the actors, extracts,
  checks and stores; retried when its worker dies, and the store's run key
  keeps the retried write from storing a second version.
- A re-review is a task per chunk of cases (`num_cpus=1`), same retries.
- Page images travel from the review task to the actors through Ray's
  object store; packages and reports through the store, never through the
  driver.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any

import ray

from .base import Event, EventCallback, RereviewOutcome, ReviewJob, ReviewOutcome
from .work import chunked, read_ruleset, rereview_chunk, review_staged, stage_package, store_for, unstage

NAMESPACE = "shencha"
TASK_RETRIES = 3
CHUNK = 100  # cases per re-review task


@ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=5, max_concurrency=1)
class OcrActor:
    """One OCR engine, loaded once; threads = this actor's CPUs."""

    def __init__(self, options: Any = None) -> None:
        from extractor.ocr import OcrOptions
        from extractor.ocr.runner import get_engine

        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
        self.threads = max(1, int(round(cpus)))
        os.environ["OMP_NUM_THREADS"] = str(self.threads)
        self.options = options or OcrOptions()
        try:
            get_engine(self.options, self.threads)  # load the models before the first page
        except Exception:  # noqa: BLE001, S110 - every page then reports the missing engine
            pass

    def recognise(self, page: Any, options: Any = None) -> Any:
        from extractor.ocr.runner import run_one

        return run_one(page, options or self.options, self.threads)

    def echo(self, payload: Any = None) -> int:
        """For the benchmark: a call that does nothing (scheduling) or receives a page (transfer)."""
        image = getattr(payload, "image", None)
        return len(image) if image is not None else 0

    def info(self) -> dict:
        return {"pid": os.getpid(), "threads": self.threads}


@ray.remote(num_cpus=0)
class ProgressActor:
    """Counts recognised pages for the driver's progress bar."""

    def __init__(self) -> None:
        self.pages = 0
        self.taken = 0

    def add(self, n: int = 1) -> None:
        self.pages += n

    def take(self) -> int:
        delta, self.taken = self.pages - self.taken, self.pages
        return delta


class ActorMapper:
    """An `extractor.ocr` page mapper that sends pages to the OCR actors (picklable into tasks)."""

    def __init__(self, actors: list, progress: Any = None) -> None:
        self.actors = actors
        self.progress = progress

    def __call__(self, pages: Sequence, options: Any) -> list:
        n = len(self.actors)
        start = random.randrange(n)  # concurrent packages start on different actors
        refs = [self.actors[(start + i) % n].recognise.remote(page, options) for i, page in enumerate(pages)]
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            if self.progress is not None:
                self.progress.add.remote(len(done))
        return ray.get(refs)


@ray.remote(num_cpus=0, max_retries=TASK_RETRIES)
def _review_task(db_url: str, index: int, job: ReviewJob, staged: Any, ruleset: Any, mapper: ActorMapper,
                 fault_dir: str | None) -> ReviewOutcome:
    from extractor.ocr.runner import set_default_mapper

    set_default_mapper(mapper)
    try:
        return review_staged(db_url, index, job, staged, ruleset, fault_dir)
    finally:
        set_default_mapper(None)


@ray.remote(num_cpus=1, max_retries=TASK_RETRIES)
def _rereview_task(db_url: str, keys: list[str], ruleset: Any, run_id: str,
                   fault_dir: str | None) -> list[RereviewOutcome]:
    return rereview_chunk(db_url, keys, ruleset, run_id, fault_dir)


@ray.remote(num_cpus=0, max_retries=TASK_RETRIES)
def _call_task(mapper: ActorMapper, fn: Callable[..., Any], *args: Any) -> Any:
    from extractor.ocr.runner import set_default_mapper

    set_default_mapper(mapper)
    try:
        return fn(*args)
    finally:
        set_default_mapper(None)


class RayExecutor:
    name = "ray"

    def __init__(self, db_url: str, address: str, workers: int | None = None, ocr_cpus: float = 1.0,
                 fault_dir: str | None = None) -> None:
        self.db_url = db_url
        self.address = address
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, logging_level="WARNING")
        cpus = int(ray.cluster_resources().get("CPU", 1))
        # By default one OCR actor per CPU of the cluster; reviews in flight: as many.
        self.workers = workers or max(1, int(cpus // ocr_cpus))
        self.ocr_cpus = ocr_cpus
        self.fault_dir = fault_dir
        self._actors: list = []
        self._progress = None

    # -- the pool ------------------------------------------------------------------------------
    def actors(self) -> list:
        if not self._actors:
            self._actors = [OcrActor.options(num_cpus=self.ocr_cpus).remote() for _ in range(self.workers)]
            ray.get([a.info.remote() for a in self._actors])  # wait until every engine is loaded
        return self._actors

    def actor_info(self) -> list[dict]:
        return ray.get([a.info.remote() for a in self.actors()])

    def _mapper(self) -> ActorMapper:
        if self._progress is None:
            self._progress = ProgressActor.remote()
        return ActorMapper(self.actors(), self._progress)

    def _poll_pages(self, emit: Callable[[Event], None]) -> None:
        if self._progress is not None:
            n = ray.get(self._progress.take.remote())
            if n:
                emit(Event("ocr_pages", n))

    # -- the interface -------------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return _call_task.remote(self._mapper(), fn, *args).future()

    def review(self, jobs: Sequence[ReviewJob], on_event: EventCallback | None = None,
               ruleset_path: str | None = None) -> Iterator[ReviewOutcome]:
        emit = on_event or (lambda _e: None)
        store = store_for(self.db_url)
        ruleset = read_ruleset(ruleset_path)
        mapper = self._mapper()
        queue = list(enumerate(jobs))
        pending: dict[Any, tuple[int, ReviewJob, Any]] = {}
        while queue or pending:
            while queue and len(pending) < self.workers + 1:
                index, job = queue.pop(0)
                from pathlib import Path

                staged = stage_package(store, Path(job.path))
                ref = _review_task.remote(self.db_url, index, job, staged, ruleset, mapper, self.fault_dir)
                pending[ref] = (index, job, staged)
            done, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            self._poll_pages(emit)
            for ref in done:
                index, job, staged = pending.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - retries exhausted: the package failed
                    outcome = ReviewOutcome(index, job, error=f"TaskFailed:{type(exc).__name__}")
                unstage(store, staged)
                emit(Event("pages", outcome.pages))
                emit(Event("package_done", 1, job.path))
                yield outcome
        self._poll_pages(emit)

    def rereview(self, keys: Iterable[str], ruleset_path: str | None, run_id: str,
                 on_event: EventCallback | None = None) -> Iterator[RereviewOutcome]:
        emit = on_event or (lambda _e: None)
        ruleset = read_ruleset(ruleset_path)
        # The re-review tasks take the CPUs: the OCR actors (if any) are not needed.
        self._release_actors()
        chunks = chunked(keys, CHUNK)
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        pending: dict[Any, list[str]] = {}
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < 2 * cpus:
                chunk = next(chunks, None)
                if chunk is None:
                    exhausted = True
                    break
                pending[_rereview_task.remote(self.db_url, chunk, ruleset, run_id, self.fault_dir)] = chunk
            if not pending:
                break
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                chunk = pending.pop(ref)
                try:
                    outcomes = ray.get(ref)
                except Exception as exc:  # noqa: BLE001
                    outcomes = [RereviewOutcome(k, error=f"TaskFailed:{type(exc).__name__}") for k in chunk]
                for outcome in outcomes:
                    emit(Event("case_done"))
                    yield outcome

    def map_pages(self, pages: Sequence, options: Any = None, on_event: EventCallback | None = None) -> list:
        from extractor.errors import ErrorCode, InputError
        from extractor.ocr import OcrOptions, OcrPageResult

        outcomes = self._mapper()(pages, options or OcrOptions())
        if on_event:
            on_event(Event("ocr_pages", len(pages)))
        return [o if isinstance(o, OcrPageResult) else InputError(ErrorCode(o[0]), o[1]) for o in outcomes]

    def _release_actors(self) -> None:
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []

    def shutdown(self, kill: bool = False) -> None:
        self._release_actors()
        if self._progress is not None:
            ray.kill(self._progress)
            self._progress = None
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
