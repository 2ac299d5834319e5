"""Where a ticket's time goes: stage by stage, by cProfile, and under concurrent callers.

Run with ``make profile`` (or ``python -m eval.profile_bench --out BENCHMARKS.md``). Builds a small
demo (as the serving tests do) under ``--data-dir``, loads the real in-process service
(``TriageService``: bundled USE-m3, SQLite, FAISS, BM25, prediction ledger) and triages real ticket
texts from the shared datasets (itsm English, cn-ict Chinese test splits). Three views:

- stages: each stage of the pipeline timed on its own for every ticket (medians and shares);
- cProfile: the functions that take the time of ``TriageService.triage``, one ticket at a time;
- concurrency: 1 and N threads calling ``TriageService.triage`` at once (tickets/s), with a sampling
  profiler that records where the worker threads are (running or waiting on a lock) while they do.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import os
import pstats
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from embeddings import get_encoder
from eval.bench import grow_demo
from eval.report import DEFAULT_DATASETS, missing_datasets, stamp, update_section
from knowledge import DocumentStore, KnowledgeBase
from knowledge.ledger import Ledger
from training.demo import DemoPaths, build_demo
from triage.features import model_text
from triage.language import detect_language
from triage.models import ModelProvider
from triage.pipeline import ARTICLES_K, TriageService, prediction_records
from triage.registry import ModelRegistry
from triage.rules import RuleEngine
from triage.types import Ticket

# As tests/serving/conftest.py: every department and category learnt, quick to build.
PROFILE_DEMO_TICKETS = 1200
SOURCES = (("itsm-ticket-assignment", 0.75), ("cn-ict-fault-tickets", 0.25))
ROOT = Path(__file__).resolve().parent.parent


def real_tickets(datasets: Path, n: int) -> list[Ticket]:
    """``n`` test-split tickets, three English (itsm) to one Chinese (cn-ict); first line = title."""
    out: list[Ticket] = []
    for folder, share in SOURCES:
        path = datasets / folder / "split" / "test.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            rows = [r["text"] for r in csv.DictReader(handle) if r["text"].strip()]
        for text in rows[: max(1, round(n * share))]:
            title, _, body = text.strip().partition("\n")
            out.append(Ticket(title=title.strip(), body=body.strip() or title.strip()))
    # Interleave so that any prefix holds both languages.
    english, chinese = out[: round(n * SOURCES[0][1])], out[round(n * SOURCES[0][1]) :]
    mixed: list[Ticket] = []
    for i, ticket in enumerate(english):
        mixed.append(ticket)
        if i % 3 == 2 and chinese:
            mixed.append(chinese.pop(0))
    return (mixed + chinese)[:n]


def load_service(data_dir: Path, cases: int = 0, datasets: Path = DEFAULT_DATASETS) -> TriageService:
    """The demo's service wired as the server's default settings wire it (eval never imports serving).

    ``cases``: that many more solved cases indexed beside the demo's (``eval.bench.grow_demo``, as
    ``make bench`` measures at 100k), so that search costs what it costs at that size.
    """
    encoder = get_encoder("use-m3")
    paths = build_demo(data_dir, encoder, n_tickets=PROFILE_DEMO_TICKETS)
    if cases:
        paths = DemoPaths(grow_demo(data_dir, cases, datasets))
    service = TriageService(
        ModelProvider(ModelRegistry(paths.models), encoder.name),
        KnowledgeBase(DocumentStore(paths.database), encoder, paths.snapshots),
        encoder,
        ledger=Ledger(paths.database),
        rules=RuleEngine.default(),
    )
    service.load()
    return service


# ---------------------------------------------------------------- stages


STAGES = (
    "normalise + language",
    "fields",
    "summary",
    "encode",
    "classify",
    "ledger write",
    "rules",
    "completeness",
    "handling time",
    "similar (cases + articles)",
)


class _Clock:
    """Milliseconds per stage: ``with clock("name"):`` around each stage."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self._name = ""
        self._started = 0.0

    def __call__(self, name: str) -> _Clock:
        self._name = name
        return self

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, *_: object) -> None:
        self.ms[self._name] = (time.perf_counter() - self._started) * 1000


