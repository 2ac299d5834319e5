"""Deterministic demo tickets and knowledge-base articles in Chinese, English and mixed text.

The demo model bundle is trained on these tickets and the solved-case store is filled from
them. Every template was written for this module; nothing is copied from ``../shared/datasets``.

Tickets are drawn from hand-written problem templates per category, filled with slot values
(hosts, IPs, asset tags, invoice and PO numbers, amounts, dates, error codes, phones, ...),
then dressed the way real tickets arrive: greetings, signatures, forwarded threads,
disclaimers, pasted logs, typos, chat shorthand. Urgent wording follows the priority, and
handling time follows priority, department and category with noise. A few dozen bursts of
tickets report the same outage within hours.

Tickets that two departments could plausibly own keep ambiguous wording but are always
labelled by the rules in ``OWNERSHIP_RULES``.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

import yaml

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Templates, slot values, dressing and articles are data: training/resources/sample_tickets/*.yaml
# (<Department>.<zh|en>.yaml and incidents.<zh|en>.yaml pair their entries across languages by ``id``).
RESOURCES = Path(__file__).resolve().parent / "resources" / "sample_tickets"


def _resource(name: str) -> Any:
    """One YAML resource file of the generator (C loader: the whole set loads in milliseconds)."""
    path = RESOURCES / name
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"sample-data resource {path} is unreadable ({exc}); restore it from git") from exc


DEPARTMENTS: tuple[str, ...] = (
    "IT",
    "HR",
    "Finance",
    "Facilities",
    "Procurement",
    "Legal",
    "CustomerService",
    "Security",
)

DEPARTMENT_NAMES_ZH: dict[str, str] = {
    "IT": "信息技术部",
    "HR": "人力资源部",
    "Finance": "财务部",
    "Facilities": "行政部",
    "Procurement": "采购部",
    "Legal": "法务部",
    "CustomerService": "客户服务部",
    "Security": "安全管理部",
}

CATEGORIES: dict[str, tuple[str, ...]] = {
    "IT": ("network", "account_access", "hardware", "software", "email", "database"),
    "HR": ("payroll", "leave", "attendance", "onboarding", "benefits", "training"),
    "Finance": ("reimbursement", "invoice", "payment", "budget", "tax", "accounting"),
    "Facilities": ("maintenance", "meeting_room", "office_supplies", "cleaning", "parking", "relocation"),
    "Procurement": ("purchase_request", "vendor", "quotation", "purchase_order", "delivery"),
    "Legal": ("contract_review", "compliance", "intellectual_property", "dispute", "privacy"),
    "CustomerService": ("complaint", "refund", "order_status", "product_question", "account_issue"),
    "Security": ("access_badge", "phishing", "malware", "data_protection", "vulnerability", "cctv"),
}

CATEGORY_NAMES_ZH: dict[str, str] = {
    "network": "网络",
    "account_access": "账号与权限",
    "hardware": "硬件",
    "software": "软件",
    "email": "邮件",
    "database": "数据库",
    "payroll": "薪酬",
    "leave": "假期",
    "attendance": "考勤",
    "onboarding": "入离职",
    "benefits": "福利",
    "training": "培训",
    "reimbursement": "费用报销",
    "invoice": "发票",
    "payment": "付款",
    "budget": "预算",
    "tax": "税务",
    "accounting": "会计核算",
    "maintenance": "维修",
    "meeting_room": "会议室",
    "office_supplies": "办公用品",
    "cleaning": "保洁",
    "parking": "停车",
    "relocation": "搬迁与工位",
    "purchase_request": "采购申请",
    "vendor": "供应商管理",
    "quotation": "询价报价",
    "purchase_order": "采购订单",
    "delivery": "到货交付",
    "contract_review": "合同审核",
    "compliance": "合规",
    "intellectual_property": "知识产权",
    "dispute": "纠纷诉讼",
    "privacy": "隐私与个人信息",
    "complaint": "投诉",
    "refund": "退款",
    "order_status": "订单",
    "product_question": "产品咨询",
    "account_issue": "客户账号",
    "access_badge": "门禁与工卡",
    "phishing": "钓鱼邮件",
    "malware": "病毒与恶意软件",
    "data_protection": "数据保护",
    "vulnerability": "漏洞",
    "cctv": "监控",
}

PRIORITIES: tuple[str, ...] = ("P1", "P2", "P3", "P4")
CHANNELS: tuple[str, ...] = ("email", "portal", "phone", "chat", "wechat")
LANGUAGES: tuple[str, ...] = ("zh", "en", "mixed")

# (topic two departments could own, the department that always gets the label)
OWNERSHIP_RULES: tuple[tuple[str, str], ...] = (
    ("buying anything (laptops, licences, furniture, spare parts)", "Procurement"),
    ("faults in equipment or software already in use", "IT"),
    ("badges, electronic door access, server-room entry", "Security"),
    ("CCTV footage and cameras", "Security"),
    ("mechanical locks, doors, furniture, meeting-room AV equipment", "Facilities"),
    ("money back to a customer, or an invoice a customer asks for", "CustomerService"),
    ("employee expense claims, vendor payments, invoices we issue or receive", "Finance"),
    ("contracts to review, sign or stamp, even when Procurement raised them", "Legal"),
    ("legal proceedings, including labour arbitration", "Legal"),
    ("suspicious e-mail and requests to transfer money 'from the boss'", "Security"),
    ("accounts and permissions for new hires", "IT"),
    ("employment paperwork, attendance machines, training policy", "HR"),
)

TZ = timezone(timedelta(hours=8))
_START = datetime(2025, 4, 1, tzinfo=TZ)
_SPAN_DAYS = 365
_NOW = _START + timedelta(days=_SPAN_DAYS)
_COMPANY_DOMAIN = "corp.example.com"

# ---------------------------------------------------------------------------------------------
# Slots: values drawn lazily per ticket, each with a zh and an en surface form.
# ---------------------------------------------------------------------------------------------

_Value = str | tuple[str, str]
_SlotFn = Callable[["_Slots"], _Value]


class _Slots:
    """The slot values of one ticket; a name keeps its value wherever it appears.

    ``variant`` picks the option of every linked choice ``[a|b|c]``, so the title, body and
    resolution of one ticket describe the same sub-problem.
    """

    def __init__(self, rng: random.Random, when: datetime) -> None:
        self.rng = rng
        self.when = when
        self.variant = rng.randrange(720720)  # divisible by 1..16: every option count is fair
        self._values: dict[str, tuple[str, str]] = {}

    def get(self, name: str, lang: str) -> str:
        pair = self._values.get(name)
        if pair is None:
            draw = _SLOTS.get(name) or _SLOTS.get(name.rstrip("0123456789"))
            if draw is None:
                raise KeyError(
                    f"unknown slot {name!r} in a sample template; known: {', '.join(sorted(_SLOTS))}"
                )
            value = draw(self)
            pair = (value, value) if isinstance(value, str) else value
            self._values[name] = pair
        return pair[1] if lang == "en" else pair[0]


# Template mini-language: ``{name}`` is a slot, ``{a|b}`` a free choice, ``[a|b]`` a linked
# choice; choices nest and options may be empty.


@dataclass(frozen=True)
class _SlotRef:
    name: str


@dataclass(frozen=True)
class _Choice:
    options: tuple[tuple[_Part, ...], ...]
    linked: bool


_Part = str | _SlotRef | _Choice
_SLOT_AT = re.compile(r"\{(\w+)\}")
_CLOSER = {"{": "}", "[": "]"}


def _parse_sequence(text: str, pos: int, closer: str) -> tuple[list[_Part], int]:
    parts: list[_Part] = []
    literal: list[str] = []
    while pos < len(text):
        char = text[pos]
        if closer and char in ("|", closer):
            break
        if char in _CLOSER:
            slot = _SLOT_AT.match(text, pos) if char == "{" else None
            if literal:
                parts.append("".join(literal))
                literal = []
            if slot:
                parts.append(_SlotRef(slot.group(1)))
                pos = slot.end()
                continue
            options: list[tuple[_Part, ...]] = []
            pos += 1
            while True:
                option, pos = _parse_sequence(text, pos, _CLOSER[char])
                options.append(tuple(option))
                if pos >= len(text):
                    raise ValueError(f"unclosed {char!r} in sample template: {text[:60]!r}")
                pos += 1
                if text[pos - 1] == _CLOSER[char]:
                    break
            parts.append(_Choice(tuple(options), linked=char == "["))
            continue
        literal.append(char)
        pos += 1
    if literal:
        parts.append("".join(literal))
    return parts, pos


@lru_cache(maxsize=8192)
def _parse(text: str) -> tuple[_Part, ...]:
    parts, _ = _parse_sequence(text, 0, "")
    return tuple(parts)


def _evaluate(parts: Sequence[_Part], slots: _Slots, lang: str, out: list[str], values: list[str]) -> None:
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, _SlotRef):
            out.append(f"\x00{len(values)}\x01")
            values.append(slots.get(part.name, lang))
        else:
            count = len(part.options)
            index = slots.variant % count if part.linked else slots.rng.randrange(count)
            _evaluate(part.options[index], slots, lang, out, values)


_TIDY = (
    (re.compile(r"[ \t]{2,}"), " "),
    (re.compile(r" +([，。！？；：、）”,.;:!?)])"), r"\1"),
    (re.compile(r"([，。！？；：、（“(]) +"), r"\1"),
    (re.compile(r"([，。])[，。]+"), r"\1"),
    (re.compile(r" +\n"), "\n"),
)
_MARKER = re.compile(r"\x00(\d+)\x01")


def _render(text: str, slots: _Slots, lang: str) -> str:
    """Fill a template; spacing left by empty options is tidied, slot values are left verbatim."""
    out: list[str] = []
    values: list[str] = []
    _evaluate(_parse(text), slots, lang, out, values)
    rendered = "".join(out).strip()
    if " " in rendered or "，，" in rendered or "。，" in rendered or "，。" in rendered:
        for pattern, replacement in _TIDY:
            rendered = pattern.sub(replacement, rendered)
    return _MARKER.sub(lambda m: values[int(m.group(1))], rendered) if values else rendered


def _c(*options: _Value) -> _SlotFn:
    def draw(s: _Slots) -> _Value:
        return s.rng.choice(options)

    return draw


_ZH_SURNAMES = (
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
    ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"), ("徐", "Xu"), ("孙", "Sun"),
    ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"), ("何", "He"), ("林", "Lin"),
    ("罗", "Luo"), ("高", "Gao"), ("郑", "Zheng"), ("梁", "Liang"), ("谢", "Xie"), ("宋", "Song"),
    ("唐", "Tang"), ("韩", "Han"), ("冯", "Feng"), ("邓", "Deng"), ("曹", "Cao"), ("彭", "Peng"),
)  # fmt: skip
_ZH_GIVEN = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀", "xiu"),
    ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("文", "wen"), ("华", "hua"), ("建", "jian"),
    ("国", "guo"), ("晓", "xiao"), ("婷", "ting"), ("宇", "yu"), ("浩", "hao"), ("欣", "xin"),
    ("佳", "jia"), ("鹏", "peng"), ("辉", "hui"), ("琳", "lin"), ("雪", "xue"), ("俊", "jun"),
    ("博", "bo"), ("颖", "ying"), ("倩", "qian"), ("思", "si"), ("子", "zi"), ("嘉", "jia"),
)  # fmt: skip
_EN_FIRST = (
    "James", "Emma", "Michael", "Olivia", "David", "Sophie", "Daniel", "Laura", "Thomas", "Anna",
    "Robert", "Julia", "Mark", "Hannah", "Peter", "Grace", "Kevin", "Chloe", "Lucas", "Nina",
)  # fmt: skip
_EN_LAST = (
    "Smith", "Brown", "Miller", "Wilson", "Taylor", "Anderson", "Martin", "Clarke", "Walker",
    "Hughes", "Becker", "Schmidt", "Dubois", "Rossi", "Novak", "Larsen", "Evans", "Turner",
)  # fmt: skip


def _zh_name(rng: random.Random) -> tuple[str, str, str]:
    """A Chinese name, its pinyin display form ("Wei Zhang") and an account stem ("zhangwei")."""
    surname, surname_py = rng.choice(_ZH_SURNAMES)
    given = [rng.choice(_ZH_GIVEN) for _ in range(rng.choice((1, 2, 2)))]
    given_zh = "".join(g[0] for g in given)
    given_py = "".join(g[1] for g in given)
    return surname + given_zh, f"{given_py.capitalize()} {surname_py}", surname_py.lower() + given_py


def _person(s: _Slots) -> _Value:
    rng = s.rng
    if rng.random() < 0.25:
        name = f"{rng.choice(_EN_FIRST)} {rng.choice(_EN_LAST)}"
        return name, name
    zh, pinyin, _ = _zh_name(rng)
    return zh, pinyin


def _email_of(display: str) -> str:
    parts = display.lower().replace("-", "").split()
    return f"{parts[0]}.{parts[-1]}@{_COMPANY_DOMAIN}"


def _person_email(s: _Slots) -> _Value:
    return _email_of(s.get("person", "en"))


def _internal_email(s: _Slots) -> _Value:
    rng = s.rng
    if rng.random() < 0.3:
        return _email_of(f"{rng.choice(_EN_FIRST)} {rng.choice(_EN_LAST)}")
    _, pinyin, _ = _zh_name(rng)
    return _email_of(pinyin)


def _external_email(s: _Slots) -> _Value:
    rng = s.rng
    _, _, stem = _zh_name(rng)
    kind = rng.random()
    if kind < 0.3:
        return f"{rng.randint(10000000, 3999999999)}@qq.com"
    if kind < 0.55:
        return f"{stem}{rng.randint(70, 99)}@163.com"
    if kind < 0.75:
        return f"{stem}@{rng.choice(('client.example.cn', 'partner.example.com', 'buyer.example.net'))}"
    return f"{rng.choice(_EN_FIRST).lower()}.{rng.choice(_EN_LAST).lower()}@{rng.choice(('gmail.com', 'outlook.com'))}"


def _username(s: _Slots) -> _Value:
    _, _, stem = _zh_name(s.rng)
    return stem + (str(s.rng.randint(1, 9)) if s.rng.random() < 0.3 else "")


_MOBILE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152",
                    "155", "158", "159", "180", "181", "186", "187", "188", "189")  # fmt: skip


def _mobile(s: _Slots) -> _Value:
    rng = s.rng
    digits = rng.choice(_MOBILE_PREFIXES) + f"{rng.randint(0, 99999999):08d}"
    style = rng.random()
    if style < 0.6:
        return digits
    if style < 0.75:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style < 0.9:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"


def _landline(s: _Slots) -> _Value:
    rng = s.rng
    return (
        f"{rng.choice(('010', '010', '021', '020', '0755', '028', '0571'))}-{rng.randint(50000000, 89999999)}"
    )


def _ip(s: _Slots) -> _Value:
    rng = s.rng
    kind = rng.random()
    if kind < 0.5:
        return f"10.{rng.randint(0, 40)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
    if kind < 0.8:
        return f"192.168.{rng.randint(0, 20)}.{rng.randint(2, 254)}"
    return f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"


_HOST_STEMS = ("srv-db", "web-prod", "app-prod", "app-uat", "erp-prd", "mail", "fs", "k8s-node",
               "oa-app", "crm-prod", "bi-etl", "srv-app", "db-ora", "mq-prod")  # fmt: skip


def _host(s: _Slots) -> _Value:
    return f"{s.rng.choice(_HOST_STEMS)}-{s.rng.randint(1, 12):02d}"


def _year(s: _Slots) -> int:
    return s.when.year if s.rng.random() < 0.85 else s.when.year - 1


_ALNUM = "ABCDEFGHJKLMNPQRTUWXY0123456789"


def _code(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(length))


def _date_forms(s: _Slots, day: date) -> tuple[str, str]:
    rng = s.rng
    ref = s.when.date()
    delta = (day - ref).days
    week = (delta + ref.weekday()) // 7
    weekday_zh = "一二三四五六日"[day.weekday()]
    weekday_en = _WEEKDAYS_EN[day.weekday()]
    month_en = _MONTHS_EN[day.month - 1]
    zh = [
        f"{day.year}年{day.month}月{day.day}日",
        f"{day.month}月{day.day}日",
        f"{day.month:02d}/{day.day:02d}",
    ]
    en = [
        f"{month_en} {day.day}",
        f"{day.month:02d}/{day.day:02d}",
        day.isoformat(),
        f"{day.day} {month_en[:3]}",
    ]
    if delta == 1:
        zh.append("明天")
        en.append("tomorrow")
    elif delta == -1:
        zh.append("昨天")
        en.append("yesterday")
    elif week == 0:
        zh.append(f"本周{weekday_zh}")
        en.append(f"this {weekday_en}")
    elif week == 1:
        zh.append(f"下周{weekday_zh}")
        en.append(f"next {weekday_en}")
    elif week == -1:
        zh.append(f"上周{weekday_zh}")
        en.append(f"last {weekday_en}")
    return rng.choice(zh), rng.choice(en)


_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")  # fmt: skip


def _future_date(s: _Slots) -> _Value:
    return _date_forms(s, s.when.date() + timedelta(days=s.rng.randint(1, 21)))


def _past_date(s: _Slots) -> _Value:
    return _date_forms(s, s.when.date() - timedelta(days=s.rng.randint(1, 35)))


def _iso_past(s: _Slots) -> _Value:
    return (s.when.date() - timedelta(days=s.rng.randint(30, 120))).isoformat()


def _month(s: _Slots) -> _Value:
    month = (s.when.month - 2) % 12 + 1 if s.rng.random() < 0.7 else s.when.month
    return f"{month}月", _MONTHS_EN[month - 1]


def _quarter(s: _Slots) -> _Value:
    return str(min(4, (s.when.month - 1) // 3 + 2))


def _clock(s: _Slots) -> _Value:
    earlier = s.when - timedelta(minutes=s.rng.randint(10, 180))
    hour, minute = earlier.hour, earlier.minute // 5 * 5
    zh = s.rng.choice((f"{hour}:{minute:02d}", f"{hour}点{minute}分" if minute else f"{hour}点"))
    suffix = "am" if hour < 12 else "pm"
    en = s.rng.choice((f"{hour}:{minute:02d}", f"{(hour - 1) % 12 + 1}:{minute:02d} {suffix}"))
    return zh, en


def _yuan(value: int, rng: random.Random) -> tuple[str, str]:
    zh_forms = [f"¥{value:,}", f"{value}元", f"人民币{value:,.2f}元"]
    if value >= 10000:
        zh_forms.append(f"{value / 10000:.2f}".rstrip("0").rstrip(".") + "万元")
        zh_forms.append(f"{value / 10000:.2f}".rstrip("0").rstrip(".") + "万元")
    en_forms = [
        f"¥{value:,}",
        f"RMB {value:,}",
        f"CNY {value:,.2f}",
        f"USD {round(value / 7.2):,}",
        f"€{round(value / 7.8):,}",
    ]
    return rng.choice(zh_forms), rng.choice(en_forms)


def _amount(s: _Slots) -> _Value:
    rng = s.rng
    value = rng.randint(3, 400) * rng.choice((10, 50, 100)) + (
        rng.randint(1, 99) if rng.random() < 0.2 else 0
    )
    return _yuan(value, rng)


def _amount_big(s: _Slots) -> _Value:
    rng = s.rng
    return _yuan(rng.randint(20, 2500) * 1000 + rng.choice((0, 0, 500, 800)), rng)


def _amount_fx(s: _Slots) -> _Value:
    rng = s.rng
    value = rng.randint(2, 900) * 10
    return rng.choice(
        (f"USD {value:,}", f"€{value:,}", f"SGD {value:,}", f"JPY {value * 150:,}", f"${value:,}.00")
    )


def _floor(s: _Slots) -> _Value:
    rng = s.rng
    n = rng.randint(2, 18)
    ordinal = f"{n}th" if 10 <= n % 100 <= 20 else f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"
    return rng.choice((f"{n}楼", f"{n}层", f"{n}F")), rng.choice(
        (f"{n}F", f"floor {n}", f"the {ordinal} floor")
    )


def _room(s: _Slots) -> _Value:
    rng = s.rng
    building, level, letter = rng.randint(1, 5), rng.randint(2, 18), rng.choice("ABCDEF")
    named = rng.choice((("长城厅", "Great Wall room"), ("黄山厅", "Huangshan room"), ("西湖厅", "West Lake room"),
                        ("泰山厅", "Taishan room"), ("多功能厅", "multi-purpose hall")))  # fmt: skip
    if rng.random() < 0.3:
        return f"{level}层{named[0]}", f"the {named[1]} on {level}F"
    return f"{building}号楼{level}层{letter}会议室", f"meeting room {level}{letter} in building {building}"


def _desk(s: _Slots) -> _Value:
    return f"{s.rng.randint(2, 18)}F-{s.rng.choice('ABCD')}-{s.rng.randint(1, 80):03d}"


def _mac(s: _Slots) -> _Value:
    return ":".join(f"{s.rng.randint(0, 255):02x}" for _ in range(6))


def _asset(s: _Slots) -> _Value:
    return f"AST-{s.rng.randint(2019, 2026)}-{s.rng.randint(1, 19999):05d}"


def _serial(s: _Slots) -> _Value:
    return s.rng.choice(("5CG", "PF", "C02", "CN0", "SN")) + _code(s.rng, 7)


def _invoice(s: _Slots) -> _Value:
    return f"INV-{_year(s)}-{s.rng.randint(1, 99999):06d}"


def _invoice_zh(s: _Slots) -> _Value:
    return f"{s.rng.randint(0, 99999999):08d}"


def _po(s: _Slots) -> _Value:
    return f"PO-{_year(s)}-{s.rng.randint(100, 9999)}"


def _contract(s: _Slots) -> _Value:
    return f"HT-{_year(s)}-{s.rng.randint(1, 999):04d}"


def _expense_no(s: _Slots) -> _Value:
    return f"BX{s.when:%Y%m}{s.rng.randint(1, 9999):04d}"


def _voucher(s: _Slots) -> _Value:
    n = s.rng.randint(1, 2999)
    return f"记字第{n}号", f"JV-{s.when.year}-{n:05d}"


def _ticket_ref(s: _Slots) -> _Value:
    rng = s.rng
    return rng.choice(
        (
            f"REQ{rng.randint(1000000, 9999999)}",
            f"OA-{s.when:%Y%m%d}-{rng.randint(1, 999):03d}",
            f"WF{rng.randint(100000, 999999)}",
        )
    )


def _tax_id(s: _Slots) -> _Value:
    return "91" + f"{s.rng.randint(110000, 650000)}" + _code(s.rng, 10)


def _order_no(s: _Slots) -> _Value:
    rng = s.rng
    if rng.random() < 0.5:
        return f"SO{s.when:%Y%m%d}{rng.randint(0, 99999):05d}"
    return f"{s.when:%Y%m%d}{rng.randint(0, 99999999):08d}"


def _tracking(s: _Slots) -> _Value:
    rng = s.rng
    return rng.choice(
        (
            f"SF{rng.randint(10**11, 10**12 - 1)}",
            f"YT{rng.randint(10**12, 10**13 - 1)}",
            f"JD00{rng.randint(10**9, 10**10 - 1)}",
        )
    )


def _plate(s: _Slots) -> _Value:
    return s.rng.choice("京沪粤浙苏川") + s.rng.choice("ABCDEF") + "·" + _code(s.rng, 5)


def _badge_no(s: _Slots) -> _Value:
    return f"{s.rng.randint(0, 99999999):08d}"


def _cve(s: _Slots) -> _Value:
    return f"CVE-{s.rng.randint(2021, 2025)}-{s.rng.randint(1000, 49999)}"


def _digits(low: int, high: int) -> _SlotFn:
    def draw(s: _Slots) -> _Value:
        return str(s.rng.randint(low, high))

    return draw


def _printer(s: _Slots) -> _Value:
    model = s.rng.choice(("HP LaserJet M607", "Canon iR-ADV C5535", "Ricoh IM C3000", "Brother HL-L6400DW"))
    return (
        f"{model}（PRN-{s.rng.randint(2, 18)}F-{s.rng.randint(1, 4):02d}）",
        f"{model} (PRN-{s.rng.randint(2, 18)}F-{s.rng.randint(1, 4):02d})",
    )


def _path_win(s: _Slots) -> _Value:
    rng = s.rng
    folder = rng.choice(("D:\\工作\\2026\\", "C:\\Users\\" + _zh_name(rng)[2] + "\\Desktop\\", "\\\\fs01\\share\\finance\\",
                         "D:\\Projects\\", "C:\\Users\\Public\\Documents\\"))  # fmt: skip
    name = rng.choice(("季度预算.xlsx", "Q1_sales_report.xlsx", "合同模板.docx", "board_deck_v3.pptx", "报销明细.xlsx",
                       "库存盘点_final.xlsm", "customer_list.csv"))  # fmt: skip
    return folder + name


def _share_path(s: _Slots) -> _Value:
    rng = s.rng
    return rng.choice(("\\\\fs01\\", "\\\\fs02\\", "\\\\nas-bj\\")) + rng.choice(
        ("finance\\2026", "hr\\薪酬", "projects\\crm", "sales\\华东", "legal\\contracts", "procurement\\rfq")
    )


def _url(s: _Slots) -> _Value:
    rng = s.rng
    if rng.random() < 0.3:
        return f"http://{s.get('ip', 'en')}:{rng.choice((8080, 8443, 9000))}/api/v1/{rng.choice(('orders', 'health', 'reports'))}"
    site = rng.choice(("oa", "erp", "crm", "hr", "bi", "wiki", "portal"))
    return f"https://{site}.{_COMPANY_DOMAIN}/{rng.choice(('workflow/list', 'login', 'report/daily', 'home', 'approve'))}"


_DB_ERRORS = {
    "ORA-00600": "internal error code, arguments: [kcbgtcr_13], [], []",
    "ORA-01017": "invalid username/password; logon denied",
    "ORA-12541": "TNS:no listener",
    "ORA-00257": "archiver error. Connect internal only, until freed.",
    "ORA-01555": "snapshot too old: rollback segment number 12 too small",
    "ORA-04031": "unable to allocate 4160 bytes of shared memory",
    "ERROR 1040 (HY000)": "Too many connections",
    "ERROR 2013 (HY000)": "Lost connection to MySQL server during query",
}


def _stamp(s: _Slots, minutes_before: int) -> str:
    return f"{s.when - timedelta(minutes=minutes_before, seconds=s.rng.randint(0, 59)):%Y-%m-%d %H:%M:%S}"


def _db_log(s: _Slots) -> _Value:
    rng = s.rng
    code = s.get("db_error", "en")
    module = rng.choice(("order", "finance", "inventory", "crm"))
    return (
        f"{_stamp(s, 6)}.{rng.randint(100, 999)} ERROR [http-nio-8080-exec-{rng.randint(1, 64)}] "
        f"c.corp.{module}.dao.{module.capitalize()}Dao - {code}: {_DB_ERRORS[code]}\n"
        f"{_stamp(s, 5)}.{rng.randint(100, 999)} WARN  [HikariPool-1 housekeeper] HikariPool-1 - "
        "Connection is not available, request timed out after 30000ms."
    )


def _java_trace(s: _Slots) -> _Value:
    rng = s.rng
    module = rng.choice(("oa.workflow", "erp.order", "crm.contact", "fin.expense"))
    cls = rng.choice(("FormService", "SubmitHandler", "ReportBuilder", "ApprovalService"))
    head = rng.choice(
        (
            "java.lang.OutOfMemoryError: Java heap space",
            "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms.",
            'java.lang.NullPointerException: Cannot invoke "String.trim()" because "value" is null',
            "org.springframework.web.client.ResourceAccessException: I/O error on POST request: Read timed out",
        )
    )
    return (
        f"{_stamp(s, 3)} ERROR {head}\n"
        f"    at com.corp.{module}.{cls}.execute({cls}.java:{rng.randint(40, 900)})\n"
        f"    at com.corp.{module}.{cls}Controller.submit({cls}Controller.java:{rng.randint(20, 300)})\n"
        "    at java.base/java.lang.Thread.run(Thread.java:833)"
    )


def _exit_code(s: _Slots) -> _Value:
    return s.rng.choice(("exit code 137", "exit code 137", "exit code 1", "exit code 143", "exit code 255"))


def _k8s_log(s: _Slots) -> _Value:
    rng = s.rng
    code = s.get("exit_code", "en").split()[-1]
    job = s.get("job_name", "en").replace("_", "-")
    if code == "1":
        return (
            "Traceback (most recent call last):\n"
            f'  File "/opt/jobs/{job}/main.py", line {rng.randint(40, 400)}, in <module>\n'
            "    conn = psycopg2.connect(DSN)\n"
            "psycopg2.OperationalError: could not connect to server: Connection refused"
        )
    reason = {"137": "OOMKilled", "143": "Error", "255": "Error"}[code]
    return (
        f"$ kubectl describe pod {job}-{rng.randint(28000000, 29999999)}-{_code(rng, 5).lower()} -n batch\n"
        f"    Last State:  Terminated\n      Reason:      {reason}\n      Exit Code:   {code}\n"
        f"  Warning  BackOff  {rng.randint(2, 9)}m (x{rng.randint(3, 20)} over {rng.randint(20, 90)}m)  "
        "kubelet  Back-off restarting failed container"
    )


def _nginx_log(s: _Slots) -> _Value:
    rng = s.rng
    return (
        f"{(s.when - timedelta(minutes=4)):%Y/%m/%d %H:%M:%S} [error] {rng.randint(1000, 9999)}#0: *{rng.randint(10000, 999999)} "
        "upstream timed out (110: Connection timed out) while reading response header from upstream, "
        f'client: {s.get("ip", "en")}, server: {s.get("host", "en")}, request: "GET /workflow/list HTTP/1.1"'
    )


def _df_line(s: _Slots) -> _Value:
    pct = int(s.get("pct", "en"))
    size = s.rng.choice((500, 1000, 2000))
    used = size * pct // 100
    return f"Filesystem               Size  Used Avail Use% Mounted on\n/dev/mapper/vg01-u01     {size}G  {used}G  {size - used}G  {pct}% /u01"


def _av_log(s: _Slots) -> _Value:
    return (
        f"{_stamp(s, 2)} Threat detected: {s.get('threat', 'en')}\n"
        f"  Path: C:\\Users\\{s.get('username', 'en')}\\Downloads\\{s.rng.choice(('invoice_04512.pdf.exe', 'salary_2026.xlsm', 'setup_crack.exe', 'scan_0305.zip'))}\n"
        f"  Action: {s.rng.choice(('Quarantined', 'Blocked', 'Remove failed'))}"
    )


def _event_log(s: _Slots) -> _Value:
    return (
        f"{_stamp(s, 8)} Security  Event ID 4740  A user account was locked out.\n"
        f"  Account Name: {s.get('username', 'en')}  Caller Computer Name: PC-{s.rng.randint(100, 999)}"
    )


def _job_fix(s: _Slots) -> _Value:
    code = s.get("exit_code", "en").split()[-1]
    fixes = {
        "137": ("容器内存 limit 不足被 OOMKilled，已将 limit 从 2Gi 调到 4Gi 并重跑任务，数据已补齐。",
                "The container was OOMKilled; raised the memory limit from 2Gi to 4Gi and re-ran the job, data is complete."),
        "1": ("任务连接源数据库被拒绝（源库夜间维护重启），已确认数据库恢复后手工重跑，并为连接增加重试。",
              "The job's database connection was refused during the source database's nightly restart; re-ran it after the database was back and added connection retries."),
        "143": ("任务运行超过 activeDeadlineSeconds 被 SIGTERM 终止，已优化慢查询并把时限延长到 2 小时，重跑成功。",
                "The job exceeded activeDeadlineSeconds and was terminated with SIGTERM; optimised the slow query, raised the limit to 2 hours and the re-run succeeded."),
        "255": ("写入时磁盘空间不足导致任务失败，已清理 /data/tmp 并重跑成功。",
                "The disk filled up during the write; cleaned /data/tmp and the re-run succeeded."),
    }  # fmt: skip
    return fixes[code]


def _bounce_fix(s: _Slots) -> _Value:
    code = s.get("mail_error", "en")
    if code.startswith("550 5.1.1"):
        return ("收件人地址拼写错误（域名多了一个字母），已告知用户更正后重发成功。",
                "The recipient address had a typo in the domain; the user corrected it and the resend went through.")  # fmt: skip
    if code.startswith("552"):
        return ("附件超过对方 20MB 限制，已指导用户改用文件分享链接发送。",
                "The attachment exceeded the recipient's 20 MB limit; the user sent a file-share link instead.")  # fmt: skip
    return ("对方服务器因我司 SPF 记录缺少新出口 IP 而拒收，已更新 DNS 中的 SPF 记录，邮件可正常投递。",
            "The recipient rejected us because our SPF record lacked the new egress IP; updated SPF in DNS and delivery works.")  # fmt: skip


def _db_fix(s: _Slots) -> _Value:
    code = s.get("db_error", "en")
    host = s.get("host", "en")
    fixes = {
        "ORA-00257": (f"{host} 归档日志目录写满导致数据库挂起，已清理归档并扩容 200G，数据库恢复。",
                      f"The archive log destination on {host} was full and the database hung; cleared archives and added 200G, database is back."),
        "ORA-12541": ("监听进程异常退出，已重启 listener 并配置自动拉起，连接恢复。",
                      "The listener process had died; restarted it and set it to auto-restart, connections work."),
        "ORA-01017": ("应用连接账号的密码被定期策略自动过期，已重置密码并更新连接池配置，应用恢复。",
                      "The application account's password had expired under the rotation policy; reset it and updated the pool config, the app is back."),
        "ORA-01555": ("大事务期间 undo 空间不足导致查询失败，已扩大 undo 表空间并调整 undo_retention。",
                      "Undo space ran short during a long transaction; enlarged the undo tablespace and raised undo_retention."),
        "ORA-04031": ("共享池内存碎片化，已刷新共享池并调大 shared_pool_size，报错消失。",
                      "The shared pool was fragmented; flushed it and increased shared_pool_size, the errors stopped."),
        "ERROR 1040 (HY000)": ("应用连接泄漏导致连接数打满，已重启应用释放连接，并把 max_connections 调到 1000。",
                               "A connection leak in the app exhausted the connections; restarted the app and raised max_connections to 1000."),
        "ERROR 2013 (HY000)": ("大查询超过 net_read_timeout 被断开，已优化查询并调整超时参数。",
                               "A large query exceeded net_read_timeout and was dropped; optimised the query and tuned the timeouts."),
    }  # fmt: skip
    return fixes.get(code, ("触发数据库内部错误，已按厂商建议打补丁并重建相关索引，业务恢复正常。",
                            "Hit an internal database error; applied the vendor's patch and rebuilt the affected indexes, service restored."))  # fmt: skip


_SLOTS: dict[str, _SlotFn] = {
    "person": _person,
    "person_email": _person_email,
    "email": _internal_email,
    "ext_email": _external_email,
    "username": _username,
    "mobile": _mobile,
    "landline": _landline,
    "ext": _digits(1000, 8999),
    "ip": _ip,
    "host": _host,
    "date": _future_date,
    "past_date": _past_date,
    "iso_past": _iso_past,
    "month": _month,
    "quarter": _quarter,
    "time": _clock,
    "amount": _amount,
    "amount_big": _amount_big,
    "amount_fx": _amount_fx,
    "floor": _floor,
    "room": _room,
    "desk": _desk,
    "mac": _mac,
    "asset": _asset,
    "serial": _serial,
    "invoice": _invoice,
    "invoice_zh": _invoice_zh,
    "po": _po,
    "contract": _contract,
    "expense_no": _expense_no,
    "voucher": _voucher,
    "ticket_ref": _ticket_ref,
    "tax_id": _tax_id,
    "order_no": _order_no,
    "tracking": _tracking,
    "plate": _plate,
    "badge_no": _badge_no,
    "cve": _cve,
    "printer": _printer,
    "path_win": _path_win,
    "share_path": _share_path,
    "url": _url,
    "db_log": _db_log,
    "java_trace": _java_trace,
    "exit_code": _exit_code,
    "k8s_log": _k8s_log,
    "nginx_log": _nginx_log,
    "df_line": _df_line,
    "av_log": _av_log,
    "event_log": _event_log,
    "job_fix": _job_fix,
    "bounce_fix": _bounce_fix,
    "db_fix": _db_fix,
    "emp_id": lambda s: f"E{s.rng.randint(10000, 99999)}",
    "requester_mobile": _mobile,
    "requester_landline": _landline,
    "raise_pct": _digits(5, 20),
    "num": _digits(2, 9),
    "pct": _digits(85, 99),
    "card_tail": _digits(1000, 9999),
    "ap": lambda s: f"AP-{s.rng.randint(2, 18)}F-{s.rng.randint(1, 12):02d}",
    "switch_port": lambda s: f"Gi{s.rng.randint(1, 2)}/0/{s.rng.randint(1, 48)}",
    "kb": lambda s: f"KB50{s.rng.randint(10000, 49999)}",
    "db_error": _c(*_DB_ERRORS),
    # Plain lists of values (a string, or a Chinese / English pair) live in slots.yaml.
    **{
        name: _c(*(value if isinstance(value, str) else (value[0], value[1]) for value in values))
        for name, values in _resource("slots.yaml")["choices"].items()
    },
    "dl_name": lambda s: (
        s.rng.choice(
            ("sales-east", "ap-invoices", "hr-recruiting", "cs-vip", "it-oncall", "marketing-events")
        )
        + "@"
        + _COMPANY_DOMAIN
    ),
}


# ---------------------------------------------------------------------------------------------
# Problem templates. ``{slot}`` is filled from _SLOTS, ``{a|b|c}`` picks one alternative
# (alternatives may be empty and may nest). Each has a typical priority.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _T:
    department: str
    category: str
    priority: str
    zh_title: str
    zh_body: str
    zh_resolution: str
    en_title: str
    en_body: str
    en_resolution: str

    def text(self, part: str, lang: str) -> str:
        return str(getattr(self, f"{'en' if lang == 'en' else 'zh'}_{part}"))


# The templates themselves are data: see _resource.


def _paired(stem: str, key: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The (zh, en) entries of ``<stem>.zh.yaml`` and ``<stem>.en.yaml``, in file order, checked to pair up."""
    zh, en = (_resource(f"{stem}.{lang}.yaml") for lang in ("zh", "en"))
    english = {entry["id"]: entry for entry in en[key]}
    pairs = []
    for entry in zh[key]:
        other = english.pop(entry["id"], None)
        shared = [k for k in entry if k not in ("title", "body", "resolution")]
        if other is None or any(other.get(k) != entry[k] for k in shared):
            raise ValueError(
                f"{stem}.en.yaml: entry {entry['id']!r} is missing or differs from {stem}.zh.yaml"
            )
        pairs.append((entry, other))
    if english:
        raise ValueError(f"{stem}.en.yaml: entries {sorted(english)} have no Chinese counterpart")
    return pairs


