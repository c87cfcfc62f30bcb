"""Operational store: migrations on SQLite and PostgreSQL, owners and channels, the warehouse mirror."""

from __future__ import annotations

import pytest

from analyticbot.appstore import channels as store


def test_register_and_list_channels(settings):
    store.upsert_user(settings, 42, language="ru", time_zone="Europe/Moscow")
    store.register_channel(settings, channel_id=1001, owner_user_id=42, title="News", source_kind="demo")
    store.register_channel(settings, channel_id=1002, owner_user_id=42, title="Export", source_kind="export")
    assert [c.channel_id for c in store.list_channels(settings)] == [1001, 1002]
    assert [c.channel_id for c in store.list_channels(settings, source_kind="export")] == [1002]
    mirror = store.mirror_tables(settings)
    assert mirror["app_users"].to_pylist()[0]["time_zone"] == "Europe/Moscow"
    assert mirror["app_channels"].num_rows == 2


def test_channel_needs_a_known_owner_and_a_known_source(settings):
    with pytest.raises(LookupError, match="owner 7"):
        store.register_channel(settings, channel_id=1, owner_user_id=7, title="x", source_kind="demo")
    store.upsert_user(settings, 7)
    with pytest.raises(ValueError, match="source_kind"):
        store.register_channel(settings, channel_id=1, owner_user_id=7, title="x", source_kind="rss")


def test_another_owner_cannot_take_a_channel(settings):
    store.upsert_user(settings, 1)
    store.upsert_user(settings, 2)
    store.register_channel(settings, channel_id=5, owner_user_id=1, title="x", source_kind="demo")
    with pytest.raises(PermissionError):
        store.register_channel(settings, channel_id=5, owner_user_id=2, title="x", source_kind="demo")


def test_unreachable_channel_is_marked_not_removed(settings):
    store.upsert_user(settings, 1)
    store.register_channel(settings, channel_id=5, owner_user_id=1, title="x", source_kind="telethon")
    store.mark_channel_status(settings, 5, "private", "ChannelPrivateError")
    [ch] = store.list_channels(settings)
    assert ch.status == "private"
