"""Train a model bundle: routing heads with calibration and abstention thresholds, handling time.

Per head, everything is chosen on the training data alone, by cross-validation:

1. lexical: class-balanced LinearSVC or logistic regression over TF-IDF words (jieba for Chinese)
   and character n-grams; which one and its C from a small list, as many as the time budget allows;
2. semantic: class-balanced ridge classifier over the sentence embeddings;
3. neighbours: a sharp similarity-weighted vote of the nearest training tickets (leave-one-out),
   similarity being the mean of the embedding and TF-IDF cosines;
4. the blend weights, neighbour k and kernel width, and a class-prior correction, by out-of-fold
   macro-F1 (accuracy breaks near-ties);
5. a softmax temperature for the blend (out-of-fold negative log-likelihood);
6. a confidence calibrator over agreement and nearest-neighbour features, kept only when it beats
   the temperature alone on held-out Brier score;
7. abstention thresholds for the target precision (plus one standard error) on out-of-fold
   confidences: one global threshold over the calibrator's output, or per class without it.

Training uses two worker processes (the folds run in parallel).
"""

from __future__ import annotations

import itertools
import logging
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from embeddings import Encoder
from knowledge.drift import CONFIDENCE_BINS
from knowledge.text import identify_language
from training.data import TicketTable, check_trainable
from training.metrics import classification_report
from triage.bundle import DRIFT_REFERENCE, SCHEMA_VERSION, ModelBundle, head_drift_reference
from triage.handling import HandlingTimeModel
from triage.routing import (
    Blend,
    Evidence,
    Head,
    LogisticCalibrator,
    Neighbours,
    Router,
    blend_logits,
    confidence_features,
    hybrid_similarities,
    known_languages,
    lexical_index,
    log_softmax,
    neighbour_votes,
    scores_matrix,
    softmax,
    top_similar,
    word_analyzer,
)

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

DEFAULT_TARGET_PRECISION = 0.90


@dataclass(frozen=True)
class LexicalModel:
    """One candidate lexical model: class-balanced LinearSVC or logistic regression with its C."""

    kind: str  # "svc" | "lr"
    c: float

    def make(self) -> LinearSVC | LogisticRegression:
        if self.kind == "svc":
            return LinearSVC(C=self.c, class_weight="balanced", tol=1e-3)
        return LogisticRegression(C=self.c, class_weight="balanced", tol=1e-3, max_iter=1000)

    def describe(self) -> str:
        name = "LinearSVC" if self.kind == "svc" else "LogisticRegression"
        return f"{name} C={self.c:g} balanced"

    def work(self, features: sparse.csr_matrix, n_labels: int, folds: int) -> float:
        """Rough cost of cross-validating it: one-vs-rest LinearSVC solves one problem per label; lbfgs
        logistic regression costs about three times as much per label and grows with the label count."""
        problems = 1 if n_labels == 2 else n_labels
        per_fit = features.nnz * problems * (1.0 if self.kind == "svc" else 3.0 * max(1.0, problems / 10))
        return per_fit * (folds + 1)


# Lexical candidates (TF-IDF rows are L2-normalised), most trusted first.
LEXICAL_MODELS = (
    LexicalModel("svc", 0.3),
    LexicalModel("lr", 10.0),
    LexicalModel("svc", 0.1),
    LexicalModel("svc", 1.0),
)
# Big tables cross-validate fewer candidates (at least the first) so that training stays within a
# minute on two cores; the unit is LexicalModel.work.
LEXICAL_SEARCH_BUDGET = 600e6
SEMANTIC_ALPHA = 0.3
SEMANTIC_LOGISTIC_C = 10.0
# Blend grid searched on out-of-fold predictions.
SEMANTIC_WEIGHTS = (0.0, 0.5, 1.0)
KNN_WEIGHTS = (0.0, 0.5, 1.0)
KNN_KS = (5, 10, 20, 40)
KNN_SIGMAS = (0.02, 0.05, 0.1)
PRIOR_WEIGHTS = (0.0, 0.3)
# Weight of accuracy beside macro-F1 when choosing a blend (it breaks near-ties).
ACCURACY_WEIGHT = 0.1
# A class needs this many out-of-fold predictions before it gets a threshold of its own.
MIN_THRESHOLD_SUPPORT = 10
# Thresholds ask for the target precision plus this many standard errors on the held-out rows.
THRESHOLD_MARGIN_Z = 1.0
# Thresholds reach the target precision over everything they accept, which can still accept a tail
# of tickets that are mostly wrong (the demo's vague "please call me back" tickets at confidence
# 0.2 kept the department's pooled precision at 0.96): a prediction more likely wrong than right
# is never routed without a human.
MIN_ROUTING_CONFIDENCE = 0.5
# The confidence calibrator needs this many held-out rows, right and wrong ones among them.
MIN_CALIBRATION_ROWS = 50
# What the neighbour vote compares, recorded in the manifest (the demo retrains bundles made before).
NEIGHBOUR_SIMILARITY = "mean of embedding and TF-IDF cosines"
# Texts with at least this share of Han characters use character 1-3 grams, others char_wb 2-4.
HAN_SHARE_FOR_CJK_GRAMS = 0.3
N_JOBS = 2
# A further semantic-channel encoder is chosen only when its out-of-fold gain beats this many
# paired-bootstrap standard errors (resampling the training tickets; this many draws).
CHANNEL_MARGIN_Z = 1.0
CHANNEL_BOOTSTRAP_DRAWS = 200
# Tickets encoded one at a time to state a channel's cost per ticket.
CHANNEL_TIMING_TEXTS = 20
# A language needs this many training tickets for its out-of-fold macro-F1 to be recorded.
CHANNEL_LANGUAGE_MIN_ROWS = 30

