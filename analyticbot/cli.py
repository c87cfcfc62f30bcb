"""`analyticbot` command line: the demo pipeline, importing a Telegram Desktop export, and a summary.

    analyticbot demo [--scale tiny|default|large] [--seed 7] [--days N]
    analyticbot import-export path/to/result.json --owner 123456789 [--time-zone Asia/Tashkent] [--no-run]
    analyticbot summary
    analyticbot migrate
    analyticbot grant-admin 123456789 [--revoke]
    analyticbot admin-user alice --role admin [--reset]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from analyticbot.settings import ConfigError, Settings, get_settings


def cmd_migrate(settings: Settings) -> None:
    from analyticbot.appstore.db import migrate

    settings.ensure_dirs()
    migrate(settings)


def register_demo_accounts(settings: Settings) -> int:
    """Owners and channels of the demo, registered in the operational store like real ones (idempotent).

    A demo owner who erased themselves (/deleteme) stays erased: neither they nor their channels come back."""
    from analyticbot.appstore.channels import register_owned_channels
    from analyticbot.appstore.db import session_scope
    from analyticbot.privacy import erased_ids
    from analyticbot.telegram.demo import DEMO_START, demo_channels

    with session_scope(settings) as session:
        erased_users, erased_channels = erased_ids(session)
    channels = [ch for ch in demo_channels(seed=settings.demo_seed, scale=settings.demo_scale)
                if ch.owner_user_id not in erased_users and ch.channel_id not in erased_channels]
    owners = {ch.owner_user_id: dict(user_id=ch.owner_user_id, language=ch.owner_language, time_zone=ch.time_zone)
              for ch in channels}
    register_owned_channels(settings, list(owners.values()), [
        dict(channel_id=ch.channel_id, owner_user_id=ch.owner_user_id, title=ch.title, username=ch.username,
             # connected when their demo history starts: deterministic, so two builds agree row for row
             source_kind="demo", time_zone=ch.time_zone, registered_at=DEMO_START) for ch in channels])
    return len(channels)


def seed_demo_payments(settings: Settings) -> str:
    """The demo's payment history, delivered through the webhook protocol code into the operational store.

    Generated once per data dir: the ledger is the record of what gateways said, and a second delivery would
    open new orders for the same Payme and Click payments, a second history rather than a replay."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from analyticbot.appstore.db import AppStore
    from analyticbot.appstore.models import PaymentEvent
    from analyticbot.payments.demo import generate_history
    from analyticbot.telegram.demo import DEMO_START, SCALES, demo_channels

    store = AppStore(settings)
    try:
        with store.transaction() as session:
            if session.scalar(select(func.count()).select_from(PaymentEvent)):
                return "Payment ledger already holds the demo history; left as it is."
        owners = sorted({ch.owner_user_id for ch in demo_channels(seed=settings.demo_seed, scale=settings.demo_scale)})
        end = DEMO_START + timedelta(days=settings.demo_days or SCALES[settings.demo_scale].days)
        report = generate_history(store.transaction, seed=settings.demo_seed, scale=settings.demo_payment_scale,
                                  owner_ids=owners, end=end)
    finally:
        store.dispose()
    return (f"Delivered the demo payment history of {report.customers} customers through the webhook code: "
            f"{report.stripe_events} Stripe events, {report.payme_calls} Payme calls, {report.click_calls} Click "
            f"calls; {report.activity_days} days of product usage.")


def run_pipeline(settings: Settings) -> bool:
    """Materialise every asset in this process (ingest, dbt build with its tests, checks, publish).

    With DAGSTER_HOME set (the Makefile sets it) the run is recorded there and shows in the Dagster UI."""
    import dagster as dg

    from orchestration.definitions import defs

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    job = defs().resolve_job_def("full_build")
    # The console shows warnings and failures only; every event is in the run's log in the Dagster UI.
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=quiet)
    if not result.success:
        for event in result.all_events:
            if event.is_failure or (event.event_type_value == "ASSET_CHECK_EVALUATION"
                                    and not event.event_specific_data.passed):
                print(f"  ! {event.step_key or ''}: {event.message}", file=sys.stderr)
    return result.success


