"""Python client of the ticket triage service (sync and async, typed, with retries)."""

from __future__ import annotations

from triage_client.client import ANSWERS, ENDPOINTS, AsyncTriageClient, TriageClient
from triage_client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    TriageError,
    Unauthorized,
    ValidationFailed,
)

__all__ = [
    "ANSWERS",
    "ENDPOINTS",
    "ApiError",
    "AsyncTriageClient",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "NotFound",
    "RateLimited",
    "ServerError",
    "TransportError",
    "TriageClient",
    "TriageError",
    "Unauthorized",
    "ValidationFailed",
]
