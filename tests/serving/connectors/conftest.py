"""A real uvicorn process with the demo bundle, for the connector end-to-end tests (restartable, killable)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from eval.processes import stop_process
from tests.backend import copy_database, server_env
from tests.serving.conftest import NETGUARD, _free_port


def _copy_data(source: Path, target: Path) -> None:
    """The demo folder, databases copied through SQLite's backup (another server may be writing)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.db", "*.db-wal", "*.db-shm", "*.log"))
    for db in sorted(set(source.glob("*.db")) | {source / "knowledge.db"}):
        copy_database(db, target / db.name)


class Server:
    """``serve`` in its own process; ``kill()`` is SIGKILL, ``start()`` starts it again on the same data."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
        self.env.update(
            {
                "PYTHONPATH": os.pathsep.join([str(NETGUARD), os.environ.get("PYTHONPATH", "")]).rstrip(
                    os.pathsep
                ),
                "NETGUARD_LOG": str(data_dir / "network-attempts.log"),
                "NO_PROXY": "*",
                # Short waits so retries show within a test; the worker's time-out below the stand-in's hang.
                "TRIAGE_CONNECTOR_BACKOFF_SECONDS": "0.3",
                "TRIAGE_CONNECTOR_TIMEOUT_SECONDS": "1.5",
                "TRIAGE_CONNECTOR_MAX_ATTEMPTS": "3",
                # On PostgreSQL a restarted replica takes back only deliveries whose lease ran out
                # (another replica may be mid-delivery): a short lease shows the take-back after a
                # SIGKILL within the test's wait (the default, 60 s, reaped every 30 s, did not).
                "TRIAGE_CONNECTOR_LEASE_SECONDS": "5",
                **server_env(data_dir / "knowledge.db"),
            }
        )

    def start(self) -> None:
        log = (self.data_dir / "server.log").open("a")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "serving.cli",
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 180
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"server exited: {(self.data_dir / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server not ready within 180 s")
            time.sleep(0.3)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=20)


@pytest.fixture(scope="module")
def server(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("connectors") / "data"
    _copy_data(demo_dir, data_dir)
    (data_dir / "network-attempts.log").write_text("")
    running = Server(data_dir)
    running.start()
    try:
        yield running
    finally:
        running.stop()
