"""Business rules: YAML conditions on a ticket that set or boost its department, category or priority.

Rules run after the models, in file order, and every change is explained: the prediction's
``rules`` gets a line such as ``rule 'vip-outage' raised priority from P3 to P1`` and its
``reason`` says why (which words, requester, fields or metadata matched). The bundled file
``triage/resources/rules.yaml`` escalates priority on urgent wording (Chinese and English), many
affected users, production systems, VIP requesters and repeated contact; its comments document the
format. In short::

    version: 1
    priorities: [P1, P2, P3, P4]          # most urgent first; "raise" moves towards the front
    default_priority: P3                  # base for raises when the bundle has no priority head
    lists:                                # named lists, used as "@name" inside conditions
      vip_requesters: [ceo@example.com]
    rules:
      - name: vip-outage
        description: a VIP cannot work
        when:                             # every key must hold; list values match if any item does
          requester: ["@vip_requesters"]
          keywords: [outage, 宕机]
        then:
          priority: {raise_to: P1}        # or {raise: 1, at_most: P2}, {set: P2}, {boost: P1, by: 0.2}

Conditions: ``keywords`` (any; case-insensitive, whole words for Latin ones; negated, conditional,
quoted and signature mentions do not count: see ``in_scope_text``), ``keywords_all``,
``regex`` (any), ``language``, ``channel``, ``requester``, ``fields`` (any extracted field type
present), ``fields_all``, ``metadata`` (``{key: value | ">= 2" | [values]}``), ``predicted``
(``{head: [values]}``, the value so far), and ``all`` / ``any`` / ``not`` over nested conditions.
A rule with ``stop: true`` ends the run when it fires. Actions may only name labels the serving
model knows or the file declares (``labels: {department: [Security]}``); others are skipped and logged.
"""

from __future__ import annotations

import dataclasses
import logging
import operator
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage import safe_regex
from triage.reasons import Reason, english, english_one
from triage.types import LANGUAGES, Alternative, ExtractedField, Prediction, Ticket
from triage.yaml_loader import read_yaml_mapping

logger = logging.getLogger(__name__)

BUNDLED_RULES = Path(__file__).resolve().parent / "resources" / "rules.yaml"
HEADS = ("department", "category", "priority")
CONDITION_KEYS = (
    "keywords",
    "keywords_all",
    "regex",
    "language",
    "channel",
    "requester",
    "fields",
    "fields_all",
    "metadata",
    "predicted",
    "all",
    "any",
    "not",
)
ACTION_KEYS = ("set", "boost", "by", "raise", "raise_to", "at_most")
RULE_KEYS = ("name", "description", "when", "then", "stop")
TOP_KEYS = ("version", "priorities", "default_priority", "labels", "lists", "rules")
DEFAULT_BOOST = 0.2
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    "==": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}
_LATIN_WORD = re.compile(r"^[\w\s.\-']+$", re.ASCII)


class RuleError(ValueError):
    """A rule file that cannot be used; the message names the file, the rule and the key."""


@dataclass(frozen=True)
class Facts:
    """What conditions look at: the ticket and the predictions so far."""

    text: str  # lower-cased title + body
    language: str
    channel: str | None
    requester: str | None
    field_types: frozenset[str]
    metadata: Mapping[str, Any]
    predicted: Mapping[str, str]
    scoped: str = ""  # ``text`` with quoted lines, quoted phrases and the signature blanked (same offsets)


# A condition returns None when it does not hold, else a short note of what matched.
Condition = Callable[[Facts], "list[Reason] | None"]


@dataclass(frozen=True)
class Action:
    head: str
    set: str | None = None
    boost: str | None = None
    by: float = DEFAULT_BOOST
    raise_levels: int = 0
    raise_to: str | None = None
    at_most: str | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    condition: Condition
    actions: tuple[Action, ...]
    stop: bool = False


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    priorities: tuple[str, ...]
    default_priority: str | None
    # Labels the file declares per head, beyond those of the model: rules may set these too.
    declared: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)


