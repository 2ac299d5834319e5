"""The field package's engine: every built-in pattern runs on RE2; boundaries are post-checked."""

from __future__ import annotations

import re
import time

import pytest

from triage import safe_regex
from triage.fields import FieldExtractor, dates, names, table
from triage.fields.engine import Rx


def _all_patterns() -> list[tuple[str, Rx]]:
    found: list[tuple[str, Rx]] = []
    for module in (table, dates, names):
        for name, value in vars(module).items():
            if isinstance(value, Rx):
                found.append((f"{module.__name__}.{name}", value))
            elif isinstance(value, table.Rule):
                found.append((f"{module.__name__}.{name}", value.rx))
            elif isinstance(value, tuple):
                found += [(f"{module.__name__}.{name}", r.rx) for r in value if isinstance(r, table.Rule)]
            elif isinstance(value, dict):  # the table's named patterns
                found += [
                    (f"{module.__name__}.{name}[{k!r}]", v) for k, v in value.items() if isinstance(v, Rx)
                ]
    return found


def test_every_field_pattern_runs_on_re2() -> None:
    patterns = _all_patterns()
    assert len(patterns) > 60
    backtracking = [name for name, rx in patterns if not safe_regex.uses_re2(rx.pattern)]
    assert backtracking == []


@pytest.mark.parametrize(
    ("pattern", "before", "after", "text"),
    [
        (r"\d{3}", "[A-Za-z]", r"\d", "x123 4567 890"),
        (r"\d{3}", "[A-Za-z]", r"\d", "a 12345 678"),
        (r"\d{3}", "[A-Za-z]", r"\d", "中x123 中4567 八890中 12"),  # offsets back from UTF-8 bytes
        (r"ORA-\d{3,6}", "[A-Za-z0-9]", "[A-Za-z0-9]", "ORA-00600 xORA-123 ORA-1234567 ORA-01555."),
        (r"\d{2}", r"[.]", "", "1.23 45 6.78 x.9"),
    ],
)
def test_rx_boundaries_agree_with_look_around(pattern: str, before: str, after: str, text: str) -> None:
    """Post-checked boundaries find what the same pattern with look-around finds (here, where
    the body cannot backtrack into a shorter match)."""
    lookbehind = f"(?<!{before})" if before else ""
    lookahead = f"(?!{after})" if after else ""
    expected = [m.span() for m in re.finditer(f"{lookbehind}(?:{pattern}){lookahead}", text)]
    assert [h.span() for h in Rx(pattern, before=before, after=after).finditer(text)] == expected


def test_rx_before_must_be_one_character_class() -> None:
    with pytest.raises(ValueError, match=r"before='\\\\d' must be one character class"):
        Rx(r"\d{2}", before=r"\d", name="two digits")


def test_rx_named_groups_are_addressable_by_name() -> None:
    hit = Rx(r"(?P<key>[a-z]+)=(?P<value>\d+)?").search("x code= y")
    assert hit is not None
    assert hit.group("key") == "code" and hit.get("value") is None and not hit.has("value")


@pytest.mark.parametrize(
    "text",
    [
        "a" * 50_000 + "1",
        "1" * 50_000,
        "中" * 30_000 + "系统",
        ("x-" * 20_000) + "1",
        "ORA-" * 10_000,
        "@" + "a." * 20_000,
        "xusers john " * 4_000,  # a keyword inside a word, refused at every repeat
        "中xserver db01 " * 4_000,
    ],
)
def test_extract_scans_adversarial_text_quickly(text: str) -> None:
    extractor = FieldExtractor(use_ner=False)
    extractor.load()
    started = time.perf_counter()
    extractor.extract(text, "mixed")
    # Generous: RE2 scans these in milliseconds; a backtracking pattern would take minutes.
    assert time.perf_counter() - started < 20
