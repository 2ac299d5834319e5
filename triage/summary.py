"""Extractive summaries and one-line headlines for Chinese and English tickets.

Nothing is generated: the summary is a few original sentences of the cleaned ticket text in their
original order, and the headline is one of them (or the title), trimmed of greetings, filler and
politeness and cut at a clause boundary. Two baselines for the headline benchmark live here too.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from triage import safe_regex
from triage.textclean import collapse_logs, split_sentences, thread_messages
from triage.types import Summary

__all__ = [
    "Summarizer",
    "first_sentence_headline",
    "prepare_text",
    "textrank_headline",
]

logger = logging.getLogger(__name__)

_HEADLINE_CHARS_ZH = 30
_HEADLINE_WORDS_EN = 14
_HEADLINE_CHARS_EN = 200
_SUMMARY_SENTENCE_CHARS = 300
# Work limits that keep one ticket in the low milliseconds whatever is pasted into it: the newest
# message opens the body, and the summary never needs sentences past the first hundred.
_MAX_BODY_CHARS = 20_000
_MAX_SENTENCES = 100
# A "sentence" with no break in it (a pasted blob, 20,000 x "Caused by: ") is scored and trimmed on
# its head only: the summary shows 300 characters of it and the headline 30 (or 14 words).
_MAX_SENTENCE_CHARS = 1_000

# --- tokens -----------------------------------------------------------------------------------

_HAN = safe_regex.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_RUN = safe_regex.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_EN_TOKEN = safe_regex.compile(r"[a-z0-9]+(?:['._-][a-z0-9]+)*")
# ``_en_tokens``: every byte but those of ``[a-z0-9'._-]`` becomes a space (a multi-byte UTF-8
# character's bytes are all >= 0x80, so none of them is kept).
_TOKEN_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789'._-")
_TOKEN_TABLE = bytes(byte if byte in _TOKEN_BYTES else 0x20 for byte in range(256))
_TOKEN_SEPARATORS = "'._-"
_LOG_MARKER = safe_regex.compile(r"^\[log: \d+ lines\]\s*")
_STOPWORDS = frozenset(
    [
        "a", "an", "the", "and", "or", "but", "to", "of", "in", "on", "at", "for", "with", "from",
        "by", "is", "are", "was", "were", "be", "been", "am", "it", "its", "this", "that", "these",
        "those", "i", "me", "my", "we", "our", "you", "your", "he", "she", "they", "them", "his",
        "her", "as", "so", "if", "do", "does", "did", "have", "has", "had", "will", "would", "can",
        "could", "should", "there", "here", "what", "which", "who", "when", "also", "just", "any",
        "some", "all", "not", "no", "please", "pls", "hi", "hello", "dear", "thanks", "thank",
    ]
)  # fmt: skip

_jieba_lock = threading.Lock()
_jieba_ready = False


def _jieba_cut(text: str) -> list[str]:
    """Segment Chinese text with jieba, loading its bundled dictionary once on first use."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return [token for token in jieba.lcut(text, HMM=False) if token.strip()]


def _is_chinese(language: str) -> bool:
    return language in ("zh", "mixed")


def _en_tokens(text: str) -> list[str]:
    """``_EN_TOKEN.findall(text)`` without a regex call per token (the summary's most frequent call).

    Runs of ``[a-z0-9'._-]`` are cut out by bytes.translate and split; a run without a separator is
    one token, and in the others a separator joins two tokens only between two letters or digits,
    as the pattern's ``(?:['._-][a-z0-9]+)*`` does. A test compares the two on random mixes.
    """
    tokens: list[str] = []
    for run in text.encode("utf-8").translate(_TOKEN_TABLE).split():
        if run.isalnum():
            tokens.append(run.decode("ascii"))
        else:
            tokens += _joined_tokens(run.decode("ascii"))
    return tokens


def _joined_tokens(run: str) -> list[str]:
    """The tokens of one run of ``[a-z0-9'._-]`` that holds a separator."""
    tokens: list[str] = []
    i, n = 0, len(run)
    while i < n:
        if run[i] in _TOKEN_SEPARATORS:
            i += 1
            continue
        j = i + 1
        while j < n:
            if run[j] not in _TOKEN_SEPARATORS:
                j += 1
            elif j + 1 < n and run[j + 1] not in _TOKEN_SEPARATORS:
                j += 2
            else:
                break
        tokens.append(run[i:j])
        i = j
    return tokens


