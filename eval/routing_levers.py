"""Routing levers weighed out of fold: what each would give on a training split, before any test.

``python -m eval.routing_levers [--datasets ../shared/datasets] [--only cn-ict,endava-urgency]
[--levers both-encoders,lexical-ensemble,semantic-lr,ridge-alpha,cjk-chars]``

For each split the training tickets go through ``train_bundle``'s own search (the same folds, the
TF-IDF models' out-of-fold scores, the blend searched once per encoder: USE-m3 and the MiniLM-L6
ONNX int8 channel candidate) and the channel is chosen by the same rule. Each lever then changes
one thing and searches again; its out-of-fold score (mean over heads of macro-F1 + 0.1 accuracy)
is compared with the chosen channel's blend by ``training.train.channel_gain`` (paired bootstrap
over the training tickets, 200 draws). A lever that adds options to the search can only raise its
out-of-fold maximum, so a gain here is optimistic. No test ticket is read. Embeddings come from
the routing benchmark's cache (``var/cache/routing``).

Levers: ``both-encoders`` (the other encoder's semantic ridge or neighbour vote added to the chosen
blend), ``lexical-ensemble`` (the two best TF-IDF models' tempered log-probabilities summed, one
more lexical candidate), ``semantic-lr`` (logistic regression instead of the ridge over the
embeddings), ``ridge-alpha`` (other ridge strengths), ``cjk-chars`` (other character n-grams for
mostly-Chinese data; skipped elsewhere).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.pipeline import FeatureUnion

from eval.report import DEFAULT_DATASETS, chosen_names, missing_datasets
from eval.routing_bench import (
    CACHE,
    DATASETS,
    ENCODERS,
    MINILM_INT8,
    EmbeddingCache,
    ensure_minilm_int8,
    load_split,
)
from training.train import (
    CHANNEL_MARGIN_Z,
    HAN_SHARE_FOR_CJK_GRAMS,
    KNN_KS,
    ChannelFit,
    HeadData,
    LexicalModel,
    _evidence,
    _head_data,
    _score,
    _search_channel,
    build_vectorizer,
    channel_gain,
    fit_temperature,
    han_share,
    leave_one_out_neighbours,
    lexical_index,
    out_of_fold,
    search_blend,
)
from triage.routing import blend_logits, log_softmax, neighbour_votes, word_analyzer

logger = logging.getLogger(__name__)

LEVERS = ("both-encoders", "lexical-ensemble", "semantic-lr", "ridge-alpha", "cjk-chars")
FOLDS = 5
ROLES = ("use-m3", "channel")


@dataclass(frozen=True)
class Channel:
    """One encoder's vectors, neighbours and per-head blend search on the training split."""

    vectors: np.ndarray
    top: tuple[np.ndarray, np.ndarray]
    fits: list[ChannelFit]


@dataclass(frozen=True)
class Searched:
    heads: list[HeadData]
    channels: dict[str, Channel]
    chosen: str

    @property
    def base(self) -> list[np.ndarray]:
        return [f.predicted for f in self.channels[self.chosen].fits]


@dataclass(frozen=True)
class Result:
    split: str
    lever: str
    variant: str
    oof: float
    gain: float
    gain_se: float
    detail: str


def _channels(
    texts: Sequence[str],
    heads: list[HeadData],
    features: sparse.csr_matrix,
    vectors: Mapping[str, np.ndarray],
) -> dict[str, Channel]:
    lexical = lexical_index(features)
    out = {}
    for role, v in vectors.items():
        top = leave_one_out_neighbours(v, max(KNN_KS), features, lexical)
        out[role] = Channel(v, top, [_search_channel(d, v, *top) for d in heads])
    return out


def search(
    texts: Sequence[str], labels: Mapping[str, Sequence[str]], vectors: Mapping[str, np.ndarray]
) -> Searched:
    """``train_bundle``'s search on these tickets, and the channel its rule picks."""
    features = build_vectorizer(texts).fit_transform(texts).tocsr()
    heads = [_head_data(name, features, y, FOLDS) for name, y in labels.items()]
    channels = _channels(texts, heads, features, vectors)
    base = [f.predicted for f in channels["use-m3"].fits]
    gain, se = channel_gain(heads, base, [f.predicted for f in channels["channel"].fits])
    chosen = "channel" if gain > 0 and gain - CHANNEL_MARGIN_Z * se > 0 else "use-m3"
    return Searched(heads, channels, chosen)


