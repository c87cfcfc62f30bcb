"""Model artifacts and the baseline gate: what serves, and what never may."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models_ml.evaluation import NotEnoughData, gate, lift_top_decile, mape, pr_auc
from models_ml.registry import ModelCard, ModelRegistry, new_version


def _card(version: str, passed: bool, name: str = "churn") -> ModelCard:
    g = gate("pr_auc", 0.5 if passed else 0.3, 0.4, baseline_name="logistic_regression", higher_is_better=True,
             required=1.2)
    return ModelCard(name=name, version=version, trained_at="2026-11-25T00:00:00Z",
                     training_window={"start": "2025-04-01", "end": "2026-04-01"},
                     evaluation_window={"start": "2026-06-01", "end": "2026-09-01"},
                     metrics={"pr_auc": g.model, "nan_metric": float("nan")},
                     baseline_metrics={"logistic_regression": {"pr_auc": 0.4}}, gate=g.as_dict(), seed=7)


def test_a_passing_model_serves_and_a_failing_one_never_does(tmp_path):
    reg = ModelRegistry(tmp_path)
    assert reg.serving("churn") is None  # nothing has passed yet: the caller serves the baseline
    reg.save({"weights": [1, 2]}, _card("v1", passed=True))
    assert reg.serving("churn") is None  # saved is not serving
    reg.promote("churn", "v1")
    reg.save({"weights": [3]}, _card("v2", passed=False))
    with pytest.raises(ValueError, match="did not pass its gate"):
        reg.promote("churn", "v2")
    model, card = reg.serving("churn")
    assert model == {"weights": [1, 2]} and card.version == "v1"  # the previous version keeps serving
    assert reg.versions("churn") == ["v1", "v2"]
    written = json.loads((tmp_path / "churn" / "v1" / "card.json").read_text())  # strict JSON
    assert written["metrics"]["nan_metric"] is None and written["training_window"]["start"] == "2025-04-01"


def test_versions_are_never_overwritten_and_names_are_checked(tmp_path):
    reg = ModelRegistry(tmp_path)
    reg.save(1, _card("v1", passed=True))
    with pytest.raises(FileExistsError):
        reg.save(2, _card("v1", passed=True))
    with pytest.raises(ValueError, match="bad model name"):
        reg.save(1, _card("v3", passed=True, name="../x"))
    assert not [p for p in (tmp_path / "churn").iterdir() if p.name.startswith(".")]  # no half-written dirs


def test_version_names_sort_by_time_and_differ_by_input():
    a, b = new_version("churn", "aaa"), new_version("churn", "bbb")
    assert a.split("-")[1] != b.split("-")[1] and a[:8].isdigit()


@pytest.mark.parametrize(("model", "baseline", "higher", "required", "passed"), [
    (0.48, 0.40, True, 1.2, True),     # exactly 1.2x
    (0.47, 0.40, True, 1.2, False),
    (0.089, 0.10, False, 0.9, True),   # 11% below
    (0.091, 0.10, False, 0.9, False),
    (0.10, 0.10, False, 1.0, False),   # a tie does not beat the baseline
    (float("nan"), 0.1, False, 1.0, False),
])
def test_gate(model, baseline, higher, required, passed):
    g = gate("m", model, baseline, baseline_name="b", higher_is_better=higher, required=required)
    assert g.passed is passed
    assert ("beats" if passed else "does NOT beat") in g.describe()


def test_metrics_refuse_what_they_cannot_measure():
    with pytest.raises(NotEnoughData, match="all 0"):
        pr_auc(np.zeros(10), np.linspace(0, 1, 10))
    with pytest.raises(NotEnoughData):
        mape([0, 0], [1, 2])
    assert mape([0, 10], [5, 12]) == pytest.approx(0.2)  # the zero actual is left out, not divided by
    y = np.array([1] * 10 + [0] * 90)
    assert lift_top_decile(y, np.linspace(1, 0, 100)) == pytest.approx(10.0)
