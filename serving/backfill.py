"""Bulk backfill of solved cases on Ray Data: read, clean, embed, extract fields, store, index.

The stages, each one of Ray's documented batch-inference patterns:

1. read: ``ray.data.read_csv/read_json/read_parquet`` over a file or a folder of parts;
2. clean (tasks): one ``Document`` per row, built as ``triage index`` builds it (``CaseColumns``);
   empty and malformed rows are marked, not dropped, so the summary can count them;
3. deduplicate (one actor): a repeated id in this run is a duplicate; an id the store already
   holds was written by an earlier run (resume) and is skipped before anything is embedded;
4. embed, extract fields and store (an actor pool, ``concurrency=workers``): each actor builds the
   server's ``TriageService`` from the settings once (one encoder per worker, loaded once), prepares
   documents as the server does (PII redaction included) and writes them through
   ``KnowledgeBase.store_documents`` in its own transactions;
5. the driver consumes only each row's outcome: Ray Data's streaming executor bounds the blocks in
   flight between the stages (back-pressure), so memory stays flat however large the input.

Then the driver loads the knowledge base, which catches its FAISS and BM25 indexes up from the
database's change log and snapshots them: the snapshot the servers load at start.

Every write is an upsert keyed by (tenant, kind, id) and committed before the row counts as
written, so a backfill killed at any instant and started again with the same arguments writes only
what is missing, and a finished one run again writes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from knowledge import Document
from serving.settings import Settings
from triage.language import detect_language

logger = logging.getLogger(__name__)

# Outcomes of a row, in the order the summary lists them.
WRITTEN = "written"
EMPTY = "empty"
DUPLICATE = "duplicate"
BAD = "bad"
STORED = "already stored"
OUTCOMES = (WRITTEN, EMPTY, DUPLICATE, BAD, STORED)
NEW = "new"  # not decided yet (between the stages)

MAX_ID_CHARS = 200  # as the HTTP API's case ids


class BadRow(ValueError):
    """A row that cannot become a case (missing id, a cell that is not text)."""


def cell_text(value: Any, column: str) -> str:
    """A cell as text: missing is empty; a number is its text; a list or mapping is a bad row."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value).removesuffix(".0")
    if isinstance(value, str | int | bool):
        return str(value)
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # a numpy scalar
        return cell_text(value.item(), column)
    raise BadRow(f"column {column!r} holds a {type(value).__name__}, not text")


@dataclass(frozen=True)
class CaseColumns:
    """Which columns of a history table make a solved case (the flags of ``triage index``)."""

    text: tuple[str, ...]
    resolution: str
    id: str | None = None
    title: str | None = None
    department: str | None = None
    tenant: str = "default"

    def wanted(self) -> list[str]:
        return [*self.text, self.resolution, *(c for c in (self.id, self.title, self.department) if c)]

    def missing(self, columns: Sequence[str]) -> list[str]:
        return [c for c in self.wanted() if c not in columns]

    def document(self, row: Mapping[str, Any], fallback_id: str | None = None) -> Document | None:
        """The case a row holds, or None when its text is empty.

        Its id is the ``id`` column, else ``fallback_id``, else a hash of its text and resolution
        (so a row repeated word for word is the same case). Raises BadRow for a row that has no id
        or a cell that is not text.
        """
        body = "\n".join(cell_text(row[c], c) for c in self.text).strip()
        resolution = cell_text(row[self.resolution], self.resolution)
        title = cell_text(row[self.title], self.title) if self.title else ""
        department = cell_text(row[self.department], self.department) if self.department else ""
        if self.id:
            doc_id = cell_text(row[self.id], self.id).strip()
            if not doc_id:
                raise BadRow(f"no id in column {self.id!r}")
            if len(doc_id) > MAX_ID_CHARS:
                raise BadRow(f"id longer than {MAX_ID_CHARS} characters")
        else:
            doc_id = fallback_id or content_id(title, body, resolution)
        if not body:
            return None
        return Document(
            doc_id=doc_id,
            tenant=self.tenant,
            title=title,
            body=body,
            resolution=resolution,
            department=department or None,
            language=detect_language(body),
        )


def content_id(title: str, body: str, resolution: str) -> str:
    """A case id from its content: the same text and resolution give the same id."""
    digest = hashlib.sha256("\x1f".join((title, body, resolution)).encode()).hexdigest()
    return f"sha256:{digest[:24]}"


# ---------------------------------------------------------------------------- stages

_DOC_COLUMNS = ("doc_id", "title", "body", "resolution", "department", "language")


