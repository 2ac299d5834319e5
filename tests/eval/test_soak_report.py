"""make soak's report: each part rewrites only its own block of the Reliability section."""

from __future__ import annotations

from pathlib import Path

from eval.soak import write_parts

KILL = {"rounds": 3, "acked_cases": 10, "acked_feedback": 12, "lost_cases": 0, "lost_feedback": 0}
ADVERSARIAL = {"requests": 40, "over_bound": [], "worst_s": 0.21, "worst": "/v1/triage body='中'"}


def test_a_part_rewrites_its_own_block_and_keeps_the_others_and_the_notes(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\n<!-- bench:other -->\nother section\n<!-- /bench:other -->\n")
    write_parts(out, {"kill": KILL}, "python -m eval.soak --parts kill")
    text = out.read_text()
    assert "other section" in text and "lost after restart: **0 cases, 0 feedback rows**" in text
    # Notes written by hand after the blocks stay; a new part goes before them, in PARTS order.
    out.write_text(
        text.replace("<!-- /bench:reliability -->", "#### Notes\n\nkept\n<!-- /bench:reliability -->")
    )
    write_parts(out, {"adversarial": ADVERSARIAL}, "python -m eval.soak --parts adversarial")
    write_parts(out, {"kill": KILL | {"rounds": 20}}, "python -m eval.soak --parts kill")
    text = out.read_text()
    assert (
        text.count("<!-- bench:reliability-kill -->") == 1 and "20 rounds" in text and "3 rounds" not in text
    )
    assert text.index("reliability-kill -->") < text.index("reliability-adversarial -->") < text.index("kept")
    assert text.count("## Reliability") == 1 and "other section" in text


def _load(served: float, p99: float) -> dict[str, object]:
    figures = {
        "seconds": 60.0,
        "offered_per_s": 2 * served,
        "served_per_s": served,
        "admitted_p50": p99 / 2,
        "admitted_p99": p99,
        "refused": 100,
        "refused_p50": 0.002,
        "refused_p99": 0.005,
        "refused_max": 0.01,
        "failed": 0,
        "statuses": {"200": 10, "503": 100},
        "lag_p99": 0.003,
        "lag_max": 0.006,
        "probes": 600,
        "probes_failed": 0,
        "probe_p99": 0.004,
        "probe_max": 0.008,
    }
    recovery = figures | {"seconds": 9.5, "refused": 0, "admitted_p99": 0.03, "grace_statuses": {"200": 12}}
    cpu = {
        "server_cpu_ms": 2.5,
        "generator_cpu_ms": 0.25,
        "server_cpu_cores": 1.8,
        "generator_cpu_cores": 0.1,
    }
    return figures | cpu | {"recovery": recovery}


def _overload(bound: int, workers: int, capacity: float, p99: float, **settings: str) -> dict[str, object]:
    return {
        "in_flight_bound": bound,
        "micro_batch_workers": workers,
        "settings": settings,
        "processes": 2,
        "unloaded_p50": 0.015,
        "unloaded_p99": 0.03,
        "capacity_per_s": capacity,
        "capacity": {"seconds": 30.0, "admitted_p99": 0.06, "refused": 0},
        "loads": {"2x": _load(capacity, p99), "5x": _load(capacity * 0.95, p99)},
        "seconds": 60.0,
    }


def test_overload_reports_the_default_and_the_settings_compared_in_the_same_run(tmp_path: Path) -> None:
    overload = _overload(2, 1, 60.0, 0.07)
    overload["compare"] = {
        "old": _overload(4, 2, 70.0, 0.12, TRIAGE_MAX_IN_FLIGHT="4"),
        "two": _overload(4, 1, 90.0, 0.05, TRIAGE_WORKERS="2") | {"server_processes": 2},
    }
    out = tmp_path / "BENCHMARKS.md"
    write_parts(out, {"overload": overload}, "python -m eval.soak --parts overload")
    text = out.read_text()
    assert "In-flight bound 2, 1 micro-batch worker. Unloaded" in text
    assert (
        "Same run, just after, `old`: In-flight bound 4, 2 micro-batch workers (set: TRIAGE_MAX_IN_FLIGHT=4)"
        in text
    )
    assert (
        "`two`: 2 server processes (`workers`), each with its share of the bounds; In-flight bound 4" in text
    )
    assert "2x: server 2.50 ms (1.80 cores), generator 0.25 ms (0.10 cores); 5x: server" in text
    held, missed, _ = text.split("Same run, just after")
    assert "**All held.**" in held and "Missed" not in held
    assert "**Missed: 2x admitted p99 <= 3x unloaded p99; 5x admitted p99 <= 3x unloaded p99.**" in missed
