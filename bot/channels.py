"""Connecting channels: the owner adds the bot as an administrator of their channel, and the bot registers the
channel for ingestion; /channels lists them, with a button to disconnect one.

Telegram tells the bot about its own membership with a `my_chat_member` update. Whoever made the change is checked
with `getChatMember`: only the channel's creator or an administrator can connect it (anyone who could add the bot
as an admin is one, but a stale or replayed update is not trusted). Reading rights are not required: being an
admin is enough for the bot to stay informed, and posts are collected by the ingestion session.

Choices where Telegram leaves room:
- A non-admin's addition, and an addition over the plan's channel limit, make the bot leave the channel: the next
  attempt (after an upgrade) is then a fresh addition that Telegram reports again.
- A channel that is another owner's is refused but the bot stays: it is the same bot membership the real owner's
  connection relies on.
- Removal, a kick or a demotion to member deactivates the channel (history kept) and tells its owner.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, ChatMemberUpdated, InlineKeyboardButton, InlineKeyboardMarkup, Message

from analyticbot.appstore import channels as registry
from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import User
from analyticbot.entitlements import plan_in_force
from analyticbot.snapshot import SnapshotReader
from bot.context import Account
from bot.i18n import fmt_date, lang_of, t
from bot.onboarding import user_language

log = logging.getLogger("analyticbot.bot")
ADMIN_STATUSES = ("creator", "administrator")
GONE_STATUSES = ("member", "left", "kicked", "restricted")


def local_date(at: datetime, time_zone: str | None):
    """A naive UTC time as a date in the owner's zone (UTC when the zone is unknown)."""
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return at.replace(tzinfo=timezone.utc).astimezone(zone).date()


def _connect(store: AppStore, snapshots: SnapshotReader, *, user_id: int, client_lang: str, channel_id: int,
             title: str, username: str | None) -> tuple[str, str, int]:
    """(claim outcome, the user's language, their channel limit)."""
    with store.transaction() as s:
        registry.ensure_user(s, user_id, client_lang)
        lang = s.get(User, user_id).language
    limit = plan_in_force(store, snapshots, user_id).max_channels
    with store.transaction() as s:
        outcome = registry.claim_channel(s, channel_id=channel_id, owner_user_id=user_id, title=title,
                                         username=username, max_channels=limit)
    return outcome, lang, limit


def _disconnect(store: AppStore, channel_id: int, owner_user_id: int | None) -> tuple[registry.ChannelInfo, str] | None:
    """Deactivate; (the channel as it was, its owner's language), or None when nothing changed."""
    with store.transaction() as s:
        info = registry.deactivate_channel(s, channel_id, owner_user_id)
        if info is None:
            return None
        owner = s.get(User, info.owner_user_id)
        return info, owner.language if owner is not None else "en"


async def tell(bot: Bot, user_id: int, text: str, **kwargs) -> bool:
    """Message a user in private; False when we cannot (they never started the bot, or blocked it)."""
    try:
        await bot.send_message(user_id, text, **kwargs)
        return True
    except (TelegramForbiddenError, TelegramBadRequest) as exc:
        log.info("cannot message user %s: %s", user_id, type(exc).__name__)
        return False


async def _leave(bot: Bot, chat_id: int) -> None:
    try:
        await bot.leave_chat(chat_id)
    except TelegramAPIError as exc:  # already gone: nothing left to do
        log.info("leaving chat %s failed: %s", chat_id, type(exc).__name__)


async def _is_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramAPIError:  # cannot check: do not trust
        return False
    return member.status in ADMIN_STATUSES


async def membership_changed(event: ChatMemberUpdated, bot: Bot, store: AppStore, snapshots: SnapshotReader) -> None:
    chat, who = event.chat, event.from_user
    new, old = event.new_chat_member.status, event.old_chat_member.status
    if chat.type == "private":
        return  # a user blocked or unblocked the bot: the outbox notices that on its own
    client_lang = lang_of(who.language_code if who else None)
    if chat.type in ("group", "supergroup"):
        if new in ("member", "administrator") and who is not None and not who.is_bot:
            lang = await asyncio.to_thread(user_language, store, who.id, client_lang)
            if not await tell(bot, who.id, t("channels.not_a_channel", lang)):
                try:
                    await bot.send_message(chat.id, t("channels.not_a_channel", lang))
                except TelegramAPIError:
                    pass
            await _leave(bot, chat.id)
        return
    channel_id = registry.bare_channel_id(chat.id)
    if channel_id is None:
        return
    if new in GONE_STATUSES:
        if old in ADMIN_STATUSES:
            await _removed(bot, store, channel_id, chat.title or "")
        return
    if new != "administrator" or who is None or who.is_bot:
        return
    if not await _is_admin(bot, chat.id, who.id):
        lang = await asyncio.to_thread(user_language, store, who.id, client_lang)
        await tell(bot, who.id, t("channels.not_admin", lang, title=chat.title or ""))
        await _leave(bot, chat.id)
        return
    outcome, lang, limit = await asyncio.to_thread(
        _connect, store, snapshots, user_id=who.id, client_lang=client_lang, channel_id=channel_id,
        title=chat.title or str(channel_id), username=chat.username)
    title = chat.title or ""
    if outcome == registry.CLAIM_UNCHANGED:
        return  # the rights changed, the connection did not: nothing to say
    if outcome == registry.CLAIM_OTHER_OWNER:
        await tell(bot, who.id, t("channels.other_owner", lang, title=title))
        return
    if outcome == registry.CLAIM_LIMIT:
        await tell(bot, who.id, t("channels.limit", lang, title=title, limit=limit))
        await _leave(bot, chat.id)
        return
    key = "channels.reactivated" if outcome == registry.CLAIM_REACTIVATED else "channels.connected"
    await tell(bot, who.id, t(key, lang, title=title))


