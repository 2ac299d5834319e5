"""HTTP request and response models (v1): pydantic at the edge, documented with examples."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictFloat,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from knowledge import Document, Hit, SearchFilters, Spike
from knowledge.duplicates import (
    MAX_WINDOW_CASES,
    OPEN_STATUSES,
    SPIKE_SIMILARITY,
    THRESHOLD_BASIS,
    DuplicateThreshold,
)
from triage import safe_regex
from triage.language import detect_language
from triage.reasons import ENGLISH as REASON_CODES
from triage.types import Prediction, Ticket, TriageResult

MAX_TITLE_CHARS = 1_000
MAX_BODY_CHARS = 20_000
MAX_BATCH = 256
MAX_SPIKE_WINDOW_HOURS = 720
MAX_SPIKE_HISTORY = 30
# Times outside these years are refused (422): window arithmetic on them would overflow datetime.
MIN_YEAR, MAX_YEAR = 1900, 9000


def _in_range(moment: datetime) -> datetime:
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValueError(f"year {moment.year} is out of range: send a time between {MIN_YEAR} and {MAX_YEAR}")
    return moment


# What the server reads as a time, and the schema publishes: an RFC 3339 date-time (seconds and an
# offset or "Z" required, fraction optional) in the years above. Numbers, dates without a time and
# times without an offset are refused (422), so the schema and the server agree.
TIMESTAMP_PATTERN = (
    r"^(?:19\d\d|[2-8]\d\d\d|9000)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"[Tt](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)$"
)
_TIMESTAMP = safe_regex.compile(TIMESTAMP_PATTERN, name="timestamp")


def _iso_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        raise ValueError(
            f"expected an RFC 3339 date and time with seconds and an offset, such as "
            f"2026-11-23T09:15:00+08:00 or 2026-11-23T01:15:00Z (years {MIN_YEAR}-{MAX_YEAR})"
        )
    return value


# Every time a client sends: ISO 8601, within the years above.
Timestamp = Annotated[
    datetime,
    BeforeValidator(_iso_text),
    AfterValidator(_in_range),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN}),
]


def _json_integer(value: Any) -> Any:
    """JSON Schema's integer: a number with no fraction (2 or 2.0), never a string or a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("expected an integer (no fraction)")
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_json_integer)]

# The registry's rule for tenant and version names: a letter or digit first, at most 100 characters.
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
VERSION_PATTERN = TENANT_PATTERN
# Not blank: at least one character that is not whitespace (JSON Schema's \s).
NOT_BLANK_PATTERN = r"[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
_NOT_BLANK = safe_regex.compile(NOT_BLANK_PATTERN, name="not blank")
# Paging stops well before SQLite's 64-bit OFFSET would overflow.
MAX_OFFSET = 1_000_000_000


def _tenant_field() -> Any:
    return Field(
        "default",
        min_length=1,
        max_length=100,
        pattern=TENANT_PATTERN,
        description="Tenant id: leave it out to act on the API key's tenant; another tenant is a 403.",
        examples=["acme"],
    )


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
        json_schema_extra={"pattern": NOT_BLANK_PATTERN},
    )
    id: str | None = Field(
        None, max_length=200, description="The ticket system's id; excluded from its own similar cases."
    )
    language: Literal["zh", "en", "mixed", "other"] | None = Field(
        None, description="Skip detection and use this."
    )
    channel: str | None = Field(None, max_length=50, description="email, portal, phone, chat, wechat, ...")
    requester: str | None = Field(None, max_length=200, description="Who raised the ticket.")
    created_at: Timestamp | None = Field(
        None, description="ISO 8601; relative dates ('yesterday') resolve against it."
    )
    tenant: str = _tenant_field()
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Anything else; stored, not interpreted."
    )

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not _NOT_BLANK.search(value):
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


_REASON_ENUM: list[JsonValue] = [*sorted(REASON_CODES)]


