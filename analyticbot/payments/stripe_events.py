"""Stripe events: verify, check, and keep each one exactly once, whichever way it arrives.

Webhooks, the `Event.list` pull and the reconciliation listing all end in `ingest_event`, so an event is the
same ledger row however it came. The raw body is what we store: staging in dbt reads both API shapes (before
and after `2025-03-31.basil`) from it. Events we cannot use (an unhandled type, a value Stripe's own fixtures
show can be nonsense) go to the quarantine with the reason, and Stripe gets a 200 so it stops retrying."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import stripe
from sqlalchemy.orm import Session

from analyticbot.payments.ledger import quarantine, record_event, utcnow

SIGNATURE_TOLERANCE_S = 300

# What the revenue models read. Anything else is quarantined as unhandled (kept, visible, not lost).
HANDLED_TYPES = frozenset({
    "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
    "customer.subscription.paused", "customer.subscription.resumed",
    "invoice.paid", "invoice.payment_failed", "invoice.payment_succeeded", "invoice.voided",
    "invoice.marked_uncollectible", "invoice_payment.paid",
    "charge.succeeded", "charge.refunded", "charge.failed",
    "refund.created", "refund.updated",
    "charge.dispute.created", "charge.dispute.closed", "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
})
KNOWN_CURRENCIES = frozenset({"usd", "uzs", "eur"})
SUBSCRIPTION_STATUSES = frozenset({"incomplete", "incomplete_expired", "trialing", "active", "past_due",
                                   "canceled", "unpaid", "paused"})
INTERVALS = frozenset({"day", "week", "month", "year"})
# Stripe started in 2011; a `created` before that is one of the fixture placeholders, not a real time.
EARLIEST = int(datetime(2011, 1, 1, tzinfo=timezone.utc).timestamp())


class InvalidSignature(ValueError):
    """The `Stripe-Signature` header does not verify: nothing is stored."""


@dataclass(frozen=True)
class Outcome:
    status: str  # recorded | duplicate | quarantined
    event_id: str | None
    reason: str | None = None


def verify(body: bytes, signature_header: str | None, secret: str) -> str:
    """The body as text if the signature verifies within the tolerance, else `InvalidSignature`."""
    try:
        text = body.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature_header, secret, tolerance=SIGNATURE_TOLERANCE_S)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise InvalidSignature(str(exc).split(".")[0] or "signature does not verify") from None
    return text


def receive_webhook(session: Session, body: bytes, signature_header: str | None, secret: str) -> Outcome:
    """The whole webhook: verify, parse, check, record or quarantine, in the caller's transaction."""
    text = verify(body, signature_header, secret)
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        quarantine(session, gateway="stripe", reason=f"body is not JSON: {exc.msg} at {exc.pos}", payload=text)
        return Outcome("quarantined", None, "body is not JSON")
    return ingest_event(session, event, raw=text, source="webhook")


def ingest_event(session: Session, event: Any, *, raw: str | None = None, source: str) -> Outcome:
    """Record one event (a parsed dict; `raw` is its body as received, if we have it) or quarantine it."""
    event_id = event.get("id") if isinstance(event, dict) else None
    raw = raw if raw is not None else json.dumps(event, separators=(",", ":"))
    reason = problem(event)
    if reason is not None:
        quarantine(session, gateway="stripe", reason=reason, payload=raw,
                   external_id=event_id if isinstance(event_id, str) else None)
        return Outcome("quarantined", event_id if isinstance(event_id, str) else None, reason)
    write = record_event(
        session, gateway="stripe", event_key=event_id, event_type=event["type"], source=source,
        occurred_at=datetime.fromtimestamp(event["created"], timezone.utc).replace(tzinfo=None),
        payload=raw, api_version=event.get("api_version"),
    )
    return Outcome("recorded" if write.inserted else "duplicate", event_id)


# -- checks ---------------------------------------------------------------------------------------------------
def problem(event: Any) -> str | None:
    """Why this event cannot be used, or None. Names the field and the value."""
    if not isinstance(event, dict):
        return "event is not a JSON object"
    event_id, etype, created = event.get("id"), event.get("type"), event.get("created")
    if not isinstance(event_id, str) or not event_id.startswith("evt_"):
        return f"event id {event_id!r} is not a Stripe event id"
    if not isinstance(etype, str):
        return "event has no type"
    if not isinstance(created, int) or created < EARLIEST or created > _now_ts() + 86_400:
        return f"event created={created!r} is not a plausible time"
    obj = (event.get("data") or {}).get("object") if isinstance(event.get("data"), dict) else None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        return "event has no data.object with an id"
    if etype not in HANDLED_TYPES:
        return f"unhandled event type {etype!r}"
    kind = obj.get("object")
    check = _CHECKS.get(kind)
    if check is None:
        return f"event type {etype!r} carries an unexpected object {kind!r}"
    return check(obj)


def _now_ts() -> int:
    return int(utcnow().replace(tzinfo=timezone.utc).timestamp())


def _currency(obj: dict, what: str) -> str | None:
    cur = obj.get("currency")
    if not isinstance(cur, str) or cur.lower() not in KNOWN_CURRENCIES:
        return f"{what} {obj.get('id')}: currency {cur!r} is not one we report ({', '.join(sorted(KNOWN_CURRENCIES))})"
    return None


def _amount(obj: dict, field: str, what: str, *, positive: bool = False) -> str | None:
    value = obj.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or (positive and value == 0):
        return f"{what} {obj.get('id')}: {field}={value!r} is not a {'positive' if positive else 'non-negative'} amount"
    return None


