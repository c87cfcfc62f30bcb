"""The scheduler on a clock we control: digests at each owner's local hour across zones and DST, once however many
ticks and restarts; alerts once, held through quiet hours; then the outbox sender delivers what was queued."""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import select

from analyticbot.appstore.models import Channel, OutboxMessage, User
from analyticbot.entitlements import current_plan
from analyticbot.settings import get_settings
from analyticbot.snapshot import SnapshotReader, publish
from analyticbot.warehouse import open_warehouse
from bot import scheduler as sched
from bot.digests import Digest, compose_digest
from bot.entities import TextBuilder, entity_text, utf16_len
from bot.i18n import fmt_date, fmt_int, fmt_percent, t
from bot.outbox import OutboxSender
from bot.scheduler import Scheduler
from tests.analyticbot.test_alerts import steady_views
from tests.bot.fake_telegram import FakeClock, FakeTelegramSession, make_bot


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def add_owner(store, user_id: int, channel_ids, *, zone="UTC", lang="en", hour=9, period="daily", weekday=0,
              **columns) -> None:
    with store.transaction() as s:
        s.add(User(user_id=user_id, language=lang, time_zone=zone, digest_hour=hour, digest_period=period,
                   digest_weekday=weekday, **columns))
        s.flush()
        s.add_all(Channel(channel_id=c, owner_user_id=user_id, title=f"Channel {c}", source_kind="demo")
                  for c in channel_ids)


def outbox(store, kind: str | None = None) -> list[OutboxMessage]:
    with store.transaction() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        rows = s.scalars(query).all()
        s.expunge_all()
        return rows


def digest_keys(store) -> list[str]:
    return [r.dedupe_key for r in outbox(store, "digest") if r.dedupe_key.count(":") == 2]


def pay(store, user_id: int, plan_code: str = "pro_month", at: datetime = datetime(2026, 1, 1)) -> None:
    from analyticbot.appstore.models import Order

    with store.transaction() as s:
        s.add(Order(user_id=user_id, plan_code=plan_code, gateway="payme", amount_tiyin=1, currency="UZS",
                    status="paid", created_at=at, paid_at=at))


# -- digests on the demo snapshot -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_owners(demo_warehouse):
    """owner id -> their channel ids, from the demo snapshot."""
    rows = SnapshotReader(demo_warehouse.settings).query(
        "SELECT owner_user_id, channel_id FROM marts.dim_channels WHERE owner_user_id IS NOT NULL ORDER BY 1, 2")
    owners: dict[int, list[int]] = {}
    for r in rows.iter_rows(named=True):
        owners.setdefault(r["owner_user_id"], []).append(r["channel_id"])
    return owners


@pytest.fixture
def demo(store, demo_warehouse, demo_owners):
    """A scheduler over the demo snapshot and the test's own store (owners are added by each test)."""
    return Scheduler(store, SnapshotReader(demo_warehouse.settings))


def nth_owner(demo_owners, n: int) -> tuple[int, list[int]]:
    return sorted(demo_owners.items())[n]


@pytest.mark.parametrize("hour, ticks, sent_at", [
    # 02:00 does not exist in Berlin on 29 March 2026: the digest goes when the clock jumps (01:00 UTC)
    (2, [utc(2026, 3, 29, 0, 59), utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30)], utc(2026, 3, 29, 1, 0)),
    # 02:00 happens twice on 25 October: the first one (00:00 UTC), and not again an hour later
    (2, [utc(2026, 10, 24, 23, 59), utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 1, 0), utc(2026, 10, 25, 1, 30)],
     utc(2026, 10, 25, 0, 0)),
    # an ordinary hour on the spring-forward day is already summer time: 09:00 CEST = 07:00 UTC
    (9, [utc(2026, 3, 29, 6, 59), utc(2026, 3, 29, 7, 5), utc(2026, 3, 29, 7, 55)], utc(2026, 3, 29, 7, 5)),
])
def test_berlin_digest_once_across_dst(store, demo, demo_owners, hour, ticks, sent_at):
    uid, channels = nth_owner(demo_owners, 0)
    add_owner(store, uid, channels, zone="Europe/Berlin", hour=hour)
    queued_at = []
    for now in ticks:
        if demo.tick(now).digests:
            queued_at.append(now)
    assert queued_at == [sent_at]
    local_date = sent_at.astimezone(ZoneInfo("Europe/Berlin")).date()
    assert digest_keys(store) == [f"digest:{uid}:{local_date.isoformat()}"]


