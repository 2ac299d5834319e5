"""Throughput under concurrent clients: 1, 8 and 32 clients calling /v1/triage on a real uvicorn process.

Run by ``make bench`` (or ``python -m eval.concurrency_bench --out BENCHMARKS.md``). Real ticket texts
from the shared datasets' test splits (itsm English, cn-ict Chinese, 3 : 1); each client sends one
request at a time for a few seconds (``eval.loadgen``'s closed loop). Rounds alternate the client counts, so every count sees the same load.
Each round also records the server's CPU time per ticket (``/proc``), which a shared machine's load
changes far less than tickets/s.

Then a CPU hog: a busy process beside the server (one core's worth of pure Python), with 8 clients;
its own CPU time says what share of the machine it took, and tickets/s should fall no more than that.

``--variant NAME:TRIAGE_X=V[,TRIAGE_Y=W]`` adds a server of this checkout with other settings (e.g.
``off:TRIAGE_MICRO_BATCH_MAX=1``), measured round by round with the others; ``--baseline`` another
checkout's server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from embeddings import get_encoder
from eval import loadgen
from eval.bench import _start_server, api_key
from eval.loadgen import http_request
from eval.processes import process_tree, rss_mib
from eval.profile_bench import real_tickets
from eval.report import DEFAULT_DATASETS, missing_datasets, stamp, update_section
from training.demo import build_demo
from triage.types import Ticket

CLIENTS = (1, 8, 32)
# What `make bench` runs: the default (one server process and its encoder process), one worker process
# per core, and one process with the encoder inside it.
MAKE_BENCH_ARGS = [
    "--variant",
    "workers-auto:TRIAGE_WORKERS=auto",
    "--variant",
    "in-process-encoder:TRIAGE_ENCODER_PROCESS=false",
    "--out",
    "BENCHMARKS.md",
]


HOG_CLIENTS = 8
HOG = "while True: pass"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live descendants so far (Linux ``/proc``): a
    server with worker processes (``--workers``) is its supervisor and the workers."""
    total = 0.0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # it ended meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


ROUND_SECONDS = 4.0


def one_round(
    base: str,
    key: str,
    payloads: Sequence[dict[str, str]],
    clients: int,
    server: int | None = None,
    seconds: float = ROUND_SECONDS,
) -> dict[str, float]:
    """``clients`` concurrent clients (closed loop: each sends its next ticket when the last is answered)
    for ``seconds``; served tickets/s, p50 and p99 (ms) of the served requests, p99 of a ticket's
    time to its answer with retries, refusals (503) per second and errors (anything else); with the
    ``server``'s pid also its CPU milliseconds per ticket. A client refused at the server's bound on
    work in flight sends the same ticket again after the answer's ``Retry-After``, as a ticket
    system's client does.

    The clients are ``eval.loadgen``'s: pre-built raw HTTP/1.1 in worker processes, tens of microseconds
    of Python a request (an httpx client in threads cost 1.3 ms a request at one client and 4.6 ms at
    32, taken from the same two cores as the server, more the more clients).
    """
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    headers = {"Authorization": f"Bearer {key}"}
    requests = [
        http_request("POST", host, port, "/v1/triage", json.dumps(p).encode(), headers) for p in payloads
    ]
    cpu_before = cpu_seconds(server) if server is not None else 0.0
    result = loadgen.run(
        host,
        port,
        requests,
        concurrency=clients,
        seconds=seconds,
        processes=min(2, clients),
        retry_after=True,
    )
    cpu = cpu_seconds(server) - cpu_before if server is not None else float("nan")
    outcomes = result.outcomes
    served = result.with_status(200)
    if not served:
        raise SystemExit(f"no request was served in {seconds} s with {clients} clients")
    elapsed = max(o.due + o.lag + o.latency for o in outcomes) - min(o.due for o in outcomes)
    refused = len(result.with_status(503))
    # A ticket refused and not served by the end of the round (its client kept retrying while the
    # clients being served took every slot the moment it freed): identified by its first try.
    unserved = {o.due for o in result.with_status(503)} - {o.due for o in served}
    # Starvation proper: clients that had nothing served in the whole round.
    starved = clients - len({o.client for o in served})
    values = np.asarray([o.latency * 1000 for o in served])
    answered = np.asarray([(o.lag + o.latency) * 1000 for o in served])
    return {
        "tickets_per_s": len(served) / elapsed,
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "answer_p99_ms": float(np.percentile(answered, 99)),
        "refused_per_s": refused / elapsed,
        "unserved": float(len(unserved)),
        "starved": float(starved),
        "errors": float(len(outcomes) - len(served) - refused),
        "cpu_ms": cpu * 1000 / len(served),
        # The load generator's own CPU (on the same cores), per request it sent (served or refused).
        "generator_cpu_ms": result.cpu_seconds * 1000 / len(outcomes),
        "elapsed_s": elapsed,
    }


