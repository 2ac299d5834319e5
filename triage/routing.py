"""Department, category and priority: a calibrated blend of lexical, semantic and neighbour evidence.

Each head scores a ticket three ways and adds the log-probabilities with weights chosen by
cross-validation on the training data:

- lexical: a linear model (LinearSVC or logistic regression) over TF-IDF words (jieba for Chinese)
  and character n-grams; its word weights explain the prediction ("phrases");
- semantic: a linear classifier over the ticket's sentence embedding (a balanced ridge or an
  unweighted logistic regression, whichever blends better out of fold);
- neighbours: a similarity-weighted vote of the nearest labelled training tickets (a sharp kernel,
  so a near-identical earlier ticket decides). Similarity is the mean of the embeddings' cosine and
  the TF-IDF cosine (hybrid, like the knowledge base's search): the embedding finds paraphrases, the
  TF-IDF the shared host names, job ids and error codes that an embedding blurs.

The blend is temperature-scaled into a distribution over labels. The confidence of the top label
comes from a small calibrator fitted on out-of-fold predictions (how peaked the blend is, whether
the three agree, how close the nearest labelled ticket is), so that it means "probability this
routing is right". A head abstains when that confidence is below the threshold chosen on held-out
data for the target precision. Every prediction carries the words that pushed it most and
the ids of the nearest labelled training tickets.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import sparse

from embeddings import Encoder, get_encoder
from knowledge.text import UNDETERMINED, identify_language
from triage.features import words
from triage.reasons import Reason, english
from triage.types import Alternative, Prediction

# A training ticket at least this similar (Neighbours.similarities) counts as the same text.
DUPLICATE_SIMILARITY = 0.995
# Share of the neighbour vote given to the class prior, so an unseen label is unlikely, not impossible.
VOTE_SMOOTHING = 0.1
# Bundles trained before the blend joined the embedding to the TF-IDF block with this weight.
LEGACY_EMBEDDING_WEIGHT = 2.0
# Batches up to this size need one BLAS thread: waking a thread pool for a (1 x n) product costs
# more than the product, and far more on a busy machine.
SINGLE_THREAD_BATCH = 32


@lru_cache(maxsize=1)
def _single_thread_blas() -> None:
    """Set BLAS to one thread for the whole process, once (the USE-m3 encoder does the same on load).

    Not a per-call ``threadpoolctl`` limit: such a limit is process-global, so concurrent requests
    entering and leaving it interleave, and one that entered during a multi-threaded encoder batch
    restores that batch's thread count for everyone when it leaves.
    """
    from threadpoolctl import ThreadpoolController

    ThreadpoolController().limit(limits=1, user_api="blas")


def _unit_row_data(data: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """The values of a CSR matrix's rows scaled to unit L2 length (all-zero rows stay zero)."""
    row_of = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    norms = np.sqrt(np.bincount(row_of, weights=data.astype(np.float64) ** 2, minlength=len(indptr) - 1))
    norms[norms == 0] = 1.0
    return (data / norms[row_of]).astype(data.dtype)


def _tfidf_rows(vectorizer: Any, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A fitted TfidfVectorizer's rows for ``texts`` as CSR arrays (indptr, indices sorted within each
    row, data): ``vectorizer.transform`` without sklearn's per-call validation, value for value."""
    analyze = vectorizer.build_analyzer()
    vocabulary: dict[str, int] = vectorizer.vocabulary_
    indptr: list[int] = [0]
    indices: list[int] = []
    counts: list[int] = []
    for text in texts:
        # Counted in C first: one vocabulary lookup per distinct n-gram rather than per occurrence.
        for token, count in Counter(analyze(text)).items():
            column = vocabulary.get(token)
            if column is not None:
                indices.append(column)
                counts.append(count)
        indptr.append(len(indices))
    data = np.asarray(counts, dtype=np.float64)
    if vectorizer.binary:
        data[:] = 1.0
    elif vectorizer.sublinear_tf:
        data = np.log(data) + 1.0
    index_array = np.asarray(indices, dtype=np.int32)
    if vectorizer.use_idf:
        data *= vectorizer.idf_[index_array]
    indptr_array = np.asarray(indptr, dtype=np.int32)
    if vectorizer.norm == "l2":
        data = _unit_row_data(data, indptr_array)  # in first-occurrence order, as sklearn sums
    row_of = np.repeat(np.arange(len(texts)), np.diff(indptr_array))
    order = np.lexsort((index_array, row_of))
    return indptr_array, index_array[order], data[order]


