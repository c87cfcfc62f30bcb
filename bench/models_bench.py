"""The three models against their baselines, and their cost at scale.

1. **Quality, on the default demo** (`make demo`'s data, built into `--work/default` once and reused): each model's
   `train_and_evaluate` on data it has not seen (the out-of-time split inside each module), next to its baseline,
   with the ratio the gate requires:
   churn PR AUC >= 1.2 x the better baseline; best-time MAE <= 0.9 x the per-channel hourly mean; forecast MAPE
   below the naive forecast (subscribers: last value; daily reach: same weekday last week).
2. **Cost, on `large`**: the Telegram demo at scale large (500 channels x 120 days, 200k posts; built once into
   `--work/large`), and a churn history of 137,600 customers (twice `large`'s 68,000) made of 43 copies of the
   default history's 3,200 customers (`--churn-copies`, ids suffixed) - the real `large` payment history takes
   ~11 minutes to deliver through the
   protocol code, and training cost depends on rows, not on who they are. Every model is trained in a child
   process; wall time and that process's peak RSS (VmHWM) are reported; Prophet's two worker processes are not
   in it. Target: all models under 5 minutes, peak RSS under 4 GB.
3. **Scoring 100k customers**: the churn model scores a copied population of >= 100,000 paying customers.
   Target: under 10 s.

    python bench/models_bench.py [--work /tmp/analyticbot_models_bench]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402


def build_demo(data_dir: Path, scale: str, payment_scale: str) -> None:
    """`analyticbot demo`'s pipeline into `data_dir`, once (a finished build leaves a marker)."""
    marker = data_dir / ".bench_built"
    if marker.exists():
        return
    os.environ.update(ANALYTICBOT_DATA_DIR=str(data_dir), ANALYTICBOT_DEMO_SCALE=scale,
                      ANALYTICBOT_DEMO_PAYMENT_SCALE=payment_scale)
    os.environ.pop("DAGSTER_HOME", None)
    from analyticbot import cli
    from analyticbot.settings import get_settings

    settings = get_settings()
    started = time.perf_counter()
    log = data_dir.parent / f"build_{scale}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with _output_to(log):  # dbt and Dagster talk a lot; their words go to the log
        ok = cli.build_demo(settings)
    if not ok:
        raise SystemExit(f"the {scale} demo pipeline failed; see {log}")
    marker.write_text("ok\n")
    print(f"  built the {scale} demo in {time.perf_counter() - started:.0f} s")


@contextmanager
def _output_to(path: Path):
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)


def peak_rss_gb() -> float:
    """This process's own high-water mark (VmHWM). ru_maxrss would carry over the parent's peak across the
    fork that starts a child, whatever the child then does."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def read_input(data_dir: Path, reader):
    """One of `models_ml.inputs`' readers on the warehouse under `data_dir` (read-only)."""
    from analyticbot.settings import Settings
    from analyticbot.warehouse import open_warehouse

    os.environ["ANALYTICBOT_DATA_DIR"] = str(data_dir)
    os.environ.pop("ANALYTICBOT_WAREHOUSE_URL", None)
    with open_warehouse(Settings.from_env(), read_only=True) as wh:
        return reader(wh)


def copy_customers(churn_inputs, copies: int):
    """`copies` disjoint copies of every customer (customer_id suffixed with #k)."""
    import polars as pl

    from models_ml.inputs import ChurnInputs

    def rep(frame):
        if frame.is_empty():
            return frame
        return pl.concat([frame.with_columns(customer_id=pl.col("customer_id") + f"#{k}") for k in range(copies)])

    return ChurnInputs(**{name: rep(getattr(churn_inputs, name)) for name in churn_inputs.__dataclass_fields__})


