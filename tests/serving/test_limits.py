"""Request limits (serving/limits.py): overload shed with 503, per-key rate 429, body size 413,
JSON only 415, trusted hosts 400, complete Allow on 405, probes never behind inference.

The overload and rate tests run a real uvicorn process with a bound of one request in flight and a
tight read bucket; the others use the session's in-process app.
"""

from __future__ import annotations

import gc
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from eval.processes import stop_process
from serving.app import create_app
from serving.keys import ALL_SCOPES, KeyStore, key_id_of
from serving.limits import LimitSettings, LimitsMiddleware, RateLimit, TokenBuckets, scope_class
from serving.settings import Settings, load_settings
from tests.backend import server_env
from tests.serving.conftest import KeyMaker, bearer

SLOW_BATCH = {
    "tickets": [{"title": "VPN", "body": "中文工单，VPN 无法连接，报错 809。" * 400} for _ in range(48)]
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def bounded_dir(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo: the batches triaged here must not add to the predictions other tests count."""
    target = tmp_path_factory.mktemp("limits") / "demo"
    shutil.copytree(demo_dir, target, ignore=shutil.ignore_patterns("*.log"))
    return target


@pytest.fixture(scope="module")
def bounded_key(bounded_dir: Path) -> Iterator[KeyMaker]:
    """make_key for the copy's database: bounded_key(name) -> an all-scopes key of tenant 'default'."""
    store = KeyStore(load_settings(data_dir=bounded_dir).database_path)

    def make(name: str = "limits test") -> str:
        return store.create("default", ALL_SCOPES, name=name).secret

    yield make
    store.close()


@pytest.fixture(scope="module")
def bounded_server(bounded_dir: Path) -> Iterator[str]:
    """uvicorn serving the demo with one request in flight at most and 2 reads/s per key."""
    demo_dir = bounded_dir
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update(
        {
            "TRIAGE_MAX_IN_FLIGHT": "1",
            "TRIAGE_RETRY_AFTER": "2",
            "TRIAGE_RATE_LIMITS": '{"read": {"per_second": 0.5, "burst": 3}}',
            **server_env(demo_dir / "knowledge.db"),
        }
    )
    log = (demo_dir / "bounded-server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "serving.cli", "serve", "--data-dir", str(demo_dir), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            assert process.poll() is None, (demo_dir / "bounded-server.log").read_text()[-2000:]
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server not ready within 180 s"
            time.sleep(0.5)
        yield base
    finally:
        stop_process(process, timeout=20)
        log.close()


def test_overload_is_shed_at_once_and_probes_still_answer(bounded_server: str, bounded_key: KeyMaker) -> None:
    headers = bearer(bounded_key("overload test"))
    stop = threading.Event()
    busy_statuses: list[int] = []

    def keep_busy() -> None:
        with httpx.Client(base_url=bounded_server, timeout=300, headers=headers) as client:
            while not stop.is_set():
                busy_statuses.append(client.post("/v1/triage:batch", json=SLOW_BATCH).status_code)

    busy = threading.Thread(target=keep_busy)
    busy.start()
    refused: list[tuple[float, httpx.Response]] = []
    probes: list[float] = []
    deadline = time.monotonic() + 120
    try:
        with httpx.Client(base_url=bounded_server, timeout=60, headers=headers) as client:
            while len(refused) < 3 and time.monotonic() < deadline:
                started = time.perf_counter()
                answer = client.post("/v1/classify", json={"body": "VPN 连不上"})
                if answer.status_code == 503:
                    refused.append((time.perf_counter() - started, answer))
                started = time.perf_counter()
                assert client.get("/healthz").status_code == 200
                probes.append(time.perf_counter() - started)
                time.sleep(0.05)
    finally:
        stop.set()
        busy.join()
    assert refused, f"no request was refused while batches kept the one slot busy ({busy_statuses})"
    assert 200 in busy_statuses
    answer = refused[0][1]
    assert answer.headers["retry-after"] == "2"
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 503 and "bound of 1" in answer.json()["detail"]
    assert answer.json()["type"] == "urn:triage:problem:overloaded"
    assert answer.json()["request_id"] == answer.headers["x-request-id"]
    # Refusals and probes do no work: generous bounds for a shared CI machine (typically ~5 ms).
    assert min(s for s, _ in refused) < 0.5
    assert min(probes) < 0.5
    # Once the work is done the next request is served.
    assert (
        httpx.post(
            f"{bounded_server}/v1/classify", json={"body": "VPN 连不上"}, headers=headers, timeout=60
        ).status_code
        == 200
    )


def test_the_default_bound_admits_one_request_per_core_and_sheds_the_rest(
    live_server: str, live_headers: dict[str, str]
) -> None:
    """At the defaults (no TRIAGE_* setting): one micro-batch thread, one request in flight per core
    (at least 2) and 4 per slot waiting at most 20 ms; a burst past that is answered 503 with
    Retry-After, and the service serves again after."""
    ready = httpx.get(f"{live_server}/readyz", timeout=30).json()
    bound = ready["max_in_flight"]
    assert bound == max(2, os.cpu_count() or 1) and ready["micro_batch_workers"] == 1
    assert ready["max_queued"] == 4 * bound and ready["max_queue_wait_ms"] == 20
    assert ready["queue_wait_hold_share"] == 0.5
    ticket = {"title": "VPN", "body": "中文工单，VPN 无法连接，报错 809。" * 300}
    burst = bound + ready["max_queued"] + 2
    statuses: list[int] = []
    shed: list[httpx.Response] = []
    for _ in range(3):  # a burst arrives together unless the machine stalls a thread; then again
        start = threading.Barrier(burst)

        def one(start: threading.Barrier) -> httpx.Response:
            with httpx.Client(base_url=live_server, headers=live_headers, timeout=120) as client:
                start.wait()
                return client.post("/v1/classify", json=ticket)

        threads = ThreadPoolExecutor(max_workers=burst)
        answers = list(threads.map(one, [start] * burst))
        threads.shutdown()
        statuses += [a.status_code for a in answers]
        shed += [a for a in answers if a.status_code == 503]
        if shed:
            break
    assert set(statuses) <= {200, 503} and 200 in statuses
    assert shed, f"{burst} requests at once were all admitted past a bound of {bound}"
    assert shed[0].headers["retry-after"] == "1"
    assert shed[0].json()["type"] == "urn:triage:problem:overloaded"
    assert f"bound of {bound}" in shed[0].json()["detail"]
    after = httpx.post(f"{live_server}/v1/classify", json=ticket, headers=live_headers, timeout=120)
    assert after.status_code == 200


def test_rate_limit_answers_429_with_retry_after_per_key(bounded_server: str, bounded_key: KeyMaker) -> None:
    secret = bounded_key("rate test")
    statuses = [
        httpx.get(f"{bounded_server}/v1/cases", params={"limit": 1}, headers=bearer(secret), timeout=60)
        for _ in range(5)
    ]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited and statuses[0].status_code == 200
    assert int(limited[0].headers["retry-after"]) >= 1
    problem = limited[0].json()
    assert problem["type"] == "urn:triage:problem:rate-limited" and problem["status"] == 429
    assert limited[0].headers["content-type"] == "application/problem+json"
    assert problem["request_id"] == limited[0].headers["x-request-id"]
    # Another key has its own bucket (keyed by the key's id, in the other header too).
    other = httpx.get(
        f"{bounded_server}/v1/cases",
        params={"limit": 1},
        headers={"X-API-Key": bounded_key("rate test 2")},
        timeout=60,
    )
    assert other.status_code == 200
    # A made-up secret naming the limited key's id counts against the client address, not that key:
    # it is answered (401), not throttled, and cannot drain the real key's bucket.
    forged = f"tt_{key_id_of(secret)}_{'x' * 43}"
    assert httpx.get(f"{bounded_server}/v1/cases", headers=bearer(forged), timeout=60).status_code == 401


def test_work_for_a_client_that_left_is_dropped_before_it_starts() -> None:
    """A client that gave up while its request sat unread (the event loop busy) costs no work.

    Real uvicorn and the real middleware; the app behind it is a stand-in that records what it was
    asked to do and, on /v1/busy, holds the event loop for 0.3 s as a late loop would.
    """
    started: list[str] = []
    refused: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        started.append(scope["path"])
        if scope["path"] == "/v1/busy":
            time.sleep(0.3)  # blocks the loop: requests arriving now wait unread in their sockets
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    settings = LimitSettings(4, 1, 10_000, 10_000, ("*",), {})
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(LimitsMiddleware(app, settings, refused.append), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def request(path: str) -> bytes:
        body = b'{"body": "VPN 809"}'
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body

    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port)) as busy:
                busy.sendall(request("/v1/busy"))
                time.sleep(0.05)
                with socket.create_connection(("127.0.0.1", port)) as impatient:
                    impatient.sendall(request("/v1/classify"))  # ... and gives up before an answer
                assert busy.recv(4096).startswith(b"HTTP/1.1 200")
        deadline = time.monotonic() + 10
        while len(refused) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.count("/v1/classify") == 0 and refused == ["disconnected"] * 3
        with socket.create_connection(("127.0.0.1", port)) as patient:  # one that waits is served
            patient.sendall(request("/v1/classify"))
            assert patient.recv(4096).startswith(b"HTTP/1.1 200")
        assert started.count("/v1/classify") == 1
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_body_over_the_limit_is_refused_before_parsing(client: TestClient) -> None:
    huge = b'{"body": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    answer = client.post("/v1/triage", content=huge, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert "2,097,152 bytes" in answer.json()["detail"]


def test_body_must_be_json(client: TestClient) -> None:
    answer = client.post("/v1/triage", content=b'{"body": "VPN down"}')
    assert answer.status_code == 415
    assert (
        client.post(
            "/v1/triage", content=b'{"body": "VPN down"}', headers={"Content-Type": "text/plain"}
        ).status_code
        == 415
    )
    assert client.post("/v1/triage", json={"body": "VPN down"}).status_code == 200


def test_untrusted_host_is_refused(demo_dir: Path) -> None:
    app = create_app(load_settings(data_dir=demo_dir, trusted_hosts=["localhost", "127.0.0.1"]))
    with TestClient(app, base_url="http://localhost") as local:
        assert local.get("/healthz").status_code == 200
        evil = local.get("/healthz", headers={"Host": "attacker.example:8000"})
        assert evil.status_code == 400 and "trusted_hosts" in evil.json()["detail"]
        assert local.get("/healthz", headers={"Host": "127.0.0.1:8000"}).status_code == 200


def test_default_trusted_hosts_are_localhost_and_the_bind_host() -> None:
    settings = Settings(host="10.0.0.5", trusted_hosts=None)
    assert set(settings.hosts) == {"localhost", "127.0.0.1", "::1", "10.0.0.5"}


def test_method_not_allowed_lists_every_method_of_the_path(client: TestClient) -> None:
    answer = client.options("/v1/cases")
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) >= {"GET", "POST"}
    item = client.request("PATCH", "/v1/cases/X-1")
    assert item.status_code == 405
    assert set(item.headers["allow"].split(", ")) >= {"GET", "PUT", "DELETE"}
    # /v1/connectors/x:test also fits /v1/connectors/{name}: the template with more fixed text is the one.
    check = client.options("/v1/connectors/acme:test")
    assert check.status_code == 405 and check.headers["allow"] == "POST"


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets({"read": RateLimit(per_second=2, burst=2)}, clock=lambda: now[0])
    assert buckets.take("a", "read") == 0 and buckets.take("a", "read") == 0
    assert buckets.take("a", "read") == pytest.approx(0.5)
    assert buckets.take("b", "read") == 0  # per caller
    now[0] = 0.5
    assert buckets.take("a", "read") == 0
    assert buckets.take("a", "triage") == 0  # no limit configured for the class


def test_scope_classes() -> None:
    assert scope_class("POST", "/v1/triage:batch") == "triage"
    assert scope_class("POST", "/v1/cases") == "write"
    assert scope_class("DELETE", "/v1/cases/X") == "write"
    assert scope_class("GET", "/v1/cases") == "read"


def test_what_the_server_loaded_is_left_out_of_garbage_collection(demo_dir: Path) -> None:
    """A full collection over the models and indexes held the GIL ~260 ms (refusals and /healthz waited)."""
    gc.disable()  # `triage serve` imports and loads with the collector off
    try:
        app = create_app(load_settings(data_dir=demo_dir), freeze_gc=True)  # as `triage serve` builds it
        with TestClient(app) as local:
            assert local.get("/healthz").status_code == 200
            assert gc.get_freeze_count() >= 100_000
            assert gc.isenabled()  # back on once what was loaded is frozen
    finally:
        gc.enable()
    assert gc.get_freeze_count() == 0  # collectable again once the app is gone
