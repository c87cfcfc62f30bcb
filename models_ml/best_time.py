"""Best time to post: expected 24 h reach of a post by local hour x weekday, per channel (DESIGN.md "Models").

Target: ``views_24h / subscribers_at_post`` of a post (its reach ratio). Usable rows: not deleted, ``views_24h`` and
``subscribers_at_post`` known and > 0, a known local posting time. Export channels (no views) have none.

Model (all in log space of the *relative* target ``r = log(y / channel mean of y over the training weeks)``, so
one model serves channels of every size and the effects are multiplicative, as reach is):

1. **An hour curve per channel.** The pooled curve of all channels plus each channel's deviation from it, both
   Gaussian-kernel smoothed over the circular local hour (15-minute bins; the pooled curve with bandwidth
   ``HOUR_BANDWIDTH`` hours, each channel with the bandwidth of ``HOUR_BANDWIDTHS`` that predicts its own posts
   best leave-one-out); a channel's deviation is shrunk towards the pooled curve by ``HOUR_PRIOR`` pseudo-posts.
   For the training rows the curve is computed leave-one-out (without the row's own target), so the next stage
   sees honest offsets. Audience activity is smooth in the hour, and this is what lets ~200 posts of a channel
   say something about the hours it rarely posts at (the per-hour mean baseline cannot).
2. **LightGBM** on top of that offset (``init_score``): channel (categorical), local hour (fractional), weekday,
   content type (categorical), text length, forward or not, and the recent posting load, which is point-in-time:
   ``posts_prev_24h`` (the channel's posts in the 24 h before the post) and ``posts_earlier_today`` (its posts
   earlier the same local day); only posts *before* the post count, deleted ones and ones without views
   included (they were seen). Interaction constraints allow only channel x hour and channel x weekday, so
   content and load effects are learned once across all channels. Missing values (null text length, content
   type, forward flag) go to LightGBM as missing; a content type unseen in training is missing too. Small,
   strongly regularised trees (4 leaves, 40 posts a leaf): the curve carries most of the signal.
   Reproducible: ``deterministic=True``, one thread (also the fastest on a busy 2-core machine), the seed.
3. **Interval:** two more LightGBM models, quantile loss at 0.1 and 0.9 on the same offset. The interval is an
   80 % *prediction interval for one typical post* in that slot: 8 in 10 such posts are expected to land between
   ``relative_reach_lower`` and ``relative_reach_upper`` x the channel's average. It is not a confidence interval
   of the slot's mean. The evaluation weeks report its empirical coverage (``interval_coverage_80``; ~0.77 on
   the default demo, so it is slightly narrow).

Evaluation: the last ``eval_weeks`` weeks before the newest post with a ``views_24h`` evaluate; training uses the
posts at least one day older than that cut (so every training label was observable at the cut). The gate metric
is the MAE of the reach ratio; the model's point is the predicted median ``exp(mu) x channel mean`` (the MAE-optimal
point). Baseline ``channel_hour_mean``: the channel's mean target at that local hour over the training weeks, else
the channel's mean, else the global mean. Rows of channels absent from the training weeks get the baseline's
prediction from the model too (there is nothing else to go on).

Recommendations (`recommend`) score the channel's *typical* post: its most common content type, median text
length, not a forward, ``posts_prev_24h`` = its mean posts per day and ``posts_earlier_today`` = its mean posts per
day before that hour. ``expected_relative_reach`` is the predicted *mean* relative reach: the median times the
channel's smearing factor (Duan: the mean of ``exp(residual)`` on its training rows), so 1.0 is an average post.

Baseline slots (``model=None``, a channel the model never saw, or too few posts): the channel's mean target per
local hour over its whole history, weekday-independent, hours without posts at the channel mean (relative 1.0);
interval from the 10th / 90th percentile of its posts over the baseline's leave-one-out prediction (pooled over
all channels below 20 posts). Ties in rank go to the slot with more observed posts, then earlier in the week.

Too little data: `train_and_evaluate` returns a `TrainingResult` with ``model=None`` and a failing gate whose
``baseline_name`` (and ``metrics["reason"]``) says why: no usable posts, fewer than ``min_train_posts`` in the
training weeks (an empty training window included), fewer than ``min_eval_posts`` in the evaluation weeks, or a
constant target. It does not raise for data reasons. `recommend` gives channels with fewer than ``min_posts``
usable posts status ``not_enough_data``, with baseline slots if they have any usable post and none otherwise.

The returned model is the one evaluated (trained on the earlier weeks only, not refit), so its card describes it;
`recommend` takes the channel's scale and typical post from the history it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from models_ml.evaluation import (CHANNEL_STATUS_SCHEMA, GateResult, NotEnoughData, TrainingResult, fingerprint,
                                  gate, mae)

MODEL_NAME = "best_time"
BASELINE_NAME = "channel_hour_mean"
GATE_METRIC = "mae"
GATE_REQUIRED = 0.9                      # model MAE <= 0.9 x baseline MAE

FEATURES = ("channel", "hour", "weekday", "content_type", "text_length", "is_forward", "posts_prev_24h",
            "posts_earlier_today")
CATEGORICAL = ("channel", "content_type")
# Only channel x hour and channel x weekday may interact; content and load effects are learned once for all
# channels (additive in log space, as the effects on reach are multiplicative).
INTERACTION_GROUPS = (("channel", "hour"), ("channel", "weekday"), ("content_type",), ("text_length",),
                      ("is_forward",), ("posts_prev_24h",), ("posts_earlier_today",))
INTERVAL = (0.1, 0.9)                    # quantiles of the 80 % prediction interval

HOUR_BINS = 96                           # 15-minute bins of the local day
HOUR_BANDWIDTH = 0.75                    # hours, Gaussian kernel sd (circular) of the pooled curve
HOUR_BANDWIDTHS = (0.5, 0.75, 1.0, 1.5, 2.0)  # candidates per channel, chosen by leave-one-out error
HOUR_PRIOR = 1.0                         # pseudo-posts shrinking a channel's curve towards the pooled one

MIN_TRAIN_POSTS = 100                    # usable posts in the training weeks
MIN_EVAL_POSTS = 30                      # usable posts in the evaluation weeks
LABEL_DELAY = timedelta(days=1)          # views_24h of a post is known a day after it

NUM_ROUNDS = 200
LGB_PARAMS = {
    "learning_rate": 0.05, "num_leaves": 4, "min_data_in_leaf": 40, "lambda_l2": 1.0,
    "bagging_fraction": 0.8, "bagging_freq": 1, "cat_smooth": 10.0, "max_cat_to_onehot": 4,
    "deterministic": True, "force_col_wise": True, "num_threads": 1, "verbose": -1,
}

SLOTS_SCHEMA = {
    "channel_id": pl.Int64, "weekday": pl.Int8, "hour": pl.Int8, "rank": pl.Int32,
    "expected_reach_ratio": pl.Float64, "expected_relative_reach": pl.Float64,
    "relative_reach_lower": pl.Float64, "relative_reach_upper": pl.Float64, "posts_observed": pl.Int32,
    "source": pl.Utf8, "model_version": pl.Utf8,
}
STATUS_SCHEMA = CHANNEL_STATUS_SCHEMA

# -- features ---------------------------------------------------------------------------------------------------

def _usable_expr() -> pl.Expr:
    return (~pl.col("is_deleted").fill_null(False)
            & pl.col("views_24h").is_not_null() & pl.col("views_24h").is_finite() & (pl.col("views_24h") > 0)
            & pl.col("subscribers_at_post").is_not_null() & (pl.col("subscribers_at_post") > 0))


def features(posts: pl.DataFrame) -> pl.DataFrame:
    """Posts with their model features and target, sorted by channel, posted_at, message_id.

    Rows without ``channel_id``, ``posted_at`` or ``posted_at_local`` are dropped (they cannot be placed in a slot
    or in time). Adds ``hour`` (fractional local hour), ``weekday`` (local, 0 = Monday), ``posts_prev_24h``,
    ``posts_earlier_today`` (point-in-time: only the channel's posts strictly before this one, by the second),
    ``usable`` and ``target`` (``views_24h / subscribers_at_post``, null unless usable)."""
    df = (posts.filter(pl.col("channel_id").is_not_null() & pl.col("posted_at").is_not_null()
                       & pl.col("posted_at_local").is_not_null())
          .sort("channel_id", "posted_at", "message_id"))
    loc = pl.col("posted_at_local")
    df = df.with_columns(
        hour=(loc.dt.hour().cast(pl.Float64) + loc.dt.minute() / 60.0 + loc.dt.second() / 3600.0),
        weekday=(loc.dt.weekday() - 1).cast(pl.Int8),
        usable=_usable_expr(),
    ).with_columns(
        target=pl.when(pl.col("usable")).then(pl.col("views_24h") / pl.col("subscribers_at_post")),
    )
    n = df.height
    if n == 0:
        return df.with_columns(posts_prev_24h=pl.lit(None, pl.Float64), posts_earlier_today=pl.lit(None, pl.Float64))
    _, code = np.unique(df["channel_id"].to_numpy(), return_inverse=True)
    hi = code.astype(np.int64) << np.int64(34)            # channel in the high bits, seconds (< 2^34) below
    utc = df["posted_at"].dt.epoch("s").to_numpy().astype(np.int64) + hi
    # utc is sorted (channel, posted_at); count the channel's posts in [t - 24 h, t)
    prev_24h = np.searchsorted(utc, utc, "left") - np.searchsorted(utc, utc - 86_400, "left")
    local_s = df["posted_at_local"].dt.epoch("s").to_numpy().astype(np.int64)
    local = local_s + hi
    sorted_local = np.sort(local)
    day_start = (local_s // 86_400) * 86_400 + hi
    earlier_today = np.searchsorted(sorted_local, local, "left") - np.searchsorted(sorted_local, day_start, "left")
    return df.with_columns(posts_prev_24h=pl.Series(prev_24h.astype(np.float64)),
                           posts_earlier_today=pl.Series(earlier_today.astype(np.float64)))


# -- the hour curve ---------------------------------------------------------------------------------------------

def _bins(hour: np.ndarray) -> np.ndarray:
    return np.floor(np.asarray(hour, dtype=np.float64) * HOUR_BINS / 24.0).astype(np.int64) % HOUR_BINS


def _kernel(bandwidth: float) -> np.ndarray:
    d = np.arange(HOUR_BINS) * 24.0 / HOUR_BINS
    d = np.minimum(d, 24.0 - d)
    return np.exp(-0.5 * (d / bandwidth) ** 2)       # k(0) = 1


def _circular_smooth(m: np.ndarray, bandwidth: float) -> np.ndarray:
    """Rows of `m` convolved with the circular kernel (FFT; the kernel is symmetric)."""
    return np.real(np.fft.ifft(np.fft.fft(m, axis=1) * np.fft.fft(_kernel(bandwidth))[None, :], axis=1))


@dataclass
class HourCurves:
    """Smoothed log-relative reach by local hour: a pooled curve and one per training channel, each channel with
    the bandwidth (of `HOUR_BANDWIDTHS`) that predicts its own posts best leave-one-out."""
    pooled: np.ndarray                    # (HOUR_BINS,)
    dev_sum: np.ndarray                   # (C, HOUR_BINS) smoothed sums of residuals from the pooled curve
    weight: np.ndarray                    # (C, HOUR_BINS) smoothed post counts
    bandwidth: np.ndarray                 # (C,) hours

    @classmethod
    def fit(cls, code: np.ndarray, hour: np.ndarray, r: np.ndarray, n_channels: int) -> "HourCurves":
        b = _bins(hour)
        s = np.zeros((1, HOUR_BINS))
        c = np.zeros((1, HOUR_BINS))
        np.add.at(s[0], b, r)
        np.add.at(c[0], b, 1.0)
        pooled = (_circular_smooth(s, HOUR_BANDWIDTH) / (_circular_smooth(c, HOUR_BANDWIDTH) + 1.0))[0]
        own = r - pooled[b]
        dev = np.zeros((n_channels, HOUR_BINS))
        cnt = np.zeros((n_channels, HOUR_BINS))
        np.add.at(dev, (code, b), own)
        np.add.at(cnt, (code, b), 1.0)
        best = None
        for bw in HOUR_BANDWIDTHS:
            ds, w = _circular_smooth(dev, bw), _circular_smooth(cnt, bw)
            loo = (ds[code, b] - own) / (w[code, b] - 1.0 + HOUR_PRIOR)
            sse = np.bincount(code, weights=(own - loo) ** 2, minlength=n_channels)
            if best is None:
                best = [sse, ds, w, np.full(n_channels, bw)]
            else:
                better = sse < best[0]
                best[0] = np.where(better, sse, best[0])
                best[1][better], best[2][better], best[3][better] = ds[better], w[better], bw
        return cls(pooled, best[1], best[2], best[3])

    def at(self, code: np.ndarray, hour: np.ndarray) -> np.ndarray:
        b = _bins(hour)
        return self.pooled[b] + self.dev_sum[code, b] / (self.weight[code, b] + HOUR_PRIOR)

    def leave_one_out(self, code: np.ndarray, hour: np.ndarray, r: np.ndarray) -> np.ndarray:
        """The curve at the training rows themselves, each without its own target."""
        b = _bins(hour)
        own = r - self.pooled[b]
        return self.pooled[b] + (self.dev_sum[code, b] - own) / (self.weight[code, b] - 1.0 + HOUR_PRIOR)


# -- the model --------------------------------------------------------------------------------------------------

@dataclass
class BestTimeModel:
    """Everything `recommend` needs: the boosters, category maps, hour curves and per-channel scale factors."""
    boosters: dict                        # "median" | "q10" | "q90" -> lightgbm.Booster (quantile ones may be absent)
    offsets: dict                         # constant added to the curve for each booster's init score
    channel_codes: dict[int, int]
    content_codes: dict[str, int]
    curves: HourCurves
    smear: dict[int, float]               # channel -> mean exp(residual) on training rows
    trained_through: str                  # ISO, exclusive end of the training window
    params: dict = field(default_factory=dict)

    def _matrix(self, df: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        code = df["channel_id"].replace_strict(self.channel_codes, default=-1, return_dtype=pl.Int64).to_numpy()
        content = (df["content_type"].cast(pl.Utf8)
                   .replace_strict(self.content_codes, default=None, return_dtype=pl.Float64)
                   .fill_null(np.nan).to_numpy())
        cols = {
            "channel": np.where(code >= 0, code, np.nan).astype(np.float64),
            "hour": df["hour"].cast(pl.Float64).to_numpy(),
            "weekday": df["weekday"].cast(pl.Float64).to_numpy(),
            "content_type": content,
            "text_length": df["text_length"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
            "is_forward": df["is_forward"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
            "posts_prev_24h": df["posts_prev_24h"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
            "posts_earlier_today": df["posts_earlier_today"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
        }
        return np.column_stack([cols[f] for f in FEATURES]), code

    def known(self, channel_ids: pl.Series) -> np.ndarray:
        return channel_ids.is_in(list(self.channel_codes)).fill_null(False).to_numpy()

    def predict_log(self, df: pl.DataFrame) -> dict[str, np.ndarray]:
        """Log relative reach (log of y / channel mean) for rows of known channels: {"median", "q10", "q90"}."""
        x, code = self._matrix(df)
        if (code < 0).any():
            raise ValueError("predict_log needs rows of channels seen in training")
        base = self.curves.at(code, df["hour"].to_numpy())
        return {k: base + self.offsets[k] + b.predict(x, num_threads=LGB_PARAMS["num_threads"])
                for k, b in self.boosters.items()}


def _content_codes(values: pl.Series) -> dict[str, int]:
    return {v: i for i, v in enumerate(sorted(values.drop_nulls().unique().to_list()))}


def fit(train: pl.DataFrame, *, seed: int, trained_through: str = "", quantiles: bool = True) -> BestTimeModel:
    """Fit on usable feature rows (`features(...)` filtered to ``usable``)."""
    import lightgbm as lgb

    if train.height == 0:
        raise NotEnoughData("no training rows")
    ids = np.unique(train["channel_id"].to_numpy())
    channel_codes = {int(c): i for i, c in enumerate(ids)}
    code = np.searchsorted(ids, train["channel_id"].to_numpy())
    y = train["target"].to_numpy()
    cm = train.select(pl.col("target").mean().over("channel_id")).to_series().to_numpy()
    r = np.log(y / cm)
    hour = train["hour"].to_numpy()
    curves = HourCurves.fit(code, hour, r, len(ids))
    offset = curves.leave_one_out(code, hour, r)
    model = BestTimeModel({}, {}, channel_codes, _content_codes(train["content_type"]), curves, {},
                          trained_through)
    x, _ = model._matrix(train)
    params = dict(LGB_PARAMS, seed=seed, interaction_constraints=[
        [FEATURES.index(f) for f in g] for g in INTERACTION_GROUPS])
    cat = [FEATURES.index(f) for f in CATEGORICAL]
    objectives = {"median": ({"objective": "regression"}, 0.0)}
    if quantiles:
        for name, q in zip(("q10", "q90"), INTERVAL):
            objectives[name] = ({"objective": "quantile", "alpha": q}, float(np.quantile(r - offset, q)))
    for name, (obj, const) in objectives.items():
        ds = lgb.Dataset(x, r, init_score=offset + const, feature_name=list(FEATURES), categorical_feature=cat,
                         free_raw_data=True, params={"verbose": -1})
        model.boosters[name] = lgb.train(dict(params, **obj), ds, num_boost_round=NUM_ROUNDS)
        model.offsets[name] = const
    resid = r - model.predict_log(train)["median"]
    smear = pl.DataFrame({"channel_id": train["channel_id"], "e": np.exp(resid)}).group_by("channel_id").agg(
        pl.col("e").mean())
    model.smear = dict(zip(smear["channel_id"].to_list(), smear["e"].to_list()))
    model.params = {"features": list(FEATURES), "lightgbm": params, "num_boost_round": NUM_ROUNDS,
                    "hour_bins": HOUR_BINS, "hour_bandwidth_h": HOUR_BANDWIDTH,
                    "hour_bandwidths_h": list(HOUR_BANDWIDTHS), "hour_prior_posts": HOUR_PRIOR,
                    "interval": list(INTERVAL), "target": "log(views_24h / subscribers_at_post / channel mean)"}
    return model


# -- baseline ---------------------------------------------------------------------------------------------------

def baseline_predict(train: pl.DataFrame, rows: pl.DataFrame) -> np.ndarray:
    """channel_hour_mean: the channel's mean target at the row's local (integer) hour over `train`, else the
    channel's mean, else the global mean (NaN when `train` has no target at all)."""
    t = train.filter(pl.col("target").is_not_null()).with_columns(h=pl.col("hour").floor().cast(pl.Int8))
    glob = t["target"].mean() if t.height else None
    by_hour = t.group_by("channel_id", "h").agg(hm=pl.col("target").mean())
    by_channel = t.group_by("channel_id").agg(cm=pl.col("target").mean())
    out = (rows.select("channel_id", h=pl.col("hour").floor().cast(pl.Int8))
           .join(by_hour, on=["channel_id", "h"], how="left", maintain_order="left")
           .join(by_channel, on="channel_id", how="left", maintain_order="left")
           .select(pl.coalesce("hm", "cm", pl.lit(glob, pl.Float64))))
    return out.to_series().cast(pl.Float64).fill_null(np.nan).to_numpy()


def _channel_mean_predict(train: pl.DataFrame, rows: pl.DataFrame) -> np.ndarray:
    t = train.filter(pl.col("target").is_not_null())
    glob = t["target"].mean() if t.height else None
    by_channel = t.group_by("channel_id").agg(cm=pl.col("target").mean())
    return (rows.select("channel_id").join(by_channel, on="channel_id", how="left", maintain_order="left")
            .select(pl.coalesce("cm", pl.lit(glob, pl.Float64))).to_series().cast(pl.Float64)
            .fill_null(np.nan).to_numpy())


# -- metrics ----------------------------------------------------------------------------------------------------

def _regression_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    keep = np.isfinite(y) & np.isfinite(p) & (p > 0)
    return {"mae": mae(y, p), "rmse": float(np.sqrt(np.mean((y[keep] - p[keep]) ** 2))),
            "mae_log": float(np.mean(np.abs(np.log(y[keep]) - np.log(p[keep])))),
            "mean_target": float(np.mean(y))}


def _window(start, end) -> dict:
    return {"start": None if start is None else start.isoformat(), "end": None if end is None else end.isoformat()}


def _failed(reason: str, *, metrics: dict, baseline_metrics: dict, rows: dict, windows: tuple, seed: int,
            fp: str, baseline_mae: float = float("nan")) -> TrainingResult:
    g = GateResult(GATE_METRIC, float("nan"), float(baseline_mae), f"{BASELINE_NAME} (not enough data: {reason})",
                   False, GATE_REQUIRED, False)
    return TrainingResult(model=None, metrics=dict(metrics, status="not_enough_data", reason=reason),
                          baseline_metrics=baseline_metrics, gate=g, training_window=windows[0],
                          evaluation_window=windows[1], params={"features": list(FEATURES)}, seed=seed, rows=rows,
                          fingerprint=fp)


def train_and_evaluate(posts: pl.DataFrame, *, eval_weeks: int = 4, seed: int = 7,
                       min_train_posts: int = MIN_TRAIN_POSTS, min_eval_posts: int = MIN_EVAL_POSTS
                       ) -> TrainingResult:
    """Train on the earlier weeks, evaluate on the last `eval_weeks` weeks against `channel_hour_mean`.

    Never raises for data reasons: with too little data (no usable posts, too few in either window, a constant
    target) it returns ``model=None`` with a failing gate whose ``baseline_name`` and ``metrics["reason"]`` say
    what was missing."""
    if eval_weeks < 1:
        raise ValueError("eval_weeks must be at least 1")
    fp = fingerprint(posts)
    feats = features(posts)
    use = feats.filter(pl.col("usable"))
    empty_windows = (_window(None, None), _window(None, None))
    if use.height == 0:
        return _failed("no posts with 24 h views", metrics={}, baseline_metrics={}, rows={"train": 0, "evaluate": 0},
                       windows=empty_windows, seed=seed, fp=fp)
    newest: datetime = use["posted_at"].max()
    cut = newest - timedelta(weeks=eval_weeks)
    train_end = cut - LABEL_DELAY
    train = use.filter(pl.col("posted_at") < train_end)
    ev = use.filter(pl.col("posted_at") >= cut)
    windows = (_window(train["posted_at"].min() if train.height else None, train_end),
               _window(cut, newest + timedelta(microseconds=1)))
    rows = {"train": train.height, "evaluate": ev.height, "usable": use.height, "posts": posts.height,
            "channels_train": train["channel_id"].n_unique(), "channels_evaluate": ev["channel_id"].n_unique()}
    y = ev["target"].to_numpy()
    baseline_metrics: dict = {}
    base = baseline_predict(train, ev)
    try:
        if ev.height and train.height:
            baseline_metrics = {BASELINE_NAME: _regression_metrics(y, base),
                                "channel_mean": _regression_metrics(y, _channel_mean_predict(train, ev))}
    except NotEnoughData:
        baseline_metrics = {}
    base_mae = baseline_metrics.get(BASELINE_NAME, {}).get("mae", float("nan"))
    common = dict(baseline_metrics=baseline_metrics, rows=rows, windows=windows, seed=seed, fp=fp,
                  baseline_mae=base_mae)
    if train.height < min_train_posts:
        what = "the training window is empty" if train.height == 0 else f"{train.height} posts with 24 h views"
        return _failed(f"{what} before {train_end:%Y-%m-%d %H:%M} (the last {eval_weeks} weeks evaluate); "
                       f"at least {min_train_posts} needed", metrics={}, **common)
    if ev.height < min_eval_posts:
        return _failed(f"{ev.height} posts with 24 h views in the last {eval_weeks} evaluation weeks; at least "
                       f"{min_eval_posts} needed", metrics={}, **common)
    if train["target"].n_unique() < 2:
        return _failed(f"the target is constant ({train['target'][0]:.4g}) over the training weeks: nothing to "
                       "learn", metrics={}, **common)

    model = fit(train, seed=seed, trained_through=train_end.isoformat())
    known = model.known(ev["channel_id"])
    pred = base.copy()                                  # channels without training rows: the baseline
    lower, upper = np.full(len(y), np.nan), np.full(len(y), np.nan)
    if known.any():
        evk = ev.filter(pl.Series(known))
        logp = model.predict_log(evk)
        cm = _channel_mean_predict(train, evk)
        pred[known] = np.exp(logp["median"]) * cm
        lower[known] = np.exp(np.minimum(logp["q10"], logp["median"])) * cm
        upper[known] = np.exp(np.maximum(logp["q90"], logp["median"])) * cm
    metrics = _regression_metrics(y, pred)
    inside = (y >= lower) & (y <= upper)
    metrics["interval_coverage_80"] = float(inside[known].mean()) if known.any() else float("nan")
    per = (pl.DataFrame({"channel_id": ev["channel_id"], "m": np.abs(y - pred), "b": np.abs(y - base)})
           .group_by("channel_id").agg(pl.col("m").mean(), pl.col("b").mean()))
    metrics["channels_won"] = int((per["m"] < per["b"]).sum())
    metrics["channels_evaluated"] = per.height
    metrics["rows_from_baseline"] = int((~known).sum())
    g = gate(GATE_METRIC, metrics["mae"], base_mae, baseline_name=BASELINE_NAME, higher_is_better=False,
             required=GATE_REQUIRED)
    return TrainingResult(model=model, metrics=metrics, baseline_metrics=baseline_metrics, gate=g,
                          training_window=windows[0], evaluation_window=windows[1],
                          params=dict(model.params, eval_weeks=eval_weeks, min_train_posts=min_train_posts,
                                      min_eval_posts=min_eval_posts, label_delay_h=LABEL_DELAY.total_seconds() / 3600),
                          seed=seed, rows=rows, fingerprint=fp)


# -- recommendations --------------------------------------------------------------------------------------------

_NO_MODEL = "no best_time model has passed its gate yet; slots from the per-hour historical mean"


def _empty(schema: dict) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def _typical_posts(feats: pl.DataFrame, channels: list[int]) -> pl.DataFrame:
    """One row per (channel, weekday, hour) slot: the channel's typical post placed at the middle of that hour."""
    hist = feats.filter(pl.col("channel_id").is_in(channels) & ~pl.col("is_deleted").fill_null(False))
    content = (hist.filter(pl.col("content_type").is_not_null())
               .group_by("channel_id", "content_type").agg(n=pl.len())
               .sort(["channel_id", "n", "content_type"], descending=[False, True, False])
               .group_by("channel_id", maintain_order=True).agg(pl.col("content_type").first()))
    per = hist.group_by("channel_id").agg(
        text_length=pl.col("text_length").median(),
        n_posts=pl.len(),
        days=((pl.col("posted_at_local").max().dt.date() - pl.col("posted_at_local").min().dt.date())
              .dt.total_days() + 1).cast(pl.Float64),
    ).join(content, on="channel_id", how="left")
    grid = pl.DataFrame({"weekday": np.repeat(np.arange(7), 24).astype(np.int8),
                         "hour_int": np.tile(np.arange(24), 7).astype(np.int8)})
    slots = (pl.DataFrame({"channel_id": channels}, schema={"channel_id": pl.Int64}).join(grid, how="cross")
             .join(per, on="channel_id", how="left")
             .with_columns(hour=pl.col("hour_int").cast(pl.Float64) + 0.5))
    # mean posts per day before the slot's time (of the channel's local days), for posts_earlier_today
    before = (hist.select("channel_id", h=pl.col("hour"))
              .join(slots.select("channel_id", "hour").unique(), on="channel_id", how="inner", suffix="_slot")
              .group_by("channel_id", "hour").agg(n_before=(pl.col("h") < pl.col("hour")).sum()))
    return (slots.join(before, on=["channel_id", "hour"], how="left")
            .with_columns(is_forward=pl.lit(False),
                          posts_prev_24h=pl.col("n_posts") / pl.col("days"),
                          posts_earlier_today=pl.col("n_before").fill_null(0) / pl.col("days")))


def _observed(use: pl.DataFrame) -> pl.DataFrame:
    return (use.group_by("channel_id", "weekday", hour_int=pl.col("hour").floor().cast(pl.Int8))
            .agg(posts_observed=pl.len().cast(pl.Int32)))


def _model_slots(model: BestTimeModel, feats: pl.DataFrame, use: pl.DataFrame, channels: list[int],
                 model_version: str | None) -> pl.DataFrame:
    slots = _typical_posts(feats, channels)
    logp = model.predict_log(slots)
    smear = slots["channel_id"].replace_strict(model.smear, default=1.0, return_dtype=pl.Float64).to_numpy()
    rel = np.exp(logp["median"]) * smear
    hist_mean = use.group_by("channel_id").agg(hist_mean=pl.col("target").mean())
    return (slots.select("channel_id", "weekday", "hour_int")
            .with_columns(expected_relative_reach=pl.Series(rel),
                          relative_reach_lower=pl.Series(np.minimum(np.exp(logp["q10"]), rel)),
                          relative_reach_upper=pl.Series(np.maximum(np.exp(logp["q90"]), rel)),
                          source=pl.lit("model"), model_version=pl.lit(model_version, pl.Utf8))
            .join(hist_mean, on="channel_id", how="left")
            .with_columns(expected_reach_ratio=pl.col("expected_relative_reach") * pl.col("hist_mean")))


def _interval_ratios(use: pl.DataFrame) -> pl.DataFrame:
    """Each usable post's target over the baseline's leave-one-out prediction for it (its hour's mean without
    it, else its channel's mean without it): the spread of single posts around what the baseline says."""
    h = pl.col("hour").floor()
    s_h, n_h = pl.col("target").sum().over("channel_id", h), pl.len().over("channel_id", h)
    s_c, n_c = pl.col("target").sum().over("channel_id"), pl.len().over("channel_id")
    loo = (pl.when(n_h > 1).then((s_h - pl.col("target")) / (n_h - 1))
           .when(n_c > 1).then((s_c - pl.col("target")) / (n_c - 1)))
    return use.select("channel_id", ratio=pl.col("target") / loo).filter(pl.col("ratio").is_not_null())


def _baseline_slots(use: pl.DataFrame, channels: list[int], min_interval_posts: int = 20) -> pl.DataFrame:
    """channel_hour_mean over the whole history, weekday-independent; hours without posts get the channel mean.
    Interval: the 10th / 90th percentile of the channel's posts over the baseline's leave-one-out prediction
    (pooled over all channels when the channel has fewer than `min_interval_posts`; none if still too few)."""
    mine = use.filter(pl.col("channel_id").is_in(channels))
    ratios = _interval_ratios(use)
    lo, hi = INTERVAL
    per = ratios.group_by("channel_id").agg(q_lo=pl.col("ratio").quantile(lo, "linear"),
                                            q_hi=pl.col("ratio").quantile(hi, "linear"), n=pl.len())
    pooled = (ratios["ratio"].quantile(lo, "linear"), ratios["ratio"].quantile(hi, "linear")) \
        if ratios.height >= min_interval_posts else (None, None)
    per = per.with_columns(
        q_lo=pl.when(pl.col("n") >= min_interval_posts).then("q_lo").otherwise(pl.lit(pooled[0], pl.Float64)),
        q_hi=pl.when(pl.col("n") >= min_interval_posts).then("q_hi").otherwise(pl.lit(pooled[1], pl.Float64)))
    cm = mine.group_by("channel_id").agg(hist_mean=pl.col("target").mean())
    hm = mine.group_by("channel_id", hour_int=pl.col("hour").floor().cast(pl.Int8)).agg(hm=pl.col("target").mean())
    grid = pl.DataFrame({"weekday": np.repeat(np.arange(7), 24).astype(np.int8),
                         "hour_int": np.tile(np.arange(24), 7).astype(np.int8)})
    return (cm.join(grid, how="cross")
            .join(hm, on=["channel_id", "hour_int"], how="left")
            .join(per.select("channel_id", "q_lo", "q_hi"), on="channel_id", how="left")
            .with_columns(expected_reach_ratio=pl.coalesce("hm", "hist_mean"))
            .with_columns(expected_relative_reach=pl.col("expected_reach_ratio") / pl.col("hist_mean"))
            .with_columns(relative_reach_lower=pl.min_horizontal(pl.col("expected_relative_reach") * pl.col("q_lo"),
                                                                 "expected_relative_reach"),
                          relative_reach_upper=pl.max_horizontal(pl.col("expected_relative_reach") * pl.col("q_hi"),
                                                                 "expected_relative_reach"),
                          source=pl.lit("baseline"), model_version=pl.lit(None, pl.Utf8))
            .with_columns(pl.when(pl.col("q_lo").is_null()).then(None).otherwise("relative_reach_lower")
                          .alias("relative_reach_lower"),
                          pl.when(pl.col("q_hi").is_null()).then(None).otherwise("relative_reach_upper")
                          .alias("relative_reach_upper")))


def recommend(model: BestTimeModel | None, posts: pl.DataFrame, *, model_version: str | None, top_k: int = 3,
              min_posts: int = 30) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(slots, status): `ml.best_time_slots` and one status row per channel in `posts` (see the module docstring).

    slots hold all 168 (weekday, hour) slots of every channel that has a recommendation, ranked (1 = best; ties
    by more observed posts, then earlier in the week); readers take ``rank <= top_k``. A channel with fewer than
    `min_posts` usable posts is ``not_enough_data`` and gets baseline slots if it has any usable post, none
    otherwise. With ``model=None`` (or for a channel the model never saw) the baseline serves."""
    if not 1 <= top_k <= 168:
        raise ValueError("top_k must be between 1 and 168")
    if min_posts < 1:
        raise ValueError("min_posts must be at least 1")
    channels = sorted(posts["channel_id"].drop_nulls().unique().to_list()) if posts.height else []
    if not channels:
        return _empty(SLOTS_SCHEMA), _empty(STATUS_SCHEMA)
    feats = features(posts)
    use = feats.filter(pl.col("usable"))
    counts = dict(use.group_by("channel_id").len().iter_rows())
    with_views = set(posts.filter(pl.col("views_24h").is_not_null())["channel_id"].unique().to_list())
    status_rows, by_model, by_baseline = [], [], []
    for ch in channels:
        n = int(counts.get(ch, 0))
        if n < min_posts:
            reason = f"{n} posts with 24 h views; at least {min_posts} needed"
            if ch not in with_views:
                reason += " (no post has a 24 h view count: reach is unavailable, e.g. a Telegram Desktop export)"
            if n:
                reason += "; slots from the per-hour historical mean"
                by_baseline.append(ch)
            status_rows.append((ch, "not_enough_data", reason, "baseline" if n else None, None))
        elif model is None:
            by_baseline.append(ch)
            status_rows.append((ch, "baseline", _NO_MODEL, "baseline", None))
        elif ch not in model.channel_codes:
            by_baseline.append(ch)
            status_rows.append((ch, "baseline", "channel not in the model's training data (trained on posts before "
                                f"{model.trained_through[:10]}); slots from the per-hour historical mean",
                                "baseline", None))
        else:
            by_model.append(ch)
            status_rows.append((ch, "ok", None, "model", model_version))
    status = pl.DataFrame(
        {"channel_id": [r[0] for r in status_rows], "model": [MODEL_NAME] * len(status_rows),
         "status": [r[1] for r in status_rows], "reason": [r[2] for r in status_rows],
         "source": [r[3] for r in status_rows], "model_version": [r[4] for r in status_rows]},
        schema=STATUS_SCHEMA)
    parts = []
    if by_model:
        parts.append(_model_slots(model, feats, use, by_model, model_version))
    if by_baseline:
        parts.append(_baseline_slots(use, by_baseline))
    if not parts:
        return _empty(SLOTS_SCHEMA), status
    cols = ["channel_id", "weekday", "hour_int", "expected_reach_ratio", "expected_relative_reach",
            "relative_reach_lower", "relative_reach_upper", "source", "model_version"]
    slots = (pl.concat([p.select(cols) for p in parts], how="vertical_relaxed")
             .join(_observed(use), on=["channel_id", "weekday", "hour_int"], how="left")
             .with_columns(pl.col("posts_observed").fill_null(0))
             .sort(["channel_id", "expected_relative_reach", "posts_observed", "weekday", "hour_int"],
                   descending=[False, True, True, False, False], nulls_last=True)
             .with_columns(rank=(pl.int_range(pl.len()).over("channel_id") + 1), hour=pl.col("hour_int")))
    slots = slots.select([pl.col(c).cast(t) for c, t in SLOTS_SCHEMA.items()]).sort("channel_id", "rank")
    return slots, status
