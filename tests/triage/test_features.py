"""Word tokens: the str-method tokeniser gives exactly the words of the regular expression it replaced."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from triage import safe_regex
from triage.features import _jieba, words

# The tokeniser as it was written first: one match per word on RE2 (the definition of a word).
_REFERENCE = safe_regex.compile(
    r"(?P<han>[\u4e00-\u9fff]+)|(?P<latin>[A-Za-z][A-Za-z0-9_.\-]*[A-Za-z0-9]|[A-Za-z])"
)


def reference_words(text: str) -> list[str]:
    tokens: list[str] = []
    for match in _REFERENCE.finditer(text):
        if match.group("han"):
            tokens.extend(w for w in _jieba().lcut(match.group(), HMM=False) if w.strip())  # type: ignore[attr-defined]
        else:
            tokens.append(match.group().lower())
    return tokens


EDGE_CASES = [
    "",
    " ",
    "a",
    "9",
    "_a_",
    "-a-",
    "a-",
    "a.b.",
    "..a..b..",
    "9abc9",
    "ORA-00600 on v2.3, error_code=0x1F; host srv-01.example.com.",
    "VPN连不上，报错809",
    "电脑蓝屏 无法开机，已经三次了！请尽快处理。",
    "Ünïcödé straße İstanbul café",
    "tabs\tand\nnew\x1clines\u00a0nbsp\u3000ideographic",
    "mixed中文English混合text_1测试-2",
    "中文" * 50 + " longer than the cached runs " + "中文" * 20,
    "㐀㐁 extension A is not Han here; 豈 compatibility neither",
]
# Characters the pattern treats differently: letters, digits, the three joiners, other ASCII,
# accented and other-script letters, Han (in and out of the range), and white space of several kinds.
ALPHABET = "aZk0_.-9 \t\n,;:/?@#é中文㐀豈\u3000\u00a0İя"


@pytest.mark.parametrize("text", EDGE_CASES)
def test_words_are_the_reference_tokens(text: str) -> None:
    assert words(text) == reference_words(text)


def test_a_remembered_run_gives_the_same_words() -> None:
    text = "服务器无法连接数据库，报错 ORA-12541 服务器无法连接数据库"
    assert words(text) == words(text) == reference_words(text)


def test_words_match_on_random_texts() -> None:
    rng = random.Random(0)
    for _ in range(3000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
        assert words(text) == reference_words(text), repr(text)


@pytest.mark.data
@pytest.mark.parametrize(
    "split",
    [
        "itsm-ticket-assignment/split/test.csv",
        "cn-ict-fault-tickets/split/test.csv",
        "endava-it-tickets-subset/split-category/test.csv",
    ],
)
def test_words_match_on_real_tickets(shared_datasets: Path, split: str) -> None:
    with (shared_datasets / split).open(newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    assert texts
    for text in texts:
        assert words(text) == reference_words(text)
