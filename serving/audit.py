"""What the audit trail records for each change of state, and the per-request recorder routes use.

Summaries name versions, labels, statuses, ids and counts: never ticket text (``knowledge.audit``
refuses long strings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from knowledge import Document
from knowledge.audit import AuditEvent, AuditLog, AuditRecord
from serving.keys import ApiKey
from triage.registry import RegistryState


def model_summary(state: RegistryState) -> dict[str, Any]:
    """A tenant's model state: active version and candidate."""
    return {
        "active": state.active,
        "candidate": state.candidate,
        "candidate_mode": state.candidate_mode,
        "canary_share": state.canary_share if state.candidate else None,
    }


def document_summary(doc: Document | None) -> dict[str, Any]:
    """A stored case or article without its text: whether it exists, its labels and status."""
    if doc is None:
        return {"exists": False}
    return {
        "exists": True,
        "department": doc.department,
        "category": doc.category,
        "priority": doc.priority,
        "status": doc.status,
        "language": doc.language,
    }


def key_summary(key: ApiKey) -> dict[str, Any]:
    """An API key without its secret (there is none to show: only its hash is stored)."""
    return {
        "prefix": key.prefix,
        "name": key.name,
        "scopes": list(key.scopes),
        "expires": key.expires.isoformat() if key.expires else None,
        "revoked": key.revoked is not None,
    }


@dataclass(frozen=True)
class Auditor:
    """Appends audit rows on behalf of one request: its key, request id and client address.

    With ``request`` given, the key is read from ``request.state.caller`` when a row is written
    (the authentication dependency sets it, in whatever order FastAPI resolved the two).
    """

    log: AuditLog
    key_id: str | None = None
    request_id: str | None = None
    client: str | None = None
    request: Request | None = None

    def _key_id(self) -> str | None:
        caller = getattr(self.request.state, "caller", None) if self.request is not None else None
        return getattr(caller, "key_id", None) or self.key_id

    def record(
        self,
        tenant: str,
        action: str,
        target: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> AuditRecord:
        """Append one row (durable when this returns)."""
        return self.record_many(tenant, [(action, target, before, after)])[0]

    def record_many(
        self,
        tenant: str,
        changes: Sequence[tuple[str, str | None, dict[str, Any] | None, dict[str, Any] | None]],
    ) -> list[AuditRecord]:
        """Append one row per (action, target, before, after), in one transaction (bulk changes)."""
        return self.log.append_many(
            [
                AuditEvent(
                    tenant=tenant,
                    action=action,
                    target=target,
                    before=before,
                    after=after,
                    key_id=self._key_id(),
                    request_id=self.request_id,
                    client=self.client,
                )
                for action, target, before, after in changes
            ]
        )
