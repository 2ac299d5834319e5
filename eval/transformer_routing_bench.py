"""Routing with a fine-tuned MiniLM classifier on CPU, alone and blended with our router.

``python -m eval.transformer_routing_bench [--datasets ../shared/datasets] [--only itsm] [--budget-min 15] [--out BENCHMARKS.md]``

For each split (``eval.routing_bench.DATASETS``):

1. The training split is cut per label into a fit part (85 %) and a held-out part (15 %; labels
   with one row stay in the fit part).
2. The bundled MiniLM-L6 (``training.finetune.base_directory('minilm')``) is fine-tuned on the fit
   part as a classifier in plain torch: mean-pooled token states -> linear layer, cross-entropy
   with balanced class weights, AdamW (lr 5e-5 for the encoder, 1e-3 for the fresh linear layer),
   linear warm-up then decay, max 128 tokens, batch 32, at most ``--epochs`` epochs and stopped at
   the ``--budget-min`` wall-time budget.
3. Our bundle (``training.train.train_bundle``, USE-m3 embeddings from the routing cache) is
   trained on the same fit part; its department distribution is read from ``Head.distribution``.
4. The blend ``w * log p_transformer + (1 - w) * log p_ours`` takes the ``w`` with the best
   macro-F1 on the held-out part; the test split is scored once, with that ``w``.

Ours trained on the whole training split is reported too, as the figure the routing section uses.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score

from embeddings import get_encoder
from eval.report import chosen_names, missing_datasets, stamp, update_section
from eval.routing_bench import CACHE, DATASETS, DEFAULT_DATASETS, EmbeddingCache, Split, load_split, macro_f1
from training.data import TicketTable
from training.train import train_bundle
from triage.routing import Router, log_softmax

logger = logging.getLogger(__name__)

HELD_OUT_SHARE = 0.15
MAX_SEQ_LENGTH = 128
BATCH_SIZE = 32
ENCODER_LR = 5e-5
HEAD_LR = 1e-3
WARMUP_SHARE = 0.06
WEIGHT_GRID = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 21))
LATENCY_SAMPLES = 50
THREADS = 2
SEED = 0


def held_out_split(labels: Sequence[str], share: float = HELD_OUT_SHARE, seed: int = SEED) -> np.ndarray:
    """A boolean mask of held-out rows: ``floor(share * n)`` rows of every label, never all of one."""
    rng = np.random.default_rng(seed)
    codes = np.asarray(labels)
    mask = np.zeros(len(codes), dtype=bool)
    for label in np.unique(codes):
        rows = np.flatnonzero(codes == label)
        take = min(int(share * len(rows)), len(rows) - 1)
        if take > 0:
            mask[rng.choice(rows, size=take, replace=False)] = True
    return mask


def choose_blend_weight(
    log_a: np.ndarray, log_b: np.ndarray, y: np.ndarray, grid: Sequence[float] = WEIGHT_GRID
) -> tuple[float, float]:
    """The weight ``w`` of ``w * log_a + (1 - w) * log_b`` with the best macro-F1 on ``y``, and that F1.

    Ties go to the first weight of the grid (with the default grid: the one leaning most on ``log_b``).
    """
    best_w, best_f1 = float(grid[0]), -1.0
    for w in grid:
        f1 = macro_f1(y, (w * log_a + (1 - w) * log_b).argmax(axis=1))
        if f1 > best_f1 + 1e-12:
            best_w, best_f1 = float(w), f1
    return best_w, best_f1


def _subset(table: TicketTable, rows: np.ndarray) -> TicketTable:
    return TicketTable(
        ids=[table.ids[i] for i in rows],
        texts=[table.texts[i] for i in rows],
        labels={"department": [table.labels["department"][i] for i in rows]},
    )


def router_log_probs(
    router: Router, texts: Sequence[str], vectors: np.ndarray, labels: Sequence[str]
) -> np.ndarray:
    """Our department head's log-probabilities (n, len(labels)), columns in ``labels`` order."""
    head = router.heads["department"]
    probs, _ = router.distribution("department", texts, vectors)
    full = np.full((len(texts), len(labels)), 1e-12)
    column = {label: i for i, label in enumerate(labels)}
    for j, label in enumerate(head.labels):
        full[:, column[label]] = np.maximum(probs[:, j], 1e-12)
    return np.log(full / full.sum(axis=1, keepdims=True))