def _content_tokens(text: str, language: str) -> list[str]:
    """Cheap tokens for overlap scores: English words, plus Han character bigrams for Chinese."""
    lowered = text.lower()
    tokens = [t for t in _en_tokens(lowered) if t not in _STOPWORDS]
    if _is_chinese(language) or _HAN.search(text):
        for run in _HAN_RUN.findall(text):
            if len(run) == 1:
                tokens.append(run)
            else:
                tokens.extend(run[k : k + 2] for k in range(len(run) - 1))
    return tokens


def _han_count(text: str, at_most: int | None = None) -> int:
    """How many Chinese characters ``text`` holds (counted by runs: one RE2 match a run, not a character)."""
    count = 0
    for run in _HAN_RUN.finditer(text):
        count += run.end() - run.start()
        if at_most is not None and count >= at_most:
            return at_most
    return count


def _is_short(text: str) -> bool:
    """Too little text to stand as a message on its own ("FYI", "see below")."""
    # Counting stops at 4: a long message is not short.
    han = _han_count(text, at_most=4)
    words = sum(1 for _ in itertools.islice(_EN_TOKEN.finditer(text.lower()), 4))
    return han + words < (4 if han else 3)


# --- cues -------------------------------------------------------------------------------------

_PROBLEM_EN = safe_regex.compile(
    r"\b(?:cannot|can ?not|can't|cant|couldn't|unable|not\s+(?:able|work|\w+ing|reachable|accessible|"
    r"available|visible|recogni[sz]ed|allowed|found|possible|updated|installed|connected)|"
    r"no\s+(?:\w+\s+)?(?:display|power|sound|signal|network|internet|connection|connectivity|access|audio|"
    r"video|response|dial tone|data)|doesn't|does not|won't|"
    r"isn't|error|errors|fail|fails|failed|failing|failure|issue|issues|problem|problems|broken|"
    r"down|crash|crashes|crashed|locked|lock(?:ed)? out|expired|denied|timeout|timed out|slow|"
    r"missing|wrong|incorrect|outage|stuck|hang|hangs|freez\w*|exception|bug|disconnect\w*|"
    r"unreachable|blocked|lost)\b",
    ignore_case=True,
)
_REQUEST_EN = safe_regex.compile(
    r"\b(?:request|requesting|please|pls|plz|need|needs|require|required|kindly|want|access|"
    r"install|reset|unlock|create|add|remove|change|update|setup|set up|enable|disable|grant|"
    r"provide|configure|activate|extend|restore|replace|order|approve)\b",
    ignore_case=True,
)
_PROBLEM_ZH = safe_regex.compile(
    r"无法|不能|不了|失败|报错|错误|异常|故障|中断|超时|宕机|不可用|告警|打不开|无响应|卡顿|卡死|"
    r"很慢|变慢|缓慢|丢失|缺失|不正常|不一致|不显示|未收到|收不到|登不上|进不去|连不上|闪退|崩溃|"
    r"过期|锁定|被锁|拒绝|乱码|黑屏|蓝屏|死机|掉线|不通|问题"
)
_REQUEST_ZH = safe_regex.compile(
    r"申请|请|需要|需求|开通|安装|重置|解锁|创建|新增|添加|删除|修改|变更|配置|权限|恢复|更换"
)
_KEY_TOKEN = safe_regex.compile(
    r"\b(?:[A-Z]{2,}[-_]?\d{2,}|0x[0-9a-fA-F]{3,}|[A-Za-z]+\d+[A-Za-z\d]*|\d{3,}|"
    r"\d{1,3}(?:\.\d{1,3}){3}|v?\d+\.\d+(?:\.\d+)*)\b|\b\w*(?:Exception|Error)\b"
)
_NOISE = safe_regex.compile(
    r"^(?:thanks?|thank you|many thanks|regards|best|cheers|fyi|see (?:below|attached)|"
    r"please (?:see|find) (?:below|attached)|attached|screenshot|hope you|let me know|"
    r"have a (?:nice|good|great)|looking forward|appreciate)|"
    r"\b(?:thank you|thanks in advance|kind regards|best regards|let me know|see (?:the )?(?:below|attached)|"
    r"(?:screen ?shot|snapshot|screenshot)s?\b.{0,20}\battached|find (?:the )?attached|hope (?:you|this))\b|"
    r"谢谢|感谢|辛苦|见附件|如下图|详见附件|截图如下|请查收",
    ignore_case=True,
)
# Which of the cue patterns occur in a text, in one RE2 pass (a sentence is scored on all six).
_CUES = safe_regex.PatternSet.of(
    (_PROBLEM_EN, _PROBLEM_ZH, _REQUEST_EN, _REQUEST_ZH, _KEY_TOKEN, _NOISE), name="summary cues"
)
_CUE_PROBLEM_EN, _CUE_PROBLEM_ZH, _CUE_REQUEST_EN, _CUE_REQUEST_ZH, _CUE_KEY, _CUE_NOISE = range(6)

