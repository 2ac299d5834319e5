"""Request limits, as one plain ASGI middleware in front of everything else.

In order, for every HTTP request:

1. ``Host`` must be one of the trusted hosts (default: the localhost names and the bind host), so a
   page in a browser on the same machine cannot reach a loopback API through DNS rebinding (400).
2. ``/healthz``, ``/readyz``, ``/metrics``, the console and the API docs pass straight through:
   they never wait behind inference and never count against the bounds below.
3. A body is read in full before anything parses it, and refused beyond the route's size limit
   (413; ``Content-Length`` is checked before a byte is read). A body on ``/v1`` must be JSON (415),
   except on ``/v1/webhooks/`` (the connector checks what a ticket system sends).
4. Each caller (the id of a valid API key, else the client address) has a token bucket per scope class (``triage``,
   ``write``, ``read``): an empty bucket answers 429 with ``Retry-After`` (seconds until a token).
   With several worker processes the buckets are one table they share (``SharedTokenBuckets``).
5. At most ``max_in_flight`` requests are admitted at once (per worker process: its share) (doing work, or parsed and waiting for
   the next micro-batch); beyond that a request waits in a short admission queue (``Admission``:
   at most ``max_queued``, each at most ``max_queue_wait``, first come first served, retries of
   refused requests first) or answers 503 with ``Retry-After``, so admitted requests keep their
   latency. A full queue is checked before anything else (2), so a request arriving at a full
   service is shed without its body being read or its key looked up; a request takes (or waits
   for) its slot after (3) and (4).
6. A request whose client disconnected while it waited is dropped before it starts.

Every refusal is an RFC 9457 ``application/problem+json`` body (``serving.errors.problem``) and is
counted in ``triage_refused_total{reason}``. A 405 answer gets an ``Allow`` header listing every
method of the path (Starlette lists only the first route's).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import heapq
import json
import logging
import math
import mmap
import os
import re
import struct
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.errors import PROBLEM_MEDIA_TYPE, TYPE_PREFIX, problem, problem_response
from serving.request_context import request_id_for

logger = logging.getLogger(__name__)

# Paths answered outside the bounds: probes, metrics, the console and its assets, the API docs.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/", "/docs", "/redoc", "/openapi.json"})
OPEN_PREFIXES = ("/static/",)
# Routes that triage text (the CPU-heavy ones); other writes and reads are their own classes.
TRIAGE_PATHS = frozenset(
    {
        "/v1/triage",
        "/v1/triage:batch",
        "/v1/classify",
        "/v1/extract",
        "/v1/summarize",
        "/v1/similar",
        "/v1/duplicates",
    }
)
# Routes whose bodies carry many tickets or documents get the larger size limit.
BULK_PATHS = frozenset({"/v1/triage:batch", "/v1/cases", "/v1/articles"})
SCOPE_CLASSES = ("triage", "write", "read")
# Ticket systems' webhooks: the vendor picks the Content-Type; the connector checks the signature on
# the raw body and answers a body that is not JSON itself (422), so no 415 here.
WEBHOOK_PREFIX = "/v1/webhooks/"
_DISCONNECT_POLLS = 8  # loop iterations to notice a client that left with its request (3 suffice idle)
_MAX_CALLERS = 10_000  # buckets kept; the least recently used caller's bucket is forgotten first
_HOLD_WEIGHT = 0.2  # weight of the latest request in the running mean of slot hold times
# Refused requests remembered (by fingerprint) so that their retries wait ahead of first tries.
_RETRY_MEMORY = 4096
_RETRY_MEMORY_S = 30.0
_DOOMED = -1  # what a waiting request is handed instead of a slot when it cannot start in time
# What any operation may answer before its handler runs (documented on every operation).
LIMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: problem_response(400, "Malformed body (not JSON, not UTF-8) or a Host header not in trusted_hosts."),
    413: problem_response(
        413, "Body larger than max_body_bytes (max_bulk_body_bytes for batch and bulk routes)."
    ),
    415: problem_response(415, "Body is not sent as application/json."),
    429: problem_response(429, "The key's token bucket for this scope class is empty; see Retry-After."),
    503: problem_response(503, "At the bound of work in flight (or models still loading); see Retry-After."),
}


def scope_class(method: str, path: str) -> str:
    """The rate-limit class of a request: ``triage``, ``write`` or ``read``."""
    if method == "POST" and path in TRIAGE_PATHS:
        return "triage"
    return "read" if method in ("GET", "HEAD", "OPTIONS") else "write"


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``per_second`` tokens flow in, at most ``burst`` are kept."""

    per_second: float
    burst: float


