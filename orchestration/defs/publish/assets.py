import dagster as dg

from analyticbot.settings import get_settings
from analyticbot.snapshot import publish
from analyticbot.warehouse import open_warehouse
from orchestration.defs.ml.assets import ML_TABLES
from orchestration.lib.pools import WAREHOUSE_POOL

MARTS = ["dim_channels", "fct_posts", "fct_channel_daily", "fct_post_hourly_heatmap",
         "fct_payments", "fct_subscription_periods", "fct_mrr_monthly", "fct_revenue_daily", "fct_cohort_retention",
         "fct_saas_kpis_monthly", "fct_user_activity_daily", "fct_payment_failures", "fct_cancellation_requests"]


@dg.asset(
    key=["published", "snapshot"],
    deps=[*(dg.AssetKey(["marts", m]) for m in MARTS), *ML_TABLES],
    group_name="publish",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    automation_condition=dg.AutomationCondition.eager(),
)
def published_snapshot(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Copy every reader-facing table (schemas marts, ml) into a new DuckDB file and swap it in atomically.

    Readers (TWA API, bot, dashboards) open short read-only connections to the newest snapshot and never
    touch the live warehouse. On PostgreSQL, readers use marts directly and this records a version row."""
    with open_warehouse(get_settings()) as wh:
        snap = publish(wh)
    meta = {"version": snap.version, "tables": dg.MetadataValue.json(snap.tables)}
    if snap.path is not None:
        meta["path"] = str(snap.path)
        meta["size_mb"] = round(snap.path.stat().st_size / 1e6, 2)
    return dg.MaterializeResult(metadata=meta)
