"""KnowledgeBase: the store plus its derived indexes (FAISS per encoder, BM25), kept in step; hybrid search.

Writes go to the database first (the source of truth, fsynced), then to every index; indexes are
snapshotted atomically and caught up from the database's change log on start.

Search gathers candidates from every channel, gives each candidate every channel's similarity in
[0, 1], and ranks by their weighted mean:

- dense, one channel per encoder: cosine of query and document embeddings measured around the
  collection's mean vector (shrunk toward 0 for small collections), clipped at 0;
- lexical: BM25 (bm25s; jieba words for Chinese, light-stemmed words and identifier parts for
  English; a title counts ``TITLE_WEIGHT`` times) divided by the query's BM25 score against
  itself, clipped at 1.

Within one language (languages are ISO 639 codes from ``knowledge.text.identify_language``),
``Hit.score = sum(w_c * s_c) / sum(w_c)`` over the channels that understand it: BM25, an
English-only encoder only when both are English, USE-m3 always. So 1.0 means every such channel
sees the document as the query itself and 0 nothing in common. Across two languages (a Portuguese
query, an English case) words cannot be compared: only the cross-lingual encoders score the pair,
by their raw cosine mapped onto the query language's scale (``CROSS_LANGUAGE_MAPS``, fitted on
training data), so BM25's word overlap never decides between languages and one relevance floor per
query language holds for hits in any language. The score is comparable across queries (the
duplicate thresholds rely on that) but it is not a probability. Weights per query language are
``HybridConfig``. Without query text only the given vector is used and the score is its centred
cosine.
"""

from __future__ import annotations

import logging
import threading
import time
import zipfile
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import numpy as np

from embeddings import Encoder
from embeddings.text import MAX_TEXT_CHARS, ticket_text
from knowledge.index import IndexSnapshots, VectorIndex
from knowledge.lexical import LexicalIndex, LexicalQuery, Scored
from knowledge.memory import release_free_memory
from knowledge.store import CHANGES_CHANNEL, Change, Document, DocumentStore, SearchFilters
from knowledge.text import (
    TITLE_WEIGHT,
    TOKENIZER_VERSION,
    UNDETERMINED,
    field_tokens,
    is_chinese,
    same_language,
    surface_tokens,
    text_language,
)

logger = logging.getLogger(__name__)

# Snapshot after this many changes since the last one, or this share of the collection if more
# (a snapshot rewrites everything; a restart replays what came after it from the database).
SNAPSHOT_EVERY = 500
SNAPSHOT_SHARE = 0.1
#: Followers on PostgreSQL LISTEN for the change log's commits (off: poll only; benchmarks compare).
LISTEN = True
LEXICAL = "bm25"
# A catch-up of at least this many rows hands its temporary arrays' memory back (``knowledge.memory``).
BULK_CHANGES = 2_000
T = TypeVar("T")


# The text an encoder sees for a document or query: the same text tickets are encoded with.
embedding_text = ticket_text


@dataclass(frozen=True)
class Hit:
    document: Document
    score: float  # weighted mean of the channels' similarities in [0, 1]; see the module docstring
    matched_terms: tuple[str, ...] = ()  # the query's words the document contains, rarest first
    channels: Mapping[str, float] = field(default_factory=dict)  # each channel's similarity


# Floors fitted on the shared datasets by ``python -m eval.relevance_floor``: the score that keeps 95 %
# of true matches (Hadoop gold duplicates found in the top 100; cn-ict train tickets' nearest other
# ticket of the same label, leave-one-out). A starting point for ``HybridConfig.floors`` on similar data.
RELEVANCE_FLOORS: Mapping[str, float] = {"en": 0.185, "zh": 0.449}

# A hit in another language than the query's is scored by the cross-lingual encoders' *raw* cosine
# (centring on the collection's mean, which helps within one language, moves a query toward or
# away from the collection's language: on cn-ict train, English descriptions find their Chinese
# ticket at R@1 0.825 raw vs 0.650 centred), mapped onto the query language's scale by
# ``scale * cosine + shift``: the map that sends the 5th percentile and the median of true
# cross-language matches' cosines to those of true same-language matches' scores, so that one
# floor per query language holds for both and the two kinds of hit rank on one scale. Keyed
# "query>case" (ISO 639 codes), then "query>*", then "*". Fitted by ``python -m eval.relevance_floor``
# on training data only (English descriptions written for cn-ict *train* tickets and the project's
# generated bilingual articles for English <-> Chinese; Hadoop duplicates and cn-ict train tickets
# for the same-language scales); pairs without data of their own use their query language's map.
CROSS_LANGUAGE_MAPS: Mapping[str, tuple[float, float]] = {
    "en>*": (1.279, -0.528),
    "zh>*": (1.389, -0.376),
    "*": (1.279, -0.528),
}


