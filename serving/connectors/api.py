"""HTTP routes of the connectors: vendor webhooks in, connector configuration, the delivery queue."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, field_validator

from serving.connectors import get_connector
from serving.connectors.base import ConnectorConfig, LabelMapping, WritePolicy
from serving.connectors.store import ConnectorStore, Delivery
from serving.connectors.worker import PermanentError, RetryableError, VendorClient
from serving.errors import ProblemError
from serving.schemas import TENANT_PATTERN, JsonInt

logger = logging.getLogger(__name__)

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, *, type_: str, **extra: Any) -> ProblemError:
    """An RFC 9457 problem of the connectors (``urn:triage:problem:<type_>``), raised by the routes."""
    return ProblemError(status, detail, type_, title=title, extra=extra)


# -- request and response models ----------------------------------------------------------------


class MappingIn(BaseModel):
    """Our labels -> the system's values."""

    model_config = ConfigDict(extra="forbid")
    department: dict[str, str] = Field(
        default_factory=dict,
        description="Our department -> their group / queue / component / assignment-group id.",
        examples=[{"IT": "360001", "Finance": "360002"}],
    )
    priority: dict[str, str] = Field(
        default_factory=dict,
        description="Our priority -> their priority value or id.",
        examples=[{"P1": "urgent", "P2": "high", "P3": "normal", "P4": "low"}],
    )
    category: dict[str, str] = Field(
        default_factory=dict,
        description="Our category -> their category id (GLPI) or a tag / label (the others).",
        examples=[{"network": "network"}],
    )


class PolicyIn(BaseModel):
    """What to write back."""

    model_config = ConfigDict(extra="forbid")
    min_confidence: StrictFloat = Field(
        0.6,
        ge=0,
        le=1,
        description="Fields are written only when not abstained and at or above this.",
        examples=[0.6],
    )
    write_fields: StrictBool = Field(
        True, description="Write group, priority and category at all.", examples=[True]
    )
    tags: list[str] = Field(
        default_factory=lambda: ["triage"],
        max_length=20,
        description="Tags always added.",
        examples=[["triage"]],
    )
    needs_human_tag: str = Field(
        "triage-needs-human",
        max_length=80,
        description="Tag added when a prediction abstains or is below min_confidence.",
        examples=["triage-needs-human"],
    )
    note: StrictBool = Field(
        True,
        description="Write an internal note: headline, summary, missing information, time, similar cases.",
        examples=[True],
    )
    case_url: str | None = Field(
        None,
        max_length=500,
        json_schema_extra={"pattern": r"\{id\}"},  # checked by _has_id, with its own message
        description="Link for similar cases in the note, '{id}' is replaced.",
        examples=["https://kb.example.com/cases/{id}"],
    )
    similar_in_note: JsonInt = Field(
        3, ge=0, le=10, description="Similar solved cases listed in the note.", examples=[3]
    )

    @field_validator("case_url")
    @classmethod
    def _has_id(cls, value: str | None) -> str | None:
        if value is not None and "{id}" not in value:
            raise ValueError("case_url must contain '{id}', e.g. https://kb.example.com/cases/{id}")
        return value


REQUIRED_CREDENTIALS = {
    "zendesk": ("email", "api_token"),
    "jira": ("email", "api_token"),
    "zammad": ("api_token",),
    "glpi": ("app_token", "user_token"),
    "generic": (),
}


_EXAMPLE_CONNECTOR = {
    "name": "acme-zendesk",
    "system": "zendesk",
    "base_url": "https://acme.zendesk.com",
    "credentials": {"email": "triage@acme.com", "api_token": "…"},
    "signing_secret": "the webhook's signing secret",
    "mapping": {"department": {"IT": "360001"}, "priority": {"P1": "urgent"}},
}


def _credentials_by_system(schema: dict[str, Any]) -> None:
    """The example, and which credentials each system needs (the route answers 422 without them)."""
    schema["examples"] = [_EXAMPLE_CONNECTOR]
    schema["allOf"] = [
        {
            "if": {"properties": {"system": {"const": system}}, "required": ["system"]},
            "then": {
                "required": ["credentials"],
                "properties": {
                    "credentials": {
                        "required": list(names),
                        "properties": {name: {"type": "string", "minLength": 1} for name in names},
                    }
                },
            },
        }
        for system, names in REQUIRED_CREDENTIALS.items()
        if names
    ]


