"""BENCHMARKS.md upkeep: each benchmark owns one marked section, rewritten with machine, date and command.

Also what every benchmark's command line shares: ``missing_datasets`` for its ``--datasets`` folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

HEADER = (
    "# Benchmarks\n\n"
    "Every section below is written by a script; the command that reproduces it is in the section.\n"
    "Figures are medians on the machine named, with baselines measured in the same run.\n"
)


def machine() -> str:
    """CPU model, cores, memory and Python: enough to compare runs."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}, Python {sys.version.split()[0]}, {platform.system()}"


def stamp(command: str) -> str:
    """The provenance lines every section starts with."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    loads = os.getloadavg()
    busy = " (above the core count: other work shared the CPUs)" if loads[0] > (os.cpu_count() or 1) else ""
    load = ", ".join(f"{x:.1f}" for x in loads)
    return (
        f"- Machine: {machine()}\n- Date: {now}\n- Command: `{command}`\n"
        f"- Load average when written (1/5/15 min): {load}{busy}\n"
    )


def update_section(path: Path, name: str, markdown: str) -> None:
    """Replace (or append) the section ``name`` of a benchmarks file, leaving the others alone."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{markdown.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    text = (
        pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    )
    path.write_text(text, encoding="utf-8")


def publish(
    text: str, section: str, out: Path | None, json_path: Path | None = None, raw: object = None
) -> None:
    """The end of every benchmark's command line: print the section, write it into ``out`` (a
    BENCHMARKS.md) when given, and the raw figures as JSON into ``json_path`` when given."""
    print(text)
    if out:
        update_section(out, section, text)
    if json_path:
        json_path.write_text(json.dumps(raw, indent=2, default=str))


# ../shared/datasets beside the repository: where every benchmark looks unless told otherwise.
DEFAULT_DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


def bench_main(
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str | None,
    section: str,
    produce: Callable[[Path], str],
) -> int:
    """The command line of a benchmark over the shared datasets that writes one BENCHMARKS.md section.

    ``produce(datasets)`` returns the section's markdown (heading and stamp included); it is printed,
    and written into ``--out`` when given. Exit status 2 with one line on stderr when the datasets
    folder or a file in it is missing.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS, help="the shared datasets folder")
    parser.add_argument("--out", type=Path, default=None, help=f"update the '{section}' section of this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    datasets: Path = args.datasets
    if missing_datasets(datasets):
        return 2
    try:
        markdown = produce(datasets)
    except FileNotFoundError as e:
        print(f"{e}; is {datasets} the shared datasets folder?", file=sys.stderr)
        return 2
    print(markdown, end="" if markdown.endswith("\n") else "\n")
    if args.out is not None:
        update_section(args.out, section, markdown)
    return 0


def chosen_names(spec: str, known: Sequence[str], kind: str) -> list[str] | None:
    """The comma-separated names of ``spec`` (``--only a,b``), or None when one is unknown: then one
    line on stderr lists the known ones, and the benchmark's ``main`` returns 2."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"unknown {kind}(s) {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return None
    return names


def missing_datasets(path: Path) -> bool:
    """Whether the shared datasets folder is missing; if so, one line on stderr says how to pass it.

    A benchmark's ``main`` then returns 2 (its exit status), as it does for its other usage errors.
    """
    if path.is_dir():
        return False
    print(
        f"datasets folder {path} not found; pass --datasets PATH (the shared datasets folder)",
        file=sys.stderr,
    )
    return True
