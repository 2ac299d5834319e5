"""Extractive summaries, headlines, the two baselines and the headline benchmark's ROUGE-L.

Ticket texts are written for these tests; no dataset rows.
"""

from __future__ import annotations

import csv
import re
import statistics
from pathlib import Path

import pytest

from eval.headline_bench import (
    char_tokens,
    lcs_length,
    main,
    repair_mojibake,
    rouge_l_f1,
    tokenize,
)
from triage.language import detect_language
from triage.summary import (
    Summarizer,
    first_sentence_headline,
    prepare_text,
    textrank_headline,
    textrank_scores,
)
from triage.types import Summary

EN_TICKET = """Hi team,

I would like to ask for help with the expense portal. Since the update on Monday the portal
shows error EXP-4031 when I submit a claim, and the claim is not saved. I tried Chrome and Edge
with the same result. The deadline for the quarter is Friday, so this blocks 12 people in my team.
Could you please look into it as soon as possible?

Thanks,
Jordan
"""

ZH_TICKET = """您好，

请问一下，财务报销系统从昨天下午开始无法提交单据，点击提交后提示“系统错误 E1023”，换了浏览器也一样。
我们部门有十几张单据本周五前必须提交，麻烦帮忙看下，谢谢！

此致
敬礼
"""

ZH_LONG = (
    "12月25日8:40至12:10期间，调度监控发现安徽、山西等16家单位的流程管理系统陆续出现监控状态异常和页面打开缓慢的情况，"
    "各单位异常时间约1-2小时。期间系统健康运行时长指标中断，URL探测异常，系统无法正常访问。"
)

EN_LONG = (
    "When users in the Berlin and Munich offices open the shared planning workbook from the "
    "team site the file opens read-only and every attempt to save it produces a sync conflict "
    "copy that nobody can merge back without losing the latest changes from colleagues."
)


@pytest.fixture(scope="module")
def summarizer() -> Summarizer:
    return Summarizer()


@pytest.mark.parametrize(
    ("body", "language"),
    [(EN_TICKET, "en"), (ZH_TICKET, "zh"), (ZH_LONG, "zh"), (EN_LONG, "en"), (ZH_TICKET, "mixed")],
)
def test_summary_sentences_are_substrings_of_input(summarizer: Summarizer, body: str, language: str) -> None:
    sentences = summarizer.summary_sentences("", body, language)
    assert 1 <= len(sentences) <= summarizer.max_sentences
    prepared = prepare_text(body)
    for sentence in sentences:
        assert sentence in prepared
        assert sentence in body
    summary = summarizer.summarize("", body, language).summary
    assert all(sentence in summary for sentence in sentences)


@pytest.mark.parametrize("max_sentences", [1, 2, 3])
def test_summarize_respects_max_sentences(max_sentences: int) -> None:
    sentences = Summarizer(max_sentences=max_sentences).summary_sentences("", EN_TICKET, "en")
    assert 1 <= len(sentences) <= max_sentences
    assert sentences == sorted(sentences, key=EN_TICKET.index)


def test_summary_prefers_problem_sentences_over_politeness(summarizer: Summarizer) -> None:
    summary = summarizer.summarize("", EN_TICKET, "en").summary
    assert "EXP-4031" in summary
    assert "Thanks" not in summary
    assert "Hi team" not in summary


@pytest.mark.parametrize(
    ("body", "language", "max_chars", "max_words"),
    [
        (ZH_TICKET, "zh", 30, None),
        (ZH_LONG, "zh", 30, None),
        (ZH_LONG, "mixed", 30, None),
        (EN_TICKET, "en", None, 14),
        (EN_LONG, "en", None, 14),
        (EN_LONG, "other", None, 14),
    ],
)
def test_headline_within_length_limit(
    summarizer: Summarizer, body: str, language: str, max_chars: int | None, max_words: int | None
) -> None:
    headline = summarizer.summarize("", body, language).headline
    assert headline
    assert "\n" not in headline
    assert not re.search(r"[\s,，.。;；:：!！?？、]$", headline)
    if max_chars is not None:
        assert len(headline) <= max_chars
    if max_words is not None:
        assert len(headline.split()) <= max_words


