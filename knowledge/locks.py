"""A readers-writer lock: searches share an index, a write has it alone.

Concurrent requests only read the knowledge base's indexes (FAISS searches release the GIL and are
safe to run side by side on one index); writes are rare and must not run beside a read that walks
the arrays they change. A plain lock serialised every search behind every other (8 concurrent
callers spent about a tenth of their time waiting on it, see ``make profile``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ReadWriteLock:
    """Many readers or one writer; waiting writers go first (a stream of reads cannot starve a write).

    Reentrant per thread: a reader may read again, a writer may read or write again (a write that
    reads the vectors it replaces). A reader may not upgrade to a writer (that would deadlock).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer: int | None = None  # the writing thread's ident
        self._write_depth = 0
        self._writers_waiting = 0
        self._local = threading.local()

    def _read_depth(self) -> int:
        return int(getattr(self._local, "depth", 0))

    @contextmanager
    def read(self) -> Iterator[None]:
        me = threading.get_ident()
        depth = self._read_depth()
        if self._writer == me or depth:
            # Already inside this lock on this thread: no new acquisition (a waiting writer would
            # otherwise block a reader that it is itself waiting for).
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
            return
        with self._cond:
            while self._writer is not None or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        self._local.depth = 1
        try:
            yield
        finally:
            self._local.depth = 0
            with self._cond:
                self._readers -= 1
                if self._readers == 0:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        me = threading.get_ident()
        if self._writer == me:
            self._write_depth += 1
            try:
                yield
            finally:
                self._write_depth -= 1
            return
        if self._read_depth():
            raise RuntimeError("a reader cannot take the write lock (upgrade would deadlock)")
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer is not None or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = me
            self._write_depth = 1
        try:
            yield
        finally:
            with self._cond:
                self._write_depth = 0
                self._writer = None
                self._cond.notify_all()
