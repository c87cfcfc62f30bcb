"""The API on a PostgreSQL warehouse (production): readers query `marts`/`ml` directly, read-only, and answer with
the same numbers as on the DuckDB snapshot.

The tables the API reads are copied from the demo snapshot into a fresh database as they are (tests/pg_marts.py;
the dbt build on PostgreSQL is tested in tests/dbt; here the question is the API's SQL and connections on that
engine)."""

from __future__ import annotations

import dataclasses

import psycopg
import pytest
from fastapi.testclient import TestClient

from analyticbot.snapshot import SnapshotReader
from serving.api.app import create_app
from tests.pg_marts import approx, copy_snapshot
from tests.serving.signing import auth

API = "/api/v1"
TABLES = ("marts.dim_channels", "marts.fct_channel_daily", "marts.fct_posts", "marts.fct_post_decay",
          "marts.fct_post_hourly_heatmap", "ml.best_time_slots", "ml.channel_forecasts", "ml.channel_model_status")


@pytest.fixture(scope="module")
def pg_settings(api_settings, pg_url_module):
    copy_snapshot(api_settings, pg_url_module, TABLES)
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
            assert approx(a.json()) == approx(b.json()), path
        top = duck.get(f"{API}/channels/{channel}/posts?limit=1", headers=auth(user)).json()["items"][0]
        detail = f"{API}/channels/{channel}/posts/{top['message_id']}"
        assert approx(pg.get(detail, headers=auth(user)).json()) == approx(duck.get(detail, headers=auth(user)).json())
        other = next(c for u, cs in owners.items() if u != user for c in cs)
        assert pg.get(f"{API}/channels/{other}/overview", headers=auth(user)).status_code == 404

