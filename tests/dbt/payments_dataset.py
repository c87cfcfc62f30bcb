"""A payment history whose revenue marts can be worked out by hand (expectations at the bottom, used by
test_dbt_revenue.py).

Thirteen customers over January-June 2025 on all three gateways, Stripe in both API shapes (before and after
`2025-03-31.basil`), with the payloads shaped like Stripe's own fixtures (tests/payments/fixtures/stripe): a basil
invoice links its subscription through parent.subscription_details and its price through
line.pricing.price_details; a pre-basil one through invoice.subscription and line.price. FX: UZS is 0.0001 USD
until February, 0.00009 in February, 0.00008 from March; EUR 1.10 until February, 1.20 from March (published on
a few days only: every other day carries the last rate forward).

MRR at each month's first instant and at the as-of instant (Jun 10 12:00, the newest ledger row: June is
reported to date), USD cents (Jan 1 is 0 for everyone):

    customer       gateway / shape          Feb 1  Mar 1  Apr 1  May 1  Jun 1  as-of   what happens
    tg:1           stripe pre-basil           900    900    900    900    900    900   new in Jan; a one-off charge
    tg:2           stripe basil               900    900   2900   2900   2900   2900   upgrade Mar 15 (proration)
    tg:3           stripe pre-basil             0   2900   2900    900    900    900   downgrade Apr 3
    tg:4           stripe basil               900    900      0      0      0      0   cancels at period end Mar 20
    tg:5           payme                     1150   1035      0      0    920      0   FX in Feb, churn, comes back
    tg:6           click (pro_year)           958    958    958    958    958    958   1/12 of a year at Jan's rate
    tg:7           stripe reconcile listing     0    600    600    600    600    600   yearly, 20% coupon forever
    tg:8           stripe basil, EUR         1100   1100   1200   1200   1200   1200   FX in March (EUR renewal)
    tg:9           stripe basil                 0      0    900    900    900    900   14-day trial, then paid
    stripe:cus_c10 stripe basil                 0      0      0    900    900    900   no telegram id; a bare discount id
    tg:11          payme                        0      0      0    920      0      0   refunded (MRR unchanged)
    tg:12          stripe pre-basil           900      0      0   2900   2900   2900   refund, lost dispute, reactivates
    tg:13          payme + click                0      0   2952      0      0      0   overlapping periods: the later wins
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa

from analyticbot.payments.catalogue import PLANS, PLANS_BY_CODE
from analyticbot.warehouse import APP_MIRROR, FX_RATES, PAYMENT_EVENTS

PRE_BASIL = "2025-02-24.acacia"
BASIL = "2025-03-31.basil"
AS_OF = datetime(2025, 6, 10, 12, 0)  # the newest ledger row: June is the last reporting month, to date


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute)


def ts(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.replace(tzinfo=timezone.utc).timestamp())


def ms(moment: datetime | None) -> int:
    return 0 if moment is None else ts(moment) * 1000


# -- Stripe objects, in the shape of each API version -------------------------------------------------------------
def price(plan_code: str | None = None, *, price_id: str | None = None, unit_amount: int | None = None,
          currency: str = "usd", interval: str | None = None) -> dict:
    plan = PLANS_BY_CODE[plan_code] if plan_code else None
    return {
        "id": price_id or plan.stripe_price_id, "object": "price", "active": True, "billing_scheme": "per_unit",
        "currency": currency, "unit_amount": unit_amount if unit_amount is not None else plan.usd_cents,
        "unit_amount_decimal": str(unit_amount if unit_amount is not None else plan.usd_cents),
        "livemode": False, "lookup_key": None, "metadata": {}, "nickname": None, "product": "prod_analyticbot",
        "recurring": {"interval": interval or (plan.billing_interval if plan else "month"), "interval_count": 1,
                      "meter": None, "trial_period_days": None, "usage_type": "licensed"},
        "tax_behavior": "unspecified", "tiers_mode": None, "transform_quantity": None, "type": "recurring",
    }


def subscription(basil: bool, sub_id: str, customer: str, item_price: dict, *, status: str = "active",
                 created: datetime, period: tuple[datetime, datetime], telegram_user_id: int | None = None,
                 cancel_at: datetime | None = None, canceled_at: datetime | None = None,
                 ended_at: datetime | None = None, trial_end: datetime | None = None,
                 coupon: dict | None = None, discount_ids: list[str] | None = None,
                 currency: str = "usd") -> dict:
    item = {"id": f"si_{sub_id}", "object": "subscription_item", "created": ts(created), "discounts": [],
            "metadata": {}, "price": item_price, "quantity": 1, "subscription": sub_id, "tax_rates": []}
    obj = {
        "id": sub_id, "object": "subscription", "customer": customer, "status": status, "currency": currency,
        "created": ts(created), "start_date": ts(created), "billing_cycle_anchor": ts(period[0]),
        "cancel_at": ts(cancel_at), "cancel_at_period_end": cancel_at is not None, "canceled_at": ts(canceled_at),
        "ended_at": ts(ended_at), "trial_start": ts(created) if trial_end else None, "trial_end": ts(trial_end),
        "collection_method": "charge_automatically", "livemode": False,
        "metadata": {"telegram_user_id": str(telegram_user_id)} if telegram_user_id else {},
        "items": {"object": "list", "data": [item], "has_more": False,
                  "url": f"/v1/subscription_items?subscription={sub_id}"},
    }
    if basil:
        item.update(current_period_start=ts(period[0]), current_period_end=ts(period[1]))
        if coupon:
            obj["discounts"] = [{"id": f"di_{sub_id}", "object": "discount", "customer": customer,
                                 "start": ts(created), "end": None, "subscription": sub_id,
                                 "source": {"type": "coupon", "coupon": coupon}}]
        else:
            obj["discounts"] = list(discount_ids or [])
    else:
        obj.update(current_period_start=ts(period[0]), current_period_end=ts(period[1]), plan=None, quantity=1,
                   discounts=[f"di_{sub_id}"] if coupon else [])
        obj["discount"] = {"id": f"di_{sub_id}", "object": "discount", "coupon": coupon, "customer": customer,
                           "start": ts(created), "end": None, "subscription": sub_id} if coupon else None
    return obj


def invoice(basil: bool, inv_id: str, customer: str, sub_id: str, line_price: dict, *, amount: int,
            period: tuple[datetime, datetime], paid_at: datetime | None, charge_id: str | None = None,
            proration: bool = False, currency: str = "usd", reason: str = "subscription_cycle") -> dict:
    line = {"id": f"il_{inv_id}", "object": "line_item", "amount": amount, "currency": currency,
            "description": "1 × AnalyticBot", "discount_amounts": [], "discountable": True, "discounts": [],
            "invoice": inv_id, "livemode": False, "metadata": {},
            "period": {"start": ts(period[0]), "end": ts(period[1])}, "quantity": 1}
    obj = {
        "id": inv_id, "object": "invoice", "customer": customer, "currency": currency, "amount_due": amount,
        "amount_paid": amount if paid_at else 0, "amount_remaining": 0 if paid_at else amount, "total": amount,
        "status": "paid" if paid_at else "open", "billing_reason": reason, "created": ts(period[0]),
        "period_start": ts(period[0]), "period_end": ts(period[0]), "livemode": False,
        "status_transitions": {"finalized_at": ts(period[0]), "marked_uncollectible_at": None,
                               "paid_at": ts(paid_at), "voided_at": None},
        "lines": {"object": "list", "data": [line], "has_more": False, "url": f"/v1/invoices/{inv_id}/lines"},
    }
    if basil:
        obj["parent"] = {"type": "subscription_details", "quote_details": None,
                         "subscription_details": {"metadata": None, "subscription": sub_id}}
        obj["subscription"] = None  # as in Stripe's basil fixture: the field is gone in substance
        line["pricing"] = {"type": "price_details", "unit_amount_decimal": line_price["unit_amount_decimal"],
                           "price_details": {"price": line_price["id"], "product": line_price["product"]}}
        line["parent"] = {"type": "subscription_item_details", "invoice_item_details": None,
                          "subscription_item_details": {"invoice_item": None, "proration": proration,
                                                        "proration_details": {"credited_items": None},
                                                        "subscription": sub_id,
                                                        "subscription_item": f"si_{sub_id}"}}
    else:
        obj.update(subscription=sub_id, charge=charge_id, paid=paid_at is not None)
        line.update(price=line_price, proration=proration, subscription=sub_id, plan=None,
                    type="subscription", proration_details={"credited_items": None})
    return obj


def charge(basil: bool, charge_id: str, customer: str, amount: int, created: datetime, *,
           invoice_id: str | None = None, amount_refunded: int = 0, currency: str = "usd") -> dict:
    obj = {"id": charge_id, "object": "charge", "amount": amount, "amount_captured": amount,
           "amount_refunded": amount_refunded, "captured": True, "created": ts(created), "currency": currency,
           "customer": customer, "description": None, "disputed": False, "livemode": False, "metadata": {},
           "paid": True, "payment_intent": f"pi_{charge_id[3:]}", "refunded": amount_refunded == amount,
           "status": "succeeded", "refunds": {"object": "list", "data": [], "has_more": False}}
    if not basil:
        obj["invoice"] = invoice_id
    return obj


def invoice_payment(inv_id: str, charge_id: str, amount: int, paid_at: datetime, currency: str = "usd") -> dict:
    """Basil: the link from an invoice to the payment intent of the charge that paid it."""
    return {"id": f"inpay_{inv_id}", "object": "invoice_payment", "amount_paid": amount, "amount_requested": amount,
            "created": ts(paid_at), "currency": currency, "invoice": inv_id, "is_default": True, "livemode": False,
            "payment": {"type": "payment_intent", "payment_intent": f"pi_{charge_id[3:]}", "charge": None},
            "status": "paid", "status_transitions": {"canceled_at": None, "paid_at": ts(paid_at)}}


def refund(refund_id: str, charge_id: str, amount: int, created: datetime, status: str = "succeeded") -> dict:
    return {"id": refund_id, "object": "refund", "amount": amount, "balance_transaction": None,
            "charge": charge_id, "created": ts(created), "currency": "usd", "metadata": {},
            "payment_intent": f"pi_{charge_id[3:]}", "reason": "requested_by_customer", "status": status}


def dispute(dispute_id: str, charge_id: str, amount: int, created: datetime, status: str) -> dict:
    return {"id": dispute_id, "object": "dispute", "amount": amount, "charge": charge_id, "created": ts(created),
            "currency": "usd", "is_charge_refundable": False, "livemode": False, "metadata": {},
            "payment_intent": f"pi_{charge_id[3:]}", "reason": "fraudulent", "status": status}


# -- the ledger -----------------------------------------------------------------------------------------------
class Ledger:
    """Ledger rows as the operational store writes them (analyticbot.warehouse.PAYMENT_EVENTS)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self._events = 0

    def _add(self, gateway: str, event_key: str, event_type: str, source: str, occurred_at: datetime,
             payload: dict, api_version: str | None = None) -> None:
        text = json.dumps(payload, separators=(",", ":"), sort_keys=gateway != "stripe")
        self.rows.append({"ledger_id": len(self.rows) + 1, "gateway": gateway, "event_key": event_key,
                          "event_type": event_type, "source": source, "occurred_at": occurred_at,
                          "received_at": occurred_at, "api_version": api_version, "payload": text})

    def stripe(self, event_type: str, obj: dict, occurred_at: datetime, basil: bool, source: str = "webhook") -> None:
        self._events += 1
        event = {"id": f"evt_test{self._events:04d}", "object": "event", "api_version": BASIL if basil else PRE_BASIL,
                 "created": ts(occurred_at), "data": {"object": obj, "previous_attributes": {}}, "livemode": False,
                 "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None}, "type": event_type}
        self._add("stripe", event["id"], event_type, source, occurred_at, event, event["api_version"])

    def reconcile(self, kind: str, obj: dict, listed_at: datetime) -> None:
        """A bare object from the reconciliation listing (history older than 30 days)."""
        self._add("stripe", f"recon:{obj['id']}:{len(self.rows):016x}", f"reconcile.{kind}", "reconcile",
                  listed_at, obj)

    def payme(self, payme_id: str, user_id: int, plan_code: str, *, created: datetime,
              performed: datetime | None = None, cancelled: datetime | None = None, order_id: int = 1) -> None:
        amount = PLANS_BY_CODE[plan_code].uzs_tiyin
        steps = [(1, created)]
        if performed:
            steps.append((2, performed))
        if cancelled:
            steps.append((-2 if performed else -1, cancelled))
        for state, moment in steps:
            payload = {"payme_id": payme_id, "order_id": order_id, "user_id": user_id, "plan_code": plan_code,
                       "amount_tiyin": amount, "currency": "UZS", "state": state,
                       "reason": None if state > 0 else (5 if state == -2 else 3), "payme_time": ms(created),
                       "create_time": ms(created), "perform_time": ms(performed if state != -1 else None),
                       "cancel_time": ms(cancelled if state < 0 else None)}
            event = {1: "payme.created", 2: "payme.performed", -1: "payme.cancelled", -2: "payme.cancelled"}[state]
            self._add("payme", f"payme:{payme_id}:{state}", event, "webhook", moment, payload)

    def click(self, click_trans_id: int, user_id: int, plan_code: str, *, prepared: datetime,
              completed: datetime | None, order_id: int = 1) -> None:
        amount = PLANS_BY_CODE[plan_code].uzs_tiyin
        final = "completed" if completed else "cancelled"
        for status, moment in (("prepared", prepared), (final, completed or prepared)):
            payload = {"click_trans_id": click_trans_id, "click_paydoc_id": click_trans_id + 7_000_000,
                       "service_id": 90_001, "merchant_prepare_id": order_id, "order_id": order_id,
                       "user_id": user_id, "plan_code": plan_code, "amount": f"{amount / 100:.2f}",
                       "amount_tiyin": amount, "currency": "UZS", "status": status,
                       "error_code": 0 if status != "cancelled" else -5017,
                       "prepared_at": prepared.isoformat(timespec="microseconds") + "Z",
                       "completed_at": completed.isoformat(timespec="microseconds") + "Z"
                       if status == "completed" else None}
            self._add("click", f"click:{click_trans_id}:{status}", f"click.{status}", "webhook", moment, payload)


def _paid_cycle(led: Ledger, basil: bool, n: str, customer: str, sub_id: str, line_price: dict, amount: int,
                period: tuple[datetime, datetime], *, paid_at: datetime | None = None, proration: bool = False,
                currency: str = "usd", reason: str = "subscription_cycle") -> None:
    """One paid invoice: charge.succeeded, invoice.paid, and from basil on invoice_payment.paid."""
    paid_at = paid_at or period[0]
    inv_id, charge_id = f"in_{n}", f"ch_{n}"
    led.stripe("charge.succeeded", charge(basil, charge_id, customer, amount, paid_at, invoice_id=inv_id,
                                          currency=currency), paid_at, basil)
    led.stripe("invoice.paid", invoice(basil, inv_id, customer, sub_id, line_price, amount=amount, period=period,
                                       paid_at=paid_at, charge_id=charge_id, proration=proration,
                                       currency=currency, reason=reason), paid_at, basil)
    if basil:
        led.stripe("invoice_payment.paid", invoice_payment(inv_id, charge_id, amount, paid_at, currency),
                   paid_at, basil)


def ledger_rows() -> list[dict]:
    led = Ledger()
    pro, business, pro_year = price("pro_month"), price("business_month"), price("pro_year")

    # tg:1 - pre-basil pro_month from Jan 10; renewals paid Feb 10 and Jun 10; a one-off $5 charge on Mar 3
    led.stripe("customer.subscription.created", subscription(False, "sub_c1", "cus_c1", pro, created=at(1, 10),
               period=(at(1, 10), at(2, 10)), telegram_user_id=1), at(1, 10), False)
    for n, (start, end) in (("c1_1", (at(1, 10), at(2, 10))), ("c1_2", (at(2, 10), at(3, 10))),
                            ("c1_3", (at(6, 10), at(7, 10)))):
        _paid_cycle(led, False, n, "cus_c1", "sub_c1", pro, 900, (start, end))
    led.stripe("charge.succeeded", charge(False, "ch_c1_x", "cus_c1", 500, at(3, 3)), at(3, 3), False)

    # tg:2 - basil pro_month from Jan 5; upgraded to business_month Mar 15 with a paid proration
    led.stripe("customer.subscription.created", subscription(True, "sub_c2", "cus_c2", pro, created=at(1, 5),
               period=(at(1, 5), at(2, 5)), telegram_user_id=2), at(1, 5), True)
    _paid_cycle(led, True, "c2_1", "cus_c2", "sub_c2", pro, 900, (at(1, 5), at(2, 5)),
                reason="subscription_create")
    led.stripe("customer.subscription.updated", subscription(True, "sub_c2", "cus_c2", business, created=at(1, 5),
               period=(at(3, 5), at(4, 5)), telegram_user_id=2), at(3, 15), True)
    _paid_cycle(led, True, "c2_2", "cus_c2", "sub_c2", business, 1300, (at(3, 15), at(4, 5)), proration=True,
                reason="subscription_update")

    # tg:3 - pre-basil business_month from Feb 3, downgraded to pro_month Apr 3
    led.stripe("customer.subscription.created", subscription(False, "sub_c3", "cus_c3", business, created=at(2, 3),
               period=(at(2, 3), at(3, 3)), telegram_user_id=3), at(2, 3), False)
    _paid_cycle(led, False, "c3_1", "cus_c3", "sub_c3", business, 2900, (at(2, 3), at(3, 3)))
    led.stripe("customer.subscription.updated", subscription(False, "sub_c3", "cus_c3", pro, created=at(2, 3),
               period=(at(4, 3), at(5, 3)), telegram_user_id=3), at(4, 3), False)
    _paid_cycle(led, False, "c3_2", "cus_c3", "sub_c3", pro, 900, (at(4, 3), at(5, 3)))

    # tg:4 - basil pro_month from Jan 20; cancellation requested Feb 25 for the period end (Mar 20); a won dispute
    sub4 = dict(created=at(1, 20), telegram_user_id=4)
    led.stripe("customer.subscription.created", subscription(True, "sub_c4", "cus_c4", pro,
               period=(at(1, 20), at(2, 20)), **sub4), at(1, 20), True)
    _paid_cycle(led, True, "c4_1", "cus_c4", "sub_c4", pro, 900, (at(1, 20), at(2, 20)))
    _paid_cycle(led, True, "c4_2", "cus_c4", "sub_c4", pro, 900, (at(2, 20), at(3, 20)))
    led.stripe("customer.subscription.updated", subscription(True, "sub_c4", "cus_c4", pro,
               period=(at(2, 20), at(3, 20)), cancel_at=at(3, 20), canceled_at=at(2, 25), **sub4), at(2, 25), True)
    led.stripe("customer.subscription.deleted", subscription(True, "sub_c4", "cus_c4", pro, status="canceled",
               period=(at(2, 20), at(3, 20)), cancel_at=at(3, 20), canceled_at=at(2, 25), ended_at=at(3, 20),
               **sub4), at(3, 20), True)
    led.stripe("charge.dispute.created", dispute("dp_c4", "ch_c4_1", 900, at(1, 28), "needs_response"),
               at(1, 28), True)
    led.stripe("charge.dispute.closed", dispute("dp_c4", "ch_c4_1", 900, at(1, 28), "won"), at(2, 28), True)

    # tg:5 - Payme pro_month paid Jan 15 and Feb 14, then nothing until May 10; an abandoned transaction too
    led.payme("p5a", 5, "pro_month", created=at(1, 15, 9, 59), performed=at(1, 15))
    led.payme("p5b", 5, "pro_month", created=at(2, 14, 9, 59), performed=at(2, 14))
    led.payme("p5x", 5, "pro_month", created=at(5, 9), cancelled=at(5, 9, 10, 30))
    led.payme("p5c", 5, "pro_month", created=at(5, 10, 9, 59), performed=at(5, 10))

    # tg:6 - Click pro_year completed Jan 25; a declined attempt before it
    led.click(5_000_001, 6, "pro_year", prepared=at(1, 25, 9), completed=None)
    led.click(5_000_002, 6, "pro_year", prepared=at(1, 25, 9, 50), completed=at(1, 25))

    # tg:7 - pro_year with a 20% coupon forever, known only from the reconcile listing of Mar 5 (period from Feb 10)
    coupon = {"id": "TWENTY", "object": "coupon", "amount_off": None, "currency": None, "duration": "forever",
              "duration_in_months": None, "percent_off": 20.0, "valid": True}
    led.reconcile("subscription", subscription(False, "sub_c7", "cus_c7", pro_year, created=at(2, 10),
                  period=(at(2, 10), datetime(2026, 2, 10, 10)), telegram_user_id=7, coupon=coupon), at(3, 5))
    led.reconcile("invoice", invoice(False, "in_c7_1", "cus_c7", "sub_c7", pro_year, amount=7200,
                  period=(at(2, 10), datetime(2026, 2, 10, 10)), paid_at=at(2, 10), charge_id="ch_c7_1"), at(3, 5))

    # tg:8 - basil, a EUR price outside the catalogue; renewals re-rate at each period start
    eur = price(price_id="price_eur_monthly", unit_amount=1000, currency="eur", interval="month")
    for start, end in ((at(1, 8), at(2, 8)), (at(2, 8), at(3, 8)), (at(3, 8), at(4, 8)), (at(4, 8), at(5, 8))):
        kind = "created" if start == at(1, 8) else "updated"
        led.stripe(f"customer.subscription.{kind}", subscription(True, "sub_c8", "cus_c8", eur, created=at(1, 8),
                   period=(start, end), telegram_user_id=8, currency="eur"), start, True)
    _paid_cycle(led, True, "c8_1", "cus_c8", "sub_c8", eur, 1000, (at(1, 8), at(2, 8)), currency="eur")

    # tg:9 - basil 14-day trial from Mar 3 (a $0 invoice), then pro_month from Mar 17
    led.stripe("customer.subscription.created", subscription(True, "sub_c9", "cus_c9", pro, status="trialing",
               created=at(3, 3), period=(at(3, 3), at(3, 17)), telegram_user_id=9, trial_end=at(3, 17)),
               at(3, 3), True)
    led.stripe("invoice.paid", invoice(True, "in_c9_0", "cus_c9", "sub_c9", pro, amount=0,
               period=(at(3, 3), at(3, 17)), paid_at=at(3, 3), reason="subscription_create"), at(3, 3), True)
    led.stripe("customer.subscription.updated", subscription(True, "sub_c9", "cus_c9", pro, created=at(3, 3),
               period=(at(3, 17), at(4, 17)), telegram_user_id=9, trial_end=at(3, 17)), at(3, 17), True)
    _paid_cycle(led, True, "c9_1", "cus_c9", "sub_c9", pro, 900, (at(3, 17), at(4, 17)))

    # stripe:cus_c10 - basil, no telegram_user_id; its discount is a bare id (cannot be priced: flagged)
    led.stripe("customer.subscription.created", subscription(True, "sub_c10", "cus_c10", pro, created=at(4, 2),
               period=(at(4, 2), at(5, 2)), discount_ids=["di_c10"]), at(4, 2), True)
    _paid_cycle(led, True, "c10_1", "cus_c10", "sub_c10", pro, 900, (at(4, 2), at(5, 2)))

    # tg:11 - Payme pro_month paid Apr 5, refunded Apr 7 (state -2)
    led.payme("p11", 11, "pro_month", created=at(4, 5, 9, 59), performed=at(4, 5), cancelled=at(4, 7))

    # tg:12 - pre-basil pro_month Jan 12: $4 refunded, the Feb renewal disputed and lost, cancelled at once
    # Feb 20; back on business_month Apr 22
    led.stripe("customer.subscription.created", subscription(False, "sub_c12a", "cus_c12", pro, created=at(1, 12),
               period=(at(1, 12), at(2, 12)), telegram_user_id=12), at(1, 12), False)
    _paid_cycle(led, False, "c12_1", "cus_c12", "sub_c12a", pro, 900, (at(1, 12), at(2, 12)))
    led.stripe("refund.created", refund("re_c12_1", "ch_c12_1", 400, at(1, 20), status="pending"), at(1, 20), False)
    led.stripe("refund.updated", refund("re_c12_1", "ch_c12_1", 400, at(1, 20)), at(1, 21), False)
    led.stripe("charge.refunded", charge(False, "ch_c12_1", "cus_c12", 900, at(1, 12), invoice_id="in_c12_1",
               amount_refunded=400), at(1, 21), False)
    _paid_cycle(led, False, "c12_2", "cus_c12", "sub_c12a", pro, 900, (at(2, 12), at(3, 12)))
    led.stripe("customer.subscription.deleted", subscription(False, "sub_c12a", "cus_c12", pro, status="canceled",
               created=at(1, 12), period=(at(2, 12), at(3, 12)), telegram_user_id=12, canceled_at=at(2, 20),
               ended_at=at(2, 20)), at(2, 20), False)
    led.stripe("charge.dispute.created", dispute("dp_c12", "ch_c12_2", 900, at(2, 22), "needs_response"),
               at(2, 22), False)
    led.stripe("charge.dispute.closed", dispute("dp_c12", "ch_c12_2", 900, at(2, 22), "lost"), at(3, 30), False)
    led.stripe("customer.subscription.created", subscription(False, "sub_c12b", "cus_c12", business,
               created=at(4, 22), period=(at(4, 22), at(5, 22)), telegram_user_id=12), at(4, 22), False)
    _paid_cycle(led, False, "c12_3", "cus_c12", "sub_c12b", business, 2900, (at(4, 22), at(5, 22)))

    # tg:13 - Payme pro_month Mar 10, then Click business_month Mar 20: on Apr 1 the later period counts
    led.payme("p13", 13, "pro_month", created=at(3, 10, 9, 59), performed=at(3, 10))
    led.click(5_000_013, 13, "business_month", prepared=at(3, 20, 9, 59), completed=at(3, 20))

    # the newest row: sets the as-of month (June)
    led.stripe("invoice.payment_succeeded", invoice(False, "in_c1_3", "cus_c1", "sub_c1", pro, amount=900,
               period=(at(6, 10), at(7, 10)), paid_at=at(6, 10), charge_id="ch_c1_3"), AS_OF, False)
    return led.rows


def fx_rows() -> list[dict]:
    published = [
        (date(2024, 12, 30), "UZS", 0.0001), (date(2025, 2, 1), "UZS", 0.00009), (date(2025, 3, 1), "UZS", 0.00008),
        (date(2024, 12, 30), "EUR", 1.10), (date(2025, 3, 1), "EUR", 1.20), (date(2025, 6, 1), "EUR", 1.20),
        (date(2024, 12, 30), "USD", 1.0),
    ]
    return [{"rate_date": d, "currency": c, "usd_per_unit": r, "source": "test"} for d, c, r in published]


def plan_rows() -> list[dict]:
    return [{"plan_code": p.plan_code, "tier": p.tier, "billing_interval": p.billing_interval,
             "interval_months": p.interval_months, "usd_cents": p.usd_cents, "uzs_tiyin": p.uzs_tiyin,
             "max_channels": p.max_channels, "stripe_price_id": p.stripe_price_id, "active": True} for p in PLANS]


def arrow_tables() -> dict[str, pa.Table]:
    return {
        "payment_events": pa.Table.from_pylist(ledger_rows(), schema=PAYMENT_EVENTS),
        "fx_rates_daily": pa.Table.from_pylist(fx_rows(), schema=FX_RATES),
        "app_plans": pa.Table.from_pylist(plan_rows(), schema=APP_MIRROR["app_plans"]),
    }


# -- expectations ---------------------------------------------------------------------------------------------
MONTHS = [date(2025, m, 1) for m in range(1, 7)]
# MRR in cents at the first instant of Jan..Jun and at the as-of instant (see the module docstring)
MRR_CENTS = {
    "tg:1": [0, 900, 900, 900, 900, 900, 900],
    "tg:2": [0, 900, 900, 2900, 2900, 2900, 2900],
    "tg:3": [0, 0, 2900, 2900, 900, 900, 900],
    "tg:4": [0, 900, 900, 0, 0, 0, 0],
    "tg:5": [0, 1150, 1035, 0, 0, 920, 0],
    "tg:6": [0, 958, 958, 958, 958, 958, 958],
    "tg:7": [0, 0, 600, 600, 600, 600, 600],
    "tg:8": [0, 1100, 1100, 1200, 1200, 1200, 1200],
    "tg:9": [0, 0, 0, 900, 900, 900, 900],
    "stripe:cus_c10": [0, 0, 0, 0, 900, 900, 900],
    "tg:11": [0, 0, 0, 0, 920, 0, 0],
    "tg:12": [0, 900, 0, 0, 2900, 2900, 2900],
    "tg:13": [0, 0, 0, 2952, 0, 0, 0],
}
# (customer, month) -> the non-zero movements in cents; every other customer-month with MRR is flat
MOVEMENTS = {
    ("tg:1", 1): {"new": 900}, ("tg:2", 1): {"new": 900}, ("tg:4", 1): {"new": 900}, ("tg:5", 1): {"new": 1150},
    ("tg:6", 1): {"new": 958}, ("tg:8", 1): {"new": 1100}, ("tg:12", 1): {"new": 900},
    ("tg:3", 2): {"new": 2900}, ("tg:5", 2): {"fx": -115}, ("tg:7", 2): {"new": 600}, ("tg:12", 2): {"churn": 900},
    ("tg:2", 3): {"expansion": 2000}, ("tg:4", 3): {"churn": 900}, ("tg:5", 3): {"churn": 1035},
    ("tg:8", 3): {"fx": 100}, ("tg:9", 3): {"new": 900}, ("tg:13", 3): {"new": 2952},
    ("tg:3", 4): {"contraction": 2000}, ("stripe:cus_c10", 4): {"new": 900}, ("tg:11", 4): {"new": 920},
    ("tg:12", 4): {"reactivation": 2900}, ("tg:13", 4): {"churn": 2952},
    ("tg:5", 5): {"reactivation": 920}, ("tg:11", 5): {"churn": 920},
    ("tg:5", 6): {"churn": 920},
}
# payment_id -> (movement_type, gateway, customer_id, plan_code, amount, amount_usd)
PAYMENTS = {
    "ch_c1_1": ("charge", "stripe", "tg:1", "pro_month", "9.00", "9.00"),
    "ch_c1_2": ("charge", "stripe", "tg:1", "pro_month", "9.00", "9.00"),
    "ch_c1_3": ("charge", "stripe", "tg:1", "pro_month", "9.00", "9.00"),
    "ch_c1_x": ("charge", "stripe", "tg:1", None, "5.00", "5.00"),
    "ch_c2_1": ("charge", "stripe", "tg:2", "pro_month", "9.00", "9.00"),
    "ch_c2_2": ("charge", "stripe", "tg:2", "business_month", "13.00", "13.00"),
    "ch_c3_1": ("charge", "stripe", "tg:3", "business_month", "29.00", "29.00"),
    "ch_c3_2": ("charge", "stripe", "tg:3", "pro_month", "9.00", "9.00"),
    "ch_c4_1": ("charge", "stripe", "tg:4", "pro_month", "9.00", "9.00"),
    "ch_c4_2": ("charge", "stripe", "tg:4", "pro_month", "9.00", "9.00"),
    "payme:p5a": ("charge", "payme", "tg:5", "pro_month", "115000.00", "11.50"),
    "payme:p5b": ("charge", "payme", "tg:5", "pro_month", "115000.00", "10.35"),
    "payme:p5c": ("charge", "payme", "tg:5", "pro_month", "115000.00", "9.20"),
    "click:5000002": ("charge", "click", "tg:6", "pro_year", "1150000.00", "115.00"),
    "ch_c7_1": ("charge", "stripe", "tg:7", "pro_year", "72.00", "72.00"),
    "ch_c8_1": ("charge", "stripe", "tg:8", None, "10.00", "11.00"),
    "ch_c9_1": ("charge", "stripe", "tg:9", "pro_month", "9.00", "9.00"),
    "ch_c10_1": ("charge", "stripe", "stripe:cus_c10", "pro_month", "9.00", "9.00"),
    "payme:p11": ("charge", "payme", "tg:11", "pro_month", "115000.00", "9.20"),
    "payme:p11:refund": ("refund", "payme", "tg:11", "pro_month", "115000.00", "9.20"),
    "ch_c12_1": ("charge", "stripe", "tg:12", "pro_month", "9.00", "9.00"),
    "re_c12_1": ("refund", "stripe", "tg:12", "pro_month", "4.00", "4.00"),
    "ch_c12_2": ("charge", "stripe", "tg:12", "pro_month", "9.00", "9.00"),
    "dp_c12": ("dispute", "stripe", "tg:12", "pro_month", "9.00", "9.00"),
    "ch_c12_3": ("charge", "stripe", "tg:12", "business_month", "29.00", "29.00"),
    "payme:p13": ("charge", "payme", "tg:13", "pro_month", "115000.00", "9.20"),
    "click:5000013": ("charge", "click", "tg:13", "business_month", "369000.00", "29.52"),
}


def money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))