_HAN = re.compile(r"[\u4e00-\u9fff]")


def new_version() -> str:
    return datetime.now(UTC).strftime("v%Y%m%d-%H%M%S")


def han_share(texts: Sequence[str]) -> float:
    """Share of Han characters among the non-space characters of a sample of the texts."""
    sample = "".join(texts[:: max(1, len(texts) // 500)])
    letters = len(sample) - sample.count(" ")
    return len(_HAN.findall(sample)) / letters if letters else 0.0


def build_vectorizer(texts: Sequence[str] = ()) -> FeatureUnion:
    """Words (jieba for Chinese) with bigrams, plus character n-grams; the word block comes first.

    Mostly-Chinese data gets character 1-3 grams (a Han character is already a morpheme); other
    data gets char_wb 2-4 grams, which carry sub-word evidence such as product codes and typos.
    """
    cjk = han_share(texts) >= HAN_SHARE_FOR_CJK_GRAMS
    chars = (
        TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True, max_features=100_000
        )
        if cjk
        else TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True, max_features=150_000
        )
    )
    return FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(analyzer=word_analyzer, min_df=2, sublinear_tf=True, max_features=50_000),
            ),
            ("chars", chars),
        ]
    )


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature that minimises the negative log-likelihood of out-of-fold logits."""
    best_t, best_nll = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.05), np.log(10.0), 121)):
        probs = softmax(logits / t)
        nll = -np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None)))
        if nll < best_nll:
            best_t, best_nll = float(t), float(nll)
    return best_t


def choose_thresholds(
    confidence: np.ndarray,
    predicted: np.ndarray,
    correct: np.ndarray,
    labels: Sequence[str],
    target: float,
    per_class: bool = True,
    margin_z: float = 0.0,
    floor: float = 0.0,
) -> tuple[dict[str, float], float]:
    """Per-class confidence thresholds reaching the target precision on held-out predictions.

    For each predicted class the lowest threshold whose accepted predictions reach ``target``
    precision plus ``margin_z`` standard errors (the lowest threshold that just reaches the target
    on held-out data is optimistic for new data); classes with too few held-out predictions, or
    all when ``per_class`` is false, use the global threshold. A class that never reaches the
    target gets 1.0 (always ask a human). A class whose held-out predictions reach the target all
    the way down gets no higher threshold than the global one: its lowest held-out confidence only
    says where its data ends, not where it stops being right (on an easy class every held-out
    confidence is above 0.999, and that bar sent every new wording to a human). No threshold is
    below ``floor``.
    """

    def lowest(conf: np.ndarray, ok: np.ndarray) -> tuple[float, bool]:
        """The threshold, and whether even the least confident prediction was within the target."""
        if len(conf) == 0:
            return 1.0, False
        order = np.argsort(-conf, kind="stable")
        accepted = np.arange(1, len(order) + 1)
        precision = np.cumsum(ok[order]) / accepted
        needed = target + margin_z * np.sqrt(target * (1 - target) / accepted)
        good = np.nonzero(precision >= needed)[0]
        if len(good) == 0:
            return 1.0, False
        return float(conf[order][good.max()]), bool(good.max() == len(order) - 1)

    global_threshold, _ = lowest(confidence, correct)
    thresholds: dict[str, float] = {}
    if per_class:
        for index, label in enumerate(labels):
            mask = predicted == index
            if mask.sum() >= MIN_THRESHOLD_SUPPORT:
                threshold, unbounded = lowest(confidence[mask], correct[mask])
                threshold = min(threshold, global_threshold) if unbounded else threshold
                thresholds[label] = max(threshold, floor)
    return thresholds, max(global_threshold, floor)


def macro_f1(y: np.ndarray, predicted: np.ndarray, n_labels: int) -> float:
    """Macro-F1 over the labels present in ``y`` (fast: used inside the blend search)."""
    tp = np.bincount(y[predicted == y], minlength=n_labels)
    support = np.bincount(y, minlength=n_labels)
    predicted_count = np.bincount(predicted, minlength=n_labels)
    denominator = support + predicted_count
    present = support > 0
    f1 = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)
    return float(f1[present].mean())


def _folds(y: np.ndarray, folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    n_splits = max(2, min(folds, len(y) // 2))
    with warnings.catch_warnings():
        # Labels rarer than the number of folds are missing from some folds: scores_matrix fills them.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        return list(
            StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0).split(np.zeros(len(y)), y)
        )


def _fold_scores(
    make: Callable[[], Any], x: Any, y: np.ndarray, n_labels: int, train: np.ndarray, test: np.ndarray
) -> np.ndarray:
    model = make().fit(x[train], y[train])
    return scores_matrix(model, x[test], n_labels)


def out_of_fold(
    makers: Sequence[Callable[[], Any]],
    x: Any,
    y: np.ndarray,
    n_labels: int,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
) -> list[np.ndarray]:
    """Out-of-fold decision scores of each model maker, folds run in parallel."""
    jobs = [(m, tr, te) for m in makers for tr, te in splits]
    parts = Parallel(n_jobs=N_JOBS)(delayed(_fold_scores)(m, x, y, n_labels, tr, te) for m, tr, te in jobs)
    out = []
    for i in range(len(makers)):
        scores = np.zeros((len(y), n_labels))
        for j, (_, test) in enumerate(splits):
            scores[test] = parts[i * len(splits) + j]
        out.append(scores)
    return out


def _semantic() -> RidgeClassifier:
    return RidgeClassifier(alpha=SEMANTIC_ALPHA, class_weight="balanced")


def _semantic_logistic() -> LogisticRegression:
    return LogisticRegression(C=SEMANTIC_LOGISTIC_C, max_iter=3000, tol=1e-3)


# The semantic models the blend search weighs per head: the balanced ridge, kept unless another's
# blend beats it out of fold by one standard error, and the unweighted logistic regression the
# minilm+lr / use+lr baselines fit. Out of fold (issue 17, fourth pass) the logistic one raised
# itsm's score by +0.010 (+- 0.006) and was not better on the other shared splits.
SEMANTIC_MODELS: dict[str, Callable[[], Any]] = {
    f"RidgeClassifier alpha={SEMANTIC_ALPHA:g} balanced": _semantic,
    f"LogisticRegression C={SEMANTIC_LOGISTIC_C:g}": _semantic_logistic,
}


def lexical_candidates(features: sparse.csr_matrix, n_labels: int, folds: int) -> tuple[LexicalModel, ...]:
    """The lexical models worth cross-validating within the training-time budget (at least one)."""
    chosen: list[LexicalModel] = []
    spent = 0.0
    for model in LEXICAL_MODELS:
        cost = model.work(features, n_labels, folds)
        if chosen and spent + cost > LEXICAL_SEARCH_BUDGET:
            continue
        chosen.append(model)
        spent += cost
    return tuple(chosen)


@dataclass(frozen=True)
class Choice:
    lexical: LexicalModel
    blend: Blend
    score: float


def search_blend(
    lexical: dict[LexicalModel, np.ndarray],
    semantic: np.ndarray | None,
    top: np.ndarray,
    top_sims: np.ndarray,
    y: np.ndarray,
    log_prior: np.ndarray,
    semantic_grid: Sequence[float] = SEMANTIC_WEIGHTS,
) -> Choice:
    """The lexical model and blend with the best out-of-fold macro-F1 (+ a little accuracy)."""
    n_labels = len(log_prior)
    lexical_lp = {c: (log_softmax(s / t), t) for c, s in lexical.items() for t in [fit_temperature(s, y)]}
    semantic_t = fit_temperature(semantic, y) if semantic is not None else 1.0
    semantic_lp = log_softmax(semantic / semantic_t) if semantic is not None else None
    votes = {
        (k, sigma): neighbour_votes(top, top_sims, y, n_labels, k, sigma)
        for k, sigma in itertools.product(KNN_KS, KNN_SIGMAS)
    }
    best: Choice | None = None
    semantic_weights = tuple(semantic_grid) if semantic_lp is not None else (0.0,)
    for c, (lp, lexical_t) in lexical_lp.items():
        for ws, wk, wp in itertools.product(semantic_weights, KNN_WEIGHTS, PRIOR_WEIGHTS):
            for k, sigma in itertools.product(KNN_KS, KNN_SIGMAS) if wk else [(KNN_KS[0], KNN_SIGMAS[0])]:
                blend = Blend(lexical_t, semantic_t, ws, wk, k, sigma, wp)
                evidence = Evidence(lp, semantic_lp, votes[(k, sigma)], top_sims[:, 0])
                predicted = blend_logits(evidence, blend, log_prior).argmax(axis=1)
                score = macro_f1(y, predicted, n_labels) + ACCURACY_WEIGHT * float(np.mean(predicted == y))
                if best is None or score > best.score + 1e-9:
                    best = Choice(c, blend, score)
    assert best is not None
    return best


def _fit_calibrator(features: np.ndarray, correct: np.ndarray) -> LogisticCalibrator:
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=1000).fit((features - mean) / scale, correct)
    return LogisticCalibrator(mean, scale, model.coef_[0].copy(), float(model.intercept_[0]))


def fit_confidence_model(
    features: np.ndarray, correct: np.ndarray, folds: int
) -> tuple[LogisticCalibrator, np.ndarray] | None:
    """A calibrator of P(top label right) and its out-of-fold outputs, or None if data is too thin."""
    ok = correct.astype(int)
    if len(ok) < MIN_CALIBRATION_ROWS or ok.sum() < 5 or (1 - ok).sum() < 5:
        return None
    held_out = np.zeros(len(ok))
    for train, test in _folds(ok, folds):
        held_out[test] = _fit_calibrator(features[train], ok[train]).probability(features[test])
    return _fit_calibrator(features, ok), held_out


def _brier(confidence: np.ndarray, correct: np.ndarray) -> float:
    return float(np.mean((confidence - correct.astype(float)) ** 2))


@dataclass(frozen=True)
class HeadData:
    """One head's targets, folds and lexical out-of-fold scores: the same whatever the semantic channel."""

    name: str
    labels: list[str]
    y: np.ndarray
    log_prior: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]]
    lexical_oof: dict[LexicalModel, np.ndarray]


