import dagster as dg

from analyticbot.appstore.activity import load_activity
from analyticbot.appstore.channels import mirror_tables
from analyticbot.settings import get_settings
from analyticbot.warehouse import open_warehouse
from orchestration.defs.privacy.assets import WAREHOUSE_PURGE
from orchestration.lib.pools import WAREHOUSE_POOL


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", "app_users"], description="Mirror of the operational store's users.",
                     group_name="raw", kinds={"sqlalchemy", "duckdb"}, deps=[WAREHOUSE_PURGE]),
        dg.AssetSpec(["raw", "app_channels"], description="Mirror of the operational store's channels and owners.",
                     group_name="raw", kinds={"sqlalchemy", "duckdb"}, deps=[WAREHOUSE_PURGE]),
        dg.AssetSpec(["raw", "app_plans"], description="Mirror of the plan catalogue (prices, limits).",
                     group_name="raw", kinds={"sqlalchemy", "duckdb"}, deps=[WAREHOUSE_PURGE]),
    ],
    pool=WAREHOUSE_POOL,
)
def app_mirror(context: dg.AssetExecutionContext):
    """Copy users and channels from the operational store into the warehouse, replacing the previous copy.

    dbt joins them to the Telegram data (owner, time zone). Read-only on the operational store."""
    settings = get_settings()
    tables = mirror_tables(settings)
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        for name, table in tables.items():
            wh.replace_app_mirror(name, table)
    for name, table in tables.items():
        yield dg.MaterializeResult(asset_key=["raw", name], metadata={"dagster/row_count": table.num_rows})


@dg.asset(key=["raw", "app_user_activity_daily"], group_name="raw", kinds={"sqlalchemy", "duckdb"},
          deps=[WAREHOUSE_PURGE], pool=WAREHOUSE_POOL)
def app_user_activity(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Daily product usage per user (bot commands, Mini App sessions, reports opened), copied from the
    operational store: in full the first time, then from a couple of days below the newest day copied, since
    today's counters still grow. The churn model reads it through `marts.fct_user_activity_daily`."""
    settings = get_settings()
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        report = load_activity(settings, wh)
        total = wh.count("raw.app_user_activity_daily")
    context.log.info(f"activity days copied from {report.since or 'the beginning'}: {report.rows}")
    return dg.MaterializeResult(metadata={"copied": report.rows, "since": str(report.since or ""),
                                          "dagster/row_count": total})
