"""Key-field extraction, PII marking and redaction on Chinese and English ticket text."""

from __future__ import annotations

import contextvars
import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from triage.fields import (
    FIELD_TYPES,
    PII_PLACEHOLDERS,
    UNRESOLVED_PREFIX,
    FieldExtractor,
    _load_lexicon,
    redact,
)
from triage.types import ExtractedField

# A Wednesday: "last Friday" is 2026-02-27, "next Monday" 2026-03-09.
REF = datetime(2026, 3, 4, 10, 0)
VALID_ID = "11010519491231002X"
VALID_CARD = "6222021234567890128"


@pytest.fixture(scope="module")
def extractor() -> FieldExtractor:
    """The real extractor: jieba plus the bundled spaCy English model, loaded once."""
    fx = FieldExtractor()
    fx.load()
    return fx


@pytest.fixture(scope="module")
def rules_only() -> FieldExtractor:
    fx = FieldExtractor(use_ner=False)
    fx.load()
    return fx


def _find(fields: list[ExtractedField], field_type: str, surface: str) -> ExtractedField:
    for f in fields:
        if f.type == field_type and f.text == surface:
            return f
    found = [(f.type, f.text) for f in fields]
    raise AssertionError(f"no {field_type} {surface!r} among {found}")


def _assert_spans(text: str, fields: list[ExtractedField]) -> None:
    for f in fields:
        assert text[f.start : f.end] == f.text
    for before, after in itertools.pairwise(fields):
        assert before.end <= after.start, (before, after)