class RuleEngine:
    """Applies a rule file to one ticket's predictions; cheap to build, ``load()`` reads the file."""

    def __init__(self, path: Path | None = None, data: Mapping[str, Any] | None = None) -> None:
        self._path = Path(path) if path is not None else BUNDLED_RULES
        self._ruleset: RuleSet | None = None
        self._lock = threading.Lock()
        self._skips: set[tuple[str, str]] = set()
        self._from_file = data is None
        if data is not None:
            # Validated here (no I/O): a bad mapping fails where it is built, not on the first ticket.
            self._ruleset = parse_rules(data, "rules")

    @classmethod
    def from_yaml(cls, path: Path) -> RuleEngine:
        """An engine for a rule file; the file is read and validated by ``load()``."""
        return cls(path=path)

    @classmethod
    def default(cls) -> RuleEngine:
        """An engine for the bundled ``triage/resources/rules.yaml``."""
        return cls(path=BUNDLED_RULES)

    def load(self) -> None:
        """Read and validate the rule file; safe to call again."""
        if self._ruleset is not None:
            return
        with self._lock:
            if self._ruleset is None:
                data = read_yaml_mapping(
                    self._path,
                    what="the rule file",
                    expected="a mapping with 'rules' at the top level",
                    error=RuleError,
                )
                self._ruleset = parse_rules(data, str(self._path))
                logger.info("loaded %d rule(s) from %s", len(self._ruleset.rules), self._path)

    @property
    def ruleset(self) -> RuleSet:
        self.load()
        assert self._ruleset is not None
        return self._ruleset

    @property
    def source(self) -> str:
        """Where the rules come from (the file, or "rules" for a mapping given in code)."""
        return str(self._path) if self._from_file else "rules"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self.ruleset.rules)

    def apply(
        self,
        ticket: Ticket,
        fields: Sequence[ExtractedField],
        predictions: Mapping[str, Prediction],
        language: str,
        labels: Mapping[str, Sequence[str]] | None = None,
    ) -> dict[str, Prediction]:
        """The predictions after every matching rule, each change recorded in ``rules`` and ``reason``.

        ``labels``: the label set of each head of the model that made the predictions. A rule may
        only set (or boost, or raise to) a label that model knows or the rule file declares under
        ``labels``; otherwise that action is skipped and the reason logged.
        """
        ruleset = self.ruleset
        out = dict(predictions)
        text = ticket.text.lower()
        facts = Facts(
            text=text,
            language=language,
            channel=ticket.channel,
            requester=ticket.requester,
            field_types=frozenset(f.type for f in fields),
            metadata=ticket.metadata,
            predicted={},
            scoped=in_scope_text(text),
        )
        for rule in ruleset.rules:
            facts = dataclasses.replace(facts, predicted={h: p.value for h, p in out.items()})
            matched = rule.condition(facts)
            if matched is None:
                continue
            because = tuple(matched) if matched else (Reason("if_always"),)
            fired = False
            for action in rule.actions:
                unknown = _unknown_target(action, out.get(action.head), ruleset, labels)
                if unknown:
                    self._skipped(rule.name, unknown)
                    continue
                changed = _act(rule.name, action, out.get(action.head), because, ruleset)
                if changed is not None:
                    out[action.head] = changed
                    fired = True
            if fired:
                logger.debug("rule %s fired on ticket %s", rule.name, ticket.id)
            if fired and rule.stop:
                break
        return out

    def _skipped(self, rule: str, why: str) -> None:
        """Log a skipped action once per rule and reason (a busy server would repeat it per ticket)."""
        key = (rule, why)
        if key in self._skips:
            return
        with self._lock:
            self._skips.add(key)
        logger.warning("rule %r skipped: %s", rule, why)


def known_labels(
    ruleset: RuleSet, head: str, labels: Mapping[str, Sequence[str]] | None
) -> frozenset[str] | None:
    """The labels a rule may set on a head: the model's and the file's declared ones (None: no check).

    Without the model's label sets nothing is checked. A head the model does not predict takes the
    declared labels only, and for priority the file's ``priorities``.
    """
    if labels is None:
        return None
    declared = ruleset.declared.get(head, frozenset())
    if head in labels:
        return frozenset(labels[head]) | declared
    return declared | (frozenset(ruleset.priorities) if head == "priority" else frozenset())