@dataclass(frozen=True)
class HybridConfig:
    """Channel weights per query language family ("en" for any non-Chinese query, "zh").

    The table gives the weights of a query's channels; which channels apply to a document depends
    on the pair of languages (query, document): see ``KnowledgeBase._fuse``.

    Chosen on training data only: English on the Hadoop *train* duplicate pairs (100 of the 127
    evaluation pairs; SeaMonkey is held out), Chinese by leave-one-out over the cn-ict train tickets.
    These weights apply to pairs within one language; a pair across two languages is scored by the
    cross-lingual encoders alone through ``cross_maps`` (see ``_fuse``).

    A channel is ``bm25`` or an encoder; an encoder's weight is looked up by its full name, then by
    its kind (the part before ``:``), then ``*``. A weight of 0 switches a channel off.
    """

    weights: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: {
            "en": {LEXICAL: 1.0, "use-m3": 0.1, "sentence-transformers": 1.0, "onnx": 1.0, "*": 1.0},
            "zh": {LEXICAL: 0.25, "use-m3": 1.0, "sentence-transformers": 0.0, "onnx": 0.0, "*": 1.0},
        }
    )
    # Channels that understand one language only; the others (USE-m3, BM25 within a language) any.
    languages: Mapping[str, str] = field(
        default_factory=lambda: {"sentence-transformers": "en", "onnx": "en"}
    )
    # Relevance floor per query language family: a similar-case search (``relevant_only``) returns
    # no hit scoring below it, so an off-topic ticket gets no suggestions rather than the least
    # unrelated cases. Off by default: scores depend on the collection, and the floors fitted on the
    # shared datasets (``RELEVANCE_FLOORS``) do not carry over to the demo's (setting ``search_floors``).
    floors: Mapping[str, float] = field(default_factory=dict)
    # A hit in another language: its cross-lingual channels' raw cosine mapped by (scale, shift);
    # see ``CROSS_LANGUAGE_MAPS``.
    cross_maps: Mapping[str, tuple[float, float]] = field(default_factory=lambda: dict(CROSS_LANGUAGE_MAPS))
    candidates: int = 50  # fetched per channel before fusion (at least 4k)
    centre_prior: float = 100.0  # dense similarity is cosine around the collection mean, shrunk by this

    def language_of(self, channel: str) -> str | None:
        """The one language a channel understands, or None for any."""
        for key in (channel, channel.split(":", 1)[0]):
            if key in self.languages:
                return self.languages[key]
        return None

    def floor(self, language: str | None) -> float:
        """The relevance floor for a query of this language family (0 without query text)."""
        if language is None:
            return 0.0
        return float(self.floors.get(language, self.floors.get("en", 0.0)))

    def cross_map(self, query: str, case: str) -> tuple[float, float]:
        """(scale, shift) for a hit in language ``case`` found by a query in language ``query``."""
        family = "zh" if query == "zh" else query
        for key in (f"{query}>{case}", f"{family}>*", "en>*" if family != "zh" else "zh>*", "*"):
            if key in self.cross_maps:
                scale, shift = self.cross_maps[key]
                return float(scale), float(shift)
        return 1.0, 0.0

    def weight(self, language: str, channel: str) -> float:
        table = self.weights.get(language) or self.weights.get("en") or {}
        for key in (channel, channel.split(":", 1)[0], "*"):
            if key in table:
                return float(table[key])
        return 1.0


# A kind holding at most this share of a tenant's documents is searched over its own rows directly.
MINORITY_SHARE = 0.25


@dataclass
class _Shard:
    """One tenant's derived indexes and the change-log mark each reflects (and last saved)."""

    dense: dict[str, VectorIndex]
    lexical: LexicalIndex
    marks: dict[str, int]
    saved: dict[str, int]
    # Row ids per document kind, ascending, with the mark they reflect: read once, then kept level by
    # each catch-up (``_follow_kinds``); read again only if the mark moved some other way.
    kind_rows: dict[str, tuple[int, np.ndarray]] = field(default_factory=dict)

    @property
    def mark(self) -> int:
        return min(self.marks.values())


def _dense_component(encoder: str) -> str:
    return f"dense-{encoder}"


@dataclass(frozen=True)
class _Query:
    """What a search needs of its query text, worked out once however many kinds it searches."""

    language: str | None  # the query's ISO 639 code (None without text)
    dense_weights: Mapping[str, float]  # encoder -> weight, those with a query vector
    vectors: Mapping[str, np.ndarray]  # encoder -> the query's vector
    lexical_weight: float
    lexical: LexicalQuery | None  # None: no BM25 channel for this query
    lexical_norm: float  # the query's BM25 score against itself
    lexical_scores: Scored | None  # its BM25 scores over every document

    @classmethod
    def of(
        cls, kb: KnowledgeBase, shard: _Shard, vector: np.ndarray, text: str | None, title: str | None
    ) -> _Query:
        return cls.prepare(kb, shard, text, title).with_vector(kb, vector)

    def with_vector(self, kb: KnowledgeBase, vector: np.ndarray) -> _Query:
        """The query with the main encoder's vector of its text (``prepare`` works out the rest)."""
        vectors = {kb.encoder.name: np.asarray(vector, dtype=np.float32).reshape(-1), **self.vectors}
        return replace(
            self,
            dense_weights={n: w for n, w in self.dense_weights.items() if n in vectors},
            vectors=vectors,
        )

    @classmethod
    def prepare(cls, kb: KnowledgeBase, shard: _Shard, text: str | None, title: str | None) -> _Query:
        """Everything of the query but the main encoder's vector: language, channel weights (all of the
        language's, until ``with_vector``), the further encoders' vectors, BM25."""
        # A query reads what the encoder reads: the lexical channel's jieba HMM costs ~0.1 ms per
        # Han character, so a 20,000-character ticket would spend seconds on words past the cap.
        text = text[:MAX_TEXT_CHARS] if text else text
        title = title[:MAX_TEXT_CHARS] if title else title
        # The query's language: its family picks the weight table, its code which documents'
        # words it can be compared with.
        query_language = text_language(text) if text else None
        family = None if query_language is None else ("zh" if query_language == "zh" else "en")
        dense_weights, lexical_weight = kb._channel_weights(family)
        vectors: dict[str, np.ndarray] = {}  # the further encoders' (the main one's: ``with_vector``)
        if text:
            query_text = embedding_text("", text)
            for encoder in kb.extra_encoders:
                if encoder.name in dense_weights:
                    vectors[encoder.name] = encoder.encode([query_text])[0]
        lexical: LexicalQuery | None = None
        norm = 0.0
        scores: Scored | None = None
        if lexical_weight > 0 and text:
            if title and text.startswith(title + "\n"):
                # A ticket's text is its title, a line break and its body: the title read once.
                title_pairs = surface_tokens(title)
                pairs = title_pairs + surface_tokens(text[len(title) + 1 :])
                pairs += title_pairs * (TITLE_WEIGHT - 1)
            else:
                pairs = surface_tokens(text)
                if title:
                    pairs += surface_tokens(title) * (TITLE_WEIGHT - 1)
            lexical = shard.lexical.query(pairs)
            norm = shard.lexical.self_score(lexical)
            scores = shard.lexical.score(lexical)
        return cls(
            query_language,
            dict(dense_weights),
            vectors,
            lexical_weight,
            lexical,
            norm,
            scores,
        )


