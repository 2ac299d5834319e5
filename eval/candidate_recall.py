"""Candidate depth for Chinese paraphrases: how many true paraphrases reach the fused top 50.

``python -m eval.candidate_recall [--datasets ../shared/datasets] [--pairs 600] [--collection 6000]``

On AFQMC *train* (choices are made on training data; dev stays the retrieval benchmark's), a
sample of paraphrase pairs (label 1) is put into one knowledge base with other train questions as
distractors. Each pair's first question searches it (``KnowledgeBase.search`` exactly as the
service runs it, k=5 as similar-case suggestions ask, and k=50) for each ``HybridConfig.candidates``
depth and each Chinese BM25 weight: the share of pairs whose second question is among the hits
(recall@5, recall@50), at rank 1, and ms per query. The search fetches max(candidates, 4k) rows
per channel, so the depth matters for k=5 only.
Embeddings are cached under ``var/cache/retrieval``. Only aggregate numbers are printed.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from eval.report import DEFAULT_DATASETS
from eval.retrieval_bench import _MAIN, _csv, _embed
from knowledge import Document, DocumentStore, KnowledgeBase
from knowledge.base import LEXICAL, HybridConfig

logger = logging.getLogger(__name__)

DEPTHS = (50, 100, 200)
BM25_WEIGHTS = (0.25, 0.5)
KS = (5, 50)


def sample(
    datasets: Path, pairs: int, collection: int, seed: int = 0
) -> tuple[list[str], list[tuple[int, int]]]:
    """Sentences of the collection and (query, paraphrase) positions among them."""
    rows = _csv(datasets / "cn-afqmc-pairs" / "train.csv")
    rng = random.Random(seed)
    positives = [
        (r["sentence1"], r["sentence2"])
        for r in rows
        if r["label"] == "1" and r["sentence1"] != r["sentence2"]
    ]
    chosen = rng.sample(positives, min(pairs, len(positives)))
    sentences = list(dict.fromkeys(s for pair in chosen for s in pair))
    others = list(dict.fromkeys(s for r in rows for s in (r["sentence1"], r["sentence2"])))
    rng.shuffle(others)
    seen = set(sentences)
    for s in others:
        if len(sentences) >= collection:
            break
        if s not in seen:
            seen.add(s)
            sentences.append(s)
    position = {s: i for i, s in enumerate(sentences)}
    return sentences, [(position[a], position[b]) for a, b in chosen]


def measure(
    sentences: Sequence[str], pairs: Sequence[tuple[int, int]], configs: Sequence[tuple[str, HybridConfig]]
) -> list[tuple[str, int, float, float, float]]:
    """(name, k, recall@k, recall@1, ms/query) per config and k."""
    main = _embed(_MAIN, sentences)
    docs = [Document(doc_id=f"q{i}", body=s) for i, s in enumerate(sentences)]
    out = []
    with tempfile.TemporaryDirectory(prefix="candidate-recall-") as tmp:
        kb = KnowledgeBase(DocumentStore(Path(tmp) / "kb.db"), main, Path(tmp) / "index")
        kb.load()
        for start in range(0, len(docs), 500):
            kb.add(docs[start : start + 500])
        vectors = main.encode([sentences[a] for a, _ in pairs])
        for name, config in configs:
            kb.config = config
            for k in KS:
                if k * 4 >= max(DEPTHS) and config.candidates != min(DEPTHS):
                    continue  # max(candidates, 4k) is the same fetch: the same hits
                found, first, times = [], [], []
                for (a, b), vector in zip(pairs, vectors, strict=True):
                    clock = time.perf_counter()
                    hits = kb.search(vector, "default", k=k, text=sentences[a], exclude_ids=(f"q{a}",))
                    times.append((time.perf_counter() - clock) * 1000)
                    ids = [h.document.doc_id for h in hits]
                    found.append(f"q{b}" in ids)
                    first.append(bool(ids) and ids[0] == f"q{b}")
                out.append((name, k, float(np.mean(found)), float(np.mean(first)), statistics.median(times)))
                logger.info("%s, k=%d: recall@k %.3f, recall@1 %.3f, %.1f ms", name, *out[-1][1:])
        kb.store.close()
    return out


def configs() -> list[tuple[str, HybridConfig]]:
    base = HybridConfig()
    out = []
    for weight in BM25_WEIGHTS:
        table = {**base.weights["zh"], LEXICAL: weight}
        for depth in DEPTHS:
            config = replace(base, candidates=depth, weights={**base.weights, "zh": table})
            out.append((f"candidates {depth}, zh BM25 weight {weight:g}", config))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--pairs", type=int, default=600)
    parser.add_argument("--collection", type=int, default=6000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sentences, pairs = sample(args.datasets, args.pairs, args.collection)
    rows = measure(sentences, pairs, configs())
    print(f"AFQMC train: {len(pairs)} paraphrase pairs in a collection of {len(sentences)} questions")
    print("| config | k | recall@k | recall@1 | ms/query (median) |\n|---|---|---|---|---|")
    for name, k, recall, r1, ms in rows:
        print(f"| {name} | {k} | {recall:.3f} | {r1:.3f} | {ms:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
