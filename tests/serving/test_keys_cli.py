"""`triage keys create|list|revoke`, the demo key and the refusal to listen unprotected (real SQLite)."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serving.cli import app
from serving.keys import KeyStore
from tests.backend import stored_bytes


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRIAGE_ENCODER", "hashing:64")
    monkeypatch.delenv("TRIAGE_DATA_DIR", raising=False)
    return tmp_path / "var"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.output


def test_keys_create_prints_the_secret_once_and_stores_only_its_hash(data_dir: Path) -> None:
    code, stdout, output = _run(
        "keys", "create", "--tenant", "acme", "--scopes", "triage,feedback", "--name", "zendesk",
        "--data-dir", str(data_dir),
    )  # fmt: skip
    assert code == 0, output
    secret = stdout.strip().splitlines()[-1]
    assert secret.startswith("tt_") and len(secret.split("_", 2)[2]) >= 43
    database = stored_bytes(data_dir / "knowledge.db")
    assert secret.encode() not in database
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in database

    code, listing, output = _run("keys", "list", "--data-dir", str(data_dir))
    key_id = secret.split("_")[1]
    assert code == 0 and key_id in listing and "zendesk" in listing and "active" in listing
    assert secret not in output

    key = KeyStore(data_dir / "knowledge.db").verify(secret)
    assert key is not None and key.tenant == "acme" and key.scopes == ("triage", "feedback")

    code, stdout, output = _run("keys", "revoke", key_id, "--data-dir", str(data_dir))
    assert code == 0 and "revoked" in stdout
    assert KeyStore(data_dir / "knowledge.db").verify(secret) is None
    assert "revoked" in _run("keys", "list", "--tenant", "acme", "--data-dir", str(data_dir))[1]


def test_keys_create_with_expiry(data_dir: Path) -> None:
    code, stdout, output = _run(
        "keys",
        "create",
        "--tenant",
        "t",
        "--scopes",
        "*",
        "--expires",
        "2999-01-31",
        "--data-dir",
        str(data_dir),
    )
    assert code == 0, output
    key = KeyStore(data_dir / "knowledge.db").verify(stdout.strip().splitlines()[-1])
    assert key is not None and key.expires is not None and key.expires.isoformat().startswith("2999-02-01")
    assert "models:admin" in key.scopes and "keys:admin" in key.scopes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "t", "--scopes", "triage,everything"], "unknown scope(s) 'everything'"),
        (["--tenant", "t", "--scopes", ""], "no scopes given"),
        (["--tenant", "t", "--scopes", "triage", "--expires", "2001-01-01"], "in the past"),
        (["--tenant", "t", "--scopes", "triage", "--expires", "someday"], "is not a date"),
        (["--tenant", "../etc", "--scopes", "triage"], "tenant '../etc' is not valid"),
    ],
)
def test_keys_create_names_the_problem(data_dir: Path, args: list[str], message: str) -> None:
    code, _, output = _run("keys", "create", *args, "--data-dir", str(data_dir))
    assert code == 2 and message in output, output
    assert "Traceback" not in output


def test_keys_revoke_unknown_id(data_dir: Path) -> None:
    code, _, output = _run("keys", "revoke", "nosuchid", "--data-dir", str(data_dir))
    assert code == 2 and "no API key 'nosuchid'" in output and "triage keys list" in output


def test_serve_refuses_a_network_address_without_any_key(data_dir: Path) -> None:
    code, _, output = _run("serve", "--host", "0.0.0.0", "--data-dir", str(data_dir))
    assert code == 2 and "refusing to listen on 0.0.0.0" in output and "triage keys create" in output
    # With a key, that check passes (and the next one, the missing model, speaks).
    assert _run("keys", "create", "--tenant", "t", "--scopes", "triage", "--data-dir", str(data_dir))[0] == 0
    code, _, output = _run("serve", "--host", "0.0.0.0", "--data-dir", str(data_dir))
    assert code == 2 and "refusing" not in output and "no active model" in output


def test_a_revoked_key_does_not_count_as_protection(data_dir: Path) -> None:
    store = KeyStore(data_dir / "knowledge.db")
    store.revoke(store.create("t", ["triage"]).key.id)
    code, _, output = _run("serve", "--host", "10.1.2.3", "--data-dir", str(data_dir))
    assert code == 2 and "refusing to listen on 10.1.2.3" in output


@pytest.mark.slow
def test_demo_creates_its_admin_key_once_and_reuses_it(data_dir: Path) -> None:
    args = ("demo", "--no-serve", "--tickets", "200", "--data-dir", str(data_dir))
    code, first, output = _run(*args)
    assert code == 0, output
    secret = next(line.strip() for line in first.splitlines() if line.strip().startswith("tt_"))
    key = KeyStore(data_dir / "knowledge.db").verify(secret)
    assert key is not None and key.tenant == "default" and "keys:admin" in key.scopes
    saved = data_dir / "demo-admin.key"
    assert saved.read_text().strip() == secret
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    code, second, _ = _run(*args)
    assert code == 0 and secret in second and "kept from last time" in second
    assert len(KeyStore(data_dir / "knowledge.db").list("default")) == 1
