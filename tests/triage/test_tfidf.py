"""The plain TF-IDF and linear-model state a bundle stores: the same n-grams and numbers as scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from triage.routing import transform, word_analyzer
from triage.tfidf import LinearModel, TfidfBlock, TfidfUnion, char_analyzer, compact_vectorizer

TEXTS = [
    "",
    " ",
    "a",
    "ab",
    "VPN 无法连接 error 809 on host srv-01",
    "  leading and trailing  ",
    "tabs\tand\t\tnew\n\nlines  and   runs",
    "Ünïcödé ÀÉÎ straße İstanbul",
    "电脑蓝屏 无法开机，已经三次了！请尽快处理。",
    "non\u00a0breaking\u00a0\u00a0spaces and\u2003em space",
    "Password reset for J.Smith@example.com — ticket INC0012345 (P2)",
    "x" * 7 + " " + "yz",
]


@pytest.mark.parametrize(
    ("kind", "ngram_range", "lowercase"),
    [("char", (1, 3), True), ("char", (2, 5), True), ("char_wb", (2, 4), True), ("char_wb", (1, 3), False)],
)
def test_character_ngrams_are_scikit_learns(kind: str, ngram_range: tuple[int, int], lowercase: bool) -> None:
    theirs = TfidfVectorizer(analyzer=kind, ngram_range=ngram_range, lowercase=lowercase).build_analyzer()
    ours = char_analyzer(kind, ngram_range, lowercase)
    for text in TEXTS:
        assert ours(text) == theirs(text), text


def test_an_unknown_character_analyser_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown character analyser 'word'; known: char, char_wb"):
        char_analyzer("word", (1, 1))


def _union() -> FeatureUnion:
    texts = [t for t in TEXTS if t.strip()] * 2
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(analyzer=word_analyzer, sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True)),
        ]
    ).fit(texts)


def test_a_compacted_union_gives_the_same_features() -> None:
    union = _union()
    compact = compact_vectorizer(union)
    assert isinstance(compact, TfidfUnion) and all(
        isinstance(b, TfidfBlock) for _, b in compact.transformer_list
    )
    ours, theirs = transform(compact, TEXTS), transform(union, TEXTS)
    assert ours.shape == theirs.shape
    assert np.array_equal(ours.indptr, theirs.indptr) and np.array_equal(ours.indices, theirs.indices)
    assert np.array_equal(ours.data, theirs.data)
    assert np.allclose(theirs.toarray(), union.transform(TEXTS).toarray())  # and scikit-learn's own


def test_settings_it_cannot_repeat_keep_the_fitted_vectoriser() -> None:
    texts = ["crème brûlée au café", "café au lait", "brûlée crème"]
    accents = TfidfVectorizer(analyzer="char", strip_accents="unicode").fit(texts)
    words = TfidfVectorizer(analyzer="word").fit(texts)
    assert TfidfBlock.of(accents) is None and TfidfBlock.of(words) is None
    assert compact_vectorizer(accents) is accents
    union = FeatureUnion([("a", accents), ("w", words)]).fit(texts)
    assert compact_vectorizer(union) is union


def test_a_linear_model_keeps_its_numbers() -> None:
    x = np.random.default_rng(0).normal(size=(60, 5))
    y = np.repeat(["a", "b", "c"], 20)
    model = LinearSVC().fit(x, y)
    compact = LinearModel.of(model)
    assert compact is not None
    assert np.array_equal(x @ compact.coef_.T + compact.intercept_, model.decision_function(x))
    assert list(compact.classes_) == ["a", "b", "c"]
    assert LinearModel.of(object()) is None
