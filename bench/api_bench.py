"""The Mini App API under load: requests per second and p50/p90/p99/max latency, and snapshot swaps under load.

The server is the real app (`uvicorn serving.api:app`: one worker, uvloop + httptools) in its own process over
the default demo (8 channels, 6 owners), built once into `--work`. Logging is as in production: uvicorn's own
access log is off (`--no-access-log`: ours replaces it) and our JSON access log (`analyticbot.api.access`) is on
at INFO, written to `<work>/server.log`, which is read back at the end as a cross-check of the client's counts.
The per-user rate limit is raised far above the load: it is a policy, not what is measured here.

The load comes from a second process on loopback: asyncio (uvloop), 32 HTTP/1.1 keep-alive connections in a
closed loop (each sends its next request when the previous answer is in), after an unmeasured warm-up on the
same connections. Requests cycle over every (owner, owned channel) pair, each with that owner's signed initData;
no `If-None-Match`, so every answer is a 200 with a body and anything else is an error. Runs:

1. **overview**: `/channels/{id}/overview?days=30`;
2. **posts**: the first page by views_24h and the next three cursor pages;
3. **heatmap**: `/channels/{id}/heatmap`;
4. **swap**: overview again while this process publishes a new snapshot every `--swap-every` seconds
   (`analyticbot.snapshot.publish` on the demo's warehouse: a new file and an atomic pointer swap). Every
   published version must show up in the answers' ETags, with zero errors and the same body for a channel on
   every version (the data did not change, only the version);
5. **cold**: one more publish, then one request at a time: each channel's first overview, posts page and heatmap
   on the new snapshot (read from DuckDB), and the same request again (answered from the per-version cache).

Target: overview at concurrency 32 at least 1,000 requests/s with p99 under 20 ms; no error during swaps.

    python bench/api_bench.py [--seconds 30] [--connections 32] [--work /tmp/analyticbot_api_bench]
                              [--app serving.api:app]   (--app: serve a variant, e.g. to price a change)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
import urllib.request
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402
from bench.webhooks_bench import free_port  # noqa: E402

BOT_TOKEN = "123456789:bench-mini-app-token"
API = "/api/v1"
POST_PAGES = 4  # the first page and three cursor pages
TARGET_RPS, TARGET_P99_MS = 1000, 20.0
# Far above anything the load reaches: the per-user limit is a policy, not the subject of this benchmark.
UNLIMITED = {"ANALYTICBOT_API_RATE_PER_SECOND": "1000000000", "ANALYTICBOT_API_RATE_BURST": "1000000000"}


# -- HTTP/1.1 on a raw keep-alive connection ---------------------------------------------------------------------
def get_request(path: str, init_data: str) -> bytes:
    """The bytes of a GET, built before the clock starts so the client measures the server, not itself."""
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: tma {init_data}\r\n\r\n").encode()


async def fetch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
                ) -> tuple[int, bytes, bytes]:
    """(status, ETag, body) of one request on an open connection."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status, length, etag = int(head[9:12]), 0, b""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"etag":
            etag = value.strip()
    return status, etag, await reader.readexactly(length)


def etag_version(etag: bytes) -> str:
    """The snapshot version an ETag names: `"<version>-<digest>"` (serving.api.responses.etag_for)."""
    return etag.decode().strip('"').rsplit("-", 1)[0]


# -- load generator (second process) ----------------------------------------------------------------------------
@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    bad: Counter = field(default_factory=Counter)  # status (or exception name) -> count
    elapsed: float = 0.0
    server_cpu: float = 0.0  # the server process's CPU time over the measured window, in cores
    # swap run only: (wall clock when the answer arrived, target index, version, crc32 of the body)
    answers: list[tuple[float, int, str, int]] = field(default_factory=list)


