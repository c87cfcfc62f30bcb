"""The demo payment history: deterministic, complete in the cases a revenue report must handle, and delivered
through the protocol code (so nothing lands in the quarantine and every Payme/Click answer is the expected one;
`LedgerDriver` raises on any other answer)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import text

from analyticbot.appstore.db import AppStore, migrate
from analyticbot.cli import seed_demo_payments
from analyticbot.payments.demo import BASIL_VERSION, PRE_BASIL_VERSION, demo_customers, generate_history

END = datetime(2026, 9, 29)


def _ledger(store: AppStore) -> list[tuple]:
    with store.engine.connect() as con:
        return [tuple(r) for r in con.execute(text(
            "SELECT ledger_id, gateway, event_key, event_type, occurred_at, api_version, payload "
            "FROM payment_events ORDER BY ledger_id"))]


def _history(data_dir, monkeypatch, name: str, seed: int = 7) -> list[tuple]:
    monkeypatch.setenv("ANALYTICBOT_DATA_DIR", str(data_dir / name))
    migrate()
    store = AppStore()
    try:
        report = generate_history(store.transaction, seed=seed, scale="tiny", owner_ids=[6_000_000_001], end=END)
        assert report.outcomes.get("stripe.quarantined", 0) == 0
        with store.engine.connect() as con:
            assert con.execute(text("SELECT count(*) FROM payment_quarantine")).scalar() == 0
        return _ledger(store)
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def default_history(tmp_path_factory):
    """The `default` scale once, for the coverage assertions (a few seconds)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ANALYTICBOT_DATA_DIR", str(tmp_path_factory.mktemp("demo")))
    migrate()
    store = AppStore()
    generate_history(store.transaction, seed=7, scale="default", owner_ids=[6_000_000_001], end=END)
    rows = _ledger(store)
    with store.engine.connect() as con:
        orders = dict(con.execute(text("SELECT status, count(*) FROM orders GROUP BY status")).all())
        payme_states = dict(con.execute(text("SELECT state, count(*) FROM payme_transactions GROUP BY state")).all())
    store.dispose()
    mp.undo()
    return rows, orders, payme_states


def test_same_seed_same_history_other_seed_other_history(data_dir, monkeypatch):
    a = _history(data_dir, monkeypatch, "a")
    b = _history(data_dir, monkeypatch, "b")
    c = _history(data_dir, monkeypatch, "c", seed=8)
    assert a == b and len(a) > 100
    assert [r[2] for r in a] != [r[2] for r in c]


def test_history_has_every_case_a_revenue_report_must_handle(default_history):
    rows, orders, payme_states = default_history
    types = {}
    for _, gateway, _, etype, occurred_at, _, _ in rows:
        types[etype] = types.get(etype, 0) + 1
        assert str(occurred_at) < str(END)  # SQLite hands text back; ISO text sorts like time
    for etype in ("customer.subscription.created", "customer.subscription.updated",
                  "customer.subscription.deleted", "invoice.paid", "invoice.payment_failed", "charge.succeeded",
                  "invoice_payment.paid", "refund.created", "charge.dispute.created", "charge.dispute.closed",
                  "payme.created", "payme.performed", "payme.cancelled", "click.prepared", "click.completed",
                  "click.cancelled"):
        assert types.get(etype, 0) > 0, etype
    stripe = [json.loads(r[6]) for r in rows if r[1] == "stripe"]
    subs = [e["data"]["object"] for e in stripe if e["type"].startswith("customer.subscription")]
    assert {s["status"] for s in subs} >= {"trialing", "active", "past_due", "canceled"}
    assert any(s["cancel_at_period_end"] for s in subs)  # voluntary churn is announced first
    assert any(s.get("discount") or s.get("discounts") for s in subs)  # recurring discounts
    plans = {s["items"]["data"][0]["price"]["id"] for s in subs}
    assert plans == {f"price_analyticbot_{p}" for p in ("pro_month", "pro_year", "business_month",
                                                        "business_year")}
    # Both API shapes, split at the day the endpoint moved to basil.
    assert {e["api_version"] for e in stripe} == {PRE_BASIL_VERSION, BASIL_VERSION}
    assert all(("current_period_end" in s) == (s["items"]["data"][0].get("current_period_end") is None)
               for s in subs)
    # Payme: performed, cancelled before perform (abandoned, timed out) and after perform (refund).
    assert payme_states.get(2, 0) > 0 and payme_states.get(-1, 0) > 0 and payme_states.get(-2, 0) > 0
    assert orders["paid"] > 0 and orders["pending"] > 0  # failed attempts leave their order unpaid


def test_some_customers_come_back(default_history):
    rows = default_history[0]
    subs_per_customer: dict[str, set] = {}
    for r in rows:
        if r[3] == "customer.subscription.created":
            obj = json.loads(r[6])["data"]["object"]
            subs_per_customer.setdefault(obj["customer"], set()).add(obj["id"])
    assert any(len(s) > 1 for s in subs_per_customer.values())  # reactivation with a new subscription


def test_customers_include_the_channel_owners_and_grow_over_time():
    start = datetime(2025, 3, 29)
    customers = demo_customers(7, "default", [6_000_000_001, 6_000_000_002], start, END)
    assert [c.user_id for c in customers[:2]] == [6_000_000_001, 6_000_000_002]
    first_half = sum(1 for c in customers if c.signup_at < start + (END - start) / 2)
    assert first_half < len(customers) / 2
    assert {c.gateway for c in customers} == {"stripe", "payme", "click"}


def test_seeding_the_demo_twice_keeps_one_history(data_dir, monkeypatch):
    monkeypatch.setenv("ANALYTICBOT_DEMO_SCALE", "tiny")
    from analyticbot.settings import get_settings

    settings = get_settings()
    migrate(settings)
    first = seed_demo_payments(settings)
    store = AppStore(settings)
    before = _ledger(store)
    second = seed_demo_payments(settings)
    after = _ledger(store)
    store.dispose()
    assert first.startswith("Delivered") and second.startswith("Payment ledger already holds")
    assert before == after


@pytest.mark.parametrize("demo,payment,expected", [
    ("tiny", None, "tiny"), ("default", None, "default"), ("large", None, "default"), ("large", "large", "large"),
])
def test_payment_history_scale(monkeypatch, demo, payment, expected):
    """The large Telegram demo keeps the default payment history; the million-event one is asked for by name."""
    from analyticbot.settings import get_settings

    monkeypatch.setenv("ANALYTICBOT_DEMO_SCALE", demo)
    if payment:
        monkeypatch.setenv("ANALYTICBOT_DEMO_PAYMENT_SCALE", payment)
    else:
        monkeypatch.delenv("ANALYTICBOT_DEMO_PAYMENT_SCALE", raising=False)
    assert get_settings().demo_payment_scale == expected