def tfidf_transform(vectorizer: Any, texts: Sequence[str]) -> sparse.csr_matrix:
    """A fitted TfidfVectorizer's transform, without sklearn's per-call validation (~1 ms a call).

    Uses only the public fitted state (analyser, vocabulary, idf); equal to ``vectorizer.transform``.
    """
    if vectorizer.norm not in ("l2", None):
        return vectorizer.transform(texts)
    indptr, indices, data = _tfidf_rows(vectorizer, texts)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(texts), len(vectorizer.vocabulary_)))


def transform(vectorizer: Any, texts: Sequence[str]) -> sparse.csr_matrix:
    """TF-IDF features of a TfidfVectorizer or a FeatureUnion of them, computed in this thread.

    A union's blocks are laid side by side as ``sparse.hstack`` lays them, but from the blocks' CSR
    arrays directly: building and stacking a sparse matrix per block cost more than the TF-IDF itself
    for one ticket (scipy validates every matrix it builds).
    """
    parts = getattr(vectorizer, "transformer_list", None)
    if parts is None:
        parts = [("", vectorizer)]
    if not all(hasattr(part, "idf_") and part.norm in ("l2", None) for _, part in parts):
        blocks = [
            tfidf_transform(part, texts) if hasattr(part, "idf_") else part.transform(texts)
            for _, part in parts
        ]
        return sparse.hstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]
    rows = [_tfidf_rows(part, texts) for _, part in parts]
    widths = [len(part.vocabulary_) for _, part in parts]
    offsets = np.cumsum([0, *widths[:-1]])
    # Each text's entries: every block's in turn, its columns shifted past the blocks before it.
    order_rows = np.concatenate([np.repeat(np.arange(len(texts)), np.diff(indptr)) for indptr, _, _ in rows])
    columns = np.concatenate(
        [indices.astype(np.int64) + offset for (_, indices, _), offset in zip(rows, offsets, strict=True)]
    )
    data = np.concatenate([values for _, _, values in rows])
    order = np.argsort(order_rows, kind="stable")  # row by row; blocks (and columns) stay in order
    indptr = np.concatenate([[0], np.cumsum(np.bincount(order_rows, minlength=len(texts)))])
    return sparse.csr_matrix(
        (data[order], columns[order].astype(np.int32), indptr.astype(np.int32)),
        shape=(len(texts), int(sum(widths))),
    )


def word_analyzer(text: str) -> list[str]:
    """Words and word bigrams, for the explainable half of the TF-IDF features."""
    tokens = words(text)
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def scores_matrix(model: Any, features: Any, n_labels: int, fill: float = -1e3) -> np.ndarray:
    """Decision scores of a fitted linear sklearn classifier as an (n, n_labels) matrix.

    Computed from ``coef_`` and ``intercept_`` directly (sklearn's per-call validation costs more
    than the product for one ticket). Binary models give one column; classes the model never saw
    (a cross-validation fold may miss a rare one) get ``fill``.
    """
    coef = np.atleast_2d(model.coef_)  # binary ridge models keep a 1-d coef_
    scores = np.asarray(features @ coef.T, dtype=np.float64) + np.atleast_1d(model.intercept_)
    if scores.shape[1] == 1:
        scores = np.hstack([-scores, scores])
    if len(model.classes_) == n_labels:
        return scores
    classes = np.asarray(model.classes_, dtype=int)
    full = np.full((scores.shape[0], n_labels), fill)
    full[:, classes] = scores
    return full


