"""Classification quality measures shared by training (thresholds, manifest) and eval (reports)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

ECE_BINS = 15


def _bin_of(confidence: np.ndarray, bins: int) -> np.ndarray:
    """Equal-width bin of each confidence: bin i holds (i/bins, (i+1)/bins]; exactly 0 is in bin 0."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE over equal-width confidence bins: the weighted mean |accuracy - confidence| gap."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    if len(confidence) == 0:
        return 0.0
    which = _bin_of(confidence, bins)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def calibrated_ece_floor(
    confidence: np.ndarray, bins: int = ECE_BINS, draws: int = 1000, seed: int = 0
) -> float:
    """Median ECE a perfectly calibrated model with these confidences would show on this many rows.

    Each draw makes every row right with probability equal to its confidence. On small test sets
    the floor is far above zero (about 0.07 for 167 rows in 15 bins), so an ECE target below it
    cannot be shown met there whatever the model.
    """
    confidence = np.asarray(confidence, dtype=float)
    if len(confidence) == 0:
        return 0.0
    outcomes = np.random.default_rng(seed).random((draws, len(confidence))) < confidence
    # expected_calibration_error for every draw at once: the bins depend on the confidences only.
    which = _bin_of(confidence, bins)
    members = np.zeros((len(confidence), bins))
    members[np.arange(len(confidence)), which] = 1.0
    count = members.sum(axis=0)
    used = count > 0
    accuracy = (outcomes @ members)[:, used] / count[used]
    mean_confidence = (confidence @ members)[used] / count[used]
    ece = (np.abs(accuracy - mean_confidence) * (count[used] / len(confidence))).sum(axis=1)
    return float(np.median(ece))


def precision_coverage_curve(confidence: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision of the auto-routed tickets against the share routed, sweeping one global threshold."""
    order = np.argsort(-np.asarray(confidence, dtype=float), kind="stable")
    hits = np.asarray(correct, dtype=float)[order]
    routed = np.arange(1, len(hits) + 1)
    return np.cumsum(hits) / routed, routed / max(len(hits), 1)


def coverage_at_precision(confidence: np.ndarray, correct: np.ndarray, target: float) -> float:
    """The largest share of tickets that can be auto-routed with precision >= target (0 if none)."""
    if len(confidence) == 0:
        return 0.0
    precision, coverage = precision_coverage_curve(confidence, correct)
    ok = precision >= target
    return float(coverage[ok].max()) if ok.any() else 0.0


def classification_report(
    y_true: Sequence[str], y_pred: Sequence[str], confidence: np.ndarray
) -> dict[str, object]:
    """Accuracy, macro/weighted F1, ECE, coverage at 90/95 % precision and per-class P/R/F1."""
    y_true_a, y_pred_a = np.asarray(y_true), np.asarray(y_pred)
    correct = y_true_a == y_pred_a
    labels = sorted(set(y_true_a.tolist()) | set(y_pred_a.tolist()))
    p, r, f, s = precision_recall_fscore_support(y_true_a, y_pred_a, labels=labels, zero_division=0)
    return {
        "n": len(y_true_a),
        "accuracy": float(accuracy_score(y_true_a, y_pred_a)),
        "macro_f1": float(
            f1_score(y_true_a, y_pred_a, average="macro", labels=sorted(set(y_true_a)), zero_division=0)
        ),
        "weighted_f1": float(f1_score(y_true_a, y_pred_a, average="weighted", zero_division=0)),
        "ece": expected_calibration_error(confidence, correct),
        "coverage_at_90": coverage_at_precision(confidence, correct, 0.90),
        "coverage_at_95": coverage_at_precision(confidence, correct, 0.95),
        "per_class": {
            label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, label in enumerate(labels)
        },
    }
