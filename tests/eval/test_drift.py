from __future__ import annotations

import json

import numpy as np
import pytest

from eval.drift import (
    BANDS,
    NO_LIVE,
    compare,
    drift_report,
    histogram_psi,
    level,
    psi,
    windowed,
)
from tests.eval.tables import without_reference
from triage.bundle import ModelBundle, binned_shares, confidence_bin_edges


@pytest.fixture
def bundle(drift_bundle: ModelBundle) -> ModelBundle:
    return drift_bundle


def _rows(values: list[str], confidences: list[float], version: str = "d1", at: str = "") -> list[dict]:
    return [
        {"value": v, "confidence": c, "abstained": c < 0.5, "version": version, "role": "active", "at": at}
        for v, c in zip(values, confidences, strict=True)
    ]


def test_psi_is_zero_for_identical_distributions() -> None:
    shares = {"IT": 0.5, "HR": 0.3, "Finance": 0.2}
    assert psi(shares, shares) == pytest.approx(0.0, abs=1e-12)
    # Counts and shares of the same distribution are the same distribution.
    assert psi(shares, {"IT": 50, "HR": 30, "Finance": 20}) == pytest.approx(0.0, abs=1e-12)


def test_psi_is_large_for_shifted_distributions() -> None:
    reference = {"IT": 0.5, "HR": 0.3, "Finance": 0.2}
    assert level(psi(reference, {"IT": 0.45, "HR": 0.33, "Finance": 0.22})) == "stable"
    assert level(psi(reference, {"IT": 0.3, "HR": 0.4, "Finance": 0.3})) == "moderate"
    assert psi(reference, {"IT": 0.05, "HR": 0.05, "Finance": 0.9}) > 1.0
    # A label the reference never saw is a shift too.
    assert level(psi(reference, {"IT": 0.5, "Security": 0.5})) == "significant"


@pytest.mark.parametrize(
    ("value", "band"),
    [(0.0, "stable"), (0.099, "stable"), (0.1, "moderate"), (0.2, "moderate"), (0.25, "significant")],
)
def test_level_follows_the_conventional_bands(value: float, band: str) -> None:
    assert level(value) == band
    assert set(BANDS) == {"stable", "moderate", "significant"}


def test_histogram_psi_refuses_histograms_on_other_bins() -> None:
    with pytest.raises(ValueError, match="same edges"):
        histogram_psi([0.5, 0.5], [0.2, 0.3, 0.5])


def test_binned_shares_put_one_in_the_last_bin() -> None:
    edges = confidence_bin_edges(10)
    shares = binned_shares([0.0, 0.05, 0.55, 1.0], edges)
    assert len(edges) == 11 and len(shares) == 10
    assert shares[0] == 0.5 and shares[5] == 0.25 and shares[9] == 0.25


def test_compare_finds_confidence_drift_against_reference() -> None:
    rng = np.random.default_rng(0)
    edges = confidence_bin_edges()
    confident = rng.uniform(0.8, 1.0, 500)
    reference = {
        "label_distribution": {"A": 0.5, "B": 0.5},
        "confidence_bin_edges": edges,
        "confidence_histogram": binned_shares(confident, edges),
        "mean_confidence": float(confident.mean()),
        "abstention_rate": 0.0,
    }
    same = compare(reference, ["A", "B"] * 100, rng.uniform(0.8, 1.0, 200).tolist(), [False] * 200)
    assert same["confidence_psi"] < 0.1 and same["confidence_drift"] == "stable"
    assert same["label_psi"] == pytest.approx(0.0, abs=1e-12)
    unsure = compare(reference, ["A", "B"] * 100, rng.uniform(0.3, 0.6, 200).tolist(), [True] * 200)
    assert unsure["confidence_psi"] > 0.25 and unsure["confidence_drift"] == "significant"
    assert unsure["label_drift"] == "stable" and unsure["abstention_rate"] == 1.0


