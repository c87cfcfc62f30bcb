"""Reading numbers in the bot: /stats, /top, /post, /besttime and /report, from the published snapshot through
`analyticbot.channel_reads` (the same reads as the Mini App, so a number is computed one way).

Every command runs the same way: no account (never did /start) -> ask for /start; the owner's channels from the
snapshot (`owned_channels`); the channel the argument names (`bot.channel_picker`), the only one, or buttons to
pick one; then one blocking call in a worker thread that reads, formats and draws the reply on one snapshot
connection. Anything that names a channel the owner does not have, theirs or nobody's, gets the same
"not found" reply.

Charts and report files depend only on the snapshot version, the channel and the language, so they are kept per
version (`_charts`, `_reports`): a repeated /stats or /report on the same snapshot does not draw or build again.
A report not built yet takes about half a second of matplotlib and openpyxl, too long to leave the owner
without an answer: they are told it is being built at once, and the files follow (`Reply.then`), built one at
a time (`REPORT_JOBS`) on a connection of its own.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message

from analyticbot import channel_reads
from analyticbot.appstore.activity import record_activity
from analyticbot.appstore.db import AppStore
from analyticbot.snapshot import ReadConnection, SnapshotReader, SnapshotUnavailable
from bot import channel_picker, charts, jobs
from bot.context import Account
from bot.i18n import fmt_date, fmt_decimal, fmt_int, fmt_percent, fmt_signed, t, weekday_name
from bot.reports import build_report, top_posts

T = TypeVar("T")
STATS_DAYS = 30
TOP_N = 10
BEST_SLOTS = 5
CAPTION_MAX = 1024  # Telegram's limit on a photo caption
COMMANDS = ("stats", "top", "post", "besttime", "report")
# Reports built at once: a build holds a core (and mostly the GIL) for ~0.5 s; on two cores, more at the same time
# would slow every other reply while finishing none of them sooner.
REPORT_JOBS = 1
_POST_LINK = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t|telegram)\.me/(?:c/(?P<bare>\d{1,20})|(?P<username>[A-Za-z][A-Za-z0-9_]{3,31}))"
    r"/(?P<message_id>\d{1,12})/?(?:\?[^\s]*)?$", re.IGNORECASE)


@dataclass
class Reply:
    """What a command answers: a text, and optionally a photo (the text is its caption when short enough) or
    documents (name, bytes). `then`, when set, is blocking work whose reply follows this one (a report being
    built after "building your report")."""
    text: str
    photo: bytes | None = None
    documents: list[tuple[str, bytes]] = field(default_factory=list)
    keyboard: InlineKeyboardMarkup | None = None
    then: Callable[[], "Reply"] | None = None


# -- caches per snapshot version: chart PNGs, report files ---------------------------------------------------------
class _VersionCache:
    """Values (PNG bytes, report files) by (snapshot version, what was drawn or built); entries of older versions
    are dropped when a new version arrives, and the whole cache is bounded (the most recently used `size`)."""

    def __init__(self, size: int = 512):
        self.size = size
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._version: str | None = None
        self._lock = threading.Lock()

    def peek(self, version: str, key: tuple) -> Any | None:
        """The value kept for `key` on `version`, or None (nothing is drawn)."""
        with self._lock:
            return self._items.get(key) if version == self._version else None

    def get(self, version: str, key: tuple, draw: Callable[[], T]) -> T:
        with self._lock:
            if version != self._version:
                self._items.clear()
                self._version = version
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                return value
        value = draw()  # outside the lock: two threads may draw the same chart once each, never wait on each other
        with self._lock:
            if version == self._version:
                self._items[key] = value
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return value


_charts = _VersionCache()  # a few hundred chats' charts, ~20-60 KB each
_reports = _VersionCache(32)  # a PDF and a workbook, ~100-300 KB a channel: building them takes ~1 s


# -- the replies (blocking: run in a worker thread) ----------------------------------------------------------------
def stats_reply(con: ReadConnection, ch: dict, lang: str) -> Reply:
    ov = channel_reads.overview(con, ch, STATS_DAYS)
    if ov["date_to"] is None:
        return Reply(t("stats.no_data", lang, title=ch["title"]))
    text = t("stats.headline", lang, title=ch["title"], subscribers=fmt_int(ov["subscribers"], lang),
             growth=fmt_signed(ov["growth"], lang), growth_pct=fmt_percent(ov["growth_pct"], lang, signed=True),
             reach=fmt_int(ov["avg_post_reach"], lang), err=fmt_percent(ov["err"], lang),
             err24=fmt_percent(ov["err24"], lang), er=fmt_percent(ov["er"], lang, digits=2))
    text += "\n" + t("stats.as_of", lang, date=fmt_date(ov["date_to"], lang))

    def draw() -> bytes:
        subscribers = next(s for s in channel_reads.forecast(con, ch)["series"] if s["metric"] == "subscribers")
        band = subscribers["points"] if subscribers["status"] == "available" else []
        return charts.subscribers_png(ov["daily"], lang, band, title=f"{ch['title']}: {t('chart.subscribers', lang)}")

    return Reply(text, photo=_charts.get(con.version, ("stats", ch["channel_id"], lang), draw))


def top_reply(con: ReadConnection, ch: dict, lang: str) -> Reply:
    posts = [p for p in top_posts(con, ch, TOP_N) if p["views_24h"] is not None]
    if not posts:
        return Reply(t("top.no_posts", lang, title=ch["title"]))
    lines = [t("top.title", lang, title=ch["title"])]
    for rank, p in enumerate(posts, start=1):
        lines.append(t("top.line", lang, rank=rank, views=fmt_int(p["views_24h"], lang),
                       date=fmt_date(p["posted_at_local"].date(), lang),
                       link=p["link"] or f"#{p['message_id']}"))
    png = _charts.get(con.version, ("top", ch["channel_id"], lang), lambda: charts.top_posts_png(posts, lang))
    return Reply("\n".join(lines), photo=png)


def besttime_reply(con: ReadConnection, ch: dict, lang: str) -> Reply:
    best = channel_reads.best_times(con, ch)
    if best["status"] == "available" and best["slots"]:
        lines = [t("besttime.title", lang, title=ch["title"], time_zone=ch["time_zone"])]
        for s in best["slots"][:BEST_SLOTS]:
            lines.append(t("besttime.slot", lang, rank=s["rank"], weekday=weekday_name(s["weekday"], lang),
                           hour=f"{s['hour']:02d}:00–{(s['hour'] + 1) % 24:02d}:00",
                           expected=fmt_decimal(s["expected_relative_reach"], lang),
                           low=fmt_decimal(s["relative_reach_lower"], lang), high=fmt_decimal(s["relative_reach_upper"], lang)))
        return Reply("\n".join(lines))
    why = "besttime.not_enough_data" if best["status"] == "not_enough_data" else "besttime.not_available_yet"
    png = _charts.get(con.version, ("heatmap", ch["channel_id"], lang),
                      lambda: charts.heatmap_png(channel_reads.heatmap(con, ch)["cells"], lang, ch["time_zone"]))
    return Reply(t(why, lang, title=ch["title"]), photo=png)


def post_reply(con: ReadConnection, ch: dict, message_id: int, lang: str) -> Reply | None:
    """None when the channel has no such post (deleted or never there): the caller's "not found"."""
    detail = channel_reads.post_detail(con, ch, message_id)
    if detail is None:
        return None
    p = detail["post"]
    text = t("post.detail", lang, title=ch["title"], message_id=message_id,
             date=fmt_date(p["posted_at_local"].date(), lang), v1=fmt_int(p["views_1h"], lang),
             v24=fmt_int(p["views_24h"], lang), v48=fmt_int(p["views_48h"], lang),
             latest=fmt_int(p["views_latest"], lang), er=fmt_percent(p["er"], lang, digits=2))
    if p["link"]:
        text += "\n" + p["link"]
    if not detail["decay"]:
        return Reply(text)
    png = _charts.get(con.version, ("post", ch["channel_id"], message_id, lang),
                      lambda: charts.decay_png(detail["decay"], lang, f"{ch['title']} #{message_id}"))
    return Reply(text, photo=png)


