"""Person names as PII, and the redaction the service applies before it stores anything."""

from __future__ import annotations

import pytest

from triage.fields import FieldExtractor
from triage.pii import PiiRedactor, bank_cards, is_person_name, pseudonym, redact_spans, resident_ids
from triage.types import ExtractedField

# A Chinese resident ID with a valid check digit and a bank card that passes Luhn.
ID_NUMBER = "440306198503151234"
BANK_CARD = "6228480012345671"


@pytest.fixture(scope="module")
def redactor() -> PiiRedactor:
    extractor = FieldExtractor()
    extractor.load()
    return PiiRedactor(extractor)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Contact John Smith at the front desk about the VPN.", "John Smith"),
        ("Please ask Sarah Connor from HR to approve the laptop.", "Sarah Connor"),
        ("user john smith cannot log in to Outlook", "john smith"),
        ("Dear Mr. Okonkwo, your ticket is closed.", "Okonkwo"),
        ("VPN for Margaret Quillfeather", "Margaret Quillfeather"),  # a census first name
        ("联系人：张伟，VPN 连不上", "张伟"),
        ("我是李娜，申请开通 VPN 权限", "李娜"),
        ("申请人：欧阳娜娜 需要开通邮箱", "欧阳娜娜"),
        ("打印机卡纸，王经理已批准更换", "王经理"),
    ],
)
def test_redactor_replaces_person_names(redactor: PiiRedactor, text: str, name: str) -> None:
    redacted = redactor.text(text)
    assert name not in redacted
    assert "[NAME]" in redacted


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("My Dell Latitude 7440 will not boot after the BIOS update.", "Dell Latitude 7440"),
        ("The Lenovo ThinkPad X1 and HP EliteBook 840 both lose Wi-Fi.", "ThinkPad X1"),
        ("Open the Tools menu, then Related Help appears in Safari.", "Related Help"),
        ("Open the Navigator Page Info dialog.", "Page Info"),  # Page is a first name too
        ("数据库连接池满，业务高峰时段无法访问", "连接池"),
        ("cpu负载较高，造成总线数据堵塞", "造成总线"),
    ],
)
def test_redactor_keeps_products_and_words(redactor: PiiRedactor, text: str, kept: str) -> None:
    redacted = redactor.text(text)
    assert kept in redacted
    assert "[NAME]" not in redacted


def test_redactor_replaces_contacts_ids_and_cards(redactor: PiiRedactor) -> None:
    text = f"联系人：张伟，电话13812345678，身份证号{ID_NUMBER}，银行卡{BANK_CARD}，邮箱zhang.wei@example.cn"
    assert (
        redactor.text(text)
        == "联系人：[NAME]，电话[PHONE]，身份证号[ID_NUMBER]，银行卡[BANK_CARD]，邮箱[EMAIL]"
    )


def test_redactor_cleans_metadata_values_at_any_depth(redactor: PiiRedactor) -> None:
    metadata = {
        "card": int(BANK_CARD),  # a card sent as a JSON number
        "reporter": ["Contact John Smith <john.smith@example.com>"],
        "nested": {"phone": "13812345678"},
        "count": 3,
        "urgent": True,
    }
    cleaned = redactor.value(metadata)
    assert cleaned == {
        "card": "[BANK_CARD]",
        "reporter": ["Contact [NAME] <[EMAIL]>"],
        "nested": {"phone": "[PHONE]"},
        "count": 3,
        "urgent": True,
    }


def test_is_person_name_rejects_a_model_number_after_the_span() -> None:
    text = "Contact Nova Prime 700 support"
    field = ExtractedField("person", "Nova Prime", None, 8, 18, "rule")
    assert not is_person_name(field, text)
    assert is_person_name(field, "Contact Nova Prime today")


def test_redact_spans_refuses_fields_of_another_text() -> None:
    field = ExtractedField("email", "a@b.cn", "a@b.cn", 0, 6, pii=True)
    with pytest.raises(ValueError, match="does not match the text"):
        redact_spans("nothing here", [field])


def test_pseudonym_is_stable_per_tenant_and_hides_the_name() -> None:
    first = pseudonym("acme", "Li Lei")
    assert first == pseudonym("acme", " li lei ")
    assert first != pseudonym("other", "Li Lei")
    assert "Li" not in first and first.startswith("agent-")


def test_redactor_finds_english_names_in_a_mostly_chinese_text(redactor: PiiRedactor) -> None:
    text = "联系人：欧阳娜娜，电话13912345678，VPN 报错 809。Contact Margaret Thornton at the front desk."
    redacted = redactor.text(text)
    assert "Margaret Thornton" not in redacted and "欧阳娜娜" not in redacted
    assert redacted.count("[NAME]") == 2


def test_resident_ids_need_check_digit_and_date_not_a_known_county() -> None:
    found = resident_ids(f"ID {ID_NUMBER}, 11010519491231002x and 440306198513151234 (month 13)")
    assert [f.text for f in found] == [ID_NUMBER, "11010519491231002x"]
    assert all(f.pii and f.type == "id_number" for f in found)
    assert resident_ids("440306198503151235") == []  # wrong check digit


def test_bank_cards_need_luhn_and_a_card_scheme() -> None:
    text = (
        f"报销打到银行卡{BANK_CARD}，card 4367 4200 1234 5673; order 1234567890123452; ref 6228480012345672"
    )
    assert [f.value for f in bank_cards(text)] == [BANK_CARD, "4367420012345673"]


def test_redactor_replaces_a_card_and_an_id_the_extractor_does_not_flag(redactor: PiiRedactor) -> None:
    text = f"身份证号{ID_NUMBER}，报销打到银行卡{BANK_CARD}，谢谢"
    assert redactor.text(text) == "身份证号[ID_NUMBER]，报销打到银行卡[BANK_CARD]，谢谢"
