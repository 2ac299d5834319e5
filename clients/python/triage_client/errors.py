"""Errors the service answers with (RFC 9457 problem+json, or FastAPI's {"detail": ...}) as typed exceptions."""

from __future__ import annotations

from typing import Any


class TriageError(Exception):
    """Base class of every error this client raises."""


class TransportError(TriageError):
    """The service could not be reached (after the retries)."""


class ApiError(TriageError):
    """The service answered with an error status."""

    def __init__(self, status: int, title: str, detail: str, body: Any = None) -> None:
        super().__init__(f"HTTP {status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.body = body


class BadRequest(ApiError):
    """400."""


class Unauthorized(ApiError):
    """401: no or a wrong API key (or, for webhooks, a wrong signature)."""


class Forbidden(ApiError):
    """403: the API key lacks the scope the route needs."""


class NotFound(ApiError):
    """404."""


class Conflict(ApiError):
    """409."""


class ValidationFailed(ApiError):
    """422: the request names a field the service refused; ``errors`` lists them (``loc``, ``msg``)."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        body = self.body if isinstance(self.body, dict) else {}
        found = body.get("errors") or body.get("detail")
        return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


class RateLimited(ApiError):
    """429 (after the retries); ``retry_after`` in seconds when the service said."""

    retry_after: float | None = None


class ServerError(ApiError):
    """5xx (after the retries)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
    429: RateLimited,
}


def error_for(status: int, body: Any, reason: str = "") -> ApiError:
    """The typed exception for an error answer."""
    title, detail = reason or f"HTTP {status}", ""
    if isinstance(body, dict):
        title = str(body.get("title") or title)
        raw = body.get("detail")
        if isinstance(raw, list):  # FastAPI validation errors
            detail = "; ".join(
                f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg', '')}"
                for e in raw
                if isinstance(e, dict)
            )
        elif raw is not None:
            detail = str(raw)
    elif isinstance(body, str):
        detail = body[:500]
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    return kind(status, title, detail, body)
