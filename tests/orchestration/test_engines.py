"""The same demo seed through the whole pipeline on DuckDB and on PostgreSQL gives the same marts, row for row:
the Telegram marts and the revenue marts over the demo payment history.

Both stores move to PostgreSQL for the second run (operational store and warehouse), as in production; readers
then query `marts` directly instead of a published DuckDB file."""

from __future__ import annotations

import math

import polars as pl
import pytest

MARTS = {
    "dim_channels": ["channel_id"],
    "fct_posts": ["channel_id", "message_id"],
    "fct_channel_daily": ["channel_id", "date"],
    "fct_post_hourly_heatmap": ["channel_id", "weekday", "hour"],
    "fct_payments": ["payment_id"],
    "fct_subscription_periods": ["period_id"],
    "fct_mrr_monthly": ["month", "customer_id"],
    "fct_revenue_daily": ["revenue_date", "gateway", "plan_code"],
    "fct_cohort_retention": ["cohort_month", "months_since_first"],
    "fct_saas_kpis_monthly": ["month"],
}


def _run(tmp_path_factory, name: str, url: str | None) -> dict[str, pl.DataFrame]:
    from analyticbot import cli
    from analyticbot.settings import get_settings
    from analyticbot.snapshot import SnapshotReader

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANALYTICBOT_DATA_DIR", str(tmp_path_factory.mktemp(name) / "data"))
        mp.setenv("ANALYTICBOT_DEMO_SCALE", "tiny")
        mp.delenv("DAGSTER_HOME", raising=False)
        for var in ("ANALYTICBOT_WAREHOUSE_URL", "ANALYTICBOT_APP_DB_URL"):
            if url:
                mp.setenv(var, url)
            else:
                mp.delenv(var, raising=False)
        settings = get_settings()
        cli.cmd_migrate(settings)
        cli.register_demo_accounts(settings)
        cli.seed_demo_payments(settings)  # through the webhook code into this run's operational store
        assert cli.run_pipeline(settings)
        reader = SnapshotReader(settings)
        return {m: reader.query(f"SELECT * FROM marts.{m} ORDER BY {', '.join(k)}") for m, k in MARTS.items()}


@pytest.fixture(scope="module")
def both(tmp_path_factory, pg_url_module):
    return _run(tmp_path_factory, "duck", None), _run(tmp_path_factory, "pg", pg_url_module)


def _equal(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_mart_is_identical_on_duckdb_and_postgres(both, mart):
    duck, pg = both
    left, right = duck[mart], pg[mart]
    assert left.columns == right.columns
    assert left.height == right.height > 0
    for i, (l, r) in enumerate(zip(left.iter_rows(named=True), right.iter_rows(named=True))):
        diff = {c: (l[c], r[c]) for c in left.columns if not _equal(l[c], r[c])}
        assert not diff, f"{mart} row {i} {[l[k] for k in MARTS[mart]]}: {diff}"
