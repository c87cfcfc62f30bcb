"""`beats_baseline`: one check per model asset, failing when the candidate trained in that run did not beat its
baseline on data it had not seen (or could not be trained at all).

The check is evaluated inside the training step (a check spec of the model asset) rather than as a separate
`@asset_check` op: the verdict belongs to the candidate of that very run, which a separate op would have to find
again (the newest card is the wrong one when a run trained nothing). It is not blocking: predictions use whatever
serves, so a failed gate leaves the previous version (or the baseline) serving and the predictions still run.
"""

from __future__ import annotations

import math

import dagster as dg

from orchestration.defs.ml.training import TrainingOutcome

BEATS_BASELINE = "beats_baseline"


def beats_baseline_spec(asset_key: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        BEATS_BASELINE, asset=asset_key, blocking=False,
        description="The candidate trained in this run beats its baseline on the evaluation window (the gate in "
                    "its model card). Fails when it does not, or when there was not enough data to train; the "
                    "previous version (or the baseline) keeps serving.")


def beats_baseline_result(asset_key: dg.AssetKey, outcome: TrainingOutcome) -> dg.AssetCheckResult:
    meta: dict = {"serving_version": outcome.serving_version or "baseline"}
    if outcome.card is not None:
        gate = outcome.card.gate
        meta["version"] = outcome.card.version
        meta["metric"] = str(gate.get("metric"))
        meta["baseline_name"] = str(gate.get("baseline_name"))
        for key in ("model", "baseline", "ratio"):
            value = gate.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                meta[key] = float(value)
    return dg.AssetCheckResult(
        asset_key=asset_key, check_name=BEATS_BASELINE, passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR, description=outcome.describe(), metadata=meta)
