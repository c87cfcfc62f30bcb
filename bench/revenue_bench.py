"""Revenue marts on a large payment history: at least a million ledger events, built on DuckDB.

The history is the demo's at scale `large` (68,000 customers, 18 months, about 1.05M ledger events),
delivered exactly as `make demo` delivers it: every Stripe event signed and received by the webhook code,
every Payme and Click payment a sequence of protocol calls, into an operational store (SQLite). That delivery is slow (the protocol code, not
the marts) and is done once per `--work` folder; later runs reuse it. Then, timed one by one:

1. copying the ledger into a fresh DuckDB warehouse (`payments.load.load_ledger`) plus FX rates and plans;
2. `dbt run` of every payments model (staging → intermediate → the six revenue marts);
3. `dbt test` of the same models (data tests and singular tests: the MRR identity, refunds within charges).

Target: the revenue marts (step 2) in under 60 s for 1M events.

    python bench/revenue_bench.py [--work /tmp/analyticbot_revenue_bench] [--scale large]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402

END = datetime(2026, 9, 29)  # the demo's last day
SELECT = ["--select", "staging.payments+", "stg_app__plans+"]


def deliver(scale: str) -> str:
    from sqlalchemy import func, select

    from analyticbot.appstore.db import AppStore, migrate
    from analyticbot.appstore.models import PaymentEvent
    from analyticbot.payments.demo import generate_history

    migrate()
    store = AppStore()
    try:
        with store.transaction() as s:
            existing = s.scalar(select(func.count()).select_from(PaymentEvent))
        if existing:
            return f"reusing the delivered history: {existing:,} ledger events"
        t0 = time.perf_counter()
        report = generate_history(store.transaction, seed=7, scale=scale, owner_ids=[], end=END)
        with store.transaction() as s:
            total = s.scalar(select(func.count()).select_from(PaymentEvent))
        took = time.perf_counter() - t0
        return (f"delivered through the webhook code: {report.customers:,} customers, {total:,} ledger events "
                f"in {took:.0f} s ({total / took:,.0f} events/s)")
    finally:
        store.dispose()


def dbt(args: list[str], settings) -> tuple[float, bool]:
    from dbt.cli.main import dbtRunner

    os.environ.update(settings.dbt_env())
    project = ROOT / "dbt_project"
    target = settings.data_dir / "dbt_target"
    t0 = time.perf_counter()
    result = dbtRunner().invoke([*args, "--project-dir", str(project), "--profiles-dir", str(project),
                                 "--target-path", str(target), "--log-path", str(target / "logs"), "--quiet"])
    return time.perf_counter() - t0, bool(result.success)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("/tmp/analyticbot_revenue_bench"))
    parser.add_argument("--scale", default="large")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ["ANALYTICBOT_DATA_DIR"] = str(args.work)
    print(describe())
    print(deliver(args.scale), flush=True)

    from analyticbot.appstore.channels import mirror_tables
    from analyticbot.payments.load import load_fx, load_ledger
    from analyticbot.settings import get_settings
    from analyticbot.warehouse import open_warehouse

    settings = get_settings()
    settings.duckdb_path.unlink(missing_ok=True)  # a fresh warehouse each run; the ledger is the input
    t0 = time.perf_counter()
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        for name, table in mirror_tables(settings).items():
            wh.replace_app_mirror(name, table)
        loaded = load_ledger(settings, wh)
        load_fx(settings, wh, today=END.date() + timedelta(days=1))
    print(f"ledger -> warehouse: {loaded.appended:,} events in {time.perf_counter() - t0:.1f} s", flush=True)

    parse_s, ok = dbt(["parse"], settings)
    run_s, run_ok = dbt(["run", *SELECT], settings)
    test_s, test_ok = dbt(["test", *SELECT, "--exclude", "resource_type:unit_test"], settings)
    with open_warehouse(settings) as wh:
        counts = {t: wh.count(f"marts.{t}") for t in ("fct_payments", "fct_mrr_monthly", "fct_saas_kpis_monthly")}
        size_mb = settings.duckdb_path.stat().st_size / 1e6
    print(f"dbt parse {parse_s:.1f} s; dbt run (revenue models) {run_s:.1f} s ok={run_ok}; "
          f"dbt test {test_s:.1f} s ok={test_ok}")
    print(f"marts: {counts}; warehouse file {size_mb:,.0f} MB")
    print(f"revenue marts on {loaded.cursor_after:,} events: {run_s:.1f} s against a 60 s target "
          f"({'met' if run_ok and run_s < 60 else 'NOT met'})")


if __name__ == "__main__":
    main()