def clean_batch(batch: Any, columns: CaseColumns) -> Any:
    """Stage 2 (a Ray task): one row per input row with the case's fields and its outcome so far."""
    import pandas as pd

    rows: dict[str, list[Any]] = {c: [] for c in (*_DOC_COLUMNS, "outcome")}
    for row in batch.to_dict("records"):
        outcome, doc = NEW, None
        try:
            doc = columns.document(row)
            if doc is None:
                outcome = EMPTY
        except BadRow:
            outcome = BAD
        for c in _DOC_COLUMNS:
            rows[c].append(getattr(doc, c) if doc is not None else None)
        rows["outcome"].append(outcome)
    return pd.DataFrame(rows)


class Deduplicate:
    """Stage 3 (one actor, so it sees every row): repeated ids are duplicates, stored ids are done."""

    def __init__(self, settings: Settings, tenant: str) -> None:
        from knowledge import DocumentStore

        self.store = DocumentStore(settings.database_target)
        self.tenant = tenant
        self.seen: set[str] = set()

    def __call__(self, batch: Any) -> Any:
        outcomes = batch["outcome"].tolist()
        ids = batch["doc_id"].tolist()
        fresh = [i for i, o in zip(ids, outcomes, strict=True) if o == NEW]
        stored = self.store.stored_ids(self.tenant, "case", fresh) if fresh else set()
        for position, (doc_id, outcome) in enumerate(zip(ids, outcomes, strict=True)):
            if outcome != NEW:
                continue
            if doc_id in self.seen:
                outcomes[position] = DUPLICATE
            elif doc_id in stored:
                outcomes[position] = STORED
            self.seen.add(doc_id)
        batch["outcome"] = outcomes
        return batch


class EmbedAndStore:
    """Stage 4 (an actor pool): the server's service built once per worker; embeds, extracts, stores."""

    def __init__(self, settings: Settings, tenant: str, threads: int, fields: bool) -> None:
        from serving.app import build_service

        settings = with_encoder_threads(settings, threads)
        self.service = build_service(settings)
        self.tenant = tenant
        self.fields = fields
        self.service.encoder.load()
        for extra in self.service.knowledge.extra_encoders:
            extra.load()
        if fields or settings.redact_pii:
            self.service.extractor.load()
        self.service.knowledge.store.open()
        self.seconds: dict[str, float] = {"embed": 0.0, "fields": 0.0, "store": 0.0}

    def __call__(self, batch: Any) -> Any:
        import pandas as pd

        outcomes = batch["outcome"].tolist()
        chosen = [i for i, o in enumerate(outcomes) if o == NEW]
        if chosen:
            records = batch.iloc[chosen].to_dict("records")
            docs = [_document(r, self.tenant) for r in records]
            t0 = time.perf_counter()
            if self.fields:
                docs = [self._with_fields(d) for d in docs]
            t1 = time.perf_counter()
            prepared, vectors = self.service.prepare_documents(docs)
            t2 = time.perf_counter()
            self.service.knowledge.store_documents(prepared, vectors)
            t3 = time.perf_counter()
            self.seconds["fields"] += t1 - t0
            self.seconds["embed"] += t2 - t1
            self.seconds["store"] += t3 - t2
            for i in chosen:
                outcomes[i] = WRITTEN
        # Each stage's seconds ride on the batch's first row, for the summary's "where the time goes".
        timings = {f"seconds_{k}": [v] + [0.0] * (len(outcomes) - 1) for k, v in self.seconds.items()}
        self.seconds = dict.fromkeys(self.seconds, 0.0)
        return pd.DataFrame({"outcome": outcomes, **timings})

    def _with_fields(self, doc: Document) -> Document:
        """The case with its key fields (type and value) in ``metadata['fields']``; personal data left out."""
        found = self.service.extractor.extract(doc.text, doc.language or detect_language(doc.text))
        kept = [{"type": f.type, "value": f.value} for f in found if not f.pii]
        return replace(doc, metadata={**doc.metadata, "fields": kept}) if kept else doc


def _document(record: Mapping[str, Any], tenant: str) -> Document:
    """A cleaned row as a case (a missing value may come back from Ray's blocks as None or NaN)."""

    def text(column: str) -> str | None:
        value = record[column]
        return value if isinstance(value, str) else None

    return Document(
        doc_id=str(record["doc_id"]),
        tenant=tenant,
        title=text("title") or "",
        body=text("body") or "",
        resolution=text("resolution") or "",
        department=text("department"),
        language=text("language"),
    )


def with_encoder_threads(settings: Settings, threads: int) -> Settings:
    """USE-m3 with one BLAS thread per CPU Ray gave the worker (more threads than cores is much slower)."""
    if settings.encoder == "use-m3":
        return settings.model_copy(update={"encoder": f"use-m3:{threads}"})
    return settings


