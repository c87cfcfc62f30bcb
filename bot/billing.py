"""/plan (the plan in force, usage, features) and /upgrade (plan and period, then a gateway, then a payment link).

Links come from `analyticbot.payments.checkout` (shared with the admin panel). Only configured gateways are
offered; a payer returns to the bot's own t.me link unless a return URL is configured.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from analyticbot.appstore import channels as registry
from analyticbot.appstore.db import AppStore
from analyticbot.entitlements import CurrentPlan, plan_in_force
from analyticbot.payments import checkout
from analyticbot.payments.catalogue import PLANS_BY_CODE, PlanSpec
from analyticbot.settings import Settings
from analyticbot.snapshot import SnapshotReader
from bot.channels import local_date
from bot.context import Account
from bot.i18n import fmt_date, fmt_int, t

log = logging.getLogger("analyticbot.bot")
PAID_PLANS = ("pro_month", "pro_year", "business_month", "business_year")
GATEWAY_NAMES = {"stripe": "Stripe", "payme": "Payme", "click": "Click"}


def fmt_money(amount: int, currency: str, lang: str) -> str:
    """$9.00 for US cents; 115 000 UZS for tiyin (whole sums)."""
    if currency == "USD":
        return f"${amount // 100}.{amount % 100:02d}" if lang == "en" else f"{amount // 100},{amount % 100:02d} $"
    return f"{fmt_int(amount // 100, lang)} UZS"


def plan_name(spec: PlanSpec, lang: str) -> str:
    name = t(f"billing.tier.{spec.tier}", lang)
    return name if spec.tier == "free" else f"{name} ({t(f'billing.period.{spec.billing_interval}', lang)})"


def _plan_and_usage(store: AppStore, snapshots: SnapshotReader, user_id: int) -> tuple[CurrentPlan, int]:
    current = plan_in_force(store, snapshots, user_id)
    with store.transaction() as s:
        return current, registry.active_channel_count(s, user_id)


def plan_text(current: CurrentPlan, used: int, lang: str, time_zone: str | None) -> str:
    spec = current.spec
    lines = [t("billing.plan.name", lang, name=plan_name(spec, lang))]
    if current.paid:
        amount, currency = spec.price(current.source)
        lines.append(t("billing.plan.price", lang, price=fmt_money(amount, currency, lang),
                       period=t(f"billing.period.{spec.billing_interval}", lang)))
        if current.period_end is not None:
            lines.append(t("billing.plan.until", lang, date=fmt_date(local_date(current.period_end, time_zone), lang),
                           source=GATEWAY_NAMES.get(current.source, current.source)))
    else:
        lines.append(t("billing.plan.free_price", lang))
    lines.append(t("billing.plan.usage", lang, used=used, limit=current.max_channels))
    lines.append(t("billing.plan.features", lang) + "\n" + "\n".join(
        f"• {t(f'billing.feature.{f}', lang)}" for f in spec.features))
    if current.spec.tier != "business":
        lines.append(t("billing.plan.upgrade_hint", lang))
    return "\n".join(lines)


async def plan_command(message: Message, store: AppStore, snapshots: SnapshotReader, lang: str,
                       account: Account | None) -> None:
    current, used = await asyncio.to_thread(_plan_and_usage, store, snapshots, message.from_user.id)
    await message.answer(plan_text(current, used, lang, account.time_zone if account else None))


def plans_keyboard(lang: str) -> InlineKeyboardMarkup:
    rows = []
    for code in PAID_PLANS:
        spec = PLANS_BY_CODE[code]
        text = t("billing.plan_button", lang, name=plan_name(spec, lang),
                 usd=fmt_money(spec.usd_cents, "USD", lang), uzs=fmt_money(spec.uzs_tiyin, "UZS", lang))
        rows.append([InlineKeyboardButton(text=text, callback_data=f"up:{code}")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def upgrade_command(message: Message, settings: Settings, lang: str) -> None:
    gateways = checkout.available_gateways(settings)
    if not gateways:
        await message.answer(t("billing.no_gateways", lang))
        return
    await message.answer(t("billing.choose_plan", lang, gateways=", ".join(GATEWAY_NAMES[g] for g in gateways)),
                         reply_markup=plans_keyboard(lang))


async def choose_plan(query: CallbackQuery, settings: Settings, lang: str) -> None:
    code = query.data.split(":", 1)[1]
    gateways = checkout.available_gateways(settings)
    if code not in PAID_PLANS or not gateways:
        await query.answer(t("billing.unknown_choice", lang), show_alert=True)
        return
    spec = PLANS_BY_CODE[code]
    await query.answer()
    buttons = [[InlineKeyboardButton(
        text=f"{GATEWAY_NAMES[g]} · {fmt_money(*spec.price(g), lang)}", callback_data=f"pay:{code}:{g}")]
        for g in gateways]
    await query.message.answer(t("billing.choose_gateway", lang, name=plan_name(spec, lang)),
                               reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons))


def _link(store: AppStore, settings: Settings, user_id: int, lang: str, code: str, gateway: str,
          return_url: str) -> checkout.CheckoutLink:
    with store.transaction() as s:  # a payer may not have pressed /start yet: an order needs the user row
        registry.ensure_user(s, user_id, lang)
    return checkout.create_link(store, settings, user_id, code, gateway, return_url=return_url, lang=lang)


async def choose_gateway(query: CallbackQuery, bot: Bot, store: AppStore, settings: Settings, lang: str) -> None:
    _, code, gateway = (query.data.split(":") + ["", ""])[:3]
    if code not in PAID_PLANS or gateway not in checkout.available_gateways(settings):
        await query.answer(t("billing.unknown_choice", lang), show_alert=True)
        return
    await query.answer()
    me = await bot.me()
    return_url = f"https://t.me/{me.username}" if me.username else "https://t.me/"
    try:
        link = await asyncio.to_thread(_link, store, settings, query.from_user.id, lang, code, gateway, return_url)
    except checkout.CheckoutError as exc:
        log.warning("checkout link for user %s failed: %s", query.from_user.id, exc)
        await query.message.answer(t("billing.link_failed", lang))
        return
    spec = PLANS_BY_CODE[code]
    await query.message.answer(
        t("billing.link", lang, name=plan_name(spec, lang), price=fmt_money(link.amount, link.currency, lang),
          gateway=GATEWAY_NAMES[gateway]),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text=t("billing.pay_button", lang, gateway=GATEWAY_NAMES[gateway]), url=link.url)]]))


def router() -> Router:
    r = Router(name="billing")
    r.message.register(plan_command, Command("plan"))
    r.message.register(upgrade_command, Command("upgrade"))
    r.callback_query.register(choose_plan, F.data.startswith("up:"))
    r.callback_query.register(choose_gateway, F.data.startswith("pay:"))
    return r
