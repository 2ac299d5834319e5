"""`triage db upgrade|current` and the start-up check, on both backends (real SQLite / PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from knowledge.db import Database
from knowledge.migrations import head_version
from serving.cli import app


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_ENCODER", "hashing:64")
    monkeypatch.delenv("TRIAGE_DATA_DIR", raising=False)
    monkeypatch.delenv("TRIAGE_DATABASE", raising=False)


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _make_old(target: str) -> None:
    """A database as a build from before versioned migrations left it: the tables, no version (schema 0)."""
    db = Database(target)
    db.open()
    db.execute("DROP TABLE alembic_version")
    db.close()


def test_db_current_and_upgrade(database_target: str, tmp_path: Path) -> None:
    need = head_version()
    code, output = _run("db", "current", "--database", database_target, "--data-dir", str(tmp_path))
    assert code == 1 and f"schema empty, this build needs {need}" in output
    code, output = _run("db", "upgrade", "--database", database_target, "--data-dir", str(tmp_path))
    assert code == 0 and f"empty -> schema {need}" in output
    code, output = _run("db", "upgrade", "--database", database_target, "--data-dir", str(tmp_path))
    assert code == 0 and "nothing to do" in output
    _make_old(database_target)
    code, output = _run("db", "current", "--database", database_target, "--data-dir", str(tmp_path))
    assert code == 1 and f"schema 0, this build needs {need}" in output
    code, output = _run("db", "upgrade", "--database", database_target, "--data-dir", str(tmp_path))
    assert code == 0 and f"schema 0 -> schema {need}" in output
    code, output = _run("db", "current", "--database", database_target, "--data-dir", str(tmp_path))
    assert code == 0 and f"schema {need}, this build needs {need}" in output


def test_commands_refuse_an_old_schema_saying_what_to_run(
    database_target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _make_old(database_target)
    monkeypatch.setenv("TRIAGE_DATABASE", database_target)
    code, output = _run("keys", "list", "--data-dir", str(tmp_path))
    assert code == 2
    assert f"database schema 0, this build needs {head_version()}: run `triage db upgrade`" in output
    assert "Traceback" not in output


def test_an_unreachable_postgresql_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    code, output = _run(
        "db",
        "upgrade",
        "--database",
        "postgresql://nobody:secret@127.0.0.1:1/none",
        "--data-dir",
        str(tmp_path),
    )
    assert code == 2 and "cannot use the database" in output and "TRIAGE_DATABASE" in output
    assert "secret" not in output and "Traceback" not in output


def test_an_unknown_database_scheme_is_refused_by_the_settings(tmp_path: Path) -> None:
    code, output = _run("db", "current", "--database", "mysql://u@h/db", "--data-dir", str(tmp_path))
    assert code == 2 and "not supported; use postgresql://" in output
