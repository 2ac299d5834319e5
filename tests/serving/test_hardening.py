"""No 500s from the races and inputs an outside test found, and a schema that says what the server takes."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from serving.app import create_app
from serving.settings import load_settings
from tests.serving.conftest import KeyMaker, TenantClient, bearer


def test_put_racing_delete_is_a_404_never_a_500(live_server: str, make_key: KeyMaker) -> None:
    statuses: list[int] = []
    lock = threading.Lock()
    headers = bearer(make_key("race", name="race test"))

    def call(method: str, url: str, json: dict[str, Any] | None = None) -> None:
        status = httpx.request(method, url, json=json, headers=headers, timeout=60).status_code
        with lock:
            statuses.append(status)

    for round_ in range(12):
        case_id = f"RACE-{round_}"
        created = httpx.post(
            f"{live_server}/v1/cases",
            json={"cases": [{"id": case_id, "tenant": "race", "body": "VPN error 809"}]},
            headers=headers,
            timeout=60,
        )
        assert created.status_code == 201
        put = threading.Thread(
            target=call,
            args=("PUT", f"{live_server}/v1/cases/{case_id}?tenant=race", {"body": "VPN error 812 now"}),
        )
        delete = threading.Thread(
            target=call, args=("DELETE", f"{live_server}/v1/cases/{case_id}?tenant=race")
        )
        put.start()
        delete.start()
        put.join()
        delete.join()
    assert statuses and set(statuses) <= {200, 204, 404}, statuses


@pytest.mark.parametrize("path", ["/v1/cases", "/v1/articles"])
def test_offsets_beyond_the_bound_are_422(client: TestClient, path: str) -> None:
    answer = client.get(path, params={"offset": 2**63})
    assert answer.status_code == 422 and "offset" in str(answer.json())
    assert client.get(path, params={"offset": 10**9}).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/triage", {"body": "VPN", "created_at": 0}, "created_at"),
        ("/v1/triage", {"body": "VPN", "created_at": "0"}, "created_at"),
        ("/v1/triage", {"body": "VPN", "created_at": "1899-12-31T23:00:00Z"}, "created_at"),
        ("/v1/triage", {"body": "VPN", "created_at": "2026-11-23"}, "created_at"),
        ("/v1/triage", {"body": " \u3000\n"}, "body"),
        ("/v1/triage", {"body": "VPN", "tenant": "-lead"}, "tenant"),
        ("/v1/feedback", {"ticket_id": "T-1", "case_id": "C-1", "helpful": 0}, "helpful"),
        ("/v1/feedback", {"ticket_id": "T-1", "head": "priority", "accepted": "yes"}, "accepted"),
        ("/v1/models/-v1/promote", {"tenant": "default"}, "version"),
    ],
)
def test_inputs_the_schema_refuses_are_refused(
    client: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    answer = client.post(path, json=body)
    assert answer.status_code == 422, answer.text
    assert field in str(answer.json())


_CONNECTOR = {
    "name": "strict-test",
    "system": "zendesk",
    "base_url": "https://acme.zendesk.com",
    "credentials": {"email": "triage@acme.com", "api_token": "t0ken"},
    "signing_secret": "a signing secret",
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"enabled": 0}, "enabled"),
        ({"enabled": "true"}, "enabled"),
        ({"policy": {"write_fields": 1}}, "write_fields"),
        ({"policy": {"note": "yes"}}, "note"),
        ({"policy": {"min_confidence": "0.6"}}, "min_confidence"),
        ({"policy": {"similar_in_note": "3"}}, "similar_in_note"),
        ({"policy": {"case_url": "https://kb.example.com/cases"}}, "case_url"),
        ({"system": "glpi", "credentials": {"app_token": "a"}}, "user_token"),
    ],
)
def test_connector_fields_take_only_what_the_schema_states(
    client: TestClient, change: dict[str, Any], field: str
) -> None:
    answer = client.post("/v1/connectors", json=_CONNECTOR | change)
    assert answer.status_code == 422, answer.text
    assert field in str(answer.json())


def test_delivery_bounds_are_422_not_500(client: TestClient) -> None:
    assert client.get("/v1/deliveries", params={"offset": 2**63}).status_code == 422
    assert client.post(f"/v1/deliveries/{-(2**70)}:retry").status_code == 422
    assert client.post(f"/v1/deliveries/{2**63}:retry").status_code == 422
    assert client.post(f"/v1/deliveries/{2**63 - 1}:retry").status_code == 404


def test_connector_check_with_an_unusable_url_answers_not_ok(client: TestClient) -> None:
    created = client.post(
        "/v1/connectors",
        json=_CONNECTOR
        | {
            "name": "bad-url",
            "system": "zammad",
            "base_url": "http://\u00d1\u00ad`d",
            "credentials": {"api_token": "t0ken"},
        },
    )
    assert created.status_code == 201, created.text
    try:
        check = client.post("/v1/connectors/bad-url:test")
        assert check.status_code == 200 and check.json()["ok"] is False, check.text
    finally:
        client.delete("/v1/connectors/bad-url")


def test_schema_states_the_credentials_each_system_needs(client: TestClient) -> None:
    connector = client.get("/openapi.json").json()["components"]["schemas"]["ConnectorIn"]
    rules = {r["if"]["properties"]["system"]["const"]: r["then"] for r in connector["allOf"]}
    assert rules["glpi"]["properties"]["credentials"]["required"] == ["app_token", "user_token"]
    assert "generic" not in rules
    assert connector["examples"][0]["system"] == "zendesk"


def test_schema_states_the_bounds_the_server_checks(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    ticket = components["TicketIn"]["properties"]
    assert "pattern" in ticket["body"]
    created = next(s for s in ticket["created_at"]["anyOf"] if s.get("type") == "string")
    assert created["pattern"].startswith("^(?:19")
    offset = next(p for p in schema["paths"]["/v1/cases"]["get"]["parameters"] if p["name"] == "offset")
    assert offset["schema"]["maximum"] == 10**9
    assert components["FeedbackIn"]["properties"]["helpful"]["anyOf"][0]["type"] == "boolean"
    version = next(
        p for p in schema["paths"]["/v1/models/{version}"]["get"]["parameters"] if p["name"] == "version"
    )
    assert version["schema"]["pattern"].startswith("^[A-Za-z0-9]")


def test_a_500_closes_the_connection(demo_dir: Path) -> None:
    app = create_app(load_settings(data_dir=demo_dir))

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/v1/boom", boom)  # a route that fails, to see the 500 the handler writes
    with TestClient(app, raise_server_exceptions=False) as local:
        answer = local.get("/v1/boom")
    assert answer.status_code == 500
    assert answer.headers["connection"] == "close"
    assert "a bug" not in answer.text


def test_reads_never_create_a_tenant(tenant_client: TenantClient, demo_dir: Path) -> None:
    tenant = "ghost-tenant"
    client = tenant_client(tenant)
    assert client.get("/v1/cases", params={"tenant": tenant}).json()["total"] == 0
    assert client.post("/v1/similar", json={"body": "VPN error 809", "tenant": tenant}).status_code == 200
    client.get("/v1/models", params={"tenant": tenant})
    assert not list(demo_dir.rglob(tenant))
    service = client.app.state.service  # type: ignore[attr-defined]
    assert tenant not in service.knowledge._tenants


def test_an_id_sent_twice_in_one_call_counts_once_as_its_last_copy(tenant_client: TenantClient) -> None:
    client = tenant_client("twice")
    first = {"id": "TWICE-1", "tenant": "twice", "body": "VPN error 809"}
    last = {"id": "TWICE-1", "tenant": "twice", "body": "Printer jams on tray 2"}
    answer = client.post("/v1/cases", json={"cases": [first, last]})
    assert answer.status_code == 201
    assert [c["body"] for c in answer.json()["cases"]] == ["Printer jams on tray 2"]
    assert (
        client.get("/v1/cases/TWICE-1", params={"tenant": "twice"}).json()["body"] == "Printer jams on tray 2"
    )
