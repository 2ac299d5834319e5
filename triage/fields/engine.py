"""The small engine under the field tables: linear-time patterns with boundary post-checks.

Every pattern compiles through :mod:`triage.safe_regex` (RE2). RE2 has no look-around, so a
table row states its word boundaries as data instead: ``before`` is a character class that must
not precede the match, ``after`` a pattern that must not start right after it. :class:`Rx` puts
the first into the pattern, checks the second in Python on a few characters and, when a match
fails, searches again from the next start, as a backtracking engine would.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from triage import safe_regex
from triage.safe_regex import Pattern

TABLE_PATH = Path(__file__).resolve().parent.parent / "resources" / "field_table.yaml"


@functools.cache
def read_resource(path: Path) -> Mapping[str, Any]:
    """A YAML resource of this package (the field table, the lexicon), read once per process."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise RuntimeError(
            f"field resource {path} could not be read ({e}); restore it from the package"
        ) from e
    if not isinstance(data, dict):
        raise RuntimeError(f"field resource {path} is not a mapping; restore it from the package")
    return data


_TYPES: Mapping[str, int] = read_resource(TABLE_PATH)["types"]
#: Every field type, in the table's order.
FIELD_TYPES: tuple[str, ...] = tuple(_TYPES)
#: Types a deployment may add patterns for (``FieldExtractor(patterns=...)``).
CUSTOMISABLE_TYPES: tuple[str, ...] = tuple(read_resource(TABLE_PATH)["customisable"].split())
TIER_CUSTOM, TIER_RULE, TIER_MODEL = 3, 2, 1
# Tie-breaks between rule candidates of equal length: the more specific type wins.
RANK: Mapping[str, int] = {t: int(rank) for t, rank in _TYPES.items()}

_WINDOW = 24  # characters either side that a boundary check reads


@dataclass(frozen=True, slots=True)
class Candidate:
    """A span some extractor proposes; overlaps are resolved by :func:`resolve`."""

    start: int
    end: int
    type: str
    value: Any
    tier: int = TIER_RULE
    source: str = "rule"
    pii: bool = False
    partial: bool = False  # a date or time without its year or day (no created_at to infer it)
    # Dates and times: what joining a date with a nearby time needs ("date", expr, hms, tz) or
    # ("time", hms, tz); ``None`` for everything else.
    detail: Any = field(default=None, compare=False)


class Hit:
    """A match with named groups addressable by name (RE2's match objects take numbers only).

    Group 0 is the pattern's own match: the ``body`` group when :class:`Rx` put a boundary
    character in front of it.
    """

    __slots__ = ("_body", "_index", "_m", "_shift")

    def __init__(self, m: Any, index: Mapping[str, int], shift: int = 0, body: int = 0) -> None:
        self._m = m
        self._index = index
        self._shift = shift  # where the searched window starts in the ticket text
        self._body = body

    def _n(self, group: int | str) -> int:
        if isinstance(group, str):
            return self._index[group]
        return group or self._body

    def group(self, group: int | str = 0) -> Any:
        return self._m.group(self._n(group))

    def start(self, group: int | str = 0) -> int:
        start = int(self._m.start(self._n(group)))
        return start + self._shift if start >= 0 else start

    def end(self, group: int | str = 0) -> int:
        end = int(self._m.end(self._n(group)))
        return end + self._shift if end >= 0 else end

    def span(self, group: int | str = 0) -> tuple[int, int]:
        return self.start(group), self.end(group)

    def has(self, group: str) -> bool:
        """Whether the pattern has a group of that name and it took part in the match."""
        return group in self._index and self._m.group(self._index[group]) is not None

    def groupdict(self) -> dict[str, str | None]:
        return {name: self.get(name) for name in self._index}

    def get(self, group: str) -> str | None:
        """The group's text, ``None`` when the pattern lacks it or it did not take part."""
        return self._m.group(self._index[group]) if group in self._index else None


_BODY = "zzbody"


