"""How late an asyncio event loop runs while threads burn the GIL, at several switch intervals.

The server answers 503s, 429s and ``/healthz`` from its event loop while up to ``max_in_flight``
inference threads run Python code; each time the loop wants the GIL back it waits for the running
thread to hand it over, which CPython asks for every ``sys.getswitchinterval()`` seconds (5 ms by
default). This measures the loop's lateness (a 2 ms sleep, minus 2 ms) and the threads' work per
second at each interval, alternating the intervals in one run so a shared machine's load hits all
of them alike. The server's ``gil_switch_interval_ms`` setting (default 0.5) was picked from it.

    python -m eval.loop_latency --threads 4 --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time

import numpy as np


def _burn(stop: threading.Event, done: list[int]) -> None:
    x = 0
    while not stop.is_set():
        for i in range(1000):
            x += i * i
        done[0] += 1


async def _lateness(samples: int, sleep: float) -> list[float]:
    late = []
    for _ in range(samples):
        started = time.perf_counter()
        await asyncio.sleep(sleep)
        late.append(time.perf_counter() - started - sleep)
    return late


def measure(interval: float, threads: int, samples: int) -> tuple[float, float, float]:
    """Loop lateness p50 and p99 (seconds) and the threads' work units per second."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    done = [0]
    stop = threading.Event()
    workers = [threading.Thread(target=_burn, args=(stop, done)) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    try:
        late = asyncio.run(_lateness(samples, 0.002))
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        sys.setswitchinterval(previous)
    elapsed = time.perf_counter() - started
    return float(np.percentile(late, 50)), float(np.percentile(late, 99)), done[0] / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--threads", type=int, default=4, help="busy threads (the default in-flight bound on 2 cores)"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--intervals-ms", default="5,1,0.5,0.2")
    args = parser.parse_args()
    intervals = [float(v) / 1000 for v in args.intervals_ms.split(",")]
    rows: dict[float, list[tuple[float, float, float]]] = {i: [] for i in intervals}
    for _ in range(args.rounds):
        for interval in intervals:
            rows[interval].append(measure(interval, args.threads, args.samples))
    print(f"| switch interval | loop late p50 | loop late p99 | work/s ({args.threads} threads) |")
    print("|---|---|---|---|")
    for interval, results in rows.items():
        p50 = " / ".join(f"{r[0] * 1000:.1f}" for r in results)
        p99 = " / ".join(f"{r[1] * 1000:.1f}" for r in results)
        work = " / ".join(f"{r[2]:.0f}" for r in results)
        print(f"| {interval * 1000:g} ms | {p50} ms | {p99} ms | {work} |")


if __name__ == "__main__":
    main()
