"""Erasure in the warehouse: the pipeline's half of /deleteme (the operational store's half is
`analyticbot.privacy.erase_user`, which leaves an `erasure_requests` row behind for this).

`purge_warehouse` runs first in every full build, before ingestion and dbt, and deletes the erased users' and
channels' rows from every warehouse table that names them. Most dbt models are rebuilt whole from raw on each run
and would lose the rows anyway, but the incremental ones (int_post_snapshots_enriched, int_post_reach_interpolated,
int_daily_reach_allocated, fct_post_decay) only reprocess recent days and would keep an erased channel's history
forever; deleting in raw and in every built table alike means no model can bring a row back, whatever its
materialisation, and the warehouse holds nothing of them even if the run fails after the purge.

Which tables: any base table in `raw`, `intermediate`, `marts`, `ml` with a `channel_id`, `owner_user_id` or
`user_id` column (found in information_schema, so a new model is covered without a list to maintain), plus
`raw.rejected_records`, whose `channel_ref` is the channel id as text. Not touched, by design: the payment
ledger and the revenue models built on it (`customer_id`, no user or channel column), which are accounting
records kept detached, as in the operational store (see `analyticbot.privacy`).

`leftovers` checks the same rule against the published snapshot: only requests with nothing left there are
marked purged, so a request that arrived while a run was already past its purge waits for the next run.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import polars as pl

from analyticbot.privacy import Erasure

Query = Callable[[str, Sequence[Any] | None], pl.DataFrame]
PURGED_SCHEMAS = ("raw", "intermediate", "marts", "ml")
CHANNEL_COLUMNS = ("channel_id",)
USER_COLUMNS = ("owner_user_id", "user_id")
REJECTED = ("raw", "rejected_records", "channel_ref")


def id_columns(query: Query, schemas: Sequence[str]) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every base table in `schemas` with a user or channel id column."""
    cols = CHANNEL_COLUMNS + USER_COLUMNS
    df = query(
        "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        f"WHERE t.table_type = 'BASE TABLE' AND c.table_schema IN ({', '.join('?' for _ in schemas)}) "
        f"AND c.column_name IN ({', '.join('?' for _ in cols)}) ORDER BY 1, 2, 3", [*schemas, *cols])
    found = [tuple(r) for r in df.iter_rows()]
    rejected_present = query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        list(REJECTED[:2]))["n"][0]
    if REJECTED[0] in schemas and rejected_present:
        found.append(REJECTED)
    return found


def _ids_for(column: str, erasures: Iterable[Erasure]) -> list:
    erasures = list(erasures)
    if column == REJECTED[2]:
        return sorted({str(c) for e in erasures for c in e.channel_ids})
    if column in CHANNEL_COLUMNS:
        return sorted({c for e in erasures for c in e.channel_ids})
    return sorted({e.user_id for e in erasures})


def _where(column: str, ids: list) -> str:
    return f"{column} IN ({', '.join('?' for _ in ids)})"


def purge_warehouse(wh, erasures: Sequence[Erasure]) -> dict[str, int]:
    """Delete the erased users' and channels' rows from the warehouse in one transaction; rows deleted per
    "schema.table" (tables with nothing of theirs are left out). Safe to repeat: a second purge deletes nothing."""
    if not erasures:
        return {}
    deleted: dict[str, int] = {}
    with wh.transaction():
        for schema, table, column in id_columns(wh.query_pl, PURGED_SCHEMAS):
            ids = _ids_for(column, erasures)
            if not ids:
                continue
            qualified = f"{schema}.{table}"
            n = int(wh.query_pl(f"SELECT count(*) AS n FROM {qualified} WHERE {_where(column, ids)}", ids)["n"][0])
            if n:
                wh.execute(f"DELETE FROM {qualified} WHERE {_where(column, ids)}", ids)
                deleted[qualified] = deleted.get(qualified, 0) + n
    return deleted


def leftovers(query: Query, erasures: Sequence[Erasure], schemas: Sequence[str]) -> dict[int, list[str]]:
    """For each erasure request, the tables in `schemas` that still hold a row of its user or channels."""
    tables = id_columns(query, schemas)
    out: dict[int, list[str]] = {}
    for e in erasures:
        for schema, table, column in tables:
            ids = _ids_for(column, [e])
            if ids and query(f"SELECT count(*) AS n FROM {schema}.{table} WHERE {_where(column, ids)}",
                             ids)["n"][0]:
                out.setdefault(e.request_id, []).append(f"{schema}.{table}.{column}")
    return out


def keep_unerased(frame: pl.DataFrame, user_ids: set[int], column: str = "user_id") -> pl.DataFrame:
    """`frame` without the rows of erased users (a null id is nobody's and stays)."""
    if not user_ids or frame.is_empty():
        return frame
    return frame.filter(pl.col(column).is_null() | ~pl.col(column).is_in(sorted(user_ids)))