def _spend(limit: RateLimit, tokens: float, seen: float, now: float) -> tuple[float, float]:
    """A bucket that held ``tokens`` at ``seen``, asked for one at ``now``: (tokens left, seconds
    until a token when none was there, else 0)."""
    tokens = min(limit.burst, tokens + max(0.0, now - seen) * limit.per_second)
    if tokens >= 1:
        return tokens - 1, 0.0
    return tokens, (1 - tokens) / limit.per_second


class TokenBuckets:
    """Token buckets per (caller, class) of one process; thread-safe, bounded in the number of callers kept."""

    def __init__(self, limits: dict[str, RateLimit], clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    def take(self, caller: str, klass: str) -> float:
        """0 when a token was taken, else the seconds until one will be there."""
        limit = self.limits.get(klass)
        if limit is None or limit.per_second <= 0:
            return 0.0
        now = self._clock()
        key = (caller, klass)
        with self._lock:
            tokens, seen = self._buckets.pop(key, (limit.burst, now))
            tokens, wait = _spend(limit, tokens, seen, now)
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > _MAX_CALLERS:
                self._buckets.popitem(last=False)
            return wait


# The shared table: fixed-size slots of (key digest, tokens, last seen), open addressing.
_SLOT = struct.Struct("<16sdd")
_SLOTS = 1 << 16  # 65,536 slots (2 MiB): room for _MAX_CALLERS callers in each of the 3 classes
_PROBES = 16  # slots looked at per key; when all are taken by others, the least recently seen goes
_EMPTY = bytes(16)


class SharedTokenBuckets:
    """The same token buckets shared by every worker process of one server start: a fixed table in
    a memory-mapped file (``RunDir.buckets``) under an exclusive ``flock``, so a caller gets its rate
    once whichever worker its connection lands on (not once per worker). ``time.monotonic`` is the
    machine's clock (CLOCK_MONOTONIC), the same in every process. A take costs a few microseconds:
    one lock, at most ``_PROBES`` slot reads and one write. A caller whose slots are all taken by
    others evicts the least recently seen one (and starts with a full bucket, as a forgotten caller
    does in ``TokenBuckets``)."""

    def __init__(
        self, limits: dict[str, RateLimit], path: Path, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()  # flock excludes other processes, not this one's threads
        self._file = path.open("r+b")
        self._slots = os.fstat(self._file.fileno()).st_size // _SLOT.size  # as create_table made it
        if self._slots < _PROBES:
            raise ValueError(f"{path} holds {self._slots} token-bucket slots; make it with create_table")
        self._map = mmap.mmap(self._file.fileno(), self._slots * _SLOT.size)

    @staticmethod
    def create_table(path: Path, slots: int = _SLOTS) -> None:
        """An empty table of ``slots`` buckets (a sparse file of zeros), before the workers start."""
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(descriptor, slots * _SLOT.size)
        finally:
            os.close(descriptor)

    def close(self) -> None:
        self._map.close()
        self._file.close()

    def take(self, caller: str, klass: str) -> float:
        """0 when a token was taken, else the seconds until one will be there."""
        limit = self.limits.get(klass)
        if limit is None or limit.per_second <= 0:
            return 0.0
        digest = hashlib.blake2b(
            f"{klass}\0{caller}".encode("utf-8", "surrogatepass"), digest_size=16
        ).digest()
        first = int.from_bytes(digest[:8], "little") % self._slots
        with self._lock:
            fcntl.flock(self._file, fcntl.LOCK_EX)
            try:
                now = self._clock()
                slot, tokens, seen = self._find(digest, first, limit.burst, now)
                tokens, wait = _spend(limit, tokens, seen, now)
                _SLOT.pack_into(self._map, slot * _SLOT.size, digest, tokens, now)
                return wait
            finally:
                fcntl.flock(self._file, fcntl.LOCK_UN)

    def _find(self, digest: bytes, first: int, burst: float, now: float) -> tuple[int, float, float]:
        """The key's slot and its (tokens, seen); a new key gets an empty slot or the stalest one."""
        stalest, stalest_seen = first, math.inf
        for probe in range(_PROBES):
            slot = (first + probe) % self._slots
            key, tokens, seen = _SLOT.unpack_from(self._map, slot * _SLOT.size)
            if key == digest:
                return slot, tokens, seen
            if key == _EMPTY:
                return slot, burst, now
            if seen < stalest_seen:
                stalest, stalest_seen = slot, seen
        return stalest, burst, now


# The workers' load table: a row per worker process of (pid, requests admitted or waiting, its bound).
_LOAD_ROW = struct.Struct("<qii")
_LOAD_ROWS = 256  # worker processes at most (serving.settings.MAX_WORKERS is 64)


class WorkerLoads:
    """How busy each worker process of one server start is, in a small table every worker maps
    (``RunDir.loads``): so a worker that is full can tell whether another one has room, and close a
    client's keep-alive connection only then, for the client's next request to connect anew and be
    accepted by the worker with room (whose event loop is idle, so it accepts first).

    A row per worker: its pid, its admitted + waiting requests and its in-flight bound. A worker
    writes only its own row (claimed at start under an exclusive ``flock``: an empty row or a dead
    worker's); reads take no lock (a row a moment stale only delays a close by a request).
    """

    def __init__(self, path: Path, bound: int, pid: int | None = None) -> None:
        self._file = path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), _LOAD_ROWS * _LOAD_ROW.size)
        self.pid = pid or os.getpid()
        self.bound = bound
        fcntl.flock(self._file, fcntl.LOCK_EX)
        try:
            row = next((r for r in range(_LOAD_ROWS) if not _alive(self._read(r)[0])), None)
            if row is None:
                raise RuntimeError(
                    f"{path} has no free row for worker {self.pid}: more than {_LOAD_ROWS} workers"
                )
            self._row: int = row
            _LOAD_ROW.pack_into(self._map, row * _LOAD_ROW.size, self.pid, 0, bound)
        finally:
            fcntl.flock(self._file, fcntl.LOCK_UN)

    @staticmethod
    def create_table(path: Path) -> None:
        """An empty table (zeros), before the workers start."""
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(descriptor, _LOAD_ROWS * _LOAD_ROW.size)
        finally:
            os.close(descriptor)

    def _read(self, row: int) -> tuple[int, int, int]:
        pid, busy, bound = _LOAD_ROW.unpack_from(self._map, row * _LOAD_ROW.size)
        return pid, busy, bound

    def publish(self, busy: int) -> None:
        """This worker's requests admitted or waiting, now."""
        struct.pack_into("<i", self._map, self._row * _LOAD_ROW.size + 8, busy)

    def other_has_room(self) -> bool:
        """Whether another live worker has a free slot (fewer requests admitted or waiting than its bound)."""
        for row in range(_LOAD_ROWS):
            if row == self._row:
                continue
            pid, busy, bound = self._read(row)
            if pid == 0:
                return False  # rows are claimed in order: no worker past an empty one
            if busy < bound and _alive(pid):
                return True
        return False


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process has the pid
        return True
    return True


