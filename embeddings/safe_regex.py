"""Regular expressions for request text on an engine that guarantees linear time (Google RE2).

Every pattern applied to text a client sent (rules, fields, cleaning, summary) is compiled here.
RE2 runs in time linear in the input for every pattern it accepts, so no ticket can cost more
than a scan of its own length. RE2 has no look-around and no back-references; a pattern that uses
them falls back to Python's ``re`` only after :func:`check_linear` has timed it on worst-case inputs
of two sizes (every character class the patterns meet, repeated) and found no super-linear growth;
a pattern that fails the check is refused with :class:`UnsafePattern` naming it.

Python's ``re`` gives ``\\d``, ``\\w`` and ``\\s`` their Unicode meaning; RE2 gives them the ASCII one.
:func:`compile` rewrites them into RE2's Unicode classes (``\\d`` is ``\\p{Nd}``, ``\\w`` is
``[\\p{L}\\p{N}_]``, ``\\s`` also takes ``\\p{Z}``), so a pattern keeps the meaning it has in ``re``.
Two differences remain, both on RE2's side of the line: ``\\b`` is a boundary between an ASCII word
character and anything else (so ``\\bVPN\\b`` matches in ``VPN连不上``, where ``re`` sees no boundary),
and ``$`` without ``multiline`` matches only at the very end (``re`` also matches before a final
newline).

Usage mirrors ``re``::

    pattern = safe_regex.compile(r"\\bVPN\\b", ignore_case=True, name="rule 'vpn'")
    pattern.search(text)
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Protocol

logger = logging.getLogger(__name__)

try:  # google-re2: a main dependency; the import is guarded only to give a clear message.
    import re2 as _re2
except ImportError as exc:  # pragma: no cover - installed with the package
    raise ImportError("google-re2 is required (pip install google-re2)") from exc

# Inputs a pattern is timed on when RE2 cannot take it: runs of each character class that ticket
# patterns meet, and of two classes alternating (the classic trigger for nested quantifiers).
_PROBE_UNITS = (
    "1",
    "a",
    "A",
    " ",
    "中",
    ".",
    "-",
    "_",
    "@",
    "/",
    ":",
    "1a",
    "a ",
    "1 ",
    "中 ",
    "a-",
    "1.",
    "a.",
)
# Sizes grow by about 1.4x, so an exponential pattern is caught at a few dozen characters, before
# one probe could take long; a quadratic one by the time the runs reach thousands.
_PROBE_SIZES = (8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024, 2048, 4096, 8192)
# A linear pattern scans a probe in well under this: a fixed start-up plus a per-character budget.
_BASE_SECONDS = 0.002
_PER_CHAR_SECONDS = 2e-6


class UnsafePattern(ValueError):
    """A pattern could run in more than linear time on some input; the message names it."""


class Pattern(Protocol):
    """The part of ``re.Pattern`` the project uses; RE2's compiled patterns provide the same."""

    @property
    def pattern(self) -> str: ...

    def search(self, string: str, pos: int = ..., endpos: int = ...) -> Any: ...
    def match(self, string: str, pos: int = ..., endpos: int = ...) -> Any: ...
    def fullmatch(self, string: str, pos: int = ..., endpos: int = ...) -> Any: ...
    def finditer(self, string: str, pos: int = ..., endpos: int = ...) -> Any: ...
    def findall(self, string: str, pos: int = ..., endpos: int = ...) -> Any: ...
    def sub(self, repl: Any, string: str, count: int = ...) -> str: ...
    def split(self, string: str, maxsplit: int = ...) -> list[str]: ...


# Python's Unicode meaning of the class escapes, in RE2 syntax: inside a character class (no
# brackets) and on their own. ``\\W``, ``\\S`` inside a class have no RE2 spelling: such a pattern
# goes to the checked fallback.
_DIGIT = r"\p{Nd}"
_WORD = r"\p{L}\p{N}_"
_SPACE = r"\t\n\x0b\f\r \x1c-\x1f\x{85}\p{Z}"
_IN_CLASS = {"d": _DIGIT, "w": _WORD, "s": _SPACE, "D": r"\P{Nd}"}
_ALONE = {
    "d": _DIGIT,
    "D": r"\P{Nd}",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "s": f"[{_SPACE}]",
    "S": f"[^{_SPACE}]",
    "Z": r"\z",
}


