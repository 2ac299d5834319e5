"""Sync and async clients: one request path with retries, typed methods on top of it."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, cast

import httpx

from triage_client.errors import RateLimited, TransportError, error_for
from triage_client.types import (
    Case,
    CasePage,
    Connector,
    ConnectorCheck,
    Delivery,
    DeliveryPage,
    TriageResult,
)

# Every route this client calls: (HTTP method, path template). The service's tests check each
# against /openapi.json, with the fields of the typed answers, so client and schema cannot drift.
ENDPOINTS: dict[str, tuple[str, str]] = {
    "triage": ("POST", "/v1/triage"),
    "triage_batch": ("POST", "/v1/triage:batch"),
    "list_cases": ("GET", "/v1/cases"),
    "add_connector": ("POST", "/v1/connectors"),
    "list_connectors": ("GET", "/v1/connectors"),
    "get_connector": ("GET", "/v1/connectors/{name}"),
    "remove_connector": ("DELETE", "/v1/connectors/{name}"),
    "test_connector": ("POST", "/v1/connectors/{name}:test"),
    "list_deliveries": ("GET", "/v1/deliveries"),
    "retry_delivery": ("POST", "/v1/deliveries/{delivery_id}:retry"),
}
# The answer type of each route, for the same check.
ANSWERS: dict[str, type] = {
    "triage": TriageResult,
    "list_cases": CasePage,
    "add_connector": Connector,
    "get_connector": Connector,
    "test_connector": ConnectorCheck,
    "list_deliveries": DeliveryPage,
    "retry_delivery": Delivery,
}

_RETRY_STATUS = {429, 502, 503, 504}
_IDEMPOTENT = {"GET", "PUT", "DELETE", "HEAD", "OPTIONS"}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class _Base:
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        tenant: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Accept": "application/json, application/problem+json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.tenant = tenant  # sent as ?tenant= where a route takes it (before API keys name the tenant)

    def _path(self, route: str, **params: Any) -> tuple[str, str]:
        method, template = ENDPOINTS[route]
        return method, template.format(**{k: str(v) for k, v in params.items()})

    def _query(self, **params: Any) -> dict[str, Any]:
        query = {k: v for k, v in params.items() if v is not None}
        if self.tenant is not None:
            query.setdefault("tenant", self.tenant)
        return query

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        wait = self.backoff * 2**attempt * (0.5 + random.random() / 2)
        hint = _retry_after(response) if response is not None else None
        return max(wait, hint or 0.0)

    def _should_retry(self, method: str, attempt: int, response: httpx.Response | None) -> bool:
        if attempt >= self.retries:
            return False
        if response is None:
            return method in _IDEMPOTENT
        # 429 and 503 mean "not processed": safe to repeat any method.
        if response.status_code in (429, 503):
            return True
        return response.status_code in _RETRY_STATUS and method in _IDEMPOTENT

    @staticmethod
    def _result(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text
            error = error_for(response.status_code, body, response.reason_phrase)
            if isinstance(error, RateLimited):
                error.retry_after = _retry_after(response)
            raise error
        if response.status_code == 204 or not response.content:
            return None
        return response.json()


class TriageClient(_Base):
    """Synchronous client. Use as a context manager, or call close()."""

    def __init__(self, base_url: str, api_key: str | None = None, **options: Any) -> None:
        transport = options.pop("transport", None)
        super().__init__(base_url, api_key, **options)
        self._http = httpx.Client(
            base_url=self.base_url, headers=self.headers, timeout=self.timeout, transport=transport
        )

    def __enter__(self) -> TriageClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> Any:
        """One call with retries on 429/503 (any method) and on 502/504/connection errors (idempotent ones)."""
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = self._http.request(method, path, json=json, params=params)
            except httpx.TransportError as exc:
                if not self._should_retry(method, attempt, None):
                    raise TransportError(f"{method} {path}: {exc}") from exc
            else:
                if response.status_code < 400 or not self._should_retry(method, attempt, response):
                    return self._result(response)
            time.sleep(self._delay(attempt, response))
            attempt += 1

    # -- triage -----------------------------------------------------------------------------
    def triage(self, body: str, title: str = "", **fields: Any) -> TriageResult:
        method, path = self._path("triage")
        return cast(TriageResult, self.request(method, path, json={"title": title, "body": body, **fields}))

    def triage_batch(self, tickets: list[dict[str, Any]]) -> list[TriageResult]:
        method, path = self._path("triage_batch")
        return cast(list[TriageResult], self.request(method, path, json={"tickets": tickets})["results"])

    # -- cases ------------------------------------------------------------------------------
    def list_cases(self, limit: int = 50, offset: int = 0, **filters: Any) -> CasePage:
        method, path = self._path("list_cases")
        return cast(
            CasePage, self.request(method, path, params=self._query(limit=limit, offset=offset, **filters))
        )

    def iter_cases(self, page_size: int = 100, **filters: Any) -> Iterator[Case]:
        """Every case that matches, page by page."""
        offset = 0
        while True:
            page = self.list_cases(limit=page_size, offset=offset, **filters)
            yield from page["cases"]
            offset += len(page["cases"])
            if not page["cases"] or offset >= page["total"]:
                return

    # -- connectors -------------------------------------------------------------------------
    def add_connector(self, **config: Any) -> Connector:
        method, path = self._path("add_connector")
        return cast(Connector, self.request(method, path, json=config))

    def list_connectors(self) -> list[Connector]:
        method, path = self._path("list_connectors")
        return cast(list[Connector], self.request(method, path, params=self._query())["connectors"])

    def get_connector(self, name: str) -> Connector:
        method, path = self._path("get_connector", name=name)
        return cast(Connector, self.request(method, path, params=self._query()))

    def remove_connector(self, name: str) -> None:
        method, path = self._path("remove_connector", name=name)
        self.request(method, path, params=self._query())

    def test_connector(self, name: str) -> ConnectorCheck:
        method, path = self._path("test_connector", name=name)
        return cast(ConnectorCheck, self.request(method, path, params=self._query()))

    # -- deliveries -------------------------------------------------------------------------
    def list_deliveries(
        self, connector: str | None = None, state: str | None = None, limit: int = 50, offset: int = 0
    ) -> DeliveryPage:
        method, path = self._path("list_deliveries")
        params = self._query(connector=connector, state=state, limit=limit, offset=offset)
        return cast(DeliveryPage, self.request(method, path, params=params))

    def iter_deliveries(
        self, connector: str | None = None, state: str | None = None, page_size: int = 100
    ) -> Iterator[Delivery]:
        """Every matching delivery, newest first, page by page."""
        offset = 0
        while True:
            page = self.list_deliveries(connector, state, limit=page_size, offset=offset)
            yield from page["deliveries"]
            offset += len(page["deliveries"])
            if not page["deliveries"] or offset >= page["total"]:
                return

    def retry_delivery(self, delivery_id: int) -> Delivery:
        method, path = self._path("retry_delivery", delivery_id=delivery_id)
        return cast(Delivery, self.request(method, path, params=self._query()))


class AsyncTriageClient(_Base):
    """Asynchronous client (the same methods, awaited). Use ``async with``, or await aclose()."""

    def __init__(self, base_url: str, api_key: str | None = None, **options: Any) -> None:
        transport = options.pop("transport", None)
        super().__init__(base_url, api_key, **options)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers, timeout=self.timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncTriageClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> Any:
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = await self._http.request(method, path, json=json, params=params)
            except httpx.TransportError as exc:
                if not self._should_retry(method, attempt, None):
                    raise TransportError(f"{method} {path}: {exc}") from exc
            else:
                if response.status_code < 400 or not self._should_retry(method, attempt, response):
                    return self._result(response)
            await asyncio.sleep(self._delay(attempt, response))
            attempt += 1

    async def triage(self, body: str, title: str = "", **fields: Any) -> TriageResult:
        method, path = self._path("triage")
        return cast(
            TriageResult, await self.request(method, path, json={"title": title, "body": body, **fields})
        )

    async def triage_batch(self, tickets: list[dict[str, Any]]) -> list[TriageResult]:
        method, path = self._path("triage_batch")
        return cast(
            list[TriageResult], (await self.request(method, path, json={"tickets": tickets}))["results"]
        )

    async def list_cases(self, limit: int = 50, offset: int = 0, **filters: Any) -> CasePage:
        method, path = self._path("list_cases")
        params = self._query(limit=limit, offset=offset, **filters)
        return cast(CasePage, await self.request(method, path, params=params))

    async def iter_cases(self, page_size: int = 100, **filters: Any) -> AsyncIterator[Case]:
        offset = 0
        while True:
            page = await self.list_cases(limit=page_size, offset=offset, **filters)
            for case in page["cases"]:
                yield case
            offset += len(page["cases"])
            if not page["cases"] or offset >= page["total"]:
                return

    async def add_connector(self, **config: Any) -> Connector:
        method, path = self._path("add_connector")
        return cast(Connector, await self.request(method, path, json=config))

    async def list_connectors(self) -> list[Connector]:
        method, path = self._path("list_connectors")
        return cast(list[Connector], (await self.request(method, path, params=self._query()))["connectors"])

    async def get_connector(self, name: str) -> Connector:
        method, path = self._path("get_connector", name=name)
        return cast(Connector, await self.request(method, path, params=self._query()))

    async def remove_connector(self, name: str) -> None:
        method, path = self._path("remove_connector", name=name)
        await self.request(method, path, params=self._query())

    async def test_connector(self, name: str) -> ConnectorCheck:
        method, path = self._path("test_connector", name=name)
        return cast(ConnectorCheck, await self.request(method, path, params=self._query()))

    async def list_deliveries(
        self, connector: str | None = None, state: str | None = None, limit: int = 50, offset: int = 0
    ) -> DeliveryPage:
        method, path = self._path("list_deliveries")
        params = self._query(connector=connector, state=state, limit=limit, offset=offset)
        return cast(DeliveryPage, await self.request(method, path, params=params))

    async def iter_deliveries(
        self, connector: str | None = None, state: str | None = None, page_size: int = 100
    ) -> AsyncIterator[Delivery]:
        offset = 0
        while True:
            page = await self.list_deliveries(connector, state, limit=page_size, offset=offset)
            for delivery in page["deliveries"]:
                yield delivery
            offset += len(page["deliveries"])
            if not page["deliveries"] or offset >= page["total"]:
                return

    async def retry_delivery(self, delivery_id: int) -> Delivery:
        method, path = self._path("retry_delivery", delivery_id=delivery_id)
        return cast(Delivery, await self.request(method, path, params=self._query()))
