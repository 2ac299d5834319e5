"""Train a model bundle: routing heads with calibration and abstention thresholds, handling time."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion

from embeddings import Encoder
from training.data import TicketTable
from training.metrics import classification_report
from triage.bundle import SCHEMA_VERSION, ModelBundle
from triage.handling import HandlingTimeModel
from triage.routing import Head, Neighbours, Router, joint_features, softmax, word_analyzer

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

DEFAULT_TARGET_PRECISION = 0.90
DEFAULT_C = 4.0
# A class needs this many out-of-fold predictions before it gets a threshold of its own.
MIN_THRESHOLD_SUPPORT = 10


def new_version() -> str:
    return datetime.now(UTC).strftime("v%Y%m%d-%H%M%S")


def build_vectorizer() -> FeatureUnion:
    """Words (jieba for Chinese) with bigrams, plus character 1-3 grams; the word block comes first."""
    return FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(analyzer=word_analyzer, min_df=2, sublinear_tf=True, max_features=50_000),
            ),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(1, 3), min_df=2, sublinear_tf=True, max_features=80_000
                ),
            ),
        ]
    )


def _classifier(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", max_iter=3000)


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
    confidence: np.ndarray, predicted: np.ndarray, correct: np.ndarray, labels: Sequence[str], target: float
) -> tuple[dict[str, float], float]:
    """Per-class confidence thresholds reaching the target precision on held-out predictions.

    For each predicted class the lowest threshold whose accepted predictions reach ``target``
    precision; classes with too few held-out predictions use the global threshold. A class that
    never reaches the target gets 1.0 (always ask a human).
    """

    def lowest(conf: np.ndarray, ok: np.ndarray) -> float:
        if len(conf) == 0:
            return 1.0
        order = np.argsort(-conf, kind="stable")
        precision = np.cumsum(ok[order]) / np.arange(1, len(order) + 1)
        good = np.nonzero(precision >= target)[0]
        if len(good) == 0:
            return 1.0
        return float(conf[order][good.max()])

    global_threshold = lowest(confidence, correct)
    thresholds: dict[str, float] = {}
    for index, label in enumerate(labels):
        mask = predicted == index
        if mask.sum() >= MIN_THRESHOLD_SUPPORT:
            thresholds[label] = lowest(confidence[mask], correct[mask])
    return thresholds, global_threshold


def _fit_head(
    name: str,
    features: sparse.csr_matrix,
    y_labels: Sequence[str],
    n_words: int,
    word_names: np.ndarray,
    target_precision: float,
    c: float,
    folds: int,
) -> tuple[Head, dict[str, object]]:
    labels = sorted(set(y_labels))
    y = np.array([labels.index(v) for v in y_labels])
    min_count = int(np.bincount(y).min())
    n_splits = max(2, min(folds, min_count))
    oof = np.zeros((len(y), len(labels)))
    for train_idx, test_idx in StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0).split(
        features, y
    ):
        model = _classifier(c).fit(features[train_idx], y[train_idx])
        logits = model.decision_function(features[test_idx])
        if logits.ndim == 1:
            logits = np.stack([-logits, logits], axis=1)
        # A fold may miss a class: its column stays at a very low logit.
        full = np.full((len(test_idx), len(labels)), -1e3)
        full[:, model.classes_] = logits
        oof[test_idx] = full
    temperature = fit_temperature(oof, y)
    probs = softmax(oof / temperature)
    predicted = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    correct = predicted == y
    thresholds, default_threshold = choose_thresholds(
        confidence, predicted, correct, labels, target_precision
    )
    final = _classifier(c).fit(features, np.array(y_labels))
    head = Head(
        name=name,
        classifier=final,
        temperature=temperature,
        thresholds=thresholds,
        default_threshold=default_threshold,
        word_feature_names=word_names[:n_words],
    )
    # Held-out (cross-validated) quality, and the share that clears its class threshold.
    thresh = np.array([thresholds.get(labels[p], default_threshold) for p in predicted])
    accepted = confidence >= thresh
    report = classification_report([labels[i] for i in y], [labels[i] for i in predicted], confidence)
    report.pop("per_class")
    report.update(
        {
            "temperature": temperature,
            "expected_coverage": float(accepted.mean()),
            "precision_when_routed": float(correct[accepted].mean()) if accepted.any() else None,
            "folds": n_splits,
        }
    )
    return head, report


def _hours(created: Sequence[str | None], resolved: Sequence[str | None]) -> list[float]:
    out: list[float] = []
    for a, b in zip(created, resolved, strict=True):
        try:
            start, end = datetime.fromisoformat(str(a)), datetime.fromisoformat(str(b))
            out.append((end - start).total_seconds() / 3600.0)
        except (TypeError, ValueError):
            out.append(float("nan"))
    return out


def train_bundle(
    table: TicketTable,
    encoder: Encoder,
    version: str | None = None,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    parent: str | None = None,
    c: float = DEFAULT_C,
    folds: int = 5,
    progress: Progress | None = None,
    vectors: np.ndarray | None = None,
) -> ModelBundle:
    """Fit every head the table has labels for, plus handling time when it has timestamps.

    ``vectors`` are the table's embeddings when the caller already has them (encode once).
    """
    say = progress or (lambda message: logger.info("%s", message))
    if "department" not in table.labels:
        raise ValueError("training needs department labels (--label COLUMN)")
    started = time.perf_counter()
    if vectors is None:
        say(f"encoding {len(table)} tickets with {encoder.name}")
        vectors = encoder.encode(table.texts)
    say("fitting TF-IDF features")
    vectorizer = build_vectorizer()
    vectorizer.fit(table.texts)
    features = joint_features(vectorizer, table.texts, vectors)
    word_names = np.asarray(vectorizer.transformer_list[0][1].get_feature_names_out())
    n_words = len(word_names)
    heads: dict[str, Head] = {}
    metrics: dict[str, object] = {}
    for name, y_labels in table.labels.items():
        if len(set(y_labels)) < 2:
            say(f"skipping {name}: only one label")
            continue
        say(f"training {name} ({len(set(y_labels))} labels, {folds}-fold calibration)")
        heads[name], metrics[name] = _fit_head(
            name, features, y_labels, n_words, word_names, target_precision, c, folds
        )
    neighbours = Neighbours(
        ids=np.asarray(table.ids),
        vectors=np.asarray(vectors, dtype=np.float32),
        labels={h: np.asarray(v) for h, v in table.labels.items()},
    )
    handling = None
    if table.created_at and table.resolved_at:
        hours = _hours(table.created_at, table.resolved_at)
        if any(np.isfinite(hours)):
            say("fitting handling-time quantiles")
            handling = HandlingTimeModel.fit(
                table.labels["department"], table.labels.get("priority", ["*"] * len(table)), hours
            )
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "version": version or new_version(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "parent": parent,
        "encoder": encoder.name,
        "data_fingerprint": table.fingerprint(),
        "n_train": len(table),
        "labels": {name: head.labels for name, head in heads.items()},
        "thresholds": {
            name: {"per_class": head.thresholds, "default": head.default_threshold}
            for name, head in heads.items()
        },
        "target_precision": target_precision,
        "params": {
            "C": c,
            "folds": folds,
            "vectorizer": "words+bigrams (jieba) | char_wb 1-3",
            "model": "logreg",
        },
        "metrics": metrics,
        "data_notes": list(table.notes),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return ModelBundle(
        manifest=manifest, router=Router(vectorizer, heads, neighbours), handling_time=handling
    )
