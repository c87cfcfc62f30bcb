"""Admin commands for users whose role is "admin" (granted with `analyticbot grant-admin <user id>`):

    /user <id or @channel username>   a summary of one user
    /broadcast <text>                 a preview with Confirm/Cancel; Confirm queues the text for every user

To anyone else these commands are unknown commands: the handlers' filter lets the update through to the fallback,
which answers exactly as it does for any unknown command, so nothing tells a user that admin commands exist. They
are not in `bot.app.COMMANDS` or /help for the same reason.

Every action writes its `admin_audit_log` row in the transaction of the action. A broadcast's text lives in its
preview row, and the Confirm button carries that row's id: the text is not bound by Telegram's 64-byte callback
data, and a Confirm from anyone but the admin who previewed it, or for a preview that is not one, is answered like
any stale button. Confirm queues one outbox row per user with a dedupe key per preview and user, so a double tap
(or two admins' devices) queues nobody twice; the outbox sender paces the sending.

The store keeps no usernames of people (Telegram does not give bots a way to look a user up by username), so an
@username names a registered channel and the summary is of its owner; the user's own username is asked of
Telegram (`getChat` on their id) when the summary is shown.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy import func, select

from analyticbot.appstore import channels as registry
from analyticbot.appstore.audit import record_admin_action
from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import AdminAuditLog, Channel, User, UserActivityDaily
from analyticbot.entitlements import CurrentPlan, plan_in_force
from analyticbot.snapshot import SnapshotReader
from bot.billing import plan_name
from bot.channel_picker import clean_argument
from bot.channels import local_date
from bot.context import Account
from bot.i18n import fmt_date, fmt_int, t
from bot.onboarding import LANGUAGE_NAMES
from bot.outbox import enqueue

log = logging.getLogger("analyticbot.bot")

MAX_TEXT_UTF16 = 4096  # Telegram's limit for a message's text, counted in UTF-16 code units
MAX_CHANNEL_LINES = 15  # a business owner may have 50 channels; the summary must stay one message
MAX_TITLE = 48
_USER_ID = re.compile(r"\d{1,19}")
_USERNAME = re.compile(r"@([A-Za-z0-9_]{1,32})")
_CALLBACK = re.compile(r"^adm:bc:(ok|no):(\d{1,19})$")
# Direction overrides and isolates can make a message read differently from what was typed; no broadcast needs them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_admin(event: Message | CallbackQuery, account: Account | None) -> bool:
    """The filter of the admin commands: a registered admin, in a private chat (a summary never goes to a group)."""
    message = event if isinstance(event, Message) else event.message
    return account is not None and account.is_admin and message is not None and message.chat.type == "private"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clean_broadcast(text: str | None) -> str:
    """The text to broadcast: line breaks normalised, control and direction-override characters removed (tabs
    and line breaks kept), surrounding blank space stripped. Empty when nothing is left."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or (unicodedata.category(c) != "Cc" and c not in _BIDI_CONTROLS)
                   ).strip()


# -- /user ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UserSummary:
    user_id: int
    language: str
    time_zone: str
    role: str
    blocked_at: datetime | None
    created_at: datetime
    channels: list[registry.ChannelInfo]
    last_active: date | None
    via_channel: str | None  # the @username the admin typed, when it named a channel


def parse_target(arg: str | None) -> int | str | None:
    """A user id, a channel @username (without the @), or None for anything else (usage)."""
    arg = clean_argument(arg)
    if not arg:
        return None
    if _USER_ID.fullmatch(arg) and 0 < int(arg) < 2 ** 63:
        return int(arg)
    m = _USERNAME.fullmatch(arg)
    return m.group(1) if m else None


def _lookup(store: AppStore, admin_id: int, target: int | str) -> UserSummary | None:
    """The summary of `target`, and its audit row, in one transaction (a lookup of nobody is audited too: probing
    ids is an admin action)."""
    with store.transaction() as s:
        user_id, via = target, None
        if isinstance(target, str):
            owner = s.scalar(select(Channel.owner_user_id).where(func.lower(Channel.username) == target.lower())
                             .order_by(Channel.active.desc(), Channel.channel_id).limit(1))
            user_id, via = owner, target
        user = s.get(User, user_id) if user_id is not None else None
        detail = {"found": user is not None} | ({"channel_username": via} if via else {})
        record_admin_action(s, admin_id, "user_lookup", target=user_id if user_id is not None else f"@{target}",
                            detail=detail)
        if user is None:
            return None
        last = s.scalar(select(func.max(UserActivityDaily.activity_date))
                        .where(UserActivityDaily.user_id == user.user_id))
        return UserSummary(user.user_id, user.language, user.time_zone, user.role, user.blocked_at, user.created_at,
                           registry.owned_channels(s, user.user_id), last, via)


