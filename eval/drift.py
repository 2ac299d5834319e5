"""Drift of predictions against the training data: population stability index (PSI).

PSI = sum over bins of (live - reference) * ln(live / reference), with shares floored at a small
epsilon. Conventional bands: PSI < 0.1 stable, 0.1 <= PSI < 0.25 moderate shift, PSI >= 0.25
significant shift.

Two distributions per head are compared with the bundle's drift reference (``triage.bundle``):

- predicted labels, against the training labels;
- the confidence of the top label, binned on the reference's edges, against the out-of-fold
  confidences on the training tickets (what the model's confidence looks like on unseen tickets).

Bundles trained before the reference existed still get label drift (the training labels are in
their labelled neighbours); their confidence drift is reported as unavailable, with a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from triage.bundle import DRIFT_REFERENCE, ModelBundle, binned_shares, label_shares

EPSILON = 1e-4
STABLE_BELOW = 0.1
SIGNIFICANT_FROM = 0.25
BANDS = {
    "stable": f"PSI < {STABLE_BELOW}",
    "moderate": f"{STABLE_BELOW} <= PSI < {SIGNIFICANT_FROM}",
    "significant": f"PSI >= {SIGNIFICANT_FROM}",
}
# Length of the ISO timestamp prefix that names a window ("2026-01-31" / "2026-01-31T09").
WINDOWS = {"day": 10, "hour": 13}
MAX_WINDOWS = 31  # the most recent windows reported
NO_LIVE = "no live predictions yet"


def psi(reference: Mapping[Any, float], live: Mapping[Any, float]) -> float:
    """Population stability index between two distributions (counts or shares) over the same keys."""
    keys = set(reference) | set(live)
    ref_total = sum(reference.values()) or 1.0
    live_total = sum(live.values()) or 1.0
    total = 0.0
    for key in keys:
        e = max(reference.get(key, 0.0) / ref_total, EPSILON)
        a = max(live.get(key, 0.0) / live_total, EPSILON)
        total += (a - e) * np.log(a / e)
    return float(total)


def histogram_psi(reference: Sequence[float], live: Sequence[float]) -> float:
    """PSI between two histograms over the same bins."""
    if len(reference) != len(live):
        raise ValueError(f"histograms have {len(reference)} and {len(live)} bins: bin both on the same edges")
    return psi(dict(enumerate(reference)), dict(enumerate(live)))


def level(value: float) -> str:
    """The conventional band of a PSI value: stable, moderate or significant."""
    return "stable" if value < STABLE_BELOW else "moderate" if value < SIGNIFICANT_FROM else "significant"


def reference_for(bundle: ModelBundle, head: str) -> tuple[dict[str, Any] | None, str | None]:
    """A head's drift reference and, when it is missing or partial, a note that says why."""
    reference = bundle.drift_reference(head)
    if reference is not None:
        return reference, None
    neighbours = bundle.router.neighbours
    if DRIFT_REFERENCE in bundle.manifest:
        return None, f"model {bundle.version} has no drift reference for {head!r} (head not trained)"
    note = (
        f"model {bundle.version} has no drift reference (trained before confidence references were "
        "stored): confidence drift is unavailable; retrain it with 'triage train' to get it"
    )
    if neighbours is not None and head in neighbours.labels:
        return {"label_distribution": label_shares([str(v) for v in neighbours.labels[head]])}, note
    return None, note


def compare(
    reference: Mapping[str, Any] | None,
    values: Sequence[str],
    confidences: Sequence[float],
    abstained: Sequence[bool],
) -> dict[str, Any]:
    """Label and confidence PSI of one head's predictions against its reference, with bands.

    Live predictions are compared like for like with the model's own held-out predicted label
    shares (a model that over-predicts a label would otherwise show "drift" on unchanged
    traffic); references from before those were stored fall back to the training labels. Figures
    the reference cannot support (no confidence histogram in older bundles) are None.
    """
    reference = reference or {}
    label_reference = reference.get("predicted_distribution") or reference.get("label_distribution")
    conf = np.asarray(confidences, dtype=float)
    out: dict[str, Any] = {
        "n": len(values),
        "label_distribution": label_shares(values),
        "reference_label_distribution": label_reference,
        "label_psi": None,
        "label_drift": None,
        "confidence_bin_edges": reference.get("confidence_bin_edges"),
        "confidence_histogram": None,
        "reference_confidence_histogram": reference.get("confidence_histogram"),
        "confidence_psi": None,
        "confidence_drift": None,
        "mean_confidence": float(conf.mean()) if len(conf) else None,
        "reference_mean_confidence": reference.get("mean_confidence"),
        "abstention_rate": float(np.mean(np.asarray(abstained, dtype=bool))) if len(conf) else None,
        "reference_abstention_rate": reference.get("abstention_rate"),
    }
    if not values:
        return out
    if out["reference_label_distribution"]:
        out["label_psi"] = psi(out["reference_label_distribution"], out["label_distribution"])
        out["label_drift"] = level(out["label_psi"])
    edges, histogram = out["confidence_bin_edges"], out["reference_confidence_histogram"]
    if edges and histogram:
        out["confidence_histogram"] = binned_shares(conf, edges)
        out["confidence_psi"] = histogram_psi(histogram, out["confidence_histogram"])
        out["confidence_drift"] = level(out["confidence_psi"])
    return out


