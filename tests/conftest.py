"""Shared test fixtures: paths to the shared real data, stores on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SHENCHA_SHARED_DATA", REPO.parent / "shared" / "data"))
FIXTURES = REPO / "fixtures"


def shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    return path


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
