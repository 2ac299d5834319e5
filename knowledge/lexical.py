"""BM25 over one tenant's documents with bm25s, updatable in place.

bm25s scores a static sparse matrix. Documents change one at a time here, so the index keeps two
bm25s segments: a large *main* segment, rebuilt rarely, and a small *delta* segment of documents
added or replaced since, rebuilt (cheaply) before the first search after a change. Both are built
with the statistics of the whole live collection, so their scores are comparable; a replaced or
deleted document is masked out of the main segment (``weight_mask``) until the next merge.

The snapshot holds every live document's distinct term ids and their counts, packed as in memory,
and a vocabulary compacted to the terms they use: a deleted document leaves no term behind on disk
(right to be forgotten). The score matrices are rebuilt from it on load (1,003,722 documents: 0.5 s,
peak 266 MiB above the process before it; 117 MiB on disk where every token took 226 MiB).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import bm25s
import numpy as np
import scipy.sparse

from knowledge.memory import find_sorted, row_array
from knowledge.text import UNDETERMINED

# Merge the delta into the main segment past this many documents or this share of the main one.
MERGE_MIN = 2_000
MERGE_SHARE = 0.1
# A search restricted to allowed rows ranks only their scores when they are at most this share of
# the documents (the articles beside many cases); above it, a masked copy of every score is as quick
# and the positions would be kept at 8 bytes a row beside the mask's one.
ALLOWED_POSITIONS_SHARE = 0.125
# Postings scored at a time when a segment is built (bounds its float64 temporaries).
_SCORE_SLICE = 1 << 20
_INT32_MIN, _INT32_MAX = int(np.iinfo(np.int32).min), int(np.iinfo(np.int32).max)


@dataclass(frozen=True)
class LexicalQuery:
    """A tokenised query: token ids known to the index (repeats kept), and their surface words."""

    ids: np.ndarray
    surfaces: tuple[str, ...]
    unknown: tuple[str, ...]  # tokens no document has: they still count in the self-score
    # Each surface word and its term, most informative first (``LexicalIndex.matched``): worked out on
    # the first hit of a search, read by the others (a ticket's search reports words for ~8 hits).
    by_rarity: list[tuple[str, int]] = field(default_factory=list, compare=False, repr=False)


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


def _postings(
    sizes: np.ndarray, terms: np.ndarray, counts: np.ndarray | None, n_vocab: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Term-major postings of documents given by their number of entries and concatenated term ids
    (with each entry's count, or 1 each when ``counts`` is None): the CSC ``indptr`` by term (int64),
    each posting's document position (int32) and the term's count in it (float32).

    The documents are already a CSR matrix (document x term); scipy turns it into CSC and sums
    repeated terms in C. A sort of (term, document) keys as int64 needed ~40 bytes a token at its
    peak (2 GB for the 50M tokens of 1M tickets); this needs ~12.
    """
    if len(sizes) == 0:
        return (
            np.zeros(n_vocab + 1, dtype=np.int64),
            np.zeros(0, dtype=np.int32),
            np.zeros(0, dtype=np.float32),
        )
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    data = np.ones(len(terms), dtype=np.float32) if counts is None else counts.astype(np.float32)
    matrix = scipy.sparse.csr_matrix((data, terms, offsets), shape=(len(sizes), n_vocab))
    postings = matrix.tocsc()
    del matrix, data
    postings.sum_duplicates()
    return postings.indptr.astype(np.int64), postings.indices.astype(np.int32, copy=False), postings.data


def _smallest(values: np.ndarray, dtypes: Sequence[type[np.integer]]) -> np.ndarray:
    """``values`` (never negative) as the first of ``dtypes`` that holds the largest of them."""
    top = int(values.max()) if len(values) else 0
    for dtype in dtypes:
        if top <= np.iinfo(dtype).max:
            return np.ascontiguousarray(values, dtype=dtype)
    return np.ascontiguousarray(values)


# The packed documents' arrays in the smallest type their values fit (at 1M grown tickets: 63,372
# terms, counts below 256, 9.5M entries: 34 MiB less than int32 terms, uint16 counts, int64 offsets
# and lengths).
_TERMS = (np.uint16, np.int32)
_COUNTS = (np.uint8, np.uint16, np.uint32)
_OFFSETS = (np.int32, np.int64)
_LENGTHS = (np.uint16, np.int32, np.int64)
_CODES = (np.uint8, np.uint16)


