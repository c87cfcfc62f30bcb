"""Per-channel forecasts of subscribers and daily reach with Prophet, 30 days ahead with an 80% interval
(`ml.channel_forecasts`). Pure Python: takes the `inputs.CHANNEL_DAILY_SQL` frame, never touches a database.

Each metric is its own gated model (`model_name(metric)`): "forecast_subscribers", "forecast_daily_reach".

What is trained
    Prophet is refit per channel on that channel's latest data, so the "model" is the configuration every channel
    is fitted with (`ForecastConfig`, picklable; `default_config` says what was chosen and why): subscribers with a
    linear trend (changepoint prior 0.2) and no seasonality; daily reach as log1p(y) (a multiplicative weekly
    pattern, never negative, heavy right tail) with a flat level and weekly seasonality; no yearly/daily
    seasonality (a few months of daily data); an 80% interval from 200 uncertainty samples. `train_and_evaluate`
    checks that configuration against the naive baseline in a rolling-origin backtest; `predict` refits it per
    channel on all history.

Baselines (also what serves while no version has passed its gate)
    subscribers  "last_value":     the last observed value, repeated.
    daily_reach  "seasonal_naive": the value of the same weekday in the last observed week, repeated (a missing
                                   value there falls back to that weekday one week earlier, then to the last value).
    Their 80% interval is the textbook one for these benchmark methods (Hyndman & Athanasopoulos, FPP3 5.5):
    yhat +- 1.2816 * sigma_h, with sigma the standard deviation of the method's in-sample residuals (first
    differences for last_value, week-on-week differences for seasonal_naive) and sigma_h = sigma * sqrt(h) for
    last_value, sigma * sqrt(ceil(h / 7)) for seasonal_naive; with fewer than two residuals sigma is the series'
    own standard deviation. Lower bounds are clipped at 0.

Backtest (rolling origin)
    Per channel, origins are placed relative to the channel's last complete day L: the first origin leaves exactly
    `horizon_days` days to evaluate (origin = L + 1 - horizon), the others are `origin_spacing_days` (14) earlier
    each, `n_origins` (3) in all; with 120 days of history the training windows are about 90, 76 and 62 days. An
    origin is used only when the history strictly before it has at least `min_days` non-null days and its horizon
    has at least one non-null actual. Prophet and the baseline see exactly the data before the origin and are scored
    on the same points. MAPE (`evaluation.mape`: points with actual 0 are left out) is pooled over all channels,
    origins and horizon days; per-origin MAPEs, MAE and the coverage of the 80% intervals are recorded too.
    When more than `max_backtest_channels` (48) channels qualify, a deterministic sample is backtested: the
    channels with the smallest sha256("<seed>:<channel_id>"), which does not depend on row order or process.
    Gate: Prophet's MAPE < the baseline's (`evaluation.gate(..., higher_is_better=False, required=1.0)`).
    No channel with enough history (or Prophet failing on every fit) -> `TrainingResult` with model=None, NaN
    metrics and a failing gate whose baseline_name says why; the baseline keeps serving. Not an exception, so that
    a small demo (e.g. 21 days) records a card instead of failing the run.

Data rules
    * Null (and NaN, infinite or negative) values are gaps, never zeros: Prophet is fitted on the observed days only
      (it handles missing ds), the baselines skip them.
    * Daily reach of a channel's first and last day is partial (collection starts and stops mid-day in the channel's
      time zone; the last day is usually "today"): those two days are left out of fitting and evaluation
      (`ForecastConfig.trim_partial_days`). Subscribers are a level (the day's last snapshot) and are kept.
    * Forecast dates are always the `horizon_days` days after the channel's last date in the frame (history_end).
    * Fewer than `min_days` non-null days -> status "not_enough_data"; the naive baseline is served when at least
      `min_baseline_days` (7) are there, otherwise no rows. Channels with reach_available = false (Telegram Desktop
      exports carry no views) get "not_enough_data" and no daily-reach rows.

Reproducibility: the MAP fit is deterministic given the data (fixed initial values, fixed cmdstan seed); the
uncertainty sampling uses numpy's global RNG, seeded per fit from sha256("<seed>:<metric>:<channel>:<origin>") and
restored afterwards, so results do not depend on channel order or on which worker process ran a fit.

Speed: the per-channel fits run in a pool of (at most) 2 spawned worker processes when there are many of them
(`n_jobs`; spawned workers import the caller's __main__, so a calling script needs the usual
`if __name__ == "__main__":` guard - without it the pool breaks and the fits run serially instead). cmdstan runs
L-BFGS (Prophet's default below 100 points is Newton, ~8x slower here). The component matrix Prophet rebuilds
with a pandas crosstab three times per fit is memoised (`_prophet_class`), which halves a fit's time. On `large`
(500 channels x 120 days) train_and_evaluate + predict of both metrics take ~120 s of CPU in all (144 backtest
fits and 500 serving fits per metric, ~0.09 s each), i.e. about a minute on 2 free cores; peak RSS ~250 MB in the
parent and ~200 MB per worker. cmdstanpy logs at CRITICAL only and prophet at ERROR (no per-fit chatter), and
cmdstan's output files are removed after each fit.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import warnings
from dataclasses import asdict, dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from models_ml.evaluation import (CHANNEL_STATUS_SCHEMA, NotEnoughData, TrainingResult, fingerprint, gate, mae,
                                  mape)

METRICS = ("subscribers", "daily_reach")
BASELINES = {"subscribers": "last_value", "daily_reach": "seasonal_naive"}
Z80 = 1.2815515655446004  # standard normal quantile 0.9: a central 80% interval
MIN_BASELINE_DAYS = 7
MAX_BACKTEST_CHANNELS = 48
N_ORIGINS = 3
ORIGIN_SPACING_DAYS = 14
PARALLEL_MIN_FITS = 40  # below this many fits, a pool's start-up (~2 s) costs more than it saves

FORECAST_SCHEMA = {
    "channel_id": pl.Int64, "metric": pl.Utf8, "date": pl.Date, "yhat": pl.Float64, "yhat_lower": pl.Float64,
    "yhat_upper": pl.Float64, "source": pl.Utf8, "model_version": pl.Utf8, "history_end": pl.Date,
}
STATUS_SCHEMA = CHANNEL_STATUS_SCHEMA


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"unknown forecast metric {metric!r}; expected one of {METRICS}")


def model_name(metric: str) -> str:
    _check_metric(metric)
    return f"forecast_{metric}"


@dataclass(frozen=True)
class ForecastConfig:
    """The Prophet set-up every channel of one metric is fitted with (the artifact of a forecast model)."""
    metric: str
    transform: str = "none"                  # "log1p": fit log(1 + y), forecast expm1 (never below 0)
    trim_partial_days: bool = False          # leave out each channel's first and last day
    growth: str = "linear"                   # "linear" | "flat"
    weekly_seasonality: bool = True
    yearly_seasonality: bool = False
    daily_seasonality: bool = False
    seasonality_mode: str = "additive"       # additive on log1p(y) is multiplicative on y
    changepoint_prior_scale: float = 0.05
    seasonality_prior_scale: float = 10.0
    n_changepoints: int = 25
    changepoint_range: float = 0.8
    interval_width: float = 0.8
    uncertainty_samples: int = 200
    algorithm: str = "LBFGS"


def default_config(metric: str) -> ForecastConfig:
    """The configuration per metric, chosen on the rolling-origin backtest of the demo data (8 channels, and the
    48-channel sample of the 500-channel `large` demo), pooled MAPE / 80% coverage:

    subscribers: linear trend, changepoint_prior_scale 0.2, no weekly seasonality (a level; its weekly pattern
        lives in the increments). MAPE was the same for 0.05/0.2/0.5 (0.016 demo, 0.021 large), coverage 0.56 at
        0.05 (intervals too narrow), 0.81/0.77 at 0.2; weekly seasonality on was marginally worse.
    daily_reach: log1p(y), flat trend + weekly seasonality, partial first/last days left out. A linear trend
        extrapolated over 30 days from 2-4 months of this noisy series lost to the level: MAPE demo/large 0.65/0.46
        (changepoint_prior_scale 0.05), 0.55/0.54 (0.2), 0.67/0.45 (0.01) against 0.52/0.39 flat (seasonal naive
        0.70/0.54); modelling y itself instead of log1p(y): 0.56/0.41.
    """
    _check_metric(metric)
    if metric == "daily_reach":
        return ForecastConfig(metric=metric, transform="log1p", trim_partial_days=True, growth="flat",
                              weekly_seasonality=True)
    return ForecastConfig(metric=metric, transform="none", trim_partial_days=False, growth="linear",
                          weekly_seasonality=False, changepoint_prior_scale=0.2)


# ---- series preparation ----------------------------------------------------------------------------------------

@dataclass
class _Series:
    channel_id: int
    start: date              # date of y[0]
    y: np.ndarray            # one value per calendar day from `start`, NaN = gap (after trimming partial days)
    history_end: date | None  # the channel's last date in the frame (None: no rows)
    reach_available: bool

    @property
    def n_obs(self) -> int:
        return int(np.isfinite(self.y).sum())

    def dates(self, lo: int = 0, hi: int | None = None) -> np.ndarray:
        hi = len(self.y) if hi is None else hi
        return np.datetime64(self.start, "D") + np.arange(lo, hi)


def _prepare(channel_daily: pl.DataFrame, metric: str, trim: bool) -> list[_Series]:
    """One dense daily series per channel. Nulls, NaN, infinities and negative values are gaps."""
    need = {"channel_id", "date", metric}
    missing = need - set(channel_daily.columns)
    if missing:
        raise ValueError(f"channel_daily lacks column(s) {sorted(missing)}")
    ra = (pl.col("reach_available").cast(pl.Boolean).fill_null(True) if "reach_available" in channel_daily.columns
          else pl.lit(True))
    v, y = pl.col(metric).cast(pl.Float64), pl.col("y")
    df = (channel_daily
          .select(pl.col("channel_id").cast(pl.Int64), pl.col("date").cast(pl.Date), v.alias("y"),
                  ra.alias("reach_available"))
          .filter(pl.col("channel_id").is_not_null() & pl.col("date").is_not_null())
          .with_columns(pl.when(y.is_finite() & (y >= -1e-6)).then(y.clip(lower_bound=0.0)).otherwise(None)
                        .alias("y"))
          .sort("channel_id", "date")
          # a repeated (channel, date) keeps its last non-null value
          .group_by("channel_id", "date", maintain_order=True)
          .agg(pl.col("y").drop_nulls().last(), pl.col("reach_available").all()))
    out = []
    for (cid,), part in df.partition_by("channel_id", as_dict=True, maintain_order=True).items():
        dates = part["date"].to_numpy().astype("datetime64[D]")
        first, last = dates[0], dates[-1]
        y = np.full(int((last - first).astype(int)) + 1, np.nan)
        y[(dates - first).astype(int)] = part["y"].to_numpy().astype(float)
        start = first
        if trim:
            y = y[1:-1]
            start = first + 1
        out.append(_Series(int(cid), start.astype(date), y, last.astype(date),
                           bool(part["reach_available"].all())))
    return out


# ---- the naive baselines -----------------------------------------------------------------------------------------

def naive_forecast(y_hist, steps, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The naive baseline `kind` ("last_value" | "seasonal_naive") for the days `steps` (1 = the day after the
    last entry of `y_hist`, a dense daily array with NaN for gaps). Returns (yhat, lower, upper), 80% interval,
    nothing below 0. Raises ValueError when y_hist has no finite value."""
    y = np.asarray(y_hist, dtype=float)
    steps = np.asarray(steps, dtype=int)
    finite = np.flatnonzero(np.isfinite(y))
    if finite.size == 0:
        raise ValueError("no observed value to extend")
    last_value = y[finite[-1]]
    n = len(y)
    if kind == "last_value":
        yhat = np.full(len(steps), last_value)
        resid = np.diff(y)
        spread = np.sqrt(steps.astype(float))
    elif kind == "seasonal_naive":
        yhat = np.empty(len(steps))
        for i, s in enumerate(steps):
            src = n - 1 + s - 7 * math.ceil(s / 7)  # latest index with the weekday of step s
            while src >= 0 and not np.isfinite(y[src]):
                src -= 7
            yhat[i] = y[src] if src >= 0 else last_value
        resid = y[7:] - y[:-7]
        spread = np.sqrt(np.ceil(steps / 7.0))
    else:
        raise ValueError(f"unknown baseline {kind!r}")
    resid = resid[np.isfinite(resid)]
    if resid.size >= 2:
        sigma = float(np.std(resid, ddof=1))
    elif finite.size >= 2:
        sigma = float(np.std(y[finite], ddof=1))
    else:
        sigma = 0.0
    half = Z80 * sigma * spread
    yhat = np.maximum(yhat, 0.0)
    return yhat, np.maximum(yhat - half, 0.0), yhat + half


