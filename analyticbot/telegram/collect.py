"""Gather what is due from every source into one `RawBatch`. Dagster assets and the CLI call these.

Which channels to read comes from the operational store (source kind per channel); what the warehouse
already holds (newest message id, young posts and when they were last read) comes from the raw tables.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from analyticbot.appstore.channels import ChannelInfo
from analyticbot.settings import Settings
from analyticbot.telegram import polling
from analyticbot.telegram.contract import RawBatch, rejected
from analyticbot.warehouse import Warehouse

log = logging.getLogger(__name__)


# -- demo ----------------------------------------------------------------------------------------------------
def collect_demo(settings: Settings, channels: list[ChannelInfo], wh: Warehouse | None = None) -> RawBatch:
    """The demo generator's rows for the registered demo channels (re-ingesting them adds nothing).

    The generator is prefix-stable, so with a warehouse at hand only the window from the start of the newest
    day already stored is generated: one more day costs one day of generation, not the whole history."""
    from analyticbot.telegram.demo import generate_demo

    wanted = sorted(c.channel_id for c in channels if c.source_kind == "demo")
    if not wanted:
        return RawBatch()
    observed_from = None
    if wh is not None:
        marks = ", ".join("?" for _ in wanted)
        newest = wh.query_pl(f"SELECT max(observed_at) AS m FROM raw.telegram_post_snapshots "
                             f"WHERE channel_id IN ({marks})", wanted)["m"][0]
        if newest is not None:
            observed_from = datetime(newest.year, newest.month, newest.day)
    data = generate_demo(seed=settings.demo_seed, scale=settings.demo_scale, days=settings.demo_days,
                         observed_from=observed_from)
    ids = pa.array(sorted(wanted), pa.int64())
    return RawBatch({
        name: table.filter(pc.is_in(table["channel_id"], ids)) if "channel_id" in table.column_names else table
        for name, table in data.batch.tables.items()
    })


# -- Desktop exports -----------------------------------------------------------------------------------------
@dataclass
class ExportCollection:
    batch: RawBatch = field(default_factory=RawBatch)
    processed: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    def settle(self, landing: Path) -> None:
        """After the batch is committed: move files out of the landing folder so they are read once."""
        for path in self.processed:
            _move(path, landing / "processed")
        for path, _ in self.failed:
            _move(path, landing / "failed")


def pending_exports(landing: Path) -> list[Path]:
    return sorted(p for p in landing.glob("*.json") if p.is_file())


def collect_exports(landing: Path, now: datetime) -> ExportCollection:
    """Parse every export waiting in the landing folder. A broken file is rejected whole, with the reason."""
    from analyticbot.telegram.desktop_export import ExportFormatError, parse_export

    out = ExportCollection()
    for path in pending_exports(landing):
        try:
            result = parse_export(path)
        except ExportFormatError as exc:
            log.warning("export rejected: %s", exc)
            out.batch = out.batch.extend(RawBatch.from_rows({"rejected_records": [
                rejected("export", path.name, "file", str(exc), {"file": path.name}, now)]}))
            out.failed.append((path, str(exc)))
            continue
        out.batch = out.batch.extend(result.batch)
        out.processed.append(path)
    return out


def _move(path: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), folder / path.name)


# -- live (telethon) -----------------------------------------------------------------------------------------
def live_states(wh: Warehouse, channel_ids: list[int], now: datetime) -> dict:
    """What the warehouse holds for each live channel: newest message id and the posts still being tracked."""
    from analyticbot.telegram.live import ChannelState, KnownPost

    if not channel_ids:
        return {}
    marks = ", ".join("?" for _ in channel_ids)
    newest = wh.query_pl(
        f"SELECT channel_id, max(message_id) AS max_id FROM raw.telegram_posts WHERE channel_id IN ({marks}) "
        "GROUP BY channel_id", channel_ids)
    tracked = wh.query_pl(
        "SELECT p.channel_id, p.message_id, min(p.posted_at) AS posted_at, max(s.observed_at) AS last_seen "
        "FROM raw.telegram_posts p LEFT JOIN raw.telegram_post_snapshots s "
        "ON s.channel_id = p.channel_id AND s.message_id = p.message_id "
        f"WHERE p.channel_id IN ({marks}) AND p.posted_at >= ? "
        "GROUP BY p.channel_id, p.message_id ORDER BY p.channel_id, p.message_id",
        [*channel_ids, now - polling.MAX_TRACKED_AGE])
    max_ids = dict(newest.iter_rows())
    known: dict[int, list] = {cid: [] for cid in channel_ids}
    for cid, mid, posted_at, last_seen in tracked.iter_rows():
        known[cid].append(KnownPost(mid, posted_at, last_seen))
    return {cid: ChannelState(int(max_ids.get(cid) or 0), tuple(known[cid])) for cid in channel_ids}


def collect_live(settings: Settings, wh: Warehouse, channels: list[ChannelInfo], now: datetime) -> RawBatch:
    """Poll the live channels through a telethon user session (TELEGRAM_* settings)."""
    from analyticbot.telegram.live import LiveChannel, LivePoller, make_client

    live = [c for c in channels if c.source_kind == "telethon"]
    if not live:
        return RawBatch()
    states = live_states(wh, [c.channel_id for c in live], now)
    client = make_client(settings)  # raises ConfigError naming a missing TELEGRAM_* variable

    async def run() -> RawBatch:
        async with client:
            poller = LivePoller(client, now=lambda: now)
            return await poller.poll([(LiveChannel(c.channel_id, c.username), states[c.channel_id]) for c in live])

    return asyncio.run(run())


def window(batch: RawBatch, column: str = "observed_at") -> tuple[datetime | None, datetime | None]:
    t = batch.table("telegram_post_snapshots")
    if t.num_rows == 0:
        return None, None
    mm = pc.min_max(t[column]).as_py()
    return mm["min"], mm["max"]
