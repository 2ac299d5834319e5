"""Encoder fine-tuning: base vs fine-tuned MiniLM, in torch and as ONNX int8, on the retrieval benchmark's data.

Run ``python -m eval.finetune_bench [--datasets ../shared/datasets] [--out BENCHMARKS.md] [--retrain]``
plus any ``training.finetune train`` setting flag (``--gitbugs-pairs 3000``).

Trains ``training.finetune`` with those settings (or reuses the model cached under
``var/cache/finetune/<settings fingerprint>``), exports the base and the fine-tuned encoder to ONNX
int8, then measures all four encoders, dense retrieval only, on the data of ``eval.retrieval_bench``:

- GitBugs Hadoop / SeaMonkey: recall@10 and MRR (rank cut at 100) of each gold duplicate, by cosine
  alone and fused with BM25 (RRF), the way the MiniLM channel is used beside BM25;
- cn-ict split: label agreement and resolution ROUGE-L of the nearest train ticket (all, and unseen);
- AFQMC dev: ROC-AUC of the pair cosine;
- speed: texts/s encoding 256 GitBugs texts (median of 3) and one-text latency, in the same run;
- agreement: cosine between each int8 model's vectors and its torch model's.

Only aggregate numbers are printed or written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings import Encoder, get_encoder
from eval.report import missing_datasets, stamp, update_section
from eval.retrieval_bench import (
    _MAIN,
    CachedEncoder,
    _auc,
    _bm25_english,
    _char_rouge,
    _csv,
    _embed,
    _knowledge_base,
    bm25_scores,
    load_gitbugs,
    rrf,
    search_bugs,
)
from eval.scale_bench import embed_cached
from knowledge.base import embedding_text
from training.finetune import (
    DEFAULT_DATASETS,
    REPORT_FILE,
    FinetuneSettings,
    add_settings_arguments,
    base_directory,
    export_onnx,
    finetune,
    settings_flags,
    settings_from_arguments,
    training_pairs,
)

logger = logging.getLogger(__name__)

_CACHE = Path("var") / "cache" / "finetune"
_RETRIEVAL_CACHE = Path("var") / "cache" / "retrieval"  # base MiniLM vectors, shared with retrieval_bench
_SHARED_BASE = "sentence-transformers:minilm"  # its vectors are shared with retrieval_bench
_DEPTH = 100
_SPEED_TEXTS = 256


BASE, BASE_INT8, TUNED, TUNED_INT8 = (
    "base (torch)",
    "base, ONNX int8",
    "fine-tuned (torch)",
    "fine-tuned, ONNX int8",
)


@dataclass(frozen=True)
class Section:
    title: str
    results: dict[str, dict[str, float]]  # encoder label -> metric -> value
    duplicate_pairs: int = 0  # GitBugs: the gold pairs behind recall@10


@dataclass(frozen=True)
class Contender:
    label: str
    encoder: Encoder
    cache: Path  # where its vectors are cached
    cache_name: str  # file-name-safe; changes with the weights


class _Named:
    """An encoder under a file-name-safe cache name (specs of directories contain slashes)."""

    def __init__(self, encoder: Encoder, name: str) -> None:
        self.name = name
        self._encoder = encoder

    @property
    def dim(self) -> int:
        return self._encoder.dim

    def load(self) -> None:
        self._encoder.load()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._encoder.encode(texts)


def _model_digest(folder: Path) -> str:
    """A digest of a model directory's weight files: cached vectors follow the weights, not the path."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.suffix in {".safetensors", ".bin", ".onnx"}:
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:12]


def _vectors(contender: Contender, texts: Sequence[str]) -> dict[str, np.ndarray]:
    unique = sorted(set(texts))
    named = _Named(contender.encoder, contender.cache_name)
    vectors = embed_cached(named, unique, contender.cache).astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return dict(zip(unique, vectors, strict=True))


# ---------------------------------------------------------------- models


