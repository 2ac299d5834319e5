"""Model registry per tenant: immutable versions, the active one, a candidate, and the history.

```
<root>/<tenant>/<version>/      one model bundle per version (never modified after it is written)
<root>/<tenant>/registry.json   {"active", "candidate", "candidate_mode", "canary_share", "history"}
```

``registry.json`` is replaced atomically (temp file, fsync, rename), so promote and rollback are
all-or-nothing and a reader sees either the old state or the new one. With a database (the
service's, shared by its replicas) the state lives in its ``model_state`` table instead, with a
revision every reader compares; ``registry.json`` is still written beside the bundles as a readable
copy, and a tenant without a row yet (a registry written by ``triage demo`` or an older build) is
read from it until its first change. The history keeps the last
``HISTORY_LIMIT`` changes (older ones are dropped when a new one is written; the audit trail keeps
every change), and a change that changes nothing (promoting the active version, setting the same
candidate again) writes nothing.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from knowledge.blobs import DirectoryBlobs
from knowledge.db import Database, as_database
from triage.bundle import MANIFEST, BundleError

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
CANDIDATE_MODES = ("shadow", "canary")
# Changes kept in registry.json: enough for rollbacks to walk back through many promotions, small
# enough that every write stays a few kilobytes.
HISTORY_LIMIT = 200

# Metrics compared by the quality gate, with the direction that is better.
GATE_METRICS: dict[str, int] = {"macro_f1": +1, "ece": -1, "coverage_at_90": +1}
DEFAULT_MARGINS: dict[str, float] = {"macro_f1": 0.01, "ece": 0.02, "coverage_at_90": 0.05}


class RegistryError(ValueError):
    """A registry operation cannot be done; the message says why and what to do."""


class UnknownModelVersion(RegistryError):
    """The tenant has no model version of this name."""


class GateRefused(RegistryError):
    """The quality gate refused a candidate; ``report`` lists the regressions."""

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class RegistryState:
    active: str | None = None
    candidate: str | None = None
    candidate_mode: str | None = None  # "shadow" | "canary"
    canary_share: float = 0.0
    history: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "candidate": self.candidate,
            "candidate_mode": self.candidate_mode,
            "canary_share": self.canary_share,
            "history": list(self.history),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegistryState:
        return cls(
            active=data.get("active"),
            candidate=data.get("candidate"),
            candidate_mode=data.get("candidate_mode"),
            canary_share=float(data.get("canary_share", 0.0)),
            history=tuple(data.get("history", ())),
        )


def _check_name(kind: str, value: str) -> str:
    if not _SAFE.match(value):
        raise RegistryError(f"{kind} {value!r} is not valid: use letters, digits, '.', '_' or '-' (max 100)")
    return value


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _listed(values: Any, limit: int = 8) -> str:
    items = sorted(map(str, values))
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(repr(v) for v in items[:limit]) + more


def compare_labels(
    candidate: str,
    candidate_labels: Mapping[str, Any] | None,
    active: str,
    active_labels: Mapping[str, Any] | None,
) -> tuple[list[str], list[str]]:
    """What a candidate predicts against the active version: (heads it lacks, other differences).

    Manifests without label sets (written by hand or before label sets were recorded) are not compared.
    """
    if not isinstance(candidate_labels, Mapping) or not isinstance(active_labels, Mapping):
        return [], []
    lost = sorted(set(active_labels) - set(candidate_labels))
    incompatible = (
        [f"{candidate!r} has no {', '.join(lost)} head(s); active {active!r} predicts them"] if lost else []
    )
    differences: list[str] = []
    added = sorted(set(candidate_labels) - set(active_labels))
    if added:
        differences.append(f"{candidate!r} adds head(s) {', '.join(added)} that active {active!r} lacks")
    for head in sorted(set(candidate_labels) & set(active_labels)):
        new, old = set(candidate_labels[head]), set(active_labels[head])
        if new == old:
            continue
        parts = []
        if new - old:
            parts.append(f"adds {_listed(new - old)}")
        if old - new:
            parts.append(f"drops {_listed(old - new)}")
        differences.append(
            f"{head} labels differ from active {active!r}: {candidate!r} " + " and ".join(parts)
        )
    return incompatible, differences


# A database-backed registry re-reads a tenant's revision at most this often (seconds): far below the
# replicas' agreement bound, and not one query per request.
_REVISION_TTL = 0.2


class ModelRegistry:
    """The versions of every tenant under one root folder; their state there or in a database."""

    def __init__(self, root: Path, database: Database | Path | str | None = None) -> None:
        self.root = root
        # Bundles and registry.json in the shared location (a directory, possibly a network mount):
        # written atomically, bundles verified by checksum when loaded (knowledge.blobs).
        self.blobs = DirectoryBlobs(root)
        self._lock = threading.Lock()
        self._db: Database | None
        self._db, self._owns_db = as_database(database) if database is not None else (None, False)
        self._marks: dict[str, tuple[float, tuple[str, float] | None]] = {}

    def close(self) -> None:
        """Stop using the database (its pool closes with its last user in this process)."""
        if self._db is not None and self._owns_db:
            self._db.close()

    def mark(self, tenant: str) -> tuple[str, float] | None:
        """What changes whenever the tenant's state does (its revision, or the file's time); None: no state."""
        if self._db is not None:
            cached = self._marks.get(tenant)
            now = time.monotonic()
            if cached is not None and now - cached[0] < _REVISION_TTL:
                return cached[1]
            row = self._db.execute("SELECT revision FROM model_state WHERE tenant=?", (tenant,)).fetchone()
            mark = ("db", float(row[0])) if row is not None else self._file_mark(tenant)
            self._marks[tenant] = (now, mark)
            return mark
        return self._file_mark(tenant)

    def _file_mark(self, tenant: str) -> tuple[str, float] | None:
        try:
            return ("file", (self.tenant_dir(tenant) / "registry.json").stat().st_mtime)
        except OSError:
            return None

    def tenant_dir(self, tenant: str) -> Path:
        return self.root / _check_name("tenant", tenant)

    def path(self, tenant: str, version: str) -> Path:
        return self.tenant_dir(tenant) / _check_name("version", version)

    def state(self, tenant: str) -> RegistryState:
        if self._db is not None:
            row = self._db.execute("SELECT state FROM model_state WHERE tenant=?", (tenant,)).fetchone()
            if row is not None:
                return RegistryState.from_dict(json.loads(row[0]))
        path = self.tenant_dir(tenant) / "registry.json"
        if not path.exists():
            return RegistryState()
        try:
            return RegistryState.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise RegistryError(
                f"registry file {path} is unreadable ({exc}); restore it from a backup"
            ) from exc

    def _save(self, tenant: str, state: RegistryState) -> None:
        bounded = dataclasses.replace(state, history=state.history[-HISTORY_LIMIT:])
        text = json.dumps(bounded.to_dict(), indent=2)
        if self._db is not None:
            with self._db.transaction(exclusive="models") as conn:
                conn.execute(
                    "INSERT INTO model_state (tenant, state, revision, at) VALUES (?, ?, 1, ?)"
                    " ON CONFLICT (tenant) DO UPDATE SET state=excluded.state,"
                    " revision=model_state.revision + 1, at=excluded.at",
                    (tenant, text, _now()),
                )
            self._marks.pop(tenant, None)
        self.blobs.put(f"{_check_name('tenant', tenant)}/registry.json", text.encode("utf-8"))

    def versions(self, tenant: str) -> list[dict[str, Any]]:
        """Every complete version with its manifest, oldest first."""
        directory = self.tenant_dir(tenant)
        if not directory.is_dir():
            return []
        found = []
        for child in directory.iterdir():
            manifest = child / MANIFEST
            if child.is_dir() and not child.name.startswith(".") and manifest.exists():
                found.append(json.loads(self.blobs.get(f"{tenant}/{child.name}/{MANIFEST}")))
        return sorted(found, key=lambda m: (m.get("created", ""), m.get("version", "")))

    def manifest(self, tenant: str, version: str) -> dict[str, Any]:
        path = self.path(tenant, version) / MANIFEST
        if not path.exists():
            known = ", ".join(m["version"] for m in self.versions(tenant)) or "none"
            raise UnknownModelVersion(
                f"tenant {tenant!r} has no model version {version!r}; versions: {known}"
            )
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def register(self, tenant: str, version: str, activate_if_first: bool = True) -> RegistryState:
        """Record a newly written bundle; the first version of a tenant becomes active."""
        self.manifest(tenant, version)
        with self._lock:
            state = self.state(tenant)
            entry: dict[str, Any] = {"action": "register", "version": version, "at": _now()}
            active = state.active
            if active is None and activate_if_first:
                active = version
                entry["activated"] = True
            new = RegistryState(
                active, state.candidate, state.candidate_mode, state.canary_share, (*state.history, entry)
            )
            self._save(tenant, new)
            return new

    def set_candidate(
        self, tenant: str, version: str | None, mode: str = "shadow", share: float = 0.1
    ) -> RegistryState:
        """Run ``version`` beside the active one in shadow (never returned) or canary (a share of traffic)."""
        if mode not in CANDIDATE_MODES:
            raise RegistryError(f"candidate mode {mode!r}; choose one of {', '.join(CANDIDATE_MODES)}")
        if not 0.0 <= share <= 1.0:
            raise RegistryError(f"canary share {share} must be between 0 and 1")
        if version is not None:
            self.manifest(tenant, version)
        with self._lock:
            state = self.state(tenant)
            if version is not None and version == state.active:
                raise RegistryError(f"{version!r} is already active; a candidate must be another version")
            unchanged = state.candidate == version and (
                version is None or (state.candidate_mode == mode and state.canary_share == share)
            )
            if unchanged:
                return state
            entry = {"action": "candidate", "version": version, "mode": mode, "share": share, "at": _now()}
            new = RegistryState(
                state.active,
                version,
                mode if version else None,
                share if version else 0.0,
                (*state.history, entry),
            )
            self._save(tenant, new)
            return new

    def gate(self, tenant: str, version: str, margins: Mapping[str, float] | None = None) -> dict[str, Any]:
        """Compare a version with the active one: what it predicts, then its department metrics.

        The report lists ``incompatible`` (heads the active version predicts and the candidate does
        not: never promotable), ``differences`` (heads added, labels added or removed per head) and
        ``regressions`` (metrics worse than the active version's beyond the margins); ``force``
        overrides the last two only.
        """
        margins = {**DEFAULT_MARGINS, **(margins or {})}
        candidate_manifest = self.manifest(tenant, version)
        candidate = candidate_manifest.get("metrics", {}).get("department", {})
        state = self.state(tenant)
        report: dict[str, Any] = {
            "candidate": version,
            "active": state.active,
            "checks": [],
            "incompatible": [],
            "differences": [],
            "regressions": [],
        }
        if state.active is None or state.active == version:
            return report
        active_manifest = self.manifest(tenant, state.active)
        incompatible, differences = compare_labels(
            version, candidate_manifest.get("labels"), state.active, active_manifest.get("labels")
        )
        report["incompatible"], report["differences"] = incompatible, differences
        active = active_manifest.get("metrics", {}).get("department", {})
        for metric, direction in GATE_METRICS.items():
            if metric not in candidate or metric not in active:
                continue
            delta = (float(candidate[metric]) - float(active[metric])) * direction
            check = {
                "metric": metric,
                "candidate": candidate[metric],
                "active": active[metric],
                "margin": margins[metric],
                "ok": delta >= -margins[metric],
            }
            report["checks"].append(check)
            if not check["ok"]:
                report["regressions"].append(
                    f"{metric} {candidate[metric]:.3f} vs active {active[metric]:.3f} "
                    f"(worse by more than the {margins[metric]:.3f} margin)"
                )
        return report

    def promote(
        self,
        tenant: str,
        version: str,
        force: bool = False,
        margins: Mapping[str, float] | None = None,
        by: str = "",
    ) -> RegistryState:
        """Make ``version`` active after the quality gate.

        ``force`` overrides metric regressions and changed label sets (a reorganisation is
        legitimate) and is recorded; it never puts live a model that lacks a head the active one
        predicts (a department-only model over a full one). Promoting the version that is already
        active changes nothing and writes nothing.
        """
        current = self.state(tenant)
        if current.active == version:
            self.manifest(tenant, version)  # an unknown version is still an error
            return current
        report = self.gate(tenant, version, margins)
        if report["incompatible"]:
            raise GateRefused(
                f"quality gate refused {version!r}: "
                + "; ".join(report["incompatible"])
                + "; force cannot override this: retrain with those heads (--category, --priority)",
                report,
            )
        objections = [*report["differences"], *report["regressions"]]
        if objections and not force:
            raise GateRefused(
                f"quality gate refused {version!r}: " + "; ".join(objections) + "; pass force to override",
                report,
            )
        with self._lock:
            state = self.state(tenant)
            entry = {
                "action": "promote",
                "version": version,
                "previous": state.active,
                "forced": bool(force and objections),
                "gate": report["checks"],
                "differences": report["differences"],
                "by": by,
                "at": _now(),
            }
            candidate = None if state.candidate == version else state.candidate
            new = RegistryState(
                version,
                candidate,
                state.candidate_mode if candidate else None,
                state.canary_share if candidate else 0.0,
                (*state.history, entry),
            )
            self._save(tenant, new)
            return new

    def rollback(self, tenant: str, by: str = "") -> RegistryState:
        """Re-activate the version that was active before the current one was promoted.

        Repeated rollbacks walk further back (v3 -> v2 -> v1).
        """
        with self._lock:
            state = self.state(tenant)
            previous = None
            for entry in reversed(state.history):
                # The promotion that made the current version active says what was active before it.
                if entry.get("action") == "promote" and entry.get("version") == state.active:
                    previous = entry.get("previous")
                    break
            if previous is None:
                raise RegistryError(
                    f"tenant {tenant!r}: nothing to roll back to (active {state.active!r} has no predecessor)"
                )
            entry = {
                "action": "rollback",
                "version": previous,
                "previous": state.active,
                "by": by,
                "at": _now(),
            }
            new = RegistryState(
                previous, state.candidate, state.candidate_mode, state.canary_share, (*state.history, entry)
            )
            self._save(tenant, new)
            return new

    def active_path(self, tenant: str) -> Path:
        state = self.state(tenant)
        if state.active is None:
            raise BundleError(
                f"tenant {tenant!r} has no active model under {self.tenant_dir(tenant)}: run 'triage demo' or "
                "'triage train --register' and 'triage models promote'"
            )
        return self.path(tenant, state.active)