def _unknown_target(
    action: Action, current: Prediction | None, ruleset: RuleSet, labels: Mapping[str, Sequence[str]] | None
) -> str:
    """Why an action may not run on this model (it names a label the model does not know), or ""."""
    known = known_labels(ruleset, action.head, labels)
    if known is None:
        return ""
    wanted = [v for v in (action.set, action.boost, action.raise_to) if v is not None]
    if action.raise_levels:
        # A raise moves along the file's priorities: every level it could reach must be known.
        wanted.extend(p for p in ruleset.priorities if p not in wanted)
    missing = [v for v in wanted if v not in known]
    if not missing:
        return ""
    shown = ", ".join(sorted(known)[:12]) or "none"
    return (
        f"it sets {action.head} {', '.join(map(repr, missing))}, a label the model does not know "
        f"(its {action.head} labels: {shown}); declare it under 'labels' in the rule file to allow it"
    )


# --- negation and scope --------------------------------------------------------------------------

# A keyword right after one of these is negated ("not urgent", "non-urgent", "isn't really urgent",
# "不紧急", "不用马上", "无需立即", "没那么紧急"). Only fillers that keep the negation on the keyword may
# sit between: "not working, urgent" and "not working urgent" keep their urgency.
_NEGATED_EN = safe_regex.compile(
    r"(?:\b(?:not|no|non|never|nothing|hardly|without|isn't|isnt|aren't|wasn't|doesn't|don't|"
    r"didn't|needn't|shouldn't)|n't)[\s-]+(?:(?:really|very|that|so|too|particularly|especially|"
    r"super|terribly|an|a|the|any|at all|be|need to be|needs to be)\s+){0,3}$",
    ignore_case=True,
    name="rules: English negation before a keyword",
)
_NEGATED_ZH = safe_regex.compile(
    r"(?:不|没|沒|无|無|非|别|別|勿|未|毋|并不|並不)(?:用|必|需|须|需要|太|算|是|怎么|那么|很|特别|着|必要)?"
    r"(?:很|太|特别|那么|是|算)?\s*$",
    ignore_case=True,
    name="rules: Chinese negation before a keyword",
)
# "For urgent matters call ...", "if urgent", "紧急事项请致电 ...", "如有紧急情况": urgency about other tickets.
_CONDITIONAL_BEFORE = safe_regex.compile(
    r"(?:\b(?:if|in case of)\s+(?:it is\s+|it's\s+|this is\s+|anything\s+|something\s+|an?\s+)?"
    r"|如有|如遇|如需|若有|若遇|如果有?)$",
    ignore_case=True,
    name="rules: conditional wording before a keyword",
)
_CONDITIONAL_AFTER = safe_regex.compile(
    r"^(?:\s*(?:matters|requests|enquiries|inquiries|hotline)\b|事项|事宜|联系|请拨|请致电|热线|电话)",
    ignore_case=True,
    name="rules: conditional wording after a keyword",
)
# Quoted phrases: a word in quotes is mentioned, not meant ('the "urgent" flag', 「紧急」按钮).
_QUOTED_PHRASE = safe_regex.compile(
    r"\"[^\"\n]{1,40}\"|“[^”\n]{1,40}”|「[^」\n]{1,40}」|『[^』\n]{1,40}』|‘[^’\n]{1,40}’",
    ignore_case=True,
    name="rules: quoted phrase",
)
_SIGN_OFF_LINE = safe_regex.compile(
    r"^\s*(?:--\s*|_{2,}|(?:with\s+)?(?:best|kind|warm|many)?\s*regards[\s,.!]*|best[\s,.!]*|cheers[\s,.!]*|"
    r"sincerely[\s,.!]*|thanks?[\s,.!]*|thank you[\s,.!]*|br[\s,.!]*|此致|敬礼|祝好|顺祝商祺|谢谢[！!。，,]*|"
    r"多谢[！!。，,]*|感谢[！!。，,]*)\s*$",
    ignore_case=True,
    name="rules: sign-off line",
)
_WINDOW = 40  # characters before a keyword that negation and conditions are looked for in


def in_scope_text(text: str) -> str:
    """``text`` with what is not the requester's own word about this ticket blanked by spaces: quoted
    reply lines ("> ..."), quoted phrases and the signature below a sign-off line (same length, so
    offsets still point into ``text``)."""
    lines = text.split("\n")
    out: list[str] = []
    signature = False
    content = False
    for line in lines:
        if signature or line.lstrip().startswith(">"):
            out.append(" " * len(line))
            continue
        if content and _SIGN_OFF_LINE.match(line):
            signature = True
            out.append(" " * len(line))
            continue
        content = content or bool(line.strip())
        out.append(_QUOTED_PHRASE.sub(lambda m: " " * len(m.group()), line))
    return "\n".join(out)


