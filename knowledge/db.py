"""One data-access layer for the service's database: SQLite (the embedded default) or PostgreSQL.

Every store (documents, ledger, audit, API keys, connectors) runs its SQL through a
:class:`Database`: a SQLAlchemy Core engine (connection pool, URL parsing, the dialect's driver)
plus the few things the stores need on both backends:

- ``execute`` runs one statement in its own short transaction and returns the rows fetched;
  ``select`` runs one read-only statement the short way (a hot read's plain tuples);
- ``transaction()`` is one writer transaction: ``BEGIN IMMEDIATE`` on SQLite (one writer at a time
  across threads and processes, as before) and, when ``exclusive`` names a lock, a transaction-scoped
  advisory lock on PostgreSQL, so that writers of one log (the change log, the audit chain) commit in
  the order of their sequence numbers;
- rows read by name or position (``row["tenant"]``, ``row[0]``, ``dict(row)``) on both;
- the stores' SQL keeps SQLite's ``?`` placeholders; on PostgreSQL they become psycopg's ``%s``.

SQLite connections get WAL, ``synchronous=FULL`` (an acknowledged write survives a crash), a 10 s
busy timeout and ``secure_delete``. PostgreSQL connections run in UTC with a connect and a statement
timeout; the pool checks a connection before lending it (a restarted server costs no request).

The schema is versioned by Alembic migrations (``knowledge/migrations``). Opening a database that
is empty creates the schema; one at an older version is refused with the command that upgrades it.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast

import numpy as np
from sqlalchemy import Engine, create_engine, event, exc, pool
from sqlalchemy.engine import Connection

logger = logging.getLogger(__name__)

#: Errors callers may catch, the same classes on both backends.
IntegrityError = exc.IntegrityError
DatabaseError = exc.DBAPIError
OperationalError = exc.OperationalError

_BUSY_TIMEOUT_MS = 10_000
#: PostgreSQL's "try again" SQLSTATEs: serialization_failure, deadlock_detected.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
#: Attempts of one transaction (the first included) and the backoff between them: 20 ms doubling
#: to at most 640 ms, each with up to 50 % jitter (about 1.3 s in all before giving up).
RETRY_ATTEMPTS = 6
RETRY_FIRST_WAIT = 0.02
RETRY_MAX_WAIT = 0.64
T = TypeVar("T")
_ADVISORY = {"documents": 7_160_001, "audit": 7_160_002, "schema": 7_160_003, "models": 7_160_004}


class SchemaVersionError(RuntimeError):
    """The database's schema is not the one this build needs; the message says which command fixes it."""


class Record(tuple[Any, ...]):
    """A row read by position or by column name, like ``sqlite3.Row`` (``dict(row)`` works)."""

    _index: Mapping[str, int]

    def __new__(cls, values: Sequence[Any], index: Mapping[str, int]) -> Record:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


class Result:
    """The fetched outcome of one statement: its rows (if any), ``rowcount`` and column names."""

    def __init__(self, rows: list[Record], rowcount: int, columns: tuple[str, ...]) -> None:
        self.rows = rows
        self.rowcount = rowcount
        self.columns = columns

    def fetchone(self) -> Any:
        """The first row or None (typed ``Any`` as ``sqlite3.Cursor.fetchone`` is)."""
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Record]:
        return self.rows

    def __iter__(self) -> Iterator[Record]:
        return iter(self.rows)


def _numeric(value: Any) -> Any:
    """PostgreSQL's sum() of integers is numeric: whole numbers come back as int, others as float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class Session:
    """One pooled connection inside a transaction; statements use ``?`` placeholders on both backends."""

    def __init__(self, conn: Connection, dialect: str) -> None:
        self._conn = conn
        self.dialect = dialect

    def _sql(self, sql: str) -> str:
        if self.dialect == "sqlite":
            return sql
        return _placeholders(sql)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Result:
        args = tuple(params) if params is not None else ()
        if self.dialect == "sqlite" or not args:
            cursor = self._conn.exec_driver_sql(sql, args)
        else:
            cursor = self._conn.exec_driver_sql(_placeholders(sql), args)
        if not cursor.returns_rows:
            return Result([], cursor.rowcount, ())
        columns = tuple(cursor.keys())
        index = {name: i for i, name in enumerate(columns)}
        if self.dialect == "sqlite":
            rows = [Record(tuple(r), index) for r in cursor.fetchall()]
        else:
            rows = [Record(tuple(_numeric(v) for v in r), index) for r in cursor.fetchall()]
        return Result(rows, cursor.rowcount, columns)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        self._conn.exec_driver_sql(self._sql(sql), [tuple(r) for r in rows])


_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?|%")


def _placeholders(sql: str) -> str:
    """SQLite's ``?`` as psycopg's ``%s`` (``%`` doubled), leaving quoted literals alone."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return token.replace("%", "%%")

    return _PLACEHOLDER.sub(swap, sql)


