"""Text preparation and tokenisation shared by training and prediction (so both see the same text)."""

from __future__ import annotations

import string
from functools import lru_cache

from embeddings.text import MAX_TEXT_CHARS, ticket_text
from triage import safe_regex

# Runs of Han characters, which jieba segments. Everything else is read by ``_latin_words``.
_HAN_RUN = safe_regex.compile(r"[\u4e00-\u9fff]+")
# A Latin word is a letter followed by letters, digits and "_.-", ending in a letter or a digit
# (a lone letter is a word too): the regular expression ``[A-Za-z][A-Za-z0-9_.\-]*[A-Za-z0-9]|[A-Za-z]``
# read leftmost-first. Within a maximal run of those characters it matches once: from the run's
# first letter to its last letter or digit. So the words are the runs with leading digits and
# "_.-" and trailing "_.-" stripped, found by str methods (in C) instead of a regex match per word
# (RE2's Python binding costs ~10 us a match: half the TF-IDF time of an English ticket).
_WORD_CHARS = frozenset(string.ascii_letters + string.digits + "_.-")
_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if chr(c) not in _WORD_CHARS})
_BEFORE_WORD = string.digits + "_.-"
_AFTER_WORD = "_.-"

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


def _latin_words(text: str) -> list[str]:
    """The lower-cased Latin words of a text without Han characters, in order."""
    if not text.isascii():
        text = text.encode("ascii", "replace").decode("ascii")  # every other character: "?", a separator
    out: list[str] = []
    for run in text.translate(_SEPARATORS).split():
        word = run.lstrip(_BEFORE_WORD)
        if word:
            out.append(word.rstrip(_AFTER_WORD).lower())
    return out


def words(text: str) -> list[str]:
    """Word tokens: jieba words for Chinese runs, lower-cased Latin words (keeping 'ORA-00600', 'v2.3')."""
    if text.isascii():
        return _latin_words(text)
    jieba = _jieba()
    tokens: list[str] = []
    position = 0
    for match in _HAN_RUN.finditer(text):
        tokens.extend(_latin_words(text[position : match.start()]))
        tokens.extend(w for w in jieba.lcut(match.group(), HMM=False) if w.strip())  # type: ignore[attr-defined]
        position = match.end()
    tokens.extend(_latin_words(text[position:]))
    return tokens
