"""Keys, scopes and tenants over every /v1 route, generated from the app's own route table.

A route added without an entry in ROUTES fails test_every_v1_route_is_in_the_matrix, so no route
can skip the no-key, wrong-scope and cross-tenant checks below.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from serving.keys import ALL_SCOPES, SCOPES, KeyStore
from serving.settings import load_settings

KeyMaker = Callable[..., str]
# Tenant 'default' stores a case and an article with this id, titled with STORED_ONLY: a word that
# no request in this module sends, so an answer to another tenant that holds it leaked their data.
SECRET_CASE = "XT-SECRET-1"
STORED_ONLY = "zebracornquasar"
SECRET_TEXT = "The badge reader at gate 9 rejects every card since Monday's firmware update."
TICKET = {"title": "Gate 9 badge reader", "body": SECRET_TEXT}


@dataclass(frozen=True)
class Call:
    """A request aimed at tenant 'default''s data, and where a tenant can be named in it."""

    path: str
    json: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    # "query": ?tenant=; "body": a top-level field; "items:<list>": each item's field; "": none.
    tenant_in: str = "query"

    def naming(self, tenant: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """The body and query of this call with ``tenant`` named where the route takes one."""
        body, params = copy.deepcopy(self.json), dict(self.params)
        if self.tenant_in == "query":
            params["tenant"] = tenant
        elif self.tenant_in == "body":
            assert body is not None
            body["tenant"] = tenant
        elif self.tenant_in.startswith("items:"):
            assert body is not None
            for item in body[self.tenant_in.partition(":")[2]]:
                item["tenant"] = tenant
        return body, params


_STORED = {"id": SECRET_CASE, "title": f"Gate 9 {STORED_ONLY}", "body": SECRET_TEXT}
_DOC = {"id": SECRET_CASE, "title": "Gate 9", "body": SECRET_TEXT}
ROUTES: dict[tuple[str, str], Call] = {
    ("POST", "/v1/triage"): Call("/v1/triage", TICKET, tenant_in="body"),
    ("POST", "/v1/triage:batch"): Call("/v1/triage:batch", {"tickets": [TICKET]}, tenant_in="items:tickets"),
    ("POST", "/v1/classify"): Call("/v1/classify", TICKET, tenant_in="body"),
    ("POST", "/v1/extract"): Call("/v1/extract", TICKET, tenant_in="body"),
    ("POST", "/v1/summarize"): Call("/v1/summarize", TICKET, tenant_in="body"),
    ("POST", "/v1/similar"): Call("/v1/similar", {"body": SECRET_TEXT, "k": 50}, tenant_in="body"),
    ("POST", "/v1/duplicates"): Call("/v1/duplicates", {"body": SECRET_TEXT, "k": 20}, tenant_in="body"),
    ("GET", "/v1/spikes"): Call("/v1/spikes", params={"window_hours": 720, "min_size": 2}),
    ("POST", "/v1/feedback"): Call(
        "/v1/feedback", {"ticket_id": SECRET_CASE, "head": "department", "accepted": True}, tenant_in="body"
    ),
    ("GET", "/v1/models"): Call("/v1/models"),
    ("GET", "/v1/models/{version}"): Call("/v1/models/demo-v1"),
    ("POST", "/v1/models/{version}/promote"): Call("/v1/models/demo-v1/promote", {}, tenant_in="body"),
    ("POST", "/v1/models/rollback"): Call("/v1/models/rollback", {}, tenant_in="body"),
    ("POST", "/v1/models/{version}/candidate"): Call(
        "/v1/models/demo-v1/candidate", {"mode": "shadow"}, tenant_in="body"
    ),
    ("DELETE", "/v1/models/candidate"): Call("/v1/models/candidate"),
    ("GET", "/v1/models:compare"): Call("/v1/models:compare"),
    ("GET", "/v1/drift"): Call("/v1/drift"),
    ("GET", "/v1/models/{version}/gate"): Call("/v1/models/demo-v1/gate"),
    ("GET", "/v1/labels"): Call("/v1/labels"),
    **{
        ("GET", f"/v1/stats/{figure}"): Call(f"/v1/stats/{figure}")
        for figure in (
            "volume",
            "routing",
            "coverage",
            "accuracy",
            "confusion",
            "handoffs",
            "sla-risk",
            "handling",
            "suggestions",
            "duplicates",
        )
    },
    ("GET", "/v1/stats/handoffs/tickets"): Call(
        "/v1/stats/handoffs/tickets", params={"from": "IT", "to": "HR"}
    ),
    ("GET", "/v1/keys"): Call("/v1/keys", tenant_in=""),
    ("POST", "/v1/keys"): Call("/v1/keys", {"scopes": ["triage"], "name": "x"}, tenant_in="body"),
    ("GET", "/v1/keys/{key_id}"): Call("/v1/keys/{admin_key_id}", tenant_in=""),
    ("DELETE", "/v1/keys/{key_id}"): Call("/v1/keys/{admin_key_id}", tenant_in=""),
    ("GET", "/v1/audit"): Call("/v1/audit"),
}
_CONNECTOR = {
    "name": "xt-secret-conn",
    "system": "generic",
    "base_url": "http://127.0.0.1:9/hook",
    "signing_secret": "xt-signing-secret",
}
ROUTES |= {
    ("POST", "/v1/connectors"): Call("/v1/connectors", _CONNECTOR, tenant_in="body"),
    ("GET", "/v1/connectors"): Call("/v1/connectors"),
    ("GET", "/v1/connectors/{name}"): Call("/v1/connectors/xt-secret-conn"),
    ("DELETE", "/v1/connectors/{name}"): Call("/v1/connectors/xt-secret-conn"),
    ("POST", "/v1/connectors/{name}:test"): Call("/v1/connectors/xt-secret-conn:test"),
    ("GET", "/v1/deliveries"): Call("/v1/deliveries"),
    ("POST", "/v1/deliveries/{delivery_id}:retry"): Call("/v1/deliveries/1:retry"),
}
# /v1 routes that a ticket system calls: authenticated by its signature over the raw body, not by
# an API key (tests/serving/connectors checks the signatures). Nothing else may be listed here.
NOT_KEYED = {("POST", "/v1/webhooks/{connector}"): "vendor webhook: signature checked on the raw body"}
for _kind, _one in (("cases", "case"), ("articles", "article")):
    ROUTES |= {
        ("POST", f"/v1/{_kind}"): Call(f"/v1/{_kind}", {_kind: [_DOC]}, tenant_in=f"items:{_kind}"),
        ("GET", f"/v1/{_kind}"): Call(f"/v1/{_kind}"),
        ("GET", f"/v1/{_kind}/{{{_one}_id}}"): Call(f"/v1/{_kind}/{SECRET_CASE}"),
        ("PUT", f"/v1/{_kind}/{{{_one}_id}}"): Call(f"/v1/{_kind}/{SECRET_CASE}", {"body": "replaced"}),
        ("DELETE", f"/v1/{_kind}/{{{_one}_id}}"): Call(f"/v1/{_kind}/{SECRET_CASE}"),
        ("POST", f"/v1/{_kind}:delete"): Call(
            f"/v1/{_kind}:delete", {"ids": [SECRET_CASE]}, tenant_in="body"
        ),
    }


def _v1_routes(client: TestClient) -> dict[tuple[str, str], APIRoute]:
    found: dict[tuple[str, str], APIRoute] = {}
    for context in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        route = context.original_route
        if isinstance(route, APIRoute) and route.path.startswith("/v1"):
            for method in route.methods:
                found[(method, route.path)] = route
    return found


def _scopes_of(route: APIRoute) -> list[str]:
    """The scopes the route's dependencies require (serving.deps.require marks its checks)."""
    found: list[str] = []
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        scope = getattr(dependant.call, "required_scope", None)
        if scope is not None:
            found.append(scope)
        pending.extend(dependant.dependencies)
    return found


def _send(
    client: TestClient,
    method: str,
    call: Call,
    headers: dict[str, str],
    ids: dict[str, str],
    tenant: str | None,
) -> Any:
    body, params = call.naming(tenant) if tenant else (copy.deepcopy(call.json), dict(call.params))
    return client.request(method, call.path.format(**ids), json=body, params=params, headers=headers)


@pytest.fixture(scope="module")
def secret_data(client: TestClient, admin_key: str) -> dict[str, str]:
    """Tenant 'default' holds a case, an article and a connector only it may see; ids for the paths."""
    for kind in ("cases", "articles"):
        assert client.post(f"/v1/{kind}", json={kind: [_STORED]}).status_code == 201
    connector = _CONNECTOR | {"base_url": f"http://{STORED_ONLY}.invalid/hook"}
    assert client.post("/v1/connectors", json=connector).status_code in (201, 409)
    return {"admin_key_id": admin_key.split("_")[1]}


@pytest.fixture(scope="module")
def keys_without(make_key: KeyMaker) -> Callable[[str], str]:
    """keys_without(scope): a key of tenant 'default' with every scope but that one."""
    made: dict[str, str] = {}

    def of(scope: str) -> str:
        if scope not in made:
            made[scope] = make_key("default", [s for s in ALL_SCOPES if s != scope], name=f"without {scope}")
        return made[scope]

    return of


def test_every_v1_route_is_in_the_matrix(client: TestClient) -> None:
    routes = set(_v1_routes(client)) - set(NOT_KEYED)
    missing = sorted(routes - set(ROUTES))
    assert not missing, f"add these routes to ROUTES in {__file__}: {missing}"
    assert not sorted(set(ROUTES) - routes), "ROUTES names routes that no longer exist"


def test_every_v1_route_requires_exactly_one_known_scope(client: TestClient) -> None:
    wrong = {
        f"{m} {p}": scopes
        for (m, p), r in _v1_routes(client).items()
        if len(scopes := _scopes_of(r)) != (0 if (m, p) in NOT_KEYED else 1)
    }
    assert not wrong, f"each /v1 route needs one scope alias from serving.deps: {wrong}"
    assert {s for r in _v1_routes(client).values() for s in _scopes_of(r)} <= set(SCOPES)


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES), ids=lambda v: str(v))
def test_no_key_is_401_with_a_challenge(
    anonymous: TestClient, secret_data: dict[str, str], method: str, path: str
) -> None:
    response = _send(anonymous, method, ROUTES[(method, path)], {}, secret_data, None)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"
    assert "API key" in response.json()["detail"]


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES), ids=lambda v: str(v))
def test_a_key_without_the_routes_scope_is_403_naming_it(
    client: TestClient,
    keys_without: Callable[[str], str],
    secret_data: dict[str, str],
    method: str,
    path: str,
) -> None:
    (scope,) = _scopes_of(_v1_routes(client)[(method, path)])
    headers = {"Authorization": f"Bearer {keys_without(scope)}"}
    response = _send(client, method, ROUTES[(method, path)], headers, secret_data, None)
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["scope"] == scope and repr(scope) in problem["detail"]
    assert problem["type"] == "urn:triage:problem:missing-scope"


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES), ids=lambda v: str(v))
def test_another_tenants_key_never_reaches_default_data(
    client: TestClient,
    other_key: str,
    secret_data: dict[str, str],
    method: str,
    path: str,
) -> None:
    call = ROUTES[(method, path)]
    headers = {"Authorization": f"Bearer {other_key}"}
    # Naming tenant 'default' outright: refused, never a silent switch.
    if call.tenant_in:
        named = _send(client, method, call, headers, secret_data, "default")
        assert named.status_code == 403, named.text
        assert named.json()["type"] == "urn:triage:problem:tenant-mismatch"
        assert STORED_ONLY not in named.text
    # Leaving the tenant out: the key's own tenant is used, where default's ids do not exist.
    implicit = _send(client, method, call, headers, secret_data, None)
    assert implicit.status_code in (200, 201, 204, 404, 409), implicit.text
    assert STORED_ONLY not in implicit.text, f"{method} {path} showed tenant default's data"
    if implicit.status_code < 300:  # (a 404 names the id the client sent)
        assert secret_data["admin_key_id"] not in implicit.text, f"{method} {path} showed default's key"
    # And default's data is still there, untouched.
    for kind in ("cases", "articles"):
        assert STORED_ONLY in client.get(f"/v1/{kind}/{SECRET_CASE}").json()["title"]
    assert STORED_ONLY in client.get("/v1/connectors/xt-secret-conn").json()["base_url"]