@dataclass(frozen=True)
class LogisticCalibrator:
    """P(top label is right) from standardised confidence features: a fitted logistic regression."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def probability(self, features: np.ndarray) -> np.ndarray:
        z = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


def top_similar(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and similarities of the k most similar columns of each row, best first."""
    k = max(1, min(k, sims.shape[1]))
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    top_sims = np.take_along_axis(sims, top, axis=1)
    order = np.argsort(-top_sims, axis=1)
    return np.take_along_axis(top, order, axis=1), np.take_along_axis(top_sims, order, axis=1)


def neighbour_votes(
    top: np.ndarray, top_sims: np.ndarray, codes: np.ndarray, n_labels: int, k: int, sigma: float
) -> np.ndarray:
    """Vote shares of the k nearest labelled tickets, each weighted exp((sim - best sim) / sigma)."""
    top, top_sims = top[:, :k], top_sims[:, :k]
    weights = np.exp((top_sims - top_sims[:, :1]) / sigma)
    votes = np.zeros((top.shape[0], n_labels))
    rows = np.repeat(np.arange(top.shape[0]), top.shape[1])
    np.add.at(votes, (rows, codes[top].ravel()), weights.ravel())
    return votes / votes.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Blend:
    """How one head weighs its evidence; every number is chosen on out-of-fold predictions."""

    lexical_temperature: float = 1.0
    semantic_temperature: float = 1.0
    semantic_weight: float = 0.0
    knn_weight: float = 0.0
    knn_k: int = 10
    knn_sigma: float = 0.05
    prior_weight: float = 0.0

    def describe(self) -> str:
        return (
            f"semantic {self.semantic_weight:g}, neighbours {self.knn_weight:g} "
            f"(k={self.knn_k}, sigma={self.knn_sigma:g}), prior {self.prior_weight:g}"
        )


@dataclass(frozen=True)
class RoutingFeatures:
    """The part of a prediction that needs no vector (``Router.features``): worked out while the
    tickets are encoded elsewhere (``embeddings.process``), then read by ``Router.predict``."""

    tfidf: sparse.csr_matrix  # (queries, terms) TF-IDF features
    neighbours: np.ndarray | None  # (queries, labelled tickets) TF-IDF cosine; None without neighbours
    lexical: dict[str, np.ndarray | None]  # head -> its lexical model's log-probabilities


@dataclass(frozen=True)
class Evidence:
    """One head's raw scores for a batch, before blending: lexical and semantic log-probabilities,
    neighbour votes and the similarity of the nearest labelled ticket."""

    lexical: np.ndarray  # (n, labels) log-probabilities
    semantic: np.ndarray | None  # (n, labels) log-probabilities
    votes: np.ndarray | None  # (n, labels) vote shares
    nearest_similarity: np.ndarray  # (n,)


def blend_logits(evidence: Evidence, blend: Blend, log_prior: np.ndarray) -> np.ndarray:
    """The weighted sum of the evidence's log-probabilities, prior-adjusted."""
    logits = evidence.lexical.copy()
    if evidence.semantic is not None and blend.semantic_weight:
        logits += blend.semantic_weight * evidence.semantic
    if evidence.votes is not None and blend.knn_weight:
        smoothed = (1 - VOTE_SMOOTHING) * evidence.votes + VOTE_SMOOTHING * np.exp(log_prior)
        logits += blend.knn_weight * np.log(smoothed)
    if blend.prior_weight:
        logits -= blend.prior_weight * log_prior
    return logits


