"""Serving fixtures: the real demo (bundled USE-m3, SQLite, FAISS) built once per session."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from embeddings import get_encoder
from serving.app import create_app
from serving.settings import load_settings
from training.demo import build_demo

# Starlette's TestClient sends "Host: testserver"; the in-process apps of the tests trust it too.
# (The live uvicorn server gets no TRIAGE_* variables: it checks the default trusted hosts.)
os.environ.setdefault("TRIAGE_TRUSTED_HOSTS", '["localhost", "127.0.0.1", "::1", "testserver"]')

# Enough tickets for every department and category to be learnt, small enough to build in CI.
TEST_DEMO_TICKETS = 1200
NETGUARD = Path(__file__).parent / "netguard"


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("demo")
    build_demo(data_dir, get_encoder("use-m3"), n_tickets=TEST_DEMO_TICKETS)
    return data_dir


@pytest.fixture(scope="session")
def client(demo_dir: Path) -> Iterator[TestClient]:
    """The app in-process (real models, real SQLite), lifespan run once for the session."""
    app = create_app(load_settings(data_dir=demo_dir))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(demo_dir: Path) -> Iterator[str]:
    """A real uvicorn process serving the demo on a free loopback port; yields its base URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    # The server process refuses (and logs) every connect beyond loopback: see netguard/.
    netlog = demo_dir / "network-attempts.log"
    netlog.write_text("")
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(NETGUARD), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "NETGUARD_LOG": str(netlog),
            "NO_PROXY": "*",
        }
    )
    log = (demo_dir / "server.log").open("w")
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
            if process.poll() is not None:
                pytest.fail(
                    f"server exited with {process.returncode}: {(demo_dir / 'server.log').read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server not ready within 180 s")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