class ReasonOut(BaseModel):
    """One part of a prediction's explanation as data, for a client to word in its reader's language."""

    code: str = Field(
        ...,
        description="Stable code of the sentence; `reason` holds all of them in English. Known codes: "
        + ", ".join(sorted(REASON_CODES))
        + " (if_* are a rule's conditions, under its `because`).",
        json_schema_extra={"enum": _REASON_ENUM},
        examples=["predicted"],
    )
    params: dict[str, Any] = Field(
        ...,
        description="The sentence's values: head, value, confidence, threshold, words, examples, rule, ...",
        examples=[{"head": "department", "value": "IT", "confidence": 0.93}],
    )
    because: list[ReasonOut] = Field(
        default_factory=list, description="For a rule's change: the conditions that made it fire."
    )


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
        description="Why, in English words (the same as `reasons`, which a client can word in any language).",
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
    reasons: list[ReasonOut] = Field(
        default_factory=list,
        description="Why, as data: one entry per part of `reason`, in the same order.",
        examples=[
            [
                {"code": "predicted", "params": {"head": "department", "value": "IT", "confidence": 0.93}},
                {"code": "words", "params": {"words": ["vpn", "连接"]}},
            ]
        ],
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
    partial: bool = Field(
        False,
        description="A date or time without its year or day (e.g. '08-13', '03:12:00'): the ticket had no "
        "created_at to infer it from.",
        examples=[False],
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
    questions: dict[str, str] = Field(
        default_factory=dict,
        description="The same question in each language the templates are written in (zh, en), for an "
        "agent who reads another language than the requester; empty when complete.",
        examples=[
            {
                "zh": "为尽快处理，请补充：错误信息。",
                "en": "To help us resolve this quickly, please provide: the error message.",
            }
        ],
    )
    labels: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="How each requirement in missing and present reads, per language (zh, en).",
        examples=[
            {
                "en": {"error_code": "the error code or error message"},
                "zh": {"error_code": "错误码或报错信息"},
            }
        ],
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
        "reasons": [r.as_json() for r in p.reasons],
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
                    "questions": dict(c.questions),
                    "labels": {lang: dict(names) for lang, names in c.labels.items()},
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


CaseStatus = Literal["new", "open", "in progress", "pending", "reopened", "resolved", "closed"]
Language = Literal["zh", "en", "mixed", "other"]
DocumentId = Annotated[str, Field(min_length=1, max_length=200)]
MAX_DOCUMENTS = 1_000


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


_D = TypeVar("_D", "CaseIn", "ArticleIn")


def _last_of_each_id(items: list[_D]) -> list[_D]:
    """A document sent twice in one call counts once, as its last copy (as if sent one after another)."""
    last = {(item.tenant, item.id): i for i, item in enumerate(items)}
    return [item for i, item in enumerate(items) if last[(item.tenant, item.id)] == i]


class DocumentIn(_Strict):
    """What cases and articles share; the id and tenant come from the URL (PUT) or the item (POST)."""

    title: str = Field("", max_length=MAX_TITLE_CHARS, description="Title.", examples=["VPN error 809"])
    body: str = Field(
        ...,
        max_length=MAX_BODY_CHARS,
        description="Text; not blank.",
        examples=["VPN fails with 809."],
        json_schema_extra={"pattern": NOT_BLANK_PATTERN},
    )
    department: str | None = Field(
        None, max_length=100, description="Department it belongs to.", examples=["IT"]
    )
    category: str | None = Field(None, max_length=100, description="Category.", examples=["network"])
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Stored, not interpreted.", examples=[{"source": "jira"}]
    )

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not _NOT_BLANK.search(value):
            raise ValueError("body is empty or only whitespace: send the text")
        return value

    kind: ClassVar[str]

    def to_document(self, doc_id: str, tenant: str) -> Document:
        """The document as stored under this id and tenant."""
        return Document(
            doc_id=doc_id,
            kind=self.kind,
            tenant=tenant,
            title=self.title.strip(),
            body=self.body.strip(),
            department=self.department,
            category=self.category,
            language=self._language() or detect_language(f"{self.title}\n{self.body}"),
            metadata=self.metadata,
            **self._own_fields(),
        )

    def _language(self) -> str | None:
        """The language the client stated, if this kind of document takes one."""
        return None

    @abstractmethod
    def _own_fields(self) -> dict[str, Any]:
        """The Document fields only this kind of document has."""


class CaseReplaceIn(DocumentIn):
    """A case's new content (PUT): every field is replaced, and the text is embedded again."""

    body: str = Field(
        ...,
        max_length=MAX_BODY_CHARS,
        description="Problem description; not blank.",
        examples=["VPN fails with 809."],
        json_schema_extra={"pattern": NOT_BLANK_PATTERN},
    )
    resolution: str = Field(
        "",
        max_length=MAX_BODY_CHARS,
        description="How it was solved.",
        examples=["Re-imported the VPN certificate."],
    )
    priority: str | None = Field(None, max_length=20, description="Priority.", examples=["P2"])
    status: CaseStatus = Field(
        "resolved",
        description="Case status; new, open, in progress, pending and reopened count as open for /v1/duplicates.",
        examples=["resolved"],
    )
    created_at: Timestamp | None = Field(
        None, description="ISO 8601; spikes are counted by it.", examples=["2026-11-20T09:00:00+08:00"]
    )
    resolved_at: Timestamp | None = Field(
        None, description="ISO 8601.", examples=["2026-11-20T11:30:00+08:00"]
    )

    kind: ClassVar[str] = "case"

    def _own_fields(self) -> dict[str, Any]:
        return {
            "resolution": self.resolution.strip(),
            "priority": self.priority,
            "status": self.status,
            "created_at": _iso(self.created_at),
            "resolved_at": _iso(self.resolved_at),
        }


class CaseIn(CaseReplaceIn):
    """A solved case (or with an open status, an open incident) to store and index."""

    id: str = Field(
        ...,
        min_length=1,
        max_length=200,
        description="Case id; posting it again replaces it.",
        examples=["INC-1042"],
    )
    tenant: str = _tenant_field()


class ArticleReplaceIn(DocumentIn):
    """A knowledge-base article's new content (PUT): every field is replaced, and the text is embedded again."""

    title: str = Field(
        "",
        max_length=MAX_TITLE_CHARS,
        description="Article title.",
        examples=["How to reset the VPN profile"],
    )
    body: str = Field(
        ...,
        max_length=MAX_BODY_CHARS,
        description="Article text (the answer shown to agents); not blank.",
        examples=["Open the VPN client, delete the profile and import the certificate again."],
        json_schema_extra={"pattern": NOT_BLANK_PATTERN},
    )
    language: Language | None = Field(None, description="zh, en, mixed or other; detected when absent.")
    created_at: Timestamp | None = Field(
        None, description="ISO 8601.", examples=["2026-01-15T10:00:00+08:00"]
    )

    kind: ClassVar[str] = "article"

    def _language(self) -> str | None:
        return self.language

    def _own_fields(self) -> dict[str, Any]:
        return {"created_at": _iso(self.created_at)}


class ArticleIn(ArticleReplaceIn):
    """A knowledge-base article to store and index."""

    id: str = Field(
        ...,
        min_length=1,
        max_length=200,
        description="Article id; posting it again replaces it.",
        examples=["KB-0042"],
    )
    tenant: str = _tenant_field()


class DocumentsIn(_Strict):
    """A bulk insert of cases or articles."""

    @abstractmethod
    def documents(self) -> list[Document]:
        """The documents as stored."""


class CasesIn(DocumentsIn):
    cases: list[CaseIn] = Field(
        ...,
        min_length=1,
        max_length=MAX_DOCUMENTS,
        description=f"1 to {MAX_DOCUMENTS:,} cases; an id sent twice counts once (the last copy).",
    )

    @field_validator("cases")
    @classmethod
    def _unique(cls, cases: list[CaseIn]) -> list[CaseIn]:
        return _last_of_each_id(cases)

    def documents(self) -> list[Document]:
        return [c.to_document(c.id, c.tenant) for c in self.cases]


class ArticlesIn(DocumentsIn):
    articles: list[ArticleIn] = Field(
        ...,
        min_length=1,
        max_length=MAX_DOCUMENTS,
        description=f"1 to {MAX_DOCUMENTS:,} articles; an id sent twice counts once (the last copy).",
    )

    @field_validator("articles")
    @classmethod
    def _unique(cls, articles: list[ArticleIn]) -> list[ArticleIn]:
        return _last_of_each_id(articles)

    def documents(self) -> list[Document]:
        return [a.to_document(a.id, a.tenant) for a in self.articles]


class DocumentQuery(_Strict):
    """Paging and filters of a list of cases or articles (query parameters; unknown ones are rejected)."""

    tenant: str = _tenant_field()
    limit: int = Field(50, ge=1, le=500, description="Page size, 1 to 500.", examples=[50])
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="How many to skip (oldest first).", examples=[0])
    department: list[str] = Field(
        default_factory=list,
        description="Keep these departments (repeat the parameter for several).",
        examples=[["IT"]],
    )
    category: list[str] = Field(
        default_factory=list, description="Keep these categories.", examples=[["network"]]
    )
    language: list[Language] = Field(
        default_factory=list, description="Keep these languages.", examples=[["zh"]]
    )
    created_from: Timestamp | None = Field(
        None,
        description="Created at or after this instant (RFC 3339 with an offset, e.g. 2026-11-01T00:00:00+08:00).",
        examples=["2026-11-01T00:00:00+08:00"],
    )
    created_to: Timestamp | None = Field(
        None,
        description="Created before this instant (RFC 3339 with an offset, e.g. 2026-11-01T00:00:00+08:00).",
        examples=["2026-12-01T00:00:00+08:00"],
    )

    def filters(self) -> SearchFilters:
        return SearchFilters(
            departments=tuple(self.department),
            languages=tuple(self.language),
            categories=tuple(self.category),
            created_from=_iso(self.created_from),
            created_to=_iso(self.created_to),
        )


