"""When the bot speaks up on its own: /digest (daily, weekly or off, and at which local hour), /alerts (on or
off) and /quiet (hours in which alerts wait).

Each command works with buttons and typed arguments alike (`/digest weekly 1 9`, `/alerts off`, `/quiet 23-8`),
and every answer ends with the setting as it now stands, so the owner sees what they got. The buttons carry the
whole choice in their callback data (`dgh:weekly:0:9`), so there is no conversation state to lose on a restart.
Hours are the owner's local hours in their time zone; `bot.scheduler` reads these columns on every tick.
"""

from __future__ import annotations

import asyncio
import re

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import User
from analyticbot.entitlements import plan_in_force
from analyticbot.snapshot import SnapshotReader
from bot.context import Account
from bot.i18n import t, weekday_name

PERIODS = ("daily", "weekly", "off")
QUIET = re.compile(r"^\s*([0-9]{1,2})\s*[-–—]\s*([0-9]{1,2})\s*$")


def _number(word: str, below: int) -> int | None:
    """An ASCII number in [0, below), or None (`str.isdigit` would take "９" and "²")."""
    return int(word) if re.fullmatch(r"[0-9]{1,2}", word) and int(word) < below else None


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def _save(store: AppStore, user_id: int, **values) -> dict:
    """Store the values and return the user's settings as they now are."""
    with store.transaction() as s:
        user = s.get(User, user_id)
        for key, value in values.items():
            setattr(user, key, value)
        return {"period": user.digest_period, "hour": user.digest_hour, "weekday": user.digest_weekday,
                "alerts": user.alerts_enabled, "quiet": (user.quiet_start_hour, user.quiet_end_hour)}


# -- /digest --------------------------------------------------------------------------------------------------
def schedule_text(current: dict, account: Account, lang: str) -> str:
    zone = account.time_zone
    if current["period"] == "off":
        return t("schedule.current.off", lang)
    return t(f"schedule.current.{current['period']}", lang, hour=current["hour"], zone=zone,
             weekday=weekday_name(current["weekday"], lang))


def period_keyboard(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(t(f"schedule.button.{p}", lang), f"dg:{p}")
                                                  for p in PERIODS]])


def weekday_keyboard(lang: str) -> InlineKeyboardMarkup:
    days = [_button(weekday_name(d, lang, short=True), f"dgw:{d}") for d in range(7)]
    return InlineKeyboardMarkup(inline_keyboard=[days[:4], days[4:]])


def hour_keyboard(period: str, weekday: int) -> InlineKeyboardMarkup:
    hours = [_button(f"{h:02d}", f"dgh:{period}:{weekday}:{h}") for h in range(24)]
    return InlineKeyboardMarkup(inline_keyboard=[hours[i:i + 6] for i in range(0, 24, 6)])


def parse_schedule(args: str) -> dict | None:
    """`off`, `daily <hour>` or `weekly <day 1-7> <hour>` as column values, or None when it is none of those."""
    words = args.lower().split()
    if words == ["off"]:
        return {"digest_period": "off"}
    if len(words) == 2 and words[0] == "daily" and (hour := _number(words[1], 24)) is not None:
        return {"digest_period": "daily", "digest_hour": hour}
    if len(words) == 3 and words[0] == "weekly":
        day, hour = _number(words[1], 8), _number(words[2], 24)
        if day and hour is not None:  # day 1..7 as people count them; stored Monday = 0
            return {"digest_period": "weekly", "digest_weekday": day - 1, "digest_hour": hour}
    return None


async def digest_command(message: Message, command: CommandObject, store: AppStore, account: Account | None,
                         lang: str) -> None:
    if account is None:
        await message.answer(t("settings.need_start", lang))
        return
    if command.args:
        values = parse_schedule(command.args)
        if values is None:
            await message.answer(t("schedule.bad", lang), reply_markup=period_keyboard(lang))
            return
        current = await asyncio.to_thread(_save, store, account.user_id, **values)
        await message.answer(schedule_text(current, account, lang))
        return
    current = await asyncio.to_thread(_save, store, account.user_id)
    await message.answer(schedule_text(current, account, lang) + "\n\n" + t("schedule.choose_period", lang),
                         reply_markup=period_keyboard(lang))


