"""/plan and /upgrade through the real dispatcher: the plan, usage, gateways offered, and the Payme link."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from datetime import datetime, timedelta

import pytest

from analyticbot.appstore.models import Order, User
from analyticbot.entitlements import add_months
from analyticbot.payments.catalogue import PLANS_BY_CODE
from bot.app import create_dispatcher
from bot.channels import local_date
from bot.i18n import LANGS, fmt_date, fmt_int, t
from tests.bot.fake_telegram import FakeTelegramSession, make_bot, private_message
from tests.bot.test_onboarding import callback
from tests.payments.stripe_api_server import API_KEY, StripeAPIServer


def run(store, settings, *updates):
    session = FakeTelegramSession()
    bot, dp = make_bot(session), create_dispatcher(store, settings=settings)
    for u in updates:
        asyncio.run(dp.feed_update(bot, u))
    return session


@pytest.mark.parametrize("lang", LANGS)
def test_plan_shows_free_plan_and_usage(store, lang):
    session = run(store, store.settings, private_message("/plan", language_code=lang))
    [text] = session.sent_texts(1001)
    assert text.startswith(t("billing.plan.name", lang, name=t("billing.tier.free", lang)))
    assert t("billing.plan.usage", lang, used=0, limit=1) in text


def test_upgrade_without_gateways_says_so(store):
    session = run(store, store.settings, private_message("/upgrade"))
    assert session.sent_texts(1001) == [t("billing.no_gateways", "en")]


@pytest.mark.parametrize("lang", LANGS)
def test_upgrade_to_a_payme_link(store, lang):
    settings = dataclasses.replace(store.settings, payme_merchant_id="m123", payme_merchant_key="k")
    session = run(store, settings, private_message("/upgrade", language_code=lang),
                  callback("up:pro_month", language_code=lang), callback("pay:pro_month:payme", language_code=lang))
    texts = session.sent_texts(1001)
    assert texts[0] == t("billing.choose_plan", lang, gateways="Payme")
    [gateway_msg] = [c for c in session.called("sendMessage") if c.method.text == texts[1]]
    assert [r[0].callback_data for r in gateway_msg.method.reply_markup.inline_keyboard] == ["pay:pro_month:payme"]
    link_call = session.called("sendMessage")[-1]
    url = link_call.method.reply_markup.inline_keyboard[0][0].url
    decoded = base64.b64decode(url.removeprefix("https://checkout.paycom.uz/")).decode()
    with store.transaction() as s:
        [order] = s.query(Order).all()
        assert (order.user_id, order.amount_tiyin, order.gateway) == (1001, 11_500_000, "payme")
    assert f"ac.order_id={order.order_id};a=11500000" in decoded and "c=https://t.me/analytic_test_bot" in decoded


def test_forged_gateway_is_refused(store):
    session = run(store, store.settings, callback("pay:pro_month:payme"))
    assert [c.method.text for c in session.called("answerCallbackQuery")] == [t("billing.unknown_choice", "en")]


@pytest.mark.parametrize("lang", LANGS)
def test_plan_of_a_paying_owner_shows_price_end_and_usage(store, lang):
    paid_at = datetime.utcnow() - timedelta(days=3)
    with store.transaction() as s:
        s.add(User(user_id=1001, language=lang, time_zone="Asia/Tashkent"))
        s.flush()
        s.add(Order(user_id=1001, plan_code="pro_month", gateway="click", amount_tiyin=11_500_000, currency="UZS",
                    status="paid", created_at=paid_at, paid_at=paid_at))
    session = run(store, store.settings, private_message("/plan", language_code=lang))
    [text] = session.sent_texts(1001)
    lines = text.split("\n")
    assert lines[0] == t("billing.plan.name", lang, name=f"{t('billing.tier.pro', lang)} "
                                                          f"({t('billing.period.month', lang)})")
    assert lines[1] == t("billing.plan.price", lang, price=f"{fmt_int(115_000, lang)} UZS",
                         period=t("billing.period.month", lang))
    assert t("billing.plan.usage", lang, used=0, limit=PLANS_BY_CODE["pro_month"].max_channels) in lines
    end = local_date(add_months(paid_at, 1), "Asia/Tashkent")
    assert t("billing.plan.until", lang, date=fmt_date(end, lang), source="Click") in lines
    assert t("billing.plan.upgrade_hint", lang) in lines  # Business is still above Pro


def test_upgrade_to_a_stripe_checkout_session(store):
    api = StripeAPIServer()
    base = api.start()
    try:
        settings = dataclasses.replace(store.settings, stripe_api_key=API_KEY, stripe_api_base=base)
        session = run(store, settings, private_message("/upgrade", language_code="ru"),
                      callback("up:business_year", language_code="ru"),
                      callback("pay:business_year:stripe", language_code="ru"))
    finally:
        api.stop()
    [req] = api.requests_to("/v1/checkout/sessions")
    assert req.status == 200 and req.params["line_items[0][price]"] == "price_analyticbot_business_year"
    assert req.params["client_reference_id"] == "1001" and req.params["locale"] == "ru"
    url = session.called("sendMessage")[-1].method.reply_markup.inline_keyboard[0][0].url
    assert url == "https://checkout.stripe.com/c/pay/cs_test_fake000000000001"  # the session Stripe created
