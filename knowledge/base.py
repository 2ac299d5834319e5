"""KnowledgeBase: the store plus its derived vector indexes, kept in step, searched by vector."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings import Encoder
from knowledge.index import IndexSnapshots, VectorIndex, catch_up
from knowledge.store import Document, DocumentStore

logger = logging.getLogger(__name__)

# Snapshot after this many changes since the last one; the database has everything meanwhile.
SNAPSHOT_EVERY = 500


@dataclass(frozen=True)
class Hit:
    document: Document
    score: float  # cosine similarity mapped from [-1, 1] to [0, 1]


@dataclass
class _TenantIndex:
    index: VectorIndex
    mark: int
    saved_mark: int


class KnowledgeBase:
    """Solved cases and KB articles: writes go to the database first, then to the index."""

    def __init__(self, store: DocumentStore, encoder: Encoder, snapshot_dir: Path) -> None:
        self.store = store
        self.encoder = encoder
        self.snapshots = IndexSnapshots(snapshot_dir)
        self._tenants: dict[str, _TenantIndex] = {}
        self._lock = threading.RLock()

    def load(self) -> None:
        """Open the database and bring every tenant's index up to date with it."""
        self.store.open()
        for tenant in self.store.tenants():
            self._tenant(tenant)

    def _tenant(self, tenant: str) -> _TenantIndex:
        with self._lock:
            state = self._tenants.get(tenant)
            if state is not None:
                return state
            loaded = self.snapshots.load(tenant, self.encoder.name)
            if loaded is None:
                index, mark = VectorIndex(self.encoder.dim), 0
                saved = -1
            else:
                index, mark = loaded
                saved = mark
            mark = catch_up(index, self.store, tenant, mark)
            state = _TenantIndex(index, mark, saved)
            self._tenants[tenant] = state
            if state.saved_mark != state.mark:
                self._snapshot(tenant, state)
            return state

    def _snapshot(self, tenant: str, state: _TenantIndex) -> None:
        self.snapshots.save(tenant, state.index, state.mark, self.encoder.name)
        state.saved_mark = state.mark

    def add(self, docs: Sequence[Document], vectors: np.ndarray | None = None) -> list[int]:
        """Store documents (embedding them unless vectors are given) and index them."""
        if not docs:
            return []
        if vectors is None:
            vectors = self.encoder.encode([d.text for d in docs])
        row_ids = self.store.upsert(docs, vectors, self.encoder.name)
        for tenant in {d.tenant for d in docs}:
            self._sync(tenant)
        return row_ids

    def delete(self, tenant: str, kind: str, doc_ids: Sequence[str]) -> list[str]:
        deleted = self.store.delete(tenant, kind, doc_ids)
        if deleted:
            self._sync(tenant)
            # Right to be forgotten: the snapshot on disk must not keep a deleted vector.
            with self._lock:
                self._snapshot(tenant, self._tenants[tenant])
        return deleted

    def _sync(self, tenant: str) -> None:
        with self._lock:
            state = self._tenant(tenant)
            state.mark = catch_up(state.index, self.store, tenant, state.mark)
            if state.mark - state.saved_mark >= SNAPSHOT_EVERY:
                self._snapshot(tenant, state)

    def flush(self) -> None:
        """Write snapshots of every index that is behind the database (on shutdown, after bulk loads)."""
        with self._lock:
            for tenant, state in self._tenants.items():
                if state.saved_mark != state.mark:
                    self._snapshot(tenant, state)

    def size(self, tenant: str) -> int:
        return len(self._tenant(tenant).index)

    def search(
        self,
        vector: np.ndarray,
        tenant: str,
        k: int = 5,
        kind: str = "case",
        exclude_ids: Sequence[str] = (),
    ) -> list[Hit]:
        """The k nearest documents of one kind for a query vector, best first."""
        state = self._tenant(tenant)
        if len(state.index) == 0:
            return []
        # Articles and cases share the tenant's index: over-fetch, then keep the requested kind.
        fetch = min(len(state.index), max(4 * k, k + len(exclude_ids) + 10))
        scores, ids = state.index.search(vector, fetch)
        row_ids = [int(i) for i in ids[0] if i >= 0]
        docs = self.store.get_rows(row_ids)
        hits: list[Hit] = []
        for score, row_id in zip(scores[0], ids[0], strict=False):
            doc = docs.get(int(row_id))
            if doc is None or doc.kind != kind or doc.doc_id in exclude_ids:
                continue
            hits.append(Hit(doc, float(np.clip((score + 1.0) / 2.0, 0.0, 1.0))))
            if len(hits) == k:
                break
        return hits