def test_tashkent_and_new_york_get_their_local_hour_and_weekly_their_weekday(store, demo, demo_owners):
    (tash, tash_ch), (ny, ny_ch), (weekly, weekly_ch) = [nth_owner(demo_owners, i) for i in range(3)]
    add_owner(store, tash, tash_ch, zone="Asia/Tashkent", hour=9)  # UTC+5, no DST: 04:00 UTC
    add_owner(store, ny, ny_ch, zone="America/New_York", hour=9)  # EST until 8 March 2026, then EDT
    add_owner(store, weekly, weekly_ch, zone="Asia/Tashkent", hour=9, period="weekly", weekday=0)  # Mondays
    for now in [utc(2026, 3, 7, 4, 0), utc(2026, 3, 7, 14, 0), utc(2026, 3, 8, 4, 0), utc(2026, 3, 8, 13, 0),
                utc(2026, 3, 8, 14, 0), utc(2026, 3, 9, 4, 0)]:
        demo.tick(now)
    assert sorted(digest_keys(store)) == sorted([
        f"digest:{tash}:2026-03-07", f"digest:{tash}:2026-03-08", f"digest:{tash}:2026-03-09",
        f"digest:{ny}:2026-03-07",  # 09:00 EST = 14:00 UTC
        f"digest:{ny}:2026-03-08",  # 09:00 EDT = 13:00 UTC (the 14:00 tick finds it sent)
        f"digest:{weekly}:2026-03-09"])  # 9 March 2026 is a Monday
    queued = {r.dedupe_key: r.created_at for r in outbox(store, "digest")}
    assert queued[f"digest:{ny}:2026-03-08"] == datetime(2026, 3, 8, 13, 0)


def test_restarts_blocked_users_and_owners_without_a_digest_or_channel(store, demo_warehouse, demo_owners):
    owners = sorted(demo_owners.items())
    (a, a_ch), (b, b_ch), (c, c_ch), (d, _) = owners[:4]
    add_owner(store, a, a_ch)
    add_owner(store, b, b_ch, blocked_at=datetime(2026, 1, 1))
    add_owner(store, c, c_ch, period="off")
    add_owner(store, d, [])  # registered, no channel
    snapshots = SnapshotReader(demo_warehouse.settings)
    now = utc(2026, 6, 1, 9, 10)
    assert Scheduler(store, snapshots).tick(now).digests == 1
    # a new process (restart) and a later tick within the grace hour: the outbox already holds the key
    assert Scheduler(store, snapshots).tick(now + timedelta(minutes=30)).digests == 0
    assert digest_keys(store) == [f"digest:{a}:2026-06-01"]


def test_an_owner_whose_channels_are_not_in_the_snapshot_yet_waits(store, demo):
    add_owner(store, 990_001, [990_001])  # connected after the last pipeline run
    report = demo.tick(utc(2026, 6, 1, 9, 0))
    assert (report.digests, report.digests_waiting) == (0, 1) and outbox(store) == []


def test_digest_is_a_photo_with_the_digest_as_caption_and_the_sender_delivers_it(store, demo, demo_owners,
                                                                                demo_warehouse):
    now = utc(2026, 6, 1, 9, 0)
    snapshots = SnapshotReader(demo_warehouse.settings)
    with snapshots.connect() as con, store.transaction() as s:
        # demo owners are demo customers too: take one with no paid period at `now` in the snapshot
        free = next(uid for uid in sorted(demo_owners)
                    if not current_plan(s, uid, con, now.replace(tzinfo=None)).allows("custom_emoji"))
    paid = next(uid for uid in sorted(demo_owners) if uid != free)
    add_owner(store, free, demo_owners[free], lang="ru")
    add_owner(store, paid, demo_owners[paid], lang="uz")
    pay(store, paid)
    assert demo.tick(now).digests == 2

    clock = FakeClock()
    session = FakeTelegramSession(clock=clock)
    report = asyncio.run(OutboxSender(store, make_bot(session), clock=clock, sleep=clock.sleep).drain())
    assert report.sent == 2 and report.failed == 0
    photos = {c.method.chat_id: c.method for c in session.called("sendPhoto")}
    with snapshots.connect() as con:
        for uid, lang, premium in [(free, "ru", False), (paid, "uz", True)]:
            expected = compose_digest(con, uid, lang, "daily", premium=premium)
            sent = photos[uid]
            assert sent.caption == expected.text
            assert [e.model_dump(exclude_none=True) for e in sent.caption_entities or []] == \
                [e.model_dump(exclude_none=True) for e in expected.entities]
            assert Image.open(BytesIO(sent.photo.data)).format == "PNG"
    assert not photos[free].caption_entities
    assert photos[paid].caption_entities and all(
        e.type == "custom_emoji" and entity_text(photos[paid].caption, e) for e in photos[paid].caption_entities)


