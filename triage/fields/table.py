"""The field table: for each field type, its patterns, when they run, and how a match becomes a value.

The rows live in ``resources/field_table.yaml`` (one :class:`Rule` each). A rule runs when one of
its lowercase ``needles`` occurs in the text (always when it has none); its pattern's boundaries
are data (``before``/``after``, see :mod:`triage.fields.engine`); its ``emit``, looked up by name
in :data:`EMITS`, turns a match into ``(start, end, value)`` or refuses it, and its ``check``
names (:data:`CHECKS`) may refuse a match first. The same file holds the field types and their
ranks, value maps, and named patterns (:func:`named_patterns`) that :mod:`triage.fields.dates`
and :mod:`triage.fields.names` run themselves, since reading their groups takes code.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers
from stdnum import luhn
from stdnum.cn import ric

from triage import safe_regex
from triage.fields.engine import TABLE_PATH, Candidate, Hit, Rx, read_resource
from triage.fields.numbers import CN_NUM_CHARS, NUM, number

Emit = Callable[[Hit, str], "tuple[int, int, Any] | None"]
Check = Callable[[Hit, str], bool]

HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff"


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


def _preceded_by_letter(text: str, pos: int) -> bool:
    return pos > 0 and text[pos - 1].isascii() and text[pos - 1].isalpha()


def followed_by_letter(text: str, pos: int) -> bool:
    return pos < len(text) and text[pos].isascii() and text[pos].isalpha()


def _en_word_start(hit: Hit, text: str) -> bool:
    """An English keyword (the pattern's ``en`` group) must start a word: "xticket" is no ticket."""
    return not (hit.has("en") and _preceded_by_letter(text, hit.start("en")))


def _id_has_digit(hit: Hit, text: str) -> bool:
    ident = hit.get("id")
    return ident is None or any(ch.isdigit() for ch in ident)


def _keyword_start(hit: Hit) -> int:
    """Where the keyword starts: the ``en`` group when it took part (a boundary character may precede it)."""
    return hit.start("en") if hit.has("en") else hit.start()


def _not_after_purchase(hit: Hit, text: str) -> bool:
    """ "采购订单号" and "purchase order no." are purchase orders, not orders."""
    start = _keyword_start(hit)
    return not _C["purchase_before"].pattern.search(text[max(0, start - 12) : start])


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
    return (hit.start(), hit.end(), value) if ric.is_valid(value) else None


def _bank_card(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    raw = hit.group()
    digits = re.sub(r"\D", "", raw)
    if not 13 <= len(digits) <= 19 or not luhn.is_valid(digits):
        return None
    separators = set(re.sub(r"\d", "", raw))
    if len(separators) > 1:
        return None  # "1234 5678-9012 3456": one separator throughout
    if len(digits) == 18 and _C["resident_id"].fullmatch(digits):
        return None  # shaped like a resident ID whose checksum failed: neither
    if _C["not_a_card_before"].search(text, max(0, hit.start() - 16), hit.start()):
        return None
    return hit.start(), hit.end(), digits


def _hotline(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    group = next(g for g in ("id", "ext", "pre") if hit.has(g))
    start, end = hit.span(group)
    return start, end, text[start:end]


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


_VALUES = read_resource(TABLE_PATH)["values"]
CURRENCIES: Mapping[str, str] = _VALUES["currencies"]
MULTIPLIERS: Mapping[str, float] = _VALUES["multipliers"]


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
    return not (mult and len(mult) == 1 and mult.isascii() and followed_by_letter(text, hit.end("mult")))


def _code_is_a_word(hit: Hit, text: str) -> bool:
    """A currency code ("RMB") is a word of its own."""
    cur = hit.get("cur") or ""
    if not cur.isalpha() or not cur.isascii():
        return True
    return not _preceded_by_letter(text, hit.start("cur")) and not followed_by_letter(text, hit.end("cur"))


# Duration units in hours, from the table's seconds (1 / 60 and 60 / 3600 round to the same float).
DURATION_UNITS: Mapping[str, float] = {
    unit: secs / 3600 for unit, secs in _VALUES["duration_seconds"].items()
}
_HOUR_UNITS = tuple(_VALUES["hour_units"].split())


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
    minutes_fit = hit.has("unit2end") and not followed_by_letter(text, hit.start("unit2end"))
    if minutes_fit and unit in _HOUR_UNITS:
        minutes = number(hit.group("num2"))
        if minutes is not None:
            hours += minutes / 60
        end = hit.end()
    return hit.start(), end, round(hours, 4)


def _money_k(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    found = _money(hit, text)
    if found is None or not hit.has("k"):
        return found
    start, end, value = found
    return start, end, {"amount": round(value["amount"] * 1e3, 2), "currency": value["currency"]}


def _keyword_amount(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    following = text[hit.end() : hit.end() + 1]
    if following.isalpha() and following != "元":  # Chinese characters are letters too
        return None  # "报销3笔": a count, not money
    amount = number(hit.group("num"))
    if amount is None:
        return None
    if hit.get("mult"):
        amount *= MULTIPLIERS[hit.group("mult")]
    return hit.start("num"), hit.end(), {"amount": round(amount, 2), "currency": "CNY"}


def _template(template: str) -> Emit:
    """The whole match, its value the row's template over the named groups ("HTTP {code}")."""
    return lambda hit, text: (hit.start(), hit.end(), template.format_map(hit.groupdict()))


def _hex_or_upper(code: str) -> str:
    return "0x" + code[2:].upper() if code.lower().startswith("0x") else code.upper()


def _named_error(hit: Hit, text: str) -> tuple[int, int, Any]:
    """ "AUTH_FAILED code=809": the name and its number."""
    value = f"{hit.group('name')} {hit.group('code')}" if hit.has("code") else hit.group("name")
    return hit.start(), hit.end(), value


def _version(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    start, end = hit.span("id") if hit.has("id") else hit.span()
    return start, end, hit.group("ver")


def _path(hit: Hit, text: str) -> tuple[int, int, Any] | None:
    path = hit.group().rstrip(".-")
    return (hit.start(), hit.start() + len(path), path) if len(path) > 3 else None


def _location(hit: Hit, text: str) -> tuple[int, int, Any]:
    return hit.start(), hit.end(), re.sub(r"\s+", " ", hit.group())


def _floor_is_no_protocol(hit: Hit, text: str) -> bool:
    """ "3层交换机" and "7层协议" are network layers, not floors."""
    rest = text[hit.end("floor") : hit.end("floor") + 2]
    return not (
        rest.startswith(("交换", "网络", "协议", "架构", "缓存"))
        or followed_by_letter(text, hit.end("floor"))
    )


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


def _hotline_context(hit: Hit, text: str) -> bool:
    """ "call 7186" but not "recall 7186"; "7186热线" but not "3.7186热线"."""
    return (
        not (hit.has("en") and _preceded_by_letter(text, hit.start("en")))
        and not (hit.has("en2") and _preceded_by_letter(text, hit.start("en2")))
        and not (hit.has("pre") and hit.start() > 0 and text[hit.start() - 1] in "0123456789.")
    )


def _sn_word_end(hit: Hit, text: str) -> bool:
    """An abbreviation keyword ("sn") must end a word too."""
    return not (hit.has("snend") and followed_by_letter(text, hit.start("snend")))


#: How a match becomes a value, by the name a row gives in ``emit``.
EMITS: Mapping[str, Emit] = {
    "id_span": _span("id", str.upper),  # an identifier: the ``id`` group when there is one
    "span": _span(),
    "lower_span": _span(None, str.lower),
    "lower_id_span": _span("id", str.lower),
    "email": _email,
    "resident_id": _resident_id,
    "bank_card": _bank_card,
    "phone_intl": _phone(None),
    "phone_cn": _phone("CN"),
    "phone_us": _phone("US", keep_digits=True),
    "hotline": _hotline,
    "url": _url,
    "ipv6": _ipv6,
    "money": _money,
    "money_k": _money_k,
    "keyword_amount": _keyword_amount,
    "duration": _duration,
    "upper_span": _span(None, str.upper),
    "hex_span": _span(None, _hex_or_upper),
    "code": _span("code", _hex_or_upper),
    "error_named": _named_error,
    "version": _version,
    "path": _path,
    "location": _location,
}

#: Checks that may refuse a match, by the names a row gives in ``check``.
CHECKS: Mapping[str, Check] = {
    "en_word_start": _en_word_start,
    "id_has_digit": _id_has_digit,
    "sn_word_end": _sn_word_end,
    "not_after_purchase": _not_after_purchase,
    "hotline_context": _hotline_context,
    "plausible_host": lambda hit, text: _plausible_host_label(hit.group()),
    "not_os_id": lambda hit, text: _C["not_a_host"].pattern.match(hit.group("id")) is None,
    "vendor_id_digits": lambda hit, text: re.search(r"\d{4}", hit.group("id")) is not None,
    "bare_order_long": lambda hit, text: not hit.has("bare") or len(hit.group("id").partition("/")[0]) >= 6,
    "unit_ends_word": lambda hit, text: not followed_by_letter(text, hit.start("unitend")),
    "code_not_continued": lambda hit, text: (
        text[hit.start("codeend") : hit.start("codeend") + 1] not in set("0123456789.")
    ),
    "code_is_a_word": _code_is_a_word,
    "no_letter_after_mult": _no_letter_after_mult,
    "floor_is_no_protocol": _floor_is_no_protocol,
}

_FRAGMENT = re.compile(r"<<([A-Z_]+)>>")
_ROW_KEYS = frozenset(
    {
        "type",
        "pattern",
        "needles",
        "emit",
        "value",
        "before",
        "after",
        "ignore_case",
        "multiline",
        "check",
        "pii",
    }
)


def _expand(value: str, fragments: Mapping[str, str]) -> str:
    return _FRAGMENT.sub(lambda m: fragments[m.group(1)], value)


def _combine(checks: Sequence[Check]) -> Check | None:
    if len(checks) <= 1:
        return checks[0] if checks else None
    return lambda hit, text: all(c(hit, text) for c in checks)


def _rx(row: Mapping[str, Any], fragments: Mapping[str, str], checks: Mapping[str, Check], name: str) -> Rx:
    unknown = set(row) - _ROW_KEYS
    if unknown:
        raise ValueError(f"{TABLE_PATH.name}: unknown keys {sorted(unknown)} in {name}")
    pattern = _expand(str(row["pattern"]), fragments)
    # An English keyword (group ``en``) starts a word: a line start or a non-letter before it is
    # part of the match, so RE2 never proposes "ticket" inside "xticket" for a check to refuse.
    for group in ("(?P<en>", "(?P<en2>"):
        pattern = pattern.replace(group, "(?:^|[^A-Za-z])" + group)
    names = row.get("check", [])
    try:
        found = [checks[n] for n in ([names] if isinstance(names, str) else names)]
    except KeyError as exc:
        raise ValueError(f"{TABLE_PATH.name}: no check named {exc} ({name})") from None
    return Rx(
        pattern,
        before=str(row.get("before", "")),
        after=str(row.get("after", "")),
        ignore_case=bool(row.get("ignore_case", False)),
        multiline=bool(row.get("multiline", False)),
        check=_combine(found),
        name=name,
    )


def _rule(row: Mapping[str, Any], fragments: Mapping[str, str]) -> Rule:
    field_type = str(row["type"])
    name = f"field {field_type} {str(row['pattern'])[:40]!r}"
    try:
        emit = _template(row["value"]) if "value" in row else EMITS[row.get("emit", "id_span")]
    except KeyError as exc:
        raise ValueError(f"{TABLE_PATH.name}: no emit named {exc} ({name})") from None
    needles = _expand(str(row.get("needles", "")), fragments)
    rx = _rx(row, fragments, CHECKS, name)
    return Rule(field_type, rx, emit, tuple(n for n in needles.split("|") if n), bool(row.get("pii", False)))


def _fragments(data: Mapping[str, Any]) -> dict[str, str]:
    fragments = {"HAN_CLASS": HAN_CLASS, "NUM": NUM, "CN_NUM_CHARS": CN_NUM_CHARS}
    for name, value in data["fragments"].items():
        fragments[name] = _expand(str(value), fragments)
    fragments["ERRNO_NAMES_LOWER"] = fragments["ERRNO_NAMES"].lower()
    return fragments


def load_table(path: Path = TABLE_PATH) -> dict[str, tuple[Rule, ...]]:
    """The table's row lists by name (``rules``, ``han_rules``, ``location_rules``), compiled."""
    data = read_resource(path)
    fragments = _fragments(data)
    return {
        key: tuple(_rule(row, fragments) for row in data[key])
        for key in ("rules", "han_rules", "location_rules")
    }


def named_patterns(section: str, checks: Mapping[str, Check], **fragments: str) -> dict[str, Rx]:
    """One section of the table's named patterns (``date_patterns``, ``name_patterns``), compiled;
    their rows have a rule row's keys but ``type``, ``needles`` and ``emit``. ``fragments`` adds
    ``<<NAME>>`` fragments built from word lists (surnames)."""
    data = read_resource(TABLE_PATH)
    fragments, known = _fragments(data) | fragments, {**CHECKS, **checks}
    return {name: _rx(row, fragments, known, f"{section} {name}") for name, row in data[section].items()}


#: The patterns the checks and emits above read (the table's ``check_patterns``).
_C: dict[str, Rx] = named_patterns(
    "check_patterns",
    {
        "keyword_is_a_word": lambda hit, text: (
            not (
                hit.has("word")
                and (_preceded_by_letter(text, hit.start()) or followed_by_letter(text, hit.end()))
            )
        )
    },
)
_TABLE = load_table()
#: Every table-driven rule, in the order they run (the order does not decide overlaps).
RULES: tuple[Rule, ...] = _TABLE["rules"]
#: Rules that need Chinese text (their keywords are Chinese).
HAN_RULES: tuple[Rule, ...] = _TABLE["han_rules"]
#: Places written as floors, rooms and buildings.
LOCATION_RULES: tuple[Rule, ...] = _TABLE["location_rules"]


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