def _report_key(ch: dict, lang: str) -> tuple:
    # by channel, not user: `ch` is one of this user's channels (the caller checked), and a channel has one owner
    return "report", ch["channel_id"], lang


def report_reply(con: ReadConnection, ch: dict, user_id: int, lang: str, store: AppStore) -> Reply:
    """The report's files (built now unless kept for this version), counted as a report viewed."""
    pdf, xlsx = _reports.get(con.version, _report_key(ch, lang),
                             lambda: build_report(con, user_id, ch["channel_id"], lang))
    with store.transaction() as s:
        record_activity(s, user_id, "reports_viewed")
    name = ch.get("username") or str(ch["channel_id"])
    return Reply(t("report.caption", lang, title=ch["title"]),
                 documents=[(f"{name}-{con.version[:8]}.pdf", pdf), (f"{name}-{con.version[:8]}.xlsx", xlsx)])


def report_command(snapshots: SnapshotReader, con: ReadConnection, ch: dict, user_id: int, lang: str,
                   store: AppStore) -> Reply:
    """The files at once when this version's report is kept, else "building your report" with the build to follow
    on a connection of its own (by then a newer snapshot may be published: the files are of that one)."""
    if _reports.peek(con.version, _report_key(ch, lang)) is not None:
        return report_reply(con, ch, user_id, lang, store)

    def build() -> Reply:
        try:
            with snapshots.connect() as later:
                return report_reply(later, ch, user_id, lang, store)
        except SnapshotUnavailable:
            return Reply(t("stats.preparing", lang))
        except PermissionError:  # the newer snapshot no longer has the channel as theirs (removed meanwhile)
            return Reply(t("stats.not_found", lang))

    return Reply(t("report.building", lang, title=ch["title"]), then=build)


