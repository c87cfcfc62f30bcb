"""Payme merchant JSON-RPC: the sandbox sequence on SQLite and PostgreSQL, every refusal, and the HTTP route."""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import time
from datetime import datetime
from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from analyticbot.appstore.db import AppStore, migrate
from analyticbot.appstore.models import Order, PaymentQuarantine, PaymeTransaction, User
from analyticbot.payments.orders import create_order
from analyticbot.payments.payme import TIMEOUT_MS, basic_auth_header, handle_payme, ms_to_datetime
from analyticbot.settings import get_settings
from tests.payments.store_rows import ledger, quarantined

KEY = "sandbox-merchant-key"
USER = 5001
AMOUNT = 11_500_000  # pro_month, tiyin
T0 = 1_767_225_600_000  # 2026-01-01 00:00:00 UTC, ms
PID = "5305e3bab097f420a62ced0b"


# -- fixtures and helpers ------------------------------------------------------------------------------------
def _store() -> AppStore:
    settings = get_settings()
    migrate(settings)
    store = AppStore(settings)
    with store.transaction() as s:
        s.add(User(user_id=USER, created_at=datetime(2025, 12, 1)))
    return store


@pytest.fixture
def store(data_dir) -> Iterator[AppStore]:
    store = _store()
    yield store
    store.dispose()


@pytest.fixture
def pg_store(data_dir, pg_url, monkeypatch) -> Iterator[AppStore]:
    monkeypatch.setenv("ANALYTICBOT_APP_DB_URL", pg_url)
    store = _store()
    yield store
    store.dispose()


def new_order(store: AppStore, gateway: str = "payme", plan_code: str = "pro_month") -> int:
    with store.transaction() as s:
        return create_order(s, USER, plan_code, gateway, now=datetime(2025, 12, 31)).order_id


class Payme:
    """Payme's side of the conversation, against the core function in one store transaction per call."""

    def __init__(self, store: AppStore):
        self.store, self.ids = store, itertools.count(1)

    def raw(self, body: bytes, at: int, authorization: str | None = basic_auth_header(KEY)) -> dict[str, Any]:
        with self.store.transaction() as s:
            return handle_payme(s, body, authorization, KEY, at)

    def call(self, method: str, params: dict[str, Any], at: int, **kw) -> dict[str, Any]:
        rpc_id = next(self.ids)
        answer = self.raw(json.dumps({"jsonrpc": "2.0", "id": rpc_id, "method": method, "params": params}).encode(),
                          at, **kw)
        assert answer["id"] == rpc_id and answer["jsonrpc"] == "2.0"
        return answer

    def result(self, method: str, params: dict[str, Any], at: int) -> dict[str, Any]:
        answer = self.call(method, params, at)
        assert "error" not in answer, answer
        return answer["result"]

    def error(self, method: str, params: dict[str, Any], at: int, **kw) -> dict[str, Any]:
        answer = self.call(method, params, at, **kw)
        assert "result" not in answer, answer
        assert set(answer["error"]["message"]) == {"ru", "uz", "en"}
        return answer["error"]


def create_params(order_id: int, payme_id: str = PID, payme_time: int = T0 - 50, amount: int = AMOUNT) -> dict:
    return {"id": payme_id, "time": payme_time, "amount": amount, "account": {"order_id": str(order_id)}}


def payme_rows(store: AppStore) -> list[tuple[str, int, int | None]]:
    with store.transaction() as s:
        return [(t.payme_id, t.state, t.reason)
                for t in s.scalars(select(PaymeTransaction).order_by(PaymeTransaction.id))]


def order_status(store: AppStore, order_id: int) -> tuple[str, datetime | None]:
    with store.transaction() as s:
        order = s.get(Order, order_id)
        return order.status, order.paid_at


def payload(order_id: int, state: int, reason: int | None = None, perform_time: int = 0,
            cancel_time: int = 0) -> dict:
    return {"payme_id": PID, "order_id": order_id, "user_id": USER, "plan_code": "pro_month",
            "amount_tiyin": AMOUNT, "currency": "UZS", "state": state, "reason": reason, "payme_time": T0 - 50,
            "create_time": T0, "perform_time": perform_time, "cancel_time": cancel_time}


