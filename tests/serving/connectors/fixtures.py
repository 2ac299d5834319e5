"""Webhook payloads as each system sends them, and the senders' signing, for the connector tests.

Each builder follows a documented example (source above it); only ids, texts and times change.
The signers are written from the vendors' descriptions, independently of serving.connectors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

VPN_TITLE = "VPN连不上"
VPN_BODY = "我的电脑从今天早上开始VPN一直连不上，提示错误809，内网系统都打不开，请IT帮忙看一下。"
MAPPING = {
    "department": {"IT": "360001", "Finance": "360002", "HR": "360003"},
    "priority": {"P1": "urgent", "P2": "high", "P3": "normal", "P4": "low"},
    "category": {"network": "cat-network"},
}


def raw(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


# -- Zendesk --------------------------------------------------------------------------------------
# Source: developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/ (example payload of
# zen:event-type:ticket.created; detail object properties; event.current/previous on *_changed).
def zendesk_event(kind: str, ticket_id: str, event_id: str, **event: Any) -> dict[str, Any]:
    return {
        "account_id": 22129848,
        "detail": {
            "actor_id": "8447388090494",
            "assignee_id": None,
            "brand_id": "8447346621310",
            "created_at": "2026-12-04T01:12:07Z",
            "custom_status": "8447320465790",
            "description": VPN_BODY,
            "external_id": None,
            "form_id": "8646151517822",
            "group_id": "360001",
            "id": ticket_id,
            "is_public": True,
            "organization_id": None,
            "priority": "NORMAL",
            "requester_id": "8447388090494",
            "status": "OPEN",
            "subject": VPN_TITLE,
            "submitter_id": "8447388090494",
            "tags": ["vpn"],
            "type": "INCIDENT",
            "updated_at": "2026-12-04T01:12:07Z",
            "via": {"channel": "web_service"},
        },
        "event": {"meta": {"sequence": {"id": "e1b5", "position": 1, "total": 1}}, **event},
        "id": event_id,
        "subject": f"zen:ticket:{ticket_id}",
        "time": "2026-12-04T01:12:07.672717030Z",
        "type": f"zen:event-type:ticket.{kind}",
        "zendesk_event_version": "2022-11-06",
    }


# Source: developer.zendesk.com/documentation/webhooks/verifying/ — base64(HMAC-SHA256(secret,
# timestamp + body)); the timestamp header is ISO 8601 (e.g. "2024-04-17T17:18:10Z").
def zendesk_headers(secret: str, body: bytes, at: datetime | None = None) -> dict[str, str]:
    stamp = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Id": "01GK8E6BKWMJZD2T8Y5AXJQMG5",
        "X-Zendesk-Webhook-Invocation-Id": "8350205582",
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
    }


# -- Jira -----------------------------------------------------------------------------------------
# Source: developer.atlassian.com/cloud/jira/platform/webhooks/ ("Example callback for an issue-
# related event": timestamp, webhookEvent, issue_event_type_name, user, issue, changelog).
def jira_event(
    event: str, key: str, timestamp: int, items: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "timestamp": timestamp,
        "webhookEvent": event,
        "issue_event_type_name": "issue_created" if event.endswith("created") else "issue_generic",
        "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Requester"},
        "issue": {
            "id": "10042",
            "self": "https://acme.atlassian.net/rest/api/2/10042",
            "key": key,
            "fields": {
                "summary": VPN_TITLE,
                "description": VPN_BODY,
                "created": "2026-12-04T09:12:07.000+0800",
                "issuetype": {"id": "10001", "name": "Incident"},
                "priority": {"id": "3", "name": "Medium"},
                "status": {"name": "Waiting for support", "statusCategory": {"key": "new"}},
                "components": [],
                "labels": [],
                "resolution": None,
            },
        },
    }
    if items is not None:
        payload["changelog"] = {"id": "10100", "items": items}
    return payload


# Source: same page, "Secure admin webhooks": with a secret, X-Hub-Signature: sha256=<hex HMAC>.
def jira_headers(secret: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Atlassian-Webhook-Identifier": "2a4e9d5c-0f4b-4c8a-9f0e-5a0c6f2f3b11",
        "X-Hub-Signature": f"sha256={digest}",
    }


# -- Zammad ---------------------------------------------------------------------------------------
# Source: docs.zammad.org/en/latest/manage/webhook/payload.html (default payload: "ticket" with
# association names, "article"); zammad/zammad app/jobs/trigger_webhook_job.rb (headers).
def zammad_event(ticket_id: int, updated_at: str, article_count: int = 1, **ticket: Any) -> dict[str, Any]:
    return {
        "ticket": {
            "id": ticket_id,
            "group_id": 1,
            "priority_id": 2,
            "state_id": 1,
            "number": f"3100{ticket_id}",
            "title": VPN_TITLE,
            "customer_id": 7,
            "created_at": "2026-12-04T01:12:07.000Z",
            "updated_at": updated_at,
            "article_count": article_count,
            "group": "Users",
            "priority": "2 normal",
            "state": "new",
            "tags": [],
            **ticket,
        },
        "article": {
            "id": 40 + article_count,
            "ticket_id": ticket_id,
            "from": "requester@example.com",
            "subject": VPN_TITLE,
            "body": VPN_BODY,
            "content_type": "text/plain",
            "internal": False,
            "type": "email",
            "sender": "Customer",
            "created_at": updated_at,
        },
    }


def zammad_headers(secret: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Zammad-Trigger": "triage: new ticket",
        "X-Zammad-Delivery": "c0ffee00-1111-2222-3333-444455556666",
        "X-Hub-Signature": f"sha1={digest}",
    }


# -- GLPI -----------------------------------------------------------------------------------------
# Source: glpi-project/glpi src/Webhook.php (raise(): body {"event", "item"} with the item from the
# high-level API; X-GLPI-signature = hash_hmac('sha256', body . timestamp, secret), X-GLPI-timestamp).
def glpi_ticket(event: str, ticket_id: int, **item: Any) -> dict[str, Any]:
    return {
        "event": event,
        "item": {
            "id": ticket_id,
            "name": VPN_TITLE,
            "content": f"<p>{VPN_BODY}</p>",
            "category": None,
            "status": {"id": 1, "name": "New"},
            "urgency": {"id": 3, "name": "Medium"},
            "priority": {"id": 3, "name": "Medium"},
            "date": "2026-12-04 09:12:07",
            "date_creation": "2026-12-04 09:12:07",
            "date_mod": "2026-12-04 09:12:07",
            "team": [],
            **item,
        },
    }


def glpi_solution(solution_id: int, ticket_id: int, content: str) -> dict[str, Any]:
    return {
        "event": "new",
        "item": {
            "id": solution_id,
            "itemtype": "Ticket",
            "items_id": ticket_id,
            "content": f"<p>{content}</p>",
            "status": 2,
            "date_creation": "2026-12-04 11:40:00",
        },
    }


def glpi_headers(secret: str, body: bytes, at: datetime | None = None) -> dict[str, str]:
    stamp = str(int((at or datetime.now(UTC)).timestamp()))
    digest = hmac.new(secret.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-GLPI-signature": digest, "X-GLPI-timestamp": stamp}


# -- generic (ours) -------------------------------------------------------------------------------
def generic_event(event: str, ticket_id: str, event_id: str, **ticket: Any) -> dict[str, Any]:
    return {
        "event": event,
        "event_id": event_id,
        "ticket": {"id": ticket_id, "title": VPN_TITLE, "body": VPN_BODY, **ticket},
    }


def generic_headers(secret: str, body: bytes, at: datetime | None = None) -> dict[str, str]:
    stamp = str(int((at or datetime.now(UTC)).timestamp()))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Triage-Timestamp": stamp,
        "X-Triage-Signature": f"sha256={digest}",
    }
