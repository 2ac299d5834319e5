"""Ticket text cleaning: mail threads down to the newest message, pasted logs, sentence splitting.

Everything here is rule-based and deterministic; no models, no I/O. Functions only ever drop or
shorten text (the one exception is the ``[log: N lines]`` marker of :func:`collapse_logs`), so
downstream extractive steps can point back into the cleaned text.
"""

from __future__ import annotations

from triage import safe_regex

__all__ = ["clean_thread", "collapse_logs", "split_sentences", "thread_messages"]

# --- mail threads -----------------------------------------------------------------------------

_SEPARATOR = safe_regex.compile(
    r"^\s*[-_=*]{2,}\s*(?:original message|forwarded message|begin forwarded message|"
    r"原始邮件|转发的邮件|原邮件|邮件原件|ursprüngliche nachricht|weitergeleitete nachricht|"
    r"message d'origine)\s*[-_=*]{2,}\s*$",
    ignore_case=True,
)
_BEGIN_FORWARDED = safe_regex.compile(
    r"^\s*(?:begin forwarded message|forwarded message)\s*:?\s*$", ignore_case=True
)
_RULE_LINE = safe_regex.compile(r"^\s*_{8,}\s*$")
_HEADER_FROM = safe_regex.compile(
    r"^\s*\**\s*(?:from|发件人|寄件者|寄件人|von|de)\s*\**\s*[:：]", ignore_case=True
)
_HEADER_ANY = safe_regex.compile(
    r"^\s*\**\s*(?:from|sent|date|to|cc|bcc|subject|reply-to|importance|"
    r"发件人|寄件者|寄件人|发送时间|发送日期|时间|日期|收件人|抄送|主题|"
    r"von|gesendet|an|cc|betreff|datum|de|envoyé|à|objet)\s*\**\s*[:：]",
    ignore_case=True,
)
_WROTE_ONE_LINE = safe_regex.compile(
    r"^\s*(?:on\b.{4,250}\bwrote|am\b.{4,250}\bschrieb.{0,80}|在.{2,120}写道)\s*[:：]\s*$", ignore_case=True
)
_WROTE_START = safe_regex.compile(r"^\s*(?:on|am)\s+\S.*\d", ignore_case=True)
_WROTE_END = safe_regex.compile(r"(?:\bwrote|\bschrieb.{0,80}|写道)\s*[:：]\s*$", ignore_case=True)
_HEADER_SUBJECT = safe_regex.compile(
    r"^\s*\**\s*(?:subject|主题|betreff|objet)\s*\**\s*[:：]", ignore_case=True
)
_HEADER_WINDOW = 10
_QUOTED = safe_regex.compile(r"^\s*>")
# System header lines that some ticket tools put above the mail body.
_SYSTEM_HEADER = safe_regex.compile(
    r"^\s*(?:(?:received from|email from|mail from)\s*:|"
    r"(?:importance|sensitivity|priority|wichtigkeit|重要性)\s*[:：]\s*(?:high|low|normal|hoch|niedrig|高|低|普通)\s*$)",
    ignore_case=True,
)
_EXTRA_BLANK_LINES = safe_regex.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_IMAGE_PLACEHOLDER = safe_regex.compile(r"\[cid:[^\]\s]*\]|<cid:[^>\s]*>", ignore_case=True)

