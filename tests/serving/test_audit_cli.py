"""`triage audit` and `triage audit verify`, and the audit rows the model commands append."""

from __future__ import annotations

import csv
import json
import random
import sqlite3
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serving.cli import app
from tests import backend
from tests.postgres import connect_raw

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRIAGE_ENCODER", "hashing:64")
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "var"))
    rng = random.Random(0)
    topics = {
        "IT": "vpn cannot connect error {n}",
        "Finance": "invoice {n} amount wrong",
        "HR": "leave {n} days",
    }
    with (tmp_path / "tickets.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "group"])
        for i in range(60):
            group = list(topics)[i % 3]
            writer.writerow([f"T{i}", topics[group].format(n=rng.randint(100, 999)), group])
    return tmp_path


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _rows(*filters: str) -> list[dict[str, object]]:
    output = _run("audit", "--json", *filters)
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_cli_model_changes_are_audited_and_verified(env: Path) -> None:
    data = str(env / "tickets.csv")
    for out in ("m1", "m2"):
        time.sleep(1.1)  # versions are named by the second they were trained
        _run(
            "train",
            "--data",
            data,
            "--text",
            "text",
            "--label",
            "group",
            "--out",
            str(env / out),
            "--register",
            "acme",
        )
    versions = json.loads((env / "var" / "models" / "acme" / "registry.json").read_text())
    first, second = (
        versions["active"],
        next(
            p.name
            for p in (env / "var" / "models" / "acme").iterdir()
            if p.is_dir() and p.name != versions["active"]
        ),
    )
    _run("models", "candidate", second, "--tenant", "acme", "--mode", "canary", "--share", "0.2")
    _run("models", "candidate", "none", "--tenant", "acme")
    _run("models", "promote", second, "--tenant", "acme", "--force")
    _run("models", "rollback", "--tenant", "acme")

    rows = _rows("--tenant", "acme")
    assert [r["action"] for r in rows] == [
        "model.rollback",
        "model.promote",
        "model.candidate.clear",
        "model.candidate.set",
        "model.register",
        "model.register",
    ]
    rollback, promote, cleared, chosen, registered, _ = rows
    assert registered["after"] == {"active": first, "registered": second}
    assert promote["target"] == f"model:{second}" and promote["before"] == {"active": first}
    assert promote["after"] == {"active": second, "forced": True}
    assert rollback["after"] == {"active": first} and rollback["client"] == "cli"
    assert chosen["after"]["candidate"] == second and chosen["after"]["canary_share"] == 0.2
    assert cleared["after"]["candidate"] is None
    assert [r["action"] for r in _rows("--action", "model.candidate.*")] == [
        "model.candidate.clear",
        "model.candidate.set",
    ]
    assert _rows("--tenant", "someone-else") == []
    assert len(_rows("--limit", "2")) == 2

    assert "intact: 6 rows" in _run("audit", "verify")
    database = env / "var" / "knowledge.db"
    tamper = 'UPDATE audit SET after=\'{"active":"v0"}\' WHERE seq=2'
    if backend.ROUTER is not None:
        with connect_raw(backend.ROUTER.url_for(database)) as pg:
            pg.execute("ALTER TABLE audit DISABLE TRIGGER USER")
            pg.execute(tamper)
    else:
        conn = sqlite3.connect(database, isolation_level=None)
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute(tamper)
        conn.close()
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1 and "row 2" in result.output and "edited" in result.output


def test_cli_key_create_and_revoke_are_audited(env: Path) -> None:
    created = _run("keys", "create", "--tenant", "acme", "--scopes", "triage", "--name", "robot")
    secret = created.strip().splitlines()[-1]
    (row,) = _rows("--action", "key.create")
    key_id = row["target"].removeprefix("key:")
    _run("keys", "revoke", key_id)
    (revoked,) = _rows("--action", "key.revoke")
    assert row["tenant"] == "acme" and row["after"]["name"] == "robot" and row["client"] == "cli"
    assert revoked["target"] == f"key:{key_id}" and revoked["after"]["revoked"] is True
    assert secret not in json.dumps(row)


def test_cli_index_appends_one_import_row(env: Path) -> None:
    path = env / "cases.csv"
    path.write_text("id,text,fix\nC1,VPN down error 809,reset profile\nC2,printer jams,replace roller\n")
    _run(
        "index",
        "--data",
        str(path),
        "--text",
        "text",
        "--resolution",
        "fix",
        "--id",
        "id",
        "--tenant",
        "acme",
    )
    (row,) = _rows("--tenant", "acme")
    assert (row["action"], row["target"], row["after"]) == (
        "case.import",
        "cases",
        {"count": 2, "redacted": False},
    )


def test_cli_audit_rejects_a_bad_time(env: Path) -> None:
    result = CliRunner().invoke(app, ["audit", "--since", "yesterday"])
    assert result.exit_code == 2 and "--since" in result.output and "ISO 8601" in result.output