def to_re2(pattern: str) -> str | None:
    """``pattern`` in RE2 syntax with Python's Unicode ``\\d \\w \\s``; None when it cannot be said."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        char = pattern[i]
        if char == "\\" and i + 1 < n:
            escaped = pattern[i + 1]
            table = _IN_CLASS if in_class else _ALONE
            if escaped in table:
                out.append(table[escaped])
            elif escaped in "uU":  # Python's \\uXXXX and \\UXXXXXXXX are RE2's \\x{...}
                width = 4 if escaped == "u" else 8
                out.append("\\x{" + pattern[i + 2 : i + 2 + width] + "}")
                i += 2 + width
                continue
            elif in_class and escaped in "WS":
                return None
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            out.append(char)
            i += 1
            continue
        if char == "[":
            in_class = True
            out.append(char)
            i += 1
            # A leading "^" and a "]" right after the opening (or after "^") are literal parts.
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append(r"\]")
                i += 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _inline_flags(ignore_case: bool, multiline: bool, dotall: bool) -> str:
    letters = "".join(flag for flag, on in (("i", ignore_case), ("m", multiline), ("s", dotall)) if on)
    return f"(?{letters})" if letters else ""


def _re_flags(ignore_case: bool, multiline: bool, dotall: bool) -> int:
    flags = 0
    if ignore_case:
        flags |= re.IGNORECASE
    if multiline:
        flags |= re.MULTILINE
    if dotall:
        flags |= re.DOTALL
    return flags


def _probe_seconds(compiled: re.Pattern[str], text: str) -> float:
    started = time.perf_counter()
    for _ in compiled.finditer(text):
        pass
    return time.perf_counter() - started


def check_linear(compiled: re.Pattern[str], name: str, extra_units: Iterable[str] = ()) -> None:
    """Refuse a backtracking pattern whose time grows faster than linearly on worst-case inputs.

    Every probe (a run of one character class, with and without a failing tail so every start
    position is tried) must finish within a linear budget of its length. ``extra_units`` adds
    pattern-specific strings to repeat (e.g. a literal the pattern loops on).
    """
    units = tuple(dict.fromkeys((*_PROBE_UNITS, *extra_units)))
    for size in _PROBE_SIZES:
        budget = _BASE_SECONDS + _PER_CHAR_SECONDS * size
        for unit in units:
            text = unit * max(1, size // len(unit))
            for probe in (text, text + "\x00"):
                # The best of two runs: one preempted run on a busy machine is not the pattern's fault.
                seconds = _probe_seconds(compiled, probe)
                if seconds > budget:
                    seconds = min(seconds, _probe_seconds(compiled, probe))
                if seconds > budget:
                    raise UnsafePattern(
                        f"{name}: pattern {compiled.pattern!r} takes {seconds * 1000:.1f} ms on "
                        f"{len(probe):,} characters of {unit!r} (linear budget {budget * 1000:.1f} ms): "
                        "it backtracks; rewrite it without nested or overlapping repeats (or without "
                        "look-around, so RE2 can run it)"
                    )


# RE2's memory budget per compiled pattern or set, most of it for the lazy DFA's states. At RE2's
# default (8 MiB) the field rules' set (60 patterns with Unicode classes) filled its DFA cache on
# every ticket, threw it away and rebuilt it: ~0.4 ms a text instead of ~7 us. It stays linear
# either way; the budget only bounds memory (the set's DFA settles at ~17 MiB on real tickets).
MAX_MEM = 64 << 20


def _options() -> Any:
    options = _re2.Options()
    options.log_errors = False  # a pattern RE2 cannot take is expected here, not an error to print
    options.max_mem = MAX_MEM
    return options


@lru_cache(maxsize=4096)
def _compile(pattern: str, ignore_case: bool, multiline: bool, dotall: bool, name: str) -> Pattern:
    translated = to_re2(pattern)
    if translated is not None:
        try:
            compiled: Pattern = _re2.compile(
                _inline_flags(ignore_case, multiline, dotall) + translated, _options()
            )
            return compiled
        except _re2.error:
            pass  # look-around or a back-reference: RE2 cannot run it; check the backtracking engine
    try:
        fallback = re.compile(pattern, _re_flags(ignore_case, multiline, dotall))
    except re.error as exc:
        raise UnsafePattern(f"{name}: pattern {pattern!r} is not a valid regular expression: {exc}") from exc
    check_linear(fallback, name)
    logger.debug("%s: RE2 cannot run %r; using re after the linear-time check", name, pattern)
    return fallback


def compile(
    pattern: str,
    *,
    ignore_case: bool = False,
    multiline: bool = False,
    dotall: bool = False,
    name: str = "pattern",
) -> Pattern:
    """Compile ``pattern`` on RE2 (linear time); fall back to ``re`` only after a linear-time check.

    Raises :class:`UnsafePattern` (naming ``name``) for an invalid or super-linear pattern.
    """
    return _compile(pattern, ignore_case, multiline, dotall, name)


def uses_re2(pattern: Pattern) -> bool:
    """Whether the compiled pattern runs on RE2 (else it passed the linear-time check on ``re``)."""
    return not isinstance(pattern, re.Pattern)


class PatternSet:
    """Which of several patterns occur anywhere in a text, in one linear-time RE2 pass.

    Meant as a prefilter: a pattern that does not occur needs no search of its own. Patterns get
    the same Unicode class escapes as :func:`compile`, so the prefilter never misses what the
    pattern's own search would find.
    """

    def __init__(self, patterns: Iterable[str], *, name: str = "pattern set") -> None:
        self._set = _re2.Set.SearchSet(_options())
        self.size = 0
        for index, pattern in enumerate(patterns):
            try:
                self._set.Add(to_re2(pattern) or pattern)
            except _re2.error as exc:
                raise UnsafePattern(f"{name}: pattern {index} {pattern!r} cannot run on RE2") from exc
            self.size += 1
        self._set.Compile()

    def matching(self, text: str) -> set[int]:
        """The indexes (in the order given) of the patterns that match somewhere in ``text``."""
        return set(self._set.Match(text) or ())
