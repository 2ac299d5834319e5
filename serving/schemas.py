"""HTTP request and response models (v1): pydantic at the edge, documented with examples."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from triage.types import Prediction, Ticket, TriageResult

MAX_TITLE_CHARS = 1_000
MAX_BODY_CHARS = 20_000
MAX_BATCH = 256

_EXAMPLE_TICKET: dict[str, JsonValue] = {
    "title": "VPN 无法连接",
    "body": "您好，从今天早上开始 VPN 连不上，报错 809，主机 srv-vpn-02 (10.2.3.4)。请尽快处理，谢谢！",
    "channel": "email",
    "requester": "zhang.wei@example.com",
    "created_at": "2026-11-23T09:15:00+08:00",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketIn(_Strict):
    """A ticket to triage. Unknown fields are rejected (422) so typos are caught."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE_TICKET]})

    title: str = Field("", max_length=MAX_TITLE_CHARS, description="Subject line; may be empty.")
    body: str = Field(
        ...,
        max_length=MAX_BODY_CHARS,
        description=f"Ticket text (Chinese, English or mixed); 1 to {MAX_BODY_CHARS:,} characters, not blank.",
    )
    id: str | None = Field(
        None, max_length=200, description="The ticket system's id; excluded from its own similar cases."
    )
    language: Literal["zh", "en", "mixed", "other"] | None = Field(
        None, description="Skip detection and use this."
    )
    channel: str | None = Field(None, max_length=50, description="email, portal, phone, chat, wechat, ...")
    requester: str | None = Field(None, max_length=200, description="Who raised the ticket.")
    created_at: datetime | None = Field(
        None, description="ISO 8601; relative dates ('yesterday') resolve against it."
    )
    tenant: str = Field(
        "default", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$", description="Tenant id."
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Anything else; stored, not interpreted."
    )

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("body is empty or only whitespace: send the ticket text")
        return value

    def to_ticket(self) -> Ticket:
        return Ticket(
            title=self.title.strip(),
            body=self.body.strip(),
            id=self.id,
            language=self.language,
            channel=self.channel,
            requester=self.requester,
            created_at=self.created_at,
            tenant=self.tenant,
            metadata=self.metadata,
        )


class BatchIn(_Strict):
    tickets: list[TicketIn] = Field(
        ...,
        min_length=1,
        max_length=MAX_BATCH,
        description=f"1 to {MAX_BATCH} tickets.",
        examples=[[_EXAMPLE_TICKET]],
    )


class AlternativeOut(BaseModel):
    value: str = Field(..., description="A label.", examples=["Security"])
    confidence: float = Field(..., ge=0, le=1, description="Its calibrated probability.", examples=[0.07])


class PredictionOut(BaseModel):
    value: str = Field(..., description="Best label (also when abstained).", examples=["IT"])
    confidence: float = Field(
        ..., ge=0, le=1, description="Calibrated probability that value is right.", examples=[0.93]
    )
    alternatives: list[AlternativeOut] = Field(..., description="Top 3 labels with their confidence.")
    abstained: bool = Field(
        ...,
        description="True when confidence is below the label's threshold: needs a human.",
        examples=[False],
    )
    reason: str = Field(
        ...,
        description="Why, in words.",
        examples=["department 'IT' with confidence 0.93; words: 'vpn', '连接'; like DEMO-000123"],
    )
    phrases: list[str] = Field(
        ..., description="Words that pushed the prediction most.", examples=[["vpn", "连接"]]
    )
    examples: list[str] = Field(
        ..., description="Ids of the nearest labelled training tickets.", examples=[["DEMO-000123"]]
    )
    rules: list[str] = Field(
        ..., description="Business rules that changed or boosted this prediction.", examples=[[]]
    )


class FieldOut(BaseModel):
    type: str = Field(
        ..., description="Field type (ipv4, email, amount, date, person, ...).", examples=["ipv4"]
    )
    text: str = Field(
        ..., description="Exact text; equals (title + '\\n' + body)[start:end].", examples=["10.2.3.4"]
    )
    value: Any = Field(..., description="Normalised value (string, number or object).", examples=["10.2.3.4"])
    start: int = Field(..., ge=0, description="Start offset in title + '\\n' + body.", examples=[52])
    end: int = Field(..., ge=0, description="End offset (exclusive).", examples=[60])
    source: str = Field(..., description="rule, ner or dictionary.", examples=["rule"])
    pii: bool = Field(
        ..., description="Personal data (e-mail, phone, ID number, bank card).", examples=[False]
    )