def _predict(data: HeadData, fit: ChannelFit, top: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    evidence = _evidence(data, fit.choice, fit.semantic_oof, *top)
    return blend_logits(evidence, fit.choice.blend, data.log_prior).argmax(axis=1)


def _both_encoders(s: Searched) -> list[tuple[str, list[np.ndarray], str]]:
    """The other encoder's semantic ridge or neighbour vote on top of the chosen blend."""
    other = next(r for r in s.channels if r != s.chosen)
    mine, theirs = s.channels[s.chosen], s.channels[other]
    predictions, picked = [], []
    for data, fit, their_fit in zip(s.heads, mine.fits, theirs.fits, strict=True):
        n_labels = len(data.labels)
        evidence = _evidence(data, fit.choice, fit.semantic_oof, *mine.top)
        logits = blend_logits(evidence, fit.choice.blend, data.log_prior)
        semantic = log_softmax(their_fit.semantic_oof / fit_temperature(their_fit.semantic_oof, data.y))
        options: list[tuple[str, np.ndarray]] = [
            (f"semantic {w:g}", logits + w * semantic) for w in (0.25, 0.5, 1.0)
        ]
        for w, k, sigma in itertools.product((0.5, 1.0), (10, 40), (0.05, 0.1)):
            votes = neighbour_votes(*theirs.top, data.y, n_labels, k, sigma)
            smoothed = 0.9 * votes + 0.1 * np.exp(data.log_prior)
            options.append((f"neighbours {w:g} (k={k}, sigma={sigma:g})", logits + w * np.log(smoothed)))
        best_name, best, best_score = "none", fit.predicted, fit.choice.score
        for name, candidate in options:
            predicted = candidate.argmax(axis=1)
            score = _score(data.y, predicted, n_labels)
            if score > best_score + 1e-9:
                best_name, best, best_score = name, predicted, score
        predictions.append(best)
        picked.append(f"{data.name}: {best_name}")
    return [(f"+ {other}", predictions, "; ".join(picked))]


def _lexical_ensemble(s: Searched) -> list[tuple[str, list[np.ndarray], str]]:
    channel = s.channels[s.chosen]
    predictions, picked = [], []
    for data, fit in zip(s.heads, channel.fits, strict=True):
        n_labels = len(data.labels)
        lexical = dict(data.lexical_oof)
        ranked = sorted(lexical, key=lambda m: -_score(data.y, lexical[m].argmax(axis=1), n_labels))
        if len(ranked) >= 2:
            a, b = ranked[:2]
            lexical[LexicalModel("ensemble", 0.0)] = log_softmax(
                lexical[a] / fit_temperature(lexical[a], data.y)
            ) + log_softmax(lexical[b] / fit_temperature(lexical[b], data.y))
        choice = search_blend(lexical, fit.semantic_oof, *channel.top, data.y, data.log_prior)
        predictions.append(
            _predict(replace(data, lexical_oof=lexical), replace(fit, choice=choice), channel.top)
        )
        picked.append(f"{data.name}: {choice.lexical.kind} ({len(ranked)} lexical models)")
    return [("two best summed", predictions, "; ".join(picked))]


def _semantic_variants(
    s: Searched, makers: Mapping[str, Callable[[], Any]]
) -> list[tuple[str, list[np.ndarray], str]]:
    channel = s.channels[s.chosen]
    out = []
    for name, make in makers.items():
        predictions, picked = [], []
        for data in s.heads:
            semantic = out_of_fold([make], channel.vectors, data.y, len(data.labels), data.splits)[0]
            choice = search_blend(data.lexical_oof, semantic, *channel.top, data.y, data.log_prior)
            predictions.append(_predict(data, ChannelFit(semantic, choice, np.empty(0)), channel.top))
            picked.append(f"{data.name}: semantic weight {choice.blend.semantic_weight:g}")
        out.append((name, predictions, "; ".join(picked)))
    return out


def _cjk_vectorizer(ngrams: tuple[int, int], min_df: int) -> FeatureUnion:
    words = TfidfVectorizer(analyzer=word_analyzer, min_df=2, sublinear_tf=True, max_features=50_000)
    chars = TfidfVectorizer(
        analyzer="char", ngram_range=ngrams, min_df=min_df, sublinear_tf=True, max_features=150_000
    )
    return FeatureUnion([("words", words), ("chars", chars)])


def _cjk_chars(
    s: Searched, texts: Sequence[str], labels: Mapping[str, Sequence[str]]
) -> list[tuple[str, list[np.ndarray], str]]:
    if han_share(texts) < HAN_SHARE_FOR_CJK_GRAMS:
        return []
    out = []
    for ngrams, min_df in (((1, 4), 2), ((2, 4), 2), ((1, 3), 1)):
        features = _cjk_vectorizer(ngrams, min_df).fit_transform(texts).tocsr()
        heads = [_head_data(name, features, y, FOLDS) for name, y in labels.items()]
        vectors = {s.chosen: s.channels[s.chosen].vectors}
        channel = _channels(texts, heads, features, vectors)[s.chosen]
        out.append(
            (
                f"char {ngrams[0]}-{ngrams[1]}, min_df {min_df}",
                [f.predicted for f in channel.fits],
                "; ".join(
                    f"{d.name}: {f.choice.blend.describe()}" for d, f in zip(heads, channel.fits, strict=True)
                ),
            )
        )
    return out


def weigh(
    key: str,
    texts: Sequence[str],
    labels: Mapping[str, Sequence[str]],
    vectors: Mapping[str, np.ndarray],
    levers: Sequence[str],
) -> list[Result]:
    """Every lever's out-of-fold gain over the chosen channel's blend on one training split."""
    s = search(texts, labels, vectors)
    base = s.base
    results = [
        Result(
            key,
            "shipped",
            s.chosen,
            float(np.mean([f.choice.score for f in s.channels[s.chosen].fits])),
            0.0,
            0.0,
            "",
        )
    ]
    runs: dict[str, Callable[[], list[tuple[str, list[np.ndarray], str]]]] = {
        "both-encoders": lambda: _both_encoders(s),
        "lexical-ensemble": lambda: _lexical_ensemble(s),
        "semantic-lr": lambda: _semantic_variants(
            s,
            {
                f"logistic regression C={c:g}": partial(
                    LogisticRegression, C=c, class_weight="balanced", max_iter=500
                )
                for c in (1.0, 10.0)
            },
        ),
        "ridge-alpha": lambda: _semantic_variants(
            s,
            {
                f"ridge alpha={a:g}": partial(RidgeClassifier, alpha=a, class_weight="balanced")
                for a in (1.0, 3.0)
            },
        ),
        "cjk-chars": lambda: _cjk_chars(s, texts, labels),
    }
    for lever in levers:
        for variant, predictions, detail in runs[lever]():
            gain, se = channel_gain(s.heads, base, predictions)
            oof = float(
                np.mean([_score(d.y, p, len(d.labels)) for d, p in zip(s.heads, predictions, strict=True)])
            )
            results.append(Result(key, lever, variant, oof, gain, se, detail))
            logger.info("%s %s %s: OOF %.4f, gain %+.4f ± %.4f", key, lever, variant, oof, gain, se)
    return results


def markdown(results: Sequence[Result]) -> str:
    lines = [
        "| split | lever | variant | OOF score | gain over the shipped choice (± SE) | what the search picked |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        gain = "" if r.lever == "shipped" else f"{r.gain:+.4f} (± {r.gain_se:.4f})"
        lines.append(f"| {r.split} | {r.lever} | {r.variant} | {r.oof:.4f} | {gain} | {r.detail} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS, help="the shared datasets folder")
    parser.add_argument("--only", default="", help=f"comma-separated splits ({', '.join(DATASETS)})")
    parser.add_argument("--levers", default="", help=f"comma-separated levers ({', '.join(LEVERS)})")
    parser.add_argument(
        "--encoders", default="", help="override encoder specs, e.g. use-m3=hashing:64,channel=hashing:16"
    )
    parser.add_argument("--cache", type=Path, default=CACHE, help="where embeddings are cached")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if missing_datasets(args.datasets):
        return 2
    keys = chosen_names(args.only, list(DATASETS), "split")
    levers = chosen_names(args.levers, LEVERS, "lever")
    if keys is None or levers is None:
        return 2
    encoders = {role: ENCODERS[role] for role in ROLES}
    for item in filter(None, (part.strip() for part in args.encoders.split(","))):
        role, _, spec = item.partition("=")
        if role not in ROLES or not spec:
            print(
                f"--encoders takes role=spec pairs with roles {', '.join(ROLES)}; got {item!r}",
                file=sys.stderr,
            )
            return 2
        encoders[role] = spec
    if f"onnx:{MINILM_INT8}" in encoders.values():
        ensure_minilm_int8()
    cache = EmbeddingCache(args.cache)
    results: list[Result] = []
    for key in keys or list(DATASETS):
        split = load_split(args.datasets, key)
        texts = split.train.texts
        vectors = {role: cache.vectors(key, "train", spec, texts) for role, spec in encoders.items()}
        results += weigh(key, texts, split.train.labels, vectors, levers or LEVERS)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
