"""A small raw dataset whose mart values can be worked out by hand (see the expectations in test_marts.py).

Three channels, two display time zones (Tashkent UTC+5 without DST, New York UTC-5 in early March 2025) and UTC:

- 101 "Alpha", telethon, owner in Asia/Tashkent (the channel's own Europe/Berlin is overridden by the owner's).
  m1: text, edited, snapshots bracketing 1 h (50 min / 70 min), 24 h (20 h / 26 h) and exactly 48 h.
  m2-m4: an album (grouped_id 9001) of three messages; m5: deleted; m6: a forward measured 2 min after 1 h;
  m7: posted on the last day; m8: never observed.
- 102 "Beta", demo, owner without a zone, channel in America/New_York: n1 is posted at 23:30 local on a
  Friday (04:30 UTC Saturday), n2 has a snapshot interval that spans local midnight.
- 103 "Gamma", a Desktop export (UTC): no views at all, reactions only.

Everything observed before `SPLIT_AT` is "the first N days"; the rest is the one extra day the incremental test
appends.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from analyticbot.telegram.contract import RAW_TABLES
from analyticbot.warehouse import APP_MIRROR

import pyarrow as pa

SPLIT_AT = datetime(2025, 3, 5)

T0 = datetime(2025, 3, 1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """2025-03-<day> hour:minute UTC (naive, the warehouse convention)."""
    return datetime(2025, 3, day, hour, minute)


def _post(channel_id, message_id, posted_at, content_type="text", text_length=100, grouped_id=None,
          revision_at=None, edited_at=None, deleted=False, is_forward=False, source_kind="telethon"):
    return {
        "channel_id": channel_id, "message_id": message_id, "revision_at": revision_at or posted_at,
        "grouped_id": grouped_id, "posted_at": posted_at, "edited_at": edited_at, "deleted": deleted,
        "content_type": content_type, "text_length": text_length,
        "has_media": content_type not in ("text", "poll"), "is_forward": is_forward, "source_kind": source_kind,
    }


def _snap(channel_id, message_id, observed_at, views, forwards=0, replies=0, reactions=0):
    return {
        "channel_id": channel_id, "message_id": message_id, "observed_at": observed_at, "views": views,
        "forwards": forwards, "replies": replies, "reactions": reactions,
        "reactions_by_emoji": None if reactions is None else f'{{"👍": {reactions}}}',
    }


def rows() -> dict[str, list[dict]]:
    """All raw rows, by table (the contract's tables plus the app mirror)."""
    posts = [
        # -- 101 Alpha (telethon, Asia/Tashkent) --
        _post(101, 1, at(1, 10), text_length=120),
        _post(101, 1, at(1, 10), text_length=150, revision_at=at(1, 12), edited_at=at(1, 12)),
        _post(101, 2, at(2, 8), "photo", 50, grouped_id=9001),
        _post(101, 3, at(2, 8), "photo", 0, grouped_id=9001),
        _post(101, 4, at(2, 8), "video", 0, grouped_id=9001),
        _post(101, 5, at(3, 20), text_length=40),
        _post(101, 5, at(3, 20), text_length=None, content_type=None, revision_at=at(4, 0), deleted=True),
        _post(101, 6, at(4, 9), text_length=10, is_forward=True),
        _post(101, 7, at(5, 7), text_length=70),
        _post(101, 8, at(4, 23), text_length=30),
        # -- 102 Beta (demo, America/New_York) --
        _post(102, 1, at(1, 4, 30), "photo", 80, source_kind="demo"),
        _post(102, 2, at(2, 15), text_length=200, source_kind="demo"),
        # -- 103 Gamma (Desktop export, UTC) --
        _post(103, 1, at(1, 12), text_length=300, source_kind="export"),
        _post(103, 2, at(2, 12), "photo", 20, source_kind="export"),
    ]
    snapshots = [
        # m1: 1 h between 50 min (300) and 70 min (500) -> 400; 24 h between 20 h (2000) and 26 h (2600) -> 2400;
        # 48 h measured exactly (3000); latest 3100 within the first N days, 3150 after the extra day.
        _snap(101, 1, at(1, 10, 10), 100, 0, 0, 2),
        _snap(101, 1, at(1, 10, 50), 300, 1, 0, 5),
        _snap(101, 1, at(1, 11, 10), 500, 2, 1, 8),
        _snap(101, 1, at(2, 6), 2000, 6, 3, 15),
        _snap(101, 1, at(2, 12), 2600, 8, 4, 18),
        _snap(101, 1, at(3, 10), 3000, 9, 5, 19),
        _snap(101, 1, at(4, 10), 3100, 10, 5, 20),
        _snap(101, 1, at(5, 10), 3150, 10, 5, 21),
        # album 9001: views at 1 h 200/210/190, at 24 h 1000/1100/900, latest 1200/1300/1250
        _snap(101, 2, at(2, 9), 200, 1, 0, 5), _snap(101, 3, at(2, 9), 210, 0, 0, 1),
        _snap(101, 4, at(2, 9), 190, 0, 0, 0),
        _snap(101, 2, at(3, 8), 1000, 2, 1, 9), _snap(101, 3, at(3, 8), 1100, 1, 0, 2),
        _snap(101, 4, at(3, 8), 900, 0, 0, 1),
        _snap(101, 2, at(4, 8), 1200, 3, 1, 10), _snap(101, 3, at(4, 8), 1300, 2, 0, 3),
        _snap(101, 4, at(4, 8), 1250, 1, 0, 2),
        # m5 (deleted later): one reading at 30 min, so views_1h is unavailable
        _snap(101, 5, at(3, 20, 30), 50, 0, 0, 1),
        # m6: 1 h 2 min after posting (measured), then exactly 24 h on the extra day
        _snap(101, 6, at(4, 10, 2), 80, 0, 0, 0),
        _snap(101, 6, at(5, 9), 400, 1, 1, 4),
        # m7: posted and observed on the extra day
        _snap(101, 7, at(5, 8), 60, 0, 0, 1),
        # n1: 1 h, 24 h, 48 h measured exactly
        _snap(102, 1, at(1, 5, 30), 500, 5, 2, 10),
        _snap(102, 1, at(2, 4, 30), 2000, 10, 4, 30),
        _snap(102, 1, at(3, 4, 30), 2500, 12, 5, 40),
        # n2: 1 h measured; 24 h between 21 h (1500) and 27 h (1800) -> 1650; 16:00 -> 12:00 UTC next day spans
        # local midnight (05:00 UTC): 13 of the 20 hours fall on March 2 local
        _snap(102, 2, at(2, 15, 10), 100, 0, 0, 1),
        _snap(102, 2, at(2, 16), 400, 1, 0, 3),
        _snap(102, 2, at(3, 12), 1500, 4, 2, 12),
        _snap(102, 2, at(3, 18), 1800, 5, 2, 15),
        _snap(102, 2, at(5, 15), 1900, 6, 3, 16),
        # export: reactions only
        _snap(103, 1, at(4, 0), None, None, None, 7),
        _snap(103, 2, at(4, 0), None, None, None, 3),
    ]
    channel_snapshots = []
    for day in range(1, 6):
        for hour, bump in ((6, 0), (18, 5)):
            channel_snapshots.append({"channel_id": 101, "observed_at": at(day, hour),
                                      "subscribers": 1000 + 10 * (day - 1) + bump})
        channel_snapshots.append({"channel_id": 102, "observed_at": at(day, 5),
                                  "subscribers": 5000 + 50 * (day - 1)})
    daily_stats = [
        {"channel_id": 101, "day": date(2025, 3, d), "joins": 12, "leaves": 2, "observed_at": at(d + 1, 1)}
        for d in (1, 3, 4)
    ]
    channels = [
        {"channel_id": 101, "observed_at": at(1, 0), "source_kind": "telethon", "title": "Alpha old",
         "username": "alpha", "status": "active", "status_reason": None},
        {"channel_id": 101, "observed_at": at(4, 0), "source_kind": "telethon", "title": "Alpha",
         "username": "alpha", "status": "active", "status_reason": None},
        {"channel_id": 102, "observed_at": at(1, 0), "source_kind": "demo", "title": "Beta",
         "username": "beta", "status": "active", "status_reason": None},
        {"channel_id": 103, "observed_at": at(1, 0), "source_kind": "export", "title": "Gamma",
         "username": None, "status": "private", "status_reason": "export only"},
    ]
    rejected = [
        {"source": "telethon", "channel_ref": "101", "record_key": "1@x", "reason": "views went backwards",
         "payload": "{}", "rejected_at": at(2, 0)},
    ]
    users = [
        {"user_id": 1, "language": "uz", "time_zone": "Asia/Tashkent", "created_at": T0},
        {"user_id": 2, "language": "en", "time_zone": None, "created_at": T0},
        {"user_id": 3, "language": "ru", "time_zone": "", "created_at": T0},
    ]
    app_channels = [
        {"channel_id": 101, "owner_user_id": 1, "title": "Alpha", "username": "alpha", "source_kind": "telethon",
         "time_zone": "Europe/Berlin", "active": True, "registered_at": T0},
        {"channel_id": 102, "owner_user_id": 2, "title": "Beta", "username": "beta", "source_kind": "demo",
         "time_zone": "America/New_York", "active": True, "registered_at": T0},
        {"channel_id": 103, "owner_user_id": 3, "title": "Gamma", "username": None, "source_kind": "export",
         "time_zone": None, "active": True, "registered_at": T0},
    ]
    return {
        "telegram_channels": channels,
        "telegram_posts": posts,
        "telegram_post_snapshots": snapshots,
        "telegram_channel_snapshots": channel_snapshots,
        "telegram_channel_daily_stats": daily_stats,
        "rejected_records": rejected,
        "app_users": users,
        "app_channels": app_channels,
    }


def _moment(table: str, row: dict) -> datetime | None:
    """When a row became known: what splits the first N days from the extra day."""
    if table == "telegram_posts":
        return row["revision_at"]
    if table in ("telegram_post_snapshots", "telegram_channel_snapshots", "telegram_channel_daily_stats",
                 "telegram_channels"):
        return row["observed_at"]
    return None


def arrow_tables(part: str = "all") -> dict[str, pa.Table]:
    """Arrow tables in the contract's schemas. part: "all", "first" (before SPLIT_AT) or "rest" (the extra day)."""
    out = {}
    for name, table_rows in rows().items():
        if part != "all":
            def keep(r, name=name):
                moment = _moment(name, r)
                before = moment is None or moment < SPLIT_AT
                return before if part == "first" else not before
            table_rows = [r for r in table_rows if keep(r)]
        schema = RAW_TABLES[name].schema if name in RAW_TABLES else APP_MIRROR[name]
        out[name] = pa.Table.from_pylist(table_rows, schema=schema)
    return out
