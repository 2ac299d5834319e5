"""Ray benchmark: backfill and batch triage on Ray Data against the single-process commands.

Run ``python -m eval.ray_bench [--rows 20000] [--tickets 400] [--datasets ../shared/datasets] [--out BENCHMARKS.md]``
(needs the ``ray`` extra).

Every figure is the wall time of the real command line in a fresh process and a fresh data folder,
as a user would run it, in one run on one machine:

- backfill: ``triage index`` (one process) against ``triage backfill --workers 1`` and ``--workers 2``
  on a local Ray instance, on the same rows, both without field extraction (the same work: clean,
  embed with USE-m3, store, build the FAISS/BM25 snapshot), then ``backfill`` with fields;
- Ray's own overhead: the same on a small job (100 rows);
- batch triage: ``triage triage-file --local`` (one process) against ``--workers 1`` and ``2``.

The rows are real ticket texts from ``../shared/datasets`` (ITSM, ICT faults, GitBugs, AFQMC),
repeated with perturbations (dropped and swapped words, changed numbers) up to ``--rows``; they are
written under ``var/cache/ray_bench/`` and never leave it. Only aggregate numbers are reported.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from eval.report import DEFAULT_DATASETS, missing_datasets, stamp, update_section
from eval.scale_bench import perturb, real_texts
from knowledge.index import EXACT_LIMIT

logger = logging.getLogger(__name__)

SECTION = "ray"
CACHE = Path("var") / "cache" / "ray_bench"
SMALL_JOB = 100
_BUSY = re.compile(r"workers' time: (?P<busy>[^;]*); index build (?P<index>[\d.]+) s")


@dataclass(frozen=True)
class Run:
    name: str
    rows: int
    seconds: float
    detail: str = ""
    index_seconds: float = 0.0  # backfill: the index build after the workers

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def write_rows(datasets: Path, n: int, path: Path, seed: int = 0) -> Path:
    """``n`` cases (id, text, resolution): real texts, then perturbed repeats of them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path
    texts = real_texts(datasets)
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "resolution"])
        for i in range(n):
            base = texts[i % len(texts)]
            text = base if i < len(texts) else perturb(base, rng)
            answer = texts[(i * 7919 + 13) % len(texts)][:300]
            writer.writerow([f"B{i:07d}", text, answer])
    return path