def confidence_features(probs: np.ndarray, evidence: Evidence, log_prior: np.ndarray) -> np.ndarray:
    """What the confidence calibrator sees for each row's top label."""
    best = probs.argmax(axis=1)
    rows = np.arange(len(best))
    ordered = np.sort(probs, axis=1)
    top = np.log(np.clip(ordered[:, -1], 1e-12, None))
    second = np.log(np.clip(ordered[:, -2], 1e-12, None)) if probs.shape[1] > 1 else top - 10.0
    lexical_agrees = evidence.lexical.argmax(axis=1) == best
    semantic_agrees = (
        evidence.semantic.argmax(axis=1) == best if evidence.semantic is not None else lexical_agrees
    )
    vote_share = evidence.votes[rows, best] if evidence.votes is not None else np.zeros(len(best))
    duplicate = evidence.nearest_similarity >= DUPLICATE_SIMILARITY
    columns = (
        top,
        top - second,
        evidence.nearest_similarity,
        duplicate,
        duplicate * vote_share,
        vote_share,
        lexical_agrees,
        semantic_agrees,
        log_prior[best],
    )
    # Filled column by column (each cast to float64 as it lands): np.column_stack's per-column
    # reshaping cost more than the nine columns for one ticket.
    out = np.empty((len(best), len(columns)))
    for index, column in enumerate(columns):
        out[:, index] = column
    return out


@dataclass
class Head:
    """One fitted prediction head (department, category or priority).

    ``classifier`` is the lexical model over the TF-IDF block; ``semantic`` (optional) the model
    over embeddings; ``confidence_model`` (optional) maps ``confidence_features`` to the probability
    that the top label is right. Without ``blend`` the head is the lexical model alone.
    """

    name: str
    classifier: Any
    temperature: float = 1.0
    thresholds: dict[str, float] = field(default_factory=dict)
    default_threshold: float = 0.0
    word_feature_names: np.ndarray | None = None  # names of the word block's columns
    semantic: Any = None
    blend: Blend | None = None
    confidence_model: LogisticCalibrator | None = None
    log_prior: np.ndarray | None = None
    neighbour_codes: np.ndarray | None = None  # label index of every Neighbours row

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.classifier.classes_]

    def lexical_evidence(self, features: sparse.csr_matrix) -> np.ndarray | None:
        """The lexical model's log-probabilities: the part of :meth:`evidence` that needs no vector
        (None for a head without a blend, from a bundle before it: its one classifier may also read
        the embedding, and :meth:`evidence` works that out)."""
        return None if self.blend is None else self._lexical(features)

    def _lexical(self, features: sparse.csr_matrix) -> np.ndarray:
        blend = self.blend or Blend()
        n_labels = len(self.classifier.classes_)
        return log_softmax(scores_matrix(self.classifier, features, n_labels) / blend.lexical_temperature)

    def evidence(
        self,
        features: sparse.csr_matrix,
        vectors: np.ndarray,
        top: np.ndarray | None,
        top_sims: np.ndarray | None,
        lexical: np.ndarray | None = None,
    ) -> Evidence:
        """``lexical``: :meth:`lexical_evidence` of ``features`` when already worked out."""
        n_labels = len(self.classifier.classes_)
        blend = self.blend or Blend()
        if lexical is None:
            if (
                self.blend is None
                and np.atleast_2d(self.classifier.coef_).shape[1] == features.shape[1] + vectors.shape[1]
            ):
                # A bundle from before the blend: its one classifier read TF-IDF joined with the embedding.
                features = sparse.hstack(
                    [features, sparse.csr_matrix(vectors * LEGACY_EMBEDDING_WEIGHT)], format="csr"
                )
            lexical = self._lexical(features)
        semantic = None
        if self.semantic is not None and blend.semantic_weight:
            semantic = log_softmax(
                scores_matrix(self.semantic, vectors, n_labels) / blend.semantic_temperature
            )
        votes = None
        nearest = np.zeros(len(lexical))
        if top is not None and top_sims is not None:
            nearest = top_sims[:, 0]
            if self.neighbour_codes is not None and blend.knn_weight:
                votes = neighbour_votes(
                    top, top_sims, self.neighbour_codes, n_labels, blend.knn_k, blend.knn_sigma
                )
        return Evidence(lexical, semantic, votes, nearest)

    def distribution(self, evidence: Evidence) -> tuple[np.ndarray, np.ndarray]:
        """Label probabilities (n, labels) and the calibrated confidence of each row's top label."""
        log_prior = self.log_prior if self.log_prior is not None else np.zeros(evidence.lexical.shape[1])
        logits = blend_logits(evidence, self.blend or Blend(), log_prior)
        probs = softmax(logits / self.temperature)
        confidence = probs.max(axis=1)
        if self.confidence_model is not None:
            features = confidence_features(probs, evidence, log_prior)
            confidence = self.confidence_model.probability(features)
        return probs, confidence

    def threshold(self, label: str) -> float:
        return self.thresholds.get(label, self.default_threshold)

    def top_words(
        self, features: sparse.csr_matrix, row: int, label_index: int, n: int = 3
    ) -> tuple[str, ...]:
        """The word features of one row that raised this label's score most."""
        if self.word_feature_names is None:
            return ()
        # The row's entries in the word block, read from the CSR arrays (no sparse matrix built:
        # scipy's checks cost more than the few products for one ticket).
        start, end = features.indptr[row], features.indptr[row + 1]
        columns, values = features.indices[start:end], features.data[start:end]
        in_words = columns < len(self.word_feature_names)
        columns, values = columns[in_words], values[in_words]
        if len(columns) == 0:
            return ()
        coef = self.classifier.coef_
        weights = coef[label_index] if coef.shape[0] > 1 else (coef[0] if label_index == 1 else -coef[0])
        contributions = values * weights[columns]
        order = np.argsort(-contributions)
        return tuple(str(self.word_feature_names[columns[i]]) for i in order[:n] if contributions[i] > 0)