def database_url(target: str | Path) -> str:
    """A SQLAlchemy URL from a setting: a ``postgresql://`` or ``sqlite://`` URL, or a SQLite file path."""
    text = str(target)
    if "://" not in text:
        return f"sqlite:///{Path(text)}"
    scheme, _, rest = text.partition("://")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    if scheme.startswith("postgresql+") or scheme.startswith("sqlite"):
        return text
    raise ValueError(
        f"database URL scheme {scheme!r} is not supported; use postgresql://user:password@host/db "
        "or a SQLite file path"
    )


def redact_url(url: str) -> str:
    """The URL without its password, for logs and messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def is_retryable(error: BaseException) -> bool:
    """A serialisation failure or a deadlock (PostgreSQL): the transaction was rolled back and may be run again."""
    original = getattr(error, "orig", error)
    return getattr(original, "sqlstate", None) in RETRYABLE_SQLSTATES


class Attempt:
    """One try of a transaction (see :meth:`Database.attempts`): a retryable error inside is swallowed."""

    def __init__(self, number: int, last: bool) -> None:
        self.number = number
        self.last = last
        self.error: BaseException | None = None

    def __enter__(self) -> Attempt:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if error is None or self.last or not is_retryable(error):
            return False
        self.error = error
        return True


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): doubling, capped, jittered."""
    wait = min(RETRY_MAX_WAIT, RETRY_FIRST_WAIT * 2 ** (attempt - 1))
    return wait * (0.5 + random.random() / 2)


# One engine (connection pool) per process per database URL, shared by every store that opens it.
_engines: dict[tuple[int, str], list[Any]] = {}  # (pid, url) -> [engine, users]
_engines_lock = threading.Lock()


def release_engines(url: str) -> None:
    """Close and forget this process's pool for a URL, whoever uses it (before the database is dropped)."""
    key = (os.getpid(), database_url(url))
    with _engines_lock:
        entry = _engines.pop(key, None)
    if entry is not None:
        entry[0].dispose()


def close_all() -> int:
    """Close every pool of this process (graceful shutdown); how many were open."""
    with _engines_lock:
        entries = [e for (pid, _), e in _engines.items() if pid == os.getpid()]
        for key in [k for k in _engines if k[0] == os.getpid()]:
            del _engines[key]
    for entry in entries:
        entry[0].dispose()
    return len(entries)


def open_pools() -> int:
    """How many pools this process holds (one per database URL)."""
    with _engines_lock:
        return sum(1 for pid, _ in _engines if pid == os.getpid())