# --- headline trimming ------------------------------------------------------------------------

_LEAD_FILLER_EN = safe_regex.compile(
    r"^(?:(?:hi|hello|hey|dear)(?:\s+[\w'-]+){0,2}\s*[,!:]+\s*|good (?:morning|afternoon|evening)\s*[,!]*\s*|"
    r"(?:(?:i|we) (?:would|'d) like to (?:ask|know|inform you|report|raise|request)(?: (?:you|that|if|whether|about|for))?|"
    r"i am writing (?:to|in order to) (?:ask|inform you|report|request|let you know)(?: (?:about|that|if|for))?|"
    r"i (?:just )?wanted to (?:ask|let you know|report|check)(?: (?:about|that|if|whether))?|"
    r"(?:this is|just) to (?:inform|let) you (?:know )?(?:that )?|"
    r"(?:could|can|would|will) you (?:please |kindly |pls )?(?:help (?:me |us )?(?:to |with )?)?|"
    r"(?:please|pls|plz|kindly)(?: kindly| help(?: me| us)?(?: to| with)?| could you| can you| assist(?: with)?)*|"
    r"(?:(?:i|we) (?:need|require|request) (?:your |some )?help (?:to |with |on |regarding )?)|"
    r"(?:request(?:ing)? (?:you )?to)|(?:i|we) (?:am|are) (?:having|facing|experiencing)(?: an| some)?|"
    r"(?:i|we) (?:request|ask|kindly request) you to(?: kindly| please)?(?: (?:look into|check|help with))?|"
    r"(?:as discussed|as per (?:our )?(?:call|conversation|discussion)|fyi|hello again|urgent|important)"
    r")(?:(?<=\s)|(?![\w']))\s*[,:!-]*\s*)",
    ignore_case=True,
)
_TRAIL_FILLER_EN = safe_regex.compile(
    r"(?:[\s,;:.!-]+(?:(?:please|pls|plz|kindly)(?: (?:help|advise|assist|check|support|look into (?:it|this)))?"
    r"(?: (?:me|us))?(?: (?:asap|urgently|as soon as possible))?|asap|thanks?(?: (?:you|in advance|a lot))?|"
    r"thx|urgent(?:ly)?|as soon as possible|(?:can|could|would) (?:you|someone) (?:please |kindly |pls )?(?:help|assist|check|advise)"
    r"(?: (?:me|us|with this))?|any help (?:is|would be) appreciated))+[\s?!.]*$",
    ignore_case=True,
)
_LEAD_FILLER_ZH = safe_regex.compile(
    r"^(?:[^\s，,。！!]{0,8}?(?:您好|你好|大家好|各位好)[，,！!。~～\s]*|"
    r"(?:请问一下|请问|想请问一下|想请问|我想问一下|想问一下|问一下|想咨询一下|咨询一下|我想咨询|"
    r"麻烦(?:帮忙|您|你)?(?:看|查|处理)(?:一)?下|麻烦(?:帮忙|您|你)?|帮忙(?:看|查|处理)(?:一)?下|"
    r"请(?:帮忙|协助|帮我)|烦请|劳驾|急[！!]*|紧急[！!：:]*|"
    r"我这边|我们这边|这边|关于)[，,：:\s]*)+"
)
_TRAIL_FILLER_ZH = safe_regex.compile(
    r"(?:[，,。！!；;\s]*(?:麻烦(?:帮忙|您|你)?(?:看|查|处理)(?:一)?下|请(?:帮忙|协助)?(?:尽快)?(?:处理|解决|查看|看下|看一下)|"
    r"(?:帮忙)?(?:看|查)(?:一)?下|谢谢(?:您|你)?|多谢|感谢|辛苦(?:了)?|麻烦(?:了|您了|你了)|请尽快|尽快处理|急|万分感谢))+"
    r"[，,。！!？?~～\s]*$"
)
_TRAILING_PUNCT = safe_regex.compile(r"[\s,，.。;；:：!！?？、~～\-–—…(（\[【]+$")
_LEADING_PUNCT = safe_regex.compile(r"^[\s,，.。;；:：!！?？、~～\-–—…)）\]】]+")
_CLAUSE_EN = safe_regex.compile(r"[,;]\s|\s[-–—]+\s")
_CLAUSE_WORDS_EN = safe_regex.compile(r"\s(?:because|but|so|which|since|although|though|however)\s")
_CLAUSE_ZH = safe_regex.compile(r"[，,；;：:（(]")