class Rx:
    """A compiled pattern plus the boundaries RE2 cannot express itself.

    ``before``: one character class that must not precede the match ("[A-Za-z0-9]" for a word
    start); it becomes part of the pattern (the match starts the text or follows a character
    outside the class), so RE2 itself tries only word starts and a refused match costs one more
    search from the next boundary. ``after``: a pattern that must not start right after the
    match. ``check`` sees each match and may refuse it (what a look-ahead used to say).
    """

    __slots__ = (
        "_after",
        "_after_char",
        "_body",
        "_restart",
        "check",
        "index",
        "pattern",
        "source",
    )

    def __init__(
        self,
        pattern: str,
        *,
        before: str = "",
        after: str = "",
        ignore_case: bool = False,
        multiline: bool = False,
        check: Callable[[Hit, str], bool] | None = None,
        name: str = "field pattern",
    ) -> None:
        flags = {"ignore_case": ignore_case, "multiline": multiline}
        # The pattern without its boundaries, flags inline: what a PatternSet prefilter looks for.
        self.source = ("(?i)" if ignore_case else "") + ("(?m)" if multiline else "") + pattern
        self._restart: Pattern | None = None
        if before and not _is_char_class(before):
            raise ValueError(f"{name}: before={before!r} must be one character class such as [A-Za-z0-9]")
        if before:
            negated = "[^" + before[1:]
            self.pattern = safe_regex.compile(f"(?:^|{negated})(?P<{_BODY}>{pattern})", name=name, **flags)
            self._restart = safe_regex.compile(f"{negated}(?P<{_BODY}>{pattern})", name=name, **flags)
        else:
            self.pattern = safe_regex.compile(pattern, name=name, **flags)
        self.index: Mapping[str, int] = dict(self.pattern.groupindex)  # type: ignore[attr-defined]
        self._body = self.index.get(_BODY, 0)
        self._after = (
            safe_regex.compile(f"(?:{after})", ignore_case=ignore_case, name=name + " (after)")
            if after
            else None
        )
        # One character class after the match: tested per character, without a regex call.
        self._after_char = (
            _CharTest(self._after) if self._after is not None and _is_char_class(after) else None
        )
        self.check = check

    def accepts(self, text: str, hit: Hit) -> bool:
        end = hit.end()
        if self._after_char is not None:
            if end < len(text) and self._after_char(text[end]):
                return False
        elif self._after is not None and end < len(text) and self._after.match(text[end : end + _WINDOW]):
            return False
        return self.check is None or self.check(hit, text)

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[Hit]:
        """Matches that pass the boundary checks, left to right, not overlapping."""
        limit = len(text) if endpos is None else endpos
        restart = -1
        for m in self.pattern.finditer(text, pos, limit):
            hit = Hit(m, self.index, 0, self._body)
            if self.accepts(text, hit):
                yield hit
            else:
                restart = hit.start()
                break
        if restart >= 0:
            yield from self._after_refusal(text, restart, limit)

    def _after_refusal(self, text: str, refused: int, limit: int) -> Iterator[Hit]:
        """Go on searching after a refused match that started at ``refused``.

        RE2's binding re-encodes a ``str`` on every call, so searching again from each refused
        start would cost the whole text each time; the text is encoded once here and searched as
        bytes from each new start, as a backtracking engine would try the next start.
        """
        if safe_regex.uses_re2(self.pattern):
            data: str | bytes = text.encode("utf-8")
            offsets = _Offsets(text, data)
        else:  # a deployment's look-around pattern on ``re``, which searches a ``str`` as it is
            data, offsets = text, _Offsets(text, text)
        pattern = self._restart or self.pattern
        # The next match's boundary character may be the refused match's first one.
        pos = offsets.byte(refused if self._restart is not None else refused + 1)
        end = offsets.byte(limit)
        while pos <= end:
            m = cast(Any, pattern).search(data, pos, end)  # RE2 searches bytes without re-encoding them
            if m is None:
                return
            hit = Hit(_CharSpans(text, m, offsets), self.index, 0, self._body)
            if self.accepts(text, hit):
                yield hit
                pos = m.end() if m.end() > m.start() else m.end() + 1
                pattern = self.pattern if self._restart is None else self._restart
            else:
                refused = hit.start()
                pos = offsets.byte(refused if self._restart is not None else refused + 1)

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> Hit | None:
        return next(self.finditer(text, pos, endpos), None)

    def match_at(self, text: str, pos: int, width: int = 64) -> Hit | None:
        """A match starting exactly at ``pos`` within the next ``width`` characters (boundaries checked).

        Reads a window, not the whole text: RE2's binding re-encodes all it is given on every call.
        """
        if self._restart is not None and pos > 0:
            m = self._restart.match(text[pos - 1 : pos + width])
            shift = pos - 1
        else:
            m = self.pattern.match(text[pos : pos + width])
            shift = pos
        if m is None:
            return None
        hit = Hit(m, self.index, shift, self._body)
        return hit if self.accepts(text, hit) else None

    def fullmatch(self, text: str, pos: int = 0, endpos: int | None = None) -> bool:
        """Whether ``text[pos:endpos]`` matches as a whole (meant for short slices; no boundaries)."""
        return self.pattern.fullmatch(text[pos:endpos]) is not None


