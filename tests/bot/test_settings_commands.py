"""/digest, /alerts and /quiet through the real dispatcher, typed and with buttons, in each language: what is stored
is what the reply says, bad input changes nothing, and someone who never started is told to /start."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from aiogram.types import Update

from analyticbot.appstore.models import Order, User
from bot.app import create_dispatcher
from bot.i18n import LANGS, t, weekday_name
from tests.bot.fake_telegram import T0, FakeTelegramSession, chat_json, make_bot, private_message, user_json

UID = 1001


class Chat:
    def __init__(self, store, lang: str):
        self.session, self.lang = FakeTelegramSession(), lang
        self.bot, self.dp = make_bot(self.session), create_dispatcher(store, settings=store.settings)

    def _feed(self, update: Update) -> list:
        before = len(self.session.calls)
        asyncio.run(self.dp.feed_update(self.bot, update))
        return [c.method for c in self.session.calls[before:] if c.name == "sendMessage"]

    def say(self, text: str, user_id: int = UID) -> list:
        return self._feed(private_message(text, user_id=user_id, language_code=self.lang))

    def press(self, data: str, user_id: int = UID) -> list:
        return self._feed(Update.model_validate({"update_id": 800_000 + len(self.session.calls), "callback_query": {
            "id": "cb", "from": user_json(user_id), "chat_instance": "ci", "data": data,
            "message": {"message_id": 5, "date": int(T0), "chat": chat_json(user_id, "private"),
                        "from": user_json(42, is_bot=True), "text": "..."}}}))


def buttons(method) -> list[str]:
    return [b.callback_data for row in method.reply_markup.inline_keyboard for b in row]


@pytest.fixture
def owner(store):
    def make(lang: str = "en", zone: str = "Asia/Tashkent") -> None:
        with store.transaction() as s:
            s.add(User(user_id=UID, language=lang, time_zone=zone))
    return make


def stored(store) -> User:
    with store.transaction() as s:
        user = s.get(User, UID)
        s.expunge(user)
        return user


@pytest.mark.parametrize("lang", LANGS)
def test_digest_shows_the_schedule_and_typed_changes_are_stored(store, owner, lang):
    owner(lang)
    chat = Chat(store, lang)
    [shown] = chat.say("/digest")
    assert shown.text.startswith(t("schedule.current.daily", lang, hour=9, zone="Asia/Tashkent"))
    assert buttons(shown) == ["dg:daily", "dg:weekly", "dg:off"]
    [weekly] = chat.say("/digest weekly 7 18")
    assert weekly.text == t("schedule.current.weekly", lang, hour=18, zone="Asia/Tashkent",
                            weekday=weekday_name(6, lang))
    user = stored(store)
    assert (user.digest_period, user.digest_weekday, user.digest_hour) == ("weekly", 6, 18)
    [off] = chat.say("/digest off")
    assert off.text == t("schedule.current.off", lang) and stored(store).digest_period == "off"


@pytest.mark.parametrize("args", ["daily 24", "weekly 0 9", "weekly 8 9", "weekly 1", "hourly 3", "daily ９",
                                  "daily -1", "daily 9 extra"])
def test_bad_schedules_change_nothing(store, owner, args):
    owner()
    [reply] = Chat(store, "en").say(f"/digest {args}")
    assert reply.text == t("schedule.bad", "en")
    user = stored(store)
    assert (user.digest_period, user.digest_hour, user.digest_weekday) == ("daily", 9, 0)


@pytest.mark.parametrize("lang", LANGS)
def test_digest_buttons_walk_period_weekday_and_hour(store, owner, lang):
    owner(lang, zone="Europe/Berlin")
    chat = Chat(store, lang)
    [days] = chat.press("dg:weekly")
    assert days.text == t("schedule.choose_weekday", lang) and buttons(days) == [f"dgw:{d}" for d in range(7)]
    [hours] = chat.press("dgw:2")
    assert hours.text == t("schedule.choose_hour", lang, zone="Europe/Berlin")
    assert buttons(hours) == [f"dgh:weekly:2:{h}" for h in range(24)]
    [done] = chat.press("dgh:weekly:2:7")
    assert done.text == t("schedule.current.weekly", lang, hour=7, zone="Europe/Berlin", weekday=weekday_name(2, lang))
    assert (stored(store).digest_period, stored(store).digest_weekday, stored(store).digest_hour) == ("weekly", 2, 7)
    [daily_hours] = chat.press("dg:daily")
    assert buttons(daily_hours)[0] == "dgh:daily:0:0"
    [off] = chat.press("dg:off")
    assert off.text == t("schedule.current.off", lang)


@pytest.mark.parametrize("data", ["dgh:weekly:9:7", "dgh:daily:0:24", "dgh:monthly:0:7", "dgw:7", "dg:hourly",
                                  "dgh:weekly:2"])
def test_forged_schedule_buttons_change_nothing(store, owner, data):
    owner()
    assert Chat(store, "en").press(data) == []
    user = stored(store)
    assert (user.digest_period, user.digest_hour, user.digest_weekday) == ("daily", 9, 0)


@pytest.mark.parametrize("lang", LANGS)
def test_alerts_on_off_and_the_free_plan_note(store, owner, lang):
    owner(lang)
    chat = Chat(store, lang)
    [off] = chat.say("/alerts off")
    assert off.text == t("alerts.status.off", lang) + "\n\n" + t("alerts.paid_only", lang)
    assert stored(store).alerts_enabled is False and buttons(off) == ["al:on"]
    with store.transaction() as s:
        s.add(Order(user_id=UID, plan_code="pro_month", gateway="payme", amount_tiyin=1, currency="UZS",
                    status="paid", created_at=datetime.utcnow(), paid_at=datetime.utcnow()))
    [on] = chat.press("al:on")
    assert on.text == t("alerts.status.on", lang) and buttons(on) == ["al:off"]  # paid: no note
    assert stored(store).alerts_enabled is True
    [shown] = chat.say("/alerts")
    assert shown.text == t("alerts.status.on", lang)
    [usage] = chat.say("/alerts maybe")
    assert usage.text == t("alerts.usage", lang) and stored(store).alerts_enabled is True


@pytest.mark.parametrize("lang", LANGS)
def test_quiet_hours_set_shown_and_removed(store, owner, lang):
    owner(lang)
    chat = Chat(store, lang)
    [none] = chat.say("/quiet")
    assert none.text == t("quiet.status.off", lang, zone="Asia/Tashkent")
    [on] = chat.say("/quiet 23-8")
    assert on.text == t("quiet.status.on", lang, start="23", end="08", zone="Asia/Tashkent")
    assert (stored(store).quiet_start_hour, stored(store).quiet_end_hour) == (23, 8)
    [bad] = chat.say("/quiet 5-5")
    assert bad.text == t("quiet.bad", lang)
    [off] = chat.say("/quiet off")
    assert off.text == t("quiet.status.off", lang, zone="Asia/Tashkent")
    assert (stored(store).quiet_start_hour, stored(store).quiet_end_hour) == (None, None)


@pytest.mark.parametrize("args", ["24-3", "3-24", "23", "a-b", "23-8-1", "23\x00-8", "-1-8"])
def test_bad_quiet_hours_change_nothing(store, owner, args):
    owner()
    [reply] = Chat(store, "en").say(f"/quiet {args}")
    assert reply.text == t("quiet.bad", "en")
    assert (stored(store).quiet_start_hour, stored(store).quiet_end_hour) == (None, None)


@pytest.mark.parametrize("command", ["/digest", "/digest daily 9", "/alerts on", "/quiet 23-8"])
def test_someone_who_never_started_is_told_to_start_in_their_client_language(store, command):
    [reply] = Chat(store, "ru").say(command, user_id=3003)
    assert reply.text == t("settings.need_start", "ru")
    with store.transaction() as s:
        assert s.get(User, 3003) is None
