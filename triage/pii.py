"""Personal data in ticket text: which extracted fields are PII, and text redacted for storage.

The field extractor marks e-mails, phones, ID numbers and bank cards as PII. A person's name is
personal data too, but the extractor's ``person`` fields include products that read like names
("Dell Latitude 7440", "Lenovo ThinkPad X1" from spaCy's NER), so a ``person`` field counts as a
name here only when ``is_person_name`` accepts it: no digit in it, no product word or brand in
it, no model number or ``: <number>`` right after it. spaCy's PERSON alone is not enough (on 200
real bug reports nearly all of its 169 PERSON spans were words such as "Safari", "Tools" or
"Related Help"): an English span found by the NER counts only after a cue ("Hi", "Dear",
"from:", "contact", "user", "Mr.") or as two or three capitalised words starting with a known
first name and going on with no common word ("Sarah Connor", not "Page Info"; first names from the
field lexicon and the 5,500 US census first names of the ``names`` package); spans from the extractor's cue rules count as found. A Chinese name counts after a cue word
(联系人, 姓名, 我是, 申请人, ...) or as surname plus a title of two characters or more (王经理); jieba's
``nr`` and new-word guesses alone do not count: on 300 real fault tickets all 23 of them were
words (连接池, 高峰, 华为), no names. The measurements are in BENCHMARKS.md ("PII: person names").

``PiiRedactor`` is what the service uses when ``redact_pii`` is on: it replaces every PII span by
a placeholder (``[EMAIL]``, ``[PHONE]``, ``[ID_NUMBER]``, ``[BANK_CARD]``, ``[NAME]``) in free
text and in the string values of JSON-like metadata, and turns a person identifier (the agent who
gave feedback) into a stable pseudonym.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from stdnum import luhn
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from triage.fields import PII_PLACEHOLDERS, FieldExtractor
from triage.language import detect_language
from triage.types import ExtractedField
from triage.yaml_loader import read_yaml_mapping

LEXICON = Path(__file__).resolve().parent / "resources" / "field_lexicon.yaml"

NAME_PLACEHOLDER = "[NAME]"

# Words that make a "person" span a product, brand or model rather than a person's name. Lowercase.
_PRODUCT_TEXT = """
    acer adobe amd apple asus atlassian brother canon cisco citrix dell epson fortinet fujitsu google
    honeywell hp hpe huawei ibm intel jabra juniper kyocera lenovo lexmark lg logitech microsoft
    motorola netgear nvidia oracle panasonic philips plantronics poly polycom ricoh salesforce samsung
    sap sharp siemens sony synology toshiba ubiquiti vmware xerox xiaomi zebra zoom
    alienware chromebook elitebook galaxy imac inspiron ipad iphone latitude macbook optiplex pavilion
    pixel precision probook surface thinkcentre thinkpad vostro xps yoga zenbook envy spectre ideapad
    laserjet officejet deskjet pixma workcentre versalink ecosys bizhub
    excel office outlook powerpoint sharepoint skype teams visio windows word
