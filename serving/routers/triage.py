"""One ticket (or a batch) in: triage, classify, extract, summarize."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import APIRouter, Response

from serving.deps import BatcherDep, MetricsDep, ServiceDep, TriageCaller, bind_tenant
from serving.errors import V1_PROBLEMS
from serving.metrics import Metrics
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
from triage.pipeline import TriageService
from triage.types import Ticket

router = APIRouter(tags=["triage"], responses=V1_PROBLEMS)


def triage_json(svc: TriageService, metrics: Metrics) -> Callable[[Sequence[Ticket]], list[str]]:
    """The micro-batcher's work (on its thread): triage the tickets together, each one's JSON answer."""

    def run(tickets: Sequence[Ticket]) -> list[str]:
        out = []
        for ticket, triaged in zip(tickets, svc.triage_many(tickets), strict=True):
            result = TriageOut.of(triaged)
            metrics.triaged(ticket.tenant, result)
            out.append(result.model_dump_json())
        return out

    return run


@router.post("/v1/triage", response_model=TriageOut)
async def triage_ticket(
    ticket: TicketIn, caller: TriageCaller, _: ServiceDep, batcher: BatcherDep
) -> Response:
    """Route, summarise and enrich one ticket."""
    # Triaged on the micro-batcher's threads together with whatever arrives meanwhile (serving.batching);
    # the JSON is made there too, so the event loop only sends it.
    content = await batcher.submit(bind_tenant(ticket, caller).to_ticket())
    return Response(content, media_type="application/json")


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
