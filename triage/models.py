"""Which model answers a ticket: the tenant's active version, a canary, and a shadow beside it.

Bundles are loaded before they are swapped in, and a request keeps the bundle it started with,
so promotion and rollback never fail a request in flight. A change made by another process (the
CLI, another replica) is noticed from the registry's mark: the state's revision in the database,
or the registry file's modification time.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from triage.bundle import BundleError, ModelBundle
from triage.registry import ModelRegistry, RegistryState

logger = logging.getLogger(__name__)

DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class Assignment:
    """The bundle that answers one ticket, and the candidate that runs in its shadow, if any."""

    serving: ModelBundle
    role: str  # "active" | "canary"
    shadow: ModelBundle | None = None


def canary_bucket(ticket_id: str) -> float:
    """A stable number in [0, 1) per ticket id: the same ticket always lands on the same side."""
    digest = hashlib.blake2b(ticket_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass
class _Tenant:
    mtime: tuple[str, float] | None  # the registry mark it was loaded at
    state: RegistryState
    active: ModelBundle
    candidate: ModelBundle | None


class ModelProvider:
    """Loaded bundles per tenant; tenants without models of their own use the default tenant's."""

    def __init__(
        self, registry: ModelRegistry | None, encoder: str, fixed_bundle: Path | None = None
    ) -> None:
        if registry is None and fixed_bundle is None:
            raise ValueError("ModelProvider needs a registry or a fixed bundle directory")
        self.registry = registry
        self.encoder = encoder
        self.fixed_bundle = fixed_bundle
        self._fixed: ModelBundle | None = None
        self._tenants: dict[str, _Tenant] = {}
        self._cache: dict[tuple[str, str], ModelBundle] = {}
        self._lock = threading.RLock()

    def load(self) -> None:
        """Load the default tenant's models (or the fixed bundle) now; idempotent."""
        if self.fixed_bundle is not None:
            if self._fixed is None:
                self._fixed = ModelBundle.load(self.fixed_bundle, expected_encoder=self.encoder)
            return
        self._tenant(DEFAULT_TENANT, required=True)

    @property
    def default(self) -> ModelBundle:
        if self._fixed is not None:
            return self._fixed
        state = self._tenant(DEFAULT_TENANT, required=True)
        assert state is not None
        return state.active

    def _bundle(self, tenant: str, version: str) -> ModelBundle:
        key = (tenant, version)
        bundle = self._cache.get(key)
        if bundle is None:
            assert self.registry is not None
            bundle = ModelBundle.load(self.registry.path(tenant, version), expected_encoder=self.encoder)
            self._cache[key] = bundle
        return bundle

    def _registry_mark(self, tenant: str) -> tuple[str, float] | None:
        assert self.registry is not None
        return self.registry.mark(tenant)

    def _tenant(self, tenant: str, required: bool = False) -> _Tenant | None:
        """The tenant's loaded models, reloaded when its registry file changed."""
        if self.registry is None:
            return None
        mark = self._registry_mark(tenant)
        current = self._tenants.get(tenant)
        if current is not None and current.mtime == mark:
            return current
        if mark is None and not required:
            return None
        with self._lock:
            current = self._tenants.get(tenant)
            if current is not None and current.mtime == mark:
                return current
            state = self.registry.state(tenant)
            if state.active is None:
                if required:
                    self.registry.active_path(tenant)  # raises BundleError with the fix
                return None
            # Load first, swap after: requests keep using the old models meanwhile.
            active = self._bundle(tenant, state.active)
            candidate = self._bundle(tenant, state.candidate) if state.candidate else None
            loaded = _Tenant(mark, state, active, candidate)
            self._tenants[tenant] = loaded
            logger.info(
                "tenant %s: active %s, candidate %s (%s)",
                tenant,
                state.active,
                state.candidate,
                state.candidate_mode,
            )
            return loaded

    def refresh(self, tenant: str) -> None:
        """Re-read a tenant's registry now (after a promote or rollback through the API)."""
        with self._lock:
            self._tenants.pop(tenant, None)
        self._tenant(tenant)

    def assign(self, tenant: str, ticket_id: str | None) -> Assignment:
        """The model that answers this ticket; canary traffic is sticky per ticket id."""
        if self._fixed is not None:
            return Assignment(self._fixed, "active")
        loaded = self._tenant(tenant) or self._tenant(DEFAULT_TENANT, required=True)
        assert loaded is not None
        state, candidate = loaded.state, loaded.candidate
        if candidate is None:
            return Assignment(loaded.active, "active")
        if state.candidate_mode == "canary":
            if ticket_id is not None and canary_bucket(ticket_id) < state.canary_share:
                return Assignment(candidate, "canary")
            return Assignment(loaded.active, "active")
        return Assignment(loaded.active, "active", shadow=candidate)

    def check(self, tenant: str, version: str) -> ModelBundle:
        """Load a version (raising BundleError if it cannot serve here) before it is made active."""
        if self.registry is None:
            raise BundleError("this service serves a fixed bundle (model_dir); it has no registry to change")
        return self._bundle(tenant, version)
