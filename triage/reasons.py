"""Why a prediction came out as it did, as data: a stable code and its parameters.

Every reason the router and the business rules give is a ``Reason``; ``english`` writes the list
as the one-line ``Prediction.reason`` the API has always returned, and a client (the console)
renders the same codes in the reader's language from its message catalogue. A new code needs an
English template here and an entry in each catalogue (``serving/static/i18n/*.json``, key
``reason.<code>``); ``tests/triage/test_reasons.py`` checks both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reason:
    """One part of an explanation: ``code`` names the sentence, ``params`` fill it (JSON values).

    ``because`` (rules only) holds the conditions that made the rule fire, as reasons themselves.
    """

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    because: tuple[Reason, ...] = ()

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "params": dict(self.params)}
        if self.because:
            out["because"] = [b.as_json() for b in self.because]
        return out


def _quoted(items: Sequence[str]) -> str:
    return ", ".join(f"'{item}'" for item in items)


def _raised(p: Mapping[str, Any]) -> str:
    source = f"from {p['from']} " if p.get("from") is not None else ""
    return f"rule '{p['rule']}' raised {p['head']} {source}to {p['value']}"


def _boosted(p: Mapping[str, Any]) -> str:
    text = f"rule '{p['rule']}' boosted {p['head']} '{p['boost']}' by {p['by']:g}"
    return text if p.get("from") is None else f"{text}: {p['from']} -> {p['value']}"


# code -> English sentence from the params (the text of ``Prediction.reason``).
ENGLISH: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "predicted": lambda p: f"{p['head']} '{p['value']}' with confidence {p['confidence']:.2f}",
    "below_threshold": lambda p: (
        f"confidence {p['confidence']:.2f} is below the {p['threshold']:.2f} needed for {p['head']} "
        f"'{p['value']}' at the target precision: needs a human"
    ),
    "words": lambda p: "words: " + _quoted(p["words"]),
    "like_examples": lambda p: "like " + ", ".join(p["examples"]),
    "untrained_language": lambda p: (
        f"the ticket is written in language '{p['language']}', which this model was not trained on "
        f"(it knows {', '.join(p['known'])}): needs a human; the model would say {p['head']} "
        f"'{p['value']}' at confidence {p['confidence']:.2f}"
    ),
    "model_said": lambda p: f"model said {p['head']} '{p['value']}' ({p['confidence']:.2f})",
    "rule_set": lambda p: f"rule '{p['rule']}' set {p['head']} to {p['value']}",
    "rule_raised": _raised,
    "rule_boosted": _boosted,
    # Conditions that made a rule fire (a rule reason's ``because``).
    "if_words": lambda p: "words " + _quoted(p["words"]),
    "if_text": lambda p: f"text matches '{p['text']}'",
    "if_language": lambda p: f"language {p['language']}",
    "if_on_list": lambda p: f"{p['field']} on list {p['list']}",
    "if_requester": lambda p: "requester listed in the rule",
    "if_channel": lambda p: f"channel '{p['channel']}'",
    "if_fields": lambda p: f"fields {', '.join(p['fields'])}",
    "if_value": lambda p: f"{p['name']} {p['value']}",
    "if_always": lambda p: "always",
}


def english_one(reason: Reason) -> str:
    """One reason in English (a rule's with its conditions in parentheses)."""
    text = ENGLISH[reason.code](reason.params)
    if reason.because:
        text += " (" + "; ".join(english_one(b) for b in reason.because) + ")"
    return text


def english(reasons: Sequence[Reason]) -> str:
    """The reasons as one English line, parts joined by '; '."""
    return "; ".join(english_one(r) for r in reasons)
