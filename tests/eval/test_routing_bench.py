from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from eval.routing_bench import DATASETS, interval_table, main, markdown, run, summary

_TEMPLATES = {
    "网络": ["VPN 无法连接 错误 {n}", "交换机 端口 {n} down", "网络 丢包 {n}"],
    "数据库": ["数据库 连接池 满 {n}", "ORA-{n} 报错", "慢查询 {n} 秒"],
    "主机": ["服务器 {n} 宕机", "磁盘 使用率 {n}%", "CPU 告警 {n}"],
}
_HASHING = {"use-m3": "hashing:64", "minilm": "hashing:32", "channel": "hashing:16"}

pytestmark = pytest.mark.slow  # cross-validated baselines and a trained bundle: ~25 s


def _write(path: Path, rows: list[tuple[str, str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label"])
        writer.writerows(rows)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("datasets")
    rng = random.Random(0)
    rows = [
        (f"{label}-{i}", rng.choice(templates).format(n=rng.randint(10, 99)), label)
        for label, templates in _TEMPLATES.items()
        for i in range(40)
    ]
    rng.shuffle(rows)
    split = root / DATASETS["cn-ict"][0]
    _write(split / "train.csv", rows[:90])
    _write(split / "test.csv", rows[90:])
    return root


def test_routing_bench_runs_baselines_and_ours(datasets: Path, tmp_path: Path) -> None:
    methods = ["tfidf+svc", "knn-use", "ours-use-m3", "ours"]
    results: dict = {}
    rows, timings = run(datasets, ["cn-ict"], methods, _HASHING, tmp_path / "cache", results=results)
    intervals = interval_table(results)
    assert "| cn-ict | ours - ours-use-m3 |" in intervals
    assert (
        "| cn-ict | ours - tfidf+svc (best baseline macro-F1) |" in intervals or "ours - knn-use" in intervals
    )
    assert [r["method"] for r in rows if r["dataset"] == "cn-ict"] == methods
    # The channel candidate was weighed out of fold; the USE-m3-only run had none.
    assert set(timings["cn-ict"]["channel"]["candidates"]) == {"hashing:64", "hashing:16"}
    assert set(timings["cn-ict (ours-use-m3)"]["channel"]["candidates"]) == {"hashing:64"}
    ours = next(r for r in rows if r["dataset"] == "cn-ict" and r["method"] == "ours")
    assert ours["accuracy"] > 0.8 and 0.0 <= ours["ECE"] <= 1.0
    assert 0.0 <= ours["deployable coverage"] <= 1.0
    assert any(r["dataset"].startswith("cn-ict (unseen") for r in rows)
    assert timings["cn-ict"]["p50_ms"] > 0 and timings["cn-ict"]["per_s"] > 0
    assert list((tmp_path / "cache").glob("cn-ict-train-hashing_64-*.npy"))
    table = markdown(rows)
    assert table.count("\n") == len(rows) + 1 and "| cn-ict | ours |" in table
    assert "| cn-ict |" in summary(rows)


def test_routing_bench_writes_its_section(datasets: Path, tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    args = ["--datasets", str(datasets), "--only", "cn-ict", "--methods", "ours", "--out", str(out)]
    encoders = "use-m3=hashing:64,minilm=hashing:32,channel=hashing:16"
    assert main([*args, "--encoders", encoders, "--cache", str(tmp_path / "c")]) == 0
    text = out.read_text(encoding="utf-8")
    assert "<!-- bench:routing -->" in text and "| cn-ict | ours |" in text and "- Command:" in text
    assert "| cn-ict | hashing:16 |" in text and "**Semantic channel**" in text
    assert "**Paired bootstrap**" in text
    assert "**Semantic channel per language**" in text and "| mix gain over one channel" in text


@pytest.mark.parametrize(
    "args",
    [["--datasets", "/nonexistent/datasets"], ["--only", "nope"], ["--methods", "magic"]],
)
def test_routing_bench_refuses_missing_data_and_unknown_names(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "not found" in err or "known:" in err
