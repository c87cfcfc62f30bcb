"""Demo payment history: 18 months of customers paying through Stripe, Payme and Click.

Deterministic for a seed and scale, and delivered through the same code the webhooks run: Stripe events are
signed and go through `stripe_events.receive_webhook`; Payme and Click payments are JSON-RPC calls and
Prepare/Complete forms answered by `payme.handle_payme` and `click.handle_prepare/complete`. Nothing is written
to the warehouse or the marts directly, so the demo exercises the ledger exactly as production traffic does.

The history has what a revenue dashboard must get right: trials that convert or lapse, first payments,
renewals, upgrades and downgrades, failed renewals with dunning (recovered or not), voluntary and involuntary
churn, reactivations, refunds, a lost dispute, abandoned and timed-out Payme transactions, a declined Click
payment, UZS and USD, and Stripe events in both API shapes (before and after `2025-03-31.basil`).

Who stays and who leaves is not a constant coin flip: hidden traits (engagement, price sensitivity, card
trouble; `demo_behaviour`) drive renewals, plan changes and failed payments, and each customer's daily product
usage is written to `user_activity_daily` from the same engagement path. The churn model learns from what that
leaves in the data, never from the traits themselves.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import numpy as np
import stripe
from sqlalchemy.orm import Session

from analyticbot.appstore.activity import add_activity_days
from analyticbot.appstore.models import User
from analyticbot.payments import click, payme
from analyticbot.payments.catalogue import PLANS_BY_CODE, PlanSpec
from analyticbot.payments.demo_behaviour import (CustomerTraits, Engagement, activity_days, churn_probability,
                                                 draw_traits, dunning_recovers, renewal_fails, upgrade_or_downgrade)
from analyticbot.payments.orders import create_order
from analyticbot.payments.stripe_events import receive_webhook

HISTORY_MONTHS = 18
# Customers per scale. `large` gives well over a million ledger events (the revenue benchmark).
# `default` is sized for the churn model: ~9,000 labelled renewals, ~450 churns in the out-of-time test window
# (with half that, LightGBM had ~200 churns to learn from and no room to find what a linear model cannot).
PAYMENT_SCALES = {"tiny": 30, "default": 3_200, "large": 68_000}
# The account pinned its webhook endpoint to the basil API version on this day; earlier events are pre-basil.
BASIL_FROM = datetime(2025, 9, 1)
PRE_BASIL_VERSION = "2025-02-24.acacia"
BASIL_VERSION = "2025-03-31.basil"
# Secrets of the demo's own simulated gateways (never real ones).
DEMO_STRIPE_SECRET = "whsec_analyticbot_demo"
DEMO_PAYME_KEY = "analyticbot-demo-payme-key"
DEMO_CLICK_SERVICE_ID = 90_001
DEMO_CLICK_SECRET = "analyticbot-demo-click-secret"
DEMO_USER_BASE = 7_000_000_000  # demo customers that own no demo channel

_GATEWAY_SHARE = (("stripe", 0.45), ("payme", 0.35), ("click", 0.20))
_PLAN_SHARE = (("pro_month", 0.55), ("pro_year", 0.10), ("business_month", 0.25), ("business_year", 0.10))
_UPGRADE = {"pro_month": "business_month", "pro_year": "business_year"}
_DOWNGRADE = {"business_month": "pro_month", "business_year": "pro_year"}


@dataclass(frozen=True)
class DemoCustomer:
    index: int
    user_id: int
    gateway: str
    plan_code: str
    signup_at: datetime


@dataclass
class HistoryReport:
    customers: int = 0
    stripe_events: int = 0
    payme_calls: int = 0
    click_calls: int = 0
    activity_days: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def history_window(end: datetime) -> tuple[datetime, datetime]:
    return add_months(end, -HISTORY_MONTHS), end


def add_months(at: datetime, months: int) -> datetime:
    """Calendar months, the way Stripe anchors a billing cycle (31 Jan + 1 month = 28/29 Feb)."""
    month0 = at.month - 1 + months
    year, month = at.year + month0 // 12, month0 % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def demo_customers(seed: int, scale: str, owner_ids: list[int], start: datetime,
                   end: datetime) -> list[DemoCustomer]:
    """The demo's paying population: the demo channel owners first, then users without a demo channel.
    Sign-ups grow over the window (more recent months get more), as a growing product's do."""
    if scale not in PAYMENT_SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {sorted(PAYMENT_SCALES)}")
    n = max(PAYMENT_SCALES[scale], len(owner_ids))
    rng = np.random.default_rng([seed, 0x9A7])
    span = (end - start).total_seconds()
    # Inverse-CDF of a density rising linearly from 1 to 3 across the window; the last 3 weeks get nobody,
    # so every customer has at least one billing decision inside the history.
    u = rng.random(n)
    frac = (-1 + np.sqrt(1 + 8 * u)) / 2  # solves (x + x^2) / 2 = u on [0, 1]
    offsets = frac * (span - 21 * 86_400)
    gateways = rng.choice([g for g, _ in _GATEWAY_SHARE], size=n, p=[p for _, p in _GATEWAY_SHARE])
    plans = rng.choice([p for p, _ in _PLAN_SHARE], size=n, p=[p for _, p in _PLAN_SHARE])
    customers = []
    for i in range(n):
        user_id = owner_ids[i] if i < len(owner_ids) else DEMO_USER_BASE + i * 13 + 5
        signup = (start + timedelta(seconds=float(offsets[i]))).replace(microsecond=0)
        customers.append(DemoCustomer(i, user_id, str(gateways[i]), str(plans[i]), signup))
    return customers


