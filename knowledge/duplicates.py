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
from datetime import datetime, timedelta

import numpy as np

from knowledge.base import Hit, KnowledgeBase
from knowledge.store import SearchFilters
from knowledge.text import is_chinese

# Hybrid score at or above which a hit counts as a duplicate, per query language: best F1 on GitBugs
# Hadoop (checked on SeaMonkey: precision 0.20, recall 0.37) and on half of AFQMC dev (checked on
# the other half: precision 0.35, recall 0.78). Weak evidence either way: raise it to flag less.
DUPLICATE_THRESHOLD = {"en": 0.51, "zh": 0.44}
OPEN_STATUSES = ("open", "new", "in progress", "pending", "reopened")
# Centred main-encoder cosine at or above which two cases in a window are "the same issue". A
# default, not fitted: there is no labelled spike data; tenants tune it with the API parameter.
SPIKE_SIMILARITY = 0.6


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
    limit = threshold if threshold is not None else DUPLICATE_THRESHOLD["zh" if is_chinese(text) else "en"]
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
    ``created_at`` values are compared as ISO-8601 text, so pass ``now`` in the stored form
    (naive or with the same offset).
    """
    start = now - window
    earliest = start - history * window
    recent = knowledge.store.created_between(tenant, kind, start.isoformat(), now.isoformat())
    if len(recent) < min_size:
        return []
    before = (
        knowledge.store.created_between(tenant, kind, earliest.isoformat(), start.isoformat())
        if history
        else []
    )
    vectors = knowledge.centred_vectors(tenant, [r for r, _, _ in recent] + [r for r, _, _ in before])
    recent = [r for r in recent if r[0] in vectors]
    before = [r for r in before if r[0] in vectors]
    if len(recent) < min_size:
        return []
    matrix = np.stack([vectors[r] for r, _, _ in recent])
    groups = _components(matrix @ matrix.T >= similarity)
    past = np.stack([vectors[r] for r, _, _ in before]) if before else np.zeros((0, matrix.shape[1]))
    spikes = []
    for members in groups:
        if len(members) < min_size:
            continue
        # A past case is the same issue when it links to a member as members link to each other.
        linked = (
            (past @ matrix[members].T >= similarity).any(axis=1) if len(past) else np.zeros(0, dtype=bool)
        )
        baseline = float(linked.sum()) / history if history else 0.0
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
    return sorted(spikes, key=lambda s: (-s.size, s.first_seen))


def _components(adjacency: np.ndarray) -> list[list[int]]:
    """Connected components of a boolean adjacency matrix, members in index order."""
    parent = list(range(len(adjacency)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(adjacency, 1)), strict=True):
        a, b = root(int(i)), root(int(j))
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(len(adjacency)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())