def _templates(stem: str, key: str = "templates") -> tuple[_T, ...]:
    department = _resource(f"{stem}.zh.yaml").get("department")
    return tuple(
        _T(
            zh.get("department", department), zh["category"], zh["priority"],
            zh["title"], zh["body"], zh["resolution"], en["title"], en["body"], en["resolution"],
        )
        for zh, en in _paired(stem, key)
    )  # fmt: skip


_TEMPLATES: tuple[_T, ...] = tuple(t for department in DEPARTMENTS for t in _templates(department))
# Outages reported by several people within hours; the tickets share one resolution.
_INCIDENTS: tuple[_T, ...] = _templates("incidents", "incidents")
_INCIDENT_WEIGHTS: tuple[float, ...] = tuple(
    float(zh["weight"]) for zh, _ in _paired("incidents", "incidents")
)

# ---------------------------------------------------------------------------------------------
# Dressing: urgency, channel framing, greetings, signatures, threads, typos, code-switching.
# ---------------------------------------------------------------------------------------------

# training/resources/sample_tickets/dressing.yaml: wording per language (and per priority for scope).
_DRESSING: dict[str, Any] = _resource("dressing.yaml")
_URGENT_TITLE: dict[str, list[str]] = _DRESSING["urgent_title"]
_URGENT_BODY: dict[str, list[str]] = _DRESSING["urgent_body"]
_HIGH_BODY: dict[str, list[str]] = _DRESSING["high_body"]
_LOW_BODY: dict[str, list[str]] = _DRESSING["low_body"]
_VIP_NOTE: dict[str, list[str]] = _DRESSING["vip_note"]
_VAGUE_TITLES: dict[str, list[str]] = _DRESSING["vague_titles"]
_GREETINGS: dict[str, list[str]] = _DRESSING["greetings"]
_CLOSINGS: dict[str, list[str]] = _DRESSING["closings"]
_SIGNATURES: dict[str, list[str]] = _DRESSING["signatures"]
_DISCLAIMERS: dict[str, str] = _DRESSING["disclaimers"]
_FORWARD_TOP: dict[str, list[str]] = _DRESSING["forward_top"]
_REPLY_TOP: dict[str, list[str]] = _DRESSING["reply_top"]
_SCOPE: dict[str, dict[str, list[str]]] = _DRESSING["scope"]
VAGUE_BODIES: dict[str, list[str]] = _DRESSING["vague_bodies"]
_VAGUE_SHARE = 0.05  # tickets whose text does not say what the problem is
_HAN_CHAR = re.compile(r"[\u4e00-\u9fff]")

