"""The dashboard's HTTP side: /v1/stats figures (JSON and CSV), the pages, offline docs, labelled /metrics."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from triage.pipeline import TriageService

TENANT = "dash"
TICKETS = [
    {
        "id": "D-1",
        "title": "VPN down",
        "body": "My VPN cannot connect since this morning, error 809 on srv-vpn-02.",
    },
    {
        "id": "D-2",
        "title": "报销未到账",
        "body": "上个月的差旅报销 ¥3,200 还没有到账，发票号 INV-2026-004512，请财务查一下。",
    },
    {
        "id": "D-3",
        "title": "Payslip missing",
        "body": "My payslip for last month is missing from the HR portal.",
    },
]


@pytest.fixture(scope="module")
def dash(tenant_client: Callable[[str], TestClient]) -> TestClient:
    """A client whose key belongs to tenant 'dash' (the figures below count only its tickets)."""
    return tenant_client(TENANT)


@pytest.fixture(scope="module")
def triaged(dash: TestClient) -> list[dict[str, object]]:
    client = dash
    results = []
    for ticket in TICKETS:
        response = client.post("/v1/triage", json=ticket | {"tenant": TENANT})
        assert response.status_code == 200, response.text
        results.append(response.json())
    first = results[0]["department"]["value"]
    other = "Legal" if first != "Legal" else "HR"
    client.post(
        "/v1/feedback",
        json={
            "tenant": TENANT,
            "ticket_id": "D-1",
            "head": "department",
            "predicted": first,
            "correct": other,
        },
    )
    client.post(
        "/v1/feedback",
        json={"tenant": TENANT, "ticket_id": "D-2", "case_id": "DEMO-000001", "helpful": False},
    )
    service: TriageService = client.app.state.service  # type: ignore[attr-defined]
    assert service.ledger is not None
    service.ledger.add_reassignment(
        TENANT, "D-3", "HR", "Finance", datetime.now(UTC) - timedelta(minutes=5), "zendesk"
    )
    return results


def _stats(client: TestClient, figure: str, **params: str) -> dict[str, object]:
    response = client.get(f"/v1/stats/{figure}", params={"tenant": TENANT, "range": "today", **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["figure"] in (figure, "handoff-tickets") and body["tenant"] == TENANT
    return body


def test_stats_volume_and_routing_count_the_triaged_tickets(dash: TestClient, triaged: list[dict]) -> None:
    client = dash
    volume = _stats(client, "volume")
    assert volume["columns"] == ["bucket", "key", "tickets"] and volume["bucket"] == "hour"
    assert sum(r[2] for r in volume["rows"]) == len(TICKETS)
    assert {r[1] for r in volume["rows"]} == {r["department"]["value"] for r in triaged}
    languages = {r[1] for r in _stats(client, "volume", by="language")["rows"]}
    assert {"zh", "en"} <= languages
    routing = _stats(client, "routing")
    department = [r for r in routing["rows"] if r[0] == "department"]
    assert sum(r[2] + r[3] for r in department) == len(TICKETS)


def test_stats_quality_handoffs_and_suggestions_follow_feedback(
    dash: TestClient, triaged: list[dict]
) -> None:
    client = dash
    accuracy = _stats(client, "accuracy")
    assert [(r[0], r[1], r[3], r[4]) for r in accuracy["rows"]] == [
        ("department", triaged[0]["model_version"], 1, 0.0)
    ]
    confusion = _stats(client, "confusion")
    assert len(confusion["rows"]) == 1 and confusion["rows"][0][2] == 1
    handoffs = _stats(client, "handoffs")
    sources = {r[2]: r for r in handoffs["rows"]}
    assert sources["zendesk"][:2] == ["HR", "Finance"] and "correction" in sources
    cell = _stats(client, "handoffs/tickets", **{"from": "HR", "to": "Finance"})
    assert [r[0] for r in cell["rows"]] == ["D-3"]
    assert _stats(client, "suggestions")["rows"] == [["DEMO-000001", 0, 1]]
    coverage = _stats(client, "coverage")
    assert {r[0] for r in coverage["rows"]} == {"department", "category", "priority"}


def test_stats_csv_export_is_the_same_table(dash: TestClient, triaged: list[dict]) -> None:
    client = dash
    response = client.get("/v1/stats/volume", params={"tenant": TENANT, "range": "today", "format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["bucket", "key", "tickets"] and sum(int(r[2]) for r in rows[1:]) == len(TICKETS)


def test_stats_duplicates_lists_the_open_case_a_ticket_repeats(dash: TestClient) -> None:
    client = dash
    case = {
        "id": "DUP-OPEN-1",
        "title": "Shared drive S: not mapping",
        "body": "Since the update the shared drive S: does not map on any laptop in building 4, error 0x80070035.",
        "status": "open",
        "department": "IT",
    }
    solved = case | {"id": "DUP-SOLVED-1", "status": "resolved"}
    stored = client.post("/v1/cases", json={"cases": [case, solved]})
    assert stored.status_code == 201, stored.text
    ticket = {"tenant": TENANT, "id": "D-9", "title": case["title"], "body": case["body"]}
    for _ in range(2):  # the same ticket checked twice counts once
        found = client.post("/v1/duplicates", json=ticket)
        assert found.status_code == 200, found.text
        assert [d["id"] for d in found.json()["duplicates"]] == ["DUP-OPEN-1"]
    rows = _stats(client, "duplicates")["rows"]
    assert [r[:5] for r in rows] == [["DUP-OPEN-1", case["title"], "IT", "open", 1]]
    assert rows[0][5] >= found.json()["threshold"]
    exported = client.get(
        "/v1/stats/duplicates", params={"tenant": TENANT, "range": "today", "format": "csv"}
    )
    table = list(csv.reader(io.StringIO(exported.text)))
    assert (
        table[0][:5] == ["case_id", "title", "department", "status", "tickets"]
        and table[1][0] == "DUP-OPEN-1"
    )


def test_stats_sla_risk_lists_open_tickets_with_their_risk(dash: TestClient, triaged: list[dict]) -> None:
    client = dash
    everything = client.get("/v1/stats/sla-risk", params={"tenant": TENANT, "threshold": 0}).json()
    assert everything["columns"][:2] == ["ticket_id", "department"]
    listed = {r[0] for r in everything["rows"]}
    assert listed <= {t["id"] for t in TICKETS} and listed, "every triaged ticket has a handling estimate"
    hours_left = [r[5] for r in everything["rows"]]
    assert hours_left == sorted(hours_left)


@pytest.mark.parametrize(
    ("figure", "params", "field"),
    [
        ("volume", {"range": "fortnight"}, "range"),
        ("volume", {"by": "team"}, "by"),
        ("volume", {"since": "2026-03-02"}, "since"),
        ("confusion", {"head": "team"}, "head"),
        ("sla-risk", {"threshold": "2"}, "threshold"),
        ("volume", {"format": "xml"}, "format"),
    ],
)
def test_stats_reject_bad_parameters_naming_the_field(
    client: TestClient, figure: str, params: dict[str, str], field: str
) -> None:
    response = client.get(f"/v1/stats/{figure}", params=params)
    assert response.status_code == 422
    error = response.json()["errors"][0]  # problem+json: the offending field and what is wrong
    assert error["loc"][-1] == field and error["msg"]


def test_stats_period_from_any_combination_of_range_since_until(
    dash: TestClient, triaged: list[dict[str, object]]
) -> None:
    """since/until are filters: a custom range without since starts at the first prediction, a
    reversed one is an empty period (200, no rows), and since alone means a custom range."""

    def tickets(**params: str) -> tuple[int, dict[str, object]]:
        response = dash.get("/v1/stats/volume", params={"tenant": TENANT, **params})
        assert response.status_code == 200, response.text
        body = response.json()
        return sum(int(row[2]) for row in body["rows"]), body

    everything, body = tickets(range="custom")
    assert everything == len(TICKETS), body
    assert str(body["since"]) <= datetime.now(UTC).isoformat() and body["bucket"] == "hour"
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="seconds")
    assert tickets(since=hour_ago)[0] == len(TICKETS)  # no range: since alone means custom
    assert tickets(range="7d", until=hour_ago)[0] == 0  # until narrows a preset range
    none, reversed_ = tickets(range="custom", since=later, until=hour_ago)
    assert none == 0 and reversed_["since"] == reversed_["until"]


def test_pages_and_offline_docs_are_served_by_the_package(client: TestClient) -> None:
    for path in ("/dashboard", "/models", "/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        # No CDN anywhere: every script and stylesheet is a path on this server.
        for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert not re.match(r"(https?:)?//", url), f"{path} loads {url} from elsewhere"
    docs = client.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in docs
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert client.get(f"/docs-assets/{asset}").status_code == 200
    assert client.get("/static/vendor/chart.umd.min.js").status_code == 200
    en = client.get("/static/i18n/en.json").json()
    zh = client.get("/static/i18n/zh.json").json()
    assert set(en) == set(zh) and len(en) > 100


def test_metrics_carry_tenant_route_status_version_head_language_and_stages(
    client: TestClient, triaged: list[dict]
) -> None:
    text = client.get("/metrics").text
    version = triaged[0]["model_version"]
    assert re.search(
        r'triage_requests_total\{method="POST",route="/v1/triage",status_class="2xx",tenant="dash"\} [1-9]',
        text,
    )
    assert re.search(
        rf'triage_predictions_total\{{abstained="(true|false)",head="department",language="zh",'
        rf'model_version="{re.escape(version)}",tenant="dash"\}} [1-9]',
        text,
    )
    assert 'triage_stage_seconds_bucket{le="0.5",stage="encode"}' in text


def test_labels_lists_every_known_label_per_head(client: TestClient) -> None:
    body = client.get("/v1/labels").json()
    assert set(body["labels"]) >= {"department", "category", "priority"}
    assert len(body["labels"]["category"]) > 3 and "IT" in body["labels"]["department"]
    assert body["model_version"] == client.get("/readyz").json()["model_version"]
