"""Raw ingestion: append-only, idempotent, transactional, and nothing lost (rejects kept with a reason)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from analyticbot.telegram.contract import RawBatch

T0 = datetime(2026, 6, 1, 12, 0)


def _post(mid: int, posted: datetime = T0) -> dict:
    return dict(channel_id=1, message_id=mid, revision_at=posted, grouped_id=None, posted_at=posted,
                edited_at=None, deleted=False, content_type="text", text_length=10, has_media=False,
                is_forward=False, source_kind="demo")


def _snap(mid: int, minutes: int, views: int, **kw) -> dict:
    row = dict(channel_id=1, message_id=mid, observed_at=T0 + timedelta(minutes=minutes), views=views,
               forwards=0, replies=0, reactions=0, reactions_by_emoji=None)
    row.update(kw)
    return row


def batch(posts=(), snaps=()) -> RawBatch:
    return RawBatch.from_rows({"telegram_posts": posts, "telegram_post_snapshots": snaps})


def test_reingesting_the_same_batch_adds_nothing(wh):
    b = batch([_post(1), _post(2)], [_snap(1, 10, 5), _snap(1, 60, 50), _snap(2, 10, 7)])
    first = wh.ingest(b, source="test", now=T0 + timedelta(days=1))
    second = wh.ingest(b, source="test", now=T0 + timedelta(days=1))
    assert first.inserted["telegram_post_snapshots"] == 3
    assert second.inserted["telegram_post_snapshots"] == 0
    assert second.already_present["telegram_post_snapshots"] == 3
    assert wh.count("raw.telegram_post_snapshots") == 3
    assert wh.count("raw.telegram_posts") == 2


def test_counter_going_backwards_is_rejected_with_reason_and_rest_kept(wh):
    wh.ingest(batch([_post(1)], [_snap(1, 10, 100)]), source="test", now=T0 + timedelta(days=1))
    report = wh.ingest(batch([], [_snap(1, 20, 90), _snap(1, 30, 120), _snap(1, 40, 110), _snap(1, 50, 130)]),
                       source="test", now=T0 + timedelta(days=1))
    assert report.inserted["telegram_post_snapshots"] == 2  # 120 and 130
    views = wh.query_pl("SELECT views FROM raw.telegram_post_snapshots ORDER BY observed_at")["views"].to_list()
    assert views == [100, 120, 130]
    rej = wh.query_pl("SELECT record_key, reason FROM raw.rejected_records ORDER BY record_key")
    assert rej["reason"].to_list() == ["views went backwards", "views went backwards"]
    assert rej["record_key"][0].startswith("1@")


def test_a_rejected_row_does_not_hide_a_later_decrease(wh):
    # 100, 50 (bad), 70 (also below 100: must be rejected although it exceeds the rejected 50)
    report = wh.ingest(batch([_post(1)], [_snap(1, 10, 100), _snap(1, 20, 50), _snap(1, 30, 70)]),
                       source="test", now=T0 + timedelta(days=1))
    assert report.inserted["telegram_post_snapshots"] == 1
    assert report.rejected == 2


def test_negative_future_and_orphan_snapshots_are_rejected(wh):
    now = T0 + timedelta(hours=2)
    report = wh.ingest(
        batch([_post(1)], [_snap(1, 10, -1), _snap(1, 600, 5), _snap(9, 10, 5), _snap(1, -30, 1)]),
        source="test", now=now)
    assert report.inserted["telegram_post_snapshots"] == 0
    reasons = set(wh.query_pl("SELECT reason FROM raw.rejected_records")["reason"].to_list())
    assert reasons == {"negative views", "observed_at is in the future",
                       "snapshot of a post never seen (no telegram_posts row)",
                       "observed_at is before the post was published"}


def test_duplicate_keys_in_one_batch_keep_the_first_and_reject_the_rest(wh):
    report = wh.ingest(batch([_post(1)], [_snap(1, 10, 5), _snap(1, 10, 6)]), source="test",
                       now=T0 + timedelta(days=1))
    assert report.inserted["telegram_post_snapshots"] == 1
    assert wh.query_pl("SELECT reason FROM raw.rejected_records")["reason"].to_list() == [
        "duplicate key in batch for telegram_post_snapshots"]


def test_rejects_are_recorded_once_on_rerun(wh):
    b = batch([_post(1)], [_snap(1, 10, 100), _snap(1, 20, 90)])
    wh.ingest(b, source="test", now=T0 + timedelta(days=1))
    wh.ingest(b, source="test", now=T0 + timedelta(days=1))
    assert wh.count("raw.rejected_records") == 1


def test_failure_mid_ingest_leaves_nothing_written(wh, monkeypatch):
    original = wh._append

    def failing(qualified, table):
        if qualified == "raw.telegram_post_snapshots":
            raise RuntimeError("disk full")
        return original(qualified, table)

    monkeypatch.setattr(wh, "_append", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        wh.ingest(batch([_post(1)], [_snap(1, 10, 5)]), source="test", now=T0 + timedelta(days=1))
    assert wh.count("raw.telegram_posts") == 0


def test_unsorted_batches_are_checked_in_time_order(wh):
    report = wh.ingest(batch([_post(1), _post(2)], [_snap(2, 20, 9), _snap(1, 20, 8), _snap(2, 10, 3),
                                                   _snap(1, 10, 4)]), source="test", now=T0 + timedelta(days=1))
    assert report.inserted["telegram_post_snapshots"] == 4
    assert report.rejected == 0


def test_null_counters_are_unknown_not_backwards(wh):
    report = wh.ingest(batch([_post(1)], [_snap(1, 10, 100), _snap(1, 20, None)]), source="test",
                       now=T0 + timedelta(days=1))
    assert report.inserted["telegram_post_snapshots"] == 2
