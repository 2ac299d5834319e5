"""A load generator that is not the bottleneck: several processes, raw HTTP/1.1 over asyncio streams.

Each request is pre-built bytes sent on a keep-alive connection, and an answer is read by its
``Content-Length``: about 0.14 ms of CPU a request with uvloop (0.28 ms without), measured against a
503-only stand-in, where httpx took 1.3-4.6 ms (its pool scans every connection per request). Two modes:

- ``open``: requests at a constant arrival rate whatever the answers (independent clients, as
  under real overload), split over ``processes`` worker processes. A latency is counted from the
  moment the request was *due*, not when it went out, so a generator running late shows as latency
  (no coordinated omission), and how late it ran is reported on its own (``lag``).
- ``closed``: ``concurrency`` connections each send the next request when the last is answered
  (what the server can serve at most, used as its capacity); with ``retry_after``, a request
  refused with ``Retry-After`` is sent again that many seconds later, as a ticket system's client does.

Meanwhile the parent process probes a path (``/healthz``) on a connection of its own every
``probe_interval`` seconds. Standard library only: a worker is a fresh interpreter that starts fast.
"""

from __future__ import annotations

import asyncio
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# An answer's outcome: an HTTP status, or one of these for requests that got none.
TIMEOUT = -1  # no answer within the client timeout (the client gave up and closed the connection)
TRANSPORT = -2  # the connection failed or was closed without an answer
NOT_SENT = -3  # the worker was at its connection cap when the request was due


@dataclass(frozen=True)
class Outcome:
    """One request: when it was due (seconds from the start), its status, latency and how late it went out."""

    due: float
    status: int
    latency: float
    lag: float
    client: int = -1  # closed loop: the connection that sent it (0 .. concurrency - 1)


@dataclass
class LoadResult:
    seconds: float
    outcomes: list[Outcome] = field(default_factory=list)
    probes: list[tuple[float, int, float]] = field(default_factory=list)  # (at, status, latency)
    # User + system CPU seconds of the generator's worker processes (they share the server's cores).
    cpu_seconds: float = 0.0

    def with_status(self, *statuses: int) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in statuses]


def http_request(
    method: str, host: str, port: int, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    """The bytes of one HTTP/1.1 request with a keep-alive connection."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bool, float | None]:
    """Send one request and read its answer; (status, whether the connection may be reused, the
    seconds of its ``Retry-After`` header if it had one)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, rest = head.partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    keep = True
    chunked = False
    retry_after: float | None = None
    for line in rest.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep = False
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"retry-after" and value.strip().isdigit():  # (the HTTP-date form is not used here)
            retry_after = float(value.strip())
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, keep, retry_after


# uvicorn closes a keep-alive connection idle for 5 s: one idle longer is not reused (the server may
# have closed it as the request goes out, which would count as a failure of the server's).
IDLE_REUSE_SECONDS = 4.0


class _Pool:
    """Keep-alive connections of one worker: idle ones are reused, new ones opened up to ``cap``."""

    def __init__(self, host: str, port: int, cap: int) -> None:
        self.host, self.port, self.cap = host, port, cap
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.open = 0
        self.retry_after: float | None = None  # of the last answer

    def _take_idle(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        while self.idle:
            reader, writer, since = self.idle.pop()
            if time.monotonic() - since < IDLE_REUSE_SECONDS and not reader.at_eof():
                return reader, writer
            self.open -= 1
            writer.close()
        return None

    async def call(self, request: bytes, timeout: float) -> int:
        self.retry_after = None
        taken = self._take_idle()
        if taken is not None:
            reader, writer = taken
        elif self.open >= self.cap:
            return NOT_SENT
        else:
            self.open += 1
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), timeout
                )
            except (OSError, TimeoutError):
                self.open -= 1
                return TRANSPORT
        try:
            async with asyncio.timeout(timeout):  # cheaper than wait_for: no task per request
                status, keep, self.retry_after = await _exchange(reader, writer, request)
        except TimeoutError:
            status, keep = TIMEOUT, False
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError):
            status, keep = TRANSPORT, False
        if keep:
            self.idle.append((reader, writer, time.monotonic()))
        else:
            self.open -= 1
            writer.close()
        return status

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()