class CaseQuery(DocumentQuery):
    status: list[CaseStatus] = Field(
        default_factory=list, description="Keep these statuses.", examples=[["open"]]
    )

    def filters(self) -> SearchFilters:
        return replace(super().filters(), statuses=tuple(self.status))


class ArticleQuery(DocumentQuery):
    pass


class DocumentOut(BaseModel):
    @classmethod
    @abstractmethod
    def of(cls, doc: Document) -> Self:
        """The response shape of a stored document."""


class CaseOut(DocumentOut):
    id: str = Field(..., description="Case id.", examples=["INC-1042"])
    title: str = Field(..., description="Case title.", examples=["VPN error 809"])
    body: str = Field(..., description="Problem description.", examples=["VPN fails with 809."])
    resolution: str = Field(
        ..., description="How it was solved.", examples=["Re-imported the VPN certificate."]
    )
    department: str | None = Field(..., description="Department.", examples=["IT"])
    category: str | None = Field(..., description="Category.", examples=["network"])
    priority: str | None = Field(..., description="Priority.", examples=["P2"])
    status: str = Field(..., description="Case status.", examples=["resolved"])
    language: str | None = Field(..., description="Detected language.", examples=["en"])
    created_at: str | None = Field(..., description="ISO 8601.", examples=["2026-11-20T09:00:00+08:00"])
    resolved_at: str | None = Field(..., description="ISO 8601.", examples=["2026-11-20T11:30:00+08:00"])
    metadata: dict[str, Any] = Field(..., description="As stored.", examples=[{"source": "jira"}])

    @classmethod
    def of(cls, doc: Document) -> Self:
        return cls(
            id=doc.doc_id,
            title=doc.title,
            body=doc.body,
            resolution=doc.resolution,
            department=doc.department,
            category=doc.category,
            priority=doc.priority,
            status=doc.status,
            language=doc.language,
            created_at=doc.created_at,
            resolved_at=doc.resolved_at,
            metadata=dict(doc.metadata),
        )


