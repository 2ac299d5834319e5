"""One ticket (or a batch) in: triage, classify, extract, summarize."""

from __future__ import annotations

from fastapi import APIRouter

from serving.deps import MetricsDep, ServiceDep, TriageCaller, bind_tenant
from serving.errors import V1_PROBLEMS
from serving.schemas import (
    BatchIn,
    BatchOut,
    ClassifyOut,
    ExtractOut,
    SummaryOut,
    TicketIn,
    TriageOut,
    prediction_dict,
)
from triage.language import detect_language

router = APIRouter(tags=["triage"], responses=V1_PROBLEMS)


@router.post("/v1/triage", response_model=TriageOut)
def triage_ticket(ticket: TicketIn, caller: TriageCaller, svc: ServiceDep, metrics: MetricsDep) -> TriageOut:
    """Route, summarise and enrich one ticket."""
    result = TriageOut.of(svc.triage(bind_tenant(ticket, caller).to_ticket()))
    metrics.triaged(caller.tenant, result)
    return result


@router.post("/v1/triage:batch", response_model=BatchOut)
def triage_batch(batch: BatchIn, caller: TriageCaller, svc: ServiceDep, metrics: MetricsDep) -> BatchOut:
    """Triage up to 256 tickets in one call (one encoder pass for all)."""
    batch = bind_tenant(batch, caller)
    results = [TriageOut.of(r) for r in svc.triage_many([t.to_ticket() for t in batch.tickets])]
    for result in results:
        metrics.triaged(caller.tenant, result)
    return BatchOut(results=results)


@router.post("/v1/classify", response_model=ClassifyOut)
def classify(ticket: TicketIn, caller: TriageCaller, svc: ServiceDep) -> ClassifyOut:
    """Department, category and priority only."""
    heads = svc.classify([bind_tenant(ticket, caller).to_ticket()])[0]
    return ClassifyOut.model_validate(
        {name: prediction_dict(heads.get(name)) for name in ("department", "category", "priority")}
        | {"model_version": svc.bundle.version}
    )


@router.post("/v1/extract", response_model=ExtractOut)
def extract(ticket: TicketIn, caller: TriageCaller, svc: ServiceDep) -> ExtractOut:
    """Key fields with types, normalised values and character spans."""
    language, fields = svc.extract_fields(bind_tenant(ticket, caller).to_ticket())
    return ExtractOut.model_validate({"language": language, "fields": [vars(f) for f in fields]})


@router.post("/v1/summarize", response_model=SummaryOut)
def summarize(ticket: TicketIn, caller: TriageCaller, svc: ServiceDep) -> SummaryOut:
    """Headline and 1-3 sentence extractive summary."""
    t = bind_tenant(ticket, caller).to_ticket()
    language = t.language or detect_language(t.text)
    summary = svc.summarizer.summarize(t.title, t.body, language)
    return SummaryOut(language=language, headline=summary.headline, summary=summary.summary)