# --- the transformer ---------------------------------------------------------------------------


@dataclass
class FineTuned:
    """A fine-tuned MiniLM classifier and how its training went."""

    tokenizer: Any
    model: Any
    steps: int
    epochs: float
    seconds: float
    final_loss: float

    def log_probs(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        import torch

        self.model.eval()
        order = np.argsort([len(t) for t in texts])  # similar lengths per batch: less padding
        parts: dict[int, np.ndarray] = {}
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                rows = order[start : start + batch_size]
                logits = self.model(**self._encode([texts[i] for i in rows]))
                for i, row in zip(rows, logits.float().numpy(), strict=True):
                    parts[int(i)] = row
        out = np.stack([parts[i] for i in range(len(texts))])
        return log_softmax(out.astype(np.float64))

    def _encode(self, texts: Sequence[str]) -> dict[str, Any]:
        batch = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=MAX_SEQ_LENGTH, return_tensors="pt"
        )
        return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}

    def latency_ms(self, texts: Sequence[str]) -> float:
        """Median milliseconds to classify one ticket (tokenise + forward, batch 1)."""
        import torch

        self.model.eval()
        times = []
        with torch.inference_mode():
            self.model(**self._encode(texts[:1]))  # warm-up
            for text in texts[:LATENCY_SAMPLES]:
                started = time.perf_counter()
                self.model(**self._encode([text]))
                times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)


def _classifier(directory: Path, n_labels: int) -> Any:
    import torch
    from transformers import AutoModel

    class MeanPoolClassifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(directory), local_files_only=True)
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, n_labels)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            return self.head(pooled)

    return MeanPoolClassifier()


