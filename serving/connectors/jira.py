"""Jira Service Management: issue webhooks in, issue edit + internal request comment out.

Webhooks (developer.atlassian.com/cloud/jira/platform/webhooks): body ``webhookEvent``
(``jira:issue_created`` / ``jira:issue_updated``), ``timestamp`` (ms), ``issue`` (``key``,
``fields``), and on updates ``changelog.items`` (``field``, ``fieldId``, ``from``/``to`` ids,
``fromString``/``toString``). With a secret set, Jira signs the raw body in ``X-Hub-Signature:
sha256=<hex HMAC-SHA256>`` (same page, "Secure admin webhooks"; WebSub convention). The event id
is built from the signed body (``webhookEvent`` + ``timestamp``), so a replay with a new
``X-Atlassian-Webhook-Identifier`` is still one event.
Write-back: ``PUT /rest/api/3/issue/{key}`` (fields + ``update.labels`` add, 204) and
``POST /rest/servicedeskapi/request/{key}/comment`` with ``public: false`` (201), basic auth
``email:api_token``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from serving.connectors.base import (
    Connector,
    ConnectorConfig,
    HttpCall,
    Inbound,
    Outcome,
    PayloadError,
    SignatureError,
    TicketData,
    WritePlan,
    dig,
    hmac_hex,
    json_object,
    need,
    opt_str,
    parse_time,
    require_header,
    same,
    text_of,
)

_OUTCOME_FIELDS = {"priority", "components", "resolution", "status", "labels"}
_TEXT_FIELDS = {"summary", "description"}


class Jira(Connector):
    system = "jira"

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        method, _, digest = require_header(headers, "X-Hub-Signature").partition("=")
        if method.strip().lower() != "sha256" or not same(hmac_hex(secret, body, "sha256"), digest):
            raise SignatureError("X-Hub-Signature does not match the connector's secret (sha256=<hex>)")

    def parse(self, headers: Mapping[str, str], body: bytes) -> Inbound:
        payload = json_object(body)
        event = str(need(payload, "webhookEvent"))
        key = str(need(payload, "issue", "key"))
        event_id = f"{event}:{need(payload, 'timestamp')}"
        fields = dig(payload, "issue", "fields") or {}
        if event == "jira:issue_created":
            return Inbound("ticket", key, event_id, ticket=_ticket(fields))
        if event != "jira:issue_updated":
            return Inbound("ignored", key, event_id)
        items = [i for i in dig(payload, "changelog", "items") or [] if isinstance(i, Mapping)]
        changed = {str(i.get("fieldId") or i.get("field") or "").lower() for i in items}
        if changed & _OUTCOME_FIELDS:
            by_field = {str(i.get("fieldId") or i.get("field")).lower(): i for i in items}
            component = by_field.get("components")
            priority = by_field.get("priority")
            resolution = dig(fields, "resolution")
            solved = resolution is not None or dig(fields, "status", "statusCategory", "key") == "done"
            stamp = payload.get("timestamp")
            at = datetime.fromtimestamp(int(stamp) / 1000, UTC) if isinstance(stamp, int) else None
            return Inbound(
                "outcome",
                key,
                event_id,
                outcome=Outcome(
                    group=opt_str(component.get("to")) if component else _first_component(fields),
                    previous_group=opt_str(component.get("from")) if component else None,
                    priority=opt_str(priority.get("to"))
                    if priority
                    else opt_str(dig(fields, "priority", "id")),
                    solved=solved,
                    resolution=_resolution(fields) if solved else None,
                    at=at,
                ),
            )
        if changed & _TEXT_FIELDS:
            return Inbound("ticket", key, event_id, ticket=_ticket(fields))
        return Inbound("ignored", key, event_id)

    def auth_headers(self, config: ConnectorConfig) -> dict[str, str]:
        email, token = config.credentials.get("email"), config.credentials.get("api_token")
        if not email or not token:
            raise ValueError("jira credentials need 'email' and 'api_token'")
        return {"Authorization": "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()}

    def write_calls(self, config: ConnectorConfig, ticket_id: str, plan: WritePlan) -> list[HttpCall]:
        fields: dict[str, Any] = {}
        if plan.group is not None:
            fields["components"] = [{"id": plan.group}]
        if plan.priority is not None:
            fields["priority"] = {"id": plan.priority}
        labels = [*plan.tags, *([plan.category] if plan.category else [])]
        edit: dict[str, Any] = {}
        if fields:
            edit["fields"] = fields
        if labels:
            edit["update"] = {"labels": [{"add": label} for label in labels]}
        calls = []
        if edit:
            calls.append(HttpCall("PUT", f"/rest/api/3/issue/{ticket_id}", edit, (204,), "edit issue"))
        if plan.note:
            calls.append(
                HttpCall(
                    "POST",
                    f"/rest/servicedeskapi/request/{ticket_id}/comment",
                    {"body": plan.note, "public": False},
                    (201,),
                    "internal comment",
                )
            )
        return calls

    def check_call(self, config: ConnectorConfig) -> HttpCall | None:
        return HttpCall("GET", "/rest/api/3/myself", label="who am I")


def _ticket(fields: Mapping[str, Any]) -> TicketData:
    title, text = str(fields.get("summary") or ""), text_of(fields.get("description"))
    if not (title or text):
        raise PayloadError("issue.fields.summary and issue.fields.description are both empty")
    return TicketData(title, text, parse_time(fields.get("created")))


def _first_component(fields: Mapping[str, Any]) -> str | None:
    return opt_str(dig(fields, "components", 0, "id"))


def _resolution(fields: Mapping[str, Any]) -> str | None:
    comments = dig(fields, "comment", "comments") or []
    if comments:
        return text_of(dig(comments, -1, "body")) or None
    return opt_str(dig(fields, "resolution", "name"))
