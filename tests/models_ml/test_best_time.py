"""Best time to post: features, training / evaluation, the not-enough-data paths and the recommendations.

Fast tests build small synthetic frames in the `inputs.POSTS_SQL` shape with a planted hour effect; the last ones
run on the demo warehouse (`demo_warehouse`, the whole pipeline once per session) and check the gate and the
recommended slots against the demo's ground-truth audience activity.
"""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from models_ml import best_time as bt

POSTS_SCHEMA = {
    "channel_id": pl.Int64, "message_id": pl.Int64, "posted_at": pl.Datetime("us"),
    "posted_at_local": pl.Datetime("us"), "content_type": pl.Utf8, "text_length": pl.Int32,
    "is_forward": pl.Boolean, "is_deleted": pl.Boolean, "views_24h": pl.Float64, "subscribers_at_post": pl.Int64,
}
START = datetime(2026, 1, 5)          # a Monday
CONTENT_MULT = {"text": 0.85, "photo": 1.0, "video": 1.25}


def _circ(d):
    return np.mod(d + 12.0, 24.0) - 12.0


def synth_posts(channels=(1, 2, 3), *, days=84, per_day=5, seed=0, peaks=(20.0, 9.0, 14.0), utc_offset_h=3,
                first_day=0, noise=0.2) -> pl.DataFrame:
    """Posts with reach = channel reach x activity(local hour, peak of the channel) x content effect x noise."""
    rng = np.random.default_rng(seed)
    frames = []
    for i, ch in enumerate(channels):
        peak = peaks[i % len(peaks)]
        k = rng.poisson(per_day, days - first_day)
        day = np.repeat(np.arange(first_day, days), k)
        hour = rng.uniform(0.0, 24.0, len(day))
        order = np.lexsort((hour, day))
        day, hour = day[order], hour[order]
        local = np.array([START + timedelta(days=int(d), seconds=int(h * 3600)) for d, h in zip(day, hour)],
                         dtype="datetime64[us]")
        kind = rng.choice(list(CONTENT_MULT), len(day))
        act = 0.5 + np.exp(-0.5 * (_circ(hour - peak) / 2.0) ** 2)
        subs = (4000 * (i + 1) + 10 * day).astype(np.int64)
        y = 0.3 * act * np.array([CONTENT_MULT[k_] for k_ in kind]) * rng.lognormal(0.0, noise, len(day))
        frames.append(pl.DataFrame({
            "channel_id": np.full(len(day), ch), "message_id": np.arange(len(day)) + 100,
            "posted_at": local - np.timedelta64(utc_offset_h, "h"), "posted_at_local": local,
            "content_type": kind, "text_length": rng.integers(0, 800, len(day)).astype(np.int32),
            "is_forward": np.zeros(len(day), dtype=bool), "is_deleted": np.zeros(len(day), dtype=bool),
            "views_24h": y * subs, "subscribers_at_post": subs,
        }, schema=POSTS_SCHEMA))
    return pl.concat(frames).sort("channel_id", "posted_at", "message_id")


def one_post(ch, local: datetime, *, msg=1, views=100.0, subs=1000, deleted=False, content="text", text=100,
             offset_h=3) -> dict:
    return {"channel_id": ch, "message_id": msg, "posted_at": local - timedelta(hours=offset_h),
            "posted_at_local": local, "content_type": content, "text_length": text, "is_forward": False,
            "is_deleted": deleted, "views_24h": views, "subscribers_at_post": subs}


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=POSTS_SCHEMA)


@pytest.fixture(scope="module")
def synth() -> pl.DataFrame:
    return synth_posts()


@pytest.fixture(scope="module")
def trained(synth):
    return bt.train_and_evaluate(synth, seed=7)


# -- features ---------------------------------------------------------------------------------------------------

