"""Routing levers weighed out of fold: what each would give on a training split, before any test.

``python -m eval.routing_levers [--datasets ../shared/datasets] [--only cn-ict,endava-urgency]
[--levers both-encoders,lexical-ensemble,semantic-lr,ridge-alpha,cjk-chars,class-offsets,long-text,
semantic-heavy,semantic-lr-plain]``

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
mostly-Chinese data; skipped elsewhere), ``class-offsets`` (per-class biases on the blend's logits
by coordinate ascent, nested across the folds, with the ECE the calibrator would then serve),
``long-text`` (the ONNX channel encoder's long tickets pooled over 128- or 256-token windows
instead of one truncated pass; skipped for other encoders), ``semantic-heavy`` (semantic weights 2
and 4 also searched), ``semantic-lr-plain`` (unweighted logistic regression C=10 / 100, what the
minilm+lr baseline fits, instead of the semantic model ``train_bundle`` keeps).

``train_bundle`` itself now weighs the ridge and the logistic model per head (the logistic one
only when it beats the ridge by one standard error), so the ``shipped`` row includes that choice.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import logging
import re
import sys
import time
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

from embeddings import get_encoder
from embeddings.onnx import OnnxEncoder
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
from training.metrics import expected_calibration_error
from training.train import (
    CHANNEL_MARGIN_Z,
    HAN_SHARE_FOR_CJK_GRAMS,
    KNN_KS,
    SEMANTIC_WEIGHTS,
    ChannelFit,
    HeadData,
    LexicalModel,
    _brier,
    _evidence,
    _head_data,
    _score,
    _search_channel,
    build_vectorizer,
    channel_gain,
    fit_confidence_model,
    fit_temperature,
    han_share,
    leave_one_out_neighbours,
    lexical_index,
    out_of_fold,
    search_blend,
)
from triage.routing import (
    blend_logits,
    confidence_features,
    log_softmax,
    neighbour_votes,
    softmax,
    word_analyzer,
)

logger = logging.getLogger(__name__)

LEVERS = (
    "both-encoders",
    "lexical-ensemble",
    "semantic-lr",
    "ridge-alpha",
    "cjk-chars",
    "class-offsets",
    "long-text",
    "semantic-heavy",
    "semantic-lr-plain",
)
SEMANTIC_HEAVY = (2.0, 4.0)
LONG_TEXT_WINDOWS = (128, 256)
COST_TEXTS = 30
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
    features: sparse.csr_matrix

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
    return Searched(heads, channels, _chosen(heads, channels), features)


def _chosen(heads: list[HeadData], channels: Mapping[str, Channel]) -> str:
    """``train_bundle``'s rule: the further encoder only when its gain clears one standard error."""
    base = [f.predicted for f in channels["use-m3"].fits]
    gain, se = channel_gain(heads, base, [f.predicted for f in channels["channel"].fits])
    return "channel" if gain > 0 and gain - CHANNEL_MARGIN_Z * se > 0 else "use-m3"


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
    s: Searched,
    makers: Mapping[str, Callable[[], Any]],
    grids: Mapping[str, Sequence[float]] | None = None,
) -> list[tuple[str, list[np.ndarray], str]]:
    """Another semantic model over the chosen channel's vectors, the blend searched again with it
    (over each of ``grids``' semantic weights; the shipped grid by default)."""
    channel = s.channels[s.chosen]
    grids = grids or {"": SEMANTIC_WEIGHTS}
    out = []
    for name, make in makers.items():
        semantic_oof = [
            out_of_fold([make], channel.vectors, data.y, len(data.labels), data.splits)[0] for data in s.heads
        ]
        for grid_name, grid in grids.items():
            predictions, picked = [], []
            for data, semantic in zip(s.heads, semantic_oof, strict=True):
                choice = search_blend(data.lexical_oof, semantic, *channel.top, data.y, data.log_prior, grid)
                predictions.append(_predict(data, ChannelFit(semantic, choice, np.empty(0)), channel.top))
                picked.append(f"{data.name}: semantic weight {choice.blend.semantic_weight:g}")
            out.append((f"{name}{grid_name}", predictions, "; ".join(picked)))
    return out


OFFSET_GRID = np.linspace(-2.0, 2.0, 17)
OFFSET_ROUNDS = 3
OFFSET_BAGS = 5


