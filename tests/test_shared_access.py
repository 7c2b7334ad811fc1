"""Every test reads ../shared through the helpers in tests/conftest.py.

A public clone has no ../shared: the helpers skip there (and fail in CI,
where SHENCHA_REQUIRE_SHARED=1). A test that builds its own path to the
shared folder would crash a public clone's `make test` instead, as
test_registry_rows.py once did; this test finds such paths in the source.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO, REQUIRE_SHARED, SHARED_ROOT, shared, shared_file

TESTS = REPO / "tests"


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def shared_paths_outside_the_helper(source: str) -> list[tuple[int, str]]:
    """(line, literal) of each string literal that names the shared folder."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            text = node.value
            if "/api/" in text:
                continue  # a REST route (/api/v1/shared/{entry}: the data-sharing catalogue), not a folder
            if text == "shared" or "shared/" in text or "SHENCHA_SHARED" in text:
                hits.append((node.lineno, text))
    return hits


def test_the_detector_finds_a_hand_built_shared_path():
    bad = 'from pathlib import Path\nDATA = Path(__file__).parents[2] / "shared" / "data"\n'
    also_bad = 'P = Path("/work/shared/domain_sources.md")\n'
    good = '"""Reads shared/data/ids."""\nfrom tests.conftest import shared\nX = shared("ids")\n'
    assert shared_paths_outside_the_helper(bad) == [(2, "shared")]
    assert shared_paths_outside_the_helper(also_bad) == [(1, "/work/shared/domain_sources.md")]
    assert shared_paths_outside_the_helper(good) == []
    assert shared_paths_outside_the_helper('client.get("/api/v1/shared/yingji?since=2000-01-01")\n') == []


def test_no_test_reads_shared_data_without_the_helper():
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name == "conftest.py" and path.parent == TESTS or path.name == Path(__file__).name:
            continue
        for line, text in shared_paths_outside_the_helper(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(REPO)}:{line}: {text!r}")
    assert offenders == [], "read ../shared through tests.conftest.shared()/shared_file():\n" + "\n".join(offenders)


def test_helpers_skip_when_shared_is_absent_and_fail_when_it_is_required(monkeypatch, tmp_path):
    import tests.conftest as conftest

    monkeypatch.setattr(conftest, "SHARED_DATA", tmp_path / "nothing")
    monkeypatch.setattr(conftest, "REQUIRE_SHARED", False)
    with pytest.raises(pytest.skip.Exception):
        conftest.shared("ids", "cn_ric_valid.txt")
    monkeypatch.setattr(conftest, "REQUIRE_SHARED", True)
    with pytest.raises(pytest.fail.Exception):
        conftest.shared("ids", "cn_ric_valid.txt")


@pytest.mark.skipif(not REQUIRE_SHARED, reason="only where .ci/run says ../shared is present")
def test_ci_has_the_shared_material():
    assert SHARED_ROOT.is_dir()
    assert shared("ids", "cn_ric_valid.txt").stat().st_size > 0
    assert "### 4.1" in shared_file("domain_sources.md").read_text(encoding="utf-8")