FIELD_CASES: list[tuple[str, str, str, str, Any]] = [
    # (language, text, type, surface text, normalised value)
    ("zh", "请联系财务部张经理处理一下。", "person", "张经理", "张经理"),
    ("zh", "联系人：陈晓东，电话稍后提供。", "person", "陈晓东", "陈晓东"),
    (
        "en",
        "Please ask Sarah Collins in accounting to approve it.",
        "person",
        "Sarah Collins",
        "Sarah Collins",
    ),
    ("zh", "华为技术有限公司的合同需要审核。", "organization", "华为技术有限公司", "华为技术有限公司"),
    ("zh", "请财务部尽快确认。", "organization", "财务部", "财务部"),
    (
        "en",
        "The agreement with Acme Corporation expires soon.",
        "organization",
        "Acme Corporation",
        "Acme Corporation",
    ),
    ("zh", "我这周在杭州出差，电脑连不上网。", "location", "杭州", "杭州"),
    ("zh", "A座5层会议室的投影仪坏了。", "location", "A座5层会议室", "A座5层会议室"),
    ("en", "I work in the London office and the printer is jammed.", "location", "London", "London"),
    ("en", "The projector in Room 305 is broken.", "location", "Room 305", "Room 305"),
    ("zh", "OA系统无法登录，一直转圈。", "system", "OA系统", "OA系统"),
    ("zh", "无法登录报销系统，提示超时。", "system", "报销系统", "报销系统"),
    ("en", "Outlook keeps crashing on start.", "system", "Outlook", "Outlook"),
    ("en", "the vpn drops every hour", "system", "vpn", "VPN"),
    ("zh", "服务器srv-db-01磁盘满了。", "hostname", "srv-db-01", "srv-db-01"),
    (
        "en",
        "Ping web-prod-03.corp.local fails.",
        "hostname",
        "web-prod-03.corp.local",
        "web-prod-03.corp.local",
    ),
    ("zh", "数据库地址是10.2.3.4，端口正常。", "ipv4", "10.2.3.4", "10.2.3.4"),
    ("en", "Server 10.20.3.14 stopped answering.", "ipv4", "10.20.3.14", "10.20.3.14"),
    ("en", "Host fe80:0:0:0:0:0:0:1 is unreachable.", "ipv6", "fe80:0:0:0:0:0:0:1", "fe80::1"),
    ("zh", "IPv6地址2001:db8::1无法访问。", "ipv6", "2001:db8::1", "2001:db8::1"),
    (
        "zh",
        "请访问https://oa.corp.cn/login登录。",
        "url",
        "https://oa.corp.cn/login",
        "https://oa.corp.cn/login",
    ),
    (
        "en",
        "See https://wiki.corp.local/x/y?z=1.",
        "url",
        "https://wiki.corp.local/x/y?z=1",
        "https://wiki.corp.local/x/y?z=1",
    ),
    ("zh", "请发邮件到zhang@corp.com，谢谢。", "email", "zhang@corp.com", "zhang@corp.com"),
    ("en", "Mail John.Smith@Acme.COM today.", "email", "John.Smith@Acme.COM", "John.Smith@acme.com"),
    ("zh", "请联系13812345678处理。", "phone", "13812345678", "+8613812345678"),
    ("zh", "手机：138-1234-5678。", "phone", "138-1234-5678", "+8613812345678"),
    ("zh", "座机010-12345678转人工。", "phone", "010-12345678", "+861012345678"),
    ("zh", "深圳分机0755-1234567。", "phone", "0755-1234567", "+867551234567"),
    ("en", "Call +86 138 1234 5678 or email.", "phone", "+86 138 1234 5678", "+8613812345678"),
    ("en", "Call me on +1 415 555 0132 after lunch.", "phone", "+1 415 555 0132", "+14155550132"),
    ("en", "Desk phone (415) 555-0132.", "phone", "(415) 555-0132", "4155550132"),
    ("zh", "订单号：20260305001 未发货。", "order_number", "20260305001", "20260305001"),
    ("en", "Order number: ORD-2026-558812 failed.", "order_number", "ORD-2026-558812", "ORD-2026-558812"),
    ("zh", "请回复工单号 12345，谢谢。", "ticket_number", "12345", "12345"),
    ("en", "Same as ticket #12345 last week.", "ticket_number", "12345", "12345"),
    ("en", "Reopened INC0045821 again.", "ticket_number", "INC0045821", "INC0045821"),
    ("zh", "发票号码：12345678，请核对。", "invoice_number", "12345678", "12345678"),
    (
        "en",
        "Please check invoice INV-2026-004512 today.",
        "invoice_number",
        "INV-2026-004512",
        "INV-2026-004512",
    ),
    ("zh", "合同编号HT-2026-0342需要法务审核。", "contract_number", "HT-2026-0342", "HT-2026-0342"),
    ("en", "Review contract no. CT-2026-0042 please.", "contract_number", "CT-2026-0042", "CT-2026-0042"),
    ("zh", "资产编号：AST-2024-00123 的电脑蓝屏。", "asset_number", "AST-2024-00123", "AST-2024-00123"),
    ("en", "My laptop (asset tag ZC20240123) overheats.", "asset_number", "ZC20240123", "ZC20240123"),
    ("zh", "采购单号：CG20260001 还没审批。", "po_number", "CG20260001", "CG20260001"),
    ("en", "PO-2026-1187 is waiting for approval.", "po_number", "PO-2026-1187", "PO-2026-1187"),
    ("en", "Raise PO number 4500012345 for it.", "po_number", "4500012345", "4500012345"),
    ("zh", "预算3.5万元，请审批。", "amount", "3.5万元", {"amount": 35000.0, "currency": "CNY"}),
    ("zh", "报销金额￥12,800，已提交。", "amount", "￥12,800", {"amount": 12800.0, "currency": "CNY"}),
    ("zh", "实际提交的是12,800元。", "amount", "12,800元", {"amount": 12800.0, "currency": "CNY"}),
    ("zh", "报销金额2000，请尽快打款。", "amount", "2000", {"amount": 2000.0, "currency": "CNY"}),
    ("zh", "共计三万五千元整。", "amount", "三万五千元", {"amount": 35000.0, "currency": "CNY"}),
    ("zh", "货款约2万美元。", "amount", "2万美元", {"amount": 20000.0, "currency": "USD"}),
    ("en", "Each charge was $1,249.00 twice.", "amount", "$1,249.00", {"amount": 1249.0, "currency": "USD"}),
    ("en", "The fee is EUR 500 per year.", "amount", "EUR 500", {"amount": 500.0, "currency": "EUR"}),
    ("en", "Budget 5k USD for licences.", "amount", "5k USD", {"amount": 5000.0, "currency": "USD"}),
    ("zh", "故障发生在2026-03-05，影响结账。", "date", "2026-03-05", "2026-03-05"),
    ("zh", "开票日期2026年2月18日。", "date", "2026年2月18日", "2026-02-18"),
    ("en", "It failed on 03/05/2026 again.", "date", "03/05/2026", "2026-03-05"),
    ("en", "Renewal due March 5, 2026.", "date", "March 5, 2026", "2026-03-05"),
    ("zh", "2026-03-05 14:30 开始报错。", "datetime", "2026-03-05 14:30", "2026-03-05T14:30:00"),
    ("zh", "2026年3月5日下午3点发生故障。", "datetime", "2026年3月5日下午3点", "2026-03-05T15:00:00"),
    (
        "en",
        "Started 2026-03-05T14:32:00Z in prod.",
        "datetime",
        "2026-03-05T14:32:00Z",
        "2026-03-05T14:32:00+00:00",
    ),
    ("zh", "VPN断开了大概2小时。", "duration", "2小时", 2.0),
    ("zh", "每次要等30分钟。", "duration", "30分钟", 0.5),
    ("zh", "处理了一个半小时。", "duration", "一个半小时", 1.5),
    ("en", "The outage lasted 3 days.", "duration", "3 days", 72.0),
    ("en", "It took 45 min to restart.", "duration", "45 min", 0.75),
    ("en", "Down for 2 hours 30 minutes.", "duration", "2 hours 30 minutes", 2.5),
    ("en", "Oracle says ORA-00600 on commit.", "error_code", "ORA-00600", "ORA-00600"),
    ("en", "The API returns HTTP 500 now.", "error_code", "HTTP 500", "HTTP 500"),
    ("en", "Nginx shows 502 Bad Gateway.", "error_code", "502 Bad Gateway", "HTTP 502"),
    ("zh", "安装失败，错误代码0x80070005。", "error_code", "0x80070005", "0x80070005"),
    ("en", "The pod died with exit code 137.", "error_code", "exit code 137", "exit code 137"),
    ("en", "curl: ECONNREFUSED on port 443.", "error_code", "ECONNREFUSED", "ECONNREFUSED"),
    (
        "en",
        "Logs show NullPointerException in OrderController.",
        "error_code",
        "NullPointerException",
        "NullPointerException",
    ),
    (
        "en",
        "java.lang.OutOfMemoryError: Java heap space",
        "error_code",
        "java.lang.OutOfMemoryError",
        "java.lang.OutOfMemoryError",
    ),
    ("zh", "页面提示错误码 E1023。", "error_code", "E1023", "E1023"),
    ("en", "The bounce says 550 5.7.1 Relaying denied.", "error_code", "550 5.7.1", "SMTP 550 5.7.1"),
    ("en", "Upgraded the client to v2.3.1 yesterday.", "version", "v2.3.1", "2.3.1"),
    ("zh", "客户端版本 10.4 有问题。", "version", "10.4", "10.4"),
    ("en", "GlobalProtect version 6.1.3 is installed.", "version", "6.1.3", "6.1.3"),
    (
        "zh",
        "日志在C:\\Users\\zhang\\AppData\\setup.log里。",
        "file_path",
        "C:\\Users\\zhang\\AppData\\setup.log",
        "C:\\Users\\zhang\\AppData\\setup.log",
    ),
    (
        "en",
        "Check /var/log/nginx/error.log for details.",
        "file_path",
        "/var/log/nginx/error.log",
        "/var/log/nginx/error.log",
    ),
    ("zh", f"身份证号{VALID_ID}，请核实。", "id_number", VALID_ID, VALID_ID),
    ("en", f"Her resident ID is {VALID_ID.lower()}.", "id_number", VALID_ID.lower(), VALID_ID),
    ("zh", f"工资卡号{VALID_CARD}。", "bank_card", VALID_CARD, VALID_CARD),
    ("en", "Card 4111 1111 1111 1111 was declined.", "bank_card", "4111 1111 1111 1111", "4111111111111111"),
    # Issue 18: employee ids, expense claims and devices.
    ("zh", "我的工号 A10234，登录不了考勤系统。", "employee_id", "A10234", "A10234"),
    ("en", "Employee ID A10234 cannot log in.", "employee_id", "A10234", "A10234"),
    ("zh", "报销单BX-2026-11-0087一直未审批。", "expense_claim_number", "BX-2026-11-0087", "BX-2026-11-0087"),
    (
        "en",
        "Expense claim no. EC-2026-03-0412 was rejected.",
        "expense_claim_number",
        "EC-2026-03-0412",
        "EC-2026-03-0412",
    ),
    ("zh", "我的联想ThinkPad E14开不了机。", "device", "联想ThinkPad E14", "联想ThinkPad E14"),
    ("en", "My Dell Latitude 7440 will not boot.", "device", "Dell Latitude 7440", "Dell Latitude 7440"),
]


