"""Handling time (p50/p90 hours) and SLA-breach risk from the history of solved tickets.

Two layers, both persisted as plain JSON by ``to_dict`` / ``from_dict``:

- **Grouped quantiles** (always fitted): empirical quantiles per (department, priority), backed
  off to priority alone and then to all tickets when a group has fewer than ``min_group``
  examples. Breach risk is the group's share of history above the SLA target.
- **Quantile boosting** (fitted when at least ``min_rows`` usable rows exist): two
  ``HistGradientBoostingRegressor(loss="quantile")`` models (q = 0.5, 0.9) on ``log1p(hours)`` over
  one-hot department, category and priority, time of week of ``created_at`` (hour, weekday), text
  length and a 16-d TruncatedSVD of a character TF-IDF of the text. Both quantiles are shifted by a
  split-conformal correction read off 5-fold out-of-fold residuals (the median residual for p50,
  the 90 % residual quantile for p90), so p90 covers about 90 % of unseen tickets even where
  boosting on a few hundred rows is over-confident. Breach risk is ``P(hours > sla)`` under a
  log-normal of ``1 + hours`` through the predicted p50 and p90, recalibrated by an isotonic map
  fitted on the same out-of-fold rows (predicted risk -> observed breach rate) when that map
  lowers the cross-fitted Brier score; ``breach_calibration`` keeps the table (predicted vs
  observed per risk bin) that decided it.

After fitting, the trees are copied into flat arrays (``_Forest``) and the text projection into a
vocabulary, idf and SVD basis (``_TextProjection``): prediction is numpy plus scikit-learn's
stateless n-gram analyzer, under a millisecond per ticket, with no pickled estimators (the JSON
loads across scikit-learn versions).

``predict`` uses the boosted layer unless it was fitted with ``created_at`` or ``text`` and the call
lacks them; then it answers from the grouped quantiles. A missing or unseen department, priority
or category is an all-zero one-hot, like the rare levels in training (missing ones count as "*").
"""

from __future__ import annotations

import base64
import logging
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
from scipy.special import ndtr

from triage.tfidf import char_analyzer
from triage.types import HandlingTime

logger = logging.getLogger(__name__)

DEFAULT_SLA_HOURS: dict[str, float] = {"P1": 4.0, "P2": 8.0, "P3": 24.0, "P4": 72.0}
MIN_ROWS = 200  # fewer usable rows than this: grouped quantiles only
Z90 = 1.2815515655446004  # standard normal 90 % quantile
MIN_LEVEL_COUNT = 3  # a category level seen fewer times is treated as unknown (all-zero one-hot)
MAX_LEVELS = 30  # most frequent levels kept per categorical column
SVD_DIM = 16
MAX_VOCABULARY = 3000
NGRAM_RANGE = (1, 3)  # character n-grams within words (char_wb) of the text projection
MAX_TEXT_CHARS = 1000  # n-grams are read from the first characters only (keeps predict fast)
FOLDS = 5
QUANTILES = {"p50": 0.5, "p90": 0.9}
MIN_BREACH_ROWS = 100  # fewer held-out rows with an SLA: the log-normal breach risk is not recalibrated
BREACH_FLOOR = 0.01  # a recalibrated risk stays within [1 %, 99 %]: history never makes a breach certain
OPTIONAL_INPUTS = ("category", "created_at", "text")

CreatedAt = datetime | str | None


def _parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return not (isinstance(value, str) and not value.strip())


@dataclass(frozen=True)
class HandlingRequest:
    """One ticket's inputs to ``HandlingTimeModel.predict_many`` (``predict``'s arguments)."""

    department: str | None
    priority: str | None
    category: str | None = None
    created_at: CreatedAt = None
    text: str | None = None
    # ``HandlingTimeModel.text_projection`` of ``text`` when already worked out (a row).
    projection: np.ndarray | None = None


def _level(value: object) -> str:
    """A categorical value as a group key: missing ones become the wildcard "*"."""
    return str(value) if _present(value) else "*"


