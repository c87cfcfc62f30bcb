"""Benchmark: the revenue models on a demo-sized payment ledger (about a million events) on DuckDB.

    .venv/bin/python tests/dbt/bench_revenue.py --customers 52000 --work /tmp/revenue_bench

The ledger is the demo history's (analyticbot.payments.demo: the same customers, Stripe events in both shapes,
Payme and Click transactions), written straight into raw.payment_events: Stripe events as the demo builds them,
Payme and Click rows as their state machines would record them. Going through the webhook handlers and the
operational store, as the demo does, takes far longer than the models and is not what is measured here.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from analyticbot.payments import demo
from analyticbot.payments.catalogue import PLANS_BY_CODE
from analyticbot.payments.fx import demo_rates
from analyticbot.warehouse import PAYMENT_EVENTS

END = datetime(2026, 3, 1)


class CapturingDriver:
    """Stands in for demo.LedgerDriver: records what the gateways' code would write to the ledger."""

    def __init__(self, rows: list[dict]):
        self.rows = rows
        self.orders: dict[int, tuple[int, str]] = {}
        self.payme_tx: dict[str, dict] = {}
        self.click_tx: dict[str, dict] = {}

    def _add(self, gateway: str, key: str, etype: str, at: datetime, payload: dict, api_version=None) -> None:
        text = json.dumps(payload, separators=(",", ":"), sort_keys=gateway != "stripe")
        self.rows.append({"ledger_id": len(self.rows) + 1, "gateway": gateway, "event_key": key, "event_type": etype,
                          "source": "webhook", "occurred_at": at, "received_at": at, "api_version": api_version,
                          "payload": text})

    def stripe(self, event: dict) -> None:
        at = datetime.utcfromtimestamp(event["created"])
        self._add("stripe", event["id"], event["type"], at, event, event["api_version"])

    def order(self, user_id: int, plan_code: str, gateway: str, at: datetime) -> int:
        order_id = len(self.orders) + 1
        self.orders[order_id] = (user_id, plan_code)
        return order_id

    def payme(self, method: str, params: dict, at: datetime, *, expect_error: int | None = None) -> dict:
        ms = int(at.timestamp() * 1000) if at.tzinfo else int((at - datetime(1970, 1, 1)).total_seconds() * 1000)
        if method == "CreateTransaction":
            order_id = int(params["account"]["order_id"])
            user_id, plan_code = self.orders[order_id]
            tx = {"payme_id": params["id"], "order_id": order_id, "user_id": user_id, "plan_code": plan_code,
                  "amount_tiyin": params["amount"], "currency": "UZS", "state": 1, "reason": None,
                  "payme_time": params["time"], "create_time": ms, "perform_time": 0, "cancel_time": 0}
            self.payme_tx[params["id"]] = tx
            self._add("payme", f"payme:{tx['payme_id']}:1", "payme.created", at, tx)
        elif method in ("PerformTransaction", "CancelTransaction"):
            tx = self.payme_tx[params["id"]]
            if method == "PerformTransaction" and expect_error == -31008:
                tx.update(state=-1, reason=4, cancel_time=ms)
            elif method == "PerformTransaction" and tx["state"] == 1:
                tx.update(state=2, perform_time=ms)
            elif method == "CancelTransaction" and tx["state"] in (1, 2):
                tx.update(state=-1 if tx["state"] == 1 else -2, reason=params["reason"], cancel_time=ms)
            else:
                return {}
            event = {2: "payme.performed"}.get(tx["state"], "payme.cancelled")
            self._add("payme", f"payme:{tx['payme_id']}:{tx['state']}", event, at, dict(tx))
        return {}

    def click(self, action: int, form: dict, at: datetime, *, expect_error: int = 0) -> dict:
        trans_id = form["click_trans_id"]
        iso = at.isoformat(timespec="microseconds") + "Z"
        if action == 0:
            order_id = int(form["merchant_trans_id"])
            user_id, plan_code = self.orders[order_id]
            tx = {"click_trans_id": int(trans_id), "click_paydoc_id": int(form["click_paydoc_id"]),
                  "service_id": int(form["service_id"]), "merchant_prepare_id": order_id, "order_id": order_id,
                  "user_id": user_id, "plan_code": plan_code, "amount": form["amount"],
                  "amount_tiyin": PLANS_BY_CODE[plan_code].uzs_tiyin, "currency": "UZS", "status": "prepared",
                  "error_code": 0, "prepared_at": iso, "completed_at": None}
            self.click_tx[trans_id] = tx
            self._add("click", f"click:{trans_id}:prepared", "click.prepared", at, dict(tx))
            return {"merchant_prepare_id": order_id, "error": "0"}
        tx = self.click_tx[trans_id]
        if form.get("error", "0") != "0":
            tx.update(status="cancelled", error_code=int(form["error"]))
        else:
            tx.update(status="completed", completed_at=iso)
        self._add("click", f"click:{trans_id}:{tx['status']}", f"click.{tx['status']}", at, dict(tx))
        return {"error": "0"}


def ledger(customers: int, seed: int = 7) -> pa.Table:
    start, end = demo.history_window(END)
    demo.PAYMENT_SCALES["bench"] = customers
    rows: list[dict] = []
    driver = CapturingDriver(rows)
    report = demo.HistoryReport()
    for customer in demo.demo_customers(seed, "bench", [], start, end):
        rng = np.random.default_rng([seed, 0xC0DE, customer.index])
        payer = demo.StripeCustomer if customer.gateway == "stripe" else demo.ManualPayer
        payer(customer, rng, end, driver, seed).simulate()
        report.customers += 1
    return pa.Table.from_pylist(rows, schema=PAYMENT_EVENTS)


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from dbt_harness import dbt, dbt_env, load_payments
    from payments_dataset import plan_rows

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=52_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/revenue_bench"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    path = args.work / "warehouse.duckdb"
    t0 = time.perf_counter()
    if not path.exists():
        events = ledger(args.customers)
        print(f"generated {events.num_rows:,} ledger events in {time.perf_counter() - t0:.0f} s")
        load_payments(f"duckdb:///{path}", {
            "payment_events": events,
            "fx_rates_daily": demo_rates(date(2024, 8, 1), date(2026, 3, 1)),
            "app_plans": pa.Table.from_pylist(plan_rows(), schema=__import__(
                "analyticbot.warehouse", fromlist=["APP_MIRROR"]).APP_MIRROR["app_plans"]),
        })
    env = dbt_env(f"duckdb:///{path}")
    selector = ["--select", "staging.payments+", "stg_app__plans+", "--exclude", "resource_type:unit_test"]
    for label, command in (("run (all revenue models)", ["run"]), ("test (data tests)", ["test"])):
        t0 = time.perf_counter()
        build = dbt([*command, *selector], env, args.work)
        print(f"dbt {label}: {time.perf_counter() - t0:.1f} s, success={build.success} {build.failures[:3]}")
        results = json.loads((args.work / "target" / "run_results.json").read_text())["results"]
        slowest = sorted(results, key=lambda r: -r["execution_time"])[:12]
        print(f"  {len(results)} nodes, {sum(r['execution_time'] for r in results):.1f} s in SQL; slowest: " + ", ".join(f"{r['unique_id'].split('.')[-1]} {r['execution_time']:.1f} s" for r in slowest))


if __name__ == "__main__":
    main()