def build_demo(settings: Settings, say=print) -> bool:
    """Everything `make demo` builds: the store, the demo channels and payment history, then the whole pipeline.
    Tests and benchmarks that need the demo's warehouse build it with this too."""
    cmd_migrate(settings)
    n = register_demo_accounts(settings)
    say(f"Registered {n} demo channels (scale {settings.demo_scale}, seed {settings.demo_seed}).")
    say(seed_demo_payments(settings))
    return run_pipeline(settings)


def cmd_demo(settings: Settings) -> int:
    started = time.perf_counter()
    ok = build_demo(settings)
    elapsed = time.perf_counter() - started
    print(f"Pipeline {'finished' if ok else 'FAILED'} in {elapsed:.1f} s.\n")
    if ok:
        print_summary(settings)
    from dashboards.accounts import ensure_demo_admin

    # Last, so that the one-time password is the last thing on the screen rather than scrolled away.
    print("\n" + ensure_demo_admin(settings))
    return 0 if ok else 1


def cmd_import_export(settings: Settings, file: Path, owner: int, time_zone: str | None, run: bool) -> int:
    from analyticbot.appstore.channels import register_channel, upsert_user
    from analyticbot.telegram.desktop_export import ExportFormatError, parse_export

    try:
        result = parse_export(file)
    except ExportFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cmd_migrate(settings)
    upsert_user(settings, owner, time_zone=time_zone)
    register_channel(settings, channel_id=result.channel_id, owner_user_id=owner, title=result.title,
                     source_kind="export", time_zone=time_zone)
    landing = settings.export_landing_dir
    landing.mkdir(parents=True, exist_ok=True)
    target = landing / f"{result.channel_id}-{int(time.time())}-{file.name}"
    shutil.copyfile(file, target)
    print(f"Channel {result.title!r} ({result.channel_id}): {result.messages_read} messages read, "
          f"{result.messages_rejected} rejected. Landed as {target}.")
    if not run:
        print("The export sensor picks it up when the Dagster daemon runs (make ui).")
        return 0
    ok = run_pipeline(settings)
    if ok:
        print_summary(settings)
    return 0 if ok else 1