class ArticleOut(DocumentOut):
    id: str = Field(..., description="Article id.", examples=["KB-0042"])
    title: str = Field(..., description="Article title.", examples=["How to reset the VPN profile"])
    body: str = Field(
        ...,
        description="Article text.",
        examples=["Open the VPN client, delete the profile and import the certificate again."],
    )
    department: str | None = Field(..., description="Department.", examples=["IT"])
    category: str | None = Field(..., description="Category.", examples=["network"])
    language: str | None = Field(..., description="Given or detected language.", examples=["en"])
    created_at: str | None = Field(..., description="ISO 8601.", examples=["2026-01-15T10:00:00+08:00"])
    metadata: dict[str, Any] = Field(..., description="As stored.", examples=[{}])

    @classmethod
    def of(cls, doc: Document) -> Self:
        return cls(
            id=doc.doc_id,
            title=doc.title,
            body=doc.body,
            department=doc.department,
            category=doc.category,
            language=doc.language,
            created_at=doc.created_at,
            metadata=dict(doc.metadata),
        )


class DocumentList(BaseModel):
    total: int = Field(
        ...,
        description="Listing: all that match the filters; after a POST: how many were stored.",
        examples=[3600],
    )

    @classmethod
    @abstractmethod
    def of(cls, docs: Sequence[Document], total: int) -> Self:
        """A page of stored documents."""


class CaseList(DocumentList):
    cases: list[CaseOut] = Field(..., description="The cases of this page, oldest first (as stored).")

    @classmethod
    def of(cls, docs: Sequence[Document], total: int) -> Self:
        return cls(cases=[CaseOut.of(d) for d in docs], total=total)


