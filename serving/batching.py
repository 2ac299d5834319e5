"""Micro-batching: single-ticket requests that arrive together are triaged in one batch call.

Concurrent ``/v1/triage`` requests put their ticket on a queue on the event loop. A dispatcher hands
what is waiting (at most ``max_batch`` items) to one of ``workers`` threads, which runs the batch
function (``TriageService.triage_many``) once for all of them, and each request gets its own result.

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
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import anyio
import anyio.to_thread

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


@dataclass
class _Waiting(Generic[T, R]):
    item: T
    future: asyncio.Future[R]
    arrived: float


class MicroBatcher(Generic[T, R]):
    """Groups items submitted from the event loop into calls of ``run`` on worker threads."""

    def __init__(
        self,
        run: Callable[[Sequence[T]], Sequence[R]],
        settings: BatchSettings,
        on_batch: Callable[[int], None] = lambda size: None,
    ) -> None:
        self._run = run
        self.settings = settings
        self.on_batch = on_batch  # called on the event loop with each batch's size (a metric)
        self._waiting: deque[_Waiting[T, R]] = deque()
        self._running = 0
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def waiting(self) -> int:
        """Items queued for a batch (not yet started)."""
        return len(self._waiting)

    async def submit(self, item: T) -> R:
        """The result of ``run`` for this item, computed in a batch with whatever else is waiting."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append(_Waiting(item, future, loop.time()))
        self._dispatch()
        return await future

    def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while self._running < self.settings.workers:
            while self._waiting and self._waiting[0].future.done():  # cancelled: the client left
                self._waiting.popleft()
            if not self._waiting:
                return
            due = self._waiting[0].arrived + self.settings.window
            if (
                self.settings.window > 0
                and len(self._waiting) < self.settings.max_batch
                and loop.time() < due
            ):
                if self._timer is None:
                    self._timer = loop.call_at(due, self._on_timer)
                return
            batch: list[_Waiting[T, R]] = []
            while self._waiting and len(batch) < self.settings.max_batch:
                waiting = self._waiting.popleft()
                if not waiting.future.done():
                    batch.append(waiting)
            if not batch:
                return
            self._running += 1
            task = loop.create_task(self._run_batch(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _on_timer(self) -> None:
        self._timer = None
        self._dispatch()

    async def _run_batch(self, batch: list[_Waiting[T, R]]) -> None:
        if self._limiter is None:
            # Own limiter: batches never queue behind the other handlers in anyio's default pool.
            self._limiter = anyio.CapacityLimiter(self.settings.workers)
        self.on_batch(len(batch))
        try:
            outcomes = await anyio.to_thread.run_sync(
                self._call, [w.item for w in batch], limiter=self._limiter, abandon_on_cancel=False
            )
            for waiting, outcome in zip(batch, outcomes, strict=True):
                if waiting.future.done():
                    continue
                if isinstance(outcome, _Failed):
                    waiting.future.set_exception(outcome.error)
                else:
                    waiting.future.set_result(outcome)
        except BaseException as exc:  # shutdown cancelled the batch: every waiter learns it
            for waiting in batch:
                if waiting.future.done():
                    continue
                if isinstance(exc, Exception):
                    waiting.future.set_exception(exc)
                else:
                    waiting.future.cancel()
            if not isinstance(exc, Exception):
                raise
        finally:
            self._running -= 1
            self._dispatch()

    def _call(self, items: list[T]) -> list[R | _Failed]:
        """On a worker thread: one call for the batch; item by item when it fails."""
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
