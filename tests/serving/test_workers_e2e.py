"""`triage serve --workers 2`: one real uvicorn supervisor, two worker processes, one SQLite database.

What each worker would otherwise hold on its own must hold for the service as a whole: /metrics
reports the totals of both, a key's rate limit is its rate once (not once per worker), a case
written through one worker is found through the other, a console session from one is accepted by
the other, and stopping the server leaves no worker and no run folder behind.

A keep-alive connection stays with the worker that accepted it, so each test holds one client per
worker (``/readyz`` says which process answered).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from eval.processes import stop_process
from serving.keys import ALL_SCOPES, KeyStore, key_id_of
from tests.serving.conftest import NETGUARD, _free_port, bearer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    # The demo's SQLite file is copied with sqlite3's backup and the workers share it in WAL mode;
    # several processes on one PostgreSQL database are test_replicas_e2e's.
    pytest.mark.sqlite_only("the workers share a copy of the demo's SQLite file (WAL)"),
]

WORKERS = 2
# Generous bounds: CI shares 2 cores between two workers loading models and the test.
READY_SECONDS = 300.0
CATCH_UP_SECONDS = 10.0
RATE_BURST = 4  # the read bucket: 4 requests, then about one an hour


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log: Path
    temp: Path  # the server's TMPDIR: its run folder is made there
    data_dir: Path


def _copy_demo(demo_dir: Path, target: Path) -> None:
    """The demo's models and indexes, and its database through SQLite's backup (consistent even if
    another test's server has it open)."""
    shutil.copytree(demo_dir, target, ignore=shutil.ignore_patterns("knowledge.db*", "*.log"))
    source = sqlite3.connect(demo_dir / "knowledge.db")
    copy = sqlite3.connect(target / "knowledge.db")
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()


def _pid(client: httpx.Client) -> int:
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["worker"]["pid"])


def _fail(server: Server, what: str) -> None:
    pytest.fail(f"{what}: {server.log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def server(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("workers")
    data_dir = root / "demo"
    _copy_demo(demo_dir, data_dir)
    temp = root / "tmp"
    temp.mkdir()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(NETGUARD), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "NETGUARD_LOG": str(root / "network-attempts.log"),
            "NO_PROXY": "*",
            "TMPDIR": str(temp),
            "TRIAGE_CATCH_UP_INTERVAL": "0.25",
            "TRIAGE_RATE_LIMITS": json.dumps(
                {
                    "triage": {"per_second": 0, "burst": 1},
                    "write": {"per_second": 0, "burst": 1},
                    "read": {"per_second": 0.0003, "burst": RATE_BURST},
                }
            ),
        }
    )
    log = root / "server.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "serving.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    running = Server(f"http://127.0.0.1:{port}", process, log, temp, data_dir)
    try:
        _wait_for_workers(running)
        yield running
    finally:
        stop_process(process, timeout=60)


def _wait_for_workers(server: Server, exclude: Collection[int] = ()) -> set[int]:
    """Every worker ready: /readyz answered 200 from WORKERS distinct processes (none in ``exclude``)."""
    seen: set[int] = set()
    deadline = time.monotonic() + READY_SECONDS
    while len(seen) < WORKERS:
        if server.process.poll() is not None:
            _fail(server, f"server exited with {server.process.returncode}")
        if time.monotonic() > deadline:
            _fail(server, f"{len(seen)} of {WORKERS} workers ready within {READY_SECONDS:.0f} s")
        try:
            answer = httpx.get(f"{server.base}/readyz", timeout=5)  # a new connection each time
            if answer.status_code == 200 and int(answer.json()["worker"]["pid"]) not in exclude:
                seen.add(int(answer.json()["worker"]["pid"]))
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    return seen


@pytest.fixture(scope="module")
def per_worker(server: Server) -> Iterator[list[httpx.Client]]:
    """One keep-alive client on each worker (new connections until every worker accepted one)."""
    clients: dict[int, httpx.Client] = {}
    spare: list[httpx.Client] = []
    deadline = time.monotonic() + 60
    while len(clients) < WORKERS:
        assert time.monotonic() < deadline, f"only {len(clients)} workers accepted a connection in 60 s"
        client = httpx.Client(base_url=server.base, timeout=60)
        pid = _pid(client)
        if pid in clients:
            spare.append(client)
        else:
            clients[pid] = client
    for client in spare:
        client.close()
    try:
        yield list(clients.values())
    finally:
        for client in clients.values():
            client.close()


@pytest.fixture(scope="module")
def make_key(server: Server) -> Iterator[Callable[[str], str]]:
    """make_key(name): a new key of tenant 'default' with every scope (its own token buckets)."""
    store = KeyStore(server.data_dir / "knowledge.db")
    try:
        yield lambda name: store.create("default", ALL_SCOPES, name=name).secret
    finally:
        store.close()


