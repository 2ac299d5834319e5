"""Text preparation and tokenisation shared by training and prediction (so both see the same text)."""

from __future__ import annotations

import string
from functools import lru_cache

import numpy as np

from embeddings.text import MAX_TEXT_CHARS, ticket_text

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


# Han runs up to this length have their jieba words remembered (most runs are a short phrase
# between punctuation, 7.6 characters on average in cn-ict, and 80 % of the test split's runs
# occur in its training split): at most HAN_CACHE_SIZE of them, a few MiB at worst.
HAN_CACHE_MAX_CHARS = 64
HAN_CACHE_SIZE = 4096


def _segment(run: str) -> tuple[str, ...]:
    """jieba's words of a Han run (without its HMM for unknown words), blanks dropped."""
    return tuple(w for w in _jieba().lcut(run, HMM=False) if w.strip())  # type: ignore[attr-defined]


# jieba's dictionary is fixed once loaded (nothing in the service adds words to it), so a run's
# words never change.
_segment_cached = lru_cache(maxsize=HAN_CACHE_SIZE)(_segment)


def _han_runs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each maximal run of Han characters (U+4E00-U+9FFF), in order.

    Array operations over the code points: one RE2 match per run cost ~10 us in its Python binding,
    more than jieba's words for the run once those are remembered.
    """
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    han = ((codes >= 0x4E00) & (codes <= 0x9FFF)).astype(np.int8)
    edges = np.flatnonzero(np.diff(han, prepend=0, append=0))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def words(text: str) -> list[str]:
    """Word tokens: jieba words for Chinese runs, lower-cased Latin words (keeping 'ORA-00600', 'v2.3')."""
    if text.isascii():
        return _latin_words(text)
    tokens: list[str] = []
    position = 0
    for start, end in _han_runs(text):
        tokens.extend(_latin_words(text[position:start]))
        run = text[start:end]
        tokens.extend(_segment_cached(run) if len(run) <= HAN_CACHE_MAX_CHARS else _segment(run))
        position = end
    tokens.extend(_latin_words(text[position:]))
    return tokens