def negated_or_conditional(text: str, start: int, end: int) -> bool:
    """Whether the keyword at ``text[start:end]`` is negated ("not urgent", "不紧急") or conditional
    ("for urgent matters call", "如有紧急情况"), judged on its own sentence."""
    before = text[max(0, start - _WINDOW) : start]
    for stop in ".!?;。！？；,，:：\n":
        before = before.rsplit(stop, 1)[-1]
    after = text[end : end + 20]
    return bool(
        _NEGATED_EN.search(before)
        or _NEGATED_ZH.search(before)
        or _CONDITIONAL_BEFORE.search(before)
        or _CONDITIONAL_AFTER.search(after)
    )


def _keyword_hits(pattern: safe_regex.Pattern, facts: Facts) -> list[str]:
    """The keywords found in the ticket's own, affirmative words."""
    scoped = facts.scoped or facts.text
    return sorted(
        {
            m.group()
            for m in pattern.finditer(scoped)
            if not negated_or_conditional(scoped, m.start(), m.end())
        }
    )


# --- actions -----------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    """A metadata or prediction value as a reason parameter (JSON scalars kept, anything else as text)."""
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _note(prediction: Prediction, change: Reason, because: tuple[Reason, ...]) -> Prediction:
    """The prediction with a rule's change recorded: in ``rules`` (its English) and in ``reasons``."""
    noted = Reason(change.code, change.params, because)
    reasons = (*prediction.reasons, noted)
    return dataclasses.replace(
        prediction,
        rules=(*prediction.rules, english_one(change)),
        reasons=reasons,
        reason=english(reasons),
    )


def _decided(previous: Prediction | None, head: str, value: str) -> Prediction:
    """A prediction a rule decided: certain, not abstained, the model's view kept in the reason."""
    others = tuple(
        Alternative(a.value, 0.0) for a in (previous.alternatives if previous else ()) if a.value != value
    )
    reasons = (
        (Reason("model_said", {"head": head, "value": previous.value, "confidence": previous.confidence}),)
        if previous
        else ()
    )
    return Prediction(
        value=value,
        confidence=1.0,
        alternatives=(Alternative(value, 1.0), *others),
        abstained=False,
        reason=english(reasons),
        phrases=previous.phrases if previous else (),
        examples=previous.examples if previous else (),
        rules=previous.rules if previous else (),
        reasons=reasons,
    )


def _act(
    name: str, action: Action, current: Prediction | None, because: tuple[Reason, ...], ruleset: RuleSet
) -> Prediction | None:
    """The head's prediction after one action, or None when the action changes nothing."""
    head = action.head
    if action.set is not None:
        if current is not None and current.value == action.set and not current.abstained:
            return None
        change = Reason("rule_set", {"rule": name, "head": head, "value": action.set})
        return _note(_decided(current, head, action.set), change, because)
    if action.boost is not None:
        if current is None:
            return None  # nothing to nudge: a boost only shifts the model's own distribution
        return _boost(name, action, current, because)
    # raise / raise_to: priority only (checked when parsing).
    order = ruleset.priorities
    base = current.value if current is not None else ruleset.default_priority
    level = order.index(base) if base in order else len(order) - 1
    targets = [level]
    if action.raise_to is not None:
        targets.append(order.index(action.raise_to))
    if action.raise_levels:
        raised = max(0, level - action.raise_levels)
        if action.at_most is not None:
            raised = max(raised, order.index(action.at_most))
        targets.append(raised)
    target = min(targets)
    if target >= level:
        return None
    value = order[target]
    change = Reason("rule_raised", {"rule": name, "head": head, "from": base, "value": value})
    return _note(_decided(current, head, value), change, because)


def _boost(name: str, action: Action, current: Prediction, because: tuple[Reason, ...]) -> Prediction | None:
    assert action.boost is not None
    scores = {a.value: a.confidence for a in current.alternatives} or {current.value: current.confidence}
    scores[action.boost] = scores.get(action.boost, 0.0) + action.by
    total = sum(scores.values())
    ranked = sorted(((v / total, k) for k, v in scores.items()), reverse=True)
    value, confidence = ranked[0][1], ranked[0][0]
    boosted = dataclasses.replace(
        current,
        value=value,
        confidence=round(confidence, 4),
        alternatives=tuple(Alternative(k, round(p, 4)) for p, k in ranked[:3]),
        abstained=current.abstained if value == current.value else False,
    )
    params: dict[str, Any] = {"rule": name, "head": action.head, "boost": action.boost, "by": action.by}
    if value != current.value:
        params |= {"from": current.value, "value": value}
    return _note(boosted, Reason("rule_boosted", params), because)


