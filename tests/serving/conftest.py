"""Serving fixtures: the real demo (bundled USE-m3, SQLite, FAISS) built once per session."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from embeddings import get_encoder
from eval.processes import stop_process
from serving.app import create_app
from serving.keys import ALL_SCOPES, KeyStore
from serving.settings import load_settings
from tests.backend import server_env
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


KeyMaker = Callable[..., str]


@pytest.fixture(scope="session")
def make_key(demo_dir: Path) -> Iterator[KeyMaker]:
    """Creates a real API key in the demo database: make_key(tenant, scopes=ALL, expires=None) -> secret."""
    store = KeyStore(load_settings(data_dir=demo_dir).database_path)

    def make(
        tenant: str = "default",
        scopes: tuple[str, ...] | list[str] = ALL_SCOPES,
        expires: datetime | None = None,
        name: str = "test",
    ) -> str:
        return store.create(tenant, scopes, name=name, expires=expires).secret

    yield make
    store.close()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="session")
def admin_key(make_key: KeyMaker) -> str:
    """A key of tenant 'default' with every scope."""
    return make_key("default", name="test admin")


@pytest.fixture(scope="session")
def other_key(make_key: KeyMaker) -> str:
    """A key of another tenant ('other') with every scope: it must never see tenant 'default'."""
    return make_key("other", name="other tenant admin")


@pytest.fixture(scope="session")
def client(demo_dir: Path, admin_key: str) -> Iterator[TestClient]:
    """The app in-process (real models, real SQLite), lifespan run once for the session.

    Every request carries an all-scopes key of tenant 'default' unless it sets its own headers.
    """
    app = create_app(load_settings(data_dir=demo_dir))
    with TestClient(app, raise_server_exceptions=False, headers=bearer(admin_key)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def anonymous(client: TestClient) -> TestClient:
    """The same app (already loaded), without any key."""
    return TestClient(client.app, raise_server_exceptions=False)


TenantClient = Callable[[str], TestClient]


@pytest.fixture(scope="session")
def tenant_client(client: TestClient, make_key: KeyMaker) -> TenantClient:
    """tenant_client(t): a client of the same app whose every request carries an all-scopes key of tenant t."""
    clients: dict[str, TestClient] = {}

    def of(tenant: str) -> TestClient:
        if tenant not in clients:
            secret = make_key(tenant, name=f"test {tenant}")
            clients[tenant] = TestClient(client.app, raise_server_exceptions=False, headers=bearer(secret))
        return clients[tenant]

    return of


@pytest.fixture(scope="session")
def live_headers(make_key: KeyMaker) -> dict[str, str]:
    """Headers with an all-scopes key of tenant 'default' for the live server."""
    return bearer(make_key("default", name="live server test"))


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
            **server_env(demo_dir / "knowledge.db"),
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
        stop_process(process, timeout=20)
        log.close()
