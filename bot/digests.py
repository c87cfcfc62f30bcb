"""Daily or weekly digests: what each owner's channels did over the period, in the owner's language, with a chart.

Every number comes from `analyticbot.channel_reads` (the Mini App shows the same ones): subscribers and their
change, posts and ERR from `overview` over the period, the best post by views in 24 h from `posts_page`. The chart
shows the last `CHART_DAYS` days of subscribers so a one-day change has context.

`due_digests` decides who gets one now: each owner picks a local hour (and a weekday for weekly digests) in their
time zone; a digest is due from that local time for `grace` (the scheduler ticks every few minutes and may be
late), at most once per local date (`key`, to be stored by whoever sends it). `compose_many` composes a run's
digests on one snapshot version, over worker processes when there are thousands.
"""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Collection, Iterable, Iterator, Literal, Sequence
from zoneinfo import ZoneInfo

from aiogram.types import MessageEntity

from analyticbot import channel_reads
from analyticbot.settings import Settings
from analyticbot.snapshot import ReadConnection, SnapshotReader, SnapshotUnavailable
from bot.charts import MAX_DIGEST_PANELS, digest_png
from bot.entities import TextBuilder
from bot.i18n import fmt_date, fmt_int, fmt_percent, fmt_signed, t

Period = Literal["daily", "weekly"]
PERIOD_DAYS = {"daily": 1, "weekly": 7}
CHART_DAYS = 30

# Fallback emoji and the custom emoji premium owners see instead. The ids belong to the bot's custom emoji sticker
# set: these are placeholders until that set is published (any id of the set's stickers works here).
EMOJI = {
    "digest": ("📊", "5431577498364158238"),
    "channel": ("📢", "5433758796289685818"),
    "up": ("📈", "5244837092042750681"),
    "down": ("📉", "5246762912428603768"),
    "flat": ("👥", "5258513401784573443"),
    "posts": ("📝", "5395444784611480792"),
    "best": ("🔥", "5424972470023104089"),
    "err": ("👁", "5424885441100782420"),
}


@dataclass
class Digest:
    text: str
    entities: list[MessageEntity] = field(default_factory=list)
    chart_png: bytes | None = None


def _emoji(out: TextBuilder, name: str, premium: bool) -> None:
    fallback, custom_id = EMOJI[name]
    out.add_custom_emoji(fallback, custom_id if premium else None)
    out.add(" ")


def _channel_section(out: TextBuilder, ch: dict, ov: dict, best: dict | None, lang: str, premium: bool) -> dict:
    out.add("\n\n")
    _emoji(out, "channel", premium)
    out.add(ch["title"])
    if ov["date_to"] is None:
        out.add("\n" + t("digest.no_data", lang))
        return ov
    growth = ov["growth"] or 0
    _emoji(out.add("\n"), "up" if growth > 0 else "down" if growth < 0 else "flat", premium)
    change = fmt_signed(ov["growth"], lang)
    if ov["growth_pct"] is not None:
        change += ", " + fmt_percent(ov["growth_pct"], lang, signed=True)
    out.add(t("digest.subscribers", lang, subscribers=fmt_int(ov["subscribers"], lang), change=change))
    _emoji(out.add("\n"), "posts", premium)
    out.add(t("digest.posts", lang, posts=fmt_int(ov["posts"], lang)))
    if best is not None:
        _emoji(out.add("\n"), "best", premium)
        out.add(t("digest.best_post", lang, views=fmt_int(best["views_24h"], lang), link=best["link"] or ""))
    _emoji(out.add("\n"), "err", premium)
    out.add(t("digest.err", lang, err=fmt_percent(ov["err"], lang)))
    return {**ov, "best_post": best}


def compose_digest(con: ReadConnection, owner_user_id: int, lang: str, period: Period = "daily",
                   premium: bool = False) -> Digest:
    """The owner's digest: a section per channel (by title) and a chart of subscribers of the first
    `MAX_DIGEST_PANELS` channels. With `premium`, custom emoji entities over the fallback emoji."""
    return _compose_on_connection(con, [DigestPrefs(owner_user_id, "UTC", 0, period, lang=lang, premium=premium)])[0]


def _compose(channels: list[dict], reads: dict[int, dict[int, dict]], best: dict[int, dict | None], lang: str,
             period: Period, premium: bool) -> Digest:
    """A digest from the owner's channels, their `channel_reads.overviews` (the period's and the chart's windows
    at least) and their best posts of the period: `_compose_on_connection` reads those for many owners at once."""
    days = PERIOD_DAYS[period]
    channels = sorted(channels, key=lambda c: (c["title"], c["channel_id"]))
    if not channels:
        return Digest(t("digest.no_channels", lang))
    body = TextBuilder()
    sections = [_channel_section(body, ch, reads[ch["channel_id"]][days], best.get(ch["channel_id"]), lang, premium)
                for ch in channels]
    newest = max((s["date_to"] for s in sections if s["date_to"] is not None), default=None)
    if newest is None:
        title = t(f"digest.title.{period}", lang, date="", date_from="", date_to="")
    elif period == "daily":
        title = t("digest.title.daily", lang, date=fmt_date(newest, lang))
    else:
        title = t("digest.title.weekly", lang, date_from=fmt_date(newest - timedelta(days=days - 1), lang),
                  date_to=fmt_date(newest, lang))
    out = TextBuilder()
    _emoji(out, "digest", premium)
    out.add(title).extend(body)
    panels = []
    for ch in channels[:MAX_DIGEST_PANELS]:
        daily = reads[ch["channel_id"]][CHART_DAYS]["daily"]
        panels.append((ch["title"], [d["date"] for d in daily], [d["subscribers"] for d in daily]))
    return Digest(out.text, out.entities, digest_png(panels, lang))

