"""The local backend: this machine, in-process with one worker or a spawn process pool."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from extractor.processes import spawn_context

from .base import Event, EventCallback, RereviewOutcome, ReviewJob, ReviewOutcome
from .work import chunked, read_ruleset, rereview_chunk, review_one

CHUNK = 50  # cases per re-review work item


class LocalExecutor:
    name = "local"

    def __init__(self, db_url: str, processes: int = 1, ocr_workers: int | None = None) -> None:
        self.db_url = db_url
        self.processes = max(1, processes)
        self.ocr_workers = ocr_workers
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.processes, mp_context=spawn_context())
        return self._pool

    # -- the interface -------------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._get_pool().submit(fn, *args)

    def review(self, jobs: Sequence[ReviewJob], on_event: EventCallback | None = None,
               ruleset_path: str | None = None) -> Iterator[ReviewOutcome]:
        emit = on_event or (lambda _e: None)
        if self.processes == 1:
            # One package at a time, its OCR on all cores (what `shencha review` does).
            for index, job in enumerate(jobs):
                outcome = review_one(self.db_url, index, job, self.ocr_workers, ruleset_path)
                yield _done(outcome, emit)
            return
        # Several packages at once, the OCR budget shared between them.
        ocr = self.ocr_workers or max(1, (multiprocessing.cpu_count() or 1) // self.processes)
        pool = self._get_pool()
        pending = {pool.submit(review_one, self.db_url, i, job, ocr, ruleset_path): (i, job)
                   for i, job in enumerate(jobs)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index, job = pending.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # noqa: BLE001 - the process died (killed, out of memory)
                    outcome = ReviewOutcome(index, job, error=f"WorkerDied:{type(exc).__name__}")
                yield _done(outcome, emit)

    def rereview(self, keys: Iterable[str], ruleset_path: str | None, run_id: str,
                 on_event: EventCallback | None = None) -> Iterator[RereviewOutcome]:
        emit = on_event or (lambda _e: None)
        ruleset = read_ruleset(ruleset_path)
        chunks = chunked(keys, CHUNK)
        if self.processes == 1:
            for chunk in chunks:
                for outcome in rereview_chunk(self.db_url, chunk, ruleset, run_id):
                    emit(Event("case_done"))
                    yield outcome
            return
        pool = self._get_pool()
        pending: dict[Future, list[str]] = {}
        exhausted = False
        while pending or not exhausted:
            # A few chunks in flight per process: the selection is read as it goes, never all at once.
            while not exhausted and len(pending) < 2 * self.processes:
                chunk = next(chunks, None)
                if chunk is None:
                    exhausted = True
                    break
                pending[pool.submit(rereview_chunk, self.db_url, chunk, ruleset, run_id)] = chunk
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                chunk = pending.pop(future)
                try:
                    outcomes = future.result()
                except Exception as exc:  # noqa: BLE001
                    outcomes = [RereviewOutcome(k, error=f"WorkerDied:{type(exc).__name__}") for k in chunk]
                for outcome in outcomes:
                    emit(Event("case_done"))
                    yield outcome

    def map_pages(self, pages: Sequence, options: Any = None, on_event: EventCallback | None = None) -> list:
        from extractor.ocr import OcrOptions, recognise_pages

        results = recognise_pages(pages, options or OcrOptions(workers=self.ocr_workers))
        if on_event:
            on_event(Event("ocr_pages", len(pages)))
        return results

    def shutdown(self, kill: bool = False) -> None:
        if self._pool is None:
            return
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=not kill, cancel_futures=kill)
        if kill:
            for p in processes:
                if p.is_alive():
                    p.kill()
        self._pool = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def _done(outcome: ReviewOutcome, emit: Callable[[Event], None]) -> ReviewOutcome:
    emit(Event("pages", outcome.pages))
    emit(Event("package_done", 1, outcome.job.path))
    return outcome
