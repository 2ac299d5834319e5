"""safe_regex: RE2 first, a backtracking fallback only after the linear-time check."""

from __future__ import annotations

import pytest

from embeddings import safe_regex


def test_compile_runs_plain_patterns_on_re2() -> None:
    pattern = safe_regex.compile(r"\d{2,}\s*(个|名|位)?(用户|人|同事)", name="rule 'many-users'")
    assert safe_regex.uses_re2(pattern)
    assert pattern.search("有 30 个用户无法登录") is not None
    assert pattern.search("1" * 20_000) is None


def test_compile_applies_flags_on_both_engines() -> None:
    assert safe_regex.compile("vpn", ignore_case=True).search("My VPN") is not None
    lookaround = safe_regex.compile(r"(?<![A-Za-z])vpn(?![A-Za-z])", ignore_case=True)
    assert not safe_regex.uses_re2(lookaround)
    assert lookaround.search("the VPN is down") is not None
    assert lookaround.search("myvpnx") is None


@pytest.mark.parametrize(
    "pattern",
    [r"(?<!y)(\d+\s*)+\s*$", r"(?<!y)\d{2,}\s*(个|名|位)?(用户|人|同事)", r"(?=.)(a|aa)+$"],
)
def test_compile_refuses_backtracking_fallbacks_naming_them(pattern: str) -> None:
    with pytest.raises(safe_regex.UnsafePattern, match="rule 'slow'"):
        safe_regex.compile(pattern, name="rule 'slow'")


def test_compile_refuses_invalid_patterns_naming_them() -> None:
    with pytest.raises(safe_regex.UnsafePattern, match=r"rule .broken.*not a valid"):
        safe_regex.compile(r"(unclosed", name="rule 'broken'")


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        (r"\d+", "工单 ３０ 个", "３０"),
        (r"\w+", "中文_abc", "中文_abc"),
        (r"a\sb", "a\u3000b", "a\u3000b"),
        (r"[\s,]+", "x\xa0,\u2003y", "\xa0,\u2003"),
        (r"[\w.-]+@", "名字.x-y@", "名字.x-y@"),
        (r"\S+", "  über\u3000", "über"),
        (r"[^\d\s]+", "１ abc", "abc"),
    ],
)
def test_class_escapes_keep_their_unicode_meaning_on_re2(pattern: str, text: str, expected: str) -> None:
    compiled = safe_regex.compile(pattern)
    assert safe_regex.uses_re2(compiled)
    match = compiled.search(text)
    assert match is not None and match.group() == expected


def test_class_escapes_with_no_re2_spelling_use_the_checked_fallback() -> None:
    compiled = safe_regex.compile(r"[^\W\d_]+")
    assert not safe_regex.uses_re2(compiled)
    assert compiled.findall("ab1中_") == ["ab", "中"]


def test_triage_name_is_the_same_engine() -> None:
    from triage import safe_regex as triage_safe_regex

    assert triage_safe_regex.compile is safe_regex.compile


def test_pattern_set_reports_which_patterns_occur() -> None:
    patterns = safe_regex.PatternSet([r"(?i)vpn", r"\d{3}", "中文"])
    assert patterns.matching("My VPN dropped, 中文") == {0, 2}
    assert patterns.matching("nothing here") == set()


def test_pattern_set_refuses_a_pattern_re2_cannot_run() -> None:
    with pytest.raises(safe_regex.UnsafePattern, match="field rules: pattern 1"):
        safe_regex.PatternSet(["ok", r"(?<!a)b"], name="field rules")