# -- delivery: the same code paths as the webhook app ------------------------------------------------------------
class LedgerDriver:
    """Delivers simulated gateway traffic to the protocol functions, inside the caller's session."""

    def __init__(self, session: Session, report: HistoryReport):
        self.session, self.report = session, report
        self._rpc_id = 0

    def stripe(self, event: dict[str, Any]) -> None:
        body = json.dumps(event, separators=(",", ":"))
        header = stripe.WebhookSignature.generate_signature_header(body, DEMO_STRIPE_SECRET)
        outcome = receive_webhook(self.session, body.encode(), header, DEMO_STRIPE_SECRET)
        self.report.stripe_events += 1
        self.report.count(f"stripe.{outcome.status}")
        if outcome.status == "quarantined":
            raise AssertionError(f"demo produced an event the webhook refuses: {outcome.reason}")

    def order(self, user_id: int, plan_code: str, gateway: str, at: datetime) -> int:
        return create_order(self.session, user_id, plan_code, gateway, now=at).order_id

    def payme(self, method: str, params: dict[str, Any], at: datetime, *, expect_error: int | None = None) -> dict:
        self._rpc_id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._rpc_id, "method": method, "params": params}).encode()
        answer = payme.handle_payme(self.session, body, payme.basic_auth_header(DEMO_PAYME_KEY), DEMO_PAYME_KEY,
                                    _ms(at))
        self.report.payme_calls += 1
        code = (answer.get("error") or {}).get("code")
        if code != expect_error:
            raise AssertionError(f"Payme {method} answered {answer}, expected error {expect_error}")
        self.report.count(f"payme.{method}" + (f".{code}" if code else ""))
        return answer

    def click(self, action: int, form: dict[str, str], at: datetime, *, expect_error: int = 0) -> dict:
        form = dict(form, action=str(action), sign_time=at.strftime("%Y-%m-%d %H:%M:%S"))
        form["sign_string"] = click.sign(form, DEMO_CLICK_SECRET, action)
        handler = click.handle_prepare if action == 0 else click.handle_complete
        answer = handler(self.session, form, service_id=DEMO_CLICK_SERVICE_ID, secret_key=DEMO_CLICK_SECRET, now=at)
        self.report.click_calls += 1
        if int(answer["error"]) != expect_error:
            raise AssertionError(f"Click action {action} answered {answer}, expected error {expect_error}")
        self.report.count(f"click.{action}.{answer['error']}")
        return answer


