"""``encoder_process``: the server encodes in a child process and answers exactly as it does without one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from serving.app import create_app
from serving.settings import load_settings
from tests.serving.conftest import bearer

TICKETS = [
    {"title": "VPN drops every few minutes", "body": "Since the update the VPN disconnects, error 809."},
    {
        "title": "打印机无法连接",
        "body": "三楼的打印机显示脱机状态，重启后仍然不行，资产编号 AST-2026-15902。",
    },
    {
        "title": "Refund request",
        "body": "Order 2025040309543415 arrived broken; the customer wants a refund.",
    },
]


def _answers(client: TestClient) -> list[dict[str, Any]]:
    out = []
    for ticket in TICKETS:
        response = client.post("/v1/triage", json=ticket)
        assert response.status_code == 200, response.text
        body = response.json()
        body.pop("timings_ms")
        out.append(body)
    batch = client.post("/v1/triage:batch", json={"tickets": TICKETS})
    assert batch.status_code == 200, batch.text
    for body in batch.json()["results"]:
        body.pop("timings_ms")
        out.append(body)
    return out


def test_the_same_answers_with_the_encoder_in_a_process_of_its_own(demo_dir: Path, admin_key: str) -> None:
    """Two fresh servers of the same data, one after the other: every field of every answer alike."""
    here = create_app(load_settings(data_dir=demo_dir))
    with TestClient(here, raise_server_exceptions=False, headers=bearer(admin_key)) as client:
        expected = _answers(client)
    app = create_app(load_settings(data_dir=demo_dir, encoder_process=True))
    with TestClient(app, raise_server_exceptions=False, headers=bearer(admin_key)) as client:
        pid = app.state.service.encoder.pid
        assert pid is not None and pid != os.getpid()
        assert _answers(client) == expected
    # The service's shutdown stopped the child (gone, or a zombie until reaped).
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z"
