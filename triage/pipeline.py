"""The triage pipeline: one ticket (or a batch) in, one TriageResult each out.

The ticket text is encoded once; that vector feeds the routing heads, the nearest labelled
examples and the similar-case search.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from embeddings import Encoder
from knowledge import Document, Hit, KnowledgeBase
from knowledge.base import PreparedQueries
from knowledge.ledger import Feedback, HandlingRecord, Ledger, PredictionRecord
from triage.bundle import ModelBundle
from triage.completeness import CompletenessChecker
from triage.features import model_text
from triage.fields import FieldExtractor
from triage.handling import HandlingRequest, HandlingTimeModel
from triage.language import detect_language
from triage.models import Assignment, ModelProvider
from triage.pii import PiiRedactor, pseudonym
from triage.routing import RoutingFeatures
from triage.rules import RuleEngine
from triage.summary import Summarizer
from triage.types import (
    ExtractedField,
    HandlingTime,
    Prediction,
    SimilarCase,
    Summary,
    Ticket,
    TriageResult,
)

logger = logging.getLogger(__name__)

ROUTING_HEADS = ("department", "category", "priority")
ARTICLES_K = 3


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
        models: ModelProvider,
        knowledge: KnowledgeBase,
        encoder: Encoder,
        similar_k: int = 5,
        extractor: FieldExtractor | None = None,
        summarizer: Summarizer | None = None,
        completeness: CompletenessChecker | None = None,
        ledger: Ledger | None = None,
        rules: RuleEngine | None = None,
        redact_pii: bool = False,
    ) -> None:
        self.models = models
        self.ledger = ledger
        self.rules = rules
        self.redact_pii = redact_pii
        self.knowledge = knowledge
        self.encoder = encoder
        self.similar_k = similar_k
        self.extractor = extractor or FieldExtractor()
        self.summarizer = summarizer or Summarizer()
        self.completeness = completeness or CompletenessChecker()
        self.redactor = PiiRedactor(self.extractor)
        self._ready = False

    def load(self) -> None:
        """Load every model so the first request pays nothing; idempotent."""
        if self._ready:
            return
        started = time.perf_counter()
        # The encoder's weights load in a thread of their own while the rest loads: most of their time
        # is zlib inflating the weight file, which releases the GIL, so on 2 cores it overlaps the
        # imports and unpickling (which hold it) instead of following them.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="load-encoder") as pool:
            encoder_loaded = pool.submit(self.encoder.load)
            self.models.load()
            self.extractor.load()
            self.completeness.load()
            if self.rules is not None:
                self.rules.load()
            encoder_loaded.result()
        self.knowledge.load()  # after the encoder: catching up may embed rows stored without a vector
        if self.ledger is not None:
            self.ledger.open()
        # One throw-away triage warms caches (jieba dictionary, spaCy, BLAS) before real traffic.
        self._triage([Ticket(title="warm-up", body="VPN 无法连接 error 809 on host srv-01")], log=False)
        self._ready = True
        logger.info(
            "triage service ready in %.1fs (model %s)", time.perf_counter() - started, self.bundle.version
        )

    def close(self) -> None:
        self.knowledge.flush()
        self.knowledge.store.close()
        if self.ledger is not None:
            self.ledger.close()
        if self.models.registry is not None:
            self.models.registry.close()
        close = getattr(self.encoder, "close", None)  # an encoder in a process of its own stops it
        if close is not None:
            close()

    @property
    def bundle(self) -> ModelBundle:
        """The default tenant's active model."""
        return self.models.default

    @property
    def ready(self) -> bool:
        return self._ready

    def analyse(self, ticket: Ticket, language: str | None = None) -> Analysis:
        """Language, key fields and summary: no routing model needed. ``language``: already detected."""
        language, fields = self.extract_fields(ticket, language)
        summary = self.summarizer.summarize(ticket.title, ticket.body, language)
        return Analysis(language, fields, summary)

    def extract_fields(
        self, ticket: Ticket, language: str | None = None
    ) -> tuple[str, tuple[ExtractedField, ...]]:
        """The ticket's language and key fields (what business rules look at)."""
        language = language or _language(ticket)
        return language, tuple(
            self.extractor.extract(ticket.text, language, reference_time=ticket.created_at)
        )

    def encode(self, tickets: Sequence[Ticket]) -> np.ndarray:
        return self.encoder.encode([model_text(t.title, t.body) for t in tickets])

    def classify(
        self, tickets: Sequence[Ticket], vectors: np.ndarray | None = None
    ) -> list[dict[str, Prediction]]:
        """Department, category and priority predictions for each ticket (by its tenant's model)."""
        if vectors is None:
            vectors = self.encode(tickets)
        assignments = [self.models.assign(t.tenant, t.id) for t in tickets]
        predictions, _ = self._predict(tickets, vectors, assignments, log=True)
        if self.rules is None:
            return predictions
        out = []
        for ticket, heads, assignment in zip(tickets, predictions, assignments, strict=True):
            language, fields = self.extract_fields(ticket)  # no summary: classify does not return one
            out.append(self.rules.apply(ticket, fields, heads, language, labels=assignment.serving.labels))
        return out

    def add_documents(self, docs: Sequence[Document], existing_only: bool = False) -> list[int]:
        """Store and index cases or articles, embedded exactly as tickets are for search.

        With ``redact_pii`` on, e-mails, phones, ID numbers, bank cards and person names are replaced
        by placeholders in the stored title, body, resolution and metadata values before anything
        is embedded or written, so the database, the indexes and their snapshots hold only the
        redacted text. Ids are stored as given.
        ``existing_only``: replace only documents that are still stored (a replace, never a create).
        """
        prepared, vectors = self.prepare_documents(docs)
        return self.knowledge.add(prepared, vectors, existing_only=existing_only)

    def prepare_documents(self, docs: Sequence[Document]) -> tuple[list[Document], np.ndarray]:
        """The documents as they are stored (redacted when ``redact_pii`` is on) and their main vectors.

        What ``add_documents`` writes; bulk loads (``triage backfill``) call it on their workers and
        store the result with ``KnowledgeBase.store_documents``.
        """
        prepared = [self._redacted(d) for d in docs] if self.redact_pii else list(docs)
        return prepared, self.encoder.encode([model_text(d.title, d.body) for d in prepared])

    def _redacted(self, doc: Document) -> Document:
        # Each text's own language, not the document's: an English title may head a Chinese body.
        return dataclasses.replace(
            doc,
            title=self.redactor.text(doc.title),
            body=self.redactor.text(doc.body),
            resolution=self.redactor.text(doc.resolution),
            metadata=self.redactor.value(dict(doc.metadata)),
        )

    def add_feedback(self, item: Feedback) -> int:
        """Store an agent's feedback durably; returns its id.

        With ``redact_pii`` on, the ticket text it carries is redacted as stored cases are, and
        the agent is stored as a pseudonym (``pii.pseudonym``), never by name.
        """
        if self.ledger is None:
            raise RuntimeError("no feedback store configured: build the service with a ledger")
        if self.redact_pii:
            item = dataclasses.replace(
                item,
                text=self.redactor.text(item.text) if item.text else item.text,
                agent=pseudonym(item.tenant, item.agent) if item.agent else item.agent,
            )
        return self.ledger.add_feedback(item)

    def similar(
        self, ticket: Ticket, vector: np.ndarray | None = None, k: int | None = None, kind: str = "case"
    ) -> list[SimilarCase]:
        """Similar solved cases (or knowledge-base articles) for a ticket, best first."""
        return self.similar_kinds(ticket, vector, {kind: k or self.similar_k})[kind]

    def similar_kinds(
        self, ticket: Ticket, vector: np.ndarray | None, kinds: dict[str, int]
    ) -> dict[str, list[SimilarCase]]:
        """``similar`` for several kinds (cases and articles) in one search: the ticket's text is read once."""
        if vector is None:
            vector = self.encode([ticket])[0]
        found = self.knowledge.search_kinds(
            vector,
            ticket.tenant,
            kinds,
            exclude_ids=[ticket.id] if ticket.id else [],
            text=ticket.text,  # switches on BM25 beside the dense vector (hybrid search)
            title=ticket.title or None,
            relevant_only=True,  # an off-topic ticket gets no suggestions rather than unrelated ones
        )
        return _similar_cases(found)

    def similar_kinds_many(
        self,
        tickets: Sequence[Ticket],
        vectors: np.ndarray,
        kinds: dict[str, int],
        prepared: Mapping[str, PreparedQueries] | None = None,
    ) -> list[dict[str, list[SimilarCase]]]:
        """``similar_kinds`` for a batch: one search call per tenant for all its tickets (each ticket
        gets exactly what it gets alone). ``prepared``: ``prepare_similar``'s answer for the tickets."""
        out: list[dict[str, list[SimilarCase]]] = [{} for _ in tickets]
        for tenant, rows in _by_tenant(tickets).items():
            found = self.knowledge.search_kinds_many(
                vectors[rows],
                tenant,
                kinds,
                texts=[tickets[i].text for i in rows],
                titles=[tickets[i].title or None for i in rows],
                exclude_ids=[[t.id] if t.id else [] for t in (tickets[i] for i in rows)],
                relevant_only=True,
                prepared=(prepared or {}).get(tenant),
            )
            for i, hits in zip(rows, found, strict=True):
                out[i] = _similar_cases(hits)
        return out

    def prepare_similar(self, tickets: Sequence[Ticket]) -> dict[str, PreparedQueries]:
        """The searches' work that needs no vector (language, BM25), per tenant, for ``similar_kinds_many``."""
        return {
            tenant: self.knowledge.prepare_queries(
                tenant, [tickets[i].text for i in rows], [tickets[i].title or None for i in rows]
            )
            for tenant, rows in _by_tenant(tickets).items()
        }

    def triage(self, ticket: Ticket) -> TriageResult:
        return self.triage_many([ticket])[0]

    def triage_many(self, tickets: Sequence[Ticket]) -> list[TriageResult]:
        """Triage a batch: one encoder call, and one classifier call per model version in it."""
        return self._triage(tickets, log=True)

    def _predict(
        self,
        tickets: Sequence[Ticket],
        vectors: np.ndarray,
        assignments: Sequence[Assignment],
        log: bool,
        languages: Sequence[str] | None = None,
        features: Mapping[int, RoutingFeatures] | None = None,
    ) -> tuple[list[dict[str, Prediction]], list[str]]:
        """Predictions from each ticket's assigned model; shadow candidates predict and are logged only.

        ``languages``: the tickets' languages when already detected (the ledger records them).
        ``features``: each serving model's vector-free routing features of its tickets when already worked out
        (``_routing_features``).
        """
        log = log and self.ledger is not None
        if log and languages is None:
            languages = [_language(t) for t in tickets]
        texts = [model_text(t.title, t.body) for t in tickets]
        out: list[dict[str, Prediction]] = [{} for _ in tickets]
        versions = [a.serving.version for a in assignments]
        records: list[PredictionRecord] = []
        for rows in _by_model(assignments).values():
            assignment = assignments[rows[0]]
            predicted = assignment.serving.router.predict(
                [texts[i] for i in rows], vectors[rows], (features or {}).get(id(assignment.serving))
            )
            for i, heads in zip(rows, predicted, strict=True):
                out[i] = heads
                if log and languages is not None:
                    records.extend(
                        prediction_records(
                            tickets[i], assignment.serving.version, assignment.role, heads, languages[i]
                        )
                    )
        shadows: dict[int, list[int]] = {}
        for index, assignment in enumerate(assignments):
            if assignment.shadow is not None:
                shadows.setdefault(id(assignment.shadow), []).append(index)
        for rows in shadows.values():
            shadow = assignments[rows[0]].shadow
            assert shadow is not None
            predicted = shadow.router.predict([texts[i] for i in rows], vectors[rows])
            for i, heads in zip(rows, predicted, strict=True):
                if log and languages is not None:
                    records.extend(
                        prediction_records(tickets[i], shadow.version, "shadow", heads, languages[i])
                    )
        if log and self.ledger is not None:
            self.ledger.log(records)
        return out, versions

    @staticmethod
    def _handling_projections(
        texts: Sequence[str], assignments: Sequence[Assignment]
    ) -> list[np.ndarray | None]:
        """Each ticket's text row for its serving model's handling-time model (None where it reads no
        text): the part of the estimate that needs no routing decision."""
        out: list[np.ndarray | None] = [None] * len(texts)
        for model, rows in _handling_models(assignments):
            projected = model.text_projection([texts[i] for i in rows])
            if projected is not None:
                for i, row in zip(rows, projected, strict=True):
                    out[i] = row
        return out

    @staticmethod
    def _routing_features(
        texts: Sequence[str], assignments: Sequence[Assignment]
    ) -> dict[int, RoutingFeatures]:
        """Each serving model's vector-free routing features of its tickets (TF-IDF, its cosine to the
        labelled tickets, the lexical models' evidence; rows grouped as ``_predict`` groups them)."""
        groups = _by_model(assignments)
        return {
            key: assignments[rows[0]].serving.router.features([texts[i] for i in rows])
            for key, rows in groups.items()
        }

    def _triage(self, tickets: Sequence[Ticket], log: bool) -> list[TriageResult]:
        if not tickets:
            return []
        # Each ticket keeps the model it was assigned here, even if a promotion swaps models meanwhile.
        assignments = [self.models.assign(t.tenant, t.id) for t in tickets]
        t0 = time.perf_counter()
        # An encoder in a process of its own (embeddings.process) encodes while this thread extracts
        # the fields and writes the summaries; any other encodes here, first.
        texts = [model_text(t.title, t.body) for t in tickets]
        submit = getattr(self.encoder, "submit", None)
        pending = submit(texts) if submit is not None else None
        vectors = self.encoder.encode(texts) if pending is None else None
        encode_s = time.perf_counter() - t0
        # Each ticket's language once, for the ledger and the analysis both.
        languages = [_language(t) for t in tickets]
        # Per ticket: analysis, business rules, search. Then handling time for the whole batch
        # (one feature and model call per model version), then the results.
        # Key fields for the whole batch in one call (spaCy reads its English documents together);
        # each ticket's share of that time counts in its own extraction time.
        s0 = time.perf_counter()
        fields_of = self.extractor.extract_many(
            [(t.text, language, t.created_at) for t, language in zip(tickets, languages, strict=True)]
        )
        fields_share = (time.perf_counter() - s0) / len(tickets)
        analysed: list[tuple[Analysis, float]] = []
        for ticket, language, fields in zip(tickets, languages, fields_of, strict=True):
            s0 = time.perf_counter()
            summary = self.summarizer.summarize(ticket.title, ticket.body, language)
            analysed.append((Analysis(language, tuple(fields), summary), time.perf_counter() - s0))
        routing_s, features, searches, search_s = 0.0, None, None, 0.0
        projections: list[np.ndarray | None] | None = None
        if pending is not None:
            # The routing models' vector-free features, the searches' BM25 and the handling-time models'
            # text rows need no vector either: worked out meanwhile too.
            t1 = time.perf_counter()
            features = self._routing_features(texts, assignments)
            routing_s = time.perf_counter() - t1
            searches = self.prepare_similar(tickets)
            search_s = time.perf_counter() - t1 - routing_s
            projections = self._handling_projections(texts, assignments)
            t1 = time.perf_counter()
            vectors = pending.result()
            encode_s += time.perf_counter() - t1
        assert vectors is not None
        t1 = time.perf_counter() - routing_s  # the classify stage counts its features where they were made
        predictions, versions = self._predict(tickets, vectors, assignments, log, languages, features)
        t2 = time.perf_counter()
        share = 1000.0 / len(tickets)
        done: list[tuple[Analysis, dict[str, Prediction], float]] = []
        for ticket, heads, assignment, (analysis, summary_s) in zip(
            tickets, predictions, assignments, analysed, strict=True
        ):
            s0 = time.perf_counter()
            if self.rules is not None:
                # Business rules see the model's predictions and the extracted fields; they may
                # set or boost a head, and say so in the prediction's rules and reason.
                # Only labels the serving model knows (or the rule file declares) may be set.
                heads = self.rules.apply(
                    ticket, analysis.fields, heads, analysis.language, labels=assignment.serving.labels
                )
            done.append((analysis, heads, fields_share + summary_s + time.perf_counter() - s0))
        # Similar cases and articles for the whole batch in one search call per tenant.
        t3 = time.perf_counter()
        found = self.similar_kinds_many(
            tickets, vectors, {"case": self.similar_k, "article": ARTICLES_K}, searches
        )
        similar_ms = round((time.perf_counter() - t3 + search_s) * share, 3)
        now = datetime.now(UTC)
        handling_times = self._handling_times(tickets, [d[1] for d in done], assignments, now, projections)
        results = []
        for ticket, (analysis, heads, extract_s), similar, version, handling in zip(
            tickets, done, found, versions, handling_times, strict=True
        ):
            department = heads["department"]
            priority = heads.get("priority")
            category = heads.get("category")
            completeness = self.completeness.check(
                department.value,
                analysis.fields,
                analysis.language,
                category=category.value if category is not None else None,
                category_abstained=category is not None and category.abstained,
            )
            if handling is not None and ticket.id and self.ledger is not None and log:
                self.ledger.log(
                    [
                        HandlingRecord(
                            ticket.tenant,
                            ticket.id,
                            version,
                            department.value,
                            priority.value if priority else None,
                            _aware(ticket.created_at or now),
                            handling.p50_hours,
                            handling.p90_hours,
                            handling.sla_hours,
                            handling.breach_risk,
                        )
                    ]
                )
            results.append(
                TriageResult(
                    ticket_id=ticket.id,
                    language=analysis.language,
                    fields=analysis.fields,
                    completeness=completeness,
                    summary=analysis.summary,
                    department=department,
                    category=category,
                    priority=priority,
                    handling_time=handling,
                    similar_cases=tuple(similar["case"]),
                    articles=tuple(similar["article"]),
                    model_version=version,
                    timings_ms={
                        "encode": round(encode_s * share, 3),
                        "classify": round((t2 - t1) * share, 3),
                        "extract_summarize": round(extract_s * 1000, 3),
                        "similar": similar_ms,
                    },
                )
            )
        return results

    @staticmethod
    def _handling_times(
        tickets: Sequence[Ticket],
        heads: Sequence[dict[str, Prediction]],
        assignments: Sequence[Assignment],
        now: datetime,
        projections: Sequence[np.ndarray | None] | None = None,
    ) -> list[HandlingTime | None]:
        """Each ticket's handling time by its serving model's handling-time model (None without one),
        one ``predict_many`` call per model. ``projections``: ``_handling_projections``."""
        out: list[HandlingTime | None] = [None] * len(tickets)
        for model, rows in _handling_models(assignments):
            requests = []
            for i in rows:
                priority, category = heads[i].get("priority"), heads[i].get("category")
                requests.append(
                    HandlingRequest(
                        heads[i]["department"].value,
                        priority.value if priority else None,
                        category=category.value if category else None,
                        created_at=tickets[i].created_at or now,
                        text=model_text(tickets[i].title, tickets[i].body),
                        projection=projections[i] if projections is not None else None,
                    )
                )
            for i, estimate in zip(rows, model.predict_many(requests), strict=True):
                out[i] = estimate
        return out


