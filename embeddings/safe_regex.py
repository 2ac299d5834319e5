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

import itertools
import logging
import re
import time
from collections.abc import Iterable, Iterator
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


_NULL_SPAN = (-1, -1)
_UNANCHORED = _re2._re2.RE2.Anchor.UNANCHORED
_ANCHOR_START = _re2._re2.RE2.Anchor.ANCHOR_START
_ANCHOR_BOTH = _re2._re2.RE2.Anchor.ANCHOR_BOTH
_bytes_to_chars = _re2._re2.BytesToCharLen
_chars_to_bytes = _re2._re2.CharLenToBytes


class _Match(_re2._Match):
    """google-re2's match object, reading its group count from the pattern once, not per call."""

    __slots__ = ()

    def __getitem__(self, group: int | str) -> Any:
        if isinstance(group, int):
            number = group
        else:
            try:
                number = self._regexp._index[group]
            except KeyError:
                raise IndexError("bad group name") from None
        if not 0 <= number <= self._regexp._groups:
            raise IndexError("bad group index")
        start, end = self._spans[number]
        return None if start < 0 and end < 0 else self._text[start:end]

    def group(self, *groups: int | str) -> Any:
        if not groups:
            return self.__getitem__(0)
        if len(groups) == 1:
            return self.__getitem__(groups[0])
        return tuple(self.__getitem__(g) for g in groups)

    def groups(self, default: Any = None) -> tuple[Any, ...]:
        items = (self.__getitem__(g) for g in range(1, self._regexp._groups + 1))
        return tuple(default if item is None else item for item in items)

    def start(self, group: int = 0) -> int:
        if not 0 <= group <= self._regexp._groups:
            raise IndexError("bad group index")
        return int(self._spans[group][0])

    def end(self, group: int = 0) -> int:
        if not 0 <= group <= self._regexp._groups:
            raise IndexError("bad group index")
        return int(self._spans[group][1])

    def span(self, group: int = 0) -> tuple[int, int]:
        if not 0 <= group <= self._regexp._groups:
            raise IndexError("bad group index")
        return self._spans[group]


