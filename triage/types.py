"""Domain values that flow through one triage: frozen dataclasses, no I/O.

Character spans (``start``/``end``) of extracted fields index into ``Ticket.text``, which is
``title + "\\n" + body`` (just ``body`` when the title is empty).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triage.reasons import Reason

LANGUAGES = ("zh", "en", "mixed", "other")


@dataclass(frozen=True)
class Ticket:
    """One incoming ticket as the service sees it."""

    title: str
    body: str
    id: str | None = None
    language: str | None = None  # caller's hint; detected when None
    channel: str | None = None
    requester: str | None = None
    created_at: datetime | None = None
    tenant: str = "default"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """Title and body joined: the text every span refers to."""
        if not self.title:
            return self.body
        return f"{self.title}\n{self.body}"


@dataclass(frozen=True)
class ExtractedField:
    """A typed key field found in the ticket text."""

    type: str  # e.g. "email", "ipv4", "amount", "date", "person", "error_code"
    text: str  # the surface text, exactly ticket.text[start:end]
    value: Any  # normalised, JSON-serialisable (str, number or small dict)
    start: int
    end: int
    source: str = "rule"  # "rule" | "ner" | "dictionary"
    pii: bool = False
    # A date or time missing its year, month or day ("08-13", "03:12:00"): no created_at to infer it.
    partial: bool = False


@dataclass(frozen=True)
class Completeness:
    """What the receiving department still needs from the requester."""

    department: str
    missing: tuple[str, ...] = ()
    present: tuple[str, ...] = ()
    question: str | None = None  # ready-to-send question in the ticket's language
    # The same question in each language the templates are written in ("zh", "en"), for the agent.
    questions: Mapping[str, str] = field(default_factory=dict)
    # How each requirement named in missing / present reads, per language: {"zh": {name: text}, ...}.
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Summary:
    headline: str
    summary: str


@dataclass(frozen=True)
class Alternative:
    value: str
    confidence: float


@dataclass(frozen=True)
class Prediction:
    """One routed label with calibrated confidence.

    ``value`` is the best label even when ``abstained`` is true; a caller that honours abstention
    sends the ticket to a person and may show ``alternatives`` as suggestions.
    """

    value: str
    confidence: float
    alternatives: tuple[Alternative, ...] = ()
    abstained: bool = False
    reason: str = ""  # the reasons in English, one line (english(reasons))
    phrases: tuple[str, ...] = ()  # words that pushed the prediction most
    examples: tuple[str, ...] = ()  # ids of the nearest labelled training tickets
    rules: tuple[str, ...] = ()  # names of business rules that changed or boosted it
    reasons: tuple[Reason, ...] = ()  # the same explanation as codes + params, for any language


@dataclass(frozen=True)
class HandlingTime:
    p50_hours: float
    p90_hours: float
    sla_hours: float | None = None
    breach_risk: float | None = None  # probability that handling exceeds sla_hours


@dataclass(frozen=True)
class SimilarCase:
    id: str
    title: str
    resolution: str
    score: float  # hybrid similarity in [0, 1]: weighted mean of dense and BM25 channels (knowledge.base)
    department: str | None = None
    matched_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class TriageResult:
    ticket_id: str | None
    language: str
    fields: tuple[ExtractedField, ...]
    completeness: Completeness | None
    summary: Summary
    department: Prediction
    category: Prediction | None
    priority: Prediction | None
    handling_time: HandlingTime | None
    similar_cases: tuple[SimilarCase, ...]
    model_version: str
    articles: tuple[SimilarCase, ...] = ()  # knowledge-base articles (resolution = the article text)
    timings_ms: Mapping[str, float] = field(default_factory=dict)
