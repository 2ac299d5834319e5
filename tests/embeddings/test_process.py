"""The encoder in a process of its own (embeddings.process): the same vectors, several callers, a child
that dies or will not start."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from embeddings import UnknownComponentError, get_encoder
from embeddings.process import EncoderProcess, EncoderProcessError

TEXTS = [
    "VPN drops every few minutes since the update, error 809",
    "打印机无法连接网络，显示脱机状态",
    "Mein Passwort ist abgelaufen und ich komme nicht mehr ins Portal.",
    "x",
    "Outlook 收不到邮件 since Monday " * 30,
]


@pytest.fixture(scope="module")
def use_m3_process() -> Iterator[EncoderProcess]:
    encoder = EncoderProcess("use-m3")
    encoder.load()
    yield encoder
    encoder.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie is not alive
        return handle.read().split(") ")[1][0] != "Z"


def test_same_vectors_as_the_encoder_in_this_process(use_m3_process: EncoderProcess) -> None:
    here = get_encoder("use-m3")
    assert (use_m3_process.name, use_m3_process.dim) == (here.name, here.dim)
    for text in TEXTS:
        assert np.array_equal(use_m3_process.encode([text]), here.encode([text]))
    assert np.array_equal(use_m3_process.encode(TEXTS * 4), here.encode(TEXTS * 4))
    assert use_m3_process.encode([]).shape == (0, 512)
    pending = use_m3_process.submit(TEXTS[:2])  # the caller goes on; the vectors come later
    assert np.array_equal(pending.result(timeout=30), here.encode(TEXTS[:2]))


def test_callers_on_several_threads_each_get_their_own_vectors(use_m3_process: EncoderProcess) -> None:
    here = get_encoder("use-m3")
    texts = [f"ticket {i}: printer {i} on floor {i % 7} is offline" for i in range(48)]
    got: dict[int, np.ndarray] = {}

    def call(i: int) -> None:
        got[i] = use_m3_process.encode([texts[i], texts[i + 24]])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(24):
        assert np.array_equal(got[i], here.encode([texts[i], texts[i + 24]]))


def test_a_child_that_dies_fails_its_requests_and_the_next_one_starts_a_new_child() -> None:
    encoder = EncoderProcess("use-m3")
    try:
        encoder.load()
        first = encoder.pid
        assert first is not None
        pending = encoder.submit(["a long ticket about a broken VPN " * 40] * 400)
        os.kill(first, signal.SIGKILL)
        with pytest.raises(EncoderProcessError, match="exited"):
            pending.result(timeout=60)
        deadline = time.monotonic() + 30
        while encoder.pid == first and _alive(first) and time.monotonic() < deadline:
            time.sleep(0.05)
        vectors = encoder.encode(["printer offline"])  # a new child
        assert encoder.pid not in (None, first)
        assert np.array_equal(vectors, get_encoder("use-m3").encode(["printer offline"]))
    finally:
        encoder.close()


def test_close_stops_the_child_and_refuses_further_requests() -> None:
    encoder = EncoderProcess("hashing:64")
    encoder.load()
    pid = encoder.pid
    assert pid is not None and _alive(pid)
    assert encoder.encode(["printer offline"]).shape == (1, 64)
    encoder.close()
    assert not _alive(pid)
    with pytest.raises(EncoderProcessError, match="closed"):
        encoder.encode(["printer offline"])
    with pytest.raises(EncoderProcessError, match="closed"):
        encoder.load()  # no new child either
    assert encoder.pid is None


def test_an_encoder_that_cannot_be_built_or_started_says_so(tmp_path: Path) -> None:
    with pytest.raises(UnknownComponentError, match="unknown encoder"):
        EncoderProcess("no-such-encoder")
    # A model folder that names its dimension but holds no model: the child fails to load it.
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text('{"word_embedding_dimension": 8}')
    broken = EncoderProcess(f"sentence-transformers:{tmp_path}")
    assert broken.dim == 8
    try:
        with pytest.raises(EncoderProcessError, match="did not start"):
            broken.load()
        assert broken.pid is None
    finally:
        broken.close()


def test_large_requests_and_answers_from_several_threads_at_once() -> None:
    """Requests and answers past a pipe's buffer (64 KiB), from several threads: none waits for ever
    (a request is written without the lock the reader thread needs to hand over an answer)."""
    encoder = EncoderProcess("hashing:512")
    here = get_encoder("hashing:512")
    texts = [f"ticket {i}: " + "the printer on floor three is offline again " * 20 for i in range(300)]
    try:
        encoder.load()
        pending = [encoder.submit(texts[i:] + texts[:i]) for i in range(6)]
        results: dict[int, np.ndarray] = {}

        def call(i: int) -> None:
            results[i] = encoder.encode(texts[i:] + texts[:i])

        threads = [threading.Thread(target=call, args=(i,)) for i in range(6, 10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
        for i, future in enumerate(pending):
            results[i] = future.result(timeout=120)
        for i in range(10):
            assert np.array_equal(results[i], here.encode(texts[i:] + texts[:i]))
    finally:
        encoder.close()
