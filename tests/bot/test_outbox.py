"""The outbox: paced within Telegram's limits on a fake clock, 429 and 403 handled, nothing lost on restart."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from datetime import datetime

import pytest
from alembic import command
from sqlalchemy import inspect, select

from analyticbot.appstore.db import AppStore, alembic_config, migrate
from analyticbot.appstore.models import OutboxMessage, User
from analyticbot.settings import get_settings
from bot.outbox import OutboxSender, enqueue, mark_returned
from tests.bot.fake_telegram import (BLOCKED, CHAT_NOT_FOUND, SERVER_ERROR, FakeClock, FakeTelegramSession,
                                     make_bot, retry_after, utc)

EPS = 1e-6  # float slack on 1.8e9-second timestamps


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def session(clock) -> FakeTelegramSession:
    return FakeTelegramSession(clock=clock)


def sender(store, session, clock, **kw) -> OutboxSender:
    return OutboxSender(store, make_bot(session), clock=clock, sleep=clock.sleep, **kw)


def put(store, clock, chat_id: int, text: str, *, chat_kind: str = "private", kind: str = "digest",
        dedupe_key: str | None = None) -> int | None:
    with store.transaction() as s:
        return enqueue(s, chat_id=chat_id, chat_kind=chat_kind, kind=kind, params={"text": text},
                       dedupe_key=dedupe_key, now=utc(clock()))


def add_users(store, *user_ids: int) -> None:
    with store.transaction() as s:
        s.add_all(User(user_id=u, created_at=datetime(2027, 1, 1)) for u in user_ids)


def statuses(store) -> Counter:
    with store.transaction() as s:
        return Counter(s.scalars(select(OutboxMessage.status)))


def max_in_window(times: list[float], window: float) -> int:
    """The most sends in any half-open window of `window` seconds."""
    times, most, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window + EPS:
            lo += 1
        most = max(most, hi - lo + 1)
    return most


def test_500_messages_over_50_chats_are_all_delivered_within_the_limits(store, session, clock):
    # 30 private chats, 10 groups, 10 channels (Telegram's id conventions), 10 messages each, interleaved
    chats = ([(1000 + i, "private") for i in range(30)] + [(-500 - i, "group") for i in range(10)]
             + [(-1001000000000 - i, "channel") for i in range(10)])
    for n in range(10):
        for chat_id, kind in chats:
            put(store, clock, chat_id, f"{chat_id}:{n}", chat_kind=kind)
    start = clock()

    report = asyncio.run(sender(store, session, clock).drain())

    assert report.sent == 500 and statuses(store) == {"sent": 500}
    calls = session.called("sendMessage")
    assert len(calls) == 500  # nothing sent twice
    times = [c.at for c in calls]
    assert max_in_window(times, 1.0) <= 25
    by_chat = defaultdict(list)
    for c in calls:
        by_chat[c.chat_id].append(c)
    for chat_id, kind in chats:
        sent = by_chat[chat_id]
        assert [c.method.text for c in sent] == [f"{chat_id}:{n}" for n in range(10)]  # in order per chat
        assert max_in_window([c.at for c in sent], 1.0) == 1
        if kind != "private":
            assert max_in_window([c.at for c in sent], 60.0) <= 20
    # 500 at 25/s take 20 s; the pacing costs nothing more (each chat's 10 messages need only 9 s)
    assert clock() - start == pytest.approx(20.0, abs=0.1)


def test_group_bursts_are_capped_at_20_a_minute(store, session, clock):
    for n in range(45):
        put(store, clock, -777, f"m{n}", chat_kind="group")
    asyncio.run(sender(store, session, clock).drain())
    times = [c.at for c in session.called("sendMessage")]
    assert len(times) == 45
    assert max_in_window(times, 60.0) == 20 and max_in_window(times, 1.0) == 1
    assert times[20] - times[0] >= 60.0 - EPS


def test_retry_after_pauses_then_sends_the_message_once(store, session, clock):
    add_users(store, 1, 2)
    first = put(store, clock, 1, "digest for 1")
    put(store, clock, 1, "second for 1")
    put(store, clock, 2, "digest for 2")
    session.fail("sendMessage", retry_after(3), chat_id=1)

    report = asyncio.run(sender(store, session, clock).drain())

    assert report.sent == 3 and report.retried == 1 and statuses(store) == {"sent": 3}
    assert session.sent_texts(1) == ["digest for 1", "second for 1"]  # once each, in order
    refused, = session.called("sendMessage", 1, accepted=False)
    resent = session.called("sendMessage", 1, accepted=True)[0]
    assert resent.at - refused.at >= 3.0
    # a 429 on a private chat is the bot's overall rate: every chat waited
    other = session.called("sendMessage", 2)[0]
    assert other.at - refused.at >= 3.0 or other.at < refused.at
    with store.transaction() as s:
        row = s.get(OutboxMessage, first)
        assert row.attempts == 1 and "retry after 3" in row.last_error  # the 429 itself is not an attempt


def test_retry_after_in_a_channel_pauses_only_that_channel(store, session, clock):
    put(store, clock, -1001, "alert", chat_kind="channel", kind="alert")
    for n in range(3):
        put(store, clock, 10 + n, f"to {10 + n}")
    session.fail("sendMessage", retry_after(30), chat_id=-1001)
    start = clock()
    asyncio.run(sender(store, session, clock).drain())
    assert all(c.at - start < 1.0 for c in session.called("sendMessage") if c.chat_id != -1001)
    assert session.called("sendMessage", -1001, accepted=True)[0].at - start >= 30.0


def test_a_user_who_blocked_the_bot_is_marked_and_their_queue_dropped(store, session, clock):
    add_users(store, 1, 2)
    for n in range(3):
        put(store, clock, 1, f"to 1 #{n}")
        put(store, clock, 2, f"to 2 #{n}")
    session.fail("sendMessage", BLOCKED, chat_id=1)

    report = asyncio.run(sender(store, session, clock).drain())

    assert report.dropped_blocked == 3 and session.sent_texts(2) == ["to 2 #0", "to 2 #1", "to 2 #2"]
    assert len(session.called("sendMessage", 1)) == 1  # no more attempts after the 403
    assert statuses(store) == {"sent": 3, "dropped_blocked": 3}
    with store.transaction() as s:
        assert s.get(User, 1).blocked_at == utc(session.called("sendMessage", 1)[0].at)
        assert s.get(User, 2).blocked_at is None
    # nothing is queued for them while blocked; after /start it is again
    assert put(store, clock, 1, "later") is None
    with store.transaction() as s:
        mark_returned(s, 1)
    assert put(store, clock, 1, "welcome back") is not None


def test_a_dedupe_key_enqueues_once(store, clock):
    first = put(store, clock, 1, "digest", dedupe_key="digest:-1001:2027-01-15")
    assert first is not None
    assert put(store, clock, 1, "digest again", dedupe_key="digest:-1001:2027-01-15") is None
    assert put(store, clock, 1, "no key") is not None and put(store, clock, 1, "no key") is not None
    assert statuses(store) == {"queued": 3}


def test_errors_are_retried_with_backoff_then_failed_with_the_error_kept(store, session, clock):
    flaky = put(store, clock, 1, "flaky")
    broken = put(store, clock, 2, "never")
    bad = put(store, clock, 3, "bad")
    session.fail("sendMessage", SERVER_ERROR, chat_id=1, times=2)
    session.fail("sendMessage", SERVER_ERROR, chat_id=2, times=None)
    session.fail("sendMessage", CHAT_NOT_FOUND, chat_id=3)

    report = asyncio.run(sender(store, session, clock, max_attempts=4).drain())

    assert report.sent == 1 and report.failed == 2
    assert len(session.called("sendMessage", 2)) == 4 and len(session.called("sendMessage", 3)) == 1
    gaps = [b.at - a.at for a, b in zip(session.called("sendMessage", 2), session.called("sendMessage", 2)[1:])]
    assert gaps == pytest.approx([2.0, 4.0, 8.0], abs=0.1)
    with store.transaction() as s:
        assert (s.get(OutboxMessage, flaky).status, s.get(OutboxMessage, flaky).attempts) == ("sent", 3)
        assert s.get(OutboxMessage, broken).status == "failed" and "Bad Gateway" in s.get(OutboxMessage,
                                                                                           broken).last_error
        assert s.get(OutboxMessage, bad).status == "failed" and "chat not found" in s.get(OutboxMessage,
                                                                                          bad).last_error


def test_a_restart_delivers_what_was_queued_and_not_sent(store, session, clock):
    for n in range(40):
        put(store, clock, 100 + n % 4, f"m{n}")

    async def crash_midway():
        task = asyncio.ensure_future(sender(store, session, clock).drain())
        while len(session.called(accepted=True)) < 10:
            await asyncio.sleep(0)
        task.cancel()  # the process dies
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(crash_midway())
    before = len(session.calls)
    assert 10 <= before < 40 and statuses(store)["queued"] == 40 - statuses(store)["sent"]

    asyncio.run(sender(store, session, clock).drain())  # a new process over the same store

    assert statuses(store) == {"sent": 40}
    texts = [t for chat in range(100, 104) for t in session.sent_texts(chat)]
    assert sorted(texts) == sorted(f"m{n}" for n in range(40))  # each delivered once here
    assert all(session.sent_texts(100 + k) == [f"m{n}" for n in range(k, 40, 4)] for k in range(4))


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_migration_0004_upgrades_downgrades_and_dedupes_on_both_stores(request, engine, data_dir, monkeypatch):
    if engine == "postgres":
        monkeypatch.setenv("ANALYTICBOT_APP_DB_URL", request.getfixturevalue("pg_url"))
    settings = get_settings()
    migrate(settings)
    migrate(settings)  # idempotent
    store = AppStore(settings)
    try:
        columns = {c["name"] for c in inspect(store.engine).get_columns("bot_outbox")}
        assert {"chat_id", "chat_kind", "kind", "payload", "dedupe_key", "not_before", "attempts", "status",
                "last_error", "created_at", "sent_at"} <= columns
        clock = FakeClock()
        add_users(store, 1)
        assert put(store, clock, 1, "d", dedupe_key="k") is not None and put(store, clock, 1, "d", dedupe_key="k") \
            is None
        session = FakeTelegramSession(clock=clock)
        session.fail("sendMessage", BLOCKED)
        asyncio.run(sender(store, session, clock).drain())
        with store.transaction() as s:
            assert s.get(User, 1).blocked_at is not None
            assert s.scalar(select(OutboxMessage.status)) == "dropped_blocked"

        with store.engine.begin() as connection:
            cfg = alembic_config(settings)
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0003")
        assert "bot_outbox" not in inspect(store.engine).get_table_names()
        assert "blocked_at" not in {c["name"] for c in inspect(store.engine).get_columns("users")}
        migrate(settings)
        assert "bot_outbox" in inspect(store.engine).get_table_names()
    finally:
        store.dispose()
