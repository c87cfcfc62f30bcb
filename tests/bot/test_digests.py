from datetime import datetime, timedelta, timezone
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from analyticbot import channel_reads
from bot import charts, raster
from analyticbot.snapshot import SnapshotReader
from bot import digests
from bot.digests import EMOJI, DigestPrefs, compose_digest, compose_many, due_digests
from bot.entities import TextBuilder, entity_text, utf16_len
from bot.i18n import fmt_int, fmt_percent, fmt_signed


# -- entities ---------------------------------------------------------------------------------------------------
def test_utf16_len_counts_surrogate_pairs():
    assert utf16_len("📈") == 2 and utf16_len("Ж") == 1 and utf16_len("oʻ") == 2 and utf16_len("") == 0


def test_entity_offsets_in_utf16_units_across_emoji_cyrillic_and_uzbek():
    out = TextBuilder().add("📊 Кухня 🍕 oʻzbek: ")
    out.add_custom_emoji("📈", "1").add(" Obunachilar koʻpaydi ")
    out.add_custom_emoji("👁", "2").add(" ERR 17,6 %")
    head = TextBuilder().add("🇺🇿 Sarlavha\n")
    head.add_custom_emoji("🔥", "3")
    text = head.extend(out).text
    assert [entity_text(text, e) for e in head.entities] == ["🔥", "📈", "👁"]
    assert [e.custom_emoji_id for e in head.entities] == ["3", "1", "2"]
    # what a code-point offset would have got wrong: the first entity's offset counts the flag as 4 units
    assert head.entities[0].offset == utf16_len("🇺🇿 Sarlavha\n") == len("🇺🇿 Sarlavha\n") + 2


# -- due_digests --------------------------------------------------------------------------------------------------
def _sends(prefs: DigestPrefs, start: datetime, hours: int, step_minutes: int = 5) -> list:
    """Every digest a scheduler ticking every `step_minutes` would send (storing keys as it goes)."""
    sent, out = set(), []
    now = start
    while now < start + timedelta(hours=hours):
        for due in due_digests(now, [prefs], sent):
            sent.add(due.key)
            out.append((now, due))
        now += timedelta(minutes=step_minutes)
    return out


@pytest.mark.parametrize("hour", [1, 2, 3, 9])
def test_berlin_spring_forward_sends_once_even_for_a_skipped_hour(hour):
    prefs = DigestPrefs(1, "Europe/Berlin", hour)
    sends = _sends(prefs, datetime(2026, 3, 28, 12, tzinfo=timezone.utc), 48)
    assert [d.local_date.isoformat() for _, d in sends] == ["2026-03-29", "2026-03-30"]
    sent_at = sends[0][0].astimezone(ZoneInfo("Europe/Berlin"))
    # 02:00 does not exist on 29 March: the digest goes at 03:00 CEST, the instant the clock jumps over it
    assert (sent_at.hour, sent_at.minute) == ((3, 0) if hour == 2 else (hour, 0))


@pytest.mark.parametrize("hour", [1, 2, 3])
def test_berlin_fall_back_sends_once_for_the_repeated_hour(hour):
    prefs = DigestPrefs(1, "Europe/Berlin", hour)
    sends = _sends(prefs, datetime(2026, 10, 24, 12, tzinfo=timezone.utc), 48)
    assert [d.key for _, d in sends] == ["digest:1:2026-10-25", "digest:1:2026-10-26"]
    first = sends[0][0].astimezone(ZoneInfo("Europe/Berlin"))
    assert (first.hour, first.minute, first.fold) == (hour, 0, 0)


def test_tashkent_daily_and_weekly_at_local_hour():
    daily = DigestPrefs(2, "Asia/Tashkent", 9)
    weekly = DigestPrefs(3, "Asia/Tashkent", 23, period="weekly", weekday=0)
    start = datetime(2026, 9, 27, 0, tzinfo=timezone.utc)  # a Sunday
    sends = [(now, d) for p in (daily, weekly) for now, d in _sends(p, start, 24 * 8)]
    daily_times = [now for now, d in sends if d.prefs is daily]
    assert len(daily_times) == 8 and {n.hour for n in daily_times} == {4}  # 09:00 UTC+5
    assert [d.local_date.isoformat() for _, d in sends if d.prefs is weekly] == ["2026-09-28"]


