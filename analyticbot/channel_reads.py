"""What a channel owner reads about their channels, from the published snapshot: the queries the Mini App API
(and next the bot) share, so that the same number is computed one way.

Every function takes a `ReadConnection` (a DuckDB snapshot file or the PostgreSQL marts; `?` placeholders, SQL
that both engines run) and returns plain dicts shaped like `serving.api.schemas`. Ownership is checked by the
caller with `owned_channels` before any channel's data is read.

Model outputs (`ml.*`) may be missing from a snapshot (no model has run yet, or it failed): those reads answer
`not_available_yet` instead of failing.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime, timedelta
from typing import Any

from analyticbot.snapshot import TEXT_ORDER, ReadConnection

MAX_DAYS = 366
MAX_LIMIT = 100
# Sortable post columns (the API accepts these names and nothing else: they are never interpolated from input).
POST_SORTS = ("views_24h", "views_1h", "views_48h", "views_latest", "posted_at", "er", "forwards", "reactions",
              "replies")
POST_COLUMNS = ("message_id", "posted_at", "posted_at_local", "content_type", "text_length", "views_1h",
                "views_24h", "views_48h", "views_latest", "forwards", "replies", "reactions", "er", "is_forward",
                "is_edited")
FORECAST_METRICS = ("subscribers", "daily_reach")
_STATE = {"ok": "available", "baseline": "available", "not_enough_data": "not_enough_data"}


class BadCursor(ValueError):
    """A posts cursor that this API did not issue for this sort (tampered, truncated or from another sort)."""


def _rows(con: ReadConnection, sql: str, params: list[Any]) -> list[dict]:
    return con.query(sql, params).to_dicts()


def has_table(con: ReadConnection, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return bool(_rows(con, "SELECT 1 AS x FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                      [schema, table]))


# -- channels ----------------------------------------------------------------------------------------------------
def owned_channels(con: ReadConnection, user_id: int) -> dict[int, dict]:
    """The user's channels by id (what the ownership check and every channel read need of each)."""
    rows = _rows(con, "SELECT channel_id, title, username, time_zone, status, reach_available, owner_user_id "
                      "FROM marts.dim_channels WHERE owner_user_id = ?", [user_id])
    return {r["channel_id"]: r for r in rows}


def owned_channels_many(con: ReadConnection, user_ids: list[int]) -> dict[int, dict[int, dict]]:
    """`owned_channels` of many users in one read (the digest run): {user_id: {channel_id: channel}}, every user
    asked for present, with {} when they own none."""
    out: dict[int, dict[int, dict]] = {uid: {} for uid in user_ids}
    if not user_ids:
        return out
    rows = _rows(con, "SELECT channel_id, title, username, time_zone, status, reach_available, owner_user_id "
                      f"FROM marts.dim_channels WHERE owner_user_id IN ({', '.join('?' for _ in user_ids)})",
                 list(user_ids))
    for r in rows:
        out[r["owner_user_id"]][r["channel_id"]] = r
    return out


def my_channels(con: ReadConnection, user_id: int) -> list[dict]:
    """The caller's channels, with headline numbers from each channel's newest day."""
    return _rows(con, f"""
        WITH mine AS (
            SELECT channel_id, title, username, time_zone, status, reach_available, last_post_at
            FROM marts.dim_channels WHERE owner_user_id = ?
        ),
        days AS (
            SELECT d.channel_id, d.date, d.subscribers, d.avg_post_reach, d.err,
                   row_number() OVER (PARTITION BY d.channel_id ORDER BY d.date DESC) AS recency
            FROM marts.fct_channel_daily AS d
            INNER JOIN mine ON mine.channel_id = d.channel_id
        ),
        newest AS (SELECT * FROM days WHERE recency = 1),
        month_ago AS (
            SELECT days.channel_id, days.subscribers
            FROM days INNER JOIN newest ON newest.channel_id = days.channel_id
            WHERE days.date = newest.date - 30
        )
        SELECT mine.channel_id, mine.title, mine.username, mine.time_zone, mine.status, mine.reach_available,
               newest.subscribers, newest.subscribers - month_ago.subscribers AS subscribers_growth_30d,
               newest.avg_post_reach, newest.err, mine.last_post_at
        FROM mine
        LEFT JOIN newest ON newest.channel_id = mine.channel_id
        LEFT JOIN month_ago ON month_ago.channel_id = mine.channel_id
        ORDER BY mine.title {TEXT_ORDER}, mine.channel_id
    """, [user_id])


