"""First contact: /start registers the owner and asks their language and time zone; /help; anything unknown gets
a pointer to /help in the owner's language.

The language offered first is the one the Telegram client reports (`language_code`), so most owners tap once. A
time zone can be picked from the zones most owners use or typed as an IANA name ("Asia/Tashkent"); a name that
is not a zone gets a clear reply, never a crash. Onboarding state lives in the dispatcher's FSM storage: a restart
mid-onboarding only means the owner taps /start again, while what they already chose is in the store.
"""

from __future__ import annotations

import asyncio
from zoneinfo import available_timezones

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import User
from bot.i18n import DEFAULT_LANG, LANGS, t
from bot.outbox import mark_returned

LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "uz": "Oʻzbekcha"}
COMMON_ZONES = ("Asia/Tashkent", "Asia/Almaty", "Europe/Moscow", "Europe/Istanbul", "Europe/Berlin",
                "Europe/London", "Asia/Dubai", "America/New_York", "UTC")
ZONES = frozenset(available_timezones())

class Onboarding(StatesGroup):
    time_zone = State()


def client_language(code: str | None) -> str:
    """The bot language closest to the Telegram client's (ru for Russian, uz for Uzbek, else English)."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGS else DEFAULT_LANG


def _register(store: AppStore, user_id: int, client_lang: str) -> str:
    """Create the owner on first contact (language from the client), allow messages again if they had blocked
    the bot, and return their language."""
    with store.transaction() as s:
        user = s.get(User, user_id)
        if user is None:
            user = User(user_id=user_id, language=client_lang, time_zone="UTC")
            s.add(user)
        elif user.blocked_at is not None:
            mark_returned(s, user_id)
        return user.language


def _set(store: AppStore, user_id: int, **values) -> None:
    with store.transaction() as s:
        user = s.get(User, user_id)
        for key, value in values.items():
            setattr(user, key, value)


def user_language(store: AppStore, user_id: int, fallback: str = DEFAULT_LANG) -> str:
    with store.transaction() as s:
        user = s.get(User, user_id)
        return user.language if user is not None else fallback


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    order = [current] + [code for code in LANGS if code != current]
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=LANGUAGE_NAMES[code],
                                                                       callback_data=f"lang:{code}")]
                                                 for code in order])


def zone_keyboard() -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=zone, callback_data=f"tz:{zone}") for zone in COMMON_ZONES[i:i + 3]]
            for i in range(0, len(COMMON_ZONES), 3)]
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def start(message: Message, store: AppStore, state: FSMContext) -> None:
    lang = await asyncio.to_thread(_register, store, message.from_user.id,
                                   client_language(message.from_user.language_code))
    await state.clear()
    await message.answer(t("start.welcome", lang), reply_markup=language_keyboard(lang))


async def choose_language(query: CallbackQuery, store: AppStore, state: FSMContext) -> None:
    lang = query.data.split(":", 1)[1]
    if lang not in LANGS:  # a stale or forged button: keep what they have
        await query.answer()
        return
    await asyncio.to_thread(_set, store, query.from_user.id, language=lang)
    await state.set_state(Onboarding.time_zone)
    await query.answer(t("start.language_set", lang))
    await query.message.answer(t("start.ask_time_zone", lang), reply_markup=zone_keyboard())


async def _zone_chosen(store: AppStore, state: FSMContext, user_id: int, zone: str, reply) -> None:
    await asyncio.to_thread(_set, store, user_id, time_zone=zone)
    await state.clear()
    lang = await asyncio.to_thread(user_language, store, user_id)
    await reply(t("start.time_zone_set", lang, zone=zone) + "\n\n" + t("help.text", lang))


async def choose_zone(query: CallbackQuery, store: AppStore, state: FSMContext) -> None:
    zone = query.data.split(":", 1)[1]
    await query.answer()
    if zone not in ZONES:
        return
    await _zone_chosen(store, state, query.from_user.id, zone, query.message.answer)


async def typed_zone(message: Message, store: AppStore, state: FSMContext) -> None:
    text = message.text.strip()
    zone = next((z for z in ZONES if z.lower() == text.lower()), None) if len(text) <= 64 else None
    if zone is None:
        lang = await asyncio.to_thread(user_language, store, message.from_user.id)
        await message.answer(t("start.unknown_time_zone", lang), reply_markup=zone_keyboard())
        return
    await _zone_chosen(store, state, message.from_user.id, zone, message.answer)


async def help_command(message: Message, store: AppStore) -> None:
    lang = await asyncio.to_thread(user_language, store, message.from_user.id,
                                   client_language(message.from_user.language_code))
    await message.answer(t("help.text", lang))


def router() -> Router:
    """A new router with these handlers (a router belongs to one dispatcher; tests build several)."""
    r = Router(name="onboarding")
    r.message.register(start, CommandStart())
    r.callback_query.register(choose_language, F.data.startswith("lang:"))
    r.callback_query.register(choose_zone, F.data.startswith("tz:"))
    r.message.register(typed_zone, Onboarding.time_zone, F.text)
    r.message.register(help_command, Command("help"))
    return r


def fallback_router() -> Router:
    """Registered last: whatever no other handler took gets a pointer to /help, in the owner's language."""
    last = Router(name="fallback")

    @last.message()
    async def unknown(message: Message, store: AppStore) -> None:
        if message.chat.type != "private" or message.from_user is None:
            return
        lang = await asyncio.to_thread(user_language, store, message.from_user.id,
                                       client_language(message.from_user.language_code))
        await message.answer(t("unknown.command", lang))

    return last
