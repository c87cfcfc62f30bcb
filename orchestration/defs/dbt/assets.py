import os

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from analyticbot.settings import get_settings
from orchestration.defs.dbt.resources import dbt_project
from orchestration.lib.pools import WAREHOUSE_POOL
from orchestration.lib.translator import AnalyticBotTranslator


@dbt_assets(manifest=dbt_project().manifest_path, project=dbt_project(),
            dagster_dbt_translator=AnalyticBotTranslator(), pool=WAREHOUSE_POOL)
def analyticbot_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """dbt build: staging views, intermediate (incremental on the snapshot-heavy path) and marts, with tests
    reported as asset checks. Incremental models reprocess only from the last loaded day."""
    os.environ.update(get_settings().dbt_env())
    # No .fetch_row_counts(): it opens the DuckDB file in this process and keeps it open, which blocks the
    # next warehouse writer (publish) in the same run. The publish asset reports row counts instead.
    yield from dbt.cli(["build"], context=context).stream()