class ArticleList(DocumentList):
    articles: list[ArticleOut] = Field(
        ..., description="The articles of this page, oldest first (as stored)."
    )

    @classmethod
    def of(cls, docs: Sequence[Document], total: int) -> Self:
        return cls(articles=[ArticleOut.of(d) for d in docs], total=total)


class DeleteIn(_Strict):
    """Ids to delete in one call; unknown ids are reported, not an error."""

    ids: list[DocumentId] = Field(
        ...,
        min_length=1,
        max_length=MAX_DOCUMENTS,
        description=f"1 to {MAX_DOCUMENTS:,} ids (each 1 to 200 characters).",
        examples=[["INC-1042", "INC-1043"]],
    )
    tenant: str = _tenant_field()


class DeleteOut(BaseModel):
    deleted: list[str] = Field(
        ...,
        description="Ids removed from the database, every index and the snapshots on disk, in request order.",
        examples=[["INC-1042"]],
    )
    not_found: list[str] = Field(
        ..., description="Ids the tenant does not have (nothing was done for them).", examples=[["INC-1043"]]
    )


class SimilarIn(TicketIn):
    k: JsonInt = Field(5, ge=1, le=50, description="How many similar cases to return.")
    kind: Literal["case", "article"] = Field(
        "case", description="Search solved cases, or knowledge-base articles."
    )


class SimilarOut(BaseModel):
    similar_cases: list[SimilarCaseOut] = Field(
        ..., description="Best first: cases, or articles (their resolution holds the article text)."
    )


class DuplicatesIn(TicketIn):
    k: JsonInt = Field(3, ge=1, le=20, description="At most this many duplicates, best first.")
    threshold: float | None = Field(
        None,
        strict=True,
        ge=0,
        le=1,
        description="Override the fitted threshold (higher flags less); default: the one for the ticket's language.",
    )


class DuplicateOut(BaseModel):
    id: str = Field(..., description="The open case the ticket likely repeats.", examples=["INC-1038"])
    title: str = Field(..., description="Its title.", examples=["VPN error 809"])
    status: str = Field(..., description="Its status (one of the open ones).", examples=["open"])
    score: float = Field(
        ...,
        ge=0,
        le=1,
        description="Hybrid similarity in [0, 1] (as in /v1/similar); at least the threshold.",
        examples=[0.83],
    )
    department: str | None = Field(None, description="Its department.", examples=["IT"])
    created_at: str | None = Field(
        None, description="When it was created (ISO 8601).", examples=["2026-11-23T08:40:00+08:00"]
    )
    matched_terms: list[str] = Field(
        default_factory=list, description="Terms shared with the ticket.", examples=[["vpn", "809"]]
    )


class DuplicatesOut(BaseModel):
    duplicates: list[DuplicateOut] = Field(
        ..., description="Open cases at or above the threshold, best first; empty when none."
    )
    threshold: float = Field(
        ..., ge=0, le=1, description="The score a case needed to be listed.", examples=[0.51]
    )
    threshold_language: Literal["en", "zh"] = Field(
        ..., description="Whose fitted threshold applies: zh for a Chinese ticket, en for any other."
    )
    threshold_basis: str = Field(
        ...,
        description="How the threshold was chosen ('given in the request' when overridden).",
        examples=[THRESHOLD_BASIS["en"]],
    )
    statuses: list[str] = Field(
        ..., description="Case statuses that count as open.", examples=[list(OPEN_STATUSES)]
    )

    @classmethod
    def of(cls, hits: Sequence[Hit], fitted: DuplicateThreshold, override: float | None) -> DuplicatesOut:
        """The response for ``hits`` found at the fitted threshold, or at ``override`` when given."""
        basis = (
            fitted.basis
            if override is None
            else f"given in the request (fitted: {fitted.value}, {fitted.basis})"
        )
        return cls(
            duplicates=[
                DuplicateOut(
                    id=h.document.doc_id,
                    title=h.document.display_title,
                    status=h.document.status,
                    score=round(min(1.0, max(0.0, h.score)), 4),
                    department=h.document.department,
                    created_at=h.document.created_at,
                    matched_terms=list(h.matched_terms),
                )
                for h in hits
            ],
            threshold=fitted.value if override is None else override,
            threshold_language=fitted.language,
            threshold_basis=basis,
            statuses=list(OPEN_STATUSES),
        )


