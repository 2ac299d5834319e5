"""Connector configurations and the delivery queue: every SQL statement of the connectors in one class.

Both tables live in the service's database. Credentials and signing secrets are encrypted at rest
with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``); the key comes from the settings
(``TRIAGE_CONNECTOR_KEY``) or a key file in the data folder created on first use (mode 0600).
A delivery row is written and fsynced before the webhook is answered, so an accepted event
survives a crash; ``UNIQUE (connector, ticket_id, event_id)`` makes a retried delivery one event.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from knowledge.db import Database, DatabaseStore, IntegrityError, Record
from serving.connectors.base import ConnectorConfig, LabelMapping, WritePolicy

logger = logging.getLogger(__name__)

STATES = ("pending", "running", "done", "dead")


class ConnectorError(ValueError):
    """A connector operation was refused; the message names the connector and the fix."""


@dataclass(frozen=True)
class Delivery:
    """One accepted webhook event and what became of it."""

    id: int
    connector: str
    tenant: str
    ticket_id: str
    event_id: str
    kind: str
    headers: Mapping[str, str]
    body: bytes
    state: str
    attempts: int
    next_at: float
    steps_done: int
    plan: Mapping[str, Any] | None
    result: Mapping[str, Any] | None
    last_error: str | None
    created_at: float
    updated_at: float


def load_key(key: str | None, data_dir: Path) -> bytes:
    """The Fernet key: the configured one, else the data folder's key file (created on first use)."""
    if key:
        return key.encode()
    path = data_dir / "connector.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
            handle.flush()
            os.fsync(handle.fileno())
    return path.read_bytes().strip()


