"""A user the team suspended (admin panel) gets one polite reply in their language and nothing else, except
/mydata and /deleteme; lifting the suspension gives them the bot back."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlalchemy import select

from analyticbot.appstore.models import User, UserActivityDaily
from bot.app import create_dispatcher
from bot.i18n import LANGS, t
from tests.bot.fake_telegram import FakeTelegramSession, make_bot, private_message
from tests.bot.test_onboarding import callback

OWNER = 1001


class Chat:
    def __init__(self, store):
        self.session = FakeTelegramSession()
        self.bot, self.dp = make_bot(self.session), create_dispatcher(store, settings=store.settings)

    def feed(self, update):
        before = len(self.session.calls)
        asyncio.run(self.dp.feed_update(self.bot, update))
        return self.session.calls[before:]


def _user(store, lang: str, suspended: bool = True) -> None:
    with store.transaction() as s:
        s.add(User(user_id=OWNER, language=lang, time_zone="UTC",
                   suspended_at=datetime(2026, 12, 1) if suspended else None))


def _texts(calls) -> list[str]:
    return [c.method.text for c in calls if c.name == "sendMessage"]


@pytest.mark.parametrize("lang", LANGS)
def test_a_suspended_user_gets_the_polite_reply_for_commands_and_text(store, lang):
    _user(store, lang)
    chat = Chat(store)
    for text in ("/plan", "/start", "/help", "hello"):
        assert _texts(chat.feed(private_message(text, language_code="en"))) == [t("suspension.refused", lang)]
    with store.transaction() as s:  # the refusal still counts the command as usage, as any update does
        assert sum(r.bot_commands for r in s.scalars(select(UserActivityDaily))) == 3


def test_a_suspended_user_pressing_a_button_gets_the_reply_as_an_alert(store):
    _user(store, "ru")
    calls = Chat(store).feed(callback("plan:pro_month", language_code="en"))
    [answer] = [c for c in calls if c.name == "answerCallbackQuery"]
    assert answer.method.text == t("suspension.refused", "ru") and answer.method.show_alert
    assert not _texts(calls)


def test_a_suspended_user_can_still_download_and_erase_their_data(store):
    _user(store, "en")
    chat = Chat(store)
    assert any(c.name == "sendDocument" for c in chat.feed(private_message("/mydata")))
    [ask] = _texts(chat.feed(private_message("/deleteme")))
    assert ask != t("suspension.refused", "en")
    assert _texts(chat.feed(callback(f"erase:yes:{OWNER}")))  # the erasure goes through
    with store.transaction() as s:
        assert s.get(User, OWNER) is None


def test_lifting_the_suspension_gives_the_bot_back(store):
    _user(store, "en")
    chat = Chat(store)
    assert _texts(chat.feed(private_message("/help"))) == [t("suspension.refused", "en")]
    with store.transaction() as s:
        s.get(User, OWNER).suspended_at = None
    [reply] = _texts(chat.feed(private_message("/help")))
    assert reply != t("suspension.refused", "en") and "/plan" in reply
