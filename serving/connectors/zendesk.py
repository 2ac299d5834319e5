"""Zendesk: ticket event webhooks in, Tickets API write-back out.

Webhook signing (developer.zendesk.com/documentation/webhooks/verifying): header
``X-Zendesk-Webhook-Signature`` = base64(HMAC-SHA256(secret, timestamp + raw body)) with
``X-Zendesk-Webhook-Signature-Timestamp`` (ISO 8601). Payloads are the ticket event schema
(developer.zendesk.com/api-reference/webhooks/event-types/ticket-events): ``type``
``zen:event-type:ticket.*``, ``id`` (the event), ``detail`` (the ticket), ``event`` (current/previous).
Write-back: ``PUT /api/v2/tickets/{id}.json`` with API-token basic auth ``{email}/token:{token}``
(developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
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
    json_object,
    need,
    opt_str,
    parse_time,
    require_header,
    same,
    vendor_id,
)

PREFIX = "zen:event-type:ticket."
_TRIAGE_EVENTS = {"created", "subject_changed", "description_changed"}
_SOLVED = {"solved", "closed"}


class Zendesk(Connector):
    system = "zendesk"

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        signature = require_header(headers, "X-Zendesk-Webhook-Signature")
        stamp = require_header(headers, "X-Zendesk-Webhook-Signature-Timestamp")
        moment = parse_time(stamp)
        if moment is None:
            raise SignatureError(f"X-Zendesk-Webhook-Signature-Timestamp {stamp!r} is not an ISO 8601 time")
        digest = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
        if not same(base64.b64encode(digest).decode(), signature):
            raise SignatureError("X-Zendesk-Webhook-Signature does not match the connector's signing secret")
        self.check_fresh(moment, now, "X-Zendesk-Webhook-Signature-Timestamp")

    def parse(self, headers: Mapping[str, str], body: bytes) -> Inbound:
        payload = json_object(body)
        kind = str(need(payload, "type"))
        event_id = str(need(payload, "id"))
        ticket_id = str(need(payload, "detail", "id"))
        if not kind.startswith(PREFIX):
            return Inbound("ignored", ticket_id, event_id)
        name = kind.removeprefix(PREFIX)
        detail = payload["detail"]
        if name in _TRIAGE_EVENTS:
            title = str(dig(detail, "subject") or "")
            text = str(dig(detail, "description") or "")
            if not (title or text):
                raise PayloadError("detail.subject and detail.description are both empty; nothing to triage")
            return Inbound(
                "ticket",
                ticket_id,
                event_id,
                ticket=TicketData(title, text, parse_time(detail.get("created_at"))),
            )
        at = parse_time(payload.get("time"))
        current, previous = dig(payload, "event", "current"), dig(payload, "event", "previous")
        if name == "group_assignment_changed":
            return Inbound(
                "outcome",
                ticket_id,
                event_id,
                outcome=Outcome(group=opt_str(current), previous_group=opt_str(previous), at=at),
            )
        if name == "priority_changed":
            return Inbound("outcome", ticket_id, event_id, outcome=Outcome(priority=opt_str(current), at=at))
        if name == "status_changed" and str(current).casefold() in _SOLVED:
            return Inbound(
                "outcome",
                ticket_id,
                event_id,
                outcome=Outcome(group=opt_str(detail.get("group_id")), solved=True, at=at),
            )
        return Inbound("ignored", ticket_id, event_id)

    def auth_headers(self, config: ConnectorConfig) -> dict[str, str]:
        email, token = config.credentials.get("email"), config.credentials.get("api_token")
        if not email or not token:
            raise ValueError("zendesk credentials need 'email' and 'api_token'")
        basic = base64.b64encode(f"{email}/token:{token}".encode()).decode()
        return {"Authorization": f"Basic {basic}"}

    def write_calls(self, config: ConnectorConfig, ticket_id: str, plan: WritePlan) -> list[HttpCall]:
        ticket: dict[str, Any] = {}
        if plan.group is not None:
            ticket["group_id"] = vendor_id(plan.group)
        if plan.priority is not None:
            ticket["priority"] = plan.priority
        # Tags are added, never replaced: the agents' own tags stay (additional_tags).
        tags = list(plan.tags) + ([plan.category] if plan.category else [])
        if tags:
            ticket["additional_tags"] = tags
        if plan.note:
            ticket["comment"] = {"body": plan.note, "public": False}
        return [
            HttpCall("PUT", f"/api/v2/tickets/{ticket_id}.json", {"ticket": ticket}, (200,), "update ticket")
        ]

    def check_call(self, config: ConnectorConfig) -> HttpCall | None:
        return HttpCall("GET", "/api/v2/users/me.json", label="who am I")

    def resolution_call(self, ticket_id: str) -> HttpCall | None:
        # The solved event does not carry the answer: the last public comment is the resolution.
        return HttpCall("GET", f"/api/v2/tickets/{ticket_id}/comments.json?sort_order=desc", label="comments")

    def resolution_from(self, answer: Any) -> str | None:
        for comment in dig(answer, "comments") or []:
            if isinstance(comment, Mapping) and comment.get("public") and comment.get("body"):
                return str(comment["body"])
        return None
