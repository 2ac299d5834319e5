"""Cold start (issue 12.4): process start to ``/readyz`` 200, and resident memory when ready.

Run ``python -m eval.coldstart [--rounds 5] [--baseline TREE] --out BENCHMARKS.md`` (``make bench``
runs it). Each round starts ``python -m serving.cli serve --data-dir DIR`` as a fresh process, polls
``/readyz`` every 20 ms until it answers 200, reads the VmRSS of its processes (the server and its encoder process) and whether torch is mapped
into it, and stops it. ``--baseline`` names another checkout (a git worktree) whose code is started
on its own copy of the demo in alternating rounds, so both are measured under the same load.

``--workers N`` starts ``serve --workers N`` (this checkout only) and waits until every worker has
answered ``/readyz`` 200 (each on its own connection), reporting the first and the last worker's
time, and the resident memory of every process of the server (supervisor and workers), into its
own section ("coldstart-workers").
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from embeddings import get_encoder
from eval.bench import _free_port as free_port
from eval.bench import api_key, serve_command, single_requests
from eval.processes import process_tree, stop_process
from eval.report import publish, stamp
from training.demo import build_demo

POLL_SECONDS = 0.02


def memory(pid: int | None) -> dict[str, float]:
    """A process's VmRSS, RssAnon and VmHWM (peak resident size) in MiB (Linux ``/proc``); None: this one."""
    status = Path(f"/proc/{pid if pid is not None else 'self'}/status").read_text()
    fields = {}
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return {"rss": fields["VmRSS"], "anon": fields["RssAnon"], "hwm": fields["VmHWM"]}


def tree_memory(pid: int) -> dict[str, float]:
    """:func:`memory` summed over the server's process tree (the server and its encoder process), with
    ``processes``, how many; the peak is the sum of each process's own peak (an upper bound)."""
    members = [memory(member) for member in process_tree(pid)]
    total = {name: sum(m[name] for m in members) for name in ("rss", "anon", "hwm")}
    return total | {"processes": float(len(members))}


def launch(
    data_dir: Path, tree: Path | None = None, timeout: float = 1800, workers: int = 1
) -> tuple[subprocess.Popen[bytes], str, float]:
    """Start the server on ``data_dir`` (``tree``: another checkout's code; ``workers``: server
    processes); (process, base URL, seconds from the process's start to the first ``/readyz`` 200)."""
    port = free_port()
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree.resolve())
    if workers > 1:
        env["TRIAGE_WORKERS"] = str(workers)
    started = time.perf_counter()
    process = subprocess.Popen(
        serve_command(data_dir, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=tree,
    )
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(timeout=5) as client:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                raise SystemExit(f"server on {data_dir} exited with code {process.returncode}")
            try:
                if client.get(f"{base}/readyz").status_code == 200:
                    return process, base, time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(POLL_SECONDS)
    process.kill()
    raise SystemExit(f"server on {data_dir} not ready within {timeout:.0f} s")


def _torch_loaded(pid: int) -> bool:
    return "torch" in Path(f"/proc/{pid}/maps").read_text()


# Two tickets sent right after ``/readyz`` first answers 200: readiness must mean ready, so the first
# request pays no load left for it (a model, a dictionary, a cache) and costs about what the second does.
FIRST_TICKETS = (
    {"title": "打印机卡纸", "body": "Printer on floor 3 jams on every page since this morning, 请尽快处理"},
    {"title": "VPN drops", "body": "VPN 连接每隔十分钟断开 error 800 on laptop LT-2231, Outlook offline"},
)


def _first_requests(base: str, key: str) -> list[float]:
    """Milliseconds of each of ``FIRST_TICKETS`` over HTTP, one after the other."""
    with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {key}"}) as client:
        return single_requests(client, [], FIRST_TICKETS)[0]


def all_workers_ready(base: str, workers: int, started: float, timeout: float = 1800) -> float:
    """Seconds from ``started`` until ``workers`` distinct worker processes have answered ``/readyz``
    200, each asked on a new connection (a keep-alive one stays with one worker)."""
    seen: set[int] = set()
    while len(seen) < workers:
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"{len(seen)} of {workers} workers ready within {timeout:.0f} s")
        try:
            answer = httpx.get(f"{base}/readyz", timeout=5)
            if answer.status_code == 200:
                seen.add(int(answer.json()["worker"]["pid"]))
        except httpx.TransportError:
            pass
        time.sleep(POLL_SECONDS)
    return time.perf_counter() - started


def one_start(
    data_dir: Path, tree: Path | None = None, key: str | None = None, workers: int = 1
) -> dict[str, Any]:
    """One cold start; with ``key`` (a triage key of the folder) also the first two requests' times."""
    started = time.perf_counter()
    process, base, seconds = launch(data_dir, tree, workers=workers)
    try:
        every = all_workers_ready(base, workers, started) if workers > 1 else seconds
        sizes = [memory(pid)["rss"] for pid in process_tree(process.pid)]
        torch = any(_torch_loaded(pid) for pid in process_tree(process.pid))
        first = _first_requests(base, key) if key is not None else []
    finally:
        stop_process(process, signal.SIGINT, timeout=60)
    return {
        "seconds": seconds,
        "all_ready_seconds": every,
        "rss_mib": sum(sizes),  # the server and its encoder process, or the workers and the supervisor
        "process_rss_mib": sorted(sizes, reverse=True),
        "torch": torch,
        "first_ms": first,
    }


