"""Publishing for readers: atomic swap, new-snapshot detection, old readers unaffected, old files pruned."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from analyticbot import snapshot
from analyticbot.settings import get_settings
from analyticbot.snapshot import SnapshotReader, SnapshotUnavailable, publish
from analyticbot.warehouse import open_warehouse

T0 = datetime(2026, 6, 1)


def _marts(wh, rows: int) -> None:
    wh.ensure_schemas()
    wh.execute("CREATE OR REPLACE TABLE marts.fct_posts AS SELECT range AS message_id FROM range(?)", [rows])


def test_reader_before_any_publish_says_what_to_do(data_dir):
    reader = SnapshotReader(get_settings())
    assert reader.current_version() is None
    with pytest.raises(SnapshotUnavailable, match="make demo"):
        reader.query("SELECT 1")


def test_publish_swaps_in_a_new_snapshot_and_readers_notice(data_dir):
    settings = get_settings()
    reader = SnapshotReader(settings)
    with open_warehouse(settings) as wh:
        _marts(wh, 3)
        first = publish(wh, now=T0)
    assert reader.current_version() == first.version
    assert not reader.has_new_snapshot(first.version)
    with reader.connect() as old:  # a reader in the middle of a request keeps its consistent view
        with open_warehouse(settings) as wh:
            _marts(wh, 5)
            second = publish(wh, now=T0 + timedelta(minutes=1))
        assert old.query("SELECT count(*) AS n FROM marts.fct_posts")["n"][0] == 3
    assert reader.has_new_snapshot(first.version)
    assert reader.query("SELECT count(*) AS n FROM marts.fct_posts")["n"][0] == 5
    assert second.tables == {"marts.fct_posts": 5}
    meta = reader.query("SELECT version FROM meta.snapshot")["version"][0]
    assert meta == second.version


def test_only_the_newest_snapshots_are_kept(data_dir):
    settings = get_settings()
    with open_warehouse(settings) as wh:
        _marts(wh, 1)
        for i in range(snapshot.KEEP + 2):
            publish(wh, now=T0 + timedelta(minutes=i))
    files = sorted(p.name for p in settings.published_dir.glob("snapshot-*.duckdb"))
    assert len(files) == snapshot.KEEP
    assert (settings.published_dir / "CURRENT").read_text().strip() == files[-1]
    assert not list(settings.published_dir.glob(".*.tmp"))


def test_nothing_to_publish_is_an_error_and_keeps_the_old_snapshot(data_dir):
    settings = get_settings()
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        with pytest.raises(SnapshotUnavailable, match="run dbt first"):
            publish(wh, now=T0)
    assert SnapshotReader(settings).current_version() is None


def test_postgres_readers_query_marts_and_see_publications(data_dir, monkeypatch, pg_url):
    monkeypatch.setenv("ANALYTICBOT_WAREHOUSE_URL", pg_url)
    settings = get_settings()
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        wh.execute("CREATE TABLE marts.fct_posts AS SELECT generate_series(1, 4) AS message_id")
        published = publish(wh, now=T0)
    reader = SnapshotReader(settings)
    assert reader.current_version() == published.version
    assert reader.query("SELECT count(*) AS n FROM marts.fct_posts WHERE message_id > ?", [1])["n"][0] == 3


def test_a_reader_keeps_one_read_only_connection_per_version(data_dir, monkeypatch):
    """Opening a snapshot file costs more than most reads: every `connect` on a version shares one read-only
    connection (a cursor each), and only the newest two versions stay open."""
    import duckdb

    settings = get_settings()
    reader = SnapshotReader(settings)
    opened = []
    real_connect = duckdb.connect

    def spy(path, *args, **kwargs):
        if "/published/snapshot-" in str(path):  # not the warehouse that publishes
            opened.append((path, kwargs.get("read_only")))
        return real_connect(path, *args, **kwargs)

    with open_warehouse(settings) as wh:
        _marts(wh, 2)
        first = publish(wh, now=T0)
    monkeypatch.setattr(duckdb, "connect", spy)
    for _ in range(3):
        assert reader.query("SELECT count(*) AS n FROM marts.fct_posts")["n"][0] == 2
    assert len(opened) == 1 and opened[0][1] is True
    for i in (1, 2):
        with open_warehouse(settings) as wh:
            _marts(wh, 2 + i)
            publish(wh, now=T0 + timedelta(minutes=i))
        assert reader.query("SELECT count(*) AS n FROM marts.fct_posts")["n"][0] == 2 + i
    # three versions read, the newest two kept open
    assert len(opened) == 3 and first.version not in reader._open and len(reader._open) == 2
    reader.close()
    assert reader.query("SELECT count(*) AS n FROM marts.fct_posts")["n"][0] == 4  # opens again after close
    assert len(opened) == 4


def test_a_forked_child_opens_its_own_connection(data_dir):
    """A digest worker forked from a process that already reads the snapshot must not use the parent's DuckDB
    connection (its locks and threads stayed in the parent): it reads through a connection of its own."""
    import multiprocessing as mp

    settings = get_settings()
    with open_warehouse(settings) as wh:
        _marts(wh, 6)
        publish(wh, now=T0)
    reader = SnapshotReader(settings)
    assert reader.query("SELECT count(*) AS n FROM marts.fct_posts")["n"][0] == 6
    parent_connection = next(iter(reader._open.values()))
    _forked_reader.append(reader)  # the child finds it where fork left it (a reader itself does not pickle)
    try:
        with mp.get_context("fork").Pool(1) as pool:
            counts, reused = pool.apply(_count_in_child, (id(parent_connection),))
    finally:
        _forked_reader.clear()
    assert counts == 6 and reused is False
    assert reader.query("SELECT count(*) AS n FROM marts.fct_posts")["n"][0] == 6  # the parent's still works


_forked_reader: list[SnapshotReader] = []


def _count_in_child(parent_id: int) -> tuple[int, bool]:
    reader = _forked_reader[0]
    n = reader.query("SELECT count(*) AS n FROM marts.fct_posts")["n"][0]
    return int(n), any(id(c) == parent_id for c in reader._open.values())