class CompletenessOut(BaseModel):
    department: str = Field(..., description="The department whose template was checked.", examples=["IT"])
    missing: list[str] = Field(
        ..., description="Required fields the ticket lacks.", examples=[["error_code"]]
    )
    present: list[str] = Field(
        ..., description="Required fields the ticket has.", examples=[["host_or_asset"]]
    )
    question: str | None = Field(
        None,
        description="A question to send the requester, in the ticket's language (null when complete).",
        examples=["为尽快处理，请补充：错误信息。"],
    )


class HandlingTimeOut(BaseModel):
    p50_hours: float = Field(
        ..., ge=0, description="Median predicted handling time in hours.", examples=[3.5]
    )
    p90_hours: float = Field(..., ge=0, description="90th-percentile handling time in hours.", examples=[9.0])
    sla_hours: float | None = Field(
        None, description="SLA target for the predicted priority.", examples=[8.0]
    )
    breach_risk: float | None = Field(
        None, ge=0, le=1, description="Share of comparable history that exceeded the SLA.", examples=[0.2]
    )


class SimilarCaseOut(BaseModel):
    id: str = Field(..., description="Case id in the knowledge base.", examples=["DEMO-000871"])
    title: str = Field(
        ..., description="Case title (first line of the text when it had none).", examples=["VPN error 809"]
    )
    resolution: str = Field(
        ...,
        description="How it was solved.",
        examples=["Reset the VPN profile and re-imported the certificate."],
    )
    score: float = Field(
        ...,
        ge=0,
        le=1,
        description="Hybrid similarity in [0, 1]: weighted mean of embedding cosine and BM25 (relative to the query's own BM25 score); 1 = same text.",
        examples=[0.87],
    )
    department: str | None = Field(None, description="Department that solved it.", examples=["IT"])
    matched_terms: list[str] = Field(
        default_factory=list, description="Terms shared with the query.", examples=[["vpn"]]
    )


def prediction_dict(p: Prediction | None) -> dict[str, Any] | None:
    """A domain Prediction as the JSON shape of PredictionOut."""
    if p is None:
        return None
    return {
        "value": p.value,
        "confidence": p.confidence,
        "alternatives": [{"value": a.value, "confidence": a.confidence} for a in p.alternatives],
        "abstained": p.abstained,
        "reason": p.reason,
        "phrases": list(p.phrases),
        "examples": list(p.examples),
        "rules": list(p.rules),
    }


class TriageOut(BaseModel):
    ticket_id: str | None = Field(None, description="Echo of the request's id.", examples=["INC-1042"])
    language: str = Field(..., description="zh, en, mixed or other.", examples=["zh"])
    headline: str = Field(..., description="One line, extractive.", examples=["VPN 连不上，报错 809"])
    summary: str = Field(
        ..., description="1-3 sentences taken from the ticket.", examples=["从今天早上开始 VPN 连不上。"]
    )
    fields: list[FieldOut] = Field(..., description="Key fields with types, normalised values and spans.")
    completeness: CompletenessOut | None = Field(..., description="What the target department still needs.")
    department: PredictionOut = Field(..., description="Target department.")
    category: PredictionOut | None = Field(
        ..., description="Category (null if the model has no category head)."
    )
    priority: PredictionOut | None = Field(
        ..., description="Priority P1-P4 (null if the model has no priority head)."
    )
    handling_time: HandlingTimeOut | None = Field(..., description="Predicted handling time and SLA risk.")
    similar_cases: list[SimilarCaseOut] = Field(..., description="Similar solved cases, best first.")
    articles: list[SimilarCaseOut] = Field(
        ..., description="Knowledge-base articles, best first (resolution holds the article text)."
    )
    model_version: str = Field(..., description="Model bundle version that answered.", examples=["demo-v1"])
    timings_ms: dict[str, float] = Field(
        ...,
        description="Time spent per stage (encode/classify are batch shares).",
        examples=[{"encode": 2.4}],
    )

    @classmethod
    def of(cls, result: TriageResult) -> TriageOut:
        c = result.completeness
        h = result.handling_time
        return cls.model_validate(
            {
                "ticket_id": result.ticket_id,
                "language": result.language,
                "headline": result.summary.headline,
                "summary": result.summary.summary,
                "fields": [vars(f) for f in result.fields],
                "completeness": None
                if c is None
                else {
                    "department": c.department,
                    "missing": list(c.missing),
                    "present": list(c.present),
                    "question": c.question,
                },
                "department": prediction_dict(result.department),
                "category": prediction_dict(result.category),
                "priority": prediction_dict(result.priority),
                "handling_time": None if h is None else vars(h),
                "similar_cases": [
                    vars(s) | {"matched_terms": list(s.matched_terms)} for s in result.similar_cases
                ],
                "articles": [vars(a) | {"matched_terms": list(a.matched_terms)} for a in result.articles],
                "model_version": result.model_version,
                "timings_ms": dict(result.timings_ms),
            }
        )


