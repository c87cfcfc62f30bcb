from datetime import datetime, timezone

import dagster as dg

from analyticbot.payments.load import load_fx, load_ledger
from analyticbot.settings import get_settings
from analyticbot.warehouse import open_warehouse
from orchestration.lib.pools import WAREHOUSE_POOL

PAYMENT_EVENTS = dg.AssetKey(["raw", "payment_events"])
FX_RATES = dg.AssetKey(["raw", "fx_rates_daily"])


# After the Stripe pull and reconciliation (when a build runs them), so it copies what they just recorded.
@dg.asset(key=PAYMENT_EVENTS, deps=[["raw", "stripe_events_pull"], ["raw", "stripe_reconciliation"]],
          group_name="payments", kinds={"sqlalchemy", "duckdb"}, pool=WAREHOUSE_POOL)
def payment_ledger(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """The payment ledger (Stripe events, Payme and Click state changes) copied from the operational store,
    incrementally by ledger id. Append-only here as there; dbt's revenue models read it."""
    settings = get_settings()
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        report = load_ledger(settings, wh)
        total = wh.count("raw.payment_events")
    context.log.info(f"ledger rows read {report.read}, appended {report.appended}, cursor "
                     f"{report.cursor_before} -> {report.cursor_after}")
    return dg.MaterializeResult(metadata={
        "appended": report.appended, "cursor": report.cursor_after, "dagster/row_count": total})


@dg.asset(key=FX_RATES, deps=[PAYMENT_EVENTS], group_name="payments", kinds={"duckdb"}, pool=WAREHOUSE_POOL)
def fx_rates(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Daily USD rates for UZS and EUR over the payment history up to today. Demo rates by default; set
    ANALYTICBOT_FX_CSV to a real source's export to replace them for the days it covers."""
    settings = get_settings()
    today = datetime.now(timezone.utc).date()
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        written = load_fx(settings, wh, today)
        total = wh.count("raw.fx_rates_daily")
    return dg.MaterializeResult(metadata={**{f"written_{k}": v for k, v in written.items()},
                                          "dagster/row_count": total})