_GREETING_LINE = safe_regex.compile(
    r"^\s*(?:(?:hi|hello|hey|dear|hallo|greetings|good\s+(?:morning|afternoon|evening|day)|"
    r"morning|guten\s+(?:tag|morgen)|liebe[rs]?|sehr\s+geehrte[rs]?)"
    r"(?:[ \t]+[\w.'&/-]+){0,3}[ \t]*[,，!！:：.。;]*[ \t]*|"
    r"[^\s，,。！!]{0,10}?(?:您好|你好|各位好|大家好|(?:老师|领导|同事|同仁|经理|工|总|们)好)"
    r"[ \t]*[,，!！:：.。~～]*[ \t]*|"
    r"(?:各位|尊敬的)[^\s，,。！!]{0,10}[,，!！:：.。]*[ \t]*)$",
    ignore_case=True,
)
_GREETING_PREFIX = safe_regex.compile(
    r"^\s*(?:(?:hi|hello|hey|dear)(?:[ \t]+[\w.'&-]+){0,2}[ \t]*[,，!！]+|"
    r"(?:good\s+(?:morning|afternoon|evening))[ \t]*[,，!！]+|"
    r"[^\s，,。！!]{0,8}?(?:您好|你好|各位好|大家好)[,，!！。~～]+)[ \t]*",
    ignore_case=True,
)
_WORD = safe_regex.compile(r"[a-z0-9'-]+")
# Words that make a short "Hi ..." line a request rather than a greeting ("hi vpn down").
_PROBLEM_WORDS = frozenset(
    [
        "cannot", "can't", "cant", "unable", "not", "no", "error", "errors", "fail", "failed",
        "failing", "issue", "issues", "problem", "help", "please", "pls", "plz", "need", "down",
        "broken", "urgent", "working", "locked", "reset", "access",
    ]
)  # fmt: skip
_SIGN_OFF = safe_regex.compile(
    r"^\s*(?:--\s*|_{2,}|"
    r"(?:(?:with\s+)?(?:best|kind|warm|warmest|many|sincere)?\s*(?:regards|wishes)|"
    r"best|kind|warm|cheers|sincerely|yours\s+(?:sincerely|truly|faithfully)|br|rgds|regds|"
    r"thanks?(?:\s*(?:&|and)\s*(?:best\s+)?regards)?|thank\s+you|thx|tks|ty|many\s+thanks|"
    r"thanks?\s+(?:you\s+)?(?:in\s+advance|a\s+lot|again|so\s+much)|"
    r"mit\s+freundlichen\s+grüßen|mfg|viele\s+grüße|gruß|danke|"
    r"此致|敬礼|此致\s*敬礼|此致[，,]\s*敬礼|祝好|顺祝商祺|顺颂商祺|祝工作顺利|"
    r"谢谢|多谢|感谢|非常感谢|谢谢您|谢谢了|辛苦了)"
    r"[\s,，.。!！~～:：]*)$",
    ignore_case=True,
)
_SENT_FROM = safe_regex.compile(r"^\s*(?:sent from my\b.*|发自我的.*|从我的.{0,20}发送)$", ignore_case=True)
_CONTACT_LINE = safe_regex.compile(
    r"^\s*(?:tel|phone|mobile|mob|cell|ext|extn|fax|m|t|电话|手机|座机|分机|传真)\.?\s*[:：]?\s*"
    r"[+(]?\d[\d\s().+/-]{4,}\s*$",
    ignore_case=True,
)
_DISCLAIMER = safe_regex.compile(
    r"intended\s+(?:solely\s+|only\s+)?(?:for\s+)?(?:the\s+)?(?:use\s+of\s+the\s+)?"
    r"(?:addressee|recipient|named)|"
    r"if\s+you\s+(?:are\s+not|have\s+received\s+this)|confidentiality\s+(?:notice|note)|"
    r"privileged\s+and\s+confidential|(?:may\s+)?contains?\s+(?:confidential|privileged)|"
    r"(?:e-?mail|message)\s+(?:and\s+any\s+attachments?\s+)?(?:is|are)\s+confidential|"
    r"^\s*disclaimer\s*[:：]|this\s+e-?mail\s+originated\s+from\s+outside|"
    r"本邮件(?:及其附件)?(?:含有|包含|仅供|可能包含|所含)|保密信息|机密信息|免责声明|"
    r"如果您(?:不是|并非|误收)|如您(?:不是|误收)|(?:误收|错收)(?:了)?本邮件|请勿(?:转发|传播|复制|泄露)",
    ignore_case=True,
)


def _is_header_block(lines: list[str], i: int) -> bool:
    """A ``From:`` line followed closely by another mail header line."""
    if not _HEADER_FROM.match(lines[i]):
        return False
    following = [ln for ln in lines[i + 1 : i + 6] if ln.strip()][:4]
    return any(_HEADER_ANY.match(ln) for ln in following)


def _boundary_length(lines: list[str], i: int) -> int:
    """Lines taken by a thread boundary starting at ``lines[i]``; 0 when none starts there."""
    line = lines[i]
    if _SEPARATOR.match(line) or _BEGIN_FORWARDED.match(line):
        return 1
    if _RULE_LINE.match(line) and i + 1 < len(lines) and _is_header_block(lines, i + 1):
        return 1
    if _is_header_block(lines, i):
        return 1
    if _WROTE_ONE_LINE.match(line):
        return 1
    if (
        _WROTE_START.match(line)
        and i + 1 < len(lines)
        and _WROTE_END.search(lines[i + 1])
        and len(line) + len(lines[i + 1]) < 300
    ):
        return 2
    return 0


