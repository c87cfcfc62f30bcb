"""What the bot sends on its own schedule: each owner's digest at their local hour, and alerts as the snapshot shows
them. It only queues; `bot.outbox.OutboxSender` sends, within Telegram's limits.

A tick (every `interval` seconds, on an injectable clock) does two things:

- **Digests.** Owners who have a digest period, have not blocked the bot and have at least one active channel
  become `DigestPrefs`; `bot.digests.due_digests` says whose local hour has come. A digest already in `bot_outbox`
  under its key (in any status: sent, failed, dropped) is not composed again, so a restart, a second tick within
  the grace hour or a crash after queueing never sends twice. An owner whose channels the published snapshot
  does not hold yet (the pipeline has not run since they connected) is passed over this tick and picked up by a
  later one within the grace hour: a digest saying "no data" to someone who just connected helps nobody.
- **Alerts** (paid plans, `alerts_enabled`): `analyticbot.alerts.detect_alerts` on the owner's channels, each
  queued once under its dedupe key; inside the owner's quiet hours it is queued with `not_before` at their end,
  so it waits in the outbox (and survives a restart) instead of being dropped. The snapshot only changes when the
  pipeline publishes, so an owner is checked once per snapshot version (a restart checks again; the dedupe keys
  make that harmless).

Each owner's messages are queued in one transaction: the photo and, when the text is too long for a caption,
the text after it, or nothing. Composing happens outside the store's transaction, in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

from sqlalchemy import exists, select

from analyticbot import alerts as alerting
from analyticbot import channel_reads
from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import Channel, OutboxMessage, User
from analyticbot.entitlements import CurrentPlan, current_plan
from analyticbot.snapshot import ReadConnection, SnapshotReader, SnapshotUnavailable
from bot.digests import Digest, DigestPrefs, DueDigest, compose_many, due_digests
from bot.entities import split_message, utf16_len
from bot.i18n import fmt_date, fmt_decimal, fmt_int, fmt_percent, t
from bot.outbox import enqueue

log = logging.getLogger("analyticbot.bot.scheduler")
CAPTION_LIMIT = 1024  # Bot API: a photo caption is at most 1024 characters after entity parsing (UTF-16 units)


@dataclass
class TickReport:
    digests: int = 0  # owners whose digest was queued
    digests_waiting: int = 0  # due, but the snapshot does not hold their channels yet
    alerts: int = 0
    alerts_held: int = 0  # queued to wait for the end of quiet hours
    snapshot_version: str | None = None


@dataclass(frozen=True)
class Owner:
    """What a tick needs of a user, read once per tick."""
    user_id: int
    lang: str
    time_zone: str
    period: str
    hour: int
    weekday: int
    alerts_enabled: bool
    quiet_start: int | None
    quiet_end: int | None


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(timezone.utc).replace(tzinfo=None)


def load_owners(store: AppStore) -> list[Owner]:
    """Users who have not blocked the bot and have at least one active channel."""
    has_channel = exists().where(Channel.owner_user_id == User.user_id, Channel.active.is_(True))
    with store.transaction() as s:
        rows = s.execute(select(User.user_id, User.language, User.time_zone, User.digest_period, User.digest_hour,
                                User.digest_weekday, User.alerts_enabled, User.quiet_start_hour,
                                User.quiet_end_hour)
                         .where(User.blocked_at.is_(None), has_channel).order_by(User.user_id)).all()
    return [Owner(*r) for r in rows]


def queued_keys(store: AppStore, keys: Iterable[str]) -> set[str]:
    """Which of these dedupe keys are in the outbox already, in any status."""
    keys = list(keys)
    found: set[str] = set()
    with store.transaction() as s:
        for i in range(0, len(keys), 500):  # bounded IN lists
            found |= set(s.scalars(select(OutboxMessage.dedupe_key)
                                   .where(OutboxMessage.dedupe_key.in_(keys[i:i + 500]))))
    return found


def digest_messages(digest: Digest) -> list[tuple[str, dict]]:
    """(method, params) to queue for a digest: one photo with the text as its caption when it fits, else the photo
    and then the text, in as many messages as it takes (a caption is capped at 1024 UTF-16 units, a message at
    4096; an owner with many channels gets a long digest), each with at most 100 entities."""
    def dump(entities):
        return [e.model_dump(exclude_none=True) for e in entities]

    photo = {"base64": base64.b64encode(digest.chart_png).decode(), "filename": "digest.png"} \
        if digest.chart_png is not None else None
    if photo is not None and utf16_len(digest.text) <= CAPTION_LIMIT:
        [(text, entities)] = split_message(digest.text, digest.entities, CAPTION_LIMIT)
        return [("sendPhoto", {"photo": photo, "caption": text, "caption_entities": dump(entities)})]
    texts = [("sendMessage", {"text": text, "entities": dump(entities)})
             for text, entities in split_message(digest.text, digest.entities)]
    return ([("sendPhoto", {"photo": photo})] if photo is not None else []) + texts


def alert_text(alert: alerting.Alert, ch: dict, lang: str) -> str:
    title = ch.get("title") or str(alert.channel_id)
    if alert.kind == "subscribers_drop":
        return t("alert.subscribers_drop", lang, title=title, lost=fmt_int(-alert.value, lang),
                 date=fmt_date(alert.day, lang), share=fmt_percent(alert.ratio, lang))
    link = channel_reads.post_link(ch, alert.message_id) or ""
    return t(f"alert.{alert.kind}", lang, title=title, views=fmt_int(alert.value, lang),
             usual=fmt_int(alert.usual, lang), ratio=fmt_decimal(alert.ratio, lang, 1), link=link).rstrip()


class Scheduler:
    """Queues digests and alerts. `tick(now)` is one pass (blocking: call it in a thread); `run()` ticks every
    `interval` seconds until stopped. `clock` (epoch seconds) is injectable for tests; `workers`
    processes compose a tick's digests when more than a chunk are due (`bot.digests.compose_many`)."""

    def __init__(self, store: AppStore, snapshots: SnapshotReader, *, interval: float = 60.0,
                 grace: timedelta = timedelta(hours=1), clock: Callable[[], float] = time.time, workers: int = 1):
        self.store, self.snapshots, self.workers = store, snapshots, workers
        self.interval, self.grace, self.clock = interval, grace, clock
        self._alerts_checked: tuple[str | None, set[int]] = (None, set())  # (snapshot version, owners checked)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.tick)
            except Exception:  # noqa: BLE001 - one bad tick must not stop digests for good; the next one retries
                log.exception("scheduler tick failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
            except asyncio.TimeoutError:
                pass

    def tick(self, now: datetime | None = None) -> TickReport:
        now = now or datetime.fromtimestamp(self.clock(), timezone.utc)
        report = TickReport()
        owners = load_owners(self.store)
        try:
            with self.snapshots.connect() as con:
                report.snapshot_version = con.version
                self._digests(con, owners, now, report)
                self._alerts(con, owners, now, report)
        except SnapshotUnavailable:
            log.info("no published snapshot yet: no digests or alerts this tick")
        return report

    # -- digests ----------------------------------------------------------------------------------------------
    def _digests(self, con: ReadConnection, owners: list[Owner], now: datetime, report: TickReport) -> None:
        prefs = [DigestPrefs(o.user_id, o.time_zone, o.hour, o.period, o.weekday, o.lang)
                 for o in owners if o.period in ("daily", "weekly")]
        due = due_digests(now, prefs, grace=self.grace)
        sent = queued_keys(self.store, (d.key for d in due))
        pending = [item for item in due if item.key not in sent]
        owned = channel_reads.owned_channels_many(con, [item.prefs.user_id for item in pending])
        ready = []
        for item in pending:
            if not owned[item.prefs.user_id]:
                report.digests_waiting += 1
                continue
            premium = self._plan(con, item.prefs.user_id, now).allows("custom_emoji")
            ready.append(replace(item, prefs=replace(item.prefs, premium=premium)))
        # composed on the tick's snapshot version, over worker processes when thousands are due at once
        digests = compose_many(self.snapshots, [item.prefs for item in ready], workers=self.workers,
                               version=con.version)
        for item, digest in zip(ready, digests):
            if self._queue_digest(item, digest, now):
                report.digests += 1

    def _queue_digest(self, item: DueDigest, digest: Digest, now: datetime) -> bool:
        with self.store.transaction() as s:
            ids = [enqueue(s, chat_id=item.prefs.user_id, chat_kind="private", kind="digest", method=method,
                           params=params, dedupe_key=item.key if i == 0 else f"{item.key}:{i}",
                           now=_naive_utc(now))
                   for i, (method, params) in enumerate(digest_messages(digest))]
        return ids[0] is not None

    def _plan(self, con: ReadConnection, user_id: int, now: datetime) -> CurrentPlan:
        with self.store.transaction() as s:
            return current_plan(s, user_id, con, _naive_utc(now))

    # -- alerts -----------------------------------------------------------------------------------------------
    def _alerts(self, con: ReadConnection, owners: list[Owner], now: datetime, report: TickReport) -> None:
        version, checked = self._alerts_checked
        if version != report.snapshot_version:
            checked = set()
            self._alerts_checked = (report.snapshot_version, checked)

        for owner in owners:
            if not owner.alerts_enabled or owner.user_id in checked:
                continue
            if not self._plan(con, owner.user_id, now).allows("alerts"):
                continue  # not marked checked: an upgrade within this snapshot version gets its alerts
            checked.add(owner.user_id)
            channels = channel_reads.owned_channels(con, owner.user_id)
            found = alerting.detect_alerts(con, sorted(channels))
            if not found:
                continue
            hold = alerting.quiet_until(now, owner.time_zone, owner.quiet_start, owner.quiet_end)
            with self.store.transaction() as s:
                for alert in found:  # one already queued under its key is skipped by enqueue
                    queued = enqueue(s, chat_id=owner.user_id, chat_kind="private", kind="alert",
                                     params={"text": alert_text(alert, channels[alert.channel_id], owner.lang)},
                                     dedupe_key=alert.dedupe_key, now=_naive_utc(now),
                                     not_before=_naive_utc(hold) if hold else None)
                    if queued is not None:
                        report.alerts += 1
                        report.alerts_held += hold is not None
