"""The HTTP API in-process (real bundled models, real SQLite): shapes, validation, cases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from serving.app import create_app
from serving.schemas import MAX_BATCH, MAX_BODY_CHARS
from serving.settings import load_settings

pytestmark = pytest.mark.slow

EN = {
    "title": "VPN down",
    "body": "Hi team, my VPN cannot connect since this morning, error 809 on host srv-vpn-02. Pls help asap.",
}
ZH = {
    "title": "报销未到账",
    "body": "您好，我上个月的差旅报销 ¥3,200 还没有到账，发票号 INV-2026-004512，请财务帮忙查一下。",
}


def test_triage_returns_the_whole_result(client: TestClient) -> None:
    response = client.post("/v1/triage", json=EN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["language"] == "en"
    assert body["headline"] and body["summary"]
    for head in ("department", "category", "priority"):
        prediction = body[head]
        assert 0.0 <= prediction["confidence"] <= 1.0
        assert len(prediction["alternatives"]) == 3
        assert prediction["alternatives"][0]["value"] == prediction["value"]
        assert isinstance(prediction["abstained"], bool) and prediction["reason"]
    assert body["handling_time"]["p50_hours"] <= body["handling_time"]["p90_hours"]
    assert body["similar_cases"] and 0.0 <= body["similar_cases"][0]["score"] <= 1.0
    assert body["articles"] and body["articles"][0]["resolution"], "the demo has KB articles to suggest"
    text = EN["title"] + "\n" + EN["body"]
    for field in body["fields"]:
        assert text[field["start"] : field["end"]] == field["text"]
    assert any(f["type"] == "hostname" for f in body["fields"])


def test_triage_chinese_ticket(client: TestClient) -> None:
    body = client.post("/v1/triage", json=ZH).json()
    assert body["language"] == "zh"
    assert body["department"]["value"] == "Finance"
    types = {f["type"] for f in body["fields"]}
    assert {"amount", "invoice_number"} <= types


def test_triage_batch_keeps_order(client: TestClient) -> None:
    response = client.post("/v1/triage:batch", json={"tickets": [EN | {"id": "a"}, ZH | {"id": "b"}]})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["ticket_id"] for r in results] == ["a", "b"]
    assert [r["language"] for r in results] == ["en", "zh"]


def test_batch_results_equal_single_ticket_results_field_for_field(client: TestClient) -> None:
    """/v1/triage:batch does per batch what /v1/triage does per ticket: the same answer for each ticket."""
    from training.sample_data import generate_tickets

    tickets = [
        {"id": f"same-{i}", "title": t["title"], "body": t["body"], "created_at": "2026-11-23T09:15:00+08:00"}
        for i, t in enumerate(generate_tickets(24, seed=7))
    ] + [EN | {"id": "same-en"}, ZH | {"id": "same-zh"}]
    response = client.post("/v1/triage:batch", json={"tickets": tickets})
    assert response.status_code == 200, response.text
    batch = response.json()["results"]
    assert {r["language"] for r in batch} >= {"en", "zh"}
    assert any(r["similar_cases"] for r in batch) and any(r["articles"] for r in batch)
    for ticket, in_batch in zip(tickets, batch, strict=True):
        alone = client.post("/v1/triage", json=ticket).json()
        in_batch.pop("timings_ms"), alone.pop("timings_ms")
        assert _same_answer(in_batch, alone), (ticket["id"], in_batch, alone)


def _same_answer(a: object, b: object) -> bool:
    """Equal field for field; a published float may differ by one unit of its last (4th) decimal.

    The batch encodes its texts in one matrix product and a single ticket in a vector product; BLAS
    sums in another order, so vectors differ by ~1e-7 and a rounded confidence can land on either side
    of a 4-decimal boundary (seen once in CI: 0.0837 vs 0.0838). Labels, order, abstention, ids and
    text must still be equal.
    """
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and abs(a - b) <= 1.5e-4
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_answer(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_answer(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "", "body": ""}, "body"),
        ({"title": "", "body": " \n\t "}, "body"),
        ({"title": "x", "body": "y" * (MAX_BODY_CHARS + 1)}, "body"),
        ({"title": "x" * 1001, "body": "ok"}, "title"),
        ({"title": "x"}, "body"),
        ({"title": 5, "body": "ok"}, "title"),
        ({"body": ["a list"]}, "body"),
        ({"body": "ok", "colour": "red"}, "colour"),
        ({"body": "ok", "created_at": "yesterday-ish"}, "created_at"),
        ({"body": "ok", "language": "fr"}, "language"),
        ({"body": "ok", "tenant": "../etc"}, "tenant"),
    ],
)
def test_triage_rejects_bad_input_naming_the_field(
    client: TestClient, payload: dict[str, object], field: str
) -> None:
    response = client.post("/v1/triage", json=payload)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert any(field in map(str, d["loc"]) for d in errors), errors
    assert all(d["msg"] for d in errors)
    assert "Traceback" not in response.text


def test_triage_size_limit_is_named_in_the_error(client: TestClient) -> None:
    response = client.post("/v1/triage", json={"body": "y" * (MAX_BODY_CHARS + 1)})
    assert "20000" in response.json()["errors"][0]["msg"]
    # The oversized input is not echoed back.
    assert len(response.text) < 1000


def test_triage_rejects_invalid_json(client: TestClient) -> None:
    response = client.post(
        "/v1/triage", content=b'{"body": "unterminated', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "json_invalid"


def test_batch_limits(client: TestClient) -> None:
    assert client.post("/v1/triage:batch", json={"tickets": []}).status_code == 422
    too_many = {"tickets": [{"body": "x"}] * (MAX_BATCH + 1)}
    response = client.post("/v1/triage:batch", json=too_many)
    assert response.status_code == 422 and "tickets" in response.json()["errors"][0]["loc"]


def test_classify_extract_summarize(client: TestClient) -> None:
    classify = client.post("/v1/classify", json=ZH).json()
    assert classify["department"]["value"] == "Finance" and classify["model_version"]
    extract = client.post("/v1/extract", json=EN).json()
    assert extract["language"] == "en" and extract["fields"]
    summary = client.post("/v1/summarize", json=ZH).json()
    assert summary["headline"] and summary["language"] == "zh"


def test_cases_crud_and_similar(client: TestClient, tenant_client: Callable[[str], TestClient]) -> None:
    default_client, client = client, tenant_client("acme")
    case = {
        "id": "T-1",
        "title": "Badge reader at gate 4 rejects all cards",
        "body": "The badge reader at gate 4 rejects every access card since the firmware update.",
        "resolution": "Rolled back the reader firmware to 2.1 and re-synced the card list.",
        "department": "Security",
        "tenant": "acme",
    }
    assert client.post("/v1/cases", json={"cases": [case]}).status_code == 201
    assert (
        client.get("/v1/cases/T-1", params={"tenant": "acme"}).json()["resolution"].startswith("Rolled back")
    )
    similar = client.post(
        "/v1/similar", json={"body": "gate 4 badge reader refuses my card", "tenant": "acme", "k": 3}
    )
    assert [c["id"] for c in similar.json()["similar_cases"]] == ["T-1"]
    # Another tenant never sees it.
    other = default_client.post(
        "/v1/similar", json={"body": "gate 4 badge reader refuses my card", "k": 50}
    ).json()
    assert "T-1" not in [c["id"] for c in other["similar_cases"]]
    assert client.delete("/v1/cases/T-1", params={"tenant": "acme"}).status_code == 204
    assert client.get("/v1/cases/T-1", params={"tenant": "acme"}).status_code == 404
    assert client.delete("/v1/cases/T-1", params={"tenant": "acme"}).status_code == 404


def test_cases_reject_blank_body(client: TestClient) -> None:
    response = client.post("/v1/cases", json={"cases": [{"id": "x", "body": "  "}]})
    assert response.status_code == 422 and "body" in response.json()["errors"][0]["loc"]


def test_ops_endpoints(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["encoder"] == "use-m3" and ready["cases"] > 0
    client.post("/v1/triage", json=EN)
    metrics = client.get("/metrics").text
    assert 'route="/v1/triage"' in metrics and 'status_class="2xx"' in metrics


def test_openapi_documents_every_field_with_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path in (
        "/v1/triage",
        "/v1/triage:batch",
        "/v1/classify",
        "/v1/extract",
        "/v1/summarize",
        "/v1/similar",
    ):
        assert path in schema["paths"], path
    undocumented = []
    for name, component in schema["components"]["schemas"].items():
        if not name.endswith(("In", "Out", "List")):
            continue
        model_examples = bool(component.get("examples"))
        for prop, spec in component.get("properties", {}).items():
            if not spec.get("description"):
                undocumented.append(f"{name}.{prop}: no description")
            nested = "$ref" in str(spec)
            if not (
                model_examples or nested or "examples" in spec or "enum" in str(spec) or "const" in str(spec)
            ):
                undocumented.append(f"{name}.{prop}: no example")
    assert not undocumented, undocumented


def test_business_rules_raise_priority_and_say_why(client: TestClient) -> None:
    # A routine request (the model says P3/P4) from a VIP who has chased it four times.
    ticket = {
        "title": "Toner",
        "body": "Please order a new toner cartridge for the printer on floor 2.",
        "requester": "ceo@example.com",
        "metadata": {"repeat_count": 4},
    }
    body = client.post("/v1/triage", json=ticket).json()
    priority = body["priority"]
    assert priority["value"] == "P2", priority
    assert priority["rules"], priority
    assert any("repeat-contact" in r or "vip-requester" in r for r in priority["rules"])
    assert "rule" in priority["reason"]
    # Without the VIP and the chasing, the model's own priority stands.
    plain = client.post("/v1/triage", json={"title": "Toner", "body": ticket["body"]}).json()["priority"]
    assert plain["rules"] == [] and plain["value"] in ("P3", "P4")


def test_redact_pii_setting_scrubs_stored_case_text(demo_dir: Path, make_key: Callable[..., str]) -> None:
    app = create_app(load_settings(data_dir=demo_dir, redact_pii=True))
    case = {
        "id": "PII-1",
        "tenant": "pii",
        "body": "Please call me on 13812345678 or write to li.lei@example.com about the VPN.",
        "resolution": "Called 13812345678 and reset the VPN profile.",
    }
    with TestClient(app, headers={"Authorization": f"Bearer {make_key('pii')}"}) as redacting:
        assert redacting.post("/v1/cases", json={"cases": [case]}).status_code == 201
        stored = redacting.get("/v1/cases/PII-1", params={"tenant": "pii"}).json()
    assert "13812345678" not in stored["body"] and "li.lei@example.com" not in stored["body"]
    assert "[PHONE]" in stored["body"] and "[EMAIL]" in stored["body"]
    assert "13812345678" not in stored["resolution"] and "VPN" in stored["resolution"]


@pytest.mark.parametrize(
    "body",
    [
        "Not urgent: please order a new toner cartridge for the printer on floor 2.",
        "不急，二楼打印机的硒鼓需要换一个新的，谢谢。",
    ],
)
def test_calm_routine_tickets_stay_calm(client: TestClient, body: str) -> None:
    result = client.post(
        "/v1/triage", json={"title": "Toner", "body": body, "created_at": "2026-11-23T10:00:00+08:00"}
    ).json()
    priority = result["priority"]
    assert priority["rules"] == [] and priority["value"] in ("P3", "P4"), priority
    # A routine ticket of a desk that mostly meets its SLA targets is not "about to breach".
    assert result["handling_time"]["breach_risk"] < 0.5, result["handling_time"]


def test_demo_routes_clear_tickets_and_holds_vague_ones_for_a_human(
    client: TestClient, demo_dir: Path
) -> None:
    import json

    manifest = json.loads((demo_dir / "models" / "default" / "demo-v1" / "manifest.json").read_text())
    for head in ("department", "category"):
        thresholds = manifest["thresholds"][head]
        # No class asks for 99 % or more (was 0.999-1.0 for many categories).
        assert max([thresholds["default"], *thresholds["per_class"].values()]) < 0.99, thresholds
        # A mix on held-out (out-of-fold) demo tickets: most routed, precisely; the vague few held.
        metrics = manifest["metrics"][head]
        assert 0.85 <= metrics["expected_coverage"] < 1.0, metrics
        assert metrics["precision_when_routed"] >= 0.95, metrics
    clear = client.post("/v1/triage", json=ZH).json()
    assert not clear["department"]["abstained"] and not clear["category"]["abstained"]


def test_extract_anchors_times_to_created_at_and_marks_partial_dates(client: TestClient) -> None:
    body = {"title": "VPN down", "body": "VPN dropped at 03:12 UTC; same on 8月13日. Employee ID A10234."}
    anchored = client.post("/v1/extract", json={**body, "created_at": "2026-03-04T23:30:00-05:00"})
    assert anchored.status_code == 200, anchored.text
    fields = {f["text"]: f for f in anchored.json()["fields"]}
    assert fields["03:12 UTC"]["value"] == "2026-03-05T03:12:00+00:00" and not fields["03:12 UTC"]["partial"]
    assert fields["A10234"]["type"] == "employee_id"
    loose = {f["text"]: f for f in client.post("/v1/extract", json=body).json()["fields"]}
    assert (loose["8月13日"]["value"], loose["8月13日"]["partial"]) == ("08-13", True)
