"""/mydata (a JSON file with everything the operational store holds about the user) and /deleteme (erasure,
after an explicit confirmation).

The confirmation buttons carry the requester's id: a button pressed by anybody else (a forwarded or forged
callback) deletes nothing. A confirmation pressed again after the erasure finds no user and deletes nothing
either (`erase_user` returns None). What erasure removes and keeps is decided in `analyticbot.privacy`; the
warehouse and the published snapshot follow at the next pipeline run (`analyticbot.erasure`).
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from analyticbot.appstore.channels import owned_channels
from analyticbot.appstore.db import AppStore
from analyticbot.privacy import Erasure, erase_user, export_json
from analyticbot.settings import Settings
from bot.context import Account
from bot.i18n import t

log = logging.getLogger("analyticbot.bot")


def export_filename(user_id: int) -> str:
    return f"analyticbot-data-{user_id}.json"


def _export(store: AppStore, user_id: int) -> bytes:
    with store.transaction() as s:
        return export_json(s, user_id)


async def mydata_command(message: Message, store: AppStore, lang: str) -> None:
    data = await asyncio.to_thread(_export, store, message.from_user.id)
    await message.answer_document(BufferedInputFile(data, filename=export_filename(message.from_user.id)),
                                  caption=t("privacy.mydata.caption", lang))


def _channel_titles(store: AppStore, user_id: int) -> list[str]:
    with store.transaction() as s:
        return [c.title for c in owned_channels(s, user_id)]


def confirm_keyboard(user_id: int, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=t("privacy.button.confirm", lang), callback_data=f"erase:yes:{user_id}"),
        InlineKeyboardButton(text=t("privacy.button.cancel", lang), callback_data=f"erase:no:{user_id}")]])


async def deleteme_command(message: Message, store: AppStore, lang: str, account: Account | None) -> None:
    user_id = message.from_user.id
    if account is None:
        await message.answer(t("privacy.nothing_stored", lang))
        return
    titles = await asyncio.to_thread(_channel_titles, store, user_id)
    channels = (t("privacy.deleteme.channels", lang, titles=", ".join(titles)) if titles
                else t("privacy.deleteme.no_channels", lang))
    await message.answer(t("privacy.deleteme.ask", lang, channels=channels),
                         reply_markup=confirm_keyboard(user_id, lang))


def _erase(store: AppStore, settings: Settings, user_id: int) -> Erasure | None:
    with store.transaction() as s:
        return erase_user(s, user_id, data_dir=settings.data_dir)


async def _drop_buttons(query: CallbackQuery) -> None:
    """The question's buttons go once answered, so the chat does not keep a live "delete" button around."""
    if not isinstance(query.message, Message):  # gone, or too old for Telegram to hand over
        return
    try:
        await query.message.edit_reply_markup(reply_markup=None)
    except TelegramBadRequest as exc:  # too old to edit, or already without buttons: nothing to tidy
        log.info("could not remove the erasure buttons: %s", exc)


async def _say(query: CallbackQuery, text: str) -> None:
    """Reply in the requester's private chat, also when the question's message is no longer accessible."""
    await query.bot.send_message(chat_id=query.from_user.id, text=text)


async def erase_choice(query: CallbackQuery, store: AppStore, settings: Settings, lang: str) -> None:
    _, choice, owner = (query.data.split(":") + ["", ""])[:3]
    if choice not in ("yes", "no") or owner != str(query.from_user.id):
        await query.answer(t("privacy.not_yours", lang), show_alert=True)
        return
    await query.answer()
    await _drop_buttons(query)
    if choice == "no":
        await _say(query, t("privacy.cancelled", lang))
        return
    erasure = await asyncio.to_thread(_erase, store, settings, query.from_user.id)
    if erasure is None:  # pressed again after the erasure, or never registered
        await _say(query, t("privacy.nothing_stored", lang))
        return
    log.info("user %s erased (request %s, %s channels)", erasure.user_id, erasure.request_id,
             len(erasure.channel_ids))
    await _say(query, t("privacy.deleted", lang, count=len(erasure.channel_ids)))


def router() -> Router:
    r = Router(name="privacy")
    r.message.register(mydata_command, Command("mydata"))
    r.message.register(deleteme_command, Command("deleteme"))
    r.callback_query.register(erase_choice, F.data.startswith("erase:"))
    return r
