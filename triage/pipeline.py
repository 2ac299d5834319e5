"""The triage pipeline: one ticket (or a batch) in, one TriageResult each out.

The ticket text is encoded once; that vector feeds the routing heads, the nearest labelled
examples and the similar-case search.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings import Encoder
from knowledge import Document, KnowledgeBase
from triage.bundle import ModelBundle
from triage.completeness import CompletenessChecker
from triage.features import model_text
from triage.fields import FieldExtractor
from triage.language import detect_language
from triage.summary import Summarizer
from triage.types import ExtractedField, Prediction, SimilarCase, Summary, Ticket, TriageResult

logger = logging.getLogger(__name__)

ROUTING_HEADS = ("department", "category", "priority")


@dataclass(frozen=True)
class Analysis:
    """What the pipeline knows of a ticket before routing: language, fields, summary."""

    language: str
    fields: tuple[ExtractedField, ...]
    summary: Summary


class TriageService:
    """Holds the loaded models; thread-safe for concurrent requests once loaded."""

    def __init__(
        self,
        bundle_dir: Path,
        knowledge: KnowledgeBase,
        encoder: Encoder,
        similar_k: int = 5,
        extractor: FieldExtractor | None = None,
        summarizer: Summarizer | None = None,
        completeness: CompletenessChecker | None = None,
    ) -> None:
        self.bundle_dir = bundle_dir
        self.knowledge = knowledge
        self.encoder = encoder
        self.similar_k = similar_k
        self.extractor = extractor or FieldExtractor()
        self.summarizer = summarizer or Summarizer()
        self.completeness = completeness or CompletenessChecker()
        self._bundle: ModelBundle | None = None

    def load(self) -> None:
        """Load every model so the first request pays nothing; idempotent."""
        if self._bundle is not None:
            return
        started = time.perf_counter()
        bundle = ModelBundle.load(self.bundle_dir, expected_encoder=self.encoder.name)
        self.encoder.load()
        self.extractor.load()
        self.completeness.load()
        self.knowledge.load()
        self._bundle = bundle
        # One throw-away triage warms caches (jieba dictionary, spaCy, BLAS) before real traffic.
        self.triage(Ticket(title="warm-up", body="VPN 无法连接 error 809 on host srv-01"))
        logger.info("triage service ready in %.1fs (model %s)", time.perf_counter() - started, bundle.version)

    @property
    def bundle(self) -> ModelBundle:
        if self._bundle is None:
            raise RuntimeError("TriageService.load() has not been called")
        return self._bundle

    @property
    def ready(self) -> bool:
        return self._bundle is not None

    def analyse(self, ticket: Ticket) -> Analysis:
        """Language, key fields and summary: no routing model needed."""
        text = ticket.text
        language = ticket.language or detect_language(text)
        fields = tuple(self.extractor.extract(text, language, reference_time=ticket.created_at))
        summary = self.summarizer.summarize(ticket.title, ticket.body, language)
        return Analysis(language, fields, summary)

    def encode(self, tickets: Sequence[Ticket]) -> np.ndarray:
        return self.encoder.encode([model_text(t.title, t.body) for t in tickets])

    def classify(
        self, tickets: Sequence[Ticket], vectors: np.ndarray | None = None
    ) -> list[dict[str, Prediction]]:
        """Department, category and priority predictions for each ticket."""
        if vectors is None:
            vectors = self.encode(tickets)
        texts = [model_text(t.title, t.body) for t in tickets]
        return self.bundle.router.predict(texts, vectors)

    def add_documents(self, docs: Sequence[Document]) -> list[int]:
        """Store and index cases or articles, embedded exactly as tickets are for search."""
        vectors = self.encoder.encode([model_text(d.title, d.body) for d in docs])
        return self.knowledge.add(docs, vectors)

    def similar(
        self, ticket: Ticket, vector: np.ndarray | None = None, k: int | None = None
    ) -> list[SimilarCase]:
        if vector is None:
            vector = self.encode([ticket])[0]
        hits = self.knowledge.search(
            vector, tenant=ticket.tenant, k=k or self.similar_k, exclude_ids=[ticket.id] if ticket.id else []
        )
        return [
            SimilarCase(
                id=h.document.doc_id,
                title=h.document.title or h.document.body.strip().split("\n", 1)[0][:120],
                resolution=h.document.resolution,
                score=round(h.score, 4),
                department=h.document.department,
            )
            for h in hits
        ]

    def triage(self, ticket: Ticket) -> TriageResult:
        return self.triage_many([ticket])[0]

    def triage_many(self, tickets: Sequence[Ticket]) -> list[TriageResult]:
        """Triage a batch: one encoder call and one classifier call for all of them."""
        if not tickets:
            return []
        bundle = self.bundle  # one version for the whole batch, even if a promotion swaps it meanwhile
        t0 = time.perf_counter()
        vectors = self.encode(tickets)
        t1 = time.perf_counter()
        texts = [model_text(t.title, t.body) for t in tickets]
        predictions = bundle.router.predict(texts, vectors)
        t2 = time.perf_counter()
        share = 1000.0 / len(tickets)
        results = []
        for ticket, vector, heads in zip(tickets, vectors, predictions, strict=True):
            s0 = time.perf_counter()
            analysis = self.analyse(ticket)
            s1 = time.perf_counter()
            similar = self.similar(ticket, vector)
            s2 = time.perf_counter()
            department = heads["department"]
            priority = heads.get("priority")
            completeness = self.completeness.check(department.value, analysis.fields, analysis.language)
            handling = None
            if bundle.handling_time is not None:
                handling = bundle.handling_time.predict(
                    department.value, priority.value if priority else None
                )
            results.append(
                TriageResult(
                    ticket_id=ticket.id,
                    language=analysis.language,
                    fields=analysis.fields,
                    completeness=completeness,
                    summary=analysis.summary,
                    department=department,
                    category=heads.get("category"),
                    priority=priority,
                    handling_time=handling,
                    similar_cases=tuple(similar),
                    model_version=bundle.version,
                    timings_ms={
                        "encode": round((t1 - t0) * share, 3),
                        "classify": round((t2 - t1) * share, 3),
                        "extract_summarize": round((s1 - s0) * 1000, 3),
                        "similar": round((s2 - s1) * 1000, 3),
                    },
                )
            )
        return results