def prepare_models(datasets: Path, settings: FinetuneSettings, retrain: bool) -> dict[str, Path]:
    """Train (or reuse) the fine-tuned model and the ONNX int8 exports; returns each contender's directory."""
    root = _CACHE / settings.fingerprint()
    base = base_directory(settings.base)
    folders = {
        BASE: base,
        BASE_INT8: _CACHE / f"base-{_model_digest(base)}" / "onnx-int8",
        TUNED: root / "model",
        TUNED_INT8: root / "onnx-int8",
    }
    if retrain or not (folders[TUNED] / REPORT_FILE).is_file():
        finetune(training_pairs(datasets, settings), folders[TUNED], settings)
    for source, target in ((settings.base, folders[BASE_INT8]), (str(folders[TUNED]), folders[TUNED_INT8])):
        if retrain or not (target / "encoder.json").is_file():
            export_onnx(source, target)
    return folders


def contenders(settings: FinetuneSettings, folders: dict[str, Path]) -> list[Contender]:
    out = []
    for label, folder in folders.items():
        if label == BASE:
            spec = f"sentence-transformers:{settings.base}"
        else:
            spec = f"{'onnx' if label.endswith('int8') else 'sentence-transformers'}:{folder}"
        if spec == _SHARED_BASE:
            out.append(Contender(label, get_encoder(spec), _RETRIEVAL_CACHE, spec))
        else:
            name = f"{spec.split(':', 1)[0]}-{_model_digest(folder)}"
            out.append(Contender(label, get_encoder(spec), _CACHE / "vectors", name))
    return out


# ---------------------------------------------------------------- measurements


def _ranks(scores: np.ndarray, rows: Sequence[int], ids: Sequence[str]) -> dict[str, list[str]]:
    out = {}
    for row in rows:
        s = scores[row].astype(np.float64).copy()
        s[row] = -np.inf
        out[ids[row]] = [ids[i] for i in np.argsort(-s, kind="stable")[:_DEPTH]]
    return out


def _found(ranking: dict[str, list[str]], pairs: Sequence[tuple[str, str]], prefix: str) -> dict[str, float]:
    found = [ranking[q].index(d) + 1 if d in ranking[q] else None for q, d in pairs]
    return {
        f"{prefix}recall@10": float(np.mean([r is not None and r <= 10 for r in found])),
        f"{prefix}MRR": float(np.mean([1.0 / r if r else 0.0 for r in found])),
    }


def gitbugs(datasets: Path, project: str, models: Sequence[Contender]) -> Section:
    """Recall@10 and MRR of the gold duplicates: dense, RRF(dense, BM25), and the service's hybrid search.

    The hybrid is ``KnowledgeBase.search`` as ``eval.retrieval_bench`` runs it (USE-m3 main vectors,
    BM25, ``HybridConfig`` weights) with the encoder as the further English channel.
    """
    data = load_gitbugs(datasets, project)
    ids, titles, texts, pairs, queries = data.ids, data.titles, data.texts, data.pairs, data.queries
    position = data.position
    rows = [position[q] for q in queries]
    tokens = _bm25_english(texts)
    bm25 = bm25_scores(tokens, tokens)
    main = _embed(_MAIN, texts)
    results: dict[str, dict[str, float]] = {}
    for model in models:
        vectors = _vectors(model, texts)
        matrix = np.stack([vectors[t] for t in texts])
        dense = matrix @ matrix.T
        metrics = _found(_ranks(dense, rows, ids), pairs, "")
        metrics |= _found(_ranks(rrf([dense, bm25]), rows, ids), pairs, "RRF+BM25 ")
        with tempfile.TemporaryDirectory(prefix="finetune-bench-") as tmp:
            kb = _knowledge_base(Path(tmp), data.docs, main, [CachedEncoder(model.encoder, vectors)])
            found = search_bugs(
                kb,
                main,
                queries,
                [texts[position[q]] for q in queries],
                [titles[position[q]] for q in queries],
            )
            hybrid = {q: [h.document.doc_id for h in hits] for q, hits in found.items()}
            kb.store.close()
        metrics |= _found(hybrid, pairs, "hybrid ")
        results[model.label] = metrics
    title = f"GitBugs {project} ({len(pairs)} pairs, {len(ids)} bugs; one pair is {1 / len(pairs):.3f} of recall@10)"
    return Section(title, results, duplicate_pairs=len(pairs))