def _triage(args: list[str], data_dir: Path) -> tuple[float, str]:
    """Wall seconds and stdout of one ``triage`` command in a fresh process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env["TRIAGE_DATA_DIR"] = str(data_dir)
    env["TRIAGE_LOG_LEVEL"] = "WARNING"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "serving.cli", *args], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"triage {args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, done.stdout


def backfill_runs(data: Path, rows: int, work: Path, label: str) -> list[Run]:
    flags = ["--data", str(data), "--text", "text", "--resolution", "resolution", "--id", "id"]
    runs: list[Run] = []
    seconds, _ = _triage(["index", *flags], work / f"{label}-index")
    runs.append(Run("`triage index` (one process)", rows, seconds))
    for workers, fields in ((1, False), (2, False), (2, True)):
        if fields and rows <= SMALL_JOB:
            continue
        extra = ["--workers", str(workers), *([] if fields else ["--no-fields"])]
        seconds, stdout = _triage(["backfill", *flags, *extra], work / f"{label}-backfill-{workers}-{fields}")
        match = _BUSY.search(" ".join(stdout.split()))
        detail = f"workers' time: {match['busy']}; index build {match['index']} s" if match else ""
        what = "with field extraction" if fields else "no fields"
        index = float(match["index"]) if match else 0.0
        runs.append(Run(f"`triage backfill`, {workers} Ray worker(s), {what}", rows, seconds, detail, index))
    return runs


def triage_runs(demo: Path, tickets: Path, n: int, work: Path) -> list[Run]:
    runs: list[Run] = []
    for name, extra in (
        ("`triage-file --local` (one process)", ["--local"]),
        ("`triage-file`, 1 Ray worker", ["--workers", "1"]),
        ("`triage-file`, 2 Ray workers", ["--workers", "2"]),
    ):
        target = work / f"triaged-{len(runs)}.jsonl"
        seconds, _ = _triage(["triage-file", "--in", str(tickets), "--out", str(target), *extra], demo)
        runs.append(Run(name, n, seconds))
    return runs


def _table(runs: list[Run], unit: str) -> str:
    base = runs[0]
    lines = [
        f"| command | {unit} | wall s | {unit}/s | vs one process | where the time goes |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run.name} | {run.rows:,} | {run.seconds:.1f} | {run.rate:.1f} | "
            f"{base.seconds / run.seconds:.2f}x | {run.detail} |"
        )
    return "\n".join(lines)


def produce(datasets: Path, rows: int, n_tickets: int) -> str:
    command = f"python -m eval.ray_bench --rows {rows} --tickets {n_tickets} --out BENCHMARKS.md"
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as tmp:
        work = Path(tmp)
        big = write_rows(datasets, rows, CACHE / f"cases-{rows}.csv")
        small = write_rows(datasets, SMALL_JOB, CACHE / f"cases-{SMALL_JOB}.csv")
        logger.info("backfill, %d rows", rows)
        large = backfill_runs(big, rows, work, "large")
        logger.info("small job, %d rows", SMALL_JOB)
        tiny = backfill_runs(small, SMALL_JOB, work, "small")
        logger.info("demo model for batch triage")
        demo = work / "demo"
        _triage(["demo", "--no-serve", "--tickets", "1200"], demo)
        tickets = work / "tickets.csv"
        with big.open(encoding="utf-8", newline="") as source, tickets.open("w", newline="") as sink:
            reader = csv.DictReader(source)
            writer = csv.writer(sink)
            writer.writerow(["id", "body"])
            for i, row in enumerate(reader):
                if i >= n_tickets:
                    break
                writer.writerow([row["id"], row["text"]])
        logger.info("batch triage, %d tickets", n_tickets)
        triaged = triage_runs(demo, tickets, n_tickets, work)
    overhead = tiny[1].seconds - tiny[0].seconds
    estimate = five_million(large)
    return "\n".join(
        [
            "## Ray: backfill and batch triage",
            "",
            stamp(command),
            "The machine is shared: other engineers' tests and benchmarks ran on the same 2 cores during "
            "this run, so absolute rates are low and noisy; each ratio compares commands run minutes "
            "apart in the same conditions (one run each, not a median). Wall time of the whole "
            "command in a fresh process (start-up, Ray's local instance, model loading included).",
            "",
            f"### Backfill, {rows:,} rows (real ticket texts, repeated with perturbations)",
            "",
            _table(large, "rows"),
            "",
            (
                f"{rows:,} rows, fewer than the 100,000 of the full benchmark (`--rows 100000`). "
                if rows < 100_000
                else ""
            )
            + "Workers' time is summed over the workers (wall time inside each stage, so it grows with "
            "the load too).",
            "",
            f"### Ray's own overhead: a small job ({SMALL_JOB} rows)",
            "",
            _table(tiny, "rows"),
            "",
            f"Ray adds about {overhead:.0f} s to a job here (starting a local instance, scheduling, an "
            "actor loading its own encoder): below some thousands of rows `triage index` on one "
            "machine is quicker.",
            "",
            f"### Batch triage, {n_tickets:,} tickets (demo model, 1,200 training tickets)",
            "",
            _table(triaged, "tickets"),
            "",
            estimate,
        ]
    )


def five_million(runs: list[Run], total: int = 5_000_000) -> str:
    """On paper, from this run's figures: a 5M-ticket backfill on a cluster of N nodes."""
    with_fields = runs[-1]
    workers_rate = with_fields.rows / max(with_fields.seconds - with_fields.index_seconds, 1e-9)
    index_rate = with_fields.rows / max(with_fields.index_seconds, 1e-9)
    one_process = runs[0].rate
    index_hours = total / index_rate / 3600
    lines = [
        "### On paper: 5M tickets on a cluster of N nodes",
        "",
        f"From the figures above: this 2-core machine backfilled {workers_rate:.0f} rows/s through the "
        f"Ray workers (2 workers, field extraction on, index build excluded) and built the index at "
        f"{index_rate:.0f} rows/s; one process (`triage index`) did {one_process:.0f} rows/s in all. "
        "Assumptions: nodes of 16 cores each doing 8x this machine's worker rate (encoding and field "
        "extraction are per-row work with no shared state, so they scale with cores: one worker per "
        "2 cores, each loading its own encoder); a shared PostgreSQL that takes the writes (SQLite "
        "has one writer and one machine; our workers spent a small share of their time storing); "
        "the index snapshot built once on one node at the rate measured here (it reads the stored "
        f"vectors and tokenises for BM25: it does not scale with N), with HNSW above {EXACT_LIMIT:,} "
        "vectors; a machine no busier than ours was.",
        "",
        "| nodes (16 cores) | workers | embed + fields + store | index build | total |",
        "|---|---|---|---|---|",
    ]
    for nodes in (1, 4, 16):
        hours = total / (workers_rate * 8 * nodes) / 3600
        lines.append(
            f"| {nodes} | {nodes * 8} | {_duration(hours)} | {_duration(index_hours)} | "
            f"{_duration(hours + index_hours)} |"
        )
    lines.append(f"| one process, this machine | - | - | - | {_duration(total / one_process / 3600)} |")
    lines += [
        "",
        "The index build on one node is then the long pole: past a few nodes, build the FAISS and "
        "BM25 snapshot in parallel per tenant or shard, or keep the database as the only output of "
        "the backfill and let each replica catch up from the change log.",
        "",
    ]
    return "\n".join(lines)


def _duration(hours: float) -> str:
    """Hours as a person reads them: minutes below two hours."""
    return f"{hours:.1f} h" if hours >= 2 else f"{hours * 60:.0f} min"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.ray_bench", description=__doc__)
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--rows", type=int, default=20_000, help="backfill rows")
    parser.add_argument("--tickets", type=int, default=400, help="batch-triage tickets")
    parser.add_argument("--out", type=Path, default=None, help=f"update the '{SECTION}' section of this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if missing_datasets(args.datasets):
        return 2
    markdown = produce(args.datasets, args.rows, args.tickets)
    print(markdown)
    if args.out is not None:
        update_section(args.out, SECTION, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
