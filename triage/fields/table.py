"""The field table: for each field type, its patterns, when they run, and how a match becomes a value.

One :class:`Rule` per row. A rule runs when one of its lowercase ``needles`` occurs in the text
(always when it has none); its pattern's boundaries are data (``before``/``after``, see
:mod:`triage.fields.engine`); ``emit`` turns a match into ``(start, end, value)`` or refuses it.
Rows for names, places and systems that need jieba or spaCy live in :mod:`triage.fields.names`,
dates and times in :mod:`triage.fields.dates`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers

from triage import safe_regex
from triage.fields.engine import Candidate, Hit, Rx
from triage.fields.numbers import CN_NUM_CHARS, NUM, number, valid_luhn, valid_resident_id

Emit = Callable[[Hit, str], "tuple[int, int, Any] | None"]

HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff"
AN = "[A-Za-z0-9]"  # the usual "not inside a word" boundary
_LETTER = "[A-Za-z]"


@dataclass(frozen=True)
class Rule:
    """One row of the table: a field type, a pattern and what a match is worth."""

    type: str
    rx: Rx
    emit: Emit
    needles: tuple[str, ...] = ()
    pii: bool = False

    def applies(self, lowered: str) -> bool:
        return not self.needles or any(n in lowered for n in self.needles)


def _span(group: str | None = None, normalise: Callable[[str], Any] = str) -> Emit:
    """Emit the whole match (or one group) with a normalised value."""

    def emit(hit: Hit, text: str) -> tuple[int, int, Any] | None:
        start, end = hit.span(group) if group and hit.has(group) else hit.span()
        return (start, end, normalise(text[start:end])) if end > start else None

    return emit


def _id_span(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    """An identifier: the ``id`` group when the pattern has one, upper-cased."""
    start, end = hit.span("id") if hit.has("id") else hit.span()
    return (start, end, text[start:end].upper()) if end > start else None


def rule(
    field_type: str,
    pattern: str,
    needles: str = "",
    *,
    emit: Emit = _id_span,
    before: str = "",
    after: str = "",
    ignore_case: bool = False,
    check: Callable[[Hit, str], bool] | None = None,
    pii: bool = False,
) -> Rule:
    # An English keyword (group ``en``) starts a word: a line start or a non-letter before it is
    # part of the match, so RE2 never proposes "ticket" inside "xticket" for a check to refuse.
    for group in ("(?P<en>", "(?P<en2>"):
        pattern = pattern.replace(group, "(?:^|[^A-Za-z])" + group)
    return Rule(
        field_type,
        Rx(
            pattern,
            before=before,
            after=after,
            ignore_case=ignore_case,
            check=check,
            name=f"field {field_type} {pattern[:40]!r}",
        ),
        emit,
        tuple(n for n in needles.split("|") if n),
        pii,
    )


def _preceded_by_letter(text: str, pos: int) -> bool:
    return pos > 0 and text[pos - 1].isascii() and text[pos - 1].isalpha()


def _english_keyword_at_word_start(group: str = "en") -> Callable[[Hit, str], bool]:
    """An English keyword (the pattern's ``en`` group) must start a word: "xticket" is no ticket."""

    def check(hit: Hit, text: str) -> bool:
        return not (hit.has(group) and _preceded_by_letter(text, hit.start(group)))

    return check


def _all(*checks: Callable[[Hit, str], bool]) -> Callable[[Hit, str], bool]:
    return lambda hit, text: all(c(hit, text) for c in checks)


def _id_has_digit(hit: Hit, text: str) -> bool:
    ident = hit.get("id")
    return ident is None or any(ch.isdigit() for ch in ident)


# --------------------------------------------------------------------------- contacts


def _email(hit: Hit, text: str) -> tuple[int, int, Any]:
    local, _, domain = hit.group().rpartition("@")
    return hit.start(), hit.end(), f"{local}@{domain.lower()}"


def _phone(region: str | None, keep_digits: bool = False) -> Emit:
    """A telephone number checked by the phonenumbers library; the value is E.164 ("+86...")."""

    def emit(hit: Hit, text: str) -> tuple[int, int, Any] | None:
        raw = hit.group()
        try:
            parsed = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_possible_number(parsed):
            return None
        if keep_digits:  # a North American number without its country code: as written
            return hit.start(), hit.end(), re.sub(r"\D", "", raw)
        return hit.start(), hit.end(), phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    return emit


def _resident_id(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    value = hit.group().upper()
    return (hit.start(), hit.end(), value) if valid_resident_id(value) else None


_RESIDENT_ID = r"[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
_RESIDENT_ID_RX = Rx(_RESIDENT_ID, name="resident id shape")
_NOT_A_CARD_CONTEXT = Rx(
    r"订单|发票|合同|工单|单号|编号|资产|采购|流水|快递|运单|报销|工号|order|invoice|contract|ticket|asset|"
    r"(?P<en>PO|ref)|serial|tracking|#",
    ignore_case=True,
    check=lambda hit, text: (
        not (
            hit.has("en") and (_preceded_by_letter(text, hit.start()) or _followed_by_letter(text, hit.end()))
        )
    ),
    name="not a card context",
)


def _followed_by_letter(text: str, pos: int) -> bool:
    return pos < len(text) and text[pos].isascii() and text[pos].isalpha()


def _bank_card(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    raw = hit.group()
    digits = re.sub(r"\D", "", raw)
    if not 13 <= len(digits) <= 19 or not valid_luhn(digits):
        return None
    separators = set(re.sub(r"\d", "", raw))
    if len(separators) > 1:
        return None  # "1234 5678-9012 3456": one separator throughout
    if len(digits) == 18 and _RESIDENT_ID_RX.fullmatch(digits):
        return None  # shaped like a resident ID whose checksum failed: neither
    if _NOT_A_CARD_CONTEXT.search(text, max(0, hit.start() - 16), hit.start()):
        return None
    return hit.start(), hit.end(), digits


def _hotline(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    group = next(g for g in ("id", "ext", "pre") if hit.has(g))
    start, end = hit.span(group)
    return start, end, text[start:end]


CONTACT_RULES: tuple[Rule, ...] = (
    rule(
        "email",
        r"[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}",
        "@",
        emit=_email,
        before=r"[A-Za-z0-9._%+-]",
        after=r"[A-Za-z0-9-]",
        pii=True,
    ),
    rule("id_number", _RESIDENT_ID, emit=_resident_id, before=AN, after=AN, pii=True),
    rule(
        "bank_card",
        r"[1-9]\d{12,18}|[1-9]\d{3}[ -]\d{4}(?:[ -]\d{4}){1,3}(?:[ -]\d{1,4})?",
        emit=_bank_card,
        before=r"[\d.-]",
        after=r"[\d-]",
        pii=True,
    ),
    rule(
        "phone",
        r"\+\d{1,3}[\s-]?(?:\(\d{1,4}\)[\s-]?)?\d{1,4}(?:[\s-]?\d{2,4}){1,4}",
        "+",
        emit=_phone(None),
        before=r"[A-Za-z0-9_+]",
        after=r"\d",
        pii=True,
    ),
    rule(
        "phone",
        r"(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}",
        emit=_phone("CN"),
        before=r"[\d+]",
        after=r"\d",
        pii=True,
    ),
    rule(
        "phone",
        r"(?:\(0\d{2,3}\)\s?|0\d{2,3}[\s-])\d{7,8}",
        emit=_phone("CN"),
        before=r"[\d+-]",
        after=r"\d",
        pii=True,
    ),
    rule(
        "phone",
        r"(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[-.\s])[2-9]\d{2}[-.\s]\d{4}",
        emit=_phone("US", keep_digits=True),
        before=r"[\d+-]",
        after=r"[\d-]",
        pii=True,
    ),
    # A short internal or service line after the word for it: "热线7186", "拨打95598", "ext. 4417".
    rule(
        "phone",
        r"(?:(?:热线|电话|拨打|致电|回拨|(?P<en>hotline|dial|call(?:ed)?|phone))\s*"
        r"(?:号码|电话|号|number|no\.?)?\s*[:：#]?\s*(?P<id>\d{4,6})"
        r"|(?:分机号?|短号|(?P<en2>ext|extension)\.?)\s*[:：#]?\s*(?P<ext>\d{3,6})"
        r")"
        r"|(?P<pre>\d{4,5})\s?(?:热线|分机)",
        "热线|电话|拨打|致电|回拨|分机|短号|hotline|dial|call|phone|ext",
        emit=_hotline,
        ignore_case=True,
        after=r"[\dA-Za-z.:/-]",
        check=lambda hit, text: (
            not (hit.has("en") and _preceded_by_letter(text, hit.start("en")))
            and not (hit.has("en2") and _preceded_by_letter(text, hit.start("en2")))
            and not (hit.has("pre") and hit.start() > 0 and text[hit.start() - 1] in "0123456789.")
        ),
        pii=True,
    ),
)

# --------------------------------------------------------------------------- network

_URL_STOP = "\\s<>\"'`\u3000-\u303f\uff00-\uffef" + HAN_CLASS
_TLDS = (
    "com|net|org|cn|io|local|corp|lan|internal|intranet|intra|int|home|localdomain|cloud|edu|gov|"
    "co|uk|de|jp|hk|tw|sg|us|eu|info|biz"
)
_HOST_BEFORE = r"[A-Za-z0-9_.@/\\-]"
_HOST_AFTER = r"[A-Za-z0-9_-]|\.[A-Za-z0-9]"


def _url(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    url = hit.group().rstrip(".,;:!?'\"")
    while url.endswith((")", "]")) and url.count("(") < url.count(")") + (url[-1] == "]"):
        url = url[:-1].rstrip(".,;:!?")
    return hit.start(), hit.start() + len(url), url


def _ipv6(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    raw = hit.group()
    if raw.count(":") < 2:
        return None
    try:
        return hit.start(), hit.end(), ipaddress.IPv6Address(raw).compressed
    except ValueError:
        return None


def _plausible_host_label(label: str) -> bool:
    """Single-label host names ("srv-db-01") versus ids and words ("ORA-00600", "COVID-19")."""
    if not any(ch.isdigit() for ch in label):
        return False
    parts = label.split("-")
    if sum(1 for p in parts if any(ch.isalpha() for ch in p)) >= 2:
        return True
    return label.islower() and parts[0].isalpha() and parts[-1].isdigit() and parts[-1].startswith("0")


_NOT_A_HOST_ID = Rx(
    r"(?:win(?:dows)?|ie|office|v|sp|rhel|centos|ubuntu|server|host)[\s_-]?\d",
    ignore_case=True,
    name="not a host",
)
_HOST_WORDS = (
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
)


def _lower_span(group: str | None = None) -> Emit:
    return _span(group, str.lower)


NETWORK_RULES: tuple[Rule, ...] = (
    rule(
        "url",
        rf"(?:(?:https?|ftp)://|www\.)[^{_URL_STOP}]+",
        "://|www.",
        emit=_url,
        before=AN,
        ignore_case=True,
    ),
    rule(
        "ipv4",
        r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)",
        ".",
        emit=_span(),
        before=r"[\d.]",
        after=r"\d|\.\d",
    ),
    rule(
        "hostname",
        rf"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+(?:{_TLDS})",
        ".",
        emit=_lower_span(),
        before=_HOST_BEFORE,
        after=_HOST_AFTER,
        ignore_case=True,
    ),
    rule(
        "ipv6",
        r"(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?:%[A-Za-z0-9]+)?",
        ":",
        emit=_ipv6,
        before=r"[0-9A-Za-z:]",
        after=r"[0-9A-Za-z:]",
    ),
    rule(
        "hostname",
        r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+){1,5}",
        "-",
        emit=_lower_span(),
        before=_HOST_BEFORE,
        after=_HOST_AFTER,
        check=lambda hit, text: _plausible_host_label(hit.group()),
    ),
    # A name after a machine word: "server db01", "computer name: ts04562", "主机名 hr14". It must end
    # in a digit, and a product or OS name ("win10", "v2") is no host.
    rule(
        "hostname",
        r"(?:服务器|主机名?|机器|节点|计算机名?|电脑名|(?P<en>server|host(?:name)?|node|computer|pc|"
        r"machine|workstation|device|printer)(?:\s*name)?)\s*(?:名称|名|name)?\s*(?:is|为|是)?\s*[:：#]?\s*"
        r"(?P<id>[A-Za-z][A-Za-z0-9_-]{1,62}\d)",
        "|".join(_HOST_WORDS),
        emit=_lower_span("id"),
        after=r"[A-Za-z0-9_.-]",
        ignore_case=True,
        check=_all(
            _english_keyword_at_word_start(),
            lambda hit, text: _NOT_A_HOST_ID.pattern.match(hit.group("id")) is None,
        ),
    ),
    # Numbered machine names standing alone: "server01", "HostName_769", "vm-12".
    rule(
        "hostname",
        r"(?:host(?:name)?|server|srv|node|vm|computer|workstation)[_-]?\d{1,6}",
        "host|server|srv|node|vm|computer|workstation",
        emit=_lower_span(),
        before=_HOST_BEFORE,
        after=r"[A-Za-z0-9_.@-]",
        ignore_case=True,
    ),
)

# --------------------------------------------------------------------------- identifiers

# The id after a keyword: letters, digits and hyphens with at least one digit; a "No." before it is
# the keyword's ("发票号 No.04412345").
_ID_AFTER = (
    r"(?:\s*(?:为|是|is|was|=))?\s*[:：#＃]?\s*#?\s*(?:(?:No|Nr|№)(?:\.\s*|\s+|\s*[:：#]\s*))?"
    r"(?P<id>[A-Za-z0-9][A-Za-z0-9_-]{3,39})"
)
_ID_END = r"[A-Za-z0-9_-]"


def _prefix_rule(field_type: str, pattern: str, needles: str) -> Rule:
    """An id recognised by its own shape, e.g. INV-2026-004512."""
    return rule(field_type, pattern, needles, before=AN, after=AN)


def _keyword_start(hit: Hit) -> int:
    """Where the keyword starts: the ``en`` group when it took part (a boundary character may precede it)."""
    return hit.start("en") if hit.has("en") else hit.start()


def _keyword_rule(
    field_type: str, keywords: str, needles: str, not_after: str = "", word_end: str = ""
) -> Rule:
    """An id recognised by the keyword before it, e.g. 发票号：12345678; the span is the id.

    English keywords go in the ``en`` group of ``keywords``: they must start a word.
    """
    checks = [_english_keyword_at_word_start(), _id_has_digit]
    if word_end:  # an abbreviation keyword ("sn") must end a word too
        checks.append(
            lambda hit, text: not (hit.has(word_end) and _followed_by_letter(text, hit.start(word_end)))
        )
    if not_after:
        after_rx = Rx(f"(?:{not_after})$", ignore_case=True, name=f"{field_type} keyword context")
        checks.append(
            lambda hit, text: (
                not after_rx.pattern.search(text[max(0, _keyword_start(hit) - 12) : _keyword_start(hit)])
            )
        )
    return rule(
        field_type,
        rf"(?:{keywords}){_ID_AFTER}",
        needles,
        after=_ID_END,
        ignore_case=True,
        check=_all(*checks),
    )


_TICKET_WORDS = r"工单(?:号|编号)?|事件单?号|服务单号|请求单号|(?P<en>ticket\s*(?:no\.?|number|id)?"
_INVOICE_WORDS = r"发票号码?|发票编号|发票代码|(?P<en>invoice\s*(?:no\.?|number|num|id)?)"

ID_RULES: tuple[Rule, ...] = (
    _prefix_rule("invoice_number", r"INV[-_]?\d{4}[-_]?\d{3,10}", "inv"),
    _keyword_rule("invoice_number", _INVOICE_WORDS, "发票|invoice"),
    _prefix_rule("po_number", r"PO[-_#]?(?:\d{4}[-_]\d{2,8}|\d{5,12})", "po"),
    _keyword_rule(
        "po_number",
        r"采购(?:订单|单)(?:号|编号)?|(?P<en>purchase\s+order\s*(?:no\.?|number|#)?|PO\s*(?:no\.?|number|#))",
        "采购|purchase|po",
    ),
    _prefix_rule("contract_number", r"(?:HT|CT|CTR|CON)[-_]?\d{4}[-_]\d{2,8}", "ht|ct|con"),
    _keyword_rule(
        "contract_number", r"合同(?:编号|号)|(?P<en>contract\s*(?:no\.?|number|id)?)", "合同|contract"
    ),
    _prefix_rule("asset_number", r"AST[-_]?\d{4}[-_]\d{3,8}", "ast"),
    _keyword_rule(
        "asset_number",
        r"固定资产(?:编号|号)?|资产(?:编号|号|标签|条码)|(?P<en>asset\s*(?:tag|no\.?|number|id)?)",
        "资产|asset",
    ),
    _keyword_rule(
        "asset_number",
        r"设备序列号|序列号|设备编号|SN[码号]|(?P<en>service\s*tag|serial\s*(?:no\.?|number|#)?|s/n|sn(?P<snend>))",
        "序列号|设备编号|sn|service|serial|s/n",
        word_end="snend",
    ),
    # Expense claims: "BX-2026-11-0087", "报销单号 BX20261100087", "expense claim no. EC-1234".
    _prefix_rule("expense_claim_number", r"(?:BX|EC|EXP)-?\d{4}-?\d{2}-?\d{3,6}", "bx|ec|exp"),
    _keyword_rule(
        "expense_claim_number",
        r"报销单(?:号|编号)?|报账单(?:号|编号)?|(?P<en>expense\s+(?:claim|report)\s*(?:no\.?|number|id|#)?)",
        "报销|报账|expense",
    ),
    # Employee ids: "工号 A10234", "Employee ID A10234", "staff no. 004512".
    _keyword_rule(
        "employee_id",
        r"工号|员工(?:编号|号|ID)|职工(?:编号|号)|人员编号|"
        r"(?P<en>employee\s*(?:id|no\.?|number|#)|emp(?:loyee)?\s*id|staff\s*(?:id|no\.?|number))",
        "工号|员工|职工|人员编号|employee|emp|staff",
    ),
    _prefix_rule(
        "ticket_number",
        r"(?:INC|REQ|RITM|CHG|PRB|TKT)[-_]?\d{5,12}",
        "inc|req|ritm|chg|prb|tkt",
    ),
    # "ticket #123": a short number is fine after "#".
    rule(
        "ticket_number",
        rf"(?:{_TICKET_WORDS}|case\s*(?:no\.?|number|id)?))(?:\s*(?:为|是|is|was))?\s*[:：]?\s*[#＃]\s*"
        r"(?P<id>\d{3,12})",
        "工单|单号|ticket|case",
        after=_ID_END,
        ignore_case=True,
        check=_english_keyword_at_word_start(),
    ),
    _keyword_rule("ticket_number", rf"{_TICKET_WORDS}|case\s*(?:no\.?|number|id))", "工单|单号|ticket|case"),
    # "incident #4711", "ref# 88120", "SR number: 3-1234567"
    rule(
        "ticket_number",
        r"(?P<en>incident|sr|service\s+request|request|ref(?:erence)?)\s*(?:no\.?|number|id)?\s*"
        r"(?:[:：]\s*#?|#\s*[:：]?)\s*(?P<id>[A-Za-z0-9][A-Za-z0-9-]{2,19})",
        "incident|sr|request|ref",
        after=_ID_END,
        ignore_case=True,
        check=_all(_english_keyword_at_word_start(), _id_has_digit),
    ),
    # A vendor's or carrier's own ticket: "vendor ticket 5512345", "telecom_vendor_2#25191486".
    rule(
        "ticket_number",
        r"(?:[A-Za-z0-9]+[_-])*(?:vendor|carrier|supplier|provider|isp|telco)(?:[_-][A-Za-z0-9]+)*"
        r"(?:\s*(?:ticket|case|ref(?:erence)?|incident)\s*(?:no\.?|number|id)?\s*[:：#]?|\s*[#:：])\s*"
        r"(?P<id>[A-Za-z0-9][A-Za-z0-9-]{3,19})",
        "vendor|carrier|supplier|provider|isp|telco",
        before=_LETTER,
        after=_ID_END,
        ignore_case=True,
        check=lambda hit, text: re.search(r"\d{4}", hit.group("id")) is not None,
    ),
    _prefix_rule("order_number", r"(?:SO|ORD)[-_]?\d{4}[-_]?\d{3,10}", "so|ord"),
    _keyword_rule(
        "order_number",
        r"订单(?:号码?|编号)?|(?P<en>order\s*(?:no\.?|number|id)?)",
        "订单|order",
        not_after=r"采购|purchase\s",
    ),
    # Sales, stock-transport and delivery orders, with an item suffix: "so#5019411580/00001",
    # "sto 4500123", "delivery note 80012345". A bare "so" needs "#", ":" or a long number.
    rule(
        "order_number",
        r"(?:(?:so|dn)\s*(?:no\.?|number)?\s*[#:：]\s*|(?P<bare>(?:so|dn)\s+)|"
        r"(?:sto|sales\s+order|stock\s+transport\s+order|delivery(?:\s+note)?)\s*(?:no\.?|number)?\s*[#:：]?\s*)"
        r"(?P<id>\d{4,12}(?:/\d{1,6})?)",
        "so|dn|sto|sales|stock|delivery",
        before=_LETTER,
        after=r"[A-Za-z0-9_/-]",
        ignore_case=True,
        check=lambda hit, text: not hit.has("bare") or len(hit.group("id").partition("/")[0]) >= 6,
    ),
)

# --------------------------------------------------------------------------- amounts, durations

CURRENCIES: Mapping[str, str] = {
    "¥": "CNY", "￥": "CNY", "元": "CNY", "块钱": "CNY", "人民币": "CNY", "rmb": "CNY", "cny": "CNY",
    "$": "USD", "us$": "USD", "usd": "USD", "美元": "USD", "美金": "USD", "dollar": "USD",
    "dollars": "USD", "bucks": "USD",
    "€": "EUR", "eur": "EUR", "欧元": "EUR", "euro": "EUR", "euros": "EUR",
    "£": "GBP", "gbp": "GBP", "英镑": "GBP",
    "hk$": "HKD", "hkd": "HKD", "港币": "HKD", "港元": "HKD",
    "jpy": "JPY", "日元": "JPY",
}  # fmt: skip
MULTIPLIERS: Mapping[str, float] = {
    "万": 1e4, "千": 1e3, "百万": 1e6, "亿": 1e8, "k": 1e3, "thousand": 1e3, "m": 1e6,
    "million": 1e6, "bn": 1e9, "billion": 1e9,
}  # fmt: skip
_CODES = "RMB|CNY|USD|EUR|GBP|HKD|JPY"


def _money(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    amount = number(hit.group("num"))
    if amount is None:
        return None
    mult = hit.get("mult")
    if mult:
        amount *= MULTIPLIERS[mult.lower()]
    currency = CURRENCIES.get((hit.get("cur") or "元").lower(), "CNY")
    start = hit.start("num") if hit.get("cur") is None else hit.start()
    return start, hit.end(), {"amount": round(amount, 2), "currency": currency}


def _no_letter_after_mult(hit: Hit, text: str) -> bool:
    """ "5M" is five million, "5Mbps" is no amount: a one-letter multiplier ends a word."""
    mult = hit.get("mult")
    return not (mult and len(mult) == 1 and mult.isascii() and _followed_by_letter(text, hit.end("mult")))


def _code_is_a_word(hit: Hit, text: str) -> bool:
    """A currency code ("RMB") is a word of its own."""
    cur = hit.get("cur") or ""
    if not cur.isalpha() or not cur.isascii():
        return True
    return not _preceded_by_letter(text, hit.start("cur")) and not _followed_by_letter(text, hit.end("cur"))


_AMOUNT_KEYWORDS = "金额|总额|总价|总计|合计|共计|费用|价格|报销|款项|付款|预算|价款|货款|单价"
_DURATION_KEYWORD_UNITS = "小时|钟头|分钟|秒钟|秒|天|周|星期|礼拜|月"
DURATION_UNITS: Mapping[str, float] = {
    "秒": 1 / 3600, "秒钟": 1 / 3600, "分钟": 1 / 60, "分": 1 / 60, "小时": 1.0, "钟头": 1.0,
    "天": 24.0, "周": 168.0, "星期": 168.0, "礼拜": 168.0, "个月": 720.0,
    "s": 1 / 3600, "sec": 1 / 3600, "secs": 1 / 3600, "second": 1 / 3600, "seconds": 1 / 3600,
    "min": 1 / 60, "mins": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60,
    "h": 1.0, "hr": 1.0, "hrs": 1.0, "hour": 1.0, "hours": 1.0, "day": 24.0, "days": 24.0,
    "week": 168.0, "weeks": 168.0, "wk": 168.0, "wks": 168.0,
}  # fmt: skip
_HOUR_UNITS = ("小时", "钟头", "h", "hr", "hrs", "hour", "hours")


def _duration(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    amount = number(hit.group("num"))
    if amount is None:
        return None
    if hit.has("half"):
        amount += 0.5
    unit = hit.group("unit").lower()
    if unit == "月":
        if not hit.has("ge"):
            return None  # "3月" is March; "3个月" three months
        unit = "个月"
    hours = amount * DURATION_UNITS[unit]
    end = hit.end("unit")
    minutes_fit = hit.has("unit2end") and not _followed_by_letter(text, hit.start("unit2end"))
    if minutes_fit and unit in _HOUR_UNITS:
        minutes = number(hit.group("num2"))
        if minutes is not None:
            hours += minutes / 60
        end = hit.end()
    return hit.start(), end, round(hours, 4)


AMOUNT_RULES: tuple[Rule, ...] = (
    rule(
        "amount",
        rf"(?P<cur>US\$|HK\$|[¥￥$€£]|{_CODES})\s*(?P<num>{NUM})"
        r"(?:\s?(?P<mult>百万|万|千|亿|million|thousand|billion|bn|[kKmM]))?(?:\s?元)?",
        "$|¥|￥|€|£|rmb|cny|usd|eur|gbp|hkd|jpy",
        emit=_money,
        check=_all(_code_is_a_word, _no_letter_after_mult),
    ),
    rule(
        "amount",
        rf"(?P<num>{NUM}|[{CN_NUM_CHARS}]*[一二两三四五六七八九十][{CN_NUM_CHARS}]*)"
        r"\s?(?:(?P<mult>百万|万|千|亿|million|thousand)|(?P<k>[kK])\s)?\s?"
        r"(?P<cur>人民币|日元|港元|港币|美元|美金|欧元|英镑|元|块钱|RMB|CNY|USD|EUR|GBP|HKD|JPY|dollars?|euros?|bucks)",
        "元|钱|币|美金|镑|rmb|cny|usd|eur|gbp|hkd|jpy|dollar|euro|buck",
        emit=lambda hit, text: _money_k(hit, text),
        before=r"[\d.,]",
        after=_LETTER,
        ignore_case=True,
    ),
)


def _money_k(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    found = _money(hit, text)
    if found is None or not hit.has("k"):
        return found
    start, end, value = found
    return start, end, {"amount": round(value["amount"] * 1e3, 2), "currency": value["currency"]}


def _keyword_amount(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    following = text[hit.end() : hit.end() + 1]
    if following and (re.match(f"[{HAN_CLASS}]", following) or following.isalpha()) and following != "元":
        return None  # "报销3笔": a count, not money
    amount = number(hit.group("num"))
    if amount is None:
        return None
    if hit.get("mult"):
        amount *= MULTIPLIERS[hit.group("mult")]
    return hit.start("num"), hit.end(), {"amount": round(amount, 2), "currency": "CNY"}


KEYWORD_AMOUNT = rule(
    "amount",
    rf"(?:{_AMOUNT_KEYWORDS})(?:为|是|约|共|大约|大概|[:：\s])*(?P<num>{NUM})(?:\s?(?P<mult>万|千|亿))?",
    "|".join(_AMOUNT_KEYWORDS.split("|")),
    emit=_keyword_amount,
)

DURATION_RULE = rule(
    "duration",
    rf"(?P<num>\d+(?:\.\d+)?|[{CN_NUM_CHARS}半]+)\s?(?P<ge>个)?(?P<half>半)?\s?"
    rf"(?P<unit>{_DURATION_KEYWORD_UNITS}|hours?|hrs?|h|minutes?|mins?|seconds?|secs?|days?|weeks?|wks?)"
    rf"(?P<unitend>)(?:\s?(?P<num2>\d+|[{CN_NUM_CHARS}]+)\s?(?P<unit2>分钟|分|minutes?|mins?|m)(?P<unit2end>))?",
    emit=_duration,
    before=r"[\d.]",
    ignore_case=True,
    check=lambda hit, text: not _followed_by_letter(text, hit.start("unitend")),
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
# Upper-case error names as logs write them: AUTH_FAILED, TOKEN_EXPIRED, ACCESS_DENIED.
_ERROR_NAME = (
    r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_(?:FAILED|FAILURE|FAIL|ERROR|ERR|DENIED|TIMEOUT|TIMED_OUT|INVALID|"
    r"EXPIRED|REFUSED|NOT_FOUND|LOCKED|UNAUTHORI[SZ]ED|FORBIDDEN|REJECTED|UNAVAILABLE|EXCEEDED|MISMATCH)"
)


def _error(style: str) -> Emit:
    def emit(hit: Hit, text: str) -> tuple[int, int, Any] | None:
        raw = hit.group()
        start, end = hit.span()
        if style == "http":
            value: str = f"HTTP {hit.group('code')}"
        elif style == "hex":
            value = "0x" + raw[2:].upper()
        elif style == "exit":
            value = f"exit code {hit.group('code')}"
        elif style == "smtp":
            value = f"SMTP {hit.group('code')} {hit.group('ext')}"
        elif style == "mysql":
            value = f"ERROR {hit.group('code')}"
        elif style == "code":
            code = hit.group("code")
            start, end = hit.span("code")
            value = "0x" + code[2:].upper() if code.lower().startswith("0x") else code.upper()
        elif style == "named":  # "AUTH_FAILED code=809": the name and its number
            value = f"{hit.group('name')} {hit.group('code')}" if hit.has("code") else hit.group("name")
        elif style == "upper":
            value = raw.upper()
        else:
            value = raw
        return start, end, value

    return emit


ERROR_RULES: tuple[Rule, ...] = (
    rule(
        "error_code",
        r"(?:ORA|TNS|PLS|RMAN|ERR)-\d{3,6}",
        "ora-|tns-|pls-|rman-|err-",
        emit=_error("upper"),
        before=AN,
        after=AN,
    ),
    rule("error_code", r"AADSTS\d{5,6}", "aadsts", emit=_error("upper"), before=AN, after=AN),
    rule(
        "error_code",
        r"ERR_[A-Z][A-Z_]{3,}",
        "err_",
        emit=_error("upper"),
        before=r"[A-Za-z0-9_]",
        after=r"[A-Za-z0-9_]",
    ),
    rule("error_code", r"ERROR\s+(?P<code>\d{3,5})", "error", emit=_error("mysql"), before=AN, after=r"\d"),
    rule(
        "error_code",
        r"HTTP(?:/\d(?:\.\d)?)?\s*(?:status\s*(?:code)?|code|error)?\s*[:：]?\s*"
        rf"(?P<code>[45]\d\d)(?P<codeend>)(?:\s+(?:{_HTTP_REASONS}))?",
        "http",
        emit=_error("http"),
        before=AN,
        ignore_case=True,
        check=lambda hit, text: (
            text[hit.start("codeend") : hit.start("codeend") + 1] not in set("0123456789.")
        ),
    ),
    rule(
        "error_code",
        rf"(?P<code>[45]\d\d)\s+(?:{_HTTP_REASONS})",
        "gateway|not |server|service|forbidden|unauthori|bad |too |method|conflict",
        emit=_error("http"),
        before=r"[\d.:/-]",
        after=_LETTER,
        ignore_case=True,
    ),
    rule(
        "error_code",
        r"(?:状态码|返回码|响应码)\s*(?:为|是)?\s*[:：]?\s*(?P<code>[1-5]\d\d)",
        "状态码|返回码|响应码",
        emit=_error("http"),
        after=r"\d",
    ),
    rule(
        "error_code",
        r"(?P<code>[45]\d\d)\s?(?:错误|报错)",
        "错误|报错",
        emit=_error("http"),
        before=r"[\d.:/-]",
    ),
    rule("error_code", r"0x[0-9A-Fa-f]{4,16}", "0x", emit=_error("hex"), before=AN, after=AN),
    # SMTP reply with enhanced status code: "550 5.7.1 Relaying denied".
    rule(
        "error_code",
        r"(?P<code>[45]\d\d)[ -](?P<ext>[245]\.\d{1,3}\.\d{1,3})",
        "4.|5.",
        emit=_error("smtp"),
        before=r"[\d.:/-]",
        after=r"[\d.]",
    ),
    rule(
        "error_code",
        r"(?:exit(?:ed)?(?:\s+with)?\s+(?:code|status)|exit_code|return\s+code|退出码|退出代码|返回值)"
        r"\s*[:=：]?\s*(?P<code>-?\d{1,3})",
        "exit|return code|退出|返回值",
        emit=_error("exit"),
        after=r"\d",
        ignore_case=True,
    ),
    rule(
        "error_code",
        _ERRNO_NAMES,
        _ERRNO_NAMES.lower(),
        emit=_error("upper"),
        before=r"[A-Za-z0-9_]",
        after=r"[A-Za-z0-9_]",
    ),
    rule(
        "error_code",
        r"(?:[a-z][a-z0-9_]*\.)*[A-Z][A-Za-z0-9]*(?:Exception|Error)",
        "exception|error",
        emit=_error("keep"),
        before=r"[A-Za-z0-9_]",
        after=AN,
    ),
    # An error name in a pasted log, with the code after it: "AUTH_FAILED code=809".
    rule(
        "error_code",
        rf"(?P<name>{_ERROR_NAME})(?:[ \t]*[,;(]?[ \t]*(?:error_?code|err_?code|code|errno|err|status)"
        r"[ \t]*[=:][ \t]*(?P<code>-?\d{1,6}|0x[0-9A-Fa-f]+))?",
        "failed|failure|fail|error|err|denied|timeout|timed_out|invalid|expired|refused|not_found|locked|unauthorized|unauthorised|forbidden|rejected|unavailable|exceeded|mismatch",
        emit=_error("named"),
        before=r"[A-Za-z0-9_]",
        after=r"[A-Za-z0-9_]",
        ignore_case=False,
    ),
    rule(
        "error_code",
        r"(?:错误码|错误代码|错误号|报错码|错误编号|(?P<en>(?i:error[\s_]*code|errcode|error\s*(?:no\.?|number|#)|errno)))"
        r"(?:\s*(?:为|是|is))?\s*[:：=#]?\s*"
        r"(?P<code>0x[0-9A-Fa-f]+|[A-Za-z]{0,6}[-_]?\d{1,8}|[A-Z][A-Z_]{3,})",
        "错误|报错|error|errno|errcode",
        emit=_error("code"),
        after=r"[A-Za-z0-9_]",
        check=_english_keyword_at_word_start(),
    ),
)


def _version(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    start, end = hit.span("id") if hit.has("id") else hit.span()
    return start, end, hit.group("ver")


_VER_TAIL = r"(?:\.\d+){1,3}"
VERSION_RULES: tuple[Rule, ...] = (
    rule(
        "version",
        rf"[vV](?P<ver>\d+{_VER_TAIL}(?:-[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)?)",
        "v",
        emit=_version,
        before=r"[A-Za-z0-9.]",
        after=r"\.?\d",
    ),
    rule(
        "version",
        r"(?:版本号?|(?P<en>version|ver\.|build))\s*(?:为|是|is)?\s*[:：]?\s*"
        rf"(?P<id>[vV]?(?P<ver>\d+{_VER_TAIL}(?:-[0-9A-Za-z]+)?))",
        "版本|version|ver.|build",
        emit=_version,
        after=r"\.?\d|[A-Za-z]",
        ignore_case=True,
        check=_english_keyword_at_word_start(),
    ),
    rule(
        "version",
        rf"(?P<id>[vV]?(?P<ver>\d+{_VER_TAIL}))\s*(?:版本|版)",
        "版",
        emit=_version,
        before=r"[\d.A-Za-z]",
    ),
)

_WIN_SEG = r"[^\\/:*?\"<>|\r\n\t ，。；：、！？（）【】「」]+"


def _path(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    path = hit.group().rstrip(".-")
    return (hit.start(), hit.start() + len(path), path) if len(path) > 3 else None


PATH_RULES: tuple[Rule, ...] = (
    rule(
        "file_path",
        rf"[A-Za-z]:\\(?:{_WIN_SEG}(?: {_WIN_SEG})*\\)*[A-Za-z0-9_.$~@+\-]*",
        "\\",
        emit=_path,
        before=AN,
    ),
    rule("file_path", rf"\\\\[A-Za-z0-9._-]+(?:\\{_WIN_SEG})+", "\\", emit=_path, before=r"[A-Za-z0-9\\]"),
    rule(
        "file_path",
        r"(?:~|\.{1,2})?"
        r"(?:(?:/[A-Za-z0-9_.@+\-]+){2,}/?|/(?:var|etc|opt|home|usr|tmp|data|srv|mnt|root|proc|dev|app|logs?)/?)",
        "/",
        emit=_path,
        before=r"[A-Za-z0-9_.:/~\\-]",
        after=r"[A-Za-z0-9_/]",
    ),
)

# --------------------------------------------------------------------------- places, devices

_ROOM_WORDS = "会议室|机房|办公区|办公室|茶水间|卫生间|洗手间|前台|大厅|仓库|培训室|休息区|打印室"


def _location(hit: Hit, text: str) -> tuple[int, int, Any]:
    return hit.start(), hit.end(), re.sub(r"\s+", " ", hit.group())


def _floor_is_no_protocol(hit: Hit, text: str) -> bool:
    """ "3层交换机" and "7层协议" are network layers, not floors."""
    rest = text[hit.end("floor") : hit.end("floor") + 2]
    return not (
        rest.startswith(("交换", "网络", "协议", "架构", "缓存"))
        or _followed_by_letter(text, hit.end("floor"))
    )


LOCATION_RULES: tuple[Rule, ...] = (
    rule(
        "location",
        r"(?:(?:[A-Z]\s?座|[A-Z0-9]{1,3}\s?(?:号楼|栋|幢|号馆))\s?)?"
        r"(?:\d{1,3}|[一二三四五六七八九十]{1,3})\s?(?:楼|层|F)(?P<floor>)"
        rf"(?:\s?[{HAN_CLASS}A-Za-z0-9]{{0,6}}?(?:{_ROOM_WORDS}))?",
        "楼|层|f",
        emit=_location,
        check=_floor_is_no_protocol,
    ),
    rule(
        "location",
        r"(?:[A-Z]\s?座|[A-Z0-9]{1,3}\s?(?:号楼|栋|幢))\s?\d{3,4}(?:室|房间)?",
        "座|栋|幢|号楼",
        emit=_location,
    ),
    rule("location", r"\d{3,4}\s?(?:室|房间)", "室|房间", emit=_location, before=r"[A-Za-z0-9_]"),
    rule("location", r"(?:[A-Z]?\d{1,4}|[A-Z])\s?号?会议室", "会议室", emit=_location, before=AN),
    rule(
        "location",
        r"(?:(?:Meeting|Conference)\s+Room|Room|Rm\.?)\s+[A-Z]?\d{1,4}[A-Z]?|(?:Building|Bldg\.?|Tower|Block)\s+[A-Z0-9]{1,3}|"
        r"[Ff]loor\s+\d{1,2}",
        "room|rm|building|bldg|tower|block|floor",
        emit=_location,
        before=_LETTER,
        after=AN,
    ),
    rule("location", r"\d{1,2}(?:st|nd|rd|th)\s+[Ff]loor", "floor", emit=_location, before=AN, after=_LETTER),
)

# Hardware by brand and model: "Dell Latitude 7440", "HP LaserJet Pro M404dn", "ThinkPad X1 Carbon".
_BRANDS = (
    "Dell|HP|Hewlett[- ]Packard|Lenovo|ThinkPad|ThinkCentre|ThinkBook|Apple|MacBook(?: Pro| Air)?|iMac|iPhone|"
    "iPad|Surface|Microsoft Surface|Huawei|MateBook|Xiaomi|Honor|Cisco|Canon|Epson|Brother|Ricoh|Xerox|"
    "Kyocera|Konica Minolta|Samsung|Asus|Acer|Logitech|Polycom|Yealink|Jabra|Poly|Zebra|Fujitsu|Toshiba|"
    "Sharp|Panasonic|Aruba|Juniper|Fortinet|FortiGate|Palo Alto|Synology|QNAP|Hikvision|Dahua|H3C|Ruijie|"
    "联想|戴尔|惠普|华为|小米|佳能|爱普生|兄弟|理光|施乐|京瓷|华硕|宏碁|海康威视|大华|锐捷|新华三"
)
DEVICE_RULE = rule(
    "device",
    rf"(?:{_BRANDS})(?:[ \t]*(?:[A-Z][A-Za-z]+|[A-Z]+\d*))?(?:[ \t]+(?:[A-Z][A-Za-z]+|[A-Z]+\d*))?"
    r"[ \t]?(?:[A-Za-z]{1,3}\d{1,5}|\d{2,5})[A-Za-z]{0,4}(?:[ \t](?:Gen|G)[ \t]?\d{1,2})?",
    emit=_span(),
    before=r"[A-Za-z0-9_]",
    after=r"[A-Za-z0-9_]",
)

#: Every table-driven rule, in the order they run (the order does not decide overlaps).
RULES: tuple[Rule, ...] = (
    *CONTACT_RULES,
    *NETWORK_RULES,
    *ID_RULES,
    *AMOUNT_RULES,
    DURATION_RULE,
    *ERROR_RULES,
    *VERSION_RULES,
    *PATH_RULES,
    DEVICE_RULE,
)
#: Rules that need Chinese text (their keywords are Chinese).
HAN_RULES: tuple[Rule, ...] = (KEYWORD_AMOUNT,)


def repeated_lines(text: str, out: list[Candidate]) -> None:
    """Once named as a line ("拨打7186"), the same short number elsewhere in the ticket is that line too."""
    lines = {c.value for c in out if c.type == "phone" and isinstance(c.value, str) and c.value.isdigit()}
    lines = {line for line in lines if len(line) <= 6}
    for line in lines:
        start = text.find(line)
        while start != -1:
            end = start + len(line)
            if not (text[start - 1 : start].isdigit() or text[end : end + 1].isdigit()):
                out.append(Candidate(start, end, "phone", line, pii=True))
            start = text.find(line, end)


_PREFILTERS: dict[int, tuple[safe_regex.PatternSet, tuple[int, ...]]] = {}


def _prefilter(rules: Sequence[Rule]) -> tuple[safe_regex.PatternSet, tuple[int, ...]]:
    """One RE2 set of the rules' patterns that run on RE2 (the rest always run)."""
    key = id(rules)
    if key not in _PREFILTERS:
        members = tuple(i for i, r in enumerate(rules) if safe_regex.uses_re2(r.rx.pattern))
        patterns = safe_regex.PatternSet((rules[i].rx.source for i in members), name="field rules")
        _PREFILTERS[key] = (patterns, members)
    return _PREFILTERS[key]


def run_rules(rules: Sequence[Rule], text: str, lowered: str, out: list[Candidate]) -> None:
    """Apply each rule whose needles and pattern occur; every accepted match becomes a candidate.

    One pass of an RE2 set finds which patterns occur at all: each rule's own search (which
    re-encodes the text in RE2's binding) runs only for those.
    """
    patterns, members = _prefilter(rules)
    occurring = patterns.matching(text)
    absent = {members[i] for i in range(len(members)) if i not in occurring}
    for index, r in enumerate(rules):
        if index in absent or not r.applies(lowered):
            continue
        for hit in r.rx.finditer(text):
            found = r.emit(hit, text)
            if found is not None:
                start, end, value = found
                if end > start:
                    out.append(Candidate(start, end, r.type, value, pii=r.pii))
