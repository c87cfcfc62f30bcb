"""Click SHOP-API: Prepare (action 0) reserves an order for a Click transaction, Complete (action 1) settles it.

`handle_prepare` and `handle_complete` take the form fields as received (raw strings: the signature is computed
over them, so `"115000.00"` stays `"115000.00"`) and return Click's JSON answer; they never raise for anything
Click sent. Everything runs in the caller's transaction.

Decisions the protocol leaves to the merchant:

- A request whose signature cannot be checked (a signed field or `sign_string` missing: -8) or does not verify
  (-1) writes nothing, not even to the quarantine: whoever lacks the secret key must not fill our tables.
- A signed request we refuse is quarantined with the reason: malformed fields (-8), a `service_id` that is not
  ours (-8: the key is per service, so this is Click's misconfiguration, not a forgery), a wrong action (-3),
  a wrong amount (-2), no such Click order (-5), an unknown `merchant_prepare_id` (-6), an order already paid
  (-4) or cancelled (-9).
- Repeated calls with the same `click_trans_id` answer as the first time and write nothing: Prepare of a known
  transaction answers its `merchant_prepare_id`; Complete of a completed one answers success, of a cancelled one
  -9. A repeat whose `error` contradicts what we recorded is answered the same way and quarantined.
- Complete with Click's `error` < 0 cancels the prepared transaction and answers -9. Prepare never moves the
  order off `pending`, so the order stays payable. `completed_at` stays null for a cancelled transaction (a paid
  period starts at `completed_at`); the ledger row carries the time of the cancellation.
- `error_code` on the record is the `error` Click reported on Complete (its reason for a failed payment), 0 until
  then.
- Several transactions may be prepared for one order (a payer pressing "pay" twice); the first to complete pays
  it, a later Complete answers -4 and stays prepared.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from analyticbot.appstore.models import ClickTransaction, Order
from analyticbot.payments.catalogue import UZS_PER_TIYIN
from analyticbot.payments.ledger import quarantine, record_event
from analyticbot.payments.orders import INT64_MAX, parse_order_id

PREPARE, COMPLETE = 0, 1
CURRENCY = "UZS"

NOTES = {
    0: "Success",
    -1: "SIGN CHECK FAILED!",
    -2: "Incorrect parameter amount",
    -3: "Action not found",
    -4: "Already paid",
    -5: "User does not exist",
    -6: "Transaction does not exist",
    -7: "Failed to update user",
    -8: "Error in request from click",
    -9: "Transaction cancelled",
}
_SIGNED = {PREPARE: ("click_trans_id", "service_id", "merchant_trans_id", "amount", "action", "sign_time"),
           COMPLETE: ("click_trans_id", "service_id", "merchant_trans_id", "merchant_prepare_id", "amount",
                      "action", "sign_time")}
_ID = re.compile(r"\d{1,19}")
_ERROR = re.compile(r"-?\d{1,9}")
_AMOUNT = re.compile(r"\d{1,17}(\.\d{1,6})?")


class ClickError(Exception):
    """An error answer. `keep` writes the request to the quarantine; `detail` goes there, not to Click."""

    def __init__(self, code: int, detail: str, *, keep: bool = True):
        super().__init__(detail)
        self.code, self.detail, self.keep = code, detail, keep


@dataclass(frozen=True)
class ClickRequest:
    """The checked fields of a signed request."""
    click_trans_id: int
    service_id: int
    click_paydoc_id: int
    order_id: int | None  # merchant_trans_id, None when it names no order
    amount: str
    amount_tiyin: int
    error: int
    merchant_prepare_id: int | None


def sign(fields: Mapping[str, str], secret_key: str, action: int) -> str:
    """Click's `sign_string`: md5 over the fields of `action` as sent, with the secret key after `service_id`.

    A missing field counts as empty here; the handlers refuse such a request before they check the sign."""
    names = _SIGNED[action]
    parts = [fields.get(name, "") for name in names]
    parts.insert(2, secret_key)
    return hashlib.md5("".join(parts).encode()).hexdigest()


# -- entry points --------------------------------------------------------------------------------------------
def handle_prepare(session: Session, form: Mapping[str, str], *, service_id: int, secret_key: str,
                   now: datetime) -> dict[str, Any]:
    """Answer a Prepare (action 0) at `now` (naive UTC)."""
    try:
        req = _checked(form, PREPARE, service_id, secret_key)
        tx = session.scalars(select(ClickTransaction).filter_by(click_trans_id=req.click_trans_id)).first()
        if tx is not None:
            if tx.order_id != req.order_id or tx.amount_tiyin != req.amount_tiyin:
                raise ClickError(-8, f"click_trans_id {req.click_trans_id} was prepared for order {tx.order_id}, "
                                     f"{tx.amount_tiyin} tiyin")
            return prepare_answer(form, 0, tx.id)
        order = _payable_order(session, req)
        tx = ClickTransaction(click_trans_id=req.click_trans_id, service_id=req.service_id,
                              click_paydoc_id=req.click_paydoc_id, order_id=order.order_id, amount=req.amount,
                              amount_tiyin=req.amount_tiyin, status="prepared", error_code=0, prepared_at=now,
                              completed_at=None)
        session.add(tx)
        session.flush()  # assigns merchant_prepare_id
        _record(session, tx, order, now)
        return prepare_answer(form, 0, tx.id)
    except ClickError as err:
        _keep(session, form, "prepare", err, now)
        return prepare_answer(form, err.code, None, err)


def handle_complete(session: Session, form: Mapping[str, str], *, service_id: int, secret_key: str,
                    now: datetime) -> dict[str, Any]:
    """Answer a Complete (action 1) at `now` (naive UTC)."""
    try:
        req = _checked(form, COMPLETE, service_id, secret_key)
        tx = session.get(ClickTransaction, req.merchant_prepare_id, with_for_update=True)
        if tx is None or tx.click_trans_id != req.click_trans_id or tx.order_id != req.order_id:
            raise ClickError(-6, f"no prepared transaction {req.merchant_prepare_id} for click_trans_id "
                                 f"{req.click_trans_id} and order {form.get('merchant_trans_id')!r}")
        if req.amount_tiyin != tx.amount_tiyin:
            raise ClickError(-2, f"amount {req.amount} is not the prepared {tx.amount_tiyin} tiyin")
        if tx.status != "prepared":
            if (tx.status == "completed") != (req.error >= 0):
                _keep(session, form, "complete", ClickError(
                    0, f"repeated Complete reports error {req.error} for a {tx.status} transaction"), now)
            return complete_answer(form, 0 if tx.status == "completed" else -9, tx.id)
        order = session.get(Order, tx.order_id, with_for_update=True)  # one Complete pays an order
        if req.error < 0:
            tx.status, tx.error_code = "cancelled", req.error
            _record(session, tx, order, now)
            return complete_answer(form, -9, tx.id)
        if order.status == "paid":
            raise ClickError(-4, f"order {order.order_id} is already paid")
        if order.status == "cancelled":
            raise ClickError(-9, f"order {order.order_id} is cancelled")
        tx.status, tx.error_code, tx.completed_at = "completed", req.error, now
        order.status, order.paid_at = "paid", now
        _record(session, tx, order, now)
        return complete_answer(form, 0, tx.id)
    except ClickError as err:
        _keep(session, form, "complete", err, now)
        return complete_answer(form, err.code, None, err)


def prepare_answer(form: Mapping[str, str], code: int, prepare_id: int | None,
                   err: ClickError | None = None) -> dict[str, Any]:
    return {"click_trans_id": _echo_id(form), "merchant_trans_id": form.get("merchant_trans_id"),
            "merchant_prepare_id": prepare_id, "error": code, "error_note": _note(code, err)}


def complete_answer(form: Mapping[str, str], code: int, confirm_id: int | None,
                    err: ClickError | None = None) -> dict[str, Any]:
    return {"click_trans_id": _echo_id(form), "merchant_trans_id": form.get("merchant_trans_id"),
            "merchant_confirm_id": confirm_id, "error": code, "error_note": _note(code, err)}


def failure(form: Mapping[str, str], action: int) -> dict[str, Any]:
    """The answer when our side failed (nothing was committed): -7, so Click does not take the money."""
    answer = prepare_answer if action == PREPARE else complete_answer
    return answer(form, -7, None)


# -- checks --------------------------------------------------------------------------------------------------
def _checked(form: Mapping[str, str], action: int, service_id: int, secret_key: str) -> ClickRequest:
    """Signature first (refusals before it store nothing), then the fields' formats and our service."""
    missing = [name for name in _SIGNED[action] + ("sign_string",) if not isinstance(form.get(name), str)]
    if missing:
        raise ClickError(-8, f"missing {', '.join(missing)}", keep=False)
    expected = sign(form, secret_key, action)
    if not hmac.compare_digest(expected.encode(), form["sign_string"].lower().encode()):
        raise ClickError(-1, "sign_string does not verify", keep=False)

    ids = {}
    for name in ("click_trans_id", "service_id", "click_paydoc_id") + (("merchant_prepare_id",) if action else ()):
        value = form.get(name)
        if not isinstance(value, str) or not _ID.fullmatch(value) or int(value) > INT64_MAX:
            raise ClickError(-8, f"{name}={value!r} is not an id")
        ids[name] = int(value)
    error = form.get("error", "0" if action == PREPARE else None)
    if not isinstance(error, str) or not _ERROR.fullmatch(error) or int(error) > 0:
        raise ClickError(-8, f"error={error!r} is not 0 or a negative code")
    if ids["service_id"] != service_id:
        raise ClickError(-8, f"service_id {ids['service_id']} is not ours ({service_id})")
    if form["action"] != str(action):
        raise ClickError(-3, f"action {form['action']!r} at the {'prepare' if action == PREPARE else 'complete'} "
                             f"endpoint")
    amount = form["amount"]
    tiyin = Decimal(amount) * UZS_PER_TIYIN if _AMOUNT.fullmatch(amount) else None
    if tiyin is None or tiyin != tiyin.to_integral_value() or not 0 < tiyin <= INT64_MAX:
        raise ClickError(-2, f"amount {amount!r} is not a positive whole number of tiyin")
    return ClickRequest(click_trans_id=ids["click_trans_id"], service_id=ids["service_id"],
                        click_paydoc_id=ids["click_paydoc_id"],
                        order_id=parse_order_id(form["merchant_trans_id"]),
                        amount=amount, amount_tiyin=int(tiyin), error=int(error),
                        merchant_prepare_id=ids.get("merchant_prepare_id"))


