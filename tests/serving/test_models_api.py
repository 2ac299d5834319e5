"""Model lifecycle over HTTP: versions, quality gate, promote/rollback under load, shadow, canary, feedback, drift."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from embeddings import get_encoder
from tests.serving.conftest import TenantClient
from training.data import TicketTable
from training.demo import DemoPaths, _read_jsonl, sample_table
from training.train import train_bundle
from triage.registry import ModelRegistry

pytestmark = pytest.mark.slow

TICKET = {"title": "VPN down", "body": "My VPN cannot connect since this morning, error 809 on srv-vpn-02."}


@pytest.fixture(scope="module")
def second_version(demo_dir: Path) -> str:
    """A second real bundle (fewer tickets, same encoder, every head) registered beside the demo's."""
    rows = _read_jsonl(DemoPaths(demo_dir).tickets)[:400]
    seen = Counter(r["category"] for r in rows)
    table = sample_table([r for r in rows if seen[r["category"]] >= 3])  # cross-validation needs a few
    small = TicketTable(table.ids, table.texts, table.labels)
    bundle = train_bundle(small, get_encoder("use-m3"), version="small-v2", parent="demo-v1", folds=3)
    registry = ModelRegistry(DemoPaths(demo_dir).models)
    bundle.save(registry.path("default", "small-v2"))
    registry.register("default", "small-v2")
    return "small-v2"


def _active(client: TestClient) -> str:
    return client.get("/v1/models").json()["active"]


def test_models_lists_versions_with_metrics(client: TestClient, second_version: str) -> None:
    body = client.get("/v1/models").json()
    versions = {v["version"]: v for v in body["versions"]}
    assert body["active"] == "demo-v1" and second_version in versions
    assert 0 <= versions["demo-v1"]["metrics"]["macro_f1"] <= 1
    manifest = client.get(f"/v1/models/{second_version}").json()
    assert manifest["parent"] == "demo-v1" and manifest["data_fingerprint"]
    assert client.get("/v1/models/nope").status_code == 404


def test_promote_and_rollback_under_load_fail_no_request(client: TestClient, second_version: str) -> None:
    errors: list[str] = []
    versions: set[str] = set()
    stop = threading.Event()

    def fire() -> None:
        while not stop.is_set():
            response = client.post("/v1/triage", json=TICKET)
            if response.status_code != 200:
                errors.append(response.text)
            else:
                versions.add(response.json()["model_version"])

    # Load within the service's bound on requests in flight (one per core, at least 2): past it a
    # request is shed with 503 by design, which is not what this test is about. The main thread's
    # promote, triage and rollback take one slot; the firing threads the others.
    bound = client.get("/readyz").json()["max_in_flight"]
    workers = [threading.Thread(target=fire) for _ in range(max(1, min(3, bound - 1)))]
    for worker in workers:
        worker.start()
    try:
        promoted = client.post(f"/v1/models/{second_version}/promote", json={"force": True, "by": "test"})
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["active"] == second_version
        assert client.post("/v1/triage", json=TICKET).json()["model_version"] == second_version
        rolled = client.post("/v1/models/rollback", json={})
        assert rolled.status_code == 200 and rolled.json()["active"] == "demo-v1"
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert not errors, errors[:3]
    assert client.post("/v1/triage", json=TICKET).json()["model_version"] == "demo-v1"
    history = [h["action"] for h in client.get("/v1/models").json()["history"]]
    assert history[-2:] == ["promote", "rollback"]


def test_quality_gate_refuses_worse_model_with_reasons(client: TestClient, second_version: str) -> None:
    # A negative margin demands an improvement of a whole point of macro-F1: impossible.
    tight = {"macro_f1": -1.0, "ece": 0.0, "coverage_at_90": 0.0}
    response = client.post(f"/v1/models/{second_version}/promote", json={"margins": tight})
    assert response.status_code == 409
    body = response.json()
    assert "quality gate refused" in body["detail"] and body["gate"]["regressions"]
    assert _active(client) == "demo-v1"


def test_shadow_candidate_is_logged_never_returned(client: TestClient, second_version: str) -> None:
    assert client.post(f"/v1/models/{second_version}/candidate", json={"mode": "shadow"}).status_code == 200
    try:
        for i in range(5):
            result = client.post("/v1/triage", json=TICKET | {"id": f"shadow-{i}"}).json()
            assert result["model_version"] == "demo-v1"
        client.post(
            "/v1/feedback",
            json={"ticket_id": "shadow-0", "head": "department", "predicted": "IT", "accepted": True},
        )
        report = client.get("/v1/models:compare").json()
        assert report["tickets_compared"] >= 5 and 0.0 <= report["agreement"] <= 1.0
        assert report["with_feedback"] >= 1 and "accuracy_candidate" in report
    finally:
        client.delete("/v1/models/candidate")


