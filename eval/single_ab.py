"""Single-ticket /v1/triage latency of two checkouts on the same knowledge base, in alternating rounds.

A same-run before/after for a change to the per-ticket path (issue 12.1): each round starts a real
uvicorn process from each checkout in turn (``eval.bench._start_server`` with ``tree``) on the same
data folder, sends the same held-out generated tickets one at a time after a warm-up, and records
p50/p99 of the HTTP round trip and the server's own stage timings. Medians over the rounds; the
order flips every round (ABBA), as the second server of a pair measured slower in trials.

    python -m eval.single_ab --data-dir var-100000 --before /tmp/base --after . --rounds 3

Both checkouts must read the data folder's format (the bench builds it with the current code).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from eval.bench import _start_server, api_key, single_requests
from training.sample_data import generate_tickets

WARM_UP = 30


def measure(data_dir: Path, tree: Path, tickets: Sequence[dict[str, str]], key: str) -> dict[str, Any]:
    """p50/p99 (ms) of single requests to a server running ``tree``'s code, and its stage medians."""
    process, base = _start_server(data_dir, tree=tree)
    try:
        with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {key}"}) as client:
            latencies, stages = single_requests(client, tickets[:WARM_UP], tickets[WARM_UP:])
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "p50": float(np.percentile(latencies, 50)),
        "p99": float(np.percentile(latencies, 99)),
        "stages": {stage: statistics.median(ms) for stage, ms in stages.items()},
    }


def run(data_dir: Path, trees: dict[str, Path], n: int, rounds: int) -> dict[str, list[dict[str, Any]]]:
    key = api_key(data_dir, name="single-ab")
    tickets = [{"title": t["title"], "body": t["body"]} for t in generate_tickets(n + WARM_UP, seed=1)]
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for round_ in range(rounds):
        # ABBA...: whatever drifts over the run (the machine's load, the data folder's write-ahead log
        # growing with the ledger's writes) falls on both checkouts alike.
        order = list(trees.items()) if round_ % 2 == 0 else list(reversed(trees.items()))
        for name, tree in order:
            results[name].append(measure(data_dir, tree, tickets, key))
            last = results[name][-1]
            print(f"{name}: p50 {last['p50']:.2f} ms, p99 {last['p99']:.2f} ms", flush=True)
    return results


def markdown(results: dict[str, list[dict[str, Any]]]) -> str:
    names = list(results)
    lines = [
        "| checkout | p50 per round (ms) | median p50 | median p99 | stage medians (ms) |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        rounds = results[name]
        stages = {s: statistics.median(r["stages"][s] for r in rounds) for s in rounds[0]["stages"]}
        per_round = ", ".join(f"{r['p50']:.1f}" for r in rounds)
        lines.append(
            f"| {name} | {per_round} "
            f"| {statistics.median(r['p50'] for r in rounds):.1f} "
            f"| {statistics.median(r['p99'] for r in rounds):.1f} "
            f"| {', '.join(f'{s} {ms:.2f}' for s, ms in stages.items())} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True, help="a built demo (eval.bench builds one)")
    parser.add_argument("--before", type=Path, required=True, help="the baseline checkout's root")
    parser.add_argument("--after", type=Path, default=Path("."), help="the changed checkout's root")
    parser.add_argument("--tickets", type=int, default=300, help="single requests per server, after warm-up")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds")
    args = parser.parse_args(argv)
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    print(markdown(run(args.data_dir, trees, args.tickets, args.rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