async def telegram_username(bot: Bot, user_id: int) -> str | None:
    """The user's @username as Telegram has it now; None when they have none or Telegram cannot say."""
    try:
        chat = await bot.get_chat(user_id)
    except TelegramAPIError as exc:
        log.info("getChat for user %s: %s", user_id, exc)
        return None
    return chat.username


def _plan(current: CurrentPlan, lang: str, time_zone: str | None) -> str:
    name = plan_name(current.spec, lang)
    if current.period_end is None:
        return name
    return t("admin.user.plan_until", lang, plan=name, date=fmt_date(local_date(current.period_end, time_zone), lang))


def summary_text(u: UserSummary, username: str | None, current: CurrentPlan, lang: str,
                 admin_time_zone: str | None) -> str:
    """The summary in the admin's language; dates in the admin's time zone."""
    def day(at: datetime) -> str:
        return fmt_date(local_date(at, admin_time_zone), lang)

    lines = [t("admin.user.title", lang, user_id=u.user_id)]
    if u.via_channel:
        lines.append(t("admin.user.via_channel", lang, username=u.via_channel))
    status = (t("admin.user.blocked_since", lang, date=day(u.blocked_at)) if u.blocked_at
              else t("admin.user.not_blocked", lang))
    lines += [
        t("admin.user.username", lang, username=f"@{username}" if username else t("admin.none", lang)),
        t("admin.user.language", lang, language=LANGUAGE_NAMES.get(u.language, u.language)),
        t("admin.user.time_zone", lang, time_zone=u.time_zone),
        t("admin.user.role", lang, role=t(f"admin.role.{u.role}", lang)),
        t("admin.user.status", lang, status=status),
        t("admin.user.created", lang, date=day(u.created_at)),
        t("admin.user.plan", lang, plan=_plan(current, lang, admin_time_zone)),
        t("admin.user.last_active", lang,
          date=fmt_date(u.last_active, lang) if u.last_active else t("admin.never", lang)),
        t("admin.user.channels", lang, count=fmt_int(len(u.channels), lang)),
    ]
    for c in u.channels[:MAX_CHANNEL_LINES]:
        title = c.title if len(c.title) <= MAX_TITLE else c.title[:MAX_TITLE - 1] + "…"
        name = title + (f" (@{c.username})" if c.username else "")
        state = t("admin.channel.active", lang) if c.active else t("admin.channel.inactive", lang)
        lines.append(t("admin.user.channel_line", lang, name=name, state=state))
    if len(u.channels) > MAX_CHANNEL_LINES:
        lines.append(t("admin.user.more_channels", lang, count=fmt_int(len(u.channels) - MAX_CHANNEL_LINES, lang)))
    return "\n".join(lines)


async def user_command(message: Message, command: CommandObject, bot: Bot, store: AppStore,
                       snapshots: SnapshotReader, account: Account, lang: str) -> None:
    target = parse_target(command.args)
    if target is None:
        await message.answer(t("admin.user.usage", lang))
        return
    found = await asyncio.to_thread(_lookup, store, account.user_id, target)
    if found is None:
        key = "admin.user.not_found" if isinstance(target, int) else "admin.user.no_channel"
        await message.answer(t(key, lang, user_id=target, username=target))
        return
    current = await asyncio.to_thread(plan_in_force, store, snapshots, found.user_id)
    username = await telegram_username(bot, found.user_id)
    await message.answer(summary_text(found, username, current, lang, account.time_zone))


# -- /broadcast -------------------------------------------------------------------------------------------
def _recipients(session) -> list[int]:
    return list(session.scalars(select(User.user_id).where(User.blocked_at.is_(None)).order_by(User.user_id)))


def _preview(store: AppStore, admin_id: int, text: str) -> tuple[int, int]:
    """Record the preview (its row holds the text Confirm sends); returns (audit id, recipients now)."""
    with store.transaction() as s:
        recipients = len(_recipients(s))
        audit_id = record_admin_action(s, admin_id, "broadcast_preview", detail={
            "text": text, "length_utf16": utf16_len(text), "recipients": recipients,
            "sha256": hashlib.sha256(text.encode()).hexdigest()})
        return audit_id, recipients


