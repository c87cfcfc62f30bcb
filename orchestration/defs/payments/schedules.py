import dagster as dg

from orchestration.defs.payments.ledger_assets import PAYMENT_EVENTS

STRIPE_PULL = dg.AssetKey(["raw", "stripe_events_pull"])
STRIPE_RECONCILIATION = dg.AssetKey(["raw", "stripe_reconciliation"])

stripe_pull_job = dg.define_asset_job(
    "stripe_pull",
    selection=dg.AssetSelection.assets(STRIPE_PULL, PAYMENT_EVENTS),
    description="List Stripe events since the last pull (1 h overlap) and copy the ledger to the warehouse.",
)
stripe_reconcile_job = dg.define_asset_job(
    "stripe_reconcile",
    selection=dg.AssetSelection.assets(STRIPE_RECONCILIATION),
    description="List Stripe subscriptions and invoices older than 30 days (events are kept only 30 days).",
)

# The pull must run at least once per overlap window (1 h) to catch every missed webhook.
stripe_pull_hourly = dg.ScheduleDefinition(
    name="stripe_pull_hourly", job=stripe_pull_job, cron_schedule="5 * * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
# Before the daily build (03:15), so the build sees the reconciled history.
stripe_reconcile_daily = dg.ScheduleDefinition(
    name="stripe_reconcile_daily", job=stripe_reconcile_job, cron_schedule="30 2 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
