from datetime import datetime, timezone

import dagster as dg

from analyticbot.appstore.db import AppStore
from analyticbot.payments.stripe_pull import make_client, pull_events, reconcile
from analyticbot.settings import get_settings

EVENTS_PULL_KEY = dg.AssetKey(["raw", "stripe_events_pull"])
RECONCILIATION_KEY = dg.AssetKey(["raw", "stripe_reconciliation"])
SKIPPED = {"skipped": "STRIPE_API_KEY not set"}

# Both only append to the operational store's ledger (idempotently), never the warehouse: no pool. A retry after
# a rate limit or an outage re-lists what the failed attempt listed and records only what is missing.
_RETRY = dg.RetryPolicy(max_retries=2, delay=60, backoff=dg.Backoff.EXPONENTIAL)


def _last_cursor(context: dg.AssetExecutionContext) -> datetime | None:
    """The cursor stored by the last successful pull (a failed run stores none, so the window is listed again)."""
    entry = context.instance.get_latest_materialization_event(EVENTS_PULL_KEY)
    materialization = entry.asset_materialization if entry is not None else None
    cursor = materialization.metadata.get("cursor") if materialization is not None else None
    return datetime.fromtimestamp(cursor.value, timezone.utc) if cursor is not None else None


@dg.asset(key=EVENTS_PULL_KEY, group_name="payments", kinds={"stripe"}, retry_policy=_RETRY)
def stripe_events_pull(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Stripe events since the last pull (minus a 1 hour overlap, at most 30 days back) into the payment ledger.

    Catches webhooks that never arrived: an event already received by webhook is counted as a duplicate and not
    stored twice; one that fails the checks goes to `payment_quarantine` with the reason. The cursor is this
    asset's `cursor` metadata, written only when a pull completes. Skipped when STRIPE_API_KEY is not set."""
    settings = get_settings()
    if not settings.stripe_api_key:
        context.log.info("Stripe pull skipped: STRIPE_API_KEY is not set")
        return dg.MaterializeResult(metadata=SKIPPED)
    cursor = _last_cursor(context)
    store = AppStore(settings)
    try:
        report = pull_events(store, make_client(settings), cursor=cursor)
    finally:
        store.dispose()
    if report.gap_from is not None:
        context.log.warning(f"events between {report.gap_from:%Y-%m-%d %H:%M} and {report.since:%Y-%m-%d %H:%M} "
                            "UTC are past Stripe's 30-day event retention; run the reconciliation")
    for reason in report.reasons:
        context.log.warning(f"quarantined: {reason}")
    return dg.MaterializeResult(metadata={
        "cursor": dg.MetadataValue.timestamp(report.cursor),
        "listed_since": dg.MetadataValue.timestamp(report.since),
        "events_listed": report.listed,
        "events_recorded": report.recorded,
        "events_duplicate": report.duplicate,
        "events_quarantined": report.quarantined,
        "pages": report.pages,
    })


@dg.asset(key=RECONCILIATION_KEY, group_name="payments", kinds={"stripe"}, retry_policy=_RETRY)
def stripe_reconciliation(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """The current state of every Stripe subscription and invoice created more than 30 days ago, into the ledger.

    Events older than 30 days are gone from Stripe's Events API; this listing is how history before the first
    pull (or a gap in pulling) reaches the revenue models. Each distinct version of an object is one ledger row
    (`reconcile.subscription` / `reconcile.invoice`), so re-running writes nothing new unless an object changed.
    Skipped when STRIPE_API_KEY is not set."""
    settings = get_settings()
    if not settings.stripe_api_key:
        context.log.info("Stripe reconciliation skipped: STRIPE_API_KEY is not set")
        return dg.MaterializeResult(metadata=SKIPPED)
    store = AppStore(settings)
    try:
        report = reconcile(store, make_client(settings))
    finally:
        store.dispose()
    for reason in report.reasons:
        context.log.warning(f"quarantined: {reason}")
    metadata: dict = {"created_before": dg.MetadataValue.timestamp(report.created_before)}
    for kind in report.listed:
        metadata[f"{kind}s_listed"] = report.listed[kind]
        metadata[f"{kind}s_recorded"] = report.recorded[kind]
        metadata[f"{kind}s_unchanged"] = report.unchanged[kind]
        metadata[f"{kind}s_quarantined"] = report.quarantined[kind]
    return dg.MaterializeResult(metadata=metadata)
