from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresServer
from triage.bundle import MANIFEST, SCHEMA_VERSION, BundleError
from triage.registry import GateRefused, ModelRegistry, RegistryError


def _version(
    registry: ModelRegistry, version: str, macro_f1: float, ece: float = 0.03, cov: float = 0.5
) -> None:
    path = registry.path("acme", version)
    path.mkdir(parents=True)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "version": version,
        "created": f"2026-11-{len(list(path.parent.iterdir())):02d}T00:00:00+00:00",
        "metrics": {"department": {"macro_f1": macro_f1, "ece": ece, "coverage_at_90": cov}},
    }
    (path / MANIFEST).write_text(json.dumps(manifest))
    registry.register("acme", version)


@pytest.fixture(params=["file", "sqlite", "postgresql"])
def registry(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ModelRegistry]:
    """The state in registry.json alone, or in the database (SQLite or PostgreSQL) with the file as a copy."""
    if request.param == "file":
        yield ModelRegistry(tmp_path / "models")
    elif request.param == "sqlite":
        yield ModelRegistry(tmp_path / "models", tmp_path / "knowledge.db")
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database()
        yield ModelRegistry(tmp_path / "models", url)
        server.drop_database(url)


def test_registry_replicas_agree_through_the_database(database_target: str, tmp_path: Path) -> None:
    """Two processes' registries over one shared bundles folder and one database (replicas)."""
    a = ModelRegistry(tmp_path / "models", database_target)
    b = ModelRegistry(tmp_path / "models", database_target)
    _version(a, "v1", 0.70)  # before any change: read from registry.json (a demo or an older build)
    _version(a, "v2", 0.71)
    before = b.mark("acme")
    a.promote("acme", "v2")
    # Another replica's write: b sees it once its revision cache (0.2 s) runs out.
    time.sleep(0.25)
    assert b.mark("acme") != before and b.state("acme").active == "v2"
    b.rollback("acme")
    assert a.state("acme").active == "v1"
    assert json.loads((a.tenant_dir("acme") / "registry.json").read_text())["active"] == "v1"


def test_registry_first_version_becomes_active(registry: ModelRegistry) -> None:
    _version(registry, "v1", 0.70)
    _version(registry, "v2", 0.75)
    state = registry.state("acme")
    assert state.active == "v1"
    assert [m["version"] for m in registry.versions("acme")] == ["v1", "v2"]
    assert registry.active_path("acme") == registry.path("acme", "v1")


def test_registry_promote_and_rollback_walk_history(registry: ModelRegistry) -> None:
    for version, f1 in (("v1", 0.70), ("v2", 0.72), ("v3", 0.74)):
        _version(registry, version, f1)
    registry.promote("acme", "v2")
    registry.promote("acme", "v3")
    assert registry.rollback("acme").active == "v2"
    assert registry.rollback("acme").active == "v1"
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        registry.rollback("acme")
    actions = [e["action"] for e in registry.state("acme").history]
    assert actions.count("rollback") == 2


def test_registry_gate_refuses_worse_candidate_unless_forced(registry: ModelRegistry) -> None:
    _version(registry, "v1", 0.70)
    _version(registry, "bad", 0.60, ece=0.10)
    with pytest.raises(GateRefused, match=r"macro_f1 0.600 vs active 0.700") as refused:
        registry.promote("acme", "bad")
    assert len(refused.value.report["regressions"]) == 2
    assert registry.state("acme").active == "v1"
    state = registry.promote("acme", "bad", force=True, by="ml-eng")
    assert state.active == "bad" and state.history[-1]["forced"] is True


def test_registry_gate_allows_small_regression_within_margin(registry: ModelRegistry) -> None:
    _version(registry, "v1", 0.70)
    _version(registry, "v2", 0.695)
    assert registry.promote("acme", "v2").active == "v2"


def test_registry_candidate_modes(registry: ModelRegistry) -> None:
    _version(registry, "v1", 0.70)
    _version(registry, "v2", 0.71)
    state = registry.set_candidate("acme", "v2", mode="canary", share=0.2)
    assert (state.candidate, state.candidate_mode, state.canary_share) == ("v2", "canary", 0.2)
    with pytest.raises(RegistryError, match="already active"):
        registry.set_candidate("acme", "v1")
    with pytest.raises(RegistryError, match="choose one of shadow, canary"):
        registry.set_candidate("acme", "v2", mode="blue-green")
    # Promoting the candidate clears it.
    assert registry.promote("acme", "v2").candidate is None


