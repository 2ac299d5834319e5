"""Ticket-system connectors over HTTP: vendor webhooks in, connector configuration, the delivery queue."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from serving.connectors import get_connector
from serving.connectors.api import (
    NAME_PATTERN,
    REQUIRED_CREDENTIALS,
    ConnectorCheck,
    ConnectorIn,
    ConnectorList,
    ConnectorMetrics,
    ConnectorOut,
    DeliveryList,
    DeliveryOut,
    WebhookAccepted,
    check_connector,
    problem,
)
from serving.connectors.base import ConnectorConfig, PayloadError, SignatureError
from serving.connectors.store import ConnectorError, ConnectorStore
from serving.connectors.worker import DeliveryWorker
from serving.deps import AuditDep, ConnectorsAdmin, TenantDep, bind_tenant
from serving.errors import V1_PROBLEMS, ProblemError
from serving.schemas import MAX_OFFSET
from triage.pipeline import TriageService

logger = logging.getLogger(__name__)

# SQLite's largest INTEGER: a larger id cannot name a row (and would not fit the query).
MAX_ROW_ID = 2**63 - 1

router = APIRouter(tags=["connectors"])
# Every route but the webhook needs a key with connectors:admin; the webhook is authenticated by the
# ticket system's signature over the raw body instead (it cannot send our API keys).
admin = APIRouter(tags=["connectors"], responses=V1_PROBLEMS)


def _store(request: Request) -> ConnectorStore:
    store: ConnectorStore = request.app.state.connectors
    return store


StoreDep = Annotated[ConnectorStore, Depends(_store)]


def _missing(name: str, tenant: str) -> ProblemError:
    return problem(
        404,
        "Connector not found",
        f"no connector {name!r} for tenant {tenant!r}; see GET /v1/connectors",
        type_="connector-not-found",
    )


@router.post(
    "/v1/webhooks/{connector}",
    status_code=202,
    response_model=WebhookAccepted,
    tags=["connectors"],
    responses={
        200: {"model": WebhookAccepted, "description": "a duplicate or an event we do not act on"},
        401: {"description": "signature missing, wrong or stale (problem+json)"},
        404: {"description": "no such connector"},
        422: {"description": "signed, but not a payload this system sends"},
    },
)
async def webhook(connector: str, request: Request) -> Response:
    """Receive a ticket system's webhook in its own format; queued durably, answered at once."""
    store: ConnectorStore = request.app.state.connectors
    metrics: ConnectorMetrics = request.app.state.connector_metrics
    body = await request.body()
    config = await run_in_threadpool(store.get, connector)
    if config is None or not config.enabled:
        metrics.webhooks.labels("unknown", "not_found").inc()
        raise problem(
            404,
            "Connector not found",
            f"no enabled connector {connector!r}; add it first",
            type_="connector-not-found",
        )
    system = get_connector(config.system)
    headers = dict(request.headers)
    try:
        system.verify(config.signing_secret, headers, body, datetime.now(UTC))
    except SignatureError as exc:
        metrics.webhooks.labels(config.name, "unauthorized").inc()
        logger.warning("webhook for %s refused: %s", config.name, exc)
        raise problem(401, "Webhook signature refused", str(exc), type_="webhook-signature") from exc
    try:
        inbound = system.parse(headers, body)
    except PayloadError as exc:
        metrics.webhooks.labels(config.name, "invalid").inc()
        raise problem(
            422, "Unusable webhook payload", str(exc), type_="webhook-payload", system=config.system
        ) from exc
    if inbound.kind == "ignored":
        metrics.webhooks.labels(config.name, "ignored").inc()
        return JSONResponse(status_code=200, content={"delivery_id": None, "status": "ignored"})
    kept = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")}
    service: TriageService = request.app.state.service
    if service.redact_pii:  # the queue keeps no personal data either (checked: the signature was)
        body = await run_in_threadpool(service.redactor.json_bytes, body)
    delivery_id, new = await run_in_threadpool(
        store.enqueue, config, inbound.ticket_id, inbound.event_id, inbound.kind, kept, body
    )
    if not new:
        metrics.webhooks.labels(config.name, "duplicate").inc()
        return JSONResponse(status_code=200, content={"delivery_id": delivery_id, "status": "duplicate"})
    metrics.webhooks.labels(config.name, "queued").inc()
    worker: DeliveryWorker = request.app.state.delivery_worker
    worker.wake()
    return JSONResponse(status_code=202, content={"delivery_id": delivery_id, "status": "queued"})


def _connector_summary(config: ConnectorConfig) -> dict[str, Any]:
    """What the audit trail keeps of a connector: never its credentials or signing secret."""
    host = urlsplit(config.base_url).hostname  # not the URL: it could carry user:password@
    return {"exists": True, "system": config.system, "host": host, "enabled": config.enabled}