def _time(obj: dict, field: str, what: str, *, required: bool = True) -> str | None:
    value = obj.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, int) or value < EARLIEST:
        return f"{what} {obj.get('id')}: {field}={value!r} is not a plausible time"
    return None


def _period(start: Any, end: Any, what: str) -> str | None:
    if start is None and end is None:
        return None
    if not isinstance(start, int) or not isinstance(end, int) or end < start:
        return f"{what}: period end {end!r} is before its start {start!r}"
    if start < EARLIEST:
        return f"{what}: period start {start!r} is not a plausible time"
    return None


def _customer(obj: dict, what: str) -> str | None:
    cust = obj.get("customer")
    cust_id = cust.get("id") if isinstance(cust, dict) else cust
    if not isinstance(cust_id, str) or not cust_id.startswith("cus_"):
        return f"{what} {obj.get('id')}: customer {cust_id!r} is not a Stripe customer id"
    return None


def _check_subscription(sub: dict) -> str | None:
    what = "subscription"
    if sub.get("status") not in SUBSCRIPTION_STATUSES:
        return f"subscription {sub.get('id')}: unknown status {sub.get('status')!r}"
    for reason in (_customer(sub, what), _currency(sub, what),
                   _period(sub.get("current_period_start"), sub.get("current_period_end"),
                           f"subscription {sub.get('id')}")):
        if reason:
            return reason
    items = (sub.get("items") or {}).get("data")
    if not isinstance(items, list) or not items:
        return f"subscription {sub.get('id')}: no items"
    for item in items:
        price = item.get("price") or {}
        recurring = price.get("recurring") or {}
        where = f"subscription {sub.get('id')} item {item.get('id')}"
        unit = price.get("unit_amount")
        if not isinstance(unit, int) or unit < 0:
            return f"{where}: unit_amount {unit!r} (tiered or metered prices are not supported)"
        if not isinstance(price.get("currency"), str) or price["currency"].lower() not in KNOWN_CURRENCIES:
            return f"{where}: currency {price.get('currency')!r} is not one we report"
        if recurring.get("interval") not in INTERVALS:
            return f"{where}: interval {recurring.get('interval')!r} is not a Stripe interval"
        count = recurring.get("interval_count")
        if not isinstance(count, int) or not 1 <= count <= 36:
            return f"{where}: interval_count {count!r} is outside 1..36"
        quantity = item.get("quantity", 1)
        if not isinstance(quantity, int) or quantity < 0:
            return f"{where}: quantity {quantity!r} is not a count"
        reason = _period(item.get("current_period_start"), item.get("current_period_end"), where)
        if reason:
            return reason
    return None


def _check_invoice(inv: dict) -> str | None:
    what = "invoice"
    for reason in (_customer(inv, what), _currency(inv, what), _amount(inv, "amount_paid", what),
                   _amount(inv, "amount_due", what), _time(inv, "created", what)):
        if reason:
            return reason
    if inv.get("amount_paid", 0) > max(inv.get("total", 0) or 0, inv.get("amount_due", 0) or 0):
        return f"invoice {inv.get('id')}: amount_paid {inv.get('amount_paid')} exceeds what was due"
    for line in (inv.get("lines") or {}).get("data") or []:
        period = line.get("period") or {}
        reason = _period(period.get("start"), period.get("end"), f"invoice {inv.get('id')} line {line.get('id')}")
        if reason:
            return reason
        if not isinstance(line.get("amount"), int):
            return f"invoice {inv.get('id')} line {line.get('id')}: amount {line.get('amount')!r} is not an amount"
    return None


def _check_charge(ch: dict) -> str | None:
    what = "charge"
    for reason in (_currency(ch, what), _amount(ch, "amount", what, positive=True),
                   _amount(ch, "amount_refunded", what), _time(ch, "created", what)):
        if reason:
            return reason
    if ch["amount_refunded"] > ch["amount"]:
        return f"charge {ch.get('id')}: amount_refunded {ch['amount_refunded']} exceeds amount {ch['amount']}"
    return None


def _charge_ref(obj: dict, what: str) -> str | None:
    charge = obj.get("charge")
    charge_id = charge.get("id") if isinstance(charge, dict) else charge
    if not isinstance(charge_id, str) or not charge_id.startswith(("ch_", "py_")):
        return f"{what} {obj.get('id')}: charge {charge_id!r} is not a charge id"
    return None


def _check_refund(ref: dict) -> str | None:
    what = "refund"
    for reason in (_currency(ref, what), _amount(ref, "amount", what, positive=True), _charge_ref(ref, what),
                   _time(ref, "created", what)):
        if reason:
            return reason
    return None


def _check_dispute(dp: dict) -> str | None:
    what = "dispute"
    for reason in (_currency(dp, what), _amount(dp, "amount", what, positive=True), _charge_ref(dp, what),
                   _time(dp, "created", what)):
        if reason:
            return reason
    return None


def _check_invoice_payment(ip: dict) -> str | None:
    what = "invoice_payment"
    for reason in (_currency(ip, what), _amount(ip, "amount_paid", what)):
        if reason:
            return reason
    if not isinstance(ip.get("invoice"), str) or not ip["invoice"].startswith("in_"):
        return f"invoice_payment {ip.get('id')}: invoice {ip.get('invoice')!r} is not an invoice id"
    return None


_CHECKS = {
    "subscription": _check_subscription,
    "invoice": _check_invoice,
    "charge": _check_charge,
    "refund": _check_refund,
    "dispute": _check_dispute,
    "invoice_payment": _check_invoice_payment,
}
