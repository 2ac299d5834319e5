"""The request id: taken from a sane ``X-Request-ID`` or generated, echoed on every response, in every log line."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
_request_id: ContextVar[str] = ContextVar("request_id", default="-")
_request_path: ContextVar[str] = ContextVar("request_path", default="")


def current_request_id() -> str:
    """The id of the request being served ('-' outside a request)."""
    return _request_id.get()


def current_request_path() -> str:
    """The path of the request being served ('' outside a request): a problem's ``instance``."""
    return _request_path.get()


def request_id_for(given: str) -> str:
    """The id of a request that sent ``given`` as its ``X-Request-ID``: that, when sane, else a new one."""
    return given if _SANE.match(given) else uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every log record, for formats with ``%(request_id)s``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def install_request_id_logging() -> None:
    """Put the request id into every handler of the root logger (call after logging is configured)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())


class RequestContextMiddleware:
    """Outermost middleware: sets the request id, echoes it, and answers an unhandled error with a problem.

    An unhandled exception is logged with its stack trace under the request id and answered as a
    500 problem+json carrying the same id (Starlette's own error middleware would answer without it).
    """

    def __init__(self, app: ASGIApp, on_error: Callable[[Request], Response | Awaitable[Response]]) -> None:
        self.app = app
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        request_id = request_id_for(given)
        token = _request_id.set(request_id)
        path_token = _request_path.set(str(scope.get("path", "")))
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # the answer is half sent: nothing to do but close the connection
            response = self.on_error(Request(scope))
            if not isinstance(response, Response):
                response = await response
            await response(scope, receive, send_with_id)
        finally:
            _request_id.reset(token)
            _request_path.reset(path_token)