@admin.post(
    "/v1/connectors",
    status_code=201,
    response_model=ConnectorOut,
    tags=["connectors"],
    responses={409: {}},
)
def add_connector(
    body: ConnectorIn, caller: ConnectorsAdmin, store: StoreDep, audit: AuditDep
) -> ConnectorOut:
    """Add a connector for a tenant (credentials and signing secret are encrypted at rest)."""
    body = bind_tenant(body, caller)
    missing = [c for c in REQUIRED_CREDENTIALS[body.system] if not body.credentials.get(c)]
    if missing:
        raise problem(
            422,
            "Missing credentials",
            f"{body.system} needs credentials {', '.join(missing)}",
            type_="missing-credentials",
            errors=[{"loc": ["body", "credentials", m], "msg": "required"} for m in missing],
        )
    try:
        store.put(body.to_config())
    except ConnectorError as exc:
        raise problem(409, "Connector exists", str(exc), type_="connector-exists") from exc
    config = store.get(body.name)
    assert config is not None
    audit.record(
        config.tenant, "connector.create", f"connector:{config.name}", after=_connector_summary(config)
    )
    return ConnectorOut.of(config)


@admin.get("/v1/connectors", response_model=ConnectorList, tags=["connectors"])
def list_connectors(caller: ConnectorsAdmin, tenant: TenantDep, store: StoreDep) -> ConnectorList:
    """A tenant's connectors (never their credentials or secrets)."""
    return ConnectorList(connectors=[ConnectorOut.of(c) for c in store.all(tenant)])


@admin.get("/v1/connectors/{name}", response_model=ConnectorOut, tags=["connectors"], responses={404: {}})
def get_connector_route(
    name: str, caller: ConnectorsAdmin, tenant: TenantDep, store: StoreDep
) -> ConnectorOut:
    """One connector."""
    config = store.get(name)
    if config is None or config.tenant != tenant:
        raise _missing(name, tenant)
    return ConnectorOut.of(config)


@admin.delete("/v1/connectors/{name}", status_code=204, tags=["connectors"], responses={404: {}})
def remove_connector(
    name: str, caller: ConnectorsAdmin, tenant: TenantDep, store: StoreDep, audit: AuditDep
) -> Response:
    """Remove a connector; its deliveries stay as a record."""
    config = store.get(name)
    if config is None or config.tenant != tenant:
        raise _missing(name, tenant)
    store.remove(name)
    audit.record(
        tenant, "connector.delete", f"connector:{name}", _connector_summary(config), {"exists": False}
    )
    return Response(status_code=204)


@admin.post(
    "/v1/connectors/{name}:test", response_model=ConnectorCheck, tags=["connectors"], responses={404: {}}
)
def test_connector(
    name: str, request: Request, caller: ConnectorsAdmin, tenant: TenantDep, store: StoreDep
) -> ConnectorCheck:
    """Call the system once, read-only, with the stored credentials: do they work?"""
    config = store.get(name)
    if config is None or config.tenant != tenant:
        raise _missing(name, tenant)
    return check_connector(config, request.app.state.delivery_worker.policy.timeout)


@admin.get("/v1/deliveries", response_model=DeliveryList, tags=["connectors"])
def list_deliveries(
    caller: ConnectorsAdmin,
    tenant: TenantDep,
    store: StoreDep,
    connector: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
    state: Annotated[Literal["pending", "running", "done", "dead"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DeliveryList:
    """Webhook deliveries, newest first: what was queued, written back, retried or given up."""
    rows, total = store.deliveries(tenant, connector, state, limit, offset)
    return DeliveryList(deliveries=[DeliveryOut.of(d) for d in rows], total=total, limit=limit, offset=offset)


@admin.post(
    "/v1/deliveries/{delivery_id}:retry",
    response_model=DeliveryOut,
    tags=["connectors"],
    responses={404: {}, 409: {}},
)
def retry_delivery(
    delivery_id: Annotated[
        int, Path(ge=1, le=MAX_ROW_ID, description="A delivery's id (GET /v1/deliveries).")
    ],
    request: Request,
    caller: ConnectorsAdmin,
    tenant: TenantDep,
    store: StoreDep,
    audit: AuditDep,
) -> DeliveryOut:
    """Send a dead delivery through the queue again (with a fresh count of tries)."""
    found = store.delivery(delivery_id)
    if found is None or found.tenant != tenant:
        raise problem(
            404,
            "Delivery not found",
            f"no delivery {delivery_id} for tenant {tenant!r}",
            type_="delivery-not-found",
        )
    retried = store.retry(delivery_id)
    if retried is None:
        raise problem(
            409,
            "Delivery is not dead",
            f"delivery {delivery_id} is {found.state}; only a dead one can be retried",
            type_="delivery-not-dead",
        )
    audit.record(
        tenant,
        "delivery.retry",
        f"delivery:{delivery_id}",
        {"state": found.state, "attempts": found.attempts},
        {"state": retried.state, "attempts": retried.attempts},
    )
    request.app.state.delivery_worker.wake()
    return DeliveryOut.of(retried)
