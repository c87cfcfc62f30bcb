"""The bot's outgoing queue: messages are written to `bot_outbox` and sent within Telegram's limits.

Anything the bot sends on its own (digests, alerts, broadcasts) goes through `enqueue`, inside the caller's
transaction, so "the digest is due" and "the digest is queued" commit together; a `dedupe_key` makes a second
enqueue of the same digest or alert a no-op. `OutboxSender` sends what is due.

Limits (Bot API FAQ): about 30 messages/s overall, 1/s per chat, 20/min per group or channel. We pace at 25/s
spread evenly (one every 40 ms, so a burst never reaches Telegram's window), 1/s per chat, and for groups and
channels also 20 per sliding minute. Each limit is a window: at most `n` sends in any `per` seconds (a token
comes back exactly `per` seconds after it was spent), which unlike a refilling bucket never lets `burst + rate`
through in one window.

Delivery is at least once, in order per chat:
- a row is marked sent only after Telegram accepted it. A crash between Telegram's answer and our commit (one
  transaction, milliseconds) leaves the row queued, and the next sender sends it again: that message can arrive
  twice; nothing is lost. Run one sender per store: two would send the same rows.
- 429 `retry_after`: the row stays queued with `not_before` moved on (a restart honours it too) and is sent once
  after the wait. It pauses that chat; for a private chat, which we already pace at 1/s, the flood is the
  bot's overall rate, so it pauses every chat.
- 403 (blocked by the user, removed from the group or channel): the user's `blocked_at` is set and every queued
  row for that chat becomes dropped_blocked. `enqueue` skips users who blocked the bot; `mark_returned` clears it.
- 400/404/413 (a message Telegram will never take): failed at once, the error kept. Anything else (5xx,
  network, timeouts): retried with backoff, then failed after `max_attempts`, the error kept.
- A chat's later messages wait behind a message that is waiting to be retried.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import (TelegramBadRequest, TelegramEntityTooLarge, TelegramForbiddenError,
                                TelegramMigrateToChat, TelegramNotFound, TelegramRetryAfter,
                                TelegramUnauthorizedError)
from aiogram.methods import SendDocument, SendMessage, SendPhoto, TelegramMethod
from aiogram.types import BufferedInputFile, FSInputFile
from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import OUTBOX_CHAT_KINDS, OUTBOX_KINDS, OutboxMessage, User

METHODS: dict[str, type[TelegramMethod]] = {m.__api_method__: m for m in (SendMessage, SendPhoto, SendDocument)}
FILE_PARAMS = ("photo", "document", "thumbnail")
NEVER_ACCEPTED = (TelegramBadRequest, TelegramNotFound, TelegramEntityTooLarge)
_INSERT = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def utc_naive(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc).replace(tzinfo=None)


# -- enqueue ------------------------------------------------------------------------------------------------
def build_method(method: str, chat_id: int, params: dict[str, Any]) -> TelegramMethod:
    """The aiogram method a payload stands for. A file parameter is a file_id or URL string, {"path": ...} for a
    file on disk, or {"base64": ..., "filename": ...} for bytes (a rendered chart)."""
    if method not in METHODS:
        raise ValueError(f"outbox cannot send {method!r}; expected one of {', '.join(METHODS)}")
    args = dict(params)
    for name in FILE_PARAMS:
        ref = args.get(name)
        if isinstance(ref, dict) and "path" in ref:
            args[name] = FSInputFile(ref["path"], filename=ref.get("filename"))
        elif isinstance(ref, dict):
            args[name] = BufferedInputFile(base64.b64decode(ref["base64"]), filename=ref["filename"])
    return METHODS[method](chat_id=chat_id, **args)


def enqueue(session: Session, *, chat_id: int, chat_kind: str, kind: str, params: dict[str, Any],
            method: str = "sendMessage", dedupe_key: str | None = None, not_before: datetime | None = None,
            now: datetime | None = None) -> int | None:
    """Queue one message in the caller's transaction. Returns its id, or None when nothing was queued: a row with
    this `dedupe_key` exists already (in any status), or the private chat's user has blocked the bot.

    `params` are the Bot API method's parameters without chat_id (text, parse_mode, entities, reply_markup...),
    JSON-able; they are validated here, so a bad message fails its producer, not the sender."""
    if chat_kind not in OUTBOX_CHAT_KINDS:
        raise ValueError(f"unknown chat kind {chat_kind!r}; expected one of {', '.join(OUTBOX_CHAT_KINDS)}")
    if kind not in OUTBOX_KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}; expected one of {', '.join(OUTBOX_KINDS)}")
    build_method(method, chat_id, params)
    if chat_kind == "private" and session.scalar(select(User.blocked_at).where(User.user_id == chat_id)):
        return None
    now = now or datetime.utcnow()
    row = dict(chat_id=chat_id, chat_kind=chat_kind, kind=kind, dedupe_key=dedupe_key, attempts=0,
               payload=json.dumps({"method": method, "params": params}), not_before=not_before or now,
               status="queued", created_at=now)
    stmt = _INSERT[session.get_bind().dialect.name](OutboxMessage).values(**row)
    stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(OutboxMessage.id)
    return session.scalar(stmt)


def mark_returned(session: Session, user_id: int) -> None:
    """The user talked to the bot again (/start after a block): their messages can be queued again."""
    session.execute(update(User).where(User.user_id == user_id).values(blocked_at=None))


# -- pacing -------------------------------------------------------------------------------------------------
@dataclass
class Window:
    """At most `n` sends in any `per` seconds."""
    n: int
    per: float
    sent: deque[float] = field(default_factory=deque)

    def ready_at(self, now: float) -> float:
        while self.sent and self.sent[0] + self.per <= now:
            self.sent.popleft()
        return now if len(self.sent) < self.n else self.sent[0] + self.per

    def take(self, now: float) -> None:
        self.sent.append(now)


@dataclass(frozen=True)
class Limits:
    overall: tuple[int, float] = (1, 1 / 25)
    private: tuple[tuple[int, float], ...] = ((1, 1.0),)
    group: tuple[tuple[int, float], ...] = ((1, 1.0), (20, 60.0))


class Pacer:
    """Telegram's limits and its 429 pauses, per chat and overall."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.overall = Window(*limits.overall)
        self.chats: dict[int, list[Window]] = {}
        self.paused_until: dict[int | None, float] = {}  # None: every chat

    def _windows(self, chat_id: int, chat_kind: str) -> list[Window]:
        if chat_id not in self.chats:
            spec = self.limits.private if chat_kind == "private" else self.limits.group
            self.chats[chat_id] = [Window(n, per) for n, per in spec]
        return self.chats[chat_id]

    def overall_ready_at(self, now: float) -> float:
        return max(self.overall.ready_at(now), self.paused_until.get(None, now))

    def chat_ready_at(self, chat_id: int, chat_kind: str, now: float) -> float:
        return max([now, self.paused_until.get(chat_id, now), *(w.ready_at(now) for w in
                                                                self._windows(chat_id, chat_kind))])

    def take(self, chat_id: int, chat_kind: str, now: float) -> None:
        self.overall.take(now)
        for w in self._windows(chat_id, chat_kind):
            w.take(now)

    def pause(self, chat_id: int | None, until: float) -> None:
        self.paused_until[chat_id] = max(until, self.paused_until.get(chat_id, until))


