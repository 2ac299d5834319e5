from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from triage.rules import BUNDLED_RULES, RuleEngine, RuleError
from triage.types import Alternative, ExtractedField, Prediction, Ticket


def _predictions(department: str = "IT", priority: str | None = "P3") -> dict[str, Prediction]:
    out = {
        "department": Prediction(
            department,
            0.8,
            (Alternative(department, 0.8), Alternative("HR", 0.15), Alternative("Finance", 0.05)),
            reason=f"department '{department}' with confidence 0.80",
        )
    }
    if priority is not None:
        out["priority"] = Prediction(
            priority, 0.7, (Alternative(priority, 0.7),), reason=f"priority '{priority}'"
        )
    return out


def _ticket(title: str, body: str = "", **kwargs: Any) -> Ticket:
    return Ticket(title=title, body=body, requester=kwargs.pop("requester", "someone@example.com"), **kwargs)


@pytest.fixture(scope="module")
def engine() -> RuleEngine:
    engine = RuleEngine.default()
    engine.load()
    return engine


def _engine(rules: list[dict[str, Any]], **top: Any) -> RuleEngine:
    return RuleEngine(data={"version": 1, "rules": rules, **top})


def test_default_rules_load_and_cover_escalation(engine: RuleEngine) -> None:
    names = set(engine.names)
    assert {"vip-outage", "urgent-wording", "many-users", "production-outage", "repeat-contact"} <= names
    assert engine.ruleset.priorities == ("P1", "P2", "P3", "P4")


def test_rules_vip_outage_raises_priority_and_explains(engine: RuleEngine) -> None:
    ticket = _ticket("VPN outage", "The VPN is down since 9am", requester="CEO@example.com")
    result = engine.apply(ticket, [], _predictions(), "en")
    priority = result["priority"]
    assert priority.value == "P1" and priority.confidence == 1.0 and not priority.abstained
    assert priority.rules == ("rule 'vip-outage' raised priority from P3 to P1",)
    assert "rule 'vip-outage' raised priority from P3 to P1" in priority.reason
    assert "vip_requesters" in priority.reason and "'outage'" in priority.reason
    assert "model said priority 'P3'" in priority.reason
    assert result["department"] == _predictions()["department"]


@pytest.mark.parametrize(
    ("title", "body", "language"),
    [
        ("打印机坏了", "麻烦尽快处理", "zh"),
        ("邮箱无法收信", "紧急，请马上看一下", "zh"),
        ("Printer jam", "please fix asap", "en"),
        ("Laptop slow", "This is URGENT", "en"),
    ],
)
def test_rules_urgent_wording_raises_one_level(
    engine: RuleEngine, title: str, body: str, language: str
) -> None:
    result = engine.apply(_ticket(title, body), [], _predictions(priority="P3"), language)
    assert result["priority"].value == "P2"
    assert result["priority"].rules == ("rule 'urgent-wording' raised priority from P3 to P2",)


def test_rules_urgent_wording_stops_at_p2(engine: RuleEngine) -> None:
    result = engine.apply(_ticket("Printer jam", "asap"), [], _predictions(priority="P2"), "en")
    assert result["priority"].value == "P2" and result["priority"].rules == ()


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("系统宕机", "全部用户都无法登录"),
        ("Mail outage", "mail is down for everyone on the floor"),
        ("CRM unavailable", "about 40 users cannot log in"),
        ("生产环境数据库宕机", "请处理"),
    ],
)
def test_rules_outages_for_many_users_or_production_go_to_p1(
    engine: RuleEngine, title: str, body: str
) -> None:
    result = engine.apply(_ticket(title, body), [], _predictions(priority="P4"), "zh")
    assert result["priority"].value == "P1", result["priority"].reason


def test_rules_production_with_error_code_field(engine: RuleEngine) -> None:
    fields = [ExtractedField("error_code", "ORA-00600", "ORA-00600", 0, 9)]
    ticket = _ticket("production database", "ORA-00600 in the nightly batch")
    assert engine.apply(ticket, fields, _predictions(), "en")["priority"].value == "P1"
    assert engine.apply(ticket, [], _predictions(), "en")["priority"].value == "P2"


