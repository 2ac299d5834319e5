"""The database of solved cases and knowledge-base articles: the source of truth.

SQLite (WAL, synchronous=FULL) by default, PostgreSQL by URL (``knowledge.db``). Every write appends to a change log whose sequence
number is the high-water mark that derived indexes (FAISS, BM25) catch up from.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from knowledge.db import DatabaseStore, Record, Session

logger = logging.getLogger(__name__)

KINDS = ("case", "article")

_COLUMNS = (
    "title",
    "body",
    "resolution",
    "department",
    "category",
    "priority",
    "language",
    "status",
    "created_at",
    "resolved_at",
)


@dataclass(frozen=True)
class Document:
    """A solved case or a knowledge-base article as stored."""

    doc_id: str
    kind: str = "case"
    tenant: str = "default"
    title: str = ""
    body: str = ""
    resolution: str = ""
    department: str | None = None
    category: str | None = None
    priority: str | None = None
    language: str | None = None
    status: str = "resolved"
    created_at: str | None = None
    resolved_at: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    row_id: int | None = None

    @property
    def text(self) -> str:
        """The text that is embedded and indexed: title and body."""
        return f"{self.title}\n{self.body}" if self.title else self.body

    @property
    def display_title(self) -> str:
        """The title, or the first line of the body (120 characters at most) when there is none."""
        return self.title or self.body.strip().split("\n", 1)[0][:120]


def _instant(text: str | None) -> float | None:
    """Seconds since the epoch of an ISO-8601 time (no offset: UTC), None if missing or unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _at_or_after(later: float | None, earlier: float | None, strictly: bool = False) -> bool:
    if later is None or earlier is None:
        return False
    return later > earlier if strictly else later >= earlier


@dataclass(frozen=True)
class SearchFilters:
    """Which documents a search may return; empty fields do not filter.

    Statuses compare case-insensitively. Dates are ISO-8601 strings compared as instants
    (``created_from`` inclusive, ``created_to`` exclusive): an offset is honoured, a time without
    one is UTC and a date alone is its midnight UTC, so ``created_from="2024-05-01"`` keeps
    ``2024-05-01T08:00:00`` and ``2024-05-01T06:00:00+08:00`` is before it. A document whose
    ``created_at`` is missing or not ISO 8601 fails any date filter.
    """

    departments: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    created_from: str | None = None
    created_to: str | None = None
    doc_ids: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.departments
            or self.statuses
            or self.languages
            or self.categories
            or self.created_from
            or self.created_to
            or self.doc_ids
        )

    def accepts(self, doc: Document) -> bool:
        """The same test as the SQL in ``DocumentStore.filter_rows``, for one document in hand."""
        created = _instant(doc.created_at) if (self.created_from or self.created_to) else None
        return (
            (not self.departments or doc.department in self.departments)
            and (not self.statuses or doc.status.lower() in {s.lower() for s in self.statuses})
            and (not self.languages or doc.language in self.languages)
            and (not self.categories or doc.category in self.categories)
            and (self.created_from is None or _at_or_after(created, _instant(self.created_from)))
            and (self.created_to is None or _at_or_after(_instant(self.created_to), created, strictly=True))
            and (not self.doc_ids or doc.doc_id in self.doc_ids)
        )


@dataclass(frozen=True)
class Change:
    seq: int
    row_id: int
    op: str


#: PostgreSQL channel told at each commit that writes the change log, so replicas catch up at once.
CHANGES_CHANNEL = "triage_changes"


def _notify(conn: Session) -> None:
    """Wake the replicas following the change log (PostgreSQL delivers it when the transaction commits)."""
    if conn.dialect == "postgresql":
        conn.execute(f"NOTIFY {CHANGES_CHANNEL}")