def test_leaving_the_tenant_out_uses_the_keys_tenant(
    client: TestClient, tenant_client: Callable[[str], TestClient]
) -> None:
    acme = tenant_client("acme-implicit")
    doc = {"id": "IMPLICIT-1", "body": "The projector in room 4 flickers."}
    created = acme.post("/v1/cases", json={"cases": [doc]})
    assert created.status_code == 201, created.text
    assert acme.get("/v1/cases/IMPLICIT-1").status_code == 200
    assert acme.get("/v1/cases/IMPLICIT-1", params={"tenant": "acme-implicit"}).status_code == 200
    assert client.get("/v1/cases/IMPLICIT-1").status_code == 404
    refused = client.get("/v1/cases/IMPLICIT-1", params={"tenant": "acme-implicit"})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["loc"] == ["query", "tenant"]


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_both_headers_carry_the_key(anonymous: TestClient, admin_key: str, header: str) -> None:
    value = f"Bearer {admin_key}" if header == "Authorization" else admin_key
    assert anonymous.get("/v1/models", headers={header: value}).status_code == 200


@pytest.mark.parametrize(
    "value", ["Basic dXNlcjpwYXNz", "Bearer ", "Bearer tt_short", "Bearer tt_abcdefgh_" + "A" * 43]
)
def test_malformed_or_unknown_keys_are_401(anonymous: TestClient, value: str) -> None:
    response = anonymous.get("/v1/models", headers={"Authorization": value})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_revoked_key_is_401_at_once(client: TestClient, anonymous: TestClient, make_key: KeyMaker) -> None:
    secret = make_key("default", ["models:read"], name="to revoke")
    headers = {"Authorization": f"Bearer {secret}"}
    assert anonymous.get("/v1/models", headers=headers).status_code == 200
    key_id = secret.split("_")[1]
    revoked = client.delete(f"/v1/keys/{key_id}")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    response = anonymous.get("/v1/models", headers=headers)
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_a_key_revoked_by_another_process_is_401_within_the_catch_up_interval(
    anonymous: TestClient, make_key: KeyMaker, demo_dir: Path
) -> None:
    # The service checks a key it read lately from memory; a revocation by another process (the
    # CLI, another replica or worker) reaches it as other replicas' cases do.
    secret = make_key("default", ["models:read"], name="revoked elsewhere")
    headers = {"Authorization": f"Bearer {secret}"}
    assert anonymous.get("/v1/models", headers=headers).status_code == 200
    elsewhere = KeyStore(load_settings(data_dir=demo_dir).database_path)
    elsewhere.revoke(secret.split("_")[1])
    elsewhere.close()
    interval = load_settings(data_dir=demo_dir).catch_up_interval
    time.sleep(interval + 0.05)
    response = anonymous.get("/v1/models", headers=headers)
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_expired_key_is_401(anonymous: TestClient, make_key: KeyMaker) -> None:
    secret = make_key("default", ["models:read"], expires=datetime.now(UTC) + timedelta(seconds=1))
    headers = {"Authorization": f"Bearer {secret}"}
    assert anonymous.get("/v1/models", headers=headers).status_code == 200
    time.sleep(1.2)
    response = anonymous.get("/v1/models", headers=headers)
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_keys_api_lifecycle(
    client: TestClient, anonymous: TestClient, tenant_client: Callable[[str], TestClient]
) -> None:
    created = client.post("/v1/keys", json={"name": "zendesk", "scopes": ["triage", "feedback"]})
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["secret"].startswith(f"tt_{key['id']}_") and key["tenant"] == "default"
    assert len(key["secret"].split("_", 2)[2]) >= 43  # 256 bits
    listed = client.get("/v1/keys").json()["keys"]
    mine = next(k for k in listed if k["id"] == key["id"])
    assert "secret" not in mine and mine["scopes"] == ["triage", "feedback"] and mine["status"] == "active"
    assert key["secret"] not in client.get("/v1/keys").text
    # The new key works for its scopes, not beyond them.
    headers = {"Authorization": f"Bearer {key['secret']}"}
    assert anonymous.post("/v1/summarize", json=TICKET, headers=headers).status_code == 200
    assert anonymous.get("/v1/models", headers=headers).status_code == 403
    # Another tenant's keys admin cannot see or revoke it.
    other = tenant_client("keys-other")
    assert key["id"] not in other.get("/v1/keys").text
    assert other.get(f"/v1/keys/{key['id']}").status_code == 404
    assert other.delete(f"/v1/keys/{key['id']}").status_code == 404
    assert client.delete(f"/v1/keys/{key['id']}").json()["revoked"]
    assert anonymous.post("/v1/summarize", json=TICKET, headers=headers).status_code == 401


