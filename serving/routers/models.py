"""Model versions per tenant: list, show, promote, roll back, candidate, compare, drift."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as UrlPath

from knowledge.drift import drift_report
from serving.audit import model_summary
from serving.auth import Caller
from serving.deps import AuditDep, ModelsAdmin, ModelsReader, RegistryDep, ServiceDep, TenantDep, bind_tenant
from serving.errors import CONFLICT, NOT_FOUND, V1_PROBLEMS
from serving.schemas import CandidateIn, DriftOut, ModelsOut, ModelVersionOut, PromoteIn, TenantIn, Timestamp
from triage.bundle import drift_baseline, drift_source
from triage.registry import ModelRegistry

Version = Annotated[
    str,
    UrlPath(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        description="A model version of the caller's tenant, e.g. 'demo-v1'.",
    ),
]

router = APIRouter(tags=["models"], responses=V1_PROBLEMS)


def _by(caller: Caller) -> str:
    """Who the registry history names when the request does not say: the key."""
    return f"key:{caller.key_id}"


def _models(reg: ModelRegistry, tenant: str) -> ModelsOut:
    state = reg.state(tenant)
    return ModelsOut(
        tenant=tenant,
        active=state.active,
        candidate=state.candidate,
        candidate_mode=state.candidate_mode,
        canary_share=state.canary_share,
        versions=[ModelVersionOut.of(m) for m in reg.versions(tenant)],
        history=list(state.history),
    )


@router.get("/v1/models", response_model=ModelsOut, responses=CONFLICT)
def list_models(caller: ModelsReader, tenant: TenantDep, reg: RegistryDep) -> ModelsOut:
    """Versions of a tenant's model, which is active, the candidate and the history."""
    return _models(reg, tenant)


@router.get("/v1/models/{version}", responses=NOT_FOUND | CONFLICT)
def show_model(version: Version, caller: ModelsReader, tenant: TenantDep, reg: RegistryDep) -> dict[str, Any]:
    """A version's manifest: data fingerprint, parameters, metrics, thresholds, parent."""
    return reg.manifest(tenant, version)


@router.get("/v1/models/{version}/gate", responses=NOT_FOUND)
def gate_model(version: Version, caller: ModelsReader, tenant: TenantDep, reg: RegistryDep) -> dict[str, Any]:
    """What the quality gate would say if `version` were promoted now (checks and regressions; changes nothing)."""
    reg.manifest(tenant, version)  # an unknown version is a 404 naming it
    return reg.gate(tenant, version)


@router.post("/v1/models/{version}/promote", response_model=ModelsOut, responses=NOT_FOUND | CONFLICT)
def promote_model(
    version: Version, body: PromoteIn, caller: ModelsAdmin, svc: ServiceDep, reg: RegistryDep, audit: AuditDep
) -> ModelsOut:
    """Make a version active after the quality gate. Atomic.

    ``force`` overrides metric regressions and changed label sets (recorded), never a head the
    active version predicts and this one lacks.
    """
    body = bind_tenant(body, caller)
    reg.manifest(body.tenant, version)  # an unknown version is a 404 naming it
    svc.models.check(body.tenant, version)  # loads before the switch: a bad bundle never goes live
    before = reg.state(body.tenant).active
    state = reg.promote(
        body.tenant, version, force=body.force, margins=body.margins, by=body.by or _by(caller)
    )
    svc.models.refresh(body.tenant)
    audit.record(
        body.tenant,
        "model.promote",
        f"model:{version}",
        before={"active": before},
        after={"active": state.active, "forced": body.force},
    )
    return _models(reg, body.tenant)