def test_features_count_only_earlier_posts():
    d = datetime(2026, 3, 2)
    posts = frame([
        one_post(1, d + timedelta(hours=10), msg=1),
        one_post(1, d + timedelta(hours=11), msg=2),
        one_post(1, d + timedelta(hours=11), msg=3),            # same second as msg 2: neither counts the other
        one_post(1, d + timedelta(hours=23, minutes=30), msg=4),
        one_post(1, d + timedelta(days=1, hours=10), msg=5),    # exactly 24 h after msg 1: msg 1 counts
        one_post(1, d + timedelta(days=1, hours=12), msg=6),
        one_post(2, d + timedelta(hours=10, minutes=30), msg=1),  # another channel never counts
    ])
    f = bt.features(posts).filter(pl.col("channel_id") == 1).sort("message_id")
    assert f["posts_prev_24h"].to_list() == [0, 1, 1, 3, 4, 2]            # msg 6: msgs 4 and 5 only
    assert f["posts_earlier_today"].to_list() == [0, 1, 1, 3, 0, 1]
    assert f["hour"].to_list()[3] == pytest.approx(23.5)
    assert f["weekday"].to_list() == [0, 0, 0, 0, 1, 1]


def test_features_are_point_in_time(synth):
    """Changing, removing or adding posts after a post leaves that post's features unchanged."""
    cut = START + timedelta(days=40)
    later = pl.col("posted_at") >= cut
    changed = pl.concat([
        synth.filter(~later),
        synth.filter(later & (pl.col("message_id") % 2 == 0))
        .with_columns(content_type=pl.lit("video"), text_length=pl.lit(5, pl.Int32), views_24h=pl.lit(1.0)),
        synth_posts(days=50, first_day=40, seed=99).with_columns(pl.col("message_id") + 1_000_000).filter(later),
    ]).sort("channel_id", "posted_at", "message_id")
    cols = ["channel_id", "message_id", "hour", "weekday", "content_type", "text_length", "is_forward",
            "posts_prev_24h", "posts_earlier_today", "target"]
    before = bt.features(synth).filter(pl.col("posted_at") < cut).select(cols)
    after = bt.features(changed).filter(pl.col("posted_at") < cut).select(cols)
    assert before.height > 500
    assert before.equals(after)
    # ... while the later posts' features did change
    assert not bt.features(synth).filter(later).select(cols).equals(bt.features(changed).filter(later).select(cols))


def test_usable_rows_and_target():
    d = datetime(2026, 3, 2, 12)
    posts = frame([
        one_post(1, d, msg=1, views=250.0, subs=1000),
        one_post(1, d, msg=2, deleted=True),
        one_post(1, d, msg=3, views=None),
        one_post(1, d, msg=4, views=float("nan")),
        one_post(1, d, msg=5, subs=0),
        one_post(1, d, msg=6, views=0.0),
    ])
    no_local = frame([one_post(1, d, msg=7)]).with_columns(posted_at_local=pl.lit(None, pl.Datetime("us")))
    posts = pl.concat([posts, no_local])
    f = bt.features(posts).sort("message_id")
    assert f["message_id"].to_list() == [1, 2, 3, 4, 5, 6]        # no local time: dropped
    assert f["usable"].to_list() == [True, False, False, False, False, False]
    assert f["target"].to_list()[0] == pytest.approx(0.25)
    assert f["target"].null_count() == 5


# -- baseline ---------------------------------------------------------------------------------------------------

def test_baseline_falls_back_from_hour_to_channel_to_global():
    d = datetime(2026, 3, 2)
    train = bt.features(frame([
        one_post(1, d + timedelta(hours=9), msg=1, views=100.0),
        one_post(1, d + timedelta(hours=9, minutes=40), msg=2, views=300.0),
        one_post(1, d + timedelta(hours=20), msg=3, views=500.0),
        one_post(2, d + timedelta(hours=9), msg=1, views=900.0),
    ]))
    rows = bt.features(frame([
        one_post(1, d + timedelta(days=7, hours=9, minutes=5), msg=10),    # channel 1, hour 9
        one_post(1, d + timedelta(days=7, hours=3), msg=11),               # channel 1, an hour it never posted
        one_post(3, d + timedelta(days=7, hours=9), msg=1),                # unknown channel
    ]))
    got = dict(zip(rows["message_id"].to_list(), bt.baseline_predict(train, rows)))     # rows come sorted by time
    assert got == pytest.approx({10: 0.2, 11: 0.3, 1: 0.45})
    assert np.isnan(bt.baseline_predict(train.head(0), rows)).all()