class _Offsets:
    """Byte offsets of a text's UTF-8 encoding and back to character offsets."""

    __slots__ = ("_byte_of_char", "_char_of_byte")

    def __init__(self, text: str, data: str | bytes) -> None:
        if len(data) == len(text):  # ASCII: the same offsets
            self._byte_of_char: list[int] | None = None
            self._char_of_byte: dict[int, int] | None = None
            return
        byte_of_char = [0]
        for ch in text:
            byte_of_char.append(byte_of_char[-1] + len(ch.encode("utf-8")))
        self._byte_of_char = byte_of_char
        self._char_of_byte = {b: c for c, b in enumerate(byte_of_char)}

    def byte(self, char: int) -> int:
        return char if self._byte_of_char is None else self._byte_of_char[char]

    def char(self, byte: int) -> int:
        if byte < 0 or self._char_of_byte is None:
            return byte
        return self._char_of_byte[byte]


class _CharSpans:
    """A bytes match of RE2 seen with character offsets into the ``str`` it was encoded from."""

    __slots__ = ("_spans", "_text")

    def __init__(self, text: str, m: Any, offsets: _Offsets) -> None:
        self._text = text
        self._spans = [(offsets.char(m.start(i)), offsets.char(m.end(i))) for i in range(m.re.groups + 1)]

    def start(self, group: int = 0) -> int:
        return self._spans[group][0]

    def end(self, group: int = 0) -> int:
        return self._spans[group][1]

    def group(self, group: int = 0) -> str | None:
        start, end = self._spans[group]
        return None if start < 0 else self._text[start:end]


class _CharTest:
    """Whether one character is in a compiled one-class pattern: ASCII from a table built once."""

    __slots__ = ("_ascii", "_pattern")

    def __init__(self, pattern: Pattern) -> None:
        self._pattern = pattern
        self._ascii = tuple(pattern.fullmatch(chr(i)) is not None for i in range(128))

    def __call__(self, ch: str) -> bool:
        code = ord(ch)
        return self._ascii[code] if code < 128 else self._pattern.fullmatch(ch) is not None


def _is_char_class(pattern: str) -> bool:
    """Whether ``pattern`` is one bracketed character class such as ``[A-Za-z0-9_]``."""
    if len(pattern) < 3 or pattern[0] != "[" or pattern[-1] != "]" or pattern[1] == "^":
        return False
    inner = pattern[1:-1].replace("\\\\", "").replace("\\]", "")
    return "]" not in inner and "[" not in inner


def alternation(names: Iterable[str]) -> str:
    """Literal names as one alternation, longest first; a space in a name matches any whitespace."""
    return "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in sorted(set(names), key=len, reverse=True))


def resolve(candidates: list[Candidate]) -> list[Candidate]:
    """Keep non-overlapping candidates: higher tier, then longer span, then more specific type."""
    if not candidates:
        return []
    candidates.sort(key=lambda c: (-c.tier, c.start - c.end, -RANK.get(c.type, 0), c.start))
    taken = bytearray(max(c.end for c in candidates))
    kept: list[Candidate] = []
    for c in candidates:
        if c.end <= c.start or taken.find(1, c.start, c.end) != -1:
            continue
        taken[c.start : c.end] = b"\x01" * (c.end - c.start)
        kept.append(c)
    kept.sort(key=lambda c: c.start)
    return kept
