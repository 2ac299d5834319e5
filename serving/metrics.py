"""Prometheus metrics of one app, labelled for Grafana panels, and the middleware that counts requests.

Families (all prefixed ``triage_``):

- ``requests_total{route, method, status_class, tenant}`` and ``request_seconds{route, method}``:
  every HTTP request by its route template (never the raw path), ``2xx``..``5xx``, and the tenant the
  request acted for (``request.state.tenant``, set by the routes and the key dependency; ``-`` when
  none, e.g. /healthz).
- ``predictions_total{tenant, model_version, head, abstained, language}``: what was predicted.
- ``micro_batch_size``: tickets per micro-batch of concurrent ``/v1/triage`` requests.
- ``stage_seconds{stage}``: per-ticket time in each pipeline stage (encode, classify,
  extract_summarize, similar).
- connector deliveries by state (``triage_deliveries{connector, state}``) and attempts come from
  ``serving.connectors.api.ConnectorMetrics`` on the same registry.

- ``worker_started_seconds``: when this server process started serving (Unix time); with several
  worker processes one series per live worker, labelled ``pid``.

Labels take only bounded values (route templates, tenants, versions, heads, languages), never
ticket text or ids.

With several worker processes (``triage serve --workers N``) the values live in prometheus_client's
multiprocess files (``PROMETHEUS_MULTIPROC_DIR``, a fresh folder per server start) and ``/metrics``
from any worker reports the sum over all of them (``MultiProcessCollector``); collectors computed at
scrape time (``Metrics.register``: counts read from the database) are reported once, as before.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.schemas import TriageOut

HEADS = ("department", "category", "priority")
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
STAGE_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1)
NO_TENANT = "-"


logger = logging.getLogger(__name__)
_LIVE_FILE = re.compile(r"gauge_live\w*?_(\d+)\.db")


class EncoderProcessCollector(Collector):
    """Encoder processes started (``embeddings.process``), read at scrape time: 1 while the first child
    lives, one more each time one died and the next request started another."""

    def __init__(self, starts: Callable[[], int]) -> None:
        self.starts = starts

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "triage_encoder_process_starts",
            "Encoder processes started by this server (more than 1: a child died and was replaced)",
            value=self.starts(),
        )


class Metrics:
    """Prometheus metrics of one app (own registry, so several apps can live in one process).

    ``multiprocess_dir``: this process is one of several workers writing their values there (the
    ``PROMETHEUS_MULTIPROC_DIR`` it was started with); ``exposition`` then reports all of them.
    """

    def __init__(self, multiprocess_dir: Path | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry()
        # What /metrics reports: the registry itself, or every worker's files plus the collectors
        # computed at scrape time.
        self._exposed = self.registry
        if multiprocess_dir is not None:
            self._exposed = CollectorRegistry()
            MultiProcessCollector(self._exposed, path=str(multiprocess_dir))
        self.requests = Counter(
            "triage_requests_total",
            "HTTP requests by route template, method, status class and tenant",
            ["route", "method", "status_class", "tenant"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "triage_request_seconds",
            "HTTP request latency by route template and method",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "triage_predictions_total",
            "Predictions served, by tenant, model version, head, abstention and ticket language",
            ["tenant", "model_version", "head", "abstained", "language"],
            registry=self.registry,
        )
        self.refused = Counter(
            "triage_refused_total",
            "Requests refused before any work (overload, queue-deadline, rate, size, content-type, host, "
            "disconnected)",
            ["reason"],
            registry=self.registry,
        )
        self.micro_batches = Histogram(
            "triage_micro_batch_size",
            "Tickets per micro-batch of concurrent /v1/triage requests",
            buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 128, 256),
            registry=self.registry,
        )
        self.stages = Histogram(
            "triage_stage_seconds",
            "Per-ticket time in each pipeline stage",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )

        self.worker_started = Gauge(
            "triage_worker_started_seconds",
            "When this server process started serving (Unix time); one series per live worker process",
            registry=self.registry,
            multiprocess_mode="liveall",
        )

    def register(self, collector: Collector) -> None:
        """A collector computed at scrape time (e.g. counts read from the shared database): reported
        once, not once per worker."""
        self._exposed.register(collector)

    def exposition(self) -> bytes:
        """The text /metrics answers: every worker's values when there are several."""
        return generate_latest(self._exposed)

    def started(self) -> None:
        """This process serves from now on; the series of workers that died without saying so go."""
        if self.multiprocess_dir is not None:
            for path in self.multiprocess_dir.glob("gauge_live*.db"):
                match = _LIVE_FILE.fullmatch(path.name)
                if match and not _alive(int(match.group(1))):
                    mark_process_dead(int(match.group(1)), str(self.multiprocess_dir))
        self.worker_started.set(time.time())

    def stopped(self) -> None:
        """This process stops serving: its live series go (its counters keep counting in the totals)."""
        if self.multiprocess_dir is not None:
            mark_process_dead(os.getpid(), str(self.multiprocess_dir))

    def triaged(self, tenant: str, result: TriageOut) -> None:
        """Count one triage result's predictions and observe its per-stage timings."""
        for head in HEADS:
            prediction = getattr(result, head)
            if prediction is not None:
                self.predictions.labels(
                    tenant,
                    result.model_version,
                    head,
                    str(bool(prediction.abstained)).lower(),
                    result.language,
                ).inc()
        for stage, milliseconds in result.timings_ms.items():
            self.stages.labels(stage).observe(milliseconds / 1000.0)


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
            # The router records the matched route in the same scope; request.state lives in scope["state"].
            route = getattr(scope.get("route"), "path", "unmatched")
            method = str(scope.get("method", ""))
            # The caller (API key) the request authenticated as: its tenant (serving.deps sets it).
            caller = (scope.get("state") or {}).get("caller")
            tenant = str(getattr(caller, "tenant", None) or NO_TENANT)
            self.metrics.requests.labels(route, method, f"{status // 100}xx", tenant).inc()
            self.metrics.latency.labels(route, method).observe(time.perf_counter() - started)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
