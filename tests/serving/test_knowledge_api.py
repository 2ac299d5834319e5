"""Cases, knowledge-base articles, duplicates and spikes over HTTP (real bundled models, real SQLite).

Each test writes to its own tenant: the session's app and database are shared with test_api.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from knowledge.duplicates import DUPLICATE_THRESHOLD

TenantClient = Callable[[str], TestClient]

pytestmark = pytest.mark.slow

BADGE = {
    "title": "Badge reader at gate 4 rejects cards",
    "body": "Hold the reset button on the gate 4 badge reader for ten seconds, then re-sync the card list.",
}
TONER = {
    "title": "Replacing the toner on the floor 7 printer",
    "body": "Open the front cover of the floor 7 printer, pull out the empty toner cartridge and insert a new one.",
}
# Chinese text is searched mostly by the dense encoder, so a stale vector would show.
TONER_ZH = {
    "title": "七楼打印机更换硒鼓",
    "body": "打开七楼打印机的前盖，取出用完的硒鼓，装上新的硒鼓后打印测试页。",
}
EXPENSES = {
    "title": "Submitting travel expenses",
    "body": "Travel expenses are claimed in the finance portal with the scanned receipts within 30 days.",
}


def _search(client: TestClient, tenant: str, text: str, kind: str) -> dict[str, float]:
    response = client.post("/v1/similar", json={"body": text, "tenant": tenant, "kind": kind, "k": 10})
    assert response.status_code == 200, response.text
    return {hit["id"]: hit["score"] for hit in response.json()["similar_cases"]}


def _text(doc: dict[str, str]) -> str:
    return f"{doc['title']}\n{doc['body']}"


def test_articles_round_trip_through_store_and_search(
    client: TestClient, tenant_client: TenantClient
) -> None:
    tenant = "kb-articles"
    client = tenant_client(tenant)
    articles = [
        BADGE | {"id": "KB-T1", "department": "Security", "tenant": tenant, "metadata": {"source": "wiki"}},
        EXPENSES | {"id": "KB-T2", "department": "Finance", "tenant": tenant},
    ]
    created = client.post("/v1/articles", json={"articles": articles})
    assert created.status_code == 201, created.text
    assert [a["id"] for a in created.json()["articles"]] == ["KB-T1", "KB-T2"]
    assert created.json()["articles"][0]["language"] == "en"

    got = client.get("/v1/articles/KB-T1", params={"tenant": tenant}).json()
    assert got["body"] == BADGE["body"] and got["metadata"] == {"source": "wiki"}
    listed = client.get("/v1/articles", params={"tenant": tenant}).json()
    assert listed["total"] == 2 and [a["id"] for a in listed["articles"]] == ["KB-T1", "KB-T2"]
    finance = client.get("/v1/articles", params={"tenant": tenant, "department": "Finance"}).json()
    assert finance["total"] == 1 and [a["id"] for a in finance["articles"]] == ["KB-T2"]
    second = client.get("/v1/articles", params={"tenant": tenant, "limit": 1, "offset": 1}).json()
    assert second["total"] == 2 and [a["id"] for a in second["articles"]] == ["KB-T2"]
    # Articles are not cases: the case store and case search do not see them.
    assert client.get("/v1/cases", params={"tenant": tenant}).json()["total"] == 0
    assert client.get("/v1/cases/KB-T1", params={"tenant": tenant}).status_code == 404
    assert _search(client, tenant, _text(BADGE), "case") == {}

    # An unrelated article scores low, or falls below the relevance floor and is not suggested.
    before = _search(client, tenant, _text(TONER), "article")
    assert before.get("KB-T1", 0.0) < 0.3, before
    replaced = client.put("/v1/articles/KB-T1", params={"tenant": tenant}, json=TONER | {"department": "IT"})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["title"] == TONER["title"] and replaced.json()["metadata"] == {}
    assert client.get("/v1/articles/KB-T1", params={"tenant": tenant}).json()["department"] == "IT"
    # Re-embedded and re-indexed: the new text finds it, the old one no longer does.
    after = _search(client, tenant, _text(TONER), "article")
    assert max(after, key=after.__getitem__) == "KB-T1" and after["KB-T1"] > 0.8, after
    assert _search(client, tenant, _text(BADGE), "article").get("KB-T1", 0.0) < 0.3

    assert client.delete("/v1/articles/KB-T1", params={"tenant": tenant}).status_code == 204
    assert client.get("/v1/articles/KB-T1", params={"tenant": tenant}).status_code == 404
    assert "KB-T1" not in _search(client, tenant, _text(TONER), "article")
    assert client.get("/v1/articles", params={"tenant": tenant}).json()["total"] == 1
    again = client.delete("/v1/articles/KB-T1", params={"tenant": tenant})
    assert again.status_code == 404 and "KB-T1" in again.json()["detail"]


def test_bulk_delete_reports_unknown_ids(client: TestClient, tenant_client: TenantClient) -> None:
    tenant = "kb-bulk"
    client = tenant_client(tenant)
    cases = [
        BADGE | {"id": "C1", "tenant": tenant},
        TONER | {"id": "C2", "tenant": tenant},
        EXPENSES | {"id": "C3", "tenant": tenant},
    ]
    assert client.post("/v1/cases", json={"cases": cases}).status_code == 201
    # Deleting cases through the article route touches nothing: the kinds are separate.
    wrong_kind = client.post("/v1/articles:delete", json={"ids": ["C1"], "tenant": tenant}).json()
    assert wrong_kind == {"deleted": [], "not_found": ["C1"]}

    response = client.post("/v1/cases:delete", json={"ids": ["C1", "nope", "C3", "C1"], "tenant": tenant})
    assert response.status_code == 200, response.text
    assert response.json() == {"deleted": ["C1", "C3"], "not_found": ["nope"]}
    listed = client.get("/v1/cases", params={"tenant": tenant}).json()
    assert listed["total"] == 1 and [c["id"] for c in listed["cases"]] == ["C2"]
    assert set(_search(client, tenant, _text(TONER), "case")) == {"C2"}
    assert "C1" not in _search(client, tenant, _text(BADGE), "case")
    repeat = client.post("/v1/cases:delete", json={"ids": ["C1"], "tenant": tenant}).json()
    assert repeat == {"deleted": [], "not_found": ["C1"]}


def test_put_replaces_a_case_and_reembeds_it(client: TestClient, tenant_client: TenantClient) -> None:
    tenant = "kb-put"
    client = tenant_client(tenant)
    case = BADGE | {"id": "P1", "tenant": tenant, "resolution": "Reset the reader.", "status": "open"}
    other = EXPENSES | {"id": "P2", "tenant": tenant}
    assert client.post("/v1/cases", json={"cases": [case, other]}).status_code == 201
    assert client.get("/v1/cases", params={"tenant": tenant, "status": "open"}).json()["total"] == 1

    new = TONER_ZH | {"resolution": "换了新硒鼓。", "status": "closed", "priority": "P4"}
    response = client.put("/v1/cases/P1", params={"tenant": tenant}, json=new)
    assert response.status_code == 200, response.text
    assert response.json()["language"] == "zh"
    stored = client.get("/v1/cases/P1", params={"tenant": tenant}).json()
    assert stored["body"] == TONER_ZH["body"] and stored["status"] == "closed" and stored["priority"] == "P4"
    assert client.get("/v1/cases", params={"tenant": tenant, "status": "open"}).json()["total"] == 0
    assert client.get("/v1/cases", params={"tenant": tenant}).json()["total"] == 2
    found = _search(client, tenant, _text(TONER_ZH), "case")
    assert max(found, key=found.__getitem__) == "P1" and found["P1"] > 0.8, found
    assert _search(client, tenant, _text(BADGE), "case").get("P1", 0.0) < 0.3

    unknown = client.put("/v1/cases/P9", params={"tenant": tenant}, json=new)
    assert unknown.status_code == 404 and "P9" in unknown.json()["detail"]
    assert client.get("/v1/cases/P9", params={"tenant": tenant}).status_code == 404, "PUT must not create"


def test_duplicates_flags_an_open_case_with_the_same_text(
    client: TestClient, tenant_client: TenantClient
) -> None:
    tenant = "kb-dups"
    client = tenant_client(tenant)
    vpn = {
        "title": "VPN drops every 10 minutes",
        "body": "Since the client update the VPN disconnects every 10 minutes with error 812 on all laptops.",
    }
    zh = {"title": "打印机卡纸", "body": "三楼的打印机一直卡纸，打印任务全部失败，重启也没有用。"}
    cases = [
        vpn | {"id": "D-OPEN", "status": "open", "tenant": tenant},
        vpn | {"id": "D-DONE", "status": "resolved", "tenant": tenant},
        EXPENSES | {"id": "D-OTHER", "status": "open", "tenant": tenant},
        zh | {"id": "D-ZH", "status": "pending", "tenant": tenant},
    ]
    assert client.post("/v1/cases", json={"cases": cases}).status_code == 201

    response = client.post("/v1/duplicates", json=vpn | {"tenant": tenant})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [d["id"] for d in body["duplicates"]] == ["D-OPEN"], body
    assert body["duplicates"][0]["score"] >= body["threshold"] == DUPLICATE_THRESHOLD["en"]
    assert body["duplicates"][0]["status"] == "open"
    assert body["threshold_language"] == "en" and "GitBugs" in body["threshold_basis"]
    assert "open" in body["statuses"] and "resolved" not in body["statuses"]

    unrelated = client.post(
        "/v1/duplicates",
        json={
            "title": "Canteen menu",
            "body": "The canteen menu on the intranet still shows last week.",
            "tenant": tenant,
        },
    ).json()
    assert unrelated["duplicates"] == [] and unrelated["threshold"] == DUPLICATE_THRESHOLD["en"]

    chinese = client.post("/v1/duplicates", json=zh | {"tenant": tenant}).json()
    assert [d["id"] for d in chinese["duplicates"]] == ["D-ZH"], chinese
    assert chinese["threshold_language"] == "zh" and chinese["threshold"] == DUPLICATE_THRESHOLD["zh"]

    # The ticket itself, sent again with its id, is not its own duplicate.
    itself = client.post("/v1/duplicates", json=vpn | {"tenant": tenant, "id": "D-OPEN"}).json()
    assert itself["duplicates"] == []
    # A threshold in the request replaces the fitted one, and says so.
    loose = client.post(
        "/v1/duplicates", json={"body": "The canteen menu is outdated.", "tenant": tenant, "threshold": 0.0}
    ).json()
    assert loose["threshold"] == 0.0 and "given in the request" in loose["threshold_basis"]
    assert {d["id"] for d in loose["duplicates"]} <= {"D-OPEN", "D-OTHER", "D-ZH"} and loose["duplicates"]


NOW = datetime.fromisoformat("2026-11-23T18:00:00+08:00")


def _spike_cases(tenant: str) -> list[dict[str, Any]]:
    burst = [
        {
            "id": f"S-{i}",
            "title": "Outlook cannot send mail",
            "body": f"Outlook refuses to send mail with error 550 relay denied since this morning (floor {i % 3}).",
            "status": "open",
            "created_at": (NOW - timedelta(minutes=40 * i + 5)).isoformat(),
        }
        for i in range(6)
    ]
    noise = [
        {"id": f"N-{i}", "body": text, "created_at": (NOW - timedelta(hours=2 * i + 1)).isoformat()}
        for i, text in enumerate(
            ["The printer on floor 2 jams.", "My salary slip is missing.", "Please order a new laptop."]
        )
    ]
    return [c | {"tenant": tenant} for c in burst + noise]


def test_spikes_reports_a_burst_of_similar_cases(client: TestClient, tenant_client: TenantClient) -> None:
    tenant = "kb-spikes"
    client = tenant_client(tenant)
    assert client.post("/v1/cases", json={"cases": _spike_cases(tenant)}).status_code == 201

    response = client.get("/v1/spikes", params={"tenant": tenant, "now": NOW.isoformat(), "min_size": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["spikes"]) == 1, body
    spike = body["spikes"][0]
    assert set(spike["case_ids"]) == {f"S-{i}" for i in range(6)} and spike["size"] == 6
    assert spike["case_ids"][0] == "S-5", "oldest first"
    assert spike["baseline"] == 0 and spike["terms"]
    assert spike["first_seen"] < spike["last_seen"]
    assert body["window_end"] == "2026-11-23T10:00:00+00:00" and body["window_hours"] == 24

    # The same instant written in UTC finds the same spike (stored times carry +08:00).
    utc = client.get("/v1/spikes", params={"tenant": tenant, "now": "2026-11-23T10:00:00Z", "min_size": 5})
    assert [s["case_ids"] for s in utc.json()["spikes"]] == [spike["case_ids"]]
    # Fewer cases than min_size, or a window that ends before the burst: no spike.
    assert (
        client.get("/v1/spikes", params={"tenant": tenant, "now": NOW.isoformat(), "min_size": 7}).json()[
            "spikes"
        ]
        == []
    )
    earlier = (NOW - timedelta(hours=5)).isoformat()
    assert (
        client.get("/v1/spikes", params={"tenant": tenant, "now": earlier, "window_hours": 2}).json()[
            "spikes"
        ]
        == []
    )
    later = (NOW + timedelta(days=3)).isoformat()
    assert client.get("/v1/spikes", params={"tenant": tenant, "now": later}).json()["spikes"] == []


def test_spikes_refuses_a_window_too_large_to_compare(
    client: TestClient, tenant_client: TenantClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = "kb-spikes-cap"
    client = tenant_client(tenant)
    assert client.post("/v1/cases", json={"cases": _spike_cases(tenant)}).status_code == 201
    monkeypatch.setattr("knowledge.duplicates.MAX_WINDOW_CASES", 4)
    response = client.get("/v1/spikes", params={"tenant": tenant, "now": NOW.isoformat(), "min_size": 3})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["loc"] == ["query", "window_hours"] and "shorten the window" in error["msg"]


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        ("POST", "/v1/articles", {"articles": []}, "articles"),
        ("POST", "/v1/articles", {"articles": [{"id": "a", "body": "  "}]}, "body"),
        ("POST", "/v1/articles", {"articles": [{"id": "", "body": "ok"}]}, "id"),
        ("POST", "/v1/articles", {"articles": [{"id": "a", "body": "ok", "language": "fr"}]}, "language"),
        (
            "POST",
            "/v1/articles",
            {"articles": [{"id": "a", "body": "x"}, {"id": "a", "body": "y"}]},
            "articles",
        ),
        ("POST", "/v1/articles", {"articles": [{"id": "a", "body": "ok", "resolution": "r"}]}, "resolution"),
        ("POST", "/v1/cases", {"cases": [{"id": "a", "body": "ok", "status": "bogus"}]}, "status"),
        ("POST", "/v1/cases", {"cases": [{"id": "a", "body": "ok", "created_at": "soon"}]}, "created_at"),
        ("PUT", "/v1/articles/a", {"id": "a", "body": "ok"}, "id"),
        ("PUT", "/v1/cases/a", {"body": "ok", "tenant": "acme"}, "tenant"),
        ("PUT", "/v1/cases/a", {"title": "no body"}, "body"),
        ("POST", "/v1/cases:delete", {"ids": []}, "ids"),
        ("POST", "/v1/articles:delete", {"ids": [""]}, "ids"),
        ("POST", "/v1/cases:delete", {"ids": ["a"], "tenant": "../etc"}, "tenant"),
        ("POST", "/v1/duplicates", {"body": " "}, "body"),
        ("POST", "/v1/duplicates", {"body": "ok", "k": 0}, "k"),
        ("POST", "/v1/duplicates", {"body": "ok", "threshold": 1.5}, "threshold"),
        ("GET", "/v1/spikes?window_hours=0", None, "window_hours"),
        ("GET", "/v1/spikes?window_hours=100000", None, "window_hours"),
        ("GET", "/v1/spikes?min_size=1", None, "min_size"),
        ("GET", "/v1/spikes?history=-1", None, "history"),
        ("GET", "/v1/spikes?similarity=0", None, "similarity"),
        ("GET", "/v1/spikes?now=next-tuesday", None, "now"),
        # Window arithmetic on these would overflow (was a 500).
        ("GET", "/v1/spikes?now=0001-01-01T00:00:00", None, "now"),
        ("GET", "/v1/spikes?now=9999-12-31T23:00:00", None, "now"),
        (
            "POST",
            "/v1/cases",
            {"cases": [{"id": "a", "body": "ok", "created_at": "0001-01-01T00:00:00+01:00"}]},
            "created_at",
        ),
        ("GET", "/v1/cases?created_to=9999-12-31T23:59:59", None, "created_to"),
        ("GET", "/v1/spikes?windowhours=3", None, "windowhours"),
        ("GET", "/v1/articles?limit=0", None, "limit"),
        ("GET", "/v1/articles?language=fr", None, "language"),
        ("GET", "/v1/articles?status=open", None, "status"),
        ("GET", "/v1/cases?status=bogus", None, "status"),
        ("GET", "/v1/cases?created_from=someday", None, "created_from"),
        ("GET", "/v1/cases/a?tenant=../etc", None, "tenant"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: TestClient, method: str, path: str, payload: dict[str, Any] | None, field: str
) -> None:
    response = client.request(method, path, json=payload)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(field in map(str, d["loc"]) for d in errors), errors
    assert all(d["msg"] for d in errors)
    assert "Traceback" not in response.text


@pytest.mark.parametrize("kind", ["cases", "articles"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_unknown_id_is_a_404_with_a_message(tenant_client: TenantClient, kind: str, method: str) -> None:
    payload = {"body": "Some text."} if method == "PUT" else None
    response = tenant_client("kb-none").request(
        method, f"/v1/{kind}/NO-SUCH-ID", params={"tenant": "kb-none"}, json=payload
    )
    assert response.status_code == 404, response.text
    message = response.json()["detail"]
    assert response.headers["content-type"] == "application/problem+json"
    assert "NO-SUCH-ID" in message and "kb-none" in message and kind.rstrip("s") in message


def test_openapi_lists_the_knowledge_endpoints(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    expected = {
        "/v1/cases": {"get", "post"},
        "/v1/cases/{case_id}": {"get", "put", "delete"},
        "/v1/cases:delete": {"post"},
        "/v1/articles": {"get", "post"},
        "/v1/articles/{article_id}": {"get", "put", "delete"},
        "/v1/articles:delete": {"post"},
        "/v1/duplicates": {"post"},
        "/v1/spikes": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths.get(path, {})), path
    spike_params = {p["name"]: p for p in paths["/v1/spikes"]["get"]["parameters"]}
    assert {"window_hours", "min_size", "history", "now", "tenant"} <= set(spike_params)
    assert all(p.get("description") for p in spike_params.values())
    list_params = {p["name"] for p in paths["/v1/cases"]["get"]["parameters"]}
    assert {"status", "department", "limit", "offset"} <= list_params