@dataclass(frozen=True)
class ChannelFit:
    """One head's blend search over one semantic channel's vectors."""

    semantic_oof: np.ndarray
    choice: Choice
    predicted: np.ndarray  # out-of-fold predictions of the chosen blend
    semantic_model: str = next(iter(SEMANTIC_MODELS))  # a key of SEMANTIC_MODELS


def _head_data(name: str, features: sparse.csr_matrix, y_labels: Sequence[str], folds: int) -> HeadData:
    labels = sorted(set(y_labels))
    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[v] for v in y_labels])
    n_labels = len(labels)
    log_prior = np.log(np.bincount(y, minlength=n_labels) / len(y))
    splits = _folds(y, folds)
    clock = time.perf_counter()
    candidates = lexical_candidates(features, n_labels, len(splits))
    lexical_scores = out_of_fold([c.make for c in candidates], features, y, n_labels, splits)
    logger.info("%s: lexical out-of-fold scores in %.1fs", name, time.perf_counter() - clock)
    return HeadData(name, labels, y, log_prior, splits, dict(zip(candidates, lexical_scores, strict=True)))


def _evidence(
    data: HeadData, choice: Choice, semantic_oof: np.ndarray, top: np.ndarray, top_sims: np.ndarray
) -> Evidence:
    blend = choice.blend
    n_labels = len(data.labels)
    return Evidence(
        log_softmax(data.lexical_oof[choice.lexical] / blend.lexical_temperature),
        log_softmax(semantic_oof / blend.semantic_temperature) if blend.semantic_weight else None,
        neighbour_votes(top, top_sims, data.y, n_labels, blend.knn_k, blend.knn_sigma)
        if blend.knn_weight
        else None,
        top_sims[:, 0],
    )