# --- parsing -----------------------------------------------------------------------------------


def _unknown(keys: Any, known: Sequence[str], where: str) -> None:
    extra = sorted(set(keys) - set(known))
    if extra:
        raise RuleError(f"{where}: unknown key(s) {', '.join(map(repr, extra))}; known: {', '.join(known)}")


def _strings(value: Any, where: str, lists: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """A string or list of strings, with "@name" items replaced by the named list."""
    items = [value] if isinstance(value, str | int | float) else value
    if not isinstance(items, list) or not items:
        raise RuleError(f"{where}: expected a string or a non-empty list of strings")
    out: list[str] = []
    for item in items:
        text = str(item)
        if text.startswith("@"):
            if text[1:] not in lists:
                known = ", ".join(sorted(lists)) or "none defined"
                raise RuleError(f"{where}: unknown list {text!r}; define it under 'lists' (known: {known})")
            out.extend(lists[text[1:]])
        else:
            out.append(text)
    return tuple(out)


def _edge(char: str) -> str:
    """RE2's ASCII boundary at a Latin word's edge: ``\\b`` beside a letter or digit, else ``\\B``."""
    return r"\b" if char.isascii() and char.isalnum() else r"\B"


def _keyword_pattern(words: Sequence[str], where: str) -> safe_regex.Pattern:
    """One pattern on the lower-cased text; Latin words must stand alone ('down' does not match 'download').

    A Latin word stands alone when no ASCII letter, digit or "_" touches it; a Chinese character
    next to it is a boundary ("vpn连不上" contains "vpn").
    """
    parts = []
    for word in sorted({w.lower() for w in words if w.strip()}, key=len, reverse=True):
        escaped = re.escape(word)
        parts.append(f"{_edge(word[0])}{escaped}{_edge(word[-1])}" if _LATIN_WORD.match(word) else escaped)
    return safe_regex.compile("|".join(parts), name=where)


def _metadata_test(value: Any, where: str) -> Callable[[Any], bool]:
    if isinstance(value, list):
        allowed = {str(v) for v in value}
        return lambda actual: str(actual) in allowed
    if isinstance(value, str):
        match = re.match(r"^\s*(>=|<=|!=|==|>|<)\s*(.+?)\s*$", value)
        if match:
            compare, raw = _COMPARISONS[match.group(1)], match.group(2)
            try:
                number = float(raw)
            except ValueError:
                raise RuleError(f"{where}: {value!r} compares with a non-number; write e.g. '>= 2'") from None

            def test(actual: Any) -> bool:
                try:
                    return bool(compare(float(actual), number))
                except (TypeError, ValueError):
                    return False

            return test
    return lambda actual: actual == value or str(actual) == str(value)


def _condition(raw: Any, where: str, lists: Mapping[str, tuple[str, ...]]) -> Condition:
    if not isinstance(raw, Mapping) or not raw:
        raise RuleError(f"{where}: expected a non-empty mapping of conditions ({', '.join(CONDITION_KEYS)})")
    _unknown(raw, CONDITION_KEYS, where)
    checks: list[Condition] = []
    for key, value in raw.items():
        at = f"{where}.{key}"
        checks.append(_one_condition(key, value, at, lists))

    return _all_of(checks)


def _all_of(parts: Sequence[Condition]) -> Condition:
    """A condition that holds when every part does, with all their notes."""

    def every(facts: Facts) -> list[Reason] | None:
        notes: list[Reason] = []
        for part in parts:
            note = part(facts)
            if note is None:
                return None
            notes.extend(note)
        return notes

    return every


def _one_condition(key: str, value: Any, at: str, lists: Mapping[str, tuple[str, ...]]) -> Condition:
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise RuleError(f"{at}: expected a non-empty list of conditions")
        parts = [_condition(v, f"{at}[{i}]", lists) for i, v in enumerate(value)]
        if key == "all":
            return _all_of(parts)

        def some(facts: Facts) -> list[Reason] | None:
            for part in parts:
                note = part(facts)
                if note is not None:
                    return note
            return None

        return some
    if key == "not":
        inner = _condition(value, at, lists)
        return lambda facts: [] if inner(facts) is None else None
    if key in ("keywords", "keywords_all"):
        words = _strings(value, at, lists)
        if key == "keywords":
            pattern = _keyword_pattern(words, at)

            def any_word(facts: Facts) -> list[Reason] | None:
                found = _keyword_hits(pattern, facts)
                return [Reason("if_words", {"words": found[:4]})] if found else None

            return any_word
        patterns = [(w, _keyword_pattern([w], at)) for w in words]

        def every_word(facts: Facts) -> list[Reason] | None:
            if all(_keyword_hits(p, facts) for _, p in patterns):
                return [Reason("if_words", {"words": [w for w, _ in patterns[:4]]})]
            return None

        return every_word
    if key == "regex":
        compiled = []
        for source in _strings(value, at, lists):
            try:
                compiled.append(safe_regex.compile(source, ignore_case=True, name=at))
            except safe_regex.UnsafePattern as e:
                raise RuleError(
                    f"{at}: invalid regular expression {source!r} ({e}); rule regexes run on RE2 "
                    "(linear time: no back-references, look-around only where it cannot backtrack)"
                ) from e

        def any_regex(facts: Facts) -> list[Reason] | None:
            for regex in compiled:
                match = regex.search(facts.text)
                if match:
                    return [Reason("if_text", {"text": match.group()[:40]})]
            return None

        return any_regex
    if key == "language":
        languages = _strings(value, at, lists)
        bad = [lang for lang in languages if lang not in LANGUAGES]
        if bad:
            raise RuleError(f"{at}: unknown language(s) {bad}; known: {', '.join(LANGUAGES)}")
        return lambda facts: (
            [Reason("if_language", {"language": facts.language})] if facts.language in languages else None
        )
    if key in ("channel", "requester"):
        allowed = {v.lower() for v in _strings(value, at, lists)}
        listed = (
            str(value[0])[1:]
            if isinstance(value, list) and len(value) == 1 and str(value[0]).startswith("@")
            else ""
        )

        def member(facts: Facts) -> list[Reason] | None:
            actual = getattr(facts, key)
            if actual is None or actual.strip().lower() not in allowed:
                return None
            if listed:
                return [Reason("if_on_list", {"field": key, "list": listed})]
            # Requester ids are personal data: name the fact, not the person.
            if key == "requester":
                return [Reason("if_requester")]
            return [Reason("if_channel", {"channel": actual})]

        return member
    if key in ("fields", "fields_all"):
        from triage.fields import FIELD_TYPES

        types = _strings(value, at, lists)
        bad = [t for t in types if t not in FIELD_TYPES]
        if bad:
            raise RuleError(f"{at}: unknown field type(s) {bad}; known: {', '.join(FIELD_TYPES)}")
        if key == "fields":
            return lambda facts: (
                [Reason("if_fields", {"fields": [t for t in types if t in facts.field_types]})]
                if facts.field_types.intersection(types)
                else None
            )
        return lambda facts: (
            [Reason("if_fields", {"fields": list(types)})] if facts.field_types.issuperset(types) else None
        )
    if key in ("metadata", "predicted"):
        if not isinstance(value, Mapping) or not value:
            raise RuleError(
                f"{at}: expected a mapping of {'metadata keys' if key == 'metadata' else 'heads'} to values"
            )
        if key == "predicted":
            _unknown(value, HEADS, at)
        tests = {str(k): _metadata_test(v, f"{at}.{k}") for k, v in value.items()}

        def facts_match(facts: Facts) -> list[Reason] | None:
            source = facts.metadata if key == "metadata" else facts.predicted
            notes = []
            for name, test in tests.items():
                if name not in source or not test(source[name]):
                    return None
                notes.append(Reason("if_value", {"name": name, "value": _json_value(source[name])}))
            return notes

        return facts_match
    raise RuleError(f"{at}: unknown condition; known: {', '.join(CONDITION_KEYS)}")  # pragma: no cover


def _actions(raw: Any, where: str, priorities: tuple[str, ...]) -> tuple[Action, ...]:
    if not isinstance(raw, Mapping) or not raw:
        raise RuleError(f"{where}: expected a mapping of heads ({', '.join(HEADS)}) to actions")
    _unknown(raw, HEADS, where)
    actions = []
    for head, spec in raw.items():
        at = f"{where}.{head}"
        if isinstance(spec, str):
            spec = {"set": spec}
        if not isinstance(spec, Mapping) or not spec:
            raise RuleError(f"{at}: expected an action such as {{set: VALUE}} or {{boost: VALUE, by: 0.2}}")
        _unknown(spec, ACTION_KEYS, at)
        kinds = [k for k in ("set", "boost", "raise", "raise_to") if k in spec]
        if len(kinds) != 1 and not (set(kinds) == {"raise", "raise_to"}):
            raise RuleError(f"{at}: give exactly one of set, boost, raise or raise_to")
        if ("raise" in spec or "raise_to" in spec or "at_most" in spec) and head != "priority":
            raise RuleError(f"{at}: raise, raise_to and at_most apply to priority only; use set or boost")
        for key in ("raise_to", "at_most"):
            if key in spec and str(spec[key]) not in priorities:
                raise RuleError(f"{at}.{key}: {spec[key]!r} is not in priorities ({', '.join(priorities)})")
        if "at_most" in spec and "raise" not in spec:
            raise RuleError(f"{at}.at_most: only limits 'raise'; use raise_to for a fixed level")
        levels = spec.get("raise", 0)
        if not isinstance(levels, int) or levels < 0:
            raise RuleError(f"{at}.raise: expected a number of levels (1, 2, ...)")
        by = spec.get("by", DEFAULT_BOOST)
        if not isinstance(by, int | float) or not 0 < by <= 1:
            raise RuleError(f"{at}.by: expected a probability to add, between 0 and 1")
        actions.append(
            Action(
                head=str(head),
                set=str(spec["set"]) if "set" in spec else None,
                boost=str(spec["boost"]) if "boost" in spec else None,
                by=float(by),
                raise_levels=levels,
                raise_to=str(spec["raise_to"]) if "raise_to" in spec else None,
                at_most=str(spec["at_most"]) if "at_most" in spec else None,
            )
        )
    return tuple(actions)


def parse_rules(data: Mapping[str, Any], source: str) -> RuleSet:
    """Validate a rule mapping (as read from YAML); errors name the source, the rule and the key."""
    _unknown(data, TOP_KEYS, source)
    priorities = tuple(str(p) for p in data.get("priorities", ["P1", "P2", "P3", "P4"]))
    if not priorities or len(set(priorities)) != len(priorities):
        raise RuleError(
            f"{source}: priorities must be a non-empty list of distinct levels, most urgent first"
        )
    default_priority = data.get("default_priority")
    if default_priority is not None and str(default_priority) not in priorities:
        raise RuleError(f"{source}: default_priority {default_priority!r} is not in priorities")
    raw_lists = data.get("lists") or {}
    if not isinstance(raw_lists, Mapping):
        raise RuleError(f"{source}: lists must map names to lists of strings")
    lists: dict[str, tuple[str, ...]] = {}
    for name, items in raw_lists.items():
        lists[str(name)] = _strings(items, f"{source}: lists.{name}", {})
    raw_declared = data.get("labels") or {}
    if not isinstance(raw_declared, Mapping):
        raise RuleError(f"{source}: labels must map heads ({', '.join(HEADS)}) to lists of labels")
    _unknown(raw_declared, HEADS, f"{source}: labels")
    declared = {str(h): frozenset(_strings(v, f"{source}: labels.{h}", {})) for h, v in raw_declared.items()}
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list):
        raise RuleError(f"{source}: 'rules' must be a list of rules")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_rules):
        if not isinstance(raw, Mapping):
            raise RuleError(f"{source}: rules[{i}] must be a mapping with name, when and then")
        name = str(raw.get("name") or "")
        where = f"{source}: rule {name or f'#{i}'!r}"
        if not name:
            raise RuleError(f"{where}: every rule needs a name")
        if name in seen:
            raise RuleError(f"{where}: duplicate rule name; names identify rules in explanations")
        seen.add(name)
        _unknown(raw, RULE_KEYS, where)
        for key in ("when", "then"):
            if key not in raw:
                raise RuleError(f"{where}: missing '{key}'")
        rules.append(
            Rule(
                name=name,
                description=str(raw.get("description", "")),
                condition=_condition(raw["when"], f"{where}.when", lists),
                actions=_actions(raw["then"], f"{where}.then", priorities),
                stop=bool(raw.get("stop", False)),
            )
        )
    return RuleSet(
        tuple(rules), priorities, str(default_priority) if default_priority is not None else None, declared
    )
