"""Live Telegram source: a telethon user session reads channels into the normalised contract (`contract.RawBatch`).

One poll of one channel (DESIGN.md "Telegram data"):

1. resolve the entity (``get_entity(username)`` or ``get_entity(PeerChannel(id))``);
2. ``channels.GetFullChannelRequest`` -> a ``telegram_channels`` row and a ``telegram_channel_snapshots`` row
   (``participants_count``);
3. new posts, incrementally by message id: ``iter_messages(min_id=state.max_message_id, reverse=True)`` -> one
   ``telegram_posts`` row and one ``telegram_post_snapshots`` row (the message's own counters) per message;
4. counters of known posts that `polling.is_due` says are due: ``messages.GetMessagesViewsRequest`` with
   ``increment=False`` (never counts as a view) in chunks of at most 100 ids, plus
   ``messages.GetMessagesReactionsRequest`` for their reactions (``reread_reactions``; a message the answer
   does not mention gets ``reactions = None``, i.e. "not observed");
5. only where ``ChannelFull.can_view_stats``: ``stats.GetBroadcastStatsRequest`` -> ``followers_graph``
   (loading a ``StatsGraphAsync`` with ``stats.LoadAsyncGraphRequest``) -> ``telegram_channel_daily_stats``.

Failure policy: ``FloodWaitError`` sleeps and retries up to ``max_retries`` times per call while the wait is at
most ``max_flood_wait_s``; past that the poll of the channel stops and returns what it gathered, plus a
``rejected_records`` row (record_key ``"poll"``). A channel that became private, was deleted or whose username
is gone gives one ``telegram_channels`` row with status ``private`` / ``unreachable`` (rows read before it
closed mid-poll are kept); it is never fatal. A username that now resolves to another channel id is
``unreachable`` too: another channel's data is never filed under this id.
`LivePoller.poll` polls channels one after the other and never lets one channel stop the others.

Edits of known posts are not detected here (``GetMessagesViewsRequest`` carries counters only); a post's
revision is its state when first read (``revision_at = edit_date or date``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Iterable

from telethon import errors, functions, types

from analyticbot.telegram import polling
from analyticbot.telegram.contract import RAW_TABLES, RawBatch, rejected, utc_naive

log = logging.getLogger(__name__)

SOURCE = "telethon"
VIEWS_CHUNK = 100  # GetMessagesViewsRequest accepts at most 100 ids
_MAX_ASYNC_GRAPH_HOPS = 3


@dataclass(frozen=True)
class LiveChannel:
    channel_id: int            # bare positive channel id (PeerChannel.channel_id)
    username: str | None = None  # used to resolve the entity if set, else PeerChannel(channel_id)


@dataclass(frozen=True)
class KnownPost:
    message_id: int
    posted_at: datetime        # naive UTC
    last_observed_at: datetime | None


@dataclass(frozen=True)
class ChannelState:
    """What the warehouse already holds for this channel (the caller queries it)."""

    max_message_id: int = 0
    known_posts: tuple[KnownPost, ...] = ()


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class _FloodGiveUp(Exception):
    """A flood wait beyond the bound (or too many of them): stop this channel's poll, keep what was gathered."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Unavailable(Exception):
    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


# Errors meaning "this channel cannot be read by this session any more". Anything else propagates.
_PRIVATE_ERRORS = (errors.ChannelPrivateError,)
_UNREACHABLE_ERRORS = (
    errors.ChannelInvalidError, errors.ChannelBannedError, errors.ChannelPublicGroupNaError,
    errors.UsernameNotOccupiedError, errors.UsernameInvalidError,
)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _flood_seconds(exc: BaseException) -> int | None:
    if isinstance(exc, errors.FloodError):
        seconds = getattr(exc, "seconds", None)
        return int(seconds) if seconds is not None else None
    return None


# -- message -> rows ----------------------------------------------------------------------------------------

def content_type(media: Any) -> tuple[str, bool]:
    """(content_type, has_media) of a message's media. Albums keep the per-message type; dbt collapses them."""
    if media is None or isinstance(media, types.MessageMediaEmpty):
        return "text", False
    if isinstance(media, types.MessageMediaWebPage):  # a link preview: still a text post
        return "text", False
    if isinstance(media, types.MessageMediaPhoto):
        return "photo", True
    if isinstance(media, types.MessageMediaPoll):
        return "poll", True
    if isinstance(media, types.MessageMediaDocument):
        document = media.document
        attributes = list(getattr(document, "attributes", None) or [])
        if any(isinstance(a, types.DocumentAttributeSticker) for a in attributes):
            return "sticker", True
        audio = next((a for a in attributes if isinstance(a, types.DocumentAttributeAudio)), None)
        if media.voice or (audio is not None and audio.voice):
            return "voice", True
        if media.video or media.round or any(
                isinstance(a, (types.DocumentAttributeVideo, types.DocumentAttributeAnimated)) for a in attributes):
            return "video", True
        if audio is not None:
            return "audio", True
        if isinstance(document, types.Document):
            return "document", True
        return "other", True
    return "other", True


