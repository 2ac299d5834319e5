"""Model state per tenant in the database: the active version, the candidate and the history, so every
replica serves the same model (the bundles themselves stay in the shared bundles folder).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().exec_driver_sql(
        """CREATE TABLE IF NOT EXISTS model_state (
    tenant   TEXT PRIMARY KEY,
    state    TEXT NOT NULL,
    revision BIGINT NOT NULL,
    at       TEXT NOT NULL
)"""
    )