def _header_end(lines: list[str], i: int) -> int:
    """Index after the mail header lines (From/Sent/To/Subject, ...) starting at ``lines[i]``."""
    window = lines[i : i + _HEADER_WINDOW]
    for offset, line in enumerate(window):
        if _HEADER_SUBJECT.match(line):
            # Wrapped To:/Cc: lists sit between From: and Subject:; all of it is header.
            return i + offset + 1
    while i < len(lines) and (not lines[i].strip() or _HEADER_ANY.match(lines[i])):
        i += 1
    return i


def _split_messages(text: str) -> list[list[str]]:
    """Split a mail thread into messages, newest first, as raw lines without their headers."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    messages: list[list[str]] = [[]]
    i = 0
    while i < len(lines):
        step = _boundary_length(lines, i)
        if step:
            if any(ln.strip() for ln in messages[-1]):
                messages.append([])
            i += step
            while i < len(lines) and not lines[i].strip():
                i += 1
            if i < len(lines) and _HEADER_ANY.match(lines[i]):
                i = _header_end(lines, i)
            continue
        messages[-1].append(lines[i])
        i += 1
    return messages


def _paragraph_start(lines: list[str], i: int) -> int:
    while i > 0 and lines[i - 1].strip():
        i -= 1
    return i


def _paragraph_end(lines: list[str], i: int) -> int:
    while i < len(lines) and lines[i].strip():
        i += 1
    return i


def _is_greeting_line(line: str) -> bool:
    """A line that only greets ("Hi team,", "Dear IT", "您好，", "各位好")."""
    if not _GREETING_LINE.match(line):
        return False
    words = _WORD.findall(line.lower())
    return not any(word in _PROBLEM_WORDS for word in words[1:])


def _clean_message(lines: list[str]) -> str:
    """Clean one message: quotes, greetings, signature, contact lines and disclaimers go."""
    kept: list[tuple[int, str]] = []
    has_content = False
    i = 0
    while i < len(lines):
        line = _IMAGE_PLACEHOLDER.sub("", lines[i]).rstrip()
        stripped = line.strip()
        if _QUOTED.match(line) or _SYSTEM_HEADER.match(line) or _SENT_FROM.match(line):
            i += 1
            continue
        if _DISCLAIMER.search(line):
            start = _paragraph_start(lines, i)
            kept = [(index, text) for index, text in kept if index < start]
            has_content = any(text.strip() for _, text in kept)
            if has_content:
                break  # a disclaimer after the content ends the message
            i = _paragraph_end(lines, i)  # a banner above the content: drop just the paragraph
            continue
        if stripped and _SIGN_OFF.match(stripped):
            if has_content:
                break
            i += 1
            continue
        if stripped and (_is_greeting_line(stripped) or _CONTACT_LINE.match(stripped)):
            i += 1
            continue
        if not has_content and stripped:
            line = _GREETING_PREFIX.sub("", line, count=1)
        kept.append((i, line))
        has_content = has_content or bool(line.strip())
        i += 1
    text = "\n".join(text for _, text in kept)
    text = _EXTRA_BLANK_LINES.sub("\n\n", text)
    return text.strip()


def thread_messages(text: str) -> list[str]:
    """Return the cleaned, non-empty messages of a mail thread, newest first."""
    if not text or not text.strip():
        return []
    cleaned = (_clean_message(message) for message in _split_messages(text.strip()))
    return [message for message in cleaned if message]


def clean_thread(text: str) -> str:
    """Keep the newest message of a mail thread, without quotes, greetings, signature or disclaimer.

    When the newest message is empty after cleaning, the next non-empty one is kept; when cleaning
    would leave nothing at all, the original stripped text comes back.
    """
    stripped = text.strip() if text else ""
    if not stripped:
        return ""
    messages = thread_messages(stripped)
    return messages[0] if messages else stripped


# --- pasted logs ------------------------------------------------------------------------------

_TIMESTAMP_START = safe_regex.compile(
    r"^\s*[\[(]?(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}[ T]\d{1,2}:\d{2}|\d{1,2}:\d{2}:\d{2}[.,]\d+|"
    r"\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}:\d{2}|[A-Z][a-z]{2}\s+\d{1,2}\s+\d{2}:\d{2}:\d{2})"
)
_LEVEL = safe_regex.compile(
    r"(?:^|[\s\[|:])(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL)(?:$|[\s\]|:])"
)
_FRAME = safe_regex.compile(
    r"^\s*(?:at\s+[\w$.<>/\[\]-]+\(.*\)\s*$|at\s+[\w$.<>]+\.[\w$<>]+\s*$|\.\.\.\s*\d+\s+(?:more|common frames omitted)|"
    r'File\s+".*",\s+line\s+\d+|Traceback\s+\(most recent call last\)|#\d+\s+0x[0-9a-f]+)',
    ignore_case=True,
)
_CAUSED_BY = safe_regex.compile(r"^\s*Caused by\s*:", ignore_case=True)
_EXCEPTION_LINE = safe_regex.compile(
    r"^\s*(?:Caused by\s*:\s*|Exception in thread\s+\S+\s+)?(?:[a-zA-Z_$][\w$]*\.)*[A-Z][\w$]*(?:Exception|Error|Fault)\b"
)
_KEY = safe_regex.compile(
    r"\b(?:ERROR|FATAL|SEVERE|CRITICAL)\b|\b[A-Za-z]\w*(?:Exception|Error)\b|错误|失败|异常|报错",
)
_MIN_LOG_RUN = 3
_KEY_MAX_CHARS = 200


def _is_log_line(line: str, previous_is_frame: bool) -> bool:
    if not line.strip():
        return False
    if _FRAME.match(line) or _CAUSED_BY.match(line) or _TIMESTAMP_START.match(line):
        return True
    if _LEVEL.search(line) or _EXCEPTION_LINE.match(line):
        return True
    # Source lines that Python tracebacks print under each ``File ...`` frame.
    return previous_is_frame and line.startswith("    ")


def _key_line(run: list[str]) -> str:
    caused = [ln for ln in run if _CAUSED_BY.match(ln)]
    if caused:
        return caused[-1].strip()
    exceptions = [ln for ln in run if _EXCEPTION_LINE.match(ln)]
    if exceptions:
        # Python prints the exception after its frames; Java prints it before them.
        python = any(ln.lstrip().startswith("Traceback") for ln in run)
        return (exceptions[-1] if python else exceptions[0]).strip()
    candidates = [ln for ln in run if _KEY.search(ln) and not _FRAME.match(ln)]
    return (candidates[0] if candidates else run[-1]).strip()


def collapse_logs(text: str) -> str:
    """Collapse runs of pasted log lines or stack frames to ``[log: N lines] <key line>``.

    The key line is the last ``Caused by``, else the first line naming an error, else the last
    line of the run. Runs shorter than three lines stay as they are.
    """
    if not text:
        return ""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        j = i
        previous_is_frame = False
        while j < len(lines) and _is_log_line(lines[j], previous_is_frame):
            previous_is_frame = bool(_FRAME.match(lines[j])) or (
                previous_is_frame and lines[j].startswith("    ")
            )
            j += 1
        if j - i >= _MIN_LOG_RUN:
            key = _key_line(lines[i:j])
            if len(key) > _KEY_MAX_CHARS:
                key = key[:_KEY_MAX_CHARS].rstrip() + " ..."
            out.append(f"[log: {j - i} lines] {key}")
            i = j
        elif j > i:
            out.extend(lines[i:j])
            i = j
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


# --- sentences --------------------------------------------------------------------------------

_ABBREVIATIONS = frozenset(
    [
        "e.g", "i.e", "etc", "vs", "approx", "appt", "apt", "dept", "est", "fig", "inc", "ltd", "co",
        "corp", "jr", "sr", "st", "mr", "mrs", "ms", "dr", "prof", "no", "nos", "vol", "ver", "rev",
        "ref", "tel", "ext", "min", "max", "avg", "sec", "hr", "hrs", "jan", "feb", "mar", "apr",
        "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "wed", "thu", "fri",
        "sat", "sun", "a.m", "p.m", "u.s", "u.k", "al", "cf", "ca", "incl", "pls", "pl", "resp",
        "attn",
    ]
)  # fmt: skip
# Sentence ends. RE2 has no look-ahead, so the character that must follow a "." (or an English
# mark) is matched too and left out of the sentence again.
_ZH_END = safe_regex.compile(r"[。！？；!?;…]+[”’」』）)\]】\"']*|\.(?:\s|[\u4e00-\u9fff]|$)")
_EN_CANDIDATE = safe_regex.compile(r"[.!?]+[\"')\]]*(?:\s|$)|;\s")
_LIST_MARKER = safe_regex.compile(
    r"^\s*(?:\d{1,2}[.)、]|[-*•·]|[a-z][.)]|[（(]\d{1,2}[)）])\s+", ignore_case=True
)
_SOFT_WRAP_MIN = 60
_DOTTED_ACRONYM = safe_regex.compile(r"(?:[a-z]\.)+[a-z]")


def _spans_zh(line: str, start: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    begin = 0
    for match in _ZH_END.finditer(line):
        # A "." ends here; the whitespace or Han character after it belongs to what follows.
        end = match.start() + 1 if match.group().startswith(".") else match.end()
        if match.group().startswith(".") and match.start() > 0 and line[match.start() - 1].isdigit():
            nxt = line[end : end + 1]
            if nxt.isdigit():
                continue
        spans.append((start + begin, start + end))
        begin = end
    spans.append((start + begin, start + len(line)))
    return spans


def _is_abbreviation(line: str, dot: int) -> bool:
    """Whether the ``.`` at ``line[dot]`` ends an abbreviation rather than a sentence."""
    word_start = dot
    while word_start > 0 and not line[word_start - 1].isspace() and line[word_start - 1] not in "(\"'[":
        word_start -= 1
    word = line[word_start:dot].lower()
    if not word:
        return False
    if word in _ABBREVIATIONS or word.rstrip(".") in _ABBREVIATIONS:
        return True
    # Initials ("J. Smith") and dotted acronyms ("U.S.").
    if len(word) == 1 and word.isalpha() and line[word_start].isupper():
        return True
    if _DOTTED_ACRONYM.fullmatch(word):
        return True
    # A list number opening a line or following a sentence ("1. restart the service").
    before = line[:word_start].rstrip()
    return word.isdigit() and len(word) <= 2 and (not before or before[-1] in ".!?:;")


def _spans_en(line: str, start: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    begin = 0
    for match in _EN_CANDIDATE.finditer(line):
        # The whitespace that must follow the mark belongs to what follows.
        end = match.end() - 1 if match.group()[-1].isspace() else match.end()
        text = line[match.start() : end]
        if text.startswith(".") and len(text.rstrip("\"')]")) == 1 and _is_abbreviation(line, match.start()):
            continue
        spans.append((start + begin, start + end))
        begin = end
    spans.append((start + begin, start + len(line)))
    return spans


def _line_spans(text: str, join_soft_wraps: bool) -> list[tuple[int, int]]:
    """Character spans of the text's lines; soft-wrapped lines are joined for English.

    A line is soft-wrapped into the previous one when that one is long, ends without
    punctuation, and this one goes on in lower case (mail clients wrap at about 72 characters).
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    previous = ""
    for raw in text.split("\n"):
        end = pos + len(raw)
        tail = previous.rstrip()
        if (
            spans
            and join_soft_wraps
            and len(tail) >= _SOFT_WRAP_MIN
            and tail[-1] not in ".!?:;。！？；"
            and raw.lstrip()[:1].islower()
            and not _LIST_MARKER.match(raw)
        ):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((pos, end))
        previous = raw
        pos = end + 1
    return spans


def split_sentences(text: str, language: str) -> list[str]:
    """Split ticket text into sentences, each a substring of ``text``.

    Chinese (``zh``/``mixed``) splits at 。！？； and line breaks and at English ``.!?`` that end a
    clause; English keeps abbreviations ("e.g.", "Dr."), versions ("v2.3.1") and IPs whole.
    """
    if not text or not text.strip():
        return []
    chinese = language in ("zh", "mixed")
    sentences: list[str] = []
    for line_start, line_end in _line_spans(text, join_soft_wraps=not chinese):
        line = text[line_start:line_end]
        if not line.strip():
            continue
        spans = _spans_zh(line, line_start) if chinese else _spans_en(line, line_start)
        for begin, end in spans:
            piece = text[begin:end]
            marker = _LIST_MARKER.match(piece)
            if marker and len(piece.strip()) > marker.end():
                piece = piece[marker.end() :]
            piece = piece.strip()
            if piece and any(ch.isalnum() for ch in piece):
                sentences.append(piece)
    return sentences
