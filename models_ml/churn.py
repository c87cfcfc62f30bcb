"""Churn risk: which paying customers will not renew, and why.

**Label** (DESIGN.md): a paid period *churns* when the customer has no paid renewal within 30 days after it ends,
i.e. no later payment that extends their paid time past that end, paid by end + 30 days. Ends that fall inside
another paid period of the same customer (an annual plan next to a monthly one) are not decision points and are
left out. Only ends at least 30 days before the data's "now" (`data_as_of`) are labelled.

**Point in time.** Each example is cut a week before its period ends (`LEAD_DAYS`): every feature is computed
from rows timed strictly before the cutoff (payments by `paid_at`, failures by `failed_at`, a day of product
usage once the day is over), through as-of joins on cumulative counts, so nothing after the cutoff can leak
in; `tests/models_ml/test_churn.py` alters everything after a cutoff and checks the features stay put.
Scoring cuts at `as_of` instead, for every paying customer whose renewal is due within `SCORE_WITHIN_DAYS`:
the model was trained a week before renewal, and `days_to_end` tells it how far the renewal is.

**Known outcomes are not predictions.** A Stripe customer who already asked to cancel at period end is leaving;
such examples are left out of training and evaluation, and scoring reports them with status
`cancellation_requested` (probability 1) instead of a model score.

**Out-of-time split** by period end: the oldest ends train, the next `VALID_DAYS` early-stop LightGBM and
calibrate it (Platt scaling on the validation margin: isotonic needs far more positives than a small customer
base has), the newest `TEST_DAYS` evaluate. Metrics: PR AUC (average precision), ROC AUC, Brier score and lift in
the top decile, for the model and two baselines on the same test rows: a *recency rule* (days since the
customer last used the product, Platt-calibrated the same way) and *logistic regression* on the same features
(median-imputed with missing-value indicators, standardised, one-hot categories). The model ships only when
its PR AUC is at least `GATE_RATIO` x the better baseline's.

**Reasons** are LightGBM's own SHAP values (`pred_contrib=True`): a customer's three features that push the
score up the most, written as sentences with the customer's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
import polars as pl

from models_ml.evaluation import (NotEnoughData, TrainingResult, classification_metrics, fingerprint, gate)
from models_ml.inputs import ChurnInputs

MODEL_NAME = "churn"
LABEL_DAYS = 30
LEAD_DAYS = 7
VALID_DAYS = 75
TEST_DAYS = 120
GATE_RATIO = 1.2
SCORE_WITHIN_DAYS = 45  # scored: paying customers whose renewal is due within this many days
MIN_POSITIVES = 5  # per split: fewer and PR AUC is noise

GATEWAYS = ("stripe", "payme", "click")
TIERS = ("pro", "business")
CATEGORICAL = ("gateway_code", "tier_code")
NUMERIC = (
    "tenure_days", "periods_paid", "days_to_end", "yearly", "amount_usd", "price_ratio", "upgraded_last",
    "downgraded_last", "reactivations", "refunds", "disputes", "failures_total", "failures_90d",
    "days_since_failure", "events_7d", "events_14d", "events_30d", "events_90d", "active_days_14d",
    "active_days_30d", "active_days_90d", "days_since_activity", "activity_trend", "miniapp_30d", "reports_30d",
    "channels_connected",
)
FEATURES = NUMERIC + CATEGORICAL

LGB_PARAMS = {
    # Small trees: depth 3 / 7 leaves / 40 rows a leaf scored best on the validation window (a few hundred churns
    # to learn from), and TreeSHAP costs leaves x depth^2 per tree and row, and reasons come with every score.
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 7, "max_depth": 3, "min_data_in_leaf": 40,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    "deterministic": True, "force_row_wise": True, "num_threads": 2, "verbose": -1,
}
MAX_ROUNDS, EARLY_STOP = 600, 40


# -- data: decision points, labels, point-in-time features ----------------------------------------------------
def data_as_of(inputs: ChurnInputs) -> datetime:
    """The "now" of the data: its newest payment, failure or day of usage."""
    candidates = [
        inputs.periods["paid_at"].max(), inputs.failures["failed_at"].max() if inputs.failures.height else None,
        inputs.money["occurred_at"].max() if inputs.money.height else None,
    ]
    if inputs.activity.height:
        last_day = inputs.activity["activity_date"].max()
        candidates.append(datetime(last_day.year, last_day.month, last_day.day) + timedelta(days=1))
    candidates = [c for c in candidates if c is not None]
    if not candidates:
        raise NotEnoughData("no paid periods, failures or usage at all: nothing to learn churn from")
    return max(candidates)


def labelled_examples(periods: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """One row per decision point (customer_id, period_end) whose 30-day renewal window has closed by `as_of`:
    cutoff = period_end - LEAD_DAYS and `churned` (1 = no renewal)."""
    if periods.is_empty():
        return pl.DataFrame(schema={"customer_id": pl.Utf8, "period_end": pl.Datetime("us"),
                                    "cutoff": pl.Datetime("us"), "churned": pl.Int8})
    ends = periods.select("customer_id", "period_end").unique()
    ends = ends.filter(pl.col("period_end") + timedelta(days=LABEL_DAYS) <= as_of)
    pairs = ends.join(periods.select("customer_id", q_start="period_start", q_end="period_end",
                                     q_paid="paid_at"), on="customer_id")
    day = timedelta(days=1)
    flags = pairs.group_by("customer_id", "period_end").agg(
        inside=((pl.col("q_start") < pl.col("period_end") - day) & (pl.col("q_end") > pl.col("period_end") + day)).any(),
        renewed=((pl.col("q_end") > pl.col("period_end") + day)
                 & (pl.col("q_paid") <= pl.col("period_end") + timedelta(days=LABEL_DAYS))).any(),
    )
    return (flags.filter(~pl.col("inside"))
            .select("customer_id", "period_end",
                    cutoff=pl.col("period_end") - timedelta(days=LEAD_DAYS),
                    churned=(~pl.col("renewed")).cast(pl.Int8))
            .sort("period_end", "customer_id"))


def scoring_population(periods: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """Customers whose paid time covers `as_of` and ends within `SCORE_WITHIN_DAYS`: one row each, with the end
    of that paid time. The model learnt renewals a week ahead; a yearly customer whose renewal is months away is
    not its question yet (scoring them anyway extrapolated far outside what it saw)."""
    covering = periods.filter((pl.col("period_start") <= as_of) & (pl.col("period_end") > as_of))
    return (covering.group_by("customer_id").agg(pl.col("period_end").max())
            .filter(pl.col("period_end") <= as_of + timedelta(days=SCORE_WITHIN_DAYS))
            .with_columns(cutoff=pl.lit(as_of, dtype=pl.Datetime("us")))
            .sort("customer_id"))


class _Timeline:
    """One kind of event of many customers on a single sorted axis, key = (customer code << 32) | UNIX second,
    so that "everything of this customer strictly before t" is one binary search (`np.searchsorted`) and running
    totals answer window sums by subtraction. Times are floored to whole seconds on both sides (events and cut-offs),
    which can only drop an event of the same second as the cut-off, never admit a later one."""

    def __init__(self, frame: pl.DataFrame, time_col: str, codes: pl.DataFrame, sums: tuple[str, ...] = ()):
        f = (frame.join(codes, on="customer_id", how="inner")
             .with_columns(_key=(pl.col("cid").cast(pl.Int64) * (1 << 32))
                           + pl.col(time_col).cast(pl.Datetime("us")).dt.epoch("us") // 1_000_000)
             .sort("_key", maintain_order=True))  # polars sorts on both cores
        self.key = f["_key"].to_numpy()
        self.frame = f
        self.cum = {name: np.concatenate([[0], np.cumsum(f[name].fill_null(0).to_numpy())]) for name in sums}
        self.cum["n"] = np.arange(f.height + 1)

    def _pos(self, cust: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.key, (cust << 32) | seconds, side="left")

    def total(self, name: str, cust: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        """Sum of `name` over the customer's events strictly before `seconds`."""
        c = self.cum[name]
        return c[self._pos(cust, seconds)] - c[self._pos(cust, np.zeros_like(seconds))]

    def window(self, name: str, cust: np.ndarray, seconds: np.ndarray, width: timedelta) -> np.ndarray:
        """Sum over [seconds - width, seconds)."""
        c = self.cum[name]
        return c[self._pos(cust, seconds)] - c[self._pos(cust, seconds - int(width.total_seconds()))]

    def last(self, cust: np.ndarray, seconds: np.ndarray, columns: list[str]) -> pl.DataFrame:
        """The customer's newest event strictly before `seconds` (its `columns`), nulls where there is none."""
        idx = self._pos(cust, seconds) - 1
        valid = idx >= self._pos(cust, np.zeros_like(seconds))
        taken = self.frame.select(columns)[np.where(valid, idx, 0).clip(0)] if self.frame.height else \
            pl.DataFrame({c: [None] * len(idx) for c in columns}, schema={c: self.frame.schema[c] for c in columns})
        mask = pl.Series(valid)
        return taken.with_columns(**{c: pl.when(mask).then(pl.col(c)) for c in columns})