# -- the sandbox sequence ------------------------------------------------------------------------------------
def sandbox_sequence(store: AppStore) -> None:
    order_id = new_order(store)
    payme = Payme(store)
    account = {"order_id": order_id}  # a number here, a string in create_params: both name the order
    assert payme.result("CheckPerformTransaction", {"amount": AMOUNT, "account": account}, T0 - 100) == {
        "allow": True}

    created = payme.result("CreateTransaction", create_params(order_id), T0)
    tx = created["transaction"]
    assert created == {"create_time": T0, "transaction": tx, "state": 1}
    assert payme.result("CreateTransaction", create_params(order_id), T0 + 5_000) == created
    assert payme.result("CheckTransaction", {"id": PID}, T0 + 6_000) == {
        "create_time": T0, "perform_time": 0, "cancel_time": 0, "transaction": tx, "state": 1, "reason": None}

    perform_at = T0 + 60_000
    performed = payme.result("PerformTransaction", {"id": PID}, perform_at)
    assert performed == {"transaction": tx, "perform_time": perform_at, "state": 2}
    assert payme.result("PerformTransaction", {"id": PID}, perform_at + 1_000) == performed
    assert order_status(store, order_id) == ("paid", ms_to_datetime(perform_at))
    paid = payme.error("CheckPerformTransaction", {"amount": AMOUNT, "account": account}, perform_at + 2_000)
    assert (paid["code"], paid["data"]) == (-31051, "order_id")

    cancel_at = T0 + 3_600_000
    cancelled = payme.result("CancelTransaction", {"id": PID, "reason": 5}, cancel_at)
    assert cancelled == {"transaction": tx, "cancel_time": cancel_at, "state": -2}
    assert payme.result("CancelTransaction", {"id": PID, "reason": 5}, cancel_at + 1_000) == cancelled
    assert payme.result("CheckTransaction", {"id": PID}, cancel_at + 2_000) == {
        "create_time": T0, "perform_time": perform_at, "cancel_time": cancel_at, "transaction": tx, "state": -2,
        "reason": 5}
    assert order_status(store, order_id)[0] == "cancelled"

    assert payme.result("GetStatement", {"from": T0 - 50, "to": T0 - 50}, cancel_at) == {"transactions": [{
        "id": PID, "time": T0 - 50, "amount": AMOUNT, "account": {"order_id": str(order_id)}, "create_time": T0,
        "perform_time": perform_at, "cancel_time": cancel_at, "transaction": tx, "state": -2, "reason": 5,
        "receivers": None}]}

    # One ledger row per state change; the repeats above wrote nothing.
    assert ledger(store) == [
        (f"payme:{PID}:1", "payme.created", ms_to_datetime(T0), payload(order_id, 1)),
        (f"payme:{PID}:2", "payme.performed", ms_to_datetime(perform_at),
         payload(order_id, 2, perform_time=perform_at)),
        (f"payme:{PID}:-2", "payme.cancelled", ms_to_datetime(cancel_at),
         payload(order_id, -2, 5, perform_time=perform_at, cancel_time=cancel_at)),
    ]
    assert quarantined(store) == []


def test_sandbox_sequence_on_sqlite(store):
    sandbox_sequence(store)


def test_sandbox_sequence_on_postgresql(pg_store):
    sandbox_sequence(pg_store)


# -- refusals ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("authorization", [
    None,
    basic_auth_header("not-the-key"),
    "Basic " + base64.b64encode(f"Uzcard:{KEY}".encode()).decode(),
    f"Bearer {KEY}",
    "Basic !!!not-base64",
    "Basic ünïcode",
    "Basic " + base64.b64encode(b"Paycom:\xff").decode(),
])
def test_bad_auth_is_refused_and_stores_nothing(store, authorization):
    order_id = new_order(store)
    error = Payme(store).error("CreateTransaction", create_params(order_id), T0, authorization=authorization)
    assert error["code"] == -32504
    # Not even a garbage body from an unauthenticated caller reaches the quarantine.
    assert Payme(store).raw(b"{oops", T0, authorization)["error"]["code"] == -32504
    assert (payme_rows(store), ledger(store), quarantined(store)) == ([], [], [])


