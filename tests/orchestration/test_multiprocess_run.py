"""The run the Dagster UI launches: multiprocess executor, steps in separate processes, one warehouse pool.

DuckDB lets one process hold the file at a time, so every warehouse step must be in the pool whose limit
`orchestration/dagster.yaml` sets to 1: the steps must succeed and the pool's steps never overlap in time.
Steps outside the pool (the Stripe pull, which writes only the operational store) may run alongside."""

from __future__ import annotations

import itertools
import shutil

import dagster as dg
import pytest

from analyticbot.settings import REPO_ROOT
from orchestration.definitions import full_build_job
from orchestration.lib.pools import WAREHOUSE_POOL


@pytest.fixture
def instance(tmp_path, data_dir, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")  # the real config
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("ANALYTICBOT_DEMO_SCALE", "tiny")
    with dg.DagsterInstance.get() as inst:
        yield inst


def test_full_build_with_the_multiprocess_executor_and_pools(instance):
    from analyticbot import cli
    from analyticbot.settings import get_settings
    from analyticbot.snapshot import SnapshotReader

    settings = get_settings()
    cli.cmd_migrate(settings)
    cli.register_demo_accounts(settings)
    result = dg.execute_job(dg.reconstructable(full_build_job), instance=instance, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    steps = instance.get_run_step_stats(result.run_id)
    assert {"app_mirror", "telegram_raw", "analyticbot_dbt", "published__snapshot"} <= {s.step_key for s in steps}
    pooled = {n.name for n in full_build_job().graph.nodes if getattr(n.definition, "pool", None) == WAREHOUSE_POOL}
    assert {"raw__payment_events", "raw__fx_rates_daily", "analyticbot_dbt"} <= pooled
    steps = [s for s in steps if s.step_key in pooled]
    for a, b in itertools.combinations(steps, 2):
        assert a.end_time <= b.start_time or b.end_time <= a.start_time, f"{a.step_key} overlapped {b.step_key}"
    assert SnapshotReader(settings).query("SELECT count(*) AS n FROM marts.fct_posts")["n"][0] > 0
