"""Drift of live predictions against the training data: population stability index (PSI).

PSI = sum over bins of (live - reference) * ln(live / reference), with shares smoothed by a small
epsilon. Rule of thumb: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 significant shift.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from triage.bundle import ModelBundle

EPSILON = 1e-4
CONFIDENCE_BINS = 10


def psi(reference: Mapping[str, float], live: Mapping[str, float]) -> float:
    """Population stability index between two distributions over the same categories."""
    keys = set(reference) | set(live)
    ref_total = sum(reference.values()) or 1.0
    live_total = sum(live.values()) or 1.0
    total = 0.0
    for key in keys:
        e = max(reference.get(key, 0.0) / ref_total, EPSILON)
        a = max(live.get(key, 0.0) / live_total, EPSILON)
        total += (a - e) * np.log(a / e)
    return float(total)


def confidence_histogram(confidences: Sequence[float]) -> dict[str, float]:
    counts, _ = np.histogram(np.asarray(confidences, dtype=float), bins=CONFIDENCE_BINS, range=(0.0, 1.0))
    return {f"{i / CONFIDENCE_BINS:.1f}": float(c) for i, c in enumerate(counts)}


def level(value: float) -> str:
    return "stable" if value < 0.1 else "moderate" if value < 0.25 else "significant"


def drift_report(
    bundle: ModelBundle, predictions: Sequence[Mapping[str, Any]], head: str = "department"
) -> dict[str, Any]:
    """Live predicted-label and confidence distributions against the bundle's training data."""
    report: dict[str, Any] = {"model_version": bundle.version, "head": head, "n_live": len(predictions)}
    neighbours = bundle.router.neighbours
    if neighbours is None or head not in neighbours.labels:
        report["error"] = f"model {bundle.version} has no training label distribution for {head!r}"
        return report
    reference = Counter(str(v) for v in neighbours.labels[head])
    live = Counter(str(p["value"]) for p in predictions)
    report["reference_distribution"] = {k: v / sum(reference.values()) for k, v in sorted(reference.items())}
    if not predictions:
        report["label_psi"] = None
        report["label_drift"] = "no live predictions yet"
        return report
    report["live_distribution"] = {k: v / len(predictions) for k, v in sorted(live.items())}
    report["label_psi"] = psi(reference, live)
    report["label_drift"] = level(report["label_psi"])
    confidences = [float(p["confidence"]) for p in predictions]
    report["mean_confidence"] = float(np.mean(confidences))
    report["abstention_rate"] = float(np.mean([bool(p["abstained"]) for p in predictions]))
    reference_conf = bundle.manifest.get("reference", {}).get(head, {}).get("confidence_histogram")
    if reference_conf:
        report["confidence_psi"] = psi(reference_conf, confidence_histogram(confidences))
        report["confidence_drift"] = level(report["confidence_psi"])
    return report