def _handling_models(assignments: Sequence[Assignment]) -> list[tuple[HandlingTimeModel, list[int]]]:
    """Each serving model's handling-time model and the positions of its tickets (models without one
    left out), in the order the models first appear."""
    models = ((assignments[rows[0]].serving.handling_time, rows) for rows in _by_model(assignments).values())
    return [(model, rows) for model, rows in models if model is not None]


def _by_model(assignments: Sequence[Assignment]) -> dict[int, list[int]]:
    """The positions of each serving model's tickets (keyed by the model's identity), in the order the
    models first appear."""
    rows: dict[int, list[int]] = {}
    for i, assignment in enumerate(assignments):
        rows.setdefault(id(assignment.serving), []).append(i)
    return rows


def _by_tenant(tickets: Sequence[Ticket]) -> dict[str, list[int]]:
    """Each tenant's tickets (their positions), in the order the tenants first appear."""
    rows: dict[str, list[int]] = {}
    for i, ticket in enumerate(tickets):
        rows.setdefault(ticket.tenant, []).append(i)
    return rows


def _similar_cases(found: dict[str, list[Hit]]) -> dict[str, list[SimilarCase]]:
    """Search hits as the similar cases (or articles) a result lists."""
    return {
        kind: [
            SimilarCase(
                id=h.document.doc_id,
                title=h.document.display_title,
                # An article has no resolution: its text is the answer.
                resolution=h.document.resolution if kind == "case" else h.document.body,
                score=round(h.score, 4),
                department=h.document.department,
                matched_terms=tuple(getattr(h, "matched_terms", ())),
            )
            for h in hits
        ]
        for kind, hits in found.items()
    }


def _language(ticket: Ticket) -> str:
    """The ticket's language as given, else as detected."""
    return ticket.language or detect_language(ticket.text)


def prediction_records(
    ticket: Ticket, version: str, role: str, heads: dict[str, Prediction], language: str
) -> list[PredictionRecord]:
    """The prediction ledger's rows for one ticket's heads as one model predicted them."""
    return [
        PredictionRecord(
            ticket.tenant, ticket.id, version, role, head, p.value, p.confidence, p.abstained, language
        )
        for head, p in heads.items()
    ]


def _aware(moment: datetime) -> datetime:
    """A ticket time without a zone is taken as UTC (as the API documents)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
