"""Shared fixtures: a temporary data dir with its own settings, and throwaway PostgreSQL databases.

PostgreSQL runs at 127.0.0.1:5432 (trust auth) on development and CI machines. Where it is not reachable,
PostgreSQL tests skip with that reason, except under ANALYTICBOT_REQUIRE_POSTGRES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterator

import polars as pl
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


@pytest.fixture
def store(data_dir):
    """The operational store, migrated, in the test's own data dir (SQLite)."""
    from analyticbot.appstore.db import AppStore, migrate

    migrate()
    app_store = AppStore()
    yield app_store
    app_store.dispose()


@pytest.fixture(params=["duckdb", "postgres"])
def wh(request, data_dir, monkeypatch):
    """An empty warehouse with its schemas, on each engine."""
    from analyticbot.settings import get_settings
    from analyticbot.warehouse import open_warehouse

    if request.param == "postgres":
        monkeypatch.setenv("ANALYTICBOT_WAREHOUSE_URL", request.getfixturevalue("pg_url"))
    with open_warehouse(get_settings()) as w:
        w.ensure_schemas()
        yield w


# -- the demo warehouse: the whole pipeline once per test session ---------------------------------------------
# The default demo scale (8 channels x 120 days, 3,200 paying customers over 18 months) in a temporary data dir,
# shared by the model tests and the model-asset tests (~100 s on 2 cores). Users that change it work on a copy.
@dataclass
class DemoWarehouse:
    settings: object

    def read(self, reader) -> pl.DataFrame:
        from analyticbot.warehouse import open_warehouse

        with open_warehouse(self.settings, read_only=True) as wh:
            return reader(wh)

    @cached_property
    def posts(self) -> pl.DataFrame:
        from models_ml import inputs

        return self.read(inputs.posts)

    @cached_property
    def channel_daily(self) -> pl.DataFrame:
        from models_ml import inputs

        return self.read(inputs.channel_daily)

    @cached_property
    def churn_inputs(self):
        from models_ml import inputs

        return self.read(inputs.churn_inputs)


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> DemoWarehouse:
    mp = pytest.MonkeyPatch()
    data = tmp_path_factory.mktemp("models_demo") / "data"
    mp.setenv("ANALYTICBOT_DATA_DIR", str(data))
    mp.delenv("ANALYTICBOT_APP_DB_URL", raising=False)
    mp.delenv("ANALYTICBOT_WAREHOUSE_URL", raising=False)
    mp.delenv("DAGSTER_HOME", raising=False)
    mp.setenv("ANALYTICBOT_DEMO_SCALE", "default")
    from analyticbot import cli
    from analyticbot.settings import get_settings

    settings = get_settings()
    assert cli.build_demo(settings, say=lambda _: None), "the demo pipeline failed"
    mp.undo()
    return DemoWarehouse(settings)