def _search_channel(data: HeadData, vectors: np.ndarray, top: np.ndarray, top_sims: np.ndarray) -> ChannelFit:
    """Each semantic model's out-of-fold scores on these vectors and the best blend with each; the
    first model's blend is kept unless another's out-of-fold gain over it beats one paired-bootstrap
    standard error (the rule a further channel meets: one more option in a search wins by noise)."""
    clock = time.perf_counter()
    scores = out_of_fold(list(SEMANTIC_MODELS.values()), vectors, data.y, len(data.labels), data.splits)
    fits = []
    for name, semantic_oof in zip(SEMANTIC_MODELS, scores, strict=True):
        choice = search_blend(data.lexical_oof, semantic_oof, top, top_sims, data.y, data.log_prior)
        evidence = _evidence(data, choice, semantic_oof, top, top_sims)
        predicted = blend_logits(evidence, choice.blend, data.log_prior).argmax(axis=1)
        fits.append(ChannelFit(semantic_oof, choice, predicted, name))
    kept, best_margin = fits[0], 0.0
    for fit in fits[1:]:
        gain, se = channel_gain([data], [fits[0].predicted], [fit.predicted])
        if gain > 0 and gain - CHANNEL_MARGIN_Z * se > best_margin:
            kept, best_margin = fit, gain - CHANNEL_MARGIN_Z * se
    logger.info(
        "%s: semantic scores and blend search in %.1fs (semantic model %s)",
        data.name,
        time.perf_counter() - clock,
        kept.semantic_model,
    )
    return kept