@pytest.mark.parametrize(("language", "text", "field_type", "surface", "value"), FIELD_CASES)
def test_extract_finds_field_with_exact_span_and_value(
    extractor: FieldExtractor, language: str, text: str, field_type: str, surface: str, value: Any
) -> None:
    fields = extractor.extract(text, language, REF)
    found = _find(fields, field_type, surface)
    assert found.value == value
    assert text[found.start : found.end] == surface
    _assert_spans(text, fields)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_field_cases_cover_every_field_type_in_each_language(language: str) -> None:
    assert {case[2] for case in FIELD_CASES if case[0] == language} == set(FIELD_TYPES)


@pytest.mark.parametrize(
    ("field_type", "pii"),
    [
        ("email", True),
        ("phone", True),
        ("id_number", True),
        ("bank_card", True),
        ("ipv4", False),
        ("person", False),
    ],
)
def test_extract_marks_only_contact_and_identity_fields_as_pii(
    extractor: FieldExtractor, field_type: str, pii: bool
) -> None:
    text = (
        f"张经理的邮箱zhang@corp.com，手机13812345678，身份证{VALID_ID}，卡号{VALID_CARD}，服务器10.2.3.4。"
    )
    fields = extractor.extract(text, "zh", REF)
    matching = [f for f in fields if f.type == field_type]
    assert matching
    assert all(f.pii is pii for f in matching)


@pytest.mark.parametrize(
    "text",
    [
        "身份证号110105194912310021，请核实。",  # checksum should be X
        "身份证号110105199913310025，请核实。",  # month 13
    ],
)
def test_extract_rejects_id_numbers_with_bad_checksum_or_date(extractor: FieldExtractor, text: str) -> None:
    fields = extractor.extract(text, "zh", REF)
    assert not [f for f in fields if f.type == "id_number"]
    assert not [f for f in fields if f.pii]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("zh", "工资卡号6222021234567890127。"),  # Luhn check digit off by one
        ("en", "Card 4111 1111 1111 1112 was declined."),
        ("zh", f"订单号：{VALID_CARD} 未发货。"),  # passes Luhn, but it is an order number
        ("en", f"Invoice {VALID_CARD} is overdue."),
    ],
)
def test_extract_does_not_mark_luhn_invalid_or_id_context_numbers_as_cards(
    extractor: FieldExtractor, language: str, text: str
) -> None:
    fields = extractor.extract(text, language, REF)
    assert not [f for f in fields if f.type == "bank_card"]
    assert not [f for f in fields if f.pii]


def test_extract_reads_order_context_number_as_order_number(extractor: FieldExtractor) -> None:
    fields = extractor.extract(f"订单号：{VALID_CARD} 未发货。", "zh", REF)
    assert _find(fields, "order_number", VALID_CARD).pii is False