def unit_rows(features: sparse.spmatrix) -> sparse.csr_matrix:
    """TF-IDF rows scaled to unit length (float32), so that a dot product is their cosine."""
    features = sparse.csr_matrix(features)
    data = _unit_row_data(features.data.astype(np.float32), features.indptr)
    return sparse.csr_matrix((data, features.indices, features.indptr), shape=features.shape)


def lexical_index(features: sparse.spmatrix) -> sparse.csr_matrix:
    """Training TF-IDF rows in the layout Neighbours keeps: unit rows, transposed (terms x tickets),
    so that a query's similarity to every ticket touches only the postings of its own terms."""
    return unit_rows(features).T.tocsr()


def hybrid_similarities(
    vectors: np.ndarray,
    stored_vectors: np.ndarray,
    features: sparse.spmatrix | None = None,
    stored_lexical: sparse.csr_matrix | None = None,
    lexical: np.ndarray | None = None,
) -> np.ndarray:
    """(queries, tickets) similarity: the embeddings' cosine, averaged with the TF-IDF cosine when
    both sides have TF-IDF rows (``stored_lexical`` as made by ``lexical_index``). ``lexical``: that
    TF-IDF cosine when already worked out (:func:`lexical_similarities`)."""
    sims = np.asarray(vectors, dtype=np.float32) @ stored_vectors.T
    if lexical is None:
        if features is None or stored_lexical is None:
            return sims
        lexical = lexical_similarities(features, stored_lexical)
    return (sims + lexical) / 2


def lexical_similarities(features: sparse.spmatrix, stored_lexical: sparse.csr_matrix) -> np.ndarray:
    """(queries, tickets) TF-IDF cosine, float64: the part of :func:`hybrid_similarities` that needs no
    vector."""
    queries = unit_rows(features)
    # Each query adds up the postings of its own terms: about twice as fast as a sparse product for
    # one query, 1.5x for a batch of 64 (the product's two passes over every pairing cost more than
    # a slice per query), and a ticket's TF-IDF similarities are the same alone and in a batch (the
    # embeddings' within BLAS's rounding: a batch's product may add up in another order than one query's).
    indptr, indices, data = queries.indptr, queries.indices, queries.data
    lexical = np.empty((queries.shape[0], stored_lexical.shape[1]))
    for row in range(queries.shape[0]):
        terms = slice(indptr[row], indptr[row + 1])
        lexical[row] = stored_lexical[indices[terms]].T @ data[terms]
    return lexical


# Rows of a batch whose nearest labelled examples are ranked together (a masked copy of their
# similarities to every labelled ticket: 64 x 100k floats is 51 MB).
NEAREST_BLOCK = 64


