"""An encoder in a process of its own, so that a ticket's encoding runs beside the rest of its triage.

In one process a ticket's encoding cannot run beside its other stages: the encoder's matrix products
release the GIL, but the Python around them (tokenizer, the numpy calls between products) needs it
back dozens of times a text, and each time it waits for the thread running fields or the summary
(a GIL convoy: in one process, the encoder on a thread beside the field extraction and summary took
as long as the two one after the other, BENCHMARKS.md "Single ticket"). In a process of its own it
does not wait: :meth:`EncoderProcess.submit` sends the texts and returns at once, the pipeline
extracts fields and writes the summary meanwhile, and takes the vectors when it needs them.

The child is a fresh interpreter (``python -m embeddings.process``) that imports only the encoder,
not the server. Texts and vectors travel pickled over two pipes; vectors are the very ones the encoder
computes in the parent (same code, same BLAS settings). A reader thread hands each answer to its
request, so several threads may submit at once. If the child dies, the requests it held fail with
an error naming it, and the next request starts a new child.

Cost: the child's interpreter and numpy (~40 MiB) beside the encoder's weights, which the server
process then does not hold (BENCHMARKS.md, "Memory").
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

# How long a child may take to import and load its encoder before the start counts as failed.
START_TIMEOUT_S = 120.0


class EncoderProcessError(RuntimeError):
    """The encoder's process failed a request (it died, or the encoder raised)."""


