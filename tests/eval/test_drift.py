from __future__ import annotations

import json

from eval.drift import bundle_drift
from knowledge.drift import BANDS, TOO_FEW
from tests.eval.tables import without_reference
from triage.bundle import ModelBundle, drift_baseline
from triage.types import Prediction


def _predictions(values: list[str], confidence: float) -> list[Prediction]:
    return [Prediction(value=v, confidence=confidence, abstained=confidence < 0.5) for v in values]


def test_drift_baseline_of_a_bundle_with_and_without_reference(drift_bundle: ModelBundle) -> None:
    reference, note = drift_baseline(drift_bundle, "department")
    assert note is None and reference is not None and reference["confidence_histogram"]
    old_reference, old_note = drift_baseline(without_reference(drift_bundle), "department")
    assert old_reference is not None and set(old_reference) == {"label_distribution"}
    assert old_note is not None and "no drift reference" in old_note and "retrain" in old_note
    assert drift_baseline(drift_bundle, "priority") == (
        None,
        "model d1 has no drift reference for 'priority' (head not trained)",
    )


def test_bundle_drift_reports_every_head_with_bands(drift_bundle: ModelBundle) -> None:
    report = bundle_drift(drift_bundle, {"department": _predictions(["HR"] * 150, 0.35)})
    heads = report["heads"]["department"]
    assert report["bands"] == BANDS and report["notes"] == []
    assert heads["label_drift"] == "significant" and heads["confidence_drift"] == "significant"
    few = bundle_drift(drift_bundle, {"department": _predictions(["HR"] * 11, 0.35)})["heads"]["department"]
    assert few["label_drift"] == TOO_FEW and few["label_psi"] > 0.25
    json.dumps(report)
