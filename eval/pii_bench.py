"""Person names as PII: which of the extractor's person spans ``triage.pii`` redacts, on real tickets.

``python -m eval.pii_bench [--datasets ../shared/datasets] [--out BENCHMARKS.md]``

Two measurements, counts only (no ticket text is printed or written):

1. Against the hand-labelled ``person`` spans of ``eval/data/field_labels.jsonl`` (itsm and cn-ict
   test rows; labelled for the field benchmark, never used to tune the name rules, which were
   written from train rows): precision and recall (overlap match) of every extractor ``person``
   span (what redacting all of them would do) against the spans ``triage.pii.is_person_name``
   accepts.
2. Unlabelled rows of two more sets (the first 300 cn-ict train rows with their resolutions, the
   first 200 SeaMonkey bug reports): how many person spans the extractor proposes per source
   (rule = cue-based rules, ner = jieba ``nr``/new words or spaCy PERSON) and how many the redactor
   keeps. Whether those are names was judged by reading them; the verdict is in BENCHMARKS.md.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from eval.fields_bench import LABELS, Counts, Span, load_labels, load_texts, match_counts
from eval.report import bench_main, stamp
from triage.fields import FieldExtractor
from triage.language import detect_language
from triage.pii import is_person_name

COMMAND = "python -m eval.pii_bench --out BENCHMARKS.md"
HEADING = "## PII: person names (which extractor person spans redact_pii replaces)\n\n"
# What reading the unlabelled spans showed when the rules were written (2026-12-04); not recomputed.
READING = (
    "Read by hand (2026-12-04, when the rules were written): each of the 23 cn-ict `ner` spans was a "
    "word (连接池, 高峰, 华为, 杜绝, 许可), the cn-ict `rule` span was 成总 in 造成总线 (not a name), and "
    "none of the 179 SeaMonkey `ner` spans (spaCy PERSON) was a name: UI words, products, German words "
    "(Safari, Tools, Related Help, Sie, Launch Browser); its `rule` span is a signature name. Hence the "
    "redactor drops model-only guesses and keeps cue-based ones. On itsm's labelled test rows the names "
    "it misses are ones the extractor never proposes (scrambled lowercase names without a cue: 'reset "
    "passwords for xxxx yyyy', a single word after 'name:'), so recall there is the extractor's."
)
UNLABELLED: tuple[tuple[str, str, str, str | None, int], ...] = (
    ("cn-ict train (text + resolution)", "cn-ict-fault-tickets/split/train.csv", "text", "resolution", 300),
    ("SeaMonkey bug reports", "gitbugs-hadoop-seamonkey/SeaMonkey_bugs.csv", "Description", None, 200),
)


def _rows(path: Path, column: str, extra: str | None, limit: int) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        out: list[str] = []
        for row in csv.DictReader(handle):
            if len(out) >= limit:
                break
            text = row[column] + (f"\n{row[extra]}" if extra and row.get(extra) else "")
            out.append(text[:20_000])
        return out


def labelled(extractor: FieldExtractor, datasets: Path) -> dict[str, tuple[Counts, Counts]]:
    """Per dataset: (all extractor person spans, redacted names) against the gold person spans."""
    tickets = load_labels(LABELS)
    texts = load_texts(datasets, tickets)
    out: dict[str, tuple[Counts, Counts]] = {}
    for ticket in tickets:
        text = texts[(ticket.dataset, ticket.id)]
        people = [f for f in extractor.extract(text, detect_language(text)) if f.type == "person"]
        every: list[Span] = [(f.start, f.end, "person") for f in people]
        names: list[Span] = [(f.start, f.end, "person") for f in people if is_person_name(f, text)]
        gold = [s for s in ticket.spans if s[2] == "person"]
        before, after = out.get(ticket.dataset, (Counts(), Counts()))
        out[ticket.dataset] = (
            before + match_counts(every, gold, "overlap").get("person", Counts()),
            after + match_counts(names, gold, "overlap").get("person", Counts()),
        )
    return out


def unlabelled(extractor: FieldExtractor, datasets: Path) -> dict[str, Counter[tuple[str, bool]]]:
    """Per set: person spans counted by (source, kept by the redactor)."""
    out: dict[str, Counter[tuple[str, bool]]] = {}
    for name, path, column, extra, limit in UNLABELLED:
        counts: Counter[tuple[str, bool]] = Counter()
        for text in _rows(datasets / path, column, extra, limit):
            for f in extractor.extract(text, detect_language(text)):
                if f.type == "person":
                    counts[(f.source, is_person_name(f, text))] += 1
        out[f"{name}, {limit} rows"] = counts
    return out


def render(first: dict[str, tuple[Counts, Counts]], second: dict[str, Counter[tuple[str, bool]]]) -> str:
    lines = [
        "Hand-labelled person spans (overlap match):",
        "",
        "| set | gold names | every extractor person span: P / R | redacted as names: P / R |",
        "|---|---:|---:|---:|",
    ]
    for dataset, (every, names) in sorted(first.items()):
        lines.append(
            f"| {dataset} | {every.gold} | {every.precision:.2f} / {every.recall:.2f} ({every.predicted} spans) "
            f"| {names.precision:.2f} / {names.recall:.2f} ({names.predicted} spans) |"
        )
    lines += [
        "",
        "Unlabelled rows: person spans proposed by the extractor, and kept by the redactor:",
        "",
        "| set | rule spans (kept) | ner spans (kept) |",
        "|---|---:|---:|",
    ]
    for name, counts in second.items():
        rule = counts[("rule", True)] + counts[("rule", False)]
        ner = counts[("ner", True)] + counts[("ner", False)]
        lines.append(f"| {name} | {rule} ({counts[('rule', True)]}) | {ner} ({counts[('ner', True)]}) |")
    lines += ["", READING]
    return "\n".join(lines) + "\n"


def run(datasets: Path) -> str:
    extractor = FieldExtractor()
    extractor.load()
    return (
        HEADING
        + stamp(COMMAND)
        + "\n"
        + render(labelled(extractor, datasets), unlabelled(extractor, datasets))
    )


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(
        argv,
        prog="python -m eval.pii_bench",
        description="Person-name PII on real tickets: extractor person spans vs what redact_pii replaces.",
        section="pii",
        produce=run,
    )


if __name__ == "__main__":
    raise SystemExit(main())
