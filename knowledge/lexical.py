"""BM25 over one tenant's documents with bm25s, updatable in place.

bm25s scores a static sparse matrix. Documents change one at a time here, so the index keeps two
bm25s segments: a large *main* segment, rebuilt rarely, and a small *delta* segment of documents
added or replaced since, rebuilt (cheaply) before the first search after a change. Both are built
with the statistics of the whole live collection, so their scores are comparable; a replaced or
deleted document is masked out of the main segment (``weight_mask``) until the next merge.

The snapshot holds the token ids of every live document and a vocabulary compacted to the terms
they use: a deleted document leaves no term behind on disk (right to be forgotten). The score
matrices are rebuilt from it on load, in about a second per 100k documents.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import bm25s
import numpy as np

from knowledge.text import UNDETERMINED

# Merge the delta into the main segment past this many documents or this share of the main one.
MERGE_MIN = 2_000
MERGE_SHARE = 0.1


@dataclass(frozen=True)
class LexicalQuery:
    """A tokenised query: token ids known to the index (repeats kept), and their surface words."""

    ids: np.ndarray
    surfaces: tuple[str, ...]
    unknown: tuple[str, ...]  # tokens no document has: they still count in the self-score


@dataclass(frozen=True)
class Scored:
    """A query's BM25 scores over the searched rows of one refresh of the index."""

    segments: tuple[_Segment, _Segment]
    rows: np.ndarray
    scores: np.ndarray


