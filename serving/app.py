"""create_app(settings): the FastAPI application with every model loaded before the first request.

Only wiring lives here: the routes are in ``serving/routers/<area>.py``, the shared dependencies in
``serving/deps.py`` and the error responses in ``serving/errors.py``.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from embeddings import Encoder, get_encoder
from embeddings.process import EncoderProcess
from knowledge import DocumentStore, HybridConfig, KnowledgeBase
from knowledge.audit import AuditLog
from knowledge.ledger import Ledger
from knowledge.memory import release_free_memory
from serving.auth import CONSOLE_PREFIX, ConsoleSessions
from serving.batching import BatchSettings, MicroBatcher
from serving.connectors.api import ConnectorMetrics
from serving.connectors.store import ConnectorStore, load_key
from serving.connectors.worker import DeliveryWorker, RetryPolicy
from serving.errors import Problem, install_error_handlers, unexpected
from serving.keys import SCOPES, KeyStore
from serving.limits import (
    LIMIT_RESPONSES,
    Admission,
    LimitSettings,
    LimitsMiddleware,
    RateLimit,
    ShedGate,
    WorkerLoads,
)
from serving.metrics import EncoderProcessCollector, MeasureMiddleware, Metrics
from serving.request_context import RequestContextMiddleware
from serving.routers import audit as audit_routes
from serving.routers import connectors as connector_routes
from serving.routers import docs, feedback, keys, knowledge, models, ops, stats, triage
from serving.routers.ops import STATIC
from serving.settings import Settings
from serving.workers import RunDir
from triage.models import ModelProvider
from triage.pipeline import TriageService
from triage.registry import ModelRegistry
from triage.rules import RuleEngine

logger = logging.getLogger(__name__)

__all__ = ["Metrics", "build_connectors", "build_knowledge", "build_service", "create_app"]


def build_knowledge(settings: Settings, encoder: Encoder) -> KnowledgeBase:
    """The knowledge base the settings describe: main encoder, further search encoders, channel weights."""
    defaults = HybridConfig()
    weights: dict[str, dict[str, float]] = {language: dict(t) for language, t in defaults.weights.items()}
    for language, table in settings.search_weights.items():
        weights.setdefault(language, {}).update(table)
    return KnowledgeBase(
        DocumentStore(settings.database_target),
        encoder,
        settings.snapshot_dir,
        extra_encoders=[get_encoder(spec) for spec in settings.search_encoders],
        config=replace(
            defaults,
            weights=weights,
            candidates=settings.search_candidates,
            floors={str(language): floor for language, floor in settings.search_floors.items()},
        ),
    )


def build_service(settings: Settings) -> TriageService:
    """Wire the components named by the settings (constructors only: no I/O yet)."""
    # 'auto' is off here: `triage serve` resolves it (Settings.served) for the process it serves in.
    encoder = (
        EncoderProcess(settings.encoder)
        if settings.encoder_process is True
        else get_encoder(settings.encoder)
    )
    knowledge_base = build_knowledge(settings, encoder)
    model_provider = ModelProvider(
        None if settings.model_dir else ModelRegistry(settings.models_dir, settings.database_target),
        encoder.name,
        settings.model_dir,
    )
    rules = None
    if settings.rules_enabled:
        rules = RuleEngine.from_yaml(settings.rules_file) if settings.rules_file else RuleEngine.default()
    return TriageService(
        model_provider,
        knowledge_base,
        encoder,
        similar_k=settings.similar_k,
        ledger=Ledger(settings.database_target),
        rules=rules,
        redact_pii=settings.redact_pii,
    )


_DESCRIPTION = (
    "Every `/v1` route needs an API key, sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`. "
    "A key belongs to one tenant (requests act on that tenant's data; naming another tenant is a 403) "
    "and holds scopes; a route needs one scope:\n\n"
    + "\n".join(f"- `{scope}`: {what}" for scope, what in SCOPES.items())
    + "\n\nErrors are RFC 9457 `application/problem+json` (`type`, `title`, `status`, `detail`, "
    "`instance`, `request_id`, and `errors` [{loc, msg}] for invalid requests). Every response carries "
    "`X-Request-ID`."
)


def _add_problem_schema(app: FastAPI) -> None:
    """The Problem schema that every documented error response refers to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(problem.pop("$defs", {}))
            components["Problem"] = problem
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def build_connectors(settings: Settings, service: TriageService) -> tuple[ConnectorStore, DeliveryWorker]:
    """The connector store (same database) and the delivery worker (started in the lifespan)."""
    key = settings.connector_key.get_secret_value() if settings.connector_key else None
    store = ConnectorStore(settings.database_target, lambda: load_key(key, settings.data_dir))
    policy = RetryPolicy(
        max_attempts=settings.connector_max_attempts,
        base_delay=settings.connector_backoff_seconds,
        timeout=settings.connector_timeout_seconds,
    )
    # One SQLite server process works the queue alone; with several worker processes (or replicas on
    # PostgreSQL) a running delivery may be another process's, taken back only when its lease runs out.
    sole = settings.database_is_sqlite and settings.worker_count == 1
    return store, DeliveryWorker(store, service, policy, lease=settings.connector_lease_seconds, sole=sole)