class BatchOut(BaseModel):
    results: list[TriageOut] = Field(..., description="One result per ticket, in request order.")


class ClassifyOut(BaseModel):
    department: PredictionOut = Field(..., description="Target department.")
    category: PredictionOut | None = Field(..., description="Category, when the model has a category head.")
    priority: PredictionOut | None = Field(
        ..., description="Priority P1-P4, when the model has a priority head."
    )
    model_version: str = Field(..., description="Model bundle version that answered.", examples=["demo-v1"])


class ExtractOut(BaseModel):
    language: str = Field(..., description="zh, en, mixed or other.", examples=["en"])
    fields: list[FieldOut] = Field(..., description="Key fields, sorted by position.")


class SummaryOut(BaseModel):
    language: str = Field(..., description="zh, en, mixed or other.", examples=["zh"])
    headline: str = Field(..., description="One line, extractive.", examples=["VPN 连不上，报错 809"])
    summary: str = Field(
        ...,
        description="1-3 sentences taken from the ticket.",
        examples=["从今天早上开始 VPN 连不上，报错 809。"],
    )


class CaseIn(_Strict):
    """A solved case (or with status 'open', an open incident) to store and index."""

    id: str = Field(
        ...,
        min_length=1,
        max_length=200,
        description="Case id; posting it again replaces it.",
        examples=["INC-1042"],
    )
    title: str = Field("", max_length=MAX_TITLE_CHARS, description="Case title.", examples=["VPN error 809"])
    body: str = Field(
        ...,
        max_length=MAX_BODY_CHARS,
        description="Problem description; not blank.",
        examples=["VPN fails with 809."],
    )
    resolution: str = Field(
        "",
        max_length=MAX_BODY_CHARS,
        description="How it was solved.",
        examples=["Re-imported the VPN certificate."],
    )
    department: str | None = Field(
        None, max_length=100, description="Department that solved it.", examples=["IT"]
    )
    category: str | None = Field(None, max_length=100, description="Category.", examples=["network"])
    priority: str | None = Field(None, max_length=20, description="Priority.", examples=["P2"])
    status: Literal["open", "resolved", "closed"] = Field("resolved", description="open, resolved or closed.")
    created_at: datetime | None = Field(None, description="ISO 8601.", examples=["2026-11-20T09:00:00+08:00"])
    resolved_at: datetime | None = Field(
        None, description="ISO 8601.", examples=["2026-11-20T11:30:00+08:00"]
    )
    tenant: str = Field(
        "default",
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Tenant id.",
        examples=["acme"],
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Stored, not interpreted.", examples=[{}]
    )

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("body is empty or only whitespace: send the case text")
        return value


class CasesIn(_Strict):
    cases: list[CaseIn] = Field(..., min_length=1, max_length=1000, description="1 to 1,000 cases.")


class CaseOut(BaseModel):
    id: str = Field(..., description="Case id.", examples=["INC-1042"])
    title: str = Field(..., description="Case title.", examples=["VPN error 809"])
    body: str = Field(..., description="Problem description.", examples=["VPN fails with 809."])
    resolution: str = Field(
        ..., description="How it was solved.", examples=["Re-imported the VPN certificate."]
    )
    department: str | None = Field(..., description="Department.", examples=["IT"])
    category: str | None = Field(..., description="Category.", examples=["network"])
    priority: str | None = Field(..., description="Priority.", examples=["P2"])
    status: str = Field(..., description="open, resolved or closed.", examples=["resolved"])
    language: str | None = Field(..., description="Detected language.", examples=["en"])
    created_at: str | None = Field(..., description="ISO 8601.", examples=["2026-11-20T09:00:00+08:00"])
    resolved_at: str | None = Field(..., description="ISO 8601.", examples=["2026-11-20T11:30:00+08:00"])


class CaseList(BaseModel):
    cases: list[CaseOut] = Field(..., description="The cases of this page.")
    total: int = Field(..., description="All cases of the tenant.", examples=[3600])


class SimilarIn(TicketIn):
    k: int = Field(5, ge=1, le=50, description="How many similar cases to return.")


class SimilarOut(BaseModel):
    similar_cases: list[SimilarCaseOut] = Field(..., description="Best first.")


class TenantIn(_Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"tenant": "default", "by": "ml-eng"}]}
    )

    tenant: str = Field(
        "default", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$", description="Tenant id."
    )
    by: str | None = Field(None, max_length=200, description="Who did it (recorded in the history).")


