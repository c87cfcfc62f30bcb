"""Model artifacts on disk: every trained model with its card, and which version serves.

Layout under the data dir (`Settings.models_dir`, ``<ANALYTICBOT_DATA_DIR>/models``)::

    models/<name>/<version>/model.pkl   the fitted object (pickle; only ever read back from our own data dir)
    models/<name>/<version>/card.json   version, training window, metrics, baseline metrics, gate, params, seed
    models/<name>/SERVING               the version that serves; absent until a model has passed its gate

A version directory is written under a temporary name and renamed into place, and SERVING is replaced
atomically, so a reader never sees half an artifact. A candidate that fails its gate is kept (for inspection) but
never promoted: the previous SERVING version, or the baseline when there is none, keeps serving.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SERVING = "SERVING"


@dataclass
class ModelCard:
    name: str
    version: str
    trained_at: str                    # ISO-8601 UTC
    training_window: dict[str, str]    # {"start": ..., "end": ...}, ISO dates or timestamps, end exclusive
    evaluation_window: dict[str, str]
    metrics: dict[str, Any]            # the model's, on the evaluation window
    baseline_metrics: dict[str, Any]   # each baseline's, same window: {"baseline name": {...}}
    gate: dict[str, Any]               # GateResult.as_dict()
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # training / evaluation examples

    @property
    def passed(self) -> bool:
        return bool(self.gate.get("passed"))

    def to_json(self) -> str:
        # strict JSON: a metric that could not be computed (NaN) is written as null
        return json.dumps(_finite(asdict(self)), indent=2, sort_keys=True, default=str, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "ModelCard":
        return cls(**json.loads(text))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _finite(value.item())
    return value


def new_version(name: str, fingerprint: str, at: datetime | None = None) -> str:
    """`<UTC time>-<8 hex of name + fingerprint>`: sortable, and distinct for different training inputs."""
    at = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    digest = hashlib.sha256(f"{name}:{fingerprint}".encode()).hexdigest()[:8]
    return f"{at:%Y%m%dT%H%M%S%fZ}-{digest}"


class ModelRegistry:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _dir(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"bad model name {name!r}")
        return self.root / name

    def save(self, model: Any, card: ModelCard) -> Path:
        """Write a new version; it does not serve until `promote`."""
        target = self._dir(card.name) / card.version
        if target.exists():
            raise FileExistsError(f"model {card.name} version {card.version} already exists")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{card.version}.", dir=target.parent))
        try:
            with open(tmp / "model.pkl", "wb") as f:
                pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
            (tmp / "card.json").write_text(card.to_json())
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    def promote(self, name: str, version: str) -> None:
        card = self.card(name, version)
        if not card.passed:
            raise ValueError(f"model {name} version {version} did not pass its gate and cannot serve")
        pointer = self._dir(name) / SERVING
        tmp = pointer.with_name(f".{SERVING}.{os.getpid()}")
        tmp.write_text(version + "\n")
        os.replace(tmp, pointer)

    def serving_version(self, name: str) -> str | None:
        pointer = self._dir(name) / SERVING
        return pointer.read_text().strip() if pointer.exists() else None

    def card(self, name: str, version: str) -> ModelCard:
        path = self._dir(name) / version / "card.json"
        if not path.exists():
            raise FileNotFoundError(f"no model {name} version {version} under {self.root}")
        return ModelCard.from_json(path.read_text())

    def load(self, name: str, version: str) -> tuple[Any, ModelCard]:
        card = self.card(name, version)
        with open(self._dir(name) / version / "model.pkl", "rb") as f:
            return pickle.load(f), card

    def serving(self, name: str) -> tuple[Any, ModelCard] | None:
        """The serving model and its card, or None when no version has passed its gate yet."""
        version = self.serving_version(name)
        return None if version is None else self.load(name, version)

    def versions(self, name: str) -> list[str]:
        d = self._dir(name)
        if not d.exists():
            return []
        return sorted(p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))