# -- training and evaluation ------------------------------------------------------------------------------------

def test_synthetic_model_beats_baseline_with_honest_windows(trained, synth):
    res = trained
    assert res.model is not None and res.gate.passed, res.gate.describe()
    assert res.gate.metric == "mae" and res.gate.baseline_name == bt.BASELINE_NAME
    assert not res.gate.higher_is_better and res.gate.required == 0.9
    assert res.metrics["mae"] == res.gate.model
    assert res.baseline_metrics[bt.BASELINE_NAME]["mae"] == res.gate.baseline
    assert {"rmse", "mae_log", "interval_coverage_80", "channels_won"} <= set(res.metrics)
    assert 0.5 < res.metrics["interval_coverage_80"] <= 1.0
    newest = synth["posted_at"].max()
    eval_start = datetime.fromisoformat(res.evaluation_window["start"])
    train_end = datetime.fromisoformat(res.training_window["end"])
    assert eval_start == newest - timedelta(weeks=4)
    assert train_end == eval_start - timedelta(days=1)
    assert datetime.fromisoformat(res.evaluation_window["end"]) > newest
    n_eval = synth.filter(pl.col("posted_at") >= eval_start).height
    n_train = synth.filter(pl.col("posted_at") < train_end).height
    assert res.rows["evaluate"] == n_eval and res.rows["train"] == n_train
    assert res.fingerprint and res.seed == 7


def test_content_and_hour_effects_are_learned(trained):
    model = trained.model
    base = bt.features(frame([one_post(1, datetime(2026, 5, 4, 20, 30), content=c) for c in CONTENT_MULT]))
    logp = model.predict_log(base)["median"]
    ratios = np.exp(logp - logp[1])                                     # relative to photo
    assert ratios[0] < 0.95 and ratios[2] > 1.1                          # planted: 0.85 and 1.25
    at = bt.features(frame([one_post(1, datetime(2026, 5, 4, h, 30), content="photo") for h in (8, 20)]))
    night, peak = np.exp(model.predict_log(at)["median"])               # channel 1 peaks at 20 h
    assert peak > 1.3 * night


def test_reproducible_same_seed_same_metrics_and_slots(synth, trained):
    again = bt.train_and_evaluate(synth, seed=7)
    assert again.metrics == trained.metrics
    assert again.baseline_metrics == trained.baseline_metrics
    assert again.gate == trained.gate and again.fingerprint == trained.fingerprint
    s1, st1 = bt.recommend(trained.model, synth, model_version="v1")
    s2, st2 = bt.recommend(again.model, synth, model_version="v1")
    assert s1.equals(s2) and st1.equals(st2)


def test_model_pickles_and_predicts_the_same(trained, synth):
    clone = pickle.loads(pickle.dumps(trained.model))
    f = bt.features(synth).filter(pl.col("usable")).tail(50)
    a, b = trained.model.predict_log(f), clone.predict_log(f)
    for k in ("median", "q10", "q90"):
        assert np.array_equal(a[k], b[k])


def test_no_posts_gives_no_model_and_failing_gate():
    res = bt.train_and_evaluate(frame([]))
    assert res.model is None and not res.gate.passed
    assert "not enough data" in res.gate.baseline_name and "no posts with 24 h views" in res.gate.baseline_name
    assert res.metrics["status"] == "not_enough_data" and res.rows["train"] == 0


