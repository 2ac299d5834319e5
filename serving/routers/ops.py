"""Operations: the web console, liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from serving.deps import LoadingServiceDep, MetricsDep, SettingsDep

STATIC = Path(__file__).resolve().parent.parent / "static"

router = APIRouter()


@router.get("/", include_in_schema=False)
def console() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@router.get("/healthz", tags=["ops"])
async def healthz() -> dict[str, str]:
    """The process is alive (answered on the event loop: never waits behind inference)."""
    return {"status": "ok"}


@router.get("/readyz", tags=["ops"], responses={503: {"description": "models still loading"}})
def readyz(service: LoadingServiceDep, settings: SettingsDep) -> JSONResponse:
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
            "max_in_flight": settings.in_flight_bound,
        }
    )


@router.get("/metrics", tags=["ops"], include_in_schema=False)
def prometheus(metrics: MetricsDep) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