async def _closed_loop(port: int, requests: list[bytes], connections: int, warmup: float, seconds: float,
                       keep_answers: bool, started: mp.Queue) -> Outcome:
    out = Outcome()
    opened = [await asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]
    start = time.perf_counter() + warmup
    end = start + seconds
    started.put(time.time() + warmup)  # the publisher schedules its swaps from here

    async def worker(k: int, reader, writer) -> None:
        i = k
        while (t0 := time.perf_counter()) < end:
            i += 1
            target = i % len(requests)
            try:
                status, etag, body = await fetch(reader, writer, requests[target])
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                if t0 >= start:
                    out.bad[type(exc).__name__] += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            if t0 < start:
                continue
            out.latencies.append(time.perf_counter() - t0)
            if status != 200:
                out.bad[status] += 1
            if keep_answers:
                out.answers.append((time.time(), target, etag_version(etag) if etag else "", zlib.crc32(body)))
        writer.close()

    await asyncio.gather(*(worker(k, r, w) for k, (r, w) in enumerate(opened)))
    out.elapsed = time.perf_counter() - start
    return out


def _client(port, requests, connections, warmup, seconds, keep_answers, started, results) -> None:
    import uvloop

    results.put(uvloop.run(_closed_loop(port, requests, connections, warmup, seconds, keep_answers, started)))


def run_load(server: Server, requests: list[bytes], args, keep_answers: bool = False, during=None) -> Outcome:
    """Closed-loop load from a second process; `during(start_wall_clock, end_wall_clock)` runs here meanwhile."""
    ctx = mp.get_context("spawn")  # this process holds DuckDB's threads after a publish: no fork
    started, results = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_client, args=(server.port, requests, args.connections, args.warmup, args.seconds,
                                             keep_answers, started, results))
    proc.start()
    try:
        start = started.get(timeout=60)
        time.sleep(max(0.0, start - time.time()))
        cpu, wall = server.cpu_seconds(), time.time()
        if during is not None:
            during(start, start + args.seconds)
        out = results.get(timeout=args.warmup + args.seconds + 60)
        out.server_cpu = (server.cpu_seconds() - cpu) / (time.time() - wall)
        return out
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else float("nan")


def summary_row(name: str, out: Outcome) -> str:
    lat = sorted(out.latencies)
    bad = sum(out.bad.values())
    detail = f" ({', '.join(f'{k}: {v}' for k, v in out.bad.most_common())})" if bad else ""
    return (f"{name:<9} {len(lat):>8} {len(lat) / out.elapsed:>8.0f} {percentile(lat, 0.5):>7.2f} "
            f"{percentile(lat, 0.9):>7.2f} {percentile(lat, 0.99):>7.2f} {lat[-1] * 1000 if lat else 0:>8.2f} "
            f"{out.server_cpu:>8.0%} {bad:>7}{detail}")


HEADER = (f"{'run':<9} {'requests':>8} {'req/s':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>8} "
          f"{'srv cpu':>8} {'errors':>7}")


# -- the demo, its owners, the server --------------------------------------------------------------------------
@dataclass
class Demo:
    data_dir: Path
    pairs: list[tuple[int, int]]  # (owner user id, channel id)
    init_data: dict[int, str]     # owner -> signed initData


def prepare_demo(work: Path) -> Demo:
    from bench.models_bench import build_demo

    data_dir = work / "data"
    build_demo(data_dir, "default", "default")
    os.environ["ANALYTICBOT_DATA_DIR"] = str(data_dir)
    from analyticbot.settings import get_settings
    from analyticbot.snapshot import SnapshotReader
    from serving.api.auth import sign_init_data

    pairs = SnapshotReader(get_settings()).query(
        "SELECT owner_user_id, channel_id FROM marts.dim_channels ORDER BY owner_user_id, channel_id").rows()
    # auth_date is now: good for the API's default maximum age (an hour), far longer than a run
    return Demo(data_dir, pairs, {owner: sign_init_data(BOT_TOKEN, owner) for owner in {o for o, _ in pairs}})


def publish_snapshot() -> str:
    from analyticbot.settings import get_settings
    from analyticbot.snapshot import publish
    from analyticbot.warehouse import open_warehouse

    with open_warehouse(get_settings()) as wh:
        return publish(wh).version