def _lognormal_exceedance(p50: float, p90: float, sla: float) -> float:
    """P(hours > sla) when log(1 + hours) is normal with the given median and 90 % quantile."""
    mu = math.log1p(max(p50, 0.0))
    sigma = max((math.log1p(max(p90, p50, 0.0)) - mu) / Z90, 1e-3)
    return float(1.0 - ndtr((math.log1p(max(sla, 0.0)) - mu) / sigma))


def _encode(array: np.ndarray) -> dict[str, Any]:
    """A numeric array as JSON-safe data (base64 of its little-endian bytes)."""
    array = np.ascontiguousarray(array)
    dtype = array.dtype.newbyteorder("<")
    return {
        "dtype": dtype.str,
        "shape": list(array.shape),
        "data": base64.b64encode(array.astype(dtype).tobytes()).decode("ascii"),
    }


def _decode(data: Mapping[str, Any]) -> np.ndarray:
    raw = base64.b64decode(str(data["data"]))
    return np.frombuffer(raw, dtype=np.dtype(str(data["dtype"]))).reshape(data["shape"]).copy()


@dataclass(frozen=True)
class _Forest:
    """The trees of fitted HistGradientBoostingRegressors as flat node arrays, one output per model.

    Leaves point to themselves, so ``depth`` steps of "go left or right" reach every leaf.
    """

    baselines: np.ndarray  # (outputs,)
    roots: np.ndarray  # (trees,) index of each tree's root node
    outputs: np.ndarray  # (trees,) which model (output column) each tree belongs to
    feature: np.ndarray  # (nodes,)
    threshold: np.ndarray  # go left when x <= threshold
    missing_left: np.ndarray  # where NaN goes
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray  # leaf values (0 on split nodes)
    depth: int
    # The walk's tables (``__post_init__``): a node is addressed as twice its index, plus one to go
    # left, so one gather picks the child; the node tables are repeated to be read at that address.
    _children: np.ndarray = field(init=False, repr=False, compare=False)
    _split_feature: np.ndarray = field(init=False, repr=False, compare=False)
    _split_threshold: np.ndarray = field(init=False, repr=False, compare=False)
    _split_missing_left: np.ndarray = field(init=False, repr=False, compare=False)
    _leaf_value: np.ndarray = field(init=False, repr=False, compare=False)
    _trees_of: list[np.ndarray] = field(init=False, repr=False, compare=False)

    _FIELDS = (
        "baselines",
        "roots",
        "outputs",
        "feature",
        "threshold",
        "missing_left",
        "left",
        "right",
        "value",
    )

    @classmethod
    def of(cls, models: Sequence[Any]) -> _Forest:
        """Copy the trees out of fitted regressors (numeric splits only)."""
        parts: dict[str, list[np.ndarray]] = {name: [] for name in cls._FIELDS if name != "baselines"}
        offset, depth = 0, 0
        for output, model in enumerate(models):
            for trees in model._predictors:
                nodes = trees[0].nodes
                if nodes["is_categorical"].any():
                    raise ValueError("categorical splits are not supported: one-hot encode categories")
                own = offset + np.arange(len(nodes))
                leaf = nodes["is_leaf"].astype(bool)
                parts["roots"].append(np.array([offset]))
                parts["outputs"].append(np.array([output]))
                parts["feature"].append(np.where(leaf, 0, nodes["feature_idx"]))
                parts["threshold"].append(nodes["num_threshold"].astype(np.float64))
                parts["missing_left"].append(nodes["missing_go_to_left"].astype(bool))
                parts["left"].append(np.where(leaf, own, offset + nodes["left"].astype(np.int64)))
                parts["right"].append(np.where(leaf, own, offset + nodes["right"].astype(np.int64)))
                parts["value"].append(np.where(leaf, nodes["value"], 0.0))
                offset += len(nodes)
                depth = max(depth, int(nodes["depth"].max()))
        dtypes = {"feature": np.intp, "roots": np.intp, "outputs": np.intp, "left": np.intp, "right": np.intp}
        arrays = {
            name: np.concatenate(chunks).astype(dtypes.get(name, chunks[0].dtype))
            for name, chunks in parts.items()
        }
        baselines = np.array([float(np.ravel(m._baseline_prediction)[0]) for m in models])
        return cls(baselines=baselines, depth=depth, **arrays)

    def __post_init__(self) -> None:
        # Derived once, so a level of the walk is seven array operations instead of eleven.
        derived = {
            "_children": np.column_stack([self.right, self.left]).ravel() * 2,
            "_split_feature": np.repeat(self.feature, 2),
            "_split_threshold": np.repeat(self.threshold, 2),
            "_split_missing_left": np.repeat(self.missing_left, 2),
            "_leaf_value": np.repeat(self.value, 2),
            "_trees_of": [np.flatnonzero(self.outputs == output) for output in range(len(self.baselines))],
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(rows, outputs) raw predictions: each column equals its regressor's ``predict``."""
        x = np.ascontiguousarray(x)
        cells = x.ravel()
        # Each row's first cell in ``cells`` (none needed for one row).
        starts = (np.arange(x.shape[0]) * x.shape[1])[:, None] if x.shape[0] > 1 else None
        has_missing = bool(np.isnan(cells).any())
        node = np.broadcast_to(self.roots * 2, (x.shape[0], len(self.roots)))
        for _ in range(self.depth):
            columns = self._split_feature[node]
            values = cells[columns if starts is None else columns + starts]
            go_left = values <= self._split_threshold[node]
            if has_missing:
                go_left |= np.isnan(values) & self._split_missing_left[node]
            node = self._children[node + go_left]
        leaves = self._leaf_value[node]
        out = np.tile(self.baselines, (x.shape[0], 1))
        for output, trees in enumerate(self._trees_of):
            out[:, output] += leaves[:, trees].sum(axis=1)
        return out

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"depth": self.depth}
        for name in self._FIELDS:
            array = getattr(self, name)
            data[name] = _encode(array.astype(np.int32) if array.dtype.kind == "i" else array)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> _Forest:
        arrays = {name: _decode(data[name]) for name in cls._FIELDS}
        arrays = {k: a.astype(np.intp) if a.dtype.kind == "i" else a for k, a in arrays.items()}
        return cls(depth=int(data["depth"]), **arrays)


