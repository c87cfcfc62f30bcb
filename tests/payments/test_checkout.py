"""Payment links parsed back: Payme's base64, Click's query, Stripe's request as the local server received it;
and the Payme receiver accepts the order the link carries."""

from __future__ import annotations

import base64
import dataclasses
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from analyticbot.appstore.channels import ensure_user
from analyticbot.appstore.models import Order
from analyticbot.payments import checkout
from analyticbot.payments.payme import basic_auth_header, handle_payme
from tests.payments.stripe_api_server import API_KEY, StripeAPIServer

KEY = "payme-test-key"


def configured(store, **extra):
    return dataclasses.replace(store.settings, payme_merchant_id="5e730e8e0b852a417aa49ceb", payme_merchant_key=KEY,
                               click_service_id=111, click_merchant_id=222, click_secret_key="click-secret", **extra)


def test_payme_link_carries_the_order_and_the_receiver_accepts_it(store):
    settings = configured(store)
    with store.transaction() as s:
        ensure_user(s, 1001, "uz")
    link = checkout.create_link(store, settings, 1001, "pro_month", "payme", return_url="https://t.me/bot", lang="uz")
    decoded = base64.b64decode(link.url.removeprefix("https://checkout.paycom.uz/")).decode()
    params = dict(p.split("=", 1) for p in decoded.split(";"))
    assert params == {"m": "5e730e8e0b852a417aa49ceb", "ac.order_id": str(link.order_id), "a": "11500000",
                      "l": "uz", "c": "https://t.me/bot"}
    with store.transaction() as s:
        order = s.get(Order, link.order_id)
        assert (order.gateway, order.amount_tiyin, order.status, order.user_id) == ("payme", 11_500_000, "pending", 1001)
        body = json.dumps({"id": 1, "method": "CheckPerformTransaction",
                           "params": {"amount": int(params["a"]), "account": {"order_id": params["ac.order_id"]}}})
        answer = handle_payme(s, body.encode(), basic_auth_header(KEY), KEY, 1_800_000_000_000)
    assert answer["result"] == {"allow": True}


def test_click_link_names_the_order_in_uzs(store):
    settings = configured(store)
    with store.transaction() as s:
        ensure_user(s, 1001, "ru")
    link = checkout.create_link(store, settings, 1001, "business_year", "click", return_url="https://t.me/bot")
    split = urlsplit(link.url)
    assert f"{split.scheme}://{split.netloc}{split.path}" == "https://my.click.uz/services/pay"
    assert parse_qs(split.query) == {"service_id": ["111"], "merchant_id": ["222"], "amount": ["3690000.00"],
                                     "transaction_param": [str(link.order_id)], "return_url": ["https://t.me/bot"]}
    with store.transaction() as s:
        assert s.get(Order, link.order_id).amount_tiyin == 369_000_000


def test_stripe_request_params(store):
    api = StripeAPIServer()
    base = api.start()
    try:
        settings = configured(store, stripe_api_key=API_KEY, stripe_api_base=base,
                              stripe_success_url="https://example.com/ok")
        checkout.create_link(store, settings, 1001, "business_month", "stripe", return_url="https://t.me/bot")
    finally:
        api.stop()
    [req] = api.requests_to("/v1/checkout/sessions")
    assert req.status == 200
    p = req.params
    assert p["mode"] == "subscription" and p["line_items[0][price]"] == "price_analyticbot_business_month"
    assert p["client_reference_id"] == "1001" and p["metadata[telegram_user_id]"] == "1001"
    assert p["subscription_data[metadata][telegram_user_id]"] == "1001"
    assert p["success_url"] == "https://example.com/ok" and p["cancel_url"] == "https://t.me/bot"


def test_only_configured_gateways_are_offered(store):
    assert checkout.available_gateways(store.settings) == ()
    assert checkout.available_gateways(configured(store)) == ("payme", "click")
    with pytest.raises(checkout.CheckoutError):
        checkout.create_link(store, store.settings, 1001, "pro_month", "payme", return_url="https://t.me/bot")