_CHAT_SUFFIX = ("[抱拳]", "[捂脸]", "[握手]", "[流泪]", "", "", "")
_MIXED_REMARKS = (
    "麻烦帮忙看一下，谢谢！",
    "具体情况见截图。",
    "之前也出现过一次。",
    "有问题随时电话联系我。",
    "辛苦了！",
    "这个月已经是第二次了。",
)

_EN_TYPOS = (("please", "pls"), ("Please", "Pls"), ("password", "pwd"), ("can't", "cant"), ("cannot", "cant"), ("don't", "dont"),
             ("thanks", "thx"), ("Thanks", "Thx"), (" you ", " u "), ("down", "dwn"), ("receive", "recieve"), ("because", "bc"),
             ("tomorrow", "tmr"), ("people", "ppl"), ("message", "msg"), ("working", "workign"), ("the ", "teh "))  # fmt: skip
_ZH_TYPOS = (("电脑", "电恼"), ("登录", "登陆"), ("账号", "帐号"), ("已经", "以经"), ("现在", "现再"), ("附件", "付件"),
             ("密码", "密吗"), ("打印机", "打印鸡"), ("的时候", "得时候"), ("麻烦", "麻烦麻烦"))  # fmt: skip
# English words a Chinese writer keeps in Chinese inside an English ticket.
_EN_TO_ZH = (("invoice", "发票"), ("approval", "审批"), ("meeting room", "会议室"), ("printer", "打印机"), ("laptop", "笔记本"),
             ("password", "密码"), ("account", "账号"), ("customer", "客户"), ("supplier", "供应商"), ("contract", "合同"),
             ("refund", "退款"), ("budget", "预算"), ("payslip", "工资条"), ("salary", "工资"), ("badge", "工卡"),
             ("expense claim", "报销单"), ("server", "服务器"), ("database", "数据库"), ("mailbox", "邮箱"), ("manager", "经理"),
             ("screenshot", "截图"), ("attachment", "附件"), ("order", "订单"), ("department", "部门"))  # fmt: skip