DAILY_COLUMNS = ("date", "subscribers", "net_subscribers", "joins", "leaves", "posts", "daily_reach",
                 "avg_post_reach", "err", "err24", "er")


def _no_days(base: dict) -> dict:
    """An overview of a channel with no daily rows yet."""
    return {**base, "date_from": None, "date_to": None, "subscribers": None, "growth": None, "growth_pct": None,
            "posts": 0, "avg_post_reach": None, "err": None, "err24": None, "er": None, "daily": []}


def overview(con: ReadConnection, ch: dict, days: int) -> dict:
    """Subscribers, growth over the last `days` days, the trailing-30-day post metrics of the newest day
    (avg_post_reach, ERR, ERR24, ER: TGStat's definitions) and the daily series."""
    cid = ch["channel_id"]
    newest = _rows(con, "SELECT max(date) AS d FROM marts.fct_channel_daily WHERE channel_id = ?", [cid])[0]["d"]
    base = {"channel_id": cid, "title": ch["title"], "time_zone": ch["time_zone"], "days": days}
    if newest is None:
        return _no_days(base)
    date_from = newest - timedelta(days=days - 1)
    daily = _rows(con, f"""
        SELECT {', '.join(DAILY_COLUMNS)}
        FROM marts.fct_channel_daily WHERE channel_id = ? AND date >= ? AND date <= ? ORDER BY date
    """, [cid, date_from, newest])
    before = _rows(con, "SELECT subscribers FROM marts.fct_channel_daily WHERE channel_id = ? AND date = ?",
                   [cid, date_from - timedelta(days=1)])
    return _summarise(base, newest, daily, before[0]["subscribers"] if before else None)


def _summarise(base: dict, newest, daily: list[dict], before_subscribers: int | None) -> dict:
    """`overview`'s numbers from the period's daily rows and the subscribers of the day before it."""
    days = base["days"]
    date_from = newest - timedelta(days=days - 1)
    known = [d["subscribers"] for d in daily if d["subscribers"] is not None]
    start = before_subscribers if before_subscribers is not None else (known[0] if known else None)
    end = known[-1] if known else None
    growth = end - start if end is not None and start is not None else None
    last = daily[-1] if daily else {}
    return {**base, "date_from": date_from, "date_to": newest, "subscribers": end, "growth": growth,
            "growth_pct": growth / start if growth is not None and start else None,
            "posts": sum(d["posts"] or 0 for d in daily), "avg_post_reach": last.get("avg_post_reach"),
            "err": last.get("err"), "err24": last.get("err24"), "er": last.get("er"),
            "daily": [{**d, "posts": d["posts"] or 0} for d in daily]}


def overviews(con: ReadConnection, channels: list[dict], days: tuple[int, ...]) -> dict[int, dict[int, dict]]:
    """`overview(con, ch, n)` for every channel and every n in `days`, from ONE query (the digests read many
    channels and two windows each): {channel_id: {n: overview}}, the same dicts `overview` returns."""
    if not channels:
        return {}
    if not days or min(days) < 1 or max(days) > MAX_DAYS:
        raise ValueError(f"days must be within 1..{MAX_DAYS}")
    span = max(days)  # the longest window and the day before it
    ids = [ch["channel_id"] for ch in channels]
    rows = _rows(con, f"""
        WITH newest AS (
            SELECT channel_id, max(date) AS newest FROM marts.fct_channel_daily
            WHERE channel_id IN ({', '.join('?' for _ in ids)}) GROUP BY channel_id
        )
        SELECT d.channel_id, newest.newest, {', '.join('d.' + c for c in DAILY_COLUMNS)}
        FROM marts.fct_channel_daily AS d INNER JOIN newest ON newest.channel_id = d.channel_id
        WHERE d.date >= newest.newest - CAST(? AS INTEGER) AND d.date <= newest.newest
        ORDER BY d.channel_id, d.date
    """, ids + [span])
    by_channel: dict[int, list[dict]] = {}
    for r in rows:
        by_channel.setdefault(r["channel_id"], []).append(r)
    out: dict[int, dict[int, dict]] = {}
    for ch in channels:
        cid = ch["channel_id"]
        found = by_channel.get(cid, [])
        out[cid] = {}
        for n in days:
            base = {"channel_id": cid, "title": ch["title"], "time_zone": ch["time_zone"], "days": n}
            if not found:
                out[cid][n] = _no_days(base)
                continue
            newest = found[0]["newest"]
            date_from = newest - timedelta(days=n - 1)
            daily = [{c: r[c] for c in DAILY_COLUMNS} for r in found if r["date"] >= date_from]
            before = [r for r in found if r["date"] == date_from - timedelta(days=1)]
            out[cid][n] = _summarise(base, newest, daily, before[0]["subscribers"] if before else None)
    return out


