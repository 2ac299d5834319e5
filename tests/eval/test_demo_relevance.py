"""eval.demo_relevance: the generated demo's knowledge base searched as served, floors beside."""

from __future__ import annotations

import pytest

from eval.demo_relevance import QUERIES, main


def test_it_scores_every_query_against_the_demo_cases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--tickets", "60", "--encoder", "hashing:64"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(lines) == len(QUERIES) + 1
    for (name, _, _), line in zip(QUERIES, lines[1:], strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[0] == name
        scores = [float(s) for s in cells[3].split(", ")]
        assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert "| an off-topic English ticket | no | en (0.185) |" in out
    assert "zh (0.449)" in out


def test_it_refuses_an_empty_demo() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--tickets", "0"])
    assert exit_info.value.code == 2