_EN_TO_ZH_RE = tuple((re.compile(rf"\b{re.escape(en)}\b"), zh) for en, zh in _EN_TO_ZH)

_VIP_REQUESTERS = (
    ("总经理办公室", "CEO office"),
    ("财务总监办公室", "CFO office"),
    ("董事长办公室", "Chairman's office"),
)
_FREQUENT_REQUESTERS = (("王建国", "Jianguo Wang"), ("李娜", "Na Li"), ("陈静", "Jing Chen"), ("赵磊", "Lei Zhao"), ("孙丽华", "Lihua Sun"),
                        ("周晓婷", "Xiaoting Zhou"), ("Linda Chen", "Linda Chen"), ("Michael Brown", "Michael Brown"),
                        ("Sarah Wang", "Sarah Wang"), ("Kevin Liu", "Kevin Liu"))  # fmt: skip

_DEPARTMENT_WEIGHTS = {"IT": 0.30, "HR": 0.11, "Finance": 0.13, "Facilities": 0.10, "Procurement": 0.09, "Legal": 0.06,
                       "CustomerService": 0.13, "Security": 0.08}  # fmt: skip
_DEPARTMENT_NAMES_EN = {"IT": "IT", "HR": "HR", "Finance": "Finance", "Facilities": "Facilities", "Procurement": "Procurement",
                        "Legal": "Legal", "CustomerService": "Customer Service", "Security": "Security"}  # fmt: skip