class Database:
    """The service's database (SQLite file or PostgreSQL URL), opened lazily and shared by the stores."""

    def __init__(
        self,
        target: str | Path,
        *,
        pool_size: int = 10,
        connect_timeout: float = 10.0,
        statement_timeout_ms: int = 30_000,
        create: bool = True,
    ) -> None:
        """``target``: a SQLite path or a URL. No I/O here; ``open()`` connects and checks the schema.

        ``create``: an empty database gets the current schema on open (else it is refused too).
        """
        self.url = database_url(target)
        self.dialect = "sqlite" if self.url.startswith("sqlite") else "postgresql"
        self.path: Path | None = None
        if self.dialect == "sqlite":
            raw = self.url.split(":///", 1)[1] if ":///" in self.url else ""
            self.path = Path(raw) if raw and raw != ":memory:" else None
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._statement_timeout_ms = statement_timeout_ms
        self._create = create
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Database({redact_url(self.url)!r})"

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self.open()
        assert self._engine is not None
        return self._engine

    def open(self) -> None:
        """Connect (a pool) and check the schema version; idempotent."""
        with self._lock:
            if self._engine is not None:
                return
            key = (os.getpid(), self.url)
            with _engines_lock:
                entry = _engines.get(key)
                if entry is not None:
                    entry[1] += 1
                    self._engine = entry[0]
                    return
                engine = self.make_engine()
                try:
                    from knowledge.migrations import ensure_schema

                    ensure_schema(engine, self.dialect, create=self._create)
                except BaseException:
                    engine.dispose()
                    raise
                _engines[key] = [engine, 1]
                self._engine = engine

    def make_engine(self) -> Engine:
        """A new engine (pool) for this database, without the schema check (migrations use it)."""
        if self.dialect == "sqlite":
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(
                    self.url,
                    connect_args={"check_same_thread": False, "timeout": _BUSY_TIMEOUT_MS / 1000},
                    poolclass=pool.QueuePool,
                    pool_size=self._pool_size,
                    max_overflow=10,
                )
            else:
                engine = create_engine(
                    self.url, connect_args={"check_same_thread": False}, poolclass=pool.StaticPool
                )

            @event.listens_for(engine, "connect")
            def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
                # pysqlite's own BEGIN handling off: the "begin" hook below says BEGIN (IMMEDIATE).
                dbapi_conn.isolation_level = None
                for pragma in (
                    "journal_mode=WAL",
                    "synchronous=FULL",
                    f"busy_timeout={_BUSY_TIMEOUT_MS}",
                    # Deleted rows are overwritten with zeros, not just unlinked (right to be forgotten).
                    "secure_delete=ON",
                ):
                    dbapi_conn.execute(f"PRAGMA {pragma}")

            @event.listens_for(engine, "begin")
            def _sqlite_begin(conn: Connection) -> None:
                mode = conn.get_execution_options().get("triage_begin", "")
                conn.exec_driver_sql(f"BEGIN {mode}".strip())

            return engine
        options = f"-c timezone=UTC -c statement_timeout={self._statement_timeout_ms}"
        return create_engine(
            self.url,
            connect_args={"connect_timeout": int(self._connect_timeout), "options": options},
            pool_size=self._pool_size,
            max_overflow=10,
            pool_pre_ping=True,
            pool_timeout=self._connect_timeout,
        )

    def close(self) -> None:
        """Stop using the shared pool; the last user of a URL in this process closes its connections
        (a later call opens it again)."""
        with self._lock:
            engine, self._engine = self._engine, None
            if engine is None:
                return
            with _engines_lock:
                key = (os.getpid(), self.url)
                entry = _engines.get(key)
                if entry is None or entry[0] is not engine:
                    dispose = False  # released already (release_engines, close_all)
                else:
                    entry[1] -= 1
                    dispose = entry[1] <= 0
                    if dispose:
                        del _engines[key]
            if dispose:
                engine.dispose()

    def listener(self, channel: str) -> Any:
        """A dedicated autocommit psycopg connection that LISTENs on ``channel`` (PostgreSQL only;
        outside the pool, closed by the caller). ``channel`` is one of the code's own names."""
        if self.dialect != "postgresql":
            raise ValueError("LISTEN needs PostgreSQL")
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = psycopg.connect(url, autocommit=True, connect_timeout=int(self._connect_timeout))
        try:
            conn.execute(f"LISTEN {channel}")
        except BaseException:
            conn.close()
            raise
        return conn

    def attempts(self) -> Iterator[Attempt]:
        """Tries of one transaction: PostgreSQL's serialisation failures and deadlocks (SQLSTATE
        40001, 40P01) are retried with bounded, jittered backoff; any other error, or the last
        attempt's, propagates. The block must be safe to run again (its transaction was rolled back)::

            for attempt in db.attempts():
                with attempt, db.transaction() as conn:
                    ...
        """
        for number in range(1, RETRY_ATTEMPTS + 1):
            attempt = Attempt(number, last=number == RETRY_ATTEMPTS)
            yield attempt
            if attempt.error is None:
                return
            wait = backoff(number)
            logger.warning(
                "database transaction conflicted (%s, attempt %d of %d); retrying in %.0f ms",
                getattr(getattr(attempt.error, "orig", None), "sqlstate", "?"),
                number,
                RETRY_ATTEMPTS,
                wait * 1000,
            )
            time.sleep(wait)

    def run(self, work: Callable[[Session], T], exclusive: str | None = None) -> T:
        """``work`` in one writer transaction, retried on serialisation failures and deadlocks."""
        for attempt in self.attempts():
            with attempt, self.transaction(exclusive) as session:
                return work(session)
        raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover

    @contextmanager
    def transaction(self, exclusive: str | None = None) -> Iterator[Session]:
        """One writer transaction: committed when the block ends, rolled back if it raises.

        SQLite: ``BEGIN IMMEDIATE`` (the database's write lock, taken at once). PostgreSQL: read
        committed, plus the advisory lock named by ``exclusive`` (``documents``, ``audit``) held to
        the commit, so writers of one log commit in sequence order.
        """
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(triage_begin="IMMEDIATE")
            with conn.begin():
                session = Session(conn, self.dialect)
                if exclusive is not None and self.dialect == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY[exclusive],))
                yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read transaction: every statement in the block sees one snapshot (SQLite; PostgreSQL
        repeatable read)."""
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield Session(conn, self.dialect)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Result:
        """One statement in its own transaction (committed, retried on a conflict); its rows fetched."""
        for attempt in self.attempts():
            with attempt, self.engine.connect() as conn, conn.begin():
                return Session(conn, self.dialect).execute(sql, params)
        raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover

    @contextmanager
    def _raw_cursor(self, sql: str, params: Sequence[Any]) -> Iterator[Any]:
        """A driver cursor on a pooled connection, ``sql`` executed on it: the short read path of
        ``select`` and ``int_column``, without SQLAlchemy's connection and transaction bookkeeping.
        SQLite runs it in autocommit, so it is its own read transaction; on PostgreSQL the pool rolls
        the connection back when it is returned. No retries: a lone read meets no serialisation
        failure."""
        conn = self.engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                cursor.execute(sql if self.dialect == "sqlite" else _placeholders(sql), tuple(params))
                yield cursor
            finally:
                cursor.close()
        finally:
            conn.close()

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read-only statement, as plain tuples: a hot read's short path
        (``_raw_cursor``; a search's document read, once a ticket: 0.80 -> 0.42 ms for 18 rows at
        100k cases)."""
        with self._raw_cursor(sql, params) as cursor:
            if self.dialect == "sqlite":
                return cast("list[tuple[Any, ...]]", cursor.fetchall())  # sqlite3 rows are tuples
            return [tuple(_numeric(v) for v in row) for row in cursor.fetchall()]

    def int_column(self, sql: str, params: Sequence[Any] = (), batch: int = 65_536) -> np.ndarray:
        """The first column of one read-only statement's rows as int64 (row ids), read ``batch`` rows
        at a time on the short path of ``select``.

        No Python object per row outlives its batch: the rows of every case at 1M cases, fetched
        whole as ``Record`` objects, took ~400 MiB and 3 s for an 8 MB array (the server's loading
        peak, at its warm-up search).
        """
        with self._raw_cursor(sql, params) as cursor:
            parts = []
            while rows := cursor.fetchmany(batch):
                parts.append(np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows)))
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.run(lambda session: session.executemany(sql, rows))


def as_database(target: Database | str | Path) -> tuple[Database, bool]:
    """The database for a store's argument, and whether the store owns it (and closes it)."""
    if isinstance(target, Database):
        return target, False
    return Database(target), True


class DatabaseStore:
    """What every store class shares: its database (shared, or its own from a path or URL, which it then
    closes), the path, a re-entrant lock guarding its calls, open and close."""

    def __init__(self, target: Database | Path | str) -> None:
        self.db, self._owns_db = as_database(target)
        self.path = self.db.path
        self._lock = threading.RLock()

    def open(self) -> None:
        self.db.open()

    def close(self) -> None:
        with self._lock:
            if self._owns_db:
                self.db.close()
