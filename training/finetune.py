"""Encoder fine-tuning on ticket <-> solved-case pairs, and ONNX int8 export for torch-free serving.

``python -m training.finetune train --out var/models/minilm-tickets`` fine-tunes a
sentence-transformers model (default: the bundled all-MiniLM-L6-v2) with
``MultipleNegativesRankingLoss`` (in-batch negatives) on pairs from training data only (by default
the English GitBugs pairs; ``--ict-pairs`` and ``--afqmc-pairs`` add Chinese ones):

- GitBugs: a bug's summary <-> its description, for bugs in no duplicate pair (every id in
  ``eval_duplicate_pairs_*.csv`` and the project's other pair files is left out, and so is every bug
  resolved as a duplicate), so the retrieval benchmark's queries and gold answers are never seen;
- cn-ict-fault-tickets: ``split/train.csv`` ticket text <-> its resolution;
- AFQMC: ``train.csv`` pairs labelled 1 (paraphrases); the benchmark uses ``dev.csv``.

Each batch comes from one source, so in-batch negatives are of the same kind as the positive.
``python -m training.finetune export --model DIR --out DIR`` writes an ``onnx:`` encoder directory
(``embeddings.onnx``), dynamically quantised to int8 unless ``--fp32``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.onnx import CONFIG_FILE, MODEL_FILE, POOLING_MODES, TOKENIZER_FILE, OnnxEncoderConfig
from embeddings.registry import SentenceTransformerEncoder, normalise
from embeddings.text import ticket_text
from training.data import DataError, read_dataset_csv

logger = logging.getLogger(__name__)

Pair = tuple[str, str]  # (anchor, positive): a ticket and the text that should come up for it

DEFAULT_DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
REPORT_FILE = "finetune.json"
_GITBUGS = {"hadoop": "hadoop", "seamonkey": "SeaMonkey"}  # project -> file name prefix


@dataclass(frozen=True)
class FinetuneSettings:
    """Everything that decides the fine-tuned weights; ``fingerprint()`` names a cached run."""

    base: str = "minilm"  # bundled name or sentence-transformers directory
    max_seq_length: int = 128  # while training; the saved model keeps the base model's limit
    batch_size: int = 32
    epochs: int = 1
    learning_rate: float = 3e-5
    warmup_ratio: float = 0.1
    scale: float = 20.0  # MultipleNegativesRankingLoss scale (1 / temperature)
    # English pairs only by default: the service gives MiniLM-style channels no weight for Chinese
    # queries (``HybridConfig``), and 4000 exceeds the 3,067 eligible GitBugs bugs, so it takes them all.
    gitbugs_pairs: int = 4000
    ict_pairs: int = 0
    afqmc_pairs: int = 0
    max_steps: int = 0  # 0: no cap
    seed: int = 0

    def fingerprint(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


def base_directory(base: str) -> Path:
    """The directory of a bundled model name (``minilm``) or of a sentence-transformers model path."""
    return Path(SentenceTransformerEncoder(base)._directory())


# ---------------------------------------------------------------- training pairs


def _clean(text: str | None) -> str:
    return ticket_text("", text or "")


def excluded_gitbugs_ids(datasets: Path, project: str) -> set[str]:
    """Bug ids training must not see: every id in the project's duplicate pair files (the benchmark's included)."""
    root = datasets / "gitbugs-hadoop-seamonkey"
    excluded: set[str] = set()
    for row in read_dataset_csv(root / f"eval_duplicate_pairs_{project}.csv"):
        excluded.update((row["query_id"], row["duplicate_id"]))
    for path in sorted(root.glob(f"{_GITBUGS[project]}_bugs-*.csv")):
        for row in read_dataset_csv(path):
            excluded.update(v for k, v in row.items() if k.endswith(" id") and v)
    return excluded


def gitbugs_pairs(datasets: Path, project: str) -> list[Pair]:
    """Summary <-> description of the project's bugs that are in no duplicate pair and not duplicates."""
    excluded = excluded_gitbugs_ids(datasets, project)
    bugs = read_dataset_csv(datasets / "gitbugs-hadoop-seamonkey" / f"{_GITBUGS[project]}_bugs.csv")
    pairs = []
    for bug in bugs:
        if bug["Issue id"] in excluded or (bug.get("Resolution") or "").lower() == "duplicate":
            continue
        summary, description = _clean(bug.get("Summary")), _clean(bug.get("Description"))
        if summary and len(description) >= 20:
            pairs.append((summary, description))
    return pairs