def ict(datasets: Path, models: Sequence[Contender]) -> Section:
    """Label agreement and resolution ROUGE-L of each test ticket's nearest train ticket."""
    root = datasets / "cn-ict-fault-tickets" / "split"
    train, test = _csv(root / "train.csv"), _csv(root / "test.csv")
    train_texts, test_texts = [r["text"] for r in train], [r["text"] for r in test]
    seen = set(train_texts)
    unseen = np.array([t not in seen for t in test_texts])
    has_resolution = np.array([bool(r["resolution"]) for r in test])
    results = {}
    for model in models:
        vectors = _vectors(model, train_texts + test_texts)
        dense = np.stack([vectors[t] for t in test_texts]) @ np.stack([vectors[t] for t in train_texts]).T
        top = dense.argmax(axis=1)
        label = np.array([train[j]["label"] == test[i]["label"] for i, j in enumerate(top)])
        rouge = np.array(
            [
                _char_rouge(train[j]["resolution"] or "", test[i]["resolution"] or "")
                for i, j in enumerate(top)
            ]
        )
        results[model.label] = {
            "label@1": float(label.mean()),
            "ROUGE-L": float(rouge[has_resolution].mean()),
            "unseen label@1": float(label[unseen].mean()),
            "unseen ROUGE-L": float(rouge[unseen & has_resolution].mean()),
        }
    return Section(f"cn-ict split ({len(test)} test, {int(unseen.sum())} unseen)", results)


def afqmc(datasets: Path, models: Sequence[Contender]) -> Section:
    """ROC-AUC of the cosine of each dev pair."""
    pairs = _csv(datasets / "cn-afqmc-pairs" / "dev.csv")
    first, second = [p["sentence1"] for p in pairs], [p["sentence2"] for p in pairs]
    labels = np.array([int(p["label"]) for p in pairs])
    results = {}
    for model in models:
        vectors = _vectors(model, first + second)
        cosine = np.sum(
            np.stack([vectors[s] for s in first]) * np.stack([vectors[s] for s in second]), axis=1
        )
        results[model.label] = {"ROC-AUC": _auc(labels, cosine)}
    return Section(f"AFQMC dev ({len(pairs)} pairs)", results)


def speed(datasets: Path, models: Sequence[Contender]) -> dict[str, dict[str, float]]:
    """Texts/s on a batch of GitBugs texts (median of 3) and one-text latency (median of 20).

    The encoders take turns in every round, so a change in the machine's load hits them alike.
    """
    bugs = _csv(datasets / "gitbugs-hadoop-seamonkey" / "hadoop_bugs.csv")
    rng = np.random.default_rng(0)
    chosen = rng.choice(len(bugs), size=min(_SPEED_TEXTS, len(bugs)), replace=False)
    texts = [embedding_text(bugs[i]["Summary"] or "", bugs[i]["Description"] or "") for i in chosen]
    batch: dict[str, list[float]] = {m.label: [] for m in models}
    single: dict[str, list[float]] = {m.label: [] for m in models}
    for model in models:
        model.encoder.load()
        model.encoder.encode(texts[:32])
    for _ in range(3):
        for model in models:
            started = time.perf_counter()
            model.encoder.encode(texts)
            batch[model.label].append(time.perf_counter() - started)
    for text in texts[:20]:
        for model in models:
            started = time.perf_counter()
            model.encoder.encode([text])
            single[model.label].append(time.perf_counter() - started)
    return {
        m.label: {
            "texts/s": len(texts) / statistics.median(batch[m.label]),
            "ms/text (one at a time)": 1000 * statistics.median(single[m.label]),
        }
        for m in models
    }


