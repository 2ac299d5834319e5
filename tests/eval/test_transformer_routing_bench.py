from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.transformer_routing_bench import choose_blend_weight, held_out_split, main


def test_main_returns_2_without_datasets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--datasets", str(tmp_path / "absent")]) == 2
    assert "--datasets" in capsys.readouterr().err


def _log(probs: list[list[float]]) -> np.ndarray:
    return np.log(np.asarray(probs))


def test_choose_blend_weight_picks_the_side_that_is_right() -> None:
    y = np.array([0, 1, 2, 0])
    right = _log([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2]])
    wrong = _log([[0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1], [0.2, 0.6, 0.2]])
    assert choose_blend_weight(right, wrong, y) == (pytest.approx(0.55), pytest.approx(1.0))
    assert choose_blend_weight(wrong, right, y) == (pytest.approx(0.0), pytest.approx(1.0))


def test_choose_blend_weight_finds_a_mix_neither_side_reaches() -> None:
    # a is sure and right on rows 0-1 and barely wrong on row 2; b the other way round.
    y = np.array([0, 1, 2])
    a = _log([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.4, 0.3, 0.3]])
    b = _log([[0.3, 0.4, 0.3], [0.4, 0.3, 0.3], [0.05, 0.05, 0.9]])
    w, f1 = choose_blend_weight(a, b, y, grid=(0.0, 0.5, 1.0))
    assert (w, f1) == (0.5, pytest.approx(1.0))
    assert choose_blend_weight(a, b, y, grid=(0.0, 1.0))[1] < 1.0


def test_held_out_split_takes_a_share_of_every_label_but_never_its_last_row() -> None:
    labels = ["a"] * 20 + ["b"] * 7 + ["c"]
    mask = held_out_split(labels, share=0.15)
    codes = np.asarray(labels)
    assert mask[codes == "a"].sum() == 3
    assert mask[codes == "b"].sum() == 1
    assert not mask[codes == "c"].any()
    assert np.array_equal(mask, held_out_split(labels, share=0.15))
