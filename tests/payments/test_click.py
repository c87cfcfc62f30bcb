"""Click SHOP-API Prepare/Complete: a payment, every refusal, repeats, and the HTTP routes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from analyticbot.appstore.db import AppStore, migrate
from analyticbot.appstore.models import ClickTransaction, Order, PaymentQuarantine, User
from analyticbot.payments.click import COMPLETE, PREPARE, handle_complete, handle_prepare, sign
from analyticbot.payments.orders import create_order
from analyticbot.settings import get_settings
from tests.payments.store_rows import ledger, quarantined

SERVICE_ID = 30_125
SECRET = "click-secret-key"
USER = 6001
NOW = datetime(2026, 3, 1, 9, 30, 0, 123456)
TRANS = 2_387_560_001


# -- fixtures and helpers ------------------------------------------------------------------------------------
@pytest.fixture
def store(data_dir) -> Iterator[AppStore]:
    settings = get_settings()
    migrate(settings)
    store = AppStore(settings)
    with store.transaction() as s:
        s.add(User(user_id=USER, created_at=datetime(2026, 2, 1)))
    yield store
    store.dispose()


def new_order(store: AppStore, gateway: str = "click") -> int:
    with store.transaction() as s:
        return create_order(s, USER, "pro_month", gateway, now=datetime(2026, 2, 28)).order_id


def prepare_form(order_id: int | str, *, trans: int = TRANS, amount: str = "115000", secret: str = SECRET,
                 **override: str) -> dict[str, str]:
    form = {"click_trans_id": str(trans), "service_id": str(SERVICE_ID), "click_paydoc_id": str(trans + 7),
            "merchant_trans_id": str(order_id), "amount": amount, "action": "0", "error": "0",
            "error_note": "Success", "sign_time": "2026-03-01 14:30:00"}
    form.update(override)
    form["sign_string"] = sign(form, secret, PREPARE)
    return form


def complete_form(order_id: int | str, prepare_id: int | str, *, trans: int = TRANS, amount: str = "115000",
                  error: str = "0", secret: str = SECRET, **override: str) -> dict[str, str]:
    form = prepare_form(order_id, trans=trans, amount=amount, action="1", error=error,
                        merchant_prepare_id=str(prepare_id), **override)
    form["sign_string"] = sign(form, secret, COMPLETE)
    return form


def prepare(store: AppStore, form: dict[str, str], now: datetime = NOW) -> dict[str, Any]:
    with store.transaction() as s:
        return handle_prepare(s, form, service_id=SERVICE_ID, secret_key=SECRET, now=now)


def complete(store: AppStore, form: dict[str, str], now: datetime = NOW) -> dict[str, Any]:
    with store.transaction() as s:
        return handle_complete(s, form, service_id=SERVICE_ID, secret_key=SECRET, now=now)


def click_rows(store: AppStore) -> list[tuple[int, int, str, int]]:
    with store.transaction() as s:
        return [(t.click_trans_id, t.order_id, t.status, t.error_code)
                for t in s.scalars(select(ClickTransaction).order_by(ClickTransaction.id))]


def order_status(store: AppStore, order_id: int) -> tuple[str, datetime | None]:
    with store.transaction() as s:
        order = s.get(Order, order_id)
        return order.status, order.paid_at


def payload(order_id: int, prepare_id: int, status: str, *, amount: str = "115000", error_code: int = 0,
            completed_at: str | None = None) -> dict:
    return {"click_trans_id": TRANS, "click_paydoc_id": TRANS + 7, "service_id": SERVICE_ID,
            "merchant_prepare_id": prepare_id, "order_id": order_id, "user_id": USER, "plan_code": "pro_month",
            "amount": amount, "amount_tiyin": 11_500_000, "currency": "UZS", "status": status,
            "error_code": error_code, "prepared_at": "2026-03-01T09:30:00.123456Z", "completed_at": completed_at}


# -- a payment -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("amount", ["115000", "115000.00"])
def test_prepare_then_complete_pays_the_order(store, amount):
    order_id = new_order(store)
    prepared = prepare(store, prepare_form(order_id, amount=amount))
    prepare_id = prepared["merchant_prepare_id"]
    assert prepared == {"click_trans_id": TRANS, "merchant_trans_id": str(order_id),
                        "merchant_prepare_id": prepare_id, "error": 0, "error_note": "Success"}
    assert order_status(store, order_id) == ("pending", None)

    done_at = NOW + timedelta(seconds=40)
    completed = complete(store, complete_form(order_id, prepare_id, amount=amount), done_at)
    assert completed == {"click_trans_id": TRANS, "merchant_trans_id": str(order_id),
                         "merchant_confirm_id": prepare_id, "error": 0, "error_note": "Success"}
    assert order_status(store, order_id) == ("paid", done_at)
    assert click_rows(store) == [(TRANS, order_id, "completed", 0)]
    assert ledger(store) == [
        (f"click:{TRANS}:prepared", "click.prepared", NOW, payload(order_id, prepare_id, "prepared", amount=amount)),
        (f"click:{TRANS}:completed", "click.completed", done_at,
         payload(order_id, prepare_id, "completed", amount=amount, completed_at="2026-03-01T09:30:40.123456Z")),
    ]
    assert quarantined(store) == []


def test_repeated_prepare_and_complete_answer_as_the_first_time(store):
    order_id = new_order(store)
    prepared = prepare(store, prepare_form(order_id))
    assert prepare(store, prepare_form(order_id), NOW + timedelta(seconds=5)) == prepared
    form = complete_form(order_id, prepared["merchant_prepare_id"])
    completed = complete(store, form, NOW + timedelta(seconds=10))
    assert complete(store, form, NOW + timedelta(seconds=20)) == completed
    assert prepare(store, prepare_form(order_id), NOW + timedelta(seconds=30)) == prepared
    assert [key for key, *_ in ledger(store)] == [f"click:{TRANS}:prepared", f"click:{TRANS}:completed"]
    assert order_status(store, order_id) == ("paid", NOW + timedelta(seconds=10))
    assert quarantined(store) == []


def test_complete_with_a_click_error_cancels(store):
    order_id = new_order(store)
    prepare_id = prepare(store, prepare_form(order_id))["merchant_prepare_id"]
    form = complete_form(order_id, prepare_id, error="-5017", error_note="Insufficient funds")
    cancelled = complete(store, form, NOW + timedelta(seconds=3))
    assert cancelled == {"click_trans_id": TRANS, "merchant_trans_id": str(order_id),
                         "merchant_confirm_id": prepare_id, "error": -9, "error_note": "Transaction cancelled"}
    assert complete(store, form, NOW + timedelta(seconds=9)) == cancelled
    assert click_rows(store) == [(TRANS, order_id, "cancelled", -5017)]
    assert order_status(store, order_id) == ("pending", None)
    assert ledger(store)[1] == (f"click:{TRANS}:cancelled", "click.cancelled", NOW + timedelta(seconds=3),
                                payload(order_id, prepare_id, "cancelled", error_code=-5017))
    assert len(ledger(store)) == 2
    # The order can still be paid through a new Click transaction.
    again = prepare(store, prepare_form(order_id, trans=TRANS + 1))
    assert again["error"] == 0
    assert complete(store, complete_form(order_id, again["merchant_prepare_id"], trans=TRANS + 1))["error"] == 0
    assert order_status(store, order_id)[0] == "paid"


def test_a_repeat_that_contradicts_the_record_is_answered_as_before_and_kept(store):
    order_id = new_order(store)
    prepare_id = prepare(store, prepare_form(order_id))["merchant_prepare_id"]
    complete(store, complete_form(order_id, prepare_id))
    assert complete(store, complete_form(order_id, prepare_id, error="-1"))["error"] == 0
    assert quarantined(store) == [
        ("click", str(TRANS), "complete: repeated Complete reports error -1 for a completed transaction")]
    assert len(ledger(store)) == 2


# -- refusals ------------------------------------------------------------------------------------------------
def test_bad_sign_is_refused_and_stores_nothing(store):
    order_id = new_order(store)
    forged = prepare_form(order_id, secret="guessed")
    assert prepare(store, forged) == {"click_trans_id": TRANS, "merchant_trans_id": str(order_id),
                                      "merchant_prepare_id": None, "error": -1, "error_note": "SIGN CHECK FAILED!"}
    prepare_id = prepare(store, prepare_form(order_id))["merchant_prepare_id"]
    tampered = dict(complete_form(order_id, prepare_id), amount="1150")  # signed for 115000
    assert complete(store, tampered)["error"] == -1
    assert complete(store, dict(complete_form(order_id, prepare_id), sign_string="ünïcode"))["error"] == -1
    assert click_rows(store) == [(TRANS, order_id, "prepared", 0)]
    assert len(ledger(store)) == 1 and quarantined(store) == []


@pytest.mark.parametrize("drop", ["click_trans_id", "sign_time", "sign_string", "amount", "action"])
def test_unsigned_request_is_refused_and_stores_nothing(store, drop):
    form = prepare_form(new_order(store))
    del form[drop]
    answer = prepare(store, form)
    assert answer["error"] == -8
    assert answer["error_note"] == f"Error in request from click: missing {drop}"
    assert (click_rows(store), ledger(store), quarantined(store)) == ([], [], [])


def test_complete_without_merchant_prepare_id_is_refused_and_stores_nothing(store):
    form = complete_form(new_order(store), 1)
    del form["merchant_prepare_id"]
    assert complete(store, form)["error"] == -8
    assert quarantined(store) == []


@pytest.mark.parametrize("override, code, reason", [
    ({"click_paydoc_id": ""}, -8, "prepare: click_paydoc_id='' is not an id"),
    ({"click_trans_id": "12x"}, -8, "prepare: click_trans_id='12x' is not an id"),
    ({"click_trans_id": "9" * 19}, -8, f"prepare: click_trans_id='{'9' * 19}' is not an id"),
    ({"error": "oops"}, -8, "prepare: error='oops' is not 0 or a negative code"),
    ({"service_id": "999"}, -8, f"prepare: service_id 999 is not ours ({SERVICE_ID})"),
    ({"action": "1"}, -3, "prepare: action '1' at the prepare endpoint"),
    ({"amount": "115000.5"}, -2, "prepare: amount 115000.5 is not order {order}'s 11500000 tiyin"),
    ({"amount": "114999"}, -2, "prepare: amount 114999 is not order {order}'s 11500000 tiyin"),
    ({"amount": "115000.001"}, -2, "prepare: amount '115000.001' is not a positive whole number of tiyin"),
    ({"amount": "1e5"}, -2, "prepare: amount '1e5' is not a positive whole number of tiyin"),
    ({"merchant_trans_id": "424242"}, -5, "prepare: no Click order 424242"),
    ({"merchant_trans_id": "abc"}, -5, "prepare: no Click order None"),
    ({"merchant_trans_id": "payme"}, -5, "prepare: no Click order {payme}"),
])
def test_signed_request_we_refuse_is_quarantined(store, override, code, reason):
    order_id, payme_order = new_order(store), new_order(store, gateway="payme")
    if override.get("merchant_trans_id") == "payme":  # an order that Payme, not Click, is to pay
        override = {"merchant_trans_id": str(payme_order)}
    form = prepare_form(order_id, **override)
    answer = prepare(store, form)
    assert (answer["error"], answer["merchant_prepare_id"]) == (code, None)
    assert quarantined(store) == [
        ("click", form["click_trans_id"], reason.format(order=order_id, payme=payme_order))]
    with store.transaction() as s:
        assert json.loads(s.scalars(select(PaymentQuarantine.payload)).one()) == form
    assert (click_rows(store), ledger(store)) == ([], [])


def test_already_paid_order_is_refused(store):
    order_id = new_order(store)
    first = prepare(store, prepare_form(order_id))["merchant_prepare_id"]
    second = prepare(store, prepare_form(order_id, trans=TRANS + 1))["merchant_prepare_id"]  # pressed "pay" twice
    assert complete(store, complete_form(order_id, first))["error"] == 0
    assert complete(store, complete_form(order_id, second, trans=TRANS + 1))["error"] == -4
    assert prepare(store, prepare_form(order_id, trans=TRANS + 2))["error"] == -4
    assert click_rows(store) == [(TRANS, order_id, "completed", 0), (TRANS + 1, order_id, "prepared", 0)]
    assert quarantined(store) == [("click", str(TRANS + 1), f"complete: order {order_id} is already paid"),
                                  ("click", str(TRANS + 2), f"prepare: order {order_id} is already paid")]


def test_complete_of_an_unknown_transaction_is_refused(store):
    order_id = new_order(store)
    prepare_id = prepare(store, prepare_form(order_id))["merchant_prepare_id"]
    assert complete(store, complete_form(order_id, prepare_id + 100))["error"] == -6
    assert complete(store, complete_form(order_id, prepare_id, trans=TRANS + 1))["error"] == -6
    assert complete(store, complete_form(new_order(store), prepare_id))["error"] == -6
    assert complete(store, complete_form(order_id, prepare_id, amount="1000"))["error"] == -2
    other_order = order_id + 1
    assert [(external_id, reason) for _, external_id, reason in quarantined(store)] == [
        (str(TRANS), f"complete: no prepared transaction {prepare_id + 100} for click_trans_id {TRANS} "
                     f"and order '{order_id}'"),
        (str(TRANS + 1), f"complete: no prepared transaction {prepare_id} for click_trans_id {TRANS + 1} "
                         f"and order '{order_id}'"),
        (str(TRANS), f"complete: no prepared transaction {prepare_id} for click_trans_id {TRANS} "
                     f"and order '{other_order}'"),
        (str(TRANS), "complete: amount 1000 is not the prepared 11500000 tiyin"),
    ]
    assert click_rows(store) == [(TRANS, order_id, "prepared", 0)]


def test_a_reused_click_trans_id_for_another_order_is_refused(store):
    order_id, other = new_order(store), new_order(store)
    prepare(store, prepare_form(order_id))
    assert prepare(store, prepare_form(other))["error"] == -8
    assert len(click_rows(store)) == 1 and len(quarantined(store)) == 1


# -- HTTP ----------------------------------------------------------------------------------------------------
@pytest.fixture
def client(store, monkeypatch) -> Iterator[TestClient]:
    monkeypatch.setenv("PAYME_MERCHANT_KEY", "payme-key")
    monkeypatch.setenv("CLICK_SERVICE_ID", str(SERVICE_ID))
    monkeypatch.setenv("CLICK_SECRET_KEY", SECRET)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_test")
    from serving.webhooks import create_app

    with TestClient(create_app()) as c:
        yield c


def test_http_routes_take_the_raw_form(client, store):
    order_id = new_order(store)
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}

    def post(path: str, form: dict[str, str]) -> dict:
        response = client.post(path, content=urlencode(form), headers=form_type)
        assert response.status_code == 200
        return response.json()

    prepared = post("/webhooks/click/prepare", prepare_form(order_id, amount="115000.00"))
    assert prepared["error"] == 0
    completed = post("/webhooks/click/complete",
                     complete_form(order_id, prepared["merchant_prepare_id"], amount="115000.00"))
    assert completed == {"click_trans_id": TRANS, "merchant_trans_id": str(order_id),
                         "merchant_confirm_id": prepared["merchant_prepare_id"], "error": 0, "error_note": "Success"}
    assert order_status(store, order_id)[0] == "paid"
    assert post("/webhooks/click/prepare", prepare_form(order_id, trans=TRANS + 1, secret="x"))["error"] == -1
    assert post("/webhooks/click/prepare", {})["error"] == -8
    assert [key for key, *_ in ledger(store)] == [f"click:{TRANS}:prepared", f"click:{TRANS}:completed"]
    assert quarantined(store) == []