# -- sending ------------------------------------------------------------------------------------------------
@dataclass
class Due:
    id: int
    chat_id: int
    chat_kind: str
    payload: str
    attempts: int


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dropped_blocked: int = 0


class OutboxSender:
    """Sends due outbox rows through `bot`, paced by `limits`. `clock` (seconds since the epoch) and `sleep` are
    injectable so tests run on a fake clock. `run()` serves forever; `drain()` returns when nothing is queued."""

    def __init__(self, store: AppStore, bot: Bot, *, limits: Limits = Limits(),
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 max_attempts: int = 5, backoff: float = 2.0, max_backoff: float = 300.0, batch: int = 500,
                 max_in_flight: int = 16, poll_interval: float = 1.0):
        self.store, self.bot, self.clock, self.sleep = store, bot, clock, sleep
        self.pacer = Pacer(limits)
        self.max_attempts, self.backoff, self.max_backoff = max_attempts, backoff, max_backoff
        self.batch, self.max_in_flight, self.poll_interval = batch, max_in_flight, poll_interval
        self.report = SendReport()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Send due rows as they come, until `stop` is set."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            if not await self._send_due():
                await self._idle()

    async def drain(self) -> SendReport:
        """Send until no row is queued, waiting out retry pauses and backoff. For tests and one-off runs."""
        while True:
            if not await self._send_due():
                if not self._queued():
                    return self.report
                await self._idle()

    async def _idle(self) -> None:
        """Nothing is due: sleep until the next row is, or for `poll_interval` (new rows), whichever is first."""
        now = self.clock()
        with self.store.transaction() as s:
            first = s.scalar(select(func.min(OutboxMessage.not_before))
                             .where(OutboxMessage.status == "queued", OutboxMessage.not_before > utc_naive(now)))
        wait = self.poll_interval if first is None else first.replace(tzinfo=timezone.utc).timestamp() - now
        await self.sleep(max(0.0, min(wait, self.poll_interval)))

    def _queued(self) -> int:
        with self.store.transaction() as s:
            return s.scalar(select(func.count()).where(OutboxMessage.status == "queued"))

    def _load_due(self) -> list[Due]:
        # Oldest first, and never past an earlier queued row of the same chat that is not due yet (per-chat order).
        o, earlier = OutboxMessage, aliased(OutboxMessage)
        now = utc_naive(self.clock())
        held_back = exists().where(and_(earlier.chat_id == o.chat_id, earlier.status == "queued",
                                        earlier.id < o.id, earlier.not_before > now))
        query = (select(o.id, o.chat_id, o.chat_kind, o.payload, o.attempts)
                 .where(o.status == "queued", o.not_before <= now, ~held_back).order_by(o.id).limit(self.batch))
        with self.store.transaction() as s:
            return [Due(*r) for r in s.execute(query).all()]

    async def _send_due(self) -> int:
        """Send one batch of due rows: per chat in order, the oldest ready chat first. Returns rows loaded."""
        rows = self._load_due()
        queues: dict[int, deque[Due]] = {}
        for row in rows:
            queues.setdefault(row.chat_id, deque()).append(row)
        in_flight: dict[asyncio.Task, int] = {}
        while queues or in_flight:
            for task in [t for t in in_flight if t.done()]:
                chat_id = in_flight.pop(task)
                if not task.result():  # the chat waits (retry) or is gone (blocked): its rest goes back to the store
                    queues.pop(chat_id, None)
            if not queues and not in_flight:
                break
            now = self.clock()
            busy = set(in_flight.values())
            heads = [(self.pacer.chat_ready_at(c, q[0].chat_kind, now), q[0]) for c, q in queues.items()
                     if c not in busy]
            ready = [row for at, row in heads if at <= now]
            overall_at = self.pacer.overall_ready_at(now)
            full = len(in_flight) >= self.max_in_flight
            if ready and overall_at <= now and not full:
                self._start(min(ready, key=lambda r: r.id), queues, in_flight, now)
                await asyncio.sleep(0)  # the request starts now, at the time the pacer recorded
                continue
            until = float("inf") if full or not heads else max(overall_at, min(at for at, _ in heads))
            await self._wait(in_flight, until)
        return len(rows)

    def _start(self, row: Due, queues: dict[int, deque[Due]], in_flight: dict[asyncio.Task, int],
               now: float) -> None:
        queues[row.chat_id].popleft()
        if not queues[row.chat_id]:
            del queues[row.chat_id]
        self.pacer.take(row.chat_id, row.chat_kind, now)
        in_flight[asyncio.create_task(self._deliver(row))] = row.chat_id

    async def _wait(self, in_flight: dict[asyncio.Task, int], until: float) -> None:
        """Until a send finishes or `until`, whichever is first."""
        delay = until - self.clock()
        if not in_flight:
            await self.sleep(max(0.0, delay))
            return
        waiters = set(in_flight)
        timer = asyncio.ensure_future(self.sleep(max(0.0, delay))) if delay != float("inf") else None
        if timer is not None:
            waiters.add(timer)
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if timer is not None and not timer.done():
            timer.cancel()

    async def _deliver(self, row: Due) -> bool:
        """Send one row and record the outcome. True when the chat's next message may follow."""
        payload = json.loads(row.payload)
        try:
            await self.bot(build_method(payload["method"], row.chat_id, payload["params"]))
        except TelegramRetryAfter as e:
            until = self.clock() + e.retry_after
            self.pacer.pause(row.chat_id, until)
            if row.chat_kind == "private":
                self.pacer.pause(None, until)
            self._retry_later(row, until, e, counts=False)
            return False
        except TelegramForbiddenError as e:
            self._drop_blocked(row, e)
            return False
        except TelegramMigrateToChat as e:  # a group became a supergroup: same chat, new id
            self._update(row.id, chat_id=e.migrate_to_chat_id, last_error=_error(e))
            return False
        except TelegramUnauthorizedError:
            raise  # our token is wrong: nothing can be sent, stop rather than fail every row
        except NEVER_ACCEPTED as e:
            self._update(row.id, status="failed", attempts=row.attempts + 1, last_error=_error(e))
            self.report.failed += 1
            return True
        except Exception as e:  # noqa: BLE001 - network, 5xx, timeouts: retried, bounded
            if row.attempts + 1 >= self.max_attempts:
                self._update(row.id, status="failed", attempts=row.attempts + 1, last_error=_error(e))
                self.report.failed += 1
                return True
            delay = min(self.max_backoff, self.backoff * 2 ** row.attempts)
            self.pacer.pause(row.chat_id, self.clock() + delay)
            self._retry_later(row, self.clock() + delay, e, counts=True)
            return False
        self._update(row.id, status="sent", attempts=row.attempts + 1, sent_at=utc_naive(self.clock()))
        self.report.sent += 1
        return True

    def _retry_later(self, row: Due, at: float, e: Exception, *, counts: bool) -> None:
        self._update(row.id, not_before=utc_naive(at), last_error=_error(e),
                     attempts=row.attempts + (1 if counts else 0))
        self.report.retried += 1

    def _drop_blocked(self, row: Due, e: Exception) -> None:
        now = utc_naive(self.clock())
        with self.store.transaction() as s:
            if row.chat_kind == "private":
                s.execute(update(User).where(User.user_id == row.chat_id).values(blocked_at=now))
            dropped = s.execute(update(OutboxMessage)
                                .where(OutboxMessage.chat_id == row.chat_id, OutboxMessage.status == "queued")
                                .values(status="dropped_blocked", last_error=_error(e)))
        self.report.dropped_blocked += dropped.rowcount

    def _update(self, row_id: int, **values: Any) -> None:
        with self.store.transaction() as s:
            s.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))


def _error(e: Exception) -> str:
    return f"{type(e).__name__}: {e}"[:512]