@pytest.mark.parametrize(("chars", "words"), [(12, 5), (20, 8)])
def test_headline_honours_configured_limits(chars: int, words: int) -> None:
    summarizer = Summarizer(headline_chars_zh=chars, headline_words_en=words)
    assert len(summarizer.summarize("", ZH_LONG, "zh").headline) <= chars
    assert len(summarizer.summarize("", EN_LONG, "en").headline.split()) <= words


@pytest.mark.parametrize(
    ("body", "language", "expected"),
    [
        ("您好，请问一下，OA系统无法登录，麻烦帮忙看下，谢谢！", "zh", "OA系统无法登录"),
        ("Hi team,\nCould you please reset my SAP password? Thanks!", "en", "reset my SAP password"),
        ("Dear IT,\nI would like to ask if the VPN token can be extended to March.", "en", None),
    ],
)
def test_headline_drops_greetings_and_filler(
    summarizer: Summarizer, body: str, language: str, expected: str | None
) -> None:
    headline = summarizer.summarize("", body, language).headline
    if expected is not None:
        assert headline == expected
    else:
        assert headline.startswith("the VPN token can be extended")


def test_headline_is_extractive(summarizer: Summarizer) -> None:
    headline = summarizer.summarize("", EN_TICKET, "en").headline
    body_words = set(re.findall(r"\w+", EN_TICKET.lower()))
    assert set(re.findall(r"\w+", headline.lower())) <= body_words
    assert "EXP-4031" in headline or "expense portal" in headline


@pytest.mark.parametrize("title", ["help", "问题", "urgent!!!", "Re: issue", "", "  "])
def test_uninformative_title_falls_back_to_body(summarizer: Summarizer, title: str) -> None:
    with_title = summarizer.summarize(title, ZH_TICKET, "zh").headline
    assert with_title == summarizer.summarize("", ZH_TICKET, "zh").headline


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("RE: Expense portal rejects claims with EXP-4031!!!", "Expense portal rejects claims with EXP-4031"),
        ("【紧急】报销系统无法提交单据", "报销系统无法提交单据"),
    ],
)
def test_informative_title_becomes_headline(summarizer: Summarizer, title: str, expected: str) -> None:
    language = detect_language(title)
    assert summarizer.summarize(title, EN_TICKET, language).headline == expected


@pytest.mark.parametrize("language", ["zh", "en", "mixed", "other"])
@pytest.mark.parametrize("body", ["", "   ", "\n\t \n"])
def test_summarize_empty_input_gives_empty_strings(summarizer: Summarizer, body: str, language: str) -> None:
    assert summarizer.summarize("", body, language) == Summary(headline="", summary="")
    assert first_sentence_headline(body, language) == ""
    assert textrank_headline(body, language) == ""


def test_summarize_skips_a_newest_message_that_only_forwards(summarizer: Summarizer) -> None:
    mail = (
        "FYI\n\n-----Original Message-----\nFrom: Facilities\nSent: Monday\nSubject: scanner\n\n"
        "The scanner on floor 3 cannot send scans to email since Monday."
    )
    assert summarizer.summarize("", mail, "en").headline.startswith("The scanner on floor 3 cannot send")


def test_summarize_collapses_pasted_logs(summarizer: Summarizer) -> None:
    body = (
        "The nightly export job fails.\n"
        "2024-03-04 01:00:01 INFO start\n2024-03-04 01:00:02 INFO load\n"
        "2024-03-04 01:00:03 ERROR java.io.IOException: disk full\n"
        "Please advise."
    )
    result = summarizer.summarize("", body, "en")
    assert "INFO start" not in result.summary
    assert result.headline == "The nightly export job fails"