_CHANNEL_WEIGHTS = {"IT": (0.30, 0.35, 0.10, 0.15, 0.10), "CustomerService": (0.25, 0.05, 0.30, 0.15, 0.25)}
_DEFAULT_CHANNEL_WEIGHTS = (0.45, 0.30, 0.07, 0.10, 0.08)
_LANGUAGE_WEIGHTS = (0.45, 0.45, 0.10)
_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 6, 14, 20, 20, 16, 10, 14, 18, 18, 16, 12, 8, 5, 4, 3, 2, 1)

# Handling time = base(priority) x department x category x noise; P1 in hours, P4 in days. The
# bases keep a desk that mostly meets the default SLA targets (4/8/24/72 h): 17-34 % of resolved
# tickets breach per priority (seed 0), the long efforts (Legal, disputes, relocations) most.
_BASE_HOURS = {"P1": 1.8, "P2": 4.0, "P3": 9.0, "P4": 50.0}
_DEPARTMENT_EFFORT = {"IT": 0.8, "HR": 1.2, "Finance": 1.3, "Facilities": 1.0, "Procurement": 1.6, "Legal": 2.0,
                      "CustomerService": 0.7, "Security": 0.9}  # fmt: skip
_CATEGORY_EFFORT = {
    "network": 0.9, "account_access": 0.5, "hardware": 1.5, "software": 1.0, "email": 0.7, "database": 1.2,
    "payroll": 1.3, "leave": 0.6, "attendance": 0.5, "onboarding": 1.4, "benefits": 1.6, "training": 0.8,
    "reimbursement": 1.1, "invoice": 1.0, "payment": 1.3, "budget": 1.8, "tax": 1.5, "accounting": 1.2,
    "maintenance": 1.0, "meeting_room": 0.4, "office_supplies": 0.7, "cleaning": 0.5, "parking": 0.8, "relocation": 2.5,
    "purchase_request": 1.6, "vendor": 2.0, "quotation": 1.8, "purchase_order": 1.0, "delivery": 1.3,
    "contract_review": 1.5, "compliance": 1.8, "intellectual_property": 2.5, "dispute": 3.0, "privacy": 1.6,
    "complaint": 0.9, "refund": 1.1, "order_status": 0.5, "product_question": 0.4, "account_issue": 0.6,
    "access_badge": 0.6, "phishing": 0.5, "malware": 0.9, "data_protection": 1.0, "vulnerability": 2.0, "cctv": 1.0,
}  # fmt: skip
_STALLED_SHARE = 0.04  # resolved tickets left open anyway (waiting for the requester, parked)

