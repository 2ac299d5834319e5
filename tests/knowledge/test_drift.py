from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from knowledge.db import Database, SchemaVersionError
from knowledge.drift import (
    BANDS,
    MIN_SAMPLE,
    NO_LIVE,
    TOO_FEW,
    Profile,
    binned_shares,
    compare,
    confidence_bin_edges,
    drift_report,
    histogram_psi,
    level,
    psi,
    psi_interval,
)
from knowledge.ledger import Ledger, PredictionRecord
from knowledge.migrations import upgrade

EDGES = confidence_bin_edges()
REFERENCE = {
    "label_distribution": {"IT": 0.5, "HR": 0.3, "Finance": 0.2},
    "predicted_distribution": {"IT": 0.5, "HR": 0.3, "Finance": 0.2},
    "confidence_bin_edges": EDGES,
    "confidence_histogram": [0.0, 0.0, 0.0, 0.05, 0.05, 0.1, 0.1, 0.2, 0.25, 0.25],
    "mean_confidence": 0.8,
    "abstention_rate": 0.1,
}


def _draw(n: int, seed: int, labels: dict[str, float] | None = None) -> Profile:
    """n predictions drawn from REFERENCE (or from other label shares): unchanged traffic by default."""
    rng = np.random.default_rng(seed)
    shares = labels or REFERENCE["predicted_distribution"]
    values = rng.choice(list(shares), size=n, p=list(shares.values())).tolist()
    bins = rng.choice(10, size=n, p=REFERENCE["confidence_histogram"])
    confidences = (bins / 10 + 0.05).tolist()
    return Profile.of(values, confidences, [c < 0.5 for c in confidences], EDGES)


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
    shares = binned_shares([0.0, 0.05, 0.55, 1.0], EDGES)
    assert len(EDGES) == 11 and len(shares) == 10
    assert shares[0] == 0.5 and shares[5] == 0.25 and shares[9] == 0.25


def test_a_handful_of_predictions_is_never_significant() -> None:
    # Eleven predictions, all one label in one confidence bin: a huge PSI, but no band.
    few = Profile.of(["HR"] * 11, [0.35] * 11, [True] * 11, EDGES)
    figures = compare(REFERENCE, few)
    assert figures["label_psi"] > 1.0 and figures["confidence_psi"] > 1.0
    assert figures["label_drift"] == TOO_FEW and figures["confidence_drift"] == TOO_FEW
    low, high = figures["confidence_psi_interval"]
    assert low <= figures["confidence_psi"] <= high or high - low < 1e-9


@pytest.mark.parametrize("n", [MIN_SAMPLE, 300])
def test_unchanged_traffic_is_not_called_significant(n: int) -> None:
    # Before intervals, PSI of a sample over 10 bins averaged ~9/n by chance: "moderate" at n=100.
    bands = [compare(REFERENCE, _draw(n, seed)) for seed in range(20)]
    assert all(b["confidence_drift"] != "significant" and b["label_drift"] != "significant" for b in bands)
    assert sum(b["confidence_drift"] == "stable" for b in bands) >= 18


def test_a_real_shift_is_significant_with_its_interval_above_the_band() -> None:
    shifted = compare(REFERENCE, _draw(400, 1, labels={"IT": 0.05, "HR": 0.15, "Finance": 0.8}))
    assert shifted["label_drift"] == "significant"
    low, high = shifted["label_psi_interval"]
    assert 0.25 <= low <= shifted["label_psi"] <= high


def test_psi_interval_narrows_with_more_predictions() -> None:
    small = psi_interval({"A": 0.5, "B": 0.5}, {"A": 30, "B": 20})
    large = psi_interval({"A": 0.5, "B": 0.5}, {"A": 3000, "B": 2000})
    assert small[1] - small[0] > large[1] - large[0] > 0
    assert psi_interval({"A": 1.0}, {}) == (0.0, 0.0)