# ---------------------------------------------------------------------------- driver


@dataclass(frozen=True)
class BackfillSummary:
    """What a backfill did: rows read, each outcome's count, the index size, time per stage."""

    read: int
    counts: Mapping[str, int]
    indexed: int
    seconds: float
    index_seconds: float
    worker_seconds: Mapping[str, float] = field(default_factory=dict)

    @property
    def written(self) -> int:
        return self.counts.get(WRITTEN, 0)

    def line(self) -> str:
        skipped = ", ".join(f"{self.counts.get(k, 0)} {k}" for k in (EMPTY, DUPLICATE, BAD, STORED))
        busy = ", ".join(f"{k} {v:.1f} s" for k, v in self.worker_seconds.items())
        return (
            f"read {self.read} rows: wrote {self.written}, skipped {skipped}; "
            f"{self.indexed} cases in the index; {self.seconds:.1f} s "
            f"({self.read / max(self.seconds, 1e-9):.0f} rows/s; workers' time: {busy or 'none'}; "
            f"index build {self.index_seconds:.1f} s)"
        )


Progress = Callable[[int, int | None], None]


def run_backfill(
    settings: Settings,
    data: Path,
    columns: CaseColumns,
    *,
    workers: int | None = None,
    batch_size: int = 256,
    fields: bool = True,
    progress: Progress | None = None,
) -> BackfillSummary:
    """Backfill cases from ``data`` on the connected Ray cluster (see the module docstring).

    ``workers``: encoder actors (default: one per two of the cluster's CPUs, at least one).
    ``progress(done, total)`` is called as rows finish.
    """
    from serving.ray_support import (
        LIGHT_TASK_CPUS,
        DataSourceError,
        actor_pool,
        read_dataset,
        release_actors,
        table_shape,
        worker_share,
    )

    started = time.perf_counter()
    workers, per_worker, threads = worker_share(workers)
    names, total = table_shape(data)
    missing = columns.missing(names)
    if missing:
        raise DataSourceError(f"column(s) {missing} not found; columns are: {', '.join(names)}")
    ds = read_dataset(data, read_cpus=LIGHT_TASK_CPUS)
    logger.info(
        "backfill of %d rows: %d workers x %.2f CPUs (%d encoder threads)",
        total,
        workers,
        per_worker,
        threads,
    )
    outcomes = (
        ds.map_batches(
            clean_batch, fn_kwargs={"columns": columns}, batch_format="pandas", num_cpus=LIGHT_TASK_CPUS
        )
        .map_batches(
            Deduplicate,
            fn_constructor_kwargs={"settings": settings, "tenant": columns.tenant},
            batch_format="pandas",
            compute=actor_pool(1),
            num_cpus=0,  # a set lookup per row: it must not take a CPU from the workers
        )
        .map_batches(
            EmbedAndStore,
            fn_constructor_kwargs={
                "settings": settings,
                "tenant": columns.tenant,
                "threads": threads,
                "fields": fields,
            },
            batch_format="pandas",
            batch_size=batch_size,
            compute=actor_pool(workers),
            num_cpus=per_worker,
        )
    )
    counts = dict.fromkeys(OUTCOMES, 0)
    worker_seconds: dict[str, float] = {}
    done = 0
    for batch in outcomes.iter_batches(batch_format="pandas", batch_size=None):
        for outcome, n in batch["outcome"].value_counts().items():
            counts[str(outcome)] = counts.get(str(outcome), 0) + int(n)
        for column in batch.columns:
            if column.startswith("seconds_"):
                key = column.removeprefix("seconds_")
                worker_seconds[key] = worker_seconds.get(key, 0.0) + float(batch[column].sum())
        done += len(batch)
        if progress is not None:
            progress(done, total)
    del outcomes, ds
    release_actors()
    written_at = time.perf_counter()
    indexed = build_index(settings, columns.tenant)
    finished = time.perf_counter()
    return BackfillSummary(
        read=done,
        counts=counts,
        indexed=indexed,
        seconds=finished - started,
        index_seconds=finished - written_at,
        worker_seconds=worker_seconds,
    )


def build_index(settings: Settings, tenant: str) -> int:
    """Catch the tenant's FAISS and BM25 indexes up from the database and snapshot them; their size."""
    from embeddings import get_encoder
    from serving.app import build_knowledge

    knowledge = build_knowledge(settings, get_encoder(settings.encoder))
    try:
        knowledge.load()  # restores the last snapshot and replays the change log after it
        size = knowledge.size(tenant)
        knowledge.flush()
        return size
    finally:
        knowledge.store.close()
