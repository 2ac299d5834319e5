"""eval.routing_levers: each lever searched out of fold on a training split, against the shipped choice."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest

from eval.routing_bench import DATASETS
from eval.routing_levers import LEVERS, fit_offsets, main
from training.train import _score

_TEMPLATES = {
    "网络": ["VPN 无法连接 错误 {n}", "交换机 端口 {n} down", "网络 丢包 {n}"],
    "数据库": ["数据库 连接池 满 {n}", "ORA-{n} 报错", "慢查询 {n} 秒"],
    "主机": ["服务器 {n} 宕机", "磁盘 使用率 {n}%", "CPU 告警 {n}"],
}
_ENCODERS = "use-m3=hashing:64,channel=hashing:16"


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("datasets")
    rng = random.Random(0)
    split = root / DATASETS["cn-ict"][0]
    split.mkdir(parents=True)
    for part, n in (("train", 40), ("test", 5)):
        with (split / f"{part}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "text", "label"])
            for label, templates in _TEMPLATES.items():
                for i in range(n):
                    writer.writerow(
                        [f"{part}-{label}-{i}", rng.choice(templates).format(n=rng.randint(10, 99)), label]
                    )
    return root


def test_every_lever_is_weighed_against_the_shipped_choice(
    datasets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "--datasets",
        str(datasets),
        "--only",
        "cn-ict",
        "--encoders",
        _ENCODERS,
        "--cache",
        str(tmp_path),
    ]
    assert main(args) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| cn-ict |")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    assert cells[0][1] == "shipped" and cells[0][2] in ("use-m3", "channel")
    # Chinese text: the character n-gram lever runs too; the long-text lever needs an ONNX encoder.
    assert {c[1] for c in cells[1:]} == set(LEVERS) - {"long-text"}
    for c in cells[1:]:
        assert 0.0 <= float(c[3]) <= 1.1
        gain, _, se = c[4].partition(" (± ")
        assert -1.0 <= float(gain) <= 1.0 and float(se.rstrip(")")) >= 0.0
    # Three Chinese character n-gram variants, two of each semantic model.
    assert sum(c[1] == "cjk-chars" for c in cells) == 3 and sum(c[1] == "ridge-alpha" for c in cells) == 2
    offsets = [c for c in cells if c[1] == "class-offsets"]
    assert len(offsets) == 2 and all("OOF ECE" in c[5] for c in offsets)
    assert list(tmp_path.glob("cn-ict-train-hashing_64-*.npy"))
    assert not list(tmp_path.glob("cn-ict-test-*.npy"))  # the test split is never encoded


@pytest.mark.parametrize(
    "args", [["--only", "nope"], ["--levers", "magic"], ["--encoders", "minilm=hashing:8"]]
)
def test_it_refuses_unknown_names(datasets: Path, args: list[str]) -> None:
    assert main(["--datasets", str(datasets), *args]) == 2


def test_class_offsets_undo_a_bias_against_one_class() -> None:
    # Three classes; the scores hold the truth but class 2's column sits 1.5 too low, so most of
    # its tickets go elsewhere. Coordinate ascent finds a positive offset for it and wins back the score.
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    logits = rng.normal(0.0, 1.0, (600, 3))
    logits[np.arange(600), y] += 2.0
    logits[:, 2] -= 1.5
    offsets = fit_offsets(logits, y, 3)
    assert offsets[2] - offsets[:2].max() > 0.75
    before = _score(y, logits.argmax(axis=1), 3)
    assert _score(y, (logits + offsets).argmax(axis=1), 3) > before + 0.05