# ---- Prophet -----------------------------------------------------------------------------------------------------

_QUIET = False


def _quiet_prophet() -> None:
    """Import prophet with cmdstanpy's logger at CRITICAL and prophet's at ERROR. cmdstanpy configures its logger
    at DEBUG with a stream handler on first use and logs every chain start/stop at INFO, and an ERROR line when
    L-BFGS stops abnormally - which prophet handles by refitting with Newton (its WARNING says so); a fit that
    still fails raises, and is recorded by the caller. prophet.plot logs an error at import when plotly is
    missing (plots are not used here)."""
    global _QUIET
    if _QUIET:
        return
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
    import prophet  # noqa: F401
    from cmdstanpy.utils import get_logger

    get_logger().setLevel(logging.CRITICAL)
    logging.getLogger("prophet").setLevel(logging.ERROR)
    _QUIET = True


_PROPHET_CLS = None
_COMPONENT_CACHE: dict = {}


def _prophet_class():
    """Prophet with one speed-up: the component indicator matrix (`regressor_column_matrix`, built with a pandas
    crosstab three times per fit-and-predict: about half the Python time of a fit here) is memoised. With no
    holidays and no extra regressors - always the case here; otherwise the original runs - it depends only on the
    feature column names, the modes and holidays_mode, which form the key. Results are identical."""
    global _PROPHET_CLS
    if _PROPHET_CLS is not None:
        return _PROPHET_CLS
    import copy

    _quiet_prophet()
    from prophet import Prophet

    class _Prophet(Prophet):
        def regressor_column_matrix(self, seasonal_features, modes):
            if self.train_holiday_names is not None or self.extra_regressors:
                return super().regressor_column_matrix(seasonal_features, modes)
            key = (tuple(seasonal_features.columns), self.holidays_mode,
                   tuple((m, tuple(modes[m])) for m in sorted(modes)))
            if key not in _COMPONENT_CACHE:
                _COMPONENT_CACHE[key] = super().regressor_column_matrix(seasonal_features, copy.deepcopy(modes))
            cols, new_modes = _COMPONENT_CACHE[key]
            modes.clear()
            modes.update(copy.deepcopy(new_modes))  # the original extends `modes` in place and returns it
            return cols.copy(), modes

    _PROPHET_CLS = _Prophet
    return _PROPHET_CLS


