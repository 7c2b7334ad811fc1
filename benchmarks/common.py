"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SHENCHA_SHARED_DATA", REPO.parent / "shared" / "data"))
FIXTURES = REPO / "fixtures"
