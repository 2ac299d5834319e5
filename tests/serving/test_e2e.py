"""End to end: a real uvicorn process with the demo bundle, triaging over HTTP, no network."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLEAR_CUT = [
    (
        "zh",
        "VPN连不上",
        "我的电脑从今天早上开始VPN一直连不上，提示错误809，内网系统都打不开，请IT帮忙看一下。",
        "IT",
    ),
    (
        "zh",
        "差旅报销",
        "您好，我上个月出差的报销款3200元还没到账，发票号INV-2026-004512，麻烦财务查一下。",
        "Finance",
    ),
    (
        "zh",
        "年假余额",
        "请问我的年假余额是不是算错了？系统显示只剩2天，应该还有7天，麻烦人事核对一下。",
        "HR",
    ),
    (
        "en",
        "Laptop won't boot",
        "My laptop shows a blue screen with 0x80070005 at startup and I can't log in to Windows.",
        "IT",
    ),
    (
        "en",
        "Invoice payment",
        "Supplier says invoice INV-2026-001187 for USD 2,400 is 30 days overdue. Please process the payment.",
        "Finance",
    ),
    (
        "en",
        "Leave request",
        "I would like to apply for 5 days of annual leave next month. How do I submit the leave request?",
        "HR",
    ),
]


def test_server_is_ready(live_server: str) -> None:
    assert httpx.get(f"{live_server}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{live_server}/readyz").json()
    assert ready["status"] == "ready" and ready["cases"] >= 1000


@pytest.mark.parametrize(
    ("language", "title", "body", "department"), CLEAR_CUT, ids=[c[1] for c in CLEAR_CUT]
)
def test_clear_cut_tickets_are_routed_right(
    live_server: str, live_headers: dict[str, str], language: str, title: str, body: str, department: str
) -> None:
    response = httpx.post(
        f"{live_server}/v1/triage", json={"title": title, "body": body}, headers=live_headers, timeout=30
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["language"] == language
    assert result["department"]["value"] == department, result["department"]
    assert result["similar_cases"], "the demo store has solved cases to suggest"


def test_batch_over_http(live_server: str, live_headers: dict[str, str]) -> None:
    tickets = [{"title": t, "body": b} for _, t, b, _ in CLEAR_CUT]
    response = httpx.post(
        f"{live_server}/v1/triage:batch", json={"tickets": tickets}, headers=live_headers, timeout=60
    )
    assert response.status_code == 200
    assert [r["department"]["value"] for r in response.json()["results"]] == [c[3] for c in CLEAR_CUT]


def test_bad_input_over_http_is_a_clear_4xx(live_server: str, live_headers: dict[str, str]) -> None:
    response = httpx.post(
        f"{live_server}/v1/triage",
        content=b"not json",
        headers={"content-type": "application/json", **live_headers},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    response = httpx.post(f"{live_server}/v1/triage", json={"title": "", "body": "   "}, headers=live_headers)
    assert response.status_code == 422 and "body" in response.json()["errors"][0]["loc"]


def test_live_server_needs_a_key_and_names_the_request(live_server: str) -> None:
    response = httpx.post(
        f"{live_server}/v1/triage",
        json={"title": "x", "body": "printer broken"},
        headers={"X-Request-ID": "e2e-1"},
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["x-request-id"] == "e2e-1"
    assert response.json()["request_id"] == "e2e-1"


def test_server_never_reached_the_network(
    live_server: str, live_headers: dict[str, str], demo_dir: Path
) -> None:
    httpx.post(
        f"{live_server}/v1/triage",
        json={"title": "x", "body": "printer broken on floor 3"},
        headers=live_headers,
        timeout=30,
    )
    attempts = (demo_dir / "network-attempts.log").read_text()
    assert attempts == "", f"the server tried to reach: {attempts}"


def test_loopback_gets_metrics_and_a_console_session_but_a_proxied_request_does_not(live_server: str) -> None:
    metrics = httpx.get(f"{live_server}/metrics")
    assert metrics.status_code == 200 and "triage_requests_total" in metrics.text
    session = httpx.get(f"{live_server}/console/session")
    assert session.status_code == 200 and session.headers["cache-control"] == "no-store"
    key = session.json()["key"]
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{live_server}/v1/models", headers=headers).status_code == 200
    # The console session does not manage keys.
    assert httpx.get(f"{live_server}/v1/keys", headers=headers).status_code == 403
    # Through a proxy on the same machine, or under a foreign host name (DNS rebinding): not local.
    proxied = {"X-Forwarded-For": "203.0.113.7"}
    assert httpx.get(f"{live_server}/console/session", headers=proxied).status_code == 403
    assert httpx.get(f"{live_server}/metrics", headers=proxied).status_code == 401
    # A foreign Host is refused by the trusted-hosts check (400) before the route (403): never served.
    rebound = {"Host": "attacker.example"}
    assert httpx.get(f"{live_server}/console/session", headers=rebound).status_code in (400, 403)


def test_live_server_logs_carry_the_request_id_and_no_stack_in_answers(
    live_server: str, live_headers: dict[str, str], demo_dir: Path
) -> None:
    response = httpx.get(
        f"{live_server}/v1/models/no-such-version", headers={**live_headers, "X-Request-ID": "e2e-404"}
    )
    assert response.status_code == 404
    problem = response.json()
    assert "no-such-version" in problem["detail"] and str(demo_dir) not in response.text
    assert problem["request_id"] == "e2e-404" and response.headers["x-request-id"] == "e2e-404"
    created = httpx.post(
        f"{live_server}/v1/keys",
        json={"scopes": ["triage"], "name": "log check"},
        headers={**live_headers, "X-Request-ID": "e2e-keylog"},
    )
    assert created.status_code == 201
    lines = [line for line in (demo_dir / "server.log").read_text().splitlines() if "[e2e-keylog]" in line]
    assert any(created.json()["id"] in line and "created" in line for line in lines), lines
    assert created.json()["secret"] not in (demo_dir / "server.log").read_text()


def test_the_serving_bench_times_single_requests_on_the_real_server(
    live_server: str, live_headers: dict[str, str]
) -> None:
    """eval.bench / eval.single_ab's request loop: one round trip per measured ticket, stages as served."""
    from eval.bench import single_requests

    tickets = [
        {"title": "VPN down", "body": f"The VPN drops every {n} minutes since this morning."}
        for n in (3, 5, 7)
    ]
    with httpx.Client(base_url=live_server, timeout=60, headers=live_headers) as client:
        latencies, stages = single_requests(client, tickets[:1], tickets[1:])
    assert len(latencies) == 2 and all(ms > 0 for ms in latencies)
    assert {"encode", "classify"} <= stages.keys() and all(len(ms) == 2 for ms in stages.values())
