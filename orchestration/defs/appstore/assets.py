import dagster as dg

from analyticbot.appstore.channels import mirror_tables
from analyticbot.settings import get_settings
from analyticbot.warehouse import open_warehouse
from orchestration.lib.pools import WAREHOUSE_POOL


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", "app_users"], description="Mirror of the operational store's users.",
                     group_name="raw", kinds={"sqlalchemy", "duckdb"}),
        dg.AssetSpec(["raw", "app_channels"], description="Mirror of the operational store's channels and owners.",
                     group_name="raw", kinds={"sqlalchemy", "duckdb"}),
        dg.AssetSpec(["raw", "app_plans"], description="Mirror of the plan catalogue (prices, limits).",
                     group_name="raw", kinds={"sqlalchemy", "duckdb"}),
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
