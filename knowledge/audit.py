"""The audit trail: an append-only, hash-chained log of every change of state, in the service's database.

Each row holds who (key id, client address, request id), what (action, target, a small before/after
summary as JSON; never ticket text) and when, plus ``prev_hash`` and ``hash``: the SHA-256 of the
previous row's hash and the row's canonical JSON. Editing a row breaks its own hash; deleting one
breaks the link of the row after it; deleting the newest rows leaves the table's sequence counter
ahead of the last row. ``AuditLog.verify`` finds each of these and names the first bad row; its
``head`` (the newest hash) can be kept elsewhere and passed back as ``expect_head`` to prove that
nothing was cut off or rewritten wholesale since.

Append-only is enforced twice: triggers refuse UPDATE and DELETE on the table (a mistake or a
careless script stops there), and the chain shows whoever drops the triggers first.

Appending is one writer transaction (``BEGIN IMMEDIATE``) that reads the last hash and inserts, so
concurrent writers (server threads, a CLI process) never fork the chain; on PostgreSQL the
transaction holds an advisory lock instead. The last sequence number issued is SQLite's
AUTOINCREMENT counter there and the one-row ``audit_issued`` table on PostgreSQL (whose triggers
refuse UPDATE, DELETE and TRUNCATE on the trail). All SQL is in this class.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from knowledge.db import DatabaseStore, Record, Session

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
#: The longest string a before/after summary may hold: summaries name ids, labels and counts, never text.
MAX_SUMMARY_STRING = 200
MAX_SUMMARY_BYTES = 4096

_HASHED = ("seq", "at", "key_id", "tenant", "action", "target", "before", "after", "request_id", "client")


class AuditSummaryError(ValueError):
    """A before/after summary that is not small JSON of ids, labels and counts."""


@dataclass(frozen=True)
class AuditEvent:
    """One change of state, as the code that made it describes it."""

    tenant: str
    action: str  # e.g. "case.delete", "model.promote"
    target: str | None = None  # e.g. "case:DEMO-1", "model:v3"
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    key_id: str | None = None
    request_id: str | None = None
    client: str | None = None


@dataclass(frozen=True)
class AuditRecord:
    """A stored audit row."""

    seq: int
    at: str
    key_id: str | None
    tenant: str
    action: str
    target: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    client: str | None
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Verification:
    """What ``AuditLog.verify`` found: ``ok``, rows checked, the head hash, and the first bad row."""

    ok: bool
    rows: int
    head: str
    first_bad: int | None = None
    problem: str | None = None


def _summary(value: Mapping[str, Any] | None, name: str) -> str | None:
    """Canonical JSON of a summary, refusing long strings (ticket text has no place here)."""
    if value is None:
        return None

    def check(item: Any, where: str) -> None:
        if isinstance(item, str) and len(item) > MAX_SUMMARY_STRING:
            raise AuditSummaryError(
                f"audit {name} summary {where} is {len(item)} characters; summaries hold ids, labels "
                f"and counts of at most {MAX_SUMMARY_STRING} characters, never ticket text"
            )
        if isinstance(item, Mapping):
            for key, inner in item.items():
                check(inner, f"{where}.{key}")
        elif isinstance(item, list | tuple):
            for i, inner in enumerate(item):
                check(inner, f"{where}[{i}]")

    check(value, name)
    text = _canonical(dict(value))
    if len(text.encode()) > MAX_SUMMARY_BYTES:
        raise AuditSummaryError(
            f"audit {name} summary is {len(text.encode())} bytes (limit {MAX_SUMMARY_BYTES}); "
            "summarise (counts, first ids) instead of listing everything"
        )
    return text


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    """SHA-256 of the previous hash and the row's canonical JSON (the hashed columns only)."""
    body = _canonical({k: row[k] for k in _HASHED})
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _utc(moment: datetime | str | None) -> str | None:
    """A filter time as the rows store theirs (UTC ISO, milliseconds); a time without zone is UTC."""
    if moment is None or isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _record(row: Record) -> AuditRecord:
    return AuditRecord(
        seq=int(row["seq"]),
        at=row["at"],
        key_id=row["key_id"],
        tenant=row["tenant"],
        action=row["action"],
        target=row["target"],
        before=json.loads(row["before"]) if row["before"] is not None else None,
        after=json.loads(row["after"]) if row["after"] is not None else None,
        request_id=row["request_id"],
        client=row["client"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


class AuditLog(DatabaseStore):
    """The audit table of the service's database (SQLite or PostgreSQL): append, list, verify. Thread-safe."""

    def _issued(self, conn: Session) -> int:
        """The last sequence number handed out (rows cut off the end still count)."""
        if self.db.dialect == "sqlite":
            counter = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='audit'").fetchone()
        else:
            counter = conn.execute("SELECT seq FROM audit_issued").fetchone()
        return int(counter[0]) if counter else 0

    def append(self, event: AuditEvent) -> AuditRecord:
        """Chain and store one event durably (fsynced when this returns); returns the stored row."""
        return self.append_many([event])[0]

    def append_many(self, events: Sequence[AuditEvent]) -> list[AuditRecord]:
        """Chain and store events in order, in one transaction (a bulk change: one fsync for all)."""
        prepared = [(e, _summary(e.before, "before"), _summary(e.after, "after")) for e in events]
        if not prepared:
            return []
        rows: list[dict[str, Any]] = []
        # One writer at a time across threads and processes: the last hash cannot change under us.
        with self._lock, self.db.transaction(exclusive="audit") as conn:
            last = conn.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            previous, seq, at = last[0] if last else GENESIS, self._issued(conn), _now()
            for event, before, after in prepared:
                seq += 1
                row: dict[str, Any] = {
                    "seq": seq,
                    "at": at,
                    "key_id": event.key_id,
                    "tenant": event.tenant,
                    "action": event.action,
                    "target": event.target,
                    "before": before,
                    "after": after,
                    "request_id": event.request_id,
                    "client": event.client,
                    "prev_hash": previous,
                }
                row["hash"] = previous = row_hash(previous, row)
                conn.execute(
                    f"INSERT INTO audit ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                    list(row.values()),
                )
                rows.append(row)
            if self.db.dialect != "sqlite":
                conn.execute("UPDATE audit_issued SET seq=?", (seq,))
        return [
            AuditRecord(
                **{k: v for k, v in row.items() if k not in ("before", "after")},
                before=json.loads(row["before"]) if row["before"] else None,
                after=json.loads(row["after"]) if row["after"] else None,
            )
            for row in rows
        ]

    def entries(
        self,
        tenant: str | None = None,
        *,
        action: str | None = None,
        key_id: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> list[AuditRecord]:
        """Rows newest first, filtered (``since`` inclusive, ``until`` exclusive); page with ``before_seq``.

        ``action`` matches exactly, or a family with a trailing ``.*`` ("case.*").
        """
        sql, args = "SELECT * FROM audit WHERE 1=1", list[Any]()
        if tenant is not None:
            sql, args = sql + " AND tenant=?", [*args, tenant]
        if action is not None:
            if action.endswith(".*"):
                sql, args = sql + " AND action LIKE ? ESCAPE '\\'", [*args, _like_prefix(action[:-1])]
            else:
                sql, args = sql + " AND action=?", [*args, action]
        if key_id is not None:
            sql, args = sql + " AND key_id=?", [*args, key_id]
        if since is not None:
            sql, args = sql + " AND at>=?", [*args, _utc(since)]
        if until is not None:
            sql, args = sql + " AND at<?", [*args, _utc(until)]
        if before_seq is not None:
            sql, args = sql + " AND seq<?", [*args, before_seq]
        with self._lock:
            rows = self.db.execute(sql + " ORDER BY seq DESC LIMIT ?", [*args, limit]).fetchall()
        return [_record(r) for r in rows]

    def verify(self, expect_head: str | None = None) -> Verification:
        """Recompute the chain from the first row; the first row that does not fit is named.

        ``expect_head``: a head hash kept from an earlier verify; the chain must still contain it.
        """
        previous, count, seen_expected, last_seq = GENESIS, 0, expect_head is None, 0
        # Read in one transaction: rows appended meanwhile do not tear the view.
        with self._lock, self.db.reading() as conn:
            cursor = conn.execute("SELECT * FROM audit ORDER BY seq")
            for row in cursor:
                count += 1
                values = dict(row)
                seq = int(values["seq"])
                if values["prev_hash"] != previous:
                    problem = (
                        f"row {seq}: prev_hash does not match the hash of the row before it "
                        f"(row {last_seq or 'none'}): a row before it was deleted or edited"
                    )
                    return Verification(False, count, previous, seq, problem)
                if seq != last_seq + 1:
                    problem = f"row {seq}: rows {last_seq + 1}..{seq - 1} are missing (deleted)"
                    return Verification(False, count, previous, seq, problem)
                if row_hash(previous, values) != values["hash"]:
                    problem = f"row {seq}: its contents do not match its hash (edited)"
                    return Verification(False, count, previous, seq, problem)
                previous, last_seq = values["hash"], seq
                seen_expected = seen_expected or previous == expect_head
            issued = self._issued(conn)
        if issued > last_seq:
            problem = (
                f"rows {last_seq + 1}..{issued} were written and are gone (the newest rows were deleted)"
            )
            return Verification(False, count, previous, last_seq + 1, problem)
        if not seen_expected:
            problem = f"the expected head {expect_head} is not in the chain (rewritten or cut off)"
            return Verification(False, count, previous, None, problem)
        return Verification(True, count, previous)


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