_GENERIC_TITLES = frozenset(
    [
        "help", "help needed", "need help", "please help", "pls help", "issue", "issues", "problem",
        "problems", "question", "request", "urgent", "urgent request", "important", "fyi", "test",
        "hi", "hello", "support", "ticket", "new ticket", "no subject", "none", "n/a", "error",
        "问题", "求助", "紧急", "急", "帮忙", "故障", "咨询", "请求", "申请", "报修", "你好", "您好",
        "无主题", "测试",
    ]
)  # fmt: skip
_TITLE_PREFIX = safe_regex.compile(
    r"^(?:\s*(?:(?:re|fw|fwd|aw|wg|回复|答复|转发)\s*[:：]|"
    r"[\[【(（]\s*(?:urgent|external|important|紧急|急|重要|外部邮件|外部)\s*[\]】)）])\s*)+",
    ignore_case=True,
)


def prepare_text(body: str) -> str:
    """Clean a ticket body for extraction: newest useful message of the thread, logs collapsed.

    When the newest message is only a note such as "FYI" or "see below", the next message in the
    thread is used instead.
    """
    messages = thread_messages(body)
    if not messages:
        return collapse_logs(body.strip()) if body and body.strip() else ""
    chosen = next((message for message in messages if not _is_short(message)), messages[0])
    return collapse_logs(chosen)


def _strip_marker(sentence: str) -> str:
    return _LOG_MARKER.sub("", sentence)


def _one_line(text: str) -> str:
    # ``safe_regex.compile(r"\s+").sub(" ", text).strip()`` without a regex: safe_regex's \s and
    # str.isspace take the same characters (a test checks every code point).
    return " ".join(text.split())


# --- headline shaping ------------------------------------------------------------------------

_URL = safe_regex.compile(r"\s*[(<\[]?(?:https?://|file:///|www\.)[^\s)>\]]*[)>\]]?")
_MARKUP = safe_regex.compile(
    r"\{\{|\}\}|\{(?:code|noformat|quote)(?::[^}]*)?\}|\[~[^\]]*\]|\*(?=\w)|(?<=\w)\*"
)


def _trim_filler(text: str, chinese: bool) -> str:
    """Drop greetings and filler in front and politeness at the end of a headline candidate."""
    text = _one_line(_MARKUP.sub("", _URL.sub("", text)))
    for _ in range(3):
        before = text
        if chinese or _HAN.search(text[:4]):
            text = _LEAD_FILLER_ZH.sub("", text, count=1)
            text = _TRAIL_FILLER_ZH.sub("", text, count=1)
        text = _LEAD_FILLER_EN.sub("", text, count=1)
        text = _TRAIL_FILLER_EN.sub("", text, count=1)
        text = _LEADING_PUNCT.sub("", _TRAILING_PUNCT.sub("", text))
        if text == before:
            break
    return text


_OPENER_EN = safe_regex.compile(
    r"^(?:(?:i|we)(?: have)? (?:noticed|found|observed|see|saw|realized) that|it (?:seems|looks|appears)(?: like| that)?|"
    r"(?:it )?looks like|there (?:is|are|was|were|seems to be|appears to be)|i think|we think|apparently|"
    r"currently|recently|today|now|at the moment|since (?:this|yesterday|today|last)\b[^,]{0,30},)\s+",
    ignore_case=True,
)
_LEAD_CLAUSE_EN = safe_regex.compile(
    r"^(?:after|once|as part of|during|in order to|as of)\b[^,;:]{3,80}[,;:]\s+", ignore_case=True
)
_MIN_MAIN_CLAUSE_WORDS = 4


_LEAD_TIME_ZH = safe_regex.compile(
    r"^从?(?:(?:\d{4}\s*年\s*)?\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|"
    r"今天|昨天|前天|今日|昨日|本周|上周|刚才|今早|早上|上午|下午|晚上|凌晨|中午)"
    r"(?:\s*(?:上午|下午|晚上|凌晨|中午|早上))?[\d:：\-—~～至到点分时\s]*(?:开始|起|左右|期间)?[，,\s]*"
)
_REPORTER_ZH = safe_regex.compile(
    r"^[^，,。：:]{0,12}?(?:监控发现|巡检发现|检查发现|发现|反映|反馈|报告|来电称|来电反映|表示)[：:，,\s]*"
)
_MIN_MAIN_CLAUSE_CHARS = 6


