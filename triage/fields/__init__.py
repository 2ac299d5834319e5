"""Key-field extraction from Chinese and English ticket text, with PII marking and redaction.

A small package of table-driven extractors:

- :mod:`~triage.fields.table`: loads ``resources/field_table.yaml``, one row per pattern: field
  type, pattern with its word boundaries, the words that must occur for it to run, and by name
  how a match becomes a value (validators by
  ``phonenumbers`` and ``python-stdnum``: E.164 phones, resident-ID and Luhn check digits);
- :mod:`~triage.fields.engine`: the row runner on RE2 (linear time, :mod:`triage.safe_regex`),
  candidates and overlap resolution;
- :mod:`~triage.fields.dates`: dates, times and datetimes, anchored to the ticket's created_at;
- :mod:`~triage.fields.names`: people, organisations, places and systems (rules, jieba, spaCy),
  with its word lists in ``resources/field_lexicon.yaml``;
- :mod:`~triage.fields.redact`: PII placeholders.

Overlapping candidates resolve in three tiers: custom patterns, then rules and the system
dictionary, then statistical spans (jieba, spaCy). Within a tier the longest span wins, then the
more specific type.
"""

from __future__ import annotations

from triage.fields.dates import UNRESOLVED_PREFIX
from triage.fields.engine import CUSTOMISABLE_TYPES, FIELD_TYPES
from triage.fields.extractor import FieldExtractor
from triage.fields.lexicon import LEXICON_PATH, SPACY_MODEL
from triage.fields.lexicon import load_lexicon as _load_lexicon
from triage.fields.redact import PII_PLACEHOLDERS, redact

__all__ = [
    "CUSTOMISABLE_TYPES",
    "FIELD_TYPES",
    "LEXICON_PATH",
    "PII_PLACEHOLDERS",
    "SPACY_MODEL",
    "UNRESOLVED_PREFIX",
    "FieldExtractor",
    "_load_lexicon",
    "redact",
]
