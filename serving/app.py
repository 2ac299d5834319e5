"""create_app(settings): the FastAPI application with every model loaded before the first request."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as UrlPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from embeddings import Encoder, get_encoder
from knowledge import Document, DocumentStore, HybridConfig, KnowledgeBase, detect_spikes, find_duplicates
from knowledge.drift import drift_report
from knowledge.duplicates import TooManyCases, duplicate_threshold
from knowledge.ledger import Feedback, Ledger
from serving.schemas import (
    TENANT_PATTERN,
    ArticleList,
    ArticleOut,
    ArticleQuery,
    ArticleReplaceIn,
    ArticlesIn,
    BatchIn,
    BatchOut,
    CandidateIn,
    CaseList,
    CaseOut,
    CaseQuery,
    CaseReplaceIn,
    CasesIn,
    ClassifyOut,
    DeleteIn,
    DeleteOut,
    DocumentIn,
    DocumentList,
    DocumentOut,
    DocumentQuery,
    DocumentsIn,
    DriftOut,
    DuplicatesIn,
    DuplicatesOut,
    ExtractOut,
    FeedbackIn,
    FeedbackOut,
    ModelsOut,
    ModelVersionOut,
    PromoteIn,
    SimilarCaseOut,
    SimilarIn,
    SimilarOut,
    SpikesOut,
    SpikesQuery,
    SummaryOut,
    TenantIn,
    TicketIn,
    Timestamp,
    TriageOut,
    prediction_dict,
)
from serving.settings import Settings
from triage.bundle import BundleError, drift_baseline, drift_source
from triage.language import detect_language
from triage.models import ModelProvider
from triage.pipeline import TriageService
from triage.registry import GateRefused, ModelRegistry, RegistryError
from triage.rules import RuleEngine

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"


class Metrics:
    """Prometheus metrics of one app (own registry, so several apps can live in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "triage_requests_total", "HTTP requests", ["endpoint", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "triage_request_seconds",
            "Request latency",
            ["endpoint"],
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.tickets = Counter(
            "triage_tickets_total", "Tickets triaged", ["department"], registry=self.registry
        )
        self.abstained = Counter(
            "triage_abstained_total", "Predictions that abstained", ["head"], registry=self.registry
        )


def build_knowledge(settings: Settings, encoder: Encoder) -> KnowledgeBase:
    """The knowledge base the settings describe: main encoder, further search encoders, channel weights."""
    defaults = HybridConfig()
    weights: dict[str, dict[str, float]] = {language: dict(t) for language, t in defaults.weights.items()}
    for language, table in settings.search_weights.items():
        weights.setdefault(language, {}).update(table)
    return KnowledgeBase(
        DocumentStore(settings.database_path),
        encoder,
        settings.snapshot_dir,
        extra_encoders=[get_encoder(spec) for spec in settings.search_encoders],
        config=replace(defaults, weights=weights, candidates=settings.search_candidates),
    )


def build_service(settings: Settings) -> TriageService:
    """Wire the components named by the settings (constructors only: no I/O yet)."""
    encoder = get_encoder(settings.encoder)
    knowledge = build_knowledge(settings, encoder)
    models = ModelProvider(
        None if settings.model_dir else ModelRegistry(settings.models_dir), encoder.name, settings.model_dir
    )
    rules = None
    if settings.rules_enabled:
        rules = RuleEngine.from_yaml(settings.rules_file) if settings.rules_file else RuleEngine.default()
    return TriageService(
        models,
        knowledge,
        encoder,
        similar_k=settings.similar_k,
        ledger=Ledger(settings.database_path),
        rules=rules,
        redact_pii=settings.redact_pii,
    )


class _MeasureMiddleware:
    """Request count and latency per route, as plain ASGI (Starlette's BaseHTTPMiddleware costs ~1 ms a call)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # The router records the matched route in the same scope.
            endpoint = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(endpoint, str(status)).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)


def _service(request: Request) -> TriageService:
    service: TriageService = request.app.state.service
    if not service.ready:
        raise HTTPException(status_code=503, detail="models are still loading; retry shortly (see /readyz)")
    return service


ServiceDep = Annotated[TriageService, Depends(_service)]
TenantQuery = Annotated[str, Query(min_length=1, max_length=100, pattern=TENANT_PATTERN)]


def _validation_body(exc: RequestValidationError) -> dict[str, Any]:
    # The offending input is not echoed back: it may be a 20 kB ticket or personal data.
    return {
        "detail": [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
    }


@dataclass(frozen=True)
class _Collection:
    """One kind of stored document and the request and response models of its routes."""

    kind: Literal["case", "article"]
    plural: str  # in paths and route names
    bulk_in: type[DocumentsIn]
    replace_in: type[DocumentIn]
    query: type[DocumentQuery]
    item_out: type[DocumentOut]
    list_out: type[DocumentList]


CASES = _Collection("case", "cases", CasesIn, CaseReplaceIn, CaseQuery, CaseOut, CaseList)
ARTICLES = _Collection(
    "article", "articles", ArticlesIn, ArticleReplaceIn, ArticleQuery, ArticleOut, ArticleList
)
_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def _typed(handler: _Handler, **annotations: Any) -> _Handler:
    """Give a factory-made handler its collection's models.

    This module's annotations are strings (``from __future__ import annotations``) that FastAPI
    resolves in the module's globals, where the factory's per-collection models are not.
    """
    handler.__annotations__.update(annotations)
    return handler


def _page(store: DocumentStore, kind: str, query: DocumentQuery) -> tuple[list[Document], int]:
    """One page of a tenant's documents of a kind that pass the query's filters (oldest first), and their total."""
    filters = query.filters()
    if filters.empty:
        docs = store.page(query.tenant, kind, limit=query.limit, offset=query.offset)
        return docs, store.count(query.tenant, kind)
    rows = sorted(store.filter_rows(query.tenant, kind, filters).tolist())
    chosen = rows[query.offset : query.offset + query.limit]
    found = store.get_rows(chosen)
    return [found[r] for r in chosen if r in found], len(rows)


def _add_document_routes(app: FastAPI, c: _Collection) -> None:
    """Bulk add, list, get, replace, delete and bulk delete for one kind of document."""
    one, many = c.kind, c.plural
    path = f"/v1/{many}"
    item = f"{path}/{{{one}_id}}"
    doc_id_param = Annotated[str, UrlPath(alias=f"{one}_id", description=f"The {one}'s id.")]
    not_found = {404: {"description": f"no such {one} for the tenant"}}

    def missing(doc_id: str, tenant: str) -> HTTPException:
        return HTTPException(status_code=404, detail=f"{one} {doc_id!r} not found for tenant {tenant!r}")

    def stored(svc: TriageService, row_ids: list[int]) -> list[Document]:
        # Read back what was written: with redact_pii on, that is not what was sent.
        found = svc.knowledge.store.get_rows(row_ids)
        return [found[r] for r in row_ids if r in found]

    def add(body: DocumentsIn, svc: ServiceDep) -> DocumentList:
        docs = stored(svc, svc.add_documents(body.documents()))
        return c.list_out.of(docs, total=len(docs))

    def list_(query: DocumentQuery, svc: ServiceDep) -> DocumentList:
        docs, total = _page(svc.knowledge.store, c.kind, query)
        return c.list_out.of(docs, total=total)

    def get(doc_id: str, svc: ServiceDep, tenant: TenantQuery = "default") -> DocumentOut:
        doc = svc.knowledge.store.get(tenant, c.kind, doc_id)
        if doc is None:
            raise missing(doc_id, tenant)
        return c.item_out.of(doc)

    def replace(
        doc_id: str, body: DocumentIn, svc: ServiceDep, tenant: TenantQuery = "default"
    ) -> DocumentOut:
        if svc.knowledge.store.get(tenant, c.kind, doc_id) is None:
            raise missing(doc_id, tenant)  # before the embedding work
        # Checked again where it is written: a DELETE that lands while this one embeds wins.
        rows = svc.add_documents([body.to_document(doc_id, tenant)], existing_only=True)
        if not rows:
            raise missing(doc_id, tenant)
        return c.item_out.of(stored(svc, rows)[0])

    def delete(doc_id: str, svc: ServiceDep, tenant: TenantQuery = "default") -> Response:
        if not svc.knowledge.delete(tenant, c.kind, [doc_id]):
            raise missing(doc_id, tenant)
        return Response(status_code=204)

    def delete_many(body: DeleteIn, svc: ServiceDep) -> DeleteOut:
        ids = list(dict.fromkeys(body.ids))
        deleted = set(svc.knowledge.delete(body.tenant, c.kind, ids))
        return DeleteOut(
            deleted=[i for i in ids if i in deleted], not_found=[i for i in ids if i not in deleted]
        )

    routes: list[tuple[str, str, str, Callable[..., Any], dict[str, Any], str]] = [
        (
            "POST",
            path,
            f"add_{many}",
            _typed(add, body=c.bulk_in),
            {"response_model": c.list_out, "status_code": 201},
            f"Store and index {many} (insert, or replace by id). Durable when this returns.",
        ),
        (
            "GET",
            path,
            f"list_{many}",
            _typed(list_, query=Annotated[c.query, Query()]),
            {"response_model": c.list_out},
            f"A page of stored {many}, oldest first, optionally filtered; `total` counts all that match.",
        ),
        (
            "GET",
            item,
            f"get_{one}",
            _typed(get, doc_id=doc_id_param),
            {"response_model": c.item_out, "responses": not_found},
            f"One {one}.",
        ),
        (
            "PUT",
            item,
            f"replace_{one}",
            _typed(replace, doc_id=doc_id_param, body=c.replace_in),
            {"response_model": c.item_out, "responses": not_found},
            f"Replace an existing {one} (every field) and embed and index it again. "
            f"404 for an unknown id: create it with POST {path}.",
        ),
        (
            "DELETE",
            item,
            f"delete_{one}",
            _typed(delete, doc_id=doc_id_param),
            {"status_code": 204, "responses": not_found},
            f"Delete a {one} from the database, every index and the index snapshots on disk.",
        ),
        (
            "POST",
            f"{path}:delete",
            f"delete_{many}",
            delete_many,
            {"response_model": DeleteOut},
            f"Delete several {many} as DELETE {item} does; says which ids were deleted and which not found.",
        ),
    ]
    for method, route_path, name, handler, options, description in routes:
        app.add_api_route(
            route_path,
            handler,
            methods=[method],
            name=name,
            description=description,
            tags=["knowledge"],
            **options,
        )


def create_app(settings: Settings, service: TriageService | None = None) -> FastAPI:
    """The application; ``service`` may be passed in already built (tests, embedding)."""
    service = service or build_service(settings)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.load()
        yield
        service.close()

    app = FastAPI(
        title="Ticket triage",
        version="1",
        summary="Routes, summarises and enriches service-desk tickets in Chinese and English.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.settings = settings

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content=_validation_body(exc))

    @app.exception_handler(BundleError)
    async def _bundle(request: Request, exc: BundleError) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    @app.exception_handler(GateRefused)
    async def _gate(request: Request, exc: GateRefused) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc), "gate": exc.report})

    @app.exception_handler(RegistryError)
    async def _registry(request: Request, exc: RegistryError) -> JSONResponse:
        return JSONResponse(
            status_code=404 if "no model version" in str(exc) else 409, content={"detail": str(exc)}
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s", request.url.path)
        return JSONResponse(status_code=500, content={"detail": "internal error; it has been logged"})

    app.add_middleware(_MeasureMiddleware, metrics=metrics)

    def count(result: TriageOut) -> None:
        metrics.tickets.labels(result.department.value).inc()
        for head in ("department", "category", "priority"):
            prediction = getattr(result, head)
            if prediction is not None and prediction.abstained:
                metrics.abstained.labels(head).inc()

    @app.get("/", include_in_schema=False)
    def console() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], responses={503: {"description": "models still loading"}})
    def readyz() -> JSONResponse:
        """Models are loaded and requests will be served."""
        if not service.ready:
            return JSONResponse(status_code=503, content={"status": "loading"})
        return JSONResponse(
            {
                "status": "ready",
                "model_version": service.bundle.version,
                "encoder": service.encoder.name,
                "heads": sorted(service.bundle.router.heads),
                "cases": service.knowledge.store.count(kind="case"),
            }
        )

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/triage", response_model=TriageOut, tags=["triage"])
    def triage_ticket(ticket: TicketIn, svc: ServiceDep) -> TriageOut:
        """Route, summarise and enrich one ticket."""
        result = TriageOut.of(svc.triage(ticket.to_ticket()))
        count(result)
        return result

    @app.post("/v1/triage:batch", response_model=BatchOut, tags=["triage"])
    def triage_batch(batch: BatchIn, svc: ServiceDep) -> BatchOut:
        """Triage up to 256 tickets in one call (one encoder pass for all)."""
        results = [TriageOut.of(r) for r in svc.triage_many([t.to_ticket() for t in batch.tickets])]
        for result in results:
            count(result)
        return BatchOut(results=results)

    @app.post("/v1/classify", response_model=ClassifyOut, tags=["triage"])
    def classify(ticket: TicketIn, svc: ServiceDep) -> ClassifyOut:
        """Department, category and priority only."""
        heads = svc.classify([ticket.to_ticket()])[0]
        return ClassifyOut.model_validate(
            {name: prediction_dict(heads.get(name)) for name in ("department", "category", "priority")}
            | {"model_version": svc.bundle.version}
        )

    @app.post("/v1/extract", response_model=ExtractOut, tags=["triage"])
    def extract(ticket: TicketIn, svc: ServiceDep) -> ExtractOut:
        """Key fields with types, normalised values and character spans."""
        language, fields = svc.extract_fields(ticket.to_ticket())
        return ExtractOut.model_validate({"language": language, "fields": [vars(f) for f in fields]})

    @app.post("/v1/summarize", response_model=SummaryOut, tags=["triage"])
    def summarize(ticket: TicketIn, svc: ServiceDep) -> SummaryOut:
        """Headline and 1-3 sentence extractive summary."""
        t = ticket.to_ticket()
        language = t.language or detect_language(t.text)
        summary = svc.summarizer.summarize(t.title, t.body, language)
        return SummaryOut(language=language, headline=summary.headline, summary=summary.summary)

    @app.post("/v1/similar", response_model=SimilarOut, tags=["knowledge"])
    def similar(query: SimilarIn, svc: ServiceDep) -> SimilarOut:
        """Similar solved cases (or, with kind "article", knowledge-base articles) for a ticket text."""
        cases = svc.similar(query.to_ticket(), k=query.k, kind=query.kind)
        return SimilarOut(
            similar_cases=[
                SimilarCaseOut.model_validate(vars(c) | {"matched_terms": list(c.matched_terms)})
                for c in cases
            ]
        )

    for collection in (CASES, ARTICLES):
        _add_document_routes(app, collection)

    @app.post("/v1/duplicates", response_model=DuplicatesOut, tags=["knowledge"])
    def duplicates(query: DuplicatesIn, svc: ServiceDep) -> DuplicatesOut:
        """Open cases the ticket likely repeats: hybrid score at or above the threshold fitted for its language."""
        ticket = query.to_ticket()
        fitted = duplicate_threshold(ticket.text)
        hits = find_duplicates(
            svc.knowledge,
            svc.encode([ticket])[0],
            ticket.tenant,
            text=ticket.text,
            title=ticket.title or None,
            k=query.k,
            threshold=query.threshold,  # None: find_duplicates uses the fitted one
            exclude_ids=[ticket.id] if ticket.id else [],
        )
        return DuplicatesOut.of(hits, fitted, query.threshold)

    @app.get("/v1/spikes", response_model=SpikesOut, tags=["knowledge"])
    def spikes(query: Annotated[SpikesQuery, Query()], svc: ServiceDep) -> SpikesOut:
        """Recurring-issue spikes: groups of similar cases created in the window ending at `now`, well above their usual rate."""
        end = query.now or datetime.now(UTC)
        end = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
        window = timedelta(hours=query.window_hours)
        try:
            found = detect_spikes(
                svc.knowledge,
                query.tenant,
                now=end,
                window=window,
                history=query.history,
                min_size=query.min_size,
                min_ratio=query.min_ratio,
                similarity=query.similarity,
            )
        except TooManyCases as exc:
            raise RequestValidationError(
                [{"loc": ("query", "window_hours"), "msg": str(exc), "type": "value_error"}]
            ) from exc
        return SpikesOut.of(found, query, end - window, end)

    def registry(svc: TriageService) -> ModelRegistry:
        if svc.models.registry is None:
            raise HTTPException(
                status_code=409, detail="this service serves a fixed bundle (model_dir): no registry"
            )
        return svc.models.registry

    @app.get("/v1/models", response_model=ModelsOut, tags=["models"])
    def list_models(svc: ServiceDep, tenant: TenantQuery = "default") -> ModelsOut:
        """Versions of a tenant's model, which is active, the candidate and the history."""
        reg = registry(svc)
        state = reg.state(tenant)
        return ModelsOut(
            tenant=tenant,
            active=state.active,
            candidate=state.candidate,
            candidate_mode=state.candidate_mode,
            canary_share=state.canary_share,
            versions=[ModelVersionOut.of(m) for m in reg.versions(tenant)],
            history=list(state.history),
        )

    @app.get("/v1/models/{version}", tags=["models"], responses={404: {}})
    def show_model(version: str, svc: ServiceDep, tenant: TenantQuery = "default") -> dict[str, Any]:
        """A version's manifest: data fingerprint, parameters, metrics, thresholds, parent."""
        return registry(svc).manifest(tenant, version)

    @app.post("/v1/models/{version}/promote", response_model=ModelsOut, tags=["models"], responses={409: {}})
    def promote_model(version: str, body: PromoteIn, svc: ServiceDep) -> ModelsOut:
        """Make a version active after the quality gate (force overrides it and is recorded). Atomic."""
        svc.models.check(body.tenant, version)  # loads before the switch: a bad bundle never goes live
        registry(svc).promote(
            body.tenant, version, force=body.force, margins=body.margins, by=body.by or "api"
        )
        svc.models.refresh(body.tenant)
        return list_models(svc, body.tenant)

    @app.post("/v1/models/rollback", response_model=ModelsOut, tags=["models"], responses={409: {}})
    def rollback_model(body: TenantIn, svc: ServiceDep) -> ModelsOut:
        """Re-activate the version that was active before the current one. Atomic."""
        registry(svc).rollback(body.tenant, by=body.by or "api")
        svc.models.refresh(body.tenant)
        return list_models(svc, body.tenant)

    @app.post("/v1/models/{version}/candidate", response_model=ModelsOut, tags=["models"])
    def candidate_model(version: str, body: CandidateIn, svc: ServiceDep) -> ModelsOut:
        """Run a version in shadow (logged, never returned) or as a canary (a sticky share of tickets)."""
        svc.models.check(body.tenant, version)
        registry(svc).set_candidate(body.tenant, version, mode=body.mode, share=body.share)
        svc.models.refresh(body.tenant)
        return list_models(svc, body.tenant)

    @app.delete("/v1/models/candidate", response_model=ModelsOut, tags=["models"])
    def clear_candidate(svc: ServiceDep, tenant: TenantQuery = "default") -> ModelsOut:
        """Stop the shadow or canary."""
        registry(svc).set_candidate(tenant, None)
        svc.models.refresh(tenant)
        return list_models(svc, tenant)

    @app.get("/v1/models:compare", tags=["models"])
    def compare_models(
        svc: ServiceDep, tenant: TenantQuery = "default", head: str = "department"
    ) -> dict[str, Any]:
        """Active vs candidate on the same tickets: agreement, and accuracy where agents gave feedback."""
        if svc.ledger is None:
            raise HTTPException(status_code=409, detail="no prediction log configured")
        svc.ledger.flush()
        return svc.ledger.comparison(tenant, head)

    @app.get("/v1/drift", response_model=DriftOut, tags=["models"])
    def drift(
        svc: ServiceDep,
        tenant: TenantQuery = "default",
        head: Literal["department", "category", "priority"] = "department",
        since: Annotated[Timestamp | None, Query(description="From this time (inclusive), ISO 8601.")] = None,
        until: Annotated[
            Timestamp | None, Query(description="Up to this time (exclusive), ISO 8601.")
        ] = None,
        window: Annotated[
            Literal["day", "hour"], Query(description="Width of the per-window figures.")
        ] = "day",
    ) -> DriftOut:
        """Population stability index of live predicted labels and confidences against the training data.

        Every PSI has a bootstrap interval; a band is the band of the interval's lower end, and
        below `min_sample` predictions no band is given ("too few predictions").
        """
        if svc.ledger is None:
            raise HTTPException(status_code=409, detail="no prediction log configured")
        svc.ledger.flush()
        bundle = svc.models.assign(tenant, None).serving
        reference, note = drift_baseline(bundle, head)
        profile, windows, other = svc.ledger.drift_profile(tenant, head, bundle.version, since, until, window)
        return DriftOut(
            **drift_report(
                reference,
                profile,
                windows,
                model_version=bundle.version,
                head=head,
                window=window,
                reference_source=drift_source(bundle),
                reference_note=note,
                n_other_versions=other,
            )
        )

    @app.post("/v1/feedback", response_model=FeedbackOut, status_code=201, tags=["feedback"])
    def feedback(body: FeedbackIn, svc: ServiceDep) -> FeedbackOut:
        """An agent accepted or corrected a prediction, or judged a suggested case. Durable when this returns."""
        if svc.ledger is None:
            raise HTTPException(status_code=409, detail="no feedback store configured")
        item = Feedback(
            tenant=body.tenant,
            ticket_id=body.ticket_id,
            kind="case" if body.case_id else "label",
            head=body.head,
            predicted=body.predicted,
            correct=body.correct,
            accepted=body.accepted,
            case_id=body.case_id,
            helpful=body.helpful,
            text=body.text,
            agent=body.agent,
        )
        return FeedbackOut(id=svc.ledger.add_feedback(item))

    return app
