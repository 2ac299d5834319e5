from __future__ import annotations

import json
from pathlib import Path

import pytest

from triage.reasons import ENGLISH, Reason, english
from triage.rules import RuleEngine
from triage.types import Alternative, Prediction, Ticket

CATALOGUES = Path(__file__).resolve().parents[2] / "serving" / "static" / "i18n"


def test_english_writes_the_reasons_as_the_one_line_reason() -> None:
    reasons = [
        Reason(
            "below_threshold", {"head": "department", "value": "IT", "confidence": 0.41, "threshold": 0.6}
        ),
        Reason("words", {"words": ["vpn", "连接"]}),
        Reason("like_examples", {"examples": ["DEMO-1", "DEMO-2"]}),
    ]
    assert english(reasons) == (
        "confidence 0.41 is below the 0.60 needed for department 'IT' at the target precision: needs a human; "
        "words: 'vpn', '连接'; like DEMO-1, DEMO-2"
    )


def test_rule_reasons_carry_their_conditions_as_data() -> None:
    engine = RuleEngine(
        data={
            "version": 1,
            "rules": [
                {
                    "name": "outage",
                    "when": {"keywords": ["outage"], "channel": ["phone"]},
                    "then": {"priority": "P1"},
                }
            ],
        }
    )
    engine.load()
    predicted = Prediction(
        "P3",
        0.7,
        (Alternative("P3", 0.7),),
        reasons=(Reason("predicted", {"head": "priority", "value": "P3", "confidence": 0.7}),),
    )
    out = engine.apply(
        Ticket(title="Outage", body="total outage", channel="phone"), [], {"priority": predicted}, "en"
    )
    priority = out["priority"]
    assert [r.code for r in priority.reasons] == ["model_said", "rule_set"]
    rule = priority.reasons[1].as_json()
    assert rule["params"] == {"rule": "outage", "head": "priority", "value": "P1"}
    assert rule["because"] == [
        {"code": "if_words", "params": {"words": ["outage"]}},
        {"code": "if_channel", "params": {"channel": "phone"}},
    ]
    assert priority.reason == english(priority.reasons)
    assert (
        priority.reason
        == "model said priority 'P3' (0.70); rule 'outage' set priority to P1 (words 'outage'; channel 'phone')"
    )
    json.dumps([r.as_json() for r in priority.reasons])  # JSON-ready


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_reason_code_has_a_message_in_each_catalogue(lang: str) -> None:
    catalogue = json.loads((CATALOGUES / f"{lang}.json").read_text(encoding="utf-8"))
    missing = sorted(code for code in ENGLISH if f"reason.{code}" not in catalogue)
    assert not missing, f"{lang}.json lacks reason.<code> for {missing}"