"""
_PRODUCT_WORDS = frozenset(_PRODUCT_TEXT.split())
# A model number right after the span: "Latitude 7440", "ThinkPad X1", "EliteBook 840 G8".
# ... or a value: "cvss score: -1", "tcp ttl:55".
_MODEL_AFTER = re.compile(r"\s{1,2}(?:[A-Za-z]{0,3}\d{2,5}[A-Za-z]{0,3}|[A-Z]\d{1,2})\b|\s*[:=]\s*-?\d")
_WORD = re.compile(r"[A-Za-z]+")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# What may stand right before an English name the NER found.
_EN_CUE_BEFORE = re.compile(
    r"(?:\b(?:hi|hello|hey|dear|thanks|thank you|regards|cheers|contact|name|user|employee|colleague|"
    r"mr|mrs|ms|dr|ask|call|caller|requester|assignee)\b\.?\s*[:,]?|\b(?:from|to|cc)\s*:)[ \t]*$",
    re.IGNORECASE,
)
_EN_NAME = re.compile(r"[A-Z][a-z]+(?:['-][A-Z]?[a-z]+)?(?: [A-Z][a-z]+(?:['-][A-Z]?[a-z]+)?){1,2}")
_HAN = re.compile(r"[\u3400-\u9fff]")
# What may stand right before a Chinese name: a cue word, then 是/为, a colon or spaces.
_ZH_CUE_BEFORE = re.compile(
    r"(?:联系人|申请人|负责人|报修人|提交人|经办人|对接人|发起人|处理人|用户|客户|员工|同事|姓名|名字|我是|我叫|本人)"
    r"\s*(?:是|为|叫)?\s*[:：]?\s*$"
)
_ZH_TITLES = (
    "经理",
    "主任",
    "主管",
    "老师",
    "师傅",
    "总监",
    "部长",
    "处长",
    "科长",
    "组长",
    "院长",
    "局长",
    "工程师",
    "先生",
    "女士",
    "小姐",
    "同学",
    "博士",
    "教授",
    "总",
    "工",
)


def is_person_name(field: ExtractedField, text: str) -> bool:
    """Whether a ``person`` field of ``text`` is a person's name (not a product, brand or model)."""
    if field.type != "person":
        return False
    if _HAN.search(field.text):
        return _chinese_name(field, text)
    if any(ch.isdigit() for ch in field.text):
        return False
    if any(w.lower() in _PRODUCT_WORDS for w in _WORD.findall(field.text)):
        return False
    if _MODEL_AFTER.match(text, field.end) is not None:
        return False
    if field.source != "ner":
        return True  # the extractor's cue rules: "contact john smith", "Regards, Dennis Pare"
    if _EN_CUE_BEFORE.search(text, max(0, field.start - 24), field.start):
        return True
    if _EN_NAME.fullmatch(field.text) is None:
        return False
    first, *rest = field.text.lower().split()
    # "Page Info", "Grant Access": a first name followed by an ordinary word is a phrase.
    return first in _first_names() and not any(w in _common_words() for w in rest)


@functools.cache
def _common_words() -> frozenset[str]:
    """Common English words from the field lexicon (read once)."""
    data = read_yaml_mapping(LEXICON, what="the field lexicon")
    return frozenset(str(data.get("en_common_words", "")).lower().split())


@functools.cache
def _first_names() -> frozenset[str]:
    """English first names: the field lexicon's and the US census list of the ``names`` package (read once)."""
    data = read_yaml_mapping(LEXICON, what="the field lexicon")
    lexicon = str(data.get("en_first_names", "")).lower().split()
    census = resources.files("names")
    words = [
        line.split(maxsplit=1)[0].lower()
        for part in ("dist.male.first", "dist.female.first")
        for line in census.joinpath(part).read_text(encoding="ascii").splitlines()
        if line.strip()
    ]
    return frozenset(lexicon + words)


def _chinese_name(field: ExtractedField, text: str) -> bool:
    """A cue before it, or a surname with a title (王经理; a one-character title only at a boundary)."""
    if _ZH_CUE_BEFORE.search(text, max(0, field.start - 12), field.start):
        return True
    title = next((t for t in _ZH_TITLES if field.text.endswith(t) and len(field.text) > len(t)), None)
    if title is None or field.source == "ner":
        return False
    # "成总" in "造成总线" is no one: a one-character title counts only where no Han word runs into it.
    before = text[field.start - 1] if field.start else ""
    after = text[field.end] if field.end < len(text) else ""
    return len(title) > 1 or not (_HAN.match(before) or _HAN.match(after))


def pii_fields(fields: Sequence[ExtractedField], text: str) -> list[ExtractedField]:
    """The fields that are personal data: those the extractor marked, and person names."""
    return [
        f if f.pii else dataclasses.replace(f, pii=True) for f in fields if f.pii or is_person_name(f, text)
    ]


def redact_spans(text: str, fields: Sequence[ExtractedField]) -> str:
    """``text`` with each PII field's span replaced by its placeholder (overlaps: the first one wins)."""
    pieces: list[str] = []
    cursor = 0
    for f in sorted((f for f in fields if f.pii), key=lambda f: (f.start, -f.end)):
        if text[f.start : f.end] != f.text:
            raise ValueError(
                f"field {f.type} at {f.start}:{f.end} does not match the text; "
                "pass the same text the fields were extracted from"
            )
        if f.start < cursor:
            continue
        pieces += [text[cursor : f.start], PII_PLACEHOLDERS.get(f.type) or _placeholder(f.type)]
        cursor = f.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _placeholder(field_type: str) -> str:
    return NAME_PLACEHOLDER if field_type == "person" else "[PII]"


