"""Sentence encoders exported to ONNX (usually int8), served with onnxruntime and ``tokenizers``: no torch.

A model directory holds ``model.onnx`` (a transformer returning ``last_hidden_state``),
``tokenizer.json`` and ``encoder.json`` (dimension, pooling, length limit and pad token, recorded
from the sentence-transformers model at export: ``training.finetune.export_onnx``). Vectors are always
L2-normalised, as the ``Encoder`` protocol promises. The spec is ``onnx:<directory>``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.registry import UnknownComponentError, normalise

logger = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "encoder.json"
POOLING_MODES = ("mean", "cls", "max", "mean_sqrt_len_tokens")
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_BATCH = 32


@dataclass(frozen=True)
class OnnxEncoderConfig:
    """What ``encoder.json`` records: how to turn the transformer's token vectors into one vector."""

    dim: int
    max_seq_length: int
    pooling: str
    pad_token: str
    quantization: str = "none"
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 1,
            "dim": self.dim,
            "max_seq_length": self.max_seq_length,
            "pooling": self.pooling,
            "pad_token": self.pad_token,
            "quantization": self.quantization,
            "source": self.source,
        }

    @classmethod
    def from_file(cls, path: Path) -> OnnxEncoderConfig:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            config = cls(
                dim=int(raw["dim"]),
                max_seq_length=int(raw["max_seq_length"]),
                pooling=str(raw["pooling"]),
                pad_token=str(raw["pad_token"]),
                quantization=str(raw.get("quantization", "none")),
                source=str(raw.get("source", "")),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UnknownComponentError(
                f"ONNX encoder config {str(path)!r} is unreadable ({exc}); re-export the model with "
                "python -m training.finetune export"
            ) from exc
        if config.pooling not in POOLING_MODES:
            raise UnknownComponentError(
                f"ONNX encoder config {str(path)!r}: pooling {config.pooling!r} is not supported; "
                f"supported: {', '.join(POOLING_MODES)}"
            )
        return config


def pool(token_vectors: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """Token vectors (batch, tokens, dim) to one vector per text, ignoring padding, as sentence-transformers does."""
    weights = mask[:, :, None].astype(np.float32)
    if mode == "cls":
        return np.asarray(token_vectors[:, 0], dtype=np.float32)
    if mode == "max":
        masked = np.where(weights > 0, token_vectors, -1e9)
        return np.asarray(masked.max(axis=1), dtype=np.float32)
    summed = (token_vectors * weights).sum(axis=1)
    counts = np.maximum(weights.sum(axis=1), 1e-9)
    if mode == "mean_sqrt_len_tokens":
        return np.asarray(summed / np.sqrt(counts), dtype=np.float32)
    return np.asarray(summed / counts, dtype=np.float32)


class OnnxEncoder:
    """A transformer encoder in ONNX (int8 after dynamic quantisation) on onnxruntime's CPU provider."""

    def __init__(self, directory: str, threads: int | None = None) -> None:
        if not directory:
            raise UnknownComponentError(
                "onnx needs a model directory, e.g. 'onnx:/models/minilm-int8'; export one with "
                "python -m training.finetune export --model <sentence-transformers dir> --out <dir>"
            )
        self.name = f"onnx:{directory}"
        self._directory = Path(directory)
        self._threads = threads or os.cpu_count() or 1
        self._config: OnnxEncoderConfig | None = None
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: list[str] = []
        self._windows: dict[int, Any] = {}  # window length -> a tokenizer that cuts texts into windows
        self._lock = threading.Lock()  # one load, even when the first requests arrive together

    def _read_config(self) -> OnnxEncoderConfig:
        if self._config is None:
            if not self._directory.is_dir():
                raise UnknownComponentError(f"ONNX model directory {str(self._directory)!r} not found")
            missing = [
                name
                for name in (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE)
                if not (self._directory / name).is_file()
            ]
            if missing:
                raise UnknownComponentError(
                    f"ONNX model directory {str(self._directory)!r} lacks {', '.join(missing)}; export one with "
                    "python -m training.finetune export --model <sentence-transformers dir> --out <dir>"
                )
            self._config = OnnxEncoderConfig.from_file(self._directory / CONFIG_FILE)
        return self._config

    @property
    def dim(self) -> int:
        return self._read_config().dim

    def load(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is None:
                self._load()

    def _load(self) -> None:
        config = self._read_config()
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise UnknownComponentError(
                f"encoder {self.name!r} needs onnxruntime and tokenizers: pip install onnxruntime tokenizers"
            ) from exc
        tokenizer = Tokenizer.from_file(str(self._directory / TOKENIZER_FILE))
        pad_id = tokenizer.token_to_id(config.pad_token)
        if pad_id is None:
            raise UnknownComponentError(
                f"{str(self._directory / TOKENIZER_FILE)!r} has no pad token {config.pad_token!r}"
            )
        # tokenizer.json may carry fixed-length padding from training: pad each batch to its longest text.
        tokenizer.enable_truncation(max_length=config.max_seq_length)
        tokenizer.enable_padding(pad_id=pad_id, pad_token=config.pad_token)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        try:
            session = onnxruntime.InferenceSession(
                str(self._directory / MODEL_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types for a corrupt file
            raise UnknownComponentError(
                f"{str(self._directory / MODEL_FILE)!r} is not a loadable ONNX model: {exc}"
            ) from exc
        wanted = sorted(i.name for i in session.get_inputs())
        if not set(wanted) <= set(_INPUTS):
            raise UnknownComponentError(
                f"{str(self._directory / MODEL_FILE)!r} wants inputs {wanted}; supported: {', '.join(_INPUTS)}"
            )
        self._inputs = wanted
        self._tokenizer = tokenizer
        self._session = session
        self._run(["warm up"])
        logger.info(
            "loaded encoder %s (dim=%d, quantization=%s, threads=%d)",
            self.name,
            config.dim,
            config.quantization,
            self._threads,
        )

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        """Pooled (not yet normalised) vectors of one batch."""
        return self._run_encodings(self._tokenizer.encode_batch([t.strip() for t in texts]))

    def _run_encodings(self, encodings: Sequence[Any]) -> np.ndarray:
        columns = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        token_vectors = self._session.run(None, {name: columns[name] for name in self._inputs})[0]
        return pool(token_vectors, columns["attention_mask"], self._read_config().pooling)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        config = self._read_config()
        if len(texts) == 0:
            return np.zeros((0, config.dim), dtype=np.float32)
        self.load()
        # Longest first, like sentence-transformers: batches of similar length waste less on padding.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), config.dim), dtype=np.float32)
        # Dynamic quantisation scales activations per run over the whole padded batch: a text's
        # vector then depended on its batch-mates (MiniLM int8: cosine 0.976-0.986 to itself encoded
        # alone), so a repeated ticket missed its own earlier copy. One text per run makes a vector a
        # function of its text; on 2 cores batching gained little anyway (56 vs 74 texts/s).
        batch = 1 if config.quantization != "none" else _BATCH
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            out[rows] = self._run([texts[i] for i in rows])
        # Unit vectors whether or not the model ends in a Normalize module: the protocol promises them.
        return normalise(out)

    def tokens(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's token count without truncation (special tokens included)."""
        cutter = self._window_tokenizer(0)
        return np.array([len(e.ids) for e in cutter.encode_batch([t.strip() for t in texts])], dtype=np.int64)

    def _window_tokenizer(self, window: int) -> Any:
        self.load()
        with self._lock:
            if window not in self._windows:
                from tokenizers import Tokenizer

                cutter = Tokenizer.from_file(str(self._directory / TOKENIZER_FILE))
                cutter.no_padding()
                if window:
                    cutter.enable_truncation(max_length=window)
                else:
                    cutter.no_truncation()
                self._windows[window] = cutter
        return self._windows[window]

    def encode_windows(self, texts: Sequence[str], window: int) -> np.ndarray:
        """Vectors of whole texts however long: each text cut into consecutive windows of at most
        ``window`` tokens (special tokens included), each window pooled, and the pooled vectors
        averaged weighted by their token counts (for mean pooling: the mean over all the text's
        tokens, each seen with at most ``window`` tokens of context). A text that fits in one
        window gets the same vector as ``encode`` gives it (when ``window`` is at most the model's
        length limit)."""
        config = self._read_config()
        if not 2 < window <= config.max_seq_length:
            raise ValueError(f"window must be 3..{config.max_seq_length} tokens, got {window}")
        out = np.zeros((len(texts), config.dim), dtype=np.float32)
        cutter = self._window_tokenizer(window)
        for row, text in enumerate(texts):
            first = cutter.encode(text.strip())
            parts = [first, *first.overflowing]
            # One window per run, as ``encode`` does for quantised models (see there).
            pooled = np.vstack([self._run_encodings([part]) for part in parts])
            weights = np.array([sum(part.attention_mask) for part in parts], dtype=np.float32)
            out[row] = (pooled * weights[:, None]).sum(axis=0) / weights.sum()
        return normalise(out)
