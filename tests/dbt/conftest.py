"""Fixtures for `dbt build` on DuckDB and PostgreSQL over the hand-checkable datasets in `dbt_dataset.py`
(Telegram) and `payments_dataset.py` (payments).

dbt runs in-process (`dbtRunner`) and each build takes seconds, so every build is session-scoped: DuckDB builds
three times (the first N days with an empty payment ledger, as in the Telegram-only demo; then one more day
incrementally with the payment history loaded; then a full refresh on the same data, a re-run for the revenue
marts) and PostgreSQL once with everything. Every build gets its own target/log directory so partial parsing
never mixes engines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

import dbt_dataset as dataset
import payments_dataset
from dbt_harness import (INCREMENTAL, MARTS, REVENUE_MARTS, Build, dbt, dbt_env, load, load_payments, read_duckdb,
                         read_postgres)

# -- builds -----------------------------------------------------------------------------------------------------
@dataclass
class DuckDBWarehouse:
    path: Path
    first_build: Build
    incremental_build: Build
    full_refresh_build: Build
    incremental: dict[str, list[dict]]  # marts and incremental models after the one-more-day incremental run
    empty_ledger: dict[str, list[dict]]  # revenue marts of the first build, on an empty payment ledger

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
    url = f"duckdb:///{path}"
    env = dbt_env(url)
    load(url, dataset.arrow_tables("first"))
    first = dbt(["build"], env, work)
    empty_ledger = {name: read_duckdb(path, "marts", name, key) for name, key in REVENUE_MARTS.items()}
    load(url, {k: v for k, v in dataset.arrow_tables("rest").items() if v.num_rows})
    load_payments(url, payments_dataset.arrow_tables())
    incremental = dbt(["build"], env, work)
    incremental_rows = _tables_of(lambda s, t, k: read_duckdb(path, s, t, k))
    full = dbt(["build", "--full-refresh"], env, work)
    return DuckDBWarehouse(path, first, incremental, full, incremental_rows, empty_ledger)


@pytest.fixture(scope="session")
def postgres_warehouse(pg_url_session: str, tmp_path_factory: pytest.TempPathFactory) -> PostgresWarehouse:
    """A fresh PostgreSQL database (tests/conftest.py, dropped at the end) with all the data, built once."""
    load(pg_url_session, dataset.arrow_tables("all"))
    load_payments(pg_url_session, payments_dataset.arrow_tables())
    build = dbt(["build"], dbt_env(pg_url_session), tmp_path_factory.mktemp("dbt_postgres"))
    return PostgresWarehouse(pg_url_session, build)
