"""Loading a ticket history from CSV, JSONL or Parquet with the user's own column names."""

from __future__ import annotations

import csv
import hashlib
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from training.errors import DataError as DataError  # defined there, kept importable from here
from triage.features import model_text

# A label needs at least this many examples to be learnt and calibrated (5-fold CV needs 5).
MIN_EXAMPLES = 5
RARE_POLICIES = ("error", "other", "drop")


def read_dataset_csv(path: Path) -> list[dict[str, str]]:
    """Every row of one CSV file of the shared datasets, as dicts (fields of any length)."""
    if not path.is_file():
        raise DataError(f"{path} not found: pass --datasets pointing at ../shared/datasets")
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass(frozen=True)
class TicketTable:
    """Tickets ready for training or evaluation: one text per row and labels per head."""

    ids: list[str]
    texts: list[str]
    labels: dict[str, list[str]]  # head name ("department", "category", "priority") -> labels
    created_at: list[str | None] = field(default_factory=list)
    resolved_at: list[str | None] = field(default_factory=list)
    notes: tuple[str, ...] = ()  # what the checks changed (dropped rows, folded labels)

    def __len__(self) -> int:
        return len(self.texts)

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for text, label in zip(self.texts, self.labels.get("department", []), strict=False):
            digest.update(text.encode())
            digest.update(b"\x1f")
            digest.update(str(label).encode())
            digest.update(b"\x1e")
        return digest.hexdigest()[:16]


def read_frame(path: Path) -> pd.DataFrame:
    """Read CSV, TSV, JSONL/NDJSON, JSON or Parquet by file extension."""
    if not path.exists():
        raise DataError(f"data file {path} not found")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        if suffix == ".tsv":
            return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True, dtype=False)
        if suffix == ".json":
            return pd.read_json(path, dtype=False)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    raise DataError(f"unsupported data file {path.name}: use .csv, .tsv, .jsonl, .json or .parquet")


def _require(frame: pd.DataFrame, columns: Sequence[str], flag: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns))
        raise DataError(
            f"column(s) {', '.join(map(repr, missing))} not found; columns are: {have}; pass {flag}"
        )


def load_table(
    path: Path,
    text_columns: Sequence[str],
    label_columns: Mapping[str, str | None],
    id_column: str | None = None,
    created_column: str | None = None,
    resolved_column: str | None = None,
    rare: str = "error",
    min_examples: int = MIN_EXAMPLES,
    require_labels: bool = True,
    dedupe: bool = False,
    trainable: bool = False,
) -> TicketTable:
    """Read a ticket table and check it: columns, empty texts, repeated texts, rare labels.

    ``label_columns`` maps a head name to the user's column (None = no such head). ``rare`` says
    what to do with labels that have fewer than ``min_examples`` rows: ``error`` (name them),
    ``other`` (fold them into the label "other") or ``drop`` (drop their rows). ``trainable``: also
    check that every head can be trained (``check_trainable``).

    Rows that repeat an earlier row's text and label are kept unless ``dedupe``: repeated
    symptoms are real traffic, and a model trained and calibrated without them is under-confident
    on the repeats it then meets (cn-ict: test ECE 0.29 with them dropped, 0.09 kept).
    """
    if rare not in RARE_POLICIES:
        raise DataError(f"rare={rare!r}; choose one of {', '.join(RARE_POLICIES)}")
    frame = read_frame(path)
    if frame.empty:
        raise DataError(f"{path} has no rows")
    _require(frame, list(text_columns), "--text COLUMN [COLUMN ...]")
    heads = {h: c for h, c in label_columns.items() if c}
    for head, column in heads.items():
        _require(frame, [column], f"--{head if head != 'department' else 'label'} COLUMN")
    for optional, flag in (
        (id_column, "--id"),
        (created_column, "--created"),
        (resolved_column, "--resolved"),
    ):
        if optional:
            _require(frame, [optional], f"{flag} COLUMN")

    parts = [frame[c].fillna("").astype(str).str.strip() for c in text_columns]
    joined = parts[0] if len(parts) == 1 else parts[0].str.cat(parts[1:], sep="\n")
    texts = [model_text("", t) for t in joined]
    ids: list[str | None] = (
        frame[id_column].astype(str).tolist() if id_column else [str(i) for i in range(len(frame))]
    )
    notes: list[str] = []

    keep = [bool(t) for t in texts]
    empty = keep.count(False)
    if empty:
        notes.append(f"dropped {empty} row(s) with empty text")
    labels = {h: frame[c].fillna("").astype(str).str.strip().tolist() for h, c in heads.items()}
    if require_labels and "department" in labels:
        unlabelled = sum(1 for k, v in zip(keep, labels["department"], strict=True) if k and not v)
        if unlabelled:
            notes.append(f"dropped {unlabelled} row(s) without a label")
            keep = [k and bool(v) for k, v in zip(keep, labels["department"], strict=True)]
    seen: set[tuple[str, str]] = set()
    duplicates = 0
    for i, text in enumerate(texts):
        if not keep[i]:
            continue
        key = (text, labels["department"][i] if "department" in labels else "")
        if key in seen:
            duplicates += 1
            keep[i] = not dedupe
        seen.add(key)
    if duplicates and dedupe:
        notes.append(f"dropped {duplicates} exact duplicate row(s) (same text and label)")
    elif duplicates:
        notes.append(
            f"{duplicates} row(s) repeat an earlier row's text and label: kept (real traffic repeats)"
        )

    def pick(values: Sequence[str | None]) -> list[str | None]:
        return [v for v, k in zip(values, keep, strict=True) if k]

    table_labels = {h: [str(v) for v in pick(vals)] for h, vals in labels.items()}
    table = TicketTable(
        ids=[str(v) for v in pick(ids)],
        texts=[str(v) for v in pick(texts)],
        labels=table_labels,
        created_at=pick(frame[created_column].astype(str).tolist()) if created_column else [],
        resolved_at=pick(frame[resolved_column].astype(str).tolist()) if resolved_column else [],
    )
    if not len(table):
        raise DataError(f"{path}: no usable rows after dropping empty texts and labels")
    if require_labels:
        table = _handle_rare(table, rare, min_examples, notes)
    table = TicketTable(
        table.ids, table.texts, table.labels, table.created_at, table.resolved_at, tuple(notes)
    )
    if trainable:
        check_trainable(table, min_examples, rare)
    return table


