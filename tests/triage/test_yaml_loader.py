from __future__ import annotations

import re
from pathlib import Path

import pytest

from triage.yaml_loader import YamlFileError, read_yaml_mapping


def _write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "config.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_read_yaml_mapping_returns_the_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "rules:\n  - name: r\nversion: 1\n")
    assert read_yaml_mapping(path, what="the rule file") == {"rules": [{"name": "r"}], "version": 1}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # An unclosed list: the problem is at the end, and the message says where the list began.
        (
            "departments:\n  IT: {required: [error_code\n",
            r"invalid YAML at line 3, column 1: expected ',' or ']', but got '<stream end>' "
            r"\(while parsing a flow sequence started at line 2, column 18\); fix the syntax there",
        ),
        ("a: b: c\n", r"invalid YAML at line 1, column 5: mapping values are not allowed here"),
        (b"rules: \x00\n", r"invalid YAML at character 8: unacceptable character #x0000"),
        (
            b"rules: caf\xe9\n",
            r"cannot read the test file: not UTF-8 text \(byte 10\); save the file as UTF-8",
        ),
        ("- just\n- a list\n", r"expected a mapping at the top level, found a list"),
        ("just words\n", r"expected a mapping at the top level, found a string"),
        ("", r"expected a mapping at the top level, found an empty file"),
    ],
)
def test_read_yaml_mapping_names_file_and_problem(tmp_path: Path, content: str | bytes, message: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(YamlFileError, match=message) as excinfo:
        read_yaml_mapping(path, what="the test file")
    assert str(excinfo.value).startswith(f"{path}: ")
    assert "\n" not in str(excinfo.value)


def test_read_yaml_mapping_reports_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(YamlFileError, match=re.escape(f"{path}: cannot read the test file: no such file")):
        read_yaml_mapping(path, what="the test file")


def test_read_yaml_mapping_reports_a_folder(tmp_path: Path) -> None:
    with pytest.raises(YamlFileError, match=r"cannot read the test file \(Is a directory\); check the path"):
        read_yaml_mapping(tmp_path, what="the test file")


def test_read_yaml_mapping_raises_the_callers_error_with_its_expectation(tmp_path: Path) -> None:
    class RuleError(ValueError):
        pass

    path = _write(tmp_path, "[1, 2]\n")
    with pytest.raises(RuleError, match="expected a mapping with 'rules' at the top level, found a list"):
        read_yaml_mapping(
            path, what="the rule file", expected="a mapping with 'rules' at the top level", error=RuleError
        )
