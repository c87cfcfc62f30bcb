"""The Great Expectations suite catches what slipped past ingestion (written straight into raw)."""

from __future__ import annotations

from datetime import datetime, timedelta

from analyticbot.quality import validate_snapshots
from analyticbot.settings import get_settings
from analyticbot.telegram.contract import RawBatch
from analyticbot.warehouse import open_warehouse

T0 = datetime(2026, 6, 1, 12)


def _load(wh):
    wh.ensure_schemas()
    wh.ingest(RawBatch.from_rows({
        "telegram_posts": [dict(channel_id=1, message_id=1, revision_at=T0, grouped_id=None, posted_at=T0,
                                edited_at=None, deleted=False, content_type="text", text_length=1,
                                has_media=False, is_forward=False, source_kind="demo")],
        "telegram_post_snapshots": [dict(channel_id=1, message_id=1, observed_at=T0 + timedelta(hours=h),
                                         views=10 * h, forwards=h, replies=0, reactions=h, reactions_by_emoji=None)
                                    for h in range(1, 5)],
    }), source="test", now=T0 + timedelta(days=1))


def test_clean_snapshots_pass(data_dir):
    with open_warehouse(get_settings()) as wh:
        _load(wh)
        result = validate_snapshots(wh, now=T0 + timedelta(days=1))
    assert result.success and result.rows_checked == 4


def test_decreasing_negative_and_early_snapshots_fail_with_names(data_dir):
    with open_warehouse(get_settings()) as wh:
        _load(wh)
        # bypass ingest, as a buggy writer would
        wh.execute("INSERT INTO raw.telegram_post_snapshots VALUES (1, 1, ?, 5, 9, 0, 9, NULL)",
                   [T0 + timedelta(hours=6)])
        wh.execute("INSERT INTO raw.telegram_post_snapshots VALUES (1, 1, ?, -3, 0, 0, 0, NULL)",
                   [T0 - timedelta(hours=1)])
        result = validate_snapshots(wh, now=T0 + timedelta(days=1), full=True)
    assert not result.success
    assert result.failures["expect_column_values_to_be_between(views_change)"] >= 1
    assert result.failures["expect_column_values_to_be_between(views)"] == 1
    assert result.failures["expect_column_values_to_be_between(age_seconds)"] == 1
    assert "views_change" in result.describe()