# ---------------------------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Requester:
    name: str  # as written in the ticket's language
    display_en: str
    email: str
    vip: bool


@dataclass
class _Draft:
    seq: int
    created: datetime
    resolved: datetime | None
    title: str
    body: str
    resolution: str
    language: str
    department: str
    category: str
    priority: str
    requester: str
    channel: str
    incident: int = -1
    duplicate_prefix: str = ""


def _weighted(rng: random.Random, items: Sequence[str], cum_weights: Sequence[float]) -> str:
    return rng.choices(items, cum_weights=cum_weights)[0]


def _cumulative(weights: Sequence[float]) -> tuple[float, ...]:
    return tuple(accumulate(weights))


def _draw_created(rng: random.Random) -> datetime:
    while True:
        day = _START + timedelta(days=rng.randrange(_SPAN_DAYS))
        if day.weekday() < 5 or rng.random() < 0.2:
            break
    hour = rng.choices(range(24), weights=_HOUR_WEIGHTS)[0]
    return day.replace(hour=hour, minute=rng.randrange(60))


def _pick_requester(rng: random.Random, lang: str) -> _Requester:
    roll = rng.random()
    if roll < 0.03:
        zh, en = rng.choice(_VIP_REQUESTERS)
    elif roll < 0.18:
        zh, en = rng.choice(_FREQUENT_REQUESTERS)
    elif roll < 0.4:
        zh = en = f"{rng.choice(_EN_FIRST)} {rng.choice(_EN_LAST)}"
    else:
        zh, en, _ = _zh_name(rng)
    return _Requester(name=en if lang == "en" else zh, display_en=en, email=_email_of(en), vip=roll < 0.03)


def _draw_priority(rng: random.Random, typical: str, vip: bool) -> str:
    index = PRIORITIES.index(typical)
    roll = rng.random()
    if roll < 0.12:
        index -= 1
    elif roll > 0.85:
        index += 1
    if vip:
        index -= 1
    return PRIORITIES[min(len(PRIORITIES) - 1, max(0, index))]


def _pick_channel(rng: random.Random, department: str, lang: str) -> str:
    channel = _weighted(rng, CHANNELS, _CHANNEL_CUM.get(department, _DEFAULT_CHANNEL_CUM))
    if channel == "wechat" and lang == "en" and rng.random() < 0.7:
        channel = "chat"
    return channel


def _next_business_start(when: datetime) -> datetime:
    """The moment a non-urgent ticket starts being worked: now in office hours, else next 09:00."""
    if when.weekday() < 5 and 9 <= when.hour < 18:
        return when
    day = when if when.hour < 9 else when + timedelta(days=1)
    day = day.replace(hour=9, minute=0)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _handling_time(
    rng: random.Random,
    priority: str,
    department: str,
    category: str,
    channel: str,
    vip: bool,
    created: datetime,
) -> datetime:
    hours = _BASE_HOURS[priority] * _DEPARTMENT_EFFORT[department] * _CATEGORY_EFFORT[category]
    hours *= rng.lognormvariate(0.0, 0.5)
    if channel in ("phone", "chat"):
        hours *= 0.85
    if vip:
        hours *= 0.6
    start = created if priority in ("P1", "P2") else _next_business_start(created)
    return start + timedelta(minutes=max(15, round(hours * 60)))


def _typos(rng: random.Random, text: str, voice: str) -> str:
    pairs = _ZH_TYPOS if voice == "zh" else _EN_TYPOS
    for wrong_from, wrong_to in pairs:
        if wrong_from in text and rng.random() < 0.5:
            text = text.replace(wrong_from, wrong_to, 1 if wrong_from == "the " else -1)
    return text


def _sprinkle_chinese(rng: random.Random, text: str) -> str:
    """Keep some nouns in Chinese inside an English text, as bilingual writers do."""
    for pattern, zh in _EN_TO_ZH_RE:
        if rng.random() < 0.5:
            text = pattern.sub(zh, text, count=1)
    return text


def _urgency(rng: random.Random, priority: str, voice: str, slots: _Slots) -> tuple[str, str]:
    """A title prefix and a body sentence whose tone follows the priority (with some noise)."""
    roll = rng.random()
    prefix, sentence = "", ""
    if priority == "P1":
        prefix = rng.choice(_URGENT_TITLE[voice]) if roll < 0.55 else ""
        sentence = rng.choice(_URGENT_BODY[voice]) if rng.random() < 0.85 else ""
    elif priority == "P2":
        prefix = rng.choice(_URGENT_TITLE[voice]) if roll < 0.12 else ""
        if rng.random() < 0.55:
            sentence = rng.choice(_URGENT_BODY[voice] if rng.random() < 0.15 else _HIGH_BODY[voice])
    elif priority == "P3":
        prefix = rng.choice(_URGENT_TITLE[voice]) if roll < 0.02 else ""
        sentence = rng.choice(_HIGH_BODY[voice]) if rng.random() < 0.06 else ""
    else:
        sentence = rng.choice(_LOW_BODY[voice]) if roll < 0.35 else ""
        if not sentence and rng.random() < 0.02:
            sentence = rng.choice(_HIGH_BODY[voice])
    return prefix, _render(sentence, slots, voice)


def _join(voice: str, parts: Sequence[str]) -> str:
    return ("\n" if voice == "zh" else "\n\n").join(p for p in parts if p)


