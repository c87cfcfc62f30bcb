"""How dbt nodes become Dagster assets: keys ``[schema, name]`` so dbt models and Python assets share one
namespace (``raw/telegram_posts`` is both the ingestion asset and the dbt source)."""

from datetime import timedelta
from typing import Any, Mapping, Optional

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

MART_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26), warn_window=timedelta(hours=13))


class AnalyticBotTranslator(DagsterDbtTranslator):
    def __init__(self):
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str,
                       project: Optional[DbtProject]) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec.replace_attributes(key=dg.AssetKey([props["schema"], props["name"]]))
        schema = props["config"].get("schema") or props["schema"]
        spec = spec.replace_attributes(key=dg.AssetKey([schema, props["name"]]), group_name=schema)
        if schema == "marts":
            spec = spec.replace_attributes(freshness_policy=MART_FRESHNESS)
        return spec.replace_attributes(automation_condition=dg.AutomationCondition.eager())
