"""The model assets: train -> gate -> artifact -> serve, predictions from whatever serves, published with the marts.

Fast layers first (the ml table writer on DuckDB and PostgreSQL, the training step on a temporary registry, the
summary text over a hand-made snapshot), then the assets on the demo warehouse the model tests build (the whole
pipeline at default scale, these assets included), re-materialised with `dg.materialize` on a copy of it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import datetime, timezone

import dagster as dg
import polars as pl
import pytest

from analyticbot.settings import get_settings
from analyticbot.warehouse import open_warehouse
from models_ml.evaluation import GateResult, NotEnoughData, TrainingResult
from models_ml.registry import ModelRegistry
from orchestration.defs.ml.checks import beats_baseline_result
from orchestration.defs.ml.tables import replace_table, replace_tables
from orchestration.defs.ml.training import train_and_register

MODEL_NAMES = ("best_time", "forecast_subscribers", "forecast_daily_reach", "churn")
NOW = datetime(2026, 7, 1, tzinfo=timezone.utc)


# -- the ml table writer -----------------------------------------------------------------------------------------


def _frame(n: int) -> pl.DataFrame:
    return pl.DataFrame({
        "channel_id": list(range(n)), "weekday": pl.Series([i % 7 for i in range(n)], dtype=pl.Int8),
        "share": [i / 10 for i in range(n)], "label": [f"x{i}" if i % 2 else None for i in range(n)],
        "empty": [None] * n, "reasons": [[f"r{i}", "y"] for i in range(n)],
        # 17:00 in Tashkent (UTC+5)
        "at": pl.Series([datetime(2026, 6, 1, 17)] * n, dtype=pl.Datetime("ns")).dt.replace_time_zone("Asia/Tashkent"),
    })


def test_replace_table_creates_from_the_frame_and_replaces_all_rows(wh):
    assert replace_table(wh, "ml.t", _frame(5)) == 5
    assert replace_table(wh, "ml.t", _frame(3)) == 3
    got = wh.query_pl("SELECT * FROM ml.t ORDER BY channel_id")
    assert got["channel_id"].to_list() == [0, 1, 2]
    assert got["label"].to_list() == [None, "x1", None]
    assert got["empty"].to_list() == [None, None, None]
    assert [json.loads(r) for r in got["reasons"]] == [["r0", "y"], ["r1", "y"], ["r2", "y"]]
    # stored as naive UTC, whatever zone the frame carried
    assert got["at"].to_list() == [datetime(2026, 6, 1, 12)] * 3
    # an empty frame empties the table and keeps it
    replace_table(wh, "ml.t", _frame(0))
    assert wh.count("ml.t") == 0


def test_replace_table_recreates_a_table_whose_columns_changed(wh):
    replace_table(wh, "ml.t", _frame(2))
    replace_table(wh, "ml.t", pl.DataFrame({"channel_id": [7], "extra": ["new"]}))
    assert wh.query_pl("SELECT * FROM ml.t").to_dicts() == [{"channel_id": 7, "extra": "new"}]


def test_replace_tables_is_all_or_nothing(wh):
    replace_tables(wh, {"ml.a": _frame(2), "ml.b": _frame(2)})
    bad = pl.DataFrame({"channel_id": [1]}).with_columns(pl.lit(None, pl.Duration).alias("d"))  # no SQL type
    with pytest.raises(TypeError):
        replace_tables(wh, {"ml.a": _frame(4), "ml.b": bad})
    assert wh.count("ml.a") == 2 and wh.count("ml.b") == 2


# -- the training step -------------------------------------------------------------------------------------------

def _result(passed: bool, model: object = "fitted", fp: str = "abc") -> TrainingResult:
    g = GateResult("mae", 0.8 if passed else 1.2, 1.0, "channel_mean", False, 0.9, passed)
    return TrainingResult(model=model, metrics={"mae": g.model, "by_origin": [{"mae": 1.0}]},
                          baseline_metrics={"channel_mean": {"mae": 1.0}}, gate=g,
                          training_window={"start": "2026-05-01", "end": "2026-06-01"},
                          evaluation_window={"start": "2026-06-01", "end": "2026-06-29"},
                          params={"rounds": 3}, seed=7, rows={"train": 10, "evaluate": 5}, fingerprint=fp)


def test_a_passing_candidate_is_saved_with_its_card_and_serves(tmp_path):
    registry = ModelRegistry(tmp_path)
    outcome = train_and_register("m", registry, lambda: _result(True), now=NOW)
    assert outcome.passed and registry.serving_version("m") == outcome.version
    card = json.loads((tmp_path / "m" / outcome.version / "card.json").read_text())
    assert card["version"] == outcome.version and card["trained_at"].startswith("2026-07-01")
    assert card["training_window"] == {"start": "2026-05-01", "end": "2026-06-01"}
    assert card["evaluation_window"]["end"] == "2026-06-29"
    assert card["metrics"]["mae"] == 0.8 and card["baseline_metrics"] == {"channel_mean": {"mae": 1.0}}
    assert card["gate"]["passed"] is True and "beats channel_mean" in card["gate"]["description"]
    assert registry.load("m", outcome.version)[0] == "fitted"
    assert beats_baseline_result(dg.AssetKey("m"), outcome).passed


def test_a_failing_candidate_is_kept_but_the_previous_version_keeps_serving(tmp_path):
    registry = ModelRegistry(tmp_path)
    first = train_and_register("m", registry, lambda: _result(True, fp="one"), now=NOW)
    second = train_and_register("m", registry, lambda: _result(False, fp="two"), now=NOW)
    assert not second.passed
    assert registry.serving_version("m") == first.version == second.serving_version
    assert registry.versions("m") == sorted([first.version, second.version])
    check = beats_baseline_result(dg.AssetKey("m"), second)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "does NOT beat channel_mean" in check.description and first.version in check.description
    assert check.metadata["ratio"].value == pytest.approx(1.2)


def test_not_enough_data_saves_nothing_and_fails_the_check(tmp_path):
    def train():
        raise NotEnoughData("12 posts with 24 h views; at least 100 needed")

    registry = ModelRegistry(tmp_path)
    outcome = train_and_register("m", registry, train, now=NOW)
    assert outcome.card is None and registry.versions("m") == [] and registry.serving_version("m") is None
    check = beats_baseline_result(dg.AssetKey("m"), outcome)
    assert not check.passed
    assert "12 posts" in check.description and "the baseline serves" in check.description


def test_a_candidate_without_a_model_never_serves(tmp_path):
    registry = ModelRegistry(tmp_path)
    passed_gate_but_empty = dataclasses.replace(_result(True), model=None)
    outcome = train_and_register("m", registry, lambda: passed_gate_but_empty, now=NOW)
    assert not outcome.passed and registry.serving_version("m") is None
    assert registry.versions("m") == [outcome.version]  # kept, with its card, for inspection


# -- the summary `analyticbot demo` prints -----------------------------------------------------------------------

def _slot(channel_id, rank, weekday, hour, rel, lo, hi, source="model", version="v1"):
    return dict(channel_id=channel_id, weekday=weekday, hour=hour, rank=rank, expected_relative_reach=rel,
                relative_reach_lower=lo, relative_reach_upper=hi, source=source, model_version=version)


def _customer(rank, customer, p, status="scored", reasons=("no activity for 20 days", None, None)):
    return dict(customer_id=customer, plan_code="pro_month", gateway="payme", period_end=datetime(2026, 7, 3, 9),
                scored_at=datetime(2026, 7, 1), churn_probability=p, risk_rank=rank, status=status,
                reason_1=reasons[0], reason_2=reasons[1], reason_3=reasons[2], source="model", model_version="c7")


def test_summary_shows_local_slots_with_relative_reach_and_the_riskiest_customers(data_dir):
    from analyticbot.ml_summary import format_best_slots, format_churn_risk
    from analyticbot.snapshot import publish

    settings = get_settings()
    assert "no published snapshot" in format_best_slots(settings)
    with open_warehouse(settings) as w:
        w.ensure_schemas()
        replace_tables(w, {
            "marts.dim_channels": pl.DataFrame({"channel_id": [1, 2], "title": ["Kitchen", "Archive"],
                                                "time_zone": ["Asia/Tashkent", None]}),
            "ml.best_time_slots": pl.DataFrame([
                _slot(1, 2, 2, 9, 1.1, 0.8, 1.5), _slot(1, 1, 1, 18, 1.234, 0.96, 1.52),
                _slot(1, 3, 6, 21, 0.95, None, None), _slot(1, 4, 0, 0, 0.5, 0.1, 0.9)]),
            "ml.channel_model_status": pl.DataFrame({
                "channel_id": [1, 2, 1], "model": ["best_time", "best_time", "forecast_subscribers"],
                "status": ["ok", "not_enough_data", "ok"], "reason": [None, "0 posts with 24 h views", None]}),
            "ml.churn_scores": pl.DataFrame([
                _customer(1, "tg:1", 1.0, status="cancellation_requested",
                          reasons=("asked to cancel at the end of the paid period", None, None)),
                _customer(2, "tg:2", 0.871, reasons=("no activity for 20 days", "2 failed payments", None)),
                _customer(3, "tg:3", 0.4)]),
        })
        publish(w)
    slots = format_best_slots(settings).splitlines()  # channels by title
    assert slots[2].split() == ["Kitchen", "(Asia/Tashkent)", "Tue", "18:00", "+23%", "(-4%..+52%)",
                                "Wed", "09:00", "+10%", "(-20%..+50%)", "Sun", "21:00", "-5%"]
    assert slots[1].split()[:4] == ["Archive", "(UTC)", "not", "enough"] and "0 posts with 24 h views" in slots[1]
    churn = format_churn_risk(settings, limit=5).splitlines()
    assert "as of 2026-07-01 00:00 UTC" in churn[0] and "model c7" in churn[0]
    assert churn[2].split() == ["tg:2", "pro_month", "payme", "2026-07-03", "87%", "no", "activity", "for", "20",
                                "days;", "2", "failed", "payments"]
    assert churn[3].split()[:5] == ["tg:3", "pro_month", "payme", "2026-07-03", "40%"]
    assert churn[4] == "  ... and 1 customer already asked to cancel at the end of the paid period."


# -- the assets on the demo warehouse ----------------------------------------------------------------------------
# One pipeline run: the session's demo warehouse (tests/conftest.py), copied so this module can change it.
@pytest.fixture(scope="module")
def built(demo_warehouse, tmp_path_factory):
    data = tmp_path_factory.mktemp("ml_assets") / "data"
    shutil.copytree(demo_warehouse.settings.data_dir, data)
    return data


@pytest.fixture
def settings(built, monkeypatch):
    monkeypatch.setenv("ANALYTICBOT_DATA_DIR", str(built))
    monkeypatch.delenv("ANALYTICBOT_APP_DB_URL", raising=False)
    monkeypatch.delenv("ANALYTICBOT_WAREHOUSE_URL", raising=False)
    return get_settings()


def _tables(settings) -> dict[str, pl.DataFrame]:
    with open_warehouse(settings) as wh:
        return {t: wh.query_pl(f"SELECT * FROM ml.{t} ORDER BY ALL")
                for t in ("best_time_slots", "channel_forecasts", "channel_model_status", "churn_scores")}


def _materialize(*keys: str) -> dg.ExecuteInProcessResult:
    from orchestration.defs.ml import assets as ml

    by_key = {ml.channel_predictions: ["best_time_slots", "channel_forecasts", "channel_model_status"],
              ml.churn_scores: ["churn_scores"],
              **{a: [f"{s.name}_model"] for a, s in zip(ml.model_assets, ml.MODELS)}}
    chosen = [a for a, names in by_key.items() if set(names) & set(keys)]
    result = dg.materialize(chosen, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {dg.AssetKey(["ml", k]) for k in keys} <= done
    return result


def test_the_build_keeps_every_trained_model_with_its_card_and_serves_only_passing_ones(settings):
    registry = ModelRegistry(settings.models_dir)
    serving = {}
    for name in MODEL_NAMES:
        versions = registry.versions(name)
        assert len(versions) <= 1, f"one build trains {name} once"
        for version in versions:
            card = json.loads((settings.models_dir / name / version / "card.json").read_text())
            assert card["version"] == version and card["name"] == name
            assert {"start", "end"} <= card["training_window"].keys() and card["training_window"]["end"]
            assert {"start", "end"} <= card["evaluation_window"].keys()
            assert card["metrics"] and card["baseline_metrics"] and card["rows"]
            assert card["gate"]["metric"] and isinstance(card["gate"]["passed"], bool)
            expected = version if card["gate"]["passed"] else None
            assert registry.serving_version(name) == expected, name
            if expected:
                serving[name] = version
    # the subscriber forecast beats the last value by a wide margin on the demo (MAPE ratio ~0.5)
    assert "forecast_subscribers" in serving


def test_predictions_are_published_for_every_channel_from_what_serves(settings):
    from analyticbot.snapshot import SnapshotReader

    registry = ModelRegistry(settings.models_dir)
    with SnapshotReader(settings).connect() as con:
        channels = set(con.query("SELECT channel_id FROM marts.dim_channels")["channel_id"].to_list())
        status = con.query("SELECT * FROM ml.channel_model_status")
        forecasts = con.query("SELECT * FROM ml.channel_forecasts")
        slots = con.query("SELECT * FROM ml.best_time_slots WHERE rank <= 3")
        churn = con.query("SELECT * FROM ml.churn_scores")
    for model in ("best_time", "forecast_subscribers", "forecast_daily_reach"):
        assert set(status.filter(pl.col("model") == model)["channel_id"].to_list()) == channels, model
    served = forecasts.filter(pl.col("metric") == "subscribers")
    assert set(served["source"].to_list()) == {"prophet"}
    assert set(served["model_version"].to_list()) == {registry.serving_version("forecast_subscribers")}
    assert slots.group_by("channel_id").len()["len"].to_list() == [3] * slots["channel_id"].n_unique()
    bt = registry.serving_version("best_time")
    assert set(slots["source"].to_list()) == ({"model"} if bt else {"baseline"})
    assert set(slots["model_version"].to_list()) == {bt}
    # churn: one row per paying customer, from the serving model or else the newest candidate's baseline
    assert churn.height > 0 and churn["customer_id"].n_unique() == churn.height
    expected_source = "model" if registry.serving_version("churn") else "baseline"
    assert set(churn["source"].to_list()) == {expected_source}


def test_a_candidate_that_fails_its_gate_changes_nothing_that_serves(settings, monkeypatch):
    from models_ml import forecast

    registry = ModelRegistry(settings.models_dir)
    name = "forecast_subscribers"
    serving = registry.serving_version(name)
    model, card = registry.load(name, serving)
    before = _tables(settings)

    def worse(channel_daily, *, metric, **kw):
        assert metric == "subscribers"
        return TrainingResult(
            model=model, metrics={"mape": 0.5}, baseline_metrics={"last_value": {"mape": 0.1}},
            gate=GateResult("mape", 0.5, 0.1, "last_value", False, 1.0, False),
            training_window=card.training_window, evaluation_window=card.evaluation_window, params={}, seed=7,
            rows={"train": 1, "evaluate": 1}, fingerprint="a worse candidate")

    monkeypatch.setattr(forecast, "train_and_evaluate", worse)
    result = _materialize(f"{name}_model", "channel_forecasts")

    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "beats_baseline" and not check.passed
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["ratio"].value == pytest.approx(5.0)
    assert f"version {serving} keeps serving" in check.description
    assert registry.serving_version(name) == serving
    candidate = [v for v in registry.versions(name) if v != serving]
    assert len(candidate) == 1 and registry.card(name, candidate[0]).passed is False
    # the predictions ran anyway (the check does not block), from the version that still serves: the very same
    # tables, which also shows a re-run of the predictions changes nothing
    after = _tables(settings)
    for table in before:
        assert after[table].equals(before[table]), table


def test_with_no_version_serving_the_baselines_serve(settings):
    registry = ModelRegistry(settings.models_dir)
    moved = {}
    for name in MODEL_NAMES:
        pointer = settings.models_dir / name / "SERVING"
        if pointer.exists():
            moved[pointer] = pointer.read_text()
            pointer.unlink()
    try:
        _materialize("channel_forecasts", "churn_scores")
        tables = _tables(settings)
    finally:
        for pointer, text in moved.items():
            pointer.write_text(text)
    assert set(tables["best_time_slots"]["source"].to_list()) == {"baseline"}
    assert tables["best_time_slots"]["model_version"].null_count() == tables["best_time_slots"].height
    assert set(tables["channel_forecasts"]["source"].to_list()) == {"naive"}
    status = tables["channel_model_status"]
    assert set(status["status"].to_list()) <= {"baseline", "not_enough_data"}
    assert status["model_version"].null_count() == status.height
    churn = tables["churn_scores"]
    assert churn.height > 0 and set(churn["source"].to_list()) == {"baseline"}
    # the baseline's fitted parameters live in the newest candidate artifact, which model_version names
    assert set(churn["model_version"].to_list()) == {registry.versions("churn")[-1]}