async def _removed(bot: Bot, store: AppStore, channel_id: int, title: str) -> None:
    done = await asyncio.to_thread(_disconnect, store, channel_id, None)
    if done is None:
        return  # not ours, or already disconnected (the owner pressed "disconnect" first)
    info, lang = done
    await tell(bot, info.owner_user_id, t("channels.removed", lang, title=info.title or title))


# -- /channels ----------------------------------------------------------------------------------------------
def _status(info: registry.ChannelInfo, lang: str) -> str:
    if not info.active:
        return t("channels.status.disconnected", lang)
    return t(f"channels.status.{info.status}", lang) if info.status in ("private", "unreachable") else \
        t("channels.status.active", lang)


def channels_text(channels: list[registry.ChannelInfo], lang: str, time_zone: str | None) -> str:
    if not channels:
        return t("channels.empty", lang) + "\n\n" + t("channels.how_to_add", lang)
    lines = [t("channels.title", lang)]
    for c in channels:
        name = c.title + (f" (@{c.username})" if c.username else "")
        since = fmt_date(local_date(c.registered_at, time_zone), lang) if c.registered_at else "–"
        lines.append(t("channels.line", lang, name=name, status=_status(c, lang), date=since))
    return "\n".join(lines) + "\n\n" + t("channels.how_to_add", lang)


def channels_keyboard(channels: list[registry.ChannelInfo], lang: str) -> InlineKeyboardMarkup | None:
    rows = [[InlineKeyboardButton(text=t("channels.disconnect_button", lang, title=c.title[:40]),
                                  callback_data=f"chan:off:{c.channel_id}")] for c in channels if c.active]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def _owned(store: AppStore, user_id: int) -> list[registry.ChannelInfo]:
    with store.transaction() as s:
        return registry.owned_channels(s, user_id)


async def channels_command(message: Message, store: AppStore, lang: str, account: Account | None) -> None:
    channels = await asyncio.to_thread(_owned, store, message.from_user.id)
    await message.answer(channels_text(channels, lang, account.time_zone if account else None),
                         reply_markup=channels_keyboard(channels, lang))


def _own_active(store: AppStore, user_id: int, channel_id: int) -> registry.ChannelInfo | None:
    return next((c for c in _owned(store, user_id) if c.channel_id == channel_id and c.active), None)


def _channel_id(data: str) -> int | None:
    tail = data.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() and len(tail) < 19 else None


async def ask_disconnect(query: CallbackQuery, store: AppStore, lang: str) -> None:
    channel_id = _channel_id(query.data)
    info = None if channel_id is None else await asyncio.to_thread(_own_active, store, query.from_user.id, channel_id)
    if info is None:  # forged, stale, or someone else's: say nothing about it
        await query.answer(t("channels.not_found", lang), show_alert=True)
        return
    await query.answer()
    await query.message.answer(
        t("channels.confirm_disconnect", lang, title=info.title),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text=t("channels.confirm_yes", lang), callback_data=f"chan:offyes:{channel_id}"),
            InlineKeyboardButton(text=t("channels.confirm_no", lang), callback_data=f"chan:keep:{channel_id}")]]))


async def confirm_disconnect(query: CallbackQuery, store: AppStore, lang: str) -> None:
    channel_id = _channel_id(query.data)
    done = None if channel_id is None else await asyncio.to_thread(_disconnect, store, channel_id,
                                                                   query.from_user.id)
    if done is None:
        await query.answer(t("channels.not_found", lang), show_alert=True)
        return
    await query.answer()
    await query.message.answer(t("channels.disconnected", lang, title=done[0].title))


async def keep_channel(query: CallbackQuery, lang: str) -> None:
    await query.answer(t("channels.kept", lang))


def router() -> Router:
    r = Router(name="channels")
    r.my_chat_member.register(membership_changed)
    r.message.register(channels_command, Command("channels"))
    r.callback_query.register(ask_disconnect, F.data.startswith("chan:off:"))
    r.callback_query.register(confirm_disconnect, F.data.startswith("chan:offyes:"))
    r.callback_query.register(keep_channel, F.data.startswith("chan:keep:"))
    return r