# -- who gets a digest now ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DigestPrefs:
    user_id: int
    time_zone: str
    hour: int  # local hour, 0..23
    period: Period = "daily"
    weekday: int = 0  # weekly digests: Monday = 0
    lang: str = "en"
    premium: bool = False


@dataclass(frozen=True)
class DueDigest:
    prefs: DigestPrefs
    local_date: date
    key: str  # store it when the digest is sent: the same key never goes out twice


def scheduled_at(prefs: DigestPrefs, local_date: date) -> datetime:
    """The UTC instant of the owner's hour on a local date. A wall time that a DST jump skips (02:30 on Berlin's
    spring-forward day) maps to the instant the clock jumps over it, one that occurs twice to the first time
    (fold=0: PEP 495's rule, which zoneinfo follows)."""
    tz = ZoneInfo(prefs.time_zone)
    return datetime.combine(local_date, time(prefs.hour), tzinfo=tz).astimezone(timezone.utc)


def due_digests(now_utc: datetime, owners_prefs: Iterable[DigestPrefs], sent: Collection[str] = (),
                grace: timedelta = timedelta(hours=1)) -> list[DueDigest]:
    """Owners whose chosen local time passed less than `grace` ago (on their weekday, for weekly digests) and
    whose key for that local date is not in `sent`."""
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    due = []
    for prefs in owners_prefs:
        local_date = now_utc.astimezone(ZoneInfo(prefs.time_zone)).date()
        # The window may have started on the previous local date (23:30 + 1 h of grace crosses midnight).
        for day in (local_date, local_date - timedelta(days=1)):
            if prefs.period == "weekly" and day.weekday() != prefs.weekday:
                continue
            start = scheduled_at(prefs, day)
            key = f"digest:{prefs.user_id}:{day.isoformat()}"
            if start <= now_utc < start + grace and key not in sent:
                due.append(DueDigest(prefs, day, key))
                break
    return due


# -- many owners at once: the scheduler's digest run ---------------------------------------------------------------
COMPOSE_CHUNK = 50  # owners per task sent to a worker: fewer round trips, still an even spread over the workers
_worker_reader: SnapshotReader | None = None


def _start_worker(settings: Settings) -> None:
    global _worker_reader
    _worker_reader = SnapshotReader(settings)


def _compose_chunk(job: tuple[str, list[DigestPrefs]]) -> list[Digest]:
    version, chunk = job
    return _compose_on(_worker_reader, version, chunk, one_thread=True)


def _compose_on(snapshots: SnapshotReader, version: str, chunk: Sequence[DigestPrefs], one_thread: bool) -> list[Digest]:
    with snapshots.connect(version) as con:
        if one_thread and con.duck is not None:
            # one worker process per core: DuckDB's own threads would only contend with the other workers
            con.duck.execute("SET threads = 1")
        return _compose_on_connection(con, chunk)


def _compose_on_connection(con: ReadConnection, chunk: Sequence[DigestPrefs]) -> list[Digest]:
    """The chunk's digests from three reads in all (was three per owner and one per channel): the owners'
    channels, every window they need, and every channel's best post of its owner's period."""
    owned_by = channel_reads.owned_channels_many(con, sorted({p.user_id for p in chunk}))
    owned = [list(owned_by[p.user_id].values()) for p in chunk]
    channels = list({ch["channel_id"]: ch for chs in owned for ch in chs}.values())
    windows = tuple(sorted({PERIOD_DAYS[p.period] for p in chunk} | {CHART_DAYS}))
    reads = channel_reads.overviews(con, channels, windows) if channels else {}
    periods = [(ch, reads[ch["channel_id"]][PERIOD_DAYS[p.period]]) for p, chs in zip(chunk, owned) for ch in chs]
    since = [(ch, ov["date_from"]) for ch, ov in periods if ov["date_from"] is not None and ov["posts"]]
    best = channel_reads.best_posts(con, since)
    return [_compose(chs, reads, best, p.lang, p.period, p.premium) for p, chs in zip(chunk, owned)]


def compose_many(snapshots: SnapshotReader, owners: Sequence[DigestPrefs], workers: int = 1,
                 version: str | None = None) -> Iterator[Digest]:
    """`compose_digest` for every owner in `owners` (their language, period and premium flag), all on one
    snapshot version (the current one unless given), yielded in the order of `owners` as they are ready, so the
    caller can enqueue each while the rest are composed.

    With `workers` > 1 the owners are split into chunks over that many worker processes (one per core: a digest is
    CPU-bound Python, reads and drawing, so threads would not run in parallel). The workers are spawned, not
    forked: the bot's process has threads (asyncio, aiogram, DuckDB's) and a fork copies their locks mid-use.
    Spawning costs about a second of imports per worker, worth it only for a run of thousands."""
    version = version or snapshots.current_version()
    if version is None:
        raise SnapshotUnavailable("no published snapshot yet: run the pipeline (make demo)")
    owners = list(owners)
    if workers <= 1 or len(owners) <= COMPOSE_CHUNK:
        for start in range(0, len(owners), COMPOSE_CHUNK):
            yield from _compose_on(snapshots, version, owners[start:start + COMPOSE_CHUNK], one_thread=False)
        return
    jobs = [(version, owners[i:i + COMPOSE_CHUNK]) for i in range(0, len(owners), COMPOSE_CHUNK)]
    with mp.get_context("spawn").Pool(workers, initializer=_start_worker, initargs=(snapshots.settings,)) as pool:
        for digests in pool.imap(_compose_chunk, jobs):
            yield from digests