def test_label_psi_compares_predictions_with_held_out_predictions() -> None:
    # The model predicts A for 80 % of held-out tickets whose true share is 50 %: unchanged traffic
    # is stable against its own predictions, not "drift" against the true labels.
    reference = {"label_distribution": {"A": 0.5, "B": 0.5}, "predicted_distribution": {"A": 0.8, "B": 0.2}}
    live = compare(reference, ["A"] * 80 + ["B"] * 20, [0.9] * 100, [False] * 100)
    assert live["reference_label_distribution"] == {"A": 0.8, "B": 0.2}
    assert live["label_psi"] == pytest.approx(0.0, abs=1e-12) and live["label_drift"] == "stable"
    older = compare(
        {"label_distribution": {"A": 0.5, "B": 0.5}}, ["A"] * 80 + ["B"] * 20, [0.9] * 100, [False] * 100
    )
    assert older["label_psi"] > 0.25


def test_windowed_reports_psi_per_day() -> None:
    reference = {"label_distribution": {"IT": 0.5, "HR": 0.5}}
    rows = _rows(["IT", "HR"] * 20, [0.9] * 40, at="2026-03-01T10:00:00.000+00:00")
    rows += _rows(["IT"] * 40, [0.9] * 40, at="2026-03-02T08:30:00.000+00:00")
    windows = windowed(reference, rows)
    assert [w["start"] for w in windows] == ["2026-03-01", "2026-03-02"]
    assert [w["n"] for w in windows] == [40, 40]
    assert windows[0]["label_drift"] == "stable" and windows[1]["label_drift"] == "significant"
    assert len(windowed(reference, rows, "hour")) == 2 and len(windowed(reference, rows, limit=1)) == 1
    with pytest.raises(ValueError, match="known: day, hour"):
        windowed(reference, rows, "fortnight")


def test_drift_report_keeps_label_keys_and_adds_confidence_drift(bundle: ModelBundle) -> None:
    reference = bundle.drift_reference("department")
    assert reference is not None
    live = _rows(["IT", "Finance", "HR"] * 10, [0.95] * 30, at="2026-03-01T10:00:00+00:00")
    report = drift_report(bundle, live)
    assert report["n_live"] == 30 and report["label_drift"] == "stable" and report["label_psi"] < 0.01
    for key in ("reference_distribution", "live_distribution", "mean_confidence", "abstention_rate"):
        assert key in report
    assert report["bands"] == BANDS and report["reference_note"] is None
    assert report["confidence_psi"] is not None and report["confidence_drift"] in BANDS
    assert len(report["live_confidence_histogram"]) == len(report["confidence_bin_edges"]) - 1
    assert report["reference_confidence_histogram"] == reference["confidence_histogram"]
    assert [w["start"] for w in report["windows"]] == ["2026-03-01"]
    json.dumps(report)
    # All tickets at one confidence bin and one label: a significant shift on both.
    shifted = drift_report(bundle, _rows(["HR"] * 30, [0.35] * 30))
    assert shifted["label_drift"] == "significant" and shifted["confidence_drift"] == "significant"


def test_drift_report_counts_only_the_bundles_own_predictions(bundle: ModelBundle) -> None:
    live = _rows(["IT"] * 5, [0.9] * 5) + _rows(["HR"] * 7, [0.9] * 7, version="other")
    report = drift_report(bundle, live)
    assert report["n_live"] == 5 and report["n_other_versions"] == 7
    assert report["live_distribution"] == {"IT": 1.0}


def test_drift_report_without_live_predictions(bundle: ModelBundle) -> None:
    report = drift_report(bundle, [])
    assert report["n_live"] == 0 and report["label_psi"] is None and report["label_drift"] == NO_LIVE
    assert report["windows"] == []


def test_drift_report_on_a_bundle_without_reference_keeps_label_drift(bundle: ModelBundle) -> None:
    old = without_reference(bundle)
    assert old.drift_reference("department") is None
    report = drift_report(old, _rows(["IT", "Finance", "HR"] * 10, [0.9] * 30))
    assert report["label_drift"] == "stable" and report["label_psi"] is not None
    assert report["confidence_psi"] is None and report["confidence_drift"] is None
    assert "no drift reference" in report["reference_note"] and "retrain" in report["reference_note"]


def test_drift_report_names_a_head_without_labels(bundle: ModelBundle) -> None:
    report = drift_report(bundle, _rows(["P1"], [0.9]), head="priority")
    assert "no training label distribution for 'priority'" in report["error"]
