"""Baseline: every table the service had before versioned migrations (documents and their change log,
the prediction ledger and its hourly aggregates, feedback, reassignments, the audit trail, API keys,
connectors and deliveries).

On SQLite the statements are the ones the stores ran on open (``IF NOT EXISTS``), so upgrading a
database from before migrations adopts its tables as they are. PostgreSQL gets the same tables with
its types (identity columns, BYTEA, DOUBLE PRECISION), the audit trail's append-only triggers and
issued-sequence counter, and ``julianday``/``round`` functions that read as SQLite's do, so the
stores' SQL is one text for both.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import re

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

DOCUMENTS = [
    """CREATE TABLE IF NOT EXISTS documents (
    row_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('case', 'article')),
    doc_id      TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL DEFAULT '',
    resolution  TEXT NOT NULL DEFAULT '',
    department  TEXT,
    category    TEXT,
    priority    TEXT,
    language    TEXT,
    status      TEXT NOT NULL DEFAULT 'resolved',
    created_at  TEXT,
    resolved_at TEXT,
    metadata    TEXT NOT NULL DEFAULT '{}',
    encoder     TEXT NOT NULL,
    vector      BLOB NOT NULL,
    UNIQUE (tenant, kind, doc_id)
)""",
    """CREATE TABLE IF NOT EXISTS changes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant  TEXT NOT NULL,
    row_id  INTEGER NOT NULL,
    op      TEXT NOT NULL CHECK (op IN ('upsert', 'delete'))
)""",
    "CREATE INDEX IF NOT EXISTS changes_tenant ON changes (tenant, seq)",
    "CREATE INDEX IF NOT EXISTS documents_filter ON documents (tenant, kind, status, created_at)",
    """CREATE TABLE IF NOT EXISTS embeddings (
    row_id  INTEGER NOT NULL,
    encoder TEXT NOT NULL,
    vector  BLOB NOT NULL,
    PRIMARY KEY (row_id, encoder)
)""",
]

LEDGER = [
    """CREATE TABLE IF NOT EXISTS predictions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant     TEXT NOT NULL,
    ticket_id  TEXT,
    version    TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('active', 'canary', 'shadow')),
    head       TEXT NOT NULL,
    value      TEXT NOT NULL,
    confidence REAL NOT NULL,
    abstained  INTEGER NOT NULL,
    at         TEXT NOT NULL,
    language   TEXT
)""",
    "CREATE INDEX IF NOT EXISTS predictions_lookup ON predictions (tenant, at)",
    "CREATE INDEX IF NOT EXISTS predictions_ticket ON predictions (tenant, ticket_id)",
    """CREATE TABLE IF NOT EXISTS feedback (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant     TEXT NOT NULL,
    ticket_id  TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('label', 'case')),
    head       TEXT,
    predicted  TEXT,
    correct    TEXT,
    accepted   INTEGER,
    case_id    TEXT,
    helpful    INTEGER,
    text       TEXT,
    agent      TEXT,
    at         TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS feedback_ticket ON feedback (tenant, ticket_id)",
    "CREATE INDEX IF NOT EXISTS feedback_window ON feedback (tenant, at)",
    # Per-hour aggregates of the prediction log, kept in the writer's transaction.
    """CREATE TABLE IF NOT EXISTS label_hours (
    tenant    TEXT NOT NULL,
    head      TEXT NOT NULL,
    hour      TEXT NOT NULL,
    version   TEXT NOT NULL,
    role      TEXT NOT NULL,
    value     TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (tenant, head, hour, version, role, value)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS language_hours (
    tenant    TEXT NOT NULL,
    hour      TEXT NOT NULL,
    version   TEXT NOT NULL,
    role      TEXT NOT NULL,
    language  TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (tenant, hour, version, role, language)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS handling (
    tenant      TEXT NOT NULL,
    ticket_id   TEXT NOT NULL,
    version     TEXT NOT NULL,
    department  TEXT NOT NULL,
    priority    TEXT,
    created_at  TEXT NOT NULL,
    due_at      TEXT,
    p50_hours   REAL NOT NULL,
    p90_hours   REAL NOT NULL,
    breach_risk REAL,
    closed_at   TEXT,
    PRIMARY KEY (tenant, ticket_id)
)""",
    "CREATE INDEX IF NOT EXISTS handling_open ON handling (tenant, closed_at, due_at)",
    "CREATE INDEX IF NOT EXISTS predictions_ticket_head ON predictions (tenant, ticket_id, head, id)",
    "CREATE INDEX IF NOT EXISTS feedback_label_window ON feedback (tenant, kind, at)",
    """CREATE TABLE IF NOT EXISTS score_hours (
    tenant    TEXT NOT NULL,
    head      TEXT NOT NULL,
    hour      TEXT NOT NULL,
    version   TEXT NOT NULL,
    role      TEXT NOT NULL,
    bin       INTEGER NOT NULL,
    abstained INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    conf_sum  REAL NOT NULL,
    PRIMARY KEY (tenant, head, hour, version, role, bin, abstained)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS verdict_hours (
    tenant    TEXT NOT NULL,
    hour      TEXT NOT NULL,
    head      TEXT NOT NULL,
    version   TEXT NOT NULL,
    predicted TEXT NOT NULL,
    chosen    TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (tenant, hour, head, version, predicted, chosen)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS handoff_hours (
    tenant          TEXT NOT NULL,
    hour            TEXT NOT NULL,
    from_department TEXT NOT NULL,
    to_department   TEXT NOT NULL,
    source          TEXT NOT NULL,
    n               INTEGER NOT NULL,
    PRIMARY KEY (tenant, hour, from_department, to_department, source)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS suggestion_hours (
    tenant      TEXT NOT NULL,
    hour        TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    helpful     INTEGER NOT NULL,
    not_helpful INTEGER NOT NULL,
    PRIMARY KEY (tenant, hour, case_id)
) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS feedback_corrections ON feedback (tenant, head, predicted, correct, at)",
    """CREATE TABLE IF NOT EXISTS handling_days (
    tenant      TEXT NOT NULL,
    day         TEXT NOT NULL,
    department  TEXT NOT NULL,
    closed      INTEGER NOT NULL,
    p50_sum     REAL NOT NULL,
    real_sum    REAL NOT NULL,
    abs_err_sum REAL NOT NULL,
    within_p90  INTEGER NOT NULL,
    PRIMARY KEY (tenant, day, department)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS reassignments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          TEXT NOT NULL,
    ticket_id       TEXT NOT NULL,
    from_department TEXT NOT NULL,
    to_department   TEXT NOT NULL,
    at              TEXT NOT NULL,
    source          TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    UNIQUE (tenant, ticket_id, from_department, to_department, at, source)
)""",
    "CREATE INDEX IF NOT EXISTS reassignments_window ON reassignments (tenant, at)",
    "CREATE INDEX IF NOT EXISTS reassignments_cell ON reassignments (tenant, from_department, to_department, at)",
]

KEYS = [
    """CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    prefix TEXT NOT NULL,
    name TEXT NOT NULL,
    tenant TEXT NOT NULL,
    scopes TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created TEXT NOT NULL,
    expires TEXT,
    revoked TEXT,
    last_used TEXT
)""",
    "CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys (tenant)",
]

CONNECTORS = [
    """CREATE TABLE IF NOT EXISTS connectors (
    name           TEXT PRIMARY KEY,
    tenant         TEXT NOT NULL,
    system         TEXT NOT NULL,
    base_url       TEXT NOT NULL,
    credentials    BLOB NOT NULL,
    signing_secret BLOB NOT NULL,
    mapping        TEXT NOT NULL,
    policy         TEXT NOT NULL,
    enabled        INTEGER NOT NULL DEFAULT 1,
    created_at     REAL NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    connector   TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    ticket_id   TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('ticket', 'outcome')),
    headers     TEXT NOT NULL,
    body        BLOB NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     REAL NOT NULL,
    steps_done  INTEGER NOT NULL DEFAULT 0,
    plan        TEXT,
    result      TEXT,
    last_error  TEXT,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    UNIQUE (connector, ticket_id, event_id)
)""",
    "CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_at)",
    "CREATE INDEX IF NOT EXISTS deliveries_ticket ON deliveries (connector, ticket_id, kind)",
    """CREATE TABLE IF NOT EXISTS connector_tickets (
    connector  TEXT NOT NULL,
    ticket_id  TEXT NOT NULL,
    vendor_group TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (connector, ticket_id)
)""",
]

AUDIT_SQLITE = [
    """CREATE TABLE IF NOT EXISTS audit (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    key_id     TEXT,
    tenant     TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT,
    before     TEXT,
    after      TEXT,
    request_id TEXT,
    client     TEXT,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS audit_tenant ON audit (tenant, seq)",
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
]

