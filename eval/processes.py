"""Stopping a server process the benchmarks and end-to-end tests started."""

from __future__ import annotations

import signal
import subprocess
from typing import Any


def stop_process(process: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
    """Ask ``process`` to stop with ``sig`` (a graceful stop: the lifespan flushes the index snapshots and
    the supervisor stops its workers); kill it if it has not ended within ``timeout`` seconds.
    Nothing happens to a process that has already ended."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