def _char_analyzer() -> Callable[[str], list[str]]:
    """The n-grams of ``_vectorizer_factory``'s vectoriser, without importing scikit-learn to serve."""
    return char_analyzer("char_wb", NGRAM_RANGE)


def _vectorizer_factory(kind: Any) -> Any:
    return kind(
        analyzer="char_wb",
        ngram_range=NGRAM_RANGE,
        min_df=2,
        max_features=MAX_VOCABULARY,
        sublinear_tf=True,
        dtype=np.float64,
    )


@dataclass
class _TextProjection:
    """Character 1-3-gram TF-IDF (sublinear tf, l2) projected on a TruncatedSVD basis."""

    vocabulary: dict[str, int]
    idf: np.ndarray  # (V,)
    components: np.ndarray  # (k, V)
    _analyzer: Callable[[str], list[str]] | None = field(default=None, repr=False, compare=False)
    _basis: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def dim(self) -> int:
        return int(self.components.shape[0])

    @classmethod
    def fit(cls, texts: Sequence[str], seed: int) -> _TextProjection | None:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        docs = [t[:MAX_TEXT_CHARS] for t in texts]
        vectorizer = _vectorizer_factory(TfidfVectorizer)
        try:
            tfidf = vectorizer.fit_transform(docs)
        except ValueError:  # empty vocabulary: no n-gram occurs twice
            return None
        dim = min(SVD_DIM, tfidf.shape[1] - 1, len(docs) - 1)
        if dim < 1:
            return None
        svd = TruncatedSVD(n_components=dim, random_state=seed).fit(tfidf)
        vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
        return cls(
            vocabulary, np.asarray(vectorizer.idf_, dtype=np.float32), svd.components_.astype(np.float32)
        )

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        if self._analyzer is None:
            self._analyzer = _char_analyzer()
        if self._basis is None:
            self._basis = np.ascontiguousarray(self.components.T)  # (V, k): row gathers are cheap
        lookup, out = self.vocabulary.get, np.zeros((len(texts), self.dim))
        for row, text in enumerate(texts):
            counted = Counter(self._analyzer(text[:MAX_TEXT_CHARS]))
            # One vocabulary lookup per distinct n-gram (-1: not in it), in first-occurrence order.
            columns = np.fromiter(map(lookup, counted, repeat(-1)), dtype=np.intp, count=len(counted))
            known = columns >= 0
            if not known.any():
                continue
            index = columns[known]
            counts = np.fromiter(counted.values(), dtype=np.float64, count=len(counted))[known]
            weight = (1.0 + np.log(counts)) * self.idf[index]
            out[row] = (weight / np.linalg.norm(weight)) @ self._basis[index]
        return out

    def to_dict(self) -> dict[str, Any]:
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {"terms": terms, "idf": _encode(self.idf), "components": _encode(self.components)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> _TextProjection:
        vocabulary = {str(term): i for i, term in enumerate(data["terms"])}
        return cls(vocabulary, _decode(data["idf"]), _decode(data["components"]))


@dataclass(frozen=True)
class _Booster:
    """Feature encoding, the p50/p90 forests and their conformal shifts (log1p-hours)."""

    inputs: tuple[str, ...]  # the optional inputs it was fitted with, from OPTIONAL_INPUTS
    levels: dict[str, list[str]]  # categorical column -> one-hot levels
    text: _TextProjection | None
    forest: _Forest  # outputs: log1p-hours p50, p90 (before the shifts)
    shifts: dict[str, float]  # "p50" / "p90"
    n_train: int

    def features(
        self,
        departments: Sequence[str | None],
        priorities: Sequence[str | None],
        categories: Sequence[str | None] | None,
        created_at: Sequence[CreatedAt] | None,
        texts: Sequence[str | None] | None,
        projections: Sequence[np.ndarray | None] | None = None,
    ) -> np.ndarray:
        return _features(
            self.inputs,
            self.levels,
            self.text,
            departments,
            priorities,
            categories,
            created_at,
            texts,
            projections,
        )

    def quantiles(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(p50, p90) hours for each row of ``x``, with 0 <= p50 <= p90."""
        raw = self.forest.predict(x)
        log50 = raw[:, 0] + self.shifts["p50"]
        log90 = raw[:, 1] + self.shifts["p90"]
        p50 = np.expm1(np.maximum(log50, 0.0))
        p90 = np.expm1(np.maximum(np.maximum(log90, log50), 0.0))
        return p50, p90

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": list(self.inputs),
            "levels": self.levels,
            "text": None if self.text is None else self.text.to_dict(),
            "forest": self.forest.to_dict(),
            "shifts": self.shifts,
            "n_train": self.n_train,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> _Booster:
        return cls(
            inputs=tuple(data["inputs"]),
            levels={k: list(v) for k, v in data["levels"].items()},
            text=None if data["text"] is None else _TextProjection.from_dict(data["text"]),
            forest=_Forest.from_dict(data["forest"]),
            shifts={k: float(v) for k, v in data["shifts"].items()},
            n_train=int(data["n_train"]),
        )


def _features(
    inputs: tuple[str, ...],
    levels: Mapping[str, list[str]],
    text: _TextProjection | None,
    departments: Sequence[str | None],
    priorities: Sequence[str | None],
    categories: Sequence[str | None] | None,
    created_at: Sequence[CreatedAt] | None,
    texts: Sequence[str | None] | None,
    projections: Sequence[np.ndarray | None] | None = None,
) -> np.ndarray:
    """``projections``: each text's ``text.transform`` row when already worked out (all or none used)."""
    n = len(departments)
    given: dict[str, Sequence[str | None] | None] = {
        "department": departments,
        "priority": priorities,
        "category": categories,
    }
    blocks: list[np.ndarray] = []
    for name, names in levels.items():
        code = {level: i for i, level in enumerate(names)}
        onehot = np.zeros((n, len(names)))
        for row, level in enumerate(given[name] or [None] * n):
            if _present(level) and str(level) in code:
                onehot[row, code[str(level)]] = 1.0
        blocks.append(onehot)
    if "created_at" in inputs:
        when = np.full((n, 2), np.nan)
        for row, value in enumerate(created_at or [None] * n):
            moment = _parse_time(value)
            if moment is not None:
                when[row] = (moment.hour + moment.minute / 60.0, moment.weekday())
        blocks.append(when)
    if "text" in inputs and text is not None:
        docs = [t if isinstance(t, str) else "" for t in (texts or [None] * n)]
        blocks.append(np.log1p(np.array([[len(d)] for d in docs], dtype=float)))
        if projections is not None and len(projections) == n and all(p is not None for p in projections):
            blocks.append(np.vstack([np.asarray(p).reshape(1, -1) for p in projections]))
        else:
            blocks.append(text.transform(docs))
    return np.hstack(blocks) if blocks else np.zeros((n, 0))


def _levels(values: Sequence[str | None]) -> list[str]:
    counts = Counter(str(v) for v in values if _present(v))
    return sorted(level for level, c in counts.most_common(MAX_LEVELS) if c >= MIN_LEVEL_COUNT)


# The 90 % model overfits the tail with the median's settings: on the training folds of both
# benchmark sets (never their test rows) a slower, smaller model had the lower pinball loss.
BOOSTING: dict[float, dict[str, float]] = {
    0.5: {"learning_rate": 0.05, "max_iter": 150, "max_leaf_nodes": 15, "min_samples_leaf": 20},
    0.9: {"learning_rate": 0.03, "max_iter": 150, "max_leaf_nodes": 7, "min_samples_leaf": 40},
}


def _regressor(quantile: float, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    settings = BOOSTING[quantile]
    return HistGradientBoostingRegressor(
        loss="quantile",
        quantile=quantile,
        learning_rate=settings["learning_rate"],
        max_iter=int(settings["max_iter"]),
        max_leaf_nodes=int(settings["max_leaf_nodes"]),
        min_samples_leaf=int(settings["min_samples_leaf"]),
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )


def _fit_booster(
    departments: Sequence[str | None],
    priorities: Sequence[str | None],
    categories: Sequence[str | None] | None,
    created_at: Sequence[CreatedAt] | None,
    texts: Sequence[str | None] | None,
    log_hours: np.ndarray,
    seed: int,
) -> tuple[_Booster, dict[str, np.ndarray]]:
    """The booster, and its out-of-fold log1p-hour quantiles per row (shifts applied)."""
    # Imported before threadpool_limits: it only limits OpenMP runtimes already loaded.
    from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: F401
    from sklearn.model_selection import KFold
    from threadpoolctl import threadpool_limits

    levels = {"department": _levels(departments), "priority": _levels(priorities)}
    if categories is not None:
        levels["category"] = _levels(categories)
    text = None
    if texts is not None:
        text = _TextProjection.fit([t if isinstance(t, str) else "" for t in texts], seed)
    inputs = tuple(
        name
        for name, column in (("category", categories), ("created_at", created_at), ("text", texts))
        if column is not None and (name != "text" or text is not None)
    )
    x = _features(inputs, levels, text, departments, priorities, categories, created_at, texts)
    n = len(log_hours)
    # OpenMP on a busy machine oversubscribes badly (100x slower): boosting here is small anyway.
    with threadpool_limits(limits=1, user_api="openmp"):
        # Out-of-fold residuals give the conformal shifts; the final models see every row.
        oof = {key: np.zeros(n) for key in QUANTILES}
        for train_idx, test_idx in KFold(FOLDS, shuffle=True, random_state=seed).split(x):
            for key, q in QUANTILES.items():
                model = _regressor(q, seed).fit(x[train_idx], log_hours[train_idx])
                oof[key][test_idx] = model.predict(x[test_idx])
        forest = _Forest.of([_regressor(q, seed).fit(x, log_hours) for q in QUANTILES.values()])
    shifts = {
        "p50": float(np.median(log_hours - oof["p50"])),
        "p90": float(np.quantile(log_hours - oof["p90"], min(1.0, 0.9 * (1 + 1 / n)))),
    }
    held_out = {key: oof[key] + shifts[key] for key in QUANTILES}
    return _Booster(inputs, levels, text, forest, shifts, n), held_out


def _held_out_hours(held_out: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    log50 = held_out["p50"]
    return np.expm1(np.maximum(log50, 0.0)), np.expm1(np.maximum(np.maximum(held_out["p90"], log50), 0.0))


@dataclass(frozen=True)
class BreachMap:
    """Out-of-fold isotonic recalibration of the log-normal breach risk: raw risk -> observed rate."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __call__(self, raw: float) -> float:
        return float(np.interp(raw, self.x, self.y))


def _isotonic(raw: np.ndarray, observed: np.ndarray) -> BreachMap:
    from sklearn.isotonic import IsotonicRegression

    fitted = IsotonicRegression(y_min=BREACH_FLOOR, y_max=1.0 - BREACH_FLOOR, out_of_bounds="clip")
    fitted.fit(raw, observed.astype(float))
    return BreachMap(
        tuple(float(v) for v in fitted.X_thresholds_), tuple(float(v) for v in fitted.y_thresholds_)
    )


def breach_calibration_table(
    raw: np.ndarray, calibrated: np.ndarray, observed: np.ndarray, bins: int = 10
) -> list[dict[str, Any]]:
    """Per bin of raw predicted risk: tickets, mean raw and calibrated risk, observed breach rate."""
    which = np.minimum((raw * bins).astype(int), bins - 1)
    table: list[dict[str, Any]] = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            table.append(
                {
                    "bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}",
                    "n": int(mask.sum()),
                    "predicted": round(float(raw[mask].mean()), 3),
                    "calibrated": round(float(calibrated[mask].mean()), 3),
                    "observed": round(float(observed[mask].mean()), 3),
                }
            )
    return table


def fit_breach_map(
    raw: np.ndarray, observed: np.ndarray, seed: int = 0
) -> tuple[BreachMap | None, dict[str, Any] | None]:
    """An isotonic map from held-out raw breach risk to the observed breach rate, and its report.

    The report's calibrated column and Brier score are cross-fitted (each fold's risks mapped by an
    isotonic fitted on the other folds), so it says how the map does on tickets it did not see; the
    map is kept only when that Brier score beats the raw risk's.
    """
    from sklearn.model_selection import KFold

    if len(raw) < MIN_BREACH_ROWS or observed.all() or not observed.any():
        return None, None
    crossed = np.zeros(len(raw))
    for train_idx, test_idx in KFold(FOLDS, shuffle=True, random_state=seed).split(raw):
        crossed[test_idx] = [_isotonic(raw[train_idx], observed[train_idx])(r) for r in raw[test_idx]]
    truth = observed.astype(float)
    brier_raw = float(np.mean((raw - truth) ** 2))
    brier_calibrated = float(np.mean((crossed - truth) ** 2))
    keep = brier_calibrated < brier_raw
    report = {
        "source": f"out-of-fold predictions on {len(raw)} resolved training tickets with an SLA target",
        "brier_raw": round(brier_raw, 4),
        "brier_calibrated": round(brier_calibrated, 4),
        "applied": keep,
        "bins": breach_calibration_table(raw, crossed, observed),
    }
    return (_isotonic(raw, observed) if keep else None), report


@dataclass
class HandlingTimeModel:
    groups: dict[str, list[float]] = field(default_factory=dict)  # key -> sorted hours (quantile grid)
    sla_hours: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SLA_HOURS))
    min_group: int = 20
    booster: _Booster | None = None
    breach_map: BreachMap | None = None  # recalibrates the boosted breach risk
    breach_calibration: dict[str, Any] | None = None  # its out-of-fold report (predicted vs observed)

    # Hours are kept as a grid of quantiles (0, 1, ..., 100 %) rather than every row.
    @staticmethod
    def _grid(hours: Sequence[float]) -> list[float]:
        return [float(v) for v in np.percentile(np.asarray(hours, dtype=float), np.arange(101))]

    @classmethod
    def fit(
        cls,
        departments: Sequence[str],
        priorities: Sequence[str],
        hours: Sequence[float] | np.ndarray,
        sla_hours: Mapping[str, float] | None = None,
        min_group: int = 20,
        *,
        categories: Sequence[str | None] | None = None,
        created_at: Sequence[CreatedAt] | None = None,
        texts: Sequence[str | None] | None = None,
        min_rows: int = MIN_ROWS,
        seed: int = 0,
    ) -> HandlingTimeModel:
        """Fit grouped quantiles, plus quantile boosting when ``min_rows`` usable rows exist.

        Rows whose hours are NaN, infinite or negative are ignored. ``categories``, ``created_at``
        (datetimes or ISO strings) and ``texts`` are optional features, one per row; give
        ``predict`` the same ones.
        """
        values = np.asarray(hours, dtype=float)
        n = len(values)
        for name, column in (
            ("departments", departments),
            ("priorities", priorities),
            ("categories", categories),
            ("created_at", created_at),
            ("texts", texts),
        ):
            if column is not None and len(column) != n:
                raise ValueError(
                    f"{name} has {len(column)} rows but hours has {n}: give one value per ticket"
                )
        ok = np.isfinite(values) & (values >= 0)
        if not ok.any():
            raise ValueError(
                "no usable handling times: need created and resolved times with resolved >= created"
            )
        model = cls(sla_hours=dict(sla_hours or DEFAULT_SLA_HOURS), min_group=min_group)
        buckets: dict[str, list[float]] = {"*": []}
        for dept_value, prio_value, h, good in zip(departments, priorities, values, ok, strict=True):
            if not good:
                continue
            dept, prio = _level(dept_value), _level(prio_value)
            for key in (f"{dept}|{prio}", f"*|{prio}", "*"):
                buckets.setdefault(key, []).append(float(h))
        model.groups = {k: cls._grid(v) for k, v in buckets.items() if len(v) >= min_group or k == "*"}
        keep: list[int] = np.flatnonzero(ok).tolist()
        if len(keep) < min_rows:
            logger.info("handling time: %d usable rows < %d, grouped quantiles only", len(keep), min_rows)
            return model

        def rows(column: Sequence[Any] | None) -> list[Any] | None:
            return None if column is None else [column[i] for i in keep]

        model.booster, held_out = _fit_booster(
            [_level(departments[i]) for i in keep],
            [_level(priorities[i]) for i in keep],
            rows(categories),
            rows(created_at),
            rows(texts),
            np.log1p(values[keep]),
            seed,
        )
        # Breach risk from the log-normal through p50/p90 is checked against what happened on the
        # held-out rows, and recalibrated when that helps.
        sla = np.array([model.sla_hours.get(_level(priorities[i]), np.nan) for i in keep])
        has_sla = np.isfinite(sla)
        p50, p90 = _held_out_hours(held_out)
        raw = np.array(
            [
                _lognormal_exceedance(a, b, c)
                for a, b, c in zip(p50[has_sla], p90[has_sla], sla[has_sla], strict=True)
            ]
        )
        breached = values[keep][has_sla] > sla[has_sla]
        model.breach_map, model.breach_calibration = fit_breach_map(raw, breached, seed)
        logger.info(
            "handling time: quantile boosting on %d rows (optional inputs: %s), p50/p90 shifts %.3f/%.3f",
            len(keep),
            ", ".join(model.booster.inputs) or "none",
            model.booster.shifts["p50"],
            model.booster.shifts["p90"],
        )
        return model

    def _grid_for(self, department: str | None, priority: str | None) -> list[float]:
        department, priority = _level(department), _level(priority)
        for key in (f"{department}|{priority}", f"*|{priority}", "*"):
            if key in self.groups:
                return self.groups[key]
        return self.groups["*"]

    def _boostable(self, created_at: CreatedAt, text: str | None) -> bool:
        # Unknown or missing department / priority / category levels are all-zero one-hots, as for
        # rare levels in training; a missing timestamp or text is not: those fall back to groups.
        if self.booster is None:
            return False
        if "created_at" in self.booster.inputs and _parse_time(created_at) is None:
            return False
        return "text" not in self.booster.inputs or isinstance(text, str)

    def quantiles(
        self,
        department: str | None,
        priority: str | None,
        *,
        category: str | None = None,
        created_at: CreatedAt = None,
        text: str | None = None,
    ) -> tuple[float, float, str]:
        """Unrounded ``(p50, p90, source)``; source is "boosted" or "grouped"."""
        department, priority = _level(department), _level(priority)
        if self.booster is not None and self._boostable(created_at, text):
            x = self.booster.features([department], [priority], [category], [created_at], [text])
            p50, p90 = self.booster.quantiles(x)
            return float(p50[0]), float(p90[0]), "boosted"
        grid = self._grid_for(department, priority)
        return grid[50], grid[90], "grouped"

    def predict(
        self,
        department: str | None,
        priority: str | None,
        *,
        category: str | None = None,
        created_at: CreatedAt = None,
        text: str | None = None,
    ) -> HandlingTime:
        """p50/p90 hours and the risk of exceeding the SLA target of ``priority`` (None without one)."""
        p50, p90, source = self.quantiles(
            department, priority, category=category, created_at=created_at, text=text
        )
        return self._estimate(p50, p90, source, department, priority)

    def text_projection(self, texts: Sequence[str]) -> np.ndarray | None:
        """The texts' TF-IDF + SVD rows as the boosted model reads them (None: it reads no text), for
        ``HandlingRequest.projection``: the part of a prediction that needs no routing decision."""
        booster = self.booster
        if booster is None or booster.text is None or "text" not in booster.inputs:
            return None
        return booster.text.transform(list(texts))

    def predict_many(self, requests: Sequence[HandlingRequest]) -> list[HandlingTime]:
        """``predict`` for many tickets: the boosted ones' features (text TF-IDF + SVD included) and
        quantiles are computed in one call for all of them, not one call each."""
        levels = [(_level(r.department), _level(r.priority)) for r in requests]
        boosted = [
            i
            for i, r in enumerate(requests)
            if self.booster is not None and self._boostable(r.created_at, r.text)
        ]
        found: dict[int, tuple[float, float, str]] = {}
        if boosted and self.booster is not None:
            x = self.booster.features(
                [levels[i][0] for i in boosted],
                [levels[i][1] for i in boosted],
                [requests[i].category for i in boosted],
                [requests[i].created_at for i in boosted],
                [requests[i].text for i in boosted],
                [requests[i].projection for i in boosted],
            )
            p50s, p90s = self.booster.quantiles(x)
            for i, p50, p90 in zip(boosted, p50s.tolist(), p90s.tolist(), strict=True):
                found[i] = (float(p50), float(p90), "boosted")
        out = []
        for i, (department, priority) in enumerate(levels):
            if i not in found:  # as ``quantiles``: the group of the levels
                grid = self._grid_for(department, priority)
                found[i] = (grid[50], grid[90], "grouped")
            out.append(self._estimate(*found[i], requests[i].department, requests[i].priority))
        return out

    def _estimate(
        self, p50: float, p90: float, source: str, department: str | None, priority: str | None
    ) -> HandlingTime:
        sla = self.sla_hours.get(priority or "")
        risk = None
        if sla is not None:
            if source == "boosted":
                risk = _lognormal_exceedance(p50, p90, sla)
                if self.breach_map is not None:
                    risk = self.breach_map(risk)
            else:
                # Share of the group's history that took longer than the SLA target.
                risk = float(np.mean(np.asarray(self._grid_for(department, priority)) > sla))
        return HandlingTime(
            p50_hours=round(p50, 2),
            p90_hours=round(p90, 2),
            sla_hours=sla,
            breach_risk=None if risk is None else round(risk, 3),
        )

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready data (arrays as base64); ``from_dict`` reads it back."""
        data: dict[str, Any] = {
            "groups": self.groups,
            "sla_hours": self.sla_hours,
            "min_group": self.min_group,
        }
        if self.booster is not None:
            data["booster"] = self.booster.to_dict()
        if self.breach_map is not None:
            data["breach_map"] = {"x": list(self.breach_map.x), "y": list(self.breach_map.y)}
        if self.breach_calibration is not None:
            data["breach_calibration"] = self.breach_calibration
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HandlingTimeModel:
        booster = data.get("booster")
        mapping = data.get("breach_map")
        return cls(
            groups=dict(data["groups"]),
            sla_hours=dict(data["sla_hours"]),
            min_group=int(data["min_group"]),
            booster=None if booster is None else _Booster.from_dict(booster),
            breach_map=None if mapping is None else BreachMap(tuple(mapping["x"]), tuple(mapping["y"])),
            breach_calibration=data.get("breach_calibration"),
        )
