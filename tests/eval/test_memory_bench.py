"""The memory and cold-start benchmarks: growing a knowledge base, reading a process's memory, tables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embeddings import get_encoder
from eval import bench, coldstart, memory_bench
from knowledge import Document, DocumentStore, KnowledgeBase
from training.demo import DemoPaths


def test_memory_reads_this_process() -> None:
    figures = coldstart.memory(None)
    assert 0 < figures["anon"] <= figures["rss"] <= figures["hwm"]
    assert coldstart.memory(os.getpid())["hwm"] >= figures["hwm"]


@pytest.mark.data
@pytest.mark.sqlite_only(
    "the benchmark copies the demo's data folder, SQLite file included; on PostgreSQL the copy's path "
    "names another, empty database"
)
def test_grow_stores_and_indexes_the_cases_of_grow_demo(tmp_path: Path, shared_datasets: Path) -> None:
    demo = _six_case_demo(tmp_path)
    encoder = get_encoder("use-m3")

    grown = memory_bench.grow(demo, 40, shared_datasets)
    assert grown == tmp_path / "var-40"
    again = KnowledgeBase(DocumentStore(DemoPaths(grown).database), encoder, DemoPaths(grown).snapshots)
    again.load()
    try:
        assert again.store.count("default", "case") == 46
        assert again.size("default") == 46
        doc = again.store.get("default", "case", "grown-7")
        assert doc is not None and doc.department == "IT" and doc.body
        # Built once: a second call finds the cases there and adds none.
        assert memory_bench.grow(demo, 40, shared_datasets) == grown
        assert again.store.count("default", "case") == 46
    finally:
        again.store.close()


@pytest.mark.data
@pytest.mark.sqlite_only("the benchmark copies the demo's data folder, SQLite file included")
def test_grow_demo_builds_once_and_reuses_without_writing(tmp_path: Path, shared_datasets: Path) -> None:
    demo = _six_case_demo(tmp_path)

    grown = bench.grow_demo(demo, 40, shared_datasets)
    store = DocumentStore(DemoPaths(grown).database)
    store.open()
    try:
        assert store.count("default", "case") == 46
        written = store.head_seq()
        # Reused: no case is stored again (the grown cases are among the first rows it counts now).
        assert bench.grow_demo(demo, 40, shared_datasets) == grown
        assert store.head_seq() == written and store.count("default", "case") == 46
    finally:
        store.close()


def test_tables_name_their_sizes_and_goals() -> None:
    row = {
        "label": "1,003,600 cases",
        "cases": 1_003_600,
        "ready_s": 21.5,
        "ready_rss_mib": 1900.0,
        "rss_mib": 2000.0,
        "anon_mib": 1500.0,
        "peak_mib": 2500.0,
        "processes": 2,
        "tickets": 200,
        "p50_ms": 30.0,
        "snapshots_mib": {"bm25.bin": 240.0, "dense-use-m3.bin": 790.0},
        "kb_rss_mib": 1100.0,
        "kb_peak_mib": 1300.0,
        "kb_load_s": 20.0,
    }
    text = memory_bench.markdown([row], "python -m eval.memory_bench --cases 1000000")
    assert "| server RSS after the tickets | 2,000 MiB | ≤ 1.5 GB at 1M |" in text
    assert "| server peak (VmHWM, loading included) | 2,500 MiB |" in text
    assert "dense-use-m3.bin 790 MiB" in text
    assert "the sum over the server's processes (2 here)" in text
    starts = {
        "this checkout": [
            {"seconds": s, "rss_mib": 700.0, "torch": False, "first_ms": [f, 9.0]}
            for s, f in ((4.1, 12.0), (3.9, 14.0), (4.4, 11.0))
        ],
        "baseline (old)": [{"seconds": s, "rss_mib": 800.0, "torch": True} for s in (6.0, 6.2, 5.9)],
    }
    table = coldstart.markdown(starts, "python -m eval.coldstart --rounds 3")
    assert "| this checkout | 4.10, 3.90, 4.40 | **4.10 s** | 700 MiB | 12.0 / 9.0 ms | no | ≤ 5 s |" in table
    assert (
        "| baseline (old) | 6.00, 6.20, 5.90 | **6.00 s** | 800 MiB | not measured | yes | ≤ 5 s |" in table
    )


def test_a_baselines_folder_has_the_grown_knowledge_base_and_the_baselines_own_bundle(tmp_path: Path) -> None:
    grown, demo = tmp_path / "var-40", tmp_path / "var-coldstart-baseline"
    for folder, bundle in ((grown, "ours"), (demo, "theirs")):
        (DemoPaths(folder).models / "default").mkdir(parents=True)
        (DemoPaths(folder).models / "default" / "router.pkl").write_text(bundle)
        DemoPaths(folder).database.write_text(f"database of {folder.name}")
    other = memory_bench.baseline_folder(grown, demo)
    assert other == tmp_path / "var-40-baseline"
    assert DemoPaths(other).database.read_text() == "database of var-40"
    assert (DemoPaths(other).models / "default" / "router.pkl").read_text() == "theirs"
    assert memory_bench.baseline_folder(grown, demo) == other  # built once


def _six_case_demo(tmp_path: Path) -> Path:
    """A data folder with six IT cases and random unit vectors: what the grow functions start from."""
    demo = tmp_path / "var"
    paths = DemoPaths(demo)
    encoder = get_encoder("use-m3")  # named only: the vectors are given, nothing is embedded
    kb = KnowledgeBase(DocumentStore(paths.database), encoder, paths.snapshots)
    kb.load()
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((6, 512)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    kb.add(
        [Document(f"c{i}", title=f"case {i}", body="vpn down", department="IT") for i in range(6)], vectors
    )
    kb.store.close()
    return demo


def test_cold_start_with_workers_reports_first_and_last_worker_and_memory_by_process() -> None:
    runs = [
        {"seconds": 4.0, "all_ready_seconds": a, "rss_mib": 1300.0, "process_rss_mib": [620.0, 600.0, 80.0]}
        | {"torch": False}
        for a in (5.5, 5.0, 6.0)
    ]
    table = coldstart.workers_markdown({"this checkout": runs}, "python -m eval.coldstart --workers 2", 2)
    assert "| 5.50, 5.00, 6.00 | 4.00 s | **5.50 s** | 1,300 MiB | 620, 600, 80 MiB | no | ≤ 5 s |" in table


def test_the_process_tree_holds_a_server_and_its_workers() -> None:
    from eval.concurrency_bench import cpu_seconds
    from eval.processes import process_tree, rss_mib

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in process_tree(os.getpid())
        assert cpu_seconds(os.getpid()) > 0 and len(rss_mib(os.getpid())) >= 2
    finally:
        child.kill()
        child.wait()