def _payable_order(session: Session, req: ClickRequest) -> Order:
    order = session.get(Order, req.order_id) if req.order_id is not None else None
    if order is None or order.gateway != "click":
        raise ClickError(-5, f"no Click order {req.order_id}")
    if order.status == "paid":
        raise ClickError(-4, f"order {order.order_id} is already paid")
    if order.status == "cancelled":
        raise ClickError(-9, f"order {order.order_id} is cancelled")
    if req.amount_tiyin != order.amount_tiyin:
        raise ClickError(-2, f"amount {req.amount} is not order {order.order_id}'s {order.amount_tiyin} tiyin")
    return order


# -- records -------------------------------------------------------------------------------------------------
def _record(session: Session, tx: ClickTransaction, order: Order, now: datetime) -> None:
    """One ledger row for the status `tx` just entered."""
    record_event(session, gateway="click", event_key=f"click:{tx.click_trans_id}:{tx.status}",
                 event_type=f"click.{tx.status}", source="webhook", occurred_at=now, received_at=now,
                 payload=ledger_payload(tx, order))


def ledger_payload(tx: ClickTransaction, order: Order) -> dict[str, Any]:
    """The record as it became, in the shape docs/payments.md promises the warehouse."""
    return {"click_trans_id": tx.click_trans_id, "click_paydoc_id": tx.click_paydoc_id, "service_id": tx.service_id,
            "merchant_prepare_id": tx.id, "order_id": order.order_id, "user_id": order.user_id,
            "plan_code": order.plan_code, "amount": tx.amount, "amount_tiyin": tx.amount_tiyin,
            "currency": CURRENCY, "status": tx.status, "error_code": tx.error_code,
            "prepared_at": iso_utc(tx.prepared_at), "completed_at": iso_utc(tx.completed_at)}


def iso_utc(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds") + "Z"


def _keep(session: Session, form: Mapping[str, str], step: str, err: ClickError, now: datetime) -> None:
    if err.keep:
        external_id = form.get("click_trans_id")
        quarantine(session, gateway="click", reason=f"{step}: {err.detail}", payload=dict(form),
                   external_id=external_id[:160] if isinstance(external_id, str) else None, received_at=now)


def _echo_id(form: Mapping[str, str]) -> int | str | None:
    value = form.get("click_trans_id")
    return int(value) if isinstance(value, str) and _ID.fullmatch(value) else value


def _note(code: int, err: ClickError | None) -> str:
    # Only a refusal that stored nothing says why: Click's support sees it, and there is no quarantine row to read.
    if err is not None and code == -8 and not err.keep:
        return f"{NOTES[code]}: {err.detail}"
    return NOTES[code]
