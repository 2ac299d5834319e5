"""Micro-batching: single-ticket requests that arrive together are triaged in one batch call.

Concurrent ``/v1/triage`` requests put their ticket on a queue from the event loop. ``workers``
batch threads of the batcher's own take what is waiting (at most ``max_batch`` items) and run the
batch function (``TriageService.triage_many``) once for all of them; each request gets its own
result back on the event loop.

- A batch thread takes its next batch itself, the moment it is done with the last one: it never
  waits for the event loop between batches. (When the event loop handed out the batches, a thread
  that finished waited for the loop to take its results and start the next batch; under overload
  the loop was answering refusals, holding the GIL, and the thread idled: BENCHMARKS.md,
  "Concurrency (issue 12.5)", session 10.)
- A lone request on an idle service starts at once: with ``window`` 0 nothing waits for company.
  Batches form by themselves under load, from the requests that queue while every worker is busy,
  so a batch grows with the traffic and the latency of a quiet service is unchanged.
- ``window`` > 0: the first request of a batch waits up to that long for others (bigger batches,
  each request later by up to the window) unless ``max_batch`` items are already waiting.
- A batch that fails is retried one item at a time, so one bad item fails only its own request.
- A request whose client went away before its batch started (its task was cancelled) is dropped
  from the batch; one cancelled while its batch runs just does not get the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class BatchSettings:
    """How requests are grouped: at most ``max_batch`` per call, ``workers`` calls at once, ``window`` s."""

    max_batch: int
    workers: int
    window: float = 0.0

    def __post_init__(self) -> None:
        if self.max_batch < 1 or self.workers < 1 or self.window < 0:
            raise ValueError(
                f"micro-batching needs max_batch >= 1, workers >= 1 and window >= 0 "
                f"(got {self.max_batch}, {self.workers}, {self.window})"
            )


@dataclass(frozen=True)
class _Waiting(Generic[T, R]):
    item: T
    future: asyncio.Future[R]
    loop: asyncio.AbstractEventLoop
    arrived: float  # time.monotonic()


class MicroBatcher(Generic[T, R]):
    """Groups items submitted from the event loop into calls of ``run`` on its own worker threads."""

    def __init__(
        self,
        run: Callable[[Sequence[T]], Sequence[R]],
        settings: BatchSettings,
        on_batch: Callable[[int], None] = lambda size: None,
    ) -> None:
        self._run = run
        self.settings = settings
        self.on_batch = on_batch  # called on a batch thread with each batch's size (a metric)
        self._ready = threading.Condition()  # guards everything below
        self._waiting: deque[_Waiting[T, R]] = deque()
        self._handed: deque[list[_Waiting[T, R]]] = deque()  # batches made for idle threads
        self._threads: list[threading.Thread] = []  # started by start() or the first submit
        self._idle = 0  # threads waiting for work
        self._closed = False

    @property
    def waiting(self) -> int:
        """Items queued for a batch (not yet started)."""
        return len(self._waiting)

    def start(self) -> None:
        """Start the batch threads and wait until each waits for work (the app's start-up; else the
        first ``submit``), so that a request arriving at an idle service is handed to a thread at once."""
        with self._ready:
            if self._threads:
                return
            for index in range(self.settings.workers):
                thread = threading.Thread(target=self._work, name=f"micro-batch-{index}", daemon=True)
                thread.start()
                self._threads.append(thread)
            self._ready.wait_for(lambda: self._idle >= len(self._threads), timeout=30)

    async def submit(self, item: T) -> R:
        """The result of ``run`` for this item, computed in a batch with whatever else is waiting."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        if not self._threads:
            self.start()
        with self._ready:
            if self._closed:
                raise RuntimeError("the micro-batcher is closed (the server is stopping)")
            self._waiting.append(_Waiting(item, future, loop, time.monotonic()))
            # A thread waiting for work gets its batch now, made of what waits at this instant: which
            # requests go together does not depend on how soon the OS wakes the thread.
            if self.settings.window == 0 and self._idle > len(self._handed):
                batch = self._take()
                if batch:
                    self._handed.append(batch)
            self._ready.notify()
        return await future

    def close(self) -> None:
        """Stop the batch threads once the batches they run are done (the app's shutdown); the
        requests still waiting are cancelled. A later ``start`` or ``submit`` starts new threads."""
        with self._ready:
            self._closed = True
            left = list(self._waiting) + [w for batch in self._handed for w in batch]
            self._waiting.clear()
            self._handed.clear()
            self._ready.notify_all()
            threads = list(self._threads)
        for waiting in left:
            _settle(waiting, None, cancel=True)
        for thread in threads:
            thread.join(timeout=30)
        with self._ready:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._closed = False

    def _take(self) -> list[_Waiting[T, R]]:
        """(Lock held.) Up to ``max_batch`` waiting items whose requests are still there."""
        batch: list[_Waiting[T, R]] = []
        while self._waiting and len(batch) < self.settings.max_batch:
            waiting = self._waiting.popleft()
            if not waiting.future.done():  # cancelled: the client left
                batch.append(waiting)
        return batch

    def _next_batch(self) -> list[_Waiting[T, R]] | None:
        """On a batch thread: the next batch (waiting for one, and for the window); None when closed."""
        with self._ready:
            while True:
                if self._closed:
                    return None
                if self._handed:
                    return self._handed.popleft()
                while self._waiting and self._waiting[0].future.done():
                    self._waiting.popleft()
                if self._waiting:
                    left = self._waiting[0].arrived + self.settings.window - time.monotonic()
                    if self.settings.window > 0 and len(self._waiting) < self.settings.max_batch and left > 0:
                        self._ready.wait(left)
                        continue
                    batch = self._take()
                    if batch:
                        return batch
                    continue
                self._idle += 1
                self._ready.notify_all()  # (start waits for every thread to be idle)
                try:
                    self._ready.wait()
                finally:
                    self._idle -= 1

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            self.on_batch(len(batch))
            try:
                outcomes = self._call([w.item for w in batch])
            except BaseException as exc:  # not an error of the items (e.g. a wrong result count)
                outcomes = [_Failed(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))] * len(
                    batch
                )
            for waiting, outcome in zip(batch, outcomes, strict=True):
                _settle(waiting, outcome)

    def _call(self, items: list[T]) -> list[R | _Failed]:
        """On a batch thread: one call for the batch; item by item when it fails."""
        try:
            results = list(self._run(items))
        except Exception as exc:
            if len(items) == 1:
                return [_Failed(exc)]
            logger.warning(
                "a batch of %d failed (%s); retrying its items one by one", len(items), type(exc).__name__
            )
            return [self._one(item) for item in items]
        if len(results) != len(items):
            raise RuntimeError(f"the batch function returned {len(results)} results for {len(items)} items")
        return list(results)

    def _one(self, item: T) -> R | _Failed:
        try:
            return self._run([item])[0]
        except Exception as exc:
            return _Failed(exc)


@dataclass(frozen=True)
class _Failed:
    error: Exception


def _settle(waiting: _Waiting[T, R], outcome: R | _Failed | None, cancel: bool = False) -> None:
    """From a batch thread: hand the outcome to the request's event loop (gone: nothing to hand)."""

    def settle() -> None:
        future = waiting.future
        if future.done():  # the client left while its batch ran
            return
        if cancel:
            future.cancel()
        elif isinstance(outcome, _Failed):
            future.set_exception(outcome.error)
        else:
            future.set_result(outcome)  # type: ignore[arg-type]

    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits for the answer any more
        waiting.loop.call_soon_threadsafe(settle)
