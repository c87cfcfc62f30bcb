"""A live channel end to end up to the raw tables: poll through the fake telethon client, ingest, poll again.

The second poll must start from the newest stored message id and re-read only the counters that are due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from telethon import functions

from analyticbot.appstore import channels as store
from analyticbot.appstore.db import migrate
from analyticbot.settings import ConfigError, get_settings
from analyticbot.telegram import collect, live
from analyticbot.warehouse import open_warehouse
from tests.analyticbot.fake_telegram import CID, NOW, FakeChannel, FakeClient, msg


@pytest.fixture
def live_channel(data_dir, monkeypatch):
    settings = get_settings()
    migrate(settings)
    store.upsert_user(settings, 77, time_zone="Asia/Tashkent")
    store.register_channel(settings, channel_id=CID, owner_user_id=77, title="Daily", username="daily",
                           source_kind="telethon")
    channel = FakeChannel(CID, title="Daily", username="daily", participants=500,
                          messages=[msg(1, 50, views=10), msg(2, 40, views=20), msg(3, 5, views=3)])
    client = FakeClient(channel)
    monkeypatch.setattr(live, "make_client", lambda settings: client)
    return settings, channel, client


def test_second_poll_is_incremental_and_rereads_due_counters(live_channel):
    settings, channel, client = live_channel
    channels = store.list_channels(settings)
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        first = wh.ingest(collect.collect_live(settings, wh, channels, NOW), source="telegram", now=NOW)
        assert first.inserted["telegram_posts"] == 3
        assert first.inserted["telegram_post_snapshots"] == 3

        channel.messages.append(msg(4, -10, views=1))  # posted after the first poll
        channel.views.update({1: (15, 0, 0), 2: (25, 1, 0), 3: (9, 0, 0)})
        later = NOW + timedelta(minutes=15)
        second = wh.ingest(collect.collect_live(settings, wh, channels, later), source="telegram", now=later)
        snaps = wh.query_pl("SELECT message_id, views FROM raw.telegram_post_snapshots "
                            "ORDER BY message_id, observed_at")

    assert client.iter_calls[-1] == (CID, 3, True)  # min_id = newest stored message
    views_requests = [c for c in client.calls if isinstance(c, functions.messages.GetMessagesViewsRequest)]
    assert len(views_requests) == 1 and views_requests[0].increment is False
    assert sorted(views_requests[0].id) == [1, 2, 3]
    assert second.inserted["telegram_posts"] == 1
    assert snaps.filter(snaps["message_id"] == 1)["views"].to_list() == [10, 15]


def test_counter_that_went_backwards_on_a_live_channel_is_kept_as_rejected(live_channel):
    settings, channel, _ = live_channel
    channels = store.list_channels(settings)
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        wh.ingest(collect.collect_live(settings, wh, channels, NOW), source="telegram", now=NOW)
        channel.views.update({1: (4, 0, 0), 2: (25, 0, 0), 3: (9, 0, 0)})  # post 1: 10 -> 4
        later = NOW + timedelta(minutes=15)
        report = wh.ingest(collect.collect_live(settings, wh, channels, later), source="telegram", now=later)
        rej = wh.query_pl("SELECT channel_ref, record_key, reason FROM raw.rejected_records")
    assert report.inserted["telegram_post_snapshots"] == 2
    assert rej.row(0) == (str(CID), f"1@{later.isoformat()}", "views went backwards")


def test_missing_credentials_name_the_variable(data_dir, monkeypatch):
    for var in ("TELEGRAM_API_ID", "TELEGRAM_API_HASH", "TELEGRAM_SESSION"):
        monkeypatch.delenv(var, raising=False)
    settings = get_settings()
    migrate(settings)
    store.upsert_user(settings, 1)
    store.register_channel(settings, channel_id=5, owner_user_id=1, title="x", source_kind="telethon")
    with open_warehouse(settings) as wh, pytest.raises(ConfigError, match="TELEGRAM_API_ID"):
        wh.ensure_schemas()
        collect.collect_live(settings, wh, store.list_channels(settings), NOW)