@router.post("/v1/models/rollback", response_model=ModelsOut, responses=CONFLICT)
def rollback_model(
    body: TenantIn, caller: ModelsAdmin, svc: ServiceDep, reg: RegistryDep, audit: AuditDep
) -> ModelsOut:
    """Re-activate the version that was active before the current one. Atomic."""
    body = bind_tenant(body, caller)
    before = reg.state(body.tenant).active
    state = reg.rollback(body.tenant, by=body.by or _by(caller))
    svc.models.refresh(body.tenant)
    audit.record(
        body.tenant,
        "model.rollback",
        f"model:{state.active}",
        before={"active": before},
        after={"active": state.active},
    )
    return _models(reg, body.tenant)


@router.post("/v1/models/{version}/candidate", response_model=ModelsOut, responses=NOT_FOUND | CONFLICT)
def candidate_model(
    version: Version,
    body: CandidateIn,
    caller: ModelsAdmin,
    svc: ServiceDep,
    reg: RegistryDep,
    audit: AuditDep,
) -> ModelsOut:
    """Run a version in shadow (logged, never returned) or as a canary (a sticky share of tickets)."""
    body = bind_tenant(body, caller)
    reg.manifest(body.tenant, version)  # an unknown version is a 404 naming it
    svc.models.check(body.tenant, version)
    before = reg.state(body.tenant)
    state = reg.set_candidate(body.tenant, version, mode=body.mode, share=body.share)
    svc.models.refresh(body.tenant)
    audit.record(
        body.tenant,
        "model.candidate.set",
        f"model:{version}",
        before=model_summary(before),
        after=model_summary(state),
    )
    return _models(reg, body.tenant)


@router.delete("/v1/models/candidate", response_model=ModelsOut, responses=CONFLICT)
def clear_candidate(
    caller: ModelsAdmin, tenant: TenantDep, svc: ServiceDep, reg: RegistryDep, audit: AuditDep
) -> ModelsOut:
    """Stop the shadow or canary."""
    before = reg.state(tenant)
    state = reg.set_candidate(tenant, None)
    svc.models.refresh(tenant)
    if before.candidate is not None:  # clearing nothing changes nothing
        audit.record(
            tenant,
            "model.candidate.clear",
            f"model:{before.candidate}",
            before=model_summary(before),
            after=model_summary(state),
        )
    return _models(reg, tenant)


@router.get("/v1/models:compare", responses=CONFLICT)
def compare_models(
    caller: ModelsReader, tenant: TenantDep, svc: ServiceDep, head: str = "department"
) -> dict[str, Any]:
    """Active vs candidate on the same tickets: agreement, and accuracy where agents gave feedback."""
    if svc.ledger is None:
        raise HTTPException(status_code=409, detail="no prediction log configured")
    svc.ledger.flush()
    return svc.ledger.comparison(tenant, head)


@router.get("/v1/drift", response_model=DriftOut, responses=CONFLICT)
def drift(
    caller: ModelsReader,
    tenant: TenantDep,
    svc: ServiceDep,
    head: Literal["department", "category", "priority"] = "department",
    since: Annotated[Timestamp | None, Query(description="From this time (inclusive), ISO 8601.")] = None,
    until: Annotated[Timestamp | None, Query(description="Up to this time (exclusive), ISO 8601.")] = None,
    window: Annotated[Literal["day", "hour"], Query(description="Width of the per-window figures.")] = "day",
) -> DriftOut:
    """Population stability index of live predicted labels and confidences against the training data.

    Every PSI has a bootstrap interval; a band is the band of the interval's lower end, and below
    `min_sample` predictions no band is given ("too few predictions").
    """
    if svc.ledger is None:
        raise HTTPException(status_code=409, detail="no prediction log configured")
    svc.ledger.flush()
    bundle = svc.models.assign(tenant, None).serving
    reference, note = drift_baseline(bundle, head)
    profile, windows, other = svc.ledger.drift_profile(tenant, head, bundle.version, since, until, window)
    return DriftOut(
        **drift_report(
            reference,
            profile,
            windows,
            model_version=bundle.version,
            head=head,
            window=window,
            reference_source=drift_source(bundle),
            reference_note=note,
            n_other_versions=other,
        )
    )
