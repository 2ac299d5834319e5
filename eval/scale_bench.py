"""Scale benchmark: the FAISS index the knowledge base picks by size, at 100k and 1M real-structured vectors.

Run ``python -m eval.scale_bench [--sizes 100000,1000000] [--out BENCHMARKS.md]``.

Vectors with the structure of real embeddings (never uniform random ones, on which ANN recall says
nothing): USE-m3 embeddings of every real ticket-like text in ``../shared/datasets`` (AFQMC questions,
ITSM tickets, ICT faults and resolutions, GitBugs reports), then of generated perturbations of them
(word dropout, local swaps, changed numbers) up to ``--embed`` texts, all cached as float16 under
``var/cache/scale/``. Sizes beyond that are filled with perturbations *in embedding space* of those
vectors: ``normalise(v + noise)``, the noise scaled so that the median cosine between a vector and its
perturbation equals the median cosine measured between a real text and its text perturbation. The
queries are embeddings of held-out real texts that are in no index.

Only aggregate numbers leave this process; no dataset text is printed or written.
"""

from __future__ import annotations

import argparse
import csv
import gc
import hashlib
import logging
import random
import re
import resource
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings import Encoder, get_encoder
from eval.report import DEFAULT_DATASETS, stamp, update_section
from knowledge.index import EXACT_LIMIT, HNSW_EF_SEARCH, HNSW_M, VectorIndex

logger = logging.getLogger(__name__)

_DEFAULT_CACHE = Path("var") / "cache" / "scale"
_CJK = re.compile(r"[\u3400-\u9fff]")
_NUMBER = re.compile(r"\d+")
_QUERIES = 1000
_SEED = 0


# ---------------------------------------------------------------- corpus


