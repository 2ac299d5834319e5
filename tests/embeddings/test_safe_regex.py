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


# --- the compiled patterns' own wrapper: google-re2's results, call for call ---------------------

_MIX_PIECES = (
    "VPN",
    "vpn down",
    "Überweisung",
    "café",
    "e\u0301",  # a combining mark
    "中文",
    "无法登录",
    "　",  # ideographic space
    "\U0001f600",  # emoji (astral)
    "\U00020000",  # a Han character outside the BMP
    "𝟘𝟙",  # mathematical digits (astral, \p{Nd})
    "123",
    "１２",
    " ",
    "\n",
    "\t",
    ",",
    "，",
    "a.b@c.de",
    "_",
    "-",
    "",
)
_EQUIVALENCE_PATTERNS = (
    r"\d+",
    r"\w+",
    r"\s*",
    r"",
    r"^",
    r"$",
    r"\bvpn\b",
    r"(?P<word>[A-Za-z]+)(?:\s+(?P<num>\d+))?",
    r"([\u4e00-\u9fff]+)|(\d+)",
    r"(a)|(b)|(中)",
    r"[\s,，]+",
    r"(?:^|[^A-Za-z])(?P<body>vpn)",
    r"\S+@\S+",
    r".",
    r"(x*)",
)


def _stock(pattern: str, ignore_case: bool) -> object:
    """The pattern as google-re2's own wrapper compiles it, the reference the wrapper must equal."""
    import re2

    translated = safe_regex.to_re2(pattern)
    assert translated is not None
    return re2.compile(("(?i)" if ignore_case else "") + translated, safe_regex._options())


def _spans(match: object) -> object:
    if match is None:
        return None
    return (
        [match.span(g) for g in range(match.re.groups + 1)],  # type: ignore[attr-defined]
        match.groups(),  # type: ignore[attr-defined]
        match.groupdict(),  # type: ignore[attr-defined]
        match.group(),  # type: ignore[attr-defined]
        match.pos,  # type: ignore[attr-defined]
        match.endpos,  # type: ignore[attr-defined]
        match.lastindex,  # type: ignore[attr-defined]
    )


def _results(compiled: object, text: str, pos: int, endpos: int) -> list[object]:
    p: object = compiled
    out: list[object] = []
    for method in ("search", "match", "fullmatch"):
        out.append(_spans(getattr(p, method)(text)))
        out.append(_spans(getattr(p, method)(text, pos)))
        out.append(_spans(getattr(p, method)(text, pos, endpos)))
    out.append([_spans(m) for m in p.finditer(text)])  # type: ignore[attr-defined]
    out.append([_spans(m) for m in p.finditer(text, pos, endpos)])  # type: ignore[attr-defined]
    out.append(p.findall(text))  # type: ignore[attr-defined]
    out.append(p.findall(text, pos, endpos))  # type: ignore[attr-defined]
    out.append(p.sub("", text))  # type: ignore[attr-defined]
    out.append(p.sub(" ", text, count=2))  # type: ignore[attr-defined]
    out.append(p.sub("<\\g<0>>", text))  # type: ignore[attr-defined]
    out.append(p.sub("中", text))  # type: ignore[attr-defined]
    out.append(p.sub(lambda m: m.group().upper(), text))  # type: ignore[attr-defined]
    out.append(p.subn("-", text))  # type: ignore[attr-defined]
    out.append(p.split(text))  # type: ignore[attr-defined]
    out.append(p.split(text, maxsplit=1))  # type: ignore[attr-defined]
    encoded = text.encode("utf-8")
    out.append(_spans(p.search(encoded, min(pos, len(encoded)))))  # type: ignore[attr-defined]
    out.append([_spans(m) for m in p.finditer(encoded)])  # type: ignore[attr-defined]
    out.append(p.findall(encoded))  # type: ignore[attr-defined]
    out.append(p.sub(b"-", encoded))  # type: ignore[attr-defined]
    out.append(p.split(encoded))  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize("ignore_case", [False, True])
def test_compiled_patterns_give_google_re2s_results_on_every_script(ignore_case: bool) -> None:
    import random

    rng = random.Random(12)
    texts = ["", " ", "中", "\U0001f600", "e\u0301"]
    texts += ["".join(rng.choice(_MIX_PIECES) for _ in range(rng.randint(1, 12))) for _ in range(300)]
    for pattern in _EQUIVALENCE_PATTERNS:
        ours = safe_regex.compile(pattern, ignore_case=ignore_case)
        assert safe_regex.uses_re2(ours)
        stock = _stock(pattern, ignore_case)
        assert ours.pattern == stock.pattern  # type: ignore[attr-defined]
        assert ours.groupindex == stock.groupindex  # type: ignore[attr-defined]
        for text in texts:
            pos, endpos = sorted((rng.randint(-2, len(text) + 2), rng.randint(-2, len(text) + 2)))
            assert _results(ours, text, pos, endpos) == _results(stock, text, pos, endpos), (pattern, text)


def test_compiled_patterns_survive_pickling() -> None:
    import pickle

    compiled = safe_regex.compile(r"(?P<id>[A-Z]+-\d+)", ignore_case=True, name="ticket id")
    copy = pickle.loads(pickle.dumps(compiled))
    assert copy is compiled  # compiled again through the cache: the same object
    assert copy.search("see inc-42")["id"] == "inc-42"  # type: ignore[index]


def test_pattern_set_of_compiled_patterns_keeps_their_flags_and_refuses_fallbacks() -> None:
    vpn = safe_regex.compile(r"\bvpn\b", ignore_case=True)
    digits = safe_regex.compile(r"\d{3}")
    patterns = safe_regex.PatternSet.of([vpn, digits])
    assert patterns.matching("My VPN, ticket ３２１") == {0, 1}
    assert patterns.matching("vpnx 12") == set()
    with pytest.raises(safe_regex.UnsafePattern, match="cues: pattern 1"):
        safe_regex.PatternSet.of([vpn, safe_regex.compile(r"(?<!a)b")], name="cues")


def test_a_google_re2_whose_internals_moved_falls_back_to_its_own_wrapper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lean wrapper uses google-re2's internal module; a release that changes it must cost speed only."""

    class Moved(safe_regex._Regexp):
        def finditer(self, text, pos=None, endpos=None):  # type: ignore[no-untyped-def]
            raise AttributeError("_Match has no attribute '_spans'")

    assert safe_regex._lean_wrapper_works()
    monkeypatch.setattr(safe_regex, "_Regexp", Moved)
    safe_regex._lean_wrapper_works.cache_clear()
    safe_regex._compile.cache_clear()
    try:
        assert not safe_regex._lean_wrapper_works()
        pattern = safe_regex.compile(r"(\d+)-(\w+)", name="moved internals")
        assert not isinstance(pattern, safe_regex._Regexp)
        assert pattern.findall("12-ab 打印 34-cd") == [("12", "ab"), ("34", "cd")]
    finally:
        safe_regex._lean_wrapper_works.cache_clear()
        safe_regex._compile.cache_clear()
