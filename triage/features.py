"""Text preparation and tokenisation shared by training and prediction (so both see the same text)."""

from __future__ import annotations

from functools import lru_cache

from embeddings.text import MAX_TEXT_CHARS, ticket_text
from triage import safe_regex

_TOKEN_RUN = safe_regex.compile(
    r"(?P<han>[\u4e00-\u9fff]+)|(?P<latin>[A-Za-z][A-Za-z0-9_.\-]*[A-Za-z0-9]|[A-Za-z])"
)

# The text the models see is the encoders' text (``embeddings.text``); these names stay for their
# many callers in training/, eval/ and serving/.
MAX_MODEL_CHARS = MAX_TEXT_CHARS
model_text = ticket_text


@lru_cache(maxsize=1)
def _jieba() -> object:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def words(text: str) -> list[str]:
    """Word tokens: jieba words for Chinese runs, lower-cased Latin words (keeping 'ORA-00600', 'v2.3')."""
    jieba = _jieba()
    tokens: list[str] = []
    for match in _TOKEN_RUN.finditer(text):
        if match.group("han"):
            tokens.extend(w for w in jieba.lcut(match.group(), HMM=False) if w.strip())  # type: ignore[attr-defined]
        else:
            tokens.append(match.group().lower())
    return tokens
