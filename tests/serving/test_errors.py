"""One error shape everywhere (RFC 9457 problem+json) and the request id on every answer and log line."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from serving.errors import install_error_handlers, scrub, unexpected
from serving.request_context import RequestContextMiddleware, RequestIdFilter


def _assert_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    problem: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert {"type", "title", "status", "detail", "instance", "request_id"} <= set(problem)
    assert problem["status"] == status and problem["detail"]
    assert response.headers["x-request-id"] == problem["request_id"]  # type: ignore[attr-defined]
    return problem


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    problem = _assert_problem(client.get("/v1/nothing-here"), 404)
    assert problem["instance"] == "/v1/nothing-here" and "/docs" in str(problem["detail"])
    problem = _assert_problem(client.delete("/healthz"), 405)
    assert "DELETE" in str(problem["detail"])


def test_validation_problem_lists_each_field(client: TestClient) -> None:
    problem = _assert_problem(client.post("/v1/triage", json={"body": "", "language": "fr"}), 422)
    assert problem["type"] == "urn:triage:problem:validation"
    locs = [e["loc"] for e in problem["errors"]]  # type: ignore[attr-defined]
    assert ["body", "body"] in locs and ["body", "language"] in locs


def test_unknown_model_version_is_a_404_naming_it_without_a_path(
    client: TestClient, demo_dir: object
) -> None:
    for response in (
        client.get("/v1/models/v9"),
        client.post("/v1/models/v9/promote", json={}),
        client.post("/v1/models/v9/candidate", json={"mode": "shadow"}),
    ):
        problem = _assert_problem(response, 404)
        assert "'v9'" in str(problem["detail"]) and str(demo_dir) not in response.text
        assert problem["type"] == "urn:triage:problem:unknown-model-version"


@pytest.mark.parametrize(
    ("given", "echoed"),
    [("abc-123", True), ("req:2026/12/04+1", True), ("bad id with spaces", False), ("x" * 200, False)],
)
def test_request_id_is_echoed_when_sane_else_generated(client: TestClient, given: str, echoed: bool) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": given})
    assert (response.headers["x-request-id"] == given) is echoed
    assert 1 <= len(response.headers["x-request-id"]) <= 128
    assert client.get("/healthz").headers["x-request-id"] != client.get("/healthz").headers["x-request-id"]


def test_scrub_removes_server_paths() -> None:
    message = "model bundle /srv/triage/var/models/default/v2 has schema version 1; retrain it"
    assert scrub(message) == "model bundle <server path> has schema version 1; retrain it"
    assert scrub("no bundle at C:\\triage\\models\\v1 (manifest.json missing)").count("<server path>") == 1


def test_unhandled_error_is_a_500_problem_logged_under_its_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, on_error=unexpected)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("failed reading /srv/secret/config.yaml")

    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.ERROR), TestClient(app, raise_server_exceptions=False) as plain:
        response = plain.get("/boom", headers={"X-Request-ID": "boom-1"})
    problem = _assert_problem(response, 500)
    assert "/srv/secret" not in response.text and "Traceback" not in response.text
    assert "boom-1" in str(problem["detail"])
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == "boom-1"]
    assert logged and logged[0].exc_info is not None
