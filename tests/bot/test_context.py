"""AccountMiddleware: handlers get the stored user and their language, and commands count as product usage."""

from __future__ import annotations

import asyncio

import pytest

from aiogram import Router
from aiogram.filters import Command
from sqlalchemy import select

from analyticbot.appstore.models import User, UserActivityDaily
from bot import app
from tests.bot.fake_telegram import FakeTelegramSession, make_bot, private_message


@pytest.fixture
def probed(store, monkeypatch):
    """The real dispatcher with one feature router that records what the middleware handed it."""
    seen = []
    probe = Router(name="probe")

    @probe.message(Command("probe"))
    async def handler(message, account, lang):
        seen.append((account, lang))

    monkeypatch.setattr(app, "feature_routers", lambda: [probe])
    return app.create_dispatcher(store), seen


def _feed(dp, update):
    asyncio.run(dp.feed_update(make_bot(FakeTelegramSession()), update))


def _commands(store, user_id):
    with store.transaction() as s:
        return sum(r.bot_commands for r in s.scalars(select(UserActivityDaily).where(
            UserActivityDaily.user_id == user_id)))


def test_before_start_there_is_no_account_and_the_client_language_is_used(store, probed):
    dp, seen = probed
    _feed(dp, private_message("/probe", user_id=5, language_code="uz"))
    assert seen == [(None, "uz")]
    assert _commands(store, 5) == 0


def test_a_registered_user_gets_their_account_and_chosen_language_and_commands_count(store, probed):
    with store.transaction() as s:
        s.add(User(user_id=5, language="ru", time_zone="Asia/Tashkent", role="admin"))
    dp, seen = probed
    _feed(dp, private_message("/probe", user_id=5, language_code="en"))
    _feed(dp, private_message("/probe", user_id=5, language_code="en"))
    _feed(dp, private_message("Asia/Tashkent", user_id=5))  # plain text is part of a command, not one
    [(account, lang), _] = seen
    assert lang == "ru" and account.time_zone == "Asia/Tashkent" and account.is_admin and not account.blocked
    assert _commands(store, 5) == 2