def fit_offsets(logits: np.ndarray, y: np.ndarray, n_labels: int) -> np.ndarray:
    """Per-class biases added to blended logits that maximise the blend search's score (macro-F1
    + a little accuracy) on these rows: coordinate ascent over ``OFFSET_GRID``, one class at a time."""
    offsets = np.zeros(n_labels)
    best = _score(y, logits.argmax(axis=1), n_labels)
    for _ in range(OFFSET_ROUNDS):
        improved = False
        for c in range(n_labels):
            shifted = logits + offsets
            others = shifted.copy()
            others[:, c] = -np.inf
            other_best, other_arg = others.max(axis=1), others.argmax(axis=1)
            for delta in OFFSET_GRID:
                predicted = np.where(logits[:, c] + delta > other_best, c, other_arg)
                score = _score(y, predicted, n_labels)
                if score > best + 1e-9:
                    best, offsets[c], improved = score, delta, True
        if not improved:
            break
    return offsets


def _held_out_ece(data: HeadData, logits: np.ndarray, evidence: Any) -> float:
    """The out-of-fold ECE of the confidence ``_fit_head`` would serve for these logits: the
    temperature, then the calibrator where it lowers the Brier score (its held-out outputs)."""
    temperature = fit_temperature(logits, data.y)
    probs = softmax(logits / temperature)
    correct = probs.argmax(axis=1) == data.y
    confidence = probs.max(axis=1)
    calibrated = fit_confidence_model(
        confidence_features(probs, evidence, data.log_prior), correct, len(data.splits)
    )
    if calibrated is not None and _brier(calibrated[1], correct) < _brier(confidence, correct):
        confidence = calibrated[1]
    return expected_calibration_error(confidence, correct)


def _bagged_offsets(logits: np.ndarray, y: np.ndarray, n_labels: int, seed: int) -> np.ndarray:
    """The mean of ``fit_offsets`` over ``OFFSET_BAGS`` bootstrap resamples of the rows (less variance)."""
    rng = np.random.default_rng(seed)
    fits = []
    for _ in range(OFFSET_BAGS):
        rows = rng.integers(0, len(y), len(y))
        fits.append(fit_offsets(logits[rows], y[rows], n_labels))
    return np.asarray(np.mean(fits, axis=0))


def _class_offsets(s: Searched) -> list[tuple[str, list[np.ndarray], str]]:
    """Per-class decision offsets on the chosen blend's logits, nested: each fold's rows are shifted
    by offsets fitted on the other folds' out-of-fold logits, so the score is honest; the
    calibrator then sees the shifted logits (the ECE it would serve, before -> after). Two fits:
    plain coordinate ascent, and the mean of it over bootstrap resamples."""
    channel = s.channels[s.chosen]
    fitters: dict[str, Callable[[np.ndarray, np.ndarray, int, int], np.ndarray]] = {
        "nested coordinate ascent": lambda x, y, n, seed: fit_offsets(x, y, n),
        f"nested, mean of {OFFSET_BAGS} bootstrap fits": _bagged_offsets,
    }
    out = []
    for variant, fitter in fitters.items():
        predictions, picked = [], []
        for data, fit in zip(s.heads, channel.fits, strict=True):
            n_labels = len(data.labels)
            evidence = _evidence(data, fit.choice, fit.semantic_oof, *channel.top)
            logits = blend_logits(evidence, fit.choice.blend, data.log_prior)
            shifted = logits.copy()
            size = []
            for fold, (train, test) in enumerate(data.splits):
                offsets = fitter(logits[train], data.y[train], n_labels, fold)
                shifted[test] += offsets
                size.append(float(np.abs(offsets).mean()))
            predictions.append(shifted.argmax(axis=1))
            before = _held_out_ece(data, logits, evidence)
            after = _held_out_ece(data, shifted, evidence)
            picked.append(
                f"{data.name}: mean absolute offset {np.mean(size):.2f}, OOF ECE {before:.3f} -> {after:.3f}"
            )
        out.append((variant, predictions, "; ".join(picked)))
    return out


def _long_text(
    s: Searched, texts: Sequence[str], windowed: Callable[[int], tuple[np.ndarray, str]] | None
) -> list[tuple[str, list[np.ndarray], str]]:
    """The channel encoder's vectors of long tickets as the token-weighted mean of its windows
    instead of one truncated pass; the channel is then chosen again by ``train_bundle``'s rule."""
    if windowed is None:
        return []
    out = []
    for window in LONG_TEXT_WINDOWS:
        vectors, cost = windowed(window)
        channels = dict(s.channels)
        channels["channel"] = _channels(texts, s.heads, s.features, {"channel": vectors})["channel"]
        chosen = _chosen(s.heads, channels)
        # The windowed encoder against its own truncated self, whichever channel is chosen.
        own, own_se = channel_gain(
            s.heads,
            [f.predicted for f in s.channels["channel"].fits],
            [f.predicted for f in channels["channel"].fits],
        )
        out.append(
            (
                f"{window}-token windows",
                [f.predicted for f in channels[chosen].fits],
                f"chosen: {chosen}; channel encoder windowed vs truncated {own:+.4f} (± {own_se:.4f}); {cost}",
            )
        )
    return out