_PLURALS = {"department": "departments", "category": "categories", "priority": "priorities"}


def check_trainable(table: TicketTable, min_examples: int = MIN_EXAMPLES, rare: str | None = None) -> None:
    """Refuse a table a head cannot be learnt from: every head needs two labels or more, each with
    at least ``min_examples`` rows (after the rare-label policy); the message gives the minimum."""
    if "department" not in table.labels:
        raise DataError("training needs department labels: pass --label COLUMN")
    after = f" after --rare {rare}" if rare and rare != "error" else ""
    for head, values in table.labels.items():
        counts = Counter(values)
        plural = _PLURALS.get(head, f"{head} labels")
        listed = ", ".join(f"{label!r} ({n})" for label, n in counts.most_common(8))
        flag = "--label" if head == "department" else f"--{head}"
        if len(counts) < 2:
            raise DataError(
                f"{head}: {len(values)} usable row(s) with one label ({listed}){after}; training needs at "
                f"least 2 {plural} with at least {min_examples} examples each ({2 * min_examples} rows): "
                f"add labelled tickets" + (f" or leave out {flag}" if head != "department" else "")
            )
        thin = {label: n for label, n in counts.items() if n < min_examples}
        if thin:
            shown = ", ".join(f"{label!r} ({n})" for label, n in sorted(thin.items()))
            raise DataError(
                f"{head}: label(s) with fewer than {min_examples} examples{after}: {shown}; each of the "
                f"{plural} needs at least {min_examples}: add examples, or pass --rare drop"
            )


def apply_rare_policy(table: TicketTable, rare: str, min_examples: int = MIN_EXAMPLES) -> TicketTable:
    """Apply a rare-label policy (``other`` or ``drop``) to a table built in code, as ``load_table``
    does to a file (``triage train --rare``); what it changed is added to the table's notes."""
    if rare not in ("other", "drop"):
        raise DataError(f"rare={rare!r}; choose other or drop")
    notes = list(table.notes)
    out = _handle_rare(table, rare, min_examples, notes)
    return TicketTable(out.ids, out.texts, out.labels, out.created_at, out.resolved_at, tuple(notes))


def _handle_rare(table: TicketTable, rare: str, min_examples: int, notes: list[str]) -> TicketTable:
    keep = [True] * len(table)
    labels = {h: list(v) for h, v in table.labels.items()}
    for head, values in labels.items():
        counts = Counter(values)
        rare_labels = sorted(label for label, n in counts.items() if n < min_examples)
        if not rare_labels:
            continue
        listed = ", ".join(f"{label!r} ({counts[label]})" for label in rare_labels[:20])
        if rare == "error":
            raise DataError(
                f"{head} label(s) with fewer than {min_examples} examples: {listed}; add examples, or pass "
                "--rare other (fold them into 'other') or --rare drop (drop their rows)"
            )
        if rare == "other":
            labels[head] = ["other" if v in rare_labels else v for v in values]
            notes.append(f"{head}: folded {len(rare_labels)} rare label(s) into 'other'")
        else:
            keep = [k and v not in rare_labels for k, v in zip(keep, values, strict=True)]
            notes.append(f"{head}: dropped rows of {len(rare_labels)} rare label(s)")

    def pick(values: Sequence[str | None]) -> list[str | None]:
        return [v for v, k in zip(values, keep, strict=True) if k] if values else []

    return TicketTable(
        ids=[str(v) for v in pick(table.ids)],
        texts=[str(v) for v in pick(table.texts)],
        labels={h: [str(v) for v in pick(vals)] for h, vals in labels.items()},
        created_at=pick(table.created_at),
        resolved_at=pick(table.resolved_at),
    )