def log_config(path: Path) -> Path:
    """uvicorn's --log-config: our access log at INFO and uvicorn's warnings, one line each, to stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stderr"}
    path.write_text(json.dumps({
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"line": {"format": "%(message)s"}},
        "handlers": {"stderr": handler},
        "loggers": {"analyticbot.api.access": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
                    "uvicorn": {"level": "WARNING", "handlers": ["stderr"], "propagate": False}},
    }))
    return path


@dataclass
class Server:
    port: int
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (all its threads)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def api_server(demo: Demo, work: Path, ttl: float, app: str):
    port = free_port()
    env = {**os.environ, **UNLIMITED, "BOT_TOKEN": BOT_TOKEN, "ANALYTICBOT_DATA_DIR": str(demo.data_dir),
           "ANALYTICBOT_API_VERSION_TTL": str(ttl)}
    log = open(work / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
         "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
         "--log-config", str(log_config(work / "log_config.json"))],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{API}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"the API server did not start; see {work / 'server.log'}")
            time.sleep(0.2)
        yield Server(port, server.pid)
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def server_log_summary(path: Path) -> str:
    statuses: Counter = Counter()
    other = tracebacks = 0
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            statuses[json.loads(line)["status"]] += 1
        else:
            other += 1
            tracebacks += line.startswith("Traceback")
    by_status = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
    return f"server log: {sum(statuses.values())} access lines ({by_status}), {other} other lines, " \
           f"{tracebacks} tracebacks"


# -- runs -------------------------------------------------------------------------------------------------------
def channel_requests(demo: Demo, suffix: str) -> list[bytes]:
    return [get_request(f"{API}/channels/{c}/{suffix}", demo.init_data[o]) for o, c in demo.pairs]


async def _one_by_one(port: int, requests: list[bytes]) -> list[tuple[int, float, bytes]]:
    """(status, seconds, body) of each request, sent one at a time on one connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out = []
    for request in requests:
        t0 = time.perf_counter()
        status, _, body = await fetch(reader, writer, request)
        out.append((status, time.perf_counter() - t0, body))
    writer.close()
    return out


def post_page_requests(demo: Demo, port: int) -> list[bytes]:
    """Each channel's first page by views_24h and the next cursor pages, following the API's own cursors."""
    requests = []
    for owner, channel in demo.pairs:
        base, cursor = f"{API}/channels/{channel}/posts?sort=views_24h&order=desc&limit=20", None
        for _ in range(POST_PAGES):
            request = get_request(base + (f"&cursor={quote(cursor)}" if cursor else ""), demo.init_data[owner])
            status, _, body = asyncio.run(_one_by_one(port, [request]))[0]
            if status != 200:
                raise RuntimeError(f"posts page for channel {channel}: HTTP {status} {body[:200]!r}")
            requests.append(request)
            cursor = json.loads(body)["next_cursor"]
            if cursor is None:
                break
    return requests


def swap_run(server: Server, demo: Demo, args) -> list[str]:
    requests = channel_requests(demo, "overview?days=30")
    published: list[tuple[float, str]] = []
    # At least two swaps in a short run; the last one early enough to be seen before the run ends.
    every = min(args.swap_every, (args.seconds - args.ttl - 0.5) / 2)

    def publish_during(start: float, end: float) -> None:
        due = start + every
        while due < end - args.ttl - 0.5:
            time.sleep(max(0.0, due - time.time()))
            version = publish_snapshot()
            published.append((time.time(), version))
            due += every

    out = run_load(server, requests, args, keep_answers=True, during=publish_during)
    first_seen: dict[str, float] = {}
    bodies: dict[int, set[int]] = {}
    for at, target, version, crc in sorted(out.answers):
        first_seen.setdefault(version, at)
        bodies.setdefault(target, set()).add(crc)
    delays = [first_seen[v] - at for at, v in published if v in first_seen]
    missed = [v for _, v in published if v not in first_seen]
    same_bodies = all(len(crcs) == 1 for crcs in bodies.values())
    ok = not out.bad and not missed and same_bodies and published
    lines = [summary_row("swap", out),
             f"swap: {len(published)} snapshots published during the run (one every {every:g} s), "
             f"{len(published) - len(missed)} seen in the answers' ETags"
             + (f" within {min(delays):.2f}-{max(delays):.2f} s of the pointer swap (version re-check every "
                f"{args.ttl:g} s)" if delays else "")
             + f"; {len(first_seen)} versions answered in all; each channel's overview body "
             + ("identical on every version" if same_bodies else "DIFFERS between versions"),
             f"target: zero errors during swaps, every new snapshot picked up: {'MET' if ok else 'MISSED'}"]
    return lines


