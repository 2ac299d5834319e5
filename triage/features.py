"""Text preparation and tokenisation shared by training and prediction (so both see the same text)."""

from __future__ import annotations

import re
from functools import lru_cache

_TOKEN_RUN = re.compile(r"(?P<han>[\u4e00-\u9fff]+)|(?P<latin>[A-Za-z][A-Za-z0-9_.\-]*[A-Za-z0-9]|[A-Za-z])")
_SPACES = re.compile(r"\s+")

# Encoders and vectorisers see at most this many characters; the head of a ticket carries the
# problem, and long pasted logs only add noise and time.
MAX_MODEL_CHARS = 2000


def model_text(title: str, body: str) -> str:
    """The text the models see: title and body, whitespace collapsed, cut to MAX_MODEL_CHARS."""
    text = f"{title}\n{body}" if title else body
    return _SPACES.sub(" ", text).strip()[:MAX_MODEL_CHARS]


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
