"""Agents' feedback on predictions and suggested cases."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from knowledge.ledger import Feedback
from serving.deps import AuditDep, FeedbackCaller, ServiceDep, bind_tenant
from serving.errors import V1_PROBLEMS
from serving.schemas import FeedbackIn, FeedbackOut

router = APIRouter(tags=["feedback"], responses=V1_PROBLEMS)


@router.post("/v1/feedback", response_model=FeedbackOut, status_code=201)
def feedback(body: FeedbackIn, caller: FeedbackCaller, svc: ServiceDep, audit: AuditDep) -> FeedbackOut:
    """An agent accepted or corrected a prediction, or judged a suggested case. Durable when this returns."""
    body = bind_tenant(body, caller)
    if svc.ledger is None:
        raise HTTPException(status_code=409, detail="no feedback store configured")
    item = Feedback(
        tenant=body.tenant,
        ticket_id=body.ticket_id,
        kind="case" if body.case_id else "label",
        head=body.head,
        predicted=body.predicted,
        correct=body.correct,
        accepted=body.accepted,
        case_id=body.case_id,
        helpful=body.helpful,
        text=body.text,
        agent=body.agent,
    )
    # Through the service: with redact_pii on it redacts the text and pseudonymises the agent.
    feedback_id = svc.add_feedback(item)
    summary = {
        "kind": item.kind,
        "ticket_id": item.ticket_id,
        "head": item.head,
        "predicted": item.predicted,
        "correct": item.correct,
        "accepted": item.accepted,
        "case_id": item.case_id,
        "helpful": item.helpful,
        "with_text": item.text is not None,
    }
    audit.record(item.tenant, "feedback.create", f"feedback:{feedback_id}", after=summary)
    return FeedbackOut(id=feedback_id)
