from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from eval.report import chosen_names, missing_datasets

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
