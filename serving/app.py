"""create_app(settings): the FastAPI application with every model loaded before the first request."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from embeddings import get_encoder
from eval.drift import drift_report
from knowledge import Document, DocumentStore, KnowledgeBase
from knowledge.ledger import Feedback, Ledger
from serving.schemas import (
    BatchIn,
    BatchOut,
    CandidateIn,
    CaseList,
    CaseOut,
    CasesIn,
    ClassifyOut,
    ExtractOut,
    FeedbackIn,
    FeedbackOut,
    ModelsOut,
    ModelVersionOut,
    PromoteIn,
    SimilarCaseOut,
    SimilarIn,
    SimilarOut,
    SummaryOut,
    TenantIn,
    TicketIn,
    TriageOut,
    prediction_dict,
)
from serving.settings import Settings
from triage.bundle import BundleError
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


def build_service(settings: Settings) -> TriageService:
    """Wire the components named by the settings (constructors only: no I/O yet)."""
    encoder = get_encoder(settings.encoder)
    knowledge = KnowledgeBase(DocumentStore(settings.database_path), encoder, settings.snapshot_dir)
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


def _service(request: Request) -> TriageService:
    service: TriageService = request.app.state.service
    if not service.ready:
        raise HTTPException(status_code=503, detail="models are still loading; retry shortly (see /readyz)")
    return service


ServiceDep = Annotated[TriageService, Depends(_service)]
TenantQuery = Annotated[str, Query(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]


def _validation_body(exc: RequestValidationError) -> dict[str, Any]:
    # The offending input is not echoed back: it may be a 20 kB ticket or personal data.
    return {
        "detail": [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
    }


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

    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Any]) -> Response:
        started = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        endpoint = getattr(route, "path", "unmatched")
        metrics.requests.labels(endpoint, str(response.status_code)).inc()
        metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
        return response

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
        analysis = svc.analyse(ticket.to_ticket())
        return ExtractOut.model_validate(
            {"language": analysis.language, "fields": [vars(f) for f in analysis.fields]}
        )

    @app.post("/v1/summarize", response_model=SummaryOut, tags=["triage"])
    def summarize(ticket: TicketIn, svc: ServiceDep) -> SummaryOut:
        """Headline and 1-3 sentence extractive summary."""
        t = ticket.to_ticket()
        language = t.language or detect_language(t.text)
        summary = svc.summarizer.summarize(t.title, t.body, language)
        return SummaryOut(language=language, headline=summary.headline, summary=summary.summary)

    @app.post("/v1/similar", response_model=SimilarOut, tags=["knowledge"])
    def similar(query: SimilarIn, svc: ServiceDep) -> SimilarOut:
        """Similar solved cases for a ticket text."""
        cases = svc.similar(query.to_ticket(), k=query.k)
        return SimilarOut(
            similar_cases=[
                SimilarCaseOut.model_validate(vars(c) | {"matched_terms": list(c.matched_terms)})
                for c in cases
            ]
        )

    def case_out(doc: Document) -> CaseOut:
        return CaseOut(
            id=doc.doc_id,
            title=doc.title,
            body=doc.body,
            resolution=doc.resolution,
            department=doc.department,
            category=doc.category,
            priority=doc.priority,
            status=doc.status,
            language=doc.language,
            created_at=doc.created_at,
            resolved_at=doc.resolved_at,
        )

    @app.post("/v1/cases", response_model=CaseList, status_code=201, tags=["knowledge"])
    def add_cases(body: CasesIn, svc: ServiceDep) -> CaseList:
        """Store and index solved cases (insert or replace by id). Durable when this returns."""
        docs = [
            Document(
                doc_id=c.id,
                kind="case",
                tenant=c.tenant,
                title=c.title.strip(),
                body=c.body.strip(),
                resolution=c.resolution.strip(),
                department=c.department,
                category=c.category,
                priority=c.priority,
                language=detect_language(f"{c.title}\n{c.body}"),
                status=c.status,
                created_at=c.created_at.isoformat() if c.created_at else None,
                resolved_at=c.resolved_at.isoformat() if c.resolved_at else None,
                metadata=c.metadata,
            )
            for c in body.cases
        ]
        svc.add_documents(docs)
        return CaseList(cases=[case_out(d) for d in docs], total=len(docs))

    @app.get("/v1/cases", response_model=CaseList, tags=["knowledge"])
    def list_cases(
        svc: ServiceDep,
        tenant: Annotated[str, Query(max_length=100)] = "default",
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> CaseList:
        """Stored cases, oldest first."""
        docs = svc.knowledge.store.page(tenant, "case", limit=limit, offset=offset)
        return CaseList(cases=[case_out(d) for d in docs], total=svc.knowledge.store.count(tenant, "case"))

    @app.get("/v1/cases/{case_id}", response_model=CaseOut, tags=["knowledge"], responses={404: {}})
    def get_case(case_id: str, svc: ServiceDep, tenant: str = "default") -> CaseOut:
        doc = svc.knowledge.store.get(tenant, "case", case_id)
        if doc is None:
            raise HTTPException(status_code=404, detail=f"case {case_id!r} not found for tenant {tenant!r}")
        return case_out(doc)

    @app.delete("/v1/cases/{case_id}", status_code=204, tags=["knowledge"], responses={404: {}})
    def delete_case(case_id: str, svc: ServiceDep, tenant: str = "default") -> Response:
        """Delete a case from the database, the index and the index snapshot on disk."""
        if not svc.knowledge.delete(tenant, "case", [case_id]):
            raise HTTPException(status_code=404, detail=f"case {case_id!r} not found for tenant {tenant!r}")
        return Response(status_code=204)

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

    @app.get("/v1/drift", tags=["models"])
    def drift(
        svc: ServiceDep, tenant: TenantQuery = "default", head: str = "department", since: str | None = None
    ) -> dict[str, Any]:
        """Population stability index of live predictions against the training data."""
        if svc.ledger is None:
            raise HTTPException(status_code=409, detail="no prediction log configured")
        svc.ledger.flush()
        live = [p for p in svc.ledger.predictions(tenant, head, since) if p["role"] != "shadow"]
        return drift_report(svc.models.assign(tenant, None).serving, live, head)

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
