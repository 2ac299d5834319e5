"""Alembic's entry point: migrations run on the connection the caller passes (knowledge.migrations)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations with `triage db upgrade` (knowledge.migrations.upgrade), not alembic's CLI"
    )
context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