def test_a_text_too_long_for_a_caption_follows_the_photo_with_its_entities():
    body = TextBuilder().add_custom_emoji("📊", "5431577498364158238").add(" Ёлка ʻ " * 200)
    long = Digest(body.text, body.entities, b"\x89PNG fake")
    assert utf16_len(long.text) > sched.CAPTION_LIMIT
    [(m1, photo), (m2, text)] = sched.digest_messages(long)
    assert (m1, m2) == ("sendPhoto", "sendMessage") and "caption" not in photo
    assert base64.b64decode(photo["photo"]["base64"]) == b"\x89PNG fake"
    assert text["text"] == long.text and text["entities"] == [
        {"type": "custom_emoji", "offset": 0, "length": 2, "custom_emoji_id": "5431577498364158238"}]
    [(m, short)] = sched.digest_messages(Digest("hi", [], b"png"))
    assert m == "sendPhoto" and short["caption"] == "hi"
    [(m, bare)] = sched.digest_messages(Digest("no chart", [], None))
    assert m == "sendMessage" and bare == {"text": "no chart", "entities": []}


def test_a_digest_longer_than_a_message_goes_in_several():
    body = TextBuilder()
    for i in range(60):  # an owner with many channels
        body.add("\n\n").add_custom_emoji("📢", "5433758796289685818").add(f" Канал {i}\n" + "Подписчики: 12 345 " * 5)
    messages = sched.digest_messages(Digest(body.text, body.entities, b"png"))
    assert [m for m, _ in messages] == ["sendPhoto"] + ["sendMessage"] * (len(messages) - 1) and len(messages) > 2
    assert all(utf16_len(p["text"]) <= 4096 and len(p["entities"]) <= 100 for _, p in messages[1:])
    assert sum(len(p["entities"]) for _, p in messages[1:]) == 60


# -- alerts on a small published snapshot ---------------------------------------------------------------------
ALERT_CHANNEL, OWNER = 500, 77
NOW = utc(2026, 11, 11, 12, 0)  # after the newest post below


@pytest.fixture
def alert_snapshot(data_dir, store):
    """A snapshot where channel 500's newest post takes off in its first hour and its subscribers drop sharply."""
    with open_warehouse(get_settings()) as wh:
        wh.ensure_schemas()
        wh.execute("CREATE SCHEMA IF NOT EXISTS marts")
        wh.execute("CREATE TABLE marts.dim_channels (channel_id BIGINT, title VARCHAR, username VARCHAR, "
                   "time_zone VARCHAR, status VARCHAR, reach_available BOOLEAN, owner_user_id BIGINT)")
        wh.execute("INSERT INTO marts.dim_channels VALUES (?, 'Ёлка news', 'elka_news', 'UTC', 'active', true, ?)",
                   [ALERT_CHANNEL, OWNER])
        wh.execute("CREATE TABLE marts.fct_posts (channel_id BIGINT, message_id BIGINT, posted_at TIMESTAMP, "
                   "views_1h BIGINT, is_deleted BOOLEAN)")
        start = datetime(2026, 11, 1, 9)
        for i in range(41):
            wh.execute("INSERT INTO marts.fct_posts VALUES (?, ?, ?, ?, false)",
                       [ALERT_CHANNEL, i + 1, start + timedelta(hours=6 * i), 3500 if i == 40 else steady_views(i)])
        wh.execute("CREATE TABLE marts.fct_channel_daily (channel_id BIGINT, date DATE, subscribers BIGINT)")
        for i in range(31):
            wh.execute("INSERT INTO marts.fct_channel_daily VALUES (?, DATE '2026-10-11' + ?::INTEGER, ?)",
                       [ALERT_CHANNEL, i, 10_000 + 10 * i if i < 30 else 9_700])
        publish(wh)
    return SnapshotReader(get_settings())


