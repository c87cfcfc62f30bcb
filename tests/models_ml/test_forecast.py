"""Prophet forecasts of subscribers and daily reach (models_ml.forecast): the naive baselines and data rules as pure
functions, the rolling-origin backtest and predict on small synthetic series (a handful of ~0.1 s Prophet fits),
then the gate and the forecasts on the demo marts."""

from __future__ import annotations

import logging
import pickle
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from models_ml import forecast as F

START = date(2026, 3, 2)  # a Monday
WEEKLY = np.array([1.25, 1.15, 1.0, 1.0, 0.9, 0.7, 0.6])  # daily reach by weekday, Monday first


def channel(cid: int, days: int, *, seed: int = 0, start: date = START, subs0: float = 5000.0,
            growth: float = 12.0, reach0: float = 3000.0, reach_available: bool = True) -> pl.DataFrame:
    """Trend + weekly pattern + noise: subscribers grow linearly, daily reach is a weekly pattern times noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    dates = [start + timedelta(days=int(i)) for i in t]
    wd = np.array([d.weekday() for d in dates])
    subs = np.round(subs0 + growth * t + rng.normal(0, 10, days))
    reach = reach0 * WEEKLY[wd] * np.exp(rng.normal(0, 0.12, days))
    return pl.DataFrame({
        "channel_id": [cid] * days, "date": dates, "subscribers": subs.astype(np.int64),
        "daily_reach": reach if reach_available else [None] * days, "reach_available": [reach_available] * days,
    }, schema={"channel_id": pl.Int64, "date": pl.Date, "subscribers": pl.Int64, "daily_reach": pl.Float64,
               "reach_available": pl.Boolean})


def frame(*parts: pl.DataFrame) -> pl.DataFrame:
    return pl.concat(parts)


# ---- pure functions ----------------------------------------------------------------------------------------------

def test_model_names_and_unknown_metric():
    assert [F.model_name(m) for m in F.METRICS] == ["forecast_subscribers", "forecast_daily_reach"]
    with pytest.raises(ValueError, match="unknown forecast metric"):
        F.model_name("views")
    with pytest.raises(ValueError, match="unknown forecast metric"):
        F.train_and_evaluate(channel(1, 10), metric="views")


def test_last_value_baseline_repeats_the_last_observation_with_a_widening_interval():
    y = np.array([100.0, 104, 101, 105, np.nan])  # a trailing gap: the last *observed* value is 105
    yhat, lo, hi = F.naive_forecast(y, np.arange(1, 5), "last_value")
    assert yhat.tolist() == [105.0] * 4
    sigma = np.std([4.0, -3.0, 4.0], ddof=1)  # first differences; the gap is skipped, not read as 0
    np.testing.assert_allclose(hi - yhat, F.Z80 * sigma * np.sqrt([1, 2, 3, 4]))
    np.testing.assert_allclose(yhat - lo, hi - yhat)


def test_seasonal_naive_repeats_the_last_week_and_skips_gaps():
    # two weeks; a gap in the last week: that weekday comes from the week before (4.0)
    y = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 10, 10, np.nan, 12, 15, 14])
    yhat, lo, hi = F.naive_forecast(y, np.arange(1, 15), "seasonal_naive")
    week = [8.0, 10.0, 10.0, 4.0, 12.0, 15.0, 14.0]
    assert yhat.tolist() == week + week
    # steps may start later (the day after a left-out partial day): step 2 is the weekday of index 15
    yhat2, _, _ = F.naive_forecast(y, np.arange(2, 9), "seasonal_naive")
    assert yhat2.tolist() == week[1:] + week[:1]
    # the interval grows per week ahead, not per day, and never goes below 0
    assert np.all(lo >= 0)
    sigma = np.std([7.0, 8, 7, 7, 9, 7], ddof=1)  # week-on-week differences, the gap skipped
    np.testing.assert_allclose((hi - yhat)[:7], F.Z80 * sigma)
    np.testing.assert_allclose((hi - yhat)[7:], F.Z80 * sigma * np.sqrt(2))


def test_naive_baseline_without_any_value_is_an_error():
    with pytest.raises(ValueError, match="no observed value"):
        F.naive_forecast(np.full(10, np.nan), np.arange(1, 4), "last_value")
    with pytest.raises(ValueError, match="unknown baseline"):
        F.naive_forecast(np.ones(10), np.arange(1, 4), "mean")


def test_nulls_nan_and_negative_values_are_gaps_not_zeros():
    df = channel(1, 20).with_columns(
        pl.when(pl.col("date") == START + timedelta(days=5)).then(None)
        .when(pl.col("date") == START + timedelta(days=6)).then(float("nan"))
        .when(pl.col("date") == START + timedelta(days=7)).then(-5.0)
        .otherwise(pl.col("daily_reach")).alias("daily_reach"))
    (s,) = F._prepare(df, "daily_reach", trim=False)
    assert np.isnan(s.y[5:8]).all() and s.n_obs == 17
    (t,) = F._prepare(df, "daily_reach", trim=True)  # partial first and last day left out
    assert t.start == START + timedelta(days=1) and len(t.y) == 18 and t.history_end == START + timedelta(days=19)


# ---- backtest and training on synthetic series -------------------------------------------------------------------

def test_backtest_never_reads_data_after_the_origin():
    df = channel(1, 90, seed=3)
    kw = dict(metric="subscribers", n_origins=2, n_jobs=1)
    base, info = F.backtest(df, **kw)
    assert info["fits"] == 2 and base["origin_index"].unique().sort().to_list() == [0, 1]
    o0, o1 = (base.filter(pl.col("origin_index") == k)["origin"][0] for k in (0, 1))
    assert o0 - o1 == timedelta(days=14) and base.filter(pl.col("origin_index") == 0)["date"].max() == \
        START + timedelta(days=89)
    forecast_cols = ["prophet", "prophet_lower", "prophet_upper", "baseline", "baseline_lower", "baseline_upper"]

    def alter(after: date) -> pl.DataFrame:
        return df.with_columns(pl.when(pl.col("date") >= after).then(pl.col("subscribers") * 3)
                               .otherwise(pl.col("subscribers")).alias("subscribers"))

    # everything from the latest origin on is changed: no forecast moves, only the actuals do
    late, _ = F.backtest(alter(o0), **kw)
    assert late.select(forecast_cols).equals(base.select(forecast_cols))
    assert not late["actual"].equals(base["actual"])
    # from the earlier origin on: its forecasts stay, the later origin (which has seen the change) moves
    mid, _ = F.backtest(alter(o1), **kw)
    k1 = pl.col("origin_index") == 1
    assert mid.filter(k1).select(forecast_cols).equals(base.filter(k1).select(forecast_cols))
    assert not mid.filter(~k1)["prophet"].equals(base.filter(~k1)["prophet"])


@pytest.fixture(scope="module")
def synthetic() -> pl.DataFrame:
    return frame(channel(1, 100, seed=1), channel(2, 100, seed=2, subs0=20000, growth=-6, reach0=12000),
                 channel(3, 100, seed=3, subs0=800, growth=3, reach0=150))


@pytest.mark.parametrize("metric", F.METRICS)
def test_train_and_evaluate_beats_the_baseline_on_trend_and_weekly_pattern(synthetic, metric):
    r = F.train_and_evaluate(synthetic, metric=metric, seed=11)
    base = F.BASELINES[metric]
    assert isinstance(r.model, F.ForecastConfig) and r.model == F.default_config(metric)
    assert pickle.loads(pickle.dumps(r.model)) == r.model
    assert r.gate.passed and r.gate.baseline_name == base and not r.gate.higher_is_better
    assert r.metrics["mape"] == r.gate.model < r.baseline_metrics[base]["mape"] == r.gate.baseline
    assert r.metrics["channels"] == 3 and r.metrics["origins"] == 3 and r.metrics["fits"] == 9
    assert [o["origin_index"] for o in r.metrics["by_origin"]] == [0, 1, 2]
    assert r.metrics["points"] == r.rows["evaluate"] == 3 * 3 * 30 and r.metrics["failed_fits"] == 0
    assert 0.0 <= r.metrics["coverage_80"] <= 1.0 and 0.0 <= r.baseline_metrics[base]["coverage_80"] <= 1.0
    assert r.training_window == {"start": START.isoformat(), "end": (START + timedelta(days=100)).isoformat()}
    assert r.params["changepoint_prior_scale"] == r.model.changepoint_prior_scale and r.seed == 11
    assert len(r.fingerprint) == 16


def test_too_little_history_trains_nothing_and_fails_the_gate():
    short = frame(channel(1, 50), channel(2, 40))  # < 28 days before an origin 30 days before the end
    for df in (short, short.head(0)):
        r = F.train_and_evaluate(df, metric="subscribers")
        assert r.model is None and not r.gate.passed
        assert r.metrics["status"] == "not_enough_data" and "58 days" in r.metrics["reason"]
        assert r.gate.baseline_name.startswith("last_value (not enough data")
        assert np.isnan(r.gate.model) and r.rows["evaluate"] == 0
    # daily reach of an export channel is never evaluated
    r = F.train_and_evaluate(channel(1, 100, reach_available=False), metric="daily_reach")
    assert r.model is None and r.metrics["skipped_reach_unavailable"] == 1


def test_a_sample_of_channels_is_backtested_when_there_are_many(synthetic):
    points, info = F.backtest(synthetic, metric="subscribers", n_origins=1, max_channels=2, seed=5, n_jobs=1)
    assert info["eligible_channels"] == 3 and info["channels"] == 2 and info["sampled"]
    expected = sorted(sorted([1, 2, 3], key=lambda c: F._sample_key(5, c))[:2])
    assert points["channel_id"].unique().sort().to_list() == expected


# ---- predict -----------------------------------------------------------------------------------------------------

def check_forecast_rows(fc: pl.DataFrame, horizon: int = 30) -> None:
    assert fc.schema == pl.Schema(F.FORECAST_SCHEMA)
    assert fc.filter(~((pl.col("yhat_lower") <= pl.col("yhat")) & (pl.col("yhat") <= pl.col("yhat_upper")))
                     ).is_empty()
    assert fc["yhat_lower"].min() >= 0
    per = fc.group_by("channel_id", "metric").agg(pl.len(), pl.col("date").min().alias("first"),
                                                  pl.col("date").max().alias("last"),
                                                  pl.col("history_end").first())
    assert (per["len"] == horizon).all()
    assert (per["first"] == per["history_end"] + timedelta(days=1)).all()
    assert (per["last"] == per["history_end"] + timedelta(days=horizon)).all()


@pytest.fixture(scope="module")
def mixed() -> pl.DataFrame:
    """1: 60 days; 2: 14 days; 3: 3 days; 4: an export (no reach); 5: gaps (nulls in both metrics); 6: 60 rows
    without a value (null subscribers, NaN reach)."""
    gaps = channel(5, 60, seed=5).with_columns(
        pl.when(pl.col("date").is_between(START + timedelta(days=20), START + timedelta(days=29)))
        .then(None).otherwise(pl.col(c)).alias(c) for c in ("subscribers", "daily_reach"))
    empty = channel(6, 60).with_columns(pl.lit(None, pl.Int64).alias("subscribers"),
                                        pl.lit(float("nan")).alias("daily_reach"))
    return frame(channel(1, 60, seed=1), channel(2, 14, seed=2), channel(3, 3, seed=3),
                 channel(4, 60, seed=4, reach_available=False), gaps, empty)


def test_predict_states_for_every_kind_of_channel(mixed):
    out = {m: F.predict(F.default_config(m), mixed, metric=m, model_version="v7", n_jobs=1) for m in F.METRICS}
    for metric, (fc, st) in out.items():
        check_forecast_rows(fc)
        assert st.schema == pl.Schema(F.STATUS_SCHEMA)
        assert st["channel_id"].to_list() == [1, 2, 3, 4, 5, 6] and (st["model"] == F.model_name(metric)).all()
        s = {r["channel_id"]: r for r in st.to_dicts()}
        assert s[1]["status"] == "ok" and s[1]["reason"] is None and s[1]["source"] == "prophet"
        assert s[1]["model_version"] == "v7"
        assert s[5]["status"] == "ok"  # 50 observed days out of 60: the gap is not a reason to give up
        assert s[2]["status"] == "not_enough_data" and s[2]["source"] == "naive" and s[2]["model_version"] is None
        assert s[3]["status"] == "not_enough_data" and s[3]["source"] is None
        assert s[6]["status"] == "not_enough_data" and s[6]["reason"].startswith("0 days of")
        by_source = dict(fc.group_by("channel_id").agg(pl.col("source").unique()).iter_rows())
        assert by_source[1] == ["prophet"] and by_source[2] == ["naive"] and 3 not in by_source
        assert 6 not in by_source
        assert (fc.filter(pl.col("source") == "naive")["model_version"].is_null()).all()
        assert (fc.filter(pl.col("source") == "prophet")["model_version"] == "v7").all()
    subs, reach = (dict((r["channel_id"], r) for r in out[m][1].to_dicts()) for m in F.METRICS)
    assert subs[2]["reason"].startswith("14 days of subscribers history; at least 28 needed")
    assert subs[3]["reason"].startswith("3 days of subscribers history; at least 28 needed")
    # reach of channel 2: 14 days less the two partial ones
    assert reach[2]["reason"].startswith("12 days of daily_reach history")
    assert subs[4]["status"] == "ok"
    assert reach[4]["status"] == "not_enough_data" and "not available" in reach[4]["reason"]
    assert reach[4]["source"] is None and 4 not in out["daily_reach"][0]["channel_id"].to_list()
    # the export's subscribers still forecast; the trend continues upwards from ~5700
    sub4 = out["subscribers"][0].filter(pl.col("channel_id") == 4)
    assert 5600 < sub4["yhat"][0] < sub4["yhat"][-1] < 6300


def test_null_days_are_missing_observations_not_zeros(mixed):
    """A channel whose gap days are null forecasts exactly like one whose gap days are absent altogether."""
    with_nulls = mixed.filter(pl.col("channel_id") == 5)
    without = with_nulls.filter(pl.col("subscribers").is_not_null())
    a, _ = F.predict(F.default_config("subscribers"), with_nulls, metric="subscribers", model_version="v", n_jobs=1)
    b, _ = F.predict(F.default_config("subscribers"), without, metric="subscribers", model_version="v", n_jobs=1)
    assert a.equals(b)
    assert a["yhat"].min() > 5000  # read as zeros, the gap would have pulled the level towards 0


def test_model_none_serves_the_naive_baseline_with_an_interval(mixed):
    fc, st = F.predict(None, mixed, metric="daily_reach", model_version=None)
    check_forecast_rows(fc)
    assert (fc["source"] == "naive").all() and fc["model_version"].is_null().all()
    s = {r["channel_id"]: r for r in st.to_dicts()}
    assert s[1]["status"] == "baseline" and "no forecast_daily_reach version has passed its gate" in s[1]["reason"]
    assert (fc["yhat_upper"] > fc["yhat_lower"]).all()
    # seasonal naive: each forecast day copies its weekday from the last complete week (the last day is partial)
    src = mixed.filter(pl.col("channel_id") == 1)
    last_week = src.filter(pl.col("date").is_between(START + timedelta(days=52), START + timedelta(days=58)))
    by_weekday = {d.weekday(): v for d, v in last_week.select("date", "daily_reach").iter_rows()}
    got = fc.filter(pl.col("channel_id") == 1)
    assert [by_weekday[d.weekday()] for d in got["date"]] == pytest.approx(got["yhat"].to_list())
    # subscribers: the last value
    fc_s, _ = F.predict(None, mixed, metric="subscribers", model_version=None)
    last = src.sort("date")["subscribers"][-1]
    assert (fc_s.filter(pl.col("channel_id") == 1)["yhat"] == last).all()


def test_a_failing_prophet_fit_falls_back_to_the_baseline(mixed, monkeypatch):
    monkeypatch.setattr(F, "_fit_predict", lambda task: ("error", "RuntimeError: boom"))
    fc, st = F.predict(F.default_config("subscribers"), mixed, metric="subscribers", model_version="v1", n_jobs=1)
    s = {r["channel_id"]: r for r in st.to_dicts()}
    assert s[1]["status"] == "baseline" and "Prophet failed (RuntimeError: boom)" in s[1]["reason"]
    assert (fc["source"] == "naive").all() and fc["model_version"].is_null().all()
    check_forecast_rows(fc)
    r = F.train_and_evaluate(frame(channel(1, 100)), metric="subscribers")
    assert r.model is None and not r.gate.passed and "failed on every backtest fit" in r.metrics["reason"]


def test_predict_checks_its_inputs():
    with pytest.raises(ValueError, match="not 'daily_reach'"):
        F.predict(F.default_config("subscribers"), channel(1, 40), metric="daily_reach", model_version="v")
    with pytest.raises(ValueError, match="lacks column"):
        F.predict(None, channel(1, 40).drop("daily_reach"), metric="daily_reach", model_version=None)
    fc, st = F.predict(None, channel(1, 40).head(0), metric="subscribers", model_version=None)
    assert fc.is_empty() and st.is_empty() and fc.schema == pl.Schema(F.FORECAST_SCHEMA)


def test_same_seed_same_forecasts_in_any_process(mixed):
    cfg = F.default_config("daily_reach")
    data = mixed.filter(pl.col("channel_id").is_in([1, 5]))
    a, _ = F.predict(cfg, data, metric="daily_reach", model_version="v", seed=3, n_jobs=1)
    b, _ = F.predict(cfg, data.reverse(), metric="daily_reach", model_version="v", seed=3, n_jobs=2)  # 2 workers
    c, _ = F.predict(cfg, data, metric="daily_reach", model_version="v", seed=4, n_jobs=1)
    assert a.equals(b)
    assert a["yhat"].equals(c["yhat"])  # the MAP fit does not depend on the seed...
    assert not a["yhat_lower"].equals(c["yhat_lower"])  # ...the sampled interval does


def test_training_is_reproducible(synthetic):
    one = F.train_and_evaluate(synthetic, metric="daily_reach", seed=2)
    two = F.train_and_evaluate(synthetic.sample(fraction=1.0, shuffle=True, seed=1), metric="daily_reach", seed=2)
    assert one.metrics == two.metrics and one.baseline_metrics == two.baseline_metrics


def test_prophet_and_cmdstan_stay_quiet(capfd, caplog):
    with caplog.at_level(logging.DEBUG):
        status, *_ = F._fit_predict((F.default_config("subscribers"), np.datetime64("2026-01-01") + np.arange(40),
                                     np.arange(40.0) + 100, np.datetime64("2026-02-10") + np.arange(3), 1))
    assert status == "ok"
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert not [r for r in caplog.records if r.name.startswith(("cmdstanpy", "prophet"))]
    assert logging.getLogger("cmdstanpy").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("prophet").getEffectiveLevel() >= logging.WARNING


# ---- the demo marts ----------------------------------------------------------------------------------------------

def test_demo_forecasts_beat_the_naive_baselines(demo_warehouse, record_property):
    daily = demo_warehouse.channel_daily
    channels = daily["channel_id"].n_unique()
    for metric in F.METRICS:
        r = F.train_and_evaluate(daily, metric=metric)
        base = F.BASELINES[metric]
        figures = {"prophet_mape": round(r.metrics["mape"], 4),
                   "baseline_mape": round(r.baseline_metrics[base]["mape"], 4),
                   "coverage_80": round(r.metrics["coverage_80"], 3)}
        record_property(F.model_name(metric), figures)
        print(F.model_name(metric), figures, r.gate.describe())
        assert r.gate.passed, r.gate.describe()
        assert r.metrics["channels"] == channels and r.metrics["failed_fits"] == 0
        fc, st = F.predict(r.model, daily, metric=metric, model_version="demo")
        check_forecast_rows(fc)
        assert fc.height == 30 * channels and (fc["metric"] == metric).all()
        assert (st["status"] == "ok").all() and (fc["source"] == "prophet").all()
