"""Stripe pull: the events webhooks may have missed, and the history older than Stripe keeps events for.

`pull_events` lists `/v1/events` from a cursor minus an overlap and hands each event to
`stripe_events.ingest_event`, the same door the webhook uses: an event that already came by webhook is a
duplicate (counted, not stored), one that did not is recorded, a bad one is quarantined.

The cursor is the start of the last *complete* pull, kept by the caller (the Dagster asset keeps it in its
materialization metadata). It is not derived from the ledger: webhooks keep the newest ledger row close to now,
so a cursor read from the ledger would jump over a webhook missed hours ago; and Stripe lists newest first, so a
pull that stopped half-way has written its newest pages, not its oldest. A failed pull therefore leaves the
cursor where it was and the next one lists the same window again, which costs duplicates, never events.

`reconcile` lists subscriptions and invoices created more than 30 days ago (events older than that are gone from
the Events API) and records each object as it is now, once per distinct content.

Payloads are the JSON text of each listed item exactly as it appears in Stripe's response body (sliced out of it,
not re-serialised from the client's objects, which turn some fields into other types)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

import stripe

from analyticbot.appstore.db import AppStore
from analyticbot.payments.ledger import quarantine, record_event
from analyticbot.payments.stripe_events import HANDLED_TYPES, ingest_event, problem
from analyticbot.settings import Settings

# The SDK otherwise reports request latencies to Stripe with every call; telemetry stays off everywhere.
stripe.enable_telemetry = False

LISTING_API_VERSION = "2025-03-31.basil"
# Stripe may make an event listable a little after its `created` (and our clock is not Stripe's); re-listing an
# hour costs only duplicates, which the ledger's unique event key absorbs.
OVERLAP = timedelta(hours=1)
# Stripe's Events API returns events from the last 30 days only.
EVENT_RETENTION = timedelta(days=30)
PAGE_SIZE = 100  # Stripe's maximum; one page is one transaction
MAX_NETWORK_RETRIES = 2  # the client retries connection errors, 409 and 5xx with backoff (and 429 if told to)
TIMEOUT_S = 30

# The Events API filters on at most 20 types. Listing only the types we use keeps the quarantine for real
# problems instead of filling it with every `customer.created`; when HANDLED_TYPES outgrows the filter we list
# everything and let the door quarantine the rest.
_TYPES_FILTER_MAX = 20


class StripeAccessError(RuntimeError):
    """Stripe refused the API key. The message names the setting, never the key."""


@dataclass(frozen=True)
class PullReport:
    since: datetime  # `created[gte]` of this listing (UTC)
    cursor: datetime  # where the next pull starts (minus OVERLAP): the start of this one
    listed: int = 0
    recorded: int = 0
    duplicate: int = 0
    quarantined: int = 0
    pages: int = 0
    # Set when the previous cursor is older than Stripe keeps events: events between it and `since` could not
    # be listed (their objects' current state still comes through `reconcile`).
    gap_from: datetime | None = None
    reasons: list[str] = field(default_factory=list)  # the first quarantine reasons, for the run log


@dataclass(frozen=True)
class ReconcileReport:
    created_before: datetime
    listed: dict[str, int]
    recorded: dict[str, int]
    unchanged: dict[str, int]
    quarantined: dict[str, int]
    reasons: list[str] = field(default_factory=list)


def make_client(settings: Settings) -> stripe.StripeClient:
    """The real Stripe client; `STRIPE_API_BASE` points it at a local server (tests, benchmarks)."""
    api_key = settings.require("stripe_api_key")
    return stripe.StripeClient(
        api_key,
        # Listed objects come in the shape of the requested version: pin the newest shape staging reads,
        # not the SDK's own default (newer, and unknown to the models).
        stripe_version=LISTING_API_VERSION,
        base_addresses={"api": settings.stripe_api_base} if settings.stripe_api_base else None,
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_S),
    )


# -- events -----------------------------------------------------------------------------------------------------
def pull_events(store: AppStore, client: stripe.StripeClient, *, cursor: datetime | None = None,
                now: datetime | None = None) -> PullReport:
    """List events created since `cursor - OVERLAP` (at most 30 days back) and ingest each one, a page per
    transaction. `cursor` is the `report.cursor` of the last pull that finished; None on the first run."""
    now = _aware(now) if now is not None else datetime.now(timezone.utc)
    oldest = now - EVENT_RETENTION
    wanted = _aware(cursor) - OVERLAP if cursor is not None else oldest
    since, gap_from = (wanted, None) if wanted >= oldest else (oldest, wanted)
    params: dict[str, Any] = {"limit": PAGE_SIZE, "created": {"gte": int(since.timestamp())}}
    if len(HANDLED_TYPES) <= _TYPES_FILTER_MAX:
        params["types"] = sorted(HANDLED_TYPES)

    counts = {"recorded": 0, "duplicate": 0, "quarantined": 0}
    listed = pages = 0
    reasons: list[str] = []
    for items, _version in _pages(lambda: client.v1.events.list(params=params)):
        pages += 1
        listed += len(items)
        with store.transaction() as session:
            for raw, event in items:
                outcome = ingest_event(session, event, raw=raw, source="pull")
                counts[outcome.status] += 1
                if outcome.reason and len(reasons) < 20:
                    reasons.append(f"{outcome.event_id}: {outcome.reason}")
    return PullReport(since=since, cursor=now, listed=listed, pages=pages, gap_from=gap_from, reasons=reasons,
                      **counts)


# -- reconciliation ---------------------------------------------------------------------------------------------
# The event type whose checks apply to a listed object (stripe_events checks objects inside events).
_ENVELOPE_TYPE = {"subscription": "customer.subscription.updated", "invoice": "invoice.paid"}


def reconcile(store: AppStore, client: stripe.StripeClient, *, now: datetime | None = None,
              older_than_days: int = 30) -> ReconcileReport:
    """Record the current state of every subscription (any status) and invoice created more than
    `older_than_days` ago: ledger rows `recon:<id>:<hash>` of type `reconcile.subscription` /
    `reconcile.invoice`, at the time of listing. The hash is of the object's content, so an unchanged object
    writes nothing and a changed one adds a row. Objects that fail the checks are quarantined with the reason."""
    now = _aware(now) if now is not None else datetime.now(timezone.utc)
    created_before = now - timedelta(days=older_than_days)
    params = {"limit": PAGE_SIZE, "created": {"lt": int(created_before.timestamp())}}
    listings: dict[str, Callable[[], stripe.ListObject]] = {
        "subscription": lambda: client.v1.subscriptions.list(params={**params, "status": "all"}),
        "invoice": lambda: client.v1.invoices.list(params=params),
    }
    listed = dict.fromkeys(listings, 0)
    recorded, unchanged, quarantined = dict(listed), dict(listed), dict(listed)
    reasons: list[str] = []
    occurred_at = now.replace(tzinfo=None)
    for kind, first_page in listings.items():
        for items, api_version in _pages(first_page):
            listed[kind] += len(items)
            with store.transaction() as session:
                for raw, obj in items:
                    reason = _object_problem(kind, obj)
                    if reason is not None:
                        quarantine(session, gateway="stripe", reason=reason, payload=raw,
                                   external_id=obj.get("id") if isinstance(obj.get("id"), str) else None)
                        quarantined[kind] += 1
                        if len(reasons) < 20:
                            reasons.append(reason)
                        continue
                    write = record_event(
                        session, gateway="stripe", event_key=f"recon:{obj['id']}:{content_hash(obj)}",
                        event_type=f"reconcile.{kind}", source="reconcile", occurred_at=occurred_at,
                        payload=raw, api_version=api_version)
                    (recorded if write.inserted else unchanged)[kind] += 1
    return ReconcileReport(created_before=created_before, listed=listed, recorded=recorded, unchanged=unchanged,
                           quarantined=quarantined, reasons=reasons)


def content_hash(obj: Any) -> str:
    """First 16 hex digits of the sha256 of the object's canonical JSON: the same content gives the same key
    however the response happened to be formatted."""
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _object_problem(kind: str, obj: Any) -> str | None:
    if not isinstance(obj, dict) or obj.get("object") != kind or not isinstance(obj.get("id"), str):
        return f"listed {kind} is not a {kind} object with an id"
    # stripe_events checks objects as the payload of an event; wrap it in one (stamped with the wall clock, which
    # the envelope checks compare against) so both doors apply the same rules to the object.
    envelope = {"id": f"evt_reconcile_{obj['id']}", "object": "event", "type": _ENVELOPE_TYPE[kind],
                "created": int(datetime.now(timezone.utc).timestamp()), "data": {"object": obj}}
    return problem(envelope)


# -- listing ----------------------------------------------------------------------------------------------------
def _pages(first: Callable[[], stripe.ListObject]) -> Iterator[tuple[list[tuple[str, Any]], str | None]]:
    """Each page of a listing as (its items as (raw JSON text, parsed), the API version it was rendered in)."""
    try:
        page = first()
        while True:
            response = page.last_response
            if response is None:  # pragma: no cover - every list call made through a client has one
                raise RuntimeError("the Stripe client returned a list without its response")
            yield list_items(response.body), response.headers.get("stripe-version")
            if not page.has_more or not page.data:
                return
            page = page.next_page()
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        # Not retried, and not worth a traceback through the client: the fix is the setting. Stripe's own message
        # echoes part of the key, so it stays out.
        what = ("STRIPE_API_KEY is not allowed to list this (a restricted key needs read access)"
                if exc.http_status == 403 else "Stripe refused STRIPE_API_KEY")
        raise StripeAccessError(f"{what} (HTTP {exc.http_status}, request {exc.request_id})") from None


def list_items(body: str) -> list[tuple[str, Any]]:
    """Each element of a list response's `data` array: its text exactly as it appears in `body`, and its value."""
    decoder = json.JSONDecoder()
    pos = _skip_ws(body, 0)
    if body[pos:pos + 1] != "{":
        raise ValueError("a Stripe list response is a JSON object")
    pos += 1
    while True:
        pos = _skip_ws(body, pos)
        if body[pos] == "}":
            raise ValueError("a Stripe list response has a `data` array")
        key, pos = decoder.raw_decode(body, pos)
        pos = _skip_ws(body, pos)
        if body[pos] != ":":
            raise ValueError(f"expected ':' at {pos}")
        pos = _skip_ws(body, pos + 1)
        if key == "data":
            return _array_items(body, pos, decoder)
        _, pos = decoder.raw_decode(body, pos)
        pos = _skip_ws(body, pos)
        if body[pos] == ",":
            pos += 1


def _array_items(body: str, pos: int, decoder: json.JSONDecoder) -> list[tuple[str, Any]]:
    if body[pos] != "[":
        raise ValueError("`data` is not an array")
    items: list[tuple[str, Any]] = []
    pos = _skip_ws(body, pos + 1)
    if body[pos] == "]":
        return items
    while True:
        value, end = decoder.raw_decode(body, pos)
        items.append((body[pos:end], value))
        pos = _skip_ws(body, end)
        if body[pos] == "]":
            return items
        if body[pos] != ",":
            raise ValueError(f"expected ',' or ']' at {pos}")
        pos = _skip_ws(body, pos + 1)


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _aware(value: datetime) -> datetime:
    """The ledger keeps naive UTC; callers may pass either."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
