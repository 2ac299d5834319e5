from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from knowledge.index import VectorIndex
from knowledge.locks import ReadWriteLock


def test_read_write_lock_lets_readers_share() -> None:
    lock = ReadWriteLock()
    inside = threading.Barrier(3, timeout=5)

    def read() -> None:
        with lock.read():
            inside.wait()  # all three readers are inside at once, or this times out

    with ThreadPoolExecutor(3) as pool:
        for future in [pool.submit(read) for _ in range(3)]:
            future.result()


def test_read_write_lock_writer_excludes_readers() -> None:
    lock = ReadWriteLock()
    events: list[str] = []
    writing = threading.Event()

    def write() -> None:
        with lock.write():
            writing.set()
            time.sleep(0.2)
            events.append("write done")

    def read() -> None:
        writing.wait(5)
        with lock.read():
            events.append("read")

    writer = threading.Thread(target=write)
    reader = threading.Thread(target=read)
    writer.start()
    reader.start()
    writer.join(5)
    reader.join(5)
    assert events == ["write done", "read"]


def test_read_write_lock_is_reentrant_and_refuses_upgrade() -> None:
    lock = ReadWriteLock()
    with lock.write(), lock.read(), lock.write():
        pass
    with lock.read(), lock.read(), pytest.raises(RuntimeError, match="upgrade"), lock.write():
        pass
    with lock.write():  # everything above was released
        pass


def test_read_write_lock_waiting_writer_goes_before_new_readers() -> None:
    lock = ReadWriteLock()
    order: list[str] = []
    first_reader_in = threading.Event()
    release_first = threading.Event()

    def first_reader() -> None:
        with lock.read():
            first_reader_in.set()
            release_first.wait(5)

    def writer() -> None:
        with lock.write():
            order.append("writer")

    def late_reader() -> None:
        with lock.read():
            order.append("late reader")

    threads = [threading.Thread(target=first_reader)]
    threads[0].start()
    first_reader_in.wait(5)
    threads.append(threading.Thread(target=writer))
    threads[1].start()
    time.sleep(0.1)  # the writer is waiting on the first reader
    threads.append(threading.Thread(target=late_reader))
    threads[2].start()
    time.sleep(0.1)
    release_first.set()
    for thread in threads:
        thread.join(5)
    assert order == ["writer", "late reader"]


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_vector_index_searches_beside_writes(kind: str) -> None:
    """Searches from many threads while another thread replaces and removes rows: no error, no
    removed row returned once its removal has returned."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(32, kind)
    index.upsert(np.arange(3000), vectors)
    removed: set[int] = set()
    stop = threading.Event()
    failures: list[str] = []

    def churn() -> None:
        for start in range(0, 600, 50):
            index.upsert(np.arange(start, start + 50), vectors[start : start + 50][::-1])
            index.remove(np.arange(2000 + start, 2050 + start))
            removed.update(range(2000 + start, 2050 + start))
        stop.set()

    def search() -> None:
        while not stop.is_set():
            gone = set(removed)  # removals that had returned before this search started
            _, ids = index.search(vectors[2500:2510], 10)
            if {int(i) for i in ids.ravel()} & gone:
                failures.append("a removed row was returned")

    with ThreadPoolExecutor(5) as pool:
        readers = [pool.submit(search) for _ in range(4)]
        pool.submit(churn).result(60)
        for reader in readers:
            reader.result(60)
    assert not failures
    assert len(index) == 3000 - 600
