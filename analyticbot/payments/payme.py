"""Payme (Paycom) merchant API: the JSON-RPC protocol Payme calls to check, create, perform and cancel a payment.

One entry point, `handle_payme`, takes the request as received and returns the JSON-RPC answer; it never raises
for anything the caller sent. Everything runs in the caller's transaction, so a state change, its ledger row and
the answer commit together (or, on a crash, not at all and Payme retries).

Decisions the protocol leaves to the merchant:

- Authentication comes first and a refused caller writes nothing, not even to the quarantine: whoever does not
  hold the merchant key must not be able to fill our tables.
- The account is `account.order_id` (string or number), an `orders` row with gateway `payme`. Account errors
  carry `"data": "order_id"`: -31050 no such Payme order, -31051 already paid, -31052 another transaction of
  this order is in state 1 and not timed out, -31053 order cancelled (refunded).
- Orders are one-off, so a transaction cancelled after perform (state -2) is a refund and the order becomes
  `cancelled`; -31007 ("cannot cancel, the order is delivered") is therefore never answered.
- The 12-hour timeout counts from our `create_time`. A state-1 transaction past it is cancelled with reason 4
  whenever we meet it: PerformTransaction or a repeated CreateTransaction on it (both then answer -31008), or a
  CreateTransaction of another transaction for the same order (which then proceeds). A new transaction whose
  Payme `time` is already more than 12 hours old is refused with -31008.
- A repeated CreateTransaction answers as the first time while the transaction is in state 1; once it was
  performed or cancelled, the answer is -31008, as Payme's documentation asks.
- GetStatement selects by Payme's `time` (the time Payme created the transaction on its side, which Payme's
  documentation names as the statement's criterion), both bounds included, in that order.
- The quarantine keeps what carries money and fails: refused CreateTransaction of a new transaction, Perform or
  Cancel of a transaction we do not know, and requests we cannot read (-32700, -32600, -32601).
  CheckPerformTransaction and CheckTransaction refusals are ordinary protocol answers and are not kept.
"""

from __future__ import annotations

import base64
import hmac
import json
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from analyticbot.appstore.models import Order, PaymeTransaction
from analyticbot.payments.ledger import quarantine, record_event
from analyticbot.payments.orders import INT64_MAX, parse_order_id

LOGIN = "Paycom"
TIMEOUT_MS = 43_200_000  # 12 hours: Payme's limit between CreateTransaction and PerformTransaction
REASON_TIMEOUT = 4
ACCOUNT_FIELD = "order_id"
CURRENCY = "UZS"
SMALLINT_MAX = 2**15 - 1

# Payme shows `message` to the payer in their language.
MESSAGES: dict[int, tuple[str, str, str]] = {  # code: (ru, uz, en)
    -32700: ("Ошибка разбора JSON", "JSON tahlilida xatolik", "Parse error: the body is not JSON"),
    -32600: ("Неверный запрос", "Noto'g'ri so'rov", "Invalid request"),
    -32601: ("Метод не найден", "Usul topilmadi", "Method not found"),
    -32504: ("Недостаточно привилегий для выполнения метода", "Usulni bajarish uchun huquqlar yetarli emas",
             "Insufficient privileges to perform this method"),
    -32400: ("Системная ошибка", "Tizim xatosi", "System error"),
    -31001: ("Неверная сумма", "Noto'g'ri summa", "Wrong amount"),
    -31003: ("Транзакция не найдена", "Tranzaksiya topilmadi", "Transaction not found"),
    -31008: ("Невозможно выполнить операцию", "Operatsiyani bajarib bo'lmaydi", "Unable to perform the operation"),
    -31050: ("Заказ не найден", "Buyurtma topilmadi", "Order not found"),
    -31051: ("Заказ уже оплачен", "Buyurtma allaqachon to'langan", "Order is already paid"),
    -31052: ("Заказ оплачивается другой транзакцией", "Buyurtma boshqa tranzaksiya orqali to'lanmoqda",
             "Order is being paid by another transaction"),
    -31053: ("Заказ отменён", "Buyurtma bekor qilingan", "Order is cancelled"),
}
_UNREADABLE = (-32700, -32600, -32601)


class PaymeError(Exception):
    """A protocol error answer. `detail` is for our logs and the quarantine, never shown to the payer."""

    def __init__(self, code: int, detail: str, *, data: str | None = None, keep: bool | None = None):
        super().__init__(detail)
        self.code, self.detail, self.data = code, detail, data
        self.keep = code in _UNREADABLE if keep is None else keep  # keep = write it to the quarantine


