"""Writing the model outputs (schema ``ml``): each table replaced whole, in one transaction, on DuckDB or PostgreSQL.

A table is created from the frame's own schema, so the model modules own their column sets; when a module changes
its columns the table is dropped and recreated in the same transaction. Readers never see a half-written table:
on DuckDB they read the published snapshot; on PostgreSQL the swap commits at once (rows are deleted and
re-inserted rather than the table dropped, when the columns are unchanged, so a reader's query never finds the
table missing).
"""

from __future__ import annotations

import json
import re
from typing import Mapping

import polars as pl
import pyarrow as pa

from analyticbot.warehouse import Warehouse, sql_type

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
# information_schema spellings of the types `sql_type` emits, DuckDB and PostgreSQL, folded to one name each
_TYPE_ALIASES = {
    "DOUBLE": "DOUBLE PRECISION", "FLOAT8": "DOUBLE PRECISION",
    "VARCHAR": "TEXT", "CHARACTER VARYING": "TEXT",
    "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
    "INT8": "BIGINT", "INT4": "INTEGER", "INT": "INTEGER", "BOOL": "BOOLEAN",
}


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


def to_arrow(frame: pl.DataFrame) -> pa.Table:
    """The frame as Arrow with only the types `analyticbot.warehouse.sql_type` maps: strings as `string`, small and
    unsigned integers widened, timestamps as naive UTC microseconds (times are stored in UTC), an all-null column as
    text, decimals as doubles, and nested values (lists, structs) as JSON text."""
    cols = []
    for name, dtype in frame.schema.items():
        c = pl.col(name)
        if dtype in (pl.Int8, pl.Int16, pl.UInt8, pl.UInt16):
            c = c.cast(pl.Int32)
        elif dtype in (pl.UInt32, pl.UInt64):
            c = c.cast(pl.Int64)
        elif dtype == pl.Float32 or isinstance(dtype, pl.Decimal):
            c = c.cast(pl.Float64)
        elif dtype == pl.Null or isinstance(dtype, (pl.Categorical, pl.Enum)):
            c = c.cast(pl.String)
        elif isinstance(dtype, pl.Datetime):
            if dtype.time_zone is not None:
                c = c.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            c = c.cast(pl.Datetime("us"))
        elif isinstance(dtype, (pl.List, pl.Array, pl.Struct)):
            c = pl.Series(name, [_json(v) for v in frame[name].to_list()], dtype=pl.String)
        cols.append(c)
    table = frame.select(cols).to_arrow()
    fields = [pa.field(f.name, pa.string()) if pa.types.is_large_string(f.type) or pa.types.is_string_view(f.type)
              else f for f in table.schema]
    return table.cast(pa.schema(fields))


def _norm(sql: str) -> str:
    t = sql.strip().upper()
    return _TYPE_ALIASES.get(t, t)


def _existing_columns(wh: Warehouse, schema: str, name: str) -> list[tuple[str, str]]:
    df = wh.query_pl("SELECT column_name, data_type FROM information_schema.columns "
                     "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position", [schema, name])
    return [(str(c), _norm(str(t))) for c, t in df.iter_rows()]


def _q(name: str) -> str:
    return f'"{name}"'


def _insert(wh: Warehouse, qualified: str, table: pa.Table) -> None:
    """Append `table`, with quoted column names (a model may name a column like an SQL keyword, e.g. "at")."""
    cols = ", ".join(_q(c) for c in table.column_names)
    if wh.kind == "duckdb":
        wh._register_extra("_ml_rows", table)
        try:
            wh.execute(f"INSERT INTO {qualified} ({cols}) SELECT {cols} FROM _ml_rows")
        finally:
            wh._unregister_extra("_ml_rows")
    else:  # COPY ... (cols) FROM STDIN: the names only appear in the column list, so quoting them is enough
        wh._append(qualified, table.rename_columns([_q(c) for c in table.column_names]))


def replace_tables(wh: Warehouse, tables: Mapping[str, pl.DataFrame]) -> dict[str, int]:
    """Replace every ``"schema.table"`` of `tables` with its frame, all in one transaction (all or nothing).
    Creates a missing table from the frame's schema; recreates one whose columns differ. Returns rows written."""
    prepared: dict[str, pa.Table] = {}
    for qualified, frame in tables.items():
        parts = qualified.split(".")
        if len(parts) != 2 or not all(_IDENT.match(p) for p in parts):
            raise ValueError(f"bad table name {qualified!r}: expected schema.table in lower case")
        table = to_arrow(frame)
        bad = [f.name for f in table.schema if not _IDENT.match(f.name)]
        if bad:
            raise ValueError(f"{qualified}: column names must be lower-case identifiers, got {bad}")
        prepared[qualified] = table
    with wh.transaction():
        for qualified, table in prepared.items():
            schema, name = qualified.split(".")
            wanted = [(f.name, sql_type(f.type, wh.kind)) for f in table.schema]
            present = _existing_columns(wh, schema, name)
            if present and present == [(c, _norm(t)) for c, t in wanted]:
                wh.execute(f"DELETE FROM {qualified}")
            else:
                if present:
                    wh.execute(f"DROP TABLE {qualified}")
                wh.execute(f"CREATE TABLE {qualified} ({', '.join(f'{_q(c)} {t}' for c, t in wanted)})")
            if table.num_rows:
                _insert(wh, qualified, table)
    return {q: t.num_rows for q, t in prepared.items()}


def replace_table(wh: Warehouse, qualified: str, frame: pl.DataFrame) -> int:
    """`replace_tables` for one table."""
    return replace_tables(wh, {qualified: frame})[qualified]
