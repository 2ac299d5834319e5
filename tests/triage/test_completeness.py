"""Department completeness checks and their YAML templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.completeness import BUNDLED_TEMPLATES, DEPARTMENTS, CompletenessChecker, TemplateError
from triage.fields import FieldExtractor
from triage.types import ExtractedField


def _fields(*types: str) -> list[ExtractedField]:
    return [ExtractedField(t, "x", "x", i, i + 1) for i, t in enumerate(types)]


@pytest.fixture(scope="module")
def checker() -> CompletenessChecker:
    c = CompletenessChecker()
    c.load()
    return c


def test_completeness_checker_bundled_templates_cover_every_department(checker: CompletenessChecker) -> None:
    assert set(checker.departments) == set(DEPARTMENTS)


@pytest.mark.parametrize(
    ("department", "types", "language", "missing", "question"),
    [
        ("Finance", (), "zh", ("invoice_number", "amount"), "为尽快处理，请补充：发票号、金额。"),
        (
            "Finance",
            (),
            "en",
            ("invoice_number", "amount"),
            "To help us resolve this quickly, please provide: the invoice number, the amount.",
        ),
        ("Finance", ("amount",), "mixed", ("invoice_number",), "为尽快处理，请补充：发票号。"),
        ("Finance", ("invoice_number", "amount"), "zh", (), None),
        ("IT", ("ipv4",), "zh", ("error_code",), "为尽快处理，请补充：错误码或报错信息。"),
        ("IT", ("system", "error_code"), "en", (), None),
        (
            "IT",
            ("error_code",),
            "en",
            ("host_or_asset",),
            "To help us resolve this quickly, please provide: the affected system, host name/IP address or asset number.",
        ),
        ("Procurement", ("amount",), "zh", (), None),
        (
            "Procurement",
            ("organization",),
            "zh",
            ("po_number_or_amount",),
            "为尽快处理，请补充：采购单号或采购金额。",
        ),
        ("Facilities", (), "mixed", ("location",), "为尽快处理，请补充：具体位置（楼栋、楼层或房间）。"),
        (
            "HR",
            ("date",),
            "other",
            ("person",),
            "To help us resolve this quickly, please provide: the name of the employee concerned.",
        ),
        ("Legal", ("organization",), "en", (), None),
        ("CustomerService", ("ticket_number",), "en", (), None),
        ("Security", ("url", "datetime"), "zh", (), None),
        ("Security", ("email",), "zh", ("when",), "为尽快处理，请补充：发生时间。"),
    ],
)
def test_completeness_checker_reports_missing_fields_and_question(
    checker: CompletenessChecker,
    department: str,
    types: tuple[str, ...],
    language: str,
    missing: tuple[str, ...],
    question: str | None,
) -> None:
    result = checker.check(department, _fields(*types), language)
    assert result.department == department
    assert result.missing == missing
    assert result.question == question
    assert result.complete is (not missing)


def test_completeness_gives_the_question_and_requirement_names_in_both_languages(
    checker: CompletenessChecker,
) -> None:
    result = checker.check("Finance", _fields("amount"), "en")
    assert result.question == result.questions["en"]
    assert result.questions == {
        "zh": "为尽快处理，请补充：发票号。",
        "en": "To help us resolve this quickly, please provide: the invoice number.",
    }
    assert result.labels["zh"]["invoice_number"] == "发票号" and result.labels["en"]["amount"] == "the amount"
    assert set(result.labels["en"]) == {*result.missing, *result.present}
    assert checker.check("Finance", _fields("invoice_number", "amount"), "zh").questions == {}


def test_completeness_checker_lists_present_required_and_optional(checker: CompletenessChecker) -> None:
    result = checker.check("IT", _fields("hostname", "version", "email"), "en")
    assert result.present == ("host_or_asset", "version", "contact")
    assert result.missing == ("error_code",)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_completeness_checker_unknown_department_needs_nothing(
    checker: CompletenessChecker, language: str
) -> None:
    result = checker.check("Marketing", _fields("email"), language)
    assert result.missing == ()
    assert result.question is None
    assert result.complete


def test_completeness_checker_from_extracted_chinese_ticket() -> None:
    extractor = FieldExtractor(use_ner=False)
    text = "报销单金额不对：发票号码：12345678，金额￥12,800，请财务核对。"
    fields = extractor.extract(text, "zh")
    result = CompletenessChecker().check("Finance", fields, "zh")
    assert result.complete
    assert result.present[:2] == ("invoice_number", "amount")


def test_completeness_checker_accepts_custom_mapping() -> None:
    templates = {
        "requirements": {"email": {"zh": "邮箱", "en": "your email address"}},
        "departments": {"Payroll": {"required": ["email"]}},
    }
    checker = CompletenessChecker(templates)
    result = checker.check("Payroll", [], "en")
    assert result.question == "To help us resolve this quickly, please provide: your email address."
    assert checker.check("Finance", [], "en").complete  # the bundled file is not consulted


def test_completeness_checker_from_yaml_reads_file(tmp_path: Path) -> None:
    path = tmp_path / "templates.yaml"
    path.write_text(
        "requirements:\n"
        "  when: {any_of: [date, datetime], zh: 发生时间, en: when it happened}\n"
        "departments:\n"
        "  Security: {required: [when]}\n",
        encoding="utf-8",
    )
    checker = CompletenessChecker.from_yaml(path)
    assert checker.departments == ("Security",)
    assert checker.check("Security", _fields("datetime"), "zh").complete


def test_completeness_checker_from_yaml_bundled_file_is_valid() -> None:
    assert set(CompletenessChecker.from_yaml(BUNDLED_TEMPLATES).departments) == set(DEPARTMENTS)


def test_completeness_checker_from_yaml_names_file_on_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("departments:\n  IT: {required: [error_code\n", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"broken\.yaml: invalid YAML at line 3, column 1"):
        CompletenessChecker.from_yaml(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "requirements: {}\ndepartments:\n  IT: {required: [host_or_assets]}\n",
            r"departments\.IT\.required: unknown requirement 'host_or_assets'",
        ),
        (
            "requirements:\n  x: {any_of: [hostnames], zh: 主机, en: the host}\ndepartments: {}\n",
            r"requirements\.x\.any_of: unknown field type 'hostnames'",
        ),
        (
            "requirements:\n  amount: {zh: 金额}\ndepartments: {}\n",
            r"requirements\.amount\.en: missing display name",
        ),
        (
            "requirements: {}\ndepartments:\n  IT: {needed: []}\n",
            r"departments\.IT: unknown key\(s\) 'needed'",
        ),
        ("- just\n- a list\n", "expected a mapping"),
        ("requirements: {}\ndepartments: {}\nteams: {}\n", r"unknown top-level key\(s\) 'teams'"),
    ],
)
def test_completeness_checker_from_yaml_names_bad_key(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TemplateError, match=message) as excinfo:
        CompletenessChecker.from_yaml(path)
    assert str(path) in str(excinfo.value)


def test_completeness_checker_from_yaml_reports_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read"):
        CompletenessChecker.from_yaml(tmp_path / "absent.yaml")


def test_completeness_checker_rejects_invalid_mapping_at_construction() -> None:
    with pytest.raises(
        TemplateError, match=r"templates: departments\.HR\.required: unknown requirement 'person'"
    ):
        CompletenessChecker({"requirements": {}, "departments": {"HR": {"required": ["person"]}}})


# Issue 18: templates per ticket category; never ask for what the ticket's type does not need.
@pytest.mark.parametrize(
    ("department", "category", "types", "missing"),
    [
        ("IT", "account_access", (), ("account",)),
        ("IT", "account_access", ("employee_id",), ()),
        ("HR", "onboarding", ("person",), ("when",)),
        ("Facilities", "maintenance", (), ("location",)),
        ("IT", "database", ("ipv4",), ("error_code",)),
        ("Finance", "reimbursement", ("expense_claim_number",), ()),
    ],
)
def test_completeness_checker_asks_what_the_category_needs(
    checker: CompletenessChecker,
    department: str,
    category: str,
    types: tuple[str, ...],
    missing: tuple[str, ...],
) -> None:
    result = checker.check(department, _fields(*types), "en", category=category)
    assert result.missing == missing
    for never in ("host_or_asset", "error_code"):
        if category in ("account_access", "onboarding", "maintenance"):
            assert never not in result.missing


def test_completeness_checker_asks_only_shared_needs_when_the_category_is_uncertain(
    checker: CompletenessChecker,
) -> None:
    # A password reset the model is unsure about: IT's host and error code are not needed by every
    # IT category, so nothing is asked rather than something the ticket may not need.
    result = checker.check("IT", [], "en", category="account_access", category_abstained=True)
    assert result.missing == () and result.question is None
    assert checker.check("IT", [], "en", category="not-a-category").missing == ()
    # Without a category the department template applies as written.
    assert checker.check("IT", [], "en").missing == ("host_or_asset", "error_code")


def test_completeness_checker_bundled_categories_cover_the_demo_categories(
    checker: CompletenessChecker,
) -> None:
    from training.sample_data import CATEGORIES

    assert {d: set(c) for d, c in checker.categories.items()} == {d: set(c) for d, c in CATEGORIES.items()}


def test_completeness_checker_rejects_categories_of_an_unknown_department(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "requirements: {location: {zh: 位置, en: the location}}\n"
        "departments: {Facilities: {required: [location]}}\n"
        "categories: {Security: {cctv: {required: [location]}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(TemplateError, match=r"categories\.Security: department 'Security' has no template"):
        CompletenessChecker.from_yaml(path)


@pytest.mark.parametrize(
    ("department", "category", "text"),
    [
        (
            "IT",
            "network",
            "VPN keeps dropping.\n2026-03-04 03:12:07 vpn-gw-01 AUTH_FAILED code=809 user=jdoe",
        ),
        ("IT", "account_access", "Please reset my password, Employee ID A10234. Locked out since 03:12 UTC."),
        ("HR", "onboarding", "New joiner 陈晓东 starts on 2026-03-09, please prepare the accounts."),
        ("Finance", "reimbursement", "报销单 BX-2026-11-0087 一直没有审批，请帮忙看看。"),
    ],
)
def test_completeness_asks_nothing_more_of_tickets_that_say_what_their_type_needs(
    department: str, category: str, text: str
) -> None:
    extractor = FieldExtractor(use_ner=False)
    fields = extractor.extract(text, "mixed")
    result = CompletenessChecker().check(department, fields, "en", category=category)
    assert result.complete, (result.missing, [(f.type, f.text) for f in fields])
