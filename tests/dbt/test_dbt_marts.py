"""`dbt build` on DuckDB and PostgreSQL over the hand-checkable dataset (tests/dbt/dbt_dataset.py).

The builds themselves are session fixtures in conftest.py; these tests only read their results.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

import pytest

from dbt_harness import INCREMENTAL, MARTS, read_duckdb

REL_TOL = 1e-9

DUCKDB_TO_PG_TYPES = {
    "BIGINT": "bigint", "INTEGER": "integer", "DOUBLE": "double precision", "VARCHAR": "character varying",
    "TIMESTAMP": "timestamp without time zone", "DATE": "date", "BOOLEAN": "boolean",
}


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (float, Decimal)) or isinstance(b, (float, Decimal)):
        return math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=1e-9)
    return a == b


def assert_same_rows(left: list[dict], right: list[dict], what: str) -> None:
    assert len(left) == len(right), f"{what}: {len(left)} rows vs {len(right)}"
    for i, (l_row, r_row) in enumerate(zip(left, right)):
        assert list(l_row) == list(r_row), f"{what}: columns differ"
        diffs = {k: (l_row[k], r_row[k]) for k in l_row if not _same(l_row[k], r_row[k])}
        assert not diffs, f"{what} row {i} ({ {k: l_row[k] for k in list(l_row)[:3]} }): {diffs}"


def by_key(rows: list[dict], *key: str) -> dict[tuple, dict]:
    return {tuple(r[k] for k in key): r for r in rows}


# -- builds ------------------------------------------------------------------------------------------------------
def test_duckdb_builds_pass_first_incremental_and_full_refresh(duckdb_warehouse):
    for build in (duckdb_warehouse.first_build, duckdb_warehouse.incremental_build,
                  duckdb_warehouse.full_refresh_build):
        assert build.success, build.failures


def test_postgres_build_passes(postgres_warehouse):
    assert postgres_warehouse.build.success, postgres_warehouse.build.failures


# -- engines agree -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mart", sorted(MARTS))
def test_mart_is_identical_on_duckdb_and_postgres(mart, duckdb_warehouse, postgres_warehouse):
    assert_same_rows(duckdb_warehouse.rows(mart), postgres_warehouse.rows(mart), mart)


def test_mart_column_types_agree_across_engines(duckdb_warehouse, postgres_warehouse):
    import duckdb
    import psycopg

    query = ("select table_name, column_name, data_type from information_schema.columns "
             "where table_schema = 'marts' order by table_name, ordinal_position")
    con = duckdb.connect(str(duckdb_warehouse.path), read_only=True)
    try:
        # DuckDB names a decimal with its precision (DECIMAL(18,2)); PostgreSQL's data_type is just numeric
        duck = [(t, c, "numeric" if d.startswith("DECIMAL(") else DUCKDB_TO_PG_TYPES.get(d, d))
                for t, c, d in con.execute(query).fetchall()]
    finally:
        con.close()
    with psycopg.connect(postgres_warehouse.url) as pg_con:
        pg = [tuple(r) for r in pg_con.execute(query).fetchall()]
    assert duck == pg


# -- incremental -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("table", sorted(MARTS) + sorted(INCREMENTAL))
def test_one_more_day_incremental_equals_full_refresh(table, duckdb_warehouse):
    schema, key = ("marts", MARTS[table]) if table in MARTS else INCREMENTAL[table]
    full = read_duckdb(duckdb_warehouse.path, schema, table, key)
    assert_same_rows(duckdb_warehouse.incremental[table], full, table)


def test_incremental_run_saw_the_extra_day(duckdb_warehouse):
    days = {r["observed_date"] for r in duckdb_warehouse.incremental["int_post_snapshots_enriched"]}
    assert date(2025, 3, 5) in days
    posts = by_key(duckdb_warehouse.incremental["fct_posts"], "channel_id", "message_id")
    assert posts[(101, 1)]["views_latest"] == 3150  # the extra day's reading
    assert (101, 7) in posts


# -- hand-computed values ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def posts(duckdb_warehouse):
    return by_key(duckdb_warehouse.rows("fct_posts"), "channel_id", "message_id")


@pytest.fixture(scope="module")
def daily(duckdb_warehouse):
    return by_key(duckdb_warehouse.rows("fct_channel_daily"), "channel_id", "date")


def test_views_at_age_are_interpolated_between_bracketing_snapshots(posts):
    m1 = posts[(101, 1)]
    # 1 h between 50 min (300) and 70 min (500); 24 h between 20 h (2000) and 26 h (2600); 48 h read exactly
    assert m1["views_1h"] == pytest.approx(400.0)
    assert m1["views_24h"] == pytest.approx(2000 + 600 * 4 / 6)
    assert m1["views_48h"] == pytest.approx(3000.0)
    assert (m1["views_1h_coverage"], m1["views_24h_coverage"], m1["views_48h_coverage"]) == (
        "interpolated", "interpolated", "measured")
    # 24 h between 21 h (1500) and 27 h (1800)
    assert posts[(102, 2)]["views_24h"] == pytest.approx(1650.0)
    # only read at 30 min, then deleted: nothing after 1 h
    assert posts[(101, 5)]["views_1h"] is None and posts[(101, 5)]["views_1h_coverage"] == "unavailable"
    assert posts[(101, 5)]["is_deleted"] is True


def test_album_is_collapsed_into_one_post(posts):
    album = posts[(101, 2)]
    assert (101, 3) not in posts and (101, 4) not in posts
    assert album["content_type"] == "album" and album["grouped_id"] == 9001
    assert album["views_latest"] == 1300  # max over the messages
    assert album["views_24h"] == pytest.approx(1100.0)
    assert album["forwards"] == max(3, 2, 1)  # one forward of an album bumps every message's counter
    assert album["reactions"] == 10 + 3 + 2  # reactions are per item: they add up
    assert album["text_length"] == 50
    assert album["snapshots"] == 9


def test_latest_revision_gives_content_fields(posts):
    assert posts[(101, 1)]["text_length"] == 150 and posts[(101, 1)]["is_edited"] is True
    assert posts[(101, 6)]["is_forward"] is True
    assert posts[(101, 8)]["snapshots"] == 0 and posts[(101, 8)]["views_latest"] is None


def test_export_channel_reach_is_null_not_zero(duckdb_warehouse, posts, daily):
    channels = by_key(duckdb_warehouse.rows("dim_channels"), "channel_id")
    assert channels[(103,)]["reach_available"] is False
    assert channels[(103,)]["time_zone"] == "UTC"
    e1 = posts[(103, 1)]
    assert e1["views_latest"] is None and e1["er"] is None and e1["reactions"] == 7
    assert e1["views_24h_coverage"] == "unavailable"
    export_days = [r for (cid, _), r in daily.items() if cid == 103]
    assert export_days and all(
        r[m] is None for r in export_days for m in ("daily_reach", "avg_post_reach", "err", "err24", "er"))
    assert all(r["posts"] == 1 for r in export_days)


def test_err_and_er_math(posts, daily):
    assert posts[(101, 1)]["er"] == pytest.approx((21 + 10 + 5) / 3150)
    day = daily[(101, date(2025, 3, 4))]
    # trailing 30 days, non-deleted: m1 (3150), the album (1300), m6 (400); m5 is deleted
    assert day["avg_post_reach"] == pytest.approx((3150 + 1300 + 400) / 3)
    assert day["subscribers"] == 1035  # last reading of the Tashkent day (18:00 UTC = 23:00 local)
    assert day["err"] == pytest.approx(day["avg_post_reach"] / 1035)
    assert day["err24"] == pytest.approx((2400 / 1000 + 1100 / 1010 + 400 / 1030) / 3)
    engagement = (21 + 10 + 5) + (15 + 3 + 1) + (4 + 1 + 1)  # the album: reactions summed, forwards max
    assert day["er"] == pytest.approx(engagement / (3150 + 1300 + 400))
    assert day["net_subscribers"] == 10 and day["joins"] == 12
    assert daily[(101, date(2025, 3, 2))]["joins"] is None  # unknown, not zero


def test_daily_reach_splits_intervals_at_local_midnight(daily):
    # New York: n1's 24h->48h segment puts 23.5 of 24 hours on March 2; n2 gains 100 + 300 on March 2, and its
    # 16:00 -> 12:00 UTC segment (1100 views) spends 13 of 20 hours before local midnight
    assert daily[(102, date(2025, 3, 2))]["daily_reach"] == pytest.approx(500 * 23.5 / 24 + 100 + 300 + 1100 * 13 / 20)
    assert daily[(102, date(2025, 2, 28))]["daily_reach"] == pytest.approx(250.0)


def test_time_zone_bucketing(duckdb_warehouse, posts, daily):
    n1 = posts[(102, 1)]
    assert n1["posted_at"] == datetime(2025, 3, 1, 4, 30)
    assert n1["posted_at_local"] == datetime(2025, 2, 28, 23, 30)  # New York, a Friday
    assert n1["subscribers_at_post"] == 5000  # no reading before: the first after
    assert daily[(102, date(2025, 2, 28))]["posts"] == 1
    heatmap = by_key(duckdb_warehouse.rows("fct_post_hourly_heatmap"), "channel_id", "weekday", "hour")
    assert len(heatmap) == 3 * 7 * 24
    assert heatmap[(102, 4, 23)]["posts"] == 1
    assert heatmap[(102, 4, 23)]["mean_views_24h_per_subscriber"] == pytest.approx(2000 / 5000)
    # Alpha's m1: 10:00 UTC Saturday = 15:00 in Tashkent
    assert heatmap[(101, 5, 15)]["posts"] == 1 and heatmap[(101, 5, 15)]["sample_size"] == 1
    assert posts[(101, 1)]["subscribers_at_post"] == 1000