def _task_seed(*parts) -> int:
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:8], 16)


def _fit_predict(task: tuple) -> tuple:
    """Fit Prophet on (ds, y) and forecast the dates `future`: ("ok", yhat, lower, upper) on the original scale,
    or ("error", message). Runs in a worker process; everything in `task` is plain data."""
    cfg, ds, y, future, seed = task
    try:
        import pandas as pd

        Prophet = _prophet_class()
        yt = np.log1p(y) if cfg.transform == "log1p" else np.asarray(y, dtype=float)
        m = Prophet(growth=cfg.growth, weekly_seasonality=cfg.weekly_seasonality,
                    yearly_seasonality=cfg.yearly_seasonality, daily_seasonality=cfg.daily_seasonality,
                    seasonality_mode=cfg.seasonality_mode, changepoint_prior_scale=cfg.changepoint_prior_scale,
                    seasonality_prior_scale=cfg.seasonality_prior_scale, n_changepoints=cfg.n_changepoints,
                    changepoint_range=cfg.changepoint_range, interval_width=cfg.interval_width,
                    uncertainty_samples=cfg.uncertainty_samples)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            m.fit(pd.DataFrame({"ds": pd.to_datetime(ds), "y": yt}), algorithm=cfg.algorithm, seed=seed % 2**31)
            try:
                m.stan_backend.cleanup()  # cmdstan's csv/stdout files; otherwise kept until the process exits
            except Exception:  # pragma: no cover - only housekeeping
                pass
            state = np.random.get_state()
            np.random.seed(seed)
            try:
                fc = m.predict(pd.DataFrame({"ds": pd.to_datetime(future)}))
            finally:
                np.random.set_state(state)
        yhat, lo, hi = (fc[c].to_numpy(dtype=float) for c in ("yhat", "yhat_lower", "yhat_upper"))
        if cfg.transform == "log1p":
            yhat, lo, hi = np.expm1(yhat), np.expm1(lo), np.expm1(hi)
        if not (np.isfinite(yhat).all() and np.isfinite(lo).all() and np.isfinite(hi).all()):
            return ("error", "non-finite forecast")
        yhat = np.maximum(yhat, 0.0)
        lo = np.minimum(np.maximum(lo, 0.0), yhat)
        hi = np.maximum(hi, yhat)
        return ("ok", yhat, lo, hi)
    except Exception as e:  # a failed fit falls back to the baseline; the caller records why
        return ("error", f"{type(e).__name__}: {e}"[:300])