class ConnectorStore(DatabaseStore):
    """Connectors and deliveries in the service's database (SQLite or PostgreSQL)."""

    def __init__(self, target: Database | Path | str, key: bytes | Callable[[], bytes]) -> None:
        """``key`` is the Fernet key, or a function that gives it on first use (no I/O here)."""
        super().__init__(target)
        self._key = key
        self._fernet_: Fernet | None = None

    @property
    def _fernet(self) -> Fernet:
        if self._fernet_ is None:
            key = self._key() if callable(self._key) else self._key
            try:
                self._fernet_ = Fernet(key)
            except ValueError as exc:
                raise ConnectorError(
                    "the connector key is not a Fernet key (32 url-safe base64 bytes); make one with "
                    "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
                ) from exc
        return self._fernet_

    # -- connectors -------------------------------------------------------------------------
    def _seal(self, value: Mapping[str, str] | str) -> bytes:
        return self._fernet.encrypt(json.dumps(value).encode())

    def _open(self, token: bytes, name: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(token))
        except InvalidToken as exc:
            raise ConnectorError(
                f"connector {name!r}: its secrets do not decrypt with this connector key; "
                "set TRIAGE_CONNECTOR_KEY to the key it was added with, or add it again"
            ) from exc

    def put(self, config: ConnectorConfig, replace: bool = False) -> None:
        """Add a connector (or replace it when ``replace``); secrets are encrypted before they are written."""
        row = (
            config.name,
            config.tenant,
            config.system,
            config.base_url.rstrip("/"),
            self._seal(dict(config.credentials)),
            self._seal(config.signing_secret),
            json.dumps({k: dict(v) for k, v in asdict(config.mapping).items()}),
            json.dumps(asdict(config.policy)),
            int(config.enabled),
            time.time(),
        )
        upsert = (
            " ON CONFLICT (name) DO UPDATE SET tenant=excluded.tenant, system=excluded.system,"
            " base_url=excluded.base_url, credentials=excluded.credentials,"
            " signing_secret=excluded.signing_secret, mapping=excluded.mapping, policy=excluded.policy,"
            " enabled=excluded.enabled, created_at=excluded.created_at"
        )
        with self._lock:
            try:
                self.db.execute(
                    "INSERT INTO connectors (name, tenant, system, base_url, credentials, signing_secret, "
                    "mapping, policy, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    + (upsert if replace else ""),
                    row,
                )
            except IntegrityError as exc:
                raise ConnectorError(
                    f"connector {config.name!r} already exists; remove it first or pick another name"
                ) from exc

    def get(self, name: str) -> ConnectorConfig | None:
        with self._lock:
            row = self.db.execute("SELECT * FROM connectors WHERE name=?", (name,)).fetchone()
        return None if row is None else self._config(row)

    def all(self, tenant: str | None = None) -> list[ConnectorConfig]:
        sql, args = "SELECT * FROM connectors", []
        if tenant is not None:
            sql, args = sql + " WHERE tenant=?", [tenant]
        with self._lock:
            rows = self.db.execute(sql + " ORDER BY name", args).fetchall()
        return [self._config(r) for r in rows]

    def remove(self, name: str) -> bool:
        with self._lock:
            return self.db.execute("DELETE FROM connectors WHERE name=?", (name,)).rowcount > 0

    def _config(self, row: Record) -> ConnectorConfig:
        mapping = json.loads(row["mapping"])
        policy = json.loads(row["policy"])
        policy["tags"] = tuple(policy.get("tags", ()))
        return ConnectorConfig(
            name=row["name"],
            tenant=row["tenant"],
            system=row["system"],
            base_url=row["base_url"],
            signing_secret=str(self._open(row["signing_secret"], row["name"])),
            credentials=self._open(row["credentials"], row["name"]),
            mapping=LabelMapping(**mapping),
            policy=WritePolicy(**policy),
            enabled=bool(row["enabled"]),
        )

    # -- deliveries -------------------------------------------------------------------------
    def enqueue(
        self,
        connector: ConnectorConfig,
        ticket_id: str,
        event_id: str,
        kind: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> tuple[int, bool]:
        """Store an accepted event durably; returns (delivery id, True) or (the first one's id, False)."""
        now = time.time()
        with self._lock:
            cur = self.db.execute(
                "INSERT INTO deliveries (connector, tenant, ticket_id, event_id, kind, headers, body, "
                "state, next_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?) "
                "ON CONFLICT (connector, ticket_id, event_id) DO NOTHING RETURNING id",
                (
                    connector.name,
                    connector.tenant,
                    ticket_id,
                    event_id,
                    kind,
                    json.dumps(dict(headers)),
                    body,
                    now,
                    now,
                    now,
                ),
            )
            if cur.rows:
                return int(cur.rows[0][0]), True
            row = self.db.execute(
                "SELECT id FROM deliveries WHERE connector=? AND ticket_id=? AND event_id=?",
                (connector.name, ticket_id, event_id),
            ).fetchone()
            return int(row["id"]), False

    def requeue_running(self, stale_after: float | None = None, now: float | None = None) -> int:
        """Deliveries whose worker is gone are pending again: all of them after a crash of the only
        process (``stale_after`` None), else those whose lease has run out.

        A worker holds a delivery it runs by a lease of ``stale_after`` seconds that it renews
        (:meth:`renew`); a row untouched that long was left by a replica that died, and any live
        replica takes it back, not only one that restarts.
        """
        now = time.time() if now is None else now
        cutoff = now if stale_after is None else now - stale_after
        with self._lock:
            return self.db.execute(
                "UPDATE deliveries SET state='pending', updated_at=? WHERE state='running' AND updated_at<=?",
                (now, cutoff),
            ).rowcount

    def renew(self, delivery_id: int, now: float | None = None) -> bool:
        """Extend the lease on a running delivery (its worker is alive); False if it is no longer running."""
        with self._lock:
            return (
                self.db.execute(
                    "UPDATE deliveries SET updated_at=? WHERE id=? AND state='running'",
                    (time.time() if now is None else now, delivery_id),
                ).rowcount
                > 0
            )

    def claim(self, now: float) -> Delivery | None:
        """The next due pending delivery, marked running (oldest first)."""
        # PostgreSQL: replicas' workers skip a row another one is claiming (SQLite: one writer anyway).
        lock = "" if self.db.dialect == "sqlite" else " FOR UPDATE SKIP LOCKED"
        with self._lock, self.db.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM deliveries WHERE state='pending' AND next_at<=? ORDER BY next_at, id LIMIT 1"
                + lock,
                (now,),
            ).fetchone()
            if row is not None:
                conn.execute(
                    "UPDATE deliveries SET state='running', updated_at=? WHERE id=?",
                    (time.time(), row["id"]),
                )
        return None if row is None else _delivery(row, state="running")

    def next_due(self) -> float | None:
        with self._lock:
            row = self.db.execute(
                "SELECT MIN(next_at) AS at FROM deliveries WHERE state='pending'"
            ).fetchone()
        return None if row["at"] is None else float(row["at"])

    def save_plan(self, delivery_id: int, plan: Mapping[str, Any], result: Mapping[str, Any]) -> None:
        with self._lock:
            self.db.execute(
                "UPDATE deliveries SET plan=?, result=?, updated_at=? WHERE id=?",
                (json.dumps(plan), json.dumps(result), time.time(), delivery_id),
            )

    def step_done(self, delivery_id: int, steps: int) -> None:
        with self._lock:
            self.db.execute(
                "UPDATE deliveries SET steps_done=?, updated_at=? WHERE id=?",
                (steps, time.time(), delivery_id),
            )

    def finish(self, delivery_id: int, attempts: int) -> None:
        with self._lock:
            self.db.execute(
                "UPDATE deliveries SET state='done', attempts=?, last_error=NULL, updated_at=? WHERE id=?",
                (attempts, time.time(), delivery_id),
            )

    def fail(self, delivery_id: int, attempts: int, error: str, retry_at: float | None) -> None:
        """Record a failed attempt: pending again at ``retry_at``, or dead when it is None."""
        state = "dead" if retry_at is None else "pending"
        with self._lock:
            self.db.execute(
                "UPDATE deliveries SET state=?, attempts=?, last_error=?, next_at=?, updated_at=? WHERE id=?",
                (state, attempts, error[:500], retry_at or time.time(), time.time(), delivery_id),
            )

    def retry(self, delivery_id: int) -> Delivery | None:
        """A dead delivery pending again with a fresh count of tries; None if there is none such."""
        with self._lock:
            now = time.time()
            changed = self.db.execute(
                "UPDATE deliveries SET state='pending', attempts=0, next_at=?, updated_at=? WHERE id=? AND state='dead'",
                (now, now, delivery_id),
            ).rowcount
        return self.delivery(delivery_id) if changed else None

    def delivery(self, delivery_id: int) -> Delivery | None:
        with self._lock:
            row = self.db.execute("SELECT * FROM deliveries WHERE id=?", (delivery_id,)).fetchone()
        return None if row is None else _delivery(row)

    def deliveries(
        self,
        tenant: str | None = None,
        connector: str | None = None,
        state: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Delivery], int]:
        """A page of deliveries, newest first, and how many match."""
        where, args = ["1=1"], []
        for column, value in (("tenant", tenant), ("connector", connector), ("state", state)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        clause = " AND ".join(where)
        with self._lock:
            rows = self.db.execute(
                f"SELECT * FROM deliveries WHERE {clause} ORDER BY id DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
            total = self.db.execute(f"SELECT COUNT(*) FROM deliveries WHERE {clause}", args).fetchone()[0]
        return [_delivery(r) for r in rows], int(total)

    def counts(self) -> dict[tuple[str, str], int]:
        """Deliveries per (connector, state), for the metrics."""
        with self._lock:
            rows = self.db.execute(
                "SELECT connector, state, COUNT(*) AS n FROM deliveries GROUP BY connector, state"
            ).fetchall()
        return {(r["connector"], r["state"]): int(r["n"]) for r in rows}

    def last_group(self, connector: str, ticket_id: str) -> str | None:
        """The ticket's group as last seen or written (their value), to tell a reassignment."""
        with self._lock:
            row = self.db.execute(
                "SELECT vendor_group FROM connector_tickets WHERE connector=? AND ticket_id=?",
                (connector, ticket_id),
            ).fetchone()
        return None if row is None else str(row["vendor_group"])

    def set_group(self, connector: str, ticket_id: str, group: str) -> None:
        with self._lock:
            self.db.execute(
                "INSERT INTO connector_tickets (connector, ticket_id, vendor_group, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (connector, ticket_id) DO UPDATE SET vendor_group=excluded.vendor_group, "
                "updated_at=excluded.updated_at",
                (connector, ticket_id, group, time.time()),
            )

    def has_outcome(self, connector: str, ticket_id: str) -> bool:
        """Whether the system has reported agents' decisions on the ticket (then we leave its fields alone)."""
        with self._lock:
            row = self.db.execute(
                "SELECT 1 FROM deliveries WHERE connector=? AND ticket_id=? AND kind='outcome' LIMIT 1",
                (connector, ticket_id),
            ).fetchone()
        return row is not None

    def ticket_delivery(self, connector: str, ticket_id: str) -> Delivery | None:
        """The latest triaged delivery of a ticket (what we predicted and the text we saw)."""
        with self._lock:
            row = self.db.execute(
                "SELECT * FROM deliveries WHERE connector=? AND ticket_id=? AND kind='ticket' AND result IS NOT NULL "
                "ORDER BY id DESC LIMIT 1",
                (connector, ticket_id),
            ).fetchone()
        return None if row is None else _delivery(row)


def _delivery(row: Record, state: str | None = None) -> Delivery:
    return Delivery(
        id=row["id"],
        connector=row["connector"],
        tenant=row["tenant"],
        ticket_id=row["ticket_id"],
        event_id=row["event_id"],
        kind=row["kind"],
        headers=json.loads(row["headers"]),
        body=bytes(row["body"]),
        state=state or row["state"],
        attempts=row["attempts"],
        next_at=row["next_at"],
        steps_done=row["steps_done"],
        plan=json.loads(row["plan"]) if row["plan"] else None,
        result=json.loads(row["result"]) if row["result"] else None,
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
