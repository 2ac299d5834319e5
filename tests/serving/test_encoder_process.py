"""``encoder_process``: the server encodes in a child process and answers exactly as it does without one;
`triage serve` does so by default ('auto')."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from embeddings.process import EncoderProcess
from eval.processes import process_tree
from serving.app import build_service, create_app
from serving.settings import SettingsError, load_settings
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
        assert "triage_encoder_process_starts_total 1.0" in client.get("/metrics").text
    # The service's shutdown stopped the child (gone, or a zombie until reaped).
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z"


def test_settings_read_true_false_or_auto_and_name_the_choices() -> None:
    assert load_settings().encoder_process == "auto"
    for text, value in (("true", True), ("ON", True), ("0", False), ("no", False), (" Auto ", "auto")):
        assert load_settings(encoder_process=text).encoder_process == value
    with pytest.raises(SettingsError) as raised:
        load_settings(encoder_process="sometimes")
    assert "encoder_process" in str(raised.value) and "true, false or 'auto'" in str(raised.value)


def test_serve_turns_auto_on_for_one_process_with_a_second_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert load_settings().served().encoder_process is True
    assert load_settings(workers=2).served().encoder_process is False  # each worker is a process already
    assert load_settings(encoder_process=False).served().encoder_process is False  # as set
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert load_settings().served().encoder_process is False  # no second core to encode on
    assert load_settings(encoder_process=True).served().encoder_process is True


def test_inside_another_program_auto_keeps_the_encoder_in_process(demo_dir: Path) -> None:
    service = build_service(load_settings(data_dir=demo_dir))
    assert not isinstance(service.encoder, EncoderProcess)


def test_a_served_demo_encodes_in_its_child_by_default(live_server: str) -> None:
    """The real server (`triage serve`, no TRIAGE_ settings): its one child is the encoder's process."""
    port = live_server.rsplit(":", 1)[1]

    def cmdline(pid: int) -> list[str]:
        return Path(f"/proc/{pid}/cmdline").read_text().split("\0")

    servers = [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit()
        and (p / "cmdline").exists()
        and "serving.cli" in cmdline(int(p.name))
        and port in cmdline(int(p.name))
    ]
    assert len(servers) == 1
    children = process_tree(servers[0])[1:]
    assert [cmdline(pid)[1:4] for pid in children] == [["-m", "embeddings.process", "use-m3"]]


def test_a_dead_child_is_replaced_counted_and_logged(
    demo_dir: Path, admin_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGKILL the encoder's process between requests: the next request starts another and is
    answered; /metrics counts the starts and the log names the exit."""
    app = create_app(load_settings(data_dir=demo_dir, encoder_process=True))
    with TestClient(app, raise_server_exceptions=False, headers=bearer(admin_key)) as client:
        first = app.state.service.encoder.pid
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while "exited with code -9" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "exited with code -9" in caplog.text  # the reader saw it go
        answer = client.post("/v1/triage", json=TICKETS[0])
        assert answer.status_code == 200, answer.text
        assert app.state.service.encoder.pid not in (None, first)
        assert "triage_encoder_process_starts_total 2.0" in client.get("/metrics").text
