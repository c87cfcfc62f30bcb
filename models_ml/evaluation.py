"""Metrics and the baseline gate every model passes before it serves.

A model ships only when it beats a simple baseline on data it has not seen (issue 4). `gate` turns that rule into
one comparable record, kept in the model card and shown as Dagster metadata; the asset checks fail on it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import polars as pl


class NotEnoughData(ValueError):
    """Too little (or degenerate) data to train or evaluate honestly; the message says what was missing."""


# `ml.channel_model_status`: what each per-channel model (best time, both forecasts) says of each channel:
# status ok | baseline | not_enough_data, why, and which source and version produced its rows.
CHANNEL_STATUS_SCHEMA = {"channel_id": pl.Int64, "model": pl.Utf8, "status": pl.Utf8, "reason": pl.Utf8,
                         "source": pl.Utf8, "model_version": pl.Utf8}


def _binary(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError(f"labels {y.shape} and scores {p.shape} must be 1-d of one length")
    if len(y) == 0:
        raise NotEnoughData("no examples to evaluate on")
    if np.isnan(p).any():
        raise ValueError("scores contain NaN")
    if len(np.unique(y)) < 2:
        raise NotEnoughData(f"evaluation labels are all {int(y[0])}: PR AUC and ROC AUC are undefined")
    return y, p


def pr_auc(y, p) -> float:
    """Average precision (the step-wise area under the precision-recall curve, as scikit-learn computes it)."""
    from sklearn.metrics import average_precision_score

    y, p = _binary(y, p)
    return float(average_precision_score(y, p))


def roc_auc(y, p) -> float:
    from sklearn.metrics import roc_auc_score

    y, p = _binary(y, p)
    return float(roc_auc_score(y, p))


def brier(y, p) -> float:
    y, p = _binary(y, p)
    return float(np.mean((p - y) ** 2))


def lift_top_decile(y, p) -> float:
    """Positive rate among the top 10% of scores over the overall positive rate. Ties at the cut are broken by
    position (a stable sort), so the result is deterministic."""
    y, p = _binary(y, p)
    k = max(1, int(np.ceil(len(y) * 0.1)))
    top = np.argsort(-p, kind="stable")[:k]
    return float(y[top].mean() / y.mean())


def classification_metrics(y, p) -> dict[str, float]:
    return {"pr_auc": pr_auc(y, p), "roc_auc": roc_auc(y, p), "brier": brier(y, p),
            "lift_top_decile": lift_top_decile(y, p), "positives": int(np.sum(y)), "examples": int(len(y))}


def mape(actual, forecast) -> float:
    """Mean absolute percentage error over points whose actual value is not 0 (a percentage of 0 is undefined).
    Raises NotEnoughData when no such point is left."""
    a, f = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    keep = np.isfinite(a) & np.isfinite(f) & (a != 0)
    if not keep.any():
        raise NotEnoughData("no non-zero actual values to compute MAPE on")
    return float(np.mean(np.abs((a[keep] - f[keep]) / a[keep])))


def mae(actual, predicted) -> float:
    a, f = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    keep = np.isfinite(a) & np.isfinite(f)
    if not keep.any():
        raise NotEnoughData("no finite pairs to compute MAE on")
    return float(np.mean(np.abs(a[keep] - f[keep])))


@dataclass(frozen=True)
class GateResult:
    """model vs baseline on one metric. `required` is the factor of the baseline the model must reach:
    higher-is-better metrics need model >= required x baseline; lower-is-better ones need model <= required x
    baseline (and strictly below the baseline when required is 1)."""
    metric: str
    model: float
    baseline: float
    baseline_name: str
    higher_is_better: bool
    required: float
    passed: bool

    @property
    def ratio(self) -> float | None:
        return None if self.baseline == 0 else self.model / self.baseline

    def describe(self) -> str:
        op = ">=" if self.higher_is_better else "<="
        verdict = "beats" if self.passed else "does NOT beat"
        return (f"{self.metric}: model {self.model:.4g} {verdict} {self.baseline_name} {self.baseline:.4g} "
                f"(needs {op} {self.required:g} x baseline)")

    def as_dict(self) -> dict:
        return dict(asdict(self), ratio=self.ratio)


def gate(metric: str, model: float, baseline: float, *, baseline_name: str, higher_is_better: bool,
         required: float) -> GateResult:
    if not (np.isfinite(model) and np.isfinite(baseline)):
        return GateResult(metric, float(model), float(baseline), baseline_name, higher_is_better, required, False)
    if higher_is_better:
        passed = model >= required * baseline and model > baseline
    else:
        passed = model <= required * baseline and model < baseline
    return GateResult(metric, float(model), float(baseline), baseline_name, higher_is_better, required, bool(passed))


@dataclass
class TrainingResult:
    """What a model module's `train_and_evaluate` returns; the asset layer turns it into a `ModelCard` and an
    artifact. `model` is picklable and None only when nothing could be trained (then `gate.passed` is False)."""
    model: object
    metrics: dict
    baseline_metrics: dict           # {"baseline name": {metric: value}}
    gate: GateResult
    training_window: dict            # {"start": iso, "end": iso}, end exclusive
    evaluation_window: dict
    params: dict
    seed: int
    rows: dict                       # {"train": n, "evaluate": n, ...}
    fingerprint: str                 # of the training inputs; part of the artifact's version


def fingerprint(*frames) -> str:
    """A content hash of polars frames (row hashes with polars' fixed default seeds, plus shape and columns), so
    the same training inputs give the same artifact version suffix."""
    import hashlib

    h = hashlib.sha256()
    for frame in frames:
        h.update(repr((frame.shape, frame.columns)).encode())
        if frame.height:
            h.update(frame.hash_rows().to_numpy().tobytes())
    return h.hexdigest()[:16]