def generate_history(session_factory: Callable[[], Any], *, seed: int, scale: str, owner_ids: list[int],
                     end: datetime) -> HistoryReport:
    """Simulate every demo customer and deliver their traffic; one operational-store transaction per customer,
    so an interrupted run leaves whole customers only. `session_factory()` is a context manager yielding a
    session in a transaction (`AppStore.transaction`)."""
    start, end = history_window(end)
    report = HistoryReport()
    for customer in demo_customers(seed, scale, owner_ids, start, end):
        with session_factory() as session:
            if session.get(User, customer.user_id) is None:
                session.add(User(user_id=customer.user_id, language="en", time_zone="Asia/Tashkent",
                                 created_at=customer.signup_at))
                session.flush()
            driver = LedgerDriver(session, report)
            rng = np.random.default_rng([seed, 0xC0DE, customer.index])
            behaviour_rng = np.random.default_rng([seed, 0xBEEF, customer.index])
            traits = draw_traits(behaviour_rng)
            engagement = Engagement(traits, behaviour_rng, customer.signup_at, end)
            life = (StripeCustomer if customer.gateway == "stripe" else ManualPayer)(
                customer, rng, end, driver, seed, traits, engagement)
            life.simulate()
            report.activity_days += add_activity_days(session, activity_days(
                customer.user_id, engagement, life.paid, customer.signup_at, end, behaviour_rng))
        report.customers += 1
    return report


class CustomerLife:
    """What both kinds of payer remember of their own history: it feeds their next decision
    (`demo_behaviour.churn_probability`), and `paid` (the paid periods) drives their product usage."""

    def __init__(self, customer: DemoCustomer, rng: np.random.Generator, end: datetime, driver: LedgerDriver,
                 seed: int, traits: CustomerTraits, engagement: Engagement):
        self.c, self.rng, self.end, self.driver, self.seed = customer, rng, end, driver, seed
        self.traits, self.engagement = traits, engagement
        self.paid: list[tuple[datetime, datetime]] = []
        self.failures: list[datetime] = []
        self.upgrades: list[datetime] = []

    def churns_at(self, plan_code: str, period_end: datetime, *, manual: bool, discounted: bool = False) -> bool:
        plan = PLANS_BY_CODE[plan_code]
        recent = period_end - timedelta(days=120)
        upgraded = any(at >= add_months(period_end, -2 * plan.interval_months) for at in self.upgrades)
        p = churn_probability(
            self.traits, self.engagement.at(period_end - timedelta(days=2)), manual=manual,
            yearly=plan.billing_interval == "year", periods_paid=len(self.paid), business=plan.tier == "business",
            upgraded_recently=upgraded, recent_failures=sum(1 for at in self.failures if at >= recent),
            discounted=discounted)
        return bool(self.rng.random() < p)

    def next_plan(self, plan_code: str, at: datetime) -> str:
        change = upgrade_or_downgrade(self.traits, self.engagement.at(at), self.rng)
        if change == "upgrade" and plan_code in _UPGRADE:
            self.upgrades.append(at)
            return _UPGRADE[plan_code]
        if change == "downgrade" and plan_code in _DOWNGRADE:
            return _DOWNGRADE[plan_code]
        return plan_code