def _unique(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and their counts (a sort: numpy's hash-based unique is far slower here)."""
    ordered = np.sort(values, kind="stable")
    if len(ordered) == 0:
        return ordered, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    counts = np.diff(np.concatenate([starts, [len(ordered)]]))
    return ordered[starts], counts


class _Segment:
    """One bm25s index over a fixed set of rows; ``alive`` masks rows replaced or deleted since."""

    def __init__(self, rows: np.ndarray, model: bm25s.BM25 | None) -> None:
        self.rows = rows
        self.model = model
        # Where each row sits, as sorted arrays (16 bytes a row) rather than a dict (about 100 bytes a
        # row: 26 MiB at 100k documents).
        self._order = np.argsort(rows, kind="stable")
        self._sorted = np.asarray(rows, dtype=np.int64)[self._order]
        self.alive = np.ones(len(rows), dtype=np.float32)

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """Each row's position in this segment, -1 where it is not in it."""
        if len(self._sorted) == 0:
            return np.full(len(rows), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted, rows), len(self._sorted) - 1)
        return np.where(self._sorted[at] == rows, self._order[at], -1)

    def position(self, row: int) -> int | None:
        found = int(self.positions(np.array([row], dtype=np.int64))[0])
        return None if found < 0 else found

    def scores(self, ids: np.ndarray) -> np.ndarray:
        if self.model is None or len(self.rows) == 0:
            return np.zeros(len(self.rows), dtype=np.float32)
        n_vocab = len(self.model.scores["indptr"]) - 1
        ids = ids[ids < n_vocab]
        if len(ids) == 0:
            return np.zeros(len(self.rows), dtype=np.float32)
        return np.asarray(
            self.model.get_scores_from_ids(ids.tolist(), weight_mask=self.alive), dtype=np.float32
        )


class LexicalIndex:
    """BM25 ("lucene" variant) over token-id documents keyed by database row id."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._vocab: dict[str, int] = {}
        self._terms: list[str] = []
        self._df = np.zeros(0, dtype=np.int64)
        self._docs: dict[int, np.ndarray] = {}
        self._total_len = 0
        self._main = _Segment(np.zeros(0, dtype=np.int64), None)
        self._delta = _Segment(np.zeros(0, dtype=np.int64), None)
        # What searches read, replaced as one tuple (never changed in place but for ``alive``
        # masks), so a search takes no lock: it sees the segments before or after a refresh.
        self._segments = (self._main, self._delta)
        self._pending: set[int] = set()  # rows not in the main segment
        self._delta_stale = False
        self._dirty = False  # a write since the last refresh: the next search refreshes first
        # Per-search work done once per refresh: the searched rows, and masks of allowed rows.
        self._rows_cache: tuple[tuple[_Segment, _Segment], np.ndarray] | None = None
        self._mask_cache: list[tuple[tuple[_Segment, _Segment], np.ndarray, np.ndarray]] = []
        # Writes and refreshes take it; reads (query, search, matched, self_score) do not.
        self._lock = threading.RLock()
        self.chinese: set[int] = set()  # rows whose text is Chinese: BM25 only compares like with like
        # Each row's language (ISO 639 code or "und"): words are compared within one language only.
        self.languages: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, row_id: int) -> bool:
        return row_id in self._docs

    # ------------------------------------------------------------------ writes

    def _ids(self, tokens: Sequence[str]) -> np.ndarray:
        ids = np.empty(len(tokens), dtype=np.int32)
        for i, token in enumerate(tokens):
            index = self._vocab.get(token)
            if index is None:
                index = len(self._terms)
                self._vocab[token] = index
                self._terms.append(token)
            ids[i] = index
        if len(self._terms) > len(self._df):
            grown = np.zeros(max(len(self._terms), 2 * len(self._df), 1024), dtype=np.int64)
            grown[: len(self._df)] = self._df
            self._df = grown
        return ids

    def upsert(
        self, row_id: int, tokens: Sequence[str], chinese: bool = False, language: str | None = None
    ) -> None:
        """Add a document or replace its tokens; ``chinese`` and ``language`` (an ISO 639 code, by
        default "zh" or "und") record the document's language."""
        with self._lock:
            self.remove([row_id])
            ids = self._ids(tokens)
            self._docs[row_id] = ids
            if chinese:
                self.chinese.add(row_id)
            self.languages[row_id] = language or ("zh" if chinese else UNDETERMINED)
            self._df[_unique(ids)[0]] += 1
            self._total_len += len(ids)
            self._pending.add(row_id)
            self._delta_stale = True
            self._dirty = True

    def remove(self, row_ids: Iterable[int]) -> None:
        """Forget documents (unknown ids are ignored, so replaying a delete is harmless)."""
        with self._lock:
            for row_id in row_ids:
                ids = self._docs.pop(int(row_id), None)
                if ids is None:
                    continue
                self.chinese.discard(int(row_id))
                self.languages.pop(int(row_id), None)
                self._df[_unique(ids)[0]] -= 1
                self._total_len -= len(ids)
                position = self._main.position(int(row_id))
                if position is not None:
                    self._main.alive[position] = 0.0
                if int(row_id) in self._pending:
                    self._pending.discard(int(row_id))
                    self._delta_stale = True
                self._dirty = True

    # ------------------------------------------------------------------ building

    def _build(self, rows: Iterable[int]) -> _Segment:
        """A segment over ``rows`` scored with the whole collection's statistics."""
        rows_array = np.asarray(sorted(rows), dtype=np.int64)
        if len(rows_array) == 0 or not self._docs:
            return _Segment(rows_array, None)
        docs = [self._docs[int(r)] for r in rows_array]
        lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
        n_rows, n_vocab = len(docs), len(self._terms)
        tokens = np.concatenate(docs).astype(np.int64)
        owner = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
        # Sorted by term, then document: exactly the CSC layout bm25s scores from.
        keys, tf = _unique(tokens * n_rows + owner)
        term, doc_index = keys // n_rows, keys % n_rows
        n_docs = len(self._docs)
        avg_len = max(self._total_len / n_docs, 1e-9)
        df = self._df[:n_vocab].astype(np.float64)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        norm = self.k1 * (1 - self.b + self.b * lengths[doc_index] / avg_len)
        data = (idf[term] * tf / (tf + norm)).astype(np.float32)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(term, minlength=n_vocab))]).astype(np.int64)
        model = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        model.scores = {
            "data": data,
            "indices": doc_index.astype(np.int32),
            "indptr": indptr,
            "num_docs": n_rows,
        }
        model.vocab_dict = self._vocab
        model.nonoccurrence_array = None
        return _Segment(rows_array, model)

    def merge(self) -> None:
        """Rebuild the main segment over every live document; the delta becomes empty."""
        with self._lock:
            self._main = self._build(list(self._docs))
            self._delta = _Segment(np.zeros(0, dtype=np.int64), None)
            self._segments = (self._main, self._delta)
            self._pending.clear()
            self._delta_stale = False
            self._dirty = False

    def refresh(self) -> None:
        """Bring the searched segments up to date with the writes so far (the next search would).

        The knowledge base calls it after applying a batch of changes, so that searches find the
        index clean and never wait on the lock.
        """
        with self._lock:
            self._refresh()

    def _refresh(self) -> None:
        main_rows = len(self._main.rows)
        dead = main_rows - int(self._main.alive.sum())
        if len(self._pending) > max(MERGE_MIN, MERGE_SHARE * main_rows) or dead > MERGE_SHARE * max(
            main_rows, 1
        ):
            self.merge()
        elif self._delta_stale:
            self._delta = self._build(self._pending)
            self._segments = (self._main, self._delta)
            self._delta_stale = False
        self._dirty = False

    # ------------------------------------------------------------------ search

    def query(self, surface_tokens: Sequence[tuple[str, str]]) -> LexicalQuery:
        """Token ids of a query's (token, surface) pairs, keeping repeats (a title counts more)."""
        # No lock: terms are only ever added to the vocabulary, and a dict lookup is atomic.
        vocab = self._vocab
        known = [(vocab[t], s) for t, s in surface_tokens if t in vocab]
        unknown = tuple(t for t, _ in surface_tokens if t not in vocab)
        ids = np.array([i for i, _ in known], dtype=np.int32)
        return LexicalQuery(ids, tuple(s for _, s in known), unknown)

    def self_score(self, query: LexicalQuery) -> float:
        """BM25 of the query against itself as a document: the most a document can reasonably score."""
        n_docs = max(len(self._docs), 1)
        avg_len = max(self._total_len / n_docs, 1e-9)
        length = len(query.ids) + len(query.unknown)
        if length == 0:
            return 0.0
        norm = self.k1 * (1 - self.b + self.b * length / avg_len)
        df = self._df[query.ids].astype(np.float64) if len(query.ids) else np.zeros(0)
        ids, counts = _unique(query.ids)
        tf_of = dict(zip(ids.tolist(), counts.tolist(), strict=True))
        known = sum(
            float(np.log1p((n_docs - d + 0.5) / (d + 0.5))) * tf_of[int(i)] / (tf_of[int(i)] + norm)
            for i, d in zip(query.ids, df, strict=True)
        )
        unknown_idf = float(np.log1p((n_docs + 0.5) / 0.5))
        unknown_counts: dict[str, int] = {}
        for token in query.unknown:
            unknown_counts[token] = unknown_counts.get(token, 0) + 1
        rest = sum(unknown_idf * c / (c + norm) for c in unknown_counts.values() for _ in range(c))
        return known + rest

    def score(self, query: LexicalQuery) -> Scored:
        """The query's BM25 score of every document: compute once, pass to ``search`` for each kind."""
        if self._dirty:  # a write no refresh has seen yet (the knowledge base refreshes after its writes)
            with self._lock:
                self._refresh()
        segments = self._segments
        main, delta = segments
        if len(query.ids) == 0:
            return Scored(segments, self._rows_of(segments), np.zeros(0, dtype=np.float32))
        scores = np.concatenate([main.scores(query.ids), delta.scores(query.ids)])
        return Scored(segments, self._rows_of(segments), scores)

    def search(
        self,
        query: LexicalQuery,
        k: int,
        candidates: Iterable[int] = (),
        allowed: np.ndarray | None = None,
        scored: Scored | None = None,
    ) -> dict[int, float]:
        """BM25 scores of the top-k rows (restricted to ``allowed`` row ids when given) and of ``candidates``.

        ``scored``: this query's ``score`` already computed (a search of several kinds).
        """
        if len(query.ids) == 0:
            return {}
        if scored is None:
            scored = self.score(query)
        segments, rows, scores = scored.segments, scored.rows, scored.scores
        main, delta = segments
        if allowed is not None:
            scores = np.where(self._mask_of(segments, rows, allowed), scores, 0.0)
        out: dict[int, float] = {}
        if k > 0 and len(scores):
            top = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
            out.update((int(rows[i]), float(scores[i])) for i in top if scores[i] > 0)
        rest = np.fromiter((r for r in candidates if r not in out), dtype=np.int64)
        if len(rest):
            in_delta = delta.positions(rest)
            found = np.where(in_delta >= 0, len(main.rows) + in_delta, main.positions(rest))
            for row, index in zip(rest.tolist(), found.tolist(), strict=True):
                if index >= 0 and scores[index] > 0:
                    out[row] = float(scores[index])
        return out

    def _rows_of(self, segments: tuple[_Segment, _Segment]) -> np.ndarray:
        """The searched rows (main then delta), computed once per refresh rather than per search."""
        cached = self._rows_cache
        if cached is not None and cached[0] is segments:
            return cached[1]
        rows = np.concatenate([segments[0].rows, segments[1].rows])
        self._rows_cache = (segments, rows)
        return rows

    def _mask_of(
        self, segments: tuple[_Segment, _Segment], rows: np.ndarray, allowed: np.ndarray
    ) -> np.ndarray:
        """Which searched rows are ``allowed``; kept for the last few (segments, allowed) pairs, since the
        knowledge base passes the same array of a kind's rows until the index changes (``np.isin``
        over 100k rows took a millisecond a search)."""
        for seen_segments, seen_allowed, mask in self._mask_cache:
            if seen_segments is segments and seen_allowed is allowed:
                return mask
        mask = np.isin(rows, allowed)
        self._mask_cache = [(segments, allowed, mask), *self._mask_cache[:3]]
        return mask

    def matched(self, query: LexicalQuery, row_id: int, limit: int = 6) -> tuple[str, ...]:
        """The query's own words that the document contains, most informative first."""
        doc = self._docs.get(row_id)  # no lock: an atomic lookup of an array never changed in place
        if doc is None or len(query.ids) == 0:
            return ()
        # Sets of Python ints: np.isin costs ~30 us of set-up per call, several calls a search.
        ids = query.ids.tolist()
        present = set(doc.tolist()).intersection(ids)
        if not present:
            return ()
        df = self._df[query.ids].tolist()
        order = sorted(
            {
                s: (d, i)
                for i, (s, term, d) in enumerate(zip(query.surfaces, ids, df, strict=True))
                if term in present
            }.items(),
            key=lambda item: item[1],
        )
        return tuple(surface for surface, _ in order[:limit])

    def top_terms(self, rows: Iterable[int], limit: int = 5) -> tuple[str, ...]:
        """The terms most shared by a group of documents, weighted by rarity in the collection."""
        with self._lock:
            docs = [self._docs[r] for r in rows if r in self._docs]
            if not docs:
                return ()
            ids, counts = _unique(np.concatenate([_unique(d)[0] for d in docs]))
            n = max(len(self._docs), 1)
            weight = counts * np.log1p((n - self._df[ids] + 0.5) / (self._df[ids] + 0.5))
            order = np.argsort(-weight, kind="stable")[:limit]
            return tuple(self._terms[int(ids[i])] for i in order if counts[i] > 1 or len(docs) == 1)

    # ------------------------------------------------------------------ snapshots

    def to_bytes(self) -> bytes:
        """The live documents' tokens over a compacted vocabulary (no term of a deleted document)."""
        with self._lock:
            rows = np.array(sorted(self._docs), dtype=np.int64)
            used = np.flatnonzero(self._df[: len(self._terms)] > 0)
            remap = np.full(len(self._terms), -1, dtype=np.int32)
            remap[used] = np.arange(len(used), dtype=np.int32)
            docs = [remap[self._docs[int(r)]] for r in rows]
            terms = [self._terms[i] for i in used]
        lengths = np.array([len(d) for d in docs], dtype=np.int64)
        tokens = np.concatenate(docs) if docs else np.zeros(0, dtype=np.int32)
        blob = "\n".join(terms).encode("utf-8")
        buffer = io.BytesIO()
        np.savez(
            buffer,
            rows=rows,
            lengths=lengths,
            tokens=tokens.astype(np.int32),
            terms=np.frombuffer(blob, dtype=np.uint8),
            chinese=np.array(sorted(self.chinese), dtype=np.int64),
            language_rows=np.array(sorted(self.languages), dtype=np.int64),
            language_codes=np.array([self.languages[r] for r in sorted(self.languages)], dtype="<U16"),
            params=np.array([self.k1, self.b], dtype=np.float64),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LexicalIndex:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            k1, b = (float(x) for x in arrays["params"])
            index = cls(k1=k1, b=b)
            blob = arrays["terms"].tobytes().decode("utf-8")
            terms = blob.split("\n") if blob else []
            rows, lengths, tokens = arrays["rows"], arrays["lengths"], arrays["tokens"]
            index.chinese = {int(r) for r in arrays["chinese"]}
            if "language_rows" in arrays:
                index.languages = dict(
                    zip(arrays["language_rows"].tolist(), arrays["language_codes"].tolist(), strict=True)
                )
            else:  # a snapshot from before languages were kept: Chinese or undetermined
                index.languages = {
                    int(r): "zh" if int(r) in index.chinese else UNDETERMINED for r in arrays["rows"]
                }
        index._terms = terms
        index._vocab = {t: i for i, t in enumerate(terms)}
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        tokens = tokens.astype(np.int32)
        index._docs = {int(row): tokens[offsets[i] : offsets[i + 1]] for i, row in enumerate(rows)}
        owner = np.repeat(np.arange(len(rows), dtype=np.int64), lengths)
        pairs, _ = _unique(tokens.astype(np.int64) * max(len(rows), 1) + owner)
        index._df = np.bincount(pairs // max(len(rows), 1), minlength=max(len(terms), 1024)).astype(np.int64)
        index._total_len = int(lengths.sum())
        index.merge()
        return index

    def stats(self) -> Mapping[str, int]:
        return {
            "documents": len(self._docs),
            "terms": int((self._df > 0).sum()),
            "pending": len(self._pending),
        }
