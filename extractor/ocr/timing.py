"""Per-stage timing of a review, collected only when someone asks for it.

    with timing.collect() as seconds:      # a dict: stage name -> seconds
        ...                                # code that calls timing.stage("render") etc.

Stages add wall seconds to the innermost active collector; without one,
``stage`` and ``add`` cost one context-variable read. OCR worker processes
collect per page and return the dict with the page's result
(:attr:`OcrPageResult.timings`), which the runner merges into the caller's
collector, so a profile covers the pool's work too (summed over workers:
with two workers the OCR stages add up to about twice the wall time).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

_ACTIVE: ContextVar[dict[str, float] | None] = ContextVar("shencha_timing", default=None)


@contextmanager
def collect() -> Iterator[dict[str, float]]:
    """Collect stage seconds inside the block; nested collectors see only their own block."""
    seconds: dict[str, float] = {}
    token = _ACTIVE.set(seconds)
    try:
        yield seconds
    finally:
        _ACTIVE.reset(token)


def active() -> bool:
    return _ACTIVE.get() is not None


def add(name: str, seconds: float) -> None:
    target = _ACTIVE.get()
    if target is not None:
        target[name] = target.get(name, 0.0) + seconds


def merge(seconds: Mapping[str, float]) -> None:
    for name, value in seconds.items():
        add(name, value)


@contextmanager
def stage(name: str) -> Iterator[None]:
    if _ACTIVE.get() is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        add(name, time.perf_counter() - started)
