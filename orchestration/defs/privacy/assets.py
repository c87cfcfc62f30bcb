"""/deleteme in the pipeline: purge the erased users' rows from the warehouse before anything else runs, and
mark the requests purged once the published snapshot is free of them (see `analyticbot.erasure`)."""

import dagster as dg

from analyticbot.appstore.db import session_scope
from analyticbot.erasure import PURGED_SCHEMAS, leftovers, purge_warehouse
from analyticbot.privacy import mark_purged, pending_erasures
from analyticbot.settings import get_settings
from analyticbot.snapshot import PUBLISHED_SCHEMAS, SnapshotReader
from analyticbot.warehouse import open_warehouse
from orchestration.lib.pools import WAREHOUSE_POOL

WAREHOUSE_PURGE = dg.AssetKey(["privacy", "warehouse_purge"])
ERASURES_CONFIRMED = dg.AssetKey(["privacy", "erasures_confirmed"])


@dg.asset(key=WAREHOUSE_PURGE, group_name="privacy", kinds={"sqlalchemy", "duckdb"}, pool=WAREHOUSE_POOL)
def warehouse_purge(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Delete every row of users who erased themselves (/deleteme) and of their channels from the warehouse:
    raw tables, rejected records, and the built tables, the incremental ones included, which a rebuild would
    not clear. Every ingestion asset depends on this one, so it runs first and dbt never sees those rows.

    Payment ledger rows and the revenue models on them stay (accounting records, kept detached)."""
    settings = get_settings()
    with session_scope(settings) as s:
        pending = pending_erasures(s)
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        deleted = purge_warehouse(wh, pending)
    if pending:
        context.log.info(f"purged {len(pending)} erasure request(s): {sum(deleted.values())} rows")
    return dg.MaterializeResult(metadata={
        "pending_requests": len(pending), "rows_deleted": sum(deleted.values()),
        "by_table": dg.MetadataValue.json(deleted)})


@dg.asset(key=ERASURES_CONFIRMED, deps=[dg.AssetKey(["published", "snapshot"])], group_name="privacy",
          kinds={"sqlalchemy"}, pool=WAREHOUSE_POOL)
def erasures_confirmed(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Mark erasure requests purged once neither the warehouse nor the published snapshot holds a row of theirs.

    Checked, not assumed: a request made while this run was already past its purge still has rows in this
    snapshot, so it stays pending and the next run purges it."""
    settings = get_settings()
    with session_scope(settings) as s:
        pending = pending_erasures(s)
    if not pending:
        return dg.MaterializeResult(metadata={"confirmed": 0, "still_pending": 0})
    with open_warehouse(settings) as wh:
        left = leftovers(wh.query_pl, pending, PURGED_SCHEMAS)
    with SnapshotReader(settings).connect() as con:
        for request_id, tables in leftovers(con.query, pending, PUBLISHED_SCHEMAS).items():
            left.setdefault(request_id, []).extend(f"published {t}" for t in tables)
    done = [e.request_id for e in pending if e.request_id not in left]
    with session_scope(settings) as s:
        mark_purged(s, done)
    for request_id, tables in left.items():
        context.log.warning(f"erasure request {request_id} still has rows in {', '.join(tables)}: "
                            "left for the next run")
    return dg.MaterializeResult(metadata={"confirmed": len(done), "still_pending": len(left),
                                          "leftovers": dg.MetadataValue.json(left)})
