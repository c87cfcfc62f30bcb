"""The three models as assets: train + evaluate (one asset per gated model, with its `beats_baseline` check) and
predict (the reader-facing tables in schema ``ml``, published with the marts).

    marts ──> ml/<name>_model   train, evaluate against the baseline, save the artifact; promote iff it passed
          └─> ml/best_time_slots, ml/channel_forecasts, ml/channel_model_status, ml/churn_scores
                                 predictions from whatever serves (the newest version that passed, else the baseline)

Every step is in the warehouse pool, training too although it only reads: DuckDB refuses any other process while
one holds the file (see `orchestration.lib.pools`). The model libraries (LightGBM, Prophet) are imported inside the
steps, so loading the definitions stays fast.
"""

from dataclasses import dataclass
from typing import Callable

import dagster as dg
import polars as pl

from analyticbot.appstore.db import session_scope
from analyticbot.erasure import keep_unerased
from analyticbot.privacy import erased_ids
from analyticbot.settings import Settings, get_settings
from analyticbot.warehouse import open_warehouse
from models_ml.evaluation import CHANNEL_STATUS_SCHEMA, NotEnoughData, TrainingResult
from models_ml.registry import ModelRegistry
from orchestration.defs.ml.checks import beats_baseline_result, beats_baseline_spec
from orchestration.defs.ml.tables import replace_table, replace_tables
from orchestration.defs.ml.training import TrainingOutcome, newest_candidate, numbers, train_and_register
from orchestration.lib.pools import WAREHOUSE_POOL

BEST_TIME_SLOTS = dg.AssetKey(["ml", "best_time_slots"])
CHANNEL_FORECASTS = dg.AssetKey(["ml", "channel_forecasts"])
CHANNEL_MODEL_STATUS = dg.AssetKey(["ml", "channel_model_status"])
CHURN_SCORES = dg.AssetKey(["ml", "churn_scores"])
ML_TABLES = [BEST_TIME_SLOTS, CHANNEL_FORECASTS, CHANNEL_MODEL_STATUS, CHURN_SCORES]