class EncoderProcess:
    """The encoder a spec names (``use-m3``, ...), run in a child process; the ``Encoder`` protocol plus
    ``submit`` (texts in, a future of their vectors out)."""

    def __init__(self, spec: str, start_timeout: float = START_TIMEOUT_S) -> None:
        from embeddings.registry import get_encoder

        inner = get_encoder(spec)  # not loaded: its name and dimension only
        self.spec = spec
        self.name: str = inner.name
        self._dim = int(inner.dim)
        self._start_timeout = start_timeout
        self._lock = threading.Lock()  # guards the fields below; never held while a pipe is written
        self._send_lock = threading.Lock()  # one message at a time into the child's pipe
        self._process: subprocess.Popen[bytes] | None = None
        self._send: Connection | None = None
        self._pending: dict[int, tuple[int, Future[np.ndarray]]] = {}  # id -> (child's start, future)
        self._next_id = 0
        self._starts = 0  # children started
        self._closed = False

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def starts(self) -> int:
        """Children started so far: more than one means a child died and the next request started
        another (``/metrics``: ``triage_encoder_process_starts_total``)."""
        return self._starts

    @property
    def pid(self) -> int | None:
        """The child's process id (None before it starts)."""
        process = self._process
        return None if process is None else process.pid

    def load(self) -> None:
        """Start the child and wait until its encoder is loaded; idempotent (refused after ``close``)."""
        with self._lock:
            self._refuse_if_closed()
            self._start()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.submit(texts).result()

    def submit(self, texts: Sequence[str]) -> Future[np.ndarray]:
        """The texts' vectors, computed in the child while the caller goes on."""
        future: Future[np.ndarray] = Future()
        texts = list(texts)
        if not texts:
            future.set_result(np.zeros((0, self._dim), dtype=np.float32))
            return future
        with self._lock:
            self._refuse_if_closed()
            self._start()
            send = self._send
            assert send is not None
            request = self._next_id
            self._next_id += 1
            self._pending[request] = (self._starts, future)
        # Written without the lock: a large request may wait for the child to read it while the child
        # waits for the reader thread to take an answer, and the reader needs the lock to hand it over.
        try:
            with self._send_lock:
                send.send((request, texts))
        except OSError as exc:  # the child is gone (its reader fails what it held)
            with self._lock:
                self._pending.pop(request, None)
            raise EncoderProcessError(f"the encoder process ({self.spec}) is gone: {exc}") from exc
        return future

    def close(self) -> None:
        """Stop the child (the requests it still holds fail)."""
        with self._lock:
            self._closed = True
            process, send = self._process, self._send
            self._process = self._send = None
        if send is not None:
            with self._send_lock, contextlib.suppress(OSError):
                send.send(None)
            send.close()
        if process is not None:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _refuse_if_closed(self) -> None:
        if self._closed:
            raise EncoderProcessError("the encoder process is closed (the service is stopping)")

    def _start(self) -> None:
        """(Lock held.) A running child: the current one, or a new one."""
        if self._process is not None and self._process.poll() is None:
            return
        if self._send is not None:  # the dead child's pipe (a write to it fails at once: no long wait)
            with self._send_lock:
                self._send.close()
        to_child_read, to_child_write = os.pipe()
        from_child_read, from_child_write = os.pipe()
        try:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "embeddings.process",
                    self.spec,
                    str(to_child_read),
                    str(from_child_write),
                ],
                pass_fds=(to_child_read, from_child_write),
                stdin=subprocess.DEVNULL,
            )
        finally:
            os.close(to_child_read)
            os.close(from_child_write)
        send = Connection(to_child_write, readable=False)
        receive = Connection(from_child_read, writable=False)
        try:
            if not receive.poll(self._start_timeout):
                raise EncoderProcessError(
                    f"the encoder process ({self.spec}) was not ready within {self._start_timeout:.0f} s"
                )
            ready = receive.recv()
        except (EOFError, OSError, EncoderProcessError) as exc:
            ready = f"{type(exc).__name__}: {exc}" if str(exc) else f"{type(exc).__name__}: it exited"
        if ready != ("ready", self.name, self._dim):  # not started, or another encoder than asked for
            process.kill()
            process.wait()
            send.close()
            receive.close()
            raise EncoderProcessError(
                f"the encoder process ({self.spec}) did not start ({ready!r}, not ready for "
                f"{self.name}); its error is on the server's standard error"
            )
        self._process, self._send = process, send
        self._starts += 1
        threading.Thread(
            target=self._read,
            args=(process, receive, self._starts),
            name=f"encoder-process-{process.pid}",
            daemon=True,
        ).start()
        logger.info("encoder %s runs in process %d", self.spec, process.pid)

    def _read(self, process: subprocess.Popen[bytes], receive: Connection, start: int) -> None:
        """Hand each of the child's answers to its request; when the child is gone, fail what it held."""
        try:
            while True:
                request, vectors, error = receive.recv()
                with self._lock:
                    _, future = self._pending.pop(request, (start, None))
                if future is None:
                    continue
                if error is not None:
                    future.set_exception(EncoderProcessError(f"the encoder ({self.spec}) failed: {error}"))
                else:
                    future.set_result(vectors)
        except (EOFError, OSError):
            pass
        finally:
            receive.close()
            code = process.wait()
            with self._lock:
                if self._process is process:
                    self._process = None
                closing = self._closed
                # This child's requests only (a new child may already hold others).
                lost = [request for request, (owner, _) in self._pending.items() if owner == start]
                futures = [self._pending.pop(request)[1] for request in lost]
            if not closing:
                logger.warning(
                    "encoder process %d (%s) exited with code %s; %d request(s) it held failed, the next "
                    "request starts a new one",
                    process.pid,
                    self.spec,
                    code,
                    len(futures),
                )
            for future in futures:
                future.set_exception(
                    EncoderProcessError(
                        f"the encoder process ({self.spec}) exited (code {code}) during the request"
                    )
                )


def _serve(spec: str, receive: Connection, send: Connection) -> None:
    """The child's loop: load the encoder, then answer (id, texts) with (id, vectors, error)."""
    from embeddings.heap import release_free_memory
    from embeddings.registry import get_encoder

    encoder = get_encoder(spec)
    encoder.load()
    release_free_memory()  # loading's temporary arrays: ~8 MiB of free heap otherwise stays resident
    send.send(("ready", encoder.name, int(encoder.dim)))
    while True:
        try:
            message: Any = receive.recv()
        except EOFError:  # the server is gone
            return
        if message is None:
            return
        request, texts = message
        try:
            vectors = np.ascontiguousarray(encoder.encode(texts), dtype=np.float32)
        except Exception as exc:
            send.send((request, None, f"{type(exc).__name__}: {exc}"))
        else:
            send.send((request, vectors, None))


def main(argv: Sequence[str]) -> int:
    spec, receive_fd, send_fd = argv
    # The child ends when the server closes its pipe (a stop, or the server's death). A Ctrl-C in the
    # server's terminal, or a stop signal sent to the whole group (systemd's default), reaches this
    # process too: it keeps answering while the server finishes its requests, then ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _serve(spec, Connection(int(receive_fd), writable=False), Connection(int(send_fd), readable=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
