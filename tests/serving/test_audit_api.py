"""Every state-changing route appends exactly its audit row; GET /v1/audit pages and filters a tenant's rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from knowledge.audit import AuditLog
from tests.serving.conftest import KeyMaker, TenantClient, bearer
from training.demo import DemoPaths
from triage.registry import ModelRegistry

pytestmark = pytest.mark.slow

TENANT = "audit-t"


def _latest_seq(client: TestClient) -> int:
    log: AuditLog = client.app.state.audit  # type: ignore[attr-defined]
    rows = log.entries(limit=1)
    return rows[0].seq if rows else 0


def _new_rows(client: TestClient, since: int) -> list[dict[str, Any]]:
    """The rows appended after ``since``, oldest first, as the API shows them."""
    log: AuditLog = client.app.state.audit  # type: ignore[attr-defined]
    rows = [r for r in log.entries(limit=500) if r.seq > since]
    return [
        {k: getattr(r, k) for k in ("tenant", "action", "target", "before", "after", "request_id", "key_id")}
        for r in reversed(rows)
    ]


def _case(case_id: str, department: str = "IT") -> dict[str, Any]:
    return {
        "id": case_id,
        "tenant": TENANT,
        "title": "VPN down",
        "body": "VPN error 809 since this morning on srv-vpn-02.",
        "resolution": "Reset the VPN profile.",
        "department": department,
    }


def test_case_writes_and_deletes_append_one_row_each(client: TestClient, tenant_client: TenantClient) -> None:
    http = tenant_client(TENANT)
    start = _latest_seq(client)
    headers = {"X-Request-ID": "req-audit-1"}
    response = http.post("/v1/cases", json={"cases": [_case("AU-1"), _case("AU-2")]}, headers=headers)
    assert response.status_code == 201
    rows = _new_rows(client, start)
    assert [(r["action"], r["target"]) for r in rows] == [
        ("case.create", "case:AU-1"),
        ("case.create", "case:AU-2"),
    ]
    assert rows[0]["before"] == {"exists": False} and rows[0]["after"]["department"] == "IT"
    assert {r["request_id"] for r in rows} == {"req-audit-1"} and {r["tenant"] for r in rows} == {TENANT}
    assert rows[0]["key_id"] and {r["key_id"] for r in rows} == {rows[0]["key_id"]}  # the key that wrote

    start = _latest_seq(client)
    assert http.post("/v1/cases", json={"cases": [_case("AU-1", "Network")]}).status_code == 201
    (row,) = _new_rows(client, start)
    assert row["action"] == "case.replace" and row["before"]["department"] == "IT"
    assert row["after"]["department"] == "Network"

    start = _latest_seq(client)
    replaced = {k: v for k, v in _case("AU-2", "Finance").items() if k not in ("id", "tenant")}
    assert http.put("/v1/cases/AU-2", params={"tenant": TENANT}, json=replaced).status_code == 200
    (row,) = _new_rows(client, start)
    assert (row["action"], row["target"], row["after"]["department"]) == (
        "case.replace",
        "case:AU-2",
        "Finance",
    )

    start = _latest_seq(client)
    assert http.delete("/v1/cases/AU-2", params={"tenant": TENANT}).status_code == 204
    (row,) = _new_rows(client, start)
    assert (row["action"], row["before"]["exists"], row["after"]) == ("case.delete", True, {"exists": False})

    start = _latest_seq(client)
    body = {"tenant": TENANT, "ids": ["AU-1", "AU-404"]}
    assert http.post("/v1/cases:delete", json=body).json()["deleted"] == ["AU-1"]
    (row,) = _new_rows(client, start)  # the unknown id changed nothing
    assert (row["action"], row["target"], row["after"]) == (
        "case.delete",
        "case:AU-1",
        {"exists": False, "bulk": True},
    )


def test_refused_changes_append_nothing(client: TestClient, tenant_client: TenantClient) -> None:
    http = tenant_client(TENANT)
    start = _latest_seq(client)
    assert http.delete("/v1/cases/NOPE", params={"tenant": TENANT}).status_code == 404
    assert http.put("/v1/articles/NOPE", params={"tenant": TENANT}, json={"body": "x"}).status_code == 404
    assert http.post("/v1/cases", json={"cases": [{"id": "X", "tenant": TENANT}]}).status_code == 422
    assert _new_rows(client, start) == []


def test_article_writes_are_audited_as_articles(client: TestClient, tenant_client: TenantClient) -> None:
    http = tenant_client(TENANT)
    start = _latest_seq(client)
    article = {"id": "KB-AU", "tenant": TENANT, "title": "Reset VPN", "body": "Open the client and reset."}
    assert http.post("/v1/articles", json={"articles": [article]}).status_code == 201
    assert http.delete("/v1/articles/KB-AU", params={"tenant": TENANT}).status_code == 204
    assert [(r["action"], r["target"]) for r in _new_rows(client, start)] == [
        ("article.create", "article:KB-AU"),
        ("article.delete", "article:KB-AU"),
    ]


def test_feedback_is_audited_without_its_text(client: TestClient, tenant_client: TenantClient) -> None:
    http = tenant_client(TENANT)
    start = _latest_seq(client)
    body = {
        "tenant": TENANT,
        "ticket_id": "T-AU",
        "head": "department",
        "predicted": "IT",
        "correct": "Finance",
        "text": "Refund for invoice INV-2026-001 please",
        "agent": "li.lei",
    }
    created = http.post("/v1/feedback", json=body)
    assert created.status_code == 201
    (row,) = _new_rows(client, start)
    assert row["action"] == "feedback.create" and row["target"] == f"feedback:{created.json()['id']}"
    assert row["after"]["correct"] == "Finance" and row["after"]["with_text"] is True
    assert "INV-2026-001" not in json.dumps(row) and "li.lei" not in json.dumps(row)


@pytest.fixture(scope="module")
def model_tenant(demo_dir: Path) -> str:
    """A tenant with two registered copies of the demo bundle, so promote and rollback have a choice."""
    registry = ModelRegistry(DemoPaths(demo_dir).models)
    source = registry.path("default", registry.state("default").active or "demo-v1")
    for version in ("au-v1", "au-v2"):
        shutil.copytree(source, registry.path("audit-m", version))
        manifest = registry.path("audit-m", version) / "manifest.json"
        manifest.write_text(json.dumps(json.loads(manifest.read_text()) | {"version": version}))
        registry.register("audit-m", version)
    return "audit-m"


def test_model_changes_append_their_rows(
    client: TestClient, tenant_client: TenantClient, model_tenant: str
) -> None:
    http = tenant_client(model_tenant)
    start = _latest_seq(client)
    query = {"tenant": model_tenant}
    assert (
        http.post("/v1/models/au-v2/candidate", json=query | {"mode": "canary", "share": 0.3}).status_code
        == 200
    )
    assert http.delete("/v1/models/candidate", params=query).status_code == 200
    assert http.delete("/v1/models/candidate", params=query).status_code == 200  # nothing to clear: no row
    assert http.post("/v1/models/au-v2/promote", json=query | {"force": True}).status_code == 200
    assert http.post("/v1/models/rollback", json=query).status_code == 200
    rows = _new_rows(client, start)
    assert [(r["action"], r["target"]) for r in rows] == [
        ("model.candidate.set", "model:au-v2"),
        ("model.candidate.clear", "model:au-v2"),
        ("model.promote", "model:au-v2"),
        ("model.rollback", "model:au-v1"),
    ]
    chosen, cleared, promoted, rolled_back = rows
    assert chosen["after"]["candidate_mode"] == "canary" and chosen["after"]["canary_share"] == 0.3
    assert cleared["after"]["candidate"] is None
    assert promoted["before"] == {"active": "au-v1"} and promoted["after"] == {
        "active": "au-v2",
        "forced": True,
    }
    assert rolled_back["after"] == {"active": "au-v1"}
    assert {r["tenant"] for r in rows} == {model_tenant}


def test_audit_route_pages_and_filters_one_tenant(tenant_client: TenantClient) -> None:
    p, q = tenant_client("audit-p"), tenant_client("audit-q")
    for i in range(3):
        assert (
            p.post("/v1/cases", json={"cases": [_case(f"PG-{i}") | {"tenant": "audit-p"}]}).status_code == 201
        )
    assert q.post("/v1/cases", json={"cases": [_case("PG-X") | {"tenant": "audit-q"}]}).status_code == 201

    first = p.get("/v1/audit", params={"tenant": "audit-p", "limit": 2}).json()
    assert [r["target"] for r in first["items"]] == ["case:PG-2", "case:PG-1"]
    second = p.get(
        "/v1/audit", params={"tenant": "audit-p", "limit": 2, "before": first["next_before"]}
    ).json()
    assert [r["target"] for r in second["items"]] == ["case:PG-0"] and second["next_before"] is None
    everything = p.get("/v1/audit", params={"tenant": "audit-p", "limit": 500}).json()["items"]
    assert {r["tenant"] for r in everything} == {"audit-p"}  # audit-q's row is not there

    assert p.get("/v1/audit", params={"tenant": "audit-p", "action": "case.delete"}).json()["items"] == []
    assert len(p.get("/v1/audit", params={"tenant": "audit-p", "action": "case.*"}).json()["items"]) == 3
    newest = first["items"][0]["at"]
    later = p.get("/v1/audit", params={"tenant": "audit-p", "since": newest}).json()["items"]
    assert [r["target"] for r in later] == ["case:PG-2"]
    assert (
        p.get("/v1/audit", params={"tenant": "audit-p", "until": "2000-01-01T00:00:00Z"}).json()["items"]
        == []
    )
    # Another tenant's key sees its own rows only, and may not name this tenant.
    assert {r["tenant"] for r in q.get("/v1/audit").json()["items"]} == {"audit-q"}
    refused = q.get("/v1/audit", params={"tenant": "audit-p"})
    assert refused.status_code == 403 and "items" not in refused.json()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"action": "DROP TABLE"}, "action"),
        ({"since": "yesterday"}, "since"),
        ({"before": -1}, "before"),
    ],
)
def test_audit_route_rejects_bad_parameters(
    client: TestClient, params: dict[str, object], field: str
) -> None:
    response = client.get("/v1/audit", params=params)
    assert response.status_code == 422
    assert field in json.dumps(response.json())


def test_audit_chain_stays_intact_through_the_api(client: TestClient) -> None:
    log: AuditLog = client.app.state.audit  # type: ignore[attr-defined]
    result = log.verify()
    assert result.ok, result.problem


def test_connector_changes_are_audited_without_credentials(
    client: TestClient, tenant_client: TenantClient
) -> None:
    http = tenant_client(TENANT)
    start = _latest_seq(client)
    connector = {
        "name": "au-conn",
        "tenant": TENANT,
        "system": "generic",
        "base_url": "https://robot:hunter2@tickets.example.org/api",
        "signing_secret": "a-signing-secret-of-some-length",
    }
    assert http.post("/v1/connectors", json=connector).status_code == 201
    assert http.delete("/v1/connectors/au-conn", params={"tenant": TENANT}).status_code == 204
    rows = _new_rows(client, start)
    assert [(r["action"], r["target"]) for r in rows] == [
        ("connector.create", "connector:au-conn"),
        ("connector.delete", "connector:au-conn"),
    ]
    assert rows[0]["after"] == {
        "exists": True,
        "system": "generic",
        "host": "tickets.example.org",
        "enabled": True,
    }
    assert "hunter2" not in json.dumps(rows) and "a-signing-secret" not in json.dumps(rows)


def test_webhook_queue_keeps_no_personal_data_with_redact_pii(demo_dir: Path, make_key: KeyMaker) -> None:
    import hashlib
    import hmac
    import time

    from serving.app import create_app
    from serving.settings import load_settings

    secret = "a-signing-secret-of-some-length"
    app = create_app(load_settings(data_dir=demo_dir, redact_pii=True))
    body = json.dumps(
        {
            "event": "created",
            "event_id": "ev-pii-1",
            "ticket": {
                "id": "WH-PII-1",
                "title": "VPN down",
                "body": "联系人：欧阳娜娜，电话13912345678，邮箱wangfangqzv@xkcdmail.cn，VPN 报错 809。",
                "requester": "wangfangqzv@xkcdmail.cn",
            },
        },
        ensure_ascii=False,
    ).encode()
    stamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Triage-Timestamp": stamp,
        "X-Triage-Signature": f"sha256={digest}",
    }
    connector = {
        "name": "pii-generic",
        "tenant": "pii-wh",
        "system": "generic",
        "base_url": "http://127.0.0.1:9",
        "signing_secret": secret,
    }
    with TestClient(app, headers=bearer(make_key("pii-wh"))) as redacting:
        assert redacting.post("/v1/connectors", json=connector).status_code == 201
        accepted = redacting.post("/v1/webhooks/pii-generic", content=body, headers=headers)
        assert accepted.status_code == 202, accepted.text
        stored = app.state.connectors.delivery(accepted.json()["delivery_id"])
    kept = stored.body.decode()
    assert "WH-PII-1" in kept and "[PHONE]" in kept and "[NAME]" in kept
    for raw in ("13912345678", "wangfangqzv", "欧阳娜娜"):
        assert raw not in kept


def test_key_create_and_revoke_are_audited_without_the_secret(
    client: TestClient, tenant_client: TenantClient
) -> None:
    http = tenant_client(TENANT)
    start = _latest_seq(client)
    created = http.post("/v1/keys", json={"scopes": ["triage"], "name": "audit test key"})
    assert created.status_code == 201, created.text
    key = created.json()
    assert http.delete(f"/v1/keys/{key['id']}").status_code == 200
    rows = _new_rows(client, start)
    assert [(r["action"], r["target"]) for r in rows] == [
        ("key.create", f"key:{key['id']}"),
        ("key.revoke", f"key:{key['id']}"),
    ]
    assert rows[0]["after"]["scopes"] == ["triage"] and rows[1]["after"]["revoked"] is True
    assert key["secret"] not in json.dumps(rows)
