"""What the service predicted and what agents said about it: the prediction log, feedback and
reassignment events (a ticket moved from one department to another, in the ticket system or by an
agent's correction).

All live in the service's SQLite database beside the cases. Feedback and reassignments are acknowledged writes
(committed with fsync before the API answers). The prediction log is telemetry: it is buffered
and written by a background thread about once a second, so logging never adds a disk flush to a
request; a crash can lose the last second of it.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant     TEXT NOT NULL,
    ticket_id  TEXT,
    version    TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('active', 'canary', 'shadow')),
    head       TEXT NOT NULL,
    value      TEXT NOT NULL,
    confidence REAL NOT NULL,
    abstained  INTEGER NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS predictions_lookup ON predictions (tenant, at);
CREATE INDEX IF NOT EXISTS predictions_ticket ON predictions (tenant, ticket_id);
CREATE TABLE IF NOT EXISTS feedback (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant     TEXT NOT NULL,
    ticket_id  TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('label', 'case')),
    head       TEXT,
    predicted  TEXT,
    correct    TEXT,
    accepted   INTEGER,
    case_id    TEXT,
    helpful    INTEGER,
    text       TEXT,
    agent      TEXT,
    at         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_ticket ON feedback (tenant, ticket_id);
CREATE TABLE IF NOT EXISTS reassignments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          TEXT NOT NULL,
    ticket_id       TEXT NOT NULL,
    from_department TEXT NOT NULL,
    to_department   TEXT NOT NULL,
    at              TEXT NOT NULL,
    source          TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    UNIQUE (tenant, ticket_id, from_department, to_department, at, source)
);
CREATE INDEX IF NOT EXISTS reassignments_window ON reassignments (tenant, at);
"""


@dataclass(frozen=True)
class PredictionRecord:
    tenant: str
    ticket_id: str | None
    version: str
    role: str  # active | canary | shadow
    head: str
    value: str
    confidence: float
    abstained: bool


@dataclass(frozen=True)
class Feedback:
    """An agent accepted or corrected a label, or judged a suggested case."""

    tenant: str
    ticket_id: str
    kind: str  # "label" | "case"
    head: str | None = None
    predicted: str | None = None
    correct: str | None = None
    accepted: bool | None = None
    case_id: str | None = None
    helpful: bool | None = None
    text: str | None = None  # the ticket text, kept for retraining on corrections
    agent: str | None = None


