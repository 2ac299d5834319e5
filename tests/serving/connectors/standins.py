"""Strict local stand-ins for the ticket systems' REST APIs, bound to loopback.

Each plays the documented endpoints our connectors call and nothing else: the method, the path,
the auth header and the JSON shape (no unknown keys, the documented types) must match, else it
answers the vendor's own 4xx. Faults can be queued: 429 with Retry-After, 500, or a time-out
(it answers only after the client has given up). Every request is recorded; ``writes`` holds the
accepted state-changing ones, in order.

Sources of the shapes: Zendesk Tickets API (developer.zendesk.com/api-reference/ticketing/tickets/
tickets/#update-ticket, .../ticket_comments/#list-comments); Jira Cloud REST v3 "Edit issue"
(developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-
issueidorkey-put) and JSM "Create request comment" (developer.atlassian.com/cloud/jira/service-desk/
rest/api-group-request/#api-rest-servicedeskapi-request-issueidorkey-comment-post); Zammad REST
(docs.zammad.org/en/latest/api/ticket/index.html, .../ticket/articles.html, .../ticket/tags.html);
GLPI legacy REST (glpi-project/glpi apirest.md: initSession, killSession, Update item(s), Add
item(s) on a sub-itemtype).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from serving.connectors.base import hmac_hex


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float
    status: int = 0


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Refused(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.answer = Answer(status, body)


def exact_keys(
    what: str, value: Any, required: set[str], optional: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Refused(400, {"error": f"{what} must be an object"})
    missing, unknown = required - value.keys(), value.keys() - required - optional
    if missing or unknown:
        raise Refused(400, {"error": f"{what}: missing {sorted(missing)}, unknown {sorted(unknown)}"})
    return value


class StandIn:
    """A vendor API on 127.0.0.1:<free port>; subclasses implement ``route``."""

    system = ""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.writes: list[Recorded] = []
        self.faults: list[tuple[str, float]] = []
        self.tickets: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                stand_in._handle(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def inject(self, kind: str, value: float = 0.0) -> None:
        """Queue a fault for the next request: "429" (value = Retry-After s), "500", "timeout" (value = s); "pass" lets one request through."""
        with self._lock:
            self.faults.append((kind, value))

    def wait_writes(self, n: int, timeout: float = 60.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.writes) >= n:
                    return list(self.writes)
            time.sleep(0.05)
        raise AssertionError(
            f"{self.system}: {len(self.writes)} writes after {timeout} s, wanted {n}: {self.requests}"
        )

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        headers = {k: v for k, v in handler.headers.items()}
        record = Recorded(handler.command, handler.path, headers, None, time.time())
        with self._lock:
            self.requests.append(record)
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None and fault[0] == "pass":
            fault = None
        answer: Answer
        if fault is not None:
            kind, value = fault
            if kind == "timeout":
                time.sleep(value)
                answer = Answer(504, {"error": "timed out"})
            elif kind == "429":
                answer = Answer(429, {"error": "TooManyRequests"}, {"Retry-After": str(int(value))})
            else:
                answer = Answer(500, {"error": "InternalError"})
        else:
            try:
                body = None
                if raw:
                    if handler.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
                        raise Refused(415, {"error": "Content-Type must be application/json"})
                    body = json.loads(raw)
                record.body = body
                answer = self.route(handler.command, handler.path, headers, body, raw)
                if handler.command != "GET" and answer.status < 300:
                    with self._lock:
                        self.writes.append(record)
            except Refused as exc:
                answer = exc.answer
            except json.JSONDecodeError:
                answer = Answer(400, {"error": "body is not JSON"})
        record.status = answer.status
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        try:
            handler.send_response(answer.status)
            for key, value in answer.headers.items():
                handler.send_header(key, value)
            if payload:
                handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (time-out): nothing to answer

    def route(self, method: str, path: str, headers: dict[str, str], body: Any, raw: bytes) -> Answer:
        raise NotImplementedError


def _match(
    routes: list[tuple[str, str, Callable[..., Answer]]], method: str, path: str
) -> tuple[Callable[..., Answer], tuple[str, ...]]:
    known_path = False
    for verb, pattern, action in routes:
        found = re.fullmatch(pattern, path)
        if found:
            known_path = True
            if verb == method:
                return action, found.groups()
    raise Refused(405 if known_path else 404, {"error": f"no route {method} {path}"})


def _basic(headers: dict[str, str], user: str, password: str) -> bool:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return headers.get("Authorization") == expected


class ZendeskStandIn(StandIn):
    system = "zendesk"
    PRIORITIES: ClassVar[set[str]] = {"urgent", "high", "normal", "low"}

    def __init__(self, email: str, token: str) -> None:
        super().__init__()
        self.email, self.token = email, token
        self.comments: dict[str, list[dict[str, Any]]] = {}

    def route(self, method: str, path: str, headers: dict[str, str], body: Any, raw: bytes) -> Answer:
        if not _basic(headers, f"{self.email}/token", self.token):
            raise Refused(401, {"error": "Couldn't authenticate you"})
        action, args = _match(
            [
                ("PUT", r"/api/v2/tickets/(\d+)\.json", self._update),
                (
                    "GET",
                    r"/api/v2/tickets/(\d+)/comments\.json(?:\?sort_order=(?:asc|desc))?",
                    self._comments,
                ),
                (
                    "GET",
                    r"/api/v2/users/me\.json",
                    lambda: Answer(200, {"user": {"id": 1, "email": self.email}}),
                ),
            ],
            method,
            path,
        )
        return action(*args, body) if method == "PUT" else action(*args)

    def _update(self, ticket_id: str, body: Any) -> Answer:
        if ticket_id not in self.tickets:
            raise Refused(404, {"error": "RecordNotFound", "description": "Not found"})
        ticket = exact_keys("body", body, {"ticket"})["ticket"]
        exact_keys(
            "ticket", ticket, set(), {"group_id", "priority", "additional_tags", "comment", "custom_fields"}
        )
        if "group_id" in ticket and not isinstance(ticket["group_id"], int):
            raise Refused(422, {"error": "RecordInvalid", "details": {"group_id": "must be an integer"}})
        if "priority" in ticket and ticket["priority"] not in self.PRIORITIES:
            raise Refused(422, {"error": "RecordInvalid", "details": {"priority": "unknown value"}})
        tags = ticket.get("additional_tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) and " " not in t for t in tags):
            raise Refused(
                422, {"error": "RecordInvalid", "details": {"additional_tags": "strings without spaces"}}
            )
        if "comment" in ticket:
            comment = exact_keys("ticket.comment", ticket["comment"], {"body", "public"})
            if not isinstance(comment["body"], str) or not isinstance(comment["public"], bool):
                raise Refused(
                    422, {"error": "RecordInvalid", "details": {"comment": "body string, public boolean"}}
                )
            self.comments.setdefault(ticket_id, []).append(comment)
        state = self.tickets[ticket_id]
        state.update({k: v for k, v in ticket.items() if k in ("group_id", "priority")})
        state["tags"] = sorted(set(state.get("tags", [])) | set(tags))
        return Answer(200, {"ticket": {"id": int(ticket_id), **state}, "audit": {"events": []}})

    def _comments(self, ticket_id: str) -> Answer:
        if ticket_id not in self.tickets:
            raise Refused(404, {"error": "RecordNotFound", "description": "Not found"})
        comments = list(reversed(self.comments.get(ticket_id, [])))
        return Answer(
            200, {"comments": comments, "next_page": None, "previous_page": None, "count": len(comments)}
        )


class JiraStandIn(StandIn):
    system = "jira"

    def __init__(self, email: str, token: str) -> None:
        super().__init__()
        self.email, self.token = email, token
        self.comments: dict[str, list[dict[str, Any]]] = {}

    def route(self, method: str, path: str, headers: dict[str, str], body: Any, raw: bytes) -> Answer:
        if not _basic(headers, self.email, self.token):
            raise Refused(401, {"errorMessages": ["You are not authenticated."], "errors": {}})
        action, args = _match(
            [
                ("PUT", r"/rest/api/3/issue/([A-Z][A-Z0-9]+-\d+)", self._edit),
                ("POST", r"/rest/servicedeskapi/request/([A-Z][A-Z0-9]+-\d+)/comment", self._comment),
                ("GET", r"/rest/api/3/myself", lambda _: Answer(200, {"emailAddress": self.email})),
            ],
            method,
            path,
        )
        return action(*args, body)

    def _known(self, key: str) -> dict[str, Any]:
        if key not in self.tickets:
            raise Refused(
                404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
            )
        return self.tickets[key]

    def _edit(self, key: str, body: Any) -> Answer:
        state = self._known(key)
        exact_keys("body", body, set(), {"fields", "update"})
        fields = exact_keys("fields", body.get("fields", {}), set(), {"components", "priority"})
        if "components" in fields:
            parts = fields["components"]
            if not isinstance(parts, list) or not all(
                isinstance(p, dict) and set(p) == {"id"} for p in parts
            ):
                raise Refused(400, {"errorMessages": [], "errors": {"components": "expected [{'id': ...}]"}})
            state["components"] = [p["id"] for p in parts]
        if "priority" in fields:
            if not isinstance(fields["priority"], dict) or set(fields["priority"]) != {"id"}:
                raise Refused(400, {"errorMessages": [], "errors": {"priority": "expected {'id': ...}"}})
            state["priority"] = fields["priority"]["id"]
        update = exact_keys("update", body.get("update", {}), set(), {"labels"})
        for op in update.get("labels", []):
            if not isinstance(op, dict) or list(op) != ["add"] or " " in str(op["add"]):
                raise Refused(400, {"errorMessages": [], "errors": {"labels": "expected [{'add': 'label'}]"}})
            state.setdefault("labels", []).append(op["add"])
        return Answer(204)

    def _comment(self, key: str, body: Any) -> Answer:
        self._known(key)
        comment = exact_keys("body", body, {"body", "public"})
        if not isinstance(comment["body"], str) or not isinstance(comment["public"], bool):
            raise Refused(400, {"errorMessage": "body must be a string and public a boolean"})
        self.comments.setdefault(key, []).append(comment)
        return Answer(
            201, {"id": str(len(self.comments[key])), "body": comment["body"], "public": comment["public"]}
        )


class ZammadStandIn(StandIn):
    system = "zammad"

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.articles: list[dict[str, Any]] = []

    def route(self, method: str, path: str, headers: dict[str, str], body: Any, raw: bytes) -> Answer:
        if headers.get("Authorization") != f"Token token={self.token}":
            raise Refused(401, {"error": "authentication failed"})
        action, args = _match(
            [
                ("PUT", r"/api/v1/tickets/(\d+)", self._update),
                ("POST", r"/api/v1/tags/add", self._tag),
                ("POST", r"/api/v1/ticket_articles", self._article),
                ("GET", r"/api/v1/users/me", lambda _: Answer(200, {"id": 3, "login": "triage"})),
            ],
            method,
            path,
        )
        return action(*args, body)

    def _known(self, ticket_id: Any) -> dict[str, Any]:
        if str(ticket_id) not in self.tickets:
            raise Refused(404, {"error": "Couldn't find Ticket with 'id'"})
        return self.tickets[str(ticket_id)]

    def _update(self, ticket_id: str, body: Any) -> Answer:
        state = self._known(ticket_id)
        update = exact_keys("body", body, set(), {"group_id", "priority_id", "state_id", "owner_id"})
        if not all(isinstance(v, int) for v in update.values()):
            raise Refused(422, {"error": "ids must be integers"})
        state.update(update)
        return Answer(200, {"id": int(ticket_id), **state})

    def _tag(self, body: Any) -> Answer:
        tag = exact_keys("body", body, {"item", "object", "o_id"})
        if tag["object"] != "Ticket" or not isinstance(tag["o_id"], int) or not isinstance(tag["item"], str):
            raise Refused(422, {"error": "object must be 'Ticket', o_id an integer, item a string"})
        self._known(tag["o_id"]).setdefault("tags", []).append(tag["item"])
        return Answer(200, True)

    def _article(self, body: Any) -> Answer:
        article = exact_keys(
            "body", body, {"ticket_id", "body", "type", "internal"}, {"content_type", "subject"}
        )
        if article["type"] != "note" or not isinstance(article["internal"], bool):
            raise Refused(422, {"error": "type must be 'note', internal a boolean"})
        if article.get("content_type", "text/plain") not in ("text/plain", "text/html"):
            raise Refused(422, {"error": "content_type must be text/plain or text/html"})
        self._known(article["ticket_id"])
        self.articles.append(article)
        return Answer(201, {"id": len(self.articles), **article})


class GlpiStandIn(StandIn):
    system = "glpi"

    def __init__(self, app_token: str, user_token: str) -> None:
        super().__init__()
        self.app_token, self.user_token = app_token, user_token
        self.sessions: set[str] = set()
        self.followups: list[dict[str, Any]] = []
        self.opened = 0

    def route(self, method: str, path: str, headers: dict[str, str], body: Any, raw: bytes) -> Answer:
        if headers.get("App-Token") != self.app_token:
            raise Refused(400, ["ERROR_WRONG_APP_TOKEN_PARAMETER", "parameter app_token seems wrong"])
        if path == "/apirest.php/initSession":
            if method != "GET":
                raise Refused(405, ["ERROR_METHOD_NOT_ALLOWED", "use GET"])
            if headers.get("Authorization") != f"user_token {self.user_token}":
                raise Refused(401, ["ERROR_GLPI_LOGIN_USER_TOKEN", "parameter user_token seems invalid"])
            self.opened += 1
            token = f"session-{self.opened}"
            self.sessions.add(token)
            return Answer(200, {"session_token": token})
        session = headers.get("Session-Token")
        if session not in self.sessions:
            raise Refused(401, ["ERROR_SESSION_TOKEN_INVALID", "session_token seems invalid"])
        action, args = _match(
            [
                ("PUT", r"/apirest\.php/Ticket/(\d+)", self._update),
                ("POST", r"/apirest\.php/Ticket/(\d+)/ITILFollowup", self._followup),
                ("GET", r"/apirest\.php/killSession", lambda _: self._kill(session)),
                ("GET", r"/apirest\.php/getFullSession", lambda _: Answer(200, {"session": {"glpiID": 2}})),
            ],
            method,
            path,
        )
        return action(*args, body)

    def _kill(self, session: str | None) -> Answer:
        self.sessions.discard(str(session))
        return Answer(200)

    def _known(self, ticket_id: str) -> dict[str, Any]:
        if ticket_id not in self.tickets:
            raise Refused(404, ["ERROR_ITEM_NOT_FOUND", "Item not found"])
        return self.tickets[ticket_id]

    def _update(self, ticket_id: str, body: Any) -> Answer:
        state = self._known(ticket_id)
        update = exact_keys(
            "input",
            exact_keys("body", body, {"input"})["input"],
            set(),
            {"_groups_id_assign", "priority", "itilcategories_id", "urgency", "status"},
        )
        if not all(isinstance(v, int) for v in update.values()):
            raise Refused(400, ["ERROR_BAD_ARRAY", "values must be integers"])
        state.update(update)
        return Answer(200, [{ticket_id: True, "message": ""}])

    def _followup(self, ticket_id: str, body: Any) -> Answer:
        self._known(ticket_id)
        item = exact_keys(
            "input",
            exact_keys("body", body, {"input"})["input"],
            {"itemtype", "items_id", "content"},
            {"is_private", "requesttypes_id"},
        )
        if (
            item["itemtype"] != "Ticket"
            or str(item["items_id"]) != ticket_id
            or item.get("is_private", 0) not in (0, 1)
        ):
            raise Refused(400, ["ERROR_BAD_ARRAY", "itemtype Ticket, items_id the ticket, is_private 0 or 1"])
        self.followups.append(item)
        return Answer(201, {"id": len(self.followups), "message": ""})


class GenericStandIn(StandIn):
    """An in-house system's callback: checks our signature on the result we post."""

    system = "generic"

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def route(self, method: str, path: str, headers: dict[str, str], body: Any, raw: bytes) -> Answer:
        if (method, path) != ("POST", "/"):
            raise Refused(404, {"error": f"no route {method} {path}"})
        stamp = headers.get("X-Triage-Timestamp", "")
        expected = "sha256=" + hmac_hex(self.secret, stamp.encode() + b"." + raw)
        if headers.get("X-Triage-Signature") != expected:
            raise Refused(401, {"error": "bad signature"})
        exact_keys("body", body, {"ticket_id", "group", "priority", "category", "tags", "note"})
        if body["ticket_id"] not in self.tickets:
            raise Refused(404, {"error": "unknown ticket"})
        return Answer(200, {"ok": True})