# -- authentication ------------------------------------------------------------------------------------------
def basic_auth_header(merchant_key: str) -> str:
    """The `Authorization` header Payme sends (login `Paycom`, password = the merchant key)."""
    return "Basic " + base64.b64encode(f"{LOGIN}:{merchant_key}".encode()).decode("ascii")


def authorized(authorization: str | None, merchant_key: str) -> bool:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic" or not merchant_key:
        return False
    try:
        login, sep, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
    except ValueError:  # not base64, not ASCII, or not UTF-8 inside
        return False
    return bool(sep) and login == LOGIN and hmac.compare_digest(password.encode(), merchant_key.encode())


# -- the entry point -----------------------------------------------------------------------------------------
def handle_payme(session: Session, body: bytes, authorization: str | None, merchant_key: str,
                 now_ms: int) -> dict[str, Any]:
    """Answer one Payme request (the raw body and `Authorization` header) at `now_ms`, Payme's clock unit."""
    if not authorized(authorization, merchant_key):
        return error_answer(request_id(body), PaymeError(-32504, "bad or missing Basic auth"))
    rpc_id, method_name, params = None, None, {}
    try:
        request = _load(body)
        rpc_id = request.get("id")
        method_name, params = _method_and_params(request)
        method = METHODS.get(method_name)
        if method is None:
            raise PaymeError(-32601, f"unknown method {method_name!r}")
        result = method(session, params, now_ms)
    except PaymeError as err:
        if err.keep:
            payme_id = params.get("id")
            quarantine(session, gateway="payme", reason=f"{method_name or 'request'}: {err.detail}",
                       payload=body, external_id=payme_id[:160] if isinstance(payme_id, str) else None,
                       received_at=ms_to_datetime(now_ms))
        return error_answer(rpc_id, err)
    return {"jsonrpc": "2.0", "id": rpc_id, "result": result}


def error_answer(rpc_id: Any, err: PaymeError) -> dict[str, Any]:
    ru, uz, en = MESSAGES[err.code]
    error: dict[str, Any] = {"code": err.code, "message": {"ru": ru, "uz": uz, "en": en}}
    if err.data is not None:
        error["data"] = err.data
    return {"jsonrpc": "2.0", "id": rpc_id, "error": error}


def system_error(body: bytes) -> dict[str, Any]:
    """The answer when our side failed (nothing was committed): Payme retries a -32400."""
    return error_answer(request_id(body), PaymeError(-32400, "system error"))


def request_id(body: bytes) -> Any:
    """The JSON-RPC id, if the body has one, for answers given before (or without) reading the request."""
    try:
        request = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return request.get("id") if isinstance(request, dict) else None


def _load(body: bytes) -> dict[str, Any]:
    try:
        request = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise PaymeError(-32700, f"body is not JSON: {exc}") from None
    if not isinstance(request, dict):
        raise PaymeError(-32600, "body is not a JSON object")
    return request


