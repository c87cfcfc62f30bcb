"""Webhook receivers under load: events per second, p50/p99 latency, and replays that must change nothing.

The server is the real app (`uvicorn serving.webhooks:app`, one worker) in its own process; the load comes from
a second process on loopback: an asyncio HTTP/1.1 client on keep-alive connections, with every body signed
before the clock starts (so the client measures the server, not its own HMACs). For each operational store
(SQLite file, then PostgreSQL):

1. **steady**: a fixed offered rate of 500 events/s for 20 s (open loop: requests leave on schedule whether or
   not earlier ones have returned, so a slow server shows up as latency, not as a politely lower rate), after
   500 unmeasured warm-up requests;
2. **max**: 16 connections sending back to back for 15 s: the sustained throughput;
3. **replays**: every event of steps 1 and 2 sent 5 more times in shuffled order; the ledger must hold exactly
   one row per distinct event both before and after (zero lost, zero duplicated).

The mix is what the gateways send: 70% Stripe events (signed, ~2 KB), 20% Payme JSON-RPC calls
(CheckPerformTransaction, CreateTransaction, PerformTransaction, CheckTransaction) and 10% Click Prepare /
Complete forms.

    python bench/webhooks_bench.py [--rate 500] [--seconds 20] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402

STRIPE_SECRET = "whsec_bench"
PAYME_KEY = "bench-payme-key"
CLICK_SERVICE = 77
CLICK_SECRET = "bench-click-secret"
USER = 6_100_000_001


# -- request bodies ---------------------------------------------------------------------------------------------
def stripe_request(i: int, now: int) -> tuple[str, bytes, dict]:
    import stripe

    sub = f"sub_b{i}"
    event = {
        "id": f"evt_bench_{i}", "object": "event", "type": "customer.subscription.updated",
        "api_version": "2025-03-31.basil", "created": now - 30, "livemode": False, "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": {
            "id": sub, "object": "subscription", "customer": f"cus_b{i % 997}", "status": "active",
            "currency": "usd", "created": now - 86_400, "start_date": now - 86_400,
            "metadata": {"telegram_user_id": str(USER + i % 997)}, "cancel_at_period_end": False,
            "canceled_at": None, "ended_at": None, "trial_end": None, "collection_method": "charge_automatically",
            "discounts": [], "livemode": False,
            "items": {"object": "list", "has_more": False, "url": f"/v1/subscription_items?subscription={sub}",
                      "data": [{"id": f"si_b{i}", "object": "subscription_item", "quantity": 1,
                                "created": now - 86_400, "subscription": sub, "metadata": {}, "discounts": [],
                                "current_period_start": now - 86_400, "current_period_end": now + 29 * 86_400,
                                "price": {"id": "price_analyticbot_pro_month", "object": "price", "active": True,
                                          "billing_scheme": "per_unit", "currency": "usd", "unit_amount": 900,
                                          "unit_amount_decimal": "900", "product": "prod_analyticbot_pro",
                                          "type": "recurring", "livemode": False,
                                          "recurring": {"interval": "month", "interval_count": 1,
                                                        "usage_type": "licensed"}}}]}}}}
    body = json.dumps(event, separators=(",", ":"))
    header = stripe.WebhookSignature.generate_signature_header(body, STRIPE_SECRET)
    return "/webhooks/stripe", body.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}


def payme_requests(order_id: int, amount: int, n: int, now_ms: int) -> list[tuple[str, bytes, dict]]:
    from analyticbot.payments.payme import basic_auth_header

    auth = {"Authorization": basic_auth_header(PAYME_KEY), "Content-Type": "application/json"}
    pid = f"{n:024x}"
    account = {"order_id": str(order_id)}
    calls = [("CheckPerformTransaction", {"amount": amount, "account": account}),
             ("CreateTransaction", {"id": pid, "time": now_ms, "amount": amount, "account": account}),
             ("PerformTransaction", {"id": pid}), ("CheckTransaction", {"id": pid})]
    return [("/webhooks/payme", json.dumps({"jsonrpc": "2.0", "id": k, "method": m, "params": p}).encode(), auth)
            for k, (m, p) in enumerate(calls)]


def click_requests(order_id: int, amount_tiyin: int, n: int, prepare_id_hint: None = None):
    """Prepare only: Complete needs the merchant_prepare_id that Prepare answers, so the load sends Prepare and
    the replay step sends Prepare again (answered as the first time)."""
    from datetime import datetime, timezone

    from analyticbot.payments.click import sign

    form = {"click_trans_id": str(9_000_000 + n), "service_id": str(CLICK_SERVICE),
            "click_paydoc_id": str(19_000_000 + n), "merchant_trans_id": str(order_id),
            "amount": f"{amount_tiyin / 100:.2f}", "action": "0", "error": "0", "error_note": "Success",
            "sign_time": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")}
    form["sign_string"] = sign(form, CLICK_SECRET, 0)
    from urllib.parse import urlencode

    return [("/webhooks/click/prepare", urlencode(form).encode(),
             {"Content-Type": "application/x-www-form-urlencoded"})]


def build_jobs(count: int, orders: dict[str, list[int]], offset: int) -> list[list[tuple[str, bytes, dict]]]:
    """About `count` requests in the gateway mix, grouped in jobs: a job's requests go in order on one
    connection, because a gateway waits for each answer (Payme never sends Perform before Create has been
    answered). Each Payme/Click payment uses its own pre-created order."""
    from analyticbot.payments.catalogue import PLANS_BY_CODE

    amount = PLANS_BY_CODE["pro_month"].uzs_tiyin
    now = int(time.time())
    jobs: list[list[tuple[str, bytes, dict]]] = []
    n, sent = offset, 0
    while sent < count:
        n += 1
        roll = n % 20
        if roll < 14:
            jobs.append([stripe_request(n, now)])
        elif roll == 14:
            jobs.append(payme_requests(orders["payme"].pop(), amount, n, now * 1000))
        elif roll >= 18:
            jobs.append(click_requests(orders["click"].pop(), amount, n))
        else:
            continue
        sent += len(jobs[-1])
    return jobs


# -- load generator (second process) ----------------------------------------------------------------------------
async def _send(reader, writer, path: str, body: bytes, headers: dict) -> int:
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def _open_loop(port: int, jobs, rate: float, connections: int):
    """Jobs start on schedule so that requests leave at `rate`/s, each on the next free connection (a pool
    sized for the rate); latency counts from the scheduled time, so waiting for the server counts."""
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies, statuses = [], []
    # The schedule starts a moment after every coroutine is created, so the client's own set-up does not
    # show up as the first requests' latency.
    start = time.perf_counter() + 0.25

    async def one(first: int, job):
        due = start + first / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        conn = await pool.get()
        for req in job:
            statuses.append(await _send(*conn, *req))
            latencies.append(time.perf_counter() - due)
            due = time.perf_counter()
        pool.put_nowait(conn)

    firsts, k = [], 0
    for job in jobs:
        firsts.append(k)
        k += len(job)
    await asyncio.gather(*(one(f, job) for f, job in zip(firsts, jobs)))
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait()[1].close()
    return latencies, statuses, elapsed


async def _closed_loop(port: int, jobs, connections: int):
    queue = list(reversed(jobs))
    latencies, statuses = [], []

    async def worker():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while queue:
            for req in queue.pop():
                t0 = time.perf_counter()
                statuses.append(await _send(reader, writer, *req))
                latencies.append(time.perf_counter() - t0)
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return latencies, statuses, time.perf_counter() - start


def _client(mode: str, port: int, jobs, rate: float, connections: int, out: mp.Queue) -> None:
    if mode == "open":
        result = asyncio.run(_open_loop(port, jobs, rate, connections))
    else:
        result = asyncio.run(_closed_loop(port, jobs, connections))
    out.put(result)


def run_client(mode: str, port: int, jobs, rate: float = 0, connections: int = 16):
    out: mp.Queue = mp.Queue()
    proc = mp.get_context("fork").Process(target=_client, args=(mode, port, jobs, rate, connections, out))
    proc.start()
    result = out.get()
    proc.join()
    return result


def summarize(name: str, latencies: list[float], statuses: list[int], elapsed: float) -> str:
    lat = sorted(latencies)
    p50, p99 = lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000
    bad = sum(1 for s in statuses if s != 200)
    return (f"{name:<10} {len(lat):>7} req  {len(lat) / elapsed:>7.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
            f"  non-200 {bad}")


# -- server -----------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_store(env: dict, n_orders: int) -> dict[str, list[int]]:
    """Migrate, register a user, and pre-create the orders the Payme/Click payments will pay."""
    os.environ.update(env)
    from analyticbot.appstore.db import AppStore, migrate
    from analyticbot.appstore.models import User
    from analyticbot.payments.orders import create_order

    migrate()
    store = AppStore()
    orders: dict[str, list[int]] = {"payme": [], "click": []}
    with store.transaction() as s:
        s.add(User(user_id=USER, language="en", time_zone="UTC"))
        s.flush()
        for gateway in orders:
            orders[gateway] = [create_order(s, USER, "pro_month", gateway).order_id for _ in range(n_orders)]
    store.dispose()
    return orders


def expected_rows(request: tuple[str, bytes, dict]) -> int:
    """Ledger rows one distinct request should leave: a Stripe event 1, a Payme Create or Perform 1 (the
    state change), a Click Prepare 1; Check calls none."""
    path, body, _ = request
    if path == "/webhooks/payme":
        return int(json.loads(body)["method"] in ("CreateTransaction", "PerformTransaction"))
    return 1


def ledger_counts(env: dict) -> tuple[int, int]:
    from sqlalchemy import text

    from analyticbot.appstore.db import AppStore

    os.environ.update(env)
    store = AppStore()
    with store.engine.connect() as con:
        total, distinct = con.execute(text("SELECT count(*), count(DISTINCT event_key) FROM payment_events")).one()
    store.dispose()
    return total, distinct


def bench_store(label: str, env: dict, rate: float, seconds: float) -> list[str]:
    steady_n, max_n = int(rate * seconds), int(rate * 3 * 15)
    orders = prepare_store(env, n_orders=(steady_n + max_n + 500) // 10 + 10)  # Click takes 2 in 20
    steady = build_jobs(steady_n, orders, offset=0)
    burst = build_jobs(max_n, orders, offset=10 * (steady_n + max_n))
    warmup = build_jobs(500, orders, offset=30 * (steady_n + max_n))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "serving.webhooks:app", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning"], cwd=ROOT, env={**os.environ, **env})
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("webhook server did not start")
                time.sleep(0.1)
        lines = [f"-- {label} --"]
        # First requests compile SQL, fill pools and start threads: not what a running server costs.
        run_client("closed", port, warmup, connections=16)
        lines.append(summarize("steady", *run_client("open", port, steady, rate=rate, connections=64)))
        lines.append(summarize("max", *run_client("closed", port, burst, connections=16)))
        rows_before = ledger_counts(env)
        replays = [job for job in steady + burst for _ in range(5)]
        random.Random(7).shuffle(replays)
        lines.append(summarize("replays", *run_client("closed", port, replays, connections=16)))
        rows_after = ledger_counts(env)
        expected = sum(expected_rows(r) for job in warmup + steady + burst for r in job)
        ok = rows_before[0] == expected and rows_after == (expected, expected)
        lines.append(f"ledger rows: {expected} distinct events sent; {rows_before[0]} rows after the first "
                     f"delivery, {rows_after[0]} ({rows_after[1]} distinct) after 5x shuffled replays: "
                     f"{'zero lost, zero duplicated' if ok else 'MISMATCH'}")
        return lines
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    print(describe())
    secrets = {"STRIPE_WEBHOOK_SECRET": STRIPE_SECRET, "PAYME_MERCHANT_KEY": PAYME_KEY,
               "CLICK_SERVICE_ID": str(CLICK_SERVICE), "CLICK_SECRET_KEY": CLICK_SECRET}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**secrets, "ANALYTICBOT_DATA_DIR": tmp}
        for line in bench_store("SQLite operational store", env, args.rate, args.seconds):
            print(line, flush=True)
    if args.skip_postgres:
        return
    import psycopg

    name = f"analyticbot_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {**secrets, "ANALYTICBOT_DATA_DIR": tmp,
                   "ANALYTICBOT_APP_DB_URL": f"postgresql://postgres@127.0.0.1:5432/{name}"}
            for line in bench_store("PostgreSQL operational store", env, args.rate, args.seconds):
                print(line, flush=True)
    finally:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
