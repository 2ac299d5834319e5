"""generic: any in-house system, speaking our own ticket schema.

In: ``POST /v1/webhooks/{name}`` with ``X-Triage-Timestamp`` (Unix seconds) and
``X-Triage-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>``; body
``{"event_id", "event": "created"|"updated"|"reassigned"|"solved", "ticket": {"id", "title", "body",
"created_at", "department", "previous_department", "category", "priority", "resolution"}}``
(``department``/``category``/``priority`` in the system's own values, mapped like any other).
Out: ``POST {base_url}`` with ``{"ticket_id", "group", "priority", "category", "tags", "note"}``,
signed the same way, answered with 2xx.
"""

from __future__ import annotations

import time
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
    epoch,
    hmac_hex,
    json_object,
    need,
    opt_str,
    parse_time,
    require_header,
    same,
)

EVENTS = ("created", "updated", "reassigned", "solved")


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers that sign ``body`` for a generic connector (used by senders and by our write-back)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac_hex(secret, stamp.encode() + b"." + body, "sha256")
    return {"X-Triage-Timestamp": stamp, "X-Triage-Signature": f"sha256={digest}"}


class Generic(Connector):
    system = "generic"

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        stamp = require_header(headers, "X-Triage-Timestamp")
        method, _, digest = require_header(headers, "X-Triage-Signature").partition("=")
        moment = epoch(stamp, "X-Triage-Timestamp")
        expected = hmac_hex(secret, stamp.encode() + b"." + body, "sha256")
        if method.strip().lower() != "sha256" or not same(expected, digest):
            raise SignatureError("X-Triage-Signature does not match the connector's signing secret")
        self.check_fresh(moment, now, "X-Triage-Timestamp")

    def parse(self, headers: Mapping[str, str], body: bytes) -> Inbound:
        payload = json_object(body)
        event = str(need(payload, "event"))
        if event not in EVENTS:
            raise PayloadError(f"field event is {event!r}; use one of {', '.join(EVENTS)}")
        event_id = str(need(payload, "event_id"))
        ticket = need(payload, "ticket")
        ticket_id = str(need(ticket, "id"))
        if event in ("created", "updated"):
            title, text = str(ticket.get("title") or ""), str(ticket.get("body") or "")
            if not text.strip():
                raise PayloadError("field ticket.body is empty; send the ticket's text")
            return Inbound(
                "ticket",
                ticket_id,
                event_id,
                ticket=TicketData(
                    title, text, parse_time(ticket.get("created_at")), opt_str(ticket.get("language"))
                ),
            )
        return Inbound(
            "outcome",
            ticket_id,
            event_id,
            outcome=Outcome(
                group=opt_str(ticket.get("department")),
                previous_group=opt_str(ticket.get("previous_department")),
                priority=opt_str(ticket.get("priority")),
                category=opt_str(ticket.get("category")),
                solved=event == "solved",
                resolution=opt_str(dig(ticket, "resolution")),
                at=parse_time(payload.get("at")),
            ),
        )

    def auth_headers(self, config: ConnectorConfig) -> dict[str, str]:
        return {}

    def write_calls(self, config: ConnectorConfig, ticket_id: str, plan: WritePlan) -> list[HttpCall]:
        body: dict[str, Any] = {
            "ticket_id": ticket_id,
            "group": plan.group,
            "priority": plan.priority,
            "category": plan.category,
            "tags": list(plan.tags),
            "note": plan.note,
        }
        return [HttpCall("POST", "", body, (200, 201, 202, 204), "post result")]

    def request_headers(self, config: ConnectorConfig, body: bytes) -> dict[str, str]:
        return sign(config.signing_secret, body)