class DocumentStore(DatabaseStore):
    """Cases and articles in the service's database (SQLite or PostgreSQL), calls guarded by a lock."""

    def upsert(
        self,
        docs: Sequence[Document],
        vectors: np.ndarray,
        encoder: str,
        extra: Mapping[str, np.ndarray] | None = None,
        existing_only: bool = False,
    ) -> list[int]:
        """Insert or replace documents with their vectors in one transaction; returns row ids.

        ``extra`` holds the vectors of further encoders (name -> one row per document); a replaced
        document's vectors of other encoders are dropped. With ``existing_only`` a document that is
        not stored (any more) is skipped, checked inside the transaction, so that a replace racing a
        delete cannot bring the document back; the result then lists the written rows only. When
        this returns, the write is durable (fsynced): it is safe to acknowledge.
        """
        if len(docs) != len(vectors):
            raise ValueError(f"{len(docs)} documents but {len(vectors)} vectors")
        extra = dict(extra or {})
        for name, more in extra.items():
            if len(more) != len(docs):
                raise ValueError(f"{len(docs)} documents but {len(more)} vectors for encoder {name!r}")
        row_ids: list[int] = []
        for attempt in self.db.attempts():
            row_ids = []
            with attempt, self._lock, self.db.transaction(exclusive="documents") as conn:
                for position, (doc, vector) in enumerate(zip(docs, vectors, strict=True)):
                    if existing_only and not self._exists(conn, doc):
                        continue
                    values = [getattr(doc, c) for c in _COLUMNS]
                    blob = np.asarray(vector, dtype=np.float32).tobytes()
                    cur = conn.execute(
                        f"""INSERT INTO documents (tenant, kind, doc_id, {", ".join(_COLUMNS)},
                                metadata, encoder, vector)
                            VALUES (?, ?, ?, {", ".join("?" for _ in _COLUMNS)}, ?, ?, ?)
                            ON CONFLICT (tenant, kind, doc_id) DO UPDATE SET
                                {", ".join(f"{c}=excluded.{c}" for c in _COLUMNS)},
                                metadata=excluded.metadata, encoder=excluded.encoder,
                                vector=excluded.vector
                            RETURNING row_id""",
                        [
                            doc.tenant,
                            doc.kind,
                            doc.doc_id,
                            *values,
                            json.dumps(dict(doc.metadata)),
                            encoder,
                            blob,
                        ],
                    )
                    row_id = int(cur.rows[0][0])
                    conn.execute("DELETE FROM embeddings WHERE row_id=?", (row_id,))
                    conn.executemany(
                        "INSERT INTO embeddings (row_id, encoder, vector) VALUES (?, ?, ?)",
                        [
                            (row_id, name, np.asarray(more[position], dtype=np.float32).tobytes())
                            for name, more in extra.items()
                        ],
                    )
                    conn.execute(
                        "INSERT INTO changes (tenant, row_id, op) VALUES (?, ?, 'upsert')",
                        (doc.tenant, row_id),
                    )
                    row_ids.append(row_id)
                if row_ids:
                    _notify(conn)
        return row_ids

    @staticmethod
    def _exists(conn: Session, doc: Document) -> bool:
        return (
            conn.execute(
                "SELECT 1 FROM documents WHERE tenant=? AND kind=? AND doc_id=?",
                (doc.tenant, doc.kind, doc.doc_id),
            ).fetchone()
            is not None
        )

    def delete(self, tenant: str, kind: str, doc_ids: Iterable[str]) -> list[str]:
        """Delete documents (vectors included); returns the ids that existed.

        The freed pages are zeroed and the write-ahead log is checkpointed and truncated, so the
        deleted text is not left behind in the database files either.
        """
        doc_ids = list(doc_ids)  # read once: a conflict runs the transaction again
        deleted: list[str] = []
        with self._lock:
            for attempt in self.db.attempts():
                deleted = []
                with attempt, self.db.transaction(exclusive="documents") as conn:
                    for doc_id in doc_ids:
                        row = conn.execute(
                            "DELETE FROM documents WHERE tenant=? AND kind=? AND doc_id=? RETURNING row_id",
                            (tenant, kind, doc_id),
                        ).fetchone()
                        if row is None:
                            continue
                        conn.execute("DELETE FROM embeddings WHERE row_id=?", (row[0],))
                        conn.execute(
                            "INSERT INTO changes (tenant, row_id, op) VALUES (?, ?, 'delete')",
                            (tenant, row[0]),
                        )
                        deleted.append(doc_id)
                    if deleted:
                        _notify(conn)
            if deleted and self.db.dialect == "sqlite":
                busy = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").rows[0][0]
                if busy:
                    logger.warning("checkpoint after delete blocked by a reader; it completes on a later one")
        return deleted

    def get(self, tenant: str, kind: str, doc_id: str) -> Document | None:
        with self._lock:
            row = self.db.execute(
                "SELECT * FROM documents WHERE tenant=? AND kind=? AND doc_id=?", (tenant, kind, doc_id)
            ).fetchone()
        return _document(row) if row else None

    def stored_ids(self, tenant: str, kind: str, doc_ids: Sequence[str]) -> set[str]:
        """Which of these document ids the tenant has stored (of this kind)."""
        found: set[str] = set()
        for start in range(0, len(doc_ids), 500):
            chunk = list(doc_ids[start : start + 500])
            marks = ",".join("?" for _ in chunk)
            with self._lock:
                rows = self.db.execute(
                    f"SELECT doc_id FROM documents WHERE tenant=? AND kind=? AND doc_id IN ({marks})",
                    [tenant, kind, *chunk],
                ).fetchall()
            found.update(str(r[0]) for r in rows)
        return found

    def get_rows(self, row_ids: Sequence[int]) -> dict[int, Document]:
        if not row_ids:
            return {}
        marks = ",".join("?" for _ in row_ids)
        # No lock: searches read documents side by side, each on a pooled connection of its own
        # (WAL lets SQLite readers run beside each other and beside a writer; 8 concurrent requests
        # spent about a tenth of their time queued on the lock here, see ``make profile``).
        # The document's columns only: the vector (2 KiB, on overflow pages) is never read here, and
        # rows are built by position, not through the record's name lookup (a search's hits, per ticket).
        rows = self.db.select(f"SELECT {_DOCUMENT_SELECT} FROM documents WHERE row_id IN ({marks})", row_ids)
        return {int(r[0]): _document_at(r) for r in rows}

    def page(self, tenant: str, kind: str, limit: int = 50, offset: int = 0) -> list[Document]:
        """Documents of one tenant and kind, oldest first."""
        with self._lock:
            rows = self.db.execute(
                "SELECT * FROM documents WHERE tenant=? AND kind=? ORDER BY row_id LIMIT ? OFFSET ?",
                (tenant, kind, limit, offset),
            ).fetchall()
        return [_document(r) for r in rows]

    def count(self, tenant: str | None = None, kind: str | None = None) -> int:
        sql, args = "SELECT COUNT(*) FROM documents WHERE 1=1", list[str]()
        if tenant is not None:
            sql, args = sql + " AND tenant=?", [*args, tenant]
        if kind is not None:
            sql, args = sql + " AND kind=?", [*args, kind]
        with self._lock:
            return int(self.db.execute(sql, args).fetchone()[0])

    def tenants(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self.db.execute("SELECT DISTINCT tenant FROM changes").fetchall()]

    def head_seq(self) -> int:
        """The newest change of any tenant (0 when none): what replicas poll."""
        with self._lock:
            row = self.db.execute("SELECT MAX(seq) FROM changes").fetchone()
        return int(row[0] or 0)

    def tenants_changed_since(self, seq: int) -> list[str]:
        """Tenants with changes after ``seq``."""
        with self._lock:
            rows = self.db.execute("SELECT DISTINCT tenant FROM changes WHERE seq>?", (seq,)).fetchall()
        return [str(r[0]) for r in rows]

    def last_seq(self, tenant: str) -> int:
        with self._lock:
            row = self.db.execute("SELECT MAX(seq) FROM changes WHERE tenant=?", (tenant,)).fetchone()
        return int(row[0] or 0)

    def changes_since(self, tenant: str, seq: int) -> list[Change]:
        with self._lock:
            rows = self.db.execute(
                "SELECT seq, row_id, op FROM changes WHERE tenant=? AND seq>? ORDER BY seq", (tenant, seq)
            ).fetchall()
        return [Change(int(r[0]), int(r[1]), str(r[2])) for r in rows]

    def vectors(self, row_ids: Sequence[int], encoder: str | None = None) -> dict[int, np.ndarray]:
        """Stored vectors of the rows that still exist: the main vector, or that of ``encoder``.

        A row's main vector counts as ``encoder``'s when it was written by that encoder.
        """
        out: dict[int, np.ndarray] = {}
        for start in range(0, len(row_ids), 500):
            chunk = list(row_ids[start : start + 500])
            marks = ",".join("?" for _ in chunk)
            with self._lock:
                if encoder is None:
                    rows = self.db.execute(
                        f"SELECT row_id, vector FROM documents WHERE row_id IN ({marks})", chunk
                    ).fetchall()
                else:
                    rows = self.db.execute(
                        f"""SELECT row_id, vector FROM documents WHERE row_id IN ({marks}) AND encoder=?
                            UNION ALL
                            SELECT e.row_id, e.vector FROM embeddings e JOIN documents d ON d.row_id = e.row_id
                            WHERE e.row_id IN ({marks}) AND e.encoder=?""",
                        [*chunk, encoder, *chunk, encoder],
                    ).fetchall()
            for r in rows:
                out[int(r[0])] = np.frombuffer(r[1], dtype=np.float32)
        return out

    def put_vectors(self, encoder: str, vectors: Mapping[int, np.ndarray]) -> None:
        """Store (or replace) rows' vectors of a further encoder, e.g. when one is added to the config."""
        for attempt in self.db.attempts():
            with attempt, self._lock, self.db.transaction() as conn:
                conn.executemany(
                    """INSERT INTO embeddings (row_id, encoder, vector)
                       SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM documents WHERE row_id=?)
                       ON CONFLICT (row_id, encoder) DO UPDATE SET vector=excluded.vector""",
                    [
                        (int(r), encoder, np.asarray(v, dtype=np.float32).tobytes(), int(r))
                        for r, v in vectors.items()
                    ],
                )

    def filter_rows(self, tenant: str, kind: str, filters: SearchFilters | None = None) -> np.ndarray:
        """Row ids of the tenant's documents of one kind that pass the filters."""
        sql = "SELECT row_id FROM documents WHERE tenant=? AND kind=?"
        args: list[Any] = [tenant, kind]
        if filters is not None:
            if filters.statuses:
                sql += f" AND LOWER(status) IN ({','.join('?' for _ in filters.statuses)})"
                args.extend(s.lower() for s in filters.statuses)
            for column, values in (
                ("department", filters.departments),
                ("language", filters.languages),
                ("category", filters.categories),
                ("doc_id", filters.doc_ids),
            ):
                if values:
                    sql += f" AND {column} IN ({','.join('?' for _ in values)})"
                    args.extend(values)
            # julianday() reads ISO 8601 with an offset as the UTC instant (no offset: UTC), as
            # _instant does; NULL for text it cannot read, which no comparison keeps.
            if filters.created_from is not None:
                sql, args = sql + " AND julianday(created_at) >= julianday(?)", [*args, filters.created_from]
            if filters.created_to is not None:
                sql, args = sql + " AND julianday(created_at) < julianday(?)", [*args, filters.created_to]
        with self._lock:
            return self.db.int_column(sql, args)

    def iter_vectors(self, tenant: str, batch: int = 5000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """All (row_ids, vectors) of a tenant, in batches, for rebuilding an index."""
        last = 0
        while True:
            with self._lock:
                rows = self.db.execute(
                    "SELECT row_id, vector FROM documents WHERE tenant=? AND row_id>? ORDER BY row_id LIMIT ?",
                    (tenant, last, batch),
                ).fetchall()
            if not rows:
                return
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            vecs = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            last = int(ids[-1])
            yield ids, vecs

    def created_between(self, tenant: str, kind: str, since: str, until: str) -> list[tuple[int, str, str]]:
        """(row id, document id, created_at) of documents created in [since, until), oldest first.

        Times compare as instants, as the date filters do (``julianday``: an offset is honoured, none
        means UTC); a document without a readable ``created_at`` is in no window.
        """
        with self._lock:
            rows = self.db.execute(
                """SELECT row_id, doc_id, created_at FROM documents
                   WHERE tenant=? AND kind=?
                     AND julianday(created_at) >= julianday(?) AND julianday(created_at) < julianday(?)
                   ORDER BY julianday(created_at), row_id""",
                (tenant, kind, since, until),
            ).fetchall()
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    def encoders_in_use(self, tenant: str) -> set[str]:
        with self._lock:
            rows = self.db.execute(
                "SELECT DISTINCT encoder FROM documents WHERE tenant=?", (tenant,)
            ).fetchall()
        return {str(r[0]) for r in rows}


# ``get_rows``'s columns, in the order ``_document_at`` reads them.
_DOCUMENT_SELECT = ", ".join(("row_id", "doc_id", "kind", "tenant", "metadata", *_COLUMNS))


def _document_at(row: Sequence[Any]) -> Document:
    """``_document`` of a row selected as ``_DOCUMENT_SELECT`` (read by position)."""
    return Document(
        doc_id=row[1],
        kind=row[2],
        tenant=row[3],
        metadata=json.loads(row[4] or "{}"),
        row_id=int(row[0]),
        **dict(zip(_COLUMNS, row[5:], strict=True)),
    )


def _document(row: Record) -> Document:
    return Document(
        doc_id=row["doc_id"],
        kind=row["kind"],
        tenant=row["tenant"],
        metadata=json.loads(row["metadata"] or "{}"),
        row_id=int(row["row_id"]),
        **{c: row[c] for c in _COLUMNS},
    )