async def _open_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    dues: Sequence[tuple[int, float]],
    start: float,
    timeout: float,
    cap: int,
) -> list[tuple[float, int, float, float]]:
    """Send request ``i`` at ``start + offset`` for each ``(i, offset)`` of ``dues``, answered or not."""
    pool = _Pool(host, port, cap)
    results: list[tuple[float, int, float, float]] = []
    tasks: set[asyncio.Task[None]] = set()

    async def one(i: int, due: float) -> None:
        sent = time.monotonic()
        status = await pool.call(requests[i % len(requests)], timeout)
        results.append((due - start, status, time.monotonic() - due, sent - due))

    for i, offset in dues:
        due = start + offset
        now = time.monotonic()
        if due > now:
            await asyncio.sleep(due - now)
        task = asyncio.create_task(one(i, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(set(tasks))
    pool.close()
    return results


def schedule(phases: Sequence[tuple[float, float]]) -> list[float]:
    """Due offsets (seconds from the start) of requests at a constant rate per phase: (seconds, rate)."""
    dues: list[float] = []
    begin = 0.0
    for seconds, rate in phases:
        if rate > 0:
            n = round(seconds * rate)
            dues.extend(begin + k / rate for k in range(n))
        begin += seconds
    return dues


async def _closed_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    concurrency: int,
    seconds: float,
    start: float,
    index: int,
    processes: int,
    timeout: float,
    retry: bool = False,
) -> list[tuple[float, int, float, float, int]]:
    """Each connection sends its next request when the last is answered. ``retry``: a refusal with
    ``Retry-After`` is sent again after that many seconds (as a ticket system's client does); its
    rows then have ``due`` = the first try of that request and ``lag`` = how long after it this try
    went out, so ``lag + latency`` is the request's time to an answer, retries included."""
    results: list[tuple[float, int, float, float, int]] = []
    end = start + seconds
    await asyncio.sleep(max(0.0, start - time.monotonic()))

    async def connection(k: int) -> None:
        pool = _Pool(host, port, 1)
        i = k
        first: float | None = None  # when the request being sent was first tried
        while (sent := time.monotonic()) < end:
            first = sent if first is None else first
            status = await pool.call(requests[i % len(requests)], timeout)
            results.append((first - start, status, time.monotonic() - sent, sent - first, k))
            if retry and pool.retry_after is not None:
                await asyncio.sleep(pool.retry_after)  # the same request again, when the server said
                continue
            i += concurrency
            first = None
            if status != 200:
                await asyncio.sleep(0.005)  # refused at the bound: try again at once, not in a hot loop
        pool.close()

    mine = range(index, concurrency, processes)
    await asyncio.gather(*(connection(k) for k in mine))
    return results


def _worker() -> None:
    """A worker process (``python -m eval.loadgen OUT``): its arguments pickled on stdin, its rows into OUT."""
    mode, host, port, requests, amount, seconds, start, index, processes, timeout, cap, retry = pickle.load(
        sys.stdin.buffer
    )
    coroutine: Coroutine[Any, Any, Sequence[tuple[Any, ...]]]
    if mode == "open":
        coroutine = _open_loop(host, port, requests, amount, start, timeout, cap)
    else:
        coroutine = _closed_loop(
            host, port, requests, int(amount), seconds, start, index, processes, timeout, retry
        )
    try:  # uvloop (uvicorn's own event loop, installed with it) costs about half the CPU per request
        import uvloop

        rows = uvloop.run(coroutine)
    except ImportError:
        rows = asyncio.run(coroutine)
    # A file, not stdout: a result larger than a pipe's buffer (64 KiB, about 60 s of load) came back
    # corrupted through the pipe (pickle.loads failed mid-stream), even with both ends made blocking.
    with open(sys.argv[1], "wb") as out:
        pickle.dump(rows, out)


async def _probe(
    host: str, port: int, request: bytes, start: float, end: float, every: float
) -> list[tuple[float, int, float]]:
    pool = _Pool(host, port, 1)
    probes: list[tuple[float, int, float]] = []
    at = start
    while at < end:
        now = time.monotonic()
        if at > now:
            await asyncio.sleep(at - now)
        sent = time.monotonic()
        status = await pool.call(request, 5.0)
        probes.append((sent - start, status, time.monotonic() - sent))
        at += every
    pool.close()
    return probes


def run(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float | Sequence[tuple[float, float]] | None = None,
    concurrency: int | None = None,
    seconds: float | None = None,
    processes: int = 2,
    timeout: float = 30.0,
    connection_cap: int = 2048,
    probe: bytes | None = None,
    probe_interval: float = 0.1,
    retry_after: bool = False,
) -> LoadResult:
    """Open loop at ``rate`` requests/s, or closed loop over ``concurrency`` connections, for ``seconds``.

    ``rate`` may be phases, ``[(seconds, rate), ...]`` one after the other without a pause (a load
    and then what follows it); ``seconds`` is then their sum. ``requests`` are sent in turn
    (pre-built with ``http_request``); ``probe`` (a request, such as ``GET /healthz``) is sent every
    ``probe_interval`` seconds from this process meanwhile. ``retry_after`` (closed loop): a
    connection refused with ``Retry-After`` waits that long and sends the same request again.
    """
    if (rate is None) == (concurrency is None):
        raise ValueError("pass either rate (open loop) or concurrency (closed loop)")
    if rate is not None:
        phases = [(float(seconds or 0), float(rate))] if isinstance(rate, int | float) else list(rate)
        seconds = sum(length for length, _ in phases)
        dues = list(enumerate(schedule(phases)))
        workers = processes
    else:
        workers = min(processes, int(concurrency or 0))
    if not seconds:
        raise ValueError("pass seconds (or phases with a length)")
    scratch = tempfile.TemporaryDirectory(prefix="loadgen-")
    children = []
    cpu_before = _children_cpu()
    # A fresh interpreter per worker (only this module and the standard library: well under a
    # second to start); every worker begins at the same instant after that.
    start = time.monotonic() + 1.0 + 0.3 * workers
    for index in range(workers):
        child = subprocess.Popen(
            [sys.executable, "-m", "eval.loadgen", str(Path(scratch.name) / f"worker-{index}.pickle")],
            stdin=subprocess.PIPE,
        )
        assert child.stdin is not None
        amount: Any = dues[index::workers] if rate is not None else concurrency
        mode = "open" if rate is not None else "closed"
        args = (
            mode,
            host,
            port,
            list(requests),
            amount,
            seconds,
            start,
            index,
            workers,
            timeout,
            connection_cap,
            retry_after,
        )
        child.stdin.write(pickle.dumps(args))
        child.stdin.close()
        children.append(child)
    result = LoadResult(seconds=seconds)
    if probe is not None:
        result.probes = asyncio.run(_probe(host, port, probe, start, start + seconds, probe_interval))
    with scratch:
        for index, child in enumerate(children):
            if child.wait() != 0:
                raise RuntimeError(f"load generator worker exited with {child.returncode}")
            rows = pickle.loads((Path(scratch.name) / f"worker-{index}.pickle").read_bytes())
            result.outcomes.extend(Outcome(*row) for row in rows)
    # The workers are waited for above: their CPU is in this process's children's usage now (so is
    # any other child waited for meanwhile, which the benchmarks here do not do during a run).
    result.cpu_seconds = _children_cpu() - cpu_before
    result.outcomes.sort(key=lambda o: o.due)
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    _worker()