def test_a_late_scheduler_tick_across_local_midnight_still_sends_the_right_day():
    prefs = DigestPrefs(4, "Asia/Tashkent", 23)
    now = datetime(2026, 9, 28, 19, 30, tzinfo=timezone.utc)  # 00:30 on 29 September in Tashkent
    assert due_digests(now, [prefs]) == []  # past the default hour of grace
    due = due_digests(now, [prefs], grace=timedelta(hours=2))
    assert [d.key for d in due] == ["digest:4:2026-09-28"]
    assert due_digests(now, [prefs], sent={due[0].key}, grace=timedelta(hours=2)) == []


# -- compose_digest on the demo snapshot ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def owners(con):
    return con.query("SELECT DISTINCT owner_user_id FROM marts.dim_channels ORDER BY 1").to_series().to_list()


@pytest.mark.parametrize("period,days", [("daily", 1), ("weekly", 7)])
@pytest.mark.parametrize("lang", ["en", "ru", "uz"])
def test_digest_numbers_are_channel_reads_numbers(con, owners, period, days, lang):
    for owner in owners:
        digest = compose_digest(con, owner, lang, period)
        for ch in channel_reads.owned_channels(con, owner).values():
            ov = channel_reads.overview(con, ch, days)
            assert ch["title"] in digest.text
            assert fmt_int(ov["subscribers"], lang) in digest.text
            assert fmt_signed(ov["growth"], lang) in digest.text
            assert fmt_percent(ov["err"], lang) in digest.text
            posts = [p for p in channel_reads.posts_page(con, ch, sort="views_24h", order="desc", limit=100,
                                                         cursor=None)["items"]
                     if p["posted_at_local"].date() >= ov["date_from"] and p["views_24h"] is not None]
            if posts:
                assert posts[0]["link"] in digest.text
                assert fmt_int(posts[0]["views_24h"], lang) in digest.text


@pytest.mark.parametrize("days", [1, 7, 30])
def test_best_posts_are_the_periods_best_by_views_24h(con, owners, days):
    channels = [ch for o in owners for ch in channel_reads.owned_channels(con, o).values()]
    since = [(ch, channel_reads.overview(con, ch, days)["date_from"]) for ch in channels]
    best = channel_reads.best_posts(con, [(ch, d) for ch, d in since if d is not None])
    for ch, date_from in since:
        if date_from is None:
            continue
        every, cursor = [], None
        while True:  # every post of the channel, through the paginated read the Mini App uses
            page = channel_reads.posts_page(con, ch, sort="posted_at", order="desc", limit=200, cursor=cursor)
            every += page["items"]
            if (cursor := page["next_cursor"]) is None:
                break
        ranked = [p for p in every if p["posted_at_local"].date() >= date_from and p["views_24h"] is not None]
        expected = max(ranked, key=lambda p: (p["views_24h"], p["message_id"])) if ranked else None
        assert best[ch["channel_id"]] == expected


def test_owned_channels_many_is_owned_channels_of_each(con, owners):
    many = channel_reads.owned_channels_many(con, owners + [1])
    assert many == {o: channel_reads.owned_channels(con, o) for o in owners + [1]} and many[1] == {}


def test_premium_digest_entities_cover_the_fallback_emoji(con, owners):
    plain = compose_digest(con, owners[0], "uz", "weekly")
    premium = compose_digest(con, owners[0], "uz", "weekly", premium=True)
    assert plain.text == premium.text and plain.entities == []
    ids = {custom_id: fallback for fallback, custom_id in EMOJI.values()}
    assert premium.entities and all(e.type == "custom_emoji" for e in premium.entities)
    for e in premium.entities:
        assert entity_text(premium.text, e) == ids[e.custom_emoji_id]