# -- one model per child process: its own wall time and peak RSS ------------------------------------------------
def _train(job: str, data_dir: str, copies: int, queue) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    started = time.perf_counter()
    from models_ml import inputs as readers

    reader = {"churn": readers.churn_inputs, "best_time": readers.posts}.get(job, readers.channel_daily)
    data = read_input(Path(data_dir), reader)
    read_s = time.perf_counter() - started
    detail = {}
    if job == "churn":
        from models_ml import churn

        inputs = copy_customers(data, copies) if copies > 1 else data
        as_of = churn.data_as_of(inputs)
        result = churn.train_and_evaluate(inputs, as_of=as_of)
        detail = {"rows": result.rows}
    elif job == "best_time":
        from models_ml import best_time

        result = best_time.train_and_evaluate(data)
        best_time.recommend(result.model, data, model_version="bench")
        detail = {"rows": result.rows}
    else:
        from models_ml import forecast

        metric = job.removeprefix("forecast_")
        result = forecast.train_and_evaluate(data, metric=metric)
        forecast.predict(result.model, data, metric=metric, model_version="bench")
        detail = {"rows": result.rows}
    queue.put({"job": job, "seconds": time.perf_counter() - started, "read_s": read_s,
               "peak_rss_gb": peak_rss_gb(),
               "gate": result.gate.describe(), "passed": result.gate.passed,
               "metrics": {k: v for k, v in result.metrics.items() if isinstance(v, (int, float))},
               "baselines": result.baseline_metrics, **detail})


def run_child(job: str, data_dir: Path, copies: int = 1) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_train, args=(job, str(data_dir), copies, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


JOBS = ("churn", "best_time", "forecast_subscribers", "forecast_daily_reach")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("/tmp/analyticbot_models_bench"))
    parser.add_argument("--churn-copies", type=int, default=43, help="copies of the default churn history")
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    default_dir, large_dir = args.work / "default", args.work / "large"

    print("\n== quality on the default demo (out-of-time evaluation) ==")
    build_demo(default_dir, "default", "default")
    for job in JOBS:
        r = run_child(job, default_dir)
        print(f"{job:22s} {r['gate']}  [{'PASS' if r['passed'] else 'FAIL'}]  rows {r.get('rows')}  "
              f"{r['seconds']:.1f} s")
        if job == "churn":
            m = r["metrics"]
            print(f"{'':22s} model: PR AUC {m['pr_auc']:.3f}  ROC AUC {m['roc_auc']:.3f}  Brier {m['brier']:.4f}  "
                  f"lift@10% {m['lift_top_decile']:.2f}")
            for name, b in r["baselines"].items():
                print(f"{'':22s} {name}: PR AUC {b['pr_auc']:.3f}  ROC AUC {b['roc_auc']:.3f}  "
                      f"Brier {b['brier']:.4f}  lift@10% {b['lift_top_decile']:.2f}")

    if args.skip_large:
        return 0
    print("\n== cost at scale large ==")
    build_demo(large_dir, "large", "tiny")
    total, peak = 0.0, 0.0
    for job in JOBS:
        if job == "churn":
            r = run_child(job, default_dir, copies=args.churn_copies)
        else:
            r = run_child(job, large_dir)
        total += r["seconds"]
        peak = max(peak, r["peak_rss_gb"])
        print(f"{job:22s} {r['seconds']:7.1f} s (reading marts {r['read_s']:.1f} s)  peak RSS "
              f"{r['peak_rss_gb']:.2f} GB  rows {r.get('rows')}")
    print(f"{'all models':22s} {total:7.1f} s  (target < 300 s: {'met' if total < 300 else 'NOT met'}); "
          f"largest peak RSS {peak:.2f} GB (target < 4 GB: {'met' if peak < 4 else 'NOT met'})")

    print("\n== scoring 100k customers ==")
    from models_ml import churn, inputs

    base = read_input(default_dir, inputs.churn_inputs)
    as_of = churn.data_as_of(base)
    paying = churn.scoring_population(base.periods, as_of).height
    copies = -(-100_000 // paying)
    model = churn.train_and_evaluate(base, as_of=as_of).model
    many = copy_customers(base, copies)
    started = time.perf_counter()
    scores = churn.score(model, many, as_of=as_of, model_version="bench")
    seconds = time.perf_counter() - started
    print(f"scored {scores.height:,} customers in {seconds:.2f} s (features, model, SHAP reasons; target < 10 s: "
          f"{'met' if seconds < 10 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
