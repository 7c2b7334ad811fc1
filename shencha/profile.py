"""Where a review's time goes: one review with every stage timed, and the table.

    from shencha.profile import profile_review, format_profile
    report, profile = profile_review(path, store, ReviewOptions())
    print(format_profile(profile))

Stages inside the extractor (render, decode, OCR steps, layout) are timed by
:mod:`extractor.ocr.timing`; fields, drawings, checks and the report's store
write are timed here by wrapping the functions the pipeline calls, so the
pipeline itself carries no profiling code. OCR stages run in worker
processes and are summed over them: with two workers they add up to about
twice their share of the wall time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor.ocr import timing

# (stage, group) in pipeline order; "ocr" stages are summed over workers.
STAGES: list[tuple[str, str]] = [
    ("decode", "read"),
    ("render", "read"),
    ("text layer", "read"),
    ("cache look-up", "ocr"),
    ("preprocess", "ocr"),
    ("orientation", "ocr"),
    ("deskew", "ocr"),
    ("detection", "ocr"),
    ("rulings", "ocr"),
    ("classification", "ocr"),
    ("recognition", "ocr"),
    ("word boxes", "ocr"),
    ("layout/tables", "read"),
    ("fields", "extract"),
    ("drawings", "extract"),
    ("checks", "checks"),
    ("store writes", "store"),
]
LABELS = {
    "decode": "图片解码 decode",
    "render": "PDF 渲染 render",
    "text layer": "PDF 文本层 text layer",
    "cache look-up": "识别缓存查询 cache look-up",
    "preprocess": "预处理 preprocess",
    "orientation": "方向判断 orientation",
    "deskew": "纠偏 deskew",
    "detection": "文字检测 detection",
    "rulings": "表格线切分 rulings",
    "classification": "方向分类 classification",
    "recognition": "文字识别 recognition",
    "word boxes": "字框 word boxes",
    "layout/tables": "版面与表格 layout/tables",
    "fields": "字段抽取 fields",
    "drawings": "图纸测量 drawings",
    "checks": "规则检查 checks",
    "store writes": "写入存储 store writes",
}
OCR_STAGES = {name for name, group in STAGES if group == "ocr" and name != "cache look-up"}


@dataclass
class Profile:
    seconds: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    ocr_wall: float = 0.0  # the OCR batch (pool start-up, all pages), wall clock
    pages: int = 0
    ocr_pages: int = 0
    cached_pages: int = 0
    workers: str = ""


@contextmanager
def _patched(owner: Any, name: str, stage: str) -> Iterator[None]:
    original = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        with timing.stage(stage):
            return original(*args, **kwargs)

    setattr(owner, name, timed)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _wall(owner: Any, name: str, into: Callable[[float], None]) -> Any:
    original = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into(time.perf_counter() - started)

    return original, timed


def profile_review(path: Path, store: Any, options: Any = None, **review_kwargs: Any) -> tuple[Any, Profile]:
    """Review `path` into `store` (shencha.review.review_path) with every stage timed."""
    from extractor import drawings, fields, ingest
    from extractor.ocr import runner

    from . import review
    from .store import Store

    profile = Profile()

    def add_ocr_wall(seconds: float) -> None:
        profile.ocr_wall += seconds

    original_run_ocr, timed_run_ocr = _wall(ingest, "_run_ocr", add_ocr_wall)
    plans: list[tuple[int, tuple[int, int]]] = []  # (pages in the batch, (processes, threads))
    original_plan = runner.plan_parallelism

    def plan(n_pages: int, workers: int | None) -> tuple[int, int]:
        chosen = original_plan(n_pages, workers)
        plans.append((n_pages, chosen))
        return chosen

    started = time.perf_counter()
    with ExitStack() as stack, timing.collect() as seconds:
        stack.enter_context(_patched(fields, "extract_package", "fields"))
        stack.enter_context(_patched(drawings, "analyse", "drawings"))
        stack.enter_context(_patched(review, "_run_checks", "checks"))
        stack.enter_context(_patched(Store, "save_review", "store writes"))
        ingest._run_ocr = timed_run_ocr
        runner.plan_parallelism = plan
        stack.callback(setattr, ingest, "_run_ocr", original_run_ocr)
        stack.callback(setattr, runner, "plan_parallelism", original_plan)
        report = review.review_path(path, store, options, **review_kwargs)
    profile.wall = time.perf_counter() - started
    profile.seconds = dict(seconds)
    profile.pages = sum(d.pages for d in report.documents)
    for document in report.documents:
        for page in document.page_details:
            if page.ocr is not None:
                profile.ocr_pages += 1
                profile.cached_pages += int(bool(page.ocr.cached))
    if plans:
        # The package's main batch, not the drawing pass's single page that comes last.
        processes, threads = max(plans, key=lambda p: p[0])[1]
        profile.workers = f"{processes}x{threads}"
    return report, profile


def format_profile(*profiles: tuple[str, Profile]) -> str:
    """A table of stage seconds, one column per (title, profile)."""
    titles = [title for title, _ in profiles]
    # Wide enough for the longest cell too ("30 (30/27)"), so columns never run together.
    pages = [f"{p.pages} ({p.ocr_pages}/{p.cached_pages})" for _, p in profiles]
    width = max(len(t) for t in titles + pages + ["seconds"]) + 2
    head = f"{'阶段 stage':<30}" + "".join(f"{t:>{width}}" for t in titles)
    rows = [head, "-" * len(head)]

    def row(label: str, values: list[str]) -> None:
        rows.append(f"{label:<30}" + "".join(f"{v:>{width}}" for v in values))

    for name, group in STAGES:
        values = [p.seconds.get(name) for _, p in profiles]
        if all(v is None for v in values):
            continue
        mark = " *" if group == "ocr" and name in OCR_STAGES else ""
        row(LABELS[name] + mark, ["-" if v is None else f"{v:.2f}" for v in values])
    others = sorted({k for _, p in profiles for k in p.seconds} - {n for n, _ in STAGES})
    for name in others:
        row(name, [f"{p.seconds.get(name, 0.0):.2f}" for _, p in profiles])
    rows.append("-" * len(head))
    row("OCR 批次墙钟 OCR batch wall", [f"{p.ocr_wall:.2f}" for _, p in profiles])
    row("OCR 阶段合计 OCR stages *", [f"{sum(p.seconds.get(n, 0.0) for n in OCR_STAGES):.2f}" for _, p in profiles])
    row("进程x线程 processes x threads", [p.workers or "-" for _, p in profiles])
    row("页数 pages (OCR/缓存)", pages)
    row("总墙钟 total wall", [f"{p.wall:.2f}" for _, p in profiles])
    rows.append("* 各识别进程之和 summed over OCR worker processes")
    return "\n".join(rows)