@pytest.mark.parametrize(
    ("language", "text", "field_type", "surface", "value"),
    [
        ("zh", "今天系统很慢", "date", "今天", "2026-03-04"),
        ("zh", "昨天开始报错", "date", "昨天", "2026-03-03"),
        ("zh", "前天就坏了", "date", "前天", "2026-03-02"),
        ("zh", "明天要用", "date", "明天", "2026-03-05"),
        ("zh", "下周一之前处理", "date", "下周一", "2026-03-09"),
        ("zh", "上周五提交的申请", "date", "上周五", "2026-02-27"),
        ("zh", "周五之前给答复", "date", "周五", "2026-03-06"),
        ("zh", "3天前就反馈过", "date", "3天前", "2026-03-01"),
        ("zh", "3月5日上线", "date", "3月5日", "2026-03-05"),
        ("zh", "昨天下午三点开始无法登录", "datetime", "昨天下午三点", "2026-03-03T15:00:00"),
        ("zh", "昨晚8点断网", "datetime", "昨晚8点", "2026-03-03T20:00:00"),
        ("en", "It broke yesterday.", "date", "yesterday", "2026-03-03"),
        ("en", "Please fix it by next Monday.", "date", "next Monday", "2026-03-09"),
        ("en", "It started last Friday.", "date", "last Friday", "2026-02-27"),
        ("en", "It failed yesterday at 3pm.", "datetime", "yesterday at 3pm", "2026-03-03T15:00:00"),
        ("en", "It failed 2 hours ago.", "datetime", "2 hours ago", "2026-03-04T08:00:00"),
        ("en", "The job ran on 11/23 last year.", "date", "11/23", "2025-11-23"),
    ],
)
def test_extract_resolves_relative_dates_against_reference_time(
    extractor: FieldExtractor, language: str, text: str, field_type: str, surface: str, value: str
) -> None:
    fields = extractor.extract(text, language, REF)
    assert _find(fields, field_type, surface).value == value