class _Regexp:
    """A pattern compiled by RE2, searched with less per-call work than google-re2's own wrapper.

    Results are those of ``re2.compile(pattern, options)`` call for call (the tests compare them on
    random mixes of scripts); what changes is the Python around RE2's C++ ``Match``: an ASCII
    ``str`` (``str.isascii`` is a flag CPython keeps, not a scan) is searched with its byte offsets
    as character offsets, so no offset is converted; other text converts the offsets of a match
    in one pass; the group count and names are read from RE2 once, at compile time, not per match.
    """

    __slots__ = ("_groups", "_index", "_pattern", "_reduce", "_regexp")

    def __init__(self, pattern: str, options: Any, reduce: tuple[Any, ...]) -> None:
        self._pattern = pattern
        self._regexp = _re2._re2.RE2(pattern.encode("utf-8"), options)
        if not self._regexp.ok():
            raise _re2.error(self._regexp.error())
        self._groups: int = self._regexp.NumberOfCapturingGroups()
        self._index: dict[str, int] = {
            name.decode("utf-8"): index for name, index in self._regexp.NamedCapturingGroups()
        }
        self._reduce = reduce

    def __reduce__(self) -> tuple[Any, ...]:
        return self._reduce  # compiled again, through the same checks, when unpickled

    @property
    def pattern(self) -> str:
        return self._pattern

    @property
    def groups(self) -> int:
        return self._groups

    @property
    def groupindex(self) -> dict[str, int]:
        return dict(self._index)

    def _match(self, anchor: Any, text: Any, pos: int | None = None, endpos: int | None = None) -> Any:
        """google-re2's ``_Regexp._match``, step for step, without its per-match offset tables."""
        size = len(text)
        pos = 0 if pos is None else max(0, min(pos, size))
        endpos = size if endpos is None else max(0, min(endpos, size))
        if pos > endpos:
            return
        if isinstance(text, str):
            for spans in self._spans(anchor, text, pos, endpos):
                yield _Match(self, text, pos, endpos, spans)
            return
        match = self._regexp.Match  # bytes: google-re2's match objects carry the current position
        while True:
            spans = match(anchor, text, pos, endpos)
            if spans[0] == _NULL_SPAN:
                return
            yield _Match(self, text, pos, endpos, spans)
            if pos == endpos:
                return
            pos = pos + 1 if pos == spans[0][1] else spans[0][1]

    def _spans(self, anchor: Any, text: str, pos: int, endpos: int) -> Iterator[Any]:
        """Each match's group spans in character offsets, left to right (``pos <= endpos`` clamped)."""
        if text.isascii():
            return self._spans_ascii(anchor, text, pos, endpos)
        return self._spans_encoded(anchor, text, pos, endpos)

    def _spans_ascii(self, anchor: Any, text: str, pos: int, endpos: int) -> Iterator[Any]:
        # ASCII: the text's UTF-8 is itself, byte offsets are character offsets.
        data = text.encode("ascii")
        match = self._regexp.Match
        while True:
            spans = match(anchor, data, pos, endpos)
            if spans[0] == _NULL_SPAN:
                return
            yield spans
            if pos == endpos:
                return
            pos = pos + 1 if pos == spans[0][1] else spans[0][1]

    def _spans_encoded(self, anchor: Any, text: str, pos: int, endpos: int) -> Iterator[Any]:
        data = text.encode("utf-8")
        at = _chars_to_bytes(data, 0, pos)
        end = len(data) if endpos == len(text) else at + _chars_to_bytes(data, at, endpos - pos)
        # Offsets only grow from match to match: each converts from the last one, so a text is
        # scanned once in all, however many matches and groups it has.
        last_byte, last_char = at, pos
        match = self._regexp.Match
        grouped = self._groups > 0
        while True:
            spans = match(anchor, data, at, end)
            start, stop = spans[0]
            if start < 0:
                return
            if grouped:
                chars: dict[int, int] = {}
                for offset in sorted({o for span in spans for o in span if o >= 0}):
                    last_char += _bytes_to_chars(data, last_byte, offset)
                    last_byte = offset
                    chars[offset] = last_char
                yield [span if span == _NULL_SPAN else (chars[span[0]], chars[span[1]]) for span in spans]
            else:  # one span: two conversions, no table
                first = last_char + _bytes_to_chars(data, last_byte, start)
                last_char = first + _bytes_to_chars(data, start, stop)
                last_byte = stop
                yield [(first, last_char)]
            if at == end:
                return
            at = at + _chars_to_bytes(data, at, 1) if at == stop else stop

    def _first(self, anchor: Any, text: Any, pos: int | None, endpos: int | None) -> Any:
        """The first match (search, match, fullmatch): one RE2 call, no generator."""
        if not isinstance(text, str):
            return next(self._match(anchor, text, pos, endpos), None)
        size = len(text)
        pos = 0 if pos is None else max(0, min(pos, size))
        endpos = size if endpos is None else max(0, min(endpos, size))
        if pos > endpos:
            return None
        if text.isascii():
            spans = self._regexp.Match(anchor, text.encode("ascii"), pos, endpos)
            return None if spans[0] == _NULL_SPAN else _Match(self, text, pos, endpos, spans)
        found = next(self._spans_encoded(anchor, text, pos, endpos), None)
        return None if found is None else _Match(self, text, pos, endpos, found)

    def search(self, text: Any, pos: int | None = None, endpos: int | None = None) -> Any:
        return self._first(_UNANCHORED, text, pos, endpos)

    def match(self, text: Any, pos: int | None = None, endpos: int | None = None) -> Any:
        return self._first(_ANCHOR_START, text, pos, endpos)

    def fullmatch(self, text: Any, pos: int | None = None, endpos: int | None = None) -> Any:
        return self._first(_ANCHOR_BOTH, text, pos, endpos)

    def finditer(self, text: Any, pos: int | None = None, endpos: int | None = None) -> Any:
        return self._match(_UNANCHORED, text, pos, endpos)

    def findall(self, text: Any, pos: int | None = None, endpos: int | None = None) -> list[Any]:
        empty = type(text)()
        if self._groups > 1 or not isinstance(text, str):
            return [
                m[0]
                if not self._groups
                else m.groups(default=empty)[0]
                if self._groups == 1
                else m.groups(default=empty)
                for m in self._match(_UNANCHORED, text, pos, endpos)
            ]
        # Strings cut from the spans: no match object per match.
        size = len(text)
        pos = 0 if pos is None else max(0, min(pos, size))
        endpos = size if endpos is None else max(0, min(endpos, size))
        if pos > endpos:
            return []
        spans = self._spans(_UNANCHORED, text, pos, endpos)
        if not self._groups:
            return [text[s[0][0] : s[0][1]] for s in spans]
        return [empty if s[1] == _NULL_SPAN else text[s[1][0] : s[1][1]] for s in spans]

    def _split(self, cb: Any, text: Any, maxsplit: int = 0) -> tuple[list[Any], int]:
        """google-re2's ``_split``: the pieces between matches and ``cb(spans)``'s pieces for each."""
        if maxsplit < 0:
            return [text], 0
        if isinstance(text, str):
            matches: Iterable[Any] = self._spans(_UNANCHORED, text, 0, len(text))
        else:
            matches = (m._spans for m in self._match(_UNANCHORED, text))
        if maxsplit > 0:
            matches = itertools.islice(matches, maxsplit)
        pieces = []
        end = 0
        count = 0
        for spans in matches:
            start, stop = spans[0]
            pieces.append(text[end:start])
            pieces.extend(cb(spans))
            end = stop
            count += 1
        pieces.append(text[end:])
        return pieces, count

    def split(self, text: Any, maxsplit: int = 0) -> list[Any]:
        groups = range(1, self._groups + 1)
        pieces, _ = self._split(
            lambda spans: [
                None if spans[g] == _NULL_SPAN else text[spans[g][0] : spans[g][1]] for g in groups
            ],
            text,
            maxsplit,
        )
        return pieces

    def subn(self, repl: Any, text: Any, count: int = 0) -> tuple[Any, int]:
        if not callable(repl) and _is_literal(repl):  # what ``expand`` gives every match: itself
            cb: Any = lambda spans: [repl]  # noqa: E731
        else:
            size = len(text)

            def cb(spans: Any) -> list[Any]:
                m = _Match(self, text, 0, size, spans)
                return [repl(m) if callable(repl) else m.expand(repl)]

        pieces, number = self._split(cb, text, count)
        return type(text)().join(pieces), number

    def sub(self, repl: Any, text: Any, count: int = 0) -> Any:
        return self.subn(repl, text, count)[0]