# Where a sampled stack is, by the first of these frames it holds (innermost stages first).
STAGES = (
    ("TriageService.encode", "encode"),
    ("TriageService._predict", "classify (routing heads)"),
    ("TriageService.analyse", "extract + summary"),
    ("RuleEngine.apply", "rules"),
    ("TriageService.similar_kinds", "similar cases + articles"),
    ("CompletenessChecker.check", "completeness"),
    ("triage/handling.py", "handling time"),
    ("Ledger.log", "prediction ledger"),
    ("TriageOut.of", "response model + JSON"),
    ("model_dump_json", "response model + JSON"),
    ("Metrics.triaged", "metrics"),
    ("authenticate", "API key check"),
    ("solve_dependencies", "request parsing + dependencies"),
    ("serving/batching.py", "micro-batching"),
    ("anyio", "thread hand-offs"),
    ("uvicorn", "HTTP (uvicorn, middleware)"),
    ("starlette", "HTTP (uvicorn, middleware)"),
    ("serving/", "HTTP (uvicorn, middleware)"),
)


def profile_round(
    base: str, key: str, payloads: Sequence[dict[str, str]], clients: int, server: int, raw: Path
) -> tuple[dict[str, float], float]:
    """One round with py-spy sampling the server's thread that holds the GIL: stage -> share of the
    samples, and the tickets served."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    command = [spy, "record", "--pid", str(server), "--gil", "--threads", "--nonblocking", "--rate", "250"]
    sampler = subprocess.Popen(
        [*command, "--format", "raw", "--output", str(raw)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # attached before the first request
    measured = one_round(base, key, payloads, clients, server)
    sampler.send_signal(2)  # SIGINT: py-spy writes what it sampled and exits
    sampler.wait(timeout=60)
    return stage_shares(raw), measured["tickets_per_s"] * measured["elapsed_s"]


def stage_shares(raw: Path) -> dict[str, float]:
    """py-spy's raw (folded) stacks -> share of the GIL-held samples per stage (``STAGES``)."""
    counts: dict[str, int] = {}
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        stage = next((name for frame, name in STAGES if frame in stack), "other")
        counts[stage] = counts.get(stage, 0) + int(number)
    total = sum(counts.values()) or 1
    return {stage: n / total for stage, n in sorted(counts.items(), key=lambda kv: -kv[1])}


def _samples(raw: Path) -> int:
    lines = raw.read_text(encoding="utf-8").splitlines()
    return sum(int(n) for n in (line.rpartition(" ")[2] for line in lines) if n.isdigit())


def hog_round(base: str, key: str, payloads: Sequence[dict[str, str]], server: int) -> dict[str, float]:
    """``HOG_CLIENTS`` clients while a busy process runs beside the server; the hog's share of the machine."""
    hog = subprocess.Popen([sys.executable, "-c", HOG])
    try:
        time.sleep(0.5)  # the hog is running before the first request
        hog_before = cpu_seconds(hog.pid)
        measured = one_round(base, key, payloads, HOG_CLIENTS, server)
        hog_cpu = cpu_seconds(hog.pid) - hog_before
    finally:
        hog.kill()
        hog.wait()
    return measured | {"hog_share": hog_cpu / (measured["elapsed_s"] * (os.cpu_count() or 1))}


Results = dict[int | str, list[dict[str, float]]]  # by client count, and "hog"


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """``NAME:TRIAGE_X=V[,TRIAGE_Y=W]`` -> (name, settings)."""
    name, _, assignments = text.partition(":")
    settings = dict(a.split("=", 1) for a in assignments.split(",") if "=" in a)
    if not name or not settings or not all(k.startswith("TRIAGE_") for k in settings):
        raise argparse.ArgumentTypeError(
            f"{text!r}: write NAME:TRIAGE_SETTING=VALUE[,TRIAGE_OTHER=VALUE], e.g. off:TRIAGE_MICRO_BATCH_MAX=1"
        )
    return name, settings


