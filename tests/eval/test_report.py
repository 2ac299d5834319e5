from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from eval.report import chosen_names, missing_datasets, publish

BENCHES = ("fields_bench", "handling_bench", "headline_bench", "routing_bench")


def test_missing_datasets_is_false_and_silent_for_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert missing_datasets(tmp_path) is False
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name", ["absent", "a-file.csv"])
def test_missing_datasets_says_in_one_line_how_to_fix(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_text("id,text\n", encoding="utf-8")
    assert missing_datasets(path) is True
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(path) in err and "not found" in err and "--datasets PATH" in err


@pytest.mark.parametrize("bench", BENCHES)
def test_bench_main_exits_2_without_datasets(
    bench: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main = importlib.import_module(f"eval.{bench}").main
    missing = tmp_path / "missing"
    assert main(["--datasets", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"datasets folder {missing} not found; pass --datasets PATH (the shared datasets folder)\n"
    )


def test_chosen_names_parses_and_refuses_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    assert chosen_names(" itsm, cn-ict ,", ["itsm", "cn-ict"], "dataset") == ["itsm", "cn-ict"]
    assert chosen_names("", ["itsm"], "dataset") == []
    assert chosen_names("itsm,nope", ["itsm", "cn-ict"], "dataset") is None
    assert "unknown dataset(s) nope; known: itsm, cn-ict" in capsys.readouterr().err


def test_publish_prints_and_replaces_only_its_own_section_and_writes_raw_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, raw = tmp_path / "BENCHMARKS.md", tmp_path / "raw.json"
    out.write_text(
        "# Benchmarks\n\n<!-- bench:a -->\nold a\n<!-- /bench:a -->\n\n<!-- bench:b -->\nb\n<!-- /bench:b -->\n"
    )
    publish("## A\nnew a", "a", out, raw, {"p50_ms": 1.5, "when": Path("x")})
    assert "## A\nnew a" in capsys.readouterr().out
    text = out.read_text()
    assert "new a" in text and "old a" not in text and "<!-- bench:b -->\nb\n" in text
    assert json.loads(raw.read_text()) == {"p50_ms": 1.5, "when": "x"}
    publish("## C", "c", None)
    assert out.read_text() == text