def _resolve_jobs(n_jobs: int | None, n_tasks: int) -> int:
    if n_jobs is None:
        if n_tasks < PARALLEL_MIN_FITS:
            return 1
        n_jobs = min(2, os.cpu_count() or 1)
    return max(1, min(int(n_jobs), n_tasks))


def _run(tasks: list[tuple], n_jobs: int | None) -> list[tuple]:
    jobs = _resolve_jobs(n_jobs, len(tasks))
    if jobs <= 1:
        return [_fit_predict(t) for t in tasks]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from concurrent.futures.process import BrokenProcessPool

    # spawn, not fork: the caller may hold threads (polars, DuckDB, Dagster) that a fork would copy mid-lock
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            return list(pool.map(_fit_predict, tasks, chunksize=max(1, len(tasks) // (jobs * 8))))
    except (BrokenProcessPool, OSError) as e:
        logging.getLogger(__name__).warning("forecast worker pool failed (%s); fitting serially", e)
        return [_fit_predict(t) for t in tasks]


# ---- backtest ----------------------------------------------------------------------------------------------------

def _sample_key(seed: int, channel_id: int) -> str:
    return hashlib.sha256(f"{seed}:{channel_id}".encode()).hexdigest()


def backtest(channel_daily: pl.DataFrame, *, metric: str, config: ForecastConfig | None = None,
             horizon_days: int = 30, n_origins: int = N_ORIGINS, origin_spacing_days: int = ORIGIN_SPACING_DAYS,
             min_days: int = 28, max_channels: int = MAX_BACKTEST_CHANNELS, seed: int = 7,
             n_jobs: int | None = None) -> tuple[pl.DataFrame, dict]:
    """Rolling-origin backtest of Prophet (with `config`) and the naive baseline. Returns one row per channel,
    origin and horizon day (channel_id, origin_index (0 = latest), origin (first forecast day; training data is
    strictly before it), date, h, actual, prophet, prophet_lower, prophet_upper, baseline, baseline_lower,
    baseline_upper; prophet is null where its fit failed) and a dict describing what was (not) used."""
    _check_metric(metric)
    cfg = config or default_config(metric)
    if cfg.metric != metric:
        raise ValueError(f"config is for {cfg.metric!r}, not {metric!r}")
    kind = BASELINES[metric]
    plans = []  # (series, k, origin index into y)
    eligible: dict[int, list] = {}
    skipped_reach = 0
    for s in _prepare(channel_daily, metric, cfg.trim_partial_days):
        if metric == "daily_reach" and not s.reach_available:
            skipped_reach += 1
            continue
        last = len(s.y) - 1
        for k in range(n_origins):
            o = last + 1 - horizon_days - k * origin_spacing_days
            if o <= 0 or int(np.isfinite(s.y[:o]).sum()) < min_days:
                break  # earlier origins have even less history
            if not np.isfinite(s.y[o:o + horizon_days]).any():
                continue
            eligible.setdefault(s.channel_id, []).append((s, k, o))
    chosen = sorted(eligible, key=lambda c: _sample_key(seed, c))[:max_channels]
    for cid in sorted(chosen):
        plans.extend(eligible[cid])
    tasks = []
    for s, k, o in plans:
        obs = np.flatnonzero(np.isfinite(s.y[:o]))
        tasks.append((cfg, s.dates()[obs], s.y[obs], s.dates(o, o + horizon_days),
                      _task_seed(seed, metric, s.channel_id, k)))
    results = _run(tasks, n_jobs)
    frames, errors = [], []
    steps = np.arange(1, horizon_days + 1)
    for (s, k, o), res in zip(plans, results):
        b, bl, bu = naive_forecast(s.y[:o], steps, kind)
        if res[0] == "ok":
            p, pl_, pu = res[1:]
        else:
            errors.append(f"{s.channel_id}@{k}: {res[1]}")
            p = pl_ = pu = np.full(horizon_days, np.nan)
        frames.append(pl.DataFrame({
            "channel_id": np.full(horizon_days, s.channel_id, dtype=np.int64),
            "origin_index": np.full(horizon_days, k, dtype=np.int64),
            "origin": np.full(horizon_days, s.dates(o, o + 1)[0]),
            "date": s.dates(o, o + horizon_days), "h": steps.astype(np.int64),
            "actual": s.y[o:o + horizon_days], "prophet": p, "prophet_lower": pl_, "prophet_upper": pu,
            "baseline": b, "baseline_lower": bl, "baseline_upper": bu,
        }, nan_to_null=True))
    schema = {"channel_id": pl.Int64, "origin_index": pl.Int64, "origin": pl.Date, "date": pl.Date, "h": pl.Int64,
              **{c: pl.Float64 for c in ("actual", "prophet", "prophet_lower", "prophet_upper", "baseline",
                                         "baseline_lower", "baseline_upper")}}
    points = (pl.concat([f.cast(schema) for f in frames]) if frames else pl.DataFrame(schema=schema))
    info = {"eligible_channels": len(eligible), "channels": len(chosen), "fits": len(tasks),
            "failed_fits": len(errors), "errors": errors[:5], "sampled": len(eligible) > len(chosen),
            "skipped_reach_unavailable": skipped_reach}
    return points, info


def _scores(points: pl.DataFrame, pred: str) -> dict:
    ok = points.filter(pl.col("actual").is_not_null() & pl.col("prophet").is_not_null())
    a = ok["actual"].to_numpy()
    f, lo, hi = (ok[c].to_numpy() for c in (pred, f"{pred}_lower", f"{pred}_upper"))
    by_origin = []
    for (k,), part in ok.partition_by("origin_index", as_dict=True, maintain_order=False).items():
        try:
            m = mape(part["actual"], part[pred])
        except NotEnoughData:  # only zero actuals at this origin
            m = None
        by_origin.append({"origin_index": int(k), "mape": m, "channels": part["channel_id"].n_unique(),
                          "points": part.height})
    return {"mape": mape(a, f), "mae": mae(a, f), "coverage_80": float(np.mean((lo <= a) & (a <= hi))),
            "points": int(len(a)), "by_origin": sorted(by_origin, key=lambda r: r["origin_index"])}


def train_and_evaluate(channel_daily: pl.DataFrame, *, metric: str, horizon_days: int = 30, seed: int = 7,
                       min_days: int = 28, config: ForecastConfig | None = None,
                       max_backtest_channels: int = MAX_BACKTEST_CHANNELS, n_jobs: int | None = None
                       ) -> TrainingResult:
    """Backtest the Prophet configuration for `metric` against its naive baseline (see the module docstring) and
    return it as the model when anything could be evaluated."""
    _check_metric(metric)
    cfg = config or default_config(metric)
    kind = BASELINES[metric]
    points, info = backtest(channel_daily, metric=metric, config=cfg, horizon_days=horizon_days, min_days=min_days,
                            max_channels=max_backtest_channels, seed=seed, n_jobs=n_jobs)
    params = dict(asdict(cfg), horizon_days=horizon_days, n_origins=N_ORIGINS,
                  origin_spacing_days=ORIGIN_SPACING_DAYS, min_days=min_days,
                  max_backtest_channels=max_backtest_channels,
                  channel_sample="smallest sha256('<seed>:<channel_id>') when more channels qualify")
    dates = channel_daily["date"].cast(pl.Date).drop_nulls() if channel_daily.height else pl.Series([], dtype=pl.Date)
    training_window = ({"start": dates.min().isoformat(), "end": (dates.max() + timedelta(days=1)).isoformat()}
                       if len(dates) else {"start": None, "end": None})
    scored = points.filter(pl.col("actual").is_not_null() & pl.col("prophet").is_not_null()
                           & (pl.col("actual") != 0))
    reason = None
    if not info["eligible_channels"]:
        reason = (f"not enough data: no channel has {min_days} days of {metric} history before a backtest origin "
                  f"{horizon_days} days before its end ({min_days + horizon_days} days in all)")
    elif scored.is_empty():
        reason = ("not enough data: Prophet failed on every backtest fit" if info["failed_fits"] == info["fits"]
                  else "not enough data: no non-zero actual value in any backtest horizon")
    if reason:
        return TrainingResult(
            model=None, metrics={"status": "not_enough_data", "reason": reason, **info},
            baseline_metrics={kind: {}},
            gate=gate("mape", float("nan"), float("nan"), baseline_name=f"{kind} ({reason})",
                      higher_is_better=False, required=1.0),
            training_window=training_window, evaluation_window={"start": None, "end": None}, params=params,
            seed=seed, rows={"train": 0, "evaluate": 0, "channels": 0, "fits": info["fits"]},
            fingerprint=fingerprint(channel_daily))
    model_scores = _scores(points, "prophet")
    base_scores = _scores(points, "baseline")
    metrics = {**model_scores, "status": "ok", "channels": info["channels"],
               "eligible_channels": info["eligible_channels"], "sampled": info["sampled"],
               "origins": int(points["origin_index"].n_unique()), "fits": info["fits"],
               "failed_fits": info["failed_fits"], "fit_errors": info["errors"]}
    ev = points["date"]
    return TrainingResult(
        model=cfg, metrics=metrics, baseline_metrics={kind: base_scores},
        gate=gate("mape", model_scores["mape"], base_scores["mape"], baseline_name=kind, higher_is_better=False,
                  required=1.0),
        training_window=training_window,
        evaluation_window={"start": points["origin"].min().isoformat(),
                           "end": (ev.max() + timedelta(days=1)).isoformat()},
        params=params, seed=seed,
        rows={"train": _train_obs(channel_daily, metric, cfg, set(points["channel_id"].to_list())),
              "evaluate": model_scores["points"], "channels": info["channels"], "fits": info["fits"]},
        fingerprint=fingerprint(channel_daily))


def _train_obs(channel_daily: pl.DataFrame, metric: str, cfg: ForecastConfig, channels: set) -> int:
    return sum(s.n_obs for s in _prepare(channel_daily, metric, cfg.trim_partial_days) if s.channel_id in channels)


# ---- predict -----------------------------------------------------------------------------------------------------

def predict(model: ForecastConfig | None, channel_daily: pl.DataFrame, *, metric: str, model_version: str | None,
            horizon_days: int = 30, min_days: int = 28, seed: int = 7, min_baseline_days: int = MIN_BASELINE_DAYS,
            n_jobs: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Forecast `metric` for every channel in `channel_daily`: (forecasts, status), see the module docstring.
    model None (no version has passed its gate) -> the naive baseline serves every channel."""
    _check_metric(metric)
    if model is not None and model.metric != metric:
        raise ValueError(f"model is a {model.metric!r} forecast, not {metric!r}")
    kind = BASELINES[metric]
    name = model_name(metric)
    trim = model.trim_partial_days if model is not None else default_config(metric).trim_partial_days
    series = _prepare(channel_daily, metric, trim)
    status: dict[int, dict] = {}
    serve_naive: list[_Series] = []
    tasks, task_series = [], []
    for s in series:
        row = {"channel_id": s.channel_id, "model": name, "status": "ok", "reason": None, "source": None,
               "model_version": None}
        status[s.channel_id] = row
        n = s.n_obs
        if metric == "daily_reach" and not s.reach_available:
            row.update(status="not_enough_data",
                       reason="daily reach is not available for this channel's source (a Telegram Desktop export "
                              "has no view counts)")
        elif n < min_days:
            row.update(status="not_enough_data",
                       reason=f"{n} day{'' if n == 1 else 's'} of {metric} history; at least {min_days} needed")
            if n >= min_baseline_days:
                row["reason"] += f"; naive {kind} serves"
                row["source"] = "naive"
                serve_naive.append(s)
        elif model is None:
            row.update(status="baseline", source="naive",
                       reason=f"no {name} version has passed its gate; naive {kind} serves")
            serve_naive.append(s)
        else:
            obs = np.flatnonzero(np.isfinite(s.y))
            future = np.datetime64(s.history_end, "D") + np.arange(1, horizon_days + 1)
            tasks.append((model, s.dates()[obs], s.y[obs], future, _task_seed(seed, metric, s.channel_id, "serve")))
            task_series.append(s)
    frames = []
    for s, res in zip(task_series, _run(tasks, n_jobs)):
        if res[0] == "ok":
            status[s.channel_id].update(source="prophet", model_version=model_version)
            frames.append(_rows(s, metric, *res[1:], "prophet", model_version, horizon_days))
        else:
            status[s.channel_id].update(status="baseline", source="naive",
                                        reason=f"Prophet failed ({res[1]}); naive {kind} serves")
            serve_naive.append(s)
    for s in serve_naive:
        # steps from the last entry of the (trimmed) series to the days after history_end
        gap = (s.history_end - s.start).days - (len(s.y) - 1)
        yhat, lo, hi = naive_forecast(s.y, np.arange(1, horizon_days + 1) + gap, kind)
        frames.append(_rows(s, metric, yhat, lo, hi, "naive", None, horizon_days))
    forecasts = (pl.concat(frames).sort("channel_id", "date") if frames else pl.DataFrame(schema=FORECAST_SCHEMA))
    st = (pl.DataFrame([status[c] for c in sorted(status)], schema=STATUS_SCHEMA) if status
          else pl.DataFrame(schema=STATUS_SCHEMA))
    return forecasts, st


def _rows(s: _Series, metric: str, yhat, lo, hi, source: str, version: str | None, horizon: int) -> pl.DataFrame:
    return pl.DataFrame({
        "channel_id": np.full(horizon, s.channel_id, dtype=np.int64), "metric": [metric] * horizon,
        "date": np.datetime64(s.history_end, "D") + np.arange(1, horizon + 1),
        "yhat": np.asarray(yhat, dtype=float), "yhat_lower": np.asarray(lo, dtype=float),
        "yhat_upper": np.asarray(hi, dtype=float), "source": [source] * horizon, "model_version": [version] * horizon,
        "history_end": [s.history_end] * horizon,
    }, schema=FORECAST_SCHEMA)
