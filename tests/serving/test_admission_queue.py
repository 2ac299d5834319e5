"""The admission queue (serving/limits.py ``Admission``): requests past the in-flight bound wait a
short, bounded time for a slot, first come first served; past the queue's bound, or when the wait
would be too long, they are refused at once; still waiting at the deadline, they are refused then.

First the gate alone on an event loop, then the real middleware in a real uvicorn process in front of
a stand-in app that records which requests it started, in what order (holding a slot by sleeping on
the event loop, so the test decides how long a slot is busy).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from serving.limits import Admission, LimitSettings, LimitsMiddleware, Refusal, ShedGate, WorkerLoads


def test_waiting_requests_get_the_slots_in_arrival_order() -> None:
    gate = Admission(slots=1, queue=4, max_wait=10, retry_after=1)
    order: list[int] = []

    async def one(i: int) -> None:
        slot = await gate.acquire()
        assert isinstance(slot, int)
        order.append(i)
        await asyncio.sleep(0.01)
        gate.release(slot)

    async def main() -> None:
        tasks = []
        for i in range(5):
            tasks.append(asyncio.ensure_future(one(i)))
            await asyncio.sleep(0)  # each has joined the queue before the next arrives
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert order == [0, 1, 2, 3, 4]
    assert gate.in_flight == 0 and gate.queued == 0


def test_a_freed_slot_goes_to_the_queue_not_to_a_request_arriving_then() -> None:
    """The hand-over is direct: a client that comes back while others wait queues behind them."""
    gate = Admission(slots=1, queue=4, max_wait=10, retry_after=1)

    async def main() -> list[Any]:
        first = await gate.acquire()
        assert isinstance(first, int)
        waiting = asyncio.ensure_future(gate.acquire())
        await asyncio.sleep(0)
        gate.release(first)
        late = asyncio.ensure_future(gate.acquire())  # arrives the moment the slot is freed
        await asyncio.sleep(0.05)
        assert waiting.done() and not late.done()
        slot = waiting.result()
        assert isinstance(slot, int)
        gate.release(slot)
        return [waiting.result(), await late]

    slots = asyncio.run(main())
    assert all(isinstance(s, int) for s in slots)


def test_a_retry_of_a_refused_request_waits_ahead_of_first_tries() -> None:
    """Clients refused together come back together after Retry-After; without going first they would
    find the queue taken by the served clients' next requests every time (starvation)."""
    gate = Admission(slots=1, queue=2, max_wait=10, retry_after=1)
    order: list[str] = []

    async def one(name: str) -> None:
        slot = await gate.acquire(name.encode())
        assert isinstance(slot, int)
        order.append(name)
        await asyncio.sleep(0.01)
        gate.release(slot)

    async def main() -> None:
        held = await gate.acquire(b"held")
        assert isinstance(held, int)
        queued = [asyncio.ensure_future(one(name)) for name in ("a", "b")]
        await asyncio.sleep(0)
        assert await gate.acquire(b"retry") == Refusal("overload", 1)  # the queue is full
        gate.release(held)
        await asyncio.gather(*queued)
        held = await gate.acquire(b"held again")
        assert isinstance(held, int)
        first_try = asyncio.ensure_future(one("c"))
        await asyncio.sleep(0)
        retry = asyncio.ensure_future(one("retry"))  # the same request again, after c
        await asyncio.sleep(0)
        gate.release(held)
        await asyncio.gather(first_try, retry)

    asyncio.run(main())
    assert order == ["a", "b", "retry", "c"]
    assert gate.in_flight == 0 and gate.queued == 0


def test_past_the_queue_bound_a_request_is_refused_at_once() -> None:
    gate = Admission(slots=1, queue=1, max_wait=10, retry_after=3)

    async def main() -> Any:
        held = await gate.acquire()
        queued = asyncio.ensure_future(gate.acquire())
        await asyncio.sleep(0)
        started = time.perf_counter()
        refused = await gate.acquire()
        took = time.perf_counter() - started
        gate.release(held)  # type: ignore[arg-type]
        gate.release(await queued)  # type: ignore[arg-type]
        return refused, took

    refused, took = asyncio.run(main())
    assert refused == Refusal("overload", 3)
    assert took < 0.5


