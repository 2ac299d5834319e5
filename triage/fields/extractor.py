"""FieldExtractor: runs the field table, the date rules and the name taggers over one ticket."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from triage import safe_regex
from triage.fields.dates import extract_dates
from triage.fields.engine import CUSTOMISABLE_TYPES, TIER_CUSTOM, Candidate, Rx, resolve
from triage.fields.lexicon import run_spacy_many, shared_models
from triage.fields.names import (
    EN_STOP,
    add_ner_entities,
    chinese_rule_entities,
    chinese_tagged_entities,
    compile_systems,
    english_lowercase_persons,
    english_places,
    has_han,
    ner_plan,
    system_fields,
)
from triage.fields.table import HAN_RULES, LOCATION_RULES, RULES, repeated_lines, run_rules
from triage.types import LANGUAGES, ExtractedField

logger = logging.getLogger(__name__)


class FieldExtractor:
    """Finds typed key fields in ticket text; ``load()`` once at start-up (else the first call does).

    ``patterns`` maps a type in ``CUSTOMISABLE_TYPES`` to an extra regular expression for that
    deployment's ids (``{"order_number": r"SO-\\d{6}"}``); its matches win over every built-in
    rule on overlap. A named group ``id`` narrows the span to that group. Patterns run on RE2
    (linear time): look-around is refused unless it passes :mod:`triage.safe_regex`'s check.
    ``systems`` adds names to the system dictionary (matched case-insensitively). ``use_ner=False``
    skips spaCy, so capitalised English people, organisations and places are found only after cue
    words or in the place list; Chinese ones still come from jieba.
    """

    def __init__(
        self,
        patterns: Mapping[str, str] | None = None,
        use_ner: bool = True,
        *,
        systems: Iterable[str] = (),
    ) -> None:
        self._use_ner = use_ner
        self._custom = _compile_custom_patterns(patterns or {})
        self._systems = compile_systems(systems)
        self._lock = threading.Lock()
        self._loaded = False
        self._jieba: Any = None
        self._word_tags: Mapping[str, str] = {}
        self._en_stop: frozenset[str] = EN_STOP
        self._nlp: Any = None

    @property
    def loaded(self) -> bool:
        """Whether ``load()`` has run."""
        return self._loaded

    def load(self) -> None:
        """Initialise jieba and, with ``use_ner``, spaCy's English NER; safe to call again."""
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            started = time.perf_counter()
            self._jieba, self._word_tags = shared_models("jieba")
            if self._use_ner:
                self._nlp, spacy_stop = shared_models("spacy")
                self._en_stop = EN_STOP | spacy_stop
            self._loaded = True
            logger.info(
                "field extractor loaded (ner=%s) in %.2f s", self._use_ner, time.perf_counter() - started
            )

    def extract(
        self, text: str, language: str, reference_time: datetime | None = None
    ) -> list[ExtractedField]:
        """Return the fields found in ``text``, sorted by start and non-overlapping.

        ``reference_time`` (the ticket's created_at) resolves relative dates, gives a month and day
        their year and a time of day its date. Rules run for every language; jieba for ``zh`` and
        ``mixed``; spaCy for ``en`` and ``mixed``. Safe to call from several threads once loaded.
        """
        return self.extract_many([(text, language, reference_time)])[0]

    def extract_many(self, items: Sequence[tuple[str, str, datetime | None]]) -> list[list[ExtractedField]]:
        """``extract`` for many ``(text, language, reference_time)``: each gets what it gets alone.

        The rules run text by text; spaCy reads the English NER documents of all texts in one
        ``nlp.pipe`` call (a batch's per-call cost paid once).
        """
        for _, language, _ in items:
            if language not in LANGUAGES:
                raise ValueError(f"unknown language {language!r}; pass one of: {', '.join(LANGUAGES)}")
        if any(text for text, _, _ in items):
            self.load()
        found = [
            self._rule_candidates(text, language, reference_time) if text else []
            for text, language, reference_time in items
        ]
        if self._nlp is not None:
            plans = [
                (i, plan)
                for i, (text, language, _) in enumerate(items)
                if text and language in ("en", "mixed")
                for plan in (ner_plan(text, self._en_stop, found[i]),)
                if plan is not None
            ]
            docs = run_spacy_many(self._nlp, [plan.document for _, plan in plans])
            for (i, plan), doc in zip(plans, docs, strict=True):
                add_ner_entities(items[i][0], plan, doc, self._en_stop, found[i])
        return [
            [
                ExtractedField(
                    c.type, text[c.start : c.end], c.value, c.start, c.end, c.source, c.pii, c.partial
                )
                for c in resolve(candidates)
            ]
            for (text, _, _), candidates in zip(items, found, strict=True)
        ]

    def _rule_candidates(self, text: str, language: str, reference_time: datetime | None) -> list[Candidate]:
        """Every candidate of ``text`` but spaCy's."""
        han = has_han(text)
        lowered = text.lower()
        candidates: list[Candidate] = []
        self._custom_fields(text, candidates)
        run_rules(RULES, text, lowered, candidates)
        repeated_lines(text, candidates)
        if han:
            run_rules(HAN_RULES, text, lowered, candidates)
        candidates += extract_dates(text, lowered, han, reference_time)
        system_fields(text, self._systems, candidates)
        if han:
            chinese_rule_entities(text, candidates)
            if language in ("zh", "mixed"):
                chinese_tagged_entities(text, self._jieba, self._word_tags, candidates)
        run_rules(LOCATION_RULES, text, lowered, candidates)
        if language in ("en", "mixed", "other"):
            english_lowercase_persons(text, candidates)
            english_places(text, candidates)
        return candidates

    def _custom_fields(self, text: str, out: list[Candidate]) -> None:
        for field_type, pattern in self._custom:
            for hit in pattern.finditer(text):
                start, end = hit.span("id") if "id" in pattern.index else hit.span()
                if end > start:
                    out.append(Candidate(start, end, field_type, text[start:end].strip(), TIER_CUSTOM))


def _compile_custom_patterns(patterns: Mapping[str, str]) -> list[tuple[str, Rx]]:
    compiled: list[tuple[str, Rx]] = []
    for field_type, pattern in patterns.items():
        if field_type not in CUSTOMISABLE_TYPES:
            known = ", ".join(CUSTOMISABLE_TYPES)
            raise ValueError(
                f"cannot add a pattern for field type {field_type!r}; patterns may target: {known}"
            )
        try:
            compiled.append((field_type, Rx(pattern, name=f"custom {field_type} pattern")))
        except safe_regex.UnsafePattern as e:
            raise ValueError(
                f"pattern for {field_type!r} cannot be used ({e}): {pattern!r}; fix it in the config "
                "(RE2 syntax; no back-references, and look-around only if it cannot backtrack)"
            ) from e
    return compiled