def test_a_key_cannot_grant_scopes_it_lacks(anonymous: TestClient, make_key: KeyMaker) -> None:
    limited = make_key("default", ["keys:admin", "triage"], name="limited admin")
    headers = {"Authorization": f"Bearer {limited}"}
    response = anonymous.post("/v1/keys", json={"scopes": ["models:admin"]}, headers=headers)
    assert response.status_code == 403 and "models:admin" in response.json()["detail"]
    assert anonymous.post("/v1/keys", json={"scopes": ["triage"]}, headers=headers).status_code == 201


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["everything"]}, "scopes"),
        ({"scopes": [""]}, "scopes"),
        ({"scopes": [" triage"]}, "scopes"),
        ({"scopes": ["triage"], "expires": "2001-01-01"}, "expires"),
        ({"scopes": ["triage"], "name": "x" * 101}, "name"),
        ({"scopes": ["triage"], "secret": "mine"}, "secret"),
    ],
)
def test_bad_key_requests_are_422_naming_the_field(
    client: TestClient, payload: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/keys", json=payload)
    assert response.status_code == 422, response.text
    assert any(field in map(str, e["loc"]) for e in response.json()["errors"])


def test_key_with_an_expiry_already_past_is_409_not_422(client: TestClient) -> None:
    """Well formed (the schema's date-time), but the clock has passed it: a conflict with the time."""
    response = client.post("/v1/keys", json={"scopes": ["triage"], "expires": "2001-01-01T00:00:00Z"})
    assert response.status_code == 409, response.text
    assert "already past" in response.json()["detail"]
    later = client.post("/v1/keys", json={"scopes": ["triage"], "expires": "2999-01-01T00:00:00Z"})
    assert later.status_code == 201 and later.json()["expires"].startswith("2999-01-01")


def test_metrics_needs_a_metrics_key_off_loopback(anonymous: TestClient, make_key: KeyMaker) -> None:
    # The test client's address is 'testclient', not loopback: a key is needed.
    assert anonymous.get("/metrics").status_code == 401
    without = make_key("default", ["triage"], name="no metrics")
    refused = anonymous.get("/metrics", headers={"Authorization": f"Bearer {without}"})
    assert refused.status_code == 403 and refused.json()["scope"] == "metrics"
    scraper = make_key("default", ["metrics"], name="prometheus")
    ok = anonymous.get("/metrics", headers={"Authorization": f"Bearer {scraper}"})
    assert ok.status_code == 200 and "triage_requests_total" in ok.text


def test_health_and_readiness_stay_open(anonymous: TestClient) -> None:
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/readyz").status_code == 200


def test_console_session_is_refused_off_loopback(anonymous: TestClient) -> None:
    response = anonymous.get("/console/session")
    assert response.status_code == 403 and "paste an API key" in response.json()["detail"]


def test_openapi_shows_both_security_schemes_on_every_v1_operation(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearer"]["type"] == "http" and schemes["bearer"]["scheme"].lower() == "bearer"
    assert schemes["apiKey"] == schemes["apiKey"] | {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/v1") and (method.upper(), path) not in NOT_KEYED:
                names = {name for requirement in operation.get("security", []) for name in requirement}
                assert names == {"bearer", "apiKey"}, f"{method} {path}: {names}"
                assert "401" in operation["responses"] and "403" in operation["responses"]
    for scope in SCOPES:
        assert f"`{scope}`" in schema["info"]["description"]


def test_anonymous_loopback_lets_only_this_machine_in_without_a_key(client: TestClient) -> None:
    app = client.app
    local = TestClient(
        app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False, client=("127.0.0.1", 50000)
    )
    remote = TestClient(app, raise_server_exceptions=False, client=("192.0.2.10", 50000))
    assert local.get("/v1/models").status_code == 401, "off by default"
    settings = app.state.settings  # type: ignore[attr-defined]
    app.state.settings = settings.model_copy(update={"anonymous_loopback": True})  # type: ignore[attr-defined]
    try:
        assert local.get("/v1/models").status_code == 200
        assert local.get("/v1/models", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 401
        # A name that is not loopback (DNS rebinding): the trusted hosts refuse it first (400); with
        # trusted_hosts ['*'] the anonymous-loopback check still would (401). Never served.
        assert local.get("/v1/models", headers={"Host": "triage.example.com"}).status_code in (400, 401)
        assert remote.get("/v1/models").status_code == 401
        # A key that is sent is still checked.
        assert local.get("/v1/models", headers={"Authorization": "Bearer nope"}).status_code == 401
    finally:
        app.state.settings = settings  # type: ignore[attr-defined]
