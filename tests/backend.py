"""Which database the whole test suite runs on: SQLite (default) or PostgreSQL.

``TRIAGE_TEST_DATABASE=postgresql pytest`` (``make test`` runs the suite once each way) routes every
SQLite file path a test hands to the service -- a store's path, a data folder's ``knowledge.db``, a
server's ``--data-dir`` -- to a database of its own on one throwaway PostgreSQL server per session.
The route is a pure function of the file's absolute path (``p_<sha1>``), so a server process the
test starts reaches the same database when it is given the URL (:func:`server_env`); the database
is created on first use and dropped when the test that owns its folder ends.

The seam is :func:`knowledge.db.database_url`, the one place every store, the CLI and the server turn
a setting into a URL: the stores, the migrations and the server all run for real on PostgreSQL.
Tests that are about the SQLite file itself carry ``@pytest.mark.sqlite_only("why")`` and are
skipped in the PostgreSQL run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from tests.postgres import PostgresServer

ENV = "TRIAGE_TEST_DATABASE"
BACKEND = os.environ.get(ENV, "sqlite").strip().lower() or "sqlite"
if BACKEND in ("postgres", "pg"):
    BACKEND = "postgresql"
if BACKEND not in ("sqlite", "postgresql"):
    raise SystemExit(f"{ENV}={BACKEND!r}: use sqlite or postgresql")

ON_POSTGRESQL = BACKEND == "postgresql"


class Router:
    """SQLite file paths to PostgreSQL databases on one server, created on first use."""

    def __init__(self, server: PostgresServer, original: Callable[[str | Path], str]) -> None:
        self.server = server
        self.original = original
        self.made: dict[str, Path] = {}
        self._lock = threading.Lock()

    def routes(self, target: str | Path) -> bool:
        text = str(target)
        return "://" not in text and text not in ("", ":memory:")

    def url_for(self, path: str | Path) -> str:
        """The plain ``postgresql://`` URL of a file path's database (made if new)."""
        resolved = Path(path).expanduser().resolve()
        name = "p_" + hashlib.sha1(str(resolved).encode()).hexdigest()[:24]
        with self._lock:
            if name not in self.made:
                import psycopg
                from psycopg import errors

                with (
                    psycopg.connect(self.server.url(), autocommit=True) as conn,
                    contextlib.suppress(errors.DuplicateDatabase),
                ):
                    conn.execute(f'CREATE DATABASE "{name}"')
                self.made[name] = resolved
        return self.server.url(name)

    def database_url(self, target: str | Path) -> str:
        """The patched :func:`knowledge.db.database_url`: file paths go to PostgreSQL."""
        if self.routes(target):
            return self.original(self.url_for(target))
        return self.original(target)

    def drop_under(self, folder: Path) -> None:
        """Drop the databases of files under ``folder`` (a test's tmp_path, when the test ends)."""
        root = folder.resolve()
        with self._lock:
            names = [n for n, p in self.made.items() if p.is_relative_to(root)]
            for name in names:
                del self.made[name]
        for name in names:
            from knowledge.db import release_engines

            release_engines(self.server.url(name))
            self.server.drop_database(self.server.url(name))

    def dump(self, path: str | Path) -> bytes:
        """Everything a file path's database holds, as pg_dump writes it (for scans of stored bytes)."""
        done = subprocess.run(
            [str(self.server.bin_dir / "pg_dump"), "--no-owner", self.url_for(path)],
            capture_output=True,
            check=True,
            timeout=300,
        )
        return done.stdout

    def copy(self, source: str | Path, target: str | Path) -> None:
        """The database of file ``source`` copied into that of ``target`` (pg_dump | psql; the source
        may be in use)."""
        dump = subprocess.run(
            [str(self.server.bin_dir / "pg_dump"), "--no-owner", self.url_for(source)],
            capture_output=True,
            check=True,
            timeout=300,
        )
        subprocess.run(
            [str(self.server.bin_dir / "psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url_for(target)],
            input=dump.stdout,
            capture_output=True,
            check=True,
            timeout=300,
        )


ROUTER: Router | None = None


def copy_database(source: Path, target: Path) -> None:
    """A copy of SQLite file ``source`` at ``target`` (SQLite's backup; another process may be
    writing), or of its PostgreSQL database on the PostgreSQL run."""
    if ROUTER is not None:
        ROUTER.copy(source, target)
        return
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def query(database_path: str | Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    """Rows of one statement (``?`` placeholders) run behind the stores' back, on either backend."""
    from knowledge.db import Database

    db = Database(database_path)
    try:
        return [tuple(row) for row in db.execute(sql, args).rows]
    finally:
        db.close()


def server_env(database_path: str | Path) -> dict[str, str]:
    """Environment for a server process the test starts on a data folder whose database is
    ``database_path``: on PostgreSQL, ``TRIAGE_DATABASE`` names the routed database; else nothing."""
    if ROUTER is None:
        return {}
    return {"TRIAGE_DATABASE": ROUTER.url_for(database_path)}


def database_setting(database_path: str | Path) -> dict[str, str]:
    """``load_settings`` overrides for a data folder whose database is ``database_path`` (for
    processes the test starts with settings objects, e.g. Ray replicas)."""
    if ROUTER is None:
        return {}
    return {"database": ROUTER.url_for(database_path)}


def stored_bytes(database_path: Path) -> bytes:
    """Every byte the database holds: the SQLite file with its -wal/-shm, or a dump of the PostgreSQL
    database it is routed to."""
    if ROUTER is not None:
        return ROUTER.dump(database_path)
    return database_path.read_bytes() + b"".join(
        p.read_bytes() for p in database_path.parent.glob(f"{database_path.name}-*")
    )


def database_dump_file(database_path: Path, target: Path) -> list[Path]:
    """On PostgreSQL, the routed database's dump written to ``target`` (to scan with the files); else []."""
    if ROUTER is None:
        return []
    target.write_bytes(ROUTER.dump(database_path))
    return [target]
