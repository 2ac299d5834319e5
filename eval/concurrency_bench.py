"""Throughput under concurrent clients: 1, 8 and 32 clients calling /v1/triage on a real uvicorn process.

Run by ``make bench`` (or ``python -m eval.concurrency_bench --out BENCHMARKS.md``). Real ticket texts
from the shared datasets' test splits (itsm English, cn-ict Chinese, 3 : 1); each client sends its
share one request at a time. Rounds alternate the client counts, so every count sees the same load.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

from embeddings import get_encoder
from eval.bench import _start_server, api_key
from eval.profile_bench import real_tickets
from eval.report import DEFAULT_DATASETS, missing_datasets, stamp, update_section
from training.demo import build_demo
from triage.types import Ticket

CLIENTS = (1, 8, 32)


def one_round(base: str, key: str, payloads: Sequence[dict[str, str]], clients: int) -> dict[str, float]:
    """``clients`` concurrent clients share the payloads; tickets/s, p50, p99 (ms) and errors."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    local = threading.local()

    def send(payload: dict[str, str]) -> None:
        nonlocal errors
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(
                base_url=base, timeout=120, headers={"Authorization": f"Bearer {key}"}
            )
        started = time.perf_counter()
        try:
            ok = client.post("/v1/triage", json=payload).status_code == 200
        except httpx.HTTPError:
            ok = False
        ms = (time.perf_counter() - started) * 1000
        with lock:
            latencies.append(ms)
            errors += not ok

    with ThreadPoolExecutor(max_workers=clients) as pool:
        started = time.perf_counter()
        list(pool.map(send, payloads))
        elapsed = time.perf_counter() - started
    values = np.asarray(latencies)
    return {
        "tickets_per_s": len(payloads) / elapsed,
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "errors": float(errors),
    }


Results = dict[int, list[dict[str, float]]]


def run(
    datasets: Path, data_dir: Path, n: int, rounds: int, baseline: Path | None = None
) -> dict[str, Results]:
    """Rounds of 1/8/32 clients against this checkout ("current") and, when ``baseline`` names
    another checkout, against a server running its code on a copy of the same demo, round by round."""
    build_demo(data_dir, get_encoder("use-m3"))
    tickets: list[Ticket] = real_tickets(datasets, n)
    payloads = [{"title": t.title, "body": t.body} for t in tickets]
    servers: dict[str, tuple[Path, Path | None]] = {"current": (data_dir, None)}
    if baseline is not None:
        copy = data_dir.with_name(data_dir.name + "-baseline")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(data_dir, copy)
        servers["baseline"] = (copy, baseline)
    results: dict[str, Results] = {name: {c: [] for c in CLIENTS} for name in servers}
    started: dict[str, tuple[subprocess.Popen[bytes], str, str]] = {}
    try:
        for name, (folder, tree) in servers.items():
            key = api_key(folder)
            process, base = _start_server(folder, tree)
            started[name] = (process, base, key)
            warm = one_round(base, key, payloads[:30], 4)
            if warm["errors"]:
                raise SystemExit(
                    f"{warm['errors']:.0f} of 30 warm-up requests failed: is the API key accepted?"
                )
        for _ in range(rounds):
            for clients in CLIENTS:
                for name, (_, base, key) in started.items():
                    results[name][clients].append(one_round(base, key, payloads, clients))
    finally:
        for process, _, _ in started.values():
            process.terminate()
            process.wait(timeout=30)
    return results


def markdown(runs: dict[str, Results], n: int, command: str) -> str:
    results = runs["current"]

    def median(clients: int, key: str, of: Results = results) -> float:
        return statistics.median(r[key] for r in of[clients])

    base = median(1, "tickets_per_s")
    lines = [
        "## Serving under concurrent clients: /v1/triage (real uvicorn process, real tickets)\n",
        stamp(command),
        f"- {n} real test-split tickets (itsm English : cn-ict Chinese = 3 : 1, ../shared/datasets) per round; "
        f"{len(results[1])} rounds alternating 1, 8 and 32 clients (medians over rounds); each client sends "
        "one request at a time on its own keep-alive connection.",
        "- The machine was shared with other engineers' work: compare the rows with each other, not with "
        "other sections.\n",
        "| clients | tickets/s | vs 1 client | p50 ms | p99 ms | errors (all rounds) |",
        "|---|---|---|---|---|---|",
    ]
    for clients in CLIENTS:
        rate = median(clients, "tickets_per_s")
        errors = sum(r["errors"] for r in results[clients])
        lines.append(
            f"| {clients} | {rate:.1f} | {rate / base:.2f}x | {median(clients, 'p50_ms'):.1f} | "
            f"{median(clients, 'p99_ms'):.1f} | {errors:.0f} |"
        )
    if "baseline" in runs:
        before = runs["baseline"]
        lines += [
            "\nSame run, the baseline checkout's server on a copy of the same demo, its rounds interleaved "
            "with the ones above:\n",
            "| clients | baseline tickets/s | current / baseline | baseline p50 ms | baseline p99 ms | errors |",
            "|---|---|---|---|---|---|",
        ]
        for clients in CLIENTS:
            rate = median(clients, "tickets_per_s", before)
            errors = sum(r["errors"] for r in before[clients])
            lines.append(
                f"| {clients} | {rate:.1f} | {median(clients, 'tickets_per_s') / rate:.2f}x | "
                f"{median(clients, 'p50_ms', before):.1f} | {median(clients, 'p99_ms', before):.1f} | {errors:.0f} |"
            )
    lines.append(
        "\nTarget (issue 12.5): tickets/s never falls as clients are added (8 clients ≥ 1 client, aim 1.5x), "
        "p99 bounded, no errors."
    )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS, help="the shared datasets folder")
    parser.add_argument(
        "--data-dir", type=Path, default=Path("var"), help="where the demo lives (built if absent)"
    )
    parser.add_argument("--tickets", type=int, default=192, help="tickets per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of 1/8/32 clients")
    parser.add_argument(
        "--baseline", type=Path, help="another checkout (e.g. a worktree of main) measured in the same run"
    )
    parser.add_argument("--out", type=Path, help="update the 'concurrency' section of this BENCHMARKS.md")
    args = parser.parse_args(argv)
    if missing_datasets(args.datasets):
        return 2
    results = run(args.datasets, args.data_dir, args.tickets, args.rounds, args.baseline)
    command = (
        "make bench"
        if args.baseline is None
        else " ".join(["python -m eval.concurrency_bench", *(argv or sys.argv[1:])])
    )
    text = markdown(results, args.tickets, command)
    print(text)
    if args.out:
        update_section(args.out, "concurrency", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
