from __future__ import annotations

import json
from pathlib import Path

import pytest

from embeddings import get_encoder
from eval.classification import evaluate_bundle, write_html, write_json
from knowledge.drift import BANDS
from tests.eval.tables import ENCODER, department_table, without_reference
from triage.bundle import ModelBundle
from triage.rules import RuleEngine


@pytest.fixture
def bundle(drift_bundle: ModelBundle) -> ModelBundle:
    return drift_bundle


def test_eval_json_has_drift_per_head(bundle: ModelBundle, tmp_path: Path) -> None:
    report = evaluate_bundle(bundle, department_table(40, seed=5), get_encoder(ENCODER))
    write_json(report, tmp_path / "metrics.json")
    drift = json.loads((tmp_path / "metrics.json").read_text())["drift"]
    assert drift["bands"] == BANDS and drift["notes"] == []
    assert "out-of-fold" in drift["reference"]
    head = drift["heads"]["department"]
    assert head["n"] == 120 and head["label_drift"] == "stable" and head["label_psi"] < 0.1
    assert head["confidence_psi"] is not None and head["confidence_drift"] in BANDS
    assert len(head["confidence_histogram"]) == len(head["reference_confidence_histogram"]) == 10


def test_eval_drift_flags_shifted_data(bundle: ModelBundle) -> None:
    report = evaluate_bundle(bundle, department_table(120, seed=5, only="HR"), get_encoder(ENCODER))
    head = report["drift"]["heads"]["department"]
    assert head["label_distribution"] == {"HR": 1.0}
    assert head["label_psi"] > 0.25 and head["label_drift"] == "significant"


def test_eval_drift_of_a_bundle_without_reference(bundle: ModelBundle) -> None:
    report = evaluate_bundle(without_reference(bundle), department_table(40, seed=5), get_encoder(ENCODER))
    drift = report["drift"]
    assert drift["reference"] is None and "retrain" in drift["notes"][0]
    head = drift["heads"]["department"]
    assert head["label_psi"] is not None and head["confidence_psi"] is None


def test_eval_html_has_a_drift_section(bundle: ModelBundle, tmp_path: Path) -> None:
    report = evaluate_bundle(bundle, department_table(40, seed=5), get_encoder(ENCODER))
    write_html(report, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert "Drift against the training data" in page and "confidence PSI" in page
    assert "PSI &lt; 0.1 stable" in page and "alt='confidence drift'" in page
    old = evaluate_bundle(without_reference(bundle), department_table(40, seed=5), get_encoder(ENCODER))
    write_html(old, tmp_path / "old.html")
    assert "no drift reference" in (tmp_path / "old.html").read_text()


def test_eval_reports_model_alone_and_with_rules_as_serving_applies_them(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    rules = RuleEngine(
        data={
            "version": 1,
            "rules": [
                # A wrong rule: the report must show what it costs.
                {"name": "laptops-to-hr", "when": {"keywords": ["laptop"]}, "then": {"department": "HR"}},
                # A label this model does not know: skipped, never output.
                {
                    "name": "vpn-to-security",
                    "when": {"keywords": ["vpn"]},
                    "then": {"department": "Security"},
                },
            ],
        }
    )
    table = department_table(10, seed=5)
    laptops = sum("laptop" in text for text in table.texts)
    report = evaluate_bundle(bundle, table, get_encoder(ENCODER), rules=rules)
    alone, ruled = report["heads"]["department"], report["rules"]["heads"]["department"]
    assert report["rules"]["changed"]["department"] == laptops > 0
    assert ruled["accuracy"] == pytest.approx(alone["accuracy"] - laptops / len(table), abs=1e-9)
    assert "Security" not in ruled["_arrays"]["pred"]
    write_json(report, tmp_path / "metrics.json")
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["rules"]["heads"]["department"]["accuracy"] == pytest.approx(ruled["accuracy"])
    assert "_arrays" not in written["rules"]["heads"]["department"]
    write_html(report, tmp_path / "report.html")
    assert "Model + business rules" in (tmp_path / "report.html").read_text()