def test_rules_repeat_contact_reads_metadata(engine: RuleEngine) -> None:
    quiet = _ticket("Password reset", "still waiting")
    assert engine.apply(quiet, [], _predictions(), "en")["priority"].value == "P3"
    chased = _ticket("Password reset", "still waiting", metadata={"repeat_count": 2})
    result = engine.apply(chased, [], _predictions(), "en")["priority"]
    assert result.value == "P2" and "repeat_count 2" in result.reason
    many = _ticket("Password reset", "still waiting", metadata={"repeat_count": "5"})
    assert engine.apply(many, [], _predictions(priority="P4"), "en")["priority"].value == "P2"


def test_rules_latin_keywords_match_whole_words() -> None:
    engine = _engine(
        [{"name": "down", "when": {"keywords": ["down"]}, "then": {"priority": {"raise_to": "P1"}}}]
    )
    assert engine.apply(_ticket("Download failed"), [], _predictions(), "en")["priority"].value == "P3"
    assert engine.apply(_ticket("Server down"), [], _predictions(), "en")["priority"].value == "P1"


def test_rules_security_breach_sets_department_and_priority(engine: RuleEngine) -> None:
    result = engine.apply(_ticket("疑似数据泄露", "客户资料外泄"), [], _predictions(), "zh")
    assert result["department"].value == "Security" and result["department"].confidence == 1.0
    assert result["department"].rules == ("rule 'security-breach' set department to Security",)
    assert result["department"].alternatives[0] == Alternative("Security", 1.0)
    assert result["priority"].value == "P1"


def test_rules_boost_can_flip_a_close_call() -> None:
    rule = {
        "name": "hr-words",
        "when": {"keywords": ["payslip"]},
        "then": {"department": {"boost": "HR", "by": 0.7}},
    }
    result = _engine([rule]).apply(_ticket("payslip missing"), [], _predictions(), "en")["department"]
    assert result.value == "HR" and not result.abstained
    assert result.rules == ("rule 'hr-words' boosted department 'HR' by 0.7: IT -> HR",)
    assert abs(sum(a.confidence for a in result.alternatives) - 1.0) < 0.01


def test_rules_raise_without_priority_head_starts_from_default() -> None:
    rule = {"name": "urgent", "when": {"keywords": ["urgent"]}, "then": {"priority": {"raise": 1}}}
    engine = _engine([rule], default_priority="P3")
    result = engine.apply(_ticket("urgent"), [], _predictions(priority=None), "en")
    assert result["priority"].value == "P2" and result["priority"].rules


def test_rules_combinators_language_channel_and_predicted() -> None:
    rule = {
        "name": "zh-phone-it",
        "when": {
            "language": ["zh", "mixed"],
            "channel": ["phone"],
            "predicted": {"department": ["IT"]},
            "not": {"keywords": ["测试"]},
            "any": [{"keywords": ["网络"]}, {"regex": [r"vpn\s*\d+"]}],
        },
        "then": {"category": {"set": "network"}},
    }
    engine = _engine([rule])
    hit = _ticket("网络不通", "", channel="phone")
    assert engine.apply(hit, [], _predictions(), "zh")["category"].value == "network"
    for ticket, language, predictions in (
        (_ticket("网络不通", "", channel="email"), "zh", _predictions()),
        (_ticket("网络不通", "", channel="phone"), "en", _predictions()),
        (_ticket("网络不通 测试", "", channel="phone"), "zh", _predictions()),
        (_ticket("网络不通", "", channel="phone"), "zh", _predictions(department="HR")),
    ):
        assert "category" not in engine.apply(ticket, [], predictions, language)


