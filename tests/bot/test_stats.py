"""/stats, /top, /post, /besttime and /report through the real dispatcher on the demo snapshot, in each language:
the numbers shown are channel_reads' numbers, charts and files are sent, and bad input (somebody else's channel,
garbage, control characters, no /start) gets the documented reply."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from aiogram.types import Update
from sqlalchemy import select

from analyticbot import channel_reads
from analyticbot.appstore.models import User, UserActivityDaily
from analyticbot.snapshot import ReadConnection, SnapshotReader
from bot import stats
from bot.app import create_dispatcher
from bot.i18n import LANGS, fmt_int, fmt_percent, fmt_signed, t, weekday_name
from bot.reports import top_posts
from tests.bot.fake_telegram import FakeTelegramSession, T0, chat_json, make_bot, private_message, user_json


@pytest.fixture(scope="module")
def owners(con):
    """owner id -> their channels, from the snapshot itself."""
    rows = con.query("SELECT DISTINCT owner_user_id FROM marts.dim_channels WHERE owner_user_id IS NOT NULL").to_dicts()
    return {r["owner_user_id"]: channel_reads.owned_channels(con, r["owner_user_id"]) for r in rows}


@pytest.fixture(scope="module")
def single(owners):
    return next(uid for uid, chs in sorted(owners.items()) if len(chs) == 1)


@pytest.fixture(scope="module")
def multi(owners):
    return next(uid for uid, chs in sorted(owners.items()) if len(chs) > 1)


class Chat:
    def __init__(self, store, snapshots):
        self.session = FakeTelegramSession()
        self.bot = make_bot(self.session)
        self.dp = create_dispatcher(store, snapshots, store.settings)

    def feed(self, update: Update) -> list:
        before = len(self.session.calls)
        asyncio.run(self.dp.feed_update(self.bot, update))
        return [c for c in self.session.calls[before:] if c.name != "answerCallbackQuery"]

    def say(self, text: str, user_id: int, language_code: str = "en") -> list:
        return self.feed(private_message(text, user_id=user_id, language_code=language_code))

    def press(self, data: str, user_id: int) -> list:
        return self.feed(Update.model_validate({"update_id": 700_000 + len(self.session.calls), "callback_query": {
            "id": "cb", "from": user_json(user_id), "chat_instance": "ci", "data": data,
            "message": {"message_id": 5, "date": int(T0), "chat": chat_json(user_id, "private"),
                        "from": user_json(42, is_bot=True), "text": "..."}}}))


def _register(store, user_id: int, lang: str) -> None:
    with store.transaction() as s:
        user = s.get(User, user_id)
        if user is None:
            s.add(User(user_id=user_id, language=lang, time_zone="UTC"))
        else:
            user.language = lang


@pytest.fixture
def chat(store, demo_warehouse, owners):
    for uid in owners:
        _register(store, uid, "en")
    return Chat(store, SnapshotReader(demo_warehouse.settings))


def _only(calls, name):
    assert [c.name for c in calls] == [name], [c.name for c in calls]
    return calls[0].method


@pytest.mark.parametrize("lang", LANGS)
def test_stats_shows_the_overview_numbers_with_the_chart(chat, store, con, owners, single, lang):
    _register(store, single, lang)
    [ch] = owners[single].values()
    ov = channel_reads.overview(con, ch, stats.STATS_DAYS)
    photo = _only(chat.say("/stats", single), "sendPhoto")
    lines = photo.caption.split("\n")
    assert lines[0] == ch["title"]
    assert fmt_int(ov["subscribers"], lang) in lines[1]
    assert fmt_signed(ov["growth"], lang) in lines[2] and fmt_percent(ov["growth_pct"], lang, signed=True) in lines[2]
    assert fmt_int(ov["avg_post_reach"], lang) in lines[3]
    assert lines[4:7] == [f"ERR: {fmt_percent(ov['err'], lang)}", f"ERR24: {fmt_percent(ov['err24'], lang)}",
                          f"ER: {fmt_percent(ov['er'], lang, digits=2)}"]
    assert photo.caption.startswith(t("stats.headline", lang, title=ch["title"], subscribers=fmt_int(
        ov["subscribers"], lang), growth=fmt_signed(ov["growth"], lang), growth_pct=fmt_percent(
        ov["growth_pct"], lang, signed=True), reach=fmt_int(ov["avg_post_reach"], lang), err=fmt_percent(
        ov["err"], lang), err24=fmt_percent(ov["err24"], lang), er=fmt_percent(ov["er"], lang, digits=2)))
    assert photo.photo.data.startswith(b"\x89PNG")


@pytest.mark.parametrize("lang", LANGS)
def test_top_lists_the_best_posts_by_views_24h_with_links(chat, store, con, owners, single, lang):
    _register(store, single, lang)
    [ch] = owners[single].values()
    best = top_posts(con, ch, stats.TOP_N)
    photo = _only(chat.say("/top", single), "sendPhoto")
    lines = photo.caption.split("\n")
    assert lines[0] == t("top.title", lang, title=ch["title"])
    assert len(lines) == 1 + len(best) > 3
    for line, post in zip(lines[1:], best):
        assert fmt_int(post["views_24h"], lang) in line and line.endswith(post["link"])
    views = [p["views_24h"] for p in best]
    assert views == sorted(views, reverse=True)
    assert photo.photo.data.startswith(b"\x89PNG")


@pytest.mark.parametrize("lang", LANGS)
def test_post_accepts_each_link_form_and_shows_its_numbers(chat, store, con, owners, single, lang):
    _register(store, single, lang)
    [ch] = owners[single].values()
    post = top_posts(con, ch, 1)[0]
    mid = post["message_id"]
    for link in (f"https://t.me/{ch['username']}/{mid}", f"t.me/{ch['username'].upper()}/{mid}?single",
                 f"https://t.me/c/{ch['channel_id']}/{mid}"):
        photo = _only(chat.say(f"/post {link}", single), "sendPhoto")
        assert photo.caption.startswith(f"{ch['title']}, ")
        for value in (fmt_int(post["views_1h"], lang), fmt_int(post["views_24h"], lang),
                      fmt_int(post["views_48h"], lang), fmt_int(post["views_latest"], lang)):
            assert value in photo.caption
        assert photo.caption.endswith(post["link"])
        assert photo.photo.data.startswith(b"\x89PNG")


@pytest.mark.parametrize("lang", LANGS)
def test_post_of_another_owner_or_missing_reads_the_same_and_garbage_gets_usage(chat, store, owners, single,
                                                                                  lang):
    _register(store, single, lang)
    [mine] = owners[single].values()
    theirs = next(ch for uid, chs in owners.items() if uid != single for ch in chs.values())
    not_found = t("post.not_found", lang)
    for link in (f"https://t.me/{theirs['username']}/1", f"https://t.me/c/{theirs['channel_id']}/1",
                 f"https://t.me/{mine['username']}/999999999", "https://t.me/nobody_has_this_name/5"):
        assert _only(chat.say(f"/post {link}", single), "sendMessage").text == not_found
    for garbage in ("/post", "/post hello", "/post https://example.com/a/1", "/post t.me/x/1",
                    "/post https://t.me/abcd/1\x00", "/post " + "9" * 300):
        assert _only(chat.say(garbage, single), "sendMessage").text == t("post.usage", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_besttime_shows_the_model_slots_in_the_owner_language(chat, store, con, owners, single, lang):
    _register(store, single, lang)
    [ch] = owners[single].values()
    best = channel_reads.best_times(con, ch)
    assert best["status"] == "available"
    text = _only(chat.say("/besttime", single), "sendMessage").text.split("\n")
    assert text[0] == t("besttime.title", lang, title=ch["title"], time_zone=ch["time_zone"])
    assert len(text) == 1 + stats.BEST_SLOTS
    for line, slot in zip(text[1:], best["slots"]):
        assert line.startswith(f"{slot['rank']}. {weekday_name(slot['weekday'], lang)} {slot['hour']:02d}:00")
        assert f"×{slot['expected_relative_reach']:.2f}".replace(".", "." if lang == "en" else ",") in line


@pytest.mark.parametrize("status", ["not_enough_data", "not_available_yet"])
def test_besttime_without_the_model_sends_the_heatmap_and_says_why(chat, store, owners, single, status,
                                                                  monkeypatch):
    _register(store, single, "uz")
    [ch] = owners[single].values()
    monkeypatch.setattr(channel_reads, "best_times", lambda con, c: {**c, "status": status, "slots": []})
    photo = _only(chat.say("/besttime", single), "sendPhoto")
    assert photo.caption == t(f"besttime.{status}", "uz", title=ch["title"])
    assert photo.photo.data.startswith(b"\x89PNG")


@pytest.mark.parametrize("lang", LANGS)
def test_report_sends_a_pdf_and_a_workbook_and_counts_the_view(chat, store, owners, single, lang, monkeypatch):
    _register(store, single, lang)
    monkeypatch.setattr(stats, "_reports", stats._VersionCache(4))  # built here, not by an earlier test
    [ch] = owners[single].values()
    calls = chat.say("/report", single)
    # not built yet on this version: told at once, "sending a file" shown, then the files
    assert [c.name for c in calls] == ["sendMessage", "sendChatAction", "sendDocument", "sendDocument"]
    assert calls[0].method.text == t("report.building", lang, title=ch["title"])
    assert calls[1].method.action == "upload_document" and calls[1].chat_id == single
    pdf, xlsx = (c.method.document for c in calls[2:])
    assert pdf.filename.endswith(".pdf") and pdf.data.startswith(b"%PDF")
    assert xlsx.filename.endswith(".xlsx") and xlsx.data.startswith(b"PK")
    assert calls[2].method.caption == t("report.caption", lang, title=ch["title"])
    again = chat.say("/report", single)  # kept for this version: the same files straight away
    assert [c.name for c in again] == ["sendDocument", "sendDocument"]
    assert [c.method.document.data for c in again] == [pdf.data, xlsx.data]
    with store.transaction() as s:
        counted = s.scalars(select(UserActivityDaily).where(UserActivityDaily.user_id == single)).all()
        assert sum(getattr(row, "reports_viewed") for row in counted) == 2


def test_reports_asked_for_at_once_are_built_one_after_another_and_each_owner_gets_their_own(chat, owners,
                                                                                             monkeypatch):
    monkeypatch.setattr(stats, "_reports", stats._VersionCache(8))
    running, most, real = [0], [0], stats.build_report

    def counted(con, user_id, channel_id, lang):
        running[0] += 1
        most[0] = max(most[0], running[0])
        try:
            return real(con, user_id, channel_id, lang)
        finally:
            running[0] -= 1

    monkeypatch.setattr(stats, "build_report", counted)
    askers = [uid for uid, chs in sorted(owners.items()) if len(chs) == 1][:3]

    async def together():
        await asyncio.gather(*(chat.dp.feed_update(chat.bot, private_message("/report", user_id=uid))
                               for uid in askers))

    asyncio.run(together())
    assert most[0] == stats.REPORT_JOBS == 1
    for uid in askers:
        [ch] = owners[uid].values()
        calls = chat.session.called(chat_id=uid)
        assert [c.name for c in calls] == ["sendMessage", "sendChatAction", "sendDocument", "sendDocument"]
        assert calls[2].method.caption == t("report.caption", "en", title=ch["title"])


def test_a_report_whose_channel_or_snapshot_went_away_before_the_build_says_so(store, owners, single,
                                                                               demo_warehouse, monkeypatch):
    _register(store, single, "ru")
    [ch] = owners[single].values()
    snapshots = SnapshotReader(demo_warehouse.settings)
    monkeypatch.setattr(stats, "_reports", stats._VersionCache(4))
    with snapshots.connect() as con:
        waiting = [stats.report_command(snapshots, con, ch, single, "ru", store) for _ in range(2)]
    assert all(w.text == t("report.building", "ru", title=ch["title"]) and not w.documents for w in waiting)

    def not_theirs(con, user_id, channel_id, lang):  # the owner removed the channel; the next snapshot has no row
        raise PermissionError(f"channel {channel_id} is not one of user {user_id}'s channels")

    monkeypatch.setattr(stats, "build_report", not_theirs)
    assert waiting[0].then().text == t("stats.not_found", "ru")
    gone = SnapshotReader(store.settings)  # nothing published there
    with snapshots.connect() as con:
        later = stats.report_command(gone, con, ch, single, "ru", store)
    assert later.then().text == t("stats.preparing", "ru")


def test_several_channels_are_picked_by_argument_or_button_and_forged_buttons_are_refused(chat, owners, multi,
                                                                                           con):
    channels = owners[multi]
    ask = _only(chat.say("/stats", multi), "sendMessage")
    assert ask.text == t("stats.pick_channel", "en")
    buttons = [row[0].callback_data for row in ask.reply_markup.inline_keyboard]
    assert sorted(buttons) == sorted(f"pick:stats:{cid}" for cid in channels)
    for cid, ch in channels.items():
        photo = _only(chat.press(f"pick:stats:{cid}", multi), "sendPhoto")
        assert photo.caption.split("\n")[0] == ch["title"]
        for arg in (f"@{ch['username'].upper()}", ch["username"], ch["title"].swapcase(), str(cid),
                    f"-100{cid}"):
            assert _only(chat.say(f"/stats {arg}", multi), "sendPhoto").caption.split("\n")[0] == ch["title"]
    other = next(ch for uid, chs in owners.items() if uid != multi for ch in chs.values())
    not_found = t("stats.not_found", "en")
    for data in (f"pick:stats:{other['channel_id']}", f"pick:top:{other['channel_id']}", "pick:drop:1",
                 "pick:stats:x", f"pick:post:{next(iter(channels))}"):
        assert _only(chat.press(data, multi), "sendMessage").text == not_found
    for arg in (f"@{other['username']}", other["title"], str(other["channel_id"]), "no such channel",
                f"{next(iter(channels.values()))['username']}\x1b[31m", "a\u202eb", "x" * 1000):
        assert _only(chat.say(f"/top {arg}", multi), "sendMessage").text == not_found


@pytest.mark.parametrize("lang", LANGS)
def test_unregistered_no_channels_and_no_snapshot(store, demo_warehouse, lang):
    chat = Chat(store, SnapshotReader(demo_warehouse.settings))
    for command in stats.COMMANDS:
        assert _only(chat.say(f"/{command}", 555, language_code=lang), "sendMessage").text == \
            t("stats.need_start", lang)
    _register(store, 555, lang)
    for command in ("stats", "top", "besttime", "report"):
        assert _only(chat.say(f"/{command}", 555), "sendMessage").text == t("stats.no_channels", lang)
    empty = Chat(store, SnapshotReader(store.settings))  # the test's own data dir: nothing published
    for command in ("stats", "post t.me/abcd/1"):
        assert _only(empty.say(f"/{command}", 555), "sendMessage").text == t("stats.preparing", lang)


# -- caches per snapshot version -----------------------------------------------------------------------------------
def test_version_cache_keeps_values_of_the_current_version_only():
    cache, drawn = stats._VersionCache(size=2), []

    def draw(value):
        return lambda: drawn.append(value) or value

    assert cache.get("v1", ("a",), draw("a1")) == "a1"
    assert cache.get("v1", ("a",), draw("again")) == "a1" and drawn == ["a1"]
    cache.get("v1", ("b",), draw("b1"))
    cache.get("v1", ("c",), draw("c1"))  # over the size: the least recently used ("a") goes
    assert cache.get("v1", ("a",), draw("a2")) == "a2"
    assert cache.get("v2", ("b",), draw("b2")) == "b2"  # a new version: nothing of v1 is served
    assert drawn == ["a1", "b1", "c1", "a2", "b2"]


def test_a_report_is_built_once_per_version_and_language_and_counted_every_time(store, monkeypatch):
    built = []

    def fake_build(con, user_id, channel_id, lang):
        built.append((con.version, channel_id, lang))
        return b"%PDF " + lang.encode(), b"xlsx"

    monkeypatch.setattr(stats, "build_report", fake_build)
    monkeypatch.setattr(stats, "_reports", stats._VersionCache(4))
    with store.transaction() as s:
        s.add(User(user_id=7, language="en", time_zone="UTC"))
    ch = {"channel_id": -1001, "title": "Kitchen", "username": "kitchen"}
    first = stats.report_reply(ReadConnection("20261202T000000000000Z"), ch, 7, "en", store)
    again = stats.report_reply(ReadConnection("20261202T000000000000Z"), ch, 7, "en", store)
    stats.report_reply(ReadConnection("20261202T000000000000Z"), ch, 7, "ru", store)
    stats.report_reply(ReadConnection("20261203T000000000000Z"), ch, 7, "en", store)
    assert first.documents == again.documents and first.documents[0] == ("kitchen-20261202.pdf", b"%PDF en")
    assert built == [("20261202T000000000000Z", -1001, "en"), ("20261202T000000000000Z", -1001, "ru"),
                     ("20261203T000000000000Z", -1001, "en")]
    with store.transaction() as s:  # every /report is usage, built or not
        assert sum(r.reports_viewed for r in s.scalars(select(UserActivityDaily).where(
            UserActivityDaily.user_id == 7))) == 4
