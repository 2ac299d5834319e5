"""The one interface every ticket-system connector implements, and the values that cross it.

A connector turns a vendor's signed webhook (raw body + headers) into an :class:`Inbound` event,
and a :class:`WritePlan` (our triage result mapped to their labels) into the vendor's own REST
calls. Signatures are checked on the raw body before anything parses it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

SYSTEMS = ("zendesk", "jira", "zammad", "glpi", "generic")
System = Literal["zendesk", "jira", "zammad", "glpi", "generic"]

# A signed request older (or newer) than this is refused as stale.
MAX_SKEW_SECONDS = 300


class SignatureError(Exception):
    """The request is not signed by the connector's secret, or its timestamp is stale; answer 401."""


class PayloadError(ValueError):
    """The body is signed but not a payload this connector understands; answer 422 naming the field."""


@dataclass(frozen=True)
class LabelMapping:
    """Our labels -> the vendor's values (group/queue id, priority value, category field or tag)."""

    department: Mapping[str, str] = field(default_factory=dict)
    priority: Mapping[str, str] = field(default_factory=dict)
    category: Mapping[str, str] = field(default_factory=dict)

    def ours(self, head: str, theirs: str | None) -> str | None:
        """Our label for one of their values (reverse mapping), None when it maps to none of ours."""
        if theirs is None:
            return None
        table: Mapping[str, str] = getattr(self, head)
        for label, value in table.items():
            if str(value).casefold() == str(theirs).casefold():
                return label
        return None


@dataclass(frozen=True)
class WritePolicy:
    """What a connector writes back to the ticket."""

    min_confidence: float = 0.6  # fields are written only above this and when not abstained
    write_fields: bool = True
    tags: tuple[str, ...] = ("triage",)  # always added
    needs_human_tag: str = "triage-needs-human"  # added when any head abstained or is below the bar
    note: bool = True  # an internal note with headline, summary, question, time, similar cases
    case_url: str | None = None  # link template for similar cases, e.g. "https://kb.example/cases/{id}"
    similar_in_note: int = 3


@dataclass(frozen=True)
class ConnectorConfig:
    """One tenant's connection to one ticket system. ``credentials`` are decrypted, never logged."""

    name: str
    tenant: str
    system: System
    base_url: str
    signing_secret: str
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    mapping: LabelMapping = field(default_factory=LabelMapping)
    policy: WritePolicy = field(default_factory=WritePolicy)
    enabled: bool = True

    def __repr__(self) -> str:  # never show secrets in logs or tracebacks
        return f"ConnectorConfig(name={self.name!r}, tenant={self.tenant!r}, system={self.system!r})"


@dataclass(frozen=True)
class TicketData:
    """The ticket's text as the vendor sent it."""

    title: str
    body: str
    created_at: datetime | None = None
    language: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What the agents finally decided, in the vendor's own values (mapped back to ours later)."""

    group: str | None = None
    previous_group: str | None = None
    priority: str | None = None
    category: str | None = None
    solved: bool = False
    resolution: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Inbound:
    """One verified webhook event."""

    kind: Literal["ticket", "outcome", "ignored"]
    ticket_id: str
    event_id: str
    ticket: TicketData | None = None
    outcome: Outcome | None = None


@dataclass(frozen=True)
class WritePlan:
    """Our result for one ticket in the vendor's values; None means "leave that field alone"."""

    group: str | None
    priority: str | None
    category: str | None
    tags: tuple[str, ...]
    note: str | None


@dataclass(frozen=True)
class HttpCall:
    """One vendor REST call. ``path`` is relative to the connector's base URL."""

    method: str
    path: str
    json: Any = None
    expect: tuple[int, ...] = (200,)
    label: str = ""  # what the step does, for logs and delivery records