def _method_and_params(request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    method, params = request.get("method"), request.get("params")
    if not isinstance(method, str) or not isinstance(params, dict):
        raise PaymeError(-32600, "request needs a string `method` and an object `params`")
    return method, params


# -- the six methods -----------------------------------------------------------------------------------------
def check_perform_transaction(session: Session, params: dict[str, Any], now_ms: int) -> dict[str, Any]:
    order = _payable_order(session, params, _amount(params))
    if any(not _expired(tx, now_ms) for tx in _open_transactions(session, order)):
        raise PaymeError(-31052, f"order {order.order_id} has a transaction in state 1", data=ACCOUNT_FIELD)
    return {"allow": True}


def create_transaction(session: Session, params: dict[str, Any], now_ms: int) -> dict[str, Any]:
    payme_id = _payme_id(params)
    tx = _find(session, payme_id)
    if tx is not None:
        if tx.state != 1:
            raise PaymeError(-31008, f"transaction {payme_id} is in state {tx.state}")
        if _expired(tx, now_ms):
            _cancel(session, tx, _order_of(session, tx), now_ms, REASON_TIMEOUT)
            raise PaymeError(-31008, f"transaction {payme_id} timed out")
        return _created(tx)

    try:
        payme_time, amount = _int(params, "time"), _amount(params)
        order = _payable_order(session, params, amount, lock=True)
        for other in _open_transactions(session, order):
            if other.payme_id == payme_id:  # a concurrent duplicate committed while we waited for the order lock
                return _created(other)
            if not _expired(other, now_ms):
                raise PaymeError(-31052, f"order {order.order_id} is being paid by transaction {other.payme_id}",
                                 data=ACCOUNT_FIELD)
            _cancel(session, other, order, now_ms, REASON_TIMEOUT)
        if now_ms - payme_time > TIMEOUT_MS:
            raise PaymeError(-31008, f"Payme time {payme_time} is more than 12 hours old")
    except PaymeError as err:
        err.keep = True  # money was on its way to an order we cannot take it for
        raise
    tx = PaymeTransaction(payme_id=payme_id, order_id=order.order_id, amount_tiyin=amount, payme_time=payme_time,
                          create_time=now_ms, perform_time=0, cancel_time=0, state=1, reason=None)
    session.add(tx)
    session.flush()  # assigns our transaction id
    _record(session, tx, order)
    return _created(tx)


def perform_transaction(session: Session, params: dict[str, Any], now_ms: int) -> dict[str, Any]:
    tx = _transaction(session, params, keep=True)
    if tx.state == 2:
        return _performed(tx)
    if tx.state != 1:
        raise PaymeError(-31008, f"transaction {tx.payme_id} is in state {tx.state}")
    order = _order_of(session, tx)
    if _expired(tx, now_ms):
        _cancel(session, tx, order, now_ms, REASON_TIMEOUT)
        raise PaymeError(-31008, f"transaction {tx.payme_id} timed out")
    tx.state, tx.perform_time = 2, now_ms
    order.status, order.paid_at = "paid", ms_to_datetime(now_ms)
    _record(session, tx, order)
    return _performed(tx)


def cancel_transaction(session: Session, params: dict[str, Any], now_ms: int) -> dict[str, Any]:
    tx = _transaction(session, params, keep=True)
    reason = _int(params, "reason", low=1, high=SMALLINT_MAX)
    if tx.state in (1, 2):
        _cancel(session, tx, _order_of(session, tx), now_ms, reason)
    return {"transaction": str(tx.id), "cancel_time": tx.cancel_time, "state": tx.state}


def check_transaction(session: Session, params: dict[str, Any], now_ms: int) -> dict[str, Any]:
    tx = _transaction(session, params, keep=False, lock=False)
    return {"create_time": tx.create_time, "perform_time": tx.perform_time, "cancel_time": tx.cancel_time,
            "transaction": str(tx.id), "state": tx.state, "reason": tx.reason}


def get_statement(session: Session, params: dict[str, Any], now_ms: int) -> dict[str, Any]:
    start, end = _int(params, "from"), _int(params, "to")
    rows = session.scalars(select(PaymeTransaction)
                           .where(PaymeTransaction.payme_time.between(start, end))
                           .order_by(PaymeTransaction.payme_time, PaymeTransaction.id))
    return {"transactions": [
        {"id": tx.payme_id, "time": tx.payme_time, "amount": tx.amount_tiyin,
         "account": {ACCOUNT_FIELD: str(tx.order_id)}, "create_time": tx.create_time,
         "perform_time": tx.perform_time, "cancel_time": tx.cancel_time, "transaction": str(tx.id),
         "state": tx.state, "reason": tx.reason, "receivers": None}
        for tx in rows]}


METHODS: dict[str, Callable[[Session, dict[str, Any], int], dict[str, Any]]] = {
    "CheckPerformTransaction": check_perform_transaction,
    "CreateTransaction": create_transaction,
    "PerformTransaction": perform_transaction,
    "CancelTransaction": cancel_transaction,
    "CheckTransaction": check_transaction,
    "GetStatement": get_statement,
}


# -- state changes -------------------------------------------------------------------------------------------
def _cancel(session: Session, tx: PaymeTransaction, order: Order, now_ms: int, reason: int) -> None:
    """State 1 -> -1 (the order can be paid again); 2 -> -2, a refund (the order is cancelled)."""
    if tx.state == 1:
        tx.state, order.status = -1, "pending"
    else:
        tx.state, order.status = -2, "cancelled"
    tx.cancel_time, tx.reason = now_ms, reason
    _record(session, tx, order)


_EVENTS = {1: "payme.created", 2: "payme.performed", -1: "payme.cancelled", -2: "payme.cancelled"}


def _record(session: Session, tx: PaymeTransaction, order: Order) -> None:
    """One ledger row for the state `tx` just entered, dated when it entered it."""
    at = {1: tx.create_time, 2: tx.perform_time}.get(tx.state, tx.cancel_time)
    record_event(session, gateway="payme", event_key=f"payme:{tx.payme_id}:{tx.state}",
                 event_type=_EVENTS[tx.state], source="webhook", occurred_at=ms_to_datetime(at),
                 received_at=ms_to_datetime(at), payload=ledger_payload(tx, order))


def ledger_payload(tx: PaymeTransaction, order: Order) -> dict[str, Any]:
    """The transaction as it became, in the shape docs/payments.md promises the warehouse."""
    return {"payme_id": tx.payme_id, "order_id": order.order_id, "user_id": order.user_id,
            "plan_code": order.plan_code, "amount_tiyin": tx.amount_tiyin, "currency": CURRENCY,
            "state": tx.state, "reason": tx.reason, "payme_time": tx.payme_time, "create_time": tx.create_time,
            "perform_time": tx.perform_time, "cancel_time": tx.cancel_time}


def _created(tx: PaymeTransaction) -> dict[str, Any]:
    return {"create_time": tx.create_time, "transaction": str(tx.id), "state": tx.state}


def _performed(tx: PaymeTransaction) -> dict[str, Any]:
    return {"transaction": str(tx.id), "perform_time": tx.perform_time, "state": tx.state}


# -- lookups and checks --------------------------------------------------------------------------------------
def _payable_order(session: Session, params: dict[str, Any], amount: int, *, lock: bool = False) -> Order:
    account = params.get("account")
    if not isinstance(account, dict):
        raise PaymeError(-32600, "params.account is not an object", data="account")
    raw = account.get(ACCOUNT_FIELD)
    order_id = parse_order_id(raw)
    order = (session.get(Order, order_id, with_for_update=lock)  # FOR UPDATE: one open transaction per order
             if order_id is not None else None)
    if order is None or order.gateway != "payme":
        raise PaymeError(-31050, f"no Payme order {raw!r}", data=ACCOUNT_FIELD)
    if order.status == "paid":
        raise PaymeError(-31051, f"order {order.order_id} is already paid", data=ACCOUNT_FIELD)
    if order.status == "cancelled":
        raise PaymeError(-31053, f"order {order.order_id} is cancelled", data=ACCOUNT_FIELD)
    if amount != order.amount_tiyin:
        raise PaymeError(-31001, f"amount {amount} is not order {order.order_id}'s {order.amount_tiyin} tiyin",
                         data="amount")
    return order


def _open_transactions(session: Session, order: Order) -> list[PaymeTransaction]:
    return list(session.scalars(select(PaymeTransaction).filter_by(order_id=order.order_id, state=1)
                                .order_by(PaymeTransaction.id)))


def _transaction(session: Session, params: dict[str, Any], *, keep: bool, lock: bool = True) -> PaymeTransaction:
    payme_id = _payme_id(params)
    tx = _find(session, payme_id, lock=lock)
    if tx is None:
        raise PaymeError(-31003, f"no transaction {payme_id}", keep=keep)
    return tx


def _find(session: Session, payme_id: str, *, lock: bool = True) -> PaymeTransaction | None:
    query = select(PaymeTransaction).filter_by(payme_id=payme_id)
    return session.scalars(query.with_for_update() if lock else query).first()


def _order_of(session: Session, tx: PaymeTransaction) -> Order:
    return session.get(Order, tx.order_id, with_for_update=True)


def _expired(tx: PaymeTransaction, now_ms: int) -> bool:
    return now_ms - tx.create_time > TIMEOUT_MS


def _payme_id(params: dict[str, Any]) -> str:
    value = params.get("id")
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise PaymeError(-32600, "params.id is not a Payme transaction id", data="id")
    return value


def _int(params: dict[str, Any], name: str, *, low: int = 0, high: int = INT64_MAX) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PaymeError(-32600, f"params.{name}={value!r} is not a whole number in range", data=name)
    return value


def _amount(params: dict[str, Any]) -> int:
    """Tiyin. JSON may carry a whole number as 11500000.0; a fraction of a tiyin is a wrong amount."""
    value = params.get("amount")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PaymeError(-32600, f"params.amount={value!r} is not a number", data="amount")
    if isinstance(value, float) and not value.is_integer():
        raise PaymeError(-31001, f"amount {value!r} is not a whole number of tiyin", data="amount")
    if not 0 < value <= INT64_MAX:
        raise PaymeError(-31001, f"amount {value!r} is out of range", data="amount")
    return int(value)


def ms_to_datetime(ms: int) -> datetime:
    """Payme's milliseconds since the epoch as the naive UTC datetime the stores keep."""
    return datetime(1970, 1, 1) + timedelta(milliseconds=ms)