_IDENTITY_SECONDS = 5.0
_IDENTITIES_KEPT = 10_000


def _key_identifier(keys: KeyStore, console: ConsoleSessions) -> Callable[[str], str | None]:
    """The id of the valid key (or console session) a token is, for the rate limits; None otherwise.

    A token that is not a valid key counts against the client address, so a made-up key naming
    someone else's id cannot drain that key's bucket.
    """

    # The limiter runs on the event loop: a token's answer is kept for a few seconds, so a burst of
    # requests (or of 503s under overload) costs one database lookup per key, not one each. Routes
    # still authenticate every request themselves; a revoked key only keeps its bucket a moment.
    seen: dict[bytes, tuple[str | None, float]] = {}

    def look_up(token: str) -> str | None:
        if token.startswith(f"{CONSOLE_PREFIX}_"):
            caller = console.verify(token)
            return caller.key_id if caller else None
        key = keys.verify(token)
        return key.id if key else None

    def identify(token: str) -> str | None:
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        now = time.monotonic()
        kept = seen.get(digest)
        if kept is not None and now - kept[1] < _IDENTITY_SECONDS:
            return kept[0]
        key_id = look_up(token)
        if len(seen) >= _IDENTITIES_KEPT:
            seen.clear()
        seen[digest] = (key_id, now)
        return key_id

    return identify


