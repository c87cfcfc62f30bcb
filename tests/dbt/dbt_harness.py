"""Helpers for the dbt tests: load the raw dataset into DuckDB or PostgreSQL, run dbt in-process, read tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO_ROOT / "dbt_project"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"

MARTS = {
    "dim_channels": ["channel_id"],
    "fct_posts": ["channel_id", "message_id"],
    "fct_channel_daily": ["channel_id", "date"],
    "fct_post_hourly_heatmap": ["channel_id", "weekday", "hour"],
}
INCREMENTAL = {
    "int_post_snapshots_enriched": ("intermediate", ["channel_id", "message_id", "observed_at"]),
    "int_post_reach_interpolated": ("intermediate", ["channel_id", "message_id"]),
    "int_daily_reach_allocated": ("intermediate", ["channel_id", "reach_date", "observed_date"]),
}


# -- loading raw tables -----------------------------------------------------------------------------------------
def _pg_type(t: pa.DataType) -> str:
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_int32(t):
        return "integer"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_date32(t):
        return "date"
    if pa.types.is_string(t):
        return "text"
    raise TypeError(f"no PostgreSQL type for {t}")


def load_duckdb(path: Path, tables: dict[str, pa.Table], *, append: bool = False) -> None:
    """Write Arrow tables into raw.<name> of a DuckDB file (create them, or append to them)."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists raw")
        for name, table in tables.items():
            con.register("batch", table)
            if append:
                con.execute(f"insert into raw.{name} select * from batch")
            else:
                con.execute(f"create table raw.{name} as select * from batch")
            con.unregister("batch")
    finally:
        con.close()


def load_postgres(url: str, tables: dict[str, pa.Table]) -> None:
    """Create raw.<name> with the Arrow schema's types in PostgreSQL and insert the rows."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute("create schema if not exists raw")
        for name, table in tables.items():
            columns = ", ".join(f"{f.name} {_pg_type(f.type)}" for f in table.schema)
            con.execute(f"create table raw.{name} ({columns})")
            if table.num_rows:
                marks = ", ".join(["%s"] * table.num_columns)
                with con.cursor() as cur:
                    cur.executemany(
                        f"insert into raw.{name} ({', '.join(table.column_names)}) values ({marks})",
                        [tuple(r.values()) for r in table.to_pylist()],
                    )


# -- running dbt ------------------------------------------------------------------------------------------------
@dataclass
class Build:
    success: bool
    failures: list[str]


def dbt(args: list[str], env: dict[str, str], work_dir: Path) -> Build:
    """Run one dbt command in-process with the profile environment `env` (Settings.dbt_env() convention)."""
    from dbt.cli.main import dbtRunner

    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
        result = dbtRunner().invoke([
            *args,
            "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
            "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"),
            "--target", env["ANALYTICBOT_DBT_TARGET"], "--quiet",
        ])
    if env["ANALYTICBOT_DBT_TARGET"] == "duckdb":
        _release_duckdb()
    failures = []
    if result.exception is not None:
        failures.append(repr(result.exception))
    for r in getattr(result.result, "results", None) or []:
        if str(r.status) not in ("success", "pass"):
            failures.append(f"{r.node.unique_id}: {r.status}: {r.message}")
    return Build(result.success, failures)


def _release_duckdb() -> None:
    """dbt-duckdb keeps its database open in the process after an invocation; close it so tests can read."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


def read_duckdb(path: Path, schema: str, table: str, key: list[str]) -> list[dict]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        cur = con.execute(f"select * from {schema}.{table} order by {', '.join(key)}")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
    finally:
        con.close()


def read_postgres(url: str, schema: str, table: str, key: list[str]) -> list[dict]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, row_factory=dict_row) as con:
        return con.execute(f"select * from {schema}.{table} order by {', '.join(key)}").fetchall()