def agreement(datasets: Path, models: Sequence[Contender]) -> dict[str, tuple[float, float]]:
    """Mean and minimum cosine between int8 and torch vectors of the same texts (GitBugs Hadoop + AFQMC dev)."""
    bugs = _csv(datasets / "gitbugs-hadoop-seamonkey" / "hadoop_bugs.csv")
    english = sorted({embedding_text(b["Summary"] or "", b["Description"] or "") for b in bugs})
    dev = _csv(datasets / "cn-afqmc-pairs" / "dev.csv")
    # The same text sets as the quality runs, so the cached vectors are reused.
    chinese = sorted({p["sentence1"] for p in dev} | {p["sentence2"] for p in dev})
    by_label = {m.label: m for m in models}
    out = {}
    for torch_label, onnx_label in (
        (BASE, BASE_INT8),
        (TUNED, TUNED_INT8),
    ):
        for language, texts in (("en", english), ("zh", chinese)):
            a, b = _vectors(by_label[torch_label], texts), _vectors(by_label[onnx_label], texts)
            cosine = np.array([float(a[t] @ b[t]) for t in texts])
            out[f"{onnx_label} vs torch, {language} ({len(texts)} texts)"] = (
                float(cosine.mean()),
                float(cosine.min()),
            )
    return out


# ---------------------------------------------------------------- report