def _seconds(column: pl.Series) -> np.ndarray:
    return (column.cast(pl.Datetime("us")).dt.epoch("us").to_numpy() // 1_000_000).astype(np.int64)


def features_at(inputs: ChurnInputs, keys: pl.DataFrame) -> pl.DataFrame:
    """Features of each (customer_id, cutoff, period_end) row in `keys`, from rows strictly before the cutoff.
    Returns `keys`' columns plus FEATURES, in `keys`' order (plus gateway, plan_code and last_paid_at)."""
    # Integer codes of the customers in `keys` alone: nobody else's rows can matter.
    codes = keys.select("customer_id").unique(maintain_order=True).with_row_index("cid")
    cust = keys["customer_id"].replace_strict(codes["customer_id"], codes["cid"]).to_numpy().astype(np.int64)
    at = _seconds(keys["cutoff"])
    day = timedelta(days=1)

    # payments of full periods (a proration line is a part-period top-up, not a renewal or a price)
    full = inputs.periods.filter(~pl.col("is_proration")).sort("customer_id", "paid_at")
    tier_rank = pl.col("plan_code").str.starts_with("business").cast(pl.Int8)
    full = full.with_columns(
        n=pl.int_range(1, pl.len() + 1).over("customer_id"),
        prev_amount=pl.col("amount_usd").shift(1).over("customer_id"),
        prev_tier=tier_rank.shift(1).over("customer_id"),
        prev_end=pl.col("period_end").shift(1).over("customer_id"),
        tier=tier_rank,
        first_paid=pl.col("paid_at").min().over("customer_id"),
    ).with_columns(
        reactivated=(pl.col("paid_at") > pl.col("prev_end") + timedelta(days=LABEL_DAYS)).fill_null(False)
        .cast(pl.Int32).cum_sum().over("customer_id"),
    )
    pay = _Timeline(full, "paid_at", codes).last(cust, at, [
        "paid_at", "n", "gateway", "plan_code", "amount_usd", "prev_amount", "prev_tier", "tier", "first_paid",
        "reactivated", "period_start", "period_end"]).rename(lambda c: c + "_p")

    money = _Timeline(inputs.money.with_columns(
        refunds=(pl.col("movement_type") == "refund").cast(pl.Int64),
        disputes=(pl.col("movement_type") == "dispute").cast(pl.Int64)), "occurred_at", codes,
        ("refunds", "disputes"))
    fails = _Timeline(inputs.failures, "failed_at", codes)
    # A day of usage counts once it is over, from the next midnight (UTC): known at a cut-off at or after it.
    # Usage is only read in windows of up to 90 days and for the newest day, so of the days before every window
    # each customer's newest one is enough (scoring cuts everyone at one instant: most rows drop out).
    usage = inputs.activity.with_columns(
        available_at=pl.col("activity_date").cast(pl.Datetime("us")) + day, days=pl.lit(1, dtype=pl.Int64))
    oldest_window = keys["cutoff"].min() - timedelta(days=91)
    usage = pl.concat([
        usage.filter(pl.col("available_at") < oldest_window)
        .filter(pl.col("available_at") == pl.col("available_at").max().over("customer_id")),
        usage.filter(pl.col("available_at") >= oldest_window)])
    act = _Timeline(usage, "available_at", codes, ("events", "days", "miniapp_opens", "reports_viewed"))
    known = at + 1
    chans = _Timeline(inputs.channels, "registered_at", codes)
    cancels = _Timeline(inputs.cancellations, "requested_at", codes).last(cust, at, ["requested_at", "withdrawn_at"])

    def win(name: str, days: int) -> np.ndarray:
        return act.window(name, cust, known, timedelta(days=days)).astype(float)

    numbers = {
        "refunds": money.total("refunds", cust, at), "disputes": money.total("disputes", cust, at),
        "failures_total": fails.total("n", cust, at),
        "failures_90d": fails.window("n", cust, at, timedelta(days=90)),
        "events_7d": win("events", 7), "events_14d": win("events", 14), "events_30d": win("events", 30),
        "events_90d": win("events", 90), "active_days_14d": win("days", 14), "active_days_30d": win("days", 30),
        "active_days_90d": win("days", 90), "miniapp_30d": win("miniapp_opens", 30),
        "reports_30d": win("reports_viewed", 30), "channels_connected": chans.total("n", cust, at),
    }
    numbers["activity_trend"] = numbers["events_30d"] / (numbers["events_90d"] / 3.0 + 1.0)
    frame = pl.concat([keys, pay, fails.last(cust, at, ["failed_at"]), act.last(cust, known, ["available_at"]),
                       cancels, pl.DataFrame({k: np.asarray(v, dtype=float) for k, v in numbers.items()})],
                      how="horizontal")

    def since(col: str) -> pl.Expr:
        return (pl.col("cutoff") - pl.col(col)).dt.total_seconds() / 86_400.0

    return frame.select(
        *keys.columns,
        tenure_days=since("first_paid_p"),
        periods_paid=pl.col("n_p").fill_null(0).cast(pl.Float64),
        days_to_end=(pl.col("period_end") - pl.col("cutoff")).dt.total_seconds() / 86_400.0,
        yearly=((pl.col("period_end_p") - pl.col("period_start_p")).dt.total_days() > 200).cast(pl.Float64),
        amount_usd=pl.col("amount_usd_p"),
        price_ratio=pl.col("amount_usd_p") / pl.col("prev_amount_p"),
        upgraded_last=(pl.col("tier_p") > pl.col("prev_tier_p")).cast(pl.Float64),
        downgraded_last=(pl.col("tier_p") < pl.col("prev_tier_p")).cast(pl.Float64),
        reactivations=pl.col("reactivated_p").cast(pl.Float64),
        days_since_failure=since("failed_at"),
        days_since_activity=since("available_at"),
        gateway_code=pl.col("gateway_p").replace_strict(GATEWAYS, list(range(len(GATEWAYS))), default=None)
        .cast(pl.Float64),
        tier_code=pl.col("tier_p").cast(pl.Float64),
        *numbers.keys(),
        last_paid_at=pl.col("paid_at_p"),
        gateway=pl.col("gateway_p"), plan_code=pl.col("plan_code_p"),
        # a cancellation request after the latest payment, not withdrawn by the cut-off: a known outcome
        cancel_pending=(pl.col("requested_at").is_not_null() & (pl.col("requested_at") >= pl.col("paid_at_p"))
                        & (pl.col("withdrawn_at").is_null() | (pl.col("withdrawn_at") >= pl.col("cutoff"))))
        .fill_null(False),
    )


# -- the model -----------------------------------------------------------------------------------------------
@dataclass
class Platt:
    """p = sigmoid(a * margin + b), fitted on held-out margins."""
    a: float = 1.0
    b: float = 0.0

    @classmethod
    def fit(cls, margin: np.ndarray, y: np.ndarray) -> "Platt":
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1e6, max_iter=1000).fit(margin.reshape(-1, 1), y)
        return cls(float(lr.coef_[0, 0]), float(lr.intercept_[0]))

    def __call__(self, margin: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.a * margin + self.b)))


