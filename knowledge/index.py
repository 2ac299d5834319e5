"""FAISS vector index per tenant: derived from the database, snapshotted atomically, caught up on start.

The snapshot holds the index and the change-log sequence number it reflects (its high-water
mark). Replaying changes is idempotent (an upsert removes then re-adds, a delete removes), so a
crash between writing the index and its mark only replays a few changes again.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path

import faiss
import numpy as np

from knowledge.store import DocumentStore

logger = logging.getLogger(__name__)

# Exact inner-product search below this many vectors; HNSW above (recall measured in BENCHMARKS.md).
EXACT_LIMIT = 200_000
HNSW_M = 32
HNSW_EF_SEARCH = 64


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, rename over the target, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class VectorIndex:
    """Inner-product search over L2-normalised vectors with stable int64 ids (the database row ids)."""

    def __init__(self, dim: int, kind: str = "flat") -> None:
        self.dim = dim
        self.kind = kind
        self._index = self._new(dim, kind)
        self._lock = threading.RLock()

    @staticmethod
    def _new(dim: int, kind: str) -> faiss.Index:
        if kind == "flat":
            return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        if kind == "hnsw":
            inner = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efSearch = HNSW_EF_SEARCH
            return faiss.IndexIDMap2(inner)
        raise ValueError(f"unknown index kind {kind!r}; known: flat, hnsw")

    @classmethod
    def for_size(cls, dim: int, n: int) -> VectorIndex:
        """Exact search for small collections, HNSW for large ones."""
        return cls(dim, "flat" if n < EXACT_LIMIT else "hnsw")

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._lock:
            # HNSW cannot remove; its ids are replaced by a rebuild (see KnowledgeBase.rebuild).
            if self.kind == "flat":
                self._index.remove_ids(faiss.IDSelectorBatch(ids))
            self._index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> None:
        if self.kind != "flat":
            raise NotImplementedError("removing from an HNSW index needs a rebuild")
        with self._lock:
            self._index.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64)))

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row; missing slots have id -1."""
        vectors = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
        with self._lock:
            k = max(1, min(k, len(self) or 1))
            scores, ids = self._index.search(vectors, k)
        return scores, ids

    def to_bytes(self) -> bytes:
        with self._lock:
            return bytes(faiss.serialize_index(self._index))

    @classmethod
    def from_bytes(cls, data: bytes, kind: str) -> VectorIndex:
        index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        obj = cls(index.d, kind)
        obj._index = index
        return obj


class IndexSnapshots:
    """Where a tenant's snapshot lives: ``<dir>/<tenant>.faiss`` plus ``<tenant>.json`` (mark, encoder)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _paths(self, tenant: str) -> tuple[Path, Path]:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in tenant)
        return self.directory / f"{safe}.faiss", self.directory / f"{safe}.json"

    def save(self, tenant: str, index: VectorIndex, mark: int, encoder: str) -> None:
        index_path, meta_path = self._paths(tenant)
        _atomic_write(index_path, index.to_bytes())
        meta = {"mark": mark, "encoder": encoder, "kind": index.kind, "size": len(index)}
        _atomic_write(meta_path, json.dumps(meta).encode())

    def load(self, tenant: str, encoder: str) -> tuple[VectorIndex, int] | None:
        """The snapshot and its mark, or None when absent, unreadable or built with another encoder."""
        index_path, meta_path = self._paths(tenant)
        if not index_path.exists() or not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("encoder") != encoder:
                logger.warning("snapshot for tenant %s was built with %s; rebuilding", tenant, meta.get("encoder"))
                return None
            index = VectorIndex.from_bytes(index_path.read_bytes(), meta.get("kind", "flat"))
        except (OSError, ValueError, RuntimeError) as exc:
            logger.warning("snapshot for tenant %s unreadable (%s); rebuilding from the database", tenant, exc)
            return None
        return index, int(meta["mark"])

    def delete(self, tenant: str) -> None:
        for path in self._paths(tenant):
            path.unlink(missing_ok=True)


def catch_up(index: VectorIndex, store: DocumentStore, tenant: str, mark: int) -> int:
    """Apply the database's changes after ``mark`` to the index; returns the new mark."""
    changes = store.changes_since(tenant, mark)
    if not changes:
        return mark
    touched = sorted({c.row_id for c in changes})
    current = store.vectors(touched)
    gone = np.array([r for r in touched if r not in current], dtype=np.int64)
    if len(gone):
        index.remove(gone)
    if current:
        ids = np.array(list(current), dtype=np.int64)
        index.upsert(ids, np.stack([current[int(i)] for i in ids]))
    logger.info("tenant %s: caught up %d changes (%d rows)", tenant, len(changes), len(touched))
    return changes[-1].seq