def test_a_request_still_waiting_at_the_deadline_is_refused_then() -> None:
    gate = Admission(slots=1, queue=4, max_wait=0.1, retry_after=1)

    async def main() -> tuple[Any, float]:
        held = await gate.acquire()
        started = time.perf_counter()
        refused = await gate.acquire()
        took = time.perf_counter() - started
        assert gate.queued == 0  # it left the queue
        gate.release(held)  # type: ignore[arg-type]
        return refused, took

    refused, took = asyncio.run(main())
    assert isinstance(refused, Refusal) and refused.reason == "queue-deadline"
    assert 0.09 <= took < 2


def test_a_waiting_request_that_can_no_longer_start_in_time_is_refused_before_its_deadline() -> None:
    now = [0.0]
    gate = Admission(slots=1, queue=4, max_wait=5.0, retry_after=1, clock=lambda: now[0])

    async def main() -> tuple[Any, Any]:
        held = await gate.acquire()
        assert isinstance(held, int)
        second = asyncio.ensure_future(gate.acquire())
        third = asyncio.ensure_future(gate.acquire())
        await asyncio.sleep(0)
        assert gate.queued == 2
        now[0] = 3.0
        gate.release(held)  # held 3 s: the second starts now, the third could start at 6 s > 0 + 5 s
        for _ in range(5):
            await asyncio.sleep(0)
        assert third.done() and second.done()  # answered now, not after its 5 s deadline
        slot = second.result()
        assert isinstance(slot, int)
        gate.release(slot)
        return second.result(), third.result()

    second, third = asyncio.run(main())
    assert isinstance(second, int)
    assert third == Refusal("queue-deadline", 3)  # Retry-After: at least the predicted wait
    assert gate.queued == 0 and gate.in_flight == 0


def test_a_predicted_wait_past_the_deadline_is_refused_at_once() -> None:
    """Once slots are known to be held ~1 s, a request that would wait that long is not queued."""
    now = [0.0]
    gate = Admission(slots=1, queue=8, max_wait=0.05, retry_after=1, clock=lambda: now[0])

    async def main() -> Any:
        slot = await gate.acquire()
        assert isinstance(slot, int)
        now[0] = 1.0
        gate.release(slot)  # a request held its slot for 1 s
        assert gate.hold == pytest.approx(1.0)
        assert isinstance(await gate.acquire(), int)  # a free slot is taken at once
        assert gate.predicted_wait() == pytest.approx(1.0)
        return await gate.acquire()

    refused = asyncio.run(main())
    assert refused == Refusal("overload", 1)
    assert gate.queued == 0


def test_the_wait_bound_follows_the_mean_hold_time_under_the_cap() -> None:
    """hold_share: a request waits at most that many mean hold times, never over max_wait."""
    now = [0.0]
    gate = Admission(slots=1, queue=8, max_wait=0.02, retry_after=1, clock=lambda: now[0], hold_share=0.5)
    assert gate.wait_bound == 0.02  # nothing held yet: the cap

    async def hold_for(seconds: float) -> None:
        slot = await gate.acquire()
        assert isinstance(slot, int)
        now[0] += seconds
        gate.release(slot)

    async def main() -> Any:
        await hold_for(0.01)  # a fast ticket: 10 ms
        assert gate.wait_bound == pytest.approx(0.005)  # half of it, under the 20 ms cap
        slot = await gate.acquire()
        assert isinstance(slot, int)
        now[0] += 0.004
        # The slot frees in ~6 ms: a wait the 20 ms cap alone would queue, past the 5 ms bound.
        refused = await gate.acquire()
        gate.release(slot)
        for _ in range(40):
            await hold_for(0.1)  # the tickets got slow: the mean hold grows past twice the cap
        return refused

    refused = asyncio.run(main())
    assert isinstance(refused, Refusal) and refused.reason == "overload"
    assert gate.wait_bound == 0.02


def test_without_a_hold_share_the_cap_alone_bounds_the_wait() -> None:
    now = [0.0]
    gate = Admission(slots=1, queue=8, max_wait=0.02, retry_after=1, clock=lambda: now[0])

    async def main() -> Any:
        slot = await gate.acquire()
        assert isinstance(slot, int)
        now[0] += 0.01
        gate.release(slot)
        slot = await gate.acquire()
        assert isinstance(slot, int)
        now[0] += 0.004
        waiting = asyncio.ensure_future(gate.acquire())  # ~6 ms to wait: within 20 ms, so it queues
        await asyncio.sleep(0)
        assert gate.queued == 1
        gate.release(slot)
        return await waiting

    assert gate.wait_bound == 0.02
    assert isinstance(asyncio.run(main()), int)