def _compress_zh(text: str) -> str:
    """Drop a leading date/time and a "监控发现/用户反映" reporter phrase from a Chinese clause."""
    for pattern in (_LEAD_TIME_ZH, _REPORTER_ZH):
        match = pattern.match(text)
        if match and len(text) - match.end() >= _MIN_MAIN_CLAUSE_CHARS:
            text = text[match.end() :]
    return text


def _compress(text: str, chinese: bool) -> str:
    """Drop openers ("it seems that", "there is", "监控发现") and a leading time/condition clause."""
    if chinese:
        return _compress_zh(text)
    text = _OPENER_EN.sub("", text, count=1)
    match = _LEAD_CLAUSE_EN.match(text)
    if match and len(text[match.end() :].split()) >= _MIN_MAIN_CLAUSE_WORDS:
        text = text[match.end() :]
    return text


def _cut_en(text: str, max_words: int) -> str:
    """Cut English text to at most ``max_words`` words, at a clause boundary when one is near."""
    words = text.split()
    if len(text) > _HEADLINE_CHARS_EN:
        # One long token (a path, a log line) is one "word": keep the line short anyway.
        fitting, used = 0, -1
        for word in words:
            used += len(word) + 1
            if used > _HEADLINE_CHARS_EN:
                break
            fitting += 1
        if fitting <= 1:
            return words[0][:_HEADLINE_CHARS_EN] if words else ""
        max_words = min(max_words, fitting)
    if len(words) <= max_words and len(text) <= _HEADLINE_CHARS_EN:
        return text
    limit = len(" ".join(words[:max_words]))
    window = text[: limit + 1]
    min_chars = len(" ".join(words[: max(3, max_words // 2)]))
    cuts = [m.start() for m in _CLAUSE_EN.finditer(window) if min_chars <= m.start() <= limit]
    if not cuts:
        cuts = [m.start() for m in _CLAUSE_WORDS_EN.finditer(window) if min_chars <= m.start() <= limit]
    if cuts:
        return text[: cuts[-1]]
    return " ".join(words[:max_words])


_CLAUSE_SPLIT_ZH = safe_regex.compile(r"(?<=[，,；;])")


def _drop_clauses_zh(text: str, max_chars: int) -> str:
    """Keep the first clause and the later clauses that state a problem or request, if they fit."""
    clauses = [c for c in _CLAUSE_SPLIT_ZH.split(text) if c.strip()]
    if len(clauses) < 3:
        return text
    kept = clauses[0]
    rest = clauses[1:]
    while len(kept) < _MIN_MAIN_CLAUSE_CHARS and rest:
        kept += rest.pop(0)
    for clause in rest:
        if (_PROBLEM_ZH.search(clause) or _REQUEST_ZH.search(clause)) and len(kept) + len(
            clause
        ) <= max_chars:
            kept += clause
    return kept


def _cut_zh(text: str, max_chars: int) -> str:
    """Cut Chinese text to at most ``max_chars`` characters, at a clause or word boundary."""
    if len(text) <= max_chars:
        return text
    dropped = _drop_clauses_zh(text, max_chars)
    if dropped != text and len(_TRAILING_PUNCT.sub("", dropped)) <= max_chars:
        return dropped
    min_chars = max(6, max_chars // 3)
    cuts = [
        m.start() for m in _CLAUSE_ZH.finditer(text[: max_chars + 1]) if min_chars <= m.start() <= max_chars
    ]
    if cuts:
        return text[: cuts[-1]]
    end = 0
    for token in _jieba_cut(text[: max_chars + 8]):
        if end + len(token) > max_chars:
            break
        end += len(token)
    return text[: end or max_chars]


def _fit(text: str, language: str, max_chars_zh: int, max_words_en: int, clause_aware: bool = True) -> str:
    """One line within the headline limit, without trailing punctuation."""
    text = _one_line(text)
    if _is_chinese(language) and not clause_aware:
        text = text[:max_chars_zh]
    elif _is_chinese(language):
        # Chinese tickets quote long English names; the word limit is a second guard.
        text = _cut_en(_cut_zh(text, max_chars_zh), max_words_en * 2)
    else:
        text = _cut_en(text, max_words_en) if clause_aware else " ".join(text.split()[:max_words_en])
    return _TRAILING_PUNCT.sub("", text).strip()


# --- sentence scores ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    index: int  # position among the ticket's sentences
    text: str  # the sentence, a substring of the prepared text
    tokens: frozenset[str]
    cues: frozenset[int]  # the cue patterns (_CUE_*) found in the text without its log marker


# Headline weights: position dominates (the first sentence is the best headline in about three
# quarters of real tickets); cues move the choice off greetings, notes, form fields and code.
_HEADLINE_CANDIDATES = 8
_W_POSITION = 3.0
_W_DECAY = 0.9
_W_PROBLEM = 1.0
_W_REQUEST = 0.3
_W_KEY = 0.4
_W_CENTRAL = 1.0
_W_FORM = 1.5
_W_TITLE = 1.5
_GENERIC_REQUEST = safe_regex.compile(
    r"^(?:(?:help|assist|support|solve|fix|resolve|check|look|see|into|advise|it|this|that|the|issue|"
    r"problem|me|us|with|on|at|asap|urgently|urgent|as|soon|possible|to|do|needful|same|attached|below|"
    r"screenshot|snapshot|find|file|details|error|message|for|your|reference|info|information|fyi)\b[\s,.!?:]*)+$",
    ignore_case=True,
)
_GENERIC_REQUEST_ZH = safe_regex.compile(
    r"^(?:请|帮忙|麻烦|协助|处理|解决|查看|看|下|一下|尽快|谢谢|问题|如下|见附件|截图|附件|详见)+$"
)
# "name: xyz", "user id: abc123", "电话：123": a form field, not a statement.
_FORM_FIELD = safe_regex.compile(
    r"^\s*(?:(?:full |user |first |last |display )?name|user ?(?:name|id)|login(?: id)?|emp(?:loyee)?(?: no| id| number|#)?|"
    r"phone|tel|mobile|e-?mail|contact(?: no| number)?|location|manager|dept|department|address|"
    r"姓名|电话|手机|工号|联系方式|联系人|邮箱|地址|部门|账号)\s*[:：=]?\s*\S+(?:\s+\S+){0,2}\s*$",
    ignore_case=True,
)
_CODE_LIKE = safe_regex.compile(r"[{}<>=\[\]|#*\\/]|->|::|\(\)")


def _centrality(candidate: _Candidate, candidates: Sequence[_Candidate]) -> float:
    """Share of the other sentences that have a content token in common with this one."""
    if len(candidates) < 2 or not candidate.tokens:
        return 0.0
    shared = sum(1 for other in candidates if other is not candidate and other.tokens & candidate.tokens)
    return shared / (len(candidates) - 1)


def _too_short_for_headline(headline: str) -> bool:
    han = _han_count(headline)
    if han:
        return han + len(_en_tokens(headline.lower())) < 4
    return len(_en_tokens(headline.lower())) < 2


def _headline_score(
    candidate: _Candidate, headline: str, title_tokens: frozenset[str], centrality: float
) -> float:
    """How good a sentence is as the headline: early, states the problem, not noise or code."""
    text = _strip_marker(candidate.text)
    score = _W_POSITION / (1.0 + _W_DECAY * candidate.index) + _W_CENTRAL * centrality
    cues = _CUES.matching(headline)
    if _CUE_KEY in cues:
        score += _W_KEY
    if _CUE_PROBLEM_EN in cues or _CUE_PROBLEM_ZH in cues:
        score += _W_PROBLEM
    elif _CUE_REQUEST_EN in cues or _CUE_REQUEST_ZH in cues:
        score += _W_REQUEST
    score += _W_TITLE * _overlap(candidate.tokens, title_tokens)
    if (
        _CUE_NOISE in candidate.cues
        or _GENERIC_REQUEST.match(headline)
        or _GENERIC_REQUEST_ZH.match(headline)
    ):
        score -= 2.5
    if _too_short_for_headline(headline):
        score -= 1.5
    if _FORM_FIELD.match(text):
        score -= _W_FORM
    if candidate.text.startswith("[log:"):
        score -= 1.0
    words = headline.split()
    if words and sum(1 for w in words if _CODE_LIKE.search(w) or len(w) > 30) / len(words) > 0.3:
        score -= 1.5
    return score


def _summary_score(candidate: _Candidate, title_tokens: frozenset[str], centrality: float) -> float:
    """How informative a sentence is: early, states a problem or request, names codes, on topic."""
    text = _strip_marker(candidate.text)
    score = 1.5 / (1.0 + 0.6 * candidate.index) + 0.4 * centrality
    cues = candidate.cues
    if _CUE_PROBLEM_EN in cues or _CUE_PROBLEM_ZH in cues:
        score += 1.2
    if _CUE_REQUEST_EN in cues or _CUE_REQUEST_ZH in cues:
        score += 0.6
    if _CUE_KEY in cues:
        score += 0.4
    score += 2.0 * _overlap(candidate.tokens, title_tokens)
    if _CUE_NOISE in cues:
        score -= 1.5
    if len(candidate.tokens) < 2:
        score -= 1.0
    if not candidate.tokens or not any(ch.isalpha() for ch in text):
        score -= 2.0
    return score


def _overlap(tokens: frozenset[str], title_tokens: frozenset[str]) -> float:
    """Cosine overlap of two token sets (0 when either is empty)."""
    if not tokens or not title_tokens:
        return 0.0
    return len(tokens & title_tokens) / math.sqrt(len(tokens) * len(title_tokens))


def _title_is_informative(title: str) -> bool:
    cleaned = _TITLE_PREFIX.sub("", _one_line(title)).strip(" !！?？.。-_*#")
    if cleaned.lower() in _GENERIC_TITLES:
        return False
    han = _han_count(cleaned)
    words = [w for w in _en_tokens(cleaned.lower()) if w not in _STOPWORDS]
    return han >= 4 or len(words) >= 2 or (han >= 2 and len(words) >= 1)


class Summarizer:
    """Extractive summary and one-line headline for a ticket; no model beyond jieba's dictionary."""

    def __init__(
        self, max_sentences: int = 2, headline_chars_zh: int = 30, headline_words_en: int = 14
    ) -> None:
        if not 1 <= max_sentences <= 3:
            raise ValueError(f"max_sentences must be 1, 2 or 3, got {max_sentences}")
        if headline_chars_zh < 8 or headline_words_en < 3:
            raise ValueError(
                f"headline limits too small ({headline_chars_zh} chars, {headline_words_en} words): "
                "use headline_chars_zh >= 8 and headline_words_en >= 3"
            )
        self.max_sentences = max_sentences
        self.headline_chars_zh = headline_chars_zh
        self.headline_words_en = headline_words_en

    def summarize(self, title: str, body: str, language: str) -> Summary:
        """Headline and extractive summary of a ticket; empty strings for an empty ticket."""
        candidates, scores = self._analyse(title, body, language)
        sentences = self._select(candidates, scores)
        headline = self._headline(title or "", candidates, language)
        logger.debug(
            "summary: %d of %d sentences, body %d chars", len(sentences), len(candidates), len(body or "")
        )
        return Summary(headline=headline, summary=_join(sentences, language))

    def summary_sentences(self, title: str, body: str, language: str) -> list[str]:
        """The original sentences the summary is made of, in their original order."""
        return self._select(*self._analyse(title, body, language))

    def _analyse(self, title: str, body: str, language: str) -> tuple[list[_Candidate], list[float]]:
        text = prepare_text((body or "")[:_MAX_BODY_CHARS])
        candidates = [
            _Candidate(
                index,
                head,
                frozenset(_content_tokens(head, language)),
                frozenset(_CUES.matching(_strip_marker(head))),
            )
            for index, sentence in enumerate(split_sentences(text, language)[:_MAX_SENTENCES])
            for head in (sentence[:_MAX_SENTENCE_CHARS],)
        ]
        title_tokens = frozenset(_content_tokens(title or "", language))
        scores = [_summary_score(c, title_tokens, _centrality(c, candidates)) for c in candidates]
        return candidates, scores

    def _select(self, candidates: Sequence[_Candidate], scores: Sequence[float]) -> list[str]:
        """The best sentence, plus runners-up that score close to it, in original order."""
        if not candidates:
            return []
        ranked = sorted(range(len(candidates)), key=lambda k: (-scores[k], k))
        best = scores[ranked[0]]
        chosen = [ranked[0]]
        chosen += [k for k in ranked[1 : self.max_sentences] if scores[k] >= max(0.5, best - 2.0)]
        return [_cap(candidates[k].text) for k in sorted(chosen)]

    def _headline(self, title: str, candidates: Sequence[_Candidate], language: str) -> str:
        chinese = _is_chinese(language) or (language == "other" and bool(_HAN.search(title)))
        if title.strip() and _title_is_informative(title):
            cleaned = _trim_filler(_TITLE_PREFIX.sub("", _one_line(title)), chinese)
            headline = self._fit(cleaned, language)
            if headline and not _too_short_for_headline(headline):
                return headline
        if not candidates:
            return ""
        title_tokens = frozenset(_content_tokens(title, language))
        options: list[tuple[float, int, str]] = []
        for candidate in candidates[:_HEADLINE_CANDIDATES]:
            trimmed = _compress(_trim_filler(_strip_marker(candidate.text), chinese), chinese)
            # Politeness can end the clause the cut kept ("..., 请帮忙解决，即...").
            headline = _trim_filler(self._fit(trimmed, language), chinese)
            score = _headline_score(candidate, headline, title_tokens, _centrality(candidate, candidates))
            options.append((score, candidate.index, headline))
        best = min((o for o in options if o[2]), key=lambda o: (-o[0], o[1]), default=None)
        return best[2] if best else self._fit(_strip_marker(candidates[0].text), language)

    def _fit(self, text: str, language: str) -> str:
        return _fit(text, language, self.headline_chars_zh, self.headline_words_en)


def _cap(sentence: str) -> str:
    """A prefix of an overlong sentence, ending at a space when there is one."""
    if len(sentence) <= _SUMMARY_SENTENCE_CHARS:
        return sentence
    cut = sentence.rfind(" ", _SUMMARY_SENTENCE_CHARS // 2, _SUMMARY_SENTENCE_CHARS)
    return sentence[: cut if cut > 0 else _SUMMARY_SENTENCE_CHARS].rstrip()


def _join(sentences: Sequence[str], language: str) -> str:
    if not _is_chinese(language):
        return " ".join(sentences)
    out = ""
    for sentence in sentences:
        if out and out[-1] not in "。！？；!?;":
            out += " "
        out += sentence
    return out


# --- baselines --------------------------------------------------------------------------------


def _baseline_sentences(body: str, language: str, clean: bool) -> list[str]:
    body = (body or "")[:_MAX_BODY_CHARS]
    text = prepare_text(body) if clean else body.strip()
    return [_strip_marker(s) for s in split_sentences(text, language)[:_MAX_SENTENCES]]


def first_sentence_headline(body: str, language: str, *, clean: bool = True) -> str:
    """Baseline: the first sentence, cut hard at the headline length limit."""
    sentences = _baseline_sentences(body, language, clean)
    if not sentences:
        return ""
    return _fit(sentences[0], language, _HEADLINE_CHARS_ZH, _HEADLINE_WORDS_EN, clause_aware=False)


def _textrank_tokens(sentence: str, language: str) -> set[str]:
    if _is_chinese(language):
        return {t.lower() for t in _jieba_cut(sentence) if any(ch.isalnum() for ch in t)} - _STOPWORDS
    return set(_en_tokens(sentence.lower())) - _STOPWORDS


def textrank_scores(sentences: Sequence[str], language: str, damping: float = 0.85) -> np.ndarray:
    """TextRank sentence centrality (Mihalcea & Tarau 2004) over a word-overlap similarity graph."""
    n = len(sentences)
    if n == 0:
        return np.zeros(0)
    tokens = [_textrank_tokens(s, language) for s in sentences]
    weights = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            if len(tokens[i]) < 1 or len(tokens[j]) < 1:
                continue
            overlap = len(tokens[i] & tokens[j])
            if overlap:
                norm = math.log(len(tokens[i]) + 1) + math.log(len(tokens[j]) + 1)
                weights[i, j] = weights[j, i] = overlap / norm
    out_sum = weights.sum(axis=1)
    out_sum[out_sum == 0] = 1.0
    transition = weights / out_sum[:, None]
    scores = np.full(n, 1.0 / n)
    for _ in range(50):
        updated = (1 - damping) / n + damping * transition.T @ scores
        if np.abs(updated - scores).sum() < 1e-6:
            scores = updated
            break
        scores = updated
    return scores


def textrank_headline(body: str, language: str, *, clean: bool = True) -> str:
    """Baseline: the most central sentence by TextRank, cut hard at the headline length limit."""
    sentences = _baseline_sentences(body, language, clean)
    if not sentences:
        return ""
    scores = textrank_scores(sentences, language)
    best = int(np.argmax(scores))  # ties go to the earliest sentence
    return _fit(sentences[best], language, _HEADLINE_CHARS_ZH, _HEADLINE_WORDS_EN, clause_aware=False)
