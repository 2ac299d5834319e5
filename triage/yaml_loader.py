"""Reading a YAML configuration file (rules, completeness templates) with errors that say what to fix.

Every error names the file and the problem in one line: a missing or unreadable file, text that is
not UTF-8, invalid YAML (with the line and column), or a top level that is not a mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


class YamlFileError(ValueError):
    """A YAML file that cannot be read or does not hold a mapping; the message names the file."""


_KINDS: dict[type, str] = {
    list: "a list",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
}


def read_yaml_mapping(
    path: Path,
    *,
    what: str,
    expected: str = "a mapping at the top level",
    error: type[Exception] = YamlFileError,
) -> Mapping[str, Any]:
    """The mapping a YAML file holds; anything else raises ``error`` naming ``path`` and the fix.

    ``what`` names the file in messages ("the rule file"); ``expected`` describes the top level
    ("a mapping with 'rules' at the top level"); ``error`` is the caller's own error class.
    """
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise error(f"{path}: cannot read {what}: no such file; check the path") from e
    except OSError as e:
        raise error(f"{path}: cannot read {what} ({e.strerror or e}); check the path") from e
    except UnicodeDecodeError as e:
        raise error(
            f"{path}: cannot read {what}: not UTF-8 text (byte {e.start}); save the file as UTF-8"
        ) from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise error(f"{path}: invalid YAML {_describe(e)}; fix the syntax there") from e
    if not isinstance(data, Mapping):
        found = "an empty file" if data is None else _KINDS.get(type(data), type(data).__name__)
        raise error(f"{path}: expected {expected}, found {found}")
    return data


def _describe(e: Exception) -> str:
    """Where and what, in one line: 'at line 3, column 1: <problem> (<context> started at line 2, ...)'."""
    import yaml

    if isinstance(e, yaml.reader.ReaderError) and isinstance(e.character, int):  # e.g. a NUL byte
        return f"at character {e.position + 1}: unacceptable character #x{e.character:04x} ({e.reason})"
    if not isinstance(e, yaml.MarkedYAMLError) or e.problem_mark is None:
        return "(" + " ".join(str(e).split()) + ")"
    mark = e.problem_mark
    described = f"at line {mark.line + 1}, column {mark.column + 1}: {e.problem or 'syntax error'}"
    if e.context:
        started = e.context_mark
        since = f" started at line {started.line + 1}, column {started.column + 1}" if started else ""
        described += f" ({e.context}{since})"
    return described