def test_compare_finds_confidence_drift_against_reference() -> None:
    rng = np.random.default_rng(0)
    confident = rng.uniform(0.8, 1.0, 500)
    reference = {
        "label_distribution": {"A": 0.5, "B": 0.5},
        "confidence_bin_edges": EDGES,
        "confidence_histogram": binned_shares(confident, EDGES),
        "mean_confidence": float(confident.mean()),
        "abstention_rate": 0.0,
    }
    same = compare(
        reference, Profile.of(["A", "B"] * 100, rng.uniform(0.8, 1.0, 200).tolist(), [False] * 200)
    )
    assert same["confidence_psi"] < 0.1 and same["confidence_drift"] == "stable"
    assert same["label_psi"] == pytest.approx(0.0, abs=1e-12)
    unsure = compare(
        reference, Profile.of(["A", "B"] * 100, rng.uniform(0.3, 0.6, 200).tolist(), [True] * 200)
    )
    assert unsure["confidence_psi"] > 0.25 and unsure["confidence_drift"] == "significant"
    assert unsure["label_drift"] == "stable" and unsure["abstention_rate"] == 1.0


def test_label_psi_compares_predictions_with_held_out_predictions() -> None:
    # The model predicts A for 80 % of held-out tickets whose true share is 50 %: unchanged traffic
    # is stable against its own predictions, not "drift" against the true labels.
    reference = {"label_distribution": {"A": 0.5, "B": 0.5}, "predicted_distribution": {"A": 0.8, "B": 0.2}}
    live = compare(reference, Profile.of(["A"] * 800 + ["B"] * 200, [0.9] * 1000, [False] * 1000))
    assert live["reference_label_distribution"] == {"A": 0.8, "B": 0.2}
    assert live["label_psi"] == pytest.approx(0.0, abs=1e-12) and live["label_drift"] == "stable"
    older = compare(
        {"label_distribution": {"A": 0.5, "B": 0.5}},
        Profile.of(["A"] * 800 + ["B"] * 200, [0.9] * 1000, [False] * 1000),
    )
    assert older["label_psi"] > 0.25 and older["label_drift"] == "significant"


def test_drift_report_has_windows_bands_and_no_live_case() -> None:
    day_one = _draw(200, 3)
    day_two = _draw(150, 4, labels={"IT": 0.0, "HR": 0.0, "Finance": 1.0})
    windows = [
        Profile(**{**vars(day_two), "start": "2026-03-02"}),
        Profile(**{**vars(day_one), "start": "2026-03-01"}),
        Profile(**{**vars(_draw(5, 5)), "start": "2026-03-03"}),
    ]
    total = Profile.of(["IT"] * 355, [0.85] * 355, [False] * 355, EDGES)
    report = drift_report(REFERENCE, total, windows, model_version="v1", reference_source="oof")
    assert report["n_live"] == 355 and report["min_sample"] == MIN_SAMPLE and report["bands"] == BANDS
    assert [w["start"] for w in report["windows"]] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert [w["label_drift"] for w in report["windows"]] == ["stable", "significant", TOO_FEW]
    assert len(report["live_confidence_histogram"]) == len(report["confidence_bin_edges"]) - 1
    json.dumps(report)
    empty = drift_report(REFERENCE, Profile.of([], [], []), model_version="v1")
    assert empty["n_live"] == 0 and empty["label_drift"] == NO_LIVE and empty["windows"] == []
    missing = drift_report(None, total, model_version="v1", head="priority")
    assert "no training label distribution for 'priority'" in missing["error"]
    with pytest.raises(ValueError, match="known: day, hour"):
        drift_report(REFERENCE, total, model_version="v1", window="fortnight")


def _log(
    ledger: Ledger,
    profile_values: list[tuple[str, float]],
    at: datetime,
    version: str = "v1",
    role: str = "active",
) -> None:
    ledger.log(
        [
            PredictionRecord("acme", f"t{i}", version, role, "department", v, c, c < 0.5, "zh", at)
            for i, (v, c) in enumerate(profile_values)
        ]
    )


