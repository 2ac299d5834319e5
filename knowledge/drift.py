"""Drift of live predictions against a model's training-time reference: population stability index.

PSI = sum over bins of (live - reference) * ln(live / reference), with shares floored at a small
epsilon. Conventional bands: PSI < 0.1 stable, 0.1 <= PSI < 0.25 moderate shift, PSI >= 0.25
significant shift.

PSI of a small sample is large by chance alone: with k bins and n live predictions it averages
about (k - 1) / n even when nothing changed (eleven predictions over ten confidence bins score
~0.8, "significant"). So every PSI comes with a bootstrap interval (the live counts redrawn from
their own shares), a band is the band of the interval's lower end (the shift the data supports),
and below ``MIN_SAMPLE`` predictions no band is given at all: the figures say ``too few
predictions``.

Runtime code: the server reads per-hour aggregates from the ledger (``Ledger.drift_profile``) and
compares them here; the offline evaluation report compares a test split the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

EPSILON = 1e-4
STABLE_BELOW = 0.1
SIGNIFICANT_FROM = 0.25
BANDS = {
    "stable": f"PSI < {STABLE_BELOW}",
    "moderate": f"{STABLE_BELOW} <= PSI < {SIGNIFICANT_FROM}",
    "significant": f"PSI >= {SIGNIFICANT_FROM}",
}
MIN_SAMPLE = 100
INTERVAL = 0.9  # two-sided bootstrap interval
DRAWS = 200
CONFIDENCE_BINS = 10
NO_LIVE = "no live predictions yet"
TOO_FEW = "too few predictions"
# Length of the ISO timestamp prefix that names a window ("2026-01-31" / "2026-01-31T09").
WINDOWS = {"day": 10, "hour": 13}
MAX_WINDOWS = 31  # the most recent windows reported


def confidence_bin_edges(bins: int = CONFIDENCE_BINS) -> list[float]:
    """Equal-width bin edges over [0, 1]."""
    return [round(float(e), 6) for e in np.linspace(0.0, 1.0, bins + 1)]


def confidence_bin(confidence: float, bins: int = CONFIDENCE_BINS) -> int:
    """The equal-width bin of a confidence (1.0 falls in the last bin), as ``binned_shares`` counts it."""
    return min(max(int(confidence * bins), 0), bins - 1)


def binned_counts(values: Sequence[float] | np.ndarray, edges: Sequence[float]) -> list[int]:
    """Count of ``values`` in each bin (the last bin includes its right edge; outside values are clipped)."""
    array = np.clip(np.asarray(values, dtype=float), edges[0], edges[-1])
    counts, _ = np.histogram(array, bins=np.asarray(edges, dtype=float))
    return [int(c) for c in counts]


def binned_shares(values: Sequence[float] | np.ndarray, edges: Sequence[float]) -> list[float]:
    """Share of ``values`` in each bin (the last bin includes its right edge; outside values are clipped)."""
    counts = binned_counts(values, edges)
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def label_shares(values: Sequence[str]) -> dict[str, float]:
    """Share of each label, sorted by label."""
    counts = Counter(str(v) for v in values)
    total = sum(counts.values())
    return {label: count / total for label, count in sorted(counts.items())} if total else {}


def psi(reference: Mapping[Any, float], live: Mapping[Any, float]) -> float:
    """Population stability index between two distributions (counts or shares) over the same keys."""
    keys = sorted(set(reference) | set(live), key=str)
    return float(_psi_rows(_shares(reference, keys), np.asarray([[live.get(k, 0.0) for k in keys]]))[0])


def histogram_psi(reference: Sequence[float], live: Sequence[float]) -> float:
    """PSI between two histograms over the same bins."""
    if len(reference) != len(live):
        raise ValueError(f"histograms have {len(reference)} and {len(live)} bins: bin both on the same edges")
    return psi(dict(enumerate(reference)), dict(enumerate(live)))


def _shares(distribution: Mapping[Any, float], keys: Sequence[Any]) -> np.ndarray:
    values = np.asarray([float(distribution.get(k, 0.0)) for k in keys])
    total = values.sum()
    return values / total if total else values


def _psi_rows(reference: np.ndarray, live: np.ndarray) -> np.ndarray:
    """PSI of each row of ``live`` (counts or shares) against the ``reference`` shares."""
    totals = live.sum(axis=1, keepdims=True)
    a = np.maximum(np.divide(live, totals, out=np.zeros_like(live, dtype=float), where=totals > 0), EPSILON)
    e = np.maximum(reference, EPSILON)
    return np.asarray(((a - e) * np.log(a / e)).sum(axis=1))


def psi_interval(
    reference: Mapping[Any, float], live_counts: Mapping[Any, int], draws: int = DRAWS, seed: int = 0
) -> tuple[float, float]:
    """Bootstrap interval (``INTERVAL``, percentile) of the PSI: live counts redrawn from their own shares."""
    keys = sorted(set(reference) | set(live_counts), key=str)
    counts = np.asarray([float(live_counts.get(k, 0)) for k in keys])
    n = int(counts.sum())
    if n == 0:
        return (0.0, 0.0)
    redrawn = np.random.default_rng(seed).multinomial(n, counts / n, size=draws).astype(float)
    values = _psi_rows(_shares(reference, keys), redrawn)
    tail = (1.0 - INTERVAL) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return (float(low), float(high))


def level(value: float) -> str:
    """The conventional band of a PSI value: stable, moderate or significant."""
    return "stable" if value < STABLE_BELOW else "moderate" if value < SIGNIFICANT_FROM else "significant"


@dataclass(frozen=True)
class Profile:
    """What one head predicted in a period, as counts: the input of every drift figure.

    ``confidence_counts`` are over ``confidence_edges`` (None when the confidences were not binned).
    """

    n: int
    label_counts: Mapping[str, int]
    confidence_counts: Sequence[int] | None
    confidence_edges: Sequence[float] | None
    confidence_sum: float
    abstained: int
    start: str = field(default="")

    @classmethod
    def of(
        cls,
        values: Sequence[str],
        confidences: Sequence[float],
        abstained: Sequence[bool],
        edges: Sequence[float] | None = None,
        start: str = "",
    ) -> Profile:
        """The profile of raw predictions (the offline report; the server reads aggregates instead)."""
        edges = list(edges) if edges else confidence_bin_edges()
        return cls(
            n=len(values),
            label_counts=dict(Counter(str(v) for v in values)),
            confidence_counts=binned_counts(confidences, edges),
            confidence_edges=edges,
            confidence_sum=float(np.sum(np.asarray(confidences, dtype=float))),
            abstained=int(np.sum(np.asarray(abstained, dtype=bool))),
            start=start,
        )


def _band(n: int, low: float, min_sample: int) -> str:
    return TOO_FEW if n < min_sample else level(low)


def compare(
    reference: Mapping[str, Any] | None, profile: Profile, min_sample: int = MIN_SAMPLE
) -> dict[str, Any]:
    """Label and confidence PSI (with intervals and bands) of one head's predictions against its reference.

    Live predictions are compared like for like with the model's own held-out predicted label
    shares (a model that over-predicts a label would otherwise show "drift" on unchanged
    traffic); references from before those were stored fall back to the training labels. Figures
    the reference cannot support (no confidence histogram in older bundles) are None.
    """
    reference = reference or {}
    label_reference = reference.get("predicted_distribution") or reference.get("label_distribution")
    n = profile.n
    total = sum(profile.label_counts.values())
    out: dict[str, Any] = {
        "n": n,
        "min_sample": min_sample,
        "label_distribution": {k: v / total for k, v in sorted(profile.label_counts.items())}
        if total
        else {},
        "reference_label_distribution": label_reference,
        "label_psi": None,
        "label_psi_interval": None,
        "label_drift": None,
        "confidence_bin_edges": reference.get("confidence_bin_edges"),
        "confidence_histogram": None,
        "reference_confidence_histogram": reference.get("confidence_histogram"),
        "confidence_psi": None,
        "confidence_psi_interval": None,
        "confidence_drift": None,
        "mean_confidence": profile.confidence_sum / n if n else None,
        "reference_mean_confidence": reference.get("mean_confidence"),
        "abstention_rate": profile.abstained / n if n else None,
        "reference_abstention_rate": reference.get("abstention_rate"),
    }
    if not n:
        return out
    if label_reference:
        out["label_psi"] = psi(label_reference, profile.label_counts)
        out["label_psi_interval"] = list(psi_interval(label_reference, profile.label_counts))
        out["label_drift"] = _band(n, out["label_psi_interval"][0], min_sample)
    edges, histogram = out["confidence_bin_edges"], out["reference_confidence_histogram"]
    same_bins = (
        profile.confidence_counts is not None
        and profile.confidence_edges is not None
        and edges is not None
        and np.allclose(np.asarray(edges, dtype=float), np.asarray(profile.confidence_edges, dtype=float))
    )
    if edges and histogram and same_bins and profile.confidence_counts is not None:
        counts = list(profile.confidence_counts)
        binned = sum(counts)
        out["confidence_histogram"] = [c / binned if binned else 0.0 for c in counts]
        ref = dict(enumerate(histogram))
        live = dict(enumerate(counts))
        out["confidence_psi"] = psi(ref, live)
        out["confidence_psi_interval"] = list(psi_interval(ref, live))
        out["confidence_drift"] = _band(n, out["confidence_psi_interval"][0], min_sample)
    return out


WINDOW_KEYS = (
    "n",
    "label_psi",
    "label_psi_interval",
    "label_drift",
    "confidence_psi",
    "confidence_psi_interval",
    "confidence_drift",
    "mean_confidence",
    "abstention_rate",
)


def drift_report(
    reference: Mapping[str, Any] | None,
    profile: Profile,
    windows: Sequence[Profile] = (),
    *,
    model_version: str,
    head: str = "department",
    window: str = "day",
    reference_source: str | None = None,
    reference_note: str | None = None,
    n_other_versions: int = 0,
    min_sample: int = MIN_SAMPLE,
) -> dict[str, Any]:
    """One head's live predictions of one model version against its reference, overall and per window."""
    if window not in WINDOWS:
        raise ValueError(f"unknown drift window {window!r}; known: {', '.join(WINDOWS)}")
    report: dict[str, Any] = {
        "model_version": model_version,
        "head": head,
        "n_live": profile.n,
        "n_other_versions": n_other_versions,
        "min_sample": min_sample,
        "interval": INTERVAL,
        "bands": BANDS,
    }
    if reference is None or not reference.get("label_distribution"):
        report["error"] = f"model {model_version} has no training label distribution for {head!r}"
        report["reference_note"] = reference_note
        return report
    figures = compare(reference, profile, min_sample)
    report |= {
        "reference": reference_source,
        "reference_note": reference_note,
        "reference_distribution": figures["reference_label_distribution"],
        "reference_confidence_histogram": figures["reference_confidence_histogram"],
        "reference_mean_confidence": figures["reference_mean_confidence"],
        "reference_abstention_rate": figures["reference_abstention_rate"],
        "confidence_bin_edges": figures["confidence_bin_edges"],
        "window": window,
    }
    if not profile.n:
        return report | {"label_psi": None, "label_drift": NO_LIVE, "windows": []}
    report |= {
        "live_distribution": figures["label_distribution"],
        "live_confidence_histogram": figures["confidence_histogram"],
        **{key: figures[key] for key in WINDOW_KEYS if key != "n"},
        "windows": [
            {"start": w.start}
            | {k: v for k, v in compare(reference, w, min_sample).items() if k in WINDOW_KEYS}
            for w in sorted(windows, key=lambda w: w.start)[-MAX_WINDOWS:]
        ],
    }
    return report