def alert_owner(store, **columns) -> None:
    add_owner(store, OWNER, [ALERT_CHANNEL], period="off", **columns)


def test_a_paid_owner_gets_each_alert_once_across_ticks_and_restarts(store, alert_snapshot):
    alert_owner(store, lang="ru")
    pay(store, OWNER, at=datetime(2026, 11, 1))
    assert Scheduler(store, alert_snapshot).tick(NOW).alerts == 2
    assert Scheduler(store, alert_snapshot).tick(NOW + timedelta(minutes=5)).alerts == 0  # restarted
    scheduler = Scheduler(store, alert_snapshot)
    scheduler.tick(NOW)
    assert scheduler.tick(NOW).alerts == 0
    rows = outbox(store, "alert")
    assert sorted(r.dedupe_key for r in rows) == [f"alert:{ALERT_CHANNEL}:subscribers_drop:2026-11-10",
                                                  f"alert:{ALERT_CHANNEL}:views_spike:41"]
    texts = {r.dedupe_key.split(":")[2]: json.loads(r.payload)["params"]["text"] for r in rows}
    assert texts["views_spike"].startswith("🚀 Ёлка news:") and "https://t.me/elka_news/41" in texts["views_spike"]
    assert fmt_int(3500, "ru") in texts["views_spike"]
    assert texts["subscribers_drop"] == t("alert.subscribers_drop", "ru", title="Ёлка news", lost=fmt_int(590, "ru"),
                                          date=fmt_date(date(2026, 11, 10), "ru"),
                                          share=fmt_percent(590 / 10_290, "ru"))
    assert all(r.not_before == NOW.replace(tzinfo=None) for r in rows)


def test_quiet_hours_hold_alerts_until_they_end(store, alert_snapshot):
    alert_owner(store, zone="Asia/Tashkent", quiet_start_hour=15, quiet_end_hour=19)  # 17:00 there at NOW
    pay(store, OWNER, at=datetime(2026, 11, 1))
    report = Scheduler(store, alert_snapshot).tick(NOW)
    assert (report.alerts, report.alerts_held) == (2, 2)
    assert {r.not_before for r in outbox(store, "alert")} == {datetime(2026, 11, 11, 14, 0)}  # 19:00 in Tashkent


@pytest.mark.parametrize("paid, enabled", [(False, True), (True, False)])
def test_no_alerts_on_the_free_plan_or_when_turned_off(store, alert_snapshot, paid, enabled):
    alert_owner(store, alerts_enabled=enabled)
    if paid:
        pay(store, OWNER, at=datetime(2026, 11, 1))
    assert Scheduler(store, alert_snapshot).tick(NOW).alerts == 0 and outbox(store) == []


def test_an_upgrade_gets_alerts_without_waiting_for_the_next_snapshot(store, alert_snapshot):
    alert_owner(store)
    scheduler = Scheduler(store, alert_snapshot)
    assert scheduler.tick(NOW).alerts == 0
    pay(store, OWNER, at=datetime(2026, 11, 11))
    assert scheduler.tick(NOW + timedelta(minutes=1)).alerts == 2


def test_no_snapshot_yet_is_a_quiet_tick(store):
    add_owner(store, 5, [5])
    report = Scheduler(store, SnapshotReader(get_settings())).tick(utc(2026, 6, 1, 9, 0))
    assert (report.digests, report.alerts, report.snapshot_version) == (0, 0, None)


def test_run_ticks_until_stopped(store, alert_snapshot):
    alert_owner(store)
    pay(store, OWNER, at=datetime(2026, 11, 1))
    scheduler = Scheduler(store, alert_snapshot, interval=0.01, clock=lambda: NOW.timestamp())

    async def main():
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stop))
        while not outbox(store, "alert"):
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    assert Counter(r.kind for r in outbox(store)) == {"alert": 2}
