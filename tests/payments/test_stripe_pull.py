"""Stripe pull and reconciliation against a local HTTP server that the real `stripe` client talks to."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import stripe
from sqlalchemy import select

from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import PaymentEvent, PaymentQuarantine
from analyticbot.payments.stripe_events import HANDLED_TYPES, receive_webhook
from analyticbot.payments.stripe_pull import (OVERLAP, StripeAccessError, content_hash, list_items, make_client,
                                              pull_events, reconcile)
from analyticbot.settings import get_settings
from orchestration.defs.payments.stripe_assets import stripe_events_pull, stripe_reconciliation
from tests.payments.stripe_api_server import API_KEY, StripeAPIServer

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stripe"  # Stripe's own, as they are
BASIL = "2025-03-31.basil"
PRE_BASIL = "2024-06-20"
DAY = 86_400


# -- builders: objects that pass stripe_events' checks, in both API shapes ----------------------------------------
def subscription(sub_id: str, *, created: int, status: str = "active", customer: str = "cus_A1",
                 unit_amount: int | None = 2000, tg_user: int = 1001) -> dict[str, Any]:
    start = created
    return {
        "id": sub_id, "object": "subscription", "created": created, "status": status, "customer": customer,
        "currency": "usd", "metadata": {"telegram_user_id": str(tg_user)}, "discounts": [],
        "items": {"object": "list", "has_more": False, "url": f"/v1/subscription_items?subscription={sub_id}",
                  "data": [{
                      "id": f"si_{sub_id[4:]}", "object": "subscription_item", "quantity": 1,
                      "current_period_start": start, "current_period_end": start + 30 * DAY,
                      "price": {"id": "price_pro_month", "object": "price", "currency": "usd",
                                "unit_amount": unit_amount, "billing_scheme": "per_unit",
                                "unit_amount_decimal": None if unit_amount is None else str(unit_amount),
                                "recurring": {"interval": "month", "interval_count": 1}},
                  }]},
    }


def invoice(inv_id: str, *, created: int, customer: str = "cus_A1", sub_id: str = "sub_A1", amount: int = 2000,
            pre_basil: bool = False) -> dict[str, Any]:
    line = {"id": f"il_{inv_id[3:]}", "object": "line_item", "amount": amount, "currency": "usd",
            "period": {"start": created, "end": created + 30 * DAY}}
    inv = {"id": inv_id, "object": "invoice", "created": created, "customer": customer, "currency": "usd",
           "status": "paid", "amount_due": amount, "amount_paid": amount, "total": amount,
           "lines": {"object": "list", "has_more": False, "url": f"/v1/invoices/{inv_id}/lines", "data": [line]}}
    if pre_basil:
        inv["subscription"] = sub_id
        line["price"] = {"id": "price_pro_month"}
    else:
        inv["parent"] = {"type": "subscription_details", "subscription_details": {"subscription": sub_id}}
        line["pricing"] = {"type": "price_details", "price_details": {"price": "price_pro_month"}}
    return inv


def event(evt_id: str, etype: str, obj: dict, *, created: int, api_version: str = BASIL) -> dict[str, Any]:
    return {"id": evt_id, "object": "event", "api_version": api_version, "created": created, "type": etype,
            "livemode": False, "pending_webhooks": 0, "request": {"id": None, "idempotency_key": None},
            "data": {"object": obj}}


def paid(n: int, *, created: int) -> dict[str, Any]:
    """Event number n: an invoice paid at `created`."""
    return event(f"evt_{n:06d}", "invoice.paid", invoice(f"in_{n:06d}", created=created), created=created)


def now_s() -> datetime:
    # stripe_events judges `created` against the real clock, so the tests live in the present.
    return datetime.now(timezone.utc).replace(microsecond=0)


def ts(value: datetime) -> int:
    return int(value.timestamp())


# -- fixtures -------------------------------------------------------------------------------------------------


def client_for(base_url: str, api_key: str = API_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(api_key, base_addresses={"api": base_url}, max_network_retries=2)


def ledger(store: AppStore) -> list[PaymentEvent]:
    with store.transaction() as s:
        return list(s.scalars(select(PaymentEvent).order_by(PaymentEvent.ledger_id)))


def quarantined(store: AppStore) -> list[PaymentQuarantine]:
    with store.transaction() as s:
        return list(s.scalars(select(PaymentQuarantine).order_by(PaymentQuarantine.quarantine_id)))


# -- events ---------------------------------------------------------------------------------------------------
def test_first_pull_records_the_last_30_days_of_handled_events_in_both_api_shapes(store):
    now = now_s()
    sub = subscription("sub_A1", created=ts(now) - 3 * DAY)
    events = [
        event("evt_sub", "customer.subscription.created", sub, created=ts(now) - 3 * DAY),
        event("evt_old_shape", "invoice.paid", invoice("in_old", created=ts(now) - 2 * DAY, pre_basil=True),
              created=ts(now) - 2 * DAY, api_version=PRE_BASIL),
        paid(1, created=ts(now) - DAY),
        paid(2, created=ts(now) - 31 * DAY),  # past Stripe's retention: not asked for
        event("evt_cust", "customer.created", {"id": "cus_A1", "object": "customer"}, created=ts(now) - DAY),
    ]
    server = StripeAPIServer(events=events)
    with server as url:
        report = pull_events(store, client_for(url), now=now)

    (request,) = server.requests_to("/v1/events")
    assert request.params["created[gte]"] == str(ts(now - timedelta(days=30)))
    assert request.params["limit"] == "100"
    # Only the types the revenue models read: the filter holds at most 20, and HANDLED_TYPES fits in it.
    assert sorted(v for k, v in request.params.items() if k.startswith("types[")) == sorted(HANDLED_TYPES)
    assert (report.listed, report.recorded, report.duplicate, report.quarantined) == (3, 3, 0, 0)
    assert report.cursor == now and report.since == now - timedelta(days=30) and report.gap_from is None
    rows = ledger(store)
    assert {r.event_key for r in rows} == {"evt_sub", "evt_old_shape", "evt_000001"}
    assert {r.source for r in rows} == {"pull"}
    by_key = {r.event_key: r for r in rows}
    assert by_key["evt_old_shape"].api_version == PRE_BASIL
    assert by_key["evt_sub"].occurred_at == (now - timedelta(days=3)).replace(tzinfo=None)
    assert json.loads(by_key["evt_old_shape"].payload) == events[1]


def test_payload_is_the_event_text_exactly_as_listed(store):
    now = now_s()
    ev = paid(1, created=ts(now) - 60)
    ev["data"]["object"]["description"] = "Pro — 1 month, \"квартал\" [promo]"
    server = StripeAPIServer(events=[ev])
    with server as url:
        pull_events(store, client_for(url), now=now)
    (row,) = ledger(store)
    page = {"object": "list", "data": [ev], "has_more": False, "url": "/v1/events"}
    assert row.payload in json.dumps(page, indent=2, ensure_ascii=False)  # the server's own bytes
    assert json.loads(row.payload) == ev
    assert "квартал" in row.payload


def test_second_pull_relists_an_hour_before_the_cursor_and_records_only_what_is_new(store):
    now = now_s() - timedelta(hours=3)
    server = StripeAPIServer(events=[paid(i, created=ts(now) - 3600 * i) for i in range(1, 6)])
    with server as url:
        client = client_for(url)
        first = pull_events(store, client, now=now)
        # After the first listing: one event that Stripe made listable late (created 20 minutes before the
        # cursor), and two new ones.
        server.put("events", paid(10, created=ts(now) - 1200), paid(11, created=ts(now) + 600),
                   paid(12, created=ts(now) + 7200))
        second = pull_events(store, client, cursor=first.cursor, now=now + timedelta(hours=3))
        third = pull_events(store, client, cursor=second.cursor, now=now + timedelta(hours=3))

    assert (first.listed, first.recorded) == (5, 5)
    assert server.requests_to("/v1/events")[1].params["created[gte]"] == str(ts(first.cursor - OVERLAP))
    # The overlap lists evt 1 (created an hour before the cursor) again: a duplicate, not a second row.
    assert (second.listed, second.recorded, second.duplicate) == (4, 3, 1)
    assert (third.listed, third.recorded, third.duplicate) == (1, 0, 1)  # evt 12, inside the next overlap
    assert len(ledger(store)) == 8


def test_event_received_by_webhook_and_listed_by_pull_is_one_ledger_row(store):
    now = now_s()
    ev = paid(1, created=ts(now) - 600)
    body = json.dumps(ev, indent=2)
    secret = "whsec_test_secret"
    stamp = int(time.time())
    signature = hmac.new(secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    with store.transaction() as s:
        assert receive_webhook(s, body.encode(), f"t={stamp},v1={signature}", secret).status == "recorded"
    server = StripeAPIServer(events=[ev, paid(2, created=ts(now) - 300)])
    with server as url:
        report = pull_events(store, client_for(url), now=now)

    assert (report.listed, report.recorded, report.duplicate) == (2, 1, 1)
    rows = ledger(store)
    assert [(r.event_key, r.source) for r in rows] == [("evt_000001", "webhook"), ("evt_000002", "pull")]
    assert rows[0].payload == body  # the webhook's raw body stays what the ledger keeps


def test_pull_pages_through_more_than_one_page_newest_first(store):
    now = now_s()
    server = StripeAPIServer(events=[paid(i, created=ts(now) - 60 * i) for i in range(1, 251)])
    with server as url:
        report = pull_events(store, client_for(url), now=now)
    requests = server.requests_to("/v1/events")
    assert [r.params.get("starting_after") for r in requests] == [None, "evt_000100", "evt_000200"]
    assert (report.pages, report.listed, report.recorded) == (3, 250, 250)
    assert len(ledger(store)) == 250


@pytest.mark.parametrize("status, should_retry", [(500, None), (429, True)])
def test_server_errors_are_retried_by_the_client(store, status, should_retry):
    now = now_s()
    server = StripeAPIServer(events=[paid(1, created=ts(now) - 60)])
    server.fail_next(status, should_retry=should_retry)
    with server as url:
        report = pull_events(store, client_for(url), now=now)
    assert [r.status for r in server.requests] == [status, 200]
    assert report.recorded == 1


def test_rate_limit_mid_pull_keeps_the_finished_pages_and_the_rerun_completes(store):
    now = now_s()
    server = StripeAPIServer(events=[paid(i, created=ts(now) - 60 * i) for i in range(1, 251)])
    server.fail_next(429, path="/v1/events", after=1)  # the second page; without Stripe-Should-Retry, no retry
    with server as url:
        client = client_for(url)
        with pytest.raises(stripe.RateLimitError):
            pull_events(store, client, now=now)
        assert len(ledger(store)) == 100  # the first page's transaction committed
        rerun = pull_events(store, client, cursor=None, now=now)  # a failed run stores no cursor
    assert (rerun.recorded, rerun.duplicate) == (150, 100)
    assert len(ledger(store)) == 250


def test_a_wrong_key_is_a_clear_error_that_names_the_setting_not_the_key(store):
    now = now_s()
    server = StripeAPIServer(events=[paid(1, created=ts(now) - 60)], subscriptions=[
        subscription("sub_A1", created=ts(now) - 60 * DAY)])
    wrong = "sk_test_not_the_right_key_4242"
    with server as url:
        with pytest.raises(StripeAccessError) as err:
            pull_events(store, client_for(url, wrong), now=now)
        with pytest.raises(StripeAccessError):
            reconcile(store, client_for(url, wrong), now=now)
    assert "STRIPE_API_KEY" in str(err.value) and "401" in str(err.value)
    assert wrong not in str(err.value) and "4242" not in str(err.value)
    assert [r.status for r in server.requests] == [401, 401]  # an auth error is not retried
    assert ledger(store) == [] and quarantined(store) == []


def test_stored_cursor_older_than_retention_reports_the_gap(store):
    now = now_s()
    with StripeAPIServer() as url:
        report = pull_events(store, client_for(url), cursor=now - timedelta(days=45), now=now)
    assert report.since == now - timedelta(days=30)
    assert report.gap_from == now - timedelta(days=45) - OVERLAP


# -- Stripe's own fixtures: their placeholder values are what the checks exist for ----------------------------------
FIXTURE_TYPES = {"subscription": "customer.subscription.updated", "invoice": "invoice.paid",
                 "charge": "charge.succeeded", "refund": "refund.created", "dispute": "charge.dispute.created",
                 "invoice_payment": "invoice_payment.paid"}


def fixture_events(name: str, *, created: int) -> list[dict]:
    resources = json.loads((FIXTURES / name).read_text())["resources"]
    tag = name.split(".")[0][-9:]
    return [event(f"evt_{tag}_{kind}", etype, copy.deepcopy(resources[kind]), created=created - i)
            for i, (kind, etype) in enumerate(FIXTURE_TYPES.items()) if kind in resources]


@pytest.mark.parametrize("name", ["fixtures3_subset.json", "fixtures3_subset_pre_basil.json"])
def test_fixture_objects_pulled_as_is_land_in_quarantine_with_the_reason(store, name):
    now = now_s()
    events = fixture_events(name, created=ts(now) - 600)
    # Stripe's fixtures use created=1234567890 and periods that end before they start.
    expected = {
        "invoice": "created=1234567890 is not a plausible time",
        "charge": "created=1234567890 is not a plausible time",
        "refund": "created=1234567890 is not a plausible time",
        "dispute": "created=1234567890 is not a plausible time",
    }
    if name == "fixtures3_subset.json":
        expected["subscription"] = "period end 976287773 is before its start 1896570518"
        expected["invoice_payment"] = "currency 'currency' is not one we report"
    else:
        expected["subscription"] = "period start 1234567890 is not a plausible time"
    events = [e for e in events if e["data"]["object"]["object"] in expected]
    server = StripeAPIServer(events=events)
    with server as url:
        report = pull_events(store, client_for(url), now=now)
    assert (report.listed, report.quarantined, report.recorded) == (len(expected), len(expected), 0)
    rows = {q.external_id: q for q in quarantined(store)}
    for e in events:
        q = rows[e["id"]]
        assert expected[e["data"]["object"]["object"]] in q.reason
        assert json.loads(q.payload) == e
    assert ledger(store) == []
    with server as url:  # listed again: the same refusal is kept once
        pull_events(store, client_for(url), now=now)
    assert len(quarantined(store)) == len(expected)


# -- reconciliation -------------------------------------------------------------------------------------------
def test_reconciliation_records_objects_older_than_30_days_once_per_version(store):
    now = now_s()
    subs = [subscription("sub_old", created=ts(now) - 90 * DAY),
            subscription("sub_gone", created=ts(now) - 60 * DAY, status="canceled", customer="cus_B2"),
            subscription("sub_new", created=ts(now) - 10 * DAY)]
    invoices = [invoice("in_old", created=ts(now) - 45 * DAY, sub_id="sub_old"),
                invoice("in_older", created=ts(now) - 75 * DAY, sub_id="sub_old", pre_basil=True),
                invoice("in_new", created=ts(now) - 5 * DAY, sub_id="sub_new")]
    server = StripeAPIServer(subscriptions=subs, invoices=invoices)
    with server as url:
        client = client_for(url)
        first = reconcile(store, client, now=now)
        second = reconcile(store, client, now=now + timedelta(days=1))
        changed = copy.deepcopy(subs[0])
        changed["status"] = "past_due"
        server.put("subscriptions", changed)
        third = reconcile(store, client, now=now + timedelta(days=2))

    cutoff = str(ts(now - timedelta(days=30)))
    sub_req, inv_req = server.requests_to("/v1/subscriptions")[0], server.requests_to("/v1/invoices")[0]
    assert sub_req.params == {"limit": "100", "created[lt]": cutoff, "status": "all"}
    assert inv_req.params == {"limit": "100", "created[lt]": cutoff}
    assert first.listed == {"subscription": 2, "invoice": 2} and first.recorded == first.listed
    assert second.recorded == {"subscription": 0, "invoice": 0} and second.unchanged == first.listed
    assert third.recorded == {"subscription": 1, "invoice": 0}

    rows = ledger(store)
    assert len(rows) == 5
    assert {r.event_type for r in rows} == {"reconcile.subscription", "reconcile.invoice"}
    assert {r.source for r in rows} == {"reconcile"} and {r.gateway for r in rows} == {"stripe"}
    old = [r for r in rows if r.event_key.startswith("recon:sub_old:")]
    assert [r.event_key for r in old] == [f"recon:sub_old:{content_hash(subs[0])}",
                                          f"recon:sub_old:{content_hash(changed)}"]
    assert [r.occurred_at for r in old] == [now.replace(tzinfo=None), (now + timedelta(days=2)).replace(tzinfo=None)]
    assert json.loads(old[1].payload) == changed
    # The client's objects turn this field into a Decimal; the payload keeps Stripe's string.
    assert '"unit_amount_decimal": "2000"' in old[0].payload
    assert {r.api_version for r in rows} == {stripe.api_version}  # the version the objects were rendered in


def test_reconciliation_quarantines_objects_that_fail_the_checks_once(store):
    now = now_s()
    tiered = subscription("sub_tiered", created=ts(now) - 40 * DAY, unit_amount=None)
    server = StripeAPIServer(subscriptions=[tiered, subscription("sub_ok", created=ts(now) - 40 * DAY)])
    with server as url:
        report = reconcile(store, client_for(url), now=now)
        reconcile(store, client_for(url), now=now)
    assert report.quarantined == {"subscription": 1, "invoice": 0}
    assert report.recorded == {"subscription": 1, "invoice": 0}
    (q,) = quarantined(store)
    assert q.external_id == "sub_tiered" and "tiered or metered prices are not supported" in q.reason


def test_reconciliation_pages_through_more_than_one_page(store):
    now = now_s()
    invoices = [invoice(f"in_{i:04d}", created=ts(now) - 31 * DAY - i) for i in range(130)]
    server = StripeAPIServer(invoices=invoices)
    with server as url:
        report = reconcile(store, client_for(url), now=now)
    assert report.recorded["invoice"] == 130
    assert [r.params.get("starting_after") for r in server.requests_to("/v1/invoices")] == [None, "in_0099"]


# -- pieces -------------------------------------------------------------------------------------------------
def test_list_items_slices_each_element_verbatim():
    body = '{ "object" : "list", "url": "/v1/x", "meta": {"data": ["not this"]},\n "data" : [ {"a": "],[{"},' \
           '\n  {"b": [1, {"c": "\\"}"}]} , 7 ], "has_more": false}'
    assert list_items(body) == [('{"a": "],[{"}', {"a": "],[{"}), ('{"b": [1, {"c": "\\"}"}]}', {"b": [1, {"c": '"}'}]}),
                                ("7", 7)]
    assert list_items('{"data": []}') == []


def test_make_client_points_at_the_configured_base_and_needs_a_key(data_dir, monkeypatch):
    from analyticbot.settings import ConfigError

    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="STRIPE_API_KEY is not set"):
        make_client(get_settings())
    now = now_s()
    server = StripeAPIServer(events=[paid(1, created=ts(now) - 60)])
    with server as url:
        monkeypatch.setenv("STRIPE_API_KEY", API_KEY)
        monkeypatch.setenv("STRIPE_API_BASE", url)
        page = make_client(get_settings()).v1.events.list()
    assert [e.id for e in page.data] == ["evt_000001"]


# -- Dagster ------------------------------------------------------------------------------------------------
def test_assets_pull_with_a_stored_cursor_and_reconcile(store, monkeypatch):
    now = now_s()
    # Half an hour, 1.5 h and 2.5 h old: only the first is inside the overlap of the second run.
    server = StripeAPIServer(events=[paid(i, created=ts(now) - 1800 * (2 * i - 1)) for i in range(1, 4)],
                             subscriptions=[subscription("sub_old", created=ts(now) - 40 * DAY)])
    instance = dg.DagsterInstance.ephemeral()
    with server as url:
        monkeypatch.setenv("STRIPE_API_KEY", API_KEY)
        monkeypatch.setenv("STRIPE_API_BASE", url)
        first = dg.materialize([stripe_events_pull, stripe_reconciliation], instance=instance)
        server.put("events", paid(9, created=ts(now) + 60))
        second = dg.materialize([stripe_events_pull], instance=instance)

    def meta(result, name):
        (m,) = result.asset_materializations_for_node(f"raw__{name}")
        return {k: v.value for k, v in m.metadata.items()}

    pulled, reconciled, again = meta(first, "stripe_events_pull"), meta(first, "stripe_reconciliation"), \
        meta(second, "stripe_events_pull")
    assert (pulled["events_listed"], pulled["events_recorded"]) == (3, 3)
    assert reconciled["subscriptions_recorded"] == 1 and reconciled["invoices_listed"] == 0
    # The second run starts from the cursor the first one stored, minus the overlap.
    since = server.requests_to("/v1/events")[1].params["created[gte]"]
    assert int(since) == int(pulled["cursor"] - OVERLAP.total_seconds())
    assert (again["events_recorded"], again["events_duplicate"]) == (1, 1)
    assert len(ledger(store)) == 5


def test_assets_skip_without_a_stripe_key(store, monkeypatch):
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    result = dg.materialize([stripe_events_pull, stripe_reconciliation])
    for name in ("stripe_events_pull", "stripe_reconciliation"):
        (m,) = result.asset_materializations_for_node(f"raw__{name}")
        assert m.metadata["skipped"].value == "STRIPE_API_KEY not set"
    assert ledger(store) == []
