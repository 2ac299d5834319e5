"""Replicated serving: the project's app as 2 Ray Serve replicas behind Ray's HTTP proxy.

A real local Ray instance (2 CPUs), the demo's bundled models and SQLite, real HTTP requests.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from serving.settings import load_settings
from tests.backend import database_setting

ray = pytest.importorskip("ray", reason="Ray is the optional 'ray' extra: pip install -e '.[ray]'")

from serving import ray_serve  # noqa: E402
from serving.ray_support import ray_session  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

TICKETS = [
    "VPN 无法连接，报错 809，主机 srv-vpn-02",
    "My laptop shows a blue screen after the update",
    "发票 INV-2024-0042 金额有误，请核对",
    "Printer on floor 3 is offline again",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def proxy(demo_dir: Path) -> Iterator[str]:
    """Two replicas of the demo app on a local Ray instance; yields the proxy's base URL."""
    from ray import serve

    port = _free_port()
    settings = load_settings(
        data_dir=demo_dir, host="127.0.0.1", port=port, **database_setting(demo_dir / "knowledge.db")
    )
    with ray_session(None, num_cpus=2):
        try:
            ray_serve.run(settings, replicas=2, replica_cpus=0.5, blocking=False)
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 240
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the replicas did not become ready in 240 s"
                time.sleep(1)
            yield base
        finally:
            serve.shutdown()


def test_two_replicas_answer_the_http_api_as_one_process_does(
    proxy: str, client: TestClient, live_headers: dict[str, str]
) -> None:
    from ray import serve

    status = serve.status().applications[ray_serve.APPLICATION]
    deployment = status.deployments[ray_serve.DEPLOYMENT]
    assert deployment.replica_states.get("RUNNING") == 2, deployment.replica_states

    def ask(body: str) -> httpx.Response:
        return httpx.post(f"{proxy}/v1/triage", json={"body": body}, headers=live_headers, timeout=60)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(ask, TICKETS * 2))
    assert [a.status_code for a in answers] == [200] * len(answers)
    for body, answer in zip(TICKETS * 2, answers, strict=True):
        expected = client.post("/v1/triage", json={"body": body}).json()
        got = answer.json()
        assert got["department"]["value"] == expected["department"]["value"]
        assert [c["id"] for c in got["similar_cases"]] == [c["id"] for c in expected["similar_cases"]]
        assert answer.headers.get("x-request-id")


def test_replicas_refuse_bad_input_and_bad_keys_as_the_api_does(
    proxy: str, live_headers: dict[str, str]
) -> None:
    response = httpx.post(f"{proxy}/v1/triage", json={"body": "   "}, headers=live_headers, timeout=60)
    assert response.status_code == 422
    assert "body" in response.json()["errors"][0]["loc"]
    wrong = {"Authorization": "Bearer not-a-key"}
    response = httpx.post(f"{proxy}/v1/triage", json={"body": TICKETS[0]}, headers=wrong, timeout=60)
    assert response.status_code == 401


def test_serve_config_file_names_the_app_builder(demo_dir: Path) -> None:
    import importlib

    import yaml
    from ray.serve.schema import ServeDeploySchema

    path = Path(__file__).resolve().parents[2] / "deploy" / "serve.yaml"
    config = ServeDeploySchema.parse_obj(yaml.safe_load(path.read_text()))
    (application,) = config.applications
    module, _, name = application.import_path.partition(":")
    builder = getattr(importlib.import_module(module), name)
    assert builder is ray_serve.app_builder
    assert application.args["replicas"] == 2
    built = builder({**application.args, "data_dir": str(demo_dir)})
    assert type(built).__name__ == "Application"
    with pytest.raises(ValueError, match="unknown argument"):
        builder({"replica": 2})
