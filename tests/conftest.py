"""Shared fixtures: a temporary data dir with its own settings, and throwaway PostgreSQL databases.

PostgreSQL runs at 127.0.0.1:5432 (trust auth) on development and CI machines. Where it is not reachable,
PostgreSQL tests skip with that reason, except under ANALYTICBOT_REQUIRE_POSTGRES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


def _pg_admin():
    import psycopg

    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True,
                           connect_timeout=3)


def require_postgres() -> None:
    try:
        _pg_admin().close()
    except Exception as exc:  # noqa: BLE001 - any connection failure means "not reachable"
        if os.environ.get("ANALYTICBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (ANALYTICBOT_REQUIRE_POSTGRES=1) but not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    yield from _fresh_database()


@pytest.fixture(scope="session")
def pg_url_session() -> Iterator[str]:
    """A fresh database for a session-scoped user (the dbt tests); never share it with another user."""
    yield from _fresh_database()


@pytest.fixture(scope="module")
def pg_url_module() -> Iterator[str]:
    yield from _fresh_database()


def _fresh_database() -> Iterator[str]:
    require_postgres()
    name = f"analyticbot_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with _pg_admin() as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data dir with the embedded defaults (SQLite app store, DuckDB warehouse)."""
    d = tmp_path / "data"
    monkeypatch.setenv("ANALYTICBOT_DATA_DIR", str(d))
    monkeypatch.delenv("ANALYTICBOT_APP_DB_URL", raising=False)
    monkeypatch.delenv("ANALYTICBOT_WAREHOUSE_URL", raising=False)
    return d
