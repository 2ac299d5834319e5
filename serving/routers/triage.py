"""One ticket (or a batch) in: triage, classify, extract, summarize."""

from __future__ import annotations

from fastapi import APIRouter, Request

from serving.deps import MetricsDep, ServiceDep
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

router = APIRouter(tags=["triage"])


@router.post("/v1/triage", response_model=TriageOut)
def triage_ticket(ticket: TicketIn, svc: ServiceDep, metrics: MetricsDep, request: Request) -> TriageOut:
    """Route, summarise and enrich one ticket."""
    t = ticket.to_ticket()
    request.state.tenant = t.tenant
    result = TriageOut.of(svc.triage(t))
    metrics.triaged(t.tenant, result)
    return result


@router.post("/v1/triage:batch", response_model=BatchOut)
def triage_batch(batch: BatchIn, svc: ServiceDep, metrics: MetricsDep, request: Request) -> BatchOut:
    """Triage up to 256 tickets in one call (one encoder pass for all)."""
    tickets = [t.to_ticket() for t in batch.tickets]
    request.state.tenant = tickets[0].tenant if len({t.tenant for t in tickets}) == 1 else "(several)"
    results = [TriageOut.of(r) for r in svc.triage_many(tickets)]
    for ticket, result in zip(tickets, results, strict=True):
        metrics.triaged(ticket.tenant, result)
    return BatchOut(results=results)


@router.post("/v1/classify", response_model=ClassifyOut)
def classify(ticket: TicketIn, svc: ServiceDep) -> ClassifyOut:
    """Department, category and priority only."""
    heads = svc.classify([ticket.to_ticket()])[0]
    return ClassifyOut.model_validate(
        {name: prediction_dict(heads.get(name)) for name in ("department", "category", "priority")}
        | {"model_version": svc.bundle.version}
    )


@router.post("/v1/extract", response_model=ExtractOut)
def extract(ticket: TicketIn, svc: ServiceDep) -> ExtractOut:
    """Key fields with types, normalised values and character spans."""
    language, fields = svc.extract_fields(ticket.to_ticket())
    return ExtractOut.model_validate({"language": language, "fields": [vars(f) for f in fields]})


@router.post("/v1/summarize", response_model=SummaryOut)
def summarize(ticket: TicketIn, svc: ServiceDep) -> SummaryOut:
    """Headline and 1-3 sentence extractive summary."""
    t = ticket.to_ticket()
    language = t.language or detect_language(t.text)
    summary = svc.summarizer.summarize(t.title, t.body, language)
    return SummaryOut(language=language, headline=summary.headline, summary=summary.summary)
