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
    live_server: str, language: str, title: str, body: str, department: str
) -> None:
    response = httpx.post(f"{live_server}/v1/triage", json={"title": title, "body": body}, timeout=30)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["language"] == language
    assert result["department"]["value"] == department, result["department"]
    assert result["similar_cases"], "the demo store has solved cases to suggest"


def test_batch_over_http(live_server: str) -> None:
    tickets = [{"title": t, "body": b} for _, t, b, _ in CLEAR_CUT]
    response = httpx.post(f"{live_server}/v1/triage:batch", json={"tickets": tickets}, timeout=60)
    assert response.status_code == 200
    assert [r["department"]["value"] for r in response.json()["results"]] == [c[3] for c in CLEAR_CUT]


def test_bad_input_over_http_is_a_clear_4xx(live_server: str) -> None:
    response = httpx.post(
        f"{live_server}/v1/triage", content=b"not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    response = httpx.post(f"{live_server}/v1/triage", json={"title": "", "body": "   "})
    assert response.status_code == 422 and "body" in response.json()["detail"][0]["loc"]


def test_server_never_reached_the_network(live_server: str, demo_dir: Path) -> None:
    httpx.post(
        f"{live_server}/v1/triage", json={"title": "x", "body": "printer broken on floor 3"}, timeout=30
    )
    attempts = (demo_dir / "network-attempts.log").read_text()
    assert attempts == "", f"the server tried to reach: {attempts}"
