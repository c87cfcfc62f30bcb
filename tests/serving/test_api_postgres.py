"""The API on a PostgreSQL warehouse (production): readers query `marts`/`ml` directly, read-only, and answer with
the same numbers as on the DuckDB snapshot.

The demo snapshot's reader-facing tables are copied into a fresh database as they are (the dbt build on
PostgreSQL is tested in tests/dbt; here the question is the API's SQL and connections on that engine)."""

from __future__ import annotations

import dataclasses

import polars as pl
import psycopg
import pytest
from fastapi.testclient import TestClient

from analyticbot.snapshot import SnapshotReader
from serving.api.app import create_app
from tests.serving.signing import auth

API = "/api/v1"
TABLES = ("marts.dim_channels", "marts.fct_channel_daily", "marts.fct_posts", "marts.fct_post_decay",
          "marts.fct_post_hourly_heatmap", "ml.best_time_slots", "ml.channel_forecasts", "ml.channel_model_status")
PG_TYPES = {pl.Int64: "bigint", pl.Int32: "integer", pl.Int16: "smallint", pl.Int8: "smallint",
            pl.Float64: "double precision", pl.Float32: "real", pl.Utf8: "text", pl.Boolean: "boolean",
            pl.Date: "date"}


def _pg_type(dtype) -> str:
    if isinstance(dtype, pl.Datetime):
        return "timestamp"
    return PG_TYPES[dtype.base_type() if hasattr(dtype, "base_type") else dtype]


@pytest.fixture(scope="module")
def pg_settings(api_settings, pg_url_module):
    reader = SnapshotReader(api_settings)
    version = reader.current_version()
    with psycopg.connect(pg_url_module, autocommit=True) as con:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA ml; CREATE SCHEMA meta")
        for table in TABLES:
            frame = reader.query(f"SELECT * FROM {table}")
            columns = ", ".join(f'"{c}" {_pg_type(t)}' for c, t in frame.schema.items())
            con.execute(f"CREATE TABLE {table} ({columns})")
            with con.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                for row in frame.iter_rows():
                    copy.write_row(row)
        con.execute("CREATE TABLE meta.publications (version TEXT PRIMARY KEY, published_at TIMESTAMP NOT NULL, "
                    "tables TEXT NOT NULL)")
        con.execute("INSERT INTO meta.publications VALUES (%s, now() AT TIME ZONE 'UTC', '{}')", [version])
    return dataclasses.replace(api_settings, warehouse_url=pg_url_module)


def test_reader_connections_refuse_writes(pg_settings):
    with SnapshotReader(pg_settings).connect() as con:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            con.pg.execute("CREATE TABLE marts.sneaky (x int)")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            con.pg.execute("DELETE FROM marts.dim_channels")


def test_postgres_answers_match_the_duckdb_snapshot(pg_settings, api_settings, owners):
    user = max(owners, key=lambda u: (len(owners[u]), u))
    channel = owners[user][0]
    paths = ["/me/channels", f"/channels/{channel}/overview?days=30", f"/channels/{channel}/posts?limit=50",
             f"/channels/{channel}/heatmap", f"/channels/{channel}/best-times", f"/channels/{channel}/forecast"]
    with TestClient(create_app(pg_settings)) as pg, TestClient(create_app(api_settings)) as duck:
        assert pg.get(f"{API}/health").json()["status"] == "ok"
        for path in paths:
            a, b = pg.get(API + path, headers=auth(user)), duck.get(API + path, headers=auth(user))
            assert a.status_code == b.status_code == 200, (path, a.text)
            assert _approx(a.json()) == _approx(b.json()), path
        top = duck.get(f"{API}/channels/{channel}/posts?limit=1", headers=auth(user)).json()["items"][0]
        detail = f"{API}/channels/{channel}/posts/{top['message_id']}"
        assert _approx(pg.get(detail, headers=auth(user)).json()) == _approx(duck.get(detail, headers=auth(user)).json())
        other = next(c for u, cs in owners.items() if u != user for c in cs)
        assert pg.get(f"{API}/channels/{other}/overview", headers=auth(user)).status_code == 404


def _approx(value):
    """Floats to 9 significant digits (the engines may differ in the last bits of a stored double's text)."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: _approx(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_approx(v) for v in value]
    return value
