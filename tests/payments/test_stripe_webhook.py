"""POST /webhooks/stripe through the real FastAPI app: signature, dedupe, order, both API shapes, odd values.

Stripe's own example objects (tests/payments/fixtures/stripe/, both API shapes) are used as they are."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
import stripe
from fastapi.testclient import TestClient
from sqlalchemy import text

from analyticbot.appstore.db import AppStore, migrate
from analyticbot.payments.stripe_events import problem
from analyticbot.settings import get_settings

SECRET = "whsec_test_secret"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stripe"
BASIL = json.loads((FIXTURES / "fixtures3_subset.json").read_text())["resources"]
PRE_BASIL = json.loads((FIXTURES / "fixtures3_subset_pre_basil.json").read_text())["resources"]
EVENT_TYPE = {"subscription": "customer.subscription.updated", "invoice": "invoice.paid",
              "charge": "charge.succeeded", "refund": "refund.created", "dispute": "charge.dispute.created",
              "invoice_payment": "invoice_payment.paid"}


@pytest.fixture
def app_env(data_dir, monkeypatch):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    migrate()
    return get_settings()


@pytest.fixture
def client(app_env):
    from serving.webhooks import create_app

    with TestClient(create_app()) as c:
        yield c


def event(event_id: str, etype: str, obj: dict, created: int | None = None, version: str = "2025-03-31.basil"):
    return {"id": event_id, "object": "event", "type": etype, "api_version": version,
            "created": created or int(time.time()) - 60, "data": {"object": obj}, "livemode": False}


def subscription(sub_id="sub_1", status="active", unit_amount=900, start=None):
    start = start or int(time.time()) - 86_400
    return {"id": sub_id, "object": "subscription", "customer": "cus_1", "status": status, "currency": "usd",
            "metadata": {"telegram_user_id": "42"},
            "items": {"object": "list", "data": [{
                "id": "si_1", "object": "subscription_item", "quantity": 1,
                "current_period_start": start, "current_period_end": start + 30 * 86_400,
                "price": {"id": "price_analyticbot_pro_month", "currency": "usd", "unit_amount": unit_amount,
                          "recurring": {"interval": "month", "interval_count": 1}}}]}}


def post(client, body: str | bytes, *, secret: str = SECRET, timestamp: int | None = None):
    text_body = body.decode() if isinstance(body, bytes) else body
    header = stripe.WebhookSignature.generate_signature_header(text_body, secret, timestamp=timestamp)
    return client.post("/webhooks/stripe", content=text_body.encode(), headers={"Stripe-Signature": header})


def rows(sql: str) -> list[tuple]:
    store = AppStore()
    try:
        with store.engine.connect() as con:
            return [tuple(r) for r in con.execute(text(sql))]
    finally:
        store.dispose()


def test_event_is_kept_once_with_its_raw_body(client):
    body = json.dumps(event("evt_a", "customer.subscription.created", subscription()), indent=1)
    first, second = post(client, body), post(client, body)
    assert first.status_code == second.status_code == 200
    assert (first.json()["status"], second.json()["status"]) == ("recorded", "duplicate")
    assert rows("SELECT event_key, event_type, source, api_version, payload FROM payment_events") == [
        ("evt_a", "customer.subscription.created", "webhook", "2025-03-31.basil", body)]  # byte for byte


def test_out_of_order_delivery_keeps_both(client):
    now = int(time.time())
    updated = event("evt_2", "customer.subscription.updated", subscription(status="past_due"), created=now - 10)
    created = event("evt_1", "customer.subscription.created", subscription(), created=now - 100)
    assert post(client, json.dumps(updated)).json()["status"] == "recorded"
    assert post(client, json.dumps(created)).json()["status"] == "recorded"
    # Arrival order is in ledger_id, event time in occurred_at: staging orders by the latter.
    got = rows("SELECT event_key FROM payment_events ORDER BY occurred_at")
    assert got == [("evt_1",), ("evt_2",)]


@pytest.mark.parametrize("mangle", ["wrong secret", "tampered body", "stale timestamp", "no header"])
def test_bad_signature_is_400_and_stores_nothing(client, mangle):
    body = json.dumps(event("evt_bad", "invoice.paid", {"id": "in_1", "object": "invoice"}))
    if mangle == "wrong secret":
        response = post(client, body, secret="whsec_other")
    elif mangle == "stale timestamp":
        response = post(client, body, timestamp=int(time.time()) - 301)
    elif mangle == "no header":
        response = client.post("/webhooks/stripe", content=body.encode())
    else:
        header = stripe.WebhookSignature.generate_signature_header(body, SECRET)
        response = client.post("/webhooks/stripe", content=body.replace("in_1", "in_2").encode(),
                               headers={"Stripe-Signature": header})
    assert response.status_code == 400
    assert "signature" in response.json()["error"]
    assert rows("SELECT count(*) FROM payment_events") == [(0,)]
    assert rows("SELECT count(*) FROM payment_quarantine") == [(0,)]


def test_without_a_webhook_secret_the_answer_is_500_and_names_the_variable(data_dir, monkeypatch):
    from serving.webhooks import create_app

    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    migrate()
    with TestClient(create_app()) as c:
        response = post(c, json.dumps(event("evt_n", "invoice.paid", {"id": "in_1", "object": "invoice"})))
    assert response.status_code == 500  # Stripe retries until the secret is configured
    assert response.json() == {"error": "STRIPE_WEBHOOK_SECRET is not set"}
    assert rows("SELECT count(*) FROM payment_events") == [(0,)]


def test_signed_garbage_and_unknown_types_are_quarantined_with_reasons(client):
    assert post(client, "{not json").json()["status"] == "quarantined"
    unknown = event("evt_u", "customer.tax_id.created", {"id": "txi_1", "object": "tax_id"})
    assert post(client, json.dumps(unknown)).json()["status"] == "quarantined"
    post(client, json.dumps(unknown))  # a retry of the same refused event is kept once
    reasons = rows("SELECT external_id, reason FROM payment_quarantine ORDER BY quarantine_id")
    assert reasons[0][0] is None and reasons[0][1].startswith("body is not JSON")
    assert reasons[1:] == [("evt_u", "unhandled event type 'customer.tax_id.created'")]
    assert rows("SELECT count(*) FROM payment_events") == [(0,)]


@pytest.mark.parametrize("shape,resources", [("basil", BASIL), ("pre-basil", PRE_BASIL)])
def test_stripe_fixture_objects_as_they_are(client, shape, resources):
    """Every example object of both shapes, wrapped in an event: recorded or quarantined with a reason that
    names the odd value (placeholder times, a period ending before it starts, currency 'currency')."""
    sent = 0
    for kind, obj in resources.items():
        etype = EVENT_TYPE.get(kind, f"{kind}.created")
        response = post(client, json.dumps(event(f"evt_{shape}_{kind}", etype, obj)))
        assert response.status_code == 200
        sent += 1
    # The fixture's own event object, delivered as is.
    post(client, json.dumps(resources["event"]))
    recorded = {k for (k,) in rows("SELECT event_key FROM payment_events")}
    quarantined = dict(rows("SELECT external_id, reason FROM payment_quarantine"))
    assert len(recorded) + len(quarantined) == sent + 1  # nothing dropped
    assert quarantined[resources["event"]["id"]] == "event created=1234567890 is not a plausible time"
    assert "created=1234567890 is not a plausible time" in quarantined[f"evt_{shape}_charge"]
    assert quarantined[f"evt_{shape}_price"] == "unhandled event type 'price.created'"
    if shape == "basil":
        assert "period end 976287773 is before its start 1896570518" in quarantined[f"evt_{shape}_subscription"]
        assert "currency 'currency'" in quarantined[f"evt_{shape}_invoice_payment"]
    else:  # the pre-basil period sits on the subscription itself, with the placeholder time
        assert quarantined[f"evt_{shape}_subscription"] == \
            "subscription sub_1Pgc6rB7WZ01zgkWNy0Cn5nw: period start 1234567890 is not a plausible time"
    assert recorded == set()  # every example object carries a placeholder somewhere


def test_checks_name_the_field_and_value():
    sub = subscription()
    sub["items"]["data"][0]["price"]["recurring"]["interval_count"] = 797691627
    assert problem(event("evt_x", "customer.subscription.updated", sub)) == \
        "subscription sub_1 item si_1: interval_count 797691627 is outside 1..36"
    charge = {"id": "ch_1", "object": "charge", "amount": 500, "amount_refunded": 600, "currency": "usd",
              "created": int(time.time())}
    assert problem(event("evt_y", "charge.refunded", charge)) == \
        "charge ch_1: amount_refunded 600 exceeds amount 500"
    assert problem(event("evt_z", "charge.succeeded", dict(charge, amount=-5, amount_refunded=0))) == \
        "charge ch_1: amount=-5 is not a positive amount"


def _serve(app, port: int):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    return server, thread


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_concurrent_replays_over_real_http_leave_one_row_each(request, monkeypatch, data_dir, store):
    """A real uvicorn server on loopback, 40 events each sent 5 times from 8 threads at once."""
    if store == "postgres":
        monkeypatch.setenv("ANALYTICBOT_APP_DB_URL", request.getfixturevalue("pg_url"))
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    migrate()
    from serving.webhooks import create_app

    port = _free_port()
    server, thread = _serve(create_app(), port)
    bodies = [json.dumps(event(f"evt_c{i}", "customer.subscription.updated", subscription(f"sub_{i}")))
              for i in range(40)]
    work = [b for b in bodies for _ in range(5)]
    statuses: list[int] = []

    def send(chunk):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            for body in chunk:
                header = stripe.WebhookSignature.generate_signature_header(body, SECRET)
                statuses.append(http.post("/webhooks/stripe", content=body,
                                          headers={"Stripe-Signature": header}).status_code)

    threads = [threading.Thread(target=send, args=(work[i::8],)) for i in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.should_exit = True
        thread.join(10)
    assert statuses == [200] * 200
    assert rows("SELECT count(*), count(DISTINCT event_key) FROM payment_events") == [(40, 40)]
