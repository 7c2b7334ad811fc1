"""A spawn context whose children never re-run the parent's ``__main__``.

A spawned child first re-creates the parent's main module, by name or by running its
file again. Inside a web app that is wrong: Streamlit installs the page script as a
fake ``__main__`` (and its test harness a generated file that only runs inside the
harness), so every OCR or review worker started from the pre-review page would run
the page again or die on start. shencha's workers are functions of importable
modules and need nothing from ``__main__``, so children are started as if the parent
had none.
"""

from __future__ import annotations

import sys
import threading
import types
from multiprocessing.context import SpawnContext, SpawnProcess

# Process starts swap a process-wide entry of sys.modules: one at a time.
_LOCK = threading.Lock()


class _BareMainProcess(SpawnProcess):
    def start(self) -> None:
        with _LOCK:
            real = sys.modules["__main__"]
            sys.modules["__main__"] = types.ModuleType("__main__")  # no __file__, no __spec__
            try:
                super().start()  # the preparation data (and its main module) is taken here
            finally:
                sys.modules["__main__"] = real


class _BareMainSpawnContext(SpawnContext):
    Process = _BareMainProcess


def spawn_context() -> SpawnContext:
    """The context for every process pool shencha starts.

    spawn, not fork: onnxruntime's thread pools (and a server's threads) do not survive
    a fork.
    """
    return _BareMainSpawnContext()