def test_registry_rejects_unknown_and_unsafe_names(registry: ModelRegistry) -> None:
    _version(registry, "v1", 0.70)
    with pytest.raises(RegistryError, match="no model version 'v9'; versions: v1"):
        registry.promote("acme", "v9")
    with pytest.raises(RegistryError, match="not valid"):
        registry.path("acme", "../etc")
    with pytest.raises(BundleError, match="no active model"):
        registry.active_path("nobody")


def test_registry_state_file_is_replaced_atomically(registry: ModelRegistry) -> None:
    _version(registry, "v1", 0.70)
    _version(registry, "v2", 0.71)
    registry.promote("acme", "v2")
    folder = registry.tenant_dir("acme")
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert json.loads((folder / "registry.json").read_text())["active"] == "v2"


def test_registry_noop_promote_and_candidate_write_nothing(registry: ModelRegistry) -> None:
    _version(registry, "v1", 0.70)
    _version(registry, "v2", 0.75)
    registry.set_candidate("acme", "v2", mode="canary", share=0.2)
    path = registry.tenant_dir("acme") / "registry.json"
    before = (path.read_bytes(), path.stat().st_ino, path.stat().st_mtime_ns)
    assert registry.promote("acme", "v1").active == "v1"
    assert registry.set_candidate("acme", "v2", mode="canary", share=0.2).candidate == "v2"
    assert (path.read_bytes(), path.stat().st_ino, path.stat().st_mtime_ns) == before
    with pytest.raises(RegistryError, match="no model version 'v9'"):
        registry.promote("acme", "v9")


def test_registry_history_is_bounded(registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    from triage import registry as registry_module

    monkeypatch.setattr(registry_module, "HISTORY_LIMIT", 5)
    _version(registry, "v1", 0.70)
    _version(registry, "v2", 0.75)
    for share in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        registry.set_candidate("acme", "v2", mode="canary", share=share)
    history = registry.state("acme").history
    assert len(history) == 5 and history[-1]["share"] == 0.6
    registry.promote("acme", "v2")
    assert registry.rollback("acme").active == "v1"


def _labelled(
    registry: ModelRegistry, version: str, labels: dict[str, list[str]], macro_f1: float = 0.7
) -> None:
    _version(registry, version, macro_f1)
    manifest_path = registry.path("acme", version) / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["labels"] = labels
    manifest_path.write_text(json.dumps(manifest))


FULL = {"department": ["Finance", "IT"], "category": ["invoice", "network"], "priority": ["P1", "P2"]}


def test_registry_gate_never_promotes_a_model_lacking_a_head_even_forced(registry: ModelRegistry) -> None:
    _labelled(registry, "full", FULL)
    _labelled(registry, "dept-only", {"department": ["Finance", "IT"]}, macro_f1=0.9)
    for force in (False, True):
        with pytest.raises(
            GateRefused, match=r"'dept-only' has no category, priority head\(s\).*force cannot"
        ):
            registry.promote("acme", "dept-only", force=force)
    assert registry.state("acme").active == "full"


def test_registry_gate_names_label_differences_and_force_may_override_them(registry: ModelRegistry) -> None:
    _labelled(registry, "full", FULL)
    other = FULL | {"department": ["Finance", "IT", "Security"], "category": ["invoice"]}
    _labelled(registry, "reorg", other, macro_f1=0.75)
    with pytest.raises(GateRefused) as refused:
        registry.promote("acme", "reorg")
    message = str(refused.value)
    assert "category labels differ from active 'full': 'reorg' drops 'network'" in message
    assert "department labels differ from active 'full': 'reorg' adds 'Security'" in message
    assert "pass force to override" in message
    state = registry.promote("acme", "reorg", force=True, by="ml-eng")
    assert state.active == "reorg" and state.history[-1]["forced"] is True
    assert len(state.history[-1]["differences"]) == 2
