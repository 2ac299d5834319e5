from __future__ import annotations

import csv
from pathlib import Path

from eval.candidate_recall import sample


def test_sample_keeps_paraphrase_pairs_and_fills_with_distractors(tmp_path: Path) -> None:
    folder = tmp_path / "cn-afqmc-pairs"
    folder.mkdir()
    with (folder / "train.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence1", "sentence2", "label"])
        for i in range(40):
            writer.writerow([f"问题{i}甲", f"问题{i}乙", "1" if i % 2 else "0"])
    sentences, pairs = sample(tmp_path, pairs=5, collection=30)
    assert len(pairs) == 5 and len(sentences) == 30 == len(set(sentences))
    for a, b in pairs:
        assert sentences[a].endswith("甲") and sentences[b] == sentences[a][:-1] + "乙"
        assert int(sentences[a][2:-1]) % 2 == 1  # only pairs labelled as paraphrases
