"""Department, category and priority: calibrated classifiers over lexical + embedding features.

Each head is a logistic regression over TF-IDF (jieba/Latin words and character n-grams) joined
with the ticket's sentence embedding, temperature-scaled on out-of-fold predictions. A head
abstains when its confidence is below the per-class threshold chosen on held-out data for the
target precision. Every prediction carries the words that pushed it most and the ids of the
nearest labelled training tickets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from triage.features import words
from triage.types import Alternative, Prediction

# Weight of the (L2-normalised) embedding block beside the TF-IDF block in the joint features.
EMBEDDING_WEIGHT = 2.0


def joint_features(vectorizer: Any, texts: Sequence[str], vectors: np.ndarray) -> sparse.csr_matrix:
    """TF-IDF of the texts side by side with the weighted embedding vectors."""
    lexical = vectorizer.transform(texts)
    dense = sparse.csr_matrix(np.asarray(vectors, dtype=np.float64) * EMBEDDING_WEIGHT)
    return sparse.hstack([lexical, dense], format="csr")


def word_analyzer(text: str) -> list[str]:
    """Words and word bigrams, for the explainable half of the TF-IDF features."""
    tokens = words(text)
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


@dataclass
class Head:
    """One fitted prediction head (department, category or priority)."""

    name: str
    classifier: Any  # sklearn LogisticRegression fitted on joint_features
    temperature: float = 1.0
    thresholds: dict[str, float] = field(default_factory=dict)
    default_threshold: float = 0.0
    word_feature_names: np.ndarray | None = None  # names of the word block's columns

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.classifier.classes_]

    def probabilities(self, features: sparse.csr_matrix) -> np.ndarray:
        logits = self.classifier.decision_function(features)
        if logits.ndim == 1:  # binary problems give one column
            logits = np.stack([-logits, logits], axis=1)
        return softmax(logits / self.temperature)

    def threshold(self, label: str) -> float:
        return self.thresholds.get(label, self.default_threshold)

    def top_words(self, features: sparse.csr_matrix, row: int, label_index: int, n: int = 3) -> tuple[str, ...]:
        """The word features of one row that raised this label's score most."""
        if self.word_feature_names is None:
            return ()
        n_words = len(self.word_feature_names)
        x = features.getrow(row)[:, :n_words].tocoo()
        if x.nnz == 0:
            return ()
        coef = self.classifier.coef_
        weights = coef[label_index] if coef.shape[0] > 1 else (coef[0] if label_index == 1 else -coef[0])
        contributions = x.data * weights[x.col]
        order = np.argsort(-contributions)
        return tuple(str(self.word_feature_names[x.col[i]]) for i in order[:n] if contributions[i] > 0)


@dataclass
class Neighbours:
    """Labelled training tickets, for the 'nearest examples' part of every reason."""

    ids: np.ndarray  # (n,) str
    vectors: np.ndarray  # (n, dim) float32, L2-normalised
    labels: dict[str, np.ndarray]  # head name -> (n,) str

    def nearest(self, vectors: np.ndarray, head: str, labels: Sequence[str], k: int = 3) -> list[tuple[str, ...]]:
        """For each query, ids of the k most similar training tickets carrying the given label."""
        sims = np.asarray(vectors, dtype=np.float32) @ self.vectors.T
        out: list[tuple[str, ...]] = []
        column = self.labels.get(head)
        for row, label in enumerate(labels):
            scores = sims[row]
            if column is not None:
                scores = np.where(column == label, scores, -np.inf)
            top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
            top = top[np.argsort(-scores[top])]
            out.append(tuple(str(self.ids[i]) for i in top if np.isfinite(scores[i])))
        return out


@dataclass
class Router:
    """All heads over one shared vectoriser."""

    vectorizer: Any
    heads: dict[str, Head]
    neighbours: Neighbours | None = None

    def predict(self, texts: Sequence[str], vectors: np.ndarray) -> list[dict[str, Prediction]]:
        """Predictions of every head for each (text, vector)."""
        features = joint_features(self.vectorizer, texts, vectors)
        results: list[dict[str, Prediction]] = [{} for _ in texts]
        for name, head in self.heads.items():
            probs = head.probabilities(features)
            labels = head.labels
            best = probs.argmax(axis=1)
            best_labels = [labels[i] for i in best]
            examples = (
                self.neighbours.nearest(vectors, name, best_labels)
                if self.neighbours is not None
                else [() for _ in texts]
            )
            for row in range(len(texts)):
                results[row][name] = self._prediction(head, features, probs[row], row, int(best[row]), examples[row])
        return results

    @staticmethod
    def _prediction(
        head: Head,
        features: sparse.csr_matrix,
        probs: np.ndarray,
        row: int,
        best: int,
        examples: tuple[str, ...],
    ) -> Prediction:
        labels = head.labels
        order = np.argsort(-probs)[:3]
        value, confidence = labels[best], float(probs[best])
        threshold = head.threshold(value)
        abstained = confidence < threshold
        phrases = head.top_words(features, row, best)
        if abstained:
            reason = (
                f"confidence {confidence:.2f} is below the {threshold:.2f} needed for {head.name} "
                f"'{value}' at the target precision: needs a human"
            )
        else:
            reason = f"{head.name} '{value}' with confidence {confidence:.2f}"
        if phrases:
            reason += "; words: " + ", ".join(f"'{p}'" for p in phrases)
        if examples:
            reason += "; like " + ", ".join(examples)
        return Prediction(
            value=value,
            confidence=round(confidence, 4),
            alternatives=tuple(Alternative(labels[i], round(float(probs[i]), 4)) for i in order),
            abstained=abstained,
            reason=reason,
            phrases=phrases,
            examples=examples,
        )
