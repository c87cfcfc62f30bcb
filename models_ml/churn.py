"""Churn risk: which paying customers will not renew, and why.

**Label** (DESIGN.md): a paid period *churns* when the customer has no paid renewal within 30 days after it ends,
i.e. no later payment that extends their paid time past that end, paid by end + 30 days. Ends that fall inside
another paid period of the same customer (an annual plan next to a monthly one) are not decision points and are
left out. Only ends at least 30 days before the data's "now" (`data_as_of`) are labelled.

**Point in time.** Each example is cut a week before its period ends (`LEAD_DAYS`): every feature is computed
from rows timed strictly before the cutoff (payments by `paid_at`, failures by `failed_at`, a day of product
usage once the day is over), through as-of joins on cumulative counts, so nothing after the cutoff can leak
in; `tests/models_ml/test_churn.py` alters everything after a cutoff and checks the features stay put.
Scoring cuts at `as_of` instead, for every customer whose paid time covers it: the model was trained a week
before renewal, and `days_to_end` tells it how far the renewal is.

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
    "objective": "binary", "learning_rate": 0.03, "num_leaves": 15, "min_data_in_leaf": 20,
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
    """Customers whose paid time covers `as_of`: one row each, with the end of that paid time."""
    covering = periods.filter((pl.col("period_start") <= as_of) & (pl.col("period_end") > as_of))
    return (covering.group_by("customer_id").agg(pl.col("period_end").max())
            .with_columns(cutoff=pl.lit(as_of, dtype=pl.Datetime("us")))
            .sort("customer_id"))


def _asof(keys: pl.DataFrame, events: pl.DataFrame, time_col: str, *, shift: timedelta | None = None,
          suffix: str = "") -> pl.DataFrame:
    """For each key row, the newest event of the same customer strictly before `cutoff - shift` (all of its
    columns, renamed with `suffix`); nulls where there is none."""
    left = keys.select("row", "customer_id", at=pl.col("cutoff") - (shift or timedelta(0))).sort("at")
    right = events.sort(time_col)
    joined = left.join_asof(right, left_on="at", right_on=time_col, by="customer_id", strategy="backward",
                            allow_exact_matches=False, check_sortedness=False)
    cols = [c for c in right.columns if c != "customer_id"]
    return joined.select("row", *[pl.col(c).alias(c + suffix) for c in cols]).sort("row")


def _cumulative(events: pl.DataFrame, time_col: str, sums: dict[str, pl.Expr]) -> pl.DataFrame:
    """Events sorted per customer with running totals (`sums` name -> expression per row)."""
    return (events.sort("customer_id", time_col)
            .with_columns(**{name: expr.cum_sum().over("customer_id") for name, expr in sums.items()})
            .select("customer_id", time_col, *sums))


def features_at(inputs: ChurnInputs, keys: pl.DataFrame) -> pl.DataFrame:
    """Features of each (customer_id, cutoff, period_end) row in `keys`, from rows strictly before the cutoff.
    Returns `keys`' columns plus FEATURES, in `keys`' order."""
    keys = keys.with_row_index("row")
    day = timedelta(days=1)

    # payments of full periods (a proration line is a part-period top-up, not a renewal or a price)
    full = inputs.periods.filter(~pl.col("is_proration")).sort("customer_id", "paid_at")
    tier_rank = pl.col("plan_code").str.starts_with("business").cast(pl.Int8)
    full = full.with_columns(
        n=pl.lit(1).cum_sum().over("customer_id"),
        prev_amount=pl.col("amount_usd").shift(1).over("customer_id"),
        prev_tier=tier_rank.shift(1).over("customer_id"),
        prev_end=pl.col("period_end").shift(1).over("customer_id"),
        tier=tier_rank,
        first_paid=pl.col("paid_at").min().over("customer_id"),
    ).with_columns(
        reactivated=(pl.col("paid_at") > pl.col("prev_end") + timedelta(days=LABEL_DAYS)).fill_null(False)
        .cast(pl.Int32).cum_sum().over("customer_id"),
    )
    last_pay = _asof(keys, full.select("customer_id", "paid_at", "n", "gateway", "plan_code", "amount_usd",
                                       "prev_amount", "prev_tier", "tier", "first_paid", "reactivated",
                                       "period_start", "period_end"), "paid_at", suffix="_p")

    money = _cumulative(inputs.money, "occurred_at", {
        "refunds": (pl.col("movement_type") == "refund").cast(pl.Int32),
        "disputes": (pl.col("movement_type") == "dispute").cast(pl.Int32)})
    m_now = _asof(keys, money, "occurred_at")

    fails = _cumulative(inputs.failures, "failed_at", {"n_fail": pl.lit(1, dtype=pl.Int32)})
    f_now = _asof(keys, fails, "failed_at")
    f_90 = _asof(keys, fails, "failed_at", shift=timedelta(days=90), suffix="_90")

    # a day of usage counts once it is over: available from the next midnight (UTC)
    act = inputs.activity.with_columns(available_at=pl.col("activity_date").cast(pl.Datetime("us")) + day)
    act = _cumulative(act, "available_at", {
        "ev": pl.col("events").cast(pl.Int64), "days": pl.lit(1, dtype=pl.Int64),
        "mini": pl.col("miniapp_opens").cast(pl.Int64), "rep": pl.col("reports_viewed").cast(pl.Int64)})
    # allow_exact_matches=False: a day that ends exactly at the cutoff is not over "before" it; shift by 1 us
    a_now = _asof(keys, act, "available_at", shift=timedelta(microseconds=-1))
    windows = {w: _asof(keys, act, "available_at", shift=timedelta(days=w) - timedelta(microseconds=1),
                        suffix=f"_{w}") for w in (7, 14, 30, 90)}

    chans = _cumulative(inputs.channels, "registered_at", {"n_chan": pl.lit(1, dtype=pl.Int32)})
    c_now = _asof(keys, chans, "registered_at")

    frame = pl.concat([keys, last_pay.drop("row"), m_now.drop("row"), f_now.drop("row"), f_90.drop("row"),
                       a_now.drop("row"), *[w.drop("row") for w in windows.values()], c_now.drop("row")],
                      how="horizontal")

    def since(col: str) -> pl.Expr:
        return ((pl.col("cutoff") - pl.col(col)).dt.total_seconds() / 86_400.0)

    def window(name: str, w: int) -> pl.Expr:
        return (pl.col(name).fill_null(0) - pl.col(f"{name}_{w}").fill_null(0)).cast(pl.Float64)

    out = frame.select(
        *keys.drop("row").columns,
        tenure_days=since("first_paid_p"),
        periods_paid=pl.col("n_p").fill_null(0).cast(pl.Float64),
        days_to_end=(pl.col("period_end") - pl.col("cutoff")).dt.total_seconds() / 86_400.0,
        yearly=((pl.col("period_end_p") - pl.col("period_start_p")).dt.total_days() > 200).cast(pl.Float64),
        amount_usd=pl.col("amount_usd_p"),
        price_ratio=pl.col("amount_usd_p") / pl.col("prev_amount_p"),
        upgraded_last=(pl.col("tier_p") > pl.col("prev_tier_p")).cast(pl.Float64),
        downgraded_last=(pl.col("tier_p") < pl.col("prev_tier_p")).cast(pl.Float64),
        reactivations=pl.col("reactivated_p").cast(pl.Float64),
        refunds=pl.col("refunds").fill_null(0).cast(pl.Float64),
        disputes=pl.col("disputes").fill_null(0).cast(pl.Float64),
        failures_total=pl.col("n_fail").fill_null(0).cast(pl.Float64),
        failures_90d=window("n_fail", 90),
        days_since_failure=since("failed_at"),
        events_7d=window("ev", 7), events_14d=window("ev", 14), events_30d=window("ev", 30),
        events_90d=window("ev", 90),
        active_days_14d=window("days", 14), active_days_30d=window("days", 30), active_days_90d=window("days", 90),
        days_since_activity=since("available_at"),
        activity_trend=window("ev", 30) / (window("ev", 90) / 3.0 + 1.0),
        miniapp_30d=window("mini", 30), reports_30d=window("rep", 30),
        channels_connected=pl.col("n_chan").fill_null(0).cast(pl.Float64),
        gateway_code=pl.col("gateway_p").replace_strict(GATEWAYS, list(range(len(GATEWAYS))), default=None)
        .cast(pl.Float64),
        tier_code=pl.col("tier_p").cast(pl.Float64),
        last_paid_at=pl.col("paid_at_p"),
        gateway=pl.col("gateway_p"), plan_code=pl.col("plan_code_p"),
    )
    return out


def pending_cancellation(inputs: ChurnInputs, frame: pl.DataFrame) -> pl.Series:
    """True where the customer asked to cancel after their latest payment before the cutoff, and had not
    withdrawn the request by then."""
    if inputs.cancellations.is_empty():
        return pl.Series("pending", [False] * frame.height)
    keys = frame.select("customer_id", "cutoff").with_row_index("row")
    req = _asof(keys, inputs.cancellations.select("customer_id", "requested_at", "withdrawn_at"), "requested_at")
    joined = pl.concat([frame.select("last_paid_at"), req.drop("row")], how="horizontal")
    pending = (pl.col("requested_at").is_not_null()
               & (pl.col("requested_at") >= pl.col("last_paid_at"))
               & (pl.col("withdrawn_at").is_null() | (pl.col("withdrawn_at") >= frame["cutoff"])))
    return joined.select(pending.fill_null(False).alias("pending"))["pending"]


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

    def contributions(self, frame: pl.DataFrame) -> np.ndarray:
        """SHAP values per feature (log-odds), without the bias column."""
        return self.booster().predict(_matrix(frame), pred_contrib=True)[:, :-1]

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
    return frame.filter(~pending_cancellation(inputs, frame))


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
def _days(v: float) -> str:
    return f"{v:.0f} day" + ("" if round(v) == 1 else "s")


REASONS = {
    "days_since_activity": lambda v, r: "has never used the bot or the Mini App" if v is None
    else f"no activity in the bot or Mini App for {_days(v)}",
    "events_7d": lambda v, r: f"{v:.0f} actions in the last 7 days",
    "events_14d": lambda v, r: f"{v:.0f} actions in the last 14 days",
    "events_30d": lambda v, r: f"{v:.0f} actions in the last 30 days",
    "events_90d": lambda v, r: f"{v:.0f} actions in the last 90 days",
    "active_days_14d": lambda v, r: f"active on {_days(v)} of the last 14",
    "active_days_30d": lambda v, r: f"active on {_days(v)} of the last 30",
    "active_days_90d": lambda v, r: f"active on {_days(v)} of the last 90",
    "activity_trend": lambda v, r: f"usage at {v:.0%} of its 90-day pace",
    "periods_paid": lambda v, r: f"only {v:.0f} paid period" + ("" if v == 1 else "s") + " so far",
    "tenure_days": lambda v, r: f"a customer for {_days(v)}",
    "failures_90d": lambda v, r: f"{v:.0f} failed payment" + ("" if v == 1 else "s") + " in 90 days",
    "failures_total": lambda v, r: f"{v:.0f} failed payment" + ("" if v == 1 else "s") + " in all",
    "days_since_failure": lambda v, r: f"a payment failed {_days(v)} ago",
    "price_ratio": lambda v, r: f"pays {v:.2f}x what they paid for the period before",
    "upgraded_last": lambda v, r: "upgraded at the last renewal" if v else "no recent upgrade",
    "downgraded_last": lambda v, r: "downgraded at the last renewal" if v else "no recent downgrade",
    "gateway_code": lambda v, r: f"pays through {r.get('gateway')}" + (
        " (no auto-renewal)" if r.get("gateway") in ("payme", "click") else ""),
    "tier_code": lambda v, r: f"on the {r.get('plan_code')} plan",
    "amount_usd": lambda v, r: f"pays ${v:,.2f} per period",
    "yearly": lambda v, r: "yearly plan" if v else "monthly plan",
    "refunds": lambda v, r: f"{v:.0f} refund" + ("" if v == 1 else "s"),
    "disputes": lambda v, r: f"{v:.0f} dispute" + ("" if v == 1 else "s"),
    "reactivations": lambda v, r: f"came back {v:.0f} time" + ("" if v == 1 else "s") + " after leaving",
    "channels_connected": lambda v, r: f"{v:.0f} channel" + ("" if v == 1 else "s") + " connected",
    "days_to_end": lambda v, r: f"paid period ends in {_days(v)}",
    "miniapp_30d": lambda v, r: f"{v:.0f} Mini App sessions in 30 days",
    "reports_30d": lambda v, r: f"{v:.0f} reports opened in 30 days",
}


def reason_text(feature: str, value, row: dict) -> str:
    value = None if value is None or (isinstance(value, float) and np.isnan(value)) else value
    fmt = REASONS.get(feature)
    if fmt is None or (value is None and feature != "days_since_activity"):
        return f"{feature} = {value}"
    return fmt(value, row)


def _top_reasons(frame: pl.DataFrame, contrib: np.ndarray, names: tuple[str, ...], k: int = 3) -> list[list[dict]]:
    rows = frame.to_dicts()
    out = []
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
    for i, idx in enumerate(order):
        reasons = []
        for j in idx:
            if contrib[i, j] <= 0:
                break
            feature = names[j]
            reasons.append({"feature": feature, "value": rows[i].get(feature),
                            "contribution": round(float(contrib[i, j]), 4),
                            "text": reason_text(feature, rows[i].get(feature), rows[i])})
        out.append(reasons)
    return out


SCORES_SCHEMA = {
    "customer_id": pl.Utf8, "user_id": pl.Int64, "gateway": pl.Utf8, "plan_code": pl.Utf8,
    "period_end": pl.Datetime("us"), "scored_at": pl.Datetime("us"), "churn_probability": pl.Float64,
    "risk_rank": pl.Int32, "status": pl.Utf8, "reason_1": pl.Utf8, "reason_2": pl.Utf8, "reason_3": pl.Utf8,
    "reasons_json": pl.Utf8, "source": pl.Utf8, "model_version": pl.Utf8,
}


def score(model: ChurnModel, inputs: ChurnInputs, *, as_of: datetime, model_version: str | None,
          use_baseline: bool = False) -> pl.DataFrame:
    """`ml.churn_scores`: one row per customer paying at `as_of`, riskiest first (risk_rank 1).

    status `scored` (probability from the model, or from its best baseline when `use_baseline`: no model has
    passed its gate yet) or `cancellation_requested` (a known outcome: probability 1)."""
    import json

    population = scoring_population(inputs.periods, as_of)
    if population.is_empty():
        return pl.DataFrame(schema=SCORES_SCHEMA)
    frame = features_at(inputs, population)
    pending = pending_cancellation(inputs, frame).to_numpy()
    if use_baseline:
        prob = model.predict_baseline(frame)
        if model.best_baseline == "recency_rule":
            contrib = np.zeros((frame.height, len(FEATURES)))
            contrib[:, FEATURES.index("days_since_activity")] = 1.0
        else:
            contrib = _logistic_contributions(model.logistic, frame)
        source = "baseline"
    else:
        prob, contrib, source = model.predict(frame), model.contributions(frame), "model"
    reasons = _top_reasons(frame, contrib, FEATURES)
    for i in np.flatnonzero(pending):
        reasons[i] = [{"feature": "cancellation_requested", "value": True, "contribution": None,
                       "text": "asked to cancel at the end of the paid period"}]
    prob = np.where(pending, 1.0, prob)
    texts = [[r["text"] for r in rs] + [None] * (3 - len(rs)) for rs in reasons]
    out = frame.select(
        "customer_id",
        user_id=pl.when(pl.col("customer_id").str.starts_with("tg:"))
        .then(pl.col("customer_id").str.slice(3).cast(pl.Int64, strict=False)),
        gateway="gateway", plan_code="plan_code", period_end="period_end", scored_at="cutoff",
    ).with_columns(
        churn_probability=pl.Series(prob.astype(float)),
        status=pl.Series(np.where(pending, "cancellation_requested", "scored")),
        reason_1=pl.Series([t[0] for t in texts], dtype=pl.Utf8),
        reason_2=pl.Series([t[1] for t in texts], dtype=pl.Utf8),
        reason_3=pl.Series([t[2] for t in texts], dtype=pl.Utf8),
        reasons_json=pl.Series([json.dumps(rs, default=str) for rs in reasons]),
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