def _term_counts(
    sizes: np.ndarray, tokens: np.ndarray, n_vocab: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Documents' tokens as each document's distinct terms (sorted) and their counts: (entries per
    document, terms int32, counts)."""
    if len(sizes) == 0 or len(tokens) == 0:
        return np.zeros(len(sizes), dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.uint16)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    matrix = scipy.sparse.csr_matrix(
        (np.ones(len(tokens), dtype=np.uint32), tokens, offsets), shape=(len(sizes), max(n_vocab, 1))
    )
    matrix.sum_duplicates()
    counts = _smallest(matrix.data, _COUNTS)
    return np.diff(matrix.indptr).astype(np.int64), matrix.indices.astype(np.int32, copy=False), counts


@dataclass(frozen=True)
class _Packed:
    """Documents as flat arrays sorted by row: row ``rows[i]``'s distinct terms are
    ``terms[offsets[i]:offsets[i + 1]]`` with their ``counts``, ``lengths[i]`` tokens in all;
    ``alive`` masks rows removed since (changed in place)."""

    rows: np.ndarray  # int32 while the row ids fit (``row_array``), int64 past; sorted
    offsets: np.ndarray  # int32 (int64 past 2**31 entries), len(rows) + 1
    terms: np.ndarray  # uint16 (int32 past 65,536 terms), sorted within a document
    counts: np.ndarray  # uint8 (uint16, uint32 if a term repeats 256, 65,536 times in a document)
    lengths: np.ndarray  # uint16 (int32, int64 for longer documents): tokens per document
    codes: np.ndarray  # uint8 (uint16 past 256 languages): index into _Documents.codes (the language)
    chinese: np.ndarray  # bool
    alive: np.ndarray  # bool

    @classmethod
    def empty(cls) -> _Packed:
        return cls(
            np.zeros(0, dtype=np.int32),
            np.zeros(1, dtype=np.int32),
            np.zeros(0, dtype=np.uint16),
            np.zeros(0, dtype=np.uint8),
            np.zeros(0, dtype=np.uint16),
            np.zeros(0, dtype=np.uint8),
            np.zeros(0, dtype=bool),
            np.zeros(0, dtype=bool),
        )

    def slots(self, rows: np.ndarray) -> np.ndarray:
        """Each live row's position, -1 where it is absent or removed."""
        if len(self.rows) == 0:
            return np.full(len(rows), -1, dtype=np.int64)
        at, there = find_sorted(self.rows, rows)
        return np.where(there & self.alive[at], at, -1)

    def slot(self, row: int) -> int:
        """``slots`` of one row, without the arrays (a search's hits look up their words one by one)."""
        rows = self.rows
        if len(rows) == 0 or (rows.dtype == np.int32 and not _INT32_MIN <= row <= _INT32_MAX):
            return -1
        # The probe in the array's own type: a Python int would make numpy compare as int64, converting
        # the whole int32 array first.
        at = int(rows.searchsorted(rows.dtype.type(row)))
        return at if at < len(rows) and int(rows[at]) == row and bool(self.alive[at]) else -1

    def tokens(self) -> np.ndarray:
        """Every document's tokens, concatenated in row order (each term repeated by its count)."""
        return np.repeat(self.terms, self.counts.astype(np.int64))


class _Documents:
    """Each live document's terms, language and Chinese flag, by row id.

    Packed arrays as of the last ``pack`` (the main segment's merge) plus a dict of the documents
    written since (their tokens as given). A dict holding one array view per row cost ~210 bytes a
    row and a dict of languages another ~100 (31 MiB per 100k documents, ~300 MiB at 1M); packed, a
    document holds its distinct terms and their counts (3 bytes each while there are at most 65,536
    terms and no count reaches 256, up to 8: at 1M grown tickets 9.5M entries where their tokens were
    35.3M at 4 bytes) and 13 bytes of its own (up to 28). Reads take no lock:
    ``pack`` publishes the new arrays before it empties the dict, and a reader looks in the dict first.
    """

    def __init__(self) -> None:
        self.packed = _Packed.empty()
        self.recent: dict[int, tuple[np.ndarray, int, bool]] = {}  # row -> (tokens, code, chinese)
        self.codes: list[str] = []  # language codes by index
        self._code_of: dict[str, int] = {}
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def code(self, language: str) -> int:
        found = self._code_of.get(language)
        if found is None:
            found = len(self.codes)
            self.codes.append(language)
            self._code_of[language] = found
        return found

    def _slot(self, row: int) -> int:
        return self.packed.slot(row)

    def __contains__(self, row: object) -> bool:
        if not isinstance(row, int | np.integer):
            return False
        return int(row) in self.recent or self._slot(int(row)) >= 0

    def get(self, row: int) -> np.ndarray | None:
        """A document's term ids (its tokens, or its distinct terms once packed), None when absent."""
        found = self.recent.get(row)
        if found is not None:
            return found[0]
        packed = self.packed
        slot = packed.slot(row)
        return None if slot < 0 else packed.terms[packed.offsets[slot] : packed.offsets[slot + 1]]

    def add(self, row: int, tokens: np.ndarray, language: str, chinese: bool) -> None:
        """A document not present (``pop`` it first)."""
        self.recent[row] = (tokens, self.code(language), chinese)
        self.count += 1

    def pop(self, row: int) -> tuple[np.ndarray, int] | None:
        """Forget a row; its term ids and its number of tokens, or None when absent."""
        found = self.recent.pop(row, None)
        if found is not None:
            self.count -= 1
            return found[0], len(found[0])
        packed = self.packed
        slot = self._slot(row)
        if slot < 0:
            return None
        packed.alive[slot] = False
        self.count -= 1
        return packed.terms[packed.offsets[slot] : packed.offsets[slot + 1]], int(packed.lengths[slot])

    def postings(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Documents present, for a segment: (entries per document, terms, counts, tokens per document)."""
        sizes, terms, counts, lengths = [], [], [], []
        packed = self.packed
        for row, slot in zip(rows.tolist(), packed.slots(rows).tolist(), strict=True):
            found = self.recent.get(row)
            if found is not None:
                ids, many = _unique(found[0])
                sizes.append(len(ids))
                terms.append(ids.astype(np.int32))
                counts.append(many)
                lengths.append(len(found[0]))
            elif slot >= 0:
                begin, end = int(packed.offsets[slot]), int(packed.offsets[slot + 1])
                sizes.append(end - begin)
                terms.append(packed.terms[begin:end])
                counts.append(packed.counts[begin:end])
                lengths.append(int(packed.lengths[slot]))
            else:
                raise RuntimeError("a pending BM25 row has no document: the index is inconsistent")
        return (
            np.array(sizes, dtype=np.int64),
            np.concatenate(terms).astype(np.int32, copy=False) if terms else np.zeros(0, dtype=np.int32),
            np.concatenate(counts).astype(np.int64) if counts else np.zeros(0, dtype=np.int64),
            np.array(lengths, dtype=np.int64),
        )

    def languages_of(self, rows: Sequence[int]) -> list[str]:
        """Each row's language code (``UNDETERMINED`` for a row not indexed)."""
        packed = self.packed
        slots = packed.slots(np.asarray(rows, dtype=np.int64)).tolist()
        codes, recent = self.codes, self.recent
        out = []
        for row, slot in zip(rows, slots, strict=True):
            found = recent.get(row)
            if found is not None:
                out.append(codes[found[1]])
            elif slot >= 0:
                out.append(codes[int(packed.codes[slot])])
            else:
                out.append(UNDETERMINED)
        return out

    def chinese_rows(self) -> frozenset[int]:
        packed = self.packed
        rows = packed.rows[packed.alive & packed.chinese].tolist()
        return frozenset(rows + [r for r, (_, _, zh) in self.recent.items() if zh])

    def pack(self, n_vocab: int) -> _Packed:
        """Every live document into new packed arrays (published, the dict emptied); returns them."""
        old = self.packed
        if not self.recent and old.alive.all():
            return old
        sizes = np.diff(old.offsets)
        keep = np.repeat(old.alive, sizes)
        recent = sorted(self.recent.items())
        new_rows = np.fromiter((r for r, _ in recent), dtype=np.int64, count=len(recent))
        new_lengths = np.fromiter((len(t) for _, (t, _, _) in recent), dtype=np.int64, count=len(recent))
        new_tokens = (
            np.concatenate([t for _, (t, _, _) in recent]).astype(np.int32, copy=False)
            if recent
            else np.zeros(0, dtype=np.int32)
        )
        new_sizes, new_terms, new_counts = _term_counts(new_lengths, new_tokens, n_vocab)
        counts = np.concatenate([old.counts[keep].astype(np.uint32), new_counts.astype(np.uint32)])
        packed = _pack_sorted(
            np.concatenate([old.rows[old.alive], new_rows]),
            np.concatenate([sizes[old.alive], new_sizes]),
            np.concatenate([old.terms[keep], new_terms]),
            counts,
            np.concatenate([old.lengths[old.alive], new_lengths]),
            np.concatenate([old.codes[old.alive], np.array([c for _, (_, c, _) in recent], dtype=np.uint16)]),
            np.concatenate([old.chinese[old.alive], np.array([z for _, (_, _, z) in recent], dtype=bool)]),
        )
        self.packed = packed  # published before the dict is emptied: a reader looks in the dict first
        self.recent = {}
        return packed

    def load(self, packed: _Packed, codes: Sequence[str]) -> None:
        self.packed = packed
        self.recent = {}
        self.codes = list(codes)
        self._code_of = {c: i for i, c in enumerate(self.codes)}
        self.count = int(packed.alive.sum())


def _pack_sorted(
    rows: np.ndarray,
    sizes: np.ndarray,
    terms: np.ndarray,
    counts: np.ndarray,
    lengths: np.ndarray,
    codes: np.ndarray,
    chinese: np.ndarray,
) -> _Packed:
    """Packed arrays sorted by row from documents in any order (entries concatenated in that order)."""
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    order = np.argsort(rows, kind="stable")
    if len(order) and not (order[1:] > order[:-1]).all():
        sorted_sizes = sizes[order]
        offsets = np.concatenate([[0], np.cumsum(sorted_sizes)]).astype(np.int64)
        # Each entry's source position: its document's old start plus its place within the document.
        moved = np.arange(len(terms), dtype=np.int64) + np.repeat(
            starts[:-1][order] - offsets[:-1], sorted_sizes
        )
        terms, counts = terms[moved], counts[moved]
        rows, lengths, codes, chinese = rows[order], lengths[order], codes[order], chinese[order]
    else:
        offsets = starts
    return _Packed(
        np.ascontiguousarray(row_array(rows)),
        _smallest(offsets, _OFFSETS),
        _smallest(terms, _TERMS),
        _smallest(counts, _COUNTS),
        _smallest(lengths, _LENGTHS),
        _smallest(codes, _CODES),
        np.ascontiguousarray(chinese, dtype=bool),
        np.ones(len(rows), dtype=bool),
    )


class _Segment:
    """One bm25s index over a fixed set of rows; ``alive`` masks rows replaced or deleted since (None
    while there is none: 3.8 MiB less at 1M documents, and no multiplication of every score by it)."""

    def __init__(self, rows: np.ndarray, model: bm25s.BM25 | None) -> None:
        self.rows = rows = np.ascontiguousarray(row_array(rows))
        self.model = model
        # Where each row sits, by binary search over the rows sorted (rather than a dict: about 100
        # bytes a row, 26 MiB at 100k documents). Segments are built over sorted rows: then the rows
        # are their own sorted copy (16 MB less at 1M documents).
        self._order: np.ndarray | None = None
        self._sorted = rows
        if len(rows) > 1 and not bool((rows[1:] > rows[:-1]).all()):
            self._order = np.argsort(rows, kind="stable")
            self._sorted = rows[self._order]
        self.alive: np.ndarray | None = None

    def mask(self, position: int) -> None:
        """Leave the row at ``position`` out of the scores from now on."""
        alive = self.alive if self.alive is not None else np.ones(len(self.rows), dtype=np.float32)
        alive[position] = 0.0
        self.alive = alive

    @property
    def masked(self) -> int:
        return 0 if self.alive is None else len(self.rows) - int(self.alive.sum())

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """Each row's position in this segment, -1 where it is not in it."""
        if len(self._sorted) == 0:
            return np.full(len(rows), -1, dtype=np.int64)
        at, there = find_sorted(self._sorted, rows)
        return np.where(there, at if self._order is None else self._order[at], -1)

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
        self._docs = _Documents()
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
        self._mask_cache: list[
            tuple[tuple[_Segment, _Segment], np.ndarray, np.ndarray, np.ndarray | None]
        ] = []
        # Writes and refreshes take it; reads (query, search, matched, self_score) do not.
        self._lock = threading.RLock()
        # Read from a snapshot in the older layout (every token): the owner writes it again.
        self.outdated_snapshot = False

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, row_id: int) -> bool:
        return row_id in self._docs

    def languages_of(self, rows: Sequence[int]) -> list[str]:
        """Each row's language (ISO 639 code, "und" when undetermined or not indexed): words are
        compared within one language only."""
        return self._docs.languages_of(rows)

    def chinese_rows(self) -> frozenset[int]:
        """The rows whose text is Chinese."""
        return self._docs.chinese_rows()

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
            self._docs.add(row_id, ids, language or ("zh" if chinese else UNDETERMINED), chinese)
            self._df[_unique(ids)[0]] += 1
            self._total_len += len(ids)
            self._pending.add(row_id)
            self._delta_stale = True
            self._dirty = True

    def remove(self, row_ids: Iterable[int]) -> None:
        """Forget documents (unknown ids are ignored, so replaying a delete is harmless)."""
        with self._lock:
            for row_id in row_ids:
                found = self._docs.pop(int(row_id))
                if found is None:
                    continue
                ids, n_tokens = found
                self._df[_unique(ids)[0]] -= 1
                self._total_len -= n_tokens
                position = self._main.position(int(row_id))
                if position is not None:
                    self._main.mask(position)
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
        sizes, terms, counts, lengths = self._docs.postings(rows_array)
        return self._build_arrays(rows_array, sizes, terms, counts, lengths)

    def _build_arrays(
        self,
        rows_array: np.ndarray,
        sizes: np.ndarray,
        terms: np.ndarray,
        counts: np.ndarray,
        lengths: np.ndarray,
    ) -> _Segment:
        """A segment over documents given as rows, their number of distinct terms, those terms and
        counts concatenated, and their lengths in tokens."""
        if len(rows_array) == 0 or not self._docs:
            return _Segment(rows_array, None)
        n_rows, n_vocab = len(rows_array), len(self._terms)
        indptr, doc_index, tf = _postings(sizes, terms, counts, n_vocab)
        n_docs = len(self._docs)
        avg_len = max(self._total_len / n_docs, 1e-9)
        df = self._df[:n_vocab].astype(np.float64)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        # Each posting's score, a slice at a time: over the whole array the float64 temporaries were
        # ~5 copies at 8 bytes a posting (360 MiB at 1M documents' 9.5M postings) on top of the rest.
        data = np.empty(len(doc_index), dtype=np.float32)
        for start in range(0, len(doc_index), _SCORE_SLICE):
            end = min(start + _SCORE_SLICE, len(doc_index))
            term = np.searchsorted(indptr, np.arange(start, end), side="right") - 1
            norm = self.k1 * (1 - self.b + self.b * lengths[doc_index[start:end]] / avg_len)
            part = tf[start:end]
            data[start:end] = idf[term] * part / (part + norm)
        del tf
        model = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        model.scores = {"data": data, "indices": doc_index, "indptr": indptr, "num_docs": n_rows}
        model.vocab_dict = self._vocab
        model.nonoccurrence_array = None
        return _Segment(rows_array, model)

    def merge(self) -> None:
        """Rebuild the main segment over every live document; the delta becomes empty."""
        with self._lock:
            packed = self._docs.pack(len(self._terms))
            self._main = self._build_arrays(
                packed.rows, np.diff(packed.offsets), packed.terms, packed.counts, packed.lengths
            )
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
        dead = self._main.masked
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
        # Each term's count in the query, in the query's order; the terms' parts as arrays, added up
        # in the query's order by Python's sum (as the per-term loop this replaced did).
        tf = counts[np.searchsorted(ids, query.ids)].astype(np.float64)
        parts = np.log1p((n_docs - df + 0.5) / (df + 0.5)) * tf / (tf + norm)
        known = sum(parts.tolist())
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
        scores = main.scores(query.ids)
        if len(delta.rows):  # no copy of every main score while the delta is empty (as the rows)
            scores = np.concatenate([scores, delta.scores(query.ids)])
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
        mask: np.ndarray | None = None
        at: np.ndarray | None = None
        if allowed is not None:
            mask, at = self._mask_of(segments, rows, allowed)
            if at is None:
                scores = np.where(mask, scores, 0.0)
        out: dict[int, float] = {}
        if k > 0 and len(scores):
            if at is not None:
                # Only the allowed rows' scores are ranked (the articles: ~100 of 100k documents; a
                # masked copy of every score and a partition of it cost ~0.14 ms a search).
                top = at[np.argpartition(-scores[at], k - 1)[:k]] if len(at) > k else at
            else:
                top = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
            # Read as arrays, handed over as lists (an element of an array read one at a time costs
            # a numpy scalar each).
            top_scores = scores[top]
            scoring = top_scores > 0
            out.update(zip(rows[top][scoring].tolist(), top_scores[scoring].tolist(), strict=True))
        rest = np.fromiter((r for r in candidates if r not in out), dtype=np.int64)
        if len(rest):
            in_delta = delta.positions(rest)
            found = np.where(in_delta >= 0, len(main.rows) + in_delta, main.positions(rest))
            indexed = found >= 0
            rest, found = rest[indexed], found[indexed]
            found_scores = scores[found]
            keep = found_scores > 0
            if mask is not None:
                keep &= mask[found]
            out.update(zip(rest[keep].tolist(), found_scores[keep].tolist(), strict=True))
        return out

    def _rows_of(self, segments: tuple[_Segment, _Segment]) -> np.ndarray:
        """The searched rows (main then delta), computed once per refresh rather than per search."""
        cached = self._rows_cache
        if cached is not None and cached[0] is segments:
            return cached[1]
        # No copy of the main segment's rows while the delta is empty (8 MB at 1M documents).
        rows = (
            segments[0].rows
            if len(segments[1].rows) == 0
            else np.concatenate([segments[0].rows, segments[1].rows])
        )
        self._rows_cache = (segments, rows)
        return rows

    def _mask_of(
        self, segments: tuple[_Segment, _Segment], rows: np.ndarray, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Which searched rows are ``allowed``: a mask, and their positions when they are few
        (``ALLOWED_POSITIONS_SHARE``); kept for the last few (segments, allowed) pairs, since the
        knowledge base passes the same array of a kind's rows until the index changes (``np.isin``
        over 100k rows took a millisecond a search)."""
        for seen_segments, seen_allowed, mask, at in self._mask_cache:
            if seen_segments is segments and seen_allowed is allowed:
                return mask, at
        mask = np.isin(rows, allowed)
        at = np.flatnonzero(mask)
        if len(at) > ALLOWED_POSITIONS_SHARE * len(rows):
            at = None
        self._mask_cache = [(segments, allowed, mask, at), *self._mask_cache[:3]]
        return mask, at

    def matched(self, query: LexicalQuery, row_id: int, limit: int = 6) -> tuple[str, ...]:
        """The query's own words that the document contains, most informative first."""
        doc = self._docs.get(row_id)  # no lock: an atomic lookup of an array never changed in place
        if doc is None or len(query.ids) == 0 or limit <= 0:
            return ()
        order = query.by_rarity
        if not order:
            # Rarest first (document frequency), then by the surface's last place in the query.
            df = self._df[query.ids].tolist()
            last = {
                s: (d, i, term)
                for i, (s, term, d) in enumerate(zip(query.surfaces, query.ids.tolist(), df, strict=True))
            }
            order.extend((s, term) for s, (_, _, term) in sorted(last.items(), key=lambda item: item[1][:2]))
        # A set of Python ints: np.isin costs ~30 us of set-up per call, several calls a search.
        present = set(doc.tolist())
        out: list[str] = []
        for surface, term in order:
            if term in present:
                out.append(surface)
                if len(out) == limit:
                    break
        return tuple(out)

    def top_terms(self, rows: Iterable[int], limit: int = 5) -> tuple[str, ...]:
        """The terms most shared by a group of documents, weighted by rarity in the collection."""
        with self._lock:
            docs = [d for d in (self._docs.get(r) for r in rows) if d is not None]
            if not docs:
                return ()
            ids, counts = _unique(np.concatenate([_unique(d)[0] for d in docs]))
            n = max(len(self._docs), 1)
            weight = counts * np.log1p((n - self._df[ids] + 0.5) / (self._df[ids] + 0.5))
            order = np.argsort(-weight, kind="stable")[:limit]
            return tuple(self._terms[int(ids[i])] for i in order if counts[i] > 1 or len(docs) == 1)

    # ------------------------------------------------------------------ snapshots

    def to_bytes(self) -> bytes:
        """The live documents over a compacted vocabulary (no term of a deleted document): each one's
        distinct terms and their counts, packed as held in memory (older snapshots held every token,
        ``read`` still takes them)."""
        with self._lock:
            packed = self._docs.pack(len(self._terms))  # every live document, sorted by row
            used = np.flatnonzero(self._df[: len(self._terms)] > 0)
            remap = np.full(len(self._terms), -1, dtype=np.int32)
            remap[used] = np.arange(len(used), dtype=np.int32)
            entries = _smallest(remap[packed.terms], _TERMS)  # ascending: a document's terms stay sorted
            terms = [self._terms[i] for i in used]
            codes = np.array(self._docs.codes or [UNDETERMINED], dtype="<U16")
        blob = "\n".join(terms).encode("utf-8")
        buffer = io.BytesIO()
        np.savez(
            buffer,
            rows=packed.rows,
            lengths=packed.lengths,
            offsets=packed.offsets,
            entries=entries,
            counts=packed.counts,
            terms=np.frombuffer(blob, dtype=np.uint8),
            chinese=packed.rows[packed.chinese],
            language_rows=packed.rows,
            language_codes=codes[packed.codes],
            params=np.array([self.k1, self.b], dtype=np.float64),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LexicalIndex:
        return cls.read(io.BytesIO(data))

    @classmethod
    def read(cls, handle: BinaryIO) -> LexicalIndex:
        """An index from a (seekable) file ``to_bytes`` wrote."""
        with np.load(handle, allow_pickle=False) as arrays:
            k1, b = (float(x) for x in arrays["params"])
            index = cls(k1=k1, b=b)
            blob = arrays["terms"].tobytes().decode("utf-8")
            terms = blob.split("\n") if blob else []
            rows, lengths = arrays["rows"].astype(np.int64), arrays["lengths"]
            if "entries" in arrays:  # each document's distinct terms and counts, packed
                sizes, entries, counts = np.diff(arrays["offsets"]), arrays["entries"], arrays["counts"]
            else:  # a snapshot from before: every token
                tokens = arrays["tokens"].astype(np.int32, copy=False)
                sizes, entries, counts = _term_counts(lengths, tokens, len(terms))
                del tokens
                index.outdated_snapshot = True
            chinese = np.isin(rows, arrays["chinese"])
            if "language_rows" in arrays:
                language_rows = arrays["language_rows"].astype(np.int64)
                names, which = np.unique(arrays["language_codes"], return_inverse=True)
            else:  # a snapshot from before languages were kept: Chinese or undetermined
                language_rows, names, which = (
                    np.zeros(0, np.int64),
                    np.zeros(0, "<U16"),
                    np.zeros(0, np.int64),
                )
        codes = [str(n) for n in names.tolist()]
        if UNDETERMINED not in codes:
            codes.append(UNDETERMINED)
        if "zh" not in codes:
            codes.append("zh")
        row_codes = np.where(chinese, codes.index("zh"), codes.index(UNDETERMINED)).astype(np.uint16)
        if len(language_rows):
            order = np.argsort(language_rows, kind="stable")
            at = np.minimum(np.searchsorted(language_rows[order], rows), len(order) - 1)
            known = language_rows[order][at] == rows
            row_codes = np.where(known, np.asarray(which).reshape(-1)[order][at], row_codes).astype(np.uint16)
        index._docs.load(_pack_sorted(rows, sizes, entries, counts, lengths, row_codes, chinese), codes)
        index._terms = terms
        index._vocab = {t: i for i, t in enumerate(terms)}
        # Document frequencies: a document's terms are distinct.
        index._df = np.bincount(index._docs.packed.terms, minlength=max(len(terms), 1024)).astype(np.int64)
        index._total_len = int(lengths.sum(dtype=np.int64))
        index.merge()
        return index

    def stats(self) -> Mapping[str, int]:
        return {
            "documents": len(self._docs),
            "terms": int((self._df > 0).sum()),
            "pending": len(self._pending),
        }
