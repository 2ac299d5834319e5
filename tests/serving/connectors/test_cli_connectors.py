"""`triage connectors add|list|test|remove` against a real database and a Zendesk stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from serving.cli import app
from tests.backend import query
from tests.serving.connectors.standins import ZendeskStandIn


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ZD_TOKEN", "zd-secret-token")
    monkeypatch.setenv("ZD_SIGNING", "zd-signing-secret")
    return tmp_path


def test_connectors_cli_round_trip(data_dir: Path) -> None:
    runner = CliRunner()
    with ZendeskStandIn("triage@acme.example", "zd-secret-token") as stand_in:
        added = runner.invoke(
            app,
            [
                "connectors", "add", "--name", "acme-zd", "--system", "zendesk", "--base-url", stand_in.url,
                "--credential", "email=triage@acme.example", "--credential", "api_token=env:ZD_TOKEN",
                "--signing-secret", "env:ZD_SIGNING", "--map", "department:IT=360001", "--map", "priority:P1=urgent",
            ],
        )  # fmt: skip
        assert added.exit_code == 0, added.output
        listed = runner.invoke(app, ["connectors", "list"])
        assert listed.exit_code == 0 and "acme-zd" in listed.output
        assert "zd-secret-token" not in listed.output and "zd-signing-secret" not in listed.output
        tested = runner.invoke(app, ["connectors", "test", "acme-zd"])
        assert tested.exit_code == 0 and "ok" in tested.output, tested.output
        assert [(r.method, r.path) for r in stand_in.requests] == [("GET", "/api/v2/users/me.json")]
    stored = bytes(query(data_dir / "knowledge.db", "SELECT credentials FROM connectors")[0][0])
    assert b"zd-secret-token" not in stored, "credentials are encrypted at rest"
    assert (data_dir / "connector.key").stat().st_mode & 0o077 == 0, "the key file is private"
    assert runner.invoke(app, ["connectors", "remove", "acme-zd"]).exit_code == 0
    gone = runner.invoke(app, ["connectors", "remove", "acme-zd"])
    assert gone.exit_code == 2 and "no connector 'acme-zd'" in gone.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--system", "servicenow"], "system"),
        (["--system", "zendesk"], "api_token"),
        (["--system", "generic", "--map", "queue:IT=1"], "department:"),
        (["--system", "generic", "--signing-secret", "env:NOT_SET_ANYWHERE"], "NOT_SET_ANYWHERE"),
    ],
)
def test_connectors_add_names_what_is_wrong(data_dir: Path, args: list[str], message: str) -> None:
    base = [
        "connectors",
        "add",
        "--name",
        "x",
        "--base-url",
        "http://127.0.0.1:9",
        "--signing-secret",
        "long-enough",
    ]
    result = CliRunner().invoke(app, base + args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
