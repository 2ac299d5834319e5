"""Operations: the web console, liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from serving.auth import is_local_request
from serving.deps import ConsoleDep, LoadingServiceDep, MetricsDep, MetricsReader, SettingsDep
from serving.errors import ProblemError

STATIC = Path(__file__).resolve().parent.parent / "static"

router = APIRouter()


@router.get("/", include_in_schema=False)
def console() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@router.get("/healthz", tags=["ops"])
async def healthz() -> dict[str, str]:
    """The process is alive (answered on the event loop: never waits behind inference)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    tags=["ops"],
    responses={503: {"description": "models still loading, or the indexes behind the database"}},
)
def readyz(service: LoadingServiceDep, settings: SettingsDep) -> JSONResponse:
    """Models are loaded, the search indexes are caught up with the database, requests will be served."""
    if not service.ready:
        return JSONResponse(status_code=503, content={"status": "loading"})
    lag, behind = service.knowledge.catch_up_lag()
    catch_up = {
        "lag_seconds": round(lag, 3),
        "changes_behind": behind,
        "bound_seconds": settings.catch_up_bound,
    }
    if lag > settings.catch_up_bound:
        return JSONResponse(status_code=503, content={"status": "catching up", "catch_up": catch_up})
    return JSONResponse(
        {
            "status": "ready",
            "catch_up": catch_up,
            "model_version": service.bundle.version,
            "encoder": service.encoder.name,
            "heads": sorted(service.bundle.router.heads),
            "cases": service.knowledge.store.count(kind="case"),
            "max_in_flight": settings.total_in_flight_bound,
            "max_queued": settings.queue_bound * settings.worker_count,
            "workers": settings.worker_count,
            # The process that answered: with several workers, each admits its share of the bounds.
            "worker": {
                "pid": os.getpid(),
                "max_in_flight": settings.in_flight_bound,
                "max_queued": settings.queue_bound,
            },
            "max_queue_wait_ms": settings.max_queue_wait_ms,
            "queue_wait_hold_share": settings.queue_wait_hold_share,
            "micro_batch_workers": settings.batch_workers,
        }
    )


@router.get("/console/session", include_in_schema=False)
def console_session(request: Request, settings: SettingsDep, sessions: ConsoleDep) -> JSONResponse:
    """A short-lived key for the console, only for a browser on this machine (not through a proxy)."""
    client = request.client.host if request.client else None
    if not settings.console_session or not is_local_request(client, request.headers):
        raise ProblemError(
            403,
            "console sessions are given only to a browser on the server's own machine; "
            "paste an API key into the console's Settings instead",
            "console-session",
            title="No console session here",
        )
    token, expires = sessions.issue()
    return JSONResponse(
        {"key": token, "tenant": sessions.tenant, "expires": expires.isoformat(timespec="seconds")},
        headers={"Cache-Control": "no-store"},
    )


@router.get("/metrics", tags=["ops"], include_in_schema=False)
def prometheus(metrics: MetricsDep, _access: MetricsReader) -> Response:
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