def test_admission_refuses_a_negative_hold_share() -> None:
    with pytest.raises(ValueError, match="hold_share >= 0"):
        Admission(slots=1, queue=1, max_wait=1, retry_after=1, hold_share=-1)


def test_a_cancelled_waiter_leaves_the_queue_and_a_handed_slot_is_given_back() -> None:
    gate = Admission(slots=1, queue=4, max_wait=10, retry_after=1)

    async def main() -> None:
        held = await gate.acquire()
        assert isinstance(held, int)
        gone = asyncio.ensure_future(gate.acquire())
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
        assert gate.queued == 0
        # Handed the slot, then cancelled before it ran: the slot is not lost.
        handed = asyncio.ensure_future(gate.acquire())
        await asyncio.sleep(0)
        gate.release(held)
        handed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await handed
        assert gate.in_flight == 0 and gate.queued == 0
        assert isinstance(await gate.acquire(), int)

    asyncio.run(main())


def test_settings_that_cannot_admit_are_refused() -> None:
    with pytest.raises(ValueError, match="slots >= 1"):
        Admission(slots=0, queue=1, max_wait=1, retry_after=1)


# --- the real middleware in a real uvicorn process ----------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StandIn:
    """Records each request it starts (``?i=`` of its path); ``/v1/hold?s=0.5`` holds its slot that long."""

    def __init__(self) -> None:
        self.started: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        query = scope["query_string"].decode()
        self.started.append(query)
        if scope["path"] == "/v1/hold":
            await asyncio.sleep(float(query.partition("s=")[2] or 0.5))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def gated() -> Iterator[tuple[StandIn, list[str], Any]]:
    """start(slots, queued, max_wait) -> base URL of uvicorn serving the stand-in behind the limits."""
    app = StandIn()
    refused: list[str] = []
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(
        slots: int,
        queued: int,
        max_wait: float,
        close_on_shed: bool = False,
        gate: bool = False,
        hosts: tuple[str, ...] = ("*",),
        loads_file: Path | None = None,
    ) -> str:
        settings = LimitSettings(
            slots,
            2,
            10_000,
            10_000,
            hosts,
            {},
            queued,
            max_wait,
            close_on_shed=close_on_shed,
            loads_file=loads_file,
        )
        admission = Admission.of(settings)
        loads = WorkerLoads(loads_file, slots) if loads_file else None
        served: ASGIApp = LimitsMiddleware(app, settings, refused.append, admission=admission, loads=loads)
        if gate:  # as create_app wires it: the gate in front, sharing the admission
            served = ShedGate(served, admission, settings, lambda: refused.append("gate"), loads)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(served, port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return f"http://127.0.0.1:{port}"

    yield app, refused, start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def _post(base: str, path: str) -> tuple[int, dict[str, str], float, float]:
    """Status, headers, when the answer came (perf_counter) and how long it took."""
    started = time.perf_counter()
    answer = httpx.post(f"{base}{path}", json={"body": "VPN"}, timeout=30)
    return answer.status_code, dict(answer.headers), time.perf_counter(), time.perf_counter() - started


def test_server_queue_serves_waiting_requests_in_arrival_order(gated: Any) -> None:
    app, refused, start = gated
    base = start(1, 4, 5.0)
    with ThreadPoolExecutor(max_workers=4) as pool:
        hold = pool.submit(_post, base, "/v1/hold?s=0.6")
        time.sleep(0.15)
        waiting = []
        for i in range(3):
            waiting.append(pool.submit(_post, base, f"/v1/q?i={i}"))
            time.sleep(0.1)  # arrives after the one before it
        assert hold.result()[0] == 200
        assert [w.result()[0] for w in waiting] == [200, 200, 200]
    assert app.started == ["s=0.6", "i=0", "i=1", "i=2"] and refused == []


def test_server_queue_refuses_at_the_deadline_with_retry_after(gated: Any) -> None:
    app, refused, start = gated
    base = start(1, 4, 0.2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        hold = pool.submit(_post, base, "/v1/hold?s=1.5")
        time.sleep(0.2)
        status, headers, answered, took = _post(base, "/v1/q?i=late")
        held_until = hold.result()[2]
    assert status == 503 and headers["retry-after"] == "2"  # at least the configured Retry-After
    assert headers["content-type"] == "application/problem+json"
    assert took >= 0.15 and answered < held_until  # waited its 0.2 s, refused before the slot freed
    assert refused == ["queue-deadline"] and "i=late" not in app.started


def test_server_queue_refuses_past_its_bound_at_once(gated: Any) -> None:
    app, refused, start = gated
    base = start(1, 1, 5.0)
    with ThreadPoolExecutor(max_workers=3) as pool:
        hold = pool.submit(_post, base, "/v1/hold?s=1.5")
        time.sleep(0.2)
        queued = pool.submit(_post, base, "/v1/q?i=queued")
        time.sleep(0.2)
        status, headers, answered, took = _post(base, "/v1/q?i=over")
        held_until = hold.result()[2]
        assert queued.result()[0] == 200
    assert status == 503 and headers["retry-after"] == "2"
    assert answered < held_until and took < 1.0  # at once, not after the queue's deadline
    assert refused == ["overload"]
    assert app.started == ["s=1.5", "i=queued"]


def test_with_several_workers_an_overload_refusal_closes_its_connection(gated: Any) -> None:
    """So the retry connects anew and the least busy worker accepts it (serve --workers)."""
    _, refused, start = gated
    closing = start(1, 0, 0.0, close_on_shed=True)
    keeping = start(1, 0, 0.0)
    for base, expected in ((closing, "close"), (keeping, None)):
        with ThreadPoolExecutor(max_workers=2) as pool:
            hold = pool.submit(_post, base, "/v1/hold?s=0.8")
            time.sleep(0.2)
            status, headers, _, _ = _post(base, "/v1/q?i=over")
            assert hold.result()[0] == 200
        assert status == 503 and headers.get("connection") == expected
    assert refused == ["overload", "overload"]


def test_server_queue_drops_a_waiting_request_whose_client_left(gated: Any) -> None:
    app, refused, start = gated
    base = start(1, 4, 5.0)
    port = int(base.rsplit(":", 1)[1])
    body = b'{"body": "VPN 809"}'
    request = (
        f"POST /v1/q?i=gone HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with ThreadPoolExecutor(max_workers=2) as pool:
        hold = pool.submit(_post, base, "/v1/hold?s=0.8")
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", port)) as impatient:
            impatient.sendall(request)  # queued behind the hold ...
            time.sleep(0.2)
        # ... and gone before its turn; the one after it is served.
        patient = pool.submit(_post, base, "/v1/q?i=patient")
        assert hold.result()[0] == 200 and patient.result()[0] == 200
    assert app.started == ["s=0.8", "i=patient"]
    assert refused == ["disconnected"]


def _refused_while_held(base: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """The answer to ``path`` while ``/v1/hold`` holds the only slot (and the queue is full or 0)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        hold = pool.submit(_post, base, "/v1/hold?s=0.8")
        time.sleep(0.2)
        answer = httpx.post(f"{base}{path}", json={"body": "VPN"}, headers=headers or {}, timeout=30)
        assert hold.result()[0] == 200
    return answer


def test_the_shed_gate_refuses_at_a_full_service_as_the_limits_do(gated: Any) -> None:
    """The cheap refusal in front of everything answers exactly what the limits middleware would
    (status, Retry-After, problem+json, Connection: close with close_on_shed), with its own request id."""
    app, refused, start = gated
    plain = _refused_while_held(start(1, 0, 0.0, close_on_shed=True), "/v1/q?i=plain")
    gate = start(1, 0, 0.0, close_on_shed=True, gate=True)
    fast = _refused_while_held(gate, "/v1/q?i=fast")
    echoed = _refused_while_held(gate, "/v1/triage", {"X-Request-ID": "ticket-42.retry"})
    assert refused == ["overload", "gate", "gate"]  # the gate's two: counted by it, not by the limits
    assert "i=plain" not in app.started and "i=fast" not in app.started
    for answer in (plain, fast, echoed):
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "2"
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["connection"] == "close"
    for answer in (fast, echoed):  # (the limits alone, without the request context, have no id)
        assert answer.json()["request_id"] == answer.headers["x-request-id"]
    mine = {k: v for k, v in fast.json().items() if k != "request_id"}
    assert mine == {k: v for k, v in plain.json().items() if k != "request_id"}
    assert mine["type"] == "urn:triage:problem:overloaded" and mine["instance"] == "/v1/q"
    assert "bound of 1 requests in flight; retry in 2 s" in mine["detail"]
    assert echoed.headers["x-request-id"] == "ticket-42.retry" and echoed.json()["instance"] == "/v1/triage"
    assert int(fast.headers["content-length"]) == len(fast.content)


def test_the_shed_gate_lets_probes_untrusted_hosts_and_free_services_through(gated: Any) -> None:
    app, refused, start = gated
    base = start(1, 0, 0.0, gate=True, hosts=("127.0.0.1",))
    port = base.rsplit(":", 1)[1]
    with ThreadPoolExecutor(max_workers=1) as pool:
        hold = pool.submit(_post, base, "/v1/hold?s=0.8")
        time.sleep(0.2)
        probe = httpx.get(f"{base}/healthz", timeout=30)  # never waits behind the bound
        foreign = httpx.post(
            f"{base}/v1/q?i=foreign", json={}, headers={"Host": f"evil.example:{port}"}, timeout=30
        )
        assert hold.result()[0] == 200
    assert probe.status_code == 200
    assert foreign.status_code == 400 and foreign.json()["type"] == "urn:triage:problem:untrusted-host"
    served = httpx.post(f"{base}/v1/q?i=after", json={}, timeout=30)  # the slot is free again
    assert served.status_code == 200
    assert refused == ["host"] and app.started == ["s=0.8", "", "i=after"]


def _dead_pid() -> int:
    """A pid no process has now."""
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_worker_loads_tell_a_worker_whether_another_has_room(tmp_path: Path) -> None:
    table = tmp_path / "loads"
    WorkerLoads.create_table(table)
    one, two = WorkerLoads(table, 2), WorkerLoads(table, 2)  # two workers (one pid here: two rows)
    assert one.other_has_room() and two.other_has_room()  # both idle
    one.publish(2)
    assert two.other_has_room() is False and one.other_has_room()  # one is full, two has room
    two.publish(3)
    assert one.other_has_room() is False
    two.publish(1)
    assert one.other_has_room()


def test_worker_loads_rows_of_dead_workers_are_taken_again_and_never_have_room(tmp_path: Path) -> None:
    table = tmp_path / "loads"
    WorkerLoads.create_table(table)
    mine = WorkerLoads(table, 2)
    gone = WorkerLoads(table, 2, pid=_dead_pid())  # a worker that was killed, idle when it died
    assert mine.other_has_room() is False  # the dead worker's free slots are no room
    replacement = WorkerLoads(table, 2)  # the supervisor's new worker takes the dead one's row
    assert replacement._row == gone._row and mine.other_has_room()


def test_with_a_load_table_a_worker_closes_connections_only_when_another_has_room(
    gated: Any, tmp_path: Path
) -> None:
    """Several workers: a refusal (gate or limits) closes its connection only when another worker
    has room, and an answer of a worker with requests waiting closes its connection then too."""
    _, refused, start = gated
    table = tmp_path / "loads"
    WorkerLoads.create_table(table)
    other = WorkerLoads(table, 1)  # the other worker, in this test's hands
    base = start(1, 1, 5.0, close_on_shed=True, gate=True, loads_file=table)

    def burst() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        with ThreadPoolExecutor(max_workers=2) as pool:
            hold = pool.submit(httpx.post, f"{base}/v1/hold?s=0.8", json={}, timeout=30)
            time.sleep(0.2)
            waiting = pool.submit(httpx.post, f"{base}/v1/q?i=waits", json={}, timeout=30)
            time.sleep(0.2)
            over = httpx.post(f"{base}/v1/q?i=over", json={}, timeout=30)  # slot and queue full
            return hold.result(), waiting.result(), over

    other.publish(1)  # the other worker is full too: nothing to gain from a new connection
    held, waited, over = burst()
    assert [r.status_code for r in (held, waited, over)] == [200, 200, 503]
    assert [r.headers.get("connection") for r in (held, waited, over)] == [None, None, None]
    other.publish(0)  # the other worker has room
    held, waited, over = burst()
    assert [r.status_code for r in (held, waited, over)] == [200, 200, 503]
    # The answer given while a request waited here, and the refusal, send their clients elsewhere;
    # the last answer (nothing waiting behind it) keeps its connection.
    assert [r.headers.get("connection") for r in (held, waited, over)] == ["close", None, "close"]
    assert refused == ["gate", "gate"]
