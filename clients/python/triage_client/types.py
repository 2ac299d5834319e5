"""The shapes of the answers this client reads (checked against /openapi.json by the service's tests)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class Reason(TypedDict):
    code: str
    params: dict[str, Any]
    because: NotRequired[list[Reason]]


class Prediction(TypedDict):
    value: str
    confidence: float
    alternatives: list[dict[str, Any]]
    abstained: bool
    reason: str
    reasons: NotRequired[list[Reason]]


class TriageResult(TypedDict):
    language: str
    headline: str
    summary: str
    fields: list[dict[str, Any]]
    department: Prediction
    category: Prediction | None
    priority: Prediction | None
    handling_time: dict[str, Any] | None
    similar_cases: list[dict[str, Any]]
    model_version: str


class Connector(TypedDict):
    name: str
    tenant: str
    system: Literal["zendesk", "jira", "zammad", "glpi", "generic"]
    base_url: str
    webhook_path: str
    credential_names: list[str]
    mapping: dict[str, dict[str, str]]
    policy: dict[str, Any]
    enabled: bool


class ConnectorCheck(TypedDict):
    name: str
    ok: bool
    detail: str


class Delivery(TypedDict):
    id: int
    connector: str
    tenant: str
    ticket_id: str
    event_id: str
    kind: Literal["ticket", "outcome"]
    state: Literal["pending", "running", "done", "dead"]
    attempts: int
    steps_done: int
    next_attempt_at: str | None
    last_error: str | None
    predicted: dict[str, Any] | None
    created_at: str
    updated_at: str


class DeliveryPage(TypedDict):
    deliveries: list[Delivery]
    total: int
    limit: int
    offset: int


class Case(TypedDict):
    id: str
    title: str
    body: str
    resolution: str
    department: str | None
    category: str | None
    priority: str | None
    status: str
    metadata: NotRequired[dict[str, Any]]


class CasePage(TypedDict):
    cases: list[Case]
    total: int
