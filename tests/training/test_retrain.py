from __future__ import annotations

from pathlib import Path

from embeddings import get_encoder
from knowledge.ledger import Feedback, Ledger
from training.data import TicketTable
from training.retrain import Corrections, apply_corrections, load_corrections, retrain
from training.train import train_bundle


def _table() -> TicketTable:
    texts = [f"vpn cannot connect {i}" for i in range(12)] + [f"invoice amount wrong {i}" for i in range(12)]
    labels = ["IT"] * 12 + ["Finance"] * 12
    return TicketTable([f"t{i}" for i in range(24)], texts, {"department": labels})


def test_corrections_relabel_and_append(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "db.sqlite")
    ledger.add_feedback(
        Feedback("acme", "t0", "label", head="department", predicted="IT", correct="Security")
    )
    ledger.add_feedback(
        Feedback("acme", "new-1", "label", head="department", correct="HR", text="payslip missing")
    )
    ledger.add_feedback(Feedback("acme", "t1", "label", head="department", predicted="IT", accepted=True))
    ledger.add_feedback(Feedback("other", "t2", "label", head="department", correct="HR"))
    corrections = load_corrections(ledger, "acme")
    ledger.close()
    assert corrections.labels == {"t0": "Security", "new-1": "HR"}
    merged, report = apply_corrections(_table(), corrections)
    assert merged.labels["department"][0] == "Security"
    assert merged.ids[-1] == "new-1" and merged.texts[-1] == "payslip missing"
    assert report == {
        "corrections": 2,
        "relabelled": 1,
        "relabelled_pairs": {"IT -> Security": 1},
        "appended": 1,
        "unused": 0,
    }


def test_retrain_records_parent_and_metric_changes() -> None:
    encoder = get_encoder("hashing:64")
    parent = train_bundle(_table(), encoder, version="p1", folds=3)
    bundle, report = retrain(_table(), Corrections({}, {}), encoder, parent)
    assert bundle.manifest["parent"] == "p1"
    assert set(report["metrics"]["macro_f1"]) == {"parent", "new"}
    assert bundle.manifest["retrain"]["corrections"] == 0
