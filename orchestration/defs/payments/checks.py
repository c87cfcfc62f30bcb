import dagster as dg

from analyticbot.quality import SuiteResult, validate_ledger, validate_payments
from analyticbot.settings import get_settings
from analyticbot.warehouse import open_warehouse
from orchestration.defs.payments.ledger_assets import PAYMENT_EVENTS
from orchestration.lib.pools import WAREHOUSE_POOL


def _result(result: SuiteResult) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=result.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.describe(),
        metadata={"rows_checked": result.rows_checked, "failures": dg.MetadataValue.json(result.failures)},
    )


@dg.asset_check(asset=PAYMENT_EVENTS, blocking=True, pool=WAREHOUSE_POOL,
                description="Great Expectations: no event kept twice, known gateways and sources, nothing empty.")
def payment_ledger_expectations() -> dg.AssetCheckResult:
    with open_warehouse(get_settings()) as wh:
        return _result(validate_ledger(wh))


@dg.asset_check(asset=dg.AssetKey(["marts", "fct_payments"]), blocking=True, pool=WAREHOUSE_POOL,
                description="Great Expectations: amounts positive, currencies known, payment ids unique, "
                            "refunds never above their charge.")
def payments_expectations() -> dg.AssetCheckResult:
    with open_warehouse(get_settings()) as wh:
        return _result(validate_payments(wh))
