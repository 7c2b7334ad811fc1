"""Process pools started under a web app's fake ``__main__`` (Streamlit's page script)."""

from __future__ import annotations

import multiprocessing
import os
import sys
import types
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pytest

from extractor.processes import spawn_context


@pytest.fixture
def page_script_as_main(tmp_path, monkeypatch):
    """What Streamlit does while a page runs: the page file becomes ``__main__``."""
    script = tmp_path / "page.py"
    script.write_text("raise SystemExit('the page ran again in a worker')\n", encoding="utf-8")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", fake)
    return fake


def test_workers_start_under_a_page_script_main(page_script_as_main) -> None:
    with ProcessPoolExecutor(2, mp_context=spawn_context()) as pool:
        pids = set(pool.map(_pid, range(4)))
    assert pids and os.getpid() not in pids
    assert sys.modules["__main__"] is page_script_as_main  # put back after the start


def test_a_plain_spawn_pool_dies_there(page_script_as_main) -> None:
    # Why the context exists: the stock one re-runs the page in every child.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        with pytest.raises(BrokenProcessPool):
            pool.submit(_pid, 0).result(timeout=60)


def _pid(_: int) -> int:
    return os.getpid()