def test_empty_training_window():
    posts = synth_posts(days=20)                                        # all within the 4 evaluation weeks
    res = bt.train_and_evaluate(posts)
    assert res.model is None and not res.gate.passed
    assert "training window is empty" in res.metrics["reason"]
    assert res.rows["train"] == 0 and res.rows["evaluate"] == posts.height
    assert res.gate.baseline_name.startswith(bt.BASELINE_NAME)


def test_too_few_evaluation_posts(synth):
    # only 3 posts in the last 4 weeks: the evaluation cannot be trusted
    cut = synth["posted_at"].max() - timedelta(weeks=6)
    posts = pl.concat([synth.filter(pl.col("posted_at") < cut), synth.filter(pl.col("posted_at") >= cut).tail(3)])
    res = bt.train_and_evaluate(posts)
    assert res.model is None and not res.gate.passed
    assert "3 posts with 24 h views in the last 4 evaluation weeks" in res.metrics["reason"]


def test_constant_target_is_explicit(synth):
    res = bt.train_and_evaluate(synth.with_columns(views_24h=pl.col("subscribers_at_post") * 0.25))
    assert res.model is None and not res.gate.passed
    assert "constant" in res.metrics["reason"]


def test_export_channel_only_is_not_enough_data(synth):
    res = bt.train_and_evaluate(synth.with_columns(views_24h=pl.lit(None, pl.Float64)))
    assert res.model is None and "no posts with 24 h views" in res.metrics["reason"]


def test_nan_and_null_features_train_and_predict(synth):
    rng = np.random.default_rng(3)
    holes = pl.Series(rng.uniform(size=synth.height) < 0.15)
    posts = synth.with_columns(
        text_length=pl.when(holes).then(None).otherwise("text_length"),
        content_type=pl.when(holes.shift(1, fill_value=False)).then(None).otherwise("content_type"),
        is_forward=pl.when(holes.shift(2, fill_value=False)).then(None).otherwise("is_forward"),
        is_deleted=pl.when(holes.shift(3, fill_value=False)).then(None).otherwise("is_deleted"),
        views_24h=pl.when(holes.shift(4, fill_value=False)).then(float("nan")).otherwise("views_24h"),
    )
    res = bt.train_and_evaluate(posts)
    assert res.model is not None and np.isfinite(res.metrics["mae"])
    assert res.rows["usable"] < posts.height                            # NaN views are not usable
    # an unseen content type and missing values at prediction time
    odd = bt.features(frame([one_post(1, datetime(2026, 5, 4, 20), content="hologram", text=None)]))
    assert all(np.isfinite(v).all() for v in res.model.predict_log(odd).values())
    slots, status = bt.recommend(res.model, posts, model_version="v")
    assert slots["expected_reach_ratio"].is_finite().all() and (status["status"] == "ok").all()


def test_channel_first_seen_in_evaluation_weeks_gets_baseline_predictions(synth):
    newcomer = synth_posts(channels=(9,), days=84, first_day=70, seed=5)
    res = bt.train_and_evaluate(pl.concat([synth, newcomer]))
    assert res.model is not None
    assert 9 not in res.model.channel_codes
    assert res.metrics["rows_from_baseline"] == newcomer.filter(
        pl.col("posted_at") >= datetime.fromisoformat(res.evaluation_window["start"])).height > 0


def test_bad_arguments(synth):
    with pytest.raises(ValueError):
        bt.train_and_evaluate(synth, eval_weeks=0)
    with pytest.raises(ValueError):
        bt.recommend(None, synth, model_version=None, top_k=0)


# -- recommendations --------------------------------------------------------------------------------------------

