"""Whole-pipeline wall time and peak memory, then the cost of one more day as a ratio of the full build.

Runs the real entry point (`analyticbot demo`) in a child process on a fresh data dir, sampling the RSS of
the whole process tree (Python + the dbt subprocess) every 0.2 s:

1. `default` demo (the `make demo` pipeline; target < 2 min after installation);
2. `large` demo, 120 days (target < 10 min, peak RSS < 3 GB);
3. the same data dir with one more day (`--days 121`): ingest the new day, incremental dbt, checks, publish
   (target < 10% of step 2).

    python bench/pipeline_bench.py [--skip-default] [--skip-large]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402


def step_times(dagster_home: str) -> str:
    """Seconds per Dagster step of the newest run recorded in `dagster_home`."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = dagster_home
    with dg.DagsterInstance.get() as instance:
        [run_record] = instance.get_run_records(limit=1)
        stats = instance.get_run_step_stats(run_record.dagster_run.run_id)
    return ", ".join(f"{s.step_key.split('__')[-1] if 'expectations' in s.step_key else s.step_key} "
                     f"{s.end_time - s.start_time:.1f}s" for s in sorted(stats, key=lambda s: s.start_time))


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak tree RSS in GB, tail of output) of one CLI run."""
    started = time.perf_counter()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "analyticbot"), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    parent = psutil.Process(proc.pid)
    output: list[str] = []
    import threading

    reader = threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True)
    reader.start()
    while proc.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    reader.join()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stdout.write("".join(output[-40:]))
        raise SystemExit(f"analyticbot {' '.join(args)} failed with exit code {proc.returncode}")
    return wall, peak / 1e9, "".join(output)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-default", action="store_true")
    ap.add_argument("--skip-large", action="store_true")
    args = ap.parse_args()
    print(f"machine: {describe()}")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("ANALYTICBOT_")}
    with tempfile.TemporaryDirectory() as tmp:
        # A Dagster home of its own, so each run's steps can be timed from the run history.
        home = Path(tmp) / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text((ROOT / "orchestration" / "dagster.yaml").read_text())
        base_env["DAGSTER_HOME"] = str(home)
        if not args.skip_default:
            env = {**base_env, "ANALYTICBOT_DATA_DIR": f"{tmp}/default"}
            wall, peak, _ = run(["demo", "--scale", "default"], env)
            print(f"default demo, full pipeline : {wall:7.1f} s   peak RSS {peak:.2f} GB   (target < 120 s)")
            print(f"  steps: {step_times(str(home))}")
        if not args.skip_large:
            env = {**base_env, "ANALYTICBOT_DATA_DIR": f"{tmp}/large"}
            full, peak, out = run(["demo", "--scale", "large", "--days", "120"], env)
            counts = next((l for l in out.splitlines() if l.startswith("Published snapshot")), "")
            print(f"large demo, full pipeline   : {full:7.1f} s   peak RSS {peak:.2f} GB   (targets < 600 s, < 3 GB)")
            print(f"  {counts}")
            print(f"  steps: {step_times(str(home))}")
            inc, peak2, _ = run(["demo", "--scale", "large", "--days", "121"], env)
            print(f"large demo, one more day    : {inc:7.1f} s   peak RSS {peak2:.2f} GB")
            print(f"  steps: {step_times(str(home))}")
            print(f"ratio one-day refresh / full: {inc / full:.1%}  (target < 10%)")


if __name__ == "__main__":
    main()
