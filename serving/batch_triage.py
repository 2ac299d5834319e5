"""Batch triage of a backlog on Ray Data: every ticket of a file through the server's TriageService.

Ray's batch-inference pattern: read the file (``ray.data.read_*``), then ``map_batches`` over an
actor pool in which every actor builds and loads the server's ``TriageService`` once (models,
encoder, field extractor, knowledge base) and triages one batch per call with ``triage_many`` (one
encoder pass per batch), exactly what ``POST /v1/triage:batch`` runs. Rows are validated by the
API's own ``TicketIn``; a row it refuses gets an ``error`` naming the field, not a result. Results
come back in input order and are written as JSONL (one ``{"row", "id", "result" | "error"}`` per
line, ``result`` as the HTTP API answers) or Parquet (flat key columns plus ``result`` as JSON
text), to a temporary file renamed into place at the end.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from serving.backfill import BadRow, cell_text, with_encoder_threads
from serving.schemas import TicketIn, TriageOut
from serving.settings import Settings

logger = logging.getLogger(__name__)

# TicketIn fields a column of the same name fills (besides body, title and id from the flags).
_TICKET_COLUMNS = ("language", "channel", "requester", "created_at", "tenant")
OUTPUT_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class TicketColumns:
    """Which columns make a ticket: the text columns (joined into the body), title and id."""

    text: tuple[str, ...] = ("body",)
    title: str | None = "title"
    id: str | None = "id"

    def ticket(self, row: Mapping[str, Any]) -> TicketIn:
        """The row as the API's TicketIn (ValidationError or BadRow when it is not a valid ticket)."""
        values: dict[str, Any] = {"body": "\n".join(cell_text(row.get(c), c) for c in self.text).strip()}
        if self.title and self.title in row:
            values["title"] = cell_text(row[self.title], self.title)
        if self.id and self.id in row:
            values["id"] = cell_text(row[self.id], self.id) or None
        for name in _TICKET_COLUMNS:
            if name in row:
                value = cell_text(row[name], name)
                if value:
                    values[name] = value
        return TicketIn.model_validate(values)

    def raw_id(self, row: Mapping[str, Any]) -> str | None:
        """The row's id as given, for a row that is not a valid ticket (None if it has no usable one)."""
        value = row.get(self.id) if self.id else None
        return value if isinstance(value, str) and 0 < len(value) <= 200 else None


def _problem(exc: ValidationError | BadRow) -> str:
    """What is wrong with a row, naming the field; never the input itself."""
    if isinstance(exc, BadRow):
        return str(exc)
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False))


class TriageBatch:
    """An actor: the server's TriageService, loaded once; triages one batch of rows per call."""

    def __init__(self, settings: Settings, columns: TicketColumns, threads: int) -> None:
        from serving.app import build_service

        self.columns = columns
        self.service = build_service(with_encoder_threads(settings, threads))
        self.service.load()

    def __call__(self, batch: Any) -> Any:
        import pandas as pd

        results: list[str | None] = []
        errors: list[str | None] = []
        ids: list[str | None] = []
        tickets = []
        positions = []
        for position, row in enumerate(batch.to_dict("records")):
            try:
                ticket = self.columns.ticket(row)
            except (ValidationError, BadRow) as exc:
                results.append(None)
                errors.append(_problem(exc))
                ids.append(self.columns.raw_id(row))
                continue
            results.append(None)
            errors.append(None)
            ids.append(ticket.id)
            tickets.append(ticket.to_ticket())
            positions.append(position)
        for position, result in zip(positions, self.service.triage_many(tickets), strict=True):
            results[position] = TriageOut.of(result).model_dump_json()
        return pd.DataFrame({"id": ids, "result": results, "error": errors})


@dataclass(frozen=True)
class TriageFileSummary:
    rows: int
    triaged: int
    refused: int
    seconds: float

    def line(self) -> str:
        return (
            f"{self.rows} rows: {self.triaged} triaged, {self.refused} refused (see their 'error'); "
            f"{self.seconds:.1f} s ({self.rows / max(self.seconds, 1e-9):.1f} tickets/s)"
        )


def output_format(path: Path) -> str:
    from serving.ray_support import DataSourceError

    kind = OUTPUT_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataSourceError(f"cannot write {path.name}: name the output .jsonl or .parquet")
    return kind


def run_triage_file(
    settings: Settings,
    source: Path,
    target: Path,
    columns: TicketColumns,
    *,
    workers: int | None = None,
    batch_size: int = 64,
    progress: Callable[[int, int | None], None] | None = None,
) -> TriageFileSummary:
    """Triage every row of ``source`` on the connected Ray cluster and write the results to ``target``."""
    from serving.ray_support import (
        LIGHT_TASK_CPUS,
        DataSourceError,
        actor_pool,
        read_dataset,
        release_actors,
        require_ray,
        table_shape,
        worker_share,
    )

    ray = require_ray()
    started = time.perf_counter()
    kind = output_format(target)
    workers, per_worker, threads = worker_share(workers)
    names, total = table_shape(source)
    missing = [c for c in columns.text if c not in names]
    if missing:
        raise DataSourceError(
            f"text column(s) {missing} not found; columns are: {', '.join(names)}; pass --text"
        )
    # Results in input order (row n is line n): set before the dataset is made, which copies it.
    context = ray.data.DataContext.get_current()
    keep_order = context.execution_options.preserve_order
    context.execution_options.preserve_order = True
    try:
        ds = read_dataset(source, read_cpus=LIGHT_TASK_CPUS)
        results = ds.map_batches(
            TriageBatch,
            fn_constructor_kwargs={
                "settings": settings,
                "columns": columns,
                "threads": threads,
            },
            batch_format="pandas",
            batch_size=batch_size,
            compute=actor_pool(workers),
            num_cpus=per_worker,
        )
        batches = results.iter_batches(batch_format="pandas", batch_size=None)
        rows, refused = _write_results(batches, target, kind, total, progress)
        del batches, results, ds
    finally:
        context.execution_options.preserve_order = keep_order
        release_actors()
    return TriageFileSummary(rows, rows - refused, refused, time.perf_counter() - started)


