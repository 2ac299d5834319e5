"""The `triage` command: real training, evaluation and indexing on small files (hashing encoder)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serving.cli import app

pytestmark = pytest.mark.slow

_TOPICS = {
    "IT": ["vpn cannot connect error {n}", "VPN 无法连接 错误 {n}", "laptop blue screen {n}"],
    "Finance": ["invoice INV-{n} amount wrong", "报销 {n} 元 未到账", "payment overdue {n}"],
    "HR": ["annual leave balance {n} days", "年假 {n} 天 余额 不对", "payslip {n} missing"],
}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRIAGE_ENCODER", "hashing:64")
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "var"))
    rng = random.Random(0)
    with (tmp_path / "tickets.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ticket", "Short description", "Description", "group", "fix"])
        for i in range(90):
            group = list(_TOPICS)[i % 3]
            text = rng.choice(_TOPICS[group]).format(n=rng.randint(100, 999))
            writer.writerow([f"T{i}", text, f"details {i}", group, f"fixed {i}"])
    return tmp_path


def test_cli_train_eval_and_register(env: Path) -> None:
    runner = CliRunner()
    data = str(env / "tickets.csv")
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            data,
            "--text",
            "Short description",
            "Description",
            "--label",
            "group",
            "--out",
            str(env / "m1"),
            "--register",
            "default",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (env / "m1" / "manifest.json").exists()
    assert "active" in result.output
    result = runner.invoke(
        app,
        [
            "eval",
            "--model",
            str(env / "m1"),
            "--data",
            data,
            "--text",
            "Short description",
            "Description",
            "--label",
            "group",
            "--json",
            str(env / "r.json"),
            "--report",
            str(env / "r.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((env / "r.json").read_text())
    assert {"accuracy", "macro_f1", "weighted_f1", "ece", "coverage_at_90", "coverage_at_95"} <= set(report)
    # The server's rules are applied too, and both are reported.
    assert "model + rules" in result.output and "predictions the rules changed: department" in result.output
    assert report["rules"]["heads"]["department"]["accuracy"] > 0.8
    assert report["accuracy"] > 0.8
    html = (env / "r.html").read_text()
    # Confusion matrix, reliability diagram, precision-coverage curve, and the confidence-drift histogram.
    for alt in ("confusion", "reliability", "coverage", "confidence drift"):
        assert f"<img alt='{alt}' src='data:image/png;base64," in html
    listing = runner.invoke(app, ["models", "list"])
    assert listing.exit_code == 0 and "active" in listing.output


def test_cli_train_names_missing_columns(env: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--data",
            str(env / "tickets.csv"),
            "--text",
            "body",
            "--label",
            "group",
            "--out",
            str(env / "x"),
        ],
    )
    assert result.exit_code == 2
    assert (
        "'body' not found; columns are: ticket, Short description, Description, group, fix" in result.output
    )
    assert "Traceback" not in result.output


def test_cli_unknown_file_and_encoder(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["train", "--data", str(env / "nope.csv"), "--text", "t", "--label", "g", "--out", str(env / "x")],
    )
    assert result.exit_code == 2 and "not found" in result.output
    monkeypatch.setenv("TRIAGE_ENCODER", "bert-huge")
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(env / "tickets.csv"),
            "--text",
            "Description",
            "--label",
            "group",
            "--out",
            "x",
        ],
    )
    assert result.exit_code == 2 and "unknown encoder 'bert-huge'; known:" in result.output


def test_cli_index_stores_cases(env: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "index",
            "--data",
            str(env / "tickets.csv"),
            "--text",
            "Short description",
            "Description",
            "--resolution",
            "fix",
            "--id",
            "ticket",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "indexed 90 cases" in result.output


def test_cli_index_redacts_pii_as_the_server_does(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_REDACT_PII", "true")
    path = env / "pii.csv"
    path.write_text("id,text,fix\nP1,VPN down; call me at 13812345678 or li.wei@example.com,reset\n")
    args = ["index", "--data", str(path), "--text", "text", "--resolution", "fix", "--id", "id"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    from knowledge import DocumentStore

    stored = DocumentStore(env / "var" / "knowledge.db").get("default", "case", "P1")
    assert stored is not None and "VPN down" in stored.body
    assert "13812345678" not in stored.body and "li.wei@example.com" not in stored.body


def test_cli_models_promote_refuses_unknown_version(env: Path) -> None:
    result = CliRunner().invoke(app, ["models", "promote", "v9"])
    assert result.exit_code == 2 and "no model version 'v9'" in result.output


@pytest.mark.parametrize("command", ["serve", "demo", "train", "index", "eval", "models", "retrain"])
def test_cli_help_explains_each_command(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output and len(result.output) > 300


def test_cli_finetune_trains_and_exports_a_search_encoder(env: Path) -> None:
    out_dir, onnx_dir = env / "tuned", env / "tuned-onnx"
    result = CliRunner().invoke(
        app,
        [
            "finetune",
            "--data",
            str(env / "tickets.csv"),
            "--text",
            "Short description",
            "Description",
            "--resolution",
            "fix",
            "--out",
            str(out_dir),
            "--onnx-out",
            str(onnx_dir),
            "--batch-size",
            "8",
            "--max-steps",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "fine-tuned minilm on 90 pairs: 2 steps" in result.output
    report = json.loads((out_dir / "finetune.json").read_text())
    assert report["pairs"] == {"cases": 90} and report["steps"] == 2
    # The exported encoder is what the settings' search_encoders name.
    from embeddings import get_encoder

    encoder = get_encoder(f"onnx:{onnx_dir}")
    vectors = encoder.encode(["vpn cannot connect", "年假 余额 不对"])
    assert vectors.shape == (2, 384)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--resolution", "nope"], "column(s) ['nope'] not found"),
        (["--resolution", "fix", "--batch-size", "64"], "need at least 128"),
        # 90 rows but only 3 distinct groups as "resolutions": repeats would be false negatives.
        (
            ["--resolution", "group", "--batch-size", "8"],
            "3 rows have both text and 'group' (repeats dropped)",
        ),
    ],
)
def test_cli_finetune_names_the_problem(env: Path, extra: list[str], message: str) -> None:
    args = ["finetune", "--data", str(env / "tickets.csv"), "--text", "Description", "--out", str(env / "t")]
    result = CliRunner().invoke(app, [*args, *extra])
    assert result.exit_code == 2 and message in result.output


def test_cli_models_take_a_data_dir_and_train_refuses_an_untrainable_file(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.delenv("TRIAGE_DATA_DIR")
    data_dir = env / "elsewhere"
    base = ["train", "--data", str(env / "tickets.csv"), "--text", "Short description", "--label", "group"]
    trained = runner.invoke(
        app, [*base, "--out", str(env / "m1"), "--register", "default", "--data-dir", str(data_dir)]
    )
    assert trained.exit_code == 0, trained.output
    listing = runner.invoke(app, ["models", "list", "--data-dir", str(data_dir)])
    assert listing.exit_code == 0 and "active" in listing.output
    assert (data_dir / "models" / "default" / "registry.json").exists()
    # Three rows, each its own label: --rare other would train nothing; refused with the minimum.
    tiny = env / "tiny.csv"
    tiny.write_text("text,group\nvpn down,IT\npayslip wrong,HR\ninvoice late,Finance\n")
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(tiny),
            "--text",
            "text",
            "--label",
            "group",
            "--rare",
            "other",
            "--out",
            str(env / "empty"),
        ],
    )
    assert result.exit_code == 2
    assert "at least 2 departments with at least 5 examples each" in result.output
    assert not (env / "empty").exists()


def test_cli_train_weighs_channel_encoders_and_names_a_missing_one(env: Path) -> None:
    runner = CliRunner()
    base = ["train", "--data", str(env / "tickets.csv"), "--text", "Short description", "--label", "group"]
    result = runner.invoke(app, [*base, "--out", str(env / "c1"), "--channel-encoder", "hashing:16"])
    assert result.exit_code == 0, result.output
    assert "semantic channel: hashing:64 OOF" in result.output
    record = json.loads((env / "c1" / "manifest.json").read_text())["semantic_channel"]
    assert set(record["candidates"]) == {"hashing:64", "hashing:16"}
    assert record["chosen"] in record["candidates"]
    missing = env / "nowhere"
    result = runner.invoke(app, [*base, "--out", str(env / "c2"), "--channel-encoder", f"onnx:{missing}"])
    assert result.exit_code == 2
    assert "nowhere" in result.output and "not found" in result.output
    assert "Traceback" not in result.output
    assert not (env / "c2").exists()