def print_summary(settings: Settings) -> None:
    from analyticbot.snapshot import SnapshotReader, SnapshotUnavailable

    reader = SnapshotReader(settings)
    try:
        with reader.connect() as con:
            counts = con.query(
                "SELECT (SELECT count(*) FROM marts.dim_channels) AS channels, "
                "(SELECT count(*) FROM marts.fct_posts) AS posts, "
                "(SELECT sum(snapshots) FROM marts.fct_posts) AS snapshots").row(0, named=True)
            top = con.query(
                "SELECT c.title, p.message_id, p.posted_at, p.views_24h FROM marts.fct_posts p "
                "JOIN marts.dim_channels c USING (channel_id) WHERE p.views_24h IS NOT NULL "
                "ORDER BY p.views_24h DESC, p.channel_id, p.message_id LIMIT 5")
            err = con.query(
                "SELECT c.title, c.subscribers_latest, d.err, d.err24, d.er FROM marts.dim_channels c "
                "LEFT JOIN marts.fct_channel_daily d ON d.channel_id = c.channel_id AND d.date = "
                "(SELECT max(date) FROM marts.fct_channel_daily x WHERE x.channel_id = c.channel_id) "
                "ORDER BY c.title")
            kpis = con.query(
                "SELECT month, mrr_usd, customers, new_usd, expansion_usd, contraction_usd, churn_usd, "
                "reactivation_usd, customer_churn_rate, nrr FROM marts.fct_saas_kpis_monthly "
                "ORDER BY month DESC LIMIT 6")
    except SnapshotUnavailable as exc:
        print(exc)
        return
    print(f"Published snapshot {reader.current_version()}: {counts['channels']} channels, {counts['posts']} posts, "
          f"{int(counts['snapshots'] or 0):,} counter snapshots.\n")
    print("Top posts by views at 24 h:")
    for title, mid, posted_at, v24 in top.iter_rows():
        print(f"  {v24:>10,.0f}  {title} #{mid} ({posted_at:%Y-%m-%d %H:%M} UTC)")
    print("\nERR (last 30 days) per channel:")
    for title, subs, e, e24, er in err.iter_rows():
        # Desktop exports carry no views and no subscriber counts: unavailable, shown as such, never as 0.
        shown = "n/a" if subs is None else f"{subs:,}"
        print(f"  {title:<32} subscribers {shown:>8}  ERR {_pct(e)}  ERR24 {_pct(e24)}  ER {_pct(er)}")
    if kpis.height:
        print("\nRevenue (USD) for the last months:")
        print(f"  {'month':<8} {'MRR':>10} {'customers':>9} {'new':>8} {'expansion':>9} {'contraction':>11} "
              f"{'churn':>8} {'reactiv.':>8} {'cust. churn':>11} {'NRR':>7}")
        for m, mrr, cust, new, exp, con_, churn, react, churn_rate, nrr in reversed(kpis.rows()):
            print(f"  {m:%Y-%m}  {mrr:>10,.2f} {cust:>9,} {new:>8,.0f} {exp:>9,.0f} {con_:>11,.0f} {churn:>8,.0f} "
                  f"{react:>8,.0f} {_pct(churn_rate):>11} {_pct(nrr):>7}")
    from analyticbot.ml_summary import format_best_slots, format_churn_risk

    print("\n" + format_best_slots(settings))
    print("\n" + format_churn_risk(settings))
    print("\nOpen the Dagster UI with `make ui` (http://127.0.0.1:3000) to see the assets, runs and checks.")


def _pct(x: float | None) -> str:
    return "   n/a" if x is None else f"{x:6.1%}"


def cmd_twa_url(settings: Settings, user_id: int | None, base: str) -> int:
    """A link that opens the Mini App page as Telegram would (initData in the URL fragment), for `user_id`."""
    from urllib.parse import quote

    from serving.api.auth import sign_init_data

    if not settings.bot_token:
        print("configuration error: BOT_TOKEN is not set (`make twa-url` sets the local demo token)",
              file=sys.stderr)
        return 2
    if user_id is None:
        from analyticbot.snapshot import SnapshotReader, SnapshotUnavailable

        try:
            owners = SnapshotReader(settings).query(
                "SELECT owner_user_id, count(*) AS n FROM marts.dim_channels GROUP BY owner_user_id "
                "ORDER BY n DESC, owner_user_id LIMIT 1")
        except SnapshotUnavailable:
            print("no published snapshot yet: run `make demo` first, or pass --user", file=sys.stderr)
            return 2
        if owners.is_empty():
            print("no channels in the published snapshot: pass --user", file=sys.stderr)
            return 2
        user_id = int(owners["owner_user_id"][0])
    init_data = sign_init_data(settings.bot_token, user_id)
    print(f"{base.rstrip('/')}/app/#tgWebAppData={quote(init_data, safe='')}&tgWebAppVersion=8.0"
          f"&tgWebAppPlatform=web")
    print(f"(user {user_id}; the signature is valid for {settings.api_init_data_max_age} s)", file=sys.stderr)
    return 0