@dataclass(frozen=True)
class PreparedQueries:
    """``KnowledgeBase.prepare_queries``: queries worked out but for their main vectors."""

    tenant: str
    shard: _Shard
    texts: tuple[str | None, ...]
    titles: tuple[str | None, ...]
    queries: tuple[_Query, ...]


@dataclass(frozen=True)
class _Ranking:
    """A query's candidate rows of one search, ranked best first, with what their hits report."""

    ranked: list[int]
    fused: dict[int, float]  # row -> fused score
    crossing: set[int]  # rows in another language than the query
    weights: dict[str, float]  # channel -> weight
    rows: list[int]  # the candidate rows, ascending: the positions of the arrays below
    similarities: dict[str, np.ndarray]  # channel -> similarity of each row (0: none)
    plain: dict[str, np.ndarray]  # encoder -> raw cosine of each row (0: no stored vector)
    lexical: LexicalQuery | None

    def at(self, row: int) -> int:
        """The position of a candidate row in ``rows``."""
        return bisect_left(self.rows, row)


def _follow_kinds(shard: _Shard, touched: np.ndarray, kinds: Mapping[int, str], mark: int) -> None:
    """Keep each kind's cached row ids level with a catch-up's changes, at its new ``mark``.

    ``touched``: the changed rows, ascending; ``kinds``: the kind of each of them still stored (the
    rest were deleted). Rows stay ascending, as a fresh read gives them (``_rows_of_kind``), so a
    search answers the same as in a fresh process; re-reading every row id of a kind after each
    write cost ~40 ms at 100k documents, 0.4 s at 1M. New arrays, never changed in place: searches
    read them without a lock, and the index's caches key on the array.
    """
    for kind, (_, rows) in list(shard.kind_rows.items()):
        at = np.searchsorted(rows, touched)
        found = at < len(rows)
        found[found] = rows[at[found]] == touched[found]
        added = np.fromiter((r for r in touched.tolist() if kinds.get(r) == kind), dtype=np.int64)
        kept = np.delete(rows, at[found]) if found.any() else rows
        shard.kind_rows[kind] = (mark, np.insert(kept, np.searchsorted(kept, added), added))


# Ranked rows read beyond k and the excluded ids, for rows of other kinds among a search's nearest.
PICK_MARGIN = 5


def _pick_step(k: int, exclude_ids: Sequence[str], margin: int = PICK_MARGIN) -> int:
    """Ranked rows read from the database at a time while picking ``k`` hits."""
    return max(1, k + len(set(exclude_ids)) + margin)


