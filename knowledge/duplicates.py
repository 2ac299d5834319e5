"""Duplicate tickets and recurring-issue spikes, on top of the knowledge base's hybrid search.

- ``find_duplicates``: the open cases an incoming ticket repeats: hybrid hits among cases with an
  open status whose score reaches the threshold for the ticket's language. The thresholds are
  chosen on labelled data by ``eval.retrieval_bench`` (section "duplicates"): English on the
  GitBugs duplicate pairs, Chinese on the AFQMC paraphrase pairs, each at the best F1 between a
  gold duplicate's score and the best-scoring non-duplicate's.
- ``detect_spikes``: groups of similar cases created within a time window that outnumber what the
  same kind of case did in the preceding windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from knowledge.base import Hit, KnowledgeBase
from knowledge.store import SearchFilters
from knowledge.text import is_chinese

# Hybrid score at or above which a hit counts as a duplicate, per query language: best F1 on GitBugs
# Hadoop (checked on SeaMonkey: precision 0.20, recall 0.37) and on half of AFQMC dev (checked on
# the other half: precision 0.35, recall 0.78). Weak evidence either way: raise it to flag less.
DUPLICATE_THRESHOLD = {"en": 0.51, "zh": 0.44}
THRESHOLD_BASIS = {
    "en": "best F1 on the GitBugs Hadoop duplicate pairs; on held-out SeaMonkey: precision 0.20, recall 0.37",
    "zh": "best F1 on half of the AFQMC dev paraphrase pairs; on the other half: precision 0.35, recall 0.78",
}
OPEN_STATUSES = ("open", "new", "in progress", "pending", "reopened")
# Centred main-encoder cosine at or above which two cases in a window are "the same issue". A
# default, not fitted: there is no labelled spike data; tenants tune it with the API parameter.
SPIKE_SIMILARITY = 0.6
# Cases in one window that spike detection compares pairwise (memory grows with the square).
MAX_WINDOW_CASES = 5_000
_BLOCK = 2_048


class TooManyCases(ValueError):
    """A spike window holds more cases than can be compared pairwise; the message says what to do."""


@dataclass(frozen=True)
class DuplicateThreshold:
    """The score a hit needs to count as a duplicate, for the query's language, and how it was chosen."""

    language: str  # "zh" for a Chinese query, "en" for any other
    value: float
    basis: str


def duplicate_threshold(text: str) -> DuplicateThreshold:
    """The fitted duplicate threshold that applies to a query text."""
    language = "zh" if is_chinese(text) else "en"
    return DuplicateThreshold(language, DUPLICATE_THRESHOLD[language], THRESHOLD_BASIS[language])


def find_duplicates(
    knowledge: KnowledgeBase,
    vector: np.ndarray,
    tenant: str,
    *,
    text: str,
    title: str | None = None,
    k: int = 3,
    threshold: float | None = None,
    statuses: Sequence[str] = OPEN_STATUSES,
    exclude_ids: Sequence[str] = (),
) -> list[Hit]:
    """Open cases the ticket repeats, best first (empty when none reaches the threshold)."""
    limit = threshold if threshold is not None else duplicate_threshold(text).value
    hits = knowledge.search(
        vector,
        tenant,
        k=k,
        exclude_ids=exclude_ids,
        text=text,
        title=title,
        filters=SearchFilters(statuses=tuple(statuses)),
    )
    return [h for h in hits if h.score >= limit]


@dataclass(frozen=True)
class Spike:
    """Similar cases created within one window, beyond what the same issue did before."""

    case_ids: tuple[str, ...]  # oldest first
    size: int
    baseline: float  # mean number of such cases per window over the preceding windows
    first_seen: str
    last_seen: str
    terms: tuple[str, ...]  # shared key terms, to name the issue


def detect_spikes(
    knowledge: KnowledgeBase,
    tenant: str,
    *,
    now: datetime,
    window: timedelta = timedelta(hours=24),
    history: int = 7,
    min_size: int = 5,
    min_ratio: float = 3.0,
    similarity: float = SPIKE_SIMILARITY,
    kind: str = "case",
) -> list[Spike]:
    """Recurring-issue spikes among the tenant's cases created in ``[now - window, now)``, largest first.

    Cases in the window are linked when their centred cosine reaches ``similarity``; a connected
    group of at least ``min_size`` is a spike when it is at least ``min_ratio`` times the mean
    number of cases per window, over the ``history`` windows before, that link to one of its members.
    Times compare as instants whatever offset ``created_at`` was stored with; a timestamp without
    an offset (``now`` included) is taken as UTC. Raises ``TooManyCases`` when the window holds
    more than ``MAX_WINDOW_CASES``.
    """
    now = _utc(now)
    start = now - window
    recent = _created(knowledge, tenant, kind, start, now)
    if len(recent) < min_size:
        return []
    if len(recent) > MAX_WINDOW_CASES:
        raise TooManyCases(
            f"{len(recent):,} cases were created in the window; spike detection compares at most "
            f"{MAX_WINDOW_CASES:,}: shorten the window"
        )
    before = _created(knowledge, tenant, kind, start - history * window, start) if history else []
    vectors = knowledge.centred_vectors(tenant, [r for r, _, _ in recent] + [r for r, _, _ in before])
    recent = [r for r in recent if r[0] in vectors]
    before = [r for r in before if r[0] in vectors]
    if len(recent) < min_size:
        return []
    matrix = np.stack([vectors[r] for r, _, _ in recent])
    _, labels = connected_components(csr_matrix(matrix @ matrix.T >= similarity), directed=False)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels.tolist()):
        groups.setdefault(label, []).append(index)
    past = np.stack([vectors[r] for r, _, _ in before]) if before else np.zeros((0, matrix.shape[1]))
    spikes = []
    for members in groups.values():
        if len(members) < min_size:
            continue
        # A past case is the same issue when it links to a member as members link to each other.
        linked = sum(
            int((past[i : i + _BLOCK] @ matrix[members].T >= similarity).any(axis=1).sum())
            for i in range(0, len(past), _BLOCK)
        )
        baseline = linked / history if history else 0.0
        if len(members) < min_ratio * baseline:
            continue
        rows = [recent[i] for i in members]
        spikes.append(
            Spike(
                case_ids=tuple(doc_id for _, doc_id, _ in rows),
                size=len(members),
                baseline=round(baseline, 3),
                first_seen=rows[0][2],
                last_seen=rows[-1][2],
                terms=knowledge.top_terms(tenant, [r for r, _, _ in rows]),
            )
        )
    return sorted(spikes, key=lambda s: (-s.size, _utc(datetime.fromisoformat(s.first_seen))))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _created(
    knowledge: KnowledgeBase, tenant: str, kind: str, since: datetime, until: datetime
) -> list[tuple[int, str, str]]:
    """(row id, document id, created_at) of documents created in [since, until), oldest first."""
    return knowledge.store.created_between(tenant, kind, since.isoformat(), until.isoformat())
