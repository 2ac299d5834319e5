"""Two real uvicorn replicas on one PostgreSQL (issue 16.2, 16.4): what one does, the other serves.

Each replica has its own data folder (its index snapshots) and shares the database and the model
registry folder (`bundles_dir`), as replicas behind a load balancer do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from eval.processes import stop_process
from serving.keys import ALL_SCOPES, KeyStore
from tests.postgres import PostgresServer
from tests.serving.conftest import NETGUARD, _free_port, bearer
from triage.registry import ModelRegistry

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The bound this test holds replicas to (the setting's default poll is 0.25 s; see BENCHMARKS.md for
# the measured latency): generous, as CI shares 2 cores between two servers and the test.
BOUND_SECONDS = 10.0


@dataclass
class Replica:
    name: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path


def _start(name: str, root: Path, url: str, bundles: Path) -> Replica:
    port = _free_port()
    data_dir = root / name
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(NETGUARD), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "NETGUARD_LOG": str(data_dir / "network-attempts.log"),
            "NO_PROXY": "*",
            "TRIAGE_DATABASE": url,
            "TRIAGE_BUNDLES_DIR": str(bundles),
            "TRIAGE_CATCH_UP_INTERVAL": "0.25",
        }
    )
    log = data_dir / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "serving.cli", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    return Replica(name, f"http://127.0.0.1:{port}", process, log)


def _wait_ready(replica: Replica, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if replica.process.poll() is not None:
            pytest.fail(f"replica {replica.name} exited: {replica.log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{replica.base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(
                f"replica {replica.name} not ready within {timeout} s: {replica.log.read_text()[-2000:]}"
            )
        time.sleep(0.5)


def _stop(replica: Replica) -> None:
    stop_process(replica.process)


@pytest.fixture(scope="module")
def replicas(
    demo_dir: Path, postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Replica, Replica, dict[str, str], Path]]:
    root = tmp_path_factory.mktemp("replicas")
    bundles = root / "bundles"
    shutil.copytree(demo_dir / "models", bundles)
    # A second version of the demo model to promote (same weights, its own version name).
    registry = ModelRegistry(bundles)
    active = registry.state("default").active
    assert active is not None
    shutil.copytree(registry.path("default", active), registry.path("default", "demo-v2"))
    manifest_path = registry.path("default", "demo-v2") / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["version"], manifest["parent"] = "demo-v2", active
    manifest_path.write_text(json.dumps(manifest))
    registry.register("default", "demo-v2", activate_if_first=False)
    url = postgres_server.create_database()
    keys = KeyStore(url)
    headers = bearer(keys.create("default", ALL_SCOPES, name="replica test").secret)
    keys.close()
    a = _start("a", root, url, bundles)
    b = _start("b", root, url, bundles)
    try:
        _wait_ready(a)
        _wait_ready(b)
        yield a, b, headers, bundles
    finally:
        _stop(a)
        _stop(b)


def _similar(replica: Replica, headers: dict[str, str], text: str) -> list[str]:
    answer = httpx.post(
        f"{replica.base}/v1/similar", json={"body": text, "k": 5}, headers=headers, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return [c["id"] for c in answer.json()["similar_cases"]]


def _until(check: object, what: str) -> float:
    """Seconds until check() is true, failing past the bound."""
    started = time.monotonic()
    while not check():  # type: ignore[operator]
        if time.monotonic() - started > BOUND_SECONDS:
            pytest.fail(f"{what} not within {BOUND_SECONDS} s")
        time.sleep(0.05)
    return time.monotonic() - started


def test_write_on_a_is_found_on_b_and_delete_on_b_is_gone_on_a(
    replicas: tuple[Replica, Replica, dict[str, str], Path],
) -> None:
    a, b, headers, _ = replicas
    case = {
        "id": "REPL-1",
        "title": "Badge reader at the loading dock rejects every card",
        "body": "The badge reader at the loading dock rejects every card since the firmware update.",
        "resolution": "Rolled the reader firmware back to 4.2 and re-enrolled the dock's cards.",
        "department": "Facilities",
    }
    written = httpx.post(f"{a.base}/v1/cases", json={"cases": [case]}, headers=headers, timeout=60)
    assert written.status_code == 201, written.text
    seconds = _until(
        lambda: "REPL-1" in _similar(b, headers, case["body"]), "the case written on A searchable on B"
    )
    assert seconds < BOUND_SECONDS
    gone = httpx.post(f"{b.base}/v1/cases:delete", json={"ids": ["REPL-1"]}, headers=headers, timeout=60)
    assert gone.status_code == 200 and gone.json()["deleted"] == ["REPL-1"], gone.text
    _until(lambda: "REPL-1" not in _similar(a, headers, case["body"]), "the case deleted on B gone from A")
    ready = httpx.get(f"{a.base}/readyz", timeout=5).json()
    assert (
        ready["status"] == "ready" and ready["catch_up"]["lag_seconds"] < ready["catch_up"]["bound_seconds"]
    )


def test_promote_on_a_is_served_by_b(replicas: tuple[Replica, Replica, dict[str, str], Path]) -> None:
    a, b, headers, _ = replicas
    promoted = httpx.post(f"{a.base}/v1/models/demo-v2/promote", json={}, headers=headers, timeout=60)
    assert promoted.status_code == 200, promoted.text

    def b_serves_v2() -> bool:
        answer = httpx.post(
            f"{b.base}/v1/triage",
            json={"title": "VPN", "body": "VPN error 809 again"},
            headers=headers,
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["model_version"] == "demo-v2")

    _until(b_serves_v2, "the version promoted on A served by B")


def test_sigkill_of_one_replica_during_writes_loses_no_acknowledged_write(
    replicas: tuple[Replica, Replica, dict[str, str], Path],
) -> None:
    """Last in this module: it kills replica A. Writes that A acknowledged are all on B afterwards."""
    a, b, headers, _ = replicas
    acknowledged: list[str] = []
    stop = threading.Event()

    def write() -> None:
        with httpx.Client(timeout=30) as client:
            i = 0
            while not stop.is_set():
                case_id = f"KILL-{i}"
                i += 1
                case = {"id": case_id, "body": f"disk full on build agent {i}", "resolution": "cleaned up"}
                try:
                    answer = client.post(f"{a.base}/v1/cases", json={"cases": [case]}, headers=headers)
                except httpx.TransportError:
                    return  # A is gone: this write was never acknowledged
                if answer.status_code == 201:
                    acknowledged.append(case_id)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for writer in writers:
        writer.start()
    _until(lambda: len(acknowledged) >= 5, "five writes acknowledged by A")
    a.process.kill()  # SIGKILL mid-write
    a.process.wait(timeout=30)
    stop.set()
    for writer in writers:
        writer.join(timeout=60)
    assert acknowledged
    with httpx.Client(timeout=30) as client:
        for case_id in acknowledged:
            answer = client.get(f"{b.base}/v1/cases/{case_id}", headers=headers)
            assert answer.status_code == 200, f"{case_id} acknowledged by A but not on B: {answer.text}"
        assert _similar(b, headers, "disk full on build agent")  # B keeps answering
        assert httpx.get(f"{b.base}/readyz", timeout=5).status_code == 200
