"""What the service predicted and what agents said about it: the prediction log, feedback and
reassignment events (a ticket moved from one department to another, in the ticket system or by an
agent's correction).

All live in the service's database (SQLite or PostgreSQL) beside the cases. Feedback and reassignments are acknowledged writes
(committed with fsync before the API answers). The prediction log is telemetry: it is buffered
and written by a background thread about once a second, so logging never adds a disk flush to a
request; a crash can lose the last second of it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from knowledge.db import Database, DatabaseError, Session, as_database
from knowledge.drift import CONFIDENCE_BINS, WINDOWS, Profile, confidence_bin, confidence_bin_edges

logger = logging.getLogger(__name__)


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
    language: str | None = None
    at: datetime | None = None  # when predicted; None: when written (a backfill passes its own)


@dataclass(frozen=True)
class HandlingRecord:
    """The predicted handling time of one triaged ticket (``due_at``: created + SLA hours, if known)."""

    tenant: str
    ticket_id: str
    version: str
    department: str
    priority: str | None
    created_at: datetime
    p50_hours: float
    p90_hours: float
    sla_hours: float | None = None
    breach_risk: float | None = None


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


_HOUR = 13  # "2026-01-31T09": the ISO prefix naming an hour
_DAY = 10  # "2026-01-31": the ISO prefix naming a day
_GATHER_S = 0.2  # the prediction log's writer writes once nothing new came for this long (or ~500 rows)


def _add_to_hours(conn: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    """Fold freshly written prediction rows into the per-hour aggregates (inside the caller's transaction)."""
    labels: dict[tuple[Any, ...], int] = {}
    languages: dict[tuple[Any, ...], int] = {}
    scores: dict[tuple[Any, ...], list[float]] = {}
    for tenant, _ticket, version, role, head, value, conf, abstained, at, language in rows:
        hour = at[:_HOUR]
        key = (tenant, head, hour, version, role, value)
        labels[key] = labels.get(key, 0) + 1
        if head == "department":
            lang_key = (tenant, hour, version, role, language or "")
            languages[lang_key] = languages.get(lang_key, 0) + 1
        score = scores.setdefault(
            (tenant, head, hour, version, role, confidence_bin(conf), abstained), [0, 0.0]
        )
        score[0] += 1
        score[1] += conf
    conn.executemany(
        "INSERT INTO label_hours VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, head, hour, version, role, value)"
        " DO UPDATE SET n = label_hours.n + excluded.n",
        [(*k, n) for k, n in labels.items()],
    )
    conn.executemany(
        "INSERT INTO language_hours VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, hour, version, role, language)"
        " DO UPDATE SET n = language_hours.n + excluded.n",
        [(*k, n) for k, n in languages.items()],
    )
    conn.executemany(
        "INSERT INTO score_hours (tenant, head, hour, version, role, bin, abstained, n, conf_sum)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, head, hour, version, role, bin, abstained)"
        " DO UPDATE SET n = score_hours.n + excluded.n, conf_sum = score_hours.conf_sum + excluded.conf_sum",
        [(*k, int(v[0]), v[1]) for k, v in scores.items()],
    )


def _add_handoff(conn: Session, tenant: str, hour: str, source_dept: str, to: str, source: str) -> None:
    conn.execute(
        "INSERT INTO handoff_hours VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (tenant, hour, from_department, to_department,"
        " source) DO UPDATE SET n = handoff_hours.n + 1",
        (tenant, hour, source_dept, to, source),
    )
    conn.execute(
        "INSERT INTO handoff_days VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (tenant, day, from_department, to_department,"
        " source) DO UPDATE SET n = handoff_days.n + 1",
        (tenant, hour[:_DAY], source_dept, to, source),
    )


def _add_verdict(conn: Session, item: Feedback, hour: str) -> None:
    """Fold one piece of feedback into the hourly verdict, handoff and suggestion aggregates."""
    if item.kind == "case" and item.case_id and item.helpful is not None:
        conn.execute(
            "INSERT INTO suggestion_hours VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, hour, case_id) DO UPDATE SET"
            " helpful = suggestion_hours.helpful + excluded.helpful,"
            " not_helpful = suggestion_hours.not_helpful + excluded.not_helpful",
            (item.tenant, hour, item.case_id, int(item.helpful), int(not item.helpful)),
        )
        return
    if item.kind != "label" or not item.head or not item.predicted or not (item.accepted or item.correct):
        return
    row = conn.execute(
        "SELECT version FROM predictions WHERE tenant=? AND ticket_id=? AND head=? AND role<>'shadow'"
        " ORDER BY id DESC LIMIT 1",
        (item.tenant, item.ticket_id, item.head),
    ).fetchone()
    version = str(row[0]) if row is not None else "unknown"
    chosen = item.correct or item.predicted
    conn.execute(
        "INSERT INTO verdict_hours VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (tenant, hour, head, version, predicted,"
        " chosen) DO UPDATE SET n = verdict_hours.n + 1",
        (item.tenant, hour, item.head, version, item.predicted, chosen),
    )
    if item.head == "department" and item.correct and item.correct != item.predicted:
        _add_handoff(conn, item.tenant, hour, item.predicted, item.correct, "correction")


def _rebuild_verdicts_if_missing(conn: Session) -> None:
    """A database from before the verdict aggregates: build them once from feedback and reassignments."""
    if conn.execute("SELECT 1 FROM verdict_hours LIMIT 1").fetchone() is None:
        conn.execute(
            "INSERT INTO verdict_hours SELECT f.tenant, substr(f.at, 1, 13), f.head,"
            " coalesce((SELECT p.version FROM predictions p WHERE p.tenant=f.tenant AND p.ticket_id=f.ticket_id"
            " AND p.head=f.head AND p.role<>'shadow' ORDER BY p.id DESC LIMIT 1), 'unknown'),"
            " f.predicted, coalesce(f.correct, f.predicted), count(*) FROM feedback f"
            " WHERE f.kind='label' AND f.head IS NOT NULL AND f.predicted IS NOT NULL"
            " AND (f.accepted=1 OR f.correct IS NOT NULL) GROUP BY 1, 2, 3, 4, 5, 6"
        )
    if conn.execute("SELECT 1 FROM handoff_hours LIMIT 1").fetchone() is None:
        conn.execute(
            "INSERT INTO handoff_hours SELECT tenant, hour, a, b, source, sum(n) FROM ("
            " SELECT tenant, substr(at, 1, 13) AS hour, from_department AS a, to_department AS b, source,"
            " count(*) AS n FROM reassignments GROUP BY 1, 2, 3, 4, 5"
            " UNION ALL SELECT tenant, substr(at, 1, 13), predicted, correct, 'correction', count(*) FROM feedback"
            " WHERE kind='label' AND head='department' AND predicted IS NOT NULL AND correct IS NOT NULL"
            " AND correct<>predicted GROUP BY 1, 2, 3, 4) GROUP BY 1, 2, 3, 4, 5"
        )
    if conn.execute("SELECT 1 FROM handoff_days LIMIT 1").fetchone() is None:
        conn.execute(
            "INSERT INTO handoff_days SELECT tenant, substr(hour, 1, 10), from_department, to_department,"
            " source, sum(n) FROM handoff_hours GROUP BY 1, 2, 3, 4, 5"
        )
    if conn.execute("SELECT 1 FROM suggestion_hours LIMIT 1").fetchone() is None:
        conn.execute(
            "INSERT INTO suggestion_hours SELECT tenant, substr(at, 1, 13), case_id, sum(helpful=1), sum(helpful=0)"
            " FROM feedback WHERE kind='case' AND case_id IS NOT NULL AND helpful IS NOT NULL GROUP BY 1, 2, 3"
        )


def _rebuild_hours_if_missing(conn: Session) -> None:
    """A database from before the aggregates: build them once from the prediction log."""
    if conn.execute("SELECT 1 FROM predictions LIMIT 1").fetchone() is None:
        return
    if conn.execute("SELECT 1 FROM label_hours LIMIT 1").fetchone() is None:
        logger.info("building the per-hour prediction aggregates from the prediction log (once)")
        conn.execute(
            "INSERT INTO label_hours SELECT tenant, head, substr(at, 1, 13), version, role, value, count(*)"
            " FROM predictions GROUP BY 1, 2, 3, 4, 5, 6"
        )
        conn.execute(
            "INSERT INTO language_hours SELECT tenant, substr(at, 1, 13), version, role, coalesce(language, ''),"
            " count(*) FROM predictions WHERE head='department' GROUP BY 1, 2, 3, 4, 5"
        )
    if conn.execute("SELECT 1 FROM score_hours LIMIT 1").fetchone() is None:
        logger.info("building the per-hour confidence aggregates from the prediction log (once)")
        conn.execute(
            f"INSERT INTO score_hours SELECT tenant, head, substr(at, 1, 13), version, role,"
            f" min(max(cast(confidence * {CONFIDENCE_BINS} AS INTEGER), 0), {CONFIDENCE_BINS - 1}), abstained,"
            " count(*), sum(confidence) FROM predictions GROUP BY 1, 2, 3, 4, 5, 6, 7"
        )


def _hour_floor(at: datetime) -> str:
    return _utc(at)[:_HOUR]


def _hour_ceil(at: datetime) -> str:
    """The first whole hour at or after ``at`` (an exclusive end widened to whole hours)."""
    utc = at.astimezone(UTC)
    floor = utc.replace(minute=0, second=0, microsecond=0)
    return _hour_floor(floor if floor == utc else floor + timedelta(hours=1))


def _hours_where(
    tenant: str, head: str | None, since: datetime | None, until: datetime | None, live: bool = True
) -> tuple[str, list[Any]]:
    """WHERE clause over the hourly aggregates: a tenant, a head, a period, live roles only."""
    where, args = "tenant=?", [tenant]
    if head is not None:
        where, args = where + " AND head=?", [*args, head]
    if since is not None:
        where, args = where + " AND hour>=?", [*args, _hour_floor(since)]
    if until is not None:
        where, args = where + " AND hour<?", [*args, _hour_ceil(until)]
    if live:
        where += " AND role<>'shadow'"
    return where, args


class Ledger:
    """Prediction log (buffered) and feedback (durable) in the service's database."""

    def __init__(self, target: Database | Path | str) -> None:
        self.db, self._owns_db = as_database(target)
        self.path = self.db.path
        self._lock = threading.RLock()
        # One item per ``log`` call (a ticket's records together): one wake-up of the writer, not one a record.
        self._queue: queue.Queue[Sequence[PredictionRecord | HandlingRecord] | None] = queue.Queue()
        self._writer: threading.Thread | None = None

    def open(self) -> None:
        with self._lock:
            if self._writer is not None:
                return
            self.db.open()
            if self.db.dialect == "sqlite":
                # A SQLite file from before the language column and the hourly aggregates.
                with self.db.transaction() as conn:
                    columns = {row[1] for row in conn.execute("PRAGMA table_info(predictions)")}
                    if "language" not in columns:
                        conn.execute("ALTER TABLE predictions ADD COLUMN language TEXT")
                    _rebuild_hours_if_missing(conn)
                    _rebuild_verdicts_if_missing(conn)
            self._writer = threading.Thread(target=self._drain, name="ledger-writer", daemon=True)
            self._writer.start()

    def close(self) -> None:
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join(timeout=10)
            self._writer = None
        with self._lock:
            if self._owns_db:
                self.db.close()

    @property
    def _opened(self) -> Database:
        """The database, after ``open()`` (the writer thread running, an old SQLite file brought up to date)."""
        if self._writer is None:
            self.open()
        return self.db

    # -- prediction log ---------------------------------------------------------------------
    def log(self, records: Sequence[PredictionRecord | HandlingRecord]) -> None:
        """Queue predictions (and handling-time estimates) for the background writer (returns at once)."""
        if self._writer is None:
            self.open()
        if records:
            self._queue.put(tuple(records))

    def _drain(self) -> None:
        while True:
            item = self._queue.get()  # idle: the first item wakes the writer
            batch = [] if item is None else list(item)
            taken = 1
            # Gather what else comes (up to about 500 rows) into one transaction, until 0.2 s pass with
            # nothing new. Polled, not woken by each item: with a thread waiting on the queue, every
            # ``log`` call (one a ticket) would wake it and the request's thread would give up its core
            # and the GIL for it (under load, ~1 ms a ticket on average, of a 0.04 ms median call).
            while item is not None and len(batch) < 500:
                time.sleep(_GATHER_S)
                before = taken
                while item is not None and len(batch) < 500:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    taken += 1
                    if item is not None:
                        batch.extend(item)
                if taken == before:
                    break
            if batch:
                self._write(batch)
            for _ in range(taken):
                self._queue.task_done()
            if item is None:
                return

    def _write(self, items: Sequence[PredictionRecord | HandlingRecord]) -> None:
        now = _now()
        batch = [r for r in items if isinstance(r, PredictionRecord)]
        handling = [
            (
                h.tenant,
                h.ticket_id,
                h.version,
                h.department,
                h.priority,
                _utc(h.created_at),
                None if h.sla_hours is None else _utc(h.created_at + timedelta(hours=h.sla_hours)),
                h.p50_hours,
                h.p90_hours,
                h.breach_risk,
            )
            for h in items
            if isinstance(h, HandlingRecord)
        ]
        rows = [
            (
                r.tenant,
                r.ticket_id,
                r.version,
                r.role,
                r.head,
                r.value,
                r.confidence,
                int(r.abstained),
                now if r.at is None else _utc(r.at),
                r.language,
            )
            for r in batch
        ]
        try:
            for attempt in self._opened.attempts():
                with attempt, self._lock, self._opened.transaction() as conn:
                    conn.executemany(
                        "INSERT INTO predictions (tenant, ticket_id, version, role, head, value, confidence, abstained,"
                        " at, language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows,
                    )
                    _add_to_hours(conn, rows)
                    # A ticket triaged again gets the newer estimate; a close already reported stays.
                    conn.executemany(
                        "INSERT INTO handling (tenant, ticket_id, version, department, priority, created_at, due_at,"
                        " p50_hours, p90_hours, breach_risk) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (tenant, ticket_id) DO UPDATE SET version=excluded.version,"
                        " department=excluded.department, priority=excluded.priority, due_at=excluded.due_at,"
                        " p50_hours=excluded.p50_hours, p90_hours=excluded.p90_hours, breach_risk=excluded.breach_risk",
                        handling,
                    )
        except DatabaseError:
            logger.exception("could not write %d prediction log rows", len(items))

    def backfill(self, records: Sequence[PredictionRecord | HandlingRecord]) -> None:
        """Write records now, in one transaction, bypassing the queue (imports of history, benchmarks)."""
        self.flush()
        self._write(records)

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
            rows = self._opened.execute(sql + " ORDER BY id", args).fetchall()
        return [dict(r) for r in rows]

    def drift_profile(
        self,
        tenant: str,
        head: str,
        version: str,
        since: datetime | None = None,
        until: datetime | None = None,
        window: str = "day",
    ) -> tuple[Profile, list[Profile], int]:
        """What one model version predicted for a head (live: active and canary), from the hourly aggregates.

        Returns the whole period's profile, one per ``window`` (day or hour, named by its ISO
        prefix) and the number of live predictions by other versions. The period is widened to
        whole hours, the aggregates' grain.
        """
        if window not in WINDOWS:
            raise ValueError(f"unknown drift window {window!r}; known: {', '.join(WINDOWS)}")
        width = WINDOWS[window]
        where, args = _hours_where(tenant, head, since, until)
        with self._lock, self._opened.reading() as conn:
            labels = conn.execute(
                f"SELECT substr(hour, 1, {width}) AS w, value, sum(n) AS n FROM label_hours"
                f" WHERE {where} AND version=? GROUP BY w, value",
                [*args, version],
            ).fetchall()
            bins = conn.execute(
                f"SELECT substr(hour, 1, {width}) AS w, bin, sum(n) AS n, sum(conf_sum) AS conf,"
                f" sum(abstained * n) AS abst FROM score_hours WHERE {where} AND version=? GROUP BY w, bin",
                [*args, version],
            ).fetchall()
            other = conn.execute(
                f"SELECT coalesce(sum(n), 0) FROM score_hours WHERE {where} AND version<>?",
                [*args, version],
            ).fetchone()[0]
        edges = confidence_bin_edges(CONFIDENCE_BINS)
        per_window: dict[str, dict[str, Any]] = {}
        for r in labels:
            slot = per_window.setdefault(
                r["w"], {"labels": {}, "bins": [0] * CONFIDENCE_BINS, "conf": 0.0, "abst": 0}
            )
            slot["labels"][r["value"]] = int(r["n"])
        for r in bins:
            if r["w"] in per_window:
                slot = per_window[r["w"]]
                slot["bins"][int(r["bin"])] += int(r["n"])
                slot["conf"] += float(r["conf"])
                slot["abst"] += int(r["abst"])

        def profile(slots: Sequence[dict[str, Any]], start: str = "") -> Profile:
            label_counts: dict[str, int] = {}
            counts = [0] * CONFIDENCE_BINS
            for slot in slots:
                for value, n in slot["labels"].items():
                    label_counts[value] = label_counts.get(value, 0) + n
                counts = [a + b for a, b in zip(counts, slot["bins"], strict=True)]
            return Profile(
                n=sum(label_counts.values()),
                label_counts=label_counts,
                confidence_counts=counts,
                confidence_edges=edges,
                confidence_sum=sum(slot["conf"] for slot in slots),
                abstained=sum(slot["abst"] for slot in slots),
                start=start,
            )

        windows = [profile([per_window[w]], w) for w in sorted(per_window)]
        return profile(list(per_window.values())), windows, int(other)

    def close_ticket(self, tenant: str, ticket_id: str, closed_at: datetime) -> bool:
        """The ticket system reports the ticket closed (real handling time = closed - created).

        Durable; adds the ticket to the per-day handling aggregates once. False when no triaged
        ticket has that id (nothing predicted to compare with) or it was already closed.
        """
        return self.close_tickets([(tenant, ticket_id, closed_at)]) == 1

    def close_tickets(self, closes: Sequence[tuple[str, str, datetime]]) -> int:
        """``close_ticket`` for many (tenant, ticket id, closed at) in one transaction; returns how many closed."""
        self.flush()
        done = 0
        with self._lock, self._opened.transaction() as conn:
            for tenant, ticket_id, closed_at in closes:
                closed = _utc(closed_at)
                row = conn.execute(
                    "SELECT department, created_at, p50_hours, p90_hours FROM handling"
                    " WHERE tenant=? AND ticket_id=? AND closed_at IS NULL",
                    (tenant, ticket_id),
                ).fetchone()
                if row is None:
                    continue
                hours = (closed_at - datetime.fromisoformat(row["created_at"])).total_seconds() / 3600
                conn.execute(
                    "UPDATE handling SET closed_at=? WHERE tenant=? AND ticket_id=?",
                    (closed, tenant, ticket_id),
                )
                conn.execute(
                    "INSERT INTO handling_days VALUES (?, ?, ?, 1, ?, ?, ?, ?) ON CONFLICT (tenant, day, department)"
                    " DO UPDATE SET closed = handling_days.closed + 1,"
                    " p50_sum = handling_days.p50_sum + excluded.p50_sum,"
                    " real_sum = handling_days.real_sum + excluded.real_sum,"
                    " abs_err_sum = handling_days.abs_err_sum + excluded.abs_err_sum,"
                    " within_p90 = handling_days.within_p90 + excluded.within_p90",
                    (
                        tenant,
                        closed[:10],
                        row["department"],
                        row["p50_hours"],
                        hours,
                        abs(hours - row["p50_hours"]),
                        int(hours <= row["p90_hours"]),
                    ),
                )
                done += 1
        return done

    def query(self, sql: str, args: Sequence[Any] = ()) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        """Run one read-only aggregate query (the dashboard's statistics): column names and rows."""
        with self._lock:
            result = self._opened.execute(sql, list(args))
        return result.columns, [tuple(r) for r in result.rows]

    # -- feedback ---------------------------------------------------------------------------
    def add_feedback(self, item: Feedback) -> int:
        """Store feedback durably (and in the dashboard's hourly aggregates); returns its id."""
        if item.kind == "label":
            self.flush()  # the verdict names the model version that answered: its prediction must be written
        at = _now()
        with self._lock, self._opened.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO feedback (tenant, ticket_id, kind, head, predicted, correct, accepted, case_id,"
                " helpful, text, agent, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
                    at,
                ),
            )
            _add_verdict(conn, item, at[:_HOUR])
        return int(cur.rows[0][0])

    def feedback(self, tenant: str, kind: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM feedback WHERE tenant=?", [tenant]
        if kind:
            sql, args = sql + " AND kind=?", [*args, kind]
        with self._lock:
            rows = self._opened.execute(sql + " ORDER BY id", args).fetchall()
        return [dict(r) for r in rows]

    def comparison(self, tenant: str, head: str = "department") -> dict[str, Any]:
        """Active vs candidate on the same tickets: agreement, and accuracy where agents gave the answer."""
        with self._lock, self._opened.reading() as conn:
            rows = conn.execute(
                "SELECT ticket_id, version, role, value FROM predictions WHERE tenant=? AND head=? "
                "AND ticket_id IS NOT NULL ORDER BY id",
                (tenant, head),
            ).fetchall()
            truth_rows = conn.execute(
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

    # -- duplicates -------------------------------------------------------------------------
    def add_duplicates(self, tenant: str, ticket_key: str, matches: Sequence[tuple[str, float]]) -> int:
        """Record durably that a ticket repeats open cases ((case id, score) pairs); returns how many are new.

        Idempotent per ticket and case: checking the same ticket again keeps the first record.
        """
        if not ticket_key.strip():
            raise ValueError("duplicate ticket key is empty; pass the ticket id or a digest of its text")
        at = _now()
        added = 0
        with self._lock, self._opened.transaction() as conn:
            for case_id, score in matches:
                added += len(
                    conn.execute(
                        "INSERT INTO duplicate_links (tenant, ticket_key, case_id, score, at) VALUES (?, ?, ?, ?, ?)"
                        " ON CONFLICT (tenant, ticket_key, case_id) DO NOTHING RETURNING case_id",
                        (tenant, ticket_key, case_id, float(score), at),
                    ).rows
                )
        return added

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
            with self._opened.transaction() as conn:
                cur = conn.execute(
                    "INSERT INTO reassignments"
                    " (tenant, ticket_id, from_department, to_department, at, source, recorded_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (tenant, ticket_id, from_department, to_department, at, source) DO NOTHING"
                    " RETURNING id",
                    (*key, _now()),
                )
                if cur.rows:
                    _add_handoff(conn, tenant, key[4][:_HOUR], from_department, to_department, source)
            if cur.rows:
                return int(cur.rows[0][0])
            row = self._opened.execute(
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
            rows = self._opened.execute(sql + " ORDER BY at, id", args).fetchall()
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
