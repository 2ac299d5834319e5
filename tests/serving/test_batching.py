"""Micro-batching of concurrent /v1/triage requests: the batcher itself, then the real server."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from serving.batching import BatchSettings, MicroBatcher


class Doubler:
    """A batch function that records the batches it got and takes ``seconds`` per call."""

    def __init__(self, seconds: float = 0.0, bad: int | None = None) -> None:
        self.seconds = seconds
        self.bad = bad
        self.batches: list[list[int]] = []
        self.lock = threading.Lock()

    def __call__(self, items: Sequence[int]) -> list[int]:
        with self.lock:
            self.batches.append(list(items))
        time.sleep(self.seconds)
        if self.bad is not None and self.bad in items:
            raise ValueError(f"item {self.bad} is bad")
        return [2 * i for i in items]


def test_requests_that_wait_for_a_busy_worker_form_one_batch() -> None:
    work = Doubler(seconds=0.05)
    batcher = MicroBatcher(work, BatchSettings(max_batch=8, workers=1))

    async def main() -> list[int]:
        first = asyncio.ensure_future(batcher.submit(0))
        await asyncio.sleep(0.01)  # the first batch is running: the next ones queue behind it
        rest = [asyncio.ensure_future(batcher.submit(i)) for i in range(1, 11)]
        return list(await asyncio.gather(first, *rest))

    assert asyncio.run(main()) == [2 * i for i in range(11)]
    # A lone request starts alone at once; the ten that waited go in batches of at most 8, in order.
    assert work.batches == [[0], [1, 2, 3, 4, 5, 6, 7, 8], [9, 10]]


def test_a_lone_request_does_not_wait_without_a_window() -> None:
    work = Doubler()
    batcher = MicroBatcher(work, BatchSettings(max_batch=8, workers=2))

    async def main() -> float:
        started = time.perf_counter()
        assert await batcher.submit(21) == 42
        return time.perf_counter() - started

    assert asyncio.run(main()) < 0.5  # a window would be the only wait; none is set
    assert work.batches == [[21]]


def test_a_window_gathers_requests_that_arrive_within_it() -> None:
    work = Doubler()
    batcher = MicroBatcher(work, BatchSettings(max_batch=8, workers=2, window=0.2))

    async def main() -> list[int]:
        futures = []
        for i in range(3):
            futures.append(asyncio.ensure_future(batcher.submit(i)))
            await asyncio.sleep(0.01)
        return list(await asyncio.gather(*futures))

    assert asyncio.run(main()) == [0, 2, 4]
    assert work.batches == [[0, 1, 2]]


def test_a_full_batch_does_not_wait_for_the_window() -> None:
    work = Doubler()
    batcher = MicroBatcher(work, BatchSettings(max_batch=2, workers=1, window=30.0))

    async def main() -> list[int]:
        return list(await asyncio.wait_for(asyncio.gather(*(batcher.submit(i) for i in range(2))), 10))

    assert asyncio.run(main()) == [0, 2]


def test_one_bad_item_fails_only_its_own_request() -> None:
    work = Doubler(seconds=0.02, bad=3)
    batcher = MicroBatcher(work, BatchSettings(max_batch=8, workers=1))

    async def main() -> list[Any]:
        first = asyncio.ensure_future(batcher.submit(0))
        await asyncio.sleep(0.005)
        rest = [asyncio.ensure_future(batcher.submit(i)) for i in range(1, 6)]
        return list(await asyncio.gather(first, *rest, return_exceptions=True))

    results = asyncio.run(main())
    assert results[:3] == [0, 2, 4] and results[4:] == [8, 10]
    assert isinstance(results[3], ValueError) and "item 3 is bad" in str(results[3])
    assert [1, 2, 3, 4, 5] in work.batches  # the batch was tried whole first, then item by item
    assert [3] in work.batches


def test_a_request_cancelled_before_its_batch_starts_is_left_out() -> None:
    work = Doubler(seconds=0.05)
    batcher = MicroBatcher(work, BatchSettings(max_batch=8, workers=1))

    async def main() -> list[int]:
        first = asyncio.ensure_future(batcher.submit(0))
        await asyncio.sleep(0.01)
        gone = asyncio.ensure_future(batcher.submit(1))
        kept = asyncio.ensure_future(batcher.submit(2))
        await asyncio.sleep(0)
        gone.cancel()  # the client disconnected while its request waited
        return [await first, await kept]

    assert asyncio.run(main()) == [0, 4]
    assert work.batches == [[0], [2]]


def test_a_batch_thread_takes_its_next_batch_while_the_event_loop_is_busy() -> None:
    """The next batch starts when the last one ends, not when the event loop (busy answering other
    requests under overload) gets round to it."""
    started: list[float] = []

    def work(items: Sequence[int]) -> list[int]:
        started.append(time.perf_counter())
        time.sleep(0.05)
        return [2 * i for i in items]

    batcher = MicroBatcher(work, BatchSettings(max_batch=8, workers=1))

    async def main() -> tuple[list[int], float]:
        first = asyncio.ensure_future(batcher.submit(0))
        await asyncio.sleep(0.01)  # the first batch runs (50 ms)
        second = asyncio.ensure_future(batcher.submit(1))
        await asyncio.sleep(0)  # the second is queued behind it
        blocked = time.perf_counter()
        time.sleep(0.4)  # the event loop holds on to the thread (as a burst of refusals would)
        return list(await asyncio.gather(first, second)), blocked

    results, blocked = asyncio.run(main())
    assert results == [0, 2]
    assert len(started) == 2 and started[1] - blocked < 0.3  # started during the loop's 0.4 s


def test_settings_that_cannot_batch_are_refused() -> None:
    with pytest.raises(ValueError, match="max_batch >= 1"):
        BatchSettings(max_batch=0, workers=1)


def _comparable(result: dict[str, Any]) -> dict[str, Any]:
    """A triage answer without its timings, confidences and scores rounded to 3 decimals.

    A batch's matrix products round in their last bits unlike a single ticket's (BLAS picks other
    kernels), which can move a 4-decimal confidence by 0.0001; every label, field and case is the same.
    """

    def rounded(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 3)
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items() if k != "timings_ms"}
        if isinstance(value, list):
            return [rounded(v) for v in value]
        return value

    return dict(rounded(result))


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


def test_concurrent_requests_on_the_live_server_get_their_own_answers(
    live_server: str, live_headers: dict[str, str]
) -> None:
    tickets = [
        {"title": "VPN error 809", "body": "VPN fails with error 809 since this morning on srv-01."},
        {"title": "打印机无法打印", "body": "三楼的打印机显示脱机，重启后仍然无法打印。"},
        {"title": "Password reset", "body": "I am locked out of my account after too many attempts."},
        {"title": "Invoice wrong", "body": "The invoice for order 4411 shows the wrong amount."},
    ] * 3
    with httpx.Client(base_url=live_server, headers=live_headers, timeout=60) as client:
        alone = [client.post("/v1/triage", json=t) for t in tickets]
        assert all(r.status_code == 200 for r in alone), [r.text for r in alone if r.status_code != 200]
        before = _metric(client.get("/metrics").text, "triage_micro_batch_size_count")
        bound = client.get("/readyz").json()["max_in_flight"]

        # As many at a time as the default in-flight bound admits, so nothing is shed.
        def send(ticket: dict[str, str]) -> httpx.Response:
            return client.post("/v1/triage", json=ticket)

        with ThreadPoolExecutor(max_workers=bound) as pool:
            together = list(pool.map(send, tickets))
        assert [r.status_code for r in together] == [200] * len(tickets)
        assert [_comparable(r.json()) for r in together] == [_comparable(r.json()) for r in alone]
        assert all(r.headers["content-type"] == "application/json" for r in together)
        metrics = client.get("/metrics").text
    assert _metric(metrics, "triage_micro_batch_size_sum") >= 2 * len(tickets)
    assert _metric(metrics, "triage_micro_batch_size_count") - before <= len(tickets)