async def digest_button(query: CallbackQuery, store: AppStore, account: Account | None, lang: str) -> None:
    await query.answer()
    if account is None:
        await query.message.answer(t("settings.need_start", lang))
        return
    kind, _, rest = query.data.partition(":")
    parts = rest.split(":")
    if kind == "dg" and parts == ["weekly"]:
        await query.message.answer(t("schedule.choose_weekday", lang), reply_markup=weekday_keyboard(lang))
    elif kind == "dg" and parts == ["daily"]:
        await query.message.answer(t("schedule.choose_hour", lang, zone=account.time_zone),
                                   reply_markup=hour_keyboard("daily", 0))
    elif kind == "dg" and parts == ["off"]:
        current = await asyncio.to_thread(_save, store, account.user_id, digest_period="off")
        await query.message.answer(schedule_text(current, account, lang))
    elif kind == "dgw" and len(parts) == 1 and (day := _number(parts[0], 7)) is not None:
        await query.message.answer(t("schedule.choose_hour", lang, zone=account.time_zone),
                                   reply_markup=hour_keyboard("weekly", day))
    elif (kind == "dgh" and len(parts) == 3 and parts[0] in ("daily", "weekly")
          and (day := _number(parts[1], 7)) is not None and (hour := _number(parts[2], 24)) is not None):
        current = await asyncio.to_thread(_save, store, account.user_id, digest_period=parts[0],
                                          digest_weekday=day, digest_hour=hour)
        await query.message.answer(schedule_text(current, account, lang))
    # anything else is a stale or forged button: answered (above), nothing changed


# -- /alerts ----------------------------------------------------------------------------------------------------
def alerts_keyboard(enabled: bool, lang: str) -> InlineKeyboardMarkup:
    target = "off" if enabled else "on"
    return InlineKeyboardMarkup(inline_keyboard=[[_button(t(f"alerts.button.{target}", lang), f"al:{target}")]])


async def _alerts_reply(store: AppStore, snapshots: SnapshotReader, account: Account, lang: str,
                        **values) -> tuple[str, InlineKeyboardMarkup]:
    current = await asyncio.to_thread(_save, store, account.user_id, **values)
    plan = await asyncio.to_thread(plan_in_force, store, snapshots, account.user_id)
    text = t(f"alerts.status.{'on' if current['alerts'] else 'off'}", lang)
    if not plan.allows("alerts"):
        text += "\n\n" + t("alerts.paid_only", lang)
    return text, alerts_keyboard(current["alerts"], lang)


async def alerts_command(message: Message, command: CommandObject, store: AppStore, snapshots: SnapshotReader,
                         account: Account | None, lang: str) -> None:
    if account is None:
        await message.answer(t("settings.need_start", lang))
        return
    arg = (command.args or "").strip().lower()
    if arg not in ("", "on", "off"):
        await message.answer(t("alerts.usage", lang))
        return
    values = {"alerts_enabled": arg == "on"} if arg else {}
    text, keyboard = await _alerts_reply(store, snapshots, account, lang, **values)
    await message.answer(text, reply_markup=keyboard)


async def alerts_button(query: CallbackQuery, store: AppStore, snapshots: SnapshotReader, account: Account | None,
                        lang: str) -> None:
    await query.answer()
    choice = query.data.partition(":")[2]
    if account is None or choice not in ("on", "off"):
        return
    text, keyboard = await _alerts_reply(store, snapshots, account, lang, alerts_enabled=choice == "on")
    await query.message.answer(text, reply_markup=keyboard)


# -- /quiet -----------------------------------------------------------------------------------------------------
def quiet_text(quiet: tuple[int | None, int | None], account: Account, lang: str) -> str:
    start, end = quiet
    if start is None or end is None:
        return t("quiet.status.off", lang, zone=account.time_zone)
    return t("quiet.status.on", lang, start=f"{start:02d}", end=f"{end:02d}", zone=account.time_zone)


def parse_quiet(args: str) -> dict | None:
    if args.strip().lower() == "off":
        return {"quiet_start_hour": None, "quiet_end_hour": None}
    match = QUIET.match(args)
    if not match:
        return None
    start, end = int(match[1]), int(match[2])
    if start > 23 or end > 23 or start == end:
        return None
    return {"quiet_start_hour": start, "quiet_end_hour": end}


async def quiet_command(message: Message, command: CommandObject, store: AppStore, account: Account | None,
                        lang: str) -> None:
    if account is None:
        await message.answer(t("settings.need_start", lang))
        return
    values = {}
    if command.args:
        values = parse_quiet(command.args)
        if values is None:
            await message.answer(t("quiet.bad", lang))
            return
    current = await asyncio.to_thread(_save, store, account.user_id, **values)
    await message.answer(quiet_text(current["quiet"], account, lang))


def router() -> Router:
    r = Router(name="settings")
    r.message.register(digest_command, Command("digest"))
    r.message.register(alerts_command, Command("alerts"))
    r.message.register(quiet_command, Command("quiet"))
    r.callback_query.register(digest_button, F.data.regexp(r"^dg[wh]?:"))
    r.callback_query.register(alerts_button, F.data.startswith("al:"))
    return r