def ict_pairs(datasets: Path) -> list[Pair]:
    """cn-ict train split: fault description <-> its resolution."""
    rows = read_dataset_csv(datasets / "cn-ict-fault-tickets" / "split" / "train.csv")
    return [(_clean(r["text"]), _clean(r["resolution"])) for r in rows if r["text"] and r["resolution"]]


def afqmc_pairs(datasets: Path) -> list[Pair]:
    """AFQMC train pairs labelled as paraphrases (the dev set stays for evaluation)."""
    rows = read_dataset_csv(datasets / "cn-afqmc-pairs" / "train.csv")
    return [(_clean(r["sentence1"]), _clean(r["sentence2"])) for r in rows if r["label"] == "1"]


def distinct_pairs(pairs: Sequence[Pair]) -> list[Pair]:
    """Drop pairs repeating an anchor or a positive: a repeat in a batch would be a false negative."""
    seen: set[str] = set()
    out = []
    for anchor, positive in pairs:
        if anchor in seen or positive in seen or anchor == positive:
            continue
        seen.update((anchor, positive))
        out.append((anchor, positive))
    return out


def training_pairs(datasets: Path, settings: FinetuneSettings) -> dict[str, list[Pair]]:
    """Up to the configured number of distinct pairs per source, sampled with the settings' seed."""
    if not datasets.is_dir():
        raise DataError(
            f"datasets folder {datasets} not found: pass --datasets pointing at ../shared/datasets"
        )
    rng = random.Random(settings.seed)
    sources: dict[str, tuple[Callable[[], list[Pair]], int]] = {
        "gitbugs": (
            lambda: gitbugs_pairs(datasets, "hadoop") + gitbugs_pairs(datasets, "seamonkey"),
            settings.gitbugs_pairs,
        ),
        "cn-ict": (lambda: ict_pairs(datasets), settings.ict_pairs),
        "afqmc": (lambda: afqmc_pairs(datasets), settings.afqmc_pairs),
    }
    out = {}
    for name, (load, limit) in sources.items():
        if limit <= 0:
            continue
        pairs = distinct_pairs(load())
        rng.shuffle(pairs)
        out[name] = pairs[:limit]
        logger.info("%s: %d distinct pairs, %d used", name, len(pairs), len(out[name]))
    return out


def batches(pairs: Mapping[str, Sequence[Pair]], batch_size: int, seed: int) -> list[tuple[str, list[Pair]]]:
    """Shuffled (source, batch) of one source each, at least 2 pairs (MNRL needs an in-batch negative)."""
    rng = random.Random(seed)
    out = []
    for source in sorted(pairs):
        rows = list(pairs[source])
        rng.shuffle(rows)
        out += [(source, rows[i : i + batch_size]) for i in range(0, len(rows), batch_size)]
    out = [(source, batch) for source, batch in out if len(batch) >= 2]
    rng.shuffle(out)
    return out


# ---------------------------------------------------------------- training


def _no_column_merging() -> contextlib.AbstractContextManager[None]:
    """Embed anchors and positives in separate forwards: merged, short titles pad to the long bodies' width."""
    try:
        from sentence_transformers.base.losses.merged_forward import column_merging_disabled
    except ImportError:  # sentence-transformers < 6 never merges
        return contextlib.nullcontext()
    return column_merging_disabled()