def _table(results: dict[str, dict[str, float]], digits: int = 3) -> list[str]:
    names = list(dict.fromkeys(k for metrics in results.values() for k in metrics))
    lines = ["| encoder | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for label, metrics in results.items():
        lines.append(f"| {label} | " + " | ".join(f"{metrics[n]:.{digits}f}" for n in names) + " |")
    return lines


def deltas(english: Sequence[Section], metric: str) -> list[float]:
    """Fine-tuned (torch) minus base (torch), per duplicate set."""
    return [s.results[TUNED][metric] - s.results[BASE][metric] for s in english]


def verdict(english: Sequence[Section]) -> tuple[bool, str]:
    """Keep fine-tuning only if the service's hybrid search gains recall@10 and MRR on average and
    loses at most 0.01 on either duplicate set."""
    metrics = ("recall@10", "MRR", "hybrid recall@10", "hybrid MRR")
    changes = {metric: deltas(english, metric) for metric in metrics}
    helps = all(np.mean(changes[m]) > 0 and min(changes[m]) >= -0.01 for m in metrics[2:])
    described = "; ".join(f"{m} {' / '.join(f'{x:+.3f}' for x in changes[m])}" for m in metrics)
    moved = " and ".join(
        f"{round(d * s.duplicate_pairs):+d} of {s.duplicate_pairs}"
        for d, s in zip(changes["hybrid recall@10"], english, strict=True)
    )
    return helps, f"{described} (Hadoop / SeaMonkey); hybrid duplicates found in the top 10: {moved}"


def _losses(report: dict[str, object]) -> str:
    losses = report.get("loss")
    if not isinstance(losses, dict):
        return "not recorded"
    return ", ".join(f"{source} {v['first']} -> {v['last']}" for source, v in losses.items())


def markdown(
    settings: FinetuneSettings,
    report: dict[str, object],
    sections: Sequence[Section],
    speeds: dict[str, dict[str, float]],
    agreements: dict[str, tuple[float, float]],
    command: str,
    seconds: float,
) -> str:
    english = [s for s in sections if s.duplicate_pairs]
    helps, described = verdict(english)
    pairs = report.get("pairs", {})
    out = [
        "## Encoder fine-tuning (MultipleNegativesRankingLoss) and ONNX int8 serving",
        "",
        stamp(command).rstrip(),
        f"- Wall time: {seconds / 60:.1f} min (model, exports and vectors cached under `var/cache/finetune`).",
        f"- Training (`training.finetune`, settings `{settings.fingerprint()}`): base `{settings.base}`, "
        f"pairs {json.dumps(pairs)}, batch {settings.batch_size} (one source per batch, in-batch negatives), "
        f"{report.get('steps')} steps = {settings.epochs} epoch, lr {settings.learning_rate:g} "
        f"(linear warm-up {settings.warmup_ratio:g}, then linear decay), scale {settings.scale:g}, "
        f"max_seq_length {settings.max_seq_length} while training ({report.get('serving_max_seq_length')} "
        f"when encoding), seed {settings.seed}; {report.get('seconds')} s on {report.get('threads')} "
        f"threads; MNRL loss, first -> last 3 batches: {_losses(report)}.",
        "- Training pairs, from training data only: GitBugs summary <-> description of the bugs in no "
        "duplicate pair (every id in `eval_duplicate_pairs_*.csv` and the other pair files left out, and "
        "bugs resolved as duplicates); with `--ict-pairs` / `--afqmc-pairs`, cn-ict `split/train.csv` text "
        "<-> resolution and AFQMC `train.csv` paraphrases. The evaluation queries and their gold duplicates "
        "are never trained on; the other GitBugs bugs, distractors in the search, are (self-supervised, "
        "without duplicate labels), as a deployment would adapt to its own solved cases.",
        "- The English-only default recipe was picked after a first run that also trained on Chinese pairs "
        "(`--gitbugs-pairs 1500 --ict-pairs 500 --afqmc-pairs 1500`), on these same evaluation sets: "
        "read differences of a query or two as noise.",
        "- ONNX: `training.finetune.export_onnx` (torch.onnx TorchScript exporter, opset 17) then "
        "`onnxruntime.quantization.quantize_dynamic` (int8 weights, per channel); served by `onnx:<dir>` "
        "(`embeddings.onnx`, onnxruntime + tokenizers, no torch).",
        "- Columns: cosine ranking alone; `RRF+BM25` fuses it with bm25s (k=60); `hybrid` is the service's "
        "`KnowledgeBase.search` (USE-m3 main vectors, BM25, `HybridConfig` weights) with the encoder as the "
        "further English channel, as `eval.retrieval_bench` runs it.",
        "",
    ]
    for section in sections:
        out += [f"**{section.title}**", "", *_table(section.results), ""]
    out += [
        "**Encoding speed** (256 GitBugs texts, batches of 32, median of 3; one text at a time: median of 20; "
        "the encoders take turns in each round)",
        "",
    ]
    out += [*_table(speeds, digits=1), ""]
    out += [
        "**int8 vs torch agreement** (cosine of the same text's vectors)",
        "",
        "| pair | mean | min |",
        "|---|---|---|",
    ]
    out += [f"| {label} | {mean:.4f} | {low:.4f} |" for label, (mean, low) in agreements.items()]
    out += [
        "",
        f"**Verdict**: fine-tuned minus base (torch): {described}. Kept only if the service's hybrid "
        "search gains on average in recall@10 and MRR and loses at most 0.01 on either set: "
        + (
            "it does, though by a few pairs, so where a deployment adds the MiniLM channel it may use the "
            "fine-tuned model as `onnx:<dir>`; the default service (USE-m3 + BM25) is unchanged."
            if helps
            else "it does not, so the base MiniLM stays the default and the fine-tuned model is not shipped."
        ),
    ]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS, help="the shared datasets folder")
    parser.add_argument(
        "--out", type=Path, default=None, help="benchmarks file to update (section 'finetune')"
    )
    parser.add_argument("--retrain", action="store_true", help="train and export again even if cached")
    add_settings_arguments(parser)
    args = parser.parse_args(argv)
    if missing_datasets(args.datasets):
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    started = time.perf_counter()
    settings = settings_from_arguments(args)
    folders = prepare_models(args.datasets, settings, args.retrain)
    # The folder is named by the settings' fingerprint: its report was written with these settings.
    report = json.loads((folders[TUNED] / REPORT_FILE).read_text(encoding="utf-8"))
    models = contenders(settings, folders)
    sections = []
    for name, job in (
        ("hadoop", lambda: gitbugs(args.datasets, "hadoop", models)),
        ("seamonkey", lambda: gitbugs(args.datasets, "seamonkey", models)),
        ("ict", lambda: ict(args.datasets, models)),
        ("afqmc", lambda: afqmc(args.datasets, models)),
    ):
        sections.append(job())
        logger.info("%s done after %.0f s", name, time.perf_counter() - started)
    agreements = agreement(args.datasets, models)
    speeds = speed(args.datasets, models)
    command = (
        "python -m eval.finetune_bench"
        + settings_flags(settings)
        + (" --retrain" if args.retrain else "")
        + (f" --out {args.out}" if args.out else "")
    )
    text = markdown(settings, report, sections, speeds, agreements, command, time.perf_counter() - started)
    print(text)
    if args.out:
        update_section(args.out, "finetune", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