def test_canary_serves_a_sticky_share(client: TestClient, second_version: str) -> None:
    client.post(f"/v1/models/{second_version}/candidate", json={"mode": "canary", "share": 0.5})
    try:
        served = {
            i: client.post("/v1/triage", json=TICKET | {"id": f"canary-{i}"}).json()["model_version"]
            for i in range(40)
        }
        assert set(served.values()) == {"demo-v1", second_version}
        again = {
            i: client.post("/v1/triage", json=TICKET | {"id": f"canary-{i}"}).json()["model_version"]
            for i in range(10)
        }
        assert all(again[i] == served[i] for i in again)
    finally:
        client.delete("/v1/models/candidate")
    assert client.get("/v1/models").json()["candidate"] is None


def test_candidate_with_another_encoder_is_refused(client: TestClient, demo_dir: Path) -> None:
    rows = _read_jsonl(DemoPaths(demo_dir).tickets)[:200]
    table = sample_table(rows)
    small = TicketTable(table.ids, table.texts, {"department": table.labels["department"]})
    bundle = train_bundle(small, get_encoder("hashing:64"), version="hashing-v3", folds=2)
    registry = ModelRegistry(DemoPaths(demo_dir).models)
    bundle.save(registry.path("default", "hashing-v3"))
    registry.register("default", "hashing-v3")
    response = client.post("/v1/models/hashing-v3/promote", json={"force": True})
    assert response.status_code == 409 and "encoder 'hashing:64'" in response.json()["detail"]
    assert _active(client) == "demo-v1"


@pytest.mark.parametrize(
    "payload",
    [
        {"ticket_id": "t"},
        {"ticket_id": "t", "head": "department"},
        {"ticket_id": "t", "case_id": "c"},
        {"ticket_id": "t", "head": "team", "accepted": True},
    ],
)
def test_feedback_rejects_empty_verdicts(client: TestClient, payload: dict[str, object]) -> None:
    response = client.post("/v1/feedback", json=payload)
    assert response.status_code == 422 and response.json()["errors"][0]["msg"]


def test_feedback_and_drift(client: TestClient, tenant_client: TenantClient) -> None:
    response = client.post(
        "/v1/feedback", json={"ticket_id": "t9", "case_id": "DEMO-000001", "helpful": True}
    )
    assert response.status_code == 201 and response.json()["id"] >= 1
    # The session's tests share tenant 'default' (the adversarial corpus alone leaves hundreds of
    # predictions there): a tenant of this test's own holds only what it does next.
    own = tenant_client("drift-handful")
    assert own.post("/v1/triage", json=TICKET).status_code == 200
    drift = own.get("/v1/drift").json()
    assert drift["n_live"] >= 1 and drift["label_psi"] >= 0.0
    # A handful of predictions is never called drift, whatever its PSI (issue 15: 11 predictions
    # were "significant"); the PSI still comes with its interval.
    assert drift["n_live"] < drift["min_sample"] and drift["label_drift"] == "too few predictions"
    low, high = drift["label_psi_interval"]
    assert 0.0 <= low <= high
    assert json.dumps(drift)


def test_drift_reports_confidence_and_windows(tenant_client: TenantClient) -> None:
    client = tenant_client("drift-windows")
    assert client.post("/v1/triage", json=TICKET).status_code == 200
    drift = client.get("/v1/drift", params={"head": "priority", "window": "hour"}).json()
    assert drift["head"] == "priority" and drift["window"] == "hour"
    # The demo bundle is trained with a drift reference: confidence drift is computed, not skipped.
    assert drift["reference_note"] is None and drift["reference_confidence_histogram"]
    assert drift["confidence_psi"] is not None and drift["confidence_psi_interval"] is not None
    assert drift["confidence_drift"] == "too few predictions"
    assert abs(sum(drift["live_confidence_histogram"]) - 1.0) < 1e-6
    assert drift["windows"] and sum(w["n"] for w in drift["windows"]) == drift["n_live"]
    # A period in the future holds no predictions.
    empty = client.get("/v1/drift", params={"since": "2999-01-01T00:00:00Z"}).json()
    assert empty["n_live"] == 0 and empty["label_drift"] == "no live predictions yet"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"head": "team"}, "head"),
        ({"window": "week"}, "window"),
        ({"since": "yesterday"}, "since"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "since"),  # overflowed into a 500 before
    ],
)
def test_drift_rejects_bad_parameters(client: TestClient, params: dict[str, str], field: str) -> None:
    response = client.get("/v1/drift", params=params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][-1] == field
