"""The audit trail of a tenant: who changed what, when, newest first."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from knowledge.audit import AuditLog, AuditRecord
from serving.deps import AuditReader, TenantDep
from serving.errors import V1_PROBLEMS
from serving.schemas import Timestamp

router = APIRouter(tags=["audit"], responses=V1_PROBLEMS)


class AuditRowOut(BaseModel):
    """One change of state. Summaries hold ids, labels, versions and counts, never ticket text."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seq": 42,
                    "at": "2026-12-04T06:10:00.123+00:00",
                    "key_id": "key_3f2a9c1d",
                    "tenant": "default",
                    "action": "case.delete",
                    "target": "case:DEMO-003600",
                    "before": {"exists": True, "department": "IT", "status": "resolved"},
                    "after": {"exists": False},
                    "request_id": "6b1f0c5e2d7a4e0f",
                    "client": "127.0.0.1",
                    "prev_hash": "9f2c...",
                    "hash": "41ab...",
                }
            ]
        }
    )

    seq: int = Field(..., description="Position in the chain (1, 2, ...); pages go by it.")
    at: str = Field(..., description="When, UTC ISO 8601 with milliseconds.")
    key_id: str | None = Field(..., description="The API key that made the change; null from the CLI.")
    tenant: str = Field(..., description="The tenant whose state changed.")
    action: str = Field(
        ...,
        description="What happened: case.create, case.replace, case.delete, article.*, feedback.create, "
        "model.promote, model.rollback, model.candidate.set, model.candidate.clear, model.retrain, "
        "model.register, key.create, key.revoke, connector.create, connector.delete, delivery.retry.",
    )
    target: str | None = Field(..., description="What it happened to, e.g. case:DEMO-1 or model:v3.")
    before: dict[str, Any] | None = Field(..., description="Summary of the state before.")
    after: dict[str, Any] | None = Field(..., description="Summary of the state after.")
    request_id: str | None = Field(..., description="The X-Request-ID of the request that made it.")
    client: str | None = Field(..., description="The client address, or 'cli'.")
    prev_hash: str = Field(..., description="The previous row's hash (64 zeros for the first row).")
    hash: str = Field(..., description="SHA-256 of prev_hash and this row's canonical JSON.")

    @classmethod
    def of(cls, record: AuditRecord) -> AuditRowOut:
        return cls(**asdict(record))


class AuditPage(BaseModel):
    items: list[AuditRowOut] = Field(..., description="Newest first.")
    next_before: int | None = Field(
        ..., description="Pass as `before` for the next (older) page; null on the last page."
    )


@router.get("/v1/audit", response_model=AuditPage)
def audit_trail(
    request: Request,
    caller: AuditReader,
    tenant: TenantDep,
    action: Annotated[
        str | None,
        Query(
            max_length=100,
            pattern=r"^[a-z_]+(\.[a-z_]+)*(\.\*)?$",
            description="Only this action, or a family with a trailing `.*` (`case.*`).",
        ),
    ] = None,
    key_id: Annotated[
        str | None, Query(max_length=100, description="Only changes made with this API key.")
    ] = None,
    since: Annotated[Timestamp | None, Query(description="From this time (inclusive), ISO 8601.")] = None,
    until: Annotated[Timestamp | None, Query(description="Before this time (exclusive), ISO 8601.")] = None,
    before: Annotated[
        int | None, Query(ge=1, description="Rows older than this seq: the `next_before` of the last page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Rows per page.")] = 50,
) -> AuditPage:
    """The key's tenant's audit trail, newest first: every change of state with its key, request and before/after."""
    log: AuditLog = request.app.state.audit
    rows = log.entries(
        tenant, action=action, key_id=key_id, since=since, until=until, before_seq=before, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        items=[AuditRowOut.of(r) for r in rows], next_before=rows[-1].seq if more and rows else None
    )