def test_rules_stop_ends_the_run() -> None:
    rules = [
        {"name": "first", "when": {"keywords": ["x"]}, "then": {"priority": {"set": "P2"}}, "stop": True},
        {"name": "second", "when": {"keywords": ["x"]}, "then": {"priority": {"set": "P1"}}},
    ]
    assert _engine(rules).apply(_ticket("x"), [], _predictions(), "en")["priority"].value == "P2"


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            [{"name": "a", "when": {"keyword": ["x"]}, "then": {"priority": "P1"}}],
            r"unknown key\(s\) 'keyword'; known: keywords",
        ),
        (
            [{"name": "a", "when": {"keywords": ["@nope"]}, "then": {"priority": "P1"}}],
            r"unknown list '@nope'",
        ),
        (
            [{"name": "a", "when": {"regex": ["("]}, "then": {"priority": "P1"}}],
            r"invalid regular expression",
        ),
        (
            [{"name": "a", "when": {"keywords": ["x"]}, "then": {"department": {"raise": 1}}}],
            r"priority only",
        ),
        (
            [{"name": "a", "when": {"keywords": ["x"]}, "then": {"priority": {"raise_to": "P0"}}}],
            r"'P0' is not in priorities",
        ),
        (
            [{"name": "a", "when": {"fields": ["telepathy"]}, "then": {"priority": "P1"}}],
            r"unknown field type",
        ),
        ([{"name": "a", "when": {"language": ["fr"]}, "then": {"priority": "P1"}}], r"unknown language"),
        ([{"when": {"keywords": ["x"]}, "then": {"priority": "P1"}}], r"needs a name"),
        ([{"name": "a", "when": {"keywords": ["x"]}, "then": {"owner": "P1"}}], r"unknown key\(s\) 'owner'"),
        (
            [
                {"name": "a", "when": {"keywords": ["x"]}, "then": {"priority": "P1"}},
                {"name": "a", "when": {"keywords": ["y"]}, "then": {"priority": "P2"}},
            ],
            r"duplicate rule name",
        ),
    ],
)
def test_rules_reject_bad_files_with_the_fix(rules: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        _engine(rules)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "rules:\n  - name: r\n    when: {keywords: [vpn}\n",
            r"invalid YAML at line 3, column 26: expected ',' or '\]', but got '}'",
        ),
        ("- name: r\n", r"expected a mapping with 'rules' at the top level, found a list"),
    ],
)
def test_rule_engine_names_file_and_problem_in_bad_yaml(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RuleError, match=message) as excinfo:
        RuleEngine.from_yaml(path).load()
    assert str(excinfo.value).startswith(f"{path}: ")


def test_rule_engine_reads_yaml_on_load_only(tmp_path: Path) -> None:
    missing = RuleEngine.from_yaml(tmp_path / "absent.yaml")  # no I/O yet
    with pytest.raises(RuleError, match="cannot read the rule file"):
        missing.load()
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - name: r\n    when: {keywords: [vpn]}\n    then: {priority: {raise_to: P1}}\n"
    )
    engine = RuleEngine.from_yaml(path)
    engine.load()
    engine.load()
    assert engine.names == ("r",)
    assert BUNDLED_RULES.name == "rules.yaml" and BUNDLED_RULES.exists()


@pytest.mark.parametrize("pattern", [r"(?<!x)(\d+\s*)+\s*$", r"(?=.)(a|aa)+$"])
def test_rules_refuse_super_linear_regexes_naming_the_rule(pattern: str) -> None:
    with pytest.raises(RuleError, match=r"rule 'slow'\.when\.regex.*backtracks"):
        _engine([{"name": "slow", "when": {"regex": [pattern]}, "then": {"priority": "P1"}}])


def test_rules_bundled_regexes_are_linear_on_long_digit_runs(engine: RuleEngine) -> None:
    # The many-users pattern \d{2,}\s*(个|名|位)?(用户|人|同事) was quadratic on a run of digits.
    predictions = engine.apply(_ticket("1" * 20_000, "9" * 20_000), [], _predictions(), "zh")
    assert predictions["priority"].value == "P3"
    assert engine.apply(_ticket("３０个用户无法登录"), [], _predictions(), "zh")["priority"].value in (
        "P1",
        "P2",
    )


def test_rules_latin_keywords_stand_beside_chinese() -> None:
    engine = _engine(
        [{"name": "down", "when": {"keywords": ["vpn"]}, "then": {"priority": {"raise_to": "P1"}}}]
    )
    assert engine.apply(_ticket("VPN连不上"), [], _predictions(), "zh")["priority"].value == "P1"
    assert engine.apply(_ticket("myvpnx 连不上"), [], _predictions(), "zh")["priority"].value == "P3"