def _matrix(frame: pl.DataFrame) -> np.ndarray:
    return frame.select([pl.col(c).cast(pl.Float64) for c in FEATURES]).to_numpy()


def _recency_margin(frame: pl.DataFrame) -> np.ndarray:
    """The recency rule: the longer since the customer last used the product, the riskier. Never used it
    ranks as riskiest (its tenure plus a year)."""
    return frame.select(pl.col("days_since_activity").fill_null(pl.col("tenure_days").fill_null(0) + 365.0)
                        .fill_nan(365.0))["days_since_activity"].to_numpy().astype(float)


def _logistic_pipeline(seed: int):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    n_num = len(NUMERIC)
    prep = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True,
                                                   keep_empty_features=True)),
                          ("scale", StandardScaler())]), list(range(n_num))),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="constant", fill_value=-1)),
                          ("onehot", OneHotEncoder(handle_unknown="ignore"))]),
         list(range(n_num, n_num + len(CATEGORICAL)))),
    ])
    return Pipeline([("prep", prep), ("lr", LogisticRegression(C=1.0, max_iter=5000, random_state=seed))])


@dataclass
class ChurnModel:
    booster_text: str                      # LightGBM model as text: stable to pickle across versions
    calibration: Platt
    recency_calibration: Platt
    logistic: object                       # fitted scikit-learn pipeline
    best_baseline: str                     # "recency_rule" | "logistic_regression": what serves without a model
    features: tuple[str, ...] = FEATURES
    _booster: object = field(default=None, repr=False, compare=False)

    def booster(self):
        if self._booster is None:
            import lightgbm as lgb

            self._booster = lgb.Booster(model_str=self.booster_text)
        return self._booster

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_booster"] = None
        return state

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        margin = self.booster().predict(_matrix(frame), raw_score=True)
        return self.calibration(margin)

    def predict_with_contributions(self, frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probabilities and SHAP values per feature (log-odds, without the bias column), from one
        pass: the raw margin is the sum of the contributions and the bias."""
        contrib = self.booster().predict(_matrix(frame), pred_contrib=True)
        return self.calibration(contrib.sum(axis=1)), contrib[:, :-1]

    def predict_baseline(self, frame: pl.DataFrame, name: str | None = None) -> np.ndarray:
        name = name or self.best_baseline
        if name == "recency_rule":
            return self.recency_calibration(_recency_margin(frame))
        return self.logistic.predict_proba(_matrix(frame))[:, 1]


def _split(examples: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict]:
    last = examples["period_end"].max()
    test_from = last - timedelta(days=TEST_DAYS)
    valid_from = test_from - timedelta(days=VALID_DAYS)
    train = examples.filter(pl.col("period_end") <= valid_from)
    valid = examples.filter((pl.col("period_end") > valid_from) & (pl.col("period_end") <= test_from))
    test = examples.filter(pl.col("period_end") > test_from)
    windows = {"train": (examples["period_end"].min(), valid_from), "valid": (valid_from, test_from),
               "test": (test_from, last)}
    for name, part in (("training", train), ("validation", valid), ("evaluation", test)):
        if part.is_empty():
            raise NotEnoughData(f"the {name} window has no labelled period ends "
                                f"({examples.height} in all, ending {examples['period_end'].min()} .. {last})")
        positives = int(part["churned"].sum())
        if positives < MIN_POSITIVES or positives == part.height:
            kind = "churned" if positives else "renewed"
            raise NotEnoughData(
                f"the {name} window has {positives} churned of {part.height} period ends"
                + (f" (all {kind})" if positives in (0, part.height) else "")
                + f"; at least {MIN_POSITIVES} of each class are needed")
    return train, valid, test, windows


def training_frame(inputs: ChurnInputs, as_of: datetime) -> pl.DataFrame:
    """Labelled examples with their features, known outcomes (pending cancellations) removed."""
    examples = labelled_examples(inputs.periods, as_of)
    if examples.is_empty():
        raise NotEnoughData(f"no paid period ended at least {LABEL_DAYS} days before {as_of:%Y-%m-%d}: "
                            "no churn label is known yet")
    frame = features_at(inputs, examples)
    return frame.filter(~pl.col("cancel_pending"))


def train_and_evaluate(inputs: ChurnInputs, *, as_of: datetime, seed: int = 7) -> TrainingResult:
    import lightgbm as lgb

    frame = training_frame(inputs, as_of)
    train, valid, test, windows = _split(frame)
    y_tr, y_va, y_te = (p["churned"].to_numpy() for p in (train, valid, test))
    params = dict(LGB_PARAMS, seed=seed)
    booster = lgb.train(params, lgb.Dataset(_matrix(train), y_tr, feature_name=list(FEATURES),
                                            categorical_feature=list(CATEGORICAL), free_raw_data=True),
                        num_boost_round=MAX_ROUNDS,
                        valid_sets=[lgb.Dataset(_matrix(valid), y_va, categorical_feature=list(CATEGORICAL))],
                        callbacks=[lgb.early_stopping(EARLY_STOP, verbose=False)])
    calibration = Platt.fit(booster.predict(_matrix(valid), raw_score=True), y_va)
    recency = Platt.fit(_recency_margin(valid), y_va)
    logistic = _logistic_pipeline(seed).fit(_matrix(train), y_tr)

    model = ChurnModel(booster_text=booster.model_to_string(), calibration=calibration,
                       recency_calibration=recency, logistic=logistic, best_baseline="")
    metrics = classification_metrics(y_te, model.predict(test))
    metrics["best_iteration"] = int(booster.best_iteration)
    baselines = {name: classification_metrics(y_te, model.predict_baseline(test, name))
                 for name in ("recency_rule", "logistic_regression")}
    best = max(baselines, key=lambda n: baselines[n]["pr_auc"])
    model.best_baseline = best
    result_gate = gate("pr_auc", metrics["pr_auc"], baselines[best]["pr_auc"], baseline_name=best,
                       higher_is_better=True, required=GATE_RATIO)
    importance = dict(zip(FEATURES, booster.feature_importance("gain").round(3).tolist()))
    metrics["top_features"] = dict(sorted(importance.items(), key=lambda kv: -kv[1])[:8])
    iso = {k: (str(a), str(b)) for k, (a, b) in windows.items()}
    return TrainingResult(
        model=model, metrics=metrics, baseline_metrics=baselines, gate=result_gate,
        training_window={"start": iso["train"][0], "end": iso["train"][1]},
        evaluation_window={"start": iso["test"][0], "end": iso["test"][1]},
        params={**params, "max_rounds": MAX_ROUNDS, "early_stop": EARLY_STOP, "lead_days": LEAD_DAYS,
                "label_days": LABEL_DAYS, "valid_days": VALID_DAYS, "test_days": TEST_DAYS,
                "calibration": "platt", "as_of": str(as_of)},
        seed=seed,
        rows={"train": train.height, "valid": valid.height, "evaluate": test.height,
              "train_churned": int(y_tr.sum()), "evaluate_churned": int(y_te.sum())},
        fingerprint=fingerprint(frame.select("customer_id", "period_end", "churned", *FEATURES)),
    )


# -- scoring and reasons ---------------------------------------------------------------------------------------
def _n(v: float, noun: str) -> str:
    """"1 day", "3 days": a whole count and its noun."""
    return f"{v:.0f} {noun}" + ("" if round(v) == 1 else "s")


def _days(v: float) -> str:
    return _n(v, "day")


REASONS = {
    "days_since_activity": lambda v, r: "has never used the bot or the Mini App" if v is None
    else f"no activity in the bot or Mini App for {_days(v)}",
    "events_7d": lambda v, r: _n(v, "action") + " in the last 7 days",
    "events_14d": lambda v, r: _n(v, "action") + " in the last 14 days",
    "events_30d": lambda v, r: _n(v, "action") + " in the last 30 days",
    "events_90d": lambda v, r: _n(v, "action") + " in the last 90 days",
    "active_days_14d": lambda v, r: f"active on {_days(v)} of the last 14",
    "active_days_30d": lambda v, r: f"active on {_days(v)} of the last 30",
    "active_days_90d": lambda v, r: f"active on {_days(v)} of the last 90",
    "activity_trend": lambda v, r: f"usage at {v:.0%} of its 90-day pace",
    "periods_paid": lambda v, r: "only " + _n(v, "paid period") + " so far",
    "tenure_days": lambda v, r: f"a customer for {_days(v)}",
    "failures_90d": lambda v, r: _n(v, "failed payment") + " in 90 days",
    "failures_total": lambda v, r: _n(v, "failed payment") + " in all",
    "days_since_failure": lambda v, r: f"a payment failed {_days(v)} ago",
    "price_ratio": lambda v, r: f"pays {v:.2f}x what they paid for the period before",
    "upgraded_last": lambda v, r: "upgraded at the last renewal" if v else "no recent upgrade",
    "downgraded_last": lambda v, r: "downgraded at the last renewal" if v else "no recent downgrade",
    "gateway_code": lambda v, r: f"pays through {r.get('gateway')}" + (
        " (no auto-renewal)" if r.get("gateway") in ("payme", "click") else ""),
    "tier_code": lambda v, r: f"on the {r.get('plan_code')} plan",
    "amount_usd": lambda v, r: f"pays ${v:,.2f} per period",
    "yearly": lambda v, r: "yearly plan" if v else "monthly plan",
    "refunds": lambda v, r: _n(v, "refund"),
    "disputes": lambda v, r: _n(v, "dispute"),
    "reactivations": lambda v, r: "came back " + _n(v, "time") + " after leaving",
    "channels_connected": lambda v, r: _n(v, "channel") + " connected",
    "days_to_end": lambda v, r: f"paid period ends in {_days(v)}",
    "miniapp_30d": lambda v, r: _n(v, "Mini App session") + " in 30 days",
    "reports_30d": lambda v, r: _n(v, "report") + " opened in 30 days",
}


def reason_text(feature: str, value, gateway: str | None = None, plan_code: str | None = None) -> str:
    value = None if value is None or (isinstance(value, float) and np.isnan(value)) else round(float(value), 3)
    return _reason_text(feature, value, gateway, plan_code)


@lru_cache(maxsize=65_536)  # scoring 100k customers repeats the same few thousand sentences
def _reason_text(feature: str, value, gateway, plan_code) -> str:
    row = {"gateway": gateway, "plan_code": plan_code}
    fmt = REASONS.get(feature)
    if fmt is None or (value is None and feature != "days_since_activity"):
        return f"{feature} = {value}"
    return fmt(value, row)


TOP_REASONS = 3


def _top_reasons(frame: pl.DataFrame, contrib: np.ndarray) -> dict[str, list]:
    """Columns reason_k, reason_feature_k, reason_impact_k (k = 1..3): the features that push each row's score
    up the most (positive contributions only), as sentences with the row's own values."""
    n = frame.height
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :TOP_REASONS]
    rows = np.arange(n)
    values = frame.select([pl.col(c).cast(pl.Float64) for c in FEATURES]).to_numpy()
    gateways, plans = frame["gateway"].to_list(), frame["plan_code"].to_list()
    out: dict[str, list] = {}
    for k in range(TOP_REASONS):
        j = order[:, k]
        impact = contrib[rows, j]
        value = values[rows, j]
        keep = impact > 0
        out[f"reason_{k + 1}"] = [
            reason_text(FEATURES[j[i]], value[i], gateways[i], plans[i]) if keep[i] else None
            for i in range(n)]
        out[f"reason_feature_{k + 1}"] = [FEATURES[j[i]] if keep[i] else None for i in range(n)]
        out[f"reason_impact_{k + 1}"] = np.where(keep, np.round(impact, 4), np.nan).tolist()
    return out


