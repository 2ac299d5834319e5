from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from embeddings import get_encoder
from training.data import DataError
from training.finetune import (
    REPORT_FILE,
    FinetuneSettings,
    batches,
    export_onnx,
    finetune,
    gitbugs_pairs,
    main,
    training_pairs,
)


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _bug(bug_id: str, resolution: str = "Fixed") -> dict[str, str]:
    return {
        "Summary": f"summary of bug {bug_id}",
        "Issue id": bug_id,
        "Resolution": resolution,
        "Description": f"a long enough description of what goes wrong in bug {bug_id}",
    }


@pytest.fixture
def datasets(tmp_path: Path) -> Path:
    """A tiny stand-in for ../shared/datasets with the files and columns the pair builders read."""
    gitbugs = tmp_path / "gitbugs-hadoop-seamonkey"
    _write(gitbugs / "hadoop_bugs.csv", [_bug(str(i)) for i in range(1, 9)] + [_bug("9", "Duplicate")])
    _write(gitbugs / "eval_duplicate_pairs_hadoop.csv", [{"query_id": "1", "duplicate_id": "2"}])
    _write(gitbugs / "hadoop_bugs-combined.csv", [{"Issue id": "3", "Duplicate id": "4"}])
    _write(gitbugs / "SeaMonkey_bugs.csv", [_bug(str(i)) for i in range(100, 106)])
    _write(gitbugs / "eval_duplicate_pairs_seamonkey.csv", [{"query_id": "100", "duplicate_id": "101"}])
    ict = [{"id": str(i), "text": f"故障 {i}", "label": "网络", "resolution": f"重启 {i}"} for i in range(4)]
    _write(tmp_path / "cn-ict-fault-tickets" / "split" / "train.csv", [*ict, {**ict[0], "resolution": ""}])
    afqmc = [{"sentence1": f"问题 {i}", "sentence2": f"请问 {i}", "label": str(i % 2)} for i in range(8)]
    _write(tmp_path / "cn-afqmc-pairs" / "train.csv", afqmc)
    return tmp_path


def test_gitbugs_pairs_leave_out_every_evaluated_and_duplicate_bug(datasets: Path) -> None:
    pairs = gitbugs_pairs(datasets, "hadoop")
    used = {anchor.rsplit(" ", 1)[1] for anchor, _ in pairs}
    assert used == {"5", "6", "7", "8"}  # 1, 2: benchmark pair; 3, 4: other pair file; 9: a duplicate
    assert all(p.startswith("a long enough description") for _, p in pairs)


def test_training_pairs_take_only_training_rows(datasets: Path) -> None:
    settings = FinetuneSettings(gitbugs_pairs=100, ict_pairs=100, afqmc_pairs=100)
    pairs = training_pairs(datasets, settings)
    assert {k: len(v) for k, v in pairs.items()} == {"gitbugs": 8, "cn-ict": 4, "afqmc": 4}
    assert all(anchor.split()[1] in {"1", "3", "5", "7"} for anchor, _ in pairs["afqmc"])  # label 1 only
    assert training_pairs(datasets, settings) == pairs  # same seed, same sample


def test_training_pairs_limit_and_skip_sources(datasets: Path) -> None:
    pairs = training_pairs(datasets, FinetuneSettings(gitbugs_pairs=3, ict_pairs=0, afqmc_pairs=2))
    assert {k: len(v) for k, v in pairs.items()} == {"gitbugs": 3, "afqmc": 2}


def test_batches_hold_one_source_and_an_in_batch_negative() -> None:
    pairs = {"a": [(f"a{i}", f"A{i}") for i in range(7)], "b": [(f"b{i}", f"B{i}") for i in range(5)]}
    plan = batches(pairs, batch_size=3, seed=0)
    assert all({anchor[0] for anchor, _ in batch} == {source} for source, batch in plan)
    assert all(len(batch) >= 2 for _, batch in plan)
    assert sum(len(batch) for _, batch in plan) == 7 - 1 + 5  # a's last batch of one is dropped
    assert [source for source, _ in plan] != sorted(source for source, _ in plan)  # sources interleave


def test_training_pairs_missing_datasets_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nowhere not found"):
        training_pairs(tmp_path / "nowhere", FinetuneSettings())


def test_cli_missing_datasets_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--datasets", str(tmp_path / "nowhere"), "--out", str(tmp_path / "model")]) == 2
    assert "nowhere not found" in capsys.readouterr().err


def test_export_missing_model_directory_names_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nowhere' not found"):
        export_onnx(tmp_path / "nowhere", tmp_path / "out")


def test_settings_fingerprint_follows_the_settings() -> None:
    assert FinetuneSettings().fingerprint() == FinetuneSettings().fingerprint()
    assert FinetuneSettings().fingerprint() != FinetuneSettings(learning_rate=1e-4).fingerprint()


# ---------------------------------------------------------------- a few real steps on the bundled MiniLM

_DEVICES = ["printer", "vpn client", "laptop screen", "mail server", "badge reader", "wifi router"]
_PROBLEMS = ["is offline", "drops the connection", "flickers", "rejects logins", "beeps twice", "reboots"]


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pairs = {
        "tickets": [
            (f"{device} {problem}", f"the {device} {problem} since this morning; fixed by a restart")
            for device, problem in zip(_DEVICES, _PROBLEMS, strict=True)
        ]
    }
    settings = FinetuneSettings(batch_size=3, max_seq_length=32, learning_rate=1e-4, max_steps=3)
    folder = tmp_path_factory.mktemp("tuned")
    finetune(pairs, folder, settings)
    return folder


@pytest.mark.slow
def test_finetune_saves_a_loadable_changed_model(tuned: Path) -> None:
    report = json.loads((tuned / REPORT_FILE).read_text())
    assert report["steps"] == 2 and report["pairs"] == {"tickets": 6}
    assert set(report["loss"]) == {"tickets"}
    assert report["serving_max_seq_length"] == 256  # trained at 32, encodes at the base model's limit
    encoder = get_encoder(f"sentence-transformers:{tuned}")
    vectors = encoder.encode(["printer is offline", "wifi router reboots"])
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    base = get_encoder("sentence-transformers:minilm").encode(["printer is offline", "wifi router reboots"])
    assert float(np.sum(vectors * base, axis=1).min()) < 0.99999  # the weights moved


@pytest.mark.slow
def test_finetuned_model_exports_to_int8_that_agrees_with_torch(tuned: Path, tmp_path: Path) -> None:
    export_onnx(tuned, tmp_path / "int8")
    texts = ["printer is offline", "the vpn client drops the connection after login", "badge reader beeps"]
    int8 = get_encoder(f"onnx:{tmp_path / 'int8'}").encode(texts)
    reference = get_encoder(f"sentence-transformers:{tuned}").encode(texts)
    assert int8.shape == reference.shape == (3, 384)
    assert float(np.sum(int8 * reference, axis=1).min()) >= 0.98