class ConnectorIn(BaseModel):
    """A connector to add. Credentials and the signing secret are stored encrypted and never returned."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_credentials_by_system)

    name: str = Field(pattern=NAME_PATTERN, description="Unique; the webhook URL is /v1/webhooks/{name}.")
    tenant: str = Field(
        "default",
        min_length=1,
        max_length=100,
        pattern=TENANT_PATTERN,
        description="Tenant the connector serves.",
    )
    system: Literal["zendesk", "jira", "zammad", "glpi", "generic"] = Field(description="The ticket system.")
    base_url: str = Field(pattern=r"^https?://", max_length=500, description="Their API's base URL.")
    credentials: dict[str, str] = Field(
        default_factory=dict,
        description="zendesk/jira: email + api_token; zammad: api_token; glpi: app_token + user_token; generic: none.",
    )
    signing_secret: str = Field(
        min_length=8, max_length=500, description="The secret their webhooks are signed with."
    )
    mapping: MappingIn = Field(default_factory=MappingIn, description="Our labels -> theirs.")
    policy: PolicyIn = Field(default_factory=PolicyIn, description="What to write back into their tickets.")
    enabled: StrictBool = Field(True, description="A disabled connector answers its webhooks with 404.")

    def to_config(self) -> ConnectorConfig:
        policy = self.policy.model_dump()
        policy["tags"] = tuple(policy["tags"])
        return ConnectorConfig(
            name=self.name,
            tenant=self.tenant,
            system=self.system,
            base_url=self.base_url,
            signing_secret=self.signing_secret,
            credentials=dict(self.credentials),
            mapping=LabelMapping(**self.mapping.model_dump()),
            policy=WritePolicy(**policy),
            enabled=self.enabled,
        )


class ConnectorOut(BaseModel):
    """A connector as stored, without its credentials and signing secret."""

    name: str = Field(description="Unique name.", examples=["acme-zendesk"])
    tenant: str = Field(description="Tenant.", examples=["default"])
    system: str = Field(description="The ticket system.", examples=["zendesk"])
    base_url: str = Field(description="Their API's base URL.", examples=["https://acme.zendesk.com"])
    webhook_path: str = Field(
        description="Where the system sends its webhooks (append to this service's URL).",
        examples=["/v1/webhooks/acme-zendesk"],
    )
    credential_names: list[str] = Field(
        description="Which credentials are stored (their values never leave).",
        examples=[["api_token", "email"]],
    )
    mapping: MappingIn = Field(description="Our labels -> theirs.")
    policy: PolicyIn = Field(description="What is written back.")
    enabled: bool = Field(description="Whether webhooks are taken.", examples=[True])

    @classmethod
    def of(cls, config: ConnectorConfig) -> ConnectorOut:
        policy = {**vars(config.policy), "tags": list(config.policy.tags)}
        return cls(
            name=config.name,
            tenant=config.tenant,
            system=config.system,
            base_url=config.base_url,
            webhook_path=f"/v1/webhooks/{config.name}",
            credential_names=sorted(config.credentials),
            mapping=MappingIn(**{k: dict(v) for k, v in vars(config.mapping).items()}),
            policy=PolicyIn(**policy),
            enabled=config.enabled,
        )


class ConnectorList(BaseModel):
    connectors: list[ConnectorOut] = Field(description="The tenant's connectors, by name.")


class ConnectorCheck(BaseModel):
    """The answer of one read-only call to the system with the stored credentials."""

    name: str = Field(description="The connector.", examples=["acme-zendesk"])
    ok: bool = Field(description="The call succeeded.", examples=[True])
    detail: str = Field(
        description="What was called, or why it failed.", examples=["GET /api/v2/users/me.json"]
    )


class WebhookAccepted(BaseModel):
    delivery_id: int | None = Field(
        description="The queued delivery (None when the event was ignored).", examples=[42]
    )
    status: Literal["queued", "duplicate", "ignored"] = Field(
        description="queued: new event; duplicate: seen before, nothing done; ignored: an event we do not act on."
    )


class DeliveryOut(BaseModel):
    """One accepted webhook event and what became of it."""

    id: int = Field(description="Delivery id.", examples=[42])
    connector: str = Field(description="The connector it came through.", examples=["acme-zendesk"])
    tenant: str = Field(description="Tenant.", examples=["default"])
    ticket_id: str = Field(description="The ticket's id in their system.", examples=["5158"])
    event_id: str = Field(
        description="The event's id (one delivery per connector, ticket and event).",
        examples=["cbe4028c-7239"],
    )
    kind: Literal["ticket", "outcome"] = Field(
        description="ticket: triage and write back; outcome: the agents' final answer (feedback, knowledge)."
    )
    state: Literal["pending", "running", "done", "dead"] = Field(description="Where it stands.")
    attempts: int = Field(description="Tries so far.", examples=[1])
    steps_done: int = Field(description="Vendor calls already made (never repeated).", examples=[2])
    next_attempt_at: datetime | None = Field(
        description="When a pending delivery is tried next.", examples=["2026-12-04T06:00:02Z"]
    )
    last_error: str | None = Field(
        description="Why the last try failed.", examples=["PUT /api/v1/tags/add: HTTP 500"]
    )
    predicted: dict[str, Any] | None = Field(
        description="What we predicted (ticket deliveries, once triaged).",
        examples=[{"department": {"value": "IT", "confidence": 0.93, "abstained": False}}],
    )
    created_at: datetime = Field(description="Accepted at.", examples=["2026-12-04T06:00:00Z"])
    updated_at: datetime = Field(description="Last change.", examples=["2026-12-04T06:00:01Z"])

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        def at(seconds: float) -> datetime:
            return datetime.fromtimestamp(seconds, UTC)

        return cls(
            id=d.id,
            connector=d.connector,
            tenant=d.tenant,
            ticket_id=d.ticket_id,
            event_id=d.event_id,
            kind=d.kind,
            state=d.state,
            attempts=d.attempts,
            steps_done=d.steps_done,
            next_attempt_at=at(d.next_at) if d.state == "pending" else None,
            last_error=d.last_error,
            predicted=dict(d.result) if d.result else None,
            created_at=at(d.created_at),
            updated_at=at(d.updated_at),
        )


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut] = Field(description="This page, newest first.")
    total: int = Field(description="All that match the filters.", examples=[120])
    limit: int = Field(description="Page size.", examples=[50])
    offset: int = Field(description="Skipped.", examples=[0])


# -- metrics ------------------------------------------------------------------------------------


class _DeliveryCollector(Collector):
    """Deliveries by connector and state, read from the database at scrape time."""

    def __init__(self, store: ConnectorStore) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "triage_deliveries", "Webhook deliveries by state", labels=["connector", "state"]
        )
        for (connector, state), n in sorted(self.store.counts().items()):
            family.add_metric([connector, state], n)
        yield family


class ConnectorMetrics:
    def __init__(
        self,
        registry: CollectorRegistry,
        store: ConnectorStore,
        expose: Callable[[Collector], None] | None = None,
    ) -> None:
        """``expose``: where a collector computed at scrape time goes (``Metrics.register``: once,
        not once per worker process); default the registry itself."""
        self.webhooks = Counter(
            "triage_webhooks_total",
            "Webhook requests by connector and outcome",
            ["connector", "outcome"],
            registry=registry,
        )
        self.attempts = Counter(
            "triage_delivery_attempts_total",
            "Delivery attempts by connector and resulting state",
            ["connector", "state"],
            registry=registry,
        )
        (expose or registry.register)(_DeliveryCollector(store))


def check_connector(config: ConnectorConfig, timeout: float) -> ConnectorCheck:
    """One read-only call with the connector's credentials (used by the route and the CLI)."""
    system = get_connector(config.system)
    call = system.check_call(config)
    if call is None:
        return ConnectorCheck(
            name=config.name, ok=True, detail=f"{config.system} has no read-only check call"
        )
    started = time.perf_counter()
    with httpx.Client(timeout=timeout, trust_env=False) as http:
        client = VendorClient(http, system, config)
        try:
            client.run([call], 0, lambda _: None)
        except (RetryableError, PermanentError, ValueError, httpx.InvalidURL) as exc:
            return ConnectorCheck(name=config.name, ok=False, detail=str(exc))
    return ConnectorCheck(
        name=config.name,
        ok=True,
        detail=f"{call.method} {call.path} answered in {time.perf_counter() - started:.2f} s",
    )


__all__ = ["REQUIRED_CREDENTIALS", "ConnectorIn", "ConnectorMetrics", "check_connector", "problem"]