@dataclass
class Neighbours:
    """Labelled training tickets: the neighbour vote and the 'nearest examples' part of every reason."""

    ids: np.ndarray  # (n,) str
    vectors: np.ndarray  # (n, dim) float32, L2-normalised
    labels: dict[str, np.ndarray]  # head name -> (n,) str
    # (terms, n) TF-IDF of the same tickets (``lexical_index``); None in bundles trained before the
    # hybrid similarity, which then compare embeddings only (as they were trained).
    lexical: sparse.csr_matrix | None = None

    def similarities(
        self,
        vectors: np.ndarray,
        features: sparse.spmatrix | None = None,
        lexical: np.ndarray | None = None,
    ) -> np.ndarray:
        """Similarity of each query to every training ticket (``features``: the queries' TF-IDF;
        ``lexical``: their :meth:`lexical_similarities`, when already worked out)."""
        return hybrid_similarities(vectors, self.vectors, features, self.lexical, lexical)

    def lexical_similarities(self, features: sparse.spmatrix) -> np.ndarray | None:
        """The queries' TF-IDF cosine to every training ticket; None where the bundle has no TF-IDF
        rows of them."""
        return None if self.lexical is None else lexical_similarities(features, self.lexical)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_codes", None)  # derived on first use, never pickled
        return state

    def _label_codes(self, head: str) -> tuple[np.ndarray, dict[str, int]] | None:
        """The head's label column as integer codes and the code of each label (built on first use:
        comparing integers is several times faster than comparing the label strings per ticket)."""
        cache: dict[str, tuple[np.ndarray, dict[str, int]] | None] | None = self.__dict__.get("_codes")
        if cache is None:
            cache = self.__dict__["_codes"] = {}
        if head not in cache:
            column = self.labels.get(head)
            if column is None:
                cache[head] = None
            else:
                names, codes = np.unique(column, return_inverse=True)
                cache[head] = (codes.reshape(-1), {str(n): i for i, n in enumerate(names.tolist())})
        return cache[head]

    def nearest(
        self, sims: np.ndarray, head: str, labels: Sequence[str], k: int = 3
    ) -> list[tuple[str, ...]]:
        """For each query (a row of ``similarities``), ids of the k most similar training tickets
        carrying the given label."""
        out: list[tuple[str, ...]] = []
        coded = self._label_codes(head)
        kth = min(k, sims.shape[1] - 1)
        # Rows a block at a time, each block in one call per step (a masked copy of the block's
        # similarities): each row ranks exactly as it would alone.
        for start in range(0, len(labels), NEAREST_BLOCK):
            block = sims[start : start + NEAREST_BLOCK]
            if coded is not None:
                codes, code_of = coded
                wanted = np.array([code_of.get(label, -1) for label in labels[start : start + len(block)]])
                block = np.where(codes[None, :] == wanted[:, None], block, -np.inf)
            top = np.argpartition(-block, kth, axis=1)[:, :k]
            scores = np.take_along_axis(block, top, axis=1)
            order = np.argsort(-scores, axis=1)
            top, scores = np.take_along_axis(top, order, axis=1), np.take_along_axis(scores, order, axis=1)
            finite = np.isfinite(scores)
            for row_top, row_finite in zip(top.tolist(), finite.tolist(), strict=True):
                out.append(
                    tuple(str(self.ids[i]) for i, keep in zip(row_top, row_finite, strict=True) if keep)
                )
        return out


# A ticket is only held to the languages a model was trained on when the detector is this sure
# and the text has this many letters (short or code-heavy tickets are often misjudged).
UNTRAINED_LANGUAGE_PROBABILITY = 0.9
UNTRAINED_LANGUAGE_MIN_LETTERS = 20


def _has_letters(text: str, count: int) -> bool:
    """Whether ``text`` has at least ``count`` letters (``str.isalpha``): read only as far as the
    count-th letter, not the whole text."""
    for char in text:
        if char.isalpha():
            count -= 1
            if count <= 0:
                return True
    return count <= 0