def reactions_summary(reactions: Any) -> tuple[int, str]:
    """(total, JSON {emoji: count}) of a MessageReactions; custom emoji keyed ``custom:<document_id>``."""
    by_key: dict[str, int] = {}
    for rc in getattr(reactions, "results", None) or []:
        reaction = rc.reaction
        if isinstance(reaction, types.ReactionEmoji):
            key = reaction.emoticon
        elif isinstance(reaction, types.ReactionCustomEmoji):
            key = f"custom:{reaction.document_id}"
        elif isinstance(reaction, types.ReactionPaid):
            key = "paid"
        else:
            key = "other"
        by_key[key] = by_key.get(key, 0) + int(rc.count or 0)
    return sum(by_key.values()), json.dumps(by_key, ensure_ascii=False, sort_keys=True)


def _replies(replies: Any) -> int | None:
    return replies.replies if replies is not None else None


def _message_payload(message: Any) -> Any:
    try:
        return message.to_dict()
    except Exception:  # noqa: BLE001 - the payload is best-effort diagnostics
        return repr(message)


# -- stats graph --------------------------------------------------------------------------------------------

def joins_leaves_from_graph(data: str) -> list[tuple[Any, int | None, int | None]]:
    """(day, joins, leaves) from a Telegram followers graph JSON (columns with x in unix ms, names Joined/Left)."""
    doc = json.loads(data)
    columns = {col[0]: col[1:] for col in doc.get("columns") or [] if col}
    kinds = doc.get("types") or {}
    x_key = next((k for k in columns if k == "x" or kinds.get(k) == "x"), None)
    if x_key is None:
        raise ValueError("graph has no x column")
    names = {k: str(v).lower() for k, v in (doc.get("names") or {}).items()}
    joined_key = next((k for k, v in names.items() if "joined" in v and k in columns), None)
    left_key = next((k for k, v in names.items() if "left" in v and k in columns), None)
    if joined_key is None and left_key is None:
        raise ValueError(f"graph has no Joined/Left series (names: {sorted(names.values())})")

    def value(key: str | None, i: int) -> int | None:
        if key is None or i >= len(columns[key]) or columns[key][i] is None:
            return None
        return int(columns[key][i])

    rows = []
    for i, ms in enumerate(columns[x_key]):
        if ms is None:
            continue
        day = datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc).date()
        rows.append((day, value(joined_key, i), value(left_key, i)))
    return rows


# -- the poller ---------------------------------------------------------------------------------------------

class _Rows:
    def __init__(self) -> None:
        self.by_table: dict[str, list[dict]] = {name: [] for name in RAW_TABLES}

    def add(self, table: str, row: dict) -> None:
        self.by_table[table].append(row)

    def batch(self) -> RawBatch:
        return RawBatch.from_rows(self.by_table)


