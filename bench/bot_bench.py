"""Composing digests (text and chart) for 10,000 owners: target under 60 s on 2 cores.

The default demo has 6 owners (8 channels); the owner list is those 6 cycled to `--owners`, over the same
published snapshot, with languages, periods and premium cycled too. The digests are composed by the production
composer, `bot.digests.compose_many` (reads, text, entities, PNG chart; `--workers` processes); nothing is sent.
The CPU time of the workers is printed too: on a machine shared with other work the wall time says more about
the neighbours than about the code, and CPU seconds / cores is what an idle machine would take.

    python bench/bot_bench.py [--owners 10000] [--workers 2] [--work /tmp/analyticbot_api_bench | --data-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402

TARGET_S = 60.0
LANGS = ("en", "ru", "uz")
PERIODS = ("daily", "weekly")


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


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
    from analyticbot.settings import get_settings
    from analyticbot.snapshot import SnapshotReader
    from bot.digests import DigestPrefs, compose_many

    reader = SnapshotReader(get_settings())
    demo = reader.query("SELECT DISTINCT owner_user_id FROM marts.dim_channels ORDER BY 1").to_series().to_list()
    owners = [DigestPrefs(user_id=demo[k % len(demo)], time_zone="UTC", hour=9, period=PERIODS[k % 2],
                          lang=LANGS[k % 3], premium=k % 4 == 0) for k in range(args.owners)]
    print(describe())
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{args.owners:,} digests over the demo's {len(demo)} owners, {args.workers} worker processes")
    cpu_before = _cpu_seconds(resource.RUSAGE_CHILDREN) + _cpu_seconds(resource.RUSAGE_SELF)
    started = time.perf_counter()
    done = size = 0
    for digest in compose_many(reader, owners, workers=args.workers):
        done += 1
        size += len(digest.chart_png or b"")
    total = time.perf_counter() - started
    cpu = _cpu_seconds(resource.RUSAGE_CHILDREN) + _cpu_seconds(resource.RUSAGE_SELF) - cpu_before
    assert done == args.owners
    idle = cpu / args.workers
    print(f"total {total:.1f} s (target {TARGET_S:.0f} s: {'met' if total < TARGET_S else 'MISSED'}); "
          f"{total / done * 1000:.2f} ms per digest wall; CPU {cpu:.1f} s in all, {cpu / done * 1000:.2f} ms per "
          f"digest, {idle:.1f} s over {args.workers} cores ({idle / done * 10_000:.0f} s per 10,000 on an idle "
          f"machine); mean chart {size / done / 1024:.1f} KiB")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
