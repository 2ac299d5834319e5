"""API keys: who is calling, for which tenant, with which scopes.

A key is ``tt_<id>_<secret>``: the id (8 characters) is public and names the key in lists and logs;
``tt_<id>`` is its visible prefix; the secret is 256 random bits from ``secrets``. Only a SHA-256
hash of the whole key is stored. A slow password hash (bcrypt, argon2) protects guessable
passwords; a 256-bit random key cannot be guessed, so one fast hash is enough to make a stolen
database useless, and it keeps checking a key on every request cheap.

All SQL for keys lives in :class:`KeyStore` (one table, in SQLite or PostgreSQL: ``knowledge.db``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import string
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import monotonic

from knowledge.db import Database, DatabaseStore, IntegrityError, Record

logger = logging.getLogger(__name__)

# Every scope a key can carry, and what it allows.
SCOPES: dict[str, str] = {
    "triage": "POST /v1/triage, /v1/triage:batch, /v1/classify, /v1/extract, /v1/summarize, "
    "/v1/similar, /v1/duplicates",
    "knowledge:read": "read cases and articles (GET /v1/cases, /v1/articles, one by id) and /v1/spikes",
    "knowledge:write": "add, replace and delete cases and articles (single and bulk)",
    "feedback": "POST /v1/feedback",
    "models:read": "GET /v1/models, a version's manifest, /v1/models:compare, /v1/drift",
    "models:admin": "promote, roll back, set or clear the candidate model",
    "audit:read": "GET /v1/audit",
    "keys:admin": "create, list and revoke the tenant's API keys (/v1/keys)",
    "connectors:admin": "configure ticket-system connectors and read their deliveries",
    "stats:read": "dashboard aggregates (GET /v1/stats)",
    "metrics": "GET /metrics (Prometheus) from a non-loopback client",
}
ALL_SCOPES: tuple[str, ...] = tuple(SCOPES)

KEY_PREFIX = "tt"
_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID_LENGTH = 8
_SECRET_BYTES = 32  # 256 bits
_TOKEN = re.compile(rf"^{KEY_PREFIX}_([a-z0-9]{{{_ID_LENGTH}}})_([A-Za-z0-9_-]{{20,100}})$")
_NAME_MAX = 100
_LAST_USED_EVERY = timedelta(minutes=1)  # last_used is written at most this often per key


class KeyRequestError(ValueError):
    """A key request is invalid (unknown scope, expiry in the past, ...); the message says the fix."""


class UnknownKey(LookupError):
    """No key with this id for the tenant."""


class InvalidKey(Exception):
    """A presented key cannot be used; the message says why (malformed, unknown, revoked, expired)."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret."""

    id: str
    prefix: str
    name: str
    tenant: str
    scopes: tuple[str, ...]
    created: datetime
    expires: datetime | None
    revoked: datetime | None
    last_used: datetime | None

    def active(self, now: datetime | None = None) -> bool:
        """Not revoked and not expired."""
        now = now or datetime.now(UTC)
        return self.revoked is None and (self.expires is None or self.expires > now)

    @property
    def status(self) -> str:
        if self.revoked is not None:
            return "revoked"
        if self.expires is not None and self.expires <= datetime.now(UTC):
            return "expired"
        return "active"


@dataclass(frozen=True)
class NewKey:
    """A key just created: the secret is here once and never again."""

    key: ApiKey
    secret: str


def parse_scopes(given: str | Iterable[str]) -> tuple[str, ...]:
    """Scopes from 'a,b' or a list, checked against :data:`SCOPES`; '*' or 'all' means every scope."""
    items = [s.strip() for s in (given.split(",") if isinstance(given, str) else given)]
    items = [s for s in items if s]
    if not items:
        raise KeyRequestError(f"no scopes given; choose from: {', '.join(ALL_SCOPES)} (or '*' for all)")
    if any(s in ("*", "all") for s in items):
        return ALL_SCOPES
    unknown = [s for s in items if s not in SCOPES]
    if unknown:
        raise KeyRequestError(
            f"unknown scope(s) {', '.join(map(repr, unknown))}; known: {', '.join(ALL_SCOPES)}"
        )
    return tuple(s for s in ALL_SCOPES if s in items)  # canonical order, no repeats


