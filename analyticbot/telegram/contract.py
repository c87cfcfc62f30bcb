"""The normalised contract every Telegram source produces: a `RawBatch` of Arrow tables, one per raw table.

Columnar because the demo's `large` scale is 5M counter snapshots: rows as Python objects would cost more than
the warehouse write itself. Live and export sources build rows as dicts and call `RawBatch.from_rows`.

Times are UTC, as naive ``timestamp`` values (DuckDB and PostgreSQL agree on those; the owner's time zone is
applied at read time). Counters are running totals at ``observed_at``; ``None`` means "not observed" (a
Desktop export has no views), never zero.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, Mapping

import pyarrow as pa

TS = pa.timestamp("us")

SOURCE_KINDS = ("telethon", "export", "demo")
CONTENT_TYPES = ("text", "photo", "video", "album", "document", "audio", "voice", "poll", "sticker", "other")
CHANNEL_STATUSES = ("active", "private", "unreachable")


@dataclass(frozen=True)
class RawTable:
    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    doc: str


RAW_TABLES: dict[str, RawTable] = {
    t.name: t
    for t in (
        RawTable(
            "telegram_channels",
            pa.schema([
                ("channel_id", pa.int64()), ("observed_at", TS), ("source_kind", pa.string()),
                ("title", pa.string()), ("username", pa.string()), ("status", pa.string()),
                ("status_reason", pa.string()),
            ]),
            ("channel_id", "observed_at"),
            "What Telegram said about a channel at a moment: title, username, reachability.",
        ),
        RawTable(
            "telegram_posts",
            pa.schema([
                ("channel_id", pa.int64()), ("message_id", pa.int64()), ("revision_at", TS),
                ("grouped_id", pa.int64()), ("posted_at", TS), ("edited_at", TS), ("deleted", pa.bool_()),
                ("content_type", pa.string()), ("text_length", pa.int32()), ("has_media", pa.bool_()),
                ("is_forward", pa.bool_()), ("source_kind", pa.string()),
            ]),
            ("channel_id", "message_id", "revision_at"),
            "One row per revision of a message: as posted, each edit (revision_at = edit time), and deletion.",
        ),
        RawTable(
            "telegram_post_snapshots",
            pa.schema([
                ("channel_id", pa.int64()), ("message_id", pa.int64()), ("observed_at", TS),
                ("views", pa.int64()), ("forwards", pa.int64()), ("replies", pa.int64()),
                ("reactions", pa.int64()), ("reactions_by_emoji", pa.string()),
            ]),
            ("channel_id", "message_id", "observed_at"),
            "Counters of one message read at observed_at (running totals). JSON {emoji: count} for reactions.",
        ),
        RawTable(
            "telegram_channel_snapshots",
            pa.schema([("channel_id", pa.int64()), ("observed_at", TS), ("subscribers", pa.int64())]),
            ("channel_id", "observed_at"),
            "participants_count of a channel read at observed_at.",
        ),
        RawTable(
            "telegram_channel_daily_stats",
            pa.schema([
                ("channel_id", pa.int64()), ("day", pa.date32()), ("joins", pa.int64()),
                ("leaves", pa.int64()), ("observed_at", TS),
            ]),
            ("channel_id", "day"),
            "Joins and leaves per day where Telegram's statistics (or the demo) tell them.",
        ),
        RawTable(
            "rejected_records",
            pa.schema([
                ("source", pa.string()), ("channel_ref", pa.string()), ("record_key", pa.string()),
                ("reason", pa.string()), ("payload", pa.string()), ("rejected_at", TS),
            ]),
            ("source", "channel_ref", "record_key", "reason"),
            "Records a source or the ingester refused, with the reason; nothing is dropped silently.",
        ),
    )
}


def utc_naive(dt: datetime | None) -> datetime | None:
    """UTC as a naive datetime (the warehouse convention). Aware datetimes are converted, naive ones trusted."""
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt


@dataclass
class RawBatch:
    """Rows for some raw tables. Missing tables are empty. Rejected records travel with the batch."""

    tables: dict[str, pa.Table] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Mapping[str, Iterable[Mapping]]) -> "RawBatch":
        tables = {}
        for name, table_rows in rows.items():
            spec = RAW_TABLES[name]
            table_rows = list(table_rows)
            tables[name] = pa.Table.from_pylist(table_rows, schema=spec.schema)
        return cls(tables)

    def table(self, name: str) -> pa.Table:
        table = self.tables.get(name)
        return table if table is not None else RAW_TABLES[name].schema.empty_table()

    def extend(self, other: "RawBatch") -> "RawBatch":
        names = set(self.tables) | set(other.tables)
        return RawBatch({n: pa.concat_tables([self.table(n), other.table(n)]) for n in names})

    def row_counts(self) -> dict[str, int]:
        return {name: self.table(name).num_rows for name in RAW_TABLES}


def rejected(source: str, channel_ref: object, record_key: object, reason: str, payload: object,
             rejected_at: datetime) -> dict:
    """A `rejected_records` row. The payload is kept as JSON text so the record can be replayed by hand."""
    try:
        text = json.dumps(payload, default=str, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(payload)
    return {
        "source": source, "channel_ref": str(channel_ref), "record_key": str(record_key), "reason": reason,
        "payload": text, "rejected_at": utc_naive(rejected_at),
    }