@pytest.mark.parametrize("body, code, reason", [
    (b"{not json", -32700, "request: body is not JSON"),
    (b"\xff\xfe", -32700, "request: body is not JSON"),
    (b"[1, 2]", -32600, "request: body is not a JSON object"),
    (b'{"id": 7, "params": {}}', -32600, "request: request needs a string `method` and an object `params`"),
    (b'{"id": 7, "method": "CheckTransaction", "params": []}', -32600,
     "request: request needs a string `method` and an object `params`"),
    (b'{"id": 7, "method": "ChangePassword", "params": {"password": "x"}}', -32601,
     "ChangePassword: unknown method 'ChangePassword'"),
    (b'{"id": 7, "method": "CheckTransaction", "params": {"id": 42}}', -32600,
     "CheckTransaction: params.id is not a Payme transaction id"),
])
def test_unreadable_requests_are_answered_and_quarantined(store, body, code, reason):
    answer = Payme(store).raw(body, T0)
    assert answer["error"]["code"] == code
    assert answer["id"] == (7 if body.startswith(b'{"id": 7') else None)
    [(gateway, external_id, kept_reason)] = quarantined(store)
    assert (gateway, external_id) == ("payme", None)
    assert kept_reason.startswith(reason)  # a parse error goes on with the parser's own words
    with store.transaction() as s:
        assert s.scalars(select(PaymentQuarantine.payload)).one() == body.decode("utf-8", errors="replace")


def test_wrong_amount_is_refused_and_quarantined_only_when_money_moves(store):
    order_id = new_order(store)
    payme = Payme(store)
    check = payme.error("CheckPerformTransaction", {"amount": AMOUNT - 1, "account": {"order_id": order_id}}, T0)
    assert (check["code"], check["data"]) == (-31001, "amount")
    assert quarantined(store) == []  # a question, not a payment

    assert payme.error("CreateTransaction", create_params(order_id, amount=AMOUNT + 100), T0)["code"] == -31001
    fraction = dict(create_params(order_id), amount=AMOUNT + 0.5)
    assert payme.error("CreateTransaction", fraction, T0)["code"] == -31001
    assert quarantined(store) == [
        ("payme", PID, f"CreateTransaction: amount {AMOUNT + 100} is not order {order_id}'s {AMOUNT} tiyin"),
        ("payme", PID, f"CreateTransaction: amount {AMOUNT + 0.5!r} is not a whole number of tiyin"),
    ]
    assert (payme_rows(store), ledger(store)) == ([], [])
    # A whole number written as a float is the right amount.
    assert payme.result("CreateTransaction", dict(create_params(order_id), amount=float(AMOUNT)), T0)["state"] == 1


@pytest.mark.parametrize("account", [{"order_id": "999999"}, {"order_id": "abc"}, {"order_id": None}, {},
                                     {"order_id": 2**70}, "click"])
def test_unknown_order_is_an_account_error(store, account):
    click_order = new_order(store, gateway="click")
    if account == "click":  # an order that Click, not Payme, is to pay
        account = {"order_id": click_order}
    payme = Payme(store)
    check = payme.error("CheckPerformTransaction", {"amount": AMOUNT, "account": account}, T0)
    assert (check["code"], check["data"]) == (-31050, "order_id")
    create = payme.error("CreateTransaction", {"id": PID, "time": T0, "amount": AMOUNT, "account": account}, T0)
    assert (create["code"], create["data"]) == (-31050, "order_id")
    assert quarantined(store) == [
        ("payme", PID, f"CreateTransaction: no Payme order {account.get('order_id')!r}")]
    assert (payme_rows(store), ledger(store)) == ([], [])


def test_missing_account_object_is_an_invalid_request(store):
    error = Payme(store).error("CreateTransaction", {"id": PID, "time": T0, "amount": AMOUNT}, T0)
    assert (error["code"], error["data"]) == (-32600, "account")


def test_unknown_transaction(store):
    payme = Payme(store)
    assert payme.error("CheckTransaction", {"id": PID}, T0)["code"] == -31003
    assert payme.error("PerformTransaction", {"id": PID}, T0)["code"] == -31003
    assert payme.error("CancelTransaction", {"id": PID, "reason": 1}, T0)["code"] == -31003
    assert payme.error("PerformTransaction", {"id": PID}, T0 + 1)["code"] == -31003  # kept once
    assert quarantined(store) == [("payme", PID, f"PerformTransaction: no transaction {PID}"),
                                  ("payme", PID, f"CancelTransaction: no transaction {PID}")]