@dataclass(frozen=True)
class Reassignment:
    """A ticket passed from one department to another (``source``: who reported it, e.g. "zendesk", "agent")."""

    id: int
    tenant: str
    ticket_id: str
    from_department: str
    to_department: str
    at: datetime
    source: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _utc(at: datetime) -> str:
    """The stored form of an instant: UTC ISO 8601 with milliseconds (sorts as text)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"reassignment time {at.isoformat()} has no time zone; pass an aware datetime (UTC)")
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


class Ledger:
    """Prediction log (buffered) and feedback (durable) in one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._queue: queue.Queue[PredictionRecord | None] = queue.Queue()
        self._writer: threading.Thread | None = None

    def open(self) -> None:
        with self._lock:
            if self._conn is not None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.executescript(_SCHEMA)
            conn.row_factory = sqlite3.Row
            self._conn = conn
            self._writer = threading.Thread(target=self._drain, name="ledger-writer", daemon=True)
            self._writer.start()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self.open()
        assert self._conn is not None
        return self._conn

    def close(self) -> None:
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join(timeout=10)
            self._writer = None
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- prediction log ---------------------------------------------------------------------
    def log(self, records: Sequence[PredictionRecord]) -> None:
        """Queue predictions for the background writer (returns at once)."""
        for record in records:
            self._queue.put(record)

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            batch = [] if item is None else [item]
            taken = 1
            # Gather what else is queued (up to 500 rows) into one transaction.
            while item is not None and len(batch) < 500:
                try:
                    item = self._queue.get(timeout=0.2)
                except queue.Empty:
                    break
                taken += 1
                if item is not None:
                    batch.append(item)
            if batch:
                self._write(batch)
            for _ in range(taken):
                self._queue.task_done()
            if item is None:
                return

    def _write(self, batch: Sequence[PredictionRecord]) -> None:
        at = _now()
        try:
            with self._lock:
                conn = self.conn
                conn.execute("BEGIN")
                conn.executemany(
                    "INSERT INTO predictions (tenant, ticket_id, version, role, head, value, confidence, abstained, at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            r.tenant,
                            r.ticket_id,
                            r.version,
                            r.role,
                            r.head,
                            r.value,
                            r.confidence,
                            int(r.abstained),
                            at,
                        )
                        for r in batch
                    ],
                )
                conn.execute("COMMIT")
        except sqlite3.Error:
            logger.exception("could not write %d prediction log rows", len(batch))

    def flush(self) -> None:
        """Wait until every queued prediction is written (reports, tests, shutdown)."""
        if self._writer is not None:
            self._queue.join()

    def predictions(
        self,
        tenant: str,
        head: str = "department",
        since: str | None = None,
        until: str | None = None,
    ) -> list[dict[str, Any]]:
        """One head's logged predictions (value, confidence, abstained, version, role, at), oldest first.

        ``since`` (inclusive) and ``until`` (exclusive) are ISO times or dates, compared with the
        rows' UTC ``at`` ("2026-01-31" is the start of that day), so drift can be read per window.
        """
        sql = "SELECT * FROM predictions WHERE tenant=? AND head=?"
        args: list[Any] = [tenant, head]
        if since:
            sql, args = sql + " AND at>=?", [*args, since]
        if until:
            sql, args = sql + " AND at<?", [*args, until]
        with self._lock:
            rows = self.conn.execute(sql + " ORDER BY id", args).fetchall()
        return [dict(r) for r in rows]

    # -- feedback ---------------------------------------------------------------------------
    def add_feedback(self, item: Feedback) -> int:
        """Store feedback durably; returns its id."""
        with self._lock:
            cur = self.conn.execute(
                "INSERT INTO feedback (tenant, ticket_id, kind, head, predicted, correct, accepted, case_id, helpful,"
                " text, agent, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item.tenant,
                    item.ticket_id,
                    item.kind,
                    item.head,
                    item.predicted,
                    item.correct,
                    None if item.accepted is None else int(item.accepted),
                    item.case_id,
                    None if item.helpful is None else int(item.helpful),
                    item.text,
                    item.agent,
                    _now(),
                ),
            )
            return int(cur.lastrowid or 0)

    def feedback(self, tenant: str, kind: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM feedback WHERE tenant=?", [tenant]
        if kind:
            sql, args = sql + " AND kind=?", [*args, kind]
        with self._lock:
            rows = self.conn.execute(sql + " ORDER BY id", args).fetchall()
        return [dict(r) for r in rows]

    def comparison(self, tenant: str, head: str = "department") -> dict[str, Any]:
        """Active vs candidate on the same tickets: agreement, and accuracy where agents gave the answer."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT ticket_id, version, role, value FROM predictions WHERE tenant=? AND head=? "
                "AND ticket_id IS NOT NULL ORDER BY id",
                (tenant, head),
            ).fetchall()
            truth_rows = self.conn.execute(
                "SELECT ticket_id, correct, predicted, accepted FROM feedback WHERE tenant=? AND kind='label' "
                "AND head=? ORDER BY id",
                (tenant, head),
            ).fetchall()
        by_ticket: dict[str, dict[str, tuple[str, str]]] = {}
        for r in rows:
            by_ticket.setdefault(r["ticket_id"], {})["candidate" if r["role"] != "active" else "active"] = (
                r["version"],
                r["value"],
            )
        truth: dict[str, str] = {}
        for r in truth_rows:
            answer = r["correct"] or (r["predicted"] if r["accepted"] else None)
            if answer:
                truth[r["ticket_id"]] = answer
        pairs = [(t, v) for t, v in by_ticket.items() if "active" in v and "candidate" in v]
        out: dict[str, Any] = {"tickets_compared": len(pairs), "agreement": None, "with_feedback": 0}
        if pairs:
            out["agreement"] = sum(v["active"][1] == v["candidate"][1] for _, v in pairs) / len(pairs)
            out["versions"] = {
                "active": sorted({v["active"][0] for _, v in pairs}),
                "candidate": sorted({v["candidate"][0] for _, v in pairs}),
            }
        judged = [(t, v) for t, v in pairs if t in truth]
        out["with_feedback"] = len(judged)
        if judged:
            out["accuracy_active"] = sum(v["active"][1] == truth[t] for t, v in judged) / len(judged)
            out["accuracy_candidate"] = sum(v["candidate"][1] == truth[t] for t, v in judged) / len(judged)
        return out

    # -- reassignments ----------------------------------------------------------------------
    def add_reassignment(
        self,
        tenant: str,
        ticket_id: str,
        from_department: str,
        to_department: str,
        at: datetime,
        source: str,
    ) -> int:
        """Record durably that ``ticket_id`` moved from one department to another at ``at``; returns its id.

        Idempotent: the same event (tenant, ticket, from, to, instant, source) delivered twice is
        stored once and returns the first id, so a connector may replay vendor webhooks safely.
        """
        for name, value in (
            ("tenant", tenant),
            ("ticket_id", ticket_id),
            ("from_department", from_department),
            ("to_department", to_department),
            ("source", source),
        ):
            if not value or not value.strip():
                raise ValueError(f"reassignment {name} is empty; pass the {name.replace('_', ' ')}")
        if from_department == to_department:
            raise ValueError(
                f"reassignment of {ticket_id!r} from {from_department!r} to itself is not a move"
            )
        key = (tenant, ticket_id, from_department, to_department, _utc(at), source)
        with self._lock:
            conn = self.conn
            cur = conn.execute(
                "INSERT OR IGNORE INTO reassignments"
                " (tenant, ticket_id, from_department, to_department, at, source, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*key, _now()),
            )
            if cur.rowcount:
                return int(cur.lastrowid or 0)
            row = conn.execute(
                "SELECT id FROM reassignments WHERE tenant=? AND ticket_id=? AND from_department=?"
                " AND to_department=? AND at=? AND source=?",
                key,
            ).fetchone()
            return int(row["id"])

    def reassignments(
        self,
        tenant: str,
        since: datetime | None = None,
        until: datetime | None = None,
        ticket_id: str | None = None,
    ) -> list[Reassignment]:
        """One tenant's reassignments in ``[since, until)`` (optionally of one ticket), oldest first."""
        sql = "SELECT * FROM reassignments WHERE tenant=?"
        args: list[Any] = [tenant]
        if since is not None:
            sql, args = sql + " AND at>=?", [*args, _utc(since)]
        if until is not None:
            sql, args = sql + " AND at<?", [*args, _utc(until)]
        if ticket_id is not None:
            sql, args = sql + " AND ticket_id=?", [*args, ticket_id]
        with self._lock:
            rows = self.conn.execute(sql + " ORDER BY at, id", args).fetchall()
        return [
            Reassignment(
                id=r["id"],
                tenant=r["tenant"],
                ticket_id=r["ticket_id"],
                from_department=r["from_department"],
                to_department=r["to_department"],
                at=datetime.fromisoformat(r["at"]),
                source=r["source"],
            )
            for r in rows
        ]