@dataclass(frozen=True)
class LimitSettings:
    max_in_flight: int
    retry_after: int
    max_body_bytes: int
    max_bulk_body_bytes: int
    trusted_hosts: tuple[str, ...]
    rate_limits: dict[str, RateLimit]
    max_queued: int = 0  # requests waiting for a slot at most (0: refused at once at the bound)
    max_queue_wait: float = 0.0  # seconds a request waits for a slot at most
    # > 0: a request waits at most this many mean slot-hold times (and never over max_queue_wait)
    queue_wait_hold_share: float = 0.0
    buckets_file: Path | None = None  # the token buckets' table shared by the workers (RunDir.buckets)
    # A 503 for overload also closes the connection (several worker processes): the client's retry
    # connects anew, and the worker least busy accepts it first (its event loop is the first free),
    # instead of the keep-alive connection taking it back to the worker that refused it. With
    # ``loads_file`` only when another worker has room, and then an answer of a worker with
    # requests waiting closes its connection too.
    close_on_shed: bool = False
    loads_file: Path | None = None  # the workers' load table (RunDir.loads)


@dataclass(frozen=True)
class Refusal:
    """Why a request was not admitted: ``reason`` for the metric and the seconds a retry should wait."""

    reason: str
    retry_after: int


class Admission:
    """At most ``slots`` requests at once; up to ``queue`` more wait for a slot, in arrival order.

    - A request that finds every slot taken joins the queue when its predicted wait is within
      ``max_wait`` seconds; otherwise, or when ``queue`` requests already wait, it is refused at once.
      One still waiting after ``max_wait`` is refused then, or sooner: each time a slot is handed
      over, the waiting requests that can no longer start within ``max_wait`` of their arrival are
      refused at once. So a request waits at most ``max_wait`` for its slot and a refusal never takes
      longer than that.
    - ``hold_share`` > 0 ties that bound to the work: a request waits at most ``hold_share`` times the
      running mean of how long requests hold a slot (and never over ``max_wait``). The latency of an
      admitted request is its wait plus its own hold, so the bound follows the ticket's cost: with a
      fixed bound, a faster ticket (a faster machine, a lighter model) made the wait a larger multiple
      of the unloaded latency (BENCHMARKS.md, "Overload").
    - A freed slot goes straight to the first request waiting: a request arriving at that moment
      cannot take it first.
    - A retry goes first: a request whose fingerprint (method, path and body) was refused within the
      last ``_RETRY_MEMORY_S`` seconds waits ahead of first tries (behind earlier retries). Without it
      closed-loop clients starve: a client that is served sends its next request the moment it has its
      answer and finds the queue as it left it, while the clients refused together come back together
      after their Retry-After and find it full again, every time (BENCHMARKS.md, "Concurrency").
    - The predicted wait plays the queue forward over the slots, each request holding its slot for the
      running mean of how long requests held one: it follows the machine's speed (beside a CPU hog
      fewer requests are let in), and a refusal's ``Retry-After`` is at least that wait, rounded up.

    Everything runs on the event loop: no lock.
    """

    def __init__(
        self,
        slots: int,
        queue: int,
        max_wait: float,
        retry_after: int,
        clock: Callable[[], float] = time.monotonic,
        hold_share: float = 0.0,
    ) -> None:
        if slots < 1 or queue < 0 or max_wait < 0 or hold_share < 0:
            raise ValueError(
                "admission needs slots >= 1, queue >= 0, max_wait >= 0 and hold_share >= 0 "
                f"(got {slots}, {queue}, {max_wait}, {hold_share})"
            )
        self.slots = slots
        self.queue = queue
        self.max_wait = max_wait
        self.hold_share = hold_share
        self.retry_after = retry_after
        self._clock = clock
        self._started: dict[int, float] = {}  # slot holder -> when it took the slot
        self._next_id = 0
        self._retries: deque[asyncio.Future[int]] = deque()  # waiting retries, first come first
        self._firsts: deque[asyncio.Future[int]] = deque()  # waiting first tries, after the retries
        self._refused: OrderedDict[bytes, float] = OrderedDict()  # fingerprint -> when refused
        self._arrived: dict[asyncio.Future[int], float] = {}  # waiting request -> when it arrived
        self.hold: float | None = None  # running mean of the seconds a request holds its slot

    @classmethod
    def of(cls, settings: LimitSettings) -> Admission:
        """The admission the limit settings describe."""
        return cls(
            settings.max_in_flight,
            settings.max_queued,
            settings.max_queue_wait,
            settings.retry_after,
            hold_share=settings.queue_wait_hold_share,
        )

    @property
    def in_flight(self) -> int:
        return len(self._started)

    @property
    def queued(self) -> int:
        return len(self._retries) + len(self._firsts)

    def _free(self) -> bool:
        return len(self._started) < self.slots and not self.queued

    @property
    def wait_bound(self) -> float:
        """Seconds a request may wait for a slot now: ``max_wait``, or ``hold_share`` mean hold times
        when that is less (once a hold time has been measured)."""
        if self.hold_share and self.hold is not None:
            return min(self.max_wait, self.hold_share * self.hold)
        return self.max_wait

    def predicted_wait(self, ahead: int | None = None) -> float:
        """Seconds a request arriving now would wait for a slot with ``ahead`` requests (default: all
        those waiting) before it; 0 when a slot is free."""
        ahead = self.queued if ahead is None else ahead
        now, hold, frees = self._slot_frees()
        for _ in range(ahead):  # each one ahead takes the next slot to free, and holds it
            heapq.heappush(frees, heapq.heappop(frees) + hold)
        return frees[0] - now

    def _slot_frees(self) -> tuple[float, float, list[float]]:
        """(now, the running mean hold, a heap of when each slot frees: a free slot now, a held one
        when its holder's mean hold time is up)."""
        now = self._clock()
        hold = self.hold or 0.0
        frees = [max(now, started + hold) for started in self._started.values()]
        frees += [now] * (self.slots - len(frees))
        heapq.heapify(frees)
        return now, hold, frees

    def shed_early(self) -> Refusal | None:
        """The refusal a request gets before its body is read: only when the queue is full."""
        if self._free() or self.queued < self.queue:
            return None
        return Refusal("overload", self._retry_after(self.predicted_wait()))

    async def acquire(self, fingerprint: bytes | None = None) -> int | Refusal:
        """A slot (its id, for ``release``), after waiting in the queue if need be; or the refusal."""
        if self._free():
            self._forget(fingerprint)
            return self._take()
        retry = fingerprint is not None and self._was_refused(fingerprint)
        if self.queued >= self.queue:
            return self._refuse("overload", fingerprint, self.predicted_wait())
        wait = self.predicted_wait(len(self._retries) if retry else None)
        bound = self.wait_bound
        if wait > bound:
            return self._refuse("overload", fingerprint, wait)
        line = self._retries if retry else self._firsts
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        line.append(future)
        self._arrived[future] = self._clock()
        try:
            await asyncio.wait((future,), timeout=bound)
        except BaseException:  # cancelled while it waited (shutdown): give back a slot handed over
            if not future.done():
                self._leave(line, future)
            elif future.result() != _DOOMED:
                self.release(future.result(), worked=False)
            raise
        if not future.done():
            self._leave(line, future)
            return self._refuse("queue-deadline", fingerprint, self.predicted_wait())
        if future.result() == _DOOMED:
            return self._refuse("queue-deadline", fingerprint, self.predicted_wait())
        self._forget(fingerprint)
        return future.result()

    def _leave(self, line: deque[asyncio.Future[int]], future: asyncio.Future[int]) -> None:
        future.cancel()
        line.remove(future)
        self._arrived.pop(future, None)

    def release(self, slot: int, worked: bool = True) -> None:
        """The request holding ``slot`` is done: its slot goes to the first request waiting.
        ``worked``: it did its work (a request dropped before it started says nothing of hold times)."""
        started = self._started.pop(slot)
        if worked:
            held = self._clock() - started
            self.hold = held if self.hold is None else (1 - _HOLD_WEIGHT) * self.hold + _HOLD_WEIGHT * held
        line = self._retries or self._firsts
        if line:
            future = line.popleft()
            self._arrived.pop(future, None)
            future.set_result(self._take())
        self._refuse_doomed()

    def _refuse_doomed(self) -> None:
        """Refuse now, not at their deadline, the waiting requests that the queue played forward can
        no longer start within the wait bound of their arrival (the running mean of hold times grew)."""
        if not self._arrived:
            return
        bound = self.wait_bound
        _, hold, frees = self._slot_frees()
        for line in (self._retries, self._firsts):
            for future in list(line):
                start = heapq.heappop(frees)
                if start > self._arrived[future] + bound:
                    heapq.heappush(frees, start)  # it will not take the slot
                    line.remove(future)
                    del self._arrived[future]
                    future.set_result(_DOOMED)
                else:
                    heapq.heappush(frees, start + hold)

    def _take(self) -> int:
        self._next_id += 1
        self._started[self._next_id] = self._clock()
        return self._next_id

    def _retry_after(self, wait: float) -> int:
        return max(self.retry_after, math.ceil(wait))

    def _refuse(self, reason: str, fingerprint: bytes | None, wait: float) -> Refusal:
        if fingerprint is not None:
            now = self._clock()
            self._refused.pop(fingerprint, None)
            self._refused[fingerprint] = now
            while self._refused and (
                len(self._refused) > _RETRY_MEMORY
                or next(iter(self._refused.values())) < now - _RETRY_MEMORY_S
            ):
                self._refused.popitem(last=False)
        return Refusal(reason, self._retry_after(wait))

    def _was_refused(self, fingerprint: bytes) -> bool:
        when = self._refused.get(fingerprint)
        return when is not None and when >= self._clock() - _RETRY_MEMORY_S

    def _forget(self, fingerprint: bytes | None) -> None:
        if fingerprint is not None and self._refused:
            self._refused.pop(fingerprint, None)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _host_name(host: str) -> str:
    """The host without its port; IPv6 literals keep their brackets off."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _caller(scope: Scope, identify: Callable[[str], str | None]) -> str:
    """Who a bucket belongs to: the id of the valid API key sent, else the client address."""
    auth = _header(scope, b"authorization") or ""
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else (_header(scope, b"x-api-key") or "")
    key_id = identify(token) if token else None
    if key_id:
        return f"key:{key_id}"
    client = scope.get("client")
    return f"addr:{client[0]}" if client else "addr:unknown"


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class LimitsMiddleware:
    """Trusted hosts, body size and type, per-caller rate and the bound on work in flight (see module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        settings: LimitSettings,
        on_refuse: Callable[[str], None],
        identify: Callable[[str], str | None] = lambda token: None,
        admission: Admission | None = None,
        loads: WorkerLoads | None = None,
    ) -> None:
        self.app = app
        self.identify = identify
        self.settings = settings
        self.buckets: TokenBuckets | SharedTokenBuckets = (
            SharedTokenBuckets(settings.rate_limits, settings.buckets_file)
            if settings.buckets_file is not None
            else TokenBuckets(settings.rate_limits)
        )
        self.on_refuse = on_refuse
        # Shared with the ShedGate in front of the app, when there is one (``admission``).
        self.admission = admission or Admission.of(settings)
        self.loads = loads or (
            WorkerLoads(settings.loads_file, settings.max_in_flight) if settings.loads_file else None
        )
        self._trusted = _trusted_hosts(settings)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        reason: str,
        detail: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.on_refuse(reason)
        type_, title = _PROBLEMS[reason]
        response = problem(Request(scope), status, detail, type_=type_, title=title, headers=headers)
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = _host_name(_header(scope, b"host") or "").lower()
        if not self._trusted(host):
            await self._refuse(
                scope,
                receive,
                send,
                400,
                "host",
                f"host {host!r} is not served here; add it to the trusted_hosts setting if it should be",
            )
            return
        path: str = scope.get("path", "")
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES) or not path.startswith("/v1"):
            await self.app(scope, receive, self._with_allow(scope, send))
            return
        # Shedding first: a refusal under overload reads no body and looks up no key (it is answered
        # from the event loop while the inference threads hold the GIL, so the less it does the sooner).
        # The bound is checked again once the body is in, when the request takes (or waits for) its slot.
        refused = self.admission.shed_early()
        if refused is not None:
            await self._shed(scope, receive, send, refused)
            return
        method: str = scope.get("method", "GET")
        wait = self.buckets.take(_caller(scope, self.identify), scope_class(method, path))
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            await self._refuse(
                scope,
                receive,
                send,
                429,
                "rate",
                f"too many {scope_class(method, path)} requests for this key; retry in {seconds} s",
                {"Retry-After": str(seconds)},
            )
            return
        try:
            body = await self._read_body(scope, receive, path)
        except _TooLarge:
            limit = self._body_limit(path)
            await self._refuse(
                scope,
                receive,
                send,
                413,
                "size",
                f"request body is larger than {limit:,} bytes; send fewer tickets or documents per call",
            )
            return
        except _Disconnected:
            self.on_refuse("disconnected")
            return
        if body and not path.startswith(WEBHOOK_PREFIX) and not _is_json(_header(scope, b"content-type")):
            await self._refuse(
                scope,
                receive,
                send,
                415,
                "content-type",
                "send the body as JSON with 'Content-Type: application/json'",
            )
            return
        slot = await self.admission.acquire(_fingerprint(method, path, body))
        self._publish()
        if isinstance(slot, Refusal):
            await self._shed(scope, receive, send, slot)
            return
        worked = False
        replay = _Replay(body, receive)
        try:
            if await replay.disconnected():
                self.on_refuse("disconnected")
                logger.info("client left before %s %s started; dropped", method, path)
                return
            worked = True
            await self.app(scope, replay, self._with_allow(scope, self._balancing(send)))
        finally:
            self.admission.release(slot, worked)
            self._publish()
            replay.close()

    def _publish(self) -> None:
        if self.loads is not None:
            self.loads.publish(self.admission.in_flight + self.admission.queued)

    def _balancing(self, send: Send) -> Send:
        """With several workers: ``send`` that closes the connection after this answer when requests
        wait here and another worker has room, so the client's next request goes there."""
        if self.loads is None or not self.settings.close_on_shed:
            return send
        loads, admission = self.loads, self.admission

        async def sending(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and admission.in_flight - 1 + admission.queued >= admission.slots
                and loads.other_has_room()
            ):
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        return sending

    async def _shed(self, scope: Scope, receive: Receive, send: Send, refused: Refusal) -> None:
        headers = {"Retry-After": str(refused.retry_after)}
        if _closes(self.settings, self.loads):
            headers["Connection"] = "close"
        await self._refuse(
            scope, receive, send, 503, refused.reason, _overload_detail(self.admission, refused), headers
        )

    def _body_limit(self, path: str) -> int:
        return self.settings.max_bulk_body_bytes if path in BULK_PATHS else self.settings.max_body_bytes

    async def _read_body(self, scope: Scope, receive: Receive, path: str) -> bytes:
        limit = self._body_limit(path)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _with_allow(self, scope: Scope, send: Send) -> Send:
        """``send`` that completes the ``Allow`` header of a 405 with every method of the path."""
        before_routing = dict(scope)  # the router adds path_params to the scope it is given

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = sorted(_methods(before_routing))
                if methods:
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                    headers.append((b"allow", ", ".join(methods).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        return sending


def _trusted_hosts(settings: LimitSettings) -> Callable[[str], bool]:
    """Whether a ``Host`` (without its port, lower case) is one the settings trust."""
    if "*" in settings.trusted_hosts:
        return lambda host: True
    return frozenset(h.lower() for h in settings.trusted_hosts).__contains__


def _closes(settings: LimitSettings, loads: WorkerLoads | None) -> bool:
    """Whether a refusal for overload closes its connection: with ``close_on_shed``, and with
    several workers only when another one has room (else the retry would find every worker full
    and pay for a new connection for nothing)."""
    return settings.close_on_shed and (loads is None or loads.other_has_room())


def _overload_detail(admission: Admission, refused: Refusal) -> str:
    queue = (
        f" and {admission.queue} waiting (at most {admission.max_wait * 1000:g} ms)"
        if admission.queue
        else ""
    )
    return (
        f"the service is at its bound of {admission.slots} requests in flight{queue}; "
        f"retry in {refused.retry_after} s"
    )


class ShedGate:
    """The refusal of a request arriving at a full service, as cheap as it can be: outermost of all the
    middleware, it answers a ``/v1`` request while the admission queue is full (``Admission.shed_early``,
    the same admission ``LimitsMiddleware`` holds) with a 503 problem+json rendered from bytes made
    once, before the request id, the request context, the body, the key or the routing.

    Under overload most requests are refused, each on the event loop that the inference thread
    shares the GIL with (and, with several worker processes, on cores the other workers need), so
    every microsecond a refusal costs is taken from the requests being served (BENCHMARKS.md,
    "Concurrency (issue 12.5)", session 10). The answer is the same as ``LimitsMiddleware``'s: status,
    ``Retry-After``, ``Connection: close`` with ``close_on_shed``, ``X-Request-ID`` (the client's
    when sane), the problem's fields, the ``overload`` refusal counted. An untrusted ``Host`` is
    let through to ``LimitsMiddleware`` (a 400 there); probes and other paths are never refused here.
    """

    def __init__(
        self,
        app: ASGIApp,
        admission: Admission,
        settings: LimitSettings,
        on_shed: Callable[[], None],
        loads: WorkerLoads | None = None,
    ) -> None:
        self.app = app
        self.admission = admission
        self.on_shed = on_shed
        self.loads = loads
        self.settings = settings
        self._trusted = _trusted_hosts(settings)
        self._by_retry: dict[tuple[int, str], tuple[bytes, list[tuple[bytes, bytes]]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1"):
            refused = self.admission.shed_early()
            if refused is not None:
                host = given = ""
                for name, value in scope["headers"]:
                    if name == b"host":
                        host = value.decode("latin-1")
                    elif name == b"x-request-id":
                        given = value.decode("latin-1")
                if self._trusted(_host_name(host).lower()):
                    await self._shed(scope["path"], request_id_for(given), refused, send)
                    return
        await self.app(scope, receive, send)

    async def _shed(self, path: str, request_id: str, refused: Refusal, send: Send) -> None:
        self.on_shed()
        head, headers = self._rendered(refused)
        body = b'%s%s,"request_id":"%s"}' % (
            head,
            json.dumps(path).encode(),
            request_id.encode("latin-1"),  # sane: letters, digits and ._:@/+=- only
        )
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    *headers,
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode("latin-1")),
                    *([(b"connection", b"close")] if _closes(self.settings, self.loads) else []),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _rendered(self, refused: Refusal) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        """The body up to the instance, and the fixed headers, for this Retry-After (made once)."""
        detail = _overload_detail(self.admission, refused)
        kept = self._by_retry.get((refused.retry_after, detail))
        if kept is None:
            type_, title = _PROBLEMS["overload"]
            head = json.dumps(
                {"type": f"{TYPE_PREFIX}{type_}", "title": title, "status": 503, "detail": detail},
                separators=(",", ":"),
                ensure_ascii=False,
            )
            headers = [
                (b"retry-after", str(refused.retry_after).encode()),
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            ]
            kept = (head[:-1].encode() + b',"instance":', headers)
            if len(self._by_retry) < 64:
                self._by_retry[(refused.retry_after, detail)] = kept
        return kept


# The problem type (after urn:triage:problem:) and title of each refusal.
_PROBLEMS = {
    "host": ("untrusted-host", "Host not served"),
    "rate": ("rate-limited", "Too many requests"),
    "size": ("body-too-large", "Request body too large"),
    "content-type": ("unsupported-media-type", "Body is not JSON"),
    "overload": ("overloaded", "Service at capacity"),
    "queue-deadline": ("overloaded", "Service at capacity"),
}

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_PARAM = re.compile(r"\{[^{}]*\}")  # a path template's parameter (applied to our own routes only)


def _leaf_routes(routes: Iterable[object]) -> Iterator[object]:
    """The routes themselves, looking inside routers an app included (FastAPI keeps them nested)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _leaf_routes(getattr(inner, "routes", ()))
        else:
            yield route


def _methods(scope: Scope) -> set[str]:
    """Every method the app serves on the request's path, as the schema lists it: a literal path
    (``/v1/models/rollback``) hides a template that would also match (``/v1/models/{version}``), and
    a template with more fixed text (``/v1/connectors/{name}:test``) one with less (``/v1/connectors/{name}``)."""
    app = scope.get("app")
    by_fixed_text: dict[int, set[str]] = {}
    for route in _leaf_routes(getattr(getattr(app, "router", None), "routes", ())):
        matches = getattr(route, "matches", None)
        if matches is None:
            continue
        fixed = len(_PARAM.sub("", str(getattr(route, "path", ""))))
        for method in _METHODS:
            match, _ = matches({**scope, "method": method})
            if match == Match.FULL:
                by_fixed_text.setdefault(fixed, set()).add(method)
    return by_fixed_text[max(by_fixed_text)] if by_fixed_text else set()


def _fingerprint(method: str, path: str, body: bytes) -> bytes:
    """What identifies a request sent again (a retry after a 503): method, path and body."""
    return hashlib.blake2b(f"{method} {path}\n".encode() + body, digest_size=16).digest()


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class _Replay:
    """The app's ``receive``: the body read up front, then the client's own messages (disconnect)."""

    def __init__(self, body: bytes, receive: Receive) -> None:
        self._body: bytes | None = body
        self._receive = receive
        self._next: asyncio.Task[Message] | None = None

    async def disconnected(self) -> bool:
        """Whether the client has already gone (its disconnect is waiting to be read).

        A client that gave up while its request sat unread (the loop busy, the bytes in the socket
        buffer) leaves its request and its end of stream together: the server reads the request in
        one loop iteration and the end of stream a few iterations later, so look for a few.
        """
        self._next = asyncio.ensure_future(self._receive())
        for _ in range(_DISCONNECT_POLLS):
            await asyncio.sleep(0)
            if self._next.done():
                break
        return self._next.done() and self._next.result().get("type") == "http.disconnect"

    def close(self) -> None:
        if self._next is not None and not self._next.done():
            self._next.cancel()

    async def __call__(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        if self._next is not None:
            task, self._next = self._next, None
            return await task
        return await self._receive()