# -- the 12-hour timeout -------------------------------------------------------------------------------------
def test_perform_after_twelve_hours_cancels_with_reason_4(store):
    order_id = new_order(store)
    payme = Payme(store)
    tx = payme.result("CreateTransaction", create_params(order_id), T0)["transaction"]
    late = T0 + TIMEOUT_MS + 1
    assert payme.error("PerformTransaction", {"id": PID}, late)["code"] == -31008
    assert payme.result("CheckTransaction", {"id": PID}, late + 1) == {
        "create_time": T0, "perform_time": 0, "cancel_time": late, "transaction": tx, "state": -1, "reason": 4}
    # Repeats: the same refusal, Payme's own cancel gets the first cancel back, nothing new is written.
    assert payme.error("PerformTransaction", {"id": PID}, late + 2)["code"] == -31008
    assert payme.error("CreateTransaction", create_params(order_id), late + 3)["code"] == -31008
    assert payme.result("CancelTransaction", {"id": PID, "reason": 4}, late + 4) == {
        "transaction": tx, "cancel_time": late, "state": -1}
    assert ledger(store) == [
        (f"payme:{PID}:1", "payme.created", ms_to_datetime(T0), payload(order_id, 1)),
        (f"payme:{PID}:-1", "payme.cancelled", ms_to_datetime(late), payload(order_id, -1, 4, cancel_time=late)),
    ]
    assert order_status(store, order_id) == ("pending", None)
    assert quarantined(store) == []


def test_perform_at_exactly_twelve_hours_succeeds(store):
    order_id = new_order(store)
    payme = Payme(store)
    payme.result("CreateTransaction", create_params(order_id), T0)
    assert payme.result("PerformTransaction", {"id": PID}, T0 + TIMEOUT_MS)["state"] == 2


def test_repeated_create_after_twelve_hours_cancels_with_reason_4(store):
    order_id = new_order(store)
    payme = Payme(store)
    payme.result("CreateTransaction", create_params(order_id), T0)
    assert payme.error("CreateTransaction", create_params(order_id), T0 + TIMEOUT_MS + 1)["code"] == -31008
    assert payme_rows(store) == [(PID, -1, 4)]
    assert [key for key, *_ in ledger(store)] == [f"payme:{PID}:1", f"payme:{PID}:-1"]


def test_new_transaction_with_a_stale_payme_time_is_refused(store):
    order_id = new_order(store)
    error = Payme(store).error("CreateTransaction", create_params(order_id, payme_time=T0 - TIMEOUT_MS - 1), T0)
    assert error["code"] == -31008
    assert payme_rows(store) == []
    assert [r for _, _, r in quarantined(store)] == [
        f"CreateTransaction: Payme time {T0 - TIMEOUT_MS - 1} is more than 12 hours old"]


# -- one order, several transactions -------------------------------------------------------------------------
def test_second_transaction_for_an_order_is_refused_until_the_first_ends(store):
    order_id = new_order(store)
    payme = Payme(store)
    payme.result("CreateTransaction", create_params(order_id), T0)
    other = payme.error("CreateTransaction", create_params(order_id, payme_id="B" * 24), T0 + 1)
    assert (other["code"], other["data"]) == (-31052, "order_id")
    check = payme.error("CheckPerformTransaction", {"amount": AMOUNT, "account": {"order_id": order_id}}, T0 + 1)
    assert check["code"] == -31052

    payme.result("PerformTransaction", {"id": PID}, T0 + 2)
    assert payme.error("CreateTransaction", create_params(order_id, payme_id="C" * 24), T0 + 3)["code"] == -31051
    payme.result("CancelTransaction", {"id": PID, "reason": 5}, T0 + 4)
    assert payme.error("CreateTransaction", create_params(order_id, payme_id="D" * 24), T0 + 5)["code"] == -31053

    assert payme_rows(store) == [(PID, -2, 5)]
    assert quarantined(store) == [
        ("payme", "B" * 24, f"CreateTransaction: order {order_id} is being paid by transaction {PID}"),
        ("payme", "C" * 24, f"CreateTransaction: order {order_id} is already paid"),
        ("payme", "D" * 24, f"CreateTransaction: order {order_id} is cancelled"),
    ]


def test_cancel_before_perform_frees_the_order(store):
    order_id = new_order(store)
    payme = Payme(store)
    tx = payme.result("CreateTransaction", create_params(order_id), T0)["transaction"]
    assert payme.result("CancelTransaction", {"id": PID, "reason": 3}, T0 + 10) == {
        "transaction": tx, "cancel_time": T0 + 10, "state": -1}
    assert payme.error("PerformTransaction", {"id": PID}, T0 + 20)["code"] == -31008
    assert order_status(store, order_id) == ("pending", None)
    second = payme.result("CreateTransaction", create_params(order_id, payme_id="B" * 24), T0 + 30)
    assert second["state"] == 1 and second["transaction"] != tx
    assert [key for key, *_ in ledger(store)] == [f"payme:{PID}:1", f"payme:{PID}:-1", f"payme:{'B' * 24}:1"]


