"""The one training step every model goes through: train and evaluate, keep the artifact with its card, promote
it only when it beat its baseline. No Dagster here: the assets turn a `TrainingOutcome` into metadata and a check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from models_ml.evaluation import NotEnoughData, TrainingResult
from models_ml.registry import ModelCard, ModelRegistry, new_version


@dataclass(frozen=True)
class TrainingOutcome:
    name: str
    previous_serving: str | None   # the version that served before this run
    serving_version: str | None    # ... and after it
    card: ModelCard | None = None  # None: nothing was trained (see `reason`)
    path: Path | None = None       # the artifact's directory
    reason: str | None = None      # why nothing was trained (NotEnoughData)

    @property
    def version(self) -> str | None:
        return None if self.card is None else self.card.version

    @property
    def passed(self) -> bool:
        """The candidate of this run passed its gate (and now serves)."""
        return self.card is not None and self.serving_version == self.card.version

    def describe(self) -> str:
        if self.card is None:
            return f"no candidate trained: {self.reason}; {self._serving_note()}"
        g = self.card.gate
        text = g.get("description") or f"gate {'passed' if self.card.passed else 'failed'}"
        return text if self.passed else f"{text}; {self._serving_note()}"

    def _serving_note(self) -> str:
        if self.serving_version:
            return f"version {self.serving_version} keeps serving"
        return "no version has passed its gate yet: the baseline serves"


def plain(value: Any) -> Any:
    """`value` as plain JSON types (numpy scalars, dates, tuples and nested dicts included), for the model card."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def card_for(name: str, result: TrainingResult, *, now: datetime) -> ModelCard:
    gate = dict(result.gate.as_dict(), description=result.gate.describe())
    return ModelCard(
        name=name, version=new_version(name, result.fingerprint, now), trained_at=now.isoformat(),
        training_window=plain(result.training_window), evaluation_window=plain(result.evaluation_window),
        metrics=plain(result.metrics), baseline_metrics=plain(result.baseline_metrics), gate=plain(gate),
        params=plain(result.params), seed=int(result.seed), rows=plain(result.rows))


def train_and_register(name: str, registry: ModelRegistry, train: Callable[[], TrainingResult], *,
                       now: datetime | None = None) -> TrainingOutcome:
    """Run `train`, save its model with a card under `registry`, and promote it iff it passed its gate.

    A candidate that fails its gate is kept for inspection but never serves; NotEnoughData saves nothing. Either
    way the version that served before keeps serving (or the baseline, when none has passed yet)."""
    previous = registry.serving_version(name)
    try:
        result = train()
    except NotEnoughData as exc:
        return TrainingOutcome(name, previous, previous, reason=str(exc) or "not enough data")
    card = card_for(name, result, now=now or datetime.now(timezone.utc))
    path = registry.save(result.model, card)
    if result.gate.passed and result.model is not None:
        registry.promote(name, card.version)
    return TrainingOutcome(name, previous, registry.serving_version(name), card=card, path=path)


def numbers(prefix: str, value: Any) -> dict[str, float | int | bool]:
    """Every finite number in a (nested) metrics dict, keyed ``prefix/key/subkey``; lists of records are left out
    (they are in the card)."""
    out: dict[str, float | int | bool] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(numbers(f"{prefix}/{k}", v))
    elif isinstance(value, bool):
        out[prefix] = value
    elif isinstance(value, (int, float)) and not (isinstance(value, float) and not math.isfinite(value)):
        out[prefix] = value
    return out


def newest_candidate(registry: ModelRegistry, name: str) -> tuple[Any, ModelCard] | None:
    """The newest saved artifact that holds a model (passed its gate or not), or None."""
    for version in reversed(registry.versions(name)):
        model, card = registry.load(name, version)
        if model is not None:
            return model, card
    return None
