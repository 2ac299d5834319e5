"""The one place where errors become HTTP responses: RFC 9457 ``application/problem+json``.

Every 4xx and 5xx answer has ``type``, ``title``, ``status``, ``detail`` and ``instance`` (the
request path), plus ``request_id``; validation problems add ``errors`` [{loc, msg, type}]. Plain
HTTP statuses use ``type: about:blank``; problems of this service have a ``urn:triage:problem:``
type that clients can branch on (listed in the README). Messages never carry server paths or
stack traces: those go to the log, under the request id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.auth import TenantMismatch
from serving.keys import UnknownKey
from serving.request_context import current_request_id
from triage.bundle import BundleError
from triage.registry import GateRefused, RegistryError, UnknownModelVersion

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:triage:problem:"
# An absolute server path (two or more segments), as some domain messages carry for the CLI's sake.
_SERVER_PATH = re.compile(r"(?<![\w:/.])(?:/[\w.@+-]+){2,}/?|[A-Za-z]:\\[^\s'\"]+")


class ProblemItem(BaseModel):
    loc: list[str | int] = Field(..., description="Where the problem is: ['body', 'tickets', 0, 'body'].")
    msg: str = Field(..., description="What is wrong and how to fix it.")
    type: str = Field("", description="Machine-readable kind of the problem.")


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error response."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", description="URI naming the problem type.")
    title: str = Field(..., description="Short summary of the problem type.")
    status: int = Field(..., description="The HTTP status code.")
    detail: str = Field("", description="What went wrong with this request, and what to do.")
    instance: str = Field("", description="The request path.")
    request_id: str = Field("", description="The X-Request-ID of the request, also in the logs.")
    errors: list[ProblemItem] | None = Field(None, description="Each invalid field (validation problems).")


def _problem_response(code: int, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


# OpenAPI responses every /v1 route documents; routes add their own 404 and 409.
V1_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: _problem_response(401, "No API key, or one that is unknown, revoked or expired."),
    403: _problem_response(403, "The key lacks the scope, or names another tenant."),
    422: _problem_response(422, "The request is invalid; `errors` names each field."),
    503: _problem_response(503, "Models are still loading; retry shortly."),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _problem_response(404, "Not found for the caller's tenant.")
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: _problem_response(409, "The state does not allow it; `detail` says why.")
}


def scrub(message: str) -> str:
    """A message without server file paths."""
    return _SERVER_PATH.sub("<server path>", message)


def problem(
    request: Request,
    status: int,
    detail: str,
    *,
    type_: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response for this request."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{type_}" if type_ else "about:blank",
        "title": title or phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": current_request_id(),
    }
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


class ProblemError(StarletteHTTPException):
    """An HTTP error of this service with its own problem type (``type_`` after the URN prefix)."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        type_: str,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.type_ = type_
        self.title = title
        self.extra = extra or {}


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.url.path}; the API is described at /docs"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}; see /docs for its methods"
    if isinstance(exc, ProblemError):
        return problem(
            request,
            exc.status_code,
            detail,
            type_=exc.type_,
            title=exc.title,
            headers=exc.headers,
            **exc.extra,
        )
    return problem(request, exc.status_code, detail, headers=exc.headers)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The offending input is not echoed back: it may be a 20 kB ticket or personal data.
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return problem(
        request,
        422,
        f"{len(errors)} invalid field(s): {summary}{more}",
        type_="validation",
        title="The request is invalid",
        errors=errors,
    )


async def _tenant(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TenantMismatch)
    return problem(
        request,
        403,
        str(exc),
        type_="tenant-mismatch",
        title="Another tenant",
        errors=[{"loc": list(exc.loc), "msg": str(exc), "type": "tenant_mismatch"}],
    )


async def _unknown_version(request: Request, exc: Exception) -> JSONResponse:
    return problem(
        request, 404, scrub(str(exc)), type_="unknown-model-version", title="No such model version"
    )


async def _unknown_key(request: Request, exc: Exception) -> JSONResponse:
    return problem(request, 404, str(exc), type_="unknown-key", title="No such API key")


async def _bundle(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("model bundle problem: %s", exc)  # the full message, path included, for the operator
    return problem(request, 409, scrub(str(exc)), type_="model-bundle", title="Model bundle unusable")


async def _gate(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GateRefused)
    return problem(
        request, 409, scrub(str(exc)), type_="quality-gate", title="Quality gate refused", gate=exc.report
    )


async def _registry(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("model registry refused: %s", exc)
    return problem(request, 409, scrub(str(exc)), type_="model-registry", title="Model registry refused")


def unexpected(request: Request) -> JSONResponse:
    """The 500 answer; the exception itself is logged by the caller under the request id."""
    return problem(
        request,
        500,
        f"internal error; it has been logged under request id {current_request_id()}",
        type_="internal",
        title="Internal error",
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn domain and request errors into problem+json."""
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(TenantMismatch, _tenant)
    app.add_exception_handler(UnknownKey, _unknown_key)
    app.add_exception_handler(BundleError, _bundle)
    # Starlette picks the handler of the closest class: these before their base RegistryError.
    app.add_exception_handler(UnknownModelVersion, _unknown_version)
    app.add_exception_handler(GateRefused, _gate)
    app.add_exception_handler(RegistryError, _registry)
