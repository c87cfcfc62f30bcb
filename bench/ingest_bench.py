"""Raw snapshot ingestion rate next to DuckDB's own bulk insert of the same Arrow data (the ceiling).

Both load the `large` demo's post snapshots (~5M rows) into an empty table in a fresh DuckDB file, in one run,
alternating the order over several rounds; the posts are loaded beforehand (untimed) so `ingest` can check
each snapshot against its post. `ingest` does more than the ceiling: natural-key anti-join, monotonic and
timestamp checks, rejects, one transaction. Target: at least 50% of the ceiling's rows/s.

    python bench/ingest_bench.py [--scale large] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402

from analyticbot.settings import get_settings  # noqa: E402
from analyticbot.telegram.contract import RAW_TABLES, RawBatch  # noqa: E402
from analyticbot.telegram.demo import generate_demo  # noqa: E402
from analyticbot.warehouse import open_warehouse  # noqa: E402
from bench.machine import describe  # noqa: E402


def ceiling(snaps, path: Path) -> float:
    con = duckdb.connect(str(path))
    cols = ", ".join(f"{f.name} {t}" for f, t in zip(snaps.schema, _types(snaps.schema)))
    con.execute(f"CREATE TABLE t ({cols})")
    con.register("arrow_batch", snaps)
    started = time.perf_counter()
    con.execute("INSERT INTO t SELECT * FROM arrow_batch")
    elapsed = time.perf_counter() - started
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == snaps.num_rows
    con.close()
    return elapsed


def _types(schema):
    from analyticbot.warehouse import sql_type

    return [sql_type(f.type, "duckdb") for f in schema]


def ours(batch: RawBatch, snaps, data_dir: Path) -> float:
    os.environ["ANALYTICBOT_DATA_DIR"] = str(data_dir)
    os.environ.pop("ANALYTICBOT_WAREHOUSE_URL", None)
    settings = get_settings()
    now = datetime(2030, 1, 1)
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        wh.ingest(RawBatch({"telegram_posts": batch.table("telegram_posts")}), source="bench", now=now)
        started = time.perf_counter()
        report = wh.ingest(RawBatch({"telegram_post_snapshots": snaps}), source="bench", now=now)
        elapsed = time.perf_counter() - started
        assert report.inserted["telegram_post_snapshots"] == snaps.num_rows, report
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="large")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {describe()}")
    t0 = time.perf_counter()
    data = generate_demo(scale=args.scale)
    snaps = data.batch.table("telegram_post_snapshots").combine_chunks()
    print(f"demo {args.scale}: {snaps.num_rows:,} snapshots, {data.batch.table('telegram_posts').num_rows:,} post "
          f"rows (generated in {time.perf_counter() - t0:.1f} s)")
    ours_s, ceil_s = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = ("ceiling", "ours") if r % 2 == 0 else ("ours", "ceiling")
            for which in order:
                gc.collect()
                if which == "ceiling":
                    ceil_s.append(ceiling(snaps, Path(tmp) / f"ceiling{r}.duckdb"))
                else:
                    ours_s.append(ours(data.batch, snaps, Path(tmp) / f"ours{r}"))
    n = snaps.num_rows
    c, o = statistics.median(ceil_s), statistics.median(ours_s)
    print(f"DuckDB bulk insert (ceiling): median {c:.2f} s  {n / c:,.0f} rows/s   runs: {', '.join(f'{x:.2f}' for x in ceil_s)}")
    print(f"Warehouse.ingest            : median {o:.2f} s  {n / o:,.0f} rows/s   runs: {', '.join(f'{x:.2f}' for x in ours_s)}")
    print(f"ratio ingest / ceiling rate : {c / o:.0%}  (target >= 50%)")


if __name__ == "__main__":
    main()