def _fit_head(
    data: HeadData,
    fit: ChannelFit,
    features: sparse.csr_matrix,
    vectors: np.ndarray,
    top: np.ndarray,
    top_sims: np.ndarray,
    y_labels: Sequence[str],
    word_names: np.ndarray,
    target_precision: float,
    folds: int,
) -> tuple[Head, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The head, its held-out metrics, the chosen parameters and its drift reference."""
    name, labels, y, log_prior = data.name, data.labels, data.y, data.log_prior
    choice = fit.choice
    blend = choice.blend
    clock = time.perf_counter()
    evidence = _evidence(data, choice, fit.semantic_oof, top, top_sims)
    logits = blend_logits(evidence, blend, log_prior)
    temperature = fit_temperature(logits, y)
    probs = softmax(logits / temperature)
    predicted = probs.argmax(axis=1)
    correct = predicted == y
    confidence = probs.max(axis=1)
    confidence_model = None
    calibrated = fit_confidence_model(confidence_features(probs, evidence, log_prior), correct, folds)
    if calibrated is not None and _brier(calibrated[1], correct) < _brier(confidence, correct):
        confidence_model, confidence = calibrated
    # A calibrated confidence already accounts for the class (its prior is a calibrator input):
    # one global threshold then routes as much as per-class ones, with less variance.
    thresholds, default_threshold = choose_thresholds(
        confidence,
        predicted,
        correct,
        labels,
        target_precision,
        per_class=confidence_model is None,
        margin_z=THRESHOLD_MARGIN_Z,
        floor=MIN_ROUTING_CONFIDENCE,
    )

    logger.info("%s: calibration in %.1fs", name, time.perf_counter() - clock)
    clock = time.perf_counter()
    targets = np.array(y_labels)
    final_jobs = [(choice.lexical.make(), features)] + (
        [(SEMANTIC_MODELS[fit.semantic_model](), vectors)] if blend.semantic_weight else []
    )
    fitted = Parallel(n_jobs=N_JOBS)(delayed(model.fit)(x, targets) for model, x in final_jobs)
    classifier, semantic = fitted[0], (fitted[1] if len(fitted) > 1 else None)
    logger.info("%s: final fit in %.1fs", name, time.perf_counter() - clock)
    head = Head(
        name=name,
        classifier=classifier,
        temperature=temperature,
        thresholds=thresholds,
        default_threshold=default_threshold,
        word_feature_names=word_names,
        semantic=semantic,
        blend=blend,
        confidence_model=confidence_model,
        log_prior=log_prior,
        neighbour_codes=y,
    )
    # Held-out (cross-validated) quality, and the share that clears its class threshold.
    accepted = confidence >= np.array([thresholds.get(labels[p], default_threshold) for p in predicted])
    report = classification_report([labels[i] for i in y], [labels[i] for i in predicted], confidence)
    report.pop("per_class")
    report.update(
        {
            "temperature": temperature,
            "expected_coverage": float(accepted.mean()),
            "precision_when_routed": float(correct[accepted].mean()) if accepted.any() else None,
            "folds": len(data.splits),
        }
    )
    params = {
        "lexical": choice.lexical.describe(),
        "semantic": fit.semantic_model if semantic is not None else None,
        "blend": asdict(blend),
        "confidence_calibrator": confidence_model is not None,
    }
    # What the model's predictions look like on unseen tickets: the baseline that live drift is
    # measured against (in-sample confidences would be optimistic).
    reference = head_drift_reference(
        [labels[i] for i in y], [labels[i] for i in predicted], confidence, ~accepted, CONFIDENCE_BINS
    )
    return head, report, params, reference


def _hours(created: Sequence[str | None], resolved: Sequence[str | None]) -> list[float]:
    out: list[float] = []
    for a, b in zip(created, resolved, strict=True):
        try:
            start, end = datetime.fromisoformat(str(a)), datetime.fromisoformat(str(b))
            out.append((end - start).total_seconds() / 3600.0)
        except (TypeError, ValueError):
            out.append(float("nan"))
    return out


def fit_handling_time(table: TicketTable, say: Progress | None = None) -> HandlingTimeModel | None:
    """Handling time from the table's created/resolved times, or None when it has none usable.

    The model sees what the pipeline gives it at prediction time: department, priority, category
    (true labels here, predicted ones there), the creation time and the ticket text.
    """
    if not (table.created_at and table.resolved_at):
        return None
    hours = _hours(table.created_at, table.resolved_at)
    if not any(np.isfinite(hours)):
        return None
    if say is not None:
        say("fitting handling-time quantiles")
    n = len(table)
    return HandlingTimeModel.fit(
        table.labels["department"],
        table.labels.get("priority", ["*"] * n),
        hours,
        categories=table.labels.get("category"),
        created_at=table.created_at,
        texts=table.texts,
    )


def leave_one_out_neighbours(
    vectors: np.ndarray,
    k: int,
    features: sparse.spmatrix | None = None,
    lexical: sparse.csr_matrix | None = None,
    chunk: int = 2048,
) -> tuple[np.ndarray, np.ndarray]:
    """Each training row's k nearest other rows (indices, similarities), best first.

    With ``features`` (the rows' TF-IDF) the similarity is the router's hybrid one; ``lexical`` is
    their ``lexical_index`` when the caller has it already.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    k = max(1, min(k, len(vectors) - 1))
    if features is not None and lexical is None:
        lexical = lexical_index(features)
    tops, sims_out = [], []
    for start in range(0, len(vectors), chunk):
        rows_features = features[start : start + chunk] if features is not None else None
        sims = hybrid_similarities(vectors[start : start + chunk], vectors, rows_features, lexical)
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -np.inf
        top, top_sims = top_similar(sims, k)
        tops.append(top)
        sims_out.append(top_sims)
    return np.vstack(tops), np.vstack(sims_out)


def _score(y: np.ndarray, predicted: np.ndarray, n_labels: int) -> float:
    """What the blend search maximises: macro-F1 plus a little accuracy."""
    return macro_f1(y, predicted, n_labels) + ACCURACY_WEIGHT * float(np.mean(predicted == y))


def channel_gain(
    heads: Sequence[HeadData],
    base: Sequence[np.ndarray],
    other: Sequence[np.ndarray],
    draws: int = CHANNEL_BOOTSTRAP_DRAWS,
    seed: int = 0,
) -> tuple[float, float]:
    """Mean over heads of the out-of-fold score gain of ``other`` predictions over ``base``, and
    its paired-bootstrap standard error (the same resampled tickets score both)."""

    def gain(rows: np.ndarray | None) -> float:
        total = 0.0
        for data, a, b in zip(heads, base, other, strict=True):
            y = data.y if rows is None else data.y[rows]
            pa = a if rows is None else a[rows]
            pb = b if rows is None else b[rows]
            total += _score(y, pb, len(data.labels)) - _score(y, pa, len(data.labels))
        return total / len(heads)

    n = len(heads[0].y)
    rng = np.random.default_rng(seed)
    draws_gain = [gain(rng.integers(0, n, n)) for _ in range(draws)]
    return gain(None), float(np.std(draws_gain, ddof=1)) if draws > 1 else 0.0


def encoding_ms(encoder: Encoder, texts: Sequence[str], n: int = CHANNEL_TIMING_TEXTS) -> float:
    """Median milliseconds to encode one ticket (one text per call, as a request does)."""
    sample = [t for t in texts[:: max(1, len(texts) // n)]][:n] or ["warm up"]
    encoder.encode(sample[:1])  # loads the model
    times = []
    for text in sample:
        clock = time.perf_counter()
        encoder.encode([text])
        times.append((time.perf_counter() - clock) * 1000)
    return float(np.median(times))


def _per_language(codes: Sequence[str], data: HeadData, predicted: np.ndarray) -> dict[str, float]:
    """Out-of-fold macro-F1 of one head per training language with enough tickets to read it."""
    out: dict[str, float] = {}
    codes_array = np.asarray(codes)
    for code in sorted(set(codes)):
        rows = codes_array == code
        if rows.sum() >= CHANNEL_LANGUAGE_MIN_ROWS:
            out[code] = round(macro_f1(data.y[rows], predicted[rows], len(data.labels)), 4)
    return out


def _rows_gain(
    heads: Sequence[HeadData],
    base: Sequence[np.ndarray],
    other: Sequence[np.ndarray],
    rows: np.ndarray,
    draws: int = CHANNEL_BOOTSTRAP_DRAWS,
    seed: int = 0,
) -> tuple[float, float]:
    """``channel_gain`` restricted to ``rows`` (resampling within them)."""
    sub = [replace(h, y=h.y[rows]) for h in heads]
    return channel_gain(sub, [b[rows] for b in base], [o[rows] for o in other], draws, seed)


def language_channels(
    codes: Sequence[str],
    heads: Sequence[HeadData],
    predicted: Mapping[str, Sequence[np.ndarray]],
    chosen: str,
    ms_per_ticket: Mapping[str, float],
    service: str,
) -> dict[str, Any]:
    """Out-of-fold evidence for a semantic channel per language instead of one per bundle.

    ``predicted`` maps each candidate encoder to its heads' out-of-fold predictions. Each language
    with ``CHANNEL_LANGUAGE_MIN_ROWS`` tickets takes the candidate whose gain over ``chosen`` on its
    own tickets beats ``CHANNEL_MARGIN_Z`` standard errors (else ``chosen``); the mix is worth
    serving only when its gain over ``chosen`` on all tickets beats the same margin, since it needs
    a semantic model and neighbour vectors per channel. The record says, per language, the
    candidate it would take, that gain and what encoding one of its tickets costs.
    """
    codes_array = np.asarray(codes)
    mixed = [np.array(p, copy=True) for p in predicted[chosen]]
    languages: dict[str, Any] = {}
    for code in sorted(set(codes)):
        rows = np.nonzero(codes_array == code)[0]
        if len(rows) < CHANNEL_LANGUAGE_MIN_ROWS:
            continue
        gains = {
            name: _rows_gain(heads, predicted[chosen], preds, rows)
            for name, preds in predicted.items()
            if name != chosen
        }
        # The candidate with the best margin over one standard error, if any clears it.
        rival = max(gains, key=lambda name: gains[name][0] - CHANNEL_MARGIN_Z * gains[name][1])
        gain, se = gains[rival]
        best = rival if gain > 0 and gain - CHANNEL_MARGIN_Z * se > 0 else chosen
        record = {"candidate": rival, "gain": round(gain, 4), "gain_se": round(se, 4)}
        for head, preds in enumerate(predicted[best]):
            mixed[head][rows] = preds[rows]
        cost = ms_per_ticket[service] + (ms_per_ticket[best] if best != service else 0.0)
        languages[code] = {"rows": len(rows), "channel": best, **record, "ms_per_ticket": round(cost, 2)}
    gain, se = channel_gain(heads, predicted[chosen], mixed)
    return {
        "languages": languages,
        "mixed_gain": round(gain, 4),
        "mixed_gain_se": round(se, 4),
        "worth_serving": bool(gain > 0 and gain - CHANNEL_MARGIN_Z * se > 0),
    }


def train_bundle(
    table: TicketTable,
    encoder: Encoder,
    version: str | None = None,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    parent: str | None = None,
    folds: int = 5,
    progress: Progress | None = None,
    vectors: np.ndarray | None = None,
    channels: Sequence[Encoder] = (),
    channel_vectors: Mapping[str, np.ndarray] | None = None,
) -> ModelBundle:
    """Fit every head the table has labels for, plus handling time when it has timestamps.

    ``vectors`` are the table's embeddings when the caller already has them (encode once).
    ``channels`` are further encoders the semantic channel (the semantic model and the neighbours'
    vectors) may use instead of ``encoder``'s: each is searched like the service encoder, and one is
    chosen only when its out-of-fold score gain beats ``CHANNEL_MARGIN_Z`` paired-bootstrap standard
    errors (it costs a second encoding of every ticket). With candidates, ``language_channels``
    also weighs a channel per training language and the manifest records it; the router serves one
    channel per bundle. ``channel_vectors`` maps an encoder's name to the table's vectors from it
    when the caller has them.
    """
    say = progress or (lambda message: logger.info("%s", message))
    # Two examples per label at least (cross-validation); the CLI asks for MIN_EXAMPLES up front.
    check_trainable(table, min_examples=2)
    started = time.perf_counter()
    if vectors is None:
        say(f"encoding {len(table)} tickets with {encoder.name}")
        vectors = encoder.encode(table.texts)
    vectors = np.asarray(vectors, dtype=np.float32)
    candidates: list[tuple[Encoder, np.ndarray]] = [(encoder, vectors)]
    for other in channels:
        if other.name == encoder.name or any(other.name == c.name for c, _ in candidates):
            continue
        given = (channel_vectors or {}).get(other.name)
        if given is None:
            say(f"encoding {len(table)} tickets with {other.name} (semantic channel candidate)")
            given = other.encode(table.texts)
        candidates.append((other, np.asarray(given, dtype=np.float32)))
    say("fitting TF-IDF features")
    vectorizer = build_vectorizer(table.texts)
    features = vectorizer.fit_transform(table.texts).tocsr()
    word_names = np.asarray(vectorizer.transformer_list[0][1].get_feature_names_out())
    logger.info("TF-IDF %s in %.1fs", features.shape, time.perf_counter() - started)
    lexical = lexical_index(features)
    head_data = [_head_data(name, features, y_labels, folds) for name, y_labels in table.labels.items()]
    codes = [identify_language(text)[0] for text in table.texts]
    searched: list[tuple[Encoder, np.ndarray, tuple[np.ndarray, np.ndarray], list[ChannelFit]]] = []
    for candidate, candidate_vectors in candidates:
        say(f"searching the blend with {candidate.name} vectors ({len(head_data)} heads)")
        top_pair = leave_one_out_neighbours(candidate_vectors, max(KNN_KS), features, lexical)
        fits = [_search_channel(data, candidate_vectors, *top_pair) for data in head_data]
        searched.append((candidate, candidate_vectors, top_pair, fits))
    chosen = 0
    base_predicted = [f.predicted for f in searched[0][3]]
    report: dict[str, Any] = {}
    best_margin = 0.0
    for i, (candidate, _, _, fits) in enumerate(searched):
        gain, se = channel_gain(head_data, base_predicted, [f.predicted for f in fits]) if i else (0.0, 0.0)
        ms = encoding_ms(candidate, table.texts)
        report[candidate.name] = {
            "oof_score": round(float(np.mean([f.choice.score for f in fits])), 4),
            "gain": round(gain, 4),
            "gain_se": round(se, 4),
            "ms_per_ticket": round(ms, 2),
            "heads": {d.name: round(f.choice.score, 4) for d, f in zip(head_data, fits, strict=True)},
            "per_language_macro_f1": _per_language(codes, head_data[0], fits[0].predicted),
        }
        margin = gain - CHANNEL_MARGIN_Z * se
        if i > 0 and gain > 0 and margin > best_margin:
            chosen, best_margin = i, margin
    channel_encoder, vectors, (top, top_sims), fits = searched[chosen]
    channel = None if chosen == 0 else channel_encoder.name
    per_language = (
        language_channels(
            codes,
            head_data,
            {c.name: [f.predicted for f in fs] for c, _, _, fs in searched},
            channel_encoder.name,
            {name: r["ms_per_ticket"] for name, r in report.items()},
            encoder.name,
        )
        if len(searched) > 1
        else None
    )
    if per_language is not None:
        say(
            "semantic channel per language: "
            + ", ".join(f"{code} {r['channel']}" for code, r in per_language["languages"].items())
            + f"; gain over one channel {per_language['mixed_gain']:+.3f} ± {per_language['mixed_gain_se']:.3f}"
            + (
                " (the router serves one channel per bundle: not used)"
                if per_language["worth_serving"]
                else " (within its standard error: one channel)"
            )
        )
    say(
        "semantic channel: "
        + ", ".join(
            f"{name} OOF {r['oof_score']:.3f} (gain {r['gain']:+.3f} ± {r['gain_se']:.3f}, {r['ms_per_ticket']:.1f} ms/ticket)"
            for name, r in report.items()
        )
        + f"; chosen {channel_encoder.name}"
    )
    heads: dict[str, Head] = {}
    metrics: dict[str, object] = {}
    params: dict[str, object] = {}
    references: dict[str, dict[str, Any]] = {}
    for data, fit in zip(head_data, fits, strict=True):
        name = data.name
        say(f"training {name} ({len(data.labels)} labels, {folds}-fold model selection and calibration)")
        heads[name], metrics[name], params[name], references[name] = _fit_head(
            data,
            fit,
            features,
            vectors,
            top,
            top_sims,
            table.labels[name],
            word_names,
            target_precision,
            folds,
        )
    neighbours = Neighbours(
        ids=np.asarray(table.ids),
        vectors=vectors,
        labels={h: np.asarray(v) for h, v in table.labels.items()},
        lexical=lexical,
    )
    handling = fit_handling_time(table, say)
    # Tickets in a language none of these were written in abstain on routing (Router.untrained_language).
    languages = known_languages(table.texts, codes=codes)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "version": version or new_version(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "parent": parent,
        "encoder": encoder.name,
        "data_fingerprint": table.fingerprint(),
        "n_train": len(table),
        "languages": languages,
        # Which vectors the semantic model and the neighbours read, chosen on out-of-fold scores.
        "semantic_channel": {
            "chosen": channel_encoder.name,
            "service_encoder": encoder.name,
            "extra_encoding_per_ticket": channel is not None,
            "rule": f"a further encoder only if its OOF gain (mean over heads of macro-F1 + "
            f"{ACCURACY_WEIGHT:g} accuracy) beats {CHANNEL_MARGIN_Z:g} paired-bootstrap SE",
            "candidates": report,
            # Whether a channel per training language would beat one per bundle, out of fold.
            "per_language": per_language,
        },
        "labels": {name: head.labels for name, head in heads.items()},
        "thresholds": {
            name: {"per_class": head.thresholds, "default": head.default_threshold}
            for name, head in heads.items()
        },
        "target_precision": target_precision,
        "params": {
            "folds": folds,
            "vectorizer": "words+bigrams (jieba) | " + str(vectorizer.transformer_list[1][1].ngram_range),
            "neighbours": NEIGHBOUR_SIMILARITY,
            "model": "lexical linear model + semantic ridge + neighbour vote (embedding + TF-IDF similarity), "
            "blended and calibrated by CV",
            "heads": params,
        },
        "metrics": metrics,
        DRIFT_REFERENCE: {
            "source": f"out-of-fold predictions on the {len(table)} training tickets ({folds}-fold CV)",
            "confidence_bins": CONFIDENCE_BINS,
            "heads": references,
        },
        # Breach risk checked against what happened on held-out tickets (predicted vs observed).
        "handling_time": {
            "breach_calibration": handling.breach_calibration if handling is not None else None,
        },
        "data_notes": list(table.notes),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return ModelBundle(
        manifest=manifest,
        router=Router(
            vectorizer,
            heads,
            neighbours,
            languages=languages,
            channel=channel,
            channel_encoder=channel_encoder if channel is not None else None,
        ),
        handling_time=handling,
    )