def create_app(
    settings: Settings,
    service: TriageService | None = None,
    *,
    freeze_gc: bool = False,
    run: RunDir | None = None,
) -> FastAPI:
    """The application; ``service`` may be passed in already built (tests, embedding).

    ``freeze_gc`` (the server process: ``triage serve``): once everything is loaded, move it out
    of the garbage collector's reach (``gc.freeze``), so no full collection walks it while serving,
    and turn the collector on (``triage serve`` imports and loads with it off).
    ``run``: this process is one of several workers of one server start (``triage serve --workers``),
    sharing metrics, token buckets and console sessions through that folder (``serving.workers``).
    """
    service = service or build_service(settings)
    metrics = Metrics(run.metrics if run is not None else None)
    audit = AuditLog(settings.database_target)
    # Keys read lately answer from memory, as fresh as other replicas' cases (revoked here: at once).
    key_store = KeyStore(settings.database_target, cache_for=settings.catch_up_interval)
    connectors, worker = build_connectors(settings, service)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sync handlers run in anyio's thread pool (40 threads by default): sized to the work the
        # cores can do at once, so that 32 concurrent requests queue rather than all share 2 cores.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.thread_pool_size
        audit.open()
        key_store.open()
        service.load()
        app.state.batcher.start()
        if settings.catch_up_interval > 0:
            service.knowledge.follow(settings.catch_up_interval)  # other replicas' writes
        worker.start()  # after the models: deliveries left pending by a stop are worked first
        if freeze_gc:
            # The models, dictionaries and indexes just loaded are ~400k objects that live as long
            # as the process: a full garbage collection walked them all (~260 ms holding the GIL:
            # every request, refusal and /healthz waited). Frozen, the collector leaves them out.
            gc.collect()
            gc.freeze()
            gc.enable()  # ``triage serve`` loads with the collector off (serving.cli._serve)
            release_free_memory()  # what loading freed goes back to the OS, not kept as heap
        metrics.started()
        yield
        metrics.stopped()
        app.state.batcher.close()
        if freeze_gc:
            gc.unfreeze()
        worker.stop()
        service.knowledge.stop_following()
        connectors.close()
        service.close()
        audit.close()
        key_store.close()

    app = FastAPI(
        title="Ticket triage",
        version="1",
        summary="Routes, summarises and enriches service-desk tickets in Chinese and English.",
        description=_DESCRIPTION,
        lifespan=lifespan,
        responses=LIMIT_RESPONSES,
        docs_url=None,  # served from the package's own assets (serving/routers/docs.py)
        redoc_url=None,
    )
    app.state.service = service
    app.state.batcher = MicroBatcher(
        triage.triage_json(service, metrics),
        BatchSettings(
            max_batch=settings.micro_batch_max,
            workers=settings.batch_workers,
            window=settings.micro_batch_window_ms / 1000,
        ),
        on_batch=metrics.micro_batches.observe,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    if isinstance(service.encoder, EncoderProcess):
        encoder_process = service.encoder
        metrics.register(EncoderProcessCollector(lambda: encoder_process.starts))
    app.state.audit = audit
    app.state.keys = key_store
    app.state.console = console = ConsoleSessions(secret=run.console_secret() if run is not None else None)
    app.state.run = run
    app.state.connectors = connectors
    app.state.delivery_worker = worker
    app.state.connector_metrics = connector_metrics = ConnectorMetrics(
        metrics.registry, connectors, expose=metrics.register
    )
    worker.on_result = lambda name, state: connector_metrics.attempts.labels(name, state).inc()

    install_error_handlers(app)
    _add_problem_schema(app)

    # Middleware, innermost first: each add_middleware wraps the ones added before it.
    app.add_middleware(MeasureMiddleware, metrics=metrics)
    # Request limits (rate, work in flight, body size): outside the measuring, so refusals are
    # counted too, and inside the request context, so they carry X-Request-ID and problem+json.
    limits = LimitSettings(
        max_in_flight=settings.in_flight_bound,
        max_queued=settings.queue_bound,
        max_queue_wait=settings.max_queue_wait_ms / 1000,
        queue_wait_hold_share=settings.queue_wait_hold_share,
        retry_after=settings.retry_after,
        max_body_bytes=settings.max_body_bytes,
        max_bulk_body_bytes=settings.max_bulk_body_bytes,
        trusted_hosts=tuple(settings.hosts),
        rate_limits={k: RateLimit(v.per_second, v.burst) for k, v in settings.rate_limits.items()},
        buckets_file=run.buckets if run is not None else None,
        close_on_shed=settings.overload_closes,
        loads_file=run.loads if run is not None else None,
    )
    admission = Admission.of(limits)
    loads = WorkerLoads(run.loads, limits.max_in_flight) if run is not None else None
    app.add_middleware(
        LimitsMiddleware,
        settings=limits,
        on_refuse=lambda reason: metrics.refused.labels(reason).inc(),
        identify=_key_identifier(key_store, console),
        admission=admission,
        loads=loads,
    )
    app.add_middleware(RequestContextMiddleware, on_error=unexpected)
    # Outermost: a request arriving at a full service is refused before anything else runs.
    app.add_middleware(
        ShedGate,
        admission=admission,
        settings=limits,
        on_shed=metrics.refused.labels("overload").inc,
        loads=loads,
    )

    for area in (ops, triage, knowledge, models, feedback, keys, audit_routes, stats):
        app.include_router(area.router)
    app.include_router(connector_routes.router)
    app.include_router(connector_routes.admin)
    docs.install(app)
    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
