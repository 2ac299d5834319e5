"""Dashboard benchmark: every /v1/stats figure (and /v1/drift's profile) over a ledger of 1M predictions.

Run with ``python -m eval.dashboard_bench --out BENCHMARKS.md``. Writes a synthetic ledger into a
temporary SQLite file: ``--predictions`` predictions (three heads per ticket) spread over 30 days,
with label feedback on 6 % of tickets, case feedback on 2 %, reassignments on 3 %, a handling
estimate per ticket (10 % still open), and 4 % of tickets flagged as duplicates of 2,000 cases
(three quarters of them open) in the knowledge base's table of the same database. Then times each figure's query (``knowledge.stats``, the
database work behind each endpoint) for the 30-day, 7-day and today ranges, and, as the baseline
in the same run, the volume figure computed from the raw prediction log instead of the hourly
aggregates, and the handoffs figure read from the hourly table alone (before the per-day table).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from eval.report import stamp, update_section
from knowledge import stats
from knowledge.ledger import HandlingRecord, Ledger, PredictionRecord
from knowledge.stats import Period
from knowledge.store import Document, DocumentStore

TENANT = "bench"
DEPARTMENTS = ["IT", "HR", "Finance", "Facilities", "Procurement", "Legal", "CustomerService", "Security"]
CATEGORIES = [f"cat-{i}" for i in range(24)]
PRIORITIES = ["P1", "P2", "P3", "P4"]
LANGUAGES = ["zh", "en", "mixed"]


def build(ledger: Ledger, predictions: int, now: datetime, seed: int = 0) -> int:
    """Fill the ledger; returns the number of tickets."""
    rng = random.Random(seed)
    tickets = predictions // 3
    chunk: list[PredictionRecord | HandlingRecord] = []
    span = 30 * 24 * 3600
    for i in range(tickets):
        at = now - timedelta(seconds=rng.randrange(span))
        ticket = f"T{i}"
        version = "v2" if at > now - timedelta(days=10) else "v1"
        language = rng.choice(LANGUAGES)
        department = rng.choice(DEPARTMENTS)
        for head, value in (
            ("department", department),
            ("category", rng.choice(CATEGORIES)),
            ("priority", rng.choice(PRIORITIES)),
        ):
            confidence = rng.betavariate(5, 2)
            chunk.append(
                PredictionRecord(
                    TENANT, ticket, version, "active", head, value, confidence, confidence < 0.5, language, at
                )
            )
        chunk.append(
            HandlingRecord(
                TENANT, ticket, version, department, rng.choice(PRIORITIES), at, 6.0, 20.0, 24.0, rng.random()
            )
        )
        if len(chunk) >= 40_000:
            ledger.backfill(chunk)
            chunk = []
    ledger.backfill(chunk)
    feedback: list[tuple[Any, ...]] = []
    for i in rng.sample(range(tickets), tickets * 8 // 100):
        when = (now - timedelta(seconds=rng.randrange(span))).isoformat(timespec="milliseconds")
        if i % 4:
            predicted, correct = rng.choice(DEPARTMENTS), rng.choice(DEPARTMENTS)
            feedback.append(
                (TENANT, f"T{i}", "label", "department", predicted, correct, None, None, None, when)
            )
        else:
            feedback.append(
                (TENANT, f"T{i}", "case", None, None, None, None, f"C{i % 500}", i % 3 == 0, when)
            )
    ledger.db.executemany(
        "INSERT INTO feedback (tenant, ticket_id, kind, head, predicted, correct, accepted, case_id, helpful, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        feedback,
    )
    for i in rng.sample(range(tickets), tickets * 3 // 100):
        a, b = rng.sample(DEPARTMENTS, 2)
        ledger.add_reassignment(
            TENANT, f"T{i}", a, b, now - timedelta(seconds=rng.randrange(span)), "zendesk"
        )
    store = DocumentStore(ledger.db)
    store.open()
    cases = [
        Document(
            f"INC-{i}",
            tenant=TENANT,
            title=f"incident {i}",
            department=rng.choice(DEPARTMENTS),
            status="open" if i % 4 else "resolved",
        )
        for i in range(2_000)
    ]
    store.upsert(cases, np.ones((len(cases), 4), dtype=np.float32), "bench")
    store.close()
    ledger.db.executemany(
        "INSERT INTO duplicate_links (tenant, ticket_key, case_id, score, at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        [
            (
                TENANT,
                f"T{i}",
                f"INC-{rng.randrange(2_000)}",
                0.5 + rng.random() / 2,
                (now - timedelta(seconds=rng.randrange(span))).isoformat(timespec="milliseconds"),
            )
            for i in rng.sample(range(tickets), tickets * 4 // 100)
        ],
    )
    # Closed 1 to 40 hours after creation (creation times are not kept here: close relative to now).
    ledger.close_tickets(
        [
            (TENANT, f"T{i}", now - timedelta(seconds=rng.randrange(span // 2)))
            for i in range(tickets)
            if i % 10
        ]
    )
    ledger.db.execute("ANALYZE")
    # Feedback went in as rows (26k acknowledged writes would take minutes of fsyncs): reopening
    # builds the verdict aggregates from them, as for a database from before the aggregates.
    with ledger._lock:
        for table in ("verdict_hours", "handoff_hours", "handoff_days", "suggestion_hours"):
            ledger.db.execute(f"DELETE FROM {table}")
    ledger.close()
    ledger.open()
    return tickets


def _time(call: Callable[[], Any], repeat: int) -> tuple[float, float]:
    call()  # warm the page cache once
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def _raw_volume(ledger: Ledger, period: Period) -> Any:
    """The baseline: the volume figure grouped from the raw prediction log."""
    low, high = period.instants()
    return ledger.query(
        f"SELECT substr(at, 1, {period.width}) AS bucket, value AS key, count(*) AS tickets FROM predictions"
        " WHERE tenant=? AND head='department' AND at>=? AND at<? AND role<>'shadow' GROUP BY bucket, key",
        [TENANT, low, high],
    )


def _hourly_handoffs(ledger: Ledger, period: Period) -> Any:
    """Baseline: the handoffs figure as it was, grouped from the per-hour table alone."""
    low, high = period.hours()
    return ledger.query(
        "SELECT from_department, to_department, source, sum(n) AS tickets FROM handoff_hours"
        " WHERE tenant=? AND hour>=? AND hour<? GROUP BY from_department, to_department, source"
        " ORDER BY tickets DESC, from_department, to_department",
        [TENANT, low, high],
    )


def run(predictions: int, repeat: int) -> tuple[str, list[tuple[str, str, float, float]]]:
    now = datetime.now(UTC)
    rows: list[tuple[str, str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Path(tmp) / "ledger.sqlite")
        ledger.open()
        started = time.perf_counter()
        tickets = build(ledger, predictions, now)
        built = time.perf_counter() - started
        n = ledger.query("SELECT count(*) FROM predictions")[1][0][0]
        hours = sum(
            ledger.query(f"SELECT count(*) FROM {table}")[1][0][0]
            for table in ("label_hours", "language_hours", "score_hours")
        )
        for name in ("30d", "7d", "today"):
            period = Period.of(name, now)
            figures: dict[str, Callable[[], Any]] = {
                "volume (by department)": partial(stats.volume, ledger, TENANT, period),
                "volume (by language)": partial(stats.volume, ledger, TENANT, period, "language"),
                "routing": partial(stats.routing, ledger, TENANT, period),
                "coverage": partial(stats.coverage, ledger, TENANT, period),
                "accuracy": partial(stats.accuracy, ledger, TENANT, period),
                "confusion": partial(stats.confusion, ledger, TENANT, period),
                "handoffs": partial(stats.handoffs, ledger, TENANT, period),
                "baseline: handoffs from the hourly table only": partial(_hourly_handoffs, ledger, period),
                "handoff tickets (one cell)": partial(
                    stats.handoff_tickets, ledger, TENANT, period, "IT", "HR"
                ),
                "sla-risk": partial(stats.sla_risk, ledger, TENANT, now),
                "handling": partial(stats.handling_accuracy, ledger, TENANT, period),
                "suggestions": partial(stats.suggestions, ledger, TENANT, period),
                "duplicates of open incidents": partial(stats.duplicates, ledger, TENANT, period),
                "drift profile (department)": partial(
                    ledger.drift_profile, TENANT, "department", "v2", period.since, period.until
                ),
                "drift profile (category)": partial(
                    ledger.drift_profile, TENANT, "category", "v2", period.since, period.until
                ),
                "baseline: volume from the raw log": partial(_raw_volume, ledger, period),
            }
            for figure, call in figures.items():
                p50, p95 = _time(call, repeat)
                rows.append((name, figure, p50, p95))
        ledger.close()
    info = (
        f"{n:,} predictions ({tickets:,} tickets x 3 heads) over 30 days, {hours:,} hourly aggregate rows; "
        f"built in {built:.0f} s"
    )
    return info, rows


def markdown(info: str, rows: Sequence[tuple[str, str, float, float]], command: str, repeat: int) -> str:
    lines = [
        "## Dashboard: /v1/stats figures over 1M stored predictions",
        "",
        stamp(command),
        f"- Data: {info}. Each figure's database work (`knowledge.stats`, what each `/v1/stats/...` "
        f"endpoint runs) timed {repeat} times after one warm-up; the machine's 2 cores were shared with "
        "other engineers' work.",
        "- Baselines (same run): the volume figure grouped from the raw prediction log instead of the "
        "hourly aggregates the ledger keeps in its writer's transaction (the ratio of every figure but "
        "handoffs), and the handoffs figure grouped from the hourly table alone, as it was before the "
        "per-day table (the ratio of handoffs).",
        "",
        "| range | figure | p50 ms | p95 ms | vs baseline (p50) |",
        "|---|---|---:|---:|---:|",
    ]
    raw = {r[0]: r[2] for r in rows if r[1] == "baseline: volume from the raw log"}
    hourly = {r[0]: r[2] for r in rows if r[1] == "baseline: handoffs from the hourly table only"}
    for name, figure, p50, p95 in rows:
        base = hourly[name] if figure == "handoffs" else raw[name]
        ratio = "" if figure.startswith("baseline") or not p50 else f"{base / p50:.1f}x faster"
        lines.append(f"| {name} | {figure} | {p50:.1f} | {p95:.1f} | {ratio} |")
    worst = max((r for r in rows if not r[1].startswith("baseline")), key=lambda r: r[2])
    handoffs = {r[0]: r[2] for r in rows if r[1] == "handoffs"}
    lines += [
        "",
        f"Slowest figure at p50: {worst[1]} ({worst[0]}), {worst[2]:.1f} ms (target: <= 200 ms).",
        f"Handoffs over 30 days: {handoffs['30d']:.1f} ms p50 with the per-day table, "
        f"{hourly['30d']:.1f} ms from the hourly table alone (same run).",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--predictions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--out", type=Path, default=None, help="BENCHMARKS.md to update (section 'dashboard')."
    )
    args = parser.parse_args(argv)
    command = f"python -m eval.dashboard_bench --predictions {args.predictions} --repeat {args.repeat}"
    info, rows = run(args.predictions, args.repeat)
    text = markdown(info, rows, command, args.repeat)
    print(text)
    if args.out:
        update_section(args.out, "dashboard", text)


if __name__ == "__main__":
    main()