def _signature(rng: random.Random, voice: str, requester: _Requester, slots: _Slots) -> str:
    own_department = rng.choice(DEPARTMENTS)
    department_name = (
        DEPARTMENT_NAMES_ZH[own_department] if voice == "zh" else _DEPARTMENT_NAMES_EN[own_department]
    )
    text = rng.choice(_SIGNATURES[voice])
    text = text.replace("{name}", requester.name).replace("{dept}", department_name)
    text = text.replace("{requester_email}", requester.email).replace("{company}", "Example Corp")
    return _render(text, slots, voice)


def _email_message(
    rng: random.Random, core: str, voice: str, lang: str, requester: _Requester, slots: _Slots
) -> str:
    style = "mixed" if lang == "mixed" else voice
    greeting = rng.choice(_GREETINGS[style]) if rng.random() < 0.65 else ""
    closing = ""
    if rng.random() < 0.6:
        closing = rng.choice(_CLOSINGS[style]) + "\n" + _signature(rng, voice, requester, slots)
    body = _join(voice, [greeting, core, closing])
    if rng.random() < 0.08:
        body = _join(voice, [body, _DISCLAIMERS["zh" if lang == "zh" else "en"]])
    return body


def _sent_line(voice: str, sent: datetime) -> str:
    if voice == "zh":
        return f"{sent.year}年{sent.month}月{sent.day}日 {sent:%H:%M}"
    hour = (sent.hour - 1) % 12 + 1
    return f"{_WEEKDAYS_EN[sent.weekday()]}, {_MONTHS_EN[sent.month - 1]} {sent.day}, {sent.year} {hour}:{sent:%M} {'AM' if sent.hour < 12 else 'PM'}"


def _thread_header(voice: str, sender: str, sender_email: str, to: str, sent: datetime, subject: str) -> str:
    if voice == "zh":
        return f"发件人: {sender} <{sender_email}>\n发送时间: {_sent_line(voice, sent)}\n收件人: {to}\n主题: {subject}"
    return f"-----Original Message-----\nFrom: {sender} <{sender_email}>\nSent: {_sent_line(voice, sent)}\nTo: {to}\nSubject: {subject}"


def _quote(rng: random.Random, text: str) -> str:
    return (
        text if rng.random() < 0.5 else "\n".join(f"> {line}" if line else ">" for line in text.splitlines())
    )


def _frame_email(
    rng: random.Random, core: str, title: str, voice: str, lang: str, requester: _Requester, slots: _Slots
) -> tuple[str, str]:
    thread = rng.random()
    if thread < 0.10:  # forwarded on behalf of a colleague
        zh_name, pinyin, _ = _zh_name(rng)
        colleague = _Requester(
            name=pinyin if voice == "en" else zh_name, display_en=pinyin, email=_email_of(pinyin), vip=False
        )
        inner = _email_message(rng, core, voice, lang, colleague, slots)
        sent = slots.when - timedelta(minutes=rng.randint(20, 3 * 24 * 60))
        header = _thread_header(
            voice, colleague.name, colleague.email, f"{requester.name} <{requester.email}>", sent, title
        )
        top = rng.choice(_FORWARD_TOP[voice]) + "\n" + requester.name
        prefix = rng.choice(("FW: ", "Fwd: ", "转发: ") if voice == "zh" else ("FW: ", "Fwd: ", "Fw: "))
        return prefix + title, f"{top}\n\n{header}\n\n{_quote(rng, inner)}"
    if thread < 0.16:  # the requester chases their own earlier mail
        inner = _email_message(rng, core, voice, lang, requester, slots)
        sent = slots.when - timedelta(minutes=rng.randint(60, 5 * 24 * 60))
        desk = (
            f"IT服务台 <servicedesk@{_COMPANY_DOMAIN}>"
            if voice == "zh"
            else f"Service Desk <servicedesk@{_COMPANY_DOMAIN}>"
        )
        header = _thread_header(voice, requester.name, requester.email, desk, sent, title)
        prefix = rng.choice(("RE: ", "Re: ", "回复: ") if voice == "zh" else ("RE: ", "Re: "))
        return prefix + title, f"{rng.choice(_REPLY_TOP[voice])}\n\n{header}\n\n{_quote(rng, inner)}"
    return title, _email_message(rng, core, voice, lang, requester, slots)


def _frame(
    rng: random.Random,
    core: str,
    title: str,
    channel: str,
    voice: str,
    lang: str,
    priority: str,
    department: str,
    requester: _Requester,
    slots: _Slots,
) -> tuple[str, str]:
    """Dress the problem text the way it arrives through ``channel``."""
    if channel == "email":
        return _frame_email(rng, core, title, voice, lang, requester, slots)
    if channel == "portal":
        if rng.random() >= 0.45:
            return title, core
        scope = _render(rng.choice(_SCOPE[voice][priority]), slots, voice)
        contact = slots.get("requester_mobile", voice)
        if voice == "zh":
            form = f"【问题描述】\n{core}\n【影响范围】{scope}\n【联系电话】{contact}"
            if department == "IT" and rng.random() < 0.3:
                form += f"\n【资产编号】{slots.get('asset', voice)}"
            return title, form
        form = f"Description:\n{core}\nImpact: {scope}\nContact: {contact}"
        if department == "IT" and rng.random() < 0.3:
            form += f"\nAsset tag: {slots.get('asset', voice)}"
        return title, form
    if channel == "phone":
        callback = slots.get("requester_mobile", voice)
        if voice == "zh":
            return (
                title,
                f"{rng.choice(('来电记录', '电话记录', '热线来电'))}：{requester.name}来电反映——{core}\n回拨号码：{callback}",
            )
        return title, f"Phone call from {requester.name}: {core}\nCallback number: {callback}"
    # chat and wechat: short, informal, no signature
    if voice == "zh":
        if rng.random() < 0.4:
            core = core.replace("。", " ")
        suffix = rng.choice(_CHAT_SUFFIX) if channel == "wechat" else ""
        return title, rng.choice(("在吗？\n", "hi，", "你好，", "", "")) + core + suffix
    if rng.random() < 0.4 and core[:1].isupper():
        core = core[0].lower() + core[1:]
    return title, rng.choice(("hi, ", "hey ", "quick q: ", "", "")) + core


_TYPO_RATE = {"chat": 0.35, "wechat": 0.35, "email": 0.12, "portal": 0.1, "phone": 0.03}


def _compose(
    rng: random.Random,
    template: _T,
    lang: str,
    slots: _Slots,
    priority: str,
    channel: str,
    requester: _Requester,
) -> tuple[str, str, str]:
    """Title, body and resolution of one ticket."""
    if lang == "mixed":
        voice = rng.choice(("zh", "en"))
        core = _sprinkle_chinese(rng, _render(template.en_body, slots, "en"))
        if rng.random() < 0.6:
            title = _render(template.zh_title, slots, "zh")
            if rng.random() < 0.5:
                core = core + " " + rng.choice(_MIXED_REMARKS)
        else:
            title = _render(template.en_title, slots, "en")
            core = core + " " + rng.choice(_MIXED_REMARKS)
        resolution = _sprinkle_chinese(rng, _render(template.en_resolution, slots, "en"))
        resolution += rng.choice(("", " 已与用户确认。", " 用户确认问题已解决。"))
    else:
        voice = lang
        title = _render(template.text("title", lang), slots, lang)
        core = _render(template.text("body", lang), slots, lang)
        resolution = _render(template.text("resolution", lang), slots, lang)
    if rng.random() < _VAGUE_SHARE:
        # Says nothing about the problem: the labels and resolution are what the agent found out.
        core = _render(rng.choice(VAGUE_BODIES["zh" if lang == "zh" else "en"]), slots, lang)
        if lang == "mixed":
            core = core + " " + rng.choice(_MIXED_REMARKS)
        title = rng.choice(_VAGUE_TITLES[voice])
    if core[:1].islower():  # a slot value such as "meeting room 6D" may open the text
        core = core[0].upper() + core[1:]
    prefix, urgent_sentence = _urgency(rng, priority, voice, slots)
    if urgent_sentence:
        core = core + ("" if voice == "zh" else " ") + urgent_sentence
    if requester.vip and rng.random() < 0.5:
        core = core + ("" if voice == "zh" else " ") + rng.choice(_VIP_NOTE[voice])
    if rng.random() < _TYPO_RATE[channel]:
        core = _typos(rng, core, "en" if lang != "zh" else "zh")
        if lang == "en" and rng.random() < 0.3:
            title = title.lower()
    if rng.random() < 0.04:
        title = rng.choice(_VAGUE_TITLES[voice if lang != "mixed" else rng.choice(("zh", "en"))])
        if lang == "mixed" and len(_HAN_CHAR.findall(core)) < 2:  # the Chinese was in the title
            core = core + " " + rng.choice(_MIXED_REMARKS)
    title = prefix + title
    frame_voice = "zh" if lang == "zh" or (lang == "mixed" and rng.random() < 0.3) else "en"
    title, body = _frame(
        rng, core, title, channel, frame_voice, lang, priority, template.department, requester, slots
    )
    return title, body, resolution


