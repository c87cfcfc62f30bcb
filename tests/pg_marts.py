"""A published DuckDB snapshot's reader-facing tables copied into a PostgreSQL database, the way readers find the
production warehouse: `marts`/`ml` tables and a `meta.publications` row naming the version.

The tables are copied as they are, column types mapped from the polars types DuckDB hands back (the dbt build on
PostgreSQL is tested in tests/dbt). The question for the tests that use this is the readers' SQL and connections
on that engine: the same rows on both sides leave only the SQL to differ.
"""

from __future__ import annotations

import json
from typing import Sequence

import polars as pl
import psycopg

from analyticbot.settings import Settings
from analyticbot.snapshot import ReadConnection, SnapshotReader

PG_TYPES = {pl.Int64: "bigint", pl.Int32: "integer", pl.Int16: "smallint", pl.Int8: "smallint",
            pl.UInt8: "smallint", pl.UInt16: "integer", pl.UInt32: "bigint", pl.UInt64: "numeric(20, 0)",
            pl.Int128: "numeric(39, 0)", pl.Float64: "double precision", pl.Float32: "real", pl.String: "text",
            pl.Boolean: "boolean", pl.Date: "date", pl.Time: "time", pl.Duration: "interval",
            pl.Null: "text"}  # a column of nulls only: any type holds it


def pg_type(dtype: pl.DataType) -> str:
    """The PostgreSQL column type for a polars dtype (what DuckDB's type arrives as)."""
    if isinstance(dtype, pl.Decimal):
        return f"numeric({dtype.precision or 38}, {dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return "timestamptz" if dtype.time_zone else "timestamp"
    if isinstance(dtype, (pl.List, pl.Array)):
        return pg_type(dtype.inner) + "[]"
    try:
        return PG_TYPES[dtype.base_type()]
    except KeyError:
        raise TypeError(f"no PostgreSQL type for {dtype} (add it to PG_TYPES)") from None


def copy_snapshot(settings: Settings, url: str, tables: Sequence[str] | None = None) -> str:
    """Copy the current snapshot of `settings` (DuckDB) into the empty database at `url`: `tables`
    ("schema.table"; default every table it holds, all of `marts` and `ml`) and its version row, with the same
    published time and table rows. Returns the version."""
    reader = SnapshotReader(settings)
    with reader.connect() as src, psycopg.connect(url, autocommit=True) as dst:
        published = src.query("SELECT version, published_at, tables FROM meta.snapshot").row(0, named=True)
        counts = json.loads(published["tables"])  # every table the snapshot holds, with its rows
        tables = list(tables) if tables is not None else sorted(counts)
        for schema in sorted({t.split(".")[0] for t in tables} | {"meta"}):
            dst.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        for table in tables:
            _copy_table(src, dst, table)
        # As `analyticbot.snapshot.publish` writes it on PostgreSQL.
        dst.execute("CREATE TABLE meta.publications (version TEXT PRIMARY KEY, published_at TIMESTAMP NOT NULL, "
                    "tables TEXT NOT NULL)")
        dst.execute("INSERT INTO meta.publications VALUES (%s, %s, %s)",
                    [published["version"], published["published_at"],
                     json.dumps({t: n for t, n in counts.items() if t in tables})])
    return published["version"]


def _copy_table(src: ReadConnection, dst, table: str) -> None:
    frame = src.query(f"SELECT * FROM {table}")
    columns = ", ".join(f'"{c}" {pg_type(t)}' for c, t in frame.schema.items())
    dst.execute(f"CREATE TABLE {table} ({columns})")
    with dst.cursor().copy(f"COPY {table} FROM STDIN") as copy:
        for row in frame.iter_rows():
            copy.write_row(row)


def approx(value):
    """Floats to 9 significant digits, in dicts and lists too (the engines may differ in the last bits of a double
    computed or stored as text)."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: approx(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [approx(v) for v in value]
    return value