@pytest.mark.parametrize(
    ("max_sentences", "chars", "words"), [(0, 30, 14), (4, 30, 14), (2, 5, 14), (2, 30, 2)]
)
def test_summarizer_rejects_bad_settings(max_sentences: int, chars: int, words: int) -> None:
    with pytest.raises(ValueError, match=r"max_sentences|headline limits"):
        Summarizer(max_sentences=max_sentences, headline_chars_zh=chars, headline_words_en=words)


# --- baselines ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "language", "expected"),
    [
        ("Hello,\n\nPrinter P-12 is jammed. It shows code 41.", "en", "Printer P-12 is jammed"),
        ("您好，\n打印机卡纸了。显示代码41。", "zh", "打印机卡纸了"),
    ],
)
def test_first_sentence_headline_takes_first_cleaned_sentence(
    body: str, language: str, expected: str
) -> None:
    assert first_sentence_headline(body, language) == expected


def test_first_sentence_headline_raw_keeps_greeting() -> None:
    assert first_sentence_headline("Hello,\n\nPrinter P-12 is jammed.", "en", clean=False) == "Hello"


def test_first_sentence_headline_cuts_hard_at_word_limit() -> None:
    assert len(first_sentence_headline(EN_LONG, "en").split()) == 14


def test_textrank_scores_rank_the_central_sentence_first() -> None:
    sentences = [
        "Good morning.",
        "The payroll export to the bank fails.",
        "The payroll export stopped after the bank changed its format.",
        "The bank says the payroll export file is rejected.",
        "I am in the office until five.",
    ]
    scores = textrank_scores(sentences, "en")
    assert scores.shape == (5,)
    assert int(scores.argmax()) in (1, 2, 3)
    assert scores[0] < scores[2] and scores[4] < scores[2]


def test_textrank_headline_picks_a_central_sentence() -> None:
    body = (
        "I am in the office until five. The payroll export to the bank fails. "
        "The payroll export stopped after the bank changed its format. "
        "The bank says the payroll export file is rejected."
    )
    headline = textrank_headline(body, "en")
    assert "payroll export" in headline


def test_textrank_headline_chinese_uses_jieba_tokens() -> None:
    body = "今天天气不错。工资导出到银行失败。银行更改格式后工资导出失败。银行说工资导出文件被拒绝。"
    assert "工资导出" in textrank_headline(body, "zh")


# --- headline benchmark metric -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "reference", "expected"),
    [
        ("the cat sat on the mat", "the cat sat on the mat", 1.0),
        ("the cat sat on the mat", "the cat on the mat", 10 / 11),
        ("police kill the gunman", "police killed the gunman", 0.75),
        ("dog", "the cat", 0.0),
        ("", "the cat", 0.0),
        ("the cat", "", 0.0),
    ],
)
def test_rouge_l_f1_known_values(candidate: str, reference: str, expected: float) -> None:
    assert rouge_l_f1(tokenize(candidate), tokenize(reference)) == pytest.approx(expected)


@pytest.mark.parametrize(("a", "b", "length"), [("abcbdab", "bdcaba", 4), ("abc", "abc", 3), ("abc", "", 0)])
def test_lcs_length_known_values(a: str, b: str, length: int) -> None:
    assert lcs_length(list(a), list(b)) == length


def test_tokenize_lowercases_and_splits_on_punctuation() -> None:
    assert tokenize("VPN-Client: error_809 (v2.3)!") == ["vpn", "client", "error", "809", "v2", "3"]


def test_char_tokens_splits_han_characters_and_keeps_words() -> None:
    assert char_tokens("OA系统无法登录 v2") == ["oa", "系", "统", "无", "法", "登", "录", "v2"]


@pytest.mark.parametrize("text", ["打印机无法打印", "Zugriff für Müller", "plain ascii"])
def test_repair_mojibake_undoes_cp1252_decoding(text: str) -> None:
    # How exports go wrong: each UTF-8 byte read as cp1252, undefined bytes passed through.
    broken = "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in text.encode("utf-8"))
    assert broken != text or text.isascii()
    assert repair_mojibake(broken) == text
    assert repair_mojibake(text) == text