def _for_channel(command: str, snapshots: SnapshotReader, con: ReadConnection, ch: dict, account: Account,
                 lang: str, store: AppStore) -> Reply:
    if command == "stats":
        return stats_reply(con, ch, lang)
    if command == "top":
        return top_reply(con, ch, lang)
    if command == "besttime":
        return besttime_reply(con, ch, lang)
    return report_command(snapshots, con, ch, account.user_id, lang, store)


def channel_command(snapshots: SnapshotReader, store: AppStore, account: Account, lang: str, command: str,
                    arg: str | None = None, channel_id: int | None = None) -> Reply:
    """The reply to `command` for the channel an argument names, a picked channel id, or the only channel."""
    try:
        with snapshots.connect() as con:
            channels = channel_reads.owned_channels(con, account.user_id)
            if not channels:
                return Reply(t("stats.no_channels", lang))
            if channel_id is not None:
                ch = channels.get(channel_id)
            elif arg is not None:
                ch = channel_picker.resolve(channels, arg)
            elif len(channels) == 1:
                ch = next(iter(channels.values()))
            else:
                return Reply(t("stats.pick_channel", lang),
                             keyboard=channel_picker.picker_keyboard(channels, command))
            if ch is None:
                return Reply(t("stats.not_found", lang))
            return _for_channel(command, snapshots, con, ch, account, lang, store)
    except SnapshotUnavailable:
        return Reply(t("stats.preparing", lang))


def post_command(snapshots: SnapshotReader, account: Account, lang: str, arg: str | None) -> Reply:
    m = _POST_LINK.match(arg or "")
    if m is None:
        return Reply(t("post.usage", lang))
    try:
        with snapshots.connect() as con:
            channels = channel_reads.owned_channels(con, account.user_id)
            if not channels:
                return Reply(t("stats.no_channels", lang))
            ch = channel_picker.by_bare_id(channels, int(m["bare"])) if m["bare"] else \
                channel_picker.by_username(channels, m["username"])
            reply = post_reply(con, ch, int(m["message_id"]), lang) if ch is not None else None
            return reply or Reply(t("post.not_found", lang))
    except SnapshotUnavailable:
        return Reply(t("stats.preparing", lang))


# -- sending -------------------------------------------------------------------------------------------------------
async def send(message: Message, reply: Reply) -> None:
    await _send_one(message, reply)
    if reply.then is not None:
        # "sending a file..." in the chat until the files arrive (Telegram clears it when they do, or after 5 s)
        await message.bot.send_chat_action(message.chat.id, "upload_document")
        async with jobs.slot("report", REPORT_JOBS):
            follow = await asyncio.to_thread(reply.then)
        await send(message, follow)


async def _send_one(message: Message, reply: Reply) -> None:
    if reply.photo is not None:
        photo = BufferedInputFile(reply.photo, filename="chart.png")
        if len(reply.text) <= CAPTION_MAX:
            await message.answer_photo(photo, caption=reply.text)
            return
        await message.answer_photo(photo)
    if reply.documents:
        for i, (name, data) in enumerate(reply.documents):
            await message.answer_document(BufferedInputFile(data, filename=name),
                                          caption=reply.text if i == 0 else None)
        return
    if reply.photo is None or len(reply.text) > CAPTION_MAX:
        await message.answer(reply.text, reply_markup=reply.keyboard, disable_web_page_preview=True)


# -- handlers ------------------------------------------------------------------------------------------------------
async def on_command(message: Message, command: CommandObject, store: AppStore, snapshots: SnapshotReader,
                     account: Account | None, lang: str) -> None:
    if account is None:
        await message.answer(t("stats.need_start", lang))
        return
    arg = channel_picker.clean_argument(command.args)
    if command.command.lower() == "post":
        reply = await asyncio.to_thread(post_command, snapshots, account, lang, arg)
    else:
        reply = await asyncio.to_thread(channel_command, snapshots, store, account, lang,
                                        command.command.lower(), arg)
    await send(message, reply)


async def on_pick(query: CallbackQuery, store: AppStore, snapshots: SnapshotReader, account: Account | None,
                  lang: str) -> None:
    picked = channel_picker.parse_pick(query.data)
    await query.answer()
    if query.message is None:
        return
    if account is None:
        await query.message.answer(t("stats.need_start", lang))
        return
    if picked is None or picked[0] not in COMMANDS or picked[0] == "post":
        await query.message.answer(t("stats.not_found", lang))
        return
    reply = await asyncio.to_thread(channel_command, snapshots, store, account, lang, picked[0],
                                    channel_id=picked[1])
    await send(query.message, reply)


def router() -> Router:
    """A new router with these handlers (a router belongs to one dispatcher; tests build several)."""
    r = Router(name="stats")
    r.message.register(on_command, Command(*COMMANDS, ignore_case=True))
    r.callback_query.register(on_pick, F.data.startswith(f"{channel_picker.PICK_PREFIX}:"))
    return r