# PostgreSQL: the sequence numbers are issued by the appender (as SQLite's AUTOINCREMENT counter
# does); audit_issued keeps the last one issued, so cutting the newest rows off shows, as there.
AUDIT_POSTGRESQL = [
    """CREATE TABLE IF NOT EXISTS audit (
    seq        BIGINT PRIMARY KEY,
    at         TEXT NOT NULL,
    key_id     TEXT,
    tenant     TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT,
    before     TEXT,
    after      TEXT,
    request_id TEXT,
    client     TEXT,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS audit_tenant ON audit (tenant, seq)",
    """CREATE TABLE IF NOT EXISTS audit_issued (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    seq BIGINT NOT NULL
)""",
    "INSERT INTO audit_issued (one, seq) VALUES (TRUE, 0) ON CONFLICT DO NOTHING",
    """CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only' USING ERRCODE = 'integrity_constraint_violation';
END $$""",
    """CREATE OR REPLACE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
FOR EACH ROW EXECUTE FUNCTION audit_append_only()""",
    """CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()""",
]

# SQLite's julianday() (NULL for text that is no time; no offset: UTC, as the sessions run in UTC)
# and round(real, places), so aggregate SQL reads the same on both.
FUNCTIONS_POSTGRESQL = [
    r"""CREATE OR REPLACE FUNCTION julianday(value text) RETURNS double precision
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF value = 'now' THEN
        RETURN extract(epoch FROM now()) / 86400.0 + 2440587.5;
    END IF;
    -- ISO 8601 only, as SQLite reads it (PostgreSQL would also take 'yesterday', 'epoch', ...).
    IF value !~ '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?([zZ]|[+-]\d{2}(:?\d{2})?)?$' THEN
        RETURN NULL;
    END IF;
    RETURN extract(epoch FROM value::timestamptz) / 86400.0 + 2440587.5;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION round(value double precision, places integer) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$ SELECT round(value::numeric, places)::double precision $$""",
]


def postgresql(statement: str) -> str:
    """SQLite DDL as PostgreSQL DDL: identity keys, 64-bit integers, BYTEA, DOUBLE PRECISION."""
    statement = statement.replace(
        "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    )
    statement = re.sub(r"\bINTEGER\b", "BIGINT", statement)
    statement = re.sub(r"\bBLOB\b", "BYTEA", statement)
    statement = re.sub(r"\bREAL\b", "DOUBLE PRECISION", statement)
    return statement.replace(") WITHOUT ROWID", ")")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    common = [*DOCUMENTS, *LEDGER, *KEYS, *CONNECTORS]
    if dialect == "sqlite":
        for statement in [*common, *AUDIT_SQLITE]:
            op.get_bind().exec_driver_sql(statement)
        return
    for statement in [*FUNCTIONS_POSTGRESQL, *(postgresql(s) for s in common), *AUDIT_POSTGRESQL]:
        op.get_bind().exec_driver_sql(statement)
