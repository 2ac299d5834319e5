"""Shared request dependencies as ``Annotated`` aliases: the service, the settings, the metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request

from serving.metrics import Metrics
from serving.schemas import TENANT_PATTERN
from serving.settings import Settings
from triage.pipeline import TriageService
from triage.registry import ModelRegistry


def _service(request: Request) -> TriageService:
    service: TriageService = request.app.state.service
    if not service.ready:
        raise HTTPException(status_code=503, detail="models are still loading; retry shortly (see /readyz)")
    return service


def _loading_service(request: Request) -> TriageService:
    service: TriageService = request.app.state.service
    return service


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def _registry(svc: Annotated[TriageService, Depends(_service)]) -> ModelRegistry:
    if svc.models.registry is None:
        raise HTTPException(
            status_code=409, detail="this service serves a fixed bundle (model_dir): no registry"
        )
    return svc.models.registry


ServiceDep = Annotated[TriageService, Depends(_service)]
"""The loaded triage service; 503 while the models are still loading."""
LoadingServiceDep = Annotated[TriageService, Depends(_loading_service)]
"""The triage service whether or not it has finished loading (for /readyz)."""
SettingsDep = Annotated[Settings, Depends(_settings)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
RegistryDep = Annotated[ModelRegistry, Depends(_registry)]
"""The model registry; 409 when the service serves one fixed bundle."""
TenantQuery = Annotated[str, Query(min_length=1, max_length=100, pattern=TENANT_PATTERN)]