def run(
    datasets: Path,
    data_dir: Path,
    n: int,
    rounds: int,
    baseline: Path | None = None,
    variants: Sequence[tuple[str, dict[str, str]]] = (),
    hog: bool = True,
    unbounded: bool = False,
) -> tuple[dict[str, Results], dict[str, list[float]]]:
    """Rounds of 1/8/32 clients (and 8 beside a CPU hog) against this checkout ("current"), each
    variant of its settings and, when ``baseline`` names another checkout, a server running its code,
    each on its own copy of the same demo, round by round. Every server keeps its default bound on
    work in flight (``unbounded``: raised past the client count, to see what it does without one).
    Also each server's resident memory per process (MiB) after its rounds."""
    build_demo(data_dir, get_encoder("use-m3"))
    tickets: list[Ticket] = real_tickets(datasets, n)
    payloads = [{"title": t.title, "body": t.body} for t in tickets]
    servers: dict[str, tuple[Path, Path | None, dict[str, str]]] = {"current": (data_dir, None, {})}
    others = [*variants, *([("baseline", {})] if baseline is not None else [])]
    for name, settings in others:
        copy = data_dir.with_name(f"{data_dir.name}-{name}")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(data_dir, copy)
        servers[name] = (copy, baseline if name == "baseline" else None, settings)
    counts: list[int | str] = [*CLIENTS, *(["hog"] if hog else [])]
    results: dict[str, Results] = {name: {c: [] for c in counts} for name in servers}
    started: dict[str, tuple[subprocess.Popen[bytes], str, str]] = {}
    try:
        for name, (folder, tree, settings) in servers.items():
            key = api_key(folder)
            process, base = _start_server(folder, tree, settings, default_bound=not unbounded)
            started[name] = (process, base, key)
            warm = one_round(base, key, payloads[:30], 4, seconds=2.0)
            if warm["errors"]:
                raise SystemExit(f"{warm['errors']:.0f} warm-up requests failed: is the API key accepted?")
        for _ in range(rounds):
            for clients in counts:
                for name, (process, base, key) in started.items():
                    results[name][clients].append(
                        hog_round(base, key, payloads, process.pid)
                        if clients == "hog"
                        else one_round(base, key, payloads, int(clients), process.pid)
                    )
        memory = {name: rss_mib(process.pid) for name, (process, _, _) in started.items()}
    finally:
        for process, _, _ in started.values():
            process.terminate()
            process.wait(timeout=30)
    return results, memory


def _median_or_nan(rounds: Sequence[dict[str, float]], key: str) -> float:
    """The median of a figure over rounds (NaN when rounds saved before it existed lack it)."""
    values = [r[key] for r in rounds if key in r]
    return statistics.median(values) if values else float("nan")


def _memory_line(name: str, sizes: Sequence[float]) -> str:
    """What the server's processes held in memory after the rounds."""
    each = ", ".join(f"{size:.0f}" for size in sizes)
    return (
        f"\nResident memory after the rounds ({name}): {sum(sizes):.0f} MiB in {len(sizes)} "
        f"process{'es' if len(sizes) != 1 else ''} ({each} MiB)."
    )


