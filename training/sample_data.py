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
    "users": _c("8", "12", "15", "20", "30", "45", "60", "100", "200"),
    "pct": _digits(85, 99),
    "rows": _c("236", "1,208", "4,530", "12,480", "38,902"),
    "card_tail": _digits(1000, 9999),
    "id_tail": _c("0312", "1527", "604X", "2281", "9035"),
    "ap": lambda s: f"AP-{s.rng.randint(2, 18)}F-{s.rng.randint(1, 12):02d}",
    "switch_port": lambda s: f"Gi{s.rng.randint(1, 2)}/0/{s.rng.randint(1, 48)}",
    "port": _c("443", "8080", "1521", "3306", "22", "5432", "9092", "6379"),
    "kb": lambda s: f"KB50{s.rng.randint(10000, 49999)}",
    "db_error": _c(*_DB_ERRORS),
    "http_error": _c(
        "HTTP 500",
        "HTTP 500 Internal Server Error",
        "HTTP 502 Bad Gateway",
        "HTTP 503 Service Unavailable",
        "HTTP 504 Gateway Timeout",
        "HTTP 404",
        "HTTP 403 Forbidden",
    ),
    "win_error": _c(
        "0x80070005",
        "0x800f0922",
        "0x80004005",
        "0xc000021a",
        "0x80070643",
        "0x8007000e",
        "CRITICAL_PROCESS_DIED",
        "0x0000007E",
    ),
    "vpn_error": _c(
        "Error 809",
        "Error 691",
        "Error 720",
        "SSL handshake failed",
        "Gateway unreachable (-14)",
        "Certificate verification failed",
    ),
    "vpn_client": _c(
        "FortiClient 7.0.9", "Cisco AnyConnect 4.10.07061", "GlobalProtect 6.1.1", "OpenVPN Connect 3.4.2"
    ),
    "mail_error": _c(
        "550 5.1.1 User unknown",
        "550 5.7.1 Message rejected by sender policy",
        "550 5.7.23 SPF validation failed",
        "552 5.3.4 Message size exceeds fixed limit",
    ),
    "mailbox_error": _c("452 4.2.2 The recipient's mailbox is full", "552 5.2.2 Mailbox quota exceeded"),
    "outlook_error": _c("0x800CCC0E", "0x8004010F", "0x80040115", "0x800CCC0F"),
    "win_os": _c("Windows 11 23H2", "Windows 10 22H2", "Windows 11 22H2"),
    "win_laptop": _c(
        "ThinkPad X1 Carbon Gen 11",
        "ThinkPad T14 Gen 4",
        "Dell Latitude 7440",
        "HP EliteBook 840 G10",
        "ThinkBook 14 G6",
    ),
    "os": _c("Windows 11 23H2", "Windows 10 22H2", "macOS 14.4", "Windows 11 22H2", "macOS 13.6"),
    "office": _c(
        "Microsoft 365 Apps 2402 (Build 17328.20162)",
        "Office 2021 16.0.14332",
        "Office 2019 16.0.10827",
        "Office 2016 16.0.5422",
    ),
    "browser": _c("Chrome 122.0.6261.112", "Edge 121.0.2277.128", "Firefox 123.0", "Safari 17.3"),
    "software": _c(
        "Adobe Acrobat Pro",
        "Visio 2021",
        "XMind 2024",
        "Python 3.11.8",
        "Tableau Desktop 2024.1",
        "AutoCAD LT 2024",
        "Navicat Premium 16",
        "Postman 10.23",
        "VS Code 1.87",
        "SPSS 29",
    ),
    "laptop": _c(
        "ThinkPad X1 Carbon Gen 11",
        "ThinkPad T14 Gen 4",
        "Dell Latitude 7440",
        "HP EliteBook 840 G10",
        "MacBook Pro 14 M3",
        "ThinkBook 14 G6",
    ),
    "disk_free": _c("300MB", "512MB", "800MB", "1.2GB", "2GB"),
    "size": _c("18MB", "25MB", "32MB", "45MB"),
    "table": _c(
        "t_order_detail",
        "ar_invoice",
        "hr_employee",
        "crm_contact",
        "wms_stock",
        "fin_voucher",
        "sales_daily",
    ),
    "job_name": _c(
        "daily_sales_etl",
        "inventory_sync",
        "crm_export",
        "finance_close_batch",
        "report_builder",
        "dw_load_orders",
    ),
    "ssid": _c("CORP-Office", "CORP-5G", "CORP-Guest", "Corp-IoT"),
    "dl_name": lambda s: (
        s.rng.choice(
            ("sales-east", "ap-invoices", "hr-recruiting", "cs-vip", "it-oncall", "marketing-events")
        )
        + "@"
        + _COMPANY_DOMAIN
    ),
    "threat": _c(
        "Trojan:Win32/Wacatac.B!ml",
        "HEUR:Trojan.Win32.Generic",
        "Ransom:Win32/LockBit.A",
        "PUA:Win32/Presenoker",
        "Worm:Win32/Autorun!inf",
    ),
    "cert_domain": _c(
        "oa." + _COMPANY_DOMAIN, "shop.example.cn", "api." + _COMPANY_DOMAIN, "vpn." + _COMPANY_DOMAIN
    ),
    "app": _c(
        ("OA系统", "the OA system"),
        ("ERP", "ERP"),
        ("SAP", "SAP"),
        ("CRM系统", "CRM"),
        ("费控系统", "the expense system"),
        ("HR系统", "the HR portal"),
        ("BI报表平台", "the BI portal"),
        ("企业微信", "WeCom"),
        ("合同管理系统", "the contract system"),
        ("WMS仓储系统", "WMS"),
    ),
    "dept": _c(
        ("销售部", "Sales"),
        ("市场部", "Marketing"),
        ("研发中心", "R&D"),
        ("供应链部", "Supply Chain"),
        ("华东大区", "East China Sales"),
        ("财务部", "Finance"),
        ("人力资源部", "HR"),
        ("客户服务部", "Customer Service"),
        ("采购部", "Procurement"),
    ),
    "job": _c(
        ("销售经理", "Sales Manager"),
        ("会计", "Accountant"),
        ("Java开发工程师", "Java Developer"),
        ("行政专员", "Admin Specialist"),
        ("采购专员", "Buyer"),
        ("数据分析师", "Data Analyst"),
        ("产品经理", "Product Manager"),
        ("客服专员", "Customer Service Rep"),
    ),
    "bank": _c(
        ("招商银行", "China Merchants Bank"),
        ("中国工商银行", "ICBC"),
        ("中国建设银行", "China Construction Bank"),
        ("中国银行", "Bank of China"),
    ),
    "city": _c(
        ("北京", "Beijing"),
        ("上海", "Shanghai"),
        ("深圳", "Shenzhen"),
        ("成都", "Chengdu"),
        ("杭州", "Hangzhou"),
        ("武汉", "Wuhan"),
    ),
    "foreign_city": _c(
        ("新加坡", "Singapore"),
        ("法兰克福", "Frankfurt"),
        ("东京", "Tokyo"),
        ("旧金山", "San Francisco"),
        ("悉尼", "Sydney"),
    ),
    "vendor": _c(
        ("上海锦程办公用品有限公司", "Shanghai Jincheng Office Supplies"),
        ("深圳市联创电子有限公司", "Shenzhen Lianchuang Electronics"),
        ("北京博远信息技术有限公司", "Beijing Boyuan IT"),
        ("杭州云启软件有限公司", "Hangzhou Yunqi Software"),
        ("苏州恒通物流有限公司", "Suzhou Hengtong Logistics"),
        ("广州优品包装材料有限公司", "Guangzhou Youpin Packaging"),
        ("成都天府机电设备有限公司", "Chengdu Tianfu M&E Equipment"),
    ),
    "foreign_vendor": _c(
        "Nordlicht Software GmbH",
        "Brightpath Analytics Inc.",
        "Kinoshita Engineering K.K.",
        "Maple Cloud Services Ltd.",
    ),
    "customer_company": _c(
        ("北京星辰科技有限公司", "Beijing Xingchen Technology Co., Ltd."),
        ("上海沐阳贸易有限公司", "Shanghai Muyang Trading Co., Ltd."),
        ("南京启航教育咨询有限公司", "Nanjing Qihang Education Consulting Co., Ltd."),
        ("青岛海澜食品有限公司", "Qingdao Hailan Foods Co., Ltd."),
    ),
    "course": _c(
        ("新任经理领导力训练营", "New Manager Leadership Bootcamp"),
        ("Excel 数据分析进阶", "Advanced Excel for Data Analysis"),
        ("信息安全意识培训", "Security Awareness Training"),
        ("商务英语写作", "Business English Writing"),
        ("项目管理基础", "Project Management Fundamentals"),
        ("反商业贿赂合规培训", "Anti-Bribery Compliance Training"),
    ),
    "product": _c(
        ("智能门锁 S3", "Smart Lock S3"),
        ("空气净化器 AP-200", "Air Purifier AP-200"),
        ("蓝牙耳机 B5", "Bluetooth Earbuds B5"),
        ("扫地机器人 R9", "Robot Vacuum R9"),
        ("智能手表 W2", "Smartwatch W2"),
        ("电热水壶 K1", "Electric Kettle K1"),
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


_IT: tuple[_T, ...] = (
    _T(
        "IT", "network", "P2",
        "{VPN连不上|VPN 无法连接|VPN 登录失败，提示 {vpn_error}|在家连不上公司 VPN}",
        "{我|本人}在{家|酒店|客户现场}用{笔记本|公司电脑}连 VPN，{一直|总是}提示“{vpn_error}”，{已经重启过电脑和路由器|换了手机热点也不行|昨天还好好的}。{客户端版本 {vpn_client}。|}{明天|{date}}要远程{处理|登录}{app}，请帮忙看一下。",
        "{VPN 网关上该用户的证书已过期，已重新签发并指导用户导入，连接恢复。|客户端版本过旧，已远程升级到最新版本并清除缓存的配置文件，VPN 连接正常。|账号因多次输错密码在 VPN 网关被锁定，已解锁，用户用新密码登录成功。}",
        "{VPN not connecting|Can't connect to VPN|VPN login fails with {vpn_error}|VPN dwn from home}",
        "I'm working from {home|a hotel|a customer site} and the VPN client keeps failing with \"{vpn_error}\". {I already rebooted the laptop and the router.|Tried a mobile hotspot too, same result.|It worked fine yesterday.} {Client version is {vpn_client}.|} I need to get into {app} {tomorrow|by {date}}, please help.",
        "{The user's certificate on the VPN gateway had expired; issued a new one, imported it, and the connection works again.|The VPN client was outdated; upgraded it remotely and cleared the cached profile, after which it connected.|The account was locked on the VPN gateway after repeated wrong passwords; unlocked it and the user signed in with the new password.}",
    ),
    _T(
        "IT", "network", "P3",
        "[{floor} WiFi 经常断线|{floor}无线网络很慢|{floor} WiFi 连上了但上不了网]",
        "{floor}{东侧|西侧|靠窗那一排}的 WiFi（SSID：{ssid}）{这两天|从{past_date}开始}[经常掉线|网速特别慢|能连上但打不开网页]，{好几个同事|我们组大约{users}人}都{有这个问题|受影响}。{测速只有 2Mbps 左右。|有线网络是正常的。|}",
        "[该区域单个 AP 接入终端过多，已新增一台 AP 并开启负载均衡，掉线问题消失。|AP {ap} 射频模块故障，已更换 AP 并调整信道，现场测速恢复到 80Mbps 以上。|{floor}的 DHCP 地址池已耗尽，已扩大地址池并缩短租期，终端可正常获取 IP。]",
        "[WiFi keeps dropping on {floor}|WiFi very slow on {floor}|WiFi connected but no internet on {floor}]",
        "The WiFi ({ssid}) on the {east|west|window} side of {floor} [keeps disconnecting|is extremely slow|connects but pages won't load] {for the last two days|since {past_date}}. {Several colleagues|About {users} people in our team} {see the same thing|are affected}. {Speed test shows around 2 Mbps.|Wired network is fine.|}",
        "[Too many clients on one AP in that area; added a second AP and enabled load balancing, no more drops.|The radio on access point {ap} had failed; replaced the AP and re-planned channels, speed test now above 80 Mbps.|The DHCP scope for {floor} was exhausted; enlarged it and shortened the lease time, clients get addresses again.]",
    ),
    _T(
        "IT", "network", "P3",
        "{打不开{app}|访问 {url} 报 {http_error}|内网网站打不开|{host} ping 不通}",
        "{今天上午开始|刚才|从{time}左右开始}访问 {url} {提示 {http_error}|一直转圈打不开}，ping {host}（{ip}）{超时|丢包严重}。{其他网站都正常。|旁边同事的电脑可以打开。|已经清过浏览器缓存。}{浏览器：{browser}|}{\n{nginx_log}|}",
        "{用户电脑的 DNS 被手动改成了外部地址，已改回自动获取并刷新 DNS 缓存，访问恢复。|{host} 前端 nginx 的 upstream 配置错误导致 {http_error}，已修正配置并 reload，网站恢复。|用户电脑的代理设置被篡改，已清除代理并做了病毒扫描，访问正常。}",
        "{Cannot open {app}|{http_error} when opening {url}|Intranet site not loading|{host} not reachable}",
        "{Since this morning|Since about {time}|Just now} {url} {returns {http_error}|keeps spinning and never loads}, and ping to {host} ({ip}) {times out|shows heavy packet loss}. {Other websites work.|It opens fine on my colleague's PC.|Already cleared the browser cache.} {Browser: {browser}|}{\n{nginx_log}|}",
        "{DNS on the user's PC had been set manually to an external resolver; switched back to DHCP and flushed the cache, access restored.|A wrong upstream in the nginx config on {host} caused the {http_error}; fixed the config and reloaded, the site is back.|A proxy setting on the PC had been changed; removed it and ran a malware scan, access is normal.}",
    ),
    _T(
        "IT", "network", "P4",
        "{工位网口没有网|新工位网线不通|{desk} 工位网络不通}",
        "{我刚搬到|新同事坐在}{floor}的 {desk} 工位，{插上网线后没有网络|网口灯不亮|电脑显示“未识别的网络”}，{麻烦安排人来看一下|请帮忙处理}。{MAC 地址 {mac}。|}",
        "{交换机端口 {switch_port} 未划入办公 VLAN，已修改配置，网口恢复。|配线架跳线松动，已重新打线并测试通过。|墙面网口模块损坏，已更换模块，用户可以正常上网。}",
        "{No network at my desk|Network port not working at desk {desk}|Ethernet dead at new desk}",
        "{I just moved to|A new colleague sits at} desk {desk} on {floor} and {there's no network when the cable is plugged in|the port light stays off|Windows shows \"Unidentified network\"}. {Could someone come by?|Please help.} {MAC address {mac}.|}",
        "{Switch port {switch_port} was not in the office VLAN; reconfigured it and the port works.|The patch cord at the patch panel was loose; re-terminated it and tested OK.|The wall socket module was broken; replaced it and the user is online.}",
    ),
    _T(
        "IT", "network", "P3",
        "{申请开通防火墙策略|申请开通 {ip} 到 {host} 的访问|端口开通申请：{port}}",
        "{项目需要|因{app}对接需要}，申请开通 {ip} 到 {host}（{ip2}）TCP {port} 端口的访问，{使用期限到 {date}|长期使用}。{已经过部门经理{person}审批。|审批单号 {ticket_ref}。|}",
        "已在防火墙上新增策略，放通 {ip} 到 {ip2} 的 TCP {port}，{有效期至 {date}|按长期策略备案}，申请人测试连通正常。",
        "{Firewall rule request|Open port {port} from {ip} to {host}|Need access from {ip} to {host}}",
        "For the {app} integration we need TCP {port} opened from {ip} to {host} ({ip2}), {until {date}|permanently}. {Approved by my manager {person}.|Approval ref {ticket_ref}.|}",
        "Added a firewall policy allowing {ip} to {ip2} on TCP {port}{ until {date}|, registered as a permanent rule}; the requester confirmed connectivity.",
    ),
    _T(
        "IT", "account_access", "P3",
        "{账号被锁|域账号锁定，登录不了电脑|密码忘记了，申请重置|登录提示密码错误}",
        "{早上|刚才}登录电脑提示“{账户已被锁定|用户名或密码不正确}”，{可能手机邮箱还在用旧密码|上周刚改过密码|连续输错了几次}。{工号 {emp_id}。|我的账号是 {username}。|}{\n{event_log}|}",
        "{已在 AD 中解锁账号 {username} 并重置为临时密码，用户首次登录后已修改密码。|锁定来源是手机邮件客户端保存的旧密码，已指导用户更新手机上的密码并解锁账号。}",
        "{Account locked out|Forgot my password|Locked out of Windows|Password reset pls}",
        "{This morning|Just now} Windows says \"{The referenced account is currently locked out|The user name or password is incorrect}\". {Maybe my phone mail app still has the old password.|I changed my password last week.|I mistyped it a few times.} {Employee ID {emp_id}.|My username is {username}.|}{\n{event_log}|}",
        "{Unlocked {username} in AD and set a temporary password; the user changed it at first logon.|The lockout source was the phone mail app holding the old password; guided the user to update it and unlocked the account.}",
    ),
    _T(
        "IT", "account_access", "P4",
        "{申请共享盘权限|申请 {share_path} 访问权限|共享文件夹权限申请}",
        "{因工作需要|调岗到{dept}后}，需要{读写|只读}访问 {share_path}，{已找部门经理{person}审批|审批单号 {ticket_ref}}。{账号：{username}|}",
        "已按审批将 {username} 加入 {share_path} 对应的{读写|只读}权限组，用户重新登录后可以访问。",
        "{Access request for {share_path}|Need permissions on shared drive|Shared folder access please}",
        "{For my new role in {dept}|For a project} I need {read/write|read-only} access to {share_path}. {My manager {person} has approved it.|Approval ref {ticket_ref}.} {Username: {username}|}",
        "Added {username} to the {read/write|read-only} group for {share_path} as approved; access works after signing in again.",
    ),
    _T(
        "IT", "account_access", "P2",
        "{换了手机收不到验证码|MFA 验证失败|多因素认证登不上}",
        "{换了新手机后|手机恢复出厂设置后}，登录{app}需要的{ Authenticator 动态码|短信验证码}{收不到|一直提示无效}，现在{完全登不进去|没法审批单据}。{手机号 {mobile}。|}",
        "已在身份认证平台清除旧设备绑定，用户用新手机重新注册 Authenticator 后登录正常。",
        "{MFA not working after phone change|Can't receive verification code|Locked out by MFA}",
        "After {switching to a new phone|a factory reset of my phone}, the {Authenticator code|SMS code} for {app} {never arrives|is always rejected}, so I {can't sign in at all|can't approve anything}. {Mobile: {mobile}|}",
        "Cleared the old device binding in the identity platform; the user re-registered the Authenticator on the new phone and can sign in.",
    ),
    _T(
        "IT", "account_access", "P3",
        "{新员工入职开通账号|{person}入职，申请开通系统权限|新人账号申请}",
        "新同事{person}将于{date}入职{dept}，岗位是{job}，需要开通域账号、邮箱和{app}权限。{电脑已经另外申请。|工位在 {desk}。|}{HR 入职单号 {ticket_ref}。|}",
        "已创建域账号和邮箱 {person_email}，开通{app}权限，初始密码已通过短信发给部门经理。",
        "{Accounts for new joiner {person}|New hire account setup|Onboarding: accounts needed for {person}}",
        "{person} joins {dept} on {date} as {job}. Please set up a domain account, mailbox and {app} access. {Laptop has been requested separately.|Desk is {desk}.|} {HR onboarding ref {ticket_ref}.|}",
        "Created the domain account and mailbox {person_email} and granted {app} access; the initial password went to the hiring manager by SMS.",
    ),
    _T(
        "IT", "hardware", "P2",
        "[电脑蓝屏|{笔记本开不了机|电脑开机黑屏}|电脑一直自动重启]",
        "我的笔记本（资产编号 {asset}，{win_laptop}）[今天开机后一直蓝屏，错误代码 {win_error}|开机风扇在转但是屏幕不亮|用着用着就自动重启]，{里面有明天要用的汇报材料|文件还没来得及备份}，{能否|请}帮忙处理。{SN：{serial}|}",
        "[系统补丁 {kb} 安装失败导致蓝屏，已进入安全模式卸载补丁，数据无损。|主板故障，已为用户提供备用机并迁移数据，原机（{asset}）送修。|内存条接触不良，已重新插拔并运行内存检测，不再自动重启。]",
        "[Laptop blue screen|{Laptop won't boot|Black screen on startup}|PC keeps rebooting]",
        "My laptop (asset tag {asset}, {win_laptop}) [shows a blue screen with stop code {win_error} on every boot|powers on, fans spin, but the screen stays black|restarts by itself every few minutes]. {My slides for tomorrow's review are on it.|I haven't backed up my files yet.} {Serial {serial}.|}",
        "[Update {kb} failed and caused the blue screen; uninstalled it from safe mode, no data lost.|Mainboard failure; gave the user a loaner with migrated data and sent {asset} for repair.|A memory module was loose; reseated it and ran a memory test, no more reboots.]",
    ),
    _T(
        "IT", "hardware", "P4",
        "[{打印机脱机|打印机打不了}|{floor}打印机卡纸|打印机打出来全是黑条|扫描到邮箱不能用]",
        "{floor}的打印机 {printer} [一直显示脱机|卡纸了，拿不出来|打出来全是黑条|扫描后收不到邮件]，{重启过打印机了|其他同事也打不了|驱动重新装过}。",
        "[{打印机驱动损坏，已重新安装驱动，打印正常。|打印机 IP 变更导致脱机，已在打印服务器上把端口更新为 {ip}。}|已清除卡纸并清洁搓纸轮，打印恢复正常。|硒鼓老化，已更换硒鼓，打印质量恢复。|扫描到邮箱的 SMTP 认证密码过期，已更新配置，扫描邮件可正常收到。]",
        "[{Printer offline|Can't print}|Paper jam on {floor} printer|Printer prints black stripes|Scan to email not working]",
        "The printer {printer} on {floor} [shows offline|has a paper jam I can't clear|prints black stripes on every page|scans but the email never arrives]. {Already power-cycled it.|Nobody on the floor can print.|Reinstalled the driver, no luck.}",
        "[{The printer driver was corrupt; reinstalled it and printing works.|The printer's IP had changed; updated the port on the print server to {ip}.}|Cleared the jam and cleaned the pickup roller; printing works.|The toner cartridge was worn out; replaced it and print quality is back.|The SMTP password used by scan-to-email had expired; updated it and scans arrive again.]",
    ),
    _T(
        "IT", "hardware", "P4",
        "[显示器闪屏|申请更换键盘|鼠标坏了|扩展坞不识别显示器]",
        "[显示器（资产编号 {asset}）一直闪屏|键盘有几个键按不出来|鼠标左键失灵|扩展坞接上后外接显示器没信号]，{影响正常办公|用了好几年了}，申请{更换|维修}。",
        "[已更换显示器，旧设备 {asset} 已回收入库。|已从备件库领用新键盘交给用户。|已从备件库领用新鼠标交给用户。|扩展坞固件过旧，已升级固件并更新显卡驱动，外接显示正常。]",
        "[Monitor flickering|Keyboard replacement|Broken mouse|Docking station not detecting monitors]",
        "[My monitor (asset {asset}) keeps flickering|Several keys on my keyboard don't work|The left mouse button stopped working|With the dock connected, the external monitors get no signal]. {It's getting hard to work.|It's several years old.} Could I get a {replacement|repair}?",
        "[Replaced the monitor and returned {asset} to stock.|Issued a new keyboard from spares.|Issued a new mouse from spares.|The dock firmware was outdated; updated it and the graphics driver, external displays work.]",
    ),
    _T(
        "IT", "hardware", "P3",
        "[电脑很卡|C盘满了|电脑风扇狂转，特别慢]",
        "{最近|这周}电脑[特别卡，开个 Excel 要好几分钟|C 盘只剩 {disk_free}，一直弹空间不足的提示|风扇狂转，CPU 占用 100%]。资产编号 {asset}{，系统 {os}|}。",
        "[硬盘健康度告警，已更换为 SSD 并迁移系统，速度恢复正常。|清理临时文件和旧系统更新释放了 {disk_free2} 空间，并把桌面文件迁移到 D 盘。|发现同步软件占满 CPU，已修复索引并升级到最新版本，电脑恢复正常。]",
        "[PC very slow|C: drive full|Laptop fan always on, very slow]",
        "{Lately|This week} my PC [is extremely slow, Excel takes minutes to open|has only {disk_free} left on C: and keeps warning about low disk space|runs its fan all the time with CPU at 100%]. Asset tag {asset}{, {os}|}.",
        "[The disk reported SMART warnings; replaced it with an SSD and migrated the system.|Cleaned temp files and old updates, freeing {disk_free2}, and moved desktop files to D:.|A sync client was pinning the CPU; rebuilt its index and upgraded it, performance is normal.]",
    ),
    _T(
        "IT", "software", "P3",
        "[Excel 打开就崩溃|Word 一直未响应|PPT 打开文件就卡死]",
        "{打开 {path_win} 的时候|今天更新以后}[Excel|Word|PowerPoint]{直接闪退|一直显示“未响应”|报错“{win_error}”}，版本是 {office}。{别的文件好像没问题。|重装过一次还是不行。|}",
        "{禁用了导致崩溃的第三方 COM 加载项并修复 Office，文件可以正常打开。|文件本身损坏，已从 OneDrive 历史版本恢复{past_date}的版本。|Office 更新不完整，已执行联机修复并升级到最新版本，问题解决。}",
        "[Excel crashes on open|Word not responding|PowerPoint keeps crashing]",
        "{When I open {path_win}|Since today's update} [Excel|Word|PowerPoint] {closes immediately|hangs with \"Not Responding\"|fails with error {win_error}}. Version {office}. {Other files seem fine.|Reinstalled once, still the same.|}",
        "{Disabled a third-party COM add-in that crashed on load and repaired Office; the file opens.|The file itself was corrupt; restored the {past_date} version from OneDrive history.|The Office update was incomplete; ran an online repair and updated to the latest build.}",
    ),
    _T(
        "IT", "software", "P4",
        "{申请安装{software}|需要安装软件：{software}|{software} 安装申请}",
        "{工作需要|项目上要用}，申请在电脑（{asset}）上安装 {software}。{公司有授权吗？|自己装提示需要管理员权限。|领导已同意。}",
        "{已通过软件中心为 {asset} 推送安装 {software}（公司授权版本）。|{software} 需单独购买授权，已告知用户走采购流程，暂时提供免费替代软件。}",
        "{Install request: {software}|Please install {software}|Need {software} on my laptop}",
        "{I need|Our project needs} {software} on my laptop ({asset}). {Do we have a licence?|It asks for admin rights when I try.|My manager approved it.}",
        "{Deployed {software} to {asset} through Software Center using the company licence.|{software} needs a separate licence; pointed the user to the purchase process and offered a free alternative meanwhile.}",
    ),
    _T(
        "IT", "software", "P2",
        "{{app}提交报错|{app}打不开，提示 {http_error}|{app} 报系统异常}",
        "{从{time}开始|今天上午}在{app}{提交单据|查询报表|审批流程}时报“{http_error}”{，整个部门都不能用|，试了好几次都一样|}。{日志如下：\n{java_trace}|}",
        "{应用服务器 {host} 内存溢出，已重启应用并把 JVM 堆内存从 4G 调整到 8G，功能恢复。|数据库连接池耗尽导致 {http_error}，已调大连接池上限并终止长时间占用的会话，系统恢复正常。|前一晚的版本发布引入缺陷，已回滚到上一版本，开发跟进修复。}",
        "{Error when submitting in {app}|{app} returns {http_error}|{app} system error}",
        "{Since {time}|This morning} {app} gives \"{http_error}\" when {submitting forms|running reports|approving workflows}{ and the whole department is stuck|, same after several retries|}. {Log below:\n{java_trace}|}",
        "{The app server {host} ran out of heap; restarted the service and raised the JVM heap from 4G to 8G.|The database connection pool was exhausted, causing the {http_error}; raised the pool limit and killed long-running sessions.|Last night's release introduced a defect; rolled back to the previous version and the dev team is fixing it.}",
    ),
    _T(
        "IT", "software", "P2",
        "{定时任务失败|{job_name} 任务失败 {exit_code}|ETL 作业跑挂了}",
        "{今天凌晨|昨晚}的 {job_name} 任务在 {host} 上失败，{exit_code}，{下游报表没有数据|早上的日报发不出来}。{日志：\n{k8s_log}|}",
        "{job_fix}",
        "{Scheduled job failed|{job_name} failed with {exit_code}|Nightly ETL job crashed}",
        "The {job_name} job on {host} failed {last night|early this morning} with {exit_code}, so {downstream reports are empty|the daily report didn't go out}. {Logs:\n{k8s_log}|}",
        "{job_fix}",
    ),
    _T(
        "IT", "software", "P4",
        "{系统更新失败|Windows 更新一直报错|更新后提示 {win_error}}",
        "电脑一直提示需要更新，但每次安装到 {pct}% 就失败，错误代码 {win_error}。系统 {win_os}，资产编号 {asset}。",
        "{重置 Windows 更新组件并清空 SoftwareDistribution 目录后，更新安装成功。|系统分区空间不足，清理后手动安装 {kb}，更新完成。}",
        "{Windows update keeps failing|Update error {win_error}|Can't install updates}",
        "My PC keeps asking to update but every install fails at {pct}% with {win_error}. {win_os}, asset {asset}.",
        "{Reset the Windows Update components and cleared SoftwareDistribution; the update then installed.|The system partition was too full; cleaned it and installed {kb} manually.}",
    ),
    _T(
        "IT", "email", "P3",
        "{邮箱满了|收不到邮件，提示邮箱已满|邮箱容量不足}",
        "{别人说给我发邮件被退回，退信里写着“{mailbox_error}”|Outlook 提示邮箱快满了，同事发来的邮件退信显示“{mailbox_error}”}。{我的邮箱是 {email}。|}{能不能扩容？|里面很多重要邮件不能删。|}",
        "{已将邮箱 {email} 扩容到 50GB 并开启在线存档，收发恢复正常。|已指导用户把{past_date}之前的邮件归档到在线存档，邮箱空间释放 60%。}",
        "{Mailbox full|Emails bouncing - mailbox full|Need more mailbox space}",
        "{People tell me their emails to me bounce with \"{mailbox_error}\"|Outlook says my mailbox is almost full and a colleague got \"{mailbox_error}\"}. {My address is {email}.|} {Can we increase the quota?|I can't delete these mails.|}",
        "{Raised the quota for {email} to 50 GB and enabled the online archive; mail flows again.|Helped the user archive mail older than {past_date}, freeing 60% of the mailbox.}",
    ),
    _T(
        "IT", "email", "P3",
        "{发给客户的邮件被退回|外部邮件发不出去|邮件退信 {mail_error}}",
        "给客户 {ext_email} 发的邮件{今天|从{past_date}起}一直被退回，提示“{mail_error}”。{发给内部同事正常。|附件大约 {size}。|}{客户在等我们的报价。|}",
        "{bounce_fix}",
        "{Emails to customer bouncing|Can't send external mail|Bounce: {mail_error}}",
        "Mail to {ext_email} {bounces since {past_date}|has been bouncing all day} with \"{mail_error}\". {Internal mail is fine.|The attachment is about {size}.|} {The customer is waiting for our quote.|}",
        "{bounce_fix}",
    ),
    _T(
        "IT", "email", "P3",
        "[Outlook 一直断开连接|Outlook 不同步|Outlook 发邮件报错 {outlook_error}]",
        "Outlook [一直显示“正在尝试连接”|收件箱停在{past_date}不再更新|发送时报错 {outlook_error}]，网页版邮箱是正常的。{版本 {office}。|}",
        "{Outlook 配置文件损坏，已重建配置文件并重新缓存邮箱，同步恢复。|OST 文件超过 50GB，已重建 OST 并把缓存时间窗口设为 12 个月。}",
        "[Outlook disconnected|Outlook not syncing|Outlook send error {outlook_error}]",
        "Outlook [keeps saying \"Trying to connect\"|stopped updating the inbox on {past_date}|fails to send with {outlook_error}] while webmail works fine. {Version {office}.|}",
        "{The Outlook profile was corrupt; recreated it and re-cached the mailbox, syncing again.|The OST file had grown past 50 GB; rebuilt it with a 12-month cache window.}",
    ),
    _T(
        "IT", "email", "P4",
        "[新建邮件组|申请共享邮箱|邮件组成员变更]",
        "[请帮忙新建邮件组 {dl_name}，成员见附件名单。|申请共享邮箱 {dl_name}，用于接收{客户咨询|供应商发票}，需要给 {person} 和我开通访问权限。|请把 {person} 加入邮件组 {dl_name}。]",
        "[已创建 {dl_name} 并添加成员，外部发信权限按申请开启。|已创建共享邮箱 {dl_name}，并为申请人及 {person} 授予完全访问和代发权限。|已将 {person} 加入 {dl_name}，新成员可以收到组邮件。]",
        "[New distribution list|Shared mailbox request|Add member to mailing list]",
        "[Please create the distribution list {dl_name}; members are in the attached list.|I need a shared mailbox {dl_name} for {customer enquiries|supplier invoices}, with access for {person} and me.|Please add {person} to {dl_name}.]",
        "[Created {dl_name} with the listed members and allowed external senders as requested.|Created the shared mailbox {dl_name} and gave the requester and {person} full access and send-as rights.|Added {person} to {dl_name}; group mail now reaches them.]",
    ),
    _T(
        "IT", "database", "P2",
        "{{host} 数据库报 {db_error}|数据库连接失败|{app}后台数据库异常}",
        "{app}{从{time}起|今天}大量报错，{后台日志显示|DBA 监控告警}：\n{db_log}\n{业务无法下单|财务月结卡住了|影响{users}个用户}。",
        "{db_fix}",
        "{{db_error} on {host}|Database connection failures|{app} database errors}",
        "{app} {has been throwing errors since {time}|is failing all over today}. {The application log shows:|DBA monitoring alerted:}\n{db_log}\n{Orders can't be placed.|Month-end close is blocked.|About {users} users are affected.}",
        "{db_fix}",
    ),
    _T(
        "IT", "database", "P3",
        "{报表查询很慢|{app}查询超时|数据库慢查询}",
        "{app}里的{月度销售报表|库存明细查询|客户对账单}{以前几秒钟就出来，现在要好几分钟|一直超时，报 {http_error}}。{数据库是 {host}。|}{SQL 大概是：SELECT * FROM {table} WHERE create_time > '{iso_past}'|}",
        "{表 {table} 缺少 create_time 索引导致全表扫描，已添加索引，查询降到 2 秒以内。|统计信息过期导致执行计划错误，已重新收集统计信息，查询恢复正常。}",
        "{Report query very slow|{app} query timeout|Slow database query}",
        "The {monthly sales report|stock detail query|customer statement} in {app} {used to take seconds and now takes minutes|times out with {http_error}}. {Database is {host}.|} {The SQL is roughly: SELECT * FROM {table} WHERE create_time > '{iso_past}'|}",
        "{Table {table} had no index on create_time, causing full scans; added the index and the query runs under 2 seconds.|Stale statistics produced a bad plan; regathered statistics and the query is back to normal.}",
    ),
    _T(
        "IT", "database", "P2",
        "[{误删数据需要恢复|申请从备份恢复数据}|{表数据被误更新|数据被覆盖需要恢复}]",
        "{昨天|{past_date}}[误执行了 DELETE|批量导入把数据覆盖了]，{table} 表丢了大约 {rows} 行，数据库在 {host}。{能否从备份恢复？|月底对账要用这些数据。}",
        "已从{past_date}晚上的全量备份中把 {table} 恢复到临时库，核对后回灌 {rows} 行，业务确认数据正确。",
        "[{Need data restored after accidental delete|Restore table from backup}|{Rows overwritten by mistake|Restore overwritten data}]",
        "{Yesterday|On {past_date}} [a DELETE ran by mistake|a bulk import overwrote data] and table {table} on {host} lost about {rows} rows. {Can we restore from backup?|We need the data for month-end reconciliation.}",
        "Restored {table} from the {past_date} nightly backup into a staging schema, verified and merged back {rows} rows; the business confirmed the data.",
    ),
    _T(
        "IT", "database", "P2",
        "{{host} 磁盘使用率 {pct}%|数据库服务器磁盘告警|{host} 空间不足}",
        "监控告警：{host}（{ip}）{数据盘|/u01 分区}使用率已达 {pct}%，{增长很快|再过一两天就满了}。{df -h 输出：\n{df_line}|}",
        "{清理了 30 天前的归档日志和 trace 文件，使用率降到 60%，并新增定期清理任务。|已在线扩容数据盘 500G，使用率降至 55%。}",
        "{Disk at {pct}% on {host}|Database server disk alert|Low disk space on {host}}",
        "Monitoring alert: {the data disk|/u01} on {host} ({ip}) is at {pct}% and {growing fast|will be full in a day or two}. {df -h:\n{df_line}|}",
        "{Removed archive logs and trace files older than 30 days, usage down to 60%, and scheduled a cleanup job.|Extended the data disk online by 500G; usage is at 55%.}",
    ),
    _T(
        "IT", "database", "P4",
        "{申请数据库只读账号|需要 {host} 查询权限}",
        "做{数据分析|对账}需要 {host} 上 {table} 的只读权限，{已审批，单号 {ticket_ref}|部门领导{person}已同意}。",
        "已在 {host} 创建只读账号 {username}_ro 并授予 {table} 查询权限，连接信息已通过加密邮件发送。",
        "{Read-only database account request|Need query access on {host}}",
        "For {analysis|reconciliation} I need read-only access to {table} on {host}. {Approved under {ticket_ref}.|My manager {person} agreed.}",
        "Created the read-only account {username}_ro on {host} with SELECT on {table}; connection details sent by encrypted mail.",
    ),
)  # fmt: skip

_HR: tuple[_T, ...] = (
    _T(
        "HR", "payroll", "P3",
        "[{加班费没算|{month}工资条有误}|{{month}绩效奖金没发|工资少发了}|{社保扣款怎么变多了|{month}工资条有误}]",
        "{month}的工资条里[加班费没有算，我{month}加班了 {num} 天，{有审批记录|审批单号 {ticket_ref}}|绩效奖金没发，我的绩效评级是 A|社保扣款比平时多了很多]，应该少了大概 {amount}。{工号 {emp_id}。|}",
        "[核对考勤后确认漏算 {num} 天加班，差额 {amount} 将随下月工资补发。|绩效奖金审批晚于截止日未计入，已加入补发名单，随下月工资发放。|社保缴费基数已按年度调整，扣款增加属正常，已向员工解释并发送基数调整通知。]",
        "[{Overtime not paid|Payslip for {month} looks wrong}|{Bonus missing from {month} payslip|Salary short this month}|{Why is my social insurance deduction higher?|Payslip for {month} looks wrong}]",
        "My {month} payslip [doesn't include overtime: I worked {num} extra days in {month} {with approval|(approval {ticket_ref})}|is missing the performance bonus, and my rating was A|shows a much higher social insurance deduction than usual], so I think I'm short about {amount}. {Employee ID {emp_id}.|}",
        "[Checked attendance and confirmed {num} days of overtime were missed; the {amount} difference is paid with next month's salary.|The bonus approval came after the payroll cut-off; it is on the supplementary list for next month.|The contribution base was adjusted for the new year, so the higher deduction is correct; explained it and sent the notice.]",
    ),
    _T(
        "HR", "payroll", "P2",
        "[{工资没到账|本月工资未收到}|更换工资卡]",
        "[今天是发薪日，我的工资还没到账，别人都收到了。{房贷今天要扣款。|}|之前的工资卡挂失了，需要更换新卡，新卡尾号 {card_tail}，开户行{bank}。]",
        "[原工资卡已被银行注销导致退票，员工提供尾号 {card_tail} 的新卡后已于当天重新发放。|已在薪酬系统中更新工资卡信息，从下月起按新卡发放。]",
        "[{Salary not received|Haven't been paid this month}|Change of salary bank account]",
        "[It's payday and my salary hasn't arrived, while everyone else got paid. {My mortgage payment is due today.|}|My salary card was reported lost and I need to switch accounts. New card ends in {card_tail}, {bank}.]",
        "[The old card had been cancelled by the bank so the transfer bounced; re-paid the same day to the card ending {card_tail} supplied by the employee.|Updated the bank details in payroll; salary goes to the new card from next month.]",
    ),
    _T(
        "HR", "payroll", "P4",
        "[{开收入证明|需要在职收入证明}|申请个税完税证明]",
        "{办理{房贷|签证|信用卡}需要|孩子入学需要}开具[在职收入证明|近 12 个月个税完税证明]，{需要盖公章|{date}前要用}，{麻烦寄到{city}办公室|我到 HR 前台自取}。",
        "[已开具在职收入证明并加盖公章，放在 HR 前台，员工已领取。|已导出个税完税证明 PDF 并发送到员工邮箱。]",
        "[{Employment and income certificate|Need an income certificate}|Tax payment certificate request]",
        "I need [an employment and income certificate|a 12-month individual income tax certificate] for {a mortgage|a visa application|my child's school registration}, {stamped|by {date}}. {Please send it to the {city} office.|I'll pick it up at the HR desk.}",
        "[Issued the stamped employment and income certificate; the employee collected it at the HR desk.|Exported the tax certificate PDF and emailed it to the employee.]",
    ),
    _T(
        "HR", "leave", "P4",
        "{年假天数不对|系统里年假余额有误|年假余额少了}",
        "系统显示我今年年假只剩 {num} 天，[去年结转的还没算进去|但我只休了 {num2} 天，感觉算少了]。{入职日期是{past_date}。|}{工号 {emp_id}。|}",
        "[去年结转的 {num2} 天未导入，已在假期系统中补录，余额已更正。|按入职满一年折算规则核对无误，已向员工说明年假计算方式。]",
        "{Annual leave balance wrong|Leave balance looks off|Annual leave days missing}",
        "The system says I have {num} days of annual leave left [and last year's carry-over isn't included|but I've only taken {num2}, so it seems too low]. {My start date was {past_date}.|} {Employee ID {emp_id}.|}",
        "[Last year's {num2} carry-over days had not been imported; added them and the balance is correct.|Checked against the pro-rata rule for the first year; the balance is right and we explained the calculation.]",
    ),
    _T(
        "HR", "leave", "P4",
        "[产假怎么申请|婚假需要什么材料|病假证明问题]",
        "[预产期在{date}，想咨询产假和陪产假的申请流程|下个月结婚，想请婚假，需要提交什么材料|上周病了三天，医院证明是手写的，系统里可以上传吗]？",
        "[已发送产假政策及申请流程，员工需在系统提交申请并上传出生医学证明。|已告知婚假需上传结婚证照片，审批后可在一年内休完。|手写病假条加盖医院章即可，已指导员工在请假单中上传照片。]",
        "[How to apply for maternity leave|Marriage leave documents|Sick note question]",
        "[My due date is {date}; what is the process for maternity and paternity leave?|I'm getting married next month. What do I need to submit for marriage leave?|I was sick for three days last week and the hospital note is handwritten. Can I upload it?]",
        "[Sent the maternity leave policy and steps; the employee applies in the system and uploads the birth certificate.|Marriage leave needs a photo of the marriage certificate and can be taken within a year of approval.|A handwritten note with the hospital stamp is accepted; showed the employee where to upload it.]",
    ),
    _T(
        "HR", "leave", "P3",
        "{请假单卡住了|请假审批一直没人批|请假单审批流程卡住}",
        "我{date}要请{年假|事假} {num} 天，请假单一直卡在[原经理{person}那里，他已经离职了|“待审批”状态，经理说没收到]。单号 {ticket_ref}。",
        "[已将审批节点改派给现任经理，请假单已审批通过。|审批人的待办通知被邮件网关拦截，已重新推送待办，经理已完成审批。]",
        "{Leave request stuck|Nobody approves my leave request|Leave approval workflow stuck}",
        "I want {num} days of {annual|personal} leave from {date}, but the request is stuck [with my former manager {person}, who has left|in \"pending\" and my manager says nothing arrived]. Request {ticket_ref}.",
        "[Reassigned the approval step to the current manager; the request is approved.|The approver's notification was blocked by the mail gateway; re-sent the task and the manager approved it.]",
    ),
    _T(
        "HR", "attendance", "P4",
        "{忘记打卡|补卡申请|{past_date}打卡记录缺失}",
        "{past_date}{早上|下午}{忘记打卡了|打卡时手机没网}，当天{在客户现场|正常上班}，[有出差审批|主管{person}可以证明]，申请补卡。",
        "已根据[出差审批|主管确认]补录{past_date}的打卡记录，考勤异常已消除。",
        "{Forgot to clock in|Missing punch correction|No attendance record for {past_date}}",
        "On {past_date} I {forgot to clock in in the morning|couldn't clock out because my phone had no signal}. I was {at a customer site|in the office as usual} [with an approved business trip|and my supervisor {person} can confirm]. Please correct it.",
        "Added the missing punch for {past_date} based on [the trip approval|the supervisor's confirmation]; the attendance exception is cleared.",
    ),
    _T(
        "HR", "attendance", "P3",
        "[{人脸识别打卡失败|考勤机刷脸没反应}|{考勤机没有记录|打卡记录没同步}]",
        "{floor}的考勤机[这几天识别不了人脸|打卡后系统里没有记录]，{我们部门好几个人|大约{users}人}都显示迟到。",
        "[人脸底库照片过旧，已安排员工重新采集人脸，识别恢复正常，相关迟到记录已核销。|考勤机与考勤系统的同步服务中断，已恢复同步并补传{past_date}以来的记录，迟到标记已撤销。]",
        "[{Face recognition clock-in fails|Attendance terminal doesn't recognise faces}|{Attendance terminal not recording|Clock-ins not synced}]",
        "The attendance terminal on {floor} [hasn't recognised faces for days|accepts punches but nothing shows up in the system], so {several of us|about {users} people} are marked late.",
        "[The stored face photos were outdated; re-enrolled the affected employees, recognition works and the late marks were cleared.|The sync service between the terminal and the attendance system had stopped; restored it, uploaded records since {past_date}, and removed the late marks.]",
    ),
    _T(
        "HR", "onboarding", "P3",
        "{新员工入职材料|入职手续咨询|{person}入职安排}",
        "{我们部门新同事{person}|候选人{person}}{date}入职，{岗位是{job}，|}[劳动合同什么时候签|入职体检报告还没出来，能先入职吗|需要准备哪些材料]？",
        "[已安排入职当天签订劳动合同，并通知部门准备。|体检报告可在入职后两周内补交，已通知候选人。|已把入职材料清单（身份证、学历证书、离职证明、银行卡、体检报告）发给候选人。]",
        "{New hire paperwork|Onboarding question|Start date arrangements for {person}}",
        "{Our new colleague|The candidate} {person} starts on {date}{ as {job}|}. [When is the employment contract signed?|The medical check report isn't ready yet; can they still start?|Which documents do they need to bring?]",
        "[The employment contract is signed on the first day; the team was told to prepare.|The medical report can be submitted within two weeks of starting; informed the candidate.|Sent the candidate the document checklist: ID, degree certificates, previous employer's release letter, bank card, medical report.]",
    ),
    _T(
        "HR", "onboarding", "P3",
        "[{离职手续办理|离职交接流程}|开离职证明]",
        "[我的最后工作日是{date}，想确认离职流程|我已经离职，需要开具离职证明，新公司{date}入职要用]。{工号 {emp_id}。|}",
        "[已发送离职交接清单，社保公积金将在当月停缴。|已开具离职证明，电子版发至个人邮箱，纸质版已邮寄。]",
        "[{Offboarding steps|Leaving the company - what to do}|Separation certificate]",
        "[My last working day is {date}; what is the offboarding process?|I've left and need a separation certificate for my new employer by {date}.] {Employee ID {emp_id}.|}",
        "[Sent the handover checklist; social insurance and housing fund stop at month end.|Issued the separation certificate: PDF to the personal email, paper copy by post.]",
    ),
    _T(
        "HR", "onboarding", "P4",
        "[{转正申请|试用期评估}|延长试用期咨询]",
        "{person}试用期将于{date}到期，[部门已完成评估，申请办理转正|表现还需观察，想了解延长试用期的规定]。",
        "[已在系统中发起转正流程，评估表已归档，转正于{date}生效。|已说明试用期不得延长超过法定上限，建议按评估结果决定是否转正。]",
        "[{Probation confirmation|Probation review}|Extending probation?]",
        "{person}'s probation ends on {date}. [The team finished the review and recommends confirmation.|We'd like more time to assess; what are the rules for extending probation?]",
        "[Started the confirmation workflow and filed the review; confirmation is effective {date}.|Explained that probation cannot exceed the statutory limit; advised deciding on confirmation based on the review.]",
    ),
    _T(
        "HR", "benefits", "P3",
        "[社保转移|公积金提取|社保断缴了]",
        "[我从{city}调到{city2}工作，社保怎么转移|想提取公积金用于租房，需要公司开什么证明|社保系统显示{month}断缴了]？{身份证后四位 {id_tail}。|}",
        "[已为员工办理社保转出手续，转移凭证已发送，新参保地可凭此办理转入。|已开具在职证明，员工可在公积金中心办理租房提取。|{month}因增员申报延迟导致断缴，已补缴，个人权益不受影响。]",
        "[Social insurance transfer|Housing fund withdrawal|Gap in social insurance]",
        "[I'm moving from {city} to {city2}; how do I transfer my social insurance?|I want to withdraw from my housing fund for rent. What does the company need to issue?|The social insurance system shows no contribution for {month}.] {ID ends in {id_tail}.|}",
        "[Completed the transfer-out and sent the certificate for registration in the new city.|Issued the employment certificate needed for the rent withdrawal.|The {month} registration was filed late; the contribution was back-paid and benefits are unaffected.]",
    ),
    _T(
        "HR", "benefits", "P3",
        "{补充医疗保险理赔|商业保险报销|看病费用怎么理赔}",
        "{past_date}在医院{门诊|住院}花了 {amount}，想申请补充医疗保险理赔，{发票和病历都有|有一张发票丢了}，怎么提交？",
        "已告知理赔流程：在保险公司小程序上传发票、病历和费用清单，约 10 个工作日到账；遗失的发票可由医院出具复印件并盖章。",
        "{Supplementary medical insurance claim|Insurance reimbursement|How to claim medical costs}",
        "I spent {amount} at the hospital on {past_date} ({outpatient|inpatient}) and want to claim it on the supplementary medical insurance. {I have the receipts and records.|One receipt is lost.} How do I submit?",
        "Explained the claim steps: upload receipts, records and the cost list in the insurer's mini-program, paid in about 10 working days; a lost receipt can be replaced by a stamped copy from the hospital.",
    ),
    _T(
        "HR", "benefits", "P4",
        "[内推奖金什么时候发|节日福利没领到|年度体检预约]",
        "[我推荐的{person}已经转正，内推奖金什么时候发|中秋福利我出差没领到，还能补领吗|今年的年度体检在哪里预约]？",
        "[内推奖金将在候选人转正次月随工资发放。|已登记补领，福利可到行政前台领取。|已发送体检预约链接，可选{date}前的任意工作日。]",
        "[When is the referral bonus paid?|Missed the holiday gift|Booking the annual health check]",
        "[{person}, whom I referred, has passed probation; when is the referral bonus paid?|I was travelling and missed the Mid-Autumn gift; can I still collect it?|Where do I book this year's health check?]",
        "[The referral bonus is paid with salary in the month after the hire is confirmed.|Registered the late pickup; the gift is at the front desk.|Sent the booking link; any working day before {date} can be chosen.]",
    ),
    _T(
        "HR", "training", "P4",
        "{报名{course}|培训报名|{course}还有名额吗}",
        "想报名{date}的“{course}”，{部门经理已同意|需要占用两天工作时间}，请问还有名额吗？",
        "已为员工报名“{course}”（{date}），培训通知和课前材料已发到邮箱。",
        "{Sign up for {course}|Training registration|Any seats left in {course}?}",
        "I'd like to join \"{course}\" on {date}. {My manager agreed.|It takes two working days.} Are there seats left?",
        "Registered the employee for \"{course}\" on {date}; the invitation and pre-reading were emailed.",
    ),
    _T(
        "HR", "training", "P4",
        "[{必修课完成了但系统没记录|合规培训证书没生成}|学习平台看不到课程]",
        "[学习平台上的“{course}”我已经学完了，但状态还是“未完成”|新员工必修课在学习平台里找不到]{，截止日期是{date}|}。",
        "[学习平台进度同步异常，已手工标记完成并补发证书。|已将员工加入新员工学习计划，课程已可见。]",
        "[{Completed mandatory course not recorded|Compliance training certificate missing}|Course not visible in learning platform]",
        "[I finished \"{course}\" on the learning platform but it still shows \"not completed\"|I can't find the mandatory new-hire courses on the learning platform]{; the deadline is {date}|}.",
        "[Progress sync had failed; marked the course complete and issued the certificate.|Added the employee to the new-hire learning plan; the courses are visible now.]",
    ),
    _T(
        "HR", "training", "P4",
        "{考证费用公司能承担吗|外部培训申请|证书考试补贴}",
        "想参加{PMP|CPA|CISSP}考试，费用大约 {amount}，{公司有没有补贴政策|需要签服务期协议吗}？",
        "已发送外部培训与考证补贴政策：通过考试后可报销 50%，金额超过一万元需签订一年服务期协议。",
        "{Will the company pay for a certification?|External training request|Exam fee subsidy}",
        "I'd like to take the {PMP|CPA|CISSP} exam, about {amount}. {Is there a subsidy?|Do I need to sign a service agreement?}",
        "Sent the external training policy: 50% is refunded after passing, and amounts above RMB 10,000 need a one-year service agreement.",
    ),
)  # fmt: skip

_FINANCE: tuple[_T, ...] = (
    _T(
        "Finance", "reimbursement", "P3",
        "{报销单被退回|报销被驳回了|差旅报销退单}",
        "报销单 {expense_no}（金额 {amount}）被退回，备注写着“[发票抬头不对|缺少行程单|超出住宿标准]”。{发票号 {invoice_zh}。|}{出差是{past_date}去{city}。|}请问怎么处理？",
        "[发票抬头须为公司全称，已告知员工联系酒店重开发票后重新提交。|机票报销需附电子行程单，员工补充后已审核通过。|超标部分 {amount2} 需部门负责人特批，已转审批，其余部分已审核通过。]",
        "{Expense claim returned|Expense claim rejected|Travel claim sent back}",
        "My expense claim {expense_no} ({amount}) was returned with the note \"[wrong company name on the invoice|itinerary missing|above the hotel limit]\". {Invoice no. {invoice_zh}.|} {The trip was to {city} on {past_date}.|} What should I do?",
        "[The invoice must carry the full company name; the employee asked the hotel to reissue it and resubmitted.|Air tickets need the e-itinerary attached; approved after the employee added it.|The {amount2} above the limit needs the department head's sign-off; routed for approval and paid the rest.]",
    ),
    _T(
        "Finance", "reimbursement", "P4",
        "{报销什么时候到账|报销进度查询|报销款还没收到}",
        "{past_date}提交的报销单 {expense_no}{，金额 {amount}|}，到现在还没到账，系统里显示“[财务审核中|待付款]”。",
        "[因纸质单据未寄到财务共享中心而挂起，员工补寄后已审核并付款。|报销单已完成审核，将在下一个付款批次（每周四）打款。]",
        "{When will my expenses be paid?|Expense claim status|Reimbursement not received}",
        "I submitted claim {expense_no}{ for {amount}|} on {past_date} and haven't been paid; the system shows \"[under finance review|awaiting payment]\".",
        "[It was on hold because the paper receipts hadn't reached the shared-service centre; approved and paid after they arrived.|The claim is approved and goes out in the next payment run (Thursdays).]",
    ),
    _T(
        "Finance", "reimbursement", "P4",
        "[{外币报销按什么汇率|境外差旅报销}|{海外出差补贴怎么算|境外差旅报销}]",
        "{past_date}去{foreign_city}出差 {num} 天，[信用卡消费了 {amount_fx}，报销按哪天的汇率|每天的出差补贴标准是多少]？",
        "外币费用按信用卡账单入账日的银行汇率折算，需附账单；海外出差补贴按目的地标准每日发放，已发送标准表。",
        "[{Exchange rate for foreign expenses|Claiming foreign travel costs}|{Overseas per diem|Claiming foreign travel costs}]",
        "I was in {foreign_city} for {num} days from {past_date}. [My card was charged {amount_fx}; which exchange rate applies?|What is the daily allowance?]",
        "Foreign-currency costs use the bank rate on the card statement posting date, with the statement attached; the overseas allowance follows the destination table, which we sent.",
    ),
    _T(
        "Finance", "invoice", "P3",
        "{申请开具增值税专用发票|客户要求开发票|开票申请}",
        "客户{customer_company}{签的合同 {contract}|的订单已经交付}，需要开{增值税专用发票|普通发票}，金额 {amount_big}{，纳税人识别号 {tax_id}|}。{开户行和账号见附件。|}{客户要求{date}前收到。|}",
        "{已按合同 {contract} 开具增值税专用发票，发票号 {invoice_zh}，已快递给客户。|客户提供的纳税人识别号有误，已联系销售确认后开具电子发票并发送。}",
        "{Please issue a VAT special invoice|Customer needs an invoice|Invoice request}",
        "{customer_company} {signed contract {contract}|has received the delivery} and needs a {VAT special|regular} invoice for {amount_big}{. Tax ID {tax_id}|}. {Bank details are attached.|} {They need it by {date}.|}",
        "{Issued the VAT special invoice for contract {contract}, number {invoice_zh}, and couriered it to the customer.|The tax ID given was wrong; confirmed it with sales and sent an e-invoice.}",
    ),
    _T(
        "Finance", "invoice", "P3",
        "[{发票抬头错误|发票开错了，需要红冲}|{发票金额有误|发票开错了，需要红冲}|{发票税率开错|发票开错了，需要红冲}]",
        "{上周|{past_date}}开给{customer_company}的发票（发票号 {invoice_zh}）[抬头写错了|金额多开了 {amount}|税率应为 6% 却开成了 13%]，客户要求作废重开。",
        "已开具红字发票冲销原发票 {invoice_zh}，并按正确信息重新开具，新发票已发送给客户。",
        "[{Wrong buyer name on invoice|Invoice issued wrongly - needs reversal}|{Invoice amount incorrect|Invoice issued wrongly - needs reversal}|{Wrong VAT rate on invoice|Invoice issued wrongly - needs reversal}]",
        "The invoice we issued to {customer_company} {last week|on {past_date}} (no. {invoice_zh}) [has the wrong buyer name|is {amount} too high|shows 13% VAT instead of 6%]. The customer wants it cancelled and reissued.",
        "Issued a red-letter invoice reversing {invoice_zh} and reissued with the correct details; the customer has the new one.",
    ),
    _T(
        "Finance", "invoice", "P3",
        "{供应商发票查验不通过|发票验真失败|收到的发票疑似有问题}",
        "{vendor}寄来的发票 {invoice}（金额 {amount}）在税务平台查验{显示“不一致”|查无此票}。{对应采购订单 {po}。|}请协助确认能否入账。",
        "{发票代码录入有误，重新查验通过后已入账。|该发票确为异常发票，已退回供应商要求重开，付款暂停。}",
        "{Supplier invoice fails verification|Invoice check failed|Suspicious supplier invoice}",
        "Invoice {invoice} from {vendor} ({amount}) {shows \"inconsistent\"|is not found} on the tax verification site. {It belongs to PO {po}.|} Can we book it?",
        "{The invoice code had been keyed in wrongly; it verified on re-entry and was booked.|The invoice is genuinely invalid; returned it to the supplier for reissue and put payment on hold.}",
    ),
    _T(
        "Finance", "payment", "P2",
        "{供应商催款|{vendor}货款逾期未付|付款进度查询}",
        "{vendor}反映{past_date}到期的货款 {amount_big} 还没收到{，发票号 {invoice}|}{，采购订单 {po}|}。{对方说再不付款就停止供货。|}请帮忙查一下付款进度。",
        "{该笔付款因缺少验收单被挂起，采购补交后已于今天付款，银行回单已发给供应商。|付款已于{past_date}完成，因对方账户信息变更被退回，已核实新账户后重新支付。}",
        "{Supplier chasing payment|Overdue payment to {vendor}|Payment status query}",
        "{vendor} says the {amount_big} due on {past_date} hasn't arrived{ (invoice {invoice})|}{, PO {po}|}. {They threaten to stop deliveries.|} Can you check the payment status?",
        "{The payment was held for a missing goods receipt; paid today after Procurement supplied it, and the bank slip went to the supplier.|It was paid on {past_date} but bounced because the supplier changed accounts; verified the new account and paid again.}",
    ),
    _T(
        "Finance", "payment", "P2",
        "{重复付款|同一张发票付了两次|供应商被多付了款}",
        "发现{vendor}的发票 {invoice} 在{past_date}和{past_date2}各付了一次，{金额 {amount_big}|共多付 {amount_big}}，请协助{追回|核实}。",
        "已确认重复付款，供应商同意在下期货款中抵扣，系统中已做抵扣标记。",
        "{Duplicate payment|Same invoice paid twice|Supplier overpaid}",
        "Invoice {invoice} from {vendor} was paid twice, on {past_date} and {past_date2}, {{amount_big} each|{amount_big} overpaid}. Please {recover it|check}.",
        "Confirmed the duplicate; the supplier agreed to net it against the next payment, and the offset is flagged in the system.",
    ),
    _T(
        "Finance", "payment", "P4",
        "[{预支差旅费|借款申请}|{备用金申请|借款申请}]",
        "[去{city}出差|组织部门团建]需要借备用金 {amount}，{date}前需要，{已审批|审批单 {ticket_ref}}。",
        "借款已审核并打款至员工工资卡，需在返回后 30 天内报销冲账。",
        "[{Travel advance|Cash advance request}|{Petty cash request|Cash advance request}]",
        "I need a cash advance of {amount} for [a trip to {city}|the team outing] by {date}. {Approved.|Approval {ticket_ref}.}",
        "Approved and paid the advance to the salary card; it must be cleared with an expense claim within 30 days of return.",
    ),
    _T(
        "Finance", "budget", "P4",
        "{预算调整申请|Q{quarter}预算调整|追加预算}",
        "{dept}{因为新增项目|由于{vendor}涨价}，Q{quarter}{市场推广|IT 运维|差旅}预算需要{追加|从其他科目调剂} {amount_big}，{测算表见附件|已与{person}沟通}。",
        "{预算调整已经财务总监审批，系统中预算额度已更新。|测算依据不足，已退回请补充明细后再提交。}",
        "{Budget adjustment request|Q{quarter} budget change|Additional budget}",
        "{dept} needs {an extra|a transfer of} {amount_big} in the Q{quarter} {marketing|IT operations|travel} budget {because of a new project|because {vendor} raised prices}. {Calculation attached.|Discussed with {person}.}",
        "{Approved by the finance director; the budget in the system is updated.|The justification was too thin; sent back for a detailed breakdown.}",
    ),
    _T(
        "Finance", "budget", "P3",
        "{项目费用超预算|提交采购提示预算不足|预算不够用了}",
        "{项目|部门}的{差旅|咨询}费用已用掉 {pct}%，[提交采购订单 {po} 时提示预算不足|还有一笔 {amount_big} 的合同要付款]，怎么处理？",
        "[已临时从部门预备费调剂额度，订单可以提交；请在季度预算回顾时补做调整。|超预算支出需总经理审批，已发起特批流程。]",
        "{Project over budget|Budget insufficient for PO|Running out of budget}",
        "Our {project|department} has used {pct}% of its {travel|consulting} budget. [PO {po} is blocked for insufficient budget.|There's still a {amount_big} contract to pay.] What now?",
        "[Moved headroom from the department reserve so the PO can go through; adjust it in the quarterly review.|Spending above budget needs the GM's approval; started the exception workflow.]",
    ),
    _T(
        "Finance", "tax", "P4",
        "[{进项税能否抵扣|专票进项抵扣问题}|税率咨询]",
        "[收到{vendor}的增值税专用发票 {invoice_zh}，用途是员工福利，进项税能抵扣吗|我们给客户提供的{咨询服务|软件服务}应该适用哪个税率]？",
        "[用于员工福利的进项税不得抵扣，已指导做进项税额转出。|该服务适用 6% 税率，已发送政策依据。]",
        "[{Can we deduct input VAT?|Input VAT on a special invoice}|Which VAT rate applies?]",
        "[We received VAT special invoice {invoice_zh} from {vendor} for staff welfare items. Can the input VAT be deducted?|Which VAT rate applies to the {consulting|software} services we provide to customers?]",
        "[Input VAT on staff welfare is not deductible; guided the team to reverse it.|That service is taxed at 6%; sent the policy reference.]",
    ),
    _T(
        "Finance", "tax", "P3",
        "{境外付款代扣代缴|给国外供应商付款要交税吗|对外支付税务备案}",
        "要向 {foreign_vendor} 支付{软件授权费|技术服务费} {amount_fx}{，合同号 {contract}|}，需要代扣代缴哪些税？{付款期限是{date}。|}",
        "需代扣增值税 6% 及企业所得税 10%（可按税收协定申请优惠），已安排对外支付税务备案，完成后付款。",
        "{Withholding tax on foreign payment|Do we withhold tax for an overseas supplier?|Tax filing for outbound payment}",
        "We must pay {foreign_vendor} {amount_fx} for {software licences|technical services}{ under contract {contract}|}. Which taxes do we withhold? {Payment is due {date}.|}",
        "Withhold 6% VAT and 10% corporate income tax (treaty relief may apply); started the outbound payment tax filing, payment follows.",
    ),
    _T(
        "Finance", "accounting", "P3",
        "{凭证科目记错|需要调账|费用入错成本中心}",
        "{month}的凭证 {voucher} 把{咨询费|差旅费} {amount} 记到了{dept}的成本中心，应该是我们部门的，请调整。",
        "已做调整分录，将 {amount} 从原成本中心转至正确成本中心，{month}报表已更新。",
        "{Wrong account on journal entry|Please correct a posting|Cost booked to the wrong cost centre}",
        "Journal {voucher} for {month} put {consulting|travel} costs of {amount} on {dept}'s cost centre; it belongs to ours. Please correct it.",
        "Posted an adjusting entry moving {amount} to the correct cost centre; the {month} report is updated.",
    ),
    _T(
        "Finance", "accounting", "P4",
        "{申请费用明细表|导出{month}费用报表|要一份部门费用明细}",
        "{部门做预算复盘|审计需要}，麻烦导出{dept}{month}的费用明细（按科目、成本中心），{date}前要。",
        "已从 ERP 导出{month}费用明细并发送到申请人邮箱。",
        "{Cost detail report request|Export of {month} expenses|Need our department cost details}",
        "For {our budget review|the audit}, please export {dept}'s {month} cost details by account and cost centre by {date}.",
        "Exported the {month} cost details from ERP and emailed them to the requester.",
    ),
    _T(
        "Finance", "accounting", "P3",
        "[{审计询证函|询证函需要盖章}|供应商对账不一致]",
        "[会计师事务所发来询证函，需要确认与{vendor}截至{past_date}的往来余额 {amount_big}|与{vendor}对账差了 {amount}，对方说发票 {invoice} 我们没有入账]，请协助核对。",
        "[已核对往来余额并在询证函上盖章寄回会计师事务所。|差异为发票 {invoice} 尚在途未入账，已补记，余额一致。]",
        "[{Audit confirmation letter|Confirmation letter needs stamp}|Supplier reconciliation difference]",
        "[The auditors sent a confirmation of our balance with {vendor} as of {past_date}, {amount_big}.|Our reconciliation with {vendor} is off by {amount}; they say invoice {invoice} isn't booked on our side.] Please help check.",
        "[Checked the balance, stamped the confirmation and returned it to the auditors.|The difference was invoice {invoice} still in transit; booked it and the balances agree.]",
    ),
)  # fmt: skip

_FACILITIES: tuple[_T, ...] = (
    _T(
        "Facilities", "maintenance", "P3",
        "[{floor}空调不制冷，太热了|{floor}空调漏水|{floor}空调一直吹热风]",
        "{floor}{开放办公区|东侧办公区|经理办公室}的空调[不制冷，室温快 30 度了|在滴水，地上放了个桶|一直吹热风]，{从{past_date}开始就这样|今天特别明显}。",
        "[空调滤网堵塞、冷媒不足，已清洗滤网并补充冷媒，温度恢复正常。|冷凝水管堵塞导致漏水，已疏通排水管并擦干地面。|楼宇自控系统中该区域被误设为制热模式，已改为制冷并设定 24 度。]",
        "[AC not cooling on {floor}, too hot|Air conditioner leaking on {floor}|AC blowing warm air on {floor}]",
        "The air conditioning in the {open office|east wing|managers' offices} on {floor} [doesn't cool, it's almost 30°C|is dripping water, we put a bucket under it|blows warm air] {since {past_date}|and today is the worst}.",
        "[The filter was clogged and refrigerant low; cleaned and recharged, temperature is normal.|The condensate pipe was blocked; cleared it and dried the floor.|The building control system had that zone on heating; switched it to cooling at 24°C.]",
    ),
    _T(
        "Facilities", "maintenance", "P2",
        "[{{room}天花板漏水|会议室漏水了}|{floor}茶水间水管爆了]",
        "[{room}的天花板在漏水，{地上已经积了一片水|水滴到了会议桌上|旁边就是电源插座}|{floor}茶水间的水管爆了，水流了一地]，{麻烦马上派人来|我们先把电脑搬开了}。",
        "[楼上空调冷凝水管接头松脱，已重新紧固并更换受潮吊顶板。|茶水间进水软管老化破裂，已关阀更换软管，地面已清理。]",
        "[{Water leaking from ceiling in {room}|Leak in meeting room}|Burst pipe in the {floor} pantry]",
        "[Water is coming through the ceiling in {room}; {there's a puddle on the floor|it's dripping onto the meeting table|there's a power socket right next to it}|A pipe burst in the {floor} pantry and there's water everywhere]. {Please send someone now.|We moved the laptops away for now.}",
        "[A condensate pipe joint on the floor above had come loose; refastened it and replaced the wet ceiling tiles.|The pantry supply hose had burst; shut the valve, replaced the hose and cleaned up.]",
    ),
    _T(
        "Facilities", "maintenance", "P4",
        "[{floor}走廊灯不亮|{工位上方灯管坏了|工位顶灯一直闪}]",
        "{floor}[靠电梯的走廊|{desk} 工位上方]的灯{不亮了|一直闪，看久了头疼}，麻烦安排更换。",
        "已更换 LED 灯管{和镇流器|}，照明恢复正常。",
        "[Corridor lights out on {floor}|{Light above my desk broken|Flickering light above my desk}]",
        "The light [in the corridor by the lifts on {floor}|above desk {desk}] {is out|keeps flickering and gives me a headache}. Please replace it.",
        "Replaced the LED tube{ and driver|}; lighting is normal.",
    ),
    _T(
        "Facilities", "maintenance", "P3",
        "[{floor}卫生间堵了|水龙头关不上|马桶一直漏水]",
        "{floor}{男|女}卫生间[有个马桶堵了|洗手池水龙头关不紧一直流水|的马桶一直在漏水]，{请尽早处理|已经放了“暂停使用”的牌子}。",
        "[已疏通马桶并检查排水管，恢复使用。|已更换水龙头阀芯，不再漏水。|已更换马桶进水阀，漏水问题解决。]",
        "[Toilet blocked on {floor}|Tap won't turn off|Toilet keeps running]",
        "In the {men's|women's} restroom on {floor}, [one toilet is blocked|a sink tap won't close and keeps running|a toilet keeps leaking]. {We put an out-of-order sign on it.|}",
        "[Cleared the blockage and checked the drain; back in use.|Replaced the tap cartridge; no more leaking.|Replaced the fill valve; the leak is fixed.]",
    ),
    _T(
        "Facilities", "maintenance", "P3",
        "[{{room}的门锁坏了|门关不上}|{room}的门锁不上|钥匙断在锁里了]",
        "{room}的门[锁舌卡住了，门关不上|把手松了，锁不上|钥匙断在锁芯里了]，{里面有投影设备，晚上锁不了门不放心|下午还有客户来开会}。",
        "[已更换锁舌组件并调整门吸，门可以正常关闭上锁。|已紧固把手并更换锁体，门锁恢复正常。|已取出断在锁芯里的钥匙并更换锁芯，新钥匙两把交前台保管。]",
        "[{Door lock broken in {room}|Door won't close}|Can't lock the door of {room}|Key snapped in the lock]",
        "The door of {room} [won't latch because the bolt is stuck|has a loose handle and can't be locked|has a key broken off in the cylinder]. {There's AV equipment inside and we can't lock it at night.|We have a client meeting there this afternoon.}",
        "[Replaced the latch assembly and adjusted the door stop; the door closes and locks again.|Tightened the handle and replaced the lock body; it works normally.|Extracted the broken key and replaced the cylinder; two new keys are with reception.]",
    ),
    _T(
        "Facilities", "maintenance", "P4",
        "[椅子坏了|办公桌抽屉打不开|升降桌不能升降]",
        "我在 {desk} 的[办公椅气压杆坏了，一坐就往下沉|桌子抽屉锁打不开，钥匙丢了|升降桌按键没反应]，{申请更换|麻烦来修一下}。",
        "[已更换办公椅，旧椅回收。|已开锁并更换抽屉锁，配新钥匙两把。|升降桌控制盒故障，已更换控制盒。]",
        "[Broken office chair|Desk drawer stuck|Standing desk not moving]",
        "At desk {desk}, [my chair's gas lift is broken and it sinks|the drawer lock won't open and the key is lost|the standing desk buttons do nothing]. {Could I get a replacement?|Please come and fix it.}",
        "[Replaced the chair and took the old one away.|Opened and replaced the drawer lock with two new keys.|The desk control box had failed; replaced it.]",
    ),
    _T(
        "Facilities", "meeting_room", "P4",
        "{会议室被重复预订|会议室冲突|会议室预订被占用}",
        "我在系统里预订了{date} {time}的{room}，[今天发现预订记录被别人覆盖了|但是到了发现有人在用]，{我们有{num}个外部客户要来|这是季度评审会}，能帮忙协调吗？",
        "[系统同步错误导致预订被覆盖，已恢复原预订并通知对方改订其他会议室。|已协调占用方换到其他会议室，并提醒按预订使用。]",
        "{Meeting room double-booked|Room booking conflict|Someone took my booked room}",
        "I booked {room} for {date} at {time}, [but my booking was overwritten|but another team is in it]. {We have {num} external visitors coming.|It's our quarterly review.} Can you sort it out?",
        "[A calendar sync error overwrote the booking; restored it and asked the other team to book elsewhere.|Asked the team occupying the room to move and reminded them to use bookings.]",
    ),
    _T(
        "Facilities", "meeting_room", "P3",
        "[{room}投影仪没信号|会议室视频会议设备连不上|会议室电视投屏不了]",
        "{room}的[投影仪接上 HDMI 没信号|视频会议终端一直连不上|大屏无线投屏搜不到]，{半小时后有客户会议|已经重启过设备}，请派人来看看。",
        "[投影仪 HDMI 线损坏，已更换线缆并测试通过。|视频会议终端网线松动，重新接好后注册成功。|投屏盒子固件异常，已重置并重新配对。]",
        "[No signal from projector in {room}|Video conference unit offline|Can't screen-share to room TV]",
        "In {room}, [the projector shows no signal over HDMI|the video conference unit won't connect|wireless screen sharing can't find the display]. {Client meeting in 30 minutes.|Already restarted everything.} Please send someone.",
        "[The HDMI cable was damaged; replaced and tested.|The VC unit's network cable was loose; reseated it and it registered.|The casting box firmware was stuck; reset and re-paired it.]",
    ),
    _T(
        "Facilities", "meeting_room", "P4",
        "{大会议室活动布置|{date}会议场地布置|培训室桌椅摆放}",
        "{date}下午{time}在{room}有{全员大会|部门培训|客户交流会}，约 {users} 人，需要{剧院式摆放|课桌式摆放}、{两支无线话筒|茶歇}，麻烦提前布置。",
        "已按要求完成场地布置，话筒和茶歇已确认，活动当天安排一名行政同事现场支持。",
        "{Room setup for event|Venue setup on {date}|Training room arrangement}",
        "We have {an all-hands|a department training|a customer workshop} in {room} on {date} at {time} for about {users} people. Please set it up {theatre style|classroom style} with {two wireless mics|a coffee break}.",
        "Set the room up as requested, confirmed mics and catering, and assigned a facilities colleague on site for the day.",
    ),
    _T(
        "Facilities", "office_supplies", "P4",
        "[{需要{num}箱打印纸|申领办公用品}|{文具申请|申领办公用品}|{文具申请|申领办公用品}]",
        "{部门|我们组}需要申领：[A4 打印纸 {num} 箱|签字笔两盒、便利贴五本|文件夹和订书机]，{放在 {desk} 就好|下午过来领}。",
        "办公用品已备齐，{已送到 {desk}|申请人已在前台领取}。",
        "[{Need {num} boxes of paper|Office supplies request}|{Stationery request|Office supplies request}|{Stationery request|Office supplies request}]",
        "{Our team|I} need [{num} boxes of A4 paper|two boxes of pens and five sticky-note pads|folders and a stapler]. {Please leave them at {desk}.|I'll pick them up this afternoon.}",
        "Supplies prepared and {delivered to {desk}|collected at reception}.",
    ),
    _T(
        "Facilities", "office_supplies", "P4",
        "[饮水机坏了|咖啡机不出咖啡|茶水间冰箱不制冷]",
        "{floor}茶水间的[饮水机不出热水|咖啡机一直提示“除垢”，不出咖啡|冰箱不制冷了，里面东西都坏了]，麻烦处理一下。",
        "[已联系供应商更换饮水机加热模块。|已对咖啡机除垢并更换滤芯，恢复正常。|冰箱温控器故障，已更换。]",
        "[Water dispenser broken|Coffee machine not working|Pantry fridge not cooling]",
        "In the {floor} pantry, [the water dispenser gives no hot water|the coffee machine keeps asking for descaling and won't brew|the fridge isn't cooling and food is spoiling].",
        "[The supplier replaced the dispenser's heating unit.|Descaled the machine and replaced the filter; it works.|Replaced the fridge thermostat.]",
    ),
    _T(
        "Facilities", "office_supplies", "P4",
        "{印名片|名片申请|名片信息更新}",
        "申请印制名片一盒：{person}，{job}，手机 {mobile}，邮箱 {person_email}{，英文名片一盒|}。",
        "名片已下单印刷，预计 3 个工作日后送到前台。",
        "{Business cards|Business card request|Update my business card}",
        "Please order one box of business cards: {person}, {job}, mobile {mobile}, email {person_email}{, plus a box in English|}.",
        "Ordered the cards; they reach reception in about three working days.",
    ),
    _T(
        "Facilities", "cleaning", "P4",
        "[地毯上洒了咖啡|会议室很脏，需要保洁|会议室有异味]",
        "{room}[地毯上洒了一大杯咖啡|开完会后垃圾没人收|有很大的异味]，{下午还要接待客户|麻烦安排保洁}。",
        "已安排保洁[对地毯做了深度清洁|清运垃圾并整理了会议室|清理了垃圾桶里的残留食物并通风除味]。",
        "[Coffee spilled on carpet|Meeting room dirty, cleaning needed|Bad smell in meeting room]",
        "{room} [has a large coffee stain on the carpet|wasn't cleaned after the last meeting|smells bad]. {We host a client there this afternoon.|Please send cleaning staff.}",
        "Cleaning staff [deep-cleaned the carpet|cleared the rubbish and tidied the room|removed leftover food from the bins and aired the room].",
    ),
    _T(
        "Facilities", "cleaning", "P3",
        "[茶水间有蟑螂|办公室有老鼠|会议室有飞虫，需要除虫]",
        "{最近|这几天}在{floor}[茶水间看到好几只蟑螂|工位附近看到老鼠，电线好像被咬了|会议室有很多小飞虫]，{大家都很担心卫生|请尽快安排消杀}。",
        "已安排专业消杀公司在周末对{floor}进行全面消杀，并封堵了管道缝隙，两周后复查。",
        "[Cockroaches in the pantry|Mouse in the office|Flies in the meeting room, pest control needed]",
        "{Lately|These past days} we've seen [cockroaches in the pantry|a mouse near the desks, and a cable looks chewed|lots of small flies in the meeting room] on {floor}. Please arrange pest control.",
        "A pest control contractor treated {floor} over the weekend and sealed pipe gaps; follow-up check in two weeks.",
    ),
    _T(
        "Facilities", "parking", "P4",
        "{申请停车位|停车证办理|车牌登记}",
        "申请地下停车场月卡，车牌 {plate}，{从{date}开始|下个月开始}，{费用从工资扣|我自己缴费}。",
        "{车牌 {plate} 已登记，停车月卡{date}起生效。|目前车位已满，已登记候补，有空位会第一时间通知。}",
        "{Parking permit request|Parking space application|Register my car plate}",
        "I'd like a monthly parking permit for plate {plate} {from {date}|from next month}, {deducted from salary|paid by me}.",
        "{Registered {plate}; the permit is active from {date}.|The car park is full; added to the waiting list and we'll notify you.}",
    ),
    _T(
        "Facilities", "parking", "P3",
        "[车被堵了|车位被占|停车场道闸不抬杆]",
        "[我的车在 B2 被一辆{plate}堵住了，出不去|我的固定车位被别的车占了|停车场出口道闸识别不了我的车牌 {plate}]，{能帮忙联系一下吗|后面排了好几辆车}。",
        "[已通过物业联系车主挪车。|已登记并提醒占位车主，后续占用将报物业处理。|道闸车牌白名单同步失败，已手动抬杆并重新同步白名单。]",
        "[My car is blocked in|Someone is in my parking space|Car park barrier won't open]",
        "[A car with plate {plate} is blocking mine on B2.|Another car is parked in my assigned space.|The exit barrier doesn't recognise my plate {plate}.] {Can you help?|There's a queue behind me.}",
        "[Building management reached the owner and the car was moved.|Logged it and warned the other driver; repeat cases go to building management.|The barrier whitelist had failed to sync; opened it manually and re-synced.]",
    ),
    _T(
        "Facilities", "relocation", "P3",
        "{部门搬迁|团队换楼层|办公室搬迁安排}",
        "{dept}{num}0 人计划在{date}搬到{floor}，需要安排{工位、储物柜和搬家公司|网络点位和电话分机迁移}，{搬迁清单见附件|请先帮忙评估}。",
        "已完成搬迁方案：工位图确认、搬家公司{date}晚上作业，网络点位已提交 IT 同步调整。",
        "{Department move|Team moving floors|Office relocation}",
        "{dept} ({num}0 people) moves to {floor} on {date}. We need {desks, lockers and movers|network points and phone extensions moved}. {The inventory is attached.|Please assess first.}",
        "Move plan done: seating chart confirmed, movers booked for the evening of {date}, and network changes handed to IT.",
    ),
    _T(
        "Facilities", "relocation", "P4",
        "[申请换工位|新员工需要工位|项目组工位调整]",
        "[我的工位在空调出风口下面，想换一个|新同事{person}{date}入职，需要一个工位|项目组想坐在一起，需要调整 {num} 个工位]。",
        "已分配新工位 {desk}，{钥匙和门牌已准备好|相关同事已通知}。",
        "[Desk change request|New starter needs a desk|Seat adjustment for project team]",
        "[My desk is right under an AC vent; could I move?|New colleague {person} starts {date} and needs a desk.|Our project team wants to sit together; {num} seats need to move.]",
        "Assigned desk {desk}{ and prepared the key and name plate|; the colleagues concerned were informed}.",
    ),
)  # fmt: skip

_PROCUREMENT: tuple[_T, ...] = (
    _T(
        "Procurement", "purchase_request", "P3",
        "[{新员工电脑申请|申请采购笔记本电脑}|{需要一台新电脑|申请更换笔记本电脑}|{申请采购高配笔记本|需要一台新电脑}]",
        "[新同事{person}{date}入职|我的电脑用了五年，性能跟不上|项目需要一台高配电脑做数据处理]，申请{采购|配置}一台笔记本，{型号参考 {laptop}|要求 i7、32G 内存、1T SSD}，{预算约 {amount}|已获部门经理审批}。",
        "{已按标准配置下单 {laptop}，采购订单 {po}，预计{date}到货后交 IT 装机。|非标准配置需 IT 评估，已走特批流程并下单，采购订单 {po}。}",
        "[{Laptop for new hire|Laptop purchase request}|{Need a new computer|Laptop replacement request}|{High-spec laptop purchase|Need a new computer}]",
        "[{person} joins on {date}|My laptop is five years old and too slow|Our project needs a high-spec machine for data work], so I'd like a laptop{ like the {laptop}|: i7, 32 GB RAM, 1 TB SSD}. {Budget about {amount}.|My manager has approved.}",
        "{Ordered the standard {laptop} on PO {po}; delivery about {date}, then IT sets it up.|Non-standard spec needed IT review; approved as an exception and ordered on PO {po}.}",
    ),
    _T(
        "Procurement", "purchase_request", "P3",
        "[{申请购买软件授权|{software} 许可证采购}|{software} 许可证续费]",
        "[团队{num}个人需要 {software} 的授权|{software} 的年度许可{date}到期，需要续费]，{报价大约 {amount}|供应商是{vendor}}，请协助采购。",
        "[已比价后向{vendor}下单 {num} 套授权，采购订单 {po}，许可证已交 IT 分发。|已完成续费，许可证有效期延长一年，合同 {contract} 已归档。]",
        "[{Software licence purchase|{software} licences needed}|{software} licence renewal]",
        "[{num} people on our team need {software} licences|Our {software} annual licence expires on {date}]. {The quote is about {amount}.|The reseller is {vendor}.} Please arrange the purchase.",
        "[Compared quotes and ordered {num} seats from {vendor} on PO {po}; keys handed to IT.|Renewed for one year; contract {contract} is filed.]",
    ),
    _T(
        "Procurement", "purchase_request", "P4",
        "[采购申请：办公桌椅|需要采购{num}台显示器|采购申请：文件柜]",
        "{dept}因扩编需要采购[办公桌椅 {num} 套|显示器 {num} 台|文件柜 {num} 个]，预算 {amount_big}，{希望{date}前到位|申请单号 {ticket_ref}}。",
        "已完成询价并下单，采购订单 {po}，供应商{vendor}，预计{date}交货。",
        "[Purchase request: desks and chairs|Need {num} monitors|Purchase request: filing cabinets]",
        "{dept} is growing and needs [{num} desks and chairs|{num} monitors|{num} filing cabinets], budget {amount_big}{, ideally by {date}|, request {ticket_ref}}.",
        "Quotes collected and ordered on PO {po} from {vendor}; delivery expected {date}.",
    ),
    _T(
        "Procurement", "purchase_request", "P2",
        "{产线备件紧急采购|设备配件急需采购|生产停线等备件}",
        "{二号产线|包装线}的{伺服电机|PLC 模块|传送带轴承}坏了，{库存没有备件|仓库只剩一个}，需要采购 {num} 个，{预计停线损失每小时 {amount}|{date}之前必须到}。",
        "已启用紧急采购流程，从{vendor}现货采购，采购订单 {po}，备件当天送达，产线已恢复。",
        "{Urgent spare part for production line|Machine part needed|Line down waiting for spare}",
        "The {servo motor|PLC module|conveyor bearing} on {line 2|the packing line} failed and {we have no spare|only one is left in stock}. We need {num}; {downtime costs about {amount} per hour|it must arrive by {date}}.",
        "Used the emergency purchase route and bought from {vendor} stock on PO {po}; the part arrived the same day and the line runs again.",
    ),
    _T(
        "Procurement", "vendor", "P4",
        "{新供应商准入|供应商注册申请|新增供应商}",
        "想引入{vendor}作为{包装材料|IT 服务|物流}供应商，{统一社会信用代码 {tax_id}，|}资质文件见附件，请启动准入流程。",
        "已完成资质审核和尽职调查，{vendor}已录入供应商主数据，编码 V{num}0{num2}1。",
        "{New supplier onboarding|Supplier registration|Add a new vendor}",
        "We'd like to add {vendor} as our {packaging|IT services|logistics} supplier{; credit code {tax_id}|}. Documents attached; please start the onboarding.",
        "Qualification and due diligence done; {vendor} is in the supplier master as V{num}0{num2}1.",
    ),
    _T(
        "Procurement", "vendor", "P3",
        "{供应商服务质量投诉|供应商交付问题反馈|供应商考核}",
        "{vendor}{最近三批货都延迟交付|提供的耗材质量不稳定，退货率很高|的驻场工程师经常不到岗}，{影响了我们的项目进度|已经沟通多次没有改善}，请采购部介入。",
        "已约谈供应商并发出书面整改通知，本季度考核降级；若下月仍未改善将启动替换供应商流程。",
        "{Supplier performance complaint|Vendor delivery issues|Vendor review needed}",
        "{vendor} {has delivered the last three batches late|supplies consumables of unstable quality with high return rates|keeps sending an on-site engineer who doesn't show up}. {It's delaying our project.|Several talks haven't helped.} Please step in.",
        "Met the supplier and issued a written corrective notice; their rating is downgraded this quarter, and a replacement process starts if nothing improves next month.",
    ),
    _T(
        "Procurement", "vendor", "P2",
        "{供应商变更收款账户|供应商银行信息变更|供应商要求改账号付款}",
        "收到{vendor}的邮件，说公司银行账户变更，{要求下一笔货款 {amount_big} 打到新账户|新开户行是{bank}，账号尾号 {card_tail}}，{邮件发件地址跟以前不太一样|对方催得很急}，请确认怎么处理。",
        "已通过合同中的联系电话回拨供应商核实，{确认变更属实，按流程提交盖章的变更函后已更新主数据|对方表示从未申请变更，该邮件为诈骗，已通知安全管理部并冻结修改}。",
        "{Supplier changed bank account|Vendor bank details update|Vendor asks to pay a new account}",
        "{vendor} emailed that their bank account changed and {the next payment of {amount_big} should go to the new account|the new bank is {bank}, account ending {card_tail}}. {The sender address looks slightly different from before.|They're pushing hard.} How should we proceed?",
        "Called the supplier back on the number in the contract; {the change was genuine and the master data was updated after a stamped change letter|they never requested a change, the mail was fraud; Security was informed and the change blocked}.",
    ),
    _T(
        "Procurement", "quotation", "P3",
        "{需要三家比价|询价申请|请帮忙询价}",
        "{项目需要采购{num}0 台工业平板|需要外包一场{num}00 人的年会}，按规定要三家比价，{参数见附件|预算 {amount_big}}，{date}前需要报价结果。",
        "已向三家供应商发出询价，比价结果已发送申请人，推荐{vendor}（综合评分最高）。",
        "{Three quotes needed|Request for quotation|Please source quotes}",
        "{Our project needs {num}0 rugged tablets.|We're outsourcing an annual party for {num}00 people.} Policy requires three quotes; {specs attached|budget {amount_big}}, results needed by {date}.",
        "Sent the RFQ to three suppliers; the comparison went to the requester, recommending {vendor} on overall score.",
    ),
    _T(
        "Procurement", "quotation", "P3",
        "[{供应商报价上涨|价格调整通知}|报价过期了]",
        "{vendor}通知[原材料上涨，单价上调 {raise_pct}%|原报价已过期]，采购订单 {po} 还没下，{按新价格会超预算 {amount}|请帮忙谈一下价格}。",
        "已与{vendor}重新议价，同意按原价执行至本季度末，采购订单 {po} 已下达。",
        "[{Supplier raised prices|Price increase notice}|Quote expired]",
        "{vendor} says [raw material costs went up and the unit price rises {raise_pct}%|our quote has expired]. PO {po} isn't placed yet and {the new price puts us {amount} over budget|we need someone to negotiate}.",
        "Renegotiated with {vendor}; they hold the old price until quarter end and PO {po} is placed.",
    ),
    _T(
        "Procurement", "purchase_order", "P3",
        "[{{po} 数量修改|采购订单变更}|修改采购订单交期|采购订单变更：增加行项目]",
        "采购订单 {po} 需要[把数量从 {num}00 改成 {num2}00|把交期改到{date}|增加一个行项目]，{供应商已同意|原因是项目计划调整}。",
        "已在系统中修改 {po} 并重新发送给供应商确认，变更记录已归档。",
        "[{Change quantity on {po}|Change to purchase order}|PO delivery date change|PO change: add a line item]",
        "PO {po} needs [the quantity changed from {num}00 to {num2}00|the delivery date moved to {date}|one more line item]. {The supplier agreed.|The project plan changed.}",
        "Changed {po} in the system and re-sent it to the supplier for confirmation; the change log is filed.",
    ),
    _T(
        "Procurement", "purchase_order", "P3",
        "{采购订单审批卡住|PO 一直没审批|采购订单审批流异常}",
        "采购订单 {po}（金额 {amount_big}）[提交三天了还在“审批中”|卡在{person}那里，他在休假]，{供应商要求{date}前下单锁价|项目等着用}。",
        "[审批流配置错误导致卡单，已修复并重新触发审批，{po} 已审批通过。|已按授权规则转交代理审批人，{po} 已审批通过并发送供应商。]",
        "{PO approval stuck|Purchase order not approved|PO workflow problem}",
        "PO {po} ({amount_big}) [has been \"in approval\" for three days|is stuck with {person}, who is on leave]. {The supplier needs the order by {date} to hold the price.|The project is waiting.}",
        "[A workflow misconfiguration blocked it; fixed and re-triggered the approval, {po} is approved.|Delegated to the deputy approver under the authority matrix; {po} is approved and sent.]",
    ),
    _T(
        "Procurement", "purchase_order", "P4",
        "{补录采购订单|先货后单补 PO|货到了没有采购订单}",
        "{vendor}的货已经到了，{发票号 {invoice}，|}但之前没下采购订单，财务说没有 PO 不能付款，请补录。",
        "已补录采购订单 {po} 并提醒需求部门今后先下单后收货，财务可按订单付款。",
        "{Retroactive PO needed|Goods arrived without a PO|Please create a missing PO}",
        "Goods from {vendor} have arrived{, invoice {invoice}|} but there was never a PO, and Finance won't pay without one. Please create it.",
        "Created PO {po} after the fact and reminded the team to order before receiving; Finance can pay against it.",
    ),
    _T(
        "Procurement", "delivery", "P2",
        "{到货延迟|供应商交货推迟|货还没到}",
        "采购订单 {po} 的{服务器|原材料|展会物料}原定{past_date}到货，到现在还没到，{供应商说物流卡住了，单号 {tracking}|{date}就要用}，请帮忙催一下。",
        "已与{vendor}确认货物在中转仓滞留，已安排专车配送，{date}前到货。",
        "{Delivery delayed|Supplier late on delivery|Goods not arrived}",
        "The {servers|raw materials|trade-show materials} on PO {po} were due on {past_date} and still aren't here. {The supplier blames logistics, tracking {tracking}.|We need them by {date}.} Please chase.",
        "Confirmed with {vendor} that the shipment was stuck at a hub; arranged a dedicated truck, arriving before {date}.",
    ),
    _T(
        "Procurement", "delivery", "P3",
        "[到货破损|收到的货型号不对|货物数量不符]",
        "今天收到{vendor}的货（PO {po}），[有{num}箱外包装破损，里面的东西坏了|型号跟订单不一致|数量少了{num}件]，{照片见附件|还没签收}。",
        "已拒收问题货物并要求{vendor}补发，补发货物已于{date}到达并验收合格。",
        "[Goods arrived damaged|Wrong items delivered|Quantity mismatch]",
        "The delivery from {vendor} today (PO {po}) [has {num} crushed cartons with damaged contents|doesn't match the ordered model|is short by {num} pieces]. {Photos attached.|Not signed for yet.}",
        "Rejected the faulty goods and asked {vendor} to resend; the replacement arrived on {date} and passed inspection.",
    ),
    _T(
        "Procurement", "delivery", "P4",
        "{收货确认|系统收货操作|验收单怎么填}",
        "PO {po} 的货已经到了，{不知道怎么在系统里做收货|验收单需要谁签字}，财务在等收货记录付款。",
        "已指导申请人在系统中完成收货，验收单由需求部门负责人签字后上传。",
        "{Goods receipt|How to receive goods in the system|Who signs the acceptance form?}",
        "The goods for PO {po} have arrived, but {I don't know how to post the goods receipt|who needs to sign the acceptance form?}. Finance is waiting for the receipt to pay.",
        "Walked the requester through the goods receipt; the acceptance form is signed by the requesting department head and uploaded.",
    ),
)  # fmt: skip

_LEGAL: tuple[_T, ...] = (
    _T(
        "Legal", "contract_review", "P3",
        "{销售合同审核|请审核合同 {contract}|客户合同条款审查}",
        "与{customer_company}的销售合同 {contract}（金额 {amount_big}）需要法务审核，{对方修改了违约金和付款条款|客户要求适用他们的合同模板}，{希望{date}前签署|客户在催}。",
        "已完成审核并返回修订版：违约金上限调整为合同总额的 20%，付款条款改为验收后 30 天，其余条款可接受。",
        "{Sales contract review|Please review contract {contract}|Customer contract terms}",
        "The sales contract {contract} with {customer_company} ({amount_big}) needs legal review; {they changed the penalty and payment clauses|they insist on their own template}. {We'd like to sign by {date}.|The customer is pushing.}",
        "Reviewed and returned a redline: penalties capped at 20% of contract value and payment 30 days after acceptance; the rest is acceptable.",
    ),
    _T(
        "Legal", "contract_review", "P4",
        "{需要签保密协议|NDA 申请|保密协议模板}",
        "下周要和{customer_company}{讨论合作方案|交换技术资料}，需要先签一份{双向|单向}保密协议，{对方联系人 {ext_email}|用公司模板就行}。",
        "已按公司标准双向 NDA 模板准备文本并发给对方，双方签署后已归档，编号 {contract}。",
        "{NDA needed|Non-disclosure agreement request|NDA template}",
        "We meet {customer_company} next week to {discuss a partnership|exchange technical documents} and need a {mutual|one-way} NDA first. {Their contact is {ext_email}.|Our template is fine.}",
        "Prepared the standard mutual NDA and sent it; signed by both parties and filed as {contract}.",
    ),
    _T(
        "Legal", "contract_review", "P3",
        "{采购合同条款审核|供应商合同责任条款|供应商框架协议审查}",
        "采购部转来{vendor}的{框架协议|服务合同} {contract}，对方要求{把赔偿责任上限限定为合同金额的 10%|适用香港法律并在当地仲裁|自动续约三年}，请法务评估风险。",
        "已出具审查意见：责任上限不得低于合同金额 100%，争议解决改为上海仲裁，删除自动续约条款；修订版已返回采购部。",
        "{Supplier contract liability clause|Review of supplier framework agreement|Procurement contract review}",
        "Procurement forwarded {vendor}'s {framework agreement|service contract} {contract}. They want {liability capped at 10% of contract value|Hong Kong law and arbitration there|automatic renewal for three years}. Please assess the risk.",
        "Issued our position: liability cap no lower than 100% of contract value, arbitration in Shanghai, no auto-renewal; redline returned to Procurement.",
    ),
    _T(
        "Legal", "contract_review", "P4",
        "{合同盖章申请|用印申请|合同需要盖公章}",
        "合同 {contract} 双方已确认定稿，{需要加盖合同专用章|一式四份需要盖骑缝章}，{审批单 {ticket_ref}|今天下午对方来取}。",
        "已核对定稿与审批版本一致后完成用印，用印登记已记录。",
        "{Contract stamping request|Company seal needed|Please stamp the contract}",
        "Contract {contract} is final on both sides and needs {the contract seal|the seal on all four copies across pages}. {Approval {ticket_ref}.|The counterparty collects it this afternoon.}",
        "Checked the final against the approved version and stamped it; the seal log is updated.",
    ),
    _T(
        "Legal", "compliance", "P4",
        "[{客户送礼能不能收|礼品申报}|{供应商请客出差是否合规|招待费用合规咨询}]",
        "[客户{customer_company}过节送了一盒价值约 {amount} 的礼品|供应商邀请我们去{city}参加“技术交流会”，费用他们出]，{可以接受吗|需要申报吗}？",
        "按反商业贿赂政策，超过 500 元的礼品须婉拒或上交并申报；供应商承担差旅的活动需合规部门事先批准，已回复申请人。",
        "[{Can I accept a gift from a customer?|Gift declaration}|{Supplier-paid trip - is it allowed?|Hospitality compliance question}]",
        "[{customer_company} sent a holiday gift worth about {amount}.|A supplier invited us to a \"technical exchange\" in {city}, all expenses paid.] {Can I accept it?|Do I need to declare it?}",
        "Under the anti-bribery policy, gifts above RMB 500 are declined or handed in and declared; supplier-paid trips need prior compliance approval. Replied to the requester.",
    ),
    _T(
        "Legal", "compliance", "P3",
        "{客户制裁名单筛查|出口管制合规|新客户合规审查}",
        "新客户{foreign_vendor}想采购我们的{工业控制模块|加密通信设备}，{最终用户在海外|数量 {num}00 套}，请协助做出口管制和制裁名单筛查。",
        "已完成制裁名单筛查未发现命中；产品属于出口管制清单物项，需申请出口许可证后方可发货，已通知销售。",
        "{Sanctions screening for new customer|Export control check|Compliance review of new customer}",
        "New customer {foreign_vendor} wants to buy {industrial control modules|encrypted communication devices}{ with an overseas end user|, {num}00 units}. Please run export control and sanctions screening.",
        "Screening found no hits; the product is export-controlled, so an export licence is required before shipping. Sales was informed.",
    ),
    _T(
        "Legal", "compliance", "P2",
        "{监管部门问询函|收到市场监管局通知|监管检查配合}",
        "今天收到{市场监管局|网信办|税务局}的{问询函|现场检查通知}，要求在{date}前提交{广告宣传材料说明|个人信息处理情况说明|相关合同和票据}，请法务牵头处理。",
        "法务已牵头组织相关部门准备材料，回复函经管理层审阅后于期限前提交，后续沟通由法务统一对接。",
        "{Regulator inquiry letter|Notice from market regulator|Regulatory inspection}",
        "We received {an inquiry letter|an inspection notice} from {the market regulator|the cyberspace administration|the tax bureau} asking for {an explanation of our advertising|a description of our personal data processing|contracts and invoices} by {date}. Legal please lead.",
        "Legal coordinated the departments; the reply was reviewed by management and filed before the deadline, and Legal is the single point of contact going forward.",
    ),
    _T(
        "Legal", "intellectual_property", "P3",
        "{发现商标侵权|网店假冒我们的产品|品牌被仿冒}",
        "在{某电商平台|短视频平台}上发现有店铺销售假冒我们品牌的{product}，{链接和截图见附件|价格只有正品一半}，{客户已经来投诉质量问题|影响很大}。",
        "已向平台提交知识产权投诉，侵权链接已下架；同时对店铺主体发送律师函并保全证据。",
        "{Trademark infringement found|Counterfeits of our product online|Brand being copied}",
        "An online shop on {a marketplace|a short-video platform} sells fake {product} under our brand. {Links and screenshots attached.|It's priced at half of ours.} {Customers have complained about the quality.|}",
        "Filed an IP complaint with the platform and the listings were removed; sent a lawyer's letter to the seller and preserved evidence.",
    ),
    _T(
        "Legal", "intellectual_property", "P3",
        "{开源许可证合规|项目里用了 GPL 组件|开源软件能否商用}",
        "研发在{产品固件|客户交付的软件}里用了一个 {GPL-3.0|AGPL-3.0|LGPL-2.1} 许可的开源库，{版本 {software}|}，产品{date}要发布，想确认是否需要公开源代码。",
        "经评估，静态链接该库会触发源码公开义务；建议替换为 MIT/Apache 许可的替代库或改为动态链接，已与研发确认整改方案。",
        "{Open-source licence compliance|GPL component in our product|Can we use this open-source library commercially?}",
        "R&D used a {GPL-3.0|AGPL-3.0|LGPL-2.1} library in {the product firmware|software delivered to customers}. We release on {date}; do we have to publish our source code?",
        "Static linking would trigger source disclosure; recommended replacing it with an MIT/Apache-licensed alternative or linking dynamically, and agreed the fix with R&D.",
    ),
    _T(
        "Legal", "intellectual_property", "P4",
        "{专利申请|发明专利提交|技术成果保护}",
        "研发团队完成了一项{电池管理算法|结构设计}的改进，{想申请发明专利|需要评估是否申请专利}，技术交底书见附件。",
        "已与专利代理机构沟通，交底书补充后提交发明专利申请，申请号待受理后通知。",
        "{Patent application|Filing an invention patent|Protecting a technical result}",
        "R&D improved a {battery management algorithm|mechanical design} and {wants to file an invention patent|asks whether it's worth patenting}. Disclosure attached.",
        "Worked with the patent agency; after completing the disclosure the application was filed, and the number follows on acceptance.",
    ),
    _T(
        "Legal", "dispute", "P1",
        "{收到法院传票|被客户起诉了|诉讼材料送达}",
        "前台今天收到{city}{区|中级}人民法院寄来的{应诉通知书和起诉状|传票}，{customer_company}起诉我们{合同违约|货款纠纷}，标的额 {amount_big}，{答辩期 15 天|{date}开庭}。",
        "法务已登记案件并委托外部律师，正在收集合同 {contract} 履约证据，答辩状将在期限内提交。",
        "{Court summons received|We are being sued|Lawsuit papers served}",
        "Reception received {a summons|a notice to respond and the complaint} from a {city} court today: {customer_company} is suing us for {breach of contract|an unpaid invoice}, claim {amount_big}. {We have 15 days to respond.|The hearing is on {date}.}",
        "Legal registered the case and engaged outside counsel; evidence on performance of contract {contract} is being collected and the defence will be filed in time.",
    ),
    _T(
        "Legal", "dispute", "P2",
        "{劳动仲裁通知|前员工申请仲裁|劳动争议}",
        "收到劳动仲裁委员会通知，前员工{person}申请仲裁，要求支付{经济补偿金|加班费} {amount_big}，{开庭时间{date}|需要提交证据}。",
        "法务已与人力资源部核对考勤和薪酬记录，准备答辩意见，并委托律师出庭。",
        "{Labour arbitration notice|Former employee filed for arbitration|Employment dispute}",
        "The labour arbitration commission notified us that former employee {person} claims {severance|overtime pay} of {amount_big}. {The hearing is on {date}.|We must submit evidence.}",
        "Legal reviewed attendance and payroll records with HR, prepared the defence, and instructed counsel to attend.",
    ),
    _T(
        "Legal", "dispute", "P3",
        "{应收账款催收|客户长期欠款|发律师函}",
        "{customer_company}欠我们货款 {amount_big}，已经逾期{num}个月，{销售多次催收无果|对方一直说资金紧张}，{发票号 {invoice}，|}想请法务发律师函。",
        "已向客户发出律师函，要求在 15 日内付款；若到期未付将启动诉讼程序。",
        "{Debt collection|Customer long overdue|Send a lawyer's letter}",
        "{customer_company} owes us {amount_big}, {num} months overdue. {Sales has chased many times.|They keep saying cash is tight.} {Invoice {invoice}.|} Can Legal send a lawyer's letter?",
        "Sent a lawyer's letter demanding payment within 15 days; litigation follows if unpaid.",
    ),
    _T(
        "Legal", "privacy", "P2",
        "[个人信息查询请求|用户要求删除个人信息|用户投诉个人信息被泄露]",
        "用户{ext_email}[要求查询我们保存的他所有个人信息|要求注销账号并删除全部个人信息|投诉接到推销电话，怀疑我们泄露了手机号 {mobile}]，{法定时限 15 个工作日|已经投诉到监管部门}，请法务处理。",
        "[已核实用户身份，并在规定期限内导出其个人信息副本发送给用户，回复已存档。|已核实用户身份，并在规定期限内完成账号注销和数据删除，备份中数据将在 30 天内清除。|已核查系统访问和导出日志，未发现该手机号被导出，已向用户书面说明调查结果，回复已存档。]",
        "[Personal data access request|User asks to delete personal data|Customer complains about data leak]",
        "User {ext_email} [asks for a copy of all personal data we hold|asks us to close the account and erase all data|says they get sales calls and suspect we leaked their number {mobile}]. {The legal deadline is 15 working days.|They have complained to the regulator.}",
        "[Verified the user's identity and sent a copy of their data within the deadline; the reply is archived.|Verified the user's identity, closed the account and erased the data within the deadline; backups are purged within 30 days.|Checked access and export logs and found no export of that number; explained the findings to the user in writing and archived the reply.]",
    ),
    _T(
        "Legal", "privacy", "P3",
        "{隐私政策审核|新功能隐私评估|App 收集个人信息合规}",
        "App 新版本要上线{人脸识别登录|位置推荐|通讯录好友}功能，{date}发版，需要法务审核隐私政策更新和弹窗授权文案。",
        "已完成个人信息保护影响评估，隐私政策已补充收集目的和保存期限，授权弹窗改为单独同意。",
        "{Privacy policy review|Privacy assessment for new feature|App data collection compliance}",
        "The next app release adds {face login|location-based recommendations|contact-book friends} and ships on {date}. Please review the privacy policy update and the consent pop-up.",
        "Completed the privacy impact assessment; the policy now states purposes and retention, and the pop-up asks for separate consent.",
    ),
    _T(
        "Legal", "privacy", "P3",
        "{数据出境评估|员工数据传到海外总部|跨境传输合规}",
        "海外总部要求把{员工花名册|客户订单数据}同步到{foreign_city}的系统，{大约 {rows} 条记录|每月一次}，想确认需要做哪些数据出境手续。",
        "已评估数据量未达申报门槛，可通过签订标准合同并备案的方式出境，合同模板和备案清单已发给申请部门。",
        "{Cross-border data transfer assessment|Sending employee data to HQ abroad|Data export compliance}",
        "Headquarters wants {the employee roster|customer order data} synced to a system in {foreign_city}, {about {rows} records|monthly}. Which steps are required for cross-border transfer?",
        "The volume is below the filing threshold, so the standard contract route with registration applies; sent the template and checklist.",
    ),
)  # fmt: skip

_CUSTOMER_SERVICE: tuple[_T, ...] = (
    _T(
        "CustomerService", "complaint", "P3",
        "{产品质量投诉|买的{product}有质量问题|投诉：产品用了几天就坏}",
        "{客户来电|客户反映}：订单 {order_no} 购买的{product}{用了不到一周就无法开机|外壳有裂缝|有异响}，{要求换货|情绪比较激动，要求赔偿}。客户手机 {mobile}。",
        "{已为客户办理换新，新机已发出，快递单号 {tracking}，并赠送延保一年作为补偿。|已安排售后上门检测，确认为质量问题后退货退款。}",
        "{Product quality complaint|Faulty {product}|Complaint: product broke after a few days}",
        "{Customer called|Customer reports} that the {product} from order {order_no} {won't turn on after less than a week|arrived with a cracked housing|makes a strange noise}. {They want a replacement.|They are upset and want compensation.} Phone {mobile}.",
        "{Sent a replacement, tracking {tracking}, and added a one-year extended warranty as goodwill.|Arranged an on-site check; confirmed the defect and processed a return and refund.}",
    ),
    _T(
        "CustomerService", "complaint", "P3",
        "[{投诉客服态度|在线客服服务态度差}|{投诉安装师傅|上门服务态度差}]",
        "客户{person}投诉[昨天的在线客服回复敷衍|上门安装的师傅迟到两个小时还态度不好]，订单 {order_no}，{要求道歉|说要给差评}。",
        "已回访客户致歉，并对相关人员进行了服务培训；为客户发放 {amount} 优惠券作为补偿，客户接受。",
        "[{Complaint about support agent|Poor chat service}|{Complaint about installer|Poor on-site service}]",
        "Customer {person} complains that [yesterday's chat agent gave careless answers|the installer came two hours late and was rude]. Order {order_no}. {They want an apology.|They threaten a bad review.}",
        "Called the customer back to apologise and coached the staff involved; issued a {amount} voucher as goodwill, which the customer accepted.",
    ),
    _T(
        "CustomerService", "complaint", "P2",
        "[{升级投诉|客户多次来电投诉}|客户要投诉到 12315|客户在社交媒体上曝光]",
        "客户 {mobile}（订单 {order_no}）[已经第三次来电，问题一直没解决|说如果今天不处理就投诉到 12315|在社交媒体上发帖，已经有很多转发]，{要求主管出面|要求全额退款}。",
        "客服主管已亲自致电客户并道歉，当天完成全额退款，客户已删除帖子并撤回投诉。",
        "[{Escalated complaint|Customer calling repeatedly}|Customer escalating to consumer hotline|Customer went public on social media]",
        "Customer {mobile} (order {order_no}) [is calling for the third time with no fix|says they'll report us to the consumer association today|posted on social media and it's being shared widely]. {They want a supervisor.|They want a full refund.}",
        "The service supervisor called and apologised personally and refunded in full the same day; the customer removed the post and withdrew the complaint.",
    ),
    _T(
        "CustomerService", "refund", "P3",
        "{退款还没到账|退款进度查询|客户催退款}",
        "客户订单 {order_no} {past_date}已经申请退款 {amount}，[系统显示“退款成功”但客户说没收到|到现在还在“处理中”]，客户{很着急|每天都来问}。",
        "[已查询支付渠道，退款已原路退回，银行处理需 3-5 个工作日，已告知客户。|退款因财务审核卡住，已加急处理，今日已退回客户原支付账户。]",
        "{Refund not received|Refund status|Customer chasing refund}",
        "Customer requested a refund of {amount} for order {order_no} on {past_date}; [the system shows \"refunded\" but they haven't received it|it's still \"processing\"]. {They're anxious.|They ask every day.}",
        "[Checked with the payment channel: the refund went back to the original card and banks take 3-5 working days; told the customer.|The refund was stuck in finance review; expedited it and it reached the original account today.]",
    ),
    _T(
        "CustomerService", "refund", "P3",
        "{申请退货退款|七天无理由退货|商品不满意要退款}",
        "客户收到{product}后{觉得和描述不符|不想要了，包装未拆}，申请{七天无理由退货|退货退款}，订单 {order_no}，{签收日期{past_date}|快递单号 {tracking}}。",
        "已审核通过退货申请，客户寄回后验收无误，已退款 {amount} 至原支付账户。",
        "{Return and refund request|7-day no-reason return|Customer wants money back}",
        "Customer received the {product} and {says it doesn't match the description|no longer wants it, unopened}; requests {a 7-day no-reason return|a return and refund}. Order {order_no}, {delivered {past_date}|tracking {tracking}}.",
        "Approved the return; after inspection of the returned item, refunded {amount} to the original payment method.",
    ),
    _T(
        "CustomerService", "refund", "P2",
        "{重复扣款|客户被扣了两次钱|支付扣款异常}",
        "客户反映订单 {order_no} 付款时{被扣了两次|页面提示失败但银行卡已扣款} {amount}，{银行短信截图见附件|客户手机 {mobile}}，要求退回多扣的钱。",
        "经核对支付流水确认重复扣款，已发起原路退款 {amount}，1-3 个工作日到账，已短信通知客户。",
        "{Double charge|Customer charged twice|Payment taken but order failed}",
        "Customer says paying for order {order_no} {charged their card twice|showed an error but still took} {amount}. {Bank SMS screenshot attached.|Phone {mobile}.} They want the extra money back.",
        "Payment records confirmed the double charge; refunded {amount} to the original method, arriving in 1-3 working days, and texted the customer.",
    ),
    _T(
        "CustomerService", "order_status", "P4",
        "[订单什么时候发货|{查询物流|快递几天没更新}]",
        "客户询问订单 {order_no} [下单三天了还没发货|物流信息停在{city}好几天没更新，单号 {tracking}]，想知道{什么时候能到|是不是丢件了}。",
        "[已联系仓库，订单今日发出，快递单号 {tracking}。|已联系快递公司核实，包裹在中转站滞留，预计{date}送达，已告知客户。]",
        "[When will my order ship?|{Tracking enquiry|Parcel tracking not updating}]",
        "Customer asks about order {order_no}: [it hasn't shipped three days after ordering|tracking {tracking} has been stuck in {city} for days]. {When will it arrive?|Is it lost?}",
        "[The warehouse shipped it today, tracking {tracking}.|The courier confirmed it was held at a hub; delivery expected {date}, customer informed.]",
    ),
    _T(
        "CustomerService", "order_status", "P3",
        "{修改收货地址|订单地址填错了|客户要改地址}",
        "客户订单 {order_no} 的收货地址填错了，{要改到{city}的新地址|需要改成公司地址}，[还没发货|已经发货了，单号 {tracking}]，联系电话 {mobile}。",
        "[订单尚未出库，已修改收货地址。|包裹已发出，已联系快递改派至新地址。]",
        "{Change delivery address|Wrong address on order|Customer needs address change}",
        "Customer entered the wrong address on order {order_no} and wants it changed to {a new address in {city}|their office}. [It hasn't shipped yet.|It already shipped, tracking {tracking}.] Phone {mobile}.",
        "[The order hadn't left the warehouse; address updated.|The parcel had shipped; asked the courier to redirect it.]",
    ),
    _T(
        "CustomerService", "order_status", "P3",
        "{取消订单|客户要取消订单|订单能不能撤销}",
        "客户要求取消订单 {order_no}（{product}，{amount}），{原因是买重复了|原因是等太久了}，[订单状态“待发货”|仓库已经打包发出]。",
        "[已取消订单并全额退款。|订单已出库无法拦截，已告知客户签收后可申请无理由退货。]",
        "{Cancel order|Customer wants to cancel|Can the order be cancelled?}",
        "Customer wants to cancel order {order_no} ({product}, {amount}) {because it was a duplicate purchase|because it's taking too long}. [Status is \"awaiting shipment\".|The warehouse has already packed and shipped it.]",
        "[Cancelled and refunded in full.|It had already left the warehouse; told the customer they can return it after delivery.]",
    ),
    _T(
        "CustomerService", "order_status", "P4",
        "{客户要开发票|订单发票申请|订单开票}",
        "客户{customer_company}要求为订单 {order_no} 开具{增值税专用发票|电子普通发票}，金额 {amount}{，税号 {tax_id}|，税号还没提供}，{发到邮箱 {ext_email}|寄到公司地址}。",
        "已在订单系统提交开票申请，电子发票已发送至客户邮箱；专票需要客户补充开户行信息后开具。",
        "{Customer requests invoice|Invoice for order|Order invoice request}",
        "{customer_company} asks for a {VAT special|electronic} invoice for order {order_no}, amount {amount}{, tax ID {tax_id}|, tax ID not provided yet}, {sent to {ext_email}|mailed to their office}.",
        "Submitted the invoice request in the order system; the e-invoice went to the customer's mailbox, and the special invoice follows once they send bank details.",
    ),
    _T(
        "CustomerService", "product_question", "P4",
        "[{连不上 App|{product}怎么连手机}|{product}怎么恢复出厂设置|{product}指示灯一直闪红灯]",
        "客户咨询{product}[怎么连接手机 App|怎么恢复出厂设置|指示灯一直闪红灯是什么意思]，{说明书看不懂|已经试了好几次}。",
        "已通过电话一步步指导客户完成设置，并发送了图文教程链接，客户确认可以正常使用。",
        "[{Can't pair with the app|How to set up {product}}|How to factory-reset {product}|{product} blinking red light]",
        "Customer asks how to [pair the {product} with the mobile app|factory-reset the {product}|read the blinking red light on the {product}]. {The manual is confusing.|They've tried several times.}",
        "Walked the customer through it by phone and sent an illustrated guide; they confirmed it works.",
    ),
    _T(
        "CustomerService", "product_question", "P4",
        "{保修期咨询|还在保修期吗|保修怎么申请}",
        "客户的{product}是{past_date}买的，{订单号 {order_no}，|}现在{电池续航变差|按键失灵}，想知道{还在不在保修期|保修要怎么申请}。",
        "产品享受一年保修，客户仍在保修期内，已登记保修单并发送寄修地址。",
        "{Warranty question|Still under warranty?|How to claim warranty}",
        "Customer bought the {product} on {past_date}{, order {order_no}|} and now {the battery life is poor|a button doesn't work}. {Is it still under warranty?|How do they claim warranty?}",
        "The product has a one-year warranty and is covered; registered the repair and sent the return address.",
    ),
    _T(
        "CustomerService", "product_question", "P4",
        "{兼容性咨询|能不能配合使用|配件是否通用}",
        "客户问{product}{能不能和苹果手机配合使用|的充电器是否通用|支不支持 5G WiFi}，打算{再买一台|送人}。",
        "已答复客户兼容性说明，并附上产品参数页链接。",
        "{Compatibility question|Does it work with ...?|Are accessories interchangeable?}",
        "Customer asks whether the {product} {works with an iPhone|can use a generic charger|supports 5 GHz WiFi}; they plan to {buy another|give it as a gift}.",
        "Answered with the compatibility notes and a link to the spec page.",
    ),
    _T(
        "CustomerService", "account_issue", "P3",
        "[App 登录不上|收不到短信验证码|账号被冻结]",
        "客户反映[App 登录一直提示“账号或密码错误”|收不到短信验证码|账号被冻结了]，注册手机号 {mobile}，{已经重装过 App|换了网络也不行}。",
        "[已指导客户通过“忘记密码”重置密码，登录成功。|客户手机号被运营商标记拦截了验证码，已改为语音验证码并登录成功。|账号因异地登录触发风控冻结，核实身份后已解冻。]",
        "[Customer can't log in to app|No SMS verification code|Account frozen]",
        "Customer [can't log in, the app says \"wrong account or password\"|never receives the SMS code|says their account is frozen]. Registered phone {mobile}. {They reinstalled the app.|Changing networks didn't help.}",
        "[Guided the customer through \"forgot password\"; they reset it and logged in.|The carrier was blocking the SMS; switched to a voice code and the customer logged in.|A login from another region triggered a risk freeze; verified identity and unfroze the account.]",
    ),
    _T(
        "CustomerService", "account_issue", "P4",
        "{更换绑定手机号|账号换绑|原手机号不用了}",
        "客户原手机号 {mobile} 已停用，想把账号换绑到新号码 {mobile2}，{收不到原号码的验证码|身份证后四位 {id_tail}}。",
        "已通过人工审核核实身份，账号已换绑至新手机号。",
        "{Change phone number on account|Rebind account|Old number no longer used}",
        "Customer's old number {mobile} is out of service and they want the account moved to {mobile2}. {They can't get codes on the old number.|ID ends in {id_tail}.}",
        "Verified identity through manual review and moved the account to the new number.",
    ),
    _T(
        "CustomerService", "account_issue", "P4",
        "[{积分没到账|积分还没发}|会员积分不见了|优惠券用不了]",
        "客户说订单 {order_no} 的[会员积分没有到账|积分突然清零了|优惠券结算时提示不可用]，{会员号 {badge_no}|注册手机 {mobile}}。",
        "[积分将在确认收货后 7 天发放，已向客户说明。|积分到期清零规则已解释，并作为关怀补发 500 积分。|优惠券不适用于该品类商品，已向客户解释并另发一张通用券。]",
        "[Points not credited|Loyalty points missing|Coupon not working]",
        "Customer says [the points for order {order_no} never arrived|their points were suddenly reset to zero|the coupon is rejected at checkout for order {order_no}]. {Member no. {badge_no}.|Phone {mobile}.}",
        "[Points are credited 7 days after delivery confirmation; explained to the customer.|Explained the points expiry rule and added 500 points as goodwill.|The coupon excludes that category; explained and issued a general coupon.]",
    ),
)  # fmt: skip

_SECURITY: tuple[_T, ...] = (
    _T(
        "Security", "access_badge", "P3",
        "{工卡刷不开门|门禁刷不进去|门禁权限问题}",
        "我的工卡（卡号 {badge_no}）{今天刷{floor}的门禁没反应|能进大楼但刷不开{room}|刷卡时门禁灯一直闪红}，[调岗后可能权限没更新|之前换过一次卡]。",
        "[门禁系统中该卡的区域权限未随调岗更新，已按审批开通相应区域权限，刷卡正常。|旧卡未注销导致新卡冲突，已注销旧卡并重新绑定新卡。]",
        "{Badge doesn't open the door|Can't badge in|Door access problem}",
        "My badge (no. {badge_no}) {does nothing at the {floor} door today|gets me into the building but not into {room}|makes the reader flash red}. [Maybe my access wasn't updated after my transfer.|I had the card replaced once.]",
        "[The badge's zone rights hadn't followed the transfer; granted the approved zones and it works.|The old card was still active and conflicted; deactivated it and re-bound the new card.]",
    ),
    _T(
        "Security", "access_badge", "P3",
        "{工卡丢了|门禁卡遗失|补办工卡}",
        "我的工卡{昨天下班后|{past_date}}丢了，{可能丢在地铁上|找了一圈没找到}，卡号 {badge_no}，请先挂失并补办一张。",
        "已在门禁系统中注销卡号 {badge_no}，新卡已制作完成，员工已到前台领取。",
        "{Lost my badge|Access card lost|Badge replacement}",
        "I lost my badge {after work yesterday|on {past_date}}, {probably on the metro|and can't find it anywhere}. Card no. {badge_no}; please block it and issue a new one.",
        "Deactivated {badge_no} in the access system; the new badge was printed and collected at reception.",
    ),
    _T(
        "Security", "access_badge", "P4",
        "{访客门禁申请|客户来访需要临时卡|访客登记}",
        "{date}{time}有{customer_company}的{num}位客户来访，{需要进入{room}|需要到{floor}参观}，请开通临时访客权限，接待人{person}。",
        "访客信息已登记，临时门禁卡已在前台准备，权限当天有效。",
        "{Visitor access request|Temporary badges for visitors|Visitor registration}",
        "{num} visitors from {customer_company} arrive on {date} at {time} and need access to {{room}|{floor}}. Host: {person}.",
        "Registered the visitors; temporary badges are waiting at reception, valid for the day.",
    ),
    _T(
        "Security", "access_badge", "P3",
        "{申请进入机房|机房门禁权限|数据中心访问申请}",
        "{date}需要进机房{更换 {host} 的硬盘|上架两台服务器|巡检}，申请机房门禁权限，{陪同人{person}|变更单号 {ticket_ref}}。",
        "已按变更单开通{date}当天的机房门禁权限，进出记录已登记，作业需由值班人员陪同。",
        "{Server room access request|Data centre access|Need entry to the computer room}",
        "On {date} I need to enter the server room to {replace a disk in {host}|rack two servers|do an inspection}. {Escort: {person}.|Change ticket {ticket_ref}.}",
        "Granted server-room access for {date} under the change ticket; entries are logged and the work must be escorted by the duty engineer.",
    ),
    _T(
        "Security", "phishing", "P3",
        "{收到可疑邮件|疑似钓鱼邮件|这封邮件是不是诈骗}",
        "收到一封{自称是 IT 部门的|自称是{vendor}的}邮件，{要求点击链接验证邮箱密码|附件是“发票 {invoice_zh}.zip”|说我的邮箱容量已满需要升级}，发件人是 {ext_email}，{没点开|不确定是不是真的}。",
        "已确认为钓鱼邮件，已在邮件网关拦截该发件人并清除所有用户邮箱中的同类邮件，感谢举报。",
        "{Suspicious email|Possible phishing|Is this email a scam?}",
        "I got an email {claiming to be from IT|claiming to be from {vendor}} {asking me to verify my mailbox password via a link|with an attachment \"invoice_{invoice_zh}.zip\"|saying my mailbox is full and must be upgraded}. Sender: {ext_email}. {I didn't open it.|Not sure if it's legit.}",
        "Confirmed phishing; blocked the sender at the mail gateway and purged the same message from all mailboxes. Thanks for reporting.",
    ),
    _T(
        "Security", "phishing", "P1",
        "{点了钓鱼链接还输入了密码|可能中了钓鱼邮件|账号可能被盗}",
        "刚才{点了邮件里的链接并输入了邮箱密码|在一个假冒的 OA 登录页输入了账号密码}，后来发现网址是 {url}，{现在邮箱里多了很多自动转发规则|不知道有没有被盗用}，账号 {username}。",
        "已立即重置 {username} 的密码并强制下线所有会话，删除了恶意转发规则，检查登录日志未发现数据外泄，已加强 MFA。",
        "{Clicked phishing link and entered password|I think I got phished|Account may be compromised}",
        "I just {clicked a link in an email and typed my mail password|entered my credentials on a fake OA login page}; the address was {url}. {Now my mailbox has strange forwarding rules.|Not sure if it's been misused.} Account {username}.",
        "Reset {username}'s password immediately, revoked all sessions, removed the malicious forwarding rules, found no data exfiltration in sign-in logs, and enforced MFA.",
    ),
    _T(
        "Security", "phishing", "P2",
        "{“老板”让我紧急转账|疑似冒充领导诈骗|冒充总经理的微信}",
        "收到一个自称是{总经理|财务总监}的{微信|邮件}，说{正在开会不方便接电话|有一笔保密收购要付款}，让我{今天下班前|马上}转账 {amount_big} 到一个陌生账户，{还没转|头像和名字都对得上}。",
        "已确认为冒充领导的诈骗，未发生转账；已提醒财务部门提高警惕，并在全员范围内发布防诈骗提醒。",
        "{\"CEO\" asks for urgent transfer|Possible CEO fraud|Impersonation of a director}",
        "I got a {WeChat message|mail} claiming to be from the {CEO|CFO}, saying {they're in a meeting and can't talk|there's a confidential acquisition to pay}, asking me to transfer {amount_big} to an unknown account {before end of day|right away}. {I haven't paid.|The name and photo match.}",
        "Confirmed impersonation fraud; no money moved. Finance was alerted and a company-wide warning went out.",
    ),
    _T(
        "Security", "malware", "P2",
        "{杀毒软件报警|电脑中病毒了|发现木马}",
        "电脑（{asset}）{刚才弹出杀毒软件告警|打开一个附件后变得很慢}，{告警信息如下：\n{av_log}|不知道要不要断网}。",
        "已隔离终端并做全盘查杀，确认为{下载的恶意附件|盗版软件捆绑木马}，未发现横向传播，已重装系统并恢复用户数据。",
        "{Antivirus alert|PC infected?|Trojan detected}",
        "My PC ({asset}) {just raised an antivirus alert|got very slow after opening an attachment}. {Details:\n{av_log}|Should I unplug the network?}",
        "Isolated the endpoint and ran a full scan: {a malicious download|a trojan bundled with pirated software}. No lateral movement found; reimaged and restored the user's data.",
    ),
    _T(
        "Security", "malware", "P1",
        "[{文件被加密了|疑似勒索病毒}|{共享盘文件打不开，后缀变了|共享盘疑似被勒索病毒加密}]",
        "[我电脑上的文件|共享盘 {share_path} 里的文件]{突然全都打不开了，后缀都变成了 .locked|出现了一个“README_RESTORE.txt”要求支付比特币}，{旁边同事也一样|我已经拔了网线}。",
        "[已隔离受感染终端，确认勒索软件来自钓鱼附件；已重装系统并从前一晚的备份恢复用户文件，全网补丁和拦截规则已更新。|已隔离受感染终端并断开共享盘，确认勒索软件来自钓鱼附件；从前一晚备份恢复了 {share_path} 数据，全网补丁和拦截规则已更新。]",
        "[{Files encrypted|Possible ransomware}|{Shared drive files renamed and unreadable|Ransomware on the shared drive?}]",
        "[Files on my PC|Files on {share_path}] {suddenly won't open and all end in .locked|come with a README_RESTORE.txt demanding bitcoin}. {My neighbour sees the same.|I've unplugged the network cable.}",
        "[Isolated the infected PC; the ransomware came from a phishing attachment. Reimaged it, restored the user's files from the previous night's backup and rolled out patches and blocking rules.|Isolated the infected endpoints and disconnected the share; the ransomware came from a phishing attachment. Restored {share_path} from the previous night's backup and rolled out patches and blocking rules.]",
    ),
    _T(
        "Security", "malware", "P3",
        "[{U盘有病毒|插了U盘后报毒}|U 盘文件变成快捷方式]",
        "插了{客户给的|展会上拿的}U盘后，[杀毒软件报毒|里面的文件夹都变成了快捷方式]，{资产编号 {asset}|还没打开里面的文件}。",
        "已清除 U 盘和终端上的 Autorun 蠕虫，恢复了被隐藏的文件，并提醒用户外来 U 盘先扫描再使用。",
        "[{USB stick infected|Virus alert after plugging in a USB drive}|USB files turned into shortcuts]",
        "After plugging in a USB stick {from a customer|picked up at a trade show}, [antivirus flagged it|all folders turned into shortcuts]. {Asset {asset}.|I haven't opened anything.}",
        "Removed the autorun worm from the stick and the PC, restored the hidden files, and reminded the user to scan external media first.",
    ),
    _T(
        "Security", "data_protection", "P2",
        "[{笔记本丢了|电脑被偷了}|手机丢失，上面有公司邮箱]",
        "{今天在{city}出差时|昨晚在出租车上}[公司笔记本（{asset}）|装有公司邮箱的手机]丢了，{里面有客户资料|已经报警}，请尽快远程处理。",
        "[已远程锁定并擦除笔记本，吊销了证书和邮箱会话，确认硬盘已启用 BitLocker 加密，数据泄露风险低；已协助补办设备。|已通过 MDM 远程擦除手机上的公司数据，吊销邮箱会话并重置密码，已提醒用户挂失手机号。]",
        "[{Lost laptop|Laptop stolen}|Phone with company mail lost]",
        "{While travelling in {city} today|In a taxi last night} I lost my [company laptop ({asset})|phone with company email]. {It has customer data on it.|I've reported it to the police.} Please act remotely.",
        "[Remotely locked and wiped the laptop, revoked its certificates and mail sessions, and confirmed BitLocker was on, so exposure is low; a replacement is arranged.|Wiped company data from the phone through MDM, revoked mail sessions and reset the password; reminded the user to block the SIM.]",
    ),
    _T(
        "Security", "data_protection", "P2",
        "{邮件发错人了|把客户资料发给了外部人员|误发含个人信息的文件}",
        "刚才把{含客户名单的 Excel|员工工资表|报价单}误发给了外部邮箱 {ext_email}，{已经尝试撤回但失败了|里面大约有 {rows} 条个人信息}。",
        "已联系收件人确认删除并取得书面确认，评估涉及个人信息已按流程记录事件，并对发件人做了数据保护提醒。",
        "{Email sent to the wrong person|Customer data sent externally|Mis-sent file with personal data}",
        "I just sent {an Excel with our customer list|the staff salary sheet|a price quote} to the external address {ext_email} by mistake. {Recall failed.|It holds about {rows} personal records.}",
        "Contacted the recipient and got written confirmation of deletion; logged the incident per the personal-data procedure and reminded the sender of the rules.",
    ),
    _T(
        "Security", "data_protection", "P3",
        "{外发文件被拦截|DLP 拦截了我的邮件|大文件外发申请}",
        "给{customer_company}发{设计图纸|项目资料}时被数据防泄漏系统拦截，{文件大约 {size}|提示“包含敏感信息”}，客户{date}前要，申请外发。",
        "经部门负责人审批后，已通过加密外发通道发送文件，链接 7 天有效并限制下载次数。",
        "{Outbound file blocked|DLP blocked my email|Request to send large files externally}",
        "Sending {design drawings|project documents} to {customer_company} was blocked by DLP {(about {size})|as \"contains sensitive data\"}. The customer needs them by {date}; please allow it.",
        "After the department head approved, sent the files through the secure transfer channel with a 7-day link and a download limit.",
    ),
    _T(
        "Security", "vulnerability", "P2",
        "{漏洞扫描发现高危漏洞|{host} 存在 {cve}|安全漏洞整改}",
        "本周漏洞扫描发现 {host}（{ip}）存在高危漏洞 {cve}，{涉及 {software} 组件|端口 {port} 对外暴露}，{要求{date}前完成修复|业务方说升级要停机}。",
        "已在维护窗口内升级组件并修复 {cve}，复扫确认漏洞关闭；对外暴露端口已收敛。",
        "{High-risk finding in vulnerability scan|{cve} on {host}|Vulnerability remediation}",
        "This week's scan found high-risk {cve} on {host} ({ip}){ in a {software} component|, with port {port} exposed to the internet}. {It must be fixed by {date}.|The business says upgrading needs downtime.}",
        "Upgraded the component in a maintenance window to fix {cve}; the rescan confirms it closed, and the exposed port was restricted.",
    ),
    _T(
        "Security", "vulnerability", "P3",
        "{SSL 证书快过期了|网站证书到期提醒|证书更新}",
        "{cert_domain} 的 SSL 证书将在{date}过期，{浏览器已经开始提示不安全|监控发来了告警}，请安排续期。",
        "已签发新证书并部署到负载均衡和 {host}，有效期一年，证书到期监控已更新。",
        "{SSL certificate expiring|Certificate expiry warning|Certificate renewal}",
        "The SSL certificate for {cert_domain} expires on {date}. {Browsers already warn about it.|Monitoring raised an alert.} Please renew it.",
        "Issued a new certificate and deployed it to the load balancer and {host}, valid for one year; expiry monitoring updated.",
    ),
    _T(
        "Security", "cctv", "P3",
        "{申请调取监控录像|查看监控|监控视频调阅}",
        "{past_date}{time}左右在{floor}{丢了一个背包|会议室物品被拿走|停车场车被刮了}，申请调取该时段的监控录像，{已报警|车牌 {plate}}。",
        "已按流程审批后调取录像，由安全人员陪同查看，相关片段已导出提供给警方。",
        "{Request CCTV footage|Need to review camera footage|CCTV review}",
        "Around {time} on {past_date} {my backpack went missing on {floor}|items were taken from a meeting room on {floor}|my car was scratched in the car park}. Please pull the footage. {Police informed.|Plate {plate}.}",
        "Pulled the footage after approval and reviewed it with security staff; the relevant clips were exported for the police.",
    ),
    _T(
        "Security", "cctv", "P4",
        "[监控摄像头离线|摄像头画面模糊|监控有盲区]",
        "{floor}{电梯厅|后门}的摄像头[在监控平台上显示离线|画面很模糊|被装修挡住了]，{从{past_date}开始|最近}，请安排检修。",
        "[摄像头 PoE 供电故障，已更换交换机端口并恢复在线。|已清洁镜头并调整焦距，画面恢复清晰。|已调整摄像头安装位置，消除盲区。]",
        "[CCTV camera offline|Blurry camera image|Blind spot in CCTV coverage]",
        "The camera at the {lift lobby|back door} on {floor} [shows offline in the CCTV platform|is very blurry|is blocked by renovation work] {since {past_date}|lately}. Please fix it.",
        "[PoE power had failed; moved it to another switch port and it's back online.|Cleaned the lens and refocused; the image is clear.|Repositioned the camera to remove the blind spot.]",
    ),
)  # fmt: skip

_TEMPLATES: tuple[_T, ...] = (
    _IT + _HR + _FINANCE + _FACILITIES + _PROCUREMENT + _LEGAL + _CUSTOMER_SERVICE + _SECURITY
)

# Outages reported by several people within hours; the tickets share one resolution.
_INCIDENTS: tuple[_T, ...] = (
    _T(
        "IT", "email", "P1",
        "{邮箱用不了|Outlook 连不上服务器|邮件收发都不行|邮件系统是不是挂了？}",
        "{从{time}开始|刚才开始}{Outlook 一直显示“已断开”|网页邮箱也打不开，报 {http_error}|邮件发不出去也收不到}，{问了旁边同事也一样|整个部门都这样|好像全公司都不行}。",
        "邮件服务器 {host} 的数据库副本切换失败导致服务中断，已手动激活副本并重启传输服务，邮件收发恢复，积压邮件已全部投递。",
        "{Email down?|Outlook can't connect to server|Can't send or receive mail|Is the mail system down?}",
        "{Since {time}|Since a few minutes ago} {Outlook shows \"Disconnected\"|webmail returns {http_error} too|no mail goes out or comes in}. {My neighbours have the same problem.|The whole department is affected.|Looks like it's company-wide.}",
        "A failed database copy switchover on mail server {host} took the service down; activated the copy manually and restarted transport, mail flows again and the queue has been delivered.",
    ),
    _T(
        "IT", "network", "P1",
        "{VPN 全部连不上|VPN 网关故障？|远程办公的同事都连不上 VPN}",
        "{在家办公|出差在外}连 VPN 一直提示“{vpn_error}”，{群里很多人都说连不上|客服团队全员在家办公，现在都没法工作|刚才还好好的}。",
        "VPN 网关 {host} 的许可证到期导致新连接被拒绝，已更新许可证并重启服务，所有用户可以正常连接。",
        "{VPN down for everyone|VPN gateway outage?|Remote staff can't connect to VPN}",
        "{Working from home|On the road} and the VPN fails with \"{vpn_error}\". {Lots of people in the group chat report the same.|The whole support team is remote and can't work.|It was fine a minute ago.}",
        "The licence on VPN gateway {host} expired and new sessions were refused; renewed it and restarted the service, everyone can connect again.",
    ),
    _T(
        "IT", "software", "P1",
        "{OA 打不开了|OA 系统报 502|审批系统访问不了|{app}挂了？}",
        "{现在|从{time}开始}打开 {url} 提示 {http_error}，{审批全部卡住了|月底报销都提交不了|刷新很多次都一样}。",
        "OA 应用服务器 {host} 磁盘写满导致服务停止，已清理日志并重启应用，访问恢复，已增加磁盘使用率监控。",
        "{OA system down|OA returns 502|Approval system unreachable|Is {app} down?}",
        "{Right now|Since {time}} {url} returns {http_error}; {all approvals are stuck|month-end claims can't be submitted|refreshing doesn't help}.",
        "The OA application server {host} filled its disk and the service stopped; cleaned the logs and restarted the app, access is back and disk alerts were added.",
    ),
    _T(
        "IT", "network", "P1",
        "{{floor}断网了|整层楼没有网络|{floor}网络全断}",
        "{floor}{有线和无线都断了|所有电脑都上不了网|WiFi 能连上但没有网络}，{大概从{time}开始|刚刚突然断的}，{整个楼层都一样|会议也开不了}。",
        "{floor}汇聚交换机电源模块故障导致整层断网，已更换电源模块并恢复上联链路，网络恢复正常。",
        "{Network down on {floor}|Whole floor has no network|No internet on {floor}}",
        "{Wired and wireless are both down|No PC can get online|WiFi connects but there's no network} on {floor} {since about {time}|as of a minute ago}. {The entire floor is affected.|We can't even hold our meetings.}",
        "A failed power supply in the {floor} distribution switch took the floor offline; replaced it and restored the uplinks, network is back.",
    ),
    _T(
        "IT", "database", "P1",
        "{ERP 用不了|SAP 登录报错|ERP 系统很慢然后报错|{host} 数据库挂了？}",
        "{ERP|SAP}{从{time}起|现在}{登录就报错|一直转圈，最后提示数据库连接失败|过账报 {db_error}}，{仓库没法出库|财务没法做账|所有工厂都受影响}。",
        "ERP 数据库 {host} 归档空间写满导致数据库挂起，已清理归档日志并扩容存储，数据库和 ERP 服务恢复正常。",
        "{ERP down|SAP login errors|ERP slow then failing|Is the {host} database down?}",
        "{ERP|SAP} {has been failing since {time}|is down right now}: {login throws an error|it spins and then says the database connection failed|posting fails with {db_error}}. {The warehouse can't ship.|Finance can't book anything.|All plants are affected.}",
        "The archive area of ERP database {host} filled up and the database hung; cleared archive logs and added storage, the database and ERP are back.",
    ),
    _T(
        "IT", "software", "P2",
        "{共享盘打不开|{share_path} 访问不了|文件服务器连不上}",
        "{打开 {share_path} 提示“找不到网络路径”|共享盘一直转圈|映射的 Z 盘显示红叉}，{同事们也一样|今天要交的文件都在里面}。",
        "文件服务器 {host} 的 SMB 服务因证书更新后异常停止，已重启服务并修复证书绑定，共享盘恢复访问。",
        "{Shared drive not accessible|Can't open {share_path}|File server unreachable}",
        "{Opening {share_path} says \"network path not found\"|The shared drive just spins|Mapped drive Z: shows a red cross}. {Colleagues have the same issue.|Today's deliverables are all on it.}",
        "The SMB service on file server {host} stopped after a certificate renewal; restarted it and fixed the binding, shares are reachable again.",
    ),
    _T(
        "Security", "access_badge", "P1",
        "{门禁全部刷不开|大楼门禁故障|工卡都刷不进门}",
        "{早上到公司|现在}{大堂闸机和各层门禁都刷不开|所有人的工卡都刷不进{floor}|门禁读卡器全部不亮}，{门口排了很多人|只能靠前台手动开门}。",
        "门禁控制器与服务器的网络中断导致读卡器离线，已恢复网络并同步门禁数据，各层门禁恢复正常；期间由安保人员现场核验身份放行。",
        "{Badge readers all down|Building access control failure|No badge works at the doors}",
        "{This morning|Right now} {the lobby gates and every floor door reject badges|nobody can badge into {floor}|all card readers are dark}. {There's a queue at the entrance.|Reception is opening doors by hand.}",
        "The access controllers lost their network link to the server and the readers went offline; restored the link and re-synced, all doors work. Guards checked IDs on site in the meantime.",
    ),
    _T(
        "CustomerService", "account_issue", "P1",
        "{客户反映 App 登录不了|大量客户无法登录|客户收不到验证码}",
        "{今天上午开始|从{time}起}{接到大量客户来电|在线客服排队很多}，反映 App 登录时{收不到短信验证码|一直提示“验证码已过期”|验证码迟迟发不过来}，{客户手机 {mobile}|很多客户很生气}。",
        "短信服务商通道故障导致验证码发送失败，已切换备用通道并补发验证码，客户可正常登录；已向受影响客户发送致歉短信。",
        "{Customers can't log in to the app|Mass login failures|Customers get no verification codes}",
        "{Since this morning|Since {time}} {we're flooded with calls|the chat queue is huge}: customers say the app {never sends the SMS code at login|says \"code expired\" every time|takes ages to send a login code}. {One caller: {mobile}.|Many are angry.}",
        "The SMS provider's channel failed and codes weren't sent; switched to the backup channel and resent codes, customers can log in and affected customers got an apology SMS.",
    ),
    _T(
        "HR", "payroll", "P2",
        "{工资条看不到|HR 系统打不开工资条|工资条显示错误}",
        "今天发薪日，{HR 系统里的工资条显示“暂无数据”|工资条显示的金额是上个月的|工资条页面是空白的}，{同事们都一样|大家都在问}。",
        "薪资数据发布任务失败导致工资条未更新，已重新发布{month}工资条，员工可正常查看。",
        "{Can't see payslip|HR portal payslip error|Payslip shows wrong month}",
        "It's payday and {the HR portal says \"no data\" for my payslip|the payslip shows last month's figures|the payslip page is blank}. {Colleagues see the same.|Everyone's asking.}",
        "The payroll publishing job had failed so payslips weren't refreshed; republished the {month} payslips and they display correctly.",
    ),
    _T(
        "Security", "phishing", "P2",
        "[{又收到邮箱升级的钓鱼邮件|“邮箱容量已满”邮件是真的吗}|{“密码即将过期”的邮件是钓鱼吗|很多人收到可疑邮件}|{收到可疑的电子合同签署邮件|很多人收到可疑邮件}]",
        "刚收到一封“[邮箱容量已满，请点击链接升级|您的密码即将过期，请立即验证|您有一份待签署的电子合同]”的邮件，发件人 {ext_email}，{部门里好几个人都收到了|有同事已经点了链接}。",
        "已确认为针对公司的批量钓鱼邮件，已在网关拦截发件域名并清除所有邮箱中的该邮件；已点击链接的用户已重置密码。",
        "[{Mailbox-upgrade phishing again|Is the \"mailbox full\" email real?}|{Is the \"password expires\" email phishing?|Many people got a suspicious email}|{Suspicious e-signature email|Many people got a suspicious email}]",
        "Just got an email saying \"[Your mailbox is full, click to upgrade|Your password expires today, verify now|You have a contract waiting for e-signature]\" from {ext_email}. {Several people in my team got it.|A colleague already clicked the link.}",
        "Confirmed a phishing campaign against the company; blocked the sender domain at the gateway and purged the message from every mailbox. Users who clicked had their passwords reset.",
    ),
    _T(
        "Facilities", "maintenance", "P1",
        "{{floor}停电了|整层断电|{floor}空调和灯全停了}",
        "{floor}{突然停电了|灯和空调都停了|一半区域没电}，{电脑都关机了|服务器间的 UPS 在报警|电梯也停了}，请马上派人处理。",
        "{floor}配电柜主开关因过载跳闸，已排查负载并恢复供电，UPS 已充电恢复正常；已安排电工对该楼层线路做全面检查。",
        "{Power cut on {floor}|Whole floor lost power|Lights and AC off on {floor}}",
        "{floor} {suddenly lost power|has no lights or AC|is half without power}; {all PCs shut down|the UPS in the server closet is beeping|the lifts stopped}. Please send someone now.",
        "The main breaker in the {floor} distribution board tripped on overload; checked the loads and restored power, the UPS has recharged, and an electrician is inspecting the floor wiring.",
    ),
    _T(
        "CustomerService", "refund", "P2",
        "{客户付款失败但被扣钱|支付异常，客户要求退款|下单失败却扣款了}",
        "{今天|从{time}起}陆续有客户反映下单时{支付提示失败但银行卡已扣款|页面卡住，订单没生成却扣了钱}，{订单号 {order_no}|扣款 {amount}}，要求退款。",
        "支付回调接口故障导致订单状态未更新，已修复接口并批量核对流水，对已扣款未成单的订单统一原路退款，1-3 个工作日到账。",
        "{Customers charged but payment failed|Payment errors, customers want refunds|Order failed but money taken}",
        "{Today|Since {time}} customers keep reporting that checkout {said payment failed but their card was charged|froze, no order was created, but money was taken}. {Order {order_no}.|Charged {amount}.} They want refunds.",
        "A broken payment callback left orders unconfirmed; fixed the callback, reconciled transactions, and refunded every charged-but-unfulfilled order to the original method within 1-3 working days.",
    ),
)  # fmt: skip

_INCIDENT_WEIGHTS = (3.0, 2.5, 2.5, 2.0, 2.0, 1.5, 1.0, 1.0, 0.8, 1.0, 0.6, 0.8)

# ---------------------------------------------------------------------------------------------
# Dressing: urgency, channel framing, greetings, signatures, threads, typos, code-switching.
# ---------------------------------------------------------------------------------------------

_URGENT_TITLE = {
    "zh": ("【紧急】", "紧急：", "急！", "【加急】"),
    "en": ("URGENT: ", "[URGENT] ", "Urgent - ", "ASAP: "),
}
_URGENT_BODY = {
    "zh": ("情况紧急，请尽快处理！", "影响全部用户，业务已经中断。", "请立即处理，现在{users}人没法工作。", "领导在等结果，麻烦尽快！", "十万火急，拜托尽快回复。"),
    "en": ("This is urgent, please handle asap.", "All users are affected and business is down.", "This is an outage, please escalate immediately.",
           "Blocking {users} people from working - urgent!", "Need this fixed ASAP."),
}  # fmt: skip
_HIGH_BODY = {
    "zh": ("请尽快处理，谢谢。", "比较急，今天内需要解决。", "影响我们部门工作，请尽快。"),
    "en": (
        "Please treat as high priority.",
        "Need this fixed today if possible.",
        "It's blocking our team, asap pls.",
    ),
}
_LOW_BODY = {
    "zh": ("不着急，有空帮看一下。", "不急，本周内处理即可。", "有空的时候处理就行。"),
    "en": ("No rush, whenever you get a chance.", "Low priority, just FYI.", "Can wait till next week."),
}
_VIP_NOTE = {
    "zh": ("此事为领导交办，请优先处理。", "（总经理交办）"),
    "en": ("Raised on behalf of the CEO.", "(on behalf of the executive office)"),
}
_VAGUE_TITLES = {
    "zh": ("求助", "问题反馈", "麻烦看一下", "急", "有个问题", "咨询"),
    "en": ("Help", "issue", "Question", "problem!!", "Request", "pls help"),
}

_GREETINGS = {
    "zh": ("您好，", "你好，", "各位好：", "Hi，", "老师好，", "同事你好，", "您好！"),
    "en": ("Hi team,", "Hello,", "Hi all,", "Dear support,", "Good morning,", "Hey,", "Hi,"),
    "mixed": ("Hi 各位，", "您好，", "Hello 老师，", "Hi team，", "各位好，"),
}
_CLOSINGS = {
    "zh": ("谢谢！", "麻烦了，谢谢。", "辛苦了！", "谢谢支持！", "多谢！"),
    "en": ("Thanks,", "Best regards,", "Kind regards,", "Thanks in advance,", "Cheers,", "BR,", "Regards,"),
    "mixed": ("Thanks！", "谢谢！", "Best regards,", "辛苦了，thx！"),
}
_SIGNATURES = {
    "zh": ("{name}\n{dept} | 电话：{requester_mobile}", "{name}\n{dept}\n手机：{requester_mobile}  座机：{requester_landline} 分机 {ext}",
           "{name}\n{dept}\n邮箱：{requester_email}", "--\n{name} | {dept}\nTel: {requester_landline}", "发自我的 iPhone"),
    "en": ("{name}\n{dept} | Tel {requester_landline} ext. {ext}", "{name} | Mobile: {requester_mobile}", "{name}\n{dept}\n{requester_email}",
           "--\n{name}\n{dept}, {company}\nT: {requester_landline}  M: {requester_mobile}", "Sent from my iPhone"),
}  # fmt: skip
_DISCLAIMERS = {
    "zh": "本邮件及其附件可能含有保密信息，仅供指定收件人使用。如您误收本邮件，请立即通知发件人并删除，不得复制、转发或披露其内容。",
    "en": "CONFIDENTIALITY NOTICE: This e-mail and any attachments are intended only for the named recipient and may contain confidential information. If you received it in error, please notify the sender and delete it; do not copy, forward or disclose its contents.",
}
_FORWARD_TOP = {
    "zh": (
        "请帮忙处理一下下面的问题，谢谢。",
        "转给服务台，麻烦跟进。",
        "见下方邮件，对方在催。",
        "FYI，同事反馈的问题，请看下。",
    ),
    "en": (
        "Pls see below.",
        "Forwarding to the right team - can you help?",
        "See the thread below, any update?",
        "Looping in the service desk, thanks.",
    ),
}
_REPLY_TOP = {
    "zh": (
        "还是不行，请再看一下。",
        "问题又出现了。",
        "请问有进展吗？",
        "补充一下：今天又试了一次，还是一样。",
    ),
    "en": (
        "Still not working, any update?",
        "This happened again today.",
        "Following up on this - any news?",
        "Adding info: tried again today, same result.",
    ),
}
_SCOPE = {
    "zh": {"P1": ("全公司", "全部用户", "多个部门"), "P2": ("本部门", "{users}人左右"), "P3": ("个人", "仅本人", "两三个人"), "P4": ("个人", "仅本人")},
    "en": {"P1": ("All users", "Company-wide", "Multiple departments"), "P2": ("My team", "About {users} users"),
           "P3": ("Just me", "Single user", "A couple of people"), "P4": ("Just me", "Single user")},
}  # fmt: skip
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

_ARTICLES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("IT", "network",
     "VPN 与网络连接故障自助排查",
     "1. 先确认本地网络正常：打开任意外部网站，或换用手机热点再试。\n2. VPN 报 Error 809/720 时，检查客户端是否为最新版本，并在客户端中删除旧的连接配置后重新导入。\n3. 提示证书错误时，在“证书管理”中查看 VPN 证书是否过期，过期请在服务门户申请重新签发。\n4. 连续输错密码会被网关锁定 30 分钟，可在服务门户自助解锁。\n5. 内网网站打不开但外网正常时，执行 ipconfig /flushdns 并确认未设置代理。仍无法解决请提交工单并附上错误截图和客户端版本。",
     "Troubleshooting VPN and network connectivity",
     "1. Check your local connection first: open any public website or try a mobile hotspot.\n2. For VPN errors 809/720, make sure the client is up to date, delete the old connection profile and import it again.\n3. For certificate errors, check whether the VPN certificate has expired and request a new one in the service portal.\n4. Repeated wrong passwords lock the account on the gateway for 30 minutes; unlock it yourself in the portal.\n5. If intranet sites fail while the internet works, run ipconfig /flushdns and make sure no proxy is set. If it still fails, raise a ticket with a screenshot and the client version."),
    ("IT", "account_access",
     "账号锁定、密码重置与权限申请",
     "域账号连续输错密码 5 次会被锁定。可在服务门户“自助服务-解锁账号”中通过手机验证码解锁并重置密码。修改密码后，请同步更新手机邮件、VPN 客户端等保存了旧密码的设备，否则会被反复锁定。共享盘和业务系统权限需在门户提交权限申请，由数据所有者所在部门经理审批后自动开通，通常 4 个工作小时内生效。新员工账号由 IT 根据 HR 入职单创建，无需单独申请。",
     "Account lockout, password reset and access requests",
     "A domain account locks after five wrong passwords. Unlock it and reset the password under Self-service > Unlock account in the service portal using an SMS code. After a change, update the password on your phone mail app, VPN client and any other device that stored the old one, or the account will lock again. Access to shared drives and business systems is requested in the portal and approved by the data owner's manager; it is usually active within four working hours. Accounts for new hires are created by IT from the HR onboarding ticket, no separate request is needed."),
    ("IT", "hardware",
     "电脑、打印机等硬件故障处理指南",
     "电脑蓝屏或无法开机时，请先记录错误代码并尝试强制关机后重启；若仍失败，请勿反复开关机，直接提交工单并注明资产编号（贴在机身底部，格式如 AST-2024-00123）。打印机脱机时，先检查网线和电源，再在“设备和打印机”中删除并重新添加打印机。卡纸请按面板提示打开对应仓门取出，切勿用力拉扯。显示器、键盘、鼠标等外设可在服务门户申请更换，备件充足时当天可领取。",
     "Hardware faults: PCs, printers and peripherals",
     "If a PC shows a blue screen or won't boot, note the stop code and try a forced restart. If that fails, don't keep power-cycling it; raise a ticket with the asset tag (on the bottom of the device, e.g. AST-2024-00123). For an offline printer, check the cable and power, then remove and re-add it under Devices and Printers. Clear paper jams by opening the door shown on the panel; never pull hard. Monitors, keyboards and mice can be replaced through the portal, usually the same day when spares are in stock."),
    ("IT", "software",
     "软件安装与 Office 常见问题",
     "公司已授权的软件可在“软件中心”自助安装，无需管理员权限。未列出的软件请提交安装申请，需购买授权的由采购部处理。Office 闪退或未响应时，先以安全模式启动（按住 Ctrl 打开程序），若正常则在“选项-加载项”中禁用第三方 COM 加载项；仍有问题可在“应用和功能”中对 Office 执行联机修复。业务系统报错请附上报错时间、页面截图和操作步骤，便于开发定位。",
     "Installing software and fixing Office problems",
     "Licensed software can be installed from Software Center without admin rights. For anything not listed, raise an install request; software that needs a new licence goes through Procurement. If Office crashes or hangs, start it in safe mode (hold Ctrl while opening). If that works, disable third-party COM add-ins under Options > Add-ins; otherwise run an Online Repair from Apps & Features. For business-application errors, include the time, a screenshot and the steps you took so developers can trace it."),
    ("IT", "email",
     "邮箱容量、退信与 Outlook 同步问题",
     "邮箱默认容量 50GB，超过 90% 时会收到提醒，可开启在线存档自动归档一年前的邮件。外部退信请查看退信中的代码：550 5.1.1 表示收件人地址不存在，请核对拼写；552 表示附件过大，请改用文件分享链接；涉及 SPF 的拒收请提交工单。Outlook 不同步时，先确认网页版邮箱正常，再尝试重建 Outlook 配置文件。申请共享邮箱或邮件组请在门户提交，注明成员和是否允许外部发信。",
     "Mailbox quota, bounces and Outlook sync",
     "Mailboxes hold 50 GB and warn at 90%; enable the online archive to move mail older than a year automatically. For bounces from outside, read the code: 550 5.1.1 means the address doesn't exist, so check the spelling; 552 means the attachment is too large, so send a file-share link; SPF rejections need a ticket. If Outlook stops syncing, confirm webmail works, then recreate the Outlook profile. Request shared mailboxes and distribution lists in the portal, listing members and whether outside senders are allowed."),
    ("IT", "database",
     "数据库访问、慢查询与数据恢复申请",
     "业务人员如需查询数据，请申请只读账号，写权限仅开放给系统管理员。报表查询变慢时，请提供 SQL、执行时间和涉及的表名，DBA 会检查索引和执行计划。误删或误改数据后请立即停止相关操作并提交工单，说明库名、表名、大致时间和行数；全量备份每晚执行，保留 30 天，恢复会先放到临时库，经业务确认后再回灌。数据库告警（磁盘、连接数、ORA 错误）由值班 DBA 处理，业务方无需重复报障。",
     "Database access, slow queries and data restores",
     "Business users who need data should request a read-only account; write access is reserved for system administrators. For slow reports, send the SQL, run time and table names so the DBA can check indexes and plans. After an accidental delete or update, stop working on the data and raise a ticket with the database, table, approximate time and row count. Full backups run nightly and are kept 30 days; restores go to a staging schema first and are merged back after the business confirms. Database alerts (disk, connections, ORA errors) are handled by the on-call DBA, so there is no need to report them twice."),
    ("HR", "payroll",
     "工资发放与工资条常见问题",
     "工资于每月 10 日发放，遇节假日提前。工资条可在 HR 系统“我的薪酬”中查看。加班费依据考勤系统中已审批的加班记录计算，当月 25 日后审批的加班将计入次月。对工资有疑问请提交工单并附上工号和具体月份，HR 会在 3 个工作日内核对答复。更换工资卡需上传新卡照片，当月 5 日前提交的于当月生效。收入证明、个税完税证明可在系统中自助申请电子版。",
     "Salary payment and payslip questions",
     "Salaries are paid on the 10th of each month, earlier when it falls on a holiday. Payslips are under My Pay in the HR portal. Overtime is paid from approved records in the attendance system; overtime approved after the 25th is paid the following month. For salary questions, raise a ticket with your employee ID and the month; HR answers within three working days. To change your salary account, upload a photo of the new card; changes before the 5th apply that month. Employment and tax certificates can be requested as PDFs in the portal."),
    ("HR", "leave",
     "假期政策与请假流程",
     "年假按工龄计算，入职首年按在职天数折算，上年未休年假可结转至次年 3 月 31 日。请假在 HR 系统提交，由直属经理审批，3 天以上需部门负责人加签。婚假、产假、陪产假需上传相应证明（结婚证、出生医学证明）。病假需附医院诊断证明，手写证明需加盖医院公章。审批人离职或长期休假时，系统会自动转交其上级；若审批卡住，请提交工单并附上单号。",
     "Leave policy and how to request leave",
     "Annual leave depends on service years and is pro-rated in the first year; unused days carry over until 31 March. Submit requests in the HR portal for your manager's approval; more than three days also needs the department head. Marriage, maternity and paternity leave need the matching certificate. Sick leave needs a hospital note; handwritten notes must carry the hospital stamp. When an approver leaves or is away for long, the request moves to their manager automatically; if it is stuck, raise a ticket with the request number."),
    ("HR", "attendance",
     "考勤打卡与补卡说明",
     "员工可通过各楼层人脸考勤机或企业微信定位打卡。忘记打卡每月可自助补卡 3 次，需写明原因并由经理审批；出差期间的打卡以出差审批为准。考勤机识别失败多因人脸照片过旧，可到 HR 前台重新采集。若打卡后系统无记录，通常为考勤机同步延迟，请等待 2 小时后再查看，仍无记录请提交工单并注明楼层和时间。",
     "Attendance clock-in and corrections",
     "Clock in at the face terminals on each floor or with WeCom location check-in. You can correct up to three missed punches a month with a reason and your manager's approval; during business trips the trip approval counts. Recognition failures are usually caused by an old photo; re-enrol at the HR desk. If a punch doesn't appear, the terminal may be syncing; check again after two hours and raise a ticket with the floor and time if it is still missing."),
    ("HR", "onboarding",
     "入职与离职办理流程",
     "入职当天请携带身份证、学历学位证书、上家单位离职证明、银行卡和体检报告原件，劳动合同在入职当天签署。体检报告可在入职后两周内补交。试用期满前两周，经理需在系统中完成转正评估。离职需提前 30 天提交申请，最后工作日完成工作交接、资产归还和账号注销，离职证明将在最后工作日发至个人邮箱。",
     "Joining and leaving the company",
     "On your first day bring your ID, degree certificates, the release letter from your previous employer, a bank card and the medical check report; the employment contract is signed that day. The medical report may follow within two weeks. Managers complete the probation review in the system two weeks before probation ends. Resignations need 30 days' notice; on the last day hand over work, return assets and have accounts closed. The separation certificate is emailed on the last working day."),
    ("HR", "benefits",
     "社保公积金与补充福利",
     "公司按当地规定为员工缴纳五险一金，缴费基数每年 7 月调整。跨城市调动时社保由 HR 办理转出，员工凭转移凭证在新参保地办理转入。租房提取公积金需在职证明，可在 HR 系统申请。补充医疗保险覆盖门诊和住院自付部分，在保险公司小程序上传发票、病历和费用清单即可理赔，约 10 个工作日到账。内推奖金在候选人转正次月随工资发放。",
     "Social insurance, housing fund and extra benefits",
     "The company pays social insurance and the housing fund as required locally; contribution bases are adjusted every July. When you move cities, HR transfers your social insurance out and you register it in the new city with the transfer certificate. Withdrawing housing funds for rent needs an employment certificate from the HR portal. Supplementary medical insurance covers out-of-pocket outpatient and inpatient costs; claim by uploading receipts, records and the cost list in the insurer's mini-program, paid in about 10 working days. Referral bonuses are paid the month after the hire is confirmed."),
    ("HR", "training",
     "培训报名与外部培训补贴",
     "内部课程在学习平台报名，需经理同意后确认名额。合规类必修课须在规定期限内完成，完成后证书自动生成；如状态未更新，请截图提交工单。外部培训和职业资格考试可申请补贴：通过考试后报销 50%，单笔超过一万元需签订一年服务期协议。申请时请附课程介绍和费用明细。",
     "Training registration and external training support",
     "Register for internal courses on the learning platform; your manager confirms the seat. Mandatory compliance courses must be finished by the deadline and the certificate is issued automatically; if the status doesn't update, raise a ticket with a screenshot. External courses and certification exams can be subsidised: 50% is refunded after passing, and amounts above RMB 10,000 require a one-year service agreement. Attach the course description and cost breakdown to the request."),
    ("Finance", "reimbursement",
     "费用报销提交规范",
     "报销在费控系统提交，发票抬头必须为公司全称并填写纳税人识别号。机票需附电子行程单，酒店需附水单，住宿标准按职级和城市执行，超标部分需部门负责人特批。纸质单据请在提交后 5 个工作日内投递到财务共享中心。审核通过的报销在每周四统一付款。外币费用按信用卡账单入账日汇率折算，需附信用卡账单。",
     "How to submit expense claims",
     "Submit claims in the expense system. Invoices must show the full company name and tax ID. Air tickets need the e-itinerary and hotels the folio; hotel limits depend on grade and city, and amounts above the limit need the department head's approval. Send paper receipts to the shared-service centre within five working days. Approved claims are paid every Thursday. Foreign-currency costs use the rate on the card statement posting date and need the statement attached."),
    ("Finance", "invoice",
     "开具发票与发票查验",
     "对客户开票请在系统提交开票申请，注明合同号、开票金额、发票类型，以及客户全称、纳税人识别号、地址电话和开户行账号；信息不全会被退回。发票开错需开具红字发票冲销后重开，请在工单中注明原发票号。收到的供应商发票须在税务平台查验真伪，查验不通过的发票不能入账，应退回供应商重开。",
     "Issuing invoices and verifying supplier invoices",
     "Request customer invoices in the system with the contract number, amount, invoice type and the customer's full name, tax ID, address, phone and bank account; incomplete requests are returned. A wrong invoice is reversed with a red-letter invoice and reissued; give the original invoice number in the ticket. Supplier invoices must pass verification on the tax authority's site; invoices that fail cannot be booked and go back to the supplier for reissue."),
    ("Finance", "payment",
     "供应商付款与借款流程",
     "供应商付款需同时具备合同、采购订单、验收单和合规发票（三单匹配），缺任一项付款会被挂起。付款账期按合同约定，财务每周二、周四付款。供应商变更收款账户必须提供盖章的变更函，并由采购通过合同中预留的电话回拨核实，切勿仅凭邮件修改。员工借款需在返回后 30 天内报销冲账。发现重复付款请立即提交工单，财务将联系供应商退回或抵扣。",
     "Supplier payments and cash advances",
     "Supplier payments need the contract, purchase order, goods receipt and a valid invoice (three-way match); anything missing puts the payment on hold. Payment terms follow the contract and runs happen on Tuesdays and Thursdays. A supplier's bank account may only be changed with a stamped letter and a call-back by Procurement to the number in the contract, never on the strength of an email. Cash advances must be cleared with a claim within 30 days of return. Report duplicate payments at once; Finance will recover or net them."),
    ("Finance", "budget",
     "预算调整与超预算审批",
     "年度预算按部门和科目下达，季度内可在同一部门不同科目间调剂，需财务经理审批；追加预算需提供测算依据并经财务总监审批。系统在提交采购订单或报销时自动校验预算，预算不足时将无法提交。超预算支出须走特批流程，由总经理审批。每季度末财务会组织预算回顾，请提前准备执行说明。",
     "Budget changes and spending over budget",
     "Budgets are set per department and account. Within a quarter you may move budget between accounts of the same department with the finance manager's approval; extra budget needs a justification and the finance director's approval. The system checks budget when purchase orders or claims are submitted and blocks them when budget is short. Spending above budget needs the GM's exception approval. Finance runs a budget review at each quarter end; prepare a short explanation of variances."),
    ("Finance", "tax",
     "增值税与境外付款税务要点",
     "用于集体福利、个人消费的购进货物，其进项税不得抵扣，已认证的需做进项转出。不同业务适用的增值税税率不同：现代服务和软件服务一般为 6%，货物销售一般为 13%。向境外支付服务费需代扣代缴增值税和企业所得税，并在付款前完成对外支付税务备案，可按税收协定申请优惠。请至少在付款期限前 10 个工作日提交资料。",
     "VAT and tax on payments abroad",
     "Input VAT on goods bought for staff welfare or personal use is not deductible; if already certified it must be reversed. VAT rates differ by business: modern and software services are usually 6%, sales of goods 13%. Service fees paid abroad require withholding VAT and corporate income tax, and the outbound payment must be filed with the tax bureau before paying; treaty relief may apply. Submit the documents at least 10 working days before the due date."),
    ("Finance", "accounting",
     "调账、报表导出与审计询证",
     "凭证科目或成本中心记错时，请在工单中提供凭证号、金额和正确的成本中心，财务会做调整分录，月结后调整计入当月。部门费用明细可在 ERP 报表中自助导出，也可申请财务协助。审计询证函请交财务统一核对余额并盖章回寄，业务部门不要直接回复审计机构。与供应商对账不一致时，请先核对在途发票和未达账项。",
     "Correcting postings, cost reports and audit confirmations",
     "If a journal hit the wrong account or cost centre, raise a ticket with the journal number, amount and correct cost centre; Finance posts an adjusting entry, in the current month if the period is closed. Department cost details can be exported from ERP reports or requested from Finance. Audit confirmation letters go to Finance, who check the balance, stamp and return them; business teams should not reply to auditors directly. For supplier reconciliation differences, check invoices in transit and unmatched items first."),
    ("Facilities", "maintenance",
     "办公室报修指南",
     "空调、照明、水电、门锁、家具等问题请在服务门户提交报修，注明楼层、位置和现象，可附照片。漏水、停电、有安全隐患的情况请同时拨打行政值班电话，维修人员 30 分钟内到场。空调温度由楼宇自控系统统一设定（夏季 24-26 度），个别区域过冷过热请报修调整。办公椅、升降桌等损坏可申请更换。",
     "Reporting repairs in the office",
     "Report air conditioning, lighting, plumbing, electrical, lock and furniture problems in the service portal with the floor, location and symptoms; photos help. For leaks, power cuts or anything unsafe, also call the facilities duty phone; a technician arrives within 30 minutes. Temperatures are set centrally by the building system (24-26°C in summer); report zones that are too hot or cold. Broken chairs and standing desks can be replaced."),
    ("Facilities", "meeting_room",
     "会议室预订与设备使用",
     "会议室在 Outlook 或企业微信中预订，超过 15 分钟未签到的预订会自动释放。大型会议和活动请提前 3 个工作日提交场地布置需求，注明人数、摆放方式和茶歇。投影仪无信号时先确认信号源选择正确并更换 HDMI 线；视频会议终端连不上请检查网线并重启设备。会后请带走个人物品并保持桌面整洁。",
     "Booking meeting rooms and using the equipment",
     "Book rooms in Outlook or WeCom; bookings not checked in within 15 minutes are released. For large meetings and events, send setup requests three working days ahead with head count, layout and catering. If the projector shows no signal, check the input source and try another HDMI cable; if the video conference unit won't connect, check the network cable and restart it. Please take your things and leave the table clean."),
    ("Facilities", "office_supplies",
     "办公用品与名片申领",
     "常用文具和打印纸可在每层行政柜自取，批量申领请在门户提交，次日送达工位。名片申请需填写姓名、职位、手机、邮箱，印刷约 3 个工作日。茶水间饮水机、咖啡机、冰箱故障请报修，供应商每周二例行维护。",
     "Office supplies and business cards",
     "Common stationery and paper are in the supply cabinet on each floor; larger orders go through the portal and are delivered to your desk the next day. Business card requests need your name, title, mobile and email, and take about three working days to print. Report broken water dispensers, coffee machines or fridges; the supplier services them every Tuesday."),
    ("Facilities", "cleaning",
     "保洁与消杀服务",
     "日常保洁每天早晚各一次，会议室在每次会议后清理。咖啡洒落、异味等临时保洁需求请在门户提交或告知前台，保洁员 20 分钟内处理。发现蟑螂、老鼠等虫害请及时报告，行政会安排专业公司在周末消杀并在两周后复查。请勿在工位存放未密封的食物。",
     "Cleaning and pest control",
     "Offices are cleaned every morning and evening, meeting rooms after each meeting. For spills, smells and other ad-hoc cleaning, use the portal or tell reception; cleaners arrive within 20 minutes. Report cockroaches, mice and other pests promptly; a contractor treats the area over the weekend and checks again two weeks later. Please don't keep open food at your desk."),
    ("Facilities", "parking",
     "停车月卡与停车场问题",
     "地下停车场月卡每月 1 日生效，可选择工资代扣或自行缴费，车位满时进入候补名单。道闸无法识别车牌时，请按呼叫按钮联系值班人员手动抬杆并报修白名单同步问题。车辆被堵或车位被占，请联系前台，由物业通知车主挪车。停车场内请勿停放在消防通道。",
     "Parking permits and car park issues",
     "Monthly permits start on the 1st and can be paid by salary deduction or directly; when the car park is full you join a waiting list. If the barrier doesn't recognise your plate, press the call button for the attendant and report the whitelist problem. If your car is blocked or your space taken, contact reception and building management will reach the owner. Never park in fire lanes."),
    ("Facilities", "relocation",
     "部门搬迁与工位调整",
     "部门搬迁请至少提前 3 周提交申请，附人员名单和搬迁日期，行政会确认工位图、储物柜和搬家公司，并同步 IT 调整网络点位和电话分机。个人换工位需说明原因并经部门经理同意。新员工工位由行政根据 HR 入职信息提前分配。搬迁前请自行打包个人物品并贴好标签。",
     "Team moves and desk changes",
     "Request a team move at least three weeks ahead with the staff list and date; Facilities confirms the seating plan, lockers and movers, and asks IT to move network points and phone extensions. Individual desk changes need a reason and the manager's agreement. Desks for new hires are assigned in advance from HR's onboarding data. Pack and label your own belongings before the move."),
    ("Procurement", "purchase_request",
     "采购申请与采购/IT 分工",
     "凡需要购买的物品和服务（包括电脑、软件授权、家具、备件）都由采购部处理，请在系统提交采购申请并附预算和需求说明；已有设备的故障维修请找 IT 或行政。标准配置电脑无需 IT 评估，非标准配置需 IT 出具技术意见。单笔超过 5 万元需三家比价。产线停线等紧急情况可走紧急采购流程，事后 3 个工作日内补齐单据。",
     "Purchase requests and who does what",
     "Anything that has to be bought, including laptops, software licences, furniture and spare parts, goes to Procurement: submit a purchase request with the budget and requirements. Faults in equipment you already have go to IT or Facilities. Standard laptops need no IT review; non-standard specs need IT's technical opinion. Purchases above RMB 50,000 need three quotes. For emergencies such as a stopped production line use the emergency route and complete the paperwork within three working days."),
    ("Procurement", "vendor",
     "供应商准入与管理",
     "引入新供应商需提交营业执照、统一社会信用代码、资质证书和银行信息，经采购部资质审核和尽职调查后录入主数据。供应商按季度考核交付、质量和服务，考核不合格将发出整改通知，连续两次不合格启动替换。供应商要求变更收款账户时，必须通过合同中的联系方式回拨核实，并收到盖章变更函后才能修改。",
     "Supplier onboarding and management",
     "New suppliers submit their business licence, credit code, certificates and bank details; Procurement checks qualifications and does due diligence before adding them to the master data. Suppliers are rated quarterly on delivery, quality and service; a failing rating triggers a corrective notice, and two in a row start replacement. A change of a supplier's bank account is only made after a call-back to the contact in the contract and a stamped change letter."),
    ("Procurement", "quotation",
     "询价比价规则",
     "单笔金额超过 5 万元的采购须至少三家供应商报价，比价结果由采购部汇总并推荐。报价有效期一般为 30 天，过期需重新确认价格。供应商涨价时由采购部统一谈判，需求部门不要单独承诺价格。请在询价申请中写清规格、数量、交期和预算。",
     "Rules for quotations",
     "Purchases above RMB 50,000 need quotes from at least three suppliers; Procurement compiles the comparison and makes a recommendation. Quotes are normally valid for 30 days and must be reconfirmed after that. Price increases are negotiated by Procurement; requesting teams should not agree prices themselves. State specifications, quantity, delivery date and budget in the request."),
    ("Procurement", "purchase_order",
     "采购订单变更与审批",
     "采购订单（PO）在系统中创建，按金额授权规则审批。需要修改数量、交期或增加行项目时，请提交订单变更，采购部修改后会重新发送供应商确认。审批人休假时系统按授权矩阵转交代理审批人。原则上先下单后收货，先货后单需说明原因并由部门负责人确认，否则财务无法付款。",
     "Changing and approving purchase orders",
     "Purchase orders are created in the system and approved according to the amount limits. To change quantity, delivery date or add lines, submit a PO change; Procurement updates it and re-sends it to the supplier. When an approver is away, the system delegates to the deputy under the authority matrix. Order before receiving goods; a PO raised after delivery needs a reason and the department head's confirmation, otherwise Finance cannot pay."),
    ("Procurement", "delivery",
     "到货、验收与异常处理",
     "货物到达后请在 3 个工作日内于系统中完成收货，验收单由需求部门负责人签字后上传，财务据此付款。发现破损、型号不符或数量短缺时，请拍照留证、不要签收，并立即提交工单，采购部会要求供应商补发或退换。交货延迟时采购部负责催货，必要时安排加急物流。",
     "Deliveries, goods receipt and problems",
     "Post the goods receipt in the system within three working days of delivery; the acceptance form is signed by the requesting department head and uploaded, and Finance pays against it. For damaged, wrong or short deliveries, take photos, don't sign for the goods and raise a ticket; Procurement gets the supplier to replace them. Procurement chases late deliveries and arranges express transport when needed."),
    ("Legal", "contract_review",
     "合同审核、保密协议与用印",
     "所有对外合同（包括采购部发起的供应商合同）签署前须经法务审核，请在合同管理系统提交并附业务背景。标准合同和 NDA 模板可直接使用，修改核心条款（责任上限、违约金、争议解决、知识产权）须法务确认。常规合同审核时效为 3 个工作日。用印前请确认盖章版本与审批定稿一致，用印登记由法务统一管理。",
     "Contract review, NDAs and company seals",
     "Every external contract, including supplier contracts raised by Procurement, is reviewed by Legal before signing; submit it in the contract system with the business background. Standard templates and NDAs can be used as they are; changes to key clauses (liability cap, penalties, dispute resolution, IP) need Legal's agreement. Standard reviews take three working days. Before stamping, make sure the version matches the approved final; Legal keeps the seal register."),
    ("Legal", "compliance",
     "反商业贿赂与合规要求",
     "员工不得接受价值超过 500 元的礼品或任何形式的现金、购物卡，无法拒绝的须上交并申报。供应商或客户承担差旅、住宿的活动须事先获得合规部门批准。向新客户销售受出口管制的产品前，须完成制裁名单筛查和出口许可审查。收到监管部门的问询或检查通知，请第一时间转交法务，由法务统一对接。",
     "Anti-bribery and compliance rules",
     "Employees may not accept gifts worth more than RMB 500, or any cash or gift cards; gifts that can't be refused are handed in and declared. Events where a supplier or customer pays travel or hotels need prior compliance approval. Before selling export-controlled products to a new customer, sanctions screening and an export licence review are required. Forward any inquiry or inspection notice from a regulator to Legal immediately; Legal is the single point of contact."),
    ("Legal", "intellectual_property",
     "商标、专利与开源软件合规",
     "发现假冒我司品牌的商品或店铺，请保存链接和截图提交法务，法务会向平台投诉并视情况发律师函。研发成果申请专利前请勿公开发表，技术交底书由法务对接专利代理机构。产品中使用开源组件须登记许可证类型：GPL/AGPL 类许可证可能要求公开源代码，发布前必须经法务评估，MIT、Apache 等宽松许可证保留版权声明即可。",
     "Trademarks, patents and open-source compliance",
     "If you find counterfeit products or shops using our brand, send the links and screenshots to Legal, who will file platform complaints and send lawyer's letters where needed. Don't publish results before a patent application is filed; Legal works with the patent agency on the disclosure. Register the licence of every open-source component in a product: GPL/AGPL may require publishing source code and must be assessed by Legal before release, while permissive licences such as MIT and Apache only require keeping the notices."),
    ("Legal", "dispute",
     "诉讼、仲裁与欠款催收",
     "收到法院传票、起诉状或仲裁通知后，请当天扫描并提交法务，切勿自行与对方沟通，答辩期通常只有 15 天。劳动仲裁由法务牵头、人力资源部配合提供考勤和薪酬证据。客户逾期欠款，销售催收无果后可申请法务发律师函，仍不付款的将评估起诉。所有纠纷相关材料请保留原件。",
     "Lawsuits, arbitration and debt collection",
     "When you receive a summons, complaint or arbitration notice, scan it and send it to Legal the same day, and don't contact the other party yourself; the response period is usually only 15 days. Labour arbitration is led by Legal with HR providing attendance and payroll evidence. For overdue customer debts, once sales collection has failed, ask Legal for a lawyer's letter; litigation is assessed if payment still doesn't come. Keep the originals of all documents."),
    ("Legal", "privacy",
     "个人信息保护与数据出境",
     "用户提出查询、更正、删除个人信息的请求，须在 15 个工作日内答复，请收到后立即转交法务并核实用户身份。新产品功能涉及人脸、位置、通讯录等敏感个人信息的，上线前须完成个人信息保护影响评估，并在隐私政策和授权弹窗中单独告知。向境外传输个人信息前须评估数据量，按规定选择安全评估、认证或标准合同备案。",
     "Personal data protection and cross-border transfers",
     "Requests to access, correct or delete personal data must be answered within 15 working days; forward them to Legal at once and verify the requester's identity. New features that use faces, location or contacts need a privacy impact assessment before launch and separate notice in the privacy policy and consent pop-up. Before sending personal data abroad, assess the volume and use the required route: security assessment, certification or a filed standard contract."),
    ("CustomerService", "complaint",
     "客户投诉处理规范",
     "接到投诉后须在 2 小时内首次回应客户，24 小时内给出处理方案。产品质量问题优先换新，确认质量缺陷的可退货退款。客户威胁投诉到 12315 或在社交媒体曝光时，立即升级给客服主管，由主管亲自跟进。服务态度类投诉须回访致歉，可按标准发放补偿券。所有投诉处理结果须在系统中记录。",
     "Handling customer complaints",
     "Respond to a complaint within two hours and propose a solution within 24 hours. For quality problems offer a replacement first; confirmed defects may be returned and refunded. If a customer threatens to go to the consumer hotline or social media, escalate to the service supervisor, who follows up personally. For complaints about staff behaviour, call back to apologise and issue a goodwill voucher per the standard. Record every outcome in the system."),
    ("CustomerService", "refund",
     "退货退款与扣款异常",
     "商品签收后 7 天内可无理由退货（需保持完好），质量问题 15 天内可退货。退款原路退回，银行处理需 1-5 个工作日。客户反映重复扣款或“支付失败但已扣款”时，先在支付后台核对流水，确认后发起原路退款，无需客户提供银行流水。退款由客服部发起并对客户负责，财务负责审核出款；超过 3 个工作日未到账的请在工单中注明订单号跟进。",
     "Returns, refunds and payment errors",
     "Goods can be returned without reason within 7 days of delivery if intact, and within 15 days for quality problems. Refunds go back to the original payment method and banks take 1-5 working days. When a customer reports a double charge or \"payment failed but money taken\", check the transactions in the payment console and refund to the original method; the customer doesn't need to send bank statements. Customer Service owns refunds towards the customer and Finance approves the payout; chase refunds not received after three working days with the order number."),
    ("CustomerService", "order_status",
     "订单查询、修改与取消",
     "订单在出库前可修改地址或取消，出库后只能联系快递改派或在签收后办理退货。物流信息超过 48 小时未更新，请联系快递公司核实并告知客户预计送达时间。客户要求为订单开具发票的，由客服在订单系统提交开票申请，电子发票发送到客户邮箱，专票需客户提供完整开票信息。",
     "Order enquiries, changes and cancellations",
     "Before shipment an order's address can be changed or the order cancelled; after shipment the courier can redirect it or the customer returns it after delivery. If tracking hasn't updated for 48 hours, check with the courier and tell the customer the expected date. When a customer asks for an invoice for an order, Customer Service submits it in the order system; e-invoices go to the customer's email, and special VAT invoices need complete billing details."),
    ("CustomerService", "product_question",
     "产品使用与保修咨询",
     "产品首次使用请引导客户下载官方 App，按说明书完成配网；指示灯闪红灯一般表示未联网或电量不足。恢复出厂设置：长按复位键 5 秒直至指示灯闪烁。所有产品享受一年保修，凭订单号或购买凭证即可申请，保修期内非人为损坏免费维修。兼容性问题请参考产品参数页。",
     "Product use and warranty questions",
     "For first use, guide the customer to install the official app and pair the device as in the manual; a blinking red light usually means no network or low battery. Factory reset: hold the reset button for five seconds until the light flashes. All products carry a one-year warranty claimed with the order number or receipt; non-accidental faults within warranty are repaired free. For compatibility, refer to the product specification page."),
    ("CustomerService", "account_issue",
     "客户账号登录与换绑",
     "客户收不到短信验证码时，可改用语音验证码；多数情况是运营商拦截。账号因异地登录被风控冻结的，核实身份（注册手机号、最近订单）后解冻。原手机号停用需换绑的，通过人工审核核实身份后办理。会员积分在确认收货 7 天后发放，每年 12 月 31 日清零上一年度积分。",
     "Customer account login and phone changes",
     "If a customer gets no SMS code, offer a voice code; carriers often block the SMS. Accounts frozen by risk control after a login from another region are unfrozen after identity checks (registered phone, recent orders). When the old number is no longer in use, move the account after manual identity review. Loyalty points are credited seven days after delivery confirmation, and the previous year's points expire on 31 December."),
    ("Security", "access_badge",
     "工卡、门禁与机房进入",
     "工卡丢失请立即在门户挂失，安全管理部会注销旧卡并补办新卡。门禁权限随岗位自动开通，调岗后如无法进入新区域，请提交工单说明楼层和区域。访客须提前登记，由接待人陪同，临时卡当天有效。进入机房须有已批准的变更单，全程由值班人员陪同并登记。门锁、门体等机械故障属于行政部报修范围。",
     "Badges, door access and server-room entry",
     "Report a lost badge in the portal at once; Security deactivates it and issues a new one. Door access follows your role; if you can't enter your new area after a transfer, raise a ticket with the floor and zone. Visitors are registered in advance and escorted by their host; temporary badges are valid for the day. Entering the server room requires an approved change ticket and an escort, and every entry is logged. Mechanical faults in locks and doors are repaired by Facilities."),
    ("Security", "phishing",
     "识别和报告钓鱼邮件",
     "可疑邮件的常见特征：要求点击链接验证密码、提示邮箱已满需升级、附件为压缩包或 .exe、发件人地址与显示名不一致。收到可疑邮件请使用 Outlook 的“报告钓鱼”按钮，不要点击链接或打开附件。如已输入密码，请立即修改密码并提交工单。任何以领导名义要求紧急转账的邮件或微信，必须电话核实，财务付款一律走审批流程。",
     "Spotting and reporting phishing",
     "Typical signs: a link asking you to verify your password, a warning that your mailbox is full, zip or .exe attachments, and a sender address that doesn't match the display name. Use Outlook's Report Phishing button and don't click links or open attachments. If you entered your password, change it immediately and raise a ticket. Any email or WeChat message from a 'manager' asking for an urgent transfer must be verified by phone; payments always go through approval."),
    ("Security", "malware",
     "病毒告警与勒索软件应急",
     "杀毒软件弹出告警时，请勿关闭告警，记录威胁名称和文件路径后提交工单。发现文件被加密、后缀被修改或出现勒索说明文件时，立即拔掉网线并关闭 WiFi，不要关机，并电话通知安全值班。外来 U 盘须先扫描再打开，禁止使用来源不明的 U 盘。安装盗版或破解软件是感染的主要原因，请只从软件中心安装。",
     "Malware alerts and ransomware response",
     "When antivirus raises an alert, don't dismiss it; note the threat name and file path and raise a ticket. If files are encrypted, renamed, or a ransom note appears, unplug the network cable and turn off WiFi at once, keep the PC powered on, and phone the security duty line. Scan external USB drives before opening them and never use drives of unknown origin. Pirated or cracked software is the main source of infections; install only from Software Center."),
    ("Security", "data_protection",
     "设备丢失、误发邮件与数据外发",
     "公司笔记本或装有公司邮箱的手机丢失，请立即提交工单，安全团队会远程锁定和擦除设备。邮件误发给外部人员时，尽快尝试撤回并提交工单，安全团队会联系收件人确认删除并评估影响。向外部发送敏感资料会被数据防泄漏系统拦截，确需外发的请经部门负责人审批后使用加密外发通道。",
     "Lost devices, mis-sent mail and sending data out",
     "If a company laptop or a phone with company mail is lost, raise a ticket immediately; Security will lock and wipe it remotely. If mail went to the wrong outside recipient, try to recall it and raise a ticket; Security contacts the recipient to confirm deletion and assesses the impact. Sending sensitive data outside is blocked by DLP; when it is really needed, get the department head's approval and use the secure transfer channel."),
    ("Security", "vulnerability",
     "漏洞修复与证书更新",
     "每周漏洞扫描结果会推送给系统负责人：高危漏洞须在 7 天内修复，中危 30 天内修复，无法按期修复的须申请风险接受。修复需停机的，请在变更窗口内执行并通知业务方。SSL 证书到期前 30 天系统会告警，请提前申请续期，续期后确认负载均衡和所有服务器都已更新。",
     "Fixing vulnerabilities and renewing certificates",
     "Weekly scan results go to system owners: high-risk findings must be fixed within 7 days and medium ones within 30, otherwise a risk acceptance is needed. Fixes that need downtime run in a change window with the business informed. SSL certificates raise an alert 30 days before expiry; request renewal early and afterwards check that the load balancer and every server carry the new certificate."),
    ("Security", "cctv",
     "监控录像调取与摄像头报修",
     "监控录像保存 30 天。因丢失物品、车辆剐蹭等需要调取录像的，请提交申请并说明时间、地点和事由，经安全管理部审批后由安保人员陪同查看，涉及报警的可导出片段提供给警方。摄像头离线、画面模糊或被遮挡请提交报修，注明楼层和位置。",
     "Requesting CCTV footage and reporting camera faults",
     "Footage is kept for 30 days. To review it after a theft or a scratched car, submit a request with the time, place and reason; after Security approves, a guard reviews it with you, and clips can be exported for the police. Report cameras that are offline, blurry or blocked with the floor and location."),
)  # fmt: skip

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
