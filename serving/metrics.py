"""Prometheus metrics of one app and the middleware that counts requests per route."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    """Prometheus metrics of one app (own registry, so several apps can live in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "triage_requests_total", "HTTP requests", ["endpoint", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "triage_request_seconds",
            "Request latency",
            ["endpoint"],
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.tickets = Counter(
            "triage_tickets_total", "Tickets triaged", ["department"], registry=self.registry
        )
        self.refused = Counter(
            "triage_refused_total",
            "Requests refused before any work (overload, rate, size, content-type, host, disconnected)",
            ["reason"],
            registry=self.registry,
        )
        self.abstained = Counter(
            "triage_abstained_total", "Predictions that abstained", ["head"], registry=self.registry
        )


class MeasureMiddleware:
    """Request count and latency per route, as plain ASGI (Starlette's BaseHTTPMiddleware costs ~1 ms a call)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # The router records the matched route in the same scope.
            endpoint = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(endpoint, str(status)).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
