"""/plan and /upgrade through the real dispatcher: the plan, usage, gateways offered, and the Payme link."""

from __future__ import annotations

import asyncio
import base64
import dataclasses

import pytest

from analyticbot.appstore.models import Order
from bot.app import create_dispatcher
from bot.i18n import LANGS, t
from tests.bot.fake_telegram import FakeTelegramSession, make_bot, private_message
from tests.bot.test_onboarding import callback


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
