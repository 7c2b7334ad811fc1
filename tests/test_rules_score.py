"""Acceptance on the sample packages: the scoring command anyone can run (benchmarks/score_rules.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TRUTH = ROOT / "fixtures" / "truth"


@pytest.mark.skipif(not list(TRUTH.glob("*.json")), reason="no ground-truth packages generated yet")
def test_planted_defects_found_and_clean_packages_have_no_fail(tmp_path):
    out = tmp_path / "score.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "score_rules.py"), "--json", str(out)],
                          check=False, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.exists(), proc.stdout + proc.stderr
    score = json.loads(out.read_text(encoding="utf-8"))
    assert score["recall"] == 1.0, proc.stdout
    assert score["precision"] >= 0.95, proc.stdout
    for pkg in score["packages"]:
        if pkg["defects"] == 0:
            assert pkg["fail_findings"] == 0, pkg
    assert proc.returncode == 0
