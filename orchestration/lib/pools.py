"""Concurrency pools. DuckDB allows one writing process at a time, so every warehouse writer shares one pool,
limited to 1 by the instance config (`orchestration/dagster.yaml`: ``concurrency.pools.default_limit``)."""

WAREHOUSE_POOL = "warehouse"
