"""The demo's bundle is retrained when the code that trains it changes, and grown copies follow it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eval.bench import sync_models
from training.demo import (
    TRAINER,
    DemoPaths,
    _read_jsonl,
    bundle_is_current,
    demo_table,
    trainer_fingerprint,
)
from triage.bundle import MANIFEST


def test_the_demo_bundle_names_the_code_that_trained_it(demo_dir: Path, tmp_path: Path) -> None:
    paths = DemoPaths(demo_dir)
    table = demo_table(_read_jsonl(paths.tickets))
    manifest = json.loads((paths.bundle / MANIFEST).read_text())
    assert manifest[TRAINER] == trainer_fingerprint()
    assert bundle_is_current(paths, table, "use-m3")
    assert not bundle_is_current(paths, table, "minilm")

    # The same bundle trained by other code (an older checkout, before an upgrade): stale.
    other = DemoPaths(tmp_path / "var")
    shutil.copytree(paths.bundle, other.bundle)
    (other.bundle / MANIFEST).write_text(json.dumps({**manifest, TRAINER: "0123456789abcdef"}))
    assert not bundle_is_current(other, table, "use-m3")
    (other.bundle / MANIFEST).write_text(json.dumps({k: v for k, v in manifest.items() if k != TRAINER}))
    assert not bundle_is_current(other, table, "use-m3")


def test_the_fingerprint_changes_with_the_training_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import training.demo as demo

    root = tmp_path / "checkout"
    for package in ("training", "triage"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "training" / "demo.py").write_text("# trainer\n")
    monkeypatch.setattr(demo, "__file__", str(root / "training" / "demo.py"))
    before = demo.trainer_fingerprint()
    assert demo.trainer_fingerprint() == before  # stable
    (root / "triage" / "tfidf.py").write_text("# a new module\n")
    changed = demo.trainer_fingerprint()
    assert changed != before
    (root / "triage" / "summary.py").write_text("# not in a bundle\n")
    assert demo.trainer_fingerprint() == changed


def test_a_grown_copy_takes_the_demos_current_bundle(tmp_path: Path) -> None:
    demo, grown = DemoPaths(tmp_path / "var"), DemoPaths(tmp_path / "var-40")
    for paths, trainer in ((demo, "new"), (grown, "old")):
        paths.bundle.mkdir(parents=True)
        (paths.bundle / MANIFEST).write_text(json.dumps({TRAINER: trainer}))
        (paths.bundle / "router.pkl").write_text(f"router by {trainer} code")
    grown.database.write_text("the grown knowledge base")

    sync_models(demo.data_dir, grown.data_dir)
    assert (grown.bundle / "router.pkl").read_text() == "router by new code"
    assert json.loads((grown.bundle / MANIFEST).read_text()) == {TRAINER: "new"}
    assert grown.database.read_text() == "the grown knowledge base"  # only the models change
    assert not grown.models.with_name("models.partial").exists()

    # Already the same: nothing is copied.
    (grown.bundle / "router.pkl").write_text("touched")
    sync_models(demo.data_dir, grown.data_dir)
    assert (grown.bundle / "router.pkl").read_text() == "touched"