def finetune(
    pairs: Mapping[str, Sequence[Pair]], out_dir: Path, settings: FinetuneSettings
) -> dict[str, Any]:
    """Fine-tune ``settings.base`` on ``pairs`` and save a sentence-transformers model to ``out_dir``.

    Returns (and writes to ``out_dir/finetune.json``) the settings, pair counts, steps, time and loss.
    """
    import torch
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.losses import MultipleNegativesRankingLoss  # type: ignore[no-redef]

    # A fresh shuffle per epoch; epoch 0 uses the settings' seed itself.
    plan = [b for e in range(settings.epochs) for b in batches(pairs, settings.batch_size, settings.seed + e)]
    if settings.max_steps:
        plan = plan[: settings.max_steps]
    if not plan:
        raise DataError("no training batches: every source needs at least 2 pairs")
    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    model = SentenceTransformer(str(base_directory(settings.base)), device="cpu", local_files_only=True)
    serving_length = model.max_seq_length
    model.max_seq_length = settings.max_seq_length
    loss_fn = MultipleNegativesRankingLoss(model, scale=settings.scale)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=0.01)
    warmup = max(1, int(len(plan) * settings.warmup_ratio))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min((step + 1) / warmup, max(0.0, (len(plan) - step) / max(1, len(plan) - warmup))),
    )
    preprocess = getattr(model, "preprocess", None) or model.tokenize
    model.train()
    losses: list[float] = []
    by_source: dict[str, list[float]] = {}
    started = time.perf_counter()
    for step, (source, batch) in enumerate(plan, start=1):
        anchors = preprocess([a for a, _ in batch])
        positives = preprocess([p for _, p in batch])
        with _no_column_merging():
            loss = loss_fn([anchors, positives], None)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
        by_source.setdefault(source, []).append(losses[-1])
        if step % 10 == 0 or step == len(plan):
            logger.info(
                "step %d/%d loss %.4f (%.1f s)",
                step,
                len(plan),
                float(np.mean(losses[-10:])),
                time.perf_counter() - started,
            )
    seconds = time.perf_counter() - started
    model.eval()
    model.max_seq_length = serving_length
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(out_dir), create_model_card=False)
    report = {
        "settings": asdict(settings),
        "fingerprint": settings.fingerprint(),
        "pairs": {source: len(rows) for source, rows in pairs.items()},
        "steps": len(plan),
        "seconds": round(seconds, 1),
        # Per source: sources differ in difficulty, so a mixed running mean hides the trend.
        "loss": {
            source: {"first": round(float(np.mean(v[:3])), 3), "last": round(float(np.mean(v[-3:])), 3)}
            for source, v in sorted(by_source.items())
        },
        "serving_max_seq_length": serving_length,
        "threads": torch.get_num_threads(),
    }
    (out_dir / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    logger.info("saved fine-tuned encoder to %s after %d steps (%.0f s)", out_dir, len(plan), seconds)
    return report


# ---------------------------------------------------------------- ONNX export


class ExportError(ValueError):
    """The model cannot be exported as it is; the message names the part."""


def _pooling_mode(model: Any) -> str:
    """The single pooling mode of a Transformer -> Pooling [-> Normalize] model, or an error naming the module."""
    kinds = [type(module).__name__ for module in model]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise ExportError(
            f"only Transformer -> Pooling [-> Normalize] models can be exported; this one is {' -> '.join(kinds)}"
        )
    pooling = model[1]
    mode = getattr(pooling, "pooling_mode", None)
    if mode is None and hasattr(pooling, "get_pooling_mode_str"):
        mode = pooling.get_pooling_mode_str()
    if isinstance(mode, list | tuple) and len(mode) == 1:
        mode = mode[0]
    if mode not in POOLING_MODES:
        raise ExportError(f"pooling mode {mode!r} cannot be exported; supported: {', '.join(POOLING_MODES)}")
    return str(mode)


def export_onnx(
    model_dir: str | Path, out_dir: Path, quantize: bool = True, opset: int = 17
) -> OnnxEncoderConfig:
    """Write an ``onnx:`` encoder directory from a sentence-transformers model (bundled name or directory).

    The transformer is traced to ONNX (fp32), checked against torch on a padded batch, then
    quantised dynamically to int8 (weights int8, activations quantised at run time) unless
    ``quantize`` is False. Tokenizer and pooling travel with it, so serving needs no torch.
    """
    source = base_directory(str(model_dir))
    if not source.is_dir():
        raise DataError(f"sentence-transformers model directory {str(source)!r} not found")
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(source), device="cpu", local_files_only=True)
    model.eval()
    pooling = _pooling_mode(model)
    first: Any = model[0]
    tokenizer, transformer = first.tokenizer, first.auto_model
    if not getattr(tokenizer, "is_fast", False) or tokenizer.pad_token is None:
        raise ExportError(f"{source}: export needs a fast tokenizer (tokenizer.json) with a pad token")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names]

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.transformer(**dict(zip(names, tensors, strict=True))).last_hidden_state

    # A padded sample: traced with a mask that is all ones, the graph could drop the mask altogether.
    sample_texts = ["printer offline", "the vpn client fails to connect after the latest update on windows"]
    sample = tokenizer(sample_texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
    config = OnnxEncoderConfig(
        dim=int(transformer.config.hidden_size),
        max_seq_length=int(model.max_seq_length or tokenizer.model_max_length),
        pooling=pooling,
        pad_token=str(tokenizer.pad_token),
        quantization="dynamic-int8" if quantize else "none",
        source=str(model_dir),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="onnx-export-") as tmp:
        fp32 = Path(tmp) / "model-fp32.onnx"
        with torch.no_grad():
            torch.onnx.export(
                LastHiddenState(),
                tuple(sample[n] for n in names),
                str(fp32),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
                opset_version=opset,
                dynamo=False,
            )
        _check_export(fp32, model, sample_texts, names, pooling)
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(
                str(fp32), str(out_dir / MODEL_FILE), weight_type=QuantType.QInt8, per_channel=True
            )
        else:
            shutil.copyfile(fp32, out_dir / MODEL_FILE)
    tokenizer.backend_tokenizer.save(str(out_dir / TOKENIZER_FILE))
    (out_dir / CONFIG_FILE).write_text(json.dumps(config.to_json(), indent=2) + "\n", encoding="utf-8")
    logger.info(
        "exported %s to %s (%s, %.1f MB, %.0f s)",
        model_dir,
        out_dir,
        config.quantization,
        (out_dir / MODEL_FILE).stat().st_size / 1e6,
        time.perf_counter() - started,
    )
    return config


def _check_export(path: Path, model: Any, texts: Sequence[str], names: Sequence[str], pooling: str) -> None:
    """The fp32 graph must reproduce torch's sentence vectors on a padded batch (cosine > 0.999)."""
    import onnxruntime

    from embeddings.onnx import pool

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    features = model[0].tokenizer(list(texts), padding=True, truncation=True, return_tensors="np")
    hidden = session.run(None, {n: features[n].astype(np.int64) for n in names})[0]
    ours = normalise(pool(hidden, features["attention_mask"], pooling))
    reference = model.encode(list(texts), convert_to_numpy=True, normalize_embeddings=True)
    cosine = np.sum(ours * reference, axis=1)
    if float(cosine.min()) < 0.999:
        raise ExportError(f"exported graph disagrees with torch (cosine {cosine.min():.4f}); export aborted")


# ---------------------------------------------------------------- CLI


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--flag`` per ``FinetuneSettings`` field (``--gitbugs-pairs 3000``); unset flags keep the default."""
    for name, default in asdict(FinetuneSettings()).items():
        flag = f"--{name.replace('_', '-')}"
        parser.add_argument(flag, type=type(default), default=None, help=f"default {default}")


def settings_from_arguments(args: argparse.Namespace) -> FinetuneSettings:
    given = {k: getattr(args, k, None) for k in FinetuneSettings.__dataclass_fields__}
    return FinetuneSettings(**{k: v for k, v in given.items() if v is not None})


def settings_flags(settings: FinetuneSettings) -> str:
    """The flags that rebuild ``settings`` (those that differ from the defaults), for reproducible commands."""
    defaults = asdict(FinetuneSettings())
    changed = {k: v for k, v in asdict(settings).items() if v != defaults[k]}
    return "".join(f" --{k.replace('_', '-')} {v}" for k, v in changed.items())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train", help="fine-tune on training pairs and save a sentence-transformers model"
    )
    train.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    train.add_argument("--out", type=Path, required=True, help="directory for the fine-tuned model")
    train.add_argument("--onnx-out", type=Path, help="also export an int8 onnx: encoder here")
    add_settings_arguments(train)
    export = commands.add_parser("export", help="export a sentence-transformers model to an onnx: encoder")
    export.add_argument("--model", required=True, help="model directory or bundled name (minilm)")
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--fp32", action="store_true", help="skip int8 quantisation")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        if args.command == "train":
            settings = settings_from_arguments(args)
            finetune(training_pairs(args.datasets, settings), args.out, settings)
            if args.onnx_out:
                export_onnx(args.out, args.onnx_out)
        else:
            export_onnx(args.model, args.out, quantize=not args.fp32)
    except (DataError, ExportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