def _regular_draft(rng: random.Random, seq: int) -> _Draft:
    department = _weighted(rng, DEPARTMENTS, _DEPARTMENT_CUM)
    category = _weighted(rng, CATEGORIES[department], _CATEGORY_CUM[department])
    template = rng.choice(_BY_CATEGORY[(department, category)])
    lang = _weighted(rng, LANGUAGES, _LANGUAGE_CUM)
    created = _draw_created(rng)
    requester = _pick_requester(rng, lang)
    priority = _draw_priority(rng, template.priority, requester.vip)
    channel = _pick_channel(rng, department, lang)
    slots = _Slots(rng, created)
    title, body, resolution = _compose(rng, template, lang, slots, priority, channel, requester)
    resolved: datetime | None = _handling_time(
        rng, priority, department, category, channel, requester.vip, created
    )
    if (resolved is not None and resolved > _NOW) or rng.random() < _STALLED_SHARE:
        resolved = None
    return _Draft(
        seq,
        created,
        resolved,
        title,
        body,
        resolution,
        lang,
        department,
        category,
        priority,
        requester.name,
        channel,
    )


def _incident_drafts(rng: random.Random, incident_no: int, size: int, seq: int) -> list[_Draft]:
    template = rng.choices(_INCIDENTS, weights=_INCIDENT_WEIGHTS)[0]
    start = _draw_created(rng)
    outage = timedelta(hours=rng.uniform(1.0, 5.0) * (1 if template.priority == "P1" else 2))
    fixed_at = start + outage
    slots = _Slots(rng, start)  # one outage: same host, floor, error and time for every report
    shared = {
        "zh": _render(template.zh_resolution, slots, "zh"),
        "en": _render(template.en_resolution, slots, "en"),
    }
    shared["mixed"] = _sprinkle_chinese(rng, shared["en"])
    drafts = []
    for k in range(size):
        created = (
            start
            if k == 0
            else start + timedelta(minutes=rng.randint(3, max(4, int(outage.total_seconds() / 60 * 0.8))))
        )
        lang = _weighted(rng, LANGUAGES, _LANGUAGE_CUM)
        requester = _pick_requester(rng, lang)
        priority = (
            template.priority
            if k == 0
            else rng.choice(
                (template.priority, template.priority, "P2" if template.priority == "P1" else "P1")
            )
        )
        channel = _pick_channel(rng, template.department, lang)
        title, body, _ = _compose(rng, template, lang, slots, priority, channel, requester)
        resolved = None if fixed_at > _NOW else fixed_at + timedelta(minutes=rng.randint(0, 20))
        drafts.append(
            _Draft(
                seq + k, created, resolved, title, body, shared[lang], lang, template.department, template.category,
                priority, requester.name, channel, incident=incident_no,
            )
        )  # fmt: skip
    return drafts


def _by_category() -> dict[tuple[str, str], tuple[_T, ...]]:
    table: dict[tuple[str, str], list[_T]] = {}
    for template in _TEMPLATES:
        table.setdefault((template.department, template.category), []).append(template)
    missing = [(d, c) for d in DEPARTMENTS for c in CATEGORIES[d] if (d, c) not in table]
    if missing:
        raise RuntimeError(f"sample templates missing for categories: {missing}")
    return {key: tuple(value) for key, value in table.items()}


_BY_CATEGORY = _by_category()
_DEPARTMENT_CUM = _cumulative([_DEPARTMENT_WEIGHTS[d] for d in DEPARTMENTS])
# Earlier categories of a department are more frequent, as in a real queue.
_CATEGORY_CUM = {
    d: _cumulative([1.0 + 0.3 * (len(c) - 1 - i) for i in range(len(c))]) for d, c in CATEGORIES.items()
}
_CHANNEL_CUM = {d: _cumulative(w) for d, w in _CHANNEL_WEIGHTS.items()}
_DEFAULT_CHANNEL_CUM = _cumulative(_DEFAULT_CHANNEL_WEIGHTS)
_LANGUAGE_CUM = _cumulative(_LANGUAGE_WEIGHTS)
_INCIDENT_SHARE = 0.045


def generate_tickets(n: int = 3600, seed: int = 0) -> list[dict[str, str]]:
    """``n`` demo tickets, identical for the same ``seed``, sorted by creation time.

    About 45% Chinese, 45% English and 10% mixed; roughly 4.5% come in bursts that report the
    same outage within hours. Open tickets have empty ``resolved_at`` and ``resolution``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    drafts: list[_Draft] = []
    incident_target = round(n * _INCIDENT_SHARE) if n >= 100 else 0
    incident_no = 0
    while len(drafts) < incident_target:
        size = min(incident_target - len(drafts), rng.randint(3, 8))
        drafts.extend(_incident_drafts(rng, incident_no, size, len(drafts)))
        incident_no += 1
    while len(drafts) < n:
        drafts.append(_regular_draft(rng, len(drafts)))
    drafts.sort(key=lambda d: (d.created, d.seq))

    first_of_incident: dict[int, str] = {}
    rows: list[dict[str, str]] = []
    for index, draft in enumerate(drafts, start=1):
        ticket_id = f"DEMO-{index:06d}"
        resolution = draft.resolution
        if draft.incident >= 0:
            first = first_of_incident.setdefault(draft.incident, ticket_id)
            if first != ticket_id:
                resolution = _duplicate_note(draft.language, first) + resolution
        open_ = draft.resolved is None
        rows.append(
            {
                "id": ticket_id,
                "title": draft.title,
                "body": draft.body,
                "language": draft.language,
                "department": draft.department,
                "category": draft.category,
                "priority": draft.priority,
                "requester": draft.requester,
                "channel": draft.channel,
                "created_at": draft.created.isoformat(timespec="seconds"),
                "resolved_at": "" if draft.resolved is None else draft.resolved.isoformat(timespec="seconds"),
                "resolution": "" if open_ else resolution,
                "status": "open" if open_ else "resolved",
            }
        )
    return rows


def _duplicate_note(lang: str, first_id: str) -> str:
    if lang == "zh":
        return f"与 {first_id} 为同一故障，已统一处理："
    if lang == "mixed":
        return f"Duplicate of {first_id}，同一故障统一处理。"
    return f"Duplicate of {first_id}; same outage. "


def write_jsonl(rows: Sequence[Mapping[str, object]], path: Path) -> None:
    """Write one JSON object per line (UTF-8, Chinese kept readable); creates parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(dict(row), ensure_ascii=False) + "\n")


def write_csv(rows: Sequence[Mapping[str, object]], path: Path) -> None:
    """Write rows as UTF-8 CSV with a header of every key in first-seen order; creates parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow(dict(row))


# ---------------------------------------------------------------------------------------------
# Knowledge-base articles: one how-to per category in zh and en (written for this module),
# plus, for about half the categories (chosen by seed), an FAQ built from solved-case templates.
# ---------------------------------------------------------------------------------------------

# training/resources/sample_tickets/articles.<zh|en>.yaml: one how-to per category and language.
_ARTICLES: tuple[tuple[str, str, str, str, str, str], ...] = tuple(
    (zh["department"], zh["category"], zh["title"], zh["body"], en["title"], en["body"])
    for zh, en in zip(
        _resource("articles.zh.yaml")["articles"], _resource("articles.en.yaml")["articles"], strict=True
    )
)

_ARTICLE_DATE = datetime(2026, 1, 15, 10, 0, tzinfo=TZ)


def generate_articles(seed: int = 0) -> list[dict[str, str]]:
    """Knowledge-base articles in zh and en: a how-to for every category, plus seed-chosen FAQs."""
    rng = random.Random(seed)
    drafts: list[tuple[str, str, str, str, str]] = []  # department, category, language, title, body
    for department, category, zh_title, zh_body, en_title, en_body in _ARTICLES:
        drafts.append((department, category, "zh", zh_title, zh_body))
        drafts.append((department, category, "en", en_title, en_body))
        if rng.random() < 0.5:
            templates = _BY_CATEGORY[(department, category)]
            picks = rng.sample(templates, min(3, len(templates)))
            for lang in ("zh", "en"):
                answers = []
                for template in picks:
                    slots = _Slots(random.Random(rng.randrange(2**32)), _ARTICLE_DATE)
                    question = _render(template.text("title", lang), slots, lang)
                    answer = _render(template.text("resolution", lang), slots, lang)
                    answers.append(
                        f"问：{question}\n答：{answer}" if lang == "zh" else f"Q: {question}\nA: {answer}"
                    )
                title = (
                    f"常见问题：{CATEGORY_NAMES_ZH[category]}（{DEPARTMENT_NAMES_ZH[department]}）"
                    if lang == "zh"
                    else f"FAQ: {category.replace('_', ' ')} ({_DEPARTMENT_NAMES_EN[department]})"
                )
                drafts.append((department, category, lang, title, "\n\n".join(answers)))
    return [
        {
            "id": f"KB-{index:04d}",
            "title": title,
            "body": body,
            "department": department,
            "category": category,
            "language": lang,
        }
        for index, (department, category, lang, title, body) in enumerate(drafts, start=1)
    ]