def test_a_timed_out_open_transaction_does_not_block_a_new_one(store):
    order_id = new_order(store)
    payme = Payme(store)
    payme.result("CreateTransaction", create_params(order_id), T0)
    later = T0 + TIMEOUT_MS + 1
    payme.result("CreateTransaction", create_params(order_id, payme_id="B" * 24, payme_time=later), later)
    assert payme_rows(store) == [(PID, -1, 4), ("B" * 24, 1, None)]


def test_cancel_needs_a_reason(store):
    order_id = new_order(store)
    payme = Payme(store)
    payme.result("CreateTransaction", create_params(order_id), T0)
    error = payme.error("CancelTransaction", {"id": PID}, T0 + 1)
    assert (error["code"], error["data"]) == (-32600, "reason")
    assert payme_rows(store) == [(PID, 1, None)]


# -- statement -----------------------------------------------------------------------------------------------
def test_get_statement_selects_by_payme_time_both_bounds_included(store):
    payme = Payme(store)
    for n, payme_id in enumerate(["A" * 24, "B" * 24, "C" * 24]):
        payme.result("CreateTransaction", create_params(new_order(store), payme_id, payme_time=T0 + 10 * n), T0 + 100)
    payme.result("PerformTransaction", {"id": "A" * 24}, T0 + 200)

    def ids(start: int, end: int) -> list[str]:
        rows = payme.result("GetStatement", {"from": start, "to": end}, T0 + 300)["transactions"]
        return [row["id"] for row in rows]

    assert ids(T0, T0 + 10) == ["A" * 24, "B" * 24]
    assert ids(T0 + 11, T0 + 20) == ["C" * 24]
    assert ids(T0 + 21, T0 + 99) == []
    [first] = payme.result("GetStatement", {"from": T0, "to": T0}, T0 + 300)["transactions"]
    assert set(first) == {"id", "time", "amount", "account", "create_time", "perform_time", "cancel_time",
                          "transaction", "state", "reason", "receivers"}
    assert (first["state"], first["perform_time"], first["create_time"]) == (2, T0 + 200, T0 + 100)
    assert payme.error("GetStatement", {"from": T0}, T0)["code"] == -32600


# -- HTTP ----------------------------------------------------------------------------------------------------
@pytest.fixture
def client(store, monkeypatch) -> Iterator[TestClient]:
    monkeypatch.setenv("PAYME_MERCHANT_KEY", KEY)
    monkeypatch.setenv("CLICK_SERVICE_ID", "1")
    monkeypatch.setenv("CLICK_SECRET_KEY", "click-secret")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_test")
    from serving.webhooks import create_app

    with TestClient(create_app()) as c:
        yield c


def test_http_route_answers_json_rpc_with_status_200(client, store):
    order_id = new_order(store)
    auth = {"Authorization": basic_auth_header(KEY)}

    def post(body: Any, headers: dict[str, str] = auth) -> dict:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = client.post("/webhooks/payme", content=content, headers=headers)
        assert response.status_code == 200
        return response.json()

    now_ms = int(time.time() * 1000)  # the route runs on the real clock
    request = {"id": 11, "method": "CreateTransaction", "params": create_params(order_id, payme_time=now_ms)}
    created = post(request)
    assert (created["id"], created["result"]["state"]) == (11, 1)
    assert post(request) == created
    performed = post({"id": 12, "method": "PerformTransaction", "params": {"id": PID}})
    assert performed["result"]["state"] == 2
    assert order_status(store, order_id)[0] == "paid"

    refused = post({"id": 13, "method": "CheckTransaction", "params": {"id": PID}}, headers={})
    assert refused == {"jsonrpc": "2.0", "id": 13, "error": {"code": -32504, "message": {
        "ru": "Недостаточно привилегий для выполнения метода", "uz": "Usulni bajarish uchun huquqlar yetarli emas",
        "en": "Insufficient privileges to perform this method"}}}
    assert post(b"not json")["error"]["code"] == -32700
    assert [key for key, *_ in ledger(store)] == [f"payme:{PID}:1", f"payme:{PID}:2"]


def test_http_route_without_a_merchant_key_answers_system_error(client):
    client.app.state.settings = dataclasses.replace(client.app.state.settings, payme_merchant_key=None)
    response = client.post("/webhooks/payme", content=b'{"id": 1, "method": "CheckTransaction", "params": {}}',
                           headers={"Authorization": basic_auth_header(KEY)})
    assert response.status_code == 200
    assert response.json()["error"]["code"] == -32400