def baseline_demo(data_dir: Path, tree: Path) -> Path:
    """The demo as another checkout builds it, next to ``data_dir`` (built once, then reused).

    Built by that checkout's own code in a subprocess, not copied from this checkout's demo: the two
    may store their model bundles in different formats (a server may also migrate what it opens).
    """
    other = data_dir.with_name(f"{data_dir.name}-coldstart-baseline")
    code = (
        "import sys\nfrom pathlib import Path\nfrom embeddings import get_encoder\n"
        "from training.demo import build_demo\nbuild_demo(Path(sys.argv[1]), get_encoder('use-m3'))\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(other.resolve())],
        env=dict(os.environ, PYTHONPATH=str(tree.resolve())),
        cwd=tree,  # ``-c`` puts the working folder first on the path
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return other


def run(
    data_dir: Path, rounds: int, baseline: Path | None = None, workers: int = 1
) -> dict[str, list[dict[str, Any]]]:
    """``rounds`` cold starts of this checkout (and, alternating, of ``baseline``) on the demo;
    ``workers``: this checkout's server with that many worker processes."""
    build_demo(data_dir, get_encoder("use-m3"))
    setups: list[tuple[str, Path, Path | None]] = [("this checkout", data_dir, None)]
    if baseline is not None:
        setups.append((f"baseline ({baseline})", baseline_demo(data_dir, baseline), baseline))
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in setups}
    keys = {folder: api_key(folder, name="coldstart") for _, folder, _ in setups}
    one_start(data_dir)  # one unmeasured start: file caches warm, as on a restart
    for _ in range(rounds):
        for name, folder, tree in setups:
            results[name].append(one_start(folder, tree, keys[folder], workers if tree is None else 1))
    return results


def workers_markdown(results: dict[str, list[dict[str, Any]]], command: str, workers: int) -> str:
    """Cold start with ``workers`` server processes: first and last worker ready, memory by process."""
    runs = next(iter(results.values()))
    per_process = [r["process_rss_mib"] for r in runs]
    lines = [
        f"## Cold start with {workers} worker processes (`serve --workers {workers}`)\n",
        stamp(command),
        f"- `python -m serving.cli serve --data-dir DEMO` with `TRIAGE_WORKERS={workers}`, a fresh server "
        "each round (one unmeasured start first); the workers load their models at the same time. "
        "'first ready': the first `/readyz` 200; 'all ready': every worker has answered 200 on a connection "
        "of its own. Memory: VmRSS of every process of the server when all are ready (the workers, "
        "uvicorn's supervisor and multiprocessing's helper).\n",
        "| runs: all ready (s) | first ready (median) | all ready (median) | RSS, all processes (median) "
        "| RSS by process, largest first (median) | torch in any process | goal (all ready) |",
        "|---|---|---|---|---|---|---|",
        "| " + ", ".join(f"{r['all_ready_seconds']:.2f}" for r in runs) + " | "
        f"{statistics.median(r['seconds'] for r in runs):.2f} s | "
        f"**{statistics.median(r['all_ready_seconds'] for r in runs):.2f} s** | "
        f"{statistics.median(r['rss_mib'] for r in runs):,.0f} MiB | "
        + ", ".join(
            f"{statistics.median(p[i] for p in per_process if len(p) > i):,.0f}"
            for i in range(max(len(p) for p in per_process))
        )
        + f" MiB | {'yes' if any(r['torch'] for r in runs) else 'no'} | ≤ 5 s |",
    ]
    return "\n".join(lines) + "\n"


def markdown(results: dict[str, list[dict[str, Any]]], command: str) -> str:
    lines = [
        "## Cold start: process start to `/readyz` 200 (issue 12.4)\n",
        stamp(command),
        "- `python -m serving.cli serve --data-dir DEMO`, a fresh process each round (one unmeasured start "
        f"first, so the file cache is warm as on a restart); `/readyz` polled every {POLL_SECONDS * 1000:.0f} ms; "
        "RSS (VmRSS, summed over the server and its encoder process) read when it first answers 200; then two real-looking tickets are sent to `/v1/triage`, "
        "one after the other (readiness means ready: the first pays no load). Setups alternate round by round.\n",
        "| checkout | runs (s) | median | RSS when ready (median) | 1st / 2nd request after ready (median) "
        "| torch in the process | goal |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        seconds = [r["seconds"] for r in runs]
        timed = [r["first_ms"] for r in runs if len(r.get("first_ms", [])) >= 2]
        first = (
            f"{statistics.median(t[0] for t in timed):.1f} / {statistics.median(t[1] for t in timed):.1f} ms"
            if timed
            else "not measured"
        )
        lines.append(
            f"| {name} | {', '.join(f'{s:.2f}' for s in seconds)} | **{statistics.median(seconds):.2f} s** | "
            f"{statistics.median(r['rss_mib'] for r in runs):,.0f} MiB | {first} | "
            f"{'yes' if any(r['torch'] for r in runs) else 'no'} | ≤ 5 s |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("var"), help="the demo (built if absent)")
    parser.add_argument("--rounds", type=int, default=5, help="measured starts per checkout")
    parser.add_argument("--baseline", type=Path, help="another checkout started in alternating rounds")
    parser.add_argument("--out", type=Path, help="update this BENCHMARKS.md")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (serve --workers N); own section when > 1"
    )
    args = parser.parse_args(argv)
    if args.workers > 1 and args.baseline:
        parser.error("--workers measures this checkout alone; leave out --baseline")
    results = run(args.data_dir, args.rounds, args.baseline, args.workers)
    command = f"python -m eval.coldstart --rounds {args.rounds}" + (
        f" --baseline {args.baseline}" if args.baseline else ""
    )
    if args.workers > 1:
        command += f" --workers {args.workers}"
        text = workers_markdown(results, command, args.workers)
        publish(text, "coldstart-workers", args.out, args.json, results)
        return
    text = markdown(results, command)
    publish(text, "coldstart", args.out, args.json, results)


if __name__ == "__main__":
    main()