def _metric(text: str, name: str, **labels: str) -> float:
    """The sum of a family's samples whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[: line.rindex("}")]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_every_worker_answers_and_metrics_report_the_totals_of_all(
    server: Server, per_worker: list[httpx.Client]
) -> None:
    pids = {_pid(client) for client in per_worker}
    assert len(pids) == WORKERS and server.process.pid not in pids
    before = per_worker[0].get("/metrics").text
    for client in per_worker:  # 5 requests through each worker
        for _ in range(5):
            assert client.get("/healthz").status_code == 200
    # Asked of either worker, /metrics counts the requests both served.
    for client in per_worker:
        after = client.get("/metrics").text
        served = _metric(after, "triage_requests_total", route="/healthz") - _metric(
            before, "triage_requests_total", route="/healthz"
        )
        assert served == 5 * WORKERS
        live = set(re.findall(r'triage_worker_started_seconds\{pid="(\d+)"\}', after))
        assert live == {str(pid) for pid in pids}


def test_a_keys_rate_limit_holds_across_workers(
    per_worker: list[httpx.Client], make_key: Callable[[str], str]
) -> None:
    headers = bearer(make_key("rate limit test"))
    statuses = []
    for _ in range(RATE_BURST):  # alternating workers: each would allow the whole burst on its own
        for client in per_worker:
            statuses.append(client.get("/v1/cases", params={"limit": 1}, headers=headers).status_code)
    assert statuses.count(200) == RATE_BURST, statuses
    assert statuses.count(429) == RATE_BURST * (WORKERS - 1), statuses


def test_a_case_written_through_one_worker_is_found_through_the_other(
    per_worker: list[httpx.Client], make_key: Callable[[str], str]
) -> None:
    headers = bearer(make_key("catch-up test"))
    writer, reader = per_worker[0], per_worker[1]
    case = {
        "id": "WORKERS-1",
        "title": "Badge reader at the loading dock rejects every card",
        "body": "The badge reader at the loading dock rejects every card since the firmware update.",
        "resolution": "Rolled the reader firmware back to 4.2 and re-enrolled the dock's cards.",
        "department": "Facilities",
    }
    written = writer.post("/v1/cases", json={"cases": [case]}, headers=headers)
    assert written.status_code == 201, written.text
    started = time.monotonic()
    while True:  # the other worker's indexes follow the database's change log (catch_up_interval)
        similar = reader.post("/v1/similar", json={"body": case["body"], "k": 5}, headers=headers)
        assert similar.status_code == 200, similar.text
        if "WORKERS-1" in [hit["id"] for hit in similar.json()["similar_cases"]]:
            break
        assert time.monotonic() - started < CATCH_UP_SECONDS, "not searchable through the other worker"
        time.sleep(0.05)
    gone = reader.delete("/v1/cases/WORKERS-1", headers=headers)
    assert gone.status_code == 204, gone.text
    while True:
        similar = writer.post("/v1/similar", json={"body": case["body"], "k": 5}, headers=headers)
        if "WORKERS-1" not in [hit["id"] for hit in similar.json()["similar_cases"]]:
            break
        assert time.monotonic() - started < 2 * CATCH_UP_SECONDS, "deleted, still found through the writer"
        time.sleep(0.05)


def test_a_console_session_from_one_worker_is_accepted_by_the_other(per_worker: list[httpx.Client]) -> None:
    session = per_worker[0].get("/console/session")
    assert session.status_code == 200, session.text
    token = session.json()["key"]
    for client in per_worker:
        assert client.get("/v1/cases", headers=bearer(token)).status_code == 200
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert per_worker[1].get("/v1/cases", headers=bearer(forged)).status_code == 401


def test_a_key_revoked_through_one_worker_is_refused_by_the_other(
    per_worker: list[httpx.Client], make_key: Callable[[str], str]
) -> None:
    admin, doomed = bearer(make_key("revoking admin")), make_key("to be revoked")
    ticket = {"body": "The VPN drops every ten minutes since the update.", "k": 1}
    other = per_worker[1]
    assert other.post("/v1/similar", json=ticket, headers=bearer(doomed)).status_code == 200
    revoked = per_worker[0].delete(f"/v1/keys/{key_id_of(doomed)}", headers=admin)
    assert revoked.status_code == 200, revoked.text
    started = time.monotonic()  # the other worker reads keys again within catch_up_interval
    while other.post("/v1/similar", json=ticket, headers=bearer(doomed)).status_code != 401:
        assert time.monotonic() - started < CATCH_UP_SECONDS, "the revoked key still served"
        time.sleep(0.05)


def test_a_killed_worker_is_replaced_and_its_counts_stay_in_the_totals(
    server: Server, per_worker: list[httpx.Client]
) -> None:
    survivor, victim = per_worker
    victim_pid = _pid(victim)
    before = _metric(survivor.get("/metrics").text, "triage_requests_total", route="/healthz")
    assert before >= 5 * WORKERS  # the first test's requests, served by both
    victim.close()
    os.kill(victim_pid, signal.SIGKILL)
    pids = _wait_for_workers(server, exclude={victim_pid})  # the supervisor starts a new one
    text = survivor.get("/metrics").text
    assert _metric(text, "triage_requests_total", route="/healthz") >= before
    live = {int(p) for p in re.findall(r'triage_worker_started_seconds\{pid="(\d+)"\}', text)}
    assert live == pids and victim_pid not in live


def test_stopping_the_server_stops_every_worker_and_removes_the_run_folder(
    server: Server, per_worker: list[httpx.Client]
) -> None:
    pids = _wait_for_workers(server)
    runs = list(server.temp.glob(f"triage-serve-{server.process.pid}-*"))
    assert len(runs) == 1 and (runs[0] / "metrics").is_dir()
    for client in per_worker:
        client.close()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=60) == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"worker {pid} outlived its server"
    assert not runs[0].exists()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
