"""The one place where errors become HTTP responses."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from triage.bundle import BundleError
from triage.registry import GateRefused, RegistryError

logger = logging.getLogger(__name__)


def _validation_body(exc: RequestValidationError) -> dict[str, Any]:
    # The offending input is not echoed back: it may be a 20 kB ticket or personal data.
    return {
        "detail": [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
    }


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=422, content=_validation_body(exc))


async def _bundle(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=409, content={"detail": str(exc)})


async def _gate(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GateRefused)
    return JSONResponse(status_code=409, content={"detail": str(exc), "gate": exc.report})


async def _registry(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        status_code=404 if "no model version" in str(exc) else 409, content={"detail": str(exc)}
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s", request.url.path)
    # The server closes the connection after a 500: say so, so the client's next request opens a new one.
    return JSONResponse(
        status_code=500,
        content={"detail": "internal error; it has been logged"},
        headers={"Connection": "close"},
    )


PROBLEM_JSON = "application/problem+json"


def problem(
    status: int, detail: str, *, instance: str = "", headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An RFC 9457 problem response (usable from plain ASGI: ``await problem(...)(scope, receive, send)``)."""
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn domain and request errors into responses."""
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(BundleError, _bundle)
    app.add_exception_handler(GateRefused, _gate)  # a RegistryError; Starlette picks the closest class
    app.add_exception_handler(RegistryError, _registry)
    app.add_exception_handler(Exception, _unexpected)