def _mart(name: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", name])


def _read(settings: Settings, reader):
    with open_warehouse(settings) as wh:
        return reader(wh)


def _train_best_time(settings: Settings) -> TrainingResult:
    from models_ml import best_time, inputs

    return best_time.train_and_evaluate(_read(settings, inputs.posts))


def _train_forecast(metric: str) -> Callable[[Settings], TrainingResult]:
    def train(settings: Settings) -> TrainingResult:
        from models_ml import forecast, inputs

        return forecast.train_and_evaluate(_read(settings, inputs.channel_daily), metric=metric)
    return train


def _train_churn(settings: Settings) -> TrainingResult:
    from models_ml import churn, inputs

    data = _read(settings, inputs.churn_inputs)
    return churn.train_and_evaluate(data, as_of=churn.data_as_of(data))


@dataclass(frozen=True)
class ModelSpec:
    name: str                 # the registry name: models/<name>/...
    marts: tuple[str, ...]    # what training reads
    kinds: frozenset[str]
    description: str
    train: Callable[[Settings], TrainingResult]

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey(["ml", f"{self.name}_model"])


CHURN_MARTS = ("fct_subscription_periods", "fct_payments", "fct_payment_failures", "fct_cancellation_requests",
               "fct_user_activity_daily", "dim_channels")
MODELS = [
    ModelSpec("best_time", ("fct_posts",), frozenset({"lightgbm"}),
              "Best time to post: LightGBM on local hour x weekday, channel and content features, target views at "
              "24 h / subscribers; gated on MAE against the channel's hourly mean over the last 4 weeks.",
              _train_best_time),
    ModelSpec("forecast_subscribers", ("fct_channel_daily", "dim_channels"), frozenset({"prophet"}),
              "Subscriber forecast: the Prophet set-up backtested (rolling origin, 30 days ahead) against the last "
              "value; gated on MAPE.", _train_forecast("subscribers")),
    ModelSpec("forecast_daily_reach", ("fct_channel_daily", "dim_channels"), frozenset({"prophet"}),
              "Daily reach forecast: the Prophet set-up backtested (rolling origin, 30 days ahead) against the "
              "seasonal naive forecast (same weekday last week); gated on MAPE.", _train_forecast("daily_reach")),
    ModelSpec("churn", CHURN_MARTS, frozenset({"lightgbm"}),
              "Churn: will a paying customer renew within 30 days of the paid period's end? Calibrated LightGBM on "
              "payments, failures, cancellation requests and product usage before the cutoff; out-of-time "
              "evaluation against simple baselines (PR AUC, ROC AUC, Brier, lift in the top decile).",
              _train_churn),
]


def training_metadata(outcome: TrainingOutcome) -> dict:
    meta: dict = {"passed": outcome.passed, "gate": outcome.describe(),
                  "serving_version": outcome.serving_version or "baseline",
                  "previous_serving_version": outcome.previous_serving or "baseline"}
    card = outcome.card
    if card is None:
        meta.update(status="not_enough_data", reason=outcome.reason or "")
        return meta
    meta.update(version=card.version, artifact=dg.MetadataValue.path(str(outcome.path)),
                training_window=dg.MetadataValue.json(card.training_window),
                evaluation_window=dg.MetadataValue.json(card.evaluation_window), seed=card.seed,
                **numbers("rows", card.rows), **numbers("metric", card.metrics),
                **numbers("baseline", card.baseline_metrics), **numbers("gate", {
                    k: card.gate.get(k) for k in ("model", "baseline", "ratio", "required")}))
    if isinstance(card.metrics.get("reason"), str):
        meta["reason"] = card.metrics["reason"]
    return meta


def model_asset(spec: ModelSpec) -> dg.AssetsDefinition:
    @dg.asset(key=spec.key, deps=[_mart(m) for m in spec.marts], group_name="ml", kinds=set(spec.kinds),
              description=spec.description + " The artifact and its card (version, windows, metrics, baselines, "
              "gate, params, seed) go under <data dir>/models/" + spec.name + "; it serves only if it passed.",
              check_specs=[beats_baseline_spec(spec.key)], pool=WAREHOUSE_POOL)
    def _train(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        settings = get_settings()
        outcome = train_and_register(spec.name, ModelRegistry(settings.models_dir), lambda: spec.train(settings))
        (context.log.info if outcome.passed else context.log.warning)(f"{spec.name}: {outcome.describe()}")
        return dg.MaterializeResult(metadata=training_metadata(outcome),
                                    check_results=[beats_baseline_result(spec.key, outcome)])
    return _train


model_assets = [model_asset(spec) for spec in MODELS]
FORECAST_MODELS = [s.key for s in MODELS if s.name.startswith("forecast_")]
BEST_TIME_MODEL = next(s.key for s in MODELS if s.name == "best_time")
CHURN_MODEL = next(s.key for s in MODELS if s.name == "churn")


def _serving(registry: ModelRegistry, name: str):
    """(model, version) of what serves `name`, or (None, None): the module's baseline serves."""
    found = registry.serving(name)
    return (None, None) if found is None else (found[0], found[1].version)


def _status(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select([pl.col(c).cast(t) for c, t in CHANNEL_STATUS_SCHEMA.items()])


def _counts(frame: pl.DataFrame, *cols: str) -> dg.MetadataValue:
    if frame.is_empty():
        return dg.MetadataValue.json({})
    rows = frame.group_by(cols).len().sort(cols).iter_rows()
    return dg.MetadataValue.json({"/".join(str(v) for v in r[:-1]): r[-1] for r in rows})


_CHANNEL_DEPS = [BEST_TIME_MODEL, _mart("fct_posts"), *FORECAST_MODELS, _mart("fct_channel_daily"),
                 _mart("dim_channels")]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(BEST_TIME_SLOTS, deps=[BEST_TIME_MODEL, _mart("fct_posts")], group_name="ml",
                     kinds={"duckdb"},
                     description="Each channel's best local weekday x hour slots to post in (top 3), with the "
                                 "expected reach relative to the channel's average post and its 80% interval."),
        dg.AssetSpec(CHANNEL_FORECASTS, deps=[*FORECAST_MODELS, _mart("fct_channel_daily"), _mart("dim_channels")],
                     group_name="ml", kinds={"duckdb"},
                     description="Subscribers and daily reach per channel for the next 30 days with 80% intervals "
                                 "(column `metric`); Prophet where a version serves, else the naive baseline."),
        dg.AssetSpec(CHANNEL_MODEL_STATUS, deps=_CHANNEL_DEPS, group_name="ml", kinds={"duckdb"},
                     description="Per channel and model: ok, baseline or not_enough_data, why, and which source "
                                 "and model version produced its rows."),
    ],
    pool=WAREHOUSE_POOL,
)
def channel_predictions(context: dg.AssetExecutionContext):
    """Best posting slots and forecasts for every channel from the serving versions (the baselines where none
    serves), written with their per-channel status in one transaction."""
    from models_ml import best_time, forecast, inputs

    settings = get_settings()
    registry = ModelRegistry(settings.models_dir)
    with open_warehouse(settings) as wh:
        posts, daily = inputs.posts(wh), inputs.channel_daily(wh)
    model, bt_version = _serving(registry, best_time.MODEL_NAME)
    slots, bt_status = best_time.recommend(model, posts, model_version=bt_version)
    forecasts, statuses, versions = [], [_status(bt_status)], {best_time.MODEL_NAME: bt_version or "baseline"}
    for metric in forecast.METRICS:
        name = forecast.model_name(metric)
        model, version = _serving(registry, name)
        f, st = forecast.predict(model, daily, metric=metric, model_version=version)
        forecasts.append(f)
        statuses.append(_status(st))
        versions[name] = version or "baseline"
    forecasts = pl.concat(forecasts, how="diagonal_relaxed")
    status = pl.concat(statuses).sort("channel_id", "model")
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        replace_tables(wh, {"ml.best_time_slots": slots, "ml.channel_forecasts": forecasts,
                            "ml.channel_model_status": status})
    yield dg.MaterializeResult(asset_key=BEST_TIME_SLOTS, metadata={
        "dagster/row_count": slots.height, "serving_version": versions[best_time.MODEL_NAME],
        "channels": slots["channel_id"].n_unique() if slots.height else 0, "by_source": _counts(slots, "source")})
    yield dg.MaterializeResult(asset_key=CHANNEL_FORECASTS, metadata={
        "dagster/row_count": forecasts.height, "by_metric_and_source": _counts(forecasts, "metric", "source"),
        **{f"serving_version/{n}": v for n, v in versions.items() if n != best_time.MODEL_NAME}})
    yield dg.MaterializeResult(asset_key=CHANNEL_MODEL_STATUS, metadata={
        "dagster/row_count": status.height, "by_model_and_status": _counts(status, "model", "status"),
        **{f"serving_version/{n}": v for n, v in versions.items()}})


def _markdown(frame: pl.DataFrame) -> str:
    def cell(v) -> str:
        if isinstance(v, float):
            return f"{v:.3f}"
        return "" if v is None else str(v).replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    return head + "".join("| " + " | ".join(cell(v) for v in row) + " |\n" for row in frame.iter_rows())


@dg.asset(key=CHURN_SCORES, deps=[CHURN_MODEL, *[_mart(m) for m in CHURN_MARTS]], group_name="ml",
          kinds={"duckdb"}, pool=WAREHOUSE_POOL)
def churn_scores(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Churn probability of every paying customer at the data's newest event, riskiest first, with the top
    three reasons behind each score.

    The serving version scores when there is one (source "model"). Until a version has passed its gate, the
    newest trained candidate's best fitted baseline scores instead (source "baseline"; model_version names the
    artifact that holds it). With no artifact at all the table is emptied and the metadata says why."""
    from models_ml import churn, inputs

    settings = get_settings()
    registry = ModelRegistry(settings.models_dir)
    serving = registry.serving(churn.MODEL_NAME)
    use_baseline = serving is None
    found = serving or newest_candidate(registry, churn.MODEL_NAME)
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        data = inputs.churn_inputs(wh)
        try:
            as_of = churn.data_as_of(data)
        except NotEnoughData as exc:
            found, reason = None, str(exc)
        else:
            reason = "no churn model has been trained yet (not enough data): nothing to score with"
        if found is None:  # no stale scores from an earlier state: the table is emptied, not left as it was
            replace_table(wh, "ml.churn_scores", pl.DataFrame(schema=churn.SCORES_SCHEMA))
            context.log.warning(reason)
            return dg.MaterializeResult(metadata={"dagster/row_count": 0, "skipped": reason,
                                                  "serving_version": "none"})
        model, card = found
        scores = churn.score(model, data, as_of=as_of, model_version=card.version, use_baseline=use_baseline)
        # The payments an erased user made stay (accounting records), so they would be scored again on every
        # run; a risk profile of somebody who asked to be forgotten is not an accounting record.
        with session_scope(settings) as s:
            erased_users, _ = erased_ids(s)
        scores = keep_unerased(scores.sort("risk_rank"), erased_users)
        scores = scores.with_columns(risk_rank=pl.int_range(1, scores.height + 1, dtype=pl.Int32))
        replace_table(wh, "ml.churn_scores", scores)
    top = scores.sort("risk_rank").head(5).select(
        "risk_rank", "customer_id", "plan_code", "gateway", "period_end", "churn_probability", "status", "reason_1")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": scores.height, "as_of": str(as_of),
        "serving_version": "baseline" if use_baseline else card.version, "artifact_version": card.version,
        "by_source_and_status": _counts(scores, "source", "status"),
        "riskiest": dg.MetadataValue.md(_markdown(top))})
