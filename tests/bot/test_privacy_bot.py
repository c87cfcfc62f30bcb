"""/mydata and /deleteme through the real dispatcher, in each language: the export file, the confirmation, what
Confirm and Cancel change, and buttons pressed by the wrong person or once too often."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select

from analyticbot.appstore.models import Channel, ErasureRequest, User
from bot.app import create_dispatcher
from bot.i18n import LANGS, t
from tests.bot.fake_telegram import FakeTelegramSession, make_bot, private_message
from tests.bot.test_onboarding import callback

OWNER, OTHER = 1001, 2002


class Chat:
    def __init__(self, store):
        self.store = store
        self.session = FakeTelegramSession()
        self.bot, self.dp = make_bot(self.session), create_dispatcher(store, settings=store.settings)

    def feed(self, *updates):
        before = len(self.session.calls)
        for u in updates:
            asyncio.run(self.dp.feed_update(self.bot, u))
        return self.session.calls[before:]


def _owner(store, user_id: int = OWNER, lang: str = "en", channels: tuple[int, ...] = (-1001,)) -> None:
    with store.transaction() as s:
        s.add(User(user_id=user_id, language=lang, time_zone="Asia/Tashkent"))
        s.flush()
        for cid in channels:
            s.add(Channel(channel_id=cid, owner_user_id=user_id, title=f"Chan {cid}", source_kind="telethon"))


def _counts(store) -> tuple[int, int, int]:
    with store.transaction() as s:
        return (s.scalar(select(func.count()).select_from(User)), s.scalar(select(func.count()).select_from(Channel)),
                s.scalar(select(func.count()).select_from(ErasureRequest)))


@pytest.mark.parametrize("lang", LANGS)
def test_mydata_sends_the_export_as_a_json_file(store, lang):
    _owner(store, lang=lang, channels=(-1001, -1002))
    _owner(store, OTHER, channels=(-2001,))
    [doc] = [c for c in Chat(store).feed(private_message("/mydata")) if c.name == "sendDocument"]
    assert doc.method.chat_id == OWNER
    assert doc.method.document.filename == f"analyticbot-data-{OWNER}.json"
    assert doc.method.caption == t("privacy.mydata.caption", lang)
    data = json.loads(doc.method.document.data)
    assert data["user_id"] == OWNER and data["user"]["language"] == lang
    assert sorted(c["channel_id"] for c in data["channels"]) == [-1002, -1001]  # theirs only


@pytest.mark.parametrize("lang", LANGS)
def test_deleteme_asks_first_and_confirm_erases(store, lang):
    _owner(store, lang=lang, channels=(-1001, -1002))
    _owner(store, OTHER, channels=(-2001,))
    chat = Chat(store)
    [ask] = [c for c in chat.feed(private_message("/deleteme")) if c.name == "sendMessage"]
    assert ask.method.text == t("privacy.deleteme.ask", lang, channels=t(
        "privacy.deleteme.channels", lang, titles="Chan -1001, Chan -1002"))
    buttons = [b.callback_data for b in ask.method.reply_markup.inline_keyboard[0]]
    assert buttons == [f"erase:yes:{OWNER}", f"erase:no:{OWNER}"]
    assert _counts(store) == (2, 3, 0)  # asking deletes nothing

    calls = chat.feed(callback(f"erase:yes:{OWNER}", language_code=lang))
    assert [c.method.text for c in calls if c.name == "sendMessage"] == [t("privacy.deleted", lang, count=2)]
    assert any(c.name == "editMessageReplyMarkup" for c in calls)  # the buttons are gone
    with store.transaction() as s:
        assert s.get(User, OWNER) is None and s.get(User, OTHER) is not None
        assert s.scalars(select(Channel.channel_id)).all() == [-2001]
        [req] = s.scalars(select(ErasureRequest)).all()
        assert (req.user_id, json.loads(req.channel_ids), req.purged_at) == (OWNER, [-1002, -1001], None)


@pytest.mark.parametrize("lang", LANGS)
def test_cancel_changes_nothing(store, lang):
    _owner(store, lang=lang)
    chat = Chat(store)
    chat.feed(private_message("/deleteme"))
    calls = chat.feed(callback(f"erase:no:{OWNER}", language_code=lang))
    assert [c.method.text for c in calls if c.name == "sendMessage"] == [t("privacy.cancelled", lang)]
    assert _counts(store) == (1, 1, 0)


def test_a_button_pressed_by_someone_else_deletes_nothing(store):
    _owner(store)
    _owner(store, OTHER, channels=(-2001,))
    for data in (f"erase:yes:{OWNER}", f"erase:no:{OWNER}", "erase:yes:", "erase:maybe:2002"):
        calls = Chat(store).feed(callback(data, user_id=OTHER))
        assert [c.method.text for c in calls if c.name == "answerCallbackQuery"] == [t("privacy.not_yours", "en")]
        assert not [c for c in calls if c.name == "sendMessage"]
    assert _counts(store) == (2, 2, 0)


def test_a_second_confirm_after_the_erasure_deletes_nothing_more(store):
    _owner(store, lang="ru")
    chat = Chat(store)
    chat.feed(private_message("/deleteme"), callback(f"erase:yes:{OWNER}"))
    assert _counts(store) == (0, 0, 1)
    calls = chat.feed(callback(f"erase:yes:{OWNER}", language_code="uz"))
    # the account is gone, so the answer follows the client's language now
    assert [c.method.text for c in calls if c.name == "sendMessage"] == [t("privacy.nothing_stored", "uz")]
    assert _counts(store) == (0, 0, 1)  # no second erasure request


def test_deleteme_without_an_account_says_there_is_nothing_to_delete(store):
    calls = Chat(store).feed(private_message("/deleteme", user_id=3003, language_code="ru"))
    assert [c.method.text for c in calls if c.name == "sendMessage"] == [t("privacy.nothing_stored", "ru")]
    assert not any(c.method.reply_markup for c in calls if c.name == "sendMessage")
    assert _counts(store) == (0, 0, 0)


def test_confirm_on_a_question_telegram_no_longer_hands_over_still_answers_in_private(store):
    from aiogram.types import Update

    from tests.bot.fake_telegram import user_json

    _owner(store)
    old = Update.model_validate({"update_id": 901_234, "callback_query": {
        "id": "cb9", "from": user_json(OWNER), "chat_instance": "ci", "data": f"erase:yes:{OWNER}"}})
    calls = Chat(store).feed(old)
    assert [(c.method.chat_id, c.method.text) for c in calls if c.name == "sendMessage"] == [
        (OWNER, t("privacy.deleted", "en", count=1))]
    assert not any(c.name == "editMessageReplyMarkup" for c in calls)
    assert _counts(store) == (0, 0, 1)
