"""Memory at scale (issue 12.4): the real server's resident memory with 100k and 1M cases indexed.

Run ``python -m eval.memory_bench --cases 100000 1000000 --out BENCHMARKS.md``.

For each size it builds once (and reuses after) a copy of the demo with that many more solved cases,
then starts the real server on it (``python -m serving.cli serve --data-dir``), reads the process's
resident memory when ``/readyz`` first answers 200, sends real test-split tickets to ``/v1/triage``
(``eval.profile_bench.real_tickets``), and reads it again: VmRSS (now), RssAnon (the process's own
memory; the rest is mapped files), and VmHWM (the peak resident size since the process started,
loading included). The knowledge base alone is measured the same way in a fresh process that only
loads it from its snapshots.

The grown cases are those of ``eval.bench.grow_demo`` (same document ids, texts and vectors): real
ticket texts of the shared datasets for BM25, and the demo cases' USE-m3 vectors perturbed in
embedding space (median cosine 0.932 to the source), since embedding 1M texts would take about an
hour of both cores. They are stored in bulk and indexed in one catch-up (``grow_demo`` indexes every
5,000, rewriting the snapshots as it goes: fine at 100k, most of an hour at 1M).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from embeddings import get_encoder
from eval.bench import api_key, grown_documents, single_requests, sync_models
from eval.coldstart import baseline_demo, launch, tree_memory
from eval.profile_bench import real_tickets
from eval.report import DEFAULT_DATASETS, publish, stamp
from training.demo import DemoPaths, build_demo

logger = logging.getLogger(__name__)

BATCH = 5_000


def grow(data_dir: Path, cases: int, datasets: Path) -> Path:
    """A copy of the demo at ``data_dir`` with ``cases`` more solved cases, indexed and snapshotted.

    The same documents and vectors as ``eval.bench.grow_demo`` (a folder either built is the other's),
    written with ``store_documents`` in batches and indexed by one catch-up when the knowledge base
    loads.
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
    kb.store.open()
    try:
        have = kb.store.count("default", "case")
        base_rows = kb.store.filter_rows("default", "case")[:5000]
        demo = kb.store.get_rows(base_rows.tolist())
        stored = kb.store.vectors(base_rows.tolist())
        sources = np.stack([stored[int(r)] for r in base_rows])
        # The last grown case stored: built before (``count`` can be below the rows of a demo whose
        # cases are not all counted, so it alone would re-store the last few thousand each time).
        stored_all = kb.store.get("default", "case", f"grown-{cases - 1}") is not None
        if stored_all and any(paths.snapshots.rglob("dense-*.json")):
            return grown  # a server catches up whatever the snapshots miss
        if not stored_all:
            texts = real_texts(datasets)
            sigma = _sigma_for(sources, 0.932)
            rng = np.random.default_rng(12)
            started = time.perf_counter()
            for start in range(max(0, min(have - len(demo), cases - 1)), cases, BATCH):
                stop = min(cases, start + BATCH)
                picked = rng.integers(0, len(sources), size=stop - start)
                vectors = sources[picked] + sigma * rng.standard_normal((stop - start, sources.shape[1]))
                vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
                like = [demo[int(base_rows[p])] for p in picked]
                kb.store_documents(grown_documents(range(start, stop), texts, like), vectors)
                if stop % 100_000 == 0 or stop == cases:
                    logger.info("%d of %d cases stored (%.0f s)", stop, cases, time.perf_counter() - started)
        started = time.perf_counter()
        kb.load()  # the snapshots, then one catch-up over every stored case; writes the snapshots
        kb.size("default")
        kb.flush()
        logger.info("%s indexed (%.0f s)", grown, time.perf_counter() - started)
    finally:
        kb.store.close()
    return grown


def baseline_folder(grown: Path, demo: Path) -> Path:
    """A copy of ``grown`` holding the model bundle of ``demo`` (the baseline checkout's own demo):
    the same knowledge base, the bundle in the format the baseline's code reads."""
    other = grown.with_name(f"{grown.name}-baseline")
    if not other.exists():
        partial = other.with_name(f"{other.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(grown, partial, ignore=shutil.ignore_patterns("models"))
        shutil.copytree(DemoPaths(demo).models, DemoPaths(partial).models)
        partial.rename(other)
    return other


def _knowledge_base_alone(data_dir: Path, tree: Path | None = None) -> dict[str, float]:
    """Resident memory a fresh process adds by loading the knowledge base from its snapshots, and its peak."""
    code = (
        "import sys, json, time\n"
        "from pathlib import Path\n"
        "def memory(_):\n"
        "    f = dict(l.split(':', 1) for l in open('/proc/self/status'))\n"
        "    return {'rss': int(f['VmRSS'].split()[0]) / 1024, 'hwm': int(f['VmHWM'].split()[0]) / 1024}\n"
        "from embeddings import get_encoder\n"
        "from knowledge import DocumentStore, KnowledgeBase\n"
        "from training.demo import DemoPaths\n"
        "paths = DemoPaths(Path(sys.argv[1]))\n"
        "kb = KnowledgeBase(DocumentStore(paths.database), get_encoder('use-m3'), paths.snapshots)\n"
        "before = memory(None)\n"
        "started = time.perf_counter(); kb.load(); kb.size('default')\n"
        "print(json.dumps({'before': before, 'after': memory(None), 's': time.perf_counter() - started}))\n"
    )
    code_tree = tree.resolve() if tree is not None else Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(code_tree))
    done = subprocess.run(
        [sys.executable, "-c", code, str(data_dir.resolve())],  # resolved: it runs in ``code_tree``
        capture_output=True,
        text=True,
        env=env,
        cwd=code_tree,  # ``-c`` puts the working folder first on the path
        check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    before, after = figures["before"], figures["after"]
    return {
        "kb_rss_mib": after["rss"] - before["rss"],
        "kb_peak_mib": after["hwm"] - before["rss"],
        "kb_load_s": figures["s"],
    }


def _snapshot_mib(data_dir: Path) -> dict[str, float]:
    folder = DemoPaths(data_dir).snapshots
    return {p.name: p.stat().st_size / 2**20 for p in sorted(folder.rglob("*.bin"))}


def measure(data_dir: Path, tickets: int, datasets: Path, tree: Path | None = None) -> dict[str, Any]:
    """The server on ``data_dir`` (``tree``: another checkout's code, a baseline in the same run)."""
    from knowledge import DocumentStore

    store = DocumentStore(DemoPaths(data_dir).database)
    cases = store.count("default", "case")
    store.close()
    payloads = [{"title": t.title, "body": t.body} for t in real_tickets(datasets, tickets)]
    key = api_key(data_dir, name="memory-bench")
    process, base, ready_s = launch(data_dir, tree)
    try:
        at_ready = tree_memory(process.pid)
        with httpx.Client(base_url=base, timeout=120, headers={"Authorization": f"Bearer {key}"}) as client:
            latencies = single_requests(client, [], payloads)[0]
        after = tree_memory(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=60)
    out: dict[str, Any] = {
        "label": f"{cases:,} cases" + (f", baseline {tree.name}" if tree is not None else ""),
        "cases": cases,
        "ready_s": ready_s,
        "ready_rss_mib": at_ready["rss"],
        "rss_mib": after["rss"],
        "anon_mib": after["anon"],
        "peak_mib": after["hwm"],
        "processes": int(after["processes"]),
        "tickets": len(payloads),
        "p50_ms": float(np.percentile(latencies, 50)),
        "snapshots_mib": _snapshot_mib(data_dir),
    }
    out.update(_knowledge_base_alone(data_dir, tree))
    return out


def markdown(results: Sequence[dict[str, Any]], command: str) -> str:
    def row(label: str, cell: str, target: str = "") -> str:
        return f"| {label} | " + " | ".join(cell.format(**r) for r in results) + f" | {target} |\n"

    header = " | ".join(r["label"] for r in results)
    return (
        "## Memory at 100k and 1M cases: the real server (issue 12.4)\n\n"
        + stamp(command)
        + "- Server: `python -m serving.cli serve --data-dir DIR` (demo bundle, USE-m3), one uvicorn process and "
        "its encoder process (`encoder_process` 'auto'); every memory row is the sum over the server's "
        f"processes ({results[0]['processes']} here). The knowledge base is the demo's plus the grown cases (real texts of the shared datasets, the demo "
        "cases' vectors perturbed in embedding space: `eval.memory_bench.grow`). Memory from `/proc/PID/status`: "
        "VmRSS when `/readyz` first answers 200, then after the tickets (RssAnon: the processes' own memory, "
        "the rest mapped files), and VmHWM, the peak resident size since each process started.\n"
        f"- Tickets: {results[0]['tickets']} real test-split tickets (itsm English : cn-ict Chinese = 3 : 1), "
        "sequential `/v1/triage` calls.\n"
        "- Knowledge base alone: a fresh process that only loads it from its snapshots (RSS added, peak "
        "above the process before loading).\n\n"
        f"| measure | {header} | goal |\n|---|"
        + "---|" * len(results)
        + "---|\n"
        + row("server RSS after the tickets", "{rss_mib:,.0f} MiB", "≤ 1.5 GB at 1M")
        + row("of which anonymous (RssAnon)", "{anon_mib:,.0f} MiB")
        + row("server RSS when ready", "{ready_rss_mib:,.0f} MiB")
        + row("server peak (VmHWM, loading included)", "{peak_mib:,.0f} MiB")
        + row("process start to `/readyz` 200", "{ready_s:.1f} s")
        + row("single ticket p50 (sequential)", "{p50_ms:.1f} ms")
        + row("knowledge base alone: RSS added", "{kb_rss_mib:,.0f} MiB")
        + row("knowledge base alone: peak while loading", "{kb_peak_mib:,.0f} MiB")
        + row("knowledge base alone: load", "{kb_load_s:.1f} s")
        + "\nSnapshots on disk: "
        + "; ".join(
            f"{r['cases']:,} cases: "
            + ", ".join(f"{name} {mib:,.0f} MiB" for name, mib in r["snapshots_mib"].items())
            for r in results
            if "baseline" not in r["label"]
        )
        + ".\n"
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("var"), help="the demo (built if absent)")
    parser.add_argument(
        "--cases", type=int, nargs="+", default=[100_000], help="grown sizes to measure (e.g. 100000 1000000)"
    )
    parser.add_argument("--tickets", type=int, default=200, help="real tickets sent to each server")
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS, help="the shared datasets folder")
    parser.add_argument("--grow-only", action="store_true", help="build the grown folders and stop")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout measured in the same run, on the same knowledge bases with its own demo bundle",
    )
    parser.add_argument("--out", type=Path, help="update this BENCHMARKS.md")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    build_demo(args.data_dir, get_encoder("use-m3"))
    folders = [grow(args.data_dir, n, args.datasets) for n in args.cases]
    if args.grow_only:
        return
    results = []
    # The baseline reads the grown knowledge base with the bundle its own code built (formats differ).
    demo = baseline_demo(args.data_dir, args.baseline) if args.baseline is not None else None
    for folder in folders:
        if args.baseline is not None and demo is not None:
            results.append(measure(baseline_folder(folder, demo), args.tickets, args.datasets, args.baseline))
        results.append(measure(folder, args.tickets, args.datasets))
    command = "python -m eval.memory_bench --cases " + " ".join(str(n) for n in args.cases)
    if args.baseline is not None:
        command += f" --baseline {args.baseline}"
    text = markdown(results, command)
    publish(text, "memory", args.out, args.json, results)


if __name__ == "__main__":
    main()
