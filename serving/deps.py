"""Shared request dependencies as ``Annotated`` aliases: service, settings, metrics, caller, scopes, tenant, audit.

Every ``/v1`` route takes exactly one scope alias (``TriageCaller``, ``KnowledgeReader``, ...):
it authenticates the request and checks the scope. The tenant always comes from the caller's key:
``bind_tenant`` (bodies) and ``TenantDep`` (the ``tenant`` query parameter) refuse another one.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from knowledge.audit import AuditLog
from serving.audit import Auditor
from serving.auth import CONSOLE_PREFIX, Caller, ConsoleSessions, TenantMismatch, is_local_request
from serving.batching import MicroBatcher
from serving.errors import ProblemError
from serving.keys import ALL_SCOPES, InvalidKey, KeyStore
from serving.metrics import Metrics
from serving.request_context import current_request_id
from serving.schemas import TENANT_PATTERN
from serving.settings import Settings
from triage.pipeline import TriageService
from triage.registry import ModelRegistry
from triage.types import Ticket

_M = TypeVar("_M", bound=BaseModel)

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="`Authorization: Bearer tt_<id>_<secret>`: an API key from `triage keys create` or POST /v1/keys.",
)
_api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="apiKey",
    description="The same API key in an `X-API-Key` header, for clients that cannot set Authorization.",
)
_CHALLENGE = 'Bearer realm="triage"'


# Dependencies that only read app state are ``async def``: FastAPI runs a plain ``def`` dependency
# on the thread pool, a hand-off (and under load a wait for a free thread) per dependency per request.


async def _service(request: Request) -> TriageService:
    service: TriageService = request.app.state.service
    if not service.ready:
        raise HTTPException(status_code=503, detail="models are still loading; retry shortly (see /readyz)")
    return service


def _loading_service(request: Request) -> TriageService:
    service: TriageService = request.app.state.service
    return service


async def _batcher(request: Request) -> MicroBatcher[Ticket, str]:
    batcher: MicroBatcher[Ticket, str] = request.app.state.batcher
    return batcher


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def _keys(request: Request) -> KeyStore:
    keys: KeyStore = request.app.state.keys
    return keys


def _console(request: Request) -> ConsoleSessions:
    sessions: ConsoleSessions = request.app.state.console
    return sessions


def _auditor(request: Request) -> Auditor:
    log: AuditLog = request.app.state.audit
    return Auditor(
        log,
        request_id=current_request_id(),
        client=request.client.host if request.client else None,
        request=request,
    )


async def _registry(svc: Annotated[TriageService, Depends(_service)]) -> ModelRegistry:
    if svc.models.registry is None:
        raise HTTPException(
            status_code=409, detail="this service serves a fixed bundle (model_dir): no registry"
        )
    return svc.models.registry


def _unauthorized(detail: str, error: str | None = None) -> ProblemError:
    challenge = _CHALLENGE + (f', error="{error}"' if error else "")
    return ProblemError(
        401, detail, "unauthorized", title="API key required", headers={"WWW-Authenticate": challenge}
    )


def authenticate(request: Request, token: str | None) -> Caller | None:
    """The caller a key names (None for no key, when the settings let loopback in without one)."""
    settings: Settings = request.app.state.settings
    if not token:
        if settings.anonymous_loopback and is_local_request(
            request.client.host if request.client else None, request.headers
        ):
            return Caller("anonymous-loopback", "default", frozenset(ALL_SCOPES), "loopback without a key")
        return None
    if token.startswith(f"{CONSOLE_PREFIX}_"):
        caller = _console(request).verify(token)
        if caller is None:
            raise _unauthorized("the console session has expired; reload the page", "invalid_token")
        return caller
    try:
        key = _keys(request).authenticate(token)
    except InvalidKey as exc:
        raise _unauthorized(str(exc), "invalid_token") from None
    return Caller(key.id, key.tenant, frozenset(key.scopes), key.name)


def _check_authorization(request: Request, bearer: HTTPAuthorizationCredentials | None) -> None:
    if bearer is None and request.headers.get("authorization"):
        raise _unauthorized("the Authorization header must be 'Bearer <API key>'", "invalid_request")


def _cached_caller(request: Request, token: str | None) -> Caller | None:
    """The caller an API key names, from the key store's memory (no database, no thread); None when
    that needs the database (``authenticate``)."""
    if not token or token.startswith(f"{CONSOLE_PREFIX}_"):
        return None
    try:
        key = _keys(request).authenticate_cached(token)
    except InvalidKey as exc:
        raise _unauthorized(str(exc), "invalid_token") from None
    return None if key is None else Caller(key.id, key.tenant, frozenset(key.scopes), key.name)


async def _caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Caller:
    # On the event loop when the key was read lately (KeyStore.authenticate_cached); else the key
    # store's database read runs on the thread pool. Each request of a client then skips a thread
    # hand-off and a SQL read, and a revocation still takes effect at once here, within the
    # replicas' catch-up interval elsewhere.
    _check_authorization(request, bearer)
    caller = _cached_caller(request, bearer.credentials if bearer else api_key)
    if caller is None:
        caller = await run_in_threadpool(_authenticated, request, bearer, api_key)
    request.state.caller = caller
    return caller


def _authenticated(
    request: Request, bearer: HTTPAuthorizationCredentials | None, api_key: str | None
) -> Caller:
    _check_authorization(request, bearer)
    caller = authenticate(request, bearer.credentials if bearer else api_key)
    if caller is None:
        raise _unauthorized(
            "this route needs an API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'; "
            "an administrator creates one with 'triage keys create --tenant T --scopes S'"
        )
    request.state.caller = caller
    return caller


def _metrics_reader(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> None:
    """/metrics as the settings say: open, open to this machine only, or a key with 'metrics'."""
    access = _settings(request).metrics_access
    if access == "open":
        return
    if access == "loopback" and is_local_request(
        request.client.host if request.client else None, request.headers
    ):
        return
    caller = _authenticated(request, bearer, api_key)
    if "metrics" not in caller.scopes:
        raise ProblemError(
            403,
            "reading /metrics from another machine needs a key with the 'metrics' scope",
            "missing-scope",
            title="Missing scope",
            extra={"scope": "metrics"},
        )


CallerDep = Annotated[Caller, Depends(_caller)]
"""The authenticated caller (401 without a usable key); no scope check."""


def require(scope: str) -> Any:
    """A dependency that authenticates and checks one scope (403 naming it)."""
    if scope not in ALL_SCOPES:
        raise ValueError(f"unknown scope {scope!r}; known: {', '.join(ALL_SCOPES)}")

    async def check(caller: CallerDep) -> Caller:
        if scope not in caller.scopes:
            raise ProblemError(
                403,
                f"this API key lacks the scope {scope!r} that this route needs; "
                f"use a key with {scope!r} (its scopes: {', '.join(sorted(caller.scopes)) or 'none'})",
                "missing-scope",
                title="Missing scope",
                extra={"scope": scope},
            )
        return caller

    check.required_scope = scope  # type: ignore[attr-defined]  # read by the route-matrix tests
    return Depends(check)


TriageCaller = Annotated[Caller, require("triage")]
KnowledgeReader = Annotated[Caller, require("knowledge:read")]
KnowledgeWriter = Annotated[Caller, require("knowledge:write")]
FeedbackCaller = Annotated[Caller, require("feedback")]
ModelsReader = Annotated[Caller, require("models:read")]
ModelsAdmin = Annotated[Caller, require("models:admin")]
AuditReader = Annotated[Caller, require("audit:read")]
KeysAdmin = Annotated[Caller, require("keys:admin")]
ConnectorsAdmin = Annotated[Caller, require("connectors:admin")]
StatsReader = Annotated[Caller, require("stats:read")]


def bind_tenant(model: _M, caller: Caller, loc: tuple[str | int, ...] = ("body",)) -> _M:
    """The request model with every ``tenant`` (nested too) set to the caller's.

    A tenant the client sent that differs from the key's is a TenantMismatch (403), never a
    silent switch; one it left out becomes the key's.
    """
    updates: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name == "tenant":
            if name in model.model_fields_set and value != caller.tenant:
                raise TenantMismatch((*loc, name), str(value), caller)
            if value != caller.tenant:
                updates[name] = caller.tenant
        elif isinstance(value, BaseModel):
            bound = bind_tenant(value, caller, (*loc, name))
            if bound is not value:
                updates[name] = bound
        elif isinstance(value, list) and any(isinstance(v, BaseModel) for v in value):
            items = [
                bind_tenant(v, caller, (*loc, name, i)) if isinstance(v, BaseModel) else v
                for i, v in enumerate(value)
            ]
            if any(a is not b for a, b in zip(items, value, strict=True)):
                updates[name] = items
    return model.model_copy(update=updates) if updates else model


def _query_tenant(
    caller: CallerDep,
    tenant: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            pattern=TENANT_PATTERN,
            description="Tenant id; must be the API key's own (the default).",
        ),
    ] = None,
) -> str:
    if tenant is not None and tenant != caller.tenant:
        raise TenantMismatch(("query", "tenant"), tenant, caller)
    return caller.tenant


ServiceDep = Annotated[TriageService, Depends(_service)]
"""The loaded triage service; 503 while the models are still loading."""
LoadingServiceDep = Annotated[TriageService, Depends(_loading_service)]
"""The triage service whether or not it has finished loading (for /readyz)."""
SettingsDep = Annotated[Settings, Depends(_settings)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
BatcherDep = Annotated[MicroBatcher[Ticket, str], Depends(_batcher)]
"""The /v1/triage micro-batcher: tickets in, their responses' JSON out."""
KeyStoreDep = Annotated[KeyStore, Depends(_keys)]
ConsoleDep = Annotated[ConsoleSessions, Depends(_console)]
RegistryDep = Annotated[ModelRegistry, Depends(_registry)]
"""The model registry; 409 when the service serves one fixed bundle."""
MetricsReader = Annotated[None, Depends(_metrics_reader)]
"""Lets a /metrics request through as ``metrics_access`` says (401/403 otherwise)."""
TenantDep = Annotated[str, Depends(_query_tenant)]
"""The caller's tenant, from the key; a ``tenant`` query parameter naming another one is a 403."""
AuditDep = Annotated[Auditor, Depends(_auditor)]
"""Records changes of state in the audit trail with this request's key, request id and client address."""
