"""PII redaction: replace personal data among the extracted fields with placeholders.

A field is personal data when its extractor marked it ``pii`` (e-mail, phone, resident ID, bank
card). A person-name detector plugs in here: it marks the ``person`` fields it trusts as ``pii``
(or adds its own), and ``PII_PLACEHOLDERS`` gives them a placeholder; ``redact`` needs no change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from triage.types import ExtractedField

PII_PLACEHOLDERS: Mapping[str, str] = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "id_number": "[ID_NUMBER]",
    "bank_card": "[BANK_CARD]",
}


def redact(text: str, fields: Sequence[ExtractedField]) -> str:
    """Replace PII spans with placeholders such as ``[EMAIL]``; other fields stay as they are."""
    pii = sorted((f for f in fields if f.pii), key=lambda f: f.start, reverse=True)
    pieces: list[str] = []
    cursor = len(text)
    for f in pii:
        if text[f.start : f.end] != f.text:
            raise ValueError(
                f"field {f.type} at {f.start}:{f.end} does not match the text; "
                "pass the same text the fields were extracted from"
            )
        if f.end > cursor:
            continue  # overlaps a span already replaced
        pieces.append(text[f.end : cursor])
        pieces.append(PII_PLACEHOLDERS.get(f.type, "[PII]"))
        cursor = f.start
    pieces.append(text[:cursor])
    return "".join(reversed(pieces))
