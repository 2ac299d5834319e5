"""Our triage result in a ticket system's values: which fields to set, which tags, the internal note."""

from __future__ import annotations

from serving.connectors.base import ConnectorConfig, WritePlan
from triage.types import Prediction, TriageResult


def _confident(prediction: Prediction | None, min_confidence: float) -> bool:
    return prediction is not None and not prediction.abstained and prediction.confidence >= min_confidence


def note_text(result: TriageResult, config: ConnectorConfig) -> str:
    """The internal note: headline, summary, the missing-information question, time, similar cases."""
    policy = config.policy
    lines = [f"Triage suggestion ({result.model_version})", "", result.summary.headline]
    if result.summary.summary and result.summary.summary != result.summary.headline:
        lines += ["", result.summary.summary]
    lines.append("")
    for head in ("department", "category", "priority"):
        prediction: Prediction | None = getattr(result, head)
        if prediction is None:
            continue
        flag = " (needs a human)" if not _confident(prediction, policy.min_confidence) else ""
        lines.append(f"{head.capitalize()}: {prediction.value} ({prediction.confidence:.0%}){flag}")
    if result.completeness is not None and result.completeness.question:
        lines += ["", f"Missing information: {result.completeness.question}"]
    if result.handling_time is not None:
        ht = result.handling_time
        estimate = f"Handling time: about {ht.p50_hours:.1f} h (90% within {ht.p90_hours:.1f} h)"
        if ht.breach_risk is not None and ht.sla_hours is not None:
            estimate += f"; SLA {ht.sla_hours:g} h, breach risk {ht.breach_risk:.0%}"
        lines += ["", estimate]
    cases = result.similar_cases[: policy.similar_in_note]
    if cases:
        lines += ["", "Similar solved cases:"]
        for case in cases:
            link = f" {policy.case_url.format(id=case.id)}" if policy.case_url else ""
            resolution = " ".join(case.resolution.split())[:200]
            lines.append(f"- {case.title} [{case.id}]{link}: {resolution}")
    return "\n".join(lines)


def plan_write(result: TriageResult, config: ConnectorConfig) -> WritePlan:
    """What to write back: mapped fields only when confident, tags always, the note when asked for."""
    policy, mapping = config.policy, config.mapping
    heads = {"department": result.department, "category": result.category, "priority": result.priority}
    confident = {head: _confident(p, policy.min_confidence) for head, p in heads.items() if p is not None}

    def mapped(head: str) -> str | None:
        prediction = heads[head]
        if not policy.write_fields or prediction is None or not confident.get(head):
            return None
        table = getattr(mapping, head)
        value = table.get(prediction.value)
        return None if value is None else str(value)

    tags = list(policy.tags)
    if not all(confident.values()) and policy.needs_human_tag:
        tags.append(policy.needs_human_tag)
    return WritePlan(
        group=mapped("department"),
        priority=mapped("priority"),
        category=mapped("category"),
        tags=tuple(dict.fromkeys(tags)),
        note=note_text(result, config) if policy.note else None,
    )
