"""The dashboards on a PostgreSQL warehouse (production): every read behind the Revenue, Cohorts, Churn risk,
Channels and Pipeline health pages answers on PostgreSQL what it answers on the DuckDB snapshot, and each page
shows the same numbers on both.

The session's demo snapshot is copied once for the module into a fresh database, every `marts`/`ml` table as it is
(tests/pg_marts.py), so the same rows are on both sides and only the reads' SQL can make them differ.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import datetime, timedelta

import duckdb
import polars as pl
import psycopg
import pytest
from streamlit.testing.v1 import AppTest

from analyticbot import channel_reads
from analyticbot.appstore.db import AppStore, migrate
from analyticbot.settings import get_settings
from analyticbot.snapshot import ReadConnection, SnapshotReader
from dashboards import channels_reads, churn_reads, health_reads, session
from dashboards import revenue_reads as reads
from tests.dashboards.logins import logged_in, open_page
from tests.pg_marts import approx, copy_snapshot


@pytest.fixture(scope="module")
def engines(demo_warehouse, pg_url_module) -> dict[str, SnapshotReader]:
    """A reader of each engine, on the same snapshot version."""
    duck = demo_warehouse.settings
    version = copy_snapshot(duck, pg_url_module)
    readers = {"duckdb": SnapshotReader(duck),
               "postgres": SnapshotReader(dataclasses.replace(duck, warehouse_url=pg_url_module))}
    assert {r.current_version() for r in readers.values()} == {version}
    return readers


def both(engines, read) -> tuple:
    """`read(con)` on a connection of each engine: (DuckDB's answer, PostgreSQL's)."""
    answers = []
    for name in ("duckdb", "postgres"):
        with engines[name].connect() as con:
            answers.append(read(con))
    return tuple(answers)


def same(duck, pg, what: str = "") -> None:
    """The same answer: frames with the same columns and rows in the same order, floats to 9 digits."""
    if isinstance(duck, pl.DataFrame):
        assert pg.columns == duck.columns, what
        duck, pg = duck.to_dicts(), pg.to_dicts()
    assert approx(pg) == approx(duck), what


# -- revenue and cohorts ---------------------------------------------------------------------------------------
SEGMENTS = (reads.Segment(), reads.Segment(gateways=("payme",)), reads.Segment(gateways=("stripe", "click")),
            reads.Segment(plans=("pro_month",), currencies=("UZS",)))


def revenue(engines, read, *args) -> tuple:
    return tuple(read(r, r.current_version(), *args) for r in (engines["duckdb"], engines["postgres"]))


def test_revenue_reads_match_for_every_filter(engines):
    duck, pg = revenue(engines, reads.options)
    assert pg == duck and {"stripe", "payme", "click"} <= set(duck.gateways)
    first, last = duck.months[2], duck.months[-4]
    for args in ((), (first, last)):
        same(*revenue(engines, reads.kpis, *args), f"kpis {args}")
    for segment in SEGMENTS:
        for args in ((), (first, last)):
            duck_frame, pg_frame = revenue(engines, reads.movements, segment, *args)
            assert duck_frame.height > 0
            same(duck_frame, pg_frame, f"movements {segment} {args}")
            same(reads.waterfall(duck_frame), reads.waterfall(pg_frame), f"waterfall {segment} {args}")
            # what the page's CSV download holds: decimals as stored
            assert reads.csv_bytes(pg_frame) == reads.csv_bytes(duck_frame), f"csv {segment} {args}"
    payme = revenue(engines, reads.movements, SEGMENTS[1])[1]
    everyone = revenue(engines, reads.movements, SEGMENTS[0])[1]
    assert 0 < payme["customers"][-1] < everyone["customers"][-1]  # the filter filters on PostgreSQL too


def test_cohort_reads_match(engines):
    months = reads.options(engines["duckdb"], engines["duckdb"].current_version()).cohort_months
    for args in ((), (months[3], months[8])):
        duck, pg = revenue(engines, reads.cohorts, *args)
        assert duck.height > 0
        same(duck, pg, f"cohorts {args}")
        same(reads.cohort_sizes(duck), reads.cohort_sizes(pg))
        assert reads.csv_bytes(pg) == reads.csv_bytes(duck)


# -- churn risk ------------------------------------------------------------------------------------------------
def test_churn_reads_match(engines):
    assert both(engines, churn_reads.available) == (True, True)
    same(*both(engines, churn_reads.summary))
    for statuses in (("scored",), churn_reads.STATUSES):
        duck_n, pg_n = both(engines, lambda con: churn_reads.count(con, statuses))
        assert duck_n == pg_n > 50
        same(*both(engines, lambda con: churn_reads.ranked(con, statuses)), f"ranked {statuses}")
        same(*both(engines, lambda con: churn_reads.ranked(con, statuses, offset=25, limit=25)), "a page")
        duck, pg = (churn_reads.export_csv(r, r.current_version(), statuses) for r in engines.values())
        assert pg == duck


# -- channels --------------------------------------------------------------------------------------------------
def test_channel_search_matches(engines):
    every = both(engines, lambda con: channels_reads.search(con, ""))
    same(*every)
    channels = every[0]
    assert len(channels) >= 2
    other = channels[-1]
    for text in (other["username"][:-1].upper(), "@" + other["username"], str(other["channel_id"]), other["title"][:3],
                 "%", "_", "no channel is called this"):
        same(*both(engines, lambda con: channels_reads.search(con, text)), text)
    same(*both(engines, lambda con: channels_reads.channel(con, other["channel_id"])))


def test_a_channels_numbers_match(engines):
    with engines["duckdb"].connect() as con:
        channels = channels_reads.search(con, "")
    for ch in channels:
        for days in (7, 30, 90):
            same(*both(engines, lambda con: channel_reads.overview(con, ch, days)), f"{ch['channel_id']} {days} d")
        same(*both(engines, lambda con: channel_reads.best_times(con, ch)))
        same(*both(engines, lambda con: channel_reads.heatmap(con, ch)))
        same(*both(engines, lambda con: channel_reads.forecast(con, ch)))
    ch = channels[0]
    for sort in channel_reads.POST_SORTS:
        for order in ("desc", "asc"):
            duck, pg = both(engines, lambda con: channel_reads.posts_page(con, ch, sort=sort, order=order, limit=20,
                                                                          cursor=None))
            same(duck, pg, f"{sort} {order}")
            after = both(engines, lambda con: channel_reads.posts_page(con, ch, sort=sort, order=order, limit=20,
                                                                       cursor=duck["next_cursor"]))
            same(*after, f"{sort} {order}, page 2")
    top = both(engines, lambda con: channel_reads.posts_page(con, ch, sort="views_24h", order="desc", limit=5,
                                                             cursor=None))[0]["items"]
    for post in top:
        duck, pg = both(engines, lambda con: channel_reads.post_detail(con, ch, post["message_id"]))
        assert duck["decay"]
        same(duck, pg, f"post {post['message_id']}")
    # the bot's reads of many channels at once
    same(*both(engines, lambda con: channel_reads.overviews(con, channels, (7, 30))))
    newest = top[0]["posted_at_local"].date()
    same(*both(engines, lambda con: channel_reads.best_posts(con, [(c, newest - timedelta(days=30))
                                                                   for c in channels])))


# Channel titles are anybody's text: PostgreSQL would sort them by the database's locale (production's is usually
# en_US.UTF-8; the test server's is C.UTF-8, which sorts as DuckDB does, so the demo's titles cannot tell).
TITLES = ("Zeta", "zebra", "Éclair", "Eclair", "Food", "a b", "ab", "Бизнес", "10 tips", "9 tips")
LINGUISTIC = "en-US-x-icu"


def test_channels_are_listed_in_the_same_order_whatever_the_databases_locale(pg_url):
    columns = ("channel_id bigint, title {text}, username {text}, time_zone {text}, status {text}, "
               "reach_available boolean, owner_user_id bigint, last_post_at timestamp")
    daily = "channel_id bigint, date date, subscribers bigint, avg_post_reach double precision, err double precision"
    rows = [(1000 + i, title, f"user_{i}", "UTC", "active", True, 7, None) for i, title in enumerate(TITLES)]
    duck = duckdb.connect()
    duck.execute("CREATE SCHEMA marts")
    duck.execute(f"CREATE TABLE marts.dim_channels ({columns.format(text='varchar')})")
    duck.execute(f"CREATE TABLE marts.fct_channel_daily ({daily})")
    duck.executemany("INSERT INTO marts.dim_channels VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    with psycopg.connect(pg_url, autocommit=True) as pg:
        if not pg.execute("SELECT 1 FROM pg_collation WHERE collname = %s", [LINGUISTIC]).fetchone():
            why = f"this PostgreSQL has no {LINGUISTIC} collation (built without ICU)"
            if os.environ.get("ANALYTICBOT_REQUIRE_POSTGRES") == "1":  # CI's PostgreSQL (Debian's) has ICU
                pytest.fail(why)
            pytest.skip(why)
        pg.execute("CREATE SCHEMA marts")
        # a column takes the database's collation: this one, as a database created en_US.UTF-8 would give it
        pg_text = f'text COLLATE "{LINGUISTIC}"'
        pg.execute(f"CREATE TABLE marts.dim_channels ({columns.format(text=pg_text)})")
        pg.execute(f"CREATE TABLE marts.fct_channel_daily ({daily})")
        with pg.cursor() as cur:
            cur.executemany("INSERT INTO marts.dim_channels VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
        on = {"duckdb": ReadConnection("v", duck=duck), "postgres": ReadConnection("v", pg=pg)}
        plain = {k: [r["title"] for r in c.query("SELECT title FROM marts.dim_channels ORDER BY lower(title)")
                     .to_dicts()] for k, c in on.items()}
        assert plain["postgres"] != plain["duckdb"]  # the locale does change the order here
        for read in (lambda con: channels_reads.search(con, ""), lambda con: channels_reads.search(con, "e"),
                     lambda con: channels_reads.search(con, "", limit=4),
                     lambda con: channel_reads.my_channels(con, 7)):
            duck_rows, pg_rows = read(on["duckdb"]), read(on["postgres"])
            assert len(duck_rows) >= 3 and pg_rows == duck_rows
        # and DuckDB's order is what it was: by code point
        assert [c["title"] for c in channels_reads.search(on["duckdb"], "")] == sorted(
            TITLES, key=lambda t: (t.lower(), TITLES.index(t)))


# -- pipeline health -------------------------------------------------------------------------------------------
def test_health_reads_match(engines):
    duck, pg = both(engines, health_reads.snapshot_meta)
    same(duck, pg)
    assert len(duck["tables"]) > 10
    same(*both(engines, health_reads.time_columns))
    now = datetime(2030, 1, 1)
    duck, pg = both(engines, lambda con: health_reads.freshness(con, now))
    assert all(r["newest"] is not None for r in duck if r["table"] in health_reads.CLOCKS)
    same(duck, pg)


# -- the pages -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def analyst(demo_warehouse, tmp_path_factory):
    """An operational store of the module's own (the demo's is shared by the session) and the session token of
    an analyst, who may open every page but the admin panel's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANALYTICBOT_APP_DB_URL", f"sqlite:///{tmp_path_factory.mktemp('pg_pages') / 'accounts.sqlite'}")
        migrate(get_settings())
        store = AppStore(get_settings())
        try:
            yield get_settings().app_db_url, logged_in(store, "ann", "analyst")
        finally:
            store.dispose()


