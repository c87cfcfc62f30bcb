"""Composing digests (text and chart) for 10,000 owners: target under 60 s on 2 cores.

The default demo has 6 owners (8 channels); the owner list is those 6 cycled to `--owners`, over the same
published snapshot, with languages and periods cycled too. Each worker process opens one read-only connection
and composes its share with `bot.digests.compose_digest` (reads, text, entities, PNG chart); nothing is sent.

    python bench/bot_bench.py [--owners 10000] [--workers 2] [--work /tmp/analyticbot_api_bench | --data-dir DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402

TARGET_S = 60.0
LANGS = ("en", "ru", "uz")
PERIODS = ("daily", "weekly")


def _compose(job: tuple[list[int], int]) -> tuple[int, int, float]:
    """(digests, chart bytes, busy seconds) of one worker's share."""
    from analyticbot.settings import get_settings
    from analyticbot.snapshot import SnapshotReader
    from bot.digests import compose_digest

    owners, worker = job
    started, size = time.perf_counter(), 0
    with SnapshotReader(get_settings()).connect() as con:
        con.duck.execute("SET threads = 1")  # one process per core: DuckDB's own threads would only contend
        for i, owner in enumerate(owners):
            k = i + worker
            digest = compose_digest(con, owner, LANGS[k % 3], PERIODS[k % 2], premium=k % 4 == 0)
            size += len(digest.chart_png or b"")
    return len(owners), size, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--owners", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/analyticbot_api_bench"))
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="a data dir with a published snapshot to read instead of building one in --work")
    args = parser.parse_args()
    from bench.models_bench import build_demo

    data_dir = args.data_dir
    if data_dir is None:
        data_dir = args.work / "data"
        build_demo(data_dir, "default", "default")
    os.environ["ANALYTICBOT_DATA_DIR"] = str(data_dir)
    from analyticbot.snapshot import SnapshotReader
    from analyticbot.settings import get_settings

    demo = SnapshotReader(get_settings()).query(
        "SELECT DISTINCT owner_user_id FROM marts.dim_channels ORDER BY 1").to_series().to_list()
    owners = [demo[i % len(demo)] for i in range(args.owners)]
    shares = [(owners[w::args.workers], w) for w in range(args.workers)]
    print(describe())
    print(f"{args.owners:,} digests over the demo's {len(demo)} owners, {args.workers} worker processes")
    started = time.perf_counter()
    with mp.get_context("fork").Pool(args.workers) as pool:
        results = pool.map(_compose, shares)
    total = time.perf_counter() - started
    done = sum(r[0] for r in results)
    busy = sum(r[2] for r in results)
    print(f"total {total:.1f} s (target {TARGET_S:.0f} s: {'met' if total < TARGET_S else 'MISSED'}); "
          f"{total / done * 1000:.2f} ms per digest wall, {busy / done * 1000:.2f} ms per digest per core; "
          f"mean chart {sum(r[1] for r in results) / done / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
