"""GLPI: native webhooks in, legacy REST API (apirest.php) session + Ticket update + followup out.

Webhooks (glpi-project/glpi src/Webhook.php, GLPI 11, core feature; GLPI 10 needed a plugin):
the body is ``{"event": "new"|"update"|..., "item": {...}}`` (the item as the high-level API
returns it) and the headers ``X-GLPI-signature`` = hex HMAC-SHA256(secret, raw body + timestamp)
and ``X-GLPI-timestamp`` (Unix seconds). GLPI queues webhooks and sends them from its cron, so the
stale window is an hour. Solutions arrive from a webhook on the ``ITILSolution`` item type
(``itemtype``/``items_id`` name the ticket, ``content`` is the resolution).
REST (glpi-project/glpi apirest.md): ``GET /apirest.php/initSession`` with ``App-Token`` and
``Authorization: user_token ...`` -> ``session_token``; ``PUT /apirest.php/Ticket/{id}`` and
``POST /apirest.php/Ticket/{id}/ITILFollowup`` with ``{"input": {...}}`` and ``Session-Token``;
``GET /apirest.php/killSession``.
"""

from __future__ import annotations

import re
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
    header,
    hmac_hex,
    json_object,
    need,
    opt_str,
    parse_time,
    require_header,
    same,
    vendor_id,
)

_SOLVED_STATUS = {"5", "6", "solved", "closed"}
_TAGS = re.compile(r"<[^>]+>")


def _plain(html: str) -> str:
    """GLPI stores rich text as HTML: the text without tags, entities left for the reader."""
    return " ".join(_TAGS.sub(" ", html).split())


def _assigned_group(item: Mapping[str, Any]) -> str | None:
    for member in item.get("team") or []:
        if isinstance(member, Mapping) and member.get("type") == "Group" and member.get("role") == "assigned":
            return opt_str(member.get("id"))
    return opt_str(item.get("groups_id_assign"))


class Glpi(Connector):
    system = "glpi"
    max_skew_seconds = 3600

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        signature = require_header(headers, "X-GLPI-signature")
        stamp = require_header(headers, "X-GLPI-timestamp")
        moment = epoch(stamp, "X-GLPI-timestamp")
        if not same(hmac_hex(secret, body + stamp.encode(), "sha256"), signature):
            raise SignatureError("X-GLPI-signature does not match the webhook's secret")
        self.check_fresh(moment, now, "X-GLPI-timestamp")

    def parse(self, headers: Mapping[str, str], body: bytes) -> Inbound:
        payload = json_object(body)
        event = str(need(payload, "event"))
        item = need(payload, "item")
        stamp = header(headers, "X-GLPI-timestamp") or ""
        if item.get("itemtype") == "Ticket" and "items_id" in item:  # an ITILSolution
            ticket_id = str(need(item, "items_id"))
            event_id = f"solution:{need(item, 'id')}"
            if event != "new":
                return Inbound("ignored", ticket_id, event_id)
            content = _plain(str(item.get("content") or ""))
            return Inbound(
                "outcome",
                ticket_id,
                event_id,
                outcome=Outcome(
                    solved=True, resolution=content or None, at=parse_time(item.get("date_creation"))
                ),
            )
        ticket_id = str(need(item, "id"))
        event_id = f"{event}:{stamp}"
        if event == "new":
            title = str(item.get("name") or "")
            text = _plain(str(item.get("content") or ""))
            if not (title or text):
                raise PayloadError("item.name and item.content are both empty; nothing to triage")
            created = parse_time(item.get("date") or item.get("date_creation"))
            return Inbound("ticket", ticket_id, event_id, ticket=TicketData(title, text, created))
        if event == "update":
            status = str(opt_str(item.get("status")) or "").casefold()
            name = str(dig(item, "status", "name") or "").casefold()
            return Inbound(
                "outcome",
                ticket_id,
                event_id,
                outcome=Outcome(
                    group=_assigned_group(item),
                    priority=opt_str(item.get("priority")),
                    category=opt_str(item.get("category") or item.get("itilcategories_id")),
                    solved=bool({status, name} & _SOLVED_STATUS),
                    at=parse_time(item.get("date_mod")),
                ),
            )
        return Inbound("ignored", ticket_id, event_id)

    def auth_headers(self, config: ConnectorConfig) -> dict[str, str]:
        app, user = config.credentials.get("app_token"), config.credentials.get("user_token")
        if not app or not user:
            raise ValueError("glpi credentials need 'app_token' and 'user_token'")
        return {"App-Token": app}

    def open_session(self, config: ConnectorConfig) -> HttpCall | None:
        return HttpCall("GET", "/apirest.php/initSession", label="init session")

    def session_login_headers(self, config: ConnectorConfig) -> dict[str, str]:
        return {"Authorization": f"user_token {config.credentials.get('user_token', '')}"}

    def session_headers(self, answer: Any) -> dict[str, str]:
        token = dig(answer, "session_token")
        if not token:
            raise PayloadError("GLPI initSession answered without session_token")
        return {"Session-Token": str(token)}

    def close_session(self) -> HttpCall | None:
        return HttpCall("GET", "/apirest.php/killSession", label="kill session")

    def write_calls(self, config: ConnectorConfig, ticket_id: str, plan: WritePlan) -> list[HttpCall]:
        number = vendor_id(ticket_id)
        update: dict[str, Any] = {}
        if plan.group is not None:
            update["_groups_id_assign"] = vendor_id(plan.group)
        if plan.priority is not None:
            update["priority"] = vendor_id(plan.priority)
        if plan.category is not None:
            update["itilcategories_id"] = vendor_id(plan.category)
        calls = []
        if update:
            calls.append(
                HttpCall(
                    "PUT", f"/apirest.php/Ticket/{ticket_id}", {"input": update}, (200,), "update ticket"
                )
            )
        note = plan.note
        if plan.tags:  # GLPI has no tags in core: they open the note, where views can search them
            note = " ".join(f"#{t}" for t in plan.tags) + ("\n\n" + note if note else "")
        if note:
            followup = {"itemtype": "Ticket", "items_id": number, "content": note, "is_private": 1}
            calls.append(
                HttpCall(
                    "POST",
                    f"/apirest.php/Ticket/{ticket_id}/ITILFollowup",
                    {"input": followup},
                    (201,),
                    "private followup",
                )
            )
        return calls

    def check_call(self, config: ConnectorConfig) -> HttpCall | None:
        return HttpCall("GET", "/apirest.php/getFullSession", label="session")
