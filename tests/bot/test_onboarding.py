"""Onboarding through the real aiogram dispatcher: /start, language, time zone, /help and unknown input, in each
language, with Telegram faked at the session (tests/bot/fake_telegram.py)."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.types import Update

from analyticbot.appstore.models import User
from bot.app import configure, create_dispatcher
from bot.i18n import LANGS, t
from tests.bot.fake_telegram import (FakeTelegramSession, T0, chat_json, make_bot, private_message, user_json)


def callback(data: str, *, user_id: int = 1001, language_code: str = "en") -> Update:
    return Update.model_validate({"update_id": 900_000 + hash(data) % 1000, "callback_query": {
        "id": "cb1", "from": user_json(user_id, language_code=language_code), "chat_instance": "ci", "data": data,
        "message": {"message_id": 5, "date": int(T0), "chat": chat_json(user_id, "private"),
                    "from": user_json(42, is_bot=True), "text": "..."}}})


class Conversation:
    def __init__(self, store):
        self.session = FakeTelegramSession()
        self.bot = make_bot(self.session)
        self.dp = create_dispatcher(store)

    def feed(self, update: Update) -> list:
        before = len(self.session.calls)
        asyncio.run(self.dp.feed_update(self.bot, update))
        return self.session.calls[before:]


def _user(store, user_id=1001) -> User:
    with store.transaction() as s:
        u = s.get(User, user_id)
        return None if u is None else User(user_id=u.user_id, language=u.language, time_zone=u.time_zone)


@pytest.mark.parametrize("client_lang, expected", [("ru", "ru"), ("uz", "uz"), ("en-GB", "en"), ("de", "en"),
                                                   (None, "en")])
def test_start_registers_the_owner_in_their_client_language(store, client_lang, expected):
    chat = Conversation(store)
    calls = chat.feed(private_message("/start", language_code=client_lang))
    [sent] = [c for c in calls if c.name == "sendMessage"]
    assert sent.method.text == t("start.welcome", expected)
    buttons = [row[0].callback_data for row in sent.method.reply_markup.inline_keyboard]
    assert buttons[0] == f"lang:{expected}" and sorted(buttons) == sorted(f"lang:{code}" for code in LANGS)
    assert _user(store).language == expected


@pytest.mark.parametrize("lang", LANGS)
def test_language_then_time_zone_in_each_language(store, lang):
    chat = Conversation(store)
    chat.feed(private_message("/start"))
    calls = chat.feed(callback(f"lang:{lang}"))
    assert [c.method.text for c in calls if c.name == "answerCallbackQuery"] == [t("start.language_set", lang)]
    [ask] = [c for c in calls if c.name == "sendMessage"]
    assert ask.method.text == t("start.ask_time_zone", lang)
    calls = chat.feed(callback("tz:Asia/Tashkent"))
    [done] = [c for c in calls if c.name == "sendMessage"]
    assert done.method.text.startswith(t("start.time_zone_set", lang, zone="Asia/Tashkent"))
    assert t("help.text", lang) in done.method.text
    assert (_user(store).language, _user(store).time_zone) == (lang, "Asia/Tashkent")


def test_a_typed_time_zone_is_accepted_in_any_case_and_nonsense_is_explained(store):
    chat = Conversation(store)
    chat.feed(private_message("/start", language_code="ru"))
    chat.feed(callback("lang:ru"))
    for text in ("Mars/Olympus", "'; DROP TABLE users; --", "\x00\x1b[31m", "x" * 5000):
        [reply] = [c for c in chat.feed(private_message(text)) if c.name == "sendMessage"]
        assert reply.method.text == t("start.unknown_time_zone", "ru")
    assert _user(store).time_zone == "UTC"
    [ok] = [c for c in chat.feed(private_message("europe/berlin")) if c.name == "sendMessage"]
    assert ok.method.text.startswith(t("start.time_zone_set", "ru", zone="Europe/Berlin"))
    assert _user(store).time_zone == "Europe/Berlin"


def test_forged_buttons_change_nothing(store):
    chat = Conversation(store)
    chat.feed(private_message("/start"))
    chat.feed(callback("lang:xx"))
    chat.feed(callback("tz:Not/AZone"))
    assert (_user(store).language, _user(store).time_zone) == ("en", "UTC")


@pytest.mark.parametrize("lang", LANGS)
def test_help_and_unknown_input_answer_in_the_owners_language(store, lang):
    chat = Conversation(store)
    chat.feed(private_message("/start"))
    chat.feed(callback(f"lang:{lang}"))
    chat.feed(callback("tz:UTC"))
    assert [c.method.text for c in chat.feed(private_message("/help", language_code="en"))] == [t("help.text", lang)]
    assert [c.method.text for c in chat.feed(private_message("/nosuchcommand"))] == [t("unknown.command", lang)]
    assert [c.method.text for c in chat.feed(private_message("hello"))] == [t("unknown.command", lang)]


def test_someone_who_never_started_gets_help_in_their_client_language(store):
    chat = Conversation(store)
    assert [c.method.text for c in chat.feed(private_message("/help", user_id=2002, language_code="uz"))] == [
        t("help.text", "uz")]
    assert _user(store, 2002) is None  # reading help registers nobody


def test_start_after_blocking_the_bot_allows_messages_again(store):
    from datetime import datetime

    chat = Conversation(store)
    chat.feed(private_message("/start"))
    with store.transaction() as s:
        s.get(User, 1001).blocked_at = datetime(2026, 11, 1)
    chat.feed(private_message("/start"))
    with store.transaction() as s:
        assert s.get(User, 1001).blocked_at is None


def test_configure_sets_commands_per_language_and_the_menu_button(store, api_settings_free):
    import dataclasses

    session = FakeTelegramSession()
    bot = make_bot(session)
    settings = dataclasses.replace(api_settings_free, miniapp_url="https://example.test/app/")
    asyncio.run(configure(bot, settings))
    from bot.app import COMMANDS

    commands = {c.method.language_code: [(b.command, b.description) for b in c.method.commands]
                for c in session.calls if c.name == "setMyCommands"}
    assert commands == {code: [(c, t(f"command.{c}", lang)) for c in COMMANDS]
                        for code, lang in ((None, "en"), ("ru", "ru"), ("uz", "uz"))}
    assert len({d for _, d in commands["ru"]}) == len(COMMANDS)  # every command has its own Russian words
    [menu] = [c for c in session.calls if c.name == "setChatMenuButton"]
    assert menu.method.menu_button.web_app.url == "https://example.test/app/"


@pytest.fixture
def api_settings_free(data_dir):
    from analyticbot.settings import get_settings

    return get_settings()


@pytest.mark.parametrize("lang", LANGS)
def test_help_lists_every_public_command(lang):
    from bot.app import COMMANDS

    listed = {line.split()[0].lstrip("/") for line in t("help.text", lang).splitlines()}
    assert listed == set(COMMANDS)
