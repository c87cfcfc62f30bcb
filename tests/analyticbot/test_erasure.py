"""The warehouse purge on DuckDB and PostgreSQL: every table naming an erased user or channel loses those rows
(raw, rejected records, built and incremental tables alike), views and the payment ledger are left alone, and a
second purge deletes nothing."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from analyticbot.erasure import PURGED_SCHEMAS, keep_unerased, leftovers, purge_warehouse
from analyticbot.privacy import Erasure

T = datetime(2026, 6, 1, 12, 0)
GONE = Erasure(request_id=1, user_id=77, channel_ids=[-100, -101])


def _fill(wh) -> None:
    for cid in (-100, -101, -200):
        wh.execute("INSERT INTO raw.telegram_channel_snapshots VALUES (?, ?, ?)", [cid, T, 10])
        wh.execute("INSERT INTO raw.rejected_records VALUES ('telegram', ?, 'k', 'r', '{}', ?)", [str(cid), T])
    for uid in (77, 88):
        wh.execute("INSERT INTO raw.app_user_activity_daily VALUES (?, ?, 1, 0, 0)", [uid, T.date()])
    wh.execute("INSERT INTO raw.payment_events VALUES (1, 'payme', 'k1', 'perform', 'webhook', ?, ?, NULL, "
               "'{\"user_id\": 77}')", [T, T])
    # an incremental model's table (never rebuilt whole) and a mart with an owner column, as dbt leaves them
    wh.execute("CREATE TABLE intermediate.int_post_snapshots_enriched (channel_id BIGINT, message_id BIGINT)")
    wh.execute("INSERT INTO intermediate.int_post_snapshots_enriched VALUES (-100, 1), (-101, 2), (-200, 3)")
    wh.execute("CREATE TABLE marts.dim_channels (channel_id BIGINT, owner_user_id BIGINT)")
    wh.execute("INSERT INTO marts.dim_channels VALUES (-100, 77), (-200, 88)")
    wh.execute("CREATE VIEW marts.v_channels AS SELECT * FROM marts.dim_channels")


def test_purge_deletes_every_row_of_the_erased_and_nothing_else(wh):
    _fill(wh)
    deleted = purge_warehouse(wh, [GONE])
    assert deleted == {"raw.telegram_channel_snapshots": 2, "raw.rejected_records": 2,
                       "raw.app_user_activity_daily": 1, "intermediate.int_post_snapshots_enriched": 2,
                       "marts.dim_channels": 1}
    assert wh.query_pl("SELECT channel_id FROM raw.telegram_channel_snapshots")["channel_id"].to_list() == [-200]
    assert wh.query_pl("SELECT channel_ref FROM raw.rejected_records")["channel_ref"].to_list() == ["-200"]
    assert wh.query_pl("SELECT user_id FROM raw.app_user_activity_daily")["user_id"].to_list() == [88]
    assert wh.query_pl("SELECT owner_user_id FROM marts.v_channels")["owner_user_id"].to_list() == [88]
    assert wh.count("raw.payment_events") == 1  # accounting records stay
    assert leftovers(wh.query_pl, [GONE], PURGED_SCHEMAS) == {}
    assert purge_warehouse(wh, [GONE]) == {}  # safe to repeat


def test_leftovers_name_the_tables_still_holding_a_request(wh):
    _fill(wh)
    other = Erasure(request_id=2, user_id=88, channel_ids=[])
    left = leftovers(wh.query_pl, [GONE, other], PURGED_SCHEMAS)
    assert "intermediate.int_post_snapshots_enriched.channel_id" in left[1]
    assert "raw.rejected_records.channel_ref" in left[1]
    assert left[2] == ["marts.dim_channels.owner_user_id", "raw.app_user_activity_daily.user_id"]
    assert purge_warehouse(wh, []) == {}


def test_keep_unerased_drops_their_rows_and_keeps_rows_of_nobody():
    frame = pl.DataFrame({"user_id": [77, None, 88], "score": [0.9, 0.5, 0.1]})
    assert keep_unerased(frame, {77})["score"].to_list() == [0.5, 0.1]
    assert keep_unerased(frame, set()).equals(frame)


def test_a_request_is_marked_purged_only_once_the_published_snapshot_is_free_of_it(wh, store):
    """The confirm step after publish, on each engine: a purge the published snapshot does not reflect yet (the
    request came in after this run's purge) leaves the request pending for the next run."""
    import dagster as dg

    from analyticbot.appstore.models import ErasureRequest
    from analyticbot.privacy import pending_erasures
    from analyticbot.snapshot import publish
    from orchestration.defs.privacy.assets import erasures_confirmed

    _fill(wh)
    with store.transaction() as s:
        s.add(ErasureRequest(user_id=77, channel_ids="[-100, -101]", requested_at=T))
    publish(wh, now=T)

    def confirm() -> dict:
        return {k: v for k, v in erasures_confirmed(dg.build_asset_context()).metadata.items() if k != "leftovers"}

    assert confirm() == {"confirmed": 0, "still_pending": 1}
    with store.transaction() as s:
        purge_warehouse(wh, pending_erasures(s))
    if wh.kind == "duckdb":  # the published file still holds the rows until the next publish
        assert confirm() == {"confirmed": 0, "still_pending": 1}
    publish(wh, now=datetime(2026, 6, 1, 13, 0))
    assert confirm() == {"confirmed": 1, "still_pending": 0}
    with store.transaction() as s:
        assert pending_erasures(s) == []
    assert confirm() == {"confirmed": 0, "still_pending": 0}
