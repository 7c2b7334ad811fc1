"""Shared test fixtures: paths to the shared real data, stores on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The read-only material beside the checkout (../shared): real OCR images,
# PDFs, NER gold sets, identifier vectors and the domain notes. A public clone
# has none of it, so every test reads it through shared() / shared_file() /
# have_shared(), and tests/test_shared_access.py fails on any other route.
SHARED_ROOT = Path(os.environ.get("SHENCHA_SHARED", REPO.parent / "shared"))
SHARED_DATA = Path(os.environ.get("SHENCHA_SHARED_DATA", SHARED_ROOT / "data"))
FIXTURES = REPO / "fixtures"
# Set by .ci/run when ../shared is there: then a missing file is a failure
# (a renamed data set must not turn into a silent skip), not a skip.
REQUIRE_SHARED = os.environ.get("SHENCHA_REQUIRE_SHARED") == "1"


def _missing(path: Path) -> None:
    message = f"shared data not present: {path}"
    if REQUIRE_SHARED:
        pytest.fail(message + " (SHENCHA_REQUIRE_SHARED=1)", pytrace=False)
    pytest.skip(message)


def shared(*parts: str) -> Path:
    """A path under ../shared/data; skips the test (fails in CI) when absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        _missing(path)
    return path


def shared_file(*parts: str) -> Path:
    """A path under ../shared itself (the domain notes, the scorers); same rule as :func:`shared`."""
    path = SHARED_ROOT.joinpath(*parts)
    if not path.exists():
        _missing(path)
    return path


def have_shared(*parts: str) -> bool:
    """Whether ../shared/data/<parts> exists, for module-level skip marks."""
    return SHARED_DATA.joinpath(*parts).exists() or REQUIRE_SHARED


def shared_data_path(*parts: str) -> Path:
    """The path under ../shared/data without checking it (pair with :func:`have_shared`)."""
    return SHARED_DATA.joinpath(*parts)


def store_urls() -> list:
    urls = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get("SHENCHA_TEST_PG_URL"):
        urls.append(pytest.param("postgres", id="postgres", marks=pytest.mark.postgres))
    return urls


@pytest.fixture(params=store_urls())
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shencha.db'}"
    return _fresh_pg_database(os.environ["SHENCHA_TEST_PG_URL"])


def _fresh_pg_database(url: str) -> str:
    """A new empty database per test, so tests never see each other's rows."""
    import uuid

    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name