SCORES_SCHEMA = {
    "customer_id": pl.Utf8, "user_id": pl.Int64, "gateway": pl.Utf8, "plan_code": pl.Utf8,
    "period_end": pl.Datetime("us"), "scored_at": pl.Datetime("us"), "churn_probability": pl.Float64,
    "risk_rank": pl.Int32, "status": pl.Utf8,
    **{f"{col}_{k}": dtype for k in range(1, TOP_REASONS + 1)
       for col, dtype in (("reason", pl.Utf8), ("reason_feature", pl.Utf8), ("reason_impact", pl.Float64))},
    "source": pl.Utf8, "model_version": pl.Utf8,
}
CANCELLATION_REASON = "asked to cancel at the end of the paid period"


def score(model: ChurnModel, inputs: ChurnInputs, *, as_of: datetime, model_version: str | None,
          use_baseline: bool = False) -> pl.DataFrame:
    """`ml.churn_scores`: one row per customer paying at `as_of`, riskiest first (risk_rank 1).

    status `scored` (probability from the model, or from its best baseline when `use_baseline`: no model has
    passed its gate yet) or `cancellation_requested` (a known outcome: probability 1). reason_k is a sentence,
    reason_feature_k the feature behind it and reason_impact_k its contribution in log-odds (SHAP for the model,
    coefficient x standardised value for the logistic baseline)."""
    population = scoring_population(inputs.periods, as_of)
    if population.is_empty():
        return pl.DataFrame(schema=SCORES_SCHEMA)
    frame = features_at(inputs, population)
    pending = frame["cancel_pending"].to_numpy()
    if use_baseline:
        prob = model.predict_baseline(frame)
        if model.best_baseline == "recency_rule":
            contrib = np.zeros((frame.height, len(FEATURES)))
            contrib[:, FEATURES.index("days_since_activity")] = 1.0
        else:
            contrib = _logistic_contributions(model.logistic, frame)
        source = "baseline"
    else:
        (prob, contrib), source = model.predict_with_contributions(frame), "model"
    reasons = pl.DataFrame(_top_reasons(frame, contrib),
                           schema={k: v for k, v in SCORES_SCHEMA.items() if k.startswith("reason")})
    known = pl.Series(pending)
    reasons = reasons.with_columns(
        reason_1=pl.when(known).then(pl.lit(CANCELLATION_REASON)).otherwise("reason_1"),
        reason_feature_1=pl.when(known).then(pl.lit("cancellation_requested")).otherwise("reason_feature_1"),
        **{c: pl.when(known).then(None).otherwise(c) for c in reasons.columns
           if c not in ("reason_1", "reason_feature_1")})
    out = pl.concat([frame.select(
        "customer_id",
        user_id=pl.when(pl.col("customer_id").str.starts_with("tg:"))
        .then(pl.col("customer_id").str.slice(3).cast(pl.Int64, strict=False)),
        gateway="gateway", plan_code="plan_code", period_end="period_end", scored_at="cutoff",
    ), reasons], how="horizontal").with_columns(
        churn_probability=pl.Series(np.where(pending, 1.0, prob).astype(float)),
        status=pl.Series(np.where(pending, "cancellation_requested", "scored")),
        source=pl.lit(source), model_version=pl.lit(model_version, dtype=pl.Utf8),
    ).sort(["churn_probability", "customer_id"], descending=[True, False])
    out = out.with_columns(risk_rank=pl.int_range(1, out.height + 1, dtype=pl.Int32))
    return out.select(list(SCORES_SCHEMA)).cast(SCORES_SCHEMA)


def _logistic_contributions(pipeline, frame: pl.DataFrame) -> np.ndarray:
    """Per-feature log-odds of the logistic baseline: coefficient x transformed value, summed back onto the
    feature each transformed column came from (imputation indicators and one-hot levels included)."""
    prep, lr = pipeline.named_steps["prep"], pipeline.named_steps["lr"]
    z = prep.transform(_matrix(frame))
    z = z.toarray() if hasattr(z, "toarray") else np.asarray(z)
    terms = z * lr.coef_[0]
    out = np.zeros((frame.height, len(FEATURES)))
    names = prep.get_feature_names_out()
    for col, name in enumerate(names):
        # names look like num__x3, num__missingindicator_x3, cat__x26_1.0
        token = name.split("__", 1)[1].replace("missingindicator_", "")
        index = int(token.split("_")[0][1:])
        out[:, index] += terms[:, col]
    return out
