"""Server processes the benchmarks and end-to-end tests started: their process tree, its memory, stopping them."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
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


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (``/proc/<pid>/task/<tid>/children``)."""
    found, pending = [], [pid]
    while pending:
        member = pending.pop()
        found.append(member)
        for children in Path(f"/proc/{member}/task").glob("*/children"):
            try:
                pending += [int(child) for child in children.read_text().split()]
            except FileNotFoundError:
                continue
    return found


def rss_mib(pid: int) -> list[float]:
    """Resident memory (MiB) of each process of the server's tree (with ``--workers``: the workers,
    the supervisor and multiprocessing's helper), largest first."""
    sizes = []
    for member in process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except FileNotFoundError:
            continue
        kib = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        sizes.append(kib / 1024)
    return sorted(sizes, reverse=True)
