"""The whole pipeline materialised into a temporary data dir: demo + export channels, dbt, checks, publish.

One pipeline run is shared by the module (a run costs ~30 s on 2 cores); a second run proves idempotency.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from analyticbot.settings import REPO_ROOT

EXPORTS = REPO_ROOT / "tests" / "analyticbot" / "fixtures" / "exports"
SCHEMAS = ("raw", "staging", "intermediate", "marts")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    data = tmp_path_factory.mktemp("pipeline") / "data"
    mp.setenv("ANALYTICBOT_DATA_DIR", str(data))
    mp.delenv("ANALYTICBOT_APP_DB_URL", raising=False)
    mp.delenv("ANALYTICBOT_WAREHOUSE_URL", raising=False)
    mp.delenv("DAGSTER_HOME", raising=False)
    mp.setenv("ANALYTICBOT_DEMO_SCALE", "tiny")
    from analyticbot import cli
    from analyticbot.settings import get_settings

    settings = get_settings()
    cli.cmd_migrate(settings)
    cli.register_demo_accounts(settings)
    cli.seed_demo_payments(settings)
    assert cli.cmd_import_export(settings, EXPORTS / "channel" / "result.json", owner=555,
                                 time_zone="Asia/Tashkent", run=False) == 0
    shutil.copyfile(EXPORTS / "truncated" / "result.json", settings.export_landing_dir / "truncated.json")
    ok = cli.run_pipeline(settings)
    yield settings, ok
    mp.undo()


def _tables(settings) -> dict[str, pl.DataFrame]:
    from analyticbot.warehouse import open_warehouse

    out = {}
    with open_warehouse(settings) as wh:
        names = wh.query_pl(
            "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables "
            "WHERE table_schema IN ('raw', 'staging', 'intermediate', 'marts') ORDER BY 1")["t"].to_list()
        for t in names:
            out[t] = wh.query_pl(f"SELECT * FROM {t} ORDER BY ALL")
    return out


def test_pipeline_builds_every_mart_and_publishes(pipeline):
    from analyticbot.snapshot import SnapshotReader

    settings, ok = pipeline
    assert ok
    reader = SnapshotReader(settings)
    assert reader.current_version() is not None
    channels = reader.query("SELECT channel_id, source_kind, reach_available FROM marts.dim_channels ORDER BY 1")
    assert channels.height == 4  # 3 tiny demo channels + the export
    export = channels.filter(pl.col("source_kind") == "export").row(0, named=True)
    assert export["channel_id"] == 1987654321 and export["reach_available"] is False
    posts = reader.query("SELECT count(*) AS n, count(views_24h) AS with_24h FROM marts.fct_posts").row(0, named=True)
    assert posts["n"] > 100 and posts["with_24h"] > 0
    # reach of the export channel is unavailable, not zero
    reach = reader.query("SELECT views_24h, views_latest FROM marts.fct_posts WHERE channel_id = 1987654321")
    assert reach.height > 0 and reach["views_24h"].null_count() == reach.height
    heat = reader.query("SELECT count(*) AS n FROM marts.fct_post_hourly_heatmap")["n"][0]
    assert heat > 0
    # the demo payment history, from the ledger through the revenue marts
    kpis = reader.query("SELECT count(*) AS months, max(customers) AS customers FROM marts.fct_saas_kpis_monthly")
    assert kpis["months"][0] >= 12 and kpis["customers"][0] > 0
    gateways = reader.query("SELECT DISTINCT gateway FROM marts.fct_payments ORDER BY 1")["gateway"].to_list()
    assert gateways == ["click", "payme", "stripe"]


def test_summary_shows_revenue(pipeline, capsys):
    from analyticbot import cli

    settings, _ = pipeline
    cli.print_summary(settings)
    out = capsys.readouterr().out
    assert "Revenue (USD) for the last months:" in out
    assert "MRR" in out and "customers" in out and "NRR" in out


def test_broken_export_is_rejected_whole_and_good_one_processed(pipeline):
    from analyticbot.warehouse import open_warehouse

    settings, _ = pipeline
    landing = settings.export_landing_dir
    assert [p.name for p in (landing / "failed").iterdir()] == ["truncated.json"]
    assert len(list((landing / "processed").iterdir())) == 1
    with open_warehouse(settings) as wh:
        rej = wh.query_pl("SELECT channel_ref, reason FROM raw.rejected_records WHERE source = 'export' "
                          "AND record_key = 'file'")
    assert rej["channel_ref"].to_list() == ["truncated.json"]
    assert "truncated" in rej["reason"][0]


def test_rerunning_the_pipeline_leaves_every_table_unchanged(pipeline):
    from analyticbot import cli

    settings, _ = pipeline
    before = _tables(settings)
    assert cli.run_pipeline(settings)
    after = _tables(settings)
    assert before.keys() == after.keys()
    assert any(k.startswith("marts.") for k in before)
    for name in before:
        assert before[name].equals(after[name]), f"{name} changed on re-run"


def test_definitions_validate_with_the_dagster_cli(pipeline):
    settings, _ = pipeline
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_one_more_demo_day_adds_exactly_that_day(pipeline, monkeypatch):
    from analyticbot import cli
    from analyticbot.telegram.demo import generate_demo
    from analyticbot.warehouse import open_warehouse

    settings, _ = pipeline
    monkeypatch.setenv("ANALYTICBOT_DEMO_DAYS", "22")  # tiny is 21 days
    from analyticbot.settings import get_settings

    settings = get_settings()
    assert cli.run_pipeline(settings)
    expected = generate_demo(seed=settings.demo_seed, scale="tiny", days=22).batch
    with open_warehouse(settings) as wh:
        for name in ("telegram_posts", "telegram_post_snapshots", "telegram_channel_snapshots",
                     "telegram_channel_daily_stats"):
            stored = wh.query_pl(f"SELECT count(*) AS n FROM raw.{name} WHERE channel_id < 1900000000")["n"][0]
            assert stored == expected.table(name).num_rows, name
        last = wh.query_pl("SELECT max(date) AS d FROM marts.fct_channel_daily")["d"][0]
    assert str(last) == "2026-06-22"


# Tables that hold a channel's rows, by layer; the incremental ones (*) keep old days unless purged.
CHANNEL_TABLES = ["raw.telegram_channels", "raw.telegram_posts", "raw.telegram_post_snapshots",
                  "raw.telegram_channel_snapshots", "raw.telegram_channel_daily_stats", "raw.app_channels",
                  "intermediate.int_post_snapshots_enriched", "intermediate.int_post_reach_interpolated",  # *
                  "intermediate.int_daily_reach_allocated", "marts.fct_post_decay",  # *
                  "marts.dim_channels", "marts.fct_posts", "marts.fct_channel_daily", "marts.fct_post_hourly_heatmap"]
USER_TABLES = {"raw.app_users": "user_id", "raw.app_user_activity_daily": "user_id",
               "marts.fct_user_activity_daily": "user_id", "marts.dim_channels": "owner_user_id"}
PUBLISHED = ["marts.dim_channels", "marts.fct_posts", "marts.fct_channel_daily", "marts.fct_post_decay",
             "marts.fct_post_hourly_heatmap", "ml.best_time_slots", "ml.channel_forecasts", "ml.channel_model_status"]


def _rows_of(query, channels: list[int], user: int) -> dict[str, int]:
    ids = ", ".join(str(c) for c in channels)
    found = {t: query(f"SELECT count(*) AS n FROM {t} WHERE channel_id IN ({ids})")["n"][0] for t in CHANNEL_TABLES}
    found |= {f"{t}.{c}": query(f"SELECT count(*) AS n FROM {t} WHERE {c} = {user}")["n"][0]
              for t, c in USER_TABLES.items()}
    found["raw.rejected_records"] = query(
        f"SELECT count(*) AS n FROM raw.rejected_records WHERE channel_ref IN ({', '.join(repr(str(c)) for c in channels)})"
    )["n"][0]
    return found


def test_an_owner_erased_through_the_bot_leaves_the_warehouse_and_the_snapshot_at_the_next_run(pipeline,
                                                                                                  monkeypatch):
    """Runs last in this module: it erases a demo owner for good."""
    import asyncio
    import json
    from datetime import datetime

    from sqlalchemy import select

    from analyticbot import cli
    from analyticbot.appstore.db import AppStore
    from analyticbot.appstore.models import Channel, ErasureRequest, User
    from analyticbot.settings import get_settings
    from analyticbot.snapshot import SnapshotReader
    from analyticbot.warehouse import open_warehouse
    from bot.app import create_dispatcher
    from tests.bot.fake_telegram import FakeTelegramSession, make_bot, private_message
    from tests.bot.test_onboarding import callback

    monkeypatch.setenv("ANALYTICBOT_DEMO_DAYS", "22")  # as the run before left it: nothing new to ingest
    settings = get_settings()
    store = AppStore(settings)
    with store.transaction() as s:
        owners = {}
        for ch in s.scalars(select(Channel).where(Channel.source_kind == "demo")):
            owners.setdefault(ch.owner_user_id, []).append(ch.channel_id)
        victim = max(owners, key=lambda o: (len(owners[o]), o))
        gone = sorted(owners[victim])
        kept = sorted(c for o, cs in owners.items() if o != victim for c in cs) + [1987654321]  # + the export
    with open_warehouse(settings) as wh:
        # a refused record of the victim's channel, as ingestion files them (channel_ref = the id as text)
        wh.execute("INSERT INTO raw.rejected_records VALUES ('telegram', ?, 'x@1', 'views went backwards', '{}', ?)",
                   [str(gone[0]), datetime(2026, 6, 1)])
        before = _rows_of(wh.query_pl, gone, victim)
        kept_before = {t: wh.query_pl(f"SELECT * FROM {t} WHERE channel_id IN ({', '.join(map(str, kept))}) "
                                      "ORDER BY ALL") for t in CHANNEL_TABLES if not t.startswith("raw.app")}
    assert all(n > 0 for n in before.values()), before  # every table held something of theirs

    session, dp = FakeTelegramSession(), create_dispatcher(store, settings=settings)
    bot = make_bot(session)
    for update in (private_message("/deleteme", user_id=victim), callback(f"erase:yes:{victim}", user_id=victim)):
        asyncio.run(dp.feed_update(bot, update))
    with store.transaction() as s:
        assert s.get(User, victim) is None
        [request] = s.scalars(select(ErasureRequest)).all()
        assert json.loads(request.channel_ids) == gone and request.purged_at is None

    assert cli.run_pipeline(settings)
    with open_warehouse(settings) as wh:
        after = _rows_of(wh.query_pl, gone, victim)
        for t, frame in kept_before.items():
            again = wh.query_pl(f"SELECT * FROM {t} WHERE channel_id IN ({', '.join(map(str, kept))}) ORDER BY ALL")
            assert again.equals(frame), f"{t}: other owners' rows changed"
    assert after == {t: 0 for t in before}
    reader = SnapshotReader(settings)
    ids = ", ".join(map(str, gone))
    for t in PUBLISHED:
        assert reader.query(f"SELECT count(*) AS n FROM {t} WHERE channel_id IN ({ids})")["n"][0] == 0, t
    assert reader.query(f"SELECT count(*) AS n FROM marts.fct_user_activity_daily WHERE user_id = {victim}")["n"][0] == 0
    published = set(reader.query("SELECT channel_id FROM marts.dim_channels")["channel_id"].to_list())
    assert published == set(kept)
    with store.transaction() as s:
        assert s.scalars(select(ErasureRequest.purged_at)).one() is not None

    # `make demo` again does not bring the erased owner back, and the next run finds nothing to purge
    cli.register_demo_accounts(settings)
    with store.transaction() as s:
        assert s.get(User, victim) is None
        assert not s.scalars(select(Channel).where(Channel.channel_id.in_(gone))).all()
    store.dispose()