def known_languages(
    texts: Sequence[str],
    min_share: float = 0.002,
    min_count: int = 3,
    codes: Sequence[str] | None = None,
) -> dict[str, int]:
    """Training tickets per language (ISO 639), for the languages with enough of them to have been learnt.

    ``codes``: the texts' language codes when the caller has identified them already.
    """
    counts: dict[str, int] = {}
    for code in codes if codes is not None else (identify_language(text)[0] for text in texts):
        counts[code] = counts.get(code, 0) + 1
    floor = max(min_count, int(min_share * len(texts)))
    return {c: n for c, n in sorted(counts.items()) if n >= floor and c != UNDETERMINED}


def _with_reasons(prediction: Prediction, reasons: Sequence[Reason]) -> Prediction:
    """The prediction explained by ``reasons`` (its English ``reason`` written from them)."""
    return replace(prediction, reasons=tuple(reasons), reason=english(reasons))


@dataclass
class Router:
    """All heads over one shared vectoriser and one set of labelled neighbours."""

    vectorizer: Any
    heads: dict[str, Head]
    neighbours: Neighbours | None = None
    # Training tickets per language; None for a bundle trained before languages were recorded.
    languages: dict[str, int] | None = None
    # The encoder spec of the semantic channel (semantic model and neighbour vectors) when training
    # chose one other than the service's encoder; None: the vectors ``predict`` is given.
    channel: str | None = None
    # The loaded channel encoder (attached by ModelBundle.load; never pickled).
    channel_encoder: Encoder | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["channel_encoder"] = None
        return state

    def attach_channel(self, encoder: Encoder) -> None:
        """The encoder that computes this router's channel vectors (``channel`` names its spec)."""
        self.channel_encoder = encoder

    def channel_vectors(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """The vectors the heads and neighbours read: ``vectors`` (the service encoder's) unless the
        router has a channel encoder of its own, which then encodes ``texts``."""
        if self.channel is None:
            return np.asarray(vectors, dtype=np.float32)
        if self.channel_encoder is None:
            self.channel_encoder = get_encoder(self.channel)
        return np.asarray(self.channel_encoder.encode(list(texts)), dtype=np.float32)

    def untrained_language(self, text: str) -> str | None:
        """The ticket's language when the model was clearly not trained on it, else None."""
        if not self.languages or not _has_letters(text, UNTRAINED_LANGUAGE_MIN_LETTERS):
            return None
        code, probability = identify_language(text)
        if code == UNDETERMINED or probability < UNTRAINED_LANGUAGE_PROBABILITY or code in self.languages:
            return None
        return code

    def _hold_untrained_languages(
        self, texts: Sequence[str], results: list[dict[str, Prediction]]
    ) -> list[dict[str, Prediction]]:
        """Abstain on every head for a ticket in a language the model never saw (with that reason)."""
        for row, text in enumerate(texts):
            code = self.untrained_language(text)
            if code is None:
                continue
            results[row] = {
                name: _with_reasons(
                    replace(prediction, abstained=True),
                    (
                        Reason(
                            "untrained_language",
                            {
                                "language": code,
                                "known": sorted(self.languages or ()),
                                "head": name,
                                "value": prediction.value,
                                "confidence": prediction.confidence,
                            },
                        ),
                    ),
                )
                for name, prediction in results[row].items()
            }
        return results

    def _top_neighbours(self, sims: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        if sims is None:
            return None, None
        k = max((h.blend.knn_k for h in self.heads.values() if h.blend is not None), default=1)
        return top_similar(sims, k)

    def predict(
        self, texts: Sequence[str], vectors: np.ndarray, features: RoutingFeatures | None = None
    ) -> list[dict[str, Prediction]]:
        """Predictions of every head for each (text, vector). ``features``: the texts' ``features``
        when already worked out (while the vectors were being computed elsewhere)."""
        if len(texts) <= SINGLE_THREAD_BATCH:
            _single_thread_blas()
        return self._predict(texts, vectors, features)

    def features(self, texts: Sequence[str], heads: Sequence[str] | None = None) -> RoutingFeatures:
        """The part of ``predict``'s work that needs no vector: the texts' TF-IDF features, their
        TF-IDF cosine to the labelled tickets, and the lexical evidence of each head (of ``heads``
        only, when given)."""
        tfidf = transform(self.vectorizer, texts)
        return RoutingFeatures(
            tfidf,
            self.neighbours.lexical_similarities(tfidf) if self.neighbours is not None else None,
            {name: self.heads[name].lexical_evidence(tfidf) for name in heads or self.heads},
        )

    def _inputs(
        self, texts: Sequence[str], vectors: np.ndarray, features: RoutingFeatures | None = None
    ) -> tuple[RoutingFeatures, np.ndarray, Any, Any, Any]:
        """The vector-free features, vectors, similarities to the labelled tickets and their top k."""
        if features is None:
            features = self.features(texts)
        vectors = self.channel_vectors(texts, vectors)
        sims = (
            self.neighbours.similarities(vectors, features.tfidf, features.neighbours)
            if self.neighbours is not None
            else None
        )
        top, top_sims = self._top_neighbours(sims)
        return features, vectors, sims, top, top_sims

    def distribution(
        self, head: str, texts: Sequence[str], vectors: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """One head's label probabilities (columns in ``heads[head].labels`` order) and confidences."""
        features, vectors, _, top, top_sims = self._inputs(texts, vectors, self.features(texts, (head,)))
        model = self.heads[head]
        return model.distribution(
            model.evidence(features.tfidf, vectors, top, top_sims, features.lexical.get(head))
        )

    def _predict(
        self, texts: Sequence[str], vectors: np.ndarray, features: RoutingFeatures | None = None
    ) -> list[dict[str, Prediction]]:
        prepared, vectors, sims, top, top_sims = self._inputs(texts, vectors, features)
        tfidf = prepared.tfidf
        results: list[dict[str, Prediction]] = [{} for _ in texts]
        for name, head in self.heads.items():
            probs, confidence = head.distribution(
                head.evidence(tfidf, vectors, top, top_sims, prepared.lexical.get(name))
            )
            labels = head.labels
            best = probs.argmax(axis=1)
            best_labels = [labels[i] for i in best]
            examples = (
                self.neighbours.nearest(sims, name, best_labels)
                if self.neighbours is not None and sims is not None
                else [() for _ in texts]
            )
            for row in range(len(texts)):
                results[row][name] = self._prediction(
                    head, tfidf, probs[row], float(confidence[row]), row, int(best[row]), examples[row]
                )
        return self._hold_untrained_languages(texts, results)

    @staticmethod
    def _prediction(
        head: Head,
        features: sparse.csr_matrix,
        probs: np.ndarray,
        confidence: float,
        row: int,
        best: int,
        examples: tuple[str, ...],
    ) -> Prediction:
        labels = head.labels
        order = np.argsort(-probs)[:3]
        value = labels[best]
        threshold = head.threshold(value)
        abstained = confidence < threshold
        phrases = head.top_words(features, row, best)
        said = {"head": head.name, "value": value, "confidence": round(confidence, 4)}
        reasons = [
            Reason("below_threshold", {**said, "threshold": round(threshold, 4)})
            if abstained
            else Reason("predicted", said)
        ]
        if phrases:
            reasons.append(Reason("words", {"words": list(phrases)}))
        if examples:
            reasons.append(Reason("like_examples", {"examples": list(examples)}))
        # The top alternative carries the calibrated confidence; the others share the rest in the
        # blend's proportions, never above the top one (so the list stays in order).
        rest = 1.0 - float(probs[best])
        scale = (1.0 - confidence) / rest if rest > 1e-12 else 0.0
        alternatives = tuple(
            Alternative(
                labels[i], round(confidence if i == best else min(confidence, float(probs[i]) * scale), 4)
            )
            for i in order
        )
        return Prediction(
            value=value,
            confidence=round(confidence, 4),
            alternatives=alternatives,
            abstained=abstained,
            reason=english(reasons),
            phrases=phrases,
            examples=examples,
            reasons=tuple(reasons),
        )