@pytest.fixture
def render(engines, analyst, demo_warehouse, monkeypatch):
    """`render(engine, url)`: the page at `url` run as the analyst, on that engine's warehouse (the pages read their
    settings from the environment)."""
    app_db_url, token = analyst
    monkeypatch.setenv("ANALYTICBOT_DATA_DIR", str(demo_warehouse.settings.data_dir))
    monkeypatch.setenv("ANALYTICBOT_APP_DB_URL", app_db_url)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setattr(session, "client_address", lambda: "127.0.0.1")  # AppTest has no peer

    def run(engine: str, url: str, then=None) -> AppTest:
        if engine == "postgres":
            monkeypatch.setenv("ANALYTICBOT_WAREHOUSE_URL", engines["postgres"].settings.warehouse_url)
        else:
            monkeypatch.delenv("ANALYTICBOT_WAREHOUSE_URL", raising=False)
        assert session.settings().warehouse_kind == engine
        at = open_page(url, token)
        if then is not None:
            then(at)
            at.run()
            assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        return at

    return run


def shown(at: AppTest, tables: bool = True) -> dict:
    """What the page says: title, headline numbers, subheaders and captions, and its tables' rows."""
    out = {"title": [t.value for t in at.title], "metrics": {m.label: m.value for m in at.metric},
           "subheaders": [s.value for s in at.subheader], "captions": [c.value for c in at.caption],
           "info": [i.value for i in at.info]}
    if tables:
        out["tables"] = [records(d.value) for d in at.dataframe]
    return out