def _table(runs: dict[str, Results], name: str, memory: dict[str, list[float]] | None = None) -> list[str]:
    results = runs[name]

    def median(clients: int | str, key: str) -> float:
        return statistics.median(r[key] for r in results[clients])

    base = median(1, "tickets_per_s")
    lines = [
        "| clients | tickets/s | vs 1 client | p50 ms | p99 ms | p99 with retries ms | refused/s (503) | "
        "tickets never served in a round | clients never served in a round | server CPU ms/ticket | "
        "generator CPU ms/request | errors (all rounds) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for clients in results:
        rate = median(clients, "tickets_per_s")
        errors = sum(r["errors"] for r in results[clients])
        label = f"{HOG_CLIENTS} + CPU hog" if clients == "hog" else str(clients)
        lines.append(
            f"| {label} | {rate:.1f} | {rate / base:.2f}x | {median(clients, 'p50_ms'):.1f} | "
            f"{median(clients, 'p99_ms'):.1f} | {median(clients, 'answer_p99_ms'):.0f} | "
            f"{median(clients, 'refused_per_s'):.1f} | {median(clients, 'unserved'):.0f} | "
            f"{median(clients, 'starved'):.0f} | {median(clients, 'cpu_ms'):.1f} | "
            f"{_median_or_nan(results[clients], 'generator_cpu_ms'):.2f} | {errors:.0f} |"
        )
    if "hog" in results:
        share = median("hog", "hog_share")
        kept = median("hog", "tickets_per_s") / median(HOG_CLIENTS, "tickets_per_s")
        lines.append(
            f"\nBeside the hog ({name}): {kept:.2f}x the tickets/s of {HOG_CLIENTS} clients without it, "
            f"the hog took {share:.0%} of the machine ({os.cpu_count()} cores): "
            + ("within" if kept >= 1 - share - 0.05 else "worse than")
            + f" the CPU share lost (target ≥ {1 - share:.2f}x, 0.05 of noise allowed)."
        )
    if memory and memory.get(name):
        lines.append(_memory_line(name, memory[name]))
    return lines


def markdown(
    runs: dict[str, Results],
    n: int,
    command: str,
    unbounded: bool = False,
    memory: dict[str, list[float]] | None = None,
) -> str:
    results = runs["current"]
    lines = [
        "## Serving under concurrent clients: /v1/triage (real uvicorn process, real tickets)\n",
        stamp(command),
        f"- {n} real test-split tickets (itsm English : cn-ict Chinese = 3 : 1, ../shared/datasets); "
        f"{len(results[1])} rounds alternating 1, 8 and 32 clients"
        + (
            f" and {HOG_CLIENTS} clients beside a CPU hog (a process running `{HOG}`)"
            if "hog" in results
            else ""
        )
        + f" (medians over rounds); each client sends one request at a time on its own keep-alive connection "
        f"for {ROUND_SECONDS:.0f} s (`eval.loadgen` closed loop: raw HTTP/1.1 from 2 worker processes, the "
        "tickets in turn).",
        (
            "- Every server with its bound on work in flight raised to 1024 (`--unbounded`): no client is "
            "refused; this is what the server does without admission control, not what a user of the "
            "default gets."
            if unbounded
            else "- Every server at its default admission (`max_in_flight`, and the admission queue "
            "`max_queued` / `max_queue_wait_ms` where it has one): a client refused (503) sends the same "
            "ticket again after its `Retry-After` (1 s), as a ticket system's client does. tickets/s counts "
            "served tickets; p50 and p99 are the served requests' own latency, 'p99 with retries' a served "
            "ticket's time from its first try; refused/s the 503s; 'never served' the tickets still being "
            "retried when the round ended (median over rounds: the clients waiting out a Retry-After at "
            "that moment), 'clients never served' the clients that had no ticket served in the whole "
            "round (starvation: without a queue a closed-loop client that is served sends its next ticket "
            "the moment it has its answer and takes the freed slot before a client that waits out its "
            "Retry-After)."
        ),
        "- Server CPU ms/ticket: the server's processes' user + system CPU time over the round (`/proc`; "
        "with `workers` > 1 the supervisor and every worker), "
        "divided by the tickets; the load generator runs on the same cores: its own CPU (its worker "
        "processes' user + system time) per request it sent, served or refused, is the column after.",
        "- The machine was shared with other engineers' work: compare the rows with each other, not with "
        "other sections.\n",
        *_table(runs, "current", memory),
    ]
    for name, other in runs.items():
        if name == "current":
            continue
        what = "the baseline checkout's server" if name == "baseline" else f"variant `{name}`"
        lines += [
            f"\nSame run, {what} on a copy of the same demo, its rounds interleaved with the ones above "
            "(current / it: "
            + ", ".join(
                f"{c}: {statistics.median(r['tickets_per_s'] for r in results[c]) / statistics.median(r['tickets_per_s'] for r in other[c]):.2f}x"
                for c in other
            )
            + "):\n",
            *_table(runs, name, memory),
        ]
    lines.append(
        "\nTarget (issue 12.5): tickets/s never falls as clients are added (8 clients ≥ 1 client, aim 1.5x), "
        "p99 bounded, no errors; beside a CPU hog tickets/s falls no more than the CPU share it took."
    )
    return "\n".join(lines) + "\n"


def profile(datasets: Path, data_dir: Path, n: int, folder: Path, arguments: str) -> str:
    """Where the server's GIL-held time goes under 8 and 32 clients (py-spy ``--gil``)."""
    build_demo(data_dir, get_encoder("use-m3"))
    payloads = [{"title": t.title, "body": t.body} for t in real_tickets(datasets, n)]
    folder.mkdir(parents=True, exist_ok=True)
    key = api_key(data_dir)
    process, base = _start_server(data_dir)
    shares: dict[int, dict[str, float]] = {}
    rates: dict[int, dict[str, float]] = {}
    served: dict[int, float] = {}
    try:
        one_round(base, key, payloads[:30], 4, seconds=2.0)
        for clients in (1, *CLIENTS[1:]):
            rates[clients] = one_round(base, key, payloads, clients, process.pid)
            if clients > 1:
                shares[clients], served[clients] = profile_round(
                    base, key, payloads, clients, process.pid, folder / f"gil-{clients}.txt"
                )
    finally:
        process.terminate()
        process.wait(timeout=30)
    held = {c: _samples(folder / f"gil-{c}.txt") / 250 * 1000 / served[c] for c in shares}
    stages = sorted(
        {s for table in shares.values() for s in table},
        key=lambda s: -max(t.get(s, 0) for t in shares.values()),
    )
    lines = [
        "## Profile under concurrent clients: where the server's GIL-held time goes\n",
        stamp(f"python -m eval.concurrency_bench {arguments}"),
        "- py-spy `record --gil` on the real uvicorn process (250 samples/s of the thread holding the GIL) "
        f"while {n} real tickets are sent in turn by 8, then 32 clients; raw stacks in `{folder}/gil-*.txt`. A stack "
        "counts for the first stage frame it holds. Python holds the GIL; BLAS, FAISS and onnxruntime "
        "release it, so this is the part of a ticket's work that two cores cannot run side by side.",
        "- Unprofiled rounds just before: "
        + ", ".join(
            f"{c} client{'s' if c > 1 else ''} {r['tickets_per_s']:.1f} tickets/s ({r['cpu_ms']:.1f} ms server CPU a ticket)"
            for c, r in rates.items()
        )
        + ".",
        "- Wall time with the GIL held, per ticket (samples / rate / tickets; on a loaded machine it includes "
        "time the holder waited for a core): "
        + ", ".join(f"{c} clients {ms:.1f} ms" for c, ms in held.items())
        + ": no number of threads serves more than 1000 / that many tickets a second.\n",
        "| stage | " + " | ".join(f"{c} clients" for c in shares) + " |",
        "|---|" + "---|" * len(shares),
    ]
    for stage in stages:
        lines.append(f"| {stage} | " + " | ".join(f"{t.get(stage, 0):.1%}" for t in shares.values()) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS, help="the shared datasets folder")
    parser.add_argument(
        "--data-dir", type=Path, default=Path("var"), help="where the demo lives (built if absent)"
    )
    parser.add_argument(
        "--tickets", type=int, default=192, help="distinct real tickets the clients send in turn"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of 1/8/32 clients")
    parser.add_argument(
        "--baseline", type=Path, help="another checkout (e.g. a worktree of main) measured in the same run"
    )
    parser.add_argument(
        "--variant",
        type=parse_variant,
        action="append",
        default=[],
        help="NAME:TRIAGE_X=V[,...]: a server of this checkout with other settings, measured in the same run",
    )
    parser.add_argument("--no-hog", action="store_true", help="skip the rounds beside a CPU hog")
    parser.add_argument(
        "--unbounded",
        action="store_true",
        help="raise every server's bound on work in flight past the client count (no 503s): what the "
        "server does without admission control; by default each runs at its own default bound",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="only profile: py-spy on the server during 8 and 32 clients, raw stacks into this folder, "
        "a table of where the GIL-held time goes",
    )
    parser.add_argument("--out", type=Path, help="update the 'concurrency' section of this BENCHMARKS.md")
    args = parser.parse_args(argv)
    if missing_datasets(args.datasets):
        return 2
    if args.profile:
        text = profile(args.datasets, args.data_dir, args.tickets, args.profile, " ".join(sys.argv[1:]))
        print(text)
        if args.out:
            update_section(args.out, "concurrency-profile", text)
        return 0
    results, memory = run(
        args.datasets,
        args.data_dir,
        args.tickets,
        args.rounds,
        args.baseline,
        args.variant,
        not args.no_hog,
        args.unbounded,
    )
    given = list(argv if argv is not None else sys.argv[1:])
    command = (
        " ".join(["python -m eval.concurrency_bench", *given]) if given != MAKE_BENCH_ARGS else "make bench"
    )
    text = markdown(results, args.tickets, command, args.unbounded, memory)
    print(text)
    if args.out:
        update_section(args.out, "concurrency", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