_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[0-9Xx](?![0-9A-Za-z])")


def resident_ids(text: str) -> list[ExtractedField]:
    """Chinese resident ID numbers by check digit and birth date alone, as PII fields.

    The extractor also wants the birth place in python-stdnum's table of county codes, which
    lags behind reality (440306..., a Shenzhen district, is refused for someone born in 1985):
    for redaction, a valid check digit and date are enough.
    """
    out = []
    for m in _RESIDENT_ID.finditer(text):
        number = m.group(0).upper()
        try:
            if ric.calc_check_digit(number) != number[-1]:
                continue
            ric.get_birth_date(number)
        except ValidationError:
            continue
        out.append(ExtractedField("id_number", m.group(0), number, m.start(), m.end(), "rule", pii=True))
    return out


# 13-19 digits, plain or in groups of four: "6228480012345671", "4367 4200 1234 5673".
_CARD = re.compile(
    r"(?<![0-9A-Za-z])(?:\d{4}[ -]){3}\d{1,7}(?![0-9A-Za-z])|(?<![0-9A-Za-z])\d{13,19}(?![0-9A-Za-z])"
)
# Issuer prefixes of the card schemes seen in tickets: Visa, Mastercard, Amex, UnionPay, JCB, Discover.
_CARD_SCHEME = re.compile(r"4|5[1-5]|2[2-7]|3[47]|62|35|6011|65")


def bank_cards(text: str) -> list[ExtractedField]:
    """Payment card numbers by Luhn check and scheme prefix alone, as PII fields.

    The extractor wants a cue near the number ("银行卡6228...", "card ..."), and misses one after
    other words ("报销打到银行卡6228..."): for redaction the number itself is enough.
    """
    out = []
    for m in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group(0))
        if 13 <= len(digits) <= 19 and _CARD_SCHEME.match(digits) and luhn.is_valid(digits):
            out.append(ExtractedField("bank_card", m.group(0), digits, m.start(), m.end(), "rule", pii=True))
    return out


def _redaction_language(text: str) -> str:
    """The detected language, but "mixed" for any Chinese text with a Latin word in it.

    A mostly Chinese ticket still gets the English name rules and NER ("联系人 ... Contact Margaret
    Thornton"): for redaction a missed name costs more than the extra milliseconds.
    """
    language = detect_language(text)
    if language == "zh" and _LATIN_WORD.search(text):
        return "mixed"
    return language


class PiiRedactor:
    """Replaces personal data in text and metadata by placeholders; thread-safe once the extractor is loaded."""

    def __init__(self, extractor: FieldExtractor) -> None:
        self.extractor = extractor

    def fields(self, text: str, language: str | None = None) -> list[ExtractedField]:
        """The PII fields of ``text``; ``language`` is detected when not given."""
        if not text:
            return []
        found = self.extractor.extract(text, language or _redaction_language(text))
        return pii_fields(found, text) + resident_ids(text) + bank_cards(text)

    def text(self, text: str, language: str | None = None) -> str:
        """``text`` with every e-mail, phone, ID number, bank card and person name replaced."""
        if not text or not text.strip():
            return text
        return redact_spans(text, self.fields(text, language))

    def value(self, value: Any) -> Any:
        """A JSON-like value with its strings redacted at any depth; keys stay as they are.

        A long integer is read as text too, so a card or phone number sent as a JSON number is
        replaced by the placeholder string.
        """
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1_000_000:
            as_text = str(value)
            redacted = self.text(as_text, "other")
            return value if redacted == as_text else redacted
        return value

    def json_bytes(self, body: bytes) -> bytes:
        """A JSON document (a webhook payload) with its values redacted; other bytes as redacted text."""
        document = _json_or_none(body)
        if document is None:
            return self.text(body.decode("utf-8", errors="replace")).encode()
        return json.dumps(self.value(document), ensure_ascii=False).encode()


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def pseudonym(tenant: str, person: str) -> str:
    """A stable stand-in for a person identifier (an agent's name or e-mail) within a tenant.

    The same agent keeps the same pseudonym, so feedback can still be counted per agent; the name
    is not stored. It is a hash, not a secret: someone who guesses the name can confirm the guess.
    """
    digest = hashlib.sha256(f"{tenant}\0{person.strip().lower()}".encode()).hexdigest()
    return f"agent-{digest[:16]}"
