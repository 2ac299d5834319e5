"""With redact_pii on, `triage train` keeps personal data out of the model bundle it writes."""

from __future__ import annotations

import csv
import pickle
from pathlib import Path

import joblib
import pytest
from typer.testing import CliRunner

from serving.cli import app

pytestmark = pytest.mark.slow

MAILBOX = "zhang.wei.pii"  # the vocabulary splits an e-mail at "@": the person is in this half
EMAIL = f"{MAILBOX}@example.com"
PHONE = "13912345678"


def _train(tmp_path: Path, out: str) -> Path:
    with (tmp_path / "tickets.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "group"])
        topics = {
            "IT": "vpn cannot connect error {n}",
            "Finance": "invoice {n} amount wrong",
            "HR": "leave {n} days",
        }
        for i in range(60):
            group = list(topics)[i % 3]
            writer.writerow([f"{topics[group].format(n=i)}; reach me at {EMAIL} or {PHONE}", group])
    args = ["train", "--data", str(tmp_path / "tickets.csv"), "--text", "text", "--label", "group"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / out)])
    assert result.exit_code == 0, result.output
    return tmp_path / out


def _content(path: Path) -> bytes:
    """A file's bytes; a joblib file (zlib-compressed) as its objects pickled without compression."""
    if path.suffix == ".joblib":
        return pickle.dumps(joblib.load(path))
    return path.read_bytes()


def _holds(bundle: Path, value: str) -> bool:
    return any(value.encode() in _content(p) for p in bundle.rglob("*") if p.is_file())


def test_cli_train_redacts_training_texts_when_redact_pii_is_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_ENCODER", "hashing:64")
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "var"))
    plain = _train(tmp_path, "plain")
    assert _holds(plain, MAILBOX)  # the bundle keeps its vocabulary: without redaction the mailbox is in it
    monkeypatch.setenv("TRIAGE_REDACT_PII", "true")
    redacted = _train(tmp_path, "redacted")
    assert not any(_holds(redacted, value) for value in (MAILBOX, EMAIL, PHONE))
