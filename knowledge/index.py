"""FAISS vector indexes per tenant and encoder, and the atomic snapshots of every derived index.

Derived data: the database is the source of truth. A snapshot holds an index and the change-log
sequence number it reflects (its high-water mark). Replaying changes is idempotent (an upsert
replaces, a delete of a missing row does nothing), so a crash between writing an index and its
mark only replays a few changes again.

Index type by size (``VectorIndex.for_size``): exact inner product (``IndexFlatIP``) below
``EXACT_LIMIT`` vectors, HNSW above. HNSW cannot remove a vector, so the HNSW index keeps its own
labels: a replaced or deleted row's label is a tombstone, never returned (searches over-fetch and
drop tombstones), and the graph is rebuilt from the live vectors once tombstones pass
``REBUILD_SHARE`` of it. Recall and latency are measured by ``eval.scale_bench``.

The HNSW graph keeps its vectors as 8-bit scalar-quantised codes (``IndexHNSWSQ``, one byte per
dimension instead of four, each dimension's range learnt from the vectors it is built from): at
103,600 USE-m3 vectors the index went from 230 MiB to 78 MiB with recall@10 against exact search
0.974 (float32 HNSW: 0.990; BENCHMARKS.md "Serving"). Snapshots of the older float32 HNSW index
load and search as before; they are written compressed at their next rebuild.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import faiss
import numpy as np

from knowledge.blobs import BlobError, ChecksumError, DirectoryBlobs
from knowledge.locks import ReadWriteLock
from knowledge.memory import find_sorted, row_array

logger = logging.getLogger(__name__)

# Exact search reads every vector per query (10.4 ms at 100k on this project's 2 cores, about 2 ms at
# 20k) while HNSW stays under half a millisecond with recall@10 0.98 at 100k (BENCHMARKS.md "Scale"):
# past this size a ticket's search budget (issue 12: a whole ticket in 10 ms) goes to HNSW.
EXACT_LIMIT = 20_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
# Rebuild an HNSW graph once this share of its labels are tombstones.
REBUILD_SHARE = 0.2
# A filter that keeps at most this many vectors is searched exactly over just those vectors.
EXACT_SUBSET = 50_000
# Such a subset's vectors, decoded and stacked, are kept for the next search with the same array of
# rows (the knowledge base passes one array of a minority kind's rows, the articles, until the index
# changes) when it has at most this many rows (2 MiB at 512 dimensions), the last few subsets.
SUBSET_CACHE_ROWS = 1024
SUBSET_CACHE_SIZE = 4


# A snapshot temp file older than this (seconds) is debris of a crash, not a write in progress.
_STALE_TEMP_SECONDS = 600


@contextmanager
def _threads(n: int) -> Iterator[None]:
    """Run FAISS with ``n`` OpenMP threads. One query on 2 busy cores is ~20x slower with 2 threads
    (thread wake-up dominates), while bulk adds and HNSW builds gain from every core."""
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(max(1, n))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def _as_matrix(vectors: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)


class VectorIndex:
    """Inner-product search over L2-normalised vectors keyed by int64 row ids (the database row ids)."""

    def __init__(self, dim: int, kind: str = "flat") -> None:
        if kind not in ("flat", "hnsw"):
            raise ValueError(f"unknown index kind {kind!r}; known: flat, hnsw")
        self.dim = dim
        self.kind = kind
        # Searches share the index; a write (add, remove, rebuild) has it alone.
        self._lock = ReadWriteLock()
        self.ef_search = HNSW_EF_SEARCH
        # flat: an IndexIDMap2 keyed by row id. hnsw: labels 0..ntotal-1 mapped to row ids (-1: a
        # tombstone), and back: rows and their labels sorted by row as of the last ``_reindex``, plus
        # a dict of the labels added since. Arrays, not a dict per row: at 1M rows the dict and its
        # int objects took ~100 MiB where the arrays take 16 MB. While the labels are 0, 1, 2, ... of
        # the rows in order (no tombstone, as a build or a rebuild leaves them) the sorted labels are
        # None and the sorted rows are ``_label_row`` itself until a tombstone is written into it
        # (15.3 MiB less at 1M rows); otherwise the labels are int32 (FAISS's HNSW numbers its
        # vectors with int32). Rows are int32 while they fit (``row_array``).
        self._index: Any = self._new()
        self._label_row = np.zeros(0, dtype=np.int32)
        self._sorted_rows = np.zeros(0, dtype=np.int32)
        self._sorted_labels: np.ndarray | None = None
        self._recent: dict[int, int] = {}
        # flat: the row ids present (membership without copying the id map on every read).
        self._flat_ids: set[int] = set()
        self._dead = 0
        self._sum = np.zeros(dim, dtype=np.float64)  # of the live vectors, for ``centre``
        # Bumped by every write: a cached subset (``_subset``) is valid for one generation only.
        self._generation = 0
        # (allowed, generation, present rows, their vectors, the rows' ascending order)
        self._subsets: list[tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]] = []

    def _new(self) -> Any:
        if self.kind == "flat":
            return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        qtype: Any = faiss.ScalarQuantizer.QT_8bit  # the stubs type the enum's values as int
        index = faiss.IndexHNSWSQ(self.dim, qtype, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        return index

    @classmethod
    def for_size(cls, dim: int, n: int) -> VectorIndex:
        """Exact search for small collections, HNSW for large ones."""
        return cls(dim, "flat" if n < EXACT_LIMIT else "hnsw")

    def __len__(self) -> int:
        # No lock: one attribute read each, atomic under the GIL (a count may be one write old).
        if self.kind == "flat":
            return int(self._index.ntotal)
        return int(self._index.ntotal) - self._dead

    @property
    def tombstones(self) -> int:
        return self._dead

    @property
    def batch_exact(self) -> bool:
        """Whether a query searched among others gets exactly the rows it gets searched alone.

        Not for HNSW with deleted entries: a search there widens its candidate list for every query
        of the call when one of them came back short.
        """
        return self.kind == "flat" or self._dead == 0

    def __contains__(self, row_id: int) -> bool:
        return bool(self.vectors([row_id]))

    # ------------------------------------------------------------------ writes

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add rows or replace their vectors."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = _as_matrix(vectors)
        if len(ids) == 0:
            return
        ordered = np.sort(ids)
        if (ordered[1:] == ordered[:-1]).any():  # a row given twice: its last vector wins
            last = {int(r): i for i, r in enumerate(ids.tolist())}
            keep = np.array(sorted(last.values()), dtype=np.int64)
            ids, vectors = ids[keep], vectors[keep]
        with self._lock.write():
            self._generation += 1
            self._forget_sum(ids)
            if self.kind == "flat":
                # A new array, not += in place: ``centre`` reads it without the lock.
                self._sum = self._sum + vectors.sum(axis=0, dtype=np.float64)
                self._index.remove_ids(faiss.IDSelectorBatch(ids))
                self._index.add_with_ids(vectors, ids)
                self._flat_ids.update(ids.tolist())
                return
            self._bury(ids)
            start = int(self._index.ntotal)
            with _threads(1 if len(ids) < 1000 else os.cpu_count() or 1):
                if not self._index.is_trained:
                    # The quantiser's ranges come from the first vectors added: every live vector
                    # when an index is built or rebuilt (HNSW starts at ``EXACT_LIMIT`` vectors).
                    self._index.train(vectors)
                self._index.add(vectors)
            # The sum of the vectors as stored (decoded), as ``_forget_sum`` and a snapshot's load see them.
            stored = self._index.reconstruct_n(start, len(ids))
            self._sum = self._sum + stored.sum(axis=0, dtype=np.float64)
            self._label_row = row_array(np.concatenate([self._label_row, ids]))
            if len(ids) + len(self._recent) > max(1024, len(self) // 16):
                self._reindex()  # a bulk add (a build, a catch-up) goes straight to the sorted arrays
            else:
                self._recent.update(zip(ids.tolist(), range(start, start + len(ids)), strict=True))
            self._maybe_rebuild()

    def remove(self, ids: np.ndarray) -> None:
        """Remove rows; unknown ids are ignored (replaying a delete is harmless)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        with self._lock.write():
            self._generation += 1
            self._forget_sum(ids)
            if self.kind == "flat":
                self._index.remove_ids(faiss.IDSelectorBatch(ids))
                self._flat_ids.difference_update(ids.tolist())
                return
            self._bury(ids)
            self._maybe_rebuild()

    def _reindex(self) -> None:
        """Sort the live rows and their labels (the row -> label look-up) and empty ``_recent``."""
        live = np.flatnonzero(self._label_row >= 0)
        rows = self._label_row[live]
        if len(live) == len(self._label_row) and bool((rows[1:] > rows[:-1]).all()):
            self._sorted_rows, self._sorted_labels = self._label_row, None  # label i is the i-th row
        else:
            order = np.argsort(rows, kind="stable")
            self._sorted_rows = rows[order]
            self._sorted_labels = live[order].astype(np.int32)
        self._recent = {}

    def _labels_of(self, rows: np.ndarray) -> np.ndarray:
        """Each row's HNSW label, -1 where it is not (or no longer) in the index."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.full(len(rows), -1, dtype=np.int64)
        if len(self._sorted_rows) and len(rows):
            at, there = find_sorted(self._sorted_rows, rows)
            labels = at if self._sorted_labels is None else self._sorted_labels[at].astype(np.int64)
            # A label buried since the last reindex is a tombstone (-1) in ``_label_row``.
            found = there & (self._label_row[labels] == rows)
            out = np.where(found, labels, -1)
        if self._recent:
            recent = self._recent
            for i, row in enumerate(rows.tolist()):
                label = recent.get(row)
                if label is not None:
                    out[i] = label
        return out

    def _present(self, ids: np.ndarray) -> np.ndarray:
        if self.kind == "hnsw":
            return ids[self._labels_of(ids) >= 0]
        # Not np.isin against the id map: that copied every id on each read (5 reads a search).
        return np.array([r for r in ids.tolist() if r in self._flat_ids], dtype=np.int64)

    def _forget_sum(self, ids: np.ndarray) -> None:
        old = self.vectors(self._present(ids).tolist())
        if old:
            self._sum = self._sum - np.sum(np.stack(list(old.values())), axis=0, dtype=np.float64)

    def centre(self, prior: float) -> np.ndarray:
        """The live vectors' mean, shrunk toward 0 as if ``prior`` zero vectors were added too.

        Cosine after subtracting the collection mean ranks better than raw cosine (measured in
        ``eval.retrieval_bench``); the shrinkage keeps a small collection from cancelling itself.
        """
        # No lock: ``_sum`` is replaced, never changed in place, by writes.
        return (self._sum / (len(self) + prior)).astype(np.float32)

    def _bury(self, ids: np.ndarray) -> None:
        ids = np.unique(ids)
        labels = self._labels_of(ids)
        found = labels >= 0
        if found.any() and self._sorted_rows is self._label_row:
            self._sorted_rows = self._label_row.copy()  # the look-up keeps the rows as sorted
        self._label_row[labels[found]] = -1
        self._dead += int(found.sum())
        for row in ids[found].tolist():
            self._recent.pop(row, None)

    def _maybe_rebuild(self) -> None:
        if self._dead > REBUILD_SHARE * max(int(self._index.ntotal), 1):
            logger.info(
                "rebuilding HNSW index: %d of %d labels are tombstones", self._dead, self._index.ntotal
            )
            self._rebuild("hnsw")

    def _rebuild(self, kind: str) -> None:
        ids, vectors = self.export()
        self._generation += 1
        self.kind = kind
        self._index = self._new()
        self._label_row = np.zeros(0, dtype=np.int32)
        self._sorted_rows = np.zeros(0, dtype=np.int32)
        self._sorted_labels = None
        self._recent = {}
        self._flat_ids = set()
        self._dead = 0
        self._sum = np.zeros(self.dim, dtype=np.float64)
        if len(ids):
            self.upsert(ids, vectors)

    def resize_for(self, n: int) -> None:
        """Switch to the index type ``for_size`` picks for ``n`` vectors (HNSW back to exact below half the limit)."""
        with self._lock.write():
            if self.kind == "flat" and n >= EXACT_LIMIT:
                logger.info("switching to HNSW at %d vectors", n)
                self._rebuild("hnsw")
            elif self.kind == "hnsw" and n < EXACT_LIMIT // 2:
                logger.info("switching to exact search at %d vectors", n)
                self._rebuild("flat")

    # ------------------------------------------------------------------ reads

    def export(self) -> tuple[np.ndarray, np.ndarray]:
        """Every live (row ids, vectors)."""
        with self._lock.read():
            n = int(self._index.ntotal)
            if n == 0:
                return np.zeros(0, dtype=np.int64), np.zeros((0, self.dim), dtype=np.float32)
            if self.kind == "flat":
                ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
                return ids, self._index.index.reconstruct_n(0, n)
            live = np.flatnonzero(self._label_row >= 0)
            return self._label_row[live].astype(np.int64), self._index.reconstruct_n(0, n)[live]

    def vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Stored vectors of the rows present."""
        rows, matrix = self.matrix(ids)
        return dict(zip(rows.tolist(), matrix, strict=True))

    def matrix(self, ids: Sequence[int], within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The rows present (in the order given) and their stored vectors as one matrix.

        ``within``: the ``allowed`` array a subset search of these rows was given; when its decoded
        vectors are cached (``_subset``) and hold every one of ``ids``, they are read from there
        (decoding ~120 articles' 8-bit codes again cost ~0.1 ms a search).
        """
        with self._lock.read():
            if within is not None:
                found = self._from_subset(np.asarray(list(ids), dtype=np.int64), within)
                if found is not None:
                    return found
            if self.kind == "flat":
                wanted = self._present(np.asarray(list(ids), dtype=np.int64))
                if len(wanted) == 0:
                    return wanted, np.zeros((0, self.dim), dtype=np.float32)
                return wanted, self._index.reconstruct_batch(wanted)
            rows = np.asarray(list(ids), dtype=np.int64)
            labels = self._labels_of(rows)
            present = labels >= 0
            if not present.any():
                return rows[present], np.zeros((0, self.dim), dtype=np.float32)
            return rows[present], self._index.reconstruct_batch(labels[present])

    def search(
        self, vectors: np.ndarray, k: int, allowed: np.ndarray | None = None, threads: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, row ids) per query row, best first; missing slots have id -1.

        ``allowed`` restricts the search to those row ids (a filter), exactly when it is small.
        ``threads``: FAISS's OpenMP threads (default: one below 16 queries, every core from there).
        """
        queries = _as_matrix(vectors)
        if threads is None:
            threads = 1 if len(queries) < 16 else os.cpu_count() or 1
        with self._lock.read(), _threads(threads):
            live = len(self)
            k = max(1, min(k, live or 1))
            if allowed is not None:
                return self._search_subset(queries, k, np.asarray(allowed, dtype=np.int64))
            if self.kind == "flat":
                scores, ids = self._index.search(queries, k)
                return scores, ids
            return self._search_hnsw(queries, k, None)

    def _search_hnsw(self, queries: np.ndarray, k: int, selector: Any) -> tuple[np.ndarray, np.ndarray]:
        fetch = k + (k // 4 + 10 if self._dead else 0)
        while True:
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
            params.efSearch = max(self.ef_search, fetch)
            if selector is not None:
                params.sel = selector
            scores, labels = self._index.search(queries, min(fetch, int(self._index.ntotal)), params=params)
            rows = np.where(labels >= 0, self._label_row[np.maximum(labels, 0)], -1)
            enough = bool(((rows >= 0).sum(axis=1) >= min(k, len(self))).all())
            if enough or fetch >= self._index.ntotal:
                break
            fetch *= 2
        out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_ids = np.full((len(queries), k), -1, dtype=np.int64)
        for q in range(len(queries)):
            keep = np.flatnonzero(rows[q] >= 0)[:k]
            out_scores[q, : len(keep)] = scores[q, keep]
            out_ids[q, : len(keep)] = rows[q, keep]
        return out_scores, out_ids

    def _search_subset(
        self, queries: np.ndarray, k: int, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if len(allowed) == 0:
            return np.full((len(queries), k), -np.inf, dtype=np.float32), np.full(
                (len(queries), k), -1, dtype=np.int64
            )
        if self.kind == "flat":
            params = faiss.SearchParameters()
            params.sel = faiss.IDSelectorBatch(allowed)
            scores, ids = self._index.search(queries, k, params=params)
            return scores, ids
        if len(allowed) > EXACT_SUBSET:
            labels = self._labels_of(allowed)
            labels = labels[labels >= 0]
            return self._search_hnsw(queries, k, faiss.IDSelectorBatch(labels))
        rows, matrix = self._subset(allowed)
        out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_ids = np.full((len(queries), k), -1, dtype=np.int64)
        if len(rows) == 0:
            return out_scores, out_ids
        sims = queries @ matrix.T
        for q in range(len(queries)):
            order = np.argsort(-sims[q], kind="stable")[:k]
            out_scores[q, : len(order)] = sims[q, order]
            out_ids[q, : len(order)] = rows[order]
        return out_scores, out_ids

    def _subset(self, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of ``allowed`` present and their stored vectors stacked (caller holds the read lock).

        Cached for the same array object in the same generation: decoding and stacking a kind's
        ~100 articles on each search cost as much as the HNSW search over 100k cases.
        """
        generation = self._generation
        for seen, seen_generation, rows, matrix, _ in self._subsets:
            if seen is allowed and seen_generation == generation:
                return rows, matrix
        rows, matrix = self.matrix(allowed.tolist())
        if len(allowed) <= SUBSET_CACHE_ROWS:
            # A new list, not changed in place: concurrent searches read it without a lock of their own.
            entry = (allowed, generation, rows, matrix, np.argsort(rows, kind="stable"))
            self._subsets = [entry, *self._subsets[: SUBSET_CACHE_SIZE - 1]]
        return rows, matrix

    def _from_subset(self, ids: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """``matrix(ids)`` from the cached subset of ``allowed`` (caller holds the read lock); None when
        it is not cached in this generation or lacks one of ``ids``. The same decoded vectors."""
        generation = self._generation
        for seen, seen_generation, rows, matrix, order in self._subsets:
            if seen is allowed and seen_generation == generation:
                if len(rows) == 0:
                    return None
                at, there = find_sorted(rows[order], ids)
                if not there.all():
                    return None
                return ids, matrix[order[at]]
        return None

    # ------------------------------------------------------------------ bytes

    def write(self, handle: BinaryIO) -> None:
        """Stream the index (FAISS bytes, HNSW labels) into a binary file."""
        with self._lock.read():
            np.savez(
                handle,
                faiss=faiss.serialize_index(self._index),
                labels=self._label_row,
                meta=np.array([self.dim, 1 if self.kind == "hnsw" else 0, self._dead], dtype=np.int64),
                # The live vectors' sum (``centre``): a load then never decodes every vector to add them
                # up (at 1M vectors a 2 GB float32 copy, for 4 KB of result).
                sum=self._sum,
            )

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.write(buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> VectorIndex:
        return cls.read(io.BytesIO(data))

    @classmethod
    def read(cls, handle: BinaryIO) -> VectorIndex:
        """An index from a (seekable) file ``write`` wrote.

        The FAISS index is streamed out of the file into FAISS: at 1M vectors, reading the snapshot's
        bytes, then its member, then deserialising held three whole copies (a 3.1 GB peak for a
        755 MiB index).
        """
        with np.load(handle, allow_pickle=False) as arrays:
            dim, hnsw, dead = (int(x) for x in arrays["meta"])
            obj = cls(dim, "hnsw" if hnsw else "flat")
            obj._index = _read_faiss(arrays.zip, "faiss.npy")
            obj._label_row = row_array(arrays["labels"])
            saved_sum = arrays["sum"].astype(np.float64) if "sum" in arrays.files else None
        obj._dead = dead
        if obj.kind == "hnsw":
            obj._index.hnsw.efSearch = obj.ef_search
            obj._reindex()
        elif obj._index.ntotal:
            obj._flat_ids = set(faiss.vector_to_array(obj._index.id_map).tolist())
        if saved_sum is not None:
            obj._sum = saved_sum
        else:  # a snapshot written before the sum was stored
            _, vectors = obj.export()
            obj._sum = (
                vectors.sum(axis=0, dtype=np.float64) if len(vectors) else np.zeros(dim, dtype=np.float64)
            )
        return obj


def _read_faiss(archive: zipfile.ZipFile, member: str) -> Any:
    """A FAISS index read from an ``.npy`` member (a uint8 array of ``serialize_index``'s bytes) of an
    npz archive, streamed: the archive's bytes pass through a small buffer, never a whole copy."""
    with archive.open(member) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        if dtype != np.uint8 or len(shape) != 1:
            raise ValueError(f"snapshot member {member} is not a byte array ({dtype}, shape {shape})")
        return faiss.read_index(faiss.PyCallbackIOReader(stream.read))  # type: ignore[attr-defined]


def _safe(name: str) -> str:
    """A file-name-safe, collision-free rendering of a tenant or component name."""
    clean = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60]
    if clean == name:
        return clean
    return f"{clean}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"


class IndexSnapshots:
    """A tenant's snapshots: ``<tenant>/<component>.bin`` plus ``<component>.json`` (mark, identity,
    checksum) in a blob store (:mod:`knowledge.blobs`; a directory, possibly a network mount).

    Components are ``dense-<encoder>`` (a FAISS index) and ``bm25``. The data is written before its
    mark, each atomically, so a mark never claims more than its data holds; the data is checked
    against the mark's checksum when loaded.
    """

    def __init__(self, directory: Path, blobs: DirectoryBlobs | None = None) -> None:
        self.directory = directory
        self.blobs = blobs or DirectoryBlobs(directory)

    def _keys(self, tenant: str, component: str) -> tuple[str, str]:
        folder, name = _safe(tenant), _safe(component)
        return f"{folder}/{name}.bin", f"{folder}/{name}.json"

    def save(
        self,
        tenant: str,
        component: str,
        data: bytes | Callable[[BinaryIO], None],
        mark: int,
        identity: Mapping[str, Any],
    ) -> None:
        data_key, meta_key = self._keys(tenant, component)
        digest = self.blobs.put(data_key, data)
        meta = {"mark": mark, "component": component, "sha256": digest, **identity}
        self.blobs.put(meta_key, json.dumps(meta, sort_keys=True).encode())

    def _meta(self, tenant: str, component: str, identity: Mapping[str, Any]) -> dict[str, Any] | None:
        """The snapshot's mark file, or None when absent, unreadable or built differently."""
        _, meta_key = self._keys(tenant, component)
        try:
            meta = json.loads(self.blobs.get(meta_key))
        except BlobError:
            return None
        except ValueError as exc:
            logger.warning("snapshot %s of tenant %s unreadable (%s); rebuilding", component, tenant, exc)
            return None
        if not isinstance(meta, dict) or "mark" not in meta:
            logger.warning("snapshot %s of tenant %s has no mark; rebuilding", component, tenant)
            return None
        if any(meta.get(key) != value for key, value in identity.items()):
            logger.warning("snapshot %s of tenant %s was built differently; rebuilding", component, tenant)
            return None
        return meta

    def load(self, tenant: str, component: str, identity: Mapping[str, Any]) -> tuple[bytes, int] | None:
        """The snapshot bytes and mark, or None when absent, unreadable or built differently."""
        with self.open(tenant, component, identity) as opened:
            return None if opened is None else (opened[0].read(), opened[1])

    @contextmanager
    def open(
        self, tenant: str, component: str, identity: Mapping[str, Any]
    ) -> Iterator[tuple[BinaryIO, int] | None]:
        """The snapshot as an open file (checked against its checksum) and its mark, or None when absent,
        unreadable or built differently. A file, not bytes: a 1M-vector index is read from it without a
        whole copy of the snapshot in memory."""
        meta = self._meta(tenant, component, identity)
        if meta is None:
            yield None
            return
        data_key, _ = self._keys(tenant, component)
        handle: BinaryIO | None = None
        try:
            # A snapshot copied or shared over a network mount is checked whole before it is used.
            handle = self.blobs.open(data_key, meta.get("sha256"))
            mark = int(meta["mark"])
        except ChecksumError:
            logger.warning(
                "snapshot %s of tenant %s does not match its checksum; rebuilding", component, tenant
            )
        except BlobError:
            pass
        except (OSError, ValueError, TypeError) as exc:
            logger.warning("snapshot %s of tenant %s unreadable (%s); rebuilding", component, tenant, exc)
        if handle is None:
            yield None
            return
        try:
            yield handle, mark
        finally:
            handle.close()

    def prune(self, tenant: str, keep: Sequence[str]) -> None:
        """Delete the tenant's snapshots of components no longer in use, and temp files a crash left
        (older than 10 minutes: a fresh one may be another process's write in progress)."""
        folder = _safe(tenant)
        self.blobs.sweep(folder, _STALE_TEMP_SECONDS)
        wanted = {_safe(c) for c in keep}
        for key in self.blobs.list(folder):
            if key.rsplit("/", 1)[-1].split(".", 1)[0] not in wanted:
                self.blobs.delete(key)

    def delete(self, tenant: str) -> None:
        for key in self.blobs.list(_safe(tenant)):
            self.blobs.delete(key)
