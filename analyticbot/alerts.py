"""Alerts: what just happened on a channel that its owner would want to hear about now, found in the snapshot.

Two kinds, both judged against the channel's own history, never a global threshold (a 200-view post is a
triumph for one channel and a disaster for another):

- **Reach (`views_spike`, `views_drop`).** A post's `views_1h` against the channel's usual `views_1h`: the median
  of its previous `HISTORY_POSTS` posts (at least `MIN_HISTORY_POSTS`), with the spread measured as the median
  absolute deviation (MAD, scaled by 1.4826 to match a standard deviation on normal data). Median and MAD, not
  mean and standard deviation, because one viral post would otherwise inflate the "usual" and the spread and hide
  the next one. A post alerts only when both hold: robust z at least `Z_THRESHOLD` away (unusual for this
  channel) and a ratio to the median of at least `SPIKE_RATIO` (or at most `DROP_RATIO`), so a channel with very
  stable reach does not alert on +20 %. The MAD is floored at `MAD_FLOOR` of the median for the same reason.
- **Subscribers (`subscribers_drop`).** The newest day's net change against the channel's previous
  `HISTORY_DAYS` daily changes (at least `MIN_HISTORY_DAYS`): a loss of at least `DROP_SHARE` of the previous
  day's subscribers and a robust z of at most -`Z_THRESHOLD`. The share keeps a channel with near-constant
  growth from alerting on a loss of three people.

Freshness: only posts published within `FRESH_POSTS` of the channel's newest post, and only the channel's newest
day, count: an alert about last month is noise. Each alert has a `dedupe_key`
(`alert:<channel>:<kind>:<message_id or date>`), so it goes out once however many ticks see it.

Quiet hours (`quiet_until`) are pure time arithmetic on the owner's zone, here so that the scheduler and the
commands agree on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from statistics import median
from typing import Iterable
from zoneinfo import ZoneInfo

from analyticbot.snapshot import ReadConnection

HISTORY_POSTS = 30
MIN_HISTORY_POSTS = 10
HISTORY_DAYS = 30
MIN_HISTORY_DAYS = 14
Z_THRESHOLD = 4.0  # robust z: a normal post is this far from the median about once in 16,000
SPIKE_RATIO = 2.0
DROP_RATIO = 0.4
DROP_SHARE = 0.01  # 1 % of subscribers lost in one day
MAD_FLOOR = 0.05  # the spread is at least 5 % of the median
MAD_SCALE = 1.4826
FRESH_POSTS = timedelta(hours=48)
ALERT_KINDS = ("views_spike", "views_drop", "subscribers_drop")


@dataclass(frozen=True)
class Alert:
    channel_id: int
    kind: str  # one of ALERT_KINDS
    ref: str  # the message id, or the ISO date for subscribers
    value: float  # views_1h of the post, or the day's net change
    usual: float  # the channel's median views_1h, or its median daily change
    ratio: float | None  # value / usual for reach; the share of subscribers lost for subscribers
    message_id: int | None = None
    day: date | None = None

    @property
    def dedupe_key(self) -> str:
        return f"alert:{self.channel_id}:{self.kind}:{self.ref}"


def robust_z(value: float, history: list[float]) -> tuple[float, float]:
    """(median of `history`, robust z of `value` against it: (value - median) / (1.4826 MAD), the MAD floored at
    `MAD_FLOOR` of |median| and at 1 so that a flat history does not divide by zero)."""
    mid = median(history)
    mad = median(abs(h - mid) for h in history) * MAD_SCALE
    spread = max(mad, MAD_FLOOR * abs(mid), 1.0)
    return mid, (value - mid) / spread


def reach_alerts(con: ReadConnection, channel_id: int) -> list[Alert]:
    """Fresh posts whose views in the first hour are far above or below the channel's usual."""
    posts = con.query("""
        SELECT message_id, posted_at, views_1h FROM marts.fct_posts
        WHERE channel_id = ? AND NOT is_deleted AND views_1h IS NOT NULL
        ORDER BY posted_at DESC, message_id DESC LIMIT ?
    """, [channel_id, HISTORY_POSTS + 200]).to_dicts()
    if not posts:
        return []
    posts.reverse()  # oldest first: each post's history is what came before it
    newest = posts[-1]["posted_at"]
    alerts = []
    for i, post in enumerate(posts):
        if post["posted_at"] < newest - FRESH_POSTS:
            continue
        history = [p["views_1h"] for p in posts[max(0, i - HISTORY_POSTS):i]]
        if len(history) < MIN_HISTORY_POSTS:
            continue
        usual, z = robust_z(post["views_1h"], history)
        ratio = post["views_1h"] / usual if usual > 0 else None
        kind = None
        if z >= Z_THRESHOLD and (ratio is None or ratio >= SPIKE_RATIO):
            kind = "views_spike"
        elif z <= -Z_THRESHOLD and ratio is not None and ratio <= DROP_RATIO:
            kind = "views_drop"
        if kind:
            alerts.append(Alert(channel_id, kind, str(post["message_id"]), post["views_1h"], usual, ratio,
                                message_id=post["message_id"]))
    return alerts


def subscriber_alerts(con: ReadConnection, channel_id: int) -> list[Alert]:
    """The channel's newest day, when it lost far more subscribers than its own days usually change by."""
    days = con.query("""
        SELECT date, subscribers FROM marts.fct_channel_daily
        WHERE channel_id = ? AND subscribers IS NOT NULL ORDER BY date DESC LIMIT ?
    """, [channel_id, HISTORY_DAYS + 2]).to_dicts()
    days.reverse()
    # Changes between consecutive dates only: a gap in the series is not a day's change.
    changes = [(b["date"], b["subscribers"] - a["subscribers"], a["subscribers"]) for a, b in zip(days, days[1:])
               if (b["date"] - a["date"]).days == 1]
    if len(changes) < MIN_HISTORY_DAYS + 1 or changes[-1][0] != days[-1]["date"]:
        return []
    day, change, before = changes[-1]
    usual, z = robust_z(change, [c for _, c, _ in changes[:-1]])
    share = -change / before if before else None
    if change < 0 and share is not None and share >= DROP_SHARE and z <= -Z_THRESHOLD:
        return [Alert(channel_id, "subscribers_drop", day.isoformat(), change, usual, share, day=day)]
    return []


def detect_alerts(con: ReadConnection, channel_ids: Iterable[int]) -> list[Alert]:
    """Every fresh alert of these channels (the caller has checked that they are the owner's)."""
    alerts = []
    for cid in channel_ids:
        alerts += reach_alerts(con, cid) + subscriber_alerts(con, cid)
    return alerts


def in_quiet_hours(local_hour: int, start: int | None, end: int | None) -> bool:
    """Whether a local hour falls in [start, end); start > end wraps midnight (23-8); None or start == end:
    no quiet hours."""
    if start is None or end is None or start == end:
        return False
    return start <= local_hour < end if start < end else local_hour >= start or local_hour < end


def quiet_until(now_utc: datetime, time_zone: str, start: int | None, end: int | None) -> datetime | None:
    """The UTC instant the owner's quiet hours end, when `now_utc` falls in them; else None. The end is the next
    local `end`:00 (a DST jump that skips it gives the instant the clock jumps over it, as `zoneinfo` maps it)."""
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    tz = ZoneInfo(time_zone)
    local = now_utc.astimezone(tz)
    if not in_quiet_hours(local.hour, start, end):
        return None
    day = local.date() if local.hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end), tzinfo=tz).astimezone(timezone.utc)
