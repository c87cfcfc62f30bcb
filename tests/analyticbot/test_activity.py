"""Product-usage counters: the upsert the bot and Mini App call, and the copy into the warehouse."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from analyticbot.appstore import channels as store
from analyticbot.appstore.activity import RECOPY_DAYS, load_activity, record_activity
from analyticbot.appstore.db import session_scope
from analyticbot.warehouse import open_warehouse


@pytest.fixture
def settings(settings):
    """The migrated store (tests/analyticbot/conftest.py) with user 42."""
    store.upsert_user(settings, 42)
    return settings


def _copied(settings) -> list[tuple]:
    with open_warehouse(settings) as wh:
        return wh.query_pl("SELECT user_id, activity_date, bot_commands, miniapp_opens, reports_viewed "
                           "FROM raw.app_user_activity_daily ORDER BY activity_date").rows()


def test_counters_add_up_per_utc_day_and_the_copy_follows(settings):
    late = datetime(2026, 9, 1, 23, 30, tzinfo=timezone(-timedelta(hours=5)))  # 2 Sep UTC
    with session_scope(settings) as s:
        record_activity(s, 42, "bot_commands", at=datetime(2026, 9, 1, 8))
        record_activity(s, 42, "bot_commands", count=2, at=datetime(2026, 9, 1, 20))
        record_activity(s, 42, "miniapp_opens", at=late)
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        first = load_activity(settings, wh)
    assert first.since is None and first.rows == 2
    assert _copied(settings) == [(42, date(2026, 9, 1), 3, 0, 0), (42, date(2026, 9, 2), 0, 1, 0)]

    # today's counter keeps growing: the next copy re-reads the newest days and replaces them
    with session_scope(settings) as s:
        record_activity(s, 42, "reports_viewed", at=datetime(2026, 9, 2, 9))
    with open_warehouse(settings) as wh:
        again = load_activity(settings, wh)
    assert again.since == date(2026, 9, 2) - timedelta(days=RECOPY_DAYS)
    assert _copied(settings) == [(42, date(2026, 9, 1), 3, 0, 0), (42, date(2026, 9, 2), 0, 1, 1)]


@pytest.mark.parametrize(("kind", "count", "message"), [
    ("likes", 1, "unknown activity kind 'likes'"),
    ("bot_commands", -1, "must not be negative"),
])
def test_bad_counters_are_refused_and_nothing_is_written(settings, kind, count, message):
    with pytest.raises(ValueError, match=message):
        with session_scope(settings) as s:
            record_activity(s, 42, "bot_commands", at=datetime(2026, 9, 1))
            record_activity(s, 42, kind, count=count, at=datetime(2026, 9, 1))
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        load_activity(settings, wh)
    assert _copied(settings) == []  # the whole transaction rolled back
