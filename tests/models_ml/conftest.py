"""The demo warehouse the model tests read: the whole pipeline run once per test session at the default demo
scale (8 channels x 120 days, 800 paying customers over 18 months), in a temporary data dir. ~40 s on 2 cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import polars as pl
import pytest


@dataclass
class DemoWarehouse:
    settings: object

    def read(self, reader) -> pl.DataFrame:
        from analyticbot.warehouse import open_warehouse

        with open_warehouse(self.settings, read_only=True) as wh:
            return reader(wh)

    @cached_property
    def posts(self) -> pl.DataFrame:
        from models_ml import inputs

        return self.read(inputs.posts)

    @cached_property
    def channel_daily(self) -> pl.DataFrame:
        from models_ml import inputs

        return self.read(inputs.channel_daily)

    @cached_property
    def churn_inputs(self):
        from models_ml import inputs

        return self.read(inputs.churn_inputs)


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> DemoWarehouse:
    mp = pytest.MonkeyPatch()
    data = tmp_path_factory.mktemp("models_demo") / "data"
    mp.setenv("ANALYTICBOT_DATA_DIR", str(data))
    mp.delenv("ANALYTICBOT_APP_DB_URL", raising=False)
    mp.delenv("ANALYTICBOT_WAREHOUSE_URL", raising=False)
    mp.delenv("DAGSTER_HOME", raising=False)
    mp.setenv("ANALYTICBOT_DEMO_SCALE", "default")
    from analyticbot import cli
    from analyticbot.settings import get_settings

    settings = get_settings()
    assert cli.build_demo(settings, say=lambda _: None), "the demo pipeline failed"
    mp.undo()
    return DemoWarehouse(settings)