def _check_slots(slots: pl.DataFrame):
    assert dict(slots.schema) == bt.SLOTS_SCHEMA
    per = slots.group_by("channel_id").agg(n=pl.len(), ranks=pl.col("rank").sort(),
                                           cells=pl.struct("weekday", "hour").n_unique())
    assert (per["n"] == 168).all() and (per["cells"] == 168).all()
    assert all(r == list(range(1, 169)) for r in per["ranks"].to_list())
    assert slots["hour"].is_between(0, 23).all() and slots["weekday"].is_between(0, 6).all()
    # rank 1 has the highest expected relative reach of its channel
    best = slots.filter(pl.col("rank") == 1).join(
        slots.group_by("channel_id").agg(top=pl.col("expected_relative_reach").max()), on="channel_id")
    assert (best["expected_relative_reach"] == best["top"]).all()
    ok = slots.filter(pl.col("relative_reach_lower").is_not_null())
    assert (ok["relative_reach_lower"] <= ok["expected_relative_reach"]).all()
    assert (ok["expected_relative_reach"] <= ok["relative_reach_upper"]).all()


def test_recommend_statuses_for_every_kind_of_channel(trained, synth):
    d = datetime(2026, 3, 30)
    few = frame([one_post(50, d + timedelta(days=i, hours=9 + i % 5), msg=i) for i in range(12)])
    export = frame([one_post(60, d + timedelta(days=i, hours=12), msg=i, views=None) for i in range(80)])
    deleted_only = frame([one_post(70, d + timedelta(days=i, hours=12), msg=i, deleted=True) for i in range(40)])
    unseen = synth_posts(channels=(80,), seed=11)
    posts = pl.concat([synth, few, export, deleted_only, unseen])
    slots, status = bt.recommend(trained.model, posts, model_version="20260101-abc", min_posts=30)
    assert dict(status.schema) == bt.STATUS_SCHEMA
    st = {r["channel_id"]: r for r in status.iter_rows(named=True)}
    assert sorted(st) == [1, 2, 3, 50, 60, 70, 80]
    assert (status["model"] == "best_time").all()
    for ch in (1, 2, 3):
        assert st[ch] == {"channel_id": ch, "model": "best_time", "status": "ok", "reason": None,
                          "source": "model", "model_version": "20260101-abc"}
    assert st[50]["status"] == "not_enough_data" and st[50]["source"] == "baseline"
    assert st[50]["reason"].startswith("12 posts with 24 h views; at least 30 needed")
    assert st[60]["status"] == "not_enough_data" and st[60]["source"] is None
    assert "0 posts with 24 h views" in st[60]["reason"] and "export" in st[60]["reason"]
    assert st[70]["status"] == "not_enough_data" and st[70]["source"] is None
    assert st[80]["status"] == "baseline" and "not in the model's training data" in st[80]["reason"]
    assert st[80]["model_version"] is None
    _check_slots(slots)
    by = slots.group_by("channel_id").agg(pl.col("source").unique(), pl.col("model_version").unique())
    src = {r["channel_id"]: (r["source"], r["model_version"]) for r in by.iter_rows(named=True)}
    assert sorted(src) == [1, 2, 3, 50, 80]                             # never slots without data
    assert src[1] == (["model"], ["20260101-abc"]) and src[50] == (["baseline"], [None])
    assert src[80] == (["baseline"], [None])
    # posts_observed counts the usable history posts of the slot
    few_slots = slots.filter(pl.col("channel_id") == 50)
    assert few_slots["posts_observed"].sum() == 12
    top = slots.filter((pl.col("channel_id") == 1) & (pl.col("rank") <= 3))
    assert top["hour"].is_between(18, 22).all()                         # planted peak at 20 h local


def test_model_none_serves_the_baseline(synth):
    slots, status = bt.recommend(None, synth, model_version=None)
    assert (status["status"] == "baseline").all() and (status["source"] == "baseline").all()
    assert status["model_version"].null_count() == status.height
    assert "no best_time model has passed its gate" in status["reason"][0]
    _check_slots(slots)
    assert (slots["source"] == "baseline").all() and slots["model_version"].null_count() == slots.height
    # weekday-independent per-hour means relative to the channel's mean
    f = bt.features(synth).filter(pl.col("usable"))
    truth = f.group_by("channel_id", h=pl.col("hour").floor().cast(pl.Int8)).agg(hm=pl.col("target").mean()).join(
        f.group_by("channel_id").agg(cm=pl.col("target").mean()), on="channel_id")
    got = slots.join(truth, left_on=["channel_id", "hour"], right_on=["channel_id", "h"])
    assert got.height == slots.height
    assert np.allclose(got["expected_reach_ratio"], got["hm"])
    assert np.allclose(got["expected_relative_reach"], got["hm"] / got["cm"])
    assert (slots.group_by("channel_id", "hour").agg(pl.col("expected_relative_reach").n_unique())
            ["expected_relative_reach"] == 1).all()
    assert slots["posts_observed"].sum() == f.height