# -- Stripe: subscriptions that renew themselves ------------------------------------------------------------------
class StripeCustomer(CustomerLife):
    """One customer's Stripe life: subscriptions with trials, renewals, plan changes, dunning, cancellations,
    reactivations, refunds and (rarely) a dispute, emitted as the events Stripe would send."""

    def __init__(self, customer: DemoCustomer, rng: np.random.Generator, end: datetime, driver: LedgerDriver,
                 seed: int, traits: CustomerTraits, engagement: Engagement):
        super().__init__(customer, rng, end, driver, seed, traits, engagement)
        self.cus = f"cus_demo{seed}x{customer.index}"
        self._seq = 0
        # A lost dispute on the first charge: every 97th customer from the 4th (so any demo with a few hundred
        # customers has some), else rarely.
        self.dispute_on = 1 if customer.index % 97 == 3 or rng.random() < 0.004 else -1
        self.charges = 0
        self.discount = {"id": f"demo20_{seed}", "percent_off": 20.0, "amount_off": None, "duration": "forever"} \
            if rng.random() < 0.06 else None

    def _id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}_demo{self.c.index}x{self._seq}"

    def simulate(self) -> None:
        at, plan_code = self.c.signup_at, self.c.plan_code
        while at < self.end:
            ended_at = self._subscription(at, plan_code)
            if ended_at is None or ended_at >= self.end or self.rng.random() >= 0.22:
                return
            at = ended_at + timedelta(days=int(self.rng.integers(25, 120)), seconds=int(self.rng.integers(0, 86_400)))
            plan_code = self.c.plan_code if self.rng.random() < 0.7 else "pro_month"

    def _subscription(self, at: datetime, plan_code: str) -> datetime | None:
        """Run one subscription from `at`; return when it ended (None if still alive at the end)."""
        sub = {"id": self._id("sub"), "plan": plan_code, "created": at, "status": "active",
               "cancel_at_period_end": False, "canceled_at": None, "ended_at": None, "trial_end": None,
               "item": self._id("si")}
        if self.rng.random() < 0.3:  # a 14-day trial
            trial_end = at + timedelta(days=14)
            sub.update(status="trialing", trial_end=trial_end)
            self._sub_event("customer.subscription.created", sub, at, at, trial_end)
            if trial_end >= self.end:
                return None
            if self.rng.random() < 0.35:  # the trial lapses: no card, no payment
                sub.update(status="canceled", canceled_at=trial_end, ended_at=trial_end)
                self._sub_event("customer.subscription.deleted", sub, trial_end, at, trial_end)
                return trial_end
            start = trial_end
            sub["status"] = "active"
            self._pay(sub, start, "subscription_create")
            self._sub_event("customer.subscription.updated", sub, start, start, self._period_end(start, sub))
        else:
            start = at
            self._sub_event("customer.subscription.created", sub, at, at, self._period_end(at, sub))
            self._pay(sub, at, "subscription_create")
        while True:
            end = self._period_end(start, sub)
            churns = self.churns_at(sub["plan"], end, manual=False, discounted=self.discount is not None)
            if end >= self.end:
                if churns:  # announced cancellation, still in its paid period at the end
                    self._cancel_request(sub, start, end)
                return None
            if churns:  # voluntary churn at the end of the period, announced during it
                self._cancel_request(sub, start, end)
                sub.update(status="canceled", canceled_at=sub["canceled_at"], ended_at=end)
                self._sub_event("customer.subscription.deleted", sub, end, start, end)
                return end
            sub["plan"] = self.next_plan(sub["plan"], end)
            if renewal_fails(self.traits, self.rng):  # the renewal charge is declined: dunning
                recovered_at = self._dunning(sub, end)
                if recovered_at is None:
                    return sub["ended_at"]
                start = end
                continue
            self._pay(sub, end, "subscription_cycle")
            self._sub_event("customer.subscription.updated", sub, end, end, self._period_end(end, sub))
            start = end

    def _period_end(self, start: datetime, sub: dict) -> datetime:
        return add_months(start, PLANS_BY_CODE[sub["plan"]].interval_months)

    def _cancel_request(self, sub: dict, start: datetime, end: datetime) -> None:
        when = (start + (end - start) * float(self.rng.uniform(0.2, 0.9))).replace(microsecond=0)
        if when >= self.end:
            return
        sub.update(cancel_at_period_end=True, canceled_at=when)
        self._sub_event("customer.subscription.updated", sub, when, start, end)

    def _dunning(self, sub: dict, due: datetime) -> datetime | None:
        """Smart Retries: the invoice stays open and the subscription past_due while Stripe retries (day 3,
        day 8); after the last failure the subscription is cancelled (involuntary churn)."""
        plan = PLANS_BY_CODE[sub["plan"]]
        invoice_id = self._id("in")
        period = (due, self._period_end(due, sub))
        self._invoice_event("invoice.payment_failed", invoice_id, plan, period, due, paid=False, attempt=1,
                            sub=sub)
        self.failures.append(due)
        sub["status"] = "past_due"
        self._sub_event("customer.subscription.updated", sub, due, *period)
        for attempt, days in ((2, 3), (3, 8)):
            when = due + timedelta(days=days, minutes=int(self.rng.integers(0, 600)))
            if when >= self.end:
                return None
            recovers = dunning_recovers(self.traits, self.engagement.at(due), attempt)
            if self.rng.random() < recovers:
                self._pay(sub, when, "subscription_cycle", invoice_id=invoice_id, period=period, attempt=attempt)
                sub["status"] = "active"
                self._sub_event("customer.subscription.updated", sub, when, *period)
                return when
            self._invoice_event("invoice.payment_failed", invoice_id, plan, period, when, paid=False,
                                attempt=attempt, sub=sub)
            self.failures.append(when)
        ended = due + timedelta(days=14)
        if ended >= self.end:
            return None
        sub.update(status="canceled", canceled_at=ended, ended_at=ended)
        self._sub_event("customer.subscription.deleted", sub, ended, *period)
        return None

    def _pay(self, sub: dict, at: datetime, reason: str, *, invoice_id: str | None = None,
             period: tuple[datetime, datetime] | None = None, attempt: int = 1) -> None:
        plan = PLANS_BY_CODE[sub["plan"]]
        period = period or (at, self._period_end(at, sub))
        invoice_id = invoice_id or self._id("in")
        charge_id, pi_id = self._id("ch"), self._id("pi")
        amount = self._discounted(plan.usd_cents)
        self.charges += 1
        self.paid.append(period)
        charge = self._charge(charge_id, pi_id, invoice_id, amount, at)
        self.driver.stripe(self._event("charge.succeeded", charge, at))
        self._invoice_event("invoice.paid", invoice_id, plan, period, at + timedelta(seconds=2), paid=True,
                            attempt=attempt, charge_id=charge_id, pi_id=pi_id, reason=reason, sub=sub)
        if at >= BASIL_FROM:
            self.driver.stripe(self._event("invoice_payment.paid", {
                "id": self._id("inpay"), "object": "invoice_payment", "invoice": invoice_id, "amount_paid": amount,
                "amount_requested": amount, "currency": "usd", "created": _ts(at), "is_default": True,
                "livemode": False, "status": "paid",
                "payment": {"type": "payment_intent", "payment_intent": pi_id, "charge": None},
                "status_transitions": {"paid_at": _ts(at), "canceled_at": None}}, at + timedelta(seconds=3)))
        if self.rng.random() < 0.03 and self.charges != self.dispute_on:  # a disputed charge is not refunded
            refund_at = at + timedelta(days=int(self.rng.integers(1, 6)), seconds=int(self.rng.integers(0, 80_000)))
            if refund_at < self.end:
                refund = amount if self.charges == 1 else amount // 2
                self.driver.stripe(self._event("refund.created", {
                    "id": self._id("re"), "object": "refund", "amount": refund, "charge": charge_id,
                    "currency": "usd", "created": _ts(refund_at), "payment_intent": pi_id, "status": "succeeded",
                    "reason": "requested_by_customer", "metadata": {}}, refund_at))
        if self.charges == self.dispute_on:
            opened, closed = at + timedelta(days=9), at + timedelta(days=45)
            if closed < self.end:
                dispute = {"id": self._id("dp"), "object": "dispute", "amount": amount, "charge": charge_id,
                           "currency": "usd", "created": _ts(opened), "payment_intent": pi_id,
                           "reason": "fraudulent", "status": "needs_response", "is_charge_refundable": False,
                           "livemode": False, "metadata": {}}
                self.driver.stripe(self._event("charge.dispute.created", dispute, opened))
                self.driver.stripe(self._event("charge.dispute.closed", dict(dispute, status="lost"), closed))

    def _discounted(self, cents: int) -> int:
        if not self.discount:
            return cents
        return int(round(cents * (1 - self.discount["percent_off"] / 100)))

    # -- Stripe objects, in the shape of the API version in force when they were sent ---------------------------
    def _event(self, etype: str, obj: dict, at: datetime, previous: dict | None = None) -> dict:
        basil = at >= BASIL_FROM
        data: dict[str, Any] = {"object": obj}
        if previous is not None:
            data["previous_attributes"] = previous
        return {"id": self._id("evt"), "object": "event", "api_version": BASIL_VERSION if basil else PRE_BASIL_VERSION,
                "created": _ts(at), "data": data, "livemode": False, "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None}, "type": etype}

    def _price(self, plan: PlanSpec) -> dict:
        return {"id": plan.stripe_price_id, "object": "price", "active": True, "billing_scheme": "per_unit",
                "currency": "usd", "unit_amount": plan.usd_cents, "unit_amount_decimal": str(plan.usd_cents),
                "product": f"prod_analyticbot_{plan.tier}", "type": "recurring", "livemode": False,
                "recurring": {"interval": plan.billing_interval, "interval_count": 1, "usage_type": "licensed"}}

    def _sub_event(self, etype: str, sub: dict, at: datetime, period_start: datetime, period_end: datetime) -> None:
        plan = PLANS_BY_CODE[sub["plan"]]
        basil = at >= BASIL_FROM
        item = {"id": sub["item"], "object": "subscription_item", "created": _ts(sub["created"]), "quantity": 1,
                "subscription": sub["id"], "price": self._price(plan), "metadata": {}, "discounts": []}
        obj: dict[str, Any] = {
            "id": sub["id"], "object": "subscription", "customer": self.cus, "status": sub["status"],
            "currency": "usd", "created": _ts(sub["created"]), "start_date": _ts(sub["created"]),
            "collection_method": "charge_automatically", "livemode": False,
            "metadata": {"telegram_user_id": str(self.c.user_id)},
            "cancel_at_period_end": sub["cancel_at_period_end"], "canceled_at": _ts_or_none(sub["canceled_at"]),
            "ended_at": _ts_or_none(sub["ended_at"]), "trial_end": _ts_or_none(sub["trial_end"]),
            "trial_start": _ts(sub["created"]) if sub["trial_end"] else None,
            "items": {"object": "list", "data": [item], "has_more": False,
                      "url": f"/v1/subscription_items?subscription={sub['id']}"},
        }
        coupon = dict(self.discount, object="coupon") if self.discount else None
        if basil:
            item.update(current_period_start=_ts(period_start), current_period_end=_ts(period_end))
            obj["discounts"] = [{"id": f"di_{sub['id']}", "object": "discount", "start": _ts(sub["created"]),
                                 "end": None, "subscription": sub["id"],
                                 "source": {"type": "coupon", "coupon": coupon}}] if coupon else []
        else:
            obj.update(current_period_start=_ts(period_start), current_period_end=_ts(period_end),
                       plan=None, quantity=1)
            obj["discount"] = {"id": f"di_{sub['id']}", "object": "discount", "coupon": coupon,
                               "start": _ts(sub["created"]), "end": None, "subscription": sub["id"]} \
                if coupon else None
        self.driver.stripe(self._event(etype, obj, at))

    def _charge(self, charge_id: str, pi_id: str, invoice_id: str, amount: int, at: datetime) -> dict:
        charge = {"id": charge_id, "object": "charge", "amount": amount, "amount_captured": amount,
                  "amount_refunded": 0, "currency": "usd", "customer": self.cus, "created": _ts(at),
                  "captured": True, "paid": True, "refunded": False, "disputed": False, "status": "succeeded",
                  "payment_intent": pi_id, "livemode": False, "metadata": {},
                  "description": "Subscription update" if self.charges > 1 else "Subscription creation"}
        if at < BASIL_FROM:
            charge["invoice"] = invoice_id
        return charge

    def _invoice_event(self, etype: str, invoice_id: str, plan: PlanSpec, period: tuple[datetime, datetime],
                       at: datetime, *, paid: bool, attempt: int, charge_id: str | None = None,
                       sub: dict, pi_id: str | None = None, reason: str = "subscription_cycle") -> None:
        basil = at >= BASIL_FROM
        sub_id = sub["id"]
        amount = self._discounted(plan.usd_cents)
        line: dict[str, Any] = {
            "id": f"il_{invoice_id}", "object": "line_item", "amount": amount, "currency": "usd",
            "description": f"1 × AnalyticBot {plan.tier.title()} (at ${plan.usd_cents / 100:.2f} / "
                           f"{plan.billing_interval})",
            "period": {"start": _ts(period[0]), "end": _ts(period[1])}, "quantity": 1,
            "discount_amounts": [] if amount == plan.usd_cents else [
                {"amount": plan.usd_cents - amount, "discount": f"di_{sub_id}"}],
        }
        obj: dict[str, Any] = {
            "id": invoice_id, "object": "invoice", "customer": self.cus, "currency": "usd",
            "amount_due": amount, "amount_paid": amount if paid else 0, "amount_remaining": 0 if paid else amount,
            "total": amount, "subtotal": plan.usd_cents, "status": "paid" if paid else "open",
            "billing_reason": reason, "attempt_count": attempt, "attempted": True,
            "collection_method": "charge_automatically", "created": _ts(period[0]),
            "period_start": _ts(period[0]), "period_end": _ts(period[0]), "livemode": False,
            "status_transitions": {"finalized_at": _ts(period[0]), "paid_at": _ts(at) if paid else None},
            "lines": {"object": "list", "data": [line], "has_more": False, "url": f"/v1/invoices/{invoice_id}/lines"},
        }
        if basil:
            obj["parent"] = {"type": "subscription_details", "quote_details": None,
                             "subscription_details": {"subscription": sub_id, "metadata": {}}}
            line["pricing"] = {"type": "price_details", "unit_amount_decimal": str(plan.usd_cents),
                               "price_details": {"price": plan.stripe_price_id,
                                                 "product": f"prod_analyticbot_{plan.tier}"}}
            line["parent"] = {"type": "subscription_item_details", "invoice_item_details": None,
                              "subscription_item_details": {"subscription": sub_id, "subscription_item": None,
                                                            "proration": False, "invoice_item": None}}
        else:
            obj.update(subscription=sub_id, charge=charge_id if paid else None, payment_intent=pi_id, paid=paid)
            line.update(price=self._price(plan), proration=False, subscription=sub_id, type="subscription")
        self.driver.stripe(self._event(etype, obj, at))


# -- Payme and Click: one period at a time, paid by hand ----------------------------------------------------------
class ManualPayer(CustomerLife):
    """A customer who pays each period through Payme or Click when it runs out (there is no auto-renew), now
    and then late, sometimes not at all (churn), sometimes on another plan."""

    def __init__(self, customer: DemoCustomer, rng: np.random.Generator, end: datetime, driver: LedgerDriver,
                 seed: int, traits: CustomerTraits, engagement: Engagement):
        super().__init__(customer, rng, end, driver, seed, traits, engagement)
        self._seq = 0

    # A payment with a failed first attempt spans up to 13 h (Payme's 12-hour timeout, then the retry): one
    # started later than this before the end of the history would leave events after it.
    ATTEMPT_SPAN = timedelta(hours=14)

    def simulate(self) -> None:
        at, plan_code = self.c.signup_at, self.c.plan_code
        while at < self.end - self.ATTEMPT_SPAN:
            paid_at = self._pay(plan_code, at)
            period_end = add_months(paid_at, PLANS_BY_CODE[plan_code].interval_months)
            self.paid.append((paid_at, period_end))
            if period_end >= self.end:
                return
            if self.churns_at(plan_code, period_end, manual=True):  # does not pay again: churn at the period end
                if self.rng.random() >= 0.2:
                    return
                at = period_end + timedelta(days=int(self.rng.integers(20, 100)))  # comes back later
                continue
            plan_code = self.next_plan(plan_code, period_end)
            # Paying by hand: a few hours early to a few days late.
            at = period_end + timedelta(hours=float(self.rng.uniform(-6, 60)))

    def _pay(self, plan_code: str, at: datetime) -> datetime:
        """One successful payment at about `at` (after a failed first attempt now and then); returns when."""
        at = at.replace(microsecond=0)
        trouble = 3.0 if self.traits.card_trouble else 1.0
        if self.c.gateway == "payme":
            roll = self.rng.random()
            if roll < 0.05 * trouble:
                self._payme(plan_code, at, outcome="abandoned")
                self.failures.append(at)
                at += timedelta(hours=1)
            elif roll < 0.06 * trouble:
                self._payme(plan_code, at, outcome="timeout")
                self.failures.append(at)
                at += timedelta(hours=13)
            return self._payme(plan_code, at, outcome="paid")
        if self.rng.random() < 0.06 * trouble:
            self._click(plan_code, at, declined=True)
            self.failures.append(at)
            at += timedelta(minutes=40)
        return self._click(plan_code, at, declined=False)

    def _payme(self, plan_code: str, at: datetime, outcome: str) -> datetime:
        d = self.driver
        order_id = d.order(self.c.user_id, plan_code, "payme", at)
        amount = PLANS_BY_CODE[plan_code].uzs_tiyin
        account = {"order_id": str(order_id)}
        self._seq += 1
        payme_id = hashlib.sha1(f"{self.seed}:{self.c.index}:{self._seq}".encode()).hexdigest()[:24]
        d.payme("CheckPerformTransaction", {"amount": amount, "account": account}, at)
        created = at + timedelta(seconds=2)
        create = {"id": payme_id, "time": _ms(created), "amount": amount, "account": account}
        d.payme("CreateTransaction", create, created)
        if outcome == "abandoned":  # the user closed the Payme page; Payme cancels the transaction
            d.payme("CancelTransaction", {"id": payme_id, "reason": 3}, created + timedelta(minutes=30))
            return created
        if outcome == "timeout":  # Payme asks to perform after the 12-hour limit: refused, cancelled
            d.payme("PerformTransaction", {"id": payme_id}, created + timedelta(hours=12, minutes=1),
                    expect_error=-31008)
            return created
        performed = created + timedelta(seconds=5)
        d.payme("PerformTransaction", {"id": payme_id}, performed)
        d.payme("PerformTransaction", {"id": payme_id}, performed + timedelta(seconds=3))  # Payme's retry
        d.payme("CheckTransaction", {"id": payme_id}, performed + timedelta(seconds=4))
        if self.rng.random() < 0.02:  # refunded from the merchant cabinet within days
            refund_at = performed + timedelta(days=int(self.rng.integers(1, 4)))
            if refund_at < self.end:
                d.payme("CancelTransaction", {"id": payme_id, "reason": 5}, refund_at)
        return performed

    def _click(self, plan_code: str, at: datetime, declined: bool) -> datetime:
        d = self.driver
        order_id = d.order(self.c.user_id, plan_code, "click", at)
        self._seq += 1
        trans_id = 5_000_000_000 + self.c.index * 1_000 + self._seq
        form = {"click_trans_id": str(trans_id), "service_id": str(DEMO_CLICK_SERVICE_ID),
                "click_paydoc_id": str(trans_id + 7_000_000), "merchant_trans_id": str(order_id),
                "amount": f"{PLANS_BY_CODE[plan_code].uzs_tiyin / 100:.2f}", "error": "0", "error_note": "Success"}
        prepared = d.click(0, form, at)
        done = at + timedelta(seconds=4)
        complete = dict(form, merchant_prepare_id=str(prepared["merchant_prepare_id"]))
        if declined:  # the card was declined at Click: Complete arrives with Click's own error
            d.click(1, dict(complete, error="-5017", error_note="Insufficient funds"), done, expect_error=-9)
            return done
        d.click(1, complete, done)
        return done


def _ts(at: datetime) -> int:
    return int(at.replace(tzinfo=timezone.utc).timestamp())


def _ts_or_none(at: datetime | None) -> int | None:
    return None if at is None else _ts(at)


def _ms(at: datetime) -> int:
    return _ts(at) * 1000 + at.microsecond // 1000