class LivePoller:
    """Polls channels through a connected, authorised telethon client (see `make_client`)."""

    def __init__(self, client: Any, *, now: Callable[[], datetime] = _utc_now,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 max_flood_wait_s: float = 300, max_retries: int = 3,
                 schedule: tuple[polling.PollTier, ...] = polling.DEFAULT_SCHEDULE,
                 reread_reactions: bool = True):
        self.client = client
        self._now = now
        self._sleep = sleep
        self.max_flood_wait_s = max_flood_wait_s
        self.max_retries = max_retries
        self.schedule = schedule
        self.reread_reactions = reread_reactions
        self._dialogs_loaded = False

    # -- public ---------------------------------------------------------------------------------------------
    async def poll(self, channels: Iterable[tuple[LiveChannel, ChannelState]]) -> RawBatch:
        """Poll every channel in turn; the batches are concatenated. One failing channel never stops the rest."""
        batch = _Rows().batch()
        for channel, state in channels:
            try:
                part = await self.poll_channel(channel, state)
            except Exception as exc:  # noqa: BLE001 - recorded, and the next channel is polled
                log.exception("polling channel %s failed", channel.channel_id)
                rows = _Rows()
                rows.add("rejected_records", rejected(
                    SOURCE, channel.channel_id, "poll", f"poll failed: {_describe(exc)}",
                    {"channel_id": channel.channel_id, "username": channel.username}, self._now()))
                part = rows.batch()
            batch = batch.extend(part)
        return batch

    async def poll_channel(self, channel: LiveChannel, state: ChannelState) -> RawBatch:
        now = utc_naive(self._now())
        rows = _Rows()
        info: dict[str, Any] = {}
        try:
            entity = await self._resolve(channel)
            full = await self._call(lambda: self.client(functions.channels.GetFullChannelRequest(entity)))
            full_chat = full.full_chat
            chat = next((c for c in full.chats if getattr(c, "id", None) == channel.channel_id), entity)
            info = {"title": getattr(chat, "title", None), "username": getattr(chat, "username", None)}
            if full_chat.participants_count is not None:
                rows.add("telegram_channel_snapshots", {
                    "channel_id": channel.channel_id, "observed_at": now,
                    "subscribers": full_chat.participants_count})
            new_ids = await self._new_posts(entity, channel, state, now, rows)
            await self._due_posts(entity, channel, state, now, rows, skip=new_ids)
            if full_chat.can_view_stats:
                await self._daily_stats(entity, channel, now, rows)
        except _FloodGiveUp as exc:
            log.warning("channel %s: %s; returning a partial batch", channel.channel_id, exc.reason)
            rows.add("rejected_records", rejected(
                SOURCE, channel.channel_id, "poll", exc.reason,
                {"channel_id": channel.channel_id, "username": channel.username}, now))
        except _Unavailable as exc:
            return self._unavailable(rows, channel, now, exc.status, exc.reason)
        except _PRIVATE_ERRORS as exc:
            return self._unavailable(rows, channel, now, "private", _describe(exc))
        except _UNREACHABLE_ERRORS as exc:
            return self._unavailable(rows, channel, now, "unreachable", _describe(exc))
        if info:
            rows.add("telegram_channels", {
                "channel_id": channel.channel_id, "observed_at": now, "source_kind": SOURCE,
                "title": info["title"], "username": info["username"], "status": "active", "status_reason": None})
        return rows.batch()

    # -- steps ----------------------------------------------------------------------------------------------
    async def _resolve(self, channel: LiveChannel) -> Any:
        target = channel.username or types.PeerChannel(channel.channel_id)
        try:
            entity = await self._call(lambda: self.client.get_entity(target))
        except ValueError as exc:
            if channel.username or self._dialogs_loaded:
                raise _Unavailable("unreachable", _describe(exc)) from exc
            # A bare id resolves only if the session has seen the channel (its access hash); a fresh
            # StringSession has not. Loading the dialogs once fills telethon's entity cache.
            self._dialogs_loaded = True
            await self._call(lambda: self.client.get_dialogs())
            try:
                entity = await self._call(lambda: self.client.get_entity(target))
            except ValueError as exc2:
                raise _Unavailable("unreachable", _describe(exc2)) from exc2
        if not isinstance(entity, types.Channel):
            raise _Unavailable("unreachable", f"{target!r} resolves to a {type(entity).__name__}, not a channel")
        if entity.id != channel.channel_id:
            # Usernames can be handed over; never file another channel's data under this id.
            raise _Unavailable(
                "unreachable", f"username {channel.username!r} now belongs to channel {entity.id}")
        return entity

    async def _new_posts(self, entity: Any, channel: LiveChannel, state: ChannelState, now: datetime,
                         rows: _Rows) -> set[int]:
        seen: set[int] = set()
        last_id = state.max_message_id
        attempts = 0
        while True:
            try:
                async for message in self.client.iter_messages(entity, min_id=last_id, reverse=True):
                    mid = getattr(message, "id", None)
                    if isinstance(mid, int) and mid > last_id:
                        last_id = mid  # a flood wait mid-iteration resumes after the last message read
                    if isinstance(message, (types.MessageService, types.MessageEmpty)):
                        continue  # joins, pins, title changes: not posts
                    if isinstance(mid, int) and mid in seen:
                        continue
                    if self._add_message(message, channel, now, rows) and isinstance(mid, int):
                        seen.add(mid)
                return seen
            except errors.FloodError as exc:
                attempts = await self._flood(exc, attempts)

    def _add_message(self, message: Any, channel: LiveChannel, now: datetime, rows: _Rows) -> bool:
        mid = getattr(message, "id", None)
        problem = None
        if not isinstance(message, types.Message):
            problem = f"unexpected message type {type(message).__name__}"
        elif not isinstance(mid, int) or isinstance(mid, bool):
            problem = "message has no id"
        elif message.date is None:
            problem = "message has no date"
        if problem:
            log.warning("channel %s message %s rejected: %s", channel.channel_id, mid, problem)
            rows.add("rejected_records", rejected(
                SOURCE, channel.channel_id, mid, problem, _message_payload(message), now))
            return False
        posted_at = utc_naive(message.date)
        edited_at = utc_naive(message.edit_date)
        kind, has_media = content_type(message.media)
        rows.add("telegram_posts", {
            "channel_id": channel.channel_id, "message_id": mid, "revision_at": edited_at or posted_at,
            "grouped_id": message.grouped_id, "posted_at": posted_at, "edited_at": edited_at, "deleted": False,
            "content_type": kind, "text_length": len(message.message or ""), "has_media": has_media,
            "is_forward": message.fwd_from is not None, "source_kind": SOURCE,
        })
        total, by_emoji = reactions_summary(message.reactions)
        rows.add("telegram_post_snapshots", {
            "channel_id": channel.channel_id, "message_id": mid, "observed_at": now,
            "views": message.views, "forwards": message.forwards, "replies": _replies(message.replies),
            # No MessageReactions on a read message means nobody reacted (or reactions are off): zero, observed.
            "reactions": total, "reactions_by_emoji": by_emoji,
        })
        return True

    async def _due_posts(self, entity: Any, channel: LiveChannel, state: ChannelState, now: datetime,
                         rows: _Rows, skip: set[int]) -> None:
        due: list[int] = []
        for post in state.known_posts:
            if post.message_id in skip or post.message_id in due:
                continue
            if polling.is_due(utc_naive(post.posted_at), utc_naive(post.last_observed_at), now, self.schedule):
                due.append(post.message_id)
        for start in range(0, len(due), VIEWS_CHUNK):
            ids = due[start:start + VIEWS_CHUNK]
            result = await self._call(lambda: self.client(functions.messages.GetMessagesViewsRequest(
                peer=entity, id=list(ids), increment=False)))
            views = list(result.views)
            if len(views) != len(ids):
                log.warning("channel %s: %d views for %d ids", channel.channel_id, len(views), len(ids))
                for mid in ids[len(views):]:
                    rows.add("rejected_records", rejected(
                        SOURCE, channel.channel_id, mid, "no counters returned by GetMessagesViewsRequest",
                        {"message_id": mid}, now))
            reactions = await self._reactions(entity, channel, ids) if self.reread_reactions else {}
            empty = 0
            for mid, mv in zip(ids, views):
                if mv.views is None and mv.forwards is None and mv.replies is None:
                    empty += 1  # a deleted message answers with no counters: nothing was observed
                    continue
                total, by_emoji = (None, None)
                if mid in reactions:
                    total, by_emoji = reactions_summary(reactions[mid])
                rows.add("telegram_post_snapshots", {
                    "channel_id": channel.channel_id, "message_id": mid, "observed_at": now,
                    "views": mv.views, "forwards": mv.forwards, "replies": _replies(mv.replies),
                    "reactions": total, "reactions_by_emoji": by_emoji,
                })
            if empty:
                log.info("channel %s: %d re-read messages returned no counters (deleted?)",
                         channel.channel_id, empty)

    async def _reactions(self, entity: Any, channel: LiveChannel, ids: list[int]) -> dict[int, Any]:
        """msg_id -> MessageReactions from GetMessagesReactionsRequest (answered as updates). Best effort."""
        try:
            result = await self._call(lambda: self.client(functions.messages.GetMessagesReactionsRequest(
                peer=entity, id=list(ids))))
        except (_FloodGiveUp, *_PRIVATE_ERRORS, *_UNREACHABLE_ERRORS):
            raise
        except errors.RPCError as exc:
            log.warning("channel %s: reactions not re-read: %s", channel.channel_id, _describe(exc))
            return {}
        wanted = set(ids)
        found: dict[int, Any] = {}
        for update in getattr(result, "updates", None) or []:
            if isinstance(update, types.UpdateMessageReactions) and update.msg_id in wanted:
                found[update.msg_id] = update.reactions
        return found

    async def _daily_stats(self, entity: Any, channel: LiveChannel, now: datetime, rows: _Rows) -> None:
        try:
            stats = await self._stats_request(functions.stats.GetBroadcastStatsRequest(channel=entity, dark=False))
            graph = stats.followers_graph
            for _ in range(_MAX_ASYNC_GRAPH_HOPS):
                if not isinstance(graph, types.StatsGraphAsync):
                    break
                graph = await self._stats_request(functions.stats.LoadAsyncGraphRequest(token=graph.token))
        except (_FloodGiveUp, *_PRIVATE_ERRORS, *_UNREACHABLE_ERRORS):
            raise
        except errors.RPCError as exc:
            log.warning("channel %s: statistics not read: %s", channel.channel_id, _describe(exc))
            return
        if isinstance(graph, types.StatsGraphError):
            log.warning("channel %s: followers graph unavailable: %s", channel.channel_id, graph.error)
            return
        if not isinstance(graph, types.StatsGraph):
            log.warning("channel %s: followers graph not loaded (%s)", channel.channel_id, type(graph).__name__)
            return
        try:
            days = joins_leaves_from_graph(graph.json.data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            rows.add("rejected_records", rejected(
                SOURCE, channel.channel_id, "followers_graph", f"unreadable followers graph: {exc}",
                getattr(getattr(graph, "json", None), "data", None), now))
            return
        for day, joins, leaves in days:
            rows.add("telegram_channel_daily_stats", {
                "channel_id": channel.channel_id, "day": day, "joins": joins, "leaves": leaves,
                "observed_at": now})

    async def _stats_request(self, request: Any) -> Any:
        """Statistics live on a dedicated DC; like `TelegramClient.get_stats`, follow a StatsMigrateError there."""
        try:
            return await self._call(lambda: self.client(request))
        except errors.StatsMigrateError as exc:
            borrow = getattr(self.client, "_borrow_exported_sender", None)
            give_back = getattr(self.client, "_return_exported_sender", None)
            if borrow is None or give_back is None:
                raise
            sender = await borrow(exc.dc)
            try:  # the request was resolved in place by the first call, as in get_stats
                return await self._call(lambda: sender.send(request))
            finally:
                await give_back(sender)

    # -- flood waits ------------------------------------------------------------------------------------------
    async def _call(self, make: Callable[[], Awaitable[Any]]) -> Any:
        attempts = 0
        while True:
            try:
                return await make()
            except errors.FloodError as exc:
                attempts = await self._flood(exc, attempts)

    async def _flood(self, exc: errors.FloodError, attempts: int) -> int:
        """Sleep out a flood wait within the bound and return the new attempt count, or raise `_FloodGiveUp`."""
        seconds = _flood_seconds(exc)
        if seconds is None:
            raise exc
        if seconds > self.max_flood_wait_s:
            raise _FloodGiveUp(f"flood wait of {seconds} s exceeds bound ({self.max_flood_wait_s:g} s)") from exc
        if attempts >= self.max_retries:
            raise _FloodGiveUp(f"flood wait of {seconds} s after {attempts} retries: retries exhausted") from exc
        log.info("flood wait of %s s (retry %d of %d)", seconds, attempts + 1, self.max_retries)
        await self._sleep(seconds)
        return attempts + 1

    def _unavailable(self, rows: _Rows, channel: LiveChannel, now: datetime, status: str, reason: str) -> RawBatch:
        """The channel row says private/unreachable; rows read before the channel closed are kept."""
        log.warning("channel %s is %s: %s", channel.channel_id, status, reason)
        rows.add("telegram_channels", {
            "channel_id": channel.channel_id, "observed_at": now, "source_kind": SOURCE, "title": None,
            "username": channel.username, "status": status, "status_reason": reason})
        return rows.batch()


def make_client(settings: Any) -> Any:
    """A telethon client from the settings' StringSession, api_id and api_hash. Not connected.

    ``flood_sleep_threshold=0``: telethon does not sleep on flood waits by itself, so `LivePoller`'s bound
    (``max_flood_wait_s``, ``max_retries``) is the one policy.
    """
    from telethon import TelegramClient
    from telethon.sessions import StringSession

    from analyticbot.settings import ConfigError

    missing = [var for var, value in (
        ("TELEGRAM_API_ID", settings.telegram_api_id),
        ("TELEGRAM_API_HASH", settings.telegram_api_hash),
        ("TELEGRAM_SESSION", settings.telegram_session),
    ) if value in (None, "")]
    if missing:
        raise ConfigError(f"live Telegram polling needs {', '.join(missing)} to be set")
    try:
        session = StringSession(settings.telegram_session)
    except Exception:  # noqa: BLE001 - the message must not echo the secret
        raise ConfigError("TELEGRAM_SESSION is not a valid telethon StringSession") from None
    return TelegramClient(session, int(settings.telegram_api_id), settings.telegram_api_hash,
                          flood_sleep_threshold=0)
