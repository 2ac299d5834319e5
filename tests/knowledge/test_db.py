"""The data-access layer on both backends: schema versions, placeholders, rows, transactions."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from knowledge.db import (
    RETRY_ATTEMPTS,
    Database,
    DatabaseError,
    IntegrityError,
    Record,
    SchemaVersionError,
    Session,
    _placeholders,
    backoff,
    database_url,
    open_pools,
)
from knowledge.migrations import alembic_head, current_version, head_version, upgrade
from tests.postgres import PostgresServer, connect_raw

REPO = Path(__file__).resolve().parents[2]


def test_placeholders_become_psycopg_style_outside_literals() -> None:
    assert (
        _placeholders("SELECT * FROM t WHERE a=? AND b LIKE ?") == "SELECT * FROM t WHERE a=%s AND b LIKE %s"
    )
    assert _placeholders("SELECT '?', 'it''s 100%' FROM t WHERE x=? AND y LIKE '%a'") == (
        "SELECT '?', 'it''s 100%%' FROM t WHERE x=%s AND y LIKE '%%a'"
    )


def test_database_url_takes_paths_and_postgresql_urls() -> None:
    assert database_url("var/knowledge.db") == "sqlite:///var/knowledge.db"
    assert database_url("postgresql://u:p@db:5432/triage") == "postgresql+psycopg://u:p@db:5432/triage"
    with pytest.raises(ValueError, match="not supported; use postgresql://"):
        database_url("mysql://u@db/x")


def test_record_reads_by_name_and_position() -> None:
    row = Record(("a", 2), {"name": 0, "n": 1})
    assert row["name"] == "a" and row[1] == 2 and dict(row) == {"name": "a", "n": 2}


def test_an_empty_database_gets_the_current_schema(database_target: str) -> None:
    db = Database(database_target)
    db.open()
    with db.engine.connect() as conn:
        assert current_version(conn) == head_version()
    assert db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 0
    db.close()


def test_the_version_this_build_needs_is_alembics_head() -> None:
    assert head_version() == alembic_head()


def test_opening_a_database_at_this_builds_version_does_not_import_alembic(database_target: str) -> None:
    """Every server start opens its database: at the current version Alembic is not loaded (~0.2-0.5 s)."""
    created = Database(database_target)
    created.open()  # the schema is created (Alembic runs here, in this process)
    created.close()
    script = (
        "import sys\nfrom knowledge.db import Database\n"
        f"db = Database({database_target!r})\ndb.open()\n"
        "print(db.execute('SELECT COUNT(*) FROM documents').fetchone()[0], 'alembic' in sys.modules)\n"
        "db.close()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False, cwd=REPO
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["0", "False"]


def test_an_empty_database_is_refused_when_creating_is_off(database_target: str) -> None:
    with pytest.raises(SchemaVersionError, match=r"has no schema, this build needs .*triage db upgrade"):
        Database(database_target, create=False).open()


def test_an_older_or_newer_schema_is_refused_with_what_to_run(database_target: str) -> None:
    db = Database(database_target)
    db.open()
    db.execute("UPDATE alembic_version SET version_num='0000'")
    db.close()
    with pytest.raises(SchemaVersionError) as refused:
        Database(database_target).open()
    assert (
        str(refused.value) == f"database schema 0, this build needs {head_version()}: run `triage db upgrade`"
    )
    newer = Database(database_target, create=False)
    engine = newer.make_engine()
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num='9999'")
    engine.dispose()
    with pytest.raises(SchemaVersionError, match=r"schema 9999, this build needs .* newer build"):
        Database(database_target).open()


def test_upgrade_adopts_a_database_from_before_migrations(database_target: str) -> None:
    db = Database(database_target)
    db.open()
    db.execute("DROP TABLE alembic_version")
    db.close()
    with pytest.raises(SchemaVersionError, match="database schema 0"):
        Database(database_target).open()
    old = Database(database_target, create=False)
    assert upgrade(old.make_engine(), old.dialect) == (0, head_version())
    Database(database_target).open()


def test_a_failed_transaction_leaves_nothing_behind(database_target: str) -> None:
    db = Database(database_target)
    key = ("k1", "tt_k1", "", "acme", "triage", "x", "2026-01-01T00:00:00+00:00")
    insert = "INSERT INTO api_keys (id, prefix, name, tenant, scopes, secret_sha256, created) VALUES (?, ?, ?, ?, ?, ?, ?)"
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute(insert, key)
        raise RuntimeError("boom")
    assert db.execute("SELECT COUNT(*) FROM api_keys").fetchone()[0] == 0
    db.execute(insert, key)
    with pytest.raises(IntegrityError):
        db.execute(insert, key)
    db.close()


def test_select_reads_what_execute_reads_and_leaves_no_transaction_open(database_target: str) -> None:
    db = Database(database_target)
    insert = "INSERT INTO api_keys (id, prefix, name, tenant, scopes, secret_sha256, created) VALUES (?, ?, ?, ?, ?, ?, ?)"
    for key_id in ("k1", "k2", "k3"):
        db.execute(insert, (key_id, f"tt_{key_id}", "", "acme", "triage", "x", "2026-01-01T00:00:00+00:00"))
    sql = "SELECT id, tenant, COUNT(*) FROM api_keys WHERE id IN (?, ?) GROUP BY id, tenant ORDER BY id"
    rows = db.select(sql, ["k1", "k3"])
    assert rows == [tuple(r) for r in db.execute(sql, ["k1", "k3"]).fetchall()]
    assert rows == [("k1", "acme", 1), ("k3", "acme", 1)]  # counts as int on both backends
    # Its connection went back to the pool with nothing held: a writer commits, and the next read sees it.
    db.execute("DELETE FROM api_keys WHERE id = ?", ("k1",))
    assert [r[0] for r in db.select("SELECT id FROM api_keys ORDER BY id")] == ["k2", "k3"]
    db.close()


def test_int_column_reads_a_column_in_batches_as_int64(database_target: str) -> None:
    db = Database(database_target)
    insert = "INSERT INTO api_keys (id, prefix, name, tenant, scopes, secret_sha256, created) VALUES (?, ?, ?, ?, ?, ?, ?)"
    ids = ["a", "bb", "ccc", "dddd", "eeeee"]
    for key_id in ids:
        db.execute(insert, (key_id, f"tt_{key_id}", "", "acme", "triage", "x", "2026-01-01T00:00:00+00:00"))
    sql = "SELECT LENGTH(id) FROM api_keys WHERE tenant = ? ORDER BY id"
    for batch in (2, 5, 100):  # batches that split the rows, match them, exceed them
        column = db.int_column(sql, ["acme"], batch=batch)
        assert column.dtype == np.int64 and column.tolist() == [1, 2, 3, 4, 5]
    assert db.int_column(sql, ["nobody"]).tolist() == []
    db.execute("DELETE FROM api_keys WHERE id = ?", ("a",))  # nothing held open by the reads
    assert db.int_column(sql, ["acme"]).tolist() == [2, 3, 4, 5]
    db.close()


def test_first_opens_racing_on_an_empty_database_create_the_schema_once(database_target: str) -> None:
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            db = Database(database_target)
            db.open()
            db.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_postgresql_sessions_read_times_as_sqlite_does(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database()
    Database(url).open()
    with connect_raw(url) as pg:
        got = pg.execute(
            "SELECT julianday('2024-05-01'), julianday('2024-05-01T08:00:00+08:00'), julianday('yesterday'),"
            " julianday('garbage'), round(2.345::double precision, 2)"
        ).fetchone()
    postgres_server.drop_database(url)
    assert got[0] == pytest.approx(2460431.5) and got[1] == pytest.approx(2460431.5)
    assert got[2] is None and got[3] is None and got[4] == pytest.approx(2.35)


_CONFLICT = "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '{}'; END $$"


def _pg(postgres_server: PostgresServer) -> Iterator[Database]:
    url = postgres_server.create_database()
    db = Database(url)
    try:
        db.execute("CREATE TABLE hits (n INTEGER PRIMARY KEY)")
        yield db
    finally:
        db.close()
        postgres_server.drop_database(url)


@pytest.fixture
def pg(postgres_server: PostgresServer) -> Iterator[Database]:
    yield from _pg(postgres_server)


@pytest.mark.parametrize("sqlstate", ["serialization_failure", "deadlock_detected"])
def test_a_serialisation_failure_or_deadlock_is_retried(pg: Database, sqlstate: str) -> None:
    calls: list[int] = []

    def work(session: Session) -> int:
        calls.append(1)
        session.execute("INSERT INTO hits (n) VALUES (?)", (1,))
        if len(calls) < 3:  # PostgreSQL's own error, raised in the server: the transaction rolls back
            session.execute(_CONFLICT.format(sqlstate))
        return len(calls)

    assert pg.run(work) == 3
    assert pg.execute("SELECT count(*) FROM hits").rows[0][0] == 1, "the failed tries left nothing"


def test_other_errors_and_endless_conflicts_are_not_retried_for_ever(pg: Database) -> None:
    pg.execute("INSERT INTO hits (n) VALUES (1)")
    calls: list[int] = []

    def duplicate(session: Session) -> None:
        calls.append(1)
        session.execute("INSERT INTO hits (n) VALUES (1)")

    with pytest.raises(IntegrityError):
        pg.run(duplicate)
    assert len(calls) == 1, "a constraint violation is not retried"

    def always(session: Session) -> None:
        calls.append(1)
        session.execute(_CONFLICT.format("serialization_failure"))

    calls.clear()
    started = time.monotonic()
    with pytest.raises(DatabaseError, match="conflict"):
        pg.run(always)
    assert len(calls) == RETRY_ATTEMPTS
    assert time.monotonic() - started < 10, "the backoff is bounded"
    assert all(0 < backoff(n) <= 0.64 for n in range(1, 20))


def test_a_real_deadlock_between_two_writers_is_retried(pg: Database) -> None:
    pg.executemany("INSERT INTO hits (n) VALUES (?)", [(1,), (2,)])
    first_locked, second_locked = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer(first: int, second: int, mine: threading.Event, theirs: threading.Event) -> None:
        tries = 0

        def work(session: Session) -> None:
            nonlocal tries
            tries += 1
            session.execute("UPDATE hits SET n=n WHERE n=?", (first,))
            if tries == 1:
                mine.set()
                theirs.wait(5)
            session.execute("UPDATE hits SET n=n WHERE n=?", (second,))

        try:
            pg.run(work)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=(1, 2, first_locked, second_locked)),
        threading.Thread(target=writer, args=(2, 1, second_locked, first_locked)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [], "PostgreSQL broke the deadlock by failing one writer; its retry succeeded"


def test_stores_of_one_database_share_one_pool(database_target: str) -> None:
    before = open_pools()
    first, second = Database(database_target), Database(database_target)
    first.open()
    second.open()
    assert first.engine is second.engine and open_pools() == before + 1
    first.close()
    assert second.execute("SELECT 1").rows[0][0] == 1, "the other user's pool stays open"
    assert open_pools() == before + 1
    second.close()
    assert open_pools() == before, "the last user closed it"


def test_every_store_of_a_process_uses_one_pool_and_closing_them_closes_it(
    database_target: str, tmp_path: Path
) -> None:
    """What a replica holds (documents, ledger, audit, keys, connectors, model state): one pool, closed
    with the last of them on shutdown."""
    from knowledge import DocumentStore
    from knowledge.audit import AuditLog
    from knowledge.ledger import Ledger
    from serving.connectors.store import ConnectorStore
    from serving.keys import KeyStore
    from triage.registry import ModelRegistry

    before = open_pools()
    registry = ModelRegistry(tmp_path / "models", database_target)
    stores: list[DocumentStore | Ledger | AuditLog | KeyStore | ConnectorStore] = [
        DocumentStore(database_target),
        Ledger(database_target),
        AuditLog(database_target),
        KeyStore(database_target),
        ConnectorStore(database_target, b"0" * 32),
    ]
    for store in stores:
        store.open()
    assert registry.state("default").active is None
    assert open_pools() == before + 1
    for store in stores:
        store.close()
    assert open_pools() == before + 1, "the registry still uses it"
    registry.close()
    assert open_pools() == before
