"""Connecting channels and /channels through the real dispatcher with the fake Telegram session."""

from __future__ import annotations

import asyncio

import pytest

from analyticbot.appstore.models import Channel, User
from bot.app import create_dispatcher
from bot.i18n import LANGS, t
from tests.bot.fake_telegram import (FakeTelegramSession, make_bot, member_status, my_chat_member,
                                     private_message)
from tests.bot.test_onboarding import callback

CHAT = -1001234567890
BARE = 1234567890


class Bot_:
    def __init__(self, store):
        self.session = FakeTelegramSession()
        self.bot = make_bot(self.session)
        self.dp = create_dispatcher(store)

    def feed(self, update):
        before = len(self.session.calls)
        asyncio.run(self.dp.feed_update(self.bot, update))
        return self.session.calls[before:]


def _channel(store, cid=BARE):
    with store.transaction() as s:
        c = s.get(Channel, cid)
        return None if c is None else (c.owner_user_id, c.active, c.source_kind, c.title)


@pytest.mark.parametrize("lang", LANGS)
def test_admin_connects_a_channel_before_start_and_removal_deactivates(store, lang):
    b = Bot_(store)
    b.session.script("getChatMember", member_status("creator", 1001))
    update = my_chat_member(CHAT, title="News")
    update.my_chat_member.from_user.__dict__["language_code"] = lang
    b.feed(update)
    assert _channel(store) == (1001, True, "telethon", "News")
    with store.transaction() as s:
        assert s.get(User, 1001).language == lang
    assert b.session.sent_texts(1001) == [t("channels.connected", lang, title="News")]
    b.feed(my_chat_member(CHAT, old="administrator", new="left", title="News"))
    assert _channel(store)[1] is False
    assert b.session.sent_texts(1001)[-1] == t("channels.removed", lang, title="News")


def in_language(update, lang: str):
    update.my_chat_member.from_user.__dict__["language_code"] = lang
    return update


@pytest.mark.parametrize("lang", LANGS)
def test_a_member_cannot_connect_and_the_bot_leaves(store, lang):
    b = Bot_(store)
    b.feed(in_language(my_chat_member(CHAT, title="News"), lang))  # getChatMember answers "member" by default
    assert _channel(store) is None
    assert b.session.called("leaveChat", CHAT)
    assert b.session.sent_texts(1001) == [t("channels.not_admin", lang, title="News")]


@pytest.mark.parametrize("lang", LANGS)
def test_other_owner_and_plan_limit_are_refused(store, lang):
    b = Bot_(store)
    b.session.script("getChatMember", member_status("administrator", 1001))
    b.feed(in_language(my_chat_member(CHAT, title="News"), lang))
    b.session.script("getChatMember", member_status("administrator", 2002))
    b.feed(in_language(my_chat_member(CHAT, by_user_id=2002, title="News"), lang))
    assert _channel(store)[0] == 1001
    assert b.session.sent_texts(2002) == [t("channels.other_owner", lang, title="News")]
    b.session.script("getChatMember", member_status("administrator", 1001))
    b.feed(in_language(my_chat_member(-1009999999999, title="Second"), lang))  # free plan: one channel
    assert _channel(store, 9999999999) is None
    assert b.session.sent_texts(1001)[-1] == t("channels.limit", lang, title="Second", limit=1)


def test_groups_are_explained(store):
    b = Bot_(store)
    b.feed(my_chat_member(-4001, kind="group", new="member", title="G"))
    assert b.session.sent_texts(1001) == [t("channels.not_a_channel", "en")]


def test_channels_list_and_disconnect_with_forged_data_ignored(store):
    b = Bot_(store)
    b.session.script("getChatMember", member_status("creator", 1001))
    b.feed(my_chat_member(CHAT, title="News"))
    [reply] = [c for c in b.feed(private_message("/channels")) if c.name == "sendMessage"]
    assert "News" in reply.method.text and t("channels.status.active", "en") in reply.method.text
    assert reply.method.reply_markup.inline_keyboard[0][0].callback_data == f"chan:off:{BARE}"
    b.feed(callback(f"chan:offyes:{BARE}", user_id=2002))  # someone else's channel
    assert _channel(store)[1] is True
    b.feed(callback(f"chan:off:{BARE}"))
    b.feed(callback(f"chan:offyes:{BARE}"))
    assert _channel(store)[1] is False
    assert b.session.sent_texts(1001)[-1] == t("channels.disconnected", "en", title="News")


def test_empty_list_is_explained(store):
    b = Bot_(store)
    [reply] = [c for c in b.feed(private_message("/channels")) if c.name == "sendMessage"]
    assert reply.method.text.startswith(t("channels.empty", "en"))