def test_extract_keeps_reference_timezone_on_resolved_times(extractor: FieldExtractor) -> None:
    ref = datetime(2026, 3, 4, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    fields = extractor.extract("昨天下午三点开始无法登录", "zh", ref)
    assert _find(fields, "datetime", "昨天下午三点").value == "2026-03-03T15:00:00+08:00"


@pytest.mark.parametrize(
    ("language", "text", "field_type", "surface", "value"),
    [
        ("zh", "昨天开始报错", "date", "昨天", UNRESOLVED_PREFIX + "昨天"),
        ("zh", "昨天下午三点开始", "datetime", "昨天下午三点", UNRESOLVED_PREFIX + "昨天下午三点"),
        ("en", "Please fix it by next Monday.", "date", "next Monday", UNRESOLVED_PREFIX + "next Monday"),
        ("zh", "3月5日上线", "date", "3月5日", "03-05"),
        ("zh", "故障发生在2026-03-05。", "date", "2026-03-05", "2026-03-05"),
    ],
)
def test_extract_marks_relative_dates_unresolved_without_reference_time(
    extractor: FieldExtractor, language: str, text: str, field_type: str, surface: str, value: str
) -> None:
    fields = extractor.extract(text, language, None)
    assert _find(fields, field_type, surface).value == value


@pytest.mark.parametrize(
    ("text", "surface", "amount"),
    [
        ("预算3.5万元", "3.5万元", 35000.0),
        ("金额：1.2万", "1.2万", 12000.0),
        ("约￥2万元", "￥2万元", 20000.0),
    ],
)
def test_extract_applies_wan_multiplier_to_amounts(
    extractor: FieldExtractor, text: str, surface: str, amount: float
) -> None:
    fields = extractor.extract(text, "zh", REF)
    assert _find(fields, "amount", surface).value == {"amount": amount, "currency": "CNY"}


def test_extract_uses_custom_pattern_for_new_id_format() -> None:
    fx = FieldExtractor(patterns={"order_number": r"SO-\d{6}"}, use_ner=False)
    fields = fx.extract("客户的订单 SO-123456 一直没有发货", "zh", REF)
    assert _find(fields, "order_number", "SO-123456").value == "SO-123456"


def test_extract_custom_pattern_overrides_builtin_type() -> None:
    text = "Please check INV-2026-004512 today."
    builtin = FieldExtractor(use_ner=False).extract(text, "en", REF)
    custom = FieldExtractor(patterns={"order_number": r"INV-\d{4}-\d{6}"}, use_ner=False).extract(
        text, "en", REF
    )
    assert _find(builtin, "invoice_number", "INV-2026-004512")
    assert _find(custom, "order_number", "INV-2026-004512")
    assert not [f for f in custom if f.type == "invoice_number"]


def test_extract_custom_pattern_id_group_narrows_span() -> None:
    fx = FieldExtractor(patterns={"ticket_number": r"case ref (?P<id>\d{5})"}, use_ner=False)
    fields = fx.extract("Following up on case ref 77123 from support.", "en", REF)
    assert _find(fields, "ticket_number", "77123")


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        ({"amount": r"\d+"}, "patterns may target"),
        ({"order_number": r"SO-(\d"}, "not a valid regular expression"),
    ],
)
def test_field_extractor_rejects_bad_custom_patterns(patterns: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FieldExtractor(patterns=patterns)


def test_field_extractor_adds_configured_system_names() -> None:
    fx = FieldExtractor(use_ner=False, systems=["Kronos"])
    fields = fx.extract("kronos will not record my hours", "en", REF)
    assert _find(fields, "system", "kronos").value == "Kronos"


def test_extract_returns_sorted_non_overlapping_fields_for_a_full_ticket(extractor: FieldExtractor) -> None:
    text = (
        "【紧急】财务系统无法登录\n您好，从昨天下午三点开始，财务部张经理无法登录SAP系统，错误码E1023，刷新后变成HTTP 502 Bad Gateway。"
        "服务器srv-fin-02（10.20.3.14）上周五升级到了v3.2.1。发票号：44012345678，金额3.5万元，供应商深圳市腾达电子有限公司。"
        "电话13812345678，邮箱zhang.wei@corp-example.com，日志见/var/log/sap/app.log。"
    )
    fields = extractor.extract(text, "zh", REF)
    _assert_spans(text, fields)
    types = {f.type for f in fields}
    expected = {"datetime", "organization", "person", "system", "error_code", "hostname", "ipv4", "date"}
    assert expected | {"version", "invoice_number", "amount", "phone", "email", "file_path"} <= types
    assert _find(fields, "organization", "深圳市腾达电子有限公司")


def test_extract_finds_english_entities_only_outside_rule_fields(extractor: FieldExtractor) -> None:
    text = (
        "Hi team, since yesterday John Smith from Acme Corp in London cannot log into SAP. "
        "Raise PO number 4500012345. Thanks, Mary Johnson"
    )
    fields = extractor.extract(text, "en", REF)
    assert _find(fields, "person", "John Smith").source == "ner"
    assert _find(fields, "organization", "Acme Corp")
    assert _find(fields, "location", "London")
    assert _find(fields, "person", "Mary Johnson")
    assert _find(fields, "system", "SAP").source == "dictionary"
    assert not [f for f in fields if f.source == "ner" and f.text in {"SAP", "PO", "yesterday"}]


def test_extract_handles_mixed_language_ticket(extractor: FieldExtractor) -> None:
    text = (
        "Outlook一直报错，用户王小明在深圳办公室，Sarah Collins from Acme Corp also reported it last Friday。"
    )
    fields = extractor.extract(text, "mixed", REF)
    _assert_spans(text, fields)
    assert _find(fields, "person", "王小明")
    assert _find(fields, "location", "深圳")
    assert _find(fields, "person", "Sarah Collins")
    assert _find(fields, "date", "last Friday").value == "2026-02-27"


def test_extract_without_ner_skips_english_entities_but_keeps_rules(rules_only: FieldExtractor) -> None:
    fields = rules_only.extract("John Smith reported ORA-00600 on srv-db-01.", "en", REF)
    assert not [f for f in fields if f.type == "person"]
    assert _find(fields, "error_code", "ORA-00600")
    assert _find(fields, "hostname", "srv-db-01")


@pytest.mark.parametrize("text", ["", "ok"])
def test_extract_returns_nothing_for_empty_or_plain_text(rules_only: FieldExtractor, text: str) -> None:
    assert rules_only.extract(text, "en", REF) == []


def test_extract_rejects_unknown_language(rules_only: FieldExtractor) -> None:
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        rules_only.extract("bonjour", "fr", REF)


def test_field_extractor_load_is_idempotent(extractor: FieldExtractor) -> None:
    nlp = extractor._nlp
    extractor.load()
    assert extractor.loaded
    assert extractor._nlp is nlp


def test_english_ner_in_a_fresh_context_does_not_look_up_thincs_backend(
    extractor: FieldExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server triages in a fresh copy of the event loop's context (anyio's worker threads), where
    thinc's backend variable is unset: the NER sets it there once rather than letting thinc scan the
    installed packages' entry points for it on every layer (issue 12.1)."""
    import thinc.backends

    looked_up: list[str] = []
    real_get_ops = thinc.backends.get_ops

    def counting_get_ops(name: str, **kwargs: Any) -> Any:
        looked_up.append(name)
        return real_get_ops(name, **kwargs)

    monkeypatch.setattr(thinc.backends, "get_ops", counting_get_ops)
    fresh = contextvars.Context()
    fields = fresh.run(extractor.extract, "John Smith reported ORA-00600 on srv-db-01.", "en", REF)
    assert _find(fields, "person", "John Smith")  # found by the NER (the rules alone do not)
    assert fresh.run(thinc.backends.context_ops.get) is not None
    assert looked_up == []


def test_field_extractor_constructor_loads_nothing() -> None:
    fx = FieldExtractor()
    assert not fx.loaded


# Recall on shapes service-desk tickets use all the time; each weakness has its own examples.
RECALL_CASES: list[tuple[str, str, str, str, Any]] = [
    # (language, text, type, surface text, normalised value or None to skip the value check)
    # Lowercase English names: after cue words, in headers, chat lines, domain\\user, or a first name.
    ("en", "user john smith cannot login to outlook", "person", "john smith", "john smith"),
    ("en", "name: tbvpkjoh wnxzhqoa\nlanguage: english", "person", "tbvpkjoh wnxzhqoa", None),
    ("en", "Name: Tbvpkjoh Wnxzhqoa\nbrowser: chrome", "person", "Tbvpkjoh Wnxzhqoa", None),
    ("en", "caller confirmed, spoke with rajesh kumar about it", "person", "rajesh kumar", None),
    ("en", "from: mary jones <mary.jones@corp.com>", "person", "mary jones", None),
    ("en", "[10:32] anna lee: any update on this?", "person", "anna lee", None),
    ("en", "please ask mr smith to call back", "person", "smith", None),
    ("en", "corp\\john smith is locked out", "person", "john smith", None),
    ("en", "escalated to priya sharma's team", "person", "priya sharma", None),
    # Times alone, times next to dates in either order, times in ranges, seconds kept.
    # A time alone takes the ticket's date (REF) (issue 18: was "T13:40:00").
    ("zh", "系统在13:40开始报错", "datetime", "13:40", "2026-03-04T13:40:00"),
    ("zh", "10：25恢复正常", "datetime", "10：25", "2026-03-04T10:25:00"),
    ("zh", "6月13日05:35-06:00网络中断", "datetime", "6月13日05:35", "2026-06-13T05:35:00"),
    ("zh", "6月13日05:35-06:00网络中断", "datetime", "06:00", "2026-06-13T06:00:00"),
    ("en", "2026-03-05 13:00-14:00 maintenance", "datetime", "14:00", "2026-03-05T14:00:00"),
    (
        "en",
        "job failed on 10/30/2016 00:11:00 again",
        "datetime",
        "10/30/2016 00:11:00",
        "2016-10-30T00:11:00",
    ),
    ("en", "outage from 3.45 am et on 10/31", "datetime", "3.45 am et on 10/31", "2025-10-31T03:45:00"),
    (
        "en",
        "went down at 9:15 UTC on 2026-03-02",
        "datetime",
        "9:15 UTC on 2026-03-02",
        "2026-03-02T09:15:00+00:00",
    ),
    ("zh", "3月24日，15:20出现告警", "datetime", "3月24日，15:20", "2026-03-24T15:20:00"),
    ("zh", "6月8日05:40发现告警", "datetime", "6月8日05:40", "2026-06-08T05:40:00"),
    ("zh", "下午3点20分断网", "datetime", "下午3点20分", "2026-03-04T15:20:00"),
    ("zh", "23日05:35发生故障", "datetime", "23日05:35", "2026-02-23T05:35:00"),
    ("en", "call me back at 3pm", "datetime", "3pm", "2026-03-04T15:00:00"),
    ("en", "logged 31.05.2017 14:20 by the monitor", "datetime", "31.05.2017 14:20", "2017-05-31T14:20:00"),
    ("en", "printer broke on oct 31", "date", "oct 31", "2025-10-31"),
    ("en", "It failed on monday", "date", "monday", "2026-03-02"),
    # Chinese organisations: group abbreviations, places with trades, suffixes.
    ("zh", "国网湖北电力云终端系统无法登录", "organization", "国网湖北电力", None),
    ("zh", "国网信通调度通知运检中心处理", "organization", "国网信通调度", None),
    ("zh", "国网信通调度通知运检中心处理", "organization", "运检中心", None),
    ("zh", "软视频系统故障，请技术保障中心协助", "organization", "技术保障中心", None),
    ("zh", "冀北电力公司和宜昌供电公司都已确认", "organization", "宜昌供电公司", None),
    ("zh", "华北分部反馈链路抖动", "organization", "华北分部", None),
    ("zh", "北京移动和广东电信都有故障", "organization", "北京移动", None),
    ("zh", "北京移动和广东电信都有故障", "organization", "广东电信", None),
    ("zh", "联通专线中断两小时", "organization", "联通", None),
    (
        "zh",
        "国网湖北省电力有限公司信息通信公司发来通知",
        "organization",
        "国网湖北省电力有限公司信息通信公司",
        None,
    ),
    # Region abbreviations are places.
    ("zh", "蒙东地区联通专线中断", "location", "蒙东地区", None),
    # Chinese system names: whole prefix, but no owning organisation or place.
    ("zh", "软视频系统故障，请尽快处理", "system", "软视频系统", None),
    ("zh", "国网湖北电力云终端系统无法登录", "system", "云终端系统", None),
    ("zh", "营销业务应用系统异常", "system", "营销业务应用系统", None),
    ("zh", "公司门户打不开", "system", "门户", None),
    # English identifiers.
    ("en", "hr_tool and job_scheduler are down", "system", "hr_tool", "hr_tool"),
    ("en", "hr_tool and job_scheduler are down", "system", "job_scheduler", "job_scheduler"),
    ("en", "skype keeps crashing", "system", "skype", "Skype"),
    ("en", "computer name: ts04562 is slow", "hostname", "ts04562", "ts04562"),
    ("en", "printer name hr14 is offline", "hostname", "hr14", "hr14"),
    ("en", "server01 rebooted twice", "hostname", "server01", "server01"),
    ("en", "so#5019411580/00001 not delivered", "order_number", "5019411580/00001", "5019411580/00001"),
    ("en", "sto 4500123 is stuck", "order_number", "4500123", "4500123"),
    ("en", "vendor ticket 5512345 opened", "ticket_number", "5512345", "5512345"),
    ("en", "telecom_vendor_2#25191486 was updated", "ticket_number", "25191486", "25191486"),
    ("en", "incident #4711 reopened", "ticket_number", "4711", "4711"),
    ("en", "service tag: 7hx9k2 overheats", "asset_number", "7hx9k2", "7HX9K2"),
    ("zh", "设备序列号：SN20240123的电脑蓝屏", "asset_number", "SN20240123", "SN20240123"),
    # Short hotline and extension numbers; the same number again later is the same line.
    ("zh", "请拨打热线7186反馈", "phone", "7186", "7186"),
    ("zh", "已拨打7186，7186答复稍后处理", "phone", "7186", "7186"),
    ("zh", "拨打95598报修", "phone", "95598", "95598"),
    ("en", "reach me on ext. 4417", "phone", "4417", "4417"),
    # English places in lowercase text.
    ("en", "users in germany and apac cannot connect", "location", "germany", "germany"),
    ("en", "users in germany and apac cannot connect", "location", "apac", "apac"),
]


@pytest.mark.parametrize(("language", "text", "field_type", "surface", "value"), RECALL_CASES)
def test_extract_finds_common_ticket_shapes(
    extractor: FieldExtractor, language: str, text: str, field_type: str, surface: str, value: Any
) -> None:
    fields = extractor.extract(text, language, REF)
    found = _find(fields, field_type, surface)
    if value is not None:
        assert found.value == value
    _assert_spans(text, fields)


def test_extract_finds_both_times_of_a_range_without_a_date(extractor: FieldExtractor) -> None:
    fields = extractor.extract("维护窗口13:00-14:30，期间业务中断", "zh", REF)
    assert _find(fields, "datetime", "13:00").value == "2026-03-04T13:00:00"
    assert _find(fields, "datetime", "14:30").value == "2026-03-04T14:30:00"


def test_extract_keeps_day_of_month_unresolved_without_reference(extractor: FieldExtractor) -> None:
    fields = extractor.extract("23日05:35发生故障", "zh", None)
    found = _find(fields, "datetime", "23日05:35")
    assert (found.value, found.partial) == ("23T05:35:00", True)


# Look-alikes that must stay unmarked: the same rules, read precisely.
PRECISION_CASES: list[tuple[str, str, str]] = [
    # (language, text, type that must not appear)
    ("zh", "日志显示链路中断已恢复", "location"),  # jieba tags 中断 and 日志 as places
    ("zh", "蒙东地区的链路中断", "person"),
    ("en", "user account locked after password reset", "person"),
    ("en", "user requires new laptop asap", "person"),
    ("en", "user facing onboarding issues", "person"),
    ("en", "hello team, thanks for the quick help", "person"),
    ("en", "john.smith@corp.com cannot login", "person"),
    ("en", "error message: access denied", "person"),
    ("zh", "网络联通正常，可以访问", "organization"),
    ("zh", "整体布局和格局都没问题", "organization"),
    ("zh", "数据中心断电，市中心停电", "organization"),
    ("zh", "湖北营销系统升级", "organization"),
    ("en", "resolution 1920x1080 on a call", "phone"),
    ("zh", "提出3点建议", "datetime"),
    ("en", "step 2: 30 users affected", "datetime"),
    ("en", "upgrade to version 1.12 and 2.30", "datetime"),
    ("en", "mac 00:11:22:33:44:55 on port 10.0.0.1:22", "datetime"),
    ("en", "we may 5 users", "date"),
    ("en", "laptop t480 and windows 10", "hostname"),
    ("en", "so 2019 was a bad year", "order_number"),
    ("en", "Nice work on the turkey sandwich", "location"),
]


@pytest.mark.parametrize(("language", "text", "field_type"), PRECISION_CASES)
def test_extract_leaves_look_alikes_unmarked(
    extractor: FieldExtractor, language: str, text: str, field_type: str
) -> None:
    fields = extractor.extract(text, language, REF)
    assert not [(f.type, f.text) for f in fields if f.type == field_type]


def test_extract_keeps_system_name_outside_owning_organisation(extractor: FieldExtractor) -> None:
    text = "国网湖北电力云终端系统无法登录"
    fields = extractor.extract(text, "zh", REF)
    assert [(f.type, f.text) for f in fields if f.type in ("organization", "system")] == [
        ("organization", "国网湖北电力"),
        ("system", "云终端系统"),
    ]


def test_load_lexicon_names_missing_keys(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text("version: 1\nen_common_words: a b\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="lacks en_first_names"):
        _load_lexicon(path)


def test_redact_replaces_pii_with_placeholders(extractor: FieldExtractor) -> None:
    text = f"张经理邮箱zhang@corp.com，手机13812345678，身份证{VALID_ID}，卡号{VALID_CARD}，服务器10.2.3.4。"
    fields = extractor.extract(text, "zh", REF)
    redacted = redact(text, fields)
    assert redacted == "张经理邮箱[EMAIL]，手机[PHONE]，身份证[ID_NUMBER]，卡号[BANK_CARD]，服务器10.2.3.4。"
    assert all(placeholder in redacted for placeholder in PII_PLACEHOLDERS.values())


@pytest.mark.parametrize("fields", [[], [ExtractedField("ipv4", "10.2.3.4", "10.2.3.4", 3, 11)]])
def test_redact_leaves_text_without_pii_unchanged(fields: list[ExtractedField]) -> None:
    assert redact("IP 10.2.3.4 down", fields) == "IP 10.2.3.4 down"


def test_redact_rejects_fields_from_another_text() -> None:
    field = ExtractedField("email", "a@b.com", "a@b.com", 0, 7, pii=True)
    with pytest.raises(ValueError, match="does not match the text"):
        redact("hello world, nothing here", [field])


# Issue 18: fields people expect, times on the ticket's day, partial dates a person can read.
@pytest.mark.parametrize(
    ("text", "field_type", "surface", "value"),
    [
        ("发票号 No.04412345 已开具", "invoice_number", "04412345", "04412345"),
        ("Invoice No. 04412345 is missing", "invoice_number", "04412345", "04412345"),
        (
            "[ERROR] login: AUTH_FAILED code=809 user=jdoe",
            "error_code",
            "AUTH_FAILED code=809",
            "AUTH_FAILED 809",
        ),
        ("token refresh returned TOKEN_EXPIRED", "error_code", "TOKEN_EXPIRED", "TOKEN_EXPIRED"),
        ("sso: error_code=4012", "error_code", "4012", "4012"),
        ("员工编号：E20931", "employee_id", "E20931", "E20931"),
        ("staff no. 004512 needs a badge", "employee_id", "004512", "004512"),
        ("报销单号：BX20261100087", "expense_claim_number", "BX20261100087", "BX20261100087"),
    ],
)
def test_extract_finds_issue_18_fields(
    rules_only: FieldExtractor, text: str, field_type: str, surface: str, value: str
) -> None:
    found = _find(rules_only.extract(text, "mixed", REF), field_type, surface)
    assert found.value == value


def test_extract_types_a_laptop_model_as_a_device_not_a_person(extractor: FieldExtractor) -> None:
    text = "Hi team, my Dell Latitude 7440 shows a black screen since this morning."
    fields = extractor.extract(text, "en", REF)
    assert _find(fields, "device", "Dell Latitude 7440").value == "Dell Latitude 7440"
    assert not [f for f in fields if f.type == "person"]


def test_extract_anchors_a_time_to_the_ticket_day_in_its_zone() -> None:
    created = datetime(2026, 3, 4, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # 04:30 UTC on the 5th
    fields = FieldExtractor(use_ner=False).extract("VPN dropped at 03:12 UTC", "en", created)
    found = _find(fields, "datetime", "03:12 UTC")
    assert (found.value, found.partial) == ("2026-03-05T03:12:00+00:00", False)


def test_extract_anchors_a_time_without_zone_to_the_ticket_day_and_zone() -> None:
    created = datetime(2026, 3, 4, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    fields = FieldExtractor(use_ner=False).extract("14:05 开始无法登录", "zh", created)
    assert _find(fields, "datetime", "14:05").value == "2026-03-04T14:05:00+08:00"


@pytest.mark.parametrize(
    ("text", "field_type", "surface", "value"),
    [
        ("VPN dropped at 03:12 UTC", "datetime", "03:12 UTC", "03:12:00+00:00"),
        ("8月13日 00:00 批处理失败", "datetime", "8月13日 00:00", "08-13T00:00:00"),
        ("printer broke on aug 13", "date", "aug 13", "08-13"),
    ],
)
def test_extract_marks_dates_without_year_or_day_partial(
    rules_only: FieldExtractor, text: str, field_type: str, surface: str, value: str
) -> None:
    found = _find(rules_only.extract(text, "mixed", None), field_type, surface)
    assert (found.value, found.partial) == (value, True)
    assert not found.value.startswith("-")


def test_extract_infers_the_year_of_a_month_and_day_from_the_ticket_date(rules_only: FieldExtractor) -> None:
    found = _find(rules_only.extract("8月13日 00:00 批处理失败", "zh", REF), "datetime", "8月13日 00:00")
    assert (found.value, found.partial) == ("2026-08-13T00:00:00", False)


def test_chinese_fields_share_jiebas_one_dictionary_and_its_posseg_tags() -> None:
    """One jieba dictionary per process (a private tokenizer held a second 74 MiB copy), and the word
    tags read from it are the ones jieba.posseg reads."""
    import jieba
    import jieba.posseg

    from triage.fields.lexicon import shared_models, word_tags

    tokenizer, tags = shared_models("jieba")
    assert tokenizer is jieba.dt
    assert tags == jieba.posseg.POSTokenizer(jieba.dt).word_tag_tab == word_tags(jieba.dt)


def test_extract_many_gives_each_text_what_extract_gives_it_alone(
    extractor: FieldExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch's English NER documents go through spaCy in one ``nlp.pipe`` call (issue 12.2): the
    fields of every text are the same as one text at a time, for English, Chinese and mixed text."""
    from training.sample_data import generate_tickets
    from triage.fields import lexicon
    from triage.language import detect_language

    texts = [f"{t['title']}\n\n{t['body']}" for t in generate_tickets(60, seed=3)]
    texts += [
        "Sarah Collins and Tom Baker from Acme Corp cannot log in to SAP since Monday.",
        "张伟在上海办公室无法连接VPN，请联系 Alice Wong 处理。",
        "",
    ]
    items = [(text, detect_language(text) if text else "en", REF) for text in texts]
    assert {"en", "zh"} <= {language for _, language, _ in items}
    alone = [extractor.extract(text, language, reference_time) for text, language, reference_time in items]
    piped: list[int] = []
    real_many = lexicon.run_spacy_many

    def counting(nlp: Any, documents: Any) -> Any:
        piped.append(len(documents))
        return real_many(nlp, documents)

    monkeypatch.setattr("triage.fields.extractor.run_spacy_many", counting)
    together = extractor.extract_many(items)
    assert together == alone
    assert len(piped) == 1 and piped[0] > 10  # one spaCy call for the batch's documents
    assert any(f.source == "ner" for fields in together for f in fields)
