"""The demo generator: deterministic, prefix-stable, schema-exact, and with the dynamics it promises."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import lru_cache

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from analyticbot.telegram.contract import CONTENT_TYPES, RAW_TABLES
from analyticbot.telegram.demo import (
    DEMO_START, SCALES, SNAPSHOT_AGES, DemoDataset, activity_profile, generate_demo,
)

DATA_TABLES = ("telegram_channels", "telegram_posts", "telegram_post_snapshots", "telegram_channel_snapshots",
               "telegram_channel_daily_stats")


@lru_cache(maxsize=None)
def demo(scale: str = "tiny", days: int | None = None, seed: int = 7) -> DemoDataset:
    return generate_demo(seed=seed, scale=scale, days=days)


def frame(ds: DemoDataset, name: str) -> pl.DataFrame:
    return pl.from_arrow(ds.batch.table(name))


def rows(ds: DemoDataset, name: str) -> set[tuple]:
    return set(frame(ds, name).iter_rows())


# -- determinism, prefix stability, schemas -------------------------------------------------------------------

def test_same_arguments_give_identical_tables():
    a = generate_demo(seed=3, scale="tiny")
    b = generate_demo(seed=3, scale="tiny")
    for name in RAW_TABLES:
        assert a.batch.table(name).equals(b.batch.table(name)), name
    assert a.channels == b.channels


def test_another_seed_gives_other_data():
    a, b = demo(seed=7), demo(seed=8)
    assert not a.batch.table("telegram_post_snapshots").equals(b.batch.table("telegram_post_snapshots"))


def test_prefix_stable_one_more_day_only_adds_that_day():
    short, long = demo(days=10), demo(days=11)
    day_lo, day_hi = DEMO_START + timedelta(days=10), DEMO_START + timedelta(days=11)
    assert short.end == day_lo and long.end == day_hi
    time_col = {"telegram_channels": "observed_at", "telegram_posts": "revision_at",
                "telegram_post_snapshots": "observed_at", "telegram_channel_snapshots": "observed_at",
                "telegram_channel_daily_stats": "observed_at"}
    for name in DATA_TABLES:
        old, new = rows(short, name), rows(long, name)
        assert old <= new, f"{name}: rows of the 10-day run changed or vanished"
        added = frame(long, name).join(frame(short, name), on=list(frame(long, name).columns), how="anti",
                                       nulls_equal=True)
        assert added.height == len(new - old)
        col = time_col[name]
        if name == "telegram_channels":  # a title change is rare; no new row is fine
            continue
        assert added.height > 0, name
        assert added[col].min() >= day_lo and added[col].max() < day_hi, name
        if name == "telegram_channel_daily_stats":
            assert set(added["day"]) == {day_lo.date()}
        if name == "telegram_posts":
            assert added["posted_at"].max() < day_hi


def test_channels_are_shared_across_scales():
    tiny, default = demo("tiny").channels, demo("default").channels
    assert default[: len(tiny)] == tiny
    assert len(tiny) == SCALES["tiny"].channels == 3 and len(default) == SCALES["default"].channels == 8
    # and so are their rows: tiny is default restricted to its channels and days
    small = demo("default", days=SCALES["tiny"].days)
    ids = [c.channel_id for c in tiny]
    for name in DATA_TABLES:
        assert rows(demo("tiny"), name) == set(
            frame(small, name).filter(pl.col("channel_id").is_in(ids)).iter_rows()), name


def test_tables_match_the_contract_schemas():
    ds = demo()
    for name, spec in RAW_TABLES.items():
        table = ds.batch.table(name)
        assert table.schema.equals(spec.schema), name
        if name != "rejected_records":
            assert table.num_rows > 0, name
            key = frame(ds, name).select(list(spec.key))
            assert key.null_count().sum_horizontal().item() == 0, name
            assert not key.is_duplicated().any(), f"{name}: duplicate natural key"
    assert ds.batch.table("rejected_records").num_rows == 0


def test_every_observation_is_inside_the_window():
    ds = demo()
    for name, col in (("telegram_channels", "observed_at"), ("telegram_posts", "revision_at"),
                      ("telegram_post_snapshots", "observed_at"), ("telegram_channel_snapshots", "observed_at"),
                      ("telegram_channel_daily_stats", "observed_at")):
        values = frame(ds, name)[col]
        assert values.min() >= ds.start and values.max() < ds.end, name
    assert ds.end - ds.start == timedelta(days=SCALES["tiny"].days)


def test_channels_metadata():
    ds = demo("default")
    ids = [c.channel_id for c in ds.channels]
    assert len(set(ids)) == len(ids) and all(i > 0 for i in ids)
    assert len({c.username for c in ds.channels}) == len(ds.channels)
    assert {c.owner_language for c in ds.channels} <= {"en", "ru", "uz"}
    owners = [c.owner_user_id for c in ds.channels]
    assert len(set(owners)) < len(owners), "some owner has two channels"
    ch = frame(ds, "telegram_channels")
    first = ch.sort("observed_at").group_by("channel_id", maintain_order=True).first()
    assert first.height == len(ds.channels)
    assert (first["observed_at"] == ds.start).all()
    assert set(ch["status"]) == {"active"} and set(ch["source_kind"]) == {"demo"}


# -- posts ----------------------------------------------------------------------------------------------------

def test_posts_fields_and_message_order():
    ds = demo("default")
    posts = frame(ds, "telegram_posts")
    assert set(posts["source_kind"]) == {"demo"}
    assert set(posts["content_type"]) <= set(CONTENT_TYPES)
    assert (posts["has_media"] == (posts["content_type"] != "text")).all()
    originals = posts.filter(pl.col("revision_at") == pl.col("posted_at")).sort("channel_id", "message_id")
    assert originals.select("channel_id", "message_id").is_unique().all()
    assert originals["edited_at"].null_count() == originals.height
    assert not originals["deleted"].any()
    # message ids increase with posted_at inside a channel
    bad = originals.with_columns(prev=pl.col("posted_at").shift(1).over("channel_id")).filter(
        pl.col("posted_at") < pl.col("prev"))
    assert bad.height == 0
    # posting habits: 1-8 posts a day on average per channel, an album counting as one post
    per_channel = originals.group_by("channel_id").agg(
        posts=pl.col("grouped_id").is_null().sum() + pl.col("grouped_id").drop_nulls().n_unique())
    per_day = per_channel["posts"] / SCALES["default"].days
    assert per_day.min() >= 0.8 and per_day.max() <= 9
    assert posts["text_length"].min() >= 0


def test_albums_share_grouped_id_posted_at_and_consecutive_ids():
    posts = frame(demo("default"), "telegram_posts")
    albums = posts.filter(pl.col("grouped_id").is_not_null() & (pl.col("revision_at") == pl.col("posted_at")))
    assert albums.height > 0
    per_album = albums.group_by("channel_id", "grouped_id").agg(
        n=pl.len(), posted=pl.col("posted_at").n_unique(), lo=pl.col("message_id").min(),
        hi=pl.col("message_id").max(), fwd=pl.col("is_forward").n_unique(),
        types=pl.col("content_type").unique())
    assert (per_album["n"] >= 2).all()
    assert (per_album["posted"] == 1).all()
    assert (per_album["hi"] - per_album["lo"] + 1 == per_album["n"]).all()
    assert (per_album["fwd"] == 1).all()
    assert set(per_album["types"].explode()) <= {"photo", "video"}
    # every album message has its own snapshots, with nearly identical views
    snaps = frame(demo("default"), "telegram_post_snapshots")
    last = snaps.sort("observed_at").group_by("channel_id", "message_id").agg(pl.col("views").last())
    joined = albums.join(last, on=["channel_id", "message_id"], how="left")
    assert joined["views"].null_count() == 0
    spread = joined.group_by("channel_id", "grouped_id").agg(lo=pl.col("views").min(), hi=pl.col("views").max())
    assert (spread["hi"] - spread["lo"] <= 0.05 * spread["hi"] + 1).all()


def test_edits_and_deletions():
    ds = demo("default")
    posts = frame(ds, "telegram_posts")
    edits = posts.filter(pl.col("edited_at").is_not_null() & ~pl.col("deleted"))
    deletions = posts.filter(pl.col("deleted"))
    assert edits.height > 0 and deletions.height > 0
    assert (edits["revision_at"] == edits["edited_at"]).all()
    assert (edits["revision_at"] > edits["posted_at"]).all()
    assert (deletions["revision_at"] > deletions["posted_at"]).all()
    # no snapshot at or after a deletion, and deleted posts did get snapshots before it
    snaps = frame(ds, "telegram_post_snapshots")
    joined = snaps.join(deletions.select("channel_id", "message_id", deleted_at="revision_at"),
                        on=["channel_id", "message_id"])
    assert joined.height > 0
    assert (joined["observed_at"] < joined["deleted_at"]).all()
    # an album is deleted as a whole
    album_del = deletions.filter(pl.col("grouped_id").is_not_null())
    if album_del.height:
        whole = posts.filter(pl.col("revision_at") == pl.col("posted_at")).join(
            album_del.select("channel_id", "grouped_id").unique(), on=["channel_id", "grouped_id"])
        assert whole.height == album_del.height


# -- snapshots ------------------------------------------------------------------------------------------------

def test_snapshot_counters_monotone_and_times_increasing():
    snaps = frame(demo("default"), "telegram_post_snapshots").sort("channel_id", "message_id", "observed_at")
    diffs = snaps.select(
        [pl.col(c).diff().over("channel_id", "message_id").alias(c)
         for c in ("observed_at", "views", "forwards", "replies", "reactions")]).drop_nulls()
    assert (diffs["observed_at"] > timedelta(0)).all()
    for c in ("views", "forwards", "replies", "reactions"):
        assert diffs[c].min() >= 0, c
        assert snaps[c].min() >= 0, c
    per_post = snaps.group_by("channel_id", "message_id").len()
    assert per_post["len"].max() == len(SNAPSHOT_AGES) == 25


def test_snapshot_schedule_brackets_key_ages():
    ds = demo("default")
    posts = frame(ds, "telegram_posts").filter(pl.col("revision_at") == pl.col("posted_at"))
    snaps = frame(ds, "telegram_post_snapshots").join(
        posts.select("channel_id", "message_id", "posted_at"), on=["channel_id", "message_id"])
    snaps = snaps.with_columns(age_h=(pl.col("observed_at") - pl.col("posted_at")).dt.total_seconds() / 3600)
    assert snaps["age_h"].min() > 0
    full = snaps.filter(pl.col("posted_at") < ds.end - timedelta(days=33))
    full_posts = full.group_by("channel_id", "message_id").agg(
        n=pl.len(), *[((pl.col("age_h") > a * 0.5) & (pl.col("age_h") < a)).any().alias(f"before_{a}")
                      for a in (1, 24, 48)],
        *[((pl.col("age_h") > a) & (pl.col("age_h") < a * 1.7)).any().alias(f"after_{a}") for a in (1, 24, 48)])
    deleted = frame(ds, "telegram_posts").filter("deleted").select("channel_id", "message_id")
    full_posts = full_posts.join(deleted, on=["channel_id", "message_id"], how="anti")
    assert full_posts.height > 1000
    assert (full_posts["n"] == 25).all()
    for a in (1, 24, 48):
        assert full_posts[f"before_{a}"].all() and full_posts[f"after_{a}"].all(), a


def test_reactions_by_emoji_sums_to_reactions():
    snaps = frame(demo(), "telegram_post_snapshots")
    assert snaps["reactions_by_emoji"].null_count() == 0
    totals = [sum(json.loads(s).values()) for s in snaps["reactions_by_emoji"]]
    assert totals == snaps["reactions"].to_list()
    assert snaps["reactions"].max() > 0
    parsed = [json.loads(s) for s in snaps["reactions_by_emoji"]]
    assert all(all(isinstance(k, str) and v > 0 for k, v in p.items()) for p in parsed)


def test_reach_is_plausible():
    ds = demo("default")
    reach = views_24h_over_subscribers(ds)
    med = reach["ratio"].median()
    assert 0.05 < med < 0.8, med


# -- subscribers ----------------------------------------------------------------------------------------------

def test_subscribers_consistent_with_joins_and_leaves():
    ds = demo("default")
    cs = frame(ds, "telegram_channel_snapshots")
    daily = frame(ds, "telegram_channel_daily_stats")
    assert daily.height == len(ds.channels) * SCALES["default"].days
    assert (daily["joins"] >= 0).all() and (daily["leaves"] >= 0).all()
    midnight = cs.filter(pl.col("observed_at").dt.time() == pl.time(0)).with_columns(
        day=pl.col("observed_at").dt.date()).sort("channel_id", "day")
    assert midnight.height == daily.height
    # next midnight's count minus this one's = this day's joins - leaves
    change = midnight.with_columns(delta=pl.col("subscribers").shift(-1).over("channel_id") - pl.col("subscribers"))
    check = change.join(daily, on=["channel_id", "day"]).drop_nulls("delta")
    assert check.height == daily.height - len(ds.channels)
    assert (check["delta"] == check["joins"] - check["leaves"]).all()
    # intraday reads lie between the day's start and end counts
    intraday = cs.with_columns(day=pl.col("observed_at").dt.date()).join(
        change.select("channel_id", "day", start="subscribers", delta="delta"), on=["channel_id", "day"]
    ).drop_nulls("delta")
    lo = pl.min_horizontal(pl.col("start"), pl.col("start") + pl.col("delta"))
    hi = pl.max_horizontal(pl.col("start"), pl.col("start") + pl.col("delta"))
    assert intraday.filter((pl.col("subscribers") < lo) | (pl.col("subscribers") > hi)).height == 0
    assert (cs["subscribers"] > 0).all()


# -- the planted signal ---------------------------------------------------------------------------------------

def views_24h_over_subscribers(ds: DemoDataset) -> pl.DataFrame:
    """Per non-album original post: views at 24 h (linear interpolation) / subscribers at posting time."""
    posts = frame(ds, "telegram_posts").filter(
        (pl.col("revision_at") == pl.col("posted_at")) & pl.col("grouped_id").is_null())
    snaps = frame(ds, "telegram_post_snapshots").join(
        posts.select("channel_id", "message_id", "posted_at"), on=["channel_id", "message_id"]).with_columns(
        age=(pl.col("observed_at") - pl.col("posted_at")).dt.total_seconds() / 3600)
    before = snaps.filter(pl.col("age") <= 24).sort("age").group_by("channel_id", "message_id").agg(
        a0=pl.col("age").last(), v0=pl.col("views").last())
    after = snaps.filter(pl.col("age") >= 24).sort("age").group_by("channel_id", "message_id").agg(
        a1=pl.col("age").first(), v1=pl.col("views").first())
    v24 = before.join(after, on=["channel_id", "message_id"]).with_columns(
        views_24h=pl.col("v0") + (pl.col("v1") - pl.col("v0")) * (24 - pl.col("a0")) / (pl.col("a1") - pl.col("a0")))
    subs = frame(ds, "telegram_channel_snapshots").sort("observed_at")
    out = v24.join(posts.select("channel_id", "message_id", "posted_at"), on=["channel_id", "message_id"]).sort(
        "posted_at").join_asof(subs, left_on="posted_at", right_on="observed_at", by="channel_id",
                               strategy="backward", check_sortedness=False)
    return out.with_columns(ratio=pl.col("views_24h") / pl.col("subscribers"))


def test_posting_hour_effect_is_learnable():
    """Posts at the channel's peak audience hours reach more of the audience by 24 h than at its worst hours."""
    ds = demo("default")
    reach = views_24h_over_subscribers(ds)
    zones = pl.DataFrame({"channel_id": [c.channel_id for c in ds.channels],
                          "zone": [c.time_zone for c in ds.channels], "index": list(range(len(ds.channels)))})
    reach = reach.join(zones, on="channel_id")
    peak_means, worst_means = [], []
    peak_all, worst_all = [], []
    for index, zone in zip(zones["index"], zones["zone"]):
        profile = activity_profile(7, index).mean(axis=0)          # by local hour
        order = np.argsort(profile)
        worst, peak = set(order[:6].tolist()), set(order[-6:].tolist())
        ch = reach.filter(pl.col("index") == index).with_columns(
            hour=pl.col("posted_at").dt.replace_time_zone("UTC").dt.convert_time_zone(zone).dt.hour())
        p = ch.filter(pl.col("hour").is_in(list(peak)))["ratio"]
        w = ch.filter(pl.col("hour").is_in(list(worst)))["ratio"]
        assert p.len() >= 10, "the channel posts at its peak hours"
        if w.len() >= 3:
            peak_means.append(p.mean())
            worst_means.append(w.mean())
        peak_all += (p / ch["ratio"].median()).to_list()
        worst_all += (w / ch["ratio"].median()).to_list()
    assert len(worst_all) >= 30, "bad hours are observed too"
    assert np.mean(peak_all) > 1.4 * np.mean(worst_all)
    assert sum(pm > wm for pm, wm in zip(peak_means, worst_means)) >= 0.75 * len(peak_means)


