import os

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from analyticbot.settings import get_settings
from orchestration.defs.dbt.resources import DBT_PROJECT_DIR, dbt_project
from orchestration.lib.pools import WAREHOUSE_POOL
from orchestration.lib.translator import AnalyticBotTranslator

# One target folder for every run instead of dagster-dbt's folder per invocation (those piled up at ~1 MB a
# run). Runs never overlap: every warehouse writer is in the pool of size 1.
RUN_TARGET = DBT_PROJECT_DIR / "target" / "dagster_run"


@dbt_assets(manifest=dbt_project().manifest_path, project=dbt_project(),
            dagster_dbt_translator=AnalyticBotTranslator(), pool=WAREHOUSE_POOL)
def analyticbot_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """dbt build: staging views, intermediate (incremental on the snapshot-heavy path) and marts, with their
    data tests reported as asset checks. Incremental models reprocess only from the last loaded day.

    dbt unit tests check the SQL, not the data, so they run in the test suite (tests/dbt), not on every build."""
    os.environ.update(get_settings().dbt_env())
    # No .fetch_row_counts(): it opens the DuckDB file in this process and keeps it open, which blocks the
    # next warehouse writer (publish) in the same run. The publish asset reports row counts instead.
    yield from dbt.cli(["build", "--exclude-resource-type", "unit_test"], context=context,
                       target_path=RUN_TARGET).stream()