def _semantic_heavy(s: Searched) -> list[tuple[str, list[np.ndarray], str]]:
    """Heavier semantic weights in the blend search (the lexical model's weight stays 1): for data
    where the embeddings carry more than the words, as on long English complaints elsewhere."""
    channel = s.channels[s.chosen]
    predictions, picked = [], []
    for data, fit in zip(s.heads, channel.fits, strict=True):
        grid = (*SEMANTIC_WEIGHTS, *SEMANTIC_HEAVY)
        choice = search_blend(data.lexical_oof, fit.semantic_oof, *channel.top, data.y, data.log_prior, grid)
        predictions.append(_predict(data, replace(fit, choice=choice), channel.top))
        picked.append(f"{data.name}: {choice.blend.describe()}")
    grid_text = "/".join(f"{w:g}" for w in SEMANTIC_HEAVY)
    return [(f"semantic weight {grid_text} also searched", predictions, "; ".join(picked))]


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


def windowed_vectors(
    cache: Path, key: str, spec: str, texts: Sequence[str], truncated: np.ndarray, window: int
) -> tuple[np.ndarray, str]:
    """The ONNX channel encoder's vectors with every text longer than ``window`` tokens pooled over
    windows (``OnnxEncoder.encode_windows``; shorter texts keep their one-pass vector), cached
    beside the plain ones, and the cost: share of texts cut, windows per cut text, encoding ms per
    cut text windowed vs truncated (up to ``COST_TEXTS`` of them, one at a time)."""
    encoder = get_encoder(spec)
    assert isinstance(encoder, OnnxEncoder)
    tokens = encoder.tokens(texts)
    long_rows = np.flatnonzero(tokens > window)
    long_texts = [texts[int(i)] for i in long_rows]
    digest = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()[:12]
    path = cache / f"{key}-train-windows{window}-{re.sub(r'[^A-Za-z0-9_.-]', '_', spec)}-{digest}.npy"
    if path.exists():
        vectors = np.load(path)
    else:
        vectors = truncated.copy()
        if len(long_rows):
            vectors[long_rows] = encoder.encode_windows(long_texts, window)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    sample = long_texts[:COST_TEXTS]
    cost = f"{len(long_rows) / len(texts):.1%} of tickets over {window} tokens"
    if sample:
        clock = time.perf_counter()
        for text in sample:
            encoder.encode_windows([text], window)
        windowed_ms = (time.perf_counter() - clock) * 1000 / len(sample)
        clock = time.perf_counter()
        for text in sample:
            encoder.encode([text])
        truncated_ms = (time.perf_counter() - clock) * 1000 / len(sample)
        windows = float(np.mean(np.ceil((tokens[long_rows] - 2) / (window - 2))))
        cost += (
            f", {windows:.1f} windows each, {windowed_ms:.0f} ms vs {truncated_ms:.0f} ms truncated "
            f"per such ticket"
        )
    return vectors, cost


def weigh(
    key: str,
    texts: Sequence[str],
    labels: Mapping[str, Sequence[str]],
    vectors: Mapping[str, np.ndarray],
    levers: Sequence[str],
    windowed: Callable[[int], tuple[np.ndarray, str]] | None = None,
) -> list[Result]:
    """Every lever's out-of-fold gain over the chosen channel's blend on one training split.

    ``windowed(window)`` gives the channel encoder's vectors of these texts with long ones
    pooled over windows of that many tokens, and what that costs (the ``long-text`` lever; skipped
    without it)."""
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
        "class-offsets": lambda: _class_offsets(s),
        "long-text": lambda: _long_text(s, texts, windowed),
        "semantic-heavy": lambda: _semantic_heavy(s),
        # What the minilm+lr / use+lr baselines fit (their CV picks C=100 or 10, mostly unweighted).
        "semantic-lr-plain": lambda: _semantic_variants(
            s,
            {
                f"logistic regression C={c:g} unweighted": partial(
                    LogisticRegression, C=c, max_iter=3000, tol=1e-3
                )
                for c in (10.0, 100.0)
            },
            {
                "": SEMANTIC_WEIGHTS,
                ", semantic weight 2/4 also searched": (*SEMANTIC_WEIGHTS, *SEMANTIC_HEAVY),
            },
        ),
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
        windowed = (
            partial(windowed_vectors, args.cache, key, encoders["channel"], texts, vectors["channel"])
            if encoders["channel"].startswith("onnx:")
            else None
        )
        results += weigh(key, texts, split.train.labels, vectors, levers or LEVERS, windowed)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