@pytest.mark.parametrize(
    "text",
    [
        "Not urgent: printer toner is low",
        "non-urgent - update my desk phone label",
        "This isn't really urgent, the projector remote is missing",
        "It is not an emergency, just a flickering light",
        "No rush, whenever you have time",
        "不急，打印机缺墨了",
        "不紧急，有空帮忙看下",
        "这个不是很紧急，工位灯不亮",
        "不用马上处理，下周前就行",
        "无需立即处理",
    ],
)
def test_rules_negated_urgency_does_not_raise_priority(engine: RuleEngine, text: str) -> None:
    result = engine.apply(_ticket("", text), [], _predictions(), "en")
    assert result["priority"].value == "P3" and result["priority"].rules == ()


@pytest.mark.parametrize(
    "text",
    [
        "Printer low on toner\n\nBest regards\nJohn Smith\nFor urgent matters call +1 555 0100",
        "打印机缺纸\n谢谢\n王伟\n紧急事项请致电 8888",
        '> URGENT: server down\nThanks, it works again now; just close the "urgent" ticket please',
        'The ticket tool marks everything "urgent", can we remove that flag?',
        "如有紧急情况请拨打 8888。会议室投影仪遥控器不见了",
        "If urgent I will call, otherwise please look at the toner next week",
    ],
)
def test_rules_urgency_about_something_else_does_not_raise_priority(engine: RuleEngine, text: str) -> None:
    result = engine.apply(_ticket("", text), [], _predictions(), "en")
    assert result["priority"].value == "P3", result["priority"].rules


@pytest.mark.parametrize(
    "text",
    [
        "VPN not working, urgent!",
        "VPN not working urgent please",
        "紧急！VPN 连不上",
        "打印机坏了，非常紧急",
        "Please fix ASAP, payroll run at 5pm",
        "I need urgent help with the VPN",
    ],
)
def test_rules_affirmed_urgency_still_raises_priority(engine: RuleEngine, text: str) -> None:
    result = engine.apply(_ticket("", text), [], _predictions(), "en")
    assert result["priority"].value == "P2"
    assert result["priority"].rules == ("rule 'urgent-wording' raised priority from P3 to P2",)


def test_rules_never_set_a_label_the_model_does_not_know(
    engine: RuleEngine, caplog: pytest.LogCaptureFixture
) -> None:
    ticket = _ticket("Ransomware", "Ransomware encrypted the file share, data breach likely")
    labels = {"department": ["Finance", "HR", "IT"], "priority": ["P1", "P2", "P3", "P4"]}
    with caplog.at_level("WARNING", logger="triage.rules"):
        result = engine.apply(ticket, [], _predictions(), "en", labels=labels)
    assert result["department"] == _predictions()["department"]  # not Security at confidence 1.0
    assert result["priority"].value == "P1"  # the priority the model knows still rises
    assert (
        "rule 'security-breach' skipped: it sets department 'Security', a label the model does not know"
        in (caplog.text)
    )
    # With the label known, the same rule decides the department.
    known = engine.apply(ticket, [], _predictions(), "en", labels=labels | {"department": ["IT", "Security"]})
    assert known["department"].value == "Security" and known["department"].confidence == 1.0


def test_rules_may_set_labels_the_rule_file_declares() -> None:
    rules = [{"name": "legal", "when": {"keywords": ["subpoena"]}, "then": {"department": {"set": "Legal"}}}]
    labels = {"department": ["IT", "HR"]}
    ticket = _ticket("Subpoena received")
    assert _engine(rules).apply(ticket, [], _predictions(), "en", labels=labels)["department"].value == "IT"
    declared = _engine(rules, labels={"department": ["Legal"]})
    assert declared.apply(ticket, [], _predictions(), "en", labels=labels)["department"].value == "Legal"
    with pytest.raises(RuleError, match="labels: unknown key"):
        _engine(rules, labels={"team": ["Legal"]})


def test_rules_raise_only_along_priorities_the_model_knows() -> None:
    rules = [{"name": "urgent", "when": {"keywords": ["urgent"]}, "then": {"priority": {"raise": 1}}}]
    labels = {"priority": ["High", "Low"]}
    predictions = _predictions(priority="Low")
    result = _engine(rules).apply(_ticket("urgent"), [], predictions, "en", labels=labels)
    assert result["priority"] == predictions["priority"]