# -- posts -------------------------------------------------------------------------------------------------------
def encode_cursor(sort: str, order: str, row: dict) -> str:
    value = row[sort]
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([sort, order, value is None, value, row["message_id"]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, order: str) -> tuple[bool, Any, int]:
    """(value is null, value, message_id) of the last row of the previous page."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        c_sort, c_order, is_null, value, message_id = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise BadCursor("cursor is not one this API issued") from None
    if c_sort != sort or c_order != order:
        raise BadCursor("cursor belongs to another sort order: start again without it")
    if not isinstance(message_id, int) or not isinstance(is_null, bool):
        raise BadCursor("cursor is not one this API issued")
    if is_null:
        return True, None, message_id
    if sort == "posted_at":
        try:
            return False, datetime.fromisoformat(value), message_id
        except (TypeError, ValueError):
            raise BadCursor("cursor is not one this API issued") from None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise BadCursor("cursor is not one this API issued")
    return False, value, message_id


def post_link(ch: dict, message_id: int) -> str | None:
    return f"https://t.me/{ch['username']}/{message_id}" if ch.get("username") else None


def posts_page(con: ReadConnection, ch: dict, *, sort: str, order: str, limit: int,
               cursor: str | None) -> dict:
    """A page of the channel's posts (deleted ones left out), by `sort` with posts lacking it last, ties broken
    by message id; keyset pagination, so a page never repeats or skips a post while the snapshot stays."""
    if sort not in POST_SORTS:
        raise ValueError(f"sort must be one of {', '.join(POST_SORTS)}")
    op, direction = ("<", "DESC") if order == "desc" else (">", "ASC")
    where, params = ["channel_id = ?", "NOT is_deleted"], [ch["channel_id"]]
    if cursor:
        is_null, value, message_id = decode_cursor(cursor, sort, order)
        if is_null:
            where.append(f"{sort} IS NULL AND message_id {op} ?")
            params.append(message_id)
        else:
            where.append(f"({sort} IS NULL OR {sort} {op} ? OR ({sort} = ? AND message_id {op} ?))")
            params += [value, value, message_id]
    rows = _rows(con, f"""
        SELECT {', '.join(POST_COLUMNS)} FROM marts.fct_posts
        WHERE {' AND '.join(where)}
        ORDER BY CASE WHEN {sort} IS NULL THEN 1 ELSE 0 END, {sort} {direction}, message_id {direction}
        LIMIT ?
    """, params + [limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    items = [{**r, "link": post_link(ch, r["message_id"])} for r in rows]
    return {"channel_id": ch["channel_id"], "sort": sort, "order": order, "limit": limit, "items": items,
            "next_cursor": encode_cursor(sort, order, rows[-1]) if more and rows else None}


def best_posts(con: ReadConnection, since: list[tuple[dict, date]]) -> dict[int, dict | None]:
    """For each (channel, local date): the channel's post with the most views at 24 h among those posted on that
    local date or later (ties: the newer message; deleted posts and posts younger than a day have none), in one
    read: {channel_id: post with its link, or None}."""
    out: dict[int, dict | None] = {ch["channel_id"]: None for ch, _ in since}
    if not since:
        return out
    wanted = " UNION ALL ".join("SELECT CAST(? AS BIGINT) AS channel_id, CAST(? AS DATE) AS date_from"
                                for _ in since)
    rows = _rows(con, f"""
        WITH wanted AS ({wanted}),
        ranked AS (
            SELECT {', '.join('p.' + c for c in POST_COLUMNS)}, p.channel_id,
                   row_number() OVER (PARTITION BY p.channel_id ORDER BY p.views_24h DESC, p.message_id DESC) AS rank
            FROM marts.fct_posts AS p INNER JOIN wanted AS w ON w.channel_id = p.channel_id
            WHERE NOT p.is_deleted AND p.views_24h IS NOT NULL AND CAST(p.posted_at_local AS DATE) >= w.date_from
        )
        SELECT * FROM ranked WHERE rank = 1
    """, [v for ch, day in since for v in (ch["channel_id"], day)])
    channels = {ch["channel_id"]: ch for ch, _ in since}
    for r in rows:
        cid = r.pop("channel_id")
        r.pop("rank")
        out[cid] = {**r, "link": post_link(channels[cid], r["message_id"])}
    return out


def post_detail(con: ReadConnection, ch: dict, message_id: int) -> dict | None:
    rows = _rows(con, f"SELECT {', '.join(POST_COLUMNS)} FROM marts.fct_posts "
                      "WHERE channel_id = ? AND message_id = ? AND NOT is_deleted", [ch["channel_id"], message_id])
    if not rows:
        return None
    post = {**rows[0], "link": post_link(ch, message_id)}
    decay = []
    if has_table(con, "marts.fct_post_decay"):
        latest = post["views_latest"]
        decay = [{**d, "share_of_latest": d["views"] / latest if latest else None} for d in _rows(
            con, "SELECT age_hours, views FROM marts.fct_post_decay WHERE channel_id = ? AND message_id = ? "
                 "ORDER BY age_hours", [ch["channel_id"], message_id])]
    return {"channel_id": ch["channel_id"], "post": post, "decay": decay}


# -- when to post ------------------------------------------------------------------------------------------------
def heatmap(con: ReadConnection, ch: dict) -> dict:
    cells = _rows(con, "SELECT weekday, hour, posts, mean_views_24h_per_subscriber FROM marts.fct_post_hourly_heatmap "
                       "WHERE channel_id = ? ORDER BY weekday, hour", [ch["channel_id"]])
    return {"channel_id": ch["channel_id"], "time_zone": ch["time_zone"], "cells": cells}


def _model_state(con: ReadConnection, channel_id: int, model: str) -> dict:
    if not has_table(con, "ml.channel_model_status"):
        return {"status": "not_available_yet", "reason": "no model has run on this data yet", "source": None,
                "model_version": None}
    rows = _rows(con, "SELECT status, reason, source, model_version FROM ml.channel_model_status "
                      "WHERE channel_id = ? AND model = ?", [channel_id, model])
    if not rows:
        return {"status": "not_available_yet", "reason": "this channel has not been through the model yet",
                "source": None, "model_version": None}
    row = rows[0]
    return {**row, "status": _STATE.get(row["status"], "not_available_yet")}


def best_times(con: ReadConnection, ch: dict) -> dict:
    """Every hour x weekday slot of the channel's time zone, best first, with the model's expected reach against
    the channel's average post and an 80% range for a typical post."""
    state = _model_state(con, ch["channel_id"], "best_time")
    slots = []
    if state["status"] != "not_available_yet" and has_table(con, "ml.best_time_slots"):
        slots = _rows(con, """
            SELECT rank, weekday, hour, expected_relative_reach, relative_reach_lower, relative_reach_upper,
                   posts_observed
            FROM ml.best_time_slots WHERE channel_id = ? ORDER BY rank
        """, [ch["channel_id"]])
    return {"channel_id": ch["channel_id"], "time_zone": ch["time_zone"], **state, "slots": slots}


def forecast(con: ReadConnection, ch: dict) -> dict:
    """Subscribers and daily reach, 30 days ahead with an 80% interval, per metric with its own state."""
    have_rows = has_table(con, "ml.channel_forecasts")
    series = []
    for metric in FORECAST_METRICS:
        state = _model_state(con, ch["channel_id"], f"forecast_{metric}")
        points = []
        if have_rows and state["status"] != "not_available_yet":
            points = _rows(con, "SELECT date, yhat, yhat_lower, yhat_upper, history_end FROM ml.channel_forecasts "
                                "WHERE channel_id = ? AND metric = ? ORDER BY date", [ch["channel_id"], metric])
        history_end = points[0]["history_end"] if points else None
        series.append({"metric": metric, **state, "history_end": history_end,
                       "points": [{k: p[k] for k in ("date", "yhat", "yhat_lower", "yhat_upper")} for p in points]})
    return {"channel_id": ch["channel_id"], "series": series}