def one_ticket(service: TriageService, ticket: Ticket) -> dict[str, float]:
    """Each stage of one ticket's triage timed on its own (ms), in the pipeline's order."""
    clock = _Clock()
    with clock("normalise + language"):
        text = model_text(ticket.title, ticket.body)
        language = detect_language(ticket.text)
    with clock("fields"):
        fields = tuple(service.extractor.extract(ticket.text, language, reference_time=ticket.created_at))
    with clock("summary"):
        service.summarizer.summarize(ticket.title, ticket.body, language)
    with clock("encode"):
        vectors = service.encode([ticket])
    assignment = service.models.assign(ticket.tenant, ticket.id)
    bundle = assignment.serving
    with clock("classify"):
        heads = bundle.router.predict([text], vectors)[0]
    if service.ledger is not None:
        records = prediction_records(ticket, bundle.version, assignment.role, heads, language)
        with clock("ledger write"):
            service.ledger.log(records)
    if service.rules is not None:
        with clock("rules"):
            heads = service.rules.apply(ticket, fields, heads, language)
    department, priority, category = heads["department"], heads.get("priority"), heads.get("category")
    with clock("completeness"):
        service.completeness.check(
            department.value,
            fields,
            language,
            category=category.value if category else None,
            category_abstained=category is not None and category.abstained,
        )
    if bundle.handling_time is not None:
        with clock("handling time"):
            bundle.handling_time.predict(
                department.value,
                priority.value if priority else None,
                category=category.value if category else None,
                created_at=ticket.created_at or datetime.now(UTC),
                text=text,
            )
    with clock("similar (cases + articles)"):  # one search for both kinds, as the pipeline runs it
        service.similar_kinds(ticket, vectors[0], {"case": service.similar_k, "article": ARTICLES_K})
    stages = dict(clock.ms)
    stages["sum of stages"] = sum(clock.ms.values())
    with clock("triage (whole)"):
        service.triage(ticket)
    stages["triage (whole)"] = clock.ms["triage (whole)"]
    return stages


def stage_times(service: TriageService, tickets: Sequence[Ticket]) -> dict[str, list[float]]:
    """Every ticket's stage times (ms), stage by stage."""
    times: dict[str, list[float]] = {name: [] for name in (*STAGES, "sum of stages", "triage (whole)")}
    for ticket in tickets:
        for name, ms in one_ticket(service, ticket).items():
            times[name].append(ms)
    return times


def cprofile_top(service: TriageService, tickets: Sequence[Ticket], n: int) -> tuple[list[Any], float]:
    """The ``n`` functions with the most own time (tottime) in ``triage``, one ticket at a time."""
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for ticket in tickets:
        service.triage(ticket)
    profiler.disable()
    elapsed = time.perf_counter() - started
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for (filename, line, function), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((tottime, cumtime, calls, _where(filename, line, function)))
    rows.sort(reverse=True)
    return rows[:n], elapsed


def _where(filename: str, line: int, function: str) -> str:
    path = Path(filename)
    try:
        short = str(path.resolve().relative_to(ROOT))
    except ValueError:
        parts = path.parts
        short = "/".join(parts[parts.index("site-packages") + 1 :]) if "site-packages" in parts else filename
    return f"{short}:{line} {function}" if line else function


# ---------------------------------------------------------------- concurrency


@dataclass
class Sampler:
    """A sampling profiler over the worker threads: each tick records every worker's innermost frame
    in the project's own code (where it runs, or waits on a lock) and whether it is in a lock wait."""

    thread_ids: set[int]
    interval: float = 0.002
    frames: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            current = sys._current_frames()
            for ident in list(self.thread_ids):
                frame = current.get(ident)
                if frame is not None:
                    self.frames[_own_frame(frame)] += 1
                    self.samples += 1

    def stop(self) -> None:
        self._stop.set()


def _own_frame(frame: FrameType | None) -> str:
    """The innermost frame of the project's code (library frames are folded into their caller)."""
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if str(path).startswith(str(ROOT)) and "eval/profile_bench" not in str(path):
            line = frame.f_lineno
            return f"{path.relative_to(ROOT)}:{line} {frame.f_code.co_name}"
        frame = frame.f_back
    return "(outside the project)"


def concurrent_rate(
    service: TriageService, tickets: Sequence[Ticket], threads: int, sample: bool
) -> tuple[float, Counter[str], int]:
    """Tickets/s with ``threads`` callers of ``triage`` at once; the sampler's counts when asked."""
    idents: set[int] = set()

    def work(ticket: Ticket) -> None:
        idents.add(threading.get_ident())
        service.triage(ticket)

    sampler = Sampler(idents)
    runner = threading.Thread(target=sampler.run, daemon=True)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(work, tickets[: threads * 2]))  # warm the threads
        if sample:
            runner.start()
        started = time.perf_counter()
        list(pool.map(work, tickets))
        elapsed = time.perf_counter() - started
    sampler.stop()
    return len(tickets) / elapsed, sampler.frames, sampler.samples


# ---------------------------------------------------------------- report