@lru_cache(maxsize=256)
def _is_literal(template: Any) -> bool:
    """Whether google-re2's ``expand`` returns ``template`` unchanged (ASCII without a backslash)."""
    if isinstance(template, str):
        return template.isascii() and "\\" not in template
    return isinstance(template, bytes) and template.isascii() and b"\\" not in template


# Texts and patterns on which ``_Regexp`` must answer as google-re2's own wrapper does before it is used.
_SELF_TEST_TEXTS = ("", "ORA-00600 at 10:30, v2.3", "打印机 ORA-00600 无法连接 ☃ café", "a\u0301b 😀 x1")
_SELF_TEST_PATTERNS = (r"[A-Z]+-(\d+)", r"(?P<w>\w)(\d)?", r"\s*", r"[\x{4e00}-\x{9fff}]+")


@lru_cache(maxsize=1)
def _lean_wrapper_works() -> bool:
    """Whether ``_Regexp`` (built on google-re2's internal ``_re2`` module and ``_Match``, which a
    release may change) gives google-re2's own results here; if not, patterns use ``re2.compile``:
    slower, never wrong."""
    try:
        for pattern in _SELF_TEST_PATTERNS:
            lean, own = _Regexp(pattern, _options(), ()), _re2.compile(pattern, _options())
            for text in _SELF_TEST_TEXTS:
                if (
                    [m.span() + m.groups() for m in lean.finditer(text)]
                    != [m.span() + m.groups() for m in own.finditer(text)]
                    or lean.findall(text) != own.findall(text)
                    or lean.split(text) != own.split(text)
                    or lean.sub("-", text) != own.sub("-", text)
                ):
                    raise ValueError(f"differs from google-re2 on {pattern!r}")
    except Exception as exc:  # an internal API that moved: any failure means "do not use it"
        logger.warning("google-re2 %s: its own wrapper is used (%s)", getattr(_re2, "__version__", "?"), exc)
        return False
    return True


@lru_cache(maxsize=4096)
def _compile(pattern: str, ignore_case: bool, multiline: bool, dotall: bool, name: str) -> Pattern:
    translated = to_re2(pattern)
    if translated is not None:
        try:
            flagged = _inline_flags(ignore_case, multiline, dotall) + translated
            if not _lean_wrapper_works():
                return _re2.compile(flagged, _options())
            compiled: Pattern = _Regexp(
                flagged, _options(), (_compile, (pattern, ignore_case, multiline, dotall, name))
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

    def __init__(self, patterns: Iterable[str], *, name: str = "pattern set", translate: bool = True) -> None:
        self._set = _re2.Set.SearchSet(_options())
        self.size = 0
        for index, pattern in enumerate(patterns):
            try:
                self._set.Add((to_re2(pattern) or pattern) if translate else pattern)
            except _re2.error as exc:
                raise UnsafePattern(f"{name}: pattern {index} {pattern!r} cannot run on RE2") from exc
            self.size += 1
        self._set.Compile()

    @classmethod
    def of(cls, patterns: Iterable[Pattern], *, name: str = "pattern set") -> PatternSet:
        """A set of patterns :func:`compile` made, as RE2 runs them (their flags included).

        ``matching(text)`` then holds the index of a pattern exactly when ``pattern.search(text)``
        finds a match: one pass instead of a search per pattern.
        """
        compiled = list(patterns)
        for index, pattern in enumerate(compiled):
            if not uses_re2(pattern):
                raise UnsafePattern(f"{name}: pattern {index} {pattern.pattern!r} does not run on RE2")
        return cls((pattern.pattern for pattern in compiled), name=name, translate=False)

    def matching(self, text: str) -> set[int]:
        """The indexes (in the order given) of the patterns that match somewhere in ``text``."""
        return set(self._set.Match(text) or ())