def compare_predictions(
    reference: Mapping[str, Any] | None, rows: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """``compare`` over prediction-log rows (``value``, ``confidence``, ``abstained``)."""
    return compare(
        reference,
        [str(r["value"]) for r in rows],
        [float(r["confidence"]) for r in rows],
        [bool(r["abstained"]) for r in rows],
    )


def windowed(
    reference: Mapping[str, Any] | None,
    predictions: Sequence[Mapping[str, Any]],
    window: str = "day",
    limit: int = MAX_WINDOWS,
) -> list[dict[str, Any]]:
    """Label and confidence PSI per time window (by the rows' ISO ``at``), oldest first, the last ``limit``."""
    try:
        width = WINDOWS[window]
    except KeyError:
        raise ValueError(f"unknown drift window {window!r}; known: {', '.join(WINDOWS)}") from None
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in predictions:
        at = str(row.get("at") or "")
        if at:
            groups.setdefault(at[:width], []).append(row)
    out = []
    for start in sorted(groups)[-limit:] if limit > 0 else []:
        figures = compare_predictions(reference, groups[start])
        out.append(
            {"start": start}
            | {
                key: figures[key]
                for key in (
                    "n",
                    "label_psi",
                    "label_drift",
                    "confidence_psi",
                    "confidence_drift",
                    "mean_confidence",
                    "abstention_rate",
                )
            }
        )
    return out


def drift_report(
    bundle: ModelBundle,
    predictions: Sequence[Mapping[str, Any]],
    head: str = "department",
    window: str = "day",
) -> dict[str, Any]:
    """Live predicted-label and confidence distributions of one head against the bundle's training data.

    Only rows of the bundle's own version count (rows without a ``version`` are taken as its own):
    another model's predictions say nothing about this one's drift. ``windows`` repeats the figures
    per ``window`` (day or hour) of the rows' ``at`` time.
    """
    own = [p for p in predictions if str(p.get("version", bundle.version)) == bundle.version]
    report: dict[str, Any] = {
        "model_version": bundle.version,
        "head": head,
        "n_live": len(own),
        "n_other_versions": len(predictions) - len(own),
        "bands": BANDS,
    }
    reference, note = reference_for(bundle, head)
    if reference is None or not reference.get("label_distribution"):
        report["error"] = f"model {bundle.version} has no training label distribution for {head!r}"
        report["reference_note"] = note
        return report
    figures = compare_predictions(reference, own)
    report |= {
        "reference": bundle.manifest.get(DRIFT_REFERENCE, {}).get("source"),
        "reference_note": note,
        "reference_distribution": figures["reference_label_distribution"],
        "reference_confidence_histogram": figures["reference_confidence_histogram"],
        "reference_mean_confidence": figures["reference_mean_confidence"],
        "reference_abstention_rate": figures["reference_abstention_rate"],
        "confidence_bin_edges": figures["confidence_bin_edges"],
    }
    if not own:
        report |= {"label_psi": None, "label_drift": NO_LIVE, "window": window, "windows": []}
        return report
    report |= {
        "live_distribution": figures["label_distribution"],
        "label_psi": figures["label_psi"],
        "label_drift": figures["label_drift"],
        "live_confidence_histogram": figures["confidence_histogram"],
        "confidence_psi": figures["confidence_psi"],
        "confidence_drift": figures["confidence_drift"],
        "mean_confidence": figures["mean_confidence"],
        "abstention_rate": figures["abstention_rate"],
        "window": window,
        "windows": windowed(reference, own, window),
    }
    return report


def bundle_drift(bundle: ModelBundle, predictions: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """Drift of a batch of predictions, per head, against the bundle's reference (the eval report).

    ``predictions`` maps a head to its ``triage.types.Prediction``-like items (``value``,
    ``confidence``, ``abstained``).
    """
    heads: dict[str, Any] = {}
    notes: list[str] = []
    for head, preds in predictions.items():
        reference, note = reference_for(bundle, head)
        if note and note not in notes:
            notes.append(note)
        heads[head] = compare(
            reference,
            [str(p.value) for p in preds],
            [float(p.confidence) for p in preds],
            [bool(p.abstained) for p in preds],
        )
    return {
        "reference": bundle.manifest.get(DRIFT_REFERENCE, {}).get("source"),
        "notes": notes,
        "bands": BANDS,
        "heads": heads,
    }