def parse_expiry(value: str, now: datetime | None = None) -> datetime:
    """'2027-01-31' (valid through that day, UTC), an ISO time, or '90d' (days from now)."""
    now = now or datetime.now(UTC)
    text = value.strip()
    moment: datetime
    if re.fullmatch(r"\d{1,5}d", text):
        moment = now + timedelta(days=int(text[:-1]))
    else:
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                moment = datetime.combine(date.fromisoformat(text) + timedelta(days=1), time(), UTC)
            else:
                moment = datetime.fromisoformat(text)
                moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        except ValueError:
            raise KeyRequestError(
                f"expiry {value!r} is not a date: use YYYY-MM-DD, an ISO 8601 time or a number of days like 90d"
            ) from None
    if moment <= now:
        raise KeyRequestError(f"expiry {value!r} is in the past; give a later date")
    return moment


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="seconds")


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def key_id_of(token: str) -> str | None:
    """The id inside a well-formed key, else None (for logs: never log the key itself)."""
    match = _TOKEN.match(token)
    return match.group(1) if match else None


class KeyStore(DatabaseStore):
    """API keys in the service's database (SQLite or PostgreSQL); calls guarded by a lock."""

    def __init__(self, target: Database | Path | str, cache_for: float = 0.0) -> None:
        """``cache_for``: seconds a key read from the database may answer ``authenticate_cached``
        (0: never). A revocation here takes effect at once; one by another process (a replica, a
        worker, the CLI) within this many seconds: the service passes its ``catch_up_interval``."""
        super().__init__(target)
        self._last_used: dict[str, datetime] = {}
        self._cache_for = cache_for
        self._cached: dict[str, tuple[ApiKey, str, float]] = {}  # key id -> (key, secret hash, read at)
        self._cache_lock = threading.Lock()
        self._generation = 0  # bumped by every change of a key here: a read from before it is not cached

    def create(
        self,
        tenant: str,
        scopes: Sequence[str],
        name: str = "",
        expires: datetime | None = None,
    ) -> NewKey:
        """A new key; its secret is in the result only."""
        scopes = parse_scopes(scopes)
        if len(name) > _NAME_MAX:
            raise KeyRequestError(f"name is {len(name)} characters; keep it to {_NAME_MAX}")
        now = datetime.now(UTC).replace(microsecond=0)
        if expires is not None and expires <= now:
            raise KeyRequestError("expiry is in the past; give a later date")
        with self._lock:
            while True:
                key_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))
                token = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(_SECRET_BYTES)}"
                try:
                    self.db.execute(
                        """INSERT INTO api_keys (id, prefix, name, tenant, scopes, secret_sha256, created, expires)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                        (
                            key_id,
                            f"{KEY_PREFIX}_{key_id}",
                            name,
                            tenant,
                            ",".join(scopes),
                            _hash(token),
                            _iso(now),
                            _iso(expires),
                        ),
                    )
                except IntegrityError:
                    continue  # an id collision (1 in 2.8e12): draw again
                break
        logger.info("API key %s created for tenant %s with scopes %s", key_id, tenant, ",".join(scopes))
        return NewKey(self.get(key_id), token)

    def get(self, key_id: str, tenant: str | None = None) -> ApiKey:
        """One key by id (within a tenant when given); UnknownKey if there is none."""
        with self._lock:
            row = self.db.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        if row is None or (tenant is not None and row["tenant"] != tenant):
            raise UnknownKey(f"no API key {key_id!r}" + (f" for tenant {tenant!r}" if tenant else ""))
        return _key(row)

    def list(self, tenant: str | None = None) -> list[ApiKey]:
        """Every key (of a tenant), oldest first."""
        with self._lock:
            if tenant is None:
                rows = self.db.execute("SELECT * FROM api_keys ORDER BY created, id").fetchall()
            else:
                rows = self.db.execute(
                    "SELECT * FROM api_keys WHERE tenant = ? ORDER BY created, id", (tenant,)
                ).fetchall()
        return [_key(r) for r in rows]

    def revoke(self, key_id: str, tenant: str | None = None) -> ApiKey:
        """Revoke a key (kept, for the record); revoking twice keeps the first time."""
        key = self.get(key_id, tenant)
        if key.revoked is None:
            with self._lock:
                self.db.execute(
                    "UPDATE api_keys SET revoked = ? WHERE id = ? AND revoked IS NULL",
                    (_iso(datetime.now(UTC)), key_id),
                )
            self._forget(key_id)
            logger.info("API key %s of tenant %s revoked", key_id, key.tenant)
        return self.get(key_id)

    def _forget(self, key_id: str) -> None:
        with self._cache_lock:
            self._generation += 1
            self._cached.pop(key_id, None)

    def any_active(self) -> bool:
        """Whether at least one key can be used now."""
        now = datetime.now(UTC)
        return any(k.active(now) for k in self.list())

    def authenticate(self, token: str) -> ApiKey:
        """The active key this token is; InvalidKey saying why not (malformed, unknown, revoked, expired)."""
        match = _TOKEN.match(token)
        if match is None:
            raise InvalidKey(f"the API key is malformed: keys look like {KEY_PREFIX}_<id>_<secret>")
        key_id = match.group(1)
        generation = self._generation
        read_at = monotonic()
        with self._lock:
            row = self.db.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        if row is not None and self._cache_for > 0:
            with self._cache_lock:
                if generation == self._generation:  # no change of a key here since the read
                    self._cached[key_id] = (_key(row), row["secret_sha256"], read_at)
        if row is None:
            raise InvalidKey(_NOT_VALID)
        key = _checked(_key(row), row["secret_sha256"], token)
        self._touch(key_id, datetime.now(UTC))
        return key

    def authenticate_cached(self, token: str) -> ApiKey | None:
        """``authenticate`` from memory, without the database: the key as read at most ``cache_for``
        seconds ago, checked now (secret, revoked, expired: InvalidKey as ``authenticate`` says).
        None when memory cannot answer (not read lately, or its last-used time is due): then call
        ``authenticate``. Cheap enough for the event loop."""
        match = _TOKEN.match(token)
        if match is None:
            return None
        key_id = match.group(1)
        cached = self._cached.get(key_id)
        if cached is None or monotonic() - cached[2] >= self._cache_for:
            return None
        last = self._last_used.get(key_id)
        now = datetime.now(UTC)
        if last is None or now - last >= _LAST_USED_EVERY:
            return None  # ``authenticate`` writes the last-used time
        return _checked(cached[0], cached[1], token)

    def verify(self, token: str) -> ApiKey | None:
        """The active key this token is, or None."""
        try:
            return self.authenticate(token)
        except InvalidKey:
            return None

    def _touch(self, key_id: str, now: datetime) -> None:
        # One write per key a minute at most: a write per request would cost an fsync each.
        last = self._last_used.get(key_id)
        if last is not None and now - last < _LAST_USED_EVERY:
            return
        self._last_used[key_id] = now
        with self._lock:
            self.db.execute("UPDATE api_keys SET last_used = ? WHERE id = ?", (_iso(now), key_id))


# The same answer for an unknown id and a wrong secret: it says nothing about which ids exist.
_NOT_VALID = "the API key is not valid (unknown or mistyped)"


def _checked(key: ApiKey, secret_sha256: str, token: str) -> ApiKey:
    """The key if ``token`` is it and it is active now; InvalidKey saying why not."""
    if not hmac.compare_digest(secret_sha256, _hash(token)):
        raise InvalidKey(_NOT_VALID)
    if key.revoked is not None:
        raise InvalidKey(f"API key {key.prefix} was revoked at {_iso(key.revoked)}; ask for a new one")
    if key.expires is not None and key.expires <= datetime.now(UTC):
        raise InvalidKey(f"API key {key.prefix} expired at {_iso(key.expires)}; ask for a new one")
    return key


def _key(row: Record) -> ApiKey:
    return ApiKey(
        id=row["id"],
        prefix=row["prefix"],
        name=row["name"],
        tenant=row["tenant"],
        scopes=tuple(s for s in row["scopes"].split(",") if s),
        created=datetime.fromisoformat(row["created"]),
        expires=_time(row["expires"]),
        revoked=_time(row["revoked"]),
        last_used=_time(row["last_used"]),
    )