class SpikesQuery(_Strict):
    """Spike detection parameters (query parameters; unknown ones are rejected)."""

    tenant: str = _tenant_field()
    window_hours: float = Field(
        24,
        gt=0,
        le=MAX_SPIKE_WINDOW_HOURS,
        description=f"Length of the window that ends at `now`, in hours (over 0, at most {MAX_SPIKE_WINDOW_HOURS}).",
        examples=[24],
    )
    history: int = Field(
        7,
        ge=0,
        le=MAX_SPIKE_HISTORY,
        description=f"Preceding windows whose mean rate is the baseline (0 to {MAX_SPIKE_HISTORY}; 0: no baseline).",
        examples=[7],
    )
    min_size: int = Field(
        5,
        ge=2,
        le=MAX_WINDOW_CASES,
        description="Fewest similar cases in the window that make a spike.",
        examples=[5],
    )
    min_ratio: float = Field(
        3.0,
        ge=0,
        le=1000,
        description="A group must be at least this many times its baseline per window.",
        examples=[3.0],
    )
    similarity: float = Field(
        SPIKE_SIMILARITY,
        gt=0,
        le=1,
        description="Centred cosine at which two cases are the same issue (a default, not fitted).",
        examples=[SPIKE_SIMILARITY],
    )
    now: Timestamp | None = Field(
        None,
        description="End of the window (ISO 8601; without an offset: UTC). Default: the present.",
        examples=["2026-11-23T18:00:00+08:00"],
    )


class SpikeOut(BaseModel):
    case_ids: list[str] = Field(
        ..., description="The cases of the spike, oldest first.", examples=[["INC-2001", "INC-2002"]]
    )
    size: int = Field(..., ge=1, description="How many cases.", examples=[12])
    baseline: float = Field(
        ..., ge=0, description="Mean such cases per window over the history windows.", examples=[0.6]
    )
    first_seen: str = Field(
        ..., description="created_at of the oldest case.", examples=["2026-11-23T08:02:00+08:00"]
    )
    last_seen: str = Field(
        ..., description="created_at of the newest case.", examples=["2026-11-23T17:41:00+08:00"]
    )
    terms: list[str] = Field(
        ..., description="Key terms the cases share, to name the issue.", examples=[["outlook", "550"]]
    )


class SpikesOut(BaseModel):
    spikes: list[SpikeOut] = Field(..., description="Largest first; empty when none.")
    window_start: str = Field(
        ..., description="Start of the window (UTC, inclusive).", examples=["2026-11-22T10:00:00+00:00"]
    )
    window_end: str = Field(
        ..., description="End of the window (UTC, exclusive).", examples=["2026-11-23T10:00:00+00:00"]
    )
    window_hours: float = Field(..., description="As requested.", examples=[24])
    history: int = Field(..., description="As requested.", examples=[7])
    min_size: int = Field(..., description="As requested.", examples=[5])
    min_ratio: float = Field(..., description="As requested.", examples=[3.0])
    similarity: float = Field(..., description="As requested.", examples=[SPIKE_SIMILARITY])

    @classmethod
    def of(cls, spikes: Sequence[Spike], query: SpikesQuery, start: datetime, end: datetime) -> SpikesOut:
        return cls(
            spikes=[
                SpikeOut(
                    case_ids=list(s.case_ids),
                    size=s.size,
                    baseline=s.baseline,
                    first_seen=s.first_seen,
                    last_seen=s.last_seen,
                    terms=list(s.terms),
                )
                for s in spikes
            ],
            window_start=start.isoformat(),
            window_end=end.isoformat(),
            window_hours=query.window_hours,
            history=query.history,
            min_size=query.min_size,
            min_ratio=query.min_ratio,
            similarity=query.similarity,
        )


class TenantIn(_Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"tenant": "default", "by": "ml-eng"}]}
    )

    tenant: str = _tenant_field()
    by: str | None = Field(None, max_length=200, description="Who did it (recorded in the history).")