class Connector:
    """One ticket system: verify, parse, write back. Subclasses set ``system`` and override."""

    system: str = ""
    max_skew_seconds: int = MAX_SKEW_SECONDS

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        """Check the signature on the raw body (and its timestamp, where the system signs one).

        Raises SignatureError when the signature is missing or wrong or the timestamp is stale.
        """
        raise NotImplementedError

    def parse(self, headers: Mapping[str, str], body: bytes) -> Inbound:
        """The event in a verified body. Raises PayloadError naming the missing field."""
        raise NotImplementedError

    def auth_headers(self, config: ConnectorConfig) -> dict[str, str]:
        """The vendor's authentication headers for the write-back calls."""
        raise NotImplementedError

    def write_calls(self, config: ConnectorConfig, ticket_id: str, plan: WritePlan) -> list[HttpCall]:
        """The vendor REST calls that write the plan into the ticket, in order."""
        raise NotImplementedError

    def request_headers(self, config: ConnectorConfig, body: bytes) -> dict[str, str]:
        """Headers that depend on the request body (a signature), beside :meth:`auth_headers`."""
        return {}

    def check_call(self, config: ConnectorConfig) -> HttpCall | None:
        """A read-only call that proves the credentials work (``triage connectors test``)."""
        return None

    def resolution_call(self, ticket_id: str) -> HttpCall | None:
        """A call that reads a solved ticket's resolution when the webhook does not carry it."""
        return None

    def resolution_from(self, answer: Any) -> str | None:
        """The resolution text in the answer to :meth:`resolution_call`."""
        return None

    # Systems with login sessions (GLPI) open one before the calls and close it after.
    def open_session(self, config: ConnectorConfig) -> HttpCall | None:
        return None

    def session_login_headers(self, config: ConnectorConfig) -> dict[str, str]:
        return {}

    def session_headers(self, answer: Any) -> dict[str, str]:
        return {}

    def close_session(self) -> HttpCall | None:
        return None

    def check_fresh(self, moment: datetime, now: datetime, what: str) -> None:
        skew = abs((now - moment).total_seconds())
        if skew > self.max_skew_seconds:
            raise SignatureError(
                f"{what} is {int(skew)} s away from now (more than {self.max_skew_seconds} s): a stale or "
                "replayed request; check the sender's clock"
            )


# -- helpers shared by the modules ------------------------------------------------------------


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header, case-insensitively."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def require_header(headers: Mapping[str, str], name: str) -> str:
    value = header(headers, name)
    if not value:
        raise SignatureError(f"header {name} is missing; the ticket system must sign every webhook")
    return value


def hmac_hex(secret: str, message: bytes, algorithm: str = "sha256") -> str:
    return hmac.new(secret.encode(), message, getattr(hashlib, algorithm)).hexdigest()


def same(expected: str, given: str) -> bool:
    """Constant-time comparison of two signatures."""
    return hmac.compare_digest(expected.encode(), given.strip().encode())


def epoch(value: str, what: str) -> datetime:
    """A Unix-seconds timestamp header as an aware datetime."""
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise SignatureError(f"{what} {value!r} is not a Unix time in seconds") from exc


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time from a payload (None when missing or unreadable); no zone means UTC."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Zendesk sends nanoseconds
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit() and ":" not in text[-5:]:
        text = f"{text[:-2]}:{text[-2:]}"  # Jira's +0800
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def dig(payload: Any, *path: str | int) -> Any:
    """payload[path[0]][path[1]]... or None where any step is missing."""
    for step in path:
        if isinstance(payload, list):
            if not isinstance(step, int) or not -len(payload) <= step < len(payload):
                return None
            payload = payload[step]
        elif isinstance(payload, Mapping) and step in payload:
            payload = payload[step]
        else:
            return None
    return payload


def need(payload: Any, *path: str | int) -> Any:
    """Like :func:`dig` but a PayloadError naming the field when it is missing."""
    value = dig(payload, *path)
    if value is None or value == "":
        raise PayloadError(f"field {'.'.join(map(str, path))} is missing from the webhook payload")
    return value


def text_of(value: Any) -> str:
    """Plain text of a string, or of an Atlassian Document Format node tree (Jira REST v3)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        own = str(value["text"]) if isinstance(value.get("text"), str) else ""
        inner = [text_of(child) for child in value.get("content") or []]
        joiner = "\n" if value.get("type") in ("doc", "bulletList", "orderedList") else ""
        return own + joiner.join(part for part in inner if part)
    if isinstance(value, Sequence):
        return "\n".join(text_of(v) for v in value)
    return str(value)


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a PayloadError saying why not."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"the webhook body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise PayloadError("the webhook body is not a JSON object")
    return payload


def opt_str(value: Any) -> str | None:
    """A payload value as text, None when missing or empty; an {id, name} object gives its id."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return None if value is None or value == "" else str(value)


def vendor_id(value: str) -> int | str:
    """A mapped label or ticket id as the vendor's JSON wants it: a number when it is all digits."""
    return int(value) if value.isdigit() else value