def test_ledger_drift_profile_aggregates_in_the_database(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "db.sqlite")
    ledger.open()
    day = datetime(2026, 3, 1, 10, 15, tzinfo=UTC)
    first = [("IT", 0.95), ("HR", 0.45), ("IT", 0.7), ("Finance", 1.0)]
    second = [("HR", 0.3), ("HR", 0.55)]
    _log(ledger, first, day)
    _log(ledger, second, day + timedelta(days=1))
    _log(ledger, [("IT", 0.9)] * 3, day, version="v0", role="canary")
    _log(ledger, [("IT", 0.9)] * 7, day, version="v2", role="shadow")
    ledger.flush()
    profile, windows, other = ledger.drift_profile("acme", "department", "v1")
    values = first + second
    raw = Profile.of([v for v, _ in values], [c for _, c in values], [c < 0.5 for _, c in values], EDGES)
    assert (
        profile.label_counts == raw.label_counts
        and list(profile.confidence_counts or []) == raw.confidence_counts
    )
    assert profile.abstained == raw.abstained and profile.confidence_sum == pytest.approx(raw.confidence_sum)
    assert other == 3  # the canary's; shadow predictions are never live
    assert [(w.start, w.n) for w in windows] == [("2026-03-01", 4), ("2026-03-02", 2)]
    hourly = ledger.drift_profile("acme", "department", "v1", window="hour")[1]
    assert [w.start for w in hourly] == ["2026-03-01T10", "2026-03-02T10"]
    # A period is widened to whole hours: 10:30 to 10:45 on day one still covers 10:15.
    part = ledger.drift_profile(
        "acme", "department", "v1", day + timedelta(minutes=15), day + timedelta(minutes=30)
    )[0]
    assert part.n == 4
    assert ledger.drift_profile("acme", "department", "v1", since=day + timedelta(hours=1))[0].n == 2
    assert ledger.drift_profile("acme", "department", "v1", until=day.replace(minute=0))[0].n == 0
    ledger.close()


@pytest.mark.sqlite_only("writes an old SQLite file with sqlite3 (the pre-migration format)")
def test_ledger_builds_hourly_aggregates_for_an_older_database(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE predictions (id INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, ticket_id TEXT,"
        " version TEXT NOT NULL, role TEXT NOT NULL, head TEXT NOT NULL, value TEXT NOT NULL,"
        " confidence REAL NOT NULL, abstained INTEGER NOT NULL, at TEXT NOT NULL);"
        "INSERT INTO predictions (tenant, ticket_id, version, role, head, value, confidence, abstained, at) VALUES"
        " ('acme', 't1', 'v1', 'active', 'department', 'IT', 0.95, 0, '2026-03-01T10:00:00.000+00:00'),"
        " ('acme', 't2', 'v1', 'active', 'department', 'HR', 0.35, 1, '2026-03-01T11:00:00.000+00:00');"
    )
    conn.commit()
    conn.close()
    with pytest.raises(
        SchemaVersionError, match=r"database schema 0, this build needs \d+: run `triage db upgrade`"
    ):
        Ledger(path).open()
    old = Database(path, create=False)
    assert upgrade(old.make_engine(), old.dialect)[0] == 0  # what `triage db upgrade` does
    ledger = Ledger(path)
    ledger.open()
    profile, _, _ = ledger.drift_profile("acme", "department", "v1")
    assert profile.label_counts == {"IT": 1, "HR": 1} and profile.abstained == 1
    assert list(profile.confidence_counts or []) == [0, 0, 0, 1, 0, 0, 0, 0, 0, 1]
    ledger.log([PredictionRecord("acme", "t3", "v1", "active", "department", "IT", 0.9, False, "en")])
    ledger.flush()
    assert ledger.drift_profile("acme", "department", "v1")[0].n == 3
    ledger.close()