class PromoteIn(TenantIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"tenant": "default", "force": False, "margins": {"macro_f1": 0.01}}]
        },
    )

    force: StrictBool = Field(
        False,
        description="Override metric regressions and changed label sets (recorded); never a head the "
        "active version predicts and this one lacks.",
    )
    margins: dict[str, StrictFloat] | None = Field(
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
    share: float = Field(
        0.1, ge=0.0, le=1.0, strict=True, description="Canary: share of tickets (sticky per ticket id)."
    )


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


def _given(name: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}


# FeedbackIn's rules in JSON Schema: head or case_id; a head needs accepted or correct; a case_id
# needs helpful (so a schema-valid request is never refused).
_FEEDBACK_RULES: list[JsonValue] = [
    {"anyOf": [_given("head"), _given("case_id")]},
    {"anyOf": [{"not": _given("head")}, _given("accepted"), _given("correct")]},
    {"anyOf": [{"not": _given("case_id")}, _given("helpful")]},
]


class FeedbackIn(_Strict):
    """An agent's verdict: accept or correct a label, or judge a suggested case."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "allOf": _FEEDBACK_RULES,
            "examples": [
                {"ticket_id": "INC-1042", "head": "department", "predicted": "IT", "correct": "Security"},
                {"ticket_id": "INC-1042", "case_id": "DEMO-000871", "helpful": True},
            ],
        },
    )

    ticket_id: str = Field(..., min_length=1, max_length=200, description="The ticket the feedback is about.")
    tenant: str = _tenant_field()
    head: Literal["department", "category", "priority"] | None = Field(None, description="Which prediction.")
    predicted: str | None = Field(None, max_length=200, description="What the service suggested.")
    correct: str | None = Field(
        None, max_length=200, description="The right label, when the agent corrected it."
    )
    accepted: StrictBool | None = Field(
        None, description="True when the agent accepted the suggestion as is."
    )
    case_id: str | None = Field(None, max_length=200, description="A suggested similar case being judged.")
    helpful: StrictBool | None = Field(None, description="Whether that case helped.")
    text: str | None = Field(
        None, max_length=MAX_BODY_CHARS, description="Ticket text, for retraining on corrections."
    )
    agent: str | None = Field(None, max_length=200, description="Who gave the feedback.")

    @model_validator(mode="after")
    def _says_something(self) -> FeedbackIn:  # the schema states the same rules (_FEEDBACK_RULES)
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


DriftBand = Literal["stable", "moderate", "significant", "no live predictions yet", "too few predictions"]
PsiInterval = Annotated[list[float], Field(min_length=2, max_length=2)]


class DriftWindowOut(BaseModel):
    start: str = Field(
        ..., description="Window start as an ISO prefix (day or hour, UTC).", examples=["2026-11-23"]
    )
    n: int = Field(..., description="Live predictions of this model in the window.", examples=[412])
    label_psi: float | None = Field(..., description="PSI of the window's predicted labels.", examples=[0.04])
    label_psi_interval: PsiInterval | None = Field(
        None, description="Bootstrap interval of label_psi.", examples=[[0.01, 0.07]]
    )
    label_drift: DriftBand | None = Field(
        ...,
        description="Band of the interval's lower end (too few predictions below min_sample).",
        examples=["stable"],
    )
    confidence_psi: float | None = Field(
        ...,
        description="PSI of the window's confidence histogram (null without a reference).",
        examples=[0.12],
    )
    confidence_psi_interval: PsiInterval | None = Field(
        None, description="Bootstrap interval of confidence_psi.", examples=[[0.08, 0.17]]
    )
    confidence_drift: DriftBand | None = Field(
        ..., description="Band of confidence_psi.", examples=["moderate"]
    )
    mean_confidence: float | None = Field(..., description="Mean confidence in the window.", examples=[0.81])
    abstention_rate: float | None = Field(..., description="Share of abstained predictions.", examples=[0.22])


class DriftOut(BaseModel):
    """Drift of one head's live predictions against the training data, overall and per window.

    PSI (population stability index) compares two distributions; the bands are the conventional
    ones: below 0.1 stable, 0.1 to 0.25 moderate, 0.25 and above significant.
    """

    model_version: str = Field(..., description="The active model the report is about.", examples=["demo-v1"])
    head: str = Field(..., description="department, category or priority.", examples=["department"])
    n_live: int = Field(..., description="Live predictions of this model in the period.", examples=[2048])
    n_other_versions: int = Field(
        ..., description="Predictions by other versions (canary), left out of the figures.", examples=[0]
    )
    min_sample: int = Field(
        ..., description="Fewest predictions (overall or in a window) that get a drift band.", examples=[100]
    )
    interval: float = Field(..., description="Coverage of the PSI bootstrap intervals.", examples=[0.9])
    bands: dict[str, str] = Field(
        ...,
        description="The PSI bands used (applied to the lower end of each PSI's interval).",
        examples=[{"stable": "PSI < 0.1", "moderate": "0.1 <= PSI < 0.25", "significant": "PSI >= 0.25"}],
    )
    error: str | None = Field(None, description="Why no figures could be computed, if so.", examples=[None])
    reference: str | None = Field(
        None,
        description="What the reference distribution was computed on.",
        examples=["out-of-fold predictions on the 3600 training tickets (5-fold CV)"],
    )
    reference_note: str | None = Field(
        None, description="Set when the model has no (full) reference, with what to do.", examples=[None]
    )
    reference_distribution: dict[str, float] | None = Field(
        None,
        description="The model's predicted label shares on held-out training tickets (training label "
        "shares for models trained before these were stored).",
        examples=[{"IT": 0.4, "Finance": 0.6}],
    )
    live_distribution: dict[str, float] | None = Field(
        None, description="Live predicted label shares.", examples=[{"IT": 0.5, "Finance": 0.5}]
    )
    label_psi: float | None = Field(
        None, description="PSI of live vs reference predicted labels.", examples=[0.04]
    )
    label_psi_interval: PsiInterval | None = Field(
        None, description="Bootstrap interval of label_psi.", examples=[[0.01, 0.07]]
    )
    label_drift: DriftBand | None = Field(
        None, description="Band of the lower end of label_psi_interval.", examples=["stable"]
    )
    confidence_bin_edges: list[float] | None = Field(
        None, description="Edges of the confidence histograms.", examples=[[0.0, 0.5, 1.0]]
    )
    reference_confidence_histogram: list[float] | None = Field(
        None, description="Shares per bin of held-out confidences at training.", examples=[[0.3, 0.7]]
    )
    live_confidence_histogram: list[float] | None = Field(
        None, description="Shares per bin of live confidences.", examples=[[0.4, 0.6]]
    )
    confidence_psi: float | None = Field(
        None, description="PSI of the confidence histograms.", examples=[0.03]
    )
    confidence_psi_interval: PsiInterval | None = Field(
        None, description="Bootstrap interval of confidence_psi.", examples=[[0.01, 0.06]]
    )
    confidence_drift: DriftBand | None = Field(
        None, description="Band of the lower end of confidence_psi_interval.", examples=["stable"]
    )
    mean_confidence: float | None = Field(None, description="Mean live confidence.", examples=[0.82])
    reference_mean_confidence: float | None = Field(
        None, description="Mean held-out confidence at training.", examples=[0.84]
    )
    abstention_rate: float | None = Field(None, description="Live share of abstentions.", examples=[0.2])
    reference_abstention_rate: float | None = Field(
        None, description="Held-out share of abstentions at training.", examples=[0.18]
    )
    window: Literal["day", "hour"] | None = Field(None, description="Width of each window.", examples=["day"])
    windows: list[DriftWindowOut] = Field(
        default_factory=list, description="The same figures per window, oldest first (at most 31)."
    )


class StatsOut(BaseModel):
    """One dashboard figure as a table: column names and rows (the same table as CSV with format=csv)."""

    figure: str = Field(..., description="Which figure.", examples=["volume"])
    tenant: str = Field(..., description="The tenant the figures are about.", examples=["default"])
    since: datetime | None = Field(
        None,
        description="Range start (UTC; null for figures of the present).",
        examples=["2026-11-16T10:00:00Z"],
    )
    until: datetime | None = Field(
        None,
        description="Range end (UTC, exclusive; null for figures of the present).",
        examples=["2026-11-23T10:00:00Z"],
    )
    bucket: Literal["hour", "day"] | None = Field(
        None, description="Width of a time bucket.", examples=["day"]
    )
    columns: list[str] = Field(
        ..., description="Column names, in row order.", examples=[["bucket", "key", "tickets"]]
    )
    rows: list[list[Any]] = Field(..., description="The table's rows.", examples=[[["2026-11-23", "IT", 41]]])


class LabelsOut(BaseModel):
    """The labels the active model knows, per head."""

    model_version: str = Field(..., description="The active model.", examples=["demo-v1"])
    labels: dict[str, list[str]] = Field(
        ..., description="Known labels per head, sorted.", examples=[{"department": ["Finance", "HR", "IT"]}]
    )