def cmd_grant_admin(settings: Settings, user_id: int, revoke: bool) -> int:
    """Give a registered user the admin role (the bot's /user and /broadcast), or take it back, with its audit row
    (source "cli", admin id CLI_ADMIN_ID) in the same transaction."""
    import getpass

    from analyticbot.appstore.audit import CLI_ADMIN_ID, record_admin_action
    from analyticbot.appstore.db import session_scope
    from analyticbot.appstore.models import User

    cmd_migrate(settings)
    role = "owner" if revoke else "admin"
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        os_user = None
    with session_scope(settings) as session:
        user = session.get(User, user_id)
        if user is None:
            print(f"error: user {user_id} is not registered: they must send /start to the bot first",
                  file=sys.stderr)
            return 1
        if user.role == role:
            print(f"User {user_id} is {'not an admin' if revoke else 'an admin'} already; nothing changed.")
            return 0
        before, user.role = user.role, role
        record_admin_action(session, CLI_ADMIN_ID, "revoke_admin" if revoke else "grant_admin", target=user_id,
                            detail={"role_before": before, "role_after": role, "os_user": os_user}, source="cli")
    print(f"User {user_id} is no longer an admin." if revoke
          else f"User {user_id} is now an admin: /user and /broadcast work for them in the bot.")
    return 0


def _user_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 0 < value < 2 ** 63:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Telegram user id (a positive whole number)")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="analyticbot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="register the demo channels and run the whole pipeline")
    demo.add_argument("--scale", choices=["tiny", "default", "large"])
    demo.add_argument("--seed", type=int)
    demo.add_argument("--days", type=int)
    imp = sub.add_parser("import-export", help="import a Telegram Desktop export (result.json)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--owner", type=int, required=True, help="Telegram user id of the channel's owner")
    imp.add_argument("--time-zone", default=None, help="IANA time zone of the owner, e.g. Asia/Tashkent")
    imp.add_argument("--no-run", action="store_true", help="only land the file; the sensor ingests it")
    sub.add_parser("summary", help="print channels, top posts and ERR from the published snapshot")
    sub.add_parser("migrate", help="create or upgrade the operational store")
    twa = sub.add_parser("twa-url", help="print a local Mini App link with initData signed by BOT_TOKEN")
    twa.add_argument("--user", type=int, help="Telegram user id (default: the owner of the most demo channels)")
    twa.add_argument("--base", default="http://127.0.0.1:8000", help="where `make api` serves")
    grant = sub.add_parser("grant-admin", help="give a user who has started the bot the admin role (audited)")
    grant.add_argument("user_id", type=_user_id, help="Telegram user id")
    grant.add_argument("--revoke", action="store_true", help="take the admin role back")
    admin_user = sub.add_parser("admin-user", help="create a dashboards account; prints its password once")
    admin_user.add_argument("username")
    admin_user.add_argument("--role", choices=["viewer", "analyst", "admin"], default="viewer")
    admin_user.add_argument("--reset", action="store_true",
                            help="a new password and second factor for an existing account (lost phone)")
    args = parser.parse_args(argv)

    if args.command == "demo":
        for flag, env in (("scale", "ANALYTICBOT_DEMO_SCALE"), ("seed", "ANALYTICBOT_DEMO_SEED"),
                          ("days", "ANALYTICBOT_DEMO_DAYS")):
            if getattr(args, flag) is not None:
                os.environ[env] = str(getattr(args, flag))
    try:
        settings = get_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "demo":
        return cmd_demo(settings)
    if args.command == "import-export":
        if not args.file.exists():
            print(f"error: {args.file}: no such file", file=sys.stderr)
            return 2
        return cmd_import_export(settings, args.file, args.owner, args.time_zone, not args.no_run)
    if args.command == "summary":
        print_summary(settings)
        return 0
    if args.command == "twa-url":
        return cmd_twa_url(settings, args.user, args.base)
    if args.command == "grant-admin":
        return cmd_grant_admin(settings, args.user_id, args.revoke)
    if args.command == "admin-user":
        from dashboards.accounts import cmd_admin_user

        cmd_migrate(settings)
        return cmd_admin_user(settings, args.username, args.role, args.reset)
    cmd_migrate(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
