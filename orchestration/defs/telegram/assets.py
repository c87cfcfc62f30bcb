from datetime import datetime

import dagster as dg

from analyticbot.appstore.channels import list_channels
from analyticbot.settings import ConfigError, get_settings
from analyticbot.telegram.collect import collect_demo, collect_exports, collect_live, window
from analyticbot.telegram.contract import RAW_TABLES
from analyticbot.warehouse import open_warehouse
from orchestration.defs.privacy.assets import WAREHOUSE_PURGE
from orchestration.lib.pools import WAREHOUSE_POOL

RAW_TELEGRAM_KEYS = [dg.AssetKey(["raw", name]) for name in RAW_TABLES]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", spec.name], description=spec.doc, group_name="raw", kinds={"telegram", "duckdb"},
                     metadata={"natural_key": ", ".join(spec.key)}, deps=[WAREHOUSE_PURGE])
        for spec in RAW_TABLES.values()
    ],
    pool=WAREHOUSE_POOL,
)
def telegram_raw(context: dg.AssetExecutionContext):
    """Ingest every registered channel from its source into the raw tables, in one transaction.

    - demo channels: the deterministic generator (ANALYTICBOT_DEMO_SEED / _SCALE / _DAYS);
    - export channels: Telegram Desktop `result.json` files waiting in the landing folder;
    - telethon channels: a live poll (new posts by message id, counters of young posts on the decaying schedule).

    Append-only and idempotent on natural keys: re-running adds nothing. Bad records land in
    `raw.rejected_records` with their reason; the rest of the run is unaffected."""
    settings = get_settings()
    settings.ensure_dirs()
    now = datetime.utcnow()
    channels = list_channels(settings)
    exports = collect_exports(settings.export_landing_dir, now)
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        batch = collect_demo(settings, channels, wh).extend(exports.batch)
        if any(c.source_kind == "telethon" for c in channels):
            try:
                batch = batch.extend(collect_live(settings, wh, channels, now))
            except ConfigError as exc:
                context.log.warning(f"live channels not polled: {exc}")
        report = wh.ingest(batch, source="telegram", now=now)
        totals = {name: wh.count(f"raw.{name}") for name in RAW_TABLES}
    exports.settle(settings.export_landing_dir)
    for path, reason in exports.failed:
        context.log.error(f"export rejected: {reason}")
    # A channel that went private or vanished is recorded (raw.telegram_channels.status), never fatal.
    for row in batch.table("telegram_channels").to_pylist():
        if row["status"] != "active":
            context.log.warning(f"channel {row['channel_id']} is {row['status']}: {row['status_reason']}")
    first, last = window(batch)
    for name in RAW_TABLES:
        meta = {
            "dagster/row_count": totals[name],
            "rows_added": report.inserted.get(name, 0),
            "rows_already_present": report.already_present.get(name, 0),
        }
        if name == "telegram_post_snapshots" and first is not None:
            meta["batch_observed_from"] = first.isoformat()
            meta["batch_observed_to"] = last.isoformat()
        if name == "rejected_records":
            meta["rejected_this_run"] = report.rejected
            meta["reasons"] = dg.MetadataValue.json(report.reasons)
        yield dg.MaterializeResult(asset_key=["raw", name], metadata=meta)


