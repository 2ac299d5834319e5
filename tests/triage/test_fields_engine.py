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


def test_lowercase_persons_skip_only_texts_where_no_first_name_starts_a_word(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import random

    rng = random.Random(7)
    first_names = sorted(names._EN_FIRST_NAMES)
    words = [*first_names[:60], "smith", "lee", "printer", "é", "中", "A", "1", "x"]
    separators = [" ", " ", "\n", ": ", ", ", "(", "-", "'", "’", ".", "@", "_", "1", "A", "é", "中", "x", ""]
    texts = [
        "".join(rng.choice(separators) + rng.choice(words) for _ in range(rng.randint(1, 12)))
        for _ in range(1_000)
    ]
    texts += [
        f"hi{before}{name}{after} smith"
        for name in first_names
        for before, after in ((" ", ""), ("\n", ""), ("(", ""), ("é", ""), ("x", ""), ("1", ""), (" ", "s"))
    ]
    with_prefilter = []
    for text in texts:
        out: list[object] = []
        names.english_lowercase_persons(text, out)  # type: ignore[arg-type]
        with_prefilter.append(out)
    assert sum(1 for out in with_prefilter if out) > 500  # the texts do hold lowercase names
    monkeypatch.setattr(names, "_FIRST_NAME_AT_WORD_START", safe_regex.compile(""))  # matches every text
    for text, expected in zip(texts, with_prefilter, strict=True):
        out = []
        names.english_lowercase_persons(text, out)  # type: ignore[arg-type]
        assert out == expected, text