def cold_run(server: Server, demo: Demo, args) -> list[str]:
    """The first request per channel after a publish (read from the snapshot), then the same one warm."""
    publish_snapshot()
    time.sleep(args.ttl + 0.5)  # let the server notice the new version before the first request
    routes = {"overview": "overview?days=30", "posts": "posts?sort=views_24h&order=desc&limit=20",
              "heatmap": "heatmap"}
    requests = []
    for suffix in routes.values():
        requests += channel_requests(demo, suffix)
    answers = asyncio.run(_one_by_one(server.port, requests + requests))
    n, per, lines = len(requests), len(demo.pairs), []
    for k, name in enumerate(routes):
        cold = sorted(t for _, t, _ in answers[k * per:(k + 1) * per])
        warm = sorted(t for _, t, _ in answers[n + k * per:n + (k + 1) * per])
        lines.append(f"cold {name:<9} first request per channel on a new snapshot: median "
                     f"{percentile(cold, 0.5):.1f} ms, max {cold[-1] * 1000:.1f} ms (the same request again: "
                     f"median {percentile(warm, 0.5):.2f} ms)")
    bad = [s for s, _, _ in answers if s != 200]
    if bad:
        lines.append(f"cold: {len(bad)} non-200 answers: {Counter(bad)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds before each run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--swap-every", type=float, default=5, help="seconds between publishes in the swap run")
    parser.add_argument("--ttl", type=float, default=1.0, help="ANALYTICBOT_API_VERSION_TTL of the server")
    parser.add_argument("--work", type=Path, default=Path("/tmp/analyticbot_api_bench"))
    parser.add_argument("--app", default="serving.api:app", help="the ASGI app uvicorn serves (to try a variant)")
    args = parser.parse_args()
    print(describe(), flush=True)
    demo = prepare_demo(args.work)
    print(f"demo: {len(demo.pairs)} channels of {len(demo.init_data)} owners; uvicorn {args.app}, 1 worker, "
          f"uvloop + httptools, our JSON access log at INFO (uvicorn's off); per-user rate limit raised to 1e9/s "
          f"(a policy, not what is measured); version re-check every {args.ttl:g} s", flush=True)
    print(f"load: a second process, {args.connections} keep-alive connections, closed loop, {args.seconds:g} s "
          f"per run after {args.warmup:g} s warm-up, every owner's initData cycled; srv cpu: the server process's "
          f"CPU time over the run (100% = one core)", flush=True)
    with api_server(demo, args.work, args.ttl, args.app) as server:
        print(HEADER, flush=True)
        overview = run_load(server, channel_requests(demo, "overview?days=30"), args)
        print(summary_row("overview", overview), flush=True)
        print(summary_row("posts", run_load(server, post_page_requests(demo, server.port), args)), flush=True)
        print(summary_row("heatmap", run_load(server, channel_requests(demo, "heatmap"), args)), flush=True)
        for line in swap_run(server, demo, args) + cold_run(server, demo, args):
            print(line, flush=True)
    lat = sorted(overview.latencies)
    rps, p99 = len(lat) / overview.elapsed, percentile(lat, 0.99)
    met = rps >= TARGET_RPS and p99 < TARGET_P99_MS and not overview.bad
    print(f"target: overview at concurrency {args.connections} >= {TARGET_RPS:,} req/s with p99 < "
          f"{TARGET_P99_MS:g} ms: {rps:,.0f} req/s, p99 {p99:.1f} ms: {'MET' if met else 'MISSED'}")
    print(server_log_summary(args.work / "server.log"))


if __name__ == "__main__":
    main()