def run(datasets: Path, data_dir: Path, n: int, threads: int, rounds: int, cases: int = 0) -> str:
    service = load_service(data_dir, cases, datasets)
    indexed = service.knowledge.store.count("default", "case")
    try:
        tickets = real_tickets(datasets, n)
        service.triage_many(tickets[:20])  # warm-up
        stages = stage_times(service, tickets)
        top, profiled = cprofile_top(service, tickets, 15)
        rates: dict[int, list[float]] = {1: [], threads: []}
        frames: Counter[str] = Counter()
        samples = 0
        for _ in range(rounds):  # alternate, so both see the same machine load
            for count in (1, threads):
                rate, seen, taken = concurrent_rate(service, tickets, count, sample=count == threads)
                rates[count].append(rate)
                frames.update(seen)
                samples += taken
    finally:
        service.close()
    return markdown(stages, top, profiled, len(tickets), rates, threads, frames, samples, indexed)


def markdown(
    stages: dict[str, list[float]],
    top: list[Any],
    profiled: float,
    n: int,
    rates: dict[int, list[float]],
    threads: int,
    frames: Counter[str],
    samples: int,
    indexed: int = 0,
) -> str:
    whole = statistics.median(stages["triage (whole)"])
    lines = [
        "## Profile: where a ticket's time goes (in-process service, real tickets)\n",
        stamp("make profile"),
        f"- Service: `TriageService` on the demo built with {PROFILE_DEMO_TICKETS} tickets (as the serving "
        f"tests), {indexed:,} solved cases indexed, USE-m3, SQLite, FAISS + BM25, prediction ledger on; "
        f"{n} real test-split tickets "
        "(itsm English : cn-ict Chinese = 3 : 1, ../shared/datasets), one at a time after 20 warm-up.",
        "- The machine was shared with other engineers' work: read shares and ratios, not absolute times.\n",
        "| stage | median ms | mean ms | p90 ms | share of the sum |",
        "|---|---|---|---|---|",
    ]
    total = sum(statistics.mean(stages[s]) for s in STAGES if stages[s])
    for name in (*STAGES, "sum of stages", "triage (whole)"):
        values = stages[name]
        if not values:
            continue
        mean = statistics.mean(values)
        p90 = sorted(values)[int(0.9 * (len(values) - 1))]
        share = f"{mean / total:.0%}" if name in STAGES else ""
        lines.append(f"| {name} | {statistics.median(values):.2f} | {mean:.2f} | {p90:.2f} | {share} |")
    lines += [
        "",
        f"Targets (issue 12): single ticket over HTTP p50 ≤ 10 ms, p99 ≤ 30 ms; in-process `triage` here: "
        f"median {whole:.1f} ms.",
        "",
        f"cProfile of `TriageService.triage` over the same {n} tickets ({profiled:.1f} s profiled, "
        "profiler overhead included): the functions with the most own time.\n",
        "| own s | cumulative s | calls | function |",
        "|---|---|---|---|",
    ]
    for tottime, cumtime, calls, where in top:
        lines.append(f"| {tottime:.3f} | {cumtime:.3f} | {calls} | `{where}` |")
    one, many = statistics.median(rates[1]), statistics.median(rates[threads])
    lines += [
        "",
        f"Concurrent callers: {len(rates[1])} alternating rounds of 1 and {threads} threads calling "
        f"`triage` at once on the {n} tickets ({os.cpu_count()} cores).\n",
        "| threads | tickets/s (median) | runs | vs 1 thread |",
        "|---|---|---|---|",
        f"| 1 | {one:.1f} | {', '.join(f'{r:.1f}' for r in rates[1])} | 1.00x |",
        f"| {threads} | {many:.1f} | {', '.join(f'{r:.1f}' for r in rates[threads])} | {many / one:.2f}x |",
        "",
        f"Where the {threads} worker threads were (sampling every 2 ms, {samples} samples; the innermost "
        "frame of the project's own code, library calls folded into it):\n",
        "| share | where |",
        "|---|---|",
    ]
    for where, count in frames.most_common(12):
        lines.append(f"| {count / max(1, samples):.1%} | `{where}` |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS, help="the shared datasets folder")
    parser.add_argument(
        "--data-dir", type=Path, default=Path("var/profile-demo"), help="small demo (built if absent)"
    )
    parser.add_argument("--tickets", type=int, default=200, help="real tickets triaged")
    parser.add_argument("--threads", type=int, default=8, help="concurrent callers")
    parser.add_argument("--rounds", type=int, default=3, help="alternating 1/N-thread rounds")
    parser.add_argument(
        "--cases",
        type=int,
        default=100_000,
        help="index this many more cases beside the demo's (0: the demo's alone); make bench's size",
    )
    parser.add_argument("--out", type=Path, help="update the 'profile' section of this BENCHMARKS.md")
    args = parser.parse_args(argv)
    if missing_datasets(args.datasets):
        return 2
    text = run(args.datasets, args.data_dir, args.tickets, args.threads, args.rounds, args.cases)
    print(text)
    if args.out:
        update_section(args.out, "profile", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
