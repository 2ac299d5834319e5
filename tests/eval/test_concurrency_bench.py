"""The concurrency bench's table and its --variant option (the measuring itself needs a server: make bench)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from eval.concurrency_bench import HOG_CLIENTS, Results, markdown, parse_variant, stage_shares


def _round(rate: float, cpu: float = 15.0, **extra: float) -> dict[str, float]:
    return {
        "tickets_per_s": rate,
        "p50_ms": 20.0,
        "p99_ms": 60.0,
        "answer_p99_ms": 1060.0,
        "refused_per_s": 5.0,
        "unserved": 3.0,
        "starved": 1.0,
        "errors": 0.0,
        "cpu_ms": cpu,
        "generator_cpu_ms": 0.25,
    } | extra


def test_variant_names_triage_settings() -> None:
    assert parse_variant("off:TRIAGE_MICRO_BATCH_MAX=1,TRIAGE_GIL_SWITCH_INTERVAL_MS=5") == (
        "off",
        {"TRIAGE_MICRO_BATCH_MAX": "1", "TRIAGE_GIL_SWITCH_INTERVAL_MS": "5"},
    )
    for bad in ("off", "off:MICRO_BATCH_MAX=1", ":TRIAGE_X=1"):
        with pytest.raises(argparse.ArgumentTypeError, match="NAME:TRIAGE_SETTING=VALUE"):
            parse_variant(bad)


def test_table_compares_client_counts_variants_and_the_hog() -> None:
    current: Results = {
        1: [_round(40.0), _round(44.0)],
        HOG_CLIENTS: [_round(66.0), _round(70.0)],
        32: [_round(68.0), _round(72.0)],
        "hog": [_round(40.0, hog_share=0.5), _round(42.0, hog_share=0.5)],
    }
    off: Results = {c: [_round(r["tickets_per_s"] / 2) for r in rounds] for c, rounds in current.items()}
    off["hog"] = [_round(20.0, hog_share=0.5)]
    text = markdown({"current": current, "off": off}, 192, "make bench")
    assert "| 8 | 68.0 | 1.62x | 20.0 | 60.0 | 1060 | 5.0 | 3 | 1 | 15.0 | 0.25 | 0 |" in text
    assert "generator CPU ms/request" in text
    assert "at its default admission (`max_in_flight`" in text
    assert "raised to 1024" in markdown({"current": current}, 192, "make bench", unbounded=True)
    assert "| 8 + CPU hog | 41.0 | 0.98x |" in text
    # 41 of 68 tickets/s (0.60x) beside a hog that took half the machine: within the share lost.
    assert "Beside the hog (current): 0.60x" in text and "within the CPU share lost" in text
    assert "variant `off`" in text and "8: 2.00x" in text


def test_profile_stacks_count_for_their_stage(tmp_path: Path) -> None:
    raw = tmp_path / "gil-8.txt"
    worker = "thread (1): AnyIO worker thread;WorkerThread.run (anyio/_backends/_asyncio.py:1)"
    raw.write_text(
        f"{worker};MicroBatcher._call (serving/batching.py:9);TriageService.encode (triage/pipeline.py:5) 6\n"
        f"{worker};MicroBatcher._call (serving/batching.py:9);TriageService._predict (triage/pipeline.py:7) 3\n"
        "thread (2): MainThread;run (uvicorn/server.py:1);solve_dependencies (fastapi/dependencies/utils.py:1) 1\n",
        encoding="utf-8",
    )
    assert stage_shares(raw) == {
        "encode": 0.6,
        "classify (routing heads)": 0.3,
        "request parsing + dependencies": 0.1,
    }
