"""Zammad: trigger webhooks in, ticket update + tags + internal article out.

Webhooks (docs.zammad.org/en/latest/manage/webhook.html and zammad/zammad
app/jobs/trigger_webhook_job.rb): POST with ``X-Zammad-Trigger``, ``X-Zammad-Delivery`` and, when a
signature token is set, ``X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body>``; the default
payload is ``{"ticket": {...}, "article": {...}}`` (ticket attributes with association names:
``id``, ``title``, ``group_id``/``group``, ``priority_id``/``priority``, ``state``,
``article_count``, ``created_at``, ``updated_at``). The event id comes from the signed body
(ticket id + ``updated_at`` + article id). REST (docs.zammad.org/en/latest/api/): ``PUT
/api/v1/tickets/{id}``, ``POST /api/v1/tags/add``, ``POST /api/v1/ticket_articles`` with
``internal: true``; ``Authorization: Token token=...``.
"""

from __future__ import annotations

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
    hmac_hex,
    json_object,
    need,
    opt_str,
    parse_time,
    require_header,
    same,
    vendor_id,
)

_SOLVED = {"closed", "solved", "merged"}


class Zammad(Connector):
    system = "zammad"

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        method, _, digest = require_header(headers, "X-Hub-Signature").partition("=")
        if method.strip().lower() != "sha1" or not same(hmac_hex(secret, body, "sha1"), digest):
            raise SignatureError(
                "X-Hub-Signature does not match the connector's signature token (sha1=<hex>)"
            )

    def parse(self, headers: Mapping[str, str], body: bytes) -> Inbound:
        payload = json_object(body)
        ticket = need(payload, "ticket")
        ticket_id = str(need(ticket, "id"))
        article = dig(payload, "article") or {}
        event_id = f"{ticket.get('updated_at')}:{article.get('id', '')}"
        state = str(dig(ticket, "state") or "").casefold()
        first = int(ticket.get("article_count") or 1) <= 1 and state not in _SOLVED
        if first:
            title = str(ticket.get("title") or "")
            text = str(article.get("body") or "")
            if not (title or text):
                raise PayloadError("ticket.title and article.body are both empty; nothing to triage")
            return Inbound(
                "ticket",
                ticket_id,
                event_id,
                ticket=TicketData(title, text, parse_time(ticket.get("created_at"))),
            )
        solved = state in _SOLVED
        resolution = None
        if solved and article.get("body") and not article.get("internal"):
            resolution = str(article["body"])
        return Inbound(
            "outcome",
            ticket_id,
            event_id,
            outcome=Outcome(
                group=opt_str(ticket.get("group_id")),
                priority=opt_str(ticket.get("priority_id")),
                solved=solved,
                resolution=resolution,
                at=parse_time(ticket.get("updated_at")),
            ),
        )

    def auth_headers(self, config: ConnectorConfig) -> dict[str, str]:
        token = config.credentials.get("api_token")
        if not token:
            raise ValueError("zammad credentials need 'api_token'")
        return {"Authorization": f"Token token={token}"}

    def write_calls(self, config: ConnectorConfig, ticket_id: str, plan: WritePlan) -> list[HttpCall]:
        number = vendor_id(ticket_id)
        update: dict[str, Any] = {}
        if plan.group is not None:
            update["group_id"] = vendor_id(plan.group)
        if plan.priority is not None:
            update["priority_id"] = vendor_id(plan.priority)
        calls = []
        if update:
            calls.append(HttpCall("PUT", f"/api/v1/tickets/{ticket_id}", update, (200,), "update ticket"))
        for tag in [*plan.tags, *([plan.category] if plan.category else [])]:
            calls.append(
                HttpCall(
                    "POST",
                    "/api/v1/tags/add",
                    {"item": tag, "object": "Ticket", "o_id": number},
                    (200, 201),
                    "add tag",
                )
            )
        if plan.note:
            article = {
                "ticket_id": number,
                "body": plan.note,
                "content_type": "text/plain",
                "type": "note",
                "internal": True,
            }
            calls.append(HttpCall("POST", "/api/v1/ticket_articles", article, (200, 201), "internal article"))
        return calls

    def check_call(self, config: ConnectorConfig) -> HttpCall | None:
        return HttpCall("GET", "/api/v1/users/me", label="who am I")