def test_recommend_without_posts():
    slots, status = bt.recommend(None, frame([]), model_version=None)
    assert slots.height == 0 and status.height == 0
    assert dict(slots.schema) == bt.SLOTS_SCHEMA and dict(status.schema) == bt.STATUS_SCHEMA


def test_model_slots_expected_reach_is_relative_times_history_mean(trained, synth):
    slots, _ = bt.recommend(trained.model, synth, model_version="v")
    f = bt.features(synth).filter(pl.col("usable"))
    cm = f.group_by("channel_id").agg(cm=pl.col("target").mean())
    got = slots.join(cm, on="channel_id")
    assert np.allclose(got["expected_reach_ratio"], got["expected_relative_reach"] * got["cm"])
    # the typical slot is about an average post: relative reach averages near 1 over the posted hours
    weighted = (got["expected_relative_reach"] * got["posts_observed"]).sum() / got["posts_observed"].sum()
    assert 0.85 < weighted < 1.15


# -- the demo warehouse -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_result(demo_warehouse):
    posts = demo_warehouse.posts
    return posts, bt.train_and_evaluate(posts, seed=7)


def test_demo_gate_passes(demo_result):
    posts, res = demo_result
    print("\nbest_time on the default demo:", res.gate.describe(), f"ratio {res.gate.ratio:.3f}")
    print("  model", {k: round(v, 4) if isinstance(v, float) else v for k, v in res.metrics.items()})
    print("  baselines", res.baseline_metrics, "rows", res.rows)
    assert res.model is not None
    assert res.gate.passed and res.gate.ratio <= 0.9, res.gate.describe()
    assert res.metrics["channels_won"] >= res.metrics["channels_evaluated"] - 2
    assert 0.6 <= res.metrics["interval_coverage_80"] <= 0.95
    assert res.rows["evaluate"] >= 300 and res.rows["train"] >= 1000


def test_demo_top_slots_follow_the_true_audience_activity(demo_result):
    from analyticbot.telegram.demo import activity_profile, demo_channels

    posts, res = demo_result
    slots, status = bt.recommend(res.model, posts, model_version="demo")
    _check_slots(slots)
    index = {c.channel_id: i for i, c in enumerate(demo_channels(seed=7, scale="default"))}
    rhos, tops = [], []
    for ch in sorted(status.filter(pl.col("status") == "ok")["channel_id"].to_list()):
        truth = activity_profile(seed=7, channel_index=index[ch])                   # (7, 24)
        s = slots.filter(pl.col("channel_id") == ch).sort("weekday", "hour")
        pred = s["expected_relative_reach"].to_numpy()
        rank_p, rank_t = np.argsort(np.argsort(pred)), np.argsort(np.argsort(truth.ravel()))
        rhos.append(np.corrcoef(rank_p, rank_t)[0, 1])                             # Spearman
        top = s.filter(pl.col("rank") <= 3)
        tops.append(truth[top["weekday"].to_numpy(), top["hour"].to_numpy()].mean() / truth.max())
    print("\nSpearman with the true activity per channel:", np.round(rhos, 3), "top-3 / true best:", np.round(tops, 3))
    assert len(rhos) == len(index)
    assert min(rhos) > 0.6 and np.mean(rhos) > 0.8
    assert min(tops) > 0.8 and np.mean(tops) > 0.9