def broadcast_keyboard(audit_id: int, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=t("admin.broadcast.confirm_button", lang), callback_data=f"adm:bc:ok:{audit_id}"),
        InlineKeyboardButton(text=t("admin.broadcast.cancel_button", lang), callback_data=f"adm:bc:no:{audit_id}")]])


async def broadcast_command(message: Message, command: CommandObject, store: AppStore, account: Account,
                            lang: str) -> None:
    text = clean_broadcast(command.args)
    if not text:
        await message.answer(t("admin.broadcast.usage", lang))
        return
    length = utf16_len(text)
    if length > MAX_TEXT_UTF16:
        await message.answer(t("admin.broadcast.too_long", lang, length=fmt_int(length, lang),
                               limit=fmt_int(MAX_TEXT_UTF16, lang)))
        return
    audit_id, recipients = await asyncio.to_thread(_preview, store, account.user_id, text)
    await message.answer(t("admin.broadcast.preview", lang, recipients=fmt_int(recipients, lang)))
    # the text exactly as users will get it (plain text, no parse mode), with the buttons under it
    await message.answer(text, reply_markup=broadcast_keyboard(audit_id, lang))


OK, NOT_FOUND, SENT_ALREADY, CANCELLED_ALREADY = "ok", "not_found", "sent_already", "cancelled_already"


def _decide(store: AppStore, admin_id: int, audit_id: int, confirm: bool) -> tuple[str, int]:
    """Confirm (queue the text for every user who has not blocked the bot) or cancel one preview, and its audit
    row, in one transaction. Returns (outcome, messages queued)."""
    with store.transaction() as s:
        # FOR UPDATE on PostgreSQL: two taps at once take turns, and the second sees the first one's row.
        preview = s.scalar(select(AdminAuditLog).where(AdminAuditLog.id == audit_id).with_for_update())
        if preview is None or preview.action != "broadcast_preview" or preview.admin_user_id != admin_id:
            return NOT_FOUND, 0
        done = s.scalar(select(AdminAuditLog.action).where(
            AdminAuditLog.action.in_(("broadcast_sent", "broadcast_cancelled")),
            AdminAuditLog.target == str(audit_id)).limit(1))
        if done is not None:
            return (SENT_ALREADY if done == "broadcast_sent" else CANCELLED_ALREADY), 0
        if not confirm:
            record_admin_action(s, admin_id, "broadcast_cancelled", target=audit_id)
            return OK, 0
        text = json.loads(preview.detail)["text"]
        queued = sum(
            enqueue(s, chat_id=user_id, chat_kind="private", kind="broadcast", params={"text": text},
                    dedupe_key=f"broadcast:{audit_id}:{user_id}") is not None
            for user_id in _recipients(s))
        record_admin_action(s, admin_id, "broadcast_sent", target=audit_id, detail={"queued": queued})
        return OK, queued


async def unknown_choice(query: CallbackQuery, lang: str) -> None:
    await query.answer(t("admin.unknown_choice", lang), show_alert=True)


async def broadcast_decision(query: CallbackQuery, store: AppStore, account: Account | None, lang: str) -> None:
    m = _CALLBACK.match(query.data or "")
    if m is None or not is_admin(query, account):  # forged or stale: like any button that is no longer there
        await unknown_choice(query, lang)
        return
    confirm = m.group(1) == "ok"
    outcome, queued = await asyncio.to_thread(_decide, store, account.user_id, int(m.group(2)), confirm)
    if outcome == NOT_FOUND:
        await unknown_choice(query, lang)
        return
    await query.answer()
    if outcome == OK:
        try:  # the buttons go, so the preview cannot be confirmed by mistake later
            await query.message.edit_reply_markup(reply_markup=None)
        except TelegramAPIError as exc:
            log.info("could not remove the broadcast buttons: %s", exc)
    reply = {SENT_ALREADY: t("admin.broadcast.sent_already", lang),
             CANCELLED_ALREADY: t("admin.broadcast.cancelled_already", lang),
             OK: t("admin.broadcast.queued", lang, count=fmt_int(queued, lang)) if confirm
             else t("admin.broadcast.cancelled", lang)}[outcome]
    await query.message.answer(reply)


def router() -> Router:
    """Admin commands; for anyone else the filter fails and the update reaches the fallback (unknown command)."""
    r = Router(name="admin")
    r.message.register(user_command, Command("user"), is_admin)
    r.message.register(broadcast_command, Command("broadcast"), is_admin)
    r.callback_query.register(broadcast_decision, F.data.startswith("adm:"))
    return r