def _csv_rows(path: Path) -> Iterator[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def real_texts(datasets: Path) -> list[str]:
    """Unique real ticket-like texts (at most 600 characters each) from every shared dataset."""
    texts: list[str] = []
    sources = [
        ("cn-afqmc-pairs/train.csv", ("sentence1", "sentence2")),
        ("cn-afqmc-pairs/dev.csv", ("sentence1", "sentence2")),
        ("cn-afqmc-pairs/test.csv", ("sentence1", "sentence2")),
        ("itsm-ticket-assignment/split/train.csv", ("text",)),
        ("itsm-ticket-assignment/split/test.csv", ("text",)),
        ("cn-ict-fault-tickets/split/train.csv", ("text", "resolution")),
        ("cn-ict-fault-tickets/split/test.csv", ("text", "resolution")),
        ("gitbugs-hadoop-seamonkey/hadoop_bugs.csv", ("Summary", "Description")),
        ("gitbugs-hadoop-seamonkey/SeaMonkey_bugs.csv", ("Summary", "Description")),
    ]
    for name, columns in sources:
        path = datasets / name
        if not path.exists():
            raise SystemExit(f"{path} not found: pass --datasets pointing at ../shared/datasets")
        for row in _csv_rows(path):
            for column in columns:
                text = " ".join((row.get(column) or "").split())[:600]
                if len(text) >= 4:
                    texts.append(text)
    unique = sorted(set(texts))
    random.Random(_SEED).shuffle(unique)
    return unique


def _words(text: str) -> list[str]:
    if len(_CJK.findall(text)) * 3 > len(text):
        import jieba

        return [w for w in jieba.lcut(text) if w.strip()]
    return text.split()


def perturb(text: str, rng: random.Random) -> str:
    """A plausible re-wording of a ticket: dropped words, swapped neighbours, different numbers."""
    words = _words(text)
    joiner = "" if len(_CJK.findall(text)) * 3 > len(text) else " "
    kept = [w for w in words if rng.random() > 0.15] or words[:1]
    for i in range(len(kept) - 1):
        if rng.random() < 0.1:
            kept[i], kept[i + 1] = kept[i + 1], kept[i]
    out = joiner.join(kept)
    return _NUMBER.sub(lambda m: str(rng.randint(0, 10 ** len(m.group()) - 1)), out)


@dataclass(frozen=True)
class Corpus:
    base: np.ndarray  # (n_embedded, dim) float16: real then text-perturbed embeddings
    queries: np.ndarray  # (n_queries, dim) float32: held-out real texts
    sigma: float  # embedding-space noise scale matching text perturbations
    n_real: int
    target_cos: float
    texts: list[str]  # the embedded texts, aligned with ``base``
    query_texts: list[str]


def embed_cached(encoder: Encoder, texts: Sequence[str], cache: Path, batch: int = 512) -> np.ndarray:
    """Float16 embeddings of ``texts``, cached per chunk of 10,000 under a hash of the chunk's texts."""
    cache.mkdir(parents=True, exist_ok=True)
    chunk = 10_000
    parts = []
    started, embedded = time.perf_counter(), 0
    for start in range(0, len(texts), chunk):
        piece = list(texts[start : start + chunk])
        digest = hashlib.sha256("\x00".join(piece).encode("utf-8")).hexdigest()[:16]
        part_path = cache / f"{encoder.name}-{digest}.npy"
        if part_path.exists():
            parts.append(np.load(part_path))
            continue
        vectors = np.concatenate([encoder.encode(piece[i : i + batch]) for i in range(0, len(piece), batch)])
        np.save(part_path, vectors.astype(np.float16))
        parts.append(vectors.astype(np.float16))
        embedded += len(piece)
        logger.info(
            "embedded %d/%d texts (%.0f/s)",
            start + len(piece),
            len(texts),
            embedded / (time.perf_counter() - started),
        )
    return np.concatenate(parts) if parts else np.zeros((0, encoder.dim), dtype=np.float16)


def build_corpus(datasets: Path, n_embed: int, cache: Path, encoder_spec: str = "use-m3") -> Corpus:
    """Real and text-perturbed embeddings (cached) plus the calibrated embedding-space noise."""
    texts = real_texts(datasets)
    queries_text, real = texts[:_QUERIES], texts[_QUERIES:]
    rng = random.Random(_SEED)
    generated = [perturb(real[i % len(real)], rng) for i in range(max(0, n_embed - len(real)))]
    base_texts = (real + generated)[:n_embed]
    encoder = get_encoder(encoder_spec)
    encoder.load()
    queries = embed_cached(encoder, queries_text, cache).astype(np.float32)
    base = embed_cached(encoder, base_texts, cache)
    # Calibrate: cosine between a real text and its text perturbation (generated[i] perturbs real[i]).
    pairs = min(len(generated), len(real), 5000)
    if pairs:
        a = base[:pairs].astype(np.float32)
        b = base[len(real) : len(real) + pairs].astype(np.float32)
        target = float(np.median(np.sum(a * b, axis=1)))
    else:
        target = 0.9
    sigma = _sigma_for(base[: min(len(base), 5000)].astype(np.float32), target)
    return Corpus(base, queries, sigma, len(real), target, base_texts, queries_text)


def _sigma_for(sample: np.ndarray, target_cos: float) -> float:
    """Per-dimension noise scale whose perturbations have median cosine ``target_cos`` to the original."""
    rng = np.random.default_rng(_SEED)
    noise = rng.standard_normal(sample.shape).astype(np.float32)
    low, high = 0.0, 1.0
    for _ in range(30):
        mid = (low + high) / 2
        moved = sample + mid * noise
        moved /= np.linalg.norm(moved, axis=1, keepdims=True)
        if float(np.median(np.sum(sample * moved, axis=1))) > target_cos:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def vectors_of_size(corpus: Corpus, n: int) -> np.ndarray:
    """``n`` float32 vectors: the embedded ones first, then embedding-space perturbations of them."""
    base = corpus.base
    if n <= len(base):
        return base[:n].astype(np.float32)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    out[: len(base)] = base
    rng = np.random.default_rng(_SEED + 1)
    for start in range(len(base), n, 100_000):
        stop = min(n, start + 100_000)
        source = rng.integers(0, len(base), size=stop - start)
        moved = base[source].astype(np.float32) + corpus.sigma * rng.standard_normal(
            (stop - start, base.shape[1]), dtype=np.float32
        )
        moved /= np.linalg.norm(moved, axis=1, keepdims=True)
        out[start:stop] = moved
    return out


# ---------------------------------------------------------------- measurements


def _rss_mib() -> float:
    """Resident memory of this process now (not the peak), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> np.ndarray:
    """Ground truth: exact inner-product top-k row positions, in batches."""
    index = VectorIndex(vectors.shape[1], "flat")
    index.upsert(np.arange(len(vectors), dtype=np.int64), vectors)
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), 100):
        _, ids = index.search(queries[start : start + 100], k)
        out[start : start + 100] = ids
    return out


def _single_query_latency(
    index: VectorIndex, queries: np.ndarray, k: int = 10
) -> tuple[list[float], np.ndarray]:
    found = np.empty((len(queries), k), dtype=np.int64)
    times = []
    for i, query in enumerate(queries):
        started = time.perf_counter()
        _, ids = index.search(query, k)
        times.append((time.perf_counter() - started) * 1000)
        found[i] = ids[0]
    return times, found


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(
        np.mean([len(set(f.tolist()) & set(t.tolist())) / len(t) for f, t in zip(found, truth, strict=True)])
    )


@dataclass(frozen=True)
class IndexResult:
    size: int
    kind: str
    build_s: float
    memory_mib: float
    bytes_mib: float
    p50_ms: float
    p99_ms: float
    recall: float
    exact_p50_ms: float
    sweep: tuple[tuple[int, float, float], ...]  # (efSearch, p50 ms, recall@10)
    churn: str


def measure_index(corpus: Corpus, n: int, kind: str | None, ef_values: Sequence[int]) -> IndexResult:
    """Build the index ``VectorIndex.for_size`` picks (or ``kind``) over ``n`` vectors and measure it."""
    vectors = vectors_of_size(corpus, n)
    queries = corpus.queries
    logger.info("size %d: exact ground truth for %d queries", n, len(queries))
    truth = exact_top(vectors, queries)
    exact = VectorIndex(vectors.shape[1], "flat")
    exact.upsert(np.arange(n, dtype=np.int64), vectors)
    exact_times, _ = _single_query_latency(exact, queries[:100])
    del exact
    gc.collect()
    before = _rss_mib()
    index = VectorIndex(vectors.shape[1], kind) if kind else VectorIndex.for_size(vectors.shape[1], n)
    started = time.perf_counter()
    for start in range(0, n, 50_000):
        index.upsert(
            np.arange(start, min(n, start + 50_000), dtype=np.int64), vectors[start : start + 50_000]
        )
    build = time.perf_counter() - started
    gc.collect()
    memory = _rss_mib() - before
    with tempfile.TemporaryFile() as handle:
        index.write(handle)
        size_mib = handle.tell() / 2**20
    logger.info("size %d: %s index built in %.0f s, %.0f MiB", n, index.kind, build, memory)
    sweep = []
    if index.kind == "hnsw":
        for ef in ef_values:
            index.ef_search = ef
            _single_query_latency(index, queries[:50])
            times, found = _single_query_latency(index, queries)
            sweep.append((ef, _percentile(times, 50), _recall(found, truth)))
        index.ef_search = HNSW_EF_SEARCH  # the table reports what the service runs
    _single_query_latency(index, queries[:50])
    times, found = _single_query_latency(index, queries)
    churn = _churn(index, vectors, queries)
    return IndexResult(
        n,
        index.kind + (f" (M={HNSW_M}, efSearch={index.ef_search})" if index.kind == "hnsw" else ""),
        build,
        memory,
        size_mib,
        _percentile(times, 50),
        _percentile(times, 99),
        _recall(found, truth),
        _percentile(exact_times, 50),
        tuple(sweep),
        churn,
    )


def _churn(index: VectorIndex, vectors: np.ndarray, queries: np.ndarray) -> str:
    """Replace 0.5% and delete 0.5% of the rows; no deleted row may come back, and time it."""
    rng = np.random.default_rng(_SEED + 2)
    n = len(vectors)
    touched = rng.choice(n, size=max(2, n // 100), replace=False)
    replaced, deleted = touched[: len(touched) // 2], touched[len(touched) // 2 :]
    started = time.perf_counter()
    index.upsert(replaced.astype(np.int64), vectors[rng.integers(0, n, size=len(replaced))])
    index.remove(deleted.astype(np.int64))
    elapsed = time.perf_counter() - started
    returned = set()
    for query in np.concatenate([queries[:200], vectors[deleted[:200]]]):
        _, ids = index.search(query, 10)
        returned.update(ids[0].tolist())
    leaked = len(returned & set(deleted.tolist()))
    return (
        f"{len(replaced)} replaced + {len(deleted)} deleted in {elapsed:.1f} s; "
        f"{leaked} deleted rows returned in 400 searches; {index.tombstones} tombstones"
    )


# ---------------------------------------------------------------- the knowledge base at 100k


@dataclass(frozen=True)
class StoreResult:
    size: int
    index_rate: float
    encode_rate: float
    search_p50_ms: float
    search_p99_ms: float
    use_query_ms: float
    minilm_query_ms: float
    kind: str


def measure_knowledge_base(corpus: Corpus, n: int, folder: Path) -> StoreResult:
    """Bulk indexing rate and hybrid search latency of a ``KnowledgeBase`` holding ``n`` cases."""
    from knowledge import Document, DocumentStore, KnowledgeBase

    vectors = corpus.base[:n].astype(np.float32)
    texts = corpus.texts[:n]
    kb = KnowledgeBase(DocumentStore(folder / "kb.db"), get_encoder("use-m3"), folder / "index")
    kb.load()
    started = time.perf_counter()
    for start in range(0, n, 1000):
        docs = [
            Document(
                doc_id=f"c{i}",
                body=texts[i],
                resolution="resolved",
                created_at=f"2024-01-01T00:00:{i % 60:02d}",
            )
            for i in range(start, min(n, start + 1000))
        ]
        kb.add(docs, vectors[start : start + len(docs)])
    kb.flush()
    index_rate = n / (time.perf_counter() - started)
    use = kb.encoder
    probe = corpus.query_texts[:200]
    started = time.perf_counter()
    use.encode(texts[:2000])
    encode_rate = 2000 / (time.perf_counter() - started)
    use_times = []
    for text in probe[:100]:
        t0 = time.perf_counter()
        use.encode([text])
        use_times.append((time.perf_counter() - t0) * 1000)
    query_vectors = corpus.queries[: len(probe)]
    times = []
    for text, vector in zip(probe, query_vectors, strict=False):
        t0 = time.perf_counter()
        kb.search(vector, "default", k=5, text=text)
        times.append((time.perf_counter() - t0) * 1000)
    minilm = get_encoder("sentence-transformers:minilm")
    minilm.load()
    mini_times = []
    for text in probe[:100]:
        t0 = time.perf_counter()
        minilm.encode([text])
        mini_times.append((time.perf_counter() - t0) * 1000)
    kind = kb._shard("default").dense[use.name].kind
    kb.store.close()
    return StoreResult(
        n,
        index_rate,
        encode_rate,
        _percentile(times[20:], 50),
        _percentile(times[20:], 99),
        _percentile(use_times, 50),
        _percentile(mini_times, 50),
        kind,
    )


# ---------------------------------------------------------------- report


def markdown(
    corpus: Corpus, results: Sequence[IndexResult], store: StoreResult | None, command: str, seconds: float
) -> str:
    lines = [
        "## Scale: FAISS index by size, and the knowledge base at 100k cases",
        "",
        stamp(command).rstrip(),
        f"- Wall time: {seconds / 60:.1f} min. FAISS {_faiss_version()}; queries run one at a time, single-threaded.",
        f"- Vectors: USE-m3 (512-d) of {corpus.n_real:,} real texts from the shared datasets and "
        f"{len(corpus.base) - corpus.n_real:,} text perturbations of them (word dropout, swaps, new numbers); "
        f"beyond {len(corpus.base):,}, perturbations in embedding space with noise scale {corpus.sigma:.4f} "
        f"per dimension, calibrated so a vector and its perturbation have median cosine {corpus.target_cos:.3f}, "
        "as a text and its text perturbation do. Queries: "
        f"{len(corpus.queries):,} held-out real texts. Recall@10 is against exact search on the same vectors.",
        "",
        "| vectors | index | build | memory (RSS) | snapshot | p50 | p99 | recall@10 | exact p50 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.size:,} | {r.kind} | {r.build_s:.0f} s | {r.memory_mib:,.0f} MiB | {r.bytes_mib:,.0f} MiB "
            f"| {r.p50_ms:.2f} ms | {r.p99_ms:.2f} ms | {r.recall:.3f} | {r.exact_p50_ms:.1f} ms |"
        )
    for r in results:
        if r.sweep:
            sweep = ", ".join(f"ef {ef}: {p50:.2f} ms / {rec:.3f}" for ef, p50, rec in r.sweep)
            lines.append(f"\n- {r.size:,} HNSW efSearch sweep (p50 / recall@10): {sweep}.")
    for r in results:
        lines.append(f"- {r.size:,} updates: {r.churn}.")
    if store is not None:
        lines += [
            "",
            f"**KnowledgeBase with {store.size:,} cases** (USE-m3 vectors precomputed, BM25 over the texts, "
            f"{store.kind} FAISS index, SQLite WAL synchronous=FULL):",
            "",
            "| measure | value |",
            "|---|---|",
            f"| bulk indexing, vectors given (store + FAISS + BM25), batches of 1,000 | {store.index_rate:,.0f} cases/s |",
            f"| USE-m3 encoding, batches | {store.encode_rate:,.0f} texts/s |",
            f"| bulk indexing including encoding | {1 / (1 / store.index_rate + 1 / store.encode_rate):,.0f} cases/s |",
            f"| hybrid search p50 / p99 (k=5, query vector given, BM25 + dense + fusion + fetch) | "
            f"{store.search_p50_ms:.1f} / {store.search_p99_ms:.1f} ms |",
            f"| + USE-m3 query encoding p50 | {store.use_query_ms:.1f} ms |",
            f"| + MiniLM query encoding p50 (when configured as a further encoder) | {store.minilm_query_ms:.1f} ms |",
        ]
    return "\n".join(lines)


def _faiss_version() -> str:
    import faiss

    return str(getattr(faiss, "__version__", "?"))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated index sizes")
    parser.add_argument("--embed", type=int, default=150_000, help="texts embedded with USE-m3 (cached)")
    parser.add_argument("--cache", type=Path, default=_DEFAULT_CACHE)
    parser.add_argument(
        "--kb-size", type=int, default=100_000, help="knowledge-base benchmark size (0 skips)"
    )
    parser.add_argument("--ef", default="16,32,48,64,96,128,192", help="HNSW efSearch values to sweep")
    parser.add_argument("--out", type=Path, default=None, help="benchmarks file to update (section 'scale')")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    started = time.perf_counter()
    corpus = build_corpus(args.datasets, args.embed, args.cache)
    results = []
    ef_values = [int(e) for e in args.ef.split(",")]
    for size in (int(s) for s in args.sizes.split(",") if s):
        results.append(measure_index(corpus, size, None, ef_values))
        gc.collect()
        if size < EXACT_LIMIT:  # what HNSW would give at this size, for comparison
            results.append(measure_index(corpus, size, "hnsw", ef_values))
            gc.collect()
    store = None
    if args.kb_size:
        with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
            store = measure_knowledge_base(corpus, args.kb_size, Path(tmp))
    command = "python -m eval.scale_bench" + (f" --sizes {args.sizes}" if args.sizes else "")
    command += f" --out {args.out}" if args.out else ""
    text = markdown(corpus, results, store, command, time.perf_counter() - started)
    print(text)
    if args.out:
        update_section(args.out, "scale", text)


if __name__ == "__main__":
    main()
