"""Helpers for the dbt tests: load the raw dataset into DuckDB or PostgreSQL, run dbt in-process, read tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO_ROOT / "dbt_project"

MARTS = {
    "dim_channels": ["channel_id"],
    "fct_posts": ["channel_id", "message_id"],
    "fct_channel_daily": ["channel_id", "date"],
    "fct_post_hourly_heatmap": ["channel_id", "weekday", "hour"],
}
REVENUE_MARTS = {
    "fct_payments": ["payment_id"],
    "fct_subscription_periods": ["period_id"],
    "fct_mrr_monthly": ["customer_id", "month"],
    "fct_revenue_daily": ["revenue_date", "gateway", "plan_code"],
    "fct_cohort_retention": ["cohort_month", "months_since_first"],
    "fct_saas_kpis_monthly": ["month"],
}
MARTS.update(REVENUE_MARTS)
INCREMENTAL = {
    "int_post_snapshots_enriched": ("intermediate", ["channel_id", "message_id", "observed_at"]),
    "int_post_reach_interpolated": ("intermediate", ["channel_id", "message_id"]),
    "int_daily_reach_allocated": ("intermediate", ["channel_id", "reach_date", "observed_date"]),
}


# -- loading raw tables -----------------------------------------------------------------------------------------
def load(warehouse_url: str, tables: dict[str, pa.Table]) -> None:
    """Write the dataset the way the pipeline does: the app mirror replaced, Telegram tables through `ingest`
    (so the dataset must pass ingestion's checks: a rejected row would be a bug in the dataset or in ingest)."""
    from analyticbot.settings import Settings
    from analyticbot.telegram.contract import RAW_TABLES, RawBatch
    from analyticbot.warehouse import APP_MIRROR, open_warehouse

    settings = Settings(data_dir=Path("/nonexistent"), app_db_url="sqlite://", warehouse_url=warehouse_url)
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        for name, table in tables.items():
            if name in APP_MIRROR and table.num_rows:
                wh.replace_app_mirror(name, table)
        report = wh.ingest(RawBatch({n: t for n, t in tables.items() if n in RAW_TABLES}), source="dbt-test",
                           now=datetime(2100, 1, 1))
    given = tables["rejected_records"].num_rows if "rejected_records" in tables else 0  # rows the dataset carries
    assert report.rejected == given, report.reasons


def load_payments(warehouse_url: str, tables: dict[str, pa.Table]) -> None:
    """Write payment rows the way the pipeline does: the ledger appended, FX rates upserted, plans replaced."""
    from analyticbot.settings import Settings
    from analyticbot.warehouse import open_warehouse

    settings = Settings(data_dir=Path("/nonexistent"), app_db_url="sqlite://", warehouse_url=warehouse_url)
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        wh.replace_app_mirror("app_plans", tables["app_plans"])
        wh.upsert_fx_rates(tables["fx_rates_daily"])
        appended = wh.append_payment_events(tables["payment_events"])
    assert appended == tables["payment_events"].num_rows


def dbt_env(warehouse_url: str) -> dict[str, str]:
    from analyticbot.settings import Settings

    return Settings(data_dir=Path("/nonexistent"), app_db_url="sqlite://", warehouse_url=warehouse_url).dbt_env()


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