class PromoteIn(TenantIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"tenant": "default", "force": False, "margins": {"macro_f1": 0.01}}]
        },
    )

    force: bool = Field(False, description="Override a refusing quality gate (recorded).")
    margins: dict[str, float] | None = Field(
        None,
        description="Allowed regression per metric, e.g. {'macro_f1': 0.01, 'ece': 0.02, 'coverage_at_90': 0.05}.",
    )


class CandidateIn(TenantIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"tenant": "default", "mode": "canary", "share": 0.1}]},
    )

    mode: Literal["shadow", "canary"] = Field(
        "shadow", description="shadow: logged, never returned; canary: served."
    )
    share: float = Field(0.1, ge=0.0, le=1.0, description="Canary: share of tickets (sticky per ticket id).")


class ModelVersionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": "v20261123-101500",
                    "created": "2026-11-23T10:15:00+00:00",
                    "parent": "demo-v1",
                    "n_train": 3600,
                    "metrics": {"macro_f1": 0.91, "ece": 0.02},
                }
            ]
        }
    )

    version: str = Field(..., description="Version id.", examples=["v20261123-101500"])
    created: str | None = Field(None, description="When it was trained (UTC).")
    parent: str | None = Field(None, description="The version it was derived from.")
    n_train: int | None = Field(None, description="Training tickets.")
    metrics: dict[str, Any] = Field(default_factory=dict, description="Cross-validated department metrics.")

    @classmethod
    def of(cls, manifest: dict[str, Any]) -> ModelVersionOut:
        department = manifest.get("metrics", {}).get("department", {})
        keys = ("accuracy", "macro_f1", "ece", "coverage_at_90", "expected_coverage")
        return cls(
            version=manifest["version"],
            created=manifest.get("created"),
            parent=manifest.get("parent"),
            n_train=manifest.get("n_train"),
            metrics={k: department[k] for k in keys if k in department},
        )


class ModelsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "default",
                    "active": "demo-v1",
                    "candidate": None,
                    "candidate_mode": None,
                    "canary_share": 0.0,
                    "versions": [],
                    "history": [{"action": "register", "version": "demo-v1"}],
                }
            ]
        }
    )

    tenant: str = Field(..., description="Tenant id.")
    active: str | None = Field(..., description="The version that answers.")
    candidate: str | None = Field(..., description="The version in shadow or canary, if any.")
    candidate_mode: str | None = Field(..., description="shadow or canary.")
    canary_share: float = Field(..., description="Share of tickets the canary answers.")
    versions: list[ModelVersionOut] = Field(..., description="Every version, oldest first.")
    history: list[dict[str, Any]] = Field(..., description="Registrations, promotions and rollbacks.")


class FeedbackIn(_Strict):
    """An agent's verdict: accept or correct a label, or judge a suggested case."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"ticket_id": "INC-1042", "head": "department", "predicted": "IT", "correct": "Security"},
                {"ticket_id": "INC-1042", "case_id": "DEMO-000871", "helpful": True},
            ]
        },
    )

    ticket_id: str = Field(..., min_length=1, max_length=200, description="The ticket the feedback is about.")
    tenant: str = Field(
        "default", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$", description="Tenant id."
    )
    head: Literal["department", "category", "priority"] | None = Field(None, description="Which prediction.")
    predicted: str | None = Field(None, max_length=200, description="What the service suggested.")
    correct: str | None = Field(
        None, max_length=200, description="The right label, when the agent corrected it."
    )
    accepted: bool | None = Field(None, description="True when the agent accepted the suggestion as is.")
    case_id: str | None = Field(None, max_length=200, description="A suggested similar case being judged.")
    helpful: bool | None = Field(None, description="Whether that case helped.")
    text: str | None = Field(
        None, max_length=MAX_BODY_CHARS, description="Ticket text, for retraining on corrections."
    )
    agent: str | None = Field(None, max_length=200, description="Who gave the feedback.")

    @model_validator(mode="after")
    def _says_something(self) -> FeedbackIn:
        if self.case_id is None and self.head is None:
            raise ValueError(
                "give head (with accepted or correct) for a label, or case_id (with helpful) for a case"
            )
        if self.head is not None and self.accepted is None and self.correct is None:
            raise ValueError("label feedback needs accepted=true or a correct label")
        if self.case_id is not None and self.helpful is None:
            raise ValueError("case feedback needs helpful=true or false")
        return self


class FeedbackOut(BaseModel):
    id: int = Field(..., description="Feedback id.", examples=[17])
