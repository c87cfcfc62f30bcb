import dagster as dg

from analyticbot.quality import validate_snapshots
from analyticbot.settings import get_settings
from analyticbot.warehouse import open_warehouse
from orchestration.lib.pools import WAREHOUSE_POOL


# In the warehouse pool although it only reads: DuckDB refuses any other process while one holds the file.
@dg.asset_check(asset=dg.AssetKey(["raw", "telegram_post_snapshots"]), blocking=True, pool=WAREHOUSE_POOL,
                description="Great Expectations: views never negative, never decreasing per post, timestamps sane.")
def raw_snapshots_expectations() -> dg.AssetCheckResult:
    with open_warehouse(get_settings()) as wh:
        result = validate_snapshots(wh)
    return dg.AssetCheckResult(
        passed=result.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.describe(),
        metadata={"rows_checked": result.rows_checked, "failures": dg.MetadataValue.json(result.failures)},
    )