def test_digest_chart_is_a_png_of_the_expected_size(con, owners):
    for owner in owners:
        n = min(len(channel_reads.owned_channels(con, owner)), charts.MAX_DIGEST_PANELS)
        image = Image.open(BytesIO(compose_digest(con, owner, "ru").chart_png))
        image.verify()
        w, h = charts.DIGEST_SIZE
        assert image.format == "PNG" and image.size == (w * charts.DIGEST_DPI, round(h * n * charts.DIGEST_DPI))


@pytest.mark.parametrize("workers", [1, 2])
def test_compose_many_gives_each_owner_their_own_digest_in_order(demo_warehouse, con, owners, monkeypatch, workers):
    """What the scheduler's run composes (chunks read together, over worker processes) is, owner by owner, what
    compose_digest gives: no owner gets another's channels or numbers, whatever chunk they land in."""
    monkeypatch.setattr(digests, "COMPOSE_CHUNK", 4)  # several chunks, owners of one chunk with different periods
    prefs = [DigestPrefs(owner, "UTC", 9, period=("daily", "weekly")[k % 2], lang=("en", "ru", "uz")[k % 3],
                         premium=k % 4 == 0) for k, owner in enumerate(owners * 2 + [1])]
    many = list(compose_many(SnapshotReader(demo_warehouse.settings), prefs, workers=workers))
    assert len(many) == len(prefs)
    for p, digest in zip(prefs, many):
        one = compose_digest(con, p.user_id, p.lang, p.period, p.premium)
        assert (digest.text, digest.entities, digest.chart_png) == (one.text, one.entities, one.chart_png)


def test_digest_chart_draws_gaps_and_channels_without_days(tmp_path):
    """A day without a number breaks the line (no line drawn across it), a channel with no days yet gets an empty
    panel, and a title too long for the width is cut with an ellipsis."""
    days = [datetime(2026, 9, 1).date() + timedelta(days=i) for i in range(10)]
    values = [1000 + 10 * i for i in range(10)]
    values[4] = None
    png = charts.digest_png([("x" * 300, days, values), ("", [], [])], "ru")
    image = Image.open(BytesIO(png)).convert("RGB")
    assert image.size == (500, 280)
    blue = [(x, y) for x in range(image.width) for y in range(140) if image.getpixel((x, y))[2] > 150 and
            image.getpixel((x, y))[0] < 120]
    xs = sorted({x for x, _ in blue})
    assert xs and max(b - a for a, b in zip(xs, xs[1:])) > 20  # the gap around day 5
    assert not [1 for x in range(image.width) for y in range(150, 280) if image.getpixel((x, y))[2] > 150 and
                image.getpixel((x, y))[0] < 120]  # nothing drawn in the empty panel
    assert raster.fit("x" * 300, 400).endswith("…")


def test_nice_ticks_are_round_and_inside_the_range():
    assert charts.nice_ticks(11_950, 12_650) == [12_000, 12_250, 12_500]
    assert charts.nice_ticks(-0.5, 2.5) == [0, 1, 2]
    assert charts.nice_ticks(5, 5) == [5]
    for low, high in [(0, 7), (-1, 1), (99, 1_234_567), (1_000, 1_003), (41.5, 47.2)]:
        ticks = charts.nice_ticks(low, high)
        assert 1 <= len(ticks) <= 3 and all(low <= v <= high for v in ticks) and all(v == round(v) for v in ticks)


def test_digest_for_an_owner_without_channels(con):
    digest = compose_digest(con, 1, "ru")
    assert digest.text == "У вас пока нет подключённых каналов." and digest.chart_png is None


def test_batch_overviews_equal_overview_for_every_demo_channel_and_window(con, owners):
    channels = [ch for owner in owners for ch in channel_reads.owned_channels(con, owner).values()]
    missing = {"channel_id": -1, "title": "none", "time_zone": "UTC"}  # no daily rows: overview's empty answer
    batch = channel_reads.overviews(con, channels + [missing], (1, 7, 30))
    for ch in channels + [missing]:
        for days in (1, 7, 30):
            assert batch[ch["channel_id"]][days] == channel_reads.overview(con, ch, days)
    assert batch[channels[0]["channel_id"]][30]["daily"]  # the demo has data: the comparison is not of empties