def fine_tune(
    directory: Path, texts: Sequence[str], y: np.ndarray, n_labels: int, epochs: int, budget_s: float
) -> FineTuned:
    """Fine-tune MiniLM + a linear layer on (texts, y) until ``epochs`` pass or ``budget_s`` runs out."""
    import torch
    from sklearn.utils.class_weight import compute_class_weight
    from transformers import AutoTokenizer

    torch.manual_seed(SEED)
    tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    model = _classifier(directory, n_labels)
    present = np.unique(y)
    weights = np.ones(n_labels)
    weights[present] = compute_class_weight("balanced", classes=present, y=y)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32))
    optimizer = torch.optim.AdamW(
        [
            {"params": model.encoder.parameters(), "lr": ENCODER_LR},
            {"params": model.head.parameters(), "lr": HEAD_LR},
        ],
        weight_decay=0.01,
    )
    steps_per_epoch = int(np.ceil(len(texts) / BATCH_SIZE))
    planned = epochs * steps_per_epoch
    warmup = max(1, int(WARMUP_SHARE * planned))
    state = {"total": planned}

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (state["total"] - step) / max(1, state["total"] - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    rng = np.random.default_rng(SEED)
    labels = torch.tensor(y, dtype=torch.long)
    encoder = FineTuned(tokenizer, model, 0, 0.0, 0.0, float("nan"))
    started = time.perf_counter()
    step = 0
    recent: list[float] = []
    model.train()
    for epoch in range(epochs):
        order = rng.permutation(len(texts))
        for start in range(0, len(texts), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            logits = model(**encoder._encode([texts[i] for i in rows]))
            loss = loss_fn(logits, labels[rows])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            recent = [*recent[-19:], float(loss.detach())]
            elapsed = time.perf_counter() - started
            if step == 10:
                # Fit the decay to the steps the budget allows, measured on the first ten.
                affordable = int(budget_s / (elapsed / step))
                state["total"] = max(warmup + 1, min(planned, affordable))
                logger.info(
                    "%.2f s/step: planning %d of %d steps (%d per epoch)",
                    elapsed / step,
                    state["total"],
                    planned,
                    steps_per_epoch,
                )
            if step % 25 == 0:
                logger.info(
                    "epoch %d step %d loss %.3f (%.0fs)", epoch, step, statistics.mean(recent), elapsed
                )
            if step >= state["total"] or elapsed >= budget_s:
                break
        else:
            continue
        break
    encoder.steps = step
    encoder.epochs = step / steps_per_epoch
    encoder.seconds = time.perf_counter() - started
    encoder.final_loss = statistics.mean(recent) if recent else float("nan")
    return encoder


# --- one dataset -------------------------------------------------------------------------------


def _scores(y: np.ndarray, log_probs: np.ndarray) -> tuple[float, float]:
    predicted = log_probs.argmax(axis=1)
    return float(accuracy_score(y, predicted)), macro_f1(y, predicted)


def run_dataset(split: Split, cache: EmbeddingCache, epochs: int, budget_s: float) -> dict[str, Any]:
    """Every figure of one dataset's row."""
    import torch

    from training.finetune import base_directory

    torch.set_num_threads(THREADS)
    labels = sorted(set(split.y_train))
    index = {label: i for i, label in enumerate(labels)}
    y_train = np.array([index[v] for v in split.y_train])
    y_test = np.array([index.get(v, -1) for v in split.y_test])
    train_vectors = cache.vectors(split.key, "train", "use-m3", split.train.texts)
    test_vectors = cache.vectors(split.key, "test", "use-m3", split.test.texts)
    held = held_out_split(split.y_train)
    fit_rows, held_rows = np.flatnonzero(~held), np.flatnonzero(held)
    fit_table = _subset(split.train, fit_rows)
    held_texts = [split.train.texts[i] for i in held_rows]
    logger.info(
        "%s: fit %d, held out %d, test %d, %d labels",
        split.key,
        len(fit_rows),
        len(held_rows),
        len(y_test),
        len(labels),
    )

    encoder = get_encoder("use-m3")
    started = time.perf_counter()
    ours_fit = train_bundle(fit_table, encoder, version="bench-fit", vectors=train_vectors[fit_rows]).router
    ours_fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ours_full = train_bundle(split.train, encoder, version="bench-full", vectors=train_vectors).router
    ours_full_seconds = time.perf_counter() - started

    model = fine_tune(
        base_directory("minilm"), fit_table.texts, y_train[fit_rows], len(labels), epochs, budget_s
    )
    started = time.perf_counter()
    transformer_held = model.log_probs(held_texts)
    transformer_test = model.log_probs(split.test.texts)
    predict_seconds = time.perf_counter() - started
    latency = model.latency_ms(split.test.texts)

    ours_held = router_log_probs(ours_fit, held_texts, train_vectors[held_rows], labels)
    ours_test = router_log_probs(ours_fit, split.test.texts, test_vectors, labels)
    ours_full_test = router_log_probs(ours_full, split.test.texts, test_vectors, labels)
    w, held_f1 = choose_blend_weight(transformer_held, ours_held, y_train[held_rows])
    blend_test = w * transformer_test + (1 - w) * ours_test
    return {
        "dataset": split.key,
        "fit": len(fit_rows),
        "held": len(held_rows),
        "test": len(y_test),
        "labels": len(labels),
        "steps": model.steps,
        "epochs": model.epochs,
        "train_s": model.seconds,
        "final_loss": model.final_loss,
        "predict_s": predict_seconds,
        "latency_ms": latency,
        "ours_fit_s": ours_fit_seconds,
        "ours_full_s": ours_full_seconds,
        "w": w,
        "held_f1": {
            "transformer": macro_f1(y_train[held_rows], transformer_held.argmax(axis=1)),
            "ours": macro_f1(y_train[held_rows], ours_held.argmax(axis=1)),
            "blend": held_f1,
        },
        "test_scores": {
            "transformer (85 %)": _scores(y_test, transformer_test),
            "ours (85 %)": _scores(y_test, ours_test),
            "ours (100 %)": _scores(y_test, ours_full_test),
            f"blend (85 %), w={w:g}": _scores(y_test, blend_test),
        },
    }


def markdown(results: Sequence[dict[str, Any]], epochs: int, budget_min: float) -> str:
    lines = [
        "| dataset | method | test accuracy | test macro-F1 | held-out macro-F1 |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        held = r["held_f1"]
        for method, (accuracy, f1) in r["test_scores"].items():
            kind = method.split(" ")[0]
            shown = f"{held[kind]:.3f}" if kind in held and "100" not in method else "-"
            lines.append(f"| {r['dataset']} | {method} | {accuracy:.3f} | {f1:.3f} | {shown} |")
    lines.append("")
    for r in results:
        lines.append(
            f"- {r['dataset']}: fit {r['fit']} / held out {r['held']} / test {r['test']} tickets, "
            f"{r['labels']} labels. Transformer: {r['steps']} steps ({r['epochs']:.2f} epochs of at most "
            f"{epochs}, budget {budget_min:g} min) in {r['train_s']:.0f} s, final loss {r['final_loss']:.3f}; "
            f"scoring held-out + test took {r['predict_s']:.0f} s; one ticket (batch 1, tokenise + forward, "
            f"median of {LATENCY_SAMPLES}) {r['latency_ms']:.1f} ms. Ours trains in {r['ours_fit_s']:.0f} s "
            f"(85 %) / {r['ours_full_s']:.0f} s (100 %). Blend weight w={r['w']:g} chosen on the held-out part."
        )
    return "\n".join(lines)


NOTES = f"""Train on `split/train.csv`, evaluate on `split/test.csv` of ../shared/datasets. The training split
is cut per label into a fit part (85 %) and a held-out part (15 %; a label's last row always stays in
the fit part). The bundled all-MiniLM-L6-v2 is fine-tuned on the fit part in plain torch on CPU
({THREADS} threads): mean-pooled token states -> one linear layer, cross-entropy with balanced class
weights, AdamW (lr {ENCODER_LR:g} encoder, {HEAD_LR:g} linear layer, weight decay 0.01), {WARMUP_SHARE:.0%}
linear warm-up then linear decay to the steps the wall-time budget allows, max {MAX_SEQ_LENGTH} tokens,
batch {BATCH_SIZE}. Ours is `training.train.train_bundle` (USE-m3 embeddings) on the same fit part;
its department probabilities come from `Head.distribution`. Blend: `w * log p_transformer + (1 - w) *
log p_ours`, w from {{0, 0.05, ..., 1}} chosen by macro-F1 on the held-out part only; test scored once.
`ours (100 %)` is our bundle on the whole training split (the routing section's figure) for reference.
Latency is the transformer alone; the blend also needs the USE-m3 embedding and the router (see the
routing section).
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS, help="the shared datasets folder")
    parser.add_argument("--only", default="itsm", help=f"comma-separated datasets ({', '.join(DATASETS)})")
    parser.add_argument("--epochs", type=int, default=3, help="at most this many epochs")
    parser.add_argument(
        "--budget-min", type=float, default=15.0, help="fine-tuning wall-time budget per dataset"
    )
    parser.add_argument(
        "--out", type=Path, help="update the 'routing-transformer' section of this BENCHMARKS.md"
    )
    parser.add_argument("--cache", type=Path, default=CACHE, help="where embeddings are cached")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    datasets: Path = args.datasets
    if missing_datasets(datasets):
        return 2
    keys = chosen_names(args.only, list(DATASETS), "dataset")
    if keys is None:
        return 2
    keys = keys or list(DATASETS)
    cache = EmbeddingCache(args.cache)
    command = "python -m eval.transformer_routing_bench " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    results: list[dict[str, Any]] = []
    for key in keys:
        results.append(run_dataset(load_split(datasets, key), cache, args.epochs, args.budget_min * 60))
        text = markdown(results, args.epochs, args.budget_min)
        if args.out:  # after every dataset, so a run cut short still leaves its finished figures
            section = "## Routing: fine-tuned transformer experiment\n\n" + stamp(command)
            update_section(args.out, "routing-transformer", section + "\n" + NOTES + "\n" + text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