def records(table) -> list[dict]:
    """A shown table's rows, a missing value as None (pandas shows one as NaN, which equals nothing)."""
    return approx(table.astype(object).where(table.notna(), None).to_dict("records"))


def pick_gateway(at: AppTest) -> None:
    at.multiselect(key="revenue.gateway").select("payme")


def first_month_only(at: AppTest) -> None:
    # the ratios of the first month are all null: on PostgreSQL such a column comes back untyped
    first = at.select_slider(key="revenue.period").value[0]
    at.select_slider(key="revenue.period").set_range(first, first)


def search_last_channel(at: AppTest) -> None:
    with SnapshotReader(get_settings()).connect() as con:
        at.text_input(key="channels.search").input(channels_reads.search(con, "")[-1]["username"])


@pytest.mark.parametrize("url, title, then", [
    ("revenue", "Revenue", None), ("revenue", "Revenue", pick_gateway), ("revenue", "Revenue", first_month_only),
    ("cohorts", "Cohorts", None),
    ("churn-risk", "Churn risk", None), ("channels", "Channels", None), ("channels", "Channels", search_last_channel)])
def test_each_page_shows_the_same_on_postgres(render, url, title, then):
    duck = shown(render("duckdb", url, then))
    pg = shown(render("postgres", url, then))
    assert duck["title"] == [title] and duck["metrics"]
    assert pg == duck


def test_the_health_page_dates_the_same_data_on_postgres(render):
    duck, pg = render("duckdb", "pipeline-health"), render("postgres", "pipeline-health")
    assert shown(pg, tables=False) == shown(duck, tables=False)
    # the freshness table, but its ages: "now" moved between the two runs
    duck_rows, pg_rows = (records(at.dataframe[0].value.drop(columns="age_days")) for at in (duck, pg))
    assert len(duck_rows) > 10 and pg_rows == duck_rows
