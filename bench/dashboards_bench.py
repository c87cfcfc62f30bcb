"""Dashboards: how long each page takes to render, against the 2 s target (issue 7).

Every page of `dashboards.views.PAGES` is rendered in Streamlit's AppTest, logged in as an admin (so every page
opens), on a demo snapshot. Per page: one AppTest session; its first run is a warm-up, printed apart (it pays
for the page's imports and for AppTest scanning the installed packages for components, ~2-10 s that a running
server pays once); then `--runs` full reruns of the page's script, their median against the target. A rerun is
what opening the page or clicking on it costs the server: the pages cache no data between runs (only the
store's engine), so every rerun reads the snapshot again. AppTest runs the script in this process without a
browser or websocket: the time is the script's (login check, reads, charts, tables) plus AppTest's own handling
of the elements, not the browser's drawing.

The snapshot comes from `--data-dir` (an existing data dir, read only, e.g. the one `make demo` built), or the
demo at `--scale` is built into `--work` (once; the pipeline records its runs in `<work>/dagster_home`, so the
health page has runs and checks to show). Accounts live in a store of the benchmark's own under `--work`.

    python bench/dashboards_bench.py [--runs 5] [--work /tmp/analyticbot_dashboards_bench] [--scale default]
                                     [--payment-scale large] [--data-dir DIR] [--dagster-home DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402

TARGET_S = 2.0


def build_demo(work: Path, scale: str, payment_scale: str | None = None) -> Path:
    """The demo's data dir under `work`, built once per scale (the pipeline takes minutes). `payment_scale`: the
    payment history's (default: the demo's own choice for `scale`, `default` unless `tiny`)."""
    name = scale if payment_scale is None else f"{scale}-payments-{payment_scale}"
    data, home = work / f"data-{name}", work / f"dagster_home-{name}"
    if (data / "published" / "CURRENT").exists():
        return data
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copyfile(ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    os.environ.update(ANALYTICBOT_DATA_DIR=str(data), ANALYTICBOT_DEMO_SCALE=scale, DAGSTER_HOME=str(home))
    os.environ.pop("ANALYTICBOT_APP_DB_URL", None)
    if payment_scale is None:
        os.environ.pop("ANALYTICBOT_DEMO_PAYMENT_SCALE", None)
    else:
        os.environ["ANALYTICBOT_DEMO_PAYMENT_SCALE"] = payment_scale
    from analyticbot import cli
    from analyticbot.settings import get_settings

    started = time.perf_counter()
    if not cli.build_demo(get_settings(), say=print):
        raise SystemExit("the demo pipeline failed")
    print(f"built the {scale} demo in {time.perf_counter() - started:.0f} s")
    return data


def admin_token() -> str:
    """A new admin account, logged in through `dashboards.auth` as the login page does (password, then the
    enrolment code from the account's secret), and its session token."""
    import pyotp

    from analyticbot.appstore.db import AppStore, migrate
    from analyticbot.settings import get_settings
    from dashboards import auth

    settings = get_settings()
    migrate(settings)
    store = AppStore(settings)
    try:
        name = f"bench{int(time.time())}"
        with store.transaction() as s:
            account = auth.create_account(s, settings, name, "admin")
        step = auth.login(store, settings, name, account.password, "", "127.0.0.1")
        secret = parse_qs(urlparse(account.enrolment_uri).query)["secret"][0]
        return auth.complete_enrolment(store, settings, step.token, pyotp.TOTP(secret).now(), "127.0.0.1").token
    finally:
        store.dispose()


def session_on(url: str, token: str):
    """An AppTest session of the logged-in admin on the page at `url`."""
    from streamlit.testing.v1 import AppTest

    from tests.dashboards.logins import one_page  # the app opening /<url>, as the page tests open it

    at = AppTest.from_function(one_page, args=(url,), default_timeout=120)
    at.session_state["dashboards.token"] = token
    return at


def render(at) -> float:
    """One full run of the page's script (what opening the page, or any click on it, costs the server)."""
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise SystemExit(f"page failed: {at.exception[0].value}")
    if not at.title or at.title[0].value == "AnalyticBot dashboards":
        raise SystemExit("page did not open (still on the login page)")
    return elapsed


def _users_in_use(at) -> None:
    """A search by a channel's title and one customer opened (their channels, orders, plan in force)."""
    from analyticbot.settings import get_settings
    from analyticbot.snapshot import SnapshotReader

    with SnapshotReader(get_settings()).connect() as con:
        row = con.query("SELECT owner_user_id, title FROM marts.dim_channels WHERE owner_user_id IS NOT NULL "
                        "ORDER BY channel_id LIMIT 1").row(0, named=True)
    at.text_input(key="users.search").input(row["title"].split()[0])
    at.text_input(key="users.open").input(str(row["owner_user_id"]))


def _orders_in_use(at) -> None:
    """The orders of one Telegram user, the busiest in the store."""
    import sqlite3

    path = os.environ["ANALYTICBOT_APP_DB_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as con:
        busiest = con.execute("SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id "
                              "LIMIT 1").fetchone()
    at.text_input(key="orders.user").input(str(busiest[0]) if busiest else "1")


def _revenue_filtered(at) -> None:
    """One gateway and one plan: every number from the segmented customer-months (not cached yet)."""
    at.multiselect(key="revenue.gateway").select("payme")
    plans = [p for p in at.multiselect(key="revenue.plan").options if p != "unknown"]
    at.multiselect(key="revenue.plan").select(plans[0])


INTERACTIONS = {"revenue": ("gateway and plan filters", _revenue_filtered),
                "admin-users": ("search and open a user", _users_in_use),
                "admin-payments": ("one user's orders", _orders_in_use)}


def report(title: str, first: float, times: list[float]) -> float:
    median = statistics.median(times)
    print(f"{title:<28} {first:>6.2f}s {median:>6.2f}s {max(times):>6.2f}s  {'✔' if median < TARGET_S else '✘'}")
    return median


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", type=Path, default=Path("/tmp/analyticbot_dashboards_bench"))
    ap.add_argument("--scale", default="default")
    ap.add_argument("--payment-scale", choices=("tiny", "default", "large"),
                    help="the payment history's scale (default: the demo's, `default` unless --scale tiny); "
                         "`large` is 68,000 customers, for the revenue, cohort and admin pages at size")
    ap.add_argument("--data-dir", type=Path, help="an existing data dir with a published snapshot (read only)")
    ap.add_argument("--dagster-home", type=Path, help="the Dagster instance the health page reads")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.data_dir:
        data = args.data_dir.resolve()
        if args.dagster_home:
            os.environ["DAGSTER_HOME"] = str(args.dagster_home.resolve())
    else:
        data = build_demo(args.work, args.scale, args.payment_scale)
        os.environ["DAGSTER_HOME"] = str(data.parent / data.name.replace("data-", "dagster_home-", 1))
    os.environ["ANALYTICBOT_DATA_DIR"] = str(data)
    # The admin pages read the operational store: a copy of the demo's own (its users, orders and payments), with
    # the benchmark's admin account added to the copy; a data dir without one gets an empty store.
    store_file = args.work / f"store-{data.name}.sqlite"
    store_file.unlink(missing_ok=True)
    if (data / "app.sqlite").exists():
        import sqlite3

        with sqlite3.connect(data / "app.sqlite") as source, sqlite3.connect(store_file) as copy:
            source.backup(copy)  # consistent even with the WAL beside it
    os.environ["ANALYTICBOT_APP_DB_URL"] = f"sqlite:///{store_file}"
    os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")

    from analyticbot.snapshot import SnapshotReader
    from analyticbot.settings import get_settings
    from dashboards import session
    from dashboards.views import PAGES

    session.client_address = lambda: "127.0.0.1"  # AppTest has no connection: the admin is on this machine
    token = admin_token()
    version = SnapshotReader(get_settings()).current_version()
    print(f"machine: {describe()}")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min)")
    print(f"snapshot {version} in {data}; DAGSTER_HOME={os.environ.get('DAGSTER_HOME')}")
    print(f"{len(PAGES)} pages, {args.runs} reruns each after one warm-up run; target < {TARGET_S:.0f} s\n")
    print(f"{'page':<28} {'first':>7} {'median':>7} {'max':>7}  target")
    worst = 0.0
    for page in PAGES:
        at = session_on(page.URL, token)
        first = render(at)
        times = [render(at) for _ in range(args.runs)]
        worst = max(worst, report(page.TITLE, first, times))
        if page.URL in INTERACTIONS:  # the page in use, not only as it opens
            label, act = INTERACTIONS[page.URL]
            act(at)
            first = render(at)  # the first run after the change reads what no earlier run cached
            if at.error or at.warning:
                raise SystemExit(f"{page.TITLE}, {label}: {[e.value for e in (*at.error, *at.warning)]}")
            worst = max(worst, report(f"  {label}", first, [render(at) for _ in range(args.runs)]))
    print(f"\nslowest page median {worst:.2f} s: target {'met' if worst < TARGET_S else 'MISSED'}")


if __name__ == "__main__":
    main()
