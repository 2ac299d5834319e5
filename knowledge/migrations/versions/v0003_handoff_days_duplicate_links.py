"""Handoffs per UTC day (a 30-day matrix reads ~30 days of cells, not ~720 hours) and the open cases an
incoming ticket repeats (found by the duplicate check), once per ticket and case.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATEMENTS = [
    """CREATE TABLE IF NOT EXISTS handoff_days (
    tenant          TEXT NOT NULL,
    day             TEXT NOT NULL,
    from_department TEXT NOT NULL,
    to_department   TEXT NOT NULL,
    source          TEXT NOT NULL,
    n               BIGINT NOT NULL,
    PRIMARY KEY (tenant, day, from_department, to_department, source)
)""",
    """CREATE TABLE IF NOT EXISTS duplicate_links (
    tenant     TEXT NOT NULL,
    ticket_key TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    score      DOUBLE PRECISION NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (tenant, ticket_key, case_id)
)""",
    "CREATE INDEX IF NOT EXISTS duplicate_links_window ON duplicate_links (tenant, at, case_id, score)",
]


def upgrade() -> None:
    bind = op.get_bind()
    for statement in STATEMENTS:
        bind.exec_driver_sql(statement)