def run_triage_file_local(
    settings: Settings,
    source: Path,
    target: Path,
    columns: TicketColumns,
    *,
    batch_size: int = 64,
    progress: Callable[[int, int | None], None] | None = None,
) -> TriageFileSummary:
    """The same, in this process without Ray: one service, batches in turn (small files; the baseline)."""
    from serving.ray_support import DataSourceError
    from training.data import read_frame

    started = time.perf_counter()
    kind = output_format(target)
    frame = read_frame(source)
    missing = [c for c in columns.text if c not in frame.columns]
    if missing:
        raise DataSourceError(
            f"text column(s) {missing} not found; columns are: {', '.join(map(str, frame.columns))}; pass --text"
        )
    worker = TriageBatch(settings, columns, threads=os.cpu_count() or 1)
    batches = (worker(frame.iloc[start : start + batch_size]) for start in range(0, len(frame), batch_size))
    rows, refused = _write_results(batches, target, kind, len(frame), progress)
    return TriageFileSummary(rows, rows - refused, refused, time.perf_counter() - started)


def _write_results(
    batches: Iterable[Any],
    target: Path,
    kind: str,
    total: int,
    progress: Callable[[int, int | None], None] | None,
) -> tuple[int, int]:
    """Write result batches in order to a temporary file renamed to ``target``; (rows, refused)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    writer = _JsonlWriter(partial) if kind == "jsonl" else _ParquetWriter(partial)
    rows = refused = 0
    try:
        for batch in batches:
            # Missing values come back as None or NaN, by the column's dtype: None for all.
            records = [{k: _text(v) for k, v in r.items()} for r in batch.to_dict("records")]
            writer.write(rows, records)
            rows += len(records)
            refused += sum(1 for r in records if r["error"] is not None)
            if progress is not None:
                progress(rows, total)
    finally:
        writer.close()
    os.replace(partial, target)
    return rows, refused


def _text(value: Any) -> str | None:
    """A result column's value: text, or None when missing (None, NaN or pandas' NA)."""
    return value if isinstance(value, str) else None


class _JsonlWriter:
    def __init__(self, path: Path) -> None:
        self.handle = path.open("w", encoding="utf-8")

    def write(self, first: int, records: Sequence[Mapping[str, Any]]) -> None:
        for offset, record in enumerate(records):
            line: dict[str, Any] = {"row": first + offset, "id": record["id"]}
            if record["error"] is not None:
                line["error"] = record["error"]
            else:
                line["result"] = json.loads(record["result"])
            self.handle.write(json.dumps(line, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()


def _flat(row: int, record: Mapping[str, Any]) -> dict[str, Any]:
    """One Parquet row: the key answers as columns, the whole answer as JSON text."""
    out: dict[str, Any] = {
        "row": row,
        "id": record["id"],
        "error": record["error"],
        "result": record["result"],
    }
    result = json.loads(record["result"]) if record["result"] else {}
    for head in ("department", "category", "priority"):
        prediction = result.get(head) or {}
        out[head] = prediction.get("value")
        out[f"{head}_confidence"] = prediction.get("confidence")
        out[f"{head}_abstained"] = prediction.get("abstained")
    out["language"] = result.get("language")
    out["headline"] = result.get("headline")
    out["summary"] = result.get("summary")
    out["similar_case_ids"] = [c["id"] for c in result.get("similar_cases", [])]
    out["model_version"] = result.get("model_version")
    return out


class _ParquetWriter:
    def __init__(self, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        text, number, flag = pa.string(), pa.float64(), pa.bool_()
        heads = [
            pa.field(f"{h}{suffix}", kind)
            for h in ("department", "category", "priority")
            for suffix, kind in (("", text), ("_confidence", number), ("_abstained", flag))
        ]
        self.schema = pa.schema(
            [
                pa.field("row", pa.int64()),
                pa.field("id", text),
                *heads,
                pa.field("language", text),
                pa.field("headline", text),
                pa.field("summary", text),
                pa.field("similar_case_ids", pa.list_(text)),
                pa.field("model_version", text),
                pa.field("result", text),
                pa.field("error", text),
            ]
        )
        self.writer = pq.ParquetWriter(str(path), self.schema)

    def write(self, first: int, records: Sequence[Mapping[str, Any]]) -> None:
        import pyarrow as pa

        rows = [_flat(first + offset, record) for offset, record in enumerate(records)]
        self.writer.write_table(pa.Table.from_pylist(rows, schema=self.schema))

    def close(self) -> None:
        self.writer.close()
