"""The fitted state that serving reads from TF-IDF vectorisers and linear models, without scikit-learn.

Training fits scikit-learn's ``TfidfVectorizer`` (two of them in a ``FeatureUnion``) and linear
classifiers; predicting reads only their fitted numbers (vocabulary, idf, coefficients), computed by
``triage.routing`` itself. A saved bundle stores these plain objects instead (``compact_router``), so
that loading a bundle does not import scikit-learn, and with it ``scipy.stats``: the demo bundle's
load in a server's start went from 1.56 to 0.24 s and its memory, imports included, from 196 to
62 MiB (BENCHMARKS.md, "Memory at 100k and 1M cases"). Each class keeps the attribute names of the
scikit-learn object it stands for, so the routing code reads either.

The analysers repeat scikit-learn's (1.x) for text input: ``char`` and ``char_wb`` n-grams of the
lower-cased text with runs of white space made one space, or a callable analyser as it is. A
vectoriser with any other setting (accents stripped, stop words, a custom preprocessor, word
n-grams by token pattern) is stored as it was fitted. Tests compare both on real tickets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from triage.routing import Router

# Two or more white-space characters, which the character analysers read as one space.
_WHITE_SPACES = re.compile(r"\s\s+")
CHAR_ANALYZERS = ("char", "char_wb")


def _char_ngrams(text: str, min_n: int, max_n: int, lowercase: bool) -> list[str]:
    """Character n-grams of the whole text, shortest first, each length in reading order."""
    if lowercase:
        text = text.lower()
    text = _WHITE_SPACES.sub(" ", text)
    length = len(text)
    grams: list[str] = []
    if min_n == 1:
        grams.extend(text)  # unigrams: the characters themselves
        min_n = 2
    for n in range(min_n, min(max_n + 1, length + 1)):
        grams.extend(text[i : i + n] for i in range(length - n + 1))
    return grams


def _char_wb_ngrams(text: str, min_n: int, max_n: int, lowercase: bool) -> list[str]:
    """Character n-grams within words, each word padded with a space on both sides; a word not longer
    than n (padded) counts once, as itself, and ends its longer n-grams."""
    if lowercase:
        text = text.lower()
    grams: list[str] = []
    append = grams.append  # a plain loop: as fast as scikit-learn's, faster than a list per n
    for word in _WHITE_SPACES.sub(" ", text).split():
        padded = " " + word + " "
        length = len(padded)
        for n in range(min_n, max_n + 1):
            if length <= n:
                append(padded)
                break
            for i in range(length - n + 1):
                append(padded[i : i + n])
    return grams


def char_analyzer(
    kind: str, ngram_range: tuple[int, int], lowercase: bool = True
) -> Callable[[str], list[str]]:
    """The n-grams scikit-learn's ``TfidfVectorizer(analyzer=kind, ngram_range=...)`` makes of a text."""
    if kind not in CHAR_ANALYZERS:
        raise ValueError(f"unknown character analyser {kind!r}; known: {', '.join(CHAR_ANALYZERS)}")
    grams = _char_ngrams if kind == "char" else _char_wb_ngrams
    return partial(grams, min_n=ngram_range[0], max_n=ngram_range[1], lowercase=lowercase)


@dataclass(frozen=True, eq=False)
class TfidfBlock:
    """A fitted ``TfidfVectorizer`` as ``triage.routing.transform`` reads it (same attribute names)."""

    vocabulary_: dict[str, int]
    idf_: np.ndarray
    analyzer: str | Callable[[str], list[str]]  # "char", "char_wb", or the fitted callable
    ngram_range: tuple[int, int] = (1, 1)
    lowercase: bool = True
    norm: str | None = "l2"
    use_idf: bool = True
    sublinear_tf: bool = False
    binary: bool = False

    def build_analyzer(self) -> Callable[[str], list[str]]:
        if callable(self.analyzer):
            return self.analyzer
        return char_analyzer(self.analyzer, self.ngram_range, self.lowercase)

    @classmethod
    def of(cls, vectorizer: Any) -> TfidfBlock | None:
        """The block of a fitted scikit-learn ``TfidfVectorizer``; None when a setting is not one this
        class repeats exactly (the vectoriser is then kept as it is)."""
        if type(vectorizer).__name__ != "TfidfVectorizer" or not hasattr(vectorizer, "vocabulary_"):
            return None
        repeatable = (
            vectorizer.input == "content"
            and vectorizer.norm in ("l2", None)
            and (
                callable(vectorizer.analyzer)
                or (
                    vectorizer.analyzer in CHAR_ANALYZERS
                    and vectorizer.preprocessor is None
                    and vectorizer.strip_accents is None
                )
            )
        )
        if not repeatable:
            return None
        return cls(
            vocabulary_={str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
            idf_=np.asarray(vectorizer.idf_) if vectorizer.use_idf else np.ones(len(vectorizer.vocabulary_)),
            analyzer=vectorizer.analyzer,
            ngram_range=(int(vectorizer.ngram_range[0]), int(vectorizer.ngram_range[1])),
            lowercase=bool(vectorizer.lowercase),
            norm=vectorizer.norm,
            use_idf=bool(vectorizer.use_idf),
            sublinear_tf=bool(vectorizer.sublinear_tf),
            binary=bool(vectorizer.binary),
        )


@dataclass(frozen=True, eq=False)
class TfidfUnion:
    """A fitted ``FeatureUnion`` of TF-IDF blocks, side by side in order (no weights)."""

    transformer_list: list[tuple[str, TfidfBlock]]

    @classmethod
    def of(cls, union: Any) -> TfidfUnion | None:
        if type(union).__name__ != "FeatureUnion" or getattr(union, "transformer_weights", None):
            return None
        blocks = [(str(name), TfidfBlock.of(part)) for name, part in union.transformer_list]
        if any(block is None for _, block in blocks):
            return None
        return cls([(name, block) for name, block in blocks if block is not None])


@dataclass(frozen=True, eq=False)
class LinearModel:
    """A fitted linear classifier's coefficients, intercepts and classes (scikit-learn's names)."""

    coef_: np.ndarray
    intercept_: np.ndarray
    classes_: np.ndarray

    @classmethod
    def of(cls, model: Any) -> LinearModel | None:
        if model is None or not all(hasattr(model, a) for a in ("coef_", "intercept_", "classes_")):
            return None
        return cls(
            np.asarray(model.coef_), np.atleast_1d(np.asarray(model.intercept_)), np.asarray(model.classes_)
        )


def compact_vectorizer(vectorizer: Any) -> Any:
    """``vectorizer`` as a ``TfidfUnion`` or ``TfidfBlock`` where it is one, else unchanged."""
    return TfidfUnion.of(vectorizer) or TfidfBlock.of(vectorizer) or vectorizer


def compact_router(router: Router) -> Router:
    """A copy of ``router`` whose vectoriser and heads' linear models are the plain objects above (what
    a bundle stores); parts this module cannot repeat exactly stay scikit-learn's."""
    heads = {
        name: replace(
            head,
            classifier=LinearModel.of(head.classifier) or head.classifier,
            semantic=LinearModel.of(head.semantic) or head.semantic,
        )
        for name, head in router.heads.items()
    }
    return replace(router, vectorizer=compact_vectorizer(router.vectorizer), heads=heads)
