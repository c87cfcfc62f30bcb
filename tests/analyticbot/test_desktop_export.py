"""Telegram Desktop export (`result.json`) -> the normalised contract.

Fixtures under fixtures/exports/ mimic real exports (key order, one-space indent, local `date` next to
`date_unixtime`). The exporter's machine ran on UTC+3, so `date` is three hours ahead of `date_unixtime`.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from analyticbot.telegram.contract import CONTENT_TYPES, RAW_TABLES
from analyticbot.telegram.desktop_export import ExportFormatError, ExportResult, parse_export

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
CHANNEL = EXPORTS / "channel" / "result.json"
EXPORTED_AT = datetime(2026, 5, 3, 9, 0)
CHANNEL_ID = 1987654321


@pytest.fixture(scope="module")
def channel() -> ExportResult:
    return parse_export(CHANNEL, exported_at=EXPORTED_AT)


def _rows(result: ExportResult, table: str) -> list[dict]:
    return result.batch.table(table).to_pylist()


def _posts(result: ExportResult) -> dict[int, list[dict]]:
    by_id: dict[int, list[dict]] = {}
    for row in _rows(result, "telegram_posts"):
        by_id.setdefault(row["message_id"], []).append(row)
    return by_id


def _original(result: ExportResult, message_id: int) -> dict:
    rows = [r for r in _posts(result)[message_id] if r["revision_at"] == r["posted_at"]]
    assert len(rows) == 1
    return rows[0]


# --- a well-formed channel export ---------------------------------------------------------------------------

def test_channel_row_describes_the_export(channel):
    assert (channel.channel_id, channel.title) == (CHANNEL_ID, "Data Digest")
    assert _rows(channel, "telegram_channels") == [{
        "channel_id": CHANNEL_ID, "observed_at": EXPORTED_AT, "source_kind": "export", "title": "Data Digest",
        "username": None, "status": "active", "status_reason": None,
    }]


def test_tables_match_the_contract_schemas(channel):
    for name, table in channel.batch.tables.items():
        assert table.schema == RAW_TABLES[name].schema
        key = RAW_TABLES[name].key
        keys = [tuple(row[k] for k in key) for row in table.to_pylist()]
        assert len(keys) == len(set(keys)), f"{name}: duplicate natural key"


def test_service_messages_are_skipped_not_posts(channel):
    assert channel.messages_read == 18
    assert channel.messages_skipped == 2
    assert channel.messages_rejected == 0
    assert channel.batch.table("rejected_records").num_rows == 0
    assert set(_posts(channel)) == set(range(2, 19)) - {11}  # 1 and 11 are create_channel / pin_message


def test_post_time_comes_from_date_unixtime_not_the_local_date(channel):
    message = next(m for m in json.loads(CHANNEL.read_text("utf-8"))["messages"] if m["id"] == 2)
    local = datetime.fromisoformat(message["date"])
    utc = datetime.fromtimestamp(int(message["date_unixtime"]), timezone.utc).replace(tzinfo=None)
    assert local - utc == timedelta(hours=3)  # the fixture really does differ
    assert _original(channel, 2)["posted_at"] == datetime(2026, 5, 1, 7, 0) == utc


def test_all_times_are_naive_utc(channel):
    for row in _rows(channel, "telegram_posts"):
        for col in ("revision_at", "posted_at", "edited_at"):
            assert row[col] is None or row[col].tzinfo is None


@pytest.mark.parametrize(("message_id", "content_type", "has_media"), [
    (2, "text", False),
    (3, "photo", True),
    (6, "video", True),   # media_type video_file
    (7, "poll", True),
    (8, "sticker", True),
    (12, "document", True),  # a pdf: "file" without a known media_type
    (13, "voice", True),
    (14, "audio", True),
    (15, "video", True),  # animation (a gif)
    (16, "photo", True),  # photo not downloaded: still a photo
    (18, "video", True),  # round video_message
])
def test_content_type_follows_the_media_keys(channel, message_id, content_type, has_media):
    row = _original(channel, message_id)
    assert (row["content_type"], row["has_media"]) == (content_type, has_media)
    assert row["content_type"] in CONTENT_TYPES


def test_text_length_counts_plain_text_of_strings_and_entity_lists(channel):
    assert _original(channel, 2)["text_length"] == len("Good morning! Weekly digest is coming at noon.")
    # ["**Chart of the day**", ": DuckDB vs ", link "https://duckdb.org", " ⚡"]
    assert _original(channel, 3)["text_length"] == len("Chart of the day: DuckDB vs https://duckdb.org ⚡")
    assert _original(channel, 10)["text_length"] == len("Noon digest: three links. Read")
    assert _original(channel, 5)["text_length"] == 0


def test_forwarded_message_is_a_forward(channel):
    assert _original(channel, 9)["is_forward"] is True
    assert not any(r["is_forward"] for mid, rows in _posts(channel).items() if mid != 9 for r in rows)


def test_edited_message_gets_an_original_and_an_edit_revision(channel):
    rows = sorted(_posts(channel)[10], key=lambda r: r["revision_at"])
    posted, edited = datetime(2026, 5, 1, 12, 0), datetime(2026, 5, 1, 12, 20)
    assert [(r["revision_at"], r["posted_at"], r["edited_at"]) for r in rows] == [
        (posted, posted, None),
        (edited, posted, edited),
    ]
    assert all(len(rows) == 1 for mid, rows in _posts(channel).items() if mid != 10)


def test_album_is_inferred_from_consecutive_media_with_the_same_time(channel):
    grouped = {mid: rows[0]["grouped_id"] for mid, rows in _posts(channel).items()}
    assert grouped[4] == grouped[5] == grouped[6] == 4  # photo, photo, video sent together
    # photos a minute apart, and everything else, are not albums
    assert {mid for mid, g in grouped.items() if g is not None} == {4, 5, 6}


def test_reactions_snapshot_has_reactions_and_unavailable_reach(channel):
    snapshots = {r["message_id"]: r for r in _rows(channel, "telegram_post_snapshots")}
    assert set(snapshots) == {2, 10, 17}  # only messages with reactions
    for snap in snapshots.values():
        assert snap["observed_at"] == EXPORTED_AT
        # an export has no reach counters: unavailable, never zero
        assert (snap["views"], snap["forwards"], snap["replies"]) == (None, None, None)
    assert snapshots[2]["reactions"] == 7
    assert json.loads(snapshots[2]["reactions_by_emoji"]) == {"👍": 5, "❤": 2}
    assert snapshots[10]["reactions"] == 17
    assert json.loads(snapshots[10]["reactions_by_emoji"]) == {
        "🔥": 12, "custom:5368324170671202286": 2, "paid": 3}


def test_export_folder_and_marked_channel_id_are_accepted():
    result = parse_export(CHANNEL.parent, exported_at=EXPORTED_AT, channel_id=-1001987654321)
    assert result.channel_id == CHANNEL_ID
    assert result.batch.table("telegram_posts").num_rows == 17


def test_aware_exported_at_is_stored_as_naive_utc():
    result = parse_export(CHANNEL, exported_at=datetime(2026, 5, 3, 12, 0, tzinfo=timezone(timedelta(hours=3))))
    assert result.exported_at == EXPORTED_AT


def test_exported_at_defaults_to_file_mtime(tmp_path):
    copy = tmp_path / "result.json"
    shutil.copy(CHANNEL, copy)
    mtime = datetime(2026, 5, 2, 6, 30, tzinfo=timezone.utc)
    os.utime(copy, (mtime.timestamp(), mtime.timestamp()))
    result = parse_export(copy)
    assert result.exported_at == datetime(2026, 5, 2, 6, 30)
    assert {r["observed_at"] for r in _rows(result, "telegram_post_snapshots")} == {result.exported_at}


def test_mtime_older_than_the_last_post_is_raised_to_it(tmp_path):
    copy = tmp_path / "result.json"
    shutil.copy(CHANNEL, copy)
    stale = datetime(2026, 4, 1, tzinfo=timezone.utc).timestamp()
    os.utime(copy, (stale, stale))
    assert parse_export(copy).exported_at == datetime(2026, 5, 1, 21, 30)  # the last message


def test_channel_id_that_contradicts_the_file_is_refused():
    with pytest.raises(ExportFormatError, match="export is of channel 1987654321, expected channel 42"):
        parse_export(CHANNEL, exported_at=EXPORTED_AT, channel_id=42)


# --- bad messages inside a good file ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bad() -> ExportResult:
    return parse_export(EXPORTS / "bad_messages" / "result.json", exported_at=EXPORTED_AT)


def test_good_messages_load_next_to_bad_ones(bad):
    assert bad.messages_read == 12
    assert bad.messages_rejected == 8
    assert set(_posts(bad)) == {20, 26, 28, 29}
    assert _original(bad, 20)["text_length"] == len("good one")  # the first 20, not the duplicate
    assert _original(bad, 29)["text_length"] == 0  # no "text" at all: loads as empty text


def test_bad_messages_are_rejected_with_a_reason(bad):
    reasons = {r["record_key"]: r["reason"] for r in _rows(bad, "rejected_records")}
    assert reasons == {
        "21": "unknown message 'type': 'scheduled'",
        "#2": "missing 'id'",
        "23": "missing 'date_unixtime' (the local 'date' is not used)",
        "24": "'date_unixtime' is not numeric: '17776xx'",
        "25": "'id' is not a positive integer: '25'",
        "20": "duplicate message id",
        "#7": "message is a str, not an object",
        "27": "missing 'type'",
        "26:edited": "'edited_unixtime' is not numeric: 'soon'; edit revision dropped",
        "28:reactions": "reaction 'count' is not a non-negative integer: 'many'; reactions dropped",
    }


def test_rejected_rows_keep_the_message_for_replay(bad):
    rows = _rows(bad, "rejected_records")
    assert {r["source"] for r in rows} == {"export"}
    assert {r["channel_ref"] for r in rows} == {f"{CHANNEL_ID}:result.json"}
    duplicate = next(r for r in rows if r["reason"] == "duplicate message id")
    assert json.loads(duplicate["payload"])["text"] == "duplicate of 20"
    assert all(r["rejected_at"].tzinfo is None for r in rows)


def test_a_bad_optional_field_drops_only_that_field(bad):
    assert [r["edited_at"] for r in _posts(bad)[26]] == [None]  # the post loads without an edit revision
    assert bad.batch.table("telegram_post_snapshots").num_rows == 0  # 28's reactions were unusable


# --- files that are not usable at all -----------------------------------------------------------------------

def test_truncated_file_names_the_file_and_the_position():
    path = EXPORTS / "truncated" / "result.json"
    with pytest.raises(ExportFormatError) as info:
        parse_export(path, exported_at=EXPORTED_AT)
    message = str(info.value)
    assert message.startswith(f"{path}: truncated JSON at line ")
    assert "result.json" in message and "column" in message
    assert info.value.path == path
    assert isinstance(info.value, ValueError)


def test_malformed_json_is_not_called_truncated(tmp_path):
    path = tmp_path / "result.json"
    path.write_text('{"name": "x", "type": "public_channel", "messages": [ {"id": 1,, } ]}\n', "utf-8")
    with pytest.raises(ExportFormatError, match=r"result\.json: malformed JSON at line 1 column \d+"):
        parse_export(path)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "result.json"
    path.write_text("", "utf-8")
    with pytest.raises(ExportFormatError, match="result.json: empty file"):
        parse_export(path)


@pytest.mark.parametrize(("folder", "reason"), [
    ("not_a_channel_list", "not a channel export: top level is a list, expected an object"),
    ("account_export", "not a channel export: no 'messages' list (this is a whole-account export"),
    ("personal_chat", "chat type 'personal_chat' is not a channel"),
])
def test_valid_json_that_is_not_a_channel_export_is_refused(folder, reason):
    path = EXPORTS / folder / "result.json"
    with pytest.raises(ExportFormatError) as info:
        parse_export(path, exported_at=EXPORTED_AT)
    assert info.value.reason.startswith(reason)
    assert str(info.value).startswith(f"{path}: ")


def test_repeated_rejections_keep_the_rejected_records_key_unique(tmp_path):
    document = json.loads(CHANNEL.read_text("utf-8"))
    first = next(m for m in document["messages"] if m["id"] == 2)
    document["messages"] += [dict(first), dict(first)]  # two more copies of message 2, at entries #18 and #19
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    result = parse_export(path, exported_at=EXPORTED_AT)
    rows = _rows(result, "rejected_records")
    assert [(r["record_key"], r["reason"]) for r in rows] == [
        ("2", "duplicate message id"), ("#19", "duplicate message id")]
    assert result.messages_rejected == 2


def test_channel_export_without_an_id_needs_one_from_the_caller(tmp_path):
    document = json.loads(CHANNEL.read_text("utf-8"))
    del document["id"]
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    with pytest.raises(ExportFormatError, match="no integer channel 'id'"):
        parse_export(path, exported_at=EXPORTED_AT)
    assert parse_export(path, exported_at=EXPORTED_AT, channel_id=CHANNEL_ID).channel_id == CHANNEL_ID