class KnowledgeBase:
    """Solved cases and KB articles: writes go to the database first, then to every index."""

    def __init__(
        self,
        store: DocumentStore,
        encoder: Encoder,
        snapshot_dir: Path,
        extra_encoders: Sequence[Encoder] = (),
        config: HybridConfig | None = None,
    ) -> None:
        self.store = store
        self.encoder = encoder
        self.extra_encoders = tuple(extra_encoders)
        self.config = config or HybridConfig()
        self.snapshots = IndexSnapshots(snapshot_dir)
        self._tenants: dict[str, _Shard] = {}
        self._lock = threading.RLock()
        self._follower: _Follower | None = None

    @property
    def encoders(self) -> tuple[Encoder, ...]:
        return (self.encoder, *self.extra_encoders)

    def load(self) -> None:
        """Open the database and bring every tenant's indexes up to date with it."""
        self.store.open()
        for extra in self.extra_encoders:
            extra.load()
        for tenant in self.store.tenants():
            self._shard(tenant)
        release_free_memory()  # loading's temporary arrays (~150 MiB of free heap at 100k documents)

    # ------------------------------------------------------------------ indexes

    def _components(self) -> list[str]:
        return [*(_dense_component(e.name) for e in self.encoders), LEXICAL]

    def _shard(self, tenant: str) -> _Shard:
        shard = self._tenants.get(tenant)  # no lock for a loaded tenant: searches never wait here
        if shard is not None:
            return shard
        with self._lock:
            shard = self._tenants.get(tenant)
            if shard is not None:
                return shard
            self.snapshots.prune(tenant, self._components())
            dense: dict[str, VectorIndex] = {}
            marks: dict[str, int] = {}
            saved: dict[str, int] = {}
            for encoder in self.encoders:
                name = _dense_component(encoder.name)
                index, marks[name] = self._restore(tenant, name, VectorIndex.read)
                dense[encoder.name] = index if index is not None else VectorIndex(encoder.dim)
                saved[name] = marks[name]
            restored, marks[LEXICAL] = self._restore(tenant, LEXICAL, LexicalIndex.read)
            lexical = restored if restored is not None else LexicalIndex()
            # A snapshot in an older layout is written again once loaded (BM25's held every token:
            # twice the bytes, and a load that peaked 110 MiB higher at 1M documents).
            saved[LEXICAL] = -1 if restored is not None and restored.outdated_snapshot else marks[LEXICAL]
            shard = _Shard(dense, lexical, marks, saved)
            self._catch_up(tenant, shard)
            if not any(shard.marks.values()):
                # A tenant without a single stored document (a read naming an unknown tenant) gets
                # an empty shard that is neither kept nor written: reads never create tenants.
                return shard
            self._tenants[tenant] = shard
            behind = [c for c in marks if shard.saved[c] != shard.marks[c]]
            if behind:
                self._snapshot(tenant, shard, behind)
            return shard

    def _identity(self, component: str) -> dict[str, object]:
        """What a snapshot must have been built with to be reused: the encoder, or the tokenizer version."""
        if component == LEXICAL:
            return {"tokenizer": TOKENIZER_VERSION}
        encoder = next(e for e in self.encoders if _dense_component(e.name) == component)
        return {"encoder": encoder.name, "dim": encoder.dim}

    def _restore(self, tenant: str, component: str, parse: Callable[[BinaryIO], T]) -> tuple[T | None, int]:
        """A component from its snapshot and the mark it reflects, or (None, 0) to rebuild it from the database."""
        with self.snapshots.open(tenant, component, self._identity(component)) as opened:
            if opened is None:
                return None, 0
            try:
                return parse(opened[0]), opened[1]
            except (ValueError, KeyError, OSError, RuntimeError, EOFError, zipfile.BadZipFile) as exc:
                logger.warning(
                    "snapshot %s of tenant %s is corrupt (%s); rebuilding from the database",
                    component,
                    tenant,
                    exc,
                )
                return None, 0

    def _catch_up(self, tenant: str, shard: _Shard) -> list[Change]:
        """Apply the database's changes after each index's mark to it (idempotent replay); returns them."""
        changes = self.store.changes_since(tenant, shard.mark)
        if not changes:
            return changes
        last = changes[-1].seq
        touched = sorted({c.row_id for c in changes})
        kinds: dict[int, str] = {}
        for start in range(0, len(touched), 2000):
            kinds.update(self._apply(shard, touched[start : start + 2000]))
        for component in shard.marks:
            shard.marks[component] = last
        _follow_kinds(shard, np.asarray(touched, dtype=np.int64), kinds, last)
        for index in shard.dense.values():
            index.resize_for(len(index))
        shard.lexical.refresh()  # here, under the write lock, so that searches find it clean
        if len(touched) >= BULK_CHANGES:
            release_free_memory()
        logger.info("tenant %s: caught up %d changes (%d rows)", tenant, len(changes), len(touched))
        return changes

    def _apply(self, shard: _Shard, rows: Sequence[int]) -> dict[int, str]:
        """Bring every index level with the database's ``rows``; returns the kind of each row still stored."""
        docs = self.store.get_rows(rows)
        gone = np.array([r for r in rows if r not in docs], dtype=np.int64)
        for encoder in self.encoders:
            index = shard.dense[encoder.name]
            if len(gone):
                index.remove(gone)
            vectors = self.store.vectors(list(docs), encoder.name) if docs else {}
            missing = [r for r in docs if r not in vectors]
            if missing:
                # A row written without this encoder's vector (an encoder added to the config): embed it now.
                fresh = encoder.encode([embedding_text(docs[r].title, docs[r].body) for r in missing])
                computed = dict(zip(missing, fresh, strict=True))
                self.store.put_vectors(encoder.name, computed)
                vectors.update(computed)
            if vectors:
                ids = np.fromiter(vectors, dtype=np.int64, count=len(vectors))
                index.upsert(ids, np.stack([vectors[int(i)] for i in ids]))
        shard.lexical.remove(gone.tolist())
        for row, doc in docs.items():
            text = f"{doc.title}\n{doc.body}"
            shard.lexical.upsert(
                row, field_tokens(doc.title, doc.body), is_chinese(text), language=text_language(text)
            )
        return {row: doc.kind for row, doc in docs.items()}

    def _snapshot(self, tenant: str, shard: _Shard, components: Iterable[str] | None = None) -> None:
        for component in components if components is not None else list(shard.marks):
            if component == LEXICAL:
                data: bytes | Callable[[BinaryIO], None] = shard.lexical.to_bytes()
            else:
                encoder = next(e for e in self.encoders if _dense_component(e.name) == component)
                data = shard.dense[encoder.name].write
            self.snapshots.save(tenant, component, data, shard.marks[component], self._identity(component))
            shard.saved[component] = shard.marks[component]

    def _sync(self, tenant: str) -> _Shard:
        with self._lock:
            shard = self._shard(tenant)
            self._catch_up(tenant, shard)
            size = len(shard.dense[self.encoder.name])
            if shard.mark - min(shard.saved.values()) >= max(SNAPSHOT_EVERY, SNAPSHOT_SHARE * size):
                self._snapshot(tenant, shard)
            return shard

    # ------------------------------------------------------------------ replicas

    def catch_up_all(self) -> int:
        """Apply every tenant's changes written since the last call, by any process (other replicas);
        returns how many were applied. A delete among them rewrites that tenant's snapshots, so no
        replica's disk keeps a deleted document."""
        follower = self._follower or _Follower(self, 0.0)
        return follower.poll()

    def follow(self, interval: float = 0.25) -> None:
        """Poll the change log every ``interval`` seconds in a background thread (idempotent)."""
        with self._lock:
            if self._follower is None:
                self._follower = _Follower(self, interval)
                self._follower.start()

    def stop_following(self) -> None:
        follower, self._follower = self._follower, None
        if follower is not None:
            follower.stop()

    def catch_up_lag(self) -> tuple[float, int]:
        """(seconds since the indexes were last seen level with the database, changes behind then);
        (0, 0) when not following."""
        follower = self._follower
        if follower is None:
            return 0.0, 0
        return max(0.0, time.monotonic() - follower.level_at), follower.behind

    # ------------------------------------------------------------------ writes

    def add(
        self, docs: Sequence[Document], vectors: np.ndarray | None = None, existing_only: bool = False
    ) -> list[int]:
        """Store documents (embedding them unless the main encoder's vectors are given) and index them.

        Every further encoder embeds the documents itself. Durable in the database when this returns.
        ``existing_only``: replace only documents still stored (``DocumentStore.upsert``).
        """
        row_ids = self.store_documents(docs, vectors, existing_only=existing_only)
        for tenant in {d.tenant for d in docs}:
            self._sync(tenant)
        return row_ids

    def store_documents(
        self, docs: Sequence[Document], vectors: np.ndarray | None = None, existing_only: bool = False
    ) -> list[int]:
        """Store documents with every encoder's vectors in the database, leaving the indexes alone.

        For bulk loads from several processes (``triage backfill``): the indexes catch up from the
        change log when ``load`` runs next. ``add`` is this plus the catch-up.
        """
        if not docs:
            return []
        texts = [embedding_text(d.title, d.body) for d in docs]
        if vectors is None:
            vectors = self.encoder.encode(texts)
        extra = {e.name: e.encode(texts) for e in self.extra_encoders}
        return self.store.upsert(docs, vectors, self.encoder.name, extra, existing_only=existing_only)

    def delete(self, tenant: str, kind: str, doc_ids: Sequence[str]) -> list[str]:
        """Delete documents from the database, every index and every snapshot on disk; returns the ids found."""
        deleted = self.store.delete(tenant, kind, doc_ids)
        if deleted:
            with self._lock:
                shard = self._sync(tenant)
                # Right to be forgotten: no snapshot on disk may keep a deleted document's vector or terms.
                self._snapshot(tenant, shard)
        return deleted

    def flush(self) -> None:
        """Write snapshots of every index that is behind the database (on shutdown, after bulk loads)."""
        with self._lock:
            for tenant, shard in self._tenants.items():
                behind = [c for c in shard.marks if shard.saved[c] != shard.marks[c]]
                if behind:
                    self._snapshot(tenant, shard, behind)

    def size(self, tenant: str) -> int:
        return len(self._shard(tenant).dense[self.encoder.name])

    def centred_vectors(self, tenant: str, rows: Sequence[int]) -> dict[int, np.ndarray]:
        """Rows' main-encoder vectors around the collection mean, unit length: dot products are search's cosines."""
        index = self._shard(tenant).dense[self.encoder.name]
        stored = index.vectors(rows)
        centre = index.centre(self.config.centre_prior)
        out = {}
        for row, vector in stored.items():
            shifted = vector - centre
            out[row] = shifted / max(float(np.linalg.norm(shifted)), 1e-12)
        return out

    def top_terms(self, tenant: str, rows: Sequence[int], limit: int = 5) -> tuple[str, ...]:
        """The terms a group of documents share most, rarest first (labels for spikes and clusters)."""
        return self._shard(tenant).lexical.top_terms(rows, limit)

    # ------------------------------------------------------------------ search

    def search(
        self,
        vector: np.ndarray,
        tenant: str,
        k: int = 5,
        kind: str = "case",
        exclude_ids: Sequence[str] = (),
        *,
        text: str | None = None,
        title: str | None = None,
        filters: SearchFilters | None = None,
        relevant_only: bool = False,
    ) -> list[Hit]:
        """The k documents of one kind most similar to a query, best first.

        ``vector`` is the query's embedding by the main encoder. ``text`` (title and body, as the
        ticket reads) switches on BM25 and the further encoders; ``title``, when given, is weighted
        like document titles. ``filters`` restrict by department, status, language, date, id.
        ``relevant_only`` drops hits below the relevance floor of the query's language
        (``HybridConfig.floors``): an off-topic ticket gets fewer hits or none.
        """
        return self.search_kinds(
            vector,
            tenant,
            {kind: k},
            exclude_ids,
            text=text,
            title=title,
            filters=filters,
            relevant_only=relevant_only,
        )[kind]

    def search_kinds(
        self,
        vector: np.ndarray,
        tenant: str,
        kinds: Mapping[str, int],
        exclude_ids: Sequence[str] = (),
        *,
        text: str | None = None,
        title: str | None = None,
        filters: SearchFilters | None = None,
        relevant_only: bool = False,
    ) -> dict[str, list[Hit]]:
        """``search`` for several kinds at once (``{"case": 5, "article": 3}``): the query is read once.

        Its language, BM25 tokens, self-score and BM25 scores over every document, and the further
        encoders' embeddings, are shared by the kinds; each kind then gets exactly ``search``'s hits.
        """
        shard = self._shard(tenant)
        if len(shard.dense[self.encoder.name]) == 0:
            return {kind: [] for kind in kinds}
        query = _Query.of(self, shard, vector, text, title)
        out: dict[str, list[Hit]] = {}
        for kind, k in kinds.items():
            hits = self._search_kind(query, tenant, shard, k, kind, exclude_ids, filters)
            if relevant_only and text and self.config.floors:  # off by default: no language check then
                floor = self.config.floor("zh" if text_language(text) == "zh" else "en")
                hits = [h for h in hits if h.score >= floor]
            out[kind] = hits
        return out

    def prepare_queries(
        self, tenant: str, texts: Sequence[str | None], titles: Sequence[str | None]
    ) -> PreparedQueries:
        """What ``search_kinds_many`` works out of its queries' texts without their vectors (language,
        channel weights, BM25 scores), for a caller whose vectors are still being computed."""
        shard = self._shard(tenant)
        return PreparedQueries(
            tenant,
            shard,
            tuple(texts),
            tuple(titles),
            tuple(
                _Query.prepare(self, shard, text, title) for text, title in zip(texts, titles, strict=True)
            ),
        )

    def search_kinds_many(
        self,
        vectors: np.ndarray,
        tenant: str,
        kinds: Mapping[str, int],
        texts: Sequence[str | None],
        titles: Sequence[str | None],
        exclude_ids: Sequence[Sequence[str]],
        *,
        relevant_only: bool = False,
        prepared: PreparedQueries | None = None,
    ) -> list[dict[str, list[Hit]]]:
        """``search_kinds`` for many queries of one tenant: each gets exactly what it gets alone.

        Per batch instead of per query: one FAISS call per kind and encoder for every query (where
        the index answers a query the same among others, ``VectorIndex.batch_exact``), and one
        database read of the documents the queries' first ranks need. BM25 and the fusion stay per
        query. No filters: what a triage batch asks. ``prepared``: ``prepare_queries`` of the same
        tenant, texts and titles (else ignored); its BM25 scores are those of the index then.
        """
        n = len(vectors)
        shard = self._shard(tenant)
        if len(shard.dense[self.encoder.name]) == 0:
            return [{kind: [] for kind in kinds} for _ in range(n)]
        if (
            prepared is not None
            and prepared.tenant == tenant
            and prepared.shard is shard
            and prepared.texts == tuple(texts)
            and prepared.titles == tuple(titles)
        ):
            queries = [
                query.with_vector(self, vector)
                for query, vector in zip(prepared.queries, vectors, strict=True)
            ]
        else:
            queries = [
                _Query.of(self, shard, vector, text, title)
                for vector, text, title in zip(vectors, texts, titles, strict=True)
            ]
        size = len(shard.dense[self.encoder.name])
        plans: list[tuple[str, int, np.ndarray | None, list[_Ranking]]] = []
        wanted: set[int] = set()
        for kind, k in kinds.items():
            of_kind = self._rows_of_kind(tenant, shard, kind)
            allowed = of_kind if len(of_kind) <= MINORITY_SHARE * size else None
            fetches = [self._fetch(k, excluded) for excluded in exclude_ids]
            dense = self._dense_many(shard, queries, fetches, allowed)
            rankings = [
                self._rank(shard, query, fetch, allowed, found)
                for query, fetch, found in zip(queries, fetches, dense, strict=True)
            ]
            # A kind searched over its own rows ranks only its documents: the first k (past the
            # excluded ids) are its hits unless one changed meanwhile, which ``_pick`` reads on for.
            margin = 0 if allowed is not None else PICK_MARGIN
            for ranking, excluded in zip(rankings, exclude_ids, strict=True):
                wanted.update(ranking.ranked[: _pick_step(k, excluded, margin)])
            plans.append((kind, k, allowed, rankings))
        docs = self.store.get_rows(sorted(wanted))
        out: list[dict[str, list[Hit]]] = [{} for _ in range(n)]
        for kind, k, allowed, rankings in plans:
            for i, ranking in enumerate(rankings):
                margin = 0 if allowed is not None else PICK_MARGIN
                hits = self._pick(shard, ranking, k, kind, exclude_ids[i], None, docs, margin)
                if len(hits) < k and allowed is None:
                    # As ``_search_kind``: too few of this kind among the nearest, search its rows.
                    rows = self._rows_of_kind(tenant, shard, kind)
                    if len(rows) > len(hits):
                        hits = self._search(shard, queries[i], k, kind, exclude_ids[i], None, rows)
                text = texts[i]
                if relevant_only and text and self.config.floors:
                    floor = self.config.floor("zh" if text_language(text) == "zh" else "en")
                    hits = [h for h in hits if h.score >= floor]
                out[i][kind] = hits
        return out

    def _dense_many(
        self, shard: _Shard, queries: Sequence[_Query], fetches: Sequence[int], allowed: np.ndarray | None
    ) -> list[dict[str, np.ndarray] | None]:
        """Each query's nearest rows by each of its dense channels: one FAISS call per encoder and
        candidate count; None for a query the index must search alone."""
        out: list[dict[str, np.ndarray] | None] = [{} for _ in queries]
        groups: dict[tuple[str, int], list[int]] = {}
        for i, (query, fetch) in enumerate(zip(queries, fetches, strict=True)):
            for name in query.dense_weights:
                groups.setdefault((name, fetch), []).append(i)
        for (name, fetch), members in groups.items():
            index = shard.dense[name]
            if not index.batch_exact:
                for i in members:
                    out[i] = None
                continue
            matrix = np.stack([queries[i].vectors[name] for i in members])
            # One OpenMP thread: a spinning thread team on shared cores costs more than it gains.
            _, ids = index.search(matrix, fetch, allowed, threads=1)
            for i, row in zip(members, ids, strict=True):
                found = out[i]
                if found is not None:
                    found[name] = row
        return out

    def _search_kind(
        self,
        query: _Query,
        tenant: str,
        shard: _Shard,
        k: int,
        kind: str,
        exclude_ids: Sequence[str],
        filters: SearchFilters | None,
    ) -> list[Hit]:
        filters = filters if filters is not None and not filters.empty else None
        if filters is not None:
            # Ascending, as a kind's rows: the exact subset search breaks ties by this order, which
            # the database leaves to its plan (an index's order on SQLite, any order on PostgreSQL).
            allowed: np.ndarray | None = np.sort(self.store.filter_rows(tenant, kind, filters))
        else:
            of_kind = self._rows_of_kind(tenant, shard, kind)
            # A minority kind (articles beside many cases) is searched over its own rows at once,
            # rather than found missing among the nearest and searched again.
            size = len(shard.dense[self.encoder.name])
            allowed = of_kind if len(of_kind) <= MINORITY_SHARE * size else None
        hits = self._search(shard, query, k, kind, exclude_ids, filters, allowed)
        if len(hits) < k and allowed is None:
            # Too few of this kind among the nearest: search again over exactly the allowed rows.
            allowed = self._rows_of_kind(tenant, shard, kind)
            if len(allowed) > len(hits):
                hits = self._search(shard, query, k, kind, exclude_ids, filters, allowed)
        return hits

    def _rows_of_kind(self, tenant: str, shard: _Shard, kind: str) -> np.ndarray:
        """The tenant's row ids of one kind, ascending: read once, then kept level by each catch-up."""
        cached = shard.kind_rows.get(kind)  # no lock when the cached rows are current
        if cached is not None and cached[0] == shard.mark:
            return cached[1]
        with self._lock:
            cached = shard.kind_rows.get(kind)  # a catch-up that held the lock may have updated them
            if cached is not None and cached[0] == shard.mark:
                return cached[1]
            mark = shard.mark
            rows = np.sort(self.store.filter_rows(tenant, kind, None))
            shard.kind_rows[kind] = (mark, rows)
            return rows

    def _channel_weights(self, language: str | None) -> tuple[dict[str, float], float]:
        if language is None:
            return {self.encoder.name: 1.0}, 0.0
        dense = {e.name: self.config.weight(language, e.name) for e in self.encoders}
        return {n: w for n, w in dense.items() if w > 0}, self.config.weight(language, LEXICAL)

    def _search(
        self,
        shard: _Shard,
        query: _Query,
        k: int,
        kind: str,
        exclude_ids: Sequence[str],
        filters: SearchFilters | None,
        allowed: np.ndarray | None,
    ) -> list[Hit]:
        ranking = self._rank(shard, query, self._fetch(k, exclude_ids), allowed)
        margin = 0 if allowed is not None else PICK_MARGIN
        return self._pick(shard, ranking, k, kind, exclude_ids, filters, {}, margin)

    def _fetch(self, k: int, exclude_ids: Sequence[str]) -> int:
        """How many candidates each channel gives a query that wants ``k`` hits."""
        return max(self.config.candidates, 4 * k, k + len(exclude_ids) + 10)

    def _rank(
        self,
        shard: _Shard,
        query: _Query,
        fetch: int,
        allowed: np.ndarray | None,
        dense_ids: Mapping[str, np.ndarray] | None = None,
    ) -> _Ranking:
        """Every candidate row of a query scored and ranked, best first (documents not read yet).

        ``dense_ids``: the dense channels' nearest rows when already searched (a batch's one call).
        """
        dense_weights, query_vectors = query.dense_weights, query.vectors
        candidates: set[int] = set()
        for name in dense_weights:
            if dense_ids is not None:
                ids = dense_ids[name]
            else:
                ids = shard.dense[name].search(query_vectors[name], fetch, allowed)[1][0]
            candidates.update(ids[ids >= 0].tolist())
        lexical_query = query.lexical
        raw: dict[int, float] = {}
        if lexical_query is not None:
            # One BM25 pass: its own top rows plus the dense channels' candidates.
            raw = shard.lexical.search(
                lexical_query, fetch, candidates=candidates, allowed=allowed, scored=query.lexical_scores
            )
            candidates |= set(raw)
        rows = sorted(candidates)
        # Every channel's similarities as one array over ``rows`` (0 where a channel has none).
        similarities: dict[str, np.ndarray] = {}
        if lexical_query is not None:
            column = np.zeros(len(rows))
            norm = query.lexical_norm
            if raw and norm > 0:
                at = np.searchsorted(np.asarray(rows, dtype=np.int64), np.fromiter(raw, np.int64, len(raw)))
                column[at] = np.minimum(1.0, np.fromiter(raw.values(), np.float64, len(raw)) / norm)
            similarities[LEXICAL] = column
        plain: dict[str, np.ndarray] = {}
        for name in dense_weights:
            similarities[name], plain[name] = self._cosines(
                shard.dense[name], query_vectors[name], rows, allowed
            )
        weights = dict(dense_weights)
        if lexical_query is not None:
            weights[LEXICAL] = query.lexical_weight
        scores, cross = self._fuse(rows, query.language, weights, similarities, plain, shard)
        fused = dict(zip(rows, scores.tolist(), strict=True))
        crossing = {rows[i] for i in np.flatnonzero(cross).tolist()}
        # Best first, ties by row: one stable argsort of the negated scores (rows are ascending, so
        # ties keep row order) rather than a Python key per row.
        ranked = np.asarray(rows, dtype=np.int64)[np.argsort(-scores, kind="stable")].tolist()
        return _Ranking(ranked, fused, crossing, weights, rows, similarities, plain, lexical_query)

    def _pick(
        self,
        shard: _Shard,
        ranking: _Ranking,
        k: int,
        kind: str,
        exclude_ids: Sequence[str],
        filters: SearchFilters | None,
        docs: dict[int, Document],
        margin: int = PICK_MARGIN,
    ) -> list[Hit]:
        """The first ``k`` ranked rows that are documents of ``kind`` the query may see, as hits.

        ``docs``: documents already read (a batch reads its queries' first rows at once); the rest
        are read here, a few ranks at a time (``_pick_step`` with ``margin``), and added to it.
        """
        excluded = set(exclude_ids)
        hits: list[Hit] = []
        ranked, fused, weights = ranking.ranked, ranking.fused, ranking.weights
        similarities, plain = ranking.similarities, ranking.plain
        step = _pick_step(k, exclude_ids, margin)
        for start in range(0, len(ranked), step):
            batch = ranked[start : start + step]
            missing = [row for row in batch if row not in docs]
            if missing:
                docs.update(self.store.get_rows(missing))
            for row in batch:
                doc = docs.get(row)
                if doc is None or doc.kind != kind or doc.doc_id in excluded:
                    continue
                if filters is not None and not filters.accepts(doc):
                    continue
                matched = shard.lexical.matched(ranking.lexical, row) if ranking.lexical is not None else ()
                at = ranking.at(row)
                if (
                    row in ranking.crossing
                ):  # the cross-lingual encoders' raw cosines its score was mapped from
                    channels = {
                        c: round(float(plain[c][at]), 4)
                        for c in weights
                        if c in plain and self.config.language_of(c) is None
                    }
                else:
                    channels = {c: round(float(similarities[c][at]), 4) for c in weights}
                hits.append(Hit(doc, fused[row], matched, channels))
                if len(hits) == k:
                    return hits
        return hits

    def _cosines(
        self, index: VectorIndex, query: np.ndarray, rows: Sequence[int], allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cosine similarity around the collection's (shrunk) mean, and raw cosine; both clipped to
        [0, 1], one value per row of ``rows`` (ascending; 0 for a row without a stored vector).
        ``allowed``: the rows the search was restricted to (their vectors may be at hand)."""
        cosines = np.zeros(len(rows))
        plain = np.zeros(len(rows))
        present, vectors = index.matrix(rows, within=allowed)
        if len(present) == 0:
            return cosines, plain
        at = np.searchsorted(np.asarray(rows, dtype=np.int64), present)
        centre = index.centre(self.config.centre_prior)
        matrix = vectors - centre
        shifted = query - centre
        norms = np.linalg.norm(matrix, axis=1) * max(float(np.linalg.norm(shifted)), 1e-12)
        cosines[at] = np.clip((matrix @ shifted) / np.maximum(norms, 1e-12), 0.0, 1.0)
        norms = np.linalg.norm(vectors, axis=1) * max(float(np.linalg.norm(query)), 1e-12)
        plain[at] = np.clip((vectors @ query) / np.maximum(norms, 1e-12), 0.0, 1.0)
        return cosines, plain

    def _fuse(
        self,
        rows: Sequence[int],
        language: str | None,
        weights: Mapping[str, float],
        similarities: Mapping[str, np.ndarray],
        raw: Mapping[str, np.ndarray],
        shard: _Shard,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each row's score, and whether it is in another language than the query (a cross pair).

        Pairs of languages, not "Chinese or not". Within one language (``same_language``): the
        weighted mean of the query language's channels that understand it (BM25, an English-only
        encoder only for English, a cross-lingual encoder always), on centred cosines. Across two
        languages only the cross-lingual encoders (USE-m3) can compare the texts: their weighted
        mean of *raw* cosines, mapped onto the query language's scale by the pair's
        ``HybridConfig.cross_map`` (see ``CROSS_LANGUAGE_MAPS``), so that BM25's word overlap never
        decides between languages and one floor per query language holds for both kinds of hit.
        """
        documents = shard.lexical.languages_of(rows)
        # A handful of languages among the rows: each language's answer is worked out once and
        # spread over its rows by their language's index.
        present = list(dict.fromkeys(documents))
        index_of = {d: i for i, d in enumerate(present)}
        codes = np.fromiter(map(index_of.__getitem__, documents), dtype=np.intp, count=len(rows))

        def per_row(answer: Sequence[bool]) -> np.ndarray:
            return np.asarray(answer, dtype=bool)[codes]

        def comparable(first: str) -> np.ndarray:
            return per_row([same_language(first, d) for d in present])

        if language is None or language == UNDETERMINED:
            cross = np.zeros(len(rows), dtype=bool)
        else:
            cross = per_row([d != UNDETERMINED and not same_language(language, d) for d in present])
        total = np.zeros(len(rows))
        score = np.zeros(len(rows))
        cross_total = np.zeros(len(rows))
        cross_score = np.zeros(len(rows))
        for channel, weight in weights.items():
            only = "same" if channel == LEXICAL else self.config.language_of(channel)
            if language is None or only is None:
                applies = np.ones(len(rows), dtype=bool)
            elif only == "same":
                applies = comparable(language)
            elif same_language(language, only):
                applies = comparable(only)
            else:
                applies = np.zeros(len(rows), dtype=bool)
            column = similarities[channel]
            within = applies & ~cross
            total += weight * within
            score += weight * within * column
            if only is None and channel in raw:  # a cross-lingual encoder
                column = raw[channel]
                cross_total += weight * cross
                cross_score += weight * cross * column
        fused = np.where(total > 0, score / np.maximum(total, 1e-12), 0.0)
        if cross.any():
            mean = np.where(cross_total > 0, cross_score / np.maximum(cross_total, 1e-12), 0.0)
            pair_maps = [self.config.cross_map(language or "", d) for d in present]
            scale = np.where(cross, np.array([m[0] for m in pair_maps], dtype=np.float64)[codes], 1.0)
            shift = np.where(cross, np.array([m[1] for m in pair_maps], dtype=np.float64)[codes], 0.0)
            mapped = np.where(cross_total > 0, np.clip(scale * mean + shift, 0.0, 1.0), 0.0)
            fused = np.where(cross, mapped, fused)
        return fused, cross


class _Follower:
    """Polls the change log's head; when it moved, catches up the tenants that changed."""

    def __init__(self, kb: KnowledgeBase, interval: float) -> None:
        self.kb = kb
        self.interval = interval
        self.seen = 0
        self.level_at = time.monotonic()
        self.behind = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self._listener: Any = None

    def start(self) -> None:
        # Every loaded tenant is level with its mark; a tenant created since has later changes.
        with self.kb._lock:
            self.seen = min((shard.mark for shard in self.kb._tenants.values()), default=0)
        self._thread = threading.Thread(target=self._run, name="kb-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _wait(self) -> bool:
        """Until the next poll is due; False when stopping. On PostgreSQL a commit that writes the
        change log wakes it at once (LISTEN/NOTIFY); the poll every ``interval`` stays the fallback
        (a notification lost while the listening connection reconnects is caught by it)."""
        db = self.kb.store.db
        if db.dialect != "postgresql" or not LISTEN:
            return not self._stop.wait(self.interval)
        try:
            if self._listener is None:
                self._listener = db.listener(CHANGES_CHANNEL)
            due = time.monotonic() + self.interval
            while not self._stop.is_set() and (left := due - time.monotonic()) > 0:
                # In slices of at most 0.5 s, so that stop() is not kept waiting.
                if any(True for _ in self._listener.notifies(timeout=min(left, 0.5), stop_after=1)):
                    break
        except Exception as exc:  # the server restarted: poll meanwhile, listen again next time
            logger.info("change notifications interrupted (%s); polling", type(exc).__name__)
            self._close_listener()
            return not self._stop.wait(self.interval)
        return not self._stop.is_set()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.close()
            except Exception:  # already broken
                logger.debug("closing the change listener failed", exc_info=True)

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._close_listener()

    def _loop(self) -> None:
        while self._wait():
            try:
                self.poll()
                if self._failing:
                    logger.info("change log reachable again; indexes caught up")
                self._failing = False
            except Exception as exc:  # a database outage: keep polling while the lag grows
                if not self._failing:
                    logger.warning("cannot read the change log (%s); retrying", type(exc).__name__)
                self._failing = True

    def poll(self) -> int:
        head = self.kb.store.head_seq()
        if head <= self.seen:
            self.level_at, self.behind = time.monotonic(), 0
            return 0
        self.behind = head - self.seen
        applied = 0
        for tenant in self.kb.store.tenants_changed_since(self.seen):
            with self.kb._lock:
                known = tenant in self.kb._tenants
                shard = self.kb._shard(tenant)
                changes = self.kb._catch_up(tenant, shard) if known else []
                if any(c.op == "delete" for c in changes):
                    self.kb._snapshot(tenant, shard)
                applied += len(changes)
        self.seen = head
        self.level_at, self.behind = time.monotonic(), 0
        return applied
