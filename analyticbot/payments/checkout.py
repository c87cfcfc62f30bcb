"""Payment links: what the bot's /upgrade (and the admin panel) hands a user to pay for one plan on one gateway.

- Stripe: a Checkout Session in subscription mode, created through the real `stripe` client. The Telegram user
  id goes into `client_reference_id` and into `metadata.telegram_user_id` of the session and of the subscription
  it creates: the warehouse maps Stripe customers to users by that metadata (int_stripe_customers.sql).
- Payme: an order, then Payme's checkout link `https://checkout.paycom.uz/<base64 of m=..;ac.order_id=..;a=..;c=..>`
  (`a` in tiyin). The merchant API receiver (payments/payme.py) matches `account.order_id`.
- Click: an order, then `https://my.click.uz/services/pay?service_id=..&merchant_id=..&amount=<UZS>&
  transaction_param=<order id>&return_url=..`; Click sends `transaction_param` back as `merchant_trans_id`,
  which the SHOP-API receiver (payments/click.py) matches.

A gateway is offered only when everything its link and its receiver need is configured (`available_gateways`),
so a link never leads to a payment we could not accept. Nothing here shows or logs a secret.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

import stripe

from analyticbot.appstore.db import AppStore
from analyticbot.payments.catalogue import UZS_PER_TIYIN, PlanSpec, plan
from analyticbot.payments.orders import create_order
from analyticbot.settings import Settings

GATEWAY_ORDER = ("stripe", "payme", "click")
PAYME_CHECKOUT = "https://checkout.paycom.uz/"
CLICK_CHECKOUT = "https://my.click.uz/services/pay"
PAYME_LANGS = ("ru", "uz", "en")  # Payme's checkout page speaks these (`l=`)
STRIPE_LOCALES = ("en", "ru")  # Stripe Checkout has no Uzbek; "auto" follows the browser


class CheckoutError(RuntimeError):
    """The link could not be made (gateway not configured, the gateway refused). The message has no secret."""


@dataclass(frozen=True)
class CheckoutLink:
    gateway: str
    plan_code: str
    url: str
    amount: int  # minor units: US cents on Stripe, tiyin on Payme and Click
    currency: str
    order_id: int | None = None  # Payme and Click
    session_id: str | None = None  # Stripe


def available_gateways(settings: Settings) -> tuple[str, ...]:
    """Gateways whose link and receiver are both configured, in the order they are offered."""
    configured = {
        "stripe": bool(settings.stripe_api_key),
        "payme": bool(settings.payme_merchant_id and settings.payme_merchant_key),
        "click": bool(settings.click_service_id and settings.click_merchant_id and settings.click_secret_key),
    }
    return tuple(g for g in GATEWAY_ORDER if configured[g])


def payme_url(merchant_id: str, order_id: int, amount_tiyin: int, return_url: str | None,
              lang: str | None = None) -> str:
    """Payme's GET checkout link: the parameters `key=value;...` in base64 after the checkout address."""
    params = [f"m={merchant_id}", f"ac.order_id={order_id}", f"a={amount_tiyin}"]
    if lang in PAYME_LANGS:
        params.append(f"l={lang}")
    if return_url:
        if ";" in return_url:  # ';' separates the parameters: such a URL would cut the link short
            raise CheckoutError("the Payme return URL must not contain ';'")
        params.append(f"c={return_url}")
    return PAYME_CHECKOUT + base64.b64encode(";".join(params).encode("utf-8")).decode("ascii")


def click_url(service_id: int, merchant_id: int, order_id: int, amount_tiyin: int, return_url: str | None) -> str:
    """Click's payment-button link; `amount` is in UZS with two decimals, as Click sends it back to Prepare."""
    query = {"service_id": service_id, "merchant_id": merchant_id, "amount": uzs(amount_tiyin),
             "transaction_param": order_id}
    if return_url:
        query["return_url"] = return_url
    return CLICK_CHECKOUT + "?" + urlencode(query)


def uzs(amount_tiyin: int) -> str:
    return f"{Decimal(amount_tiyin) / UZS_PER_TIYIN:.2f}"


def stripe_session_params(spec: PlanSpec, user_id: int, success_url: str, cancel_url: str,
                          lang: str | None = None) -> dict:
    """The Checkout Session request: one subscription to the plan's price, tied to the Telegram user."""
    metadata = {"telegram_user_id": str(user_id), "plan_code": spec.plan_code}
    return {
        "mode": "subscription",
        "line_items": [{"price": spec.stripe_price_id, "quantity": 1}],
        "client_reference_id": str(user_id),
        "metadata": metadata,
        "subscription_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": lang if lang in STRIPE_LOCALES else "auto",
    }


def create_link(store: AppStore, settings: Settings, user_id: int, plan_code: str, gateway: str, *,
                return_url: str, lang: str | None = None) -> CheckoutLink:
    """A payment link for one period (Payme, Click) or a subscription (Stripe) of `plan_code`. Blocking (store,
    Stripe's API): call it from a thread in async code. The user must be registered (orders reference them)."""
    spec = plan(plan_code)
    if spec.tier == "free":
        raise CheckoutError("the free plan has nothing to pay")
    if gateway not in available_gateways(settings):
        raise CheckoutError(f"{gateway} is not configured")
    if gateway == "stripe":
        return _stripe_link(settings, spec, user_id, return_url, lang)
    with store.transaction() as s:
        order = create_order(s, user_id, plan_code, gateway)
        order_id, amount = order.order_id, order.amount_tiyin
    if gateway == "payme":
        url = payme_url(settings.payme_merchant_id, order_id, amount, settings.payment_return_url or return_url, lang)
    else:
        url = click_url(settings.click_service_id, settings.click_merchant_id, order_id, amount,
                        settings.payment_return_url or return_url)
    return CheckoutLink(gateway, plan_code, url, amount, "UZS", order_id=order_id)


def _stripe_link(settings: Settings, spec: PlanSpec, user_id: int, return_url: str,
                 lang: str | None) -> CheckoutLink:
    from analyticbot.payments.stripe_pull import make_client

    params = stripe_session_params(spec, user_id, settings.stripe_success_url or return_url,
                                   settings.stripe_cancel_url or return_url, lang)
    try:
        session = make_client(settings).v1.checkout.sessions.create(params=params)
    except stripe.StripeError as exc:
        # Stripe's messages name parameters, never the key; the class and status are enough for the log.
        raise CheckoutError(f"Stripe refused the checkout session ({type(exc).__name__}, "
                            f"HTTP {exc.http_status})") from None
    if not session.url:
        raise CheckoutError("Stripe returned a checkout session without a URL")
    return CheckoutLink("stripe", spec.plan_code, session.url, spec.usd_cents, "USD", session_id=session.id)
