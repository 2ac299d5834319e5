"""Drift section of the offline evaluation report: a test split's predictions against the bundle's reference.

The computation is runtime code (``knowledge.drift``, used by the server on the prediction log);
this module only feeds it a batch of evaluated predictions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from knowledge.drift import BANDS, Profile, compare
from triage.bundle import ModelBundle, drift_baseline, drift_source


def bundle_drift(bundle: ModelBundle, predictions: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """Drift of a batch of predictions, per head, against the bundle's reference (the eval report).

    ``predictions`` maps a head to its ``triage.types.Prediction``-like items (``value``,
    ``confidence``, ``abstained``).
    """
    heads: dict[str, Any] = {}
    notes: list[str] = []
    for head, preds in predictions.items():
        reference, note = drift_baseline(bundle, head)
        if note and note not in notes:
            notes.append(note)
        edges = (reference or {}).get("confidence_bin_edges")
        heads[head] = compare(
            reference,
            Profile.of(
                [str(p.value) for p in preds],
                [float(p.confidence) for p in preds],
                [bool(p.abstained) for p in preds],
                edges,
            ),
        )
    return {"reference": drift_source(bundle), "notes": notes, "bands": BANDS, "heads": heads}
