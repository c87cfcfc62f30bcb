"""Who is talking to the bot: an outer middleware that reads the user once per update and hands handlers
`account` (the stored user, or None before /start) and `lang` (their language, or the client's until they
chose one), and counts the update as product usage for the churn model.

A user the team suspended (admin panel, `users.suspended_at`) gets one polite reply and nothing else, except
/mydata and /deleteme: what the bot keeps about a person stays theirs to download or erase.

Handlers take what they need by name (aiogram passes middleware data as keyword arguments), so a handler that
only answers in the user's language declares `lang: str` and never opens the store itself.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject

from analyticbot.appstore.activity import record_activity
from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import User
from bot.i18n import lang_of, t

log = logging.getLogger("analyticbot.bot")


@dataclass(frozen=True)
class Account:
    """What handlers need of a stored user; a plain value, safe to use outside the store's session."""
    user_id: int
    language: str
    time_zone: str
    role: str
    blocked: bool
    suspended: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def load_account(store: AppStore, user_id: int, count_command: bool) -> Account | None:
    with store.transaction() as s:
        user = s.get(User, user_id)
        if user is None:
            return None
        if count_command:
            record_activity(s, user_id, "bot_commands")
        return Account(user.user_id, user.language, user.time_zone, user.role, user.blocked_at is not None,
                       user.suspended_at is not None)


PRIVACY_COMMANDS = ("/mydata", "/deleteme")
PRIVACY_CALLBACKS = "erase:"  # the /deleteme confirmation buttons (bot/privacy.py)


def _privacy_request(event: TelegramObject) -> bool:
    if isinstance(event, CallbackQuery):
        return (event.data or "").startswith(PRIVACY_CALLBACKS)
    command = (getattr(event, "text", None) or "").split(maxsplit=1)[:1]
    return bool(command) and command[0].split("@", 1)[0] in PRIVACY_COMMANDS


class AccountMiddleware(BaseMiddleware):
    """Outer middleware for messages and callback queries (register with `dp.message.outer_middleware(...)`)."""

    def __init__(self, store: AppStore):
        self.store = store

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        user = getattr(event, "from_user", None)
        if user is None or user.is_bot:
            data["account"], data["lang"] = None, lang_of(None)
            return await handler(event, data)
        # A command or a button press is usage; plain text (a typed time zone, a photo) is part of one.
        counts = isinstance(event, CallbackQuery) or (
            isinstance(event, Message) and bool(event.text) and event.text.startswith("/"))
        account = await asyncio.to_thread(load_account, self.store, user.id, counts)
        data["account"] = account
        data["lang"] = account.language if account is not None else lang_of(user.language_code)
        if account is not None and account.suspended and not _privacy_request(event):
            text = t("suspension.refused", data["lang"])
            if isinstance(event, CallbackQuery):
                await event.answer(text, show_alert=True)
            elif isinstance(event, Message):
                await event.answer(text)
            return None
        return await handler(event, data)
