"""Fixtures for `dbt build` on DuckDB and PostgreSQL over the hand-checkable dataset in `dataset.py`.

dbt runs in-process (`dbtRunner`) and each build takes seconds, so every build is session-scoped: DuckDB builds
three times (the first N days, then one more day incrementally, then a full refresh on the same data) and
PostgreSQL once. Every build gets its own target/log directory so partial parsing never mixes engines.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pytest

import dbt_dataset as dataset
from dbt_harness import INCREMENTAL, MARTS, PG_HOST, PG_PORT, PG_USER, Build, dbt, load_duckdb, load_postgres, read_duckdb, read_postgres

# -- PostgreSQL availability ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """URL of the `postgres` maintenance database; skips (or fails under ANALYTICBOT_REQUIRE_POSTGRES=1)."""
    import psycopg

    url = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any connection failure means "not reachable"
        if os.environ.get("ANALYTICBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (ANALYTICBOT_REQUIRE_POSTGRES=1) but not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}")
    return url


# -- builds -----------------------------------------------------------------------------------------------------
@dataclass
class DuckDBWarehouse:
    path: Path
    first_build: Build
    incremental_build: Build
    full_refresh_build: Build
    incremental: dict[str, list[dict]]  # marts and incremental models after the one-more-day incremental run

    def rows(self, table: str, schema: str = "marts", key: list[str] | None = None) -> list[dict]:
        return read_duckdb(self.path, schema, table, key or MARTS[table])


@dataclass
class PostgresWarehouse:
    url: str
    build: Build

    def rows(self, table: str, schema: str = "marts", key: list[str] | None = None) -> list[dict]:
        return read_postgres(self.url, schema, table, key or MARTS[table])


def _tables_of(read) -> dict[str, list[dict]]:
    out = {name: read("marts", name, key) for name, key in MARTS.items()}
    out.update({name: read(schema, name, key) for name, (schema, key) in INCREMENTAL.items()})
    return out


@pytest.fixture(scope="session")
def duckdb_warehouse(tmp_path_factory: pytest.TempPathFactory) -> DuckDBWarehouse:
    """First N days built, one more day appended and built incrementally, then a full refresh on the same data."""
    work = tmp_path_factory.mktemp("dbt_duckdb")
    path = work / "warehouse.duckdb"
    env = {"ANALYTICBOT_DBT_TARGET": "duckdb", "ANALYTICBOT_DUCKDB_PATH": str(path)}
    load_duckdb(path, dataset.arrow_tables("first"))
    first = dbt(["build"], env, work)
    load_duckdb(path, {k: v for k, v in dataset.arrow_tables("rest").items() if v.num_rows}, append=True)
    incremental = dbt(["build"], env, work)
    incremental_rows = _tables_of(lambda s, t, k: read_duckdb(path, s, t, k))
    full = dbt(["build", "--full-refresh"], env, work)
    return DuckDBWarehouse(path, first, incremental, full, incremental_rows)


@pytest.fixture(scope="session")
def postgres_warehouse(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresWarehouse]:
    """A fresh database `analyticbot_test_<hex>` with all the data, built once, always dropped at the end."""
    import psycopg

    name = f"analyticbot_test_{uuid.uuid4().hex}"
    with psycopg.connect(pg_admin_url, autocommit=True) as con:
        con.execute(f'create database "{name}"')
    try:
        url = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
        load_postgres(url, dataset.arrow_tables("all"))
        env = {
            "ANALYTICBOT_DBT_TARGET": "postgres", "ANALYTICBOT_PG_HOST": PG_HOST,
            "ANALYTICBOT_PG_PORT": str(PG_PORT), "ANALYTICBOT_PG_USER": PG_USER,
            "ANALYTICBOT_PG_PASSWORD": "", "ANALYTICBOT_PG_DBNAME": name,
        }
        build = dbt(["build"], env, tmp_path_factory.mktemp("dbt_postgres"))
        yield PostgresWarehouse(url, build)
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')