def test_default_scale_counts():
    ds = demo("default")
    counts = ds.batch.row_counts()
    posts = frame(ds, "telegram_posts")
    messages = posts.select("channel_id", "message_id").unique().height
    assert 1500 < messages < 8000
    assert 20 * messages < counts["telegram_post_snapshots"] <= 25 * messages
    assert counts["telegram_channel_daily_stats"] == 8 * 120
    assert counts["telegram_channel_snapshots"] == 8 * 120 * 4
    assert counts["rejected_records"] == 0


def test_days_argument_and_bad_arguments():
    ds = demo(days=3)
    assert ds.end == DEMO_START + timedelta(days=3)
    with pytest.raises(ValueError):
        generate_demo(scale="huge")
    with pytest.raises(ValueError):
        generate_demo(scale="tiny", days=0)


def test_observed_from_gives_exactly_the_window_of_the_full_dataset():
    from datetime import timedelta

    import pyarrow.compute as pac

    full = generate_demo(seed=3, scale="tiny", days=12)
    cut = full.start + timedelta(days=10)
    window = generate_demo(seed=3, scale="tiny", days=12, observed_from=cut)
    stamp = {"telegram_channels": "observed_at", "telegram_posts": "revision_at",
             "telegram_post_snapshots": "observed_at", "telegram_channel_snapshots": "observed_at",
             "telegram_channel_daily_stats": "observed_at"}
    for name, col in stamp.items():
        expected = full.batch.table(name)
        expected = expected.filter(pac.greater_equal(expected[col], pa.scalar(cut, pa.timestamp("us"))))
        got = window.batch.table(name)
        assert got.num_rows == expected.num_rows, name
        assert got.sort_by([(c, "ascending") for c in got.column_names]).equals(
            expected.sort_by([(c, "ascending") for c in expected.column_names])), name
    assert window.batch.table("telegram_post_snapshots").num_rows > 0
