from __future__ import annotations

import pytest

from embeddings.text import MAX_TEXT_CHARS, ticket_text
from knowledge.base import embedding_text
from triage.features import MAX_MODEL_CHARS, model_text


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ("VPN down", "error 809\n\n  on srv-01 ", "VPN down error 809 on srv-01"),
        ("", "  打印机\t无法打印  ", "打印机 无法打印"),
        ("only a title", "", "only a title"),
        ("", "", ""),
    ],
)
def test_ticket_text_joins_title_and_body_and_collapses_whitespace(
    title: str, body: str, expected: str
) -> None:
    assert ticket_text(title, body) == expected


def test_ticket_text_cuts_long_bodies_after_collapsing() -> None:
    text = ticket_text("title", "word   " * 1000)
    assert len(text) == MAX_TEXT_CHARS
    assert text.startswith("title word word") and "  " not in text


@pytest.mark.parametrize(
    "alias", [model_text, embedding_text], ids=["triage.model_text", "knowledge.embedding_text"]
)
def test_ticket_text_is_what_models_and_search_encode(alias: object) -> None:
    # Tickets (triage) and stored cases (knowledge) must be encoded from the same text.
    assert alias is ticket_text
    assert MAX_MODEL_CHARS == MAX_TEXT_CHARS