def test_headline_bench_exits_2_without_datasets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--datasets", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.data
def test_headline_beats_first_sentence_on_itsm_sample(shared_datasets: Path) -> None:
    path = shared_datasets / "itsm-ticket-assignment" / "input_data.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        rows = [
            (r["Short description"].strip(), r["Description"].strip())
            for r in csv.DictReader(handle)
            if r["Short description"] and len(r["Description"].strip()) >= 30
        ][:800]
    summarizer = Summarizer()
    ours, first = [], []
    for reference, text in rows:
        language = detect_language(text)
        ours.append(
            rouge_l_f1(tokenize(summarizer.summarize("", text, language).headline), tokenize(reference))
        )
        first.append(rouge_l_f1(tokenize(first_sentence_headline(text, language)), tokenize(reference)))
    assert statistics.fmean(ours) > statistics.fmean(first)


def test_one_line_and_han_count_equal_their_regex_spelling() -> None:
    import random

    from triage import safe_regex
    from triage import summary as summary_module

    whitespace = safe_regex.compile(r"\s+")
    # _one_line splits on str.isspace: the same characters as safe_regex's \s, every code point.
    points = (chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert [ch for ch in points if (whitespace.fullmatch(ch) is not None) != ch.isspace()] == []
    rng = random.Random(3)
    pieces = [
        "a",
        "中文",
        "\u3000",
        " ",
        "\n\t",
        "\xa0",
        "\u2028",
        "\U0001f600",
        "é",
        "\uf900",
        "\u3400",
        "x y",
        "",
    ]
    for _ in range(500):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        assert summary_module._one_line(text) == whitespace.sub(" ", text).strip()
        han = len(summary_module._HAN.findall(text))
        assert summary_module._han_count(text) == han
        assert summary_module._han_count(text, at_most=4) == min(han, 4)


def test_english_tokens_are_the_token_patterns_findall() -> None:
    import random

    from triage import summary as summary_module

    rng = random.Random(5)
    pieces = ["a", "z", "0", "9", "ab", "12", "'", ".", "_", "-", "’", " ", "\n", "A", "Q", "é", "ß", "中"]
    pieces += ["\U0001f600", "..", "-a", "a-", "x.y", "İ", "\u0301", ",", "/", "@", ""]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 16))) for _ in range(3_000)]
    texts += ["", "a", "'", "a'b", "a''b", "'a'", "e-mail re-set v1.2.3 don't o'neil -x- ..a.. 中文abc"]
    for text in texts:
        assert summary_module._en_tokens(text) == summary_module._EN_TOKEN.findall(text), text


def test_cue_set_finds_exactly_what_each_cue_pattern_finds() -> None:
    import random

    from triage import summary as summary_module

    patterns = (
        summary_module._PROBLEM_EN,
        summary_module._PROBLEM_ZH,
        summary_module._REQUEST_EN,
        summary_module._REQUEST_ZH,
        summary_module._KEY_TOKEN,
        summary_module._NOISE,
    )
    rng = random.Random(11)
    pieces = ["cannot", "Can't", "ERROR", "please", "Kindly", "无法", "申请", "谢谢", "Thanks", "regards"]
    pieces += [
        "INC12345",
        "0x1f2e",
        "10.1.2.3",
        "v2.1",
        "NullPointerException",
        "vpn",
        "系统",
        " ",
        "\n",
        ",",
        "x",
    ]
    pieces += ["not working", "no signal", "see attached", "é", "\U0001f600", "FYI"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 10))) for _ in range(2_000)]
    found_any = set()
    for text in texts:
        expected = {i for i, pattern in enumerate(patterns) if pattern.search(text) is not None}
        assert summary_module._CUES.matching(text) == expected, text
        found_any |= expected
    assert found_any == set(range(len(patterns)))
